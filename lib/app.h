/* app.h: an application resolved from a publish or subscribe key, with a cache that a TTL and
 * app-change notifications keep fresh. */
#ifndef PUSH_APP_H
#define PUSH_APP_H

#include <stdbool.h>

#include "db.h"

#define APP_MAX_ORIGINS 16
#define APP_ORIGIN_MAX 256

enum app_role {
    APP_ROLE_SUBSCRIBE = 0,
    APP_ROLE_PUBLISH,
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

#endif
