/* presence.c: who is on which channel, written to push.presence in batches (a touch when a
 * named client's subscriptions change and every presence_ttl / 2, a leave when it goes). */
#include "presence.h"
#include "buf.h"
#include "channel.h"
#include "client.h"
#include "jobs.h"
#include "log.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>

static const struct db_statement presence_touch_sql = {
    "ws_presence_touch",
    "SELECT push.presence_touch($1, $2::text[], $3, $4, $5::jsonb)",
    5,
};

static const struct db_statement presence_leave_sql = {
    "ws_presence_leave",
    "SELECT push.presence_leave($1, $2::text[], $3)",
    3,
};

struct presence_item {
    bool leave;
    char app_id[16];
    char client[VALIDATE_USER_MAX + 1];
    char user[VALIDATE_USER_MAX + 1];
    char *info;       /* owned copy of the client's token's info claim, or NULL */
    char *channels;   /* owned array literal "{a,b}"; NULL for every channel (leave) */
};

struct presence_job {
    struct job job;
    size_t count;
    struct presence_item *items;  /* owned */
};

static void presence_run(struct job *job, struct db_conn *db)
{
    struct presence_job *p = (struct presence_job *)job;
    PGresult *res = db_exec_simple(db, "BEGIN");
    bool ok = db_ok(res);
    PQclear(res);
    for (size_t i = 0; ok && i < p->count; i++) {
        struct presence_item *it = &p->items[i];
        if (it->leave) {
            const char *params[] = { it->app_id, it->channels, it->client };
            res = db_exec(db, &presence_leave_sql, params);
        } else {
            const char *params[] = { it->app_id, it->channels, it->client, it->user[0] ? it->user : NULL,
                                     it->info };
            res = db_exec(db, &presence_touch_sql, params);
        }
        if (!db_ok(res)) {
            log_warn("presence of client %s: %s", it->client, PQresultErrorMessage(res));
            ok = false;
        }
        PQclear(res);
    }
    res = db_exec_simple(db, ok ? "COMMIT" : "ROLLBACK");
    PQclear(res);
}

/* Best effort: a failed write is redone by the next touch, and stale rows expire. */
static void presence_done(struct job *job)
{
    struct presence_job *p = (struct presence_job *)job;
    for (size_t i = 0; i < p->count; i++) {
        free(p->items[i].channels);
        free(p->items[i].info);
    }
    free(p->items);
    free(p);
}

static struct presence_job *presence_job_new(size_t count)
{
    struct presence_job *p = xcalloc(1, sizeof(*p));
    p->job.run = presence_run;
    p->job.done = presence_done;
    p->items = xcalloc(count, sizeof(*p->items));
    return p;
}

static void presence_item_fill(struct presence_item *it, const struct client *c, bool leave)
{
    it->leave = leave;
    snprintf(it->app_id, sizeof(it->app_id), "%d", c->hello.app_id);
    snprintf(it->client, sizeof(it->client), "%s", c->hello.id);
    snprintf(it->user, sizeof(it->user), "%s", c->hello.user);
    it->info = leave || !c->hello.info ? NULL : xstrdup(c->hello.info);
}

void presence_mark(struct server *server, struct client *c)
{
    if (!c->hello.id[0] || !c->wsi || c->presence_dirty)
        return;
    c->presence_dirty = true;
    client_hold(c);
    c->presence_next = server->presence_dirty;
    server->presence_dirty = c;
}

void presence_leave(struct server *server, struct client *c, const char *channel)
{
    if (!c->hello.id[0] || server->stopping)
        return;
    struct presence_job *p = presence_job_new(1);
    presence_item_fill(&p->items[0], c, true);
    if (channel) {
        struct buf array = BUF_INIT;
        db_array_add(&array, channel); /* quoted: a channel named NULL is a name, not SQL NULL */
        db_array_end(&array);
        p->items[0].channels = array.data;
    }
    p->count = 1;
    jobs_submit(server->jobs, &p->job);
}

void presence_tick(struct server *server, time_t now)
{
    int every = server->cfg->presence_ttl / 2;
    if (now - server->presence_at >= (every > 0 ? every : 1)) {
        server->presence_at = now;
        for (struct list_link *l = server->clients.first; l; l = l->next) {
            struct client *c = LINK_ENTRY(l, struct client, link);
            if (c->sink.nsubs > 0)
                presence_mark(server, c);
        }
    }
    size_t count = 0;
    for (struct client *c = server->presence_dirty; c; c = c->presence_next)
        count++;
    if (count == 0)
        return;
    struct presence_job *p = presence_job_new(count);
    struct client *next;
    for (struct client *c = server->presence_dirty; c; c = next) {
        next = c->presence_next;
        c->presence_dirty = false;
        if (c->wsi && c->sink.nsubs > 0 && !c->close_status) {
            struct presence_item *it = &p->items[p->count++];
            presence_item_fill(it, c, false);
            struct buf array = BUF_INIT;
            for (struct list_link *l = c->sink.subs.first; l; l = l->next)
                db_array_add(&array, LINK_ENTRY(l, struct sub, sink_link)->channel->name);
            db_array_end(&array);
            it->channels = array.data;
        }
        client_release(c);
    }
    server->presence_dirty = NULL;
    if (p->count)
        jobs_submit(server->jobs, &p->job);
    else
        presence_done(&p->job);
}

void presence_clear(struct server *server)
{
    struct client *next;
    for (struct client *c = server->presence_dirty; c; c = next) {
        next = c->presence_next;
        c->presence_dirty = false;
        client_release(c);
    }
    server->presence_dirty = NULL;
}
