/*
 * article: freeing the store's items and hashing their content (see
 * article.h).
 *
 * The hash is 128-bit XXH3 over the fields that make up the content, each
 * with a presence byte and its length; the dedup set keeps its first 64
 * bits and the database the whole, as hex.
 */
#include "feedd/article.h"

#include "feedd/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void store_article_free(struct store_article *a)
{
	if (!a)
		return;
	free(a->source);
	free(a->feed);
	free(a->news_id);
	free(a->url);
	free(a->title);
	free(a->lead);
	free(a->body);
	free(a->author);
	free(a->image);
	free(a->language);
	strv_free(a->tags, a->n_tags);
	free(a);
}

void store_page_free(struct store_page *p)
{
	if (!p)
		return;
	free(p->source);
	free(p->news_id);
	free(p->status);
	free(p->error);
	free(p->title);
	free(p->lead);
	free(p->body);
	free(p->author);
	free(p->image);
	free(p->caption);
	free(p->language);
	strv_free(p->tags, p->n_tags);
	free(p->revisit_s);
	free(p);
}

void store_poll_free(struct store_poll *p)
{
	if (!p)
		return;
	free(p->feed);
	free(p->error);
	free(p->etag);
	free(p->last_modified);
	free(p->permanent_url);
	free(p->disabled_reason);
	free(p);
}

/* Each field is hashed with a presence byte and its length, so that moving
 * text from one field to the next changes the hash. */
static void hash_field(XXH3_state_t *st, const char *s)
{
	uint64_t len = s ? strlen(s) : 0;
	unsigned char present = s != NULL;
	XXH3_128bits_update(st, &present, 1);
	XXH3_128bits_update(st, &len, sizeof len);
	if (s)
		XXH3_128bits_update(st, s, len);
}

static XXH3_state_t *hash_start(void)
{
	XXH3_state_t *st = XXH3_createState();
	if (!st)
		xmalloc(SIZE_MAX); /* out of memory: let the allocator say so */
	XXH3_128bits_reset(st);
	return st;
}

static void hash_tags(XXH3_state_t *st, char *const *tags, size_t n_tags)
{
	uint64_t n = n_tags;
	XXH3_128bits_update(st, &n, sizeof n);
	for (size_t i = 0; i < n_tags; i++)
		hash_field(st, tags[i]);
}

static void hash_finish(XXH3_state_t *st, char out[33])
{
	XXH128_hash_t h = XXH3_128bits_digest(st);
	XXH3_freeState(st);
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
}

void store_article_hash(struct store_article *a)
{
	XXH3_state_t *st = hash_start();
	hash_field(st, a->url);
	hash_field(st, a->title);
	hash_field(st, a->lead);
	hash_field(st, a->body);
	hash_field(st, a->author);
	hash_field(st, a->image);
	hash_tags(st, a->tags, a->n_tags);
	XXH3_128bits_update(st, &a->published_at, sizeof a->published_at);
	hash_finish(st, a->content_hash);
}

void store_page_hash(struct store_page *p)
{
	XXH3_state_t *st = hash_start();
	hash_field(st, p->title);
	hash_field(st, p->lead);
	hash_field(st, p->body);
	hash_field(st, p->author);
	hash_field(st, p->image);
	hash_field(st, p->caption);
	hash_tags(st, p->tags, p->n_tags);
	XXH3_128bits_update(st, &p->published_at, sizeof p->published_at);
	hash_finish(st, p->content_hash);
}
