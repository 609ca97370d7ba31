/*
 * test_dedup: answers, feed links, eviction of the oldest entries, and a
 * long run of inserts past the bound checked against what must remain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "feedd/dedup.h"

static void test_answers(void **state)
{
	struct dedup *d = dedup_new(100);
	assert_int_equal(dedup_lookup(d, "irna", "1", 7, "all"), DEDUP_UNKNOWN);
	dedup_remember(d, "irna", "1", 7, "all");
	assert_int_equal(dedup_lookup(d, "irna", "1", 7, "all"), DEDUP_SAME);
	assert_int_equal(dedup_lookup(d, "irna", "1", 7, "politics"), DEDUP_NEW_FEED);
	assert_int_equal(dedup_lookup(d, "irna", "1", 8, "all"), DEDUP_CHANGED);
	/* Same news ID, other source: a different article. */
	assert_int_equal(dedup_lookup(d, "mehr", "1", 7, "all"), DEDUP_UNKNOWN);
	dedup_remember(d, "irna", "1", 7, "politics");
	dedup_remember(d, "irna", "1", 7, "economy");
	assert_int_equal(dedup_lookup(d, "irna", "1", 7, "politics"), DEDUP_SAME);
	assert_int_equal(dedup_lookup(d, "irna", "1", 7, "economy"), DEDUP_SAME);
	assert_int_equal(dedup_lookup(d, "irna", "1", 7, "all"), DEDUP_SAME);
	/* A revision updates the hash, keeps the links. */
	dedup_remember(d, "irna", "1", 9, "all");
	assert_int_equal(dedup_lookup(d, "irna", "1", 9, "economy"), DEDUP_SAME);
	assert_int_equal(dedup_lookup(d, "irna", "1", 7, "economy"), DEDUP_CHANGED);
	/* Warmed without feed names: known content, feed link unknown. */
	dedup_remember(d, "irna", "2", 5, NULL);
	assert_int_equal(dedup_lookup(d, "irna", "2", 5, "all"), DEDUP_NEW_FEED);
	assert_int_equal(dedup_size(d), 2);
	dedup_free(d);
}

static void test_bounded(void **state)
{
	const size_t max = 5000, total = 60000;
	struct dedup *d = dedup_new(max);
	char id[32];
	for (size_t i = 0; i < total; i++) {
		snprintf(id, sizeof id, "%zu", i);
		dedup_remember(d, i % 3 ? "a" : "b", id, i, "f");
		assert_true(dedup_size(d) <= max);
	}
	assert_int_equal(dedup_size(d), max);
	/* Exactly the newest max entries remain. */
	for (size_t i = 0; i < total; i++) {
		snprintf(id, sizeof id, "%zu", i);
		enum dedup_answer a = dedup_lookup(d, i % 3 ? "a" : "b", id, i, "f");
		enum dedup_answer want = i >= total - max ? DEDUP_SAME : DEDUP_UNKNOWN;
		if (a != want)
			fail_msg("entry %zu: answer %d, expected %d", i, a, want);
	}
	assert_true(dedup_memory(d) > max * 8);
	dedup_free(d);
}

static void test_many_feeds(void **state)
{
	struct dedup *d = dedup_new(10);
	char feed[16];
	for (int f = 0; f < 3000; f++) {
		snprintf(feed, sizeof feed, "feed%d", f);
		dedup_remember(d, "s", "x", 1, feed);
	}
	for (int f = 0; f < 3000; f++) {
		snprintf(feed, sizeof feed, "feed%d", f);
		assert_int_equal(dedup_lookup(d, "s", "x", 1, feed), DEDUP_SAME);
	}
	assert_int_equal(dedup_lookup(d, "s", "x", 1, "feed3000"), DEDUP_NEW_FEED);
	dedup_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_many_feeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
