/*
 * jsonld: the article described by a page's schema.org JSON-LD (the text of
 * one <script type="application/ld+json"> element), for the extractor's
 * fallbacks.  The first object whose @type is an article type (Article,
 * NewsArticle, ReportageNewsArticle, BlogPosting, ...) is taken, looked for
 * at the top, in arrays, in @graph and in mainEntity.  Text fields come back
 * as plain text; dates come back as written, because only the extractor
 * knows the source's time zone.  Malformed JSON is "no article", never an
 * error.  No I/O.
 */
#ifndef FEEDD_JSONLD_H
#define FEEDD_JSONLD_H

#include <stddef.h>

/* One article's fields; NULL (or no keywords) where the JSON-LD has none. */
struct jsonld_article {
	char *headline, *description, *body, *author, *image;
	char *published, *modified; /* datePublished, dateModified as written */
	/* keywords as given: array items, or the one string (which may still be
	 * a comma-separated list) */
	char **keywords;
	size_t n_keywords;
};

/* Reads the JSON-LD in text[0..len); 0 with *out filled (free it with
 * jsonld_article_free), or -1 with *out empty when the text is not JSON or
 * describes no article. */
int jsonld_article(const char *text, size_t len, struct jsonld_article *out);

/* Frees what a owns and empties it; an empty one is fine. */
void jsonld_article_free(struct jsonld_article *a);

#endif
