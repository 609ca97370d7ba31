/*
 * test_feed: the feed parser through its push interface: every fixture gives
 * the same entries whatever the chunk size (down to one byte), the limits cut
 * where they say and warn naming their key, entities and DTD tricks never
 * expand, and non-feeds are refused with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feedd/feed.h"

/* What the callbacks saw, as text: one line per entry plus warnings. */
struct seen {
	struct buf out;
	struct buf warnings;
	size_t entries;
	int feeds;
};

static void put(struct buf *b, const char *k, const char *v)
{
	buf_printf(b, "%s=%s|", k, v ? v : "-");
}

static void on_feed(void *ctx, const struct feed_info *f)
{
	struct seen *s = ctx;
	s->feeds++;
	buf_printf(&s->out, "feed %s|", feed_format_name(f->format));
	put(&s->out, "title", f->title);
	put(&s->out, "link", f->link);
	buf_printf(&s->out, "updated=%lld\n", (long long)f->updated);
}

static void on_entry(void *ctx, struct feed_entry *e)
{
	struct seen *s = ctx;
	assert_int_equal(e->index, s->entries);
	s->entries++;
	put(&s->out, "guid", e->guid);
	put(&s->out, "link", e->link);
	put(&s->out, "title", e->title);
	put(&s->out, "summary", e->summary);
	put(&s->out, "content", e->content);
	put(&s->out, "author", e->author);
	buf_printf(&s->out, "pub=%lld|upd=%lld|", (long long)e->published, (long long)e->updated);
	for (size_t i = 0; i < e->n_categories; i++)
		put(&s->out, "cat", e->categories[i]);
	for (size_t i = 0; i < e->n_enclosures; i++)
		buf_printf(&s->out, "enc=%s %s %lld|", e->enclosures[i].url,
			   e->enclosures[i].type ? e->enclosures[i].type : "-",
			   (long long)e->enclosures[i].length);
	buf_putc(&s->out, '\n');
	feed_entry_free(e);
}

static void on_warning(void *ctx, const char *msg)
{
	struct seen *s = ctx;
	buf_printf(&s->warnings, "%s\n", msg);
}

/* Parses doc pushed in pieces of step bytes (0: whole); returns finish's
 * result, the reason in err. */
static int parse(const char *doc, size_t len, size_t step, const struct feed_limits *limits,
		 const char *charset, struct seen *s, struct buf *err)
{
	buf_init(&s->out);
	buf_init(&s->warnings);
	s->entries = 0;
	s->feeds = 0;
	struct feed_handler h = {on_feed, on_entry, on_warning, s};
	struct feed_parser *p = feed_parser_new(limits, charset, "https://base.example/dir/", &h);
	if (step == 0)
		step = len ? len : 1;
	for (size_t i = 0; i < len; i += step)
		if (feed_parser_push(p, doc + i, len - i < step ? len - i : step) != 0)
			break;
	int rc = feed_parser_finish(p, err);
	assert_int_equal(feed_parser_entries(p), s->entries);
	feed_parser_free(p);
	return rc;
}

static void seen_free(struct seen *s)
{
	buf_free(&s->out);
	buf_free(&s->warnings);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	struct buf b;
	buf_init(&b);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return buf_steal(&b);
}

static void test_chunking_does_not_matter(void **state)
{
	glob_t g;
	assert_int_equal(glob(FEEDD_FIXTURES "/feeds/*.[xr][md][lf]", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 20);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		size_t len;
		char *doc = slurp(g.gl_pathv[i], &len);
		struct seen whole, piece;
		struct buf e1, e2;
		buf_init(&e1);
		buf_init(&e2);
		int rc1 = parse(doc, len, 0, NULL, NULL, &whole, &e1);
		static const size_t steps[] = {1, 2, 3, 7, 64, 1000};
		for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
			buf_reset(&e2);
			int rc2 = parse(doc, len, steps[k], NULL, NULL, &piece, &e2);
			if (rc1 != rc2 || strcmp(buf_str(&whole.out), buf_str(&piece.out)) != 0 ||
			    strcmp(buf_str(&e1), buf_str(&e2)) != 0)
				fail_msg("%s: pushing %zu bytes at a time differs:\n%s\n---\n%s",
					 g.gl_pathv[i], steps[k], buf_str(&whole.out),
					 buf_str(&piece.out));
			seen_free(&piece);
		}
		if (rc1 == 0 && whole.feeds != 1)
			fail_msg("%s: %d feed callbacks", g.gl_pathv[i], whole.feeds);
		seen_free(&whole);
		buf_free(&e1);
		buf_free(&e2);
		free(doc);
	}
	globfree(&g);
}

#define DOC(s) s, sizeof(s) - 1

static void test_max_entries(void **state)
{
	struct feed_limits l;
	feed_limits_default(&l);
	l.max_entries = 2;
	struct seen s;
	struct buf err;
	buf_init(&err);
	assert_int_equal(parse(DOC("<rss><channel><item><title>1</title></item>"
				   "<item><title>2</title></item><item><title>3</title></item>"
				   "</channel></rss>"),
			       0, &l, NULL, &s, &err),
			 0);
	assert_int_equal(s.entries, 2);
	assert_non_null(strstr(buf_str(&s.warnings), "max_entries"));
	seen_free(&s);
	buf_free(&err);
}

static void test_max_field_cuts_on_a_character(void **state)
{
	struct feed_limits l;
	feed_limits_default(&l);
	l.max_field = 10;
	struct seen s;
	struct buf err;
	buf_init(&err);
	/* "ééééééé": 14 bytes; 10 bytes hold five whole characters. */
	assert_int_equal(parse(DOC("<rss><channel><item><title>\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				   "\xc3\xa9\xc3\xa9\xc3\xa9</title></item></channel></rss>"),
			       1, &l, NULL, &s, &err),
			 0);
	assert_non_null(strstr(buf_str(&s.out), "title=\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9|"));
	assert_non_null(strstr(buf_str(&s.warnings), "max_field_size"));
	seen_free(&s);
	buf_free(&err);
}

static void test_max_document(void **state)
{
	struct feed_limits l;
	feed_limits_default(&l);
	const char doc[] = "<rss><channel><item><title>kept</title></item>"
			   "<item><title>beyond the cap</title></item></channel></rss>";
	l.max_document = strstr(doc, "<item><title>beyond") - doc;
	struct seen s;
	struct buf err;
	buf_init(&err);
	assert_int_equal(parse(doc, sizeof doc - 1, 5, &l, NULL, &s, &err), 0);
	assert_int_equal(s.entries, 1);
	assert_non_null(strstr(buf_str(&s.out), "title=kept|"));
	assert_non_null(strstr(buf_str(&s.warnings), "max_feed_size"));
	seen_free(&s);
	buf_free(&err);
}

static void test_entities_never_expand(void **state)
{
	char secret_path[] = "/tmp/feedd-test-secretXXXXXX";
	int fd = mkstemp(secret_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "TOP-SECRET-MARKER", 17), 17);
	close(fd);

	struct buf doc;
	buf_init(&doc);
	buf_printf(&doc,
		   "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n"
		   "<!ENTITY xxe SYSTEM \"file://%s\">\n"
		   "<!ENTITY %% pe SYSTEM \"file://%s\"> %%pe;\n"
		   "<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
		   "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
		   "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
		   "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
		   "]>\n<rss version=\"2.0\"><channel><title>&xxe;</title>"
		   "<item><title>&d;&d;&d;</title><link>http://x.example/&xxe;</link></item>"
		   "</channel></rss>\n",
		   secret_path, secret_path);
	struct seen s;
	struct buf err;
	buf_init(&err);
	assert_int_equal(parse(doc.data, doc.len, 0, NULL, NULL, &s, &err), 0);
	unlink(secret_path);
	assert_int_equal(s.entries, 1);
	assert_null(strstr(buf_str(&s.out), "TOP-SECRET"));
	assert_null(strstr(buf_str(&s.out), "aaaa"));
	/* An internal entity is expanded once: d's value, whose references
	 * to c are not expanded again; unknown ones stay visible as text. */
	assert_non_null(strstr(buf_str(&s.out), "title=&c;&c;&c;"));
	assert_true(s.out.len < 1000);
	seen_free(&s);
	buf_free(&err);
	buf_free(&doc);
}

static void test_not_feeds(void **state)
{
	static const struct {
		const char *doc, *reason;
	} cases[] = {
		{"", "empty document"},
		{"  \n\t ", "empty document"},
		{"<!DOCTYPE html><html><body>Just a moment</body></html>", "HTML page"},
		{"<HTML><p>x</HTML>", "HTML page"},
		{"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "root element <svg>"},
		{"{\"json\": true}", "no XML markup"},
		{"<<<>>>", "not well-formed XML"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct seen s;
		struct buf err;
		buf_init(&err);
		int rc = parse(cases[i].doc, strlen(cases[i].doc), 0, NULL, NULL, &s, &err);
		if (rc != -1 || !strstr(buf_str(&err), cases[i].reason))
			fail_msg("\"%s\": rc %d, reason \"%s\", expected \"%s\"", cases[i].doc, rc,
				 buf_str(&err), cases[i].reason);
		assert_int_equal(s.entries, 0);
		seen_free(&s);
		buf_free(&err);
	}
}

/* The format a document's root names, as the reference parser names it. */
static void test_versions(void **state)
{
	static const struct {
		const char *doc, *format;
	} cases[] = {
		{"<rss version=\"2.0\"><channel/></rss>", "rss20"},
		{"<rss version=\"2.1\"><channel/></rss>", "rss20"},
		{"<rss version=\"2\"><channel/></rss>", "rss20"},
		{"<rss version=\"0.91\"><channel/></rss>", "rss091"},
		{"<rss version=\"0.92\"><channel/></rss>", "rss092"},
		{"<rss version=\"0.93\"><channel/></rss>", "rss093"},
		{"<rss version=\"0.94\"><channel/></rss>", "rss094"},
		{"<rss version=\"0.945\"><channel/></rss>", "rss"},
		{"<rss><channel/></rss>", "rss"},
		{"<rss version=\"3.0\"><channel/></rss>", "rss"},
		{"<rss xmlns=\"http://backend.userland.com/rss2\" version=\"2.0\"><channel/></rss>",
		 "rss20"},
		{"<rss xmlns=\"http://blogs.law.harvard.edu/tech/rss\"><channel/></rss>", "rss"},
		{"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
		 "xmlns=\"http://purl.org/rss/1.0/\"><channel/></rdf:RDF>",
		 "rss10"},
		{"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
		 "xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><channel/></rdf:RDF>",
		 "rss090"},
		{"<feed xmlns=\"http://www.w3.org/2005/Atom\"/>", "atom10"},
		{"<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"/>", "atom03"},
		{"<feed version=\"0.3\" xmlns=\"http://purl.org/echo/\"/>", "atom03"},
		{"<atom:feed xmlns:atom=\"http://www.w3.org/2005/Atom\"/>", "atom10"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct seen s;
		struct buf err, want;
		buf_init(&err);
		buf_init(&want);
		buf_printf(&want, "feed %s|", cases[i].format);
		int rc = parse(cases[i].doc, strlen(cases[i].doc), 0, NULL, NULL, &s, &err);
		if (rc != 0 || strncmp(buf_str(&s.out), buf_str(&want), want.len) != 0)
			fail_msg("\"%s\": rc %d (%s), got \"%s\", expected \"%s\"", cases[i].doc,
				 rc, buf_str(&err), buf_str(&s.out), buf_str(&want));
		seen_free(&s);
		buf_free(&err);
		buf_free(&want);
	}
}

/* A draft namespace's children are read as Atom's; a prefixed Atom feed too. */
static void test_namespaced_roots(void **state)
{
	static const char *const docs[] = {
		"<feed version=\"0.3\" xmlns=\"http://example.com/necho\"><title>T</title>"
		"<entry><id>e1</id><title>E</title></entry></feed>",
		"<atom:feed xmlns:atom=\"http://www.w3.org/2005/Atom\"><atom:title>T</atom:title>"
		"<atom:entry><atom:id>e1</atom:id><atom:title>E</atom:title></atom:entry></"
		"atom:feed>",
		"<rss xmlns=\"http://backend.userland.com/rss2.1\"><channel><title>T</title>"
		"<item><guid>e1</guid><title>E</title></item></channel></rss>",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct seen s;
		struct buf err;
		buf_init(&err);
		assert_int_equal(parse(docs[i], strlen(docs[i]), 0, NULL, NULL, &s, &err), 0);
		if (!strstr(buf_str(&s.out), "|title=T|") ||
		    !strstr(buf_str(&s.out), "guid=e1|link=-|title=E|"))
			fail_msg("doc %zu: %s", i, buf_str(&s.out));
		seen_free(&s);
		buf_free(&err);
	}
}

/* Atom 1.0's published and updated win over 0.3's issued and modified
 * wherever they come; an entry with only an update time is published then. */
static void test_date_priority(void **state)
{
	static const char doc[] =
		"<feed xmlns=\"http://www.w3.org/2005/Atom\">"
		"<entry><id>a</id><issued>2004-01-01T00:00:00Z</issued>"
		"<published>2010-01-01T00:00:00Z</published>"
		"<modified>2004-01-02T00:00:00Z</modified><updated>2010-01-02T00:00:00Z</updated>"
		"</entry>"
		"<entry><id>b</id><updated>2010-01-02T00:00:00Z</updated></entry>"
		"<entry><id>c</id><issued>2004-01-01T00:00:00Z</issued></entry>"
		"</feed>";
	struct seen s;
	struct buf err;
	buf_init(&err);
	assert_int_equal(parse(doc, strlen(doc), 0, NULL, NULL, &s, &err), 0);
	const char *out = buf_str(&s.out);
	if (!strstr(out,
		    "guid=a|link=-|title=-|summary=-|content=-|author=-|pub=1262304000|upd="
		    "1262390400|") ||
	    !strstr(out,
		    "guid=b|link=-|title=-|summary=-|content=-|author=-|pub=1262390400|upd="
		    "1262390400|") ||
	    !strstr(out, "guid=c|link=-|title=-|summary=-|content=-|author=-|pub=1072915200|"))
		fail_msg("%s", out);
	seen_free(&s);
	buf_free(&err);
}

static void test_recovers_after_damage(void **state)
{
	struct seen s;
	struct buf err;
	buf_init(&err);
	assert_int_equal(
		parse(DOC("<rss version=\"2.0\"><channel>"
			  "<item><title>one &amp; only</title><link>/1</link></item>"
			  "<item><title>bad <b>markup</title><link>/2</link></item>"
			  "<item><title>after &amp; damage &nbsp;x</title><link>/3</link></item>"),
		      0, NULL, NULL, &s, &err),
		0);
	assert_non_null(strstr(buf_str(&s.out), "link=https://base.example/1|title=one & only|"));
	assert_non_null(strstr(buf_str(&s.out), "title=after & damage x|"));
	seen_free(&s);
	buf_free(&err);
}

static void test_charset_hint(void **state)
{
	struct seen s;
	struct buf err;
	buf_init(&err);
	assert_int_equal(parse(DOC("<rss><channel><item><title>caf\xe9</title></item></channel>"
				   "</rss>"),
			       0, NULL, "iso-8859-1", &s, &err),
			 0);
	assert_non_null(strstr(buf_str(&s.out), "title=caf\xc3\xa9|"));
	seen_free(&s);
	buf_free(&err);
}

int main(void)
{
	feed_xml_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunking_does_not_matter),
		cmocka_unit_test(test_max_entries),
		cmocka_unit_test(test_max_field_cuts_on_a_character),
		cmocka_unit_test(test_max_document),
		cmocka_unit_test(test_entities_never_expand),
		cmocka_unit_test(test_not_feeds),
		cmocka_unit_test(test_recovers_after_damage),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_namespaced_roots),
		cmocka_unit_test(test_date_priority),
		cmocka_unit_test(test_charset_hint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
