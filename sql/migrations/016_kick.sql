-- 016_kick: an operator may kick a user of an app (pushctl kick): every connection of theirs is
-- closed on every node, and their tokens issued before the kick are refused from then on. The
-- programs keep the kick times in memory, loaded through push.user_kicks() and kept current by
-- NOTIFY push_kick '<app_id> <kicked_ms> <user>'. JWTs carry iat (when they were issued) to be
-- compared with it.

CREATE TABLE push.user_kick (
    app_id int NOT NULL REFERENCES push.app ON DELETE CASCADE,
    user_id text NOT NULL CHECK (push.user_valid(user_id)),
    kicked_ms bigint NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
COMMENT ON TABLE push.user_kick IS
    'users an operator kicked: their tokens issued before kicked_ms (Unix milliseconds), or without iat, are refused';

-- Kicks p_user of the app named p_app now (a later kick moves the time on). Returns the kick's
-- time in Unix milliseconds. The operator's (schema owner's) business, not the programs'.
CREATE FUNCTION push.user_kick(p_app text, p_user text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_app_id int;
    -- The clock now, not the transaction's start: a token minted after this call is newer.
    v_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
BEGIN
    IF p_user IS NULL OR NOT push.user_valid(p_user) THEN
        PERFORM push.fail(400, 'user: must be 1-64 bytes of letters, digits and _.=@- (UTF-8)');
    END IF;
    SELECT a.id INTO v_app_id FROM push.app a WHERE a.name = p_app;
    IF NOT FOUND THEN
        PERFORM push.fail(404, format('app: no app named %s', p_app));
    END IF;
    INSERT INTO push.user_kick AS k (app_id, user_id, kicked_ms) VALUES (v_app_id, p_user, v_ms)
    ON CONFLICT (app_id, user_id) DO UPDATE SET kicked_ms = greatest(k.kicked_ms, EXCLUDED.kicked_ms)
    RETURNING k.kicked_ms INTO v_ms;
    PERFORM pg_notify('push_kick', v_app_id || ' ' || v_ms || ' ' || p_user);
    RETURN v_ms;
END $$;
COMMENT ON FUNCTION push.user_kick(text, text) IS
    'kicks a user of an app: NOTIFY push_kick closes their connections, their tokens issued before now are refused; returns the time (Unix ms)';

CREATE FUNCTION push.user_kicks()
RETURNS TABLE(app_id int, user_id text, kicked_ms bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp
BEGIN ATOMIC
    SELECT k.app_id, k.user_id, k.kicked_ms FROM push.user_kick k ORDER BY k.app_id, k.user_id;
END;
COMMENT ON FUNCTION push.user_kicks() IS 'every kick in force: app, user and time (Unix ms); the programs cache it';
GRANT EXECUTE ON FUNCTION push.user_kicks() TO push_service;

-- push.jwt as in 007, with iat: when the token was issued, in Unix seconds with milliseconds.
CREATE OR REPLACE FUNCTION push.jwt(p_app_id int, p_sub text, p_channels text[], p_publish text[], p_expires bigint,
                                    p_info jsonb DEFAULT NULL) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_secret text;
    v_entry text;
    v_claims jsonb;
    v_signed text;
BEGIN
    IF p_expires IS NULL OR p_expires < 0 THEN
        PERFORM push.fail(400, 'expires: must be a Unix time in seconds');
    END IF;
    IF p_sub IS NOT NULL AND NOT push.user_valid(p_sub) THEN
        PERFORM push.fail(400, 'sub: must be 1-64 bytes of [A-Za-z0-9_.=@-]');
    END IF;
    FOREACH v_entry IN ARRAY coalesce(p_channels, '{}') || coalesce(p_publish, '{}') LOOP
        IF v_entry IS NULL OR NOT (v_entry = '*' OR push.channel_valid(regexp_replace(v_entry, '\*$', ''))) THEN
            PERFORM push.fail(400, 'channels: each must be a channel name, or a prefix ending in *');
        END IF;
    END LOOP;
    IF p_info IS NOT NULL AND (jsonb_typeof(p_info) <> 'object' OR octet_length(p_info::text) > 1024) THEN
        PERFORM push.fail(400, 'info: must be a JSON object of at most 1024 bytes');
    END IF;
    SELECT a.secret INTO v_secret FROM push.app a WHERE a.id = p_app_id;
    IF NOT FOUND THEN
        PERFORM push.fail(404, 'app: no such app');
    END IF;
    v_claims := jsonb_build_object('exp', p_expires,
                                   'iat', round(floor(extract(epoch FROM clock_timestamp()) * 1000) / 1000, 3));
    IF p_sub IS NOT NULL THEN
        v_claims := v_claims || jsonb_build_object('sub', p_sub);
    END IF;
    IF p_channels IS NOT NULL THEN
        v_claims := v_claims || jsonb_build_object('channels', to_jsonb(p_channels));
    END IF;
    IF p_publish IS NOT NULL THEN
        v_claims := v_claims || jsonb_build_object('publish', to_jsonb(p_publish));
    END IF;
    IF p_info IS NOT NULL THEN
        v_claims := v_claims || jsonb_build_object('info', p_info);
    END IF;
    v_signed := push.base64url(convert_to('{"alg":"HS256","typ":"JWT"}', 'UTF8')) || '.'
                || push.base64url(convert_to(v_claims::text, 'UTF8'));
    RETURN v_signed || '.' || push.base64url(decode(push.hmac_sha256_hex(v_signed, v_secret), 'hex'));
END $$;
COMMENT ON FUNCTION push.jwt(int, text, text[], text[], bigint, jsonb) IS
    'a JWT (HS256, the app secret) for sub, channels and publish (names or prefix*), expiring at p_expires, issued (iat) now';
