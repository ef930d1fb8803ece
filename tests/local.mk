# tests/local.mk: the test suite (automake TAP), cheapest first: unit, SQL, programs and the
# API, long-poll, the sidecar, the browser.
EXTRA_DIST += tests/lib.sh tests/run-sql.sh tests/run-node.sh tests/tap.h tests/tap.js

# Unit tests: C, table-driven, TAP through tests/tap.h.
UNIT_TESTS = tests/unit/validate tests/unit/cursor tests/unit/params tests/unit/auth \
	tests/unit/reply tests/unit/config tests/unit/message tests/unit/limiter tests/unit/kick
check_PROGRAMS += $(UNIT_TESTS)
tests_unit_validate_LDADD = $(PUSH_LIBS)
tests_unit_cursor_LDADD = $(PUSH_LIBS)
tests_unit_params_LDADD = $(PUSH_LIBS)
tests_unit_auth_LDADD = $(PUSH_LIBS)
tests_unit_reply_LDADD = $(PUSH_LIBS)
tests_unit_config_LDADD = $(PUSH_LIBS)
tests_unit_message_LDADD = $(PUSH_LIBS)
tests_unit_limiter_LDADD = $(PUSH_LIBS)
tests_unit_kick_LDADD = $(PUSH_LIBS)
EXTRA_tests_unit_limiter_DEPENDENCIES = fcgi/limiter.c

# SQL: pgTAP files, each against a freshly migrated private database, and shell tests.
SQL_TESTS = tests/sql/schema.sql tests/sql/app.sql tests/sql/channel.sql tests/sql/publish.sql \
	tests/sql/batch.sql tests/sql/history.sql tests/sql/read.sql tests/sql/presence.sql \
	tests/sql/token.sql tests/sql/jwt.sql tests/sql/example.sql tests/sql/privileges.sql \
	tests/sql/group.sql tests/sql/names.sql tests/sql/presence-events.sql tests/sql/unread-kept.sql \
	tests/sql/read-each.sql tests/sql/kick.sql
SQL_SHELL_TESTS = tests/sql/migrate-twice.sh tests/sql/concurrency.sh tests/sql/notify.sh

# Programs, pushctl and push-api through lighttpd.
API_TESTS = tests/programs.sh tests/pushctl.sh tests/api.sh tests/jwt.sh tests/trust.sh \
	tests/publish-concurrency.sh tests/publish-group.sh tests/goeasy.sh tests/names.sh tests/unread.sh \
	tests/pushctl-app.sh

# The poller and long-poll under lighttpd, Apache mod_fcgid and mod_proxy_fcgi.
check_PROGRAMS += tests/poller-check
tests_poller_check_LDADD = $(POLLER_LIBS) $(PUSH_LIBS)
POLL_TESTS = tests/poller.sh tests/poll-lighttpd.sh tests/poll-apache-fcgid.sh \
	tests/poll-apache-proxy.sh tests/poll-many.sh tests/poll-ring.sh tests/poll-abandon.sh \
	tests/poller-silence.sh
EXTRA_DIST += tests/poll-common.sh tests/poll-clients.py tests/apache.sh tests/tcp-proxy.py

# The web servers' own limits under each hosting: connections per client address, slow
# request headers (slowloris), and a held poll left alone.
LIMIT_TESTS = tests/limits-lighttpd.sh tests/limits-apache-proxy.sh tests/limits-apache-fcgid.sh
EXTRA_DIST += tests/limits-common.sh tests/slow-client.py

# push-api under abuse: hostile bodies, one address publishing too fast, readers of unknown
# channels.
API_TESTS += tests/abuse-api.sh

# The long-poll load client (hold, abandon, follow), also bench/poll.sh's.
check_PROGRAMS += tests/poll-load
tests_poll_load_LDADD = $(JSONC_LIBS)

# The WebSocket and SSE sidecar, with a C load client for the 5,000-subscriber test.
check_PROGRAMS += tests/ws-load
WS_TESTS = tests/ws-basic.sh tests/ws-resume.sh tests/ws-sse.sh tests/ws-slow.sh tests/ws-limits.sh \
	tests/ws-restart.sh tests/ws-pg-restart.sh tests/ws-workers.sh tests/ws-load.sh tests/ws-faults.sh \
	tests/ws-abuse.sh tests/ws-address.sh
EXTRA_DIST += tests/ws-lib.sh tests/ws_client.py

# pushctl kick across push-api, push-poll and the sidecar; presence marks claimed users.
WS_TESTS += tests/kick.sh

# The browser client: ES3 parse and freshness of push.min.js, push.js's rules in node with
# fakes, and push.js with the demo page in Chromium against the whole stack (needs npm ci).
BROWSER_TESTS = tests/es3.js tests/browser/client-logic.js tests/browser.sh tests/goeasy-browser.sh
EXTRA_DIST += tests/browser/push.test.js tests/browser/goeasy.test.js tests/browser/stack.js tests/browser/minify.js package.json \
	package-lock.json

# libFuzzer targets (clang, ASan+UBSan) for the parsers, validators, tokens, the JSONP
# writer and the sidecar's WebSocket requests and SSE query: regression inputs, then PUSH_FUZZ_SECONDS (10) of fuzzing each.
FUZZ_TESTS = tests/fuzz.sh
EXTRA_DIST += tests/fuzz

TESTS += $(UNIT_TESTS) $(FUZZ_TESTS) $(SQL_TESTS) $(SQL_SHELL_TESTS) $(API_TESTS) $(POLL_TESTS) $(LIMIT_TESTS) \
	$(WS_TESTS) $(BROWSER_TESTS)
EXTRA_DIST += $(FUZZ_TESTS) $(SQL_TESTS) $(SQL_SHELL_TESTS) $(API_TESTS) $(POLL_TESTS) $(LIMIT_TESTS) $(WS_TESTS) \
	tests/es3.js tests/browser/client-logic.js tests/browser.sh tests/goeasy-browser.sh
