#!/usr/bin/env bash
# tests/poll-many.sh: one push-poll process holds 1000 polls on 1 LISTEN connection + 1 pool
# connection, one publish answers all of them, and SIGTERM answers every held poll at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/poll-common.sh"

[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 2400 ] || skip_all "needs 2400 open files (hard limit $(ulimit -Hn))"
start_postgres || bail "PostgreSQL did not start"
poll_setup
unset PUSH_DB_POOL PUSH_THREADS PGAPPNAME
SOCK=$T/push-poll.sock
"$top_builddir/fcgi/push-poll" --socket "$SOCK" --threads 1100 >"$T/push-poll.log" 2>&1 &
POLL_PID=$!
track_pid $POLL_PID
wait_for test -S "$SOCK" || { cat "$T/push-poll.log" >&2; bail "push-poll did not start"; }

# Run while the polls are held: wait until all 1000 are accepted and the pool has been idle
# for a second (every poll has done its queries and waits), count connections, publish.
cat >"$T/then.sh" <<EOT
for i in \$(seq 300); do
    fds=\$(ls /proc/$POLL_PID/fd | wc -l)
    idle=\$($PSQL -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'push-poll' AND state = 'idle' AND state_change < now() - interval '1 second'")
    [ "\$fds" -ge 1000 ] && [ "\$idle" -ge 2 ] && break
    sleep 0.1
done
echo "\$fds" >"$T/fds"
$PSQL -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'push-poll'" >"$T/conns"
$PSQL -c "SELECT push.publish('$P', 'crowd', 'hello all')" >/dev/null
EOT
out=$($POLL_CLIENTS fcgi "$SOCK" "appkey=$S&channel=crowd&timeout=40" 1000 --then "bash $T/then.sh")
diag "1000 polls: $out (push-poll had $(cat "$T/fds") descriptors open)"
ok $(( $(cat "$T/fds") >= 1000 ? 0 : 1 )) "push-poll held 1000 requests at once"
is "$(cat "$T/conns")" 2 "while 1000 polls wait, push-poll holds 2 PostgreSQL connections (listener + pool)"
is "$(echo "$out" | json 'j["answered"], j["status"].get("200")')" "1000 1000" "all 1000 polls answered 200"
is "$(echo "$out" | json 'j["messages"].get(json.dumps(["hello all"]))')" 1000 "each got the one published message"

# SIGTERM: held polls answer now (empty) instead of at their 55 s timeout.
out=$($POLL_CLIENTS fcgi "$SOCK" "appkey=$S&channel=crowd&since=crowd:1&timeout=55" 50 \
    --then "sleep 2; kill -TERM $POLL_PID")
diag "SIGTERM: $out"
is "$(echo "$out" | json 'j["answered"], j["status"].get("200"), j["messages"].get("[]")')" "50 50 50" \
    "SIGTERM: all 50 held polls answered 200 with no messages"
ok "$(echo "$out" | json '0 if j["seconds"] < 30 else 1')" "and long before their 55 s timeout"
for _ in $(seq 100); do kill -0 $POLL_PID 2>/dev/null || break; sleep 0.1; done
kill -0 $POLL_PID 2>/dev/null
ok $(( $? != 0 ? 0 : 1 )) "push-poll exited"
tap_plan "$tap_count"
tap_done
