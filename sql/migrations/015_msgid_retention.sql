-- 015_msgid_retention.sql: idempotent publishing (a client's message id answers a retry with the
-- first publish's seq and stores nothing new) and each app's own retention, applied by push.prune.
--
-- msgid: an optional id the publisher gives a message, 1-64 bytes of printable ASCII without
-- spaces, unique per channel among the messages kept. A publish whose msgid the channel already
-- holds (or that an earlier message of the same call carries) is a duplicate: it stores nothing
-- and answers the seq and time of the message first stored with it. The first one's content
-- stays. Once that message is pruned or its channel reset, the msgid may be used again.

ALTER TABLE push.message ADD COLUMN msgid text;
COMMENT ON COLUMN push.message.msgid IS 'the publisher''s id for the message (push.msgid_valid), unique per channel; NULL: none';
-- Only messages that have one are in the index, so a publish without msgid does not pay for it.
CREATE UNIQUE INDEX message_msgid_idx ON push.message (channel_id, msgid) WHERE msgid IS NOT NULL;

CREATE FUNCTION push.msgid_valid(p_msgid text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(octet_length(p_msgid) BETWEEN 1 AND 64 AND p_msgid !~ '[^!-~]', false);
COMMENT ON FUNCTION push.msgid_valid(text) IS 'true for 1-64 bytes of printable ASCII without spaces (0x21-0x7e)';

-- Raises PU400 naming p_where || 'msgid' unless p_msgid is NULL (none) or valid.
CREATE FUNCTION push.msgid_check(p_msgid text, p_where text DEFAULT '') RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_msgid IS NOT NULL AND NOT push.msgid_valid(p_msgid) THEN
        PERFORM push.fail(400, p_where || 'msgid: must be 1-64 characters of printable ASCII without spaces');
    END IF;
END $$;

-- The write path of 009 with message ids. Channels are locked first, so the look-up of the
-- ids that follows (a statement of its own, with a snapshot taken after the locks) sees every
-- message committed to them before: two calls with the same msgid on a channel never both
-- store. Returns (i, seq, time_ms, duplicate) in input order; time_ms is the stored message's
-- created_at in Unix ms. Channels whose messages are all duplicates are neither bumped nor
-- notified.
DROP FUNCTION push.publish_rows(int[], text[], text[], text[]);
CREATE FUNCTION push.publish_rows(p_app_ids int[], p_channels text[], p_contents text[], p_senders text[],
                                  p_msgids text[] DEFAULT NULL)
RETURNS TABLE(i int, seq bigint, time_ms bigint, duplicate bool)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_ids bigint[] := '{}';
    v_apps int[] := '{}';
    v_names text[] := '{}';
    v_lasts bigint[] := '{}';
    v_counts bigint[] := '{}';
    v_first int[];        -- per message with a msgid: the first message of this call with it
    v_old_seq bigint[];   -- per message: the seq of a kept message with its msgid, else NULL
    v_old_ms bigint[];
    v_found bigint;
    v_payload text := '';
    v_item text;
    v_now_ms bigint := (extract(epoch FROM now()) * 1000)::bigint;
BEGIN
    IF coalesce(cardinality(p_app_ids), 0) = 0 THEN
        RETURN;
    END IF;
    -- The channels in lock order, created when missing (a second pass then locks them too).
    SELECT array_agg(g.a ORDER BY g.a, g.n COLLATE "C"), array_agg(g.n ORDER BY g.a, g.n COLLATE "C")
    INTO v_apps, v_names
    FROM (SELECT DISTINCT u.a, u.n FROM unnest(p_app_ids, p_channels) AS u(a, n)) g;
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

    IF cardinality(array_remove(p_msgids, NULL)) > 0 THEN
        SELECT array_agg(x.first ORDER BY x.ord), array_agg(x.old_seq ORDER BY x.ord),
               array_agg(x.old_ms ORDER BY x.ord)
        INTO v_first, v_old_seq, v_old_ms
        FROM (SELECT u.ord,
                     CASE WHEN u.msgid IS NOT NULL THEN min(u.ord) OVER (PARTITION BY u.a, u.n, u.msgid) END::int AS first,
                     m.seq AS old_seq, (extract(epoch FROM m.created_at) * 1000)::bigint AS old_ms
              FROM unnest(p_app_ids, p_channels, p_msgids) WITH ORDINALITY AS u(a, n, msgid, ord)
              LEFT JOIN push.channel c ON u.msgid IS NOT NULL AND c.app_id = u.a AND c.name = u.n
              LEFT JOIN push.message m ON m.channel_id = c.id AND m.msgid = u.msgid AND m.msgid IS NOT NULL) x;
    END IF;

    WITH bumped AS (
        UPDATE push.channel c SET last_seq = c.last_seq + g.cnt, updated_at = now()
        FROM (SELECT u.a, u.n, count(*) AS cnt
              FROM unnest(p_app_ids, p_channels) WITH ORDINALITY AS u(a, n, ord)
              WHERE coalesce(v_first[u.ord], u.ord) = u.ord AND v_old_seq[coalesce(v_first[u.ord], u.ord)] IS NULL
              GROUP BY u.a, u.n) g
        WHERE c.app_id = g.a AND c.name = g.n
        RETURNING c.id, c.app_id, c.name, c.last_seq, g.cnt
    )
    SELECT coalesce(array_agg(b.id), '{}'), array_agg(b.app_id), array_agg(b.name), array_agg(b.last_seq),
           array_agg(b.cnt)
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
    WITH u AS (
        SELECT x.ord::int AS i, x.a, x.n, x.content, x.sender, x.msgid, coalesce(v_first[x.ord], x.ord)::int AS first
        FROM unnest(p_app_ids, p_channels, p_contents, p_senders, p_msgids)
             WITH ORDINALITY AS x(a, n, content, sender, msgid, ord)
    ), m AS (
        SELECT u.i, b.id, b.top - b.cnt + row_number() OVER (PARTITION BY b.id ORDER BY u.i) AS seq,
               u.content, u.sender, u.msgid
        FROM u
        JOIN unnest(v_ids, v_apps, v_names, v_lasts, v_counts) AS b(id, a, n, top, cnt) ON b.a = u.a AND b.n = u.n
        WHERE u.first = u.i AND v_old_seq[u.i] IS NULL
    ), stored AS (
        INSERT INTO push.message (channel_id, seq, content, sender, msgid)
        SELECT m.id, m.seq, m.content, m.sender, m.msgid FROM m
    )
    SELECT u.i, coalesce(v_old_seq[u.first], f.seq), coalesce(v_old_ms[u.first], v_now_ms), u.first <> u.i OR
           v_old_seq[u.first] IS NOT NULL
    FROM u LEFT JOIN m f ON f.i = u.first
    ORDER BY u.i;
    IF v_payload <> '' THEN
        PERFORM pg_notify('push_message', v_payload);
    END IF;
END $$;
COMMENT ON FUNCTION push.publish_rows(int[], text[], text[], text[], text[]) IS
    'stores checked messages with one INSERT and one notification, a message whose msgid its channel holds '
    'as a duplicate of that one; returns (i, seq, time_ms, duplicate) in input order';

-- The single publish of SQL clients: as in 002 with a msgid, through the one write path.
DROP FUNCTION push.publish(text, text, text, text);
CREATE FUNCTION push.publish(p_key text, p_channel text, p_content text, p_sender text DEFAULT NULL,
                             p_msgid text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
DECLARE
    v_app push.app := push.app_by_key(p_key, true);
BEGIN
    PERFORM push.message_check(v_app, p_channel, p_content);
    PERFORM push.sender_check(p_sender);
    PERFORM push.msgid_check(p_msgid);
    PERFORM push.rate_take(v_app, 1);
    RETURN (SELECT r.seq FROM push.publish_rows(ARRAY[v_app.id], ARRAY[p_channel], ARRAY[p_content],
                                                ARRAY[nullif(p_sender, '')], ARRAY[p_msgid]) r);
END $$;
COMMENT ON FUNCTION push.publish(text, text, text, text, text) IS
    'publishes content to a channel with a publish key; returns the new seq, or with a msgid the channel '
    'already holds the seq of that message (PU400/401/403/413/429 on errors)';

DROP FUNCTION push.publish_batch(text, text[], text[], text);
CREATE FUNCTION push.publish_batch(p_key text, p_channels text[], p_contents text[], p_sender text DEFAULT NULL,
                                   p_msgids text[] DEFAULT NULL)
RETURNS TABLE(channel text, seq bigint, duplicate bool, time_ms bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_app push.app := push.app_by_key(p_key, true);
    v_channels text[] := ARRAY(SELECT unnest(p_channels));
    v_contents text[] := ARRAY(SELECT unnest(p_contents));
    v_msgids text[] := ARRAY(SELECT unnest(p_msgids));
    v_count int := cardinality(v_channels);
BEGIN
    IF v_count = 0 THEN
        PERFORM push.fail(400, 'messages: at least one message is needed');
    END IF;
    IF v_count <> cardinality(v_contents) THEN
        PERFORM push.fail(400, format('messages: %s channels but %s contents', v_count, cardinality(v_contents)));
    END IF;
    IF p_msgids IS NOT NULL AND v_count <> cardinality(v_msgids) THEN
        PERFORM push.fail(400, format('messages: %s channels but %s msgids', v_count, cardinality(v_msgids)));
    END IF;
    FOR i IN 1 .. v_count LOOP
        PERFORM push.message_check(v_app, v_channels[i], v_contents[i], format('messages[%s].', i - 1));
        PERFORM push.msgid_check(v_msgids[i], format('messages[%s].', i - 1));
    END LOOP;
    PERFORM push.sender_check(p_sender);
    PERFORM push.rate_take(v_app, v_count);
    RETURN QUERY
    SELECT v_channels[r.i], r.seq, r.duplicate, r.time_ms
    FROM push.publish_rows(array_fill(v_app.id, ARRAY[v_count]), v_channels, v_contents,
                           array_fill(nullif(p_sender, ''), ARRAY[v_count]), v_msgids) r
    ORDER BY r.i;
END $$;
COMMENT ON FUNCTION push.publish_batch(text, text[], text[], text, text[]) IS
    'publishes p_contents[i] to p_channels[i] (msgid p_msgids[i]), all or nothing; returns (channel, seq, '
    'duplicate, time_ms) in input order';

-- Group publish of 009 with a msgid per message (and each message's time, which for a duplicate
-- is the first one's).
DROP FUNCTION push.publish_group(text[], text[], text[], text[]);
CREATE FUNCTION push.publish_group(p_keys text[], p_channels text[], p_contents text[], p_senders text[],
                                   p_msgids text[] DEFAULT NULL)
RETURNS TABLE(i int, seq bigint, status int, error text, time_ms bigint, duplicate bool)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, push, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_count int := coalesce(cardinality(p_keys), 0);
    v_status int[] := array_fill(200, ARRAY[v_count]);
    v_error text[] := array_fill(NULL::text, ARRAY[v_count]);
    v_app_ids int[] := array_fill(NULL::int, ARRAY[v_count]);
    v_msgids text[] := coalesce(p_msgids, array_fill(NULL::text, ARRAY[v_count]));
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
    v_times bigint[];
    v_dups bool[];
BEGIN
    IF v_count = 0 THEN
        RETURN;
    END IF;
    IF cardinality(p_channels) <> v_count OR cardinality(p_contents) <> v_count OR cardinality(p_senders) <> v_count THEN
        PERFORM push.fail(400, 'messages: keys, channels, contents and senders differ in number');
    END IF;
    IF cardinality(v_msgids) <> v_count THEN
        PERFORM push.fail(400, 'messages: msgids and keys differ in number');
    END IF;
    FOR m IN 1 .. v_count LOOP
        v_k := array_position(v_key_list, p_keys[m]);
        IF v_k IS NOT NULL AND v_key_status[v_k] <> 200 THEN
            v_status[m] := v_key_status[v_k];
            v_error[m] := v_key_error[v_k];
            CONTINUE;
        END IF;
        -- The common case passes without a subtransaction (see 009).
        IF v_k IS NOT NULL THEN
            v_app := v_apps[v_k];
            IF push.channel_valid(p_channels[m]) AND p_contents[m] IS NOT NULL
               AND octet_length(p_contents[m]) <= v_app.max_message_bytes
               AND coalesce(octet_length(p_senders[m]), 0) <= 128
               AND (v_msgids[m] IS NULL OR push.msgid_valid(v_msgids[m])) THEN
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
            PERFORM push.msgid_check(v_msgids[m]);
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
    IF cardinality(v_ok) = v_count THEN
        SELECT array_agg(r.seq ORDER BY r.i), array_agg(r.time_ms ORDER BY r.i), array_agg(r.duplicate ORDER BY r.i)
        INTO v_seqs, v_times, v_dups
        FROM push.publish_rows(v_app_ids, p_channels, p_contents, array_replace(p_senders, '', NULL), p_msgids) r;
    ELSIF cardinality(v_ok) > 0 THEN
        SELECT array_agg(r.seq ORDER BY r.i), array_agg(r.time_ms ORDER BY r.i), array_agg(r.duplicate ORDER BY r.i)
        INTO v_seqs, v_times, v_dups
        FROM push.publish_rows(ARRAY(SELECT v_app_ids[m] FROM unnest(v_ok) WITH ORDINALITY AS o(m, n) ORDER BY n),
                               ARRAY(SELECT p_channels[m] FROM unnest(v_ok) WITH ORDINALITY AS o(m, n) ORDER BY n),
                               ARRAY(SELECT p_contents[m] FROM unnest(v_ok) WITH ORDINALITY AS o(m, n) ORDER BY n),
                               ARRAY(SELECT nullif(p_senders[m], '') FROM unnest(v_ok) WITH ORDINALITY AS o(m, n)
                                     ORDER BY n),
                               ARRAY(SELECT v_msgids[m] FROM unnest(v_ok) WITH ORDINALITY AS o(m, n) ORDER BY n)) r;
    END IF;
    RETURN QUERY
    SELECT m, CASE WHEN v_status[m] = 200 THEN v_seqs[array_position(v_ok, m)] END, v_status[m], v_error[m],
           CASE WHEN v_status[m] = 200 THEN v_times[array_position(v_ok, m)] END,
           CASE WHEN v_status[m] = 200 THEN v_dups[array_position(v_ok, m)] END
    FROM generate_series(1, v_count) m ORDER BY m;
END $$;
COMMENT ON FUNCTION push.publish_group(text[], text[], text[], text[], text[]) IS
    'publishes many single messages in one transaction; (i, seq, 200, NULL, time_ms, duplicate) per stored '
    'or duplicate message, (i, NULL, status, error, NULL, NULL) per refused one';

GRANT EXECUTE ON FUNCTION
    push.publish(text, text, text, text, text),
    push.publish_batch(text, text[], text[], text, text[]),
    push.publish_group(text[], text[], text[], text[], text[])
TO push_service;

-- Retention per app: messages older than retention, and those more than retention_messages
-- behind their channel's head, go at the next push.prune. NULL: the operator's default.
ALTER TABLE push.app ADD COLUMN retention interval CHECK (retention >= interval '0'),
                     ADD COLUMN retention_messages int CHECK (retention_messages >= 1);
COMMENT ON COLUMN push.app.retention IS 'push.prune deletes this app''s messages older than this; NULL: prune''s own retention';
COMMENT ON COLUMN push.app.retention_messages IS
    'push.prune keeps at most this many newest seqs per channel of this app; NULL: no such limit';

-- 'default', or '<interval>', '<n> messages' or both separated by a comma ('30 days, 1000
-- messages'). Returns (age, messages), NULL for what is not named; PU400 on anything else.
CREATE FUNCTION push.retention_parse(p_text text, OUT age interval, OUT messages int)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_part text;
    v_error text := 'retention: must be ''default'', an interval (''30 days''), ''<n> messages'' or both '
                    'separated by a comma';
BEGIN
    IF p_text IS NULL OR btrim(p_text) = '' THEN
        PERFORM push.fail(400, v_error);
    END IF;
    IF lower(btrim(p_text)) = 'default' THEN
        RETURN;
    END IF;
    FOREACH v_part IN ARRAY string_to_array(p_text, ',') LOOP
        v_part := lower(btrim(v_part));
        IF v_part ~ '^[0-9]{1,9} *messages?$' THEN
            IF messages IS NOT NULL OR substring(v_part FROM '^[0-9]+')::int < 1 THEN
                PERFORM push.fail(400, v_error);
            END IF;
            messages := substring(v_part FROM '^[0-9]+')::int;
            CONTINUE;
        END IF;
        IF age IS NOT NULL OR v_part = '' THEN
            PERFORM push.fail(400, v_error);
        END IF;
        BEGIN
            age := v_part::interval;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow
                       OR syntax_error THEN
            PERFORM push.fail(400, v_error);
        END;
        IF age < interval '0' THEN
            PERFORM push.fail(400, 'retention: must be zero or more');
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION push.retention_parse(text) IS
    'parses ''default'' | ''<interval>'' | ''<n> messages'' | both, comma separated, into (age, messages)';

-- app_update of 011 with claimed users (008) and retention (p_retention as push.retention_parse
-- takes it: 'default' clears both limits, a text naming one sets that one and clears the other).
DROP FUNCTION push.app_update(text, text[], bool, int, int);
CREATE FUNCTION push.app_update(p_name text, p_origins text[] DEFAULT NULL, p_client_publish bool DEFAULT NULL,
                                p_max_message_bytes int DEFAULT NULL, p_publish_rate int DEFAULT NULL,
                                p_claimed_users bool DEFAULT NULL, p_retention text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_origin text;
    v_age interval;
    v_messages int;
BEGIN
    FOREACH v_origin IN ARRAY coalesce(p_origins, '{}') LOOP
        IF v_origin IS NULL OR v_origin !~ '^[a-z][a-z0-9+.-]*://[^/[:space:]]+$' THEN
            PERFORM push.fail(400, format('origins: %s is not an origin like https://example.com', coalesce(v_origin, 'NULL')));
        END IF;
    END LOOP;
    IF p_max_message_bytes < 1 THEN
        PERFORM push.fail(400, 'max_message_bytes: must be 1 or more');
    END IF;
    IF p_publish_rate < 0 THEN
        PERFORM push.fail(400, 'publish_rate: must be 0 (unlimited) or more');
    END IF;
    IF p_retention IS NOT NULL THEN
        SELECT r.age, r.messages INTO v_age, v_messages FROM push.retention_parse(p_retention) r;
    END IF;
    UPDATE push.app a
    SET origins = coalesce(p_origins, a.origins), client_publish = coalesce(p_client_publish, a.client_publish),
        max_message_bytes = coalesce(p_max_message_bytes, a.max_message_bytes),
        publish_rate = coalesce(p_publish_rate, a.publish_rate),
        claimed_users = coalesce(p_claimed_users, a.claimed_users),
        retention = CASE WHEN p_retention IS NULL THEN a.retention ELSE v_age END,
        retention_messages = CASE WHEN p_retention IS NULL THEN a.retention_messages ELSE v_messages END
    WHERE a.name = p_name;
    IF NOT FOUND THEN
        PERFORM push.fail(404, format('name: no app named %s', p_name));
    END IF;
END $$;
COMMENT ON FUNCTION push.app_update(text, text[], bool, int, int, bool, text) IS
    'changes the settings given (not NULL) of an app; keys and secret stay';

-- Prune of 010 where each app's own retention wins over p_retention, and retention_messages
-- keeps at most that many of the newest seqs of each channel. Read marks and unread counts
-- count only kept messages (011), so pruned messages are no longer unread.
CREATE OR REPLACE FUNCTION push.prune(p_retention interval DEFAULT '7 days', p_idle interval DEFAULT '1 hour')
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
    v_more bigint;
    v_app record;
BEGIN
    IF p_retention IS NULL OR p_retention < interval '0' THEN
        PERFORM push.fail(400, 'retention: must be zero or more');
    END IF;
    IF p_idle IS NULL OR p_idle < interval '0' THEN
        PERFORM push.fail(400, 'idle: must be zero or more');
    END IF;
    -- Each statement has one fixed bound, so the created_at index (and for counts the primary
    -- key's seq range per channel) finds what goes.
    DELETE FROM push.message m
    USING push.channel c, push.app a
    WHERE m.created_at < now() - p_retention AND c.id = m.channel_id AND a.id = c.app_id AND a.retention IS NULL;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    FOR v_app IN SELECT a.id, a.retention, a.retention_messages FROM push.app a
                 WHERE a.retention IS NOT NULL OR a.retention_messages IS NOT NULL ORDER BY a.id LOOP
        IF v_app.retention IS NOT NULL THEN
            DELETE FROM push.message m USING push.channel c
            WHERE m.created_at < now() - v_app.retention AND c.id = m.channel_id AND c.app_id = v_app.id;
            GET DIAGNOSTICS v_more = ROW_COUNT;
            v_count := v_count + v_more;
        END IF;
        IF v_app.retention_messages IS NOT NULL THEN
            DELETE FROM push.message m USING push.channel c
            WHERE c.app_id = v_app.id AND m.channel_id = c.id AND m.seq <= c.last_seq - v_app.retention_messages;
            GET DIAGNOSTICS v_more = ROW_COUNT;
            v_count := v_count + v_more;
        END IF;
    END LOOP;
    DELETE FROM push.channel c
    WHERE c.last_seq = 0 AND c.updated_at < now() - p_idle
      AND NOT EXISTS (SELECT 1 FROM push.presence p WHERE p.channel_id = c.id AND p.seen_at >= now() - p_idle);
    RETURN v_count;
END $$;
COMMENT ON FUNCTION push.prune(interval, interval) IS
    'deletes messages past their app''s retention (age: the app''s or else p_retention; count: the app''s '
    'retention_messages per channel) and returns how many; seqs continue, subscribers behind see a gap. '
    'Also deletes channels never published to, idle for p_idle, with their presence';
