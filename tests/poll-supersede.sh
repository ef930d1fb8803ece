#!/usr/bin/env bash
# tests/poll-supersede.sh: a client's new long-poll answers its poll still held in push-poll (a
# browser gave that one up: push.js restarts its poll when its channels change, and a JSONP
# script cannot be aborted, so the old poll would keep one of an old browser's two connections
# until its timeout). Only the same client id of the same user and app counts; a chain of such
# polls answers older ones at most 8 times in 10 s, so two live connections sharing a client id
# do not answer each other in a loop; nothing is lost either way.
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
tap_plan 14

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
create_app hall "'{}'" false 65536 0 true
K=$SUBSCRIBE_KEY

declare -A poll_pid
# hold NAME QUERY: sends GET /push/poll?appkey=K&timeout=30&QUERY in the background; its headers
# go to $T/NAME.h, its body to $T/NAME.b. Waits until the poll is held: push-poll sends the
# headers of a poll it has held for a second.
hold() {
    curl -s -N -D "$T/$1.h" -o "$T/$1.b" "$BASE/push/poll?appkey=$K&timeout=30&$2" &
    poll_pid[$1]=$!
    track_pid $!
    for _ in $(seq 150); do
        grep -q '^HTTP/1.1 200' "$T/$1.h" 2>/dev/null && return 0
        sleep 0.1
    done
    diag "$1 was not held within 15 s"
    return 1
}
# ended NAME SECONDS: 0 when the poll's curl has ended within SECONDS.
ended() {
    for _ in $(seq $(($2 * 10))); do
        kill -0 "${poll_pid[$1]}" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}
running() { kill -0 "${poll_pid[$1]}" 2>/dev/null && echo running || echo ended; }
body() { json "$1" <"$T/$2.b"; }

# The first poll of alice's tab-1 is held; the tab's channels change and it polls again.
hold a1 "channel=news&client=tab-1&user=alice&since=news:0"
hold a2 "channel=news,sports&client=tab-1&user=alice&since=news:0,sports:0"
ended a1 10
ok $? "the tab's new poll answers its held one at once (not after its 30 s)"
is "$(body "[j['code'], j['messages']]" a1)" "[200, []]" "the answer is a plain 200 with what the poll had: nothing"

# Other clients are left alone: another tab of alice, the same tab id of another user.
hold b1 "channel=news&client=tab-2&user=alice&since=news:0"
hold m1 "channel=news&client=tab-1&user=mallory&since=news:0"
is "$(running a2),$(running b1)" "running,running" "alice's second tab and mallory naming tab-1 do not answer alice's tab-1"

# A JSONP poll the page gave up is answered too, inside its callback.
hold j1 "channel=news&client=tab-3&user=alice&since=news:0&callback=cb1"
hold j2 "channel=news,sports&client=tab-3&user=alice&since=news:0,sports:0&callback=cb2"
ended j1 10
ok $? "a JSONP poll is answered by its client's next poll"
like "$(cat "$T/j1.b")" '^/\*\*/ ?cb1\(\{"code":200' "inside its own callback"

# A publish reaches every poll still held: nothing was lost by the answers.
r=$(http POST "$BASE/push/publish" -d "appkey=$PUBLISH_KEY&channel=news&content=one")
is "${r%% *}" 200 "publish to news"
ended a2 10 && ended b1 10 && ended m1 10 && ended j2 10
ok $? "the held polls of every client get it"
is "$(body "[m['seq'] for m in j['messages']]" a2)" "[1]" "the tab's current poll has the message"
like "$(cat "$T/j2.b")" 'cb2\(.*"seq":1' "and so has the JSONP one"

# Two live connections sharing a client id: after 8 answers in the chain, polls are held side
# by side instead of answering each other.
# send NAME QUERY: the same poll as hold, without waiting for it to be held.
send() {
    curl -s -N -o "$T/$1.b" "$BASE/push/poll?appkey=$K&timeout=30&$2" &
    poll_pid[$1]=$!
    track_pid $!
}
hold c1 "channel=news&client=shared&user=carol&since=news:1"
chained=0
for i in $(seq 2 9); do
    send c$i "channel=news&client=shared&user=carol&since=news:1"
    ended c$((i - 1)) 5 || break
    chained=$((chained + 1))
done
is "$chained" 8 "8 polls of one client id answer their held ones in a row"
hold c10 "channel=news&client=shared&user=carol&since=news:1"
is "$(running c9) $(running c10)" "running running" "the 9th in 10 s does not: both are held"
r=$(http POST "$BASE/push/publish" -d "appkey=$PUBLISH_KEY&channel=news&content=two")
ended c9 10 && ended c10 10
ok $? "a publish answers both"
is "$(body "[m['seq'] for m in j['messages']]" c9),$(body "[m['seq'] for m in j['messages']]" c10)" "[2],[2]" \
    "each with the message"

# A poll without a client id answers nothing (it has no presence and no identity to match).
hold n1 "channel=news&since=news:2"
hold n2 "channel=news&since=news:2"
is "$(running n1),$(running n2)" "running,running" "polls without a client id are held side by side"
tap_done
