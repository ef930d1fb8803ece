-- 013_presence_info: what a user's token says about them (its JWT info claim, a JSON object of
-- at most 1 KiB) is kept with their presence, shown by here_now and carried as userData in
-- presence events. Only a verified token sets it; a claimed user has none.

ALTER TABLE push.presence ADD COLUMN info jsonb CHECK (info IS NULL OR jsonb_typeof(info) = 'object');
COMMENT ON COLUMN push.presence.info IS 'the info claim of the token the client connected with (NULL: none)';

DROP FUNCTION push.presence_touch(int, text[], text, text);
CREATE FUNCTION push.presence_touch(p_app_id int, p_channels text[], p_client text, p_user text DEFAULT NULL,
                                    p_info jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
DECLARE
    v_names text[] := ARRAY(SELECT unnest(p_channels));
BEGIN
    IF NOT push.user_valid(p_client) THEN
        PERFORM push.fail(400, 'client: must be 1-64 bytes of letters, digits and _.=@- (UTF-8)');
    END IF;
    IF p_user IS NOT NULL AND NOT push.user_valid(p_user) THEN
        PERFORM push.fail(400, 'user: must be 1-64 bytes of letters, digits and _.=@- (UTF-8)');
    END IF;
    IF p_info IS NOT NULL AND (jsonb_typeof(p_info) <> 'object' OR octet_length(p_info::text) > 2048) THEN
        PERFORM push.fail(400, 'info: must be a JSON object of at most 1 KiB');
    END IF;
    PERFORM push.check_channels(v_names);
    -- Missing channels are made in name order, as publishing locks them.
    INSERT INTO push.channel (app_id, name)
    SELECT p_app_id, u.n FROM (SELECT DISTINCT n COLLATE "C" AS n FROM unnest(v_names) AS n) u
    WHERE NOT EXISTS (SELECT 1 FROM push.channel e WHERE e.app_id = p_app_id AND e.name = u.n)
    ORDER BY u.n
    ON CONFLICT (app_id, name) DO NOTHING;
    INSERT INTO push.presence AS p (channel_id, client_id, app_id, user_id, info, seen_at)
    SELECT c.id, p_client, p_app_id, p_user, p_info, now()
    FROM push.channel c
    WHERE c.app_id = p_app_id AND c.name = ANY (v_names)
    ORDER BY c.id
    ON CONFLICT (channel_id, client_id) DO UPDATE
        SET user_id = EXCLUDED.user_id, info = EXCLUDED.info, seen_at = EXCLUDED.seen_at;
END $$;
COMMENT ON FUNCTION push.presence_touch(int, text[], text, text, jsonb) IS
    'records that a client (of a user, or anonymous; with its token''s info) is on these channels now; makes missing channel rows';
GRANT EXECUTE ON FUNCTION push.presence_touch(int, text[], text, text, jsonb) TO push_service;

DROP FUNCTION push.here_now(int, text[], interval);
CREATE FUNCTION push.here_now(p_app_id int, p_channels text[], p_ttl interval DEFAULT '60 seconds')
RETURNS TABLE(channel text, clients int, users text[], info jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
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
           coalesce(array_agg(DISTINCT p.user_id COLLATE "C") FILTER (WHERE p.user_id IS NOT NULL), '{}'),
           coalesce(jsonb_object_agg(p.user_id, p.info) FILTER (WHERE p.user_id IS NOT NULL AND p.info IS NOT NULL),
                    '{}')
    FROM (SELECT n, min(ord) AS ord FROM unnest(v_names) WITH ORDINALITY AS x(n, ord) GROUP BY n) u
    LEFT JOIN push.channel c ON c.app_id = p_app_id AND c.name = u.n
    LEFT JOIN push.presence p ON p.channel_id = c.id AND p.seen_at > now() - p_ttl
    GROUP BY u.n, u.ord
    ORDER BY u.ord;
END $$;
COMMENT ON FUNCTION push.here_now(int, text[], interval) IS
    'per asked channel: live clients (seen within the TTL), their distinct users, sorted, and the info of the users who have one';
GRANT EXECUTE ON FUNCTION push.here_now(int, text[], interval) TO push_service;

-- Presence events carry the user's info as userData (011's trigger, with the info column).
CREATE OR REPLACE FUNCTION push.presence_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_arrive bool := TG_OP = 'INSERT';
    r record;
BEGIN
    -- changed: the rows this statement inserted or deleted (the triggers' transition table).
    FOR r IN
        SELECT x.app_id, t.name AS target, x.client_id, x.user_id, coalesce(x.info, '{}'::jsonb) AS info,
               row_number() OVER (PARTITION BY x.channel_id, x.user_id ORDER BY x.client_id DESC) = 1 AS last_of_user,
               NOT EXISTS (SELECT 1 FROM push.presence p
                           WHERE p.channel_id = x.channel_id AND p.user_id = x.user_id
                             AND p.client_id NOT IN (SELECT y.client_id FROM changed y
                                                     WHERE y.channel_id = x.channel_id)) AS alone,
               (SELECT count(*) FROM push.presence p WHERE p.channel_id = x.channel_id) AS clients,
               (SELECT count(DISTINCT p.user_id) FROM push.presence p WHERE p.channel_id = x.channel_id) AS users
        FROM changed x
        JOIN push.channel c ON c.id = x.channel_id AND c.name NOT LIKE 'presence-%'
        JOIN push.channel t ON t.app_id = x.app_id AND t.name = 'presence-' || c.name
        ORDER BY x.channel_id, x.user_id, x.client_id
    LOOP
        PERFORM push.publish_app(r.app_id, r.target, jsonb_build_object(
            'action', CASE WHEN v_arrive THEN 'online' ELSE 'offline' END, 'clientId', r.client_id,
            'userId', r.user_id, 'userData', r.info,
            'time', (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
            'clientAmount', r.clients, 'userAmount', r.users)::text);
        -- A user's first client arrives, or the last one goes: once, after its last row here.
        IF r.user_id IS NOT NULL AND r.alone AND r.last_of_user THEN
            PERFORM push.publish_app(r.app_id, r.target, jsonb_build_object(
                'action', CASE WHEN v_arrive THEN 'join' ELSE 'leave' END, 'clientId', r.client_id,
                'userId', r.user_id, 'userData', r.info,
                'time', (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
                'clientAmount', r.clients, 'userAmount', r.users)::text);
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
