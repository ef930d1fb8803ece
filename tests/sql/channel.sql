-- channel.sql: channel names (1-128 bytes of letters, digits and _.=@/-), channel_open's heads (no row made by reading), pruning idle channels and a deleted channel's messages going with it.
BEGIN;
SELECT plan(55);

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
    'channel_open: heads in input order, duplicates once, unknown channels at seq 0');
SELECT results_eq(
    format($$SELECT channel_id FROM push.channel_open(%s, '{news}')$$, :app_id),
    format($$SELECT id FROM push.channel WHERE app_id = %s AND name = 'news'$$, :app_id),
    'channel_open gives the channel id');
SELECT is((SELECT last_seq FROM push.channel WHERE app_id = :app_id AND name = 'news'), 3::bigint,
          'channel_open does not bump an existing channel');
SELECT is((SELECT count(*)::int FROM push.channel WHERE app_id = :app_id AND name IN ('fresh', 'lobby')), 0,
          'opening unknown channels makes no row');
SELECT channel_id AS fresh_id FROM push.channel_open(:app_id, '{fresh}') \gset
SELECT is((SELECT channel_id FROM push.channel_open(:app_id, '{fresh}')), :'fresh_id'::bigint,
          'an unknown channel''s id is the same at every open');
SELECT is((SELECT last_seq FROM push.channel_head(:'fresh_id')), 0::bigint, 'channel_head of an unknown channel is 0');
SELECT is(push.publish(:'publish_key', 'fresh', 'first'), 1::bigint, 'the first publish on an opened channel is seq 1');
SELECT is((SELECT id FROM push.channel WHERE app_id = :app_id AND name = 'fresh'), :'fresh_id'::bigint,
          'the first publish makes the row with the id readers were given');
SELECT isnt((SELECT channel_id FROM push.channel_open(:app_id, '{fresh}')),
            (SELECT channel_id FROM push.channel_open(:app_id + 1, '{fresh}')), 'another app''s channel has another id');
SELECT is_empty(format($$SELECT * FROM push.channel_open(%s, '{}')$$, :app_id), 'channel_open of no names is empty');
SAVEPOINT read_only;
SET TRANSACTION READ ONLY;
SELECT results_eq(format($$SELECT name, last_seq FROM push.channel_open(%s, '{fresh,news,unknown}')$$, :app_id),
                  $$VALUES ('fresh', 1::bigint), ('news', 3::bigint), ('unknown', 0::bigint)$$,
                  'opening channels writes nothing (works read-only)');
ROLLBACK TO SAVEPOINT read_only;
SELECT throws_ok(format($$SELECT * FROM push.channel_open(%s, '{news,"bad name"}')$$, :app_id), 'PU400',
                 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]', 'channel_open rejects a bad name');
SELECT is((SELECT count(*)::int FROM push.channel WHERE app_id = :app_id), 2,
          'after reading many channels only the 2 published ones have rows');
SELECT is((SELECT count(*)::int FROM push.channel_open(:app_id, ARRAY(SELECT 'r' || i FROM generate_series(1, 1000) i))), 1000,
          'a reader opening 1000 unknown channels gets 1000 heads');
SELECT is((SELECT count(*)::int FROM push.channel WHERE app_id = :app_id), 2, '... and makes no row');

-- Pruning removes channels nothing was published to once idle, with their presence; a channel
-- with history keeps its row even when every message is pruned.
SELECT lives_ok(format($$SELECT push.presence_touch(%s, '{lobby,news}', 'tab1')$$, :app_id), 'a client is on lobby and news');
SELECT is((SELECT count(*)::int FROM push.channel WHERE app_id = :app_id AND name = 'lobby'), 1,
          'presence makes the lobby row');
SELECT is(push.prune(interval '7 days', interval '1 hour'), 0::bigint, 'prune with a client on lobby');
SELECT is((SELECT count(*)::int FROM push.channel WHERE app_id = :app_id AND name = 'lobby'), 1,
          'a channel with a client seen within the idle time stays');
UPDATE push.presence SET seen_at = now() - interval '2 hours' WHERE app_id = :app_id;
UPDATE push.channel SET updated_at = now() - interval '2 hours' WHERE app_id = :app_id;
UPDATE push.message SET created_at = now() - interval '8 days'
WHERE channel_id IN (SELECT id FROM push.channel WHERE app_id = :app_id);
SELECT is(push.prune(interval '7 days', interval '1 hour'), 4::bigint, 'prune: every message is old');
SELECT results_eq(format($$SELECT name, last_seq FROM push.channel WHERE app_id = %s ORDER BY name$$, :app_id),
                  $$VALUES ('fresh', 1::bigint), ('news', 3::bigint)$$,
                  'the idle channel never published is gone; channels with history stay');
SELECT is((SELECT count(*)::int FROM push.presence WHERE app_id = :app_id AND channel_id NOT IN
           (SELECT id FROM push.channel)), 0, 'its presence went with it');
SELECT is(push.publish(:'publish_key', 'news', 'again'), 4::bigint, 'seqs of a kept channel continue');
SELECT throws_ok($$SELECT push.prune(interval '1 day', NULL)$$, 'PU400', 'idle: must be zero or more',
                 'a NULL idle time is a 400');

-- A deleted channel takes its messages with it, by hand or with its app; no other channel's go.
SELECT app_id AS gone_app, publish_key AS gone_key FROM push.app_create('channel-gone') \gset
SELECT count(*) AS gone_stored FROM push.publish_batch(:'gone_key', '{g1,g1,g2,g3}', '{a,b,c,d}') \gset
SELECT count(*) AS kept_stored FROM push.publish_batch(:'publish_key', '{g1}', '{kept}') \gset
SELECT id AS g1_id FROM push.channel WHERE app_id = :gone_app AND name = 'g1' \gset
SELECT is((SELECT count(*) FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.app_id = :gone_app),
          4::bigint, 'the app has 4 messages on 3 channels');
DELETE FROM push.channel WHERE app_id = :gone_app AND name = 'g1';
SELECT is((SELECT count(*) FROM push.message WHERE channel_id = :g1_id), 0::bigint,
          'deleting a channel deletes its messages');
SELECT is(push.app_delete('channel-gone'), 2::bigint, 'app_delete deletes its two other channels');
SELECT is((SELECT count(*) FROM push.message m WHERE NOT EXISTS (SELECT 1 FROM push.channel c WHERE c.id = m.channel_id)),
          0::bigint, 'no message is left without its channel');
SELECT is((SELECT string_agg(m.content, ',') FROM push.message m JOIN push.channel c ON c.id = m.channel_id
           WHERE c.app_id = :app_id AND c.name = 'g1'), 'kept', 'another app''s channel of the same name keeps its message');

SELECT * FROM finish();
ROLLBACK;
