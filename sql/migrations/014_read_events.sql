-- 014_read_events: what a user reads is told to the user's other tabs. A read mark that moves
-- (push.mark_read) or single messages read (push.mark_read_each) publish one event per user and
-- channel to the channel "read-user-<id>" of the user who read, as JSON: {"action":"read",
-- "user", "channel", "read_seq" (the read mark now), "seqs" (the single messages just read;
-- absent for a mark), "unread" (the channel's unread count for that user now), "time"}.
-- Only while "read-user-<id>" exists (opening it makes its row, as presence-X's); being
-- messages, events reach every transport and node. Readers are authorized for it as for the
-- user's own channel user-<id> (lib/app.c); it is never counted as unread (it is no user-<id>
-- channel) and cannot be marked read itself.

-- The user whose read events a channel carries: <id> of "read-user-<id>", else NULL.
CREATE FUNCTION push.channel_reader(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN starts_with(p_name, 'read-user-') AND length(p_name) > 10 THEN substr(p_name, 11) END;
COMMENT ON FUNCTION push.channel_reader(text) IS 'the <id> of a read-user-<id> channel (a user''s read events), else NULL';

-- Publishes one read event of p_user on channel p_channel_id, when read-user-<p_user> exists.
CREATE FUNCTION push.read_publish(p_app_id int, p_user text, p_channel_id bigint, p_seqs bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_target text := 'read-user-' || p_user;
    v_channel text;
    v_mark bigint;
    v_unread bigint;
    v_event jsonb;
BEGIN
    -- The channel's row lock first: a concurrent read of the same user commits before this
    -- one counts, so the last event carries the count after both.
    PERFORM 1 FROM push.channel t WHERE t.app_id = p_app_id AND t.name = v_target FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT c.name INTO v_channel FROM push.channel c WHERE c.id = p_channel_id;
    v_mark := coalesce((SELECT r.seq FROM push.read_mark r
                        WHERE r.app_id = p_app_id AND r.user_id = p_user AND r.channel_id = p_channel_id), 0);
    SELECT count(*) INTO v_unread FROM push.message m
    WHERE m.channel_id = p_channel_id AND m.seq > v_mark
      AND NOT EXISTS (SELECT 1 FROM push.message_read e WHERE e.app_id = p_app_id AND e.user_id = p_user
                      AND e.channel_id = p_channel_id AND e.seq = m.seq);
    v_event := jsonb_build_object('action', 'read', 'user', p_user, 'channel', v_channel, 'read_seq', v_mark,
                                  'unread', v_unread, 'time', (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    IF p_seqs IS NOT NULL THEN
        v_event := v_event || jsonb_build_object('seqs', to_jsonb(p_seqs));
    END IF;
    PERFORM push.publish_app(p_app_id, v_target, v_event::text);
END $$;
COMMENT ON FUNCTION push.read_publish(int, text, bigint, bigint[]) IS
    'publishes a user''s read event for a channel to read-user-<id>, when that channel exists';

-- Triggers on push.read_mark (insert; update where the mark moved) and push.message_read
-- (insert). changed: the rows the statement wrote; previous: the same rows before an update.
CREATE FUNCTION push.read_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF EXISTS (SELECT 1 FROM changed x JOIN push.channel c ON c.id = x.channel_id
               WHERE push.channel_reader(c.name) IS NOT NULL) THEN
        PERFORM push.fail(400, 'channel: a read-user-<id> channel holds read events; it cannot be marked read');
    END IF;
    IF TG_TABLE_NAME = 'message_read' THEN
        FOR r IN
            SELECT x.app_id, x.user_id, x.channel_id, array_agg(x.seq ORDER BY x.seq) AS seqs
            FROM changed x GROUP BY x.app_id, x.user_id, x.channel_id
            ORDER BY 'read-user-' || x.user_id COLLATE "C", x.channel_id
        LOOP
            PERFORM push.read_publish(r.app_id, r.user_id, r.channel_id, r.seqs);
        END LOOP;
    ELSIF TG_OP = 'INSERT' THEN
        FOR r IN
            SELECT x.app_id, x.user_id, x.channel_id FROM changed x
            ORDER BY 'read-user-' || x.user_id COLLATE "C", x.channel_id
        LOOP
            PERFORM push.read_publish(r.app_id, r.user_id, r.channel_id, NULL);
        END LOOP;
    ELSE
        FOR r IN
            SELECT x.app_id, x.user_id, x.channel_id FROM changed x
            JOIN previous p ON p.app_id = x.app_id AND p.user_id = x.user_id AND p.channel_id = x.channel_id
            WHERE x.seq > p.seq
            ORDER BY 'read-user-' || x.user_id COLLATE "C", x.channel_id
        LOOP
            PERFORM push.read_publish(r.app_id, r.user_id, r.channel_id, NULL);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION push.read_event() IS
    'refuses read marks on read-user-<id> channels and publishes read events to the reader''s read-user-<id>';

CREATE TRIGGER read_mark_insert AFTER INSERT ON push.read_mark REFERENCING NEW TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION push.read_event();
CREATE TRIGGER read_mark_update AFTER UPDATE ON push.read_mark REFERENCING OLD TABLE AS previous NEW TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION push.read_event();
CREATE TRIGGER message_read_insert AFTER INSERT ON push.message_read REFERENCING NEW TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION push.read_event();

-- Opening read-user-<id> makes its row, as opening presence-X does (012), so that events flow
-- to it while somebody listens; other channels are still never made by readers (010).
CREATE OR REPLACE FUNCTION push.channel_open(p_app_id int, p_names text[])
RETURNS TABLE(name text, channel_id bigint, last_seq bigint, oldest_seq bigint, epoch int)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_names text[] := ARRAY(SELECT unnest(p_names));
BEGIN
    PERFORM push.check_channels(v_names);
    -- Missing event channels are made in name order, as publishing locks them. Opening any
    -- other channel writes nothing (it works in a read-only transaction).
    IF EXISTS (SELECT 1 FROM unnest(v_names) AS n
               WHERE (starts_with(n, 'presence-') OR push.channel_reader(n) IS NOT NULL)
                 AND NOT EXISTS (SELECT 1 FROM push.channel e WHERE e.app_id = p_app_id AND e.name = n)) THEN
        INSERT INTO push.channel (app_id, name)
        SELECT p_app_id, u.n FROM (SELECT DISTINCT n COLLATE "C" AS n FROM unnest(v_names) AS n) u
        WHERE (starts_with(u.n, 'presence-') OR push.channel_reader(u.n) IS NOT NULL)
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
    'except for presence-* and read-user-* channels, whose row makes their events flow';
