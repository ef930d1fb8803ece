#!/usr/bin/env bash
# tests/ws-resume.sh: a client that comes back with `since` gets exactly what it missed, in
# order: from PostgreSQL beyond the ring, from the ring after it, then live, without
# duplicates while publishing goes on; `gap` when history was pruned.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 13

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop
# A ring of 16: a 100-message replay comes mostly from the database.
PUSH_WS_RING=16 start_ws || { echo "Bail out! push-ws did not start"; exit 1; }

$PY - "$WS_URL/push/ws?appkey=$SUBSCRIBE_KEY" "$PUBLISH_KEY" "$PSQL" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, subprocess, sys
import ws_client as w
url, pub_key, psql = sys.argv[1:]

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

def publish(channel, first, last, prefix="m"):
    sql = "".join("SELECT push.publish('%s', '%s', '%s%d');\n" % (pub_key, channel, prefix, i)
                  for i in range(first, last + 1))
    subprocess.run(psql.split(), input=sql.encode(), check=True, stdout=subprocess.DEVNULL)

async def publish_async(channel, first, last):
    await asyncio.get_running_loop().run_in_executor(None, publish, channel, first, last)

async def main():
    ws = await w.connect(url)
    await w.subscribe(ws, "news")
    publish("news", 1, 5)
    got = await w.messages(ws, "news", 5)
    check(w.in_order(got, 1, 5), "live: 1..5 arrive in order")
    last = got[-1]["seq"]
    await ws.close()

    publish("news", 6, 105)
    # The sidecar learns of 6..105 from notifications, after the publisher returns: a probe
    # following the channel live shows when it has them all.
    probe = await w.connect(url)
    head = (await w.subscribe(probe, "news"))["seq"]
    if head < 105:
        await w.messages(probe, "news", 105 - head)
    await probe.close()
    ws = await w.connect(url)
    r = await w.subscribe(ws, "news", since=last)
    # seq is where delivery starts (the next message is seq + 1), whatever this sidecar has
    # taken in of 6..105 by now.
    check(r["op"] == "subscribed" and r["gap"] is False and r["seq"] == last, "resubscribe with since: subscribed, seq = since (5), no gap")
    got = await w.messages(ws, "news", 100)
    check(w.in_order(got, 6, 105), "exactly the 100 missed messages, in order")
    check([m["content"] for m in got] == ["m%d" % i for i in range(6, 106)], "with their contents")
    extra = await w.recv(ws, 1)
    check(extra is None, "and nothing more")

    # A replay racing live publishing: no duplicates, no holes at the hand-over.
    ws2 = await w.connect(url)
    publisher = asyncio.create_task(publish_async("news", 106, 205))
    r = await w.subscribe(ws2, "news", since=50)
    got = await w.messages(ws2, "news", 155, timeout=30)
    await publisher
    check(w.in_order(got, 51, 205), "replay from 50 while 100 more are published: 51..205 exactly once, in order")
    got = await w.messages(ws, "news", 100)
    check(w.in_order(got, 106, 205), "the live subscriber got 106..205 meanwhile")

    ws3 = await w.connect(url)
    r = await w.subscribe(ws3, "news", since=200)
    got = await w.messages(ws3, "news", 5)
    check(r["seq"] == 200 and w.in_order(got, 201, 205), "since inside the ring: seq 200, then 201..205")
    r = await w.subscribe(ws3, "news", req_id="now")
    publish("news", 206, 206)
    got = await w.messages(ws3, "news", 1)
    check(r["seq"] == 205 and w.in_order(got, 206, 206), "without since: from now on")

    # Pruned history: the client is told about the gap and gets what is kept.
    subprocess.run(psql.split() + ["-c", "DELETE FROM push.message WHERE seq <= 150"], check=True,
                   stdout=subprocess.DEVNULL)
    ws4 = await w.connect(url)
    r = await w.subscribe(ws4, "news", since=10)
    got = await w.messages(ws4, "news", 56)
    check(r["gap"] is True and w.in_order(got, 151, 206), "since older than what is kept: gap true, delivery from the oldest kept")
    ws5 = await w.connect(url)
    r = await w.subscribe(ws5, "news", since=0)
    got = await w.messages(ws5, "news", 56)
    check(r["gap"] is False and w.in_order(got, 151, 206), "since 0 means from the oldest kept: no gap")
    # A since beyond the channel's head (its history was reset): gap, and delivery from the head.
    ws6 = await w.connect(url)
    r = await w.subscribe(ws6, "news", since=5000)
    publish("news", 207, 207)
    got = await w.messages(ws6, "news", 1)
    check(r["gap"] is True and r["seq"] == 206 and w.in_order(got, 207, 207),
          "since ahead of the head: gap true, delivery from the head on, as long-poll does")
    for c in (ws, ws2, ws3, ws4, ws5, ws6):
        await c.close()

asyncio.run(main())
PY
tap_checks "$T/checks"
is "$(metric push_ws_connections)" 0 "every connection is gone from the metrics"
tap_done
