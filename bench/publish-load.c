/* publish-load.c: an HTTP/1.1 publish load client for bench/compare: one epoll loop keeps N
 * keep-alive connections each with one publish in flight, spread over many channels, for some
 * seconds; prints one JSON line of results on stdout and one line for people on stderr. */
#include "clock.h"
#include "http-response.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define LOAD_BUF 65536

static const char usage_text[] =
    "usage: publish-load --port P [--path /push/publish] [--kind push|nchan] [--key K]\n"
    "                    [--connections N] [--seconds S] [--channels C] [--size B] [--batch M]\n"
    "push:  POST PATH appkey=K&channel=bench-I&content=.. (or with --batch M > 1 a JSON body\n"
    "       {appkey, messages: [M x {channel, content}]})\n"
    "nchan: POST PATH/bench-I with the content as the body\n"
    "Channels bench-0 .. bench-(C-1) in turn, contents of B bytes; 2xx answers count.\n";

struct load_conn {
    int fd;
    char in[LOAD_BUF];
    size_t in_len;
    char *out;            /* the request being sent, owned */
    size_t out_len, out_sent;
    int64_t sent_at;
};

static struct {
    int port;
    const char *path, *kind, *key;
    int connections, seconds, channels, size, batch;
} opt = { 0, "/push/publish", "push", "", 32, 5, 1000, 64, 1 };

static uint64_t next_channel, answered, messages, failed;
static int64_t *latencies;
static size_t nlatencies, cap_latencies;

static void die(const char *what)
{
    fprintf(stderr, "publish-load: %s: %s\n", what, strerror(errno));
    exit(1);
}

static char *content_text(void)
{
    static char *text;
    if (!text) {
        text = malloc((size_t)opt.size + 1);
        for (int i = 0; i < opt.size; i++)
            text[i] = (char)('a' + i % 26);
        text[opt.size] = '\0';
    }
    return text;
}

/* Builds the next request into c->out. */
static void load_request(struct load_conn *c)
{
    size_t body_cap = (size_t)opt.batch * ((size_t)opt.size + 64) + strlen(opt.key) + 256;
    char *body = malloc(body_cap), *req = malloc(body_cap + 512);
    int n = 0;
    char target[300];
    if (strcmp(opt.kind, "nchan") == 0) {
        snprintf(target, sizeof(target), "%s/bench-%llu", opt.path, (unsigned long long)(next_channel++ % (uint64_t)opt.channels));
        n = snprintf(body, body_cap, "%s", content_text());
    } else if (opt.batch > 1) {
        snprintf(target, sizeof(target), "%s", opt.path);
        n = snprintf(body, body_cap, "{\"appkey\":\"%s\",\"messages\":[", opt.key);
        for (int i = 0; i < opt.batch; i++)
            n += snprintf(body + n, body_cap - (size_t)n, "%s{\"channel\":\"bench-%llu\",\"content\":\"%s\"}",
                          i ? "," : "", (unsigned long long)(next_channel++ % (uint64_t)opt.channels), content_text());
        n += snprintf(body + n, body_cap - (size_t)n, "]}");
    } else {
        snprintf(target, sizeof(target), "%s", opt.path);
        n = snprintf(body, body_cap, "appkey=%s&channel=bench-%llu&content=%s", opt.key,
                     (unsigned long long)(next_channel++ % (uint64_t)opt.channels), content_text());
    }
    const char *type = strcmp(opt.kind, "push") == 0 && opt.batch > 1 ? "application/json"
                                                                      : "application/x-www-form-urlencoded";
    int h = snprintf(req, body_cap + 512, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
                     "Content-Length: %d\r\n\r\n%s", target, type, n, body);
    free(body);
    free(c->out);
    c->out = req;
    c->out_len = (size_t)h;
    c->out_sent = 0;
    c->in_len = 0;
    c->sent_at = clock_ns();
}

static int load_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
        die("connect");
    return fd;
}

/* Replaces c's connection with a new one and sends its request again from the start. */
static void load_reconnect(int ep, struct load_conn *c)
{
    close(c->fd);
    c->fd = load_connect();
    c->out_sent = 0;
    c->in_len = 0;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "port", 1, 0, 'p' }, { "path", 1, 0, 'P' }, { "kind", 1, 0, 'k' }, { "key", 1, 0, 'K' },
        { "connections", 1, 0, 'c' }, { "seconds", 1, 0, 's' }, { "channels", 1, 0, 'C' },
        { "size", 1, 0, 'b' }, { "batch", 1, 0, 'm' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': opt.port = atoi(optarg); break;
        case 'P': opt.path = optarg; break;
        case 'k': opt.kind = optarg; break;
        case 'K': opt.key = optarg; break;
        case 'c': opt.connections = atoi(optarg); break;
        case 's': opt.seconds = atoi(optarg); break;
        case 'C': opt.channels = atoi(optarg); break;
        case 'b': opt.size = atoi(optarg); break;
        case 'm': opt.batch = atoi(optarg); break;
        default: fputs(usage_text, ch == 'h' ? stdout : stderr); return ch == 'h' ? 0 : 2;
        }
    }
    if (opt.port <= 0 || opt.connections < 1 || opt.seconds < 1 || opt.channels < 1 || opt.size < 1 ||
        opt.batch < 1 || (strcmp(opt.kind, "push") != 0 && strcmp(opt.kind, "nchan") != 0)) {
        fputs(usage_text, stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    struct load_conn *conns = calloc((size_t)opt.connections, sizeof(*conns));
    for (int i = 0; i < opt.connections; i++) {
        conns[i].fd = load_connect();
        load_request(&conns[i]);
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = &conns[i] };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0)
            die("epoll_ctl");
    }
    int64_t start = clock_ns(), stop = start + (int64_t)opt.seconds * NS;
    int open = opt.connections;
    while (open > 0) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 1000);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct load_conn *c = evs[i].data.ptr;
            if ((evs[i].events & EPOLLOUT) && c->out_sent < c->out_len) {
                ssize_t w = write(c->fd, c->out + c->out_sent, c->out_len - c->out_sent);
                if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
                    load_reconnect(ep, c);
                    continue;
                }
                if (w < 0 && errno != EAGAIN)
                    die("write");
                if (w > 0)
                    c->out_sent += (size_t)w;
                if (c->out_sent == c->out_len) {
                    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                continue;
            ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len);
            if (r < 0 && errno == EAGAIN)
                continue;
            if (r <= 0 && c->in_len == 0) {
                /* A server ends keep-alive after so many requests: ask again on a new one. */
                load_reconnect(ep, c);
                continue;
            }
            if (r <= 0) {
                fprintf(stderr, "publish-load: the server closed a connection mid-response\n");
                return 1;
            }
            c->in_len += (size_t)r;
            struct http_response res;
            int parsed = http_response_parse(c->in, c->in_len, false, &res);
            if (parsed < 0 || (parsed == 0 && c->in_len == sizeof(c->in) - 1)) {
                fprintf(stderr, "publish-load: a response it cannot read\n");
                return 1;
            }
            if (parsed == 0)
                continue;
            int64_t t = clock_ns();
            answered++;
            if (res.status >= 200 && res.status < 300)
                messages += strcmp(opt.kind, "push") == 0 ? (uint64_t)opt.batch : 1;
            else
                failed++;
            if (nlatencies == cap_latencies) {
                cap_latencies = cap_latencies ? cap_latencies * 2 : 65536;
                latencies = realloc(latencies, cap_latencies * sizeof(*latencies));
            }
            latencies[nlatencies++] = t - c->sent_at;
            if (t >= stop) {
                close(c->fd);
                open--;
                continue;
            }
            load_request(c);
            struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
    }
    double elapsed = (double)(clock_ns() - start) / NS;
    qsort(latencies, nlatencies, sizeof(*latencies), cmp_i64);
    double p50 = nlatencies ? (double)latencies[nlatencies / 2] / 1e6 : 0;
    double p99 = nlatencies ? (double)latencies[nlatencies * 99 / 100] / 1e6 : 0;
    printf("{\"kind\":\"%s\",\"connections\":%d,\"batch\":%d,\"channels\":%d,\"size\":%d,\"seconds\":%.2f,"
           "\"requests\":%llu,\"failed\":%llu,\"messages\":%llu,\"messages_per_second\":%.0f,"
           "\"requests_per_second\":%.0f,\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n",
           opt.kind, opt.connections, opt.batch, opt.channels, opt.size, elapsed, (unsigned long long)answered,
           (unsigned long long)failed, (unsigned long long)messages, (double)messages / elapsed,
           (double)answered / elapsed, p50, p99);
    fprintf(stderr, "%s: %.0f messages/s (%.0f requests/s), failed %llu, p50 %.2f ms, p99 %.2f ms\n", opt.kind,
            (double)messages / elapsed, (double)answered / elapsed, (unsigned long long)failed, p50, p99);
    return 0;
}
