#!/usr/bin/env bash
# tests/ws-basic.sh: push-ws over WebSocket: subscribe and receive what is published, publish
# with the publish key only, errors that keep the connection, the Origin allowlist at the
# handshake, tokens, limits, history, presence, metrics, SIGTERM, and the lighttpd proxy.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 49

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop "'{https://shop.example}'"
SHOP_ID=$($PSQL -c "SELECT id FROM push.app WHERE name = 'shop'")

"$PUSH_WS" --help >"$T/help" 2>&1
ok $? "--help exits 0"
like "$(cat "$T/help")" "ws_max_subscriptions" "--help lists the configuration keys"
like "$("$PUSH_WS" --version)" '^push-ws [0-9]' "--version prints the version"

export PUSH_WS_MAX_SUBSCRIPTIONS=3 PUSH_WS_MAX_FRAME=65536
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }

EXPIRES=$(( $(date +%s) + 600 ))
PRIVATE_TOKEN=$($PSQL -c "SELECT push.token($SHOP_ID, 'private-ops', $EXPIRES)")
ALICE_TOKEN=$($PSQL -c "SELECT push.token($SHOP_ID, 'user-alice', $EXPIRES)")
BOB_TOKEN=$($PSQL -c "SELECT push.token($SHOP_ID, 'user-bob', $EXPIRES)")
CAROL_PUBLISH=$("$top_builddir/cli/pushctl" token --jwt --app shop --sub carol --publish private-jwt --ttl 600)

# The Python side prints one "ok|not ok<TAB>description" line per check.
$PY - "$WS_URL" "$SUBSCRIBE_KEY" "$PUBLISH_KEY" "$PRIVATE_TOKEN" "$ALICE_TOKEN" "$BOB_TOKEN" \
    "$PSQL" "$SERVER_KEY" "$CAROL_PUBLISH" >"$T/checks" 2>"$T/py.err" <<'PY' &
import asyncio, subprocess, sys
import ws_client as w
url, sub_key, pub_key, private_token, alice_token, bob_token, psql, server_key, carol_publish = sys.argv[1:]

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

def publish_sql(channel, content):
    subprocess.run(psql.split() + ["-c", "SELECT push.publish('%s', '%s', '%s')" % (pub_key, channel, content)],
                   check=True, stdout=subprocess.DEVNULL)

async def refused(query, origin=None):
    try:
        ws = await w.connect(url + "/push/ws?" + query, origin=origin)
        await ws.close()
        return None
    except Exception as e:
        return getattr(e, "status_code", -1)

async def main():
    sub = await w.connect(url + "/push/ws?appkey=" + sub_key)
    r = await w.subscribe(sub, "news", req_id=1)
    check(r == {"op": "subscribed", "channel": "news", "seq": 0, "gap": False, "id": 1},
          "subscribe answers subscribed with the head and the request id")
    publish_sql("news", "from SQL")
    got = await w.messages(sub, "news", 1)
    check(len(got) == 1 and got[0]["content"] == "from SQL" and got[0]["seq"] == 1 and got[0]["time"] > 0,
          "a message published through push.publish() arrives with seq and time")

    pub = await w.connect(url + "/push/ws?appkey=" + pub_key + "&user=carol")
    r = await w.request(pub, {"op": "publish", "channel": "news", "content": "over ws \u4f60\u597d", "id": "p1"})
    check(r and r["op"] == "ok" and r["seq"] == 2 and r["id"] == "p1", "publish with the publish key answers ok with the seq")
    got = await w.messages(sub, "news", 1)
    check(len(got) == 1 and got[0]["content"] == "over ws \u4f60\u597d", "the subscriber gets the WebSocket publish, UTF-8 intact")

    r = await w.request(sub, {"op": "publish", "channel": "news", "content": "x", "id": 3})
    check(r and r["op"] == "error" and r["code"] == 403 and r["id"] == 3, "publish with the subscribe key: error 403")
    await w.send(sub, "{not json")
    r = await w.recv(sub)
    check(r and r["op"] == "error" and r["code"] == 400 and "JSON" in r["content"], "bad JSON: error 400")
    await w.send(sub, "[1,2]")
    r = await w.recv(sub)
    check(r and r["op"] == "error" and r["code"] == 400, "a JSON array: error 400")
    r = await w.request(sub, {"op": "dance", "id": 4})
    check(r and r["op"] == "error" and r["code"] == 400 and "dance" in r["content"], "unknown op: error 400 naming it")
    r = await w.request(sub, {"op": "subscribe", "channel": "bad channel!", "id": 5})
    check(r and r["code"] == 400 and r["content"].startswith("channel:"), "bad channel name: error 400 naming channel")
    r = await w.request(sub, {"op": "subscribe", "channel": "news", "since": -1, "id": 6})
    check(r and r["code"] == 400 and r["content"].startswith("since:"), "negative since: error 400 naming since")
    publish_sql("news", "still here")
    got = await w.messages(sub, "news", 1)
    check(len(got) == 1 and got[0]["seq"] == 3, "the connection survives every error and keeps delivering")

    r = await w.subscribe(sub, "private-ops", req_id=7)
    check(r["op"] == "error" and r["code"] == 403 and "token" in r["content"], "private channel without a token: 403")
    r = await w.subscribe(sub, "private-ops", token=private_token, req_id=8)
    check(r["op"] == "subscribed", "private channel with its token: subscribed")
    alice = await w.connect(url + "/push/ws?appkey=" + sub_key + "&user=alice")
    r = await w.subscribe(alice, "user-alice", token=bob_token, req_id=9)
    check(r["op"] == "error" and r["code"] == 403, "user-alice with bob's token: 403")
    r = await w.subscribe(alice, "user-alice", token=alice_token, req_id=10)
    check(r["op"] == "subscribed", "user-alice with a token made for alice: subscribed")
    mallory = await w.connect(url + "/push/ws?appkey=" + sub_key + "&user=mallory")
    r = await w.subscribe(mallory, "user-alice", token=alice_token, req_id=15)
    check(r["op"] == "error" and r["code"] == 403 and r["content"].startswith("user:"),
          "a connection of mallory's with alice's token: 403 naming the user")
    await mallory.close()
    r = await w.subscribe(pub, "private-ops", req_id=11)
    check(r["op"] == "error" and r["code"] == 403, "the publish key needs a token for a private channel")
    server = await w.connect(url + "/push/ws?appkey=" + server_key)
    r = await w.subscribe(server, "private-ops", req_id=11)
    check(r["op"] == "subscribed", "the server key needs no token")
    await server.close()
    r = await w.request(pub, {"op": "publish", "channel": "user-bob", "content": "x", "id": 30})
    check(r["op"] == "error" and r["code"] == 403, "the publish key cannot publish to user-bob")
    r = await w.request(pub, {"op": "publish", "channel": "private-jwt", "content": "x", "token": carol_publish,
                              "id": 31})
    check(r["op"] == "ok" and r["seq"] == 1, "a token whose publish claim covers private-jwt publishes there")

    r = await w.subscribe(sub, "third", req_id=12)
    check(r["op"] == "subscribed", "third subscription is within ws_max_subscriptions=3")
    r = await w.subscribe(sub, "fourth", req_id=13)
    check(r["op"] == "error" and r["code"] == 429, "a fourth subscription: error 429")
    r = await w.subscribe(sub, "news", since=1, req_id=14)
    check(r["op"] == "subscribed" and r["seq"] == 1, "subscribing again to a channel replaces the subscription (seq = its since)")
    got = await w.messages(sub, "news", 2)
    check(w.in_order(got, 2, 3), "... and replays from its since")
    r = await w.request(sub, {"op": "unsubscribe", "channel": "third", "id": 15})
    check(r == {"op": "unsubscribed", "id": 15, "channel": "third"}, "unsubscribe answers unsubscribed")
    r = await w.request(sub, {"op": "unsubscribe", "channel": "third", "id": 16})
    check(r["op"] == "error" and r["code"] == 404, "unsubscribe from a channel not subscribed: 404")
    publish_sql("third", "nobody listens")
    publish_sql("news", "after unsubscribe")
    got = await w.until(sub, lambda f: f.get("op") == "message" and f["channel"] == "news")
    check(got and all(f.get("channel") != "third" for f in got), "no messages after unsubscribing")

    r = await w.request(alice, {"op": "history", "channel": "news", "limit": 2, "id": 17})
    check(r["op"] == "history" and [m["seq"] for m in r["messages"]] == [3, 4], "history: the last messages, ascending")
    r = await w.request(alice, {"op": "history", "channel": "news", "after": 1, "limit": 1, "id": 18})
    check([m["seq"] for m in r["messages"]] == [2], "history after a seq")
    r = await w.request(alice, {"op": "history", "channel": "private-ops", "id": 19})
    check(r["op"] == "error" and r["code"] == 403, "history of a private channel needs its token")
    # alice named herself: presence counts her connection once its touch is written.
    await asyncio.sleep(1.5)
    r = await w.request(sub, {"op": "presence", "channel": "user-alice", "token": alice_token, "id": 20})
    check(r["op"] == "presence" and r["clients"] == 1 and r["users"] == ["alice"], "presence lists the named user")

    check(await refused("appkey=BS-nope") == 401, "unknown appkey: handshake refused with 401")
    check(await refused("client=x") == 400, "no appkey: handshake refused with 400")
    check(await refused("appkey=" + sub_key, origin="https://evil.example") == 403,
          "an Origin the app does not allow: handshake refused with 403")
    check(await refused("appkey=" + sub_key, origin="https://shop.example") is None, "the app's own Origin is accepted")
    big = await w.connect(url + "/push/ws?appkey=" + sub_key)
    await w.send(big, "x" * 70000)
    try:
        await asyncio.wait_for(big.recv(), 5)
    except Exception:
        pass
    check(big.close_code == 1009, "a message over ws_max_frame closes with 1009 (got %s)" % big.close_code)
    # A client message longer than lws's receive piece arrives in many pieces and is taken whole.
    reader = await w.connect(url + "/push/ws?appkey=" + sub_key)
    await w.subscribe(reader, "whole")
    writer = await w.connect(url + "/push/ws?appkey=" + pub_key)
    r = await w.request(writer, {"op": "publish", "channel": "whole", "content": "y" * 40000, "id": 40})
    got = await w.messages(reader, "whole", 1)
    check(r and r["op"] == "ok" and len(got) == 1 and got[0]["content"] == "y" * 40000,
          "a 40,000-byte publish over the WebSocket is taken in pieces and delivered whole")
    await reader.close()
    await writer.close()

    print("ready", flush=True)
    # Wait for SIGTERM from the shell: every client should see 1001.
    codes = []
    for ws in (sub, pub, alice):
        try:
            await asyncio.wait_for(ws.wait_closed(), 20)
        except Exception:
            pass
        codes.append(ws.close_code)
    check(codes == [1001, 1001, 1001], "SIGTERM closes every client with 1001 (got %s)" % codes)

asyncio.run(main())
PY
PY_PID=$!
for _ in $(seq 600); do grep -q '^ready' "$T/checks" && break; kill -0 "$PY_PID" 2>/dev/null || break; sleep 0.1; done
is "$(metric push_ws_connections)" 3 "metrics: 3 WebSocket connections"
is "$(metric push_ws_refused_total)" 3 "metrics: 3 refused handshakes"
like "$(metric push_ws_deliveries_total)" '^[0-9]+$' "metrics: deliveries counted"
like "$(metric push_ws_notify_queue_usage)" '^[0-9.e-]+$' "metrics: notify queue usage from PostgreSQL"
stop_ws TERM
is "$WS_STATUS" 0 "SIGTERM: push-ws exits 0"
wait "$PY_PID"
tap_checks "$T/checks"

# Behind lighttpd (conf/lighttpd.conf proxies /push/ws to PUSH_WS_PORT), publishing over HTTP.
if command -v lighttpd >/dev/null && [ -x "$top_builddir/fcgi/push-api" ]; then
    start_ws || { echo "Bail out! push-ws did not restart"; exit 1; }
    PUSH_WS_PORT=$WS_PORT start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
    $PY - "ws://127.0.0.1:$HTTP_PORT" "$SUBSCRIBE_KEY" "$BASE" "$PUBLISH_KEY" <<'PY' >"$T/proxied" 2>&1
import asyncio, subprocess, sys
import ws_client as w
url, sub_key, base, pub_key = sys.argv[1:]
async def main():
    ws = await w.connect(url + "/push/ws?appkey=" + sub_key, origin="https://shop.example")
    r = await w.subscribe(ws, "proxied")
    print("subscribed" if r["op"] == "subscribed" else r)
    subprocess.run(["curl", "-s", "-o", "/dev/null", base + "/push/publish", "-d", "appkey=" + pub_key,
                    "-d", "channel=proxied", "-d", "content=through lighttpd"], check=True)
    got = await w.messages(ws, "proxied", 1)
    print(got[0]["content"] if got else "nothing")
asyncio.run(main())
PY
    is "$(sed -n 1p "$T/proxied")" subscribed "through lighttpd: the WebSocket upgrade is proxied"
    is "$(sed -n 2p "$T/proxied")" "through lighttpd" "through lighttpd: a message published over HTTP arrives"
    is "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/push/ws/metrics")" 403 "through lighttpd: metrics are not served to the public"
else
    for _ in 1 2 3; do ok 0 "# SKIP lighttpd or fcgi/push-api missing"; done
fi
tap_done
