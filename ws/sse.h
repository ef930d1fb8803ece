/* sse.h: GET /push/sse?appkey=..&channel=..[&since=<cursor>][&token=..]: the subscription
 * stream as text/event-stream. Each message is an event whose id is the cursor after it
 * (lib/cursor.h: "news:42,user-alice:7"); a reconnecting EventSource sends it back as
 * Last-Event-ID (which wins over since) and resumes without loss or duplicates. Each
 * channel's start is an "event: subscribed" with the same data as the WebSocket reply. */
#ifndef PUSH_WS_SSE_H
#define PUSH_WS_SSE_H

struct client;
struct lws;
struct server;

/* Handles the request on wsi. Returns the streaming client, or NULL after an error reply
 * (then *close tells whether the connection must be closed). */
struct client *sse_start(struct server *server, struct lws *wsi, int *close);

/* Writes queued events (and a keep-alive comment when due). Returns 0, or -1 to close. */
int sse_write(struct client *c) __attribute__((warn_unused_result));

/* Asks every idle stream for a keep-alive comment line. */
void sse_keepalive(struct server *server);
/* Closes the SSE streams whose client closed its socket (checked once a second, all in one
 * poll()): libwebsockets 4.1 notices the close of an HTTP connection whose response is still
 * streaming only when a write fails (the next keepalive), and presence would keep the client. */
void sse_reap_closed(struct server *server);

#endif
