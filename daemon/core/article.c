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

/* Frees each of the n strings in s. */
static void free_all(char *const s[], size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i]);
}

void store_article_free(struct store_article *a)
{
	if (!a)
		return;
	char *const s[] = {a->source, a->feed, a->news_id, a->url,   a->title,
			   a->lead,   a->body, a->author,  a->image, a->language};
	free_all(s, ARRAY_LEN(s));
	strv_free(a->tags, a->n_tags);
	free(a);
}

void store_page_free(struct store_page *p)
{
	if (!p)
		return;
	char *const s[] = {p->source, p->news_id, p->url,    p->status, p->error,   p->title,
			   p->lead,   p->body,	  p->author, p->image,	p->caption, p->language};
	free_all(s, ARRAY_LEN(s));
	strv_free(p->tags, p->n_tags);
	free(p->revisit_s);
	free(p);
}

void store_poll_free(struct store_poll *p)
{
	if (!p)
		return;
	char *const s[] = {p->feed,	     p->error,		 p->etag,    p->last_modified,
			   p->permanent_url, p->disabled_reason, p->instance};
	free_all(s, ARRAY_LEN(s));
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
