-- order_notify.sql: example: a new shop order notifies its customer on channel user-<id>, in the order's transaction.
--
-- Install (after the push migrations), give it a publish key, and try it:
--
--   psql "$PUSH_DSN" -f sql/examples/order_notify.sql
--   pushctl app create shop          # prints the keys once; or in SQL: SELECT * FROM push.app_create('shop');
--   psql "$PUSH_DSN" -c "INSERT INTO shop.push_config (publish_key) VALUES ('BC-...')"
--   pushctl tail user-alice &        # or a page subscribed to user-alice with a token for alice
--   psql "$PUSH_DSN" -c "INSERT INTO shop.shop_order (user_id, total) VALUES ('alice', 12.50)"
--   psql "$PUSH_DSN" -c "SELECT seq, content, is_read FROM push.message_log WHERE channel = 'user-alice'"
--
-- The message is {"type":"order","id":1,"total":12.50,"status":"new"} from sender 'shop'. It is published
-- only if the order commits, and subscribers hear of it after the commit. Remove with DROP SCHEMA shop CASCADE.
-- Running this file again keeps the tables and their rows and replaces the trigger function.

CREATE SCHEMA IF NOT EXISTS shop;

CREATE TABLE IF NOT EXISTS shop.push_config (
    only_row bool PRIMARY KEY DEFAULT true CHECK (only_row),
    publish_key text NOT NULL
);
COMMENT ON TABLE shop.push_config IS 'the publish key the shop''s triggers use (one row)';

CREATE TABLE IF NOT EXISTS shop.shop_order (
    id bigserial PRIMARY KEY,
    user_id text NOT NULL,
    total numeric(12, 2) NOT NULL,
    status text NOT NULL DEFAULT 'new',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION shop.order_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := (SELECT publish_key FROM shop.push_config);
BEGIN
    IF v_key IS NULL THEN
        RAISE WARNING 'order %: no publish key in shop.push_config, customer not notified', NEW.id;
        RETURN NULL;
    END IF;
    -- A notification must never cost an order: a push error (bad user id, rate limit) becomes a warning.
    BEGIN
        PERFORM push.publish(v_key, 'user-' || NEW.user_id,
                             json_build_object('type', 'order', 'id', NEW.id, 'total', NEW.total,
                                               'status', NEW.status)::text,
                             'shop');
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'order %: customer not notified: %', NEW.id, SQLERRM;
    END;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER shop_order_notify
    AFTER INSERT ON shop.shop_order
    FOR EACH ROW EXECUTE FUNCTION shop.order_notify();
