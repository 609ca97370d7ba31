/*
 * test_extract: the nastooh preset on the article fixtures in
 * fixtures/articles/ (a current page and an older one without the meta
 * tags must give the same fields, field by field against the expected
 * JSON), the pages extract must refuse (a bot challenge, a page whose news
 * ID is not the URL's, a page without the preset's container), xpath.FIELD
 * overrides including exclude, no preset with the JSON-LD and meta
 * fallbacks, the charset precedence, and local times converted to UTC in
 * several zones around their clock changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/date.h"
#include "feedd/extract.h"
#include "feedd/feed.h"
#include "feedd/tz.h"

#define DIR FEEDD_FIXTURES "/articles/"
#define URL "https://en.irna.ir/news/85859288/Ministers-agree-to-expand-rail-freight-link"

static void read_fixture(const char *path, struct buf *b)
{
	bool truncated = false;
	buf_init(b);
	if (read_file_capped(path, 1 << 20, b, &truncated) != 0 || truncated)
		fail_msg("cannot read %s", path);
}

/* Extracts the fixture; 0 with *a a new page, or -1 with the reason in err. */
static int extract_fixture(const char *name, const char *url, struct store_page **a,
			   struct buf *err)
{
	struct buf page;
	read_fixture(name, &page);
	int rc = extract_page(page.data, page.len, url, NULL, NULL, a, err);
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

/* Checks every field of the fixture against the expected JSON. */
static void check_page(const char *page)
{
	json_object *want = json_object_from_file(DIR "irna-article.expected.json");
	assert_non_null(want);
	struct store_page *a;
	struct buf err;
	buf_init(&err);
	if (extract_fixture(page, URL, &a, &err) != 0)
		fail_msg("%s: %s", page, buf_str(&err));
	char iso[DATE_ISO_LEN] = "", iso_upd[DATE_ISO_LEN] = "";
	if (a->published_at != STORE_TIME_NONE)
		assert_int_equal(date_format_utc(a->published_at, iso), 0);
	if (a->modified_at != STORE_TIME_NONE)
		assert_int_equal(date_format_utc(a->modified_at, iso_upd), 0);

	check_str(page, want, "url", a->url);
	check_str(page, want, "news_id", a->news_id);
	check_str(page, want, "title", a->title);
	check_str(page, want, "lead", a->lead);
	check_str(page, want, "body", a->body);
	check_str(page, want, "author", a->author);
	check_str(page, want, "published", iso[0] ? iso : NULL);
	check_str(page, want, "updated", iso_upd[0] ? iso_upd : NULL);
	check_str(page, want, "image", a->image);
	check_str(page, want, "caption", a->caption);
	check_str(page, want, "language", a->language);
	json_object *tags = json_object_object_get(want, "tags");
	if (json_object_array_length(tags) != a->n_tags)
		fail_msg("%s: tags: expected %zu, got %zu", page, json_object_array_length(tags),
			 a->n_tags);
	for (size_t i = 0; i < a->n_tags; i++) {
		const char *w = json_object_get_string(json_object_array_get_idx(tags, i));
		if (strcmp(w, a->tags[i]) != 0)
			fail_msg("%s: tags[%zu]: expected %s, got %s", page, i, w, a->tags[i]);
	}
	store_page_free(a);
	buf_free(&err);
	json_object_put(want);
}

static void test_current_page(void **state)
{
	(void)state;
	check_page(DIR "irna-article.html");
	/* And the values themselves, in case the expected file were wrong. */
	struct store_page *a;
	struct buf err;
	buf_init(&err);
	assert_int_equal(extract_fixture(DIR "irna-article.html", URL, &a, &err), 0);
	assert_string_equal(a->title,
			    "Ministers agree to expand rail freight link across the region");
	assert_int_equal(a->published_at, 1749656760); /* 2025-06-11T15:46:00Z */
	assert_int_equal(a->modified_at, STORE_TIME_NONE);
	assert_string_equal(a->caption, "Transport ministers meet in Tehran, June 11, 2025.");
	assert_null(a->author);
	assert_int_equal(a->n_tags, 2);
	/* Three paragraphs; the editor's code 3266**4353 is gone. */
	assert_null(strstr(a->body, "3266"));
	const char *nl = strchr(a->body, '\n');
	assert_non_null(nl);
	assert_non_null(strchr(nl + 1, '\n'));
	assert_null(strchr(strchr(nl + 1, '\n') + 1, '\n'));
	store_page_free(a);
	buf_free(&err);
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
	struct store_page *a;
	struct buf err;
	buf_init(&err);
	if (extract_fixture(DIR "irna-article-notags.html", URL, &a, &err) != 0)
		fail_msg("%s", buf_str(&err));
	assert_int_equal(a->n_tags, 0);
	assert_null(a->image);
	assert_null(a->caption);
	assert_string_equal(a->news_id, "85859288");
	assert_non_null(a->body);
	store_page_free(a);
	buf_free(&err);
}

static void check_refused(const char *page, const char *want_reason)
{
	struct store_page *a;
	struct buf err;
	buf_init(&err);
	if (extract_fixture(page, URL, &a, &err) == 0)
		fail_msg("%s: extracted, expected refusal (%s)", page, want_reason);
	if (!strstr(buf_str(&err), want_reason))
		fail_msg("%s: reason \"%s\" lacks \"%s\"", page, buf_str(&err), want_reason);
	assert_null(a);
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
	struct store_page *a;
	struct buf err;
	buf_init(&err);
	if (extract_fixture(DIR "irna-article-nometa.html", NULL, &a, &err) != 0)
		fail_msg("%s", buf_str(&err));
	assert_string_equal(a->news_id, "85859288");
	assert_string_equal(a->url, URL);
	store_page_free(a);
	assert_int_equal(extract_fixture(DIR "irna-article-wrongid.html", NULL, &a, &err), -1);
	buf_free(&err);
}

/* Extracts the page in s with rules; 0 or -1 as extract_page. */
static int extract_str(const char *s, size_t len, const char *url, const char *charset,
		       const struct extract_rules *r, struct store_page **a, struct buf *err)
{
	buf_reset(err);
	return extract_page(s, len, url, charset, r, a, err);
}

/* A source's xpath.FIELD wins over the preset; a broken one is an error. */
static void test_xpath_override(void **state)
{
	(void)state;
	struct extract_rules r = {0};
	r.xpath[CFG_XPATH_TITLE] = "//figcaption";
	r.xpath[CFG_XPATH_CAPTION] = "//figure/img/@src";
	r.xpath[CFG_XPATH_AUTHOR] = "//div[@class='item-persons']";
	struct buf page, err;
	struct store_page *a;
	read_fixture(DIR "irna-article.html", &page);
	buf_init(&err);
	assert_int_equal(extract_page(page.data, page.len, URL, NULL, &r, &a, &err), 0);
	assert_string_equal(a->title, "Transport ministers meet in Tehran, June 11, 2025.");
	assert_string_equal(a->caption, "https://img.irna.ir/d/r2/2025/06/11/4/157000000.jpg");
	assert_string_equal(a->author, "0 Persons");
	/* The rest still comes from the preset. */
	assert_string_equal(a->lead,
			    "Transport ministers of three neighbouring countries agreed to "
			    "expand a rail freight corridor, aiming to double its capacity "
			    "within two years.");
	store_page_free(a);

	/* A rule that finds nothing falls back: og:title. */
	r.xpath[CFG_XPATH_TITLE] = "//h2[@class='nothing-here']";
	assert_int_equal(extract_page(page.data, page.len, URL, NULL, &r, &a, &err), 0);
	assert_string_equal(a->title,
			    "Ministers agree to expand rail freight link across the region");
	store_page_free(a);

	/* A body rule replaces the container check and the preset's body. */
	r.xpath[CFG_XPATH_BODY] = "//aside[@class='related']//li";
	assert_int_equal(extract_page(page.data, page.len, URL, NULL, &r, &a, &err), 0);
	assert_string_equal(a->body,
			    "Port authority reports record container traffic\n"
			    "Parliament approves budget amendments for roads");
	store_page_free(a);

	r.xpath[CFG_XPATH_TITLE] = "//h1[";
	assert_int_equal(extract_page(page.data, page.len, URL, NULL, &r, &a, &err), -1);
	assert_non_null(strstr(buf_str(&err), "xpath.title"));
	assert_null(a);
	buf_free(&err);
	buf_free(&page);
}

/* xpath.exclude cuts elements out before anything is read, on top of the
 * preset's own exclusions, even a node and its ancestor at once. */
static void test_xpath_exclude(void **state)
{
	(void)state;
	struct extract_rules r = {0};
	struct buf page, err;
	struct store_page *a;
	read_fixture(DIR "irna-article.html", &page);
	buf_init(&err);

	r.xpath[CFG_XPATH_EXCLUDE] = "//div[@class='item-text']/p[2]";
	assert_int_equal(extract_page(page.data, page.len, URL, NULL, &r, &a, &err), 0);
	assert_null(strstr(a->body, "Freight"));
	assert_non_null(strstr(a->body, "memorandum"));
	assert_non_null(strstr(a->body, "autumn"));
	store_page_free(a);

	/* The tag list and its items both selected: the tags come from the
	 * keywords meta instead. */
	r.xpath[CFG_XPATH_EXCLUDE] = "//section | //section//li | //section//a/text()";
	assert_int_equal(extract_page(page.data, page.len, URL, NULL, &r, &a, &err), 0);
	assert_int_equal(a->n_tags, 2);
	assert_string_equal(a->tags[0], "Railway");
	store_page_free(a);

	/* Excluding the News ID box runs before the check: the URL's ID. */
	buf_free(&page);
	read_fixture(DIR "irna-article-wrongid.html", &page);
	r.xpath[CFG_XPATH_EXCLUDE] = "//div[@class='item-code']";
	assert_int_equal(extract_page(page.data, page.len, URL, NULL, &r, &a, &err), 0);
	assert_string_equal(a->news_id, "85859288");
	store_page_free(a);

	/* Excluding the container leaves no article. */
	r.xpath[CFG_XPATH_EXCLUDE] = "//div[@class='item-body']";
	assert_int_equal(extract_page(page.data, page.len, URL, NULL, &r, &a, &err), -1);
	assert_non_null(strstr(buf_str(&err), "no article container"));

	buf_reset(&err);
	r.xpath[CFG_XPATH_EXCLUDE] = "//div[";
	assert_int_equal(extract_page(page.data, page.len, URL, NULL, &r, &a, &err), -1);
	assert_non_null(strstr(buf_str(&err), "xpath.exclude"));
	buf_free(&err);
	buf_free(&page);
}

/* Date rules: visible local dates in the source's zone, by its
 * date_format; a rule whose text is no date falls back. */
static void test_xpath_dates(void **state)
{
	(void)state;
	struct extract_rules r = {.timezone = "Asia/Tehran"};
	struct buf page, err;
	struct store_page *a;
	read_fixture(DIR "irna-article-nometa.html", &page);
	buf_init(&err);
	r.xpath[CFG_XPATH_PUBLISHED] = "//div[@class='item-date']";
	r.xpath[CFG_XPATH_UPDATED] = "//figcaption";
	assert_int_equal(extract_page(page.data, page.len, URL, NULL, &r, &a, &err), 0);
	assert_int_equal(a->published_at, 1749656760); /* 7:16 PM +03:30 */
	assert_int_equal(a->modified_at, STORE_TIME_NONE);
	store_page_free(a);
	buf_free(&page);

	static const char html[] =
		"<html><head><title>Budget vote | Courier</title>"
		"<meta property='article:modified_time' content='2025-03-30T09:00:00+01:00'>"
		"</head><body><h1>Budget passes</h1>"
		"<span class='d'>Posted 30/03/2025 01:30</span>"
		"<span class='e'>30/03/2025 01:30</span>"
		"<div class='text'><p>The vote was close.</p><p>Very close.</p></div>"
		"</body></html>";
	struct extract_rules c = {
		.preset = "none", .timezone = "Europe/London", .date_format = "%d/%m/%Y %H:%M"};
	c.xpath[CFG_XPATH_BODY] = "//div[@class='text']";
	c.xpath[CFG_XPATH_PUBLISHED] = "//span[@class='e']";
	assert_int_equal(extract_str(html, sizeof html - 1, NULL, NULL, &c, &a, &err), 0);
	/* 01:30 did not happen in London that night: read as GMT. */
	char iso[DATE_ISO_LEN];
	date_format_utc(a->published_at, iso);
	assert_string_equal(iso, "2025-03-30T01:30:00Z");
	date_format_utc(a->modified_at, iso);
	assert_string_equal(iso, "2025-03-30T08:00:00Z");
	assert_string_equal(a->title, "Budget vote | Courier");
	assert_string_equal(a->body, "The vote was close.\nVery close.");
	assert_null(a->news_id);
	assert_null(a->url);
	store_page_free(a);

	/* Leading text the pattern does not allow: no date at all. */
	c.xpath[CFG_XPATH_PUBLISHED] = "//span[@class='d']";
	assert_int_equal(extract_str(html, sizeof html - 1, NULL, NULL, &c, &a, &err), 0);
	assert_int_equal(a->published_at, STORE_TIME_NONE);
	store_page_free(a);
	buf_free(&err);
}

/* Without a preset: the JSON-LD page from another site, the title
 * fallbacks <title> then <h1>, the generic body last. */
static void test_no_preset_fallbacks(void **state)
{
	(void)state;
	struct extract_rules r = {.preset = "none", .timezone = "Europe/Berlin"};
	struct buf page, err;
	struct store_page *a;
	read_fixture(DIR "variants/jsonld-only.html", &page);
	buf_init(&err);
	assert_int_equal(extract_page(page.data, page.len, NULL, NULL, &r, &a, &err), 0);
	assert_string_equal(a->title, "Neue Rheinfähre fährt ab Juli elektrisch");
	assert_string_equal(a->author, "Jana Köhler, Tim Berger");
	assert_int_equal(a->n_tags, 3);
	assert_string_equal(a->tags[1], "Fähre");
	char iso[DATE_ISO_LEN];
	date_format_utc(a->published_at, iso);
	assert_string_equal(iso, "2025-06-23T12:05:00Z"); /* its own +02:00 */
	date_format_utc(a->modified_at, iso);
	assert_string_equal(iso, "2025-06-23T16:30:00Z"); /* no zone: Berlin */
	assert_string_equal(a->image, "https://www.rheinbote.example/bilder/204417-faehre.jpg");
	assert_non_null(strstr(a->body, "60 Autos pro Stunde"));
	assert_null(a->news_id); /* no news_id pattern and no /news/NNN/ */
	store_page_free(a);
	buf_free(&page);

	static const char only_h1[] =
		"<html><body><h1> Storm  warning </h1><p>Text.</p></body></html>";
	r.xpath[CFG_XPATH_BODY] = "//p";
	assert_int_equal(extract_str(only_h1, sizeof only_h1 - 1, NULL, NULL, &r, &a, &err), 0);
	assert_string_equal(a->title, "Storm warning");
	store_page_free(a);

	/* No rule and no JSON-LD body: the generic heuristic finds it. */
	read_fixture(DIR "variants/opengraph-only.html", &page);
	r.xpath[CFG_XPATH_BODY] = NULL;
	assert_int_equal(extract_page(page.data, page.len, NULL, NULL, &r, &a, &err), 0);
	assert_non_null(strstr(a->body, "Ferries to the outer islands resumed"));
	assert_null(strstr(a->body, "\n\n"));
	assert_string_equal(a->title, "Ferry service resumes after overnight storm");
	store_page_free(a);
	buf_free(&page);

	/* No body anywhere: refused. */
	read_fixture(DIR "bot-challenge.html", &page);
	r.xpath[CFG_XPATH_BODY] = NULL;
	assert_int_equal(extract_page(page.data, page.len, URL, NULL, &r, &a, &err), -1);
	assert_string_equal(buf_str(&err), "not an article: no body text");
	buf_free(&page);
	buf_free(&err);
}

static void test_no_container_refused(void **state)
{
	(void)state;
	check_refused(DIR "variants/jsonld-only.html",
		      "not an article: no article container (page title \"Neue Rheinfähre");
}

static void test_rules_from_source(void **state)
{
	(void)state;
	struct cfg_source src = {.name = "x", .timezone = "UTC", .date_format = "%d.%m.%Y"};
	src.xpath[CFG_XPATH_CAPTION] = "//figcaption";
	struct extract_rules r;
	struct buf err;
	buf_init(&err);
	assert_int_equal(extract_rules_from_source(&src, &r, &err), 0);
	assert_string_equal(r.preset, "none");
	assert_string_equal(r.date_format, "%d.%m.%Y");
	assert_string_equal(r.xpath[CFG_XPATH_CAPTION], "//figcaption");
	src.rules = "irna";
	assert_int_equal(extract_rules_from_source(&src, &r, &err), 0);
	assert_string_equal(r.preset, "irna");
	src.rules = "wordpress";
	assert_int_equal(extract_rules_from_source(&src, &r, &err), -1);
	assert_non_null(strstr(buf_str(&err), "no built-in rules named 'wordpress'"));
	buf_free(&err);
}

/* The body of a one-paragraph page with this head, read with charset. */
static void check_charset(const char *head, const char *text, const char *charset, const char *want)
{
	struct buf page, err;
	buf_init(&page);
	buf_init(&err);
	buf_printf(&page, "%s<body><p>%s</p></body></html>", head, text);
	struct extract_rules r = {.preset = "none"};
	r.xpath[CFG_XPATH_BODY] = "//p";
	struct store_page *a;
	if (extract_page(page.data, page.len, NULL, charset, &r, &a, &err) != 0)
		fail_msg("%s: %s", head, buf_str(&err));
	if (strcmp(a->body, want) != 0)
		fail_msg("%s with charset %s: expected %s, got %s", head,
			 charset ? charset : "NULL", want, a->body);
	store_page_free(a);
	buf_free(&page);
	buf_free(&err);
}

/* BOM, then the HTTP charset, then <meta>, then UTF-8. */
static void test_charset_precedence(void **state)
{
	(void)state;
	static const char cp1256[] = "\xE3\xCA\xE4", utf8[] = "\xD9\x85\xD8\xAA\xD9\x86",
			  as_1252[] = "\xC3\xA3\xC3\x8A\xC3\xA4";
	const char *meta = "<html><head><meta charset=\"windows-1256\"></head>";
	const char *equiv = "<html><head><META HTTP-EQUIV='Content-Type' "
			    "CONTENT='text/html; charset=Windows-1256'></head>";
	check_charset(meta, cp1256, NULL, utf8);
	check_charset(equiv, cp1256, NULL, utf8);
	check_charset(meta, cp1256, "windows-1252", as_1252);
	check_charset("<html><head></head>", utf8, NULL, utf8);
	check_charset("<html><head></head>", cp1256, "cp1256", utf8);
	/* A byte-order mark wins over both. */
	check_charset("\xEF\xBB\xBF<html><head><meta charset=\"windows-1256\"></head>", utf8,
		      "windows-1252", utf8);
	/* Undeclared and not UTF-8: replacement characters, not a guess. */
	check_charset("<html><head></head>", cp1256, NULL, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

/* Converts "YYYY-MM-DD HH:MM" in tz and compares with want (ISO, UTC). */
static void check_local(const char *tz, const char *local, const char *want)
{
	struct tm tm = {0};
	if (sscanf(local, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min) != 5)
		fail_msg("bad test time %s", local);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t t;
	char got[DATE_ISO_LEN];
	if (extract_local_to_utc(tz, &tm, &t) != 0)
		fail_msg("%s %s: conversion failed", tz, local);
	date_format_utc(t, got);
	if (strcmp(got, want) != 0)
		fail_msg("%s %s: expected %s, got %s", tz, local, want, got);
}

static void test_local_times(void **state)
{
	(void)state;
	check_local("UTC", "2025-06-11 19:16", "2025-06-11T19:16:00Z");
	check_local("America/New_York", "2025-01-15 12:00", "2025-01-15T17:00:00Z");
	check_local("America/New_York", "2025-07-15 12:00", "2025-07-15T16:00:00Z");
	check_local("America/New_York", "2025-03-09 01:59", "2025-03-09T06:59:00Z");
	check_local("America/New_York", "2025-03-09 03:00", "2025-03-09T07:00:00Z");
	check_local("America/New_York", "2025-11-02 00:59", "2025-11-02T04:59:00Z");
	check_local("America/New_York", "2025-11-02 02:00", "2025-11-02T07:00:00Z");
	check_local("Europe/London", "2025-07-01 12:00", "2025-07-01T11:00:00Z");
	check_local("Europe/London", "2025-12-01 12:00", "2025-12-01T12:00:00Z");
	check_local("Australia/Sydney", "2025-01-15 12:00", "2025-01-15T01:00:00Z");
	check_local("Australia/Sydney", "2025-07-15 12:00", "2025-07-15T02:00:00Z");
	/* Far from 1970, both ways. */
	check_local("Europe/London", "1960-06-01 12:00", "1960-06-01T11:00:00Z");
	check_local("America/New_York", "2080-07-01 12:00", "2080-07-01T16:00:00Z");
}

/* Iran kept summer time until 2022 and abolished it from 2023. */
static void test_tehran_history(void **state)
{
	(void)state;
	check_local("Asia/Tehran", "2021-06-01 12:00", "2021-06-01T07:30:00Z");
	check_local("Asia/Tehran", "2022-06-01 12:00", "2022-06-01T07:30:00Z");
	check_local("Asia/Tehran", "2023-06-01 12:00", "2023-06-01T08:30:00Z");
	check_local("Asia/Tehran", "2025-06-11 19:16", "2025-06-11T15:46:00Z");
	check_local("Asia/Tehran", "2025-01-15 12:00", "2025-01-15T08:30:00Z");
	/* Midnight of 1 Farvardin 1400 was skipped in 2021, not in 2024. */
	check_local("Asia/Tehran", "2021-03-22 00:30", "2021-03-21T21:00:00Z");
	check_local("Asia/Tehran", "2024-03-20 00:30", "2024-03-19T21:00:00Z");
	check_local("Asia/Tehran", "2024-03-21 00:30", "2024-03-20T21:00:00Z");
	/* 23:30 on 30 Shahrivar happened twice in 2022, once in 2023. */
	check_local("Asia/Tehran", "2022-09-21 23:30", "2022-09-21T19:00:00Z");
	check_local("Asia/Tehran", "2023-09-22 23:30", "2023-09-22T20:00:00Z");
}

/* A time the clocks skipped takes the offset before the change (it is
 * moved forward by the gap); a time that happened twice is the earlier. */
static void test_gap_and_overlap(void **state)
{
	(void)state;
	check_local("America/New_York", "2025-03-09 02:30", "2025-03-09T07:30:00Z");
	check_local("America/New_York", "2025-11-02 01:30", "2025-11-02T05:30:00Z");
	check_local("Europe/London", "2025-03-30 01:30", "2025-03-30T01:30:00Z");
	check_local("Europe/London", "2025-10-26 01:30", "2025-10-26T00:30:00Z");
	check_local("Australia/Sydney", "2025-10-05 02:30", "2025-10-04T16:30:00Z");
	check_local("Australia/Sydney", "2025-04-06 02:30", "2025-04-05T15:30:00Z");
}

static void check_date(const char *s, const char *tz, const char *fmt, const char *want)
{
	int64_t t;
	char got[DATE_ISO_LEN] = "";
	int rc = extract_parse_date(s, tz, fmt, &t);
	if (rc == 0)
		date_format_utc(t, got);
	if (!want) {
		if (rc == 0)
			fail_msg("\"%s\": expected no date, got %s", s, got);
		return;
	}
	if (rc != 0 || strcmp(got, want) != 0)
		fail_msg("\"%s\" in %s: expected %s, got %s", s, tz, want, rc ? "no date" : got);
}

/* Dates with a zone keep it; dates without are local to the source. */
static void test_page_dates(void **state)
{
	(void)state;
	const char *ny = "America/New_York", *teh = "Asia/Tehran";
	check_date("2025-06-11T19:16:00+03:30", ny, NULL, "2025-06-11T15:46:00Z");
	check_date("2025-06-11T15:46:00Z", teh, NULL, "2025-06-11T15:46:00Z");
	check_date("2025-06-11T16:46:00+01:00", teh, NULL, "2025-06-11T15:46:00Z");
	check_date("2025-06-11T17:46:00+0200", teh, NULL, "2025-06-11T15:46:00Z");
	check_date("Wed, 11 Jun 2025 16:46:00 +0100", teh, NULL, "2025-06-11T15:46:00Z");
	check_date("2025-06-11T15:46:00.250Z", teh, NULL, "2025-06-11T15:46:00Z");
	check_date("Wed, 11 Jun 2025 15:46:00 GMT", teh, NULL, "2025-06-11T15:46:00Z");
	check_date("Wed, 11 Jun 2025 15:46:00 +0000 (UTC)", teh, NULL, "2025-06-11T15:46:00Z");
	check_date("2025-06-11T19:16:00", teh, NULL, "2025-06-11T15:46:00Z");
	check_date("2025-06-11 19:16", teh, NULL, "2025-06-11T15:46:00Z");
	check_date("Jun 11, 2025, 7:16 PM", teh, NULL, "2025-06-11T15:46:00Z");
	check_date(" June 11, 2025, 19:16 ", teh, NULL, "2025-06-11T15:46:00Z");
	check_date("2025-06-11", teh, NULL, "2025-06-10T20:30:00Z");
	check_date("11/06/2025 19:16", teh, "%d/%m/%Y %H:%M", "2025-06-11T15:46:00Z");
	check_date("11 June 2025 19:16", teh, "%d %B %Y %H:%M", "2025-06-11T15:46:00Z");
	check_date("11/06/2025 19:16 +0330", ny, "%d/%m/%Y %H:%M %z", "2025-06-11T15:46:00Z");
	/* The pattern comes second to a date that carries its own offset. */
	check_date("2025-06-11T19:16:00+03:30", ny, "%d/%m/%Y %H:%M", "2025-06-11T15:46:00Z");
	check_date("11/06/2025 19:16", teh, NULL, NULL);
	check_date("19:16", teh, "%H:%M", NULL);
	check_date("yesterday", teh, NULL, NULL);
	check_date("", teh, NULL, NULL);
}

/* TZ is left as it was, set or not: conversions never read or change it. */
static void test_tz_restored(void **state)
{
	(void)state;
	struct tm tm = {.tm_year = 125, .tm_mon = 5, .tm_mday = 11, .tm_hour = 12};
	int64_t t;
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	assert_int_equal(extract_local_to_utc("Asia/Tehran", &tm, &t), 0);
	assert_string_equal(getenv("TZ"), "Europe/Paris");
	time_t now = (time_t)t;
	struct tm lt;
	localtime_r(&now, &lt);
	assert_int_equal(lt.tm_gmtoff, 7200);
	unsetenv("TZ");
	tzset();
	assert_int_equal(extract_local_to_utc("Asia/Tehran", &tm, &t), 0);
	assert_null(getenv("TZ"));
}

int main(void)
{
	feed_xml_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_current_page),
		cmocka_unit_test(test_older_page),
		cmocka_unit_test(test_no_tags_no_image),
		cmocka_unit_test(test_bot_challenge_refused),
		cmocka_unit_test(test_news_id_mismatch_refused),
		cmocka_unit_test(test_no_container_refused),
		cmocka_unit_test(test_without_url),
		cmocka_unit_test(test_xpath_override),
		cmocka_unit_test(test_xpath_exclude),
		cmocka_unit_test(test_xpath_dates),
		cmocka_unit_test(test_no_preset_fallbacks),
		cmocka_unit_test(test_rules_from_source),
		cmocka_unit_test(test_charset_precedence),
		cmocka_unit_test(test_local_times),
		cmocka_unit_test(test_tehran_history),
		cmocka_unit_test(test_gap_and_overlap),
		cmocka_unit_test(test_page_dates),
		cmocka_unit_test(test_tz_restored),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tz_finalise();
	return rc;
}
