-- schema.sql: the SQL contract the C programs rely on: tables, views and exact function signatures.
BEGIN;
SELECT plan(29);

SELECT has_schema('push');
SELECT tables_are('push', ARRAY['schema_version', 'app', 'app_key', 'channel', 'message', 'read_mark', 'presence',
                               'rate_window', 'message_read', 'user_kick']);
SELECT views_are('push', ARRAY['message_log', 'unread', 'channel_stats']);
SELECT col_is_pk('push', 'message', ARRAY['channel_id', 'seq'], 'message is keyed by (channel_id, seq)');
SELECT col_is_pk('push', 'read_mark', ARRAY['app_id', 'user_id', 'channel_id'], 'read_mark is keyed by (app_id, user_id, channel_id)');
SELECT col_is_pk('push', 'presence', ARRAY['channel_id', 'client_id'], 'presence is keyed by (channel_id, client_id)');
SELECT col_is_unique('push', 'channel', ARRAY['app_id', 'name'], 'a channel name is unique within its app');
SELECT hasnt_column('push', 'app', 'publish_key', 'the publish key itself is not stored');
SELECT hasnt_column('push', 'app', 'subscribe_key', 'the subscribe key itself is not stored');
SELECT columns_are('push', 'app_key', ARRAY['hash', 'app_id', 'role', 'created_at', 'expires_at'],
                   'keys are stored as their hash, with a role and the end of an overlap window');

SELECT is(pg_get_function_arguments(to_regprocedure(sig)) || ' -> ' || pg_get_function_result(to_regprocedure(sig)),
          expected, sig)
FROM (VALUES
    ('push.app_create(text,text[],boolean,integer,integer,boolean)',
     'p_name text, p_origins text[] DEFAULT ''{}''::text[], p_client_publish boolean DEFAULT false, p_max_message_bytes integer DEFAULT 65536, p_publish_rate integer DEFAULT 0, p_claimed_users boolean DEFAULT false -> TABLE(app_id integer, publish_key text, subscribe_key text, secret text, server_key text)'),
    ('push.key_lookup(text)',
     'p_key text -> TABLE(app_id integer, role text, name text, secret text, origins text[], client_publish boolean, max_message_bytes integer, publish_rate integer, expires bigint, claimed_users boolean)'),
    ('push.channel_valid(text)', 'p_name text -> boolean'),
    ('push.publish(text,text,text,text,text)',
     'p_key text, p_channel text, p_content text, p_sender text DEFAULT NULL::text, p_msgid text DEFAULT NULL::text -> bigint'),
    ('push.publish_batch(text,text[],text[],text,text[])',
     'p_key text, p_channels text[], p_contents text[], p_sender text DEFAULT NULL::text, p_msgids text[] DEFAULT NULL::text[] -> TABLE(channel text, seq bigint, duplicate boolean, time_ms bigint)'),
    ('push.publish_app(integer,text,text,text)',
     'p_app_id integer, p_channel text, p_content text, p_sender text DEFAULT NULL::text -> bigint'),
    ('push.channel_open(integer,text[])',
     'p_app_id integer, p_names text[] -> TABLE(name text, channel_id bigint, last_seq bigint, oldest_seq bigint, epoch integer)'),
    ('push.prune(interval,interval)',
     'p_retention interval DEFAULT ''7 days''::interval, p_idle interval DEFAULT ''01:00:00''::interval -> bigint'),
    ('push.reset_channel(integer,text)', 'p_app_id integer, p_channel text -> integer'),
    ('push.mark_read(text,text,text,bigint)', 'p_key text, p_user text, p_channel text, p_seq bigint -> bigint'),
    ('push.presence_touch(integer,text[],text,text,jsonb)',
     'p_app_id integer, p_channels text[], p_client text, p_user text DEFAULT NULL::text, p_info jsonb DEFAULT NULL::jsonb -> void'),
    ('push.presence_leave(integer,text[],text)', 'p_app_id integer, p_channels text[], p_client text -> void'),
    ('push.presence_expire(interval)', 'p_ttl interval DEFAULT ''00:01:00''::interval -> bigint'),
    ('push.here_now(integer,text[],interval)',
     'p_app_id integer, p_channels text[], p_ttl interval DEFAULT ''00:01:00''::interval -> TABLE(channel text, clients integer, users text[], info jsonb)'),
    ('push.token(integer,text,bigint,text)',
     'p_app_id integer, p_channel text, p_expires bigint, p_user text DEFAULT NULL::text -> text')
) AS t(sig, expected);

SELECT columns_are('push', 'message_log',
                   ARRAY['app', 'channel', 'seq', 'content', 'sender', 'user_id', 'is_read', 'created_at']);
SELECT columns_are('push', 'unread', ARRAY['app', 'user_id', 'channel', 'last_seq', 'read_seq', 'unread']);
SELECT columns_are('push', 'channel_stats',
                   ARRAY['app', 'channel', 'last_seq', 'kept', 'oldest_seq', 'newest_at', 'epoch', 'created_at']);
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'push'::regnamespace AND relkind = 'S'
           AND relname LIKE 'message%'), 0, 'messages are numbered per channel, not by a sequence object');

SELECT * FROM finish();
ROLLBACK;
