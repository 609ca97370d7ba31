/*
 * text: entity decoding and HTML-to-text (see text.h).
 *
 * Named entities come from libxml2's HTML 4 table, so the set matches what
 * its HTML parser accepts; &apos; is added because XML feeds use it.
 */
#include "feedd/text.h"

#include <libxml/HTMLparser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

size_t text_entity(const char *s, size_t len, uint32_t *cp)
{
	if (len < 3 || s[0] != '&')
		return 0;
	size_t i = 1;
	if (s[1] == '#') {
		uint32_t v = 0;
		bool hex = i + 1 < len && (s[2] == 'x' || s[2] == 'X');
		i = hex ? 3 : 2;
		size_t start = i;
		for (; i < len && i - start < 8; i++) {
			char c = s[i];
			int d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (hex && c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (hex && c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				break;
			v = v * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (i == start || i >= len || s[i] != ';')
			return 0;
		*cp = v;
		return i + 1;
	}
	char name[32];
	for (; i < len && i - 1 < sizeof name - 1; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (i > 1 && c >= '0' && c <= '9')))
			break;
		name[i - 1] = c;
	}
	if (i == 1 || i >= len || s[i] != ';')
		return 0;
	name[i - 1] = '\0';
	/* XML's five first: they are most of all references, and libxml2's
	 * table lookup is a linear scan. */
	static const struct {
		const char *name;
		uint32_t cp;
	} xml5[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
	for (size_t k = 0; k < ARRAY_LEN(xml5); k++) {
		if (strcmp(name, xml5[k].name) == 0) {
			*cp = xml5[k].cp;
			return i + 1;
		}
	}
	const htmlEntityDesc *ent = htmlEntityLookup((const xmlChar *)name);
	if (!ent)
		return 0;
	*cp = ent->value;
	return i + 1;
}

void text_put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		u[0] = (char)cp;
		buf_append(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 4);
	}
}

/* White space for folding: ASCII space characters and U+00A0 (no-break
 * space), which entity-decoded titles are full of. */
static size_t space_at(const char *s, size_t len)
{
	unsigned char c = (unsigned char)s[0];
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
		return 1;
	if (c == 0xC2 && len > 1 && (unsigned char)s[1] == 0xA0)
		return 2;
	return 0;
}

void text_fold_space(const char *s, size_t len, struct buf *out)
{
	bool pending = false, any = false;
	size_t i = 0;
	while (i < len) {
		size_t n = space_at(s + i, len - i);
		if (n) {
			pending = any;
			i += n;
			continue;
		}
		if (pending)
			buf_putc(out, ' ');
		pending = false;
		any = true;
		size_t run = i;
		while (i < len && !space_at(s + i, len - i))
			i++;
		buf_append(out, s + run, i - run);
	}
}

/* Does s start a tag or comment ("<p>", "</p", "<!--", "<br/>", "<a href")?
 * "a<b, c" and "3 <5" are text: a tag name must end in space, '/' or '>'. */
static bool tag_start(const char *s, size_t len)
{
	if (len < 3 || s[0] != '<')
		return false;
	size_t i = 1;
	if (s[1] == '!' || s[1] == '?')
		return true;
	if (s[1] == '/')
		i++;
	size_t name = i;
	while (i < len &&
	       ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		(i > name && s[i] >= '0' && s[i] <= '9')))
		i++;
	if (i == name || i >= len)
		return false;
	char c = s[i];
	return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* If a tag starts at s[i], the index of its closing '>', else 0. A tag
 * ends at the first '>' unless a '<' comes first; looking no further than
 * either keeps the callers linear. */
static size_t tag_end(const char *s, size_t len, size_t i)
{
	if (s[i] != '<' || !tag_start(s + i, len - i))
		return 0;
	size_t j = i + 1;
	while (j < len && s[j] != '>' && s[j] != '<')
		j++;
	return j < len && s[j] == '>' ? j : 0;
}

/* One round of tag removal and entity decoding; returns whether anything
 * that looked like markup or an entity was found. */
static bool strip_once(const char *s, size_t len, struct buf *out)
{
	bool changed = false;
	size_t i = 0;
	while (i < len) {
		size_t j = tag_end(s, len, i);
		if (j) {
			/* A tag separates words: "a<br>b" reads "a b". */
			buf_putc(out, ' ');
			i = j + 1;
			changed = true;
			continue;
		}
		if (s[i] == '&') {
			uint32_t cp;
			size_t n = text_entity(s + i, len - i, &cp);
			if (n) {
				text_put_utf8(out, cp);
				i += n;
				changed = true;
				continue;
			}
		}
		buf_putc(out, s[i]);
		i++;
	}
	return changed;
}

char *text_html_to_plain(const char *s)
{
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	buf_puts(&a, s);
	/* Titles escaped twice over ("&amp;#8217;") are common; three rounds
	 * undo that without turning every literal "&amp;" into "&". */
	for (int round = 0; round < 3; round++) {
		buf_reset(&b);
		bool changed = strip_once(buf_str(&a), a.len, &b);
		struct buf t = a;
		a = b;
		b = t;
		if (!changed)
			break;
	}
	buf_reset(&b);
	text_fold_space(buf_str(&a), a.len, &b);
	buf_free(&a);
	return buf_steal(&b);
}

char *text_markup_to_plain(const char *s)
{
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	strip_once(s, strlen(s), &a);
	text_fold_space(buf_str(&a), a.len, &b);
	buf_free(&a);
	return buf_steal(&b);
}

char *text_clean_field(char *s)
{
	if (!s)
		return NULL;
	struct buf b;
	buf_init(&b);
	text_fold_space(s, strlen(s), &b);
	free(s);
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* Does the tag at s[0..n) (from '<' to '>') end a line of text? */
static bool block_tag(const char *s, size_t n)
{
	static const char *const blocks[] = {"p",	   "div",     "br",	"li", "h1",
					     "h2",	   "h3",      "h4",	"h5", "h6",
					     "blockquote", "tr",      "ul",	"ol", "table",
					     "section",	   "article", "figure", "pre"};
	size_t i = 1;
	if (i < n && s[i] == '/')
		i++;
	size_t start = i;
	while (i < n &&
	       ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		(s[i] >= '0' && s[i] <= '9')))
		i++;
	for (size_t k = 0; k < ARRAY_LEN(blocks); k++)
		if (strlen(blocks[k]) == i - start &&
		    strncasecmp(s + start, blocks[k], i - start) == 0)
			return true;
	return false;
}

char *text_lines_to_plain(const char *s)
{
	struct buf out;
	buf_init(&out);
	while (*s) {
		size_t n = strcspn(s, "\r\n");
		char *line = xstrndup(s, n);
		char *plain = text_html_to_plain(line);
		if (*plain) {
			if (out.len)
				buf_putc(&out, '\n');
			buf_puts(&out, plain);
		}
		free(plain);
		free(line);
		s += n;
		s += strspn(s, "\r\n");
	}
	if (out.len == 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

char *text_html_to_paragraphs(const char *s)
{
	/* First mark block boundaries with '\n', then let the plain-text
	 * conversion do each line. */
	struct buf marked;
	buf_init(&marked);
	size_t len = strlen(s), i = 0;
	while (i < len) {
		size_t j = tag_end(s, len, i);
		if (j) {
			buf_putc(&marked, block_tag(s + i, j - i + 1) ? '\n' : ' ');
			i = j + 1;
			continue;
		}
		/* Line breaks in the source are white space, not paragraphs. */
		buf_putc(&marked, s[i] == '\n' || s[i] == '\r' ? ' ' : s[i]);
		i++;
	}
	/* marked holds no '\r': the ones in s became spaces. */
	char *out = text_lines_to_plain(buf_str(&marked));
	buf_free(&marked);
	return out;
}

int text_base64_decode(const char *s, size_t n, struct buf *out)
{
	buf_reset(out);
	uint32_t acc = 0;
	int bits = 0;
	bool padding = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+' || c == '-')
			v = 62;
		else if (c == '/' || c == '_')
			v = 63;
		else if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		else if (c == '=') {
			padding = true;
			continue;
		} else
			return -1;
		if (padding) /* data after the padding */
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(out, (char)((acc >> bits) & 0xff));
		}
	}
	/* 6 bits left over: a group of one character, which encodes nothing. */
	return bits >= 6 ? -1 : 0;
}
