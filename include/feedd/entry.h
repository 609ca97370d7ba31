/*
 * entry: what a feed entry becomes as an article.  The poll (daemon/run/poll.c)
 * parses a feed, computes each entry's news ID and hands the entry here;
 * the article that comes back goes to the store.  No I/O and no clock (the
 * time it was seen is passed in), so that a test can check the mapping
 * field by field.
 *
 * (Named after what it makes rather than with the module's prefix: an
 * entry_ name would read as something done to the entry.)
 */
#ifndef FEEDD_ENTRY_H
#define FEEDD_ENTRY_H

#include <stdint.h>

#include "feedd/config.h"
#include "feedd/feed.h"
#include "feedd/store.h"

/* The article that entry e of feed `feed` (of source src) makes, with the
 * news ID news_id (taken: the article owns it) and language, the feed's, or
 * NULL.  url, title and author as given; lead the summary as plain text
 * (NULL if none is left); body the content, one paragraph a line; image the
 * first enclosure that is an image or says no type; tags e's categories,
 * taken over (e keeps none); published_at e's publication time or
 * STORE_TIME_NONE; fetch_page when src fetches article pages and there is a
 * link.  ctx is NULL, for the caller.  e stays the caller's to free. */
struct store_article *article_from_entry(struct feed_entry *e, const struct cfg_source *src,
					 const char *feed, const char *language, char *news_id,
					 int64_t seen_at_us);

#endif
