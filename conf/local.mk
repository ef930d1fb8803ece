# conf/local.mk: installs the web server configurations, systemd units and the example settings.
confdir = $(pkgdatadir)/conf
dist_conf_DATA = conf/lighttpd.conf conf/apache-fcgid.conf conf/apache-proxy-fcgi.conf \
	conf/push.conf conf/push-api.service conf/push-poll.service
dist_conf_DATA += conf/push-ws.service conf/lighttpd-conns-per-ip.lua conf/push-prune.service conf/push-prune.timer
EXTRA_DIST += conf/README.md
