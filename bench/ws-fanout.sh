#!/usr/bin/env bash
# bench/ws-fanout.sh: push-ws fan-out, publish (commit) to receive, for 1 to 5,000 WebSocket
# subscribers of one channel (tests/ws-load clients, the sidecar with 2 workers); prints
# figures only.
. "$(dirname "$0")/../tests/ws-lib.sh"
LOAD="$top_builddir/tests/ws-load"
[ -x "$LOAD" ] || { echo "tests/ws-load not built (make check builds it)"; exit 0; }
ulimit -n 20000 2>/dev/null
start_postgres >/dev/null || exit 1
create_app bench
start_ws --workers 2 >/dev/null || exit 1
run=0

# fanout CLIENTS PROCESSES MESSAGES PAUSE: CLIENTS subscribers in PROCESSES load clients, then
# MESSAGES publishes PAUSE seconds apart (0: one burst).
fanout() {
    local clients=$1 procs=$2 messages=$3 pause=$4 channel="bench$((run += 1))" pids=() i
    for i in $(seq "$procs"); do
        "$LOAD" 127.0.0.1 "$WS_PORT" "/push/ws?appkey=$SUBSCRIBE_KEY" "$channel" $((clients / procs)) \
            "$messages" "127.0.0.$i" 120 >"$T/load.$i" 2>/dev/null &
        pids+=($!)
    done
    for _ in $(seq 600); do
        [ "$(cat "$T"/load.[0-9]* 2>/dev/null | grep -c '^ready')" = "$procs" ] && break
        sleep 0.1
    done
    local t0 t1
    t0=$(date +%s.%N)
    for i in $(seq "$messages"); do
        printf "SELECT push.publish('%s', '%s', 'message %d');\n" "$PUBLISH_KEY" "$channel" "$i"
        [ "$pause" = 0 ] || printf "SELECT pg_sleep(%s);\n" "$pause"
    done | $PSQL >/dev/null
    for i in "${pids[@]}"; do wait "$i"; done
    t1=$(date +%s.%N)
    awk -v clients="$clients" -v messages="$messages" -v pause="$pause" -v secs="$(echo "$t1 - $t0" | bc)" '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
          got += v["received"]; lost += v["lost"]
          if (v["latency_ms_p50"] > p50) p50 = v["latency_ms_p50"]
          if (v["p99"] > p99) p99 = v["p99"]
          if (v["max"] > max) max = v["max"] }
        END { printf "%5d subscribers, %4d messages %s: %7d deliveries in %5.2f s (%7.0f/s), lost %d, latency p50 %d ms, p99 %d ms, max %d ms\n",
              clients, messages, pause == 0 ? "in one burst    " : "every " pause * 1000 " ms", got, secs, got / secs, lost, p50, p99, max }' \
        <(grep -h clients= "$T"/load.[0-9]*)
    rm -f "$T"/load.[0-9]*
}

fanout 1 1 20 0.01 >/dev/null  # warm-up: prepared statements, first channel
fanout 1 1 200 0.01
fanout 1000 2 100 0.01
fanout 5000 5 100 0.01
fanout 5000 5 100 0
