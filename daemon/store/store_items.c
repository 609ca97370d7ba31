/*
 * store_items: what the store holds (see store_int.h): the items and their
 * bounds (news IDs and tags cut to what the database takes), the queue they
 * wait in (registrations at its head, in the order they came), how an
 * item's end is told to its submitter, and a batch's freeing.  The other
 * store files call these; these call none of them, so that the store's
 * files call each other in one direction only: store.c and store_spool.c
 * and store_conn.c down to this file, store_conn.c to store_result.c and
 * store_sql.c.
 */
#include "store_int.h"

#include "feedd/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- claims -------------------------------------------------------------- */

void store_claim_rows_free(struct claim *c)
{
	for (size_t i = 0; i < c->n_rows; i++) {
		free((char *)c->rows[i].source);
		free((char *)c->rows[i].news_id);
		free((char *)c->rows[i].url);
	}
	free(c->rows);
	c->rows = NULL;
	c->n_rows = 0;
}

void store_feed_claim_rows_free(struct feed_claim *c)
{
	for (size_t i = 0; i < c->n_rows; i++) {
		struct store_feed_state *r = &c->rows[i];
		char *const s[] = {(char *)r->name, (char *)r->url, (char *)r->etag,
				   (char *)r->last_modified, (char *)r->permanent_url};
		for (size_t k = 0; k < ARRAY_LEN(s); k++)
			free(s[k]);
	}
	free(c->rows);
	c->rows = NULL;
	c->n_rows = 0;
}

static void feed_claim_free(struct feed_claim *c)
{
	store_feed_claim_rows_free(c);
	free(c->instance);
	free(c->group);
	strv_free(c->skip, c->n_skip);
	free(c);
}

static void claim_free(struct claim *c)
{
	store_claim_rows_free(c);
	strv_free(c->sources, c->n_sources);
	strv_free(c->news_ids, c->n_sources);
	free(c);
}

/* ---- bounds -------------------------------------------------------------- */

/* What a news ID, a tag and a tag list may be before the database sees
 * them.  PostgreSQL's btree and GIN entries are limited to about 2.7 kB; a
 * value over that fails its insert for good (SQLSTATE 54000).  A longer
 * news ID keeps its first bytes and gets the hash of the whole, so that two
 * long IDs that differ only at their end stay apart and the same ID always
 * maps to the same value. */
#define NEWS_ID_MAX 512
#define NEWS_ID_KEEP 400
#define TAG_MAX 256
#define TAGS_MAX 100

/* The length of s's first bytes, at most max, that end on a UTF-8
 * character boundary. */
static size_t utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* *id, bounded to NEWS_ID_MAX bytes (see above). */
void store_bound_news_id(char **id)
{
	if (!*id || strlen(*id) <= NEWS_ID_MAX)
		return;
	XXH128_hash_t h = XXH3_128bits(*id, strlen(*id));
	size_t keep = utf8_prefix(*id, NEWS_ID_KEEP);
	char *b = xmalloc(keep + 1 + 32 + 1);
	memcpy(b, *id, keep);
	snprintf(b + keep, 34, "#%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
	LOG_WARN("news ID of %zu bytes shortened to %s", strlen(*id), b);
	free(*id);
	*id = b;
}

/* Tags cut to TAG_MAX bytes each and TAGS_MAX in all. */
void store_bound_tags(char **tags, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		tags[i][utf8_prefix(tags[i], TAG_MAX)] = '\0';
	while (*n > TAGS_MAX)
		free(tags[--*n]);
}

/* ---- the FIFO of items --------------------------------------------------- */

struct item *store_item_new(struct store *s, enum item_kind kind)
{
	struct item *it = xcalloc(1, sizeof *it);
	it->kind = kind;
	it->queued_at = ev_now(s->loop);
	return it;
}

void store_item_free(struct item *it)
{
	switch (it->kind) {
	case ITEM_ARTICLE:
		store_article_free(it->u.article);
		break;
	case ITEM_POLL:
		store_poll_free(it->u.poll);
		break;
	case ITEM_SOURCE:
		free(it->u.source.name);
		free(it->u.source.home);
		break;
	case ITEM_FEED:
		free(it->u.feed.name);
		free(it->u.feed.source);
		free(it->u.feed.url);
		free(it->u.feed.group);
		break;
	case ITEM_PAGE:
		store_page_free(it->u.page);
		break;
	case ITEM_CLAIM:
	case ITEM_RELEASE:
		claim_free(it->u.claim);
		break;
	case ITEM_REJECTED: {
		struct rejected *r = it->u.rejected;
		free(r->kind);
		free(r->source);
		free(r->feed);
		free(r->news_id);
		free(r->url);
		free(r->title);
		free(r->sqlstate);
		free(r->error);
		buf_free(&r->record);
		free(r);
		break;
	}
	case ITEM_FEED_CLAIM:
		feed_claim_free(it->u.feed_claim);
		break;
	case ITEM_INSTANCE:
		free(it->u.instance.id);
		free(it->u.instance.group);
		free(it->u.instance.host);
		free(it->u.instance.version);
		break;
	}
	free(it);
}

/* What an item is, for log lines. */
void store_item_describe(const struct item *it, char *out, size_t n)
{
	switch (it->kind) {
	case ITEM_ARTICLE:
		snprintf(out, n, "article %s/%s (feed %s)", it->u.article->source,
			 it->u.article->news_id, it->u.article->feed);
		break;
	case ITEM_POLL:
		snprintf(out, n, "poll record of feed %s", it->u.poll->feed);
		break;
	case ITEM_SOURCE:
		snprintf(out, n, "source %s", it->u.source.name);
		break;
	case ITEM_FEED:
		snprintf(out, n, "feed %s", it->u.feed.name);
		break;
	case ITEM_PAGE:
		snprintf(out, n, "page of article %s/%s", it->u.page->source, it->u.page->news_id);
		break;
	case ITEM_CLAIM:
		snprintf(out, n, "a claim of %d page visits", it->u.claim->limit);
		break;
	case ITEM_INSTANCE:
		snprintf(out, n, "the heartbeat of instance %s", it->u.instance.id);
		break;
	case ITEM_FEED_CLAIM:
		snprintf(out, n, "a claim of up to %d feed leases", it->u.feed_claim->limit);
		break;
	case ITEM_RELEASE:
		snprintf(out, n, "a release of %zu claimed page visits", it->u.claim->n_sources);
		break;
	case ITEM_REJECTED:
		snprintf(out, n, "the feedd.rejected row of a %s", it->u.rejected->kind);
		break;
	}
}

void store_tell_article(const struct store *s, const struct store_article *a, enum store_outcome o)
{
	if (s->h.on_article)
		s->h.on_article(s->h.ctx, a, o);
}

void store_tell_poll(const struct store *s, const struct store_poll *p, bool ok)
{
	if (s->h.on_poll)
		s->h.on_poll(s->h.ctx, p, ok);
}

void store_tell_page(const struct item *it, enum store_page_outcome o, int revision)
{
	if (it->done.page)
		it->done.page(it->done_ctx, it->u.page, o, revision);
}

void store_push_back(struct store *s, struct item *it)
{
	list_push_back(&s->queue, &it->link);
	s->n_queued++;
}

/* Puts items[0..n) back at the front, in that order. */
void store_push_front(struct store *s, struct item **items, size_t n)
{
	s->reg_last = NULL;
	for (size_t i = n; i-- > 0;) {
		list_push_front(&s->queue, &items[i]->link);
		s->n_queued++;
	}
}

struct item *store_pop_front(struct store *s)
{
	struct item *it = LIST_ENTRY(list_pop_front(&s->queue), struct item, link);
	if (!it)
		return NULL;
	if (it == s->reg_last)
		s->reg_last = NULL;
	s->n_queued--;
	return it;
}

/* Registrations (sources, feeds) go before everything else queued, in the
 * order they come: an article or a poll record of a feed the database does
 * not know is refused for it.  That matters when the schema was dropped and
 * migrated again while feedd ran: the daemon registers everything anew, and
 * what waits (spooled articles, poll records) goes in after it. */
void store_push_registration(struct store *s, struct item *it)
{
	struct item *prev = s->reg_last;
	if (!prev) {
		LIST_FOREACH (x, &s->queue, struct item, link) {
			if (!store_is_registration(x))
				break;
			prev = x;
		}
	}
	list_insert_after(&s->queue, prev ? &prev->link : NULL, &it->link);
	s->reg_last = it;
	s->n_queued++;
}

size_t store_backlog(const struct store *s)
{
	size_t n = s->n_queued + s->n_syncing;
	for (size_t i = 0; i < s->n_lanes; i++)
		n += s->lanes[i]->n_in_flight;
	return n;
}

void store_take(struct store *s, struct item *it)
{
	if (it == s->reg_last)
		s->reg_last = NULL;
	list_remove(&s->queue, &it->link);
	s->n_queued--;
}

unsigned store_partition(const struct store_article *a, size_t n)
{
	if (n <= 1)
		return 0;
	XXH32_hash_t h = XXH32(a->source, strlen(a->source), 0);
	h = XXH32(a->news_id, strlen(a->news_id), h);
	return (unsigned)(h % n);
}

void store_batch_free(struct batch *b)
{
	free(b->items);
	free(b->error);
	free(b);
}
