#!/usr/bin/env bash
# tests/ws-load.sh: 5,000 WebSocket subscribers on one channel (five client processes on
# 127.0.0.1-5, the sidecar with --workers 2) and 100 messages: 500,000 deliveries, none lost,
# none twice, none out of order.
. "$(dirname "$0")/ws-lib.sh"
LOAD="$top_builddir/tests/ws-load"
[ -x "$PUSH_WS" ] || skip_all "ws/push-ws not built"
[ -x "$LOAD" ] || skip_all "tests/ws-load not built"
ulimit -n 20000 2>/dev/null || skip_all "cannot raise the open-files limit to 20000"
tap_plan 8

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
tap_done
