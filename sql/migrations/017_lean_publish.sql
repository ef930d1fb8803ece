-- 017_lean_publish.sql: the group and batch publish paths in fewer statements, without a query per
-- message: publish_group and publish_batch check messages that all pass in one query (the
-- message-by-message checks of 015 run only when one does not); publish_rows locks the channels
-- and reads their heads in one statement, bumps each channel row by its tid and inserts the
-- messages from arrays (the msgid look-up only when a message has one); the messages' foreign key
-- (a look-up per inserted row) becomes a cascade trigger, and the channel name rule leaves its
-- CHECK constraint (evaluated on every head bump) for triggers on insert and rename. Results,
-- seqs, lock order, errors and the notification's format are those of 015.

-- 015's publish_group, kept as the path of groups with a refused message or a rate-limited app.
ALTER FUNCTION push.publish_group(text[], text[], text[], text[], text[]) RENAME TO publish_group_each;
REVOKE EXECUTE ON FUNCTION push.publish_group_each(text[], text[], text[], text[], text[]) FROM push_service;
COMMENT ON FUNCTION push.publish_group_each(text[], text[], text[], text[], text[]) IS
    'publish_group judging each message alone (015): the path of groups with a refused message or an app '
    'with a publish rate';

-- One query resolves each key once and checks every message with the rules of app_by_key,
-- message_check, sender_check and msgid_check. When all pass and no app has a publish rate, the
-- group goes to publish_rows as it is; otherwise publish_group_each judges each message (and
-- raises the same errors for arrays of different lengths).
CREATE FUNCTION push.publish_group(p_keys text[], p_channels text[], p_contents text[], p_senders text[],
                                   p_msgids text[] DEFAULT NULL)
RETURNS TABLE(i int, seq bigint, status int, error text, time_ms bigint, duplicate bool)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_count int := coalesce(cardinality(p_keys), 0);
    v_app_ids int[];
    v_pass bool;
BEGIN
    IF v_count > 0 AND cardinality(p_channels) = v_count AND cardinality(p_contents) = v_count
       AND cardinality(p_senders) = v_count AND coalesce(cardinality(p_msgids), v_count) = v_count THEN
        SELECT array_agg(a.id ORDER BY u.ord),
               bool_and(a.id IS NOT NULL AND a.role <> 'subscribe' AND a.publish_rate = 0
                        AND push.channel_valid(u.n) AND u.c IS NOT NULL
                        AND octet_length(u.c) <= a.max_message_bytes
                        AND coalesce(octet_length(u.s), 0) <= 128
                        AND (u.id IS NULL OR push.msgid_valid(u.id)))
        INTO v_app_ids, v_pass
        FROM unnest(p_keys, p_channels, p_contents, p_senders, coalesce(p_msgids, array_fill(NULL::text, ARRAY[v_count])))
             WITH ORDINALITY AS u(k, n, c, s, id, ord)
        LEFT JOIN (SELECT d.k, ak.role, ap.id, ap.publish_rate, ap.max_message_bytes
                   FROM (SELECT DISTINCT x.k FROM unnest(p_keys) AS x(k)) d
                   JOIN push.app_key ak ON ak.hash = sha256(convert_to(d.k, 'UTF8'))
                                       AND (ak.expires_at IS NULL OR ak.expires_at > now())
                   JOIN push.app ap ON ap.id = ak.app_id) a ON a.k = u.k;
        IF v_pass THEN
            RETURN QUERY
            SELECT r.i, r.seq, 200, NULL::text, r.time_ms, r.duplicate
            FROM push.publish_rows(v_app_ids, p_channels, p_contents, array_replace(p_senders, '', NULL), p_msgids) r
            ORDER BY r.i;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT * FROM push.publish_group_each(p_keys, p_channels, p_contents, p_senders, p_msgids);
END $$;
COMMENT ON FUNCTION push.publish_group(text[], text[], text[], text[], text[]) IS
    'publishes many single messages in one transaction; (i, seq, 200, NULL, time_ms, duplicate) per stored '
    'or duplicate message, (i, NULL, status, error, NULL, NULL) per refused one';
GRANT EXECUTE ON FUNCTION push.publish_group(text[], text[], text[], text[], text[]) TO push_service;

-- The write path of 015 in fewer statements: lock the channels in (app, name) order (making the
-- missing ones) while reading their heads and giving every message its channel id and seq, look up
-- msgids (only when there are some), bump each channel once by its tid and build its notification
-- items, insert the messages. The notification is one NOTIFY of '<id>:<last_seq>' items separated
-- by commas, split into several below 7,900 bytes each when it is longer.
CREATE OR REPLACE FUNCTION push.publish_rows(p_app_ids int[], p_channels text[], p_contents text[], p_senders text[],
                                             p_msgids text[] DEFAULT NULL)
RETURNS TABLE(i int, seq bigint, time_ms bigint, duplicate bool)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_wanted bigint;
    v_found bigint;
    v_ids bigint[];       -- per channel to bump: its id
    v_rows tid[];         -- per channel to bump: its row, locked by this transaction
    v_tops bigint[];      -- per channel to bump: its last_seq after this call
    v_chan bigint[];      -- per message: its channel's id
    v_seqs bigint[];      -- per message: the seq it is stored with; NULL when it is a duplicate
    v_first int[];        -- per message with a msgid: the first message of this call with it
    v_old_seq bigint[];   -- per message: the seq of a kept message with its msgid, else NULL
    v_old_ms bigint[];
    v_items text[];
    v_payload text;
    v_now_ms bigint := (extract(epoch FROM now()) * 1000)::bigint;
BEGIN
    IF coalesce(cardinality(p_app_ids), 0) = 0 THEN
        RETURN;
    END IF;
    -- The sorted channels drive the nested loops, so rows are locked in (app, name) order. The
    -- locked row is the newest version, so last_seq + the message's rank on its channel is its seq.
    FOR pass IN 1 .. 2 LOOP
        WITH l AS MATERIALIZED (
            SELECT g.a, g.n, g.cnt, c.id, c.row, c.last_seq
            FROM (SELECT u.a, u.n, count(*) AS cnt FROM unnest(p_app_ids, p_channels) AS u(a, n)
                  GROUP BY u.a, u.n ORDER BY u.a, u.n COLLATE "C") g
            LEFT JOIN LATERAL (SELECT c.id, c.ctid AS row, c.last_seq FROM push.channel c
                               WHERE c.app_id = g.a AND c.name = g.n FOR NO KEY UPDATE) c ON true
        )
        SELECT w.wanted, w.found, w.ids, w.rows, w.tops, m.chans, m.seqs
        INTO v_wanted, v_found, v_ids, v_rows, v_tops, v_chan, v_seqs
        FROM (SELECT count(*) AS wanted, count(l.id) AS found, array_agg(l.id) AS ids, array_agg(l.row) AS rows,
                     array_agg(l.last_seq + l.cnt) AS tops FROM l) w,
             (SELECT array_agg(y.id) AS chans, array_agg(y.seq) AS seqs
              FROM (SELECT l.id, l.last_seq + u.k AS seq
                    FROM (SELECT x.a, x.n, x.ord, row_number() OVER (PARTITION BY x.a, x.n ORDER BY x.ord) AS k
                          FROM unnest(p_app_ids, p_channels) WITH ORDINALITY AS x(a, n, ord)) u
                    JOIN l ON l.a = u.a AND l.n = u.n
                    ORDER BY u.ord) y) m;
        EXIT WHEN v_found = v_wanted OR pass = 2;
        INSERT INTO push.channel (app_id, name)
        SELECT u.a, u.n FROM unnest(p_app_ids, p_channels) AS u(a, n)
        GROUP BY u.a, u.n ORDER BY u.a, u.n COLLATE "C"
        ON CONFLICT (app_id, name) DO NOTHING;
    END LOOP;

    -- With msgids: a statement of its own, whose snapshot (taken after the locks) sees every
    -- message committed to these channels before. Duplicates are not stored, the other messages
    -- of their channel close up, and a channel left without a new message is not bumped.
    IF cardinality(array_remove(p_msgids, NULL)) > 0 THEN
        SELECT array_agg(x.first ORDER BY x.ord), array_agg(x.old_seq ORDER BY x.ord),
               array_agg(x.old_ms ORDER BY x.ord)
        INTO v_first, v_old_seq, v_old_ms
        FROM (SELECT u.ord,
                     CASE WHEN u.msgid IS NOT NULL THEN min(u.ord) OVER (PARTITION BY v_chan[u.ord], u.msgid) END::int AS first,
                     m.seq AS old_seq, (extract(epoch FROM m.created_at) * 1000)::bigint AS old_ms
              FROM unnest(p_msgids) WITH ORDINALITY AS u(msgid, ord)
              LEFT JOIN push.message m ON u.msgid IS NOT NULL AND m.channel_id = v_chan[u.ord] AND m.msgid = u.msgid
                                          AND m.msgid IS NOT NULL) x;
        WITH x AS (
            SELECT w.ord, w.chan,
                   CASE WHEN w.keep THEN w.seq - row_number() OVER c + count(*) FILTER (WHERE w.keep) OVER c END AS s
            FROM (SELECT u.ord, v_chan[u.ord] AS chan, u.seq,
                         coalesce(v_first[u.ord], u.ord) = u.ord AND v_old_seq[u.ord] IS NULL AS keep
                  FROM unnest(v_seqs) WITH ORDINALITY AS u(seq, ord)) w
            WINDOW c AS (PARTITION BY w.chan ORDER BY w.ord)
        ), t AS (
            SELECT x.chan, max(x.s) AS top FROM x WHERE x.s IS NOT NULL GROUP BY x.chan
        )
        SELECT (SELECT array_agg(x.s ORDER BY x.ord) FROM x), array_agg(t.chan), array_agg(r.row), array_agg(t.top)
        INTO v_seqs, v_ids, v_rows, v_tops
        FROM t JOIN unnest(v_ids, v_rows) AS r(id, row) ON r.id = t.chan;
    END IF;

    -- Each row is found by its tid, which stays while this transaction holds the row's lock.
    WITH bumped AS (
        UPDATE push.channel c SET last_seq = b.top, updated_at = now()
        FROM unnest(v_rows, v_ids, v_tops) AS b(row, id, top)
        WHERE c.ctid = b.row AND c.id = b.id
        RETURNING c.id || ':' || c.last_seq AS item
    ), stored AS (
        INSERT INTO push.message (channel_id, seq, content, sender, msgid)
        SELECT x.id, x.seq, x.content, x.sender, x.msgid
        FROM unnest(v_chan, v_seqs, p_contents, p_senders, p_msgids) AS x(id, seq, content, sender, msgid)
        WHERE x.seq IS NOT NULL
    )
    SELECT array_agg(b.item) INTO v_items FROM bumped b;
    IF coalesce(cardinality(v_items), 0) <> coalesce(cardinality(v_ids), 0) THEN
        RAISE EXCEPTION 'publish_rows: % of % channel rows bumped', coalesce(cardinality(v_items), 0),
            coalesce(cardinality(v_ids), 0);
    END IF;

    RETURN QUERY
    SELECT x.i, coalesce(v_old_seq[x.f], v_seqs[x.f]), coalesce(v_old_ms[x.f], v_now_ms),
           x.f <> x.i OR v_old_seq[x.f] IS NOT NULL
    FROM (SELECT o.i::int AS i, coalesce(v_first[o.i], o.i::int) AS f
          FROM unnest(v_chan) WITH ORDINALITY AS o(id, i)) x;

    v_payload := array_to_string(v_items, ',');
    IF octet_length(v_payload) < 7900 THEN
        PERFORM pg_notify('push_message', v_payload);
    ELSIF v_payload IS NOT NULL THEN
        v_payload := '';
        FOR k IN 1 .. cardinality(v_items) LOOP
            IF v_payload <> '' AND octet_length(v_payload) + octet_length(v_items[k]) >= 7900 THEN
                PERFORM pg_notify('push_message', v_payload);
                v_payload := '';
            END IF;
            v_payload := CASE WHEN v_payload = '' THEN v_items[k] ELSE v_payload || ',' || v_items[k] END;
        END LOOP;
        PERFORM pg_notify('push_message', v_payload);
    END IF;
END $$;
COMMENT ON FUNCTION push.publish_rows(int[], text[], text[], text[], text[]) IS
    'stores checked messages with one INSERT and one notification, a message whose msgid its channel holds '
    'as a duplicate of that one; returns (i, seq, time_ms, duplicate) in input order';

-- The messages' foreign key ran a query per inserted message to find its channel. Both writers
-- of push.message (publish_rows and publish_app) hold their channel's row lock while they insert,
-- so that check never fails; what stays is the cascade: a statement trigger deletes the messages
-- of the channels a statement deleted (push.app_delete, push.prune, a DELETE by hand).
ALTER TABLE push.message DROP CONSTRAINT message_channel_id_fkey;
CREATE FUNCTION push.channel_delete_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM push.message m USING gone g WHERE m.channel_id = g.id;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION push.channel_delete_messages() IS
    'trigger: deletes the messages of the channels deleted by a statement (the cascade of the former foreign key)';
CREATE TRIGGER channel_delete_messages AFTER DELETE ON push.channel REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION push.channel_delete_messages();

-- 015's publish_batch, kept as the path of batches with a refused message (it names the first).
ALTER FUNCTION push.publish_batch(text, text[], text[], text, text[]) RENAME TO publish_batch_each;
REVOKE EXECUTE ON FUNCTION push.publish_batch_each(text, text[], text[], text, text[]) FROM push_service;
COMMENT ON FUNCTION push.publish_batch_each(text, text[], text[], text, text[]) IS
    'publish_batch checking each message in turn (015): the path of batches with a refused message';

-- The key is resolved once and every message checked in one query; when all pass, the batch goes
-- to publish_rows as it is, otherwise publish_batch_each finds and raises the first error.
CREATE FUNCTION push.publish_batch(p_key text, p_channels text[], p_contents text[], p_sender text DEFAULT NULL,
                                   p_msgids text[] DEFAULT NULL)
RETURNS TABLE(channel text, seq bigint, duplicate bool, time_ms bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_count int := coalesce(cardinality(p_channels), 0);
    v_app push.app;
BEGIN
    IF v_count > 0 AND array_ndims(p_channels) = 1 AND array_lower(p_channels, 1) = 1 AND array_ndims(p_contents) = 1
       AND cardinality(p_contents) = v_count AND coalesce(cardinality(p_msgids), v_count) = v_count
       AND coalesce(array_ndims(p_msgids), 1) = 1 AND coalesce(octet_length(p_sender), 0) <= 128 THEN
        v_app := push.app_by_key(p_key, true);
        IF (SELECT bool_and(push.channel_valid(u.n) AND u.c IS NOT NULL AND octet_length(u.c) <= v_app.max_message_bytes
                            AND (u.id IS NULL OR push.msgid_valid(u.id)))
            FROM unnest(p_channels, p_contents, coalesce(p_msgids, array_fill(NULL::text, ARRAY[v_count]))) AS u(n, c, id)) THEN
            PERFORM push.rate_take(v_app, v_count);
            RETURN QUERY
            SELECT p_channels[r.i], r.seq, r.duplicate, r.time_ms
            FROM push.publish_rows(array_fill(v_app.id, ARRAY[v_count]), p_channels, p_contents,
                                   array_fill(nullif(p_sender, ''), ARRAY[v_count]), p_msgids) r
            ORDER BY r.i;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT * FROM push.publish_batch_each(p_key, p_channels, p_contents, p_sender, p_msgids);
END $$;
COMMENT ON FUNCTION push.publish_batch(text, text[], text[], text, text[]) IS
    'publishes p_contents[i] to p_channels[i] (msgid p_msgids[i]), all or nothing; returns (channel, seq, '
    'duplicate, time_ms) in input order';
GRANT EXECUTE ON FUNCTION push.publish_batch(text, text[], text[], text, text[]) TO push_service;

-- A CHECK constraint runs on every UPDATE, and this one is the name rule (a regular expression and
-- an NFC test, inlined anew for each statement): it ran for every head bump. The name is checked
-- where it can change instead, with the same error: before an INSERT and after an UPDATE of name.
ALTER TABLE push.channel DROP CONSTRAINT channel_name_check;
CREATE FUNCTION push.channel_name_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT push.channel_valid(NEW.name) THEN
        RAISE EXCEPTION 'new row for relation "channel" violates check constraint "channel_name_check"'
            USING ERRCODE = 'check_violation', SCHEMA = 'push', TABLE = 'channel', CONSTRAINT = 'channel_name_check';
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION push.channel_name_check() IS
    'trigger: refuses a channel row whose name push.channel_valid refuses (SQLSTATE 23514, as the CHECK it replaces)';
CREATE TRIGGER channel_name_check BEFORE INSERT ON push.channel
    FOR EACH ROW EXECUTE FUNCTION push.channel_name_check();
-- AFTER: a BEFORE UPDATE row trigger would fetch and lock every updated row, head bumps included.
CREATE TRIGGER channel_name_change AFTER UPDATE OF name ON push.channel
    FOR EACH ROW EXECUTE FUNCTION push.channel_name_check();
