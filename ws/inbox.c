/* inbox.c: work handed from other threads (poller, database jobs) to the event loop thread. */
#include "inbox.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>

void inbox_init(struct inbox *in)
{
    pthread_mutex_init(&in->lock, NULL);
    in->head = in->tail = NULL;
    in->context = NULL;
}

void inbox_set_context(struct inbox *in, struct lws_context *context)
{
    pthread_mutex_lock(&in->lock);
    in->context = context;
    pthread_mutex_unlock(&in->lock);
}

void inbox_post(struct inbox *in, struct inbox_entry *entry)
{
    entry->next = NULL;
    pthread_mutex_lock(&in->lock);
    bool was_empty = in->head == NULL;
    if (in->tail)
        in->tail->next = entry;
    else
        in->head = entry;
    in->tail = entry;
    /* One wake-up per batch of posts: the loop drains everything at once. */
    if (was_empty && in->context)
        lws_cancel_service(in->context);
    pthread_mutex_unlock(&in->lock);
}

void inbox_drain(struct inbox *in)
{
    pthread_mutex_lock(&in->lock);
    struct inbox_entry *e = in->head;
    in->head = in->tail = NULL;
    pthread_mutex_unlock(&in->lock);
    while (e) {
        struct inbox_entry *next = e->next;
        e->handle(e);
        e = next;
    }
}

void inbox_free(struct inbox *in)
{
    inbox_drain(in);
    pthread_mutex_destroy(&in->lock);
}
