/*
 * entry: a feed entry as an article (see entry.h).  What the feed said is
 * kept as it was, but for the HTML of summary and content, which the
 * articles table holds as plain text.
 */
#include "feedd/entry.h"

#include "feedd/text.h"
#include "feedd/util.h"

#include <stdlib.h>
#include <strings.h>

/* The first image among the enclosures, for articles.image. */
static const char *image_of(const struct feed_entry *e)
{
	for (size_t i = 0; i < e->n_enclosures; i++) {
		const struct feed_enclosure *en = &e->enclosures[i];
		if ((en->type && strncasecmp(en->type, "image/", 6) == 0) || !en->type)
			return en->url;
	}
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct store_article *article_from_entry(struct feed_entry *e, const struct cfg_source *src,
					 const char *feed, const char *language, char *news_id,
					 int64_t seen_at_us)
{
	struct store_article *a = xcalloc(1, sizeof *a);
	a->source = xstrdup(src->name);
	a->feed = xstrdup(feed);
	a->news_id = news_id;
	a->url = dup_or_null(e->link);
	a->title = dup_or_null(e->title);
	if (e->summary) {
		char *lead = text_html_to_plain(e->summary);
		a->lead = *lead ? lead : (free(lead), NULL);
	}
	a->body = e->content ? text_html_to_paragraphs(e->content) : NULL;
	a->author = dup_or_null(e->author);
	a->image = dup_or_null(image_of(e));
	a->language = dup_or_null(language);
	a->n_tags = e->n_categories;
	a->tags = e->categories; /* taken over */
	e->categories = NULL;
	e->n_categories = 0;
	a->published_at = e->published != FEED_TIME_NONE ? e->published : STORE_TIME_NONE;
	a->seen_at_us = seen_at_us;
	a->fetch_page = src->articles == CFG_ARTICLES_FETCH && a->url;
	return a;
}
