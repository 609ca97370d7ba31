/*
 * util: the allocator and a growable byte buffer.
 *
 * Running out of memory is the one failure that ends the process, and it does
 * so here, inside x*alloc, so no caller ever checks for NULL.
 */
#ifndef FEEDD_UTIL_H
#define FEEDD_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Frees v[0..n) and v (NULL v: nothing). */
void strv_free(char **v, size_t n);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A byte buffer that is always NUL-terminated once anything was added. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_puts(struct buf *b, const char *s);

/* Makes room for extra more bytes (and the NUL). Inline: the parsers call
 * these per text chunk and per character. */
static inline void buf_reserve(struct buf *b, size_t extra)
{
	if (extra >= b->cap || b->len + extra + 1 > b->cap)
		buf_grow(b, extra);
}

static inline void buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void buf_putc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Gives the caller the buffer's string (never NULL) and leaves b empty. */
char *buf_steal(struct buf *b);
/* The buffer's string, "" when empty; owned by b. */
const char *buf_str(const struct buf *b);

/* Reads a whole file ("-" is stdin) of at most max bytes; *truncated says
 * whether more was there. Returns 0, or -1 with errno set. */
int read_file_capped(const char *path, size_t max, struct buf *out, bool *truncated);

/* The host of an http(s) URL ("https://user@Example.org:8080/x" ->
 * "example.org"; an IPv6 literal keeps its brackets), lower-cased, as a new
 * string; NULL when the URL is not http(s) or has no host. */
char *url_host(const char *url);

/* Whether s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points past U+10FFFF; NUL bytes count as well-formed). */
bool utf8_valid(const char *s, size_t n);

/* Room for any int64_t in decimal, with its sign and the NUL. */
#define FMT_I64_LEN 21
/* Writes v in decimal to out (FMT_I64_LEN bytes) and returns the length:
 * snprintf's "%lld" without its cost, for the store's per-poll parameters. */
size_t fmt_i64(char out[FMT_I64_LEN], int64_t v);

#endif
