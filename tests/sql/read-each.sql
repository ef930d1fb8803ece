-- read-each.sql: read state per message (011_goeasy.sql): message 3 read while 2 stays unread,
-- in push.unread and push.message_log, beside the read mark.
BEGIN;
SELECT plan(10);

SELECT app_id, publish_key, subscribe_key FROM push.app_create('each-main') \gset
SELECT push.publish(:'publish_key', 'news', 'n' || i) FROM generate_series(1, 5) i;

SELECT is(push.mark_read_each(:'subscribe_key', 'alice', 'news', '{3,5,5}'), 2::bigint,
          'marking 3, 5 and 5 again reads two messages');
SELECT is((SELECT unread FROM push.unread WHERE app = 'each-main' AND user_id = 'alice' AND channel = 'news'),
          3::bigint, 'a public channel read one by one is listed: 1, 2 and 4 unread');
SELECT is(push.mark_read_each(:'subscribe_key', 'alice', 'news', '{3}'), 0::bigint, 'marking 3 again reads nothing new');
SELECT push.mark_read(:'subscribe_key', 'alice', 'news', 2);
SELECT is((SELECT unread FROM push.unread WHERE app = 'each-main' AND user_id = 'alice' AND channel = 'news'),
          1::bigint, 'with the mark at 2: only 4 unread');
SELECT is(push.mark_read_each(:'subscribe_key', 'alice', 'news', '{1,2}'), 0::bigint,
          'messages under the mark are read already');

-- On a user channel message_log shows it per message.
SELECT push.publish(:'publish_key', 'user-bob', 'b' || i) FROM generate_series(1, 3) i;
SELECT push.mark_read_each(:'subscribe_key', 'bob', 'user-bob', '{2}');
SELECT is((SELECT string_agg(seq || ':' || is_read, ' ' ORDER BY seq) FROM push.message_log
           WHERE app = 'each-main' AND channel = 'user-bob'), '1:false 2:true 3:false',
          'message_log: 2 read, 1 and 3 not');
SELECT is((SELECT unread FROM push.unread WHERE app = 'each-main' AND user_id = 'bob'), 2::bigint,
          'bob has 2 unread');

SELECT throws_ok(format($$SELECT push.mark_read_each(%L, 'alice', 'news', '{6}')$$, :'subscribe_key'), 'PU400',
                 'seqs: must be between 1 and 5, the channel''s last seq', 'a seq past the head is a 400');
SELECT throws_ok(format($$SELECT push.mark_read_each(%L, 'alice', 'news', '{}')$$, :'subscribe_key'), 'PU400',
                 'seqs: must be 1 to 1000 seqs', 'no seqs is a 400');
SELECT throws_ok(format($$SELECT push.mark_read_each(%L, 'alice', 'nothing', '{1}')$$, :'subscribe_key'), 'PU404',
                 'channel: no such channel', 'an unknown channel is a 404');
SELECT * FROM finish();
ROLLBACK;
