/*
 * fuzz_check: what every fuzz target asserts about the strings it gets back.
 * The parsers promise valid UTF-8 whatever the input (README, "Encodings"),
 * so a string that is not is a bug as real as a crash: the target aborts,
 * and libFuzzer saves the input like any other crash.
 */
#ifndef FEEDD_FUZZ_CHECK_H
#define FEEDD_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* Whether s is well-formed UTF-8: shortest forms only, no surrogates,
 * nothing above U+10FFFF. */
static inline bool fuzz_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		size_t n;
		unsigned min, cp;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, min = 0x80, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, min = 0x800, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* Aborts naming what when s (NULL is fine) is not valid UTF-8. */
static inline void fuzz_check_utf8(const char *what, const char *s)
{
	if (s && !fuzz_utf8_valid(s)) {
		fprintf(stderr, "fuzz: %s is not valid UTF-8\n", what);
		abort();
	}
}

#endif
