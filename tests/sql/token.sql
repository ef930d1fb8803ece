-- token.sql: push.token matches HMAC-SHA256 vectors computed outside PostgreSQL (openssl dgst -sha256 -hmac).
BEGIN;
SELECT plan(11);

SELECT app_id FROM push.app_create('token-main') \gset
SELECT app_id AS fresh_id FROM push.app_create('token-fresh') \gset
-- The secret is used as its text: these 64 hex digits are the HMAC key.
UPDATE push.app SET secret = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' WHERE id = :app_id;

-- Expected values: printf '%s' 'private-room:1700000000' | openssl dgst -sha256 -hmac 000102...1e1f
SELECT is(push.token(:app_id, 'private-room', 1700000000),
          'a34d595f4ea9e929722c082d6bc42244f8ab8095825a5b17b4510e8306c2c5b6:1700000000',
          'token for "private-room:1700000000"');
SELECT is(push.token(:app_id, 'user-alice', 1700000000, 'alice'),
          '9445f1c1a2ddd5ab6e47d85980d440f759046e00d0e2ea3cd86bb94a34f47a85:1700000000',
          'token for "user-alice:1700000000:alice"');
SELECT is(push.token(:app_id, 'user-alice', 1700000000),
          '9445f1c1a2ddd5ab6e47d85980d440f759046e00d0e2ea3cd86bb94a34f47a85:1700000000',
          'a user-<id> channel''s token is made for user <id> when no user is given');
SELECT is(push.token(:app_id, 'news', 2000000000, 'bob'),
          '687cf755ce05138f65b4bd23aa4dd677300bdd68840fde635c911c9ce797c3e3:2000000000',
          'token for "news:2000000000:bob"');
SELECT matches(push.token(:fresh_id, 'private-x', 1700000000), '^[0-9a-f]{64}:1700000000$',
               'a token is 64 hex digits, a colon and the expiry');
SELECT isnt(push.token(:fresh_id, 'private-room', 1700000000), push.token(:app_id, 'private-room', 1700000000),
            'apps with different secrets make different tokens');

SELECT throws_ok(format($$SELECT push.token(%s, 'user-alice', 1700000000, 'bob')$$, :app_id), 'PU400',
                 'user: a token for user-alice must be made for user alice', 'a user channel''s token for someone else is a 400');
SELECT throws_ok(format($$SELECT push.token(%s, 'news', 1700000000, 'b o b')$$, :app_id), 'PU400',
                 'user: must be 1-64 bytes of [A-Za-z0-9_.=@-]', 'a bad user is a 400');
SELECT throws_ok(format($$SELECT push.token(%s, 'a b', 1700000000)$$, :app_id), 'PU400',
                 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]', 'a bad channel is a 400');
SELECT throws_ok(format($$SELECT push.token(%s, 'news', -1)$$, :app_id), 'PU400',
                 'expires: must be a Unix time in seconds', 'a negative expiry is a 400');
SELECT throws_ok($$SELECT push.token(-1, 'news', 1700000000)$$, 'PU404', 'app: no such app', 'an unknown app is a 404');

SELECT * FROM finish();
ROLLBACK;
