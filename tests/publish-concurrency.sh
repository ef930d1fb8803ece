#!/usr/bin/env bash
# tests/publish-concurrency.sh: 8 concurrent HTTP publishers x 500 messages on one channel give
# seqs 1..4000, each exactly once, and every publisher sees its own seqs rising.
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
tap_plan 5
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
create_app load

$PY - "$BASE" "$PUBLISH_KEY" >"$T/seqs" <<'PY'
import sys, threading, urllib.request, urllib.parse, json
base, key = sys.argv[1], sys.argv[2]
results, errors = {}, []
def publisher(n):
    seqs = []
    for i in range(500):
        data = urllib.parse.urlencode({"appkey": key, "channel": "race", "content": "p%d-%d" % (n, i)}).encode()
        try:
            with urllib.request.urlopen(base + "/push/publish", data, timeout=30) as r:
                seqs.append(json.load(r)["seq"])
        except Exception as e:
            errors.append(str(e))
    results[n] = seqs
threads = [threading.Thread(target=publisher, args=(n,)) for n in range(8)]
for t in threads: t.start()
for t in threads: t.join()
rising = all(all(a < b for a, b in zip(s, s[1:])) for s in results.values())
print(len(errors), sum(len(s) for s in results.values()), "rising" if rising else "not-rising")
print(" ".join(str(x) for s in results.values() for x in s))
PY
read -r errors total rising <"$T/seqs"
is "$errors" 0 "no publish failed"
is "$total" 4000 "4000 publishes answered"
is "$rising" rising "each publisher's seqs rise in the order it published"
is "$(sed -n 2p "$T/seqs" | tr ' ' '\n' | sort -n | uniq | awk 'NR==1{min=$1} {n++; max=$1} END{print n, min, max}')" "4000 1 4000" \
   "answered seqs are exactly 1..4000"
is "$($PSQL -c "SELECT count(*), count(DISTINCT seq), min(seq), max(seq), max(c.last_seq) FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.name = 'race'")" \
   "4000|4000|1|4000|4000" "stored rows are seqs 1..4000 once each, last_seq 4000"
tap_done
