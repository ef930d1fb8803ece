#!/usr/bin/env bash
# tests/unread.sh: GET /push/unread with channel= counts only the channels asked for.
. "$(dirname "$0")/lib.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"
tap_plan 6

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
create_app unread "'{}'"
P=$PUBLISH_KEY
for c in news news news sports sports 订单; do
    http POST "$BASE/push/publish" -d appkey="$P" --data-urlencode "channel=$c" -d content=x >/dev/null
done
for mark in news:1 sports:0 订单:0; do
    http POST "$BASE/push/read" -d appkey="$P" -d user=alice --data-urlencode "channel=${mark%:*}" \
        -d "seq=${mark##*:}" >/dev/null
done

counts() { echo "${1#* }" | json '" ".join("%s:%s" % (c, v["unread"]) for c, v in sorted(j["channels"].items())), j["total"]'; }
r=$(http GET "$BASE/push/unread?appkey=$P&user=alice")
is "$(counts "$r")" "news:2 sports:2 订单:1 5" "without channel: every channel alice has a mark on"
r=$(http GET "$BASE/push/unread?appkey=$P&user=alice&channel=news")
is "$(counts "$r")" "news:2 2" "channel=news: news alone, and the total is news's"
r=$(http GET "$BASE/push/unread?appkey=$P&user=alice&channel=news,%E8%AE%A2%E5%8D%95")
is "$(counts "$r")" "news:2 订单:1 3" "channel=news,订单: those two"
r=$(http GET "$BASE/push/unread?appkey=$P&user=alice&channel=weather")
is "$(counts "$r")" " 0" "a channel alice has no count on: none listed, total 0"
r=$(http GET "$BASE/push/unread?appkey=$P&user=alice&channel=bad%20name")
like "$r" '^400 .*"content":"channel: must be ' "a bad channel name: 400"
r=$(http GET "$BASE/push/unread?appkey=$P&user=alice&channel=$(seq -s, 65)")
is "$r" '400 {"code":400,"content":"channel: at most 64 channels"}' "65 channels: 400"
tap_done
