#!/usr/bin/env bash
# tests/limits-lighttpd.sh: conf/lighttpd.conf's own limits beside a poll held 25 s: busy
# connections per client address (conf/lighttpd-conns-per-ip.lua answers 503) and a request
# header left unfinished (server.max-read-idle). lighttpd 1.4.69 has no deadline for a whole
# header, so a header trickling a byte every 2 s is not cut (conf/README.md).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/poll-common.sh"
. "$(dirname "$0")/limits-common.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
[ -f /usr/lib/lighttpd/mod_magnet.so ] || skip_all "mod_magnet not installed (lighttpd-modules-lua)"

start_postgres || bail "PostgreSQL did not start"
start_lighttpd || bail "lighttpd did not start"
poll_setup
limits_hold_start
limits_per_address_case 503
limits_slow_case no
limits_body_case
limits_hold_check
tap_plan "$tap_count"
tap_done
