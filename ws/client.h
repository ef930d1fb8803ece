/* client.h: one WebSocket or SSE connection: who it is (app, key role, client and user ids),
 * its bounded queue of shared frames, its subscriptions, and how it ends. */
#ifndef PUSH_WS_CLIENT_H
#define PUSH_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "app.h"
#include "buf.h"
#include "sink.h"
#include "validate.h"

struct cursor;
struct frame;
struct json_object;
struct lws;
struct server;

enum client_kind {
    CLIENT_WEBSOCKET = 0,
    CLIENT_SSE,
};

/* What the handshake established (query string, headers, the app behind appkey). */
/* Bytes written per writable event before other connections get their turn. */
#define CLIENT_WRITE_BYTES 32768

struct client_hello {
    int app_id;
    enum app_role role;                     /* of the key it connected with */
    char appkey[128];                       /* kept for push.publish() */
    char app_name[128];                     /* kept for push.unread_of() */
    char secret[129];                       /* the app's token secret */
    char id[VALIDATE_USER_MAX + 1];         /* client id for presence, or "" */
    char user[VALIDATE_USER_MAX + 1];       /* user id (app_identify), or "" */
    char named[VALIDATE_USER_MAX + 1];      /* the user= it gave, vouched for or not, or "" */
    char client[VALIDATE_USER_MAX + 1];     /* the client= it gave, or "" */
    char *info;                             /* owned: its JWT's info claim, or NULL; moves to
                                               the client (client_new) */
    char addr[64];                          /* peer address (X-Forwarded-For behind a local proxy) */
    bool origin_listed;                     /* the app lists its origins (else any is allowed) */
};

struct client {
    struct server *server;       /* non-owning */
    struct lws *wsi;             /* non-owning; NULL once the connection is gone */
    enum client_kind kind;
    struct client_hello hello;
    int refs;                    /* the connection + jobs in flight */
    bool address_counted;        /* counted in its address's connections (metrics_address_acquire) */
    struct list_link link;       /* in the server's list */

    struct frame **queue;        /* owned references, ring of queue_cap */
    size_t queue_cap, queue_head, queue_len, queue_max;
    size_t queue_bytes;          /* wire bytes of the queued frames */
    size_t queue_bytes_max;      /* ws_queue_bytes */
    int inflight;                /* operations (query jobs) not answered yet */

    struct sink sink;            /* its subscriptions (owned) and how channels send to it:
                                    client_send, client_has_room, client_hold, client_release */

    struct buf rx;               /* a client message being reassembled from fragments */
    int close_status;            /* non-zero: close with this status at the next chance */
    const char *close_reason;    /* static text */
    struct client *closing_next; /* in the server's closing list */

    bool presence_dirty;         /* subscriptions changed since the last presence write */
    struct client *presence_next;

    struct cursor *cursor;       /* SSE: the position sent so far, owned */
    bool keepalive_due;          /* SSE: send a comment line */

    time_t heard_at;             /* WebSocket: when the peer last sent a frame or a pong */
    bool ping_sent;              /* WebSocket: a ping went out since heard_at */
    bool ping_due;               /* WebSocket: a ping goes out with the next write */
};

/* A client for wsi, listed in the server, with one reference (the connection's). */
struct client *client_new(struct server *server, struct lws *wsi, enum client_kind kind,
                          const struct client_hello *hello);
void client_hold(struct client *c);
/* Frees the client when the last reference goes. */
void client_release(struct client *c);

/* The connection is gone: drops subscriptions and queue, leaves presence, and releases the
 * connection's reference. Jobs still holding the client find c->wsi NULL. */
void client_detach(struct client *c);

/* Queues f (taking a new reference). A full queue (ws_queue frames, or ws_queue_bytes bytes;
 * an empty queue takes any frame) means a slow reader: the client is closed with 1008.
 * Returns 0, or -1 when the client is closing (its subscriptions stay valid until
 * client_free_closing(); there is no point in sending more). */
int client_send(struct client *c, struct frame *f);

/* Queues {"op":"error","id":..,"code":..,"content":..[,"channel":..]}; id and channel may be
 * NULL. */
void client_send_error(struct client *c, struct json_object *id, int code, const char *content,
                       const char *channel);

/* Asks the connection to close with status (WebSocket close code) soon. It only marks the
 * client: sending stops at once, but its subscriptions and queue stay until
 * client_free_closing() (so that a fan-out or any loop over subscriptions may close clients
 * as it goes). A client that cannot even take the close frame is dropped after a short grace. */
void client_close(struct client *c, int status, const char *reason);

/* Drops the subscriptions (leaving presence) and queues of the clients closed since the last
 * call. Loop thread, outside any pass over clients or subscriptions. */
void client_free_closing(struct server *server);

/* Room left in the queue before replays hold back (half of its frames and bytes stay free for
 * live frames). */
bool client_has_room(const struct client *c);

/* Takes the oldest queued frame (the queue is not empty); the caller releases it. */
struct frame *client_pop(struct client *c);

/* Lets replaying subscriptions refill the queue. */
void client_pump(struct client *c);

/* The peer of a WebSocket client sent a frame or a pong at now. */
void client_heard(struct client *c, time_t now);

/* WebSocket keepalive, called about once a second for every WebSocket client: a ping after
 * ws_ping_interval seconds without a frame or a pong from the peer, and the connection
 * dropped (without a close frame) once nothing came for ws_idle_timeout seconds (at least the
 * ping interval + 5). The loop's one timer does this rather than a timer per connection:
 * libwebsockets keeps its timers in one sorted list, so that a timer per connection makes
 * every new connection cost as much as all those held. */
void client_keepalive(struct client *c, time_t now);

/* Writes what is queued (WebSocket frames or SSE events). Returns 0, or -1 to close now. */
int client_write(struct client *c) __attribute__((warn_unused_result));

#endif
