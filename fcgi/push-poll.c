/* push-poll.c: the FastCGI long-poll program: GET /push/poll holds a request until a message
 * arrives through the process's one LISTEN/NOTIFY poller or the timeout passes. */
#include "auth.h"
#include "cursor.h"
#include "endpoint.h"
#include "gateway.h"
#include "log.h"
#include "message.h"
#include "poller.h"
#include "validate.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define POLL_TIMEOUT_DEFAULT 25
#define POLL_TIMEOUT_MAX 55
#define POLL_LIMIT_DEFAULT 100
#define POLL_LIMIT_MAX 1000

/* Held requests do little on their own stack; sanitizers need more room. */
#if defined(__SANITIZE_ADDRESS__)
#define POLL_THREAD_STACK (512 * 1024)
#else
#define POLL_THREAD_STACK (128 * 1024)
#endif

/* One message ready to go out; content borrowed from a PGresult or a poller batch. */
struct poll_item {
    int64_t seq;
    int64_t time_ms;
    const char *content;
    size_t content_len;
};

struct poll_channel {
    const char *name;          /* borrowed from the request's channel list */
    int64_t id;
    int64_t head;              /* last seq when the channel was opened */
    int64_t cursor;            /* last seq delivered or skipped */
    bool gap;
    bool watched;
    struct poll_item *items;   /* owned array, in seq order, all > the cursor sent in */
    size_t count, cap;
    size_t sent;               /* items taken into the response */
};

/* A request waiting for batches; lives on the request thread's stack. */
struct poll_waiter {
    struct poller_watcher watcher;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct poller_batch **batches;  /* held, owned array; guarded by lock */
    size_t nbatches, cap;
    bool stopped;                   /* guarded by lock */
    struct poll_waiter *prev, *next; /* guarded by poll_waiters_lock */
};

struct poll_request {
    struct endpoint ep;
    char **names;              /* owned list from params_get_list */
    int nnames;
    struct poll_channel *channels; /* owned, nnames entries */
    struct cursor since;
    long long timeout, limit;
    const char *client;        /* borrowed from params, or NULL */
    const char *user;          /* borrowed, or NULL */
    PGresult *catch_up;        /* owned; items point into it */
    struct poller_batch **batches; /* held, owned; items point into them */
    size_t nbatches;
};

static struct poller *poll_poller;
static pthread_mutex_t poll_waiters_lock = PTHREAD_MUTEX_INITIALIZER;
static struct poll_waiter *poll_waiters;
static bool poll_stopping;

static const struct db_statement poll_open_sql = {
    "poll_open",
    "SELECT name, channel_id, last_seq, oldest_seq FROM push.channel_open($1, $2::text[])",
    2,
};

static const struct db_statement poll_presence_sql = {
    "poll_presence",
    "SELECT push.presence_touch($1, $2::text[], $3, $4)",
    4,
};

/* Up to $3 rows of each channel $1[i] after $2[i], by channel then seq. */
static const struct db_statement poll_catch_up_sql = {
    "poll_catch_up",
    "SELECT c.i, m.seq, m.content, (extract(epoch from m.created_at) * 1000)::bigint"
    " FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS c(id, after, i)"
    " CROSS JOIN LATERAL (SELECT seq, content, created_at FROM push.message"
    "  WHERE channel_id = c.id AND seq > c.after ORDER BY seq LIMIT $3::int) m"
    " ORDER BY c.i, m.seq",
    3,
};

static void poll_item_add(struct poll_channel *ch, int64_t seq, int64_t time_ms, const char *content,
                          size_t content_len)
{
    if (ch->count == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 8;
        ch->items = xrealloc(ch->items, ch->cap * sizeof(*ch->items));
    }
    ch->items[ch->count++] = (struct poll_item){ seq, time_ms, content, content_len };
}

/* Appends one message if it is the channel's next; a jump means pruned rows (a gap). */
static void poll_take(struct poll_channel *ch, int64_t seq, int64_t time_ms, const char *content,
                      size_t content_len)
{
    int64_t last = ch->count ? ch->items[ch->count - 1].seq : ch->cursor;
    if (seq <= last)
        return;
    if (seq > last + 1) {
        ch->gap = true;
        if (ch->count == 0)
            ch->cursor = seq - 1;
    }
    poll_item_add(ch, seq, time_ms, content, content_len);
}

static size_t poll_pending(const struct poll_request *pr)
{
    size_t n = 0;
    for (int i = 0; i < pr->nnames; i++)
        n += pr->channels[i].count;
    return n;
}

/* Poller callbacks: keep the batch and wake the request thread. */
static void poll_on_batch(struct poller_watcher *w, struct poller_batch *batch)
{
    struct poll_waiter *waiter = w->ctx;
    pthread_mutex_lock(&waiter->lock);
    if (waiter->nbatches == waiter->cap) {
        waiter->cap = waiter->cap ? waiter->cap * 2 : 4;
        waiter->batches = xrealloc(waiter->batches, waiter->cap * sizeof(*waiter->batches));
    }
    poller_batch_hold(batch);
    waiter->batches[waiter->nbatches++] = batch;
    pthread_cond_signal(&waiter->wake);
    pthread_mutex_unlock(&waiter->lock);
}

/* Request parameters, checked before anything touches the database. Returns 0 or -1 (replied). */
static int poll_parse(struct poll_request *pr)
{
    struct endpoint *ep = &pr->ep;
    const struct params *params = &ep->req->params;
    char msg[300];

    pr->nnames = params_get_list(params, "channel", &pr->names, CURSOR_MAX_CHANNELS);
    if (pr->nnames < 0) {
        pr->nnames = 0;
        snprintf(msg, sizeof(msg), "channel: at most %d channels", CURSOR_MAX_CHANNELS);
        return endpoint_error(ep, 400, msg);
    }
    if (pr->nnames == 0)
        return endpoint_error(ep, 400, "channel: missing");
    for (int i = 0; i < pr->nnames; i++)
        if (!validate_channel(pr->names[i]))
            return endpoint_error(ep, 400, "channel: must be 1-128 bytes of [A-Za-z0-9_.=@/-]");
    int unique = 0;
    for (int i = 0; i < pr->nnames; i++) {
        bool seen = false;
        for (int j = 0; j < unique && !seen; j++)
            seen = strcmp(pr->names[j], pr->names[i]) == 0;
        if (seen) {
            free(pr->names[i]);
        } else {
            pr->names[unique++] = pr->names[i];
        }
    }
    pr->nnames = unique;

    if (cursor_parse(&pr->since, params_get(params, "since"), msg, sizeof(msg)) < 0)
        return endpoint_error(ep, 400, msg);
    if (endpoint_int_param(ep, "timeout", 0, POLL_TIMEOUT_MAX, POLL_TIMEOUT_DEFAULT, &pr->timeout) < 0 ||
        endpoint_int_param(ep, "limit", 1, POLL_LIMIT_MAX, POLL_LIMIT_DEFAULT, &pr->limit) < 0)
        return -1;

    pr->client = params_get(params, "client");
    if (pr->client && !*pr->client)
        pr->client = NULL;
    if (pr->client && !validate_user(pr->client))
        return endpoint_error(ep, 400, "client: must be 1-64 bytes of [A-Za-z0-9_.=@-]");
    /* Who the client is: the owner of a polled user-<id> channel (its token is checked), else
     * the optional user parameter, as the sidecar takes it (user-bound tokens check it). */
    const char *user = params_get(params, "user");
    if (user && *user && !validate_user(user))
        return endpoint_error(ep, 400, "user: must be 1-64 bytes of [A-Za-z0-9_.=@-]");
    for (int i = 0; i < pr->nnames && !pr->user; i++)
        pr->user = validate_channel_user(pr->names[i]);
    if (!pr->user && user && *user)
        pr->user = user;
    return 0;
}

/* Each private-* and user-* channel needs one of the tokens given (repeated or comma list);
 * the publish key (a backend) needs none. Returns 0, or -1 with a 403 reply. */
static int poll_check_tokens(struct poll_request *pr)
{
    struct endpoint *ep = &pr->ep;
    if (ep->app.role == APP_ROLE_PUBLISH)
        return 0;
    char **tokens = NULL;
    int ntokens = params_get_list(&ep->req->params, "token", &tokens, CURSOR_MAX_CHANNELS);
    int rc = 0;
    time_t now = time(NULL);
    for (int i = 0; i < pr->nnames && rc == 0; i++) {
        const char *channel = pr->names[i];
        if (!validate_channel_needs_token(channel))
            continue;
        enum auth_result result = auth_tokens_verify(ep->app.secret, channel, pr->user,
                                                     (const char *const *)tokens,
                                                     ntokens > 0 ? (size_t)ntokens : 0, now);
        if (result != AUTH_OK) {
            char text[300];
            snprintf(text, sizeof(text), "%s (%s)", auth_result_text(result), channel);
            rc = endpoint_error(ep, 403, text);
        }
    }
    params_list_free(tokens, ntokens > 0 ? ntokens : 0);
    return rc;
}

/* Opens the channels (creating missing ones) and places each cursor: from since, from the
 * head when absent, from the oldest kept for 0. Records presence. Returns 0 or -1 (replied). */
static int poll_open_channels(struct poll_request *pr)
{
    struct endpoint *ep = &pr->ep;
    char app_id[16];
    snprintf(app_id, sizeof(app_id), "%d", ep->app.id);
    struct buf names = BUF_INIT;
    for (int i = 0; i < pr->nnames; i++)
        db_array_add(&names, pr->names[i]);
    const char *params[] = { app_id, db_array_end(&names) };
    PGresult *res = db_exec(ep->db, &poll_open_sql, params);
    if (!db_ok(res)) {
        buf_free(&names);
        endpoint_fail_db(ep, res);
        return -1;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        struct poll_channel *ch = NULL;
        for (int i = 0; i < pr->nnames && !ch; i++)
            if (strcmp(pr->names[i], PQgetvalue(res, r, 0)) == 0)
                ch = &pr->channels[i];
        if (!ch)
            continue;
        ch->id = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        int64_t head = ch->head = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        bool have_oldest = !PQgetisnull(res, r, 3);
        int64_t oldest = have_oldest ? strtoll(PQgetvalue(res, r, 3), NULL, 10) : head + 1;
        int64_t since;
        if (!cursor_get(&pr->since, ch->name, &since)) {
            ch->cursor = head;
        } else if (since == 0) {
            ch->cursor = oldest - 1;
        } else if (since > head) {
            /* Ahead of the channel (a cursor from elsewhere): start again from the head. */
            ch->gap = true;
            ch->cursor = head;
        } else if (since < oldest - 1) {
            ch->gap = true;
            ch->cursor = oldest - 1;
        } else {
            ch->cursor = since;
        }
    }
    PQclear(res);

    int rc = 0;
    if (pr->client) {
        const char *presence[] = { app_id, buf_str(&names), pr->client, pr->user };
        res = db_exec(ep->db, &poll_presence_sql, presence);
        if (db_ok(res)) {
            PQclear(res);
        } else {
            endpoint_fail_db(ep, res);
            rc = -1;
        }
    }
    buf_free(&names);
    return rc;
}

/* Reads what each channel has after its cursor, up to limit + 1 rows each (the extra row
 * tells that more remain). Returns 0 or -1 (replied). */
static int poll_catch_up(struct poll_request *pr)
{
    struct endpoint *ep = &pr->ep;
    struct buf ids = BUF_INIT, afters = BUF_INIT;
    char number[24];
    for (int i = 0; i < pr->nnames; i++) {
        snprintf(number, sizeof(number), "%" PRId64, pr->channels[i].id);
        db_array_add(&ids, number);
        snprintf(number, sizeof(number), "%" PRId64, pr->channels[i].cursor);
        db_array_add(&afters, number);
    }
    char limit[24];
    snprintf(limit, sizeof(limit), "%lld", pr->limit + 1);
    const char *params[] = { db_array_end(&ids), db_array_end(&afters), limit };
    PGresult *res = db_exec(ep->db, &poll_catch_up_sql, params);
    buf_free(&ids);
    buf_free(&afters);
    if (!db_ok(res)) {
        endpoint_fail_db(ep, res);
        return -1;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        long index = strtol(PQgetvalue(res, r, 0), NULL, 10) - 1;
        if (index < 0 || index >= pr->nnames)
            continue;
        poll_take(&pr->channels[index], strtoll(PQgetvalue(res, r, 1), NULL, 10),
                  strtoll(PQgetvalue(res, r, 3), NULL, 10), PQgetvalue(res, r, 2),
                  (size_t)PQgetlength(res, r, 2));
    }
    pr->catch_up = res;
    return 0;
}

/* Moves the waiter's batches into the request and takes their new messages. */
static void poll_take_batches(struct poll_request *pr, struct poll_waiter *waiter)
{
    for (size_t b = 0; b < waiter->nbatches; b++) {
        struct poller_batch *batch = waiter->batches[b];
        pr->batches = xrealloc(pr->batches, (pr->nbatches + 1) * sizeof(*pr->batches));
        pr->batches[pr->nbatches++] = batch;
        for (int i = 0; i < pr->nnames; i++) {
            if (pr->channels[i].id != batch->channel_id)
                continue;
            for (size_t m = 0; m < batch->count; m++)
                poll_take(&pr->channels[i], batch->messages[m].seq, batch->messages[m].time_ms,
                          batch->messages[m].content, batch->messages[m].content_len);
        }
    }
    waiter->nbatches = 0;
}

static struct timespec poll_deadline(long long seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += seconds;
    return ts;
}

/* Waits until a batch brings something new, the deadline passes or the program stops. */
static void poll_wait(struct poll_request *pr, struct poll_waiter *waiter, struct timespec deadline)
{
    pthread_mutex_lock(&poll_waiters_lock);
    bool stopping = poll_stopping;
    if (!stopping) {
        waiter->next = poll_waiters;
        if (poll_waiters)
            poll_waiters->prev = waiter;
        poll_waiters = waiter;
    }
    pthread_mutex_unlock(&poll_waiters_lock);
    if (stopping)
        return;

    pthread_mutex_lock(&waiter->lock);
    for (;;) {
        if (waiter->nbatches > 0) {
            poll_take_batches(pr, waiter);
            if (poll_pending(pr) > 0)
                break;
        }
        if (waiter->stopped)
            break;
        int rc = pthread_cond_timedwait(&waiter->wake, &waiter->lock, &deadline);
        if (rc == ETIMEDOUT && waiter->nbatches == 0)
            break;
    }
    pthread_mutex_unlock(&waiter->lock);

    pthread_mutex_lock(&poll_waiters_lock);
    if (waiter->prev)
        waiter->prev->next = waiter->next;
    else
        poll_waiters = waiter->next;
    if (waiter->next)
        waiter->next->prev = waiter->prev;
    pthread_mutex_unlock(&poll_waiters_lock);
}

/* The response: up to limit messages, merged across channels by time, each channel in seq
 * order; the cursor after what was sent for every polled channel. */
static void poll_reply(struct poll_request *pr)
{
    struct json_object *obj = reply_object(200, "OK");
    struct json_object *messages = json_object_new_array();
    long long sent = 0;
    for (; sent < pr->limit; sent++) {
        struct poll_channel *next = NULL;
        for (int i = 0; i < pr->nnames; i++) {
            struct poll_channel *ch = &pr->channels[i];
            if (ch->sent < ch->count &&
                (!next || ch->items[ch->sent].time_ms < next->items[next->sent].time_ms))
                next = ch;
        }
        if (!next)
            break;
        const struct poll_item *it = &next->items[next->sent++];
        json_object_array_add(messages, message_object(NULL, next->name, it->seq, it->content,
                                                       it->content_len, it->time_ms));
        next->cursor = it->seq;
    }
    bool more = false;
    struct cursor cursor = { .count = 0 };
    struct json_object *gap = json_object_new_array();
    for (int i = 0; i < pr->nnames; i++) {
        struct poll_channel *ch = &pr->channels[i];
        if (ch->sent < ch->count)
            more = true;
        if (cursor_set(&cursor, ch->name, ch->cursor) < 0)
            log_error("poll: cursor full at %s", ch->name);
        if (ch->gap)
            json_object_array_add(gap, json_object_new_string(ch->name));
    }
    struct buf text = BUF_INIT;
    cursor_format(&cursor, &text);
    json_object_object_add(obj, "messages", messages);
    json_object_object_add(obj, "cursor", json_object_new_string(buf_str(&text)));
    json_object_object_add(obj, "more", json_object_new_boolean(more));
    json_object_object_add(obj, "gap", gap);
    buf_free(&text);
    reply_json(pr->ep.reply, obj, pr->ep.req->callback);
}

static void poll_handle(struct request *req, struct reply *reply)
{
    struct poll_request *pr = xcalloc(1, sizeof(*pr));
    struct poll_waiter waiter;
    memset(&waiter, 0, sizeof(waiter));
    pthread_mutex_init(&waiter.lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&waiter.wake, &attr);
    pthread_condattr_destroy(&attr);
    waiter.watcher.on_batch = poll_on_batch;
    waiter.watcher.ctx = &waiter;

    pr->ep.req = req;
    pr->ep.reply = reply;
    if (poll_parse(pr) < 0)
        goto done;
    struct timespec deadline = poll_deadline(pr->timeout);
    pr->channels = xcalloc((size_t)pr->nnames, sizeof(*pr->channels));
    for (int i = 0; i < pr->nnames; i++)
        pr->channels[i].name = pr->names[i];
    if (endpoint_open(&pr->ep, req, reply) < 0)
        goto done;
    if (poll_check_tokens(pr) < 0 || poll_open_channels(pr) < 0)
        goto done;
    /* Watch first: whatever commits after the catch-up query then arrives as a batch. The
     * catch-up reads up to the head (or answers at once when limit cuts it short). */
    for (int i = 0; i < pr->nnames; i++) {
        struct poll_channel *ch = &pr->channels[i];
        if (poller_watch(poll_poller, &waiter.watcher, ch->id, ch->head) < 0) {
            endpoint_error(&pr->ep, 500, "internal error");
            goto done;
        }
        ch->watched = true;
    }
    if (poll_catch_up(pr) < 0)
        goto done;
    endpoint_close(&pr->ep);
    if (poll_pending(pr) == 0 && pr->timeout > 0)
        poll_wait(pr, &waiter, deadline);
    poll_reply(pr);

done:
    endpoint_close(&pr->ep);
    for (int i = 0; pr->channels && i < pr->nnames; i++)
        if (pr->channels[i].watched)
            poller_unwatch(poll_poller, &waiter.watcher, pr->channels[i].id);
    /* Unwatched: no callback runs any more, the waiter can go. */
    for (size_t b = 0; b < waiter.nbatches; b++)
        poller_batch_release(waiter.batches[b]);
    free(waiter.batches);
    pthread_mutex_destroy(&waiter.lock);
    pthread_cond_destroy(&waiter.wake);
    for (size_t b = 0; b < pr->nbatches; b++)
        poller_batch_release(pr->batches[b]);
    free(pr->batches);
    PQclear(pr->catch_up);
    for (int i = 0; pr->channels && i < pr->nnames; i++)
        free(pr->channels[i].items);
    free(pr->channels);
    params_list_free(pr->names, pr->nnames);
    free(pr);
}

/* Lets one process hold as many requests as it has threads: each holds a socket. */
static int poll_start(const struct config *cfg)
{
    if (endpoint_init(cfg) < 0)
        return -1;
    poll_poller = poller_new(cfg->dsn, endpoint_pool());
    if (!poll_poller || poller_start(poll_poller) < 0)
        return -1;
    return 0;
}

/* Wakes every held request so it answers now with what it has. */
static void poll_stop(void)
{
    pthread_mutex_lock(&poll_waiters_lock);
    poll_stopping = true;
    for (struct poll_waiter *w = poll_waiters; w; w = w->next) {
        pthread_mutex_lock(&w->lock);
        w->stopped = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
    }
    pthread_mutex_unlock(&poll_waiters_lock);
}

static const struct gateway_route poll_routes[] = {
    { "/push/poll", "GET", poll_handle },
};

int main(int argc, char **argv)
{
    static const struct gateway_program program = {
        "push-poll",
        "Long-poll subscribe (GET /push/poll) over PostgreSQL LISTEN/NOTIFY, one listener per process.",
        poll_routes,
        sizeof(poll_routes) / sizeof(poll_routes[0]),
        POLL_THREAD_STACK,
        poll_start,
        poll_stop,
    };
    /* Threads are cheap here (small stacks, no connection each): hold many requests per process.
     * Every held request shares the one pool connection for its short queries. */
    if (config_default("threads", "512") < 0 || config_default("db_pool", "1") < 0)
        return 1;
    /* Names the listener and pool connections in pg_stat_activity unless the operator did. */
    setenv("PGAPPNAME", "push-poll", 0);
    return gateway_main(&program, argc, argv);
}
