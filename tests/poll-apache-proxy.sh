#!/usr/bin/env bash
# tests/poll-apache-proxy.sh: the long-poll cases through Apache mod_proxy_fcgi
# (conf/apache-proxy-fcgi.conf) to push-api and push-poll started on their own sockets.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apache.sh"
. "$(dirname "$0")/poll-common.sh"
command -v apache2 >/dev/null || skip_all "apache2 not installed"
[ -f /usr/lib/apache2/modules/mod_proxy_fcgi.so ] || skip_all "mod_proxy_fcgi not installed"

start_postgres || bail "PostgreSQL did not start"
install_fcgi_programs || bail "cannot copy the FastCGI programs"
apache_prepare
start_fcgi_sockets || bail "push-api or push-poll did not start"
start_apache apache-proxy-fcgi.conf || bail "Apache did not start"
poll_setup
poll_basic_cases

# Twenty held polls through Apache share the threaded process's fixed connections.
held=()
for i in $(seq 20); do
    curl -s -o "$T/held.$i" "$BASE/push/poll?appkey=$S&channel=fanout&since=fanout:0&timeout=30" &
    held+=($!)
done
sleep 2
conns=$($PSQL -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'push-poll'")
ok $(( conns >= 1 && conns <= 3 ? 0 : 1 )) \
    "20 waiting polls: push-poll holds $conns PostgreSQL connections (listener + a pool of at most 2)"
is "$(publish fanout "to all")" 200 "publish to the waiting polls"
wait "${held[@]}"
got=0
for i in $(seq 20); do
    [ "$(json 'j["messages"][0]["content"]' <"$T/held.$i" 2>/dev/null)" = "to all" ] && got=$((got + 1))
done
is "$got" 20 "all 20 waiting polls received it"

poll_concurrency_case 20
tap_plan "$tap_count"
tap_done
