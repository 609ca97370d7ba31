/*
 * charset: turns the bytes of a document in whatever encoding it came in
 * into valid UTF-8, incrementally, so the parsers downstream only ever see
 * UTF-8 and can never pass invalid sequences on into JSON or PostgreSQL.
 *
 * The encoding is decided from the first bytes: a byte-order mark wins, then
 * the HTTP charset the caller passes, then the XML declaration, then UTF-8.
 * ISO-8859-1 and US-ASCII labels are read as windows-1252, as browsers do,
 * because real feeds labelled Latin-1 are very often windows-1252.  Bytes that
 * are invalid in the chosen encoding, and NUL, become U+FFFD.
 */
#ifndef FEEDD_CHARSET_H
#define FEEDD_CHARSET_H

#include <stddef.h>

#include "feedd/util.h"

struct charset_conv;

/* A converter; hint is the HTTP Content-Type charset or NULL. */
struct charset_conv *charset_conv_new(const char *hint);
void charset_conv_free(struct charset_conv *cv);
/* Converts len more bytes, appending UTF-8 to out (some bytes may be held
 * back until the encoding is known or a sequence is complete). */
void charset_conv_push(struct charset_conv *cv, const char *in, size_t len, struct buf *out);
/* Flushes what was held back; a truncated last sequence becomes U+FFFD. */
void charset_conv_finish(struct charset_conv *cv, struct buf *out);
/* The encoding used, e.g. "UTF-8", "WINDOWS-1252"; "" before it is known. */
const char *charset_conv_name(const struct charset_conv *cv);
/* Warning about the input, e.g. an unknown encoding label; NULL if none. */
const char *charset_conv_warning(const struct charset_conv *cv);

/* Appends s[0..len) to out with invalid UTF-8 and NUL replaced by U+FFFD. */
void charset_utf8_clean(const char *s, size_t len, struct buf *out);
/* Largest n <= len such that s[0..n) ends on a UTF-8 character boundary. */
size_t charset_utf8_boundary(const char *s, size_t len);

#endif
