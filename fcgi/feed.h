/* feed.h: the channels one long-poll process follows: per channel its id, its head and a ring
 * of recent messages shared by every waiting request, kept current by the process's poller.
 * A re-poll whose cursor is inside the ring is answered from memory, without SQL. */
#ifndef PUSH_FEED_H
#define PUSH_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "poller.h"
#include "validate.h"

struct feed;

/* One message in a ring: points into a poller batch it holds a reference to. */
struct feed_item {
    const struct poller_message *message;  /* borrowed from batch */
    struct poller_batch *batch;            /* one reference, owned by whoever holds the item */
};

/* Called on the poller thread, without the feeds' lock, after new messages moved f's head. */
typedef void (*feed_on_new)(struct feed *f);

/* Sets up the table. ring_size messages and ring_bytes of content per channel at most.
 * poller is non-owning and must outlive the feeds. */
void feeds_init(struct poller *poller, size_t ring_size, size_t ring_bytes, feed_on_new on_new);

/* The feed of app_id's channel name with a new reference, or NULL when the process does not
 * follow it (the caller opens it through SQL and calls feeds_add). */
struct feed *feeds_get(int app_id, const char *name);

/* The feed of a channel just opened through SQL (id, head as read), created and watched when
 * new; a new reference. A new feed asks the poller to re-check the channel, so that nothing
 * committed between the caller's read and the watch is missed. */
struct feed *feeds_add(int app_id, const char *name, int64_t id, int64_t head);

/* Drops a reference. NULL is a no-op. */
void feeds_put(struct feed *f);

/* Frees feeds nobody has used for idle_seconds before now (clock_seconds()); they stop
 * being watched. */
void feeds_sweep(double now, int idle_seconds);

/* Shutdown, once no request uses a feed: frees every feed (they stop being watched). */
void feeds_free(void);

int64_t feed_id(const struct feed *f);
int64_t feed_head(struct feed *f);

/* Copies up to max items after seq `after` into out (each holding a batch reference; release
 * with feed_items_release). Returns the count, or -1 when the ring does not reach back to
 * after (or after is beyond the head): the caller asks PostgreSQL. */
int feed_read(struct feed *f, int64_t after, size_t max, struct feed_item *out);

void feed_items_release(struct feed_item *items, size_t count);

/* The caller's list of requests waiting on f, guarded by the caller's own lock. */
struct list *feed_waiting(struct feed *f);

#endif
