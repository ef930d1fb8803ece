/* poller.c: the LISTEN/NOTIFY dispatcher: one listener thread and connection per process that
 * fetches new rows once per channel and hands them to every watcher of that channel. */
#include "poller.h"
#include "buf.h"
#include "clock.h"
#include "listen.h"
#include "log.h"
#include "message.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define POLLER_FETCH_LIMIT 1000 /* rows per fetch */
#define POLLER_BACKOFF_MIN 0.1
#define POLLER_BACKOFF_MAX 5.0

/* One (watcher, channel) registration. Shared between the channel's list and a dispatch
 * snapshot, hence the reference count; inactive once unwatched. */
struct poller_node {
    struct poller_watcher *watcher; /* non-owning */
    int64_t channel_id;
    bool active;
    int refs;
};

struct poller_channel {
    int64_t id;
    int64_t head;                  /* rows up to here have been fetched (or were seen by the watcher) */
    bool dirty;                    /* notified (or re-checked) and not fetched since */
    bool busy;                     /* the listener thread is fetching it: do not free */
    struct poller_node **nodes;    /* owned array, each node holds one reference */
    size_t count, cap;
    struct table_link link;        /* in poller.channels, keyed by id */
};

struct poller {
    char *dsn;                     /* owned */
    struct db_pool *pool;          /* non-owning */
    PGconn *listener;              /* owned, used by the listener thread only */
    pthread_t thread;
    bool started;
    int wake_fd;                   /* eventfd: stop */
    atomic_bool stop;
    atomic_bool listening;
    int live_idle;                 /* seconds of silence before the listener is probed */
    int live_timeout;              /* seconds a probe may go unanswered before a reconnect */

    pthread_mutex_t lock;          /* guards everything below */
    pthread_cond_t idle;           /* signalled when a callback returns */
    struct table channels;         /* of struct poller_channel */
    size_t nnodes;
    struct poller_node *calling;   /* the node whose callback runs now, or NULL */
    void (*on_app_change)(void);   /* or NULL; set before start */
    void (*on_kick)(const char *payload); /* or NULL; set before start */
    struct poller_stats stats;
};

void poller_batch_hold(struct poller_batch *batch)
{
    atomic_fetch_add(&batch->refs, 1);
}

void poller_batch_release(struct poller_batch *batch)
{
    if (batch && atomic_fetch_sub(&batch->refs, 1) == 1)
        free(batch);
}

/* Channels: a table keyed by id; called with the lock held. */

static struct poller_channel *poller_channel_of(struct table_link *link)
{
    return link ? LINK_ENTRY(link, struct poller_channel, link) : NULL;
}

static struct poller_channel *poller_channel_find(struct poller *p, int64_t id)
{
    for (struct table_link *l = table_first(&p->channels, table_hash_int(id)); l; l = table_next(l))
        if (poller_channel_of(l)->id == id)
            return poller_channel_of(l);
    return NULL;
}

static struct poller_channel *poller_channel_add(struct poller *p, int64_t id, int64_t head)
{
    struct poller_channel *ch = xcalloc(1, sizeof(*ch));
    ch->id = id;
    ch->head = head;
    table_add(&p->channels, &ch->link, table_hash_int(id));
    return ch;
}

static void poller_node_unref(struct poller_node *node)
{
    if (--node->refs == 0)
        free(node);
}

static void poller_channel_remove(struct poller *p, struct poller_channel *ch)
{
    table_remove(&p->channels, &ch->link);
    for (size_t i = 0; i < ch->count; i++) {
        ch->nodes[i]->active = false;
        poller_node_unref(ch->nodes[i]);
    }
    free(ch->nodes);
    free(ch);
}

/* Calls fn for node's watcher unless the node was unwatched meanwhile; unlocks around the
 * call so callbacks may watch and unwatch. Called with the lock held. */
static void poller_call(struct poller *p, struct poller_node *node,
                        void (*fn)(struct poller_node *node, void *arg), void *arg)
{
    if (!node->active)
        return;
    p->calling = node;
    pthread_mutex_unlock(&p->lock);
    fn(node, arg);
    pthread_mutex_lock(&p->lock);
    p->calling = NULL;
    pthread_cond_broadcast(&p->idle);
}

static void poller_call_batch(struct poller_node *node, void *arg)
{
    node->watcher->on_batch(node->watcher, arg);
}

static void poller_call_listener(struct poller_node *node, void *arg)
{
    node->watcher->on_listener(node->watcher, *(bool *)arg);
}

/* Takes a reference to every node of ch into a new array. Called with the lock held. */
static struct poller_node **poller_snapshot(struct poller_channel *ch, size_t *count)
{
    struct poller_node **nodes = xmalloc((ch->count ? ch->count : 1) * sizeof(*nodes));
    for (size_t i = 0; i < ch->count; i++) {
        nodes[i] = ch->nodes[i];
        nodes[i]->refs++;
    }
    *count = ch->count;
    return nodes;
}

static void poller_deliver(struct poller *p, struct poller_channel *ch, struct poller_batch *batch)
{
    pthread_mutex_lock(&p->lock);
    size_t count;
    struct poller_node **nodes = poller_snapshot(ch, &count);
    for (size_t i = 0; i < count; i++) {
        poller_call(p, nodes[i], poller_call_batch, batch);
        poller_node_unref(nodes[i]);
    }
    pthread_mutex_unlock(&p->lock);
    free(nodes);
}

static int poller_node_order(const void *a, const void *b)
{
    const struct poller_node *x = *(struct poller_node *const *)a;
    const struct poller_node *y = *(struct poller_node *const *)b;
    return x->watcher < y->watcher ? -1 : x->watcher > y->watcher;
}

/* Tells every watcher, once each, that the listener went down or came back. */
static void poller_announce(struct poller *p, bool up)
{
    pthread_mutex_lock(&p->lock);
    struct poller_node **nodes = xmalloc((p->nnodes ? p->nnodes : 1) * sizeof(*nodes));
    size_t count = 0;
    for (size_t b = 0; b < p->channels.nbuckets; b++)
        for (struct table_link *l = p->channels.buckets[b]; l; l = l->next) {
            struct poller_channel *ch = poller_channel_of(l);
            for (size_t i = 0; i < ch->count && count < p->nnodes; i++) {
                nodes[count] = ch->nodes[i];
                nodes[count++]->refs++;
            }
        }
    qsort(nodes, count, sizeof(*nodes), poller_node_order);
    struct poller_watcher *done = NULL;
    for (size_t i = 0; i < count; i++) {
        struct poller_watcher *w = nodes[i]->watcher;
        if (w != done && w->on_listener && nodes[i]->active) {
            poller_call(p, nodes[i], poller_call_listener, &up);
            done = w;
        }
        poller_node_unref(nodes[i]);
    }
    pthread_mutex_unlock(&p->lock);
    free(nodes);
}

/* Builds a batch from fetched rows: one allocation holding the messages and their texts. */
static struct poller_batch *poller_batch_from(const PGresult *res, int64_t channel_id,
                                              int64_t after_seq)
{
    int n = PQntuples(res);
    size_t text_bytes = 0;
    for (int i = 0; i < n; i++)
        text_bytes += (size_t)PQgetlength(res, i, 1) + 1;
    size_t head = sizeof(struct poller_batch) + (size_t)n * sizeof(struct poller_message);
    struct poller_batch *batch = xmalloc(head + text_bytes);
    batch->channel_id = channel_id;
    batch->after_seq = after_seq;
    batch->count = (size_t)n;
    batch->messages = (struct poller_message *)(batch + 1);
    atomic_init(&batch->refs, 1);
    char *text = (char *)batch + head;
    for (int i = 0; i < n; i++) {
        struct poller_message *m = &batch->messages[i];
        m->seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        m->time_ms = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        m->content_len = (size_t)PQgetlength(res, i, 1);
        memcpy(text, PQgetvalue(res, i, 1), m->content_len + 1);
        m->content = text;
        text += m->content_len + 1;
    }
    batch->gap = n > 0 && batch->messages[0].seq > after_seq + 1;
    return batch;
}

/* Fetches and delivers everything after ch's head. Returns 0, or -1 when the database could
 * not be asked (ch stays dirty for a later retry). Called without the lock; ch is busy. */
static int poller_fetch(struct poller *p, struct poller_channel *ch)
{
    pthread_mutex_lock(&p->lock);
    int64_t after = ch->head;
    pthread_mutex_unlock(&p->lock);
    for (;;) {
        struct db_conn *conn = db_pool_acquire(p->pool);
        if (!conn)
            return -1;
        char id_text[24], after_text[24], limit_text[16];
        snprintf(id_text, sizeof(id_text), "%" PRId64, ch->id);
        snprintf(after_text, sizeof(after_text), "%" PRId64, after);
        snprintf(limit_text, sizeof(limit_text), "%d", POLLER_FETCH_LIMIT);
        const char *params[] = { id_text, after_text, limit_text };
        PGresult *res = db_exec(conn, &message_after_sql, params);
        if (!db_ok(res)) {
            log_warn("poller: fetching channel %" PRId64 " after %" PRId64 " failed: %s",
                     ch->id, after, PQresultErrorMessage(res));
            PQclear(res);
            db_pool_release(p->pool, conn);
            return -1;
        }
        struct poller_batch *batch = poller_batch_from(res, ch->id, after);
        PQclear(res);
        db_pool_release(p->pool, conn);
        pthread_mutex_lock(&p->lock);
        p->stats.fetches++;
        if (batch->count > 0 && batch->messages[batch->count - 1].seq > ch->head)
            ch->head = batch->messages[batch->count - 1].seq;
        pthread_mutex_unlock(&p->lock);
        if (batch->count > 0)
            poller_deliver(p, ch, batch);
        size_t count = batch->count;
        if (count > 0)
            after = batch->messages[count - 1].seq;
        poller_batch_release(batch);
        if (count < POLLER_FETCH_LIMIT)
            return 0;
    }
}

/* Fetches every dirty channel once. Returns true when some are still dirty (retry later). */
static bool poller_fetch_dirty(struct poller *p)
{
    pthread_mutex_lock(&p->lock);
    size_t count = 0, cap = 0;
    struct poller_channel **todo = NULL;
    for (size_t b = 0; b < p->channels.nbuckets; b++) {
        for (struct table_link *l = p->channels.buckets[b]; l; l = l->next) {
            struct poller_channel *ch = poller_channel_of(l);
            if (!ch->dirty || ch->busy)
                continue;
            if (count == cap) {
                cap = cap ? cap * 2 : 16;
                todo = xrealloc(todo, cap * sizeof(*todo));
            }
            ch->dirty = false;
            ch->busy = true;
            todo[count++] = ch;
        }
    }
    pthread_mutex_unlock(&p->lock);

    bool failed = false;
    for (size_t i = 0; i < count; i++) {
        /* Once the database is unreachable the rest wait for the retry too. */
        if (!failed && poller_fetch(p, todo[i]) < 0)
            failed = true;
        pthread_mutex_lock(&p->lock);
        todo[i]->busy = false;
        if (failed)
            todo[i]->dirty = true;
        if (todo[i]->count == 0)
            poller_channel_remove(p, todo[i]);
        pthread_mutex_unlock(&p->lock);
    }
    free(todo);
    return failed;
}

/* Marks each channel of one push_message payload dirty when it is watched and behind. */
static void poller_note(struct poller *p, const char *payload)
{
    const char *cursor = payload;
    int64_t id, seq;
    pthread_mutex_lock(&p->lock);
    p->stats.notifications++;
    while (message_notice_next(&cursor, &id, &seq)) {
        struct poller_channel *ch = poller_channel_find(p, id);
        if (ch && seq > ch->head)
            ch->dirty = true;
    }
    pthread_mutex_unlock(&p->lock);
    if (*cursor)
        log_warn("poller: ignoring the rest of notification \"%.64s\"", cursor);
}

static void poller_mark_all_dirty(struct poller *p)
{
    pthread_mutex_lock(&p->lock);
    for (size_t b = 0; b < p->channels.nbuckets; b++)
        for (struct table_link *l = p->channels.buckets[b]; l; l = l->next)
            poller_channel_of(l)->dirty = true;
    pthread_mutex_unlock(&p->lock);
}

/* Waits for the listener socket (or -1: none) or the stop fd, at most timeout seconds
 * (< 0: forever). Returns true when the socket is readable. */
static bool poller_wait(struct poller *p, int sock, double timeout)
{
    int ready = listen_wait(sock, p->wake_fd, timeout);
    if (ready < 0) {
        log_warn("poller: poll: %s", strerror(errno));
        return false;
    }
    if (ready & LISTEN_WOKEN) {
        uint64_t value;
        if (read(p->wake_fd, &value, sizeof(value)) < 0 && errno != EAGAIN)
            log_warn("poller: reading the wake fd: %s", strerror(errno));
    }
    return (ready & LISTEN_READABLE) != 0;
}

/* Opens the listener connection and LISTENs. Returns 0, or -1 (p->listener stays NULL). */
static int poller_connect(struct poller *p)
{
    PGconn *pg = db_connect(p->dsn);
    if (!pg)
        return -1;
    const char *channels[4];
    size_t nchannels = 0;
    channels[nchannels++] = "push_message";
    if (p->on_app_change)
        channels[nchannels++] = "push_app";
    if (p->on_kick)
        channels[nchannels++] = "push_kick";
    channels[nchannels] = NULL;
    if (listen_start(pg, channels) < 0) {
        log_warn("poller: LISTEN failed: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return -1;
    }
    /* Whatever changed while nobody listened is read again. */
    if (p->on_app_change)
        p->on_app_change();
    if (p->on_kick)
        p->on_kick(NULL);
    p->listener = pg;
    return 0;
}

static void poller_disconnect(struct poller *p, const char *reason)
{
    log_warn("poller: listener connection lost (%s), reconnecting", reason);
    PQfinish(p->listener);
    p->listener = NULL;
    atomic_store(&p->listening, false);
    poller_announce(p, false);
}

/* What one batch of notifications asks of the poller. */
struct poller_notices {
    struct poller *p;
    bool apps_changed;
};

/* listen_fn: notes one notification. */
static void poller_on_notice(void *arg, const char *channel, const char *payload)
{
    struct poller_notices *batch = arg;
    if (strcmp(channel, "push_app") == 0)
        batch->apps_changed = true;
    else if (strcmp(channel, "push_kick") == 0)
        batch->p->on_kick(payload);
    else
        poller_note(batch->p, payload);
}

/* Reads what the server sent (only what libpq has already read when consume is false) and
 * notes every notification. Returns 0, or -1 when the connection is gone. */
static int poller_drain(struct poller *p, bool consume)
{
    struct poller_notices batch = { p, false };
    if (!consume)
        listen_take(p->listener, poller_on_notice, &batch);
    else if (listen_drain(p->listener, poller_on_notice, &batch) < 0)
        return -1;
    if (batch.apps_changed && p->on_app_change)
        p->on_app_change();
    return 0;
}

/* The listener's liveness: a connection silent for live_idle seconds gets a query ("SELECT 1")
 * and is given up when no answer comes within live_timeout, so that a flow a NAT or firewall
 * dropped without a word is replaced in bounded time, not when the kernel gives up (hours). */
struct poller_liveness {
    double heard;      /* monotonic seconds when the server last sent anything */
    bool probing;      /* a probe is out */
    double probe_sent;
};

/* When the listener must next be probed, or given up when a probe is out. */
static double poller_liveness_due(const struct poller *p, const struct poller_liveness *live)
{
    return live->probing ? live->probe_sent + p->live_timeout : live->heard + p->live_idle;
}

/* Reads the probe's answer once it is complete. Returns 0, or -1 when it failed. */
static int poller_probe_answer(struct poller *p, struct poller_liveness *live)
{
    while (live->probing && !PQisBusy(p->listener)) {
        PGresult *res = PQgetResult(p->listener);
        if (!res) {
            live->probing = false;
            break;
        }
        bool good = PQresultStatus(res) == PGRES_TUPLES_OK;
        PQclear(res);
        if (!good)
            return -1;
    }
    return 0;
}

/* Called when the listener was silent until due: sends a probe, or gives the connection up
 * when the probe out is unanswered. Returns NULL, or why the connection is given up. */
static const char *poller_liveness_check(struct poller *p, struct poller_liveness *live)
{
    if (live->probing)
        return "no answer to a liveness probe in time";
    if (!PQsendQuery(p->listener, "SELECT 1"))
        return PQerrorMessage(p->listener);
    live->probing = true;
    live->probe_sent = clock_seconds();
    return NULL;
}

static void *poller_run(void *arg)
{
    struct poller *p = arg;
    double backoff = POLLER_BACKOFF_MIN;
    bool ever_connected = false, announce_up = false, retry_pending = false;
    struct poller_liveness live = { 0, false, 0 };
    while (!atomic_load(&p->stop)) {
        if (!p->listener) {
            if (poller_connect(p) < 0) {
                poller_wait(p, -1, backoff);
                backoff = backoff * 2 > POLLER_BACKOFF_MAX ? POLLER_BACKOFF_MAX : backoff * 2;
                continue;
            }
            backoff = POLLER_BACKOFF_MIN;
            if (ever_connected) {
                pthread_mutex_lock(&p->lock);
                p->stats.reconnects++;
                pthread_mutex_unlock(&p->lock);
                log_info("poller: listener reconnected, re-checking watched channels");
            }
            ever_connected = true;
            atomic_store(&p->listening, true);
            live = (struct poller_liveness){ clock_seconds(), false, 0 };
            /* Rows committed while nobody listened are found from each channel's head. */
            poller_drain(p, false);
            poller_mark_all_dirty(p);
            announce_up = true;
        }

        retry_pending = poller_fetch_dirty(p);
        if (announce_up && !retry_pending) {
            poller_announce(p, true);
            announce_up = false;
        }

        int sock = PQsocket(p->listener);
        double timeout = retry_pending ? backoff : -1;
        if (retry_pending)
            backoff = backoff * 2 > POLLER_BACKOFF_MAX ? POLLER_BACKOFF_MAX : backoff * 2;
        else
            backoff = POLLER_BACKOFF_MIN;
        if (sock < 0) {
            poller_disconnect(p, "no socket");
            continue;
        }
        double until_due = poller_liveness_due(p, &live) - clock_seconds();
        if (until_due < 0)
            until_due = 0;
        if (timeout < 0 || until_due < timeout)
            timeout = until_due;
        const char *why = NULL;
        if (poller_wait(p, sock, timeout)) {
            if (poller_drain(p, true) < 0)
                why = PQerrorMessage(p->listener);
            else if (poller_probe_answer(p, &live) < 0)
                why = "the liveness probe failed";
            live.heard = clock_seconds();
        } else if (clock_seconds() >= poller_liveness_due(p, &live)) {
            why = poller_liveness_check(p, &live);
        }
        if (why)
            poller_disconnect(p, why);
    }
    if (p->listener) {
        PQfinish(p->listener);
        p->listener = NULL;
    }
    atomic_store(&p->listening, false);
    return NULL;
}

struct poller *poller_new(const char *dsn, struct db_pool *pool)
{
    if (!dsn || !pool)
        return NULL;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
        log_error("poller: eventfd: %s", strerror(errno));
        return NULL;
    }
    struct poller *p = xcalloc(1, sizeof(*p));
    p->dsn = xstrdup(dsn);
    p->pool = pool;
    p->wake_fd = fd;
    atomic_init(&p->stop, false);
    atomic_init(&p->listening, false);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->idle, NULL);
    table_init(&p->channels, 64);
    poller_set_liveness(p, 0, 0);
    return p;
}

int poller_start(struct poller *p)
{
    int rc = pthread_create(&p->thread, NULL, poller_run, p);
    if (rc != 0) {
        log_error("poller: cannot start the listener thread: %s", strerror(rc));
        return -1;
    }
    p->started = true;
    return 0;
}

bool poller_listening(struct poller *p)
{
    return atomic_load(&p->listening);
}

int poller_watch(struct poller *p, struct poller_watcher *w, int64_t channel_id, int64_t head_seq)
{
    struct poller_node *node = xcalloc(1, sizeof(*node));
    node->watcher = w;
    node->channel_id = channel_id;
    node->active = true;
    node->refs = 1;
    pthread_mutex_lock(&p->lock);
    struct poller_channel *ch = poller_channel_find(p, channel_id);
    if (!ch)
        ch = poller_channel_add(p, channel_id, head_seq);
    if (ch->count == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 4;
        ch->nodes = xrealloc(ch->nodes, ch->cap * sizeof(*ch->nodes));
    }
    ch->nodes[ch->count++] = node;
    p->nnodes++;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void poller_recheck(struct poller *p, int64_t channel_id, int64_t after)
{
    pthread_mutex_lock(&p->lock);
    struct poller_channel *ch = poller_channel_find(p, channel_id);
    if (ch) {
        if (after < ch->head)
            ch->head = after;
        ch->dirty = true;
    }
    pthread_mutex_unlock(&p->lock);
    uint64_t one = 1;
    if (ch && write(p->wake_fd, &one, sizeof(one)) < 0)
        log_warn("poller: waking the listener thread: %s", strerror(errno));
}

void poller_set_liveness(struct poller *p, int idle_seconds, int timeout_seconds)
{
    p->live_idle = idle_seconds > 0 ? idle_seconds : POLLER_LIVE_IDLE;
    p->live_timeout = timeout_seconds > 0 ? timeout_seconds : POLLER_LIVE_TIMEOUT;
}

void poller_on_kick(struct poller *p, void (*fn)(const char *payload))
{
    p->on_kick = fn;
}

void poller_on_app_change(struct poller *p, void (*fn)(void))
{
    p->on_app_change = fn;
}

void poller_unwatch(struct poller *p, struct poller_watcher *w, int64_t channel_id)
{
    pthread_mutex_lock(&p->lock);
    struct poller_channel *ch = poller_channel_find(p, channel_id);
    struct poller_node *node = NULL;
    for (size_t i = 0; ch && i < ch->count && !node; i++) {
        if (ch->nodes[i]->watcher == w) {
            node = ch->nodes[i];
            ch->nodes[i] = ch->nodes[--ch->count];
        }
    }
    if (!node) {
        pthread_mutex_unlock(&p->lock);
        return;
    }
    node->active = false;
    p->nnodes--;
    /* A callback may unwatch itself: only other threads wait for it to return. */
    while (p->calling == node && !pthread_equal(pthread_self(), p->thread))
        pthread_cond_wait(&p->idle, &p->lock);
    poller_node_unref(node);
    /* While we waited the listener thread may have removed the channel. */
    ch = poller_channel_find(p, channel_id);
    if (ch && ch->count == 0 && !ch->busy)
        poller_channel_remove(p, ch);
    pthread_mutex_unlock(&p->lock);
}

void poller_get_stats(struct poller *p, struct poller_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    out->channels = p->channels.count;
    out->watchers = p->nnodes;
    pthread_mutex_unlock(&p->lock);
}

void poller_free(struct poller *p)
{
    if (!p)
        return;
    if (p->started) {
        atomic_store(&p->stop, true);
        uint64_t one = 1;
        if (write(p->wake_fd, &one, sizeof(one)) < 0)
            log_warn("poller: waking the listener thread: %s", strerror(errno));
        pthread_join(p->thread, NULL);
    }
    for (size_t b = 0; b < p->channels.nbuckets; b++)
        while (p->channels.buckets[b])
            poller_channel_remove(p, poller_channel_of(p->channels.buckets[b]));
    table_free(&p->channels);
    close(p->wake_fd);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->idle);
    free(p->dsn);
    free(p);
}
