/* feed.c: the channels one long-poll process follows, each with its head and a ring of recent
 * messages fed by the poller. */
#include "feed.h"
#include "buf.h"
#include "clock.h"
#include "log.h"
#include "table.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FEED_BUCKETS 1024 /* to start with: the table doubles as it fills */

struct feed {
    int app_id;
    char name[VALIDATE_CHANNEL_MAX + 1];
    int64_t id;
    int64_t head;                  /* every seq up to here has been taken in */
    int64_t base;                  /* the ring holds base+1 .. head, in order */
    struct feed_item *ring;        /* owned, ring_size slots, circular from start */
    size_t start, count;
    size_t bytes;                  /* content bytes in the ring */
    int refs;                      /* requests using it now */
    double idle_since;             /* clock_seconds() when refs last dropped to 0 */
    struct poller_watcher watcher;
    struct list waiting;           /* the caller's list; guarded by the caller */
    struct table_link link;        /* in feeds.table, keyed by (app_id, name) */
    struct feed *gone_next;        /* the list feeds_take returns */
};

static struct {
    pthread_mutex_t lock;          /* guards the table and every feed's fields above */
    struct poller *poller;         /* non-owning */
    size_t ring_size, ring_bytes;
    feed_on_new on_new;
    struct table table;            /* of struct feed */
} feeds = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Called with the lock held. */
static struct feed *feed_find(int app_id, const char *name)
{
    for (struct table_link *l = table_first(&feeds.table, table_hash_text((uint64_t)app_id, name)); l;
         l = table_next(l)) {
        struct feed *f = LINK_ENTRY(l, struct feed, link);
        if (f->app_id == app_id && strcmp(f->name, name) == 0)
            return f;
    }
    return NULL;
}

/* Drops the oldest message of the ring; called with the lock held. */
static void feed_drop_oldest(struct feed *f)
{
    struct feed_item *it = &f->ring[f->start];
    f->base = it->message->seq;
    f->bytes -= it->message->content_len;
    poller_batch_release(it->batch);
    it->batch = NULL;
    f->start = (f->start + 1) % feeds.ring_size;
    f->count--;
}

/* Poller callback: takes in the messages after the head. A jump (pruned rows) restarts the
 * ring after it, so cursors before the jump go to PostgreSQL, which reports the gap. */
static void feed_on_batch(struct poller_watcher *w, struct poller_batch *batch)
{
    struct feed *f = w->ctx;
    bool moved = false;
    pthread_mutex_lock(&feeds.lock);
    for (size_t i = 0; i < batch->count; i++) {
        const struct poller_message *m = &batch->messages[i];
        if (m->seq <= f->head)
            continue;
        if (m->seq > f->head + 1) {
            while (f->count > 0)
                feed_drop_oldest(f);
            f->base = m->seq - 1;
        }
        if (f->count == feeds.ring_size)
            feed_drop_oldest(f);
        poller_batch_hold(batch);
        f->ring[(f->start + f->count) % feeds.ring_size] = (struct feed_item){ m, batch };
        f->count++;
        f->bytes += m->content_len;
        while (f->count > 1 && f->bytes > feeds.ring_bytes)
            feed_drop_oldest(f);
        f->head = m->seq;
        moved = true;
    }
    pthread_mutex_unlock(&feeds.lock);
    if (moved && feeds.on_new)
        feeds.on_new(f);
}

void feeds_init(struct poller *poller, size_t ring_size, size_t ring_bytes, feed_on_new on_new)
{
    feeds.poller = poller;
    feeds.ring_size = ring_size ? ring_size : 1;
    feeds.ring_bytes = ring_bytes;
    feeds.on_new = on_new;
    pthread_mutex_lock(&feeds.lock);
    if (!feeds.table.buckets)
        table_init(&feeds.table, FEED_BUCKETS);
    pthread_mutex_unlock(&feeds.lock);
}

struct feed *feeds_get(int app_id, const char *name)
{
    pthread_mutex_lock(&feeds.lock);
    struct feed *f = feed_find(app_id, name);
    if (f)
        f->refs++;
    pthread_mutex_unlock(&feeds.lock);
    return f;
}

struct feed *feeds_add(int app_id, const char *name, int64_t id, int64_t head)
{
    pthread_mutex_lock(&feeds.lock);
    struct feed *f = feed_find(app_id, name);
    if (f) {
        f->refs++;
        pthread_mutex_unlock(&feeds.lock);
        return f;
    }
    f = xcalloc(1, sizeof(*f));
    f->app_id = app_id;
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->id = id;
    f->head = f->base = head;
    f->ring = xcalloc(feeds.ring_size, sizeof(*f->ring));
    f->refs = 1;
    f->watcher.on_batch = feed_on_batch;
    f->watcher.ctx = f;
    table_add(&feeds.table, &f->link, table_hash_text((uint64_t)app_id, name));
    pthread_mutex_unlock(&feeds.lock);
    /* Watched from the head read; the re-check fetches whatever committed since that read. */
    if (poller_watch(feeds.poller, &f->watcher, id, head) < 0)
        log_error("feed %s: cannot watch channel %lld", name, (long long)id);
    poller_recheck(feeds.poller, id, head);
    return f;
}

void feeds_put(struct feed *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&feeds.lock);
    if (--f->refs == 0)
        f->idle_since = clock_seconds();
    pthread_mutex_unlock(&feeds.lock);
}

/* Stops watching the feeds of the list gone and frees them. */
static void feeds_release(struct feed *gone)
{
    while (gone) {
        struct feed *f = gone;
        gone = f->gone_next;
        /* After this no callback runs for f. */
        poller_unwatch(feeds.poller, &f->watcher, f->id);
        while (f->count > 0)
            feed_drop_oldest(f);
        free(f->ring);
        free(f);
    }
}

/* Takes the feeds nobody uses out of the table (every feed with all): those idle since
 * before deadline. Returns them as a list. */
static struct feed *feeds_take(bool all, double deadline)
{
    struct feed *gone = NULL;
    pthread_mutex_lock(&feeds.lock);
    for (size_t b = 0; b < feeds.table.nbuckets; b++) {
        struct table_link *next;
        for (struct table_link *l = feeds.table.buckets[b]; l; l = next) {
            next = l->next;
            struct feed *f = LINK_ENTRY(l, struct feed, link);
            if (all || (f->refs == 0 && f->idle_since <= deadline)) {
                if (f->refs != 0)
                    log_warn("feed %s: freed with %d requests using it", f->name, f->refs);
                table_remove(&feeds.table, &f->link);
                f->gone_next = gone;
                gone = f;
            }
        }
    }
    pthread_mutex_unlock(&feeds.lock);
    return gone;
}

void feeds_sweep(double now, int idle_seconds)
{
    feeds_release(feeds_take(false, now - idle_seconds));
}

void feeds_free(void)
{
    feeds_release(feeds_take(true, 0));
    pthread_mutex_lock(&feeds.lock);
    table_free(&feeds.table);
    pthread_mutex_unlock(&feeds.lock);
}

int64_t feed_id(const struct feed *f)
{
    return f->id;
}

int64_t feed_head(struct feed *f)
{
    pthread_mutex_lock(&feeds.lock);
    int64_t head = f->head;
    pthread_mutex_unlock(&feeds.lock);
    return head;
}

int feed_read(struct feed *f, int64_t after, size_t max, struct feed_item *out)
{
    pthread_mutex_lock(&feeds.lock);
    if (after < f->base || after > f->head) {
        pthread_mutex_unlock(&feeds.lock);
        return -1;
    }
    size_t skip = (size_t)(after - f->base), n = 0;
    for (size_t i = skip; i < f->count && n < max; i++) {
        out[n] = f->ring[(f->start + i) % feeds.ring_size];
        poller_batch_hold(out[n].batch);
        n++;
    }
    pthread_mutex_unlock(&feeds.lock);
    return (int)n;
}

void feed_items_release(struct feed_item *items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        poller_batch_release(items[i].batch);
}

struct list *feed_waiting(struct feed *f)
{
    return &f->waiting;
}
