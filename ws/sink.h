/* sink.h: a subscriber as its channels see it: where their frames go, whether a replay may go
 * on, and the subscriptions it owns. A client is the real one (client.c); tests use a fake. */
#ifndef PUSH_WS_SINK_H
#define PUSH_WS_SINK_H

#include <stdbool.h>

#include "list.h"

struct frame;
struct sink;
struct sub;

struct sink_ops {
    /* Queues f, taking a new reference. Returns 0, or -1 when the sink is closing (perhaps
     * by this very call, when it could take no more): it takes nothing more, but it drops
     * its subscriptions only after the current pass. It may close other sinks the same way,
     * but never ends a subscription itself: a fan-out goes on over the channel's list. */
    int (*send)(struct sink *sink, struct frame *f);
    /* Whether a replay may queue another frame now (live frames are always offered). */
    bool (*has_room)(const struct sink *sink);
    /* Keep the sink's memory while a database read for one of its subscriptions is in
     * flight (its subscriptions may go meanwhile: the read then finds none). */
    void (*hold)(struct sink *sink);
    void (*release)(struct sink *sink);
};

/* Embedded in the subscriber. */
struct sink {
    const struct sink_ops *ops;  /* non-owning (static) */
    struct list subs;            /* owned: its subscriptions, on sub->sink_link */
    int nsubs;
};

#endif
