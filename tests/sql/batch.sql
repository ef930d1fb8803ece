-- batch.sql: push.publish_batch: every message checked first, all stored or none, seqs returned in input order.
BEGIN;
SELECT plan(19);

SELECT app_id, publish_key FROM push.app_create('batch-main', '{}', false, 100) \gset
SELECT publish_key AS rated_key FROM push.app_create('batch-rated', '{}', false, 100, 3) \gset

SELECT is(push.publish(:'publish_key', 'a', 'before'), 1::bigint, 'channel a has one message before the batch');

SELECT results_eq(
    format($$SELECT channel, seq FROM push.publish_batch(%L, '{b,a,b,c,a}', '{b1,a2,b2,c1,a3}', 'batcher')$$, :'publish_key'),
    $$VALUES ('b', 1::bigint), ('a', 2::bigint), ('b', 2::bigint), ('c', 1::bigint), ('a', 3::bigint)$$,
    'a batch returns (channel, seq) in input order, continuing each channel');
SELECT results_eq(
    format($$SELECT c.name, m.seq, m.content, m.sender FROM push.message m JOIN push.channel c ON c.id = m.channel_id
             WHERE c.app_id = %s AND m.sender = 'batcher' ORDER BY c.name, m.seq$$, :app_id),
    $$VALUES ('a', 2::bigint, 'a2', 'batcher'), ('a', 3::bigint, 'a3', 'batcher'), ('b', 1::bigint, 'b1', 'batcher'),
             ('b', 2::bigint, 'b2', 'batcher'), ('c', 1::bigint, 'c1', 'batcher')$$,
    'each message is stored under its seq with the batch''s sender');
SELECT results_eq(
    format($$SELECT name, last_seq FROM push.channel WHERE app_id = %s ORDER BY name$$, :app_id),
    $$VALUES ('a', 3::bigint), ('b', 2::bigint), ('c', 1::bigint)$$,
    'last_seq of every channel is its newest seq');

-- All or nothing: nothing is stored and no channel is created when one message is bad.
CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.app_id = :app_id) AS messages,
       (SELECT count(*) FROM push.channel WHERE app_id = :app_id) AS channels;
SELECT throws_ok(format($$SELECT * FROM push.publish_batch(%L, '{fresh,a,"bad name",b}', '{1,2,3,4}')$$, :'publish_key'),
                 'PU400', 'messages[2].channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]',
                 'a bad channel is named by its 0-based index');
SELECT throws_ok(format($$SELECT * FROM push.publish_batch(%L, '{fresh,a}', ARRAY['x', NULL])$$, :'publish_key'),
                 'PU400', 'messages[1].content: missing', 'missing content is named by its index');
SELECT throws_ok(format($$SELECT * FROM push.publish_batch(%L, '{fresh,a,b,c}', ARRAY['x', 'x', 'x', repeat('x', 101)])$$,
                        :'publish_key'),
                 'PU413', 'messages[3].content: 101 bytes exceeds the limit of 100', 'oversized content is a 413 with its index');
SELECT throws_ok(format($$SELECT * FROM push.publish_batch(%L, '{fresh,"bad name"}', ARRAY['x', repeat('x', 101)])$$,
                        :'publish_key'),
                 'PU400', 'messages[1].channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]',
                 'within a message the channel is checked first');
SELECT throws_ok(format($$SELECT * FROM push.publish_batch(%L, '{fresh,"x y"}', ARRAY[repeat('x', 101), 'x'])$$,
                        :'publish_key'),
                 'PU413', NULL, 'messages are checked in input order');
SELECT is((SELECT count(*) FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.app_id = :app_id),
          (SELECT messages FROM before), 'a failed batch stores no message');
SELECT is((SELECT count(*) FROM push.channel WHERE app_id = :app_id), (SELECT channels FROM before), 'a failed batch creates no channel');

SELECT throws_ok(format($$SELECT * FROM push.publish_batch(%L, '{a,b}', '{1,2,3}')$$, :'publish_key'),
                 'PU400', 'messages: 2 channels but 3 contents', 'arrays of different lengths are a 400');
SELECT throws_ok(format($$SELECT * FROM push.publish_batch(%L, '{}', '{}')$$, :'publish_key'),
                 'PU400', 'messages: at least one message is needed', 'an empty batch is a 400');
SELECT throws_ok(format($$SELECT * FROM push.publish_batch(%L, NULL, NULL)$$, :'publish_key'),
                 'PU400', 'messages: at least one message is needed', 'a NULL batch is a 400');
SELECT throws_ok($$SELECT * FROM push.publish_batch('BC-00000000000000000000000000000000', '{a}', '{1}')$$,
                 'PU401', 'appkey: unknown key', 'a batch with an unknown key is a 401');

-- The rate counts every message of a batch.
SELECT results_eq(format($$SELECT seq FROM push.publish_batch(%L, '{r,r}', '{1,2}')$$, :'rated_key'),
                  $$VALUES (1::bigint), (2::bigint)$$, 'rate 3/s: a batch of two passes');
SELECT throws_ok(format($$SELECT * FROM push.publish_batch(%L, '{r,r}', '{3,4}')$$, :'rated_key'),
                 'PU429', 'rate: this app may publish at most 3 messages per second', 'rate 3/s: two more are a 429');
SELECT results_eq($$SELECT c.last_seq FROM push.channel c JOIN push.app a ON a.id = c.app_id WHERE a.name = 'batch-rated'$$,
                  $$VALUES (2::bigint)$$, 'a rate-limited batch stores nothing');

SELECT results_eq(format($$SELECT channel, seq FROM push.publish_batch(%L, '{one}', '{only}')$$, :'publish_key'),
                  $$VALUES ('one', 1::bigint)$$, 'a batch of one');

SELECT * FROM finish();
ROLLBACK;
