-- 005_app_notify: tell the web programs when an app changes, so that their key caches never
-- serve stale keys, origins or limits for longer than a notification takes.

CREATE FUNCTION push.app_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('push_app', coalesce(NEW.id, OLD.id)::text);
    RETURN NULL;
END $$;
COMMENT ON FUNCTION push.app_notify() IS 'trigger: NOTIFY push_app ''<app_id>'' after an app is changed or deleted';

CREATE TRIGGER app_notify AFTER UPDATE OR DELETE ON push.app
    FOR EACH ROW EXECUTE FUNCTION push.app_notify();
