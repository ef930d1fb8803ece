-- 002_publish.sql: apps and keys, publishing with dense per-channel seqs, channel heads, pruning, resets and tokens.

-- Every rule violation raises SQLSTATE PU<status> (PU400, PU401, PU403, PU404, PU413, PU429) with a
-- message that starts with the parameter's name; the HTTP layer answers <status> with that text.
CREATE FUNCTION push.fail(p_status int, p_message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'PU' || p_status, MESSAGE = p_message;
END $$;
COMMENT ON FUNCTION push.fail(int, text) IS 'raises SQLSTATE PU<status> with the given message';

CREATE FUNCTION push.check_channels(p_names text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_names), 0) LOOP
        IF NOT push.channel_valid(p_names[i]) THEN
            PERFORM push.fail(400, 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]');
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION push.check_channels(text[]) IS 'raises PU400 naming channel unless every name is valid';

CREATE FUNCTION push.app_create(p_name text, p_origins text[] DEFAULT '{}', p_client_publish bool DEFAULT false,
                                p_max_message_bytes int DEFAULT 65536, p_publish_rate int DEFAULT 0)
RETURNS TABLE(app_id int, publish_key text, subscribe_key text, secret text)
LANGUAGE plpgsql AS $$
DECLARE
    v_origin text;
    v_constraint text;
BEGIN
    IF p_name IS NULL OR char_length(p_name) NOT BETWEEN 1 AND 64 OR p_name ~ '[[:cntrl:]]' OR p_name <> btrim(p_name) THEN
        PERFORM push.fail(400, 'name: must be 1-64 characters without control characters or surrounding spaces');
    END IF;
    FOREACH v_origin IN ARRAY coalesce(p_origins, '{}') LOOP
        IF v_origin IS NULL OR v_origin !~ '^[a-z][a-z0-9+.-]*://[^/[:space:]]+$' THEN
            PERFORM push.fail(400, format('origins: %s is not an origin like https://example.com', coalesce(v_origin, 'NULL')));
        END IF;
    END LOOP;
    IF p_max_message_bytes IS NULL OR p_max_message_bytes < 1 THEN
        PERFORM push.fail(400, 'max_message_bytes: must be 1 or more');
    END IF;
    IF p_publish_rate IS NULL OR p_publish_rate < 0 THEN
        PERFORM push.fail(400, 'publish_rate: must be 0 (unlimited) or more');
    END IF;

    publish_key := 'BC-' || push.random_hex(16);
    subscribe_key := 'BS-' || push.random_hex(16);
    secret := push.random_hex(32);
    BEGIN
        INSERT INTO push.app AS a (name, publish_key_hash, subscribe_key_hash, secret, origins,
                                   max_message_bytes, publish_rate, client_publish)
        VALUES (p_name, sha256(convert_to(publish_key, 'UTF8')), sha256(convert_to(subscribe_key, 'UTF8')), secret,
                coalesce(p_origins, '{}'), p_max_message_bytes, p_publish_rate, coalesce(p_client_publish, false))
        RETURNING a.id INTO app_id;
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'app_name_key' THEN
            PERFORM push.fail(400, format('name: an app named %s exists', p_name));
        END IF;
        RAISE;
    END;
    RETURN NEXT;
END $$;
COMMENT ON FUNCTION push.app_create(text, text[], bool, int, int) IS
    'creates an app; returns its keys and secret, which are never shown again (only the keys'' SHA-256 is kept)';

CREATE FUNCTION push.key_lookup(p_key text)
RETURNS TABLE(app_id int, role text, name text, secret text, origins text[], client_publish bool,
              max_message_bytes int, publish_rate int)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT a.id, CASE WHEN a.publish_key_hash = k.hash THEN 'publish' ELSE 'subscribe' END,
           a.name, a.secret, a.origins, a.client_publish, a.max_message_bytes, a.publish_rate
    FROM (SELECT sha256(convert_to(p_key, 'UTF8')) AS hash) k
    JOIN push.app a ON a.publish_key_hash = k.hash OR a.subscribe_key_hash = k.hash;
END;
COMMENT ON FUNCTION push.key_lookup(text) IS 'the app and role (publish or subscribe) of a key; no row when unknown';

-- The app of a key: PU400 when missing, PU401 when unknown, PU403 when p_publish and it is the subscribe key.
CREATE FUNCTION push.app_by_key(p_key text, p_publish bool) RETURNS push.app
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_hash bytea := sha256(convert_to(coalesce(p_key, ''), 'UTF8'));
    v_app push.app;
BEGIN
    IF coalesce(p_key, '') = '' THEN
        PERFORM push.fail(400, 'appkey: missing');
    END IF;
    SELECT * INTO v_app FROM push.app WHERE publish_key_hash = v_hash;
    IF FOUND THEN
        RETURN v_app;
    END IF;
    SELECT * INTO v_app FROM push.app WHERE subscribe_key_hash = v_hash;
    IF NOT FOUND THEN
        PERFORM push.fail(401, 'appkey: unknown key');
    END IF;
    IF p_publish THEN
        PERFORM push.fail(403, 'appkey: the subscribe key cannot publish');
    END IF;
    RETURN v_app;
END $$;

-- Checks one message against the app's rules; p_where prefixes parameter names ('messages[3].' in batches).
CREATE FUNCTION push.message_check(p_app push.app, p_channel text, p_content text, p_where text DEFAULT '')
RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_bytes int;
BEGIN
    IF NOT push.channel_valid(p_channel) THEN
        PERFORM push.fail(400, p_where || 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]');
    END IF;
    IF p_content IS NULL THEN
        PERFORM push.fail(400, p_where || 'content: missing');
    END IF;
    v_bytes := octet_length(p_content);
    IF v_bytes > p_app.max_message_bytes THEN
        PERFORM push.fail(413, format('%scontent: %s bytes exceeds the limit of %s', p_where, v_bytes, p_app.max_message_bytes));
    END IF;
END $$;

CREATE FUNCTION push.sender_check(p_sender text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF octet_length(p_sender) > 128 THEN
        PERFORM push.fail(400, 'sender: must be at most 128 bytes');
    END IF;
END $$;

-- Counts p_count messages against the app's publish_rate in the second its transaction started; PU429
-- when over. A transaction that started before the stored window (it waited for the row) counts in that
-- window. Apps without a rate never touch push.rate_window.
CREATE FUNCTION push.rate_take(p_app push.app, p_count int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_used int;
BEGIN
    IF p_app.publish_rate = 0 THEN
        RETURN;
    END IF;
    INSERT INTO push.rate_window AS r (app_id, window_start, used)
    VALUES (p_app.id, floor(extract(epoch FROM now()))::bigint, p_count)
    ON CONFLICT (app_id) DO UPDATE
        SET used = CASE WHEN EXCLUDED.window_start <= r.window_start THEN r.used + EXCLUDED.used
                        ELSE EXCLUDED.used END,
            window_start = greatest(r.window_start, EXCLUDED.window_start)
    RETURNING r.used INTO v_used;
    IF v_used > p_app.publish_rate THEN
        PERFORM push.fail(429, format('rate: this app may publish at most %s messages per second', p_app.publish_rate));
    END IF;
END $$;

-- Takes the row lock of channel p_name (creating it with last_seq 0 when missing) until the transaction ends.
CREATE FUNCTION push.channel_lock(p_app_id int, p_name text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT id INTO v_id FROM push.channel WHERE app_id = p_app_id AND name = p_name FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        INSERT INTO push.channel (app_id, name) VALUES (p_app_id, p_name) ON CONFLICT (app_id, name) DO NOTHING;
        SELECT id INTO v_id FROM push.channel WHERE app_id = p_app_id AND name = p_name FOR NO KEY UPDATE;
    END IF;
    RETURN v_id;
END $$;

-- The one write path for a message, used by every publishing function; callers check the message first.
-- Bumping last_seq takes the channel row lock until commit, so a channel's seqs commit in order with no
-- holes: a reader that sees seq n sees every seq below it. After commit PostgreSQL delivers the NOTIFY
-- 'push_message' with payload '<channel_id>:<seq>'.
CREATE FUNCTION push.publish_app(p_app_id int, p_channel text, p_content text, p_sender text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_channel_id bigint;
    v_seq bigint;
BEGIN
    -- UPDATE first: an upsert would draw a channel id from the sequence on every publish.
    UPDATE push.channel SET last_seq = last_seq + 1, updated_at = now()
    WHERE app_id = p_app_id AND name = p_channel
    RETURNING id, last_seq INTO v_channel_id, v_seq;
    IF NOT FOUND THEN
        INSERT INTO push.channel AS c (app_id, name, last_seq) VALUES (p_app_id, p_channel, 1)
        ON CONFLICT (app_id, name) DO UPDATE SET last_seq = c.last_seq + 1, updated_at = now()
        RETURNING c.id, c.last_seq INTO v_channel_id, v_seq;
    END IF;
    INSERT INTO push.message (channel_id, seq, content, sender) VALUES (v_channel_id, v_seq, p_content, p_sender);
    PERFORM pg_notify('push_message', v_channel_id || ':' || v_seq);
    RETURN v_seq;
END $$;
COMMENT ON FUNCTION push.publish_app(int, text, text, text) IS
    'stores a message already checked for the app and returns its seq; notifies push_message ''<channel_id>:<seq>''';

CREATE FUNCTION push.publish(p_key text, p_channel text, p_content text, p_sender text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_app push.app := push.app_by_key(p_key, true);
BEGIN
    PERFORM push.message_check(v_app, p_channel, p_content);
    PERFORM push.sender_check(p_sender);
    PERFORM push.rate_take(v_app, 1);
    RETURN push.publish_app(v_app.id, p_channel, p_content, nullif(p_sender, ''));
END $$;
COMMENT ON FUNCTION push.publish(text, text, text, text) IS
    'publishes content to a channel with a publish key; returns the new seq (PU400/401/403/413/429 on errors)';

CREATE FUNCTION push.publish_batch(p_key text, p_channels text[], p_contents text[], p_sender text DEFAULT NULL)
RETURNS TABLE(channel text, seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_app push.app := push.app_by_key(p_key, true);
    v_channels text[] := ARRAY(SELECT unnest(p_channels));
    v_contents text[] := ARRAY(SELECT unnest(p_contents));
    v_count int := cardinality(v_channels);
    v_name text;
BEGIN
    IF v_count = 0 THEN
        PERFORM push.fail(400, 'messages: at least one message is needed');
    END IF;
    IF v_count <> cardinality(v_contents) THEN
        PERFORM push.fail(400, format('messages: %s channels but %s contents', v_count, cardinality(v_contents)));
    END IF;
    FOR i IN 1 .. v_count LOOP
        PERFORM push.message_check(v_app, v_channels[i], v_contents[i], format('messages[%s].', i - 1));
    END LOOP;
    PERFORM push.sender_check(p_sender);
    PERFORM push.rate_take(v_app, v_count);

    -- Lock every channel of the batch in one fixed order first, so concurrent batches cannot deadlock.
    FOR v_name IN SELECT DISTINCT n COLLATE "C" FROM unnest(v_channels) AS n ORDER BY 1 LOOP
        PERFORM push.channel_lock(v_app.id, v_name);
    END LOOP;
    FOR i IN 1 .. v_count LOOP
        channel := v_channels[i];
        seq := push.publish_app(v_app.id, v_channels[i], v_contents[i], nullif(p_sender, ''));
        RETURN NEXT;
    END LOOP;
END $$;
COMMENT ON FUNCTION push.publish_batch(text, text[], text[], text) IS
    'publishes p_contents[i] to p_channels[i], all or nothing; returns (channel, seq) in input order';

CREATE FUNCTION push.channel_open(p_app_id int, p_names text[])
RETURNS TABLE(name text, channel_id bigint, last_seq bigint, oldest_seq bigint, epoch int)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_names text[] := ARRAY(SELECT unnest(p_names));
BEGIN
    PERFORM push.check_channels(v_names);
    -- Missing channels are created in name order, like push.publish_batch locks them. When none is
    -- missing nothing is written, so opening known channels works in a read-only transaction too.
    IF EXISTS (SELECT 1 FROM unnest(v_names) AS n
               WHERE NOT EXISTS (SELECT 1 FROM push.channel e WHERE e.app_id = p_app_id AND e.name = n)) THEN
        INSERT INTO push.channel (app_id, name)
        SELECT p_app_id, u.n FROM (SELECT DISTINCT n COLLATE "C" AS n FROM unnest(v_names) AS n) u
        WHERE NOT EXISTS (SELECT 1 FROM push.channel e WHERE e.app_id = p_app_id AND e.name = u.n)
        ORDER BY u.n
        ON CONFLICT (app_id, name) DO NOTHING;
    END IF;

    RETURN QUERY
    SELECT c.name, c.id, c.last_seq, (SELECT min(m.seq) FROM push.message m WHERE m.channel_id = c.id), c.epoch
    FROM (SELECT n, min(ord) AS ord FROM unnest(v_names) WITH ORDINALITY AS x(n, ord) GROUP BY n) u
    JOIN push.channel c ON c.app_id = p_app_id AND c.name = u.n
    ORDER BY u.ord;
END $$;
COMMENT ON FUNCTION push.channel_open(int, text[]) IS
    'the id, head (last_seq), oldest kept seq (NULL when none) and epoch of each named channel, created when missing';

CREATE FUNCTION push.prune(p_retention interval DEFAULT '7 days') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
BEGIN
    IF p_retention IS NULL OR p_retention < interval '0' THEN
        PERFORM push.fail(400, 'retention: must be zero or more');
    END IF;
    DELETE FROM push.message WHERE created_at < now() - p_retention;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;
COMMENT ON FUNCTION push.prune(interval) IS
    'deletes messages older than the retention and returns how many; seqs continue, subscribers behind see a gap';

CREATE FUNCTION push.reset_channel(p_app_id int, p_channel text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_epoch int;
BEGIN
    PERFORM push.check_channels(ARRAY[p_channel]);
    UPDATE push.channel SET epoch = epoch + 1, updated_at = now()
    WHERE app_id = p_app_id AND name = p_channel
    RETURNING id, epoch INTO v_id, v_epoch;
    IF NOT FOUND THEN
        PERFORM push.fail(404, 'channel: no such channel');
    END IF;
    DELETE FROM push.message WHERE channel_id = v_id;
    RETURN v_epoch;
END $$;
COMMENT ON FUNCTION push.reset_channel(int, text) IS
    'deletes a channel''s history and returns its new epoch; seqs continue';

-- token = hex(HMAC-SHA256(key = app secret as text, data = '<channel>:<expires>' or '<channel>:<expires>:<user>'))
--         || ':' || <expires>
-- <expires> is Unix seconds in decimal. A user-<id> channel's token is always made for user <id>.
CREATE FUNCTION push.token(p_app_id int, p_channel text, p_expires bigint, p_user text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_owner text := push.channel_user(p_channel);
    v_user text := p_user;
    v_secret text;
BEGIN
    PERFORM push.check_channels(ARRAY[p_channel]);
    IF p_expires IS NULL OR p_expires < 0 THEN
        PERFORM push.fail(400, 'expires: must be a Unix time in seconds');
    END IF;
    IF v_owner IS NOT NULL THEN
        IF p_user IS NOT NULL AND p_user <> v_owner THEN
            PERFORM push.fail(400, format('user: a token for %s must be made for user %s', p_channel, v_owner));
        END IF;
        v_user := v_owner;
    ELSIF p_user IS NOT NULL AND NOT push.user_valid(p_user) THEN
        PERFORM push.fail(400, 'user: must be 1-64 bytes of [A-Za-z0-9_.=@-]');
    END IF;
    SELECT a.secret INTO v_secret FROM push.app a WHERE a.id = p_app_id;
    IF NOT FOUND THEN
        PERFORM push.fail(404, 'app: no such app');
    END IF;
    RETURN push.hmac_sha256_hex(p_channel || ':' || p_expires || coalesce(':' || v_user, ''), v_secret)
           || ':' || p_expires;
END $$;
COMMENT ON FUNCTION push.token(int, text, bigint, text) IS
    'subscribe token: hex(HMAC-SHA256(secret, ''<channel>:<expires>[:<user>]'')) || '':'' || expires';
