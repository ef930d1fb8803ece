#!/usr/bin/env bash
# bench/poll.sh: long-poll fan-out of this project (lighttpd + push-poll + PostgreSQL) next to
# Nchan (nginx, one worker) and the floor (lighttpd + bench/fcgi-const, a constant reply), all
# driven by tests/poll-load from one epoll loop on 127.0.0.x; then held polls' memory and
# abandoned polls. Prints one table and one JSON line.
#
# Nchan gets one nginx worker, as lighttpd is one event loop; push-poll and PostgreSQL are
# extra processes on push's side, and their CPU is counted. BENCH_SECONDS (default 10) is each
# workload's length, NCHAN_WORKERS (default 1) nginx's workers. Every figure comes from this
# run on this machine: compare rows, not machines.
. "$(dirname "$0")/../tests/lib.sh"
. "$top_srcdir/bench/lib.sh"

SECONDS_EACH=${BENCH_SECONDS:-10}
RATE=10
SIZES="400 2000"
NCHAN_WORKERS=${NCHAN_WORKERS:-1}
LOAD="$top_builddir/tests/poll-load"
CONST="$top_builddir/bench/fcgi-const"
if [ ! -x "$LOAD" ] || [ ! -x "$CONST" ]; then
    echo "tests/poll-load or bench/fcgi-const not built (make bench builds them)"
    exit 1
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null
R=$T/results
mkdir -p "$R"

# child_pid PARENT NAME: the pid of PARENT's child called NAME.
child_pid() {
    local c
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        [ "$(cat /proc/"$c"/comm 2>/dev/null)" = "$2" ] && { echo "$c"; return 0; }
    done
    return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' /proc/"$1"/status; }

# log_summary LOG: its three most frequent messages (times and details cut), with counts.
log_summary() {
    sed -E 's/^[-0-9]+ [0-9:]+: //; s/(socket|for|write-offset|failed): .*/\1 .../' "$1" 2>/dev/null |
        grep -v 'server st' | sort | uniq -c | sort -rn | head -3
}

nchan_available || NO_NCHAN=1
start_postgres >/dev/null || exit 1
start_lighttpd >/dev/null || exit 1
create_app bench || exit 1
PUSH_PID=$(cat "$T/lighttpd/lighttpd.pid")
PG_PID=$(head -1 "$PGDATA_DIR/postmaster.pid")
PUSH_ROOTS="$PUSH_PID $PG_PID"
targets="push"
if [ -z "${NO_NCHAN:-}" ]; then
    start_nchan || exit 1
    targets="$targets nchan"
fi
start_floor || exit 1
targets="$targets floor"

# Warm-up (not reported): prepared statements, the key cache, first connections.
for t in $targets; do poll_follow "$t" 20 $RATE 1 "$T/warm.$t"; done

# Fan-out: the same subscribers, rate and length for every target; fresh channels each run.
for n in $SIZES; do
    for t in $targets; do poll_follow "$t" "$n" $RATE "$SECONDS_EACH" "$R/follow.$t.$n"; done
done
log_summary "$T/lighttpd/error.log" >"$R/push.log"

# Held polls: as many as one lighttpd can pass to one push-poll within the open-files limit.
# Each held poll is two of lighttpd's descriptors (the client and the FastCGI connection) and
# lighttpd stops accepting at 90% of server.max-fds: (0.9 x 20,000 - 400 spare) / 2 = 8,800.
# conf/lighttpd.conf's own connection cap is lifted for this instance only; the publish goes
# through the first lighttpd so that it cannot queue behind the held polls.
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=20000
HOLD=$(( (HARD * 9 / 10 - 400) / 2 ))
[ "$HOLD" -gt 10000 ] && HOLD=10000
mkdir -p "$T/hold"
# conf/lighttpd.conf finds the files beside it through the including file's directory.
for f in "$top_srcdir"/conf/*; do
    [ "${f##*/}" = lighttpd.conf ] || ln -s "$f" "$T/hold/"
done
cat >"$T/hold/lighttpd.conf" <<EOF
include "$top_srcdir/conf/lighttpd.conf"
server.max-connections := $((HOLD + 100))
server.max-fds := $HARD
EOF
HOLD_PORT=$(free_port)
PUSH_HTTP_PORT=$HOLD_PORT PUSH_RUN_DIR=$T/hold lighttpd -D -f "$T/hold/lighttpd.conf" >"$T/hold/stderr.log" 2>&1 &
HOLD_LIGHTTPD=$!
track_pid $HOLD_LIGHTTPD
HOLD_BASE="http://127.0.0.1:$HOLD_PORT"
echo '{}' >"$R/hold"
if wait_for curl -sf -o /dev/null "$HOLD_BASE/push/status" &&
    "$LOAD" hold "$HOLD_BASE/push/poll?appkey=$SUBSCRIBE_KEY&channel=warm&timeout=55" 20 --deadline 10 \
        --then "curl -s -o /dev/null -d appkey=$PUBLISH_KEY -d channel=warm -d content=w $BASE/push/publish" \
        >/dev/null 2>&1 &&
    HOLD_POLL=$(child_pid $HOLD_LIGHTTPD push-poll); then
    echo "$(rss_kb "$HOLD_POLL") $(rss_kb $HOLD_LIGHTTPD)" >"$T/hold/rss.before"
    cat >"$T/hold/then.sh" <<EOF
# Waits until push-poll's descriptors stop growing (every poll accepted), notes memory, publishes.
last=-1 same=0
for i in \$(seq 200); do
    fds=\$(ls /proc/$HOLD_POLL/fd | wc -l)
    [ "\$fds" = "\$last" ] && same=\$((same + 1)) || same=0
    [ "\$fds" -ge $HOLD ] || [ "\$same" -ge 10 ] && break
    last=\$fds
    sleep 0.1
done
echo "\$(awk '/^VmRSS:/ {print \$2}' /proc/$HOLD_POLL/status) \$(awk '/^VmRSS:/ {print \$2}' /proc/$HOLD_LIGHTTPD/status) \$fds" >"$T/hold/rss.during"
curl -s -o /dev/null -d appkey=$PUBLISH_KEY -d channel=crowd -d content=hello $BASE/push/publish
EOF
    sources "$HOLD"
    # shellcheck disable=SC2086 # $SRC is two options
    "$LOAD" hold "$HOLD_BASE/push/poll?appkey=$SUBSCRIBE_KEY&channel=crowd&timeout=55" "$HOLD" $SRC \
        --then "bash $T/hold/then.sh" --deadline 30 >"$R/hold" 2>"$R/hold.err" || echo '{}' >"$R/hold"
fi
kill "$HOLD_LIGHTTPD" 2>/dev/null
log_summary "$T/hold/error.log" >"$R/hold.log"

# Abandoned polls: 600 held polls from one address reset at once; how soon does a fresh poll
# from another address get its answer?
"$LOAD" abandon "$BASE/push/poll?appkey=$SUBSCRIBE_KEY&channel=gone&timeout=55" 600 --sources 1 --source-base $NEXT_SOURCE \
    --probe "$BASE/push/poll?appkey=$SUBSCRIBE_KEY&channel=fresh&timeout=0" --deadline 20 \
    >"$R/abandon" 2>"$R/abandon.err" || echo '{}' >"$R/abandon"

$PY - "$R" "$SECONDS_EACH" "$RATE" "$SIZES" "$targets" "$HOLD" "$NCHAN_WORKERS" "$T/hold" "$NEXT_SOURCE" <<'PY'
import json, os, sys
r, secs, rate, sizes, targets, hold_n, workers, hold_dir, abandon_source = sys.argv[1:10]
sizes, targets = sizes.split(), targets.split()

def load(path):
    try:
        with open(path) as f:
            return json.loads(f.read() or "{}")
    except (OSError, ValueError):
        return {}

def read_numbers(path):
    try:
        with open(path) as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []

follow = {t: {n: load(os.path.join(r, "follow.%s.%s" % (t, n))) for n in sizes} for t in targets}
print("Long-poll fan-out: one channel, %s msg/s for %s s, tests/poll-load on 127.0.0.x; Nchan: nginx, "
      "%s worker; CPU: all server processes (push: lighttpd, push-poll, push-api, PostgreSQL)" % (rate, secs, workers))
head = "%-6s %5s %6s %15s %6s %5s %5s %8s %8s %8s %7s %7s  %s" % (
    "target", "subs", "pub/s", "delivered/exp", "lost", "dup", "ooo", "p50 ms", "p99 ms", "max ms", "us/msg",
    "us/req", "CPU ms by process")
print(head)
print("-" * len(head))
for n in sizes:
    for t in targets:
        j = follow[t][n]
        cpu = j.get("cpu", {})
        lat = j.get("latency_ms", {})
        procs = " ".join("%s %s" % kv for kv in sorted(cpu.get("processes", {}).items(), key=lambda kv: -kv[1]))
        if not j:
            print("%-6s %5s  (no result)" % (t, n))
        elif t == "floor":
            print("%-6s %5s %6s %15s %6s %5s %5s %8.2f %8.2f %8.2f %7s %7.1f  %s" % (
                t, n, "-", "%d req/s" % j.get("requests_per_s", 0), "-", "-", "-", lat.get("p50", 0), lat.get("p99", 0),
                lat.get("max", 0), "-", cpu.get("per_request_us", 0), procs))
        else:
            pub_rate = j.get("published", 0) / j["publish_s"] if j.get("publish_s") else 0
            print("%-6s %5s %6.1f %15s %6d %5d %5d %8.2f %8.2f %8.2f %7.1f %7.1f  %s" % (
                t, n, pub_rate, "%d/%d" % (j.get("delivered", 0), j.get("expected", 0)), j.get("lost", 0),
                j.get("duplicated", 0),
                j.get("out_of_order", 0), lat.get("p50", 0), lat.get("p99", 0), lat.get("max", 0),
                cpu.get("per_delivery_us", 0), cpu.get("per_poll_us", 0), procs))
        if t != "floor" and j.get("publish_failed"):
            print("%13s %d publishes failed: %s" % ("", j["publish_failed"], json.dumps(j.get("publish_status", {}))))
        if t != "floor" and j.get("publish_late"):
            pm = j.get("publish_ms", {})
            print("%13s the publisher fell behind %d times: publishes answered in p50 %.0f ms, max %.0f ms" % (
                "", j["publish_late"], pm.get("p50", 0), pm.get("max", 0)))
        odd = {k: v for k, v in j.get("status", {}).items() if k not in ("200", "304")}
        if odd:
            print("%13s answers other than 200: %s" % ("", json.dumps(odd)))
        if j.get("errors"):
            print("%13s connection errors %d: %s" % ("", j["errors"], json.dumps(j.get("error_kinds", {}))))
print("(pub/s: the rate the publisher reached, one publish at a time, each after the one before was answered; CPU "
      "of every server process per message delivered and per HTTP request answered; floor: the same clients "
      "re-polling a constant FastCGI reply back to back, latency = request time)")

def print_log(name, label):
    try:
        with open(os.path.join(r, name)) as f:
            for line in f.read().splitlines():
                print("      %s: %s" % (label, line.strip()[:150]))
    except OSError:
        pass

print_log("push.log", "push's lighttpd error.log")

def ratio(a, b):
    return round(a / b, 1) if a and b else None

ratios = {}
for n in sizes:
    push = follow.get("push", {}).get(n, {})
    pc = push.get("cpu", {}).get("per_delivery_us", 0)
    row = {}
    if "nchan" in follow:
        nc = follow["nchan"][n]
        row["push/nchan cpu per message"] = ratio(pc, nc.get("cpu", {}).get("per_delivery_us", 0))
        row["push/nchan p50"] = ratio(push.get("latency_ms", {}).get("p50", 0), nc.get("latency_ms", {}).get("p50", 0))
        row["push/nchan p99"] = ratio(push.get("latency_ms", {}).get("p99", 0), nc.get("latency_ms", {}).get("p99", 0))
    row["push/floor cpu per request"] = ratio(push.get("cpu", {}).get("per_poll_us", 0),
                                              follow["floor"][n].get("cpu", {}).get("per_request_us", 0))
    ratios[n] = row
    print("%5s subscribers: %s" % (n, ", ".join("%s x%s" % (k, v) for k, v in row.items())))

hold = load(os.path.join(r, "hold"))
before, during = read_numbers(os.path.join(hold_dir, "rss.before")), read_numbers(os.path.join(hold_dir, "rss.during"))
held = hold.get("bodies", {}).get('["hello"]', 0)  # polls still held when the message came
hold_out = {"polls": int(hold_n), "held": held, "result": hold}
if held and len(before) == 2 and len(during) == 3:
    per_poll = [(during[i] - before[i]) * 1024.0 / held for i in range(2)]
    hold_out.update({"push_poll_bytes_per_poll": round(per_poll[0]), "lighttpd_bytes_per_poll": round(per_poll[1]),
                     "push_poll_fds": during[2]})
    a = hold.get("after_then_ms", {})
    print("Held: %s polls sent through one lighttpd to one push-poll (%d descriptors open in push-poll); %d held "
          "answered by one publish, p50 %.0f ms, p99 %.0f ms, max %.0f ms after it; statuses %s. RSS per held "
          "poll: push-poll %.1f KiB, lighttpd %.1f KiB" % (
              hold_n, during[2], held, a.get("p50", 0), a.get("p99", 0), a.get("max", 0),
              json.dumps(hold.get("status", {})), per_poll[0] / 1024, per_poll[1] / 1024))
else:
    print("Held: %s polls: none held until the publish (%s)" % (hold_n, json.dumps(hold)[:300]))
print_log("hold.log", "lighttpd error.log")

ab = load(os.path.join(r, "abandon"))
if ab.get("probe_status", 0) > 0:
    print("Abandoned: %d polls (timeout=55) from 127.0.0.%s reset at once; a fresh timeout=0 poll from 127.0.0.%d "
          "answered %d in %.1f ms" % (ab.get("reset", 0), abandon_source, int(abandon_source) + 1,
                                      ab["probe_status"], ab["probe_ms"]))
else:
    print("Abandoned: %d polls reset; the fresh poll got no answer within 20 s (%s)" % (ab.get("reset", 0), json.dumps(ab)[:200]))

print(json.dumps({"bench": "poll", "seconds": int(secs), "rate": int(rate), "nchan_workers": int(workers),
                  "follow": follow, "ratios": ratios, "hold": hold_out, "abandon": ab}, separators=(",", ":")))
PY
