-- 018_channel_id_lock.sql: two sessions making the same channel row at once no longer fail on the primary key; the second waits for the first and finds its row.

-- Both rows of a race get the same hashed id. The inserts name (app_id, name) as their conflict
-- target, and when both passed that check before either had inserted, the second failed on the
-- primary key ("duplicate key value violates unique constraint channel_pkey") instead of doing
-- nothing. The id's transaction-scoped advisory lock makes the second wait for the first to end;
-- it then sees the first row (and keeps a sequence id, which ON CONFLICT then discards) or, when
-- the first rolled back, takes the hashed id itself.
CREATE OR REPLACE FUNCTION push.channel_id_assign() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint := push.channel_id_of(NEW.app_id, NEW.name);
BEGIN
    PERFORM pg_advisory_xact_lock(v_id);
    IF NOT EXISTS (SELECT 1 FROM push.channel c WHERE c.id = v_id) THEN
        NEW.id := v_id;
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION push.channel_id_assign() IS
    'gives a new channel row the id push.channel_id_of(app, name) unless a row has it, holding that '
    'id''s advisory lock until the transaction ends so concurrent makers of one channel take turns';
