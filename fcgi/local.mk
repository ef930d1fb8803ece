# fcgi/local.mk: the FastCGI programs and their shared gateway.
noinst_LIBRARIES += fcgi/libgateway.a
fcgi_libgateway_a_SOURCES = fcgi/gateway.c fcgi/gateway.h
fcgi_libgateway_a_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
GATEWAY_LIBS = fcgi/libgateway.a $(FCGI_LIBS)
