#!/usr/bin/env bash
# tests/run-sql.sh: runs one pgTAP file against a freshly migrated private database.
. "$(dirname "$0")/lib.sh"
file=$1
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
$PSQL -c "CREATE EXTENSION IF NOT EXISTS pgtap" >/dev/null 2>"$T/pgtap.err" ||
    { cat "$T/pgtap.err" >&2; skip_all "pgTAP (postgresql-15-pgtap) is not installed"; }
$PSQL -f "$file"
