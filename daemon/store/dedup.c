/*
 * dedup: an open-addressing hash set with linear probing and backward-shift
 * deletion, plus a FIFO ring of insertion order for eviction (see dedup.h).
 *
 * Source and feed names are interned once into small integers, so an entry
 * costs its news ID, a 64-bit key hash, the content hash and one feed index;
 * articles carried by several feeds grow a small overflow array.
 */
#include "feedd/dedup.h"

#include "feedd/util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define NO_FEED UINT32_MAX

struct slot {
	uint64_t key;  /* hash of source and news ID; 0 marks an empty slot */
	char *news_id; /* NULL marks an empty slot */
	uint64_t chash;
	uint32_t source;
	uint32_t feed; /* first linked feed, NO_FEED if none known */
	uint32_t *more_feeds;
	uint32_t n_more;
};

/* The order entries arrived in, to forget the oldest first. */
struct ring_entry {
	uint64_t key;
	uint32_t source;
	char *news_id; /* owned by the slot; compared by pointer */
};

struct dedup {
	struct slot *slots;
	size_t cap; /* a power of two */
	size_t n;
	size_t max;
	struct ring_entry *ring; /* max entries */
	size_t ring_head;	 /* oldest */
	char **names;		 /* interned source and feed names */
	size_t n_names;
	uint32_t *name_slots; /* hash of names: indexes into names, UINT32_MAX empty */
	size_t name_cap;      /* a power of two; names has room for name_cap / 2 */
	size_t names_bytes;
};

struct dedup *dedup_new(size_t max_entries)
{
	struct dedup *d = xcalloc(1, sizeof *d);
	d->max = max_entries ? max_entries : 1;
	d->cap = 64;
	while (d->cap < d->max + d->max / 2 && d->cap < ((size_t)1 << 40))
		d->cap *= 2;
	/* Grown lazily: a small deployment should not pay for the maximum. */
	d->cap = d->cap < 1024 ? d->cap : 1024;
	d->slots = xcalloc(d->cap, sizeof *d->slots);
	d->ring = xcalloc(d->max, sizeof *d->ring);
	return d;
}

void dedup_free(struct dedup *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->cap; i++) {
		free(d->slots[i].news_id);
		free(d->slots[i].more_feeds);
	}
	free(d->slots);
	free(d->ring);
	strv_free(d->names, d->n_names);
	free(d->name_slots);
	free(d);
}

size_t dedup_size(const struct dedup *d)
{
	return d->n;
}

size_t dedup_memory(const struct dedup *d)
{
	size_t bytes = sizeof *d + d->cap * sizeof(struct slot) +
		d->max * sizeof(struct ring_entry) + d->names_bytes;
	for (size_t i = 0; i < d->cap; i++)
		if (d->slots[i].news_id)
			bytes += strlen(d->slots[i].news_id) + 1 + d->slots[i].n_more * 4;
	return bytes;
}

/* The index of name among the interned names; UINT32_MAX if absent and not
 * to be added.  Every source and feed is a name, so with 100,000 feeds this
 * is a hash lookup (open addressing over indexes into names), not a scan. */
static uint32_t intern(struct dedup *d, const char *name, bool add)
{
	uint64_t h = XXH3_64bits(name, strlen(name));
	size_t mask = d->name_cap - 1;
	if (d->name_cap) {
		for (size_t k = h & mask; d->name_slots[k] != UINT32_MAX; k = (k + 1) & mask)
			if (strcmp(d->names[d->name_slots[k]], name) == 0)
				return d->name_slots[k];
	}
	if (!add)
		return UINT32_MAX;
	if ((d->n_names + 1) * 2 > d->name_cap) {
		size_t cap = d->name_cap ? d->name_cap * 2 : 64;
		uint32_t *slots = xmalloc(cap * sizeof *slots);
		memset(slots, 0xff, cap * sizeof *slots);
		for (size_t i = 0; i < d->n_names; i++) {
			size_t k = XXH3_64bits(d->names[i], strlen(d->names[i])) & (cap - 1);
			while (slots[k] != UINT32_MAX)
				k = (k + 1) & (cap - 1);
			slots[k] = (uint32_t)i;
		}
		free(d->name_slots);
		d->name_slots = slots;
		d->name_cap = cap;
		d->names = xrealloc(d->names, cap * sizeof *d->names);
		mask = cap - 1;
	}
	size_t k = h & mask;
	while (d->name_slots[k] != UINT32_MAX)
		k = (k + 1) & mask;
	d->names[d->n_names] = xstrdup(name);
	d->names_bytes += strlen(name) + 1 + sizeof(char *) + 2 * sizeof(uint32_t);
	d->name_slots[k] = (uint32_t)d->n_names;
	return (uint32_t)d->n_names++;
}

static uint64_t key_hash(uint32_t source, const char *news_id)
{
	uint64_t h = XXH3_64bits_withSeed(news_id, strlen(news_id), source);
	return h ? h : 1;
}

static struct slot *find(const struct dedup *d, uint64_t key, uint32_t source, const char *news_id)
{
	size_t mask = d->cap - 1;
	for (size_t i = key & mask;; i = (i + 1) & mask) {
		struct slot *s = &d->slots[i];
		if (!s->news_id)
			return NULL;
		if (s->key == key && s->source == source && strcmp(s->news_id, news_id) == 0)
			return s;
	}
}

static bool linked(const struct slot *s, uint32_t feed)
{
	if (s->feed == feed)
		return true;
	for (uint32_t i = 0; i < s->n_more; i++)
		if (s->more_feeds[i] == feed)
			return true;
	return false;
}

enum dedup_answer dedup_lookup(const struct dedup *d, const char *source, const char *news_id,
			       uint64_t chash, const char *feed)
{
	uint32_t src = intern((struct dedup *)d, source, false);
	if (src == UINT32_MAX)
		return DEDUP_UNKNOWN;
	const struct slot *s = find(d, key_hash(src, news_id), src, news_id);
	if (!s)
		return DEDUP_UNKNOWN;
	if (s->chash != chash)
		return DEDUP_CHANGED;
	uint32_t f = feed ? intern((struct dedup *)d, feed, false) : NO_FEED;
	return f != UINT32_MAX && linked(s, f) ? DEDUP_SAME : DEDUP_NEW_FEED;
}

/* Removes the slot at i, shifting later members of its probe run back. */
static void remove_at(struct dedup *d, size_t i)
{
	size_t mask = d->cap - 1;
	free(d->slots[i].news_id);
	free(d->slots[i].more_feeds);
	memset(&d->slots[i], 0, sizeof d->slots[i]);
	for (size_t j = (i + 1) & mask; d->slots[j].news_id; j = (j + 1) & mask) {
		size_t home = d->slots[j].key & mask;
		/* Move j back to i if its home is not in (i, j]. */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			d->slots[i] = d->slots[j];
			memset(&d->slots[j], 0, sizeof d->slots[j]);
			i = j;
		}
	}
	d->n--;
}

static void grow(struct dedup *d)
{
	struct slot *old = d->slots;
	size_t old_cap = d->cap;
	d->cap *= 2;
	d->slots = xcalloc(d->cap, sizeof *d->slots);
	size_t mask = d->cap - 1;
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].news_id)
			continue;
		size_t j = old[i].key & mask;
		while (d->slots[j].news_id)
			j = (j + 1) & mask;
		d->slots[j] = old[i];
	}
	free(old);
}

static void forget_oldest(struct dedup *d)
{
	struct ring_entry *r = &d->ring[d->ring_head];
	size_t mask = d->cap - 1;
	for (size_t i = r->key & mask; d->slots[i].news_id; i = (i + 1) & mask) {
		if (d->slots[i].news_id == r->news_id) {
			remove_at(d, i);
			break;
		}
	}
	memset(r, 0, sizeof *r);
}

void dedup_remember(struct dedup *d, const char *source, const char *news_id, uint64_t chash,
		    const char *feed)
{
	uint32_t src = intern(d, source, true);
	uint32_t f = feed ? intern(d, feed, true) : NO_FEED;
	uint64_t key = key_hash(src, news_id);
	struct slot *s = find(d, key, src, news_id);
	if (s) {
		s->chash = chash;
		if (f != NO_FEED && !linked(s, f)) {
			if (s->feed == NO_FEED) {
				s->feed = f;
			} else {
				s->more_feeds = xrealloc(s->more_feeds,
							 (s->n_more + 1) * sizeof *s->more_feeds);
				s->more_feeds[s->n_more++] = f;
			}
		}
		return;
	}
	/* The ring slot at ring_head is the oldest when full, else empty. */
	if (d->n == d->max)
		forget_oldest(d);
	if ((d->n + 1) * 3 > d->cap * 2)
		grow(d);
	size_t mask = d->cap - 1, i = key & mask;
	while (d->slots[i].news_id)
		i = (i + 1) & mask;
	s = &d->slots[i];
	s->key = key;
	s->news_id = xstrdup(news_id);
	s->chash = chash;
	s->source = src;
	s->feed = f;
	d->n++;
	d->ring[d->ring_head] = (struct ring_entry){key, src, s->news_id};
	d->ring_head = (d->ring_head + 1) % d->max;
}
