/* channel.c: the channels one sidecar process serves: one poller watcher and one ring of
 * recent frames per channel, whatever the number of subscribers, and each subscription's
 * way from its `since` (replayed from the ring or PostgreSQL) to live delivery. */
#include "channel.h"
#include "buf.h"
#include "frame.h"
#include "jobs.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "server.h"
#include "sink.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A channel nobody subscribes to keeps its ring this long, for clients that come back. */
#define CHANNEL_LINGER_SECONDS 60
/* Rows per database read, for catch-up and replays (also bounded in bytes: a quarter of
 * ws_queue_bytes). */
#define CHANNEL_FETCH_LIMIT 500

struct channels {
    struct server *server;     /* non-owning */
    struct table by_name;      /* owned channels, on name_link */
    struct table by_id;        /* the same once opened, on id_link */
};

static const struct db_statement channel_open_sql = {
    "ws_channel_open",
    "SELECT channel_id, last_seq FROM push.channel_open($1::int, ARRAY[$2::text])",
    2,
};

static const struct db_statement channel_head_sql = {
    "ws_channel_head",
    "SELECT last_seq FROM push.channel_head($1)",
    1,
};

/* ---- the table ---- */

static size_t channel_hash_name(int app_id, const char *name)
{
    return table_hash_text((uint64_t)app_id, name);
}

struct channels *channels_new(struct server *server)
{
    struct channels *t = xcalloc(1, sizeof(*t));
    t->server = server;
    table_init(&t->by_name, 256);
    table_init(&t->by_id, 256);
    return t;
}

static void channels_link_id(struct channels *t, struct channel *ch)
{
    if (ch->id_linked)
        table_remove(&t->by_id, &ch->id_link);
    table_add(&t->by_id, &ch->id_link, table_hash_int(ch->id));
    ch->id_linked = true;
}

static struct channel *channels_find_id(struct channels *t, int64_t id)
{
    for (struct table_link *l = table_first(&t->by_id, table_hash_int(id)); l; l = table_next(l)) {
        struct channel *ch = LINK_ENTRY(l, struct channel, id_link);
        if (ch->id == id)
            return ch;
    }
    return NULL;
}

static void channel_on_batch(struct poller_watcher *w, struct poller_batch *batch);
static void channel_on_listener(struct poller_watcher *w, bool up);

/* The channel of app_id and name, created (closed) when missing. */
static struct channel *channels_get(struct channels *t, int app_id, const char *name)
{
    size_t h = channel_hash_name(app_id, name);
    for (struct table_link *l = table_first(&t->by_name, h); l; l = table_next(l)) {
        struct channel *ch = LINK_ENTRY(l, struct channel, name_link);
        if (ch->app_id == app_id && strcmp(ch->name, name) == 0)
            return ch;
    }
    struct channel *ch = xcalloc(1, sizeof(*ch));
    ch->server = t->server;
    ch->app_id = app_id;
    snprintf(ch->name, sizeof(ch->name), "%s", name);
    ch->watcher.on_batch = channel_on_batch;
    ch->watcher.on_listener = channel_on_listener;
    ch->watcher.ctx = ch;
    ch->idle_since = time(NULL);
    table_add(&t->by_name, &ch->name_link, h);
    metrics_set(METRIC_CHANNELS, (int64_t)t->by_name.count);
    return ch;
}

static void channels_unlink(struct channels *t, struct channel *ch)
{
    table_remove(&t->by_name, &ch->name_link);
    if (ch->id_linked)
        table_remove(&t->by_id, &ch->id_link);
    ch->id_linked = false;
    metrics_set(METRIC_CHANNELS, (int64_t)t->by_name.count);
}

static void channel_free(struct channels *t, struct channel *ch)
{
    channels_unlink(t, ch);
    if (ch->state == CHANNEL_READY)
        poller_unwatch(t->server->poller, &ch->watcher, ch->id);
    if (ch->ring)
        for (int i = 0; i < t->server->cfg->ws_ring; i++)
            frame_release(ch->ring[i]);
    free(ch->ring);
    free(ch);
}

void channels_sweep(struct channels *t, time_t now)
{
    for (size_t i = 0; i < t->by_name.nbuckets; i++) {
        struct table_link *next;
        for (struct table_link *l = t->by_name.buckets[i]; l; l = next) {
            next = l->next;
            struct channel *ch = LINK_ENTRY(l, struct channel, name_link);
            if (ch->refs == 0 && now - ch->idle_since >= CHANNEL_LINGER_SECONDS)
                channel_free(t, ch);
        }
    }
}

void channels_free(struct channels *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->by_name.nbuckets; i++)
        while (t->by_name.buckets[i])
            channel_free(t, LINK_ENTRY(t->by_name.buckets[i], struct channel, name_link));
    table_free(&t->by_name);
    table_free(&t->by_id);
    free(t);
}

static void channel_release(struct channel *ch)
{
    if (--ch->refs == 0)
        ch->idle_since = time(NULL);
}

/* ---- the ring and live delivery ---- */

static int64_t channel_ring_size(const struct channel *ch)
{
    return ch->server->cfg->ws_ring;
}

/* Puts f (head + 1, or a jump over pruned rows) in the ring and makes it the head. */
static void channel_ring_put(struct channel *ch, struct frame *f)
{
    int64_t size = channel_ring_size(ch);
    if (!ch->ring)
        ch->ring = xcalloc((size_t)size, sizeof(*ch->ring));
    if (f->seq != ch->head + 1) {
        for (int64_t i = 0; i < size; i++) {
            frame_release(ch->ring[i]);
            ch->ring[i] = NULL;
        }
        ch->ring_low = f->seq;
    }
    struct frame **slot = &ch->ring[f->seq % size];
    frame_release(*slot);
    frame_hold(f);
    *slot = f;
    ch->head = f->seq;
    if (ch->head - ch->ring_low + 1 > size)
        ch->ring_low = ch->head - size + 1;
}

/* Takes f in and queues it for every live subscriber that has not had it. A sink never ends
 * a subscription while it is sent something (sink.h), so the list holds still. */
static void channel_take(struct channel *ch, struct frame *f)
{
    channel_ring_put(ch, f);
    struct list_link *next;
    for (struct list_link *l = ch->subs.first; l; l = next) {
        next = l->next;
        struct sub *s = LINK_ENTRY(l, struct sub, link);
        if (s->state != SUB_LIVE || f->seq < s->next_seq)
            continue;
        s->next_seq = f->seq + 1;
        s->sink->ops->send(s->sink, f);
    }
}

/* Takes in rows that follow the head. A row beyond head + 1 is a hole (notifications ahead of
 * what was read): returns false so the caller reads the database, unless the rows come from
 * that read, where a jump means the rows between were pruned. */
static bool channel_take_rows(struct channel *ch, struct frame **frames, size_t count, bool from_database)
{
    for (size_t i = 0; i < count; i++) {
        struct frame *f = frames[i];
        if (f->seq <= ch->head)
            continue;
        if (f->seq != ch->head + 1) {
            if (!from_database)
                return false;
            log_warn("channel %s: seqs %lld..%lld were pruned before delivery", ch->name,
                     (long long)ch->head + 1, (long long)f->seq - 1);
        }
        channel_take(ch, f);
    }
    return true;
}

/* ---- database reads ---- */

struct fetch_job {
    struct job job;
    struct channel *channel;   /* holds a reference */
    struct sink *sink;         /* holds a reference; NULL for the channel's own catch-up */
    uint64_t serial;           /* the subscription the read is for */
    int64_t channel_id;
    int64_t after;
    size_t budget;             /* bytes of frames one read may hold (at least one row) */
    struct frame **frames;     /* owned references */
    size_t count;
    bool more;                 /* rows after these were left for the next read */
};

static void fetch_run(struct job *job, struct db_conn *db)
{
    struct fetch_job *j = (struct fetch_job *)job;
    char id[24], after[24], limit[16];
    snprintf(id, sizeof(id), "%lld", (long long)j->channel_id);
    snprintf(after, sizeof(after), "%lld", (long long)j->after);
    snprintf(limit, sizeof(limit), "%d", CHANNEL_FETCH_LIMIT);
    const char *params[] = { id, after, limit };
    PGresult *res = db_exec(db, &message_after_sql, params);
    if (!db_ok(res)) {
        job_fail(job, "reading a channel", res, db->pg);
        PQclear(res);
        return;
    }
    int n = PQntuples(res);
    size_t bytes = 0;
    j->frames = xcalloc((size_t)n + 1, sizeof(*j->frames));
    j->more = n == CHANNEL_FETCH_LIMIT;
    for (int i = 0; i < n; i++) {
        if (i > 0 && bytes >= j->budget) {
            j->more = true;
            break;
        }
        struct frame *f = frame_message(j->channel->name, strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                        PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1),
                                        strtoll(PQgetvalue(res, i, 2), NULL, 10));
        bytes += frame_wire_len(f);
        j->frames[j->count++] = f;
    }
    PQclear(res);
}

static void fetch_free(struct fetch_job *j)
{
    for (size_t i = 0; i < j->count; i++)
        frame_release(j->frames[i]);
    free(j->frames);
    channel_release(j->channel);
    if (j->sink)
        j->sink->ops->release(j->sink);
    free(j);
}

static void fetch_done_fill(struct job *job);
static void fetch_done_sub(struct job *job);

static void channel_fetch(struct channel *ch, struct sink *sink, uint64_t serial, int64_t after)
{
    struct fetch_job *j = xcalloc(1, sizeof(*j));
    j->job.run = fetch_run;
    j->job.done = sink ? fetch_done_sub : fetch_done_fill;
    j->job.owner = sink;
    j->channel = ch;
    ch->refs++;
    if (sink) {
        j->sink = sink;
        sink->ops->hold(sink);
    }
    j->serial = serial;
    j->channel_id = ch->id;
    j->after = after;
    j->budget = (size_t)ch->server->cfg->ws_queue_bytes / 4;
    jobs_submit(ch->server->jobs, &j->job);
}

/* Reads what follows the head from the database: after opening, when a notification shows a
 * hole, and when the listener is back. */
static void channel_fill(struct channel *ch)
{
    if (ch->state != CHANNEL_READY || ch->server->stopping)
        return;
    if (ch->filling) {
        ch->fill_again = true;
        return;
    }
    ch->filling = true;
    ch->fill_again = false;
    channel_fetch(ch, NULL, 0, ch->head);
}

static void fetch_done_fill(struct job *job)
{
    struct fetch_job *j = (struct fetch_job *)job;
    struct channel *ch = j->channel;
    ch->filling = false;
    if (ch->state == CHANNEL_READY) {
        if (j->job.status == 0) {
            channel_take_rows(ch, j->frames, j->count, true);
            if (j->more)
                ch->fill_again = true;
        }
        /* A failed read is retried when the listener is back or the next notification
         * shows the hole again. */
        if (ch->fill_again)
            channel_fill(ch);
    }
    fetch_free(j);
}

/* ---- subscriptions ---- */

static void sub_drop_replay(struct sub *s)
{
    for (size_t i = s->replay_pos; i < s->replay_count; i++)
        frame_release(s->replay[i]);
    free(s->replay);
    s->replay = NULL;
    s->replay_count = s->replay_pos = 0;
}

/* Queues {"op":"subscribed",..} with seq the position delivery starts from: the next message
 * this subscription gets is seq + 1 (not the channel's head, which PostgreSQL may have moved
 * past already). Returns 0, or -1 when the sink is closing. */
static int sub_reply(struct sub *s, bool gap)
{
    struct channel *ch = s->channel;
    struct json_object *obj = json_object_new_object();
    json_object_object_add(obj, "op", json_object_new_string("subscribed"));
    json_object_object_add(obj, "channel", json_object_new_string(ch->name));
    json_object_object_add(obj, "seq", json_object_new_int64(s->next_seq - 1));
    json_object_object_add(obj, "gap", json_object_new_boolean(gap));
    if (s->request_id)
        json_object_object_add(obj, "id", json_object_get(s->request_id));
    struct frame *f = frame_from_json("subscribed", obj);
    json_object_put(obj);
    snprintf(f->channel, sizeof(f->channel), "%s", ch->name);
    f->seq = s->next_seq - 1;
    json_object_put(s->request_id);
    s->request_id = NULL;
    s->replied = true;
    int rc = s->sink->ops->send(s->sink, f);
    frame_release(f);
    return rc;
}

/* Ends a subscription with an error reply. */
static void sub_fail(struct sub *s, int status, const char *error)
{
    struct sink *sink = s->sink;
    struct frame *f = frame_error(s->request_id, status, error, s->channel->name);
    channel_unsubscribe(s);
    sink->ops->send(sink, f);
    frame_release(f);
}

static void sub_fetch(struct sub *s)
{
    s->fetching = true;
    channel_fetch(s->channel, s->sink, s->serial, s->next_seq - 1);
}

void channel_pump(struct sub *s)
{
    struct channel *ch = s->channel;
    while (s->state == SUB_REPLAY && !s->fetching) {
        if (s->next_seq > ch->head) {
            s->state = SUB_LIVE;
            sub_drop_replay(s);
            return;
        }
        if (!s->sink->ops->has_room(s->sink))
            return;
        struct frame *f;
        if (s->next_seq >= ch->ring_low) {
            f = ch->ring[s->next_seq % channel_ring_size(ch)];
        } else {
            while (s->replay_pos < s->replay_count && s->replay[s->replay_pos]->seq < s->next_seq)
                frame_release(s->replay[s->replay_pos++]);
            if (s->replay_pos == s->replay_count) {
                sub_drop_replay(s);
                sub_fetch(s);
                return;
            }
            f = s->replay[s->replay_pos]; /* released with the replay buffer */
        }
        s->next_seq = f->seq + 1;
        if (s->sink->ops->send(s->sink, f) < 0)
            return;
    }
}

static void sub_check_head(struct sub *s);

/* Starts a subscription on a ready channel: live at once, or a replay first. */
static void sub_start(struct sub *s)
{
    struct channel *ch = s->channel;
    if (s->has_since && s->since > ch->head) {
        /* Ahead of what this process has seen: a notification still on its way, or a channel
         * whose history was reset. PostgreSQL tells which. */
        sub_check_head(s);
        return;
    }
    if (!s->has_since || s->since == ch->head) {
        s->next_seq = ch->head + 1;
        s->state = SUB_LIVE;
        (void)sub_reply(s, false);
        return;
    }
    s->next_seq = s->since + 1;
    s->state = SUB_REPLAY;
    if (s->next_seq >= ch->ring_low) {
        if (sub_reply(s, false) == 0)
            channel_pump(s);
        return;
    }
    /* The reply waits for the first read: it says whether history is missing. */
    sub_fetch(s);
}

static void fetch_done_sub(struct job *job)
{
    struct fetch_job *j = (struct fetch_job *)job;
    struct sub *s = channel_find_sub(j->sink, j->channel->name);
    if (!s || s->serial != j->serial)
        goto out;
    struct channel *ch = s->channel;
    s->fetching = false;
    if (j->job.status) {
        sub_fail(s, j->job.status, j->job.error);
        goto out;
    }
    sub_drop_replay(s);
    s->replay = j->frames;
    s->replay_count = j->count;
    j->frames = NULL;
    j->count = 0;
    /* Nothing read while the ring starts above next_seq: the rows between were pruned. */
    int64_t first = s->replay_count ? s->replay[0]->seq : ch->ring_low;
    bool gap = first > s->next_seq;
    if (gap)
        s->next_seq = first;
    if (!s->replied && sub_reply(s, gap && s->since > 0) < 0)
        goto out;
    channel_pump(s);
out:
    fetch_free(j);
}

/* Reads a channel's head in PostgreSQL for a subscription whose since is ahead of ours. */
struct head_job {
    struct job job;
    struct channel *channel;   /* holds a reference */
    struct sink *sink;         /* holds a reference */
    uint64_t serial;
    int64_t channel_id;
    int64_t last_seq;
};

static void head_run(struct job *job, struct db_conn *db)
{
    struct head_job *j = (struct head_job *)job;
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)j->channel_id);
    const char *params[] = { id };
    PGresult *res = db_exec(db, &channel_head_sql, params);
    if (!db_ok(res) || PQntuples(res) != 1) {
        job_fail(job, "reading a channel's head", res, db->pg);
    } else {
        j->last_seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
}

static void head_done(struct job *job)
{
    struct head_job *j = (struct head_job *)job;
    struct sub *s = channel_find_sub(j->sink, j->channel->name);
    if (s && s->serial == j->serial) {
        if (j->job.status) {
            sub_fail(s, j->job.status, j->job.error);
        } else {
            /* Beyond the real head the channel's history was reset: start again from the
             * head, as long-poll does; else deliver after since as it arrives. */
            bool reset = s->since > j->last_seq;
            s->next_seq = (reset ? s->channel->head : s->since) + 1;
            s->state = SUB_REPLAY; /* what arrived meanwhile is in the ring */
            if (sub_reply(s, reset) == 0)
                channel_pump(s);
        }
    }
    channel_release(j->channel);
    j->sink->ops->release(j->sink);
    free(j);
}

static void sub_check_head(struct sub *s)
{
    struct head_job *j = xcalloc(1, sizeof(*j));
    j->job.run = head_run;
    j->job.done = head_done;
    j->job.owner = s->sink;
    j->channel = s->channel;
    s->channel->refs++;
    j->sink = s->sink;
    s->sink->ops->hold(s->sink);
    j->serial = s->serial;
    j->channel_id = s->channel->id;
    jobs_submit(s->channel->server->jobs, &j->job);
}

/* ---- opening ---- */

struct open_job {
    struct job job;
    struct channel *channel;   /* holds a reference */
    int app_id;
    char name[VALIDATE_CHANNEL_MAX + 1];
    int64_t id;
    int64_t last_seq;
};

static void open_run(struct job *job, struct db_conn *db)
{
    struct open_job *j = (struct open_job *)job;
    char app_id[16];
    snprintf(app_id, sizeof(app_id), "%d", j->app_id);
    const char *params[] = { app_id, j->name };
    PGresult *res = db_exec(db, &channel_open_sql, params);
    if (!db_ok(res) || PQntuples(res) != 1) {
        job_fail(job, "opening a channel", res, db->pg);
    } else {
        j->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        j->last_seq = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
}

/* Every waiting subscriber gets the error and loses its subscription. */
static void channel_fail_subs(struct channel *ch, int status, const char *error)
{
    struct list_link *next;
    for (struct list_link *l = ch->subs.first; l; l = next) {
        next = l->next;
        struct sub *s = LINK_ENTRY(l, struct sub, link);
        sub_fail(s, status, error);
    }
}

static void open_done(struct job *job)
{
    struct open_job *j = (struct open_job *)job;
    struct channel *ch = j->channel;
    struct server *server = ch->server;
    ch->state = CHANNEL_CLOSED;
    if (server->stopping) {
        /* nothing to start */
    } else if (j->job.status) {
        channel_fail_subs(ch, j->job.status, j->job.error);
    } else {
        ch->id = j->id;
        ch->head = j->last_seq;
        ch->ring_low = ch->head + 1;
        channels_link_id(server->channels, ch);
        /* Watch first, then read: whatever commits after channel_open() arrives either way. */
        if (poller_watch(server->poller, &ch->watcher, ch->id, ch->head) < 0) {
            log_error("channel %s: cannot watch (out of memory)", ch->name);
            channel_fail_subs(ch, 500, "internal error");
        } else {
            ch->state = CHANNEL_READY;
            channel_fill(ch);
            struct list_link *next;
            for (struct list_link *l = ch->subs.first; l; l = next) {
                next = l->next;
                struct sub *s = LINK_ENTRY(l, struct sub, link);
                if (s->state == SUB_WAITING)
                    sub_start(s);
            }
        }
    }
    channel_release(ch);
    free(j);
}

static void channel_open(struct channel *ch)
{
    struct open_job *j = xcalloc(1, sizeof(*j));
    j->job.run = open_run;
    j->job.done = open_done;
    j->channel = ch;
    ch->refs++;
    j->app_id = ch->app_id;
    snprintf(j->name, sizeof(j->name), "%s", ch->name);
    ch->state = CHANNEL_OPENING;
    jobs_submit(ch->server->jobs, &j->job);
}

void channel_subscribe(struct server *server, struct sink *sink, int app_id, const char *name,
                       bool has_since, int64_t since, struct json_object *request_id)
{
    struct channel *ch = channels_get(server->channels, app_id, name);
    struct sub *s = xcalloc(1, sizeof(*s));
    s->channel = ch;
    ch->refs++;
    s->sink = sink;
    s->serial = ++server->next_serial;
    s->has_since = has_since;
    s->since = since;
    s->request_id = request_id ? json_object_get(request_id) : NULL;
    list_push(&ch->subs, &s->link);
    ch->nsubs++;
    list_push(&sink->subs, &s->sink_link);
    sink->nsubs++;
    metrics_add(METRIC_SUBSCRIPTIONS, 1);
    if (ch->state == CHANNEL_CLOSED)
        channel_open(ch);
    else if (ch->state == CHANNEL_READY)
        sub_start(s);
}

void channel_unsubscribe(struct sub *s)
{
    list_remove(&s->sink->subs, &s->sink_link);
    s->sink->nsubs--;
    struct channel *ch = s->channel;
    list_remove(&ch->subs, &s->link);
    ch->nsubs--;
    metrics_add(METRIC_SUBSCRIPTIONS, -1);
    json_object_put(s->request_id);
    sub_drop_replay(s);
    channel_release(ch);
    free(s);
}

struct sub *channel_find_sub(const struct sink *sink, const char *name)
{
    for (struct list_link *l = sink->subs.first; l; l = l->next) {
        struct sub *s = LINK_ENTRY(l, struct sub, sink_link);
        if (strcmp(s->channel->name, name) == 0)
            return s;
    }
    return NULL;
}

/* ---- the poller's side (its thread) ---- */

/* Rows of one channel on their way from the poller thread to the loop. */
struct batch_entry {
    struct inbox_entry entry;
    struct server *server;
    int64_t channel_id;
    bool refill;               /* the listener is back: read after the head */
    size_t count;
    struct frame *frames[];    /* owned references */
};

static void batch_handle(struct inbox_entry *entry)
{
    struct batch_entry *b = (struct batch_entry *)entry;
    /* Once stopping, the channel table may be gone already. */
    struct channel *ch = b->server->stopping ? NULL : channels_find_id(b->server->channels, b->channel_id);
    if (ch && ch->state == CHANNEL_READY) {
        if (b->refill || !channel_take_rows(ch, b->frames, b->count, false))
            channel_fill(ch);
    }
    for (size_t i = 0; i < b->count; i++)
        frame_release(b->frames[i]);
    free(b);
}

/* Builds the frames here, off the loop; the channel's name and server never change and the
 * channel outlives its watch. */
static void channel_on_batch(struct poller_watcher *w, struct poller_batch *batch)
{
    struct channel *ch = w->ctx;
    struct batch_entry *b = xmalloc(sizeof(*b) + batch->count * sizeof(b->frames[0]));
    b->entry.handle = batch_handle;
    b->server = ch->server;
    b->channel_id = batch->channel_id;
    b->refill = false;
    b->count = batch->count;
    for (size_t i = 0; i < batch->count; i++) {
        const struct poller_message *m = &batch->messages[i];
        b->frames[i] = frame_message(ch->name, m->seq, m->content, m->content_len, m->time_ms);
    }
    inbox_post(&ch->server->inbox, &b->entry);
}

static void channel_on_listener(struct poller_watcher *w, bool up)
{
    struct channel *ch = w->ctx;
    if (!up)
        return;
    struct batch_entry *b = xmalloc(sizeof(*b));
    b->entry.handle = batch_handle;
    b->server = ch->server;
    b->channel_id = ch->id;
    b->refill = true;
    b->count = 0;
    inbox_post(&ch->server->inbox, &b->entry);
}
