/*
 * daemon: the run-time wiring of feedd (see daemon.h and daemon_int.h).
 *
 * This file creates the modules in the order they depend on each other
 * (the jitter source, the feeds' host gate and table, the fetcher, the
 * schedule, the store, the pages, then the watchers and signals) and frees
 * them in reverse; it hands each module the configuration's settings at
 * start and at every reload, and it decides when a run is over: once has
 * polled everything and the store has it, or a stop has drained (the
 * test itself is progress.c's).  The life of a poll is in poll.c, the feed
 * table and its sync with the configuration in feeds.c.
 */
#include "daemon_int.h"

#include "feedd/indexer.h"
#include "feedd/log.h"
#include "feedd/notify.h"
#include "feedd/pages.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void on_drain_check(struct ev_loop *loop, ev_timer *w, int revents)
{
	daemon_check_done(w->data);
}

/* ---- the store's callbacks ---------------------------------------------- */

static void on_poll_stored(void *ctx, const struct store_poll *p, bool ok)
{
	leases_recorded(ctx, p, ok);
	daemon_check_done(ctx);
}

/* The indexer found nothing left: perhaps once is done. */
static void on_indexer_idle(void *ctx)
{
	daemon_check_done(ctx);
}

/* The indexer yields to the store's writes while they last (indexer.h). */
static bool store_is_busy(void *ctx)
{
	struct daemon *d = ctx;
	return store_ready(d->store) && store_backlog(d->store) > 0;
}

/* The pages heard of their own work from the store (a claim's rows, a
 * page's fate): perhaps the run is over. */
static void on_pages_answered(void *ctx)
{
	daemon_check_done(ctx);
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
		if (d->started)
			leases_suspend(d);
		daemon_update_status(d);
		return;
	}
	bool first = !d->started;
	if (first) {
		/* Before any poll record: FIFO order makes the feeds exist. */
		feeds_sync_config(d, true);
		feeds_start_polling(d);
		pages_start(d->pages);
		daemon_beat(d, false); /* the row: this instance runs */
		leases_start(d);
		if (d->mode == DAEMON_RUN)
			notify_ready();
	} else if (d->states_seen < d->cfg->n_feeds) {
		/* Feeds registered at start are gone: the schema was dropped
		 * and migrated again while feedd ran.  Register everything
		 * anew; the store sends registrations before what waits. */
		LOG_NOTICE("database: %zu of %zu configured feeds are not registered (was the "
			   "schema re-created?); registering them again",
			   d->cfg->n_feeds - d->states_seen, d->cfg->n_feeds);
		feeds_sync_config(d, false);
	}
	if (!first)
		leases_resume(d); /* back after the database was away */
	d->states_seen = 0;
	daemon_update_status(d);
}

/* ---- configuration ----------------------------------------------------------- */

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
 * limits), the feeds' host gate and the store (batch size and delay).  The
 * one place they are applied, at start and at every reload; what the daemon
 * and pages read through d->cfg (intervals, sizes, page_retries,
 * shutdown_timeout) needs nothing more.  The keys that cannot change at run
 * time are those the table marks so (cfg_keep_restart_keys). */
/* The sources with an article_retention, to the indexer's upkeep. */
static void set_article_retention(struct daemon *d)
{
	const struct cfg *c = d->cfg;
	char **names = xcalloc(c->n_sources + 1, sizeof *names);
	long long *keep_s = xcalloc(c->n_sources + 1, sizeof *keep_s);
	size_t n = 0;
	for (size_t i = 0; i < c->n_sources; i++) {
		if (c->sources[i].article_retention_ms <= 0)
			continue;
		names[n] = c->sources[i].name;
		keep_s[n++] = (long long)(c->sources[i].article_retention_ms / 1000);
	}
	indexer_set_article_retention(d->indexer, names, keep_s, n);
	free(names);
	free(keep_s);
}

static void apply_config(struct daemon *d)
{
	const struct cfg *c = d->cfg;
	log_set_threshold(c->log_level);
	struct fetch_config fc;
	fetch_config_of(c, &fc);
	fetch_set_config(d->fetcher, &fc);
	pages_set_fetch_config(d->pages, &fc);
	hostgate_set_limit(d->gate, c->per_host_connections);
	store_set_batching(d->store, c->db.batch_size, c->db.batch_delay_ms);
	store_set_stall_timeout(d->store, c->db.stall_timeout_ms);
	indexer_set_connect_timeout(d->indexer, (double)c->db.stall_timeout_ms / 1000.0);
	indexer_set_polls_upkeep(d->indexer, d->mode == DAEMON_RUN,
				 (long long)(c->db.polls_retention_ms / 1000));
	set_article_retention(d);
	LOG_DEBUG("settings applied: log_level %s, user_agent \"%s\", max_connections %d, "
		  "per_host_connections %d, connect_timeout %.3f s, fetch_timeout %.3f s, "
		  "batch_size %d, batch_delay %.3f s, stall_timeout %.3f s",
		  log_level_name(c->log_level), c->user_agent, c->max_connections,
		  c->per_host_connections, (double)c->connect_timeout_ms / 1000.0,
		  (double)c->fetch_timeout_ms / 1000.0, c->db.batch_size,
		  (double)c->db.batch_delay_ms / 1000.0, (double)c->db.stall_timeout_ms / 1000.0);
}

/* The configuration file read again, or NULL (logged) if it is broken.
 * next's keys that cannot change at run time take d->cfg's values, each
 * with a line saying that it needs a restart. */
static struct cfg *load_reload(struct daemon *d)
{
	struct cfg *next = NULL;
	struct buf err;
	buf_init(&err);
	if (cfg_load(d->config_path, &next, &err) != 0) {
		LOG_ERR("reload: %s; keeping the running configuration", buf_str(&err));
		buf_free(&err);
		cfg_free(next);
		return NULL;
	}
	buf_free(&err);
	struct cfg_strlist restart = {0};
	cfg_keep_restart_keys(d->cfg, next, &restart);
	for (size_t i = 0; i < restart.n; i++)
		LOG_WARN("reload: %s changed: needs a restart; running with the old value until "
			 "then",
			 restart.v[i]);
	strv_free(restart.v, restart.n);
	return next;
}

/* SIGHUP: all or nothing; a broken file keeps the running configuration.
 * The feed table first (it still needs the old configuration), then every
 * module gets the new one, then the database hears of it. */
static void reload(struct daemon *d)
{
	/* A SIGHUP before the first READY=1 (blocked since main, delivered
	 * once the watchers are armed) must not announce readiness. */
	bool ready = d->started && d->mode == DAEMON_RUN;
	if (ready)
		notify_reloading();
	struct cfg *next = load_reload(d);
	if (!next) {
		if (ready)
			notify_ready();
		return;
	}
	struct feeds_change ch = feeds_reload(d, next);
	struct cfg *old = d->cfg;
	d->cfg = next;
	pages_set_config(d->pages, next);
	apply_config(d);
	feeds_sync_reloaded(d, old);
	leases_reloaded(d);
	/* A raised per_host_connections starts the feeds waiting in a host's
	 * line now, not one per poll that ends. */
	size_t woken = hostgate_wake_open(d->gate);
	if (woken)
		LOG_DEBUG("reload: %zu feeds waiting for their host started", woken);
	cfg_free(old);
	LOG_NOTICE("reloaded %s: %zu feeds added, %zu removed, %zu kept", d->config_path, ch.added,
		   ch.removed, ch.kept);
	daemon_update_status(d);
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
 * makes the exit status 1 (conclude). */
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
			daemon_check_done(d);
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
	leases_stop(d);
	/* Committed with the drain, or never; with leases, once the polls are
	 * over (daemon_on_check_done). */
	if (!d->leasing)
		daemon_beat(d, true);
	pages_stop(d->pages);
	LOG_NOTICE("%s: finishing %zu polls and %zu store items (at most %.0f s)", why,
		   d->polls_active, store_backlog(d->store),
		   (double)d->cfg->shutdown_timeout_ms / 1000.0);
	for (size_t i = 0; i < d->n_feeds; i++)
		sched_remove(d->sched, &d->feeds[i]->entry);
	/* Feeds waiting for a connection will not get one. */
	hostgate_drop_waiting(d->gate);
	/* Not every item the store finishes calls back (source and feed
	 * registrations do not), so look again while draining. */
	ev_timer_start(d->loop, &d->drain_check);
	ev_timer_stop(d->loop, &d->deadline); /* once arms it for the database */
	ev_timer_set(&d->deadline, (double)d->cfg->shutdown_timeout_ms / 1000.0, 0.);
	ev_timer_start(d->loop, &d->deadline);
	daemon_check_done(d);
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
	daemon_update_status(d);
}

/* ---- start, in dependency order ------------------------------------------------ */

static void init_base(struct daemon *d, enum daemon_mode mode, struct cfg *cfg,
		      const char *config_path)
{
	d->loop = ev_default_loop(EVFLAG_AUTO);
	d->mode = mode;
	d->cfg = cfg;
	d->config_path = xstrdup(config_path);
	/* One seed for every delay the feeds and pages spread. */
	uint64_t seed = (uint64_t)now_us();
	jitter_seed(&d->jitter, seed);
	signal(SIGPIPE, SIG_IGN);
}

/* The host gate and the feed table.  Returns 0, or 2 if a feed named on
 * the command line is not configured (each logged). */
static int init_feeds(struct daemon *d, char **only, size_t n_only)
{
	d->gate = hostgate_new(d->cfg->per_host_connections, poll_on_due, d);
	feeds_add(d, only, n_only);
	int status = 0;
	for (size_t k = 0; k < n_only; k++) {
		if (!cfg_feed_find(d->cfg, only[k])) {
			LOG_ERR("%s: no [feed %s]", d->config_path, only[k]);
			status = 2;
		}
	}
	return status;
}

/* The feeds' fetcher and the schedule.  Created with the settings the
 * configuration gives them, which apply_config then hands over (the one
 * place that does). */
static void init_fetching(struct daemon *d)
{
	struct fetch_config fc;
	fetch_config_of(d->cfg, &fc);
	/* One budget for feeds and pages; the fetchers keep it. */
	d->budget = fetch_budget_new(d->cfg->max_body_memory, "max_body_memory");
	fc.budget = d->budget;
	d->fetcher = fetch_new(d->loop, &fc, poll_on_fetched, d);
	d->sched = sched_new(d->loop, poll_on_due, d);
}

/* The store.  Returns 0, or -1 if it cannot start: the spool holds what
 * this process cannot read, or another feedd has it (logged); starting
 * would risk its records. */
static int init_store(struct daemon *d)
{
	const struct cfg *cfg = d->cfg;
	struct store_config sc;
	store_config_default(&sc);
	sc.conninfo = cfg->db.conninfo;
	sc.batch_size = cfg->db.batch_size;
	sc.batch_delay_ms = cfg->db.batch_delay_ms;
	sc.connections = cfg->db.store_connections;
	sc.dedup_window_ms = cfg->db.dedup_window_ms;
	sc.stall_timeout_ms = cfg->db.stall_timeout_ms;
	sc.jitter = &d->jitter;
	struct buf spool_dir;
	buf_init(&spool_dir);
	buf_printf(&spool_dir, "%s/spool", cfg->state_dir);
	sc.spool_dir = buf_str(&spool_dir);
	sc.spool_max_bytes = cfg->spool_max_size;
	sc.warm_lazily = d->mode == DAEMON_ONCE;
	/* The sources at start: one added by a reload has no recent articles
	 * in the set, which costs a lookup in the database, never a loss. */
	char **warm = xcalloc(cfg->n_sources ? cfg->n_sources : 1, sizeof *warm);
	for (size_t i = 0; i < cfg->n_sources; i++)
		warm[i] = cfg->sources[i].name;
	sc.warm_sources = warm;
	sc.n_warm_sources = cfg->n_sources;
	struct store_handler sh = {
		.on_article = poll_on_article,
		.on_poll = on_poll_stored,
		.on_state = on_store_state,
		.on_feed_state = feeds_on_state,
		.ctx = d,
	};
	d->in_sync = xcalloc(cfg->n_feeds ? cfg->n_feeds : 1, sizeof *d->in_sync);
	d->store = store_new(d->loop, &sc, &sh);
	free(warm);
	buf_free(&spool_dir);
	if (!d->store)
		return -1;
	/* The search vectors of what the store commits, on connections of
	 * the indexer's own, as many as the store's (issue 14). */
	d->indexer = indexer_new(d->loop, cfg->db.conninfo, (size_t)cfg->db.store_connections,
				 on_indexer_idle, store_is_busy, d);
	return 0;
}

/* The pages, with their own fetcher on the same budget; limited, when
 * feeds were named, to those feeds' sources. */
static void init_pages(struct daemon *d, bool named)
{
	struct fetch_config fc;
	fetch_config_of(d->cfg, &fc);
	fc.budget = d->budget;
	d->pages = pages_new(d->loop, d->store, d->cfg, &fc, &d->jitter, d->mode == DAEMON_ONCE,
			     on_pages_answered, d);
	fetch_budget_free(d->budget);
	d->budget = NULL;
	if (named) {
		/* once FEED...: the pages of those feeds' sources, not every
		 * source's backlog. */
		const char **names = xcalloc(d->n_feeds ? d->n_feeds : 1, sizeof *names);
		for (size_t i = 0; i < d->n_feeds; i++)
			names[i] = d->feeds[i]->cfg->source->name;
		pages_limit_sources(d->pages, names, d->n_feeds);
		free(names);
	}
}

void daemon_mask_signals(int how)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(how, &set, NULL);
}

/* SIGHUP, SIGTERM and SIGINT reach their watchers from here on. */
static void arm_signals(struct daemon *d)
{
	ev_signal_init(&d->sig_term, on_signal, SIGTERM);
	ev_signal_init(&d->sig_int, on_signal, SIGINT);
	ev_signal_init(&d->sig_hup, on_signal, SIGHUP);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	ev_signal_start(d->loop, &d->sig_term);
	ev_signal_start(d->loop, &d->sig_int);
	if (d->mode == DAEMON_RUN)
		ev_signal_start(d->loop, &d->sig_hup);
	/* main blocked these from the start: a signal that came meanwhile is
	 * pending and now reaches its watcher (libev's handler, installed by
	 * ev_signal_start).  In once SIGHUP has none and does what it did
	 * before: end the process. */
	daemon_mask_signals(SIG_UNBLOCK);
}

/* The daemon's own watchers: the idle check for the end, the deadline
 * (once: the database's patience; stopping: shutdown_timeout), the
 * backpressure and drain timers, the signals and the watchdog. */
static void arm_watchers(struct daemon *d)
{
	d->armed = true;
	ev_idle_init(&d->check_done, daemon_on_check_done);
	d->check_done.data = d;
	ev_init(&d->deadline, on_deadline);
	d->deadline.data = d;
	ev_timer_init(&d->pressure, poll_on_pressure, 0.5, 0.5);
	d->pressure.data = d;
	ev_timer_init(&d->drain_check, on_drain_check, 0.2, 0.2);
	d->drain_check.data = d;
	if (d->mode == DAEMON_ONCE)
		ev_timer_start(d->loop, &d->drain_check);
	arm_signals(d);
	uint64_t wd_us = 0;
	daemon_instance_init(d);
	ev_init(&d->watchdog, on_watchdog);
	d->watchdog.data = d;
	if (d->mode == DAEMON_RUN) {
		double every = notify_watchdog_enabled(&wd_us) ? (double)wd_us / 2e6 : 30.0;
		ev_timer_set(&d->watchdog, every, every);
		ev_timer_start(d->loop, &d->watchdog);
	}
	if (d->mode == DAEMON_ONCE) {
		/* once must end if the database does not answer: it may be
		 * unreachable for this long before once gives up. */
		double patience =
			(double)(d->cfg->fetch_timeout_ms + d->cfg->shutdown_timeout_ms) / 1000.0;
		ev_timer_set(&d->deadline, 0., patience);
		ev_timer_again(d->loop, &d->deadline);
	}
}

/* ---- stop, in reverse ------------------------------------------------------------ */

/* The loop has ended: the exit status, and what the store still holds goes
 * to the spool. */
static void conclude(struct daemon *d)
{
	if (!d->store_ready && d->exit_status == 0 && !d->started) {
		LOG_ERR("the database never became usable");
		d->exit_status = 1;
	}
	if (d->mode == DAEMON_ONCE && d->exit_status == 0)
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
}

static void disarm_watchers(struct daemon *d)
{
	ev_signal_stop(d->loop, &d->sig_term);
	ev_signal_stop(d->loop, &d->sig_int);
	ev_signal_stop(d->loop, &d->sig_hup);
	ev_timer_stop(d->loop, &d->watchdog);
	ev_timer_stop(d->loop, &d->beat);
	leases_stop(d);
	ev_timer_stop(d->loop, &d->deadline);
	ev_timer_stop(d->loop, &d->pressure);
	ev_timer_stop(d->loop, &d->drain_check);
	ev_idle_stop(d->loop, &d->check_done);
}

/* Frees whatever the init steps created, in reverse order of creation. */
static void teardown(struct daemon *d)
{
	if (d->armed)
		disarm_watchers(d);
	pages_free(d->pages);
	indexer_free(d->indexer);
	store_free(d->store);
	free(d->in_sync);
	sched_free(d->sched);
	fetch_free(d->fetcher); /* done is not called: the polls go with their feeds */
	fetch_budget_free(d->budget);
	/* The polls still in flight go with their feeds. */
	for (size_t i = 0; i < d->n_feeds; i++) {
		if (d->feeds[i]->poll) {
			poll_discard(d->feeds[i]->poll);
			d->feeds[i]->poll = NULL;
		}
	}
	feeds_free_all(d);
	hostgate_free(d->gate);
	cfg_free(d->cfg);
	free(d->config_path);
}

int daemon_main(enum daemon_mode mode, struct cfg *cfg, const char *config_path, char **only,
		size_t n_only)
{
	struct daemon dd = {0}, *d = &dd;
	init_base(d, mode, cfg, config_path);
	int status = init_feeds(d, only, n_only);
	if (status != 0) {
		teardown(d);
		return status;
	}
	init_fetching(d);
	if (init_store(d) != 0) {
		teardown(d);
		return 1;
	}
	init_pages(d, n_only > 0);
	apply_config(d);
	arm_watchers(d);
	LOG_INFO("feedd %s %s: %zu feeds, database %s", FEEDD_VERSION,
		 mode == DAEMON_RUN ? "running" : "polling once", d->n_feeds,
		 store_ready(d->store) ? "connected" : "connecting");

	ev_run(d->loop, 0);

	conclude(d);
	status = d->exit_status;
	teardown(d);
	return status;
}
