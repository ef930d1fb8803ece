-- unread-kept.sql: push.unread counts the messages still kept (011_goeasy.sql): what prune or
-- a channel reset removed is no longer unread.
BEGIN;
SELECT plan(4);

SELECT app_id, publish_key FROM push.app_create('kept-main') \gset
SELECT push.publish(:'publish_key', 'news', 'm' || i) FROM generate_series(1, 5) i;
SELECT push.mark_read(:'publish_key', 'alice', 'news', 1);
SELECT is((SELECT unread FROM push.unread WHERE app = 'kept-main' AND user_id = 'alice'), 4::bigint,
          'read up to 1 of 5: 4 unread');

-- Messages 1-3 grow old and are pruned: 4 and 5 are all that is left to read.
UPDATE push.message m SET created_at = now() - interval '1 year'
FROM push.channel c WHERE c.id = m.channel_id AND c.app_id = :app_id AND m.seq <= 3;
SELECT push.prune('7 days');
SELECT is((SELECT unread FROM push.unread WHERE app = 'kept-main' AND user_id = 'alice'), 2::bigint,
          'after prune removed messages 1-3: 2 unread, not 4');
SELECT is((SELECT last_seq FROM push.unread WHERE app = 'kept-main' AND user_id = 'alice'), 5::bigint,
          'last_seq stays 5');

SELECT push.reset_channel(:app_id, 'news');
SELECT is((SELECT unread FROM push.unread WHERE app = 'kept-main' AND user_id = 'alice'), 0::bigint,
          'after a reset of the channel: nothing unread');
SELECT * FROM finish();
ROLLBACK;
