/* app.c: an application resolved from one of its keys, with a short-lived cache (of unknown
 * keys too). */
#include "app.h"
#include "auth.h"
#include "params.h"
#include "buf.h"
#include "kick.h"
#include "log.h"
#include "reply.h"
#include "validate.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APP_CACHE_SLOTS 1024

struct app_cache_entry {
    char key_hash[AUTH_HASH_HEX];
    time_t expires;
    struct app app;
};

/* Keys PostgreSQL did not know, remembered apart (so that a flood of them cannot push known
 * keys out) for the same TTL. */
#define APP_UNKNOWN_SLOTS 1024

struct app_unknown_entry {
    char key_hash[AUTH_HASH_HEX];
    time_t expires;
};

static pthread_mutex_t app_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct app_cache_entry app_cache[APP_CACHE_SLOTS];
static struct app_unknown_entry app_unknown[APP_UNKNOWN_SLOTS];
static int app_cache_ttl = 10;

void app_cache_init(int ttl_seconds)
{
    app_cache_ttl = ttl_seconds;
}

static void app_fix_pointers(struct app *app)
{
    for (int i = 0; i < app->norigins; i++)
        app->origin_list[i] = app->origins[i];
}

static bool app_cache_get(const char *hash, struct app *out)
{
    bool found = false;
    time_t now = time(NULL);
    pthread_mutex_lock(&app_cache_lock);
    struct app_cache_entry *e = &app_cache[strtoul(hash + 56, NULL, 16) % APP_CACHE_SLOTS];
    if (e->expires > now && strcmp(e->key_hash, hash) == 0) {
        *out = e->app;
        found = true;
    }
    pthread_mutex_unlock(&app_cache_lock);
    if (found)
        app_fix_pointers(out);
    return found;
}

void app_cache_clear(void)
{
    pthread_mutex_lock(&app_cache_lock);
    for (size_t i = 0; i < APP_CACHE_SLOTS; i++)
        app_cache[i].expires = 0;
    for (size_t i = 0; i < APP_UNKNOWN_SLOTS; i++)
        app_unknown[i].expires = 0;
    pthread_mutex_unlock(&app_cache_lock);
}

/* Whether hash was looked up lately and found unknown. */
static bool app_unknown_get(const char *hash)
{
    time_t now = time(NULL);
    pthread_mutex_lock(&app_cache_lock);
    struct app_unknown_entry *e = &app_unknown[strtoul(hash + 56, NULL, 16) % APP_UNKNOWN_SLOTS];
    bool unknown = e->expires > now && strcmp(e->key_hash, hash) == 0;
    pthread_mutex_unlock(&app_cache_lock);
    return unknown;
}

static void app_unknown_put(const char *hash)
{
    if (app_cache_ttl <= 0)
        return;
    pthread_mutex_lock(&app_cache_lock);
    struct app_unknown_entry *e = &app_unknown[strtoul(hash + 56, NULL, 16) % APP_UNKNOWN_SLOTS];
    strcpy(e->key_hash, hash);
    e->expires = time(NULL) + app_cache_ttl;
    pthread_mutex_unlock(&app_cache_lock);
}

bool app_cache_find(const char *key, struct app *out)
{
    char hash[AUTH_HASH_HEX];
    auth_key_hash(key, hash);
    return app_cache_get(hash, out);
}

static void app_cache_put(const char *hash, const struct app *app)
{
    if (app_cache_ttl <= 0)
        return;
    pthread_mutex_lock(&app_cache_lock);
    struct app_cache_entry *e = &app_cache[strtoul(hash + 56, NULL, 16) % APP_CACHE_SLOTS];
    strcpy(e->key_hash, hash);
    e->expires = time(NULL) + app_cache_ttl;
    if (app->key_expires > 0 && app->key_expires < (long long)e->expires)
        e->expires = (time_t)app->key_expires;
    e->app = *app;
    pthread_mutex_unlock(&app_cache_lock);
}

/* Fills the origins from a JSON array of strings (the lookup's array_to_json). */
static void app_parse_origins(struct app *app, const char *json)
{
    app->norigins = 0;
    struct json_object *list = json_tokener_parse(json);
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n && app->norigins < APP_MAX_ORIGINS; i++) {
        const char *origin = json_object_get_string(json_object_array_get_idx(list, i));
        snprintf(app->origins[app->norigins++], APP_ORIGIN_MAX, "%s", origin ? origin : "");
    }
    json_object_put(list);
    app_fix_pointers(app);
}

static const struct db_statement app_lookup_sql = {
    "app_lookup",
    "SELECT app_id, role, name, secret, array_to_json(origins), client_publish, max_message_bytes, "
    "publish_rate, expires, claimed_users "
    "FROM push.key_lookup($1)",
    1,
};

int app_lookup(struct db_conn *conn, const char *key, struct app *out, int *status)
{
    char hash[AUTH_HASH_HEX];
    auth_key_hash(key, hash);
    if (app_cache_get(hash, out))
        return 1;
    if (app_unknown_get(hash))
        return 0;
    const char *params[] = { key };
    PGresult *res = db_exec(conn, &app_lookup_sql, params);
    if (!db_ok(res)) {
        *status = db_status(res, conn->pg);
        log_warn("key lookup failed: %s", PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        app_unknown_put(hash);
        return 0;
    }
    memset(out, 0, sizeof(*out));
    out->id = atoi(PQgetvalue(res, 0, 0));
    const char *role = PQgetvalue(res, 0, 1);
    out->role = strcmp(role, "server") == 0    ? APP_ROLE_SERVER
                : strcmp(role, "publish") == 0 ? APP_ROLE_PUBLISH
                                               : APP_ROLE_SUBSCRIBE;
    snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(res, 0, 2));
    snprintf(out->secret, sizeof(out->secret), "%s", PQgetvalue(res, 0, 3));
    app_parse_origins(out, PQgetvalue(res, 0, 4));
    out->client_publish = PQgetvalue(res, 0, 5)[0] == 't';
    out->max_message_bytes = atoi(PQgetvalue(res, 0, 6));
    out->publish_rate = atoi(PQgetvalue(res, 0, 7));
    out->key_expires = PQgetisnull(res, 0, 8) ? 0 : strtoll(PQgetvalue(res, 0, 8), NULL, 10);
    out->claimed_users = PQgetvalue(res, 0, 9)[0] == 't';
    PQclear(res);
    app_cache_put(hash, out);
    return 1;
}

bool app_info_claimed(const char *info)
{
    struct json_object *obj = info ? json_tokener_parse(info) : NULL, *verified;
    bool claimed = json_object_is_type(obj, json_type_object) &&
                   json_object_object_get_ex(obj, "verified", &verified) &&
                   json_object_is_type(verified, json_type_boolean) && !json_object_get_boolean(verified);
    json_object_put(obj);
    return claimed;
}

bool app_origin_allowed(const struct app *app, const char *origin)
{
    return reply_origin_allowed(origin, app->origin_list, (size_t)app->norigins);
}

/* Whether token, given on channel for user (the connection's user; NULL: none), was issued
 * before a kick of its user: a JWT whose sub was kicked after its iat (without iat: at any
 * time), or an HMAC token that opens channel for a kicked user only (it tells no issue time):
 * one for user-<id>, or one bound to the user. Any other token is judged for what it is. */
static bool app_token_revoked(int app_id, const char *secret, const char *channel, const char *token,
                              const char *user, int64_t now)
{
    if (!token || !*token)
        return false;
    if (!strchr(token, '.')) {
        const char *owner = validate_channel_user(channel);
        if (owner)
            user = owner;
        if (!user || kick_time(app_id, user) == 0 || auth_token_verify(secret, channel, user, token, now) != AUTH_OK)
            return false;
        return owner || auth_token_verify(secret, channel, NULL, token, now) != AUTH_OK;
    }
    struct auth_claims claims;
    if (auth_jwt_decode(secret, token, now, &claims) != AUTH_OK)
        return false; /* refused for what it is, not for a kick */
    int64_t kicked = claims.sub ? kick_time(app_id, claims.sub) : 0;
    bool revoked = kicked > 0 && claims.iat_ms < kicked;
    auth_claims_free(&claims);
    return revoked;
}

/* The tokens no kick revoked (app_token_revoked), into kept (room for ntokens). Returns their
 * number; *revoked tells whether one was left out. An app without kicks keeps them all. */
static size_t app_tokens_kept(int app_id, const char *secret, const char *channel, const char *user,
                              const char *const *tokens, size_t ntokens, int64_t now, const char **kept,
                              bool *revoked)
{
    size_t n = 0;
    bool check = kick_app_has(app_id);
    *revoked = false;
    for (size_t i = 0; i < ntokens; i++) {
        if (check && app_token_revoked(app_id, secret, channel, tokens[i], user, now))
            *revoked = true;
        else
            kept[n++] = tokens[i];
    }
    return n;
}

/* A claimed user's data parameter (text, already checked by app_data_parse) with
 * "verified": false set, serialized; the caller frees it. */
static char *app_data_claimed(struct json_object *data)
{
    json_object_object_add(data, "verified", json_object_new_boolean(0));
    return xstrdup(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* The data parameter as a JSON object (caller puts), or NULL with 400's err. */
static struct json_object *app_data_parse(const char *data, char *err, size_t errlen)
{
    size_t n = strlen(data);
    if (n > APP_DATA_MAX) {
        snprintf(err, errlen, "data: larger than %d bytes", APP_DATA_MAX);
        return NULL;
    }
    struct json_object *obj = validate_utf8(data, n) ? params_json_object(data, n, 16, true) : NULL;
    if (obj && !strstr(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN), "\\u0000"))
        return obj;
    json_object_put(obj);
    snprintf(err, errlen, "data: must be a JSON object (" APP_DATA_RULE ")");
    return NULL;
}

int app_identify(const struct app *app, const char *user, const char *data, const char *const *tokens,
                 size_t ntokens, char *out, size_t outlen, char **info, char *err, size_t errlen)
{
    out[0] = '\0';
    if (info)
        *info = NULL;
    if (user && !*user)
        user = NULL;
    struct json_object *given = NULL;
    if (data && *data && !(given = app_data_parse(data, err, errlen)))
        return 400;
    if (user && validate_user_error(user)) {
        snprintf(err, errlen, "user: %s", validate_user_error(user));
        json_object_put(given);
        return 400;
    }
    time_t now = time(NULL);
    char channel[VALIDATE_USER_MAX + 8] = "";
    if (user)
        snprintf(channel, sizeof(channel), "user-%s", user);
    const char **kept = xcalloc(ntokens ? ntokens : 1, sizeof(*kept));
    bool revoked = false;
    ntokens = app_tokens_kept(app->id, app->secret, channel, user, tokens, ntokens, now, kept, &revoked);
    tokens = kept;
    int status = 0;
    char sub[VALIDATE_USER_MAX + 2];
    char *claimed_info = NULL;
    enum auth_result subject = revoked ? AUTH_REVOKED
                                       : auth_tokens_subject(app->secret, tokens, ntokens, now, sub, sizeof(sub),
                                                             &claimed_info);
    if (subject == AUTH_REVOKED) {
        snprintf(err, errlen, "%s", auth_result_text(AUTH_REVOKED));
        status = 403;
    } else if (subject == AUTH_JWT_USER) {
        snprintf(err, errlen, "token: the tokens name different users");
        status = 403;
    } else if (subject == AUTH_OK) {
        if (validate_user_error(sub)) {
            free(claimed_info);
            snprintf(err, errlen, "token: sub %s", validate_user_error(sub));
            status = 400;
        } else if (user && strcmp(user, sub) != 0) {
            free(claimed_info);
            snprintf(err, errlen, "user: the token is %s's, not %s's", sub, user);
            status = 403;
        } else {
            snprintf(out, outlen, "%s", sub);
            if (info)
                *info = claimed_info;
            else
                free(claimed_info);
        }
    } else if (user) {
        if (app->role == APP_ROLE_SERVER ||
            auth_tokens_verify(app->secret, channel, user, tokens, ntokens, now) == AUTH_OK) {
            snprintf(out, outlen, "%s", user);
        } else if (app->claimed_users) {
            /* Only claimed: presence shows it so (SECURITY.md). */
            snprintf(out, outlen, "%s", user);
            if (info)
                *info = given ? app_data_claimed(given) : xstrdup(APP_INFO_UNVERIFIED);
        }
    }
    json_object_put(given);
    free(kept);
    return status;
}

enum auth_result app_authorize(int app_id, enum app_role role, const char *secret, bool publish, const char *channel,
                               const char *user, const char *const *tokens, size_t ntokens)
{
    if (publish && role == APP_ROLE_SUBSCRIBE)
        return AUTH_ROLE;
    if (role == APP_ROLE_SERVER || !validate_channel_needs_token(channel))
        return AUTH_OK;
    /* A user's read events are read with what opens the user's own channel. */
    const char *user_channel = publish ? NULL : validate_channel_read_events(channel);
    if (user_channel)
        channel = user_channel;
    time_t now = time(NULL);
    const char **kept = xcalloc(ntokens ? ntokens : 1, sizeof(*kept));
    bool revoked = false;
    size_t nkept = app_tokens_kept(app_id, secret, channel, user, tokens, ntokens, now, kept, &revoked);
    enum auth_result result = (publish ? auth_tokens_verify_publish : auth_tokens_verify)(secret, channel, user,
                                                                                         kept, nkept, now);
    free(kept);
    return result != AUTH_OK && revoked ? AUTH_REVOKED : result;
}

void app_authorize_text(enum auth_result result, const char *channel, char *out, size_t outlen)
{
    if (result == AUTH_ROLE || result == AUTH_REVOKED)
        snprintf(out, outlen, "%s", auth_result_text(result));
    else
        snprintf(out, outlen, "%s (%s)", auth_result_text(result), channel);
}
