/* endpoint.h: what every /push endpoint does first: a database connection, the app behind
 * appkey, the Origin check with CORS headers, and channel-token checks. */
#ifndef PUSH_ENDPOINT_H
#define PUSH_ENDPOINT_H

#include <stdbool.h>

#include "app.h"
#include "config.h"
#include "db.h"
#include "gateway.h"

struct endpoint {
    struct request *req;    /* non-owning */
    struct reply *reply;    /* non-owning */
    struct db_conn *db;     /* from the pool, owned until endpoint_close */
    struct app app;
};

/* Creates the process's connection pool and key cache from cfg. Returns 0 or -1. */
int endpoint_init(const struct config *cfg) __attribute__((warn_unused_result));
void endpoint_shutdown(void);
/* The pool endpoints draw from (non-owning), for modules that share it. */
struct db_pool *endpoint_pool(void);

/* Takes a connection and resolves appkey; checks the Origin against the app and adds CORS
 * headers. Returns 0, or -1 with the reply filled (400 missing appkey, 401 unknown key,
 * 403 origin, 503 database) and nothing held. */
int endpoint_open(struct endpoint *ep, struct request *req, struct reply *reply)
    __attribute__((warn_unused_result));
/* A JSONP request (callback, no Origin) to an app with allowed origins: its Referer's origin
 * must be one of them. A request without Referer passes unless require_referer (writes).
 * endpoint_open and endpoint_open_app check it without require_referer.
 * Returns 0 or -1 with a 403 reply. */
int endpoint_check_jsonp_origin(struct endpoint *ep, bool require_referer)
    __attribute__((warn_unused_result));

/* Answers a CORS preflight (gateway_set_preflight's handler, set by endpoint_init): 204 with
 * the CORS headers when appkey (from the query string) names an app that allows the Origin;
 * else an error (403 origin, 401 key, 503) without Access-Control-Allow-Origin. A request
 * without Origin gets a plain 204. */
void endpoint_preflight(struct request *req, struct reply *reply);

/* endpoint_open without the connection: the app comes from the key cache when it can, and a
 * connection is taken only to look a key up (kept in ep->db then). Same results. */
int endpoint_open_app(struct endpoint *ep, struct request *req, struct reply *reply)
    __attribute__((warn_unused_result));

/* The endpoint's connection, taken from the pool when it has none yet. Returns it, or NULL
 * with a 503 reply. */
struct db_conn *endpoint_db(struct endpoint *ep);

/* Gives the connection back. Safe after a failed open. */
void endpoint_close(struct endpoint *ep);

/* Fills the reply for a failed database result (status from SQLSTATE, Retry-After on 503 and
 * 429) and clears res. */
void endpoint_fail_db(struct endpoint *ep, PGresult *res);

/* Replies with an error (JSONP-aware). Always returns -1, for "return endpoint_error(...)". */
int endpoint_error(struct endpoint *ep, int code, const char *content);
/* The same into any reply (a held request's, answered later): 503 and 429 carry Retry-After
 * (5 and 1 seconds). callback: the JSONP callback, or NULL. */
void endpoint_reply_error(struct reply *reply, int code, const char *content, const char *callback);

/* Most token values (token= and an Authorization: Bearer token) one request may give. */
#define ENDPOINT_MAX_TOKENS 8

/* Reading (subscribe, history, presence, read state) a private-* or user-* channel with the
 * subscribe or publish key: checks the token values (any one may open it; HMAC or JWT). The
 * server key needs none. user is the connecting user or NULL. Returns 0, or -1 with a 403. */
int endpoint_check_token(struct endpoint *ep, const char *channel, const char *user)
    __attribute__((warn_unused_result));

/* The request's user (app_identify): a JWT's sub, or a user parameter the key, the app or a
 * token vouches for; NULL for an anonymous caller. sub (sublen bytes, VALIDATE_USER_MAX + 1
 * will do) holds it; *out points into it. With info, *info is its token's info claim, or a
 * claimed user's data= marked unverified (app_identify; the caller frees it), or NULL; without
 * info data= is not read. Returns 0, or -1 with a 400/403 reply. */
int endpoint_user(struct endpoint *ep, char *sub, size_t sublen, const char **out, char **info)
    __attribute__((warn_unused_result));

/* endpoint_check_token without a reply: whether the caller may read channel. */
bool endpoint_may_read(struct endpoint *ep, const char *channel, const char *user);

/* Publishing to channel: never with the subscribe key; with the publish key, a private-* or
 * user-* channel needs a JWT whose publish claim covers it; the server key needs none.
 * Returns 0, or -1 with a 403 reply. */
int endpoint_check_publish(struct endpoint *ep, const char *channel, const char *user)
    __attribute__((warn_unused_result));

/* Reads an optional whole-number parameter in [min, max]; absent gives fallback.
 * Returns 0, or -1 with a 400 reply naming the parameter. */
int endpoint_int_param(struct endpoint *ep, const char *name, long long min, long long max,
                       long long fallback, long long *out) __attribute__((warn_unused_result));

/* 0 when channel is a channel name; else a 400 reply saying why, under name, and -1. */
int endpoint_check_channel(struct endpoint *ep, const char *name, const char *channel);

/* Reads a required channel parameter. Returns it (borrowed), or NULL with a 400 reply. */
const char *endpoint_channel_param(struct endpoint *ep, const char *name);

#endif
