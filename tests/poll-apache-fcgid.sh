#!/usr/bin/env bash
# tests/poll-apache-fcgid.sh: the long-poll cases through Apache mod_fcgid (conf/apache-fcgid.conf),
# where each held poll has a push-poll process of its own.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apache.sh"
. "$(dirname "$0")/poll-common.sh"
command -v apache2 >/dev/null || skip_all "apache2 not installed"
[ -f /usr/lib/apache2/modules/mod_fcgid.so ] || skip_all "mod_fcgid not installed"

start_postgres || bail "PostgreSQL did not start"
install_fcgi_programs || bail "cannot copy the FastCGI programs"
apache_prepare
start_apache apache-fcgid.conf || bail "Apache did not start"
poll_setup
poll_basic_cases
poll_concurrency_case 50
poll_restart_case 10
tap_plan "$tap_count"
tap_done
