/*
 * test_record: store items survive the trip to bytes and back field for
 * field (NULLs, empty strings, tags, extreme times), and records cut short,
 * padded, of another kind or with bytes flipped come back as NULL or as a
 * well-formed item, never a crash or an overread (run it under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/record.h"

static void assert_str(const char *want, const char *got)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(want, got);
}

static struct store_article *sample_article(void)
{
	struct store_article *a = calloc(1, sizeof *a);
	a->source = strdup("irna-en");
	a->feed = strdup("irna-en-all");
	a->news_id = strdup("85859288");
	a->url = strdup("https://en.irna.ir/news/85859288/x");
	a->title = strdup("Title with \"quotes\" and ünïcode");
	a->lead = strdup("");
	a->body = NULL;
	a->author = strdup("A. Writer");
	a->image = NULL;
	a->language = strdup("en");
	a->n_tags = 2;
	a->tags = calloc(2, sizeof *a->tags);
	a->tags[0] = strdup("Economy");
	a->tags[1] = strdup("");
	a->published_at = INT64_MIN;
	a->published_claimed = INT64_MIN;
	a->seen_at_us = 1749656760123456;
	a->fetch_page = true;
	store_article_hash(a);
	return a;
}

static void test_article_round_trip(void **state)
{
	struct store_article *a = sample_article();
	struct buf b;
	buf_init(&b);
	record_encode_article(a, &b);
	assert_int_equal(record_kind_of(b.data, b.len), RECORD_ARTICLE);
	struct store_article *c = record_decode_article(b.data, b.len);
	assert_non_null(c);
	assert_str(a->source, c->source);
	assert_str(a->feed, c->feed);
	assert_str(a->news_id, c->news_id);
	assert_str(a->url, c->url);
	assert_str(a->title, c->title);
	assert_str(a->lead, c->lead);
	assert_null(c->body);
	assert_str(a->author, c->author);
	assert_null(c->image);
	assert_str(a->language, c->language);
	assert_int_equal(c->n_tags, 2);
	assert_string_equal(c->tags[0], "Economy");
	assert_string_equal(c->tags[1], "");
	assert_true(c->published_at == INT64_MIN);
	assert_true(c->seen_at_us == a->seen_at_us);
	assert_true(c->fetch_page);
	assert_string_equal(c->content_hash, a->content_hash);
	assert_null(c->ctx);
	/* Cut anywhere: refused. */
	for (size_t n = 0; n < b.len; n++) {
		struct store_article *t = record_decode_article(b.data, n);
		if (t)
			fail_msg("a record cut to %zu of %zu bytes was accepted", n, b.len);
	}
	/* One byte too many: refused. */
	buf_putc(&b, 'x');
	assert_null(record_decode_article(b.data, b.len));
	/* Another kind: refused. */
	assert_null(record_decode_poll(b.data, b.len - 1));
	assert_null(record_decode_page(b.data, b.len - 1));
	store_article_free(a);
	store_article_free(c);
	buf_free(&b);
}

/* The instance that polled (since migration 017) is written last and only
 * when there is one: a record without it is one written before, which
 * still decodes; cut anywhere else, the record is refused. */
static void test_poll_instance(void **state)
{
	(void)state;
	struct store_poll p = {.feed = "f1", .started_us = 5, .next_poll_us = STORE_TIME_NONE};
	struct buf old, b;
	buf_init(&old);
	buf_init(&b);
	record_encode_poll(&p, &old);
	p.instance = "vm:12:1796000000000000";
	record_encode_poll(&p, &b);
	assert_true(b.len > old.len);
	struct store_poll *c = record_decode_poll(b.data, b.len);
	assert_non_null(c);
	assert_string_equal(c->instance, "vm:12:1796000000000000");
	store_poll_free(c);
	c = record_decode_poll(old.data, old.len);
	assert_non_null(c);
	assert_null(c->instance);
	assert_true(c->started_us == 5);
	store_poll_free(c);
	/* The same bytes as the old record, up to where the instance starts
	 * (the header's length aside): what a feedd before 017 wrote. */
	for (size_t n = old.len + 1; n < b.len; n++)
		assert_null(record_decode_poll(b.data, n));
	buf_free(&old);
	buf_free(&b);
}

static void test_poll_round_trip(void **state)
{
	struct store_poll p = {
		.feed = "f1",
		.started_us = 0,
		.duration_ms = 1234,
		.http_status = 304,
		.bytes = 1LL << 40,
		.items_seen = 7,
		.new_items = 3,
		.error = NULL,
		.etag = "\"abc\"",
		.last_modified = "Wed, 11 Jun 2025 15:46:00 GMT",
		.permanent_url = NULL,
		.disabled_reason = "HTTP 410 Gone",
		.next_poll_us = INT64_C(253402300799999999), /* the last microsecond of 9999 */
	};
	struct buf b;
	buf_init(&b);
	record_encode_poll(&p, &b);
	struct store_poll *c = record_decode_poll(b.data, b.len);
	assert_non_null(c);
	assert_string_equal(c->feed, "f1");
	assert_true(c->started_us == 0);
	assert_int_equal(c->duration_ms, 1234);
	assert_int_equal(c->http_status, 304);
	assert_true(c->bytes == 1LL << 40);
	assert_int_equal(c->items_seen, 7);
	assert_int_equal(c->new_items, 3);
	assert_null(c->error);
	assert_string_equal(c->etag, "\"abc\"");
	assert_string_equal(c->last_modified, p.last_modified);
	assert_null(c->permanent_url);
	assert_string_equal(c->disabled_reason, "HTTP 410 Gone");
	assert_true(c->next_poll_us == p.next_poll_us);
	store_poll_free(c);
	for (size_t n = 0; n < b.len; n++)
		assert_null(record_decode_poll(b.data, n));
	buf_free(&b);
}

static void test_page_round_trip(void **state)
{
	int64_t revisit[] = {3600, 86400};
	char *tags[] = {"a", "b", "c"};
	struct store_page p = {
		.source = "agency",
		.news_id = "1",
		.status = "ok",
		.title = "T",
		.body = "Para one.\nPara two.",
		.caption = "Cap",
		.tags = tags,
		.n_tags = 3,
		.published_at = 1749656760,
		.published_claimed = INT64_MIN,
		.modified_at = INT64_MIN,
		.seen_at_us = 1,
		.retry_at_us = INT64_MIN,
		.revisit_s = revisit,
		.n_revisit = 2,
	};
	store_page_hash(&p);
	struct buf b;
	buf_init(&b);
	record_encode_page(&p, &b);
	struct store_page *c = record_decode_page(b.data, b.len);
	assert_non_null(c);
	assert_string_equal(c->source, "agency");
	assert_string_equal(c->status, "ok");
	assert_null(c->error);
	assert_string_equal(c->body, p.body);
	assert_null(c->lead);
	assert_string_equal(c->caption, "Cap");
	assert_int_equal(c->n_tags, 3);
	assert_string_equal(c->tags[2], "c");
	assert_true(c->published_at == 1749656760);
	assert_true(c->modified_at == INT64_MIN);
	assert_int_equal(c->n_revisit, 2);
	assert_true(c->revisit_s[1] == 86400);
	assert_string_equal(c->content_hash, p.content_hash);
	store_page_free(c);
	for (size_t n = 0; n < b.len; n++)
		assert_null(record_decode_page(b.data, n));
	buf_free(&b);
}

/* Every single-byte change of a record either decodes to something
 * well-formed or is refused; ASan checks the rest. */
static void test_flipped_bytes(void **state)
{
	struct store_article *a = sample_article();
	struct buf b;
	buf_init(&b);
	record_encode_article(a, &b);
	static const unsigned char values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
	for (size_t i = 0; i < b.len; i++) {
		unsigned char old = (unsigned char)b.data[i];
		for (size_t v = 0; v < sizeof values; v++) {
			b.data[i] = (char)values[v];
			struct store_article *c = record_decode_article(b.data, b.len);
			if (c) {
				assert_non_null(c->source);
				assert_non_null(c->news_id);
				store_article_free(c);
			}
		}
		b.data[i] = (char)old;
	}
	assert_int_equal(record_kind_of("", 0), 0);
	assert_int_equal(record_kind_of("\x09", 1), 0);
	store_article_free(a);
	buf_free(&b);
}

/* Encodes the poll with one field changed and decodes it; whether it was
 * accepted. */
static bool poll_accepted(int64_t started_us, int64_t next_poll_us, int64_t bytes)
{
	struct store_poll p = {.feed = "f1",
			       .started_us = started_us,
			       .bytes = bytes,
			       .next_poll_us = next_poll_us};
	struct buf b;
	buf_init(&b);
	record_encode_poll(&p, &b);
	struct store_poll *c = record_decode_poll(b.data, b.len);
	buf_free(&b);
	store_poll_free(c);
	return c != NULL;
}

/* The int fields of a poll are written as 64 bits: a value that does not
 * fit is refused rather than cut. */
static bool poll_int_accepted(size_t field, int64_t v)
{
	struct store_poll p = {.feed = "f1", .started_us = 1, .next_poll_us = STORE_TIME_NONE};
	struct buf b;
	buf_init(&b);
	record_encode_poll(&p, &b);
	/* kind, "f1" (4 + 2 bytes), started_us; then duration_ms, http_status,
	 * bytes, items_seen, new_items */
	size_t at = 1 + 6 + 8 + 8 * field;
	for (int i = 0; i < 8; i++)
		b.data[at + (size_t)i] = (char)((uint64_t)v >> (8 * i));
	struct store_poll *c = record_decode_poll(b.data, b.len);
	buf_free(&b);
	store_poll_free(c);
	return c != NULL;
}

/* Times that feedd never writes, and that store_sql.c would overflow on when
 * formatting them, refuse the record. */
static void test_times_out_of_range(void **state)
{
	const int64_t end_us = INT64_C(253402300800) * 1000000; /* 10000-01-01 */
	assert_true(poll_accepted(0, STORE_TIME_NONE, 0));
	assert_true(poll_accepted(end_us - 1, end_us - 1, INT64_MAX));
	assert_false(poll_accepted(INT64_MIN, STORE_TIME_NONE, 0)); /* not for started_us */
	assert_false(poll_accepted(INT64_MIN + 1, STORE_TIME_NONE, 0));
	assert_false(poll_accepted(-1, STORE_TIME_NONE, 0));
	assert_false(poll_accepted(end_us, STORE_TIME_NONE, 0));
	assert_false(poll_accepted(INT64_MAX, STORE_TIME_NONE, 0));
	assert_false(poll_accepted(1, INT64_MIN + 1, 0));
	assert_false(poll_accepted(1, INT64_MAX, 0));
	assert_false(poll_accepted(1, STORE_TIME_NONE, -1)); /* bytes */
	assert_true(poll_int_accepted(0, -7));		     /* duration_ms */
	assert_false(poll_int_accepted(0, INT64_C(1) << 32));
	assert_true(poll_int_accepted(1, 599)); /* http_status */
	assert_false(poll_int_accepted(1, -1));
	assert_false(poll_int_accepted(1, INT64_MIN));
	assert_false(poll_int_accepted(3, INT64_C(1) << 31)); /* items_seen */
	assert_false(poll_int_accepted(4, -3));		      /* new_items */

	struct store_article *a = sample_article();
	struct buf b;
	buf_init(&b);
	int64_t bad_seen[] = {INT64_MIN, INT64_MIN + 1, -1, end_us, INT64_MAX};
	for (size_t i = 0; i < sizeof bad_seen / sizeof *bad_seen; i++) {
		a->seen_at_us = bad_seen[i];
		record_encode_article(a, &b);
		struct store_article *c = record_decode_article(b.data, b.len);
		if (c)
			fail_msg("an article seen at %" PRId64 " us was accepted", bad_seen[i]);
	}
	a->seen_at_us = 1749656760123456;
	a->published_at = INT64_MIN + 1;
	record_encode_article(a, &b);
	assert_null(record_decode_article(b.data, b.len));
	a->published_at = INT64_C(-62167219200); /* 0000-01-01: a feed may say so */
	record_encode_article(a, &b);
	struct store_article *c = record_decode_article(b.data, b.len);
	assert_non_null(c);
	store_article_free(c);
	store_article_free(a);

	int64_t revisit[] = {60, -1};
	struct store_page p = {.source = "s",
			       .news_id = "1",
			       .status = "ok",
			       .published_at = STORE_TIME_NONE,
			       .published_claimed = STORE_TIME_NONE,
			       .modified_at = STORE_TIME_NONE,
			       .seen_at_us = 1,
			       .retry_at_us = STORE_TIME_NONE,
			       .revisit_s = revisit,
			       .n_revisit = 1};
	record_encode_page(&p, &b);
	struct store_page *pc = record_decode_page(b.data, b.len);
	assert_non_null(pc);
	store_page_free(pc);
	p.n_revisit = 2; /* -1 s */
	record_encode_page(&p, &b);
	assert_null(record_decode_page(b.data, b.len));
	p.n_revisit = 1;
	p.retry_at_us = INT64_MAX;
	record_encode_page(&p, &b);
	assert_null(record_decode_page(b.data, b.len));
	p.retry_at_us = STORE_TIME_NONE;
	p.modified_at = INT64_MAX;
	record_encode_page(&p, &b);
	assert_null(record_decode_page(b.data, b.len));
	buf_free(&b);
}

/* A claimed publication time the store did not take (issue 12) travels at
 * the end of the record, only when set: a record without it (as written
 * before schema 10) reads as "none", and a bad one is refused. */
static void test_published_claimed(void **state)
{
	struct store_article *a = sample_article();
	struct buf b;
	buf_init(&b);
	record_encode_article(a, &b);
	size_t without = b.len;
	a->published_claimed = INT64_C(32503680000); /* 3000-01-01 */
	record_encode_article(a, &b);
	assert_int_equal(b.len, without + 8);
	struct store_article *c = record_decode_article(b.data, b.len);
	assert_non_null(c);
	assert_true(c->published_claimed == INT64_C(32503680000));
	assert_true(c->published_at == INT64_MIN);
	store_article_free(c);
	c = record_decode_article(b.data, without);
	assert_non_null(c);
	assert_true(c->published_claimed == STORE_TIME_NONE);
	store_article_free(c);
	for (size_t n = without + 1; n < b.len; n++)
		assert_null(record_decode_article(b.data, n));
	a->published_claimed = INT64_MAX;
	record_encode_article(a, &b);
	assert_null(record_decode_article(b.data, b.len));
	store_article_free(a);

	struct store_page p = {.source = "s",
			       .news_id = "1",
			       .status = "ok",
			       .published_at = STORE_TIME_NONE,
			       .published_claimed = INT64_C(32503680000),
			       .modified_at = STORE_TIME_NONE,
			       .seen_at_us = 1,
			       .retry_at_us = STORE_TIME_NONE};
	record_encode_page(&p, &b);
	struct store_page *pc = record_decode_page(b.data, b.len);
	assert_non_null(pc);
	assert_true(pc->published_claimed == INT64_C(32503680000));
	store_page_free(pc);
	pc = record_decode_page(b.data, b.len - 8);
	assert_non_null(pc);
	assert_true(pc->published_claimed == STORE_TIME_NONE);
	store_page_free(pc);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_article_round_trip),
		cmocka_unit_test(test_poll_round_trip),
		cmocka_unit_test(test_poll_instance),
		cmocka_unit_test(test_page_round_trip),
		cmocka_unit_test(test_flipped_bytes),
		cmocka_unit_test(test_times_out_of_range),
		cmocka_unit_test(test_published_claimed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
