#!/usr/bin/env bash
# tests/idempotent.sh: idempotent publishing with msgid: a retried publish answers the first
# one's seq and time with "duplicate":true and stores nothing, over HTTP (single, batch, JSONP),
# GoEasy's REST publish, WebSocket, and under group commit with many retries at once.
. "$(dirname "$0")/ws-lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
ws_require
tap_plan 25
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }
create_app idem "'{}'" true
P=$PUBLISH_KEY
# stored CHANNEL: how many messages the channel keeps.
stored() { $PSQL -c "SELECT count(*) FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.name = '$1'"; }
field() { echo "${1#* }" | json "$2"; }

r1=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=one -d msgid=order-17)
like "$r1" '^200 \{"code":200,"content":"OK","channel":"news","seq":1,"time":[0-9]+\}$' \
     "a first publish with msgid: 200 with seq 1, no duplicate"
r2=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=changed -d msgid=order-17)
is "$(field "$r2" 'j["seq"], j["duplicate"], j["time"]')" "1 True $(field "$r1" 'j["time"]')" \
   "the retry answers seq 1 and the first one's time, with \"duplicate\":true"
is "$(stored news)" 1 "and stored nothing"
is "$($PSQL -c "SELECT content FROM push.message WHERE msgid = 'order-17'")" one "the first content stays"
r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=two)
is "$(field "$r" 'j["seq"], "duplicate" in j')" "2 False" "a publish without msgid stores as before"
r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=x --data-urlencode 'msgid=a b')
is "$r" '400 {"code":400,"content":"msgid: must be 1-64 characters of printable ASCII without spaces"}' \
   "a msgid with a space: 400 naming msgid"
r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=x -d "msgid=$(printf 'm%.0s' {1..65})")
is "${r%% *}" 400 "a msgid of 65 bytes: 400"
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' \
    -d "{\"appkey\":\"$P\",\"channel\":\"news\",\"content\":\"x\",\"msgid\":17}")
like "$r" '^400 .*"msgid: must be' "a JSON msgid that is not a string: 400"
is "$(stored news)" 2 "refused publishes stored nothing"

# Batch: each message its own msgid.
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' -d "{\"appkey\":\"$P\",\"messages\":[
    {\"channel\":\"news\",\"content\":\"a\",\"msgid\":\"order-17\"},{\"channel\":\"news\",\"content\":\"b\",\"msgid\":\"b-1\"},
    {\"channel\":\"news\",\"content\":\"b again\",\"msgid\":\"b-1\"},{\"channel\":\"news\",\"content\":\"c\"}]}")
is "$(field "$r" '[(m["seq"], m.get("duplicate", False)) for m in j["messages"]]')" \
   "[(1, True), (3, False), (3, True), (4, False)]" \
   "batch: a kept msgid and a repeat inside the batch answer the first seq, marked duplicate"
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' -d "{\"appkey\":\"$P\",\"messages\":[
    {\"channel\":\"news\",\"content\":\"a\"},{\"channel\":\"news\",\"content\":\"b\",\"msgid\":\"\"}]}")
is "$r" '400 {"code":400,"content":"messages[1].msgid: must be 1-64 characters of printable ASCII without spaces"}' \
   "batch: an empty msgid is a 400 naming its message"
is "$(stored news)" 4 "the batch stored b and c only"

# JSONP publish from a page.
r1=$(http GET "$BASE/push/publish?appkey=$P&channel=room&content=hi&msgid=page-1&callback=cb")
r2=$(http GET "$BASE/push/publish?appkey=$P&channel=room&content=hi&msgid=page-1&callback=cb")
like "$r1" '^200 /\*\*/cb\(\{"code":200,"content":"OK","channel":"room","seq":1,"time":[0-9]+\}\);$' "JSONP: first publish stores seq 1"
like "$r2" '^200 /\*\*/cb\(\{"code":200,"content":"OK","channel":"room","seq":1,"time":[0-9]+,"duplicate":true\}\);$' \
     "JSONP: the retry answers seq 1 with duplicate"

# GoEasy's REST publish, 1.x form and 2.x JSON.
http POST "$BASE/goeasy/publish" -d appkey="$P" -d channel=my_channel -d content=Hello -d msgid=ge-1 >/dev/null
r=$(http POST "$BASE/goeasy/publish" -d appkey="$P" -d channel=my_channel -d content=Hello -d msgid=ge-1)
is "$(field "$r" 'j["code"], j["seq"], j["duplicate"]')" "200 1 True" "/goeasy/publish: the retry is a duplicate of seq 1"
r=$(http POST "$BASE/v2/pubsub/publish" -H 'Content-Type: application/json' \
    -d "{\"appkey\":\"$P\",\"channel\":\"my_channel\",\"content\":\"Hello\",\"msgid\":\"ge-1\"}")
is "$(field "$r" 'j["code"], j["seq"], j["duplicate"]')" "200 1 True" "/v2/pubsub/publish: the same msgid is a duplicate too"
is "$(stored my_channel)" 1 "GoEasy's publishes stored one message"

# Group commit: 24 requests at once with the same msgid (and 24 without) while a session holds
# channel burst's row lock, so that they gather in the committer's queue and share transactions.
http POST "$BASE/push/publish" -d appkey="$P" -d channel=burst -d content=first >/dev/null
$PSQL -c "BEGIN; SELECT 1 FROM push.channel WHERE name = 'burst' FOR UPDATE; SELECT pg_sleep(1); COMMIT" >/dev/null &
locker=$!
$PY - "$HTTP_PORT" "$P" >"$T/burst" 2>"$T/burst.err" <<'PY'
import http.client, json, sys, threading, urllib.parse
port, key = int(sys.argv[1]), sys.argv[2]
out, lock = [], threading.Lock()
def one(n):
    fields = {"appkey": key, "channel": "burst", "content": "retry %d" % n}
    if n % 2 == 0:
        fields["msgid"] = "burst-1"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/push/publish", urllib.parse.urlencode(fields),
                 {"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    j = json.loads(r.read())
    with lock:
        out.append("%d %d %s %s" % (n % 2, r.status, j.get("seq", "-"), j.get("duplicate", False)))
threads = [threading.Thread(target=one, args=(n,)) for n in range(48)]
for t in threads: t.start()
for t in threads: t.join()
print("\n".join(out))
PY
wait "$locker"
[ -s "$T/burst.err" ] && diag "$(cat "$T/burst.err")"
is "$(awk '$2 != 200' "$T/burst" | wc -l)" 0 "48 concurrent publishes all answered 200"
is "$(awk '$1 == 0 {print $3}' "$T/burst" | sort -u | wc -l) $(awk '$1 == 0 && $4 == "False"' "$T/burst" | wc -l)" "1 1" \
   "the 24 with msgid burst-1 all got one seq, and only one of them was not a duplicate"
is "$($PSQL -c "SELECT count(*) || ' ' || max(m.seq) || ' ' || max(c.last_seq) FROM push.message m
                JOIN push.channel c ON c.id = m.channel_id WHERE c.name = 'burst'")" "26 26 26" \
   "channel burst stored 26 messages (first, 24 without msgid, one with), seqs dense"
read -r rows transactions <<<"$($PSQL -F ' ' -c "SELECT count(*), count(DISTINCT m.xmin::text) FROM push.message m
                                                  JOIN push.channel c ON c.id = m.channel_id WHERE c.name = 'burst'")"
diag "burst: $rows messages in $transactions transactions"

# WebSocket publish.
$PY - "$WS_URL" "$P" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, sys
import ws_client as w
url, pub_key = sys.argv[1:]
def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)
async def main():
    pub = await w.connect(url + "/push/ws?appkey=" + pub_key)
    a = await w.request(pub, {"op": "publish", "channel": "wsch", "content": "one", "msgid": "ws-1", "id": 1})
    check(a and a["op"] == "ok" and a["seq"] == 1 and "duplicate" not in a, "ws: a first publish with msgid stores seq 1")
    b = await w.request(pub, {"op": "publish", "channel": "wsch", "content": "one", "msgid": "ws-1", "id": 2})
    check(b and b["op"] == "ok" and b["seq"] == 1 and b.get("duplicate") is True and b["time"] == a["time"],
          "ws: the retry answers seq 1 and its time with duplicate")
    c = await w.request(pub, {"op": "publish", "channel": "wsch", "content": "x", "msgid": "no spaces", "id": 3})
    check(c and c["op"] == "error" and c["code"] == 400 and c["content"].startswith("msgid:"),
          "ws: a bad msgid is error 400 naming msgid")
    d = await w.request(pub, {"op": "publish", "channel": "bad channel", "content": "x", "msgid": "ws-2", "id": 4})
    check(d and d["op"] == "error" and d["code"] == 400 and d["content"].startswith("channel:"),
          "ws: other refusals still answer their error")
    await pub.close()
asyncio.run(main())
PY
tap_checks "$T/checks"
is "$(stored wsch)" 1 "ws: one message stored"
tap_done
