/* list.c: the one doubly-linked list. */
#include "list.h"

void list_push(struct list *l, struct list_link *link)
{
    link->prev = NULL;
    link->next = l->first;
    if (l->first)
        l->first->prev = link;
    l->first = link;
}

void list_remove(struct list *l, struct list_link *link)
{
    if (link->prev)
        link->prev->next = link->next;
    else
        l->first = link->next;
    if (link->next)
        link->next->prev = link->prev;
    link->prev = link->next = NULL;
}
