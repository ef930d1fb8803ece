/* db.h: the one SQL access layer: connections with backoff, a pool, prepared statements, and
 * mapping database errors to HTTP statuses. */
#ifndef PUSH_DB_H
#define PUSH_DB_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* A statement callers declare once (static const) and run by pointer. */
struct db_statement {
    const char *name; /* unique per program */
    const char *sql;
    int nparams;
};

struct db_conn {
    PGconn *pg;                              /* owned */
    const struct db_statement **prepared;    /* owned array of borrowed pointers */
    size_t nprepared;
    int timeout_ms;                          /* > 0: db_exec waits at most this for an answer */
};

struct db_pool {
    pthread_mutex_t lock;
    pthread_cond_t available;
    char *dsn;                 /* owned */
    struct db_conn *conns;     /* owned, size entries */
    bool *busy;
    int size;
    double retry_at;           /* monotonic seconds before which connects are not tried */
    double backoff;            /* seconds, doubles up to 5 after each failed connect */
};

/* Opens a connection to dsn (a key=value string or a URI) with defaults it may override:
 * connect_timeout 10 s, TCP keepalives (idle 30 s, interval 10 s, count 3), tcp_user_timeout
 * 60 s. NULL on failure, with the libpq message logged. Caller PQfinish()es. */
PGconn *db_connect(const char *dsn);

/* Whether a connection with no query out is still up. An idle connection has nothing to read
 * unless the server is going away (a shutdown or a failover sends a notice or an error, then
 * EOF): what is pending is consumed so that the loss shows before a query is sent into it. */
bool db_idle_alive(PGconn *pg);

/* Returns 0, or -1 when size < 1. */
int db_pool_init(struct db_pool *pool, const char *dsn, int size) __attribute__((warn_unused_result));
void db_pool_free(struct db_pool *pool);

/* Waits for a free connection and makes sure it is connected. Returns it, or NULL when the
 * database cannot be reached (the caller answers 503). Give it back with db_pool_release. */
struct db_conn *db_pool_acquire(struct db_pool *pool);
/* Returns a connection; a broken one is closed and reopened on the next acquire. */
void db_pool_release(struct db_pool *pool, struct db_conn *conn);

/* Runs a statement (preparing it on this connection the first time) with text parameters
 * (NULL = SQL NULL). Never returns NULL; the caller PQclear()s the result. With
 * conn->timeout_ms set, an answer that does not come in time (a database that stopped
 * answering, a dead network) closes the connection (conn->pg NULL after) and the result is
 * an error that db_status() maps to 503. */
PGresult *db_exec(struct db_conn *conn, const struct db_statement *st, const char *const *params);

/* Runs plain SQL without parameters (for migrations and scripts). Caller PQclear()s. */
PGresult *db_exec_simple(struct db_conn *conn, const char *sql);

/* True when the result is PGRES_TUPLES_OK or PGRES_COMMAND_OK. */
bool db_ok(const PGresult *res);

/* HTTP status for a failed result: SQLSTATE PUnnn -> nnn, lost connection or server shutting
 * down -> 503, anything else -> 500. */
int db_status(const PGresult *res, PGconn *pg);

/* Client-safe text for a failed result: the message of PUnnn errors, else a generic phrase.
 * Borrowed from res or static. */
const char *db_error_text(const PGresult *res, int status);

/* The one writer of PostgreSQL array literals for text[] and bigint[] parameters:
 * db_array_add appends one element (quoted, with '"' and '\\' escaped; a NULL item is SQL
 * NULL), db_array_end closes the literal ("{}" when nothing was added) and returns it,
 * borrowed from array. */
void db_array_add(struct buf *array, const char *item);
const char *db_array_end(struct buf *array);

/* Closes the connection's PGconn and forgets its prepared statements. */
void db_conn_close(struct db_conn *conn);

#endif
