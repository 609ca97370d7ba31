/*
 * test_util: fmt_i64 against snprintf over the whole int64_t range, and
 * url_host's answers for the URL shapes the fetcher and the configuration
 * rely on, and utf8_valid on well-formed and broken sequences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/util.h"

static void check_i64(int64_t v)
{
	char want[32], got[FMT_I64_LEN];
	snprintf(want, sizeof want, "%lld", (long long)v);
	memset(got, 'x', sizeof got);
	size_t n = fmt_i64(got, v);
	assert_string_equal(got, want);
	assert_int_equal(n, strlen(want));
}

static void test_fmt_i64(void **state)
{
	static const int64_t edges[] = {
		0,
		1,
		-1,
		9,
		10,
		-10,
		99,
		100,
		999999,
		1000000,
		-1000000,
		INT32_MAX,
		INT32_MIN,
		(int64_t)INT32_MAX + 1,
		INT64_MAX,
		INT64_MIN,
		INT64_MIN + 1,
		INT64_MAX - 1,
	};
	for (size_t i = 0; i < ARRAY_LEN(edges); i++)
		check_i64(edges[i]);
	/* Every power of ten and its neighbours, both signs. */
	for (int64_t p = 1; p <= INT64_MAX / 10; p *= 10)
		for (int64_t d = -1; d <= 1; d++) {
			check_i64(p + d);
			check_i64(-(p + d));
		}
	/* And a spread of others (a fixed LCG: the same numbers every run). */
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (int i = 0; i < 10000; i++) {
		x = x * 6364136223846793005u + 1442695040888963407u;
		check_i64((int64_t)x);
		check_i64((int64_t)(x >> (i % 63)));
	}
}

static void check_host(const char *url, const char *want)
{
	char *got = url_host(url);
	if (!want) {
		if (got)
			fail_msg("url_host(\"%s\") = \"%s\", expected NULL", url, got);
		return;
	}
	if (!got)
		fail_msg("url_host(\"%s\") = NULL, expected \"%s\"", url, want);
	assert_string_equal(got, want);
	free(got);
}

static void test_url_host(void **state)
{
	check_host("https://en.irna.ir/news/85859288/x", "en.irna.ir");
	check_host("HTTP://Example.ORG:8080/feed", "example.org");
	check_host("https://user:pw@Example.org/", "example.org");
	check_host("http://[::1]:8080/", "[::1]");
	check_host("http://127.0.0.1/a?b#c", "127.0.0.1");
	check_host("ftp://example.org/", NULL);
	check_host("example.org/feed", NULL);
	check_host("http:///feed", NULL);
	check_host("", NULL);
}

static void test_utf8_valid(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{"", true},
		{"plain ASCII", true},
		{"\xd8\xa7\xdb\x8c\xd8\xb1\xd9\x86\xd8\xa7", true}, /* Persian */
		{"\xe2\x82\xac \xf0\x9f\x93\xb0", true},	    /* euro, newspaper */
		{"\xf4\x8f\xbf\xbf", true},			    /* U+10FFFF */
		{"\xff", false},
		{"\xc3", false},	     /* cut short */
		{"\xc3\x28", false},	     /* bad continuation */
		{"\xc0\xaf", false},	     /* overlong '/' */
		{"\xe0\x80\xaf", false},     /* overlong */
		{"\xed\xa0\x80", false},     /* surrogate */
		{"\xf4\x90\x80\x80", false}, /* past U+10FFFF */
		{"\x80", false},	     /* lone continuation */
		{"ok \xe2\x82", false},	     /* cut at the end */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if (utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
			fail_msg("utf8_valid case %zu: expected %d", i, cases[i].ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_i64),
		cmocka_unit_test(test_url_host),
		cmocka_unit_test(test_utf8_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
