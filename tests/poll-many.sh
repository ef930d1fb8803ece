#!/usr/bin/env bash
# tests/poll-many.sh: one push-poll process with its default 4 threads holds 10,000 polls (or
# as many as the open-files limit allows) on 1 LISTEN connection + its pool, one publish
# answers all of them, the per-address cap refuses the excess with 429, and SIGTERM answers
# every held poll at once, then push-poll stops its threads and frees the poller and the pool.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/poll-common.sh"

hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1000000
N=$(( hard - 300 < 10000 ? hard - 300 : 10000 ))
[ "$N" -ge 1000 ] || skip_all "needs 1300 open files (hard limit $hard)"
start_postgres || bail "PostgreSQL did not start"
poll_setup
unset PUSH_DB_POOL PUSH_THREADS PGAPPNAME PUSH_POLL_MAX_PER_ADDRESS PUSH_POLL_MAX_HELD
SOCK=$T/push-poll.sock
"$top_builddir/fcgi/push-poll" --socket "$SOCK" >"$T/push-poll.log" 2>&1 &
POLL_PID=$!
track_pid $POLL_PID
wait_for test -S "$SOCK" || { cat "$T/push-poll.log" >&2; bail "push-poll did not start"; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$POLL_PID/status"; }
threads() { awk '/^Threads/ { print $2 }' "/proc/$POLL_PID/status"; }
# Warm the channel so that every poll is answered from memory.
$POLL_CLIENTS fcgi "$SOCK" "appkey=$S&channel=crowd&timeout=0" 1 >/dev/null
rss0=$(rss)

# Run while the polls are held: wait until all are accepted, count descriptors, threads,
# connections and memory, publish.
cat >"$T/then.sh" <<EOT
for i in \$(seq 600); do
    fds=\$(ls /proc/$POLL_PID/fd | wc -l)
    [ "\$fds" -ge $N ] && break
    sleep 0.1
done
sleep 1
echo "\$(ls /proc/$POLL_PID/fd | wc -l) \$(awk '/^VmRSS/ { print \$2 }' /proc/$POLL_PID/status) \$(awk '/^Threads/ { print \$2 }' /proc/$POLL_PID/status)" >"$T/held"
$PSQL -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'push-poll'" >"$T/conns"
$PSQL -c "SELECT push.publish('$P', 'crowd', 'hello all')" >/dev/null
EOT
out=$($POLL_CLIENTS fcgi "$SOCK" "appkey=$S&channel=crowd&timeout=50" "$N" --addresses 20 --deadline 90 --then "bash $T/then.sh")
read -r fds rss1 nthreads <"$T/held"
diag "$N polls: $out"
diag "held: $fds descriptors, $nthreads threads, RSS $rss0 -> $rss1 KiB: $(( (rss1 - rss0) * 1024 / N )) bytes per held poll"
ok $(( fds >= N ? 0 : 1 )) "push-poll held $N requests at once ($fds descriptors)"
ok $(( nthreads < 20 ? 0 : 1 )) "with $nthreads threads: a held poll costs no thread"
conns=$(cat "$T/conns")
ok $(( conns >= 1 && conns <= 3 ? 0 : 1 )) "while $N polls wait, push-poll holds $conns PostgreSQL connections (listener + a pool of at most 2)"
is "$(echo "$out" | json 'j["answered"], j["status"].get("200")')" "$N $N" "all $N polls answered 200"
is "$(echo "$out" | json 'j["messages"].get(json.dumps(["hello all"]))')" "$N" "each got the one published message"

# The per-address cap: the excess of one address is refused with 429, others still wait.
kill $POLL_PID; wait $POLL_PID 2>/dev/null
is "$?" 0 "SIGTERM after the crowd: push-poll exits 0"
PUSH_POLL_MAX_PER_ADDRESS=5 "$top_builddir/fcgi/push-poll" --socket "$SOCK.2" >"$T/push-poll.2.log" 2>&1 &
POLL_PID=$!
track_pid $POLL_PID
wait_for test -S "$SOCK.2" || { cat "$T/push-poll.2.log" >&2; bail "push-poll did not start"; }
out=$($POLL_CLIENTS fcgi "$SOCK.2" "appkey=$S&channel=crowd&timeout=2" 8 --deadline 20)
diag "cap 5, 8 polls from one address: $out"
is "$(echo "$out" | json 'j["status"].get("200"), j["status"].get("429")')" "5 3" \
    "cap 5 per address: 5 held (then answered 200), 3 refused with 429"
like "$(echo "$out" | json 'list(j["messages"].keys())')" 'too many polls held for this address' \
    "the 429 says why"
out=$($POLL_CLIENTS fcgi "$SOCK.2" "appkey=$S&channel=crowd&timeout=2" 20 --addresses 4 --deadline 20)
is "$(echo "$out" | json 'j["status"].get("200"), j["status"].get("429")')" "20 None" \
    "20 polls from 4 addresses (5 each) are all held"

# SIGTERM: held polls answer now (empty) instead of at their 55 s timeout.
out=$($POLL_CLIENTS fcgi "$SOCK.2" "appkey=$S&channel=crowd&since=crowd:1&timeout=55" 50 --addresses 10 \
    --then "sleep 2; kill -TERM $POLL_PID")
diag "SIGTERM: $out"
is "$(echo "$out" | json 'j["answered"], j["status"].get("200"), j["messages"].get("[]")')" "50 50 50" \
    "SIGTERM: all 50 held polls answered 200 with no messages"
ok "$(echo "$out" | json '0 if j["seconds"] < 30 else 1')" "and long before their 55 s timeout"
for _ in $(seq 100); do kill -0 $POLL_PID 2>/dev/null || break; sleep 0.1; done
kill -0 $POLL_PID 2>/dev/null
ok $(( $? != 0 ? 0 : 1 )) "push-poll exited within 10 s of the answers"
wait $POLL_PID 2>/dev/null
is "$?" 0 "with status 0"
# "stopped" is logged once the maintenance, held-set and listener threads are joined and
# the feeds, the poller and the pool are freed (not when requests outlive the wait).
grep -q 'stopped$' "$T/push-poll.2.log"
ok $? "push-poll stopped its threads and freed the poller and the pool before exiting"
grep -i 'still running' "$T/push-poll.2.log" >&2
tap_plan "$tap_count"
tap_done
