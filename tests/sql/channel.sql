-- channel.sql: channel names (1-128 bytes of letters, digits and _.=@/-) and channel_open's heads.
BEGIN;
SELECT plan(35);

SELECT app_id, publish_key FROM push.app_create('channel-main') \gset

SELECT is(push.channel_valid(name), valid,
          format('channel name %s: %s', coalesce(why, 'NULL'), CASE WHEN valid THEN 'valid' ELSE 'invalid' END))
FROM (VALUES
    ('news', true, 'news'),
    ('a', true, 'one byte'),
    ('AZaz09_.=@/-', true, 'every allowed punctuation'),
    ('user-alice', true, 'user-alice'),
    ('private-room.7', true, 'private-room.7'),
    (repeat('x', 128), true, '128 bytes'),
    (repeat('x', 129), false, '129 bytes'),
    ('', false, 'empty'),
    (NULL, false, NULL),
    ('a b', false, 'a space'),
    ('a,b', false, 'a comma (the cursor separator)'),
    ('a:b', false, 'a colon (the cursor separator)'),
    ('caf' || chr(233), true, 'a non-ASCII letter (tests/sql/names.sql has the rest)'),
    (E'news\n', false, 'a trailing newline'),
    (E'\tnews', false, 'a tab'),
    ('news*', false, 'a star'),
    ('news#1', false, 'a hash'),
    ('%41', false, 'a percent sign'),
    ('a+b', false, 'a plus sign')
) AS t(name, valid, why);

SELECT throws_ok(format('SELECT push.publish(%L, %L, %L)', :'publish_key', name, 'hi'), 'PU400',
                 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]', format('publish to %s is a 400', why))
FROM (VALUES ('', 'an empty channel'), ('a b', 'a channel with a space'), (repeat('x', 129), 'a 129-byte channel'))
     AS t(name, why);
SELECT throws_ok(format('SELECT push.publish(%L, NULL, %L)', :'publish_key', 'hi'), 'PU400',
                 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]', 'publish without a channel is a 400');

SELECT lives_ok(format('SELECT push.publish(%L, %L, %L)', :'publish_key', 'news', 'm' || i), 'publish news ' || i)
FROM generate_series(1, 3) i;

SELECT results_eq(
    format($$SELECT name, last_seq, oldest_seq, epoch FROM push.channel_open(%s, '{news,fresh,news,lobby}')$$, :app_id),
    $$VALUES ('news', 3::bigint, 1::bigint, 1), ('fresh', 0, NULL, 1), ('lobby', 0, NULL, 1)$$,
    'channel_open: heads in input order, duplicates once, missing channels created at seq 0');
SELECT results_eq(
    format($$SELECT channel_id FROM push.channel_open(%s, '{news}')$$, :app_id),
    format($$SELECT id FROM push.channel WHERE app_id = %s AND name = 'news'$$, :app_id),
    'channel_open gives the channel id');
SELECT is((SELECT last_seq FROM push.channel WHERE app_id = :app_id AND name = 'news'), 3::bigint,
          'channel_open does not bump an existing channel');
SELECT is((SELECT count(*)::int FROM push.message m JOIN push.channel c ON c.id = m.channel_id
           WHERE c.app_id = :app_id AND c.name = 'fresh'), 0, 'a channel made by channel_open has no messages');
SELECT is(push.publish(:'publish_key', 'fresh', 'first'), 1::bigint, 'the first publish on an opened channel is seq 1');
SELECT is_empty(format($$SELECT * FROM push.channel_open(%s, '{}')$$, :app_id), 'channel_open of no names is empty');
SAVEPOINT read_only;
SET TRANSACTION READ ONLY;
SELECT results_eq(format($$SELECT name, last_seq FROM push.channel_open(%s, '{fresh,news}')$$, :app_id),
                  $$VALUES ('fresh', 1::bigint), ('news', 3::bigint)$$,
                  'opening known channels writes nothing (works read-only)');
ROLLBACK TO SAVEPOINT read_only;
SELECT throws_ok(format($$SELECT * FROM push.channel_open(%s, '{news,"bad name"}')$$, :app_id), 'PU400',
                 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]', 'channel_open rejects a bad name');
SELECT is((SELECT count(*)::int FROM push.channel WHERE app_id = :app_id), 3,
          'a rejected channel_open creates nothing');

SELECT * FROM finish();
ROLLBACK;
