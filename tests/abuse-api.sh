#!/usr/bin/env bash
# tests/abuse-api.sh: push-api stays bounded under hostile requests: a burst of large JSON
# bodies without a key (push-api's peak memory before and after, a publisher served
# meanwhile), a form body of many parameters, one address publishing too fast (429, others
# served), and readers of many unknown channels (no rows). A body over the web servers'
# limit is tests/limits-*.sh's. Each publishing client has a 127.0.x.y address of its own, so
# that only the last case meets the per-address limit.
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"

BURST=${PUSH_ABUSE_BURST:-16}

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app abuse || { echo "Bail out! no app"; exit 1; }
export PUSH_PUBLISH_PER_ADDRESS=5
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
lighttpd_pid=${tap_pids[-1]}

# vm_kb FIELD: FIELD of push-api's /proc status (VmHWM = peak resident, VmRSS = resident), in kB.
api_pid=$(pgrep -P "$lighttpd_pid" -x push-api | head -1)
vm_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$api_pid/status"; }

# The JSON body of the report: {"x":[1,1,...]} of 4 MB less a little, under the gateway's cap.
$PY -c 'import sys; n = (4 * 1024 * 1024 - 64) // 2; sys.stdout.write("{\"x\":[" + ",".join(["1"] * n) + "]}")' \
    >"$T/big.json"
# The same as a form body: x=1&x=1&...
$PY -c 'import sys; n = (4 * 1024 * 1024 - 64) // 4; sys.stdout.write("&".join(["x=1"] * n))' >"$T/big.form"

r=$(http POST "$BASE/push/publish" --interface 127.0.1.1 -H 'Content-Type: application/json' \
    --data-binary '{"appkey":"'"$PUBLISH_KEY"'","channel":"news","content":"warm"}')
like "$r" '^200 ' "a publish warms push-api up"
ok $([ -n "$api_pid" ] && [ -r "/proc/$api_pid/status" ]; echo $?) "push-api runs as a child of lighttpd (pid $api_pid)"
# The bound on push-api's growth: 16 bodies of 4 MB are read whole (64 MB); AddressSanitizer
# keeps freed memory in quarantine for a while, so its builds get twice the room.
bound=100
grep -q libasan "/proc/$api_pid/maps" 2>/dev/null && bound=200
hwm_before=$(vm_kb VmHWM)
diag "push-api before the burst: VmHWM $hwm_before kB, VmRSS $(vm_kb VmRSS) kB"

# The burst: BURST concurrent 4 MB JSON bodies without a key. Meanwhile a publisher with the
# key publishes again and again until the burst is over; each publish is timed.
: >"$T/burst.codes"
pids=()
for i in $(seq "$BURST"); do
    curl -s --interface "127.0.2.$i" -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
        --data-binary @"$T/big.json" "$BASE/push/publish" >>"$T/burst.codes" &
    pids+=($!)
done
samples=0 slow=0 failed=0
burst_running() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while :; do
    running=0
    burst_running && running=1
    out=$(curl -s --interface "127.0.3.$((samples % 250 + 1))" -o "$T/pub.body" -w '%{http_code} %{time_total}' -m 30 \
        --data-urlencode "appkey=$PUBLISH_KEY" --data-urlencode channel=news --data-urlencode content=meanwhile \
        "$BASE/push/publish")
    samples=$((samples + 1))
    [ "${out%% *}" = 200 ] || failed=$((failed + 1))
    awk -v t="${out#* }" 'BEGIN { exit !(t >= 1.0) }' && slow=$((slow + 1))
    diag "publish during the burst: $out (burst running: $running)"
    [ "$running" = 1 ] && burst_running || break
done
wait "${pids[@]}"
hwm_after=$(vm_kb VmHWM)
grown=$(( (hwm_after - hwm_before) / 1024 ))
diag "push-api after $BURST x 4 MB JSON bodies: VmHWM $hwm_after kB (+$grown MB), VmRSS $(vm_kb VmRSS) kB"
is "$(sort "$T/burst.codes" | uniq -c | awk '{print $1, $2}')" "$BURST 413" \
    "$BURST concurrent 4 MB bodies {\"x\":[1,1,...]} without a key: each is refused 413"
is "$failed $slow" "0 0" "a publisher is served within a second meanwhile ($samples publishes)"
ok $(( grown < bound ? 0 : 1 )) "push-api's peak memory grows by less than $bound MB (+$grown MB)"

r=$(http POST "$BASE/push/publish" --interface 127.0.1.2 -H 'Content-Type: application/json' --data-binary @"$T/big.json")
is "$r" '413 {"code":413,"content":"x: more than 1000 elements"}' "the 413 says which limit, in the API's JSON"
r=$(http POST "$BASE/push/publish" --interface 127.0.1.3 --data-binary @"$T/big.form")
is "$r" '413 {"code":413,"content":"parameters: more than 1024"}' "a form body of a million parameters: 413"
hwm_form=$(vm_kb VmHWM)
ok $(( (hwm_form - hwm_before) / 1024 < bound ? 0 : 1 )) \
    "push-api's peak memory still within $bound MB of the start (+$(( (hwm_form - hwm_before) / 1024 )) MB)"

# A batch of 1000 messages, the largest the API takes, still passes.
$PY -c 'import json, sys; json.dump({"appkey": sys.argv[1], "messages": [{"channel": "news", "content": "m%d" % i} for i in range(1000)]}, sys.stdout)' \
    "$PUBLISH_KEY" >"$T/batch.json"
r=$(http POST "$BASE/push/publish" --interface 127.0.1.4 -H 'Content-Type: application/json' --data-binary @"$T/batch.json")
is "${r%% *} $(json 'len(j["messages"])' <"$T/body")" "200 1000" "a batch of 1000 messages is published"
r=$(http POST "$BASE/push/publish" --interface 127.0.1.5 -H 'Content-Type: application/json' \
    --data-binary '{"appkey":"'"$PUBLISH_KEY"'","channel":"news","content":"x","deep":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}')
is "$r" '400 {"code":400,"content":"deep: nested deeper than 16 levels"}' \
    "a body nested 19 levels deep: 400, the member named"

# One address publishing too fast (PUSH_PUBLISH_PER_ADDRESS=5 a second): 40 publishes over one
# keep-alive connection; at most 5 pass in each second they span, the rest get 429 with
# Retry-After; another address is served meanwhile, counted apart.
urls=()
for _ in $(seq 40); do urls+=(-o /dev/null "$BASE/push/publish"); done
t0=$(date +%s)
curl -s --interface 127.0.1.6 -w '%{http_code}\n' -d "appkey=$PUBLISH_KEY&channel=news&content=fast" \
    "${urls[@]}" >"$T/fast.codes"
t1=$(date +%s)
passed=$(grep -c '^200$' "$T/fast.codes")
refused=$(grep -c '^429$' "$T/fast.codes")
# The limiter's seconds are monotonic ones, whose boundaries are not the wall clock's: the run
# spans at most one more of them than of wall-clock seconds.
diag "40 publishes from one address within $((t1 - t0 + 1)) wall-clock seconds: $passed passed, $refused refused"
ok $(( passed + refused == 40 && refused > 0 && passed >= 5 && passed <= 5 * (t1 - t0 + 2) ? 0 : 1 )) \
    "one address over 5 publishes a second: the rest are refused 429 ($passed passed, $refused refused)"
# A refusal is looked at whole: publish from that address until one is refused (a second may have
# turned since the burst, so the first few may pass again).
for _ in $(seq 50); do
    r=$(http POST "$BASE/push/publish" --interface 127.0.1.6 -D "$T/fast.head" -d "appkey=$PUBLISH_KEY&channel=news&content=more")
    [ "${r%% *}" = 429 ] && break
done
like "$r$(grep -i '^Retry-After' "$T/fast.head" | tr -d '\r')" \
    '^429 \{"code":429,"content":"rate: too many publish requests from this address"\}Retry-After: 1$' \
    "the refusal says why, with Retry-After: 1"
r=$(http POST "$BASE/push/publish" --interface 127.0.1.7 -d "appkey=$PUBLISH_KEY&channel=news&content=other")
like "$r" '^200 ' "meanwhile another address publishes"

# Readers make no channel rows: 100 polls of 64 unknown channels each with the subscribe key
# (6,400 names). (A poll held on a channel without a row and answered by its first publish is
# tests/poll-common.sh's first case.)
rows_before=$($PSQL -c "SELECT count(*) FROM push.channel")
t0=$(date +%s%N)
for i in $(seq 100); do
    names=$(seq -f "r$i-%g" 64 | paste -sd,)
    curl -s -o /dev/null -w '%{http_code}\n' "$BASE/push/poll?appkey=$SUBSCRIBE_KEY&channel=$names&timeout=0"
done | sort | uniq -c | awk '{print $1, $2}' >"$T/reads.codes"
t1=$(date +%s%N)
rows_after=$($PSQL -c "SELECT count(*) FROM push.channel")
diag "6,400 channels read in $(( (t1 - t0) / 1000000 )) ms: channel rows $rows_before -> $rows_after"
is "$(cat "$T/reads.codes") $((rows_after - rows_before))" "100 200 0" \
    "100 polls of 64 unknown channels each: answered 200, no channel row made"

tap_plan "$tap_count"
tap_done
