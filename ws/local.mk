# ws/local.mk: push-ws, the WebSocket and Server-Sent Events sidecar.
bin_PROGRAMS += ws/push-ws
ws_push_ws_SOURCES = \
	ws/main.c \
	ws/channel.c ws/channel.h \
	ws/client.c ws/client.h \
	ws/sink.h \
	ws/frame.c ws/frame.h \
	ws/handshake.c ws/handshake.h \
	ws/inbox.c ws/inbox.h \
	ws/jobs.c ws/jobs.h \
	ws/mask.c ws/mask.h \
	ws/metrics.c ws/metrics.h \
	ws/ops.c ws/ops.h \
	ws/presence.c ws/presence.h \
	ws/request.c ws/request.h \
	ws/server.c ws/server.h \
	ws/sse.c ws/sse.h \
	ws/sse_query.c ws/sse_query.h
ws_push_ws_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS)
ws_push_ws_LDADD = $(POLLER_LIBS) $(PUSH_LIBS) $(LWS_LIBS)
EXTRA_DIST += ws/README.md
