/* metrics.h: counters of every worker process (one slot each in shared memory), the
 * per-address connection limit, and their Prometheus text for GET /push/ws/metrics. */
#ifndef PUSH_WS_METRICS_H
#define PUSH_WS_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

enum metric {
    METRIC_WS_CONNECTIONS = 0,   /* gauge */
    METRIC_SSE_CONNECTIONS,      /* gauge */
    METRIC_SUBSCRIPTIONS,        /* gauge */
    METRIC_CHANNELS,             /* gauge */
    METRIC_DELIVERIES,           /* messages written to clients */
    METRIC_DROPS,                /* slow readers cut off */
    METRIC_REFUSED,              /* handshakes refused */
    METRIC_LISTENER_RECONNECTS,  /* copied from the poller */
    METRIC_NOTIFICATIONS,        /* copied from the poller */
    METRIC_JOBS,                 /* gauge: database jobs queued or running */
    METRIC_QUEUED_BYTES,         /* gauge: bytes in connections' output queues */
    METRIC_LOOKUP_CONNECTED,     /* gauge: 1 while the key lookup connection is up */
    METRIC_COUNT,
};

/* Maps the shared slots for workers processes and an address table for address_capacity
 * addresses; call before forking them. Returns 0, or -1 when the memory cannot be mapped. */
int metrics_init(int workers, size_t address_capacity) __attribute__((warn_unused_result));

/* Makes this process write slot index; gauges of a restarted worker start from zero. */
void metrics_attach(int index);

void metrics_add(enum metric m, int64_t delta);
void metrics_set(enum metric m, int64_t value);

/* Connections per peer address, all workers together, counted exactly (one entry per address
 * in a shared table under a process-shared lock; a worker that restarts drops its counts). */
bool metrics_address_full(const char *addr, int limit);
/* Counts a connection from addr. Returns false when the table is full (more addresses than
 * it was sized for): the connection is then not counted and must not be released. */
bool metrics_address_acquire(const char *addr);
/* Ends what metrics_address_acquire(addr) counted. */
void metrics_address_release(const char *addr);

/* Appends the Prometheus text of all workers; notify_usage < 0 leaves that gauge out. */
void metrics_format(struct buf *out, double notify_usage);

#endif
