#!/usr/bin/env bash
# tests/limits-apache-fcgid.sh: conf/apache-fcgid.conf's own limits beside a poll held
# 25 s: connections per client address (mod_qos QS_SrvMaxConnPerIP closes the next one
# unanswered) and slow request headers (mod_reqtimeout), silent or trickling.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apache.sh"
. "$(dirname "$0")/poll-common.sh"
. "$(dirname "$0")/limits-common.sh"
command -v apache2 >/dev/null || skip_all "apache2 not installed"
[ -f /usr/lib/apache2/modules/mod_qos.so ] || skip_all "mod_qos not installed (libapache2-mod-qos)"
[ -f /usr/lib/apache2/modules/mod_fcgid.so ] || skip_all "mod_fcgid not installed"

start_postgres || bail "PostgreSQL did not start"
install_fcgi_programs || bail "cannot copy the FastCGI programs"
apache_prepare
start_apache apache-fcgid.conf || bail "Apache did not start"
poll_setup
limits_hold_start
limits_per_address_case 000
limits_slow_case yes
limits_body_case
limits_hold_check
tap_plan "$tap_count"
tap_done
