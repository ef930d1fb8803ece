/* push-api.c: the FastCGI program for publish, history, presence, read marks and status. */
#include "auth.h"
#include "clock.h"
#include "endpoint.h"
#include "gateway.h"
#include "group.h"
#include "kick.h"
#include "limiter.h"
#include "log.h"
#include "message.h"
#include "poller.h"
#include "validate.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_BATCH_MAX 1000

static int api_presence_ttl = 60;
static struct group *api_group;
/* Publish requests per client address and second (publish_per_address), or NULL: no limit. */
static struct limiter *api_publish_limiter;
#define API_LIMITER_ADDRESSES 16384 /* addresses tracked per second (2.6 MB) */
/* Listens for kicks (push_kick), so that a kicked user's old tokens are refused at once. */
static struct poller *api_poller;

static const struct db_statement api_batch_sql = {
    "api_batch",
    "SELECT b.channel, b.seq, (extract(epoch from now()) * 1000)::bigint, b.duplicate, b.time_ms"
    " FROM push.publish_batch($1,"
    " ARRAY(SELECT v FROM json_array_elements_text($2::json) WITH ORDINALITY AS e(v, i) ORDER BY i),"
    " ARRAY(SELECT v FROM json_array_elements_text($3::json) WITH ORDINALITY AS e(v, i) ORDER BY i),"
    " $4,"
    " ARRAY(SELECT v FROM json_array_elements_text($5::json) WITH ORDINALITY AS e(v, i) ORDER BY i)) AS b",
    5,
};

static const struct db_statement api_status_sql = {
    "api_status",
    "SELECT push.schema_version_current()",
    0,
};

static const struct db_statement api_leave_sql = {
    "api_leave",
    "SELECT push.presence_leave($1, $2::text[], $3)",
    3,
};

static const struct db_statement api_presence_sql = {
    "api_presence",
    "SELECT channel, clients, array_to_json(users), info FROM push.here_now($1, $2::text[],"
    " make_interval(secs => $3::int))",
    3,
};


/* Checks one message's content: present, not empty, UTF-8, within the app's limit. Returns 0
 * or -1 with the reply filled, the parameter named as label. */
static int api_check_content(struct endpoint *ep, const char *label, const char *content, size_t len,
                             bool present)
{
    char msg[200];
    if (!present) {
        snprintf(msg, sizeof(msg), "%s: missing", label);
        return endpoint_error(ep, 400, msg);
    }
    if (len == 0) {
        snprintf(msg, sizeof(msg), "%s: empty", label);
        return endpoint_error(ep, 400, msg);
    }
    if (!validate_utf8(content, len)) {
        snprintf(msg, sizeof(msg), "%s: not valid UTF-8 text (or contains NUL)", label);
        return endpoint_error(ep, 400, msg);
    }
    if (len > (size_t)ep->app.max_message_bytes) {
        snprintf(msg, sizeof(msg), "%s: %zu bytes exceeds the limit of %d", label, len,
                 ep->app.max_message_bytes);
        return endpoint_error(ep, 413, msg);
    }
    return 0;
}

/* Who may publish how: the publish or server key; POST, or a page's GET with callback where the
 * app allows page publishing. A HEAD never writes. Which channels: endpoint_check_publish.
 * Returns 0 or -1 with the reply filled. */
static int api_check_publisher(struct endpoint *ep)
{
    if (strcmp(ep->req->method, "HEAD") == 0) {
        reply_header(ep->reply, "Allow", "GET,POST");
        return endpoint_error(ep, 405, "publish: HEAD never publishes; use POST");
    }
    if (ep->app.role == APP_ROLE_SUBSCRIBE)
        return endpoint_error(ep, 403, "appkey: the subscribe key cannot publish");
    bool is_get = strcmp(ep->req->method, "POST") != 0;
    if (is_get && !ep->req->callback)
        return endpoint_error(ep, 405, "publish: use POST, or GET with callback from a page");
    if (is_get && !ep->app.client_publish)
        return endpoint_error(ep, 403, "appkey: this app does not allow publishing from pages");
    /* A page's publish must show where it comes from: a Referer, since JSONP has no Origin. */
    return is_get ? endpoint_check_jsonp_origin(ep, true) : 0;
}

/* An optional text parameter of a publish: when present why() finds nothing wrong with it
 * (why(NULL) says what it must be), and in a JSON body it is a string. Sets *out (NULL when
 * absent, borrowed). Returns 0 or -1 with a 400 reply "<name>: <why>". */
static int api_optional_param(struct endpoint *ep, const char *name, const char *(*why)(const char *),
                              const char **out)
{
    struct json_object *member = NULL;
    const char *value = params_get(&ep->req->params, name);
    bool json_not_string = ep->req->params.json &&
                           json_object_object_get_ex(ep->req->params.json, name, &member) &&
                           member && !json_object_is_type(member, json_type_string);
    if (json_not_string || (value && why(value))) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s: %s", name, why(json_not_string ? NULL : value));
        return endpoint_error(ep, 400, msg);
    }
    *out = value;
    return 0;
}

/* Why id is no message id (for api_optional_param): NULL or the rule. */
static const char *api_msgid_error(const char *id)
{
    return validate_msgid(id) ? NULL : "must be " VALIDATE_MSGID_RULE;
}

/* The sender of a publish, single or batch. */
static int api_sender_param(struct endpoint *ep, const char **out)
{
    return api_optional_param(ep, "sender", validate_user_error, out);
}

/* The message id of a single publish (idempotent publishing; a batch's are per message). */
static int api_msgid_param(struct endpoint *ep, const char **out)
{
    return api_optional_param(ep, "msgid", api_msgid_error, out);
}

static void api_publish_batch(struct endpoint *ep, struct json_object *messages)
{
    const char *sender = NULL;
    if (api_sender_param(ep, &sender) < 0)
        return;
    if (json_object_object_get_ex(ep->req->params.json, "msgid", NULL)) {
        endpoint_error(ep, 400, "msgid: in a batch each message has its own (messages[i].msgid)");
        return;
    }
    if (!json_object_is_type(messages, json_type_array) || json_object_array_length(messages) == 0 ||
        json_object_array_length(messages) > API_BATCH_MAX) {
        endpoint_error(ep, 400, "messages: must be an array of 1 to 1000 {channel, content} objects");
        return;
    }
    size_t n = json_object_array_length(messages);
    struct json_object *channels = json_object_new_array(), *contents = json_object_new_array(),
                       *msgids = json_object_new_array();
    char label[64], msg[200];
    for (size_t i = 0; i < n; i++) {
        struct json_object *m = json_object_array_get_idx(messages, i), *ch = NULL, *co = NULL, *id = NULL;
        json_object_object_get_ex(m, "channel", &ch);
        json_object_object_get_ex(m, "content", &co);
        bool has_id = json_object_object_get_ex(m, "msgid", &id);
        if (has_id && (!json_object_is_type(id, json_type_string) || !validate_msgid(json_object_get_string(id)))) {
            snprintf(msg, sizeof(msg), "messages[%zu].msgid: must be " VALIDATE_MSGID_RULE, i);
            endpoint_error(ep, 400, msg);
            goto out;
        }
        const char *ch_why = validate_channel_error(json_object_is_type(ch, json_type_string)
                                                        ? json_object_get_string(ch) : NULL);
        if (ch_why) {
            snprintf(msg, sizeof(msg), "messages[%zu].channel: %s", i, ch_why);
            endpoint_error(ep, 400, msg);
            goto out;
        }
        if (endpoint_check_publish(ep, json_object_get_string(ch), NULL) < 0)
            goto out;
        snprintf(label, sizeof(label), "messages[%zu].content", i);
        /* An object stands for its JSON text, as in a single publish (params_parse_json). */
        if (json_object_is_type(co, json_type_object))
            co = json_object_new_string(json_object_to_json_string_ext(co, JSON_C_TO_STRING_PLAIN |
                                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
        else
            co = json_object_get(co);
        bool is_string = json_object_is_type(co, json_type_string);
        if (api_check_content(ep, label, is_string ? json_object_get_string(co) : "",
                              is_string ? (size_t)json_object_get_string_len(co) : 0, is_string) < 0) {
            json_object_put(co);
            goto out;
        }
        json_object_array_add(channels, json_object_get(ch));
        json_object_array_add(contents, co);
        json_object_array_add(msgids, has_id ? json_object_get(id) : NULL);
    }
    const char *params[] = { params_get(&ep->req->params, "appkey"),
                             json_object_to_json_string_ext(channels, JSON_C_TO_STRING_PLAIN),
                             json_object_to_json_string_ext(contents, JSON_C_TO_STRING_PLAIN), sender,
                             json_object_to_json_string_ext(msgids, JSON_C_TO_STRING_PLAIN) };
    PGresult *res = db_exec(ep->db, &api_batch_sql, params);
    if (!db_ok(res)) {
        endpoint_fail_db(ep, res);
        goto out;
    }
    struct json_object *obj = reply_object(200, "OK"), *results = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++) {
        struct json_object *r = json_object_new_object();
        json_object_object_add(r, "channel", json_object_new_string(PQgetvalue(res, i, 0)));
        json_object_object_add(r, "seq", json_object_new_int64(strtoll(PQgetvalue(res, i, 1), NULL, 10)));
        /* A duplicate answers the message first stored with its msgid, and that one's time. */
        if (PQgetvalue(res, i, 3)[0] == 't') {
            json_object_object_add(r, "time", json_object_new_int64(strtoll(PQgetvalue(res, i, 4), NULL, 10)));
            json_object_object_add(r, "duplicate", json_object_new_boolean(1));
        }
        json_object_array_add(results, r);
    }
    if (PQntuples(res) > 0)
        json_object_object_add(obj, "time", json_object_new_int64(strtoll(PQgetvalue(res, 0, 2), NULL, 10)));
    json_object_object_add(obj, "messages", results);
    PQclear(res);
    reply_json(ep->reply, obj, ep->req->callback);
out:
    json_object_put(channels);
    json_object_put(contents);
    json_object_put(msgids);
}

/* A single publish in its group (group.h): the request held (gateway_hold) with copies of its
 * fields in one allocation, answered by the committer thread once the group committed. */
struct api_single {
    struct group_message m;
    struct gateway_held *held;  /* owned until answered */
    char text[];                /* key, channel, content, sender and msgid, each NUL-ended */
};

/* Copies s (or nothing for NULL) to *at and moves at past it. Returns the copy or NULL. */
static const char *api_single_copy(char **at, const char *s, size_t len)
{
    if (!s)
        return NULL;
    char *copy = *at;
    memcpy(copy, s, len);
    copy[len] = '\0';
    *at += len + 1;
    return copy;
}

/* Group callback (committer thread): answers the held request and frees it. */
static void api_single_done(struct group_message *m)
{
    struct api_single *single = (struct api_single *)m;
    struct gateway_held *held = single->held;
    const char *callback = held->callback[0] ? held->callback : NULL;
    if (m->status != 200) {
        endpoint_reply_error(&held->reply, m->status, m->error, callback);
    } else {
        struct json_object *obj = reply_object(200, "OK");
        json_object_object_add(obj, "channel", json_object_new_string(m->channel));
        json_object_object_add(obj, "seq", json_object_new_int64(m->seq));
        json_object_object_add(obj, "time", json_object_new_int64(m->time_ms));
        if (m->duplicate)
            json_object_object_add(obj, "duplicate", json_object_new_boolean(1));
        reply_json(&held->reply, obj, callback);
    }
    gateway_answer(held);
    free(single);
}

/* Hands a checked single publish to the group and holds its request: this thread goes back
 * to accepting while the group commits. Returns 0, or -1 with the reply filled. */
static int api_single_submit(struct endpoint *ep, const char *channel, const struct param *content,
                             const char *sender, const char *msgid)
{
    const char *key = params_get(&ep->req->params, "appkey");
    size_t key_len = strlen(key), channel_len = strlen(channel), sender_len = sender ? strlen(sender) : 0,
           msgid_len = msgid ? strlen(msgid) : 0;
    struct api_single *single = xmalloc(sizeof(*single) + key_len + channel_len + content->value_len +
                                        sender_len + msgid_len + 5);
    memset(&single->m, 0, sizeof(single->m));
    char *at = single->text;
    single->m.key = api_single_copy(&at, key, key_len);
    single->m.channel = api_single_copy(&at, channel, channel_len);
    single->m.content = api_single_copy(&at, content->value, content->value_len);
    single->m.sender = api_single_copy(&at, sender, sender_len);
    single->m.msgid = api_single_copy(&at, msgid, msgid_len);
    single->m.done = api_single_done;
    /* The request's strings (channel, content) go when the handler returns: copied above. */
    single->held = gateway_hold(ep->req, ep->reply);
    if (!single->held) {
        free(single);
        return endpoint_error(ep, 400, "body: could not be read to its end");
    }
    group_submit(api_group, &single->m);
    return 0;
}

static void api_publish(struct request *req, struct reply *reply)
{
    if (api_publish_limiter && !limiter_take(api_publish_limiter, req->remote_addr, clock_seconds())) {
        reply_header(reply, "Retry-After", "1");
        reply_error(reply, 429, "rate: too many publish requests from this address", req->callback);
        return;
    }
    struct endpoint ep;
    if (endpoint_open_app(&ep, req, reply) < 0)
        return;
    if (api_check_publisher(&ep) < 0)
        goto out;
    struct json_object *messages = NULL;
    if (req->params.json && json_object_object_get_ex(req->params.json, "messages", &messages)) {
        if (endpoint_db(&ep))
            api_publish_batch(&ep, messages);
        goto out;
    }
    const char *channel = endpoint_channel_param(&ep, "channel");
    if (!channel || endpoint_check_publish(&ep, channel, NULL) < 0)
        goto out;
    const struct param *content = params_find(&req->params, "content");
    if (api_check_content(&ep, "content", content ? content->value : "", content ? content->value_len : 0,
                          content != NULL) < 0)
        goto out;
    const char *sender = NULL, *msgid = NULL;
    if (api_sender_param(&ep, &sender) < 0 || api_msgid_param(&ep, &msgid) < 0)
        goto out;
    endpoint_close(&ep);
    api_single_submit(&ep, channel, content, sender, msgid);
out:
    endpoint_close(&ep);
}

static void api_history(struct request *req, struct reply *reply)
{
    struct endpoint ep;
    if (endpoint_open(&ep, req, reply) < 0)
        return;
    long long limit, before, after;
    char sub[VALIDATE_USER_MAX + 1];
    const char *user = NULL;
    const char *channel = endpoint_channel_param(&ep, "channel");
    if (!channel || endpoint_int_param(&ep, "limit", 1, 1000, 20, &limit) < 0 ||
        endpoint_int_param(&ep, "before", 0, INT64_MAX, -1, &before) < 0 ||
        endpoint_int_param(&ep, "after", 0, INT64_MAX, -1, &after) < 0 ||
        endpoint_user(&ep, sub, sizeof(sub), &user, NULL) < 0 || endpoint_check_token(&ep, channel, user) < 0)
        goto out;
    char app_id[16], before_text[24], after_text[24], limit_text[24];
    snprintf(app_id, sizeof(app_id), "%d", ep.app.id);
    snprintf(before_text, sizeof(before_text), "%lld", before);
    snprintf(after_text, sizeof(after_text), "%lld", after);
    snprintf(limit_text, sizeof(limit_text), "%lld", limit);
    const char *params[] = { app_id, channel, before >= 0 ? before_text : NULL,
                             after >= 0 ? after_text : NULL, limit_text };
    PGresult *res = db_exec(ep.db, &message_history_sql, params);
    if (!db_ok(res)) {
        endpoint_fail_db(&ep, res);
        goto out;
    }
    struct json_object *obj = reply_object(200, "OK"), *messages = json_object_new_array();
    long long last_seq = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        last_seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        if (PQgetisnull(res, i, 1))
            continue;
        json_object_array_add(messages, message_object(NULL, channel, strtoll(PQgetvalue(res, i, 1), NULL, 10),
                                                       PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2),
                                                       strtoll(PQgetvalue(res, i, 3), NULL, 10)));
    }
    PQclear(res);
    json_object_object_add(obj, "channel", json_object_new_string(channel));
    json_object_object_add(obj, "last_seq", json_object_new_int64(last_seq));
    json_object_object_add(obj, "messages", messages);
    reply_json(reply, obj, req->callback);
out:
    endpoint_close(&ep);
}

/* POST /push/leave: a long-poll client (client=, of the user its token or user= names) leaves
 * presence at once, from the channel= given or from all of its channels, so its offline and
 * leave events come now rather than when its presence expires. */
static void api_leave(struct request *req, struct reply *reply)
{
    struct endpoint ep;
    if (endpoint_open(&ep, req, reply) < 0)
        return;
    char **names = NULL;
    int n = params_get_list(&req->params, "channel", &names, 64);
    struct buf array = BUF_INIT;
    char sub[VALIDATE_USER_MAX + 1];
    const char *user = NULL, *client = params_get(&req->params, "client");
    if (endpoint_user(&ep, sub, sizeof(sub), &user, NULL) < 0)
        goto out;
    if (!client || !*client || validate_user_error(client)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "client: %s", client && *client ? validate_user_error(client) : "missing");
        endpoint_error(&ep, 400, msg);
        goto out;
    }
    if (n < 0) {
        endpoint_error(&ep, 400, "channel: at most 64 channels");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (endpoint_check_channel(&ep, "channel", names[i]) < 0)
            goto out;
        db_array_add(&array, names[i]);
    }
    db_array_end(&array);
    char app_id[16], presence_id[AUTH_PRESENCE_ID];
    snprintf(app_id, sizeof(app_id), "%d", ep.app.id);
    /* The id push-poll stored: bound to the user, so nobody else's client can be removed. */
    auth_presence_id(ep.app.secret, client, user, presence_id);
    const char *params[] = { app_id, n > 0 ? buf_str(&array) : NULL, presence_id };
    PGresult *res = db_exec(ep.db, &api_leave_sql, params);
    if (!db_ok(res)) {
        endpoint_fail_db(&ep, res);
        goto out;
    }
    PQclear(res);
    reply_json(reply, reply_object(200, "OK"), req->callback);
out:
    buf_free(&array);
    params_list_free(names, n > 0 ? n : 0);
    endpoint_close(&ep);
}

static void api_presence(struct request *req, struct reply *reply)
{
    struct endpoint ep;
    if (endpoint_open(&ep, req, reply) < 0)
        return;
    char **names = NULL;
    int n = params_get_list(&req->params, "channel", &names, 64);
    struct buf array = BUF_INIT;
    char sub[VALIDATE_USER_MAX + 1];
    const char *user = NULL;
    if (endpoint_user(&ep, sub, sizeof(sub), &user, NULL) < 0)
        goto out;
    if (n <= 0) {
        endpoint_error(&ep, 400, n < 0 ? "channel: at most 64 channels" : "channel: missing");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (endpoint_check_channel(&ep, "channel", names[i]) < 0)
            goto out;
        if (endpoint_check_token(&ep, names[i], user) < 0)
            goto out;
        db_array_add(&array, names[i]);
    }
    db_array_end(&array);
    char app_id[16], ttl[16];
    snprintf(app_id, sizeof(app_id), "%d", ep.app.id);
    snprintf(ttl, sizeof(ttl), "%d", api_presence_ttl);
    const char *params[] = { app_id, buf_str(&array), ttl };
    PGresult *res = db_exec(ep.db, &api_presence_sql, params);
    if (!db_ok(res)) {
        endpoint_fail_db(&ep, res);
        goto out;
    }
    struct json_object *obj = reply_object(200, "OK"), *channels = json_object_new_object();
    for (int i = 0; i < PQntuples(res); i++) {
        struct json_object *c = json_object_new_object();
        json_object_object_add(c, "clients", json_object_new_int(atoi(PQgetvalue(res, i, 1))));
        struct json_object *users = json_tokener_parse(PQgetvalue(res, i, 2));
        json_object_object_add(c, "users", users ? users : json_object_new_array());
        struct json_object *info = json_tokener_parse(PQgetvalue(res, i, 3));
        json_object_object_add(c, "info", info ? info : json_object_new_object());
        json_object_object_add(channels, PQgetvalue(res, i, 0), c);
    }
    PQclear(res);
    json_object_object_add(obj, "channels", channels);
    reply_json(reply, obj, req->callback);
out:
    buf_free(&array);
    params_list_free(names, n);
    endpoint_close(&ep);
}

/* The user of read and unread: a valid id, and without the server key the token of the
 * user's own channel "user-<id>". */
static const char *api_user_param(struct endpoint *ep, char sub[VALIDATE_USER_MAX + 1])
{
    const char *user = NULL;
    if (endpoint_user(ep, sub, VALIDATE_USER_MAX + 1, &user, NULL) < 0)
        return NULL;
    /* A user no token vouches for yet: the check of user-<id> below says what is missing. */
    if (!user)
        user = params_get(&ep->req->params, "user");
    if (!user || !*user) {
        endpoint_error(ep, 400, "user: missing");
        return NULL;
    }
    char channel[VALIDATE_USER_MAX + 8];
    snprintf(channel, sizeof(channel), "user-%s", user);
    return endpoint_check_token(ep, channel, user) < 0 ? NULL : user;
}

/* Answers a read mark's statement: {user, channel, <name>: its one number}, or its error.
 * Takes res. */
static void api_read_reply(struct endpoint *ep, PGresult *res, const char *user, const char *channel,
                           const char *name)
{
    if (!db_ok(res)) {
        endpoint_fail_db(ep, res);
        return;
    }
    struct json_object *obj = reply_object(200, "OK");
    json_object_object_add(obj, "user", json_object_new_string(user));
    json_object_object_add(obj, "channel", json_object_new_string(channel));
    json_object_object_add(obj, name, json_object_new_int64(strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
    PQclear(res);
    reply_json(ep->reply, obj, ep->req->callback);
}

/* POST /push/read with seqs (repeat or comma list, 1-1000): those single messages read. */
static void api_read_each(struct endpoint *ep, const char *user, const char *channel)
{
    if (params_get(&ep->req->params, "seq")) {
        endpoint_error(ep, 400, "seqs: give seq (read up to) or seqs (these messages), not both");
        return;
    }
    char **seqs = NULL;
    int n = params_get_list(&ep->req->params, "seqs", &seqs, 1000);
    struct buf array = BUF_INIT;
    long long seq;
    for (int i = 0; i < n; i++) {
        if (!validate_int(seqs[i], 1, INT64_MAX, &seq)) {
            endpoint_error(ep, 400, "seqs: must be whole numbers from 1");
            goto out;
        }
        db_array_add(&array, seqs[i]);
    }
    if (n <= 0) {
        endpoint_error(ep, 400, "seqs: must be 1 to 1000 seqs");
        goto out;
    }
    db_array_end(&array);
    const char *params[] = { params_get(&ep->req->params, "appkey"), user, channel, buf_str(&array) };
    api_read_reply(ep, db_exec(ep->db, &message_mark_read_each_sql, params), user, channel, "marked");
out:
    buf_free(&array);
    params_list_free(seqs, n);
}

static void api_read(struct request *req, struct reply *reply)
{
    struct endpoint ep;
    if (endpoint_open(&ep, req, reply) < 0)
        return;
    long long seq;
    char sub[VALIDATE_USER_MAX + 1];
    const char *user = api_user_param(&ep, sub);
    const char *channel = user ? endpoint_channel_param(&ep, "channel") : NULL;
    if (!channel)
        goto out;
    /* The user's token does not open other private or user channels: without one that
     * covers the channel too, nothing about it (its head, whether it exists) is told. */
    if (endpoint_check_token(&ep, channel, user) < 0)
        goto out;
    if (params_get(&req->params, "seqs")) {
        api_read_each(&ep, user, channel);
        goto out;
    }
    if (!params_get(&req->params, "seq")) {
        endpoint_error(&ep, 400, "seq: missing");
        goto out;
    }
    if (endpoint_int_param(&ep, "seq", 0, INT64_MAX, 0, &seq) < 0)
        goto out;
    const char *params[] = { params_get(&req->params, "appkey"), user, channel,
                             params_get(&req->params, "seq") };
    api_read_reply(&ep, db_exec(ep.db, &message_mark_read_sql, params), user, channel, "seq");
out:
    endpoint_close(&ep);
}

/* True when list (n names) is empty or holds name. */
static bool api_listed(char **list, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return n == 0;
}

static void api_unread(struct request *req, struct reply *reply)
{
    struct endpoint ep;
    if (endpoint_open(&ep, req, reply) < 0)
        return;
    char sub[VALIDATE_USER_MAX + 1];
    /* channel (optional, repeat or comma list): only those channels' counts. */
    char **names = NULL;
    int n = params_get_list(&req->params, "channel", &names, 64);
    const char *user = api_user_param(&ep, sub);
    if (!user)
        goto out;
    if (n < 0) {
        endpoint_error(&ep, 400, "channel: at most 64 channels");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (endpoint_check_channel(&ep, "channel", names[i]) < 0)
            goto out;
    }
    const char *params[] = { ep.app.name, user };
    PGresult *res = db_exec(ep.db, &message_unread_sql, params);
    if (!db_ok(res)) {
        endpoint_fail_db(&ep, res);
        goto out;
    }
    struct json_object *obj = reply_object(200, "OK"), *channels = json_object_new_object();
    long long total = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        /* A channel the caller may not read (any more) is not told of, not even its name. */
        if (!api_listed(names, n, PQgetvalue(res, i, 0)) || !endpoint_may_read(&ep, PQgetvalue(res, i, 0), user))
            continue;
        struct json_object *c = json_object_new_object();
        long long unread = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        json_object_object_add(c, "last_seq", json_object_new_int64(strtoll(PQgetvalue(res, i, 1), NULL, 10)));
        json_object_object_add(c, "read_seq", json_object_new_int64(strtoll(PQgetvalue(res, i, 2), NULL, 10)));
        json_object_object_add(c, "unread", json_object_new_int64(unread));
        json_object_object_add(channels, PQgetvalue(res, i, 0), c);
        total += unread;
    }
    PQclear(res);
    json_object_object_add(obj, "user", json_object_new_string(user));
    json_object_object_add(obj, "channels", channels);
    json_object_object_add(obj, "total", json_object_new_int64(total));
    reply_json(reply, obj, req->callback);
out:
    params_list_free(names, n);
    endpoint_close(&ep);
}

static void api_status(struct request *req, struct reply *reply)
{
    struct db_conn *db = db_pool_acquire(endpoint_pool());
    PGresult *res = db ? db_exec(db, &api_status_sql, NULL) : NULL;
    bool up = res && db_ok(res);
    struct json_object *obj = reply_object(up ? 200 : 503, up ? "OK" : "database unavailable");
    json_object_object_add(obj, "database", json_object_new_string(up ? "up" : "down"));
    json_object_object_add(obj, "schema_version", up ? json_object_new_int(atoi(PQgetvalue(res, 0, 0))) : NULL);
    json_object_object_add(obj, "version", json_object_new_string(PACKAGE_VERSION));
    PQclear(res);
    db_pool_release(endpoint_pool(), db);
    if (!up)
        reply_header(reply, "Retry-After", "5");
    reply_json(reply, obj, req->callback);
}

/* Poller callback (push_kick): the kick is recorded; push-api holds no connection to close. */
static void api_on_kick(const char *payload)
{
    int app_id;
    char user[VALIDATE_USER_MAX + 1];
    if (kick_notified(payload, &app_id, user, sizeof(user)))
        log_debug("api: user %s of app %d kicked", user, app_id);
}

static int api_start(const struct config *cfg)
{
    api_presence_ttl = cfg->presence_ttl;
    if (cfg->publish_per_address > 0)
        api_publish_limiter = limiter_new(cfg->publish_per_address, API_LIMITER_ADDRESSES);
    if (endpoint_init(cfg) < 0)
        return -1;
    api_group = group_new(endpoint_pool());
    if (!api_group)
        return -1;
    api_poller = poller_new(cfg->dsn, endpoint_pool());
    if (!api_poller)
        return -1;
    poller_on_kick(api_poller, api_on_kick);
    poller_set_liveness(api_poller, cfg->listener_idle, cfg->listener_timeout);
    return poller_start(api_poller);
}

/* With no request left: the committer thread stops, then the pool closes. */
static void api_finish(void)
{
    /* Its listener thread is joined before the process's libraries are torn down. */
    poller_free(api_poller);
    api_poller = NULL;
    group_free(api_group);
    api_group = NULL;
    limiter_free(api_publish_limiter);
    api_publish_limiter = NULL;
    endpoint_shutdown();
}

static const struct gateway_route api_routes[] = {
    { "/push/publish", "GET,POST", api_publish },
    /* GoEasy's REST publish (1.x and 2.x): the same fields, the same {code, content} answer. */
    { "/goeasy/publish", "POST", api_publish },
    { "/v2/pubsub/publish", "POST", api_publish },
    { "/push/history", "GET", api_history },
    { "/push/presence", "GET", api_presence },
    { "/push/leave", "GET,POST", api_leave },
    { "/push/read", "POST", api_read },
    { "/push/unread", "GET", api_unread },
    { "/push/status", "GET", api_status },
};

int main(int argc, char **argv)
{
    static const struct gateway_program program = {
        "push-api",
        "Publish, history, presence, read marks and status over FastCGI.",
        api_routes,
        sizeof(api_routes) / sizeof(api_routes[0]),
        256 * 1024,
        api_start,
        NULL,
        api_finish,
    };
    /* A single publish is held, not waited for (api_single_submit): the threads are for the
     * requests that wait on the database themselves (batch, history, presence, read). */
    if (config_default("threads", "64") < 0)
        return 1;
    return gateway_main(&program, argc, argv);
}
