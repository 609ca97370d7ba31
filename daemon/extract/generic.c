/*
 * generic: the article body of a page without extraction rules (see
 * generic.h).
 *
 * One iterative walk over the tree turns it into block elements (with their
 * parent, extent in pre-order and class/id hint) and runs of text between
 * block boundaries (with their length, link text and punctuation).  Each
 * block that reads like prose scores the element holding it and, less,
 * that element's ancestors; the best-scoring element, discounted by its link
 * density, is the article's container.  Siblings that are mostly prose join
 * it (articles split around an ad), and its blocks are emitted less those
 * that are link lists, inside boilerplate-named elements, or short labels
 * at its edges.  Every pass is linear in the number of nodes, and nothing
 * recurses, so neither size nor depth of a hostile page matters beyond its
 * memory.
 */
#include "feedd/generic.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Below this weighted length a block is a label, not a paragraph. */
#define MIN_PARA 25
/* An article must have at least this much weighted text. */
#define MIN_BODY 100
/* Link text over total text above which a block or element is navigation. */
#define MAX_LINK_DENSITY 0.5

/* What a tag is to the walk. */
enum kind {
	K_BLOCK,  /* starts and ends a block of text; recorded */
	K_INLINE, /* part of the text around it */
	K_BREAK,  /* <br>, <hr>: ends the current block of text */
	K_SKIP,	  /* never article text: not walked into */
	K_QUIET,  /* not walked into, but does not split the text around it */
};

/* Sorted, for bsearch. */
static const char *const inline_tags[] = {
	"a",	  "abbr", "acronym", "b",    "bdi",  "bdo", "big",  "cite",  "code", "data",
	"del",	  "dfn",  "em",	     "font", "i",    "ins", "kbd",  "mark",  "nobr", "q",
	"rb",	  "rp",	  "rt",	     "rtc",  "ruby", "s",   "samp", "small", "span", "strike",
	"strong", "sub",  "sup",     "time", "tt",   "u",   "var",
};
static const char *const skip_tags[] = {
	"applet",   "aside",	  "audio",    "button", "canvas",   "datalist", "dialog",
	"embed",    "figcaption", "footer",   "frame",	"frameset", "head",	"header",
	"iframe",   "input",	  "label",    "map",	"math",	    "menu",	"meter",
	"nav",	    "object",	  "optgroup", "option", "progress", "select",	"svg",
	"template", "textarea",	  "title",    "video",
};
static const char *const quiet_tags[] = {
	"img",	  "link",   "meta",  "noscript", "param", "picture",
	"script", "source", "style", "track",	 "wbr",
};
/* Tags whose own text is one paragraph (or heading, or list item). */
static const char *const para_tags[] = {
	"address", "blockquote", "caption", "dd", "dt", "h1",  "h2", "h3",
	"h4",	   "h5",	 "h6",	    "li", "p",	"pre", "td", "th",
};

static int cmp_tag(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static bool in_table(const char *name, const char *const *table, size_t n)
{
	return bsearch(name, table, n, sizeof *table, cmp_tag) != NULL;
}

#define IN(name, table) in_table(name, table, ARRAY_LEN(table))

/* A recorded block element. Indices are in pre-order, so a subtree is the
 * range [i, end). */
struct el {
	int parent;
	int end;
	int neg;	/* deepest element at or above with a negative hint, or -1 */
	int8_t hint;	/* class/id/itemprop weight, -5..5 */
	uint8_t level;	/* 1-6 for h1-h6, else 0 */
	bool para_tag;	/* p, li, td...: its text is one paragraph */
	bool has_block; /* has a recorded child */
	bool list;	/* ul, ol, dl, li, dd, dt */
	bool top;	/* html or body */
	bool form;
	bool strong;	/* it or a descendant is named as the article's body */
	bool h1;	/* it or a descendant is an <h1> */
	unsigned prose; /* its own blocks of prose, up to 2 */
	double score;
	/* Over the subtree: weighted text, of it inside links, of it in prose. */
	double wl, link, good;
};

/* A run of text between block boundaries. */
struct block {
	int owner; /* innermost block element */
	size_t off, len;
	double wl, link;
	unsigned punct;
	bool ends_sentence;
};

struct walk {
	struct el *els;
	size_t n_els, cap_els;
	struct block *blocks;
	size_t n_blocks, cap_blocks;
	struct buf text;
	int cur;
	unsigned in_link;
	/* The block being read. */
	size_t start;
	double wl, link;
	unsigned punct;
	uint32_t last;
	bool space;
};

/* ---- text ---- */

/* Decodes one UTF-8 sequence from s[0..n), n > 0; malformed bytes read as
 * themselves, one at a time. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	if (len > n) {
		*cp = 0xFFFD;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return 1;
		}
		v = v << 6 | (s[i] & 0x3F);
	}
	*cp = v;
	return len;
}

static bool is_space(uint32_t c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0xA0 || c == 0x1680 ||
		(c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
		c == 0x205F || c == 0x3000;
}

/* How much one character says: a CJK character carries about a word, so
 * thresholds made for alphabetic text hold for Chinese and Japanese too. */
static double cp_weight(uint32_t c)
{
	if ((c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
	    (c >= 0xFF00 && c <= 0xFFEF) || (c >= 0x20000 && c <= 0x3FFFF))
		return 3;
	if (c >= 0xAC00 && c <= 0xD7AF)
		return 2;
	return 1;
}

/* Punctuation found in sentences, in Latin, Arabic, CJK and Indic
 * scripts. */
static bool is_punct(uint32_t c)
{
	switch (c) {
	case ',':
	case '.':
	case ';':
	case ':':
	case '!':
	case '?':
	case 0x037E: /* Greek question mark */
	case 0x0589: /* Armenian full stop */
	case 0x060C: /* Arabic comma */
	case 0x061B: /* Arabic semicolon */
	case 0x061F: /* Arabic question mark */
	case 0x06D4: /* Urdu full stop */
	case 0x0964: /* danda */
	case 0x0965:
	case 0x1362: /* Ethiopic full stop */
	case 0x2026: /* ellipsis */
	case 0x3001: /* ideographic comma */
	case 0x3002: /* ideographic full stop */
	case 0xFF01:
	case 0xFF0C:
	case 0xFF0E:
	case 0xFF1A:
	case 0xFF1B:
	case 0xFF1F:
		return true;
	}
	return false;
}

static bool ends_sentence(uint32_t c)
{
	return c == '.' || c == '!' || c == '?' || c == 0x037E || c == 0x0589 || c == 0x061F ||
		c == 0x06D4 || c == 0x0964 || c == 0x0965 || c == 0x1362 || c == 0x2026 ||
		c == 0x3002 || c == 0xFF01 || c == 0xFF0E || c == 0xFF1F;
}

/* Closing quotes and brackets, which may follow a sentence's full stop. */
static bool is_closer(uint32_t c)
{
	return c == '"' || c == '\'' || c == ')' || c == ']' || c == 0xAB || c == 0xBB ||
		c == 0x2019 || c == 0x201D || c == 0x300D || c == 0x300F || c == 0xFF09;
}

static void text_add(struct walk *w, const unsigned char *s)
{
	size_t n = strlen((const char *)s);
	size_t i = 0;
	while (i < n) {
		/* A run of ASCII letters and digits: the bulk of most pages. */
		size_t run = i;
		while (run < n &&
		       ((s[run] >= 'a' && s[run] <= 'z') || (s[run] >= 'A' && s[run] <= 'Z') ||
			(s[run] >= '0' && s[run] <= '9')))
			run++;
		if (run > i) {
			if (w->space)
				buf_putc(&w->text, ' ');
			w->space = false;
			buf_append(&w->text, s + i, run - i);
			w->wl += (double)(run - i);
			if (w->in_link)
				w->link += (double)(run - i);
			w->last = s[run - 1];
			i = run;
			continue;
		}
		uint32_t c;
		size_t k = utf8_next(s + i, n - i, &c);
		if (is_space(c)) {
			w->space = w->text.len > w->start;
		} else if (c != 0x200B && c != 0xFEFF) {
			if (w->space)
				buf_putc(&w->text, ' ');
			w->space = false;
			buf_append(&w->text, s + i, k);
			double cw = cp_weight(c);
			w->wl += cw;
			if (w->in_link)
				w->link += cw;
			if (is_punct(c))
				w->punct++;
			if (!is_closer(c))
				w->last = c;
		}
		i += k;
	}
}

/* Ends the block of text being read, keeping it if it has any. */
static void flush(struct walk *w)
{
	if (w->text.len > w->start && w->cur >= 0) {
		if (w->n_blocks == w->cap_blocks) {
			w->cap_blocks = w->cap_blocks ? 2 * w->cap_blocks : 256;
			w->blocks = xrealloc(w->blocks, w->cap_blocks * sizeof *w->blocks);
		}
		w->blocks[w->n_blocks++] = (struct block){
			.owner = w->cur,
			.off = w->start,
			.len = w->text.len - w->start,
			.wl = w->wl,
			.link = w->link,
			.punct = w->punct,
			.ends_sentence = ends_sentence(w->last),
		};
		w->start = w->text.len;
	} else if (w->text.data) {
		w->text.len = w->start;
		w->text.data[w->text.len] = '\0';
	}
	w->wl = w->link = 0;
	w->punct = 0;
	w->last = 0;
	w->space = false;
}

/* ---- class and id names ---- */

/* Names of the article's own container: +3. Matched in the name with
 * separators removed ("article__body", "articleBody"). */
static const char *const strong_pos[] = {
	"articlebody",	"articlecontent", "articletext", "bodytext",	"contentbody", "entrybody",
	"entrycontent", "entrytext",	  "itembody",	 "itemtext",	"maintext",    "newsbody",
	"newscontent",	"newstext",	  "postbody",	 "postcontent", "posttext",    "richtext",
	"storybody",	"storycontent",	  "storytext",	 "textbody",
};
/* Names that suggest content: +1. */
static const char *const pos[] = {
	"article", "blog", "body", "content", "entry", "main", "post", "prose", "story", "text",
};
/* Names of boilerplate: -3; an element weighing -2 or less is left out
 * with all it holds. */
static const char *const strong_neg[] = {
	"advert",     "alsoread",  "author",   "banner",    "breadcrumb", "byline",	"caption",
	"comment",    "consent",   "cookie",   "credit",    "discuss",	  "disqus",	"donate",
	"follow",     "footer",	   "gdpr",     "headlines", "latest",	  "login",	"masthead",
	"menu",	      "modal",	   "mostread", "navbar",    "navigation", "newsletter", "outbrain",
	"pagination", "pager",	   "paywall",  "popular",   "popup",	  "promo",	"readalso",
	"readmore",   "recommend", "related",  "reply",	    "respond",	  "seealso",	"share",
	"sharing",    "sidebar",   "signup",   "skiplink",  "social",	  "sponsor",	"stories",
	"subscri",    "taboola",   "tagcloud", "taglist",   "ticker",	  "toolbar",	"trending",
	"widget",
};
/* Names of page furniture that may still sit beside the text: -1, which
 * lowers a container's score but leaves its text alone. */
static const char *const weak_neg[] = {
	"aside", "dateline", "header", "links", "meta", "teaser", "tools", "utility",
};
/* Whole words (split at separators and camelCase humps) of boilerplate. */
static const char *const neg_words[] = {
	"ad", "ads", "adsense", "adv", "cta", "dfp", "nav", "print",
};
static const char *const weak_words[] = {
	"bio", "date", "more", "tag", "tags", "time",
};
/* Whole class names of text hidden from sighted readers. */
static const char *const hidden_names[] = {
	"element-invisible",
	"hidden",
	"hide",
	"invisible",
	"screen-reader-text",
	"screenreader-only",
	"sr-only",
	"visually-hidden",
	"visuallyhidden",
};
/* Class prefixes that name a post's tags and states, not the element:
 * WordPress puts "tag-cookies" or "category-social" on the article
 * itself. */
static const char *const state_prefixes[] = {
	"cat-",	     "category-", "format-", "has-", "is-",   "no-",
	"post_tag-", "postid-",	  "status-", "tag-", "type-", "with-",
};

static bool contains_any(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(s, list[i]))
			return true;
	return false;
}

static bool equals_any(const char *s, size_t len, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && strncmp(s, list[i], len) == 0)
			return true;
	return false;
}

#define CONTAINS(s, list) contains_any(s, list, ARRAY_LEN(list))

/* The weight of one class name or id, s[0..n); sets *hidden for names of
 * hidden text. */
static int name_weight(const char *s, size_t n, bool *hidden)
{
	/* words gets a space before a letter at most once per letter: twice
	 * the room of the name. */
	char lower[96], joined[96], words[2 * 96];
	if (n >= sizeof lower)
		n = sizeof lower - 1;
	size_t nj = 0, nw = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		char lc = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		lower[i] = lc;
		bool alnum = (lc >= 'a' && lc <= 'z') || (lc >= '0' && lc <= '9');
		if (alnum)
			joined[nj++] = lc;
		/* Words split at separators and at a lower-to-upper hump. */
		if (!alnum ||
		    (i > 0 && c >= 'A' && c <= 'Z' && s[i - 1] >= 'a' && s[i - 1] <= 'z')) {
			if (nw && words[nw - 1] != ' ')
				words[nw++] = ' ';
		}
		if (alnum)
			words[nw++] = lc;
	}
	lower[n] = '\0';
	joined[nj] = '\0';
	words[nw] = '\0';

	if (equals_any(lower, n, hidden_names, ARRAY_LEN(hidden_names))) {
		*hidden = true;
		return -3;
	}
	for (size_t i = 0; i < ARRAY_LEN(state_prefixes); i++)
		if (strncmp(lower, state_prefixes[i], strlen(state_prefixes[i])) == 0)
			return 0;

	int weight = 0;
	if (CONTAINS(joined, strong_pos))
		weight += 3;
	else if (CONTAINS(joined, pos))
		weight += 1;
	bool strong = CONTAINS(joined, strong_neg), weak = CONTAINS(joined, weak_neg);
	for (const char *p = words; *p && !strong;) {
		size_t k = strcspn(p, " ");
		if (equals_any(p, k, neg_words, ARRAY_LEN(neg_words)))
			strong = true;
		else if (equals_any(p, k, weak_words, ARRAY_LEN(weak_words)))
			weak = true;
		p += k;
		p += *p == ' ';
	}
	if (strong)
		weight -= 3;
	else if (weak)
		weight -= 1;
	return weight;
}

/* An attribute's value as parsed (no copy), or NULL. */
static const char *attr(const xmlNode *n, const char *name)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		if (a->name && strcmp((const char *)a->name, name) == 0) {
			const xmlNode *t = a->children;
			return t && t->type == XML_TEXT_NODE && t->content
				? (const char *)t->content
				: "";
		}
	}
	return NULL;
}

/* Whether the style attribute hides the element. */
static bool style_hidden(const char *style)
{
	char c[64];
	size_t k = 0;
	for (const char *p = style; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n')
			continue;
		c[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		if (k == sizeof c - 1 || *p == ';') {
			c[k] = '\0';
			if (strstr(c, "display:none") || strstr(c, "visibility:hidden"))
				return true;
			k = 0;
		}
	}
	c[k] = '\0';
	return strstr(c, "display:none") || strstr(c, "visibility:hidden");
}

/* The element's hint from class, id, itemprop and role; sets *hidden for
 * elements a browser would not show. */
static int element_hint(const xmlNode *n, bool *hidden)
{
	*hidden = false;
	const char *v;
	if (attr(n, "hidden"))
		*hidden = true;
	if ((v = attr(n, "aria-hidden")) && strcmp(v, "true") == 0)
		*hidden = true;
	if ((v = attr(n, "style")) && style_hidden(v))
		*hidden = true;
	int h = 0;
	if ((v = attr(n, "role"))) {
		static const char *const away[] = {
			"alertdialog", "banner",  "complementary", "contentinfo", "dialog",
			"menu",	       "menubar", "navigation",	   "search",	  "toolbar",
		};
		for (size_t i = 0; i < ARRAY_LEN(away); i++)
			if (strcmp(v, away[i]) == 0)
				*hidden = true;
		if (strcmp(v, "main") == 0 || strcmp(v, "article") == 0)
			h += 1;
	}
	if ((v = attr(n, "itemprop"))) {
		if (strstr(v, "articleBody") || strcmp(v, "text") == 0 || strstr(v, "reviewBody"))
			h += 5;
		else if (strstr(v, "comment"))
			h -= 3;
	}
	if ((v = attr(n, "id")))
		h += name_weight(v, strlen(v), hidden);
	if ((v = attr(n, "class"))) {
		int best = 0, worst = 0;
		while (*v) {
			size_t k = strcspn(v, " \t\n\r\f");
			if (k) {
				int wt = name_weight(v, k, hidden);
				best = wt > best ? wt : best;
				worst = wt < worst ? wt : worst;
			}
			v += k;
			v += strspn(v, " \t\n\r\f");
		}
		/* "entry-content post-body" is one hint, not two. */
		h += best + worst;
	}
	return h < -5 ? -5 : h > 5 ? 5 : h;
}

/* ---- the walk ---- */

static enum kind tag_kind(const char *name)
{
	if (IN(name, inline_tags))
		return K_INLINE;
	if (strcmp(name, "br") == 0 || strcmp(name, "hr") == 0)
		return K_BREAK;
	if (IN(name, quiet_tags))
		return K_QUIET;
	if (IN(name, skip_tags))
		return K_SKIP;
	return K_BLOCK;
}

static int record(struct walk *w, const char *name, int hint)
{
	if (w->n_els == w->cap_els) {
		w->cap_els = w->cap_els ? 2 * w->cap_els : 256;
		w->els = xrealloc(w->els, w->cap_els * sizeof *w->els);
	}
	int i = (int)w->n_els++;
	struct el *e = &w->els[i];
	memset(e, 0, sizeof *e);
	e->parent = w->cur;
	e->end = i + 1;
	e->hint = (int8_t)hint;
	e->para_tag = IN(name, para_tags);
	if (name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && !name[2])
		e->level = (uint8_t)(name[1] - '0');
	e->list = strcmp(name, "ul") == 0 || strcmp(name, "ol") == 0 || strcmp(name, "dl") == 0 ||
		strcmp(name, "li") == 0 || strcmp(name, "dd") == 0 || strcmp(name, "dt") == 0;
	e->top = strcmp(name, "html") == 0 || strcmp(name, "body") == 0;
	e->form = strcmp(name, "form") == 0;
	if (w->cur >= 0)
		w->els[w->cur].has_block = true;
	return i;
}

/* Called on an element's start; whether to walk into it. */
static bool enter(struct walk *w, const xmlNode *n)
{
	const char *name = (const char *)n->name;
	enum kind k = tag_kind(name);
	if (k == K_QUIET)
		return false;
	if (k == K_BREAK || k == K_SKIP) {
		flush(w);
		return false;
	}
	bool hidden;
	int hint = element_hint(n, &hidden);
	if (k == K_INLINE) {
		/* A "share" or "caption" span is left out, but does not split
		 * the sentence around it. */
		if (hidden || hint <= -3)
			return false;
		if (name[0] == 'a' && !name[1])
			w->in_link++;
		return true;
	}
	flush(w);
	if (hidden)
		return false;
	/* html, body and main are never boilerplate, whatever their class. */
	if (hint < 0 &&
	    (strcmp(name, "html") == 0 || strcmp(name, "body") == 0 || strcmp(name, "main") == 0))
		hint = 0;
	w->cur = record(w, name, hint);
	return true;
}

/* Called on the end of an element that enter() walked into. */
static void leave(struct walk *w, const xmlNode *n)
{
	const char *name = (const char *)n->name;
	if (tag_kind(name) == K_INLINE) {
		if (name[0] == 'a' && !name[1] && w->in_link)
			w->in_link--;
		return;
	}
	flush(w);
	w->els[w->cur].end = (int)w->n_els;
	w->cur = w->els[w->cur].parent;
}

static void walk_tree(struct walk *w, xmlNodePtr root)
{
	xmlNodePtr n = root;
	for (;;) {
		bool down = false;
		if (n->type == XML_ELEMENT_NODE)
			down = enter(w, n);
		else if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
			 n->content)
			text_add(w, n->content);
		if (down && n->children) {
			n = n->children;
			continue;
		}
		if (down)
			leave(w, n);
		while (n != root && !n->next) {
			n = n->parent;
			leave(w, n);
		}
		if (n == root)
			break;
		n = n->next;
	}
	flush(w);
}

/* ---- choosing the container ---- */

static double density(double link, double wl)
{
	return wl > 0 ? link / wl : 0;
}

/* Whether a block reads as a paragraph of prose. */
static bool prose(const struct block *b)
{
	return b->wl >= MIN_PARA && density(b->link, b->wl) < MAX_LINK_DENSITY;
}

/* Whether a block is surely article text, not a label. */
static bool text_like(const struct block *b)
{
	return density(b->link, b->wl) < MAX_LINK_DENSITY &&
		((b->wl >= 40 && b->ends_sentence) || b->wl >= 120);
}

/* Whether a block is cut off by a boilerplate element under root. */
static bool under_neg(const struct walk *w, int owner, int root)
{
	int ng = w->els[owner].neg;
	return ng >= 0 && (root < 0 || ng > root);
}

/* Scores the elements holding prose and sums text over subtrees; blocks
 * under boilerplate names count only when use_hints is false. */
static void score(struct walk *w, bool use_hints)
{
	for (size_t i = 0; i < w->n_els; i++) {
		struct el *e = &w->els[i];
		e->score = 0;
		e->wl = e->link = e->good = 0;
	}
	for (size_t i = 0; i < w->n_blocks; i++) {
		const struct block *b = &w->blocks[i];
		struct el *o = &w->els[b->owner];
		o->wl += b->wl;
		o->link += b->link;
		if (!prose(b) || (use_hints && under_neg(w, b->owner, -1)))
			continue;
		o->good += b->wl;
		double ld = density(b->link, b->wl);
		double len = b->wl < 500 ? b->wl : 500;
		double s = (1 + (b->punct < 6 ? b->punct : 6) * 0.5 + len / 100) * (1 - ld);
		/* A paragraph scores its container, the container's ancestors
		 * less and less; an element with paragraphs split by <br> is
		 * a container itself. */
		bool para = (o->para_tag || !o->has_block) && o->prose < 2;
		int at = para ? o->parent : b->owner;
		static const double share[] = {1, 0.5, 1.0 / 6};
		for (size_t k = 0; k < ARRAY_LEN(share) && at >= 0; k++) {
			w->els[at].score += s * share[k];
			at = w->els[at].parent;
		}
	}
	for (size_t i = w->n_els; i-- > 1;) {
		struct el *e = &w->els[i];
		if (e->parent < 0)
			continue;
		struct el *p = &w->els[e->parent];
		p->wl += e->wl;
		p->link += e->link;
		p->good += e->good;
	}
}

/* The element with the best score, or -1. */
static int best_candidate(const struct walk *w)
{
	int best = -1;
	double best_score = 0;
	for (size_t i = 0; i < w->n_els; i++) {
		const struct el *e = &w->els[i];
		if (e->score <= 0)
			continue;
		double s = e->score + 4.0 * e->hint;
		if (e->list)
			s -= 3;
		if (e->level)
			s -= 5;
		if (e->form || e->top)
			s -= 3;
		s *= 1 - density(e->link, e->wl);
		if (s > best_score) {
			best_score = s;
			best = (int)i;
		}
	}
	return best;
}

/* Whether sibling c of the container is more of the article: mostly prose,
 * few links, no boilerplate name. */
static bool article_sibling(const struct walk *w, int c)
{
	const struct el *e = &w->els[c];
	if (e->neg == c || e->good <= 0 || e->level == 1)
		return false;
	return e->good >= 0.6 * e->wl && e->link < 0.25 * e->wl;
}

/* Marks in sel[] the subtrees that make the article: the container and
 * its prose siblings (with headings between them); returns the container's
 * parent, whose own prose counts too, or -1. */
static int select_roots(const struct walk *w, int *topp, bool *sel)
{
	int top = *topp;
	/* Wrappers adding no prose and next to no text are the same
	 * container; climbing through them reaches the level where split
	 * parts are siblings. */
	for (;;) {
		int p = w->els[top].parent;
		if (p < 0 || w->els[p].top)
			break;
		if (w->els[p].good > w->els[top].good ||
		    w->els[p].wl - w->els[top].wl > 0.1 * w->els[top].wl)
			break;
		top = p;
	}
	*topp = top;
	sel[top] = true;
	int p = w->els[top].parent;
	if (p < 0)
		return -1;
	int prev_in = -1, heading = -1;
	for (int c = p + 1; c < w->els[p].end; c = w->els[c].end) {
		/* After the article, a title starts the next one (pages that
		 * load the next story below). */
		bool in = c == top || (article_sibling(w, c) && !(c > top && w->els[c].h1));
		if (in) {
			sel[c] = true;
			if (heading >= 0 && prev_in >= 0)
				sel[heading] = true;
			prev_in = c;
			heading = -1;
		} else if (w->els[c].level >= 2 && w->els[c].neg != c) {
			heading = c;
		} else if (w->els[c].wl > 0) {
			heading = -1;
		}
	}
	return p;
}

/* ---- emitting ---- */

/* Labels that are boilerplate when they stand alone and short. */
static const char *const label_words[] = {
	"advertisement", "all rights reserved", "back to top", "click here", "comments",
	"copyright", "e-mail", "email", "facebook", "follow us", "linkedin", "loading", "log in",
	"newsletter", "next article", "pinterest", "previous article", "print", "read also",
	"read more", "related", "reply", "see also", "share", "sign up", "subscribe",
	"tags:", "telegram", "tweet", "whatsapp",
	/* Persian, Arabic */
	"\330\247\330\264\330\252\330\261\330\247\332\251",	    /* اشتراک */
	"\330\252\330\250\331\204\333\214\330\272",		    /* تبلیغ */
	"\330\250\330\256\331\210\330\247\331\206\333\214\330\257", /* بخوانید */
	"\331\206\330\270\330\261\330\247\330\252",		    /* نظرات */
	"\330\250\330\261\332\206\330\263\330\250",		    /* برچسب */
	"\330\264\330\247\330\261\331\203",			    /* شارك */
	"\330\245\330\271\331\204\330\247\331\206",		    /* إعلان */
	"\330\247\331\202\330\261\330\243",			    /* اقرأ */
	"\330\247\331\204\330\252\330\271\331\204\331\212\331\202\330\247\330\252", /* التعليقات */
	/* Russian */
	"\320\237\320\276\320\264\320\265\320\273\320\270\321\202\321\214\321\201\321\217", /* Поделиться */
	"\320\240\320\265\320\272\320\273\320\260\320\274\320\260", /* Реклама */
	"\321\200\320\265\320\272\320\273\320\260\320\274\320\260", /* реклама */
	"\320\247\320\270\321\202\320\260\320\271\321\202\320\265", /* Читайте */
	"\320\232\320\276\320\274\320\274\320\265\320\275\321\202\320\260\321\200", /* Комментар */
	"\320\237\320\276\320\264\320\277\320\270\321\201", /* Подпис */
	"\320\242\320\265\320\263\320\270",		    /* Теги */
	/* Chinese, Japanese */
	"\345\210\206\344\272\253",			    /* 分享 */
	"\345\271\277\345\221\212",			    /* 广告 */
	"\345\273\243\345\221\212",			    /* 廣告 */
	"\347\233\270\345\205\263",			    /* 相关 */
	"\347\233\270\351\227\234",			    /* 相關 */
	"\350\257\204\350\256\272",			    /* 评论 */
	"\350\251\225\350\253\226",			    /* 評論 */
	"\350\264\243\344\273\273\347\274\226\350\276\221", /* 责任编辑 */
	"\350\262\254\344\273\273\347\267\250\350\274\257", /* 責任編輯 */
	"\343\202\267\343\202\247\343\202\242",		    /* シェア */
	"\345\272\203\345\221\212",			    /* 広告 */
	"\343\202\263\343\203\241\343\203\263\343\203\210", /* コメント */
};
/* Marks that end an article's copy however the line is punctuated. */
static const char *const footer_marks[] = {
	"\302\251", /* © */
	"copyright",	 "all rights reserved",
	"advertisement", "\350\264\243\344\273\273\347\274\226\350\276\221", /* 责任编辑 */
};

/* Finds needle in s[0..n), ASCII letters of s compared in lower case. */
static bool has_label(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++) {
		size_t j = 0;
		while (j < k) {
			char c = s[i + j];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != needle[j])
				break;
			j++;
		}
		if (j == k)
			return true;
	}
	return false;
}

static bool is_label(const struct walk *w, const struct block *b)
{
	if (b->wl >= 60)
		return false;
	const char *s = w->text.data + b->off;
	for (size_t i = 0; i < ARRAY_LEN(footer_marks); i++)
		if (has_label(s, b->len, footer_marks[i]))
			return true;
	if (b->ends_sentence)
		return false;
	for (size_t i = 0; i < ARRAY_LEN(label_words); i++)
		if (has_label(s, b->len, label_words[i]))
			return true;
	return false;
}

/* Chooses the blocks of the article into keep[]; returns how many. */
static size_t choose_blocks(struct walk *w, const bool *sel, int top, int parent, bool *keep)
{
	/* root[i]: the selected subtree holding element i, or -1; drop[i]:
	 * whether i sits in a link list or boilerplate inside it. */
	int *root = xmalloc(w->n_els * sizeof *root);
	bool *drop = xcalloc(w->n_els, sizeof *drop);
	for (size_t i = 0; i < w->n_els; i++) {
		const struct el *e = &w->els[i];
		if (sel[i]) {
			root[i] = (int)i;
			continue;
		}
		root[i] = e->parent >= 0 ? root[e->parent] : -1;
		if (root[i] < 0)
			continue;
		drop[i] = drop[e->parent] || under_neg(w, (int)i, root[i]) ||
			density(e->link, e->wl) > MAX_LINK_DENSITY || e->level == 1;
	}
	size_t n = 0;
	for (size_t i = 0; i < w->n_blocks; i++) {
		const struct block *b = &w->blocks[i];
		int o = b->owner;
		bool in;
		const struct el *e = &w->els[o];
		if (o == parent)
			in = text_like(b) && density(b->link, b->wl) < 0.25;
		else if (root[o] >= 0 && root[o] != top)
			/* A sibling holding a lead or the article's next part
			 * also holds its byline and date: only its sentences
			 * and headings count. */
			in = !drop[o] && (text_like(b) || b->ends_sentence || e->level || e->list);
		else
			in = root[o] >= 0 && !drop[o];
		in = in && density(b->link, b->wl) <= MAX_LINK_DENSITY && !is_label(w, b);
		keep[i] = in;
		n += in;
	}
	free(root);
	free(drop);

	/* Bylines, dates and "share" labels gather at the edges of the copy;
	 * a short line there goes unless it ends a sentence. */
	size_t first = SIZE_MAX, last = 0;
	for (size_t i = 0; i < w->n_blocks; i++) {
		if (keep[i] && text_like(&w->blocks[i])) {
			if (first == SIZE_MAX)
				first = i;
			last = i;
		}
	}
	if (first == SIZE_MAX) {
		memset(keep, 0, w->n_blocks * sizeof *keep);
		return 0;
	}
	for (size_t i = 0; i < w->n_blocks; i++) {
		const struct block *b = &w->blocks[i];
		if (!keep[i] || (i >= first && i <= last))
			continue;
		bool list_item = w->els[b->owner].list && b->link == 0;
		bool sentence = b->ends_sentence && b->link == 0 && !w->els[b->owner].level;
		if (i < first ? !sentence : !(sentence || list_item)) {
			keep[i] = false;
			n--;
		}
	}
	return n;
}

/* The article with hints (or, if they leave nothing, without) into body;
 * 0, or -1. */
static int extract(struct walk *w, struct buf *body)
{
	bool *sel = xcalloc(w->n_els ? w->n_els : 1, sizeof *sel);
	bool *keep = xcalloc(w->n_blocks ? w->n_blocks : 1, sizeof *keep);
	int rc = -1;
	/* Without hints only when they left no prose at all: a page whose
	 * whole layout has a name that reads as boilerplate. */
	for (int pass = 0; pass < 2; pass++) {
		score(w, pass == 0);
		int top = best_candidate(w);
		if (top < 0)
			continue;
		memset(sel, 0, w->n_els * sizeof *sel);
		int parent = select_roots(w, &top, sel);
		if (choose_blocks(w, sel, top, parent, keep) == 0)
			continue;
		double total = 0;
		buf_reset(body);
		for (size_t i = 0; i < w->n_blocks; i++) {
			if (!keep[i])
				continue;
			const struct block *b = &w->blocks[i];
			if (body->len)
				buf_puts(body, "\n\n");
			buf_append(body, w->text.data + b->off, b->len);
			total += b->wl;
		}
		if (total >= MIN_BODY)
			rc = 0;
		else
			buf_reset(body);
		break;
	}
	free(sel);
	free(keep);
	return rc;
}

int generic_body(xmlDocPtr doc, struct buf *body)
{
	buf_reset(body);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root)
		return -1;
	struct walk w;
	memset(&w, 0, sizeof w);
	buf_init(&w.text);
	w.cur = -1;
	walk_tree(&w, root);

	/* Boilerplate names count unless the article's own container is
	 * inside ("content-sidebar-wrap" around "entry-content"). */
	for (size_t i = w.n_els; i-- > 0;) {
		struct el *e = &w.els[i];
		if (e->hint >= 3)
			e->strong = true;
		if (e->level == 1)
			e->h1 = true;
		if (e->parent >= 0) {
			w.els[e->parent].strong |= e->strong;
			w.els[e->parent].h1 |= e->h1;
		}
	}
	for (size_t i = 0; i < w.n_els; i++) {
		struct el *e = &w.els[i];
		bool neg = e->hint <= -2 && !e->strong;
		e->neg = neg ? (int)i : e->parent >= 0 ? w.els[e->parent].neg : -1;
	}
	for (size_t i = 0; i < w.n_blocks; i++) {
		struct el *o = &w.els[w.blocks[i].owner];
		if (prose(&w.blocks[i]) && o->prose < 2)
			o->prose++;
	}
	int rc = w.n_blocks ? extract(&w, body) : -1;
	free(w.els);
	free(w.blocks);
	buf_free(&w.text);
	return rc;
}
