/* jobs.h: database work kept off the event loop: worker threads run jobs on pooled
 * connections and hand each back to the loop thread through the inbox. */
#ifndef PUSH_WS_JOBS_H
#define PUSH_WS_JOBS_H

#include <stdbool.h>

#include "db.h"
#include "inbox.h"

/* Embedded first in a job of any kind. */
struct job {
    struct inbox_entry entry;  /* used to come back to the loop */
    /* Worker thread: the work. db is NULL when the database cannot be reached (answer 503).
     * Must not touch loop-thread state. */
    void (*run)(struct job *job, struct db_conn *db);
    /* Loop thread: uses the result and frees the job. */
    void (*done)(struct job *job);
    struct job *next;          /* queue link */
};

struct jobs;

/* Creates threads worker threads drawing connections from pool (non-owning; it must outlive
 * the jobs) and posting finished jobs to inbox (non-owning). Returns NULL when no thread
 * starts. Caller jobs_free()s. */
struct jobs *jobs_new(struct db_pool *pool, struct inbox *inbox, int threads);

/* Queues a job; it comes back through done in any case. Loop thread. */
void jobs_submit(struct jobs *jobs, struct job *job);

/* Number of jobs queued or running. */
int jobs_pending(struct jobs *jobs);

/* Lets running jobs finish, runs the queued ones with db = NULL, joins the threads and frees.
 * Finished jobs are left in the inbox for the caller to drain. NULL is a no-op. */
void jobs_free(struct jobs *jobs);

#endif
