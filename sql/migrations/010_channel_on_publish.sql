-- 010_channel_on_publish.sql: channel rows are made by publishing (and presence), never by readers; an unknown channel has a fixed id and head 0; prune removes never-published idle channels.

-- The id a channel gets when its row is made: a function of (app, name), in [2^62, 2^63) so it
-- never meets an id of the older sequence. A reader of a channel that has no row yet watches this
-- id; the first publish makes the row with it and notifies '<id>:1'.
CREATE FUNCTION push.channel_id_of(p_app_id int, p_name text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (('x' || left(encode(sha256(convert_to(p_app_id || ':' || p_name, 'UTF8')), 'hex'), 16))::bit(64)::bigint
        & 4611686018427387903) | 4611686018427387904;
COMMENT ON FUNCTION push.channel_id_of(int, text) IS
    'the id a new channel row gets: from a hash of (app, name), in [2^62, 2^63)';

-- Every way of making a channel row (publish, batches, presence) goes through this trigger. Were
-- the id taken by another channel (a 62-bit hash collision), the row keeps the sequence's id and
-- a reader that watched the hashed id sees the channel's messages when it opens it again.
CREATE FUNCTION push.channel_id_assign() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint := push.channel_id_of(NEW.app_id, NEW.name);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM push.channel c WHERE c.id = v_id) THEN
        NEW.id := v_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER channel_id_assign BEFORE INSERT ON push.channel
    FOR EACH ROW EXECUTE FUNCTION push.channel_id_assign();

CREATE OR REPLACE FUNCTION push.channel_open(p_app_id int, p_names text[])
RETURNS TABLE(name text, channel_id bigint, last_seq bigint, oldest_seq bigint, epoch int)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_names text[] := ARRAY(SELECT unnest(p_names));
BEGIN
    PERFORM push.check_channels(v_names);
    RETURN QUERY
    SELECT u.n, coalesce(c.id, push.channel_id_of(p_app_id, u.n)), coalesce(c.last_seq, 0),
           (SELECT min(m.seq) FROM push.message m WHERE m.channel_id = c.id), coalesce(c.epoch, 1)
    FROM (SELECT n, min(ord) AS ord FROM unnest(v_names) WITH ORDINALITY AS x(n, ord) GROUP BY n) u
    LEFT JOIN push.channel c ON c.app_id = p_app_id AND c.name = u.n
    ORDER BY u.ord;
END $$;
COMMENT ON FUNCTION push.channel_open(int, text[]) IS
    'the id, head (last_seq), oldest kept seq (NULL when none) and epoch of each named channel; a channel '
    'without a row gets the id it will have (push.channel_id_of), head 0 and epoch 1, and no row is made';

CREATE OR REPLACE FUNCTION push.channel_head(p_channel_id bigint) RETURNS TABLE(last_seq bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp
BEGIN ATOMIC
    SELECT coalesce((SELECT c.last_seq FROM push.channel c WHERE c.id = p_channel_id), 0);
END;
COMMENT ON FUNCTION push.channel_head(bigint) IS
    'the last_seq of a channel by id; 0 when it has no row (nothing was published to it yet)';

-- Presence needs a row to point at: a client on a channel makes it. Such rows go again with the
-- presence (push.presence_expire, then push.prune).
CREATE OR REPLACE FUNCTION push.presence_touch(p_app_id int, p_channels text[], p_client text, p_user text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
DECLARE
    v_names text[] := ARRAY(SELECT unnest(p_channels));
BEGIN
    IF NOT push.user_valid(p_client) THEN
        PERFORM push.fail(400, 'client: must be 1-64 bytes of [A-Za-z0-9_.=@-]');
    END IF;
    IF p_user IS NOT NULL AND NOT push.user_valid(p_user) THEN
        PERFORM push.fail(400, 'user: must be 1-64 bytes of [A-Za-z0-9_.=@-]');
    END IF;
    PERFORM push.check_channels(v_names);
    -- Missing channels are made in name order, as publishing locks them.
    INSERT INTO push.channel (app_id, name)
    SELECT p_app_id, u.n FROM (SELECT DISTINCT n COLLATE "C" AS n FROM unnest(v_names) AS n) u
    WHERE NOT EXISTS (SELECT 1 FROM push.channel e WHERE e.app_id = p_app_id AND e.name = u.n)
    ORDER BY u.n
    ON CONFLICT (app_id, name) DO NOTHING;
    INSERT INTO push.presence AS p (channel_id, client_id, app_id, user_id, seen_at)
    SELECT c.id, p_client, p_app_id, p_user, now()
    FROM push.channel c
    WHERE c.app_id = p_app_id AND c.name = ANY (v_names)
    ORDER BY c.id
    ON CONFLICT (channel_id, client_id) DO UPDATE SET user_id = EXCLUDED.user_id, seen_at = EXCLUDED.seen_at;
END $$;
COMMENT ON FUNCTION push.presence_touch(int, text[], text, text) IS
    'records that a client (of a user, or anonymous) is on these channels now; makes missing channel rows';

-- Pruning also removes the channels nothing was ever published to (rows made by presence, or by
-- readers before this migration) once idle: made or last published longer ago than p_idle and
-- with nobody seen on them within p_idle. Their presence and read marks go with them. A channel
-- that had messages keeps its row, so its seqs continue.
DROP FUNCTION push.prune(interval);
CREATE FUNCTION push.prune(p_retention interval DEFAULT '7 days', p_idle interval DEFAULT '1 hour') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
BEGIN
    IF p_retention IS NULL OR p_retention < interval '0' THEN
        PERFORM push.fail(400, 'retention: must be zero or more');
    END IF;
    IF p_idle IS NULL OR p_idle < interval '0' THEN
        PERFORM push.fail(400, 'idle: must be zero or more');
    END IF;
    DELETE FROM push.message WHERE created_at < now() - p_retention;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    DELETE FROM push.channel c
    WHERE c.last_seq = 0 AND c.updated_at < now() - p_idle
      AND NOT EXISTS (SELECT 1 FROM push.presence p WHERE p.channel_id = c.id AND p.seen_at >= now() - p_idle);
    RETURN v_count;
END $$;
COMMENT ON FUNCTION push.prune(interval, interval) IS
    'deletes messages older than the retention and returns how many; seqs continue, subscribers behind '
    'see a gap. Also deletes channels never published to, idle for p_idle, with their presence';
