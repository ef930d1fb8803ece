#!/usr/bin/env bash
# tests/publish-group.sh: group commit in push-api: 32 concurrent publishers, some of their
# messages invalid, each get their own answer and seq; seqs stay dense; publishes share
# transactions; a transaction that fails for the database's reason answers 503 to every
# request in it and stores none of them.
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
tap_plan 13
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
create_app group "'{}'" false 100

# 32 publishers x 30 messages over room-0..9 and each publisher's own pub-N; every 7th message
# is over the app's 100-byte limit, every 11th has a bad channel name. One line per answer:
# publisher, index, channel, content, HTTP status, seq (or -), the answer's content.
$PY - "$HTTP_PORT" "$PUBLISH_KEY" >"$T/answers" 2>"$T/errors" <<'PY'
import http.client, json, sys, threading, urllib.parse
port, key = int(sys.argv[1]), sys.argv[2]
lines, lock = [], threading.Lock()
def publisher(n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(30):
        channel = "pub-%d" % n if i % 2 else "room-%d" % ((n + i) % 10)
        content = "p%d-%d" % (n, i)
        if i % 7 == 3:
            content = "x" * 101
        if i % 11 == 5:
            channel = "bad name"
        body = urllib.parse.urlencode({"appkey": key, "channel": channel, "content": content})
        try:
            conn.request("POST", "/push/publish", body, {"Content-Type": "application/x-www-form-urlencoded"})
            r = conn.getresponse()
            j = json.loads(r.read())
            line = "%d %d %s %s %d %s %s" % (n, i, channel.replace(" ", "_"), content, r.status,
                                             j.get("seq", "-"), j["content"].replace(" ", "_"))
        except Exception as e:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            line = "%d %d %s %s 0 - %s" % (n, i, channel.replace(" ", "_"), content, type(e).__name__)
        with lock:
            lines.append(line)
threads = [threading.Thread(target=publisher, args=(n,)) for n in range(32)]
for t in threads: t.start()
for t in threads: t.join()
print("\n".join(lines))
PY

is "$(wc -l <"$T/answers")" 960 "960 publishes answered"
is "$(awk '$5 == 0' "$T/answers" | wc -l)" 0 "no request failed on the way"
is "$(awk '$2 % 11 == 5 && !($5 == 400 && $7 ~ /^channel:/)' "$T/answers" | wc -l)" 0 \
   "each message with a bad channel got 400 naming channel"
is "$(awk '$2 % 11 != 5 && $2 % 7 == 3 && !($5 == 413 && $7 == "content:_101_bytes_exceeds_the_limit_of_100")' "$T/answers" |
      wc -l)" 0 "each oversized message got its own 413"
is "$(awk '$2 % 11 != 5 && $2 % 7 != 3 && !($5 == 200 && $6 ~ /^[0-9]+$/)' "$T/answers" | wc -l)" 0 \
   "every valid message got 200 with a seq, whatever its neighbours in the transaction"
awk '$5 == 200 {print $3, $6}' "$T/answers" | sort -k1,1 -k2,2n >"$T/answered"
is "$(awk '{ if ($2 != ++n[$1]) bad++ } END { print bad + 0, length(n) }' "$T/answered")" "0 42" \
   "each of the 42 channels' answered seqs are exactly 1..n, each once"
is "$(awk '$5 == 200 && $3 ~ /^pub-/ {print $1, $2, $6}' "$T/answers" | sort -k1,1n -k2,2n |
      awk '{ if ($3 != ++n[$1]) bad++ } END { print bad + 0 }')" 0 \
   "each publisher's own channel got seqs 1, 2, 3.. in the order it published"
$PSQL -F ' ' -c "SELECT c.name, m.seq, m.content FROM push.message m JOIN push.channel c ON c.id = m.channel_id
                 ORDER BY c.name, m.seq" >"$T/stored"
is "$(awk '$5 == 200 {print $3, $6, $4}' "$T/answers" | sort | md5sum)" "$(sort "$T/stored" | md5sum)" \
   "the stored rows are exactly the answered (channel, seq, content), nothing refused is stored"
read -r rows transactions <<<"$($PSQL -F ' ' -c "SELECT count(*), count(DISTINCT xmin::text) FROM push.message")"
diag "$rows messages stored in $transactions transactions"
ok "$([ "$transactions" -lt "$rows" ]; echo $?)" "concurrent publishes share transactions"

# A failed transaction: a session holds the row lock of channel gate, so every group that
# holds a gate message waits; each such waiting backend is terminated. Free channels are
# published at the same time and may share those transactions.
is "$(http POST "$BASE/push/publish" -d "appkey=$PUBLISH_KEY&channel=gate&content=first" | cut -d' ' -f1)" 200 \
   "channel gate has its first message"
mkfifo "$T/locker"
$PSQL <"$T/locker" >"$T/locker.out" 2>&1 &
track_pid $!
exec 3>"$T/locker"
echo "BEGIN; SELECT id FROM push.channel WHERE name = 'gate' FOR UPDATE;" >&3
gate_locked() {
    [ "$($PSQL -c "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE a.usename = 'postgres' AND l.locktype = 'transactionid' AND a.state = 'idle in transaction'")" = 1 ]
}
wait_for gate_locked || diag "the locking session did not start: $(cat "$T/locker.out")"
pids=()
for i in $(seq 10); do
    curl -s -o "$T/gate-$i" -w '%{http_code} %header{retry-after}\n' -d "appkey=$PUBLISH_KEY&channel=gate&content=g$i" \
        "$BASE/push/publish" >"$T/gate-$i.status" &
    pids+=($!)
    curl -s -o "$T/free-$i" -w '%{http_code}\n' -d "appkey=$PUBLISH_KEY&channel=free-$i&content=f$i" \
        "$BASE/push/publish" >"$T/free-$i.status" &
    pids+=($!)
done
# Until every request is answered: end each publishing transaction that waits for the lock.
while kill -0 "${pids[@]}" 2>/dev/null; do
    $PSQL -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE usename = 'push_web' AND wait_event_type = 'Lock'" >/dev/null
    sleep 0.1
done
wait "${pids[@]}"
echo "COMMIT;" >&3
exec 3>&-
is "$(cat "$T"/gate-*.status | sort | uniq -c | awk '{print $1, $2, $3}')" "10 503 5" \
   "every request in a failed transaction got 503 with Retry-After"
free_ok=0 free_stored=0 free_mismatch=0
for i in $(seq 10); do
    status=$(cat "$T/free-$i.status")
    stored=$($PSQL -c "SELECT count(*) FROM push.message m JOIN push.channel c ON c.id = m.channel_id
                       WHERE c.name = 'free-$i' AND m.content = 'f$i'")
    [ "$status" = 200 ] && free_ok=$((free_ok + 1))
    [ "$stored" = 1 ] && free_stored=$((free_stored + 1))
    { [ "$status" = 200 ] && [ "$stored" = 1 ]; } || { [ "$status" = 503 ] && [ "$stored" = 0 ]; } ||
        free_mismatch=$((free_mismatch + 1))
done
diag "free channels: $free_ok of 10 answered 200 (the others shared a failed transaction)"
is "$free_mismatch" 0 "a message sharing a failed transaction got 503 and is not stored; the others 200 and stored"
is "$($PSQL -c "SELECT c.last_seq || ' ' || count(m.seq) FROM push.channel c LEFT JOIN push.message m ON m.channel_id = c.id
                WHERE c.name = 'gate' GROUP BY c.last_seq")" "1 1" "nothing of the failed transactions was written"
tap_done
