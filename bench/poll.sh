#!/usr/bin/env bash
# bench/poll.sh: long-poll fan-out through lighttpd and push-poll: N clients follow their
# cursors while messages are published every 20 ms; prints delivery latency (commit time in
# the message to receipt) and totals. Figures only; the clients are Python threads on the same
# machine, so at hundreds of clients their own cost is part of the latency.
. "$(dirname "$0")/../tests/lib.sh"
start_postgres >/dev/null || exit 1
start_lighttpd >/dev/null || exit 1
create_app bench

for clients in 1 100 400; do
$PY - "$BASE" "$SUBSCRIBE_KEY" "$PUBLISH_KEY" "$clients" <<'PY'
import json, sys, threading, time, urllib.parse, urllib.request
base, skey, pkey, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
channel, total = "poll-bench-%d" % n, 50
latencies, counts, lock = [], [0] * n, threading.Lock()
ready = threading.Barrier(n + 1)
def client(i):
    cursor = channel + ":0"
    first = True
    while counts[i] < total:
        q = urllib.parse.urlencode({"appkey": skey, "channel": channel, "since": cursor, "timeout": 20})
        if first:
            ready.wait()
            first = False
        with urllib.request.urlopen(base + "/push/poll?" + q, timeout=30) as r:
            j = json.load(r)
        now = time.time() * 1000
        with lock:
            for m in j["messages"]:
                latencies.append(now - m["time"])
        counts[i] += len(j["messages"])
        cursor = j["cursor"]
threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in threads: t.start()
ready.wait()
time.sleep(0.5)
start = time.time()
for k in range(total):
    data = urllib.parse.urlencode({"appkey": pkey, "channel": channel, "content": "m%d" % k}).encode()
    urllib.request.urlopen(base + "/push/publish", data, timeout=10).read()
    time.sleep(0.02)
for t in threads: t.join()
elapsed = time.time() - start
latencies.sort()
pick = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
print("%4d long-poll clients, %d messages every 20 ms: %6d deliveries in %.2f s, lost %d, "
      "latency p50 %.0f ms, p99 %.0f ms, max %.0f ms"
      % (n, total, len(latencies), elapsed, n * total - sum(counts), pick(0.5), pick(0.99), latencies[-1]))
PY
done
