-- 011_goeasy.sql: what GoEasy's users and the seed's expect: names in any script, presence
-- events, the operator's app update and delete, read state per message, and unread counts of
-- the messages still kept.
--
-- Names: channel names and user ids in any script. Of ASCII only letters, digits and _.=@/-
-- (no '/' in user ids; never the cursor's ',' and ':'); above ASCII anything but C1 controls,
-- separators and spaces, invisible format and filler characters, variation selectors,
-- noncharacters and tags (the list of lib/validate.c); NFC; at most 128 (64) bytes. The error
-- texts of the functions that call these still name the ASCII set.

CREATE OR REPLACE FUNCTION push.name_valid(p_name text, p_max_bytes int, p_ascii text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(octet_length(p_name) BETWEEN 1 AND p_max_bytes
                AND p_name IS NFC NORMALIZED
                AND p_name ~ ('^(' || p_ascii || '|[^\x01-\x7f\u0080-\u00a0\u00ad\u034f\u061c\u115f\u1160'
                              '\u1680\u17b4\u17b5\u180b-\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000'
                              '\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\uffff\U000e0000-\U000e0fff])+$'), false);
COMMENT ON FUNCTION push.name_valid(text, int, text) IS
    'true for 1 to p_max_bytes bytes of NFC text: ASCII matching p_ascii, or letters and marks of any script';

CREATE OR REPLACE FUNCTION push.channel_valid(p_name text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN push.name_valid(p_name, 128, '[A-Za-z0-9_.=@/-]');
COMMENT ON FUNCTION push.channel_valid(text) IS
    'true for 1-128 bytes (NFC) of letters and digits of any script and _.=@/-';

CREATE OR REPLACE FUNCTION push.user_valid(p_id text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN push.name_valid(p_id, 64, '[A-Za-z0-9_.=@-]');
COMMENT ON FUNCTION push.user_valid(text) IS
    'true for 1-64 bytes (NFC) of letters and digits of any script and _.=@- (user ids and client ids)';

-- Presence events: a client that appears on channel X (a new presence row) or goes (its row
-- deleted: the sidecar's unsubscribe and close, presence_expire) is published as a message to
-- the channel "presence-X", as JSON: {"action", "clientId", "userId", "userData", "time",
-- "clientAmount", "userAmount"}. action is "online" / "offline" for every client, and "join" /
-- "leave" for a user's first client and last client on X. Only while "presence-X" exists (a
-- subscriber to it creates it), never for presence-* channels themselves, and not when
-- "presence-X" would be over 128 bytes. Being messages, events reach every transport and node.
CREATE FUNCTION push.presence_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_arrive bool := TG_OP = 'INSERT';
    r record;
BEGIN
    -- changed: the rows this statement inserted or deleted (the triggers' transition table).
    FOR r IN
        SELECT x.app_id, t.name AS target, x.client_id, x.user_id,
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
            'userId', r.user_id, 'userData', '{}'::jsonb,
            'time', (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
            'clientAmount', r.clients, 'userAmount', r.users)::text);
        -- A user's first client arrives, or the last one goes: once, after its last row here.
        IF r.user_id IS NOT NULL AND r.alone AND r.last_of_user THEN
            PERFORM push.publish_app(r.app_id, r.target, jsonb_build_object(
                'action', CASE WHEN v_arrive THEN 'join' ELSE 'leave' END, 'clientId', r.client_id,
                'userId', r.user_id, 'userData', '{}'::jsonb,
                'time', (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
                'clientAmount', r.clients, 'userAmount', r.users)::text);
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION push.presence_event() IS
    'publishes clients'' arrivals on and departures from X to presence-X, when that channel exists';

CREATE TRIGGER presence_arrive AFTER INSERT ON push.presence REFERENCING NEW TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION push.presence_event();
CREATE TRIGGER presence_depart AFTER DELETE ON push.presence REFERENCING OLD TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION push.presence_event();

-- Operators: change an app's settings, or delete it with everything it holds (pushctl app
-- update / app delete). The web programs hear of either through app_notify (005).
CREATE FUNCTION push.app_update(p_name text, p_origins text[] DEFAULT NULL, p_client_publish bool DEFAULT NULL,
                                p_max_message_bytes int DEFAULT NULL, p_publish_rate int DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_origin text;
BEGIN
    FOREACH v_origin IN ARRAY coalesce(p_origins, '{}') LOOP
        IF v_origin IS NULL OR v_origin !~ '^[a-z][a-z0-9+.-]*://[^/[:space:]]+$' THEN
            PERFORM push.fail(400, format('origins: %s is not an origin like https://example.com', coalesce(v_origin, 'NULL')));
        END IF;
    END LOOP;
    IF p_max_message_bytes < 1 THEN
        PERFORM push.fail(400, 'max_message_bytes: must be 1 or more');
    END IF;
    IF p_publish_rate < 0 THEN
        PERFORM push.fail(400, 'publish_rate: must be 0 (unlimited) or more');
    END IF;
    UPDATE push.app a
    SET origins = coalesce(p_origins, a.origins), client_publish = coalesce(p_client_publish, a.client_publish),
        max_message_bytes = coalesce(p_max_message_bytes, a.max_message_bytes),
        publish_rate = coalesce(p_publish_rate, a.publish_rate)
    WHERE a.name = p_name;
    IF NOT FOUND THEN
        PERFORM push.fail(404, format('name: no app named %s', p_name));
    END IF;
END $$;
COMMENT ON FUNCTION push.app_update(text, text[], bool, int, int) IS
    'changes the settings given (not NULL) of an app; keys and secret stay';

CREATE FUNCTION push.app_delete(p_name text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_channels bigint;
BEGIN
    SELECT count(c.id) INTO v_channels FROM push.app a LEFT JOIN push.channel c ON c.app_id = a.id
    WHERE a.name = p_name;
    DELETE FROM push.app a WHERE a.name = p_name;
    IF NOT FOUND THEN
        PERFORM push.fail(404, format('name: no app named %s', p_name));
    END IF;
    RETURN v_channels;
END $$;
COMMENT ON FUNCTION push.app_delete(text) IS
    'deletes an app with its channels, messages, read marks and presence; returns how many channels went';

-- Read state per message, as the seed's MessageLog has it: besides the read mark (everything
-- up to a seq, 003), single messages after it may be read. Unread counts the messages still
-- kept after the mark and not read one by one.
CREATE TABLE push.message_read (
    app_id int NOT NULL REFERENCES push.app ON DELETE CASCADE,
    user_id text NOT NULL CHECK (push.user_valid(user_id)),
    channel_id bigint NOT NULL REFERENCES push.channel ON DELETE CASCADE,
    seq bigint NOT NULL,
    read_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, user_id, channel_id, seq)
);
COMMENT ON TABLE push.message_read IS 'single messages a user has read after the read mark of the channel';

CREATE FUNCTION push.mark_read_each(p_key text, p_user text, p_channel text, p_seqs bigint[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
DECLARE
    v_app push.app := push.app_by_key(p_key, false);
    v_channel_id bigint;
    v_last_seq bigint;
    v_count bigint;
BEGIN
    IF NOT push.user_valid(p_user) THEN
        PERFORM push.fail(400, 'user: must be 1-64 bytes of letters, digits and _.=@- (UTF-8)');
    END IF;
    PERFORM push.check_channels(ARRAY[p_channel]);
    IF p_seqs IS NULL OR cardinality(p_seqs) NOT BETWEEN 1 AND 1000 OR array_position(p_seqs, NULL) IS NOT NULL THEN
        PERFORM push.fail(400, 'seqs: must be 1 to 1000 seqs');
    END IF;
    SELECT c.id, c.last_seq INTO v_channel_id, v_last_seq
    FROM push.channel c WHERE c.app_id = v_app.id AND c.name = p_channel;
    IF NOT FOUND THEN
        PERFORM push.fail(404, 'channel: no such channel');
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_seqs) s WHERE s < 1 OR s > v_last_seq) THEN
        PERFORM push.fail(400, format('seqs: must be between 1 and %s, the channel''s last seq', v_last_seq));
    END IF;
    INSERT INTO push.message_read (app_id, user_id, channel_id, seq)
    SELECT DISTINCT v_app.id, p_user, v_channel_id, s FROM unnest(p_seqs) s
    WHERE s > coalesce((SELECT r.seq FROM push.read_mark r
                        WHERE r.app_id = v_app.id AND r.user_id = p_user AND r.channel_id = v_channel_id), 0)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;
COMMENT ON FUNCTION push.mark_read_each(text, text, text, bigint[]) IS
    'marks single messages of a channel read for a user; returns how many were not read before';
GRANT EXECUTE ON FUNCTION push.mark_read_each(text, text, text, bigint[]) TO push_service;

CREATE OR REPLACE VIEW push.message_log AS
SELECT a.name AS app,
       c.name AS channel,
       m.seq,
       m.content,
       m.sender,
       push.channel_user(c.name) AS user_id,
       CASE WHEN push.channel_user(c.name) IS NOT NULL THEN
           m.seq <= coalesce(r.seq, 0)
           OR EXISTS (SELECT 1 FROM push.message_read e WHERE e.app_id = c.app_id AND e.user_id = push.channel_user(c.name)
                      AND e.channel_id = c.id AND e.seq = m.seq)
       END AS is_read,
       m.created_at
FROM push.message m
JOIN push.channel c ON c.id = m.channel_id
JOIN push.app a ON a.id = c.app_id
LEFT JOIN push.read_mark r
       ON r.app_id = c.app_id AND r.channel_id = c.id AND r.user_id = push.channel_user(c.name);
COMMENT ON VIEW push.message_log IS
    'every kept message; on user-<id> channels user_id is <id> and is_read says whether that user has read it (by the mark or one by one)';

-- Unread counts count the messages still kept and not read one by one: after push.prune or a
-- channel reset, what is gone is no longer unread (the columns stay those of 004_views.sql).
CREATE OR REPLACE VIEW push.unread AS
SELECT a.name AS app,
       pair.user_id,
       c.name AS channel,
       c.last_seq,
       coalesce(r.seq, 0) AS read_seq,
       (SELECT count(*) FROM push.message m WHERE m.channel_id = c.id AND m.seq > coalesce(r.seq, 0)
          AND NOT EXISTS (SELECT 1 FROM push.message_read e WHERE e.app_id = pair.app_id
                          AND e.user_id = pair.user_id AND e.channel_id = c.id AND e.seq = m.seq)) AS unread
FROM (SELECT app_id, user_id, channel_id FROM push.read_mark
      UNION
      SELECT app_id, user_id, channel_id FROM push.message_read
      UNION
      SELECT app_id, push.channel_user(name), id FROM push.channel WHERE push.channel_user(name) IS NOT NULL) pair
JOIN push.channel c ON c.id = pair.channel_id
JOIN push.app a ON a.id = pair.app_id
LEFT JOIN push.read_mark r
       ON r.app_id = pair.app_id AND r.user_id = pair.user_id AND r.channel_id = pair.channel_id;
COMMENT ON VIEW push.unread IS
    'unread counts (messages still kept after the read mark, not read one by one) for every read mark and every user-<id> channel';
