/*
 * test_text: entity decoding and HTML-to-plain-text for titles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/text.h"

static void test_entities(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		uint32_t cp;
	} cases[] = {
		{"&amp;", 5, '&'},	{"&nbsp;x", 6, 0xA0},	 {"&eacute;", 8, 0xE9},
		{"&#8217;", 7, 0x2019}, {"&#x2019;", 8, 0x2019}, {"&#X263a;", 8, 0x263A},
		{"&apos;", 6, '\''},	{"&hellip;", 8, 0x2026}, {"&amp", 0, 0},
		{"& amp;", 0, 0},	{"&nosuch;", 0, 0},	 {"&#;", 0, 0},
		{"&#x;", 0, 0},		{"&#12a;", 0, 0},	 {"&", 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint32_t cp = 0;
		size_t n = text_entity(cases[i].in, strlen(cases[i].in), &cp);
		if (n != cases[i].len || (n && cp != cases[i].cp))
			fail_msg("%s: length %zu cp %u, expected %zu %u", cases[i].in, n, cp,
				 cases[i].len, cases[i].cp);
	}
}

static void test_html_to_plain(void **state)
{
	static const char *const cases[][2] = {
		{"Plain title", "Plain title"},
		{"  lots \n of\t space  ", "lots of space"},
		{"<b>Bold</b> and <a href=\"x\">link</a>", "Bold and link"},
		{"a<br>b", "a b"},
		{"AT&T and Q&A", "AT&T and Q&A"},
		{"3 < 5 and a<b, x > y", "3 < 5 and a<b, x > y"},
		{"Fish &amp; chips", "Fish & chips"},
		{"&amp;quot;double&amp;quot;", "\"double\""},
		{"&amp;#8217;s", "\xe2\x80\x99s"},
		{"&lt;b&gt;escaped tag&lt;/b&gt;", "escaped tag"},
		{"non&nbsp;breaking&nbsp; space", "non breaking space"},
		{"<!-- comment -->Text", "Text"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = text_html_to_plain(cases[i][0]);
		if (strcmp(got, cases[i][1]) != 0)
			fail_msg("\"%s\": got \"%s\", expected \"%s\"", cases[i][0], got,
				 cases[i][1]);
		free(got);
	}
}

static void test_clean_field(void **state)
{
	assert_null(text_clean_field(NULL));
	assert_null(text_clean_field(strdup("  \n\t ")));
	char *s = text_clean_field(strdup("  a \n b  "));
	assert_string_equal(s, "a b");
	free(s);
}

static void test_put_utf8(void **state)
{
	struct buf b;
	buf_init(&b);
	text_put_utf8(&b, 'A');
	text_put_utf8(&b, 0xE9);
	text_put_utf8(&b, 0x20AC);
	text_put_utf8(&b, 0x1F600);
	text_put_utf8(&b, 0xD800);   /* surrogate */
	text_put_utf8(&b, 0x110000); /* out of range */
	text_put_utf8(&b, 0);
	assert_string_equal(b.data,
			    "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd"
			    "\xef\xbf\xbd");
	buf_free(&b);
}

static void test_base64(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
		{"", ""},
		{"RXhhbXBsZSA8Yj5BdG9tPC9iPg==", "Example <b>Atom</b>"},
		{"RXhhbXBsZSA8Yj5BdG9tPC9iPg", "Example <b>Atom</b>"}, /* padding left out */
		{" RXhh\nbXBs ZQ==\n", "Example"},		       /* white space anywhere */
		{"YQ", "a"},
		{"YWI", "ab"},
		{"Pz8-", "\x3f\x3f>"}, /* the URL alphabet */
		{"Pz8_", "\x3f\x3f\x3f"},
		{"Y", NULL},	    /* six bits: nothing */
		{"YQ==YQ==", NULL}, /* data after the padding */
		{"YQ!=", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf out;
		buf_init(&out);
		int rc = text_base64_decode(cases[i].in, strlen(cases[i].in), &out);
		if (cases[i].out ? rc != 0 || out.len != strlen(cases[i].out) ||
				    memcmp(buf_str(&out), cases[i].out, out.len) != 0
				 : rc != -1)
			fail_msg("\"%s\": rc %d, \"%s\"", cases[i].in, rc, buf_str(&out));
		buf_free(&out);
	}
}

static void test_paragraphs(void **state)
{
	static const char *const cases[][2] = {
		{"<p>One.</p><p>Two &amp; three.</p>", "One.\nTwo & three."},
		{"Line<br>next<br/>last", "Line\nnext\nlast"},
		{"<div><p>  spaced\n  out "
		 "</p>\n\n<p></p><ul><li>a</li><li><b>b</b></li></ul></div>",
		 "spaced out\na\nb"},
		{"no blocks, <em>inline</em> only", "no blocks, inline only"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = text_html_to_paragraphs(cases[i][0]);
		if (!got || strcmp(got, cases[i][1]) != 0)
			fail_msg("\"%s\": got \"%s\"", cases[i][0], got ? got : "(null)");
		free(got);
	}
	assert_null(text_html_to_paragraphs("<p> </p><br>"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entities),    cmocka_unit_test(test_html_to_plain),
		cmocka_unit_test(test_clean_field), cmocka_unit_test(test_put_utf8),
		cmocka_unit_test(test_paragraphs),  cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
