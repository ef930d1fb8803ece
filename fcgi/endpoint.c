/* endpoint.c: what every /push endpoint does first: a database connection, the app behind
 * appkey, the Origin check with CORS headers, and channel-token checks. */
#include "endpoint.h"
#include "auth.h"
#include "kick.h"
#include "log.h"
#include "validate.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct db_pool endpoint_db_pool;

int endpoint_init(const struct config *cfg)
{
    app_cache_init(cfg->app_cache_ttl);
    gateway_set_preflight(endpoint_preflight);
    return db_pool_init(&endpoint_db_pool, cfg->dsn, cfg->db_pool);
}

void endpoint_shutdown(void)
{
    db_pool_free(&endpoint_db_pool);
}

struct db_pool *endpoint_pool(void)
{
    return &endpoint_db_pool;
}

void endpoint_reply_error(struct reply *reply, int code, const char *content, const char *callback)
{
    if (code == 503 || code == 429)
        reply_header(reply, "Retry-After", code == 503 ? "5" : "1");
    reply_error(reply, code, content, callback);
}

int endpoint_error(struct endpoint *ep, int code, const char *content)
{
    endpoint_reply_error(ep->reply, code, content, ep->req->callback);
    return -1;
}

struct db_conn *endpoint_db(struct endpoint *ep)
{
    if (!ep->db)
        ep->db = db_pool_acquire(&endpoint_db_pool);
    if (!ep->db)
        endpoint_error(ep, 503, "database unavailable, retry later");
    return ep->db;
}

/* The origin "scheme://host[:port]" of an absolute URL (a Referer) into out. Returns false
 * when url has no scheme or the origin does not fit. */
static bool endpoint_url_origin(const char *url, char *out, size_t outlen)
{
    const char *slashes = strstr(url, "://");
    if (!slashes || slashes == url)
        return false;
    size_t n = (size_t)(slashes - url) + 3;
    n += strcspn(url + n, "/?#");
    if (n >= outlen)
        return false;
    memcpy(out, url, n);
    out[n] = '\0';
    return true;
}

int endpoint_check_jsonp_origin(struct endpoint *ep, bool require_referer)
{
    const struct request *req = ep->req;
    if (!req->callback || (req->origin && *req->origin) || ep->app.norigins == 0)
        return 0;
    if ((!req->referer || !*req->referer) && !require_referer)
        return 0;
    char origin[256];
    if (!req->referer || !*req->referer || !endpoint_url_origin(req->referer, origin, sizeof(origin)))
        return endpoint_error(ep, 403, "origin: this app allows listed origins only; a JSONP request "
                                       "needs a Referer from one of them");
    if (!reply_origin_allowed(origin, ep->app.origin_list, (size_t)ep->app.norigins))
        return endpoint_error(ep, 403, "origin: the Referer's origin is not allowed for this app");
    return 0;
}

int endpoint_open_app(struct endpoint *ep, struct request *req, struct reply *reply)
{
    memset(ep, 0, sizeof(*ep));
    ep->req = req;
    ep->reply = reply;
    const char *key = params_get(&req->params, "appkey");
    if (!key || !*key)
        return endpoint_error(ep, 400, "appkey: missing");
    if (!app_cache_find(key, &ep->app)) {
        if (!endpoint_db(ep))
            return -1;
        int status = 500;
        int found = app_lookup(ep->db, key, &ep->app, &status);
        if (found <= 0) {
            endpoint_close(ep);
            return found == 0 ? endpoint_error(ep, 401, "appkey: unknown key")
                              : endpoint_error(ep, status, status == 503 ? "database unavailable, retry later"
                                                                         : "internal error");
        }
    }
    /* Tokens are judged against the kicks: loaded at start and after the listener reconnected. */
    if (kick_stale()) {
        if (!endpoint_db(ep))
            return -1;
        int status = 500;
        if (kick_refresh(ep->db, &status) < 0) {
            endpoint_close(ep);
            return endpoint_error(ep, status, status == 503 ? "database unavailable, retry later" : "internal error");
        }
    }
    if (!reply_cors(reply, req->origin, ep->app.origin_list, (size_t)ep->app.norigins)) {
        endpoint_close(ep);
        return endpoint_error(ep, 403, "origin: not allowed for this app");
    }
    if (endpoint_check_jsonp_origin(ep, false) < 0) {
        endpoint_close(ep);
        return -1;
    }
    return 0;
}

void endpoint_preflight(struct request *req, struct reply *reply)
{
    if (!req->origin || !*req->origin) {
        reply->status = 204;
        reply_header(reply, "Cache-Control", "no-store");
        return;
    }
    if (!params_get(&req->params, "appkey")) {
        reply_error(reply, 403, "origin: a CORS preflight needs appkey in the query string", NULL);
        return;
    }
    struct endpoint ep;
    if (endpoint_open_app(&ep, req, reply) < 0)
        return;
    endpoint_close(&ep);
    reply->status = 204;
    reply_header(reply, "Cache-Control", "no-store");
}

int endpoint_open(struct endpoint *ep, struct request *req, struct reply *reply)
{
    if (endpoint_open_app(ep, req, reply) < 0)
        return -1;
    if (!endpoint_db(ep))
        return -1;
    return 0;
}

void endpoint_close(struct endpoint *ep)
{
    if (ep->db)
        db_pool_release(&endpoint_db_pool, ep->db);
    ep->db = NULL;
}

void endpoint_fail_db(struct endpoint *ep, PGresult *res)
{
    int status = db_status(res, ep->db ? ep->db->pg : NULL);
    if (status >= 500)
        log_warn("app %s: %s %s: %s", ep->app.name, ep->req->method, ep->req->path,
                 PQresultErrorMessage(res));
    endpoint_error(ep, status, db_error_text(res, status));
    PQclear(res);
}

/* app_authorize with the request's token values (token= and an Authorization: Bearer token). */
static enum auth_result endpoint_authorize(struct endpoint *ep, bool publish, const char *channel, const char *user)
{
    char **tokens = NULL;
    int ntokens = params_get_list(&ep->req->params, "token", &tokens, ENDPOINT_MAX_TOKENS);
    enum auth_result result = app_authorize(ep->app.id, ep->app.role, ep->app.secret, publish, channel, user,
                                            (const char *const *)tokens, ntokens > 0 ? (size_t)ntokens : 0);
    params_list_free(tokens, ntokens > 0 ? ntokens : 0);
    return result;
}

/* 0, or -1 with a 403 reply saying why. */
static int endpoint_authorize_reply(struct endpoint *ep, const char *channel, enum auth_result result)
{
    if (result == AUTH_OK)
        return 0;
    char text[300];
    app_authorize_text(result, channel, text, sizeof(text));
    return endpoint_error(ep, 403, text);
}

int endpoint_user(struct endpoint *ep, char *sub, size_t sublen, const char **out, char **info)
{
    *out = NULL;
    char **tokens = NULL;
    int ntokens = params_get_list(&ep->req->params, "token", &tokens, ENDPOINT_MAX_TOKENS);
    char err[200];
    /* data= counts only where presence keeps it (info wanted); elsewhere it is not read. */
    const char *data = info ? params_get(&ep->req->params, "data") : NULL;
    int status = app_identify(&ep->app, params_get(&ep->req->params, "user"), data, (const char *const *)tokens,
                              ntokens > 0 ? (size_t)ntokens : 0, sub, sublen, info, err, sizeof(err));
    params_list_free(tokens, ntokens > 0 ? ntokens : 0);
    if (status)
        return endpoint_error(ep, status, err);
    *out = sub[0] ? sub : NULL;
    return 0;
}

bool endpoint_may_read(struct endpoint *ep, const char *channel, const char *user)
{
    return endpoint_authorize(ep, false, channel, user) == AUTH_OK;
}

int endpoint_check_token(struct endpoint *ep, const char *channel, const char *user)
{
    return endpoint_authorize_reply(ep, channel, endpoint_authorize(ep, false, channel, user));
}

int endpoint_check_publish(struct endpoint *ep, const char *channel, const char *user)
{
    return endpoint_authorize_reply(ep, channel, endpoint_authorize(ep, true, channel, user));
}

int endpoint_int_param(struct endpoint *ep, const char *name, long long min, long long max,
                       long long fallback, long long *out)
{
    const char *text = params_get(&ep->req->params, name);
    if (!text || !*text) {
        *out = fallback;
        return 0;
    }
    if (validate_int(text, min, max, out))
        return 0;
    char msg[160];
    snprintf(msg, sizeof(msg), "%s: must be a whole number in %lld..%lld", name, min, max);
    return endpoint_error(ep, 400, msg);
}

int endpoint_check_channel(struct endpoint *ep, const char *name, const char *channel)
{
    const char *why = validate_channel_error(channel);
    if (!why)
        return 0;
    char msg[160];
    snprintf(msg, sizeof(msg), "%s: %s", name, why);
    return endpoint_error(ep, 400, msg);
}

const char *endpoint_channel_param(struct endpoint *ep, const char *name)
{
    const char *channel = params_get(&ep->req->params, name);
    if (!channel || !*channel) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s: missing", name);
        endpoint_error(ep, 400, msg);
        return NULL;
    }
    return endpoint_check_channel(ep, name, channel) < 0 ? NULL : channel;
}
