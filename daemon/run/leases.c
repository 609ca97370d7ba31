/*
 * leases: which feeds this instance polls, when several share a database
 * (issue 15, part 1; sql/017_feed_leases.sql).
 *
 * The database is the schedule.  Every CLAIM_S this instance claims the
 * feeds of its group that fall due within CLAIM_HORIZON_MS and that nobody
 * holds (nor any other feed of their host: one instance at a time polls a
 * host), up to CLAIM_LIMIT at a time, each leased to it for [feedd] lease.
 * A claimed feed goes into the in-memory schedule at the time its row says,
 * with the validators and error count the last poll left, by whichever
 * instance; the schedule stays what it was, a cache of the feeds this
 * instance holds.  When a poll ends its record sets the next poll time and
 * gives the lease back (feedd.record_fetch), and the feed leaves the
 * schedule until a claim brings it again.  The heartbeat renews what the
 * instance holds (every third of the lease) and, at a clean stop, once the
 * polls are over, gives it all back.
 *
 * What this instance holds in the database and what it schedules can part:
 * a claim committed by a server whose answer was lost with its connection
 * (a stall), or a record that gave a lease back after a later claim had
 * brought the feed again.  Such a lease would be renewed for ever and its
 * feed polled by nobody.  So a claim sent again after its connection was
 * left, the first claim after the database was away, and one claim per
 * beat period ask for this instance's own leases too (claim_feeds'
 * p_mine, sql/018_claim_mine.sql), and take() schedules what is not
 * already scheduled or polling here.
 *
 * While the database is away no claim can be made: once it has been away
 * for a few seconds (SUSPEND_AFTER_S, a third of the lease if shorter),
 * every feed of the configuration is scheduled here as before leases (the
 * records wait in the spool), and once the database is back those feeds
 * are left to the claims again.  Several instances that lose the database
 * together therefore each poll every feed meanwhile, and one cut off while
 * the others reach it polls what they poll: fetching on costs publishers
 * some more requests for the outage, stopping would cost articles.
 *
 * Nothing here makes a round trip per feed: a claim is one statement for
 * up to CLAIM_LIMIT feeds, a renewal one statement for all.
 */
#include "daemon_int.h"

#include "feedd/log.h"

#include <string.h>

/* How often a claim is made, how far ahead it looks and how many feeds one
 * claim takes at most (a full answer is followed by another claim at once). */
#define CLAIM_S 1.0
#define CLAIM_HORIZON_MS 2000
#define CLAIM_LIMIT 1000
/* How often a run beats its row of feedd.instances without leases. */
#define BEAT_S 30.0
/* How long the database may be away before every feed is polled here as
 * if this instance were alone (a third of the lease, at most this): a
 * connection dropped and made again at once must not set two instances
 * polling one feed. */
#define SUSPEND_AFTER_S 10.0

/* The lease in whole seconds, at least 3. */
static int lease_s(const struct daemon *d)
{
	int s = (int)(d->cfg->lease_ms / 1000);
	return s < 3 ? 3 : s;
}

int leases_seconds(const struct daemon *d)
{
	return d->leasing ? lease_s(d) : 0;
}

double leases_beat_period(const struct daemon *d)
{
	if (!d->leasing)
		return BEAT_S;
	double third = (double)lease_s(d) / 3.0;
	return third < BEAT_S ? third : BEAT_S;
}

/* Whether name is on the skip list already. */
static bool skipped(const struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->n_skip; i++)
		if (strcmp(d->skip[i], name) == 0)
			return true;
	return false;
}

/* f's state from its claimed row r: what the last poll, here or elsewhere,
 * left; then into the schedule at the row's time, never sooner than half
 * its interval after its last poll here, nor than that poll said (a claim
 * may come back with a feed whose record, and so its next poll time, is
 * still on its way). */
static void take(struct daemon *d, struct feed_rt *f, const struct store_feed_state *r)
{
	/* A row without validators has not had a usable answer recorded yet
	 * (or lost them with a new URL, which keep_feed clears here too). */
	if (r->url && strcmp(r->url, f->cfg->url) == 0 && (r->etag || r->last_modified)) {
		free_and_set(&f->etag, r->etag);
		free_and_set(&f->last_modified, r->last_modified);
	}
	if (r->url && strcmp(r->url, f->cfg->url) == 0 && r->permanent_url)
		free_and_set(&f->permanent_url, r->permanent_url);
	f->errors = r->error_count;
	double now = ev_now(d->loop);
	double interval = (double)f->cfg->interval_ms / 1000.0;
	double due;
	if (r->next_poll_us == STORE_TIME_NONE) {
		due = now + sched_first_delay(interval, jitter_unit(&d->jitter));
	} else {
		due = now + (double)(r->next_poll_us - now_us()) / 1e6;
		double max_s = (double)d->cfg->max_interval_ms / 1000.0;
		if (due > now + max_s)
			due = now + max_s;
	}
	if (f->last_poll > 0 && due < f->last_poll + interval / 2)
		due = f->last_poll + interval / 2;
	if (due < f->next_due)
		due = f->next_due;
	/* Held and scheduled already (a claim returns what it holds): a
	 * clamped time must not move on with every claim. */
	if (sched_scheduled(&f->entry) && f->entry.due < due)
		due = f->entry.due;
	if (due < now)
		due = now;
	f->local = false;
	f->record_lost = false;
	sched_at(d->sched, &f->entry, due);
}

static void claim(struct daemon *d);
static void on_suspend_timer(struct ev_loop *loop, ev_timer *w, int revents);

static void on_claimed(void *ctx, const struct store_feed_state *rows, size_t n, bool ok)
{
	struct daemon *d = ctx;
	d->claim_out = false;
	if (!ok || d->stopping)
		return; /* the store logged a failure; a stop gives leases back */
	for (size_t i = 0; i < n; i++) {
		const struct store_feed_state *r = &rows[i];
		struct feed_rt *f = feeds_find(d, r->name);
		if (!f || !f->cfg || f->removed) {
			/* Its group's feed, not in this configuration: drift,
			 * which feeds.c named at start.  Given back with the
			 * next claim, and never claimed here again. */
			if (!skipped(d, r->name)) {
				LOG_WARN("feed %s: leased to this instance but not in its "
					 "configuration (%s); left to the other instances of group "
					 "%s",
					 r->name, d->cfg->path, d->cfg->group);
				d->skip = xrealloc(d->skip, (d->n_skip + 1) * sizeof *d->skip);
				d->skip[d->n_skip++] = xstrdup(r->name);
			}
			continue;
		}
		/* Polling, or in its host's line: the lease ran out during the
		 * poll and came back here; or its last poll's record is on its
		 * way: the record gives the lease back with the next poll time,
		 * and a claim after it brings the feed again.  (Scheduled now,
		 * it would stay in the schedule once the record freed it for
		 * the others.) */
		if (f->poll || hostgate_waiting(&f->gate) || f->disabled_reason ||
		    ev_now(d->loop) < f->record_until)
			continue;
		take(d, f, r);
	}
	LOG_DEBUG("leases: %zu feeds claimed", n);
	if (n >= CLAIM_LIMIT)
		claim(d); /* more are due */
}

static void claim(struct daemon *d)
{
	/* Under backpressure (the schedule is held: no fetch starts) this
	 * instance takes no more feeds; once they are a lease overdue the other
	 * instances may (feedd.claim_feeds). */
	if (!d->leasing || d->claim_out || d->stopping || !d->store_ready ||
	    ev_is_active(&d->pressure))
		return;
	struct store_feed_claim c = {
		.instance = d->instance_id,
		.group = d->cfg->group,
		.skip = (const char *const *)d->skip,
		.n_skip = d->n_skip,
		.limit = CLAIM_LIMIT,
		.lease_s = lease_s(d),
		.horizon_ms = CLAIM_HORIZON_MS,
		.max_interval_s = (int)(d->cfg->max_interval_ms / 1000),
	};
	double now = ev_now(d->loop);
	if (now >= d->mine_at) {
		c.mine = true;
		d->mine_at = now + leases_beat_period(d);
	}
	d->claim_out = true;
	store_claim_feeds(d->store, &c, on_claimed, d);
}

static void on_claim_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	claim(w->data);
}

void leases_init(struct daemon *d)
{
	d->leasing = d->mode == DAEMON_RUN && d->cfg->lease_ms > 0;
	ev_timer_init(&d->claim, on_claim_timer, CLAIM_S, CLAIM_S);
	d->claim.data = d;
	ev_init(&d->suspend, on_suspend_timer);
	d->suspend.data = d;
}

void leases_start(struct daemon *d)
{
	if (!d->leasing)
		return;
	ev_timer_start(d->loop, &d->claim);
	claim(d);
}

void leases_resume(struct daemon *d)
{
	if (!d->leasing)
		return;
	ev_timer_stop(d->loop, &d->suspend);
	d->mine_at = 0; /* a claim in flight may have been lost */
	size_t n = 0;
	for (size_t i = 0; i < d->n_feeds; i++) {
		struct feed_rt *f = d->feeds[i];
		if (!f->local || f->poll || hostgate_waiting(&f->gate))
			continue;
		if (f->record_lost) {
			/* Its lease is still ours (leases_recorded): keep it. */
			f->local = false;
			continue;
		}
		sched_remove(d->sched, &f->entry);
		f->local = false;
		n++;
	}
	if (n)
		LOG_INFO("leases: the database is back; %zu feeds polled here meanwhile are "
			 "claimed again as they fall due",
			 n);
	claim(d);
}

static void suspend_now(struct daemon *d)
{
	if (!d->leasing || d->stopping || d->store_ready)
		return;
	size_t n = 0;
	double now = ev_now(d->loop);
	for (size_t i = 0; i < d->n_feeds; i++) {
		struct feed_rt *f = d->feeds[i];
		if (!f->cfg || f->removed || f->disabled_reason || f->poll ||
		    hostgate_waiting(&f->gate) || sched_scheduled(&f->entry))
			continue;
		/* When its last poll here said; else when the database said at
		 * start (feeds.c, restore_feed) or its last lease; else soon. */
		double due = f->next_due > 0 ? f->next_due
			: f->entry.due > 0   ? f->entry.due
					     : now +
				sched_first_delay((double)f->cfg->interval_ms / 1000.0,
						  jitter_unit(&d->jitter));
		f->local = true;
		sched_at(d->sched, &f->entry, due < now ? now : due);
		n++;
	}
	if (n)
		LOG_NOTICE("leases: the database is away: no lease can be claimed or renewed, so "
			   "%zu feeds are polled here as if this instance were alone until it is "
			   "back",
			   n);
}

static void on_suspend_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	suspend_now(w->data);
}

void leases_suspend(struct daemon *d)
{
	if (!d->leasing || d->stopping || ev_is_active(&d->suspend))
		return;
	double after = (double)lease_s(d) / 3.0;
	ev_timer_set(&d->suspend, after < SUSPEND_AFTER_S ? after : SUSPEND_AFTER_S, 0.);
	ev_timer_start(d->loop, &d->suspend);
}

bool leases_schedule_here(struct daemon *d, struct feed_rt *f, double due)
{
	f->next_due = due;
	if (!d->leasing)
		return true;
	/* Its record gives the lease back, now or from the spool.  Bounded:
	 * a record lost without a word must not strand the feed. */
	f->record_until = ev_now(d->loop) + (double)lease_s(d);
	f->record_lost = false;
	if (!d->store_ready) {
		f->local = true;
		return true;
	}
	return false;
}

void leases_recorded(struct daemon *d, const struct store_poll *p, bool ok)
{
	if (!d->leasing || !p->instance || strcmp(p->instance, d->instance_id) != 0)
		return;
	struct feed_rt *f = feeds_find(d, p->feed);
	/* The record of a poll older than the last one here (sent again, or
	 * from the spool, after a later one): the later record settles the
	 * lease, and feedd.record_fetch leaves the feed's state, its lease
	 * included, to the newest poll. */
	if (!f || p->started_us < f->last_started_us)
		return;
	f->record_until = 0;
	if (!ok) {
		/* Refused, or dropped from a full spool: the lease is still
		 * this instance's and no claim returns it, so the feed is
		 * polled here when its poll said (the next record gives the
		 * lease back). */
		f->record_lost = true;
		if (!f->poll && !sched_scheduled(&f->entry) && f->cfg && !f->removed &&
		    !f->disabled_reason && !d->stopping) {
			sched_at(d->sched, &f->entry,
				 f->next_due > 0 ? f->next_due : ev_now(d->loop));
		}
		return;
	}
	/* The record gave the lease back: a claim answered before it (claims
	 * and records share the store's first connection, so answers come in
	 * the order they ran) is void, and the feed is the next claim's to
	 * give, perhaps to another instance. */
	if (!f->poll && !f->local && sched_scheduled(&f->entry)) {
		sched_remove(d->sched, &f->entry);
	}
}

void leases_reloaded(struct daemon *d)
{
	strv_free(d->skip, d->n_skip);
	d->skip = NULL;
	d->n_skip = 0;
}

void leases_stop(struct daemon *d)
{
	ev_timer_stop(d->loop, &d->claim);
	ev_timer_stop(d->loop, &d->suspend);
	leases_reloaded(d);
}
