# tests/apache.sh: throw-away Apache 2.4 servers (mod_fcgid or mod_proxy_fcgi) for the shell
# tests, sourced after tests/lib.sh. They use conf/apache-*.conf as they are.

# Copies push-api and push-poll to $T/bin, a directory the www-data user can enter, and
# points PUSH_FCGI_DIR there.
install_fcgi_programs() {
    mkdir -p "$T/bin"
    cp "$top_builddir/fcgi/push-api" "$top_builddir/fcgi/push-poll" "$T/bin/" || return 1
    chmod 755 "$T/bin" "$T/bin/push-api" "$T/bin/push-poll"
    export PUSH_FCGI_DIR="$T/bin"
}

# Sets the environment the configurations read and makes their directories (owned by www-data).
apache_prepare() {
    HTTP_PORT=$(free_port)
    export PUSH_HTTP_PORT=$HTTP_PORT PUSH_WWW_DIR="$top_srcdir/www"
    export PUSH_RUN_DIR="$T/apache" PUSH_WS_PORT=${PUSH_WS_PORT:-$(free_port)}
    export PUSH_MAX_CONNS_PER_IP=${PUSH_MAX_CONNS_PER_IP:-2000}
    export APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data
    export APACHE_RUN_DIR="$T/apache/run" APACHE_LOCK_DIR="$T/apache/lock"
    export APACHE_LOG_DIR="$T/apache/log" APACHE_PID_FILE="$T/apache/run/apache2.pid"
    mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"
    chown -R www-data:www-data "$T/apache"
    BASE="http://127.0.0.1:$HTTP_PORT"
}

# Starts push-api and push-poll on their own, on sockets in $PUSH_RUN_DIR that Apache's user
# may connect to, as conf/apache-proxy-fcgi.conf expects. Sets POLL_PID.
start_fcgi_sockets() {
    (umask 0; exec "$PUSH_FCGI_DIR/push-api" --socket "$PUSH_RUN_DIR/push-api.sock") \
        >"$T/push-api.log" 2>&1 &
    track_pid $!
    (umask 0; exec "$PUSH_FCGI_DIR/push-poll" --socket "$PUSH_RUN_DIR/push-poll.sock") \
        >"$T/push-poll.log" 2>&1 &
    POLL_PID=$!
    track_pid $POLL_PID
    wait_for test -S "$PUSH_RUN_DIR/push-api.sock" && wait_for test -S "$PUSH_RUN_DIR/push-poll.sock" ||
        { cat "$T/push-api.log" "$T/push-poll.log" >&2; return 1; }
}

# start_apache CONF: runs apache2 in the foreground with conf/CONF (after apache_prepare) and
# waits until /push/status answers.
start_apache() {
    local conf=$top_srcdir/conf/$1
    apache2 -f "$conf" -t >"$T/apache/configtest.log" 2>&1 || { cat "$T/apache/configtest.log" >&2; return 1; }
    apache2 -f "$conf" -DFOREGROUND >"$T/apache/stderr.log" 2>&1 &
    track_pid $!
    wait_for curl -sf -o /dev/null "$BASE/push/status" ||
        { cat "$T/apache/stderr.log" "$APACHE_LOG_DIR/error.log" >&2; return 1; }
}
