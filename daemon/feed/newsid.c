/*
 * newsid: news-ID extraction (see newsid.h).
 *
 * The fallback hash is 64-bit FNV-1a over "text\ndate", written as "h:" and
 * 16 hex digits.  It is part of the stored data (articles are keyed by it),
 * so it must never change.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "feedd/newsid.h"

#include "feedd/util.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct pcre2_real_code_8 *newsid_compile(const char *pattern, char *err, size_t errsz)
{
	int code;
	PCRE2_SIZE offset;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code,
				       &offset, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof msg);
		snprintf(err, errsz, "%s at offset %zu", (const char *)msg, (size_t)offset);
		return NULL;
	}
	uint32_t groups = 0;
	pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
	if (groups < 1) {
		snprintf(err, errsz, "the pattern needs a capture group, e.g. /news/([0-9]+)/");
		pcre2_code_free(re);
		return NULL;
	}
	return re;
}

void newsid_free(struct pcre2_real_code_8 *re)
{
	pcre2_code_free(re);
}

char *newsid_match(const struct pcre2_real_code_8 *re, const char *s)
{
	if (!re || !s)
		return NULL;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	char *id = NULL;
	int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
	if (rc >= 2) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		if (ov[2] != PCRE2_UNSET && ov[3] > ov[2])
			id = xstrndup(s + ov[2], ov[3] - ov[2]);
	}
	pcre2_match_data_free(md);
	return id;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

char *newsid_compute(const struct pcre2_real_code_8 *re, const char *link, const char *guid,
		     const char *text, const char *date, bool *matched)
{
	*matched = false;
	if (re) {
		char *id = newsid_match(re, link);
		if (!id)
			id = newsid_match(re, guid);
		if (id) {
			*matched = true;
			return id;
		}
	}
	if (guid && *guid)
		return xstrdup(guid);
	if (link && *link)
		return xstrdup(link);
	if (!text || !*text)
		return NULL;
	uint64_t h = fnv1a(0xcbf29ce484222325ULL, text);
	h = fnv1a(h, "\n");
	h = fnv1a(h, date ? date : "");
	char out[24];
	snprintf(out, sizeof out, "h:%016llx", (unsigned long long)h);
	return xstrdup(out);
}
