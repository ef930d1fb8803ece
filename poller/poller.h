/* poller.h: the LISTEN/NOTIFY dispatcher. One listener connection per process, whatever the
 * number of waiting clients; new rows are fetched once per channel and handed to every
 * watcher of that channel. Used by the long-poll program and the WebSocket sidecar alike.
 *
 * Publishers NOTIFY "push_message" with "<channel_id>:<seq>[,<channel_id>:<seq>...]" after
 * commit, each channel of the commit once with its newest seq (sql/); a change to an app
 * NOTIFYs "push_app", a kicked user "push_kick". */
#ifndef PUSH_POLLER_H
#define PUSH_POLLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct poller;

struct poller_message {
    int64_t seq;
    int64_t time_ms;       /* created time, Unix milliseconds */
    const char *content;   /* owned by the batch, NUL-terminated */
    size_t content_len;
};

/* Consecutive rows of one channel (seq after_seq+1 .. last), fetched once and shared by every
 * watcher. Reference-counted: a watcher that keeps it past on_batch calls poller_batch_hold
 * and later poller_batch_release. */
struct poller_batch {
    int64_t channel_id;
    int64_t after_seq;     /* rows follow this seq */
    bool gap;              /* rows after after_seq were pruned: messages[0].seq > after_seq + 1 */
    size_t count;
    struct poller_message *messages;
    atomic_int refs;
};

void poller_batch_hold(struct poller_batch *batch);
/* Frees the batch when the last reference goes. NULL is a no-op. */
void poller_batch_release(struct poller_batch *batch);

/* Embedded by the caller (a long-poll waiter, a sidecar channel). */
struct poller_watcher {
    /* Called on the poller thread with new rows of channel_id; must not block. */
    void (*on_batch)(struct poller_watcher *w, struct poller_batch *batch);
    /* Called on the poller thread when the listener connection is lost (up = false) and when
     * it is back and every watched channel has been re-checked (up = true). May be NULL. */
    void (*on_listener)(struct poller_watcher *w, bool up);
    void *ctx;             /* the caller's */
};

/* Creates a dispatcher that listens with its own connection to dsn and fetches rows through
 * pool (shared with the caller: a process holds 1 + pool size connections). pool is
 * non-owning and must outlive the poller. Returns NULL on bad arguments. Caller poller_free()s. */
struct poller *poller_new(const char *dsn, struct db_pool *pool);

/* Starts the listener thread; it connects (retrying with backoff) and LISTENs.
 * Returns 0, or -1 when the thread cannot start. */
int poller_start(struct poller *p) __attribute__((warn_unused_result));

/* True once the listener is connected and listening. */
bool poller_listening(struct poller *p);

/* Watches channel_id, whose rows up to head_seq the caller has seen or will read itself.
 * Register BEFORE the caller's own catch-up query: anything committed after that query is
 * then delivered through on_batch (possibly overlapping the query: callers skip seqs they
 * already have). A watcher may watch many channels. Returns 0, or -1 out of memory. */
int poller_watch(struct poller *p, struct poller_watcher *w, int64_t channel_id, int64_t head_seq)
    __attribute__((warn_unused_result));

/* Asks the listener thread to fetch channel_id's rows after `after` (or after its head, when
 * that is lower) now, as if notified: a watcher that read the head before it watched calls it
 * so that nothing committed in between is missed. Watchers skip seqs they already have. */
void poller_recheck(struct poller *p, int64_t channel_id, int64_t after);

/* The listener's liveness: silent for idle_seconds, it is sent a query; unanswered within
 * timeout_seconds, it is closed and a new one connects (every watched channel is then re-read,
 * as after any reconnect). 0 for either keeps its default. Call before poller_start. */
#define POLLER_LIVE_IDLE 30
#define POLLER_LIVE_TIMEOUT 10
void poller_set_liveness(struct poller *p, int idle_seconds, int timeout_seconds);

/* Also LISTENs on "push_app" and calls fn on the listener thread for each notification there
 * (an app's keys, origins or limits changed), and after every reconnect (changes may have been
 * missed). Call before poller_start. fn must not block. */
void poller_on_app_change(struct poller *p, void (*fn)(void));

/* Also LISTENs on "push_kick" and calls fn on the listener thread with each notification's
 * payload there (a user was kicked, sql/migrations/016_kick.sql), and with NULL after every
 * connect (kicks may have been missed). Call before poller_start. fn must not block. */
void poller_on_kick(struct poller *p, void (*fn)(const char *payload));

/* Stops watching; after it returns, on_batch is not running and will not run for w and this
 * channel. */
void poller_unwatch(struct poller *p, struct poller_watcher *w, int64_t channel_id);

/* Counters for metrics. */
struct poller_stats {
    uint64_t notifications;   /* NOTIFY messages received */
    uint64_t fetches;         /* row fetches (one per channel per wake-up) */
    uint64_t reconnects;      /* listener reconnects */
    size_t channels;          /* channels watched now */
    size_t watchers;          /* (watcher, channel) pairs now */
};
void poller_get_stats(struct poller *p, struct poller_stats *out);

/* Stops the thread and frees everything; watchers must be gone. NULL is a no-op. */
void poller_free(struct poller *p);

#endif
