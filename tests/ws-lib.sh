# tests/ws-lib.sh: helpers for the push-ws tests, on top of tests/lib.sh: start and stop the
# sidecar on a free port, publish through SQL, and run the Python WebSocket helpers.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PUSH_WS="$top_builddir/ws/push-ws"
export PYTHONPATH="$top_srcdir/tests${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1  # nothing written into the source tree

# The checks every ws test needs before it starts anything.
ws_require() {
    [ -x "$PUSH_WS" ] || skip_all "ws/push-ws not built"
    $PY -c 'import websockets' 2>/dev/null || skip_all "python3-websockets not installed"
}

# start_ws [push-ws args...]: starts the sidecar on a free port (WS_PORT unless set) and waits
# until it answers. Sets WS_PID, WS_URL (ws://...) and WS_HTTP (http://...).
start_ws() {
    WS_PORT=${WS_PORT:-$(free_port)}
    mkdir -p "$T/ws"
    "$PUSH_WS" --bind 127.0.0.1 --port "$WS_PORT" "$@" >>"$T/ws/push-ws.log" 2>&1 &
    WS_PID=$!
    track_pid "$WS_PID"
    WS_URL="ws://127.0.0.1:$WS_PORT"
    WS_HTTP="http://127.0.0.1:$WS_PORT"
    wait_for curl -sf -o /dev/null "$WS_HTTP/push/ws/metrics" || { cat "$T/ws/push-ws.log" >&2; return 1; }
}

# stop_ws [SIGNAL]: signals the sidecar (TERM by default) and waits for it; sets WS_STATUS to
# its exit status.
stop_ws() {
    kill -"${1:-TERM}" "$WS_PID" 2>/dev/null
    WS_STATUS=0
    wait "$WS_PID" 2>/dev/null || WS_STATUS=$?
}

# publish CHANNEL CONTENT...: one push.publish() per content, each its own transaction.
publish() {
    local channel=$1 c
    shift
    for c in "$@"; do
        printf "SELECT push.publish('%s', '%s', '%s');\n" "$PUBLISH_KEY" "$channel" "$c"
    done | $PSQL >/dev/null
}

# publish_range CHANNEL FROM TO [PREFIX]: contents PREFIX<n> for n in FROM..TO, one transaction each.
publish_range() {
    local i
    for i in $(seq "$2" "$3"); do
        printf "SELECT push.publish('%s', '%s', '%s%d');\n" "$PUBLISH_KEY" "$1" "${4:-m}" "$i"
    done | $PSQL >/dev/null
}

# publish_paced CHANNEL TOTAL: contents n1..nTOTAL about 3 ms apart, one transaction each.
publish_paced() {
    local i
    for i in $(seq "$2"); do
        printf "SELECT push.publish('%s', '%s', 'n%d'); SELECT pg_sleep(0.003);\n" "$PUBLISH_KEY" "$1" "$i"
    done | $PSQL >/dev/null
}

# wait_seq CHANNEL N: waits (up to 10 s) until the channel's head in PostgreSQL reaches N.
wait_seq() {
    local _
    for _ in $(seq 200); do
        [ "$($PSQL -c "SELECT last_seq FROM push.channel WHERE name = '$1'" 2>/dev/null)" -ge "$2" ] 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# wait_line FILE TEXT: waits (up to 10 s) for a line starting with TEXT in FILE.
wait_line() {
    local _
    for _ in $(seq 100); do grep -q "^$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

# tap_checks FILE: one TAP line per "ok|not ok<TAB>description" line that the Python side of
# a test wrote to FILE, a diagnostic per "diag<TAB>text" line (other lines are skipped); then
# its stderr, if any, as diagnostics.
tap_checks() {
    local result text
    while IFS=$'\t' read -r result text; do
        case $result in
        ok) ok 0 "$text" ;;
        "not ok") ok 1 "$text" ;;
        diag) diag "$text" ;;
        esac
    done <"$1"
    [ -s "$T/py.err" ] && diag "$(cat "$T/py.err")"
    return 0
}

# metric NAME: the value of one line of /push/ws/metrics.
metric() {
    curl -s "$WS_HTTP/push/ws/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# stream_start CLIENTS TOTAL: clients that follow channel "stream" from its start, reconnecting
# and resubscribing from their last seq, and a paced publisher of TOTAL messages.
stream_start() {
    $PY "$top_srcdir/tests/ws_client.py" "$WS_URL/push/ws?appkey=$SUBSCRIBE_KEY" stream "$1" "$2" \
        >"$T/result" 2>"$T/py.err" &
    STREAM_CLIENTS_PID=$!
    wait_line "$T/result" ready
    publish_paced stream "$2" &
    STREAM_PUBLISHER_PID=$!
}

# Waits for the publisher and the clients; their verdict lines are in $T/result.
stream_wait() {
    wait "$STREAM_PUBLISHER_PID"
    wait "$STREAM_CLIENTS_PID"
    [ -s "$T/py.err" ] && diag "$(cat "$T/py.err")"
}
