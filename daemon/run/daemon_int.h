/*
 * daemon_int: what the daemon's three files share and no other module sees.
 *
 * daemon.c wires the modules together and keeps the order of start, reload
 * and stop; feeds.c keeps the feed table (one struct feed_rt per polled
 * feed) in step with the configuration and the database; poll.c is the life
 * of one poll, from due to its record.  They share struct daemon, the one
 * object of a run, which daemon.c owns.
 */
#ifndef FEEDD_DAEMON_INT_H
#define FEEDD_DAEMON_INT_H

#include "feedd/config.h"
#include "feedd/daemon.h"
#include "feedd/fetch.h"
#include "feedd/hostgate.h"
#include "feedd/jitter.h"
#include "feedd/sched.h"
#include "feedd/store.h"
#include "feedd/util.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>

struct poll; /* poll.c's */

/* A configured feed at run time: its fetch state and its place in the
 * schedule; owned by d->feeds (feeds.c). */
struct feed_rt {
	char *name;
	const struct cfg_feed *cfg; /* in d->cfg; updated on reload */
	char *etag, *last_modified, *permanent_url;
	char *disabled_reason;
	int errors;
	double adaptive_s;
	struct sched_entry entry;
	struct poll *poll;	     /* the poll in progress, or NULL */
	struct hostgate_ticket gate; /* waiting for or holding a connection */
	bool removed;		     /* gone from the configuration: freed when idle */
	bool polled;		     /* once: done */
	bool failed;		     /* once: the last poll failed */
	/* Leases (leases.c): scheduled here while the database was away, to
	 * be left to the claims once it is back.  (Whether this instance
	 * holds the feed is whether it is scheduled or polling.) */
	bool local;
	double last_poll;	 /* ev_now when its last poll here began; 0: none */
	int64_t last_started_us; /* that poll's started_at, as its record has it */
	double next_due;	 /* when its last poll here said it is due next; 0: none */
	/* Its poll's record, which gives its lease back, is on its way to the
	 * database until then (ev time; 0 once in): claims leave it alone. */
	double record_until;
	/* Its record was refused or dropped: its lease stays this instance's
	 * (no claim brings it back), so it is polled on here (leases.c). */
	bool record_lost;
};

struct daemon {
	struct ev_loop *loop;
	enum daemon_mode mode;
	struct cfg *cfg;
	char *config_path;
	struct jitter jitter;	     /* every random delay of the feeds and pages */
	struct hostgate *gate;	     /* the feed polls' per-host connections */
	struct fetch_budget *budget; /* held while the fetchers are created */
	struct store *store;
	struct indexer *indexer; /* articles.search, off the store's path */
	struct fetcher *fetcher;
	struct pages *pages; /* article pages of the sources with articles = fetch */
	struct sched *sched;
	struct feed_rt **feeds;
	size_t n_feeds;
	bool store_ready, started, stopping;
	bool cancelled; /* shutdown_timeout came: polls in flight were cancelled */
	bool armed;	/* the watchers are initialised (daemon.c) */
	int exit_status;
	size_t polls_active;
	size_t stored_today, failing;
	long today;		/* the UTC day stored_today counts */
	struct feed_rt **index; /* see feeds_index */
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
	/* run: this process's row of feedd.instances, beaten every BEAT_S
	 * (progress.c). */
	ev_timer beat;
	/* run with [feedd] lease: feeds are polled under leases claimed from
	 * the database every CLAIM_S (leases.c); skip names the feeds of this
	 * group that were leased to it and that its configuration lacks. */
	bool leasing, claim_out, final_beat_sent;
	ev_timer claim;
	ev_timer suspend; /* the database away this long: feeds polled here */
	char **skip;
	size_t n_skip;
	/* When the next claim asks for this instance's leases too (ev time;
	 * 0: the next one does): once per beat period and after the database
	 * was away, so that a lease whose claim's answer was lost, or that
	 * this instance let go of wrongly, is polled within that (leases.c). */
	double mine_at;
	char instance_id[160];
	char host[72];
	int64_t started_us;
	bool watchdog_withheld; /* the store is stuck: liveness not confirmed */
	ev_idle check_done;
};

static inline int64_t now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* *slot becomes a copy of v (NULL: none), the old value freed. */
static inline void free_and_set(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? xstrdup(v) : NULL;
}

/* ---- progress.c ------------------------------------------------------------ */

/* Looks, once the loop is idle, whether once is done or a drain finished. */
void daemon_check_done(struct daemon *d);
/* d->check_done's callback: ends the loop when the run is over. */
void daemon_on_check_done(struct ev_loop *loop, ev_idle *w, int revents);
/* The systemd status line: feeds, polls, pages, today's articles, failing
 * feeds, the spool and the database's trouble. */
void daemon_update_status(struct daemon *d);
/* One more article stored today. */
void daemon_count_stored(struct daemon *d);
/* run: names this process for feedd.instances (host:pid:start) and arms
 * d->beat; the first beat goes when the database is first usable. */
void daemon_instance_init(struct daemon *d);
/* run: this process's row of feedd.instances made or beaten now (while the
 * database is usable); stopping marks it stopped. */
void daemon_beat(struct daemon *d, bool stopping);

/* ---- leases.c -------------------------------------------------------------- */

/* Whether this run polls under leases (run with [feedd] lease > 0), and
 * the claim timer; before the store exists. */
void leases_init(struct daemon *d);
/* The store is ready for the first time: claims begin. */
void leases_start(struct daemon *d);
/* The store is ready again after it was away: the feeds scheduled here
 * meanwhile leave the schedule to the claims (unless polling). */
void leases_resume(struct daemon *d);
/* The store went away: unless it is back within SUSPEND_AFTER_S (a
 * dropped connection is usually back at once), no claim can come, so every
 * feed is scheduled here, as if this instance were alone. */
void leases_suspend(struct daemon *d);
/* Where f's next poll, due at ev time `due`, is decided once its poll
 * ended: true when here (no leases, or the database is away, so no claim
 * can come); false when the poll's record gives the lease back and a
 * claim brings the feed again. */
bool leases_schedule_here(struct daemon *d, struct feed_rt *f, double due);
/* The store committed (ok), or refused or dropped, a poll record p. */
void leases_recorded(struct daemon *d, const struct store_poll *p, bool ok);
/* A reload: the skip list starts afresh under the new configuration. */
void leases_reloaded(struct daemon *d);
/* Stops the claim timer and frees the skip list. */
void leases_stop(struct daemon *d);
/* The beat's period: BEAT_S, or a third of the lease when shorter. */
double leases_beat_period(const struct daemon *d);
/* The lease the beat renews to, in seconds; 0: no leases. */
int leases_seconds(const struct daemon *d);

/* ---- feeds.c --------------------------------------------------------------- */

/* The configuration's feeds (only the named ones if n_only) into the
 * table: every enabled feed, or each named one even if disabled. */
void feeds_add(struct daemon *d, char **only, size_t n_only);
/* Rebuilds the by-name index: after any change to d->feeds. */
void feeds_index(struct daemon *d);
struct feed_rt *feeds_find(struct daemon *d, const char *name);
/* Takes removed feed f out of the table and frees it (its poll is over). */
void feeds_drop(struct daemon *d, struct feed_rt *f);
/* Frees the table (teardown; the caller has discarded the polls in it). */
void feeds_free_all(struct daemon *d);

/* The store's feed_state rows: validators, errors and due times at start. */
void feeds_on_state(void *ctx, const struct store_feed_state *st);
/* Registers the sources and feeds of the configuration; with only_changed,
 * not the feeds whose rows already match (d->in_sync). */
void feeds_sync_config(struct daemon *d, bool only_changed);
/* The store is ready for the first time: every feed into the schedule. */
void feeds_start_polling(struct daemon *d);

/* What a reload did to the table. */
struct feeds_change {
	size_t added, removed, kept;
};
/* Rebuilds the table for next (before it replaces d->cfg): unchanged feeds
 * keep schedule and validators; removed ones leave the schedule, and one
 * still polling stays until its poll ends. */
struct feeds_change feeds_reload(struct daemon *d, const struct cfg *next);
/* After a reload swapped d->cfg (old is still there): every feed registered
 * again, those gone since old disabled. */
void feeds_sync_reloaded(struct daemon *d, const struct cfg *old);

/* ---- poll.c ---------------------------------------------------------------- */

/* The schedule's callback, and the feed gate's wake: feed owner is due. */
void poll_on_due(void *ctx, void *owner);
/* The feeds' fetcher's completion callback. */
void poll_on_fetched(void *ctx, struct fetch_result *r);
/* The store's verdict on an article a poll submitted. */
void poll_on_article(void *ctx, const struct store_article *a, enum store_outcome o);
/* The backpressure timer: releases the schedule once there is room. */
void poll_on_pressure(struct ev_loop *loop, ev_timer *w, int revents);
/* Frees a poll that never finished (teardown: its fetcher is gone). */
void poll_discard(struct poll *p);

#endif
