/*
 * record: store items to bytes and back (see record.h).
 *
 * A format version is the kind byte's business: a new field means a new
 * kind, so that a spool written by an older feedd still reads.
 */
#include "feedd/record.h"

#include "feedd/log.h"

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STR_MAX (512u << 20)

/* The times a record may hold.  Microseconds are feedd's own clock
 * readings: 1970-01-01 up to the end of 9999.  Seconds come from what feeds
 * and pages say: year 0 to the end of 9999 (what date_format_utc writes),
 * with a day to spare either side for a zone offset.  Anything else is
 * garbage, and the store must never format it. */
#define US_MIN INT64_C(0)
#define US_MAX (INT64_C(253402300800) * 1000000 - 1)
#define SECS_MIN (INT64_C(-62167219200) - 86400)
#define SECS_MAX (INT64_C(253402300800) + 86400)

static void put_u64(struct buf *b, uint64_t v)
{
	unsigned char p[8];
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	buf_append(b, p, 8);
}

static void put_i64(struct buf *b, int64_t v)
{
	put_u64(b, (uint64_t)v);
}

static void put_str(struct buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	unsigned char p[4];
	uint32_t v = s ? (uint32_t)n + 1 : 0;
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	buf_append(b, p, 4);
	if (s)
		buf_append(b, s, n);
}

static void put_strs(struct buf *b, char *const *v, size_t n)
{
	put_u64(b, n);
	for (size_t i = 0; i < n; i++)
		put_str(b, v[i]);
}

/* A cursor over a record; bad turns true at the first thing that does
 * not fit, and everything read after that is zero or NULL. */
struct cur {
	const unsigned char *p;
	size_t left;
	bool bad;
};

static uint64_t get_u64(struct cur *c)
{
	if (c->bad || c->left < 8) {
		c->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += 8;
	c->left -= 8;
	return v;
}

static int64_t get_i64(struct cur *c)
{
	return (int64_t)get_u64(c);
}

static char *get_str(struct cur *c)
{
	if (c->bad || c->left < 4) {
		c->bad = true;
		return NULL;
	}
	uint32_t v = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 | (uint32_t)c->p[2] << 16 |
		(uint32_t)c->p[3] << 24;
	c->p += 4;
	c->left -= 4;
	if (v == 0)
		return NULL;
	size_t n = v - 1;
	if (n > STR_MAX || n > c->left || memchr(c->p, '\0', n)) {
		c->bad = true;
		return NULL;
	}
	char *s = xstrndup((const char *)c->p, n);
	c->p += n;
	c->left -= n;
	return s;
}

static char **get_strs(struct cur *c, size_t *n)
{
	uint64_t count = get_u64(c);
	/* each string takes at least 4 bytes */
	if (c->bad || count > c->left / 4) {
		c->bad = true;
		*n = 0;
		return NULL;
	}
	char **v = xcalloc(count ? count : 1, sizeof *v);
	for (size_t i = 0; i < count; i++) {
		v[i] = get_str(c);
		if (!v[i])
			c->bad = true;
	}
	*n = count;
	return v;
}

/* Whether a time field is in range, STORE_TIME_NONE counting only when
 * none_ok; logs the refusal (kind and id name the item) when it is not. */
static bool time_ok(const char *kind, const char *id, const char *field, int64_t v, bool us,
		    bool none_ok)
{
	if (none_ok && v == STORE_TIME_NONE)
		return true;
	int64_t lo = us ? US_MIN : SECS_MIN, hi = us ? US_MAX : SECS_MAX;
	if (v >= lo && v <= hi)
		return true;
	LOG_ERR("record: the spooled %s %s is refused: its %s (%" PRId64
		") is not a time between %s and 9999",
		kind, id, field, v, us ? "1970" : "year 0");
	return false;
}

/* Whether a number is within lo..hi (an int field: within what the int it
 * is read into holds); logs the refusal as time_ok does. */
static bool num_ok(const char *kind, const char *id, const char *field, int64_t v, int64_t lo,
		   int64_t hi)
{
	if (v >= lo && v <= hi)
		return true;
	LOG_ERR("record: the spooled %s %s is refused: its %s (%" PRId64 ") is out of range", kind,
		id, field, v);
	return false;
}

static void start(struct buf *b, enum record_kind k)
{
	buf_reset(b);
	buf_putc(b, (char)k);
}

static bool begin(struct cur *c, const void *data, size_t len, enum record_kind k)
{
	c->p = data;
	c->left = len;
	c->bad = false;
	if (len < 1 || c->p[0] != k)
		return false;
	c->p++;
	c->left--;
	return true;
}

enum record_kind record_kind_of(const void *data, size_t len)
{
	if (len < 1)
		return 0;
	unsigned char k = *(const unsigned char *)data;
	return k == RECORD_ARTICLE || k == RECORD_POLL || k == RECORD_PAGE ? (enum record_kind)k
									   : 0;
}

void record_encode_article(const struct store_article *a, struct buf *out)
{
	start(out, RECORD_ARTICLE);
	put_str(out, a->source);
	put_str(out, a->feed);
	put_str(out, a->news_id);
	put_str(out, a->url);
	put_str(out, a->title);
	put_str(out, a->lead);
	put_str(out, a->body);
	put_str(out, a->author);
	put_str(out, a->image);
	put_str(out, a->language);
	put_strs(out, a->tags, a->n_tags);
	put_i64(out, a->published_at);
	put_i64(out, a->seen_at_us);
	put_str(out, a->content_hash);
	put_u64(out, a->fetch_page);
	/* Added in schema 10, at the end and only when set, so that records
	 * without it read as before. */
	if (a->published_claimed != STORE_TIME_NONE)
		put_i64(out, a->published_claimed);
}

struct store_article *record_decode_article(const void *data, size_t len)
{
	struct cur c;
	if (!begin(&c, data, len, RECORD_ARTICLE))
		return NULL;
	struct store_article *a = xcalloc(1, sizeof *a);
	a->source = get_str(&c);
	a->feed = get_str(&c);
	a->news_id = get_str(&c);
	a->url = get_str(&c);
	a->title = get_str(&c);
	a->lead = get_str(&c);
	a->body = get_str(&c);
	a->author = get_str(&c);
	a->image = get_str(&c);
	a->language = get_str(&c);
	a->tags = get_strs(&c, &a->n_tags);
	a->published_at = get_i64(&c);
	a->seen_at_us = get_i64(&c);
	char *hash = get_str(&c);
	a->fetch_page = get_u64(&c) != 0;
	a->published_claimed = c.left ? get_i64(&c) : STORE_TIME_NONE;
	if (hash && strlen(hash) < sizeof a->content_hash)
		memcpy(a->content_hash, hash, strlen(hash) + 1);
	else
		c.bad = true;
	free(hash);
	if (c.bad || c.left || !a->source || !a->feed || !a->news_id ||
	    !time_ok("article", a->news_id, "published_at", a->published_at, false, true) ||
	    !time_ok("article", a->news_id, "published_claimed", a->published_claimed, false,
		     true) ||
	    !time_ok("article", a->news_id, "seen_at_us", a->seen_at_us, true, false)) {
		store_article_free(a);
		return NULL;
	}
	return a;
}

void record_encode_poll(const struct store_poll *p, struct buf *out)
{
	start(out, RECORD_POLL);
	put_str(out, p->feed);
	put_i64(out, p->started_us);
	put_i64(out, p->duration_ms);
	put_i64(out, p->http_status);
	put_i64(out, p->bytes);
	put_i64(out, p->items_seen);
	put_i64(out, p->new_items);
	put_str(out, p->error);
	put_str(out, p->etag);
	put_str(out, p->last_modified);
	put_str(out, p->permanent_url);
	put_str(out, p->disabled_reason);
	put_i64(out, p->next_poll_us);
	if (p->instance) /* since 017: absent in older records */
		put_str(out, p->instance);
}

struct store_poll *record_decode_poll(const void *data, size_t len)
{
	struct cur c;
	if (!begin(&c, data, len, RECORD_POLL))
		return NULL;
	struct store_poll *p = xcalloc(1, sizeof *p);
	p->feed = get_str(&c);
	p->started_us = get_i64(&c);
	int64_t duration = get_i64(&c), status = get_i64(&c);
	p->bytes = get_i64(&c);
	int64_t seen = get_i64(&c), fresh = get_i64(&c);
	p->error = get_str(&c);
	p->etag = get_str(&c);
	p->last_modified = get_str(&c);
	p->permanent_url = get_str(&c);
	p->disabled_reason = get_str(&c);
	p->next_poll_us = get_i64(&c);
	p->instance = c.left ? get_str(&c) : NULL;
	if (c.bad || c.left || !p->feed ||
	    !time_ok("poll of", p->feed, "started_us", p->started_us, true, false) ||
	    !time_ok("poll of", p->feed, "next_poll_us", p->next_poll_us, true, true) ||
	    !num_ok("poll of", p->feed, "duration_ms", duration, INT_MIN, INT_MAX) ||
	    !num_ok("poll of", p->feed, "http_status", status, 0, 999) ||
	    !num_ok("poll of", p->feed, "bytes", p->bytes, 0, INT64_MAX) ||
	    !num_ok("poll of", p->feed, "items_seen", seen, 0, INT_MAX) ||
	    !num_ok("poll of", p->feed, "new_items", fresh, 0, INT_MAX)) {
		store_poll_free(p);
		return NULL;
	}
	p->duration_ms = (int)duration;
	p->http_status = (int)status;
	p->items_seen = (int)seen;
	p->new_items = (int)fresh;
	return p;
}

void record_encode_page(const struct store_page *p, struct buf *out)
{
	start(out, RECORD_PAGE);
	put_str(out, p->source);
	put_str(out, p->news_id);
	put_str(out, p->status);
	put_str(out, p->error);
	put_str(out, p->title);
	put_str(out, p->lead);
	put_str(out, p->body);
	put_str(out, p->author);
	put_str(out, p->image);
	put_str(out, p->caption);
	put_str(out, p->language);
	put_strs(out, p->tags, p->n_tags);
	put_i64(out, p->published_at);
	put_i64(out, p->modified_at);
	put_i64(out, p->seen_at_us);
	put_i64(out, p->retry_at_us);
	put_u64(out, p->n_revisit);
	for (size_t i = 0; i < p->n_revisit; i++)
		put_i64(out, p->revisit_s[i]);
	put_str(out, p->content_hash);
	if (p->published_claimed != STORE_TIME_NONE) /* as for articles */
		put_i64(out, p->published_claimed);
}

struct store_page *record_decode_page(const void *data, size_t len)
{
	struct cur c;
	if (!begin(&c, data, len, RECORD_PAGE))
		return NULL;
	struct store_page *p = xcalloc(1, sizeof *p);
	p->source = get_str(&c);
	p->news_id = get_str(&c);
	p->status = get_str(&c);
	p->error = get_str(&c);
	p->title = get_str(&c);
	p->lead = get_str(&c);
	p->body = get_str(&c);
	p->author = get_str(&c);
	p->image = get_str(&c);
	p->caption = get_str(&c);
	p->language = get_str(&c);
	p->tags = get_strs(&c, &p->n_tags);
	p->published_at = get_i64(&c);
	p->modified_at = get_i64(&c);
	p->seen_at_us = get_i64(&c);
	p->retry_at_us = get_i64(&c);
	uint64_t n = get_u64(&c);
	if (!c.bad && n <= c.left / 8) {
		p->revisit_s = xcalloc(n ? n : 1, sizeof *p->revisit_s);
		p->n_revisit = n;
		for (size_t i = 0; i < n; i++)
			p->revisit_s[i] = get_i64(&c);
	} else {
		c.bad = true;
	}
	char *hash = get_str(&c);
	if (hash && strlen(hash) < sizeof p->content_hash)
		memcpy(p->content_hash, hash, strlen(hash) + 1);
	else if (hash)
		c.bad = true;
	free(hash);
	p->published_claimed = c.left ? get_i64(&c) : STORE_TIME_NONE;
	if (c.bad || c.left || !p->source || !p->news_id || !p->status ||
	    !time_ok("page of", p->news_id, "published_at", p->published_at, false, true) ||
	    !time_ok("page of", p->news_id, "published_claimed", p->published_claimed, false,
		     true) ||
	    !time_ok("page of", p->news_id, "modified_at", p->modified_at, false, true) ||
	    !time_ok("page of", p->news_id, "seen_at_us", p->seen_at_us, true, false) ||
	    !time_ok("page of", p->news_id, "retry_at_us", p->retry_at_us, true, true)) {
		store_page_free(p);
		return NULL;
	}
	for (size_t i = 0; i < p->n_revisit; i++) {
		/* feedd.record_page takes them as int[] */
		if (!num_ok("page of", p->news_id, "revisit age", p->revisit_s[i], 0, INT_MAX)) {
			store_page_free(p);
			return NULL;
		}
	}
	return p;
}
