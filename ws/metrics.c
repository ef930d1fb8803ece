/* metrics.c: counters of every worker process (one slot each in shared memory), the
 * per-address connection limit, and their Prometheus text for GET /push/ws/metrics. */
#include "metrics.h"
#include "table.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct metrics_slot {
    atomic_llong values[METRIC_COUNT];
};

/* One address and its connections: in total, and per worker (so that a worker that dies and
 * restarts can take back what it held). */
struct metrics_address {
    char addr[64];   /* "" = free */
    int total;
    int count[];     /* metrics_workers of them */
};

/* Open addressing with linear probing, kept without tombstones (backward-shift delete). */
struct metrics_addresses {
    pthread_mutex_t lock;     /* process-shared, robust */
    size_t capacity;          /* a power of two */
    size_t used;
    size_t entry_size;
    unsigned char entries[];
};

static struct metrics_slot *metrics_slots;  /* shared mapping, one per worker */
static int metrics_workers;
static struct metrics_slot *metrics_own;
static int metrics_own_index;
static struct metrics_addresses *metrics_table;  /* shared mapping */

static const struct {
    const char *name;
    const char *type;
    const char *help;
} metrics_info[METRIC_COUNT] = {
    [METRIC_WS_CONNECTIONS] = { "push_ws_connections", "gauge", "open WebSocket connections" },
    [METRIC_SSE_CONNECTIONS] = { "push_ws_sse_connections", "gauge", "open Server-Sent Events streams" },
    [METRIC_SUBSCRIPTIONS] = { "push_ws_subscriptions", "gauge", "channel subscriptions of all connections" },
    [METRIC_CHANNELS] = { "push_ws_channels", "gauge", "channels held in memory (watched or lingering)" },
    [METRIC_DELIVERIES] = { "push_ws_deliveries_total", "counter", "messages written to clients" },
    [METRIC_DROPS] = { "push_ws_drops_total", "counter", "slow readers cut off at a full queue" },
    [METRIC_REFUSED] = { "push_ws_refused_total", "counter", "handshakes refused (key, origin, limits)" },
    [METRIC_LISTENER_RECONNECTS] = { "push_ws_listener_reconnects_total", "counter",
                                     "LISTEN connection re-established" },
    [METRIC_NOTIFICATIONS] = { "push_ws_notifications_total", "counter", "NOTIFY messages received" },
    [METRIC_JOBS] = { "push_ws_jobs", "gauge", "database jobs queued or running" },
    [METRIC_QUEUED_BYTES] = { "push_ws_queued_bytes", "gauge", "bytes waiting in connections' output queues" },
    [METRIC_LOOKUP_CONNECTED] = { "push_ws_lookup_connected", "gauge",
                                  "workers whose key lookup connection to PostgreSQL is up" },
};

int metrics_init(int workers, size_t address_capacity)
{
    size_t size = sizeof(struct metrics_slot) * (size_t)workers;
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return -1;
    metrics_slots = map;
    metrics_workers = workers;
    metrics_own = &metrics_slots[0];
    size_t capacity = 1024;
    while (capacity < address_capacity)
        capacity *= 2;
    size_t entry_size = (sizeof(struct metrics_address) + sizeof(int) * (size_t)workers + 7) & ~(size_t)7;
    size = sizeof(struct metrics_addresses) + capacity * entry_size;
    /* Pages are touched only where addresses land. */
    map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        return -1;
    metrics_table = map;
    metrics_table->capacity = capacity;
    metrics_table->entry_size = entry_size;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(&metrics_table->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}

static struct metrics_address *metrics_entry(size_t i)
{
    return (struct metrics_address *)(metrics_table->entries + i * metrics_table->entry_size);
}

static void metrics_lock(void)
{
    /* A worker that died holding the lock was inside a few stores: the table is usable. */
    if (pthread_mutex_lock(&metrics_table->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&metrics_table->lock);
}

static void metrics_unlock(void)
{
    pthread_mutex_unlock(&metrics_table->lock);
}

/* The entry of addr, or the free one where it would go (NULL when the table is full). */
static struct metrics_address *metrics_address_find(const char *addr)
{
    size_t mask = metrics_table->capacity - 1;
    for (size_t n = 0, i = table_hash_text(0, addr) & mask; n <= mask; n++, i = (i + 1) & mask) {
        struct metrics_address *e = metrics_entry(i);
        if (!e->addr[0] || strcmp(e->addr, addr) == 0)
            return e;
    }
    return NULL;
}

/* Frees entry e (total 0), moving later entries of its probe run back. */
static void metrics_address_remove(struct metrics_address *e)
{
    size_t mask = metrics_table->capacity - 1;
    size_t hole = (size_t)((unsigned char *)e - metrics_table->entries) / metrics_table->entry_size;
    for (size_t i = (hole + 1) & mask;; i = (i + 1) & mask) {
        struct metrics_address *next = metrics_entry(i);
        if (!next->addr[0])
            break;
        size_t home = table_hash_text(0, next->addr) & mask;
        /* next may fill the hole when its home is not in (hole, i]. */
        bool movable = hole <= i ? (home <= hole || home > i) : (home <= hole && home > i);
        if (movable) {
            memcpy(metrics_entry(hole), next, metrics_table->entry_size);
            hole = i;
        }
    }
    memset(metrics_entry(hole), 0, metrics_table->entry_size);
    metrics_table->used--;
}

void metrics_attach(int index)
{
    metrics_own = &metrics_slots[index];
    metrics_own_index = index;
    for (int m = 0; m < METRIC_COUNT; m++)
        if (strcmp(metrics_info[m].type, "gauge") == 0)
            atomic_store(&metrics_own->values[m], 0);
    /* What a previous process of this worker counted is gone with its connections. */
    metrics_lock();
    for (size_t i = 0; i < metrics_table->capacity;) {
        struct metrics_address *e = metrics_entry(i);
        if (e->addr[0] && e->count[index]) {
            e->total -= e->count[index];
            e->count[index] = 0;
            if (e->total <= 0) {
                metrics_address_remove(e); /* a later entry may have moved here: look again */
                continue;
            }
        }
        i++;
    }
    metrics_unlock();
}

bool metrics_address_full(const char *addr, int limit)
{
    metrics_lock();
    struct metrics_address *e = metrics_address_find(addr);
    bool full = e && e->addr[0] && e->total >= limit;
    metrics_unlock();
    return full;
}

bool metrics_address_acquire(const char *addr)
{
    bool counted = false;
    metrics_lock();
    struct metrics_address *e = metrics_address_find(addr);
    /* Half full at most, so that probe runs stay short. */
    if (e && (e->addr[0] || metrics_table->used < metrics_table->capacity / 2)) {
        if (!e->addr[0]) {
            snprintf(e->addr, sizeof(e->addr), "%s", addr);
            metrics_table->used++;
        }
        e->total++;
        e->count[metrics_own_index]++;
        counted = true;
    }
    metrics_unlock();
    return counted;
}

void metrics_address_release(const char *addr)
{
    metrics_lock();
    struct metrics_address *e = metrics_address_find(addr);
    if (e && e->addr[0] && e->count[metrics_own_index] > 0) {
        e->count[metrics_own_index]--;
        if (--e->total <= 0)
            metrics_address_remove(e);
    }
    metrics_unlock();
}

void metrics_add(enum metric m, int64_t delta)
{
    atomic_fetch_add_explicit(&metrics_own->values[m], delta, memory_order_relaxed);
}

void metrics_set(enum metric m, int64_t value)
{
    atomic_store_explicit(&metrics_own->values[m], value, memory_order_relaxed);
}

void metrics_format(struct buf *out, double notify_usage)
{
    for (int m = 0; m < METRIC_COUNT; m++) {
        long long total = 0;
        for (int w = 0; w < metrics_workers; w++)
            total += atomic_load(&metrics_slots[w].values[m]);
        buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", metrics_info[m].name, metrics_info[m].help,
                   metrics_info[m].name, metrics_info[m].type, metrics_info[m].name, total);
    }
    buf_printf(out, "# HELP push_ws_workers sidecar worker processes\n# TYPE push_ws_workers gauge\n"
                    "push_ws_workers %d\n", metrics_workers);
    buf_puts(out, "# HELP push_ws_worker_connections connections (WebSocket and SSE) of each worker\n"
                  "# TYPE push_ws_worker_connections gauge\n");
    for (int w = 0; w < metrics_workers; w++)
        buf_printf(out, "push_ws_worker_connections{worker=\"%d\"} %lld\n", w,
                   (long long)(atomic_load(&metrics_slots[w].values[METRIC_WS_CONNECTIONS]) +
                               atomic_load(&metrics_slots[w].values[METRIC_SSE_CONNECTIONS])));
    if (notify_usage >= 0)
        buf_printf(out, "# HELP push_ws_notify_queue_usage pg_notification_queue_usage() of the database\n"
                        "# TYPE push_ws_notify_queue_usage gauge\npush_ws_notify_queue_usage %g\n",
                   notify_usage);
}
