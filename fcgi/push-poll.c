/* push-poll.c: the FastCGI long-poll program: GET /push/poll answers at once when messages are
 * pending, else holds the request as a descriptor (no thread) until a message arrives through
 * the process's one LISTEN/NOTIFY poller, the timeout passes or the client goes away. */
#include "auth.h"
#include "clock.h"
#include "cursor.h"
#include "endpoint.h"
#include "feed.h"
#include "gateway.h"
#include "held.h"
#include "kick.h"
#include "list.h"
#include "log.h"
#include "message.h"
#include "poller.h"
#include "table.h"
#include "touch.h"
#include "validate.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_TIMEOUT_DEFAULT 25
#define POLL_TIMEOUT_MAX 55
#define POLL_LIMIT_DEFAULT 100
#define POLL_LIMIT_MAX 1000
#define POLL_RING_BYTES (1024 * 1024)  /* content bytes kept per channel at most */
#define POLL_FEED_IDLE 300             /* seconds a channel nobody polls stays followed */
#define POLL_QUIET_MS 1000             /* a poll held this long sends its headers */
#define POLL_SUPERSEDE_WINDOW_MS 10000 /* a client's polls answer its older ones at most */
#define POLL_SUPERSEDE_MAX 8           /* this many times in this window */

/* One message ready to go out; content borrowed from a PGresult or a pinned feed item. */
struct poll_item {
    int64_t seq;
    int64_t time_ms;
    const char *content;
    size_t content_len;
};

struct poll_request;

struct poll_channel {
    const char *name;              /* borrowed from the request's names */
    struct feed *feed;             /* one reference once placed, or NULL */
    int64_t cursor;                /* last seq delivered or skipped */
    bool gap;
    struct poll_item *items;       /* owned array, in seq order, all > the cursor sent in */
    size_t count, cap;
    size_t sent;                   /* items taken into the response */
    /* While held: in the feed's waiting list, guarded by poll_lock. */
    struct poll_request *owner;
    struct list_link wait_link;    /* in feed_waiting(feed) */
    bool waiting;
};

/* One poll, from its parse to its answer. Lives on as the held record when it waits. */
struct poll_request {
    struct held_request held;      /* first: the set hands it back */
    struct endpoint ep;            /* only while a worker serves it */
    char **names;                  /* owned list from params_get_list */
    int nnames;
    struct poll_channel *channels; /* owned, nnames entries */
    struct cursor since;
    long long timeout, limit;
    const char *client;            /* borrowed from params, or NULL */
    char sub[VALIDATE_USER_MAX + 1]; /* the user a JWT names (endpoint_user), or "" */
    char *info;                    /* owned: that JWT's info claim, or NULL */
    const char *user;              /* borrowed, or NULL */
    PGresult *catch_up;            /* owned; items point into it */
    struct feed_item *pins;        /* owned feed items the items point into */
    size_t npins, pins_cap;
    /* Held with its headers unsent: in the quiet list, guarded by poll_lock. */
    bool quiet;
    int64_t held_ms;
    struct list_link quiet_link;   /* in poll_quiet */
    /* Held for a user: in the users list (a kick answers it), guarded by poll_lock. */
    int app_id;
    char held_user[VALIDATE_USER_MAX + 1]; /* the request's user, or "" */
    uint64_t kick_serial;          /* kick_serial() before its tokens were judged */
    bool in_users;
    struct list_link user_link;    /* in poll_users */
    /* Held for a client id: in poll_clients (a newer poll of the client answers it), guarded
     * by poll_lock. The window and count of the answers that chain of polls gave. */
    char presence[AUTH_PRESENCE_ID]; /* the client's presence id, or "" */
    bool in_clients;
    struct table_link client_link;
    int64_t supersede_since_ms;
    int supersede_count;
    struct poll_request *kicked_next; /* a kick's or a newer poll's answers, out of every list */
};

static struct poller *poll_poller;
/* The maintenance thread; poll_finish stops it. */
static pthread_t poll_maintainer;
static bool poll_maintaining;
static atomic_bool poll_maintain_quit;
/* Guards every feed's waiting list and the waiting links of held requests. */
static pthread_mutex_t poll_lock = PTHREAD_MUTEX_INITIALIZER;
/* Held requests whose headers are not sent yet, oldest first; guarded by poll_lock. */
static struct list poll_quiet;
/* Held requests of a user; guarded by poll_lock. */
static struct list poll_users;
/* Held requests with a client id, by app and presence id; guarded by poll_lock. */
static struct table poll_clients;

static const struct db_statement poll_open_sql = {
    "poll_open",
    "SELECT name, channel_id, last_seq, oldest_seq FROM push.channel_open($1, $2::text[])",
    2,
};

/* The rows after $2[i] of each channel $1[i], at most $3 rows in all: merged by time as the
 * reply is, keeping each channel's rows a prefix in seq order (by its running newest time). */
static const struct db_statement poll_catch_up_sql = {
    "poll_catch_up",
    "SELECT i, seq, content, time_ms FROM push.catch_up($1::bigint[], $2::bigint[], $3::int)",
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

/* Takes what ch's feed holds after its cursor (up to limit + 1). Returns 0, or -1 when the
 * ring does not reach back to the cursor. */
static int poll_take_ring(struct poll_request *pr, struct poll_channel *ch)
{
    size_t max = (size_t)pr->limit + 1;
    if (pr->pins_cap - pr->npins < max) {
        pr->pins_cap = pr->npins + max;
        pr->pins = xrealloc(pr->pins, pr->pins_cap * sizeof(*pr->pins));
    }
    int n = feed_read(ch->feed, ch->cursor, max, pr->pins + pr->npins);
    if (n < 0)
        return -1;
    for (int k = 0; k < n; k++) {
        const struct poller_message *m = pr->pins[pr->npins + (size_t)k].message;
        poll_take(ch, m->seq, m->time_ms, m->content, m->content_len);
    }
    pr->npins += (size_t)n;
    return 0;
}

static void poll_forget_placement(struct poll_request *pr)
{
    for (int i = 0; i < pr->nnames; i++) {
        struct poll_channel *ch = &pr->channels[i];
        feeds_put(ch->feed);
        ch->feed = NULL;
        ch->count = ch->sent = 0;
        ch->gap = false;
        ch->cursor = 0;
    }
    feed_items_release(pr->pins, pr->npins);
    pr->npins = 0;
}

/* Places every cursor and takes what is pending from memory alone: each channel followed by
 * this process, each cursor inside its ring (or absent: from the head), the listener up.
 * Returns 0, or -1 when PostgreSQL must be asked (nothing is kept). */
static int poll_place_from_memory(struct poll_request *pr)
{
    /* Without the listener the rings may be behind: the database tells, or answers 503. */
    if (!poller_listening(poll_poller))
        return -1;
    for (int i = 0; i < pr->nnames; i++) {
        struct poll_channel *ch = &pr->channels[i];
        ch->feed = feeds_get(pr->ep.app.id, ch->name);
        if (!ch->feed)
            goto miss;
        int64_t since;
        if (!cursor_get(&pr->since, ch->name, &since)) {
            ch->cursor = feed_head(ch->feed);
            continue;
        }
        if (since == 0)
            goto miss;  /* from the oldest kept: only the database knows it */
        ch->cursor = since;
        if (poll_take_ring(pr, ch) < 0)
            goto miss;
    }
    return 0;
miss:
    poll_forget_placement(pr);
    return -1;
}

/* Opens the channels through SQL (creating missing ones), follows each, places each cursor:
 * from since, from the head when absent, from the oldest kept for 0; then takes what is
 * pending from the rings, and reads the rest in one query of at most limit + 1 rows.
 * Returns 0 or -1 (replied). */
static int poll_place_from_database(struct poll_request *pr)
{
    struct endpoint *ep = &pr->ep;
    struct db_conn *db = endpoint_db(ep);
    if (!db)
        return -1;
    char app_id[16];
    snprintf(app_id, sizeof(app_id), "%d", ep->app.id);
    struct buf names = BUF_INIT;
    for (int i = 0; i < pr->nnames; i++)
        db_array_add(&names, pr->names[i]);
    const char *params[] = { app_id, db_array_end(&names) };
    PGresult *res = db_exec(db, &poll_open_sql, params);
    buf_free(&names);
    if (!db_ok(res)) {
        endpoint_fail_db(ep, res);
        return -1;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        struct poll_channel *ch = NULL;
        for (int i = 0; i < pr->nnames && !ch; i++)
            if (strcmp(pr->names[i], PQgetvalue(res, r, 0)) == 0)
                ch = &pr->channels[i];
        if (!ch || ch->feed)
            continue;
        int64_t id = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        int64_t head = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        bool have_oldest = !PQgetisnull(res, r, 3);
        int64_t oldest = have_oldest ? strtoll(PQgetvalue(res, r, 3), NULL, 10) : head + 1;
        ch->feed = feeds_add(ep->app.id, ch->name, id, head);
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

    /* Cursors inside a ring are served from it; the others in one query. Arrays are indexed
     * like the channels; a channel the ring serves asks for nothing (id 0 has no rows). */
    struct buf ids = BUF_INIT, afters = BUF_INIT;
    char number[24];
    bool ask = false;
    for (int i = 0; i < pr->nnames; i++) {
        struct poll_channel *ch = &pr->channels[i];
        if (!ch->feed) {
            buf_free(&ids);
            buf_free(&afters);
            return endpoint_error(ep, 500, "internal error");
        }
        bool from_ring = poll_take_ring(pr, ch) == 0;
        ask = ask || !from_ring;
        snprintf(number, sizeof(number), "%" PRId64, from_ring ? 0 : feed_id(ch->feed));
        db_array_add(&ids, number);
        snprintf(number, sizeof(number), "%" PRId64, ch->cursor);
        db_array_add(&afters, number);
    }
    if (ask) {
        char limit[24];
        snprintf(limit, sizeof(limit), "%lld", pr->limit + 1);
        const char *catch_up[] = { db_array_end(&ids), db_array_end(&afters), limit };
        res = db_exec(db, &poll_catch_up_sql, catch_up);
        if (!db_ok(res)) {
            buf_free(&ids);
            buf_free(&afters);
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
    }
    buf_free(&ids);
    buf_free(&afters);
    return 0;
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
    for (int i = 0; i < pr->nnames; i++) {
        const char *why = validate_channel_error(pr->names[i]);
        if (why) {
            snprintf(msg, sizeof(msg), "channel: %s", why);
            return endpoint_error(ep, 400, msg);
        }
    }
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
    if (pr->client && validate_user_error(pr->client)) {
        snprintf(msg, sizeof(msg), "client: %s", validate_user_error(pr->client));
        return endpoint_error(ep, 400, msg);
    }
    return 0;
}

/* Who the client is (the app is known): a JWT's sub, or the owner of a polled user-<id> channel
 * (its token is checked), else the optional user parameter, as the sidecar takes it
 * (user-bound tokens check it). Returns 0, or -1 with a 400/403 reply. */
static int poll_identify(struct poll_request *pr)
{
    struct endpoint *ep = &pr->ep;
    char msg[200];
    const char *user = NULL;
    if (endpoint_user(ep, pr->sub, sizeof(pr->sub), &user, &pr->info) < 0)
        return -1;
    /* Even a name nothing vouches for may not poll another user's channel. */
    const char *named = user ? user : params_get(&ep->req->params, "user");
    for (int i = 0; i < pr->nnames; i++) {
        const char *owner = validate_channel_user(pr->names[i]);
        if (owner && named && *named && strcmp(owner, named) != 0) {
            snprintf(msg, sizeof(msg), "user: %s cannot poll %s", named, pr->names[i]);
            return endpoint_error(ep, 403, msg);
        }
        if (owner && !pr->user)
            pr->user = owner;
    }
    if (!pr->user && user)
        pr->user = user;
    return 0;
}

/* Each private-* and user-* channel needs one of the tokens given (repeated or comma list);
 * the server key (a backend) needs none. Returns 0, or -1 with a 403 reply. */
static int poll_check_tokens(struct poll_request *pr)
{
    struct endpoint *ep = &pr->ep;
    char **tokens = NULL;
    int ntokens = params_get_list(&ep->req->params, "token", &tokens, CURSOR_MAX_CHANNELS);
    int rc = 0;
    for (int i = 0; i < pr->nnames && rc == 0; i++) {
        enum auth_result result = app_authorize(ep->app.id, ep->app.role, ep->app.secret, false, pr->names[i], pr->user,
                                                (const char *const *)tokens, ntokens > 0 ? (size_t)ntokens : 0);
        if (result != AUTH_OK) {
            char text[300];
            app_authorize_text(result, pr->names[i], text, sizeof(text));
            rc = endpoint_error(ep, 403, text);
        }
    }
    params_list_free(tokens, ntokens > 0 ? ntokens : 0);
    return rc;
}

/* The response: up to limit messages, merged across channels by time, each channel in seq
 * order; the cursor after what was sent for every polled channel. Fills out. */
static void poll_reply(struct poll_request *pr, struct reply *out, const char *callback)
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
    reply_json(out, obj, callback);
}


static void poll_request_free(struct poll_request *pr)
{
    endpoint_close(&pr->ep);
    for (int i = 0; pr->channels && i < pr->nnames; i++) {
        feeds_put(pr->channels[i].feed);
        free(pr->channels[i].items);
    }
    free(pr->channels);
    feed_items_release(pr->pins, pr->npins);
    free(pr->pins);
    PQclear(pr->catch_up);
    params_list_free(pr->names, pr->nnames);
    free(pr->info);
    free(pr);
}

/* Waiting links; called with poll_lock held. */

static void poll_link(struct poll_request *pr)
{
    for (int i = 0; i < pr->nnames; i++) {
        struct poll_channel *ch = &pr->channels[i];
        ch->owner = pr;
        list_push(feed_waiting(ch->feed), &ch->wait_link);
        ch->waiting = true;
    }
    if (pr->held_user[0]) {
        list_push(&poll_users, &pr->user_link);
        pr->in_users = true;
    }
    if (pr->presence[0]) {
        table_add(&poll_clients, &pr->client_link, table_hash_text((uint64_t)pr->app_id, pr->presence));
        pr->in_clients = true;
    }
}

static void poll_quiet_add(struct poll_request *pr)
{
    pr->quiet = true;
    pr->held_ms = clock_ms();
    list_append(&poll_quiet, &pr->quiet_link);
}

static void poll_quiet_remove(struct poll_request *pr)
{
    if (!pr->quiet)
        return;
    list_remove(&poll_quiet, &pr->quiet_link);
    pr->quiet = false;
}

static void poll_unlink(struct poll_request *pr)
{
    poll_quiet_remove(pr);
    if (pr->in_users) {
        list_remove(&poll_users, &pr->user_link);
        pr->in_users = false;
    }
    if (pr->in_clients) {
        table_remove(&poll_clients, &pr->client_link);
        pr->in_clients = false;
    }
    for (int i = 0; i < pr->nnames; i++) {
        struct poll_channel *ch = &pr->channels[i];
        if (!ch->waiting)
            continue;
        list_remove(feed_waiting(ch->feed), &ch->wait_link);
        ch->waiting = false;
    }
}

/* True when some channel's feed has moved past the request's cursor. */
static bool poll_ready(struct poll_request *pr)
{
    for (int i = 0; i < pr->nnames; i++)
        if (feed_head(pr->channels[i].feed) > pr->channels[i].cursor)
            return true;
    return false;
}

/* The last body built for a one-channel, non-JSONP answer: the requests one publish wakes
 * mostly wait at the same cursor with the same limit, and get the same bytes. */
struct poll_memo {
    const struct feed *feed;       /* non-owning; NULL: empty */
    int64_t cursor;
    long long limit;
    struct buf body;
};

static bool poll_memo_fits(const struct poll_request *pr)
{
    return pr->nnames == 1 && !pr->held.gw->callback[0] && !pr->channels[0].gap;
}

/* Answers a held request that its answerer claimed and unlinked: whatever the rings hold after
 * its cursors (a cursor the ring no longer reaches gets nothing: the client's next poll asks
 * the database). memo (or NULL) remembers the body for the next request alike. Frees pr. */
static void poll_answer(struct poll_request *pr, struct poll_memo *memo)
{
    struct gateway_held *gw = pr->held.gw;
    bool fits = memo && poll_memo_fits(pr);
    if (fits && memo->feed == pr->channels[0].feed && memo->cursor == pr->channels[0].cursor &&
        memo->limit == pr->limit && memo->body.len > 0) {
        gw->reply.status = 200;
        buf_reset(&gw->reply.body);
        buf_append(&gw->reply.body, memo->body.data, memo->body.len);
    } else {
        for (int i = 0; i < pr->nnames; i++)
            if (poll_take_ring(pr, &pr->channels[i]) < 0)
                log_debug("poll: %s: cursor %" PRId64 " left the ring", pr->channels[i].name,
                          pr->channels[i].cursor);
        int64_t cursor = pr->nnames > 0 ? pr->channels[0].cursor : 0;
        poll_reply(pr, &gw->reply, gw->callback[0] ? gw->callback : NULL);
        if (fits) {
            memo->feed = pr->channels[0].feed;
            memo->cursor = cursor;
            memo->limit = pr->limit;
            buf_reset(&memo->body);
            buf_append(&memo->body, gw->reply.body.data, gw->reply.body.len);
        }
    }
    gateway_answer(gw);
    poll_request_free(pr);
}

/* Feed callback (poller thread): answers every request waiting on f that is now behind. */
static void poll_on_new(struct feed *f)
{
    struct poll_request **ready = NULL;
    size_t count = 0, cap = 0;
    int64_t head = feed_head(f);
    pthread_mutex_lock(&poll_lock);
    struct list_link *next;
    for (struct list_link *l = feed_waiting(f)->first; l; l = next) {
        next = l->next;
        struct poll_channel *ch = LINK_ENTRY(l, struct poll_channel, wait_link);
        struct poll_request *pr = ch->owner;
        if (head > ch->cursor && held_claim(&pr->held)) {
            /* Unlinking pr may unlink next too when it is pr's: never, a feed is polled once
             * per request (names are unique). */
            poll_unlink(pr);
            if (count == cap) {
                cap = cap ? cap * 2 : 64;
                ready = xrealloc(ready, cap * sizeof(*ready));
            }
            ready[count++] = pr;
        }
    }
    pthread_mutex_unlock(&poll_lock);
    struct poll_memo memo = { NULL, 0, 0, BUF_INIT };
    for (size_t i = 0; i < count; i++)
        poll_answer(ready[i], &memo);
    buf_free(&memo.body);
    free(ready);
}

/* Answers a held request its user's kick claimed and unlinked with 401. Frees pr. */
static void poll_answer_kicked(struct poll_request *pr)
{
    struct gateway_held *gw = pr->held.gw;
    reply_error(&gw->reply, 401, "kicked: this user was disconnected by the operator (pushctl kick); "
                                 "sign in again for a new token", gw->callback[0] ? gw->callback : NULL);
    gateway_answer(gw);
    poll_request_free(pr);
}

/* Poller callback (push_kick): records the kick and answers every poll the user holds with
 * 401; the user's next poll with an old token is refused (app_authorize). */
static void poll_on_kick(const char *payload)
{
    int app_id;
    char user[VALIDATE_USER_MAX + 1];
    if (!kick_notified(payload, &app_id, user, sizeof(user)))
        return;
    struct poll_request *kicked = NULL;
    pthread_mutex_lock(&poll_lock);
    struct list_link *link = poll_users.first;
    while (link) {
        struct list_link *next = link->next;
        struct poll_request *pr = LINK_ENTRY(link, struct poll_request, user_link);
        if (pr->app_id == app_id && strcmp(pr->held_user, user) == 0 && held_claim(&pr->held)) {
            poll_unlink(pr);
            pr->kicked_next = kicked;
            kicked = pr;
        }
        link = next;
    }
    pthread_mutex_unlock(&poll_lock);
    while (kicked) {
        struct poll_request *pr = kicked;
        kicked = pr->kicked_next;
        poll_answer_kicked(pr);
    }
}

static void poll_on_deadline(struct held_request *r)
{
    struct poll_request *pr = (struct poll_request *)r;
    pthread_mutex_lock(&poll_lock);
    poll_unlink(pr);
    pthread_mutex_unlock(&poll_lock);
    poll_answer(pr, NULL);
}

static void poll_on_hangup(struct held_request *r)
{
    struct poll_request *pr = (struct poll_request *)r;
    pthread_mutex_lock(&poll_lock);
    poll_unlink(pr);
    pthread_mutex_unlock(&poll_lock);
    log_debug("poll: client %s went away", pr->held.gw->remote_addr);
    gateway_drop(pr->held.gw);
    poll_request_free(pr);
}

/* Claims and unlinks the held polls of pr's client (called with poll_lock held, before pr is
 * linked): a client whose poll is held sends another only when it gave that one up (its
 * channels changed, or it timed out on its side), and a JSONP script cannot be aborted, so
 * the old poll would keep a browser connection until it ends; old browsers have two a host.
 * Two live connections sharing a client id would answer each other's polls in a loop: a chain
 * of polls answers older ones at most POLL_SUPERSEDE_MAX times in POLL_SUPERSEDE_WINDOW_MS,
 * after which they are held side by side. Returns the claimed polls, linked by kicked_next,
 * for poll_answer_superseded once poll_lock is released. */
static struct poll_request *poll_supersede(struct poll_request *pr, int64_t now)
{
    struct poll_request *old = NULL;
    if (!pr->presence[0])
        return NULL;
    size_t hash = table_hash_text((uint64_t)pr->app_id, pr->presence);
    for (struct table_link *l = table_first(&poll_clients, hash); l;) {
        struct table_link *next = table_next(l);
        struct poll_request *o = LINK_ENTRY(l, struct poll_request, client_link);
        if (o->app_id == pr->app_id && strcmp(o->presence, pr->presence) == 0) {
            bool fresh = now - o->supersede_since_ms >= POLL_SUPERSEDE_WINDOW_MS;
            int64_t since = fresh ? now : o->supersede_since_ms;
            int count = fresh ? 0 : o->supersede_count;
            if (count < POLL_SUPERSEDE_MAX && held_claim(&o->held)) {
                poll_unlink(o);
                pr->supersede_since_ms = since;
                pr->supersede_count = count + 1;
                o->kicked_next = old;
                old = o;
            }
        }
        l = next;
    }
    return old;
}

/* Answers the polls poll_supersede claimed (without poll_lock). */
static void poll_answer_superseded(struct poll_request *superseded)
{
    while (superseded) {
        struct poll_request *old = superseded;
        superseded = old->kicked_next;
        poll_answer(old, NULL);
    }
}

/* Hands the request to the held set. Returns 0 when it is no longer the worker's (held, or
 * answered: refused by a cap, or ready meanwhile), or -1 when it could not be held (the worker
 * answers it now). */
static int poll_hold(struct poll_request *pr, struct request *req, struct reply *reply)
{
    struct gateway_held *gw = gateway_hold(req, reply);
    if (!gw)
        return -1;
    endpoint_close(&pr->ep);
    pr->held.gw = gw;
    pr->held.deadline_ms = clock_ms() + pr->timeout * 1000;
    pthread_mutex_lock(&poll_lock);
    /* In the same hold as the link: the client's next poll finds this one. */
    struct poll_request *superseded = poll_supersede(pr, clock_ms());
    poll_link(pr);
    enum held_result held = held_add(&pr->held);
    if (held != HELD_OK) {
        poll_unlink(pr);
        pthread_mutex_unlock(&poll_lock);
        poll_answer_superseded(superseded);
        const char *callback = gw->callback[0] ? gw->callback : NULL;
        if (held == HELD_ADDRESS_FULL) {
            reply_header(&gw->reply, "Retry-After", "5");
            reply_error(&gw->reply, 429, "poll: too many polls held for this address", callback);
        } else {
            reply_header(&gw->reply, "Retry-After", "5");
            reply_error(&gw->reply, 503, "poll: the server holds as many polls as it can, retry later",
                        callback);
        }
        gateway_answer(gw);
        poll_request_free(pr);
        return 0;
    }
    poll_quiet_add(pr);
    /* Its user may have been kicked since its tokens were judged (poll_on_kick, which records
     * the kick before it looks for held polls, found it not linked yet). */
    bool kicked = pr->held_user[0] && kick_since(pr->app_id, pr->held_user, pr->kick_serial) &&
                  held_claim(&pr->held);
    /* A message may have arrived between reading the ring and linking. */
    bool now = !kicked && poll_ready(pr) && held_claim(&pr->held);
    if (kicked || now)
        poll_unlink(pr);
    pthread_mutex_unlock(&poll_lock);
    poll_answer_superseded(superseded);
    if (kicked)
        poll_answer_kicked(pr);
    else if (now)
        poll_answer(pr, NULL);
    return 0;
}

static void poll_handle(struct request *req, struct reply *reply)
{
    struct poll_request *pr = xcalloc(1, sizeof(*pr));
    pr->ep.req = req;
    pr->ep.reply = reply;
    if (poll_parse(pr) < 0)
        goto done;
    pr->channels = xcalloc((size_t)pr->nnames, sizeof(*pr->channels));
    for (int i = 0; i < pr->nnames; i++)
        pr->channels[i].name = pr->names[i];
    if (endpoint_open_app(&pr->ep, req, reply) < 0)
        goto done;
    pr->kick_serial = kick_serial(); /* after the kicks were loaded, before the tokens are judged */
    if (poll_identify(pr) < 0 || poll_check_tokens(pr) < 0)
        goto done;
    if (poll_place_from_memory(pr) < 0 && poll_place_from_database(pr) < 0)
        goto done;
    endpoint_close(&pr->ep);
    if (pr->client) {
        auth_presence_id(pr->ep.app.secret, pr->client, pr->user, pr->presence);
        touch_queue(pr->ep.app.id, pr->names, pr->nnames, pr->presence, pr->user, pr->info);
    }
    /* The borrowed request strings are gone once the worker moves on; a held poll keeps no info. */
    pr->app_id = pr->ep.app.id;
    if (pr->user)
        snprintf(pr->held_user, sizeof(pr->held_user), "%s", pr->user);
    pr->client = pr->user = NULL;
    free(pr->info);
    pr->info = NULL;
    if (poll_pending(pr) == 0 && pr->timeout > 0 && !gateway_stopping() &&
        poll_hold(pr, req, reply) == 0)
        return;
    poll_reply(pr, reply, req->callback);
done:
    poll_request_free(pr);
}

/* Sends the headers of every poll held for POLL_QUIET_MS: every held poll ends 200 (JSONP
 * too), and once the web server has relayed the headers it watches the browser, whose going
 * away then closes our connection (held.c frees the poll). Polls answered sooner never pay
 * for it. The held thread may have claimed one and wait for poll_lock to unlink it: its
 * descriptor is still open, and the headers go before its answer. */
static void poll_stream_quiet(void)
{
    int64_t now = clock_ms();
    pthread_mutex_lock(&poll_lock);
    while (poll_quiet.first) {
        struct poll_request *pr = LINK_ENTRY(poll_quiet.first, struct poll_request, quiet_link);
        if (now - pr->held_ms < POLL_QUIET_MS)
            break;
        poll_quiet_remove(pr);
        struct gateway_held *gw = pr->held.gw;
        reply_json_headers(&gw->reply, gw->callback[0] ? gw->callback : NULL);
        if (gateway_start_answer(gw) < 0)
            log_debug("poll: the web server's connection failed while holding");
    }
    pthread_mutex_unlock(&poll_lock);
}

/* The quiet polls' headers four times a second; once a second the batched presence touches
 * and the channels nobody polls any more. */
static void *poll_maintain(void *arg)
{
    (void)arg;
    for (unsigned tick = 1; !atomic_load(&poll_maintain_quit); tick++) {
        struct timespec quarter = { 0, 250 * 1000 * 1000 };
        nanosleep(&quarter, NULL);
        poll_stream_quiet();
        if (tick % 4)
            continue;
        if (touch_flush(endpoint_pool()) < 0)
            log_debug("poll: presence flush failed");
        feeds_sweep(clock_seconds(), POLL_FEED_IDLE);
    }
    return NULL;
}

static int poll_start(const struct config *cfg)
{
    if (endpoint_init(cfg) < 0)
        return -1;
    poll_poller = poller_new(cfg->dsn, endpoint_pool());
    if (!poll_poller)
        return -1;
    poller_on_app_change(poll_poller, app_cache_clear);
    poller_on_kick(poll_poller, poll_on_kick);
    poller_set_liveness(poll_poller, cfg->listener_idle, cfg->listener_timeout);
    feeds_init(poll_poller, (size_t)cfg->poll_ring, POLL_RING_BYTES, poll_on_new);
    table_init(&poll_clients, 64);
    static const struct held_callbacks callbacks = { poll_on_deadline, poll_on_hangup };
    if (held_start(&callbacks, (size_t)cfg->poll_max_held, (size_t)cfg->poll_max_per_address) < 0)
        return -1;
    if (poller_start(poll_poller) < 0)
        return -1;
    int rc = pthread_create(&poll_maintainer, NULL, poll_maintain, NULL);
    if (rc != 0) {
        log_error("poll: cannot start the maintenance thread: %s", strerror(rc));
        return -1;
    }
    poll_maintaining = true;
    return 0;
}

/* Answers every held request now with what it has. */
static void poll_stop(void)
{
    held_expire_all();
    if (touch_flush(endpoint_pool()) < 0)
        log_debug("poll: presence flush failed");
}

/* With no request left: the threads stop in order (maintenance, the held set's watcher, the
 * poller's listener), then the feeds, the poller and the pool are freed. */
static void poll_finish(void)
{
    if (poll_maintaining) {
        atomic_store(&poll_maintain_quit, true);
        pthread_join(poll_maintainer, NULL);
        poll_maintaining = false;
    }
    held_stop();
    if (touch_flush(endpoint_pool()) < 0)
        log_debug("poll: presence flush failed");
    feeds_free();
    table_free(&poll_clients);
    poller_free(poll_poller);
    poll_poller = NULL;
    endpoint_shutdown();
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
        0,
        poll_start,
        poll_stop,
        poll_finish,
    };
    /* Held polls cost no thread: a few threads parse and place requests; they share two
     * connections for the cold path (channels never seen, old cursors). App changes are
     * notified, so keys stay cached longer than elsewhere. */
    if (config_default("threads", "4") < 0 || config_default("db_pool", "2") < 0 ||
        config_default("app_cache_ttl", "300") < 0)
        return 1;
    /* Names the listener and pool connections in pg_stat_activity unless the operator did. */
    setenv("PGAPPNAME", "push-poll", 0);
    return gateway_main(&program, argc, argv);
}
