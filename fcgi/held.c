/* held.c: the set of held requests: one epoll thread for hang-ups and deadlines, and the
 * admission caps. */
#include "held.h"
#include "buf.h"
#include "clock.h"
#include "log.h"
#include "table.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define HELD_EVENTS 256
#define HELD_ADDRESS_BUCKETS 256 /* to start with: the table doubles as it fills */
#define HELD_MAX_WAIT_MS 1000

/* How many requests one client address holds now; exact addresses, no shared slots. */
struct held_address {
    char text[64];
    size_t count;
    struct table_link link;          /* in held.addresses, keyed by text */
};

static struct {
    pthread_mutex_t lock;            /* guards everything below but the callbacks */
    struct held_callbacks callbacks;
    size_t max_total, max_per_address;
    bool stopping;                   /* held_expire_all ran: held_add refuses */
    bool quit;                       /* held_stop: the thread returns */
    bool started;
    pthread_t thread;
    int epoll_fd, wake_fd;
    struct held_request **heap;      /* by deadline */
    size_t heap_count, heap_cap;
    struct held_request **slots;     /* epoll handles: slot index + generation */
    uint32_t *generations;
    uint32_t *free_slots;
    size_t nslots, nfree;
    size_t count;
    struct table addresses;          /* of struct held_address */
} held = { .lock = PTHREAD_MUTEX_INITIALIZER, .epoll_fd = -1, .wake_fd = -1 };

/* The deadline heap; called with the lock held. */

static void heap_set(size_t i, struct held_request *r)
{
    held.heap[i] = r;
    r->heap_index = i;
}

static void heap_up(size_t i)
{
    struct held_request *r = held.heap[i];
    while (i > 0 && held.heap[(i - 1) / 2]->deadline_ms > r->deadline_ms) {
        heap_set(i, held.heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(i, r);
}

static void heap_down(size_t i)
{
    struct held_request *r = held.heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= held.heap_count)
            break;
        if (child + 1 < held.heap_count && held.heap[child + 1]->deadline_ms < held.heap[child]->deadline_ms)
            child++;
        if (held.heap[child]->deadline_ms >= r->deadline_ms)
            break;
        heap_set(i, held.heap[child]);
        i = child;
    }
    heap_set(i, r);
}

static void heap_push(struct held_request *r)
{
    if (held.heap_count == held.heap_cap) {
        held.heap_cap = held.heap_cap ? held.heap_cap * 2 : 1024;
        held.heap = xrealloc(held.heap, held.heap_cap * sizeof(*held.heap));
    }
    heap_set(held.heap_count++, r);
    heap_up(r->heap_index);
}

static void heap_remove(struct held_request *r)
{
    size_t i = r->heap_index;
    r->heap_index = SIZE_MAX;
    struct held_request *last = held.heap[--held.heap_count];
    if (i == held.heap_count)
        return;
    heap_set(i, last);
    heap_up(i);
    heap_down(last->heap_index);
}

/* Addresses; called with the lock held. */

static struct held_address *address_find(const char *text, bool create)
{
    size_t h = table_hash_text(0, text);
    for (struct table_link *l = table_first(&held.addresses, h); l; l = table_next(l)) {
        struct held_address *a = LINK_ENTRY(l, struct held_address, link);
        if (strcmp(a->text, text) == 0)
            return a;
    }
    if (!create)
        return NULL;
    if (!held.addresses.buckets)
        table_init(&held.addresses, HELD_ADDRESS_BUCKETS);
    struct held_address *a = xcalloc(1, sizeof(*a));
    snprintf(a->text, sizeof(a->text), "%s", text);
    table_add(&held.addresses, &a->link, h);
    return a;
}

static void address_release(struct held_address *a)
{
    if (--a->count > 0)
        return;
    table_remove(&held.addresses, &a->link);
    free(a);
}

/* Takes a claimed request out of every structure; called with the lock held. */
static void held_remove(struct held_request *r)
{
    if (r->heap_index != SIZE_MAX)
        heap_remove(r);
    if (r->slot < held.nslots && held.slots[r->slot] == r) {
        if (epoll_ctl(held.epoll_fd, EPOLL_CTL_DEL, r->gw->fd, NULL) < 0)
            log_debug("held: epoll_ctl DEL: %s", strerror(errno));
        held.slots[r->slot] = NULL;
        held.generations[r->slot]++;
        held.free_slots[held.nfree++] = r->slot;
        held.count--;
    }
    if (r->address) {
        address_release(r->address);
        r->address = NULL;
    }
}

static void held_wake_thread(void)
{
    uint64_t one = 1;
    if (write(held.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("held: waking the watcher: %s", strerror(errno));
}

enum held_result held_add(struct held_request *r)
{
    atomic_init(&r->claimed, false);
    r->heap_index = SIZE_MAX;
    r->slot = UINT32_MAX;
    r->address = NULL;
    pthread_mutex_lock(&held.lock);
    if (held.stopping || held.count >= held.max_total) {
        pthread_mutex_unlock(&held.lock);
        return HELD_FULL;
    }
    struct held_address *a = address_find(r->gw->remote_addr, true);
    if (a->count >= held.max_per_address) {
        pthread_mutex_unlock(&held.lock);
        return HELD_ADDRESS_FULL;
    }
    if (held.nfree == 0) {
        size_t n = held.nslots ? held.nslots * 2 : 1024;
        held.slots = xrealloc(held.slots, n * sizeof(*held.slots));
        held.generations = xrealloc(held.generations, n * sizeof(*held.generations));
        held.free_slots = xrealloc(held.free_slots, n * sizeof(*held.free_slots));
        for (size_t i = held.nslots; i < n; i++) {
            held.slots[i] = NULL;
            held.generations[i] = 0;
        }
        for (size_t i = n; i > held.nslots; i--)
            held.free_slots[held.nfree++] = (uint32_t)(i - 1);
        held.nslots = n;
    }
    uint32_t slot = held.free_slots[--held.nfree];
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
                              .data.u64 = (uint64_t)slot << 32 | held.generations[slot] };
    if (epoll_ctl(held.epoll_fd, EPOLL_CTL_ADD, r->gw->fd, &ev) < 0) {
        log_warn("held: epoll_ctl ADD: %s", strerror(errno));
        held.free_slots[held.nfree++] = slot;
        pthread_mutex_unlock(&held.lock);
        return HELD_FULL;
    }
    held.slots[slot] = r;
    r->slot = slot;
    held.count++;
    a->count++;
    r->address = a;
    heap_push(r);
    bool earliest = r->heap_index == 0;
    pthread_mutex_unlock(&held.lock);
    if (earliest)
        held_wake_thread();
    return HELD_OK;
}

bool held_claim(struct held_request *r)
{
    if (atomic_exchange(&r->claimed, true))
        return false;
    pthread_mutex_lock(&held.lock);
    held_remove(r);
    pthread_mutex_unlock(&held.lock);
    return true;
}

/* A growable list of claimed requests to call back once the lock is released. */
struct held_list {
    struct held_request **items;
    size_t count, cap;
};

static void held_list_add(struct held_list *list, struct held_request *r)
{
    if (list->count == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 64;
        list->items = xrealloc(list->items, list->cap * sizeof(*list->items));
    }
    list->items[list->count++] = r;
}

void held_expire_all(void)
{
    struct held_list due = { NULL, 0, 0 };
    pthread_mutex_lock(&held.lock);
    held.stopping = true;
    for (size_t i = 0; i < held.nslots; i++) {
        struct held_request *r = held.slots[i];
        if (r && !atomic_exchange(&r->claimed, true)) {
            held_remove(r);
            held_list_add(&due, r);
        }
    }
    pthread_mutex_unlock(&held.lock);
    for (size_t i = 0; i < due.count; i++)
        held.callbacks.on_deadline(due.items[i]);
    free(due.items);
}

static void *held_run(void *arg)
{
    (void)arg;
    struct epoll_event events[HELD_EVENTS];
    struct held_list due = { NULL, 0, 0 }, gone = { NULL, 0, 0 };
    for (;;) {
        pthread_mutex_lock(&held.lock);
        if (held.quit) {
            pthread_mutex_unlock(&held.lock);
            break;
        }
        int wait_ms = HELD_MAX_WAIT_MS;
        if (held.heap_count > 0) {
            int64_t left = held.heap[0]->deadline_ms - clock_ms();
            wait_ms = left < 0 ? 0 : left < HELD_MAX_WAIT_MS ? (int)left : HELD_MAX_WAIT_MS;
        }
        pthread_mutex_unlock(&held.lock);
        int n = epoll_wait(held.epoll_fd, events, HELD_EVENTS, wait_ms);
        if (n < 0 && errno != EINTR) {
            log_error("held: epoll_wait: %s", strerror(errno));
            n = 0;
        }
        pthread_mutex_lock(&held.lock);
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 == UINT64_MAX) {
                uint64_t value;
                if (read(held.wake_fd, &value, sizeof(value)) < 0 && errno != EAGAIN)
                    log_warn("held: reading the wake fd: %s", strerror(errno));
                continue;
            }
            uint32_t slot = (uint32_t)(events[i].data.u64 >> 32);
            uint32_t generation = (uint32_t)events[i].data.u64;
            struct held_request *r = slot < held.nslots ? held.slots[slot] : NULL;
            if (!r || held.generations[slot] != generation)
                continue;
            /* After the whole input was read, anything readable is the web server's hang-up
             * (EOF) or an abort record: the client went away. */
            if (!atomic_exchange(&r->claimed, true)) {
                held_remove(r);
                held_list_add(&gone, r);
            }
        }
        int64_t now = clock_ms();
        while (held.heap_count > 0 && held.heap[0]->deadline_ms <= now) {
            struct held_request *r = held.heap[0];
            heap_remove(r);
            if (!atomic_exchange(&r->claimed, true)) {
                held_remove(r);
                held_list_add(&due, r);
            }
        }
        pthread_mutex_unlock(&held.lock);
        for (size_t i = 0; i < gone.count; i++)
            held.callbacks.on_hangup(gone.items[i]);
        for (size_t i = 0; i < due.count; i++)
            held.callbacks.on_deadline(due.items[i]);
        gone.count = due.count = 0;
    }
    free(gone.items);
    free(due.items);
    return NULL;
}

int held_start(const struct held_callbacks *callbacks, size_t max_total, size_t max_per_address)
{
    held.callbacks = *callbacks;
    held.max_total = max_total;
    held.max_per_address = max_per_address;
    held.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    held.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (held.epoll_fd < 0 || held.wake_fd < 0) {
        log_error("held: epoll/eventfd: %s", strerror(errno));
        return -1;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
    if (epoll_ctl(held.epoll_fd, EPOLL_CTL_ADD, held.wake_fd, &ev) < 0) {
        log_error("held: epoll_ctl: %s", strerror(errno));
        return -1;
    }
    int rc = pthread_create(&held.thread, NULL, held_run, NULL);
    if (rc != 0) {
        log_error("held: cannot start the watcher thread: %s", strerror(rc));
        return -1;
    }
    held.started = true;
    return 0;
}

void held_stop(void)
{
    held_expire_all();
    if (held.started) {
        pthread_mutex_lock(&held.lock);
        held.quit = true;
        pthread_mutex_unlock(&held.lock);
        held_wake_thread();
        pthread_join(held.thread, NULL);
        held.started = false;
    }
    /* held_expire_all emptied the set: only the tables are left. */
    for (size_t b = 0; b < held.addresses.nbuckets; b++) {
        while (held.addresses.buckets[b]) {
            struct held_address *a = LINK_ENTRY(held.addresses.buckets[b], struct held_address, link);
            table_remove(&held.addresses, &a->link);
            free(a);
        }
    }
    table_free(&held.addresses);
    free(held.heap);
    free(held.slots);
    free(held.generations);
    free(held.free_slots);
    held.heap = held.slots = NULL;
    held.generations = held.free_slots = NULL;
    held.heap_count = held.heap_cap = held.nslots = held.nfree = 0;
    if (held.epoll_fd >= 0)
        close(held.epoll_fd);
    if (held.wake_fd >= 0)
        close(held.wake_fd);
    held.epoll_fd = held.wake_fd = -1;
}
