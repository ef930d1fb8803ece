# tests/limits-common.sh: the web server's own limits (conf/README.md), sourced after
# tests/lib.sh and tests/poll-common.sh by one script per hosting: connections per client
# address (PUSH_MAX_CONNS_PER_IP) and slow clients (slowloris), while a poll held 25 s is left
# alone. Each part uses 127.0.0.x source addresses of its own, so the per-address limit of
# one part never touches another.

SLOW_CLIENT="$PY $top_srcdir/tests/slow-client.py"
LIMIT=5
export PUSH_MAX_CONNS_PER_IP=$LIMIT

# Starts a poll from 127.0.0.3 that nothing answers before its timeout of 25 s.
limits_hold_start() {
    held_t0=$(now_ms)
    curl -s --interface 127.0.0.3 -o "$T/held.body" -w '%{http_code}' \
        "$BASE/push/poll?appkey=$S&channel=quiet&timeout=25" >"$T/held.status" &
    held_pid=$!
}

limits_hold_check() {
    wait "$held_pid"
    local t=$(( $(now_ms) - held_t0 ))
    is "$(cat "$T/held.status") $(json 'j["cursor"], len(j["messages"])' <"$T/held.body" 2>/dev/null)" \
        "200 quiet:0 0" "a poll held 25 s comes back whole: 200, its cursor, no messages"
    ok $(( t >= 24000 ? 0 : 1 )) "at its timeout, not cut before ($t ms)"
}

# connections_from ADDRESS: established connections from ADDRESS to the web server.
connections_from() {
    ss -Htn state established "( dport = :$HTTP_PORT )" | awk -v a="$1:" 'index($3, a) == 1' | wc -l
}

# limits_per_address_case REFUSAL: LIMIT polls held from 127.0.0.1 fill its allowance, one
# more connection from it is refused (REFUSAL: what curl reports, 503 or 000 for a connection
# closed unanswered) while 127.0.0.2 is served, and 127.0.0.1 is served again once its polls
# are answered.
limits_per_address_case() {
    local refusal=$1 i pids=() r
    : >"$T/full.status"
    for i in $(seq "$LIMIT"); do
        curl -s --interface 127.0.0.1 -o /dev/null -w '%{http_code}\n' \
            "$BASE/push/poll?appkey=$S&channel=full&since=full:0&timeout=20" >>"$T/full.status" &
        pids+=($!)
    done
    for _ in $(seq 100); do [ "$(connections_from 127.0.0.1)" -ge "$LIMIT" ] && break; sleep 0.1; done
    sleep 1
    r=$(curl -s --interface 127.0.0.1 -o "$T/refused.body" -w '%{http_code}' "$BASE/push/status")
    is "$r" "$refusal" "$LIMIT polls held from 127.0.0.1: one more connection from it is refused ($refusal)"
    if [ "$refusal" = 503 ]; then
        is "$(cat "$T/refused.body")" '{"code":503,"content":"too many connections from this address"}' \
            "the 503 says why, in the API's JSON"
    else
        like "$(grep -c 'QS_SrvMaxConnPerIP rule: max=5' "$APACHE_LOG_DIR/error.log")" '^[1-9]' \
            "mod_qos logs the refusal"
    fi
    r=$(curl -s --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$BASE/push/status")
    is "$r" 200 "meanwhile 127.0.0.2 is served"
    $PSQL -c "SELECT push.publish('$P', 'full', 'done')" >/dev/null
    wait "${pids[@]}"
    is "$(sort "$T/full.status" | uniq -c | awk '{print $1, $2}')" "$LIMIT 200" "the $LIMIT held polls are answered 200"
    r=000
    for _ in $(seq 20); do
        r=$(curl -s --interface 127.0.0.1 -o /dev/null -w '%{http_code}' "$BASE/push/status")
        [ "$r" = 200 ] && break
        sleep 0.5
    done
    is "$r" 200 "then 127.0.0.1 is served again"
}

# limits_slow_case TRICKLE: a request whose header stops half-way is dropped within 20 s;
# TRICKLE yes: so is one whose header goes on a byte every 2 s, never ending.
limits_slow_case() {
    local trickle=$1 silent_pid trickle_pid
    $SLOW_CLIENT 127.0.0.1 "$HTTP_PORT" 127.0.0.4 0 25 >"$T/silent.json" &
    silent_pid=$!
    if [ "$trickle" = yes ]; then
        $SLOW_CLIENT 127.0.0.1 "$HTTP_PORT" 127.0.0.5 2 25 >"$T/trickle.json" &
        trickle_pid=$!
    fi
    wait "$silent_pid"
    diag "silent: $(cat "$T/silent.json")"
    is "$(json 'j["closed"] and j["after"] < 20' <"$T/silent.json")" True \
        "an unfinished request header, then silence: the server closes within 20 s"
    if [ "$trickle" = yes ]; then
        wait "$trickle_pid"
        diag "trickle: $(cat "$T/trickle.json")"
        is "$(json 'j["closed"] and j["after"] < 20' <"$T/trickle.json")" True \
            "a request header that goes on a byte every 2 s: the server closes within 20 s"
    fi
}

# limits_body_case: a body over the largest the programs take (4 MB) is refused 413 from its
# Content-Length, before it is received (or spooled): the head of a 300 MB POST and 64 kB of
# its body get the answer, from 127.0.0.6.
limits_body_case() {
    local status
    status=$($PY - "$HTTP_PORT" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), source_address=("127.0.0.6", 0))
s.settimeout(60)
s.sendall(b"POST /push/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
          b"Content-Length: 314572800\r\n\r\n" + b"x" * 65536)
try:
    print(s.recv(4096).split(b"\r\n", 1)[0].decode() or "closed")
except socket.timeout:
    print("no answer in 60 s")
PYEOF
)
    like "$status" '^HTTP/1.1 413' "a 300 MB POST is refused 413 after 64 kB of it ($status)"
}
