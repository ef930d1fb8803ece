-- read-events.sql: a read mark that moves and single messages read publish read events to the
-- reader's read-user-<id> (014_read_events.sql), only while that channel exists; the events
-- are not unread, and read-user-<id> cannot be marked read.
BEGIN;
SELECT plan(14);

SELECT app_id, publish_key, subscribe_key FROM push.app_create('read-events-main') \gset
SELECT push.publish(:'publish_key', 'user-alice', 'a' || i) FROM generate_series(1, 5) i;
SELECT push.publish(:'publish_key', 'user-bob', 'b' || i) FROM generate_series(1, 2) i;

-- events(channel): each event's channel, mark, seqs and unread count, in order.
CREATE FUNCTION pg_temp.events(p_channel text) RETURNS text
LANGUAGE sql AS $$
    SELECT coalesce(string_agg((e ->> 'action') || ':' || (e ->> 'channel') || ':' || (e ->> 'read_seq') || ':'
                               || coalesce(e ->> 'seqs', '-') || ':' || (e ->> 'unread'), ' ' ORDER BY m.seq), '')
    FROM push.message m JOIN push.channel c ON c.id = m.channel_id
    CROSS JOIN LATERAL (SELECT m.content::jsonb AS e) x
    WHERE c.name = p_channel
$$;

-- Nobody listens to alice's read events yet: no channel, no event.
SELECT push.mark_read(:'subscribe_key', 'alice', 'user-alice', 1);
SELECT is((SELECT count(*) FROM push.channel WHERE name = 'read-user-alice'), 0::bigint,
          'without a read-user-alice channel a read mark publishes nothing');

-- A tab of alice opens read-user-alice.
SELECT lives_ok(format($$SELECT * FROM push.channel_open(%s, '{read-user-alice}')$$, :app_id),
                'read-user-alice is opened');
SELECT is((SELECT last_seq FROM push.channel WHERE name = 'read-user-alice'), 0::bigint,
          'opening read-user-alice makes its row, empty');

SELECT push.mark_read(:'subscribe_key', 'alice', 'user-alice', 2);
SELECT is(pg_temp.events('read-user-alice'), 'read:user-alice:2:-:3', 'the mark moving to 2 is an event: 3 unread');

SELECT push.mark_read(:'subscribe_key', 'alice', 'user-alice', 1);
SELECT push.mark_read(:'subscribe_key', 'alice', 'user-alice', 2);
SELECT is(pg_temp.events('read-user-alice'), 'read:user-alice:2:-:3', 'a mark that does not move is no event');

SELECT push.mark_read_each(:'subscribe_key', 'alice', 'user-alice', '{5,4,5}');
SELECT is(pg_temp.events('read-user-alice'), 'read:user-alice:2:-:3 read:user-alice:2:[4, 5]:1',
          'messages 4 and 5 read one by one: one event with their seqs, 1 unread');
SELECT push.mark_read_each(:'subscribe_key', 'alice', 'user-alice', '{4}');
SELECT is((SELECT last_seq FROM push.channel WHERE name = 'read-user-alice'), 2::bigint,
          'reading 4 again is no event');

-- A public channel alice reads tells her tabs too.
SELECT push.publish(:'publish_key', 'news', 'n' || i) FROM generate_series(1, 3) i;
SELECT push.mark_read(:'subscribe_key', 'alice', 'news', 3);
SELECT is((SELECT content::jsonb ->> 'channel' FROM push.message m JOIN push.channel c ON c.id = m.channel_id
           WHERE c.name = 'read-user-alice' ORDER BY m.seq DESC LIMIT 1), 'news', 'a read of news is an event');

-- Bob's reads never reach alice's read events; his own go to read-user-bob once opened.
SELECT push.mark_read(:'subscribe_key', 'bob', 'user-bob', 2);
SELECT is((WITH alice AS MATERIALIZED (SELECT m.content FROM push.message m JOIN push.channel c ON c.id = m.channel_id
                                         WHERE c.name = 'read-user-alice')
           SELECT count(*) FROM alice WHERE content::jsonb ->> 'user' <> 'alice'), 0::bigint,
          'bob''s read is not on read-user-alice');
SELECT * FROM push.channel_open(:app_id, '{read-user-bob}');
SELECT push.mark_read_each(:'subscribe_key', 'bob', 'user-bob', '{1}');
SELECT is(pg_temp.events('read-user-bob'), '', 'a message under the mark is no event');
SELECT push.publish(:'publish_key', 'user-bob', 'b3');
SELECT push.mark_read(:'subscribe_key', 'bob', 'user-bob', 3);
SELECT is(pg_temp.events('read-user-bob'), 'read:user-bob:3:-:0', 'bob''s mark on read-user-bob');

-- Events are not unread, and their channel is not markable.
SELECT is((SELECT count(*) FROM push.unread WHERE app = 'read-events-main' AND channel LIKE 'read-user-%'),
          0::bigint, 'read events count in no unread');
SELECT throws_ok(format($$SELECT push.mark_read(%L, 'alice', 'read-user-alice', 1)$$, :'subscribe_key'), 'PU400',
                 'channel: a read-user-<id> channel holds read events; it cannot be marked read',
                 'read-user-alice cannot be marked read');
SELECT throws_ok(format($$SELECT push.mark_read_each(%L, 'alice', 'read-user-alice', '{1}')$$, :'subscribe_key'),
                 'PU400', 'channel: a read-user-<id> channel holds read events; it cannot be marked read',
                 'nor read one by one');
SELECT * FROM finish();
ROLLBACK;
