-- example.sql: sql/examples/order_notify.sql installs, and a new order publishes to its customer's user channel.
BEGIN;
SET LOCAL client_min_messages = error;
\ir ../../sql/examples/order_notify.sql
SELECT plan(13);

SELECT app_id, publish_key FROM push.app_create('example-shop') \gset

SELECT lives_ok($$INSERT INTO shop.shop_order (user_id, total) VALUES ('alice', 1.00)$$,
                'without a configured key an order still goes in');
SELECT is((SELECT count(*)::int FROM push.message_log WHERE app = 'example-shop'), 0, '... and nothing is published');

INSERT INTO shop.push_config (publish_key) VALUES (:'publish_key');
INSERT INTO shop.shop_order (user_id, total) VALUES ('alice', 12.50) RETURNING id AS order_id \gset

SELECT results_eq($$SELECT channel, seq, sender, user_id, is_read FROM push.message_log WHERE app = 'example-shop'$$,
                  $$VALUES ('user-alice', 1::bigint, 'shop', 'alice', false)$$,
                  'an order publishes one message to user-alice from sender shop');
SELECT is((SELECT content::jsonb FROM push.message_log WHERE app = 'example-shop' AND channel = 'user-alice' AND seq = 1),
          jsonb_build_object('type', 'order', 'id', :order_id, 'total', 12.50, 'status', 'new'),
          'the message is the order as JSON');
SELECT is((SELECT content::json ->> 'total' FROM push.message_log
           WHERE app = 'example-shop' AND channel = 'user-alice' AND seq = 1), '12.50',
          'the total keeps its two decimals');
SELECT results_eq($$SELECT user_id, channel, unread FROM push.unread WHERE app = 'example-shop'$$,
                  $$VALUES ('alice', 'user-alice', 1::bigint)$$, 'alice has one unread notification');

INSERT INTO shop.shop_order (user_id, total) VALUES ('alice', 3), ('bob', 7);
SELECT results_eq($$SELECT channel, seq FROM push.message_log WHERE app = 'example-shop' ORDER BY channel, seq$$,
                  $$VALUES ('user-alice', 1::bigint), ('user-alice', 2::bigint), ('user-bob', 1::bigint)$$,
                  'each row of a multi-row insert notifies its own customer');

SAVEPOINT cancelled;
INSERT INTO shop.shop_order (user_id, total) VALUES ('alice', 99);
ROLLBACK TO SAVEPOINT cancelled;
SELECT is((SELECT last_seq FROM push.channel WHERE app_id = :app_id AND name = 'user-alice'), 2::bigint,
          'an order that rolls back leaves no notification');

SELECT lives_ok($$INSERT INTO shop.shop_order (user_id, total) VALUES ('not a user id', 5)$$,
                'an order whose user id makes no channel name still goes in');
SELECT is((SELECT count(*)::int FROM shop.shop_order), 5, '... the order is stored');
SELECT is((SELECT count(*)::int FROM push.message_log WHERE app = 'example-shop'), 3, '... and nothing more is published');

UPDATE shop.push_config SET publish_key = (SELECT subscribe_key FROM push.app_create('example-wrong'));
SELECT lives_ok($$INSERT INTO shop.shop_order (user_id, total) VALUES ('alice', 5)$$,
                'a wrong key does not block an order');
SELECT is((SELECT count(*)::int FROM push.message_log WHERE app LIKE 'example-%'), 3, '... and publishes nothing');

SELECT * FROM finish();
ROLLBACK;
