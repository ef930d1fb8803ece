/* tests/unit/list.c: the doubly-linked list: adding at either end, removing first, middle and
 * last entries, and finding the entry of a link. */
#include "../tap.h"
#include "list.h"

#include <stdio.h>
#include <string.h>

struct entry {
    char name;
    struct list_link link;
};

/* The names of l's entries from first to last; '!' where prev does not mirror next, '$' at
 * the end when last is not the last entry. */
static const char *names(const struct list *l)
{
    static char out[32];
    size_t n = 0;
    const struct list_link *prev = NULL;
    for (const struct list_link *k = l->first; k && n < sizeof(out) - 2; k = k->next) {
        out[n++] = k->prev == prev ? LINK_ENTRY(k, struct entry, link)->name : '!';
        prev = k;
    }
    if (l->last != prev)
        out[n++] = '$';
    out[n] = '\0';
    return out;
}

int main(void)
{
    struct entry e[5];
    struct list l = { NULL, NULL };
    ok(strcmp(names(&l), "") == 0, "a new list is empty");
    for (int i = 0; i < 5; i++) {
        e[i].name = (char)('a' + i);
        list_push(&l, &e[i].link);
    }
    ok(strcmp(names(&l), "edcba") == 0, "entries are added at the front: %s", names(&l));
    ok(LINK_ENTRY(l.first, struct entry, link) == &e[4], "LINK_ENTRY finds the entry of a link");
    list_remove(&l, &e[2].link);
    ok(strcmp(names(&l), "edba") == 0, "removing a middle entry: %s", names(&l));
    list_remove(&l, &e[4].link);
    ok(strcmp(names(&l), "dba") == 0, "removing the first entry: %s", names(&l));
    list_remove(&l, &e[0].link);
    ok(strcmp(names(&l), "db") == 0, "removing the last entry: %s", names(&l));
    ok(e[0].link.prev == NULL && e[0].link.next == NULL, "a removed link points nowhere");
    list_push(&l, &e[2].link);
    ok(strcmp(names(&l), "cdb") == 0, "a removed entry can be added again: %s", names(&l));
    list_append(&l, &e[4].link);
    ok(strcmp(names(&l), "cdbe") == 0, "an entry appended goes last: %s", names(&l));
    list_remove(&l, &e[4].link);
    list_remove(&l, &e[2].link);
    list_remove(&l, &e[3].link);
    list_remove(&l, &e[1].link);
    ok(l.first == NULL && l.last == NULL, "empty after removing every entry");
    list_append(&l, &e[0].link);
    list_append(&l, &e[1].link);
    list_push(&l, &e[2].link);
    ok(strcmp(names(&l), "cab") == 0, "appending to an empty list, then pushing: %s", names(&l));
    return tap_done();
}
