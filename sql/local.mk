# sql/local.mk: installs the migrations, the psql runner and the examples under $(pkgdatadir)/sql.
sqldir = $(pkgdatadir)/sql
dist_sql_SCRIPTS = sql/migrate.sh
dist_sql_DATA = sql/README.md
sqlmigrationsdir = $(pkgdatadir)/sql/migrations
dist_sqlmigrations_DATA = \
	sql/migrations/001_schema.sql \
	sql/migrations/002_publish.sql \
	sql/migrations/003_read_presence.sql \
	sql/migrations/004_views.sql \
	sql/migrations/005_app_notify.sql \
	sql/migrations/006_service_role.sql \
	sql/migrations/007_jwt.sql \
	sql/migrations/008_key_roles.sql \
	sql/migrations/009_group_publish.sql \
	sql/migrations/010_channel_on_publish.sql \
	sql/migrations/011_goeasy.sql \
	sql/migrations/012_presence_channels.sql \
	sql/migrations/013_presence_info.sql \
	sql/migrations/014_read_events.sql \
	sql/migrations/015_msgid_retention.sql \
	sql/migrations/016_kick.sql \
	sql/migrations/017_lean_publish.sql \
	sql/migrations/018_channel_id_lock.sql
sqlexamplesdir = $(pkgdatadir)/sql/examples
dist_sqlexamples_DATA = sql/examples/order_notify.sql
