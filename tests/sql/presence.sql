-- presence.sql: presence_touch, here_now (clients and distinct users within the TTL), presence_leave and expiry.
BEGIN;
SELECT plan(24);

SELECT app_id FROM push.app_create('presence-main') \gset
SELECT app_id AS other_id FROM push.app_create('presence-other') \gset

-- Two tabs of alice, one of bob, one anonymous client.
SELECT lives_ok(format($$SELECT push.presence_touch(%s, '{lobby,room}', 'tab1', 'alice')$$, :app_id), 'alice''s first tab joins lobby and room');
SELECT lives_ok(format($$SELECT push.presence_touch(%s, '{lobby}', 'tab2', 'alice')$$, :app_id), 'alice''s second tab joins lobby');
SELECT lives_ok(format($$SELECT push.presence_touch(%s, '{lobby}', 'tab3', 'bob')$$, :app_id), 'bob joins lobby');
SELECT lives_ok(format($$SELECT push.presence_touch(%s, '{lobby}', 'tab4')$$, :app_id), 'an anonymous client joins lobby');
SELECT lives_ok(format($$SELECT push.presence_touch(%s, '{lobby}', 'tab9', 'zed')$$, :other_id), 'another app''s client joins its lobby');

SELECT results_eq(format($$SELECT channel, clients, users FROM push.here_now(%s, '{room,lobby,empty,lobby}')$$, :app_id),
                  $$VALUES ('room', 1, '{alice}'::text[]), ('lobby', 4, '{alice,bob}'::text[]), ('empty', 0, '{}'::text[])$$,
                  'here_now: one row per asked channel in order, clients counted, users distinct and sorted');
SELECT results_eq(format($$SELECT name, last_seq FROM push.channel_open(%s, '{lobby,room}')$$, :app_id),
                  $$VALUES ('lobby', 0::bigint), ('room', 0::bigint)$$,
                  'presence_touch creates missing channels at seq 0');
SELECT is((SELECT count(*)::int FROM push.channel WHERE app_id = :app_id AND name = 'empty'), 0,
          'here_now creates no channel');
SELECT results_eq(format($$SELECT channel, clients, users FROM push.here_now(%s, '{lobby}')$$, :other_id),
                  $$VALUES ('lobby', 1, '{zed}'::text[])$$, 'presence is per app');

-- The TTL: bob was last seen two minutes ago.
UPDATE push.presence SET seen_at = now() - interval '2 minutes' WHERE app_id = :app_id AND client_id = 'tab3';
SELECT results_eq(format($$SELECT clients, users FROM push.here_now(%s, '{lobby}')$$, :app_id),
                  $$VALUES (3, '{alice}'::text[])$$, 'a client not seen within 60 seconds is offline');
SELECT results_eq(format($$SELECT clients, users FROM push.here_now(%s, '{lobby}', interval '5 minutes')$$, :app_id),
                  $$VALUES (4, '{alice,bob}'::text[])$$, 'a longer TTL counts it again');
SELECT lives_ok(format($$SELECT push.presence_touch(%s, '{lobby}', 'tab3', 'bob')$$, :app_id), 'bob is seen again');
SELECT results_eq(format($$SELECT clients, users FROM push.here_now(%s, '{lobby}')$$, :app_id),
                  $$VALUES (4, '{alice,bob}'::text[])$$, 'touching refreshes a client');

-- Leaving and expiry.
SELECT lives_ok(format($$SELECT push.presence_leave(%s, '{lobby}', 'tab1')$$, :app_id), 'alice''s first tab leaves lobby');
SELECT results_eq(format($$SELECT channel, clients, users FROM push.here_now(%s, '{lobby,room}')$$, :app_id),
                  $$VALUES ('lobby', 3, '{alice,bob}'::text[]), ('room', 1, '{alice}'::text[])$$,
                  'leaving one channel keeps the others; alice is still in lobby with her second tab');
SELECT lives_ok(format($$SELECT push.presence_leave(%s, NULL, 'tab1')$$, :app_id), 'leaving NULL leaves every channel');
UPDATE push.presence SET seen_at = now() - interval '2 minutes' WHERE app_id = :app_id AND client_id = 'tab4';
SELECT cmp_ok(push.presence_expire(), '>=', 1::bigint, 'presence_expire deletes rows older than the TTL');
SELECT results_eq(format($$SELECT client_id FROM push.presence WHERE app_id = %s ORDER BY client_id$$, :app_id),
                  $$VALUES ('tab2'), ('tab3')$$, '... and keeps the live ones');
SELECT throws_ok(format($$SELECT push.presence_touch(%s, '{lobby}', 'bad client')$$, :app_id), 'PU400',
                 'client: must be 1-64 bytes of letters, digits and _.=@- (UTF-8)', 'a bad client id is a 400');
SELECT throws_ok(format($$SELECT push.here_now(%s, '{lobby,"a b"}')$$, :app_id), 'PU400',
                 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]', 'here_now of a bad channel name is a 400');

-- A token's info claim travels with the presence of its user (013_presence_info.sql).
SELECT lives_ok(format($$SELECT push.presence_touch(%s, '{hall}', 'tab5', 'carol', '{"name": "Carol"}')$$, :app_id),
                'carol joins hall with her token''s info');
SELECT lives_ok(format($$SELECT push.presence_touch(%s, '{hall}', 'tab6', 'dave')$$, :app_id), 'dave joins without any');
SELECT results_eq(format($$SELECT users, info FROM push.here_now(%s, '{hall}')$$, :app_id),
                  $$VALUES ('{carol,dave}'::text[], '{"carol": {"name": "Carol"}}'::jsonb)$$,
                  'here_now: the info of the users who have one');
SELECT throws_ok(format($$SELECT push.presence_touch(%s, '{hall}', 'tab7', 'erin', '[1]')$$, :app_id), 'PU400',
                 'info: must be a JSON object of at most 1 KiB', 'info that is not an object is a 400');

SELECT * FROM finish();
ROLLBACK;
