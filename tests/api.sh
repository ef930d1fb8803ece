#!/usr/bin/env bash
# tests/api.sh: publish, batch, history, presence, read marks and status through lighttpd and
# push-api against a real PostgreSQL: every row of the error table, JSONP and CORS.
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
tap_plan 118

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
create_app shop "'{https://shop.example}'" false 65536
P=$PUBLISH_KEY S=$SUBSCRIBE_KEY K=$SERVER_KEY SHOP_SECRET=$SECRET
create_app pages "'{}'" true 1024
PAGE_P=$PUBLISH_KEY PAGE_S=$SUBSCRIBE_KEY

# status
r=$(http GET "$BASE/push/status")
is "${r%% *}" 200 "status answers 200"
like "$r" '"database":"up"' "status says the database is up"
like "$r" '"schema_version":[1-9]' "status reports the schema version"

# publish
r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=hi)
is "${r%% *}" 200 "publish with the publish key: 200"
is "$(echo "${r#* }" | json 'j["seq"]')" 1 "first message of a channel has seq 1"
like "$r" '"content":"OK","channel":"news"' "publish answer names the channel"
like "$r" '"time":[0-9]{13}' "publish answer has the time in ms"
is "$($PSQL -c "SELECT content FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.name = 'news'")" hi "the row is in PostgreSQL"
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' -d "{\"appkey\":\"$P\",\"channel\":\"news\",\"content\":\"json body \u4f60\u597d\"}")
is "$(echo "${r#* }" | json 'j["seq"]')" 2 "JSON body publish gets seq 2"
is "$(curl -s -o /dev/null -D - "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=x | grep -ci '^cache-control: no-store')" 1 "Cache-Control: no-store"

# errors of publish
r=$(http POST "$BASE/push/publish" -d appkey="$S" -d channel=news -d content=hi)
is "${r%% *}" 403 "subscribe key cannot publish: 403"
like "$r" '"code":403,"content":"appkey: ' "403 names appkey"
r=$(http POST "$BASE/push/publish" -d appkey=BC-nope -d channel=news -d content=hi)
is "${r%% *}" 401 "unknown key: 401"
r=$(http POST "$BASE/push/publish" -d channel=news -d content=hi)
is "${r%% *}" 400 "missing appkey: 400"
like "$r" '"content":"appkey: missing"' "names appkey"
r=$(http POST "$BASE/push/publish" -d appkey="$P" --data-urlencode 'channel=bad channel!' -d content=hi)
is "${r%% *}" 400 "bad channel: 400"
like "$r" '"content":"channel: ' "names channel"
r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news)
is "${r%% *}" 400 "missing content: 400"
head -c 65536 /dev/zero | tr '\0' a >"$T/64k"
r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=big --data-urlencode "content@$T/64k")
is "${r%% *}" 200 "content of exactly 64 KiB: 200"
printf b >>"$T/64k"
r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=big --data-urlencode "content@$T/64k")
is "${r%% *}" 413 "content of 64 KiB + 1: 413"
like "$r" '"content":"content: 65537 bytes exceeds the limit of 65536"' "413 says size and limit"
r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d 'content=%FF%FE')
is "${r%% *}" 400 "invalid UTF-8: 400"
like "$r" '"content":"content: not valid UTF-8' "names content"
r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d 'content=a%00b')
is "${r%% *}" 400 "NUL in content: 400"
r=$(http GET "$BASE/push/publish?appkey=$P&channel=news&content=x")
is "${r%% *}" 405 "GET publish without callback: 405"
r=$(http GET "$BASE/push/publish?appkey=$P&channel=news&content=x&callback=cb")
like "$r" '^200 /\*\*/cb\(\{"code":403' "GET+callback publish where the app forbids page publishing: 403 inside JSONP"
r=$(http GET "$BASE/push/publish?appkey=$PAGE_P&channel=room&content=from%20a%20page&callback=cb")
like "$r" '^200 /\*\*/cb\(\{"code":200,"content":"OK","channel":"room","seq":1' "GET+callback publish where the app allows it: 200"
r=$(http DELETE "$BASE/push/history?appkey=$P&channel=news")
is "${r%% *}" 405 "DELETE on history: 405"
r=$(http GET "$BASE/push/nothing?appkey=$P")
is "${r%% *}" 404 "unknown endpoint: 404"
is "$($PSQL -c "SELECT count(*) FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.name = 'news'")" 3 "failed publishes wrote nothing"

# NUL bytes and invalid UTF-8 in any parameter: 400 naming it, at the parser, nothing written.
# Bodies go through printf %b (\xHH is a raw byte); lighttpd itself refuses such query strings.
while IFS='|' read -r type body what; do
    [ -n "$type" ] || continue
    printf '%b' "$body" >"$T/bad-body"
    r=$(http POST "$BASE/push/publish" -H "Content-Type: $type" --data-binary "@$T/bad-body")
    like "$r" "^400 \{\"code\":400,\"content\":\"$what\"\}$" "${type#application/} body: 400 $what"
done <<EOF2
application/x-www-form-urlencoded|appkey=$P&channel=trunc%00private-x&content=x|channel: contains a NUL byte
application/x-www-form-urlencoded|appkey=BC-%FF%FE&channel=news&content=x|appkey: not valid UTF-8
application/x-www-form-urlencoded|appkey=$P&channel=news&content=x&sender=a%C0%AF|sender: not valid UTF-8
application/x-www-form-urlencoded|appkey=$P&channel=news&content=\xff|content: not valid UTF-8
application/x-www-form-urlencoded|ch%00annel=x&appkey=$P|parameter name: contains a NUL byte
application/json|{"appkey":"$P","channel":"trunc\\\\u0000private-x","content":"x"}|channel: contains a NUL byte
application/json|{"appkey":"BC-\xff","channel":"news","content":"x"}|appkey: not valid UTF-8
application/json|{"appkey":"$P","messages":[{"channel":"ok","content":"x"},{"channel":"trunc\\\\u0000private-x","content":"y"}]}|messages\\[1\\]\\.channel: contains a NUL byte
application/json|{"appkey":"$P","channel\\\\u0000x":"news","channel":"ok","content":"x"}|parameter name: contains a NUL byte
EOF2
r=$(http GET "$BASE/push/history?appkey=$S&channel=trunc%00private-x")
is "${r%% *}" 400 "a NUL in the query string: 400"
is "$($PSQL -c "SELECT count(*) FROM push.channel WHERE name IN ('trunc', 'ok', 'private-x')")" 0 "refused parameters wrote nothing, not even a channel"

# JSONP
r=$(http GET "$BASE/push/history?appkey=$S&channel=news&callback=jQuery_12.cb")
like "$r" '^200 /\*\*/jQuery_12\.cb\(\{"code":200,.*\}\);$' "JSONP history shape"
hdr=$(curl -s -o /dev/null -D - "$BASE/push/history?appkey=BC-nope&channel=news&callback=cb")
like "$hdr" 'HTTP/1.1 200' "JSONP error still HTTP 200"
# push-api sends application/javascript; lighttpd 1.4.69 normalizes it to RFC 9239's text/javascript.
like "$hdr" '[Cc]ontent-[Tt]ype: (application|text)/javascript; charset=utf-8' "JSONP content type"
like "$hdr" 'X-Content-Type-Options: nosniff' "JSONP nosniff"
r=$(http GET "$BASE/push/history?appkey=BC-nope&channel=news&callback=cb")
like "$r" '\{"code":401' "JSONP carries the real code"
r=$(http GET "$BASE/push/history?appkey=$S&channel=news&callback=alert(document.cookie)")
is "${r%% *}" 400 "bad callback: 400"
case "$r" in *alert*|*cookie*) ok 1 "bad callback is not reflected" ;; *) ok 0 "bad callback is not reflected" ;; esac
r=$(http GET "$BASE/push/history?appkey=$S&channel=news&callback=1x")
is "${r%% *}" 400 "callback starting with a digit: 400"

# history
r=$(http GET "$BASE/push/history?appkey=$S&channel=news")
is "$(echo "${r#* }" | json '[m["seq"] for m in j["messages"]]')" "[1, 2, 3]" "history ascending by seq"
is "$(echo "${r#* }" | json 'j["messages"][1]["content"]')" "json body 你好" "history returns UTF-8 content"
r=$(http GET "$BASE/push/history?appkey=$S&channel=news&limit=2")
is "$(echo "${r#* }" | json '[m["seq"] for m in j["messages"]]')" "[2, 3]" "limit keeps the latest"
r=$(http GET "$BASE/push/history?appkey=$S&channel=news&after=1&limit=1")
is "$(echo "${r#* }" | json '[m["seq"] for m in j["messages"]]')" "[2]" "after=1 limit=1"
r=$(http GET "$BASE/push/history?appkey=$S&channel=news&before=2")
is "$(echo "${r#* }" | json '[m["seq"] for m in j["messages"]]')" "[1]" "before=2"
r=$(http GET "$BASE/push/history?appkey=$S&channel=news&limit=0")
is "${r%% *}" 400 "limit=0: 400"
like "$r" '"content":"limit: ' "names limit"
r=$(http GET "$BASE/push/history?appkey=$S&channel=news&after=x")
like "$r" '^400 .*"content":"after: ' "after=x: 400 naming after"
r=$(http GET "$BASE/push/history?appkey=$S&channel=empty")
is "$(echo "${r#* }" | json 'len(j["messages"])')" 0 "unknown channel: empty history"

# tokens on private channels
http POST "$BASE/push/publish" -d appkey="$K" -d channel=private-ops -d content=secret >/dev/null
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-ops")
is "${r%% *}" 403 "private channel without token: 403"
like "$r" '"content":"token: ' "names token"
tok=$("$top_builddir/cli/pushctl" token private-ops --app shop --ttl 60)
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-ops&token=$tok")
is "${r%% *}" 200 "private channel with a pushctl token: 200"
r=$(http GET "$BASE/push/history?appkey=$S&channel=private-ops&token=${tok/:/x:}")
is "${r%% *}" 403 "tampered token: 403"

# CORS
hdr=$(curl -s -o /dev/null -D - -H 'Origin: https://shop.example' "$BASE/push/history?appkey=$S&channel=news")
like "$hdr" 'Access-Control-Allow-Origin: https://shop.example' "allowed origin echoed"
r=$(http GET "$BASE/push/history?appkey=$S&channel=news" -H 'Origin: https://evil.example')
is "${r%% *}" 403 "origin not in the app's list: 403"
like "$r" '"content":"origin: ' "names origin"
hdr=$(curl -s -o /dev/null -D - -H 'Origin: https://any.example' "$BASE/push/history?appkey=$PAGE_S&channel=room")
like "$hdr" 'Access-Control-Allow-Origin: \*' "no list: any origin, as *"
case "$hdr" in *Allow-Credentials*) ok 1 "never with credentials" ;; *) ok 0 "never with credentials" ;; esac

# CORS preflight: answered for the app named by appkey in the query string, only to its origins
preflight() { curl -s -D - -X OPTIONS -H "Origin: $1" -H 'Access-Control-Request-Method: POST' "$BASE/push/publish$2"; }
hdr=$(preflight https://shop.example "?appkey=$S")
like "$hdr" 'HTTP/1.1 204' "preflight from an allowed origin: 204"
like "$hdr" 'Access-Control-Allow-Origin: https://shop.example' "it allows that origin"
like "$hdr" 'Access-Control-Allow-Methods: GET, POST' "and lists the methods"
hdr=$(preflight https://evil.example "?appkey=$S")
like "$hdr" 'HTTP/1.1 403' "preflight from another origin: 403"
case "$hdr" in *Access-Control-Allow-Origin*) ok 1 "no Access-Control-Allow-Origin for it" ;; *) ok 0 "no Access-Control-Allow-Origin for it" ;; esac
hdr=$(preflight https://shop.example "")
like "$hdr" '"content":"origin: a CORS preflight needs appkey in the query string"' "preflight without appkey: refused, saying why"
case "$hdr" in *Access-Control-Allow-Origin*) ok 1 "no Access-Control-Allow-Origin without appkey" ;; *) ok 0 "no Access-Control-Allow-Origin without appkey" ;; esac
like "$(preflight https://any.example "?appkey=$PAGE_S")" 'Access-Control-Allow-Origin: \*' "preflight to an app without a list: *"

# JSONP carries no Origin: the Referer stands for it where the app lists origins
create_app pubpages "'{https://pub.example}'" true 1024
PUB_P=$PUBLISH_KEY
r=$(http GET "$BASE/push/history?appkey=$S&channel=news&callback=cb" -H 'Referer: https://evil.example/page')
like "$r" '^200 /\*\*/cb\(\{"code":403,"content":"origin: the Referer' "JSONP read with a Referer from another origin: 403"
r=$(http GET "$BASE/push/history?appkey=$S&channel=news&callback=cb" -H 'Referer: https://shop.example/shop/page?x=1')
like "$r" '^200 /\*\*/cb\(\{"code":200' "JSONP read with a Referer from a listed origin: 200"
r=$(http GET "$BASE/push/history?appkey=$S&channel=news&callback=cb")
like "$r" '^200 /\*\*/cb\(\{"code":200' "JSONP read without Referer: allowed (a read, see README)"
for ref in "" "https://evil.example/" "https://pub.example@evil.example/"; do
    r=$(http GET "$BASE/push/publish?appkey=$PUB_P&channel=pub&content=x&callback=cb" ${ref:+-H "Referer: $ref"})
    like "$r" '^200 /\*\*/cb\(\{"code":403,"content":"origin: ' "JSONP publish with Referer '$ref': 403"
done
r=$(http GET "$BASE/push/publish?appkey=$PUB_P&channel=pub&content=x&callback=cb" -H 'Referer: https://pub.example/chat')
like "$r" '^200 /\*\*/cb\(\{"code":200,"content":"OK","channel":"pub","seq":1' "JSONP publish from a listed origin's page: 200"

# HEAD never writes, with or without callback
curl -s -o /dev/null -I "$BASE/push/publish?appkey=$PAGE_P&channel=room&content=head&callback=cb"
curl -s -o /dev/null -I "$BASE/push/publish?appkey=$PUB_P&channel=pub&content=head&callback=cb" -H 'Referer: https://pub.example/chat'
curl -s -o /dev/null -I "$BASE/push/publish?appkey=$P&channel=news&content=head"
is "$($PSQL -c "SELECT count(*) FROM push.message WHERE content = 'head'")" 0 "HEAD publishes nothing"
# GET writes only as JSONP (with callback) in an app that allows page publishing.
r=$(http GET "$BASE/push/publish?appkey=$PAGE_P&channel=room&content=no-callback")
like "$r" '^405 .*"content":"publish: use POST, or GET with callback from a page"' \
    "GET publish without callback in an app that allows page publishing: 405"
is "$($PSQL -c "SELECT count(*) FROM push.message WHERE content = 'no-callback'")" 0 "and nothing is written"
r=$(http GET "$BASE/push/publish?appkey=$PAGE_P&channel=room&content=x&callback=cb" -X HEAD -o /dev/null -D "$T/head")
like "$(cat "$T/head")" 'HTTP/1.1 200' "HEAD with callback: 200 (JSONP), no body"

# batch
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' \
    -d "{\"appkey\":\"$P\",\"messages\":[{\"channel\":\"b1\",\"content\":\"x\"},{\"channel\":\"b2\",\"content\":\"y\"},{\"channel\":\"b1\",\"content\":\"z\"}]}")
is "$(echo "${r#* }" | json '[(m["channel"], m["seq"]) for m in j["messages"]]')" "[('b1', 1), ('b2', 1), ('b1', 2)]" "batch returns every seq in order"
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' \
    -d "{\"appkey\":\"$P\",\"messages\":[{\"channel\":\"b3\",\"content\":\"x\"},{\"channel\":\"bad channel\",\"content\":\"y\"}]}")
is "${r%% *}" 400 "batch with one bad channel: 400"
like "$r" '"content":"messages\[1\]\.channel: ' "names the bad message"
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' \
    -d "{\"appkey\":\"$P\",\"messages\":[{\"channel\":\"b3\",\"content\":\"x\"},{\"channel\":\"b4\"}]}")
like "$r" '^400 .*"content":"messages\[1\]\.content: missing' "batch with a missing content: 400"
is "$($PSQL -c "SELECT count(*) FROM push.channel WHERE name IN ('b3','b4')")" 0 "a failed batch stores nothing, not even its channels"
# batch sender: the single publish's rules
while IFS='|' read -r sender what; do
    r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' \
        -d "{\"appkey\":\"$P\",\"sender\":$sender,\"messages\":[{\"channel\":\"b5\",\"content\":\"x\"}]}")
    like "$r" '^400 .*"content":"sender: must be 1-64 bytes' "batch sender $sender ($what): 400"
done <<'EOF2'
"bad sender!"|punctuation
""|empty
"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"|65 bytes
5|a number
{"id":"x"}|an object
EOF2
is "$($PSQL -c "SELECT count(*) FROM push.channel WHERE name = 'b5'")" 0 "refused batch senders stored nothing"
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' \
    -d "{\"appkey\":\"$P\",\"sender\":\"shop-1\",\"messages\":[{\"channel\":\"b5\",\"content\":\"x\"}]}")
is "${r%% *}:$($PSQL -c "SELECT sender FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.name = 'b5'")" "200:shop-1" "a valid batch sender is stored"
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' -d '{"appkey":')
like "$r" '^400 .*"content":"body: not valid JSON' "broken JSON body: 400"

# presence, read marks, unread
r=$(http GET "$BASE/push/presence?appkey=$S&channel=news,room")
is "$(echo "${r#* }" | json 'j["channels"]["news"]["clients"]')" 0 "presence of a channel nobody polls: 0 clients"
http POST "$BASE/push/publish" -d appkey="$K" -d channel=user-alice -d content=one >/dev/null
http POST "$BASE/push/publish" -d appkey="$K" -d channel=user-alice -d content=two >/dev/null
tok=$("$top_builddir/cli/pushctl" token user-alice --app shop)
r=$(http GET "$BASE/push/unread?appkey=$S&user=alice&token=$tok")
is "$(echo "${r#* }" | json 'j["channels"]["user-alice"]["unread"]')" 2 "two unread on alice's channel"
r=$(http POST "$BASE/push/read" -d appkey="$S" -d user=alice -d channel=user-alice -d seq=1 -d token="$tok")
is "${r%% *}" 200 "mark read with alice's token"
r=$(http GET "$BASE/push/unread?appkey=$S&user=alice&token=$tok")
is "$(echo "${r#* }" | json 'j["total"]')" 1 "one unread left"
r=$(http POST "$BASE/push/read" -d appkey="$S" -d user=alice -d channel=user-alice -d seq=1)
is "${r%% *}" 403 "mark read without a token: 403"
# alice's token is for her own channel only: another private or user channel, existing or
# not, gets the same 403 and nothing about it (its head, whether it exists).
http POST "$BASE/push/publish" -d appkey="$K" -d channel=private-board -d content=secret >/dev/null
for c in private-board private-nothing user-bob; do
    r=$(http POST "$BASE/push/read" -d appkey="$S" -d user=alice -d channel=$c -d seq=999999 -d token="$tok")
    like "$r" '^403 \{"code":403,"content":"token: ' "mark read on $c with only alice's token: 403, nothing told"
done
board=$("$top_builddir/cli/pushctl" token private-board --app shop --user alice)
r=$(http POST "$BASE/push/read" -d appkey="$S" -d user=alice -d channel=private-board -d seq=999999 \
    -d token="$tok" -d token="$board")
is "$r" '200 {"code":200,"content":"OK","user":"alice","channel":"private-board","seq":1}' \
    "with a token for the board too: the mark, clamped to its head"
r=$(http GET "$BASE/push/unread?appkey=$K&user=alice")
is "${r%% *}" 200 "the server key (a backend) reads unread counts without a token"
r=$(http GET "$BASE/push/unread?appkey=$P&user=alice")
like "$r" '^403 .*token: this channel needs a token' "the publish key does not: 403"
r=$(http GET "$BASE/push/unread?appkey=$S&user=alice&token=$tok")
is "$(echo "${r#* }" | json 'sorted(j["channels"].keys())')" "['user-alice']" \
    "with only her own token, alice's unread counts leave out the board she has a mark on"

# rate limit: 2 a second. Publish until one is refused (a slow machine may cross into the
# next second between two publishes), then check that refusal.
create_app limited "'{}'" false 65536 2
refused=""
for i in $(seq 20); do
    curl -s -o "$T/rate.body" -D "$T/rate.head" -d appkey="$PUBLISH_KEY" -d channel=r -d content="try-$i" \
        "$BASE/push/publish"
    if head -1 "$T/rate.head" | grep -q ' 429'; then refused=$i; break; fi
done
ok $([ -n "$refused" ] && echo 0 || echo 1) "publishing faster than the app's rate: 429 (publish $refused of up to 20 at once)"
like "$(cat "$T/rate.head")" 'Retry-After: 1' "429 carries Retry-After"
like "$(cat "$T/rate.body")" '"content":"rate: ' "429 names the rate"
is "$($PSQL -c "SELECT count(*) FROM push.message m JOIN push.channel c ON c.id = m.channel_id JOIN push.app a ON a.id = c.app_id WHERE a.name = 'limited' AND m.content = 'try-${refused:-0}'")" 0 \
    "the refused publish stored nothing"

# database down
pg_stop
r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=down)
is "${r%% *}" 503 "database down: publish 503"
hdr=$(curl -s -o /dev/null -D - "$BASE/push/status")
like "$hdr" 'Retry-After: [0-9]+' "503 carries Retry-After"
pg_start
ok_after=1
for _ in $(seq 60); do
    r=$(http POST "$BASE/push/publish" -d appkey="$P" -d channel=news -d content=back)
    [ "${r%% *}" = 200 ] && { ok_after=0; break; }
    sleep 0.2
done
ok $ok_after "database back: publish works again"
tap_done
