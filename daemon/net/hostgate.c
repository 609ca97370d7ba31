/*
 * hostgate: per-host connection limits, spacing and lines (see hostgate.h).
 *
 * Hosts live in a chained hash table that doubles as hosts come (100,000
 * feeds may name thousands of hosts) and are kept until the gate is freed:
 * a host's last start must outlive its requests for the delay to hold.
 * Each host's line is a doubly linked list of the waiting tickets, so that
 * a feed removed by a reload leaves it at once.
 */
#include "feedd/hostgate.h"

#include "feedd/list.h"
#include "feedd/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hostgate_host {
	char *name;
	int in_flight;
	double last_start; /* the time of the last hostgate_take */
	bool started;	   /* last_start is set */
	struct list line;  /* of waiting tickets, first come first */
	size_t n_waiting;
	struct hostgate_host *chain;
};

struct hostgate {
	int limit;
	hostgate_wake_fn wake;
	void *ctx;
	struct hostgate_host **buckets;
	size_t n_buckets, n_hosts; /* n_buckets: a power of two */
};

static uint64_t host_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
	return h;
}

struct hostgate *hostgate_new(int limit, hostgate_wake_fn wake, void *ctx)
{
	struct hostgate *g = xcalloc(1, sizeof *g);
	g->limit = limit > 0 ? limit : 1;
	g->wake = wake;
	g->ctx = ctx;
	g->n_buckets = 64;
	g->buckets = xcalloc(g->n_buckets, sizeof *g->buckets);
	return g;
}

void hostgate_free(struct hostgate *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n_buckets; i++) {
		for (struct hostgate_host *h = g->buckets[i], *nx; h; h = nx) {
			nx = h->chain;
			free(h->name);
			free(h);
		}
	}
	free(g->buckets);
	free(g);
}

void hostgate_set_limit(struct hostgate *g, int limit)
{
	g->limit = limit > 0 ? limit : 1;
}

void hostgate_ticket_init(struct hostgate_ticket *t, void *owner)
{
	memset(t, 0, sizeof *t);
	t->owner = owner;
}

bool hostgate_waiting(const struct hostgate_ticket *t)
{
	return t->waiting;
}

static void grow(struct hostgate *g)
{
	size_t n = g->n_buckets * 2;
	struct hostgate_host **b = xcalloc(n, sizeof *b);
	for (size_t i = 0; i < g->n_buckets; i++) {
		for (struct hostgate_host *h = g->buckets[i], *nx; h; h = nx) {
			nx = h->chain;
			size_t k = host_hash(h->name) & (n - 1);
			h->chain = b[k];
			b[k] = h;
		}
	}
	free(g->buckets);
	g->buckets = b;
	g->n_buckets = n;
}

struct hostgate_host *hostgate_host(struct hostgate *g, const char *name)
{
	struct hostgate_host **slot = &g->buckets[host_hash(name) & (g->n_buckets - 1)];
	for (struct hostgate_host *h = *slot; h; h = h->chain)
		if (strcmp(h->name, name) == 0)
			return h;
	struct hostgate_host *h = xcalloc(1, sizeof *h);
	h->name = xstrdup(name);
	h->chain = *slot;
	*slot = h;
	if (++g->n_hosts > g->n_buckets)
		grow(g);
	return h;
}

bool hostgate_open(const struct hostgate *g, const struct hostgate_host *h, double delay_s,
		   double now, double *ready_at)
{
	if (ready_at)
		*ready_at = 0;
	if (h->in_flight >= g->limit)
		return false;
	double ready = h->last_start + delay_s;
	if (delay_s > 0 && h->started && ready > now) {
		if (ready_at)
			*ready_at = ready;
		return false;
	}
	return true;
}

void hostgate_take(struct hostgate *g, struct hostgate_ticket *t, struct hostgate_host *h,
		   double now)
{
	t->host = h;
	t->waiting = false;
	h->in_flight++;
	h->last_start = now;
	h->started = true;
}

void hostgate_wait(struct hostgate *g, struct hostgate_ticket *t, struct hostgate_host *h)
{
	t->host = h;
	t->waiting = true;
	list_push_back(&h->line, &t->link);
	h->n_waiting++;
}

/* Takes t out of its host's line. */
static void unlink_waiter(struct hostgate_host *h, struct hostgate_ticket *t)
{
	list_remove(&h->line, &t->link);
	h->n_waiting--;
	t->waiting = false;
	t->host = NULL;
}

void hostgate_leave(struct hostgate *g, struct hostgate_ticket *t)
{
	struct hostgate_host *h = t->host;
	if (!h)
		return;
	if (t->waiting) {
		unlink_waiter(h, t);
		return;
	}
	t->host = NULL;
	h->in_flight--;
	struct hostgate_ticket *first = LIST_FIRST(&h->line, struct hostgate_ticket, link);
	if (!first || h->in_flight >= g->limit || !g->wake)
		return;
	/* Out of the line before the call: the woken one may start at once,
	 * or wait again at the end. */
	unlink_waiter(h, first);
	g->wake(g->ctx, first->owner);
}

size_t hostgate_wake_open(struct hostgate *g)
{
	if (!g->wake)
		return 0;
	/* The hosts with a line, gathered first: a woken owner may ask for a
	 * host, and a new one can grow (rehash) the table under the walk. */
	size_t n = 0, cap = 0;
	struct hostgate_host **lined = NULL;
	for (size_t i = 0; i < g->n_buckets; i++)
		for (struct hostgate_host *h = g->buckets[i]; h; h = h->chain) {
			if (h->n_waiting == 0 || h->in_flight >= g->limit)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				lined = xrealloc(lined, cap * sizeof *lined);
			}
			lined[n++] = h;
		}
	size_t woken = 0;
	for (size_t i = 0; i < n; i++) {
		struct hostgate_host *h = lined[i];
		/* Each waiter once at most: one that waits again goes to the
		 * back of the line. */
		for (size_t left = h->n_waiting; left > 0 && h->in_flight < g->limit; left--) {
			struct hostgate_ticket *first =
				LIST_FIRST(&h->line, struct hostgate_ticket, link);
			if (!first)
				break;
			unlink_waiter(h, first);
			g->wake(g->ctx, first->owner);
			woken++;
		}
	}
	free(lined);
	return woken;
}

void hostgate_drop_waiting(struct hostgate *g)
{
	for (size_t i = 0; i < g->n_buckets; i++)
		for (struct hostgate_host *h = g->buckets[i]; h; h = h->chain)
			while (!list_empty(&h->line))
				unlink_waiter(h,
					      LIST_FIRST(&h->line, struct hostgate_ticket, link));
}

int hostgate_in_flight(const struct hostgate_host *h)
{
	return h->in_flight;
}

size_t hostgate_n_waiting(const struct hostgate_host *h)
{
	return h->n_waiting;
}
