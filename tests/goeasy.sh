#!/usr/bin/env bash
# tests/goeasy.sh: GoEasy's REST publish (POST /goeasy/publish, 1.x form fields, and
# /v2/pubsub/publish, a JSON body) under lighttpd, Apache mod_fcgid and mod_proxy_fcgi; a JSON
# object as content is stored as its JSON text; empty content is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apache.sh"
command -v lighttpd >/dev/null || skip_all "lighttpd not installed"

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
start_lighttpd || { echo "Bail out! lighttpd did not start"; exit 1; }
create_app goeasy "'{}'"
P=$PUBLISH_KEY S=$SUBSCRIBE_KEY

# last_content CHANNEL: the content of the channel's newest message, from the database.
last_content() {
    $PSQL -c "SELECT m.content FROM push.message m JOIN push.channel c ON c.id = m.channel_id
              WHERE c.name = '$1' ORDER BY m.seq DESC LIMIT 1"
}
count() {
    $PSQL -c "SELECT count(*) FROM push.message m JOIN push.channel c ON c.id = m.channel_id WHERE c.name = '$1'"
}

# The seed's backend: POST appkey, channel, content as a form.
r=$(http POST "$BASE/goeasy/publish" -d appkey="$P" -d channel=my_channel --data-urlencode "content=Hello, GoEasy!")
like "$r" '^200 \{"code":200,"content":"OK"' "POST /goeasy/publish with appkey, channel, content: 200 {\"code\":200,\"content\":\"OK\"...}"
is "$(last_content my_channel)" "Hello, GoEasy!" "and the message is stored"
r=$(http GET "$BASE/push/history?appkey=$S&channel=my_channel")
is "$(echo "${r#* }" | json 'j["messages"][0]["content"]')" "Hello, GoEasy!" "and in the channel's history"

# GoEasy 2.x: a JSON body.
r=$(http POST "$BASE/v2/pubsub/publish" -H 'Content-Type: application/json' \
    --data-binary "{\"appkey\":\"$P\",\"channel\":\"my_channel\",\"content\":\"v2 你好\"}")
like "$r" '^200 \{"code":200,"content":"OK"' "POST /v2/pubsub/publish with a JSON body: 200 {\"code\":200,\"content\":\"OK\"...}"
is "$(last_content my_channel)" "v2 你好" "and the message is stored, UTF-8 intact"

# A JSON object as content is stored as its JSON text, on every publish path.
for path in /push/publish /goeasy/publish /v2/pubsub/publish; do
    r=$(http POST "$BASE$path" -H 'Content-Type: application/json' \
        --data-binary "{\"appkey\":\"$P\",\"channel\":\"objects\",\"content\":{\"title\":\"通知\",\"url\":\"/a\"}}")
    is "${r%% *}" 200 "$path with an object as content: 200"
    is "$(last_content objects)" '{"title":"通知","url":"/a"}' "$path stores the object as its JSON text"
done
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' \
    --data-binary "{\"appkey\":\"$P\",\"messages\":[{\"channel\":\"objects\",\"content\":{\"n\":1}},{\"channel\":\"objects\",\"content\":\"two\"}]}")
is "${r%% *}" 200 "a batch with an object as one content: 200"
is "$($PSQL -c "SELECT string_agg(m.content, '|' ORDER BY m.seq) FROM push.message m JOIN push.channel c ON c.id = m.channel_id
               WHERE c.name = 'objects' AND m.seq > 3")" '{"n":1}|two' "the batch stores the object as its JSON text"
r=$(http GET "$BASE/push/history?appkey=$S&channel=objects&limit=1&before=4")
is "$(echo "${r#* }" | json 'j["messages"][0]["content"]')" '{"title":"通知","url":"/a"}' "history returns that text as a string"

# Empty or missing content: 400, nothing stored.
before=$(count my_channel)
for path in /push/publish /goeasy/publish /v2/pubsub/publish; do
    r=$(http POST "$BASE$path" -d appkey="$P" -d channel=my_channel -d content=)
    is "$r" '400 {"code":400,"content":"content: empty"}' "$path with content= empty: 400 content: empty"
done
r=$(http POST "$BASE/v2/pubsub/publish" -H 'Content-Type: application/json' \
    --data-binary "{\"appkey\":\"$P\",\"channel\":\"my_channel\",\"content\":\"\"}")
is "$r" '400 {"code":400,"content":"content: empty"}' "a JSON body with \"content\": \"\": 400"
r=$(http POST "$BASE/push/publish" -H 'Content-Type: application/json' \
    --data-binary "{\"appkey\":\"$P\",\"messages\":[{\"channel\":\"my_channel\",\"content\":\"\"}]}")
is "$r" '400 {"code":400,"content":"messages[0].content: empty"}' "a batch with an empty content: 400 naming it"
r=$(http POST "$BASE/goeasy/publish" -d appkey="$P" -d channel=my_channel)
is "$r" '400 {"code":400,"content":"content: missing"}' "/goeasy/publish without content: 400 content: missing"
is "$(count my_channel)" "$before" "refused publishes stored nothing"

# The key and method rules of /push/publish hold on the GoEasy paths.
r=$(http POST "$BASE/goeasy/publish" -d appkey="$S" -d channel=my_channel -d content=x)
like "$r" '^403 \{"code":403,"content":"appkey: ' "/goeasy/publish with the subscribe key: 403 {code, content}"
r=$(http POST "$BASE/v2/pubsub/publish" -d appkey=BC-nope -d channel=my_channel -d content=x)
like "$r" '^401 \{"code":401,"content":"appkey: ' "/v2/pubsub/publish with an unknown key: 401 {code, content}"
r=$(http GET "$BASE/goeasy/publish?appkey=$P&channel=my_channel&content=x")
is "${r%% *}" 405 "GET /goeasy/publish: 405 (GoEasy's REST is POST)"
r=$(http POST "$BASE/goeasy/publish" -d appkey="$P" -d 'channel=bad channel' -d content=x)
like "$r" '^400 \{"code":400,"content":"channel: ' "a bad channel name: 400 naming channel"
is "$(count my_channel)" "$before" "and nothing stored"

# The same paths through Apache, with each FastCGI hosting.
apache_case() {
    local conf=$1
    r=$(http POST "$BASE/goeasy/publish" -d appkey="$P" -d channel=apache --data-urlencode "content=via $conf")
    like "$r" '^200 \{"code":200,"content":"OK"' "$conf: POST /goeasy/publish: 200"
    r=$(http POST "$BASE/v2/pubsub/publish" -H 'Content-Type: application/json' \
        --data-binary "{\"appkey\":\"$P\",\"channel\":\"apache\",\"content\":{\"via\":\"$conf\"}}")
    like "$r" '^200 \{"code":200,"content":"OK"' "$conf: POST /v2/pubsub/publish: 200"
    is "$(last_content apache)" "{\"via\":\"$conf\"}" "$conf: the object content is stored as its JSON text"
}
if ! command -v apache2 >/dev/null; then
    for conf in apache-fcgid.conf apache-proxy-fcgi.conf; do
        for i in 1 2 3; do ok 0 "$conf # SKIP apache2 not installed"; done
    done
else
    install_fcgi_programs || { echo "Bail out! cannot copy the FastCGI programs"; exit 1; }
    if [ -f /usr/lib/apache2/modules/mod_fcgid.so ]; then
        apache_prepare
        start_apache apache-fcgid.conf || { echo "Bail out! Apache mod_fcgid did not start"; exit 1; }
        apache_case apache-fcgid.conf
        pid=${tap_pids[${#tap_pids[@]}-1]}
        kill "$pid"
        wait_for bash -c "! kill -0 $pid 2>/dev/null" || { echo "Bail out! Apache mod_fcgid did not stop"; exit 1; }
    else
        for i in 1 2 3; do ok 0 "apache-fcgid.conf # SKIP mod_fcgid not installed"; done
    fi
    apache_prepare
    start_fcgi_sockets || { echo "Bail out! push-api and push-poll did not start on sockets"; exit 1; }
    start_apache apache-proxy-fcgi.conf || { echo "Bail out! Apache mod_proxy_fcgi did not start"; exit 1; }
    apache_case apache-proxy-fcgi.conf
fi

tap_plan "$tap_count"
tap_done
