/*
 * extract: an article page's HTML in, its fields out (title, lead, body,
 * tags, date, ...).  Pages are read with libxml2's HTML parser and picked
 * apart with XPath: a built-in preset per CMS (only `nastooh`, alias `irna`,
 * so far), with a source's xpath.FIELD rules taking precedence, and the
 * page's OpenGraph and meta tags as the fallback for a field the rules miss.
 * A page that is not an article (a bot challenge served with HTTP 200, a page
 * whose news ID is not the one in its URL) is refused, never half-stored.
 * No I/O.
 */
#ifndef FEEDD_EXTRACT_H
#define FEEDD_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "feedd/config.h"
#include "feedd/util.h"

#define EXTRACT_TIME_NONE INT64_MIN

/* How to read one source's pages. Borrowed strings; NULL where unset. */
struct extract_rules {
	const char *preset;		    /* "nastooh" or "irna"; NULL: nastooh */
	const char *timezone;		    /* of visible dates; NULL: Asia/Tehran */
	const char *xpath[CFG_XPATH_COUNT]; /* overrides of the preset */
	/* The source's news_id pattern, tried on the URL; NULL: /news/NNN/. */
	const struct pcre2_real_code_8 *news_id_re;
};

struct article_page {
	char *url, *news_id, *title, *lead, *body, *author, *image, *language;
	char **tags;
	size_t n_tags;
	int64_t published; /* EXTRACT_TIME_NONE: none */
};

/* Fills r from a source's rules, timezone, xpath.FIELD and news_id; 0, or
 * -1 with the reason in err when its preset is not one extract knows. */
int extract_rules_from_source(const struct cfg_source *src, struct extract_rules *r,
			      struct buf *err);

/* Extracts the article in html[0..len) fetched from url (NULL: unknown) with
 * rules (NULL: the nastooh preset); 0 with *out filled (free it with
 * article_page_free), or -1 with the reason in err and *out empty. */
int extract_page(const char *html, size_t len, const char *url, const struct extract_rules *rules,
		 struct article_page *out, struct buf *err);

/* Frees what p owns and empties it; an empty page is fine. */
void article_page_free(struct article_page *p);

#endif
