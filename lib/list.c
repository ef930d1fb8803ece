/* list.c: the one doubly-linked list. */
#include "list.h"

void list_push(struct list *l, struct list_link *link)
{
    link->prev = NULL;
    link->next = l->first;
    if (l->first)
        l->first->prev = link;
    else
        l->last = link;
    l->first = link;
}

void list_append(struct list *l, struct list_link *link)
{
    link->next = NULL;
    link->prev = l->last;
    if (l->last)
        l->last->next = link;
    else
        l->first = link;
    l->last = link;
}

void list_remove(struct list *l, struct list_link *link)
{
    if (link->prev)
        link->prev->next = link->next;
    else
        l->first = link->next;
    if (link->next)
        link->next->prev = link->prev;
    else
        l->last = link->prev;
    link->prev = link->next = NULL;
}
