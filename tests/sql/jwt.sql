-- jwt.sql: push.jwt makes HS256 JWTs (base64url without padding) that match a vector computed
-- outside PostgreSQL (Python's hmac and base64), and refuses bad arguments.
BEGIN;
SELECT plan(13);

SELECT app_id FROM push.app_create('jwt-main') \gset
UPDATE push.app SET secret = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' WHERE id = :app_id;

-- pg_temp.claims(jwt): a JWT's claims as jsonb, without iat (the time it was made).
CREATE FUNCTION pg_temp.claims(p_jwt text) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT convert_from(decode(rpad(translate(split_part(p_jwt, '.', 2), '-_', '+/'),
                                    (length(split_part(p_jwt, '.', 2)) + 3) / 4 * 4, '='), 'base64'), 'UTF8')::jsonb
$$;

-- tests/unit/auth.c checks that the C side accepts this token's form (made before iat was added:
-- the same claims and signature with the secret, computed with Python's hmac and base64).
SELECT clock_timestamp() AS before \gset
SELECT push.jwt(:app_id, 'alice', '{private-room,chat-*}', '{chat-*}', 1700000000, '{"name":"Alice"}') AS alice_jwt \gset
SELECT clock_timestamp() AS after \gset
SELECT is(pg_temp.claims(:'alice_jwt') - 'iat',
          '{"exp": 1700000000, "sub": "alice", "info": {"name": "Alice"}, "publish": ["chat-*"], "channels": ["private-room", "chat-*"]}'::jsonb,
          'JWT for alice, two channels, one publish entry and info');
SELECT ok((pg_temp.claims(:'alice_jwt') ->> 'iat')::numeric BETWEEN floor(extract(epoch FROM :'before'::timestamptz) * 1000) / 1000
                                                                AND extract(epoch FROM :'after'::timestamptz),
          'iat: when it was made, in seconds with milliseconds');
SELECT is(split_part(:'alice_jwt', '.', 3),
          push.base64url(decode(push.hmac_sha256_hex(split_part(:'alice_jwt', '.', 1) || '.' || split_part(:'alice_jwt', '.', 2),
                                                     '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'), 'hex')),
          'signed with the app secret over header.claims');
SELECT is(split_part(:'alice_jwt', '.', 1), 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', 'the HS256 header');
SELECT is(pg_temp.claims(push.jwt(:app_id, NULL, NULL, NULL, 1700000000)) - 'iat', '{"exp": 1700000000}'::jsonb,
          'only exp (and iat) when nothing else is given');
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
