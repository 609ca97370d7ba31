/*
 * test_list: the intrusive list (list.h) that the fetcher, the host gate,
 * pages and the store keep their lines in: a zeroed list is empty, pushes
 * at either end and after a given link keep the order, removal from the
 * front, the middle and the back mends both directions, and LIST_ENTRY
 * finds the object from a link that is not its first member.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "feedd/list.h"

struct obj {
	int before; /* so that link is not at offset 0 */
	struct list_link link;
	int id;
};

/* The ids of l, front to back then back to front, must both be want. */
static void check(const struct list *l, const int *want, int n)
{
	int i = 0;
	LIST_FOREACH (o, l, struct obj, link) {
		assert_true(i < n);
		assert_int_equal(o->id, want[i]);
		i++;
	}
	assert_int_equal(i, n);
	for (struct list_link *k = l->tail; k; k = k->prev)
		assert_int_equal(LIST_ENTRY(k, struct obj, link)->id, want[--i]);
	assert_int_equal(i, 0);
	assert_int_equal(list_empty(l), n == 0);
}

static void test_empty(void **state)
{
	struct list l = {0};
	check(&l, NULL, 0);
	assert_null(list_pop_front(&l));
	assert_null(LIST_FIRST(&l, struct obj, link));
	assert_null(LIST_ENTRY(NULL, struct obj, link));
}

static void test_order(void **state)
{
	struct obj o[5] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}, {.id = 4}};
	struct list l = {0};
	list_push_back(&l, &o[2].link);
	list_push_front(&l, &o[0].link);
	list_push_back(&l, &o[4].link);
	list_insert_after(&l, &o[0].link, &o[1].link);
	list_insert_after(&l, &o[2].link, &o[3].link);
	check(&l, (const int[]){0, 1, 2, 3, 4}, 5);
	assert_ptr_equal(LIST_FIRST(&l, struct obj, link), &o[0]);
}

static void test_remove(void **state)
{
	struct obj o[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};
	struct list l = {0};
	for (int i = 0; i < 4; i++)
		list_push_back(&l, &o[i].link);
	list_remove(&l, &o[2].link); /* the middle */
	assert_null(o[2].link.prev);
	assert_null(o[2].link.next);
	check(&l, (const int[]){0, 1, 3}, 3);
	list_remove(&l, &o[3].link); /* the back */
	check(&l, (const int[]){0, 1}, 2);
	assert_ptr_equal(list_pop_front(&l), &o[0].link);
	check(&l, (const int[]){1}, 1);
	list_remove(&l, &o[1].link); /* the only one */
	check(&l, NULL, 0);
	list_insert_after(&l, NULL, &o[3].link); /* at the front of an empty list */
	check(&l, (const int[]){3}, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
