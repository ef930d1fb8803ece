-- 007_jwt.sql: push.jwt, JWT capability tokens (RFC 7519, HS256, signed with the app secret).

-- base64url (RFC 4648 section 5) without padding, as JWT wants.
CREATE FUNCTION push.base64url(p_data bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN rtrim(translate(encode(p_data, 'base64'), E'+/\n', '-_'), '=');
COMMENT ON FUNCTION push.base64url(bytea) IS 'base64url of p_data without padding';

-- jwt = base64url(header) . base64url(claims) . base64url(HMAC-SHA256(app secret as text, the first two))
-- header {"alg":"HS256","typ":"JWT"}; claims exp (Unix seconds), and when given sub, channels and
-- publish (names, or prefixes ending in '*'), info (a JSON object of at most 1024 bytes).
CREATE FUNCTION push.jwt(p_app_id int, p_sub text, p_channels text[], p_publish text[], p_expires bigint,
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
    v_claims := jsonb_build_object('exp', p_expires);
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
    'a JWT (HS256, the app secret) for sub, channels and publish (names or prefix*), expiring at p_expires';

-- Minting is the owner's (a backend's) business, like push.token: never the programs' role.
REVOKE EXECUTE ON FUNCTION push.base64url(bytea), push.jwt(int, text, text[], text[], bigint, jsonb) FROM PUBLIC;
