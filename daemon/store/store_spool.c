/*
 * store_spool: the store and its spool (see store_int.h and spool.h).
 *
 * While the database is away, what is accepted goes to the spool instead of
 * waiting in memory: an item is appended as its record (record.h), waits in
 * the sync list until the loop is about to block, and counts as accepted
 * (SPOOLED to its submitter) only after one fdatasync for all of them.
 * When the database goes away, what waits in the queue goes the same way;
 * once it is back, the queue is refilled from the spool a window at a time,
 * and a record is done in the spool only when its item is committed or
 * rejected for good.  A full spool refuses what it cannot take, never
 * dropping anything in silence; at exit, what is still in memory is copied
 * in.
 */
#include "store_int.h"

#include "feedd/dedup.h"
#include "feedd/log.h"
#include "feedd/record.h"

#include <stdlib.h>
#include <string.h>

static void encode(const struct item *it, struct buf *out)
{
	switch (it->kind) {
	case ITEM_ARTICLE:
		record_encode_article(it->u.article, out);
		break;
	case ITEM_POLL:
		record_encode_poll(it->u.poll, out);
		break;
	case ITEM_PAGE:
		record_encode_page(it->u.page, out);
		break;
	default:
		buf_reset(out);
		break;
	}
}

/* A record read back from the spool as a new item, or NULL. */
static struct item *decode(struct store *s, const struct buf *rec)
{
	struct item *it = NULL;
	switch (record_kind_of(rec->data, rec->len)) {
	case RECORD_ARTICLE: {
		struct store_article *a = record_decode_article(rec->data, rec->len);
		if (a) {
			/* Spooled by an older feedd, before the bounds. */
			store_bound_news_id(&a->news_id);
			store_bound_tags(a->tags, &a->n_tags);
			it = store_item_new(s, ITEM_ARTICLE);
			it->u.article = a;
			it->part = store_partition(a, s->n_lanes);
		}
		break;
	}
	case RECORD_POLL: {
		struct store_poll *p = record_decode_poll(rec->data, rec->len);
		if (p) {
			it = store_item_new(s, ITEM_POLL);
			it->u.poll = p;
		}
		break;
	}
	case RECORD_PAGE: {
		struct store_page *p = record_decode_page(rec->data, rec->len);
		if (p) {
			it = store_item_new(s, ITEM_PAGE);
			it->u.page = p;
		}
		break;
	}
	}
	return it;
}

/* An item the full spool would not take: refused, never silently dropped. */
static void refuse(struct store *s, struct item *it)
{
	char what[300];
	store_item_describe(it, what, sizeof what);
	switch (it->kind) {
	case ITEM_ARTICLE:
		store_tell_article(s, it->u.article, STORE_FULL);
		break;
	case ITEM_POLL:
		LOG_WARN("database: the %s is dropped: the spool is full", what);
		store_tell_poll(s, it->u.poll, false);
		break;
	case ITEM_PAGE:
		LOG_WARN("database: the %s is dropped: the spool is full; the page comes due "
			 "again when its claim lapses",
			 what);
		store_tell_page(it, STORE_PAGE_REJECTED, 0);
		break;
	default:
		break;
	}
	store_item_free(it);
}

enum spooled store_spool_item(struct store *s, struct item *it)
{
	struct buf err;
	buf_init(&err);
	encode(it, &s->rec);
	int r = spool_append(s->spool, s->rec.data, s->rec.len, &err);
	if (r == 0) {
		if (!s->spool_announced)
			LOG_NOTICE("spool: the database is away; what is accepted goes to %s until "
				   "it is back",
				   spool_dir(s->spool));
		s->spool_announced = true;
		s->spool_full = false;
		list_push_back(&s->syncing, &it->link);
		s->n_syncing++;
		ev_prepare_start(s->loop, &s->syncer);
		buf_free(&err);
		return SPOOLED;
	}
	if (r == -2) {
		LOG_ERR("spool: %s; keeping the item in memory", buf_str(&err));
		buf_free(&err);
		return KEEP;
	}
	buf_free(&err);
	if (it->from_spool)
		return KEEP; /* already in the spool, from before */
	if (!s->spool_full)
		LOG_ERR("spool: %s is full (spool_max_size, %llu bytes): new articles are "
			"refused until the database is back; their feeds back off",
			spool_dir(s->spool), (unsigned long long)s->cfg.spool_max_bytes);
	s->spool_full = true;
	refuse(s, it);
	return REFUSED;
}

/* Before the loop blocks: one fdatasync for everything appended since the
 * last, then the items count as accepted. */
static void on_syncer(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct store *s = w->data;
	ev_prepare_stop(loop, w);
	struct list synced = s->syncing;
	s->syncing = (struct list){0};
	s->n_syncing = 0;
	struct list_link *l;
	struct buf err;
	buf_init(&err);
	if (spool_sync(s->spool, &err) != 0) {
		LOG_ERR("spool: %s; the items wait in memory instead", buf_str(&err));
		while ((l = list_pop_front(&synced)))
			store_push_back(s, LIST_ENTRY(l, struct item, link));
		buf_free(&err);
		return;
	}
	buf_free(&err);
	while ((l = list_pop_front(&synced))) {
		struct item *it = LIST_ENTRY(l, struct item, link);
		/* A record read back and spooled again: the new copy stands in
		 * for the old. */
		if (it->from_spool)
			spool_done(s->spool, &it->pos);
		s->stats.spooled++;
		switch (it->kind) {
		case ITEM_ARTICLE: {
			struct store_article *a = it->u.article;
			dedup_remember(s->dedup, a->source, a->news_id, hash64(a->content_hash),
				       a->feed);
			store_tell_article(s, a, STORE_SPOOLED);
			break;
		}
		case ITEM_POLL:
			store_tell_poll(s, it->u.poll, true);
			break;
		case ITEM_PAGE:
			store_tell_page(it, STORE_PAGE_SPOOLED, 0);
			break;
		default:
			break;
		}
		store_item_free(it);
	}
}

void store_spool_queued(struct store *s)
{
	struct list keep = {0};
	size_t kept = 0, spooled = 0;
	struct item *it;
	while ((it = store_pop_front(s))) {
		if (spoolable(it)) {
			enum spooled r = store_spool_item(s, it);
			if (r != KEEP) {
				spooled += r == SPOOLED;
				continue;
			}
		}
		list_push_back(&keep, &it->link);
		kept++;
	}
	s->queue = keep;
	s->n_queued = kept;
	s->reg_last = NULL;
	if (spooled)
		LOG_NOTICE("spool: %zu items written to %s until the database is back", spooled,
			   spool_dir(s->spool));
}

/* Up to a window, so that new work queued behind the spool waits for at
 * most that many. */
void store_spool_refill(struct store *s)
{
	if (!s->spool)
		return;
	size_t window = 2 * (size_t)s->cfg.batch_size * s->n_lanes;
	while (s->n_queued < window && spool_readable(s->spool)) {
		struct spool_pos pos;
		int r = spool_read(s->spool, &s->rec, &pos);
		if (r == 0)
			break;
		if (r < 0)
			continue;
		struct item *it = decode(s, &s->rec);
		if (!it) {
			LOG_ERR("spool: a record of %zu bytes in %s is not one this feedd can "
				"read; "
				"skipped",
				s->rec.len, spool_dir(s->spool));
			spool_done(s->spool, &pos);
			continue;
		}
		it->from_spool = true;
		it->pos = pos;
		store_push_back(s, it);
	}
}

void store_record_hex(struct store *s, const struct item *it, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	encode(it, &s->rec);
	buf_append(out, "\\x", 2);
	for (size_t i = 0; i < s->rec.len; i++) {
		unsigned char b = (unsigned char)s->rec.data[i];
		buf_putc(out, hex[b >> 4]);
		buf_putc(out, hex[b & 15]);
	}
}

int store_spool_init(struct store *s)
{
	ev_prepare_init(&s->syncer, on_syncer);
	s->syncer.data = s;
	buf_init(&s->rec);
	if (!s->cfg.spool_dir)
		return 0;
	struct buf err;
	buf_init(&err);
	/* FEEDD_SPOOL_SKIP_UNREADABLE=1: start without the segments that
	 * cannot be read (left in place), rather than not at all. */
	const char *skip = getenv("FEEDD_SPOOL_SKIP_UNREADABLE");
	unsigned flags = skip && strcmp(skip, "1") == 0 ? SPOOL_SKIP_UNREADABLE : 0;
	int r = spool_open(&s->spool, s->cfg.spool_dir, s->cfg.spool_max_bytes, flags, &err);
	if (r == -1)
		LOG_ERR("spool: %s; what is accepted while the database is away waits "
			"in memory only (set state_dir to a writable directory)",
			buf_str(&err));
	else if (r != 0)
		LOG_ERR("spool: %s: feedd does not start%s", buf_str(&err),
			r == -2 ? " (set FEEDD_SPOOL_SKIP_UNREADABLE=1 to start without "
				  "what cannot be read, leaving it in place)"
				: "");
	buf_free(&err);
	s->cfg.spool_dir = NULL; /* borrowed; spool_dir() has its copy */
	return r < -1 ? -1 : 0;
}

void store_spool_close(struct store *s)
{
	ev_prepare_stop(s->loop, &s->syncer);
	struct list_link *l;
	while ((l = list_pop_front(&s->syncing)))
		store_item_free(LIST_ENTRY(l, struct item, link));
	spool_close(s->spool);
	buf_free(&s->rec);
}

uint64_t store_spooled(const struct store *s)
{
	return s->spool ? spool_pending(s->spool) : 0;
}

bool store_spool_full(const struct store *s)
{
	return s->spool_full;
}

/* Appends it unless it is in the spool already; true when it is there. */
static bool spool_copy(struct store *s, struct item *it, struct buf *err)
{
	if (!spoolable(it) || it->from_spool) /* nothing to keep, or kept already */
		return true;
	encode(it, &s->rec);
	return spool_append(s->spool, s->rec.data, s->rec.len, err) == 0;
}

size_t store_unspooled(const struct store *s)
{
	if (!s->spool)
		return store_backlog(s);
	size_t n = 0;
	LIST_FOREACH (it, &s->queue, const struct item, link)
		n += spoolable(it) && !it->from_spool;
	for (size_t j = 0; j < s->n_lanes; j++) {
		const struct lane *l = s->lanes[j];
		for (size_t i = 0; i < l->sent_count; i++) {
			const struct cmd *c = sent_at(l, i);
			for (size_t k = 0; k < batch_n_items(c); k++)
				n += spoolable(batch_item(c, k)) && !batch_item(c, k)->from_spool;
		}
	}
	return n;
}

size_t store_spool_all(struct store *s)
{
	size_t total = store_backlog(s);
	if (!s->spool)
		return total;
	size_t missed = 0;
	struct buf err;
	buf_init(&err);
	LIST_FOREACH (it, &s->queue, struct item, link)
		missed += !spool_copy(s, it, &err);
	for (size_t j = 0; j < s->n_lanes; j++) {
		const struct lane *l = s->lanes[j];
		for (size_t i = 0; i < l->sent_count; i++) {
			const struct cmd *c = sent_at(l, i);
			for (size_t k = 0; k < batch_n_items(c); k++)
				missed += !spool_copy(s, batch_item(c, k), &err);
		}
	}
	/* Those waiting for their sync are in the spool already. */
	if (spool_sync(s->spool, &err) != 0) {
		LOG_ERR("spool: %s", buf_str(&err));
		missed = total;
	}
	buf_free(&err);
	return missed;
}
