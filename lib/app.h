/* app.h: an application resolved from one of its keys (subscribe, publish or server), with a
 * cache that a TTL, the key's own end and app-change notifications keep fresh. */
#ifndef PUSH_APP_H
#define PUSH_APP_H

#include <stdbool.h>

#include "db.h"

#define APP_MAX_ORIGINS 16
#define APP_ORIGIN_MAX 256

/* What the key that found an app may do (SECURITY.md): the subscribe key reads public channels,
 * the publish key also publishes to them, the server key (backends only) does anything. On
 * private-* and user-* channels the first two need a token. */
enum app_role {
    APP_ROLE_SUBSCRIBE = 0,
    APP_ROLE_PUBLISH,
    APP_ROLE_SERVER,
};

struct app {
    int id;
    enum app_role role;          /* role of the key that found it */
    char name[128];
    char secret[129];
    char origins[APP_MAX_ORIGINS][APP_ORIGIN_MAX];
    const char *origin_list[APP_MAX_ORIGINS]; /* non-owning, into origins */
    int norigins;
    bool client_publish;
    int max_message_bytes;
    int publish_rate;
    long long key_expires;       /* Unix time the key stops working (a rotation); 0 = not planned */
    bool claimed_users;          /* pages may name their user without a token (presence only) */
};

/* Sets how long a lookup is remembered (seconds, 0 = never). Call once at start-up. */
void app_cache_init(int ttl_seconds);

/* Forgets every cached lookup (an app changed). Safe from any thread. */
void app_cache_clear(void);

/* Finds the app of key in the cache only. Returns true when found (out filled). */
bool app_cache_find(const char *key, struct app *out);

/* Finds the app of key, from the cache or with push.key_lookup(); a key found unknown is
 * remembered as unknown for the cache's TTL too (app_cache_clear() forgets it).
 * Returns 1 found (out filled), 0 unknown key, or -1 with *status set (503/500) on a
 * database error. */
int app_lookup(struct db_conn *conn, const char *key, struct app *out, int *status)
    __attribute__((warn_unused_result));

bool app_origin_allowed(const struct app *app, const char *origin);

/* The key roles' rule for one channel of app app_id, on every transport: the server key may
 * anything; the subscribe key never publishes; with the others a private-* or user-* channel
 * needs one of tokens that opens it for user (NULL: none named), for publishing by its publish
 * claim, and that no kick revoked (kick.h: issued before its user was kicked). Returns AUTH_OK,
 * AUTH_ROLE, AUTH_REVOKED when only a revoked token would have opened it, or why the tokens do
 * not open it. read-user-<id> (the user's read events) is read with what opens user-<id>. */
enum auth_result app_authorize(int app_id, enum app_role role, const char *secret, bool publish, const char *channel,
                               const char *user, const char *const *tokens, size_t ntokens);

/* An error text for a refusal of app_authorize: its reason, and the channel after a token's. */
void app_authorize_text(enum auth_result result, const char *channel, char *out, size_t outlen);

/* The info presence keeps for a user who only claimed their id (app_identify). */
#define APP_INFO_UNVERIFIED "{\"verified\":false}"

/* A claimed user's own data (the data= parameter of a WebSocket, SSE or long-poll request):
 * at most APP_DATA_MAX bytes of JSON object text, kept in presence with "verified": false. */
#define APP_DATA_MAX 1024
#define APP_DATA_RULE "at most 1024 bytes of UTF-8 JSON object text, no \\u0000, nested at most 15 deep"

/* Is info (presence's JSON text, or NULL) marked "verified": false, as a claimed user's is? */
bool app_info_claimed(const char *info);

/* Who a request or connection is, from its user parameter (NULL or "" when absent) and token
 * values: a valid JWT's sub (a user parameter that disagrees, or two subs, are refused);
 * else the user parameter when the server key is used, the app takes claimed users, or one
 * of the tokens opens that user's channel user-<id>; else nobody (anonymous). A token a kick
 * revoked (kick.h) is refused (403). Writes the user or "" into out (outlen >=
 * VALIDATE_USER_MAX + 1). With info, *info is the token's info claim (a copy the caller frees),
 * for a user only claimed (no token, not the server key) the data parameter (NULL or "" when
 * absent, APP_DATA_RULE) with "verified": false set, or APP_INFO_UNVERIFIED without one; else
 * NULL. Data is checked whenever given (400) and otherwise ignored: a token's info wins.
 * Returns 0, or 400/403 with err (*info NULL). */
int app_identify(const struct app *app, const char *user, const char *data, const char *const *tokens,
                 size_t ntokens, char *out, size_t outlen, char **info, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
