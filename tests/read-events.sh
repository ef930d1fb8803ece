#!/usr/bin/env bash
# tests/read-events.sh: what one connection of a user reads reaches the user's other
# connections as an event on read-user-<id> (sql/migrations/014_read_events.sql), on long-poll,
# WebSocket and SSE, and never another user's; the WebSocket ops read and unread answer what
# POST /push/read and GET /push/unread answer, with the same authorization. Two sidecars stand
# for two nodes.
. "$(dirname "$0")/ws-lib.sh"
ws_require
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
[ -x "$top_builddir/fcgi/push-api" ] || skip_all "fcgi/push-api not built"
tap_plan 23

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app reads "'{}'"
APP_ID=$($PSQL -c "SELECT id FROM push.app WHERE name = 'reads'")
EXPIRES=$(( $(date +%s) + 600 ))
ALICE=$($PSQL -c "SELECT push.token($APP_ID, 'user-alice', $EXPIRES, 'alice')")
BOB=$($PSQL -c "SELECT push.token($APP_ID, 'user-bob', $EXPIRES, 'bob')")
ALICE_X=$($PSQL -c "SELECT push.token($APP_ID, 'private-x', $EXPIRES, 'alice')")
publish user-alice a1 a2 a3 a4 a5
publish user-bob b1 b2
publish private-x x1 x2
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }
PUSH_WS_PORT=$WS_PORT start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
# A second sidecar: another node, which hears of reads only through PostgreSQL.
WS_URL1=$WS_URL WS_PORT1=$WS_PORT
WS_PORT= start_ws || { echo "Bail out! the second push-ws did not start"; exit 1; }
WS_URL2=$WS_URL WS_URL=$WS_URL1 WS_PORT=$WS_PORT1

$PY - "$BASE" "$WS_URL" "$WS_URL2" "127.0.0.1" "$WS_PORT" "$SUBSCRIBE_KEY" "$PUBLISH_KEY" "$ALICE" "$BOB" "$ALICE_X" \
    >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, json, sys, threading, urllib.parse, urllib.request
from ws_client import SseStream, connect, recv, request, send, subscribe, until
base, ws_url, ws_url2, host, port, key, pub_key, alice, bob, alice_x = *sys.argv[1:5], int(sys.argv[5]), *sys.argv[6:]

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

def get(path, **params):
    q = urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(base + path + "?" + q, timeout=60) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)

def post(path, **params):
    data = urllib.parse.urlencode(params, doseq=True).encode()
    try:
        with urllib.request.urlopen(base + path, data=data, timeout=60) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)

def events(messages, channel):
    return [json.loads(m["content"]) for m in messages if m["channel"] == channel]

# ---- HTTP and long-poll: alice reads in one tab, her other tab's poll hears it, bob's not.
first = get("/push/poll", appkey=key, channel="read-user-alice", token=alice, timeout=0)
check(first["code"] == 200 and first["messages"] == [], "a poll of read-user-alice with alice's token: 200, nothing yet")
bob_first = get("/push/poll", appkey=key, channel="read-user-bob", token=bob, timeout=0)
refused = get("/push/poll", appkey=key, channel="read-user-alice", token=bob, timeout=0)
check(refused["code"] == 403, "bob's token does not open read-user-alice: 403")

polled = {}
poller = threading.Thread(target=lambda: polled.update(
    get("/push/poll", appkey=key, channel="read-user-alice", token=alice, since=first["cursor"], timeout=30)))
poller.start()
# The poll waits on the channel's id; the read event arrives whenever it commits.
r = post("/push/read", appkey=key, token=alice, user="alice", channel="user-alice", seq=2)
check(r["code"] == 200 and r["seq"] == 2, "POST /push/read seq=2 by alice: 200")
poller.join(60)
got = events(polled.get("messages", []), "read-user-alice")
check([(e["action"], e["channel"], e["read_seq"], e["unread"]) for e in got] == [("read", "user-alice", 2, 3)],
      "alice's waiting long-poll gets the read event: user-alice read to 2, 3 unread")
r = post("/push/read", appkey=key, token=alice, user="alice", channel="user-alice", seqs="4,5")
after = get("/push/poll", appkey=key, channel="read-user-alice", token=alice, since=polled["cursor"], timeout=30)
got = events(after["messages"], "read-user-alice")
check([(e["seqs"], e["read_seq"], e["unread"]) for e in got] == [([4, 5], 2, 1)],
      "seqs=4,5 is one event with those seqs, 1 unread")
quiet = get("/push/poll", appkey=key, channel="read-user-bob", token=bob, since=bob_first["cursor"], timeout=0)
check(quiet["code"] == 200 and quiet["messages"] == [], "bob's read-user-bob got none of alice's reads")
r = post("/push/read", appkey=key, token=alice, user="alice", channel="read-user-alice", seq=1)
check(r["code"] == 400 and "cannot be marked read" in r["content"], "read-user-alice itself cannot be marked read: 400")
r = post("/push/publish", appkey=pub_key, channel="read-user-alice", content="{}")
check(r["code"] == 403, "the publish key cannot publish fake read events: 403")

# ---- WebSocket and SSE.
async def main():
    q = "/push/ws?appkey=" + key
    tab_a = await connect(ws_url + q + "&user=alice")
    tab_b = await connect(ws_url + q + "&user=alice")
    bob_tab = await connect(ws_url + q + "&user=bob")
    tab_c = await connect(ws_url2 + q + "&user=alice")
    r = await subscribe(tab_a, "read-user-alice", token=alice)
    r2 = await subscribe(tab_c, "read-user-alice", token=alice)
    check(r and r.get("op") == "subscribed" and r2 and r2.get("op") == "subscribed",
          "WebSocket: alice's tab A, and tab C on the second sidecar, subscribe to read-user-alice")
    r = await subscribe(bob_tab, "read-user-bob", token=bob)
    check(r and r.get("op") == "subscribed", "bob's tab subscribes to read-user-bob")
    sse = SseStream((host, port), urllib.parse.urlencode({"appkey": key, "channel": "read-user-alice", "token": alice}))
    sse.events(0, timeout=20, subscribed=1)
    check(sse.resp.status == 200 and len(sse.subscribed) == 1, "SSE: alice's stream of read-user-alice is subscribed")

    r = await request(tab_b, {"op": "read", "id": 1, "channel": "user-alice", "seq": 3, "token": alice})
    check(r == {"op": "read", "id": 1, "channel": "user-alice", "user": "alice", "seq": 3},
          "op read from tab B: {op:read, user:alice, seq:3}, as POST /push/read answers")
    frames = await until(tab_a, lambda f: f.get("op") == "message" and f.get("channel") == "read-user-alice", 20)
    e = json.loads(frames[-1]["content"]) if frames else {}
    check((e.get("channel"), e.get("read_seq"), e.get("unread")) == ("user-alice", 3, 0),
          "tab A gets the event of tab B's read: read to 3, 0 unread")
    frames = await until(tab_c, lambda f: f.get("op") == "message" and f.get("channel") == "read-user-alice", 20)
    e = json.loads(frames[-1]["content"]) if frames else {}
    check((e.get("channel"), e.get("read_seq")) == ("user-alice", 3), "tab C on the other sidecar gets it too")
    got = sse.events(1, timeout=20)
    check([(m["channel"], json.loads(m["content"])["read_seq"]) for _, m in got] == [("read-user-alice", 3)],
          "the SSE stream gets it too")

    # The reply and the event race (one comes from the job, one through NOTIFY): take both.
    await send(bob_tab, {"op": "read", "id": 2, "channel": "user-bob", "seqs": [2], "token": bob})
    seen = []
    while not (any(f.get("id") == 2 for f in seen) and any(f.get("op") == "message" for f in seen)):
        f = await recv(bob_tab, 20)
        if f is None:
            break
        seen.append(f)
    r = next((f for f in seen if f.get("id") == 2), None)
    check(r == {"op": "read", "id": 2, "channel": "user-bob", "user": "bob", "marked": 1},
          "op read with seqs: {marked: 1}")
    m = next((f for f in seen if f.get("op") == "message"), {})
    e = json.loads(m.get("content", "{}"))
    check(m.get("channel") == "read-user-bob" and e.get("user") == "bob" and e.get("seqs") == [2],
          "bob's first event is his own read: alice's never reached him")

    r = await request(tab_b, {"op": "unread", "id": 3, "channels": ["user-alice", "news"], "token": alice})
    http_unread = get("/push/unread", appkey=key, token=alice, user="alice", channel="user-alice,news")
    check(r and r.get("op") == "unread" and r["channels"] == http_unread["channels"] and r["total"] == http_unread["total"]
          and r["user"] == "alice", "op unread answers what GET /push/unread answers")
    r = await request(tab_b, {"op": "unread", "id": 4})
    check(r and r.get("code") == 403, "op unread without a token for user-alice: 403")
    r = await request(tab_b, {"op": "unread", "id": 5, "token": bob})
    check(r and r.get("code") == 403, "with bob's token on alice's connection: 403")
    r = await request(tab_b, {"op": "read", "id": 6, "channel": "private-x", "seq": 1, "token": alice})
    r2 = await request(tab_b, {"op": "read", "id": 7, "channel": "private-nothing", "seq": 1, "token": alice})
    check(r and r2 and r["code"] == 403 and r2["code"] == 403 and r["content"].replace("private-x", "C")
          == r2["content"].replace("private-nothing", "C"),
          "a private channel the tokens do not cover: the same 403 whether it exists or not")
    r = await request(tab_b, {"op": "read", "id": 8, "channel": "private-x", "seq": 2, "token": [alice, alice_x]})
    check(r == {"op": "read", "id": 8, "channel": "private-x", "user": "alice", "seq": 2},
          "with both tokens (an array) private-x is marked")
    r = await request(tab_b, {"op": "read", "id": 9, "channel": "user-alice", "token": alice})
    r2 = await request(tab_b, {"op": "read", "id": 10, "channel": "user-alice", "seqs": [], "token": alice})
    check(r and r2 and r["code"] == 400 and r["content"].startswith("seq: missing")
          and r2["code"] == 400 and r2["content"].startswith("seqs: must be"), "no seq, or empty seqs: 400")
    for ws in (tab_a, tab_b, tab_c, bob_tab):
        await ws.close()

asyncio.run(main())
PY
tap_checks "$T/checks"
tap_done
