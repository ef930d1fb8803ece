#!/usr/bin/env bash
# tests/ws-workers.sh: push-ws --workers 2: two processes share the port; a worker killed
# mid-stream is restarted by the supervisor and its clients resume without loss; SIGTERM to
# the supervisor closes every client of every worker with 1001 and exits 0.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 8

CLIENTS=10 TOTAL=200
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop
start_ws --workers 2 || { echo "Bail out! push-ws did not start"; exit 1; }
is "$(metric push_ws_workers)" 2 "metrics: 2 workers"
workers() { pgrep -P "$WS_PID" | sort; }
two_workers() { [ "$(workers | wc -l)" = 2 ]; }
wait_for two_workers
first=$(workers | head -1)

# Clients that keep reconnecting and resubscribing from their last seq; one worker is killed.
stream_start $CLIENTS $TOTAL
wait_seq stream 60
kill -KILL "$first"
stream_wait
like "$(grep reconnected "$T/result")" "reconnected [1-9]" "the killed worker's clients reconnected"
is "$(grep exact "$T/result")" "exact $CLIENTS" "every client got seqs 1..$TOTAL exactly once, in order"
wait_for two_workers
ok $? "the supervisor started a new worker"
ok "$(workers | grep -qx "$first" && echo 1 || echo 0)" "... in place of the killed one"

# SIGTERM: every client of both workers is closed with 1001.
$PY - "$WS_URL/push/ws?appkey=$SUBSCRIBE_KEY" >"$T/codes" 2>>"$T/py.err" <<'PY' &
import asyncio, sys
import ws_client as w
async def main():
    conns = [await w.connect(sys.argv[1]) for _ in range(8)]
    for c in conns:
        await w.subscribe(c, "stream")
    print("ready", flush=True)
    for c in conns:
        try:
            await asyncio.wait_for(c.wait_closed(), 20)
        except Exception:
            pass
    print(sorted(set(c.close_code for c in conns)))
asyncio.run(main())
PY
PY_PID=$!
wait_line "$T/codes" ready
children=$(workers)
stop_ws TERM
wait "$PY_PID"
is "$WS_STATUS" 0 "SIGTERM: the supervisor exits 0"
is "$(tail -1 "$T/codes")" "[1001]" "every client of both workers was closed with 1001"
left=0
for pid in $children; do kill -0 "$pid" 2>/dev/null && left=$((left + 1)); done
is "$left" 0 "no worker is left"
tap_done
