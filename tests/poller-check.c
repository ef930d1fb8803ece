/* tests/poller-check.c: the LISTEN/NOTIFY dispatcher against a real PostgreSQL (run by
 * tests/poller.sh with PUSH_DSN, PUBLISH_KEY and POLLER_RESTART, a command restarting it). */
#include "tap.h"
#include "buf.h"
#include "db.h"
#include "log.h"
#include "poller.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CANARY_ALIVE 0x5AFE5AFEu
#define CANARY_DEAD 0xDEADDEADu

/* What one watcher saw; guarded by events_lock. */
struct seen {
    struct poller_watcher watcher;
    unsigned canary;
    int64_t seqs[1200];
    char contents[8][16];
    size_t count;
    int duplicates;                   /* seqs not above the last one */
    struct poller_batch *first_batch; /* held */
    int downs, ups;
    bool unwatch_self;                /* unwatch from inside on_batch */
    int64_t channel_id;
};

static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t events = PTHREAD_COND_INITIALIZER;
static struct poller *poller;
static int late_callbacks;            /* callbacks on a watcher after its unwatch returned */

static void on_batch(struct poller_watcher *w, struct poller_batch *batch)
{
    struct seen *s = w->ctx;
    pthread_mutex_lock(&events_lock);
    if (s->canary != CANARY_ALIVE)
        late_callbacks++;
    for (size_t i = 0; i < batch->count; i++) {
        int64_t seq = batch->messages[i].seq;
        if (s->count > 0 && seq <= s->seqs[s->count - 1]) {
            s->duplicates++;
            continue;
        }
        if (s->count < 8)
            snprintf(s->contents[s->count], sizeof(s->contents[0]), "%s", batch->messages[i].content);
        if (s->count < sizeof(s->seqs) / sizeof(s->seqs[0]))
            s->seqs[s->count++] = seq;
    }
    if (!s->first_batch) {
        poller_batch_hold(batch);
        s->first_batch = batch;
    }
    pthread_cond_broadcast(&events);
    pthread_mutex_unlock(&events_lock);
    if (s->unwatch_self)
        poller_unwatch(poller, w, s->channel_id);
}

static void on_listener(struct poller_watcher *w, bool up)
{
    struct seen *s = w->ctx;
    pthread_mutex_lock(&events_lock);
    if (up)
        s->ups++;
    else
        s->downs++;
    pthread_cond_broadcast(&events);
    pthread_mutex_unlock(&events_lock);
}

static struct seen *seen_new(void)
{
    struct seen *s = xcalloc(1, sizeof(*s));
    s->watcher.on_batch = on_batch;
    s->watcher.on_listener = on_listener;
    s->watcher.ctx = s;
    s->canary = CANARY_ALIVE;
    return s;
}

static void seen_free(struct seen *s)
{
    poller_batch_release(s->first_batch);
    s->canary = CANARY_DEAD;
    free(s);
}

/* Waits up to seconds for *count >= want (read under events_lock). Returns true if reached. */
static bool wait_count(const size_t *count, size_t want, int seconds)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += seconds;
    pthread_mutex_lock(&events_lock);
    int rc = 0;
    while (*count < want && rc == 0)
        rc = pthread_cond_timedwait(&events, &events_lock, &deadline);
    bool reached = *count >= want;
    pthread_mutex_unlock(&events_lock);
    return reached;
}

static bool wait_int(const int *value, int want, int seconds)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += seconds;
    pthread_mutex_lock(&events_lock);
    int rc = 0;
    while (*value < want && rc == 0)
        rc = pthread_cond_timedwait(&events, &events_lock, &deadline);
    bool reached = *value >= want;
    pthread_mutex_unlock(&events_lock);
    return reached;
}

/* The poller runs as the programs do (PUSH_DSN); the publisher reads push.channel, so it logs
 * in as the schema owner when PUSH_ADMIN_DSN is set. */
static const char *dsn, *admin_dsn, *publish_key;
static PGconn *publisher;

/* Publishes content to channel; returns the seq or -1. */
static int64_t publish(const char *channel, const char *content)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!publisher || PQstatus(publisher) != CONNECTION_OK) {
            PQfinish(publisher);
            publisher = db_connect(admin_dsn);
            if (!publisher)
                return -1;
        }
        const char *params[] = { publish_key, channel, content };
        PGresult *res = PQexecParams(publisher, "SELECT push.publish($1, $2, $3)", 3, NULL, params,
                                     NULL, NULL, 0);
        int64_t seq = PQresultStatus(res) == PGRES_TUPLES_OK ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
        PQclear(res);
        if (seq > 0)
            return seq;
    }
    return -1;
}

/* The id and head of a channel (created by a first publish when needed). */
static int64_t channel_id(const char *channel, int64_t *head)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT id, last_seq FROM push.channel WHERE name = '%s'", channel);
    PGresult *res = PQexec(publisher, sql);
    int64_t id = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *head = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return id;
}

static bool seqs_are(const struct seen *s, int64_t from, int64_t to)
{
    pthread_mutex_lock(&events_lock);
    bool same = s->count == (size_t)(to - from + 1) && s->duplicates == 0;
    for (size_t i = 0; same && i < s->count; i++)
        same = s->seqs[i] == from + (int64_t)i;
    pthread_mutex_unlock(&events_lock);
    return same;
}

/* Watchers that come and go while messages flow; each checks it is never called late. */
static int64_t churn_channel;
static void *churn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < 150; i++) {
        struct seen *s = seen_new();
        if (poller_watch(poller, &s->watcher, churn_channel, 0) < 0)
            break;
        usleep((useconds_t)(rand_r(&seed) % 2000));
        poller_unwatch(poller, &s->watcher, churn_channel);
        pthread_mutex_lock(&events_lock);
        seen_free(s);
        pthread_mutex_unlock(&events_lock);
    }
    return NULL;
}

int main(void)
{
    dsn = getenv("PUSH_DSN");
    admin_dsn = getenv("PUSH_ADMIN_DSN") ? getenv("PUSH_ADMIN_DSN") : dsn;
    publish_key = getenv("PUBLISH_KEY");
    if (!dsn || !publish_key) {
        printf("1..0 # SKIP PUSH_DSN and PUBLISH_KEY are needed\n");
        return 0;
    }
    log_init("poller-check", LOG_LEVEL_WARN);
    struct db_pool pool;
    if (db_pool_init(&pool, dsn, 1) < 0)
        return 1;
    poller = poller_new(dsn, &pool);
    ok(poller != NULL, "poller_new");
    ok(poller_start(poller) == 0, "poller_start");
    for (int i = 0; i < 100 && !poller_listening(poller); i++)
        usleep(100 * 1000);
    ok(poller_listening(poller), "the listener connects and listens");

    /* Two watchers of one channel share the fetch; a third channel stays apart. */
    int64_t head;
    ok(publish("alpha", "a0") == 1 && publish("beta", "b0") == 1, "channels alpha and beta exist");
    int64_t alpha = channel_id("alpha", &head), beta = channel_id("beta", &head);
    struct seen *a1 = seen_new(), *a2 = seen_new(), *b1 = seen_new();
    ok(poller_watch(poller, &a1->watcher, alpha, 1) == 0 && poller_watch(poller, &a2->watcher, alpha, 1) == 0 &&
       poller_watch(poller, &b1->watcher, beta, 1) == 0, "three watches");
    struct poller_stats stats;
    poller_get_stats(poller, &stats);
    is_int(stats.channels, 2, "stats: 2 channels watched");
    is_int(stats.watchers, 3, "stats: 3 (watcher, channel) pairs");
    publish("alpha", "a1");
    publish("alpha", "a2");
    publish("alpha", "a3");
    publish("beta", "b1");
    ok(wait_count(&a1->count, 3, 10) && wait_count(&a2->count, 3, 10) && wait_count(&b1->count, 1, 10),
       "every watcher is called with the new rows");
    ok(seqs_are(a1, 2, 4) && seqs_are(a2, 2, 4), "alpha's watchers get seqs 2..4 once each, after their head 1");
    is_str(a1->contents[0], "a1", "content of the first new row");
    ok(seqs_are(b1, 2, 2), "beta's watcher gets only beta's row");
    ok(a1->first_batch && a1->first_batch == a2->first_batch, "both alpha watchers got the same batch (one fetch)");
    ok(a1->first_batch && a1->first_batch->messages[0].time_ms > 1600000000000, "rows carry their time in ms");
    ok(a1->first_batch && a1->first_batch->after_seq == 1 && !a1->first_batch->gap, "the batch follows the head");
    poller_get_stats(poller, &stats);
    ok(stats.notifications >= 4 && stats.fetches >= 2, "stats count notifications and fetches");
    poller_unwatch(poller, &a1->watcher, alpha);
    poller_unwatch(poller, &a2->watcher, alpha);
    poller_unwatch(poller, &b1->watcher, beta);
    /* A channel the listener is fetching right now is dropped when that fetch ends. */
    for (int i = 0; i < 200; i++) {
        poller_get_stats(poller, &stats);
        if (stats.channels == 0)
            break;
        usleep(10 * 1000);
    }
    ok(stats.channels == 0 && stats.watchers == 0, "after unwatching, nothing is watched");
    publish("alpha", "a4");
    usleep(300 * 1000);
    ok(seqs_are(a1, 2, 4), "an unwatched watcher is not called again");
    seen_free(a1);
    seen_free(a2);
    seen_free(b1);

    /* A watcher may unwatch itself from its callback. */
    struct seen *self = seen_new();
    self->unwatch_self = true;
    self->channel_id = alpha;
    channel_id("alpha", &head);
    ok(poller_watch(poller, &self->watcher, alpha, head) == 0, "watch alpha from its head");
    publish("alpha", "a5");
    ok(wait_count(&self->count, 1, 10), "called once");
    publish("alpha", "a6");
    usleep(300 * 1000);
    is_int(self->count, 1, "unwatched from inside on_batch: not called again, no deadlock");
    seen_free(self);

    /* One batch to two channels is one notification naming both: each channel is fetched
     * once and each watcher gets its channel's rows. */
    int64_t alpha_head, beta_head;
    channel_id("alpha", &alpha_head);
    channel_id("beta", &beta_head);
    struct seen *ba = seen_new(), *bb = seen_new();
    ok(poller_watch(poller, &ba->watcher, alpha, alpha_head) == 0 &&
       poller_watch(poller, &bb->watcher, beta, beta_head) == 0, "watch alpha and beta from their heads");
    struct poller_stats before;
    poller_get_stats(poller, &before);
    const char *batch_params[] = { publish_key };
    PGresult *res = PQexecParams(publisher, "SELECT count(*) FROM push.publish_batch($1, '{alpha,beta,alpha}',"
                                 " '{x1,y1,x2}')", 1, NULL, batch_params, NULL, NULL, 0);
    ok(PQresultStatus(res) == PGRES_TUPLES_OK, "a batch of 3 messages to alpha and beta");
    PQclear(res);
    ok(wait_count(&ba->count, 2, 10) && seqs_are(ba, alpha_head + 1, alpha_head + 2) &&
       wait_count(&bb->count, 1, 10) && seqs_are(bb, beta_head + 1, beta_head + 1),
       "alpha's watcher gets its 2 rows, beta's its 1");
    poller_get_stats(poller, &stats);
    ok(stats.notifications >= before.notifications + 1 && stats.fetches == before.fetches + 2,
       "one fetch per channel for the batch's notification");
    poller_unwatch(poller, &ba->watcher, alpha);
    poller_unwatch(poller, &bb->watcher, beta);
    seen_free(ba);
    seen_free(bb);

    /* Watchers come and go on many threads while 300 messages flow; a steady one sees all. */
    publish("churn", "c0");
    churn_channel = channel_id("churn", &head);
    struct seen *steady = seen_new();
    ok(poller_watch(poller, &steady->watcher, churn_channel, head) == 0, "steady watcher");
    pthread_t threads[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&threads[i], NULL, churn, (void *)(uintptr_t)(i + 1));
    int published = 0;
    for (int i = 1; i <= 300; i++) {
        char content[16];
        snprintf(content, sizeof(content), "c%d", i);
        published += publish("churn", content) == i + 1;
    }
    for (int i = 0; i < 8; i++)
        pthread_join(threads[i], NULL);
    is_int(published, 300, "300 messages published while watchers churn");
    ok(wait_count(&steady->count, 300, 20) && seqs_are(steady, 2, 301),
       "the steady watcher got seqs 2..301, each once, in order");
    is_int(late_callbacks, 0, "no callback ran on a watcher after its unwatch returned");
    poller_unwatch(poller, &steady->watcher, churn_channel);
    seen_free(steady);

    /* PostgreSQL restarts: the watcher hears down and up, and rows published before the
     * listener is back are found by the re-check. */
    const char *restart = getenv("POLLER_RESTART");
    if (restart && *restart) {
        struct seen *r = seen_new();
        channel_id("alpha", &head);
        ok(poller_watch(poller, &r->watcher, alpha, head) == 0, "watch alpha before the restart");
        ok(system(restart) == 0, "PostgreSQL restarted");
        int64_t s1 = publish("alpha", "after-1"), s2 = publish("alpha", "after-2");
        ok(s1 == head + 1 && s2 == head + 2, "published right after the restart");
        ok(wait_int(&r->downs, 1, 20) && wait_int(&r->ups, 1, 20), "on_listener: down, then up");
        ok(wait_count(&r->count, 2, 20) && seqs_are(r, head + 1, head + 2),
           "the rows published while the listener was away arrive, once each");
        poller_get_stats(poller, &stats);
        ok(stats.reconnects >= 1, "stats count the reconnect");
        ok(poller_listening(poller), "listening again");
        poller_unwatch(poller, &r->watcher, alpha);
        seen_free(r);
    }

    poller_free(poller);
    poller_free(NULL);
    db_pool_free(&pool);
    PQfinish(publisher);
    return tap_done();
}
