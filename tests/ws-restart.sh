#!/usr/bin/env bash
# tests/ws-restart.sh: push-ws killed with SIGKILL in the middle of a stream and started
# again: clients that reconnect and resubscribe with their last seq get every message exactly
# once, in order.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 4

CLIENTS=5 TOTAL=300
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }

# Clients that keep reconnecting (backoff 0.2 s) and resubscribing from their last seq.
$PY - "$WS_URL/push/ws?appkey=$SUBSCRIBE_KEY" "$CLIENTS" "$TOTAL" >"$T/result" 2>"$T/py.err" <<'PY' &
import asyncio, json, sys
import ws_client as w
url, clients, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

async def client(n, ready):
    seqs, reconnects, last = [], -1, 0
    while last < total:
        try:
            ws = await w.connect(url)
        except Exception:
            await asyncio.sleep(0.2)
            continue
        reconnects += 1
        try:
            await w.subscribe(ws, "stream", since=last)
            ready.set()
            async for text in ws:
                m = json.loads(text)
                if m.get("op") == "message":
                    seqs.append(m["seq"])
                    last = m["seq"]
                    if last >= total:
                        break
        except Exception:
            pass
        await ws.close()
    return seqs, reconnects

async def main():
    events = [asyncio.Event() for _ in range(clients)]
    tasks = [asyncio.create_task(client(i, events[i])) for i in range(clients)]
    for e in events:
        await e.wait()
    print("ready", flush=True)
    results = await asyncio.wait_for(asyncio.gather(*tasks), 120)
    exact = sum(1 for seqs, _ in results if seqs == list(range(1, total + 1)))
    print("exact %d" % exact)
    print("reconnected %d" % sum(1 for _, r in results if r >= 1))

asyncio.run(main())
PY
PY_PID=$!
for _ in $(seq 100); do grep -q ready "$T/result" && break; sleep 0.1; done

# The publisher: one transaction per message, about 3 ms apart.
for i in $(seq $TOTAL); do
    printf "SELECT push.publish('%s', 'stream', 'n%d'); SELECT pg_sleep(0.003);\n" "$PUBLISH_KEY" "$i"
done | $PSQL >/dev/null &
PUB_PID=$!
# Kill the sidecar once about a third has gone out, then start it again on the same port.
for _ in $(seq 200); do
    [ "$($PSQL -c "SELECT last_seq FROM push.channel WHERE name = 'stream'")" -ge 100 ] 2>/dev/null && break
    sleep 0.05
done
killed_at=$($PSQL -c "SELECT last_seq FROM push.channel WHERE name = 'stream'")
stop_ws KILL
sleep 0.5
start_ws || { echo "Bail out! push-ws did not restart"; exit 1; }
wait "$PUB_PID"
wait "$PY_PID"
[ -s "$T/py.err" ] && diag "$(cat "$T/py.err")"
diag "killed at seq $killed_at of $TOTAL"
is "$WS_STATUS" 137 "push-ws was killed with SIGKILL mid-stream"
ok "$([ "$killed_at" -lt "$TOTAL" ] && echo 0 || echo 1)" "the kill came before the last message"
is "$(grep reconnected "$T/result")" "reconnected $CLIENTS" "every client reconnected"
is "$(grep exact "$T/result")" "exact $CLIENTS" "every client got seqs 1..$TOTAL exactly once, in order"
tap_done
