/*
 * list.h: intrusive doubly linked lists (cf. PostgreSQL's dlist).
 *
 * A struct weir_list is both the head and the link: embed it in the element
 * and get the element back with weir_list_entry().  A head is an empty
 * circular list pointing at itself; an unlinked element's link may be
 * anything until weir_list_init().  No allocation, O(1) everything.
 */
#ifndef WEIR_LIST_H
#define WEIR_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct weir_list {
	struct weir_list *prev, *next;
};

#define WEIR_LIST_INIT(name) {&(name), &(name)}
#define weir_list_entry(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define weir_list_foreach(pos, head) \
	for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)
/* Safe against removal of pos. */
#define weir_list_foreach_safe(pos, tmp, head) \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
	     (pos) = (tmp), (tmp) = (pos)->next)

static inline void weir_list_init(struct weir_list *l)
{
	l->prev = l->next = l;
}

static inline bool weir_list_empty(const struct weir_list *l)
{
	return l->next == l;
}

static inline void weir_list_insert_tail(struct weir_list *head, struct weir_list *e)
{
	e->prev = head->prev;
	e->next = head;
	head->prev->next = e;
	head->prev = e;
}

static inline void weir_list_insert_head(struct weir_list *head, struct weir_list *e)
{
	e->next = head->next;
	e->prev = head;
	head->next->prev = e;
	head->next = e;
}

/* Unlinks e and makes it an empty list, so a second remove is harmless. */
static inline void weir_list_remove(struct weir_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	weir_list_init(e);
}

#endif
