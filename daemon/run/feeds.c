/*
 * feeds: the daemon's feed table, in step with the configuration and the
 * database (see daemon_int.h).
 *
 * Each feed polled has a struct feed_rt in d->feeds, found by name through
 * an index.  The database's feed_state rows, read at each connection, give
 * back what the last run knew (validators, errors, the next poll) and say
 * which rows already match the configuration, so that a start registers only
 * what changed; a reload rebuilds the table, keeping what it can, and
 * registers every feed again.  The file is the truth: a feed gone from it is
 * disabled in the database, never deleted, and one put back is enabled.
 */
#include "daemon_int.h"

#include "feedd/date.h"
#include "feedd/log.h"

#include <string.h>

static uint64_t name_hash(const char *name)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	return h;
}

/* Feeds by name, open addressing: with 100,000 feeds, the state read back
 * at start and every reload look up each one. */
void feeds_index(struct daemon *d)
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

struct feed_rt *feeds_find(struct daemon *d, const char *name)
{
	if (!d->index)
		return NULL;
	size_t mask = d->index_cap - 1;
	for (size_t k = name_hash(name) & mask; d->index[k]; k = (k + 1) & mask)
		if (strcmp(d->index[k]->name, name) == 0)
			return d->index[k];
	return NULL;
}

static struct feed_rt *feed_rt_new(const struct cfg_feed *cf)
{
	struct feed_rt *f = xcalloc(1, sizeof *f);
	f->name = xstrdup(cf->name);
	f->cfg = cf;
	sched_entry_init(&f->entry, f);
	hostgate_ticket_init(&f->gate, f);
	return f;
}

/* Frees f, out of its host's line if it waits there; its poll (if any) is
 * the caller's. */
static void feed_rt_free(struct daemon *d, struct feed_rt *f)
{
	if (hostgate_waiting(&f->gate))
		hostgate_leave(d->gate, &f->gate);
	free(f->name);
	free(f->etag);
	free(f->last_modified);
	free(f->permanent_url);
	free(f->disabled_reason);
	free(f);
}

void feeds_add(struct daemon *d, char **only, size_t n_only)
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
	feeds_index(d);
}

void feeds_drop(struct daemon *d, struct feed_rt *f)
{
	for (size_t i = 0; i < d->n_feeds; i++) {
		if (d->feeds[i] == f) {
			d->feeds[i] = d->feeds[--d->n_feeds];
			break;
		}
	}
	feeds_index(d);
	feed_rt_free(d, f);
}

void feeds_free_all(struct daemon *d)
{
	for (size_t i = 0; i < d->n_feeds; i++) {
		feed_rt_free(d, d->feeds[i]);
	}
	free(d->feeds);
	d->feeds = NULL;
	d->n_feeds = 0;
	free(d->index);
	d->index = NULL;
}

/* ---- when -------------------------------------------------------------------- */

/* In how many seconds a feed due in `in` is due under cf's interval, which
 * was shortened: as before if that is sooner, else at a random time in the
 * second half of the new interval (so that many such feeds do not start at
 * once).  Whoever shortens an interval wants it now, not once the old one
 * has run out. */
static double due_within(struct daemon *d, double in, const struct cfg_feed *cf)
{
	double interval = (double)cf->interval_ms / 1000.0;
	if (in <= interval)
		return in;
	return interval * (0.5 + 0.5 * jitter_unit(&d->jitter));
}

/* In how many seconds a feed never polled before is due: soon, spread
 * over a few seconds (sched_first_delay) so that many new feeds do not all
 * start in the same instant. */
static double first_delay(struct daemon *d, const struct cfg_feed *cf)
{
	return sched_first_delay((double)cf->interval_ms / 1000.0, jitter_unit(&d->jitter));
}

void feeds_start_polling(struct daemon *d)
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
		n++;
		if (d->leasing)
			continue; /* scheduled as their leases are claimed (leases.c) */
		double when = f->entry.due > 0	? f->entry.due
			: d->mode == DAEMON_RUN ? now + first_delay(d, f->cfg)
						: now;
		sched_at(d->sched, &f->entry, when);
	}
	if (d->leasing)
		LOG_NOTICE("ready: polling %zu feeds, under leases of %.0f s shared with the other "
			   "instances of group %s",
			   n, (double)d->cfg->lease_ms / 1000.0, d->cfg->group);
	else if (d->mode == DAEMON_RUN)
		LOG_NOTICE("ready: polling %zu feeds", n);
	else
		LOG_INFO("polling %zu feeds", n);
	daemon_check_done(d);
}

/* ---- the database's rows ------------------------------------------------------ */

/* What feedd.sync_feed writes as the disabled_reason of a feed the
 * configuration disables or no longer has (sql/001_init.sql). */
static const char *const config_disabled = "disabled in the configuration";

/* Whether a feed's row says what feedd.sync_feed would leave there for cf
 * from this configuration: registered by this group since migration 014,
 * source, URL and interval as configured, and enabled as configured, or, for
 * an enabled feed, disabled by feedd itself (HTTP 410) at this very URL,
 * which sync_feed keeps (sql/008). */
static bool registered_as(const struct daemon *d, const struct cfg_feed *cf,
			  const struct store_feed_state *st)
{
	if (st->config_at_us == STORE_TIME_NONE || !st->group ||
	    strcmp(st->group, d->cfg->group) != 0)
		return false;
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

/* What the last run knew of f, from its row st (at the first connection). */
static void restore_feed(struct daemon *d, struct feed_rt *f, const struct store_feed_state *st)
{
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
			in = due_within(d, in, f->cfg);
		/* No schedule reaches past max_interval (a Retry-After stored
		 * before it was capped could say 2094). */
		double max_s = (double)d->cfg->max_interval_ms / 1000.0;
		if (in > max_s)
			in = max_s;
		f->entry.due = ev_now(d->loop) + (in > 0 ? in : 0);
	}
}

/* Whether st's row was last changed by a newer configuration than ours
 * (sql/014_feed_groups.sql): a machine that missed a deploy must not undo
 * it. */
static bool changed_by_newer(const struct daemon *d, const struct store_feed_state *st)
{
	return st->config_at_us != STORE_TIME_NONE && st->config_at_us > d->cfg->written_us;
}

/* A row registered before migration 014 (no config_at) is nobody's yet:
 * the first group to register it takes it. */
static bool in_our_group(const struct daemon *d, const struct store_feed_state *st)
{
	return st->config_at_us == STORE_TIME_NONE ||
		(st->group && strcmp(st->group, d->cfg->group) == 0);
}

/* Configuration drift, by name: what this configuration would change in
 * st's row and, being older than the one that last changed it, leaves. */
static void log_drift(const struct daemon *d, const struct store_feed_state *st, const char *what)
{
	char ours[DATE_ISO_LEN], theirs[DATE_ISO_LEN];
	date_format_utc(d->cfg->written_us / 1000000, ours);
	date_format_utc(st->config_at_us / 1000000, theirs);
	LOG_WARN("configuration drift: feed %s %s; group %s registered it from a configuration "
		 "written %s, this one (%s) was written %s: left as it is",
		 st->name, what, st->group ? st->group : "?", theirs, d->cfg->path, ours);
}

/* What a feed's row says against the configuration, at the first
 * connection: which rows need registering, which feeds the file dropped,
 * and where this configuration is older than the database's (drift) or the
 * feed is another group's. */
static void compare_state(struct daemon *d, const struct cfg_feed *cf,
			  const struct store_feed_state *st)
{
	if (cf) {
		bool *in_sync = &d->in_sync[cf - d->cfg->feeds];
		if (!in_our_group(d, st) && st->enabled) {
			LOG_WARN("feed %s is registered by group %s, not by this instance's group "
				 "%s; "
				 "left to that group (polled here too while this configuration "
				 "has it)",
				 st->name, st->group ? st->group : "?", d->cfg->group);
			*in_sync = true;
		} else if (registered_as(d, cf, st)) {
			*in_sync = true;
		} else if (changed_by_newer(d, st)) {
			log_drift(d, st,
				  st->enabled ? "differs from this configuration"
					      : "is disabled in a newer configuration");
			*in_sync = true;
		}
		return;
	}
	/* Gone from the file since the last start: disabled, as a reload
	 * does, never deleted.  Only by the daemon, and only a feed of its own
	 * group: a `feedd once -c other.conf`, or an instance of another
	 * group, against a shared database must not disable every feed that
	 * its file leaves out. */
	if (d->mode != DAEMON_RUN || !st->enabled || !st->source || !st->url ||
	    !in_our_group(d, st))
		return;
	if (changed_by_newer(d, st))
		log_drift(d, st, "is missing from this configuration");
	else
		store_sync_feed(d->store, st->name, st->source, st->url, 0, false, d->cfg->group,
				d->cfg->written_us);
}

void feeds_on_state(void *ctx, const struct store_feed_state *st)
{
	struct daemon *d = ctx;
	if (d->started) {
		if (cfg_feed_find(d->cfg, st->name))
			d->states_seen++;
		return;
	}
	compare_state(d, cfg_feed_find(d->cfg, st->name), st);
	struct feed_rt *f = feeds_find(d, st->name);
	if (f)
		restore_feed(d, f, st);
}

void feeds_sync_config(struct daemon *d, bool only_changed)
{
	for (size_t i = 0; i < d->cfg->n_sources; i++)
		store_sync_source(d->store, d->cfg->sources[i].name, d->cfg->sources[i].home);
	size_t n = 0;
	for (size_t i = 0; i < d->cfg->n_feeds; i++) {
		const struct cfg_feed *cf = &d->cfg->feeds[i];
		if (only_changed && d->in_sync[i])
			continue;
		store_sync_feed(d->store, cf->name, cf->source->name, cf->url,
				(int)(cf->interval_ms / 1000), cf->enabled, d->cfg->group,
				d->cfg->written_us);
		n++;
	}
	if (only_changed)
		LOG_INFO("database: %zu of %zu feeds are new or changed in the configuration", n,
			 d->cfg->n_feeds);
}

/* ---- reload ---------------------------------------------------------------------- */

/* f stays, configured as cf from now on: unchanged, it keeps schedule and
 * validators; a new URL starts afresh; a shorter interval is due within it. */
static void keep_feed(struct daemon *d, struct feed_rt *f, const struct cfg_feed *cf)
{
	if (!f->cfg) {
		/* Removed by an earlier reload while its poll was in flight, and
		 * back before that poll ended: its old configuration is gone, so
		 * it starts afresh as a new feed would once the poll ends. */
		free_and_set(&f->etag, NULL);
		free_and_set(&f->last_modified, NULL);
		free_and_set(&f->permanent_url, NULL);
		free_and_set(&f->disabled_reason, NULL);
	} else if (strcmp(f->cfg->url, cf->url) != 0) {
		free_and_set(&f->etag, NULL);
		free_and_set(&f->last_modified, NULL);
		free_and_set(&f->permanent_url, NULL);
		free_and_set(&f->disabled_reason, NULL);
		f->last_poll = f->next_due = 0; /* a new feed, as far as leases.c goes */
		/* Under leases, feedd.sync_feed makes it due at once instead. */
		if (!d->leasing || sched_scheduled(&f->entry))
			sched_at(d->sched, &f->entry, ev_now(d->loop));
	} else if (cf->interval_ms < f->cfg->interval_ms) {
		f->next_due = 0; /* said under the longer interval (leases.c) */
		if (sched_scheduled(&f->entry)) {
			double now = ev_now(d->loop);
			sched_at(d->sched, &f->entry, now + due_within(d, f->entry.due - now, cf));
		}
	}
	f->cfg = cf;
	f->removed = false;
}

struct feeds_change feeds_reload(struct daemon *d, const struct cfg *next)
{
	struct feeds_change ch = {0};
	for (size_t i = 0; i < d->n_feeds; i++)
		d->feeds[i]->removed = true;
	struct feed_rt **feeds = xcalloc(next->n_feeds + d->n_feeds + 1, sizeof *feeds);
	size_t n = 0;
	for (size_t i = 0; i < next->n_feeds; i++) {
		const struct cfg_feed *cf = &next->feeds[i];
		if (!cf->enabled)
			continue;
		struct feed_rt *f = feeds_find(d, cf->name);
		if (f) {
			keep_feed(d, f, cf);
			ch.kept++;
		} else {
			f = feed_rt_new(cf);
			if (d->started && !d->leasing)
				sched_at(d->sched, &f->entry, ev_now(d->loop) + first_delay(d, cf));
			ch.added++;
		}
		feeds[n++] = f;
	}
	/* Removed feeds: out of the schedule; one still polling stays in the
	 * list until its poll ends (finish_poll frees it). */
	for (size_t i = 0; i < d->n_feeds; i++) {
		struct feed_rt *f = d->feeds[i];
		if (!f->removed)
			continue;
		ch.removed++;
		sched_remove(d->sched, &f->entry);
		if (f->poll) {
			/* Its cfg pointer must outlive the old configuration. */
			f->cfg = NULL;
			feeds[n++] = f;
		} else {
			feed_rt_free(d, f);
		}
	}
	free(d->feeds);
	d->feeds = feeds;
	d->n_feeds = n;
	feeds_index(d);
	return ch;
}

void feeds_sync_reloaded(struct daemon *d, const struct cfg *old)
{
	/* Indexed like the configuration: a new one is synced in full. */
	free(d->in_sync);
	d->in_sync = xcalloc(d->cfg->n_feeds ? d->cfg->n_feeds : 1, sizeof *d->in_sync);
	feeds_sync_config(d, false);
	for (size_t i = 0; i < old->n_feeds; i++)
		if (!cfg_feed_find(d->cfg, old->feeds[i].name))
			store_sync_feed(d->store, old->feeds[i].name, old->feeds[i].source->name,
					old->feeds[i].url, 0, false, d->cfg->group,
					d->cfg->written_us);
}
