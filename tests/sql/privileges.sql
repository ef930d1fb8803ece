-- privileges.sql: the programs' role push_service (and its login push_web) may run the functions the
-- programs call and nothing else: no table, no view, no COPY to or from a program, no CREATE.
BEGIN;
SELECT plan(59);

SELECT app_id, publish_key, subscribe_key, secret FROM push.app_create('privileges-main') \gset

-- as_web(sql): runs sql as push_web; the first column of its first row as text ('NULL' when none),
-- or 'ERROR <sqlstate>'. The role is switched inside, so that pgTAP itself keeps its own.
CREATE FUNCTION pg_temp.as_web(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_result text;
BEGIN
    SET LOCAL ROLE push_web;
    BEGIN
        EXECUTE p_sql INTO v_result;
    EXCEPTION WHEN OTHERS THEN
        RESET ROLE;
        RETURN 'ERROR ' || SQLSTATE;
    END;
    RESET ROLE;
    RETURN coalesce(v_result, 'NULL');
END $$;

-- The roles.
SELECT results_eq($$SELECT rolsuper, rolcanlogin, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication
                    FROM pg_roles WHERE rolname = 'push_service'$$,
                  $$VALUES (false, false, false, false, false, false)$$,
                  'push_service is a group: no login, not a superuser, creates no role or database');
SELECT results_eq($$SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication
                    FROM pg_roles WHERE rolname = 'push_web'$$,
                  $$VALUES (false, false, false, false, false)$$,
                  'push_web (the programs'' login) is no superuser either');
SELECT ok(pg_has_role('push_web', 'push_service', 'USAGE'), 'push_web has push_service''s privileges');
SELECT is_empty($$SELECT r FROM unnest(ARRAY['pg_execute_server_program', 'pg_read_server_files',
                    'pg_write_server_files', 'pg_read_all_data', 'pg_write_all_data', 'pg_signal_backend']) r
                  WHERE pg_has_role('push_web', r, 'USAGE')$$,
                'push_web has no predefined role that reaches files, programs, all data or other backends');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE oid = (SELECT nspowner FROM pg_namespace WHERE nspname = 'push')),
          'the schema owner is not a superuser');

-- Exactly the functions the programs call, each run as the schema owner with a fixed search_path.
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
      WHERE p.pronamespace = 'push'::regnamespace AND has_function_privilege('push_service', p.oid, 'EXECUTE')$$,
    ARRAY['push.key_lookup(text)', 'push.publish(text,text,text,text,text)', 'push.publish_batch(text,text[],text[],text,text[])',
          'push.channel_open(integer,text[])', 'push.mark_read(text,text,text,bigint)',
          'push.presence_touch(integer,text[],text,text,jsonb)', 'push.presence_leave(integer,text[],text)',
          'push.here_now(integer,text[],interval)', 'push.message_after(bigint,bigint,integer)',
          'push.message_history(integer,text,bigint,bigint,integer)', 'push.catch_up(bigint[],bigint[],integer)',
          'push.channel_head(bigint)', 'push.unread_of(text,text)', 'push.schema_version_current()',
          'push.publish_group(text[],text[],text[],text[],text[])',
          'push.mark_read_each(text,text,text,bigint[])', 'push.user_kicks()'],
    'push_service may execute exactly the functions push-api, push-poll and push-ws call');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'push' AND has_function_privilege('push_service', p.oid, 'EXECUTE')
        AND NOT (p.prosecdef AND p.proowner = n.nspowner
                 AND 'search_path=pg_catalog, push, pg_temp' = ANY (p.proconfig))$$,
    'each of them is SECURITY DEFINER, owned by the schema owner, with search_path pg_catalog, push, pg_temp');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_proc p
      WHERE p.pronamespace = 'push'::regnamespace AND p.proacl IS NULL$$,
    'no push function keeps the default EXECUTE for PUBLIC');
SELECT is_empty(
    $$SELECT c.oid::regclass FROM pg_class c
      WHERE c.relnamespace = 'push'::regnamespace
        AND CASE WHEN c.relkind IN ('r', 'v', 'm', 'p', 'f') THEN (has_table_privilege('push_service', c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')
             OR has_any_column_privilege('push_service', c.oid, 'SELECT,INSERT,UPDATE,REFERENCES')) END$$,
    'push_service has no privilege on any table or view of push, nor on any column');
SELECT is_empty(
    $$SELECT c.oid::regclass FROM pg_class c
      WHERE c.relnamespace = 'push'::regnamespace
        AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege('push_service', c.oid, 'USAGE,SELECT,UPDATE') END$$,
    'push_service has no privilege on any sequence of push');

-- Reading and writing the tables directly fails.
SELECT is(pg_temp.as_web('SELECT secret FROM push.app LIMIT 1'), 'ERROR 42501', 'push_web cannot read push.app.secret');
SELECT is(pg_temp.as_web('SELECT count(*) FROM push.app'), 'ERROR 42501', 'push_web cannot read push.app at all');
SELECT is(pg_temp.as_web('SELECT content FROM push.message LIMIT 1'), 'ERROR 42501', 'push_web cannot read push.message');
SELECT is(pg_temp.as_web($$INSERT INTO push.message (channel_id, seq, content) VALUES (1, 1000, 'x') RETURNING seq$$),
          'ERROR 42501', 'push_web cannot insert into push.message');
SELECT is(pg_temp.as_web('DELETE FROM push.message RETURNING seq'), 'ERROR 42501', 'push_web cannot delete from push.message');
SELECT is(pg_temp.as_web('SELECT last_seq FROM push.channel LIMIT 1'), 'ERROR 42501', 'push_web cannot read push.channel');
SELECT is(pg_temp.as_web('UPDATE push.channel SET last_seq = 0 RETURNING id'), 'ERROR 42501',
          'push_web cannot update push.channel');
SELECT is(pg_temp.as_web($$INSERT INTO push.channel (app_id, name) VALUES (1, 'x') RETURNING id$$), 'ERROR 42501',
          'push_web cannot insert into push.channel');
SELECT is(pg_temp.as_web('SELECT content FROM push.message_log LIMIT 1'), 'ERROR 42501', 'push_web cannot read push.message_log');
SELECT is(pg_temp.as_web('SELECT unread FROM push.unread LIMIT 1'), 'ERROR 42501', 'push_web cannot read push.unread');
SELECT is(pg_temp.as_web('SELECT version FROM push.schema_version LIMIT 1'), 'ERROR 42501',
          'push_web cannot read push.schema_version');
SELECT is(pg_temp.as_web('SELECT user_id FROM push.user_kick LIMIT 1'), 'ERROR 42501', 'push_web cannot read push.user_kick');
SELECT is(pg_temp.as_web('DELETE FROM push.user_kick RETURNING user_id'), 'ERROR 42501',
          'push_web cannot lift a kick by deleting it');

-- No programs, no server files, no CREATE anywhere.
SELECT is(pg_temp.as_web($$COPY (SELECT 1) TO PROGRAM 'true'$$), 'ERROR 42501', 'push_web cannot COPY ... TO PROGRAM');
SELECT is(pg_temp.as_web($$COPY push.channel FROM PROGRAM 'true'$$), 'ERROR 42501', 'push_web cannot COPY ... FROM PROGRAM');
SELECT is(pg_temp.as_web($$COPY (SELECT 1) TO '/tmp/push-privileges-test'$$), 'ERROR 42501', 'push_web cannot COPY to a file');
SELECT is(pg_temp.as_web($$SELECT pg_read_file('PG_VERSION')$$), 'ERROR 42501', 'push_web cannot read server files');
SELECT is(pg_temp.as_web('CREATE TABLE push.intruder (x int)'), 'ERROR 42501', 'push_web cannot CREATE in schema push');
SELECT is(pg_temp.as_web('CREATE FUNCTION push.intruder() RETURNS int LANGUAGE sql RETURN 1'), 'ERROR 42501',
          'push_web cannot create a function in schema push');
SELECT is(pg_temp.as_web('CREATE TABLE public.intruder (x int)'), 'ERROR 42501', 'push_web cannot CREATE in schema public');
SELECT is(pg_temp.as_web('CREATE TEMP TABLE intruder (x int)'), 'ERROR 42501', 'push_web cannot create temporary tables');
SELECT is(pg_temp.as_web('CREATE SCHEMA intruder'), 'ERROR 42501', 'push_web cannot create a schema');

-- The functions push_service may not run.
SELECT is(pg_temp.as_web($$SELECT app_id FROM push.app_create('privileges-intruder')$$), 'ERROR 42501',
          'push_web cannot create an app');
SELECT is(pg_temp.as_web(format($$SELECT push.token(%s, 'private-x', 1)$$, :app_id)), 'ERROR 42501',
          'push_web cannot make tokens in SQL');
SELECT is(pg_temp.as_web(format($$SELECT push.publish_app(%s, 'news', 'unchecked')$$, :app_id)), 'ERROR 42501',
          'push_web cannot publish around the key check');
SELECT is(pg_temp.as_web($$SELECT push.prune('0 seconds')$$), 'ERROR 42501', 'push_web cannot prune');
SELECT is(pg_temp.as_web($$SELECT push.user_kick('privileges-main', 'alice')$$), 'ERROR 42501',
          'push_web cannot kick a user (the operator does, with pushctl kick)');

-- Every function the programs use runs for push_web, as the programs call it.
SELECT is(pg_temp.as_web(format('SELECT secret FROM push.key_lookup(%L)', :'subscribe_key')), :'secret',
          'key_lookup gives push_web the app''s secret (tokens are checked in the programs)');
SELECT is(pg_temp.as_web(format($$SELECT push.publish(%L, 'news', 'one', NULL)$$, :'publish_key')), '1', 'publish');
SELECT is(pg_temp.as_web(format($$SELECT string_agg(channel || ':' || seq, ',') FROM push.publish_batch(%L,
                                   '{news,user-alice}', '{two,hi}', NULL)$$, :'publish_key')),
          'news:2,user-alice:1', 'publish_batch');
SELECT channel_id AS news_id FROM push.channel_open(:app_id, '{news}') \gset
SELECT is(pg_temp.as_web(format($$SELECT string_agg(name || ':' || last_seq, ',') FROM push.channel_open(%s, '{news,fresh}')$$,
                                :app_id)),
          'news:2,fresh:0', 'channel_open');
SELECT is(pg_temp.as_web(format('SELECT string_agg(content, '','') FROM push.message_after(%s, 0, 10)', :news_id)),
          'one,two', 'message_after (the poller''s fetch and the sidecar''s catch-up)');
SELECT is(pg_temp.as_web(format($$SELECT string_agg(last_seq || ':' || seq || ':' || content, ',')
                                   FROM push.message_history(%s, 'news', NULL, NULL, 20)$$, :app_id)),
          '2:1:one,2:2:two', 'message_history');
SELECT is(pg_temp.as_web(format($$SELECT string_agg(i || ':' || seq, ',')
                                   FROM push.catch_up(ARRAY[%s]::bigint[], '{1}', 10)$$, :news_id)),
          '1:2', 'catch_up (push-poll)');
SELECT is(pg_temp.as_web(format('SELECT last_seq FROM push.channel_head(%s)', :news_id)), '2', 'channel_head');
SELECT is(pg_temp.as_web(format($$SELECT push.mark_read(%L, 'alice', 'user-alice', 1)$$, :'publish_key')), '1', 'mark_read');
SELECT is(pg_temp.as_web($$SELECT string_agg(channel || ':' || unread, ',') FROM push.unread_of('privileges-main', 'alice')$$),
          'user-alice:0', 'unread_of');
SELECT is(pg_temp.as_web(format($$SELECT count(*) FROM (SELECT push.presence_touch(%s, '{news}', 'tab-1', 'alice')) t$$,
                                :app_id)),
          '1', 'presence_touch');
SELECT is(pg_temp.as_web(format($$SELECT clients || ':' || users::text FROM push.here_now(%s, '{news}', '60 seconds')$$,
                                :app_id)),
          '1:{alice}', 'here_now');
SELECT is(pg_temp.as_web(format($$SELECT count(*) FROM (SELECT push.presence_leave(%s, NULL, 'tab-1')) t$$, :app_id)),
          '1', 'presence_leave');
SELECT is(pg_temp.as_web('SELECT push.schema_version_current() >= 6'), 'true', 'schema_version_current (/push/status)');
SELECT ok(push.user_kick('privileges-main', 'carol') > 0, 'the schema owner kicks carol');
SELECT is(pg_temp.as_web(format('SELECT user_id FROM push.user_kicks() WHERE app_id = %s', :app_id)), 'carol',
          'user_kicks (the programs'' cache of kicks)');

-- A caller's temporary objects cannot stand in for push's (the functions' search_path is fixed).
SELECT is((SELECT count(*)::int FROM pg_proc p WHERE p.pronamespace = 'push'::regnamespace AND p.prosecdef
           AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%')), 0,
          'no SECURITY DEFINER function of push runs without a fixed search_path');

-- The schema owner has what migrations and pushctl need, and the service role has nothing of it.
SELECT ok(has_schema_privilege((SELECT nspowner FROM pg_namespace WHERE nspname = 'push'), 'push', 'CREATE'),
          'the schema owner may create in push (migrations)');
SELECT ok(NOT has_schema_privilege('push_service', 'push', 'CREATE') AND has_schema_privilege('push_service', 'push', 'USAGE'),
          'push_service may use schema push but not create in it');
SELECT ok(NOT has_database_privilege('push_service', current_database(), 'CREATE,TEMPORARY'),
          'push_service may create neither schemas nor temporary tables in the database');
SELECT is(pg_temp.as_web('SELECT current_user'), 'push_web', 'the probes above ran as push_web');
SELECT is(current_user::text, 'postgres', 'and the test is back to its own role');

SELECT * FROM finish();
ROLLBACK;
