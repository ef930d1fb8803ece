#!/usr/bin/env bash
# bench/ws-fanout.sh: WebSocket fan-out of push-ws (PostgreSQL publish to receive) next to Nchan
# (nginx, in memory) in the same run: subscribers of one channel held by tests/ws-load clients
# on 127.0.0.x, messages published at a fixed rate; prints deliveries, loss, latency, server
# CPU per delivery and memory per idle subscriber, the push/Nchan ratios, and one JSON line.
#
# push-ws runs BENCH_WS_WORKERS workers (default 2) and Nchan 2 nginx workers. push's server
# CPU counts push-ws and every PostgreSQL process (the publish included); Nchan's counts nginx.
# Memory per subscriber is the growth of the servers' PSS while the subscribers connect,
# divided by their number.
# BENCH_WS_SIZES (default "1 5000") and BENCH_WS_MESSAGES (default 50, at 10 a second) size it.
# NO_NCHAN=1 leaves Nchan out (its 2 workers cannot hold more than the open-files limit each).
# Every figure comes from this run on this machine: compare rows, not machines.
. "$(dirname "$0")/../tests/ws-lib.sh"
. "$top_srcdir/scripts/setup.sh"
. "$top_srcdir/bench/nchan.sh"

LOAD="$top_builddir/tests/ws-load"
[ -x "$LOAD" ] || { echo "tests/ws-load not built (make bench builds it)"; exit 1; }
SIZES=${BENCH_WS_SIZES:-"1 5000"}
MESSAGES=${BENCH_WS_MESSAGES:-50}
WORKERS=${BENCH_WS_WORKERS:-2}
PAUSE=0.1
NCHAN_WORKERS=2
ulimit -n "$(ulimit -Hn)" 2>/dev/null
R=$T/results
mkdir -p "$R"

# tree PID...: PID and every process below it.
tree() {
    ps -e -o pid=,ppid= | awk -v roots="$*" '
        BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) want[r[i]] = 1 }
        { parent[$1] = $2 }
        END { do { more = 0; for (p in parent) if (!(p in want) && (parent[p] in want)) { want[p] = 1; more = 1 } } while (more)
              for (p in want) print p }'
}

# ticks PID...: user + system clock ticks of those processes and all below them.
ticks() {
    local p sum=0 t
    for p in $(tree "$@"); do
        t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
        sum=$((sum + ${t:-0}))
    done
    echo "$sum"
}

# pss PID...: proportional set size in kB of those processes and all below them.
pss() {
    local p sum=0 k
    for p in $(tree "$@"); do
        k=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
        sum=$((sum + ${k:-0}))
    done
    echo "$sum"
}

# publish_push CHANNEL: MESSAGES publishes through PostgreSQL, PAUSE apart.
publish_push() {
    local i
    for i in $(seq "$MESSAGES"); do
        printf "SELECT push.publish('%s', '%s', 'message %d');\nSELECT pg_sleep(%s);\n" \
            "$PUBLISH_KEY" "$1" "$i" "$PAUSE"
    done | $PSQL >/dev/null
}

# publish_nchan CHANNEL: the same to Nchan over one keep-alive connection; the content carries
# the seq and the time it was sent.
publish_nchan() {
    python3 - "${NCHAN_BASE##*:}" "$1" "$MESSAGES" "$PAUSE" <<'PY'
import http.client, socket, sys, time
port, channel, messages, pause = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
conn = http.client.HTTPConnection("127.0.0.1", port)
conn.connect()
conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(1, messages + 1):
    body = '{"seq":%d,"time":%d}' % (i, time.time() * 1000)
    conn.request("POST", "/pub/" + channel, body)
    conn.getresponse().read()
    time.sleep(pause)
PY
}

# fanout TARGET CLIENTS OUT: CLIENTS subscribers (1,000 per source address), then the messages;
# writes one line of key=value figures to OUT.
run=0
fanout() {
    local target=$1 clients=$2 out=$3 channel="bench$((run += 1))" pids=() procs i roots path port arg
    procs=$(( (clients + 999) / 1000 ))
    case $target in
    push) roots="$WS_PID $PG_PID" port=$WS_PORT path="/push/ws?appkey=$SUBSCRIBE_KEY" arg=$channel ;;
    nchan) roots=$NCHAN_PID port=${NCHAN_BASE##*:} path="/ws/$channel" arg=- ;;
    esac
    local mem0 mem1 cpu0 cpu1 secs
    # Seconds to subscribe everyone (1 per 100 subscribers, at least 120) and for the clients
    # to end after that (the messages on top).
    secs=$((clients / 100 > 120 ? clients / 100 : 120))
    mem0=$(pss $roots)
    for i in $(seq "$procs"); do
        "$LOAD" 127.0.0.1 "$port" "$path" "$arg" $((clients / procs)) "$MESSAGES" "127.0.$((run % 200 + 1)).$i" \
            $((secs + MESSAGES)) >"$T/load.$i" 2>"$T/load.$i.err" &
        pids+=($!)
    done
    local deadline=$((SECONDS + secs))
    while [ "$SECONDS" -lt "$deadline" ]; do
        [ "$(cat "$T"/load.[0-9]* 2>/dev/null | grep -c '^ready')" = "$procs" ] && break
        # Clients that gave up (their summary line is out) will not get ready.
        [ "$(cat "$T"/load.[0-9]* 2>/dev/null | grep -c '^clients=')" = 0 ] || break
        sleep 0.1
    done
    sleep 1
    mem1=$(pss $roots)
    cpu0=$(ticks $roots)
    "publish_$target" "$channel"
    for i in "${pids[@]}"; do wait "$i"; done
    cpu1=$(ticks $roots)
    awk -v target="$target" -v clients="$clients" -v messages="$MESSAGES" -v hz="$(getconf CLK_TCK)" \
        -v cpu=$((cpu1 - cpu0)) -v mem=$((mem1 - mem0)) '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
          got += v["received"]; lost += v["lost"]; dup += v["duplicate"]
          if (v["latency_ms_p50"] > p50) p50 = v["latency_ms_p50"]
          if (v["p99"] > p99) p99 = v["p99"]
          if (v["max"] > max) max = v["max"] }
        END { printf "target=%s subscribers=%d expected=%d delivered=%d lost=%d duplicate=%d p50_ms=%d p99_ms=%d max_ms=%d cpu_us=%.1f pss_kb=%.2f\n",
              target, clients, clients * messages, got, lost, dup, p50, p99, max,
              got ? cpu * 1e6 / hz / got : 0, clients ? mem / clients : 0 }' \
        <(grep -h clients= "$T"/load.[0-9]* /dev/null) >"$out"
    rm -f "$T"/load.[0-9]*
}

if ! setup_packages nginx-light libnginx-mod-nchan >"$T/packages.log" 2>&1 ||
    [ ! -f /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
    echo "nginx-light or libnginx-mod-nchan could not be installed: no Nchan column" >&2
    NO_NCHAN=1
fi
start_postgres >/dev/null || exit 1
create_app bench || exit 1
start_ws --workers "$WORKERS" >/dev/null || exit 1
PG_PID=$(head -1 "$PGDATA_DIR/postmaster.pid")
targets=push
if [ -z "${NO_NCHAN:-}" ]; then
    start_nchan || exit 1
    targets="push nchan"
fi

# Warm-up (not reported): prepared statements, the key cache, first connections.
for t in $targets; do fanout "$t" 1 "$T/warm.$t"; done
for n in $SIZES; do
    for t in $targets; do fanout "$t" "$n" "$R/$t.$n"; done
done

printf '\nWebSocket fan-out, %d messages at 10 a second (push-ws %d workers; Nchan 2 nginx workers)\n\n' "$MESSAGES" "$WORKERS"
printf '| subscribers | target | delivered / expected | lost | dup | p50 ms | p99 ms | CPU µs per delivery | PSS KiB per subscriber |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
json="{\"bench\":\"ws-fanout\",\"messages\":$MESSAGES,\"runs\":["
sep=
for n in $SIZES; do
    for t in $targets; do
        awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
               printf "| %s | %s | %s / %s | %s | %s | %s | %s | %s | %s |\n", v["subscribers"], v["target"],
                      v["delivered"], v["expected"], v["lost"], v["duplicate"], v["p50_ms"], v["p99_ms"], v["cpu_us"], v["pss_kb"] }' "$R/$t.$n"
        json="$json$sep$(awk '{ printf "{"; for (i = 1; i <= NF; i++) { split($i, kv, "="); printf "%s\"%s\":%s", (i > 1 ? "," : ""), kv[1], (kv[1] == "target" ? "\"" kv[2] "\"" : kv[2]) } printf "}" }' "$R/$t.$n")"
        sep=,
    done
    if [ -f "$R/nchan.$n" ]; then
        paste -d' ' "$R/push.$n" "$R/nchan.$n" | awk -v n="$n" '
            { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] in a) b[kv[1]] = kv[2]; else a[kv[1]] = kv[2] } }
            END { printf "| %s | push / Nchan | | | | %s | %s | %s | %s |\n", n,
                  (b["p50_ms"] > 0 ? sprintf("%.2f", a["p50_ms"] / b["p50_ms"]) : "-"),
                  (b["p99_ms"] > 0 ? sprintf("%.2f", a["p99_ms"] / b["p99_ms"]) : "-"),
                  (b["cpu_us"] > 0 ? sprintf("%.2f", a["cpu_us"] / b["cpu_us"]) : "-"),
                  (b["pss_kb"] > 0 ? sprintf("%.2f", a["pss_kb"] / b["pss_kb"]) : "-") }'
    fi
done
echo
echo "$json]}"
