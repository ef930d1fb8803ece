#!/usr/bin/env bash
# tests/trust.sh: who may do what, on every transport: the three key roles on a user-<id>
# channel, bad tokens of every kind, publishing with a page's token, the connection's user
# taken from its token, and presence ids nobody else can take over.
. "$(dirname "$0")/ws-lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
ws_require

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
# Keepalives every 2 s (the WebSocket pings).
PUSH_WS_PING_INTERVAL=2 start_ws || { echo "Bail out! push-ws did not start"; exit 1; }
create_app shop "'{}'" true
P=$PUBLISH_KEY S=$SUBSCRIBE_KEY K=$SERVER_KEY
publish user-bob "for bob"
publish private-chat-1 "chat"
EXP=$(( $(date +%s) + 600 ))

# jwt CLAIMS [ALG [SECRET]]: a JWT made with Python's standard library, as a backend would.
jwt() {
    $PY - "${3:-$SECRET}" "$1" "${2:-HS256}" <<'PY'
import base64, hashlib, hmac, json, sys
secret, claims, alg = sys.argv[1:]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
signed = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + b64(claims.encode())
sig = b"" if alg == "none" else hmac.new(secret.encode(), signed.encode(),
                                         hashlib.sha512 if alg == "HS512" else hashlib.sha256).digest()
print(signed + "." + b64(sig))
PY
}

# code_of RESPONSE: the "code" of a JSON or JSONP body ("STATUS BODY" from http).
code_of() { [[ "$1" =~ \"code\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo "none: ${1:0:40}" | head -1; }

# reads KEY TOKEN-QUERY: one line "transport code" per way of reading user-bob.
reads() {
    local key=$1 q=$2 r
    r=$(http GET "$BASE/push/history?appkey=$key&channel=user-bob$q"); echo "history $(code_of "$r")"
    r=$(http GET "$BASE/push/history?appkey=$key&channel=user-bob&callback=cb$q"); echo "jsonp $(code_of "$r")"
    r=$(http GET "$BASE/push/poll?appkey=$key&channel=user-bob&timeout=0$q"); echo "poll $(code_of "$r")"
    r=$(http GET "$BASE/push/poll?appkey=$key&channel=user-bob&timeout=0&callback=cb$q"); echo "jsonp-poll $(code_of "$r")"
    r=$(http GET "$BASE/push/presence?appkey=$key&channel=user-bob$q"); echo "presence $(code_of "$r")"
    r=$(http POST "$BASE/push/read" -d "appkey=$key&user=bob&channel=user-bob&seq=1$q"); echo "read $(code_of "$r")"
    r=$(http GET "$BASE/push/unread?appkey=$key&user=bob$q"); echo "unread $(code_of "$r")"
    r=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$WS_HTTP/push/sse?appkey=$key&channel=user-bob$q"); echo "sse $r"
    $PY - "$WS_URL" "$key" "${q#&token=}" <<'PY'
import asyncio, sys
import ws_client as w
url, key, token = sys.argv[1:]
async def main():
    ws = await w.connect(url + "/push/ws?appkey=" + key)
    tok = token or None
    r = await w.subscribe(ws, "user-bob", since=0, token=tok, req_id=1)
    print("ws-subscribe", 200 if r and r.get("op") == "subscribed" else r and r.get("code"))
    r = await w.request(ws, {"op": "history", "channel": "user-bob", "token": tok, "id": 2})
    print("ws-history", 200 if r and r.get("op") == "history" else r and r.get("code"))
    r = await w.request(ws, {"op": "presence", "channel": "user-bob", "token": tok, "id": 3})
    print("ws-presence", 200 if r and r.get("op") == "presence" else r and r.get("code"))
    r = await w.request(ws, {"op": "read", "channel": "user-bob", "user": "bob", "seq": 1, "token": tok, "id": 4})
    print("ws-read", 200 if r and r.get("op") == "read" else r and r.get("code"))
    r = await w.request(ws, {"op": "unread", "user": "bob", "token": tok, "id": 5})
    print("ws-unread", 200 if r and r.get("op") == "unread" else r and r.get("code"))
    await ws.close()
w.run(main())
PY
}

# expect_all EXPECTED LABEL COMMAND...: every "transport code" line COMMAND prints says EXPECTED.
expect_all() {
    local want=$1 label=$2 transport code
    shift 2
    while read -r transport code; do
        is "$code" "$want" "$label: $transport"
    done < <("$@")
}

BOB=$(jwt "{\"sub\":\"bob\",\"exp\":$EXP}")
expect_all 403 "the publish key on user-bob without a token" reads "$P" ""
expect_all 403 "the subscribe key on user-bob without a token" reads "$S" ""
expect_all 200 "the server key on user-bob" reads "$K" ""
expect_all 200 "bob's token on user-bob" reads "$S" "&token=$BOB"
expect_all 403 "alice's token, even naming user-*" reads "$S" "&token=$(jwt "{\"sub\":\"alice\",\"exp\":$EXP,\"channels\":[\"user-*\"]}")"
expect_all 403 "an expired token" reads "$P" "&token=$(jwt "{\"sub\":\"bob\",\"exp\":$(( $(date +%s) - 10 ))}")"
expect_all 403 "a forged token" reads "$S" "&token=$(jwt "{\"sub\":\"bob\",\"exp\":$EXP}" HS256 not-the-secret)"
expect_all 403 "alg none" reads "$S" "&token=$(jwt "{\"sub\":\"bob\",\"exp\":$EXP}" none)"
expect_all 403 "alg HS512" reads "$S" "&token=$(jwt "{\"sub\":\"bob\",\"exp\":$EXP}" HS512)"
expect_all 403 "a token without exp" reads "$S" "&token=$(jwt "{\"sub\":\"bob\"}")"
expect_all 403 "a token for another channel" reads "$S" "&token=$(jwt "{\"sub\":\"carol\",\"exp\":$EXP,\"channels\":[\"private-chat-1\"]}")"
expect_all 403 "an HMAC token for another channel" reads "$S" "&token=$("$top_builddir/cli/pushctl" token private-chat-1 --app shop --user bob --ttl 600)"

# /push/read and /push/unread (and their WebSocket ops) tell nothing of a channel the caller may
# not read: private-chat-1 (it exists, seq 1) and private-none (it does not) get the same answer.
answers() {
    local channel=$1 r
    r=$(http POST "$BASE/push/read" -d "appkey=$S&user=bob&channel=$channel&seq=999999&token=$BOB"); echo "read ${r//$channel/C}"
    r=$(http GET "$BASE/push/unread?appkey=$S&user=bob&channel=$channel&token=$BOB"); echo "unread ${r//$channel/C}"
    $PY - "$WS_URL" "$S" "$BOB" "$channel" <<'PY'
import asyncio, json, sys
import ws_client as w
url, key, token, channel = sys.argv[1:]
async def main():
    ws = await w.connect(url + "/push/ws?appkey=" + key)
    r = await w.request(ws, {"op": "read", "channel": channel, "seq": 999999, "token": token, "id": 1})
    print("ws-read", json.dumps(r, sort_keys=True).replace(channel, "C"))
    r = await w.request(ws, {"op": "unread", "channels": [channel], "token": token, "id": 2})
    print("ws-unread", json.dumps(r, sort_keys=True).replace(channel, "C"))
    await ws.close()
w.run(main())
PY
}
answers private-chat-1 >"$T/exists"
answers private-none >"$T/none"
is "$(wc -l <"$T/exists") $(wc -l <"$T/none")" "4 4" "an answer from each of read, unread, op read and op unread"
while read -r transport answer && read -r _ other <&3; do
    is "$answer" "$other" "$transport: the same answer for a private channel that exists and one that does not"
    [[ ! "$answer" =~ \"(seq|last_seq|read_seq)\":\ ?[0-9] ]]
    ok $? "$transport: and it tells no seq of the channel"
    diag "$transport: $answer"
done <"$T/exists" 3<"$T/none"

r=$(http GET "$BASE/push/history?appkey=$S&channel=private-chat-2&token=$(jwt "{\"exp\":$EXP,\"channels\":[\"private-chat-1\"]}")")
like "$r" '^403 .*token: does not cover this channel' "a token for private-chat-1 does not open private-chat-2"

# The sidecar's query string: invalid UTF-8 is 400 naming the parameter; a NUL (%00) is refused
# by libwebsockets itself, which closes the connection without an answer (SECURITY.md "Not yet").
while IFS='|' read -r query what; do
    r=$(curl -s -m 5 -w ' %{http_code}' "$WS_HTTP/push/sse?appkey=$S&$query")
    is "$r" "{\"code\":400,\"content\":\"$what\"} 400" "SSE $query: 400 $what"
done <<EOF2
channel=news&user=a%FFb|user: not valid UTF-8
channel=news%FF|channel: not valid UTF-8
channel=news&client=a%C0%AF|client: not valid UTF-8
EOF2
r=$(curl -s -m 5 -w ' %{http_code}' "$WS_HTTP/push/sse?appkey=$S&channel=trunc%00private-x")
is "$r" " 000" "SSE with %00 in the query string: the connection is closed without an answer"

# Publishing: the publish key to public channels; a page's token to what its publish claim names.
PAGE=$(jwt "{\"sub\":\"carol\",\"exp\":$EXP,\"channels\":[\"private-chat-*\"],\"publish\":[\"private-chat-*\"]}")
publishes() {
    local key=$1 channel=$2 q=$3 r
    r=$(http POST "$BASE/push/publish" -d appkey="$key" -d channel="$channel" -d content=x$q); echo "post $(code_of "$r")"
    r=$(http GET "$BASE/push/publish?appkey=$key&channel=$channel&content=x&callback=cb$q" -H "Referer: http://page.example/"); echo "jsonp $(code_of "$r")"
    $PY - "$WS_URL" "$key" "$channel" "${q#&token=}" <<'PY'
import asyncio, sys
import ws_client as w
url, key, channel, token = sys.argv[1:]
async def main():
    ws = await w.connect(url + "/push/ws?appkey=" + key)
    r = await w.request(ws, {"op": "publish", "channel": channel, "content": "x", "token": token or None, "id": 1})
    print("ws", 200 if r and r.get("op") == "ok" else r and r.get("code"))
    await ws.close()
w.run(main())
PY
}
expect_all 403 "the publish key publishing to user-bob" publishes "$P" user-bob ""
expect_all 403 "the publish key publishing to private-chat-1" publishes "$P" private-chat-1 ""
expect_all 403 "the subscribe key publishing" publishes "$S" news ""
expect_all 200 "the publish key publishing to news" publishes "$P" news ""
expect_all 200 "the server key publishing to user-bob" publishes "$K" user-bob ""
expect_all 200 "a page's token publishing to private-chat-1" publishes "$P" private-chat-1 "&token=$PAGE"
expect_all 403 "a page's token publishing to private-other" publishes "$P" private-other "&token=$PAGE"
for bad in "forged|$(jwt "{\"sub\":\"carol\",\"exp\":$EXP,\"publish\":[\"private-chat-*\"]}" HS256 not-the-secret)" \
           "expired|$(jwt "{\"sub\":\"carol\",\"exp\":$(( $(date +%s) - 10 )),\"publish\":[\"private-chat-*\"]}")" \
           "alg none|$(jwt "{\"sub\":\"carol\",\"exp\":$EXP,\"publish\":[\"private-chat-*\"]}" none)" \
           "alg HS512|$(jwt "{\"sub\":\"carol\",\"exp\":$EXP,\"publish\":[\"private-chat-*\"]}" HS512)"; do
    expect_all 403 "a ${bad%%|*} token publishing to private-chat-1" publishes "$P" private-chat-1 "&token=${bad#*|}"
done
expect_all 403 "a token that only reads private-chat-*" publishes "$P" private-chat-1 "&token=$(jwt "{\"exp\":$EXP,\"channels\":[\"private-chat-*\"]}")"
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' \
    -d "{\"appkey\":\"$P\",\"token\":\"$PAGE\",\"messages\":[{\"channel\":\"private-chat-1\",\"content\":\"a\"},{\"channel\":\"user-bob\",\"content\":\"b\"}]}")
like "$r" '^403 .*publish claim does not cover this channel \(user-bob\)' "a batch with one channel the token does not cover: 403 naming it"
is "$($PSQL -c "SELECT count(*) FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.name = 'private-chat-1' AND m.content = 'a'")" 0 \
    "and nothing of the batch is written"

# Rotation: the old key works through the overlap, on every program, then is refused by all of
# them, whatever they had cached.
http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=cached >/dev/null
http GET "$BASE/push/poll?appkey=$P&channel=news&timeout=0" >/dev/null
NEW_P=$("$top_builddir/cli/pushctl" app rotate-keys shop --role publish --overlap '3 seconds' --format env |
       sed -n 's/^PUSH_PUBLISH_KEY=//p')
ENDS=$(( $(date +%s) + 3 ))
r=$(http POST "$BASE/push/publish" -d appkey="$NEW_P" -d channel=news -d content=new)
is "${r%% *}" 200 "rotation (pushctl app rotate-keys --role publish --overlap '3 seconds'): the new publish key works at once"
if [ "$(date +%s)" -lt "$ENDS" ]; then
    r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=old)
    is "${r%% *}" 200 "rotation: the old one still works in the overlap"
else
    ok 0 "rotation: the old one still works in the overlap # SKIP the machine was too slow to ask in time"
fi
while [ "$(date +%s)" -le "$ENDS" ]; do sleep 0.2; done
r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=old)
like "$r" '^401 .*appkey: unknown key' "rotation: after the overlap push-api refuses the old key"
r=$(http GET "$BASE/push/poll?appkey=$P&channel=news&timeout=0")
like "$r" '^401 ' "rotation: and push-poll"
r=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$WS_HTTP/push/sse?appkey=$P&channel=news")
is "$r" 401 "rotation: and the sidecar"
P=$NEW_P

# The connection's user is its token's sub.
ALICE=$(jwt "{\"sub\":\"alice\",\"exp\":$EXP,\"channels\":[\"lobby\"],\"info\":{\"name\":\"Alice\"}}")
r=$(http GET "$BASE/push/poll?appkey=$S&channel=lobby&timeout=0&user=mallory&token=$ALICE")
like "$r" "^403 .*user: the token is alice's, not mallory's" "poll: a user= that disagrees with the token's sub: 403"
r=$(http GET "$BASE/push/presence?appkey=$S&channel=lobby&user=mallory" -H "Authorization: Bearer $ALICE")
like "$r" "^403 .*user: the token is alice's, not mallory's" "presence: the same with the token as Bearer"
r=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$WS_HTTP/push/sse?appkey=$S&channel=lobby&user=mallory&token=$ALICE")
is "$r" 403 "SSE: the same"
r=$(http GET "$BASE/push/poll?appkey=$S&channel=lobby&timeout=0&token=$ALICE&token=$BOB")
like "$r" "^403 .*token: the tokens name different users" "two tokens naming different users: 403"

# A poll's token: its sub is the user in presence, with the token's info.
http GET "$BASE/push/poll?appkey=$S&channel=foyer&timeout=0&client=tab-8&token=$ALICE" >/dev/null
for _ in $(seq 30); do
    r=$(http GET "$BASE/push/presence?appkey=$K&channel=foyer" | sed 's/^[0-9]* //')
    [[ "$r" == *Alice* ]] && break
    sleep 0.1
done
is "$(echo "$r" | json 'j["channels"]["foyer"]["users"], j["channels"]["foyer"]["info"]')" "['alice'] {'alice': {'name': 'Alice'}}" \
    "a poll with alice's token: presence names alice with her token's info"

# SSE: the stream's user is its token's sub, in presence with the token's info; mallory naming
# alice's client id gets a presence of its own, and her leaving does not remove alice's.
MALLORY=$(jwt "{\"sub\":\"mallory\",\"exp\":$EXP}")
porch() {
    local want=$1 tries=${2:-100} got=
    for _ in $(seq "$tries"); do
        got=$(http GET "$BASE/push/presence?appkey=$K&channel=porch" | sed 's/^[0-9]* //' |
              json 'j["channels"]["porch"]["clients"], sorted(j["channels"]["porch"]["users"]), j["channels"]["porch"]["info"]')
        [ "$got" = "$want" ] && break
        sleep 0.1
    done
    echo "$got"
}
curl -s -N -m 120 -o /dev/null "$WS_HTTP/push/sse?appkey=$S&channel=porch&client=sse-1&token=$ALICE" &
sse_alice=$!
track_pid $sse_alice
is "$(porch "1 ['alice'] {'alice': {'name': 'Alice'}}")" "1 ['alice'] {'alice': {'name': 'Alice'}}" \
    "SSE with alice's token: presence names alice with her token's info"
curl -s -N -m 120 -o /dev/null "$WS_HTTP/push/sse?appkey=$S&channel=porch&client=sse-1&token=$MALLORY" &
sse_mallory=$!
track_pid $sse_mallory
is "$(porch "2 ['alice', 'mallory'] {'alice': {'name': 'Alice'}}")" "2 ['alice', 'mallory'] {'alice': {'name': 'Alice'}}" \
    "SSE: mallory with alice's client id is a second client"
kill "$sse_mallory"
t0=$(date +%s)
is "$(porch "1 ['alice'] {'alice': {'name': 'Alice'}}" 300)" "1 ['alice'] {'alice': {'name': 'Alice'}}" \
    "SSE: mallory's stream ending leaves alice's presence"
diag "mallory's presence went after $(( $(date +%s) - t0 )) s"
kill "$sse_alice"
is "$(porch "0 [] {}" 300)" "0 [] {}" "SSE: alice's stream ending removes her presence"

# Without a token, a claimed user counts only in an app that takes claimed users.
CLAIMS_SUB=$($PSQL -c "SELECT subscribe_key FROM push.app_create('claims', '{}', false, 65536, 0, true)")
claimed_presence() {
    local key=$1 server_key=$2 users=
    http GET "$BASE/push/poll?appkey=$key&channel=hall&timeout=0&client=tab-9&user=mallory" >/dev/null
    for _ in $(seq 30); do
        users=$(http GET "$BASE/push/presence?appkey=$server_key&channel=hall" | sed 's/^[0-9]* //' | json 'j["channels"]["hall"]["clients"], j["channels"]["hall"]["users"]')
        [[ "$users" == "1 "* ]] && break
        sleep 0.1
    done
    echo "$users"
}
is "$(claimed_presence "$S" "$K")" "1 []" "an app without claimed users: a poll naming mallory counts as anonymous"
CLAIMS_SERVER=$($PSQL -c "SELECT key FROM push.key_rotate('claims', '{server}', '0')")
is "$(claimed_presence "$CLAIMS_SUB" "$CLAIMS_SERVER")" "1 ['mallory']" "an app created with claimed users: mallory counts as named"

$PY - "$WS_URL" "$S" "$ALICE" "$MALLORY" "$BASE" "$K" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, json, subprocess, sys
import ws_client as w
url, key, alice, mallory, base, server_key = sys.argv[1:]

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

def here_now():
    out = subprocess.run(["curl", "-s", base + "/push/presence?appkey=" + server_key + "&channel=lobby"],
                         capture_output=True, text=True).stdout
    return json.loads(out)["channels"]["lobby"]

async def eventually(pred, text):
    for _ in range(100):
        if pred(here_now()):
            check(True, text)
            return
        await asyncio.sleep(0.1)
    check(False, text + " (saw " + json.dumps(here_now()) + ")")

async def main():
    try:
        await w.connect(url + "/push/ws?appkey=" + key + "&user=mallory&token=" + alice)
        check(False, "WebSocket: a user= that disagrees with the token's sub is refused")
    except Exception as e:
        check("403" in str(e), "WebSocket: a user= that disagrees with the token's sub is refused (" + str(e)[:60] + ")")
    a = await w.connect(url + "/push/ws?appkey=" + key + "&client=tab-1&token=" + alice)
    r = await w.subscribe(a, "lobby", req_id=1)
    check(r and r.get("op") == "subscribed", "alice subscribes to lobby, her user from her token")
    await eventually(lambda h: h["users"] == ["alice"] and h["info"] == {"alice": {"name": "Alice"}},
                     "presence shows alice, the token's sub, with its info")
    m = await w.connect(url + "/push/ws?appkey=" + key + "&client=tab-1&token=" + mallory)
    r = await w.subscribe(m, "lobby", req_id=1)
    check(r and r.get("op") == "subscribed", "mallory subscribes with alice's client id")
    await eventually(lambda h: h["clients"] == 2 and sorted(h["users"]) == ["alice", "mallory"],
                     "two clients: the same client id names two presences")
    await m.close()
    await eventually(lambda h: h["clients"] == 1 and h["users"] == ["alice"],
                     "mallory leaving does not remove alice")
    await a.close()

w.run(main())
PY
while IFS=$'\t' read -r result text; do
    ok "$([ "$result" = ok ] && echo 0 || echo 1)" "$text"
done <"$T/checks"
[ -s "$T/py.err" ] && diag "$(cat "$T/py.err")"

tap_plan "$tap_count"
tap_done
