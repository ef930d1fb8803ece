/* metrics.c: counters of every worker process (one slot each in shared memory), the
 * per-address connection limit, and their Prometheus text for GET /push/ws/metrics. */
#include "metrics.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define METRICS_ADDRESS_SLOTS 8192

struct metrics_slot {
    atomic_llong values[METRIC_COUNT];
    atomic_int addresses[METRICS_ADDRESS_SLOTS];
};

static struct metrics_slot *metrics_slots;  /* shared mapping, one per worker */
static int metrics_workers;
static struct metrics_slot *metrics_own;

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
};

int metrics_init(int workers)
{
    size_t size = sizeof(struct metrics_slot) * (size_t)workers;
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return -1;
    metrics_slots = map;
    metrics_workers = workers;
    metrics_own = &metrics_slots[0];
    return 0;
}

void metrics_attach(int index)
{
    metrics_own = &metrics_slots[index];
    for (int m = 0; m < METRIC_COUNT; m++)
        if (strcmp(metrics_info[m].type, "gauge") == 0)
            atomic_store(&metrics_own->values[m], 0);
    for (int i = 0; i < METRICS_ADDRESS_SLOTS; i++)
        atomic_store(&metrics_own->addresses[i], 0);
}

void metrics_add(enum metric m, int64_t delta)
{
    atomic_fetch_add_explicit(&metrics_own->values[m], delta, memory_order_relaxed);
}

void metrics_set(enum metric m, int64_t value)
{
    atomic_store_explicit(&metrics_own->values[m], value, memory_order_relaxed);
}

static int metrics_address_slot(const char *addr)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *s = (const unsigned char *)addr; *s; s++)
        h = (h ^ *s) * 16777619u;
    return (int)(h % METRICS_ADDRESS_SLOTS);
}

bool metrics_address_full(const char *addr, int limit)
{
    int slot = metrics_address_slot(addr);
    long total = 0;
    for (int w = 0; w < metrics_workers; w++)
        total += atomic_load(&metrics_slots[w].addresses[slot]);
    return total >= limit;
}

int metrics_address_acquire(const char *addr)
{
    int slot = metrics_address_slot(addr);
    atomic_fetch_add(&metrics_own->addresses[slot], 1);
    return slot;
}

void metrics_address_release(int slot)
{
    atomic_fetch_sub(&metrics_own->addresses[slot], 1);
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
