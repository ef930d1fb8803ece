#!/usr/bin/env bash
# bench/publish.sh: publish and history throughput through lighttpd and push-api (ab), and
# publish from SQL (pgbench); prints figures only.
. "$(dirname "$0")/../tests/lib.sh"
command -v ab >/dev/null || { echo "ab (apache2-utils) not installed"; exit 0; }
start_postgres >/dev/null || exit 1
start_lighttpd >/dev/null || exit 1
create_app bench
printf 'appkey=%s&channel=bench&content=hello%%20world' "$PUBLISH_KEY" >"$T/post"

for c in 1 8 32; do
    ab -q -n 4000 -c $c -p "$T/post" -T application/x-www-form-urlencoded "$BASE/push/publish" >"$T/ab" 2>&1
    # ab counts answers whose length differs from the first as failed: seqs grow in digits.
    printf 'HTTP publish, %2d concurrent: %8s req/s, mean %s ms, p99 %s ms, non-2xx %s, errors %s\n' $c \
        "$(awk '/Requests per second/ {print $4}' "$T/ab")" "$(awk '/Time per request/ {print $4; exit}' "$T/ab")" \
        "$(awk '/ 99%/ {print $2}' "$T/ab")" "$(awk '/Non-2xx responses/ {n=$3} END {print n+0}' "$T/ab")" \
        "$(awk -F'[ ,)]+' '/Connect:.*Exceptions/ {n = $3 + $5 + $9} END {print n + 0}' "$T/ab")"
done
ab -q -n 4000 -c 8 "$BASE/push/history?appkey=$SUBSCRIBE_KEY&channel=bench&limit=20" >"$T/ab" 2>&1
printf 'HTTP history (20 rows), 8 concurrent: %s req/s, p99 %s ms\n' \
    "$(awk '/Requests per second/ {print $4}' "$T/ab")" "$(awk '/ 99%/ {print $2}' "$T/ab")"

echo "SELECT push.publish('$PUBLISH_KEY', 'sql-' || (random() * 100)::int, 'from sql');" >"$T/pgbench.sql"
pgbench -n -h "$PG_SOCKET_DIR" -U push -c 8 -j 2 -T 5 -f "$T/pgbench.sql" push 2>/dev/null |
    awk '/^tps/ {printf "SQL push.publish over 100 channels, 8 clients: %s tps\n", $3}'
echo "SELECT push.publish('$PUBLISH_KEY', 'hot', 'from sql');" >"$T/pgbench.sql"
pgbench -n -h "$PG_SOCKET_DIR" -U push -c 8 -j 2 -T 5 -f "$T/pgbench.sql" push 2>/dev/null |
    awk '/^tps/ {printf "SQL push.publish on one hot channel, 8 clients: %s tps\n", $3}'
