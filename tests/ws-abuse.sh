#!/usr/bin/env bash
# tests/ws-abuse.sh: clients that ask much and never read cannot make the sidecar take memory
# without bound or keep others waiting: two connections each sending 100 history requests of
# 1000 messages of 8 KB, and 100 subscribers replaying the channel from 0, all never reading.
# The sidecar's RSS (peak, VmHWM) stays under a stated bound, and a second client is served
# within a second meanwhile. Operations in flight per connection and their bytes per worker
# are limited, and the queued operations of a connection that went are dropped, not run.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 13

# What the attack may add to the sidecar's peak RSS with the default limits (ws_queue_bytes
# 1 MiB, history replies and replay pages of 256 KiB, 8 operations in flight): 100 replaying
# subscribers each hold at most half a queue and a page (77 MiB), plus database results being
# read and allocator slack (and shadow memory under AddressSanitizer). Measured: +78 MiB,
# +101 MiB under AddressSanitizer; before byte budgets the same attack took +2920 MiB.
BOUND_MB=150

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop
# Under AddressSanitizer freed memory is held back in a quarantine (256 MiB): the RSS would
# measure that, not the sidecar.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }
$PSQL -c "SELECT count(push.publish('$PUBLISH_KEY', 'fat', repeat('x', 8192))) FROM generate_series(1, 1000)" >/dev/null
wait_seq fat 1000 || { echo "Bail out! publishing failed"; exit 1; }

kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$WS_PID/status"; }
# One history request first, so the baseline includes a warmed-up database connection.
$PY - "$WS_URL/push/ws?appkey=$SUBSCRIBE_KEY" >/dev/null 2>&1 <<'PY'
import asyncio, sys
import ws_client as w
async def main():
    ws = await w.connect(sys.argv[1])
    await w.request(ws, {"op": "history", "channel": "fat", "limit": 1000, "id": 1}, timeout=30)
    await ws.close()
asyncio.run(main())
PY
rss_before=$(kb VmRSS)

# The attackers: raw sockets with small receive buffers that never read after the handshake.
$PY - 127.0.0.1 "$WS_PORT" "$SUBSCRIBE_KEY" "$T/attack" >"$T/attack.out" 2>"$T/attack.err" <<'PY' &
import os, sys, time
import ws_client as w
host, port, key, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
path = "/push/ws?appkey=" + key

socks = []
for _ in range(2):
    s = w.raw_connect(host, port, path, rcvbuf=4096)
    s.sendall(b"".join(w.raw_frame({"op": "history", "channel": "fat", "limit": 1000, "id": i}) for i in range(100)))
    socks.append(s)
for _ in range(100):
    s = w.raw_connect(host, port, path, rcvbuf=4096)
    s.sendall(w.raw_frame({"op": "subscribe", "channel": "fat", "since": 0, "id": 1}))
    socks.append(s)
print("attacking", len(socks), flush=True)
while not os.path.exists(stop):
    time.sleep(0.1)
PY
attacker=$!
track_pid "$attacker"
wait_line "$T/attack.out" attacking
is "$(cat "$T/attack.out")" "attacking 102" "2 history senders and 100 replaying subscribers connected, none reading"

# The work the attack asked for is done (or refused) once no database job is left and the
# subscriptions are all in; then the peak is what it takes.
settled() {
    [ "$(metric push_ws_jobs)" = 0 ] && [ "$(metric push_ws_subscriptions)" -ge 100 ] 2>/dev/null
}
for _ in $(seq 600); do settled && break; sleep 0.1; done
settled
ok $? "the sidecar settles: no database job left, 100 subscriptions"

# A second client meanwhile: connected, subscribed, and a message published by a third
# reaches it, each within a second.
$PY - "$WS_URL/push/ws?appkey=$SUBSCRIBE_KEY" "$WS_URL/push/ws?appkey=$PUBLISH_KEY" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, sys, time
import ws_client as w
def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)
async def main():
    t0 = time.monotonic()
    sub = await w.connect(sys.argv[1])
    r = await w.subscribe(sub, "news")
    t1 = time.monotonic()
    check(r and r["op"] == "subscribed" and t1 - t0 < 1, "another client connects and subscribes within a second (%.3f s)" % (t1 - t0))
    pub = await w.connect(sys.argv[2])
    t2 = time.monotonic()
    r = await w.request(pub, {"op": "publish", "channel": "news", "content": "still here", "id": "p"})
    got = await w.messages(sub, "news", 1, timeout=5)
    t3 = time.monotonic()
    check(r and r["op"] == "ok" and len(got) == 1 and got[0]["content"] == "still here" and t3 - t2 < 1,
          "a message published meanwhile reaches it within a second (%.3f s)" % (t3 - t2))
    r = await w.request(sub, {"op": "history", "channel": "fat", "limit": 1000, "id": "h"}, timeout=10)
    size = sum(len(m["content"]) for m in r["messages"]) if r and r.get("messages") else 0
    check(r and r["op"] == "history" and r.get("more") is True and 0 < size <= 256 * 1024,
          "a history reply is bounded in bytes and says there is more (%d messages, %d content bytes)"
          % (len(r["messages"]) if r else 0, size))
asyncio.run(main())
PY
tap_checks "$T/checks"

hwm=$(kb VmHWM)
rss_after=$(kb VmRSS)
diag "push-ws RSS before ${rss_before} kB, after ${rss_after} kB, peak ${hwm} kB; drops $(metric push_ws_drops_total), queued $(metric push_ws_queued_bytes) bytes"
ok "$([ $(( (hwm - rss_before) / 1024 )) -lt $BOUND_MB ] && echo 0)" \
   "the attack adds less than $BOUND_MB MiB to push-ws's peak RSS (+$(( (hwm - rss_before) / 1024 )) MiB)"
# Each history sender is cut off (its answers exceed ws_queue_bytes) or refused beyond
# ws_max_inflight; neither gets all 100 answers of 8 MB.
ok "$([ "$(metric push_ws_drops_total)" -ge 2 ] && echo 0)" "both history senders were cut off as slow readers"

touch "$T/attack"
wait "$attacker"
for _ in $(seq 100); do [ "$(metric push_ws_connections)" = 0 ] && break; sleep 0.1; done
is "$(metric push_ws_connections) $(metric push_ws_queued_bytes)" "0 0" "once the attackers are gone, no connection and no queued byte is left"

# Operations held up by a row lock: with db_pool=2, two publishes wait in PostgreSQL and the
# other six of ws_max_inflight=8 wait in the job queue.
stop_ws
unset WS_PORT
PUSH_DB_POOL=2 PUSH_WS_MAX_INFLIGHT=8 PUSH_WS_MAX_PENDING_BYTES=65536 start_ws ||
    { echo "Bail out! push-ws did not start"; exit 1; }
publish held first
echo "BEGIN; SELECT id FROM push.channel WHERE name = 'held' FOR UPDATE; SELECT pg_sleep(600);" | $PSQL >/dev/null 2>&1 &
holder=$!
track_pid "$holder"
waiting() { $PSQL -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"; }
$PY - "$WS_URL/push/ws?appkey=$PUBLISH_KEY" "$T/leave" >"$T/held" 2>"$T/py.err" <<'PY' &
import asyncio, os, sys
import ws_client as w
async def main():
    ws = await w.connect(sys.argv[1])
    for i in range(8):
        await w.send(ws, {"op": "publish", "channel": "held", "content": "p%d" % i, "id": i})
    r = await w.request(ws, {"op": "publish", "channel": "held", "content": "p8", "id": 8})
    print("ninth", r and r["op"], r and r.get("code"), flush=True)
    while not os.path.exists(sys.argv[2]):
        await asyncio.sleep(0.05)
    await ws.close()
    print("closed", flush=True)
asyncio.run(main())
PY
client=$!
track_pid "$client"
wait_line "$T/held" ninth
is "$(cat "$T/held")" "ninth error 429" "a ninth operation while eight are in flight: error 429"
$PY - "$WS_URL/push/ws?appkey=$PUBLISH_KEY" >"$T/big" 2>>"$T/py.err" <<'PY'
import asyncio, sys
import ws_client as w
async def main():
    ws = await w.connect(sys.argv[1])
    r = await w.request(ws, {"op": "publish", "channel": "held", "content": "b" * 70000, "id": 1}, timeout=5)
    print(r and r["op"], r and r.get("code"), flush=True)
    await ws.close()
asyncio.run(main())
PY
is "$(cat "$T/big")" "error 503" "another connection's 70 KB publish beyond ws_max_pending_bytes (64 KiB) waiting: error 503"
for _ in $(seq 100); do [ "$(waiting)" = 2 ] && break; sleep 0.1; done
is "$(waiting)" 2 "two publishes wait for the row lock, six in the job queue"
touch "$T/leave"
wait "$client"
for _ in $(seq 100); do [ "$(metric push_ws_connections)" = 0 ] && break; sleep 0.1; done
$PSQL -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()" >/dev/null
for _ in $(seq 100); do [ "$(metric push_ws_jobs)" = 0 ] && break; sleep 0.1; done
is "$(metric push_ws_jobs)" 0 "once the lock is gone every job is done"
is "$($PSQL -c "SELECT last_seq FROM push.channel WHERE name = 'held'")" 3 \
   "the client left: only the two publishes already running were made, the six queued ones were dropped"
tap_done
