/*
 * charset: encoding detection and conversion to clean UTF-8 (see charset.h).
 *
 * Conversion from other encodings uses the C library's iconv; UTF-8 input is
 * validated here, byte by byte, because iconv stops at the first bad byte
 * instead of replacing it.
 */
#include "feedd/charset.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How much of the document start is looked at for a BOM or declaration. */
#define SNIFF_BYTES 1024

static const char replacement[] = "\xEF\xBF\xBD";

struct charset_conv {
	char *hint;
	bool decided;
	bool is_utf8;
	iconv_t cd;
	char name[64];
	char warning[160];
	struct buf held; /* bytes before the encoding is decided */
	char carry[8];	 /* an incomplete sequence at the end of a push */
	size_t carry_len;
	struct buf tmp; /* iconv output before cleaning */
};

struct charset_conv *charset_conv_new(const char *hint)
{
	struct charset_conv *cv = xcalloc(1, sizeof *cv);
	cv->hint = hint && *hint ? xstrdup(hint) : NULL;
	cv->cd = (iconv_t)-1;
	buf_init(&cv->held);
	buf_init(&cv->tmp);
	return cv;
}

void charset_conv_free(struct charset_conv *cv)
{
	if (!cv)
		return;
	if (cv->cd != (iconv_t)-1)
		iconv_close(cv->cd);
	free(cv->hint);
	buf_free(&cv->held);
	buf_free(&cv->tmp);
	free(cv);
}

const char *charset_conv_name(const struct charset_conv *cv)
{
	return cv->name;
}

const char *charset_conv_warning(const struct charset_conv *cv)
{
	return cv->warning[0] ? cv->warning : NULL;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes available):
 * > 0 valid, 0 incomplete but could still become valid, -1 invalid. */
static int utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return c == 0 ? -1 : 1;
	int len;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F; /* beyond U+10FFFF */
	} else {
		return -1;
	}
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return 0;
		unsigned char lim_lo = i == 1 ? lo : 0x80, lim_hi = i == 1 ? hi : 0xBF;
		if (s[i] < lim_lo || s[i] > lim_hi)
			return -1;
	}
	return len;
}

/* Cleans s[0..len) into out; returns how many trailing bytes form an
 * incomplete sequence that the caller should keep for the next call (0 when
 * final, where they are replaced instead). */
static size_t clean(const char *s, size_t len, struct buf *out, bool final)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;
	buf_reserve(out, len);
	while (i < len) {
		/* ASCII without NUL, eight bytes at a time: the common case. */
		while (i + 8 <= len) {
			uint64_t w;
			memcpy(&w, u + i, 8);
			if ((w & 0x8080808080808080ULL) ||
			    ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL))
				break;
			i += 8;
		}
		if (i >= len)
			break;
		if (u[i] >= 0x01 && u[i] < 0x80) {
			i++;
			continue;
		}
		int n = utf8_seq(u + i, len - i);
		if (n > 0) {
			i += (size_t)n;
			continue;
		}
		buf_append(out, s + run, i - run);
		if (n == 0 && !final)
			return len - i;
		buf_append(out, replacement, 3);
		i++;
		run = i;
	}
	buf_append(out, s + run, i - run);
	return 0;
}

void charset_utf8_clean(const char *s, size_t len, struct buf *out)
{
	clean(s, len, out, true);
}

size_t charset_utf8_boundary(const char *s, size_t len)
{
	size_t i = len;
	/* Step back over continuation bytes to the lead byte, at most 3. */
	while (i > 0 && len - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return 0;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	return len - (i - 1) >= need ? len : i - 1;
}

/* Finds encoding="..." in an XML declaration at the start of s. */
static bool declared_encoding(const char *s, size_t len, char *out, size_t outsz)
{
	if (len < 5 || memcmp(s, "<?xml", 5) != 0)
		return false;
	const char *end = memchr(s, '>', len);
	size_t decl_len = end ? (size_t)(end - s) : len;
	for (size_t i = 5; i + 8 < decl_len; i++) {
		if (strncmp(s + i, "encoding", 8) != 0)
			continue;
		size_t j = i + 8;
		while (j < decl_len && isspace((unsigned char)s[j]))
			j++;
		if (j >= decl_len || s[j] != '=')
			return false;
		j++;
		while (j < decl_len && isspace((unsigned char)s[j]))
			j++;
		if (j >= decl_len || (s[j] != '"' && s[j] != '\''))
			return false;
		char q = s[j++];
		size_t k = 0;
		while (j < decl_len && s[j] != q && k + 1 < outsz)
			out[k++] = s[j++];
		out[k] = '\0';
		return k > 0;
	}
	return false;
}

static bool is_latin1_label(const char *name)
{
	static const char *const labels[] = {
		"iso-8859-1", "iso8859-1", "iso_8859-1",   "latin1", "latin-1",	 "l1",
		"us-ascii",   "ascii",	   "windows-1252", "cp1252", "x-cp1252", "ibm819",
	};
	for (size_t i = 0; i < ARRAY_LEN(labels); i++)
		if (strcasecmp(name, labels[i]) == 0)
			return true;
	return false;
}

static void choose(struct charset_conv *cv, const char *label)
{
	if (strcasecmp(label, "utf-8") == 0 || strcasecmp(label, "utf8") == 0) {
		cv->is_utf8 = true;
		snprintf(cv->name, sizeof cv->name, "UTF-8");
		return;
	}
	const char *use = is_latin1_label(label) ? "WINDOWS-1252" : label;
	cv->cd = iconv_open("UTF-8", use);
	if (cv->cd == (iconv_t)-1) {
		snprintf(cv->warning, sizeof cv->warning,
			 "unknown encoding \"%.60s\", reading the document as UTF-8", label);
		cv->is_utf8 = true;
		snprintf(cv->name, sizeof cv->name, "UTF-8");
		return;
	}
	snprintf(cv->name, sizeof cv->name, "%s", use);
	for (char *p = cv->name; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

/* Decides the encoding from what is held; returns how many BOM bytes to skip. */
static size_t decide(struct charset_conv *cv)
{
	const unsigned char *u = (const unsigned char *)cv->held.data;
	size_t n = cv->held.len;
	size_t skip = 0;
	char label[64];

	cv->decided = true;
	if (n >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
		choose(cv, "UTF-8");
		return 3;
	}
	if (n >= 4 && u[0] == 0xFF && u[1] == 0xFE && u[2] == 0 && u[3] == 0) {
		choose(cv, "UTF-32LE");
		return 4;
	}
	if (n >= 4 && u[0] == 0 && u[1] == 0 && u[2] == 0xFE && u[3] == 0xFF) {
		choose(cv, "UTF-32BE");
		return 4;
	}
	if (n >= 2 && u[0] == 0xFF && u[1] == 0xFE) {
		choose(cv, "UTF-16LE");
		return 2;
	}
	if (n >= 2 && u[0] == 0xFE && u[1] == 0xFF) {
		choose(cv, "UTF-16BE");
		return 2;
	}
	if (n >= 4 && u[0] == '<' && u[1] == 0 && u[2] != 0 && u[3] == 0) {
		choose(cv, "UTF-16LE");
		return 0;
	}
	if (n >= 4 && u[0] == 0 && u[1] == '<' && u[2] == 0 && u[3] != 0) {
		choose(cv, "UTF-16BE");
		return 0;
	}
	if (cv->hint) {
		choose(cv, cv->hint);
		return skip;
	}
	/* Leading white space before the declaration is common and harmless. */
	size_t i = 0;
	while (i < n && (u[i] == ' ' || u[i] == '\t' || u[i] == '\r' || u[i] == '\n'))
		i++;
	if (declared_encoding(cv->held.data + i, n - i, label, sizeof label) &&
	    strncasecmp(label, "utf-16", 6) != 0 && strncasecmp(label, "utf-32", 6) != 0)
		choose(cv, label);
	else
		choose(cv, "UTF-8");
	return 0;
}

static void convert(struct charset_conv *cv, const char *in, size_t len, struct buf *out,
		    bool final)
{
	/* Prepend what was kept from the last call. */
	struct buf joined;
	buf_init(&joined);
	if (cv->carry_len) {
		buf_append(&joined, cv->carry, cv->carry_len);
		buf_append(&joined, in, len);
		in = joined.data;
		len = joined.len;
		cv->carry_len = 0;
	}
	if (cv->is_utf8) {
		size_t keep = clean(in, len, out, final);
		memcpy(cv->carry, in + len - keep, keep);
		cv->carry_len = keep;
		buf_free(&joined);
		return;
	}

	char *ip = (char *)in;
	size_t left = len;
	buf_reset(&cv->tmp);
	while (left > 0) {
		buf_reserve(&cv->tmp, left * 4 + 16);
		char *op = cv->tmp.data + cv->tmp.len;
		size_t room = cv->tmp.cap - cv->tmp.len - 1;
		size_t r = iconv(cv->cd, &ip, &left, &op, &room);
		cv->tmp.len = (size_t)(op - cv->tmp.data);
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL && !final && left < sizeof cv->carry) {
			memcpy(cv->carry, ip, left);
			cv->carry_len = left;
			break;
		}
		/* An invalid or truncated sequence: one replacement, skip a byte. */
		buf_append(&cv->tmp, replacement, 3);
		ip++;
		left--;
		iconv(cv->cd, NULL, NULL, NULL, NULL);
	}
	clean(cv->tmp.data ? cv->tmp.data : "", cv->tmp.len, out, true);
	buf_free(&joined);
}

void charset_conv_push(struct charset_conv *cv, const char *in, size_t len, struct buf *out)
{
	if (!cv->decided) {
		buf_append(&cv->held, in, len);
		if (cv->held.len < SNIFF_BYTES)
			return;
		size_t skip = decide(cv);
		convert(cv, cv->held.data + skip, cv->held.len - skip, out, false);
		buf_free(&cv->held);
		return;
	}
	convert(cv, in, len, out, false);
}

void charset_conv_finish(struct charset_conv *cv, struct buf *out)
{
	if (!cv->decided) {
		size_t skip = cv->held.len ? decide(cv) : 0;
		if (!cv->decided)
			choose(cv, "UTF-8");
		convert(cv, cv->held.data ? cv->held.data + skip : "", cv->held.len - skip, out,
			true);
		buf_free(&cv->held);
		return;
	}
	convert(cv, "", 0, out, true);
}
