-- presence-events.sql: arrivals and departures on X published to presence-X (011_goeasy.sql):
-- online / offline per client, join / leave once per user however many tabs, only while
-- presence-X exists.
BEGIN;
SELECT plan(10);

SELECT app_id FROM push.app_create('events-main') \gset

-- events(channel): the actions published to it so far, with their user, in order.
CREATE FUNCTION pg_temp.events(p_channel text) RETURNS text
LANGUAGE sql AS $$
    SELECT coalesce(string_agg((m.content::jsonb ->> 'action') || ':' || coalesce(m.content::jsonb ->> 'userId', '-'),
                               ' ' ORDER BY m.seq), '')
    FROM push.message m JOIN push.channel c ON c.id = m.channel_id
    WHERE c.name = p_channel
$$;

-- Nobody follows presence-quiet: no channel, no event.
SELECT lives_ok(format($$SELECT push.presence_touch(%s, '{quiet}', 'tab0', 'alice')$$, :app_id), 'alice is on quiet');
SELECT is((SELECT count(*) FROM push.channel WHERE name = 'presence-quiet'), 0::bigint,
          'without a presence-quiet channel nothing is published');

-- A subscriber to presence-lobby opens it.
SELECT lives_ok(format($$SELECT * FROM push.channel_open(%s, '{presence-lobby}')$$, :app_id), 'presence-lobby is opened');
SELECT push.presence_touch(:app_id, '{lobby}', 'tab1', 'alice');
SELECT push.presence_touch(:app_id, '{lobby}', 'tab2', 'alice');
SELECT push.presence_touch(:app_id, '{lobby}', 'tab3', 'alice');
SELECT push.presence_touch(:app_id, '{lobby}', 'tab1', 'alice');   -- a refresh: nothing new
SELECT push.presence_touch(:app_id, '{lobby}', 'anon');
SELECT is(pg_temp.events('presence-lobby'), 'online:alice join:alice online:alice online:alice online:-',
          'three tabs of alice: online three times, join once; an anonymous client: online only');
SELECT is((SELECT (m.content::jsonb ->> 'clientAmount') || '/' || (m.content::jsonb ->> 'userAmount')
           FROM push.message m JOIN push.channel c ON c.id = m.channel_id
           WHERE c.name = 'presence-lobby' ORDER BY m.seq DESC LIMIT 1), '4/1',
          'the last event counts 4 clients and 1 user');
SELECT ok((SELECT bool_and((m.content::jsonb ->> 'time')::bigint > 0 AND m.content::jsonb -> 'userData' = '{}'::jsonb)
           FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.name = 'presence-lobby'),
          'each event has a time and userData');

SELECT push.presence_leave(:app_id, '{lobby}', 'tab1');
SELECT push.presence_leave(:app_id, NULL, 'tab2');
SELECT is(pg_temp.events('presence-lobby'),
          'online:alice join:alice online:alice online:alice online:- offline:alice offline:alice',
          'two of alice''s tabs go: offline twice, no leave');
SELECT push.presence_leave(:app_id, '{lobby}', 'tab3');
SELECT is(pg_temp.events('presence-lobby'),
          'online:alice join:alice online:alice online:alice online:- offline:alice offline:alice offline:alice leave:alice',
          'the last one goes: offline and leave');

-- Two tabs of carol that go in one statement (expiry): one leave.
SELECT push.presence_touch(:app_id, '{lobby}', 'c1', 'carol');
SELECT push.presence_touch(:app_id, '{lobby}', 'c2', 'carol');
UPDATE push.presence SET seen_at = now() - interval '1 hour' WHERE client_id IN ('c1', 'c2');
SELECT push.presence_expire('1 minute');
SELECT is(regexp_replace(pg_temp.events('presence-lobby'), '^.* leave:alice ', ''),
          'online:carol join:carol online:carol offline:carol offline:carol leave:carol',
          'two tabs of carol expiring together: offline twice, leave once');

-- Watching presence-lobby makes no events on presence-presence-lobby.
SELECT push.presence_touch(:app_id, '{presence-lobby}', 'watcher', 'bob');
SELECT is((SELECT count(*) FROM push.channel WHERE name LIKE 'presence-presence-%'), 0::bigint,
          'subscribers of presence-lobby are not announced');
SELECT * FROM finish();
ROLLBACK;
