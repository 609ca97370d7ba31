/*
 * xmlfix: the repair pass before libxml2 (the contract is in
 * include/feedd/xmlfix.h).
 *
 * A state machine over bytes (text, tag, CDATA, comment, PI, DOCTYPE) that
 * copies runs of ordinary bytes whole and looks only at the bytes its state
 * cares about, which a table per state picks out.  Where the meaning of a
 * byte depends on what follows ("&am" at the end of a push, "<![CD"), the
 * rest is held back until more input or the end of the document decides.
 */
#include "feedd/xmlfix.h"

#include "feedd/charset.h"
#include "feedd/text.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How far ahead xmlfix may need to look: "<![CDATA[" or an entity name. */
#define FIX_LOOKAHEAD 40
/* The size at which CDATA is split. */
#define FIX_CDATA_SPLIT ((size_t)4 << 20)
/* What a step returns when it needs more input than there is. */
#define FIX_HOLD SIZE_MAX

static const char u_fffd[] = "\xEF\xBF\xBD";

/* Copies one character at s (UTF-8, valid) to out, replacing those XML 1.0
 * forbids; returns its length. */
static size_t fix_char(const char *s, struct buf *out)
{
	unsigned char c = (unsigned char)s[0];
	if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
		buf_append(out, u_fffd, 3);
		return 1;
	}
	if (c == 0xEF && (unsigned char)s[1] == 0xBF &&
	    ((unsigned char)s[2] == 0xBE || (unsigned char)s[2] == 0xBF)) {
		buf_append(out, u_fffd, 3); /* U+FFFE, U+FFFF */
		return 3;
	}
	buf_putc(out, s[0]);
	return 1;
}

/* cp if XML allows that character, else U+FFFD. */
static uint32_t xml_char(uint32_t cp)
{
	if (cp == 0 || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF || cp > 0x10FFFF)
		return 0xFFFD;
	return cp;
}

/* Is s (an '&' and what follows, len bytes so far) short of input rather
 * than not a reference: no ';' yet and only name or number characters? */
static bool name_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		c == '_' || c == '-' || c == '.' || c == ':' || (unsigned char)c >= 0x80;
}

static bool may_become_reference(const char *s, size_t len)
{
	if (len >= FIX_LOOKAHEAD || memchr(s + 1, ';', len - 1))
		return false;
	size_t i = 1;
	while (i < len && (s[i] == '#' || name_char(s[i])))
		i++;
	return i == len;
}

/* Orders entities by name (byte order), for the binary search below: a
 * document of millions of references must not compare each with every
 * declared name. */
static int entity_cmp(const void *a, const void *b)
{
	return strcmp(((const struct xmlfix_entity *)a)->name,
		      ((const struct xmlfix_entity *)b)->name);
}

/* The internal entity whose reference "&name;" starts s (len bytes), and
 * the reference's length in *n; NULL when there is none of that name. */
static const struct xmlfix_entity *internal_entity(const struct xmlfix *x, const char *s,
						   size_t len, size_t *n)
{
	if (!x->n_ents || len < 3)
		return NULL;
	size_t i = 1;
	while (i < len && i < FIX_LOOKAHEAD && name_char(s[i]))
		i++;
	if (i == 1 || i >= len || s[i] != ';')
		return NULL;
	char name[FIX_LOOKAHEAD];
	memcpy(name, s + 1, i - 1);
	name[i - 1] = '\0';
	struct xmlfix_entity key = {.name = name};
	const struct xmlfix_entity *e =
		bsearch(&key, x->ents, x->n_ents, sizeof *x->ents, entity_cmp);
	if (e)
		*n = i + 1;
	return e;
}

/* Whether e's value may still be expanded (and counts it if so). */
static bool expansion_room(struct xmlfix *x, const struct xmlfix_entity *e)
{
	if (x->expanded + e->value_len > XMLFIX_MAX_EXPANSION) {
		x->entities_capped = true;
		return false;
	}
	x->expanded += e->value_len;
	return true;
}

/* An '&' inside a tag (an attribute value): a valid reference becomes numeric, an internal
 * entity's its value (with '&', '<' and quotes as references), anything else is escaped.
 * Returns bytes consumed, or 0 if more input is needed. */
static size_t fix_amp(struct xmlfix *x, const char *s, size_t len, bool final, struct buf *out)
{
	uint32_t cp;
	size_t n = text_entity(s, len, &cp);
	const struct xmlfix_entity *ie = n ? NULL : internal_entity(x, s, len, &n);
	if (ie) {
		if (!expansion_room(x, ie)) {
			buf_puts(out, "&#38;");
			return 1;
		}
		for (size_t i = 0; i < ie->value_len; i++) {
			char c = ie->value[i];
			if (c == '&' || c == '<' || c == '"' || c == '\'')
				buf_printf(out, "&#%d;", c);
			else
				buf_putc(out, c);
		}
		return n;
	}
	if (n) {
		cp = xml_char(cp);
		/* "&#N;" without printf: this runs for every entity. */
		char num[16], *e = num + sizeof num;
		*--e = ';';
		do {
			*--e = (char)('0' + cp % 10);
			cp /= 10;
		} while (cp);
		*--e = '#';
		*--e = '&';
		buf_append(out, e, (size_t)(num + sizeof num - e));
		return n;
	}
	/* Not a known reference: wait if it might still become one. */
	if (!final && may_become_reference(s, len))
		return 0;
	buf_puts(out, "&#38;");
	return 1;
}

/* Can c follow '<' in well-formed markup? */
static bool tag_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
		c == '/' || c == '!' || c == '?' || (unsigned char)c >= 0x80;
}

static bool starts(const char *s, size_t len, const char *lit, size_t litlen)
{
	return len >= litlen && memcmp(s, lit, litlen) == 0;
}

/* Which bytes xmlfix must look at on their own, per state (and for tags,
 * per quote); every other byte is copied as part of a run.  Built once. */
enum { FT_TEXT, FT_TAG, FT_TAG_DQ, FT_TAG_SQ, FT_CDATA, FT_COMMENT, FT_PI, FT_DOCTYPE, FT_N };
static bool fix_table[FT_N][256];

static void fix_tables_init(void)
{
	static const char *const specials[FT_N] = {
		[FT_TEXT] = "&<]", [FT_TAG] = "\"'=><&", [FT_TAG_DQ] = "\"&", [FT_TAG_SQ] = "'&",
		[FT_CDATA] = "]",  [FT_COMMENT] = "-",	 [FT_PI] = "?",
	};
	for (int t = 0; t < FT_N; t++) {
		for (int c = 0; c < 256; c++)
			fix_table[t][c] = t == FT_DOCTYPE ||
				(c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0xEF;
		for (const char *q = specials[t]; q && *q; q++)
			fix_table[t][(unsigned char)*q] = true;
	}
}

static const bool *fix_specials(const struct xmlfix *x)
{
	switch (x->state) {
	case XMLFIX_TEXT:
		return fix_table[FT_TEXT];
	case XMLFIX_TAG:
		return fix_table[x->tag_quote == '"'		? FT_TAG_DQ
					 : x->tag_quote == '\'' ? FT_TAG_SQ
								: FT_TAG];
	case XMLFIX_CDATA:
		return fix_table[FT_CDATA];
	case XMLFIX_COMMENT:
		return fix_table[FT_COMMENT];
	case XMLFIX_PI:
		return fix_table[FT_PI];
	case XMLFIX_DOCTYPE:
		break;
	}
	return fix_table[FT_DOCTYPE];
}

/* Appends a run of CDATA text, ending the section and opening a new one
 * every FIX_CDATA_SPLIT bytes: libxml2 (without XML_PARSE_HUGE, which we
 * never set) refuses a CDATA section over 10 MB, and the capture joins the
 * pieces again. */
static void cdata_run(struct xmlfix *x, const char *s, size_t n)
{
	while (x->cdata_len + n > FIX_CDATA_SPLIT) {
		size_t room = charset_utf8_boundary(s, FIX_CDATA_SPLIT - x->cdata_len);
		if (room == 0 && x->cdata_len == 0)
			room = n; /* cannot happen with valid UTF-8; never loop */
		buf_append(&x->fixed, s, room);
		buf_puts(&x->fixed, "]]><![CDATA[");
		s += room;
		n -= room;
		x->cdata_len = 0;
	}
	buf_append(&x->fixed, s, n);
	x->cdata_len += n;
}

/* The general entities the DOCTYPE's text (x->dtd) declares with a literal
 * value: <!ENTITY name "value">.  Parameter entities, external ones
 * (SYSTEM, PUBLIC) and declarations inside comments are skipped; the first
 * declaration of a name wins, as in XML.  A value's character references
 * and the predefined and HTML entities in it are decoded; references to
 * other internal entities stay as they are (no recursion, so no bomb). */
static void read_entities(struct xmlfix *x)
{
	const char *s = buf_str(&x->dtd);
	size_t len = x->dtd.len, i = 0;
	while (i < len && x->n_ents < XMLFIX_MAX_ENTITIES) {
		if (starts(s + i, len - i, "<!--", 4)) {
			const char *e = strstr(s + i + 4, "-->");
			i = e ? (size_t)(e - s) + 3 : len;
			continue;
		}
		if (!starts(s + i, len - i, "<!ENTITY", 8)) {
			i++;
			continue;
		}
		i += 8;
		size_t j = i;
		while (j < len && strchr(" \t\r\n", s[j]))
			j++;
		if (j == i || j >= len || s[j] == '%')
			continue;
		size_t name = j;
		while (j < len && name_char(s[j]))
			j++;
		size_t name_len = j - name;
		while (j < len && strchr(" \t\r\n", s[j]))
			j++;
		if (name_len == 0 || name_len >= FIX_LOOKAHEAD - 2 || j >= len ||
		    (s[j] != '"' && s[j] != '\''))
			continue; /* SYSTEM, PUBLIC, or not a declaration */
		const char *end = memchr(s + j + 1, s[j], len - j - 1);
		if (!end)
			break;
		bool known = false;
		for (size_t k = 0; k < x->n_ents && !known; k++)
			known = strlen(x->ents[k].name) == name_len &&
				memcmp(x->ents[k].name, s + name, name_len) == 0;
		if (!known) {
			struct buf v;
			buf_init(&v);
			for (const char *c = s + j + 1; c < end;) {
				uint32_t cp;
				size_t n = *c == '&' ? text_entity(c, (size_t)(end - c), &cp) : 0;
				if (n) {
					text_put_utf8(&v, xml_char(cp));
					c += n;
				} else if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0xEF) {
					c += fix_char(c, &v); /* what XML forbids: U+FFFD */
				} else {
					buf_putc(&v, *c++);
				}
			}
			if (!utf8_valid(buf_str(&v), v.len)) { /* cut by XMLFIX_MAX_DTD */
				buf_free(&v);
				i = (size_t)(end - s) + 1;
				continue;
			}
			x->ents = xrealloc(x->ents, (x->n_ents + 1) * sizeof *x->ents);
			x->ents[x->n_ents].name = xstrndup(s + name, name_len);
			x->ents[x->n_ents].value_len = v.len;
			x->ents[x->n_ents].value = buf_steal(&v);
			x->n_ents++;
		}
		i = (size_t)(end - s) + 1;
	}
	buf_free(&x->dtd);
	if (x->n_ents > 1)
		qsort(x->ents, x->n_ents, sizeof *x->ents, entity_cmp);
}

/* One byte of the DOCTYPE, which is dropped whole: a feed needs no DTD, and
 * an internal subset is where entity bombs and XXE live (read_entities
 * takes from it only what is safe).  Comments, PIs and
 * quoted strings inside it may hold any of "[]<>'\"". Returns the bytes
 * consumed. */
static size_t fix_doctype(struct xmlfix *x, const char *c, size_t left)
{
	if (x->dt_comment) {
		if (starts(c, left, "-->", 3)) {
			x->dt_comment = false;
			return 3;
		}
		return 1;
	}
	if (x->dt_pi) {
		if (starts(c, left, "?>", 2)) {
			x->dt_pi = false;
			return 2;
		}
		return 1;
	}
	if (x->doctype_quote) {
		if (*c == x->doctype_quote)
			x->doctype_quote = 0;
		return 1;
	}
	if (starts(c, left, "<!--", 4)) {
		x->dt_comment = true;
		return 4;
	}
	if (starts(c, left, "<?", 2)) {
		x->dt_pi = true;
		return 2;
	}
	if (*c == '"' || *c == '\'')
		x->doctype_quote = *c;
	else if (*c == '[')
		x->doctype_brackets++;
	else if (*c == ']')
		x->doctype_brackets--;
	else if (*c == '>' && x->doctype_brackets <= 0)
		x->state = XMLFIX_TEXT;
	return 1;
}

/* Text content: every reference is resolved here, and the characters XML
 * cannot hold as text ('<' and '&') are written inside a CDATA section
 * that xmlfix opens and closes around them.  libxml2 then meets no
 * reference in content at all: escaped HTML arrives in a few large blocks
 * instead of one callback per "&lt;", and nothing is dropped after a
 * recovered error (libxml2 skips entity references in content once it has
 * seen one). */
static void cdata_open(struct xmlfix *x)
{
	if (!x->out_cdata) {
		buf_puts(&x->fixed, "<![CDATA[");
		x->out_cdata = true;
		x->cdata_len = 0;
	}
}

static void cdata_close(struct xmlfix *x)
{
	if (x->out_cdata) {
		buf_puts(&x->fixed, "]]>");
		x->out_cdata = false;
	}
}

static void text_run(struct xmlfix *x, const char *s, size_t n)
{
	if (x->out_cdata)
		cdata_run(x, s, n);
	else
		buf_append(&x->fixed, s, n);
}

/* One character of text content, decoded from a reference or a literal
 * ']'. "]]>" may not stand in text, and libxml2 recovers from it by
 * dropping text (how much depends on where the input was cut into pushes),
 * so ']' is always written as a character reference: no "]]>" can form,
 * inside the section or out of it, whatever '>' follows and in which push.
 * libxml2 still delivers character references after an error. */
static void text_char(struct xmlfix *x, uint32_t cp)
{
	if (cp == '<' || cp == '&') {
		cdata_open(x);
		char c = (char)cp;
		cdata_run(x, &c, 1);
	} else if (cp == ']') {
		cdata_close(x);
		buf_puts(&x->fixed, "&#93;");
	} else {
		text_put_utf8(&x->fixed, cp);
	}
}

/* An '&' in text content: the character it stands for, or the '&' itself
 * when it starts no known reference. Returns bytes consumed, or 0 if more
 * input is needed. */
static size_t fix_amp_text(struct xmlfix *x, const char *s, size_t len, bool final)
{
	uint32_t cp;
	size_t n = text_entity(s, len, &cp);
	const struct xmlfix_entity *ie = n ? NULL : internal_entity(x, s, len, &n);
	if (ie) {
		if (!expansion_room(x, ie)) {
			text_char(x, '&');
			return 1;
		}
		/* As text: '<' and '&' in it are characters, not markup. */
		size_t run = 0;
		for (size_t i = 0; i < ie->value_len; i++) {
			char c = ie->value[i];
			if (c != '<' && c != '&' && c != ']')
				continue;
			text_run(x, ie->value + run, i - run);
			text_char(x, (uint32_t)(unsigned char)c);
			run = i + 1;
		}
		text_run(x, ie->value + run, ie->value_len - run);
		return n;
	}
	if (n) {
		cp = xml_char(cp);
		text_char(x, cp);
		return n;
	}
	if (!final && may_become_reference(s, len))
		return 0;
	text_char(x, '&');
	return 1;
}

/* Ends a tag at '>', or at a stray '<' (left for libxml2 to report). */
static void end_tag(struct xmlfix *x, char c)
{
	if (x->tag_skip)
		buf_puts(&x->fixed, c == '>' && x->tag_last == '/' ? "/>" : ">");
	else if (c == '>')
		buf_putc(&x->fixed, '>');
	x->state = XMLFIX_TEXT;
}

/* Text before the first tag ("\n<?xml", a PHP warning) would make libxml2
 * reject the whole document: it is skipped, its non-space bytes counted.
 * Returns the bytes skipped. */
static size_t skip_leading_text(struct xmlfix *x, const char *s, size_t len)
{
	size_t i = 0;
	if (x->seen_lt)
		return 0;
	while (i < len && s[i] != '<') {
		if (!strchr(" \t\r\n", s[i]))
			x->junk_skipped++;
		i++;
	}
	if (i < len)
		x->seen_lt = true;
	return i;
}

/* Copies the run of bytes at s[0..len) that the state need not look at
 * one by one, which needs no lookahead; returns its length, 0 when s[0]
 * needs a look. */
static size_t copy_run(struct xmlfix *x, const char *s, size_t len)
{
	const bool *special = fix_specials(x);
	size_t n = 0;
	while (n < len && !special[(unsigned char)s[n]])
		n++;
	if (n == 0)
		return 0;
	if (x->state == XMLFIX_CDATA)
		cdata_run(x, s, n);
	else if (x->state == XMLFIX_TEXT)
		text_run(x, s, n);
	else if (!(x->state == XMLFIX_TAG && x->tag_skip))
		buf_append(&x->fixed, s, n);
	if (x->state == XMLFIX_TAG)
		x->tag_last = s[n - 1];
	return n;
}

/* The markup that starts with the '<' at c: CDATA, a comment, a PI, the
 * DOCTYPE or a tag.  Returns the bytes consumed. */
static size_t open_markup(struct xmlfix *x, const char *c, size_t left)
{
	struct buf *out = &x->fixed;
	if (starts(c, left, "<![CDATA[", 9)) {
		buf_append(out, c, 9);
		x->state = XMLFIX_CDATA;
		x->cdata_len = 0;
		return 9;
	}
	if (starts(c, left, "<!--", 4)) {
		buf_append(out, c, 4);
		x->state = XMLFIX_COMMENT;
		return 4;
	}
	if (starts(c, left, "<?", 2)) {
		buf_append(out, c, 2);
		x->state = XMLFIX_PI;
		return 2;
	}
	if (left >= 9 && strncasecmp(c, "<!DOCTYPE", 9) == 0) {
		x->state = XMLFIX_DOCTYPE;
		x->doctype_brackets = 0;
		x->doctype_quote = 0;
		x->dt_comment = x->dt_pi = false;
		return 9;
	}
	buf_putc(out, '<');
	x->state = XMLFIX_TAG;
	x->tag_quote = 0;
	x->tag_attrs = 0;
	x->tag_skip = false;
	x->tag_last = '<';
	return 1;
}

/* A byte of text content that needs a look: '&', ']' or '<'.  Returns the
 * bytes consumed, or FIX_HOLD. */
static size_t fix_text(struct xmlfix *x, const char *c, size_t left, bool final)
{
	if (*c == '&') {
		size_t n = fix_amp_text(x, c, left, final);
		return n ? n : FIX_HOLD;
	}
	if (*c == ']') {
		text_char(x, ']');
		return 1;
	}
	if (*c == '<' && !tag_name_start(c[1])) {
		/* "1 < 2" in text: libxml2 would drop the rest. */
		text_char(x, '<');
		return 1;
	}
	cdata_close(x); /* markup follows */
	return open_markup(x, c, left);
}

/* libxml2 2.9 checks attributes pairwise: a tag with 200,000 of them takes
 * it minutes.  Drops the last name written and everything after it. */
static void drop_rest_of_tag(struct xmlfix *x)
{
	struct buf *out = &x->fixed;
	x->tag_skip = true;
	x->attrs_dropped = true;
	while (out->len && out->data[out->len - 1] != ' ' && out->data[out->len - 1] != '"' &&
	       out->data[out->len - 1] != '\'')
		out->len--;
	out->data[out->len] = '\0';
}

/* A byte inside a tag that needs a look.  Returns the bytes consumed (0
 * for a stray '<', which ends the tag and is seen again as text), or
 * FIX_HOLD. */
static size_t fix_tag(struct xmlfix *x, const char *c, size_t left, bool final)
{
	if (*c == '&' && !x->tag_skip) {
		size_t n = fix_amp(x, c, left, final, &x->fixed);
		if (n == 0)
			return FIX_HOLD;
		x->tag_last = ';';
		return n;
	}
	if (x->tag_quote) {
		if (*c == x->tag_quote)
			x->tag_quote = 0;
	} else if (*c == '"' || *c == '\'') {
		x->tag_quote = *c;
	} else if (*c == '=' && ++x->tag_attrs > XMLFIX_MAX_ATTRS && !x->tag_skip) {
		drop_rest_of_tag(x);
	} else if (*c == '>' || *c == '<') {
		end_tag(x, *c);
		return *c == '<' ? 0 : 1;
	}
	if (!x->tag_skip)
		buf_putc(&x->fixed, *c);
	x->tag_last = *c;
	return 1;
}

/* Inside CDATA, a comment or a PI, whose end is end[0..n): copies one byte,
 * or the end and goes back to text.  Returns the bytes consumed. */
static size_t fix_until(struct xmlfix *x, const char *c, size_t left, const char *end, size_t n)
{
	if (starts(c, left, end, n)) {
		buf_append(&x->fixed, c, n);
		x->state = XMLFIX_TEXT;
		return n;
	}
	if (x->state == XMLFIX_CDATA)
		cdata_run(x, c, 1);
	else
		buf_putc(&x->fixed, *c);
	return 1;
}

/* Keeps n bytes of the DOCTYPE for read_entities, up to XMLFIX_MAX_DTD. */
static void dtd_keep(struct xmlfix *x, const char *c, size_t n)
{
	if (x->dtd.len + n <= XMLFIX_MAX_DTD)
		buf_append(&x->dtd, c, n);
}

/* The byte at c, which the state must look at, with left bytes available
 * (at least FIX_LOOKAHEAD unless final).  Returns the bytes consumed, or
 * FIX_HOLD when more input must decide. */
static size_t fix_special(struct xmlfix *x, const char *c, size_t left, bool final)
{
	unsigned char u = (unsigned char)*c;
	if ((u < 0x20 && u != '\t' && u != '\n' && u != '\r') || u == 0xEF) {
		/* (The DOCTYPE's text keeps it: read_entities checks the values.) */
		if (x->state == XMLFIX_DOCTYPE)
			dtd_keep(x, c, 1);
		if (x->state == XMLFIX_DOCTYPE || (x->state == XMLFIX_TAG && x->tag_skip))
			return 1;
		return fix_char(c, &x->fixed);
	}
	switch (x->state) {
	case XMLFIX_TEXT:
		return fix_text(x, c, left, final);
	case XMLFIX_TAG:
		return fix_tag(x, c, left, final);
	case XMLFIX_CDATA:
		return fix_until(x, c, left, "]]>", 3);
	case XMLFIX_COMMENT:
		return fix_until(x, c, left, "-->", 3);
	case XMLFIX_PI:
		return fix_until(x, c, left, "?>", 2);
	case XMLFIX_DOCTYPE:
		break;
	}
	size_t n = fix_doctype(x, c, left);
	dtd_keep(x, c, n);
	if (x->state != XMLFIX_DOCTYPE)
		read_entities(x);
	return n;
}

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

void xmlfix_init(struct xmlfix *x)
{
	pthread_once(&tables_once, fix_tables_init);
	memset(x, 0, sizeof *x);
	buf_init(&x->pending);
	buf_init(&x->fixed);
	buf_init(&x->dtd);
}

void xmlfix_free(struct xmlfix *x)
{
	buf_free(&x->pending);
	buf_free(&x->fixed);
	buf_free(&x->dtd);
	for (size_t i = 0; i < x->n_ents; i++) {
		free(x->ents[i].name);
		free(x->ents[i].value);
	}
	free(x->ents);
	x->ents = NULL;
	x->n_ents = 0;
}

void xmlfix_run(struct xmlfix *x, bool final)
{
	const char *s = x->pending.data ? x->pending.data : "";
	size_t len = x->pending.len;
	size_t i = skip_leading_text(x, s, len);
	while (i < len) {
		size_t n = copy_run(x, s + i, len - i);
		if (n) {
			i += n;
			continue;
		}
		size_t left = len - i;
		if (!final && left < FIX_LOOKAHEAD)
			break;
		n = fix_special(x, s + i, left, final);
		if (n == FIX_HOLD)
			break;
		i += n;
	}
	if (final && i == len && x->state == XMLFIX_TEXT)
		cdata_close(x);
	if (x->pending.data) {
		memmove(x->pending.data, s + i, len - i);
		x->pending.len = len - i;
		x->pending.data[x->pending.len] = '\0';
	}
}
