# bench/local.mk: `make bench` runs every bench/*.sh against throw-away servers and prints figures.
BENCH_PROGRAMS_SH = bench/publish.sh bench/poll.sh
BENCH_PROGRAMS_SH += bench/ws-fanout.sh
EXTRA_DIST += $(BENCH_PROGRAMS_SH) bench/nchan.sh

bench: all
	@for b in $(BENCH_PROGRAMS_SH); do \
	  echo "== $$b"; \
	  top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' $(SHELL) $(top_srcdir)/$$b || exit 1; \
	done
.PHONY: bench
# bench/ws-fanout.sh drives the sidecar with the test suite's load client.
bench: tests/ws-load
# bench/poll.sh: the long-poll load client and the floor, a constant-reply FastCGI responder.
check_PROGRAMS += bench/fcgi-const
bench_fcgi_const_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
bench_fcgi_const_LDADD = $(FCGI_LIBS)
bench: tests/poll-load bench/fcgi-const
# bench/publish.sh: the publish load client (single and batch publishes, push and Nchan).
check_PROGRAMS += bench/publish-load
bench_publish_load_LDADD = lib/libpush.a
bench: bench/publish-load
