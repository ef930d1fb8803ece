#!/usr/bin/env bash
# tests/fuzz.sh: the libFuzzer targets of tests/fuzz/ (parameter parser, JSON bodies, cursor,
# validators, token verification, JSONP writer, the sidecar's WebSocket requests and SSE
# query), built with clang under AddressSanitizer and UndefinedBehaviorSanitizer: each replays its regression inputs (tests/fuzz/regress/TARGET/,
# every crash found becomes one) and seeds, then fuzzes for PUSH_FUZZ_SECONDS (default 10).
. "$(dirname "$0")/lib.sh"
CLANG=${CLANG:-clang}
SECONDS_EACH=${PUSH_FUZZ_SECONDS:-10}
TARGETS="params cursor validate auth jsonp ws_request sse_query"
FUZZ=$top_srcdir/tests/fuzz
command -v "$CLANG" >/dev/null || skip_all "clang not installed"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$T/probe.c"
"$CLANG" -fsanitize=fuzzer "$T/probe.c" -o "$T/probe" 2>/dev/null || skip_all "clang has no libFuzzer"

CFLAGS=(-std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -I"$top_srcdir/lib" -I"$top_srcdir/ws" $(pkg-config --cflags json-c libcrypto))
LIBS=($(pkg-config --libs json-c libcrypto) -lunistring)
LIB_SOURCES=(buf params validate cursor auth reply log)
# The sidecar's modules that read client requests without libwebsockets or PostgreSQL.
WS_SOURCES=(request sse_query)
objects=()
for src in "${LIB_SOURCES[@]/#/lib/}" "${WS_SOURCES[@]/#/ws/}"; do
    obj="$T/${src//\//-}.o"
    "$CLANG" "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -c "$top_srcdir/$src.c" -o "$obj" 2>"$T/build.log" ||
        { cat "$T/build.log"; echo "Bail out! $src.c does not build with clang"; exit 1; }
    objects+=("$obj")
done

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for target in $TARGETS; do
    "$CLANG" "${CFLAGS[@]}" "$FUZZ/$target.c" "${objects[@]}" "${LIBS[@]}" -o "$T/fuzz-$target" 2>"$T/build.log" ||
        { cat "$T/build.log"; ok 1 "$target: builds"; continue; }
    regress=("$FUZZ/regress/$target"/*)
    if [ -e "${regress[0]}" ]; then
        "$T/fuzz-$target" "${regress[@]}" >"$T/$target.regress.log" 2>&1
        ok $? "$target: its ${#regress[@]} regression inputs pass"
    fi
    mkdir -p "$T/corpus-$target"
    [ -d "$FUZZ/seeds/$target" ] && cp "$FUZZ/seeds/$target"/* "$T/corpus-$target/"
    "$T/fuzz-$target" -max_total_time="$SECONDS_EACH" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
        -artifact_prefix="$T/crash-$target-" "$T/corpus-$target" >"$T/$target.log" 2>&1
    rc=$?
    runs=$(grep -o 'Done [0-9]* runs' "$T/$target.log" | grep -o '[0-9]*')
    [ -z "$runs" ] && runs=$(grep -o '^#[0-9]*' "$T/$target.log" | tail -1 | tr -d '#')
    ok $rc "$target: ${runs:-?} runs in ${SECONDS_EACH} s under ASan+UBSan without a failure"
    if [ $rc -ne 0 ]; then
        grep -A30 'ERROR\|runtime error\|deadly signal' "$T/$target.log" | head -40 | sed 's/^/# /'
        for crash in "$T"/crash-"$target"-*; do
            [ -e "$crash" ] || continue
            mkdir -p "$top_builddir/tests/fuzz-crashes"
            cp "$crash" "$top_builddir/tests/fuzz-crashes/"
            diag "input kept as tests/fuzz-crashes/$(basename "$crash"): add it to tests/fuzz/regress/$target/"
        done
    fi
done
tap_plan "$tap_count"
tap_done
