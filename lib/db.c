/* db.c: the one SQL access layer: connections with backoff, a pool, prepared statements, and
 * mapping database errors to HTTP statuses. */
#include "db.h"
#include "buf.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>


/* Server notices and asynchronous errors ("terminating connection") go to the log. */
static void db_log_notice(void *arg, const char *message)
{
    (void)arg;
    log_warn("database: %s", message);
}

/* Defaults for every connection, before the DSN so that the DSN's own values win: give up a
 * connect after 10 s, and notice a peer gone silent (a NAT or firewall that dropped the flow)
 * within about a minute: keepalive probes after 30 s idle, every 10 s, 3 lost = dead; data
 * unacknowledged for 60 s = dead. Unix sockets ignore the TCP ones. */
static const char *const db_default_keys[] = { "connect_timeout", "keepalives", "keepalives_idle",
                                               "keepalives_interval", "keepalives_count",
                                               "tcp_user_timeout", "dbname", NULL };
static const char *const db_default_values[] = { "10", "1", "30", "10", "3", "60000", NULL, NULL };

PGconn *db_connect(const char *dsn)
{
    const char *values[sizeof(db_default_values) / sizeof(db_default_values[0])];
    memcpy(values, db_default_values, sizeof(values));
    values[6] = dsn; /* dbname: the DSN, expanded in place */
    PGconn *pg = PQconnectdbParams(db_default_keys, values, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        log_warn("database connect failed: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, db_log_notice, NULL);
    PQsetClientEncoding(pg, "UTF8");
    return pg;
}

/* At most this many reads of what an idle connection has pending (a notice, then EOF). */
#define DB_IDLE_READS 8

bool db_idle_alive(PGconn *pg)
{
    struct pollfd pfd = { PQsocket(pg), POLLIN, 0 };
    for (int i = 0; i < DB_IDLE_READS && pfd.fd >= 0 && poll(&pfd, 1, 0) > 0; i++)
        if (!PQconsumeInput(pg))
            return false;
    return PQstatus(pg) == CONNECTION_OK;
}

int db_pool_init(struct db_pool *pool, const char *dsn, int size)
{
    if (size < 1)
        return -1;
    memset(pool, 0, sizeof(*pool));
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->available, NULL);
    pool->dsn = xstrdup(dsn);
    pool->conns = xcalloc((size_t)size, sizeof(*pool->conns));
    pool->busy = xcalloc((size_t)size, sizeof(*pool->busy));
    pool->size = size;
    pool->backoff = 0.1;
    return 0;
}

void db_conn_close(struct db_conn *conn)
{
    if (conn->pg)
        PQfinish(conn->pg);
    conn->pg = NULL;
    free(conn->prepared);
    conn->prepared = NULL;
    conn->nprepared = 0;
}

void db_pool_free(struct db_pool *pool)
{
    if (!pool->conns)
        return;
    for (int i = 0; i < pool->size; i++)
        db_conn_close(&pool->conns[i]);
    free(pool->conns);
    free(pool->busy);
    free(pool->dsn);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->available);
    memset(pool, 0, sizeof(*pool));
}

struct db_conn *db_pool_acquire(struct db_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    int slot = -1;
    for (;;) {
        for (int i = 0; i < pool->size && slot < 0; i++)
            if (!pool->busy[i] && pool->conns[i].pg)
                slot = i;
        for (int i = 0; i < pool->size && slot < 0; i++)
            if (!pool->busy[i])
                slot = i;
        if (slot >= 0)
            break;
        pthread_cond_wait(&pool->available, &pool->lock);
    }
    pool->busy[slot] = true;
    struct db_conn *conn = &pool->conns[slot];
    if (conn->pg && !db_idle_alive(conn->pg))
        db_conn_close(conn);
    if (!conn->pg) {
        /* While the database is known down, fail fast instead of every request waiting. */
        double now = clock_seconds();
        if (now < pool->retry_at) {
            pool->busy[slot] = false;
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        pthread_mutex_unlock(&pool->lock);
        PGconn *pg = db_connect(pool->dsn);
        pthread_mutex_lock(&pool->lock);
        if (!pg) {
            pool->retry_at = clock_seconds() + pool->backoff;
            pool->backoff = pool->backoff * 2 > 5 ? 5 : pool->backoff * 2;
            pool->busy[slot] = false;
            pthread_cond_signal(&pool->available);
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        pool->backoff = 0.1;
        pool->retry_at = 0;
        conn->pg = pg;
    }
    pthread_mutex_unlock(&pool->lock);
    return conn;
}

void db_pool_release(struct db_pool *pool, struct db_conn *conn)
{
    if (!conn)
        return;
    if (conn->pg && (PQstatus(conn->pg) != CONNECTION_OK ||
                     PQtransactionStatus(conn->pg) != PQTRANS_IDLE))
        db_conn_close(conn);
    pthread_mutex_lock(&pool->lock);
    pool->busy[conn - pool->conns] = false;
    pthread_cond_signal(&pool->available);
    pthread_mutex_unlock(&pool->lock);
}

static bool db_is_prepared(const struct db_conn *conn, const struct db_statement *st)
{
    for (size_t i = 0; i < conn->nprepared; i++)
        if (conn->prepared[i] == st)
            return true;
    return false;
}

/* The answer to what was sent on conn, waiting at most conn->timeout_ms; NULL when it does not
 * come in time or the connection breaks (it is closed then). */
static PGresult *db_result_within(struct db_conn *conn)
{
    double deadline = clock_seconds() + conn->timeout_ms / 1000.0;
    PGresult *res = NULL, *more;
    for (;;) {
        while (PQisBusy(conn->pg)) {
            int wait = (int)((deadline - clock_seconds()) * 1000);
            struct pollfd p = { .fd = PQsocket(conn->pg), .events = POLLIN };
            int n = wait > 0 ? poll(&p, 1, wait) : 0;
            if (n < 0 && errno == EINTR)
                continue;
            if (n > 0 && !PQconsumeInput(conn->pg)) {
                log_warn("database connection lost: %s", PQerrorMessage(conn->pg));
                PQclear(res);
                db_conn_close(conn);
                return NULL;
            }
            if (n <= 0) {
                log_warn("no answer from the database within %d ms: closing the connection", conn->timeout_ms);
                PQclear(res);
                db_conn_close(conn);
                return NULL;
            }
        }
        if (!(more = PQgetResult(conn->pg)))
            return res;
        if (res)
            PQclear(more); /* one statement: anything after its result is not wanted */
        else
            res = more;
    }
}

PGresult *db_exec(struct db_conn *conn, const struct db_statement *st, const char *const *params)
{
    if (conn->timeout_ms > 0) {
        if (!db_is_prepared(conn, st)) {
            PGresult *res = PQsendPrepare(conn->pg, st->name, st->sql, st->nparams, NULL)
                            ? db_result_within(conn) : NULL;
            if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
                log_error("prepare %s failed: %s", st->name, res ? PQresultErrorMessage(res) : "no answer");
                return res ? res : PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
            }
            PQclear(res);
            conn->prepared = xrealloc(conn->prepared, (conn->nprepared + 1) * sizeof(*conn->prepared));
            conn->prepared[conn->nprepared++] = st;
        }
        PGresult *res = PQsendQueryPrepared(conn->pg, st->name, st->nparams, params, NULL, NULL, 0)
                        ? db_result_within(conn) : NULL;
        return res ? res : PQmakeEmptyPGresult(conn->pg, PGRES_FATAL_ERROR);
    }
    if (!db_is_prepared(conn, st)) {
        PGresult *res = PQprepare(conn->pg, st->name, st->sql, st->nparams, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            log_error("prepare %s failed: %s", st->name, PQresultErrorMessage(res));
            return res;
        }
        PQclear(res);
        conn->prepared = xrealloc(conn->prepared, (conn->nprepared + 1) * sizeof(*conn->prepared));
        conn->prepared[conn->nprepared++] = st;
    }
    PGresult *res = PQexecPrepared(conn->pg, st->name, st->nparams, params, NULL, NULL, 0);
    if (!res)
        res = PQmakeEmptyPGresult(conn->pg, PGRES_FATAL_ERROR);
    return res;
}

PGresult *db_exec_simple(struct db_conn *conn, const char *sql)
{
    PGresult *res = PQexec(conn->pg, sql);
    if (!res)
        res = PQmakeEmptyPGresult(conn->pg, PGRES_FATAL_ERROR);
    return res;
}

bool db_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

int db_status(const PGresult *res, PGconn *pg)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state && state[0] == 'P' && state[1] == 'U') {
        int code = atoi(state + 2);
        if (code >= 400 && code < 600)
            return code;
    }
    if (!state || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
        strcmp(state, "53300") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0)
        return 503;
    if (pg && PQstatus(pg) != CONNECTION_OK)
        return 503;
    return 500;
}

const char *db_error_text(const PGresult *res, int status)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state && state[0] == 'P' && state[1] == 'U') {
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (msg)
            return msg;
    }
    return status == 503 ? "database unavailable, retry later" : "internal error";
}

void db_array_add(struct buf *array, const char *item)
{
    if (!item) {
        buf_puts(array, array->len ? ",NULL" : "{NULL");
        return;
    }
    buf_puts(array, array->len ? ",\"" : "{\"");
    for (const char *s = item; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_puts(array, "\\");
        buf_append(array, s, 1);
    }
    buf_puts(array, "\"");
}

const char *db_array_end(struct buf *array)
{
    buf_puts(array, array->len ? "}" : "{}");
    return buf_str(array);
}
