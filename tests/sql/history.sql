-- history.sql: pruning by age and resetting a channel keep seqs going; oldest_seq shows what is left.
BEGIN;
SELECT plan(20);

SELECT app_id, publish_key FROM push.app_create('history-main') \gset
SELECT app_id AS other_id, publish_key AS other_key FROM push.app_create('history-other') \gset

CREATE TEMP TABLE published AS
SELECT push.publish(:'publish_key', 'news', 'n' || i) AS seq FROM generate_series(1, 5) i;
SELECT is(push.publish(:'publish_key', 'quiet', 'q'), 1::bigint, 'quiet has one message');
SELECT is(push.publish(:'other_key', 'news', 'o'), 1::bigint, 'another app''s news has one message');

-- Messages 1..3 of news are 8 days old, quiet's only message 2 days.
UPDATE push.message m SET created_at = now() - interval '8 days'
FROM push.channel c WHERE c.id = m.channel_id AND c.app_id = :app_id AND c.name = 'news' AND m.seq <= 3;
UPDATE push.message m SET created_at = now() - interval '2 days'
FROM push.channel c WHERE c.id = m.channel_id AND c.app_id = :app_id AND c.name = 'quiet';

SELECT is(push.prune(), 3::bigint, 'prune() deletes what is older than 7 days and returns the count');
SELECT results_eq(format($$SELECT name, last_seq, oldest_seq FROM push.channel_open(%s, '{news,quiet}')$$, :app_id),
                  $$VALUES ('news', 5::bigint, 4::bigint), ('quiet', 1::bigint, 1::bigint)$$,
                  'after pruning, oldest_seq is the oldest kept seq and last_seq is unchanged');
SELECT is(push.prune(interval '7 days'), 0::bigint, 'pruning again deletes nothing');
SELECT is(push.prune(interval '1 day'), 1::bigint, 'a shorter retention deletes more');
SELECT results_eq(format($$SELECT name, last_seq, oldest_seq FROM push.channel_open(%s, '{quiet}')$$, :app_id),
                  $$VALUES ('quiet', 1::bigint, NULL::bigint)$$,
                  'a channel with nothing kept has oldest_seq NULL and keeps its last_seq');
SELECT is(push.publish(:'publish_key', 'quiet', 'again'), 2::bigint, 'seqs continue after pruning');
SELECT results_eq($$SELECT app, channel, kept FROM push.channel_stats WHERE app LIKE 'history-%' ORDER BY app, channel$$,
                  $$VALUES ('history-main', 'news', 2::bigint), ('history-main', 'quiet', 1::bigint), ('history-other', 'news', 1::bigint)$$,
                  'channel_stats counts what is kept');
SELECT throws_ok($$SELECT push.prune(interval '-1 day')$$, 'PU400', 'retention: must be zero or more',
                 'a negative retention is a 400');
SELECT throws_ok($$SELECT push.prune(NULL)$$, 'PU400', 'retention: must be zero or more', 'a NULL retention is a 400');

-- Reset: history gone, epoch bumped, seqs continue.
SELECT is(push.reset_channel(:app_id, 'news'), 2, 'reset_channel returns the new epoch');
SELECT results_eq(format($$SELECT name, last_seq, oldest_seq, epoch FROM push.channel_open(%s, '{news}')$$, :app_id),
                  $$VALUES ('news', 5::bigint, NULL::bigint, 2)$$,
                  'after a reset nothing is kept, last_seq stays and the epoch is 2');
SELECT is(push.publish(:'publish_key', 'news', 'after reset'), 6::bigint, 'seqs continue after a reset');
SELECT results_eq(format($$SELECT name, last_seq, oldest_seq, epoch FROM push.channel_open(%s, '{news}')$$, :app_id),
                  $$VALUES ('news', 6::bigint, 6::bigint, 2)$$, 'the first message after a reset is the oldest kept');
SELECT is(push.reset_channel(:app_id, 'news'), 3, 'a second reset gives epoch 3');
SELECT results_eq(format($$SELECT last_seq, oldest_seq, epoch FROM push.channel_open(%s, '{news}')$$, :other_id),
                  $$VALUES (1::bigint, 1::bigint, 1)$$, 'a reset touches only its own app''s channel');
SELECT throws_ok(format($$SELECT push.reset_channel(%s, 'nowhere')$$, :app_id), 'PU404', 'channel: no such channel',
                 'resetting an unknown channel is a 404');
SELECT throws_ok(format($$SELECT push.reset_channel(%s, 'bad name')$$, :app_id), 'PU400',
                 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]', 'resetting a bad name is a 400');
SELECT is((SELECT count(*)::int FROM push.channel WHERE app_id = :app_id AND name = 'nowhere'), 0,
          'a failed reset creates nothing');

SELECT * FROM finish();
ROLLBACK;
