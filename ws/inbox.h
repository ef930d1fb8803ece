/* inbox.h: work handed from other threads (poller, database jobs) to the event loop thread. */
#ifndef PUSH_WS_INBOX_H
#define PUSH_WS_INBOX_H

#include <pthread.h>

struct lws_context;

/* Embedded in whatever is handed over; handle runs on the loop thread and owns the entry. */
struct inbox_entry {
    struct inbox_entry *next;
    void (*handle)(struct inbox_entry *entry);
};

struct inbox {
    pthread_mutex_t lock;
    struct inbox_entry *head, *tail;
    struct lws_context *context;   /* non-owning; NULL while there is no loop to wake */
};

void inbox_init(struct inbox *in);
/* Sets (or clears, with NULL) the loop to wake. */
void inbox_set_context(struct inbox *in, struct lws_context *context);
/* Queues entry and wakes the loop (LWS_CALLBACK_EVENT_WAIT_CANCELLED). Any thread. */
void inbox_post(struct inbox *in, struct inbox_entry *entry);
/* Runs every queued entry's handle in posting order. Loop thread. */
void inbox_drain(struct inbox *in);
/* Drains what is left; the inbox can be initialised again after. */
void inbox_free(struct inbox *in);

#endif
