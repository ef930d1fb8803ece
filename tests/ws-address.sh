#!/usr/bin/env bash
# tests/ws-address.sh: connection limits that hold: ws_max_per_address counts each address
# exactly (another address is never refused for sharing a hash slot with a busy one), and a
# sidecar at its open-files limit refuses new connections with HTTP 429 before accept() fails
# with EMFILE, and keeps serving.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 9

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop
PUSH_WS_MAX_PER_ADDRESS=3 start_ws || { echo "Bail out! push-ws did not start"; exit 1; }

# Two addresses that a 32-bit FNV-1a hash modulo 8192 puts in one slot; behind a proxy on
# this host the address is the last X-Forwarded-For entry.
$PY - "$WS_URL/push/ws?appkey=$SUBSCRIBE_KEY" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, sys
import websockets
import ws_client as w
url = sys.argv[1]

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

def fnv(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h % 8192

seen = {}
pair = None
for i in range(1, 65536):
    a = "10.%d.%d.%d" % (i >> 8, i & 255, 7)
    if fnv(a) in seen:
        pair = (seen[fnv(a)], a)
        break
    seen[fnv(a)] = a

async def open_from(addr):
    try:
        return await w.connect(url, extra_headers={"X-Forwarded-For": addr})
    except websockets.exceptions.InvalidStatusCode as e:
        return e.status_code

async def main():
    busy, innocent = pair
    conns = [await open_from(busy) for _ in range(3)]
    check(all(not isinstance(c, int) for c in conns), "three connections from %s (the limit)" % busy)
    c = await open_from(busy)
    check(c == 429, "a fourth from %s: 429 (%s)" % (busy, c))
    c = await open_from(innocent)
    check(not isinstance(c, int), "%s, whose hash slot %s shares, is served (%s)" % (innocent, busy, c if isinstance(c, int) else "open"))
    await conns[0].close()
    await asyncio.sleep(0.2)
    c2 = await open_from(busy)
    check(not isinstance(c2, int), "once one of them closes, %s may connect again" % busy)
asyncio.run(main())
PY
tap_checks "$T/checks"
stop_ws

# An open-files limit of 160 with db_pool 2: 160 - 2 - 32 descriptors for client connections.
unset WS_PORT
printf '#!/bin/sh\nulimit -n 160 && exec "%s" "$@"\n' "$PUSH_WS" >"$T/push-ws-160"
chmod +x "$T/push-ws-160"
PUSH_WS="$T/push-ws-160" PUSH_DB_POOL=2 start_ws || { echo "Bail out! push-ws did not start"; exit 1; }
like "$(cat "$T/ws/push-ws.log")" "ws_max_per_address 1000 is not below the 126 connections" \
    "a per-address limit over what the descriptors allow is warned about at start"
$PY - 127.0.0.1 "$WS_PORT" "$SUBSCRIBE_KEY" "$PUBLISH_KEY" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, base64, os, select, socket, sys, time
import ws_client as w
host, port, sub_key, pub_key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

socks = {}
for _ in range(220):
    s = socket.create_connection((host, port))
    s.sendall(("GET /push/ws?appkey=%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (sub_key, base64.b64encode(os.urandom(16)).decode())).encode())
    socks[s] = b""
status = {}
deadline = time.monotonic() + 30
while len(status) < len(socks) and time.monotonic() < deadline:
    waiting = [s for s in socks if s not in status]
    readable, _, _ = select.select(waiting, [], [], 1)
    for s in readable:
        try:
            chunk = s.recv(4096)
        except ConnectionError:
            chunk = b""
        socks[s] += chunk
        if b"\r\n" in socks[s] or not chunk:
            line = socks[s].split(b"\r\n")[0].split()
            status[s] = line[1].decode() if len(line) > 1 else "closed"
counts = {}
for v in status.values():
    counts[v] = counts.get(v, 0) + 1
upgraded, refused = counts.get("101", 0), counts.get("429", 0)
check(upgraded + refused == 220, "220 connections: each upgraded or refused with 429, none left waiting (%s)" % counts)
check(0 < upgraded <= 126 and refused > 0, "at most the budget is upgraded (%d), the rest get 429 (%d)" % (upgraded, refused))
for s in socks:
    s.close()

async def main():
    # Served again once the connections are gone; publishing shows the database
    # connections came through.
    for _ in range(100):
        try:
            sub = await w.connect("ws://%s:%d/push/ws?appkey=%s" % (host, port, sub_key))
            break
        except Exception:
            await asyncio.sleep(0.1)
    r = await w.subscribe(sub, "news")
    pub = await w.connect("ws://%s:%d/push/ws?appkey=%s" % (host, port, pub_key))
    ok = await w.request(pub, {"op": "publish", "channel": "news", "content": "after", "id": 1})
    got = await w.messages(sub, "news", 1)
    check(r["op"] == "subscribed" and ok["op"] == "ok" and len(got) == 1,
          "afterwards new clients are served and a publish reaches them")
asyncio.run(main())
PY
tap_checks "$T/checks"
ok "$(grep -q "Too many open files" "$T/ws/push-ws.log" && echo 1 || echo 0)" "the sidecar never reached EMFILE"
tap_done
