#!/usr/bin/env bash
# tests/pushctl-app.sh: pushctl app update and app delete against a real database, and what
# push-api makes of an update at once (the app cache hears of it).
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
tap_plan 15
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
    "0|0|1" "its channels, messages and read marks are gone; the other app's message stays"
r=$(http POST "$BASE/push/publish" -d appkey="$PUSH_PUBLISH_KEY" -d channel=news -d content=x)
is "${r%% *}" 401 "its keys are unknown to push-api at once"
"$CTL" app delete shop --yes >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "1:pushctl: app delete: name: no app named shop" "deleting it again: exit 1"
tap_done
