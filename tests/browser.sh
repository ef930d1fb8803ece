#!/usr/bin/env bash
# tests/browser.sh: push.js and the demo page in headless Chromium against the whole stack
# (PostgreSQL, lighttpd with push-api and push-poll, the push-ws sidecar), one forced
# transport at a time. The stack is started here; tests/browser/push.test.js drives the pages
# and prints the TAP (tests/goeasy-browser.sh sources this file with PUSH_BROWSER_TEST set to
# run another script against the same stack). Screenshots go to tests/artifacts/ of the build
# tree.
. "$(dirname "$0")/lib.sh"

command -v node >/dev/null || skip_all "node is not installed"
[ -d "$top_srcdir/node_modules/playwright-core" ] ||
    skip_all "node_modules missing: run npm ci --no-audit --no-fund in $top_srcdir"
CHROMIUM=${PUSH_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip_all "chromium is not installed (apt-get install chromium)"
command -v lighttpd >/dev/null || skip_all "lighttpd is not installed"
[ -x "$top_builddir/fcgi/push-api" ] || skip_all "fcgi/push-api is not built"

stack_failed() {
    echo "1..1"
    echo "not ok 1 - the stack starts: $*"
    exit 1
}

start_postgres || stack_failed "PostgreSQL"
create_app demo "'{}'" true 65536 0 true || stack_failed "create_app"

# The sidecar, on a free port that lighttpd proxies /push/ws to. The test restarts it (same
# command, same port) and leaves the pids of its copies in $T/push-ws.pids.
PUSH_WS_PORT=$(free_port)
export PUSH_WS_PORT PUSH_WS_BIN="$top_builddir/ws/push-ws" PUSH_WS_LOG="$T/push-ws.log"
export PUSH_WS_PIDS="$T/push-ws.pids"
: >"$PUSH_WS_PIDS"
browser_cleanup() {
    local pid
    while read -r pid; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
    done <"$PUSH_WS_PIDS"
    tap_cleanup
}
trap browser_cleanup EXIT
if [ -x "$PUSH_WS_BIN" ]; then
    "$PUSH_WS_BIN" >>"$PUSH_WS_LOG" 2>&1 &
    echo $! >>"$PUSH_WS_PIDS"
    disown    # the test kills it: no "Killed" notice from this shell
    wait_for bash -c "echo >/dev/tcp/127.0.0.1/$PUSH_WS_PORT" || stack_failed "push-ws on port $PUSH_WS_PORT: $(tail -5 "$PUSH_WS_LOG")"
fi

start_lighttpd || stack_failed "lighttpd"
LIGHTTPD_PID=${tap_pids[${#tap_pids[@]}-1]}
printf 'window.PUSH_DEMO = { appkey: "%s", host: "" };\n' "$PUBLISH_KEY" >"$PUSH_RUN_DIR/demo-config.js"

# A page's JWT: alice may publish to private-page-* (the publish key alone may not).
PAGE_TOKEN=$("$top_builddir/cli/pushctl" token --jwt --app demo --sub alice --publish 'private-page-*' --ttl 3600) ||
    stack_failed "pushctl token --jwt"
export BASE PUBLISH_KEY SUBSCRIBE_KEY SECRET SERVER_KEY LIGHTTPD_PID CHROMIUM PAGE_TOKEN
export PUSH_ARTIFACTS="${PUSH_ARTIFACTS:-$top_builddir/tests/artifacts}"
mkdir -p "$PUSH_ARTIFACTS" "$T/browser"
export PUSH_BROWSER_TMP="$T/browser"
node "$top_srcdir/tests/browser/${PUSH_BROWSER_TEST:-push.test.js}"
rc=$?
if [ $rc -ne 0 ]; then
    diag "lighttpd error.log:"
    tail -20 "$PUSH_RUN_DIR/error.log" 2>/dev/null | sed 's/^/#   /'
    [ -s "$PUSH_WS_LOG" ] && { diag "push-ws log:"; tail -20 "$PUSH_WS_LOG" | sed 's/^/#   /'; }
fi
exit $rc
