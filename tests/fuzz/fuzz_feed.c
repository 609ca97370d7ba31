/*
 * fuzz_feed: libFuzzer target for the feed parser (include/feedd/feed.h),
 * driven through its push interface as cmd_parse.c and the fetcher drive it.
 *
 * Each input is parsed whole, then pushed in small pieces and in a few large
 * ones (sizes taken from the input's first and last bytes): all three must
 * hand over the same feed, entries and result, as test_feed's fixtures do,
 * because the fetcher pushes whatever the network delivers.  A fourth pass
 * uses tiny limits and a charset hint picked by the input, to reach the
 * cutting and conversion code.  Every string handed over must be valid
 * UTF-8.  Nothing lost, nothing crashes.
 *
 * scripts/fuzz feed SECONDS runs it on tests/fixtures/feeds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/date.h"
#include "feedd/feed.h"
#include "feedd/util.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the callbacks saw, as text, for comparing one pass with another. */
struct seen {
	struct buf out;
	size_t entries;
	int feeds;
};

static void put(struct buf *b, const char *key, const char *v)
{
	fuzz_check_utf8(key, v);
	buf_printf(b, "%s=%s|", key, v ? v : "-");
}

static void put_time(struct buf *b, const char *key, int64_t t)
{
	char iso[DATE_ISO_LEN];
	if (t != FEED_TIME_NONE && date_format_utc(t, iso) == 0)
		buf_printf(b, "%s=%s|", key, iso);
	else
		buf_printf(b, "%s=%lld|", key, (long long)t);
}

static void on_feed(void *ctx, const struct feed_info *f)
{
	struct seen *s = ctx;
	if (s->feeds++ != 0) {
		fprintf(stderr, "fuzz_feed: on_feed called twice\n");
		abort();
	}
	buf_printf(&s->out, "feed %s|", feed_format_name(f->format));
	put(&s->out, "title", f->title);
	put(&s->out, "link", f->link);
	put(&s->out, "subtitle", f->subtitle);
	put(&s->out, "language", f->language);
	put_time(&s->out, "updated", f->updated);
	buf_putc(&s->out, '\n');
}

static void on_entry(void *ctx, struct feed_entry *e)
{
	struct seen *s = ctx;
	if (e->index != s->entries++) {
		fprintf(stderr, "fuzz_feed: entry %zu handed over as index %zu\n", s->entries - 1,
			e->index);
		abort();
	}
	put(&s->out, "guid", e->guid);
	put(&s->out, "link", e->link);
	put(&s->out, "title", e->title);
	put(&s->out, "summary", e->summary);
	put(&s->out, "content", e->content);
	put(&s->out, "author", e->author);
	put(&s->out, "published_raw", e->published_raw);
	put(&s->out, "key", feed_entry_key_text(e));
	put_time(&s->out, "published", e->published);
	put_time(&s->out, "updated", e->updated);
	for (size_t i = 0; i < e->n_categories; i++)
		put(&s->out, "category", e->categories[i]);
	for (size_t i = 0; i < e->n_enclosures; i++) {
		put(&s->out, "enclosure", e->enclosures[i].url);
		put(&s->out, "type", e->enclosures[i].type);
		buf_printf(&s->out, "length=%lld|", (long long)e->enclosures[i].length);
	}
	buf_putc(&s->out, '\n');
	feed_entry_free(e);
}

static void on_warning(void *ctx, const char *msg)
{
	if (!msg || !*msg) {
		fprintf(stderr, "fuzz_feed: empty warning\n");
		abort();
	}
}

/* Pushes data in pieces of step bytes; returns finish's result with the
 * reason appended to s->out, so that comparing outputs compares both. */
static int parse(const uint8_t *data, size_t size, size_t step, const struct feed_limits *limits,
		 const char *charset, struct seen *s)
{
	buf_init(&s->out);
	s->entries = 0;
	s->feeds = 0;
	struct feed_handler h = {on_feed, on_entry, on_warning, s};
	struct feed_parser *p = feed_parser_new(limits, charset, "https://base.example/dir/", &h);
	for (size_t i = 0; i < size; i += step) {
		size_t n = size - i < step ? size - i : step;
		if (feed_parser_push(p, (const char *)data + i, n) != 0)
			break;
	}
	struct buf err;
	buf_init(&err);
	int rc = feed_parser_finish(p, &err);
	if (rc != 0 && err.len == 0) {
		fprintf(stderr, "fuzz_feed: finish failed without a reason\n");
		abort();
	}
	if (rc == 0 && s->feeds != 1) {
		fprintf(stderr, "fuzz_feed: a feed recovered with %d feed callbacks\n", s->feeds);
		abort();
	}
	if (feed_parser_entries(p) != s->entries) {
		fprintf(stderr, "fuzz_feed: %zu entries counted, %zu handed over\n",
			feed_parser_entries(p), s->entries);
		abort();
	}
	buf_printf(&s->out, "rc=%d %s\n", rc, buf_str(&err));
	buf_free(&err);
	feed_parser_free(p);
	return rc;
}

/* Aborts, showing both, when a chunked pass saw something else than the
 * whole-document pass. */
static void same(const struct seen *whole, const struct seen *piece, size_t step)
{
	if (strcmp(buf_str(&whole->out), buf_str(&piece->out)) == 0)
		return;
	fprintf(stderr, "fuzz_feed: pushing %zu bytes at a time differs:\n%.2000s\n---\n%.2000s\n",
		step, buf_str(&whole->out), buf_str(&piece->out));
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	feed_xml_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct seen whole, piece;
	parse(data, size, size, NULL, NULL, &whole);

	size_t small = 1 + data[0] % 16;
	parse(data, size, small, NULL, NULL, &piece);
	same(&whole, &piece, small);
	buf_free(&piece.out);

	size_t large = 1 + size / (2 + data[size - 1] % 6);
	parse(data, size, large, NULL, NULL, &piece);
	same(&whole, &piece, large);
	buf_free(&piece.out);
	buf_free(&whole.out);

	static const char *const charsets[] = {
		NULL,	    "utf-8",  "windows-1252", "iso-8859-1", "koi8-r", "utf-16",
		"utf-16be", "utf-32", "shift_jis",    "gb18030",    "utf-7",  "no-such-charset",
	};
	struct feed_limits tiny = {
		.max_document = 1 + size / (1 + data[0] % 3),
		.max_entries = 1 + data[size - 1] % 4,
		.max_field = 1 + data[size / 2] % 64,
	};
	parse(data, size, small, &tiny, charsets[data[size / 3] % ARRAY_LEN(charsets)], &piece);
	buf_free(&piece.out);
	return 0;
}
