/* server.c: one sidecar worker process: the libwebsockets loop, its protocol callback, the
 * poller, database jobs, channels and clients, and shutdown on SIGTERM. */
#define _GNU_SOURCE /* accept4 */
#include "server.h"
#include "app.h"
#include "channel.h"
#include "client.h"
#include "mask.h"
#include "clock.h"
#include "handshake.h"
#include "jobs.h"
#include "kick.h"
#include "log.h"
#include "metrics.h"
#include "ops.h"
#include "poller.h"
#include "presence.h"
#include "reply.h"
#include "sse.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

/* Seconds SIGTERM waits for clients to take their close frame. */
#define SERVER_STOP_GRACE 4
/* Longest wait of the loop for a key lookup's answer: past it, the handshake gets 503 and
 * the connection is made anew (by a database thread). */
#define SERVER_LOOKUP_TIMEOUT_MS 1000
/* Seconds between reconnects of the lookup connection while the database is down. */
#define SERVER_LOOKUP_RETRY 2.0
/* A client message is received in pieces of this size, reassembled in the client's rx buffer
 * (lws allocates it per connection, so it is most of an idle subscriber's memory: client ops
 * are short). */
#define SERVER_RX_CHUNK 1024
/* Bytes of request line and headers lws keeps per HTTP request (its default is 4096). */
#define SERVER_HEADER_BYTES 16384
/* Descriptors kept free of client connections besides db_pool (libpq, the listener, lws's
 * own, logs, /proc reads). */
#define SERVER_FD_RESERVE 32
/* Seconds between readings of pg_notification_queue_usage() for the metrics. */
#define SERVER_USAGE_EVERY 5
/* Seconds between counts of the open descriptors while connections are accepted. */
#define SERVER_FD_RECOUNT 0.1
/* Connections taken per wake-up of the listening socket. */
#define SERVER_ACCEPT_BURST 16
/* Kernel send buffer per connection (doubled by Linux). Bounded, so that a reader that stops
 * fills its ws_queue soon and memory per connection stays small; autotuning could let one
 * stalled connection hold megabytes. */
#define SERVER_SEND_BUFFER (128 * 1024)

/* Per-connection data lws allocates with the wsi. */
struct session {
    struct client *client;      /* owned through the connection's reference; NULL until served */
    struct client_hello hello;  /* from the handshake until ESTABLISHED */
};

static atomic_bool server_stop_requested;
static lws_sorted_usec_list_t server_tick_timer;
static lws_sorted_usec_list_t server_stop_timer;
static struct server *server_current;  /* the process's server, for the timers */

/* Connects the lookup connection on a database thread and hands it to the loop. */
struct lookup_job {
    struct job job;
    struct server *server;
    PGconn *pg;               /* owned until handed over */
};

/* Connects to dsn; the connection is then used on the event loop, where a stuck query must
 * not hold it long. NULL when the database cannot be reached. */
static PGconn *server_lookup_connect(const char *dsn)
{
    PGconn *pg = db_connect(dsn);
    if (pg)
        PQclear(PQexec(pg, "SET statement_timeout = 1000")); /* SERVER_LOOKUP_TIMEOUT_MS */
    return pg;
}

static void server_lookup_run(struct job *job, struct db_conn *db)
{
    (void)db;
    struct lookup_job *j = (struct lookup_job *)job;
    j->pg = server_lookup_connect(j->server->cfg->dsn);
}

static void server_lookup_done(struct job *job)
{
    struct lookup_job *j = (struct lookup_job *)job;
    struct server *server = j->server;
    server->lookup_connecting = false;
    if (j->pg && !server->lookup.pg && !server->stopping) {
        server->lookup.pg = j->pg;
    } else {
        if (j->pg)
            PQfinish(j->pg);
        server->lookup_retry_at = clock_seconds() + SERVER_LOOKUP_RETRY;
    }
    free(j);
}

struct db_conn *server_lookup_conn(struct server *server)
{
    struct db_conn *db = &server->lookup;
    if (db->pg && !db_idle_alive(db->pg))
        db_conn_close(db);
    if (db->pg)
        return db;
    if (!server->lookup_connecting && !server->stopping && server->jobs && clock_seconds() >= server->lookup_retry_at) {
        struct lookup_job *j = xcalloc(1, sizeof(*j));
        j->job.run = server_lookup_run;
        j->job.done = server_lookup_done;
        j->server = server;
        server->lookup_connecting = true;
        jobs_submit(server->jobs, &j->job);
    }
    return NULL;
}

int server_http_reply(struct lws *wsi, int status, const char *content_type, const char *body, size_t len)
{
    unsigned char headers[LWS_PRE + 512], *start = headers + LWS_PRE, *p = start;
    unsigned char *end = headers + sizeof(headers) - 1;
    if (lws_add_http_common_headers(wsi, (unsigned int)status, content_type, len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        (status == 503 && lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                                      (const unsigned char *)"5", 1, &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    unsigned char *copy = xmalloc(LWS_PRE + len + 1);
    memcpy(copy + LWS_PRE, body, len);
    int wrote = lws_write(wsi, copy + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
    free(copy);
    if (wrote < (int)len)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int server_http_error(struct lws *wsi, int status, const char *content)
{
    struct json_object *obj = reply_object(status, content);
    struct buf body = BUF_INIT;
    reply_serialize(obj, &body);
    json_object_put(obj);
    int rc = server_http_reply(wsi, status, "application/json; charset=utf-8", buf_str(&body), body.len);
    buf_free(&body);
    return rc;
}

/* Copies the poller's counters into this worker's metrics slot. */
static void server_poller_metrics(struct server *server)
{
    struct poller_stats st;
    poller_get_stats(server->poller, &st);
    metrics_set(METRIC_LISTENER_RECONNECTS, (int64_t)st.reconnects);
    metrics_set(METRIC_NOTIFICATIONS, (int64_t)st.notifications);
}

/* pg_notification_queue_usage(), read by a database thread for the metrics page (which so
 * never waits for PostgreSQL). */
struct usage_job {
    struct job job;
    struct server *server;
    double usage;
};

static void server_usage_run(struct job *job, struct db_conn *db)
{
    struct usage_job *j = (struct usage_job *)job;
    PGresult *res = db_exec_simple(db, "SELECT pg_notification_queue_usage()");
    if (db_ok(res) && PQntuples(res) == 1)
        j->usage = strtod(PQgetvalue(res, 0, 0), NULL);
    else
        job_fail(job, "reading the notification queue usage", res, db->pg);
    PQclear(res);
}

static void server_usage_done(struct job *job)
{
    struct usage_job *j = (struct usage_job *)job;
    j->server->usage_reading = false;
    j->server->notify_usage = j->job.status ? -1 : j->usage;
    free(j);
}

/* Asks for a fresh reading every SERVER_USAGE_EVERY seconds. */
static void server_usage_refresh(struct server *server, time_t now)
{
    if (server->usage_reading || server->stopping || now - server->usage_at < SERVER_USAGE_EVERY)
        return;
    struct usage_job *j = xcalloc(1, sizeof(*j));
    j->job.run = server_usage_run;
    j->job.done = server_usage_done;
    j->server = server;
    server->usage_reading = true;
    server->usage_at = now;
    jobs_submit(server->jobs, &j->job);
}

static int server_metrics(struct server *server, struct lws *wsi)
{
    server_poller_metrics(server);
    struct buf body = BUF_INIT;
    metrics_format(&body, server->notify_usage);
    int rc = server_http_reply(wsi, 200, "text/plain; version=0.0.4; charset=utf-8", buf_str(&body), body.len);
    buf_free(&body);
    return rc;
}

/* Descriptors this process has open: counted in /proc/self/fd (at most every
 * SERVER_FD_RECOUNT seconds), plus the connections accepted since (never less than the truth,
 * as long as the other threads keep within SERVER_FD_RESERVE and db_pool). */
static long server_descriptors(struct server *server)
{
    /* The estimate is never below the truth, so it is counted anew only when it reaches the
     * budget: reading /proc/self/fd costs as much as the descriptors open. */
    double now = clock_seconds();
    bool over = server->fd_counted_at == 0 || server->fd_counted + server->fd_accepted > server->fd_budget;
    if (over && now - server->fd_counted_at >= SERVER_FD_RECOUNT) {
        DIR *dir = opendir("/proc/self/fd");
        if (!dir)
            return LONG_MAX; /* out of descriptors already, or no /proc: take nobody more */
        long n = 0;
        while (readdir(dir))
            n++;
        closedir(dir);
        server->fd_counted = n - 3; /* ".", ".." and the directory's own descriptor */
        server->fd_accepted = 0;
        server->fd_counted_at = now;
    }
    return server->fd_counted + server->fd_accepted;
}

/* Answers a connection taken over the descriptor budget with 429 and closes it, unread. */
static void server_refuse_fd(int fd)
{
    static const char body[] = "{\"code\":429,\"content\":\"too many connections: the sidecar is at its limit\"}";
    char reply[512];
    int len = snprintf(reply, sizeof(reply),
                       "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=utf-8\r\n"
                       "Cache-Control: no-store\r\nRetry-After: 5\r\nConnection: close\r\n"
                       "Content-Length: %zu\r\n\r\n%s", sizeof(body) - 1, body);
    /* A fresh socket takes this at once; what the client sent is read first so that closing
     * does not reset the connection before the reply is read. */
    char discard[4096];
    while (recv(fd, discard, sizeof(discard), MSG_DONTWAIT) > 0)
        ;
    ssize_t n = send(fd, reply, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;
    shutdown(fd, SHUT_WR);
    close(fd);
    metrics_add(METRIC_REFUSED, 1);
}

/* The listening socket is readable: accepts what is waiting (a few at a time, between other
 * work) and hands each connection to lws, or refuses it with 429 when client connections
 * have used the descriptor budget (so that the process never reaches EMFILE, and its
 * database connections and the listener always find a descriptor). */
static void server_accept(struct server *server)
{
    for (int i = 0; i < SERVER_ACCEPT_BURST; i++) {
        int fd = accept4(server->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors: stop polling the socket until the next tick. */
                log_warn("accept: %s; pausing new connections for a second", strerror(errno));
                lws_rx_flow_control(server->listener, 0);
                server->accept_paused = true;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
                log_warn("accept: %s", strerror(errno));
            }
            return;
        }
        server->fd_accepted++;
        if (server_descriptors(server) > server->fd_budget) {
            log_info("refused a connection: %ld descriptors open, the budget is %ld", server_descriptors(server),
                     server->fd_budget);
            server_refuse_fd(fd);
            /* Its descriptor is free again, but counting it stays on the safe side. */
            continue;
        }
        int size = SERVER_SEND_BUFFER;
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) != 0)
            log_debug("SO_SNDBUF: %s", strerror(errno));
        /* On failure lws has closed fd already: closing it again could close a descriptor
         * another thread has opened since under the same number. */
        if (!lws_adopt_socket_vhost(server->vhost, fd))
            log_warn("cannot take a new connection into the loop");
    }
}

static int server_http(struct server *server, struct lws *wsi, struct session *ss, const char *path)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
        return server_http_error(wsi, 405, "method: only GET is served here");
    if (strcmp(path, "/push/ws/metrics") == 0) {
        /* For the operator's scraper on the sidecar's own port, not for the public behind the
         * web server (which adds X-Forwarded-For). */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR) > 0)
            return server_http_error(wsi, 403, "metrics are served on the sidecar's own port only");
        return server_metrics(server, wsi);
    }
    if (strcmp(path, "/push/sse") != 0)
        return server_http_error(wsi, 404, "not found: the sidecar serves /push/ws, /push/sse and /push/ws/metrics");
    if (server->stopping)
        return server_http_error(wsi, 503, "shutting down, retry later");
    int close = 0;
    struct client *c = sse_start(server, wsi, &close);
    if (!c) {
        /* The error reply ended the transaction: ss may be gone already. */
        metrics_add(METRIC_REFUSED, 1);
        return close ? -1 : 0;
    }
    ss->client = c;
    return 0;
}

/* LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: the WebSocket handshake is accepted or refused
 * here, before the upgrade reply. */
static int server_filter(struct server *server, struct lws *wsi, struct session *ss)
{
    char path[64], err[300];
    int status = 0;
    if (server->stopping) {
        status = 503;
        snprintf(err, sizeof(err), "shutting down, retry later");
    } else if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0 ||
               (strcmp(path, "/push/ws") != 0 && strcmp(path, "/push/ws/") != 0)) {
        status = 404;
        snprintf(err, sizeof(err), "not found: WebSocket is served on /push/ws");
    } else {
        struct params q = PARAMS_INIT;
        status = handshake_query(wsi, &q, err, sizeof(err));
        if (status == 0)
            status = handshake_check(server, wsi, &q, &ss->hello, err, sizeof(err));
        params_free(&q);
    }
    if (status == 0)
        return 0;
    log_info("refused WebSocket from %s: %d %s", ss->hello.addr[0] ? ss->hello.addr : "?", status, err);
    metrics_add(METRIC_REFUSED, 1);
    handshake_refuse(wsi, status, err);
    return -1;
}

static int server_receive(struct client *c, struct lws *wsi, const void *in, size_t len)
{
    if (c->close_status)
        return 0;
    if (mask_violated(lws_get_socket_fd(wsi))) {
        static const char reason[] = "frames from a client must be masked";
        log_info("client %s: closed: an unmasked frame", c->hello.addr);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, (unsigned char *)reason, sizeof(reason) - 1);
        return -1;
    }
    if (c->rx.len + len > (size_t)c->server->cfg->ws_max_frame) {
        static const char reason[] = "message too large";
        log_info("client %s: closed: a message over %d bytes", c->hello.addr, c->server->cfg->ws_max_frame);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)reason, sizeof(reason) - 1);
        return -1;
    }
    buf_append(&c->rx, in, len);
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return 0;
    if (lws_frame_is_binary(wsi))
        client_send_error(c, NULL, 400, "binary messages are not accepted: send JSON text", NULL);
    else
        ops_handle(c, buf_str(&c->rx), c->rx.len);
    buf_free(&c->rx); /* ops are rare: an idle subscriber keeps no buffer */
    return 0;
}

static void server_stop_deadline(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    if (server_current->nclients)
        log_warn("stopping: %zu connections did not close in time", server_current->nclients);
    server_current->done = true;
}

/* SIGTERM: every client is closed with 1001 (going away); the loop ends once they are gone. */
static void server_begin_stop(struct server *server)
{
    server->stopping = true;
    log_info("stopping: closing %zu connections", server->nclients);
    /* New connections wait in the socket's queue for the next start. */
    if (server->listener)
        lws_set_timeout(server->listener, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    for (struct list_link *l = server->clients.first; l; l = l->next) {
        struct client *c = LINK_ENTRY(l, struct client, link);
        client_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
    }
    presence_clear(server);
    if (server->nclients == 0)
        server->done = true;
    else
        lws_sul_schedule(server->context, 0, &server_stop_timer, server_stop_deadline,
                         SERVER_STOP_GRACE * LWS_US_PER_SEC);
}

static void server_tick(lws_sorted_usec_list_t *sul)
{
    struct server *server = server_current;
    time_t now = time(NULL);
    channels_sweep(server->channels, now);
    presence_tick(server, now);
    server_poller_metrics(server);
    server_usage_refresh(server, now);
    /* A lookup connection the database dropped (a restart, a failover) is replaced now, in
     * the background, rather than by the next handshake, which would get 503 meanwhile. */
    metrics_set(METRIC_LOOKUP_CONNECTED, server_lookup_conn(server) != NULL);
    if (server->accept_paused && server->listener) {
        server->accept_paused = false;
        lws_rx_flow_control(server->listener, 1);
    }
    if (now - server->keepalive_at >= server->cfg->ws_ping_interval) {
        server->keepalive_at = now;
        sse_keepalive(server);
    }
    sse_reap_closed(server);
    for (struct list_link *l = server->clients.first; l; l = l->next) {
        struct client *c = LINK_ENTRY(l, struct client, link);
        if (c->kind == CLIENT_WEBSOCKET)
            client_keepalive(c, now);
    }
    lws_sul_schedule(server->context, 0, sul, server_tick, LWS_US_PER_SEC);
}

static int server_handle(struct server *server, struct lws *wsi, enum lws_callback_reasons reason,
                         struct session *ss, void *in, size_t len);

/* A kicked user, handed from the poller thread to the loop. */
struct server_kick {
    struct inbox_entry entry;
    int app_id;
    char user[VALIDATE_USER_MAX + 1];
};

/* Loop thread: closes every WebSocket and SSE connection of the kicked user (claimed or not). */
static void server_kick_handle(struct inbox_entry *entry)
{
    struct server_kick *k = (struct server_kick *)entry;
    int closed = 0;
    for (struct list_link *l = server_current->clients.first; l; l = l->next) {
        struct client *c = LINK_ENTRY(l, struct client, link);
        if (c->hello.app_id == k->app_id && strcmp(c->hello.user, k->user) == 0 && c->wsi && !c->close_status) {
            log_info("client %s (%s): closed: user %s kicked", c->hello.addr, c->hello.id[0] ? c->hello.id : "-",
                     k->user);
            client_close(c, SERVER_CLOSE_KICKED, "kicked");
            closed++;
        }
    }
    if (closed)
        log_info("kick: closed %d connections of user %s of app %d", closed, k->user, k->app_id);
    free(k);
}

/* Poller callback (push_kick): records the kick (kick.h) and asks the loop to close the user's
 * connections. */
static void server_on_kick(const char *payload)
{
    struct server_kick *k = xcalloc(1, sizeof(*k));
    if (!kick_notified(payload, &k->app_id, k->user, sizeof(k->user))) {
        free(k);
        return;
    }
    k->entry.handle = server_kick_handle;
    inbox_post(&server_current->inbox, &k->entry);
}

/* Every lws callback: handled, then (outside any nested callback) the clients closed meanwhile
 * drop what they held, after every pass over clients and subscriptions is done. */
static int server_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct server *server = server_current;
    server->depth++;
    int rc = server_handle(server, wsi, reason, user, in, len);
    if (--server->depth == 0)
        client_free_closing(server);
    return rc;
}

static int server_handle(struct server *server, struct lws *wsi, enum lws_callback_reasons reason,
                         struct session *ss, void *in, size_t len)
{
    void *user = ss;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        inbox_drain(&server->inbox);
        if (atomic_load(&server_stop_requested) && !server->stopping)
            server_begin_stop(server);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return server_filter(server, wsi, ss);
    case LWS_CALLBACK_ESTABLISHED:
        mask_watch(lws_get_socket_fd(wsi));
        ss->client = client_new(server, wsi, CLIENT_WEBSOCKET, &ss->hello);
        ss->hello.info = NULL; /* the client's now */
        ss->client->address_counted = metrics_address_acquire(ss->hello.addr);
        if (server->stopping)
            client_close(ss->client, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
        log_debug("client %s (%s) connected", ss->hello.addr, ss->hello.id[0] ? ss->hello.id : "anonymous");
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!ss->client)
            return -1;
        client_heard(ss->client, time(NULL));
        return server_receive(ss->client, wsi, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        if (ss->client)
            client_heard(ss->client, time(NULL));
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return ss && ss->client ? client_write(ss->client) : 0;
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_CLOSED_HTTP:
        mask_forget(lws_get_socket_fd(wsi));
        if (ss) { /* a handshake that never became a client */
            free(ss->hello.info);
            ss->hello.info = NULL;
        }
        if (ss && ss->client) {
            client_detach(ss->client);
            ss->client = NULL;
            if (server->stopping && server->nclients == 0)
                server->done = true;
        }
        return 0;
    case LWS_CALLBACK_HTTP:
        return server_http(server, wsi, ss, in);
    case LWS_CALLBACK_RAW_RX_FILE:
        if (wsi == server->listener)
            server_accept(server);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (wsi == server->listener)
            server->listener = NULL;
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols server_protocols[] = {
    /* lws sends at most tx_packet_size (else rx_buffer_size) bytes per write: one batch of
     * frames (client_write) goes out in one. */
    { "push", server_callback, sizeof(struct session), SERVER_RX_CHUNK, 0, NULL, CLIENT_WRITE_BYTES },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void server_lws_log(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    log_write(level == LLL_ERR ? LOG_LEVEL_ERROR : level == LLL_WARN ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG,
              "lws: %.*s", (int)n, line);
}

static void *server_signals(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    log_info("signal %d: shutting down", sig);
    atomic_store(&server_stop_requested, true);
    lws_cancel_service(server_current->context);
    return NULL;
}

static struct lws_context *server_context(const lws_retry_bo_t *retry)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    /* Connections come from the shared listening socket (server_accept), not from lws. */
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = server_protocols;
    info.vhost_name = "push-ws";
    info.server_string = "push-ws";
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.retry_and_idle_policy = retry;
    info.timeout_secs = 10;
    info.keepalive_timeout = 5;
    info.max_http_header_pool = 256;
    /* Room for a query with the longest JWT and the usual headers; a request beyond it is
     * dropped by lws without a reply. */
    info.max_http_header_data = SERVER_HEADER_BYTES;
    info.gid = -1;
    info.uid = -1;
    return lws_create_context(&info);
}

int server_run(const struct config *cfg, int worker, int listen_fd)
{
    struct server server_storage, *server = &server_storage;
    memset(server, 0, sizeof(*server));
    server->cfg = cfg;
    server->ws_hangup = cfg->ws_idle_timeout > cfg->ws_ping_interval ? cfg->ws_idle_timeout : cfg->ws_ping_interval + 5;
    server->worker = worker;
    server->listen_fd = listen_fd;
    server->notify_usage = -1;
    server_current = server;
    metrics_attach(worker);
    app_cache_init(cfg->app_cache_ttl);
    struct rlimit rl;
    long limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)LONG_MAX ? (long)rl.rlim_cur : LONG_MAX;
    server->fd_budget = limit - SERVER_FD_RESERVE - cfg->db_pool;
    if (server->fd_budget < 1) {
        log_error("the open-files limit %ld leaves no descriptor for connections (db_pool %d + %d kept free)",
                  limit, cfg->db_pool, SERVER_FD_RESERVE);
        return 1;
    }
    if (cfg->ws_max_per_address >= server->fd_budget)
        log_warn("ws_max_per_address %d is not below the %ld connections the open-files limit allows:"
                 " one address can take them all", cfg->ws_max_per_address, server->fd_budget);

    /* Only the signal thread takes SIGTERM/SIGINT; every other thread starts with them blocked. */
    static sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    lws_set_log_level(log_enabled(LOG_LEVEL_DEBUG) ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR, server_lws_log);
    /* No idle policy for lws (its default would ping after 300 s): client_keepalive() pings
     * and drops idle WebSocket connections. */
    const lws_retry_bo_t retry = { .secs_since_valid_hangup = 0 };
    int status = 1;
    if (db_pool_init(&server->pool, cfg->dsn, cfg->db_pool) < 0)
        return 1;
    inbox_init(&server->inbox);
    server->channels = channels_new(server);
    server->context = server_context(&retry);
    server->vhost = server->context ? lws_get_vhost_by_name(server->context, "push-ws") : NULL;
    lws_sock_file_fd_type listen_desc = { .filefd = listen_fd };
    server->listener = server->vhost ? lws_adopt_descriptor_vhost(server->vhost, LWS_ADOPT_RAW_FILE_DESC,
                                                                  listen_desc, "push", NULL) : NULL;
    if (!server->listener) {
        log_error("cannot start the event loop");
        goto out;
    }
    inbox_set_context(&server->inbox, server->context);
    pthread_t signal_thread;
    if (pthread_create(&signal_thread, NULL, server_signals, &stop_signals) != 0) {
        log_error("cannot start the signal thread");
        goto out;
    }
    pthread_detach(signal_thread);
    server->poller = poller_new(cfg->dsn, &server->pool);
    if (server->poller) {
        poller_on_app_change(server->poller, app_cache_clear); /* a revoked key stops at once */
        poller_on_kick(server->poller, server_on_kick);         /* so does a kicked user */
        poller_set_liveness(server->poller, cfg->listener_idle, cfg->listener_timeout);
    }
    if (!server->poller || poller_start(server->poller) < 0) {
        log_error("cannot start the poller");
        goto out;
    }
    server->jobs = jobs_new(&server->pool, &server->inbox, cfg->db_pool);
    if (!server->jobs) {
        log_error("cannot start database threads");
        goto out;
    }
    /* Before serving (a database down now makes handshakes 503 until a thread reconnects). */
    server->lookup.pg = server_lookup_connect(cfg->dsn);
    server->lookup.timeout_ms = SERVER_LOOKUP_TIMEOUT_MS;
    server_usage_refresh(server, time(NULL));
    lws_sul_schedule(server->context, 0, &server_tick_timer, server_tick, LWS_US_PER_SEC);
    log_info("worker %d serving ws://%s:%d/push/ws and /push/sse", worker, cfg->ws_bind, cfg->ws_port);

    mask_loop_thread();
    while (!server->done)
        if (lws_service(server->context, 0) < 0)
            break;
    status = 0;
out:
    server->stopping = true;
    inbox_set_context(&server->inbox, NULL);
    if (server->context)
        lws_context_destroy(server->context); /* closes what is left: CLOSED callbacks run */
    server->context = NULL;
    jobs_free(server->jobs);                  /* their results come back through the inbox */
    inbox_drain(&server->inbox);
    client_free_closing(server);
    presence_clear(server);
    channels_free(server->channels);          /* unwatches every channel */
    poller_free(server->poller);
    inbox_free(&server->inbox);
    db_conn_close(&server->lookup);
    db_pool_free(&server->pool);
    buf_free(&server->scratch);
    log_info("worker %d stopped", worker);
    return status;
}
