/* tests/unit/table.c: the chained hash table: adding, finding, removing, growing, entries that
 * share a hash, and the hash functions. */
#include "../tap.h"
#include "table.h"

#include <stdio.h>
#include <string.h>

struct entry {
    int key;
    struct table_link link;
};

#define N 1000

static struct entry entries[N];

/* The entry of key, or NULL. Keys hash to key % 7 when shared is set, so chains hold many. */
static struct entry *find(const struct table *t, int key, int shared)
{
    size_t h = shared ? (size_t)(key % 7) : table_hash_int(key);
    for (struct table_link *l = table_first(t, h); l; l = table_next(l)) {
        struct entry *e = LINK_ENTRY(l, struct entry, link);
        if (e->key == key)
            return e;
    }
    return NULL;
}

static size_t walk(const struct table *t)
{
    size_t n = 0;
    for (size_t b = 0; b < t->nbuckets; b++)
        for (struct table_link *l = t->buckets[b]; l; l = l->next)
            n++;
    return n;
}

static void run(int shared)
{
    const char *what = shared ? "with 7 hashes" : "with distinct hashes";
    struct table t;
    table_init(&t, 3);
    ok(t.nbuckets == 8 && t.count == 0, "%s: a new table has 8 buckets, no entries", what);
    for (int i = 0; i < N; i++) {
        entries[i].key = i;
        table_add(&t, &entries[i].link, shared ? (size_t)(i % 7) : table_hash_int(i));
    }
    ok(t.count == N && walk(&t) == N, "%s: %d entries added, %zu walked", what, N, walk(&t));
    ok(t.nbuckets >= N / 2 && (t.nbuckets & (t.nbuckets - 1)) == 0,
       "%s: the buckets grew to a power of two (%zu)", what, t.nbuckets);
    int found = 0;
    for (int i = 0; i < N; i++)
        found += find(&t, i, shared) == &entries[i];
    ok(found == N, "%s: every entry is found (%d)", what, found);
    ok(find(&t, N + 5, shared) == NULL, "%s: a missing key is not found", what);
    for (int i = 0; i < N; i += 2)
        table_remove(&t, &entries[i].link);
    int even = 0, odd = 0;
    for (int i = 0; i < N; i++) {
        if (i % 2 == 0)
            even += find(&t, i, shared) != NULL;
        else
            odd += find(&t, i, shared) == &entries[i];
    }
    ok(even == 0 && odd == N / 2 && t.count == N / 2 && walk(&t) == N / 2,
       "%s: after removing the even keys none is found and every odd one is", what);
    for (int i = 1; i < N; i += 2)
        table_remove(&t, &entries[i].link);
    ok(t.count == 0 && walk(&t) == 0, "%s: empty after removing every entry", what);
    table_free(&t);
    ok(t.buckets == NULL && t.nbuckets == 0, "%s: freed", what);
}

int main(void)
{
    run(0);
    run(1);
    ok(table_hash_text(0, "") == (size_t)14695981039346656037ULL, "FNV-1a of \"\" is the offset basis");
    ok(table_hash_text(0, "a") == (size_t)0xaf63dc4c8601ec8cULL, "FNV-1a of \"a\" is af63dc4c8601ec8c");
    ok(table_hash_text(1, "chan") != table_hash_text(2, "chan"), "the seed changes the hash");
    ok(table_hash_int(1) != table_hash_int(2), "integer keys 1 and 2 hash apart");
    return tap_done();
}
