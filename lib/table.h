/* table.h: the one hash table of the project: a chained table of intrusive links (the caller
 * embeds a struct table_link in each entry, owns the entries and finds an entry from its link
 * with LINK_ENTRY), power-of-two buckets that double when the table holds as many entries as
 * buckets, and the hash functions of keys.
 * Not thread-safe: callers that share a table hold their own lock. */
#ifndef PUSH_TABLE_H
#define PUSH_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "list.h" /* LINK_ENTRY: the entry of a link */

struct table_link {
    struct table_link *next; /* the bucket's chain */
    size_t hash;             /* the entry's key hash, kept for lookups and growing */
};

struct table {
    struct table_link **buckets; /* owned, nbuckets chains */
    size_t nbuckets;             /* a power of two */
    size_t count;                /* entries in the table */
};

/* An empty table of nbuckets (rounded up to a power of two, at least 8) buckets. */
void table_init(struct table *t, size_t nbuckets);
/* Frees the buckets; the entries remain the caller's (remove or free them first). */
void table_free(struct table *t);

/* Adds link with hash (the caller makes sure its key is not in the table yet). */
void table_add(struct table *t, struct table_link *link, size_t hash);
/* Removes link, which must be in the table. */
void table_remove(struct table *t, struct table_link *link);

/* The first link with hash, then the next one with the same hash (NULL: no more); the caller
 * compares the keys. A table never initialised or freed (zeroed) has none. */
struct table_link *table_first(const struct table *t, size_t hash);
struct table_link *table_next(const struct table_link *link);

/* Every link: for (b = 0; b < t->nbuckets; b++) follow t->buckets[b] along next (save next
 * before removing a link). */

/* FNV-1a of text, started from seed (0, or a second key part such as an app id). */
size_t table_hash_text(uint64_t seed, const char *text);
/* A hash of an integer key (Fibonacci hashing). */
size_t table_hash_int(int64_t key);

#endif
