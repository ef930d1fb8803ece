#!/usr/bin/env bash
# tests/names.sh: channel 订单 and user 张三 end to end on every transport: HTTP publish,
# history and presence, XHR and JSONP long-poll, a token whose sub is 张三, the sidecar's
# WebSocket and SSE; names with spaces or invisible characters are refused on each.
. "$(dirname "$0")/ws-lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
ws_require

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }
PUSH_WS_PORT=$WS_PORT start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
create_app names "'{}'" false 65536 0 true   # its pages name their users without a token
P=$PUBLISH_KEY S=$SUBSCRIBE_KEY
APP_ID=$($PSQL -c "SELECT id FROM push.app WHERE name = 'names'")
CH=订单
CH_Q=$($PY -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' "$CH")
USER_Q=$($PY -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' 张三)

# HTTP: publish as a form and as JSON, history, the cursor of a poll.
r=$(http POST "$BASE/push/publish" -d appkey="$P" --data-urlencode "channel=$CH" --data-urlencode "content=新订单 1")
like "$r" '^200 \{"code":200,"content":"OK","channel":"订单","seq":1' "HTTP publish to 订单 (form): 200, seq 1"
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' \
    --data-binary "{\"appkey\":\"$P\",\"channel\":\"$CH\",\"content\":\"新订单 2\"}")
like "$r" '^200 \{"code":200,"content":"OK","channel":"订单","seq":2' "HTTP publish to 订单 (JSON): seq 2"
r=$(http GET "$BASE/push/history?appkey=$S&channel=$CH_Q")
is "$(echo "${r#* }" | json '[m["content"] for m in j["messages"]]')" "['新订单 1', '新订单 2']" "history of 订单"

r=$(http GET "$BASE/push/poll?appkey=$S&channel=$CH_Q&since=$CH_Q:0&timeout=0&client=tab1&user=$USER_Q")
is "$(echo "${r#* }" | json '[m["seq"] for m in j["messages"]], j["cursor"]')" "[1, 2] 订单:2" \
    "XHR long-poll of 订单 from 0 by 张三: both messages, cursor 订单:2"
r=$(http GET "$BASE/push/poll?appkey=$S&channel=$CH_Q&since=$CH_Q:1&timeout=0&callback=cb")
like "$r" '^200 /\*\*/cb\(\{"code":200,.*"content":"新订单 2".*"cursor":"订单:2"' "JSONP long-poll of 订单 since 1: the second message"
r=$(http GET "$BASE/push/presence?appkey=$S&channel=$CH_Q")
# Presence is written in batches: ask until 张三 is there.
for _ in $(seq 100); do
    case $r in *张三*) break ;; esac
    sleep 0.1
    r=$(http GET "$BASE/push/presence?appkey=$S&channel=$CH_Q")
done
is "$(echo "${r#* }" | json 'j["channels"]["订单"]["users"]')" "['张三']" "presence of 订单 lists 张三"

# A token for 张三's own channel.
EXP=$(( $(date +%s) + 600 ))
TOKEN=$($PSQL -c "SELECT push.jwt($APP_ID, '张三', ARRAY['user-张三'], NULL, $EXP)")
r=$(http GET "$BASE/push/poll?appkey=$S&channel=user-$USER_Q&timeout=0&user=$USER_Q&token=$TOKEN")
is "${r%% *}" 200 "long-poll of user-张三 with 张三's token: 200"
r=$(http GET "$BASE/push/poll?appkey=$S&channel=user-$USER_Q&timeout=0&user=$USER_Q")
is "${r%% *}" 403 "without it: 403"
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-%E6%9D%8E%E5%9B%9B&token=$TOKEN")
is "${r%% *}" 403 "张三's token does not open user-李四: 403"

# Refused names on HTTP, and nothing stored.
while IFS='|' read -r what channel; do
    r=$(http POST "$BASE/push/publish" -d appkey="$P" --data-urlencode "channel=$channel" -d content=x)
    like "$r" '^400 \{"code":400,"content":"channel: must be ' "HTTP publish to a channel with $what: 400"
done <<EOF
a space|订 单
an ideographic space (U+3000)|订　单
a zero-width space|订$(printf '\u200b')单
a colon|订单:1
EOF
# Not in NFC (e + U+0301 for é): refused before PostgreSQL, which would refuse it too.
NOT_NFC=cafe$(printf '\u0301')
r=$(http POST "$BASE/push/publish" -d appkey="$P" --data-urlencode "channel=$NOT_NFC" -d content=x)
is "$r" '400 {"code":400,"content":"channel: not in Unicode NFC (normalize it first)"}' \
   "HTTP publish to a name not in NFC: 400 not in Unicode NFC"
r=$(http GET "$BASE/push/poll?appkey=$S&channel=cafe%CC%81&timeout=0")
like "$r" '^400 .*"content":"channel: not in Unicode NFC \(normalize it first\)"' "long-poll of a name not in NFC: 400"
r=$(http GET "$BASE/push/poll?appkey=$S&channel=$CH_Q&timeout=0&user=e%CC%81")
like "$r" '^400 .*"content":"user: not in Unicode NFC \(normalize it first\)"' "long-poll with a user id not in NFC: 400"
r=$(http POST "$BASE/push/publish" -d appkey="$P" --data-urlencode "channel=café" -d content=x)
is "${r%% *}" 200 "HTTP publish to café composed (U+00E9): 200"
r=$(http GET "$BASE/push/poll?appkey=$S&channel=$CH_Q&timeout=0&user=%E5%BC%A0%E3%80%80%E4%B8%89")
like "$r" '^400 .*"content":"user: must be ' "long-poll with a user id holding U+3000: 400"
is "$($PSQL -c "SELECT count(*) FROM push.channel WHERE app_id = $APP_ID")" 2 "refused names made no channel (订单 and café have the two rows: reading user-张三 makes none)"

# WebSocket and SSE, straight to the sidecar and through lighttpd.
$PY - "$WS_URL" "$S" "$P" "$CH" "$BASE" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, http.client, json, subprocess, sys, time, urllib.parse, urllib.request
import ws_client as w
url, sub_key, pub_key, ch, base = sys.argv[1:]
q = urllib.parse.quote

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

def publish_http(content):
    body = urllib.parse.urlencode({"appkey": pub_key, "channel": ch, "content": content}).encode()
    with urllib.request.urlopen(base + "/push/publish", body, timeout=10) as r:
        return json.load(r)["seq"]

async def refused(query):
    try:
        ws = await w.connect(url + "/push/ws?" + query)
        await ws.close()
        return None
    except Exception as e:
        return getattr(e, "status_code", -1)

async def main():
    for where, prefix in (("sidecar", url), ("lighttpd", base.replace("http", "ws", 1))):
        sub = await w.connect(prefix + "/push/ws?appkey=" + sub_key + "&user=" + q("张三"))
        r = await w.subscribe(sub, ch, req_id=1)
        check(r and r.get("op") == "subscribed" and r.get("channel") == ch,
              "%s: WebSocket of user 张三 subscribes to 订单" % where)
        seq = publish_http("ws " + where)
        got = await w.messages(sub, ch, 1)
        check(len(got) == 1 and got[0]["channel"] == ch and got[0]["seq"] == seq and got[0]["content"] == "ws " + where,
              "%s: a publish to 订单 arrives with its channel name intact" % where)
        r = await w.subscribe(sub, "订 单", req_id=2)
        check(r and r.get("op") == "error" and r.get("code") == 400, "%s: subscribing to 订 单 (a space) is a 400" % where)
        r = await w.subscribe(sub, "cafe\u0301", req_id=3)
        check(r and r.get("op") == "error" and r.get("code") == 400 and
              r.get("content") == "channel: not in Unicode NFC (normalize it first)",
              "%s: subscribing to a name not in NFC (e + U+0301) is a 400 not in Unicode NFC" % where)
        await sub.close()

    pub = await w.connect(url + "/push/ws?appkey=" + pub_key)
    r = await w.request(pub, {"op": "publish", "channel": ch, "content": "从 WebSocket", "id": 5})
    check(r and r.get("op") == "ok" and isinstance(r.get("seq"), int), "WebSocket publish op to 订单: ok with a seq")
    r = await w.request(pub, {"op": "publish", "channel": ch, "content": "", "id": 6})
    check(r and r.get("op") == "error" and r.get("code") == 400 and r.get("content") == "content: empty",
          "WebSocket publish op with empty content: 400 content: empty")
    await pub.close()
    check(await refused("appkey=" + sub_key + "&user=" + q("张\u3000三")) == 400,
          "a WebSocket handshake with a user id holding U+3000: 400")
    check(await refused("appkey=" + sub_key + "&user=" + q("e\u0301")) == 400,
          "a WebSocket handshake with a user id not in NFC: 400")

    # SSE: the event's data names 订单 and its id is the cursor 订单:<seq>.
    for where, (h, p) in (("sidecar", urllib.parse.urlsplit(url.replace("ws", "http", 1))[1].split(":")),
                          ("lighttpd", urllib.parse.urlsplit(base)[1].split(":"))):
        seq = publish_http("sse " + where)
        stream = w.SseStream((h, int(p)), "appkey=%s&channel=%s&user=%s&since=%s" % (
            sub_key, q(ch), q("张三"), q("%s:%d" % (ch, seq - 1))))
        ok_head = stream.resp.status == 200 and stream.resp.getheader("Content-Type", "").startswith("text/event-stream")
        got = next((e for e in stream.events(1, timeout=15) if e[1].get("content") == "sse " + where), None)
        stream.close()
        check(ok_head and got is not None and got[1]["channel"] == ch and got[0] == "%s:%d" % (ch, seq),
              "%s: SSE of 订单 delivers the message, id the cursor 订单:%s" % (where, seq))
        conn = http.client.HTTPConnection(h, int(p), timeout=5)
        conn.request("GET", "/push/sse?appkey=%s&channel=%s" % (sub_key, q("订 单")))
        check(conn.getresponse().status == 400, "%s: SSE of 订 单 (a space): 400" % where)
        conn.close()
        conn = http.client.HTTPConnection(h, int(p), timeout=5)
        conn.request("GET", "/push/sse?appkey=%s&channel=%s" % (sub_key, q("cafe\u0301")))
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        check(resp.status == 400 and "channel: not in Unicode NFC" in body,
              "%s: SSE of a name not in NFC: 400 not in Unicode NFC (%d %s)" % (where, resp.status, body.strip()[:80]))
        conn.close()

w.run(main())
PY
tap_checks "$T/checks"

tap_plan "$tap_count"
tap_done
