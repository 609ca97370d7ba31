/*
 * test_extract: the nastooh preset on the article fixtures in
 * fixtures/articles/ (a current page and an older one without the meta
 * tags must give the same fields), and the pages extract must refuse: a
 * bot challenge and a page whose news ID is not the URL's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/date.h"
#include "feedd/extract.h"

#define DIR FEEDD_FIXTURES "/articles/"
#define URL "https://en.irna.ir/news/85859288/Ministers-agree-to-expand-rail-freight-link"

static void read_fixture(const char *path, struct buf *b)
{
	bool truncated = false;
	buf_init(b);
	if (read_file_capped(path, 1 << 20, b, &truncated) != 0 || truncated)
		fail_msg("cannot read %s", path);
}

/* Extracts the fixture; 0 with *a filled, or -1 with the reason in err. */
static int extract_fixture(const char *name, const char *url, struct article_page *a,
			   struct buf *err)
{
	struct buf page;
	read_fixture(name, &page);
	int rc = extract_page(page.data, page.len, url, NULL, a, err);
	buf_free(&page);
	return rc;
}

/* Fails naming the field when got is not the expected JSON value (a
 * string or null). */
static void check_str(const char *page, json_object *want, const char *field, const char *got)
{
	json_object *w = json_object_object_get(want, field);
	const char *ws = w ? json_object_get_string(w) : NULL;
	if ((ws == NULL) != (got == NULL) || (ws && strcmp(ws, got) != 0))
		fail_msg("%s: %s: expected %s, got %s", page, field, ws ? ws : "null",
			 got ? got : "null");
}

static void check_page(const char *page)
{
	json_object *want = json_object_from_file(DIR "irna-article.expected.json");
	assert_non_null(want);
	struct article_page a;
	struct buf err;
	buf_init(&err);
	if (extract_fixture(page, URL, &a, &err) != 0)
		fail_msg("%s: %s", page, buf_str(&err));
	char iso[DATE_ISO_LEN] = "";
	if (a.published != EXTRACT_TIME_NONE)
		assert_int_equal(date_format_utc(a.published, iso), 0);

	check_str(page, want, "url", a.url);
	check_str(page, want, "news_id", a.news_id);
	check_str(page, want, "title", a.title);
	check_str(page, want, "lead", a.lead);
	check_str(page, want, "body", a.body);
	check_str(page, want, "author", a.author);
	check_str(page, want, "published", iso[0] ? iso : NULL);
	check_str(page, want, "image", a.image);
	check_str(page, want, "language", a.language);
	json_object *tags = json_object_object_get(want, "tags");
	if (json_object_array_length(tags) != a.n_tags)
		fail_msg("%s: tags: expected %zu, got %zu", page, json_object_array_length(tags),
			 a.n_tags);
	for (size_t i = 0; i < a.n_tags; i++) {
		const char *w = json_object_get_string(json_object_array_get_idx(tags, i));
		if (strcmp(w, a.tags[i]) != 0)
			fail_msg("%s: tags[%zu]: expected %s, got %s", page, i, w, a.tags[i]);
	}
	article_page_free(&a);
	buf_free(&err);
	json_object_put(want);
}

static void test_current_page(void **state)
{
	(void)state;
	check_page(DIR "irna-article.html");
}

/* Older pages: no published_time or keywords meta, "News Code:". */
static void test_older_page(void **state)
{
	(void)state;
	check_page(DIR "irna-article-nometa.html");
}

static void test_no_tags_no_image(void **state)
{
	(void)state;
	struct article_page a;
	struct buf err;
	buf_init(&err);
	if (extract_fixture(DIR "irna-article-notags.html", URL, &a, &err) != 0)
		fail_msg("%s", buf_str(&err));
	assert_int_equal(a.n_tags, 0);
	assert_null(a.image);
	assert_string_equal(a.news_id, "85859288");
	assert_non_null(a.body);
	article_page_free(&a);
	buf_free(&err);
}

static void check_refused(const char *page, const char *want_reason)
{
	struct article_page a;
	struct buf err;
	buf_init(&err);
	if (extract_fixture(page, URL, &a, &err) == 0)
		fail_msg("%s: extracted, expected refusal (%s)", page, want_reason);
	if (!strstr(buf_str(&err), want_reason))
		fail_msg("%s: reason \"%s\" lacks \"%s\"", page, buf_str(&err), want_reason);
	assert_null(a.title);
	assert_null(a.body);
	buf_free(&err);
}

static void test_bot_challenge_refused(void **state)
{
	(void)state;
	check_refused(DIR "bot-challenge.html", "not an article: no article container");
}

static void test_news_id_mismatch_refused(void **state)
{
	(void)state;
	check_refused(DIR "irna-article-wrongid.html",
		      "not an article: news ID 85859299 on the page, 85859288 in the URL");
}

/* Without a URL the canonical link stands in for it, and is checked the
 * same way against the page's news ID. */
static void test_without_url(void **state)
{
	(void)state;
	struct article_page a;
	struct buf err;
	buf_init(&err);
	if (extract_fixture(DIR "irna-article-nometa.html", NULL, &a, &err) != 0)
		fail_msg("%s", buf_str(&err));
	assert_string_equal(a.news_id, "85859288");
	assert_string_equal(a.url, URL);
	article_page_free(&a);
	assert_int_equal(extract_fixture(DIR "irna-article-wrongid.html", NULL, &a, &err), -1);
	buf_free(&err);
}

/* A source's xpath.FIELD wins over the preset; a broken one is an error. */
static void test_xpath_override(void **state)
{
	(void)state;
	struct extract_rules r = {0};
	r.xpath[CFG_XPATH_TITLE] = "//figcaption";
	struct buf page, err;
	struct article_page a;
	read_fixture(DIR "irna-article.html", &page);
	buf_init(&err);
	assert_int_equal(extract_page(page.data, page.len, URL, &r, &a, &err), 0);
	assert_string_equal(a.title, "Transport ministers meet in Tehran, June 11, 2025.");
	article_page_free(&a);

	r.xpath[CFG_XPATH_TITLE] = "//h1[";
	assert_int_equal(extract_page(page.data, page.len, URL, &r, &a, &err), -1);
	assert_non_null(strstr(buf_str(&err), "xpath.title"));
	buf_free(&err);
	buf_free(&page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_current_page),
		cmocka_unit_test(test_older_page),
		cmocka_unit_test(test_no_tags_no_image),
		cmocka_unit_test(test_bot_challenge_refused),
		cmocka_unit_test(test_news_id_mismatch_refused),
		cmocka_unit_test(test_without_url),
		cmocka_unit_test(test_xpath_override),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
