# tests/lib.sh: TAP helpers and throw-away servers (PostgreSQL, lighttpd) for the shell tests.
#
# A test sources this file, calls tap_plan, starts what it needs and asserts. Every server is
# started on a free port or a private Unix socket under one temporary directory ($T) and
# stopped by pid on exit, even when the test fails.

set -u
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PY=/usr/bin/python3
export PATH="$PG_BIN:$PATH"

tap_count=0
tap_failed=0
tap_pids=()

tap_plan() { echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
diag() { echo "# $*"; }

# ok CONDITION-STATUS DESCRIPTION: ok 0 "text" passes, anything else fails.
ok() {
    tap_count=$((tap_count + 1))
    if [ "$1" = 0 ]; then
        echo "ok $tap_count - $2"
    else
        echo "not ok $tap_count - $2"
        tap_failed=$((tap_failed + 1))
    fi
}

# is GOT EXPECTED DESCRIPTION
is() {
    if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; diag "  got:      '$1'"; diag "  expected: '$2'"; fi
}

# like GOT REGEX DESCRIPTION
like() {
    if [[ "$1" =~ $2 ]]; then ok 0 "$3"; else ok 1 "$3"; diag "  got:      '$1'"; diag "  expected to match: '$2'"; fi
}

# A fresh directory that the postgres and www-data users can enter.
T=$(mktemp -d /tmp/push-test.XXXXXX)
chmod 755 "$T"

tap_cleanup() {
    local pid
    for pid in "${tap_pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${tap_pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    [ -n "${PGDATA_DIR:-}" ] && [ -f "$PGDATA_DIR/postmaster.pid" ] &&
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1
    if [ "${PUSH_TEST_KEEP:-0}" = 1 ]; then diag "kept $T"; else rm -rf "$T"; fi
}
trap tap_cleanup EXIT
trap 'exit 1' INT TERM

# Remember a pid to stop at exit.
track_pid() { tap_pids+=("$1"); }

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for COMMAND...: retries for up to 10 s.
wait_for() {
    for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}

# Starts a private PostgreSQL cluster and applies the migrations, with the roles of a real
# installation: `push` owns the database and the schema (not a superuser), `push_web` is the
# programs' login, a member of push_service (EXECUTE on the programs' functions, nothing else).
# Its socket directory is open to postgres and the group www-data only, and each OS user logs in
# as the roles pg_ident.conf maps it to (peer): root as any, www-data as push_web.
# Sets PGDATA_DIR, PG_SOCKET_DIR, PUSH_DSN (push_web), PUSH_ADMIN_DSN (push, for pushctl) and
# PSQL (a psql command line as the superuser postgres, for the tests' own SQL).
start_postgres() {
    PGDATA_DIR=$T/pg/data
    PG_SOCKET_DIR=$T/pg/run
    mkdir -p "$PGDATA_DIR" "$PG_SOCKET_DIR"
    chown -R postgres "$T/pg"
    chown postgres:www-data "$PG_SOCKET_DIR"
    chmod 0750 "$PG_SOCKET_DIR"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDATA_DIR" -E UTF8 --locale=C.UTF-8 -A peer \
        --no-sync -U postgres >"$T/pg/initdb.log" 2>&1 || { cat "$T/pg/initdb.log" >&2; return 1; }
    pg_auth_write "$PGDATA_DIR"
    pg_start || return 1
    psql -X -q -h "$PG_SOCKET_DIR" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE push LOGIN" -c "CREATE DATABASE push OWNER push" \
        -c "CREATE ROLE push_service NOLOGIN" -c "CREATE ROLE push_web LOGIN IN ROLE push_service" \
        >/dev/null || return 1
    psql -X -q -h "$PG_SOCKET_DIR" -U postgres -d push -v ON_ERROR_STOP=1 \
        -c "CREATE EXTENSION pgcrypto" >/dev/null || return 1
    export PUSH_DSN="host=$PG_SOCKET_DIR dbname=push user=push_web"
    export PUSH_ADMIN_DSN="host=$PG_SOCKET_DIR dbname=push user=push"
    PSQL="psql -X -q -At -v ON_ERROR_STOP=1 -h $PG_SOCKET_DIR -U postgres -d push"
    export PUSH_SQL_DIR="$top_srcdir/sql/migrations"
    "$top_builddir/cli/pushctl" migrate >"$T/pg/migrate.log" 2>&1 || { cat "$T/pg/migrate.log" >&2; return 1; }
}

# pg_auth_write PGDATA: local (Unix socket) connections only, peer authentication: root may log
# in as any role, postgres as postgres, www-data (the web servers' user) as push_web.
pg_auth_write() {
    printf 'local all all peer map=push\n' >"$1/pg_hba.conf"
    printf 'push %s %s\n' root postgres root push root push_web postgres postgres www-data push_web \
        >"$1/pg_ident.conf"
    chown postgres "$1/pg_hba.conf" "$1/pg_ident.conf"
}

pg_start() {
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$T/pg/postgres.log" -w -t 30 \
        -o "-k $PG_SOCKET_DIR -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 ${PG_EXTRA_OPTS:-}" \
        start >/dev/null || { cat "$T/pg/postgres.log" >&2; return 1; }
}

pg_stop() {
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
}

# create_app NAME [ORIGINS-ARRAY-SQL [CLIENT_PUBLISH [MAX_BYTES [RATE [CLAIMED_USERS]]]]]
# Sets PUBLISH_KEY, SUBSCRIBE_KEY, SECRET and SERVER_KEY.
create_app() {
    local row
    row=$($PSQL -F ' ' -c "SELECT publish_key, subscribe_key, secret, server_key FROM push.app_create('$1', ${2:-'{}'}::text[], ${3:-false}, ${4:-65536}, ${5:-0}, ${6:-false})") || return 1
    read -r PUBLISH_KEY SUBSCRIBE_KEY SECRET SERVER_KEY <<<"$row"
}

# presence_id CLIENT [USER]: the id presence stores for a client id a page chose (of USER, or
# anonymous): "c-" and the first 32 hex digits of HMAC-SHA256($SECRET, "presence\n<user>\n<client>").
presence_id() {
    $PY -c 'import hashlib, hmac, sys
print("c-" + hmac.new(sys.argv[1].encode(), ("presence\n%s\n%s" % (sys.argv[3], sys.argv[2])).encode(),
                      hashlib.sha256).hexdigest()[:32])' "$SECRET" "$1" "${2:-}"
}

# Starts lighttpd with conf/lighttpd.conf serving www/ and the FastCGI programs.
# Sets HTTP_PORT, BASE (http://127.0.0.1:PORT).
start_lighttpd() {
    HTTP_PORT=$(free_port)
    export PUSH_HTTP_PORT=$HTTP_PORT PUSH_FCGI_DIR="${PUSH_FCGI_DIR:-$top_builddir/fcgi}" PUSH_WWW_DIR="$top_srcdir/www"
    export PUSH_RUN_DIR="$T/lighttpd" PUSH_WS_PORT=${PUSH_WS_PORT:-$(free_port)}
    mkdir -p "$PUSH_RUN_DIR"
    lighttpd -D -f "$top_srcdir/conf/lighttpd.conf" >"$T/lighttpd/stderr.log" 2>&1 &
    track_pid $!
    BASE="http://127.0.0.1:$HTTP_PORT"
    wait_for curl -sf -o /dev/null "$BASE/push/status" || { cat "$T/lighttpd/"*.log >&2; return 1; }
}

# http METHOD URL [curl args...]: prints "STATUS BODY" of one request.
http() {
    local method=$1 url=$2
    shift 2
    curl -s -o "$T/body" -w '%{http_code}' -X "$method" "$url" "$@" >"$T/status"
    echo "$(cat "$T/status") $(cat "$T/body")"
}

# json EXPR: evaluates a Python expression over the JSON read from stdin as j.
json() { $PY -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

tap_done() {
    exit $((tap_failed > 0))
}

# Sets PUSH_TEST_PSQL to a psql command for a migrated database: the one the caller named,
# or a private cluster started here.
use_test_database() {
    [ -n "${PUSH_TEST_PSQL:-}" ] && return 0
    start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
    PUSH_TEST_PSQL="psql -h $PG_SOCKET_DIR -U push -d push"
}
