-- kick.sql: push.user_kick records when a user of an app was kicked (the later time wins),
-- tells every program through NOTIFY push_kick, and refuses bad arguments.
BEGIN;
SELECT plan(11);

SELECT app_id FROM push.app_create('kick-main') \gset
SELECT app_id AS other_id FROM push.app_create('kick-other') \gset

SELECT push.user_kick('kick-main', 'alice') AS first_ms \gset
SELECT ok(:first_ms BETWEEN floor(extract(epoch FROM clock_timestamp() - interval '1 minute') * 1000)
                        AND floor(extract(epoch FROM clock_timestamp()) * 1000),
          'user_kick returns the time of the kick in Unix milliseconds');
SELECT results_eq(format('SELECT user_id, kicked_ms FROM push.user_kicks() WHERE app_id = %s', :app_id),
                  format('VALUES (%L, %s::bigint)', 'alice', :first_ms),
                  'user_kicks lists the kick');
SELECT pg_sleep(0.01) AS slept \gset
SELECT ok(push.user_kick('kick-main', 'alice') > :first_ms, 'kicking again moves the time on');
SELECT is((SELECT count(*)::int FROM push.user_kick WHERE app_id = :app_id), 1, 'one row per app and user');
UPDATE push.user_kick SET kicked_ms = kicked_ms + 3600000 WHERE app_id = :app_id;
SELECT is(push.user_kick('kick-main', 'alice'), (SELECT kicked_ms FROM push.user_kick WHERE app_id = :app_id),
          'a kick never moves the time back');
SELECT is_empty(format('SELECT 1 FROM push.user_kicks() WHERE app_id = %s', :other_id), 'another app is untouched');

SELECT throws_ok($$SELECT push.user_kick('kick-main', 'a b')$$, 'PU400',
                 'user: must be 1-64 bytes of letters, digits and _.=@- (UTF-8)', 'a bad user id is a 400');
SELECT throws_ok($$SELECT push.user_kick('kick-main', NULL)$$, 'PU400',
                 'user: must be 1-64 bytes of letters, digits and _.=@- (UTF-8)', 'no user is a 400');
SELECT throws_ok($$SELECT push.user_kick('kick-nowhere', 'alice')$$, 'PU404', 'app: no app named kick-nowhere',
                 'an unknown app is a 404');

SELECT push.app_delete('kick-main') AS deleted \gset
SELECT is_empty(format('SELECT 1 FROM push.user_kick WHERE app_id = %s', :app_id), 'deleting the app drops its kicks');
SELECT ok(NOT has_function_privilege('push_service', 'push.user_kick(text, text)', 'EXECUTE'),
          'kicking is the operator''s: push_service may not');

SELECT * FROM finish();
ROLLBACK;
