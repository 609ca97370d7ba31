/*
 * fuzz_date: libFuzzer target for the feed date parsers (include/feedd/date.h).
 * The input, NUL-terminated, goes to date_parse; a date it accepts must come
 * back unchanged through date_format_utc and date_parse again.  The first
 * eight bytes, read as a time, go through the same round trip, so the
 * formatter sees the whole int64_t range and not only parseable dates.
 *
 * scripts/fuzz date SECONDS runs it on the strings of tests/unit/test_date.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/date.h"
#include "feedd/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0001-01-01T00:00:00Z: date_parse reads years 1..9999, while
 * date_format_utc also writes year 0 (which a timezone offset can reach). */
#define FIRST_PARSEABLE (-62135596800LL)

/* Aborts unless t, if date_format_utc writes it, reads back as t. */
static void round_trip(int64_t t, const char *from)
{
	char iso[DATE_ISO_LEN];
	memset(iso, 'x', sizeof iso);
	if (date_format_utc(t, iso) != 0)
		return;
	if (strlen(iso) != DATE_ISO_LEN - 1) {
		fprintf(stderr, "fuzz_date: %lld formats as \"%s\"\n", (long long)t, iso);
		abort();
	}
	if (t < FIRST_PARSEABLE)
		return;
	int64_t back = INT64_MIN;
	if (date_parse(iso, &back) != 0 || back != t) {
		fprintf(stderr,
			"fuzz_date: %lld (from %s) formats as \"%s\", which reads as %lld\n",
			(long long)t, from, iso, (long long)back);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size + 1 bytes, so ASan sees a read past the NUL. */
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	int64_t t;
	if (date_parse(s, &t) == 0)
		round_trip(t, "date_parse");
	free(s);

	if (size >= sizeof t) {
		memcpy(&t, data, sizeof t);
		round_trip(t, "the input's first 8 bytes");
	}
	return 0;
}
