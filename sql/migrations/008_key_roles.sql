-- 008_key_roles: three key roles per app (subscribe, publish, server) kept in their own table,
-- so that a key can be replaced while the old one keeps working for an overlap window; and
-- whether an app takes user ids that pages claim without a token.
--
-- subscribe: pages; subscribe to public channels (private-* and user-* need a token).
-- publish:   pages may hold it; publish and subscribe on public channels (tokens for the rest).
-- server:    backends only; everything, on every channel, for every user.

CREATE TABLE push.app_key (
    hash bytea PRIMARY KEY,
    app_id int NOT NULL REFERENCES push.app ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('subscribe', 'publish', 'server')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz
);
CREATE INDEX app_key_app ON push.app_key (app_id, role);
COMMENT ON TABLE push.app_key IS 'the keys of each app (only their SHA-256); a replaced key works until expires_at';
COMMENT ON COLUMN push.app_key.hash IS 'sha256 of the key text (BS-... subscribe, BC-... publish, BK-... server)';
COMMENT ON COLUMN push.app_key.expires_at IS 'NULL for a current key; when a rotation replaced it, the end of its overlap window';

INSERT INTO push.app_key (hash, app_id, role, created_at)
SELECT publish_key_hash, id, 'publish', created_at FROM push.app
UNION ALL
SELECT subscribe_key_hash, id, 'subscribe', created_at FROM push.app;

-- key_lookup's body names the old columns: it goes first and comes back below.
DROP FUNCTION push.key_lookup(text);
ALTER TABLE push.app DROP COLUMN publish_key_hash, DROP COLUMN subscribe_key_hash,
    ADD COLUMN claimed_users bool NOT NULL DEFAULT false;
COMMENT ON COLUMN push.app.claimed_users IS
    'whether a page may name its user without a token (presence only; user channels and read state still need one)';
COMMENT ON TABLE push.app IS 'an application: its token secret, allowed origins and limits (keys in push.app_key)';

-- One trigger function tells of both tables' changes: its argument names the app id column.
CREATE OR REPLACE FUNCTION push.app_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('push_app', coalesce(to_jsonb(NEW), to_jsonb(OLD)) ->> coalesce(TG_ARGV[0], 'id'));
    RETURN NULL;
END $$;
COMMENT ON FUNCTION push.app_notify() IS
    'trigger: NOTIFY push_app ''<app_id>'' after an app or its keys changed (argument: the app id column, default id)';

CREATE TRIGGER app_key_notify AFTER INSERT OR UPDATE OR DELETE ON push.app_key
    FOR EACH ROW EXECUTE FUNCTION push.app_notify('app_id');

-- A new key of a role: its text, with its hash stored.
CREATE FUNCTION push.key_add(p_app_id int, p_role text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := CASE p_role WHEN 'subscribe' THEN 'BS-' WHEN 'publish' THEN 'BC-' ELSE 'BK-' END
                  || push.random_hex(16);
BEGIN
    INSERT INTO push.app_key (hash, app_id, role) VALUES (sha256(convert_to(v_key, 'UTF8')), p_app_id, p_role);
    RETURN v_key;
END $$;
COMMENT ON FUNCTION push.key_add(int, text) IS 'adds a key of a role to an app; returns its text (only its SHA-256 is kept)';

DROP FUNCTION push.app_create(text, text[], bool, int, int);
CREATE FUNCTION push.app_create(p_name text, p_origins text[] DEFAULT '{}', p_client_publish bool DEFAULT false,
                                p_max_message_bytes int DEFAULT 65536, p_publish_rate int DEFAULT 0,
                                p_claimed_users bool DEFAULT false)
RETURNS TABLE(app_id int, publish_key text, subscribe_key text, secret text, server_key text)
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

    secret := push.random_hex(32);
    BEGIN
        INSERT INTO push.app AS a (name, secret, origins, max_message_bytes, publish_rate, client_publish,
                                   claimed_users)
        VALUES (p_name, secret, coalesce(p_origins, '{}'), p_max_message_bytes, p_publish_rate,
                coalesce(p_client_publish, false), coalesce(p_claimed_users, false))
        RETURNING a.id INTO app_id;
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'app_name_key' THEN
            PERFORM push.fail(400, format('name: an app named %s exists', p_name));
        END IF;
        RAISE;
    END;
    publish_key := push.key_add(app_id, 'publish');
    subscribe_key := push.key_add(app_id, 'subscribe');
    server_key := push.key_add(app_id, 'server');
    RETURN NEXT;
END $$;
COMMENT ON FUNCTION push.app_create(text, text[], bool, int, int, bool) IS
    'creates an app; returns its three keys and secret, which are never shown again (only the keys'' SHA-256 is kept)';

-- Replaces the current keys of the given roles. The old keys keep working for p_overlap (0: they
-- stop at once); keys whose window ended are removed.
CREATE FUNCTION push.key_rotate(p_app text, p_roles text[] DEFAULT '{subscribe,publish,server}',
                                p_overlap interval DEFAULT '1 day')
RETURNS TABLE(role text, key text, old_expires_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_app_id int;
    v_role text;
BEGIN
    SELECT a.id INTO v_app_id FROM push.app a WHERE a.name = p_app;
    IF NOT FOUND THEN
        PERFORM push.fail(404, format('app: no app named %s', p_app));
    END IF;
    IF p_roles IS NULL OR cardinality(p_roles) = 0
       OR NOT p_roles <@ ARRAY['subscribe', 'publish', 'server'] THEN
        PERFORM push.fail(400, 'role: must be subscribe, publish or server');
    END IF;
    IF p_overlap IS NULL OR p_overlap < interval '0' THEN
        PERFORM push.fail(400, 'overlap: must be 0 or more');
    END IF;
    DELETE FROM push.app_key k WHERE k.app_id = v_app_id AND k.expires_at <= now();
    FOREACH v_role IN ARRAY ARRAY['subscribe', 'publish', 'server'] LOOP
        CONTINUE WHEN NOT v_role = ANY (p_roles);
        role := v_role;
        old_expires_at := now() + p_overlap;
        UPDATE push.app_key k SET expires_at = old_expires_at
        WHERE k.app_id = v_app_id AND k.role = v_role AND (k.expires_at IS NULL OR k.expires_at > old_expires_at);
        key := push.key_add(v_app_id, v_role);
        RETURN NEXT;
    END LOOP;
END $$;
COMMENT ON FUNCTION push.key_rotate(text, text[], interval) IS
    'replaces an app''s keys of some roles; the old ones work until old_expires_at; returns the new keys once';

CREATE FUNCTION push.key_lookup(p_key text)
RETURNS TABLE(app_id int, role text, name text, secret text, origins text[], client_publish bool,
              max_message_bytes int, publish_rate int, expires bigint, claimed_users bool)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp
BEGIN ATOMIC
    SELECT a.id, k.role, a.name, a.secret, a.origins, a.client_publish, a.max_message_bytes, a.publish_rate,
           floor(extract(epoch FROM k.expires_at))::bigint, a.claimed_users
    FROM push.app_key k JOIN push.app a ON a.id = k.app_id
    WHERE k.hash = sha256(convert_to(p_key, 'UTF8')) AND (k.expires_at IS NULL OR k.expires_at > now());
END;
COMMENT ON FUNCTION push.key_lookup(text) IS
    'the app and role (subscribe, publish or server) of a working key, when it stops working (NULL: not planned) and the app''s settings; no row when unknown or expired';
GRANT EXECUTE ON FUNCTION push.key_lookup(text) TO push_service;

-- The app of a key: PU400 when missing, PU401 when unknown or expired, PU403 when p_publish and
-- it is the subscribe key.
CREATE OR REPLACE FUNCTION push.app_by_key(p_key text, p_publish bool) RETURNS push.app
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_app push.app;
    v_role text;
BEGIN
    IF coalesce(p_key, '') = '' THEN
        PERFORM push.fail(400, 'appkey: missing');
    END IF;
    SELECT k.role INTO v_role FROM push.app_key k
    WHERE k.hash = sha256(convert_to(p_key, 'UTF8')) AND (k.expires_at IS NULL OR k.expires_at > now());
    IF NOT FOUND THEN
        PERFORM push.fail(401, 'appkey: unknown key');
    END IF;
    IF p_publish AND v_role = 'subscribe' THEN
        PERFORM push.fail(403, 'appkey: the subscribe key cannot publish');
    END IF;
    SELECT a.* INTO v_app FROM push.app a JOIN push.app_key k ON k.app_id = a.id
    WHERE k.hash = sha256(convert_to(p_key, 'UTF8'));
    RETURN v_app;
END $$;
