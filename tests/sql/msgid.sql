-- msgid.sql: idempotent publishing (015_msgid_retention.sql): a msgid the channel holds answers
-- the first message's seq and stores nothing, on every publishing function.
BEGIN;
SELECT plan(19);

SELECT app_id, publish_key FROM push.app_create('msgid-main') \gset
SELECT app_id AS other_id, publish_key AS other_key FROM push.app_create('msgid-other') \gset
-- kept(app, channel): 'seq:content' of each message kept, in seq order.
CREATE FUNCTION pg_temp.kept(p_app int, p_channel text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(m.seq || ':' || m.content, ',' ORDER BY m.seq), '')
    FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.app_id = p_app AND c.name = p_channel $$;

-- push.publish
SELECT is(push.publish(:'publish_key', 'news', 'one', NULL, 'id-1'), 1::bigint, 'a first msgid stores seq 1');
SELECT is(push.publish(:'publish_key', 'news', 'two'), 2::bigint, 'a publish without msgid stores seq 2');
SELECT is(push.publish(:'publish_key', 'news', 'one again', NULL, 'id-1'), 1::bigint,
          'the same msgid again answers seq 1');
SELECT is(pg_temp.kept(:app_id, 'news'), '1:one,2:two', 'and stored nothing: the first content stays');
SELECT is((SELECT last_seq FROM push.channel WHERE app_id = :app_id AND name = 'news'), 2::bigint,
          'the head did not move');
SELECT is(push.publish(:'publish_key', 'sport', 'elsewhere', NULL, 'id-1'), 1::bigint,
          'the same msgid on another channel is another message');
SELECT is(push.publish(:'other_key', 'news', 'other app', NULL, 'id-1'), 1::bigint,
          'and on the same channel name of another app too');
SELECT is(pg_temp.kept(:other_id, 'news'), '1:other app', 'which stored it');
SELECT throws_ok(format($$SELECT push.publish(%L, 'news', 'x', NULL, 'a b')$$, :'publish_key'), 'PU400',
                 'msgid: must be 1-64 characters of printable ASCII without spaces', 'a msgid with a space is a 400');
SELECT throws_ok(format($$SELECT push.publish(%L, 'news', 'x', NULL, repeat('m', 65))$$, :'publish_key'), 'PU400',
                 'msgid: must be 1-64 characters of printable ASCII without spaces', 'a msgid of 65 bytes is a 400');

-- push.publish_batch: each message its own msgid; a repeat within the batch is a duplicate too.
SELECT results_eq(
    format($$SELECT channel, seq, duplicate FROM push.publish_batch(%L, '{news,news,news,sport}', '{a,b,c,d}', NULL,
             '{id-1,id-2,id-2,NULL}')$$, :'publish_key'),
    $$VALUES ('news', 1::bigint, true), ('news', 3::bigint, false), ('news', 3::bigint, true),
             ('sport', 2::bigint, false)$$,
    'batch: a kept msgid and a repeat within the batch are duplicates of the first');
SELECT is(pg_temp.kept(:app_id, 'news'), '1:one,2:two,3:b', 'the batch stored only b on news');
SELECT throws_ok(format($$SELECT * FROM push.publish_batch(%L, '{news,news}', '{a,b}', NULL, '{ok,"x y"}')$$,
                        :'publish_key'), 'PU400',
                 'messages[1].msgid: must be 1-64 characters of printable ASCII without spaces',
                 'batch: a bad msgid names its message');

-- push.publish_group: two requests with the same msgid in one group make one row.
SELECT results_eq(
    format($$SELECT i, seq, status, duplicate FROM push.publish_group(ARRAY[%1$L, %1$L, %1$L, %1$L],
             '{g,g,g,news}', '{g1,g1-retry,g2,n}', '{NULL,NULL,NULL,NULL}', '{r-1,r-1,NULL,id-2}')$$, :'publish_key'),
    $$VALUES (1, 1::bigint, 200, false), (2, 1::bigint, 200, true), (3, 2::bigint, 200, false),
             (4, 3::bigint, 200, true)$$,
    'group: the same msgid twice in one group is stored once; a kept one is a duplicate');
SELECT is(pg_temp.kept(:app_id, 'g'), '1:g1,2:g2', 'the group stored g1 and g2 only');
SELECT results_eq(
    format($$SELECT i, status, error FROM push.publish_group(ARRAY[%1$L], '{g}', '{x}', '{NULL}', ARRAY[repeat('m', 65)])$$,
           :'publish_key'),
    $$VALUES (1, 400, 'msgid: must be 1-64 characters of printable ASCII without spaces')$$,
    'group: a bad msgid is that message''s 400');
SELECT is((SELECT count(*) FROM push.publish_group(ARRAY[:'publish_key'], '{h}', '{x}', '{NULL}') WHERE NOT duplicate),
          1::bigint, 'group without msgids works as before');

-- The time of a duplicate is the first message's.
UPDATE push.message m SET created_at = '2020-01-01 00:00:00+00' FROM push.channel c
WHERE c.id = m.channel_id AND c.app_id = :app_id AND c.name = 'g' AND m.seq = 1;
SELECT is((SELECT time_ms FROM push.publish_group(ARRAY[:'publish_key'], '{g}', '{x}', '{NULL}', '{r-1}')),
          1577836800000::bigint, 'a duplicate answers the first message''s time');

-- Once the message is pruned, its msgid may be used again.
SELECT push.prune('7 days');
SELECT is(push.publish(:'publish_key', 'g', 'new', NULL, 'r-1'), 3::bigint, 'after prune the msgid stores anew');
SELECT * FROM finish();
ROLLBACK;
