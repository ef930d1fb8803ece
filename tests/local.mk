# tests/local.mk: the test suite (automake TAP), cheapest first: unit, SQL, programs and the
# API, long-poll, the sidecar, the browser.
EXTRA_DIST += tests/lib.sh tests/run-sql.sh tests/run-node.sh tests/tap.h tests/tap.js

# Unit tests: C, table-driven, TAP through tests/tap.h.
UNIT_TESTS = tests/unit/validate tests/unit/cursor tests/unit/params tests/unit/auth \
	tests/unit/reply tests/unit/config tests/unit/message tests/unit/limiter tests/unit/kick \
	tests/unit/fanout tests/unit/table tests/unit/list tests/unit/options
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
tests_unit_table_LDADD = $(PUSH_LIBS)
tests_unit_list_LDADD = $(PUSH_LIBS)
tests_unit_options_LDADD = $(PUSH_LIBS)
EXTRA_tests_unit_limiter_DEPENDENCIES = fcgi/limiter.c
# The sidecar's channel fan-out with fake sinks: ws/channel.c and ws/frame.c, without lws.
tests_unit_fanout_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS)
tests_unit_fanout_LDADD = $(PUSH_LIBS)
EXTRA_tests_unit_fanout_DEPENDENCIES = ws/channel.c ws/frame.c ws/sink.h
# They are the only tests without an extension: under AddressSanitizer they run with
# LeakSanitizer on whatever ASAN_OPTIONS says (the servers of the other tests are killed, not
# shut down, so scripts/test turns it off for the rest). A leak fails the test.
LOG_COMPILER = env ASAN_OPTIONS="$${ASAN_OPTIONS:+$$ASAN_OPTIONS:}detect_leaks=1:exitcode=23"

# SQL: pgTAP files, each against a freshly migrated private database, and shell tests.
SQL_TESTS = tests/sql/schema.sql tests/sql/app.sql tests/sql/channel.sql tests/sql/publish.sql \
	tests/sql/batch.sql tests/sql/history.sql tests/sql/read.sql tests/sql/presence.sql \
	tests/sql/token.sql tests/sql/jwt.sql tests/sql/example.sql tests/sql/privileges.sql \
	tests/sql/group.sql tests/sql/names.sql tests/sql/presence-events.sql tests/sql/unread-kept.sql \
	tests/sql/read-each.sql tests/sql/read-events.sql tests/sql/msgid.sql tests/sql/retention.sql \
	tests/sql/kick.sql tests/sql/publish-rows.sql
SQL_SHELL_TESTS = tests/sql/migrate-twice.sh tests/sql/concurrency.sh tests/sql/notify.sh \
	tests/sql/read-events-concurrency.sh

# Programs, pushctl and push-api through lighttpd.
API_TESTS = tests/programs.sh tests/pushctl.sh tests/api.sh tests/jwt.sh tests/trust.sh \
	tests/publish-concurrency.sh tests/publish-group.sh tests/goeasy.sh tests/names.sh tests/unread.sh tests/poll-leave.sh tests/poll-supersede.sh \
	tests/pushctl-app.sh tests/read-events.sh tests/quick-start.sh

# The poller and long-poll under lighttpd, Apache mod_fcgid and mod_proxy_fcgi.
check_PROGRAMS += tests/poller-check
tests_poller_check_LDADD = $(POLLER_LIBS) $(PUSH_LIBS)
POLL_TESTS = tests/poller.sh tests/poll-lighttpd.sh tests/poll-apache-fcgid.sh \
	tests/poll-apache-proxy.sh tests/poll-many.sh tests/poll-ring.sh tests/poll-abandon.sh \
	tests/poller-silence.sh
EXTRA_DIST += tests/poll-common.sh tests/poll-clients.py tests/http_client.py tests/apache.sh tests/tcp-proxy.py

# The web servers' own limits under each hosting: connections per client address, slow
# request headers (slowloris), and a held poll left alone.
LIMIT_TESTS = tests/limits-lighttpd.sh tests/limits-apache-proxy.sh tests/limits-apache-fcgid.sh
EXTRA_DIST += tests/limits-common.sh tests/slow-client.py

# push-api under abuse: hostile bodies, one address publishing too fast, readers of unknown
# channels.
API_TESTS += tests/abuse-api.sh

# The long-poll load client (hold, abandon, follow), also bench/poll.sh's.
check_PROGRAMS += tests/poll-load
tests_poll_load_SOURCES = tests/poll-load.c tests/http-response.c tests/http-response.h
tests_poll_load_LDADD = lib/libpush.a $(JSONC_LIBS)

# The WebSocket and SSE sidecar, with a C load client for the 5,000-subscriber test.
check_PROGRAMS += tests/ws-load
tests_ws_load_SOURCES = tests/ws-load.c tests/http-response.c tests/http-response.h
tests_ws_load_LDADD = lib/libpush.a
WS_TESTS = tests/ws-basic.sh tests/idempotent.sh tests/ws-resume.sh tests/ws-sse.sh tests/ws-slow.sh tests/ws-limits.sh \
	tests/ws-restart.sh tests/ws-pg-restart.sh tests/ws-workers.sh tests/ws-load.sh tests/ws-faults.sh \
	tests/ws-abuse.sh tests/ws-address.sh
EXTRA_DIST += tests/ws-lib.sh tests/ws_client.py

# Failover: the primary stops mid-stream and its synchronous standby is promoted; every
# program follows it through a multi-host DSN and every transport loses nothing.
WS_TESTS += tests/failover.sh
EXTRA_DIST += tests/failover.py
# pushctl kick across push-api, push-poll and the sidecar; presence marks claimed users.
WS_TESTS += tests/kick.sh
# A claimed user's own data= in presence, marked verified: false.
WS_TESTS += tests/claimed-data.sh

# The browser client: ES3 parse and freshness of push.min.js, push.js's rules in node with
# fakes, and push.js with the demo page in Chromium against the whole stack (needs npm ci).
BROWSER_TESTS = tests/es3.js tests/browser/client-logic.js tests/browser.sh tests/goeasy-browser.sh \
	tests/notes-browser.sh
EXTRA_DIST += tests/browser/push.test.js tests/browser/goeasy.test.js tests/browser/notes.test.js tests/browser/stack.js tests/browser/minify.js package.json \
	package-lock.json

# ThreadSanitizer: the tests whose programs run threads against each other (the poller's
# listener and its watchers, the held set's watcher, the gateway's workers, push-poll's
# maintenance thread, the sidecar's database jobs), in a build configured with
# --enable-sanitizers=thread (scripts/test makes build/tsan): `make check-tsan`. Every report
# goes to a file under tsan-reports/ (a server's stderr is not its test's) and fails the run;
# the first race also ends its process (halt_on_error), which fails its test.
TSAN_TESTS = tests/poller.sh tests/poll-ring.sh tests/poll-abandon.sh tests/poll-lighttpd.sh tests/poll-supersede.sh \
	tests/poll-many.sh tests/poller-silence.sh tests/ws-workers.sh tests/ws-pg-restart.sh
TSAN_CHECK_OPTIONS = halt_on_error=1:exitcode=66:second_deadlock_stack=1:log_path=$(abs_top_builddir)/tsan-reports/tsan
check-tsan:
	@case '$(SAN_CFLAGS)' in *sanitize=thread*) ;; \
	  *) echo "check-tsan: this build is not configured with --enable-sanitizers=thread" >&2; exit 2;; esac
	@rm -rf tsan-reports && mkdir -m 1777 tsan-reports
	@TSAN_OPTIONS='$(TSAN_CHECK_OPTIONS)' $(MAKE) $(AM_MAKEFLAGS) check TESTS='$(TSAN_TESTS)'; rc=$$?; \
	if ls tsan-reports/tsan.* >/dev/null 2>&1; then \
	  echo "check-tsan: ThreadSanitizer wrote $$(ls tsan-reports | wc -l) reports in tsan-reports/; the first:" >&2; \
	  cat tsan-reports/tsan.* | head -150 >&2; rc=1; fi; \
	exit $$rc
.PHONY: check-tsan

# libFuzzer targets (clang, ASan+UBSan) for the parsers, validators, tokens, the JSONP
# writer and the sidecar's WebSocket requests and SSE query: regression inputs, then PUSH_FUZZ_SECONDS (10) of fuzzing each.
FUZZ_TESTS = tests/fuzz.sh
EXTRA_DIST += tests/fuzz

TESTS += $(UNIT_TESTS) $(FUZZ_TESTS) $(SQL_TESTS) $(SQL_SHELL_TESTS) $(API_TESTS) $(POLL_TESTS) $(LIMIT_TESTS) \
	$(WS_TESTS) $(BROWSER_TESTS)
EXTRA_DIST += $(FUZZ_TESTS) $(SQL_TESTS) $(SQL_SHELL_TESTS) $(API_TESTS) $(POLL_TESTS) $(LIMIT_TESTS) $(WS_TESTS) \
	tests/es3.js tests/browser/client-logic.js tests/browser.sh tests/goeasy-browser.sh tests/notes-browser.sh
