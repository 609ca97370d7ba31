/*
 * test_hostgate: the per-host gate without a loop (times are passed in):
 * the limit per host, hosts counted apart, the line served first come first
 * served with one waiter woken per request that ends, a waiter that leaves
 * the line, a lowered limit, a raised one waking the lines, shutdown
 * emptying the lines, and the delay between two requests with the time it
 * ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "feedd/hostgate.h"

/* A request of the tests: its ticket, and whether it was woken. */
struct req {
	struct hostgate_ticket t;
	int id;
	const char *host; /* NULL: a.example */
};

struct woken {
	int order[16];
	int n;
	/* Take the connection when woken, as the daemon's poll_on_due does. */
	struct hostgate *take_with;
	/* Or wait again at the end of the line (an owner held back anew). */
	struct hostgate *wait_with;
	double now;
};

static void on_wake(void *ctx, void *owner)
{
	struct woken *w = ctx;
	struct req *r = owner;
	assert_false(hostgate_waiting(&r->t));
	assert_null(r->t.host);
	w->order[w->n++] = r->id;
	const char *name = r->host ? r->host : "a.example";
	if (w->take_with) {
		struct hostgate_host *h = hostgate_host(w->take_with, name);
		assert_true(hostgate_open(w->take_with, h, 0, w->now, NULL));
		hostgate_take(w->take_with, &r->t, h, w->now);
	} else if (w->wait_with) {
		hostgate_wait(w->wait_with, &r->t, hostgate_host(w->wait_with, name));
	}
}

static void init_reqs(struct req *r, int n)
{
	for (int i = 0; i < n; i++) {
		hostgate_ticket_init(&r[i].t, &r[i]);
		r[i].id = i;
		r[i].host = NULL;
	}
}

/* r[0] holds a's one connection; r[1..n) wait in line behind it. */
static void line_up(struct hostgate *g, struct hostgate_host *a, struct req *r, int n)
{
	init_reqs(r, n);
	hostgate_take(g, &r[0].t, a, 1.0);
	for (int i = 1; i < n; i++) {
		assert_false(hostgate_open(g, a, 0, 1.0, NULL));
		hostgate_wait(g, &r[i].t, a);
		assert_true(hostgate_waiting(&r[i].t));
	}
	assert_int_equal(hostgate_n_waiting(a), (size_t)(n - 1));
}

static void test_limit(void **state)
{
	struct woken w = {0};
	struct hostgate *g = hostgate_new(2, on_wake, &w);
	struct hostgate_host *a = hostgate_host(g, "a.example");
	struct hostgate_host *b = hostgate_host(g, "b.example");
	assert_ptr_equal(hostgate_host(g, "a.example"), a);
	assert_ptr_not_equal(a, b);
	struct req r[4];
	init_reqs(r, 4);
	assert_true(hostgate_open(g, a, 0, 1.0, NULL));
	hostgate_take(g, &r[0].t, a, 1.0);
	assert_true(hostgate_open(g, a, 0, 1.0, NULL));
	hostgate_take(g, &r[1].t, a, 1.0);
	double ready = -1;
	assert_false(hostgate_open(g, a, 0, 1.0, &ready));
	assert_true(ready == 0); /* the limit, not a delay */
	assert_int_equal(hostgate_in_flight(a), 2);
	/* Another host is counted apart. */
	assert_true(hostgate_open(g, b, 0, 1.0, NULL));
	hostgate_take(g, &r[2].t, b, 1.0);
	assert_int_equal(hostgate_in_flight(b), 1);
	/* A request that ends frees its place; leaving twice does nothing. */
	hostgate_leave(g, &r[0].t);
	hostgate_leave(g, &r[0].t);
	assert_int_equal(hostgate_in_flight(a), 1);
	assert_true(hostgate_open(g, a, 0, 1.0, NULL));
	/* A raised limit opens the host at once. */
	hostgate_take(g, &r[3].t, a, 1.0);
	assert_false(hostgate_open(g, a, 0, 1.0, NULL));
	hostgate_set_limit(g, 3);
	assert_true(hostgate_open(g, a, 0, 1.0, NULL));
	assert_int_equal(w.n, 0);
	hostgate_free(g);
}

static void test_fifo(void **state)
{
	struct woken w = {0};
	struct hostgate *g = hostgate_new(1, on_wake, &w);
	w.take_with = g;
	struct hostgate_host *a = hostgate_host(g, "a.example");
	struct req r[5];
	line_up(g, a, r, 5);
	/* Each request that ends wakes the first in line, one at a time. */
	for (int i = 0; i < 4; i++) {
		hostgate_leave(g, &r[i].t);
		assert_int_equal(w.n, i + 1);
		assert_int_equal(w.order[i], i + 1);
		assert_int_equal(hostgate_in_flight(a), 1);
		assert_int_equal(hostgate_n_waiting(a), (size_t)(3 - i));
	}
	hostgate_leave(g, &r[4].t);
	assert_int_equal(w.n, 4); /* nobody left to wake */
	assert_int_equal(hostgate_in_flight(a), 0);
	hostgate_free(g);
}

/* A waiter that leaves the line (a feed removed by a reload) is not woken,
 * wherever it stood; the others keep their order. */
static void test_leave_line(void **state)
{
	struct woken w = {0};
	struct hostgate *g = hostgate_new(1, on_wake, &w);
	struct hostgate_host *a = hostgate_host(g, "a.example");
	struct req r[5];
	line_up(g, a, r, 5);
	hostgate_leave(g, &r[2].t); /* the middle */
	hostgate_leave(g, &r[4].t); /* the end */
	hostgate_leave(g, &r[1].t); /* the front */
	assert_false(hostgate_waiting(&r[1].t));
	assert_null(r[1].t.host);
	assert_int_equal(hostgate_n_waiting(a), 1);
	assert_int_equal(hostgate_in_flight(a), 1); /* leaving the line frees nothing */
	assert_int_equal(w.n, 0);
	hostgate_wait(g, &r[4].t, a); /* back, at the end */
	hostgate_leave(g, &r[0].t);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.order[0], 3);
	assert_int_equal(hostgate_n_waiting(a), 1);
	hostgate_free(g);
}

/* A woken waiter that does not take the connection (the daemon's
 * backpressure) leaves the rest in line until the next request ends; below
 * a lowered limit nobody is woken. */
static void test_wake_conditions(void **state)
{
	struct woken w = {0};
	struct hostgate *g = hostgate_new(2, on_wake, &w);
	struct hostgate_host *a = hostgate_host(g, "a.example");
	struct req r[6];
	init_reqs(r, 6);
	hostgate_take(g, &r[0].t, a, 1.0);
	hostgate_take(g, &r[1].t, a, 1.0);
	hostgate_wait(g, &r[2].t, a);
	hostgate_wait(g, &r[3].t, a);
	hostgate_set_limit(g, 1);
	hostgate_leave(g, &r[0].t); /* 1 in flight: still at the limit */
	assert_int_equal(w.n, 0);
	hostgate_leave(g, &r[1].t);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.order[0], 2);
	assert_int_equal(hostgate_in_flight(a), 0); /* r[2] did not take it */
	assert_int_equal(hostgate_n_waiting(a), 1);
	/* A newcomer that finds the host open takes it; ending wakes r[3]. */
	assert_true(hostgate_open(g, a, 0, 1.0, NULL));
	hostgate_take(g, &r[4].t, a, 1.0);
	hostgate_leave(g, &r[4].t);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.order[1], 3);
	/* Shutdown empties the lines without waking anyone. */
	hostgate_take(g, &r[4].t, a, 1.0);
	hostgate_wait(g, &r[2].t, a);
	hostgate_wait(g, &r[5].t, a);
	hostgate_drop_waiting(g);
	assert_false(hostgate_waiting(&r[2].t));
	assert_false(hostgate_waiting(&r[5].t));
	assert_int_equal(hostgate_n_waiting(a), 0);
	hostgate_leave(g, &r[4].t);
	assert_int_equal(w.n, 2);
	hostgate_free(g);
}

/* A raised limit alone wakes nobody; hostgate_wake_open then starts, host
 * by host and first come first, as many waiters as each host has room for,
 * each once at most even if it waits again. */
static void test_wake_open(void **state)
{
	struct woken w = {0};
	struct hostgate *g = hostgate_new(1, on_wake, &w);
	w.take_with = g;
	struct hostgate_host *a = hostgate_host(g, "a.example");
	struct hostgate_host *b = hostgate_host(g, "b.example");
	struct req r[5], q[2];
	line_up(g, a, r, 5);
	init_reqs(q, 2);
	q[0].host = q[1].host = "b.example";
	q[0].id = 10;
	q[1].id = 11;
	hostgate_take(g, &q[0].t, b, 1.0);
	hostgate_wait(g, &q[1].t, b);
	assert_int_equal(hostgate_wake_open(g), 0); /* no room anywhere */
	hostgate_set_limit(g, 3);
	assert_int_equal(w.n, 0);
	assert_int_equal(hostgate_wake_open(g), 3);
	assert_int_equal(w.n, 3);
	assert_int_equal(hostgate_in_flight(a), 3);
	assert_int_equal(hostgate_n_waiting(a), 2);
	assert_int_equal(hostgate_in_flight(b), 2);
	assert_int_equal(hostgate_n_waiting(b), 0);
	assert_false(hostgate_waiting(&q[1].t));
	/* a's woken in their order (the hosts' own order is the table's). */
	int at = w.order[0] == 11 ? 1 : 0;
	assert_int_equal(w.order[at], 1);
	assert_int_equal(w.order[at + 1], 2);
	/* Waiters that wait again when woken are woken once, not forever. */
	w.take_with = NULL;
	w.wait_with = g;
	hostgate_set_limit(g, 8);
	assert_int_equal(hostgate_wake_open(g), 2);
	assert_int_equal(w.n, 5);
	assert_int_equal(w.order[3], 3);
	assert_int_equal(w.order[4], 4);
	assert_int_equal(hostgate_n_waiting(a), 2);
	assert_true(hostgate_waiting(&r[3].t));
	assert_int_equal(hostgate_in_flight(a), 3);
	/* A gate without a wake call (the pages') wakes nobody. */
	struct hostgate *quiet = hostgate_new(1, NULL, NULL);
	struct hostgate_host *c = hostgate_host(quiet, "c.example");
	struct req s[2];
	init_reqs(s, 2);
	hostgate_take(quiet, &s[0].t, c, 1.0);
	hostgate_wait(quiet, &s[1].t, c);
	hostgate_set_limit(quiet, 2);
	assert_int_equal(hostgate_wake_open(quiet), 0);
	assert_true(hostgate_waiting(&s[1].t));
	hostgate_free(quiet);
	hostgate_free(g);
}

static void test_delay(void **state)
{
	struct hostgate *g = hostgate_new(2, NULL, NULL);
	struct hostgate_host *a = hostgate_host(g, "a.example");
	struct req r[3];
	init_reqs(r, 3);
	double ready = -1;
	/* Never started: no delay to wait for. */
	assert_true(hostgate_open(g, a, 5.0, 100.0, &ready));
	assert_true(ready == 0);
	hostgate_take(g, &r[0].t, a, 100.0);
	assert_false(hostgate_open(g, a, 5.0, 101.0, &ready));
	assert_true(ready == 105.0);
	/* The delay counts from the start, not the end. */
	hostgate_leave(g, &r[0].t);
	assert_false(hostgate_open(g, a, 5.0, 104.9, &ready));
	assert_true(ready == 105.0);
	assert_true(hostgate_open(g, a, 5.0, 105.0, &ready));
	assert_true(ready == 0);
	/* Without a delay (another caller's), the host is open. */
	assert_true(hostgate_open(g, a, 0, 101.0, NULL));
	/* At the limit, the limit is the answer, not the delay's end. */
	hostgate_take(g, &r[1].t, a, 106.0);
	hostgate_take(g, &r[2].t, a, 106.0);
	assert_false(hostgate_open(g, a, 5.0, 107.0, &ready));
	assert_true(ready == 0);
	hostgate_free(g);
}

/* Many hosts: the table grows and finds each one again. */
static void test_many_hosts(void **state)
{
	struct hostgate *g = hostgate_new(1, NULL, NULL);
	struct hostgate_host *hosts[500];
	struct req r[500];
	init_reqs(r, 500);
	char name[32];
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof name, "h%d.example", i);
		hosts[i] = hostgate_host(g, name);
		hostgate_take(g, &r[i].t, hosts[i], 1.0);
	}
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof name, "h%d.example", i);
		assert_ptr_equal(hostgate_host(g, name), hosts[i]);
		assert_int_equal(hostgate_in_flight(hosts[i]), 1);
	}
	hostgate_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),	   cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_leave_line), cmocka_unit_test(test_wake_conditions),
		cmocka_unit_test(test_wake_open),  cmocka_unit_test(test_delay),
		cmocka_unit_test(test_many_hosts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
