-- app.sql: apps and their keys: creation, hashed storage, lookup by role, and the 400/401/403 rules.
BEGIN;
SELECT plan(45);

SELECT app_id, publish_key, subscribe_key, secret, server_key
FROM push.app_create('app-demo', ARRAY['https://example.com', 'http://localhost:8080'], true, 1000, 5) \gset
SELECT app_id AS other_id, publish_key AS other_publish FROM push.app_create('app-other') \gset

SELECT matches(:'publish_key'::text, '^BC-[0-9a-f]{32}$', 'the publish key is BC- and 16 random bytes in hex');
SELECT matches(:'subscribe_key'::text, '^BS-[0-9a-f]{32}$', 'the subscribe key is BS- and 16 random bytes in hex');
SELECT matches(:'server_key'::text, '^BK-[0-9a-f]{32}$', 'the server key is BK- and 16 random bytes in hex');
SELECT matches(:'secret'::text, '^[0-9a-f]{64}$', 'the secret is 32 random bytes in hex');
SELECT isnt(:'publish_key'::text, :'other_publish'::text, 'two apps get different keys');
SELECT results_eq(format('SELECT role, expires_at IS NULL FROM push.app_key WHERE app_id = %s ORDER BY role', :app_id),
                  $$VALUES ('publish', true), ('server', true), ('subscribe', true)$$,
                  'an app has one current key of each role');
SELECT is((SELECT role FROM push.app_key WHERE hash = sha256(convert_to(:'publish_key', 'UTF8'))), 'publish',
          'the publish key is stored as its SHA-256');
SELECT is((SELECT role FROM push.app_key WHERE hash = sha256(convert_to(:'subscribe_key', 'UTF8'))), 'subscribe',
          'the subscribe key is stored as its SHA-256');
SELECT is((SELECT role FROM push.app_key WHERE hash = sha256(convert_to(:'server_key', 'UTF8'))), 'server',
          'the server key is stored as its SHA-256');
SELECT ok(NOT EXISTS (SELECT 1 FROM push.app a WHERE a::text LIKE '%' || substr(:'publish_key', 4) || '%'
                                                   OR a::text LIKE '%' || substr(:'subscribe_key', 4) || '%'
                                                   OR a::text LIKE '%' || substr(:'server_key', 4) || '%')
          AND NOT EXISTS (SELECT 1 FROM push.app_key k WHERE k::text LIKE '%' || substr(:'server_key', 4) || '%'),
          'no row holds a key in clear');

SELECT results_eq(
    format('SELECT app_id, role, name, secret, origins, client_publish, max_message_bytes, publish_rate FROM push.key_lookup(%L)', :'publish_key'),
    format($$VALUES (%s, 'publish', 'app-demo', %L, ARRAY['https://example.com', 'http://localhost:8080'], true, 1000, 5)$$, :app_id, :'secret'),
    'key_lookup finds the app of a publish key with its settings');
SELECT results_eq(
    format('SELECT app_id, role FROM push.key_lookup(%L)', :'subscribe_key'),
    format($$VALUES (%s, 'subscribe')$$, :app_id),
    'key_lookup gives the subscribe role for the subscribe key');
SELECT results_eq(
    format('SELECT app_id, role, expires FROM push.key_lookup(%L)', :'server_key'),
    format($$VALUES (%s, 'server', NULL::bigint)$$, :app_id),
    'key_lookup gives the server role for the server key, with no planned end');
SELECT is_empty($$SELECT * FROM push.key_lookup('BC-00000000000000000000000000000000')$$, 'key_lookup: no row for an unknown key');
SELECT is_empty($$SELECT * FROM push.key_lookup(NULL)$$, 'key_lookup: no row for NULL');
SELECT is_empty(format('SELECT * FROM push.key_lookup(%L)', upper(:'publish_key')), 'key_lookup: keys are case-sensitive');
SELECT results_eq($$SELECT origins, client_publish, max_message_bytes, publish_rate, claimed_users FROM push.app WHERE name = 'app-other'$$,
                  $$VALUES ('{}'::text[], false, 65536, 0, false)$$,
                  'defaults: any origin, no client publish, 64 KiB messages, no rate limit, no claimed users');
SELECT subscribe_key AS claims_key FROM push.app_create('app-claims', '{}', false, 65536, 0, true) \gset
SELECT is((SELECT claimed_users FROM push.key_lookup(:'claims_key')), true,
          'an app that takes claimed users says so in key_lookup');

SELECT throws_ok($$SELECT * FROM push.app_create('app-demo')$$, 'PU400', 'name: an app named app-demo exists',
                 'a duplicate app name is a 400');
SELECT throws_ok($$SELECT * FROM push.app_create('')$$, 'PU400', NULL, 'an empty app name is a 400');
SELECT throws_ok($$SELECT * FROM push.app_create(' padded ')$$, 'PU400', NULL, 'an app name with surrounding spaces is a 400');
SELECT throws_ok($$SELECT * FROM push.app_create('x', ARRAY['example.com'])$$, 'PU400',
                 'origins: example.com is not an origin like https://example.com', 'an origin without a scheme is a 400');
SELECT throws_ok($$SELECT * FROM push.app_create('x', ARRAY['https://example.com/'])$$, 'PU400', NULL,
                 'an origin with a path is a 400');
SELECT throws_ok($$SELECT * FROM push.app_create('x', '{}', false, 0)$$, 'PU400', 'max_message_bytes: must be 1 or more',
                 'a zero message limit is a 400');
SELECT throws_ok($$SELECT * FROM push.app_create('x', '{}', false, 100, -1)$$, 'PU400',
                 'publish_rate: must be 0 (unlimited) or more', 'a negative rate is a 400');

-- Key roles, in the order the checks run: present, known, allowed.
SELECT throws_ok($$SELECT push.publish(NULL, 'news', 'hi')$$, 'PU400', 'appkey: missing', 'publish without a key is a 400');
SELECT throws_ok($$SELECT push.publish('BC-00000000000000000000000000000000', 'news', 'hi')$$, 'PU401',
                 'appkey: unknown key', 'publish with an unknown key is a 401');
SELECT throws_ok(format('SELECT push.publish(%L, %L, %L)', :'subscribe_key', 'news', 'hi'), 'PU403',
                 'appkey: the subscribe key cannot publish', 'publish with the subscribe key is a 403');
SELECT throws_ok(format('SELECT push.publish(%L, %L, NULL)', :'subscribe_key', 'bad channel'), 'PU403', NULL,
                 'the key role is checked before the message');
SELECT throws_ok(format($$SELECT * FROM push.publish_batch(%L, '{news}', '{hi}')$$, :'subscribe_key'), 'PU403',
                 'appkey: the subscribe key cannot publish', 'publish_batch with the subscribe key is a 403');
SELECT lives_ok(format('SELECT push.publish(%L, %L, %L)', :'publish_key', 'news', 'hi'), 'publish with the publish key works');
SELECT lives_ok(format('SELECT push.publish(%L, %L, %L)', :'server_key', 'news', 'hi'), 'publish with the server key works');
SELECT is((SELECT count(*)::int FROM push.channel WHERE app_id = :other_id), 0, 'an app sees only its own channels');

-- Rotation: new keys at once, the old ones until the end of the overlap, then refused.
SELECT key AS new_publish, old_expires_at FROM push.key_rotate('app-demo', '{publish}', '1 hour') \gset
SELECT matches(:'new_publish'::text, '^BC-[0-9a-f]{32}$', 'key_rotate returns a new publish key');
SELECT is((SELECT role FROM push.key_lookup(:'new_publish')), 'publish', 'the new key works at once');
SELECT results_eq(format('SELECT role, expires = floor(extract(epoch FROM %L::timestamptz))::bigint FROM push.key_lookup(%L)',
                         :'old_expires_at', :'publish_key'),
                  $$VALUES ('publish', true)$$, 'the old key works until the end of the overlap, and says when');
SELECT is((SELECT role FROM push.key_lookup(:'subscribe_key')), 'subscribe', 'roles not named keep their key');
UPDATE push.app_key SET expires_at = now() - interval '1 second' WHERE hash = sha256(convert_to(:'publish_key', 'UTF8'));
SELECT is_empty(format('SELECT * FROM push.key_lookup(%L)', :'publish_key'), 'after the overlap the old key is unknown');
SELECT throws_ok(format('SELECT push.publish(%L, %L, %L)', :'publish_key', 'news', 'hi'), 'PU401',
                 'appkey: unknown key', 'and publishing with it is a 401');
SELECT is((SELECT count(*)::int FROM push.key_rotate('app-demo', '{server}', '0')), 1, 'a rotation with no overlap');
SELECT is_empty(format('SELECT * FROM push.key_lookup(%L)', :'server_key'), 'stops the old key at once');
SELECT is((SELECT count(*)::int FROM push.app_key WHERE app_id = :app_id AND expires_at <= now()), 1,
          'ended keys stay until the next rotation');
SELECT is((SELECT count(*)::int FROM push.key_rotate('app-demo')), 3, 'a rotation of every role replaces three keys');
SELECT throws_ok($$SELECT * FROM push.key_rotate('app-demo', '{owner}')$$, 'PU400',
                 'role: must be subscribe, publish or server', 'an unknown role is a 400');
SELECT throws_ok($$SELECT * FROM push.key_rotate('no-such-app')$$, 'PU404', 'app: no app named no-such-app',
                 'rotating the keys of an unknown app is a 404');

SELECT * FROM finish();
ROLLBACK;
