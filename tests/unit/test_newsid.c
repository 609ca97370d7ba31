/*
 * test_newsid: the news-ID rules, pattern compilation errors, and the
 * fallback hash, whose values are pinned here (computed independently with
 * FNV-1a 64) because stored articles are keyed by them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/newsid.h"

static struct pcre2_real_code_8 *compile_ok(const char *pattern)
{
	char err[256] = "";
	struct pcre2_real_code_8 *re = newsid_compile(pattern, err, sizeof err);
	if (!re)
		fail_msg("pattern %s: %s", pattern, err);
	return re;
}

static void check(const struct pcre2_real_code_8 *re, const char *link, const char *guid,
		  const char *text, const char *date, const char *want, bool want_matched)
{
	bool matched = !want_matched;
	char *id = newsid_compute(re, link, guid, text, date, &matched);
	if (want == NULL) {
		if (id)
			fail_msg("expected no ID, got %s", id);
	} else {
		if (!id || strcmp(id, want) != 0)
			fail_msg("link=%s guid=%s: expected %s, got %s", link ? link : "-",
				 guid ? guid : "-", want, id ? id : "(null)");
	}
	assert_int_equal(matched, want_matched);
	free(id);
}

static void test_pattern_on_link_then_guid(void **state)
{
	struct pcre2_real_code_8 *re = compile_ok("/news/([0-9]+)/");
	check(re, "https://en.irna.ir/news/85859288/Ministers-agree", "g", NULL, NULL, "85859288",
	      true);
	check(re, "https://en.irna.ir/photo/1", "https://en.irna.ir/news/85859300/x", NULL, NULL,
	      "85859300", true);
	/* Neither matches: the guid, else the link. */
	check(re, "https://en.irna.ir/about", "static", NULL, NULL, "static", false);
	check(re, "https://en.irna.ir/about", NULL, NULL, NULL, "https://en.irna.ir/about", false);
	newsid_free(re);
}

static void test_default_rules(void **state)
{
	check(NULL, "https://x.example/1", "guid-1", "T", NULL, "guid-1", false);
	check(NULL, "https://x.example/1", NULL, "T", NULL, "https://x.example/1", false);
	check(NULL, "https://x.example/1", "", "T", NULL, "https://x.example/1", false);
	check(NULL, NULL, NULL, NULL, NULL, NULL, false);
	check(NULL, NULL, NULL, "", "date", NULL, false);
}

static void test_hash_is_pinned(void **state)
{
	check(NULL, NULL, NULL, "Neither guid nor link: hash", "Wed, 11 Jun 2025 15:46:00 GMT",
	      "h:6f1a5f5dcad94258", false);
	check(NULL, NULL, NULL, "Заголовок", NULL, "h:5a2e9ecedb38bdc8", false);
	/* A different date gives a different ID. */
	bool m;
	char *a = newsid_compute(NULL, NULL, NULL, "Same", "Mon, 1 Jan 2024 00:00:00 GMT", &m);
	char *b = newsid_compute(NULL, NULL, NULL, "Same", "Tue, 2 Jan 2024 00:00:00 GMT", &m);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

static void test_compile_errors(void **state)
{
	char err[256];
	assert_null(newsid_compile("/news/[0-9]+/", err, sizeof err));
	assert_non_null(strstr(err, "capture group"));
	assert_null(newsid_compile("/news/([0-9]+/", err, sizeof err));
	assert_non_null(strstr(err, "offset"));
}

static void test_match_group(void **state)
{
	struct pcre2_real_code_8 *re = compile_ok("id=([A-Z]+)|/([0-9]+)$");
	char *id = newsid_match(re, "https://x.example/?id=ABC");
	assert_string_equal(id, "ABC");
	free(id);
	/* The first group did not take part: no ID rather than an empty one. */
	assert_null(newsid_match(re, "https://x.example/123"));
	assert_null(newsid_match(re, NULL));
	newsid_free(re);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_on_link_then_guid),
		cmocka_unit_test(test_default_rules),
		cmocka_unit_test(test_hash_is_pinned),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_match_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
