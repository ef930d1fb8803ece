#!/usr/bin/env bash
# tests/poll-abandon.sh: browsers that go away during a held poll free it at once: 600 polls
# with timeout=55 from one address, reset right after they are held, leave push-poll holding
# nothing within seconds, and a fresh poll from another address is answered without delay.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/poll-common.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"

start_postgres || bail "PostgreSQL did not start"
start_lighttpd || bail "lighttpd did not start"
poll_setup
r=$(poll "appkey=$S&channel=left&timeout=0")
is "${r%% *}" 200 "the channel is open"

# push-poll is the child of lighttpd that runs fcgi/push-poll.
POLL_PID=
for pid in $(ps -o pid= --ppid "${tap_pids[-1]}"); do
    grep -q push-poll "/proc/$pid/cmdline" 2>/dev/null && POLL_PID=$pid
done
[ -n "$POLL_PID" ] || bail "push-poll not found under lighttpd"
fds() { ls "/proc/$POLL_PID/fd" | wc -l; }
idle=$(fds)

cat >"$T/count.sh" <<EOT
for i in \$(seq 100); do [ "\$(ls /proc/$POLL_PID/fd | wc -l)" -ge $((idle + 600)) ] && break; sleep 0.1; done
ls /proc/$POLL_PID/fd | wc -l >"$T/held"
EOT
out=$($POLL_CLIENTS abandon "$BASE" "appkey=$S&channel=left&timeout=55" 600 --settle 0 --then "bash $T/count.sh")
diag "600 abandoned polls: $out; push-poll descriptors idle $idle, held $(cat "$T/held")"
ok $(( $(cat "$T/held") >= idle + 600 ? 0 : 1 )) "push-poll held the 600 polls"
is "$(echo "$out" | json 'j["answered_before_reset"]')" 0 "none was answered before its client went away"

t0=$(now_ms)
r=$(curl -s --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$BASE/push/poll?appkey=$S&channel=left&timeout=0")
t1=$(now_ms)
is "$r" 200 "a fresh poll from another address right after the resets: 200"
ok $(( t1 - t0 < 1000 ? 0 : 1 )) "answered within 1 s ($((t1 - t0)) ms)"

left=
for _ in $(seq 50); do
    left=$(fds)
    [ "$left" -le $((idle + 5)) ] && break
    sleep 0.1
done
ok $(( left <= idle + 5 ? 0 : 1 )) "the abandoned polls were freed within 5 s, not at their 55 s timeout ($left descriptors, $idle idle)"

# A poll whose browser is still there is not disturbed by the others leaving.
curl -s -o "$T/kept.body" "$BASE/push/poll?appkey=$S&channel=left&since=left:0&timeout=20" &
kept=$!
sleep 1
$POLL_CLIENTS abandon "$BASE" "appkey=$S&channel=left&timeout=55" 100 --settle 0.5 >/dev/null
is "$(publish left still-here)" 200 "publish after another burst of abandoned polls"
wait $kept
is "$(json '[m["content"] for m in j["messages"]]' <"$T/kept.body")" "['still-here']" "the poll that stayed gets the message"
tap_plan "$tap_count"
tap_done
