/*
 * extract: an article page's HTML in, its fields out (title, lead, body,
 * tags, dates, ...) as the store's page (struct store_page, article.h).
 * Pages are read with libxml2's HTML parser and picked apart with XPath: a
 * built-in preset per CMS (only `nastooh`, alias `irna`, so far), with a
 * source's xpath.FIELD rules taking precedence.  A field the rules miss
 * comes from the page's JSON-LD, then its OpenGraph and article:* meta tags,
 * then (title only) <title> or the first <h1>; the body last of all from
 * the generic heuristic (generic.h).
 * A page that is not an article (a bot challenge served with HTTP 200, a page
 * whose news ID is not the one in its URL) is refused, never half-stored.
 * No I/O beyond reading a time zone's file from the tz database the first
 * time it is needed (tz.h); neither TZ nor any other global is touched.
 */
#ifndef FEEDD_EXTRACT_H
#define FEEDD_EXTRACT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "feedd/article.h"
#include "feedd/config.h"
#include "feedd/util.h"

/* How to read one source's pages. Borrowed strings; NULL where unset. */
struct extract_rules {
	/* "nastooh" or its alias "irna"; "none": no preset, only xpath.FIELD
	 * and the fallbacks; NULL: nastooh. */
	const char *preset;
	const char *timezone;		    /* of dates without a zone; NULL: Asia/Tehran */
	const char *date_format;	    /* strptime pattern of visible dates, or NULL */
	const char *xpath[CFG_XPATH_COUNT]; /* override the preset; exclude adds to it */
	/* The source's news_id pattern, tried on the URL; NULL: /news/NNN/. */
	const struct pcre2_real_code_8 *news_id_re;
};

/* Fills r from a source's rules (none when unset), timezone, date_format,
 * xpath.FIELD and news_id; 0, or -1 with the reason in err when its preset
 * is not one extract knows.  r borrows from src. */
int extract_rules_from_source(const struct cfg_source *src, struct extract_rules *r,
			      struct buf *err);

/* Extracts the article in html[0..len) fetched from url (NULL: unknown) with
 * the HTTP Content-Type charset (NULL: none) and rules (NULL: the nastooh
 * preset); 0 with *out a new page (free it with store_page_free), or -1
 * with the reason in err and *out NULL.  The encoding is the byte-order
 * mark's, else charset, else the page's <meta charset>, else UTF-8.
 * The page has its url (url, else the canonical link, else og:url),
 * news_id, the content fields, published_at and modified_at
 * (STORE_TIME_NONE: none) and published_claimed STORE_TIME_NONE; what a
 * visit is (source, status, error, seen_at_us, retry_at_us, revisit_s) is
 * left unset, for the caller. */
int extract_page(const char *html, size_t len, const char *url, const char *charset,
		 const struct extract_rules *rules, struct store_page **out, struct buf *err);

/* Converts the wall-clock time in tm (year, month, day, hour, minute,
 * second; the rest is ignored) in tz database zone tz to seconds since the
 * epoch; 0, or -1.  A time the clocks skipped (spring forward) is read with
 * the offset before the change, i.e. moved forward by the gap; a time that
 * happened twice (fall back) is the earlier of the two.  A name the
 * database lacks is read as a POSIX TZ string, else as UTC (as glibc read
 * TZ=":name").  Thread-safe. */
int extract_local_to_utc(const char *tz, const struct tm *tm, int64_t *out);

/* Reads a date found on a page: one with a zone or offset as written; one
 * without in zone tz, by date_format (strptime, may be NULL) or the forms
 * date_parse and the visible "Jun 11, 2025, 7:16 PM" take; 0, or -1. */
int extract_parse_date(const char *s, const char *tz, const char *date_format, int64_t *out);

#endif
