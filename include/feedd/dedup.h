/*
 * dedup: the in-memory answer to "is this article already stored, with this
 * content, linked to this feed?", so that re-reading a feed costs no database
 * round trip.  Keys are (source, news ID); each remembers the 64-bit prefix
 * of the article's content hash and the feeds it was linked to.
 *
 * The set is bounded: past max_entries the oldest entry is forgotten, which
 * only costs a round trip later (the database's unique key is the final
 * word).  No I/O.
 */
#ifndef FEEDD_DEDUP_H
#define FEEDD_DEDUP_H

#include <stddef.h>
#include <stdint.h>

enum dedup_answer {
	DEDUP_UNKNOWN,	/* not in the set */
	DEDUP_SAME,	/* same content, and this feed is linked: nothing to do */
	DEDUP_NEW_FEED, /* same content, but this feed is not linked yet */
	DEDUP_CHANGED,	/* the content differs: a revision */
};

struct dedup;

struct dedup *dedup_new(size_t max_entries);
void dedup_free(struct dedup *d);
/* What the set knows of (source, news_id) with content hash chash from feed. */
enum dedup_answer dedup_lookup(const struct dedup *d, const char *source, const char *news_id,
			       uint64_t chash, const char *feed);
/* Records that (source, news_id) is stored with chash and linked to feed
 * (feed may be NULL when warming from the database without feed names). */
void dedup_remember(struct dedup *d, const char *source, const char *news_id, uint64_t chash,
		    const char *feed);
size_t dedup_size(const struct dedup *d);
/* Bytes held, roughly: what the status line and the benchmark report. */
size_t dedup_memory(const struct dedup *d);

#endif
