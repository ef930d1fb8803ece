#!/usr/bin/env bash
# tests/poll-leave.sh: POST /push/leave removes a long-poll client's presence at once (all of its
# channels, or the channel= given), so another client's presence and the presence-<channel>
# events see it leave without waiting for expiry; it only removes the caller's own client id
# (bound to its user), and a missing client or a bad channel gets 400.
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
tap_plan 9

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
create_app hall "'{}'" false 65536 0 true
K=$SUBSCRIBE_KEY SK=$SERVER_KEY

users() { curl -s "$BASE/push/presence?appkey=$SK&channel=$1" | json "sorted(j['channels']['$1']['users'])"; }
# until_users CHANNEL WANT: polls presence for up to 15 s until its users print as WANT.
until_users() {
    local seen i
    for i in $(seq 150); do
        seen=$(users "$1")
        [ "$seen" = "$2" ] && break
        sleep 0.1
    done
    echo "$seen"
}
poll() { http GET "$BASE/push/poll?appkey=$K&channel=$1&timeout=0&client=$2&user=$3" >/dev/null; }

# A watcher opens presence-lobby, where the presence events of lobby go.
http GET "$BASE/push/poll?appkey=$K&channel=presence-lobby&timeout=0" >/dev/null
poll lobby,side tab-a alice
poll lobby tab-b bob
is "$(until_users lobby "['alice', 'bob']")" "['alice', 'bob']" "alice and bob are in lobby after a long-poll each"
r=$(http POST "$BASE/push/leave?appkey=$K&user=alice" -d "")
like "$r" '^400 .*client: missing' "leave without client: 400 naming it"
r=$(http POST "$BASE/push/leave?appkey=$K&client=tab-a&user=alice&channel=bad%20name" -d "")
like "$r" '^400 .*channel:' "leave with a bad channel: 400 naming it"
r=$(http POST "$BASE/push/leave?appkey=$K&client=tab-b&user=mallory" -d "")
is "${r%% *}" 200 "mallory naming bob's client id: 200 (it is not hers to remove)"
start=$(date +%s.%N)
r=$(http POST "$BASE/push/leave?appkey=$K&client=tab-a&user=alice&channel=side" -d "")
is "$r" '200 {"code":200,"content":"OK"}' "alice's tab leaves side"
is "$(until_users side "[]")" "[]" "side is empty at once"
is "$(users lobby)" "['alice', 'bob']" "alice is still in lobby, and bob was not removed by mallory"
r=$(http POST "$BASE/push/leave" -d "appkey=$K&client=tab-a&user=alice")
is "$(until_users lobby "['bob']")" "['bob']" "after a leave of all her channels alice is gone from lobby"
diag "left within $($PY -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 3))" "$start" "$(date +%s.%N)") s of the first leave"
history=$(curl -s "$BASE/push/history?appkey=$SK&channel=presence-lobby&limit=50")
like "$history" 'leave[^}]*alice|alice[^}]*leave' "presence-lobby carries alice's leave event"
