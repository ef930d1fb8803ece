# bench/local.mk: `make bench` runs bench/compare --short (push and Nchan side by side, every
# workload in one table) against throw-away servers; bench/poll.sh (long-poll fan-out, held and
# abandoned polls) runs on its own.
EXTRA_DIST += bench/compare bench/compare-report.py bench/lib.sh bench/nchan.sh bench/poll.sh

bench: all
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' $(SHELL) $(top_srcdir)/bench/compare --short
.PHONY: bench
# bench/compare drives the sidecar and the long-polls with the test suite's load clients.
bench: tests/ws-load tests/poll-load
# bench/poll.sh: the floor, a constant-reply FastCGI responder.
check_PROGRAMS += bench/fcgi-const
bench_fcgi_const_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
bench_fcgi_const_LDADD = $(FCGI_LIBS)
bench: bench/fcgi-const
# bench/publish-load: the publish load client (single and batch publishes, push and Nchan).
check_PROGRAMS += bench/publish-load
bench_publish_load_SOURCES = bench/publish-load.c tests/http-response.c tests/http-response.h
bench_publish_load_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_publish_load_LDADD = lib/libpush.a
bench: bench/publish-load
