/* list.h: the one list of the project: a doubly-linked list of intrusive links (the caller
 * embeds a struct list_link in each entry and owns the entries), added at either end and removed
 * in constant time; and LINK_ENTRY, the entry that holds a link (of a list or a table).
 * Not thread-safe: callers that share a list hold their own lock. */
#ifndef PUSH_LIST_H
#define PUSH_LIST_H

#include <stddef.h>

struct list_link {
    struct list_link *prev, *next;
};

struct list {
    struct list_link *first; /* NULL when empty; follow next */
    struct list_link *last;  /* NULL when empty; follow prev */
};

/* The entry of type that holds link as its member field. */
#define LINK_ENTRY(link, type, member) ((type *)(void *)((char *)(link) - offsetof(type, member)))

/* Adds link at the front of l. */
void list_push(struct list *l, struct list_link *link);
/* Adds link at the end of l. */
void list_append(struct list *l, struct list_link *link);
/* Removes link, which must be in l. */
void list_remove(struct list *l, struct list_link *link);

#endif
