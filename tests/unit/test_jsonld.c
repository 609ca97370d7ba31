/*
 * test_jsonld: the shapes publishers' JSON-LD comes in (an article at the
 * top, in an array, in @graph, under mainEntity; @type as a string, an
 * array or a URL; author, image and keywords each in three shapes) and
 * text that must be ignored rather than fail: malformed JSON, no article
 * type, trailing text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "feedd/jsonld.h"

/* Reads s, which must describe an article. */
static void read_ok(const char *s, struct jsonld_article *a)
{
	if (jsonld_article(s, strlen(s), a) != 0)
		fail_msg("no article in %s", s);
}

static void test_places(void **state)
{
	(void)state;
	static const char *const docs[] = {
		"{\"@type\":\"NewsArticle\",\"headline\":\"H\"}",
		"[{\"@type\":\"WebPage\"},{\"@type\":\"Article\",\"headline\":\"H\"}]",
		("{\"@context\":\"https://schema.org\",\"@graph\":[{\"@type\":\"Organization\","
		 "\"name\":\"O\"},{\"@type\":[\"BlogPosting\",\"CreativeWork\"],"
		 "\"headline\":\"H\"}]}"),
		("{\"@type\":\"WebPage\",\"mainEntity\":{\"@type\":\"https://schema.org/"
		 "ReportageNewsArticle\",\"headline\":\"H\"}}"),
		"<!--\n{\"@type\":\"schema:NewsArticle\",\"headline\":\"H\"};\n-->",
		"//<![CDATA[\n{\"@type\":\"LiveBlogPosting\",\"name\":\"H\"}\n//]]>",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct jsonld_article a;
		read_ok(docs[i], &a);
		assert_string_equal(a.headline, "H");
		jsonld_article_free(&a);
	}
}

static void test_not_articles(void **state)
{
	(void)state;
	static const char *const docs[] = {
		"",
		"not json",
		"{\"@type\":\"NewsArticle\",\"headline\":",
		"{\"@type\":\"NewsArticle\"} {\"@type\":\"NewsArticle\"}",
		"{\"@type\":\"Organization\",\"name\":\"IRNA\"}",
		"{\"@type\":\"BreadcrumbList\",\"itemListElement\":[]}",
		"{\"headline\":\"no type\"}",
		"[1, \"two\", null]",
		"{\"@type\":[\"Thing\", 3]}",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct jsonld_article a;
		if (jsonld_article(docs[i], strlen(docs[i]), &a) == 0)
			fail_msg("article found in %s", docs[i]);
		assert_null(a.headline);
		assert_int_equal(a.n_keywords, 0);
	}
}

static void test_shapes(void **state)
{
	(void)state;
	struct jsonld_article a;
	read_ok("{\"@type\":\"NewsArticle\",\"headline\":\"A &amp; B\","
		"\"author\":\"Sara Ahmadi\",\"image\":\"https://x.example/1.jpg\","
		"\"keywords\":\"Oil, Gas\xd8\x8c "
		"Exports\",\"datePublished\":\"2025-06-11T19:16:00+03:30\","
		"\"dateModified\":\" 2025-06-11 20:00 \",\"description\":\"<b>Lead</b> text\"}",
		&a);
	assert_string_equal(a.headline, "A & B");
	assert_string_equal(a.author, "Sara Ahmadi");
	assert_string_equal(a.image, "https://x.example/1.jpg");
	assert_int_equal(a.n_keywords, 1);
	assert_string_equal(a.keywords[0], "Oil, Gas\xd8\x8c Exports");
	assert_string_equal(a.published, "2025-06-11T19:16:00+03:30");
	assert_string_equal(a.modified, "2025-06-11 20:00");
	assert_string_equal(a.description, "Lead text");
	assert_null(a.body);
	jsonld_article_free(&a);

	read_ok("{\"@type\":\"Article\",\"author\":{\"@type\":\"Person\",\"name\":\"Ali Rezaei\"},"
		"\"image\":{\"@type\":\"ImageObject\",\"url\":\"https://x.example/2.jpg\"},"
		"\"keywords\":[\"Oil\",\"Gas\",7]}",
		&a);
	assert_string_equal(a.author, "Ali Rezaei");
	assert_string_equal(a.image, "https://x.example/2.jpg");
	assert_int_equal(a.n_keywords, 2);
	assert_string_equal(a.keywords[1], "Gas");
	assert_null(a.headline);
	jsonld_article_free(&a);

	read_ok("{\"@type\":\"Article\",\"author\":[{\"name\":\"A\"},\"B\",{\"url\":\"u\"},{"
		"\"name\":\"C\"}],"
		"\"image\":[{\"width\":10},{\"contentUrl\":\"https://x.example/3.jpg\"},\"https://"
		"x.example/4.jpg\"]}",
		&a);
	assert_string_equal(a.author, "A, B, C");
	assert_string_equal(a.image, "https://x.example/3.jpg");
	jsonld_article_free(&a);

	/* Wrong types are skipped field by field. */
	read_ok("{\"@type\":\"Article\",\"headline\":12,\"author\":true,\"image\":null,"
		"\"keywords\":{\"a\":1},\"articleBody\":\"ok\"}",
		&a);
	assert_null(a.headline);
	assert_null(a.author);
	assert_null(a.image);
	assert_int_equal(a.n_keywords, 0);
	assert_string_equal(a.body, "ok");
	jsonld_article_free(&a);
}

/* articleBody: plain text keeps its lines; markup is read as HTML. */
static void test_body(void **state)
{
	(void)state;
	struct jsonld_article a;
	read_ok("{\"@type\":\"NewsArticle\",\"articleBody\":\"First  line.\\r\\n\\n  Second "
		"&quot;quoted&quot;.\\nThird.\"}",
		&a);
	assert_string_equal(a.body, "First line.\nSecond \"quoted\".\nThird.");
	jsonld_article_free(&a);
	read_ok("{\"@type\":\"NewsArticle\",\"articleBody\":\"<p>One\\ntwo</p><p>Three "
		"<b>four</b></p>\"}",
		&a);
	assert_string_equal(a.body, "One two\nThree four");
	jsonld_article_free(&a);
	read_ok("{\"@type\":\"NewsArticle\",\"articleBody\":\"  \"}", &a);
	assert_null(a.body);
	jsonld_article_free(&a);
}

/* Deep nesting is refused by the parser, not followed down the stack. */
static void test_deep(void **state)
{
	(void)state;
	char s[4096];
	size_t n = 0;
	for (int i = 0; i < 1000; i++)
		s[n++] = '[';
	s[n] = '\0';
	struct jsonld_article a;
	assert_int_equal(jsonld_article(s, n, &a), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_places), cmocka_unit_test(test_not_articles),
		cmocka_unit_test(test_shapes), cmocka_unit_test(test_body),
		cmocka_unit_test(test_deep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
