/* ws-load.c: a WebSocket load client for the push-ws tests and benchmarks: many connections
 * from one source address, each subscribing to one channel from now and checking that every
 * message arrives exactly once and in order; prints "ready" once all are subscribed, then
 * one summary line with the fan-out latency (receive time - the message's time). With CHANNEL
 * "-" it is an Nchan WebSocket subscriber instead (the channel is in PATH, no subscribe op):
 * each text frame is a message whose content carries "seq":N (from 1) and "time":MS.
 * With --publish it also publishes MESSAGES over HTTP at --rate once its own clients are
 * subscribed (CLIENTS may be 0: a publisher alone), each content carrying "us:" and its send
 * time in microseconds, which the subscribers prefer to "time" for the latency. */
#define _GNU_SOURCE /* memmem */
#include "clock.h"
#include "http-response.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOAD_MAX_CONNECTING 200
#define LOAD_NS 1000000000LL

static const char usage_text[] =
    "usage: ws-load [--publish URL [--key K] [--rate R]] HOST PORT PATH?QUERY CHANNEL CLIENTS MESSAGES\n"
    "               [SOURCE] [TIMEOUT]\n"
    "--publish URL  publish MESSAGES at R a second (default 10), one at a time, over one keep-alive\n"
    "               connection, once this process's CLIENTS are subscribed. With --key (push):\n"
    "               POST URL appkey=K&channel=CHANNEL&content=us:US; without (Nchan): POST URL\n"
    "               {\"seq\":N,\"time\":MS,\"t\":\"us:US\"}. US: the send time, microseconds.\n"
    "--samples FILE every latency in microseconds, unsigned 32-bit native integers, sorted.\n";

enum conn_state { CONN_IDLE = 0, CONN_CONNECTING, CONN_HANDSHAKE, CONN_SUBSCRIBING, CONN_OPEN, CONN_DONE, CONN_FAILED };

struct conn {
    int fd;
    enum conn_state state;
    unsigned char *in;
    size_t len, cap;
    int64_t next;       /* the seq expected next */
    int received;
};

static struct {
    const char *host, *path, *channel, *source;
    int port, clients, messages;
    double timeout;
    struct conn *conns;
    int epoll;
    int started, connecting, subscribed, done, failed;
    long long lost, duplicate, disorder, received;
    uint32_t *latency; /* microseconds, one a message received */
    size_t latency_count, latency_cap;
} load;

/* The publisher (--publish): one request in flight on one keep-alive connection. */
static struct {
    const char *key;
    char host[64], path[512];
    int port, fd;
    double rate;
    int next;           /* the message number sent next, from 1 */
    bool busy, started;
    char req[1024], in[8192];
    size_t req_len, in_len;
    int64_t start, interval;
    int ok, failed, late;
} pub = { .fd = -1, .rate = 10, .next = 1 };

static long long wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void conn_fail(struct conn *c, const char *why)
{
    if (c->state == CONN_FAILED || c->state == CONN_DONE)
        return;
    if (load.failed < 5)
        fprintf(stderr, "ws-load: connection %ld: %s\n", (long)(c - load.conns), why);
    if (c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKE)
        load.connecting--;
    c->state = CONN_FAILED;
    load.failed++;
    close(c->fd);
}

/* Sends one masked client frame (the whole frame fits a fresh socket buffer). */
static void conn_send(struct conn *c, int opcode, const void *payload, size_t len)
{
    unsigned char frame[256 + 14];
    static const unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };
    size_t n = 0;
    frame[n++] = (unsigned char)(0x80 | opcode);
    frame[n++] = (unsigned char)(0x80 | len);
    memcpy(frame + n, mask, 4);
    n += 4;
    for (size_t i = 0; i < len; i++)
        frame[n++] = ((const unsigned char *)payload)[i] ^ mask[i % 4];
    if (write(c->fd, frame, n) != (ssize_t)n)
        conn_fail(c, "short write");
}

static long long json_number(const char *text, size_t len, const char *key)
{
    const char *p = memmem(text, len, key, strlen(key));
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static bool load_nchan(void)
{
    return strcmp(load.channel, "-") == 0;
}

static void conn_text(struct conn *c, const char *text, size_t len)
{
    if (load_nchan() || memmem(text, len, "\"op\":\"message\"", 14)) {
        long long seq = json_number(text, len, "\"seq\":");
        long long sent = json_number(text, len, "\"time\":");
        if (seq < c->next) {
            load.duplicate++;
            return;
        }
        if (seq > c->next) {
            load.lost += seq - c->next;
            load.disorder++;
        }
        c->next = seq + 1;
        c->received++;
        load.received++;
        long long sent_us = json_number(text, len, "us:");
        long long us = wall_us() - (sent_us >= 0 ? sent_us : sent * 1000);
        if (load.latency_count == load.latency_cap) {
            load.latency_cap = load.latency_cap ? load.latency_cap * 2 : 65536;
            load.latency = realloc(load.latency, load.latency_cap * sizeof(*load.latency));
            if (!load.latency) {
                perror("ws-load");
                exit(2);
            }
        }
        load.latency[load.latency_count++] = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        if (c->received == load.messages) {
            c->state = CONN_DONE;
            load.done++;
            close(c->fd);
        }
    } else if (memmem(text, len, "\"op\":\"subscribed\"", 17) && c->state == CONN_SUBSCRIBING) {
        c->next = json_number(text, len, "\"seq\":") + 1;
        c->state = CONN_OPEN;
        if (++load.subscribed == load.clients) {
            printf("ready\n");
            fflush(stdout);
        }
    } else if (memmem(text, len, "\"op\":\"error\"", 12)) {
        conn_fail(c, "error frame");
    }
}

/* Consumes the complete frames in c->in. */
static void conn_frames(struct conn *c)
{
    size_t pos = 0;
    while (c->state == CONN_SUBSCRIBING || c->state == CONN_OPEN) {
        unsigned char *p = c->in + pos;
        size_t avail = c->len - pos, head = 2;
        if (avail < 2)
            break;
        uint64_t plen = p[1] & 0x7f;
        if (plen == 126) {
            head = 4;
            if (avail < head)
                break;
            plen = (uint64_t)p[2] << 8 | p[3];
        } else if (plen == 127) {
            head = 10;
            if (avail < head)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | p[2 + i];
        }
        if (avail < head + plen)
            break;
        int opcode = p[0] & 0x0f;
        if (opcode == 1)
            conn_text(c, (const char *)p + head, plen);
        else if (opcode == 9)
            conn_send(c, 10, p + head, plen < 125 ? plen : 125);
        else if (opcode == 8)
            conn_fail(c, "closed by the server");
        pos += head + plen;
    }
    memmove(c->in, c->in + pos, c->len - pos);
    c->len -= pos;
}

static void conn_read(struct conn *c)
{
    for (;;) {
        if (c->cap - c->len < 65536) {
            c->cap = c->cap ? c->cap * 2 : 131072;
            c->in = realloc(c->in, c->cap);
        }
        ssize_t n = read(c->fd, c->in + c->len, c->cap - c->len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) {
            conn_fail(c, n == 0 ? "closed" : strerror(errno));
            return;
        }
        c->len += (size_t)n;
        if (c->state == CONN_HANDSHAKE) {
            unsigned char *end = memmem(c->in, c->len, "\r\n\r\n", 4);
            if (!end)
                continue;
            if (c->len < 12 || memcmp(c->in + 9, "101", 3) != 0) {
                conn_fail(c, "handshake refused");
                return;
            }
            size_t rest = c->len - (size_t)(end + 4 - c->in);
            memmove(c->in, end + 4, rest);
            c->len = rest;
            load.connecting--;
            if (load_nchan()) {
                c->next = 1;
                c->state = CONN_OPEN;
                if (++load.subscribed == load.clients) {
                    printf("ready\n");
                    fflush(stdout);
                }
            } else {
                c->state = CONN_SUBSCRIBING;
                char sub[200];
                int len = snprintf(sub, sizeof(sub), "{\"op\":\"subscribe\",\"channel\":\"%s\"}", load.channel);
                conn_send(c, 1, sub, (size_t)len);
            }
        }
        conn_frames(c);
        if (c->state == CONN_DONE || c->state == CONN_FAILED)
            return;
    }
}

static void conn_start(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        fprintf(stderr, "ws-load: socket: %s\n", strerror(errno));
        exit(2);
    }
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
    if (load.source) {
        inet_pton(AF_INET, load.source, &addr.sin_addr);
        if (bind(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
            fprintf(stderr, "ws-load: bind %s: %s\n", load.source, strerror(errno));
            exit(2);
        }
    }
    addr.sin_port = htons((uint16_t)load.port);
    inet_pton(AF_INET, load.host, &addr.sin_addr);
    c->state = CONN_CONNECTING;
    load.connecting++;
    load.started++;
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EINPROGRESS) {
        conn_fail(c, strerror(errno));
        return;
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
    epoll_ctl(load.epoll, EPOLL_CTL_ADD, c->fd, &ev);
}

static void conn_connected(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        conn_fail(c, strerror(err));
        return;
    }
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     load.path, load.host, load.port);
    if (write(c->fd, req, (size_t)n) != n) {
        conn_fail(c, "short handshake write");
        return;
    }
    c->state = CONN_HANDSHAKE;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    epoll_ctl(load.epoll, EPOLL_CTL_MOD, c->fd, &ev);
}

static int latency_compare(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The nearest-rank percentile p (0..1) in milliseconds; 0 with no samples (sorted first). */
static double latency_percentile(double p)
{
    if (load.latency_count == 0)
        return 0;
    size_t rank = (size_t)(p * (double)load.latency_count + 0.999999);
    rank = rank < 1 ? 1 : rank > load.latency_count ? load.latency_count : rank;
    return load.latency[rank - 1] / 1000.0;
}

/* ---- the publisher ---- */

static void pub_connect(void)
{
    pub.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)pub.port) };
    inet_pton(AF_INET, pub.host, &addr.sin_addr);
    if (pub.fd < 0 || connect(pub.fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        fprintf(stderr, "ws-load: publisher connect %s:%d: %s\n", pub.host, pub.port, strerror(errno));
        exit(2);
    }
    int one = 1;
    setsockopt(pub.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(pub.fd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &pub };
    epoll_ctl(load.epoll, EPOLL_CTL_ADD, pub.fd, &ev);
    pub.in_len = 0;
}

static void pub_close(void)
{
    close(pub.fd);
    pub.fd = -1;
}

/* Writes the request in pub.req on a connection (a new one when the server ended the last). */
static void pub_write(void)
{
    if (pub.fd < 0)
        pub_connect();
    if (write(pub.fd, pub.req, pub.req_len) != (ssize_t)pub.req_len) {
        pub_close();
        pub_connect();
        if (write(pub.fd, pub.req, pub.req_len) != (ssize_t)pub.req_len) {
            fprintf(stderr, "ws-load: publisher write: %s\n", strerror(errno));
            exit(2);
        }
    }
    pub.busy = true;
}

/* Sends message pub.next once it is due. */
static void pub_tick(void)
{
    if (!pub.started || pub.busy || pub.next > load.messages)
        return;
    int64_t now = clock_ns(), due = pub.start + (int64_t)(pub.next - 1) * pub.interval;
    if (now < due)
        return;
    if (now - due > pub.interval)
        pub.late++;
    char body[256];
    long long us = wall_us();
    int n = pub.key ? snprintf(body, sizeof(body), "appkey=%s&channel=%s&content=us%%3A%lld", pub.key, load.channel, us)
                    : snprintf(body, sizeof(body), "{\"seq\":%d,\"time\":%lld,\"t\":\"us:%lld\"}", pub.next, us / 1000, us);
    pub.req_len = (size_t)snprintf(pub.req, sizeof(pub.req),
                                   "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
                                   pub.path, pub.host, pub.port,
                                   pub.key ? "application/x-www-form-urlencoded" : "application/json", n, body);
    pub.next++;
    pub_write();
}

/* Reads the answer (http_response_parse tells when it is whole). */
static void pub_read(void)
{
    for (;;) {
        ssize_t n = read(pub.fd, pub.in + pub.in_len, sizeof(pub.in) - pub.in_len - 1);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            pub_close();
            if (pub.busy && pub.in_len == 0)
                pub_write(); /* the server ended keep-alive before reading it: send it again */
            else if (pub.busy) {
                pub.busy = false;
                pub.failed++;
            }
            return;
        }
        pub.in_len += (size_t)n;
        struct http_response res;
        int parsed = http_response_parse(pub.in, pub.in_len, false, &res);
        if (parsed == 0 && pub.in_len < sizeof(pub.in) - 1)
            continue;
        if (parsed > 0 && res.status / 100 == 2)
            pub.ok++;
        else {
            if (pub.failed < 3)
                fprintf(stderr, "ws-load: publish answered %.12s\n", pub.in_len > 9 ? pub.in + 9 : "nothing readable");
            pub.failed++;
        }
        pub.busy = false;
        pub.in_len = 0;
        return;
    }
}

static bool pub_done(void)
{
    return !pub.port || (pub.next > load.messages && !pub.busy);
}

static int pub_parse(const char *url)
{
    if (strncmp(url, "http://", 7) != 0 ||
        sscanf(url + 7, "%63[^:/]:%d%511s", pub.host, &pub.port, pub.path) != 3 || pub.port <= 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "publish", 1, 0, 'p' }, { "key", 1, 0, 'k' }, { "rate", 1, 0, 'r' }, { "samples", 1, 0, 's' },
        { "help", 0, 0, 'h' },    { 0, 0, 0, 0 },
    };
    const char *samples = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            if (pub_parse(optarg) < 0) {
                fprintf(stderr, "ws-load: --publish %s: not http://HOST:PORT/PATH\n", optarg);
                return 2;
            }
            break;
        case 'k': pub.key = optarg; break;
        case 'r': pub.rate = atof(optarg); break;
        case 's': samples = optarg; break;
        default: fputs(usage_text, ch == 'h' ? stdout : stderr); return ch == 'h' ? 0 : 2;
        }
    }
    argc -= optind - 1;
    argv += optind - 1;
    if (argc < 7 || atoi(argv[5]) < 0 || atoi(argv[6]) < 1 || !(pub.rate > 0 && pub.rate <= 100000)) {
        fputs(usage_text, stderr);
        return 2;
    }
    load.host = argv[1];
    load.port = atoi(argv[2]);
    load.path = argv[3];
    load.channel = argv[4];
    load.clients = atoi(argv[5]);
    load.messages = atoi(argv[6]);
    load.source = argc > 7 && *argv[7] ? argv[7] : NULL;
    load.timeout = argc > 8 ? atof(argv[8]) : 60;
    if (pub.port && pub.key && load_nchan()) {
        fprintf(stderr, "ws-load: --key publishes to push: CHANNEL is the channel, not -\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    pub.interval = (int64_t)((double)LOAD_NS / pub.rate);
    load.conns = calloc((size_t)load.clients + 1, sizeof(*load.conns));
    load.epoll = epoll_create1(0);
    double start = clock_seconds(), deadline = start + load.timeout;
    struct epoll_event events[512];
    while ((load.done + load.failed < load.clients || !pub_done()) && clock_seconds() < deadline) {
        while (load.started < load.clients && load.connecting < LOAD_MAX_CONNECTING)
            conn_start(&load.conns[load.started]);
        if (pub.port && !pub.started && load.subscribed == load.clients) {
            pub.started = true;
            pub.start = clock_ns();
        }
        pub_tick();
        int wait_ms = 100;
        if (pub.started && !pub.busy && pub.next <= load.messages) {
            int64_t left = pub.start + (int64_t)(pub.next - 1) * pub.interval - clock_ns();
            wait_ms = left <= 0 ? 0 : (int)(left / 1000000) + 1 < 100 ? (int)(left / 1000000) + 1 : 100;
        }
        int n = epoll_wait(load.epoll, events, 512, wait_ms);
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == &pub) {
                pub_read();
                continue;
            }
            struct conn *c = events[i].data.ptr;
            if (c->state == CONN_CONNECTING)
                conn_connected(c);
            else if (c->state != CONN_DONE && c->state != CONN_FAILED)
                conn_read(c);
        }
    }
    long long expected = (long long)load.clients * load.messages;
    qsort(load.latency, load.latency_count, sizeof(*load.latency), latency_compare);
    if (samples) {
        FILE *f = fopen(samples, "wb");
        if (!f || fwrite(load.latency, sizeof(*load.latency), load.latency_count, f) != load.latency_count ||
            fclose(f) != 0) {
            fprintf(stderr, "ws-load: %s: %s\n", samples, strerror(errno));
            return 2;
        }
    }
    printf("clients=%d subscribed=%d complete=%d failed=%d received=%lld expected=%lld lost=%lld "
           "duplicate=%lld disorder=%lld seconds=%.2f latency_ms_p50=%.3f p99=%.3f max=%.3f",
           load.clients, load.subscribed, load.done, load.failed, load.received, expected, load.lost,
           load.duplicate, load.disorder, clock_seconds() - start, latency_percentile(0.5),
           latency_percentile(0.99), latency_percentile(1));
    if (pub.port)
        printf(" published=%d publish_failed=%d publish_late=%d", pub.ok, pub.failed, pub.late);
    printf("\n");
    bool published = !pub.port || (pub.ok == load.messages && pub.failed == 0);
    return load.received == expected && load.lost == 0 && load.duplicate == 0 && load.disorder == 0 && published ? 0 : 1;
}
