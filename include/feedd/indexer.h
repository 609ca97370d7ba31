/*
 * indexer: fills the articles' full-text search vector off the critical
 * path (issue 14; sql/013_search_off_path.sql).  The store inserts articles
 * with articles.search NULL; the indexer, on a PostgreSQL connection of its
 * own on the daemon's loop, calls feedd.index_search() in bulk: a second
 * after it is poked (articles were committed), at once again while a call
 * finds a full batch, and every few seconds otherwise, so that whatever an
 * earlier run left (a crash, a stop) is caught up at start.  On the second
 * CPU this runs beside the store's own writes instead of inside them.  A
 * backlog (a call that finds a full batch) is worked off by every worker,
 * each on a connection of its own, on disjoint rows.
 *
 * A database that is away is tried again with a backoff; nothing is lost
 * meanwhile: the rows wait with search NULL.  The lag (how long the oldest
 * article still without a vector has waited) is what STATUS shows.
 */
#ifndef FEEDD_INDEXER_H
#define FEEDD_INDEXER_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

struct indexer;

/* workers: connections (at least 1; feedd uses store_connections).
 * on_idle(ctx): the indexer found nothing left to index after the last
 * poke (for `feedd once`, which waits for that before it exits).
 * store_busy(ctx) (may be NULL): the store has articles to write; a call
 * waits while it does, until the oldest article without a vector has
 * waited 5 s, so that a burst is written first and indexed after. */
struct indexer *indexer_new(struct ev_loop *loop, const char *conninfo, size_t workers,
			    void (*on_idle)(void *ctx), bool (*store_busy)(void *ctx), void *ctx);
void indexer_free(struct indexer *ix);
/* How long a connection attempt may go unanswered before it is left and
 * made again after the backoff (libpq's asynchronous connect does not
 * apply connect_timeout); feedd uses [database] stall_timeout.  Default
 * 600 s; an attempt under way gets the new limit from now. */
void indexer_set_connect_timeout(struct indexer *ix, double seconds);
/* on: keep polls' partitions too (`feedd run`; sql/019_polls_partitioned.sql):
 * feedd.maintain_polls(retention_s) once connected, every hour after (every
 * 5 minutes after a failure, which is logged once), between two calls of
 * the first worker.  A change calls it at once, or after the call in flight. */
void indexer_set_polls_upkeep(struct indexer *ix, bool on, long long retention_s);
/* The article retention, applied by the upkeep above (so only while it is
 * on): after each feedd.maintain_polls, and at once after a call of this,
 * feedd.prune_articles deletes the articles of sources[i] published more
 * than keep_s[i] seconds ago, 1,000 a call, until a call finds fewer
 * (sql/functions/articles.sql); the total is logged.  n = 0: none (every
 * article is kept).  The arrays are copied. */
void indexer_set_article_retention(struct indexer *ix, char *const *sources,
				   const long long *keep_s, size_t n);
/* Articles were committed: index them soon. */
void indexer_poke(struct indexer *ix);
/* Nothing poked since the last call that found nothing left, and no call
 * in flight; also true while the database is away (the next start catches
 * up).  Not before the catch-up call made at connection time has answered:
 * a start counts as a poke, so that `feedd once` with nothing new still
 * fills the vectors an earlier run left empty. */
bool indexer_idle(const struct indexer *ix);
/* Seconds the oldest article without a vector has waited, as of the last
 * answer (0: none waiting); -1 while the database cannot be asked. */
double indexer_lag(const struct indexer *ix);

#endif
