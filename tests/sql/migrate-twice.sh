#!/usr/bin/env bash
# migrate-twice.sh: sql/migrate.sh applies each migration once; a second run is a no-op; files run as one query.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
use_test_database
sql() { $PUSH_TEST_PSQL -X -q -At -v ON_ERROR_STOP=1 "$@"; }
top=$(cd "$here/../.." && pwd)

files=($(cd "$top/sql/migrations" && ls [0-9][0-9][0-9]_*.sql))
tap_plan $((4 + 2 * ${#files[@]}))

# migrate.sh takes the psql program in PSQL and the connection arguments as its own.
read -r -a connection <<<"$PUSH_TEST_PSQL"
export PSQL=${connection[0]}
connection=("${connection[@]:1}")

fingerprint() {
    sql -c "SELECT md5(string_agg(x, E'\n' ORDER BY x)) FROM (
        SELECT p.oid || ' ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid)) AS x
        FROM pg_proc p WHERE p.pronamespace = 'push'::regnamespace
        UNION ALL
        SELECT c.oid || ' ' || c.relname || ' ' || c.relkind::text
        FROM pg_class c WHERE c.relnamespace = 'push'::regnamespace
        UNION ALL
        SELECT a.attrelid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = 'push'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT version || ' ' || name || ' ' || applied_at FROM push.schema_version) s"
}

"$top/sql/migrate.sh" "${connection[@]}" >/dev/null
ok $? "the first run succeeds (applying whatever is missing)"
before=$(fingerprint)

out=$("$top/sql/migrate.sh" "${connection[@]}")
is "$?:$out" "0:up to date" "the second run applies nothing"
after=$(fingerprint)
[ -n "$before" ] && [ "$after" = "$before" ]
ok $? "the second run leaves every table, column, function and version as it was"

expected=$(printf '%s\n' "${files[@]}" | sed 's/^0*\([0-9][0-9]*\)_/\1 &/')
is "$(sql -F ' ' -c 'SELECT version, name FROM push.schema_version ORDER BY version')" "$expected" \
    "push.schema_version lists every migration file once"

# pushctl migrate sends each file's whole text as one query inside its transaction, so the files must be
# plain SQL without psql commands or transaction control. Replay them that way on an empty schema and
# roll back.
replay=(-c "BEGIN" -c "SET LOCAL client_min_messages = warning" -c "DROP SCHEMA push CASCADE"
        -c "CREATE SCHEMA push"
        -c "CREATE TABLE push.schema_version(version int PRIMARY KEY, name text NOT NULL,
                                             applied_at timestamptz NOT NULL DEFAULT now())")
for file in "${files[@]}"; do
    ! grep -Eiq '^[[:space:]]*(\\|(BEGIN|COMMIT|ROLLBACK|START TRANSACTION)[[:space:]]*;)' "$top/sql/migrations/$file"
    ok $? "$file has no psql commands and no transaction control"
    replay+=(-c "$(cat "$top/sql/migrations/$file")"
             -c "INSERT INTO push.schema_version(version, name) VALUES (${file%%_*}, '$file')")
done
replay+=(-c "SELECT name FROM push.schema_version ORDER BY version" -c "ROLLBACK")
replayed=$(sql "${replay[@]}" 2>&1)
for file in "${files[@]}"; do
    grep -qx "$file" <<<"$replayed"
    ok $? "$file applies as one query string on an empty schema"
done
[ "$replayed" = "$(printf '%s\n' "${files[@]}")" ] || diag "$replayed"
tap_done
