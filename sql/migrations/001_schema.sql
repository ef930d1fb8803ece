-- 001_schema.sql: the push schema's tables (apps, channels, messages, read marks, presence, rate windows) and name rules.

DO $$
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RAISE EXCEPTION 'push needs a UTF8 database; this one is %', current_setting('server_encoding');
    END IF;
END $$;

CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA IF NOT EXISTS push;

-- pgcrypto may live in any schema; these two wrappers name it once, so nothing else depends on search_path.
DO $$
DECLARE
    s text := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
               WHERE e.extname = 'pgcrypto');
BEGIN
    EXECUTE format($f$
        CREATE FUNCTION push.random_hex(p_bytes int) RETURNS text
        LANGUAGE sql VOLATILE STRICT
        RETURN encode(%1$I.gen_random_bytes(p_bytes), 'hex')$f$, s);
    EXECUTE format($f$
        CREATE FUNCTION push.hmac_sha256_hex(p_data text, p_key text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN encode(%1$I.hmac(p_data, p_key, 'sha256'), 'hex')$f$, s);
END $$;
COMMENT ON FUNCTION push.random_hex(int) IS 'hex of p_bytes random bytes (pgcrypto gen_random_bytes)';
COMMENT ON FUNCTION push.hmac_sha256_hex(text, text) IS 'hex(HMAC-SHA256(key, data)), both taken as their UTF-8 bytes';

CREATE FUNCTION push.channel_valid(p_name text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(p_name ~ '^[A-Za-z0-9_.=@/-]{1,128}$', false);
COMMENT ON FUNCTION push.channel_valid(text) IS 'true for 1-128 bytes of [A-Za-z0-9_.=@/-]';

CREATE FUNCTION push.user_valid(p_id text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(p_id ~ '^[A-Za-z0-9_.=@-]{1,64}$', false);
COMMENT ON FUNCTION push.user_valid(text) IS 'true for 1-64 bytes of [A-Za-z0-9_.=@-] (user ids and client ids)';

CREATE FUNCTION push.channel_user(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN starts_with(p_name, 'user-') AND length(p_name) > 5 THEN substr(p_name, 6) END;
COMMENT ON FUNCTION push.channel_user(text) IS 'the <id> of a user-<id> channel, else NULL';

CREATE TABLE push.app (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    publish_key_hash bytea NOT NULL UNIQUE,
    subscribe_key_hash bytea NOT NULL UNIQUE,
    secret text NOT NULL,
    origins text[] NOT NULL DEFAULT '{}',
    max_message_bytes int NOT NULL DEFAULT 65536 CHECK (max_message_bytes > 0),
    publish_rate int NOT NULL DEFAULT 0 CHECK (publish_rate >= 0),
    client_publish bool NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE push.app IS 'an application: its keys (only their SHA-256), token secret, allowed origins and limits';
COMMENT ON COLUMN push.app.publish_key_hash IS 'sha256 of the publish key text (BC-...)';
COMMENT ON COLUMN push.app.subscribe_key_hash IS 'sha256 of the subscribe key text (BS-...)';
COMMENT ON COLUMN push.app.secret IS 'HMAC key for subscribe tokens, used as its text (64 hex digits)';
COMMENT ON COLUMN push.app.origins IS 'allowed browser origins; empty = any origin';
COMMENT ON COLUMN push.app.publish_rate IS 'messages per second for the whole app; 0 = unlimited';
COMMENT ON COLUMN push.app.client_publish IS 'whether pages may publish with GET + callback';

-- Every publish updates its channel row, so leave room on each page for HOT updates.
CREATE TABLE push.channel (
    id bigserial PRIMARY KEY,
    app_id int NOT NULL REFERENCES push.app ON DELETE CASCADE,
    name text NOT NULL CHECK (push.channel_valid(name)),
    last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    epoch int NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (app_id, name)
) WITH (fillfactor = 80);
CREATE INDEX channel_user_idx ON push.channel (push.channel_user(name)) WHERE push.channel_user(name) IS NOT NULL;
COMMENT ON TABLE push.channel IS 'a channel of an app; last_seq is the seq of its newest message, dense and commit-ordered';
COMMENT ON COLUMN push.channel.epoch IS 'bumped each time the channel''s history is reset';

CREATE TABLE push.message (
    channel_id bigint NOT NULL REFERENCES push.channel ON DELETE CASCADE,
    seq bigint NOT NULL CHECK (seq > 0),
    content text NOT NULL,
    sender text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, seq)
);
CREATE INDEX message_created_at_idx ON push.message (created_at);
COMMENT ON TABLE push.message IS 'every published message; (channel_id, seq) is the delivery order';

CREATE TABLE push.read_mark (
    app_id int NOT NULL REFERENCES push.app ON DELETE CASCADE,
    user_id text NOT NULL CHECK (push.user_valid(user_id)),
    channel_id bigint NOT NULL REFERENCES push.channel ON DELETE CASCADE,
    seq bigint NOT NULL DEFAULT 0 CHECK (seq >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, user_id, channel_id)
);
CREATE INDEX read_mark_channel_idx ON push.read_mark (channel_id);
COMMENT ON TABLE push.read_mark IS 'per user and channel: every message with seq <= this mark is read';

-- Presence is rewritten on every poll and worthless after a crash, so it is not WAL-logged.
CREATE UNLOGGED TABLE push.presence (
    channel_id bigint NOT NULL REFERENCES push.channel ON DELETE CASCADE,
    client_id text NOT NULL,
    app_id int NOT NULL REFERENCES push.app ON DELETE CASCADE,
    user_id text,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, client_id)
);
CREATE INDEX presence_client_idx ON push.presence (app_id, client_id);
CREATE INDEX presence_seen_at_idx ON push.presence (seen_at);
COMMENT ON TABLE push.presence IS 'clients seen on a channel; rows older than the presence TTL count as offline';

-- Only apps with publish_rate > 0 have a row here, so unlimited apps never serialize on it.
CREATE UNLOGGED TABLE push.rate_window (
    app_id int PRIMARY KEY REFERENCES push.app ON DELETE CASCADE,
    window_start bigint NOT NULL,
    used int NOT NULL
);
COMMENT ON TABLE push.rate_window IS 'messages an app published in the current one-second window (Unix seconds)';
