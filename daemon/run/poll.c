/*
 * poll: the life of one poll of one feed (see daemon_int.h).
 *
 * due (sched, or the host's line) -> a connection to the host (hostgate) ->
 * fetch_start -> poll_on_fetched (the host's connection is free again) ->
 * feed parser -> one store_article per entry -> poll_on_article as each is
 * committed -> when the last is in, the poll record with the feed's new
 * fetch state (finish_poll).  The poll
 * record waits for its articles so that it can say how many were new, and
 * so that the validators (ETag, Last-Modified) are only stored once what
 * they describe is stored: a crash in between makes the next poll fetch the
 * feed again rather than skip it.
 *
 * Backpressure: no fetch starts while max_connections fetches are in flight
 * or the store's backlog is above its limit; the schedule is held instead.
 * A poll belongs to its feed (f->poll) from start to finish_poll.
 */
#include "daemon_int.h"

#include "feedd/entry.h"
#include "feedd/feed.h"
#include "feedd/indexer.h"
#include "feedd/log.h"
#include "feedd/newsid.h"
#include "feedd/pages.h"

#include <stdio.h>
#include <string.h>

/* The store's backlog above which no new fetch starts. */
#define STORE_BACKLOG_LIMIT 20000

struct poll {
	struct daemon *d;
	struct feed_rt *feed;
	int64_t started_us;
	double started;
	struct fetch_result *res;
	int items_seen, pending, new_items;
	int items_expired; /* published before the source's article_retention */
	char *error;
	bool not_modified;
	bool cancelled; /* cut short at shutdown: not the feed's failure */
};

void poll_discard(struct poll *p)
{
	free(p->error);
	if (p->res)
		fetch_result_free(p->res);
	free(p);
}

/* ---- finishing ----------------------------------------------------------- */

/* Schedules p's feed again after what p ended with; *next_s: in how long. */
static void schedule_next(struct poll *p, double *next_s)
{
	struct daemon *d = p->d;
	struct feed_rt *f = p->feed;
	struct sched_outcome o = {
		.failed = p->error != NULL,
		.new_items = p->new_items,
		.retry_after_s = p->res ? p->res->retry_after_s : -1,
	};
	struct sched_policy pol = {
		.interval_s = (double)f->cfg->interval_ms / 1000.0,
		.min_s = (double)d->cfg->min_interval_ms / 1000.0,
		.max_s = (double)d->cfg->max_interval_ms / 1000.0,
	};
	double delay =
		sched_next_delay(&pol, &o, &f->adaptive_s, &f->errors, jitter_unit(&d->jitter));
	*next_s = delay;
	if (d->mode == DAEMON_RUN && !d->stopping && !f->removed && !f->disabled_reason &&
	    leases_schedule_here(d, f, ev_now(d->loop) + delay))
		sched_at(d->sched, &f->entry, ev_now(d->loop) + delay);
}

/* p's polls row, its next poll next_s away.  The feed takes the validators
 * of a usable answer, and a permanent redirect, from p's result. */
static struct store_poll *poll_record(struct poll *p, double next_s)
{
	struct daemon *d = p->d;
	struct feed_rt *f = p->feed;
	struct fetch_result *r = p->res;
	struct store_poll *rec = xcalloc(1, sizeof *rec);
	rec->feed = xstrdup(f->name);
	rec->started_us = p->started_us;
	rec->duration_ms = r ? (int)r->duration_ms : (int)((ev_now(d->loop) - p->started) * 1000);
	rec->http_status = r ? r->http_status : 0;
	rec->bytes = r ? (int64_t)r->body.len : 0;
	rec->items_seen = p->items_seen;
	rec->new_items = p->new_items;
	rec->error = p->error ? xstrdup(p->error) : NULL;
	rec->next_poll_us = now_us() + (int64_t)(next_s * 1e6);
	/* Validators only from a usable answer, stored with what it held. */
	if (!p->error && r && r->http_status == 200) {
		rec->etag = r->etag ? xstrdup(r->etag) : NULL;
		rec->last_modified = r->last_modified ? xstrdup(r->last_modified) : NULL;
		free_and_set(&f->etag, r->etag);
		free_and_set(&f->last_modified, r->last_modified);
	}
	if (r && r->permanent_url) {
		rec->permanent_url = xstrdup(r->permanent_url);
		if (f->cfg &&
		    (!f->permanent_url || strcmp(f->permanent_url, r->permanent_url) != 0))
			LOG_NOTICE("feed %s: permanently moved to %s; polling it there from now on "
				   "(update url in %s:%d)",
				   f->name, r->permanent_url, f->cfg->loc.file, f->cfg->loc.line);
		free_and_set(&f->permanent_url, r->permanent_url);
	}
	if (f->disabled_reason)
		rec->disabled_reason = xstrdup(f->disabled_reason);
	/* Gives this instance's lease on the feed back (sql/017). */
	if (d->mode == DAEMON_RUN)
		rec->instance = xstrdup(d->instance_id);
	return rec;
}

static void log_outcome(const struct poll *p, double next_s)
{
	const struct daemon *d = p->d;
	const struct feed_rt *f = p->feed;
	char next[64] = "";
	if (d->mode == DAEMON_RUN && f->cfg && !f->disabled_reason && !d->stopping)
		snprintf(next, sizeof next, "; next poll in %.0f s", next_s);
	if (p->cancelled)
		LOG_NOTICE("feed %s: %s", f->name, p->error);
	else if (p->error)
		LOG_WARN("feed %s: %s%s (%d consecutive errors)", f->name, p->error, next,
			 f->errors);
	else if (p->not_modified) /* the usual case: in polls, not in the log */
		LOG_DEBUG("feed %s: not modified%s", f->name, next);
	else if (p->items_expired)
		LOG_INFO("feed %s: %d entries, %d new, %d older than the source's "
			 "article_retention (not stored)%s",
			 f->name, p->items_seen, p->new_items, p->items_expired, next);
	else
		LOG_INFO("feed %s: %d entries, %d new%s", f->name, p->items_seen, p->new_items,
			 next);
}

/* The poll's record, once its articles are all committed. */
static void finish_poll(struct poll *p)
{
	struct daemon *d = p->d;
	struct feed_rt *f = p->feed;
	double next_s = 0;
	/* No cfg: removed from the configuration meanwhile.  A poll cancelled
	 * at shutdown says nothing about the feed: due again at the next
	 * start, its error count as it was. */
	if (f->cfg && !p->cancelled)
		schedule_next(p, &next_s);
	struct store_poll *rec = poll_record(p, next_s);
	log_outcome(p, next_s);
	store_submit_poll(d->store, rec);

	f->failed = p->error != NULL;
	f->polled = true;
	f->poll = NULL;
	poll_discard(p);
	d->polls_active--;
	/* A poll that never fetched still holds its host's connection. */
	hostgate_leave(d->gate, &f->gate);
	if (f->removed)
		feeds_drop(d, f);
	sched_hold(d->sched, false);
	daemon_check_done(d);
}

/* ---- parsing ------------------------------------------------------------- */

struct parse_ctx {
	struct poll *p;
	const struct cfg_source *src;
	char *language;
};

static void on_parsed_feed(void *ctx, const struct feed_info *info)
{
	struct parse_ctx *pc = ctx;
	free(pc->language);
	pc->language = info->language ? xstrdup(info->language) : NULL;
}

static void on_parsed_entry(void *ctx, struct feed_entry *e)
{
	struct parse_ctx *pc = ctx;
	struct poll *p = pc->p;
	p->items_seen++;
	bool matched;
	char *id = newsid_compute(pc->src->news_id.code, e->link, e->guid, feed_entry_key_text(e),
				  e->published_raw, &matched);
	if (!id) {
		LOG_WARN("feed %s: entry %zu has no guid, link or title; skipped", p->feed->name,
			 e->index + 1);
		feed_entry_free(e);
		return;
	}
	int64_t now = now_us();
	struct store_article *a =
		article_from_entry(e, pc->src, p->feed->name, pc->language, id, now);
	feed_entry_free(e);
	/* An item the retention would delete is not stored: stored, it would
	 * be deleted at the next upkeep and stored again at the next poll. */
	if (pc->src->article_retention_ms > 0 && a->published_at != STORE_TIME_NONE &&
	    a->published_at < (now / 1000 - pc->src->article_retention_ms) / 1000) {
		p->items_expired++;
		store_article_free(a);
		return;
	}
	a->ctx = p;
	p->pending++;
	store_submit_article(p->d->store, a);
}

static void on_parse_warning(void *ctx, const char *msg)
{
	struct parse_ctx *pc = ctx;
	LOG_WARN("feed %s: %s", pc->p->feed->name, msg);
}

static void parse_body(struct poll *p)
{
	struct daemon *d = p->d;
	struct feed_rt *f = p->feed;
	struct parse_ctx pc = {.p = p, .src = f->cfg->source};
	struct feed_limits lim = {
		.max_document = d->cfg->max_feed_size,
		.max_entries = (size_t)d->cfg->max_entries,
		.max_field = d->cfg->max_field_size,
	};
	struct feed_handler h = {on_parsed_feed, on_parsed_entry, on_parse_warning, &pc};
	struct feed_parser *fp = feed_parser_new(&lim, p->res->charset, p->res->effective_url, &h);
	/* The poll must not finish while entries are still being handed
	 * over: hold one pending count across the parse. */
	p->pending++;
	feed_parser_push(fp, p->res->body.data ? p->res->body.data : "", p->res->body.len);
	struct buf err;
	buf_init(&err);
	if (feed_parser_finish(fp, &err) != 0) {
		struct buf msg;
		buf_init(&msg);
		buf_printf(&msg, "not a feed: %s", buf_str(&err));
		p->error = buf_steal(&msg);
	}
	buf_free(&err);
	feed_parser_free(fp);
	free(pc.language);
	if (--p->pending == 0)
		finish_poll(p);
}

/* ---- fetching ------------------------------------------------------------ */

void poll_on_fetched(void *ctx, struct fetch_result *r)
{
	(void)ctx; /* the daemon; the poll knows it too */
	struct poll *p = r->ctx;
	struct feed_rt *f = p->feed;
	p->res = r;
	/* The download is over: the host's connection goes to the next feed in
	 * its line now, not once this poll's articles are committed (issue
	 * 14); the feed itself stays busy (f->poll) until its record is in. */
	hostgate_leave(p->d->gate, &f->gate);
	sched_hold(p->d->sched, false);
	if (!f->cfg) {
		p->error = xstrdup("removed from the configuration during the poll");
		finish_poll(p);
		return;
	}
	struct buf msg;
	buf_init(&msg);
	if (r->error && p->d->cancelled) {
		p->cancelled = true;
		buf_puts(&msg, "cancelled at shutdown (shutdown_timeout)");
	} else if (r->error) {
		buf_puts(&msg, r->error);
	} else if (r->http_status == 304) {
		p->not_modified = true;
	} else if (r->http_status == 410) {
		buf_puts(&msg, "HTTP 410 Gone: the feed is disabled");
		free_and_set(&f->disabled_reason, "HTTP 410 Gone");
		LOG_ERR("feed %s: the server says the feed is gone for good (HTTP 410); it is "
			"disabled until its url changes (%s:%d)",
			f->name, f->cfg->loc.file, f->cfg->loc.line);
	} else if (r->http_status >= 400 || r->http_status < 200) {
		buf_printf(&msg, "HTTP %d", r->http_status);
		if (r->retry_after_s >= 0)
			buf_printf(&msg, " (Retry-After %lld s)", (long long)r->retry_after_s);
	}
	if (msg.len) {
		p->error = buf_steal(&msg);
		finish_poll(p);
		return;
	}
	buf_free(&msg);
	if (p->not_modified) {
		finish_poll(p);
		return;
	}
	parse_body(p);
}

static bool under_pressure(struct daemon *d)
{
	return fetch_in_flight(d->fetcher) >= (size_t)d->cfg->max_connections ||
		store_backlog(d->store) >= STORE_BACKLOG_LIMIT;
}

/* f holds a connection to its host: its poll begins. */
static void start_poll(struct daemon *d, struct feed_rt *f)
{
	struct poll *p = xcalloc(1, sizeof *p);
	p->d = d;
	p->feed = f;
	p->started_us = now_us();
	p->started = ev_now(d->loop);
	f->last_poll = p->started;
	f->last_started_us = p->started_us;
	f->poll = p;
	d->polls_active++;
	struct fetch_request req = {
		.url = f->permanent_url ? f->permanent_url : f->cfg->url,
		.etag = f->etag,
		.last_modified = f->last_modified,
		.max_bytes = d->cfg->max_feed_size,
		.max_bytes_name = "max_feed_size",
		.ctx = p,
		.insecure = !f->cfg->verify_tls,
	};
	if (fetch_start(d->fetcher, &req) != 0) {
		p->error = xstrdup("the URL cannot be fetched");
		finish_poll(p);
	}
}

/* At most per_host_connections polls of one host at once: feeds due beyond
 * that wait in the host's line instead of queueing inside libcurl, whose
 * connect timeout would run while they wait. */
void poll_on_due(void *ctx, void *owner)
{
	struct daemon *d = ctx;
	struct feed_rt *f = owner;
	if (d->stopping || f->poll || f->removed || hostgate_waiting(&f->gate))
		return;
	char *name = url_host(f->permanent_url ? f->permanent_url : f->cfg->url);
	/* Never NULL after config.c's checks; stay safe all the same. */
	struct hostgate_host *h = hostgate_host(d->gate, name ? name : "");
	free(name);
	if (!hostgate_open(d->gate, h, 0, ev_now(d->loop), NULL)) {
		hostgate_wait(d->gate, &f->gate, h);
		return;
	}
	if (under_pressure(d)) {
		/* Back in line; the schedule waits until something finishes. */
		sched_at(d->sched, &f->entry, ev_now(d->loop));
		sched_hold(d->sched, true);
		if (!ev_is_active(&d->pressure))
			ev_timer_start(d->loop, &d->pressure);
		return;
	}
	hostgate_take(d->gate, &f->gate, h, ev_now(d->loop));
	start_poll(d, f);
}

void poll_on_pressure(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	/* A safety net: releases the hold even if no completion does. */
	if (!under_pressure(d)) {
		ev_timer_stop(loop, w);
		sched_hold(d->sched, false);
	}
}

/* ---- the store's answers ------------------------------------------------- */

void poll_on_article(void *ctx, const struct store_article *a, enum store_outcome o)
{
	struct daemon *d = ctx;
	struct poll *p = a->ctx;
	if (o == STORE_INSERTED || o == STORE_REVISED)
		indexer_poke(d->indexer);
	if (o == STORE_INSERTED) {
		daemon_count_stored(d);
		if (p)
			p->new_items++;
		if (a->fetch_page)
			pages_article_stored(d->pages);
	} else if (o == STORE_SPOOLED && p) {
		p->new_items++; /* new to the dedup set; the database decides later */
	} else if (o == STORE_FULL && p && !p->error) {
		p->error = xstrdup("the spool is full (spool_max_size) and the database is away: "
				   "articles refused");
		daemon_update_status(d);
	}
	LOG_DEBUG("article %s/%s (feed %s): %s", a->source, a->news_id, a->feed,
		  store_outcome_name(o));
	if (p && --p->pending == 0)
		finish_poll(p);
	daemon_check_done(d);
}
