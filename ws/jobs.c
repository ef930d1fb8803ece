/* jobs.c: database work kept off the event loop: worker threads run jobs on pooled
 * connections and hand each back to the loop thread through the inbox. */
#include "jobs.h"
#include "buf.h"
#include "log.h"
#include "metrics.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jobs {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *head, *tail;
    bool stopping;
    struct db_pool *pool;    /* non-owning */
    struct inbox *inbox;     /* non-owning */
    pthread_t *threads;
    int nthreads;
};

/* The entry is the job's first member. */
static void jobs_deliver(struct inbox_entry *entry)
{
    struct job *job = (struct job *)entry;
    metrics_add(METRIC_JOBS, -1);
    job->done(job);
}

void job_fail(struct job *job, const char *what, const PGresult *res, PGconn *pg)
{
    job->status = db_ok(res) ? 500 : db_status(res, pg);
    snprintf(job->error, sizeof(job->error), "%s", db_error_text(res, job->status));
    if (job->status >= 500)
        log_warn("%s failed: %s", what, db_ok(res) ? "unexpected result" : PQresultErrorMessage(res));
}

/* Runs job on db, or fails it with 503 when there is no connection. */
static void jobs_run(struct job *job, struct db_conn *db)
{
    if (db) {
        job->run(job, db);
        return;
    }
    job->status = 503;
    snprintf(job->error, sizeof(job->error), "database unavailable, retry later");
}

static void jobs_finish(struct jobs *jobs, struct job *job)
{
    job->entry.handle = jobs_deliver;
    inbox_post(jobs->inbox, &job->entry);
}

static void *jobs_worker(void *arg)
{
    struct jobs *jobs = arg;
    pthread_mutex_lock(&jobs->lock);
    for (;;) {
        while (!jobs->head && !jobs->stopping)
            pthread_cond_wait(&jobs->wake, &jobs->lock);
        if (!jobs->head)
            break;
        struct job *job = jobs->head;
        jobs->head = job->next;
        if (!jobs->head)
            jobs->tail = NULL;
        bool stopping = jobs->stopping;
        pthread_mutex_unlock(&jobs->lock);
        struct db_conn *db = stopping ? NULL : db_pool_acquire(jobs->pool);
        jobs_run(job, db);
        db_pool_release(jobs->pool, db);
        jobs_finish(jobs, job);
        pthread_mutex_lock(&jobs->lock);
    }
    pthread_mutex_unlock(&jobs->lock);
    return NULL;
}

struct jobs *jobs_new(struct db_pool *pool, struct inbox *inbox, int threads)
{
    struct jobs *jobs = xcalloc(1, sizeof(*jobs));
    pthread_mutex_init(&jobs->lock, NULL);
    pthread_cond_init(&jobs->wake, NULL);
    jobs->pool = pool;
    jobs->inbox = inbox;
    jobs->threads = xcalloc((size_t)threads, sizeof(*jobs->threads));
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&jobs->threads[i], NULL, jobs_worker, jobs) != 0) {
            log_warn("started %d of %d database threads", i, threads);
            break;
        }
        jobs->nthreads++;
    }
    if (jobs->nthreads == 0) {
        jobs_free(jobs);
        return NULL;
    }
    return jobs;
}

void jobs_submit(struct jobs *jobs, struct job *job)
{
    metrics_add(METRIC_JOBS, 1);
    job->next = NULL;
    pthread_mutex_lock(&jobs->lock);
    if (jobs->tail)
        jobs->tail->next = job;
    else
        jobs->head = job;
    jobs->tail = job;
    pthread_cond_signal(&jobs->wake);
    pthread_mutex_unlock(&jobs->lock);
}

void jobs_cancel(struct jobs *jobs, const void *owner)
{
    if (!jobs || !owner)
        return;
    struct job *cancelled = NULL, **last = &cancelled;
    pthread_mutex_lock(&jobs->lock);
    jobs->tail = NULL;
    for (struct job **p = &jobs->head; *p;) {
        struct job *job = *p;
        if (job->owner == owner) {
            *p = job->next;
            job->next = NULL;
            *last = job;
            last = &job->next;
        } else {
            jobs->tail = job;
            p = &job->next;
        }
    }
    pthread_mutex_unlock(&jobs->lock);
    while (cancelled) {
        struct job *job = cancelled;
        cancelled = job->next;
        job->status = 410;
        snprintf(job->error, sizeof(job->error), "cancelled: the connection is gone");
        jobs_finish(jobs, job);
    }
}

void jobs_free(struct jobs *jobs)
{
    if (!jobs)
        return;
    pthread_mutex_lock(&jobs->lock);
    jobs->stopping = true;
    pthread_cond_broadcast(&jobs->wake);
    pthread_mutex_unlock(&jobs->lock);
    for (int i = 0; i < jobs->nthreads; i++)
        pthread_join(jobs->threads[i], NULL);
    /* Without threads (none started) the queue is still handed back. */
    while (jobs->head) {
        struct job *job = jobs->head;
        jobs->head = job->next;
        jobs_run(job, NULL);
        jobs_finish(jobs, job);
    }
    pthread_mutex_destroy(&jobs->lock);
    pthread_cond_destroy(&jobs->wake);
    free(jobs->threads);
    free(jobs);
}
