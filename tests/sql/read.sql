-- read.sql: read marks (monotone, bounded by last_seq) and the message_log, unread and channel_stats views.
BEGIN;
SELECT plan(25);

SELECT app_id, publish_key, subscribe_key FROM push.app_create('read-main') \gset
SELECT publish_key AS other_key, subscribe_key AS other_subscribe FROM push.app_create('read-other') \gset

CREATE TEMP TABLE published AS
SELECT push.publish(:'publish_key', 'user-alice', 'for alice ' || i, 'shop') AS seq FROM generate_series(1, 5) i;
SELECT is(push.publish(:'publish_key', 'news', 'headline'), 1::bigint, 'news has one message');
SELECT is(push.publish(:'publish_key', 'user-bob', 'for bob'), 1::bigint, 'user-bob has one message');
SELECT is(push.publish(:'other_key', 'user-alice', 'other app'), 1::bigint, 'another app''s user-alice has one message');

-- Before any mark.
SELECT results_eq($$SELECT app, user_id, channel, last_seq, read_seq, unread FROM push.unread WHERE app LIKE 'read-%' ORDER BY app, user_id, channel$$,
                  $$VALUES ('read-main', 'alice', 'user-alice', 5::bigint, 0::bigint, 5::bigint),
                           ('read-main', 'bob', 'user-bob', 1::bigint, 0::bigint, 1::bigint),
                           ('read-other', 'alice', 'user-alice', 1::bigint, 0::bigint, 1::bigint)$$,
                  'every user-<id> channel is listed for <id>, unread from 0');

-- mark_read.
SELECT is(push.mark_read(:'subscribe_key', 'alice', 'user-alice', 2), 2::bigint, 'mark_read with the subscribe key returns the mark');
SELECT is(push.mark_read(:'publish_key', 'alice', 'user-alice', 1), 2::bigint, 'the mark never goes backwards');
SELECT is(push.mark_read(:'subscribe_key', 'alice', 'user-alice', 3), 3::bigint, 'the mark moves forwards');
SELECT is(push.mark_read(:'subscribe_key', 'alice', 'news', 99), 1::bigint, 'the mark never passes last_seq');
SELECT is(push.mark_read(:'subscribe_key', 'alice', 'news', 0), 1::bigint, 'a mark of 0 changes nothing');
SELECT throws_ok(format('SELECT push.mark_read(%L, %L, %L, 1)', :'subscribe_key', 'alice', 'nowhere'), 'PU404',
                 'channel: no such channel', 'marking an unknown channel is a 404');
SELECT is((SELECT count(*)::int FROM push.channel WHERE app_id = :app_id AND name = 'nowhere'), 0, 'mark_read creates no channel');
SELECT throws_ok(format('SELECT push.mark_read(%L, %L, %L, 1)', :'subscribe_key', 'al ice', 'news'), 'PU400',
                 'user: must be 1-64 bytes of [A-Za-z0-9_.=@-]', 'a bad user is a 400');
SELECT throws_ok(format('SELECT push.mark_read(%L, %L, %L, 1)', :'subscribe_key', repeat('u', 65), 'news'), 'PU400',
                 'user: must be 1-64 bytes of [A-Za-z0-9_.=@-]', 'a 65-byte user is a 400');
SELECT throws_ok(format('SELECT push.mark_read(%L, NULL, %L, 1)', :'subscribe_key', 'news'), 'PU400', NULL,
                 'a missing user is a 400');
SELECT throws_ok(format('SELECT push.mark_read(%L, %L, %L, -1)', :'subscribe_key', 'alice', 'news'), 'PU400',
                 'seq: must be 0 or more', 'a negative seq is a 400');
SELECT throws_ok(format('SELECT push.mark_read(%L, %L, %L, 1)', :'subscribe_key', 'alice', 'a b'), 'PU400',
                 'channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]', 'a bad channel is a 400');
SELECT throws_ok($$SELECT push.mark_read('BS-00000000000000000000000000000000', 'alice', 'news', 1)$$, 'PU401',
                 'appkey: unknown key', 'an unknown key is a 401');
SELECT is(push.mark_read(:'other_subscribe', 'alice', 'user-alice', 1), 1::bigint, 'marks are per app');

-- Views.
SELECT results_eq($$SELECT app, user_id, channel, last_seq, read_seq, unread FROM push.unread WHERE app LIKE 'read-%' ORDER BY app, user_id, channel$$,
                  $$VALUES ('read-main', 'alice', 'news', 1::bigint, 1::bigint, 0::bigint),
                           ('read-main', 'alice', 'user-alice', 5::bigint, 3::bigint, 2::bigint),
                           ('read-main', 'bob', 'user-bob', 1::bigint, 0::bigint, 1::bigint),
                           ('read-other', 'alice', 'user-alice', 1::bigint, 1::bigint, 0::bigint)$$,
                  'unread: marks and user channels, unread = last_seq - read_seq');
SELECT is(push.publish(:'publish_key', 'user-alice', 'one more'), 6::bigint, 'user-alice gets a sixth message');
SELECT results_eq($$SELECT unread FROM push.unread WHERE app = 'read-main' AND user_id = 'alice' AND channel = 'user-alice'$$,
                  $$VALUES (3::bigint)$$, 'unread follows new messages');
SELECT results_eq($$SELECT channel, seq, content, sender, user_id, is_read FROM push.message_log
                    WHERE app = 'read-main' ORDER BY channel, seq$$,
                  $$VALUES ('news', 1::bigint, 'headline', NULL, NULL, NULL::bool),
                           ('user-alice', 1::bigint, 'for alice 1', 'shop', 'alice', true),
                           ('user-alice', 2::bigint, 'for alice 2', 'shop', 'alice', true),
                           ('user-alice', 3::bigint, 'for alice 3', 'shop', 'alice', true),
                           ('user-alice', 4::bigint, 'for alice 4', 'shop', 'alice', false),
                           ('user-alice', 5::bigint, 'for alice 5', 'shop', 'alice', false),
                           ('user-alice', 6::bigint, 'one more', NULL, 'alice', false),
                           ('user-bob', 1::bigint, 'for bob', NULL, 'bob', false)$$,
                  'message_log: is_read for user channels from the owner''s mark, NULL elsewhere');
SELECT ok((SELECT bool_and(created_at IS NOT NULL) FROM push.message_log WHERE app LIKE 'read-%'), 'message_log has every message''s time');
SELECT results_eq($$SELECT channel, last_seq, kept, oldest_seq, epoch FROM push.channel_stats WHERE app = 'read-main' ORDER BY channel$$,
                  $$VALUES ('news', 1::bigint, 1::bigint, 1::bigint, 1),
                           ('user-alice', 6::bigint, 6::bigint, 1::bigint, 1),
                           ('user-bob', 1::bigint, 1::bigint, 1::bigint, 1)$$,
                  'channel_stats: head, kept count, oldest seq and epoch per channel');
SELECT ok((SELECT bool_and(newest_at = now() AND created_at = now()) FROM push.channel_stats WHERE app = 'read-main'),
          'channel_stats: newest message time and creation time');

SELECT * FROM finish();
ROLLBACK;
