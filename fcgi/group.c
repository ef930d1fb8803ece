/* group.c: group commit for single publishes: one transaction and one notification for the
 * publishes that gathered while the previous transaction committed. */
#include "group.h"
#include "buf.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct group {
    struct db_pool *pool;            /* non-owning */
    pthread_mutex_t lock;            /* guards everything below and every queued message's done */
    struct group_message *queue;     /* waiting for a transaction, oldest first */
    struct group_message **tail;
    int committing;                  /* transactions being written now, at most GROUP_FLIGHTS */
};

static const struct db_statement group_publish_sql = {
    "group_publish",
    "SELECT g.i, g.seq, g.status, g.error, (extract(epoch from now()) * 1000)::bigint"
    " FROM push.publish_group($1, $2, $3, $4) g",
    4,
};

struct group *group_new(struct db_pool *pool)
{
    struct group *g = xcalloc(1, sizeof(*g));
    g->pool = pool;
    pthread_mutex_init(&g->lock, NULL);
    g->tail = &g->queue;
    return g;
}

void group_free(struct group *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->lock);
    free(g);
}

static void group_fail(struct group_message *batch, size_t n)
{
    for (size_t i = 0; i < n; i++, batch = batch->next) {
        batch->status = 503;
        snprintf(batch->error, sizeof(batch->error), "database unavailable, retry later");
    }
}

/* Writes the n messages from batch in one transaction and sets their results. Called without
 * the lock; the messages are this caller's until it marks them done. */
static void group_commit(struct group *g, struct group_message *batch, size_t n)
{
    struct buf keys = BUF_INIT, channels = BUF_INIT, contents = BUF_INIT, senders = BUF_INIT;
    struct group_message *m = batch;
    for (size_t i = 0; i < n; i++, m = m->next) {
        db_array_add(&keys, m->key);
        db_array_add(&channels, m->channel);
        db_array_add(&contents, m->content);
        db_array_add(&senders, m->sender ? m->sender : ""); /* "" is no sender */
    }
    const char *params[] = { db_array_end(&keys), db_array_end(&channels), db_array_end(&contents),
                             db_array_end(&senders) };
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
}

void group_publish(struct group *g, struct group_message *m)
{
    m->done = false;
    m->taken = false;
    m->next = NULL;
    pthread_cond_init(&m->wake, NULL);
    pthread_mutex_lock(&g->lock);
    *g->tail = m;
    g->tail = &m->next;
    while (!m->done) {
        if (m->taken || g->committing >= GROUP_FLIGHTS) {
            pthread_cond_wait(&m->wake, &g->lock);
            continue;
        }
        /* Lead: take what has gathered (at most GROUP_MAX, the oldest first; m is among them). */
        struct group_message *batch = g->queue, *last = batch;
        size_t n = 1;
        batch->taken = true;
        while (last->next && n < GROUP_MAX) {
            last = last->next;
            last->taken = true;
            n++;
        }
        g->queue = last->next;
        if (!g->queue)
            g->tail = &g->queue;
        last->next = NULL;
        g->committing++;
        pthread_mutex_unlock(&g->lock);

        group_commit(g, batch, n);

        /* Wake the batch's callers, and the oldest waiting one to lead the next batch. */
        pthread_mutex_lock(&g->lock);
        for (struct group_message *done = batch, *next; done; done = next) {
            next = done->next;
            done->done = true;
            if (done != m)
                pthread_cond_signal(&done->wake);
        }
        g->committing--;
        if (g->queue)
            pthread_cond_signal(&g->queue->wake);
    }
    pthread_mutex_unlock(&g->lock);
    pthread_cond_destroy(&m->wake);
}
