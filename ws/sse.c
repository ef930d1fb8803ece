/* sse.c: GET /push/sse: the subscription stream as text/event-stream, with the cursor as
 * each event's id and Last-Event-ID resume. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "sse.h"
#include "buf.h"
#include "channel.h"
#include "client.h"
#include "cursor.h"
#include "frame.h"
#include "handshake.h"
#include "log.h"
#include "metrics.h"
#include "presence.h"
#include "reply.h"
#include "server.h"
#include "sse_query.h"

#include <json-c/json.h>
#include <libwebsockets.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of events gathered into one write. */
#define SSE_WRITE_BYTES 16384

/* The CORS headers lib/reply.c would send for this Origin, added to the response. */
static int sse_cors_headers(struct lws *wsi, const struct client_hello *hello, unsigned char **p,
                            unsigned char *end)
{
    char origin[256];
    if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
        return 0;
    /* handshake_check() has already refused origins the app does not list. */
    const char *listed[] = { origin };
    struct reply r = REPLY_INIT;
    (void)reply_cors(&r, origin, listed, hello->origin_listed ? 1 : 0);
    int rc = 0;
    for (char *line = r.headers.data; line && *line && rc == 0;) {
        char *eol = strstr(line, "\r\n"), *colon = strchr(line, ':');
        if (!eol || !colon || colon > eol)
            break;
        char name[64];
        snprintf(name, sizeof(name), "%.*s:", (int)(colon - line), line);
        for (char *s = name; *s; s++)
            *s = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
        const char *value = colon + 1;
        while (*value == ' ')
            value++;
        rc = lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)value,
                                         (int)(eol - value), p, end);
        line = eol + 2;
    }
    reply_free(&r);
    return rc;
}

/* A stream has at most CURSOR_MAX_CHANNELS channels, so its cursor never fills up. */
static void sse_cursor_set(struct cursor *cursor, const char *channel, int64_t seq)
{
    if (cursor_set(cursor, channel, seq) < 0)
        log_error("SSE cursor full at channel %s", channel);
}

struct client *sse_start(struct server *server, struct lws *wsi, int *close)
{
    struct params q = PARAMS_INIT;
    struct client_hello hello;
    memset(&hello, 0, sizeof(hello));
    struct sse_query s = { 0 };
    char err[300];
    int status = 0;
    struct client *c = NULL;
    status = handshake_query(wsi, &q, err, sizeof(err));
    if (status == 0)
        status = handshake_check(server, wsi, &q, &hello, err, sizeof(err));
    if (status)
        goto fail;
    char last_id[2048];
    bool resume = lws_hdr_custom_copy(wsi, last_id, sizeof(last_id), "last-event-id:", 14) > 0;
    status = sse_query_read(&q, server->cfg->ws_max_subscriptions, resume ? last_id : NULL, &s, err, sizeof(err));
    if (status)
        goto fail;
    for (int i = 0; i < s.nnames; i++) {
        if (i == s.bad_channel) {
            status = 400;
            snprintf(err, sizeof(err), "channel: %s", validate_channel_error(s.names[i]));
            goto fail;
        }
        status = handshake_authorize(&hello, s.names[i], (const char *const *)s.tokens,
                                     s.ntokens > 0 ? (size_t)s.ntokens : 0, err, sizeof(err));
        if (status)
            goto fail;
        handshake_vouch(server, &hello, s.names[i]);
    }
    if (!s.since_ok) {
        status = 400;
        snprintf(err, sizeof(err), "%s: %s", resume ? "Last-Event-ID" : "since", s.since_err);
        goto fail;
    }

    unsigned char headers[LWS_PRE + 1024], *start = headers + LWS_PRE, *p = start;
    unsigned char *end = headers + sizeof(headers) - 1;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/event-stream; charset=utf-8",
                                    LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-accel-buffering:",
                                    (const unsigned char *)"no", 2, &p, end) ||
        sse_cors_headers(wsi, &hello, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end)) {
        *close = 1;
        goto out;
    }
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    c = client_new(server, wsi, CLIENT_SSE, &hello);
    hello.info = NULL; /* the client's now */
    c->address_counted = metrics_address_acquire(hello.addr);
    c->cursor = xcalloc(1, sizeof(*c->cursor));
    for (int i = 0; i < s.nnames && !c->close_status; i++) {
        if (channel_find_sub(&c->sink, s.names[i]))
            continue;
        int64_t seq = 0;
        bool has = cursor_get(&s.since, s.names[i], &seq);
        if (has)
            sse_cursor_set(c->cursor, s.names[i], seq);
        channel_subscribe(server, &c->sink, c->hello.app_id, s.names[i], has, seq, NULL);
    }
    presence_mark(server, c);
    goto out;
fail:
    {
        struct json_object *obj = reply_object(status, err);
        struct buf body = BUF_INIT;
        reply_serialize(obj, &body);
        json_object_put(obj);
        *close = server_http_reply(wsi, status, "application/json; charset=utf-8", body.data, body.len) < 0;
        buf_free(&body);
    }
out:
    free(hello.info);
    sse_query_free(&s);
    params_free(&q);
    return c;
}

int sse_write(struct client *c)
{
    static const char headroom[LWS_PRE];
    struct buf *out = &c->server->scratch;
    bool fatal = false;
    int64_t delivered = 0;
    buf_reset(out);
    buf_append(out, headroom, LWS_PRE);
    while (c->queue_len && out->len < LWS_PRE + SSE_WRITE_BYTES && !fatal) {
        struct frame *f = client_pop(c);
        bool message = strcmp(f->op, "message") == 0;
        if (!message)
            buf_printf(out, "event: %s\n", f->op);
        if (f->channel[0] && (message || strcmp(f->op, "subscribed") == 0)) {
            sse_cursor_set(c->cursor, f->channel, f->seq);
            buf_puts(out, "id: ");
            cursor_format(c->cursor, out);
            buf_puts(out, "\n");
        }
        buf_puts(out, "data: ");
        buf_append(out, frame_payload(f), f->len);
        buf_puts(out, "\n\n");
        delivered += message;
        /* An error ends the stream; EventSource reconnects with Last-Event-ID. */
        fatal = strcmp(f->op, "error") == 0;
        frame_release(f);
    }
    if (out->len == LWS_PRE && c->keepalive_due)
        buf_puts(out, ": keepalive\n\n");
    c->keepalive_due = false;
    size_t len = out->len - LWS_PRE;
    if (len && lws_write(c->wsi, (unsigned char *)out->data + LWS_PRE, len, LWS_WRITE_HTTP) < (int)len)
        return -1;
    if (delivered)
        metrics_add(METRIC_DELIVERIES, delivered);
    if (fatal)
        return -1;
    client_pump(c);
    if (c->queue_len && !c->close_status)
        lws_callback_on_writable(c->wsi);
    return 0;
}

void sse_keepalive(struct server *server)
{
    for (struct list_link *l = server->clients.first; l; l = l->next) {
        struct client *c = LINK_ENTRY(l, struct client, link);
        if (c->kind == CLIENT_SSE && c->queue_len == 0 && !c->close_status) {
            c->keepalive_due = true;
            lws_callback_on_writable(c->wsi);
        }
    }
}

void sse_reap_closed(struct server *server)
{
    size_t n = 0, cap = 0;
    struct pollfd *fds = NULL;
    struct client **of = NULL;
    for (struct list_link *l = server->clients.first; l; l = l->next) {
        struct client *c = LINK_ENTRY(l, struct client, link);
        if (c->kind != CLIENT_SSE || !c->wsi || c->close_status)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            fds = xrealloc(fds, cap * sizeof(*fds));
            of = xrealloc(of, cap * sizeof(*of));
        }
        fds[n] = (struct pollfd){ .fd = lws_get_socket_fd(c->wsi), .events = POLLRDHUP };
        of[n++] = c;
    }
    if (n > 0 && poll(fds, n, 0) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (!(fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)))
                continue;
            log_info("client %s (%s): SSE stream closed by the client", of[i]->hello.addr,
                     of[i]->hello.id[0] ? of[i]->hello.id : "anonymous");
            lws_set_timeout(of[i]->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
    }
    free(fds);
    free(of);
}
