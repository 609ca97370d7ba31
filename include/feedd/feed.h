/*
 * feed: the RSS/Atom parser.  It does no I/O: the caller pushes the bytes of
 * one document as they arrive and receives the feed's description and then
 * each entry, in document order, through callbacks.  Entries are handed over
 * at their end tags, so whatever stands before damage in a broken document
 * is kept; memory stays bounded by the limits, whatever the input.
 *
 * Supported: RSS 0.90-0.94 and 2.0, RSS 1.0 (RDF), Atom 0.3 and 1.0, with
 * content:encoded, dc:*, atom:link inside RSS, media:content/thumbnail and
 * enclosures.  External entities, DTDs and the network are never touched.
 */
#ifndef FEEDD_FEED_H
#define FEEDD_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feedd/util.h"

enum feed_format {
	FEED_FORMAT_UNKNOWN,
	FEED_FORMAT_RSS20,
	FEED_FORMAT_RSS10,
	FEED_FORMAT_RSS090,
	FEED_FORMAT_RSS091,
	FEED_FORMAT_RSS092,
	FEED_FORMAT_RSS093,
	FEED_FORMAT_RSS094,
	FEED_FORMAT_RSS, /* <rss> of no version, or one not listed here */
	FEED_FORMAT_ATOM10,
	FEED_FORMAT_ATOM03,
};

/* "rss20", "rss10", "rss090", "rss091", "rss092", "rss093", "rss094",
 * "rss", "atom10", "atom03" or "unknown" (the names of the reference
 * parser, feedparser). */
const char *feed_format_name(enum feed_format f);

struct feed_limits {
	size_t max_document; /* bytes pushed beyond this are ignored */
	size_t max_entries;  /* parsing stops after this many entries */
	size_t max_field;    /* a text field is cut at this many bytes */
};

#define FEED_TIME_NONE INT64_MIN

struct feed_info {
	enum feed_format format;
	char *title, *link, *subtitle, *language;
	int64_t updated; /* FEED_TIME_NONE when absent or unreadable */
};

struct feed_enclosure {
	char *url, *type;
	int64_t length; /* -1 when absent */
};

struct feed_entry {
	size_t index; /* 0-based position in the document */
	char *guid, *link, *title, *summary, *content, *author;
	char *published_raw; /* the date text as given, for stable hashing */
	int64_t published, updated;
	char **categories;
	size_t n_categories;
	struct feed_enclosure *enclosures;
	size_t n_enclosures;
};

void feed_entry_free(struct feed_entry *e);
/* What names an entry that has neither guid nor link: its title, else its
 * summary, content or first enclosure URL; NULL if it has none. */
const char *feed_entry_key_text(const struct feed_entry *e);

struct feed_handler {
	/* Called once, before the first entry (or at the end if there is
	 * none); info is valid during the call only. */
	void (*on_feed)(void *ctx, const struct feed_info *info);
	/* Called per entry; the callee owns e and frees it with
	 * feed_entry_free. */
	void (*on_entry)(void *ctx, struct feed_entry *e);
	/* Something was cut or repaired; the message names what. */
	void (*on_warning)(void *ctx, const char *msg);
	void *ctx;
};

struct feed_parser;

/* libxml2's process-wide settings: the library initialised and an external
 * entity loader that loads nothing.  Called once at start, before any
 * document is parsed (main, and each test or fuzz target that parses);
 * the feed parser and the article extractor only set per-parse options. */
void feed_xml_init(void);

/* A parser for one document. charset is the HTTP charset or NULL; base_url
 * is the document's own URL for resolving relative links, or NULL. */
struct feed_parser *feed_parser_new(const struct feed_limits *limits, const char *charset,
				    const char *base_url, const struct feed_handler *handler);
/* Pushes more bytes. Returns 0, or -1 once the parser wants no more input
 * (the document is not a feed, or a limit was reached); finish still must be
 * called. */
int feed_parser_push(struct feed_parser *p, const char *data, size_t len);
/* Ends the document. Returns 0 if a feed could be recovered, or -1 with the
 * reason in err (e.g. "empty document", "HTML page, not a feed"). */
int feed_parser_finish(struct feed_parser *p, struct buf *err);
/* How many entries were handed over. */
size_t feed_parser_entries(const struct feed_parser *p);
void feed_parser_free(struct feed_parser *p);

/* Default limits: 64 MiB document, 50,000 entries, 1 MiB per field. */
void feed_limits_default(struct feed_limits *l);

#endif
