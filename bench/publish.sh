#!/usr/bin/env bash
# bench/publish.sh: durable publish throughput through lighttpd and push-api (single and batch,
# bench/publish-load), Nchan's in-memory publish rate in the same run, history (ab) and
# publish from SQL (pgbench); prints figures only.
#
# PostgreSQL runs with fsync, synchronous_commit and full_page_writes on (the tests turn them
# off): an answered publish is on disk. BENCH_SECONDS (default 5) is each workload's length.
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/nchan.sh"
SECONDS_EACH=${BENCH_SECONDS:-5}
LOAD=${PUBLISH_LOAD:-$top_builddir/bench/publish-load}
[ -x "$LOAD" ] || { echo "bench/publish-load not built (make bench builds it)"; exit 1; }
PG_EXTRA_OPTS="-c fsync=on -c synchronous_commit=on -c full_page_writes=on ${PG_EXTRA_OPTS:-}"
start_postgres >/dev/null || exit 1
start_lighttpd >/dev/null || exit 1
create_app bench

# cpu_ticks PID...: CPU time (clock ticks) of each process, its live children and the children
# it has reaped: every server process of one side (lighttpd, push-api, PostgreSQL; nginx).
cpu_ticks() {
    local pid total=0 child
    for pid in "$@"; do
        total=$((total + $(awk '{print $14 + $15 + $16 + $17}' /proc/"$pid"/stat)))
        for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
            total=$((total + $(awk '{print $14 + $15}' /proc/"$child"/stat 2>/dev/null || echo 0)))
        done
    done
    echo "$total"
}

# load NAME PIDS ARGS...: runs publish-load, keeps its JSON as $T/NAME with the servers' CPU
# per message (PIDS: the server side's processes, comma-separated) added as cpu_us.
load() {
    local name=$1 pids=${2//,/ } before after
    shift 2
    before=$(cpu_ticks $pids)
    "$LOAD" --seconds "$SECONDS_EACH" --channels 1000 --size 64 "$@" >"$T/$name.raw" 2>"$T/$name.txt" ||
        { cat "$T/$name.txt"; return 1; }
    after=$(cpu_ticks $pids)
    $PY -c "import json,sys,os; j=json.load(open(sys.argv[1])); t=int(sys.argv[2]); \
j['cpu_us']=round(t*1e6/os.sysconf('SC_CLK_TCK')/max(j['messages'],1),1); print(json.dumps(j))" \
        "$T/$name.raw" $((after - before)) >"$T/$name"
}
figure() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$T/$1" "$2"; }

PUSH_PIDS="$(cat "$T/lighttpd/lighttpd.pid"),$(head -1 "$PGDATA_DIR/postmaster.pid")"
load single "$PUSH_PIDS" --port "$HTTP_PORT" --key "$PUBLISH_KEY" --connections 32
read -r single_rows single_transactions <<<"$($PSQL -F ' ' -c "SELECT count(*), count(DISTINCT xmin::text) FROM push.message")"
load batch "$PUSH_PIDS" --port "$HTTP_PORT" --key "$PUBLISH_KEY" --connections 8 --batch 100
if command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] && start_nchan; then
    load nchan "$NCHAN_PID" --port "${NCHAN_BASE##*:}" --path /pub --kind nchan --connections 32
fi
# CPU is that of every server process (push: lighttpd, push-api, PostgreSQL; Nchan: nginx) per
# message published: on a shared machine it moves less than the rates do.
printf 'HTTP publish, 32 connections, 64-byte messages over 1,000 channels: %s msg/s, p50 %s ms, p99 %s ms, failed %s, CPU %s us/msg\n' \
    "$(figure single messages_per_second)" "$(figure single p50_ms)" "$(figure single p99_ms)" "$(figure single failed)" \
    "$(figure single cpu_us)"
printf 'HTTP batch publish, 8 connections, 100 messages a request: %s msg/s, p50 %s ms, p99 %s ms, failed %s, CPU %s us/msg\n' \
    "$(figure batch messages_per_second)" "$(figure batch p50_ms)" "$(figure batch p99_ms)" "$(figure batch failed)" \
    "$(figure batch cpu_us)"
if [ -s "$T/nchan" ]; then
    printf 'Nchan (in memory) publish, 32 connections, same messages: %s msg/s, p50 %s ms, p99 %s ms, CPU %s us/msg; push / Nchan: rate %s, CPU %s\n' \
        "$(figure nchan messages_per_second)" "$(figure nchan p50_ms)" "$(figure nchan p99_ms)" "$(figure nchan cpu_us)" \
        "$($PY -c "print('%.3f' % ($(figure single messages_per_second) / $(figure nchan messages_per_second)))")" \
        "$($PY -c "print('%.1f' % ($(figure single cpu_us) / $(figure nchan cpu_us)))")"
fi
echo "single publishes stored: $single_rows messages in $single_transactions transactions"

if command -v ab >/dev/null; then
    ab -q -n 4000 -c 8 "$BASE/push/history?appkey=$SUBSCRIBE_KEY&channel=bench-1&limit=20" >"$T/ab" 2>&1
    printf 'HTTP history (20 rows), 8 concurrent: %s req/s, p99 %s ms\n' \
        "$(awk '/Requests per second/ {print $4}' "$T/ab")" "$(awk '/ 99%/ {print $2}' "$T/ab")"
fi

echo "SELECT push.publish('$PUBLISH_KEY', 'sql-' || (random() * 100)::int, 'from sql');" >"$T/pgbench.sql"
pgbench -n -h "$PG_SOCKET_DIR" -U push -c 8 -j 2 -T "$SECONDS_EACH" -f "$T/pgbench.sql" push 2>/dev/null |
    awk '/^tps/ {printf "SQL push.publish over 100 channels, 8 clients: %s tps\n", $3}'
echo "SELECT push.publish('$PUBLISH_KEY', 'hot', 'from sql');" >"$T/pgbench.sql"
pgbench -n -h "$PG_SOCKET_DIR" -U push -c 8 -j 2 -T "$SECONDS_EACH" -f "$T/pgbench.sql" push 2>/dev/null |
    awk '/^tps/ {printf "SQL push.publish on one hot channel, 8 clients: %s tps\n", $3}'
