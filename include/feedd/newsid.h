/*
 * newsid: how feedd recognises an article.  A source's news_id pattern
 * (PCRE2, first capture group) is tried on the entry's link, then its guid;
 * without a pattern, or when it matches neither, the guid is the ID, else the
 * link, else a stable hash of title (or description) and date.  No I/O.
 */
#ifndef FEEDD_NEWSID_H
#define FEEDD_NEWSID_H

#include <stdbool.h>
#include <stddef.h>

struct pcre2_real_code_8;

/* Compiles a news-ID pattern; NULL with a message in err (errsz bytes) when
 * it does not compile or has no capture group. */
struct pcre2_real_code_8 *newsid_compile(const char *pattern, char *err, size_t errsz);
void newsid_free(struct pcre2_real_code_8 *re);

/* The news ID of an entry, as a new string, or NULL when the entry has no
 * guid, link or text. text is what identifies an entry without either: its
 * title, else its description or first enclosure URL (feed_entry_key_text).
 * *matched says whether the pattern gave the ID. */
char *newsid_compute(const struct pcre2_real_code_8 *re, const char *link, const char *guid,
		     const char *text, const char *date, bool *matched);

/* The first capture group of re in s, as a new string, or NULL. */
char *newsid_match(const struct pcre2_real_code_8 *re, const char *s);

#endif
