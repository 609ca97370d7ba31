/*
 * feed_data: the feed module's plain data (see feed.h), apart from the
 * parser that produces it: the entries it hands over, the names of the
 * formats it recognises and its default limits.  Nothing here depends on
 * how a document is read, so it does not sit among the SAX callbacks.
 */
#include "feedd/feed.h"

#include <stdlib.h>

const char *feed_format_name(enum feed_format f)
{
	switch (f) {
	case FEED_FORMAT_RSS20:
		return "rss20";
	case FEED_FORMAT_RSS10:
		return "rss10";
	case FEED_FORMAT_RSS090:
		return "rss090";
	case FEED_FORMAT_RSS091:
		return "rss091";
	case FEED_FORMAT_RSS092:
		return "rss092";
	case FEED_FORMAT_RSS093:
		return "rss093";
	case FEED_FORMAT_RSS094:
		return "rss094";
	case FEED_FORMAT_RSS:
		return "rss";
	case FEED_FORMAT_ATOM10:
		return "atom10";
	case FEED_FORMAT_ATOM03:
		return "atom03";
	case FEED_FORMAT_UNKNOWN:
		break;
	}
	return "unknown";
}

void feed_limits_default(struct feed_limits *l)
{
	l->max_document = 64u << 20;
	l->max_entries = 50000;
	l->max_field = 1u << 20;
}

void feed_entry_free(struct feed_entry *e)
{
	if (!e)
		return;
	free(e->guid);
	free(e->link);
	free(e->title);
	free(e->summary);
	free(e->content);
	free(e->author);
	free(e->published_raw);
	strv_free(e->categories, e->n_categories);
	for (size_t i = 0; i < e->n_enclosures; i++) {
		free(e->enclosures[i].url);
		free(e->enclosures[i].type);
	}
	free(e->enclosures);
	free(e);
}

const char *feed_entry_key_text(const struct feed_entry *e)
{
	if (e->title)
		return e->title;
	if (e->summary)
		return e->summary;
	if (e->content)
		return e->content;
	return e->n_enclosures ? e->enclosures[0].url : NULL;
}
