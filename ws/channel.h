/* channel.h: the channels one sidecar process serves: one poller watcher and one ring of
 * recent frames per channel, whatever the number of subscribers, and each subscription's
 * way from its `since` (replayed from the ring or PostgreSQL) to live delivery. */
#ifndef PUSH_WS_CHANNEL_H
#define PUSH_WS_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "list.h"
#include "poller.h"
#include "table.h"
#include "validate.h"

struct frame;
struct json_object;
struct server;
struct sink;

enum channel_state {
    CHANNEL_CLOSED = 0,  /* not opened yet, or the last open failed */
    CHANNEL_OPENING,     /* push.channel_open() in flight */
    CHANNEL_READY,       /* watched; head and ring are valid */
};

struct channel {
    struct server *server;                /* non-owning */
    int app_id;
    char name[VALIDATE_CHANNEL_MAX + 1];
    int64_t id;                           /* push.channel.id once opened */
    enum channel_state state;
    int refs;                             /* subscriptions + jobs in flight */
    int64_t head;                         /* every seq up to head has been taken in, in order */
    int64_t ring_low;                     /* lowest seq in the ring (head + 1 when empty) */
    struct frame **ring;                  /* owned references, ring_size slots by seq */
    struct list subs;                     /* the channel's subscriptions, on sub.link (non-owning) */
    int nsubs;
    struct poller_watcher watcher;        /* registered while READY */
    bool filling;                         /* a catch-up read is in flight */
    bool fill_again;                      /* and another is wanted after it */
    time_t idle_since;                    /* when the last subscription went */
    struct table_link name_link;          /* in the channels by (app_id, name) */
    struct table_link id_link;            /* in the channels by id, once opened */
    bool id_linked;
};

enum sub_state {
    SUB_WAITING = 0,  /* the channel is opening, or a since ahead of its head is checked */
    SUB_REPLAY,       /* sending next_seq.. from the ring or the database */
    SUB_LIVE,         /* caught up: new messages are queued as they arrive */
};

/* One sink's subscription to one channel; owned by the sink. */
struct sub {
    struct channel *channel;         /* holds a channel reference */
    struct sink *sink;               /* non-owning: the owner */
    struct list_link link;           /* in channel->subs */
    struct list_link sink_link;      /* in sink->subs */
    uint64_t serial;                 /* tells a re-subscription from the one a read was for */
    enum sub_state state;
    bool has_since;
    int64_t since;
    int64_t next_seq;                /* the next seq this subscriber gets */
    bool replied;                    /* "subscribed" has been queued */
    struct json_object *request_id;  /* owned reference until the reply, or NULL */
    bool fetching;                   /* a history read for this subscription is in flight */
    struct frame **replay;           /* owned references read from the database */
    size_t replay_count, replay_pos;
};

struct channels;

/* The process's channel table. Caller channels_free()s after every subscription is gone. */
struct channels *channels_new(struct server *server);
void channels_free(struct channels *channels);

/* Subscribes sink to app_id's channel name (validated and authorised; the sink has no
 * subscription to it). Without since, delivery starts after the current head; with it, at
 * since + 1. The reply ("subscribed" or "error") carries request_id (a new reference is
 * taken; NULL for none). The subscription is linked into sink->subs, which owns it; a failed
 * one (the channel cannot be opened or read) is unlinked and freed before its error is sent. */
void channel_subscribe(struct server *server, struct sink *sink, int app_id, const char *name,
                       bool has_since, int64_t since, struct json_object *request_id);

/* Unlinks a subscription from its sink's list, ends it and frees it. */
void channel_unsubscribe(struct sub *sub);

/* The sink's subscription to the channel name, or NULL. */
struct sub *channel_find_sub(const struct sink *sink, const char *name);

/* Moves a replaying subscription on while its sink has room. */
void channel_pump(struct sub *sub);

/* Frees channels nobody has subscribed to for a while. */
void channels_sweep(struct channels *channels, time_t now);

#endif
