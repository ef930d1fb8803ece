/* group.c: group commit for single publishes: a committer thread writes, in one transaction
 * with one notification, the publishes that gathered while its previous transaction committed,
 * and hands each to its done callback. */
#include "group.h"
#include "buf.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct group {
    struct db_pool *pool;            /* non-owning */
    pthread_t thread;                /* the committer */
    pthread_mutex_t lock;            /* guards everything below */
    pthread_cond_t arrived;          /* a message was queued while the committer was idle */
    struct group_message *queue;     /* waiting for a transaction, oldest first */
    struct group_message **tail;
    bool idle;                       /* the committer waits for arrived */
    bool stopping;                   /* group_free: finish what is queued, then end */
};

static const struct db_statement group_publish_sql = {
    "group_publish",
    "SELECT g.i, g.seq, g.status, g.error, g.time_ms, g.duplicate"
    " FROM push.publish_group($1, $2, $3, $4, $5) g",
    5,
};

static void group_fail(struct group_message *batch, size_t n)
{
    for (size_t i = 0; i < n; i++, batch = batch->next) {
        batch->status = 503;
        snprintf(batch->error, sizeof(batch->error), "database unavailable, retry later");
    }
}

/* Writes the n messages from batch in one transaction and sets their results. Called without
 * the lock; the messages are the committer's until it hands them to their done. */
static void group_commit(struct group *g, struct group_message *batch, size_t n)
{
    struct buf keys = BUF_INIT, channels = BUF_INIT, contents = BUF_INIT, senders = BUF_INIT, msgids = BUF_INIT;
    struct group_message *m = batch;
    for (size_t i = 0; i < n; i++, m = m->next) {
        db_array_add(&keys, m->key);
        db_array_add(&channels, m->channel);
        db_array_add(&contents, m->content);
        db_array_add(&senders, m->sender ? m->sender : ""); /* "" is no sender */
        db_array_add(&msgids, m->msgid);
    }
    const char *params[] = { db_array_end(&keys), db_array_end(&channels), db_array_end(&contents),
                             db_array_end(&senders), db_array_end(&msgids) };
    struct db_conn *conn = db_pool_acquire(g->pool);
    PGresult *res = conn ? db_exec(conn, &group_publish_sql, params) : NULL;
    if (!res || !db_ok(res) || PQntuples(res) != (int)n) {
        if (res)
            log_warn("group publish of %zu messages failed: %s", n,
                     db_ok(res) ? "wrong number of rows" : PQresultErrorMessage(res));
        group_fail(batch, n);
        goto out;
    }
    m = batch;
    for (size_t i = 0; i < n; i++, m = m->next) {
        m->status = atoi(PQgetvalue(res, (int)i, 2));
        if (m->status == 200) {
            m->seq = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
            m->time_ms = strtoll(PQgetvalue(res, (int)i, 4), NULL, 10);
            m->duplicate = PQgetvalue(res, (int)i, 5)[0] == 't';
        } else {
            snprintf(m->error, sizeof(m->error), "%s", PQgetvalue(res, (int)i, 3));
        }
    }
out:
    PQclear(res);
    db_pool_release(g->pool, conn);
    buf_free(&keys);
    buf_free(&channels);
    buf_free(&contents);
    buf_free(&senders);
    buf_free(&msgids);
}

/* The committer: takes what has gathered (at most GROUP_MAX, the oldest first), writes it,
 * hands each message to its done and starts over; waits only when nothing is queued. */
static void *group_run(void *arg)
{
    struct group *g = arg;
    pthread_mutex_lock(&g->lock);
    while (g->queue || !g->stopping) {
        if (!g->queue) {
            g->idle = true;
            pthread_cond_wait(&g->arrived, &g->lock);
            g->idle = false;
            continue;
        }
        struct group_message *batch = g->queue, *last = batch;
        size_t n = 1;
        while (last->next && n < GROUP_MAX) {
            last = last->next;
            n++;
        }
        g->queue = last->next;
        if (!g->queue)
            g->tail = &g->queue;
        last->next = NULL;
        pthread_mutex_unlock(&g->lock);

        group_commit(g, batch, n);
        for (struct group_message *done = batch, *next; done; done = next) {
            next = done->next;
            done->next = NULL;
            done->done(done);
        }

        pthread_mutex_lock(&g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

struct group *group_new(struct db_pool *pool)
{
    struct group *g = xcalloc(1, sizeof(*g));
    g->pool = pool;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->arrived, NULL);
    g->tail = &g->queue;
    int rc = pthread_create(&g->thread, NULL, group_run, g);
    if (rc != 0) {
        log_error("group: cannot start the committer thread: %s", strerror(rc));
        pthread_mutex_destroy(&g->lock);
        pthread_cond_destroy(&g->arrived);
        free(g);
        return NULL;
    }
    return g;
}

void group_free(struct group *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    g->stopping = true;
    pthread_cond_signal(&g->arrived);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->thread, NULL);
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->arrived);
    free(g);
}

void group_submit(struct group *g, struct group_message *m)
{
    m->next = NULL;
    pthread_mutex_lock(&g->lock);
    *g->tail = m;
    g->tail = &m->next;
    if (g->idle) {
        g->idle = false; /* one wake-up is enough */
        pthread_cond_signal(&g->arrived);
    }
    pthread_mutex_unlock(&g->lock);
}
