/*
 * pages: article pages, claimed from the database, fetched politely,
 * extracted, recorded (see pages.h).
 *
 * A claimed page is a job in its source's queue until a connection to its
 * host is free (the pages' own host gate: per_host_connections, and the
 * source's page_delay since the host's last request); then a visit, while
 * its fetch is in flight, holding a connection to its host; then a
 * store_page on its way to feedd.record_page.
 * Jobs and visits belong to pages; the configuration is borrowed and looked
 * up by name whenever it is used, so that a reload never leaves a dangling
 * pointer here.
 */
#include "feedd/pages.h"

#include "feedd/extract.h"
#include "feedd/fetch.h"
#include "feedd/hostgate.h"
#include "feedd/jitter.h"
#include "feedd/list.h"
#include "feedd/log.h"
#include "feedd/util.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

/* Pages claimed at once, and the queue length under which more are. */
#define CLAIM_LIMIT 100
#define QUEUE_LOW 20
/* How long a claimed page is ours: a daemon that dies holding it only
 * delays it this long. */
#define LEASE_S 900
/* How often run mode looks for due pages (retries, revisits). */
#define CLAIM_EVERY_S 5.0
/* Retries of a failed page: 1 min, doubling, at most 6 h, +-10%. */
#define RETRY_FIRST_S 60.0
#define RETRY_MAX_S (6.0 * 3600)

struct job {
	char *source, *news_id, *url;
	int visits, attempts;
	struct list_link link; /* in its queue's jobs */
};

/* The claimed pages of one source, oldest first. */
struct queue {
	char *source;
	struct list jobs;
};

struct visit {
	struct pages *p;
	struct job *job;
	struct hostgate_ticket gate; /* holds a connection to the page's host */
	struct list_link link;	     /* in the visits in flight */
};

struct pages {
	struct ev_loop *loop;
	struct store *store;
	const struct cfg *cfg;
	struct fetcher *fetcher;
	struct jitter *jitter; /* the daemon's: retry delays */
	bool once, started, stopping;
	struct queue *queues; /* one per source with articles = fetch */
	size_t n_queues, next_queue;
	size_t queued, in_flight, recording;
	struct hostgate *gate; /* per-host connections and page_delay */
	struct list visits;    /* in flight */
	bool claiming;
	/* once: whether pages may still be due; a claim that comes back short
	 * with no article stored since it was sent says they are not. */
	bool more_due;
	unsigned long stored_seq, claim_seq;
	ev_timer every, soon, delay;
	pages_answered_fn answered;
	void *answered_ctx;
};

static int64_t now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void job_free(struct job *j)
{
	free(j->source);
	free(j->news_id);
	free(j->url);
	free(j);
}

static void queue_clear(struct pages *p, struct queue *q)
{
	struct list_link *l;
	while ((l = list_pop_front(&q->jobs))) {
		job_free(LIST_ENTRY(l, struct job, link));
		p->queued--;
	}
}

static struct queue *queue_find(struct pages *p, const char *source)
{
	for (size_t i = 0; i < p->n_queues; i++)
		if (strcmp(p->queues[i].source, source) == 0)
			return &p->queues[i];
	return NULL;
}

static bool host_allowed(const struct cfg_source *src, const char *host)
{
	for (size_t i = 0; i < src->hosts.n; i++)
		if (strcmp(src->hosts.v[i], host) == 0)
			return true;
	return false;
}

/* ---- recording ------------------------------------------------------------ */

/* Says what the visit of j was: its source, status and error, when it was
 * seen, no retry. */
static void page_visit(struct store_page *pg, const struct job *j, const char *status,
		       const char *error)
{
	pg->source = xstrdup(j->source);
	pg->status = xstrdup(status);
	pg->error = error ? xstrdup(error) : NULL;
	pg->retry_at_us = STORE_TIME_NONE;
	pg->seen_at_us = now_us();
}

/* A visit that extracted nothing. */
static struct store_page *page_new(const struct job *j, const char *status, const char *error)
{
	struct store_page *pg = xcalloc(1, sizeof *pg);
	pg->news_id = xstrdup(j->news_id);
	pg->published_at = pg->modified_at = STORE_TIME_NONE;
	page_visit(pg, j, status, error);
	return pg;
}

static void set_revisits(struct store_page *pg, const struct cfg_source *src)
{
	if (!src || !src->revisit.n)
		return;
	pg->revisit_s = xcalloc(src->revisit.n, sizeof *pg->revisit_s);
	for (size_t i = 0; i < src->revisit.n; i++)
		pg->revisit_s[i] = src->revisit.ms[i] / 1000;
	pg->n_revisit = src->revisit.n;
}

static void on_page_stored(void *ctx, const struct store_page *pg, enum store_page_outcome o,
			   int revision);

static void record(struct pages *p, struct store_page *pg)
{
	p->recording++;
	store_submit_page(p->store, pg, on_page_stored, p);
}

/* A failed attempt: tried again later unless retry is false or the
 * attempts are used up. */
static void record_failure(struct pages *p, const struct job *j, const struct cfg_source *src,
			   const char *status, const char *error, bool retry)
{
	struct store_page *pg = page_new(j, status, error);
	set_revisits(pg, src);
	int attempt = j->attempts + 1;
	const char *what = j->visits ? "revisit" : "page";
	if (retry && attempt <= p->cfg->page_retries) {
		double delay = RETRY_FIRST_S;
		for (int i = 1; i < attempt && delay < RETRY_MAX_S; i++)
			delay *= 2;
		if (delay > RETRY_MAX_S)
			delay = RETRY_MAX_S;
		delay *= 0.9 + 0.2 * jitter_unit(p->jitter);
		pg->retry_at_us = pg->seen_at_us + (int64_t)(delay * 1e6);
		LOG_WARN("article %s/%s: %s %s: %s; trying again in %.0f s (attempt %d of %d)",
			 j->source, j->news_id, what, j->url ? j->url : "(no link)", error, delay,
			 attempt, p->cfg->page_retries + 1);
	} else if (retry) {
		LOG_WARN("article %s/%s: %s %s: %s; giving up after %d attempts (the article "
			 "keeps the feed's text)",
			 j->source, j->news_id, what, j->url ? j->url : "(no link)", error,
			 attempt);
	} else {
		LOG_WARN("article %s/%s: %s %s: %s; not fetched", j->source, j->news_id, what,
			 j->url ? j->url : "(no link)", error);
	}
	record(p, pg);
}

/* Records pg (taken), as extract_page filled it, as a visit of j. */
static void record_extracted(struct pages *p, const struct job *j, const struct cfg_source *src,
			     struct store_page *pg)
{
	/* The row is the job's: the page's own ID may be missing (no
	 * news_id match, no label) or, after a redirect, another's. */
	free(pg->news_id);
	pg->news_id = xstrdup(j->news_id);
	page_visit(pg, j, "ok", NULL);
	set_revisits(pg, src);
	store_page_hash(pg);
	record(p, pg);
}

/* ---- fetching --------------------------------------------------------------- */

static void dispatch(struct pages *p);
static void maybe_claim(struct pages *p);
static void on_visits(void *ctx, const struct store_visit *v, size_t n, bool ok);

static bool is_html(const char *content_type)
{
	if (!content_type)
		return true; /* unsaid: let the parser judge */
	size_t n = strcspn(content_type, ";");
	while (n && (content_type[n - 1] == ' ' || content_type[n - 1] == '\t'))
		n--;
	static const char *const types[] = {"text/html", "application/xhtml+xml", "text/plain"};
	for (size_t i = 0; i < ARRAY_LEN(types); i++)
		if (n == strlen(types[i]) && strncasecmp(content_type, types[i], n) == 0)
			return true;
	return false;
}

static void extract_fetched(struct pages *p, const struct job *j, const struct cfg_source *src,
			    const struct fetch_result *r)
{
	struct buf err;
	buf_init(&err);
	if (r->error) {
		record_failure(p, j, src, r->refused ? "refused" : "fetch_error", r->error,
			       !r->refused);
	} else if (r->http_status < 200 || r->http_status > 299) {
		buf_printf(&err, "HTTP %d", r->http_status);
		record_failure(p, j, src, "http_error", buf_str(&err), true);
	} else if (!is_html(r->content_type)) {
		buf_printf(&err, "not an HTML page (Content-Type %s)", r->content_type);
		record_failure(p, j, src, "not_html", buf_str(&err), true);
	} else {
		struct extract_rules rules;
		struct store_page *pg;
		if (extract_rules_from_source(src, &rules, &err) != 0) {
			record_failure(p, j, src, "not_article", buf_str(&err), false);
		} else if (extract_page(r->body.data ? r->body.data : "", r->body.len,
					r->effective_url ? r->effective_url : j->url, r->charset,
					&rules, &pg, &err) != 0) {
			record_failure(p, j, src, "not_article", buf_str(&err), true);
		} else {
			record_extracted(p, j, src, pg);
		}
	}
	buf_free(&err);
}

static void on_fetched(void *ctx, struct fetch_result *r)
{
	struct pages *p = ctx;
	struct visit *v = r->ctx;
	struct job *j = v->job;
	hostgate_leave(p->gate, &v->gate);
	p->in_flight--;
	list_remove(&p->visits, &v->link);
	const struct cfg_source *src = cfg_source_find(p->cfg, j->source);
	if (src && src->articles == CFG_ARTICLES_FETCH)
		extract_fetched(p, j, src, r);
	/* else: no longer a fetch source; the lease lapses and nothing claims
	 * it again. */
	fetch_result_free(r);
	job_free(j);
	free(v);
	dispatch(p);
	maybe_claim(p);
}

static void start_visit(struct pages *p, struct job *j, const struct cfg_source *src,
			struct hostgate_host *h)
{
	struct visit *v = xcalloc(1, sizeof *v);
	v->p = p;
	v->job = j;
	hostgate_ticket_init(&v->gate, v);
	struct fetch_request req = {
		.url = j->url,
		.max_bytes = p->cfg->max_article_size,
		.max_bytes_name = "max_article_size",
		.ctx = v,
		/* hosts.v[0] is home's host */
		.public_only = !(src->hosts.n && fetch_host_private(src->hosts.v[0])),
		/* Redirects too stay on the source's hosts. */
		.hosts = (const char *const *)src->hosts.v,
		.n_hosts = src->hosts.n,
	};
	if (fetch_start(p->fetcher, &req) != 0) {
		record_failure(p, j, src, "fetch_error", "the URL cannot be fetched", false);
		job_free(j);
		free(v);
		return;
	}
	hostgate_take(p->gate, &v->gate, h, ev_now(p->loop));
	p->in_flight++;
	list_push_front(&p->visits, &v->link);
	LOG_DEBUG("article %s/%s: fetching %s%s", j->source, j->news_id, j->url,
		  j->visits ? " again" : "");
}

static struct job *pop(struct pages *p, struct queue *q)
{
	p->queued--;
	return LIST_ENTRY(list_pop_front(&q->jobs), struct job, link);
}

/* Starts what may start, taking the sources in turn. */
static void dispatch(struct pages *p)
{
	if (p->stopping || !p->n_queues)
		return;
	double now = ev_now(p->loop), wake = 0;
	size_t max = (size_t)p->cfg->max_connections;
	size_t blocked = 0; /* queues in a row that could not start anything */
	while (p->queued && p->in_flight < max && blocked < p->n_queues) {
		struct queue *q = &p->queues[p->next_queue];
		p->next_queue = (p->next_queue + 1) % p->n_queues;
		const struct cfg_source *src =
			list_empty(&q->jobs) ? NULL : cfg_source_find(p->cfg, q->source);
		if (!src) {
			blocked++;
			continue;
		}
		struct job *j = LIST_FIRST(&q->jobs, struct job, link);
		char *host = j->url ? url_host(j->url) : NULL;
		if (!host || !host_allowed(src, host)) {
			struct buf why;
			buf_init(&why);
			if (!j->url)
				buf_puts(&why, "refused: the article has no link");
			else if (!host)
				buf_puts(&why, "refused: not an http(s) URL");
			else
				buf_printf(&why,
					   "refused: %s is not a host of source %s (home, or "
					   "hosts = in %s:%d)",
					   host, src->name, src->loc.file, src->loc.line);
			record_failure(p, pop(p, q), src, "refused", buf_str(&why), false);
			job_free(j);
			buf_free(&why);
			free(host);
			blocked = 0;
			continue;
		}
		struct hostgate_host *h = hostgate_host(p->gate, host);
		free(host);
		double ready;
		if (!hostgate_open(p->gate, h, (double)src->page_delay_ms / 1000.0, now, &ready)) {
			if (ready > 0 && (wake == 0 || ready < wake))
				wake = ready;
			blocked++;
			continue;
		}
		start_visit(p, pop(p, q), src, h);
		blocked = 0;
	}
	/* Wake for the soonest host that page_delay holds back. */
	if (wake > 0 &&
	    (!ev_is_active(&p->delay) || ev_timer_remaining(p->loop, &p->delay) > wake - now)) {
		ev_timer_stop(p->loop, &p->delay);
		ev_timer_set(&p->delay, wake - now, 0.);
		ev_timer_start(p->loop, &p->delay);
	}
}

static void on_delay(struct ev_loop *loop, ev_timer *w, int revents)
{
	dispatch(w->data);
}

/* ---- claiming ---------------------------------------------------------------- */

static void maybe_claim(struct pages *p)
{
	if (!p->started || p->stopping || p->claiming || !p->n_queues || p->queued >= QUEUE_LOW)
		return;
	if (p->once && !p->more_due)
		return;
	const char **names = xcalloc(p->n_queues, sizeof *names);
	for (size_t i = 0; i < p->n_queues; i++)
		names[i] = p->queues[i].source;
	p->claiming = true;
	p->claim_seq = p->stored_seq;
	store_claim_visits(p->store, names, p->n_queues, CLAIM_LIMIT, LEASE_S, on_visits, p);
	free(names);
}

static void on_claim_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	maybe_claim(w->data);
}

/* The store's answer to maybe_claim's claim. */
static void on_visits(void *ctx, const struct store_visit *v, size_t n, bool ok)
{
	struct pages *p = ctx;
	p->claiming = false;
	if (ok && n < CLAIM_LIMIT && p->claim_seq == p->stored_seq)
		p->more_due = false;
	if (!ok && p->once) {
		/* Refused for good (the store logged why): this pass claims no
		 * more, rather than waiting for a claim that cannot come. */
		LOG_WARN("pages: claiming due pages failed; this pass fetches no more pages");
		p->more_due = false;
	}
	for (size_t i = 0; i < n; i++) {
		struct queue *q = queue_find(p, v[i].source);
		if (!q || p->stopping)
			continue; /* the lease lapses */
		struct job *j = xcalloc(1, sizeof *j);
		j->source = xstrdup(v[i].source);
		j->news_id = xstrdup(v[i].news_id);
		j->url = v[i].url ? xstrdup(v[i].url) : NULL;
		j->visits = v[i].visits;
		j->attempts = v[i].attempts;
		list_push_back(&q->jobs, &j->link);
		p->queued++;
	}
	if (n)
		LOG_DEBUG("pages: %zu claimed, %zu queued, %zu in flight", n, p->queued,
			  p->in_flight);
	dispatch(p);
	if (ok && n == CLAIM_LIMIT)
		maybe_claim(p);
	if (p->answered)
		p->answered(p->answered_ctx);
}

/* The store's answer to record: a page submitted by this process (one read
 * back from the spool calls nothing, so it is not counted twice). */
static void on_page_stored(void *ctx, const struct store_page *pg, enum store_page_outcome o,
			   int revision)
{
	struct pages *p = ctx;
	p->recording--;
	switch (o) {
	case STORE_PAGE_EXTRACTED:
		LOG_INFO("article %s/%s: page extracted", pg->source, pg->news_id);
		break;
	case STORE_PAGE_REVISED:
		LOG_NOTICE("article %s/%s: edited by the publisher, now revision %d", pg->source,
			   pg->news_id, revision);
		break;
	case STORE_PAGE_UNCHANGED:
		LOG_INFO("article %s/%s: revisited, unchanged", pg->source, pg->news_id);
		break;
	case STORE_PAGE_MISSING:
		LOG_WARN("article %s/%s: no longer in the database; its page is dropped",
			 pg->source, pg->news_id);
		break;
	case STORE_PAGE_FAILED:
	case STORE_PAGE_SPOOLED:  /* recorded when the database is back */
	case STORE_PAGE_REJECTED: /* logged by the store */
		break;
	}
	maybe_claim(p);
	if (p->answered)
		p->answered(p->answered_ctx);
}

void pages_article_stored(struct pages *p)
{
	p->stored_seq++;
	p->more_due = true;
	if (p->started && !p->stopping && !ev_is_active(&p->soon)) {
		/* A burst of new articles makes one claim. */
		ev_timer_set(&p->soon, 0.05, 0.);
		ev_timer_start(p->loop, &p->soon);
	}
}

/* ---- life cycle ------------------------------------------------------------------ */

void pages_set_config(struct pages *p, const struct cfg *cfg)
{
	size_t n = 0;
	struct queue *queues = xcalloc(cfg->n_sources ? cfg->n_sources : 1, sizeof *queues);
	for (size_t i = 0; i < cfg->n_sources; i++) {
		const struct cfg_source *src = &cfg->sources[i];
		if (src->articles != CFG_ARTICLES_FETCH)
			continue;
		struct queue *old = queue_find(p, src->name);
		if (old) {
			queues[n] = *old;
			old->jobs = (struct list){0};
			old->source = NULL;
		} else {
			queues[n].source = xstrdup(src->name);
		}
		n++;
	}
	for (size_t i = 0; i < p->n_queues; i++) {
		queue_clear(p, &p->queues[i]);
		free(p->queues[i].source);
	}
	free(p->queues);
	p->queues = queues;
	p->n_queues = n;
	p->next_queue = 0;
	p->cfg = cfg;
	hostgate_set_limit(p->gate, cfg->per_host_connections);
	/* A reload: a raised limit may let queued pages start; dispatch looks
	 * once the reload is through (the fetcher has its new limits then). */
	if (p->started && !p->stopping) {
		ev_timer_stop(p->loop, &p->delay);
		ev_timer_set(&p->delay, 0., 0.);
		ev_timer_start(p->loop, &p->delay);
	}
}

void pages_limit_sources(struct pages *p, const char *const *names, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < p->n_queues; i++) {
		bool wanted = false;
		for (size_t k = 0; k < n && !wanted; k++)
			wanted = strcmp(p->queues[i].source, names[k]) == 0;
		if (wanted) {
			p->queues[kept++] = p->queues[i];
		} else {
			queue_clear(p, &p->queues[i]);
			free(p->queues[i].source);
		}
	}
	p->n_queues = kept;
	p->next_queue = 0;
}

struct pages *pages_new(struct ev_loop *loop, struct store *store, const struct cfg *cfg,
			const struct fetch_config *fc, struct jitter *jitter, bool once,
			pages_answered_fn answered, void *ctx)
{
	struct pages *p = xcalloc(1, sizeof *p);
	p->loop = loop;
	p->store = store;
	p->jitter = jitter;
	p->once = once;
	p->answered = answered;
	p->answered_ctx = ctx;
	/* Pages never wait in a host's line: dispatch looks again whenever a
	 * fetch ends or page_delay's timer fires. */
	p->gate = hostgate_new(cfg->per_host_connections, NULL, NULL);
	p->more_due = true;
	pages_set_config(p, cfg);
	p->fetcher = fetch_new(loop, fc, on_fetched, p);
	ev_timer_init(&p->every, on_claim_timer, CLAIM_EVERY_S, CLAIM_EVERY_S);
	ev_init(&p->soon, on_claim_timer);
	ev_init(&p->delay, on_delay);
	p->every.data = p->soon.data = p->delay.data = p;
	return p;
}

void pages_start(struct pages *p)
{
	if (p->started || p->stopping)
		return;
	p->started = true;
	if (!p->once)
		ev_timer_start(p->loop, &p->every);
	maybe_claim(p);
}

void pages_stop(struct pages *p)
{
	p->stopping = true;
	ev_timer_stop(p->loop, &p->every);
	ev_timer_stop(p->loop, &p->soon);
	ev_timer_stop(p->loop, &p->delay);
	/* Claimed pages not started are handed back, due at once for the
	 * next daemon (if the database is away, their lease lapses instead). */
	size_t n = 0;
	const char **sources = xcalloc(p->queued ? p->queued : 1, sizeof *sources);
	const char **ids = xcalloc(p->queued ? p->queued : 1, sizeof *ids);
	for (size_t i = 0; i < p->n_queues; i++) {
		LIST_FOREACH (j, &p->queues[i].jobs, struct job, link) {
			if (n >= p->queued)
				break;
			sources[n] = j->source;
			ids[n++] = j->news_id;
		}
	}
	if (n) {
		store_release_visits(p->store, sources, ids, n);
		LOG_INFO("pages: %zu claimed pages not fetched are handed back", n);
	}
	free(sources);
	free(ids);
	for (size_t i = 0; i < p->n_queues; i++)
		queue_clear(p, &p->queues[i]);
}

bool pages_idle(const struct pages *p)
{
	/* A claim still unanswered at shutdown is dropped: its pages come due
	 * again when the lease lapses. */
	bool quiet = p->in_flight == 0 && p->queued == 0 && p->recording == 0 &&
		(!p->claiming || p->stopping);
	return quiet && (!p->once || p->stopping || !p->more_due || !p->n_queues);
}

size_t pages_in_flight(const struct pages *p)
{
	return p->in_flight;
}

void pages_free(struct pages *p)
{
	if (!p)
		return;
	ev_timer_stop(p->loop, &p->every);
	ev_timer_stop(p->loop, &p->soon);
	ev_timer_stop(p->loop, &p->delay);
	/* fetch_free does not call back: free the visits it held. */
	fetch_free(p->fetcher);
	struct list_link *l;
	while ((l = list_pop_front(&p->visits))) {
		struct visit *v = LIST_ENTRY(l, struct visit, link);
		job_free(v->job);
		free(v);
	}
	for (size_t i = 0; i < p->n_queues; i++) {
		queue_clear(p, &p->queues[i]);
		free(p->queues[i].source);
	}
	free(p->queues);
	hostgate_free(p->gate);
	free(p);
}

void pages_set_fetch_config(struct pages *p, const struct fetch_config *fc)
{
	fetch_set_config(p->fetcher, fc);
}
