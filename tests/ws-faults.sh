#!/usr/bin/env bash
# tests/ws-faults.sh: hostile or odd input the sidecar must handle exactly: a channel named
# NULL leaves presence like any other, a query parameter too long for the sidecar is a clear
# 400 (shorter ones are taken whole), an idle timeout it cannot honour is refused at start, and
# an unknown key is remembered as unknown (PostgreSQL is not asked again for it), and a
# database that stops answering does not stop the event loop (metrics, replies without SQL),
# a named client cut off as a slow reader leaves presence like one that closes, and a key
# changed in PostgreSQL stops working at once, however long lookups are cached.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 17

# lws keeps the idle timeout in 16 bits: a larger value must not be cut silently.
status=0
PUSH_WS_IDLE_TIMEOUT=70000 timeout 10 "$PUSH_WS" --bind 127.0.0.1 --port "$(free_port)" >"$T/idle.log" 2>&1 ||
    status=$?
ok "$([ "$status" != 0 ] && [ "$status" != 124 ] && echo 0)" "ws_idle_timeout over 65535 is refused at start (status $status)"
like "$(cat "$T/idle.log")" "ws_idle_timeout|PUSH_WS_IDLE_TIMEOUT" "and the message names the key"

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop
PUSH_APP_CACHE_TTL=3600 start_ws || { echo "Bail out! push-ws did not start"; exit 1; }

# An unknown key, then the same key while push.app is locked: answered from what the first
# lookup learnt, not with a query that waits for the lock (and times out).
handshake() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
        -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$WS_HTTP/push/ws?appkey=$1"
}
is "$(handshake no-such-key)" 401 "an unknown key: 401"
echo "BEGIN; LOCK TABLE push.app; SELECT pg_sleep(600);" | $PSQL >/dev/null 2>&1 &
track_pid $!
locked() {
    $PSQL -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
              WHERE c.relname = 'app' AND l.mode = 'AccessExclusiveLock' AND l.granted"
}
for _ in $(seq 100); do [ "$(locked)" = 1 ] && break; sleep 0.1; done
is "$(locked) $(handshake no-such-key)" "1 401" "the same key again while push.app is locked: 401 at once, from the cache"
$PSQL -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()" >/dev/null

# A parameter longer than the sidecar takes: 400 naming the query, not a stream with the
# rest of the query lost. One that fits is read whole, with what follows it.
pad=$(head -c 6000 /dev/zero | tr '\0' x)
code=$(curl -s -o "$T/long" -w '%{http_code}' --max-time 5 "$WS_HTTP/push/sse?appkey=$SUBSCRIBE_KEY&pad=$pad&channel=news")
is "$code $(json 'j["code"]' <"$T/long" 2>/dev/null)" "400 400" "SSE: a 6000-byte query parameter is a 400"
like "$(cat "$T/long" 2>/dev/null)" "query: a parameter is longer than" "and says which limit"
pad=$(head -c 2000 /dev/zero | tr '\0' x)
curl -s -o "$T/fits" --max-time 2 "$WS_HTTP/push/sse?appkey=$SUBSCRIBE_KEY&pad=$pad&channel=news"
like "$(head -3 "$T/fits")" 'data: \{"op":"subscribed","channel":"news"' "SSE: a 2000-byte parameter is taken whole, with the channel after it"

# Presence of a named client on channels "NULL" and "news", then it leaves both.
TAB1=$(presence_id tab1)
present() {
    $PSQL -c "SELECT count(*) FROM push.presence p JOIN push.channel c ON c.id = p.channel_id
              WHERE p.client_id = '$TAB1' AND c.name = '$1'"
}
wait_present() {
    local _
    for _ in $(seq 100); do [ "$(present "$1")" = "$2" ] && return 0; sleep 0.1; done
    return 1
}
$PY - "$WS_URL/push/ws?appkey=$SUBSCRIBE_KEY&client=tab1" "$T/leave" >"$T/py.out" 2>"$T/py.err" <<'PY' &
import asyncio, os, sys
import ws_client as w
async def main():
    ws = await w.connect(sys.argv[1])
    for ch in ("NULL", "news"):
        r = await w.subscribe(ws, ch)
        print(r["op"], ch, flush=True)
    while not os.path.exists(sys.argv[2]):  # stays until told to leave
        await asyncio.sleep(0.05)
    for ch in ("NULL", "news"):
        r = await w.request(ws, {"op": "unsubscribe", "channel": ch, "id": ch})
        print(r["op"], ch, flush=True)
    await asyncio.sleep(30)
asyncio.run(main())
PY
client=$!
track_pid "$client"
wait_present NULL 1 && wait_present news 1
ok $? "a named client is present on channels NULL and news"
touch "$T/leave"
wait_line "$T/py.out" "unsubscribed news"
wait_present news 0 && wait_present NULL 0
ok $? "after unsubscribing it is on neither: the channel named NULL is left like news ($(present NULL) row left on NULL)"
[ -s "$T/py.err" ] && diag "$(cat "$T/py.err")"

# A named client that never reads, on a channel of 8 KB messages: cut off during the
# fan-out, it leaves presence all the same.
$PY - 127.0.0.1 "$WS_PORT" "$SUBSCRIBE_KEY" "$T/slow-done" >"$T/slow" 2>"$T/py.err" <<'PY' &
import os, sys, time
import ws_client as w
host, port, key, done = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = w.raw_connect(host, port, "/push/ws?appkey=%s&client=slow1" % key, rcvbuf=4096)
s.sendall(w.raw_frame({"op": "subscribe", "channel": "heavy", "id": 1}))
print("subscribed", flush=True)
while not os.path.exists(done):
    time.sleep(0.1)
PY
slow=$!
track_pid "$slow"
SLOW1=$(presence_id slow1)
present_slow() {
    $PSQL -c "SELECT count(*) FROM push.presence p JOIN push.channel c ON c.id = p.channel_id
              WHERE p.client_id = '$SLOW1' AND c.name = 'heavy'"
}
for _ in $(seq 100); do [ "$(present_slow)" = 1 ] && break; sleep 0.1; done
is "$(present_slow)" 1 "a named client that never reads is present on its channel"
drops=$(metric push_ws_drops_total)
$PSQL -c "SELECT count(push.publish('$PUBLISH_KEY', 'heavy', repeat('x', 8192))) FROM generate_series(1, 300)" >/dev/null
for _ in $(seq 100); do [ "$(metric push_ws_drops_total)" -gt "$drops" ] && [ "$(present_slow)" = 0 ] && break; sleep 0.1; done
is "$(( $(metric push_ws_drops_total) - drops )) $(present_slow)" "1 0" "cut off as a slow reader, it has left presence"
touch "$T/slow-done"
wait "$slow"

# PostgreSQL frozen (every process of it stopped): what needs no query is still answered.
$PY - "$WS_URL/push/ws?appkey=$SUBSCRIBE_KEY" "$T/frozen" "$T/thawed" >"$T/stall" 2>"$T/py.err" <<'PY' &
import asyncio, os, sys, time
import ws_client as w
async def main():
    ws = await w.connect(sys.argv[1])
    print("connected", flush=True)
    while not os.path.exists(sys.argv[2]):
        await asyncio.sleep(0.05)
    t0 = time.monotonic()
    r = await w.request(ws, {"op": "unsubscribe", "channel": "nothing", "id": 1}, timeout=5)
    print("reply", r and r.get("code"), "%.2f" % (time.monotonic() - t0), flush=True)
    while not os.path.exists(sys.argv[3]):
        await asyncio.sleep(0.05)
    await ws.close()
asyncio.run(main())
PY
client=$!
track_pid "$client"
wait_line "$T/stall" connected
metric push_ws_notify_queue_usage >/dev/null
pg_pids="$(head -1 "$PGDATA_DIR/postmaster.pid") $(pgrep -P "$(head -1 "$PGDATA_DIR/postmaster.pid")" | tr '\n' ' ')"
kill -STOP $pg_pids
code=$(curl -s -o "$T/metrics" -w '%{http_code}' --max-time 5 "$WS_HTTP/push/ws/metrics")
# A key in no cache needs PostgreSQL: the handshake waits for it a second at most.
fresh=$(handshake never-seen-key)
touch "$T/frozen"
wait_line "$T/stall" reply
kill -CONT $pg_pids
touch "$T/thawed"
wait "$client"
is "$code" 200 "metrics are served while PostgreSQL does not answer"
is "$fresh" 503 "a key in no cache gets 503 when PostgreSQL does not answer in time"
like "$(cat "$T/stall")" "reply 404" "a client's request that needs no query is answered meanwhile"

# A client's frames must be masked (RFC 6455, 5.1): an unmasked one closes the connection with
# 1002 before the sidecar takes what it says; the same request masked is taken.
$PY - 127.0.0.1 "$WS_PORT" "$PUBLISH_KEY" >"$T/unmasked" 2>"$T/py.err" <<'PY'
import json, sys
import ws_client as w
host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def frames(s):
    """Every frame the server sends until its close frame, its end or 10 s."""
    closed = lambda data: any(op == 8 for op, _ in w.raw_frames(data))
    return w.raw_frames(w.raw_read(s, until=closed)[1])

request = json.dumps({"op": "publish", "channel": "masks", "content": "unmasked", "id": 1}).encode()
s = w.raw_connect(host, port, "/push/ws?appkey=" + key)
s.sendall(bytes([0x81, len(request)]) + request)
got = frames(s)
codes = [int.from_bytes(p[:2], "big") for op, p in got if op == 8]
replies = [json.loads(p).get("op") for op, p in got if op == 1]
print("unmasked", codes[0] if codes else None, ",".join(replies) or "-")
s = w.raw_connect(host, port, "/push/ws?appkey=" + key)
s.sendall(w.raw_frame({"op": "publish", "channel": "masks", "content": "masked", "id": 2}))
got = w.raw_frames(w.raw_read(s, until=w.raw_frames)[1])
print("masked", json.loads(got[0][1]).get("op") if got else None)
PY
is "$(head -1 "$T/unmasked")" "unmasked 1002 -" "an unmasked client frame: closed with 1002, nothing answered"
is "$(sed -n 2p "$T/unmasked") $($PSQL -c "SELECT string_agg(m.content, ',') FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.name = 'masks'")" \
    "masked ok masked" "the same publish masked is taken; the unmasked one was never published"
[ -s "$T/py.err" ] && diag "$(cat "$T/py.err")"

# The subscribe key (cached for an hour) is replaced: the app's change notification clears the
# cache, and the old key is refused.
$PSQL -c "SELECT key FROM push.key_rotate('shop', '{subscribe}', '0')" >/dev/null
# (An accepted handshake stays open: each try gives up after 2 s.)
status_of() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
        -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$WS_HTTP/push/ws?appkey=$1"
}
for _ in $(seq 10); do [ "$(status_of "$SUBSCRIBE_KEY")" = 401 ] && break; sleep 0.1; done
is "$(status_of "$SUBSCRIBE_KEY")" 401 "a replaced key is refused at once, not after app_cache_ttl"
tap_done
