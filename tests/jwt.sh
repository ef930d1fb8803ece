#!/usr/bin/env bash
# tests/jwt.sh: JWT capability tokens end to end: push-api (token= and Authorization: Bearer),
# push-poll, the sidecar (WebSocket op and SSE), minted by push.jwt() and by pushctl token --jwt.
. "$(dirname "$0")/ws-lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
ws_require
tap_plan 25

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }
create_app shop "'{}'"
P=$PUBLISH_KEY S=$SUBSCRIBE_KEY
APP_ID=$($PSQL -c "SELECT id FROM push.app WHERE name = 'shop'")
publish private-room "for the room"
EXP=$(( $(date +%s) + 600 ))

# A JWT made here with Python's standard library, as a backend would.
jwt() {
    $PY - "$SECRET" "$1" <<'PY'
import base64, hashlib, hmac, json, sys
secret, claims = sys.argv[1], sys.argv[2]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
signed = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(claims.encode())
print(signed + "." + b64(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()))
PY
}
TOKEN=$(jwt "{\"sub\":\"alice\",\"exp\":$EXP,\"channels\":[\"private-room\",\"chat-*\"]}")

# push-api
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-room&token=$TOKEN")
is "${r%% *}" 200 "history of a private channel with a JWT in token=: 200"
like "$r" '"content":"for the room"' "and its messages"
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-room" -H "Authorization: Bearer $TOKEN")
is "${r%% *}" 200 "with the JWT as Authorization: Bearer (lighttpd passes it on): 200"
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-room&token=junk" -H "Authorization: Bearer $TOKEN")
is "${r%% *}" 200 "a Bearer token opens it even beside a bad token="
FORGED=$(SECRET=not-the-secret jwt "{\"sub\":\"alice\",\"exp\":$EXP,\"channels\":[\"private-room\"]}")
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-room&token=$FORGED")
like "$r" '^403 .*"content":"token: bad signature \(private-room\)"' "a forged JWT: 403 bad signature"
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-room" -H "Authorization: Bearer $FORGED")
is "${r%% *}" 403 "a forged JWT as Bearer: 403"
NONE=$($PY -c 'import base64,sys; b=lambda s: base64.urlsafe_b64encode(s.encode()).rstrip(b"=").decode(); print(b("{\"alg\":\"none\"}")+"."+b(sys.argv[1])+".")' "{\"exp\":$EXP,\"channels\":[\"private-room\"]}")
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-room&token=$NONE")
like "$r" '^403 .*"content":"token: algorithm must be HS256' "alg none: 403 naming the algorithm"
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-other&token=$TOKEN")
like "$r" '^403 .*"content":"token: does not cover this channel' "a channel the JWT does not list: 403"
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-room&user=bob&token=$TOKEN")
like "$r" '^403 .*"content":"user: the token is alice'"'"'s, not bob'"'"'s' "alice's JWT naming user bob: 403"

# Minted by SQL (checked by C) and by pushctl (checked by SQL's own HMAC, and by push-api).
SQL_TOKEN=$($PSQL -c "SELECT push.jwt($APP_ID, 'alice', '{private-room}', '{chat-*}', $EXP, '{\"name\":\"Alice\"}')")
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-room&token=$SQL_TOKEN")
is "${r%% *}" 200 "a JWT from SQL push.jwt(): 200"
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-alice&token=$SQL_TOKEN")
is "${r%% *}" 200 "its sub opens user-alice"
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-bob&token=$SQL_TOKEN")
is "${r%% *}" 403 "but not user-bob"
CTL_TOKEN=$("$top_builddir/cli/pushctl" token --jwt --app shop --sub alice --channel private-room \
            --channel user-alice --publish 'chat-*' --ttl 600 --info '{"name":"Alice"}')
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-room&token=$CTL_TOKEN")
is "${r%% *}" 200 "a JWT from pushctl token --jwt: 200"
is "$($PSQL -c "SELECT push.base64url(decode(push.hmac_sha256_hex(split_part('$CTL_TOKEN', '.', 1) || '.' || split_part('$CTL_TOKEN', '.', 2),
                                                                   secret), 'hex')) = split_part('$CTL_TOKEN', '.', 3)
                FROM push.app WHERE id = $APP_ID")" t "SQL computes the same signature for pushctl's JWT"
is "$($PSQL -c "SELECT convert_from(decode(translate(split_part('$CTL_TOKEN', '.', 2), '-_', '+/') || repeat('=', (4 - length(split_part('$CTL_TOKEN', '.', 2)) % 4) % 4), 'base64'), 'UTF8')::jsonb -> 'info' ->> 'name'")" Alice "and reads its info claim"
"$top_builddir/cli/pushctl" token --jwt --app shop --info '[1]' >/dev/null 2>"$T/err"
is $? 2 "pushctl token --jwt with an info that is not an object: exit 2"
"$top_builddir/cli/pushctl" token --jwt --app shop --channel 'a b*' >/dev/null 2>"$T/err"
is $? 2 "pushctl token --jwt with a bad --channel: exit 2"
like "$($PSQL -c "SELECT has_function_privilege('push_web', 'push.jwt(int, text, text[], text[], bigint, jsonb)', 'EXECUTE')")" '^f$' \
     "push.jwt stays the owner's: push_web cannot run it"

# push-poll
r=$(http GET "$BASE/push/poll?appkey=$S&channel=private-room&timeout=0&token=$TOKEN")
is "${r%% *}" 200 "a poll of a private channel with a JWT: 200"
like "$r" '"cursor":"private-room:1"' "and the channel's cursor"
r=$(http GET "$BASE/push/poll?appkey=$S&channel=private-room&timeout=0" -H "Authorization: Bearer $FORGED")
is "${r%% *}" 403 "a poll with a forged Bearer JWT: 403"

# The sidecar: a subscribe op with the JWT; SSE with Authorization: Bearer.
$PY - "$WS_URL" "$S" "$TOKEN" "$FORGED" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, sys
import ws_client as w
url, key, token, forged = sys.argv[1:]

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

async def main():
    ws = await w.connect(url + "/push/ws?appkey=" + key + "&user=alice")
    r = await w.subscribe(ws, "private-room", since=0, token=token, req_id=1)
    check(r and r.get("op") == "subscribed", "WebSocket subscribe to a private channel with a JWT")
    r = await w.subscribe(ws, "private-other", token=forged, req_id=2)
    check(r and r.get("op") == "error" and "bad signature" in r.get("content", ""), "with a forged JWT: an error naming the signature")
    await ws.close()

w.run(main())
PY
while IFS=$'\t' read -r result text; do
    ok "$([ "$result" = ok ] && echo 0 || echo 1)" "$text"
done <"$T/checks"
[ -s "$T/py.err" ] && diag "$(cat "$T/py.err")"

hdr=$(curl -s -m 2 -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "$WS_HTTP/push/sse?appkey=$S&channel=private-room")
like "$hdr" '^HTTP/1.1 200' "SSE of a private channel with an Authorization: Bearer JWT: 200"
hdr=$(curl -s -m 2 -D - -o /dev/null -H "Authorization: Bearer $FORGED" "$WS_HTTP/push/sse?appkey=$S&channel=private-room")
like "$hdr" '^HTTP/1.1 403' "with a forged one: 403"

tap_done
