/*
 * test_charset: encoding detection and conversion, byte-exact, including
 * input split at every possible point (a multi-byte character or a BOM cut
 * in two must convert the same).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/charset.h"

/* Converts in[0..len) pushed in pieces of step bytes (0: all at once). */
static char *convert(const char *hint, const char *in, size_t len, size_t step, char *name,
		     size_t namesz)
{
	struct charset_conv *cv = charset_conv_new(hint);
	struct buf out;
	buf_init(&out);
	if (step == 0)
		step = len ? len : 1;
	for (size_t i = 0; i < len; i += step)
		charset_conv_push(cv, in + i, len - i < step ? len - i : step, &out);
	charset_conv_finish(cv, &out);
	if (name)
		snprintf(name, namesz, "%s", charset_conv_name(cv));
	charset_conv_free(cv);
	return buf_steal(&out);
}

struct ccase {
	const char *what, *hint, *in;
	size_t len;
	const char *want, *want_name;
};

#define S(lit) lit, sizeof(lit) - 1

static const struct ccase cases[] = {
	{"plain utf-8", NULL, S("<a>caf\xc3\xa9</a>"), "<a>caf\xc3\xa9</a>", "UTF-8"},
	{"utf-8 bom stripped", NULL, S("\xef\xbb\xbf<a/>"), "<a/>", "UTF-8"},
	{"latin1 label read as cp1252", NULL,
	 S("<?xml version='1.0' encoding='iso-8859-1'?><a>\x93q\x94 \xe9 \x80</a>"),
	 "<?xml version='1.0' encoding='iso-8859-1'?><a>\xe2\x80\x9cq\xe2\x80\x9d \xc3\xa9 "
	 "\xe2\x82\xac</a>",
	 "WINDOWS-1252"},
	{"hint beats declaration", "windows-1252",
	 S("<?xml version=\"1.0\" encoding=\"utf-8\"?><a>\xe9</a>"),
	 "<?xml version=\"1.0\" encoding=\"utf-8\"?><a>\xc3\xa9</a>", "WINDOWS-1252"},
	{"bom beats hint", "iso-8859-1", S("\xef\xbb\xbf<a>\xc3\xa9</a>"), "<a>\xc3\xa9</a>",
	 "UTF-8"},
	{"utf-16le bom", NULL, S("\xff\xfe<\0a\0/\0>\0"), "<a/>", "UTF-16LE"},
	{"utf-16be no bom", NULL, S("\0<\0a\0/\0>"), "<a/>", "UTF-16BE"},
	{"utf-16le surrogate pair", NULL, S("\xff\xfe<\0=\xd8\0\xde>\0"), "<\xf0\x9f\x98\x80>",
	 "UTF-16LE"},
	{"invalid utf-8 replaced", NULL, S("<a>\x80\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80</a>"),
	 "<a>\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd</a>",
	 "UTF-8"},
	{"nul replaced", NULL, S("<a>x\0y</a>"), "<a>x\xef\xbf\xbdy</a>", "UTF-8"},
	{"truncated last sequence", NULL, S("<a>\xe2\x82"), "<a>\xef\xbf\xbd\xef\xbf\xbd", "UTF-8"},
	{"undefined cp1252 byte", "windows-1252", S("a\x81z"), "a\xef\xbf\xbdz", "WINDOWS-1252"},
	{"koi8-r hint", "KOI8-R", S("\xee\xcf\xd7"), "\xd0\x9d\xd0\xbe\xd0\xb2", "KOI8-R"},
	{"unknown label", NULL, S("<?xml version='1.0' encoding='x-no-such'?><a/>"),
	 "<?xml version='1.0' encoding='x-no-such'?><a/>", "UTF-8"},
	{"empty", NULL, S(""), "", "UTF-8"},
};

static void test_cases(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct ccase *c = &cases[i];
		for (size_t step = 0; step <= 3; step++) {
			char name[64];
			char *got = convert(c->hint, c->in, c->len, step, name, sizeof name);
			if (strcmp(got, c->want) != 0)
				fail_msg("%s (step %zu): got \"%s\"", c->what, step, got);
			if (strcmp(name, c->want_name) != 0)
				fail_msg("%s: encoding %s, expected %s", c->what, name,
					 c->want_name);
			free(got);
		}
	}
}

static void test_every_split_point(void **state)
{
	/* A long UTF-16 document with a BOM and characters of every length,
	 * longer than the sniffing window so both paths are used. */
	struct buf in, want;
	buf_init(&in);
	buf_init(&want);
	buf_append(&in, "\xff\xfe", 2);
	for (int i = 0; i < 400; i++) {
		buf_append(&in, "a\0\xe9\0\x2c\x20=\xd8\0\xde", 10);
		buf_puts(&want, "a\xc3\xa9\xe2\x80\xac\xf0\x9f\x98\x80");
	}
	for (size_t step = 1; step < 40; step += 3) {
		char *got = convert(NULL, in.data, in.len, step, NULL, 0);
		if (strcmp(got, want.data) != 0)
			fail_msg("split every %zu bytes: output differs", step);
		free(got);
	}
	buf_free(&in);
	buf_free(&want);
}

static void test_warning(void **state)
{
	struct charset_conv *cv = charset_conv_new("x-klingon");
	struct buf out;
	buf_init(&out);
	charset_conv_push(cv, "<a/>", 4, &out);
	charset_conv_finish(cv, &out);
	assert_non_null(charset_conv_warning(cv));
	assert_non_null(strstr(charset_conv_warning(cv), "x-klingon"));
	assert_string_equal(out.data, "<a/>");
	charset_conv_free(cv);
	buf_free(&out);
}

static void test_boundary(void **state)
{
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* 1+2+3+4 bytes */
	static const size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10};
	for (size_t n = 0; n <= 10; n++)
		if (charset_utf8_boundary(s, n) != want[n])
			fail_msg("boundary(%zu) = %zu, expected %zu", n,
				 charset_utf8_boundary(s, n), want[n]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_warning),
		cmocka_unit_test(test_boundary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
