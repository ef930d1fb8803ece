/* handshake.c: what a WebSocket or SSE request must show before it is served: a known
 * appkey (looked up through the key cache), an Origin the app allows, a peer address under
 * its connection limit, valid client and user ids; and the channel tokens it later needs. */
#include "handshake.h"
#include "app.h"
#include "auth.h"
#include "kick.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "server.h"
#include "validate.h"

#include <json-c/json.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int handshake_query(struct lws *wsi, struct params *q, char *err, size_t errlen)
{
    char frag[AUTH_JWT_MAX + 64]; /* room for token=<longest JWT> */
    /* lws has already split the query at '&' and decoded %-escapes and '+'. */
    for (int n = 0;; n++) {
        int len = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, n);
        /* A parameter that does not fit is refused, never dropped with the rest of the query. */
        if (len < 0 && lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, n) > 0) {
            snprintf(err, errlen, "query: a parameter is longer than %zu bytes", sizeof(frag) - 1);
            return 400;
        }
        if (len < 0)
            break;
        const char *eq = memchr(frag, '=', (size_t)len);
        size_t name_len = eq ? (size_t)(eq - frag) : (size_t)len;
        if (params_add_checked(q, frag, name_len, eq ? eq + 1 : "", eq ? (size_t)len - name_len - 1 : 0,
                               err, errlen) < 0)
            return 400;
    }
    /* "Authorization: Bearer <token>" is one more token value, as on HTTP. */
    int len = lws_hdr_copy(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_AUTHORIZATION);
    if (len > 7 && strncasecmp(frag, "Bearer ", 7) == 0) {
        const char *bearer = frag + 7;
        while (*bearer == ' ')
            bearer++;
        if (*bearer && params_add_checked(q, "token", 5, bearer, strlen(bearer), err, errlen) < 0)
            return 400;
    }
    return 0;
}

/* The peer address; behind a proxy on this host, the last X-Forwarded-For entry. */
static void handshake_address(struct lws *wsi, char *out, size_t outlen)
{
    lws_get_peer_simple(wsi, out, outlen);
    if (strcmp(out, "127.0.0.1") != 0 && strcmp(out, "::1") != 0 && strcmp(out, "::ffff:127.0.0.1") != 0)
        return;
    char xff[256];
    if (lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) <= 0)
        return;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ')
        last++;
    size_t n = strcspn(last, " ");
    if (n > 0 && n < outlen) {
        memcpy(out, last, n);
        out[n] = '\0';
    }
}

int handshake_check(struct server *server, struct lws *wsi, const struct params *q,
                    struct client_hello *hello, char *err, size_t errlen)
{
    memset(hello, 0, sizeof(*hello));
    handshake_address(wsi, hello->addr, sizeof(hello->addr));
    if (metrics_address_full(hello->addr, server->cfg->ws_max_per_address)) {
        snprintf(err, errlen, "too many connections from %s", hello->addr);
        return 429;
    }
    const char *key = params_get(q, "appkey");
    if (!key || !*key) {
        snprintf(err, errlen, "appkey: missing");
        return 400;
    }
    if (strlen(key) >= sizeof(hello->appkey)) {
        snprintf(err, errlen, "appkey: unknown key");
        return 401;
    }
    const char *id = params_get(q, "client"), *user = params_get(q, "user");
    if (id && *id && validate_user_error(id)) {
        snprintf(err, errlen, "client: %s", validate_user_error(id));
        return 400;
    }
    if (user && *user && validate_user_error(user)) {
        snprintf(err, errlen, "user: %s", validate_user_error(user));
        return 400;
    }
    struct db_conn *db = server_lookup_conn(server);
    struct app app;
    int status = 503;
    int found = db ? app_lookup(db, key, &app, &status) : -1;
    if (found < 0 && db && PQstatus(db->pg) != CONNECTION_OK) {
        /* The database restarted since the last lookup: once more on a new connection. */
        db = server_lookup_conn(server);
        found = db ? app_lookup(db, key, &app, &status) : -1;
    }
    if (found < 0) {
        snprintf(err, errlen, "%s", status == 503 ? "database unavailable, retry later" : "internal error");
        return status;
    }
    if (found == 0) {
        snprintf(err, errlen, "appkey: unknown key");
        return 401;
    }
    /* Tokens are judged against the kicks: loaded at start and after the listener reconnected. */
    if (kick_stale() && (!db || kick_refresh(db, &status) < 0)) {
        snprintf(err, errlen, "%s", status == 503 || !db ? "database unavailable, retry later" : "internal error");
        return db ? status : 503;
    }
    char origin[APP_ORIGIN_MAX] = "";
    bool has_origin = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0;
    if (has_origin && (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0 ||
                       !app_origin_allowed(&app, origin))) {
        snprintf(err, errlen, "origin: %s is not allowed for this app", origin[0] ? origin : "(too long)");
        return 403;
    }
    /* The connection's user: its token's sub, or a user= something vouches for (app_identify). */
    char **tokens = NULL;
    int ntokens = params_get_list(q, "token", &tokens, 8);
    int refused = app_identify(&app, user, params_get(q, "data"), (const char *const *)tokens,
                               ntokens > 0 ? (size_t)ntokens : 0, hello->user, sizeof(hello->user), &hello->info,
                               err, errlen);
    params_list_free(tokens, ntokens > 0 ? ntokens : 0);
    if (refused)
        return refused;
    if (user && *user)
        snprintf(hello->named, sizeof(hello->named), "%s", user);
    hello->app_id = app.id;
    hello->role = app.role;
    hello->origin_listed = app.norigins > 0;
    snprintf(hello->appkey, sizeof(hello->appkey), "%s", key);
    snprintf(hello->secret, sizeof(hello->secret), "%s", app.secret);
    snprintf(hello->app_name, sizeof(hello->app_name), "%s", app.name);
    if (id && *id)
        snprintf(hello->client, sizeof(hello->client), "%s", id);
    handshake_presence_id(server, hello);
    return 0;
}

void handshake_presence_id(struct server *server, struct client_hello *hello)
{
    if (hello->client[0])
        auth_presence_id(hello->secret, hello->client, hello->user[0] ? hello->user : NULL, hello->id);
    else if (hello->user[0])
        snprintf(hello->id, sizeof(hello->id), "ws-%d-%llu", (int)getpid(),
                 (unsigned long long)++server->next_serial);
}

void handshake_vouch(struct server *server, struct client_hello *hello, const char *channel)
{
    const char *owner = validate_channel_user(channel);
    if (owner && strcmp(owner, hello->user) == 0 && app_info_claimed(hello->info)) {
        /* A claimed user proved to be who they said: presence no longer marks them. */
        free(hello->info);
        hello->info = NULL;
        return;
    }
    if (!owner || hello->user[0] || strcmp(owner, hello->named) != 0)
        return;
    snprintf(hello->user, sizeof(hello->user), "%s", owner);
    handshake_presence_id(server, hello);
}

/* app_authorize for hello's connection; 0, or 403 with err. */
static int handshake_rule(const struct client_hello *hello, bool publish, const char *channel,
                          const char *const *tokens, size_t ntokens, char *err, size_t errlen)
{
    enum auth_result result = app_authorize(hello->app_id, hello->role, hello->secret, publish, channel,
                                            hello->user[0] ? hello->user : NULL, tokens, ntokens);
    if (result == AUTH_OK)
        return 0;
    app_authorize_text(result, channel, err, errlen);
    return 403;
}

int handshake_authorize(const struct client_hello *hello, const char *channel,
                        const char *const *tokens, size_t ntokens, char *err, size_t errlen)
{
    /* The connection is who it says only if that agrees with the token: alice's token does
     * not make a connection of mallory's alice. */
    const char *events_of = validate_channel_read_events(channel);
    const char *owner = hello->role == APP_ROLE_SERVER ? NULL : validate_channel_user(events_of ? events_of : channel);
    const char *who = hello->user[0] ? hello->user : hello->named;
    if (owner && who[0] && strcmp(owner, who) != 0) {
        snprintf(err, errlen, "user: this connection is %s's, not %s's (%s)", who, owner, channel);
        return 403;
    }
    return handshake_rule(hello, false, channel, tokens, ntokens, err, errlen);
}

int handshake_authorize_publish(const struct client_hello *hello, const char *channel,
                                const char *const *tokens, size_t ntokens, char *err, size_t errlen)
{
    return handshake_rule(hello, true, channel, tokens, ntokens, err, errlen);
}

void handshake_refuse(struct lws *wsi, int status, const char *content)
{
    struct json_object *obj = reply_object(status, content);
    struct buf body = BUF_INIT, msg = BUF_INIT;
    reply_serialize(obj, &body);
    json_object_put(obj);
    const char *phrase = status == 400 ? "Bad Request" : status == 401 ? "Unauthorized"
                       : status == 403 ? "Forbidden" : status == 429 ? "Too Many Requests"
                       : status == 503 ? "Service Unavailable" : "Internal Server Error";
    buf_printf(&msg, "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                     "Cache-Control: no-store\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
               status, phrase, body.len, status == 503 ? "Retry-After: 5\r\n" : "", buf_str(&body));
    /* A fresh socket takes a few hundred bytes at once; a short write only shortens the reply. */
    ssize_t n = send(lws_get_socket_fd(wsi), msg.data, msg.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;
    buf_free(&body);
    buf_free(&msg);
}
