/* touch.c: presence recorded by long-polls, batched into one statement per flush. */
#include "touch.h"
#include "buf.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOUCH_BUCKETS 4096

struct touch {
    int app_id;
    char *client;       /* owned */
    char *user;         /* owned, or NULL */
    char *info;         /* owned: the user's token's info claim (a JSON object), or NULL */
    struct buf channels; /* comma-separated (channel names have no commas) */
    struct touch *next;  /* hash chain, then the flush list */
};

static pthread_mutex_t touch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct touch *touch_buckets[TOUCH_BUCKETS];
static size_t touch_count;

static const struct db_statement touch_sql = {
    "poll_touch",
    "SELECT push.presence_touch(t.app, string_to_array(t.channels, ','), t.client, nullif(t.usr, ''),"
    " nullif(t.info, '')::jsonb)"
    " FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(app, channels, client, usr, info)",
    5,
};

static size_t touch_hash(int app_id, const char *client)
{
    size_t h = (size_t)app_id;
    for (const unsigned char *p = (const unsigned char *)client; *p; p++)
        h = h * 31 + *p;
    return h % TOUCH_BUCKETS;
}

static void touch_free(struct touch *t)
{
    free(t->client);
    free(t->user);
    free(t->info);
    buf_free(&t->channels);
    free(t);
}

void touch_queue(int app_id, char *const *channels, int nchannels, const char *client, const char *user,
                 const char *info)
{
    struct touch *t = xcalloc(1, sizeof(*t));
    t->app_id = app_id;
    t->client = xstrdup(client);
    t->user = user ? xstrdup(user) : NULL;
    t->info = info ? xstrdup(info) : NULL;
    for (int i = 0; i < nchannels; i++) {
        if (i)
            buf_puts(&t->channels, ",");
        buf_puts(&t->channels, channels[i]);
    }
    pthread_mutex_lock(&touch_lock);
    struct touch **link = &touch_buckets[touch_hash(app_id, client)];
    while (*link && ((*link)->app_id != app_id || strcmp((*link)->client, client) != 0))
        link = &(*link)->next;
    if (*link) {
        struct touch *old = *link;
        t->next = old->next;
        *link = t;
        touch_free(old);
    } else {
        *link = t;
        touch_count++;
    }
    pthread_mutex_unlock(&touch_lock);
}

int touch_flush(struct db_pool *pool)
{
    struct touch *list = NULL;
    pthread_mutex_lock(&touch_lock);
    size_t count = touch_count;
    for (size_t b = 0; b < TOUCH_BUCKETS && touch_count > 0; b++) {
        while (touch_buckets[b]) {
            struct touch *t = touch_buckets[b];
            touch_buckets[b] = t->next;
            t->next = list;
            list = t;
            touch_count--;
        }
    }
    pthread_mutex_unlock(&touch_lock);
    if (!list)
        return 0;

    struct buf apps = BUF_INIT, channels = BUF_INIT, clients = BUF_INIT, users = BUF_INIT, infos = BUF_INIT;
    char number[16];
    for (struct touch *t = list; t; t = t->next) {
        snprintf(number, sizeof(number), "%d", t->app_id);
        db_array_add(&apps, number);
        db_array_add(&channels, buf_str(&t->channels));
        db_array_add(&clients, t->client);
        db_array_add(&users, t->user ? t->user : "");
        db_array_add(&infos, t->info ? t->info : "");
    }
    const char *params[] = { db_array_end(&apps), db_array_end(&channels), db_array_end(&clients),
                             db_array_end(&users), db_array_end(&infos) };
    int rc = -1;
    struct db_conn *conn = db_pool_acquire(pool);
    if (conn) {
        PGresult *res = db_exec(conn, &touch_sql, params);
        if (db_ok(res))
            rc = (int)count;
        else
            log_warn("presence: writing %zu touches failed: %s", count, PQresultErrorMessage(res));
        PQclear(res);
        db_pool_release(pool, conn);
    } else {
        log_warn("presence: no database connection; %zu touches dropped", count);
    }
    buf_free(&apps);
    buf_free(&channels);
    buf_free(&clients);
    buf_free(&users);
    buf_free(&infos);
    while (list) {
        struct touch *t = list;
        list = t->next;
        touch_free(t);
    }
    return rc;
}
