#!/usr/bin/env bash
# tests/ws-load.sh: 5,000 WebSocket subscribers on one channel (five client processes on
# 127.0.0.1-5, the sidecar with --workers 2) and 100 messages: 500,000 deliveries, none lost,
# none twice, none out of order; then the load client's own publisher (--publish, as
# bench/compare uses it) through lighttpd and push-api, and its refusal of a bad URL.
. "$(dirname "$0")/ws-lib.sh"
LOAD="$top_builddir/tests/ws-load"
[ -x "$PUSH_WS" ] || skip_all "ws/push-ws not built"
[ -x "$LOAD" ] || skip_all "tests/ws-load not built"
ulimit -n 20000 2>/dev/null || skip_all "cannot raise the open-files limit to 20000"
tap_plan 11

PROCS=5 PER=1000 MESSAGES=100
CLIENTS=$((PROCS * PER))
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app load
start_ws --workers 2 || { echo "Bail out! push-ws did not start"; exit 1; }

t0=$(date +%s.%N)
pids=()
for i in $(seq $PROCS); do
    "$LOAD" 127.0.0.1 "$WS_PORT" "/push/ws?appkey=$SUBSCRIBE_KEY" fanout $PER $MESSAGES "127.0.0.$i" 120 \
        >"$T/load.$i" 2>"$T/load.$i.err" &
    pids+=($!)
    track_pid $!
done
for _ in $(seq 600); do
    [ "$(cat "$T"/load.? | grep -c '^ready')" = $PROCS ] && break
    sleep 0.1
done
t1=$(date +%s.%N)
is "$(metric push_ws_subscriptions)" $CLIENTS "$CLIENTS clients subscribed (connected in $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s)"
w0=$(metric 'push_ws_worker_connections{worker="0"}') w1=$(metric 'push_ws_worker_connections{worker="1"}')
ok "$([ "${w0:-0}" -ge 1500 ] && [ "${w1:-0}" -ge 1500 ] && echo 0 || echo 1)" "both workers hold connections ($w0 and $w1)"

# 100 messages, each its own transaction.
publish_range fanout 1 $MESSAGES
t2=$(date +%s.%N)
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
t3=$(date +%s.%N)

sum() { sed -n 's/.* '"$1"'=\([0-9]*\).*/\1/p' "$T"/load.? | awk '{ s += $1 } END { print s + 0 }'; }
maxof() { sed -n 's/.* '"$1"'=\([0-9]*\).*/\1/p' "$T"/load.? | sort -n | tail -1; }
diag "$(cat "$T"/load.? | grep -v '^ready')"
diag "publish 100: $(printf '%.2f' "$(echo "$t2 - $t1" | bc)") s; last delivery after $(printf '%.2f' "$(echo "$t3 - $t1" | bc)") s;" \
     "fan-out latency p50 <= $(maxof latency_ms_p50) ms, p99 <= $(maxof p99) ms, max $(maxof max) ms"
is "$(sum received)" $((CLIENTS * MESSAGES)) "$((CLIENTS * MESSAGES)) deliveries received"
is "$(sum lost)" 0 "none lost"
is "$(sum duplicate)" 0 "none twice"
is "$(sum disorder)" 0 "none out of order"
is "$(sum complete)" $CLIENTS "every client got all $MESSAGES"
is "$(metric push_ws_deliveries_total)" $((CLIENTS * MESSAGES)) "the sidecar counted $((CLIENTS * MESSAGES)) deliveries over both workers"
[ -s "$T/load.1.err" ] && diag "$(head -5 "$T"/load.?.err)"

# The publisher: 1 subscriber and 50 messages at 100 a second published over HTTP by the same
# process once it is subscribed, each timed from its send.
PUSH_WS_PORT=$WS_PORT start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
"$LOAD" --publish "$BASE/push/publish" --key "$PUBLISH_KEY" --rate 100 --samples "$T/samples" \
    127.0.0.1 "$WS_PORT" "/push/ws?appkey=$SUBSCRIBE_KEY" published 1 50 127.0.0.9 60 >"$T/pub.out" 2>"$T/pub.err"
status=$?
diag "$(cat "$T/pub.out" "$T/pub.err")"
like "$status $(cat "$T/pub.out")" '^0 .* received=50 expected=50 lost=0 duplicate=0 disorder=0 .* published=50 publish_failed=0 ' \
    "--publish: 50 messages published over HTTP, all 50 received in order"
is "$(stat -c %s "$T/samples")" 200 "--samples: one 4-byte latency a message received"
out=$("$LOAD" --publish "ftp://127.0.0.1/x" 127.0.0.1 "$WS_PORT" /push/ws x 1 1 2>&1)
like "$? $out" '^2 ws-load: --publish ftp://127.0.0.1/x: not http://HOST:PORT/PATH' "a --publish URL that is not http:// is refused with status 2"
tap_done
