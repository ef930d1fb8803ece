# www/local.mk: the browser client and the demo page, installed under $(pkgdatadir)/www.
# push.min.js and goeasy.min.js are committed; `make minify` (or npm run minify) rebuilds them
# after npm ci, and tests/es3.js fails when one is stale.
wwwdir = $(pkgdatadir)/www
dist_www_DATA = www/push.js www/push.min.js www/goeasy.js www/goeasy.min.js www/demo.html www/demo.css \
	www/demo.js
EXTRA_DIST += www/README.md

.PHONY: minify
minify:
	cd $(top_srcdir) && node tests/browser/minify.js
