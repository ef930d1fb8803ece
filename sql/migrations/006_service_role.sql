-- 006_service_role.sql: least privilege for the web programs: the group role push_service may
-- execute the functions push-api, push-poll and push-ws call, and nothing else (no table, no
-- view, no CREATE). Every read they used to run on the tables goes through a function here.

-- Roles are cluster-wide: a superuser (or a role with CREATEROLE) makes push_service once; the
-- schema owner that runs the migrations usually has neither.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'push_service') THEN
        BEGIN
            CREATE ROLE push_service NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'the role push_service is missing'
                USING HINT = 'as a superuser: CREATE ROLE push_service NOLOGIN; then migrate again';
        END;
    END IF;
END $$;

-- What the programs read, each as the statement they ran before, now owned by the schema owner.

CREATE FUNCTION push.message_after(p_channel_id bigint, p_after bigint, p_limit int)
RETURNS TABLE(seq bigint, content text, time_ms bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp
BEGIN ATOMIC
    SELECT m.seq, m.content, (extract(epoch FROM m.created_at) * 1000)::bigint
    FROM push.message m
    WHERE m.channel_id = p_channel_id AND m.seq > p_after
    ORDER BY m.seq
    LIMIT p_limit;
END;
COMMENT ON FUNCTION push.message_after(bigint, bigint, int) IS
    'at most p_limit messages of a channel after seq p_after, ascending, with their time in Unix ms';

-- Two index-ordered branches, one of them switched off by p_after: the latest rows walk the
-- primary key backwards, rows after a seq walk it forwards; neither sorts the channel. One row
-- with seq NULL when the channel has no message in range; no row when there is no such channel.
CREATE FUNCTION push.message_history(p_app_id int, p_channel text, p_before bigint, p_after bigint, p_limit int)
RETURNS TABLE(last_seq bigint, seq bigint, content text, time_ms bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp
BEGIN ATOMIC
    SELECT c.last_seq, h.seq, h.content, h.time_ms
    FROM push.channel c
    LEFT JOIN LATERAL (
        (SELECT m.seq, m.content, (extract(epoch FROM m.created_at) * 1000)::bigint AS time_ms
         FROM push.message m
         WHERE p_after IS NULL AND m.channel_id = c.id AND (p_before IS NULL OR m.seq < p_before)
         ORDER BY m.seq DESC LIMIT p_limit)
        UNION ALL
        (SELECT m.seq, m.content, (extract(epoch FROM m.created_at) * 1000)::bigint AS time_ms
         FROM push.message m
         WHERE p_after IS NOT NULL AND m.channel_id = c.id AND m.seq > p_after
           AND (p_before IS NULL OR m.seq < p_before)
         ORDER BY m.seq LIMIT p_limit)
    ) h ON true
    WHERE c.app_id = p_app_id AND c.name = p_channel
    ORDER BY h.seq;
END;
COMMENT ON FUNCTION push.message_history(int, text, bigint, bigint, int) IS
    'a channel''s head and at most p_limit messages: the latest (before p_before), or the first after p_after';

-- The rows after p_afters[i] of each channel p_channel_ids[i], at most p_limit rows in all, merged
-- by time, keeping each channel's rows a prefix in seq order (by its running newest time). The
-- body is a string so that pg_stat_statements shows the statement (tests/poll-ring.sh).
CREATE FUNCTION push.catch_up(p_channel_ids bigint[], p_afters bigint[], p_limit int)
RETURNS TABLE(i bigint, seq bigint, content text, time_ms bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp
AS $$
SELECT r.i, r.seq, r.content, r.t FROM (
    SELECT c.i, m.seq, m.content, (extract(epoch FROM m.created_at) * 1000)::bigint AS t,
           max(m.created_at) OVER (PARTITION BY c.i ORDER BY m.seq) AS run
    FROM unnest(p_channel_ids, p_afters) WITH ORDINALITY AS c(id, after, i)
    CROSS JOIN LATERAL (SELECT x.seq, x.content, x.created_at FROM push.message x
                        WHERE x.channel_id = c.id AND x.seq > c.after ORDER BY x.seq LIMIT p_limit) m) r
ORDER BY run, i, seq LIMIT p_limit
$$;
COMMENT ON FUNCTION push.catch_up(bigint[], bigint[], int) IS
    'the messages after a seq of several channels, at most p_limit in all, each channel''s a prefix';

CREATE FUNCTION push.channel_head(p_channel_id bigint) RETURNS TABLE(last_seq bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp
BEGIN ATOMIC
    SELECT c.last_seq FROM push.channel c WHERE c.id = p_channel_id;
END;
COMMENT ON FUNCTION push.channel_head(bigint) IS 'the last_seq of a channel by id; no row when there is none';

CREATE FUNCTION push.unread_of(p_app text, p_user text)
RETURNS TABLE(channel text, last_seq bigint, read_seq bigint, unread bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp
BEGIN ATOMIC
    SELECT u.channel, u.last_seq, u.read_seq, u.unread FROM push.unread u
    WHERE u.app = p_app AND u.user_id = p_user
    ORDER BY u.channel;
END;
COMMENT ON FUNCTION push.unread_of(text, text) IS 'push.unread of one app (by name) and user, by channel';

CREATE FUNCTION push.schema_version_current() RETURNS int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp
BEGIN ATOMIC
    SELECT coalesce(max(v.version), 0) FROM push.schema_version v;
END;
COMMENT ON FUNCTION push.schema_version_current() IS 'the newest applied migration''s number (0 when none)';

-- The functions the programs already called run as their owner now, with a fixed search_path.
ALTER FUNCTION push.key_lookup(text) SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp;
ALTER FUNCTION push.publish(text, text, text, text) SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp;
ALTER FUNCTION push.publish_batch(text, text[], text[], text) SECURITY DEFINER
    SET search_path = pg_catalog, push, pg_temp;
ALTER FUNCTION push.channel_open(int, text[]) SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp;
ALTER FUNCTION push.mark_read(text, text, text, bigint) SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp;
ALTER FUNCTION push.presence_touch(int, text[], text, text) SECURITY DEFINER
    SET search_path = pg_catalog, push, pg_temp;
ALTER FUNCTION push.presence_leave(int, text[], text) SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp;
ALTER FUNCTION push.here_now(int, text[], interval) SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp;

-- Nobody but the owner (and superusers) may run a push function unless granted here; functions
-- the owner creates later start without PUBLIC's EXECUTE too.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA push FROM PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

GRANT USAGE ON SCHEMA push TO push_service;
GRANT EXECUTE ON FUNCTION
    push.key_lookup(text),
    push.publish(text, text, text, text),
    push.publish_batch(text, text[], text[], text),
    push.channel_open(int, text[]),
    push.mark_read(text, text, text, bigint),
    push.presence_touch(int, text[], text, text),
    push.presence_leave(int, text[], text),
    push.here_now(int, text[], interval),
    push.message_after(bigint, bigint, int),
    push.message_history(int, text, bigint, bigint, int),
    push.catch_up(bigint[], bigint[], int),
    push.channel_head(bigint),
    push.unread_of(text, text),
    push.schema_version_current()
TO push_service;

-- No temporary tables either (a SECURITY DEFINER function must never meet one of the caller's).
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END $$;
