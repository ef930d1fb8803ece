#!/usr/bin/env bash
# tests/quick-start.sh: the README's first command, scripts/run, started as root from a directory
# the servers' users cannot enter (as when the checkout sits under /root): it comes up with the
# servers as www-data, the demo page and its token work, and SIGTERM stops everything it started.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "scripts/run drops to www-data only when started as root"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
tap_plan 10

http_port=$(free_port) ws_port=$(free_port) demo_port=$(free_port)
base="http://127.0.0.1:$http_port"
mkdir -m 0700 "$T/locked"
(
    cd "$T/locked" &&
        exec env PUSH_BUILD="$top_builddir" PUSH_VAR="$T/var" PUSH_HTTP_PORT=$http_port \
            PUSH_WS_PORT=$ws_port PUSH_DEMO_PORT=$demo_port "$top_srcdir/scripts/run"
) >"$T/run.out" 2>&1 &
run=$!
track_pid $run
for _ in $(seq 600); do
    grep -q '^ready: ' "$T/run.out" && break
    kill -0 $run 2>/dev/null || break
    sleep 0.1
done
grep -q "^ready: $base/" "$T/run.out"
ok $? "scripts/run started from a directory only root can enter says ready within 60 s" ||
    sed 's/^/# /' "$T/run.out" "$T/var/log/lighttpd.log" 2>/dev/null | tail -20

. "$T/var/demo.env"
is "$(stat -c %a "$T/var/demo.env")" 600 "var/demo.env is readable by its owner only"
users=$(ps -o user= --ppid $run | sort -u | tr '\n' ' ')
is "$users" "www-data " "lighttpd, the sidecar and the demo's server side run as www-data"
is "$(curl -s -o /dev/null -w '%{http_code}' "$base/")" 200 "the demo page is served"
config=$(curl -s "$base/demo-config.js")
[[ $config == *"$PUSH_PUBLISH_KEY"* && $config != *"$PUSH_SERVER_KEY"* && $config != *"$PUSH_APP_SECRET"* ]]
ok $? "its configuration holds the publish key, not the server key or the secret"

token=$(curl -s "http://127.0.0.1:$demo_port/demo/token?user=ann" | json "j['token']")
r=$(curl -s "$base/push/publish" -d "appkey=$PUSH_SERVER_KEY&channel=user-ann&content=hello")
is "$(echo "$r" | json "j['code'], j['seq']")" "200 1" "the server key publishes to user-ann"
r=$(curl -s "$base/push/poll?appkey=$PUSH_PUBLISH_KEY&channel=user-ann&since=user-ann:0&timeout=5&token=$token")
is "$(echo "$r" | json "[m['content'] for m in j['messages']]")" "['hello']" \
    "the page's key and the demo's token for ann read user-ann"
is "$(curl -s -o /dev/null -w '%{http_code}' \
    "$base/push/poll?appkey=$PUSH_PUBLISH_KEY&channel=user-bob&since=user-bob:0&timeout=1&token=$token")" 403 \
    "and not user-bob"

kill -TERM $run
for _ in $(seq 150); do kill -0 $run 2>/dev/null || break; sleep 0.1; done
! kill -0 $run 2>/dev/null
ok $? "SIGTERM stops scripts/run within 15 s"
left=$(ps -o pid= --ppid $run | wc -l)
[ "$left" = 0 ] && [ ! -e "$T/var/pg/data/postmaster.pid" ] &&
    ! curl -s -o /dev/null "$base/push/status" && ! curl -s -o /dev/null "http://127.0.0.1:$demo_port/demo/token?user=ann"
ok $? "and everything it started: its servers and PostgreSQL"
tap_done
