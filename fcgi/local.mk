# fcgi/local.mk: build rules for fcgi/.
