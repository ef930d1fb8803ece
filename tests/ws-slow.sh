#!/usr/bin/env bash
# tests/ws-slow.sh: a client that never reads while 1000 messages flow is cut off at its
# bounded queue (ws_queue) with 1008, and a normal client beside it gets all 1000 in order.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 6

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop
PUSH_WS_QUEUE=256 start_ws || { echo "Bail out! push-ws did not start"; exit 1; }

$PY - "127.0.0.1" "$WS_PORT" "$SUBSCRIBE_KEY" "$T/go" >"$T/result" 2>"$T/py.err" <<'PY' &
import asyncio, os, sys, time
import ws_client as w
host, port, key, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def stalled_client():
    """A raw WebSocket client with a tiny receive buffer that subscribes and then never reads."""
    s = w.raw_connect(host, port, "/push/ws?appkey=" + key, rcvbuf=4096)
    s.sendall(w.raw_frame({"op": "subscribe", "channel": "flood"}))
    return s

async def main():
    slow = stalled_client()
    url = "ws://%s:%d/push/ws?appkey=%s" % (host, port, key)
    ws = await w.connect(url)
    await w.subscribe(ws, "flood")
    await asyncio.sleep(0.3)
    open(go, "w").close()
    t0 = time.monotonic()
    got = await w.messages(ws, "flood", 600, timeout=60)
    # By now the stalled client has overflowed: read its socket while the rest flows. The server
    # closed it, after a 1008 close frame once the socket had room for it.
    drain = asyncio.get_running_loop().run_in_executor(None, w.raw_read, slow)
    got += await w.messages(ws, "flood", 400, timeout=60)
    print("normal %s %.2f" % ("all" if w.in_order(got, 1, 1000) else "%d" % len(got), time.monotonic() - t0), flush=True)
    ended, data = await drain
    print("slow %s %d" % ("closed" if ended else "open", len(data)), flush=True)
    print("closecode %s" % ("1008" if b"\x88\x0d\x03\xf0slow reader" in data else "unseen"), flush=True)
    await ws.close()

asyncio.run(main())
PY
PY_PID=$!
for _ in $(seq 100); do [ -e "$T/go" ] && break; sleep 0.1; done
# 1000 messages of 2 KB, each its own transaction.
PAD=$(printf '%02000d' 0)
for i in $(seq 1000); do
    printf "SELECT push.publish('%s', 'flood', '%d %s');\n" "$PUBLISH_KEY" "$i" "$PAD"
done | $PSQL >/dev/null
wait "$PY_PID"
[ -s "$T/py.err" ] && diag "$(cat "$T/py.err")"
diag "$(cat "$T/result" | tr '\n' ' ')"
like "$(grep normal "$T/result")" "^normal all " "the normal client got all 1000 in order"
is "$(grep slow "$T/result" | cut -d' ' -f2)" closed "the client that never read was disconnected"
is "$(grep closecode "$T/result")" "closecode 1008" "... with close code 1008 (slow reader)"
is "$(metric push_ws_drops_total)" 1 "metrics: one slow reader dropped"
like "$(grep -c 'cut off' "$T/ws/push-ws.log")" '^1$' "the log says why it was cut off"
is "$(metric push_ws_connections)" 0 "no connection is left"
tap_done
