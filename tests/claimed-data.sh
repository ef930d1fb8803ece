#!/usr/bin/env bash
# tests/claimed-data.sh: in an app with claimed users, a user without a token may give their own
# data= (a JSON object, at most 1024 bytes) on a long-poll, WebSocket or SSE request; presence
# keeps it with "verified": false (HTTP presence, the WebSocket presence op, join events). A
# token's info wins over data=; an app without claimed users ignores it; bad JSON, a non-object,
# invalid UTF-8 or more than 1024 bytes get 400 naming data on every transport.
. "$(dirname "$0")/ws-lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
ws_require
tap_plan 19

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }
create_app plain "'{}'"
PS=$SUBSCRIBE_KEY PK=$SERVER_KEY
create_app claims "'{}'" false 65536 0 true
CS=$SUBSCRIBE_KEY CK=$SERVER_KEY
EXP=$(( $(date +%s) + 600 ))
DAVE=$($PY - "$SECRET" "{\"sub\":\"dave\",\"exp\":$EXP,\"info\":{\"name\":\"Dave (token)\"}}" <<'PY'
import base64, hashlib, hmac, sys
secret, claims = sys.argv[1], sys.argv[2]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
signed = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(claims.encode())
print(signed + "." + b64(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()))
PY
)

$PY - "$BASE" "$WS_URL" "$WS_PORT" "$CS" "$CK" "$PS" "$PK" "$DAVE" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, http.client, json, sys, time, urllib.parse, urllib.request, urllib.error
import ws_client as w
base, url, ws_port, key, server_key, plain_key, plain_server, dave = sys.argv[1:]

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

def get(path, **params):
    try:
        with urllib.request.urlopen(base + path + "?" + urllib.parse.urlencode(params), timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()

def poll(**params):
    params.setdefault("timeout", "0")
    return get("/push/poll", **params)

def here_now(channel, skey=server_key):
    return json.loads(get("/push/presence", appkey=skey, channel=channel)[1])["channels"][channel]

def eventually(channel, pred, skey=server_key):
    deadline, seen = time.monotonic() + 15, None
    while time.monotonic() < deadline:
        seen = here_now(channel, skey)
        if pred(seen):
            break
        time.sleep(0.1)
    return seen

# Long-poll.
status, _ = poll(appkey=key, channel="hall", client="tab-b", user="bob", data='{"name":"Bob","age":7}')
check(status == 200, "a long-poll of claimed bob with data: 200")
seen = eventually("hall", lambda s: "bob" in s["info"])
check(seen["info"].get("bob") == {"name": "Bob", "age": 7, "verified": False},
      "presence keeps bob's data marked verified: false (saw %s)" % seen["info"])
poll(appkey=key, channel="hall", client="tab-m", user="mallory", data='{"name":"M","verified":true}')
seen = eventually("hall", lambda s: "mallory" in s["info"])
check(seen["info"].get("mallory") == {"name": "M", "verified": False},
      "data cannot claim verified: true (saw %s)" % seen["info"].get("mallory"))
status, _ = poll(appkey=key, channel="hall", client="tab-d", token=dave, data='{"name":"Not Dave"}')
seen = eventually("hall", lambda s: "dave" in s["info"])
check(status == 200 and seen["info"].get("dave") == {"name": "Dave (token)"},
      "with a token its info wins and data is ignored (saw %s)" % seen["info"].get("dave"))
status, _ = poll(appkey=plain_key, channel="hall", client="tab-z", user="zed", data='{"name":"Zed"}')
seen = eventually("hall", lambda s: s["clients"] >= 1, plain_server)
check(status == 200 and "zed" not in seen["users"] and "zed" not in seen.get("info", {}),
      "an app without claimed users ignores data: 200, zed stays anonymous (saw %s)" % seen)
for bad, why in (('{"name":', "truncated JSON"), ('["a"]', "a JSON array"), ('"text"', "a JSON string"),
                 ('{"a":1} x', "trailing text"), ('{"a":"' + "x" * 1020 + '"}', "1027 bytes")):
    status, body = poll(appkey=key, channel="hall", client="tab-x", user="xavier", data=bad)
    check(status == 400 and "data:" in body, "long-poll data of %s: 400 naming data (%d %s)" % (why, status, body.strip()))
status, body = get("/push/poll", appkey=plain_key, channel="hall", timeout="0", data="{bad")
check(status == 400 and "data:" in body, "bad data in an app without claimed users: 400 too (%d)" % status)
status, _ = poll(appkey=key, channel="hall", client="tab-x", user="xavier", data='{"a":"' + "x" * 1016 + '"}')
check(status == 200, "1024 bytes of data are taken")

# The sidecar: WebSocket and SSE.
async def main():
    carol = await w.connect(url + "/push/ws?" + urllib.parse.urlencode(
        {"appkey": key, "user": "carol", "client": "tab-c", "data": '{"name":"Carol"}'}))
    watcher = await w.connect(url + "/push/ws?appkey=" + key)
    r = await w.subscribe(watcher, "presence-room")
    check(r and r.get("op") == "subscribed", "a watcher follows presence-room")
    r = await w.subscribe(carol, "room")
    check(r and r.get("op") == "subscribed", "carol subscribes to room over a WebSocket")
    frames = await w.until(watcher, lambda f: f.get("op") == "message" and json.loads(f["content"]).get("userId") == "carol"
                           and json.loads(f["content"]).get("action") == "join", 15)
    event = json.loads(frames[-1]["content"]) if frames else {}
    check(event.get("userData") == {"name": "Carol", "verified": False},
          "carol's join event carries her data marked unverified (saw %s)" % event)
    r = await w.request(watcher, {"op": "presence", "channel": "room", "id": 3})
    check(r and r.get("info", {}).get("carol") == {"name": "Carol", "verified": False},
          "another client's presence op shows carol's data (saw %s)" % (r and r.get("info")))
    try:
        bad = await w.connect(url + "/push/ws?" + urllib.parse.urlencode({"appkey": key, "user": "x", "data": "[1]"}))
        await bad.close()
        refused = "accepted"
    except Exception as e:
        refused = str(e)
    check("400" in refused, "a WebSocket handshake with bad data: 400 (%s)" % refused)
    await carol.close()
    await watcher.close()

w.run(main())

s = w.SseStream(("127.0.0.1", int(ws_port)), urllib.parse.urlencode(
    {"appkey": key, "channel": "news", "user": "x", "data": b"{\"a\":\"\xff\"}"}))
body = s.resp.read().decode(errors="replace")
check(s.resp.status == 400 and "data:" in body, "an SSE request with data of invalid UTF-8: 400 naming data (%d)" % s.resp.status)
s.close()
s = w.SseStream(("127.0.0.1", int(ws_port)), urllib.parse.urlencode(
    {"appkey": key, "channel": "news", "user": "sam", "client": "tab-s", "data": '{"name":"Sam"}'}))
s.events(0, timeout=2, subscribed=1)
seen = eventually("news", lambda s: "sam" in s["info"])
check(s.resp.status == 200 and seen["info"].get("sam") == {"name": "Sam", "verified": False},
      "an SSE stream's claimed data shows in presence (saw %s)" % seen["info"])
s.close()
PY
tap_checks "$T/checks"
