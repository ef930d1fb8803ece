#!/usr/bin/env bash
# tests/pushctl.sh: the operator's tool against a real database: migrate, apps, publish,
# history, tail, tokens, prune, stats, and clear errors.
. "$(dirname "$0")/lib.sh"
tap_plan 40
start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
CTL=$top_builddir/cli/pushctl

out=$("$CTL" migrate)
like "$out" 'schema version [1-9][0-9]* \(0 applied now\)' "migrate again applies nothing"
out=$("$CTL" app create shop --origin https://shop.example --client-publish)
like "$out" 'publish key: +BC-[0-9a-f]{32}' "app create prints the publish key"
like "$out" 'subscribe key: +BS-[0-9a-f]{32}' "and the subscribe key"
like "$out" 'server key: +BK-[0-9a-f]{32}' "and the server key"
key=$(echo "$out" | awk '/publish key:/ {print $3}')
server_key=$(echo "$out" | awk '/server key:/ {print $3}')
is "$($PSQL -c "SELECT role FROM push.app_key WHERE hash = sha256(convert_to('$key', 'UTF8'))")" publish "only the key's SHA-256 is stored"
is "$($PSQL -c "SELECT count(*) FROM push.app a, push.app_key k WHERE row_to_json(a)::text || row_to_json(k)::text LIKE '%${key#BC-}%'")" 0 "the key itself is stored nowhere"
"$CTL" app create shop >/dev/null 2>"$T/err"
is "$?" 1 "a second app of the same name fails"
like "$(cat "$T/err")" 'name: ' "and says why"
eval "$("$CTL" app create other --format env)"
like "$PUSH_PUBLISH_KEY:$PUSH_SERVER_KEY" '^BC-[0-9a-f]{32}:BK-[0-9a-f]{32}$' "--format env prints shell variables"
like "$("$CTL" app list)" 'shop.*https://shop.example.*t' "app list shows origins and client publish"
like "$("$CTL" app show shop)" 'client_publish +t' "app show"
"$CTL" app create claims --claimed-users >/dev/null
like "$("$CTL" app show claims)" 'claimed_users +t' "app create --claimed-users: app show says so"
"$CTL" app show nosuch >/dev/null 2>&1
is "$?" 1 "app show of an unknown app fails"

# Rotation: the new key works at once, the old one until the overlap ends, then never.
out=$("$CTL" app rotate-keys shop --role publish --overlap '1 hour')
like "$out" 'publish +key: BC-[0-9a-f]{32} +\(the old one works until [0-9]{4}-' "rotate-keys prints the new key and the old one's end"
new_key=$(echo "$out" | awk '/publish +key:/ {print $3}')
like "$("$CTL" app show shop)" 'publish +since .*, works until ' "app show lists the old key's window"
is "$("$CTL" publish news 'old key' --key "$key")" "news:1" "the old key works in the overlap"
is "$("$CTL" publish news 'new key' --key "$new_key")" "news:2" "the new key works at once"
"$CTL" app rotate-keys shop --role publish --overlap 0 >"$T/rotated"
"$CTL" publish news x --key "$new_key" >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "1:pushctl: publish: appkey: unknown key" "a rotation with no overlap stops the replaced key at once"
key=$(awk '/publish +key:/ {print $3}' "$T/rotated")
eval "$("$CTL" app rotate-keys shop --role server --format env)"
like "$PUSH_SERVER_KEY" '^BK-[0-9a-f]{32}$' "rotate-keys --format env prints the new key as a variable"
[ "$PUSH_SERVER_KEY" != "$server_key" ]
ok $? "and it is a new one"
"$CTL" app rotate-keys shop --role owner >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "1:pushctl: app rotate-keys: role: must be subscribe, publish or server" "an unknown role is refused"
"$CTL" app rotate-keys nosuch >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "1:pushctl: app rotate-keys: app: no app named nosuch" "rotating an unknown app's keys is refused"
$PSQL -c "DELETE FROM push.message; DELETE FROM push.channel" >/dev/null

is "$("$CTL" publish news 'hello world' --key "$key")" "news:1" "publish prints channel:seq"
is "$(PUSH_PUBLISH_KEY=$key "$CTL" publish news second)" "news:2" "the key may come from PUSH_PUBLISH_KEY"
"$CTL" publish news x --key BS-nope >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "1:pushctl: publish: appkey: unknown key" "a bad key fails with the database's reason"
like "$("$CTL" history news --app shop)" $'1\t[0-9T:.-]+Z\t\thello world' "history prints seq, time, sender, content"

"$CTL" tail news --app shop --since 1 >"$T/tail" 2>&1 &
tail_pid=$!
track_pid $tail_pid
sleep 0.5
"$CTL" publish news third --key "$key" >/dev/null
wait_for grep -q third "$T/tail"
ok $? "tail prints what is published after it starts"
like "$(head -1 "$T/tail")" $'^2\t' "tail --since 1 starts with seq 2"
kill $tail_pid

tok=$("$CTL" token user-alice --app shop --ttl 60)
like "$tok" '^[0-9a-f]{64}:[0-9]+$' "token is <hex>:<expires>"
exp=${tok#*:}
"$CTL" token "user-cafe$(printf '\u0301')" --app shop --ttl 60 >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "2:pushctl: token: channel not in Unicode NFC (normalize it first)" \
   "a token for a channel not in NFC fails with why"
is "$tok" "$($PSQL -c "SELECT push.token(id, 'user-alice', $exp, 'alice') FROM push.app WHERE name = 'shop'")" "the same token as push.token() in SQL"

$PSQL -c "UPDATE push.message SET created_at = now() - interval '10 days' WHERE seq = 1" >/dev/null
like "$("$CTL" prune --retention '7 days')" '^pruned 1 messages' "prune deletes what is older than the retention"
like "$("$CTL" stats --app shop)" $'shop\tnews\t3\t2' "stats: last_seq 3, 2 kept"
is "$("$CTL" publish retried first --key "$key" --msgid job-9):$("$CTL" publish retried again --key "$key" --msgid job-9)" \
   "retried:1:retried:1" "publish --msgid twice: the retry prints the first message's seq"
is "$($PSQL -c "SELECT count(*) FROM push.message WHERE msgid = 'job-9'")" 1 "and the message is stored once"
"$CTL" publish retried x --key "$key" --msgid 'job 9' >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "1:pushctl: publish: msgid: must be 1-64 characters of printable ASCII without spaces" \
   "a bad msgid fails with the rule"
# Stored text with terminal controls: escaped on a terminal (script gives pushctl a pty), raw in a pipe
$PSQL -c "SELECT push.publish('$key', 'esc', E'red \\x1b[31m bell \\x07 csi \\u009b tab\\tend caf\\u00e9', E'ev\\x1bil')" >/dev/null
out=$(script -qec "'$CTL' history esc --app shop" /dev/null | tr -d '\r')
like "$out" 'ev\\x1bil	red \\x1b\[31m bell \\x07 csi \\xc2\\x9b tab\\x09end café$' "on a terminal, control characters print as \\xHH, text as it is"
case "$out" in *$'\x1b'*|*$'\x07'*) ok 1 "no raw control byte reaches the terminal" ;; *) ok 0 "no raw control byte reaches the terminal" ;; esac
is "$("$CTL" history esc --app shop | grep -c $'\x1b\\[31m')" 1 "to a pipe the content goes as stored"
"$CTL" frobnicate >/dev/null 2>&1
is "$?" 2 "an unknown command exits 2"
tap_done
