-- publish-rows.sql: the write path of 017_lean_publish.sql: dense seqs in input order over
-- repeated, new and existing channels, duplicates that leave a channel unbumped, and the channel
-- name rule kept by triggers.
BEGIN;
SELECT plan(10);

SELECT app_id, publish_key FROM push.app_create('rows-main') \gset
SELECT app_id AS other_id, publish_key AS other_key FROM push.app_create('rows-other') \gset
-- kept(app, channel): 'seq:content' of each message kept, in seq order.
CREATE FUNCTION pg_temp.kept(p_app int, p_channel text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(m.seq || ':' || m.content, ',' ORDER BY m.seq), '')
    FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.app_id = p_app AND c.name = p_channel $$;
CREATE FUNCTION pg_temp.head(p_app int, p_channel text) RETURNS bigint LANGUAGE sql AS $$
    SELECT c.last_seq FROM push.channel c WHERE c.app_id = p_app AND c.name = p_channel $$;

SELECT is(push.publish(:'publish_key', 'b', 'b1'), 1::bigint, 'b exists with seq 1');

-- Interleaved channels of two apps, one of them new, the same name in both apps.
SELECT results_eq(
    format($$SELECT i, seq, status FROM push.publish_group(ARRAY[%1$L, %2$L, %1$L, %1$L, %2$L, %1$L],
             '{a,a,b,a,a,b}', '{a1,x1,b2,a2,x2,b3}', '{"","","","","",""}')$$, :'publish_key', :'other_key'),
    $$VALUES (1, 1::bigint, 200), (2, 1::bigint, 200), (3, 2::bigint, 200), (4, 2::bigint, 200),
             (5, 2::bigint, 200), (6, 3::bigint, 200)$$,
    'each channel''s messages take consecutive seqs in input order, per app');
SELECT is(pg_temp.kept(:app_id, 'a') || ' ' || pg_temp.kept(:app_id, 'b') || ' ' || pg_temp.kept(:other_id, 'a'),
          '1:a1,2:a2 1:b1,2:b2,3:b3 1:x1,2:x2', 'and are stored with them');
SELECT is(ARRAY[pg_temp.head(:app_id, 'a'), pg_temp.head(:app_id, 'b'), pg_temp.head(:other_id, 'a')],
          ARRAY[2, 3, 2]::bigint[], 'each head is its newest seq');

-- A channel whose messages are all duplicates keeps its head; the others close up around them.
SELECT results_eq(
    format($$SELECT channel, seq, duplicate FROM push.publish_batch(%L, '{a,b,a,b,a}', '{a3,b4,a4,b5,a5}', NULL,
             '{m-1,m-2,NULL,m-2,m-1}')$$, :'publish_key'),
    $$VALUES ('a', 3::bigint, false), ('b', 4::bigint, false), ('a', 4::bigint, false), ('b', 4::bigint, true),
             ('a', 3::bigint, true)$$,
    'duplicates within a batch take no seq');
SELECT results_eq(
    format($$SELECT channel, seq, duplicate FROM push.publish_batch(%L, '{b,a,b}', '{b6,a6,b7}', NULL,
             '{m-2,NULL,m-2}')$$, :'publish_key'),
    $$VALUES ('b', 4::bigint, true), ('a', 5::bigint, false), ('b', 4::bigint, true)$$,
    'a channel with only kept msgids stores nothing');
SELECT is(ARRAY[pg_temp.head(:app_id, 'a'), pg_temp.head(:app_id, 'b')], ARRAY[5, 4]::bigint[],
          'and keeps its head while the other moves');
SELECT is(pg_temp.kept(:app_id, 'b'), '1:b1,2:b2,3:b3,4:b4', 'b holds no gap and no duplicate');

-- The name rule: checked when a row is made or renamed, with the CHECK constraint's error.
SELECT throws_ok(format($$INSERT INTO push.channel (app_id, name) VALUES (%s, 'a b')$$, :app_id), '23514',
                 'new row for relation "channel" violates check constraint "channel_name_check"',
                 'a channel row with a bad name is refused');
SELECT throws_ok(format($$UPDATE push.channel SET name = '' WHERE app_id = %s AND name = 'a'$$, :app_id), '23514',
                 'new row for relation "channel" violates check constraint "channel_name_check"',
                 'so is renaming a channel to a bad name');

SELECT * FROM finish();
ROLLBACK;
