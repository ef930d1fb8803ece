# tests/local.mk: the test suite (automake TAP). Add lines; never rewrite this file wholesale.
EXTRA_DIST += tests/lib.sh tests/run-sql.sh tests/run-node.sh

# Unit tests (C, TAP through tests/tap.h).

# SQL tests (pgTAP files run against a freshly migrated database).

# Integration tests (shell, real servers on free ports).
UNIT_TESTS = tests/unit/validate tests/unit/cursor tests/unit/params tests/unit/auth tests/unit/reply tests/unit/config
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
tests_unit_validate_LDADD = $(PUSH_LIBS)
tests_unit_cursor_LDADD = $(PUSH_LIBS)
tests_unit_params_LDADD = $(PUSH_LIBS)
tests_unit_auth_LDADD = $(PUSH_LIBS)
tests_unit_reply_LDADD = $(PUSH_LIBS)
tests_unit_config_LDADD = $(PUSH_LIBS)
EXTRA_DIST += tests/tap.h
TESTS += tests/api.sh
EXTRA_DIST += tests/api.sh
TESTS += tests/publish-concurrency.sh
EXTRA_DIST += tests/publish-concurrency.sh
TESTS += tests/poll-lighttpd.sh tests/poll-apache-fcgid.sh tests/poll-apache-proxy.sh tests/poll-many.sh
EXTRA_DIST += tests/poll-lighttpd.sh tests/poll-apache-fcgid.sh tests/poll-apache-proxy.sh tests/poll-many.sh
EXTRA_DIST += tests/poll-common.sh tests/poll-clients.py tests/apache.sh
SQL_TESTS = tests/sql/schema.sql tests/sql/app.sql tests/sql/channel.sql tests/sql/publish.sql \
	tests/sql/batch.sql tests/sql/history.sql tests/sql/read.sql tests/sql/presence.sql \
	tests/sql/token.sql tests/sql/example.sql
SQL_SHELL_TESTS = tests/sql/migrate-twice.sh tests/sql/concurrency.sh tests/sql/notify.sh
TESTS += $(SQL_TESTS) $(SQL_SHELL_TESTS)
EXTRA_DIST += $(SQL_TESTS) $(SQL_SHELL_TESTS)
# Browser client: ES3 parse and freshness of push.min.js, push.js's rules in node with fakes,
# and push.js with the demo page in Chromium against the whole stack (needs npm ci).
TESTS += tests/es3.js tests/browser/client-logic.js tests/browser.sh
EXTRA_DIST += tests/tap.js tests/es3.js tests/browser.sh tests/browser/client-logic.js tests/browser/push.test.js \
	tests/browser/minify.js package.json package-lock.json
# WebSocket and SSE sidecar (push-ws), with a C load client for the 5,000-subscriber test.
check_PROGRAMS += tests/ws-load
WS_TESTS = tests/ws-basic.sh tests/ws-resume.sh tests/ws-sse.sh tests/ws-slow.sh tests/ws-limits.sh \
	tests/ws-restart.sh tests/ws-pg-restart.sh tests/ws-workers.sh tests/ws-load.sh
TESTS += $(WS_TESTS)
EXTRA_DIST += $(WS_TESTS) tests/ws-lib.sh tests/ws_client.py
check_PROGRAMS += tests/poller-check
tests_poller_check_LDADD = $(POLLER_LIBS) $(PUSH_LIBS)
TESTS += tests/poller.sh
EXTRA_DIST += tests/poller.sh
TESTS += tests/pushctl.sh
EXTRA_DIST += tests/pushctl.sh
TESTS += tests/programs.sh
EXTRA_DIST += tests/programs.sh
