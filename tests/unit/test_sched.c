/*
 * test_sched: the delay policy (backoff, adaptation within bounds,
 * Retry-After and its cap at max_interval, jitter, a new feed's first
 * delay) and the heap behind the one timer: entries fire in
 * due order, removal and rescheduling keep the order, holding defers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <math.h>
#include <stdlib.h>

#include "feedd/sched.h"

static const struct sched_policy policy = {.interval_s = 120, .min_s = 60, .max_s = 21600};

static void test_backoff(void **state)
{
	double adaptive = 0;
	int errors = 0;
	struct sched_outcome fail = {.failed = true, .retry_after_s = -1};
	double d1 = sched_next_delay(&policy, &fail, &adaptive, &errors, 0.5);
	double d2 = sched_next_delay(&policy, &fail, &adaptive, &errors, 0.5);
	double d3 = sched_next_delay(&policy, &fail, &adaptive, &errors, 0.5);
	assert_int_equal(errors, 3);
	assert_true(d1 == 240 && d2 == 480 && d3 == 960);
	for (int i = 0; i < 40; i++)
		d3 = sched_next_delay(&policy, &fail, &adaptive, &errors, 0.5);
	assert_true(d3 == 21600); /* capped at max_interval */
	struct sched_outcome ok = {.new_items = 1, .retry_after_s = -1};
	assert_true(sched_next_delay(&policy, &ok, &adaptive, &errors, 0.5) == 120);
	assert_int_equal(errors, 0);
}

static void test_adaptive_bounds(void **state)
{
	double adaptive = 0, d = 0;
	int errors = 0;
	struct sched_outcome quiet = {.new_items = 0, .retry_after_s = -1};
	for (int i = 0; i < 50; i++)
		d = sched_next_delay(&policy, &quiet, &adaptive, &errors, 0.5);
	assert_true(d == 480); /* interval * 4 */
	struct sched_outcome busy = {.new_items = 10, .retry_after_s = -1};
	for (int i = 0; i < 50; i++)
		d = sched_next_delay(&policy, &busy, &adaptive, &errors, 0.5);
	assert_true(d == 60); /* interval / 4 = 30, but min_interval is 60 */
}

static void test_retry_after_and_jitter(void **state)
{
	double adaptive = 0;
	int errors = 0;
	struct sched_outcome limited = {.failed = true, .retry_after_s = 3600};
	assert_true(sched_next_delay(&policy, &limited, &adaptive, &errors, 0.5) == 3600);
	struct sched_outcome ok = {.new_items = 1, .retry_after_s = -1};
	adaptive = 0;
	double lo = sched_next_delay(&policy, &ok, &adaptive, &errors, 0.0);
	double hi = sched_next_delay(&policy, &ok, &adaptive, &errors, 0.999999);
	assert_true(lo == 108 && hi > 131.9 && hi < 132);
}

/* Retry-After is honoured only up to max_interval: a 503 asking for 70
 * years (seen: a next poll in 2094) waits max_interval, and a backoff
 * longer than the Retry-After is not shortened by it. */
static void test_retry_after_capped(void **state)
{
	double adaptive = 0;
	int errors = 0;
	struct sched_outcome decades = {.failed = true, .retry_after_s = INT32_MAX};
	assert_true(sched_next_delay(&policy, &decades, &adaptive, &errors, 0.5) == 21600);
	struct sched_outcome ok_far = {.new_items = 1, .retry_after_s = (int64_t)2200000000};
	adaptive = 0;
	assert_true(sched_next_delay(&policy, &ok_far, &adaptive, &errors, 0.5) == 21600);
	struct sched_policy tight = {.interval_s = 2, .min_s = 1, .max_s = 5};
	struct sched_outcome hour = {.failed = true, .retry_after_s = 3600};
	adaptive = 0;
	errors = 0;
	assert_true(sched_next_delay(&tight, &hour, &adaptive, &errors, 0.5) == 5);
	/* The backoff already at its cap is not lowered by a shorter one. */
	struct sched_outcome fail = {.failed = true, .retry_after_s = -1};
	for (int i = 0; i < 40; i++)
		sched_next_delay(&policy, &fail, &adaptive, &errors, 0.5);
	struct sched_outcome short_wait = {.failed = true, .retry_after_s = 10};
	assert_true(sched_next_delay(&policy, &short_wait, &adaptive, &errors, 0.5) == 21600);
}

/* A feed never polled is due within SCHED_FIRST_SPREAD seconds and within
 * its interval, spread by the jitter; never after a whole interval. */
static void test_first_delay(void **state)
{
	assert_true(sched_first_delay(120, 0.0) == 0);
	assert_true(sched_first_delay(120, 0.5) == SCHED_FIRST_SPREAD / 2);
	double top = sched_first_delay(3600, 0.999999);
	assert_true(top < SCHED_FIRST_SPREAD && top > SCHED_FIRST_SPREAD - 0.001);
	assert_true(sched_first_delay(2, 0.999999) < 2); /* within a short interval */
	assert_true(sched_first_delay(0, 0.5) == 0);
	/* Many new feeds are spread, not stacked on one instant. */
	double lo = 1e9, hi = 0;
	for (int i = 0; i < 1000; i++) {
		double v = sched_first_delay(900, (double)rand() / ((double)RAND_MAX + 1));
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	assert_true(lo < 0.5 && hi > SCHED_FIRST_SPREAD - 0.5 && hi < SCHED_FIRST_SPREAD);
}

struct fired {
	int order[64];
	double at[64]; /* ev_now when it fired */
	int wakeup[64];
	int wakeups;
	int n;
	struct sched *s;
	struct ev_loop *loop;
};

static void on_due(void *ctx, void *owner)
{
	struct fired *f = ctx;
	if (f->loop) {
		f->at[f->n] = ev_now(f->loop);
		f->wakeup[f->n] = f->wakeups;
	}
	f->order[f->n++] = (int)(intptr_t)owner;
}

/* Entries due within one 250 ms step of the grid start in one wakeup, none
 * before its time and none more than a step late; entries already due
 * start at once. */
static void test_grid_wakeups(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct fired f = {.loop = loop};
	struct sched *s = sched_new(loop, on_due, &f);
	struct sched_entry e[8];
	ev_now_update(loop);
	double now = ev_now(loop);
	/* The start of the next whole step, then entries spread inside the
	 * step after it (so that all of them are in the future). */
	double step = ceil(now / 0.25) * 0.25 + 0.25;
	for (int i = 0; i < 6; i++) {
		sched_entry_init(&e[i], (void *)(intptr_t)i);
		sched_at(s, &e[i], step + 0.01 + 0.04 * i);
	}
	sched_entry_init(&e[6], (void *)(intptr_t)6);
	sched_at(s, &e[6], step + 0.6); /* two steps later */
	sched_entry_init(&e[7], (void *)(intptr_t)7);
	sched_at(s, &e[7], now - 1); /* overdue */
	double deadline = now + 5;
	while (f.n < 8 && ev_now(loop) < deadline) {
		ev_run(loop, EVRUN_ONCE);
		f.wakeups++;
	}
	assert_int_equal(f.n, 8);
	assert_int_equal(f.order[0], 7);
	assert_int_equal(f.wakeup[0], 0);
	for (int i = 1; i < 7; i++) {
		int k = f.order[i];
		assert_in_range(k, 0, 5);
		assert_int_equal(f.wakeup[i], f.wakeup[1]); /* together */
		assert_true(f.at[i] >= e[k].due);
		assert_true(f.at[i] <= e[k].due + 0.25 + 0.1);
	}
	assert_int_equal(f.order[7], 6);
	assert_true(f.wakeup[7] > f.wakeup[1]);
	assert_true(f.at[7] >= e[6].due);
	sched_free(s);
	ev_loop_destroy(loop);
}

static void test_heap_order(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct fired f = {0};
	struct sched *s = sched_new(loop, on_due, &f);
	struct sched_entry e[20];
	double now = ev_now(loop);
	/* Due times in a scrambled order, all in the past: fire at once. */
	for (int i = 0; i < 20; i++) {
		sched_entry_init(&e[i], (void *)(intptr_t)i);
		sched_at(s, &e[i], now - 100 + (double)((i * 7) % 20));
	}
	sched_remove(s, &e[3]);
	sched_at(s, &e[5], now - 1000); /* moved to the front */
	assert_int_equal(sched_count(s), 19);
	sched_hold(s, true);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(f.n, 0);
	sched_hold(s, false);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(f.n, 19);
	assert_int_equal(f.order[0], 5);
	for (int i = 2; i < f.n; i++)
		assert_true(e[f.order[i - 1]].due <= e[f.order[i]].due);
	for (int i = 0; i < f.n; i++)
		assert_int_not_equal(f.order[i], 3);
	assert_int_equal(sched_count(s), 0);
	sched_free(s);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_adaptive_bounds),
		cmocka_unit_test(test_retry_after_and_jitter),
		cmocka_unit_test(test_retry_after_capped),
		cmocka_unit_test(test_first_delay),
		cmocka_unit_test(test_heap_order),
		cmocka_unit_test(test_grid_wakeups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
