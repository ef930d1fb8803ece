#!/usr/bin/env bash
# tests/poller.sh: runs tests/poller-check, the LISTEN/NOTIFY dispatcher against a real
# PostgreSQL, restart included.
. "$(dirname "$0")/lib.sh"

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app poller || { echo "Bail out! cannot create an app"; exit 1; }
export PUBLISH_KEY
export POLLER_RESTART="runuser -u postgres -- $PG_BIN/pg_ctl -D $PGDATA_DIR -l $T/pg/postgres.log -m fast -w restart >/dev/null"
"$top_builddir/tests/poller-check"
