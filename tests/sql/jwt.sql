-- jwt.sql: push.jwt makes HS256 JWTs (base64url without padding) that match a vector computed
-- outside PostgreSQL (Python's hmac and base64), and refuses bad arguments.
BEGIN;
SELECT plan(10);

SELECT app_id FROM push.app_create('jwt-main') \gset
UPDATE push.app SET secret = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' WHERE id = :app_id;

-- tests/unit/auth.c checks that the C side accepts this very token.
-- The claims are jsonb's text: keys by length, then bytes; ", " and ": " between items.
SELECT is(push.jwt(:app_id, 'alice', '{private-room,chat-*}', '{chat-*}', 1700000000, '{"name":"Alice"}'),
          'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.'
          'eyJleHAiOiAxNzAwMDAwMDAwLCAic3ViIjogImFsaWNlIiwgImluZm8iOiB7Im5hbWUiOiAiQWxpY2UifSwgInB1Ymxpc2giOiBbImNoYXQtKiJdLCAiY2hhbm5lbHMiOiBbInByaXZhdGUtcm9vbSIsICJjaGF0LSoiXX0.'
          'viIi9H_GtIQhs_uXK7vZVCIBehfX5RrbIYAeH82klPQ',
          'JWT for alice, two channels, one publish entry and info');
SELECT is(split_part(push.jwt(:app_id, NULL, NULL, NULL, 1700000000), '.', 2),
          rtrim(translate(encode(convert_to('{"exp": 1700000000}', 'UTF8'), 'base64'), '+/', '-_'), '='),
          'only exp when nothing else is given');
SELECT is(push.base64url('\xfbff'::bytea), '-_8', 'base64url uses - and _ and no padding');
SELECT ok(push.jwt(:app_id, 'bob', ARRAY[repeat('a', 120)], NULL, 1700000000, jsonb_build_object('n', repeat('x', 900)))
          !~ '[=+/\n]', 'a long JWT has no padding, + or / and is one line');

SELECT throws_ok(format($$SELECT push.jwt(%s, 'b o b', NULL, NULL, 1700000000)$$, :app_id), 'PU400',
                 'sub: must be 1-64 bytes of [A-Za-z0-9_.=@-]', 'a bad sub is a 400');
SELECT throws_ok(format($$SELECT push.jwt(%s, NULL, '{a b}', NULL, 1700000000)$$, :app_id), 'PU400',
                 'channels: each must be a channel name, or a prefix ending in *', 'a bad channel is a 400');
SELECT throws_ok(format($$SELECT push.jwt(%s, NULL, NULL, NULL, -1)$$, :app_id), 'PU400',
                 'expires: must be a Unix time in seconds', 'a negative expiry is a 400');
SELECT throws_ok(format($$SELECT push.jwt(%s, NULL, NULL, NULL, 1, jsonb_build_object('n', repeat('x', 1100)))$$, :app_id),
                 'PU400', 'info: must be a JSON object of at most 1024 bytes', 'info over 1 KiB is a 400');
SELECT throws_ok(format($$SELECT push.jwt(%s, NULL, NULL, NULL, 1, '[1]')$$, :app_id),
                 'PU400', 'info: must be a JSON object of at most 1024 bytes', 'info that is not an object is a 400');
SELECT throws_ok($$SELECT push.jwt(-1, NULL, NULL, NULL, 1700000000)$$, 'PU404', 'app: no such app', 'an unknown app is a 404');

SELECT * FROM finish();
ROLLBACK;
