#!/usr/bin/env bash
# tests/poll-lighttpd.sh: the long-poll cases through lighttpd and one multi-threaded push-poll.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/poll-common.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"

start_postgres || bail "PostgreSQL did not start"
start_lighttpd || bail "lighttpd did not start"
poll_setup
poll_basic_cases
poll_concurrency_case 50
poll_restart_case 10
tap_plan "$tap_count"
tap_done
