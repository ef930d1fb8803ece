-- publish.sql: push.publish: dense per-channel seqs, the check order, the size limit (413) and the rate (429).
BEGIN;
SELECT plan(32);

SELECT app_id, publish_key FROM push.app_create('publish-main') \gset
SELECT app_id AS small_id, publish_key AS small_key FROM push.app_create('publish-small', '{}', false, 10) \gset
SELECT publish_key AS rated_key FROM push.app_create('publish-rated', '{}', false, 65536, 3) \gset
SELECT publish_key AS other_key FROM push.app_create('publish-other') \gset

-- Dense seqs.
CREATE TEMP TABLE returned AS
SELECT i, push.publish(:'publish_key', 'news', 'message ' || i) AS seq FROM generate_series(1, 20) i;
SELECT results_eq('SELECT seq FROM returned ORDER BY i', 'SELECT generate_series(1, 20)::bigint',
                  'publish returns 1, 2, 3, ... in order');
SELECT results_eq(
    format($$SELECT m.seq, m.content FROM push.message m JOIN push.channel c ON c.id = m.channel_id
             WHERE c.app_id = %s AND c.name = 'news' ORDER BY m.seq$$, :app_id),
    $$SELECT i::bigint, 'message ' || i FROM generate_series(1, 20) i$$,
    'the stored seqs are exactly 1..20 with their contents');
SELECT is((SELECT last_seq FROM push.channel WHERE app_id = :app_id AND name = 'news'), 20::bigint,
          'last_seq is the newest seq');
SELECT is(push.publish(:'publish_key', 'sports', 'x'), 1::bigint, 'each channel has its own seqs');
SELECT is(push.publish(:'other_key', 'news', 'x'), 1::bigint, 'each app has its own channels');

SAVEPOINT before_rollback;
SELECT is(push.publish(:'publish_key', 'news', 'rolled back'), 21::bigint, 'a publish that will roll back gets 21');
ROLLBACK TO SAVEPOINT before_rollback;
SELECT is(push.publish(:'publish_key', 'news', 'kept'), 21::bigint, 'after a rollback the next publish reuses 21: no hole');

-- What is stored.
SELECT is(push.publish(:'publish_key', 'text', E'h\u00e9llo \u2603 "quoted" \\ {json}', 'alice'), 1::bigint, 'unicode content');
SELECT results_eq(
    format($$SELECT m.content, m.sender FROM push.message m JOIN push.channel c ON c.id = m.channel_id
             WHERE c.app_id = %s AND c.name = 'text'$$, :app_id),
    $$VALUES (E'h\u00e9llo \u2603 "quoted" \\ {json}', 'alice')$$,
    'content and sender are stored as given');
SELECT lives_ok(format('SELECT push.publish(%L, %L, %L)', :'publish_key', 'empty', ''), 'empty content is allowed');
SELECT is(push.publish(:'publish_key', 'nosender', 'x', ''), 1::bigint, 'an empty sender');
SELECT is((SELECT m.sender FROM push.message m JOIN push.channel c ON c.id = m.channel_id
           WHERE c.app_id = :app_id AND c.name = 'nosender'), NULL::text, 'an empty sender is stored as NULL');
SELECT throws_ok(format('SELECT push.publish(%L, %L, %L, %L)', :'publish_key', 'news', 'x', repeat('s', 129)), 'PU400',
                 'sender: must be at most 128 bytes', 'a sender over 128 bytes is a 400');
SELECT throws_ok(format('SELECT push.publish(%L, %L, NULL)', :'publish_key', 'news'), 'PU400', 'content: missing',
                 'NULL content is a 400');

-- Size limit, in bytes.
SELECT is(push.publish(:'small_key', 'news', repeat('x', 10)), 1::bigint, 'content of exactly the limit (10 bytes) passes');
SELECT throws_ok(format('SELECT push.publish(%L, %L, %L)', :'small_key', 'news', repeat('x', 11)), 'PU413',
                 'content: 11 bytes exceeds the limit of 10', 'content one byte over the limit is a 413');
SELECT is(push.publish(:'small_key', 'news', repeat(chr(233), 5)), 2::bigint, 'five 2-byte characters are 10 bytes: passes');
SELECT throws_ok(format('SELECT push.publish(%L, %L, %L)', :'small_key', 'news', repeat(chr(233), 5) || 'x'), 'PU413',
                 'content: 11 bytes exceeds the limit of 10', 'the limit counts bytes, not characters');
SELECT is(push.publish(:'publish_key', 'big', repeat('x', 65536)), 1::bigint, 'the default limit: 65536 bytes pass');
SELECT throws_ok(format('SELECT push.publish(%L, %L, %L)', :'publish_key', 'big', repeat('x', 65537)), 'PU413',
                 'content: 65537 bytes exceeds the limit of 65536', 'the default limit: 65537 bytes are a 413');
SELECT throws_ok(format('SELECT push.publish(%L, %L, %L)', :'publish_key', 'x y', repeat('x', 65537)), 'PU400',
                 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]', 'the channel is checked before the size');
SELECT throws_ok(format('SELECT push.publish(%L, %L, NULL)', :'publish_key', 'x y'), 'PU400',
                 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]', 'the channel is checked before the content');
SELECT is((SELECT count(*)::int FROM push.message m JOIN push.channel c ON c.id = m.channel_id
           WHERE c.app_id = :small_id), 2, 'rejected messages are not stored');

-- Rate: 3 messages per second for the app, counted in the second the transaction started.
SELECT is(push.publish(:'rated_key', 'a', 'x'), 1::bigint, 'rate 3/s: first message');
SELECT is(push.publish(:'rated_key', 'b', 'x'), 1::bigint, 'rate 3/s: second message, another channel');
SELECT is(push.publish(:'rated_key', 'a', 'x'), 2::bigint, 'rate 3/s: third message');
SELECT throws_ok(format('SELECT push.publish(%L, %L, %L)', :'rated_key', 'a', 'x'), 'PU429',
                 'rate: this app may publish at most 3 messages per second', 'rate 3/s: the fourth is a 429');
SELECT throws_ok(format('SELECT push.publish(%L, %L, %L)', :'rated_key', 'a', repeat('x', 70000)), 'PU413', NULL,
                 'the size is checked before the rate');
UPDATE push.rate_window SET window_start = window_start - 1;
SELECT is(push.publish(:'rated_key', 'a', 'x'), 3::bigint, 'rate 3/s: the next second allows more');
SELECT is((SELECT count(*)::int FROM push.rate_window w JOIN push.app a ON a.id = w.app_id WHERE a.name LIKE 'publish-%' AND a.name <> 'publish-rated'), 0,
          'apps without a rate keep no rate state');

-- Notification payloads are ids only (delivery after commit is checked by notify.sh).
SELECT is(push.publish_app(:app_id, 'direct', 'x'), 1::bigint, 'publish_app stores for a trusted caller');
SELECT is((SELECT last_seq FROM push.channel WHERE app_id = :app_id AND name = 'direct'), 1::bigint,
          'publish_app creates the channel at seq 1');

SELECT * FROM finish();
ROLLBACK;
