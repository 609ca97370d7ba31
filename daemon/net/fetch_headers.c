/*
 * fetch_headers: what a response's headers say (see fetch_int.h).
 *
 * libcurl hands fetch_on_header every header line of every response of a
 * transfer, 1xx responses and followed redirects included.  Each status line
 * starts the set again, so what is kept is the final response's: its ETag
 * and Last-Modified (printable ASCII only, as they are stored and sent back
 * as text), its Content-Type and its Retry-After, which the fetcher parses
 * with fetch_parse_charset and fetch_parse_retry_after once the transfer is
 * over.  The status lines also count the redirects on the way and whether
 * every one was permanent.  Nothing here does I/O: the parsers are
 * unit-tested on strings.
 */
#include "fetch_int.h"

#include "feedd/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

char *fetch_parse_charset(const char *content_type)
{
	const char *p = content_type ? strchr(content_type, ';') : NULL;
	while (p && *p == ';') {
		p++;
		while (ows(*p))
			p++;
		const char *name = p;
		while (*p && *p != '=' && *p != ';' && !ows(*p))
			p++;
		size_t name_len = (size_t)(p - name);
		while (ows(*p))
			p++;
		if (*p != '=') {
			p = strchr(p, ';');
			continue;
		}
		p++;
		while (ows(*p))
			p++;
		struct buf v;
		buf_init(&v);
		if (*p == '"') {
			/* A quoted-string: may hold ';', and backslash escapes. */
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				buf_putc(&v, *p);
			}
		} else {
			const char *s = p;
			while (*p && *p != ';' && !ows(*p))
				p++;
			buf_append(&v, s, (size_t)(p - s));
		}
		if (name_len == 7 && strncasecmp(name, "charset", 7) == 0 && v.len > 0)
			return buf_steal(&v);
		buf_free(&v);
		p = strchr(p, ';');
	}
	return NULL;
}

int64_t fetch_parse_retry_after(const char *value, int64_t now)
{
	if (!value)
		return -1;
	while (ows(*value))
		value++;
	size_t len = strlen(value);
	while (len > 0 && ows(value[len - 1]))
		len--;
	if (len == 0)
		return -1;
	if (strspn(value, "0123456789") >= len) {
		int64_t v = 0;
		for (size_t i = 0; i < len && v < INT32_MAX; i++)
			v = v * 10 + (value[i] - '0');
		return v < INT32_MAX ? v : INT32_MAX;
	}
	char *s = xstrndup(value, len);
	time_t t = curl_getdate(s, NULL);
	free(s);
	if (t == -1)
		return -1;
	int64_t d = (int64_t)t - now;
	return d < 0 ? 0 : d < INT32_MAX ? d : INT32_MAX;
}

static void set_value(char **slot, const char *v, size_t len)
{
	free(*slot);
	*slot = len ? xstrndup(v, len) : NULL;
}

/* Printable ASCII only: what a validator or a URL kept from a response may
 * be.  Anything else (an ETag's obs-text, a header not in UTF-8) is dropped:
 * it could not be stored as text, and the feed is merely fetched in full
 * next time. */
bool fetch_printable_ascii(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return false;
	return true;
}

static bool header_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* A status line: the response before it, if any, was a redirect that
 * libcurl followed; what is kept of the headers starts again. */
static void status_line(struct transfer *t, const char *p, size_t len)
{
	const char *s = memchr(p, ' ', len);
	int code = 0;
	if (s && (size_t)(p + len - s) >= 4 && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]))
		code = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	if (t->status >= 300 && t->status < 400) {
		t->hops++;
		if (t->status != 301 && t->status != 308)
			t->all_permanent = false;
	}
	if (code >= 100 && code < 200) {
		t->interim = true;
		t->status = 0;
		return;
	}
	t->interim = false;
	t->status = code;
	set_value(&t->r->etag, NULL, 0);
	set_value(&t->r->last_modified, NULL, 0);
	set_value(&t->r->content_type, NULL, 0);
	set_value(&t->retry_after, NULL, 0);
}

/* libcurl passes each header line of each response, redirects and 1xx
 * responses included. */
size_t fetch_on_header(char *p, size_t size, size_t n, void *userp)
{
	struct transfer *t = userp;
	size_t len = size * n, end = len;
	while (end > 0 && (p[end - 1] == '\r' || p[end - 1] == '\n' || ows(p[end - 1])))
		end--;
	if (end >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		status_line(t, p, end);
		return len;
	}
	const char *colon = end ? memchr(p, ':', end) : NULL;
	if (t->interim || !colon)
		return len;
	size_t name_len = (size_t)(colon - p);
	const char *v = colon + 1;
	while (v < p + end && ows(*v))
		v++;
	size_t vlen = (size_t)(p + end - v);
	if (header_is(p, name_len, "ETag"))
		set_value(&t->r->etag, v, fetch_printable_ascii(v, vlen) ? vlen : 0);
	else if (header_is(p, name_len, "Last-Modified"))
		set_value(&t->r->last_modified, v, fetch_printable_ascii(v, vlen) ? vlen : 0);
	else if (header_is(p, name_len, "Content-Type"))
		set_value(&t->r->content_type, v, vlen);
	else if (header_is(p, name_len, "Retry-After"))
		set_value(&t->retry_after, v, vlen);
	return len;
}
