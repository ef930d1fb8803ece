-- 003_read_presence.sql: per-user read marks and per-channel presence (who is online now).

CREATE FUNCTION push.mark_read(p_key text, p_user text, p_channel text, p_seq bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_app push.app := push.app_by_key(p_key, false);
    v_channel_id bigint;
    v_last_seq bigint;
    v_mark bigint;
BEGIN
    IF NOT push.user_valid(p_user) THEN
        PERFORM push.fail(400, 'user: must be 1-64 bytes of [A-Za-z0-9_.=@-]');
    END IF;
    PERFORM push.check_channels(ARRAY[p_channel]);
    IF p_seq IS NULL OR p_seq < 0 THEN
        PERFORM push.fail(400, 'seq: must be 0 or more');
    END IF;
    SELECT c.id, c.last_seq INTO v_channel_id, v_last_seq
    FROM push.channel c WHERE c.app_id = v_app.id AND c.name = p_channel;
    IF NOT FOUND THEN
        PERFORM push.fail(404, 'channel: no such channel');
    END IF;
    INSERT INTO push.read_mark AS r (app_id, user_id, channel_id, seq)
    VALUES (v_app.id, p_user, v_channel_id, least(p_seq, v_last_seq))
    ON CONFLICT (app_id, user_id, channel_id) DO UPDATE
        SET seq = greatest(r.seq, EXCLUDED.seq), updated_at = now()
    RETURNING r.seq INTO v_mark;
    RETURN v_mark;
END $$;
COMMENT ON FUNCTION push.mark_read(text, text, text, bigint) IS
    'marks a user''s messages on a channel read up to seq (never backwards, never past last_seq); returns the mark';

CREATE FUNCTION push.presence_touch(p_app_id int, p_channels text[], p_client text, p_user text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT push.user_valid(p_client) THEN
        PERFORM push.fail(400, 'client: must be 1-64 bytes of [A-Za-z0-9_.=@-]');
    END IF;
    IF p_user IS NOT NULL AND NOT push.user_valid(p_user) THEN
        PERFORM push.fail(400, 'user: must be 1-64 bytes of [A-Za-z0-9_.=@-]');
    END IF;
    INSERT INTO push.presence AS p (channel_id, client_id, app_id, user_id, seen_at)
    SELECT o.channel_id, p_client, p_app_id, p_user, now()
    FROM push.channel_open(p_app_id, p_channels) o
    ORDER BY o.channel_id
    ON CONFLICT (channel_id, client_id) DO UPDATE SET user_id = EXCLUDED.user_id, seen_at = EXCLUDED.seen_at;
END $$;
COMMENT ON FUNCTION push.presence_touch(int, text[], text, text) IS
    'records that a client (of a user, or anonymous) is on these channels now; creates missing channels';

CREATE FUNCTION push.presence_leave(p_app_id int, p_channels text[], p_client text) RETURNS void
LANGUAGE sql
BEGIN ATOMIC
    DELETE FROM push.presence p
    WHERE p.app_id = p_app_id AND p.client_id = p_client
      AND (p_channels IS NULL
           OR p.channel_id IN (SELECT c.id FROM push.channel c WHERE c.app_id = p_app_id AND c.name = ANY (p_channels)));
END;
COMMENT ON FUNCTION push.presence_leave(int, text[], text) IS
    'removes a client from these channels (from all of its channels when p_channels is NULL)';

CREATE FUNCTION push.presence_expire(p_ttl interval DEFAULT '60 seconds') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
BEGIN
    IF p_ttl IS NULL OR p_ttl <= interval '0' THEN
        PERFORM push.fail(400, 'ttl: must be more than zero');
    END IF;
    DELETE FROM push.presence WHERE seen_at <= now() - p_ttl;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;
COMMENT ON FUNCTION push.presence_expire(interval) IS 'deletes presence rows older than the TTL; returns how many';

CREATE FUNCTION push.here_now(p_app_id int, p_channels text[], p_ttl interval DEFAULT '60 seconds')
RETURNS TABLE(channel text, clients int, users text[])
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    v_names text[] := ARRAY(SELECT unnest(p_channels));
BEGIN
    PERFORM push.check_channels(v_names);
    IF p_ttl IS NULL OR p_ttl <= interval '0' THEN
        PERFORM push.fail(400, 'ttl: must be more than zero');
    END IF;
    RETURN QUERY
    SELECT u.n, count(p.client_id)::int,
           coalesce(array_agg(DISTINCT p.user_id COLLATE "C") FILTER (WHERE p.user_id IS NOT NULL), '{}')
    FROM (SELECT n, min(ord) AS ord FROM unnest(v_names) WITH ORDINALITY AS x(n, ord) GROUP BY n) u
    LEFT JOIN push.channel c ON c.app_id = p_app_id AND c.name = u.n
    LEFT JOIN push.presence p ON p.channel_id = c.id AND p.seen_at > now() - p_ttl
    GROUP BY u.n, u.ord
    ORDER BY u.ord;
END $$;
COMMENT ON FUNCTION push.here_now(int, text[], interval) IS
    'per asked channel: live clients (seen within the TTL) and their distinct users, sorted';
