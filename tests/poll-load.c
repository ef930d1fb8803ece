/* poll-load.c: an HTTP/1.1 long-poll load client for the tests and bench/poll.sh: one epoll
 * loop holds, abandons or follows many polls spread over 127.0.0.x source addresses, then
 * prints one JSON line of results on stdout and one line for people on stderr. */
#define _GNU_SOURCE /* memmem */
#include "clock.h"
#include "http-response.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOAD_MAX_CONNECTING 256       /* connects in flight at once */
#define LOAD_PER_SOURCE 1000          /* connections per source address unless --sources */
#define LOAD_RETRY_NS 200000000LL     /* pause before polling again after an error or a refusal */
#define LOAD_BODY_KEY_MAX 200         /* raw bodies are summarised by their first 200 bytes */
#define NS 1000000000LL

static const char usage_text[] =
    "usage: poll-load hold URL N [--then CMD] [--settle S] [--deadline S] [--sources K]\n"
    "       poll-load abandon URL N [--wait-ms MS] [--probe URL] [--deadline S] [--sources K]\n"
    "       poll-load follow --kind push|nchan|const --poll-url-prefix URL --channel C\n"
    "                 --subscribers N [--rate R --seconds S --publish URL|CMD [--publish-key K]]\n"
    "                 [--pids PID[+],...] [--settle S] [--drain S] [--sources K]\n"
    "\n"
    "hold     N connections each send GET URL; once all are sent (and --settle S, default 0.5)\n"
    "         CMD runs through /bin/sh (its output goes to stderr) while the polls are held;\n"
    "         then every answer is awaited. Reports statuses, bodies (the contents of a JSON\n"
    "         reply's messages, else the raw body) and the time from CMD's end to each answer.\n"
    "abandon  N connections send GET URL, wait --wait-ms (200), then reset (RST) every one;\n"
    "         --probe URL then times one fresh request from a source address of its own.\n"
    "follow   N subscribers follow one channel while R messages/s are published for S\n"
    "         seconds; reports delivered, lost, duplicated and out-of-order messages, latency\n"
    "         (publish send -> receipt) and the CPU time of --pids per delivery.\n"
    "         push:  GET PREFIX&channel=C[&since=CURSOR]; publish POST URL appkey,channel,content\n"
    "         nchan: GET PREFIX<C> with If-Modified-Since/If-None-Match; publish POST URL<C>\n"
    "         const: GET PREFIX back to back for S seconds; reports requests/s and CPU per request\n"
    "         --publish CMD (not http://) runs CMD through /bin/sh with $CONTENT per message\n"
    "         (latency then counts from starting CMD).\n"
    "         --pids: PID counts the process (all its threads); PID+ adds its descendants,\n"
    "         those that exit meanwhile included.\n"
    "\n"
    "--sources K     spread connections over 127.0.0.B .. 127.0.0.B+K-1 (default: 1000 each);\n"
    "                the probe or the publisher comes from 127.0.0.B+K\n"
    "--source-base B the first source address's last byte (default 1)\n"
    "--deadline S    stop waiting for answers S seconds after the requests (hold: after CMD)\n"
    "                went out; follow: for every subscriber's first request to go out (60)\n"
    "Prints one JSON line on stdout; exits 0 when it ran, 2 on a usage error.\n";

/* ---- time ---- */

/* ---- samples: latencies in microseconds ---- */

struct samples {
    uint32_t *v;
    size_t n, cap;
};

static void samples_add(struct samples *s, int64_t ns)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (!s->v) {
            perror("poll-load");
            exit(1);
        }
    }
    int64_t us = ns < 0 ? 0 : ns / 1000;
    s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int samples_compare(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The nearest-rank percentile p (0..1) in milliseconds; 0 with no samples. Sorts s. */
static double samples_ms(struct samples *s, double p)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof(*s->v), samples_compare);
    size_t rank = (size_t)(p * (double)s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->v[rank - 1] / 1000.0;
}

/* ---- JSON report helpers (json-c writes every byte of the output) ---- */

static json_object *json_fixed(double v, int decimals)
{
    char text[64];
    snprintf(text, sizeof(text), "%.*f", decimals, v);
    return json_object_new_double_s(v, text);
}

static void json_count(json_object *map, const char *key, int64_t n)
{
    json_object *v;
    if (json_object_object_get_ex(map, key, &v))
        json_object_set_int64(v, json_object_get_int64(v) + n);
    else
        json_object_object_add(map, key, json_object_new_int64(n));
}

static json_object *json_latency(struct samples *s)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "p50", json_fixed(samples_ms(s, 0.50), 2));
    json_object_object_add(o, "p99", json_fixed(samples_ms(s, 0.99), 2));
    json_object_object_add(o, "max", json_fixed(samples_ms(s, 1.0), 2));
    return o;
}

static void json_print(json_object *report)
{
    puts(json_object_to_json_string_ext(report, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
    json_object_put(report);
}

/* ---- URLs ---- */

struct url {
    struct sockaddr_in addr;
    char host[64];   /* "127.0.0.1:8080", for the Host header */
    char *path;      /* owned: "/push/poll?..." */
};

/* Parses "http://IPV4[:PORT][/PATH]": 0, or -1 after saying why. */
static int url_parse(const char *text, struct url *u)
{
    const char *host = text + 7;
    const char *slash = strchr(host, '/');
    size_t len = slash ? (size_t)(slash - host) : strlen(host);
    char name[64];
    long port = 80;
    if (strncmp(text, "http://", 7) != 0 || len == 0 || len >= sizeof(name))
        goto bad;
    memcpy(name, host, len);
    name[len] = '\0';
    memcpy(u->host, name, len + 1);
    char *colon = strchr(name, ':');
    if (colon) {
        char *end;
        *colon = '\0';
        port = strtol(colon + 1, &end, 10);
        if (*end || port <= 0 || port > 65535)
            goto bad;
    }
    memset(&u->addr, 0, sizeof(u->addr));
    u->addr.sin_family = AF_INET;
    u->addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, strcmp(name, "localhost") == 0 ? "127.0.0.1" : name, &u->addr.sin_addr) != 1)
        goto bad;
    u->path = strdup(slash ? slash : "/");
    return u->path ? 0 : -1;
bad:
    fprintf(stderr, "poll-load: %s: not an http://IPV4[:PORT]/PATH URL\n", text);
    return -1;
}

/* ---- connections: one request at a time, kept alive when the server allows ---- */

enum conn_state { CONN_CLOSED = 0, CONN_QUEUED, CONN_CONNECTING, CONN_SENDING, CONN_WAITING, CONN_IDLE };

struct conn;
struct conn_handlers {
    void (*answer)(struct conn *c, struct http_response *r);  /* a whole response came */
    void (*fail)(struct conn *c, const char *why);            /* no answer; c is closed */
};

struct conn {
    int fd;
    enum conn_state state;
    int source;                         /* index of the source address */
    const struct url *url;              /* not owned */
    const struct conn_handlers *on;     /* not owned */
    void *owner;                        /* not owned: the subscriber or publisher */
    char *out;                          /* owned: the request */
    size_t out_len, out_sent, out_cap;
    char *in;                           /* owned: the response so far */
    size_t in_len, in_cap;
    int64_t sent_ns;                    /* when the request was written */
    int sent;                           /* requests written, all connections */
    bool reused, retried;               /* the request went out on a kept-alive connection; and again */
};

static struct {
    int epoll;
    int sources, source_base;
    int connecting;
    struct conn **queue;                /* connections waiting to open, a ring */
    size_t queue_cap, queue_head, queue_len;
    long long sent, conns_sent, errors, reconnects;
    json_object *error_kinds;           /* why -> count */
} load;

static void load_queue(struct conn *c)
{
    if (load.queue_len == load.queue_cap) {
        size_t cap = load.queue_cap ? load.queue_cap * 2 : 1024;
        struct conn **q = malloc(cap * sizeof(*q));
        if (!q) {
            perror("poll-load");
            exit(1);
        }
        for (size_t i = 0; i < load.queue_len; i++)
            q[i] = load.queue[(load.queue_head + i) % load.queue_cap];
        free(load.queue);
        load.queue = q;
        load.queue_cap = cap;
        load.queue_head = 0;
    }
    load.queue[(load.queue_head + load.queue_len++) % load.queue_cap] = c;
    c->state = CONN_QUEUED;
}

static void conn_init(struct conn *c, const struct url *url, const struct conn_handlers *on, void *owner, int source)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->url = url;
    c->on = on;
    c->owner = owner;
    c->source = source;
}

/* Formats the next request into c->out. */
static void conn_format(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_format(struct conn *c, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->out, c->out_cap, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < c->out_cap) {
            c->out_len = (size_t)n;
            c->out_sent = 0;
            return;
        }
        c->out_cap = n >= 0 ? (size_t)n + 1 : c->out_cap * 2 + 512;
        c->out = realloc(c->out, c->out_cap);
        if (!c->out) {
            perror("poll-load");
            exit(1);
        }
    }
}

/* Closes the socket; reset sends an RST instead of a FIN. */
static void conn_close(struct conn *c, bool reset)
{
    if (c->fd >= 0) {
        if (reset) {
            struct linger lg = { .l_onoff = 1, .l_linger = 0 };
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        close(c->fd);
        c->fd = -1;
    }
    if (c->state == CONN_CONNECTING)
        load.connecting--;
    c->state = CONN_CLOSED;
    c->in_len = 0;
}

static void conn_failed(struct conn *c, const char *why)
{
    /* A kept-alive connection the server closed as we reused it: send again, once. */
    if (c->state == CONN_WAITING && c->reused && !c->retried && c->in_len == 0) {
        conn_close(c, false);
        c->retried = true;
        c->out_sent = 0;
        load.reconnects++;
        load_queue(c);
        return;
    }
    load.errors++;
    json_count(load.error_kinds, why, 1);
    conn_close(c, false);
    c->on->fail(c, why);
}

static void conn_flush(struct conn *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            conn_failed(c, n < 0 ? strerror(errno) : "short write");
            return;
        }
        c->out_sent += (size_t)n;
    }
    c->state = CONN_WAITING;
    c->sent_ns = clock_ns();
    load.sent++;
    if (c->sent++ == 0)
        load.conns_sent++;
}

static void conn_open(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->state = CONN_CLOSED;
        conn_failed(c, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = 0 };
    from.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)(load.source_base + c->source));
    c->state = CONN_CONNECTING;
    load.connecting++;
    if (bind(c->fd, (struct sockaddr *)&from, sizeof(from)) != 0 ||
        (connect(c->fd, (const struct sockaddr *)&c->url->addr, sizeof(c->url->addr)) != 0 && errno != EINPROGRESS)) {
        conn_failed(c, strerror(errno));
        return;
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c };
    if (epoll_ctl(load.epoll, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        conn_failed(c, strerror(errno));
}

/* Sends the request in c->out: now on an idle kept-alive connection, else on a new one. */
static void conn_send(struct conn *c)
{
    c->out_sent = 0;
    c->retried = false;
    c->reused = c->state == CONN_IDLE;
    if (c->state == CONN_IDLE) {
        c->state = CONN_SENDING;
        conn_flush(c);
    } else if (c->state == CONN_CLOSED) {
        load_queue(c);
    }
}

static void conn_answered(struct conn *c, struct http_response *r)
{
    c->in_len = 0;
    if (r->keep_alive)
        c->state = CONN_IDLE;
    else
        conn_close(c, false);
    c->on->answer(c, r);
}

static void conn_read(struct conn *c)
{
    while (c->state == CONN_WAITING || c->state == CONN_IDLE) {
        if (c->in_cap - c->in_len < 4096) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 8192;
            c->in = realloc(c->in, c->in_cap);
            if (!c->in) {
                perror("poll-load");
                exit(1);
            }
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        struct http_response r;
        if (n > 0 && c->state == CONN_WAITING) {
            c->in_len += (size_t)n;
            int rc = http_response_parse(c->in, c->in_len, false, &r);
            if (rc < 0)
                conn_failed(c, "malformed response");
            else if (rc > 0)
                conn_answered(c, &r);
        } else if (n > 0) {
            conn_close(c, false);  /* bytes nobody asked for */
        } else if (c->state == CONN_IDLE) {
            conn_close(c, false);  /* the server ended a kept-alive connection */
        } else if (n == 0 && http_response_parse(c->in, c->in_len, true, &r) > 0) {
            conn_answered(c, &r);
        } else {
            conn_failed(c, n < 0 ? strerror(errno) : c->in_len ? "closed mid-response" : "closed before answering");
        }
    }
}

static void conn_event(struct conn *c, uint32_t events)
{
    if (c->state == CONN_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            conn_failed(c, strerror(err));
            return;
        }
        if (!(events & EPOLLOUT))
            return;
        load.connecting--;
        c->state = CONN_SENDING;
    }
    if (c->state == CONN_SENDING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        conn_flush(c);
    if ((c->state == CONN_WAITING || c->state == CONN_IDLE) && (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
        conn_read(c);
}

/* ---- the loop ---- */

static pid_t load_child;          /* a running --then or --publish command, or 0 */
static int load_child_status;

/* Starts cmd through /bin/sh with its stdout on our stderr; CONTENT in its environment when
 * content is not NULL. */
static void load_spawn(const char *cmd, const char *content)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(2, 1);
        if (content)
            setenv("CONTENT", content, 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        perror("poll-load: fork");
        load_child_status = -1;
        return;
    }
    load_child = pid;
}

/* Opens queued connections, waits up to wait_ms for events and handles them. */
static void load_step(int wait_ms)
{
    while (load.queue_len > 0 && load.connecting < LOAD_MAX_CONNECTING) {
        struct conn *c = load.queue[load.queue_head];
        load.queue_head = (load.queue_head + 1) % load.queue_cap;
        load.queue_len--;
        if (c->state == CONN_QUEUED)
            conn_open(c);
    }
    if (load.queue_len > 0 && wait_ms > 10)
        wait_ms = 10;
    if (load_child && wait_ms > 5)
        wait_ms = 5;
    struct epoll_event events[512];
    int n = epoll_wait(load.epoll, events, 512, wait_ms < 0 ? 0 : wait_ms);
    for (int i = 0; i < n; i++)
        conn_event(events[i].data.ptr, events[i].events);
    if (load_child) {
        int status;
        if (waitpid(load_child, &status, WNOHANG) == load_child) {
            load_child = 0;
            load_child_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
}

/* Waits (handling events) until done() or the monotonic time until_ns. */
static void load_run_until(int64_t until_ns, bool (*done)(void))
{
    while ((!done || !done()) && clock_ns() < until_ns) {
        int64_t left_ms = (until_ns - clock_ns()) / 1000000;
        load_step(left_ms > 50 ? 50 : (int)left_ms);
    }
}

/* ---- hold and abandon ---- */

static struct {
    struct url url, probe_url;
    int count;
    struct conn *conns;
    int64_t *answered_at;       /* owned, by connection: when its answer came, 0 before */
    long long answered, failed;
    json_object *status, *bodies;
    struct conn probe;
    int probe_status;
    int64_t probe_ns;
} hold;

/* The contents of a reply's messages as compact JSON, else the body's first 200 bytes. */
static void hold_body_key(const struct http_response *r)
{
    json_object *reply = r->status == 200 ? json_tokener_parse(r->body) : NULL;
    json_object *messages, *contents = NULL;
    if (reply && json_object_object_get_ex(reply, "messages", &messages) && json_object_is_type(messages, json_type_array)) {
        contents = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(messages); i++) {
            json_object *content;
            if (json_object_object_get_ex(json_object_array_get_idx(messages, i), "content", &content))
                json_object_array_add(contents, json_object_get(content));
        }
    }
    if (contents) {
        json_count(hold.bodies, json_object_to_json_string_ext(contents, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), 1);
    } else {
        char raw[LOAD_BODY_KEY_MAX + 1];
        size_t len = r->body_len;
        while (len > 0 && isspace((unsigned char)r->body[len - 1]))
            len--;
        http_copy(raw, sizeof(raw), r->body, len);
        json_count(hold.bodies, raw, 1);
    }
    json_object_put(contents);
    json_object_put(reply);
}

static void hold_answer(struct conn *c, struct http_response *r)
{
    char status[16];
    snprintf(status, sizeof(status), "%d", r->status);
    json_count(hold.status, status, 1);
    hold_body_key(r);
    hold.answered_at[c - hold.conns] = clock_ns();
    hold.answered++;
    conn_close(c, false);
}

static void hold_fail(struct conn *c, const char *why)
{
    hold.failed++;
}

static const struct conn_handlers hold_handlers = { hold_answer, hold_fail };

static void probe_answer(struct conn *c, struct http_response *r)
{
    hold.probe_status = r->status;
    hold.probe_ns = clock_ns() - c->sent_ns;
    conn_close(c, false);
}

static void probe_fail(struct conn *c, const char *why)
{
    hold.probe_status = -1;
}

static const struct conn_handlers probe_handlers = { probe_answer, probe_fail };

static bool hold_all_sent(void)
{
    return load.sent + hold.failed >= hold.count;
}

static bool hold_all_answered(void)
{
    return hold.answered + hold.failed >= hold.count;
}

static bool hold_probe_done(void)
{
    return hold.probe_status != 0;
}

static void hold_start(int count)
{
    hold.count = count;
    hold.conns = calloc((size_t)count, sizeof(*hold.conns));
    hold.answered_at = calloc((size_t)count, sizeof(*hold.answered_at));
    hold.status = json_object_new_object();
    hold.bodies = json_object_new_object();
    if (!hold.conns || !hold.answered_at) {
        perror("poll-load");
        exit(1);
    }
    for (int i = 0; i < count; i++) {
        struct conn *c = &hold.conns[i];
        conn_init(c, &hold.url, &hold_handlers, NULL, i % load.sources);
        conn_format(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: poll-load\r\n\r\n", hold.url.path, hold.url.host);
        conn_send(c);
    }
}

static int run_hold(const char *then, double settle, double deadline)
{
    int64_t start = clock_ns();
    hold_start(hold.count);
    load_run_until(start + (int64_t)(deadline * NS), hold_all_sent);
    int64_t sent_at = clock_ns();
    load_run_until(sent_at + (int64_t)(settle * NS), hold_all_answered);
    long long before_then = hold.answered;
    int64_t then_start = clock_ns();
    if (then) {
        load_spawn(then, NULL);
        while (load_child && clock_ns() < then_start + (int64_t)(deadline * NS))
            load_step(5);
        if (load_child) {
            kill(load_child, SIGTERM);
            waitpid(load_child, NULL, 0);
            load_child = 0;
            load_child_status = -1;
        }
    }
    int64_t then_end = clock_ns();
    long long during_then = hold.answered - before_then;
    load_run_until(then_end + (int64_t)(deadline * NS), hold_all_answered);

    struct samples after = { 0 };
    for (int i = 0; i < hold.count; i++)
        if (hold.answered_at[i])
            samples_add(&after, hold.answered_at[i] - then_end);
    json_object *report = json_object_new_object();
    json_object_object_add(report, "mode", json_object_new_string("hold"));
    json_object_object_add(report, "sent", json_object_new_int64(load.sent));
    json_object_object_add(report, "answered", json_object_new_int64(hold.answered));
    json_object_object_add(report, "unanswered", json_object_new_int64(hold.count - hold.answered - hold.failed));
    json_object_object_add(report, "status", json_object_get(hold.status));
    json_object_object_add(report, "bodies", json_object_get(hold.bodies));
    json_object_object_add(report, "errors", json_object_new_int64(load.errors));
    json_object_object_add(report, "error_kinds", json_object_get(load.error_kinds));
    json_object_object_add(report, "sources", json_object_new_int(load.sources));
    json_object_object_add(report, "send_s", json_fixed((double)(sent_at - start) / NS, 2));
    json_object_object_add(report, "then_ms", json_fixed((double)(then_end - then_start) / 1e6, 1));
    json_object_object_add(report, "then_status", json_object_new_int(then ? load_child_status : 0));
    json_object_object_add(report, "before_then", json_object_new_int64(before_then));
    json_object_object_add(report, "during_then", json_object_new_int64(during_then));
    double p50 = samples_ms(&after, 0.5), p99 = samples_ms(&after, 0.99), max = samples_ms(&after, 1);
    json_object_object_add(report, "after_then_ms", json_latency(&after));
    fprintf(stderr, "poll-load hold: %lld sent, %lld answered (%lld before CMD, %lld while it ran), %lld errors; "
            "after CMD p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
            load.sent, hold.answered, before_then, during_then, load.errors, p50, p99, max);
    json_print(report);
    free(after.v);
    return 0;
}

static int run_abandon(int wait_ms, bool probe, double deadline)
{
    int64_t start = clock_ns();
    hold_start(hold.count);
    load_run_until(start + (int64_t)(deadline * NS), hold_all_sent);
    int64_t sent_at = clock_ns();
    load_run_until(sent_at + (int64_t)wait_ms * 1000000, hold_all_answered);
    long long reset = 0;
    for (int i = 0; i < hold.count; i++) {
        struct conn *c = &hold.conns[i];
        if (c->fd >= 0) {
            conn_close(c, true);
            reset++;
        }
    }
    if (probe) {
        conn_init(&hold.probe, &hold.probe_url, &probe_handlers, NULL, load.sources);
        conn_format(&hold.probe, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: poll-load\r\n\r\n",
                    hold.probe_url.path, hold.probe_url.host);
        conn_send(&hold.probe);
        load_run_until(clock_ns() + (int64_t)(deadline * NS), hold_probe_done);
    }
    long long sent = load.sent - (probe && hold.probe.sent);
    json_object *report = json_object_new_object();
    json_object_object_add(report, "mode", json_object_new_string("abandon"));
    json_object_object_add(report, "sent", json_object_new_int64(sent));
    json_object_object_add(report, "answered_before_reset", json_object_new_int64(hold.answered));
    json_object_object_add(report, "status", json_object_get(hold.status));
    json_object_object_add(report, "reset", json_object_new_int64(reset));
    json_object_object_add(report, "errors", json_object_new_int64(load.errors));
    json_object_object_add(report, "error_kinds", json_object_get(load.error_kinds));
    json_object_object_add(report, "sources", json_object_new_int(load.sources));
    if (probe) {
        /* probe_status: the HTTP status, -1 failed, 0 no answer before the deadline */
        json_object_object_add(report, "probe_status", json_object_new_int(hold.probe_status));
        json_object_object_add(report, "probe_ms", hold.probe_status > 0 ? json_fixed((double)hold.probe_ns / 1e6, 1) : NULL);
    }
    fprintf(stderr, "poll-load abandon: %lld sent, %lld answered before the reset, %lld reset", sent,
            hold.answered, reset);
    if (probe && hold.probe_status > 0)
        fprintf(stderr, "; the probe answered %d in %.1f ms\n", hold.probe_status, (double)hold.probe_ns / 1e6);
    else if (probe)
        fprintf(stderr, "; the probe got no answer (%s)\n", hold.probe_status < 0 ? "failed" : "deadline");
    else
        fprintf(stderr, "\n");
    json_print(report);
    return 0;
}

/* ---- CPU time of the server processes, from /proc ---- */

struct cpu_proc {
    int pid, ppid;
    char name[32];
    long long own, children;   /* clock ticks: utime+stime, cutime+cstime */
};

struct cpu_usage {
    struct { char name[32]; long long ticks; } by_name[32];
    int names;
    long long ticks;
};

struct cpu_spec {
    int pid;
    bool tree;
};

static int cpu_proc_read(int pid, struct cpu_proc *p)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    unsigned long long ut, st;
    long long cut, cst;
    if (!open || !close || close < open ||
        sscanf(close + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &p->ppid, &ut, &st, &cut, &cst) != 5)
        return -1;
    p->pid = pid;
    http_copy(p->name, sizeof(p->name), open + 1, (size_t)(close - open - 1));
    p->own = (long long)(ut + st);
    p->children = cut + cst;
    return 0;
}

static void cpu_add(struct cpu_usage *u, const char *name, long long ticks)
{
    u->ticks += ticks;
    for (int i = 0; i < u->names; i++)
        if (strcmp(u->by_name[i].name, name) == 0) {
            u->by_name[i].ticks += ticks;
            return;
        }
    if (u->names < (int)(sizeof(u->by_name) / sizeof(u->by_name[0]))) {
        snprintf(u->by_name[u->names].name, sizeof(u->by_name[0].name), "%s", name);
        u->by_name[u->names++].ticks = ticks;
    }
}

/* Sums the CPU time of the processes the specs name; a tree counts every descendant and,
 * through cutime/cstime, those already gone. */
static void cpu_sample(const struct cpu_spec *specs, int nspecs, struct cpu_usage *u)
{
    memset(u, 0, sizeof(*u));
    struct cpu_proc *all = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 512;
            all = realloc(all, cap * sizeof(*all));
            if (!all) {
                perror("poll-load");
                exit(1);
            }
        }
        if (cpu_proc_read(atoi(e->d_name), &all[n]) == 0)
            n++;
    }
    if (d)
        closedir(d);
    char *mark = calloc(n ? n : 1, 1);  /* 1: counted alone, 2: counted as part of a tree */
    for (int s = 0; s < nspecs; s++)
        for (size_t i = 0; i < n; i++)
            if (all[i].pid == specs[s].pid && mark[i] != 2)
                mark[i] = specs[s].tree ? 2 : 1;
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < n; i++) {
            if (mark[i] == 2)
                continue;
            for (size_t j = 0; j < n; j++)
                if (mark[j] == 2 && all[j].pid == all[i].ppid) {
                    mark[i] = 2;
                    grew = true;
                    break;
                }
        }
    }
    for (size_t i = 0; i < n; i++)
        if (mark[i])
            cpu_add(u, all[i].name, all[i].own + (mark[i] == 2 ? all[i].children : 0));
    free(mark);
    free(all);
}

/* The CPU milliseconds from before to after, in total and by process name. */
static json_object *cpu_report(const struct cpu_usage *before, const struct cpu_usage *after, double *ms)
{
    double tick_ms = 1000.0 / (double)sysconf(_SC_CLK_TCK);
    json_object *by = json_object_new_object();
    for (int i = 0; i < after->names; i++) {
        long long was = 0;
        for (int j = 0; j < before->names; j++)
            if (strcmp(before->by_name[j].name, after->by_name[i].name) == 0)
                was = before->by_name[j].ticks;
        json_object_object_add(by, after->by_name[i].name, json_object_new_int64((int64_t)((double)(after->by_name[i].ticks - was) * tick_ms)));
    }
    *ms = (double)(after->ticks - before->ticks) * tick_ms;
    return by;
}

/* ---- follow: subscribers of one channel, a publisher, the tally ---- */

enum follow_kind { FOLLOW_PUSH, FOLLOW_NCHAN, FOLLOW_CONST };

struct sub {
    struct conn conn;
    char cursor[256];         /* push: the cursor of the last reply, empty before the first */
    char etag[128];           /* nchan: the validators of the last message */
    char last_modified[64];
    uint8_t *seen;            /* owned bitmap over message numbers */
    int distinct, max_n;
    int64_t retry_at;         /* when queued for a retry */
};

static struct {
    enum follow_kind kind;
    struct url poll_url, publish_url;
    const char *channel, *publish_cmd, *publish_key;
    int count, messages;
    double rate, seconds, settle, drain;
    struct sub *subs;
    struct sub **retry;       /* subscribers waiting to poll again, a FIFO ring */
    int retry_head, retry_len;
    bool measuring;
    long long polls, delivered, duplicated, disorder, foreign, gaps, requests;
    json_object *status;
    struct samples latency, publish_latency;
    /* the publisher: one message at a time, in order */
    struct conn pub;
    uint8_t *published;       /* owned bitmap over message numbers */
    int next, current, published_ok, publish_failed, late;
    int64_t publish_start, current_due;
    json_object *publish_status;
    struct cpu_spec *pids;
    int npids;
} follow;

static void sub_poll(struct sub *s)
{
    struct conn *c = &s->conn;
    const struct url *u = &follow.poll_url;
    if (follow.kind == FOLLOW_PUSH) {
        const char *join = strchr(u->path, '?') ? "&" : "?";
        if (s->cursor[0])
            conn_format(c, "GET %s%schannel=%s&since=%s HTTP/1.1\r\nHost: %s\r\n\r\n", u->path, join, follow.channel, s->cursor, u->host);
        else
            conn_format(c, "GET %s%schannel=%s HTTP/1.1\r\nHost: %s\r\n\r\n", u->path, join, follow.channel, u->host);
    } else if (follow.kind == FOLLOW_NCHAN) {
        if (s->etag[0] || s->last_modified[0])
            conn_format(c, "GET %s%s HTTP/1.1\r\nHost: %s\r\nIf-Modified-Since: %s\r\nIf-None-Match: %s\r\n\r\n",
                        u->path, follow.channel, u->host, s->last_modified, s->etag);
        else
            conn_format(c, "GET %s%s HTTP/1.1\r\nHost: %s\r\n\r\n", u->path, follow.channel, u->host);
    } else {
        conn_format(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", u->path, u->host);
    }
    conn_send(c);
}

static void sub_retry_later(struct sub *s)
{
    s->retry_at = clock_ns() + LOAD_RETRY_NS;
    follow.retry[(follow.retry_head + follow.retry_len++) % follow.count] = s;
}

static void follow_retry_due(void)
{
    int64_t now = clock_ns();
    while (follow.retry_len > 0 && follow.retry[follow.retry_head]->retry_at <= now) {
        struct sub *s = follow.retry[follow.retry_head];
        follow.retry_head = (follow.retry_head + 1) % follow.count;
        follow.retry_len--;
        sub_poll(s);
    }
}

/* Counts one message "k:<n>:<send ns>" received by s. */
static void sub_deliver(struct sub *s, const char *text, int64_t now)
{
    char *end;
    long long n = strtoll(text, &end, 10);
    if (end == text || *end != ':' || n < 0 || n >= follow.messages) {
        follow.foreign++;
        return;
    }
    long long sent = strtoll(end + 1, NULL, 10);
    if (s->seen[n / 8] & (1u << (n % 8))) {
        follow.duplicated++;
        return;
    }
    s->seen[n / 8] |= (uint8_t)(1u << (n % 8));
    s->distinct++;
    follow.delivered++;
    if (n < s->max_n)
        follow.disorder++;
    else
        s->max_n = (int)n;
    samples_add(&follow.latency, now - sent);
}

/* A push-poll reply: {"messages":[{..,"content":"k:..",..}],"cursor":"C:12",..,"gap":[..]}. */
static void sub_push_reply(struct sub *s, const char *body, size_t len, int64_t now)
{
    static const char content[] = "\"content\":\"k:", cursor[] = "\"cursor\":\"", gap[] = "\"gap\":[\"";
    const char *end = body + len, *p = body;
    while ((p = memmem(p, (size_t)(end - p), content, sizeof(content) - 1))) {
        p += sizeof(content) - 1;
        sub_deliver(s, p, now);
    }
    if ((p = memmem(body, len, cursor, sizeof(cursor) - 1))) {
        p += sizeof(cursor) - 1;
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (q)
            http_copy(s->cursor, sizeof(s->cursor), p, (size_t)(q - p));
    }
    if (memmem(body, len, gap, sizeof(gap) - 1))
        follow.gaps++;
}

static void sub_answer(struct conn *c, struct http_response *r)
{
    struct sub *s = c->owner;
    int64_t now = clock_ns();
    char status[16];
    snprintf(status, sizeof(status), "%d", r->status);
    json_count(follow.status, status, 1);
    follow.polls++;
    bool again = r->status == 200;
    if (follow.kind == FOLLOW_CONST) {
        if (follow.measuring && r->status == 200) {
            follow.requests++;
            samples_add(&follow.latency, now - c->sent_ns);
        }
    } else if (follow.kind == FOLLOW_PUSH) {
        if (r->status == 200)
            sub_push_reply(s, r->body, r->body_len, now);
    } else {
        if (r->status == 200 && strncmp(r->body, "k:", 2) == 0)
            sub_deliver(s, r->body + 2, now);
        if (r->status == 200 || r->status == 304) {
            snprintf(s->etag, sizeof(s->etag), "%s", r->etag);
            snprintf(s->last_modified, sizeof(s->last_modified), "%s", r->last_modified);
        }
        again = r->status == 200 || r->status == 304 || r->status == 408;
    }
    if (again)
        sub_poll(s);
    else
        sub_retry_later(s);
}

static void sub_fail(struct conn *c, const char *why)
{
    sub_retry_later(c->owner);
}

static const struct conn_handlers sub_handlers = { sub_answer, sub_fail };

static void publish_done(int n, bool ok)
{
    if (ok) {
        follow.published[n / 8] |= (uint8_t)(1u << (n % 8));
        follow.published_ok++;
    } else {
        follow.publish_failed++;
    }
    follow.current = -1;
}

static void pub_answer(struct conn *c, struct http_response *r)
{
    samples_add(&follow.publish_latency, clock_ns() - c->sent_ns);
    char status[16];
    snprintf(status, sizeof(status), "%d", r->status);
    json_count(follow.publish_status, status, 1);
    publish_done(follow.current, r->status / 100 == 2);
}

static void pub_fail(struct conn *c, const char *why)
{
    publish_done(follow.current, false);
}

static const struct conn_handlers pub_handlers = { pub_answer, pub_fail };

/* Sends the next message when it is due and the one before has been answered. */
static void publish_next(void)
{
    if (follow.current >= 0 && follow.publish_cmd && !load_child) {
        publish_done(follow.current, load_child_status == 0);
    }
    if (follow.current >= 0 || follow.next >= follow.messages)
        return;
    int64_t now = clock_ns();
    int64_t due = follow.publish_start + (int64_t)((double)follow.next * (double)NS / follow.rate);
    if (now < due)
        return;
    if (now - due > (int64_t)((double)NS / follow.rate))
        follow.late++;
    int n = follow.current = follow.next++;
    char content[64];
    snprintf(content, sizeof(content), "k:%d:%lld", n, (long long)now);
    if (follow.publish_cmd) {
        load_spawn(follow.publish_cmd, content);
        if (!load_child)
            publish_done(n, false);
        return;
    }
    struct conn *c = &follow.pub;
    const struct url *u = &follow.publish_url;
    if (follow.kind == FOLLOW_PUSH) {
        char body[512];
        int len = snprintf(body, sizeof(body), "appkey=%s&channel=%s&content=k%%3A%d%%3A%lld", follow.publish_key,
                           follow.channel, n, (long long)now);
        conn_format(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    "Content-Length: %d\r\n\r\n%s", u->path, u->host, len, body);
    } else {
        conn_format(c, "POST %s%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                    u->path, follow.channel, u->host, strlen(content), content);
    }
    conn_send(c);
}

static bool follow_subscribed(void)
{
    follow_retry_due();
    return load.conns_sent >= follow.count;
}

static bool follow_published(void)
{
    publish_next();
    follow_retry_due();
    return follow.next >= follow.messages && follow.current < 0;
}

static bool follow_drained(void)
{
    follow_retry_due();
    for (int i = 0; i < follow.count; i++)
        if (follow.subs[i].distinct < follow.published_ok)
            return false;
    return true;
}

static bool follow_tick(void)
{
    follow_retry_due();
    return false;
}

static int run_follow(double deadline)
{
    int nbytes = follow.messages / 8 + 1;
    follow.subs = calloc((size_t)follow.count, sizeof(*follow.subs));
    follow.retry = calloc((size_t)follow.count, sizeof(*follow.retry));
    follow.published = calloc((size_t)nbytes, 1);
    follow.status = json_object_new_object();
    follow.publish_status = json_object_new_object();
    follow.current = -1;
    if (!follow.subs || !follow.retry || !follow.published) {
        perror("poll-load");
        exit(1);
    }
    int64_t start = clock_ns();
    for (int i = 0; i < follow.count; i++) {
        struct sub *s = &follow.subs[i];
        conn_init(&s->conn, &follow.poll_url, &sub_handlers, s, i % load.sources);
        s->seen = calloc((size_t)nbytes, 1);
        s->max_n = -1;
        sub_poll(s);
    }
    if (follow.kind != FOLLOW_CONST && !follow.publish_cmd)
        conn_init(&follow.pub, &follow.publish_url, &pub_handlers, NULL, load.sources);
    load_run_until(start + (int64_t)(deadline * NS), follow_subscribed);
    double subscribe_s = (double)(clock_ns() - start) / NS;
    load_run_until(clock_ns() + (int64_t)(follow.settle * NS), follow_tick);

    struct cpu_usage cpu_before, cpu_after;
    struct rusage self_before, self_after;
    cpu_sample(follow.pids, follow.npids, &cpu_before);
    getrusage(RUSAGE_SELF, &self_before);
    long long polls_before = follow.polls;
    int64_t t0 = clock_ns();
    follow.measuring = true;
    double publish_s = 0;
    if (follow.kind == FOLLOW_CONST) {
        load_run_until(t0 + (int64_t)(follow.seconds * NS), follow_tick);
    } else {
        follow.publish_start = t0;
        load_run_until(t0 + (int64_t)((follow.seconds + 30) * NS), follow_published);
        publish_s = (double)(clock_ns() - t0) / NS;
        load_run_until(clock_ns() + (int64_t)(follow.drain * NS), follow_drained);
    }
    follow.measuring = false;
    int64_t t1 = clock_ns();
    cpu_sample(follow.pids, follow.npids, &cpu_after);
    getrusage(RUSAGE_SELF, &self_after);
    double window = (double)(t1 - t0) / NS;

    long long lost = 0, complete = 0;
    int *lost_by_message = calloc((size_t)follow.messages + 1, sizeof(int));
    for (int i = 0; i < follow.count; i++) {
        struct sub *s = &follow.subs[i];
        int missing = 0;
        for (int n = 0; n < follow.messages; n++)
            if ((follow.published[n / 8] & (1u << (n % 8))) && !(s->seen[n / 8] & (1u << (n % 8)))) {
                missing++;
                lost_by_message[n]++;
            }
        lost += missing;
        complete += missing == 0;
    }
    /* The first few messages anybody lost, with how many lost each: where the losses sit. */
    json_object *lost_where = json_object_new_object();
    for (int n = 0, shown = 0; n < follow.messages && shown < 5; n++)
        if (lost_by_message[n]) {
            char key[16];
            snprintf(key, sizeof(key), "%d", n);
            json_count(lost_where, key, lost_by_message[n]);
            shown++;
        }
    free(lost_by_message);
    double cpu_ms;
    json_object *by_process = cpu_report(&cpu_before, &cpu_after, &cpu_ms);
    double client_ms = (double)(self_after.ru_utime.tv_sec - self_before.ru_utime.tv_sec + self_after.ru_stime.tv_sec -
                                self_before.ru_stime.tv_sec) * 1000 +
                       (double)(self_after.ru_utime.tv_usec - self_before.ru_utime.tv_usec + self_after.ru_stime.tv_usec -
                                self_before.ru_stime.tv_usec) / 1000;
    static const char *const kinds[] = { "push", "nchan", "const" };
    json_object *report = json_object_new_object();
    json_object_object_add(report, "mode", json_object_new_string("follow"));
    json_object_object_add(report, "kind", json_object_new_string(kinds[follow.kind]));
    json_object_object_add(report, "subscribers", json_object_new_int(follow.count));
    json_object_object_add(report, "subscribe_s", json_fixed(subscribe_s, 2));
    json_object_object_add(report, "seconds", json_fixed(window, 2));
    long long units;
    if (follow.kind == FOLLOW_CONST) {
        units = follow.requests;
        json_object_object_add(report, "requests", json_object_new_int64(follow.requests));
        json_object_object_add(report, "requests_per_s", json_fixed((double)follow.requests / window, 1));
        json_object_put(lost_where);
    } else {
        units = follow.delivered;
        json_object_object_add(report, "rate", json_fixed(follow.rate, 1));
        json_object_object_add(report, "published", json_object_new_int(follow.published_ok));
        json_object_object_add(report, "publish_failed", json_object_new_int(follow.publish_failed));
        json_object_object_add(report, "publish_late", json_object_new_int(follow.late));
        json_object_object_add(report, "publish_s", json_fixed(publish_s, 2));
        json_object_object_add(report, "publish_ms", json_latency(&follow.publish_latency));
        json_object_object_add(report, "publish_status", json_object_get(follow.publish_status));
        json_object_object_add(report, "expected", json_object_new_int64((long long)follow.published_ok * follow.count));
        json_object_object_add(report, "delivered", json_object_new_int64(follow.delivered));
        json_object_object_add(report, "lost", json_object_new_int64(lost));
        json_object_object_add(report, "lost_messages", lost_where);
        json_object_object_add(report, "duplicated", json_object_new_int64(follow.duplicated));
        json_object_object_add(report, "out_of_order", json_object_new_int64(follow.disorder));
        json_object_object_add(report, "complete", json_object_new_int64(complete));
        json_object_object_add(report, "foreign", json_object_new_int64(follow.foreign));
        json_object_object_add(report, "gaps", json_object_new_int64(follow.gaps));
    }
    json_object_object_add(report, "polls", json_object_new_int64(follow.polls - polls_before));
    json_object_object_add(report, "status", json_object_get(follow.status));
    json_object_object_add(report, "errors", json_object_new_int64(load.errors));
    json_object_object_add(report, "error_kinds", json_object_get(load.error_kinds));
    json_object_object_add(report, "reconnects", json_object_new_int64(load.reconnects));
    double p50 = samples_ms(&follow.latency, 0.5), p99 = samples_ms(&follow.latency, 0.99), max = samples_ms(&follow.latency, 1);
    json_object_object_add(report, "latency_ms", json_latency(&follow.latency));
    json_object *cpu = json_object_new_object();
    json_object_object_add(cpu, "ms", json_fixed(cpu_ms, 0));
    json_object_object_add(cpu, follow.kind == FOLLOW_CONST ? "per_request_us" : "per_delivery_us",
                           json_fixed(units ? cpu_ms * 1000 / (double)units : 0, 1));
    json_object_object_add(cpu, "per_poll_us", json_fixed(follow.polls > polls_before ? cpu_ms * 1000 / (double)(follow.polls - polls_before) : 0, 1));
    json_object_object_add(cpu, "processes", by_process);
    json_object_object_add(report, "cpu", cpu);
    json_object_object_add(report, "client_cpu_ms", json_fixed(client_ms, 0));
    json_object_object_add(report, "sources", json_object_new_int(load.sources));
    if (follow.kind == FOLLOW_CONST)
        fprintf(stderr, "poll-load follow const: %d clients, %lld requests in %.1f s (%.0f/s), latency p50 %.1f ms, "
                "p99 %.1f ms, max %.1f ms, server CPU %.1f us/request, %lld errors\n",
                follow.count, follow.requests, window, (double)follow.requests / window, p50, p99, max,
                units ? cpu_ms * 1000 / (double)units : 0, load.errors);
    else
        fprintf(stderr, "poll-load follow %s: %d subscribers, %d published, %lld/%lld delivered, lost %lld, dup %lld, "
                "disorder %lld, latency p50 %.1f ms, p99 %.1f ms, max %.1f ms, server CPU %.1f us/delivery, %lld errors\n",
                kinds[follow.kind], follow.count, follow.published_ok, follow.delivered,
                (long long)follow.published_ok * follow.count, lost, follow.duplicated, follow.disorder, p50, p99, max,
                units ? cpu_ms * 1000 / (double)units : 0, load.errors);
    json_print(report);
    return 0;
}

/* ---- options ---- */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "poll-load: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text);
    return 2;
}

/* A number in [min, max] from text: 0, or -1 when it is not one. */
static int number_parse(const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "PID[+],...": 0, or -1 when malformed. */
static int pids_parse(const char *text)
{
    const char *p = text;
    while (*p) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p || pid <= 0)
            return -1;
        follow.pids = realloc(follow.pids, (size_t)(follow.npids + 1) * sizeof(*follow.pids));
        follow.pids[follow.npids].pid = (int)pid;
        follow.pids[follow.npids].tree = *end == '+';
        follow.npids++;
        p = end + (*end == '+');
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return 0;
}

/* Raises the open-files limit to the hard limit; 0 when need descriptors fit, else -1. */
static int load_limit(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)need + 32 > rl.rlim_cur) {
        fprintf(stderr, "poll-load: %ld connections need more descriptors than the limit of %llu\n", need,
                (unsigned long long)rl.rlim_cur);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    enum { OPT_SOURCES = 256, OPT_SOURCE_BASE, OPT_THEN, OPT_SETTLE, OPT_DEADLINE, OPT_WAIT_MS, OPT_PROBE, OPT_KIND,
           OPT_PREFIX, OPT_CHANNEL, OPT_SUBSCRIBERS, OPT_RATE, OPT_SECONDS, OPT_PUBLISH, OPT_PUBLISH_KEY, OPT_PIDS,
           OPT_DRAIN, OPT_HELP };
    static const struct option options[] = {
        { "sources", required_argument, NULL, OPT_SOURCES },
        { "source-base", required_argument, NULL, OPT_SOURCE_BASE },
        { "then", required_argument, NULL, OPT_THEN },
        { "settle", required_argument, NULL, OPT_SETTLE },
        { "deadline", required_argument, NULL, OPT_DEADLINE },
        { "wait-ms", required_argument, NULL, OPT_WAIT_MS },
        { "probe", required_argument, NULL, OPT_PROBE },
        { "kind", required_argument, NULL, OPT_KIND },
        { "poll-url-prefix", required_argument, NULL, OPT_PREFIX },
        { "channel", required_argument, NULL, OPT_CHANNEL },
        { "subscribers", required_argument, NULL, OPT_SUBSCRIBERS },
        { "rate", required_argument, NULL, OPT_RATE },
        { "seconds", required_argument, NULL, OPT_SECONDS },
        { "publish", required_argument, NULL, OPT_PUBLISH },
        { "publish-key", required_argument, NULL, OPT_PUBLISH_KEY },
        { "pids", required_argument, NULL, OPT_PIDS },
        { "drain", required_argument, NULL, OPT_DRAIN },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc < 2)
        return usage_error("%s", "no mode");
    const char *mode = argv[1];
    if (strcmp(mode, "hold") != 0 && strcmp(mode, "abandon") != 0 && strcmp(mode, "follow") != 0)
        return usage_error("unknown mode '%s'", mode);

    double sources = 0, source_base = 1, settle = -1, deadline = 60, wait_ms = 200, number = 0;
    const char *then = NULL, *probe = NULL, *kind = NULL, *prefix = NULL, *publish = NULL;
    follow.rate = 10;
    follow.seconds = 10;
    follow.drain = 5;
    int opt;
    while ((opt = getopt_long(argc - 1, argv + 1, "h", options, NULL)) != -1) {
        double *target = NULL, min = 0, max = 1e9;
        switch (opt) {
        case OPT_SOURCES: target = &sources, min = 1, max = 254; break;
        case OPT_SOURCE_BASE: target = &source_base, min = 1, max = 254; break;
        case OPT_SETTLE: target = &settle, max = 3600; break;
        case OPT_DEADLINE: target = &deadline, max = 86400; break;
        case OPT_WAIT_MS: target = &wait_ms, max = 3600000; break;
        case OPT_SUBSCRIBERS: target = &number, min = 1, max = 1000000; break;
        case OPT_RATE: target = &follow.rate, min = 0.01, max = 100000; break;
        case OPT_SECONDS: target = &follow.seconds, min = 0.1, max = 86400; break;
        case OPT_DRAIN: target = &follow.drain, max = 3600; break;
        case OPT_THEN: then = optarg; break;
        case OPT_PROBE: probe = optarg; break;
        case OPT_KIND: kind = optarg; break;
        case OPT_PREFIX: prefix = optarg; break;
        case OPT_CHANNEL: follow.channel = optarg; break;
        case OPT_PUBLISH: publish = optarg; break;
        case OPT_PUBLISH_KEY: follow.publish_key = optarg; break;
        case OPT_PIDS:
            if (pids_parse(optarg) < 0)
                return usage_error("--pids %s: want PID[+],...", optarg);
            break;
        case 'h':
        case OPT_HELP: fputs(usage_text, stdout); return 0;
        default: return usage_error("%s", "bad option");
        }
        if (target && number_parse(optarg, min, max, target) < 0)
            return usage_error("not a number in range: %s", optarg);
        if (opt == OPT_SUBSCRIBERS)
            follow.count = (int)number;
    }
    char **rest = argv + 1 + optind;
    int nrest = argc - 1 - optind;

    long connections;
    if (strcmp(mode, "follow") == 0) {
        if (nrest != 0)
            return usage_error("follow takes no argument '%s'", rest[0]);
        if (!kind || !prefix || !follow.channel || follow.count == 0)
            return usage_error("%s", "follow needs --kind, --poll-url-prefix, --channel and --subscribers");
        if (strspn(follow.channel, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(follow.channel))
            return usage_error("--channel %s: letters, digits, '_', '-' and '.' only", follow.channel);
        follow.kind = strcmp(kind, "push") == 0 ? FOLLOW_PUSH : strcmp(kind, "nchan") == 0 ? FOLLOW_NCHAN : FOLLOW_CONST;
        if (follow.kind == FOLLOW_CONST && strcmp(kind, "const") != 0)
            return usage_error("--kind %s: push, nchan or const", kind);
        if (url_parse(prefix, &follow.poll_url) < 0)
            return 2;
        if (follow.kind != FOLLOW_CONST) {
            if (!publish)
                return usage_error("%s", "--kind push and nchan need --publish");
            if (strncmp(publish, "http://", 7) != 0)
                follow.publish_cmd = publish;
            else if (url_parse(publish, &follow.publish_url) < 0)
                return 2;
            if (follow.kind == FOLLOW_PUSH && !follow.publish_cmd && !follow.publish_key)
                return usage_error("%s", "--kind push publishing over HTTP needs --publish-key");
            double messages = follow.rate * follow.seconds;
            if (messages < 1 || messages > 10000000)
                return usage_error("%s", "--rate times --seconds must be 1 to 10,000,000 messages");
            follow.messages = (int)(messages + 0.5);
        }
        follow.settle = settle < 0 ? 1 : settle;
        connections = follow.count + 1;
    } else {
        if (nrest != 2)
            return usage_error("%s wants URL N", mode);
        if (url_parse(rest[0], &hold.url) < 0)
            return 2;
        if (number_parse(rest[1], 1, 1000000, &number) < 0)
            return usage_error("N: not a count: %s", rest[1]);
        hold.count = (int)number;
        if (probe && url_parse(probe, &hold.probe_url) < 0)
            return 2;
        connections = hold.count + 1;
    }
    load.sources = sources > 0 ? (int)sources : (int)((connections + LOAD_PER_SOURCE - 1) / LOAD_PER_SOURCE);
    load.source_base = (int)source_base;
    if (load.source_base + load.sources + 1 > 255)
        return usage_error("%s", "--source-base plus --sources (and one for a probe or publisher) goes past 127.0.0.254");
    if (load_limit(connections) < 0)
        return 2;

    signal(SIGPIPE, SIG_IGN);
    load.epoll = epoll_create1(EPOLL_CLOEXEC);
    load.error_kinds = json_object_new_object();
    if (load.epoll < 0) {
        perror("poll-load: epoll_create1");
        return 1;
    }
    if (strcmp(mode, "hold") == 0)
        return run_hold(then, settle < 0 ? 0.5 : settle, deadline);
    if (strcmp(mode, "abandon") == 0)
        return run_abandon((int)wait_ms, probe != NULL, deadline);
    return run_follow(deadline);
}
