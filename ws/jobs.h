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
    /* Worker thread: the work, on a connection (not run when the database cannot be reached:
     * status is 503 then). Must not touch loop-thread state. */
    void (*run)(struct job *job, struct db_conn *db);
    /* Loop thread: uses the result and frees the job. */
    void (*done)(struct job *job);
    const void *owner;         /* the connection it is for (cancelled when it goes), or NULL */
    int status;                /* 0, or the HTTP-style status of a failure */
    char error[200];           /* client-safe text of that failure */
    struct job *next;          /* queue link */
};

/* Records a failed statement in job (status from SQLSTATE, client-safe text) and logs it
 * when it is the server's fault. Worker thread. */
void job_fail(struct job *job, const char *what, const PGresult *res, PGconn *pg);

struct jobs;

/* Creates threads worker threads drawing connections from pool (non-owning; it must outlive
 * the jobs) and posting finished jobs to inbox (non-owning). Returns NULL when no thread
 * starts. Caller jobs_free()s. */
struct jobs *jobs_new(struct db_pool *pool, struct inbox *inbox, int threads);

/* Queues a job; it comes back through done in any case. Loop thread. */
void jobs_submit(struct jobs *jobs, struct job *job);

/* Takes the queued jobs of owner out of the queue: they are not run but come back through
 * done with status 410 (running ones finish as usual). Loop thread; NULL jobs or owner is a
 * no-op. */
void jobs_cancel(struct jobs *jobs, const void *owner);

/* Lets running jobs finish, fails the queued ones with 503, joins the threads and frees.
 * Finished jobs are left in the inbox for the caller to drain. NULL is a no-op. */
void jobs_free(struct jobs *jobs);

#endif
