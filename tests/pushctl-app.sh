#!/usr/bin/env bash
# tests/pushctl-app.sh: pushctl app update and app delete against a real database, and what
# push-api makes of an update at once (the app cache hears of it).
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
tap_plan 32
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
CTL=$top_builddir/cli/pushctl

eval "$("$CTL" app create shop --origin https://shop.example --format env)"
settings() {
    $PSQL -c "SELECT array_to_string(origins, ' ') || '|' || client_publish || '|' || max_message_bytes || '|' || publish_rate
              FROM push.app WHERE name = '$1'"
}
is "$(settings shop)" "https://shop.example|false|65536|0" "the app as created"

out=$("$CTL" app update shop --max-bytes 10)
is "$?:$out" "0:app shop updated" "app update --max-bytes 10"
is "$(settings shop)" "https://shop.example|false|10|0" "changes that setting alone"
r=$(http POST "$BASE/push/publish" -d appkey="$PUSH_PUBLISH_KEY" -d channel=news -d content=12345678901)
like "$r" '^413 ' "push-api applies the new limit: 11 bytes are 413"

"$CTL" app update shop --origin https://a.example --origin https://b.example --client-publish --rate 5 >/dev/null
is "$(settings shop)" "https://a.example https://b.example|true|10|5" "origins, client publish and rate at once"
"$CTL" app update shop --no-origins --no-client-publish >/dev/null
is "$(settings shop)" "|false|10|5" "--no-origins and --no-client-publish"
is "$($PSQL -c "SELECT count(*) FROM push.app a JOIN push.app_key k ON k.app_id = a.id WHERE a.name = 'shop' AND k.hash = sha256(convert_to('$PUSH_PUBLISH_KEY', 'UTF8'))")" 1 \
    "the keys stay"

"$CTL" app update shop >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "2:pushctl: app update: nothing to change (see pushctl --help)" "app update without a setting: exit 2"
"$CTL" app update shop --origin 'not an origin' >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "1:pushctl: app update: origins: not an origin is not an origin like https://example.com" \
    "a bad origin: exit 1 with the reason"
"$CTL" app update nosuch --rate 1 >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "1:pushctl: app update: name: no app named nosuch" "an unknown app: exit 1"

# --claimed-users on|off: push-api believes a page's user= without a token only while on.
eval "$("$CTL" app create club --format env | sed 's/^PUSH_/CLUB_/')"
claimed_users() { $PSQL -c "SELECT claimed_users FROM push.app WHERE name = 'club'"; }
# poll_users CHANNEL: the users presence shows on CHANNEL after a poll there naming mallory.
poll_users() {
    local users=
    http GET "$BASE/push/poll?appkey=$CLUB_SUBSCRIBE_KEY&channel=$1&timeout=0&client=tab-1&user=mallory" >/dev/null
    for _ in $(seq 50); do
        users=$(http GET "$BASE/push/presence?appkey=$CLUB_SERVER_KEY&channel=$1" | sed 's/^[0-9]* //' |
                json 'j["channels"]["'"$1"'"]["clients"], j["channels"]["'"$1"'"]["users"]')
        [[ "$users" == "1 "* ]] && break
        sleep 0.1
    done
    echo "$users"
}
out=$("$CTL" app update club --claimed-users on)
is "$?:$out:$(claimed_users)" "0:app club updated:t" "app update --claimed-users on"
like "$("$CTL" app show club)" 'claimed_users +t' "app show says so"
is "$(poll_users hall-on)" "1 ['mallory']" "push-api now counts a claimed user as named"
"$CTL" app update club --claimed-users off >/dev/null
is "$(claimed_users)" f "app update --claimed-users off"
is "$(poll_users hall-off)" "1 []" "push-api counts a claimed user as anonymous again"
"$CTL" app update club --claimed-users=on >/dev/null
is "$(claimed_users)" t "--claimed-users=on works too"
"$CTL" app update club --claimed-users=maybe >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err"):$(claimed_users)" "2:pushctl: --claimed-users must be on or off:t" \
   "--claimed-users=maybe: exit 2 with the rule, nothing changed"

# Retention per app, applied by pushctl prune.
retention() { $PSQL -c "SELECT coalesce(retention::text, '-') || '|' || coalesce(retention_messages::text, '-')
                        FROM push.app WHERE name = '$1'"; }
eval "$("$CTL" app create capped --retention '2 hours, 3 messages' --format env | sed 's/^PUSH_/CAPPED_/')"
is "$(retention capped)" "02:00:00|3" "app create --retention '2 hours, 3 messages'"
like "$("$CTL" app show capped)" 'retention +02:00:00, 3 messages' "app show shows the retention"
"$CTL" app update capped --retention '1 day' >/dev/null
is "$(retention capped)" "1 day|-" "app update --retention '1 day' (no count)"
"$CTL" app update capped --retention '3 messages' >/dev/null
is "$(retention capped)" "-|3" "app update --retention '3 messages' (prune's default age)"
like "$("$CTL" app show capped)" "retention +3 messages, age: prune's default" "app show says whose age applies"
"$CTL" app update capped --retention 'forever' >/dev/null 2>"$T/err"
like "$?:$(cat "$T/err")" "^1:pushctl: app update: retention: must be 'default'" "an unreadable retention: exit 1 with the rule"
"$CTL" app create broken --retention '-3 messages' >/dev/null 2>"$T/err"
is "$?:$($PSQL -c "SELECT count(*) FROM push.app WHERE name = 'broken'")" "1:0" \
   "app create with a bad retention: exit 1 and no app"
for i in 1 2 3 4 5; do
    for k in "$CAPPED_PUBLISH_KEY" "$CLUB_PUBLISH_KEY"; do
        http POST "$BASE/push/publish" -d appkey="$k" -d channel=log -d content="m$i" >/dev/null
    done
done
$PSQL -c "UPDATE push.message SET created_at = now() - interval '2 days' WHERE seq = 1" >/dev/null
out=$("$CTL" prune --retention '1 day')
like "$?:$out" "^0:pruned 3 messages" "pushctl prune: 3 messages pruned"
kept() { $PSQL -c "SELECT string_agg(m.seq::text, ',' ORDER BY m.seq) FROM push.message m
                   JOIN push.channel c ON c.id = m.channel_id JOIN push.app a ON a.id = c.app_id
                   WHERE a.name = '$1' AND c.name = 'log'"; }
is "$(kept capped):$(kept club)" "3,4,5:2,3,4,5" "capped keeps its 3 newest; club lost only what passed prune's day"
"$CTL" app update capped --retention default >/dev/null
is "$(retention capped)" "-|-" "app update --retention default clears it"

# delete: everything the app holds goes, other apps stay.
eval "$("$CTL" app create other --format env | sed 's/^PUSH_/OTHER_/')"
for k in "$PUSH_PUBLISH_KEY" "$OTHER_PUBLISH_KEY"; do
    http POST "$BASE/push/publish" -d appkey="$k" -d channel=news -d content=x >/dev/null
done
http POST "$BASE/push/read" -d appkey="$PUSH_PUBLISH_KEY" -d user=alice -d channel=news -d seq=1 >/dev/null
"$CTL" app delete shop >/dev/null 2>"$T/err"
like "$?:$(cat "$T/err")" '^2:pushctl: app delete: this deletes shop' "app delete without --yes: exit 2, nothing deleted"
out=$("$CTL" app delete shop --yes)
is "$?:$out" "0:app shop deleted with 1 channels" "app delete --yes"
is "$($PSQL -c "SELECT count(*) FROM push.app WHERE name = 'shop'")|$($PSQL -c "SELECT count(*) FROM push.read_mark")|$($PSQL -c "SELECT count(*) FROM push.message")" \
    "0|0|8" "its channels, messages and read marks are gone; the other apps' messages stay"
r=$(http POST "$BASE/push/publish" -d appkey="$PUSH_PUBLISH_KEY" -d channel=news -d content=x)
is "${r%% *}" 401 "its keys are unknown to push-api at once"
"$CTL" app delete shop --yes >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "1:pushctl: app delete: name: no app named shop" "deleting it again: exit 1"
tap_done
