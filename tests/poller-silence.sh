#!/usr/bin/env bash
# tests/poller-silence.sh: a listener whose flow goes silent (a NAT or firewall that dropped it
# without a word) is noticed and replaced by push-poll itself: its connections to PostgreSQL go
# through tests/tcp-proxy.py, which freezes the LISTEN flow and keeps it frozen; a poll held
# meanwhile gets the message published into the silence once the listener has reconnected.
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

# events KIND: the flow numbers the proxy logged for KIND (accept, listen, freeze, close).
events() { awk -v k="$1" '$1 == k { print $2 }' "$T/proxy.log"; }
has_event() { [ -n "$(events "$1")" ]; }
wait_for has_event listen
first_listener=$(events listen | head -1)
ok $([ -n "$first_listener" ]; echo $?) "push-poll's listener connects through the proxy (flow $first_listener)"

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

held_poll silent
kill -USR1 "$proxy_pid"
wait_for has_event freeze
is "$(events freeze | paste -sd,)" "$first_listener" "the proxy freezes the listener's flow, and only it"
t0=$(date +%s%N)
$PSQL -c "SELECT push.publish('$PUBLISH_KEY', 'news', 'into the silence')" >/dev/null
wait "$silent_pid"
elapsed=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$(json '[m["content"] for m in j["messages"]]' <"$T/silent.body")" "['into the silence']" \
    "a poll held while the listener's flow went silent gets the message"
diag "delivered $elapsed ms after the publish (probe after ${IDLE} s of silence, given up ${TIMEOUT} s later)"
ok $(( elapsed < 30000 ? 0 : 1 )) "well before the poll's own 50 s timeout ($elapsed ms)"
second_listener=$(events listen | tail -1)
ok $([ "$second_listener" != "$first_listener" ]; echo $?) \
    "the listener reconnected by itself on a new flow ($second_listener)"
is "$(events close | grep -cx "$first_listener")" 0 "while the frozen flow stays frozen (never closed)"
grep -q "no answer to a liveness probe" "$T/lighttpd/error.log" "$T/lighttpd/stderr.log" 2>/dev/null
ok $? "push-poll logs why it gave the listener up"

held_poll after
$PSQL -c "SELECT push.publish('$PUBLISH_KEY', 'news', 'live again')" >/dev/null
wait "$after_pid"
is "$(json '[m["content"] for m in j["messages"]]' <"$T/after.body")" "['live again']" \
    "the new listener delivers the next message"

tap_plan "$tap_count"
tap_done
