/* gateway.c: the FastCGI side of a program: accept loop on worker threads, request parsing,
 * reply writing, signals. */
#include "gateway.h"
#include "buf.h"
#include "log.h"
#include "options.h"
#include "validate.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


static const struct gateway_program *gateway_prog;
static int gateway_socket;
static atomic_bool gateway_shutdown;
/* Requests being served; once closed is set none starts (shutdown waits for busy to be 0). */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int busy;
    bool closed;
} gateway_serving = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false };
static gateway_preflight_handler gateway_preflight;

void gateway_set_preflight(gateway_preflight_handler handler)
{
    gateway_preflight = handler;
}

bool gateway_stopping(void)
{
    return atomic_load(&gateway_shutdown);
}

static bool method_allowed(const char *methods, const char *method)
{
    size_t n = strlen(method);
    for (const char *s = methods; *s;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (len == n && strncmp(s, method, n) == 0)
            return true;
        if (!comma)
            break;
        s = comma + 1;
    }
    return false;
}

/* Reads the body and the query string into req->params. Returns 0, or an HTTP status with
 * the reason in err. */
static int gateway_read_request(FCGX_Request *fr, struct request *req, char *err, size_t errlen)
{
    const char *uri = FCGX_GetParam("REQUEST_URI", fr->envp);
    if (!uri)
        uri = FCGX_GetParam("SCRIPT_NAME", fr->envp);
    if (!uri)
        uri = "/";
    size_t plen = strcspn(uri, "?");
    if (plen >= sizeof(req->path))
        plen = sizeof(req->path) - 1;
    memcpy(req->path, uri, plen);
    req->path[plen] = '\0';
    req->method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
    if (!req->method)
        req->method = "GET";
    req->origin = FCGX_GetParam("HTTP_ORIGIN", fr->envp);
    req->referer = FCGX_GetParam("HTTP_REFERER", fr->envp);
    req->remote_addr = FCGX_GetParam("REMOTE_ADDR", fr->envp);

    const char *qs = FCGX_GetParam("QUERY_STRING", fr->envp);
    int parsed = qs ? params_parse_urlencoded(&req->params, qs, strlen(qs), err, errlen) : 0;
    if (parsed < 0)
        return parsed == PARAMS_TOO_LARGE ? 413 : 400;
    /* "Authorization: Bearer <token>" is one more token value (Apache needs it passed on:
     * conf/README.md). */
    const char *auth = FCGX_GetParam("HTTP_AUTHORIZATION", fr->envp);
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *bearer = auth + 7;
        while (*bearer == ' ')
            bearer++;
        parsed = *bearer ? params_add_checked(&req->params, "token", 5, bearer, strlen(bearer), err, errlen) : 0;
        if (parsed < 0)
            return parsed == PARAMS_TOO_LARGE ? 413 : 400;
    }

    const char *cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
    long long length = 0;
    if (cl && *cl && !validate_int(cl, 0, INT64_MAX, &length)) {
        snprintf(err, errlen, "body: bad Content-Length");
        return 400;
    }
    if (length > GATEWAY_MAX_BODY) {
        snprintf(err, errlen, "body: larger than %d bytes", GATEWAY_MAX_BODY);
        return 413;
    }
    if (length > 0) {
        char *body = xmalloc((size_t)length + 1);
        int got = FCGX_GetStr(body, (int)length, fr->in);
        if (got != length) {
            free(body);
            snprintf(err, errlen, "body: shorter than its Content-Length");
            return 400;
        }
        body[length] = '\0';
        int rc = params_parse_body(&req->params, FCGX_GetParam("CONTENT_TYPE", fr->envp), body,
                                   (size_t)length, err, errlen);
        free(body);
        if (rc < 0)
            return rc == PARAMS_TOO_LARGE ? 413 : 400;
    }
    return 0;
}

/* Appends the CGI response head of reply: status, headers and, when the body is complete,
 * its Content-Length (a body that follows later goes without). */
static void gateway_head(struct buf *head, const struct reply *reply, bool with_length)
{
    buf_printf(head, "Status: %d\r\n%s", reply->status, buf_str(&reply->headers));
    if (with_length)
        buf_printf(head, "Content-Length: %zu\r\n", reply->body.len);
    buf_puts(head, "\r\n");
}

static void gateway_write_reply(FCGX_Request *fr, const struct reply *reply)
{
    /* FCGX_FPrintF knows no %zu: format the head here. */
    struct buf head = BUF_INIT;
    gateway_head(&head, reply, true);
    FCGX_PutStr(head.data, (int)head.len, fr->out);
    buf_free(&head);
    if (strcmp(FCGX_GetParam("REQUEST_METHOD", fr->envp) ?: "GET", "HEAD") != 0)
        FCGX_PutStr(reply->body.data ? reply->body.data : "", (int)reply->body.len, fr->out);
}

/* Seconds shutdown waits for the requests in flight. */
#define GATEWAY_STOP_WAIT 5

/* A held request's answer must not wait on a stuck web server forever. */
#define GATEWAY_HELD_SEND_TIMEOUT 10

struct gateway_held *gateway_hold(struct request *req, struct reply *reply)
{
    FCGX_Request *fr = req->fcgx;
    /* Consume the input to its end (the empty stdin record), so that anything readable on
     * the connection from now on means the web server hung up or aborted the request. */
    while (FCGX_GetChar(fr->in) != EOF)
        ;
    if (FCGX_GetError(fr->in) != 0 || fr->ipcFd < 0)
        return NULL;
    struct gateway_held *held = xcalloc(1, sizeof(*held));
    held->reply = *reply;
    *reply = (struct reply)REPLY_INIT;
    snprintf(held->callback, sizeof(held->callback), "%s", req->callback ? req->callback : "");
    snprintf(held->remote_addr, sizeof(held->remote_addr), "%s", req->remote_addr ? req->remote_addr : "");
    held->head = strcmp(req->method, "HEAD") == 0;
    held->fd = fr->ipcFd;
    held->request_id = fr->requestId;
    struct timeval tv = { GATEWAY_HELD_SEND_TIMEOUT, 0 };
    if (setsockopt(held->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        log_debug("held request: SO_SNDTIMEO: %s", strerror(errno));
    req->held = true;
    /* The held record is the descriptor and what was copied above: libfcgi's buffers and
     * parameters go now (the answer is written as FastCGI records by gateway_answer). The
     * strings of req are freed with them: the handler must not use them after this. */
    return held;
}

/* Appends one FastCGI record of type with content, padded to 8 bytes. */
static void gateway_record(struct buf *out, int type, int request_id, const char *content, size_t len)
{
    size_t padding = (8 - len % 8) % 8;
    unsigned char header[8] = { FCGI_VERSION_1, (unsigned char)type, (unsigned char)(request_id >> 8),
                                (unsigned char)request_id, (unsigned char)(len >> 8),
                                (unsigned char)len, (unsigned char)padding, 0 };
    static const char zeros[8];
    buf_append(out, header, sizeof(header));
    buf_append(out, content, len);
    buf_append(out, zeros, padding);
}

/* Appends data as stdout records of at most 65535 bytes each. */
static void gateway_stdout(struct buf *out, int request_id, const char *data, size_t len)
{
    while (len > 0) {
        size_t n = len > 65535 ? 65535 : len;
        gateway_record(out, FCGI_STDOUT, request_id, data, n);
        data += n;
        len -= n;
    }
}

/* Writes all of out to fd. Returns 0, or -1 (the peer is gone or stuck past the send timeout). */
static int gateway_write_all(int fd, const struct buf *out)
{
    for (size_t done = 0; done < out->len;) {
        ssize_t n = write(fd, out->data + done, out->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            log_debug("held request: answer not sent: %s", n < 0 ? strerror(errno) : "short write");
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

int gateway_start_answer(struct gateway_held *held)
{
    struct buf head = BUF_INIT, out = BUF_INIT;
    gateway_head(&head, &held->reply, false);
    gateway_stdout(&out, held->request_id, head.data, head.len);
    int rc = gateway_write_all(held->fd, &out);
    held->headers_sent = true;
    buf_free(&head);
    buf_free(&out);
    return rc;
}

void gateway_answer(struct gateway_held *held)
{
    struct buf head = BUF_INIT, out = BUF_INIT;
    if (!held->headers_sent) {
        gateway_head(&head, &held->reply, true);
        gateway_stdout(&out, held->request_id, head.data, head.len);
    }
    if (!held->head)
        gateway_stdout(&out, held->request_id, held->reply.body.data, held->reply.body.len);
    gateway_record(&out, FCGI_STDOUT, held->request_id, "", 0);
    static const char complete[8] = { 0, 0, 0, 0, FCGI_REQUEST_COMPLETE, 0, 0, 0 };
    gateway_record(&out, FCGI_END_REQUEST, held->request_id, complete, sizeof(complete));
    if (gateway_write_all(held->fd, &out) < 0)
        log_debug("held request from %s: the answer was not delivered", held->remote_addr);
    buf_free(&head);
    buf_free(&out);
    gateway_drop(held);
}

void gateway_drop(struct gateway_held *held)
{
    close(held->fd);
    reply_free(&held->reply);
    free(held);
}

/* Serves one request. Returns true when a handler held it (fr now belongs to the holder). */
static bool gateway_serve(FCGX_Request *fr)
{
    struct request req;
    memset(&req, 0, sizeof(req));
    req.fcgx = fr;
    struct reply reply = REPLY_INIT;
    char err[256] = "";
    int status = gateway_read_request(fr, &req, err, sizeof(err));

    /* The callback is validated before anything else so a bad one is never reflected. */
    const char *callback = params_get(&req.params, "callback");
    bool is_get = strcmp(req.method, "GET") == 0 || strcmp(req.method, "HEAD") == 0;
    if (status == 0 && callback && is_get) {
        if (!validate_callback(callback)) {
            status = 400;
            snprintf(err, sizeof(err), "callback: must match ^[A-Za-z_$][A-Za-z0-9_$.]{0,63}$");
        } else {
            req.callback = callback;
        }
    }

    const struct gateway_route *route = NULL;
    for (size_t i = 0; i < gateway_prog->nroutes; i++)
        if (strcmp(gateway_prog->routes[i].path, req.path) == 0)
            route = &gateway_prog->routes[i];

    if (status) {
        reply_error(&reply, status, err, NULL);
    } else if (!route) {
        reply_error(&reply, 404, "no such endpoint", req.callback);
    } else if (strcmp(req.method, "OPTIONS") == 0) {
        if (gateway_preflight) {
            gateway_preflight(&req, &reply);
        } else {
            reply.status = 204;
            reply_header(&reply, "Cache-Control", "no-store");
        }
    } else if (!method_allowed(route->methods, is_get ? "GET" : req.method)) {
        reply_header(&reply, "Allow", route->methods);
        reply_error(&reply, 405, "method not allowed", req.callback);
    } else {
        route->handler(&req, &reply);
    }
    if (!req.held) {
        log_debug("%s %s -> %d", req.method, req.path, reply.status);
        gateway_write_reply(fr, &reply);
    }
    reply_free(&reply);
    params_free(&req.params);
    return req.held;
}

static void *gateway_worker(void *arg)
{
    (void)arg;
    FCGX_Request *fr = NULL;
    while (!gateway_stopping()) {
        if (!fr) {
            /* A fresh request record: the last one was handed to a holder. */
            fr = xmalloc(sizeof(*fr));
            if (FCGX_InitRequest(fr, gateway_socket, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
                log_error("FCGX_InitRequest failed");
                free(fr);
                return NULL;
            }
        }
        /* Every idle worker waits in accept() itself: Linux hands each connection to one of
         * them, so no mutex passes the turn from thread to thread (a wake-up per request). */
        int rc = gateway_stopping() ? -1 : FCGX_Accept_r(fr);
        if (rc < 0)
            break;
        pthread_mutex_lock(&gateway_serving.lock);
        bool closed = gateway_serving.closed;
        if (!closed)
            gateway_serving.busy++;
        pthread_mutex_unlock(&gateway_serving.lock);
        if (closed) {
            /* Accepted while shutting down: closed unanswered (the web server sees it fail). */
            FCGX_Finish_r(fr);
            break;
        }
        if (gateway_serve(fr)) {
            /* Held: the holder owns the descriptor; libfcgi's buffers go now. */
            FCGX_Free(fr, 0);
            free(fr);
            fr = NULL;
        } else {
            /* With the input read to its end nothing is left unread when the connection
             * closes, so it closes at once: libfcgi would otherwise linger until the web
             * server closes its side, a round trip per request on this thread. */
            while (FCGX_GetChar(fr->in) != EOF)
                ;
            if (FCGX_Detach(fr) < 0)
                log_debug("FCGX_Detach: no connection");
            FCGX_Finish_r(fr);
        }
        pthread_mutex_lock(&gateway_serving.lock);
        if (--gateway_serving.busy == 0)
            pthread_cond_broadcast(&gateway_serving.idle);
        pthread_mutex_unlock(&gateway_serving.lock);
    }
    if (fr) {
        FCGX_Free(fr, 1);
        free(fr);
    }
    return NULL;
}

static void gateway_usage(const struct gateway_program *p)
{
    printf("Usage: %s [--config FILE] [--socket PATH|HOST:PORT] [--threads N]\n"
           "%s\n\n"
           "Without --socket it serves the FastCGI socket on descriptor 0, as lighttpd\n"
           "and Apache mod_fcgid pass it. Endpoints:\n",
           p->name, p->summary);
    for (size_t i = 0; i < p->nroutes; i++)
        printf("  %-6s %s\n", p->routes[i].methods, p->routes[i].path);
    printf("\n");
    config_print_keys();
}

static void gateway_on_signal(int sig)
{
    (void)sig;
    atomic_store(&gateway_shutdown, true);
}

/* The options of gateway_main beside the common ones. */
struct gateway_options {
    const struct gateway_program *program;
    const char *socket_path;
    long long threads;
};

static void gateway_options_usage(void *arg)
{
    gateway_usage(((struct gateway_options *)arg)->program);
}

static int gateway_options_take(void *arg, int opt, const char *value)
{
    struct gateway_options *o = arg;
    if (opt == 's') {
        o->socket_path = value;
    } else if (!validate_int(value, 1, 4096, &o->threads)) {
        fprintf(stderr, "%s: --threads must be 1..4096\n", o->program->name);
        return 2;
    }
    return 0;
}

int gateway_main(const struct gateway_program *program, int argc, char **argv)
{
    static const struct option options[] = {
        { "socket", required_argument, NULL, 's' },
        { "threads", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    struct gateway_options o = { program, NULL, 0 };
    const struct options_spec spec = {
        program->name, options, "s:t:", gateway_options_usage, gateway_options_take, &o,
    };
    const char *config_path;
    int rc = options_parse(&spec, argc, argv, &config_path);
    if (rc >= 0)
        return rc;
    const char *socket_path = o.socket_path;
    long long threads = o.threads;
    gateway_prog = program;
    struct config cfg;
    if (config_start(&cfg, program->name, config_path) < 0)
        return 1;
    if (threads)
        cfg.threads = (int)threads;

    if (FCGX_Init() != 0) {
        log_error("FCGX_Init failed");
        return 1;
    }
    gateway_socket = 0;
    if (socket_path) {
        gateway_socket = FCGX_OpenSocket(socket_path, 1024);
        if (gateway_socket < 0) {
            log_error("cannot listen on %s: %s", socket_path, strerror(errno));
            return 1;
        }
    }
    if (program->start && program->start(&cfg) < 0)
        return 1;

    /* SIGTERM/SIGINT without SA_RESTART so a blocked accept returns. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = gateway_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Workers never take the signals: main waits for them. */
    sigset_t stop_signals, old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (program->thread_stack)
        pthread_attr_setstacksize(&attr, program->thread_stack);
    int started = 0;
    for (int i = 0; i < cfg.threads; i++) {
        pthread_t tid;
        if (pthread_create(&tid, &attr, gateway_worker, NULL) != 0) {
            log_warn("started %d of %d threads: %s", started, cfg.threads, strerror(errno));
            break;
        }
        pthread_detach(tid);
        started++;
    }
    pthread_attr_destroy(&attr);
    if (started == 0)
        return 1;
    log_info("serving with %d threads%s%s", started, socket_path ? " on " : "",
             socket_path ? socket_path : "");

    /* The signals stay blocked between the check and the wait: none can slip in unseen. */
    sigset_t wait_mask = old_mask;
    sigdelset(&wait_mask, SIGTERM);
    sigdelset(&wait_mask, SIGINT);
    while (!gateway_stopping())
        sigsuspend(&wait_mask);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    log_info("shutting down");
    pthread_mutex_lock(&gateway_serving.lock);
    gateway_serving.closed = true;
    pthread_mutex_unlock(&gateway_serving.lock);
    if (program->stop)
        program->stop();
    /* Let requests in flight finish their reply (long-polls are woken by stop()). */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += GATEWAY_STOP_WAIT;
    pthread_mutex_lock(&gateway_serving.lock);
    while (gateway_serving.busy > 0 &&
           pthread_cond_timedwait(&gateway_serving.idle, &gateway_serving.lock, &until) == 0)
        ;
    int busy = gateway_serving.busy;
    pthread_mutex_unlock(&gateway_serving.lock);
    FCGX_ShutdownPending();
    if (busy > 0) {
        log_warn("%d requests still running after %d s: exiting without freeing", busy, GATEWAY_STOP_WAIT);
        return 0;
    }
    if (program->finish)
        program->finish();
    log_info("stopped");
    return 0;
}
