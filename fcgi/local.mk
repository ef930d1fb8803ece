# fcgi/local.mk: the FastCGI programs and their shared gateway.
noinst_LIBRARIES += fcgi/libgateway.a
fcgi_libgateway_a_SOURCES = fcgi/gateway.c fcgi/gateway.h
fcgi_libgateway_a_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
GATEWAY_LIBS = fcgi/libgateway.a $(FCGI_LIBS)

noinst_LIBRARIES += fcgi/libendpoint.a
fcgi_libendpoint_a_SOURCES = fcgi/endpoint.c fcgi/endpoint.h
fcgi_libendpoint_a_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)

pkglibexec_PROGRAMS += fcgi/push-api
fcgi_push_api_SOURCES = fcgi/push-api.c fcgi/group.c fcgi/group.h fcgi/limiter.c fcgi/limiter.h
fcgi_push_api_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
fcgi_push_api_LDADD = fcgi/libendpoint.a $(POLLER_LIBS) $(GATEWAY_LIBS) $(PUSH_LIBS)

pkglibexec_PROGRAMS += fcgi/push-poll
fcgi_push_poll_SOURCES = fcgi/push-poll.c fcgi/feed.c fcgi/feed.h fcgi/held.c fcgi/held.h \
	fcgi/touch.c fcgi/touch.h
fcgi_push_poll_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
fcgi_push_poll_LDADD = fcgi/libendpoint.a $(POLLER_LIBS) $(GATEWAY_LIBS) $(PUSH_LIBS)
