/*
 * store: feedd's writer to PostgreSQL, on the daemon's libev loop.
 *
 * Everything is asynchronous: libpq in non-blocking mode, a watcher on its
 * socket, prepared statements sent in pipeline mode.  Submitted items
 * (articles, poll records, source and feed registrations) wait in a FIFO;
 * up to batch_size of them are sent as one batch, which is one implicit
 * transaction ending in a pipeline sync, and several batches may be in
 * flight.  Results are matched to what was sent through an explicit queue.
 *
 * Nothing accepted is dropped: when the connection breaks, every item of
 * every unfinished batch goes back to the front of the FIFO and is sent
 * again after reconnecting with exponential backoff.  The SQL functions
 * behind the statements are idempotent, so a batch that did commit before
 * the connection broke is harmless to send twice.  A batch the database
 * refuses for its data is split into single items so that one bad article
 * is rejected (and logged) alone.
 *
 * Before any round trip, an article is checked against the dedup set: one
 * already stored with the same content and linked to the same feed costs
 * nothing.
 */
#ifndef FEEDD_STORE_H
#define FEEDD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feedd/article.h" /* the items it takes */

struct ev_loop;
struct jitter;

enum store_page_outcome {
	STORE_PAGE_EXTRACTED, /* the first page of the article: merged in, no revision */
	STORE_PAGE_UNCHANGED, /* a revisit found the same content */
	STORE_PAGE_REVISED,   /* a revisit found new content: a new revision */
	STORE_PAGE_FAILED,    /* the failure was recorded (and a retry, if any) */
	STORE_PAGE_MISSING,   /* no such article */
	STORE_PAGE_REJECTED,  /* the database refused it; logged */
	STORE_PAGE_SPOOLED,   /* the database is away: in the spool, recorded later */
};

/* An article whose page is due, as claimed by store_claim_visits. */
struct store_visit {
	const char *source, *news_id, *url;
	int visits;   /* pages extracted before: 0 is the first visit */
	int attempts; /* failed attempts at this visit so far */
};

/* A feed's fetch state as stored, read back when the store connects. */
struct store_feed_state {
	const char *name, *url, *etag, *last_modified, *disabled_reason, *permanent_url;
	int64_t next_poll_us; /* STORE_TIME_NONE: never polled */
	int error_count;
	/* As registered (feedd.sync_feed): source name, interval (0: none). */
	const char *source;
	int interval_s;
	bool enabled;
	/* Registered by this group's configuration, written then
	 * (STORE_TIME_NONE: not known; sql/014_feed_groups.sql). */
	const char *group;
	int64_t config_at_us;
};

enum store_outcome {
	STORE_INSERTED,	 /* a new article */
	STORE_LINKED,	 /* known, same content, newly linked to this feed */
	STORE_UNCHANGED, /* known, same content, already linked: nothing written */
	STORE_REVISED,	 /* known, content changed: old version kept as a revision */
	STORE_DUPLICATE, /* answered by the dedup set: no round trip */
	STORE_REJECTED,	 /* the database refused it; logged */
	STORE_SPOOLED,	 /* the database is away: durably in the spool, stored later */
	STORE_FULL,	 /* the database is away and the spool is full: not accepted */
};

const char *store_outcome_name(enum store_outcome o);

struct store_config {
	const char *conninfo;
	int batch_size;		   /* items per batch (transaction) */
	int64_t batch_delay_ms;	   /* how long a partial batch may wait for more */
	int max_batches_in_flight; /* per connection */
	/* Connections to write over: articles are spread over them by a hash
	 * of source and news ID, everything else goes on the first (see
	 * store_int.h). */
	int connections;
	int64_t dedup_window_ms; /* warm the dedup set with articles first seen this recently */
	size_t dedup_max_entries;
	int64_t reconnect_min_ms, reconnect_max_ms;
	/* Spreads the reconnect backoff (+-20%); borrowed, NULL: the store
	 * seeds one of its own. */
	struct jitter *jitter;
	/* A server that does not answer for this long (connecting, or with
	 * commands sent and none of them answered: a stopped or wedged
	 * backend, which TCP keepalives do not notice) is left: what was sent
	 * is queued again (spooled) and the store reconnects. */
	int64_t stall_timeout_ms;
	/* Where articles, poll records and page visits go while the database
	 * is away (see spool.h), and its cap in bytes; NULL: no spool, they
	 * wait in memory. */
	const char *spool_dir;
	uint64_t spool_max_bytes;
	/* Warm the dedup set only when the first article is submitted, not
	 * while connecting: a pass of 304s (feedd once) never needs it. */
	bool warm_lazily;
	/* The sources whose recent articles the warm-up loads (those of the
	 * configuration: no other can be looked up), copied; NULL with 0: all
	 * of them.  A first ingestion of new sources into a database of
	 * millions of articles then waits for no warm-up at all. */
	char *const *warm_sources;
	size_t n_warm_sources;
};

/* Defaults: 200 items, 50 ms, 4 batches, 2 connections, 30 days, 1,000,000 entries, 0.25 s to 30 s,
 * a 10 minute stall timeout, no spool. */
void store_config_default(struct store_config *c);

struct store_handler {
	/* An article's fate, once final (after its transaction committed,
	 * or at once for STORE_DUPLICATE); a is freed after the call. */
	void (*on_article)(void *ctx, const struct store_article *a, enum store_outcome o);
	/* A poll record was committed (ok) or rejected. */
	void (*on_poll)(void *ctx, const struct store_poll *p, bool ok);
	/* The store became ready (connected, schema checked, statements
	 * prepared, dedup warmed) or lost its connection. */
	void (*on_state)(void *ctx, bool ready);
	/* Each feed's stored fetch state, while connecting, before on_state
	 * reports ready (only if set); the strings live during the call. */
	void (*on_feed_state)(void *ctx, const struct store_feed_state *st);
	void *ctx;
};

/* The answers to page work come to the callback given with each request,
 * not to the store_handler: the pages hear of their own work. */

/* A page visit's fate, once committed (revision: the article's), or once
 * the spool has it (STORE_PAGE_SPOOLED) or a full spool refused it
 * (STORE_PAGE_REJECTED); p is freed after the call.  A page read back from
 * the spool (after a restart, or once spooled) has no callback any more:
 * nothing is called for it. */
typedef void (*store_page_fn)(void *ctx, const struct store_page *p, enum store_page_outcome o,
			      int revision);
/* The answer to store_claim_visits, once committed (ok false: the claim
 * failed and was logged; v is then empty); v lives during the call. */
typedef void (*store_visits_fn)(void *ctx, const struct store_visit *v, size_t n, bool ok);

struct store_stats {
	uint64_t round_trips;	      /* pipeline syncs sent: one per batch or setup */
	uint64_t batches;	      /* item batches committed */
	uint64_t committed;	      /* items committed */
	uint64_t committed_elsewhere; /* of those, on connections after the first */
	uint64_t duplicates;	      /* articles answered by the dedup set */
	uint64_t rejected;	      /* items the database refused */
	uint64_t resent;	      /* items sent again after a broken connection */
	uint64_t connects;	      /* successful connections */
	uint64_t spooled;	      /* items written to the spool */
};

struct store;

/* A store on loop; it starts connecting at once. cfg and h are copied.
 * NULL (logged) when its spool directory holds segments that cannot be
 * read or is locked by another process: starting then would risk them. */
struct store *store_new(struct ev_loop *loop, const struct store_config *cfg,
			const struct store_handler *h);
/* Stops the watchers and frees everything, sent or not; call only from
 * outside the store's callbacks. */
void store_free(struct store *s);

/* Takes a (and hashes it if not done). Returns STORE_DUPLICATE when the dedup
 * set already knows it (a is freed at once, after on_article), else 0: queued. */
int store_submit_article(struct store *s, struct store_article *a);
/* A reload's batch_size and batch_delay, for the batches formed from now
 * on. */
void store_set_batching(struct store *s, int batch_size, int64_t batch_delay_ms);
/* Takes p. */
void store_submit_poll(struct store *s, struct store_poll *p);
/* Takes p; its fate goes to done(ctx, ...) (done may be NULL). */
void store_submit_page(struct store *s, struct store_page *p, store_page_fn done, void *ctx);
/* Claims up to limit articles of the named sources whose page is due, each
 * for lease_s seconds (feedd.claim_visits); the answer goes to
 * done(ctx, ...) (done may be NULL). */
void store_claim_visits(struct store *s, const char *const *sources, size_t n_sources, int limit,
			int lease_s, store_visits_fn done, void *ctx);
/* Hands claimed visits back (feedd.release_visits): news_ids[i] of
 * sources[i], due again at once.  Nothing is reported back. */
void store_release_visits(struct store *s, const char *const *sources, const char *const *news_ids,
			  size_t n);
/* Registers (upserts) a source or feed by name before articles refer to it.
 * Registrations are sent before anything else queued (in the order they
 * are made), so re-registering after the schema was re-created lets what
 * waits go in after them. */
void store_sync_source(struct store *s, const char *name, const char *home);
/* A feed as the configuration of group `group`, written at written_us (struct
 * cfg), declares it; feedd.sync_feed leaves a row that a newer configuration
 * or another group's enabled feed holds (sql/014_feed_groups.sql). */
void store_sync_feed(struct store *s, const char *name, const char *source, const char *url,
		     int interval_s, bool enabled, const char *group, int64_t written_us);

/* This process, for its row of feedd.instances (sql/016_instances.sql). */
struct store_instance {
	const char *id, *group, *host, *version;
	int pid, feeds;
	int64_t started_us, config_at_us; /* microseconds since the epoch */
	bool stopping;			  /* the last beat: marks the row stopped */
	/* > 0: the beat also renews the instance's feed leases to this many
	 * seconds (the last beat gives them all back); 0: it holds none. */
	int lease_s;
};
/* Creates or beats this process's row (and renews its leases): before
 * what is queued, the last beat (stopping) after it, so that the records
 * queued give their leases back first.  A beat is neither spooled nor
 * retried (the next one says the same), and one the database refuses is
 * only logged. */
void store_beat(struct store *s, const struct store_instance *in);

/* A claim of feed leases (feedd.claim_feeds, sql/017_feed_leases.sql): up
 * to limit feeds of group, due within horizon_ms (or scheduled beyond
 * max_interval_s, to be brought within it), leased to instance for lease_s
 * seconds; the leases it holds on the feeds in skip[0..n_skip) (its
 * configuration does not have them) are given back first. */
struct store_feed_claim {
	const char *instance, *group;
	const char *const *skip;
	size_t n_skip;
	int limit, lease_s, horizon_ms, max_interval_s;
	/* Also renew and return the feeds the instance holds already (first,
	 * beyond limit): for an instance that may have lost a claim's answer.
	 * A claim sent again after its connection was left asks so by itself. */
	bool mine;
};
/* The answer to store_claim_feeds, once committed: each feed leased, with
 * its fetch state (name, url, etag, last_modified, permanent_url,
 * next_poll_us, error_count; the rest unset); ok false: the claim failed
 * and was logged.  rows live during the call. */
typedef void (*store_feeds_fn)(void *ctx, const struct store_feed_state *rows, size_t n, bool ok);
/* Sends the claim before what is queued, alone in its transaction; the
 * answer goes to done(ctx, ...).  Waits in memory while the database is
 * away (never spooled). */
void store_claim_feeds(struct store *s, const struct store_feed_claim *c, store_feeds_fn done,
		       void *ctx);

/* Items accepted and not yet committed, in memory (queued plus in flight);
 * and those in the spool. */
size_t store_backlog(const struct store *s);
uint64_t store_spooled(const struct store *s);
/* Whether the spool refused an item since the database went away (it is
 * full); false again once it has room. */
bool store_spool_full(const struct store *s);
/* Articles, poll records and page results in memory that are not in the
 * spool (all of the backlog when there is no spool): what an exit would
 * lose if store_spool_all could not write them.  Walks the queue. */
size_t store_unspooled(const struct store *s);
/* Moves what waits in memory (queued or in flight) into the spool and
 * syncs it, before exiting with the database away or slow; in flight items
 * may be committed as well, which the store's semantics make harmless.
 * Returns how many could not be spooled. */
size_t store_spool_all(struct store *s);
bool store_ready(const struct store *s);
/* Why the database cannot take what waits, until a batch commits again
 * (NULL: nothing is wrong): the server's message and SQLSTATE.  *unusable
 * (if given) says whether it is the database's state (read-only, privileges,
 * schema: an admin must act) rather than a passing error. */
const char *store_problem(const struct store *s, bool *unusable);
/* How many times in a row the server has not answered within
 * stall_timeout (0 once it answers): 1 means the store left a connection
 * that stalled; 2 or more that reconnecting did not help either, which
 * the daemon reports to its watchdog by no longer confirming liveness. */
int store_stalls(const struct store *s);
/* A reload's stall_timeout, from the next wait on. */
void store_set_stall_timeout(struct store *s, int64_t ms);
void store_get_stats(const struct store *s, struct store_stats *out);
const struct dedup *store_dedup(const struct store *s);

#endif
