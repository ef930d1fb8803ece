/* held.h: the set of held requests: one thread watches every held connection with epoll for
 * hang-up and keeps their deadlines; admission caps in total and per client address. */
#ifndef PUSH_HELD_H
#define PUSH_HELD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway.h"

struct held_address;

/* One held request, embedded in the caller's record. Exactly one of the wake-up paths
 * (the caller's own wake, the deadline, a hang-up, shutdown) claims it and answers it. */
struct held_request {
    struct gateway_held *gw;      /* owned by whoever claims the request */
    int64_t deadline_ms;          /* clock_ms() */
    /* Below: the set's own. */
    atomic_bool claimed;
    size_t heap_index;            /* in the deadline heap, or SIZE_MAX */
    uint32_t slot;                /* epoll's handle on the request (with the slot's generation) */
    struct held_address *address; /* counted against its address while in the set */
};

/* What the set calls on its thread for a request it claimed; the callee answers or drops
 * r->gw and frees the record. Called without the set's lock. */
struct held_callbacks {
    void (*on_deadline)(struct held_request *r);
    void (*on_hangup)(struct held_request *r);
};

enum held_result {
    HELD_OK = 0,
    HELD_FULL,           /* max_total requests are held already */
    HELD_ADDRESS_FULL,   /* this address holds max_per_address already */
};

/* Starts the watcher thread (held_stop stops it). max_total and max_per_address bound
 * held_add. Returns 0 or -1. */
int held_start(const struct held_callbacks *callbacks, size_t max_total, size_t max_per_address)
    __attribute__((warn_unused_result));

/* Adds r (r->gw and r->deadline_ms set) to the set, counted against r->gw->remote_addr.
 * Returns HELD_OK, or why it was refused (r is then not in the set and the caller answers). */
enum held_result held_add(struct held_request *r) __attribute__((warn_unused_result));

/* Takes r out of the set. Returns true for the one caller that wins it: that caller now owns
 * r->gw. r must have been added, or be claimed by the only thread that knows it. */
bool held_claim(struct held_request *r) __attribute__((warn_unused_result));

/* Claims every held request and hands each to on_deadline (shutdown answers them now); from
 * then on held_add refuses with HELD_FULL. */
void held_expire_all(void);

/* Shutdown, once no thread adds or claims any more: held_expire_all, then stops the watcher
 * thread (its callbacks in progress finish first) and frees the set. */
void held_stop(void);

#endif
