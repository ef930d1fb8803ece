#!/usr/bin/env bash
# tests/unread.sh: GET /push/unread with channel= counts only the channels asked for; POST
# /push/read with seqs= reads single messages (message 3 read while 2 stays unread).
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
tap_plan 12

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
create_app unread "'{}'"
P=$PUBLISH_KEY K=$SERVER_KEY   # read state of any user: a backend, the server key
for c in news news news sports sports 订单; do
    http POST "$BASE/push/publish" -d appkey="$P" --data-urlencode "channel=$c" -d content=x >/dev/null
done
for mark in news:1 sports:0 订单:0; do
    http POST "$BASE/push/read" -d appkey="$K" -d user=alice --data-urlencode "channel=${mark%:*}" \
        -d "seq=${mark##*:}" >/dev/null
done

counts() { echo "${1#* }" | json '" ".join("%s:%s" % (c, v["unread"]) for c, v in sorted(j["channels"].items())), j["total"]'; }
r=$(http GET "$BASE/push/unread?appkey=$K&user=alice")
is "$(counts "$r")" "news:2 sports:2 订单:1 5" "without channel: every channel alice has a mark on"
r=$(http GET "$BASE/push/unread?appkey=$K&user=alice&channel=news")
is "$(counts "$r")" "news:2 2" "channel=news: news alone, and the total is news's"
r=$(http GET "$BASE/push/unread?appkey=$K&user=alice&channel=news,%E8%AE%A2%E5%8D%95")
is "$(counts "$r")" "news:2 订单:1 3" "channel=news,订单: those two"
r=$(http GET "$BASE/push/unread?appkey=$K&user=alice&channel=weather")
is "$(counts "$r")" " 0" "a channel alice has no count on: none listed, total 0"
r=$(http GET "$BASE/push/unread?appkey=$K&user=alice&channel=bad%20name")
like "$r" '^400 .*"content":"channel: must be ' "a bad channel name: 400"
r=$(http GET "$BASE/push/unread?appkey=$K&user=alice&channel=$(seq -s, 65)")
is "$r" '400 {"code":400,"content":"channel: at most 64 channels"}' "65 channels: 400"
# Single messages: news has 3; bob reads 3, then 1 and 3.
r=$(http POST "$BASE/push/read" -d appkey="$K" -d user=bob -d channel=news -d seqs=3)
is "$r" '200 {"code":200,"content":"OK","user":"bob","channel":"news","marked":1}' "seqs=3: message 3 read"
r=$(http GET "$BASE/push/unread?appkey=$K&user=bob&channel=news")
is "$(counts "$r")" "news:2 2" "1 and 2 stay unread"
r=$(http POST "$BASE/push/read" -d appkey="$K" -d user=bob -d channel=news -d seqs=1,3)
is "$r" '200 {"code":200,"content":"OK","user":"bob","channel":"news","marked":1}' "seqs=1,3: only 1 is new"
r=$(http GET "$BASE/push/unread?appkey=$K&user=bob&channel=news")
is "$(counts "$r")" "news:1 1" "2 alone unread"
r=$(http POST "$BASE/push/read" -d appkey="$K" -d user=bob -d channel=news -d seqs=2 -d seq=2)
like "$r" '^400 .*"content":"seqs: give seq' "seq and seqs together: 400"
r=$(http POST "$BASE/push/read" -d appkey="$K" -d user=bob -d channel=news -d seqs=4)
like "$r" '^400 .*"content":"seqs: must be between 1 and 3' "a seq past the head: 400"
tap_done
