#!/usr/bin/env bash
# tests/ws-sse.sh: GET /push/sse: the same stream as text/event-stream, each event's id the
# cursor after it; a reconnect with Last-Event-ID (or since=) gets exactly what was missed.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 18

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop "'{https://shop.example}'"
SHOP_ID=$($PSQL -c "SELECT id FROM push.app WHERE name = 'shop'")
TOKEN=$($PSQL -c "SELECT push.token($SHOP_ID, 'private-x', $(( $(date +%s) + 600 )))")
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }
if command -v lighttpd >/dev/null && [ -x "$top_builddir/fcgi/push-api" ]; then
    PUSH_WS_PORT=$WS_PORT start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
else
    BASE=
fi

$PY - "127.0.0.1" "$WS_PORT" "$SUBSCRIBE_KEY" "$PUBLISH_KEY" "$PSQL" "$TOKEN" "$BASE" "$SHOP_ID" >"$T/checks" 2>"$T/py.err" <<'PY'
import http.client, json, subprocess, sys, time, urllib.parse
from ws_client import SseStream
host, port, key, pub_key, psql, token, base, app_id = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

def publish(channel, *contents):
    sql = "".join("SELECT push.publish('%s', '%s', '%s');\n" % (pub_key, channel, c) for c in contents)
    subprocess.run(psql.split(), input=sql.encode(), check=True, stdout=subprocess.DEVNULL)

def Stream(query, headers=None, where=(host, port)):
    return SseStream(where, query, headers)

def cursor(text):
    return dict((c, int(s)) for c, s in (p.split(":") for p in text.split(",")))

q = urllib.parse.urlencode({"appkey": key, "channel": "news,other"})
s = Stream(q, {"Origin": "https://shop.example"})
check(s.resp.status == 200 and s.resp.getheader("Content-Type", "").startswith("text/event-stream"),
      "200 with Content-Type text/event-stream")
check(s.resp.getheader("Cache-Control") == "no-store" and s.resp.getheader("Access-Control-Allow-Origin") == "https://shop.example",
      "Cache-Control: no-store and CORS for the app's origin")
time.sleep(0.3)
publish("news", "n1", "n2", "n3")
publish("other", "o1", "o2")
got = s.events(5)
check([(m["channel"], m["seq"]) for _, m in got] == [("news", 1), ("news", 2), ("news", 3), ("other", 1), ("other", 2)],
      "five messages of two channels arrive as events")
check([cursor(i) for i, _ in got][-1] == {"news": 3, "other": 2}, "each event's id is the cursor after it")
last_id = got[-1][0]
s.close()

publish("news", "n4", "n5")
publish("other", "o3")
s = Stream(q, {"Last-Event-ID": last_id})
got = s.events(4, timeout=3)
check(sorted((m["channel"], m["seq"]) for _, m in got) == [("news", 4), ("news", 5), ("other", 3)],
      "reconnecting with Last-Event-ID gets exactly the three missed messages")
check([m["seq"] for _, m in got if m["channel"] == "news"] == [4, 5], "in order per channel")
check(cursor(got[-1][0]) == {"news": 5, "other": 3}, "and the cursor moves on")
s.close()

s = Stream(urllib.parse.urlencode({"appkey": key, "channel": "news", "since": "news:3"}))
got = s.events(2, timeout=3)
check([m["seq"] for _, m in got] == [4, 5], "since=news:3 replays 4 and 5")
s.close()
s = Stream(urllib.parse.urlencode({"appkey": key, "channel": "news", "since": "news:0"}), {"Last-Event-ID": "news:4"})
got = s.events(2, timeout=2)
check([m["seq"] for _, m in got] == [5], "Last-Event-ID wins over since")
s.close()

s = Stream(urllib.parse.urlencode({"appkey": key, "channel": "news"}), {"Last-Event-ID": "news:x"})
check(s.resp.status == 400 and "Last-Event-ID" in s.resp.read().decode(), "a malformed Last-Event-ID: 400 naming it")
s = Stream(urllib.parse.urlencode({"appkey": key, "channel": "private-x"}))
check(s.resp.status == 403, "a private channel without its token: 403")
s = Stream(urllib.parse.urlencode({"appkey": key, "channel": "private-x", "token": token}))
check(s.resp.status == 200, "with its token: 200")
s.close()
s = Stream(urllib.parse.urlencode({"appkey": key}))
check(s.resp.status == 400, "no channel: 400")
# libwebsockets drops a URI with %00 itself; what it lets through, the parameter checks refuse.
try:
    s = Stream("appkey=" + key + "&channel=trunc%00private-x")
    status = s.resp.status
except (http.client.HTTPException, OSError):
    status = 0
check(status in (0, 400), "channel=trunc%%00private-x: never served (%d)" % status)
s = Stream("appkey=" + key + "&channel=news&user=%C0%AF")
body = s.resp.read().decode("utf-8", "replace")
check(s.resp.status == 400 and "user: not valid UTF-8" in body, "invalid UTF-8 in user: 400 naming it")

# A stream the browser closes leaves presence within seconds, not at the next keepalive write
# (PUSH_WS_PING_INTERVAL, 30 s here): the sidecar watches the socket for the close.
def clients(channel):
    out = subprocess.run(psql.split() + ["-c", "SELECT clients FROM push.here_now(%s, ARRAY['%s'])" % (app_id, channel)],
                         capture_output=True, check=True).stdout.decode().strip()
    return int(out or 0)

def until_clients(channel, want, timeout):
    deadline = time.monotonic() + timeout
    while clients(channel) != want and time.monotonic() < deadline:
        time.sleep(0.2)
    return clients(channel)

s = Stream(urllib.parse.urlencode({"appkey": key, "channel": "lobby", "client": "sse-tab"}))
s.events(0, timeout=5, subscribed=1)
check(until_clients("lobby", 1, 15) == 1, "an SSE stream with a client id is in presence")
s.resp.close()
s.conn.close()
started = time.monotonic()
left = until_clients("lobby", 0, 12)
check(left == 0, "closed by the client, it leaves presence within 12 s (%.1f s; keepalive every 30 s)"
      % (time.monotonic() - started))

if base:
    u = urllib.parse.urlsplit(base)
    s = Stream(urllib.parse.urlencode({"appkey": key, "channel": "proxied"}), where=(u.hostname, u.port))
    time.sleep(0.3)
    publish("proxied", "p1")
    got = s.events(1, timeout=5)
    check([m["content"] for _, m in got] == ["p1"], "through lighttpd the stream is not buffered")
    s.close()
else:
    print("ok\t# SKIP lighttpd or fcgi/push-api missing")
PY
tap_checks "$T/checks"
tap_done
