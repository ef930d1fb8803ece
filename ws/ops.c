/* ops.c: what a WebSocket client asks for (subscribe, unsubscribe, publish, history,
 * presence, read, unread) and the replies; database work goes through jobs. */
#include "ops.h"
#include "app.h"
#include "auth.h"
#include "buf.h"
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
#include <time.h>

#define OPS_MAX_PARAMS 5
/* Tokens of one read or unread (one string or an array), channels of one unread, seqs of one
 * read: as many as the HTTP API takes. */
#define OPS_MAX_TOKENS 8
#define OPS_MAX_CHANNELS 64
#define OPS_MAX_SEQS 1000
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
    struct json_object *request;     /* owned reference or NULL: the request, for a reply that
                                        reads more of it; touched on the loop thread only */
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
            client_send_error(q->client, q->id, q->job.status, q->job.error, q->channel[0] ? q->channel : NULL);
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
    json_object_put(q->request);
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
    struct sub *old = channel_find_sub(&c->sink, channel);
    if (old) {
        channel_unsubscribe(old);
    } else if (c->sink.nsubs >= c->server->cfg->ws_max_subscriptions) {
        char err[120];
        snprintf(err, sizeof(err), "subscriptions: at most %d per connection",
                 c->server->cfg->ws_max_subscriptions);
        client_send_error(c, id, 429, err, channel);
        return;
    }
    channel_subscribe(c->server, &c->sink, c->hello.app_id, channel, has_since > 0, since, id);
    presence_mark(c->server, c);
}

static void ops_unsubscribe(struct client *c, struct json_object *req, struct json_object *id)
{
    const char *channel = ops_channel(c, req, id);
    if (!channel)
        return;
    struct sub *s = channel_find_sub(&c->sink, channel);
    if (!s) {
        client_send_error(c, id, 404, "channel: not subscribed", channel);
        return;
    }
    channel_unsubscribe(s);
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

/* The token member of read and unread: one string or an array of strings, into tokens.
 * Returns how many, or -1 after replying 400. */
static int ops_tokens(struct client *c, struct json_object *req, struct json_object *id, const char *channel,
                      const char **tokens)
{
    int n = request_strings(req, "token", tokens, OPS_MAX_TOKENS);
    if (n < 0)
        client_send_error(c, id, 400, "token: must be a string or an array of at most 8 strings", channel);
    return n;
}

/* Who reads, as POST /push/read and GET /push/unread take it: a JWT's sub among tokens, else
 * the user member, else the connection's user (vouched for or only named); and, without the
 * server key, tokens that open that user's channel user-<id>. Writes the user into user and
 * returns true, or replies 400/403 and returns false. */
static bool ops_reader(struct client *c, struct json_object *req, struct json_object *id, const char *channel,
                       const char *const *tokens, size_t ntokens, char user[VALIDATE_USER_MAX + 1])
{
    const char *named = request_string(req, "user");
    char err[300];
    if (named && validate_user_error(named)) {
        snprintf(err, sizeof(err), "user: %s", validate_user_error(named));
        client_send_error(c, id, 400, err, channel);
        return false;
    }
    char sub[VALIDATE_USER_MAX + 2];
    enum auth_result subject = auth_tokens_subject(c->hello.secret, tokens, ntokens, time(NULL), sub, sizeof(sub),
                                                   NULL);
    if (subject == AUTH_JWT_USER) {
        client_send_error(c, id, 403, "token: the tokens name different users", channel);
        return false;
    }
    if (subject == AUTH_OK) {
        if (validate_user_error(sub)) {
            snprintf(err, sizeof(err), "token: sub %s", validate_user_error(sub));
            client_send_error(c, id, 400, err, channel);
            return false;
        }
        if (named && strcmp(named, sub) != 0) {
            snprintf(err, sizeof(err), "user: the token is %s's, not %s's", sub, named);
            client_send_error(c, id, 403, err, channel);
            return false;
        }
        named = sub;
    }
    if (!named)
        named = c->hello.user[0] ? c->hello.user : c->hello.named;
    if (!named[0]) {
        client_send_error(c, id, 400, "user: missing (give user, a token naming the user, or connect with user=)",
                          channel);
        return false;
    }
    snprintf(user, VALIDATE_USER_MAX + 1, "%.*s", VALIDATE_USER_MAX, named);
    char own[VALIDATE_USER_MAX + 8];
    snprintf(own, sizeof(own), "user-%s", user);
    if (handshake_authorize(&c->hello, own, tokens, ntokens, err, sizeof(err)) != 0) {
        client_send_error(c, id, 403, err, channel);
        return false;
    }
    return true;
}

/* app_authorize of channel for user with tokens: AUTH_OK or why not. */
static enum auth_result ops_rule(const struct client *c, const char *channel, const char *user,
                                 const char *const *tokens, size_t ntokens)
{
    return app_authorize(c->hello.app_id, c->hello.role, c->hello.secret, false, channel, user, tokens, ntokens);
}

static void ops_read_reply(struct query_job *q)
{
    struct json_object *obj = ops_reply_object("read", q->id, q->channel);
    json_object_object_add(obj, "user", json_object_new_string(q->params[1]));
    json_object_object_add(obj, q->statement == &message_mark_read_sql ? "seq" : "marked",
                           json_object_new_int64(strtoll(PQgetvalue(q->result, 0, 0), NULL, 10)));
    ops_send(q->client, "read", obj);
}

/* {"op":"read","channel":..,"seq":N} marks the user's messages read up to N,
 * {"op":"read","channel":..,"seqs":[..]} those single messages: POST /push/read. */
static void ops_read(struct client *c, struct json_object *req, struct json_object *id)
{
    const char *channel = ops_channel(c, req, id);
    const char *tokens[OPS_MAX_TOKENS];
    int ntokens = channel ? ops_tokens(c, req, id, channel, tokens) : -1;
    char user[VALIDATE_USER_MAX + 1];
    if (ntokens < 0 || !ops_reader(c, req, id, channel, tokens, (size_t)ntokens, user))
        return;
    /* Without a token that covers the channel too, nothing about it is told (not even whether
     * it exists). */
    enum auth_result rule = ops_rule(c, channel, user, tokens, (size_t)ntokens);
    if (rule != AUTH_OK) {
        char err[300];
        app_authorize_text(rule, channel, err, sizeof(err));
        client_send_error(c, id, 403, err, channel);
        return;
    }
    long long seq = 0;
    long long *seqs = xcalloc(OPS_MAX_SEQS, sizeof(*seqs));
    int has_seq = request_number(req, "seq", 0, INT64_MAX, &seq);
    int nseqs = request_numbers(req, "seqs", 1, INT64_MAX, seqs, OPS_MAX_SEQS);
    struct buf array = BUF_INIT;
    const char *bad = nseqs != 0 && has_seq != 0 ? "seqs: give seq (read up to) or seqs (these messages), not both"
                    : nseqs < 0 ? "seqs: must be an array of 1 to 1000 whole numbers from 1"
                    : has_seq < 0 ? "seq: must be a whole number >= 0"
                    : nseqs == 0 && has_seq == 0 ? "seq: missing (or seqs)" : NULL;
    if (bad) {
        client_send_error(c, id, 400, bad, channel);
        goto out;
    }
    for (int i = 0; i < nseqs; i++)
        buf_printf(&array, "%s%lld", i ? "," : "{", seqs[i]);
    if (nseqs > 0)
        buf_printf(&array, "}");
    size_t bytes = sizeof(struct query_job) + array.len;
    if (!ops_admit(c, id, channel, bytes))
        goto out;
    struct query_job *q = query_new(c, id, channel, nseqs > 0 ? &message_mark_read_each_sql : &message_mark_read_sql,
                                    ops_read_reply);
    q->params[0] = xstrdup(c->hello.appkey);
    q->params[1] = xstrdup(user);
    q->params[2] = xstrdup(channel);
    q->params[3] = nseqs > 0 ? xstrdup(buf_str(&array)) : ops_number(seq);
    ops_submit(c, q, bytes);
out:
    buf_free(&array);
    free(seqs);
}

/* True when names (n of them) is empty or holds name. */
static bool ops_listed(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return n == 0;
}

static void ops_unread_reply(struct query_job *q)
{
    const char *tokens[OPS_MAX_TOKENS], *names[OPS_MAX_CHANNELS];
    int ntokens = request_strings(q->request, "token", tokens, OPS_MAX_TOKENS);
    int n = request_strings(q->request, "channels", names, OPS_MAX_CHANNELS);
    const char *user = q->params[1];
    struct json_object *obj = ops_reply_object("unread", q->id, NULL), *channels = json_object_new_object();
    long long total = 0;
    for (int i = 0; i < PQntuples(q->result); i++) {
        const char *name = PQgetvalue(q->result, i, 0);
        /* A channel the caller may not read (any more) is not told of, not even its name. */
        if (!ops_listed(names, n, name) || ops_rule(q->client, name, user, tokens, (size_t)ntokens) != AUTH_OK)
            continue;
        struct json_object *one = json_object_new_object();
        long long unread = strtoll(PQgetvalue(q->result, i, 3), NULL, 10);
        json_object_object_add(one, "last_seq", json_object_new_int64(strtoll(PQgetvalue(q->result, i, 1), NULL, 10)));
        json_object_object_add(one, "read_seq", json_object_new_int64(strtoll(PQgetvalue(q->result, i, 2), NULL, 10)));
        json_object_object_add(one, "unread", json_object_new_int64(unread));
        json_object_object_add(channels, name, one);
        total += unread;
    }
    json_object_object_add(obj, "user", json_object_new_string(user));
    json_object_object_add(obj, "channels", channels);
    json_object_object_add(obj, "total", json_object_new_int64(total));
    ops_send(q->client, "unread", obj);
}

/* {"op":"unread","channels":[..]} the user's unread counts (of those channels): GET /push/unread. */
static void ops_unread(struct client *c, struct json_object *req, struct json_object *id)
{
    const char *tokens[OPS_MAX_TOKENS], *names[OPS_MAX_CHANNELS];
    int ntokens = ops_tokens(c, req, id, NULL, tokens);
    char user[VALIDATE_USER_MAX + 1];
    if (ntokens < 0 || !ops_reader(c, req, id, NULL, tokens, (size_t)ntokens, user))
        return;
    int n = request_strings(req, "channels", names, OPS_MAX_CHANNELS);
    for (int i = 0; i < n; i++) {
        if (validate_channel_error(names[i])) {
            char err[160];
            snprintf(err, sizeof(err), "channels: %s", validate_channel_error(names[i]));
            client_send_error(c, id, 400, err, NULL);
            return;
        }
    }
    if (n < 0) {
        client_send_error(c, id, 400, "channels: must be an array of at most 64 channels", NULL);
        return;
    }
    if (!ops_admit(c, id, NULL, sizeof(struct query_job)))
        return;
    struct query_job *q = query_new(c, id, "", &message_unread_sql, ops_unread_reply);
    q->request = json_object_get(req);
    q->params[0] = xstrdup(c->hello.app_name);
    q->params[1] = xstrdup(user);
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
    { "read", ops_read },
    { "unread", ops_unread },
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
