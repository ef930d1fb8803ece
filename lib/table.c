/* table.c: the one chained hash table and the hash functions of keys. */
#include "table.h"
#include "buf.h"

#include <stdlib.h>

void table_init(struct table *t, size_t nbuckets)
{
    size_t n = 8;
    while (n < nbuckets)
        n *= 2;
    t->buckets = xcalloc(n, sizeof(*t->buckets));
    t->nbuckets = n;
    t->count = 0;
}

void table_free(struct table *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->nbuckets = 0;
    t->count = 0;
}

static void table_link_in(struct table *t, struct table_link *link)
{
    struct table_link **b = &t->buckets[link->hash & (t->nbuckets - 1)];
    link->next = *b;
    *b = link;
}

static void table_grow(struct table *t)
{
    struct table_link **old = t->buckets;
    size_t oldn = t->nbuckets;
    t->nbuckets = oldn * 2;
    t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
    for (size_t i = 0; i < oldn; i++) {
        struct table_link *next;
        for (struct table_link *link = old[i]; link; link = next) {
            next = link->next;
            table_link_in(t, link);
        }
    }
    free(old);
}

void table_add(struct table *t, struct table_link *link, size_t hash)
{
    if (t->count >= t->nbuckets)
        table_grow(t);
    link->hash = hash;
    table_link_in(t, link);
    t->count++;
}

void table_remove(struct table *t, struct table_link *link)
{
    struct table_link **p = &t->buckets[link->hash & (t->nbuckets - 1)];
    while (*p != link)
        p = &(*p)->next;
    *p = link->next;
    link->next = NULL;
    t->count--;
}

struct table_link *table_first(const struct table *t, size_t hash)
{
    if (t->nbuckets == 0)
        return NULL;
    struct table_link *link = t->buckets[hash & (t->nbuckets - 1)];
    while (link && link->hash != hash)
        link = link->next;
    return link;
}

struct table_link *table_next(const struct table_link *link)
{
    struct table_link *next = link->next;
    while (next && next->hash != link->hash)
        next = next->next;
    return next;
}

size_t table_hash_text(uint64_t seed, const char *text)
{
    uint64_t h = 14695981039346656037ULL ^ seed;
    for (const unsigned char *s = (const unsigned char *)text; *s; s++)
        h = (h ^ *s) * 1099511628211ULL;
    return (size_t)h;
}

size_t table_hash_int(int64_t key)
{
    return (size_t)((uint64_t)key * 11400714819323198485ULL >> 17);
}
