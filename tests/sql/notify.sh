#!/usr/bin/env bash
# notify.sh: a committed publish notifies push_message with '<channel_id>:<seq>', a batch once with
# '<channel_id>:<seq>,...' (each channel's newest seq), split below 7,900 bytes when longer; a
# rolled-back one notifies nothing.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
use_test_database
sql() { $PUSH_TEST_PSQL -X -q -At -v ON_ERROR_STOP=1 "$@"; }
tap_plan 8

app="notify-test-$$"
cleanup() {
    sql -c "DELETE FROM push.app WHERE name = '$app'" >/dev/null 2>&1
}
trap 'cleanup; tap_cleanup' EXIT

read -r app_id key <<EOF_KEYS
$(sql -F ' ' -c "SELECT app_id, publish_key FROM push.app_create('$app')")
EOF_KEYS

# psql prints the notifications its session received after each command; one session listens and publishes.
out=$(sql 2>&1 <<EOF_SQL
LISTEN push_message;
SELECT push.publish('$key', 'news', 'first');
BEGIN;
SELECT push.publish('$key', 'news', 'rolled back');
ROLLBACK;
SELECT push.publish('$key', 'news', repeat('x', 65536));
SELECT count(*) FROM push.publish_batch('$key', '{news,other}', '{a,b}');
SELECT count(*) FROM push.publish_batch('$key', ARRAY(SELECT 'wide-' || g FROM generate_series(1, 400) g),
                                        array_fill('w'::text, ARRAY[400]));
EOF_SQL
)
news=$(sql -c "SELECT channel_id FROM push.channel_open($app_id, '{news}')")
other=$(sql -c "SELECT channel_id FROM push.channel_open($app_id, '{other}')")
# Other sessions may publish to the same database: keep this app's channels only.
# A batch's channels come in any order within its payload: each payload is shown sorted.
all_payloads=$(printf '%s\n' "$out" | sed -n 's/^Asynchronous notification "push_message" with payload "\([^"]*\)".*/\1/p')
payloads=$(printf '%s\n' "$all_payloads" |
    grep -E "(^|,)($news|$other):" | while read -r p; do printf '%s' "$p" | tr ',' '\n' | sort | paste -sd, -; done |
    tr '\n' ' ')

case " $payloads" in *" $news:1 "*) status=0 ;; *) status=1 ;; esac
ok $status "a committed publish notifies '<channel_id>:<seq>'"
case " $payloads" in *" $news:2 "*) status=0 ;; *) status=1 ;; esac
ok $status "a 64 KiB message notifies with ids only"
is "$payloads" "$news:1 $news:2 $(printf '%s\n' "$news:3" "$other:1" | sort | paste -sd, -) " \
    "each commit is notified once, in commit order; the batch once, with each channel's newest seq"
is "$(printf '%s' "$payloads" | wc -w)" 3 "the rolled-back publish notified nothing"
is "$(sql -c "SELECT string_agg(m.content, ',' ORDER BY m.seq) FROM push.message m WHERE m.channel_id = $news AND m.seq <> 2")" \
    "first,a" "the rolled-back seq was reused, leaving no hole"

# 400 channels' items (about 9,000 bytes) do not fit one payload: several, each below 7,900 bytes,
# name every channel once with its seq.
wide=$(sql -c "SELECT c.id || ':' || c.last_seq FROM push.channel c WHERE c.app_id = $app_id AND c.name LIKE 'wide-%' ORDER BY 1")
# Other sessions' payloads are left out: those whose first item is not one of these channels.
wide_payloads=$(printf '%s\n' "$all_payloads" | while read -r p; do
    printf '%s\n' "$wide" | grep -qxF "${p%%,*}" && printf '%s\n' "$p"; done)
is "$(printf '%s\n' "$wide_payloads" | grep -c .)" 2 "a 400-channel batch is notified in two payloads"
is "$(printf '%s\n' "$wide_payloads" | awk 'length($0) >= 7900' | wc -l)" 0 "each below 7,900 bytes"
is "$(printf '%s\n' "$wide_payloads" | tr ',' '\n' | sort)" "$(printf '%s\n' "$wide" | sort)" \
    "together they name each of the 400 channels once, with its seq"
tap_done
