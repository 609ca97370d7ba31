/*
 * record: the store's items as bytes, for the spool.  An article, a poll
 * record or a page visit becomes one self-describing record (a kind byte and
 * the fields in a fixed order: strings as a 32-bit length plus one, 0 for
 * NULL, then the bytes; numbers as 64-bit little-endian), and comes back
 * field for field.  Decoding checks every length against the record and
 * refuses what does not add up; it never trusts the input: a time outside
 * what feedd writes (microseconds from 1970 to 9999, seconds from year 0 to
 * 9999, or STORE_TIME_NONE where the field allows it) or a number that does
 * not fit its field refuses the record too, with a log line naming it.
 */
#ifndef FEEDD_RECORD_H
#define FEEDD_RECORD_H

#include <stddef.h>

#include "feedd/article.h"
#include "feedd/util.h"

enum record_kind {
	RECORD_ARTICLE = 1,
	RECORD_POLL = 2,
	RECORD_PAGE = 3,
};

/* Appends the record of an item to out (which is reset first). */
void record_encode_article(const struct store_article *a, struct buf *out);
void record_encode_poll(const struct store_poll *p, struct buf *out);
void record_encode_page(const struct store_page *p, struct buf *out);

/* The kind of data[0..len), or 0 when it is none. */
enum record_kind record_kind_of(const void *data, size_t len);
/* A new item from a record of its kind, or NULL when the record is
 * malformed or holds a value out of range (logged). ctx is NULL. */
struct store_article *record_decode_article(const void *data, size_t len);
struct store_poll *record_decode_poll(const void *data, size_t len);
struct store_page *record_decode_page(const void *data, size_t len);

#endif
