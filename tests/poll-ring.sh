#!/usr/bin/env bash
# tests/poll-ring.sh: re-polls answered from push-poll's memory: once a channel is followed, a
# poll whose cursor is inside the channel's ring (or that has no cursor) runs no SQL at all,
# counted with pg_stat_statements; a cursor older than the ring is read from PostgreSQL.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/poll-common.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"

PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
start_postgres || bail "PostgreSQL did not start"
$PSQL -c "CREATE EXTENSION pg_stat_statements" || bail "pg_stat_statements is missing"
export PUSH_POLL_RING=4
start_lighttpd || bail "lighttpd did not start"
poll_setup

# Statements run by anyone but this test's own counting queries.
statements() {
    $PSQL -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'"
}

# wait_ring_head SEQ: waits up to 5 s until a poll from SEQ - 1 answers the one message SEQ
# (the poller has taken it in).
wait_ring_head() {
    local r
    for _ in $(seq 50); do
        r=$(poll "appkey=$S&channel=ring&since=ring:$(($1 - 1))&timeout=0")
        [ "$(body_of "$r" | json 'len(j["messages"])')" = 1 ] && return 0
        sleep 0.1
    done
    return 1
}

# A held poll follows the channel; three messages arrive through the poller.
curl -s -o "$T/first.body" "$BASE/push/poll?appkey=$S&channel=ring&timeout=20" &
first=$!
sleep 1
for i in 1 2 3; do publish ring "m$i" >/dev/null; done
wait $first
is "$(json 'j["messages"][0]["content"]' <"$T/first.body")" m1 "the held poll gets the first message"
# Wait until the ring holds all three (a poll from m2 answers m3 at once).
wait_ring_head 3

before=$(statements)
ok=0
for i in $(seq 20); do
    # Cursors 1, 2 and 3 (the head); since=0 asks for the oldest kept, which only the
    # database knows.
    r=$(poll "appkey=$S&channel=ring&since=ring:$((i % 3 + 1))&timeout=0")
    [ "$(body_of "$r" | json '",".join(m["content"] for m in j["messages"])')" = \
      "$( (seq $((i % 3 + 2)) 3 | sed 's/^/m/') | paste -sd,)" ] || ok=1
done
r=$(poll "appkey=$S&channel=ring&timeout=0")
is "$(body_of "$r" | json 'j["cursor"]')" ring:3 "a poll without a cursor starts at the head from memory"
after=$(statements)
ok $ok "20 re-polls with cursors inside the ring get exactly the messages after their cursor"
is "$((after - before))" 0 "and they, and the poll without a cursor, ran no SQL ($before -> $after statements)"

# A held re-poll is answered by the next publish from memory too: only the publish and the
# poller's one fetch run.
curl -s -o "$T/held.body" "$BASE/push/poll?appkey=$S&channel=ring&since=ring:3&timeout=20" &
held=$!
sleep 1
before=$(statements)
publish ring m4 >/dev/null
wait $held
after=$(statements)
is "$(json '[m["content"] for m in j["messages"]]' <"$T/held.body")" "['m4']" "a held re-poll gets the next message"
diag "publish + delivery: $((after - before)) statements"

# Older than the ring (4 messages kept): PostgreSQL answers.
for i in 5 6 7 8; do publish ring "m$i" >/dev/null; done
wait_ring_head 8
before=$(statements)
r=$(poll "appkey=$S&channel=ring&since=ring:1&timeout=0")
after=$(statements)
is "$(body_of "$r" | json '",".join(m["content"] for m in j["messages"])')" "m2,m3,m4,m5,m6,m7,m8" \
    "a cursor older than the ring gets every message after it"
ok $(( after > before ? 0 : 1 )) "read from PostgreSQL ($((after - before)) statements)"

# Catch-up reads at most limit + 1 rows in total, whatever the number of channels.
for c in a b c d; do for i in 1 2 3 4 5; do publish "wide-$c" "$c$i" >/dev/null; done; done
$PSQL -c "SELECT pg_stat_statements_reset()" >/dev/null
r=$(poll "appkey=$S&channel=wide-a,wide-b,wide-c,wide-d&since=wide-a:0,wide-b:0,wide-c:0,wide-d:0&limit=3&timeout=0")
is "$(body_of "$r" | json 'len(j["messages"]), j["more"]')" "3 True" "4 channels of 5 messages, limit 3: 3 messages and more"
is "$($PSQL -c "SELECT sum(rows) FROM pg_stat_statements WHERE query LIKE '%FROM push.message%ORDER BY run%'")" 4 \
    "the catch-up returned limit + 1 = 4 rows in all"
# Keys stay cached, but a change to the app is notified (push_app) and seen at once.
r=$(poll "appkey=$S&channel=ring&timeout=0" -H 'Origin: https://shop.example')
is "${r%% *}" 200 "an allowed origin polls (the key is cached now)"
$PSQL -c "UPDATE push.app SET origins = '{https://other.example}' WHERE id = $APP_ID"
code=
for _ in $(seq 30); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Origin: https://shop.example' "$BASE/push/poll?appkey=$S&channel=ring&timeout=0")
    [ "$code" = 403 ] && break
    sleep 0.1
done
is "$code" 403 "after the app's origins change, the cached key follows within 3 s (not its 300 s TTL)"
tap_plan "$tap_count"
tap_done
