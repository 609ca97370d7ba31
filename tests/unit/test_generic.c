/*
 * test_generic: the generic article-body heuristic against hand-made pages
 * of different layouts and scripts (fixtures/generic/NAME.html, with the
 * article's text in NAME.txt), scored by the F1 of 4-token shingles, and
 * against hostile documents that must end quickly without crashing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feedd/feed.h"
#include "feedd/generic.h"
#include "feedd/util.h"

#define FIXTURE_DIR FEEDD_FIXTURES "/generic/"

static char *slurp(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s%s", FIXTURE_DIR, name);
	struct buf b;
	buf_init(&b);
	bool truncated;
	if (read_file_capped(path, 1 << 24, &b, &truncated) != 0)
		fail_msg("cannot read %s", path);
	return buf_steal(&b);
}

static htmlDocPtr parse(const char *html, size_t len)
{
	return htmlReadMemory(html, (int)len, NULL, "UTF-8",
			      HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
				      HTML_PARSE_NOWARNING | HTML_PARSE_IGNORE_ENC);
}

/* ---- F1 of 4-token shingles ---- */

static size_t utf8_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* CJK characters (and their punctuation) are tokens of their own. */
static bool cjk_at(const unsigned char *s)
{
	uint32_t c;
	if ((s[0] & 0xF0) == 0xE0 && s[1] && s[2])
		c = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
	else if ((s[0] & 0xF8) == 0xF0)
		return true;
	else
		return false;
	return (c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
		(c >= 0xFF00 && c <= 0xFFEF);
}

struct tokens {
	char **v;
	size_t n;
};

static void add_token(struct tokens *t, const char *s, size_t n)
{
	t->v = xrealloc(t->v, (t->n + 1) * sizeof *t->v);
	t->v[t->n++] = xstrndup(s, n);
}

static void tokenize(const char *text, struct tokens *t)
{
	const unsigned char *s = (const unsigned char *)text;
	t->v = NULL;
	t->n = 0;
	while (*s) {
		if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
			s++;
			continue;
		}
		if (cjk_at(s)) {
			size_t k = utf8_len(*s);
			add_token(t, (const char *)s, k);
			s += k;
			continue;
		}
		const unsigned char *start = s;
		while (*s && *s != ' ' && *s != '\n' && *s != '\t' && *s != '\r' && !cjk_at(s))
			s += utf8_len(*s);
		add_token(t, (const char *)start, (size_t)(s - start));
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct shingles of text, sorted; *n set to their count. */
static char **shingles(const char *text, size_t *n)
{
	struct tokens t;
	tokenize(text, &t);
	size_t count = t.n >= 4 ? t.n - 3 : t.n > 0;
	char **v = xcalloc(count ? count : 1, sizeof *v);
	for (size_t i = 0; i < count; i++) {
		struct buf b;
		buf_init(&b);
		for (size_t k = i; k < i + 4 && k < t.n; k++) {
			if (k > i)
				buf_putc(&b, '\x1f');
			buf_puts(&b, t.v[k]);
		}
		v[i] = buf_steal(&b);
	}
	for (size_t i = 0; i < t.n; i++)
		free(t.v[i]);
	free(t.v);
	qsort(v, count, sizeof *v, cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < count; i++) {
		if (u && strcmp(v[u - 1], v[i]) == 0)
			free(v[i]);
		else
			v[u++] = v[i];
	}
	*n = u;
	return v;
}

static double shingle_f1(const char *got, const char *truth)
{
	size_t ng, nt;
	char **g = shingles(got, &ng), **t = shingles(truth, &nt);
	size_t common = 0, i = 0, j = 0;
	while (i < ng && j < nt) {
		int c = strcmp(g[i], t[j]);
		if (c == 0)
			common++, i++, j++;
		else if (c < 0)
			i++;
		else
			j++;
	}
	for (i = 0; i < ng; i++)
		free(g[i]);
	for (j = 0; j < nt; j++)
		free(t[j]);
	free(g);
	free(t);
	if (!common)
		return 0;
	double p = (double)common / (double)ng, r = (double)common / (double)nt;
	return 2 * p * r / (p + r);
}

static void test_shingle_f1(void **state)
{
	assert_true(shingle_f1("a b c d e", "a b c d e") == 1.0);
	assert_true(shingle_f1("a b c d", "w x y z") == 0.0);
	/* 2 of 3 shingles on each side. */
	double f = shingle_f1("a b c d e x", "z a b c d e");
	assert_true(f > 0.66 && f < 0.67);
	/* Chinese counts characters. */
	assert_true(shingle_f1("今天天气很好", "今天天气很好") == 1.0);
	assert_true(shingle_f1("今天天气很好", "今天天气不好") < 0.5);
}

/* ---- fixture pages ---- */

static const char *const pages[] = {
	"wordpress", "news-megamenu", "split-ad", "persian",  "chinese",      "russian",
	"br-divs",   "long-comments", "captions", "japanese", "arabic-table", "hashed-classes",
};

static void test_pages(void **state)
{
	double sum = 0;
	bool bad = false;
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		char name[128];
		snprintf(name, sizeof name, "%s.html", pages[i]);
		char *html = slurp(name);
		snprintf(name, sizeof name, "%s.txt", pages[i]);
		char *truth = slurp(name);
		htmlDocPtr doc = parse(html, strlen(html));
		assert_non_null(doc);
		struct buf body;
		buf_init(&body);
		int rc = generic_body(doc, &body);
		double f1 = rc == 0 ? shingle_f1(buf_str(&body), truth) : 0;
		printf("generic: %-14s F1 %.3f\n", pages[i], f1);
		if (f1 < 0.9) {
			printf("--- got:\n%s\n---\n", buf_str(&body));
			bad = true;
		}
		if (rc == 0) {
			/* The contract's shape: no empty paragraph, no trailing
			 * newline, no doubled spaces. */
			const char *s = buf_str(&body);
			assert_true(body.len > 0 && s[body.len - 1] != '\n' && s[0] != '\n');
			assert_null(strstr(s, "\n\n\n"));
			assert_null(strstr(s, "  "));
		}
		sum += f1;
		buf_free(&body);
		xmlFreeDoc(doc);
		free(html);
		free(truth);
	}
	printf("generic: mean F1 %.3f\n", sum / (double)(sizeof pages / sizeof pages[0]));
	assert_false(bad);
}

/* A page of link lists has no article. */
static void test_homepage(void **state)
{
	char *html = slurp("homepage.html");
	htmlDocPtr doc = parse(html, strlen(html));
	struct buf body;
	buf_init(&body);
	buf_puts(&body, "stale");
	assert_int_equal(generic_body(doc, &body), -1);
	assert_int_equal(body.len, 0);
	buf_free(&body);
	xmlFreeDoc(doc);
	free(html);
}

/* Inputs the fuzzer found crashing generic.c, kept so that they never do
 * again (under ASan, an overflow fails the test): a class name of short
 * camel-cased words overflowed name_weight()'s word buffer. */
static void test_fuzz_regressions(void **state)
{
	static const char *const inputs[] = {"regress/name-weight-overflow.html"};
	for (size_t i = 0; i < ARRAY_LEN(inputs); i++) {
		char *html = slurp(inputs[i]);
		htmlDocPtr doc = parse(html, strlen(html));
		struct buf body;
		buf_init(&body);
		int r = generic_body(doc, &body);
		assert_true(r == 0 || r == -1);
		assert_true(r == 0 || body.len == 0);
		buf_free(&body);
		xmlFreeDoc(doc);
		free(html);
	}
}

/* ---- hostile documents ---- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs generic_body on html; returns its result, failing when it takes more
 * than a few seconds (generous: sanitizers and valgrind are slow). */
static int run(const char *what, const struct buf *html, struct buf *body)
{
	htmlDocPtr doc = parse(html->data ? html->data : "", html->len);
	double t0 = now();
	int rc = generic_body(doc, body);
	double dt = now() - t0;
	printf("generic: %-22s %8zu bytes, %.3f s, rc %d\n", what, html->len, dt, rc);
	if (dt > 20)
		fail_msg("%s took %.1f s", what, dt);
	xmlFreeDoc(doc);
	return rc;
}

static const char sentence[] = "The committee met again on Tuesday, and its members agreed "
			       "that the report should be published in full. ";

static void test_hostile(void **state)
{
	struct buf h, body;
	buf_init(&h);
	buf_init(&body);

	/* Empty document, and no document at all. */
	assert_int_equal(run("empty", &h, &body), -1);
	assert_int_equal(generic_body(NULL, &body), -1);
	buf_puts(&h, "<html><body></body></html>");
	assert_int_equal(run("empty body", &h, &body), -1);

	/* 10,000-deep nesting with the text at the bottom, and again with
	 * a paragraph at every level. */
	buf_reset(&h);
	for (int i = 0; i < 10000; i++)
		buf_puts(&h, i % 2 ? "<div class='content'>" : "<section>");
	buf_puts(&h, "<p>");
	buf_puts(&h, sentence);
	buf_puts(&h, sentence);
	buf_puts(&h, "</p>");
	run("10000-deep nesting", &h, &body);
	buf_reset(&h);
	for (int i = 0; i < 10000; i++) {
		buf_puts(&h, "<div><p>");
		buf_puts(&h, sentence);
		buf_puts(&h, "</p>");
	}
	run("10000-deep paragraphs", &h, &body);
	buf_reset(&h);
	for (int i = 0; i < 10000; i++)
		buf_puts(&h, "<span><a href='/x'>");
	buf_puts(&h, sentence);
	run("10000-deep inline", &h, &body);

	/* The parser stops nesting at 256 levels; a tree built by hand has
	 * no such limit. */
	htmlDocPtr doc = htmlNewDocNoDtD(NULL, NULL);
	xmlNodePtr at = xmlNewDocNode(doc, NULL, (const xmlChar *)"html", NULL);
	xmlDocSetRootElement(doc, at);
	for (int i = 0; i < 100000; i++) {
		xmlNodePtr div = xmlNewDocNode(doc, NULL, (const xmlChar *)"div", NULL);
		if (i % 100 == 0)
			xmlNewTextChild(div, NULL, (const xmlChar *)"p", (const xmlChar *)sentence);
		xmlAddChild(at, div);
		at = div;
	}
	double t0 = now();
	assert_int_equal(generic_body(doc, &body), 0);
	printf("generic: 100000-deep tree (built)   %.3f s, %zu bytes of body\n", now() - t0,
	       body.len);
	assert_true(now() - t0 < 20);
	xmlFreeDoc(doc);

	/* A 5 MB paragraph is an article. */
	buf_reset(&h);
	buf_puts(&h, "<html><body><div><p>");
	while (h.len < 5 * 1024 * 1024)
		buf_puts(&h, sentence);
	buf_puts(&h, "</p></div></body></html>");
	assert_int_equal(run("5 MB paragraph", &h, &body), 0);
	assert_true(body.len > 4 * 1024 * 1024);

	/* Scripts only. */
	buf_reset(&h);
	buf_puts(&h,
		 "<html><head><script>var a = 'Lorem ipsum, dolor sit amet.';</script>"
		 "</head><body><script>");
	for (int i = 0; i < 1000; i++)
		buf_puts(&h, "document.write('The committee met again on Tuesday, and more.');\n");
	buf_puts(&h,
		 "</script><noscript>Please enable JavaScript to read this site, "
		 "which needs it for everything.</noscript></body></html>");
	assert_int_equal(run("script only", &h, &body), -1);

	/* 100,000 links, in a list and in one paragraph. */
	buf_reset(&h);
	buf_puts(&h, "<html><body><ul>");
	for (int i = 0; i < 100000; i++)
		buf_printf(&h, "<li><a href='/story/%d'>Story number %d, in full.</a></li>", i, i);
	buf_puts(&h, "</ul></body></html>");
	assert_int_equal(run("100000 links (list)", &h, &body), -1);
	buf_reset(&h);
	buf_puts(&h, "<html><body><p>");
	for (int i = 0; i < 100000; i++)
		buf_printf(&h, "<a href='/tag/%d'>tag %d</a>, ", i, i);
	buf_puts(&h, "</p></body></html>");
	assert_int_equal(run("100000 links (inline)", &h, &body), -1);

	/* Unclosed tags and stray bytes. */
	buf_reset(&h);
	for (int i = 0; i < 20000; i++)
		buf_puts(&h, "<p><b><i>\xff\xfe text <td> more <li>");
	run("tag soup", &h, &body);

	buf_free(&h);
	buf_free(&body);
}

int main(void)
{
	feed_xml_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shingle_f1), cmocka_unit_test(test_pages),
		cmocka_unit_test(test_homepage),   cmocka_unit_test(test_fuzz_regressions),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
