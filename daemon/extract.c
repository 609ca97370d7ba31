/*
 * extract: article page -> struct article_page (the contract is in
 * include/feedd/extract.h).  The page is first made valid UTF-8 by the same
 * converter the feed parser uses, so libxml2 never guesses an encoding and
 * nothing invalid reaches JSON or PostgreSQL; then each field is looked up
 * by the source's xpath.FIELD, the preset's expressions, and the page's meta
 * tags, in that order.  No I/O.
 */
#include "feedd/extract.h"
#include "feedd/charset.h"
#include "feedd/date.h"
#include "feedd/newsid.h"
#include "feedd/text.h"

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

#define HAS_CLASS(c) "contains(concat(' ',normalize-space(@class),' '),' " c " ')"

/* A CMS's page structure. Each field has up to two expressions, tried in
 * turn, because one CMS's templates differ between sites and years. */
struct preset {
	const char *name;
	/* The element every article page has and a challenge or error page
	 * lacks. */
	const char *container;
	const char *news_id;   /* the element holding the "News ID:" label */
	const char *date_line; /* the visible date, in the source's time zone */
	const char *xpath[CFG_XPATH_COUNT][2];
};

static const struct preset nastooh = {
	.name = "nastooh",
	.container = "//div[" HAS_CLASS("item-body") "]//div[" HAS_CLASS("item-text") "]",
	.news_id = "//div[" HAS_CLASS("item-code") "]",
	.date_line = "//div[" HAS_CLASS("item-date") "]",
	.xpath =
		{
			[CFG_XPATH_TITLE] = {"//h1[" HAS_CLASS(
						     "title") "]//a[@itemprop='headline']",
					     "//h1[" HAS_CLASS("title") "]"},
			[CFG_XPATH_LEAD] = {"//p[" HAS_CLASS("summary") " and " HAS_CLASS(
				"introtext") "]"},
			[CFG_XPATH_BODY] = {"//div[" HAS_CLASS("item-body") "]//div[" HAS_CLASS(
				"item-text") "]//p"},
			[CFG_XPATH_TAGS] = {"//section[" HAS_CLASS("tags") "]//li//a"},
			[CFG_XPATH_IMAGE] = {"//figure[" HAS_CLASS("item-img") "]//img/@src"},
		},
};

/* The preset of that name (`irna` is what IRNA's users will look for). */
static const struct preset *preset_find(const char *name)
{
	if (!name || strcmp(name, "nastooh") == 0 || strcmp(name, "irna") == 0)
		return &nastooh;
	return NULL;
}

int extract_rules_from_source(const struct cfg_source *src, struct extract_rules *r,
			      struct buf *err)
{
	memset(r, 0, sizeof *r);
	if (src->rules && !preset_find(src->rules)) {
		buf_printf(err, "source %s: no built-in rules named '%s' (known: nastooh, irna)",
			   src->name, src->rules);
		return -1;
	}
	r->preset = src->rules;
	r->timezone = src->timezone;
	for (size_t i = 0; i < CFG_XPATH_COUNT; i++)
		r->xpath[i] = src->xpath[i];
	r->news_id_re = src->news_id.code;
	return 0;
}

void article_page_free(struct article_page *p)
{
	free(p->url);
	free(p->news_id);
	free(p->title);
	free(p->lead);
	free(p->body);
	free(p->author);
	free(p->image);
	free(p->language);
	for (size_t i = 0; i < p->n_tags; i++)
		free(p->tags[i]);
	free(p->tags);
	memset(p, 0, sizeof *p);
	p->published = EXTRACT_TIME_NONE;
}

/* The state of one extraction. */
struct ex {
	xmlXPathContextPtr xc;
	const char *url;
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

/* The node set (or string) expr selects; NULL when it selects nothing or
 * does not compile, which sets bad_xpath. */
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

/* The content of <meta attr="value">, or NULL. */
static char *meta(struct ex *x, const char *attr, const char *value)
{
	char expr[160];
	snprintf(expr, sizeof expr, "//meta[@%s='%s']/@content", attr, value);
	return first_text(x, expr, "meta");
}

/* The field's text by the source's rule, else the preset's. */
static char *field_text(struct ex *x, const struct extract_rules *rules, const struct preset *p,
			enum cfg_xpath_field f)
{
	const char *name = cfg_xpath_field_name(f);
	if (rules && rules->xpath[f])
		return first_text(x, rules->xpath[f], name);
	char *r = NULL;
	for (size_t i = 0; !r && i < 2 && p->xpath[f][i]; i++)
		r = first_text(x, p->xpath[f][i], name);
	return r;
}

/* The texts of every node the field's expression selects, in page order. */
static xmlXPathObjectPtr field_nodes(struct ex *x, const struct extract_rules *rules,
				     const struct preset *p, enum cfg_xpath_field f)
{
	const char *expr = rules && rules->xpath[f] ? rules->xpath[f] : p->xpath[f][0];
	if (!expr)
		return NULL;
	xmlXPathObjectPtr o = eval(x, expr, cfg_xpath_field_name(f));
	if (o && (o->type != XPATH_NODESET || !o->nodesetval)) {
		xmlXPathFreeObject(o);
		o = NULL;
	}
	return o;
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

/* The body, one paragraph per line, without a trailing editor code. */
static char *extract_body(struct ex *x, const struct extract_rules *rules, const struct preset *p)
{
	xmlXPathObjectPtr o = field_nodes(x, rules, p, CFG_XPATH_BODY);
	if (!o)
		return NULL;
	struct buf b;
	buf_init(&b);
	size_t last_start = 0;
	for (int i = 0; i < o->nodesetval->nodeNr; i++) {
		char *t = node_text(o->nodesetval->nodeTab[i]);
		if (!t)
			continue;
		if (b.len)
			buf_putc(&b, '\n');
		last_start = b.len;
		buf_puts(&b, t);
		free(t);
	}
	xmlXPathFreeObject(o);
	if (b.len && is_editor_code(b.data + last_start)) {
		b.len = last_start ? last_start - 1 : 0;
		b.data[b.len] = '\0';
	}
	return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
}

static void add_tag(struct article_page *a, char *t)
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

/* Tags from the tag list, else from the keywords meta (comma-separated,
 * Latin or Arabic comma). */
static void extract_tags(struct ex *x, const struct extract_rules *rules, const struct preset *p,
			 struct article_page *a)
{
	xmlXPathObjectPtr o = field_nodes(x, rules, p, CFG_XPATH_TAGS);
	for (int i = 0; o && i < o->nodesetval->nodeNr; i++)
		add_tag(a, node_text(o->nodesetval->nodeTab[i]));
	xmlXPathFreeObject(o);
	if (a->n_tags)
		return;
	char *kw = meta(x, "name", "keywords");
	if (!kw)
		return;
	char *s = kw;
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
	free(kw);
}

/* The image URL, made absolute against the page's URL. */
static char *absolute(const char *ref, const char *base)
{
	if (!ref || !base)
		return ref ? xstrdup(ref) : NULL;
	xmlChar *u = xmlBuildURI((const xmlChar *)ref, (const xmlChar *)base);
	char *r = xstrdup(u ? (const char *)u : ref);
	xmlFree(u);
	return r;
}

/* Converts a wall-clock time in zone tz to seconds since the epoch.
 *
 * glibc offers no per-call time zone, so TZ is swapped around mktime and put
 * back. That is not thread-safe and touches the process environment; it is
 * acceptable only because extraction runs on one thread (the command, the
 * daemon's loop). A worker pool would need a tz library instead. */
static int local_to_utc(const char *tz, struct tm *tm, int64_t *out)
{
	const char *cur = getenv("TZ");
	char *saved = cur ? xstrdup(cur) : NULL;
	setenv("TZ", tz, 1);
	tzset();
	tm->tm_isdst = -1;
	time_t t = mktime(tm);
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
	if (t == (time_t)-1)
		return -1;
	*out = (int64_t)t;
	return 0;
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
	return local_to_utc(tz, &tm, out);
}

/* A date by a source's rule: ISO or RFC 822 if it reads as one, else the
 * visible format in the source's zone. */
static int parse_any_date(const char *s, const char *tz, int64_t *out)
{
	return date_parse(s, out) == 0 ? 0 : parse_visible_date(s, tz, out);
}

static int64_t extract_published(struct ex *x, const struct extract_rules *rules,
				 const struct preset *p)
{
	const char *tz = rules && rules->timezone ? rules->timezone : "Asia/Tehran";
	int64_t t;
	char *s;
	if (rules && rules->xpath[CFG_XPATH_PUBLISHED]) {
		s = first_text(x, rules->xpath[CFG_XPATH_PUBLISHED], "published");
		int rc = s ? parse_any_date(s, tz, &t) : -1;
		free(s);
		if (rc == 0)
			return t;
	}
	/* The meta tag is UTC and ISO on every edition; the visible line is
	 * local, and Jalali on the Persian ones. */
	s = meta(x, "property", "article:published_time");
	int rc = s ? date_parse(s, &t) : -1;
	free(s);
	if (rc == 0)
		return t;
	s = p->date_line ? first_text(x, p->date_line, "published") : NULL;
	rc = s ? parse_visible_date(s, tz, &t) : -1;
	free(s);
	return rc == 0 ? t : EXTRACT_TIME_NONE;
}

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

/* The charset a <meta> near the top names, or NULL (then UTF-8). */
static char *meta_charset(const char *html, size_t len)
{
	size_t n = len < 1024 ? len : 1024;
	for (size_t i = 0; i + 8 < n; i++) {
		if (strncasecmp(html + i, "charset=", 8) != 0)
			continue;
		size_t j = i + 8;
		while (j < n && (html[j] == '"' || html[j] == '\''))
			j++;
		size_t k = j;
		while (k < n && (isalnum((unsigned char)html[k]) || strchr("-_:.", html[k])))
			k++;
		return k > j ? xstrndup(html + j, k - j) : NULL;
	}
	return NULL;
}

/* Checks that the page is an article and sets its news ID; 0, or -1. */
static int check_article(struct ex *x, const struct extract_rules *rules, const struct preset *p,
			 struct article_page *a)
{
	if (!(rules && rules->xpath[CFG_XPATH_BODY])) {
		xmlXPathObjectPtr o = eval(x, p->container, NULL);
		bool found =
			o && o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0;
		xmlXPathFreeObject(o);
		if (!found) {
			char *t = first_text(x, "//title", NULL);
			buf_printf(x->err,
				   "not an article: no article container (page title \"%s\")",
				   t ? t : "");
			free(t);
			return -1;
		}
	}
	char *label = p->news_id ? first_text(x, p->news_id, NULL) : NULL;
	char *page_id = label ? first_number(label) : NULL;
	char *url_id = url_news_id(a->url, rules);
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

static int extract_doc(struct ex *x, const struct extract_rules *rules, const struct preset *p,
		       struct article_page *a)
{
	a->url = x->url ? xstrdup(x->url) : NULL;
	if (!a->url) {
		char *c = first_text(x, "//link[@rel='canonical']/@href", NULL);
		a->url = c ? c : meta(x, "property", "og:url");
	}
	if (check_article(x, rules, p, a) != 0)
		return -1;

	a->title = field_text(x, rules, p, CFG_XPATH_TITLE);
	if (!a->title)
		a->title = meta(x, "property", "og:title");
	if (!a->title)
		a->title = first_text(x, "//title", NULL);
	a->lead = field_text(x, rules, p, CFG_XPATH_LEAD);
	if (!a->lead)
		a->lead = meta(x, "property", "og:description");
	if (!a->lead)
		a->lead = meta(x, "name", "description");
	a->body = extract_body(x, rules, p);
	a->author = field_text(x, rules, p, CFG_XPATH_AUTHOR);
	if (!a->author)
		a->author = meta(x, "name", "author");
	a->published = extract_published(x, rules, p);
	extract_tags(x, rules, p, a);
	char *img = field_text(x, rules, p, CFG_XPATH_IMAGE);
	if (!img)
		img = meta(x, "property", "og:image");
	a->image = absolute(img, a->url);
	free(img);
	a->language = first_text(x, "/html/@lang", NULL);
	if (x->bad_xpath)
		return -1;
	if (!a->body) {
		buf_puts(x->err, "not an article: no body text");
		return -1;
	}
	return 0;
}

int extract_page(const char *html, size_t len, const char *url, const struct extract_rules *rules,
		 struct article_page *out, struct buf *err)
{
	memset(out, 0, sizeof *out);
	out->published = EXTRACT_TIME_NONE;
	const struct preset *p = preset_find(rules ? rules->preset : NULL);
	if (!p) {
		buf_printf(err, "no built-in rules named '%s'", rules->preset);
		return -1;
	}
	if (len > INT_MAX) {
		buf_puts(err, "page too large");
		return -1;
	}

	char *cs = meta_charset(html, len);
	struct charset_conv *cv = charset_conv_new(cs);
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
	struct ex x = {.xc = xc, .url = url, .err = err};
	int rc = extract_doc(&x, rules, p, out);
	xmlXPathFreeContext(xc);
	xmlFreeDoc(doc);
	if (rc != 0)
		article_page_free(out);
	return rc;
}
