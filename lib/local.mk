# lib/local.mk: the shared library every program links (config, log, db, params, reply, ...).
noinst_LIBRARIES += lib/libpush.a
lib_libpush_a_SOURCES = \
	lib/app.c lib/app.h \
	lib/auth.c lib/auth.h \
	lib/buf.c lib/buf.h \
	lib/clock.c lib/clock.h \
	lib/config.c lib/config.h \
	lib/cursor.c lib/cursor.h \
	lib/db.c lib/db.h \
	lib/kick.c lib/kick.h \
	lib/list.c lib/list.h \
	lib/listen.c lib/listen.h \
	lib/log.c lib/log.h \
	lib/message.c lib/message.h \
	lib/options.c lib/options.h \
	lib/params.c lib/params.h \
	lib/reply.c lib/reply.h \
	lib/table.c lib/table.h \
	lib/validate.c lib/validate.h
PUSH_LIBS = lib/libpush.a $(PQ_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS) $(UNISTRING_LIBS)
