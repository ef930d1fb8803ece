# conf/local.mk: build rules for conf/.
