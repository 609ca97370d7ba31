/*
 * sched: the poll schedule (see sched.h).
 */
#include "feedd/sched.h"

#include "feedd/util.h"

#include <ev.h>
#include <math.h>
#include <stdlib.h>

struct sched {
	struct ev_loop *loop;
	void (*due)(void *ctx, void *owner);
	void *ctx;
	struct sched_entry **heap;
	size_t n, cap;
	ev_timer timer;
	bool hold;
};

static void heap_swap(struct sched *s, size_t a, size_t b)
{
	struct sched_entry *t = s->heap[a];
	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap_pos = a;
	s->heap[b]->heap_pos = b;
}

static void sift_up(struct sched *s, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (s->heap[parent]->due <= s->heap[i]->due)
			break;
		heap_swap(s, i, parent);
		i = parent;
	}
}

static void sift_down(struct sched *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->n && s->heap[l]->due < s->heap[m]->due)
			m = l;
		if (r < s->n && s->heap[r]->due < s->heap[m]->due)
			m = r;
		if (m == i)
			return;
		heap_swap(s, i, m);
		i = m;
	}
}

/* Entries due later wake the loop on a grid of this many seconds: the feeds
 * due within one step start together (one wakeup rather than one each, and
 * their fetches and poll records then travel together too).  None starts
 * early; none more than this late. */
#define SCHED_GRID 0.25

/* Points the one timer at the earliest entry. */
static void rearm(struct sched *s)
{
	ev_timer_stop(s->loop, &s->timer);
	if (s->n == 0 || s->hold)
		return;
	double now = ev_now(s->loop), due = s->heap[0]->due;
	double at = due <= now ? now : ceil(due / SCHED_GRID) * SCHED_GRID;
	ev_timer_set(&s->timer, at - now, 0.);
	ev_timer_start(s->loop, &s->timer);
}

static void remove_at(struct sched *s, size_t i)
{
	struct sched_entry *e = s->heap[i];
	s->n--;
	if (i != s->n) {
		s->heap[i] = s->heap[s->n];
		s->heap[i]->heap_pos = i;
		sift_down(s, i);
		sift_up(s, i);
	}
	e->heap_pos = SIZE_MAX;
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sched *s = w->data;
	double now = ev_now(loop);
	/* Bounded: an entry the callee puts back "now" waits for the next
	 * round instead of spinning here. */
	size_t budget = s->n;
	while (s->n && !s->hold && budget-- > 0 && s->heap[0]->due <= now) {
		struct sched_entry *e = s->heap[0];
		remove_at(s, 0);
		s->due(s->ctx, e->owner);
	}
	rearm(s);
}

struct sched *sched_new(struct ev_loop *loop, void (*due)(void *ctx, void *owner), void *ctx)
{
	struct sched *s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->due = due;
	s->ctx = ctx;
	ev_init(&s->timer, on_timer);
	s->timer.data = s;
	return s;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	ev_timer_stop(s->loop, &s->timer);
	for (size_t i = 0; i < s->n; i++)
		s->heap[i]->heap_pos = SIZE_MAX;
	free(s->heap);
	free(s);
}

void sched_entry_init(struct sched_entry *e, void *owner)
{
	e->due = 0;
	e->heap_pos = SIZE_MAX;
	e->owner = owner;
}

bool sched_scheduled(const struct sched_entry *e)
{
	return e->heap_pos != SIZE_MAX;
}

size_t sched_count(const struct sched *s)
{
	return s->n;
}

void sched_at(struct sched *s, struct sched_entry *e, double when)
{
	if (sched_scheduled(e)) {
		e->due = when;
		sift_down(s, e->heap_pos);
		sift_up(s, e->heap_pos);
	} else {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->heap = xrealloc(s->heap, s->cap * sizeof *s->heap);
		}
		e->due = when;
		e->heap_pos = s->n;
		s->heap[s->n++] = e;
		sift_up(s, e->heap_pos);
	}
	rearm(s);
}

void sched_remove(struct sched *s, struct sched_entry *e)
{
	if (!sched_scheduled(e))
		return;
	remove_at(s, e->heap_pos);
	rearm(s);
}

void sched_hold(struct sched *s, bool hold)
{
	if (s->hold == hold)
		return;
	s->hold = hold;
	rearm(s);
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

double sched_next_delay(const struct sched_policy *p, const struct sched_outcome *o,
			double *adaptive, int *errors, double jitter)
{
	double lo = clamp(p->interval_s / 4, p->min_s, p->max_s);
	double hi = clamp(p->interval_s * 4, p->min_s, p->max_s);
	double base = clamp(p->interval_s, lo, hi);
	if (*adaptive <= 0)
		*adaptive = base;
	double delay;
	if (o->failed) {
		/* 2, 4, 8 ... times the interval, up to max_interval. */
		(*errors)++;
		int e = *errors > 30 ? 30 : *errors;
		delay = clamp(base * ldexp(1.0, e), base, p->max_s > base ? p->max_s : base);
	} else {
		*errors = 0;
		/* Quiet feeds drift towards the upper bound, busy ones towards
		 * the lower: a poll should find about one new article. */
		if (o->new_items == 0)
			*adaptive = clamp(*adaptive * 1.25, lo, hi);
		else if (o->new_items > 1)
			*adaptive = clamp(*adaptive / 1.5, lo, hi);
		delay = *adaptive;
	}
	delay *= 0.9 + 0.2 * jitter;
	/* The server's wish, but no further off than max_interval: one 503
	 * with a Retry-After of decades must not park a feed for good. */
	if (o->retry_after_s > 0 && (double)o->retry_after_s > delay)
		delay = fmax(delay, fmin((double)o->retry_after_s, p->max_s));
	return delay;
}

double sched_first_delay(double interval_s, double jitter)
{
	double spread = interval_s < SCHED_FIRST_SPREAD ? interval_s : SCHED_FIRST_SPREAD;
	return spread > 0 ? spread * jitter : 0;
}
