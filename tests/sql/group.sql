-- group.sql: push.publish_group: single publishes of many requests in one transaction, each judged alone, seqs dense.
BEGIN;
SELECT plan(9);

SELECT app_id, publish_key, subscribe_key FROM push.app_create('group-main', '{}', false, 100) \gset
SELECT app_id AS other_id, publish_key AS other_key FROM push.app_create('group-other') \gset
SELECT publish_key AS rated_key FROM push.app_create('group-rated', '{}', false, 100, 2) \gset

SELECT is(push.publish(:'publish_key', 'a', 'before'), 1::bigint, 'channel a has one message before the group');

SELECT results_eq(
    format($$SELECT i, seq, status, error FROM push.publish_group(
        ARRAY[%1$L, %1$L, %1$L, %2$L, %1$L, %3$L, %1$L, 'BC-nope', %1$L],
        '{a,b,a,a,"bad name",a,a,a,b}',
        ARRAY['a2', 'b1', 'a3', 'other1', 'x', 'no', repeat('x', 101), 'x', 'b2'],
        '{NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,grouper}')$$, :'publish_key', :'other_key', :'subscribe_key'),
    $$VALUES (1, 2::bigint, 200, NULL), (2, 1::bigint, 200, NULL), (3, 3::bigint, 200, NULL),
             (4, 1::bigint, 200, NULL),
             (5, NULL::bigint, 400, 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]'),
             (6, NULL::bigint, 403, 'appkey: the subscribe key cannot publish'),
             (7, NULL::bigint, 413, 'content: 101 bytes exceeds the limit of 100'),
             (8, NULL::bigint, 401, 'appkey: unknown key'),
             (9, 2::bigint, 200, NULL)$$,
    'each message gets its own seq or its own status and text, in input order');
SELECT results_eq(
    format($$SELECT c.name, m.seq, m.content, m.sender FROM push.message m JOIN push.channel c ON c.id = m.channel_id
             WHERE c.app_id = %s ORDER BY c.name, m.seq$$, :app_id),
    $$VALUES ('a', 1::bigint, 'before', NULL), ('a', 2::bigint, 'a2', NULL), ('a', 3::bigint, 'a3', NULL),
             ('b', 1::bigint, 'b1', NULL), ('b', 2::bigint, 'b2', 'grouper')$$,
    'the accepted messages are stored under their seqs, the refused ones not at all');
SELECT results_eq(
    format($$SELECT name, last_seq FROM push.channel WHERE app_id = %s ORDER BY name$$, :app_id),
    $$VALUES ('a', 3::bigint), ('b', 2::bigint)$$,
    'last_seq of every channel is its newest seq, and no channel was made for a refused message');
SELECT results_eq(
    format($$SELECT name, last_seq FROM push.channel WHERE app_id = %s$$, :other_id),
    $$VALUES ('a', 1::bigint)$$,
    'another app''s channel of the same name counts on its own');

SELECT results_eq(
    format($$SELECT i, seq, status FROM push.publish_group(ARRAY[%1$L, %1$L, %1$L], '{r,r,r}', '{1,2,3}', '{NULL,NULL,NULL}')$$,
           :'rated_key'),
    $$VALUES (1, 1::bigint, 200), (2, 2::bigint, 200), (3, NULL::bigint, 429)$$,
    'past the app''s rate the last messages are refused with 429, the first ones stored');
SELECT is((SELECT used FROM push.rate_window w JOIN push.app a ON a.id = w.app_id WHERE a.name = 'group-rated'), 2,
          'a refused message does not count against the rate');

SELECT is_empty($$SELECT * FROM push.publish_group('{}', '{}', '{}', '{}')$$, 'an empty group stores nothing');
SELECT throws_ok(format($$SELECT * FROM push.publish_group(ARRAY[%L], '{a,b}', '{1}', '{NULL}')$$, :'publish_key'),
                 'PU400', 'messages: keys, channels, contents and senders differ in number',
                 'arrays of different lengths are refused as a whole');

SELECT * FROM finish();
ROLLBACK;
