/* ops.c: what a WebSocket client asks for (subscribe, unsubscribe, publish, history,
 * presence) and the replies; database work goes through jobs. */
#include "ops.h"
#include "channel.h"
#include "client.h"
#include "frame.h"
#include "handshake.h"
#include "jobs.h"
#include "log.h"
#include "message.h"
#include "presence.h"
#include "request.h"
#include "server.h"
#include "validate.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPS_MAX_PARAMS 5
/* A history reply's budget (what it may hold once rendered). */
#define OPS_HISTORY_BYTES(c) ((size_t)(c)->server->cfg->ws_queue_bytes / 4)

static const struct db_statement ops_presence_sql = {
    "ws_presence",
    "SELECT clients, array_to_json(users), info FROM push.here_now($1, ARRAY[$2::text],"
    " make_interval(secs => $3::int))",
    3,
};

/* One statement run for a client; the reply is built on the loop thread from the result. */
struct query_job {
    struct job job;
    struct client *client;           /* holds a reference */
    struct json_object *id;          /* owned reference; touched on the loop thread only */
    char channel[VALIDATE_CHANNEL_MAX + 1];
    const struct db_statement *statement;
    char *params[OPS_MAX_PARAMS];    /* owned; NULL = SQL NULL */
    PGresult *result;                /* owned; set when the statement succeeded (and not rendered) */
    /* Worker thread, optional: turns the result into frame, so that only the reply (of at most
     * budget bytes) waits for the loop, not the whole result. */
    void (*render)(struct query_job *q, PGresult *res);
    size_t budget;                   /* bytes a rendered reply may take */
    char *id_json;                   /* owned: the request id as JSON text, for render, or NULL */
    bool forward;                    /* history: keep the oldest rows that fit (else the newest) */
    struct frame *frame;             /* owned; what render built */
    size_t bytes;                    /* counted in server->pending_bytes */
    void (*reply)(struct query_job *q);
};

static void query_run(struct job *job, struct db_conn *db)
{
    struct query_job *q = (struct query_job *)job;
    PGresult *res = db_exec(db, q->statement, (const char *const *)q->params);
    if (db_ok(res) && q->render) {
        q->render(q, res);
        PQclear(res);
        return;
    }
    if (db_ok(res)) {
        q->result = res;
        return;
    }
    job_fail(job, q->statement->name, res, db->pg);
    PQclear(res);
}

static void query_done(struct job *job)
{
    struct query_job *q = (struct query_job *)job;
    if (q->client->wsi) {
        if (q->job.status)
            client_send_error(q->client, q->id, q->job.status, q->job.error, q->channel);
        else
            q->reply(q);
    }
    PQclear(q->result);
    frame_release(q->frame);
    free(q->id_json);
    q->client->server->pending_bytes -= q->bytes;
    for (int i = 0; i < OPS_MAX_PARAMS; i++)
        free(q->params[i]);
    json_object_put(q->id);
    q->client->inflight--;
    client_release(q->client);
    free(q);
}

static struct query_job *query_new(struct client *c, struct json_object *id, const char *channel,
                                   const struct db_statement *statement, void (*reply)(struct query_job *))
{
    struct query_job *q = xcalloc(1, sizeof(*q));
    q->job.run = query_run;
    q->job.done = query_done;
    q->job.owner = c;
    q->client = c;
    client_hold(c);
    c->inflight++;
    q->id = id ? json_object_get(id) : NULL;
    snprintf(q->channel, sizeof(q->channel), "%s", channel);
    q->statement = statement;
    q->reply = reply;
    return q;
}

static char *ops_number(long long n)
{
    char text[24];
    snprintf(text, sizeof(text), "%lld", n);
    return xstrdup(text);
}

/* A reply object {"op": op, "id": id, "channel": channel} to add to. */
static struct json_object *ops_reply_object(const char *op, struct json_object *id, const char *channel)
{
    struct json_object *obj = json_object_new_object();
    json_object_object_add(obj, "op", json_object_new_string(op));
    if (id)
        json_object_object_add(obj, "id", json_object_get(id));
    if (channel)
        json_object_object_add(obj, "channel", json_object_new_string(channel));
    return obj;
}

static void ops_send(struct client *c, const char *op, struct json_object *obj)
{
    struct frame *f = frame_from_json(op, obj);
    json_object_put(obj);
    client_send(c, f);
    frame_release(f);
}

/* ---- request members ---- */

/* The channel member, validated; NULL after replying with an error. */
static const char *ops_channel(struct client *c, struct json_object *req, struct json_object *id)
{
    const char *err = NULL;
    const char *channel = request_channel(req, &err);
    if (!channel)
        client_send_error(c, id, 400, err, NULL);
    return channel;
}

/* Checks the token member for channel; false after replying with an error. */
static bool ops_authorized(struct client *c, struct json_object *req, struct json_object *id,
                           const char *channel)
{
    const char *token = request_string(req, "token");
    char err[300];
    if (handshake_authorize(&c->hello, channel, &token, 1, err, sizeof(err)) == 0)
        return true;
    client_send_error(c, id, 403, err, channel);
    return false;
}

/* Whether the connection may start one more database operation of about bytes bytes; false
 * after replying 429 (a client that does not wait for its answers cannot pile up work) or
 * 503 (the worker's operations waiting for PostgreSQL hold ws_max_pending_bytes already). */
static bool ops_admit(struct client *c, struct json_object *id, const char *channel, size_t bytes)
{
    const struct config *cfg = c->server->cfg;
    char err[120];
    if (c->inflight >= cfg->ws_max_inflight) {
        snprintf(err, sizeof(err), "operations: at most %d in flight per connection, wait for the answers",
                 cfg->ws_max_inflight);
        client_send_error(c, id, 429, err, channel);
        return false;
    }
    if (c->server->pending_bytes + bytes > (size_t)cfg->ws_max_pending_bytes) {
        client_send_error(c, id, 503, "busy: too much work waiting for the database, retry later", channel);
        return false;
    }
    return true;
}

/* Counts q's request in the worker's pending bytes until it is done. */
static void ops_submit(struct client *c, struct query_job *q, size_t bytes)
{
    q->bytes = bytes;
    c->server->pending_bytes += bytes;
    jobs_submit(c->server->jobs, &q->job);
}

/* ---- operations ---- */

static void ops_subscribe(struct client *c, struct json_object *req, struct json_object *id)
{
    const char *channel = ops_channel(c, req, id);
    if (!channel || !ops_authorized(c, req, id, channel))
        return;
    handshake_vouch(c->server, &c->hello, channel);
    long long since = 0;
    int has_since = request_number(req, "since", 0, INT64_MAX, &since);
    if (has_since < 0) {
        client_send_error(c, id, 400, "since: must be a whole number >= 0", channel);
        return;
    }
    struct sub *old = client_find_sub(c, channel);
    if (old) {
        client_remove_sub(c, old);
    } else if (c->nsubs >= c->server->cfg->ws_max_subscriptions) {
        char err[120];
        snprintf(err, sizeof(err), "subscriptions: at most %d per connection",
                 c->server->cfg->ws_max_subscriptions);
        client_send_error(c, id, 429, err, channel);
        return;
    }
    channel_subscribe(c->server, c, channel, has_since > 0, since, id);
    presence_mark(c->server, c);
}

static void ops_unsubscribe(struct client *c, struct json_object *req, struct json_object *id)
{
    const char *channel = ops_channel(c, req, id);
    if (!channel)
        return;
    struct sub *s = client_find_sub(c, channel);
    if (!s) {
        client_send_error(c, id, 404, "channel: not subscribed", channel);
        return;
    }
    client_remove_sub(c, s);
    presence_leave(c->server, c, channel);
    ops_send(c, "unsubscribed", ops_reply_object("unsubscribed", id, channel));
}

/* message_publish_sql answers a refusal as a row (status, error), like a group publish. */
static void ops_publish_reply(struct query_job *q)
{
    int status = atoi(PQgetvalue(q->result, 0, 3));
    if (status != 200) {
        client_send_error(q->client, q->id, status, PQgetvalue(q->result, 0, 4), q->channel);
        return;
    }
    struct json_object *obj = ops_reply_object("ok", q->id, q->channel);
    json_object_object_add(obj, "seq", json_object_new_int64(strtoll(PQgetvalue(q->result, 0, 0), NULL, 10)));
    json_object_object_add(obj, "time", json_object_new_int64(strtoll(PQgetvalue(q->result, 0, 1), NULL, 10)));
    if (PQgetvalue(q->result, 0, 2)[0] == 't')
        json_object_object_add(obj, "duplicate", json_object_new_boolean(1));
    ops_send(q->client, "ok", obj);
}

static void ops_publish(struct client *c, struct json_object *req, struct json_object *id)
{
    const char *channel = ops_channel(c, req, id);
    if (!channel)
        return;
    const char *token = request_string(req, "token");
    char err[300];
    if (handshake_authorize_publish(&c->hello, channel, &token, 1, err, sizeof(err)) != 0) {
        client_send_error(c, id, 403, err, channel);
        return;
    }
    struct json_object *v;
    if (!json_object_object_get_ex(req, "content", &v) || !json_object_is_type(v, json_type_string)) {
        client_send_error(c, id, 400, "content: missing (a string)", channel);
        return;
    }
    struct json_object *m;
    const char *msgid = NULL;
    if (json_object_object_get_ex(req, "msgid", &m)) {
        msgid = json_object_is_type(m, json_type_string) ? json_object_get_string(m) : NULL;
        if (!validate_msgid(msgid)) {
            client_send_error(c, id, 400, "msgid: must be " VALIDATE_MSGID_RULE, channel);
            return;
        }
    }
    const char *content = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len == 0) {
        client_send_error(c, id, 400, "content: empty", channel);
        return;
    }
    if (!validate_utf8(content, len)) {
        client_send_error(c, id, 400, "content: not valid UTF-8 text (or contains NUL)", channel);
        return;
    }
    if (!ops_admit(c, id, channel, sizeof(struct query_job) + len))
        return;
    struct query_job *q = query_new(c, id, channel, &message_publish_sql, ops_publish_reply);
    q->params[0] = xstrdup(c->hello.appkey);
    q->params[1] = xstrdup(channel);
    q->params[2] = xstrdup(content);
    q->params[3] = c->hello.user[0] ? xstrdup(c->hello.user) : NULL;
    q->params[4] = msgid ? xstrdup(msgid) : NULL;
    ops_submit(c, q, sizeof(struct query_job) + len);
}

/* Worker thread: {"op":"history","id":..,"channel":..,"messages":[..]} of the rows that fit in
 * q->budget bytes (at least one), the newest ones (the oldest with `after`), with "more":true
 * when rows were left out. The id is copied, never shared with the loop thread. */
static void ops_history_render(struct query_job *q, PGresult *res)
{
    int n = PQntuples(res), kept = 0;
    struct json_object **rows = xcalloc((size_t)n + 1, sizeof(*rows));
    size_t bytes = 0;
    bool more = false;
    for (int k = 0; k < n; k++) {
        int i = q->forward ? k : n - 1 - k;
        if (PQgetisnull(res, i, 1))
            continue;
        struct json_object *m = message_object(NULL, q->channel, strtoll(PQgetvalue(res, i, 1), NULL, 10),
                                               PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2),
                                               strtoll(PQgetvalue(res, i, 3), NULL, 10));
        size_t len = strlen(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN)) + 1;
        if (kept > 0 && bytes + len > q->budget) {
            json_object_put(m);
            more = true;
            break;
        }
        bytes += len;
        rows[kept++] = m;
    }
    struct json_object *messages = json_object_new_array_ext(kept);
    for (int k = 0; k < kept; k++)
        json_object_array_add(messages, rows[q->forward ? k : kept - 1 - k]);
    free(rows);
    struct json_object *obj = ops_reply_object("history", NULL, q->channel);
    if (q->id_json)
        json_object_object_add(obj, "id", json_tokener_parse(q->id_json));
    json_object_object_add(obj, "messages", messages);
    if (more)
        json_object_object_add(obj, "more", json_object_new_boolean(true));
    q->frame = frame_from_json("history", obj);
    json_object_put(obj);
}

static void ops_history_reply(struct query_job *q)
{
    client_send(q->client, q->frame);
}

static void ops_history(struct client *c, struct json_object *req, struct json_object *id)
{
    const char *channel = ops_channel(c, req, id);
    if (!channel || !ops_authorized(c, req, id, channel) ||
        !ops_admit(c, id, channel, sizeof(struct query_job) + OPS_HISTORY_BYTES(c)))
        return;
    long long limit = 20, before = 0, after = 0;
    int has_limit = request_number(req, "limit", 1, 1000, &limit);
    int has_before = request_number(req, "before", 0, INT64_MAX, &before);
    int has_after = request_number(req, "after", 0, INT64_MAX, &after);
    const char *bad = has_limit < 0 ? "limit: must be a whole number in 1..1000"
                    : has_before < 0 ? "before: must be a whole number >= 0"
                    : has_after < 0 ? "after: must be a whole number >= 0" : NULL;
    if (bad) {
        client_send_error(c, id, 400, bad, channel);
        return;
    }
    struct query_job *q = query_new(c, id, channel, &message_history_sql, ops_history_reply);
    q->params[0] = ops_number(c->hello.app_id);
    q->params[1] = xstrdup(channel);
    q->params[2] = has_before ? ops_number(before) : NULL;
    q->params[3] = has_after ? ops_number(after) : NULL;
    q->params[4] = ops_number(limit);
    q->id_json = id ? xstrdup(json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN)) : NULL;
    q->render = ops_history_render;
    q->budget = OPS_HISTORY_BYTES(c);
    q->forward = has_after > 0;
    ops_submit(c, q, sizeof(struct query_job) + q->budget);
}

static void ops_presence_reply(struct query_job *q)
{
    struct json_object *obj = ops_reply_object("presence", q->id, q->channel);
    int clients = PQntuples(q->result) ? atoi(PQgetvalue(q->result, 0, 0)) : 0;
    struct json_object *users = PQntuples(q->result) ? json_tokener_parse(PQgetvalue(q->result, 0, 1)) : NULL;
    json_object_object_add(obj, "clients", json_object_new_int(clients));
    json_object_object_add(obj, "users", users ? users : json_object_new_array());
    struct json_object *info = PQntuples(q->result) ? json_tokener_parse(PQgetvalue(q->result, 0, 2)) : NULL;
    json_object_object_add(obj, "info", info ? info : json_object_new_object());
    ops_send(q->client, "presence", obj);
}

static void ops_presence(struct client *c, struct json_object *req, struct json_object *id)
{
    const char *channel = ops_channel(c, req, id);
    if (!channel || !ops_authorized(c, req, id, channel) || !ops_admit(c, id, channel, sizeof(struct query_job)))
        return;
    struct query_job *q = query_new(c, id, channel, &ops_presence_sql, ops_presence_reply);
    q->params[0] = ops_number(c->hello.app_id);
    q->params[1] = xstrdup(channel);
    q->params[2] = ops_number(c->server->cfg->presence_ttl);
    ops_submit(c, q, sizeof(struct query_job));
}

static const struct {
    const char *name;
    void (*handle)(struct client *c, struct json_object *req, struct json_object *id);
} ops_table[] = {
    { "subscribe", ops_subscribe },
    { "unsubscribe", ops_unsubscribe },
    { "publish", ops_publish },
    { "history", ops_history },
    { "presence", ops_presence },
};

void ops_handle(struct client *c, const char *text, size_t len)
{
    struct json_object *req = request_parse(text, len);
    if (!req) {
        client_send_error(c, NULL, 400, "bad JSON: expected one object like {\"op\":\"subscribe\",...}", NULL);
        return;
    }
    struct json_object *id = NULL;
    json_object_object_get_ex(req, "id", &id);
    const char *op = request_string(req, "op");
    size_t i = 0;
    while (op && i < sizeof(ops_table) / sizeof(ops_table[0]) && strcmp(ops_table[i].name, op) != 0)
        i++;
    if (!op) {
        client_send_error(c, id, 400, "op: missing", NULL);
    } else if (i == sizeof(ops_table) / sizeof(ops_table[0])) {
        char err[160];
        snprintf(err, sizeof(err), "op: unknown operation \"%.64s\"", op);
        client_send_error(c, id, 400, err, NULL);
    } else {
        ops_table[i].handle(c, req, id);
    }
    json_object_put(req);
}
