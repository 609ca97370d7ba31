/*
 * list: an intrusive doubly linked list, for the lines and queues the
 * daemon keeps (transfers in flight, sockets, a host's waiting tickets,
 * visits, queued jobs, the store's queue).
 *
 * The object embeds a struct list_link and is found again from it with
 * LIST_ENTRY; the list owns nothing and allocates nothing.  The list is
 * NULL-terminated rather than circular, so that a zeroed struct list (as
 * xcalloc gives) is empty and needs no initialisation.  Every operation
 * is O(1): it is doubly linked so that an object leaves its list (a feed
 * removed by a reload, a transfer that ended) without a walk.
 */
#ifndef FEEDD_LIST_H
#define FEEDD_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_link {
	struct list_link *prev, *next;
};

struct list {
	struct list_link *head, *tail; /* both NULL: empty */
};

/* The object of type that holds link as its member; NULL for a NULL link. */
#define LIST_ENTRY(link, type, member) ((type *)list_object_((link), offsetof(type, member)))

/* The first object in list; NULL when it is empty. */
#define LIST_FIRST(list, type, member) LIST_ENTRY((list)->head, type, member)

/* for (type *var = first; var; var = the one after it): var must not leave
 * the list inside the loop (use list_pop_front for that). */
#define LIST_FOREACH(var, list, type, member)                                                      \
	for (type *var = LIST_FIRST(list, type, member); var;                                      \
	     var = LIST_ENTRY(var->member.next, type, member))

/* The object after var in its list; NULL at the end. */
#define LIST_NEXT(var, type, member) LIST_ENTRY((var)->member.next, type, member)

static inline void *list_object_(struct list_link *link, size_t offset)
{
	return link ? (void *)((char *)link - offset) : NULL;
}

static inline bool list_empty(const struct list *l)
{
	return l->head == NULL;
}

/* Puts n into l right after at, or at the front when at is NULL. */
static inline void list_insert_after(struct list *l, struct list_link *at, struct list_link *n)
{
	n->prev = at;
	n->next = at ? at->next : l->head;
	if (n->next)
		n->next->prev = n;
	else
		l->tail = n;
	if (at)
		at->next = n;
	else
		l->head = n;
}

static inline void list_push_front(struct list *l, struct list_link *n)
{
	list_insert_after(l, NULL, n);
}

static inline void list_push_back(struct list *l, struct list_link *n)
{
	list_insert_after(l, l->tail, n);
}

/* Takes n, which is in l, out of it. */
static inline void list_remove(struct list *l, struct list_link *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
}

/* Takes the first out of l and returns it; NULL when l is empty. */
static inline struct list_link *list_pop_front(struct list *l)
{
	struct list_link *n = l->head;
	if (n)
		list_remove(l, n);
	return n;
}

#endif
