# poller/local.mk: build rules for poller/.
