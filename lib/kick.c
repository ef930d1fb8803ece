/* kick.c: the users an operator kicked, per app, and when, kept in memory. */
#include "kick.h"
#include "buf.h"
#include "log.h"
#include "validate.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KICK_BUCKETS 4096

struct kick_entry {
    struct kick_entry *next;
    int app_id;
    int64_t kicked_ms;
    uint64_t serial;              /* kick_serial when kicked_ms last moved */
    char user[VALIDATE_USER_MAX + 1];
};

static pthread_mutex_t kick_lock = PTHREAD_MUTEX_INITIALIZER;
/* Serializes loads, so that two threads finding the table stale query once. */
static pthread_mutex_t kick_load_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kick_entry *kick_buckets[KICK_BUCKETS];
static int *kick_apps;             /* the apps with a kick, kick_napps of them */
static size_t kick_napps, kick_apps_cap;
static uint64_t kick_serial_last;  /* counts the changes of the table; guarded by kick_lock */
/* Loads asked for (kick_notified(NULL)) and the last one done: the table is stale while they differ. */
static atomic_uint kick_wanted = 1, kick_loaded = 0;

static const struct db_statement kick_load_sql = {
    "kick_load",
    "SELECT app_id, kicked_ms, user_id FROM push.user_kicks()",
    0,
};

static size_t kick_bucket(int app_id, const char *user)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)(unsigned)app_id;
    for (const unsigned char *p = (const unsigned char *)user; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)(h % KICK_BUCKETS);
}

/* Sets user's time to kicked_ms unless it holds a later one. Called with kick_lock held. */
static void kick_put(int app_id, const char *user, int64_t kicked_ms)
{
    struct kick_entry **head = &kick_buckets[kick_bucket(app_id, user)];
    for (struct kick_entry *e = *head; e; e = e->next) {
        if (e->app_id == app_id && strcmp(e->user, user) == 0) {
            if (kicked_ms > e->kicked_ms) {
                e->kicked_ms = kicked_ms;
                e->serial = ++kick_serial_last;
            }
            return;
        }
    }
    struct kick_entry *e = xcalloc(1, sizeof(*e));
    e->app_id = app_id;
    e->kicked_ms = kicked_ms;
    e->serial = ++kick_serial_last;
    snprintf(e->user, sizeof(e->user), "%s", user);
    e->next = *head;
    *head = e;
    for (size_t i = 0; i < kick_napps; i++)
        if (kick_apps[i] == app_id)
            return;
    if (kick_napps == kick_apps_cap) {
        kick_apps_cap = kick_apps_cap ? kick_apps_cap * 2 : 16;
        int *apps = xcalloc(kick_apps_cap, sizeof(*apps));
        if (kick_napps)
            memcpy(apps, kick_apps, kick_napps * sizeof(*apps));
        free(kick_apps);
        kick_apps = apps;
    }
    kick_apps[kick_napps++] = app_id;
}

bool kick_notified(const char *payload, int *app_id, char *user, size_t userlen)
{
    int id = 0, used = 0;
    int64_t ms = 0;
    if (!payload) {
        atomic_fetch_add(&kick_wanted, 1);
        return false;
    }
    if (sscanf(payload, "%d %" SCNd64 " %n", &id, &ms, &used) != 2 || used <= 0 ||
        !validate_user(payload + used) || strlen(payload + used) >= userlen || ms <= 0) {
        log_warn("kick: ignored a push_kick notification of another form: %.80s", payload);
        return false;
    }
    *app_id = id;
    snprintf(user, userlen, "%s", payload + used);
    pthread_mutex_lock(&kick_lock);
    kick_put(id, user, ms);
    pthread_mutex_unlock(&kick_lock);
    log_info("kick: user %s of app %d, tokens issued before %" PRId64 " ms refused", user, id, ms);
    return true;
}

bool kick_stale(void)
{
    return atomic_load(&kick_loaded) != atomic_load(&kick_wanted);
}

int kick_refresh(struct db_conn *conn, int *status)
{
    if (!kick_stale())
        return 0;
    pthread_mutex_lock(&kick_load_lock);
    int rc = 0;
    /* Read before the query: a reconnect meanwhile leaves it stale. */
    unsigned wanted = atomic_load(&kick_wanted);
    if (atomic_load(&kick_loaded) != wanted) {
        PGresult *res = db_exec(conn, &kick_load_sql, NULL);
        if (db_ok(res)) {
            pthread_mutex_lock(&kick_lock);
            for (int i = 0; i < PQntuples(res); i++)
                kick_put(atoi(PQgetvalue(res, i, 0)), PQgetvalue(res, i, 2), strtoll(PQgetvalue(res, i, 1), NULL, 10));
            pthread_mutex_unlock(&kick_lock);
            atomic_store(&kick_loaded, wanted);
        } else {
            *status = db_status(res, conn->pg);
            log_warn("kick: loading the kicks failed: %s", PQresultErrorMessage(res));
            rc = -1;
        }
        PQclear(res);
    }
    pthread_mutex_unlock(&kick_load_lock);
    return rc;
}

int64_t kick_time(int app_id, const char *user)
{
    int64_t ms = 0;
    pthread_mutex_lock(&kick_lock);
    for (struct kick_entry *e = kick_buckets[kick_bucket(app_id, user)]; e; e = e->next)
        if (e->app_id == app_id && strcmp(e->user, user) == 0)
            ms = e->kicked_ms;
    pthread_mutex_unlock(&kick_lock);
    return ms;
}

uint64_t kick_serial(void)
{
    pthread_mutex_lock(&kick_lock);
    uint64_t serial = kick_serial_last;
    pthread_mutex_unlock(&kick_lock);
    return serial;
}

bool kick_since(int app_id, const char *user, uint64_t serial)
{
    bool kicked = false;
    pthread_mutex_lock(&kick_lock);
    for (struct kick_entry *e = kick_buckets[kick_bucket(app_id, user)]; e; e = e->next)
        if (e->app_id == app_id && strcmp(e->user, user) == 0)
            kicked = e->serial > serial;
    pthread_mutex_unlock(&kick_lock);
    return kicked;
}

bool kick_app_has(int app_id)
{
    bool found = false;
    pthread_mutex_lock(&kick_lock);
    for (size_t i = 0; i < kick_napps && !found; i++)
        found = kick_apps[i] == app_id;
    pthread_mutex_unlock(&kick_lock);
    return found;
}
