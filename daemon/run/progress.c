/*
 * progress: how far the run has come, for the daemon's other files: the
 * articles stored today, the systemd status line built from every module's
 * state, and whether the run is over (once has polled every feed and the
 * store and pages have it all; a stop has drained), and this process's row
 * of feedd.instances (made when the database is first usable, beaten every
 * leases_beat_period, marked stopped at a stop).  daemon.c, feeds.c and
 * poll.c call these; this file calls none of them, so that no two files of
 * the daemon call each other.
 */
#include "daemon_int.h"

#include "feedd/indexer.h"
#include "feedd/notify.h"
#include "feedd/pages.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A search index lag from which STATUS names it. */
#define SEARCH_LAG_SHOWN_S 10.0

void daemon_beat(struct daemon *d, bool stopping)
{
	if (d->mode != DAEMON_RUN || !d->store_ready)
		return;
	int feeds = 0;
	for (size_t i = 0; i < d->n_feeds; i++)
		feeds += d->feeds[i]->cfg && !d->feeds[i]->disabled_reason;
	struct store_instance in = {
		.id = d->instance_id,
		.group = d->cfg->group,
		.host = d->host,
		.version = FEEDD_VERSION,
		.pid = (int)getpid(),
		.feeds = feeds,
		.started_us = d->started_us,
		.config_at_us = d->cfg->written_us,
		.stopping = stopping,
		.lease_s = leases_seconds(d),
	};
	store_beat(d->store, &in);
}

static void on_beat(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct daemon *d = w->data;
	if (!d->stopping)
		daemon_beat(d, false);
}

void daemon_instance_init(struct daemon *d)
{
	d->started_us = now_us();
	if (gethostname(d->host, sizeof d->host) != 0 || !d->host[0])
		snprintf(d->host, sizeof d->host, "unknown");
	d->host[sizeof d->host - 1] = '\0';
	snprintf(d->instance_id, sizeof d->instance_id, "%s:%d:%lld", d->host, (int)getpid(),
		 (long long)d->started_us);
	leases_init(d);
	double every = leases_beat_period(d);
	ev_timer_init(&d->beat, on_beat, every, every);
	d->beat.data = d;
	if (d->mode == DAEMON_RUN)
		ev_timer_start(d->loop, &d->beat);
}

void daemon_count_stored(struct daemon *d)
{
	long day = (long)(now_us() / 1000000 / 86400);
	if (day != d->today) {
		d->today = day;
		d->stored_today = 0;
	}
	d->stored_today++;
}

void daemon_update_status(struct daemon *d)
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
	/* The search index's lag, once it exceeds the bound issue 14 sets. */
	char search[80] = "";
	double lag = indexer_lag(d->indexer);
	if (lag >= SEARCH_LAG_SHOWN_S)
		snprintf(search, sizeof search, ", search index %.0f s behind", lag);
	notify_status("%zu feeds, %zu polls and %zu pages in flight, %zu articles stored today, "
		      "%zu failing%s%s%s",
		      d->n_feeds, d->polls_active, pages_in_flight(d->pages), d->stored_today,
		      failing, spool, db, search);
}

/* ---- finishing ----------------------------------------------------------- */

static bool once_done(struct daemon *d)
{
	for (size_t i = 0; i < d->n_feeds; i++)
		if (!d->feeds[i]->polled && !d->feeds[i]->disabled_reason)
			return false;
	return d->polls_active == 0 && store_backlog(d->store) == 0 &&
		store_spooled(d->store) == 0 && pages_idle(d->pages) && indexer_idle(d->indexer);
}

void daemon_on_check_done(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct daemon *d = w->data;
	ev_idle_stop(loop, w);
	/* With the database away, what is accepted is in the spool, and the
	 * rest (registrations, claims) is not worth waiting for. */
	bool stored = store_backlog(d->store) == 0 ||
		(!store_ready(d->store) && store_unspooled(d->store) == 0);
	/* With leases, the last beat gives them back once no poll is left,
	 * so that no other instance takes a feed still polled here. */
	if (d->stopping && d->leasing && !d->final_beat_sent && d->polls_active == 0) {
		d->final_beat_sent = true;
		daemon_beat(d, true);
		stored = store_backlog(d->store) == 0 ||
			(!store_ready(d->store) && store_unspooled(d->store) == 0);
	}
	bool drained = d->polls_active == 0 && stored && pages_idle(d->pages);
	if ((d->mode == DAEMON_ONCE && once_done(d)) || (d->stopping && drained))
		ev_break(loop, EVBREAK_ALL);
}

void daemon_check_done(struct daemon *d)
{
	if (d->mode == DAEMON_ONCE || d->stopping)
		ev_idle_start(d->loop, &d->check_done);
}
