/*
 * store: asynchronous, pipelined writes to PostgreSQL (see store.h); this
 * file is its public interface and its queue.  An item submitted is bounded
 * to what the database takes (long news IDs and tags are cut, a claimed
 * publication time far after the item was seen is kept apart), an article
 * is looked up in the dedup set, and the item is queued: in a FIFO whose
 * head holds the registrations (sources, feeds) in the order they came, or,
 * while the database is away, in the spool.
 *
 * The rest of the module: store_items.c holds the items, their bounds and
 * the queue itself, store_conn.c sends the queue in batches and
 * reads the answers, store_result.c says what they mean, store_sql.c holds
 * the statements and store_spool.c the spool's part (see store_int.h).
 */
#include "store_int.h"

#include "feedd/date.h"
#include "feedd/dedup.h"
#include "feedd/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *store_outcome_name(enum store_outcome o)
{
	static const char *const names[] = {
		"inserted",  "linked",	 "unchanged", "revised",
		"duplicate", "rejected", "spooled",   "refused: spool full"};
	return (size_t)o < ARRAY_LEN(names) ? names[o] : "?";
}

void store_config_default(struct store_config *c)
{
	c->conninfo = "postgresql:///feedd";
	c->batch_size = 200;
	c->batch_delay_ms = 50;
	c->max_batches_in_flight = 4;
	c->connections = 2;
	c->dedup_window_ms = 30LL * 24 * 3600 * 1000;
	c->dedup_max_entries = 1000000;
	c->reconnect_min_ms = 250;
	c->reconnect_max_ms = 30000;
	c->stall_timeout_ms = 600000;
	c->jitter = NULL;
	c->spool_dir = NULL;
	c->spool_max_bytes = 0;
	c->warm_lazily = false;
	c->warm_sources = NULL;
	c->n_warm_sources = 0;
}

/* ---- the public interface ------------------------------------------------ */

struct store *store_new(struct ev_loop *loop, const struct store_config *cfg,
			const struct store_handler *h)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->cfg = *cfg;
	s->conninfo = xstrdup(cfg->conninfo);
	s->cfg.conninfo = s->conninfo;
	if (cfg->warm_sources || cfg->n_warm_sources) {
		struct buf lit;
		buf_init(&lit);
		store_sql_text_array(cfg->warm_sources, cfg->n_warm_sources, &lit);
		s->warm_sources = xstrdup(buf_str(&lit));
		buf_free(&lit);
	}
	s->cfg.warm_sources = NULL;
	s->cfg.n_warm_sources = 0;
	if (s->cfg.batch_size < 1)
		s->cfg.batch_size = 1;
	if (s->cfg.max_batches_in_flight < 1)
		s->cfg.max_batches_in_flight = 1;
	if (h)
		s->h = *h;
	s->dedup = dedup_new(s->cfg.dedup_max_entries);
	store_conn_init(s);
	if (store_spool_init(s) != 0) {
		store_free(s);
		return NULL;
	}
	store_connect(s);
	return s;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	store_conn_close(s);
	store_spool_close(s);
	struct item *it;
	while ((it = store_pop_front(s)))
		store_item_free(it);
	dedup_free(s->dedup);
	free(s->conninfo);
	free(s->warm_sources);
	free(s);
}

/* Into the queue, or, while the database is away, into the spool. */
static void enqueue(struct store *s, struct item *it)
{
	if (s->spool && main_lane(s)->state != ST_READY && spoolable(it) &&
	    store_spool_item(s, it) != KEEP)
		return;
	store_push_back(s, it);
	store_poke(s);
}

/* A claimed publication time more than STORE_FUTURE_S after the item was
 * seen is not taken: it moves to *claimed, logged. */
static void refuse_future(const char *what, const char *name, const char *news_id,
			  int64_t *published, int64_t *claimed, int64_t seen_us)
{
	*claimed = STORE_TIME_NONE;
	if (*published == STORE_TIME_NONE || *published <= seen_us / 1000000 + STORE_FUTURE_S)
		return;
	char iso[DATE_ISO_LEN] = "?";
	date_format_utc(*published, iso);
	LOG_WARN("%s %s: news ID %s: its publication time %s is more than a day after it was "
		 "seen; published_at left empty, the claim kept in published_claimed",
		 what, name, news_id, iso);
	*claimed = *published;
	*published = STORE_TIME_NONE;
}

int store_submit_article(struct store *s, struct store_article *a)
{
	store_bound_news_id(&a->news_id);
	store_bound_tags(a->tags, &a->n_tags);
	refuse_future("feed", a->feed, a->news_id, &a->published_at, &a->published_claimed,
		      a->seen_at_us);
	if (!a->content_hash[0])
		store_article_hash(a);
	bool lazy = s->cfg.warm_lazily && !s->warmed && s->cfg.dedup_window_ms > 0;
	if (lazy) {
		s->warm_wanted = true;
	} else if (dedup_lookup(s->dedup, a->source, a->news_id, hash64(a->content_hash),
				a->feed) == DEDUP_SAME) {
		s->stats.duplicates++;
		store_tell_article(s, a, STORE_DUPLICATE);
		store_article_free(a);
		return STORE_DUPLICATE;
	}
	struct item *it = store_item_new(s, ITEM_ARTICLE);
	it->u.article = a;
	it->part = store_partition(a, s->n_lanes);
	it->unchecked = lazy;
	enqueue(s, it);
	return 0;
}

void store_submit_poll(struct store *s, struct store_poll *p)
{
	struct item *it = store_item_new(s, ITEM_POLL);
	it->u.poll = p;
	enqueue(s, it);
}

void store_submit_page(struct store *s, struct store_page *p, store_page_fn done, void *ctx)
{
	store_bound_news_id(&p->news_id);
	store_bound_tags(p->tags, &p->n_tags);
	refuse_future("page of source", p->source, p->news_id, &p->published_at,
		      &p->published_claimed, p->seen_at_us);
	if (strcmp(p->status, "ok") == 0 && !p->content_hash[0])
		store_page_hash(p);
	struct item *it = store_item_new(s, ITEM_PAGE);
	it->u.page = p;
	it->done.page = done;
	it->done_ctx = ctx;
	enqueue(s, it);
}

void store_claim_visits(struct store *s, const char *const *sources, size_t n_sources, int limit,
			int lease_s, store_visits_fn done, void *ctx)
{
	struct claim *cl = xcalloc(1, sizeof *cl);
	cl->sources = xcalloc(n_sources ? n_sources : 1, sizeof *cl->sources);
	for (size_t i = 0; i < n_sources; i++)
		cl->sources[i] = xstrdup(sources[i]);
	cl->n_sources = n_sources;
	cl->limit = limit;
	cl->lease_s = lease_s;
	struct item *it = store_item_new(s, ITEM_CLAIM);
	it->u.claim = cl;
	it->done.visits = done;
	it->done_ctx = ctx;
	store_push_back(s, it);
	store_poke(s);
}

void store_release_visits(struct store *s, const char *const *sources, const char *const *news_ids,
			  size_t n)
{
	struct claim *cl = xcalloc(1, sizeof *cl);
	cl->sources = xcalloc(n ? n : 1, sizeof *cl->sources);
	cl->news_ids = xcalloc(n ? n : 1, sizeof *cl->news_ids);
	for (size_t i = 0; i < n; i++) {
		cl->sources[i] = xstrdup(sources[i]);
		cl->news_ids[i] = xstrdup(news_ids[i]);
	}
	cl->n_sources = n;
	struct item *it = store_item_new(s, ITEM_RELEASE);
	it->u.claim = cl;
	store_push_back(s, it);
	store_poke(s);
}

void store_sync_source(struct store *s, const char *name, const char *home)
{
	struct item *it = store_item_new(s, ITEM_SOURCE);
	it->u.source.name = xstrdup(name);
	it->u.source.home = home ? xstrdup(home) : NULL;
	store_push_registration(s, it);
	store_poke(s);
}

void store_sync_feed(struct store *s, const char *name, const char *source, const char *url,
		     int interval_s, bool enabled, const char *group, int64_t written_us)
{
	struct item *it = store_item_new(s, ITEM_FEED);
	it->u.feed.name = xstrdup(name);
	it->u.feed.source = xstrdup(source);
	it->u.feed.url = xstrdup(url);
	it->u.feed.group = xstrdup(group);
	it->u.feed.interval_s = interval_s;
	it->u.feed.enabled = enabled;
	it->u.feed.written_us = written_us;
	store_push_registration(s, it);
	store_poke(s);
}

void store_beat(struct store *s, const struct store_instance *in)
{
	struct item *it = store_item_new(s, ITEM_INSTANCE);
	it->u.instance.id = xstrdup(in->id);
	it->u.instance.group = xstrdup(in->group);
	it->u.instance.host = xstrdup(in->host);
	it->u.instance.version = xstrdup(in->version);
	it->u.instance.pid = in->pid;
	it->u.instance.feeds = in->feeds;
	it->u.instance.started_us = in->started_us;
	it->u.instance.config_at_us = in->config_at_us;
	it->u.instance.stopping = in->stopping;
	it->u.instance.lease_s = in->lease_s;
	if (in->stopping)
		store_push_back(s, it);
	else
		store_push_front(s, &it, 1);
	store_poke(s);
}

void store_claim_feeds(struct store *s, const struct store_feed_claim *c, store_feeds_fn done,
		       void *ctx)
{
	struct feed_claim *fc = xcalloc(1, sizeof *fc);
	fc->instance = xstrdup(c->instance);
	fc->group = xstrdup(c->group);
	fc->skip = xcalloc(c->n_skip ? c->n_skip : 1, sizeof *fc->skip);
	for (size_t i = 0; i < c->n_skip; i++)
		fc->skip[i] = xstrdup(c->skip[i]);
	fc->n_skip = c->n_skip;
	fc->limit = c->limit;
	fc->lease_s = c->lease_s;
	fc->horizon_ms = c->horizon_ms;
	fc->max_interval_s = c->max_interval_s;
	fc->mine = c->mine;
	struct item *it = store_item_new(s, ITEM_FEED_CLAIM);
	it->u.feed_claim = fc;
	it->done.feeds = done;
	it->done_ctx = ctx;
	/* Alone: its advisory lock (one claim at a time across instances)
	 * must not wait for a batch of articles to commit. */
	it->solo = true;
	store_push_front(s, &it, 1);
	store_poke(s);
}

const char *store_problem(const struct store *s, bool *unusable)
{
	if (unusable)
		*unusable = s->problem_unusable;
	return s->problem[0] ? s->problem : NULL;
}

bool store_ready(const struct store *s)
{
	return main_lane(s)->state == ST_READY;
}

void store_get_stats(const struct store *s, struct store_stats *out)
{
	*out = s->stats;
}

const struct dedup *store_dedup(const struct store *s)
{
	return s->dedup;
}

void store_set_batching(struct store *s, int batch_size, int64_t batch_delay_ms)
{
	s->cfg.batch_size = batch_size < 1 ? 1 : batch_size;
	s->cfg.batch_delay_ms = batch_delay_ms;
}
