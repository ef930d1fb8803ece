/* handshake.h: what a WebSocket or SSE request must show before it is served: a known
 * appkey (looked up through the key cache), an Origin the app allows, a peer address under
 * its connection limit, valid client and user ids; and the channel tokens it later needs. */
#ifndef PUSH_WS_HANDSHAKE_H
#define PUSH_WS_HANDSHAKE_H

#include <stddef.h>

#include "client.h"
#include "params.h"

struct lws;
struct server;

/* Adds the request's query parameters to q, and an Authorization: Bearer token as one more
 * token. Returns 0, or 400 with err naming a parameter with a NUL byte or invalid UTF-8
 * (params_add_checked). */
int handshake_query(struct lws *wsi, struct params *q, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Checks the request (q from handshake_query) and fills hello. Returns 0, or an HTTP status
 * (400, 401, 403, 429, 503) with the reason in err. */
int handshake_check(struct server *server, struct lws *wsi, const struct params *q,
                    struct client_hello *hello, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* May hello read channel? The server key reads anything; with the other keys private-* and
 * user-* channels need one of the tokens (for user-<id>, made for user <id>). Returns 0, or
 * 403 with err. */
int handshake_authorize(const struct client_hello *hello, const char *channel,
                        const char *const *tokens, size_t ntokens, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Sets hello->id, the connection's presence id: its client= bound to its user
 * (auth_presence_id), or a fresh id for a user without one, or "" (not in presence). */
void handshake_presence_id(struct server *server, struct client_hello *hello);

/* After channel was authorized: a user-<id> channel's token vouches for the user the
 * connection named (user=<id>), which becomes its user from now on; a user who had only
 * claimed that id loses presence's unverified mark. */
void handshake_vouch(struct server *server, struct client_hello *hello, const char *channel);

/* May hello publish to channel? Never with the subscribe key; with the publish key a private-*
 * or user-* channel needs a JWT whose publish claim covers it; the server key anything.
 * Returns 0, or 403 with err. */
int handshake_authorize_publish(const struct client_hello *hello, const char *channel,
                                const char *const *tokens, size_t ntokens, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Answers a refused WebSocket handshake with a plain HTTP status and JSON body, written
 * straight to the socket (the connection is closed after). */
void handshake_refuse(struct lws *wsi, int status, const char *content);

#endif
