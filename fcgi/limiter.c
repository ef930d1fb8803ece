/* limiter.c: per-address rate limit: each client address's events in the current second,
 * counted exactly (an address never shares a count), in memory bounded by a fixed table. */
#include "limiter.h"
#include "buf.h"
#include "table.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One address of one second. An entry of an older second counts as empty: all of them
 * become so at once when the second changes, so nothing is ever cleared. */
struct limiter_entry {
    int64_t second;
    int count;
    char address[LIMITER_ADDRESS_MAX + 1];
};

struct limiter {
    pthread_mutex_t lock;
    int per_second;
    size_t max_addresses;
    size_t used;                     /* addresses of the current second */
    int64_t second;                  /* the current second */
    size_t mask;                     /* table size - 1 (a power of two, >= 2 x max_addresses) */
    struct limiter_entry *entries;   /* owned */
};

struct limiter *limiter_new(int per_second, size_t max_addresses)
{
    if (per_second < 1 || max_addresses < 1)
        return NULL;
    size_t size = 2;
    while (size < 2 * max_addresses)
        size *= 2;
    struct limiter *l = xcalloc(1, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    l->per_second = per_second;
    l->max_addresses = max_addresses;
    l->second = -1;
    l->mask = size - 1;
    l->entries = xcalloc(size, sizeof(*l->entries));
    for (size_t i = 0; i < size; i++)
        l->entries[i].second = -1;
    return l;
}

bool limiter_take(struct limiter *l, const char *address, double now)
{
    char key[LIMITER_ADDRESS_MAX + 1];
    size_t len = strnlen(address ? address : "", LIMITER_ADDRESS_MAX);
    memcpy(key, address ? address : "", len);
    key[len] = '\0';
    int64_t second = (int64_t)now;
    bool allowed = true;
    pthread_mutex_lock(&l->lock);
    if (second != l->second) {
        l->second = second;
        l->used = 0;
    }
    /* Linear probing; within a second an address is found before any entry of an older
     * second on its path, since it took the first such entry when it was added. */
    for (size_t i = table_hash_text(0, key) & l->mask;; i = (i + 1) & l->mask) {
        struct limiter_entry *e = &l->entries[i];
        if (e->second != second) {
            if (l->used < l->max_addresses) {
                e->second = second;
                e->count = 1;
                memcpy(e->address, key, len + 1);
                l->used++;
            }
            break;
        }
        if (strcmp(e->address, key) == 0) {
            if (e->count < l->per_second) {
                e->count++;
            } else {
                allowed = false;
            }
            break;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return allowed;
}

void limiter_free(struct limiter *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l->entries);
    free(l);
}
