/* server.h: one sidecar worker process: the libwebsockets loop, its protocol callback, the
 * poller, database jobs, channels and clients, and shutdown on SIGTERM. */
#ifndef PUSH_WS_SERVER_H
#define PUSH_WS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "inbox.h"
#include "list.h"

/* The WebSocket close code of a connection whose user was kicked (pushctl kick). */
#define SERVER_CLOSE_KICKED 4001

struct channels;
struct client;
struct jobs;
struct lws;
struct lws_context;
struct lws_vhost;
struct poller;

struct server {
    const struct config *cfg;     /* non-owning */
    int worker;                   /* 0-based worker index */
    struct lws_context *context;  /* owned */
    struct lws_vhost *vhost;      /* the context's only vhost */
    int listen_fd;                /* this worker's listening socket (the loop closes its copy) */
    struct lws *listener;         /* listen_fd adopted into the loop, NULL once closed */
    bool accept_paused;           /* out of descriptors: accepting resumes at the next tick */
    long fd_budget;               /* descriptors client connections may bring the process to */
    long fd_counted;              /* descriptors open at fd_counted_at ... */
    long fd_accepted;             /* ... plus connections accepted since */
    double fd_counted_at;         /* monotonic seconds */
    struct db_pool pool;          /* shared by the poller and the jobs */
    struct db_conn lookup;        /* the loop's own connection for key lookups and metrics */
    double lookup_retry_at;       /* monotonic seconds before which it is not reconnected */
    bool lookup_connecting;       /* a database thread is connecting it */
    struct inbox inbox;
    struct jobs *jobs;            /* owned */
    struct poller *poller;        /* owned */
    struct channels *channels;    /* owned */
    struct list clients;          /* every open connection, on client.link (non-owning) */
    size_t nclients;
    struct client *presence_dirty;/* clients whose presence must be written (each held) */
    struct client *closing;       /* clients client_close() marked (each held): their
                                     subscriptions and queue go after the current callback */
    int depth;                    /* nesting of server_callback: closing is flushed at 0 */
    time_t presence_at;           /* when every present client was last touched */
    time_t keepalive_at;          /* when idle SSE streams last got a comment line */
    int ws_hangup;                /* seconds without a frame or pong before a WebSocket is
                                     dropped: ws_idle_timeout, at least ws_ping_interval + 5 */
    double notify_usage;          /* pg_notification_queue_usage() as last read, or -1 */
    time_t usage_at;              /* when it was last asked for */
    bool usage_reading;           /* a read is in flight */
    uint64_t next_serial;         /* for subscriptions */
    size_t pending_bytes;         /* request bytes of the clients' operations in flight */
    struct buf scratch;           /* where a connection's next write is put together */
    bool stopping;                /* SIGTERM seen: clients are being closed */
    bool done;                    /* leave the loop */
};

/* Serves connections accepted from listen_fd (this worker's listening socket; siblings have
 * their own on the same port) until SIGTERM/SIGINT. Returns the process exit status. */
int server_run(const struct config *cfg, int worker, int listen_fd);

/* The loop's connection for key lookups at the handshake; NULL while it is being connected
 * (by a database thread, never on the loop) or the database is unreachable (retried after a
 * pause). */
struct db_conn *server_lookup_conn(struct server *server);

/* Writes a complete HTTP response on wsi (inside its HTTP callback) and ends the transaction.
 * Returns 0 to keep the connection, -1 to close it. */
int server_http_reply(struct lws *wsi, int status, const char *content_type, const char *body, size_t len);

#endif
