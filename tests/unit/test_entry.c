/*
 * test_entry: a feed entry as an article, field by field: an entry with
 * everything (summary and content as HTML, categories, an image among the
 * enclosures, a publication time), one with nearly nothing, the enclosures
 * that count as an image, when the page is to be fetched, and an entry
 * straight from the feed parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/entry.h"
#include "feedd/util.h"

static struct cfg_source source(const char *name, enum cfg_articles articles)
{
	struct cfg_source src;
	memset(&src, 0, sizeof src);
	src.name = (char *)name;
	src.articles = articles;
	return src;
}

static char *dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void add_enclosure(struct feed_entry *e, const char *url, const char *type)
{
	e->enclosures = xrealloc(e->enclosures, (e->n_enclosures + 1) * sizeof *e->enclosures);
	struct feed_enclosure *en = &e->enclosures[e->n_enclosures++];
	en->url = dup(url);
	en->type = dup(type);
	en->length = -1;
}

static struct feed_entry *entry_new(void)
{
	struct feed_entry *e = xcalloc(1, sizeof *e);
	e->published = e->updated = FEED_TIME_NONE;
	return e;
}

static void assert_str(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void test_full_entry(void **state)
{
	struct cfg_source src = source("agency", CFG_ARTICLES_FETCH);
	struct feed_entry *e = entry_new();
	e->guid = dup("urn:agency:85859288");
	e->link = dup("https://agency.example/news/85859288/slug");
	e->title = dup("Minister visits & speaks");
	e->summary = dup("<p>The <b>lead</b> &amp; more</p>");
	e->content = dup("<p>First paragraph.</p><p>Second <i>one</i> here.</p>");
	e->author = dup("A. Writer");
	e->categories = xcalloc(2, sizeof *e->categories);
	e->categories[0] = dup("Politics");
	e->categories[1] = dup("World");
	e->n_categories = 2;
	add_enclosure(e, "https://agency.example/a.mp3", "audio/mpeg");
	add_enclosure(e, "https://agency.example/a.jpg", "image/jpeg");
	add_enclosure(e, "https://agency.example/b.jpg", "image/jpeg");
	e->published = 1700000000;
	e->updated = 1700000500;
	char **tags = e->categories;

	struct store_article *a = article_from_entry(e, &src, "agency-all", "en",
						     xstrdup("85859288"), 1700000123456789LL);
	assert_str(a->source, "agency");
	assert_str(a->feed, "agency-all");
	assert_str(a->news_id, "85859288");
	assert_str(a->url, "https://agency.example/news/85859288/slug");
	assert_str(a->title, "Minister visits & speaks");
	assert_str(a->lead, "The lead & more");
	assert_str(a->body, "First paragraph.\nSecond one here.");
	assert_str(a->author, "A. Writer");
	assert_str(a->image, "https://agency.example/a.jpg"); /* the first image */
	assert_str(a->language, "en");
	/* The categories are taken over, not copied. */
	assert_ptr_equal(a->tags, tags);
	assert_int_equal(a->n_tags, 2);
	assert_str(a->tags[0], "Politics");
	assert_str(a->tags[1], "World");
	assert_null(e->categories);
	assert_int_equal(e->n_categories, 0);
	assert_true(a->published_at == 1700000000);
	assert_true(a->seen_at_us == 1700000123456789LL);
	assert_true(a->published_claimed == 0); /* the store's to set */
	assert_true(a->fetch_page);
	assert_null(a->ctx);
	assert_string_equal(a->content_hash, ""); /* the store's to set */
	feed_entry_free(e);
	store_article_free(a);
}

static void test_bare_entry(void **state)
{
	struct cfg_source src = source("agency", CFG_ARTICLES_FETCH);
	struct feed_entry *e = entry_new();
	e->title = dup("Only a title");
	e->summary = dup("<p> <br/> </p>"); /* no text in it */
	add_enclosure(e, "https://agency.example/a.mp3", "audio/mpeg");
	struct store_article *a = article_from_entry(e, &src, "f", NULL, xstrdup("h:0123"), 5);
	assert_str(a->news_id, "h:0123");
	assert_null(a->url);
	assert_str(a->title, "Only a title");
	assert_null(a->lead);
	assert_null(a->body);
	assert_null(a->author);
	assert_null(a->image); /* audio is not an image */
	assert_null(a->language);
	assert_null(a->tags);
	assert_int_equal(a->n_tags, 0);
	assert_true(a->published_at == STORE_TIME_NONE);
	assert_true(a->seen_at_us == 5);
	assert_false(a->fetch_page); /* no link: no page to fetch */
	feed_entry_free(e);
	store_article_free(a);
}

/* An enclosure that says no type counts as an image (RSS readers put
 * thumbnails there bare); the type is compared without case. */
static void test_image_choice(void **state)
{
	struct cfg_source src = source("blog", CFG_ARTICLES_FEED_ONLY);
	struct feed_entry *e = entry_new();
	e->link = dup("https://blog.example/post");
	add_enclosure(e, "https://blog.example/v.mp4", "video/mp4");
	add_enclosure(e, "https://blog.example/t.png", NULL);
	struct store_article *a = article_from_entry(e, &src, "f", "fa", xstrdup("1"), 0);
	assert_str(a->image, "https://blog.example/t.png");
	assert_false(a->fetch_page); /* a feed-only source never fetches pages */
	feed_entry_free(e);
	store_article_free(a);

	e = entry_new();
	add_enclosure(e, "https://blog.example/T.PNG", "IMAGE/PNG");
	e->content = dup("Plain text, no tags");
	a = article_from_entry(e, &src, "f", NULL, xstrdup("2"), 0);
	assert_str(a->image, "https://blog.example/T.PNG");
	assert_str(a->body, "Plain text, no tags");
	assert_null(a->lead);
	feed_entry_free(e);
	store_article_free(a);
}

/* From the parser, as a poll gets it. */
struct parsed {
	struct feed_entry *e;
	char *language;
};

static void on_feed(void *ctx, const struct feed_info *info)
{
	struct parsed *p = ctx;
	p->language = info->language ? xstrdup(info->language) : NULL;
}

static void on_entry(void *ctx, struct feed_entry *e)
{
	struct parsed *p = ctx;
	assert_null(p->e);
	p->e = e;
}

static void on_warning(void *ctx, const char *msg)
{
	fail_msg("warning: %s", msg);
}

static void test_parsed_entry(void **state)
{
	static const char rss[] =
		"<?xml version=\"1.0\"?>\n"
		"<rss version=\"2.0\"><channel><title>T</title><language>en-us</language>\n"
		"<item><title>Quake &amp; aftershocks</title>\n"
		"<link>https://agency.example/news/85859290/quake</link>\n"
		"<description>&lt;p&gt;Ten &lt;b&gt;hurt&lt;/b&gt; today.&lt;/p&gt;</description>\n"
		"<category>Iran</category><category>Disasters</category>\n"
		"<enclosure url=\"https://agency.example/q.jpg\" type=\"image/jpeg\" "
		"length=\"100\"/>\n"
		"<pubDate>Tue, 14 Nov 2023 22:13:20 GMT</pubDate></item>\n"
		"</channel></rss>\n";
	struct parsed p = {0};
	struct feed_limits lim;
	feed_limits_default(&lim);
	struct feed_handler h = {on_feed, on_entry, on_warning, &p};
	struct feed_parser *fp = feed_parser_new(&lim, NULL, NULL, &h);
	feed_parser_push(fp, rss, sizeof rss - 1);
	struct buf err;
	buf_init(&err);
	assert_int_equal(feed_parser_finish(fp, &err), 0);
	buf_free(&err);
	feed_parser_free(fp);
	assert_non_null(p.e);

	struct cfg_source src = source("agency", CFG_ARTICLES_FETCH);
	struct store_article *a =
		article_from_entry(p.e, &src, "agency-all", p.language, xstrdup("85859290"), 1);
	assert_str(a->url, "https://agency.example/news/85859290/quake");
	assert_str(a->title, "Quake & aftershocks");
	assert_str(a->lead, "Ten hurt today.");
	assert_null(a->body);
	assert_str(a->image, "https://agency.example/q.jpg");
	assert_str(a->language, "en-us");
	assert_int_equal(a->n_tags, 2);
	assert_str(a->tags[0], "Iran");
	assert_str(a->tags[1], "Disasters");
	assert_true(a->published_at == 1700000000);
	assert_true(a->fetch_page);
	feed_entry_free(p.e);
	free(p.language);
	store_article_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_entry),
		cmocka_unit_test(test_bare_entry),
		cmocka_unit_test(test_image_choice),
		cmocka_unit_test(test_parsed_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
