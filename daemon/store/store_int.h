/*
 * store_int: what the files of the store module share; nothing outside them
 * includes it.  The store (see store.h) is one module in five files:
 *
 *   store.c         the public interface: items taken in, bounded, queued
 *   store_conn.c    the connections and their pipelines: connecting and
 *                   setup, batches sent, results read back, stalls and
 *                   backoff
 *   store_result.c  what the answers mean: items committed, rejected or
 *                   sent again, failures classified by SQLSTATE
 *   store_sql.c     the statements: their SQL and their parameters as text
 *   store_spool.c   the spool, while the database is away
 *
 * Functions shared among these files carry the store_ prefix, as the public
 * ones do, and are declared here; everything else is static to its file.
 * The sent queue is walked only through sent_at, cmd_n_items and cmd_item.
 *
 * The store writes over store_connections connections, its lanes (issue
 * 14), all fed from the one queue.  Lane 0 carries everything: the setup
 * (schema check, dedup warm-up, feed states), registrations, poll records,
 * pages, claims, and the articles of its partition.  Every other lane k
 * carries only articles, those of partition k (a hash of source and news
 * ID), so one article's writes stay in order on one connection; it waits
 * while registrations are queued or in flight on lane 0 (an article of a
 * feed not yet registered is refused), and while lane 0 still has articles
 * of partition k in flight.  While lane k is not ready, lane 0 takes its
 * partition.  Lane 0 connects at start; the others when the queue first
 * holds more than a batch, so that a steady trickle of articles never
 * opens them.  The store is ready, and what is accepted goes to the queue
 * rather than the spool, when lane 0 is.
 */
#ifndef FEEDD_STORE_INT_H
#define FEEDD_STORE_INT_H

#include "feedd/jitter.h"
#include "feedd/list.h"
#include "feedd/spool.h"
#include "feedd/store.h"
#include "feedd/util.h"

#include <ev.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum item_kind {
	ITEM_ARTICLE,
	ITEM_POLL,
	ITEM_SOURCE,
	ITEM_FEED,
	ITEM_PAGE,
	ITEM_CLAIM,
	ITEM_RELEASE,
	ITEM_REJECTED,
	ITEM_INSTANCE,	 /* a beat of feedd.instances; never spooled, never rejected */
	ITEM_FEED_CLAIM, /* feed leases (feedd.claim_feeds); never spooled, never rejected */
};

/* A row for feedd.rejected: what the database refused, and why. */
struct rejected {
	char *kind, *source, *feed, *news_id, *url, *title, *sqlstate, *error;
	struct buf record; /* the item's spool encoding, as \x hex text; empty: none */
};

/* A claim of due page visits and, once answered, the rows it got; or a
 * release of claimed visits, news_ids[i] of sources[i]. */
struct claim {
	char **sources, **news_ids;
	size_t n_sources;
	int limit, lease_s;
	struct store_visit *rows; /* strings owned */
	size_t n_rows;
};

/* A claim of feed leases and, once answered, the rows it got (strings
 * owned). */
struct feed_claim {
	char *instance, *group;
	char **skip;
	size_t n_skip;
	int limit, lease_s, horizon_ms, max_interval_s;
	/* Return the leases the instance holds already too: asked by the
	 * caller, or set when the claim is sent again after its connection
	 * was left (the server may have committed it: sql/018). */
	bool mine;
	struct store_feed_state *rows;
	size_t n_rows;
};

struct item {
	enum item_kind kind;
	bool solo;	 /* send alone: its batch failed for its data */
	bool from_spool; /* read back from the spool, at pos */
	bool unchecked;	 /* an article not yet looked up in the dedup set */
	unsigned part;	 /* an article's partition: the lane that carries it */
	struct spool_pos pos;
	double queued_at; /* ev_now */
	union {
		struct store_article *article;
		struct store_poll *poll;
		struct store_page *page;
		struct claim *claim;
		struct feed_claim *feed_claim;
		struct rejected *rejected;
		struct {
			char *name, *home;
		} source;
		struct {
			char *name, *source, *url, *group;
			int interval_s;
			bool enabled;
			int64_t written_us;
		} feed;
		struct {
			char *id, *group, *host, *version;
			int pid, feeds;
			int64_t started_us, config_at_us;
			bool stopping;
			int lease_s;
		} instance;
	} u;
	/* Who hears of a page's (ITEM_PAGE) or a claim's (ITEM_CLAIM) fate,
	 * as given at submit; NULL for an item read back from the spool,
	 * whose submitter is gone. */
	union {
		store_page_fn page;
		store_visits_fn visits;
		store_feeds_fn feeds;
	} done;
	void *done_ctx;
	/* the result of the current attempt */
	enum store_outcome outcome;
	enum store_page_outcome page_outcome;
	int revision;
	bool failed;
	struct list_link link; /* in the queue or the sync list */
};

struct batch {
	bool setup;
	bool warm;   /* the dedup warm-up alone (store_config.warm_lazily) */
	bool settle; /* feedd.settle_statistics() alone */
	struct item **items;
	size_t n;
	/* the first failure in the batch, if any */
	char *error;
	char sqlstate[6];
	struct item *failed_item;
	bool schema_ok;
	double sent_at; /* ev_now when sent, for the debug log */
};

enum cmd_kind {
	CMD_VERSION,
	CMD_PREPARE,
	CMD_WARM,
	CMD_FEED_STATE,
	CMD_SETTLE,
	CMD_ITEM,
	CMD_POLLS,    /* batch->items[first .. first + count), all polls */
	CMD_ARTICLES, /* batch->items[first .. first + count), all articles */
	CMD_SYNC
};

struct cmd {
	enum cmd_kind kind;
	bool got_result;
	struct batch *batch;
	struct item *item;
	size_t first, count; /* CMD_POLLS, CMD_ARTICLES */
};

enum conn_state { ST_BACKOFF, ST_CONNECTING, ST_SETUP, ST_READY };

/* One connection of the store and its pipeline (see the head of this file). */
struct lane {
	struct store *s;
	unsigned index; /* 0: the main lane */
	char name[48];	/* for log lines: "database", "database connection 2" */
	char app[24];	/* application_name: "feedd", "feedd 2" */
	PGconn *conn;
	enum conn_state state;
	ev_io io;
	ev_timer retry; /* reconnect after backoff */
	ev_timer kick;	/* dispatch after batch_delay */
	ev_timer stall; /* no answer for stall_timeout (see watch_stall) */
	int stalls;	/* stalls in a row, without an answer between */
	int64_t backoff_ms;
	struct cmd *sent; /* ring of commands awaiting results */
	size_t sent_head, sent_count, sent_cap;
	int batches_in_flight;
	size_t n_in_flight;
	/* Lane 0: registrations in flight, and articles in flight by partition
	 * (those of other lanes' partitions taken while those lanes were
	 * away). */
	size_t regs_in_flight;
	size_t *part_in_flight;
	/* Articles inserted in this session, until feedd.settle_statistics()
	 * has been called in it (see sql/006_settle_statistics.sql). */
	size_t session_inserted;
	bool settled, settle_in_flight;
};

struct store {
	struct ev_loop *loop;
	struct store_config cfg;
	char *conninfo;
	char *warm_sources; /* a text[] literal of store_config.warm_sources, or NULL */
	struct store_handler h;

	struct lane **lanes; /* n_lanes of them; lanes[0] is the main lane */
	size_t n_lanes;
	struct jitter *jitter; /* the backoff's: cfg.jitter or own_jitter */
	struct jitter own_jitter;

	struct list queue; /* of items queued, not sent */
	size_t n_queued;
	/* The last of the registrations at the head of the queue (see
	 * push_registration); NULL: unknown, walk. */
	struct item *reg_last;

	struct dedup *dedup;
	bool warmed;
	bool warm_wanted, warm_in_flight; /* warm_lazily; on lane 0 */
	struct store_stats stats;

	/* While the database is away, spoolable items go to the spool; those
	 * appended wait in the sync list until the next loop iteration syncs
	 * them (one fdatasync for all), and only then count as accepted. */
	struct spool *spool;
	struct list syncing;
	size_t n_syncing;
	ev_prepare syncer;
	bool spool_full, spool_announced;
	struct buf rec;

	/* Why the database cannot take what waits (see enum failure), until
	 * a batch commits again; "" when nothing is wrong. */
	char problem[400];
	bool problem_unusable, problem_in_setup;
};

/* What a failed batch's SQLSTATE says about what to do next. */
enum failure {
	/* This item's data: the database will never take it (22 data
	 * exception, 23 integrity constraint, 54 program limit such as an
	 * index entry too large, P0 raised by a function for its arguments).
	 * The item is rejected alone; the others go on. */
	FAIL_DATA,
	/* The database cannot take writes as it is: read-only or a standby
	 * (25), privileges or the login (28, 42501), the schema or its objects
	 * gone (3F, 3D, 42P01, 42883, ...).  Nothing is rejected: everything
	 * is kept (spooled) and sent again after a backoff, no validators are
	 * stored, and the problem is said at error priority and in STATUS. */
	FAIL_UNUSABLE,
	/* Rolled back for another session's sake (40: a deadlock or a
	 * serialization failure, as several instances storing the same
	 * articles and feeds can meet): the batch is sent again as it was, on
	 * the same connection, at once. */
	FAIL_CONFLICT,
	/* Anything else (08 connection, 53 disk full or out of memory, 55
	 * lock not available, 57 statement timeout or shutdown, 58, XX, or no
	 * SQLSTATE at all): the same as UNUSABLE, said as a warning. */
	FAIL_RETRY,
};

/* ---- the sent queue, oldest first ---------------------------------------- */

static inline struct cmd *sent_peek(struct lane *l)
{
	return l->sent_count ? &l->sent[l->sent_head] : NULL;
}

static inline void sent_pop(struct lane *l)
{
	l->sent_head = (l->sent_head + 1) % l->sent_cap;
	l->sent_count--;
}

/* The i-th command of a lane's sent queue, oldest first. */
static inline struct cmd *sent_at(const struct lane *l, size_t i)
{
	return &l->sent[(l->sent_head + i) % l->sent_cap];
}

/* The main lane, whose state is the store's. */
static inline struct lane *main_lane(const struct store *s)
{
	return s->lanes[0];
}

/* The items whose result a sent command brings: its own (CMD_ITEM), a run
 * of its batch's polls or articles (CMD_POLLS, CMD_ARTICLES), or none.  For reading results only;
 * walks over the queue use batch_n_items. */
static inline size_t cmd_n_items(const struct cmd *c)
{
	return c->kind == CMD_ITEM				  ? 1
		: c->kind == CMD_POLLS || c->kind == CMD_ARTICLES ? c->count
								  : 0;
}

/* The i-th item (i < cmd_n_items(c)) whose result c brings. */
static inline struct item *cmd_item(const struct cmd *c, size_t i)
{
	return c->kind == CMD_ITEM ? c->item : c->batch->items[c->first + i];
}

/* The items a sent command stands for in a walk over the sent queue
 * (disconnect, store_free, the spool at exit): a batch's items belong to
 * its CMD_SYNC, its last command, until batch_done takes them; its item
 * commands carry none.  Walking the item commands instead lost a batch
 * whose first results had been read (and their commands popped) when the
 * connection died before its sync: its items were on no command left. */
static inline size_t batch_n_items(const struct cmd *c)
{
	return c->kind == CMD_SYNC && c->batch ? c->batch->n : 0;
}

/* The i-th item (i < batch_n_items(c)) c stands for. */
static inline struct item *batch_item(const struct cmd *c, size_t i)
{
	return c->batch->items[i];
}

/* ---- small things every file needs --------------------------------------- */

static inline bool spoolable(const struct item *it)
{
	return it->kind == ITEM_ARTICLE || it->kind == ITEM_POLL || it->kind == ITEM_PAGE;
}

/* The dedup set keeps the first 64 bits of the content hash. */
static inline uint64_t hash64(const char *hex)
{
	uint64_t v = 0;
	for (int i = 0; i < 16 && hex[i]; i++) {
		char c = hex[i];
		v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* ---- store_items.c: items, their bounds and the queue ---------------------- */

struct item *store_item_new(struct store *s, enum item_kind kind);
void store_item_free(struct item *it);
/* What an item is, for log lines. */
void store_item_describe(const struct item *it, char *out, size_t n);
/* Tell an article's, a poll record's or a page's owner how it ended, if
 * that owner asked to be told (the handler or callback is set). */
void store_tell_article(const struct store *s, const struct store_article *a, enum store_outcome o);
void store_tell_poll(const struct store *s, const struct store_poll *p, bool ok);
void store_tell_page(const struct item *it, enum store_page_outcome o, int revision);
void store_push_back(struct store *s, struct item *it);
/* A registration (source, feed): after the registrations already queued,
 * before everything else. */
void store_push_registration(struct store *s, struct item *it);
/* Puts items[0..n) back at the front, in that order. */
void store_push_front(struct store *s, struct item **items, size_t n);
struct item *store_pop_front(struct store *s);
/* Takes it, queued anywhere, out of the queue. */
void store_take(struct store *s, struct item *it);
static inline bool store_is_registration(const struct item *it)
{
	return it->kind == ITEM_SOURCE || it->kind == ITEM_FEED;
}
/* An article's partition among n lanes: a hash of its source and news ID. */
unsigned store_partition(const struct store_article *a, size_t n);
/* The first item queued, or NULL. */
static inline struct item *store_first(const struct store *s)
{
	return LIST_FIRST(&s->queue, struct item, link);
}
void store_claim_rows_free(struct claim *c);
void store_feed_claim_rows_free(struct feed_claim *c);
/* A news ID and tags within what the database's indexes take. */
void store_bound_news_id(char **id);
void store_bound_tags(char **tags, size_t *n);
void store_batch_free(struct batch *b);

/* ---- store_conn.c: the connections and their pipelines ------------------- */

/* The lanes, their watchers and the jitter's seed, once, before anything
 * else. */
void store_conn_init(struct store *s);
/* PQconnectStartParams on conninfo with the parameters feedd sets unless
 * conninfo does (keepalives, timeouts, application_name, which is name):
 * for the store's connection ("feedd") and the search indexer's ("feedd
 * indexer", indexer.c). */
PGconn *store_conn_start(const char *conninfo, const char *name);
/* Stops the watchers, frees what was sent and closes the connections. */
void store_conn_close(struct store *s);
/* Lane 0 connects (the others when there is a backlog). */
void store_connect(struct store *s);
/* Drops a lane's connection; everything sent on it and not committed is
 * queued again, first[0..n_first) (items already off the sent queue) in
 * front. */
void store_drop_connection(struct lane *l, struct item **first, size_t n_first, const char *why);
/* Arms an immediate dispatch on every lane; submit never sends from the
 * caller's stack. */
void store_poke(struct store *s);

/* ---- store_result.c: what the answers mean ------------------------------- */

/* One result of the command c. */
void store_handle_result(struct store *s, struct cmd *c, PGresult *r);
/* What a batch's answer asks of the connection: to be dropped, its items
 * sent again first (items[0..n), owned), for the reason why. */
struct drop_request {
	struct item **items;
	size_t n;
	char why[800];
};
/* A batch of items (or the warm-up or the settling alone) was answered to
 * its sync: committed, or failed as b->error says.  Returns true when the
 * database cannot take it now: the connection must then be dropped as *drop
 * says (store_drop_connection, then free drop->items); the caller does that,
 * so that what the answers mean (store_result.c) never reaches back into the
 * connection (store_conn.c). */
bool store_batch_done(struct lane *l, struct batch *b, struct drop_request *drop);
/* Remembers why the database cannot take what waits, for STATUS. */
void store_set_problem(struct store *s, enum failure f, const char *error, const char *sqlstate,
		       bool in_setup);

/* ---- store_sql.c: the statements ----------------------------------------- */

/* Each sends one command on c (pipeline mode) and says whether libpq took
 * it; the caller records it in the sent queue. */
bool store_sql_send_version(PGconn *c);
/* The statements prepared on every connection, and the i-th one's PREPARE. */
size_t store_sql_n_statements(void);
bool store_sql_send_prepare(PGconn *c, size_t i);
/* Appends a PostgreSQL text[] literal of v to out: {"a","b \" c"}. */
void store_sql_text_array(char *const *v, size_t n, struct buf *out);
/* sources: a text[] literal of the sources to load, NULL for all. */
bool store_sql_send_warm(PGconn *c, int64_t dedup_window_ms, const char *sources);
bool store_sql_send_feed_state(PGconn *c);
bool store_sql_send_settle(PGconn *c);
bool store_sql_send_item(PGconn *c, const struct item *it);
/* items[0..n), polls, at least two, as one feedd.record_fetches call. */
bool store_sql_send_polls(PGconn *c, struct item *const *items, size_t n);
/* items[0..n), articles, at least two, as one feedd.store_articles call:
 * one row (item, outcome, revision) per article. */
bool store_sql_send_articles(PGconn *c, struct item *const *items, size_t n);

/* ---- store_spool.c: the spool -------------------------------------------- */

/* The sync watcher and, with spool_dir set, the spool; -1 (logged) when
 * the store must not start. */
int store_spool_init(struct store *s);
/* Frees what waits for its sync and closes the spool. */
void store_spool_close(struct store *s);

enum spooled { SPOOLED, KEEP, REFUSED };

/* Appends a spoolable item to the spool; SPOOLED (it waits in the sync
 * list), KEEP (writing failed: the caller keeps it in memory) or REFUSED
 * (the spool is full: it was refused and freed). */
enum spooled store_spool_item(struct store *s, struct item *it);
/* The database went away: what waits in the queue goes to the spool. */
void store_spool_queued(struct store *s);
/* Reads spooled records into the queue, up to a window. */
void store_spool_refill(struct store *s);
/* Appends the item's spool record to out as \x hex text, for feedd.rejected. */
void store_record_hex(struct store *s, const struct item *it, struct buf *out);

#endif
