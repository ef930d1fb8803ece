-- 018_publish_rows_by_id.sql: publish_rows in less work per message: the statement that locks the
-- channels also reads their heads and gives every message its channel id and seq, so the head
-- bump finds each channel row by its tid (017 joined push.channel by name, a join the planner
-- could make by scanning the whole table) and the message insert takes ids and seqs as arrays;
-- the msgid look-up and the renumbering around duplicates run only when a message has a msgid.
-- The channel name rule leaves its CHECK constraint (evaluated on every head bump) for triggers
-- on insert and rename. Results, seqs, lock order, errors and the notification's format are
-- those of 017.

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
