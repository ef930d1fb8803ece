#!/usr/bin/env bash
# tests/kick.sh: pushctl kick closes a user's WebSocket (4001) and SSE stream and answers their
# held poll (401) within a bounded time, and refuses their tokens issued before the kick on
# push-api, push-poll and the sidecar, while a token minted after it works and another user is
# untouched; a claimed user is disconnected too. In an app with claimed users, presence marks a
# user who only claimed their id {"verified": false} (HTTP and the WebSocket presence op).
. "$(dirname "$0")/ws-lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
ws_require
tap_plan 53

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }
CTL="$top_builddir/cli/pushctl"
create_app shop "'{}'"
S=$SUBSCRIBE_KEY K=$SERVER_KEY SHOP_SECRET=$SECRET
APP_ID=$($PSQL -c "SELECT id FROM push.app WHERE name = 'shop'")
create_app claims "'{}'" false 65536 0 true
CS=$SUBSCRIBE_KEY CK=$SERVER_KEY
SECRET=$SHOP_SECRET
EXP=$(( $(date +%s) + 600 ))

jwt_py() {
    $PY - "$SECRET" "$1" <<'PY'
import base64, hashlib, hmac, sys
secret, claims = sys.argv[1], sys.argv[2]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
signed = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(claims.encode())
print(signed + "." + b64(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()))
PY
}
mint() { "$CTL" token --jwt --app shop --sub "$1" --ttl 600; }

OLD=$(mint alice)
OLD_SQL=$($PSQL -c "SELECT push.jwt($APP_ID, 'alice', NULL, NULL, $EXP)")
NO_IAT=$(jwt_py "{\"sub\":\"alice\",\"exp\":$EXP}")
OLD_HMAC=$("$CTL" token user-alice --app shop --ttl 600)
BOB=$(mint bob)
like "$($PSQL -c "SELECT convert_from(decode(translate(split_part('$OLD', '.', 2), '-_', '+/') || repeat('=', (4 - length(split_part('$OLD', '.', 2)) % 4) % 4), 'base64'), 'UTF8')::jsonb ->> 'iat'")" \
     '^[0-9]{10}\.[0-9]{3}$' "pushctl token --jwt writes iat: seconds with milliseconds"
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-alice&token=$OLD")
is "${r%% *}" 200 "before the kick: alice's token opens user-alice"
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-alice&token=$NO_IAT")
is "${r%% *}" 200 "before the kick: a token without iat works too"

# pushctl kick's arguments.
"$CTL" kick shop >/dev/null 2>"$T/err"
is $? 2 "pushctl kick without --user: exit 2"
like "$(cat "$T/err")" "--user ID is required" "and says so"
"$CTL" kick shop --user 'a b' >/dev/null 2>"$T/err"
is $? 2 "pushctl kick with a bad user id: exit 2"
"$CTL" kick nowhere --user alice >/dev/null 2>"$T/err"
is $? 1 "pushctl kick of an unknown app: exit 1"
like "$(cat "$T/err")" "no app named nowhere" "and names it"
# What every program hears: '<app_id> <kicked_ms> <user>' on push_kick, after commit.
out=$($PSQL 2>&1 <<EOF_SQL
LISTEN push_kick;
SELECT push.user_kick('shop', 'zed');
EOF_SQL
)
ms=$(printf '%s\n' "$out" | head -1)
like "$out" "Asynchronous notification \"push_kick\" with payload \"$APP_ID $ms zed\"" \
     "push.user_kick notifies push_kick with '<app_id> <kicked_ms> <user>'"

# Presence in an app with claimed users: carol only claims her id, dave has a token, the server
# key vouches for erin.
CLAIMS_SECRET=$($PSQL -c "SELECT secret FROM push.app WHERE name = 'claims'")
DAVE=$(SECRET=$CLAIMS_SECRET jwt_py "{\"sub\":\"dave\",\"exp\":$EXP}")
CAROL=$(SECRET=$CLAIMS_SECRET jwt_py "{\"sub\":\"carol\",\"exp\":$EXP}")
http GET "$BASE/push/poll?appkey=$CS&channel=hall&timeout=0&client=tab-p&user=paul" >/dev/null
$PY - "$WS_URL" "$CS" "$CK" "$DAVE" "$BASE" "$CAROL" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, json, subprocess, sys
import ws_client as w
url, key, server_key, dave, base, carol_token = sys.argv[1:]

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

def here_now(channel):
    out = subprocess.run(["curl", "-s", base + "/push/presence?appkey=" + server_key + "&channel=" + channel],
                         capture_output=True, text=True).stdout
    return json.loads(out)["channels"][channel]

async def eventually(channel, pred):
    seen = None
    for _ in range(100):
        seen = here_now(channel)
        if pred(seen):
            return seen
        await asyncio.sleep(0.1)
    return seen

async def main():
    carol = await w.connect(url + "/push/ws?appkey=" + key + "&user=carol&client=tab-c")
    dave_ws = await w.connect(url + "/push/ws?appkey=" + key + "&client=tab-d&token=" + dave)
    erin = await w.connect(url + "/push/ws?appkey=" + server_key + "&user=erin&client=tab-e")
    events = await w.connect(url + "/push/ws?appkey=" + key)
    r = await w.subscribe(events, "presence-room")
    check(r and r.get("op") == "subscribed", "a watcher follows presence-room")
    for ws in (carol, dave_ws, erin):
        r = await w.subscribe(ws, "room")
        check(r and r.get("op") == "subscribed", "a client subscribes to room")
    seen = await eventually("room", lambda s: len(s["users"]) == 3)
    check(seen["users"] == ["carol", "dave", "erin"], "HTTP presence names carol, dave and erin (saw %s)" % seen["users"])
    check(seen["info"].get("carol") == {"verified": False},
          "HTTP presence marks carol, who only claimed her id, verified: false (saw %s)" % seen["info"])
    check("dave" not in seen["info"] and "erin" not in seen["info"],
          "dave (a token) and erin (the server key) are not marked")
    r = await w.request(dave_ws, {"op": "presence", "channel": "room", "id": 7})
    check(r and r.get("info", {}).get("carol") == {"verified": False} and "dave" not in r.get("info", {}),
          "the WebSocket presence op marks carol alike (saw %s)" % (r and r.get("info")))
    frames = await w.until(events, lambda f: f.get("op") == "message" and json.loads(f["content"]).get("userId") == "carol"
                           and json.loads(f["content"]).get("action") == "join", 15)
    event = json.loads(frames[-1]["content"]) if frames else {}
    check(event.get("userData") == {"verified": False}, "carol's join event carries userData {verified: false} (saw %s)" % event)
    hall = await eventually("hall", lambda s: "paul" in s["users"])
    check(hall["info"].get("paul") == {"verified": False}, "a claimed user of a long-poll is marked too (saw %s)" % hall["info"])
    r = await w.subscribe(carol, "user-carol", token=carol_token)
    check(r and r.get("op") == "subscribed", "carol opens user-carol with her token")
    seen = await eventually("room", lambda s: "carol" not in s["info"])
    check("carol" not in seen["info"] and "carol" in seen["users"],
          "having shown her token, carol is no longer marked (saw %s)" % seen["info"])
    for ws in (carol, dave_ws, erin, events):
        await ws.close()

w.run(main())
PY
tap_checks "$T/checks"

# Alice holds a WebSocket, an SSE stream and a long-poll; bob a WebSocket; then alice is kicked.
# Each stream writes "open" when it is established and "closed <how> <seconds since the kick>".
$PY - "$WS_URL" "$WS_PORT" "$HTTP_PORT" "$S" "$OLD" "$BOB" "$CTL" "$CS" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, json, sys, time
import ws_client as w
url, ws_port, http_port, key, old, bob, ctl, claims_key = sys.argv[1:]
DEADLINE = 30  # seconds each close may take on a busy machine

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

def diag(text):
    print("diag\t" + text, flush=True)

async def http_open(port, path):
    """Sends a GET and reads the reply's headers; returns (status, reader, writer)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
    writer.write(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
    return int(head.split(b" ", 2)[1]), head, reader, writer

async def main():
    alice = await w.connect(url + "/push/ws?appkey=" + key + "&token=" + old)
    r = await w.subscribe(alice, "user-alice", token=old)
    check(r and r.get("op") == "subscribed", "alice's WebSocket subscribes to user-alice with her token")
    bob_ws = await w.connect(url + "/push/ws?appkey=" + key + "&token=" + bob)
    r = await w.subscribe(bob_ws, "user-bob", token=bob)
    check(r and r.get("op") == "subscribed", "bob's WebSocket subscribes to user-bob")
    carol = await w.connect(url + "/push/ws?appkey=" + claims_key + "&user=carol&client=tab-c")
    r = await w.subscribe(carol, "room")
    check(r and r.get("op") == "subscribed", "carol (claimed) subscribes in the app with claimed users")

    status, _, sse, sse_w = await http_open(ws_port, "/push/sse?appkey=%s&channel=user-alice&token=%s" % (key, old))
    check(status == 200, "alice's SSE stream opens with her token")
    # A poll held over a second has sent its 200 headers: it is surely held when they come.
    status, head, poll, poll_w = await http_open(http_port, "/push/poll?appkey=%s&channel=user-alice&timeout=50&token=%s"
                                                 % (key, old))
    check(status == 200, "alice's long-poll is held (its headers came after a second)")

    # pushctl runs beside the loop, so that each close is timed as it comes.
    t0 = time.monotonic()
    kick = await asyncio.create_subprocess_exec(ctl, "kick", "shop", "--user", "alice", stdout=asyncio.subprocess.PIPE)

    async def ws_closed():
        await asyncio.wait_for(alice.wait_closed(), DEADLINE)
        return alice.close_code, time.monotonic() - t0

    async def sse_closed():
        await asyncio.wait_for(sse.read(), DEADLINE)  # to the end of the stream
        return time.monotonic() - t0

    async def poll_answered():
        body = await asyncio.wait_for(poll.read(), DEADLINE)
        return body, time.monotonic() - t0

    results = await asyncio.gather(ws_closed(), sse_closed(), poll_answered(), return_exceptions=True)
    out = (await kick.communicate())[0].decode()
    check(kick.returncode == 0 and "alice" in out, "pushctl kick shop --user alice: exit 0 (%s)" % out.strip())
    if isinstance(results[0], tuple):
        code, took = results[0]
        check(code == 4001, "alice's WebSocket is closed with 4001 (got %s)" % code)
        diag("WebSocket closed %.3f s after pushctl kick started" % took)
    else:
        check(False, "alice's WebSocket is closed with 4001 (%r)" % results[0])
    if isinstance(results[1], float):
        check(True, "alice's SSE stream is ended")
        diag("SSE stream ended %.3f s after pushctl kick started" % results[1])
    else:
        check(False, "alice's SSE stream is ended (%r)" % results[1])
    if isinstance(results[2], tuple):
        body, took = results[2]
        # The 200 headers went out while it was held: the JSON (in a chunk) says 401.
        text = body.decode(errors="replace")
        text = text[text.find("{"):text.rfind("}") + 1]
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {}
        check(answer.get("code") == 401 and answer.get("content", "").startswith("kicked:"),
              "alice's held poll is answered with code 401, kicked (%s)" % text[:160])
        diag("held poll answered %.3f s after pushctl kick started" % took)
    else:
        check(False, "alice's held poll is answered with code 401 (%r)" % results[2])

    r = await w.request(bob_ws, {"op": "history", "channel": "user-bob", "token": bob, "id": 9})
    check(r and r.get("op") == "history" and bob_ws.close_code is None, "bob's WebSocket is untouched (history answers)")

    t0 = time.monotonic()
    kick = await asyncio.create_subprocess_exec(ctl, "kick", "claims", "--user", "carol", stdout=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.wait_for(carol.wait_closed(), DEADLINE)
        check(carol.close_code == 4001, "carol, a claimed user, is disconnected by a kick too (code %s)" % carol.close_code)
        diag("claimed user's WebSocket closed %.3f s after pushctl kick started" % (time.monotonic() - t0))
    except asyncio.TimeoutError:
        check(False, "carol, a claimed user, is disconnected by a kick too")
    await kick.wait()
    carol = await w.connect(url + "/push/ws?appkey=" + claims_key + "&user=carol&client=tab-c")
    r = await w.subscribe(carol, "room")
    check(r and r.get("op") == "subscribed", "but may connect again: a claim has no token to refuse")
    for ws in (bob_ws, carol):
        await ws.close()
    sse_w.close()
    poll_w.close()

w.run(main())
PY
tap_checks "$T/checks"

# Alice's tokens issued before the kick are refused everywhere.
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-alice&token=$OLD")
like "$r" '^403 .*"content":"token: revoked' "push-api: alice's old token gets 403 revoked"
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-alice&token=$OLD_SQL")
is "${r%% *}" 403 "push-api: her old push.jwt() token too"
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-alice&token=$NO_IAT")
is "${r%% *}" 403 "push-api: a token without iat is refused while the kick is in force"
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-alice&token=$OLD_HMAC")
like "$r" '^403 .*revoked' "push-api: a channel token for user-alice (no issue time) too"
r=$(http GET "$BASE/push/unread?appkey=$S&token=$OLD")
like "$r" '^403 .*revoked' "push-api: her old token names nobody any more (unread: 403)"
r=$(http GET "$BASE/push/poll?appkey=$S&channel=user-alice&timeout=0&token=$OLD")
like "$r" '^403 .*revoked' "push-poll: alice's old token gets 403 revoked"
hdr=$(curl -s -m 5 -D - -o /dev/null "$WS_HTTP/push/sse?appkey=$S&channel=user-alice&token=$OLD")
like "$hdr" '^HTTP/1.1 403' "SSE: alice's old token gets 403"
hdr=$(curl -s -m 5 -D - -o "$T/ws-body" -H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" \
       -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" "$WS_HTTP/push/ws?appkey=$S&token=$OLD")
like "$hdr" '^HTTP/1.1 403' "WebSocket: alice's old token is refused at the handshake with 403"
like "$(cat "$T/ws-body")" 'revoked' "saying it was revoked"

# A token minted after the kick works everywhere; bob's old one was never touched.
NEW=$(mint alice)
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-alice&token=$NEW")
is "${r%% *}" 200 "push-api: a token minted after the kick: 200"
NEW_SQL=$($PSQL -c "SELECT push.jwt($APP_ID, 'alice', NULL, NULL, $EXP)")
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-alice&token=$NEW_SQL")
is "${r%% *}" 200 "push-api: a push.jwt() token made after the kick: 200"
r=$(http GET "$BASE/push/poll?appkey=$S&channel=user-alice&timeout=0&token=$NEW")
is "${r%% *}" 200 "push-poll: the new token: 200"
hdr=$(curl -s -m 2 -D - -o /dev/null "$WS_HTTP/push/sse?appkey=$S&channel=user-alice&token=$NEW")
like "$hdr" '^HTTP/1.1 200' "SSE: the new token: 200"
r=$(http GET "$BASE/push/history?appkey=$S&channel=user-bob&token=$BOB")
is "${r%% *}" 200 "push-api: bob's token, older than alice's kick, still works"
r=$(http GET "$BASE/push/history?appkey=$K&channel=user-alice")
is "${r%% *}" 200 "the server key still reads alice's channel (backends are not kicked)"
ROOM=$("$CTL" token private-room --app shop --ttl 600)
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-room&user=alice&token=$ROOM")
is "${r%% *}" 200 "a channel token bound to nobody still opens its channel for a request naming alice"
$PY - "$WS_URL" "$S" "$NEW" "$OLD" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, sys
import ws_client as w
url, key, new, old = sys.argv[1:]

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

async def main():
    ws = await w.connect(url + "/push/ws?appkey=" + key + "&token=" + new)
    r = await w.subscribe(ws, "user-alice", token=new)
    check(r and r.get("op") == "subscribed", "WebSocket: the new token subscribes to user-alice")
    anon = await w.connect(url + "/push/ws?appkey=" + key)
    r = await w.subscribe(anon, "user-alice", token=old)
    check(r and r.get("op") == "error" and r.get("code") == 403 and "revoked" in r.get("content", ""),
          "WebSocket: the old token in a subscribe op is refused, 403 revoked (%s)" % (r and r.get("content")))
    await ws.close()
    await anon.close()

w.run(main())
PY
tap_checks "$T/checks"

# Programs that start after the kick load it from PostgreSQL.
stop_ws
start_ws || { echo "Bail out! push-ws did not restart"; exit 1; }
hdr=$(curl -s -m 5 -D - -o /dev/null "$WS_HTTP/push/sse?appkey=$S&channel=user-alice&token=$OLD")
like "$hdr" '^HTTP/1.1 403' "a sidecar started after the kick refuses the old token (loaded from push.user_kicks)"
hdr=$(curl -s -m 2 -D - -o /dev/null "$WS_HTTP/push/sse?appkey=$S&channel=user-alice&token=$NEW")
like "$hdr" '^HTTP/1.1 200' "and takes the new one"

tap_done
