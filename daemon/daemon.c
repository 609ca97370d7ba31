/*
 * daemon: the run-time wiring of feedd (see daemon.h).
 *
 * Each configured feed has a struct feed_rt that owns its fetch state and
 * its place in the schedule.  A poll goes: due (sched) -> fetch_start ->
 * on_fetched -> feed parser -> one store_article per entry -> on_article as
 * each is committed -> when the last is in, the poll record with the feed's
 * new fetch state.  The poll record waits for its articles so that it can
 * say how many were new, and so that the validators (ETag, Last-Modified)
 * are only stored once what they describe is stored: a crash in between
 * makes the next poll fetch the feed again rather than skip it.
 *
 * Backpressure: no fetch starts while max_connections fetches are in flight
 * or the store's backlog is above its limit; the schedule is held instead.
 */
#include "feedd/daemon.h"

#include "feedd/config.h"
#include "feedd/date.h"
#include "feedd/feed.h"
#include "feedd/fetch.h"
#include "feedd/log.h"
#include "feedd/newsid.h"
#include "feedd/notify.h"
#include "feedd/pages.h"
#include "feedd/sched.h"
#include "feedd/store.h"
#include "feedd/text.h"
#include "feedd/util.h"

#include <ev.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

/* The store's backlog above which no new fetch starts. */
#define STORE_BACKLOG_LIMIT 20000

struct poll;
struct feed_rt;

/* A host and its fetches: at most per_host_connections at once; feeds due
 * beyond that wait here, in order, instead of queueing inside libcurl,
 * whose connect timeout would run while they wait. */
struct host {
	char *name;
	int in_flight;
	struct feed_rt *wait_head, *wait_tail;
	struct host *next; /* hash chain */
};

struct feed_rt {
	char *name;
	const struct cfg_feed *cfg; /* in d->cfg; updated on reload */
	char *etag, *last_modified, *permanent_url;
	char *disabled_reason;
	int errors;
	double adaptive_s;
	struct sched_entry entry;
	struct poll *poll; /* the poll in progress, or NULL */
	struct host *host; /* while waiting for or holding a connection */
	struct feed_rt *wait_next;
	bool waiting;
	bool removed; /* gone from the configuration: freed when idle */
	bool polled;  /* once: done */
	bool failed;  /* once: the last poll failed */
};

struct poll {
	struct daemon *d;
	struct feed_rt *feed;
	int64_t started_us;
	double started;
	struct fetch_result *res;
	int items_seen, pending, new_items;
	char *error;
	bool not_modified;
	bool cancelled; /* cut short at shutdown: not the feed's failure */
};

struct daemon {
	struct ev_loop *loop;
	enum daemon_mode mode;
	struct cfg *cfg;
	char *config_path;
	struct store *store;
	struct fetcher *fetcher;
	struct pages *pages; /* article pages of the sources with articles = fetch */
	struct sched *sched;
	struct feed_rt **feeds;
	size_t n_feeds;
	bool store_ready, started, stopping;
	bool cancelled; /* shutdown_timeout came: polls in flight were cancelled */
	int exit_status;
	size_t polls_active;
	size_t stored_today, failing;
	long today; /* the UTC day stored_today counts */
	struct host **hosts;
	size_t host_cap;
	struct feed_rt **index; /* see index_feeds */
	size_t index_cap;
	/* Per feed of d->cfg (same index): its row already matches the
	 * configuration, as feed_state said at the first connection. */
	bool *in_sync;
	/* Rows of configured feeds that the current connection's feed_state
	 * read had: fewer than configured after the first start means the
	 * schema was re-created under us (see on_store_state). */
	size_t states_seen;
	ev_signal sig_term, sig_int, sig_hup;
	ev_timer watchdog, deadline, pressure, drain_check;
	bool watchdog_withheld; /* the store is stuck: liveness not confirmed */
	ev_idle check_done;
};

static int64_t now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void free_and_set(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? xstrdup(v) : NULL;
}

static uint64_t name_hash(const char *name)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	return h;
}

/* Feeds by name, open addressing: with 100,000 feeds, the state read back
 * at start and every reload look up each one. Rebuilt whenever d->feeds
 * changes. */
static void index_feeds(struct daemon *d)
{
	size_t cap = 64;
	while (cap < d->n_feeds * 2)
		cap *= 2;
	free(d->index);
	d->index = xcalloc(cap, sizeof *d->index);
	d->index_cap = cap;
	for (size_t i = 0; i < d->n_feeds; i++) {
		size_t k = name_hash(d->feeds[i]->name) & (cap - 1);
		while (d->index[k])
			k = (k + 1) & (cap - 1);
		d->index[k] = d->feeds[i];
	}
}

static struct feed_rt *find_feed(struct daemon *d, const char *name)
{
	if (!d->index)
		return NULL;
	size_t mask = d->index_cap - 1;
	for (size_t k = name_hash(name) & mask; d->index[k]; k = (k + 1) & mask)
		if (strcmp(d->index[k]->name, name) == 0)
			return d->index[k];
	return NULL;
}

static struct host *host_get(struct daemon *d, const char *url)
{
	if (!d->hosts) {
		d->host_cap = 1024;
		d->hosts = xcalloc(d->host_cap, sizeof *d->hosts);
	}
	char *name = url_host(url);
	if (!name) /* not after config.c's checks; stay safe all the same */
		name = xstrdup("");
	struct host **slot = &d->hosts[name_hash(name) % d->host_cap];
	for (struct host *x = *slot; x; x = x->next) {
		if (strcmp(x->name, name) == 0) {
			free(name);
			return x;
		}
	}
	struct host *x = xcalloc(1, sizeof *x);
	x->name = name;
	x->next = *slot;
	*slot = x;
	return x;
}

static void host_unwait(struct feed_rt *f)
{
	if (!f->waiting)
		return;
	struct host *h = f->host;
	struct feed_rt **pp = &h->wait_head, *prev = NULL;
	while (*pp && *pp != f) {
		prev = *pp;
		pp = &(*pp)->wait_next;
	}
	if (*pp) {
		*pp = f->wait_next;
		if (h->wait_tail == f)
			h->wait_tail = prev;
	}
	f->waiting = false;
	f->wait_next = NULL;
	f->host = NULL;
}

static void feed_rt_free(struct feed_rt *f)
{
	host_unwait(f);
	free(f->name);
	free(f->etag);
	free(f->last_modified);
	free(f->permanent_url);
	free(f->disabled_reason);
	free(f);
}

static void count_stored(struct daemon *d)
{
	long day = (long)(now_us() / 1000000 / 86400);
	if (day != d->today) {
		d->today = day;
		d->stored_today = 0;
	}
	d->stored_today++;
}

static void update_status(struct daemon *d)
{
	if ((long)(now_us() / 1000000 / 86400) != d->today)
		d->stored_today = 0;
	size_t failing = 0;
	for (size_t i = 0; i < d->n_feeds; i++)
		failing += d->feeds[i]->errors > 0;
	d->failing = failing;
	uint64_t spooled = store_spooled(d->store);
	char spool[96] = "";
	if (store_spool_full(d->store))
		snprintf(spool, sizeof spool, ", SPOOL FULL (%llu items): new articles refused",
			 (unsigned long long)spooled);
	else if (spooled)
		snprintf(spool, sizeof spool, ", %llu items spooled until the database is back",
			 (unsigned long long)spooled);
	bool unusable = false;
	const char *problem = store_problem(d->store, &unusable);
	char db[200] = "";
	if (problem)
		snprintf(db, sizeof db, ", %s: %.150s",
			 unusable			      ? "DATABASE REFUSES WRITES"
				 : store_stalls(d->store) > 0 ? "DATABASE STALLED"
							      : "database failing",
			 problem);
	notify_status("%zu feeds, %zu polls and %zu pages in flight, %zu articles stored today, "
		      "%zu failing%s%s",
		      d->n_feeds, d->polls_active, pages_in_flight(d->pages), d->stored_today,
		      failing, spool, db);
}

/* ---- finishing ----------------------------------------------------------- */

static bool once_done(struct daemon *d)
{
	for (size_t i = 0; i < d->n_feeds; i++)
		if (!d->feeds[i]->polled && !d->feeds[i]->disabled_reason)
			return false;
	return d->polls_active == 0 && store_backlog(d->store) == 0 &&
		store_spooled(d->store) == 0 && pages_idle(d->pages);
}

static void on_check_done(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct daemon *d = w->data;
	ev_idle_stop(loop, w);
	/* With the database away, what is accepted is in the spool, and the
	 * rest (registrations, claims) is not worth waiting for. */
	bool stored = store_backlog(d->store) == 0 ||
		(!store_ready(d->store) && store_unspooled(d->store) == 0);
	bool drained = d->polls_active == 0 && stored && pages_idle(d->pages);
	if ((d->mode == DAEMON_ONCE && once_done(d)) || (d->stopping && drained))
		ev_break(loop, EVBREAK_ALL);
}

static void check_done(struct daemon *d)
{
	if (d->mode == DAEMON_ONCE || d->stopping)
		ev_idle_start(d->loop, &d->check_done);
}

/* ---- polls ------------------------------------------------------------------ */

static void on_due(void *ctx, void *owner);
static void sync_config(struct daemon *d, bool only_changed);

static void schedule_next(struct daemon *d, struct feed_rt *f, const struct sched_outcome *o,
			  double *next_s)
{
	struct sched_policy pol = {
		.interval_s = (double)f->cfg->interval_ms / 1000.0,
		.min_s = (double)d->cfg->min_interval_ms / 1000.0,
		.max_s = (double)d->cfg->max_interval_ms / 1000.0,
	};
	double delay = sched_next_delay(&pol, o, &f->adaptive_s, &f->errors,
					(double)rand() / ((double)RAND_MAX + 1));
	*next_s = delay;
	if (d->mode == DAEMON_RUN && !d->stopping && !f->removed && !f->disabled_reason)
		sched_at(d->sched, &f->entry, ev_now(d->loop) + delay);
}

/* The poll's record, once its articles are all committed. */
static void finish_poll(struct poll *p)
{
	struct daemon *d = p->d;
	struct feed_rt *f = p->feed;
	struct fetch_result *r = p->res;
	bool failed = p->error != NULL;
	struct sched_outcome o = {
		.failed = failed,
		.new_items = p->new_items,
		.retry_after_s = r ? r->retry_after_s : -1,
	};
	double next_s = 0;
	/* NULL: removed from the configuration meanwhile.  A poll cancelled
	 * at shutdown says nothing about the feed: due again at the next
	 * start, its error count as it was. */
	if (f->cfg && !p->cancelled)
		schedule_next(d, f, &o, &next_s);

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
	if (!failed && r && r->http_status == 200) {
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

	char next[64] = "";
	if (d->mode == DAEMON_RUN && f->cfg && !f->disabled_reason && !d->stopping)
		snprintf(next, sizeof next, "; next poll in %.0f s", next_s);
	if (p->cancelled)
		LOG_NOTICE("feed %s: %s", f->name, p->error);
	else if (failed)
		LOG_WARN("feed %s: %s%s (%d consecutive errors)", f->name, p->error, next,
			 f->errors);
	else if (p->not_modified) /* the usual case: in polls, not in the log */
		LOG_DEBUG("feed %s: not modified%s", f->name, next);
	else
		LOG_INFO("feed %s: %d entries, %d new%s", f->name, p->items_seen, p->new_items,
			 next);
	store_submit_poll(d->store, rec);

	f->failed = failed;
	f->polled = true;
	f->poll = NULL;
	struct host *host = f->host;
	f->host = NULL;
	if (r)
		fetch_result_free(r);
	free(p->error);
	free(p);
	d->polls_active--;
	if (f->removed) {
		for (size_t i = 0; i < d->n_feeds; i++) {
			if (d->feeds[i] == f) {
				d->feeds[i] = d->feeds[--d->n_feeds];
				break;
			}
		}
		index_feeds(d);
		feed_rt_free(f);
	}
	/* The host's next waiting feed takes the connection. */
	if (host) {
		host->in_flight--;
		struct feed_rt *waiter = host->wait_head;
		if (waiter && !d->stopping) {
			host->wait_head = waiter->wait_next;
			if (!host->wait_head)
				host->wait_tail = NULL;
			waiter->waiting = false;
			waiter->wait_next = NULL;
			waiter->host = NULL;
			on_due(d, waiter);
		}
	}
	sched_hold(d->sched, false);
	check_done(d);
}

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

/* The first image among the enclosures, for articles.image. */
static const char *image_of(const struct feed_entry *e)
{
	for (size_t i = 0; i < e->n_enclosures; i++) {
		const struct feed_enclosure *en = &e->enclosures[i];
		if ((en->type && strncasecmp(en->type, "image/", 6) == 0) || !en->type)
			return en->url;
	}
	return NULL;
}

static void on_parsed_entry(void *ctx, struct feed_entry *e)
{
	struct parse_ctx *pc = ctx;
	struct poll *p = pc->p;
	struct daemon *d = p->d;
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
	struct store_article *a = xcalloc(1, sizeof *a);
	a->source = xstrdup(pc->src->name);
	a->feed = xstrdup(p->feed->name);
	a->news_id = id;
	a->url = e->link ? xstrdup(e->link) : NULL;
	a->title = e->title ? xstrdup(e->title) : NULL;
	if (e->summary) {
		char *lead = text_html_to_plain(e->summary);
		a->lead = *lead ? lead : (free(lead), NULL);
	}
	a->body = e->content ? text_html_to_paragraphs(e->content) : NULL;
	a->author = e->author ? xstrdup(e->author) : NULL;
	a->image = image_of(e) ? xstrdup(image_of(e)) : NULL;
	a->language = pc->language ? xstrdup(pc->language) : NULL;
	a->n_tags = e->n_categories;
	a->tags = e->categories; /* taken over */
	e->categories = NULL;
	e->n_categories = 0;
	a->published_at = e->published != FEED_TIME_NONE ? e->published : STORE_TIME_NONE;
	a->seen_at_us = now_us();
	a->ctx = p;
	a->fetch_page = pc->src->articles == CFG_ARTICLES_FETCH && a->url;
	feed_entry_free(e);
	p->pending++;
	store_submit_article(d->store, a);
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

static void on_fetched(void *ctx, struct fetch_result *r)
{
	(void)ctx; /* the daemon; the poll knows it too */
	struct poll *p = r->ctx;
	struct feed_rt *f = p->feed;
	p->res = r;
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

static void start_poll(struct daemon *d, struct feed_rt *f)
{
	struct poll *p = xcalloc(1, sizeof *p);
	p->d = d;
	p->feed = f;
	p->started_us = now_us();
	p->started = ev_now(d->loop);
	f->poll = p;
	d->polls_active++;
	f->host->in_flight++;
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

static void on_due(void *ctx, void *owner)
{
	struct daemon *d = ctx;
	struct feed_rt *f = owner;
	if (d->stopping || f->poll || f->removed || f->waiting)
		return;
	struct host *h = host_get(d, f->permanent_url ? f->permanent_url : f->cfg->url);
	if (h->in_flight >= d->cfg->per_host_connections) {
		f->host = h;
		f->waiting = true;
		f->wait_next = NULL;
		if (h->wait_tail)
			h->wait_tail->wait_next = f;
		else
			h->wait_head = f;
		h->wait_tail = f;
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
	f->host = h;
	start_poll(d, f);
}

static void on_drain_check(struct ev_loop *loop, ev_timer *w, int revents)
{
	check_done(w->data);
}

static void on_pressure(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	/* A safety net: releases the hold even if no completion does. */
	if (!under_pressure(d)) {
		ev_timer_stop(loop, w);
		sched_hold(d->sched, false);
	}
}

/* ---- the store's callbacks ---------------------------------------------- */

static void on_article(void *ctx, const struct store_article *a, enum store_outcome o)
{
	struct daemon *d = ctx;
	struct poll *p = a->ctx;
	if (o == STORE_INSERTED) {
		count_stored(d);
		if (p)
			p->new_items++;
		if (a->fetch_page)
			pages_article_stored(d->pages);
	} else if (o == STORE_SPOOLED && p) {
		p->new_items++; /* new to the dedup set; the database decides later */
	} else if (o == STORE_FULL && p && !p->error) {
		p->error = xstrdup("the spool is full (spool_max_size) and the database is away: "
				   "articles refused");
		update_status(d);
	}
	LOG_DEBUG("article %s/%s (feed %s): %s", a->source, a->news_id, a->feed,
		  store_outcome_name(o));
	if (p && --p->pending == 0)
		finish_poll(p);
	check_done(d);
}

static void on_poll_stored(void *ctx, const struct store_poll *p, bool ok)
{
	check_done(ctx);
}

static void on_page_stored(void *ctx, const struct store_page *pg, enum store_page_outcome o,
			   int revision)
{
	struct daemon *d = ctx;
	pages_on_page(d->pages, pg, o, revision);
	check_done(d);
}

static void on_visits(void *ctx, const struct store_visit *v, size_t n, bool ok)
{
	struct daemon *d = ctx;
	pages_on_visits(d->pages, v, n, ok);
	check_done(d);
}

/* In how many seconds a feed due in `in` is due under cf's interval, which
 * was shortened: as before if that is sooner, else at a random time in the
 * second half of the new interval (so that many such feeds do not start at
 * once).  Whoever shortens an interval wants it now, not once the old one
 * has run out. */
static double due_within(double in, const struct cfg_feed *cf)
{
	double interval = (double)cf->interval_ms / 1000.0;
	if (in <= interval)
		return in;
	return interval * (0.5 + 0.5 * (double)rand() / ((double)RAND_MAX + 1));
}

/* What feedd.sync_feed writes as the disabled_reason of a feed the
 * configuration disables or no longer has (sql/001_init.sql). */
static const char *const config_disabled = "disabled in the configuration";

/* Whether a feed's row says what feedd.sync_feed would leave there for cf:
 * source, URL and interval as configured, and enabled as configured, or, for
 * an enabled feed, disabled by feedd itself (HTTP 410) at this very URL,
 * which sync_feed keeps (sql/008). */
static bool registered_as(const struct cfg_feed *cf, const struct store_feed_state *st)
{
	if (!st->url || strcmp(st->url, cf->url) != 0 || !st->source ||
	    strcmp(st->source, cf->source->name) != 0 ||
	    st->interval_s != (int)(cf->interval_ms / 1000))
		return false;
	bool by_config = st->disabled_reason && strcmp(st->disabled_reason, config_disabled) == 0;
	if (!cf->enabled)
		return !st->enabled && by_config;
	if (st->enabled)
		return !st->disabled_reason;
	return st->disabled_reason && !by_config; /* feedd's own, kept */
}

static void on_feed_state(void *ctx, const struct store_feed_state *st)
{
	struct daemon *d = ctx;
	if (d->started && cfg_feed_find(d->cfg, st->name))
		d->states_seen++;
	if (!d->started) {
		const struct cfg_feed *cf = cfg_feed_find(d->cfg, st->name);
		if (cf && registered_as(cf, st))
			d->in_sync[cf - d->cfg->feeds] = true;
		/* Gone from the file since the last start: disabled, as a
		 * reload does, never deleted.  Only by the daemon: a `feedd
		 * once -c other.conf` against a shared database must not
		 * disable every feed that other.conf leaves out. */
		if (!cf && d->mode == DAEMON_RUN && st->enabled && st->source && st->url)
			store_sync_feed(d->store, st->name, st->source, st->url, 0, false);
	}
	struct feed_rt *f = find_feed(d, st->name);
	if (!f || d->started)
		return;
	/* Validators belong to a URL: keep them only if it is unchanged.  So
	 * does feedd's own reason to stop polling (410 Gone); the
	 * configuration's reason is the configuration's to give, and it is
	 * back in the file. */
	if (st->url && strcmp(st->url, f->cfg->url) == 0) {
		free_and_set(&f->etag, st->etag);
		free_and_set(&f->last_modified, st->last_modified);
		free_and_set(&f->permanent_url, st->permanent_url);
		if (!st->disabled_reason || strcmp(st->disabled_reason, config_disabled) != 0)
			free_and_set(&f->disabled_reason, st->disabled_reason);
	}
	f->errors = st->error_count;
	if (st->next_poll_us != STORE_TIME_NONE && d->mode == DAEMON_RUN) {
		double in = (double)(st->next_poll_us - now_us()) / 1e6;
		if (st->interval_s !=
		    (int)(f->cfg->interval_ms / 1000)) /* scheduled under another */
			in = due_within(in, f->cfg);
		/* No schedule reaches past max_interval (a Retry-After stored
		 * before it was capped could say 2094). */
		double max_s = (double)d->cfg->max_interval_ms / 1000.0;
		if (in > max_s)
			in = max_s;
		f->entry.due = ev_now(d->loop) + (in > 0 ? in : 0);
	}
}

/* In how many seconds a feed never polled before is due: soon, spread
 * over a few seconds (sched_first_delay) so that many new feeds do not all
 * start in the same instant. */
static double first_delay(const struct cfg_feed *cf)
{
	return sched_first_delay((double)cf->interval_ms / 1000.0,
				 (double)rand() / ((double)RAND_MAX + 1));
}

static void start_polling(struct daemon *d)
{
	d->started = true;
	double now = ev_now(d->loop);
	size_t n = 0;
	for (size_t i = 0; i < d->n_feeds; i++) {
		struct feed_rt *f = d->feeds[i];
		if (f->disabled_reason) {
			LOG_WARN("feed %s is disabled (%s); change its url to enable it again",
				 f->name, f->disabled_reason);
			continue;
		}
		if (!f->cfg->verify_tls)
			LOG_WARN("feed %s: TLS certificates are NOT verified (verify_tls = false, "
				 "%s:%d): anyone on the path can serve this feed",
				 f->name, f->cfg->loc.file, f->cfg->loc.line);
		double when = f->entry.due > 0	? f->entry.due
			: d->mode == DAEMON_RUN ? now + first_delay(f->cfg)
						: now;
		sched_at(d->sched, &f->entry, when);
		n++;
	}
	if (d->mode == DAEMON_RUN)
		LOG_NOTICE("ready: polling %zu feeds", n);
	else
		LOG_INFO("polling %zu feeds", n);
	check_done(d);
}

static void on_store_state(void *ctx, bool ready)
{
	struct daemon *d = ctx;
	d->store_ready = ready;
	if (d->mode == DAEMON_ONCE && !d->stopping) {
		/* once gives up only while the database stays unreachable; a
		 * long pass over many feeds is not cut short. */
		if (ready)
			ev_timer_stop(d->loop, &d->deadline);
		else
			ev_timer_again(d->loop, &d->deadline);
	}
	if (!ready) {
		update_status(d);
		return;
	}
	if (!d->started) {
		/* Before any poll record: FIFO order makes the feeds exist. */
		sync_config(d, true);
		start_polling(d);
		pages_start(d->pages);
		if (d->mode == DAEMON_RUN)
			notify_ready();
	} else if (d->states_seen < d->cfg->n_feeds) {
		/* Feeds registered at start are gone: the schema was dropped
		 * and migrated again while feedd ran.  Register everything
		 * anew; the store sends registrations before what waits. */
		LOG_NOTICE("database: %zu of %zu configured feeds are not registered (was the "
			   "schema re-created?); registering them again",
			   d->cfg->n_feeds - d->states_seen, d->cfg->n_feeds);
		sync_config(d, false);
	}
	d->states_seen = 0;
	update_status(d);
}

/* ---- configuration ----------------------------------------------------------- */

/* Registers the sources and feeds of the configuration; with only_changed,
 * not the feeds whose rows already match (d->in_sync). */
static void sync_config(struct daemon *d, bool only_changed)
{
	for (size_t i = 0; i < d->cfg->n_sources; i++)
		store_sync_source(d->store, d->cfg->sources[i].name, d->cfg->sources[i].home);
	size_t n = 0;
	for (size_t i = 0; i < d->cfg->n_feeds; i++) {
		const struct cfg_feed *cf = &d->cfg->feeds[i];
		if (only_changed && d->in_sync[i])
			continue;
		store_sync_feed(d->store, cf->name, cf->source->name, cf->url,
				(int)(cf->interval_ms / 1000), cf->enabled);
		n++;
	}
	if (only_changed)
		LOG_INFO("database: %zu of %zu feeds are new or changed in the configuration", n,
			 d->cfg->n_feeds);
}

static struct feed_rt *feed_rt_new(const struct cfg_feed *cf)
{
	struct feed_rt *f = xcalloc(1, sizeof *f);
	f->name = xstrdup(cf->name);
	f->cfg = cf;
	sched_entry_init(&f->entry, f);
	return f;
}

static void add_feeds(struct daemon *d, char **only, size_t n_only)
{
	d->feeds = xcalloc(d->cfg->n_feeds ? d->cfg->n_feeds : 1, sizeof *d->feeds);
	for (size_t i = 0; i < d->cfg->n_feeds; i++) {
		const struct cfg_feed *cf = &d->cfg->feeds[i];
		bool wanted = cf->enabled;
		if (n_only) {
			wanted = false;
			for (size_t k = 0; k < n_only; k++)
				wanted |= strcmp(only[k], cf->name) == 0;
		}
		if (wanted)
			d->feeds[d->n_feeds++] = feed_rt_new(cf);
	}
	index_feeds(d);
}

/* The settings of c that the fetchers take (the feeds' and the pages'). */
static void fetch_config_of(const struct cfg *c, struct fetch_config *fc)
{
	fetch_config_default(fc);
	fc->user_agent = c->user_agent;
	fc->max_connections = c->max_connections;
	fc->per_host_connections = c->per_host_connections;
	fc->connect_timeout_ms = c->connect_timeout_ms;
	fc->timeout_ms = c->fetch_timeout_ms;
}

/* Hands d->cfg's run-time settings to every module that keeps its own copy:
 * the log threshold, both fetchers (user agent, timeouts, connection
 * limits) and the store (batch size and delay).  The one place they are
 * applied, at start and at every reload; what the daemon and pages read
 * through d->cfg (intervals, sizes, page_retries, shutdown_timeout) needs
 * nothing more.  The keys that cannot change at run time are those the
 * table marks so (cfg_keep_restart_keys). */
static void apply_config(struct daemon *d)
{
	const struct cfg *c = d->cfg;
	log_set_threshold(c->log_level);
	struct fetch_config fc;
	fetch_config_of(c, &fc);
	fetch_set_config(d->fetcher, &fc);
	pages_set_fetch_config(d->pages, &fc);
	store_set_batching(d->store, c->db.batch_size, c->db.batch_delay_ms);
	store_set_stall_timeout(d->store, c->db.stall_timeout_ms);
	LOG_DEBUG("settings applied: log_level %s, user_agent \"%s\", max_connections %d, "
		  "per_host_connections %d, connect_timeout %.3f s, fetch_timeout %.3f s, "
		  "batch_size %d, batch_delay %.3f s, stall_timeout %.3f s",
		  log_level_name(c->log_level), c->user_agent, c->max_connections,
		  c->per_host_connections, (double)c->connect_timeout_ms / 1000.0,
		  (double)c->fetch_timeout_ms / 1000.0, c->db.batch_size,
		  (double)c->db.batch_delay_ms / 1000.0, (double)c->db.stall_timeout_ms / 1000.0);
}

/* SIGHUP: all or nothing; a broken file keeps the running configuration.
 * A key that cannot change at run time keeps its running value, with a
 * line saying that it needs a restart; the rest applies. */
static void reload(struct daemon *d)
{
	/* A SIGHUP before the first READY=1 (blocked since main, delivered
	 * once the watchers are armed) must not announce readiness. */
	bool ready = d->started && d->mode == DAEMON_RUN;
	if (ready)
		notify_reloading();
	struct cfg *next = NULL;
	struct buf err;
	buf_init(&err);
	if (cfg_load(d->config_path, &next, &err) != 0) {
		LOG_ERR("reload: %s; keeping the running configuration", buf_str(&err));
		buf_free(&err);
		cfg_free(next);
		if (ready)
			notify_ready();
		return;
	}
	buf_free(&err);
	struct cfg_strlist restart = {0};
	cfg_keep_restart_keys(d->cfg, next, &restart);
	for (size_t i = 0; i < restart.n; i++)
		LOG_WARN("reload: %s changed: needs a restart; running with the old value until "
			 "then",
			 restart.v[i]);
	strv_free(restart.v, restart.n);
	size_t added = 0, removed = 0, kept = 0;
	for (size_t i = 0; i < d->n_feeds; i++)
		d->feeds[i]->removed = true;
	struct feed_rt **feeds = xcalloc(next->n_feeds + d->n_feeds + 1, sizeof *feeds);
	size_t n = 0;
	for (size_t i = 0; i < next->n_feeds; i++) {
		const struct cfg_feed *cf = &next->feeds[i];
		if (!cf->enabled)
			continue;
		struct feed_rt *f = find_feed(d, cf->name);
		if (f) {
			/* Unchanged feeds keep schedule and validators; a new
			 * URL starts afresh. */
			if (strcmp(f->cfg->url, cf->url) != 0) {
				free_and_set(&f->etag, NULL);
				free_and_set(&f->last_modified, NULL);
				free_and_set(&f->permanent_url, NULL);
				free_and_set(&f->disabled_reason, NULL);
				sched_at(d->sched, &f->entry, ev_now(d->loop));
			} else if (cf->interval_ms < f->cfg->interval_ms &&
				   sched_scheduled(&f->entry)) {
				double now = ev_now(d->loop);
				sched_at(d->sched, &f->entry,
					 now + due_within(f->entry.due - now, cf));
			}
			f->cfg = cf;
			f->removed = false;
			kept++;
		} else {
			f = feed_rt_new(cf);
			if (d->started)
				sched_at(d->sched, &f->entry, ev_now(d->loop) + first_delay(cf));
			added++;
		}
		feeds[n++] = f;
	}
	/* Removed feeds: out of the schedule; one still polling stays in the
	 * list until its poll ends (finish_poll frees it). */
	for (size_t i = 0; i < d->n_feeds; i++) {
		struct feed_rt *f = d->feeds[i];
		if (!f->removed)
			continue;
		removed++;
		sched_remove(d->sched, &f->entry);
		if (f->poll) {
			/* Its cfg pointer must outlive the old configuration. */
			f->cfg = NULL;
			feeds[n++] = f;
		} else {
			feed_rt_free(f);
		}
	}
	free(d->feeds);
	d->feeds = feeds;
	d->n_feeds = n;
	index_feeds(d);
	struct cfg *old = d->cfg;
	d->cfg = next;
	pages_set_config(d->pages, next);
	apply_config(d);
	/* Indexed like the configuration: a new one is synced in full. */
	free(d->in_sync);
	d->in_sync = xcalloc(next->n_feeds ? next->n_feeds : 1, sizeof *d->in_sync);
	sync_config(d, false);
	for (size_t i = 0; i < old->n_feeds; i++)
		if (!cfg_feed_find(next, old->feeds[i].name))
			store_sync_feed(d->store, old->feeds[i].name, old->feeds[i].source->name,
					old->feeds[i].url, 0, false);
	cfg_free(old);
	LOG_NOTICE("reloaded %s: %zu feeds added, %zu removed, %zu kept", d->config_path, added,
		   removed, kept);
	update_status(d);
	if (ready)
		notify_ready();
}

/* ---- signals and timers ---------------------------------------------------------- */

/* After shutdown_timeout, how long the poll records of the polls it cut
 * short may take to reach the database before what is left is spooled. */
#define SHUTDOWN_GRACE_S 2.0

/* once: the database stayed away too long (exit 1).  Stopping: the drain's
 * time is up, which is the design, not a failure: the polls still in flight
 * are cancelled (each still gets its polls row, "cancelled at shutdown"),
 * the store gets SHUTDOWN_GRACE_S more to write what it holds, and what it
 * has not written by then is spooled at exit; only an item lost for good
 * makes the exit status 1 (daemon_main). */
static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	if (!d->stopping) {
		LOG_ERR("the database stayed unreachable for %.0f s; giving up with %zu items not "
			"stored",
			w->repeat, store_backlog(d->store));
		d->exit_status = 1;
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (!d->cancelled) {
		d->cancelled = true;
		if (d->polls_active)
			LOG_NOTICE("shutdown_timeout: cancelling %zu polls still in flight",
				   d->polls_active);
		fetch_cancel_all(d->fetcher); /* finish_poll for each, from here */
		if (d->cfg->shutdown_timeout_ms > 0) {
			ev_timer_set(w, SHUTDOWN_GRACE_S, 0.);
			ev_timer_start(loop, w);
			check_done(d);
			return;
		}
	}
	LOG_NOTICE("stopping with %zu items not yet stored (they go to the spool)",
		   store_backlog(d->store));
	ev_break(loop, EVBREAK_ALL);
}

static void stop(struct daemon *d, const char *why)
{
	if (d->stopping) {
		LOG_WARN("%s again: exiting at once", why);
		ev_break(d->loop, EVBREAK_ALL);
		return;
	}
	d->stopping = true;
	notify_stopping();
	pages_stop(d->pages);
	LOG_NOTICE("%s: finishing %zu polls and %zu store items (at most %.0f s)", why,
		   d->polls_active, store_backlog(d->store),
		   (double)d->cfg->shutdown_timeout_ms / 1000.0);
	for (size_t i = 0; i < d->n_feeds; i++)
		sched_remove(d->sched, &d->feeds[i]->entry);
	/* Feeds waiting for a connection will not get one: empty every host's
	 * queue in one pass. */
	for (size_t i = 0; i < d->host_cap; i++) {
		for (struct host *h = d->hosts[i]; h; h = h->next) {
			for (struct feed_rt *f = h->wait_head, *nx; f; f = nx) {
				nx = f->wait_next;
				f->waiting = false;
				f->wait_next = NULL;
				f->host = NULL;
			}
			h->wait_head = h->wait_tail = NULL;
		}
	}
	/* Not every item the store finishes calls back (source and feed
	 * registrations do not), so look again while draining. */
	ev_timer_start(d->loop, &d->drain_check);
	ev_timer_stop(d->loop, &d->deadline); /* once arms it for the database */
	ev_timer_set(&d->deadline, (double)d->cfg->shutdown_timeout_ms / 1000.0, 0.);
	ev_timer_start(d->loop, &d->deadline);
	check_done(d);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	if (w->signum == SIGHUP)
		reload(d);
	else
		stop(d, w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	/* A store that stalled again after leaving a stalled connection
	 * (store_stalls) is stuck in a way that feedd cannot mend: stop
	 * confirming liveness, so that systemd's watchdog (WatchdogSec)
	 * restarts the service.  What was accepted is in the spool by then. */
	int stalls = store_stalls(d->store);
	if (stalls >= 2) {
		if (!d->watchdog_withheld)
			LOG_ERR("watchdog: not confirming liveness: the database has not answered "
				"through %d connections in a row",
				stalls);
		d->watchdog_withheld = true;
	} else {
		if (d->watchdog_withheld)
			LOG_NOTICE("watchdog: the database answers again; confirming liveness");
		d->watchdog_withheld = false;
		notify_watchdog();
	}
	update_status(d);
}

/* ---- main ------------------------------------------------------------------------- */

int daemon_main(enum daemon_mode mode, struct cfg *cfg, const char *config_path, char **only,
		size_t n_only)
{
	struct daemon dd = {0}, *d = &dd;
	d->loop = ev_default_loop(EVFLAG_AUTO);
	d->mode = mode;
	d->cfg = cfg;
	d->config_path = xstrdup(config_path);
	srand((unsigned)now_us());
	signal(SIGPIPE, SIG_IGN);

	add_feeds(d, only, n_only);
	for (size_t k = 0; k < n_only; k++) {
		if (!cfg_feed_find(cfg, only[k])) {
			LOG_ERR("%s: no [feed %s]", config_path, only[k]);
			d->exit_status = 2;
		}
	}
	if (d->exit_status) {
		for (size_t i = 0; i < d->n_feeds; i++)
			feed_rt_free(d->feeds[i]);
		free(d->feeds);
		free(d->index);
		free(d->config_path);
		cfg_free(cfg);
		return d->exit_status;
	}

	/* Created with the settings the configuration gives them, which
	 * apply_config below then hands over (the one place that does). */
	struct fetch_config fc;
	fetch_config_of(cfg, &fc);
	/* One budget for feeds and pages; the fetchers keep it. */
	fc.budget = fetch_budget_new(cfg->max_body_memory, "max_body_memory");
	d->fetcher = fetch_new(d->loop, &fc, on_fetched, d);
	d->sched = sched_new(d->loop, on_due, d);

	struct store_config sc;
	store_config_default(&sc);
	sc.conninfo = cfg->db.conninfo;
	sc.batch_size = cfg->db.batch_size;
	sc.batch_delay_ms = cfg->db.batch_delay_ms;
	sc.dedup_window_ms = cfg->db.dedup_window_ms;
	sc.stall_timeout_ms = cfg->db.stall_timeout_ms;
	struct buf spool_dir;
	buf_init(&spool_dir);
	buf_printf(&spool_dir, "%s/spool", cfg->state_dir);
	sc.spool_dir = buf_str(&spool_dir);
	sc.spool_max_bytes = cfg->spool_max_size;
	sc.warm_lazily = mode == DAEMON_ONCE;
	struct store_handler sh = {
		.on_article = on_article,
		.on_poll = on_poll_stored,
		.on_state = on_store_state,
		.on_feed_state = on_feed_state,
		.on_page = on_page_stored,
		.on_visits = on_visits,
		.ctx = d,
	};
	d->in_sync = xcalloc(cfg->n_feeds ? cfg->n_feeds : 1, sizeof *d->in_sync);
	d->store = store_new(d->loop, &sc, &sh);
	buf_free(&spool_dir);
	if (!d->store) {
		/* The spool holds what this process cannot read, or another
		 * feedd has it (logged): starting would risk its records. */
		free(d->in_sync);
		sched_free(d->sched);
		fetch_free(d->fetcher);
		for (size_t i = 0; i < d->n_feeds; i++)
			feed_rt_free(d->feeds[i]);
		free(d->feeds);
		free(d->index);
		free(d->config_path);
		fetch_budget_free(fc.budget);
		cfg_free(cfg);
		return 1;
	}
	d->pages = pages_new(d->loop, d->store, cfg, &fc, mode == DAEMON_ONCE);
	fetch_budget_free(fc.budget);
	fc.budget = NULL;
	if (n_only) {
		/* once FEED...: the pages of those feeds' sources, not every
		 * source's backlog. */
		const char **names = xcalloc(d->n_feeds ? d->n_feeds : 1, sizeof *names);
		for (size_t i = 0; i < d->n_feeds; i++)
			names[i] = d->feeds[i]->cfg->source->name;
		pages_limit_sources(d->pages, names, d->n_feeds);
		free(names);
	}

	apply_config(d);

	ev_idle_init(&d->check_done, on_check_done);
	d->check_done.data = d;
	ev_init(&d->deadline, on_deadline);
	d->deadline.data = d;
	ev_timer_init(&d->pressure, on_pressure, 0.5, 0.5);
	d->pressure.data = d;
	ev_timer_init(&d->drain_check, on_drain_check, 0.2, 0.2);
	d->drain_check.data = d;
	if (mode == DAEMON_ONCE)
		ev_timer_start(d->loop, &d->drain_check);
	ev_signal_init(&d->sig_term, on_signal, SIGTERM);
	ev_signal_init(&d->sig_int, on_signal, SIGINT);
	ev_signal_init(&d->sig_hup, on_signal, SIGHUP);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	ev_signal_start(d->loop, &d->sig_term);
	ev_signal_start(d->loop, &d->sig_int);
	if (mode == DAEMON_RUN)
		ev_signal_start(d->loop, &d->sig_hup);
	/* main blocked these from the start: a signal that came meanwhile is
	 * pending and now reaches its watcher (libev's handler, installed by
	 * ev_signal_start).  In once SIGHUP has none and does what it did
	 * before: end the process. */
	sigset_t early;
	sigemptyset(&early);
	sigaddset(&early, SIGHUP);
	sigaddset(&early, SIGTERM);
	sigaddset(&early, SIGINT);
	sigprocmask(SIG_UNBLOCK, &early, NULL);
	uint64_t wd_us = 0;
	ev_init(&d->watchdog, on_watchdog);
	d->watchdog.data = d;
	if (mode == DAEMON_RUN) {
		double every = notify_watchdog_enabled(&wd_us) ? (double)wd_us / 2e6 : 30.0;
		ev_timer_set(&d->watchdog, every, every);
		ev_timer_start(d->loop, &d->watchdog);
	}
	if (mode == DAEMON_ONCE) {
		/* once must end if the database does not answer: it may be
		 * unreachable for this long before once gives up. */
		double patience =
			(double)(cfg->fetch_timeout_ms + cfg->shutdown_timeout_ms) / 1000.0;
		ev_timer_set(&d->deadline, 0., patience);
		ev_timer_again(d->loop, &d->deadline);
	}
	LOG_INFO("feedd %s %s: %zu feeds, database %s", FEEDD_VERSION,
		 mode == DAEMON_RUN ? "running" : "polling once", d->n_feeds,
		 store_ready(d->store) ? "connected" : "connecting");

	ev_run(d->loop, 0);

	if (!d->store_ready && d->exit_status == 0 && !d->started) {
		LOG_ERR("the database never became usable");
		d->exit_status = 1;
	}
	if (mode == DAEMON_ONCE && d->exit_status == 0)
		for (size_t i = 0; i < d->n_feeds; i++)
			if (d->feeds[i]->failed)
				d->exit_status = 1;
	size_t waiting = store_backlog(d->store);
	if (waiting) {
		size_t lost = store_spool_all(d->store);
		if (lost) {
			LOG_ERR("%zu items were accepted but not stored", lost);
			d->exit_status = 1;
		}
		if (waiting > lost)
			LOG_NOTICE("%zu items are in the spool in %s/spool; they are stored at the "
				   "next start",
				   waiting - lost, d->cfg->state_dir);
	}
	uint64_t spooled = store_spooled(d->store);
	if (spooled && !waiting)
		LOG_NOTICE("%llu items wait in the spool in %s/spool; they are stored at the next "
			   "start",
			   (unsigned long long)spooled, d->cfg->state_dir);

	ev_signal_stop(d->loop, &d->sig_term);
	ev_signal_stop(d->loop, &d->sig_int);
	ev_signal_stop(d->loop, &d->sig_hup);
	ev_timer_stop(d->loop, &d->watchdog);
	ev_timer_stop(d->loop, &d->deadline);
	ev_timer_stop(d->loop, &d->pressure);
	ev_timer_stop(d->loop, &d->drain_check);
	ev_idle_stop(d->loop, &d->check_done);
	fetch_free(d->fetcher); /* done is not called: the polls are freed here */
	pages_free(d->pages);
	for (size_t i = 0; i < d->n_feeds; i++) {
		struct feed_rt *f = d->feeds[i];
		if (f->poll) {
			free(f->poll->error);
			if (f->poll->res)
				fetch_result_free(f->poll->res);
			free(f->poll);
		}
		feed_rt_free(f);
	}
	free(d->feeds);
	for (size_t i = 0; i < d->host_cap; i++) {
		for (struct host *x = d->hosts[i], *nx; x; x = nx) {
			nx = x->next;
			free(x->name);
			free(x);
		}
	}
	free(d->hosts);
	free(d->index);
	free(d->in_sync);
	sched_free(d->sched);
	store_free(d->store);
	cfg_free(d->cfg);
	free(d->config_path);
	return d->exit_status;
}
