-- retention.sql: each app's own retention (015_msgid_retention.sql): set by push.app_update,
-- applied by push.prune, and unread counts count only what is kept.
BEGIN;
SELECT plan(14);

SELECT app_id AS aged_id, publish_key AS aged_key FROM push.app_create('retention-aged') \gset
SELECT app_id AS capped_id, publish_key AS capped_key FROM push.app_create('retention-capped') \gset
SELECT app_id AS plain_id, publish_key AS plain_key FROM push.app_create('retention-plain') \gset
CREATE FUNCTION pg_temp.seqs(p_app int, p_channel text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(m.seq::text, ',' ORDER BY m.seq), '')
    FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.app_id = p_app AND c.name = p_channel $$;

SELECT lives_ok($$SELECT push.app_update('retention-aged', p_retention => '1 hour')$$, 'an age');
SELECT lives_ok($$SELECT push.app_update('retention-capped', p_retention => '30 days, 3 messages')$$, 'an age and a count');
SELECT results_eq($$SELECT name, retention, retention_messages FROM push.app WHERE name LIKE 'retention-%' ORDER BY name$$,
                  $$VALUES ('retention-aged', interval '1 hour', NULL::int), ('retention-capped', interval '30 days', 3),
                           ('retention-plain', NULL::interval, NULL::int)$$,
                  'app_update stores them; NULL is the operator''s default');
SELECT throws_ok($$SELECT push.app_update('retention-aged', p_retention => 'soon')$$, 'PU400',
                 'retention: must be ''default'', an interval (''30 days''), ''<n> messages'' or both separated by a comma',
                 'an unreadable retention is a 400');
SELECT throws_ok($$SELECT push.app_update('retention-aged', p_retention => '0 messages')$$, 'PU400',
                 'retention: must be ''default'', an interval (''30 days''), ''<n> messages'' or both separated by a comma',
                 'zero messages is a 400');
SELECT throws_ok($$SELECT push.app_update('retention-aged', p_retention => '-1 day')$$, 'PU400',
                 'retention: must be zero or more', 'a negative age is a 400');

-- Five messages on each app's channel news, and on capped's other channel a second one.
SELECT push.publish(k, 'news', 'm' || i) FROM unnest(ARRAY[:'aged_key', :'capped_key', :'plain_key']) k,
       generate_series(1, 5) i;
SELECT push.publish(:'capped_key', 'other', 'o' || i) FROM generate_series(1, 2) i;
SELECT push.mark_read(:'capped_key', 'alice', 'news', 1);
SELECT is((SELECT unread FROM push.unread WHERE app = 'retention-capped' AND user_id = 'alice'), 4::bigint,
          'capped: read up to 1 of 5, 4 unread');
-- Messages 1 and 2 of every app are two hours old.
UPDATE push.message m SET created_at = now() - interval '2 hours'
FROM push.channel c WHERE c.id = m.channel_id AND m.seq <= 2 AND c.app_id IN (:aged_id, :capped_id, :plain_id);

SELECT is(push.prune('7 days'), 4::bigint, 'prune deleted 4 messages');
SELECT is(pg_temp.seqs(:aged_id, 'news'), '3,4,5', 'aged: its hour of retention removed the two old ones');
SELECT is(pg_temp.seqs(:capped_id, 'news'), '3,4,5', 'capped: only the 3 newest seqs are kept');
SELECT is(pg_temp.seqs(:capped_id, 'other'), '1,2', 'capped: a channel under the count keeps all');
SELECT is(pg_temp.seqs(:plain_id, 'news'), '1,2,3,4,5', 'plain: the default of 7 days keeps all');
SELECT is((SELECT unread FROM push.unread WHERE app = 'retention-capped' AND user_id = 'alice'), 3::bigint,
          'capped: unread counts only the kept messages after the mark');

SELECT push.app_update('retention-aged', p_retention => 'default');
SELECT is((SELECT row(retention, retention_messages)::text FROM push.app WHERE name = 'retention-aged'), '(,)',
          '''default'' clears both');
SELECT * FROM finish();
ROLLBACK;
