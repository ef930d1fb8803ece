# sql/local.mk: build rules for sql/.
