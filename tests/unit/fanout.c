/* tests/unit/fanout.c: a channel's fan-out and replays without libwebsockets or PostgreSQL:
 * fake sinks record what they are sent, the test plays the database jobs and the poller. */
#include "../tap.h"
#include "../../ws/channel.c"
#include "../../ws/frame.c"

#include <stdio.h>
#include <string.h>

/* ---- what channel.c uses of the rest of the sidecar, played here ---- */

static struct job *pending;             /* submitted jobs, oldest first */
static struct inbox_entry *posted;      /* the loop's inbox, oldest first */
static int64_t metric[METRIC_COUNT];

void jobs_submit(struct jobs *jobs, struct job *job)
{
    (void)jobs;
    struct job **p = &pending;
    while (*p)
        p = &(*p)->next;
    job->next = NULL;
    *p = job;
}

void job_fail(struct job *job, const char *what, const PGresult *res, PGconn *pg)
{
    (void)res;
    (void)pg;
    job->status = 500;
    snprintf(job->error, sizeof(job->error), "%s failed", what);
}

int poller_watch(struct poller *p, struct poller_watcher *w, int64_t channel_id, int64_t head_seq)
{
    (void)p, (void)w, (void)channel_id, (void)head_seq;
    return 0;
}

void poller_unwatch(struct poller *p, struct poller_watcher *w, int64_t channel_id)
{
    (void)p, (void)w, (void)channel_id;
}

void metrics_add(enum metric m, int64_t delta)
{
    metric[m] += delta;
}

void metrics_set(enum metric m, int64_t value)
{
    metric[m] = value;
}

void inbox_post(struct inbox *in, struct inbox_entry *entry)
{
    (void)in;
    struct inbox_entry **p = &posted;
    while (*p)
        p = &(*p)->next;
    entry->next = NULL;
    *p = entry;
}

static void inbox_run(void)
{
    while (posted) {
        struct inbox_entry *e = posted;
        posted = e->next;
        e->handle(e);
    }
}

/* The oldest pending job that done finishes, taken out of the queue; NULL when none. */
static struct job *job_take(void (*done)(struct job *))
{
    for (struct job **p = &pending; *p; p = &(*p)->next)
        if ((*p)->done == done) {
            struct job *j = *p;
            *p = j->next;
            return j;
        }
    return NULL;
}

/* ---- a fake subscriber ---- */

struct fake {
    struct sink sink;
    struct frame *got[64];  /* held references, in the order sent */
    int ngot;
    bool full;              /* has_room answers false */
    int cap;                /* more frames than this close it, as a slow reader (0: no cap) */
    bool closing;
    int refs;               /* holds by jobs in flight */
    struct fake *closes;    /* closes that other sink when it is sent a message */
};

static int fake_send(struct sink *sink, struct frame *f)
{
    struct fake *k = (struct fake *)sink;
    if (k->closing)
        return -1;
    if (k->cap && k->ngot == k->cap) {
        k->closing = true;
        return -1;
    }
    frame_hold(f);
    k->got[k->ngot++] = f;
    if (k->closes && strcmp(f->op, "message") == 0)
        k->closes->closing = true;
    return 0;
}

static bool fake_has_room(const struct sink *sink)
{
    return !((const struct fake *)sink)->full;
}

static void fake_hold(struct sink *sink)
{
    ((struct fake *)sink)->refs++;
}

static void fake_release(struct sink *sink)
{
    ((struct fake *)sink)->refs--;
}

static const struct sink_ops fake_ops = { fake_send, fake_has_room, fake_hold, fake_release };

static void fake_init(struct fake *k)
{
    memset(k, 0, sizeof(*k));
    k->sink.ops = &fake_ops;
}

/* The sink's newest subscription, or NULL. */
static struct sub *fake_sub(struct fake *k)
{
    return k->sink.subs.first ? LINK_ENTRY(k->sink.subs.first, struct sub, sink_link) : NULL;
}

/* What a closed client does after the pass: its subscriptions go. */
static void fake_drop_subs(struct fake *k)
{
    while (fake_sub(k))
        channel_unsubscribe(fake_sub(k));
}

static void fake_free(struct fake *k)
{
    fake_drop_subs(k);
    for (int i = 0; i < k->ngot; i++)
        frame_release(k->got[i]);
    k->ngot = 0;
}

/* "op@seq" of every frame received, space-separated ("!gap" after a subscribed with a gap). */
static const char *fake_log(const struct fake *k)
{
    static char text[4096];
    size_t n = 0;
    text[0] = '\0';
    for (int i = 0; i < k->ngot; i++) {
        const struct frame *f = k->got[i];
        const char *payload = (const char *)f->data + LWS_PRE;
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s@%lld%s", i ? " " : "", f->op,
                              (long long)f->seq, strstr(payload, "\"gap\":true") ? "!gap" : "");
    }
    return text;
}

/* ---- the channel's side ---- */

static struct server server;

static void subscribe(struct fake *k, const char *name, bool has_since, int64_t since)
{
    channel_subscribe(&server, &k->sink, 1, name, has_since, since, NULL);
}

/* Finishes the pending open with the channel's id and head, then its first catch-up read. */
static void finish_open(int64_t id, int64_t head)
{
    struct open_job *o = (struct open_job *)job_take(open_done);
    o->id = id;
    o->last_seq = head;
    o->job.done(&o->job);
    struct fetch_job *j = (struct fetch_job *)job_take(fetch_done_fill);
    j->job.done(&j->job);
}

/* Finishes a pending read with rows first..last of channel name (none when first > last). */
static void finish_fetch(struct fetch_job *j, const char *name, int64_t first, int64_t last)
{
    j->frames = xcalloc((size_t)(last >= first ? last - first + 1 : 0) + 1, sizeof(*j->frames));
    for (int64_t seq = first; seq <= last; seq++)
        j->frames[j->count++] = frame_message(name, seq, "x", 1, 0);
    j->job.done(&j->job);
}

/* What the poller hands over for new rows first..last of ch. */
static void notify(struct channel *ch, int64_t first, int64_t last)
{
    struct poller_message messages[16];
    struct poller_batch batch = { .channel_id = ch->id, .after_seq = first - 1, .messages = messages };
    for (int64_t seq = first; seq <= last; seq++)
        messages[batch.count++] = (struct poller_message){ .seq = seq, .content = "x", .content_len = 1 };
    channel_on_batch(&ch->watcher, &batch);
    inbox_run();
}

int main(void)
{
    log_init("fanout", LOG_LEVEL_ERROR);
    struct config cfg = { .ws_ring = 8, .ws_queue = 64, .ws_queue_bytes = 1 << 20 };
    server.cfg = &cfg;
    server.channels = channels_new(&server);

    /* Live fan-out: every subscriber gets each frame once, in order, the same frame. */
    struct fake a, b, c;
    fake_init(&a), fake_init(&b), fake_init(&c);
    subscribe(&a, "news", false, 0);
    subscribe(&b, "news", false, 0);
    subscribe(&c, "news", false, 0);
    struct channel *ch = fake_sub(&a)->channel;
    ok(fake_sub(&b)->channel == ch && fake_sub(&c)->channel == ch, "three subscribers share one channel");
    is_str(fake_log(&a), "", "nothing is sent while the channel opens");
    finish_open(7, 10);
    is_str(fake_log(&a), "subscribed@10", "once open, a subscriber without since starts at the head");
    notify(ch, 11, 13);
    is_str(fake_log(&a), "subscribed@10 message@11 message@12 message@13", "a gets 11..13");
    is_str(fake_log(&b), fake_log(&a), "b the same");
    is_str(fake_log(&c), fake_log(&a), "c the same");
    ok(a.got[2] == b.got[2] && b.got[2] == c.got[2], "one frame is shared by every subscriber");
    is_int(metric[METRIC_SUBSCRIPTIONS], 3, "3 subscriptions counted");

    notify(ch, 12, 13);
    is_int(a.ngot, 4, "rows already taken in are not sent again");
    notify(ch, 15, 15);
    is_int(a.ngot, 4, "a row after a hole waits for the database");
    struct fetch_job *fill = (struct fetch_job *)job_take(fetch_done_fill);
    ok(fill && fill->after == 13, "the hole is read after the head (13)");
    finish_fetch(fill, "news", 14, 15);
    is_str(fake_log(&b), "subscribed@10 message@11 message@12 message@13 message@14 message@15",
           "the rows read fill the hole in order");

    /* Deferred close: a sink closing itself (too slow) or closed by another during the pass
     * does not disturb the rest; subscriptions go only after the pass. */
    b.cap = b.ngot + 1;
    a.closes = &c;
    notify(ch, 16, 17);
    ok(strstr(fake_log(&a), "message@15 message@16 message@17") != NULL, "a gets 16 and 17");
    ok(b.closing && strstr(fake_log(&b), "message@16") && !strstr(fake_log(&b), "message@17"),
       "b takes 16, closes at 17 and gets nothing more");
    ok(c.closing && strstr(fake_log(&c), "message@16") && !strstr(fake_log(&c), "message@17"),
       "c, closed by a during the pass, gets nothing more");
    is_int(ch->nsubs, 3, "the closed sinks keep their subscriptions through the pass");
    fake_drop_subs(&b);
    fake_drop_subs(&c);
    is_int(ch->nsubs, 1, "after the pass their subscriptions go");
    a.closes = NULL;
    notify(ch, 18, 18);
    ok(strstr(fake_log(&a), "message@17 message@18") != NULL, "a goes on with 18");

    /* Replays from the ring, then live, without a gap or a duplicate. */
    struct fake d, e;
    fake_init(&d), fake_init(&e);
    subscribe(&d, "news", true, 14);
    is_str(fake_log(&d), "subscribed@14 message@15 message@16 message@17 message@18",
           "since 14: 15..18 replayed from the ring at once");
    e.full = true;
    subscribe(&e, "news", true, 12);
    is_str(fake_log(&e), "subscribed@12", "a sink without room gets the reply, the replay waits");
    notify(ch, 19, 20);
    is_str(fake_log(&e), "subscribed@12", "live rows are not sent to a subscription still replaying");
    e.full = false;
    channel_pump(fake_sub(&e));
    notify(ch, 21, 21);
    is_str(fake_log(&e), "subscribed@12 message@13 message@14 message@15 message@16 message@17 "
           "message@18 message@19 message@20 message@21", "with room: 13..20 from the ring, then 21 live");
    ok(strstr(fake_log(&d), "message@18 message@19 message@20 message@21") != NULL, "d goes live after its replay");

    /* A replay older than the ring (14..21) is read from the database first. */
    struct fake f, g;
    fake_init(&f), fake_init(&g);
    subscribe(&f, "news", true, 9);
    struct fetch_job *read = (struct fetch_job *)job_take(fetch_done_sub);
    ok(read && read->after == 9 && f.refs == 1, "since 9: a read after 9, holding the sink");
    is_str(fake_log(&f), "", "the reply waits for the read");
    notify(ch, 22, 22);
    ok(ch->ring_low == 15, "meanwhile 22 arrives: the ring holds 15..22");
    finish_fetch(read, "news", 10, 14);
    ok(job_take(fetch_done_sub) == NULL, "no other read is needed");
    notify(ch, 23, 23);
    is_str(fake_log(&f), "subscribed@9 message@10 message@11 message@12 message@13 message@14 message@15 "
           "message@16 message@17 message@18 message@19 message@20 message@21 message@22 message@23",
           "10..14 from the database, 15..22 from the ring, 23 live");
    is_int(f.refs, 0, "the read released the sink");
    subscribe(&g, "news", true, 2);
    finish_fetch((struct fetch_job *)job_take(fetch_done_sub), "news", 5, 15);
    is_str(fake_log(&g), "subscribed@4!gap message@5 message@6 message@7 message@8 message@9 message@10 "
           "message@11 message@12 message@13 message@14 message@15 message@16 message@17 message@18 "
           "message@19 message@20 message@21 message@22 message@23",
           "since 2, rows 3 and 4 pruned: a gap, delivery from 5");

    /* A subscription that goes, or is replaced, while its read is in flight. */
    struct fake h;
    fake_init(&h);
    subscribe(&h, "news", true, 1);
    read = (struct fetch_job *)job_take(fetch_done_sub);
    channel_unsubscribe(fake_sub(&h));
    finish_fetch(read, "news", 2, 4);
    ok(h.ngot == 0 && h.refs == 0 && h.sink.nsubs == 0, "unsubscribed meanwhile: the rows are dropped");
    subscribe(&h, "news", true, 1);
    read = (struct fetch_job *)job_take(fetch_done_sub);
    channel_unsubscribe(fake_sub(&h));
    subscribe(&h, "news", true, 21);
    finish_fetch(read, "news", 2, 4);
    is_str(fake_log(&h), "subscribed@21 message@22 message@23",
           "re-subscribed meanwhile: the old read is ignored");
    is_int(h.refs, 0, "both reads released the sink");

    /* A failed read ends the subscription with an error. */
    struct fake k;
    fake_init(&k);
    subscribe(&k, "news", true, 1);
    read = (struct fetch_job *)job_take(fetch_done_sub);
    read->job.status = 503;
    snprintf(read->job.error, sizeof(read->job.error), "database unavailable");
    read->job.done(&read->job);
    ok(k.ngot == 1 && strcmp(k.got[0]->op, "error") == 0 &&
       strstr((const char *)k.got[0]->data + LWS_PRE, "\"code\":503") != NULL, "a failed read: error 503");
    ok(k.sink.nsubs == 0 && k.refs == 0, "and the subscription is gone");

    /* A channel nobody subscribes to lingers, then goes. */
    struct fake m;
    fake_init(&m);
    subscribe(&m, "other", false, 0);
    finish_open(8, 0);
    struct fake *all[] = { &a, &b, &c, &d, &e, &f, &g, &h, &k };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        fake_free(all[i]);
    ok(pending == NULL && ch->refs == 0 && ch->nsubs == 0, "news: no subscription or read left");
    is_int(metric[METRIC_SUBSCRIPTIONS], 1, "1 subscription counted");
    channels_sweep(server.channels, time(NULL));
    ok(channels_find_id(server.channels, 7) == ch, "news lingers for clients that come back");
    channels_sweep(server.channels, ch->idle_since + CHANNEL_LINGER_SECONDS);
    ok(channels_find_id(server.channels, 7) == NULL, "after %d s it is freed", CHANNEL_LINGER_SECONDS);
    ok(channels_find_id(server.channels, 8) != NULL, "a channel with a subscriber stays");
    is_int(metric[METRIC_CHANNELS], 1, "1 channel counted");
    fake_free(&m);

    channels_free(server.channels);
    return tap_done();
}
