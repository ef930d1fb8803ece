-- 009_group_publish.sql: many messages in one transaction with one notification: the set-based write path, batch publish on it, and group publish with an answer per message.

-- The name rules without a bounded repetition: the regex engine runs '^[...]{1,128}$' as a
-- large automaton (about 15 us a call), while a length test and a negated class cost about
-- 1 us. Same rules as 001; every publish checks them (and the channel row's CHECK on update).
CREATE OR REPLACE FUNCTION push.channel_valid(p_name text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(octet_length(p_name) BETWEEN 1 AND 128 AND p_name !~ '[^A-Za-z0-9_.=@/-]', false);

CREATE OR REPLACE FUNCTION push.user_valid(p_id text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(octet_length(p_id) BETWEEN 1 AND 64 AND p_id !~ '[^A-Za-z0-9_.=@-]', false);

-- The write path under push.publish_batch and push.publish_group: stores message i
-- (p_app_ids[i], p_channels[i], p_contents[i], p_senders[i]), already checked: one statement
-- locks the channels, one UPDATE bumps them, one INSERT stores the messages, and one
-- notification tells the listeners. Channels are created and locked in (app, name) order, so
-- that concurrent callers cannot deadlock; a channel's messages take consecutive seqs in input
-- order. After commit listeners on push_message get '<channel_id>:<seq>[,<channel_id>:<seq>...]',
-- each channel once with its newest seq, split over several notifications only when one would
-- pass 7,900 bytes.
CREATE FUNCTION push.publish_rows(p_app_ids int[], p_channels text[], p_contents text[], p_senders text[])
RETURNS TABLE(i int, channel_id bigint, seq bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_ids bigint[] := '{}';
    v_apps int[] := '{}';
    v_names text[] := '{}';
    v_lasts bigint[] := '{}';
    v_counts bigint[] := '{}';
    v_found bigint;
    v_payload text := '';
    v_item text;
BEGIN
    IF coalesce(cardinality(p_app_ids), 0) = 0 THEN
        RETURN;
    END IF;
    -- The channels in lock order, created when missing (a second pass then locks them too).
    SELECT array_agg(g.a ORDER BY g.a, g.n COLLATE "C"), array_agg(g.n ORDER BY g.a, g.n COLLATE "C"),
           array_agg(g.cnt ORDER BY g.a, g.n COLLATE "C")
    INTO v_apps, v_names, v_counts
    FROM (SELECT u.a, u.n, count(*) AS cnt FROM unnest(p_app_ids, p_channels) AS u(a, n) GROUP BY u.a, u.n) g;
    FOR pass IN 1 .. 2 LOOP
        PERFORM 1 FROM unnest(v_apps, v_names) WITH ORDINALITY AS g(a, n, k)
        CROSS JOIN LATERAL (SELECT 1 FROM push.channel c WHERE c.app_id = g.a AND c.name = g.n
                            FOR NO KEY UPDATE) l
        ORDER BY g.k;
        GET DIAGNOSTICS v_found = ROW_COUNT;
        EXIT WHEN v_found = cardinality(v_names) OR pass = 2;
        INSERT INTO push.channel (app_id, name)
        SELECT g.a, g.n FROM unnest(v_apps, v_names) WITH ORDINALITY AS g(a, n, k) ORDER BY g.k
        ON CONFLICT (app_id, name) DO NOTHING;
    END LOOP;
    WITH bumped AS (
        UPDATE push.channel c SET last_seq = c.last_seq + g.cnt, updated_at = now()
        FROM unnest(v_apps, v_names, v_counts) AS g(a, n, cnt)
        WHERE c.app_id = g.a AND c.name = g.n
        RETURNING c.id, c.app_id, c.name, c.last_seq, g.cnt
    )
    SELECT array_agg(b.id), array_agg(b.app_id), array_agg(b.name), array_agg(b.last_seq), array_agg(b.cnt)
    INTO v_ids, v_apps, v_names, v_lasts, v_counts
    FROM bumped b;
    FOR k IN 1 .. cardinality(v_ids) LOOP
        v_item := v_ids[k] || ':' || v_lasts[k];
        IF v_payload <> '' AND octet_length(v_payload) + octet_length(v_item) >= 7900 THEN
            PERFORM pg_notify('push_message', v_payload);
            v_payload := '';
        END IF;
        v_payload := CASE WHEN v_payload = '' THEN v_item ELSE v_payload || ',' || v_item END;
    END LOOP;

    RETURN QUERY
    WITH m AS (
        SELECT u.ord::int AS i, b.id, b.top - b.cnt + row_number() OVER (PARTITION BY b.id ORDER BY u.ord) AS seq,
               u.content, u.sender
        FROM unnest(p_app_ids, p_channels, p_contents, p_senders) WITH ORDINALITY AS u(a, n, content, sender, ord)
        JOIN unnest(v_ids, v_apps, v_names, v_lasts, v_counts) AS b(id, a, n, top, cnt) ON b.a = u.a AND b.n = u.n
    ), stored AS (
        INSERT INTO push.message (channel_id, seq, content, sender)
        SELECT m.id, m.seq, m.content, m.sender FROM m
    )
    SELECT m.i, m.id, m.seq FROM m ORDER BY m.i;
    PERFORM pg_notify('push_message', v_payload);
END $$;
COMMENT ON FUNCTION push.publish_rows(int[], text[], text[], text[]) IS
    'stores checked messages with one INSERT and one notification; returns (i, channel_id, seq) in input order';

-- Batch publish as in 002 (every message checked first, all or nothing, PU errors), written
-- through push.publish_rows: one notification for the batch instead of one per message.
CREATE OR REPLACE FUNCTION push.publish_batch(p_key text, p_channels text[], p_contents text[], p_sender text DEFAULT NULL)
RETURNS TABLE(channel text, seq bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_app push.app := push.app_by_key(p_key, true);
    v_channels text[] := ARRAY(SELECT unnest(p_channels));
    v_contents text[] := ARRAY(SELECT unnest(p_contents));
    v_count int := cardinality(v_channels);
BEGIN
    IF v_count = 0 THEN
        PERFORM push.fail(400, 'messages: at least one message is needed');
    END IF;
    IF v_count <> cardinality(v_contents) THEN
        PERFORM push.fail(400, format('messages: %s channels but %s contents', v_count, cardinality(v_contents)));
    END IF;
    FOR i IN 1 .. v_count LOOP
        PERFORM push.message_check(v_app, v_channels[i], v_contents[i], format('messages[%s].', i - 1));
    END LOOP;
    PERFORM push.sender_check(p_sender);
    PERFORM push.rate_take(v_app, v_count);
    RETURN QUERY
    SELECT v_channels[r.i], r.seq
    FROM push.publish_rows(array_fill(v_app.id, ARRAY[v_count]), v_channels, v_contents,
                           array_fill(nullif(p_sender, ''), ARRAY[v_count])) r
    ORDER BY r.i;
END $$;

-- Group publish: the single publishes of many requests in one transaction. Message i is
-- (p_keys[i], p_channels[i], p_contents[i], p_senders[i]) and is judged alone by the rules of
-- push.publish: a message that breaks one gets its status and text and is not stored, the
-- others are. Returns one row per message in input order: (i, seq, status 200, NULL) when
-- stored, (i, NULL, status, error) when refused. Errors that are not a message's (the
-- database's) still raise and store nothing.
CREATE FUNCTION push.publish_group(p_keys text[], p_channels text[], p_contents text[], p_senders text[])
RETURNS TABLE(i int, seq bigint, status int, error text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_count int := coalesce(cardinality(p_keys), 0);
    v_status int[] := array_fill(200, ARRAY[v_count]);
    v_error text[] := array_fill(NULL::text, ARRAY[v_count]);
    v_app_ids int[] := array_fill(NULL::int, ARRAY[v_count]);
    v_key_list text[] := '{}';
    v_apps push.app[] := '{}';
    v_key_status int[] := '{}';
    v_key_error text[] := '{}';
    v_app push.app;
    v_k int;
    v_state text;
    v_used int;
    v_over int;
    v_ok int[];
    v_seqs bigint[];
BEGIN
    IF v_count = 0 THEN
        RETURN;
    END IF;
    IF cardinality(p_channels) <> v_count OR cardinality(p_contents) <> v_count OR cardinality(p_senders) <> v_count THEN
        PERFORM push.fail(400, 'messages: keys, channels, contents and senders differ in number');
    END IF;
    FOR m IN 1 .. v_count LOOP
        v_k := array_position(v_key_list, p_keys[m]);
        IF v_k IS NOT NULL AND v_key_status[v_k] <> 200 THEN
            v_status[m] := v_key_status[v_k];
            v_error[m] := v_key_error[v_k];
            CONTINUE;
        END IF;
        -- The common case passes without a subtransaction: a known key and a message that
        -- keeps the rules. Otherwise the functions push.publish calls judge it, for the same
        -- status and text, and a new key is looked up once for the whole group.
        IF v_k IS NOT NULL THEN
            v_app := v_apps[v_k];
            IF push.channel_valid(p_channels[m]) AND p_contents[m] IS NOT NULL
               AND octet_length(p_contents[m]) <= v_app.max_message_bytes
               AND coalesce(octet_length(p_senders[m]), 0) <= 128 THEN
                v_app_ids[m] := v_app.id;
                CONTINUE;
            END IF;
        END IF;
        BEGIN
            IF v_k IS NULL THEN
                v_key_list := v_key_list || p_keys[m];
                v_k := cardinality(v_key_list);
                v_key_status[v_k] := 0;
                v_apps[v_k] := push.app_by_key(p_keys[m], true);
                v_key_status[v_k] := 200;
            END IF;
            PERFORM push.message_check(v_apps[v_k], p_channels[m], p_contents[m]);
            PERFORM push.sender_check(p_senders[m]);
            v_app_ids[m] := (v_apps[v_k]).id;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE;
            IF v_state NOT LIKE 'PU%' THEN
                RAISE;
            END IF;
            v_status[m] := substr(v_state, 3)::int;
            v_error[m] := SQLERRM;
            IF v_key_status[v_k] = 0 THEN
                v_key_status[v_k] := v_status[m];
                v_key_error[v_k] := SQLERRM;
            END IF;
        END;
    END LOOP;

    -- Rate: an app's messages past its allowance this second are refused, the first ones kept.
    FOR v_k IN 1 .. cardinality(v_key_list) LOOP
        v_app := v_apps[v_k];
        CONTINUE WHEN v_key_status[v_k] <> 200 OR v_app.publish_rate = 0;
        v_ok := ARRAY(SELECT m FROM generate_series(1, v_count) m
                      WHERE v_status[m] = 200 AND p_keys[m] = v_key_list[v_k] ORDER BY m);
        CONTINUE WHEN cardinality(v_ok) = 0;
        INSERT INTO push.rate_window AS r (app_id, window_start, used)
        VALUES (v_app.id, floor(extract(epoch FROM now()))::bigint, cardinality(v_ok))
        ON CONFLICT (app_id) DO UPDATE
            SET used = CASE WHEN EXCLUDED.window_start <= r.window_start THEN r.used + EXCLUDED.used
                            ELSE EXCLUDED.used END,
                window_start = greatest(r.window_start, EXCLUDED.window_start)
        RETURNING r.used INTO v_used;
        v_over := least(v_used - v_app.publish_rate, cardinality(v_ok));
        CONTINUE WHEN v_over <= 0;
        UPDATE push.rate_window SET used = used - v_over WHERE app_id = v_app.id;
        FOR j IN cardinality(v_ok) - v_over + 1 .. cardinality(v_ok) LOOP
            v_status[v_ok[j]] := 429;
            v_error[v_ok[j]] := format('rate: this app may publish at most %s messages per second', v_app.publish_rate);
        END LOOP;
    END LOOP;

    v_ok := ARRAY(SELECT m FROM generate_series(1, v_count) m WHERE v_status[m] = 200 ORDER BY m);
    v_seqs := array_fill(NULL::bigint, ARRAY[v_count]);
    IF cardinality(v_ok) = v_count THEN
        SELECT array_agg(r.seq ORDER BY r.i) INTO v_seqs
        FROM push.publish_rows(v_app_ids, p_channels, p_contents, array_replace(p_senders, '', NULL)) r;
    ELSIF cardinality(v_ok) > 0 THEN
        SELECT array_agg(r.seq ORDER BY r.i) INTO v_seqs
        FROM push.publish_rows(ARRAY(SELECT v_app_ids[m] FROM unnest(v_ok) WITH ORDINALITY AS o(m, n) ORDER BY n),
                               ARRAY(SELECT p_channels[m] FROM unnest(v_ok) WITH ORDINALITY AS o(m, n) ORDER BY n),
                               ARRAY(SELECT p_contents[m] FROM unnest(v_ok) WITH ORDINALITY AS o(m, n) ORDER BY n),
                               ARRAY(SELECT nullif(p_senders[m], '') FROM unnest(v_ok) WITH ORDINALITY AS o(m, n)
                                     ORDER BY n)) r;
    END IF;
    RETURN QUERY
    SELECT m, CASE WHEN v_status[m] = 200 THEN v_seqs[array_position(v_ok, m)] END, v_status[m], v_error[m]
    FROM generate_series(1, v_count) m ORDER BY m;
END $$;
COMMENT ON FUNCTION push.publish_group(text[], text[], text[], text[]) IS
    'publishes many single messages in one transaction; (i, seq, 200, NULL) per stored message, (i, NULL, status, error) per refused one';

GRANT EXECUTE ON FUNCTION push.publish_group(text[], text[], text[], text[]) TO push_service;
