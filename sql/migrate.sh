#!/bin/sh
# migrate.sh: applies sql/migrations/NNN_*.sql in order, each once, as `pushctl migrate` does.
#
# usage: sql/migrate.sh [psql connection args...]
#   sql/migrate.sh "-h /tmp/pg -U postgres push"     (one string of options is split into words)
#   sql/migrate.sh "postgresql://push@db/push"        (one conninfo string or URI is passed whole)
#   sql/migrate.sh -h db -U push push                 (several arguments are passed as they are)
# Environment: PSQL is the psql command (default psql; it may carry options), PUSH_MIGRATIONS the
# directory of the migrations (default: migrations/ beside this script).
#
# Each missing version runs as: BEGIN; <file text>; INSERT INTO push.schema_version; COMMIT.
# The version is the file's leading number, the name its file name. Prints what it applied.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${PUSH_MIGRATIONS:-$here/migrations}
psql=${PSQL:-psql}

if [ $# -eq 1 ]; then
    case $1 in
    -*) set -- $1 ;;
    esac
fi

run_psql() {
    $psql -X -q -v ON_ERROR_STOP=1 "$@"
}

run_psql -c "SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS push;
CREATE TABLE IF NOT EXISTS push.schema_version(version int PRIMARY KEY, name text NOT NULL,
                                               applied_at timestamptz NOT NULL DEFAULT now())" "$@"
applied=$(run_psql -At -c "SELECT version FROM push.schema_version ORDER BY version" "$@")

count=0
for file in "$dir"/[0-9][0-9][0-9]_*.sql; do
    [ -f "$file" ] || continue
    name=$(basename "$file")
    version=$(printf '%s' "${name%%_*}" | sed 's/^0*//')
    version=${version:-0}
    if printf '%s\n' "$applied" | grep -qx "$version"; then
        continue
    fi
    {
        printf 'BEGIN;\nSET LOCAL client_min_messages = warning;\n'
        cat "$file"
        printf "\n;\nINSERT INTO push.schema_version(version, name) VALUES (%s, '%s');\nCOMMIT;\n" "$version" "$name"
    } | run_psql "$@"
    echo "applied $name"
    count=$((count + 1))
done
[ "$count" -gt 0 ] || echo "up to date"
