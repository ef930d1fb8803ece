#!/usr/bin/env bash
# tests/failover.sh: the primary PostgreSQL stops in the middle of a stream and its synchronous
# standby is promoted: push-api, push-poll (under lighttpd) and push-ws, given both servers in
# one DSN with target_session_attrs=read-write, follow the new primary; every acknowledged
# publish reaches a WebSocket, an SSE and a long-poll subscriber exactly once, in order.
. "$(dirname "$0")/ws-lib.sh"
ws_require
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
command -v pg_basebackup >/dev/null || skip_all "pg_basebackup not installed"

COUNT=300
# Events waited for get this long: a busy machine under ASan is slow to start and reconnect.
wait_long() { local _; for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
OUTAGE=2          # seconds from the primary's stop to the promotion
RECOVERY_LIMIT=20 # seconds from promotion to the first acknowledged publish, at most

# The primary: commits wait for the standby (synchronous_commit=on once it has a standby).
PG_EXTRA_OPTS="-c synchronous_commit=on -c wal_level=replica"
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop || { echo "Bail out! no app"; exit 1; }
PRIMARY_DATA=$PGDATA_DIR PRIMARY_RUN=$PG_SOCKET_DIR

# The standby: a base backup of the primary (-R: it streams from it), its own socket directory.
STANDBY_DATA=$T/pg2/data STANDBY_RUN=$T/pg2/run
mkdir -p "$STANDBY_RUN"
chown -R postgres "$T/pg2"
chown postgres:www-data "$STANDBY_RUN"
chmod 0750 "$STANDBY_RUN"
printf 'local replication postgres peer map=push\n' >>"$PRIMARY_DATA/pg_hba.conf"
$PSQL -c "SELECT pg_reload_conf()" >/dev/null
runuser -u postgres -- "$PG_BIN/pg_basebackup" -D "$STANDBY_DATA" -R -X stream -c fast --no-sync \
    -h "$PRIMARY_RUN" -U postgres >"$T/pg2/basebackup.log" 2>&1 ||
    { cat "$T/pg2/basebackup.log" >&2; echo "Bail out! pg_basebackup failed"; exit 1; }
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$STANDBY_DATA" -l "$T/pg2/postgres.log" -w -t 30 \
    -o "-k $STANDBY_RUN -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=300 -c cluster_name=standby" \
    start >/dev/null || { cat "$T/pg2/postgres.log" >&2; echo "Bail out! the standby did not start"; exit 1; }
stop_standby() {
    [ -f "$STANDBY_DATA/postmaster.pid" ] &&
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$STANDBY_DATA" -m immediate stop >/dev/null 2>&1
    tap_cleanup
}
trap stop_standby EXIT
PSQL2="psql -X -q -At -v ON_ERROR_STOP=1 -h $STANDBY_RUN -U postgres -d push"

# Synchronous from now on: an acknowledged commit is on the standby too.
$PSQL -c "ALTER SYSTEM SET synchronous_standby_names = 'standby'" -c "SELECT pg_reload_conf()" >/dev/null
sync_standby() { [ "$($PSQL -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'")" = sync ]; }
wait_long sync_standby
ok $? "the standby streams from the primary, synchronously"
is "$($PSQL2 -c "SELECT pg_is_in_recovery()")" t "the standby is read-only until promoted"

# The programs know both servers and want the one that takes writes.
export PUSH_DSN="host=$PRIMARY_RUN,$STANDBY_RUN dbname=push user=push_web target_session_attrs=read-write"
# No liveness probe on a quiet listener meanwhile: the LISTEN connections are told by their query.
export PUSH_LISTENER_IDLE=600
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
start_ws || { echo "Bail out! push-ws did not start"; exit 1; }

# listeners PSQL: the programs' LISTEN connections on one server.
listeners() { $1 -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'push_web' AND query LIKE 'LISTEN%'" 2>/dev/null; }
two_listeners() { [ "$(listeners "$1")" -ge 2 ]; }
wait_long two_listeners "$PSQL"
ok $? "push-poll's and push-ws's listeners are on the primary ($(listeners "$PSQL"))"

STOP="runuser -u postgres -- $PG_BIN/pg_ctl -D $PRIMARY_DATA -m immediate -w stop"
PROMOTE="runuser -u postgres -- $PG_BIN/pg_ctl -D $STANDBY_DATA -w -t 60 promote"
$PY "$top_srcdir/tests/failover.py" "$BASE" "$WS_HTTP" "$PUBLISH_KEY" "$SUBSCRIBE_KEY" stream "$COUNT" \
    --stop "$STOP" --promote "$PROMOTE" --outage "$OUTAGE" >"$T/result" 2>"$T/py.err"
[ -s "$T/py.err" ] && diag "$(tail -20 "$T/py.err")"
R=$(grep '^{' "$T/result")
[ -n "$R" ] || { echo "Bail out! no result from tests/failover.py"; exit 1; }
r() { json "$1" <<<"$R"; }

is "$($PSQL2 -c "SELECT pg_is_in_recovery()")" f "the standby was promoted"
is "$(r 'j["published"]')" "$COUNT" "every publish was made, retried through the failover where it was not acknowledged"
is "$(r 'j["contents"] == list(range(1, len(j["contents"]) + 1)) and j["seqs"] == list(range(1, len(j["seqs"]) + 1))')" True \
    "each publish was stored once, in order: n1..n$COUNT at seqs 1..$COUNT"
is "$($PSQL2 -c "SELECT last_seq FROM push.channel WHERE name = 'stream'")" "$(r 'j["final"]')" \
    "the new primary's head is the last seq published"
like "$(r 'j["seq_at_stop"]')" '^[1-9]' "the primary stopped in the middle of the stream"
like "$(r 'j["acked_after_promote"]')" '^[1-9]' "publishes were acknowledged after the promotion"
for transport in ws sse poll; do
    is "$(r "[s for s, _ in j['got']['$transport']] == list(range(1, j['final'] + 1))")" True \
        "$transport: every seq 1..$COUNT exactly once, in order"
    is "$(r "[c for _, c in j['got']['$transport']] == ['n%d' % n for n in j['contents']]")" True \
        "$transport: the contents as published"
done
for transport in ws sse poll; do
    resumed=$(r "j['delivery_resumed_s']['$transport']")
    ok "$($PY -c "print(0 if 0 <= $resumed <= $RECOVERY_LIMIT else 1)" 2>/dev/null || echo 1)" \
        "$transport: delivery resumed within $RECOVERY_LIMIT s of the promotion ($resumed s)"
done
recovery=$(r 'j["first_publish_after_promote_s"]')
like "$recovery" '^[0-9.]+$' "a publish is acknowledged after the promotion"
ok "$($PY -c "print(0 if $recovery <= $RECOVERY_LIMIT else 1)" 2>/dev/null || echo 1)" \
    "within $RECOVERY_LIMIT s of it ($recovery s)"
diag "primary stopped at seq $(r 'j["seq_at_stop"]'), standby promoted $OUTAGE s later (pg_ctl promote took" \
    "$(r 'j["promote_s"]') s); publishing stopped for $(r 'j["outage_s"]') s in all;" \
    "first acknowledged publish $recovery s after the promotion, last failed one" \
    "$(r 'j["last_failure_after_promote_s"]') s after it; failures $(r 'j["failures"]');" \
    "first delivery after the promotion (s): $(r 'j["delivery_resumed_s"]')"
diag "deliveries checked: $(r 'sum(len(v) for v in j["got"].values())') (seqs 1..$(r 'j["final"]') on ws, sse, poll);" \
    "subscriber reconnects $(r 'j["reconnects"]'); run took $(r 'j["seconds"]') s"
wait_long two_listeners "$PSQL2"
ok $? "push-poll's and push-ws's listeners are on the new primary ($(listeners "$PSQL2"))"

# An app made on the new primary: each program looks its keys up there, on the first try
# (push-ws once its lookup connection, dropped with the old primary, is up again).
lookup_up() { [ "$(metric push_ws_lookup_connected)" = 1 ]; }
wait_long lookup_up
ok $? "push-ws's key lookup connection is up again"
PSQL=$PSQL2 create_app after || { echo "Bail out! no app on the new primary"; exit 1; }
is "$(http POST "$BASE/push/publish" -d "appkey=$PUBLISH_KEY&channel=late&content=fresh" | cut -d' ' -f1)" 200 \
    "push-api publishes for it"
is "$(curl -s "$BASE/push/poll?appkey=$SUBSCRIBE_KEY&channel=late&since=late:0&timeout=1" | json '[m["content"] for m in j["messages"]]')" \
    "['fresh']" "push-poll answers a poll for it"
curl -s -N --max-time 30 "$WS_HTTP/push/sse?appkey=$SUBSCRIBE_KEY&channel=late&since=late:0" >"$T/late.sse" &
late_sse=$!
track_pid "$late_sse"
wait_long grep -q '"content":"fresh"' "$T/late.sse"
kill "$late_sse" 2>/dev/null
like "$(grep '"op":"message"' "$T/late.sse")" '"content":"fresh"' "push-ws streams it over SSE"
late_ws=$($PY - "$WS_URL/push/ws?appkey=$SUBSCRIBE_KEY" 2>&1 <<'PY'
import asyncio, sys
import ws_client as w
async def main():
    ws = await w.connect(sys.argv[1])
    await w.subscribe(ws, "late", since=0)
    print([m["content"] for m in await w.messages(ws, "late", 1)])
asyncio.run(main())
PY
)
is "$late_ws" "['fresh']" "and over a WebSocket"
tap_plan "$tap_count"
tap_done
