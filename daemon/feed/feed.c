/*
 * feed: the RSS/Atom parser (see feed.h).
 *
 * Bytes flow through three stages: charset (any encoding -> clean UTF-8),
 * xmlfix (xmlfix.c: repairs the lexical damage real feeds carry, which
 * libxml2's recovery handles badly, and leaves libxml2 no DTD and no named
 * entity), and libxml2's SAX2 push parser, whose callbacks drive the small
 * state machine in this file that fills one entry at a time.
 */
#include "feedd/feed.h"

#include "feedd/charset.h"
#include "feedd/date.h"
#include "feedd/text.h"
#include "feedd/xmlfix.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/uri.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NS_ATOM10 "http://www.w3.org/2005/Atom"
#define NS_ATOM03 "http://purl.org/atom/ns#"
#define NS_RSS10 "http://purl.org/rss/1.0/"
#define NS_RSS090 "http://my.netscape.com/rdf/simple/0.9/"
#define NS_RSS_USERLAND "http://backend.userland.com/rss2"
#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_CONTENT "http://purl.org/rss/1.0/modules/content/"
#define NS_DC "http://purl.org/dc/elements/1.1/"
#define NS_DCTERMS "http://purl.org/dc/terms/"
#define NS_MEDIA "http://search.yahoo.com/mrss/"
#define NS_XML "http://www.w3.org/XML/1998/namespace"
#define NS_XHTML "http://www.w3.org/1999/xhtml"

/* Categories and enclosures kept per entry. */
#define MAX_CATEGORIES 1000
#define MAX_ENCLOSURES 200
/* Namespace names remembered by pointer. */
#define NS_CACHE 8
/* Elements nested deeper than this are not tracked (libxml2 stops at 256). */
#define MAX_DEPTH 512

enum ns {
	NS_NONE_OTHER, /* a namespace we do not read */
	NS_RSS,	       /* no namespace in RSS, or an RSS namespace */
	NS_ATOM,
	NS_RDFNS,
	NS_CONTENTNS,
	NS_DCNS,
	NS_MEDIANS,
	NS_XHTMLNS,
};

enum family { FAM_NONE, FAM_RSS, FAM_ATOM };

enum field {
	F_NONE,
	F_TITLE,
	F_LINK,
	F_GUID,
	F_SUMMARY,
	F_CONTENT,
	F_AUTHOR,
	F_PUBLISHED,
	F_UPDATED,
	F_CATEGORY,
	F_SUBTITLE,
	F_LANGUAGE,
};

static const char *const field_names[] = {
	[F_NONE] = "?",
	[F_TITLE] = "title",
	[F_LINK] = "link",
	[F_GUID] = "guid",
	[F_SUMMARY] = "summary",
	[F_CONTENT] = "content",
	[F_AUTHOR] = "author",
	[F_PUBLISHED] = "date",
	[F_UPDATED] = "date",
	[F_CATEGORY] = "category",
	[F_SUBTITLE] = "subtitle",
	[F_LANGUAGE] = "language",
};

enum text_mode { MODE_TEXT, MODE_HTML, MODE_XHTML };

struct capture {
	enum field field;
	bool entry; /* the field belongs to the entry, not the feed */
	int depth;  /* the capturing element's depth */
	enum text_mode mode;
	int skip_div_depth; /* xhtml: the wrapper div not to serialise */
	bool has_markup;
	bool base64; /* Atom: mode="base64", or a type that is not text */
	bool exact;  /* Atom: escaped exactly once, as its type says (RSS is not) */
	bool truncated;
	int prio;	   /* links: which candidate this is */
	bool fallback;	   /* Dublin Core's: used only where the core element is absent */
	bool also_updated; /* dc:date: the entry's publication time, and its update's fallback */
	int author_part;   /* Atom <author>: 1 its <name>, 2 its <email> */
	struct buf plain;  /* decoded text only */
	struct buf markup; /* text and child elements, serialised */
	const char *base;  /* xml:base in force at the element */
};

/* What the Dublin Core elements said, for the fields whose core element an
 * entry (or the channel) turns out not to have. */
struct fallback {
	char *title, *summary, *author; /* summary: the channel's subtitle */
	char *content;			/* an RSS item's second description or summary */
	int64_t published, updated;
};

struct feed_parser {
	struct feed_limits limits;
	struct feed_handler h;
	char *base_url;
	struct charset_conv *cv;
	xmlParserCtxtPtr ctxt;

	struct xmlfix fix; /* its pending bytes are the converter's output */

	size_t pushed;
	bool nonspace_input;
	bool stopped;	    /* the parser wants no more input */
	bool over_document; /* max_document reached */
	char *fatal;	    /* why the document is not a feed */
	char *first_error;  /* libxml2's first error, for "not XML" */

	/* document state */
	int depth;
	enum family family;
	enum feed_format format;
	bool root_seen;
	int channel_depth; /* feed-level fields live at channel_depth + 1 */
	bool feed_emitted;
	struct feed_info info;
	int info_link_prio;

	struct feed_entry *entry;
	int entry_depth;
	int entry_link_prio;
	bool guid_is_permalink;
	bool cats_capped, encs_capped;	  /* warned once per entry */
	int author_depth;		  /* Atom <author> inside the entry or feed */
	char *author_name, *author_email; /* of that <author> */
	struct fallback fb_entry, fb_feed;
	int media_group_depth;
	size_t n_entries;

	struct capture cap;
	bool capturing;

	struct ns_seen {
		const xmlChar *uri;
		enum ns ns;
	} ns_cache[NS_CACHE];
	int ns_next;
	/* The root's namespace when it is none we know (<rss
	 * xmlns="http://backend.userland.com/rss2.1">, Atom's drafts): the
	 * format's own for the rest of the document. */
	char *doc_ns;
	enum ns doc_ns_kind;

	/* xml:base per depth; entries point into owned strings */
	const char *bases[MAX_DEPTH + 1];
	char *owned_bases[MAX_DEPTH + 1];
};

static void warn(struct feed_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct feed_parser *p, const char *fmt, ...)
{
	if (!p->h.on_warning)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	p->h.on_warning(p->h.ctx, msg);
}

static void stop(struct feed_parser *p)
{
	p->stopped = true;
	if (p->ctxt)
		xmlStopParser(p->ctxt);
}

static void not_a_feed(struct feed_parser *p, const char *why)
{
	if (!p->fatal)
		p->fatal = xstrdup(why);
	stop(p);
}

/* ---- helpers for the state machine ----------------------------------- */

static enum ns classify_uri(const char *u);

/* libxml2 hands over namespace names from its dictionary, so the same
 * pointer comes back for every element of a namespace: remember the last
 * few instead of comparing strings per element. */
static enum ns classify(struct feed_parser *p, const xmlChar *uri)
{
	const char *u = (const char *)uri;
	if (!u || !*u)
		return p->family == FAM_ATOM ? NS_ATOM : NS_RSS;
	for (int i = 0; i < NS_CACHE; i++)
		if (p->ns_cache[i].uri == uri)
			return p->ns_cache[i].ns;
	enum ns ns = p->doc_ns && strcmp(u, p->doc_ns) == 0 ? p->doc_ns_kind : classify_uri(u);
	p->ns_cache[p->ns_next] = (struct ns_seen){uri, ns};
	p->ns_next = (p->ns_next + 1) % NS_CACHE;
	return ns;
}

static enum ns classify_uri(const char *u)
{
	if (strcmp(u, NS_ATOM10) == 0 || strcmp(u, NS_ATOM03) == 0)
		return NS_ATOM;
	if (strcmp(u, NS_RSS10) == 0 || strcmp(u, NS_RSS090) == 0 ||
	    strcmp(u, NS_RSS_USERLAND) == 0)
		return NS_RSS;
	if (strcmp(u, NS_RDF) == 0)
		return NS_RDFNS;
	if (strcmp(u, NS_CONTENT) == 0)
		return NS_CONTENTNS;
	if (strcmp(u, NS_DC) == 0 || strcmp(u, NS_DCTERMS) == 0)
		return NS_DCNS;
	/* (Yahoo's own examples spelled it without the final slash.) */
	if (strcmp(u, NS_MEDIA) == 0 || strcmp(u, "http://search.yahoo.com/mrss") == 0)
		return NS_MEDIANS;
	if (strcmp(u, NS_XHTML) == 0)
		return NS_XHTMLNS;
	return NS_NONE_OTHER;
}

/* An attribute value as libxml2 hands it over: with entity substitution
 * off, it keeps a '&' that came from a character reference as the text
 * "&#38;" (and xmlfix makes every '&' such a reference), so turn those back.
 * libxml2 writes "&#38;" for nothing else, so one pass left to right is
 * exact. */
static char *attr_value(const xmlChar **a)
{
	const char *v = (const char *)a[3];
	size_t n = (size_t)(a[4] - a[3]);
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n;) {
		if (v[i] == '&' && n - i >= 5 && memcmp(v + i, "&#38;", 5) == 0) {
			*o++ = '&';
			i += 5;
		} else {
			*o++ = v[i++];
		}
	}
	*o = '\0';
	return out;
}

/* An attribute's value from SAX2's 5-tuples, as a new string or NULL. */
static char *attr(const xmlChar **attrs, int n, const char *name, const char *uri)
{
	for (int i = 0; i < n; i++) {
		const xmlChar **a = attrs + i * 5;
		if (strcmp((const char *)a[0], name) != 0)
			continue;
		if (uri ? (!a[2] || strcmp((const char *)a[2], uri) != 0) : a[2] != NULL)
			continue;
		return attr_value(a);
	}
	return NULL;
}

static bool attr_is(const xmlChar **attrs, int n, const char *name, const char *value)
{
	char *v = attr(attrs, n, name, NULL);
	bool is = v && strcasecmp(v, value) == 0;
	free(v);
	return is;
}

static const char *base_here(struct feed_parser *p)
{
	int d = p->depth > MAX_DEPTH ? MAX_DEPTH : p->depth;
	return d >= 0 && p->bases[d] ? p->bases[d] : p->base_url;
}

/* A URL resolved against base (NULL: as given); takes u. */
static char *resolve(char *u, const char *base)
{
	u = text_clean_field(u);
	if (!u || !base)
		return u;
	xmlChar *r = xmlBuildURI((const xmlChar *)u, (const xmlChar *)base);
	if (!r)
		return u;
	free(u);
	char *s = xstrdup((const char *)r);
	xmlFree(r);
	return s;
}

static void add_category(struct feed_parser *p, struct feed_entry *e, char *c)
{
	c = text_clean_field(c);
	if (!c)
		return;
	/* The duplicate check is linear: bound the list instead of hashing. */
	if (e->n_categories >= MAX_CATEGORIES) {
		if (!p->cats_capped)
			warn(p, "entry %zu: more than %d categories; the rest are ignored",
			     p->n_entries + 1, MAX_CATEGORIES);
		p->cats_capped = true;
		free(c);
		return;
	}
	for (size_t i = 0; i < e->n_categories; i++) {
		if (strcmp(e->categories[i], c) == 0) {
			free(c);
			return;
		}
	}
	e->categories = xrealloc(e->categories, (e->n_categories + 1) * sizeof *e->categories);
	e->categories[e->n_categories++] = c;
}

static void add_enclosure(struct feed_parser *p, char *url, char *type, char *length)
{
	struct feed_entry *e = p->entry;
	url = resolve(url, base_here(p));
	type = text_clean_field(type);
	int64_t len = -1;
	if (length) {
		char *end;
		long long v = strtoll(length, &end, 10);
		while (*end == ' ')
			end++;
		if (end != length && *end == '\0' && v >= 0)
			len = v;
		free(length);
	}
	if (url && e->n_enclosures >= MAX_ENCLOSURES) {
		if (!p->encs_capped)
			warn(p, "entry %zu: more than %d enclosures; the rest are ignored",
			     p->n_entries + 1, MAX_ENCLOSURES);
		p->encs_capped = true;
		free(url);
		url = NULL;
	}
	if (!url) {
		free(type);
		return;
	}
	for (size_t i = 0; i < e->n_enclosures; i++) {
		if (strcmp(e->enclosures[i].url, url) == 0) {
			free(url);
			free(type);
			return;
		}
	}
	e->enclosures = xrealloc(e->enclosures, (e->n_enclosures + 1) * sizeof *e->enclosures);
	e->enclosures[e->n_enclosures++] = (struct feed_enclosure){url, type, len};
}

/* Sets *slot to v if it is empty (first one wins); takes v. */
static void set_first(char **slot, char *v)
{
	if (!v)
		return;
	if (*slot) {
		free(v);
		return;
	}
	*slot = v;
}

static void fallback_init(struct fallback *f)
{
	*f = (struct fallback){.published = FEED_TIME_NONE, .updated = FEED_TIME_NONE};
}

static void fallback_free(struct fallback *f)
{
	free(f->title);
	free(f->summary);
	free(f->author);
	free(f->content);
	fallback_init(f);
}

/* *slot from the fallback's *v where *slot is empty; *v is then NULL. */
static void fill(char **slot, char **v)
{
	if (!*slot) {
		*slot = *v;
		*v = NULL;
	}
}

static void emit_feed(struct feed_parser *p)
{
	if (p->feed_emitted)
		return;
	p->feed_emitted = true;
	fill(&p->info.title, &p->fb_feed.title);
	fill(&p->info.subtitle, &p->fb_feed.summary);
	if (p->info.updated == FEED_TIME_NONE)
		p->info.updated = p->fb_feed.updated;
	fallback_free(&p->fb_feed);
	p->info.format = p->format;
	if (p->h.on_feed)
		p->h.on_feed(p->h.ctx, &p->info);
}

/* ---- captures -------------------------------------------------------- */

static void begin_capture(struct feed_parser *p, enum field f, enum text_mode mode, int prio)
{
	struct capture *c = &p->cap;
	p->capturing = true;
	c->field = f;
	c->entry = p->entry != NULL;
	c->depth = p->depth;
	c->mode = mode;
	c->skip_div_depth = -1;
	/* Inline XHTML is markup from its first character: text escaped in
	 * it (&lt;blink&gt;) stays escaped, as text, not as a tag. */
	c->has_markup = mode == MODE_XHTML;
	c->base64 = false;
	c->exact = false;
	c->truncated = false;
	c->prio = prio;
	c->fallback = false;
	c->also_updated = false;
	c->author_part = 0;
	c->base = base_here(p);
	buf_reset(&c->plain);
	buf_reset(&c->markup);
}

/* Appends to a capture buffer up to the field limit. */
static void cap_append(struct feed_parser *p, struct buf *b, const char *s, size_t n)
{
	size_t max = p->limits.max_field;
	if (b->len + n > max) {
		p->cap.truncated = true;
		n = b->len < max ? charset_utf8_boundary(s, max - b->len) : 0;
	}
	buf_append(b, s, n);
}

static void cap_escaped(struct feed_parser *p, const char *s, size_t n, bool in_attr)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = in_attr ? "&quot;" : NULL;
			break;
		}
		if (!rep)
			continue;
		cap_append(p, &p->cap.markup, s + run, i - run);
		cap_append(p, &p->cap.markup, rep, strlen(rep));
		run = i + 1;
	}
	cap_append(p, &p->cap.markup, s + run, n - run);
}

/* The captured text: markup once a child element appeared, else the plain
 * text. The buffers keep their capacity for the next field. */
static const struct buf *captured(const struct capture *c)
{
	return c->has_markup ? &c->markup : &c->plain;
}

static char *take_text(const struct capture *c)
{
	const struct buf *b = captured(c);
	return xstrndup(buf_str(b), b->len);
}

static void set_date(char **raw, int64_t *when, char *text)
{
	text = text_clean_field(text);
	if (!text)
		return;
	int64_t t;
	if (*when != FEED_TIME_NONE || date_parse(text, &t) != 0) {
		/* Keep the raw text of the first date even if unreadable, so
		 * the fallback news ID still has something stable. */
		if (raw && !*raw)
			*raw = text;
		else
			free(text);
		return;
	}
	*when = t;
	if (raw) {
		free(*raw);
		*raw = text;
	} else {
		free(text);
	}
}

/* A language tag as BCP 47 spells it: "en_US" is "en-US"; takes v. */
static char *language_tag(char *v)
{
	v = text_clean_field(v);
	for (char *s = v; s && *s; s++)
		if (*s == '_')
			*s = '-';
	return v;
}

/* A title's or subtitle's plain text, NULL when empty; takes v.  Text
 * (Atom's type="text", without child elements) is taken as it is: its
 * "<blink>" is text, not a tag; HTML and XHTML lose their tags.  Atom's
 * entities are decoded once, as its type says; RSS titles, often escaped
 * twice over, up to three times (text_html_to_plain). */
static char *text_of(const struct capture *c, char *v)
{
	if (c->mode == MODE_TEXT && !c->has_markup)
		return text_clean_field(v);
	char *t = c->exact ? text_markup_to_plain(v) : text_html_to_plain(v);
	free(v);
	if (!*t) {
		free(t);
		return NULL;
	}
	return t;
}

/* A summary or content: trimmed only, straight from the buffer: the markup
 * is kept as given, and these are the long fields. */
static void end_long_text(struct feed_parser *p, const struct capture *c)
{
	struct feed_entry *e = p->entry;
	char **slot = NULL;
	if (c->entry && c->fallback)
		slot = c->field == F_SUMMARY ? &p->fb_entry.summary : &p->fb_entry.content;
	else if (c->entry)
		slot = c->field == F_SUMMARY ? &e->summary : &e->content;
	const struct buf *b = captured(c);
	const char *t = buf_str(b);
	size_t a = 0, n = b->len;
	while (a < n && strchr(" \t\r\n", t[a]))
		a++;
	while (n > a && strchr(" \t\r\n", t[n - 1]))
		n--;
	if (slot && n > a && !*slot)
		*slot = xstrndup(t + a, n - a);
}

/* Puts the text v of a short field where it belongs; takes v. */
static void store_field(struct feed_parser *p, const struct capture *c, char *v)
{
	struct feed_entry *e = p->entry;
	bool is_entry = c->entry;
	switch (c->field) {
	case F_TITLE: {
		char *t = text_of(c, v);
		if (c->fallback)
			set_first(is_entry ? &p->fb_entry.title : &p->fb_feed.title, t);
		else
			set_first(is_entry ? &e->title : &p->info.title, t);
		break;
	}
	case F_LINK: {
		char *u = resolve(v, c->base);
		int *prio = is_entry ? &p->entry_link_prio : &p->info_link_prio;
		char **slot = is_entry ? &e->link : &p->info.link;
		if (u && c->prio > *prio) {
			free(*slot);
			*slot = u;
			*prio = c->prio;
		} else {
			free(u);
		}
		break;
	}
	case F_GUID:
	case F_AUTHOR: /* an entry's only */
		if (!is_entry)
			free(v);
		else if (c->field == F_GUID)
			set_first(&e->guid, text_clean_field(v));
		else if (c->author_part)
			set_first(c->author_part == 1 ? &p->author_name : &p->author_email,
				  text_clean_field(v));
		else
			set_first(c->fallback ? &p->fb_entry.author : &e->author,
				  text_clean_field(v));
		break;
	case F_SUMMARY:
	case F_CONTENT: /* end_long_text's */
		free(v);
		break;
	case F_PUBLISHED:
		if (is_entry && c->also_updated && v)
			set_date(NULL, &p->fb_entry.updated, xstrdup(v));
		if (is_entry && c->fallback)
			set_date(NULL, &p->fb_entry.published, v);
		else if (is_entry)
			set_date(&e->published_raw, &e->published, v);
		else
			set_date(NULL, &p->info.updated, v);
		break;
	case F_UPDATED:
		if (is_entry)
			set_date(NULL, c->fallback ? &p->fb_entry.updated : &e->updated, v);
		else
			set_date(NULL, c->fallback ? &p->fb_feed.updated : &p->info.updated, v);
		break;
	case F_CATEGORY:
		if (is_entry)
			add_category(p, e, v);
		else
			free(v);
		break;
	case F_SUBTITLE: {
		set_first(c->fallback ? &p->fb_feed.summary : &p->info.subtitle, text_of(c, v));
		break;
	}
	case F_LANGUAGE:
		set_first(&p->info.language, language_tag(v));
		break;
	case F_NONE:
		free(v);
		break;
	}
}

static void end_capture(struct feed_parser *p)
{
	struct capture *c = &p->cap;
	p->capturing = false;
	if (c->base64 && !c->has_markup) {
		/* Decoded in place of the text; what does not decode to UTF-8
		 * text is not kept. */
		struct buf raw;
		buf_init(&raw);
		bool ok = text_base64_decode(buf_str(&c->plain), c->plain.len, &raw) == 0 &&
			utf8_valid(buf_str(&raw), raw.len) && !memchr(buf_str(&raw), '\0', raw.len);
		buf_reset(&c->plain);
		if (ok)
			buf_append(&c->plain, buf_str(&raw), raw.len);
		else
			warn(p, "%s%zu: %s is not base64 of UTF-8 text; left out",
			     c->entry ? "entry " : "feed", c->entry ? p->n_entries + 1 : (size_t)0,
			     field_names[c->field]);
		buf_free(&raw);
	}
	if (c->truncated)
		warn(p, "%s%zu: %s cut at %zu bytes (max_field_size)", c->entry ? "entry " : "feed",
		     c->entry ? p->n_entries + 1 : (size_t)0, field_names[c->field],
		     p->limits.max_field);
	if (c->entry && !p->entry)
		return;
	if (c->field == F_SUMMARY || c->field == F_CONTENT)
		end_long_text(p, c);
	else
		store_field(p, c, take_text(c));
}

/* ---- entries --------------------------------------------------------- */

static void begin_entry(struct feed_parser *p, const xmlChar **attrs, int nattrs)
{
	emit_feed(p);
	if (p->n_entries >= p->limits.max_entries) {
		warn(p, "more than %zu entries (max_entries): the rest of the document is ignored",
		     p->limits.max_entries);
		stop(p);
		return;
	}
	p->entry = xcalloc(1, sizeof *p->entry);
	p->entry->index = p->n_entries;
	p->entry->published = FEED_TIME_NONE;
	p->entry->updated = FEED_TIME_NONE;
	p->entry_depth = p->depth;
	p->entry_link_prio = 0;
	p->guid_is_permalink = true;
	p->cats_capped = p->encs_capped = false;
	p->author_depth = -1;
	free(p->author_name);
	free(p->author_email);
	p->author_name = p->author_email = NULL; /* an <author> left open */
	p->media_group_depth = -1;
	fallback_free(&p->fb_entry);
	/* RSS 1.0 names each item by rdf:about. */
	p->entry->guid = text_clean_field(attr(attrs, nattrs, "about", NS_RDF));
}

/* Hands the entry over; with partial, only if it has something to go by. */
static void end_entry(struct feed_parser *p, bool partial)
{
	struct feed_entry *e = p->entry;
	p->entry = NULL;
	if (p->capturing && p->cap.entry)
		p->capturing = false;
	fill(&e->title, &p->fb_entry.title);
	fill(&e->summary, &p->fb_entry.summary);
	fill(&e->content, &p->fb_entry.content);
	fill(&e->author, &p->fb_entry.author);
	if (e->published == FEED_TIME_NONE)
		e->published = p->fb_entry.published;
	if (e->updated == FEED_TIME_NONE)
		e->updated = p->fb_entry.updated;
	/* An entry dated only by its last update (Atom's <updated>, the one
	 * date Atom requires) was published then as far as anyone can tell. */
	if (e->published == FEED_TIME_NONE)
		e->published = e->updated;
	fallback_free(&p->fb_entry);
	if (partial && !e->guid && !e->link && !feed_entry_key_text(e)) {
		feed_entry_free(e);
		return;
	}
	if (!e->link && e->guid && p->guid_is_permalink &&
	    (strncmp(e->guid, "http://", 7) == 0 || strncmp(e->guid, "https://", 8) == 0))
		e->link = xstrdup(e->guid);
	p->n_entries++;
	if (p->h.on_entry)
		p->h.on_entry(p->h.ctx, e);
	else
		feed_entry_free(e);
}

/* ---- SAX callbacks ---------------------------------------------------- */

/* The format an <rss version="..."> names: 2.x is RSS 2.0 (2.1 was never
 * more than a name), 0.90 to 0.94 each their own, anything else (or no
 * version) plain "rss". */
static enum feed_format rss_version(const char *v)
{
	static const struct {
		const char *v;
		enum feed_format f;
	} known[] = {
		{"0.90", FEED_FORMAT_RSS090}, {"0.91", FEED_FORMAT_RSS091},
		{"0.92", FEED_FORMAT_RSS092}, {"0.93", FEED_FORMAT_RSS093},
		{"0.94", FEED_FORMAT_RSS094},
	};
	if (!v)
		return FEED_FORMAT_RSS;
	while (*v == ' ')
		v++;
	if (strcmp(v, "2") == 0 || strncmp(v, "2.", 2) == 0)
		return FEED_FORMAT_RSS20;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strncmp(v, known[i].v, 4) == 0 && (v[4] == '\0' || v[4] == ' '))
			return known[i].f;
	return FEED_FORMAT_RSS;
}

/* The RSS an RDF document's namespace name stands for (UNKNOWN: none). */
static enum feed_format rdf_rss_format(const char *u)
{
	if (u && strcmp(u, NS_RSS10) == 0)
		return FEED_FORMAT_RSS10;
	if (u && strcmp(u, NS_RSS090) == 0)
		return FEED_FORMAT_RSS090;
	return FEED_FORMAT_UNKNOWN;
}

/* The root's namespace u, none we know, is the format's own (kind) from now
 * on: the classifications cached for it are forgotten. */
static void adopt_ns(struct feed_parser *p, const char *u, enum ns kind)
{
	free(p->doc_ns);
	p->doc_ns = xstrdup(u);
	p->doc_ns_kind = kind;
	memset(p->ns_cache, 0, sizeof p->ns_cache);
	p->ns_next = 0;
}

static void on_root(struct feed_parser *p, const char *local, enum ns ns, const xmlChar *uri,
		    const xmlChar **attrs, int nattrs, const xmlChar **namespaces, int nnamespaces)
{
	const char *u = (const char *)uri;
	p->root_seen = true;
	if (strcasecmp(local, "html") == 0) {
		not_a_feed(p, "an HTML page, not a feed");
		return;
	}
	if (strcmp(local, "rss") == 0 && (ns == NS_RSS || ns == NS_NONE_OTHER)) {
		/* Userland's and Harvard's RSS namespaces, among others. */
		if (ns == NS_NONE_OTHER)
			adopt_ns(p, u, NS_RSS);
		p->family = FAM_RSS;
		char *v = attr(attrs, nattrs, "version", NULL);
		p->format = rss_version(v);
		free(v);
	} else if (strcmp(local, "RDF") == 0 && ns == NS_RDFNS) {
		p->family = FAM_RSS;
		/* The RSS namespace it declares says which RSS, even before
		 * (or without) a channel in it. */
		p->format = FEED_FORMAT_UNKNOWN;
		for (int i = 0; i < nnamespaces && p->format == FEED_FORMAT_UNKNOWN; i++)
			p->format = rdf_rss_format((const char *)namespaces[2 * i + 1]);
	} else if (strcmp(local, "feed") == 0 &&
		   (ns == NS_ATOM || ns == NS_NONE_OTHER || !u || !*u)) {
		/* The drafts before Atom 0.3 had namespaces of their own
		 * (http://purl.org/echo/, http://example.com/necho, ...). */
		if (ns == NS_NONE_OTHER)
			adopt_ns(p, u, NS_ATOM);
		p->family = FAM_ATOM;
		char *v = attr(attrs, nattrs, "version", NULL);
		if ((u && strcmp(u, NS_ATOM03) == 0) || (v && strcmp(v, "0.3") == 0))
			p->format = FEED_FORMAT_ATOM03;
		else if (u && strcmp(u, NS_ATOM10) == 0)
			p->format = FEED_FORMAT_ATOM10;
		else
			p->format = FEED_FORMAT_UNKNOWN;
		free(v);
		p->channel_depth = 1;
		p->info.language = language_tag(attr(attrs, nattrs, "lang", NS_XML));
	} else if (strcmp(local, "channel") == 0 && ns == NS_RSS) {
		/* A channel without its <rss> wrapper. */
		p->family = FAM_RSS;
		p->format = FEED_FORMAT_UNKNOWN;
		p->channel_depth = 1;
	} else {
		char why[160];
		snprintf(why, sizeof why, "root element <%.60s> is not rss, rdf:RDF or feed",
			 local);
		not_a_feed(p, why);
	}
}

/* The text mode of an Atom text construct from its type and (Atom 0.3)
 * mode; *base64 when its text is base64 of that: mode="base64", or a MIME
 * type that is neither text nor XML (Atom 1.0's rule for content). */
static enum text_mode atom_mode(const xmlChar **attrs, int nattrs, bool *base64)
{
	char *t = attr(attrs, nattrs, "type", NULL);
	char *mode = attr(attrs, nattrs, "mode", NULL);
	enum text_mode m = MODE_TEXT;
	*base64 = false;
	if (t && (strcasecmp(t, "html") == 0 || strcasecmp(t, "text/html") == 0))
		m = MODE_HTML;
	else if (t && (strcasecmp(t, "xhtml") == 0 || strcasecmp(t, "application/xhtml+xml") == 0))
		m = MODE_XHTML;
	else if (t && strchr(t, '/') && strncasecmp(t, "text/", 5) != 0 && !strstr(t, "xml") &&
		 !strstr(t, "XML"))
		*base64 = true;
	if (mode && strcasecmp(mode, "escaped") == 0 && m == MODE_TEXT)
		m = MODE_HTML;
	else if (mode && strcasecmp(mode, "base64") == 0)
		*base64 = true;
	else if (mode && strcasecmp(mode, "xml") == 0 && m != MODE_XHTML)
		m = MODE_XHTML;
	free(t);
	free(mode);
	return m;
}

/* begin_capture for an Atom text construct. */
static void begin_atom_text(struct feed_parser *p, enum field f, const xmlChar **attrs, int nattrs)
{
	bool base64;
	enum text_mode m = atom_mode(attrs, nattrs, &base64);
	begin_capture(p, f, base64 ? MODE_HTML : m, 0);
	p->cap.base64 = base64;
	p->cap.exact = true;
}

static void atom_link(struct feed_parser *p, const xmlChar **attrs, int nattrs)
{
	char *rel = attr(attrs, nattrs, "rel", NULL);
	char *type = attr(attrs, nattrs, "type", NULL);
	char *href = attr(attrs, nattrs, "href", NULL);
	bool alternate = !rel || strcasecmp(rel, "alternate") == 0;
	if (p->entry && rel && strcasecmp(rel, "enclosure") == 0 && href) {
		add_enclosure(p, href, type, attr(attrs, nattrs, "length", NULL));
		href = type = NULL;
	} else if (alternate && href) {
		/* The HTML alternate beats others; an RSS <link> (3) beats both. */
		int prio = !type || strcasecmp(type, "text/html") == 0 ||
				strcasecmp(type, "application/xhtml+xml") == 0
			? 2
			: 1;
		int *cur = p->entry ? &p->entry_link_prio : &p->info_link_prio;
		char **slot = p->entry ? &p->entry->link : &p->info.link;
		if (prio > *cur) {
			free(*slot);
			*slot = resolve(href, base_here(p));
			href = NULL;
			*cur = prio;
		}
	}
	free(rel);
	free(type);
	free(href);
}

/* An RSS element that is a child of an item or of the channel. */
static void rss_field(struct feed_parser *p, const char *local, bool in_entry,
		      const xmlChar **attrs, int nattrs)
{
	if (strcmp(local, "title") == 0) {
		begin_capture(p, F_TITLE, MODE_HTML, 0);
	} else if (strcmp(local, "link") == 0) {
		begin_capture(p, F_LINK, MODE_TEXT, 3);
	} else if (strcmp(local, "description") == 0 ||
		   (in_entry && strcmp(local, "summary") == 0)) {
		/* An item's second of the two is its content, unless it has
		 * other content (content:encoded, xhtml:body, fullitem). */
		bool second = in_entry && p->entry->summary;
		begin_capture(p,
			      !in_entry	       ? F_SUBTITLE
				      : second ? F_CONTENT
					       : F_SUMMARY,
			      MODE_HTML, 0);
		p->cap.fallback = second;
	} else if (in_entry && strcmp(local, "fullitem") == 0) {
		begin_capture(p, F_CONTENT, MODE_HTML, 0);
	} else if (in_entry && strcmp(local, "guid") == 0) {
		p->guid_is_permalink = !attr_is(attrs, nattrs, "isPermaLink", "false");
		begin_capture(p, F_GUID, MODE_TEXT, 0);
	} else if (strcmp(local, "pubDate") == 0) {
		begin_capture(p, F_PUBLISHED, MODE_TEXT, 0);
	} else if (!in_entry && strcmp(local, "lastBuildDate") == 0) {
		begin_capture(p, F_UPDATED, MODE_TEXT, 0);
	} else if (in_entry && strcmp(local, "author") == 0) {
		begin_capture(p, F_AUTHOR, MODE_TEXT, 0);
	} else if (in_entry && strcmp(local, "category") == 0) {
		begin_capture(p, F_CATEGORY, MODE_TEXT, 0);
	} else if (in_entry && strcmp(local, "enclosure") == 0) {
		add_enclosure(p, attr(attrs, nattrs, "url", NULL),
			      attr(attrs, nattrs, "type", NULL),
			      attr(attrs, nattrs, "length", NULL));
	} else if (!in_entry && strcmp(local, "language") == 0) {
		begin_capture(p, F_LANGUAGE, MODE_TEXT, 0);
	}
}

/* An Atom element that is a child of an entry or of the feed. */
static void atom_field(struct feed_parser *p, const char *local, bool in_entry,
		       const xmlChar **attrs, int nattrs)
{
	if (strcmp(local, "title") == 0) {
		begin_atom_text(p, F_TITLE, attrs, nattrs);
	} else if (strcmp(local, "link") == 0) {
		atom_link(p, attrs, nattrs);
	} else if (in_entry && strcmp(local, "id") == 0) {
		begin_capture(p, F_GUID, MODE_TEXT, 0);
	} else if (in_entry && (strcmp(local, "published") == 0 || strcmp(local, "issued") == 0)) {
		/* Atom 0.3's issued and modified give way to 1.0's published
		 * and updated wherever those come in the entry. */
		begin_capture(p, F_PUBLISHED, MODE_TEXT, 0);
		p->cap.fallback = local[0] == 'i';
	} else if (strcmp(local, "updated") == 0 || strcmp(local, "modified") == 0) {
		begin_capture(p, F_UPDATED, MODE_TEXT, 0);
		p->cap.fallback = local[0] == 'm';
	} else if (in_entry && strcmp(local, "summary") == 0) {
		begin_atom_text(p, F_SUMMARY, attrs, nattrs);
	} else if (in_entry && strcmp(local, "content") == 0) {
		char *src = attr(attrs, nattrs, "src", NULL);
		if (!src)
			begin_atom_text(p, F_CONTENT, attrs, nattrs);
		free(src);
	} else if (in_entry && strcmp(local, "author") == 0) {
		p->author_depth = p->depth;
	} else if (in_entry && strcmp(local, "category") == 0) {
		char *term = attr(attrs, nattrs, "term", NULL);
		add_category(p, p->entry, term ? term : attr(attrs, nattrs, "label", NULL));
	} else if (!in_entry && (strcmp(local, "subtitle") == 0 || strcmp(local, "tagline") == 0)) {
		begin_atom_text(p, F_SUBTITLE, attrs, nattrs);
	}
}

/* A Dublin Core (or dcterms) element, child of an entry or of the channel:
 * dc:creator, dc:author and dc:date stand for the core elements RSS 1.0
 * lacks; the others are fallbacks, used where the core element is absent
 * (dc:title, dc:description, dc:contributor, dcterms:issued and created
 * for the publication time, dcterms:modified for the feed's update).
 * dc:date dates an entry's update too when nothing else does. */
static void dc_field(struct feed_parser *p, const char *local, bool in_entry)
{
	if (in_entry && (strcmp(local, "creator") == 0 || strcmp(local, "author") == 0)) {
		begin_capture(p, F_AUTHOR, MODE_TEXT, 0);
	} else if (in_entry && strcmp(local, "contributor") == 0) {
		begin_capture(p, F_AUTHOR, MODE_TEXT, 0);
		p->cap.fallback = true;
	} else if (strcmp(local, "date") == 0) {
		begin_capture(p, in_entry ? F_PUBLISHED : F_UPDATED, MODE_TEXT, 0);
		p->cap.also_updated = in_entry;
	} else if (strcmp(local, "modified") == 0) {
		begin_capture(p, F_UPDATED, MODE_TEXT, 0);
		p->cap.fallback = !in_entry;
	} else if (in_entry && (strcmp(local, "issued") == 0 || strcmp(local, "created") == 0)) {
		begin_capture(p, F_PUBLISHED, MODE_TEXT, 0);
		p->cap.fallback = true;
	} else if (strcmp(local, "title") == 0) {
		begin_capture(p, F_TITLE, MODE_HTML, 0);
		p->cap.fallback = true;
	} else if (strcmp(local, "description") == 0) {
		begin_capture(p, in_entry ? F_SUMMARY : F_SUBTITLE, MODE_HTML, 0);
		p->cap.fallback = true;
	} else if (in_entry && strcmp(local, "subject") == 0) {
		begin_capture(p, F_CATEGORY, MODE_TEXT, 0);
	} else if (!in_entry && strcmp(local, "language") == 0) {
		begin_capture(p, F_LANGUAGE, MODE_TEXT, 0);
	}
}

/* A Media RSS element of an item, or of a media:group in it: media files
 * are enclosures; media:title, media:description (plain text unless
 * type="html") stand in for an absent title and summary; media:category
 * is a category. */
static void media_field(struct feed_parser *p, const char *local, const xmlChar **attrs, int nattrs)
{
	if (strcmp(local, "content") == 0 || strcmp(local, "thumbnail") == 0) {
		add_enclosure(p, attr(attrs, nattrs, "url", NULL),
			      attr(attrs, nattrs, "type", NULL),
			      attr(attrs, nattrs, "fileSize", NULL));
	} else if (strcmp(local, "title") == 0 || strcmp(local, "description") == 0) {
		bool html = attr_is(attrs, nattrs, "type", "html");
		begin_capture(p, local[0] == 't' ? F_TITLE : F_SUMMARY,
			      html ? MODE_HTML : MODE_TEXT, 0);
		p->cap.fallback = true;
	} else if (strcmp(local, "category") == 0) {
		begin_capture(p, F_CATEGORY, MODE_TEXT, 0);
	}
}

/* Decides what a child of an entry or of the channel/feed is. */
static void field_start(struct feed_parser *p, const char *local, enum ns ns, const xmlChar **attrs,
			int nattrs)
{
	bool in_entry = p->entry != NULL;
	int rel = p->depth - (in_entry ? p->entry_depth : p->channel_depth);

	if (rel == 2 && in_entry && p->author_depth == p->depth - 1 && ns == NS_ATOM) {
		if (strcmp(local, "name") == 0 || strcmp(local, "email") == 0) {
			begin_capture(p, F_AUTHOR, MODE_TEXT, 0);
			p->cap.author_part = local[0] == 'n' ? 1 : 2;
		}
		return;
	}
	if (rel == 2 && in_entry && p->media_group_depth == p->depth - 1 && ns == NS_MEDIANS) {
		media_field(p, local, attrs, nattrs);
		return;
	}
	if (rel != 1)
		return;

	switch (ns) {
	case NS_RSS:
		if (p->family != FAM_ATOM)
			rss_field(p, local, in_entry, attrs, nattrs);
		break;
	case NS_ATOM:
		atom_field(p, local, in_entry, attrs, nattrs);
		break;
	case NS_CONTENTNS:
		if (in_entry && strcmp(local, "encoded") == 0)
			begin_capture(p, F_CONTENT, MODE_HTML, 0);
		break;
	case NS_DCNS:
		dc_field(p, local, in_entry);
		break;
	case NS_MEDIANS:
		if (in_entry && strcmp(local, "group") == 0)
			p->media_group_depth = p->depth;
		else if (in_entry)
			media_field(p, local, attrs, nattrs);
		break;
	case NS_XHTMLNS:
		/* xhtml:body: the item's content, its children serialised. */
		if (in_entry && strcmp(local, "body") == 0)
			begin_capture(p, F_CONTENT, MODE_XHTML, 0);
		break;
	case NS_RDFNS:
	case NS_NONE_OTHER:
		break;
	}
}

/* Serialises a child element's start tag into the capture's markup. */
static void cap_start_tag(struct feed_parser *p, const xmlChar *local, const xmlChar *prefix,
			  const xmlChar **attrs, int nattrs)
{
	struct capture *c = &p->cap;
	if (c->mode == MODE_XHTML && c->skip_div_depth < 0 && p->depth == c->depth + 1 &&
	    strcmp((const char *)local, "div") == 0 &&
	    strspn(buf_str(&c->markup), " \t\r\n") == c->markup.len) {
		c->skip_div_depth = p->depth;
		return;
	}
	if (!c->has_markup) {
		/* The markup copy is built only once a child element shows
		 * that the plain text will not do. */
		c->has_markup = true;
		cap_escaped(p, c->plain.data ? c->plain.data : "", c->plain.len, false);
	}
	cap_append(p, &c->markup, "<", 1);
	if (prefix) {
		cap_append(p, &c->markup, (const char *)prefix, strlen((const char *)prefix));
		cap_append(p, &c->markup, ":", 1);
	}
	cap_append(p, &c->markup, (const char *)local, strlen((const char *)local));
	for (int i = 0; i < nattrs; i++) {
		const xmlChar **a = attrs + i * 5;
		cap_append(p, &c->markup, " ", 1);
		if (a[1]) {
			cap_append(p, &c->markup, (const char *)a[1], strlen((const char *)a[1]));
			cap_append(p, &c->markup, ":", 1);
		}
		cap_append(p, &c->markup, (const char *)a[0], strlen((const char *)a[0]));
		cap_append(p, &c->markup, "=\"", 2);
		char *v = attr_value(a);
		cap_escaped(p, v, strlen(v), true);
		free(v);
		cap_append(p, &c->markup, "\"", 1);
	}
	cap_append(p, &c->markup, ">", 1);
}

static void sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
		      const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
		      int nb_attributes, int nb_defaulted, const xmlChar **attrs)
{
	struct feed_parser *p = ctx;
	const char *local = (const char *)localname;
	if (p->stopped)
		return;
	p->depth++;

	/* xml:base, relative to the base in force. */
	if (p->depth <= MAX_DEPTH) {
		p->bases[p->depth] = p->bases[p->depth - 1];
		p->owned_bases[p->depth] = NULL;
		char *b = attr(attrs, nb_attributes, "base", NS_XML);
		if (b) {
			char *r = resolve(b, base_here(p));
			p->owned_bases[p->depth] = r;
			p->bases[p->depth] = r;
		}
	}

	if (p->capturing) {
		cap_start_tag(p, localname, prefix, attrs, nb_attributes);
		return;
	}

	enum ns ns = classify(p, uri);
	if (p->depth == 1) {
		on_root(p, local, ns, uri, attrs, nb_attributes, namespaces, nb_namespaces);
		return;
	}
	if (p->family == FAM_RSS && p->format == FEED_FORMAT_UNKNOWN && p->depth == 2)
		p->format = rdf_rss_format((const char *)uri);

	if (p->family == FAM_RSS && ns == NS_RSS && strcmp(local, "channel") == 0 && !p->entry &&
	    p->channel_depth == 0) {
		p->channel_depth = p->depth;
		return;
	}
	bool entry_start = (p->family == FAM_RSS && ns == NS_RSS && strcmp(local, "item") == 0) ||
		(p->family == FAM_ATOM && ns == NS_ATOM && strcmp(local, "entry") == 0);
	if (entry_start) {
		/* An entry inside an entry means the first was never closed. */
		if (p->entry)
			end_entry(p, false);
		begin_entry(p, attrs, nb_attributes);
		return;
	}
	if (p->entry || (p->channel_depth && p->depth == p->channel_depth + 1))
		field_start(p, local, ns, attrs, nb_attributes);
}

/* The end of an Atom <author>: "name (email)", or whichever it had. */
static void end_author(struct feed_parser *p)
{
	p->author_depth = -1;
	char *a = NULL;
	if (p->author_name && p->author_email) {
		size_t n = strlen(p->author_name) + strlen(p->author_email) + 4;
		a = xmalloc(n);
		snprintf(a, n, "%s (%s)", p->author_name, p->author_email);
		free(p->author_name);
		free(p->author_email);
	} else {
		a = p->author_name ? p->author_name : p->author_email;
	}
	p->author_name = p->author_email = NULL;
	set_first(&p->entry->author, a);
}

static void sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	struct feed_parser *p = ctx;
	if (p->depth <= 0)
		return;
	if (!p->stopped) {
		struct capture *c = &p->cap;
		if (p->capturing && p->depth > c->depth) {
			if (p->depth == c->skip_div_depth) {
				c->skip_div_depth = -2; /* done; no second wrapper */
			} else {
				cap_append(p, &c->markup, "</", 2);
				if (prefix) {
					cap_append(p, &c->markup, (const char *)prefix,
						   strlen((const char *)prefix));
					cap_append(p, &c->markup, ":", 1);
				}
				cap_append(p, &c->markup, (const char *)localname,
					   strlen((const char *)localname));
				cap_append(p, &c->markup, ">", 1);
			}
		} else if (p->capturing) {
			end_capture(p);
		}
		if (p->entry && p->depth == p->author_depth)
			end_author(p);
		if (p->entry && p->depth == p->media_group_depth)
			p->media_group_depth = -1;
		if (p->entry && p->depth <= p->entry_depth)
			end_entry(p, false);
		if (p->channel_depth && p->depth <= p->channel_depth && p->family == FAM_RSS)
			p->channel_depth = 0;
	}
	/* Only now: the capture just ended may have used this base. */
	if (p->depth <= MAX_DEPTH) {
		free(p->owned_bases[p->depth]);
		p->owned_bases[p->depth] = NULL;
	}
	p->depth--;
}

static void sax_text(void *ctx, const xmlChar *ch, int len)
{
	struct feed_parser *p = ctx;
	if (!p->capturing || p->stopped || len <= 0)
		return;
	struct capture *c = &p->cap;
	cap_append(p, &c->plain, (const char *)ch, (size_t)len);
	if (c->has_markup)
		cap_escaped(p, (const char *)ch, (size_t)len, false);
}

static xmlEntityPtr sax_get_entity(void *ctx, const xmlChar *name)
{
	/* xmlfix leaves no named references; refuse any that slip through. */
	return NULL;
}

static void sax_error(void *ctx, xmlErrorPtr err)
{
	struct feed_parser *p = ctx;
	if (!err || p->first_error || !err->message)
		return;
	size_t n = strlen(err->message);
	while (n && (err->message[n - 1] == '\n' || err->message[n - 1] == ' '))
		n--;
	p->first_error = xmalloc(n + 32);
	snprintf(p->first_error, n + 32, "line %d: %.*s", err->line, (int)n, err->message);
}

static xmlParserInputPtr no_external_entities(const char *url, const char *id,
					      xmlParserCtxtPtr ctxt)
{
	return NULL;
}

/* libxml2's settings are process-wide, so they are made here, once, before
 * any thread or document exists: xmlInitParser, whose set-up on first use
 * is not thread-safe, and a loader that loads no external entity at all
 * (belt and braces: xmlfix leaves no DTD and the options say NONET, but
 * then not even a mistake can reach a file or the network). */
void feed_xml_init(void)
{
	xmlInitParser();
	xmlSetExternalEntityLoader(no_external_entities);
}

/* ---- the parser object ------------------------------------------------ */

struct feed_parser *feed_parser_new(const struct feed_limits *limits, const char *charset,
				    const char *base_url, const struct feed_handler *handler)
{
	struct feed_parser *p = xcalloc(1, sizeof *p);
	if (limits)
		p->limits = *limits;
	else
		feed_limits_default(&p->limits);
	if (handler)
		p->h = *handler;
	p->base_url = base_url && *base_url ? xstrdup(base_url) : NULL;
	p->cv = charset_conv_new(charset);
	p->info.updated = FEED_TIME_NONE;
	fallback_init(&p->fb_entry);
	fallback_init(&p->fb_feed);
	p->bases[0] = NULL;
	xmlfix_init(&p->fix);
	buf_init(&p->cap.plain);
	buf_init(&p->cap.markup);
	return p;
}

size_t feed_parser_entries(const struct feed_parser *p)
{
	return p->n_entries;
}

/* The callbacks; libxml2 copies them into each parser context, and no one
 * writes them. */
static xmlSAXHandler sax = {
	.initialized = XML_SAX2_MAGIC,
	.startElementNs = sax_start,
	.endElementNs = sax_end,
	.characters = sax_text,
	.cdataBlock = sax_text,
	.getEntity = sax_get_entity,
	.serror = sax_error,
};

static void parse_fixed(struct feed_parser *p, bool terminate)
{
	if (!p->ctxt && (p->fix.fixed.len > 0 || terminate)) {
		p->ctxt = xmlCreatePushParserCtxt(&sax, p, NULL, 0, NULL);
		if (!p->ctxt) {
			not_a_feed(p, "cannot create an XML parser");
			return;
		}
		xmlCtxtUseOptions(p->ctxt,
				  XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_IGNORE_ENC |
					  XML_PARSE_NOWARNING | XML_PARSE_NOERROR |
					  XML_PARSE_NOCDATA);
		xmlSwitchEncoding(p->ctxt, XML_CHAR_ENCODING_UTF8);
	}
	if (!p->ctxt || (p->stopped && !terminate))
		return;
	/* libxml2 takes an int length. */
	const char *s = p->fix.fixed.data ? p->fix.fixed.data : "";
	size_t left = p->fix.fixed.len;
	do {
		int n = left > (1u << 20) ? 1 << 20 : (int)left;
		left -= (size_t)n;
		xmlParseChunk(p->ctxt, s, n, terminate && left == 0);
		s += n;
	} while (left > 0 && !p->stopped);
	buf_reset(&p->fix.fixed);
}

static void run_stages(struct feed_parser *p, const char *data, size_t len, bool final)
{
	/* The converter appends straight behind what xmlfix held back. */
	if (final)
		charset_conv_finish(p->cv, &p->fix.pending);
	else
		charset_conv_push(p->cv, data, len, &p->fix.pending);
	xmlfix_run(&p->fix, final);
	parse_fixed(p, final);
}

int feed_parser_push(struct feed_parser *p, const char *data, size_t len)
{
	if (p->stopped || p->over_document)
		return -1;
	if (len > p->limits.max_document - p->pushed) {
		len = p->limits.max_document - p->pushed;
		p->over_document = true;
		warn(p, "document larger than %zu bytes (max_feed_size): the rest is ignored",
		     p->limits.max_document);
	}
	p->pushed += len;
	for (size_t i = 0; i < len && !p->nonspace_input; i++)
		if (!strchr(" \t\r\n", data[i]))
			p->nonspace_input = true;
	run_stages(p, data, len, false);
	return p->stopped || p->over_document ? -1 : 0;
}

int feed_parser_finish(struct feed_parser *p, struct buf *err)
{
	run_stages(p, NULL, 0, true);
	if (charset_conv_warning(p->cv))
		warn(p, "%s", charset_conv_warning(p->cv));
	if (p->entry) {
		warn(p, "the document ends inside entry %zu", p->n_entries + 1);
		end_entry(p, true);
	}
	if (p->fix.attrs_dropped)
		warn(p, "an element had more than %d attributes; the rest were dropped",
		     XMLFIX_MAX_ATTRS);
	if (p->fix.entities_capped)
		warn(p,
		     "the document's own entities expand to more than %zu bytes; the rest were "
		     "left as text",
		     XMLFIX_MAX_EXPANSION);
	if (p->fix.junk_skipped && p->fix.seen_lt)
		warn(p, "skipped %zu bytes of text before the first tag", p->fix.junk_skipped);
	if (!p->fatal && !p->root_seen) {
		if (!p->nonspace_input)
			p->fatal = xstrdup("empty document");
		else if (!p->fix.seen_lt)
			p->fatal = xstrdup("no XML markup in the document");
		else if (p->first_error) {
			struct buf b;
			buf_init(&b);
			buf_printf(&b, "not well-formed XML, %s", p->first_error);
			p->fatal = buf_steal(&b);
		} else
			p->fatal = xstrdup("no XML element found");
	}
	if (!p->fatal && p->first_error)
		warn(p, "malformed XML, recovered what came before and after: %s", p->first_error);
	if (p->fatal) {
		if (err)
			buf_puts(err, p->fatal);
		return -1;
	}
	emit_feed(p);
	return 0;
}

void feed_parser_free(struct feed_parser *p)
{
	if (!p)
		return;
	if (p->ctxt) {
		/* A DOCTYPE that reached libxml2 (xmlfix drops every one it
		 * recognises; one hidden in a broken XML declaration is not)
		 * leaves the entities it declared in a document of libxml2's
		 * own, which is ours to free. */
		if (p->ctxt->myDoc)
			xmlFreeDoc(p->ctxt->myDoc);
		xmlFreeParserCtxt(p->ctxt);
	}
	for (int d = 0; d <= MAX_DEPTH; d++)
		free(p->owned_bases[d]);
	feed_entry_free(p->entry);
	free(p->info.title);
	free(p->info.link);
	free(p->info.subtitle);
	free(p->info.language);
	charset_conv_free(p->cv);
	xmlfix_free(&p->fix);
	buf_free(&p->cap.plain);
	buf_free(&p->cap.markup);
	free(p->base_url);
	free(p->doc_ns);
	free(p->author_name);
	free(p->author_email);
	fallback_free(&p->fb_entry);
	fallback_free(&p->fb_feed);
	free(p->fatal);
	free(p->first_error);
	free(p);
}
