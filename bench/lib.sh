# bench/lib.sh: what the benches share (sourced after tests/lib.sh): the server processes' CPU
# and memory, Nchan on loopback, the FastCGI floor, and one long-poll follow run of tests/poll-load.
. "$top_srcdir/scripts/setup.sh"
. "$top_srcdir/bench/nchan.sh"

# proc_tree PID...: PID and every live process below it.
proc_tree() {
    ps -e -o pid=,ppid= | awk -v roots="$*" '
        BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) want[r[i]] = 1 }
        { parent[$1] = $2 }
        END { do { more = 0; for (p in parent) if (!(p in want) && (parent[p] in want)) { want[p] = 1; more = 1 } } while (more)
              for (p in want) print p }'
}

# cpu_ticks PID...: user + system clock ticks of those processes and every process below them,
# the children they have reaped included (a live process's cutime and cstime hold those).
cpu_ticks() {
    local p sum=0 t
    for p in $(proc_tree "$@"); do
        t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13 + $14 + $15}')
        sum=$((sum + ${t:-0}))
    done
    echo "$sum"
}

# pss_kb PID...: proportional set size in KiB of those processes and every process below them
# (memory shared between them, such as PostgreSQL's, counts once in all).
pss_kb() {
    local p sum=0 k
    for p in $(proc_tree "$@"); do
        k=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
        sum=$((sum + ${k:-0}))
    done
    echo "$sum"
}

# nchan_available: installs nginx and the Nchan module when they are missing; false (with a
# note on stderr) when that fails.
nchan_available() {
    setup_packages nginx-light libnginx-mod-nchan >"$T/packages.log" 2>&1 &&
        [ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] && return 0
    echo "nginx-light or libnginx-mod-nchan could not be installed: no Nchan column" >&2
    return 1
}

# Each poll_follow run gets source addresses of its own (127.0.0.$NEXT_SOURCE on): polls a
# run leaves behind never count against the next run's per-address limit.
NEXT_SOURCE=1

# sources N: sets SRC to the --sources and --source-base options for N connections, at most
# 1000 per address, and moves NEXT_SOURCE past them and the publisher's or probe's address.
sources() {
    local k=$(( ($1 + 1000) / 1000 ))
    SRC="--sources $k --source-base $NEXT_SOURCE"
    NEXT_SOURCE=$((NEXT_SOURCE + k + 1))
}

# poll_follow TARGET SUBSCRIBERS RATE SECONDS OUT: one tests/poll-load follow run against push
# (BASE, SUBSCRIBE_KEY, PUBLISH_KEY; CPU of PUSH_ROOTS and below), nchan (NCHAN_BASE, NCHAN_PID)
# or floor (FLOOR_BASE, FLOOR_PID); its JSON goes to OUT ({} when it did not run).
poll_follow() {
    local target=$1 n=$2 rate=$3 secs=$4 out=$5 channel="bench-$1-$2-$RANDOM" load="$top_builddir/tests/poll-load"
    local pids
    pids=$(echo "${PUSH_ROOTS:-}" | sed 's/\([0-9][0-9]*\)/\1+/g; s/ /,/g')
    sources "$n"
    # shellcheck disable=SC2086 # $SRC is two options
    case $target in
    push)
        "$load" follow --kind push --poll-url-prefix "$BASE/push/poll?appkey=$SUBSCRIBE_KEY&timeout=25" \
            --channel "$channel" --subscribers "$n" --rate "$rate" --seconds "$secs" --drain 3 --deadline 20 $SRC \
            --publish "$BASE/push/publish" --publish-key "$PUBLISH_KEY" --pids "$pids" ;;
    nchan)
        "$load" follow --kind nchan --poll-url-prefix "$NCHAN_BASE/sub/" --channel "$channel" \
            --subscribers "$n" --rate "$rate" --seconds "$secs" --drain 3 --deadline 20 $SRC --publish "$NCHAN_BASE/pub/" \
            --pids "$NCHAN_PID+" ;;
    floor)
        "$load" follow --kind const --poll-url-prefix "$FLOOR_BASE/const" --channel "$channel" \
            --subscribers "$n" --seconds "$secs" --deadline 20 $SRC --pids "$FLOOR_PID+" ;;
    esac >"$out" 2>"$out.err" || echo '{}' >"$out"
    [ -s "$out" ] || echo '{}' >"$out"
}

# start_floor: the floor, a second lighttpd with bench/fcgi-const (a constant reply) under /const,
# set up like the programs' entries in conf/lighttpd.conf. Sets FLOOR_BASE and FLOOR_PID.
start_floor() {
    local port
    port=$(free_port)
    mkdir -p "$T/floor"
    cat >"$T/floor/lighttpd.conf" <<EOF
server.modules += ( "mod_fastcgi", "mod_accesslog" )
server.bind = "127.0.0.1"
server.port = $port
server.document-root = "$T/floor"
server.errorlog = "$T/floor/error.log"
accesslog.filename = "$T/floor/access.log"
server.pid-file = "$T/floor/lighttpd.pid"
server.max-connections = 4096
server.max-fds = 16384
server.max-read-idle = 120
server.max-write-idle = 120
fastcgi.server = (
  "/const" => ((
    "socket" => "$T/floor/fcgi-const.sock",
    "bin-path" => "$top_builddir/bench/fcgi-const",
    # Back-to-back clients queue here: 2,000 of them overflow the default 1,024 (answered 500).
    "listen-backlog" => 4096,
    "check-local" => "disable",
    "max-procs" => 1,
    "min-procs" => 1,
    "connect-timeout" => 5,
    "fix-root-scriptname" => "enable",
  )),
)
EOF
    lighttpd -D -f "$T/floor/lighttpd.conf" >"$T/floor/stderr.log" 2>&1 &
    FLOOR_PID=$!
    track_pid $FLOOR_PID
    FLOOR_BASE="http://127.0.0.1:$port"
    wait_for curl -sf -o /dev/null "$FLOOR_BASE/const" || { cat "$T/floor/"*.log >&2; return 1; }
}
