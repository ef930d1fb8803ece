#!/usr/bin/env bash
# tests/poller-silence.sh: a listener whose flow goes silent (a NAT or firewall that dropped it
# without a word) is noticed and replaced by the program itself: push-poll's, push-api's (it
# listens for kicks) and push-ws's connections to PostgreSQL go through tests/tcp-proxy.py,
# which freezes the LISTEN flows and keeps them frozen; a poll held and an SSE stream open
# meanwhile get the message published into the silence once each listener has reconnected on a
# new flow.
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"

IDLE=2 TIMEOUT=2

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app silence || { echo "Bail out! no app"; exit 1; }

: >"$T/proxy.log"
coproc PROXY { exec $PY "$top_srcdir/tests/tcp-proxy.py" "$PG_SOCKET_DIR/.s.PGSQL.5432" "$T/proxy.log"; }
proxy_pid=$PROXY_PID
track_pid "$proxy_pid"
read -r -t 30 proxy_port <&"${PROXY[0]}" || { echo "Bail out! the proxy did not start"; exit 1; }
export PUSH_DSN="host=127.0.0.1 port=$proxy_port dbname=push user=push_web"
export PUSH_LISTENER_IDLE=$IDLE PUSH_LISTENER_TIMEOUT=$TIMEOUT
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
PUSH_WS=$top_builddir/ws/push-ws
if [ -x "$PUSH_WS" ]; then
    WS_PORT=$(free_port)
    "$PUSH_WS" --bind 127.0.0.1 --port "$WS_PORT" >"$T/push-ws.log" 2>&1 &
    track_pid $!
    wait_for curl -sf -o /dev/null "http://127.0.0.1:$WS_PORT/push/ws/metrics" ||
        { cat "$T/push-ws.log" >&2; echo "Bail out! push-ws did not start"; exit 1; }
fi

# events KIND: the flow numbers the proxy logged for KIND (accept, listen, freeze, close).
events() { awk -v k="$1" '$1 == k { print $2 }' "$T/proxy.log"; }
has_event() { [ -n "$(events "$1")" ]; }
# push-poll's and push-api's (it listens for kicks), and push-ws's.
listeners=$([ -x "$PUSH_WS" ] && echo 3 || echo 2)
has_listeners() { [ "$(events listen | wc -l)" -ge "$listeners" ]; }
wait_for has_listeners
# (The proxy freezes the flows in whatever order their silence is noticed: compared sorted.)
first_listeners=$(events listen | sort -n | paste -sd,)
is "$(events listen | wc -l)" "$listeners" "each program's listener connects through the proxy (flows $first_listeners)"

# held_poll NAME: a poll "from now" on news, held: its headers come after 1 s held.
held_poll() {
    curl -s -D "$T/$1.head" -o "$T/$1.body" "$BASE/push/poll?appkey=$SUBSCRIBE_KEY&channel=news&timeout=50" &
    eval "$1_pid=\$!"
    wait_for test -s "$T/$1.head"
}

held_poll before
$PSQL -c "SELECT push.publish('$PUBLISH_KEY', 'news', 'heard')" >/dev/null
wait "$before_pid"
is "$(json '[m["content"] for m in j["messages"]]' <"$T/before.body")" "['heard']" \
    "through the proxy a held poll gets a message at once"

# sse_has TEXT: the SSE stream on channel sse has delivered TEXT.
sse_has() { grep -q "$1" "$T/sse.out"; }
if [ -x "$PUSH_WS" ]; then
    curl -s -N "http://127.0.0.1:$WS_PORT/push/sse?appkey=$SUBSCRIBE_KEY&channel=sse&since=sse:0" >"$T/sse.out" &
    track_pid $!
    $PSQL -c "SELECT push.publish('$PUBLISH_KEY', 'sse', 'heard')" >/dev/null
    wait_for sse_has heard
    ok $? "through the proxy an SSE stream gets a message"
fi

held_poll silent
kill -USR1 "$proxy_pid"
has_frozen() { [ "$(events freeze | wc -l)" -ge "$listeners" ]; }
wait_for has_frozen
is "$(events freeze | sort -n | paste -sd,)" "$first_listeners" "the proxy freezes the listeners' flows, and only them"
t0=$(date +%s%N)
$PSQL -c "SELECT push.publish('$PUBLISH_KEY', 'news', 'into the silence')" >/dev/null
[ -x "$PUSH_WS" ] && $PSQL -c "SELECT push.publish('$PUBLISH_KEY', 'sse', 'into the silence')" >/dev/null
wait "$silent_pid"
elapsed=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$(json '[m["content"] for m in j["messages"]]' <"$T/silent.body")" "['into the silence']" \
    "a poll held while the listener's flow went silent gets the message"
diag "delivered $elapsed ms after the publish (probe after ${IDLE} s of silence, given up ${TIMEOUT} s later)"
ok $(( elapsed < 30000 ? 0 : 1 )) "well before the poll's own 50 s timeout ($elapsed ms)"
if [ -x "$PUSH_WS" ]; then
    for _ in $(seq 300); do sse_has "into the silence" && break; sleep 0.1; done
    sse_has "into the silence"
    ok $? "an SSE stream open while push-ws's listener flow went silent gets the message"
fi
has_new_listeners() { [ "$(events listen | wc -l)" -ge $((2 * listeners)) ]; }
wait_for has_new_listeners
ok $? "each listener reconnected by itself on a new flow (LISTEN flows: $(events listen | paste -sd,))"
is "$(events close | grep -cxF "$(events freeze)")" 0 "while the frozen flows stay frozen (never closed)"
grep -q "no answer to a liveness probe" "$T/lighttpd/error.log" "$T/lighttpd/stderr.log" 2>/dev/null
ok $? "push-poll logs why it gave the listener up"
if [ -x "$PUSH_WS" ]; then
    grep -q "no answer to a liveness probe" "$T/push-ws.log"
    ok $? "so does push-ws"
fi

held_poll after
$PSQL -c "SELECT push.publish('$PUBLISH_KEY', 'news', 'live again')" >/dev/null
wait "$after_pid"
is "$(json '[m["content"] for m in j["messages"]]' <"$T/after.body")" "['live again']" \
    "the new listener delivers the next message"

tap_plan "$tap_count"
tap_done
