/*
 * extract: article page -> struct store_page (the contract is in
 * include/feedd/extract.h).  The page is first made valid UTF-8 by the same
 * converter the feed parser uses, so libxml2 never guesses an encoding and
 * nothing invalid reaches JSON or PostgreSQL.  Its JSON-LD is read, then the
 * excluded elements are cut out, and each field is looked up by the source's
 * xpath.FIELD (else the preset's expressions), the JSON-LD, the meta tags,
 * in that order; the body last of all from generic.c's heuristic.  No I/O
 * but tz.c's reading of a zone's file the first time a local date needs it.
 */
#include "feedd/extract.h"
#include "feedd/charset.h"
#include "feedd/date.h"
#include "feedd/generic.h"
#include "feedd/jsonld.h"
#include "feedd/newsid.h"
#include "feedd/text.h"
#include "feedd/tz.h"

#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <libxml/uri.h>
#include <libxml/xpath.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A page with more tags than this is a tag cloud, not an article's tags. */
#define MAX_TAGS 64
/* JSON-LD blocks looked at; pages have one to three. */
#define MAX_JSONLD_BLOCKS 16
/* How far into the page a <meta charset> is looked for, as browsers do. */
#define CHARSET_PRESCAN 1024
/* <meta> elements read; a page with more is padding them. */
#define MAX_METAS 1024
/* Expressions a preset may give per field, tried in turn. */
#define PRESET_ALTERNATIVES 3

#define HAS_CLASS(c) "contains(concat(' ',normalize-space(@class),' '),' " c " ')"
#define META(v) "//meta[@property='" v "' or @name='" v "']/@content"

/* A CMS's page structure.  Each field has a few expressions, tried in turn,
 * because one CMS's templates differ between sites and years. */
struct preset {
	const char *name;
	/* The element every article page has and a challenge or error page
	 * lacks; NULL: no such check. */
	const char *container;
	const char *news_id; /* the element holding the "News ID:" label */
	/* Noise inside the article (related links, ads, forms), cut out first. */
	const char *exclude;
	const char *xpath[CFG_XPATH_COUNT][PRESET_ALTERNATIVES];
};

#define NASTOOH_TEXT "//div[" HAS_CLASS("item-body") "]//div[" HAS_CLASS("item-text") "]"

static const struct preset nastooh = {
	.name = "nastooh",
	.container = NASTOOH_TEXT,
	.news_id = "//div[" HAS_CLASS("item-code") "]",
	/* Elements that are never text (script, form, ...) are skipped by
	 * walk() wherever they are.  [@class] first: most elements have none,
	 * and it spares them the string functions on a page of a million. */
	.exclude =
		NASTOOH_TEXT "//aside | " NASTOOH_TEXT "//*[@class][contains(@class,'related') or "
			     "contains(@class,'comment') or contains(@class,'banner') or "
			     "contains(@class,'advert') or " HAS_CLASS("ad") " or " HAS_CLASS(
				     "ads") " or " HAS_CLASS("share") "]",
	.xpath =
		{
			[CFG_XPATH_TITLE] = {"//h1[" HAS_CLASS(
						     "title") "]//a[@itemprop='headline']",
					     "//h1[" HAS_CLASS("title") "]"},
			[CFG_XPATH_LEAD] = {"//p[@class][" HAS_CLASS("introtext") "]"},
			[CFG_XPATH_BODY] = {NASTOOH_TEXT},
			/* The meta tag is exact on every edition; the visible line
			 * is local, to the minute (and Jalali on Persian editions,
			 * which no pattern here reads). */
			[CFG_XPATH_PUBLISHED] = {META("article:published_time"),
						 "//div[" HAS_CLASS("item-date") "]"},
			[CFG_XPATH_TAGS] = {"//section[" HAS_CLASS("tags") "]//li//a"},
			[CFG_XPATH_IMAGE] = {"//figure[" HAS_CLASS("item-img") "]//img/@src"},
			[CFG_XPATH_CAPTION] = {"//figure[" HAS_CLASS("item-img") "]//figcaption",
					       "//figure[" HAS_CLASS("item-img") "]//img/@alt"},
		},
};

/* No preset: a source's xpath.FIELD rules and the fallbacks only. */
static const struct preset none = {.name = "none"};

/* The preset of that name (`irna` is what IRNA's users will look for). */
static const struct preset *preset_find(const char *name)
{
	if (!name || strcmp(name, "nastooh") == 0 || strcmp(name, "irna") == 0)
		return &nastooh;
	if (strcmp(name, "none") == 0)
		return &none;
	return NULL;
}

int extract_rules_from_source(const struct cfg_source *src, struct extract_rules *r,
			      struct buf *err)
{
	memset(r, 0, sizeof *r);
	if (src->rules && !preset_find(src->rules)) {
		buf_printf(err,
			   "source %s: no built-in rules named '%s' (known: nastooh, irna, none)",
			   src->name, src->rules);
		return -1;
	}
	r->preset = src->rules ? src->rules : "none";
	r->timezone = src->timezone;
	r->date_format = src->date_format;
	for (size_t i = 0; i < CFG_XPATH_COUNT; i++)
		r->xpath[i] = src->xpath[i];
	r->news_id_re = src->news_id.code;
	return 0;
}

/* ---- time ---- */

/* The zone of a source's timezone.  A name the tz database lacks (config
 * refuses those wherever a database is installed) is read as glibc read
 * TZ=":name": as a POSIX TZ string ("EST5EDT"), failing that as UTC. */
static const struct tz_zone *zone_named(const char *name)
{
	const struct tz_zone *z = tz_zone(name);
	if (!z)
		z = tz_zone_posix(name);
	if (!z)
		z = tz_zone_posix("UTC0");
	return z;
}

/* The rules for a wall time in a gap or an overlap are tz_local_to_utc's
 * (tz.h); the calendar fields are normalised by timegm, which reads no
 * time zone. */
int extract_local_to_utc(const char *tz, const struct tm *tm, int64_t *out)
{
	struct tm w = {.tm_year = tm->tm_year,
		       .tm_mon = tm->tm_mon,
		       .tm_mday = tm->tm_mday,
		       .tm_hour = tm->tm_hour,
		       .tm_min = tm->tm_min,
		       .tm_sec = tm->tm_sec};
	int64_t wall = (int64_t)timegm(&w);
	if (wall == -1 && !(w.tm_year == 69 && w.tm_mon == 11 && w.tm_mday == 31))
		return -1;
	return tz_local_to_utc(zone_named(tz), wall, out);
}

/* Reads a visible date such as "Jun 11, 2025, 7:16 PM" (also "June", and
 * a 24-hour clock without AM/PM) in zone tz; 0, or -1. */
static int parse_visible_date(const char *s, const char *tz, int64_t *out)
{
	static const char months[][4] = {"jan", "feb", "mar", "apr", "may", "jun",
					 "jul", "aug", "sep", "oct", "nov", "dec"};
	char mon[16], ampm[3] = "";
	int day, year, hour, min, n = 0;
	if (sscanf(s, " %15[A-Za-z] %d , %d , %d:%d %n", mon, &day, &year, &hour, &min, &n) != 5)
		return -1;
	if (s[n] && sscanf(s + n, "%2[AaPp]", ampm) != 1)
		return -1;
	if (ampm[0] && (s[n + 1] != 'M' && s[n + 1] != 'm'))
		return -1;
	int m = -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(mon, months[i], 3) == 0)
			m = i;
	if (m < 0 || day < 1 || day > 31 || year < 1970 || year > 9999 || min < 0 || min > 59)
		return -1;
	if (ampm[0]) {
		if (hour < 1 || hour > 12)
			return -1;
		hour = hour % 12 + (tolower((unsigned char)ampm[0]) == 'p' ? 12 : 0);
	} else if (hour < 0 || hour > 23) {
		return -1;
	}
	struct tm tm = {.tm_year = year - 1900,
			.tm_mon = m,
			.tm_mday = day,
			.tm_hour = hour,
			.tm_min = min};
	return extract_local_to_utc(tz, &tm, out);
}

/* Reads s by a source's strptime pattern, in zone tz unless the pattern
 * has %z; 0, or -1 unless year and day were both read. */
static int parse_with_format(const char *s, const char *fmt, const char *tz, int64_t *out)
{
	struct tm tm = {.tm_year = INT_MIN};
	while (isspace((unsigned char)*s))
		s++;
	if (!strptime(s, fmt, &tm) || tm.tm_year == INT_MIN || tm.tm_mday == 0)
		return -1;
	if (strstr(fmt, "%z")) {
		long off = tm.tm_gmtoff;
		tm.tm_isdst = 0;
		time_t t = timegm(&tm);
		*out = (int64_t)t - off;
		return 0;
	}
	return extract_local_to_utc(tz, &tm, out);
}

/* Whether a string date_parse reads carries its own zone: then an offset
 * written after it is refused, or read as a label of that same zone, which
 * two different offsets cannot both be; a string without a zone takes
 * either.  A date without a clock is a local day, never a UTC one. */
static bool has_zone(const char *s)
{
	if (!strchr(s, ':'))
		return false;
	static const char *const probes[] = {" +0100", " +0200"};
	int taken = 0;
	for (size_t i = 0; i < ARRAY_LEN(probes); i++) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%s%s", s, probes[i]);
		int64_t t;
		taken += date_parse(buf_str(&b), &t) == 0;
		buf_free(&b);
	}
	return taken < 2;
}

int extract_parse_date(const char *s, const char *tz, const char *date_format, int64_t *out)
{
	int64_t t;
	bool read = date_parse(s, &t) == 0;
	if (read && has_zone(s)) {
		*out = t;
		return 0;
	}
	if (date_format && parse_with_format(s, date_format, tz, out) == 0)
		return 0;
	if (read) {
		/* date_parse read the wall clock as UTC. */
		time_t tt = (time_t)t;
		struct tm tm;
		if (!gmtime_r(&tt, &tm))
			return -1;
		return extract_local_to_utc(tz, &tm, out);
	}
	return parse_visible_date(s, tz, out);
}

/* ---- the document ---- */

/* The state of one extraction. */
struct ex {
	xmlXPathContextPtr xc;
	const char *url;
	const char *tz;
	const char *date_format;
	const struct extract_rules *rules; /* NULL: none */
	const struct preset *p;
	struct jsonld_article ld; /* empty when the page has none */
	/* The page's <meta> elements with content, in page order: read once,
	 * because each XPath search walks the whole tree. */
	xmlNodePtr *metas;
	size_t n_metas;
	struct buf *err;
	bool bad_xpath; /* err says which expression */
};

/* libxml2 would print XPath syntax errors on stderr; they are reported
 * through err instead. */
static void xpath_quiet(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

/* What expr selects; NULL when it does not compile, which sets bad_xpath
 * and says so in err. */
static xmlXPathObjectPtr eval(struct ex *x, const char *expr, const char *field)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, x->xc);
	if (!o) {
		if (!x->bad_xpath)
			buf_printf(x->err, "xpath.%s: not a valid XPath expression: %s",
				   field ? field : "?", expr);
		x->bad_xpath = true;
	}
	return o;
}

/* What expr selects if it is a non-empty node set, else NULL. */
static xmlXPathObjectPtr eval_nodes(struct ex *x, const char *expr, const char *field)
{
	xmlXPathObjectPtr o = eval(x, expr, field);
	if (o && (o->type != XPATH_NODESET || !o->nodesetval || o->nodesetval->nodeNr == 0)) {
		xmlXPathFreeObject(o);
		o = NULL;
	}
	return o;
}

/* A node's text with white space folded; NULL when there is none. */
static char *node_text(xmlNodePtr n)
{
	xmlChar *s = xmlNodeGetContent(n);
	if (!s)
		return NULL;
	struct buf b;
	buf_init(&b);
	text_fold_space((const char *)s, strlen((const char *)s), &b);
	xmlFree(s);
	return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
}

/* The first non-empty text expr selects, or NULL. */
static char *first_text(struct ex *x, const char *expr, const char *field)
{
	xmlXPathObjectPtr o = eval(x, expr, field);
	char *r = NULL;
	if (!o)
		return NULL;
	if (o->type == XPATH_STRING && o->stringval)
		r = text_clean_field(xstrdup((const char *)o->stringval));
	else if (o->type == XPATH_NODESET && o->nodesetval)
		for (int i = 0; !r && i < o->nodesetval->nodeNr; i++)
			r = node_text(o->nodesetval->nodeTab[i]);
	xmlXPathFreeObject(o);
	return r;
}

/* Whether meta element n has property=name or name=name. */
static bool meta_is(xmlNodePtr n, const char *name)
{
	static const char *const attrs[] = {"property", "name"};
	for (size_t i = 0; i < ARRAY_LEN(attrs); i++) {
		xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)attrs[i]);
		bool eq = v && strcmp((const char *)v, name) == 0;
		xmlFree(v);
		if (eq)
			return true;
	}
	return false;
}

/* The folded content of the i-th <meta>, or NULL when empty. */
static char *meta_content(const struct ex *x, size_t i)
{
	xmlChar *v = xmlGetNoNsProp(x->metas[i], (const xmlChar *)"content");
	char *r = v ? text_clean_field(xstrdup((const char *)v)) : NULL;
	xmlFree(v);
	return r;
}

/* The content of the first non-empty <meta property=name> or <meta
 * name=name>, or NULL. */
static char *meta(struct ex *x, const char *name)
{
	char *r = NULL;
	for (size_t i = 0; !r && i < x->n_metas; i++)
		if (meta_is(x->metas[i], name))
			r = meta_content(x, i);
	return r;
}

/* Collects the page's <meta content> elements into x->metas. */
static void read_metas(struct ex *x)
{
	xmlXPathObjectPtr o = eval_nodes(x, "//meta[@content]", NULL);
	size_t n = o ? (size_t)o->nodesetval->nodeNr : 0;
	if (n > MAX_METAS)
		n = MAX_METAS;
	x->metas = n ? xmalloc(n * sizeof *x->metas) : NULL;
	for (size_t i = 0; i < n; i++)
		x->metas[i] = o->nodesetval->nodeTab[i];
	x->n_metas = n;
	xmlXPathFreeObject(o);
}

/* The field's expressions: the source's rule, else the preset's. */
static size_t field_exprs(const struct ex *x, enum cfg_xpath_field f,
			  const char *out[PRESET_ALTERNATIVES])
{
	if (x->rules && x->rules->xpath[f]) {
		out[0] = x->rules->xpath[f];
		return 1;
	}
	size_t n = 0;
	while (n < PRESET_ALTERNATIVES && x->p->xpath[f][n]) {
		out[n] = x->p->xpath[f][n];
		n++;
	}
	return n;
}

/* The field's text by the source's rule, else the preset's; NULL when they
 * find nothing. */
static char *rule_text(struct ex *x, enum cfg_xpath_field f)
{
	const char *exprs[PRESET_ALTERNATIVES];
	size_t n = field_exprs(x, f, exprs);
	char *r = NULL;
	for (size_t i = 0; !r && i < n; i++)
		r = first_text(x, exprs[i], cfg_xpath_field_name(f));
	return r;
}

/* The nodes of the first of the field's expressions that selects any. */
static xmlXPathObjectPtr rule_nodes(struct ex *x, enum cfg_xpath_field f)
{
	const char *exprs[PRESET_ALTERNATIVES];
	size_t n = field_exprs(x, f, exprs);
	xmlXPathObjectPtr o = NULL;
	for (size_t i = 0; !o && i < n; i++)
		o = eval_nodes(x, exprs[i], cfg_xpath_field_name(f));
	return o;
}

/* Cuts what expr selects out of the document.  Every node is unlinked
 * before any is freed, because the set may hold a node and its ancestor. */
static void exclude(struct ex *x, const char *expr)
{
	xmlXPathObjectPtr o = eval_nodes(x, expr, "exclude");
	if (!o)
		return;
	xmlNodeSetPtr s = o->nodesetval;
	for (int i = 0; i < s->nodeNr; i++) {
		xmlNodePtr n = s->nodeTab[i];
		if (n->type == XML_NAMESPACE_DECL || n->type == XML_DOCUMENT_NODE ||
		    n->type == XML_HTML_DOCUMENT_NODE || n->type == XML_DTD_NODE) {
			s->nodeTab[i] = NULL;
			continue;
		}
		xmlUnlinkNode(n);
	}
	for (int i = 0; i < s->nodeNr; i++)
		if (s->nodeTab[i])
			xmlFreeNode(s->nodeTab[i]);
	/* The set now points at freed nodes: empty it before freeing it. */
	s->nodeNr = 0;
	xmlXPathFreeObject(o);
}

/* ---- the body ---- */

/* Elements that are not text of the article wherever they are. */
static bool skipped_element(const char *name)
{
	static const char *const names[] = {"script", "style",	  "noscript", "template",
					    "iframe", "form",	  "button",   "select",
					    "input",  "textarea", "figure",   "svg"};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

/* Elements that end a paragraph. */
static bool block_element(const char *name)
{
	static const char *const names[] = {
		"p",	   "div", "br",	   "li",      "ul",	    "ol",     "h1",	 "h2",
		"h3",	   "h4",  "h5",	   "h6",      "blockquote", "tr",     "table",	 "section",
		"article", "pre", "hr",	   "dl",      "dt",	    "dd",     "header",	 "footer",
		"main",	   "nav", "aside", "address", "figcaption", "center", "details", "summary",
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

/* Ends the paragraph gathered in line, appending it to out if it has
 * text. */
static void end_paragraph(struct buf *line, struct buf *out)
{
	struct buf t;
	buf_init(&t);
	text_fold_space(line->data ? line->data : "", line->len, &t);
	if (t.len) {
		if (out->len)
			buf_putc(out, '\n');
		buf_append(out, t.data, t.len);
	}
	buf_free(&t);
	buf_reset(line);
}

/* Appends n's text to out, one paragraph per line: block elements and
 * <br> end paragraphs. */
static void walk(xmlNodePtr n, struct buf *line, struct buf *out)
{
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			if (c->content)
				buf_puts(line, (const char *)c->content);
		} else if (c->type == XML_ELEMENT_NODE && c->name) {
			const char *name = (const char *)c->name;
			if (skipped_element(name))
				continue;
			bool block = block_element(name);
			if (block)
				end_paragraph(line, out);
			walk(c, line, out);
			if (block)
				end_paragraph(line, out);
		}
	}
}

/* Whether n or an ancestor was already walked (marked in _private, which
 * libxml2 leaves to its users). */
static bool inside_taken(xmlNodePtr n, void *mark)
{
	for (; n; n = n->parent)
		if (n->_private == mark)
			return true;
	return false;
}

/* Whether a paragraph is an editor's code such as "3266**4353": digits
 * (ASCII or Persian) and stars only, which no sentence is. */
static bool is_editor_code(const char *s)
{
	bool digit = false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isdigit(*p)) {
			digit = true;
		} else if (p[0] == 0xdb && p[1] >= 0xb0 && p[1] <= 0xb9) {
			digit = true;
			p++;
		} else if (*p != '*' && *p != ' ') {
			return false;
		}
	}
	return digit;
}

/* The body by the rules: the text of every node selected, one paragraph
 * per line, without a trailing editor code; NULL when there is none. */
static char *rule_body(struct ex *x)
{
	xmlXPathObjectPtr o = rule_nodes(x, CFG_XPATH_BODY);
	if (!o)
		return NULL;
	struct buf b, line;
	buf_init(&b);
	buf_init(&line);
	static char mark;
	xmlNodeSetPtr s = o->nodesetval;
	for (int i = 0; i < s->nodeNr; i++) {
		xmlNodePtr n = s->nodeTab[i];
		if (n->type == XML_ELEMENT_NODE) {
			if (inside_taken(n, &mark))
				continue;
			n->_private = &mark;
			end_paragraph(&line, &b);
			walk(n, &line, &b);
			end_paragraph(&line, &b);
		} else if (n->type != XML_NAMESPACE_DECL && !inside_taken(n->parent, &mark)) {
			char *t = node_text(n);
			if (t) {
				buf_puts(&line, t);
				end_paragraph(&line, &b);
				free(t);
			}
		}
	}
	for (int i = 0; i < s->nodeNr; i++)
		if (s->nodeTab[i]->type == XML_ELEMENT_NODE)
			s->nodeTab[i]->_private = NULL;
	xmlXPathFreeObject(o);
	buf_free(&line);
	if (b.len) {
		char *nl = strrchr(b.data, '\n');
		size_t last = nl ? (size_t)(nl - b.data) + 1 : 0;
		if (is_editor_code(b.data + last)) {
			b.len = last ? last - 1 : 0;
			b.data[b.len] = '\0';
		}
	}
	return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
}

/* The body by the generic heuristic, one paragraph per line (it gives
 * them a blank line apart); NULL when nothing reads like an article. */
static char *generic_text(struct ex *x)
{
	struct buf g, b;
	buf_init(&g);
	buf_init(&b);
	if (generic_body(x->xc->doc, &g) == 0) {
		const char *s = buf_str(&g);
		while (*s) {
			size_t n = strcspn(s, "\n");
			struct buf t;
			buf_init(&t);
			text_fold_space(s, n, &t);
			if (t.len) {
				if (b.len)
					buf_putc(&b, '\n');
				buf_append(&b, t.data, t.len);
			}
			buf_free(&t);
			s += n;
			s += strspn(s, "\n");
		}
	}
	buf_free(&g);
	return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
}

/* ---- tags ---- */

static void add_tag(struct store_page *a, char *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < a->n_tags; i++) {
		if (strcmp(a->tags[i], t) == 0) {
			free(t);
			return;
		}
	}
	if (a->n_tags == MAX_TAGS) {
		free(t);
		return;
	}
	a->tags = xrealloc(a->tags, (a->n_tags + 1) * sizeof *a->tags);
	a->tags[a->n_tags++] = t;
}

/* Adds each item of a list separated by Latin or Arabic commas. */
static void add_tag_list(struct store_page *a, const char *s)
{
	while (*s) {
		size_t n = 0;
		while (s[n] && s[n] != ',' && strncmp(s + n, "\xd8\x8c", 2) != 0)
			n++;
		struct buf b;
		buf_init(&b);
		text_fold_space(s, n, &b);
		add_tag(a, b.len ? buf_steal(&b) : (buf_free(&b), NULL));
		s += n;
		if (*s)
			s += *s == ',' ? 1 : 2;
	}
}

/* Tags by the rules, else the JSON-LD keywords, else article:tag metas,
 * else the keywords meta. */
static void extract_tags(struct ex *x, struct store_page *a)
{
	xmlXPathObjectPtr o = rule_nodes(x, CFG_XPATH_TAGS);
	for (int i = 0; o && i < o->nodesetval->nodeNr; i++)
		add_tag(a, node_text(o->nodesetval->nodeTab[i]));
	xmlXPathFreeObject(o);
	if (a->n_tags)
		return;
	for (size_t i = 0; i < x->ld.n_keywords; i++)
		add_tag_list(a, x->ld.keywords[i]);
	if (a->n_tags)
		return;
	for (size_t i = 0; i < x->n_metas; i++)
		if (meta_is(x->metas[i], "article:tag"))
			add_tag(a, meta_content(x, i));
	if (a->n_tags)
		return;
	char *kw = meta(x, "keywords");
	if (kw)
		add_tag_list(a, kw);
	free(kw);
}

/* ---- dates ---- */

/* Parses s (taken) as a page date; STORE_TIME_NONE when it is not one. */
static int64_t take_date(struct ex *x, char *s)
{
	int64_t t;
	int rc = s ? extract_parse_date(s, x->tz, x->date_format, &t) : -1;
	free(s);
	return rc == 0 ? t : STORE_TIME_NONE;
}

/* A date by the rules (each expression's first text that reads as a date),
 * else from the JSON-LD, else from the meta tags named. */
static int64_t extract_date(struct ex *x, enum cfg_xpath_field f, const char *ld,
			    const char *const metas[], size_t n_metas)
{
	const char *exprs[PRESET_ALTERNATIVES];
	size_t n = field_exprs(x, f, exprs);
	int64_t t = STORE_TIME_NONE;
	for (size_t i = 0; t == STORE_TIME_NONE && i < n; i++)
		t = take_date(x, first_text(x, exprs[i], cfg_xpath_field_name(f)));
	if (t == STORE_TIME_NONE && ld)
		t = take_date(x, xstrdup(ld));
	for (size_t i = 0; t == STORE_TIME_NONE && i < n_metas; i++)
		t = take_date(x, meta(x, metas[i]));
	return t;
}

/* ---- the checks ---- */

/* The first run of digits in s (Persian and Arabic-Indic ones as ASCII),
 * or NULL. */
static char *first_number(const char *s)
{
	struct buf b;
	buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		int d = -1, w = 1;
		if (isdigit(*p))
			d = *p - '0';
		else if (p[0] == 0xdb && p[1] >= 0xb0 && p[1] <= 0xb9)
			d = p[1] - 0xb0, w = 2;
		else if (p[0] == 0xd9 && p[1] >= 0xa0 && p[1] <= 0xa9)
			d = p[1] - 0xa0, w = 2;
		if (d >= 0)
			buf_putc(&b, (char)('0' + d));
		else if (b.len)
			break;
		p += w;
	}
	return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
}

/* The news ID in the URL: the source's pattern, else /news/NNN/. */
static char *url_news_id(const char *url, const struct extract_rules *rules)
{
	if (!url)
		return NULL;
	if (rules && rules->news_id_re)
		return newsid_match(rules->news_id_re, url);
	const char *s = strstr(url, "/news/");
	if (!s)
		return NULL;
	s += 6;
	size_t n = strspn(s, "0123456789");
	return n && (s[n] == '/' || s[n] == '\0' || s[n] == '?') ? xstrndup(s, n) : NULL;
}

/* Checks that the page is an article and sets its news ID; 0, or -1. */
static int check_article(struct ex *x, struct store_page *a)
{
	if (x->p->container && !(x->rules && x->rules->xpath[CFG_XPATH_BODY])) {
		xmlXPathObjectPtr o = eval_nodes(x, x->p->container, NULL);
		xmlXPathFreeObject(o);
		if (!o) {
			char *t = first_text(x, "//title", NULL);
			buf_printf(x->err,
				   "not an article: no article container (page title \"%s\")",
				   t ? t : "");
			free(t);
			return -1;
		}
	}
	char *label = x->p->news_id ? first_text(x, x->p->news_id, NULL) : NULL;
	char *page_id = label ? first_number(label) : NULL;
	char *url_id = url_news_id(a->url, x->rules);
	free(label);
	if (page_id && url_id && strcmp(page_id, url_id) != 0) {
		buf_printf(x->err, "not an article: news ID %s on the page, %s in the URL", page_id,
			   url_id);
		free(page_id);
		free(url_id);
		return -1;
	}
	a->news_id = page_id ? page_id : url_id;
	if (page_id)
		free(url_id);
	return 0;
}

/* ---- fields ---- */

/* ref made absolute against base (either may be NULL). */
static char *absolute(const char *ref, const char *base)
{
	if (!ref || !base)
		return ref ? xstrdup(ref) : NULL;
	xmlChar *u = xmlBuildURI((const xmlChar *)ref, (const xmlChar *)base);
	char *r = xstrdup(u ? (const char *)u : ref);
	xmlFree(u);
	return r;
}

/* Reads the first article in the page's JSON-LD blocks into x->ld. */
static void read_jsonld(struct ex *x)
{
	xmlXPathObjectPtr o =
		eval_nodes(x,
			   "//script[translate(normalize-space(@type),'ABCDEFGHIJKLMNOPQRSTUVWXYZ',"
			   "'abcdefghijklmnopqrstuvwxyz')='application/ld+json']",
			   NULL);
	for (int i = 0; o && i < o->nodesetval->nodeNr && i < MAX_JSONLD_BLOCKS; i++) {
		xmlChar *s = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
		if (!s)
			continue;
		int rc = jsonld_article((const char *)s, strlen((const char *)s), &x->ld);
		xmlFree(s);
		if (rc == 0)
			break;
	}
	xmlXPathFreeObject(o);
}

/* The first of a and b that is set; the other is freed. */
static char *or_else(char *a, char *b)
{
	if (a) {
		free(b);
		return a;
	}
	return b;
}

/* A copy of s, or NULL. */
static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* An author meta that is a profile URL (article:author often is) names no
 * one. */
static char *not_url(char *s)
{
	if (s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)) {
		free(s);
		return NULL;
	}
	return s;
}

static int extract_doc(struct ex *x, struct store_page *a)
{
	/* JSON-LD first: exclude is about the visible page, and a source that
	 * cuts out every <script> still wants its metadata. */
	read_jsonld(x);
	if (x->p->exclude)
		exclude(x, x->p->exclude);
	if (x->rules && x->rules->xpath[CFG_XPATH_EXCLUDE])
		exclude(x, x->rules->xpath[CFG_XPATH_EXCLUDE]);
	if (x->bad_xpath)
		return -1;
	read_metas(x);

	a->url = x->url ? xstrdup(x->url) : NULL;
	if (!a->url) {
		char *c = first_text(x, "//link[@rel='canonical']/@href", NULL);
		a->url = c ? c : meta(x, "og:url");
	}
	if (check_article(x, a) != 0)
		return -1;

	a->title = rule_text(x, CFG_XPATH_TITLE);
	if (!a->title)
		a->title = dup_or_null(x->ld.headline);
	if (!a->title)
		a->title = meta(x, "og:title");
	if (!a->title)
		a->title = first_text(x, "//title", NULL);
	if (!a->title)
		a->title = first_text(x, "//h1", NULL);

	a->lead = rule_text(x, CFG_XPATH_LEAD);
	if (!a->lead)
		a->lead = dup_or_null(x->ld.description);
	if (!a->lead)
		a->lead = or_else(meta(x, "og:description"), meta(x, "description"));

	a->body = rule_body(x);
	if (!a->body)
		a->body = dup_or_null(x->ld.body);
	if (!a->body)
		a->body = generic_text(x);

	a->author = rule_text(x, CFG_XPATH_AUTHOR);
	if (!a->author)
		a->author = dup_or_null(x->ld.author);
	if (!a->author)
		a->author = or_else(meta(x, "author"), not_url(meta(x, "article:author")));

	static const char *const published[] = {"article:published_time", "og:published_time"};
	static const char *const updated[] = {"article:modified_time", "og:updated_time"};
	a->published_at = extract_date(x, CFG_XPATH_PUBLISHED, x->ld.published, published,
				       ARRAY_LEN(published));
	a->modified_at =
		extract_date(x, CFG_XPATH_UPDATED, x->ld.modified, updated, ARRAY_LEN(updated));

	extract_tags(x, a);

	char *img = rule_text(x, CFG_XPATH_IMAGE);
	if (!img)
		img = dup_or_null(x->ld.image);
	if (!img)
		img = or_else(meta(x, "og:image"), meta(x, "og:image:url"));
	a->image = absolute(img, a->url);
	free(img);
	a->caption = rule_text(x, CFG_XPATH_CAPTION);
	if (!a->caption && a->image)
		a->caption = meta(x, "og:image:alt");

	a->language = first_text(x, "/html/@lang", NULL);
	if (x->bad_xpath)
		return -1;
	if (!a->body) {
		buf_puts(x->err, "not an article: no body text");
		return -1;
	}
	return 0;
}

/* ---- the encoding ---- */

/* Skips white space at s[i..n); returns the new index. */
static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	return i;
}

/* The value after "charset=" at s[i..n) (quoted or not), or NULL. */
static char *charset_value(const char *s, size_t i, size_t n)
{
	i = skip_ws(s, i, n);
	while (i < n && (s[i] == '"' || s[i] == '\''))
		i++;
	size_t k = i;
	while (k < n && (isalnum((unsigned char)s[k]) || strchr("-_:.", s[k])))
		k++;
	return k > i ? xstrndup(s + i, k - i) : NULL;
}

/* The charset the page's <meta charset> or <meta http-equiv=Content-Type
 * content="...; charset=..."> names within the first CHARSET_PRESCAN bytes,
 * or NULL.  A UTF-16 label is read as UTF-8, as the HTML standard says: a
 * page whose <meta> could be read this way is not UTF-16. */
static char *meta_charset(const char *html, size_t len)
{
	size_t n = len < CHARSET_PRESCAN ? len : CHARSET_PRESCAN;
	for (size_t i = 0; i + 5 < n; i++) {
		if (strncasecmp(html + i, "<meta", 5) != 0 || !isspace((unsigned char)html[i + 5]))
			continue;
		const char *end = memchr(html + i, '>', n - i);
		size_t e = end ? (size_t)(end - html) : n;
		for (size_t j = i + 5; j + 7 < e; j++) {
			if (strncasecmp(html + j, "charset", 7) != 0)
				continue;
			size_t k = skip_ws(html, j + 7, e);
			if (k >= e || html[k] != '=')
				continue;
			char *cs = charset_value(html, k + 1, e);
			if (cs && strncasecmp(cs, "utf-16", 6) == 0) {
				free(cs);
				cs = xstrdup("UTF-8");
			}
			if (cs)
				return cs;
		}
		i = e;
	}
	return NULL;
}

int extract_page(const char *html, size_t len, const char *url, const char *charset,
		 const struct extract_rules *rules, struct store_page **out, struct buf *err)
{
	*out = NULL;
	const struct preset *p = preset_find(rules ? rules->preset : NULL);
	if (!p) {
		buf_printf(err, "no built-in rules named '%s'", rules->preset);
		return -1;
	}
	if (len > INT_MAX) {
		buf_puts(err, "page too large");
		return -1;
	}

	/* charset_conv itself lets a byte-order mark win over its hint. */
	char *cs = charset && *charset ? NULL : meta_charset(html, len);
	struct charset_conv *cv = charset_conv_new(charset && *charset ? charset : cs);
	free(cs);
	struct buf u;
	buf_init(&u);
	charset_conv_push(cv, html, len, &u);
	charset_conv_finish(cv, &u);
	charset_conv_free(cv);
	if (u.len > INT_MAX) {
		buf_free(&u);
		buf_puts(err, "page too large");
		return -1;
	}

	/* Already UTF-8: IGNORE_ENC keeps a <meta charset> from making libxml2
	 * convert it a second time. */
	htmlDocPtr doc = htmlReadMemory(u.data ? u.data : "", (int)u.len, url, "UTF-8",
					HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
						HTML_PARSE_NOWARNING | HTML_PARSE_IGNORE_ENC);
	buf_free(&u);
	if (!doc) {
		buf_puts(err, "not an article: no HTML document");
		return -1;
	}
	xmlXPathContextPtr xc = xmlXPathNewContext(doc);
	xc->error = xpath_quiet;
	struct ex x = {
		.xc = xc,
		.url = url,
		.tz = rules && rules->timezone ? rules->timezone : "Asia/Tehran",
		.date_format = rules ? rules->date_format : NULL,
		.rules = rules,
		.p = p,
		.err = err,
	};
	struct store_page *pg = xcalloc(1, sizeof *pg);
	pg->published_at = pg->modified_at = pg->published_claimed = STORE_TIME_NONE;
	int rc = extract_doc(&x, pg);
	jsonld_article_free(&x.ld);
	free(x.metas);
	xmlXPathFreeContext(xc);
	xmlFreeDoc(doc);
	if (rc != 0)
		store_page_free(pg);
	else
		*out = pg;
	return rc;
}
