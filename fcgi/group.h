/* group.h: group commit for single publishes: the publishes that arrive while one transaction
 * commits are written together in the next (push.publish_group), with one notification, and
 * each keeps its own answer. One committer thread writes them, one transaction at a time
 * (notifying commits serialize in PostgreSQL anyway). */
#ifndef PUSH_GROUP_H
#define PUSH_GROUP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"

#define GROUP_MAX 1000 /* messages per transaction */

struct group;

/* One publish waiting for its transaction. The caller fills the inputs and owns the record. */
struct group_message {
    const char *key;           /* borrowed until group_publish returns */
    const char *channel;       /* borrowed */
    const char *content;       /* borrowed */
    const char *sender;        /* borrowed, or NULL */
    const char *msgid;         /* borrowed, or NULL: the publisher's message id */
    /* Results, set by group_publish. */
    int status;                /* 200 stored; else the HTTP status of the refusal (503: the
                                * transaction failed, nothing of it was stored) */
    int64_t seq;               /* when 200 */
    int64_t time_ms;           /* when 200: the message's time, Unix ms */
    bool duplicate;            /* when 200: msgid named a message already stored; seq and
                                * time_ms are that message's, nothing new was stored */
    char error[256];           /* when not 200: the text for the client */
    /* Private to group.c. */
    bool done;
    pthread_cond_t wake;       /* signalled when done */
    struct group_message *next;
};

/* Starts a committer thread writing through pool (non-owning; must outlive it). Returns the
 * group, or NULL when the thread cannot start. Caller group_free()s. */
struct group *group_new(struct db_pool *pool);
/* Writes what is queued, stops the thread and frees g. NULL is a no-op. No group_publish may
 * start after it is called. */
void group_free(struct group *g);

/* Publishes m with the others waiting at the same time and returns once its transaction has
 * committed or failed, with m's results set. No timer: the committer writes everything queued
 * as soon as its previous transaction ends. Thread-safe; blocks. */
void group_publish(struct group *g, struct group_message *m);

#endif
