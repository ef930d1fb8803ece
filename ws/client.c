/* client.c: one WebSocket or SSE connection: who it is (app, key role, client and user ids),
 * its bounded queue of shared frames, its subscriptions, and how it ends. */
#include "client.h"
#include "channel.h"
#include "cursor.h"
#include "frame.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "presence.h"
#include "server.h"
#include "sink.h"
#include "sse.h"

#include <json-c/json.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

/* Seconds a closing client may take to accept its close frame. */
#define CLIENT_CLOSE_GRACE 3

static int client_sink_send(struct sink *sink, struct frame *f);
static bool client_sink_has_room(const struct sink *sink);
static void client_sink_hold(struct sink *sink);
static void client_sink_release(struct sink *sink);

/* How channels reach a client: through its embedded sink. */
static const struct sink_ops client_sink_ops = {
    .send = client_sink_send,
    .has_room = client_sink_has_room,
    .hold = client_sink_hold,
    .release = client_sink_release,
};

static enum metric client_gauge(const struct client *c)
{
    return c->kind == CLIENT_SSE ? METRIC_SSE_CONNECTIONS : METRIC_WS_CONNECTIONS;
}

struct client *client_new(struct server *server, struct lws *wsi, enum client_kind kind,
                          const struct client_hello *hello)
{
    struct client *c = xcalloc(1, sizeof(*c));
    c->server = server;
    c->wsi = wsi;
    c->kind = kind;
    c->hello = *hello;
    c->refs = 1;
    c->sink.ops = &client_sink_ops;
    c->queue_max = (size_t)server->cfg->ws_queue;
    c->queue_bytes_max = (size_t)server->cfg->ws_queue_bytes;
    c->heard_at = time(NULL);
    list_push(&server->clients, &c->link);
    server->nclients++;
    metrics_add(client_gauge(c), 1);
    return c;
}

void client_hold(struct client *c)
{
    c->refs++;
}

void client_release(struct client *c)
{
    if (--c->refs > 0)
        return;
    free(c->queue);
    buf_free(&c->rx);
    free(c->cursor);
    free(c->hello.info);
    free(c);
}

static void client_drop_queue(struct client *c)
{
    for (size_t i = 0; i < c->queue_len; i++)
        frame_release(c->queue[(c->queue_head + i) % c->queue_cap]);
    metrics_add(METRIC_QUEUED_BYTES, -(int64_t)c->queue_bytes);
    c->queue_len = 0;
    c->queue_head = 0;
    c->queue_bytes = 0;
    /* The queue's memory goes too: a connection that once queued much keeps nothing. */
    free(c->queue);
    c->queue = NULL;
    c->queue_cap = 0;
}

/* Ends every subscription of c, leaving presence on them, and empties its queue. */
static void client_end(struct client *c)
{
    bool had_subs = c->sink.subs.first != NULL;
    while (c->sink.subs.first)
        channel_unsubscribe(LINK_ENTRY(c->sink.subs.first, struct sub, sink_link));
    client_drop_queue(c);
    if (had_subs)
        presence_leave(c->server, c, NULL);
}

void client_detach(struct client *c)
{
    if (!c->wsi)
        return;
    /* Its queued database work (its own and its subscriptions') is not run: nobody would read
     * the answers. */
    jobs_cancel(c->server->jobs, c);
    jobs_cancel(c->server->jobs, &c->sink);
    client_end(c);
    if (c->address_counted)
        metrics_address_release(c->hello.addr);
    c->address_counted = false;
    struct server *server = c->server;
    list_remove(&server->clients, &c->link);
    server->nclients--;
    metrics_add(client_gauge(c), -1);
    c->wsi = NULL;
    client_release(c);
}

void client_close(struct client *c, int status, const char *reason)
{
    if (!c->wsi || c->close_status)
        return;
    c->close_status = status;
    c->close_reason = reason;
    client_hold(c);
    c->closing_next = c->server->closing;
    c->server->closing = c;
    lws_callback_on_writable(c->wsi);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CLIENT_CLOSE_GRACE);
}

void client_free_closing(struct server *server)
{
    while (server->closing) {
        struct client *c = server->closing;
        server->closing = c->closing_next;
        client_end(c); /* nothing left when the connection is gone already */
        client_release(c);
    }
}

int client_send(struct client *c, struct frame *f)
{
    if (!c->wsi || c->close_status)
        return -1;
    size_t len = frame_wire_len(f);
    if (c->queue_len == c->queue_max || (c->queue_len && c->queue_bytes + len > c->queue_bytes_max)) {
        metrics_add(METRIC_DROPS, 1);
        log_info("client %s (%s): cut off: %zu frames of %zu bytes queued, a slow reader", c->hello.addr,
                 c->hello.id[0] ? c->hello.id : "anonymous", c->queue_len, c->queue_bytes);
        client_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "slow reader");
        return -1;
    }
    if (c->queue_len == c->queue_cap) {
        size_t cap = c->queue_cap ? c->queue_cap * 2 : 16;
        if (cap > c->queue_max)
            cap = c->queue_max;
        struct frame **q = xmalloc(cap * sizeof(*q));
        for (size_t i = 0; i < c->queue_len; i++)
            q[i] = c->queue[(c->queue_head + i) % c->queue_cap];
        free(c->queue);
        c->queue = q;
        c->queue_cap = cap;
        c->queue_head = 0;
    }
    frame_hold(f);
    c->queue_bytes += len;
    metrics_add(METRIC_QUEUED_BYTES, (int64_t)len);
    c->queue[(c->queue_head + c->queue_len) % c->queue_cap] = f;
    if (c->queue_len++ == 0)
        lws_callback_on_writable(c->wsi);
    return 0;
}

void client_send_error(struct client *c, struct json_object *id, int code, const char *content,
                       const char *channel)
{
    struct frame *f = frame_error(id, code, content, channel);
    client_send(c, f);
    frame_release(f);
}

bool client_has_room(const struct client *c)
{
    return c->queue_len < c->queue_max / 2 && c->queue_bytes < c->queue_bytes_max / 2;
}

struct frame *client_pop(struct client *c)
{
    struct frame *f = c->queue[c->queue_head];
    c->queue_head = (c->queue_head + 1) % c->queue_cap;
    c->queue_len--;
    c->queue_bytes -= frame_wire_len(f);
    metrics_add(METRIC_QUEUED_BYTES, -(int64_t)frame_wire_len(f));
    return f;
}

void client_pump(struct client *c)
{
    struct list_link *next;
    for (struct list_link *l = c->sink.subs.first; l && !c->close_status; l = next) {
        next = l->next;
        struct sub *s = LINK_ENTRY(l, struct sub, sink_link);
        if (s->state == SUB_REPLAY)
            channel_pump(s);
    }
}

void client_heard(struct client *c, time_t now)
{
    c->heard_at = now;
    c->ping_sent = false;
}

void client_keepalive(struct client *c, time_t now)
{
    if (!c->wsi || c->close_status)
        return;
    if (now - c->heard_at >= c->server->ws_hangup) {
        log_info("client %s (%s): closed: nothing received for %d seconds", c->hello.addr,
                 c->hello.id[0] ? c->hello.id : "anonymous", (int)(now - c->heard_at));
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    if (!c->ping_sent && now - c->heard_at >= c->server->cfg->ws_ping_interval) {
        c->ping_sent = true;
        c->ping_due = true;
        lws_callback_on_writable(c->wsi);
    }
}

int client_write(struct client *c)
{
    if (c->close_status) {
        if (c->kind == CLIENT_WEBSOCKET)
            lws_close_reason(c->wsi, (enum lws_close_status)c->close_status,
                             (unsigned char *)c->close_reason, strlen(c->close_reason));
        return -1;
    }
    if (c->kind == CLIENT_SSE)
        return sse_write(c);
    /* Frames go out together, complete (lws keeps what the socket does not take yet). */
    static const char headroom[LWS_PRE];
    struct buf *out = &c->server->scratch;
    int64_t delivered = 0;
    buf_reset(out);
    buf_append(out, headroom, LWS_PRE);
    if (c->ping_due) {
        /* FIN, ping, 1 byte of payload: libwebsockets tells of pongs only when they carry
         * some (client_heard()), and a pong carries the ping's. */
        static const unsigned char ping[3] = { 0x89, 0x01, 'k' };
        buf_append(out, ping, sizeof(ping));
        c->ping_due = false;
    }
    while (c->queue_len && out->len < LWS_PRE + CLIENT_WRITE_BYTES) {
        struct frame *f = client_pop(c);
        buf_append(out, frame_wire(f), frame_wire_len(f));
        delivered += strcmp(f->op, "message") == 0;
        frame_release(f);
    }
    size_t len = out->len - LWS_PRE;
    if (len && lws_write(c->wsi, (unsigned char *)out->data + LWS_PRE, len, LWS_WRITE_RAW) < (int)len) {
        log_info("client %s: write failed", c->hello.addr);
        return -1;
    }
    if (delivered)
        metrics_add(METRIC_DELIVERIES, delivered);
    client_pump(c);
    if (c->queue_len && !c->close_status)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static struct client *client_of(const struct sink *sink)
{
    return (struct client *)((const char *)sink - offsetof(struct client, sink));
}

static int client_sink_send(struct sink *sink, struct frame *f)
{
    return client_send(client_of(sink), f);
}

static bool client_sink_has_room(const struct sink *sink)
{
    return client_has_room(client_of(sink));
}

static void client_sink_hold(struct sink *sink)
{
    client_hold(client_of(sink));
}

static void client_sink_release(struct sink *sink)
{
    client_release(client_of(sink));
}
