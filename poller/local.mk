# poller/local.mk: the LISTEN/NOTIFY dispatcher, linked by push-poll and the sidecar.
noinst_LIBRARIES += poller/libpoller.a
poller_libpoller_a_SOURCES = poller/poller.c poller/poller.h
POLLER_LIBS = poller/libpoller.a
