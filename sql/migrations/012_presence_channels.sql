-- 012_presence_channels: opening presence-X makes its row, so that X's arrivals and departures
-- are published to it (011's trigger publishes only to presence channels that have a row).
-- Readers make no other rows (010); these ones go like any channel nothing was published to
-- once idle (push.prune), or stay while events are published to them.

CREATE OR REPLACE FUNCTION push.channel_open(p_app_id int, p_names text[])
RETURNS TABLE(name text, channel_id bigint, last_seq bigint, oldest_seq bigint, epoch int)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_names text[] := ARRAY(SELECT unnest(p_names));
BEGIN
    PERFORM push.check_channels(v_names);
    -- Missing presence channels are made in name order, as publishing locks them. Opening any
    -- other channel writes nothing (it works in a read-only transaction).
    IF EXISTS (SELECT 1 FROM unnest(v_names) AS n WHERE starts_with(n, 'presence-')
               AND NOT EXISTS (SELECT 1 FROM push.channel e WHERE e.app_id = p_app_id AND e.name = n)) THEN
        INSERT INTO push.channel (app_id, name)
        SELECT p_app_id, u.n FROM (SELECT DISTINCT n COLLATE "C" AS n FROM unnest(v_names) AS n) u
        WHERE starts_with(u.n, 'presence-')
          AND NOT EXISTS (SELECT 1 FROM push.channel e WHERE e.app_id = p_app_id AND e.name = u.n)
        ORDER BY u.n
        ON CONFLICT (app_id, name) DO NOTHING;
    END IF;
    RETURN QUERY
    SELECT u.n, coalesce(c.id, push.channel_id_of(p_app_id, u.n)), coalesce(c.last_seq, 0),
           (SELECT min(m.seq) FROM push.message m WHERE m.channel_id = c.id), coalesce(c.epoch, 1)
    FROM (SELECT n, min(ord) AS ord FROM unnest(v_names) WITH ORDINALITY AS x(n, ord) GROUP BY n) u
    LEFT JOIN push.channel c ON c.app_id = p_app_id AND c.name = u.n
    ORDER BY u.ord;
END $$;
COMMENT ON FUNCTION push.channel_open(int, text[]) IS
    'the id, head (last_seq), oldest kept seq (NULL when none) and epoch of each named channel; a channel '
    'without a row gets the id it will have (push.channel_id_of), head 0 and epoch 1, and no row is made, '
    'except for presence-* channels, whose row makes presence events flow';
