#!/usr/bin/env bash
# concurrency.sh: concurrent publishers get dense, commit-ordered seqs; opposite-order batches do not deadlock.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
use_test_database
sql() { $PUSH_TEST_PSQL -X -q -At -v ON_ERROR_STOP=1 "$@"; }
tap_plan 18

publishers=8
per_publisher=500
total=$((publishers * per_publisher))
batchers=4
batches=100

app="concurrency-test-$$"
cleanup() { sql -c "DELETE FROM push.app WHERE name = '$app'" >/dev/null 2>&1; }
trap 'cleanup; tap_cleanup' EXIT
read -r app_id key <<<"$(sql -F ' ' -c "SELECT app_id, publish_key FROM push.app_create('$app')")"

# run_all NAME COUNT: runs $T/NAME1.sql .. $T/NAME<COUNT>.sql at once, one psql session each,
# the output of each in $T/NAME<i>.out; prints how many failed.
run_all() {
    local name=$1 count=$2 i failed=0 pids=()
    for ((i = 1; i <= count; i++)); do
        sql -f "$T/$name$i.sql" >"$T/$name$i.out" 2>"$T/$name$i.err" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i" || failed=$((failed + 1))
    done
    echo "$failed"
}

# Each publisher commits every publish on its own (autocommit); content is "<publisher>:<n>".
for ((p = 1; p <= publishers; p++)); do
    for ((j = 1; j <= per_publisher; j++)); do
        echo "SELECT push.publish('$key', 'load', '$p:$j');"
    done >"$T/publisher$p.sql"
done
is "$(run_all publisher $publishers)" 0 "$publishers publishers x $per_publisher messages all succeed"
cat "$T"/publisher*.err | head -5 | sed 's/^/# /'

in_load="FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.app_id = $app_id AND c.name = 'load'"
is "$(sql -c "SELECT count(*) $in_load")" "$total" "$total messages are stored"
is "$(sql -c "SELECT count(DISTINCT m.seq) $in_load")" "$total" "their seqs are distinct"
is "$(sql -c "SELECT min(m.seq) || '..' || max(m.seq) $in_load")" "1..$total" "their seqs run from 1 to $total"
is "$(sql -c "SELECT last_seq FROM push.channel WHERE app_id = $app_id AND name = 'load'")" "$total" "last_seq is $total"
is "$(sql -c "SELECT count(DISTINCT m.content) $in_load")" "$total" "every message was stored once"
is "$(sql -c "SELECT count(*) FROM (SELECT m.seq, lag(m.seq) OVER (PARTITION BY split_part(m.content, ':', 1)
                                       ORDER BY split_part(m.content, ':', 2)::int) AS previous $in_load) s
              WHERE s.seq < s.previous")" 0 \
    "each publisher's messages have increasing seqs in the order it committed them"

# Batches naming the same three channels in opposite orders, all at once.
for ((b = 1; b <= batchers; b++)); do
    if ((b % 2)); then order="{z,y,x}"; else order="{x,y,z}"; fi
    for ((j = 1; j <= batches; j++)); do
        echo "SELECT count(*) FROM push.publish_batch('$key', '$order', '{$b:$j,$b:$j,$b:$j}');"
    done >"$T/batcher$b.sql"
done
is "$(run_all batcher $batchers)" 0 "$batchers concurrent batchers with opposite channel orders all succeed"
cat "$T"/batcher*.err | head -5 | sed 's/^/# /'
! grep -q deadlock "$T"/batcher*.err
ok $? "no deadlock was reported"
expected=$((batchers * batches))
for channel in x y z; do
    is "$(sql -c "SELECT count(DISTINCT m.seq) || ' ' || min(m.seq) || '..' || max(m.seq) || ' ' || c.last_seq
                  FROM push.message m JOIN push.channel c ON c.id = m.channel_id
                  WHERE c.app_id = $app_id AND c.name = '$channel' GROUP BY c.last_seq")" \
        "$expected 1..$expected $expected" "batch channel $channel has seqs 1..$expected, each once"
done

# Retrying publishers: every session publishes the same msgids, half of them one by one, half as
# groups of two requests with the same msgid, in opposite orders; each msgid is stored once and
# every answer for it names that one seq.
retriers=6
msgids=200
for ((r = 1; r <= retriers; r++)); do
    for ((j = 1; j <= msgids; j++)); do
        if ((r % 2)); then k=$j; else k=$((msgids + 1 - j)); fi
        if ((r % 3)); then
            echo "SELECT 'm$k', push.publish('$key', 'once', '$r:$k', NULL, 'm$k');"
        else
            echo "SELECT DISTINCT 'm$k', seq FROM push.publish_group(ARRAY['$key','$key'], '{once,once}',
                  '{$r:$k,$r:$k}', '{NULL,NULL}', '{m$k,m$k}');"
        fi
    done >"$T/retrier$r.sql"
done
is "$(run_all retrier $retriers)" 0 "$retriers sessions publishing the same $msgids msgids all succeed"
cat "$T"/retrier*.err | head -5 | sed 's/^/# /'
in_once="FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.app_id = $app_id AND c.name = 'once'"
is "$(sql -c "SELECT count(*) || ' ' || count(DISTINCT m.msgid) || ' ' || min(m.seq) || '..' || max(m.seq) $in_once")" \
    "$msgids $msgids 1..$msgids" "each msgid was stored once, seqs 1..$msgids"
is "$(cat "$T"/retrier*.out | sort -u | wc -l)" "$msgids" "every session got the same seq for each msgid"
is "$(cat "$T"/retrier*.out | sort -u | sed 's/|/ /' | while read -r id seq; do
          sql -c "SELECT m.msgid $in_once AND m.seq = $seq"; done | grep -c '^m')" "$msgids" \
    "and that seq is the message stored with it"

# Sessions making the same new channels at once: every channel's row is made once and no publish
# fails on it (a maker that raced another waits for it and uses its row). A starter session holds
# one advisory lock per channel and lets them go one by one, so the makers start each channel
# together.
makers=6
fresh=200
base=$((RANDOM * 1000))
for ((j = 1; j <= fresh; j++)); do echo "SELECT pg_advisory_lock($base + $j);"; done >"$T/starter.sql"
echo "SELECT pg_sleep(1);" >>"$T/starter.sql"
for ((j = 1; j <= fresh; j++)); do echo "SELECT pg_advisory_unlock($base + $j), pg_sleep(0.02);"; done >>"$T/starter.sql"
for ((r = 1; r <= makers; r++)); do
    for ((j = 1; j <= fresh; j++)); do
        echo "SELECT pg_advisory_lock_shared($base + $j), pg_advisory_unlock_shared($base + $j);"
        echo "SELECT push.publish('$key', 'fresh-$j', '$r');"
    done >"$T/maker$r.sql"
done
sql -f "$T/starter.sql" >/dev/null 2>"$T/starter.err" &
starter=$!
sleep 0.5
is "$(run_all maker $makers)" 0 "$makers sessions making the same $fresh new channels at once all succeed"
wait "$starter"
cat "$T"/maker*.err | head -5 | sed 's/^/# /'
is "$(sql -c "SELECT count(*) || ' ' || sum(last_seq) FROM push.channel WHERE app_id = $app_id AND name LIKE 'fresh-%'")" \
    "$fresh $((fresh * makers))" "each of them was made once and holds all $makers messages"
tap_done
