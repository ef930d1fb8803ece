/* group.h: group commit for single publishes: the publishes that arrive while one transaction
 * commits are written together in the next (push.publish_group), with one notification, and
 * each keeps its own answer. One committer thread writes them, one transaction at a time
 * (notifying commits serialize in PostgreSQL anyway), and hands each message to its done
 * callback: nobody waits on a thread of its own. */
#ifndef PUSH_GROUP_H
#define PUSH_GROUP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"

#define GROUP_MAX 1000 /* messages per transaction */

struct group;

struct group_message;

/* Called on the committer thread once m's transaction has committed or failed, with m's
 * results set; m is the callback's from then on. It should not block for long: the next
 * transaction waits for it. */
typedef void (*group_done_fn)(struct group_message *m);

/* One publish waiting for its transaction. The caller fills the inputs and the callback; the
 * record and its strings must live until done is called (the callback frees them). */
struct group_message {
    const char *key;
    const char *channel;
    const char *content;
    const char *sender;        /* or NULL */
    const char *msgid;         /* or NULL: the publisher's message id */
    group_done_fn done;
    void *arg;                 /* the caller's */
    /* Results, set before done is called. */
    int status;                /* 200 stored; else the HTTP status of the refusal (503: the
                                * transaction failed, nothing of it was stored) */
    int64_t seq;               /* when 200 */
    int64_t time_ms;           /* when 200: the message's time, Unix ms */
    bool duplicate;            /* when 200: msgid named a message already stored; seq and
                                * time_ms are that message's, nothing new was stored */
    char error[256];           /* when not 200: the text for the client */
    /* Private to group.c. */
    struct group_message *next;
};

/* Starts a committer thread writing through pool (non-owning; must outlive it). Returns the
 * group, or NULL when the thread cannot start. Caller group_free()s. */
struct group *group_new(struct db_pool *pool);
/* Writes what is queued (calling each message's done), stops the thread and frees g. NULL is
 * a no-op. No group_submit may start after it is called. */
void group_free(struct group *g);

/* Queues m for the next transaction and returns at once; m->done is called on the committer
 * thread when m's transaction has committed or failed. No timer: the committer writes
 * everything queued as soon as its previous transaction ends. Thread-safe. */
void group_submit(struct group *g, struct group_message *m);

#endif
