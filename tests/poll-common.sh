# tests/poll-common.sh: the long-poll cases (GET /push/poll, SPEC §4), sourced after tests/lib.sh
# by one script per hosting (lighttpd, Apache mod_fcgid, Apache mod_proxy_fcgi). The caller
# starts PostgreSQL and the web server (BASE), then runs the poll_* groups it wants.

POLL_CLIENTS="$PY $top_srcdir/tests/poll-clients.py"

bail() { echo "Bail out! $*"; exit 1; }

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# poll QUERY [curl args...]: "STATUS BODY" of GET /push/poll?QUERY.
poll() {
    local query=$1
    shift
    http GET "$BASE/push/poll?$query" "$@"
}

# body_of "STATUS BODY" | json EXPR
body_of() { echo "${1#* }"; }

publish() {
    curl -s -o /dev/null -w '%{http_code}' "$BASE/push/publish" -d appkey="$PUBLISH_KEY" \
        --data-urlencode channel="$1" --data-urlencode content="$2"
}

# Creates the app the cases use: origins limited to https://shop.example.
poll_setup() {
    create_app shop "'{https://shop.example}'" || bail "cannot create an app"
    P=$PUBLISH_KEY S=$SUBSCRIBE_KEY
    APP_ID=$($PSQL -c "SELECT id FROM push.app WHERE name = 'shop'")
}

poll_basic_cases() {
    local r t0 t1 pid i

    # A held poll is answered by a publish.
    t0=$(now_ms)
    curl -s -o "$T/held.body" "$BASE/push/poll?appkey=$S&channel=live&since=live:0&timeout=20" &
    pid=$!
    sleep 1
    is "$(publish live first)" 200 "publish while a poll waits: 200"
    wait $pid
    t1=$(now_ms)
    is "$(json 'j["messages"][0]["content"]' <"$T/held.body")" first "the waiting poll returns the published message"
    is "$(json 'j["cursor"]' <"$T/held.body")" live:1 "its cursor is live:1"
    ok $(( t1 - t0 < 15000 ? 0 : 1 )) "it returned on the publish, not at its 20 s timeout"

    # Messages pending: answered at once.
    publish live second >/dev/null
    t0=$(now_ms)
    r=$(poll "appkey=$S&channel=live&since=live:1&timeout=30")
    t1=$(now_ms)
    is "$(body_of "$r" | json '[m["content"] for m in j["messages"]]')" "['second']" "a poll with messages pending gets them"
    ok $(( t1 - t0 < 10000 ? 0 : 1 )) "and does not wait for its 30 s timeout"
    like "$r" '"time":[0-9]{13}' "messages carry their time in ms"

    # Nothing new: the timeout answers with the same cursor.
    t0=$(now_ms)
    r=$(poll "appkey=$S&channel=live&since=live:2&timeout=2")
    t1=$(now_ms)
    is "$r" '200 {"code":200,"content":"OK","messages":[],"cursor":"live:2","more":false,"gap":[]}' \
        "timeout: no messages, the same cursor"
    ok $(( t1 - t0 >= 1900 && t1 - t0 < 6000 ? 0 : 1 )) "timeout=2 answers after about 2 s ($((t1 - t0)) ms)"
    r=$(poll "appkey=$S&channel=live&since=live:2&timeout=0")
    is "${r%% *}" 200 "timeout=0 answers at once"

    # A channel missing from since starts at its head.
    r=$(poll "appkey=$S&channel=live&timeout=0")
    is "$(body_of "$r" | json 'j["cursor"], len(j["messages"])')" "live:2 0" "no since: from the head, nothing old"

    # Several channels: one cursor for all, round trip.
    publish multi-a a1 >/dev/null
    publish multi-a a2 >/dev/null
    publish multi-b b1 >/dev/null
    r=$(poll "appkey=$S&channel=multi-a&channel=multi-b&since=multi-a:0,multi-b:0&timeout=5")
    is "$(body_of "$r" | json '" ".join("%s:%s" % (m["channel"], m["seq"]) for m in j["messages"])')" \
        "multi-a:1 multi-a:2 multi-b:1" "two channels (repeated parameter): every message once"
    local cursor
    cursor=$(body_of "$r" | json 'j["cursor"]')
    is "$cursor" "multi-a:2,multi-b:1" "the cursor covers both channels"
    r=$(poll "appkey=$S&channel=multi-a,multi-b&since=$cursor&timeout=1")
    is "$(body_of "$r" | json 'j["cursor"], len(j["messages"])')" "multi-a:2,multi-b:1 0" \
        "polling with that cursor (comma list): nothing again"
    publish multi-b b2 >/dev/null
    r=$(poll "appkey=$S&channel=multi-a,multi-b&since=$cursor&timeout=5")
    is "$(body_of "$r" | json '[(m["channel"], m["seq"], m["content"]) for m in j["messages"]], j["cursor"]')" \
        "[('multi-b', 2, 'b2')] multi-a:2,multi-b:2" "only the new message, cursor advanced"

    # limit and more.
    for i in 1 2 3 4 5; do publish lim "m$i" >/dev/null; done
    r=$(poll "appkey=$S&channel=lim&since=lim:0&limit=2")
    is "$(body_of "$r" | json '[m["seq"] for m in j["messages"]], j["cursor"], j["more"]')" "[1, 2] lim:2 True" \
        "limit=2: two messages, more=true"
    r=$(poll "appkey=$S&channel=lim&since=lim:2&limit=3")
    is "$(body_of "$r" | json '[m["seq"] for m in j["messages"]], j["more"]')" "[3, 4, 5] False" \
        "the rest with more=false"

    # JSONP.
    r=$(poll "appkey=$S&channel=live&since=live:1&callback=cb.poll_1")
    like "$r" '^200 /\*\*/cb\.poll_1\(\{"code":200,"content":"OK","messages":\[\{"channel":"live","seq":2,"content":"second","time":[0-9]+\}\],"cursor":"live:2","more":false,"gap":\[\]\}\);$' \
        "JSONP poll: /**/cb(...); with the whole response"
    # lighttpd rewrites application/javascript to text/javascript (RFC 9239); both are right.
    like "$(curl -s -o /dev/null -w '%{content_type}' "$BASE/push/poll?appkey=$S&channel=live&timeout=0&callback=cb")" \
        '^(application|text)/javascript; charset=utf-8$' "JSONP Content-Type"
    r=$(poll "appkey=$S&channel=bad%20name&callback=cb")
    like "$r" '^200 /\*\*/cb\(\{"code":400,"content":"channel: ' "JSONP error: HTTP 200, code 400 inside"
    # A JSONP poll has no Origin: its Referer must come from one of the app's origins.
    r=$(poll "appkey=$S&channel=live&timeout=0&callback=cb" -H 'Referer: https://evil.example/page')
    like "$r" '^200 /\*\*/cb\(\{"code":403,"content":"origin: the Referer' "JSONP poll with a Referer from another origin: 403 inside"
    r=$(poll "appkey=$S&channel=live&timeout=0&callback=cb" -H 'Referer: https://shop.example/page')
    like "$r" '^200 /\*\*/cb\(\{"code":200' "JSONP poll with a Referer from the app's origin: 200"
    r=$(poll "appkey=$S&channel=live&callback=alert(1)")
    like "$r" '^400 \{"code":400,"content":"callback: ' "bad callback: 400 without reflection"

    # Bad parameters: 400 naming the parameter.
    r=$(poll "appkey=$S&channel=live&since=live:x")
    like "$r" '^400 \{"code":400,"content":"since: ' "bad since: 400 since"
    r=$(poll "appkey=$S&channel=live&since=live")
    like "$r" '^400 \{"code":400,"content":"since: ' "since without a seq: 400 since"
    r=$(poll "appkey=$S&channel=live&timeout=56")
    like "$r" '^400 \{"code":400,"content":"timeout: ' "timeout=56: 400 timeout"
    r=$(poll "appkey=$S&channel=live&timeout=-1")
    like "$r" '^400 \{"code":400,"content":"timeout: ' "timeout=-1: 400 timeout"
    r=$(poll "appkey=$S&channel=live&limit=0")
    like "$r" '^400 \{"code":400,"content":"limit: ' "limit=0: 400 limit"
    r=$(poll "appkey=$S&channel=live&limit=1001")
    like "$r" '^400 \{"code":400,"content":"limit: ' "limit=1001: 400 limit"
    r=$(poll "appkey=$S&channel=bad%21")
    like "$r" '^400 \{"code":400,"content":"channel: ' "bad channel name: 400 channel"
    r=$(poll "appkey=$S")
    like "$r" '^400 \{"code":400,"content":"channel: ' "no channel: 400 channel"
    # A NUL byte or invalid UTF-8 in the query string: 400. Apache hands it to push-poll and
    # push-api, which name the parameter; lighttpd refuses such a query string itself.
    local query what path
    while IFS='|' read -r path query what; do
        r=$(http GET "$BASE$path?appkey=$S&$query")
        if [ -n "${APACHE_RUN_USER:-}" ]; then
            is "$r" "400 {\"code\":400,\"content\":\"$what\"}" "$path $query: 400 $what"
        else
            like "$r" '^400 <' "$path $query: 400 from lighttpd"
        fi
    done <<EOF2
/push/poll|timeout=0&channel=trunc%00private-x|channel: contains a NUL byte
/push/poll|timeout=0&channel=live&user=a%FFb|user: not valid UTF-8
/push/poll|timeout=0&channel=live&client=tab%00x|client: contains a NUL byte
/push/history|channel=trunc%00private-x|channel: contains a NUL byte
/push/presence|channel=live&user=a%FFb|user: not valid UTF-8
EOF2
    r=$(poll "appkey=$S&channel=$(seq -s, -f 'c%g' 65)")
    like "$r" '^400 \{"code":400,"content":"channel: ' "65 channels: 400 channel"
    r=$(poll "appkey=$S&channel=$(seq -s, -f 'c%g' 64)&timeout=0")
    is "${r%% *}" 200 "64 channels: 200"
    r=$(poll "appkey=$S&channel=live&client=bad%20client")
    like "$r" '^400 \{"code":400,"content":"client: ' "bad client id: 400 client"
    r=$(poll "channel=live")
    like "$r" '^400 \{"code":400,"content":"appkey: ' "no appkey: 400 appkey"
    r=$(poll "appkey=BS-unknown&channel=live")
    like "$r" '^401 \{"code":401,"content":"appkey: ' "unknown key: 401"
    r=$(poll "appkey=$P&channel=live&timeout=0")
    is "${r%% *}" 200 "the publish key may poll too"

    # Origins.
    r=$(poll "appkey=$S&channel=live&timeout=0" -H 'Origin: https://evil.example')
    like "$r" '^403 ' "a disallowed Origin: 403"
    is "$(curl -s -D - -o /dev/null -H 'Origin: https://shop.example' "$BASE/push/poll?appkey=$S&channel=live&timeout=0" |
          tr -d '\r' | grep -i '^access-control-allow-origin:' | cut -d' ' -f2)" https://shop.example \
        "an allowed Origin gets Access-Control-Allow-Origin"

    # Private channels need a token.
    local expires token
    expires=$(( $(date +%s) + 600 ))
    token=$($PSQL -c "SELECT push.token($APP_ID, 'private-room', $expires)")
    r=$(poll "appkey=$S&channel=private-room&timeout=0")
    like "$r" '^403 \{"code":403,"content":"token: ' "private channel without a token: 403"
    r=$(poll "appkey=$S&channel=private-room&timeout=0&token=${token:0:10}x:$expires")
    is "${r%% *}" 403 "with a forged token: 403"
    r=$(poll "appkey=$S&channel=private-room&timeout=0&token=$token")
    is "${r%% *}" 200 "with its token: 200"
    # A JWT as Authorization: Bearer (the server must pass the header on to FastCGI).
    token=$($PSQL -c "SELECT push.jwt($APP_ID, NULL, '{private-*}', NULL, $expires)")
    r=$(poll "appkey=$S&channel=private-room&timeout=0" -H "Authorization: Bearer $token")
    is "${r%% *}" 200 "with a JWT as Authorization: Bearer: 200"
    # A different signature: its first character changed (the last one carries spare bits).
    local head=${token%.*} sig=${token##*.}
    local forged=$head.$([ "${sig:0:1}" = A ] && echo B || echo A)${sig:1}
    r=$(poll "appkey=$S&channel=private-room&timeout=0" -H "Authorization: Bearer $forged")
    like "$r" '^403 .*"token: bad signature' "with a forged Bearer JWT: 403"
    token=$($PSQL -c "SELECT push.token($APP_ID, 'user-alice', $expires)")
    r=$(poll "appkey=$S&channel=user-alice,live&timeout=0&token=$token&client=tab-1")
    is "${r%% *}" 200 "user channel with the user's token: 200"
    r=$(poll "appkey=$S&channel=user-alice&timeout=0&token=$token&user=mallory")
    like "$r" '^403 \{"code":403,"content":"user: mallory cannot poll user-alice"' \
        "alice's token with user=mallory: 403 (a poll's user is the channel's)"
    # Touches from polls are written in one statement per process per second.
    # The presence id is the client's id bound to its user, so nobody else can take it over.
    local who= bound
    bound=$(presence_id tab-1 alice)
    for _ in $(seq 50); do
        who=$($PSQL -c "SELECT user_id FROM push.presence p JOIN push.channel c ON c.id = p.channel_id WHERE c.name = 'user-alice' AND client_id = '$bound'")
        [ -n "$who" ] && break
        sleep 0.1
    done
    is "$who" alice "client= records presence for the user, as HMAC(secret, user, client) (within the second's batch)"

    # Cache-Control on poll answers.
    is "$(curl -s -D - -o /dev/null "$BASE/push/poll?appkey=$S&channel=live&timeout=0" | tr -d '\r' |
          grep -ci '^cache-control: no-store')" 1 "Cache-Control: no-store"

    # channel:0 from the oldest kept; gap after pruning (last: the prune empties every channel).
    for i in 1 2 3; do publish old "o$i" >/dev/null; done
    $PSQL -c "SELECT push.prune('0 seconds')" >/dev/null
    publish old o4 >/dev/null
    publish old o5 >/dev/null
    r=$(poll "appkey=$S&channel=old&since=old:0")
    is "$(body_of "$r" | json '[m["seq"] for m in j["messages"]], j["gap"]')" "[4, 5] []" \
        "old:0 starts at the oldest message kept, no gap"
    r=$(poll "appkey=$S&channel=old,live&since=old:1,live:2&timeout=0")
    is "$(body_of "$r" | json '[m["seq"] for m in j["messages"]], j["gap"], j["cursor"]')" \
        "[4, 5] ['old'] old:5,live:2" "old:1 after a prune: gap lists the channel, delivery from the oldest kept"

    # POST /push/leave (push-api) ends a long-poll client's presence at once.
    poll "appkey=$S&channel=lounge&timeout=0&client=tab-l" >/dev/null
    is "$(poll_clients_until lounge 1)" 1 "a long-poll client is in lounge's presence"
    r=$(http POST "$BASE/push/leave?appkey=$S&client=tab-l" -d "")
    is "${r%% *}" 200 "POST /push/leave is routed to push-api: 200"
    is "$(poll_clients_until lounge 0)" 0 "and the client is gone from presence"
}

# poll_clients_until CHANNEL N: the channel's presence client count once it is N (15 s at most).
poll_clients_until() {
    local seen i
    for i in $(seq 150); do
        seen=$(curl -s "$BASE/push/presence?appkey=$S&channel=$1" | json "j['channels']['$1']['clients']")
        [ "$seen" = "$2" ] && break
        sleep 0.1
    done
    echo "$seen"
}

# poll_concurrency_case POLLERS: 4 publishers x 250 messages over HTTP while POLLERS clients
# follow their cursors; each must see all 1000 exactly once in seq order.
poll_concurrency_case() {
    local n=$1 out
    out=$($POLL_CLIENTS loop "$BASE" "$S" load 1000 --pollers "$n" --publish-key "$P" --publishers 4 --timeout 10)
    diag "concurrency: $out"
    is "$(echo "$out" | json 'j["publish_failures"]')" 0 "4 publishers x 250: every publish answered 200"
    is "$(echo "$out" | json 'j["exact"], j["clients"]')" "$n $n" \
        "each of $n pollers received seqs 1..1000, each once, in order"
    is "$(echo "$out" | json 'j["fifo"]')" "$n" "each publisher's messages arrived in the order it sent them"
    is "$($PSQL -c "SELECT last_seq FROM push.channel WHERE name = 'load'")" 1000 "the channel's head is 1000"
}

# poll_restart_case POLLERS: PostgreSQL stops and starts while polls wait; the pollers answer
# 503 or keep waiting, then resume from their cursors and miss nothing.
poll_restart_case() {
    local n=$1 out pid i r
    for i in 1 2 3 4 5; do
        $PSQL -c "SELECT push.publish('$P', 'restart', 'before $i')" >/dev/null
    done
    $POLL_CLIENTS loop "$BASE" "$S" restart 10 --pollers "$n" --timeout 3 --deadline 50 >"$T/restart.out" &
    pid=$!
    sleep 2
    pg_stop || diag "pg_stop failed"
    r=$(curl -s -D - -o /dev/null "$BASE/push/poll?appkey=$S&channel=restart&timeout=0" | tr -d '\r')
    like "$r" '^HTTP/1.1 503' "a new poll while PostgreSQL is down: 503"
    like "$r" $'\n''Retry-After: [0-9]+' "with Retry-After"
    sleep 2
    pg_start || bail "PostgreSQL did not start again"
    for i in 6 7 8 9 10; do
        $PSQL -c "SELECT push.publish('$P', 'restart', 'after $i')" >/dev/null
    done
    wait $pid
    out=$(cat "$T/restart.out")
    diag "restart: $out"
    is "$(echo "$out" | json 'j["exact"], j["clients"]')" "$n $n" \
        "after a PostgreSQL restart each of $n pollers has seqs 1..10, each once, in order"
    ok "$(echo "$out" | json '0 if set(j["status"]) <= {"200", "503"} else 1')" \
        "polls answered only 200 or 503 meanwhile"
    r=$(poll "appkey=$S&channel=restart&since=restart:10&timeout=1")
    is "${r%% *}" 200 "polls work again"
}
