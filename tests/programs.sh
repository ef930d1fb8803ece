#!/usr/bin/env bash
# tests/programs.sh: every program answers --help and --version, and refuses bad options and
# bad settings with a clear message and a non-zero status.
. "$(dirname "$0")/lib.sh"
programs="cli/pushctl fcgi/push-api fcgi/push-poll ws/push-ws"
tap_plan 20
for p in $programs; do
    name=${p#*/}
    out=$("$top_builddir/$p" --help 2>&1)
    is "$?" 0 "$name --help exits 0"
    like "$out" 'PUSH_DSN' "$name --help lists the settings with their variables"
    like "$("$top_builddir/$p" --version)" "^$name [0-9]+\.[0-9]+\.[0-9]+$" "$name --version"
    "$top_builddir/$p" --no-such-option >/dev/null 2>&1
    is "$?" 2 "$name refuses an unknown option with status 2"
    args=()
    [ "$name" = pushctl ] && args=(migrate)
    out=$(PUSH_THREADS=many PUSH_WS_PORT=none "$top_builddir/$p" "${args[@]}" 2>&1 </dev/null)
    like "$out" '(threads|ws_port): "(many|none)" is not a whole number' "$name names a bad setting"
done
tap_done
