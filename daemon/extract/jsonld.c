/*
 * jsonld: the article in a page's schema.org JSON-LD (see jsonld.h).
 *
 * Publishers' JSON-LD is written by templates, so every field comes in
 * several shapes: an author is a string, an object with a name, or an array
 * of either; an image a URL, an ImageObject or an array; keywords a
 * comma-separated string or an array.  Each shape is accepted and anything
 * else is skipped field by field, never failing the whole block.
 */
#include "feedd/jsonld.h"

#include "feedd/text.h"
#include "feedd/util.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Nesting json-c will parse, and how deep arrays, @graph and mainEntity are
 * searched for the article. */
#define MAX_JSON_DEPTH 32
#define MAX_SEARCH_DEPTH 8
/* An author list longer than this is a credits page, not a byline. */
#define MAX_AUTHORS 8

/* schema.org types that describe one article. */
static const char *const article_types[] = {
	"Article",
	"NewsArticle",
	"ReportageNewsArticle",
	"AnalysisNewsArticle",
	"BackgroundNewsArticle",
	"OpinionNewsArticle",
	"ReviewNewsArticle",
	"AskPublicNewsArticle",
	"SatiricalArticle",
	"BlogPosting",
	"LiveBlogPosting",
	"Report",
	"TechArticle",
	"ScholarlyArticle",
};

/* Whether a @type value names an article type; "schema:NewsArticle" and
 * "https://schema.org/NewsArticle" count too. */
static bool is_article_type_name(const char *t)
{
	const char *slash = strrchr(t, '/'), *colon = strrchr(t, ':');
	const char *name = slash && slash > (colon ? colon : t) ? slash + 1 : colon ? colon + 1 : t;
	for (size_t i = 0; i < ARRAY_LEN(article_types); i++)
		if (strcmp(name, article_types[i]) == 0)
			return true;
	return false;
}

/* Whether o's @type is, or includes, an article type. */
static bool is_article(json_object *o)
{
	json_object *t;
	if (!json_object_object_get_ex(o, "@type", &t))
		return false;
	if (json_object_is_type(t, json_type_string))
		return is_article_type_name(json_object_get_string(t));
	if (json_object_is_type(t, json_type_array))
		for (size_t i = 0; i < json_object_array_length(t); i++) {
			json_object *e = json_object_array_get_idx(t, i);
			if (json_object_is_type(e, json_type_string) &&
			    is_article_type_name(json_object_get_string(e)))
				return true;
		}
	return false;
}

/* The first article object in o, in document order, or NULL. */
static json_object *find_article(json_object *o, int depth)
{
	if (!o || depth > MAX_SEARCH_DEPTH)
		return NULL;
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			json_object *r = find_article(json_object_array_get_idx(o, i), depth + 1);
			if (r)
				return r;
		}
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object))
		return NULL;
	if (is_article(o))
		return o;
	static const char *const inner[] = {"@graph", "mainEntity"};
	for (size_t i = 0; i < ARRAY_LEN(inner); i++) {
		json_object *v;
		if (json_object_object_get_ex(o, inner[i], &v)) {
			json_object *r = find_article(v, depth + 1);
			if (r)
				return r;
		}
	}
	return NULL;
}

/* o's string value, or NULL when it is not a string. */
static const char *str(json_object *o)
{
	return json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

/* o[key] if it is a string, else NULL. */
static const char *member_str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? str(v) : NULL;
}

/* Plain text from a template's string, which may carry entities or tags;
 * NULL when nothing is left. */
static char *plain(const char *s)
{
	if (!s)
		return NULL;
	char *p = text_html_to_plain(s);
	if (!*p) {
		free(p);
		return NULL;
	}
	return p;
}

/* articleBody as one paragraph per line: markup is read as HTML, plain
 * text keeps its own line breaks. */
static char *body_text(const char *s)
{
	if (!s)
		return NULL;
	for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<'))
		if ((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z') || p[1] == '/')
			return text_html_to_paragraphs(s);
	return text_lines_to_plain(s);
}

/* An author's name: a string, or an object's name. */
static const char *author_name(json_object *o)
{
	const char *s = str(o);
	if (!s && json_object_is_type(o, json_type_object))
		s = member_str(o, "name");
	return s;
}

/* All authors' names joined with ", ". */
static char *author_text(json_object *o)
{
	if (!json_object_is_type(o, json_type_array))
		return plain(author_name(o));
	struct buf b;
	buf_init(&b);
	size_t n = json_object_array_length(o);
	for (size_t i = 0; i < n && i < MAX_AUTHORS; i++) {
		char *name = plain(author_name(json_object_array_get_idx(o, i)));
		if (!name)
			continue;
		if (b.len)
			buf_puts(&b, ", ");
		buf_puts(&b, name);
		free(name);
	}
	return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
}

/* The first image URL: a string, an ImageObject's url (or contentUrl), or
 * the first of an array that gives one. */
static char *image_url(json_object *o, int depth)
{
	if (!o || depth > 2)
		return NULL;
	const char *s = str(o);
	if (!s && json_object_is_type(o, json_type_object)) {
		s = member_str(o, "url");
		if (!s)
			s = member_str(o, "contentUrl");
	}
	if (s) {
		struct buf b;
		buf_init(&b);
		text_fold_space(s, strlen(s), &b);
		return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
	}
	if (json_object_is_type(o, json_type_array))
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			char *r = image_url(json_object_array_get_idx(o, i), depth + 1);
			if (r)
				return r;
		}
	return NULL;
}

static void add_keyword(struct jsonld_article *a, const char *s)
{
	char *k = plain(s);
	if (!k)
		return;
	a->keywords = xrealloc(a->keywords, (a->n_keywords + 1) * sizeof *a->keywords);
	a->keywords[a->n_keywords++] = k;
}

static void keywords(json_object *o, struct jsonld_article *a)
{
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			add_keyword(a, str(json_object_array_get_idx(o, i)));
	} else {
		add_keyword(a, str(o));
	}
}

/* The JSON in text, tolerating what templates wrap it in: an HTML comment
 * or CDATA markers, a trailing semicolon; NULL when it is not JSON. */
static json_object *parse(const char *text, size_t len)
{
	const char *s = text, *e = text + len;
	static const char *const open[] = {"<!--", "//<![CDATA[", "<![CDATA["};
	static const char *const close[] = {"-->", "//]]>", "]]>"};
	for (int round = 0; round < 2; round++) {
		while (s < e && strchr(" \t\r\n", *s))
			s++;
		while (e > s && strchr(" \t\r\n;", e[-1]))
			e--;
		for (size_t i = 0; i < ARRAY_LEN(open); i++) {
			size_t n = strlen(open[i]);
			if ((size_t)(e - s) >= n && memcmp(s, open[i], n) == 0)
				s += n;
		}
		for (size_t i = 0; i < ARRAY_LEN(close); i++) {
			size_t n = strlen(close[i]);
			if ((size_t)(e - s) >= n && memcmp(e - n, close[i], n) == 0)
				e -= n;
		}
	}
	if (e <= s || e - s > INT_MAX)
		return NULL;
	json_tokener *tok = json_tokener_new_ex(MAX_JSON_DEPTH);
	if (!tok)
		return NULL;
	json_object *o = json_tokener_parse_ex(tok, s, (int)(e - s));
	/* Text after the value means it was not one JSON value. */
	if (o &&
	    (json_tokener_get_error(tok) != json_tokener_success ||
	     json_tokener_get_parse_end(tok) != (size_t)(e - s))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

int jsonld_article(const char *text, size_t len, struct jsonld_article *out)
{
	memset(out, 0, sizeof *out);
	json_object *root = parse(text, len);
	json_object *art = find_article(root, 0);
	if (!art) {
		json_object_put(root);
		return -1;
	}
	json_object *v;
	out->headline = plain(member_str(art, "headline"));
	if (!out->headline)
		out->headline = plain(member_str(art, "name"));
	out->description = plain(member_str(art, "description"));
	out->body = body_text(member_str(art, "articleBody"));
	if (json_object_object_get_ex(art, "author", &v))
		out->author = author_text(v);
	if (json_object_object_get_ex(art, "image", &v))
		out->image = image_url(v, 0);
	out->published = plain(member_str(art, "datePublished"));
	out->modified = plain(member_str(art, "dateModified"));
	if (json_object_object_get_ex(art, "keywords", &v))
		keywords(v, out);
	json_object_put(root);
	return 0;
}

void jsonld_article_free(struct jsonld_article *a)
{
	free(a->headline);
	free(a->description);
	free(a->body);
	free(a->author);
	free(a->image);
	free(a->published);
	free(a->modified);
	strv_free(a->keywords, a->n_keywords);
	memset(a, 0, sizeof *a);
}
