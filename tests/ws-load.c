/* ws-load.c: a WebSocket load client for the push-ws tests and benchmarks: many connections
 * from one source address, each subscribing to one channel from now and checking that every
 * message arrives exactly once and in order; prints "ready" once all are subscribed, then
 * one summary line with the fan-out latency (receive time - the message's time). With CHANNEL
 * "-" it is an Nchan WebSocket subscriber instead (the channel is in PATH, no subscribe op):
 * each text frame is a message whose content carries "seq":N (from 1) and "time":MS. */
#define _GNU_SOURCE /* memmem */
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOAD_MAX_CONNECTING 200
#define LOAD_LATENCY_BUCKETS 60001 /* 1 ms each; the last one holds anything slower */

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
    long long *latency;
    long long latency_count, latency_max;
} load;

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
        long long ms = wall_ms() - sent;
        if (ms < 0)
            ms = 0;
        load.latency[ms < LOAD_LATENCY_BUCKETS ? ms : LOAD_LATENCY_BUCKETS - 1]++;
        load.latency_count++;
        if (ms > load.latency_max)
            load.latency_max = ms;
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

static long long latency_percentile(double p)
{
    long long want = (long long)(p * (double)load.latency_count), seen = 0;
    for (int i = 0; i < LOAD_LATENCY_BUCKETS; i++) {
        seen += load.latency[i];
        if (seen > want)
            return i;
    }
    return LOAD_LATENCY_BUCKETS - 1;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: ws-load HOST PORT PATH?QUERY CHANNEL CLIENTS MESSAGES [SOURCE] [TIMEOUT]\n");
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
    load.conns = calloc((size_t)load.clients, sizeof(*load.conns));
    load.latency = calloc(LOAD_LATENCY_BUCKETS, sizeof(*load.latency));
    load.epoll = epoll_create1(0);
    double start = clock_seconds(), deadline = start + load.timeout;
    struct epoll_event events[512];
    while (load.done + load.failed < load.clients && clock_seconds() < deadline) {
        while (load.started < load.clients && load.connecting < LOAD_MAX_CONNECTING)
            conn_start(&load.conns[load.started]);
        int n = epoll_wait(load.epoll, events, 512, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c->state == CONN_CONNECTING)
                conn_connected(c);
            else if (c->state != CONN_DONE && c->state != CONN_FAILED)
                conn_read(c);
        }
    }
    long long expected = (long long)load.clients * load.messages;
    printf("clients=%d subscribed=%d complete=%d failed=%d received=%lld expected=%lld lost=%lld "
           "duplicate=%lld disorder=%lld seconds=%.2f latency_ms_p50=%lld p99=%lld max=%lld\n",
           load.clients, load.subscribed, load.done, load.failed, load.received, expected, load.lost,
           load.duplicate, load.disorder, clock_seconds() - start, latency_percentile(0.5),
           latency_percentile(0.99), load.latency_max);
    return load.received == expected && load.lost == 0 && load.duplicate == 0 && load.disorder == 0 ? 0 : 1;
}
