#!/usr/bin/env bash
# tests/ws-pg-restart.sh: PostgreSQL restarted in the middle of a stream: the sidecar's
# listener reconnects and re-reads every watched channel, so connected clients lose nothing
# and see nothing twice.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 4

CLIENTS=3
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }

# Clients stay connected throughout; each ends when it has seen the seq in $T/final.
$PY - "$WS_URL/push/ws?appkey=$SUBSCRIBE_KEY" "$CLIENTS" "$T/final" >"$T/result" 2>"$T/py.err" <<'PY' &
import asyncio, sys, time
import ws_client as w
url, clients, final_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def final():
    try:
        return int(open(final_file).read())
    except (OSError, ValueError):
        return None

async def client(ready):
    ws = await w.connect(url)
    await w.subscribe(ws, "stream", since=0)
    ready.set()
    seqs, heard = [], time.monotonic()
    while True:
        m = await w.recv(ws, 1)
        if m and m.get("op") == "message":
            seqs.append(m["seq"])
            heard = time.monotonic()
        end = final()
        if end is not None and ((seqs and seqs[-1] >= end) or time.monotonic() - heard > 30):
            return seqs, ws.open

async def main():
    events = [asyncio.Event() for _ in range(clients)]
    tasks = [asyncio.create_task(client(e)) for e in events]
    for e in events:
        await e.wait()
    print("ready", flush=True)
    results = await asyncio.wait_for(asyncio.gather(*tasks), 120)
    end = final()
    print("exact %d" % sum(1 for seqs, _ in results if seqs == list(range(1, end + 1))))
    print("open %d" % sum(1 for _, is_open in results if is_open))

asyncio.run(main())
PY
PY_PID=$!
wait_line "$T/result" ready

# The publisher keeps going through the restart: a failed publish is tried again.
publisher() {
    local i=1
    while [ $i -le 200 ]; do
        if $PSQL -c "SELECT push.publish('$PUBLISH_KEY', 'stream', 'n$i')" >/dev/null 2>&1; then
            i=$((i + 1))
        else
            sleep 0.05
        fi
    done
}
publisher &
PUB_PID=$!
wait_seq stream 60
pg_stop
sleep 1
pg_start || { echo "Bail out! PostgreSQL did not start again"; exit 1; }
wait "$PUB_PID"
# A publish that committed but lost its answer is published again: count what PostgreSQL has.
$PSQL -c "SELECT last_seq FROM push.channel WHERE name = 'stream'" >"$T/final"
wait "$PY_PID"
[ -s "$T/py.err" ] && diag "$(cat "$T/py.err")"
diag "$(cat "$T/final") messages; sidecar log: $(grep -c 'listener' "$T/ws/push-ws.log") listener lines"
is "$(grep open "$T/result")" "open $CLIENTS" "clients stayed connected through the restart"
is "$(grep exact "$T/result")" "exact $CLIENTS" "every client got every seq exactly once, in order"
like "$(metric push_ws_listener_reconnects_total)" '^[1-9]' "metrics count the listener reconnect"
is "$(metric push_ws_connections)" 0 "clients are gone afterwards"
tap_done
