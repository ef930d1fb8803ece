#!/usr/bin/env bash
# read-events-concurrency.sh: two reads of one user that commit one after the other publish
# events whose unread counts follow in that order; the second counts after the first
# (014_read_events.sql takes read-user-<id>'s row lock before counting).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
use_test_database
sql() { $PUSH_TEST_PSQL -X -q -At -v ON_ERROR_STOP=1 "$@"; }
tap_plan 4

app="read-events-concurrency-$$"
cleanup() { sql -c "DELETE FROM push.app WHERE name = '$app'" >/dev/null 2>&1; }
trap 'cleanup; tap_cleanup' EXIT
read -r app_id key <<<"$(sql -F ' ' -c "SELECT app_id, publish_key FROM push.app_create('$app')")"
sql -c "SELECT push.publish('$key', 'user-alice', 'a' || i) FROM generate_series(1, 5) i" >/dev/null
sql -c "SELECT * FROM push.channel_open($app_id, '{read-user-alice}')" >/dev/null

# The first reader stays in its transaction until the second waits for a lock, then commits.
sql >"$T/first.out" 2>"$T/first.err" <<SQL &
BEGIN;
SELECT push.mark_read_each('$key', 'alice', 'user-alice', '{4}');
DO \$\$ BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                          AND query LIKE '%mark_read_each%''{5}''%');
        PERFORM pg_sleep(0.05);
    END LOOP;
END \$\$;
COMMIT;
SQL
first=$!
waiting=1
for _ in $(seq 600); do
    [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'DO %' AND state = 'active'")" = 1 ] && { waiting=0; break; }
    sleep 0.05
done
ok $waiting "the first read is in its transaction"
sql -c "SELECT push.mark_read_each('$key', 'alice', 'user-alice', '{5}')" >/dev/null 2>"$T/second.err"
ok $? "the second read waits for it and commits"
wait $first
ok $? "the first read commits"
is "$(sql -c "SELECT string_agg((m.content::jsonb ->> 'seqs') || ':' || (m.content::jsonb ->> 'unread'), ' ' ORDER BY m.seq)
              FROM push.message m JOIN push.channel c ON c.id = m.channel_id
              WHERE c.app_id = $app_id AND c.name = 'read-user-alice'")" "[4]:4 [5]:3" \
    "the events count 4 then 3 unread: the second counted after the first committed"
cat "$T/first.err" "$T/second.err" | head -5 | sed 's/^/# /'
tap_done
