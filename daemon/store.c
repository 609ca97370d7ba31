/*
 * store: asynchronous, pipelined writes to PostgreSQL (see store.h).
 *
 * The connection is a small state machine (backoff -> connecting -> setup ->
 * ready).  Every command sent is recorded in the `sent` queue in the order
 * libpq will return its results, so each result finds what it belongs to:
 * the schema check, a PREPARE, the dedup warm-up, one item of a batch, or
 * the sync that ends a batch.  Commit is learnt from the sync: only then
 * are items final, remembered in the dedup set and reported.
 */
#include "feedd/store.h"

#include "feedd/date.h"
#include "feedd/dedup.h"
#include "feedd/log.h"
#include "feedd/migrate.h"
#include "feedd/record.h"
#include "feedd/spool.h"
#include "feedd/util.h"

#include <ev.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const char *const sql_version =
	"SELECT coalesce(max(version), 0) FROM feedd.schema_migrations";
static const char *const sql_article =
	"SELECT article_id, outcome, revision FROM feedd.store_article($1, $2, $3, $4, $5, $6, "
	"$7, $8, $9::text[], $10::timestamptz, $11, $12, $13, $14::timestamptz, $15::bool)";
static const char *const sql_page =
	"SELECT article_id, outcome, revision FROM feedd.record_page($1, $2, $3, $4, $5, $6, $7, "
	"$8, $9::text[], $10::timestamptz, $11::timestamptz, $12, $13, $14, $15, "
	"$16::timestamptz, $17::timestamptz, $18::int[])";
/* The same for an article or page whose claimed publication time was not
 * taken (see STORE_FUTURE_S; sql/010): the claim is the last parameter. */
static const char *const sql_article_claimed =
	"SELECT article_id, outcome, revision FROM feedd.store_article_claimed($1, $2, $3, $4, "
	"$5, $6, $7, $8, $9::text[], $10::timestamptz, $11, $12, $13, $14::timestamptz, "
	"$15::bool, $16::timestamptz)";
static const char *const sql_page_claimed =
	"SELECT article_id, outcome, revision FROM feedd.record_page_claimed($1, $2, $3, $4, $5, "
	"$6, $7, $8, $9::text[], $10::timestamptz, $11::timestamptz, $12, $13, $14, $15, "
	"$16::timestamptz, $17::timestamptz, $18::int[], $19::timestamptz)";
static const char *const sql_release = "SELECT feedd.release_visits($1::text[], $2::text[])";
static const char *const sql_claim = "SELECT source, news_id, url, visits, attempts "
				     "FROM feedd.claim_visits($1::text[], $2::int, $3::int)";
static const char *const sql_poll =
	"SELECT feedd.record_fetch($1, $2::timestamptz, $3::int, $4::int, $5::bigint, $6::int, "
	"$7::int, $8, $9, $10, $11::timestamptz, $12, $13)";
/* The consecutive polls of a batch, in one statement (sql/007). */
static const char *const sql_polls =
	"SELECT feedd.record_fetches($1::text[], $2::timestamptz[], $3::int[], $4::int[], "
	"$5::bigint[], $6::int[], $7::int[], $8::text[], $9::text[], $10::text[], "
	"$11::timestamptz[], $12::text[], $13::text[])";
static const char *const sql_feed_state =
	"SELECT name, url, etag, last_modified, "
	"(extract(epoch FROM next_poll_at) * 1000000)::bigint, error_count, disabled_reason, "
	"permanent_url, enabled, source, interval_s FROM feedd.feed_state";
static const char *const sql_settle = "SELECT feedd.settle_statistics()";
/* An item the database refused for its data, kept for inspection (sql/009). */
static const char *const sql_rejected =
	"INSERT INTO feedd.rejected (kind, source, feed, news_id, url, title, sqlstate, error, "
	"record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::bytea)";
static const char *const sql_source = "SELECT feedd.sync_source($1, $2)";
static const char *const sql_feed = "SELECT feedd.sync_feed($1, $2, $3, $4::int, $5::bool)";
/* Newest last, so that the dedup set's eviction keeps the newest. */
static const char *const sql_warm =
	"SELECT s.name, a.news_id, a.content_hash, f.name FROM feedd.articles a "
	"JOIN feedd.sources s ON s.id = a.source_id "
	"LEFT JOIN feedd.article_feeds af ON af.source_id = a.source_id AND af.article_id = a.id "
	"LEFT JOIN feedd.feeds f ON f.id = af.feed_id "
	"WHERE a.first_seen_at >= now() - make_interval(secs => $1::double precision) "
	"ORDER BY a.first_seen_at, a.id";

static const struct {
	const char *name;
	const char *const *sql;
} statements[] = {
	{"feedd_article", &sql_article},
	{"feedd_poll", &sql_poll},
	{"feedd_source", &sql_source},
	{"feedd_feed", &sql_feed},
	{"feedd_page", &sql_page},
	{"feedd_claim", &sql_claim},
	{"feedd_release", &sql_release},
	{"feedd_polls", &sql_polls},
	{"feedd_rejected", &sql_rejected},
	{"feedd_article_claimed", &sql_article_claimed},
	{"feedd_page_claimed", &sql_page_claimed},
};

enum item_kind {
	ITEM_ARTICLE,
	ITEM_POLL,
	ITEM_SOURCE,
	ITEM_FEED,
	ITEM_PAGE,
	ITEM_CLAIM,
	ITEM_RELEASE,
	ITEM_REJECTED,
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

struct item {
	enum item_kind kind;
	bool solo;	 /* send alone: its batch failed for its data */
	bool from_spool; /* read back from the spool, at pos */
	bool unchecked;	 /* an article not yet looked up in the dedup set */
	struct spool_pos pos;
	double queued_at; /* ev_now */
	union {
		struct store_article *article;
		struct store_poll *poll;
		struct store_page *page;
		struct claim *claim;
		struct rejected *rejected;
		struct {
			char *name, *home;
		} source;
		struct {
			char *name, *source, *url;
			int interval_s;
			bool enabled;
		} feed;
	} u;
	/* the result of the current attempt */
	enum store_outcome outcome;
	enum store_page_outcome page_outcome;
	int revision;
	bool failed;
	struct item *next;
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
	CMD_POLLS, /* batch->items[first .. first + count), all polls */
	CMD_SYNC
};

struct cmd {
	enum cmd_kind kind;
	bool got_result;
	struct batch *batch;
	struct item *item;
	size_t first, count; /* CMD_POLLS */
};

enum conn_state { ST_BACKOFF, ST_CONNECTING, ST_SETUP, ST_READY };

struct store {
	struct ev_loop *loop;
	struct store_config cfg;
	char *conninfo;
	struct store_handler h;

	PGconn *conn;
	enum conn_state state;
	ev_io io;
	ev_timer retry; /* reconnect after backoff */
	ev_timer kick;	/* dispatch after batch_delay */
	ev_timer stall; /* no answer for stall_timeout (see watch_stall) */
	int stalls;	/* stalls in a row, without an answer between */
	int64_t backoff_ms;

	struct item *head, *tail; /* queued, not sent */
	size_t n_queued;
	/* The last of the registrations at the head of the queue (see
	 * push_registration); NULL: unknown, walk. */
	struct item *reg_last;
	struct cmd *sent; /* ring of commands awaiting results */
	size_t sent_head, sent_count, sent_cap;
	int batches_in_flight;
	size_t n_in_flight;

	struct dedup *dedup;
	bool warmed;
	bool warm_wanted, warm_in_flight; /* warm_lazily */
	/* Articles inserted in this session, until feedd.settle_statistics()
	 * has been called in it (see sql/006_settle_statistics.sql). */
	size_t session_inserted;
	bool settled, settle_in_flight;
	struct store_stats stats;

	/* While the database is away, spoolable items go to the spool; those
	 * appended wait in the sync list until the next loop iteration syncs
	 * them (one fdatasync for all), and only then count as accepted. */
	struct spool *spool;
	struct item *sync_head, *sync_tail;
	size_t n_syncing;
	ev_prepare syncer;
	bool spool_full, spool_announced;
	struct buf rec;

	/* Why the database cannot take what waits (see enum failure), until
	 * a batch commits again; "" when nothing is wrong. */
	char problem[400];
	bool problem_unusable, problem_in_setup;
};

const char *store_page_outcome_name(enum store_page_outcome o)
{
	static const char *const names[] = {"extracted", "unchanged", "revised", "failed",
					    "missing",	 "rejected",  "spooled"};
	return (size_t)o < ARRAY_LEN(names) ? names[o] : "?";
}

const char *store_outcome_name(enum store_outcome o)
{
	static const char *const names[] = {
		"inserted",  "linked",	 "unchanged", "revised",
		"duplicate", "rejected", "spooled",   "refused: spool full"};
	return (size_t)o < ARRAY_LEN(names) ? names[o] : "?";
}

void store_config_default(struct store_config *c)
{
	c->conninfo = "postgresql:///feedd";
	c->batch_size = 200;
	c->batch_delay_ms = 50;
	c->max_batches_in_flight = 4;
	c->dedup_window_ms = 30LL * 24 * 3600 * 1000;
	c->dedup_max_entries = 1000000;
	c->reconnect_min_ms = 250;
	c->reconnect_max_ms = 30000;
	c->stall_timeout_ms = 600000;
	c->spool_dir = NULL;
	c->spool_max_bytes = 0;
	c->warm_lazily = false;
}

/* ---- claims --------------------------------------------------------------- */

static void claim_rows_free(struct claim *c)
{
	for (size_t i = 0; i < c->n_rows; i++) {
		free((char *)c->rows[i].source);
		free((char *)c->rows[i].news_id);
		free((char *)c->rows[i].url);
	}
	free(c->rows);
	c->rows = NULL;
	c->n_rows = 0;
}

static void claim_free(struct claim *c)
{
	claim_rows_free(c);
	strv_free(c->sources, c->n_sources);
	strv_free(c->news_ids, c->n_sources);
	free(c);
}

/* The dedup set keeps the first 64 bits of the content hash. */
static uint64_t hash64(const char *hex)
{
	uint64_t v = 0;
	for (int i = 0; i < 16 && hex[i]; i++) {
		char c = hex[i];
		v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* ---- bounds --------------------------------------------------------------- */

/* What a news ID, a tag and a tag list may be before the database sees
 * them.  PostgreSQL's btree and GIN entries are limited to about 2.7 kB; a
 * value over that fails its insert for good (SQLSTATE 54000).  A longer
 * news ID keeps its first bytes and gets the hash of the whole, so that two
 * long IDs that differ only at their end stay apart and the same ID always
 * maps to the same value. */
#define NEWS_ID_MAX 512
#define NEWS_ID_KEEP 400
#define TAG_MAX 256
#define TAGS_MAX 100

/* The length of s's first bytes, at most max, that end on a UTF-8
 * character boundary. */
static size_t utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* *id, bounded to NEWS_ID_MAX bytes (see above). */
static void bound_news_id(char **id)
{
	if (!*id || strlen(*id) <= NEWS_ID_MAX)
		return;
	XXH128_hash_t h = XXH3_128bits(*id, strlen(*id));
	size_t keep = utf8_prefix(*id, NEWS_ID_KEEP);
	char *b = xmalloc(keep + 1 + 32 + 1);
	memcpy(b, *id, keep);
	snprintf(b + keep, 34, "#%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
	LOG_WARN("news ID of %zu bytes shortened to %s", strlen(*id), b);
	free(*id);
	*id = b;
}

/* Tags cut to TAG_MAX bytes each and TAGS_MAX in all. */
static void bound_tags(char **tags, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		tags[i][utf8_prefix(tags[i], TAG_MAX)] = '\0';
	while (*n > TAGS_MAX)
		free(tags[--*n]);
}

/* ---- the FIFO of items ------------------------------------------------- */

static struct item *item_new(struct store *s, enum item_kind kind)
{
	struct item *it = xcalloc(1, sizeof *it);
	it->kind = kind;
	it->queued_at = ev_now(s->loop);
	return it;
}

static void item_free(struct item *it)
{
	switch (it->kind) {
	case ITEM_ARTICLE:
		store_article_free(it->u.article);
		break;
	case ITEM_POLL:
		store_poll_free(it->u.poll);
		break;
	case ITEM_SOURCE:
		free(it->u.source.name);
		free(it->u.source.home);
		break;
	case ITEM_FEED:
		free(it->u.feed.name);
		free(it->u.feed.source);
		free(it->u.feed.url);
		break;
	case ITEM_PAGE:
		store_page_free(it->u.page);
		break;
	case ITEM_CLAIM:
	case ITEM_RELEASE:
		claim_free(it->u.claim);
		break;
	case ITEM_REJECTED: {
		struct rejected *r = it->u.rejected;
		free(r->kind);
		free(r->source);
		free(r->feed);
		free(r->news_id);
		free(r->url);
		free(r->title);
		free(r->sqlstate);
		free(r->error);
		buf_free(&r->record);
		free(r);
		break;
	}
	}
	free(it);
}

/* What an item is, for log lines. */
static void item_describe(const struct item *it, char *out, size_t n)
{
	switch (it->kind) {
	case ITEM_ARTICLE:
		snprintf(out, n, "article %s/%s (feed %s)", it->u.article->source,
			 it->u.article->news_id, it->u.article->feed);
		break;
	case ITEM_POLL:
		snprintf(out, n, "poll record of feed %s", it->u.poll->feed);
		break;
	case ITEM_SOURCE:
		snprintf(out, n, "source %s", it->u.source.name);
		break;
	case ITEM_FEED:
		snprintf(out, n, "feed %s", it->u.feed.name);
		break;
	case ITEM_PAGE:
		snprintf(out, n, "page of article %s/%s", it->u.page->source, it->u.page->news_id);
		break;
	case ITEM_CLAIM:
		snprintf(out, n, "a claim of %d page visits", it->u.claim->limit);
		break;
	case ITEM_RELEASE:
		snprintf(out, n, "a release of %zu claimed page visits", it->u.claim->n_sources);
		break;
	case ITEM_REJECTED:
		snprintf(out, n, "the feedd.rejected row of a %s", it->u.rejected->kind);
		break;
	}
}

static void push_back(struct store *s, struct item *it)
{
	it->next = NULL;
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	s->n_queued++;
}

/* Puts items[0..n) back at the front, in that order. */
static void push_front(struct store *s, struct item **items, size_t n)
{
	s->reg_last = NULL;
	for (size_t i = n; i-- > 0;) {
		items[i]->next = s->head;
		s->head = items[i];
		if (!s->tail)
			s->tail = items[i];
		s->n_queued++;
	}
}

static struct item *pop_front(struct store *s)
{
	struct item *it = s->head;
	if (!it)
		return NULL;
	s->head = it->next;
	if (!s->head)
		s->tail = NULL;
	if (it == s->reg_last)
		s->reg_last = NULL;
	it->next = NULL;
	s->n_queued--;
	return it;
}

static bool is_registration(const struct item *it)
{
	return it->kind == ITEM_SOURCE || it->kind == ITEM_FEED;
}

/* Registrations (sources, feeds) go before everything else queued, in the
 * order they come: an article or a poll record of a feed the database does
 * not know is refused for it.  That matters when the schema was dropped and
 * migrated again while feedd ran: the daemon registers everything anew, and
 * what waits (spooled articles, poll records) goes in after it. */
static void push_registration(struct store *s, struct item *it)
{
	struct item *prev = s->reg_last;
	if (!prev)
		for (struct item *x = s->head; x && is_registration(x); x = x->next)
			prev = x;
	if (prev) {
		it->next = prev->next;
		prev->next = it;
	} else {
		it->next = s->head;
		s->head = it;
	}
	if (!it->next)
		s->tail = it;
	s->reg_last = it;
	s->n_queued++;
}

/* ---- stalls --------------------------------------------------------------- */

/* Whether the store waits for the server: connecting, or commands sent
 * and not all answered. */
static bool waiting(const struct store *s)
{
	return s->conn && (s->state == ST_CONNECTING || s->sent_count > 0);
}

/* Called whenever what the store waits for may have changed; answered:
 * the server has just said something.  The stall timer runs while the
 * store waits, stall_timeout from the last answer (or from when the wait
 * began); on_stall leaves the connection when it expires. */
static void watch_stall(struct store *s, bool answered)
{
	if (answered)
		s->stalls = 0;
	if (!waiting(s)) {
		ev_timer_stop(s->loop, &s->stall);
		return;
	}
	if (answered || !ev_is_active(&s->stall)) {
		s->stall.repeat = (double)s->cfg.stall_timeout_ms / 1000.0;
		ev_timer_again(s->loop, &s->stall);
	}
}

static void drop_connection(struct store *s, struct item **first, size_t n_first, const char *why);

static void on_stall(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct store *s = w->data;
	ev_timer_stop(loop, w);
	s->stalls++;
	char why[200];
	if (s->state == ST_CONNECTING)
		snprintf(why, sizeof why, "no answer from the server for %.0f s while connecting",
			 (double)s->cfg.stall_timeout_ms / 1000.0);
	else
		snprintf(why, sizeof why, "no answer from the server for %.0f s to %zu commands",
			 (double)s->cfg.stall_timeout_ms / 1000.0, s->sent_count);
	LOG_ERR("database: %s (stall %d in a row); leaving the connection, everything is kept", why,
		s->stalls);
	snprintf(s->problem, sizeof s->problem, "%s", why);
	s->problem_unusable = false;
	drop_connection(s, NULL, 0, why);
}

int store_stalls(const struct store *s)
{
	return s->stalls;
}

void store_set_stall_timeout(struct store *s, int64_t ms)
{
	s->cfg.stall_timeout_ms = ms < 1 ? 1 : ms;
}

/* ---- the queue of commands sent ----------------------------------------- */

static void sent_push(struct store *s, enum cmd_kind kind, struct batch *b, struct item *it)
{
	if (s->sent_count == s->sent_cap) {
		size_t cap = s->sent_cap ? s->sent_cap * 2 : 64;
		struct cmd *ring = xcalloc(cap, sizeof *ring);
		for (size_t i = 0; i < s->sent_count; i++)
			ring[i] = s->sent[(s->sent_head + i) % s->sent_cap];
		free(s->sent);
		s->sent = ring;
		s->sent_cap = cap;
		s->sent_head = 0;
	}
	s->sent[(s->sent_head + s->sent_count) % s->sent_cap] =
		(struct cmd){.kind = kind, .batch = b, .item = it};
	s->sent_count++;
	watch_stall(s, false);
}

static struct cmd *sent_peek(struct store *s)
{
	return s->sent_count ? &s->sent[s->sent_head] : NULL;
}

static void sent_pop(struct store *s)
{
	s->sent_head = (s->sent_head + 1) % s->sent_cap;
	s->sent_count--;
}

/* The i-th command of the sent queue, oldest first. */
static struct cmd *sent_at(const struct store *s, size_t i)
{
	return &s->sent[(s->sent_head + i) % s->sent_cap];
}

/* How many items a sent command carries: its own (CMD_ITEM), a run of its
 * batch's polls (CMD_POLLS), or none.  With cmd_item, the one way to walk
 * the items of the sent queue: every walk (disconnect, store_free, the
 * spool at exit) must see every kind of command that carries items. */
static size_t cmd_n_items(const struct cmd *c)
{
	return c->kind == CMD_ITEM ? 1 : c->kind == CMD_POLLS ? c->count : 0;
}

/* The i-th item (i < cmd_n_items(c)) that c carries. */
static struct item *cmd_item(const struct cmd *c, size_t i)
{
	return c->kind == CMD_ITEM ? c->item : c->batch->items[c->first + i];
}

static struct batch *batch_new(bool setup)
{
	struct batch *b = xcalloc(1, sizeof *b);
	b->setup = setup;
	return b;
}

static void batch_free(struct batch *b)
{
	free(b->items);
	free(b->error);
	free(b);
}

static void batch_fail(struct batch *b, struct item *it, const PGresult *r, const char *fallback)
{
	if (b->error)
		return;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	b->error = xstrdup(msg ? msg : fallback);
	snprintf(b->sqlstate, sizeof b->sqlstate, "%s", state ? state : "");
	b->failed_item = it;
}

/* ---- the connection ---------------------------------------------------- */

static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void dispatch(struct store *s);
static void spool_queued(struct store *s);
static void flush(struct store *s);

static void watch(struct store *s, int fd, int events)
{
	if (ev_is_active(&s->io) && s->io.fd == fd && s->io.events == events)
		return;
	ev_io_stop(s->loop, &s->io);
	if (fd < 0)
		return;
	ev_io_set(&s->io, fd, events);
	ev_io_start(s->loop, &s->io);
}

static void schedule_reconnect(struct store *s)
{
	int64_t ms = s->backoff_ms;
	/* +-20% so that many instances do not reconnect in step. */
	ms += (int64_t)((double)ms * 0.4 * ((double)rand() / RAND_MAX - 0.5));
	s->backoff_ms = s->backoff_ms * 2 > s->cfg.reconnect_max_ms ? s->cfg.reconnect_max_ms
								    : s->backoff_ms * 2;
	ev_timer_stop(s->loop, &s->retry);
	ev_timer_set(&s->retry, (double)ms / 1000.0, 0.);
	ev_timer_start(s->loop, &s->retry);
	LOG_INFO("database: reconnecting in %.1f s", (double)ms / 1000.0);
}

/* Drops the connection; everything sent and not committed is queued again,
 * in its original order, in front of what was never sent: first[0..n_first)
 * (the items of a batch already taken off the sent queue, which were sent
 * before everything still on it), then the sent queue's. */
static void drop_connection(struct store *s, struct item **first, size_t n_first, const char *why)
{
	bool was_ready = s->state == ST_READY;
	size_t n = n_first, cap = n_first;
	struct item **items = n_first ? xmalloc(n_first * sizeof *items) : NULL;
	for (size_t i = 0; i < n_first; i++) {
		first[i]->failed = false;
		items[i] = first[i];
	}
	while (s->sent_count) {
		struct cmd *c = sent_peek(s);
		for (size_t i = 0; i < cmd_n_items(c); i++) {
			struct item *it = cmd_item(c, i);
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				items = xrealloc(items, cap * sizeof *items);
			}
			it->failed = false;
			items[n++] = it;
		}
		if (c->kind == CMD_SYNC)
			batch_free(c->batch);
		sent_pop(s);
	}
	push_front(s, items, n);
	free(items);
	s->stats.resent += n;
	s->batches_in_flight = 0;
	s->n_in_flight = 0;
	s->warm_in_flight = false;
	s->settle_in_flight = false;

	ev_io_stop(s->loop, &s->io);
	ev_timer_stop(s->loop, &s->kick);
	ev_timer_stop(s->loop, &s->stall);
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
	s->state = ST_BACKOFF;
	if (was_ready || n)
		LOG_WARN("database: %s; %zu items will be sent again, %zu queued", why, n,
			 s->n_queued);
	else
		LOG_WARN("database: %s", why);
	if (s->spool)
		spool_queued(s);
	if (was_ready && s->h.on_state)
		s->h.on_state(s->h.ctx, false);
	schedule_reconnect(s);
}

static void disconnect(struct store *s, const char *why)
{
	drop_connection(s, NULL, 0, why);
}

/* libpq's messages end in newlines and may span lines; keep the first. */
static const char *first_line(PGconn *conn, char *buf, size_t n)
{
	snprintf(buf, n, "%s", conn ? PQerrorMessage(conn) : "out of memory");
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static void lost(struct store *s, const char *what)
{
	char msg[512], line[400];
	snprintf(msg, sizeof msg, "%s: %s", what, first_line(s->conn, line, sizeof line));
	disconnect(s, msg);
}

/* Connection parameters feedd sets unless the configured conninfo sets
 * them itself (it is expanded after these, and a later value wins): TCP
 * keepalives and a TCP user timeout, so that a half-open connection (a
 * server gone without a word) is noticed within about a minute instead of
 * the kernel's two hours; a lock_timeout, so that a lock held by someone
 * else fails the batch (and it is retried after a backoff) instead of
 * stalling every write behind it; a statement_timeout against anything
 * else that never returns.  Ignored on a Unix socket. */
static const char *const conn_keys[] = {"keepalives",
					"keepalives_idle",
					"keepalives_interval",
					"keepalives_count",
					"tcp_user_timeout",
					"options",
					"dbname",
					NULL};
static const char *const conn_defaults[] = {
	"1", "30", "10", "3", "60000", "-c statement_timeout=300s -c lock_timeout=60s"};

static void connect_start(struct store *s)
{
	const char *values[ARRAY_LEN(conn_keys)];
	memcpy(values, conn_defaults, sizeof conn_defaults);
	values[ARRAY_LEN(conn_keys) - 2] = s->conninfo;
	values[ARRAY_LEN(conn_keys) - 1] = NULL;
	s->conn = PQconnectStartParams(conn_keys, values, 1);
	if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD) {
		lost(s, "cannot connect");
		return;
	}
	s->state = ST_CONNECTING;
	watch_stall(s, false);
	/* libpq: poll as if PQconnectPoll had answered PGRES_POLLING_WRITING. */
	watch(s, PQsocket(s->conn), EV_WRITE);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	connect_start(w->data);
}

static void send_setup(struct store *s)
{
	struct batch *b = batch_new(true);
	PGconn *c = s->conn;
	if (PQsetnonblocking(c, 1) != 0 || PQenterPipelineMode(c) != 1) {
		batch_free(b);
		lost(s, "cannot enter pipeline mode");
		return;
	}
	s->state = ST_SETUP;
	bool ok = PQsendQueryParams(c, sql_version, 0, NULL, NULL, NULL, NULL, 0) == 1;
	if (ok)
		sent_push(s, CMD_VERSION, b, NULL);
	for (size_t i = 0; ok && i < ARRAY_LEN(statements); i++) {
		ok = PQsendPrepare(c, statements[i].name, *statements[i].sql, 0, NULL) == 1;
		if (ok)
			sent_push(s, CMD_PREPARE, b, NULL);
	}
	if (ok && !s->warmed && s->cfg.dedup_window_ms > 0 && !s->cfg.warm_lazily) {
		char secs[32];
		snprintf(secs, sizeof secs, "%.3f", (double)s->cfg.dedup_window_ms / 1000.0);
		const char *params[] = {secs};
		ok = PQsendQueryParams(c, sql_warm, 1, NULL, params, NULL, NULL, 0) == 1;
		if (ok)
			sent_push(s, CMD_WARM, b, NULL);
	}
	if (ok && s->h.on_feed_state) {
		ok = PQsendQueryParams(c, sql_feed_state, 0, NULL, NULL, NULL, NULL, 0) == 1;
		if (ok)
			sent_push(s, CMD_FEED_STATE, b, NULL);
	}
	if (ok)
		ok = PQpipelineSync(c) == 1;
	if (!ok) {
		/* The commands pushed so far point at b; disconnect frees it
		 * through a sync entry, so add one. */
		sent_push(s, CMD_SYNC, b, NULL);
		lost(s, "cannot send the setup commands");
		return;
	}
	sent_push(s, CMD_SYNC, b, NULL);
	s->stats.round_trips++;
	watch(s, PQsocket(c), EV_READ);
	flush(s);
}

static void connect_step(struct store *s)
{
	switch (PQconnectPoll(s->conn)) {
	case PGRES_POLLING_READING:
		watch(s, PQsocket(s->conn), EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		watch(s, PQsocket(s->conn), EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		watch_stall(s, true);
		send_setup(s);
		break;
	case PGRES_POLLING_FAILED:
	default:
		lost(s, "cannot connect");
		break;
	}
}

/* ---- results ------------------------------------------------------------ */

static void handle_result(struct store *s, struct cmd *c, PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
	struct batch *b = c->batch;
	c->got_result = true;
	switch (c->kind) {
	case CMD_VERSION:
		if (ok && PQntuples(r) == 1) {
			struct buf err;
			buf_init(&err);
			if (migrate_check_version(atoi(PQgetvalue(r, 0, 0)), &err) == 0)
				b->schema_ok = true;
			else
				batch_fail(b, NULL, NULL, buf_str(&err));
			buf_free(&err);
		} else {
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			if (state && (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0))
				batch_fail(b, NULL, NULL,
					   "the database has no feedd schema: run `feedd migrate`");
			else
				batch_fail(b, NULL, r, "schema check failed");
		}
		break;
	case CMD_PREPARE:
		if (!ok)
			batch_fail(b, NULL, r, "PREPARE failed");
		break;
	case CMD_WARM:
		if (!ok) {
			batch_fail(b, NULL, r, "reading recent articles failed");
			break;
		}
		for (int i = 0; i < PQntuples(r); i++)
			dedup_remember(s->dedup, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
				       hash64(PQgetvalue(r, i, 2)),
				       PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3));
		s->warmed = true;
		LOG_INFO("database: dedup set warmed with %zu recent articles",
			 dedup_size(s->dedup));
		break;
	case CMD_FEED_STATE:
		if (!ok) {
			batch_fail(b, NULL, r, "reading the feeds' fetch state failed");
			break;
		}
		for (int i = 0; i < PQntuples(r); i++) {
#define COL(k) (PQgetisnull(r, i, k) ? NULL : PQgetvalue(r, i, k))
			struct store_feed_state fs = {
				.name = COL(0),
				.url = COL(1),
				.etag = COL(2),
				.last_modified = COL(3),
				.next_poll_us = PQgetisnull(r, i, 4) ? STORE_TIME_NONE
								     : atoll(PQgetvalue(r, i, 4)),
				.error_count = atoi(PQgetvalue(r, i, 5)),
				.disabled_reason = COL(6),
				.permanent_url = COL(7),
				.enabled = PQgetvalue(r, i, 8)[0] == 't',
				.source = COL(9),
				.interval_s =
					PQgetisnull(r, i, 10) ? 0 : atoi(PQgetvalue(r, i, 10)),
			};
#undef COL
			s->h.on_feed_state(s->h.ctx, &fs);
		}
		break;
	case CMD_ITEM:
		c->item->failed = !ok;
		if (!ok) {
			if (st != PGRES_PIPELINE_ABORTED)
				batch_fail(b, c->item, r, "statement failed");
			break;
		}
		if (c->item->kind == ITEM_PAGE && PQntuples(r) == 1) {
			const char *o = PQgetvalue(r, 0, 1);
			c->item->page_outcome = strcmp(o, "extracted") == 0 ? STORE_PAGE_EXTRACTED
				: strcmp(o, "unchanged") == 0		    ? STORE_PAGE_UNCHANGED
				: strcmp(o, "revised") == 0		    ? STORE_PAGE_REVISED
				: strcmp(o, "failed") == 0		    ? STORE_PAGE_FAILED
									    : STORE_PAGE_MISSING;
			c->item->revision = PQgetisnull(r, 0, 2) ? 0 : atoi(PQgetvalue(r, 0, 2));
		}
		if (c->item->kind == ITEM_CLAIM) {
			/* A batch sent again answers again: keep the last. */
			struct claim *cl = c->item->u.claim;
			claim_rows_free(cl);
			cl->n_rows = (size_t)PQntuples(r);
			cl->rows = xcalloc(cl->n_rows ? cl->n_rows : 1, sizeof *cl->rows);
			for (size_t i = 0; i < cl->n_rows; i++) {
				int row = (int)i;
				cl->rows[i] = (struct store_visit){
					.source = xstrdup(PQgetvalue(r, row, 0)),
					.news_id = xstrdup(PQgetvalue(r, row, 1)),
					.url = PQgetisnull(r, row, 2)
						? NULL
						: xstrdup(PQgetvalue(r, row, 2)),
					.visits = atoi(PQgetvalue(r, row, 3)),
					.attempts = atoi(PQgetvalue(r, row, 4)),
				};
			}
		}
		if (c->item->kind == ITEM_ARTICLE && PQntuples(r) == 1) {
			const char *o = PQgetvalue(r, 0, 1);
			c->item->outcome = strcmp(o, "inserted") == 0 ? STORE_INSERTED
				: strcmp(o, "linked") == 0	      ? STORE_LINKED
				: strcmp(o, "revised") == 0	      ? STORE_REVISED
								      : STORE_UNCHANGED;
		}
		break;
	case CMD_SETTLE:
		if (!ok)
			batch_fail(b, NULL, r, "feedd.settle_statistics() failed");
		else if (PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't')
			LOG_INFO("database: feedd.articles had no planner statistics yet; analysed "
				 "it, so that its foreign-key checks use the primary key");
		break;
	case CMD_POLLS:
		for (size_t i = 0; i < c->count; i++)
			b->items[c->first + i]->failed = !ok;
		/* Which poll it was is for the item-by-item retry to find. */
		if (!ok && st != PGRES_PIPELINE_ABORTED)
			batch_fail(b, NULL, r, "statement failed");
		break;
	case CMD_SYNC:
		break;
	}
}

static void item_done(struct store *s, struct item *it, bool ok)
{
	/* Committed or rejected for good: either way its record is done. */
	if (it->from_spool && s->spool)
		spool_done(s->spool, &it->pos);
	switch (it->kind) {
	case ITEM_ARTICLE: {
		struct store_article *a = it->u.article;
		if (ok)
			dedup_remember(s->dedup, a->source, a->news_id, hash64(a->content_hash),
				       a->feed);
		if (ok && it->outcome == STORE_INSERTED)
			s->session_inserted++;
		if (s->h.on_article)
			s->h.on_article(s->h.ctx, a, ok ? it->outcome : STORE_REJECTED);
		break;
	}
	case ITEM_POLL:
		if (s->h.on_poll)
			s->h.on_poll(s->h.ctx, it->u.poll, ok);
		break;
	case ITEM_PAGE:
		if (s->h.on_page)
			s->h.on_page(s->h.ctx, it->u.page,
				     ok ? it->page_outcome : STORE_PAGE_REJECTED, it->revision);
		break;
	case ITEM_CLAIM:
		if (s->h.on_visits)
			s->h.on_visits(s->h.ctx, it->u.claim->rows, ok ? it->u.claim->n_rows : 0,
				       ok);
		break;
	case ITEM_RELEASE:
	case ITEM_SOURCE:
	case ITEM_FEED:
	case ITEM_REJECTED:
		break;
	}
	item_free(it);
}

/* ---- the spool ------------------------------------------------------------ */

static bool spoolable(const struct item *it)
{
	return it->kind == ITEM_ARTICLE || it->kind == ITEM_POLL || it->kind == ITEM_PAGE;
}

static void encode(const struct item *it, struct buf *out)
{
	switch (it->kind) {
	case ITEM_ARTICLE:
		record_encode_article(it->u.article, out);
		break;
	case ITEM_POLL:
		record_encode_poll(it->u.poll, out);
		break;
	case ITEM_PAGE:
		record_encode_page(it->u.page, out);
		break;
	default:
		buf_reset(out);
		break;
	}
}

/* A record read back from the spool as a new item, or NULL. */
static struct item *decode(struct store *s, const struct buf *rec)
{
	struct item *it = NULL;
	switch (record_kind_of(rec->data, rec->len)) {
	case RECORD_ARTICLE: {
		struct store_article *a = record_decode_article(rec->data, rec->len);
		if (a) {
			/* Spooled by an older feedd, before the bounds. */
			bound_news_id(&a->news_id);
			bound_tags(a->tags, &a->n_tags);
			it = item_new(s, ITEM_ARTICLE);
			it->u.article = a;
		}
		break;
	}
	case RECORD_POLL: {
		struct store_poll *p = record_decode_poll(rec->data, rec->len);
		if (p) {
			it = item_new(s, ITEM_POLL);
			it->u.poll = p;
		}
		break;
	}
	case RECORD_PAGE: {
		struct store_page *p = record_decode_page(rec->data, rec->len);
		if (p) {
			it = item_new(s, ITEM_PAGE);
			it->u.page = p;
		}
		break;
	}
	}
	return it;
}

/* An item the full spool would not take: refused, never silently dropped. */
static void refuse(struct store *s, struct item *it)
{
	char what[300];
	item_describe(it, what, sizeof what);
	switch (it->kind) {
	case ITEM_ARTICLE:
		if (s->h.on_article)
			s->h.on_article(s->h.ctx, it->u.article, STORE_FULL);
		break;
	case ITEM_POLL:
		LOG_WARN("database: the %s is dropped: the spool is full", what);
		if (s->h.on_poll)
			s->h.on_poll(s->h.ctx, it->u.poll, false);
		break;
	case ITEM_PAGE:
		LOG_WARN("database: the %s is dropped: the spool is full; the page comes due "
			 "again when its claim lapses",
			 what);
		if (s->h.on_page)
			s->h.on_page(s->h.ctx, it->u.page, STORE_PAGE_REJECTED, 0);
		break;
	default:
		break;
	}
	item_free(it);
}

enum spooled { SPOOLED, KEEP, REFUSED };

/* Appends a spoolable item to the spool; SPOOLED (it waits in the sync
 * list), KEEP (writing failed: the caller keeps it in memory) or REFUSED
 * (the spool is full: it was refused and freed). */
static enum spooled spool_item(struct store *s, struct item *it)
{
	struct buf err;
	buf_init(&err);
	encode(it, &s->rec);
	int r = spool_append(s->spool, s->rec.data, s->rec.len, &err);
	if (r == 0) {
		if (!s->spool_announced)
			LOG_NOTICE("spool: the database is away; what is accepted goes to %s until "
				   "it is back",
				   spool_dir(s->spool));
		s->spool_announced = true;
		s->spool_full = false;
		it->next = NULL;
		if (s->sync_tail)
			s->sync_tail->next = it;
		else
			s->sync_head = it;
		s->sync_tail = it;
		s->n_syncing++;
		ev_prepare_start(s->loop, &s->syncer);
		buf_free(&err);
		return SPOOLED;
	}
	if (r == -2) {
		LOG_ERR("spool: %s; keeping the item in memory", buf_str(&err));
		buf_free(&err);
		return KEEP;
	}
	buf_free(&err);
	if (it->from_spool)
		return KEEP; /* already in the spool, from before */
	if (!s->spool_full)
		LOG_ERR("spool: %s is full (spool_max_size, %llu bytes): new articles are "
			"refused until the database is back; their feeds back off",
			spool_dir(s->spool), (unsigned long long)s->cfg.spool_max_bytes);
	s->spool_full = true;
	refuse(s, it);
	return REFUSED;
}

/* Before the loop blocks: one fdatasync for everything appended since the
 * last, then the items count as accepted. */
static void on_syncer(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct store *s = w->data;
	ev_prepare_stop(loop, w);
	struct item *it = s->sync_head;
	s->sync_head = s->sync_tail = NULL;
	s->n_syncing = 0;
	struct buf err;
	buf_init(&err);
	if (spool_sync(s->spool, &err) != 0) {
		LOG_ERR("spool: %s; the items wait in memory instead", buf_str(&err));
		for (struct item *nx; it; it = nx) {
			nx = it->next;
			push_back(s, it);
		}
		buf_free(&err);
		return;
	}
	buf_free(&err);
	for (struct item *nx; it; it = nx) {
		nx = it->next;
		/* A record read back and spooled again: the new copy stands in
		 * for the old. */
		if (it->from_spool)
			spool_done(s->spool, &it->pos);
		s->stats.spooled++;
		switch (it->kind) {
		case ITEM_ARTICLE: {
			struct store_article *a = it->u.article;
			dedup_remember(s->dedup, a->source, a->news_id, hash64(a->content_hash),
				       a->feed);
			if (s->h.on_article)
				s->h.on_article(s->h.ctx, a, STORE_SPOOLED);
			break;
		}
		case ITEM_POLL:
			if (s->h.on_poll)
				s->h.on_poll(s->h.ctx, it->u.poll, true);
			break;
		case ITEM_PAGE:
			if (s->h.on_page)
				s->h.on_page(s->h.ctx, it->u.page, STORE_PAGE_SPOOLED, 0);
			break;
		default:
			break;
		}
		item_free(it);
	}
}

/* The database went away: what waits in the queue goes to the spool. */
static void spool_queued(struct store *s)
{
	struct item *keep_head = NULL, *keep_tail = NULL;
	size_t kept = 0, spooled = 0;
	struct item *it;
	while ((it = pop_front(s))) {
		if (spoolable(it)) {
			enum spooled r = spool_item(s, it);
			if (r != KEEP) {
				spooled += r == SPOOLED;
				continue;
			}
		}
		it->next = NULL;
		if (keep_tail)
			keep_tail->next = it;
		else
			keep_head = it;
		keep_tail = it;
		kept++;
	}
	s->head = keep_head;
	s->tail = keep_tail;
	s->n_queued = kept;
	s->reg_last = NULL;
	if (spooled)
		LOG_NOTICE("spool: %zu items written to %s until the database is back", spooled,
			   spool_dir(s->spool));
}

/* Reads spooled records into the queue, up to a window, so that new work
 * queued behind them waits for at most that many. */
static void refill(struct store *s)
{
	if (!s->spool)
		return;
	size_t window = 2 * (size_t)s->cfg.batch_size;
	while (s->n_queued < window && spool_readable(s->spool)) {
		struct spool_pos pos;
		int r = spool_read(s->spool, &s->rec, &pos);
		if (r == 0)
			break;
		if (r < 0)
			continue;
		struct item *it = decode(s, &s->rec);
		if (!it) {
			LOG_ERR("spool: a record of %zu bytes in %s is not one this feedd can "
				"read; "
				"skipped",
				s->rec.len, spool_dir(s->spool));
			spool_done(s->spool, &pos);
			continue;
		}
		it->from_spool = true;
		it->pos = pos;
		push_back(s, it);
	}
}

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
	/* Anything else (08 connection, 40 serialization or deadlock, 53 disk
	 * full or out of memory, 55 lock not available, 57 statement timeout
	 * or shutdown, 58, XX, or no SQLSTATE at all): the same as UNUSABLE,
	 * said as a warning. */
	FAIL_RETRY,
};

static enum failure classify(const char *state)
{
	static const char *const data[] = {"22", "23", "54", "P0"};
	static const char *const unusable[] = {"25", "28", "3D", "3F", "42", "26", "0A", "2B"};
	for (size_t i = 0; i < ARRAY_LEN(data); i++)
		if (strncmp(state, data[i], 2) == 0)
			return FAIL_DATA;
	for (size_t i = 0; i < ARRAY_LEN(unusable); i++)
		if (strncmp(state, unusable[i], 2) == 0)
			return FAIL_UNUSABLE;
	return FAIL_RETRY;
}

/* strdup of v, NULL for NULL. */
static char *dup_or_null(const char *v)
{
	return v ? xstrdup(v) : NULL;
}

/* An item the database refused for its data: reported as rejected, and a
 * row with it (its spool encoding) and the reason queued for
 * feedd.rejected, so that nothing refused is gone without a trace.  A
 * refused feedd.rejected row is only logged. */
static void reject(struct store *s, struct item *it, const char *error, const char *sqlstate)
{
	if (it->kind == ITEM_REJECTED) {
		item_done(s, it, false);
		return;
	}
	struct rejected *r = xcalloc(1, sizeof *r);
	static const char *const kinds[] = {
		[ITEM_ARTICLE] = "article", [ITEM_POLL] = "poll",	  [ITEM_SOURCE] = "source",
		[ITEM_FEED] = "feed",	    [ITEM_PAGE] = "page",	  [ITEM_CLAIM] = "claim",
		[ITEM_RELEASE] = "release", [ITEM_REJECTED] = "rejected",
	};
	r->kind = xstrdup(kinds[it->kind]);
	r->sqlstate = dup_or_null(sqlstate[0] ? sqlstate : NULL);
	r->error = dup_or_null(error);
	buf_init(&r->record);
	switch (it->kind) {
	case ITEM_ARTICLE:
		r->source = dup_or_null(it->u.article->source);
		r->feed = dup_or_null(it->u.article->feed);
		r->news_id = dup_or_null(it->u.article->news_id);
		r->url = dup_or_null(it->u.article->url);
		r->title = dup_or_null(it->u.article->title);
		break;
	case ITEM_POLL:
		r->feed = dup_or_null(it->u.poll->feed);
		break;
	case ITEM_PAGE:
		r->source = dup_or_null(it->u.page->source);
		r->news_id = dup_or_null(it->u.page->news_id);
		break;
	case ITEM_SOURCE:
		r->source = dup_or_null(it->u.source.name);
		r->url = dup_or_null(it->u.source.home);
		break;
	case ITEM_FEED:
		r->source = dup_or_null(it->u.feed.source);
		r->feed = dup_or_null(it->u.feed.name);
		r->url = dup_or_null(it->u.feed.url);
		break;
	default:
		break;
	}
	if (spoolable(it)) {
		static const char hex[] = "0123456789abcdef";
		encode(it, &s->rec);
		buf_append(&r->record, "\\x", 2);
		for (size_t i = 0; i < s->rec.len; i++) {
			unsigned char b = (unsigned char)s->rec.data[i];
			buf_putc(&r->record, hex[b >> 4]);
			buf_putc(&r->record, hex[b & 15]);
		}
	}
	item_done(s, it, false);
	struct item *row = item_new(s, ITEM_REJECTED);
	row->u.rejected = r;
	push_back(s, row);
}

/* Remembers why the database cannot take what waits, for STATUS. */
static void set_problem(struct store *s, enum failure f, const char *error, const char *sqlstate,
			bool in_setup)
{
	snprintf(s->problem, sizeof s->problem, "%.300s%s%s%s", error,
		 sqlstate[0] ? " (SQLSTATE " : "", sqlstate, sqlstate[0] ? ")" : "");
	s->problem_unusable = f == FAIL_UNUSABLE;
	s->problem_in_setup = in_setup;
}

static void setup_done(struct store *s, struct batch *b)
{
	if (b->error || !b->schema_ok) {
		char msg[600];
		snprintf(msg, sizeof msg, "%s",
			 b->error ? b->error : "schema check gave no answer");
		set_problem(s, FAIL_UNUSABLE, msg, b->sqlstate, true);
		batch_free(b);
		LOG_ERR("database: %s", msg);
		disconnect(s, "setup failed");
		return;
	}
	batch_free(b);
	s->state = ST_READY;
	if (s->problem_in_setup)
		s->problem[0] = '\0';
	s->spool_announced = false;
	s->session_inserted = 0;
	s->settled = false;
	/* The backoff is reset by a commit, not by a connection: a database
	 * that connects and then refuses every batch (read-only, privileges
	 * revoked) is retried ever more slowly, not four times a second. */
	s->stats.connects++;
	if (s->spool && spool_readable(s->spool))
		LOG_NOTICE("database: connected, %zu items queued, %llu in the spool to store "
			   "first",
			   s->n_queued, (unsigned long long)spool_pending(s->spool));
	else
		LOG_INFO("database: connected, %zu items queued", s->n_queued);
	if (s->h.on_state)
		s->h.on_state(s->h.ctx, true);
	dispatch(s);
}

static void batch_done(struct store *s, struct batch *b)
{
	if (b->warm) {
		s->warm_in_flight = false;
		if (b->error) {
			/* Only round trips are at stake: go on without it. */
			LOG_WARN("database: %s (%s); going on without the dedup set's warm-up",
				 b->error, b->sqlstate);
			s->warmed = true;
		}
		batch_free(b);
		return;
	}
	if (b->settle) {
		/* Once per session, whatever the answer: autovacuum does the
		 * same job a little later. */
		s->settle_in_flight = false;
		s->settled = true;
		if (b->error)
			LOG_WARN("database: %s (%s); autovacuum will analyse feedd.articles later",
				 b->error, b->sqlstate);
		batch_free(b);
		return;
	}
	if (b->setup) {
		setup_done(s, b);
		return;
	}
	s->batches_in_flight--;
	s->n_in_flight -= b->n;
	LOG_DEBUG("database: batch of %zu items %s after %.3f s", b->n,
		  b->error ? "failed" : "committed", ev_now(s->loop) - b->sent_at);
	if (!b->error) {
		/* Progress: the next trouble starts its backoff afresh. */
		s->backoff_ms = s->cfg.reconnect_min_ms;
		s->problem[0] = '\0';
		s->stats.batches++;
		s->stats.committed += b->n;
		for (size_t i = 0; i < b->n; i++)
			item_done(s, b->items[i], true);
		batch_free(b);
		return;
	}
	char what[300];
	if (b->failed_item)
		item_describe(b->failed_item, what, sizeof what);
	else
		snprintf(what, sizeof what, "a batch of %zu items", b->n);
	enum failure f = classify(b->sqlstate);
	if (f != FAIL_DATA) {
		char why[800];
		snprintf(why, sizeof why, "%s failed: %s (SQLSTATE %s)", what, b->error,
			 b->sqlstate[0] ? b->sqlstate : "none");
		set_problem(s, f, b->error, b->sqlstate, false);
		if (f == FAIL_UNUSABLE)
			LOG_ERR("database: cannot store: %s; everything is kept%s and sent again "
				"after a backoff, none of it is dropped",
				why, s->spool ? " in the spool" : " in memory");
		struct item **items = b->items;
		size_t n = b->n;
		b->items = NULL;
		batch_free(b);
		drop_connection(s, items, n, why);
		free(items);
		return;
	}
	if (b->n > 1) {
		/* The whole transaction was rolled back; find the culprit by
		 * sending each item alone. */
		LOG_WARN("database: %s refused (%s); retrying its batch item by item", what,
			 b->error);
		for (size_t i = 0; i < b->n; i++) {
			b->items[i]->solo = true;
			b->items[i]->failed = false;
		}
		push_front(s, b->items, b->n);
	} else {
		LOG_ERR("database: %s rejected: %s (SQLSTATE %s); kept in feedd.rejected", what,
			b->error, b->sqlstate);
		s->stats.rejected++;
		reject(s, b->items[0], b->error, b->sqlstate);
	}
	batch_free(b);
}

/* Reads every result that has arrived. Returns -1 if the connection was
 * dropped meanwhile. */
static int read_results(struct store *s)
{
	bool answered = false;
	while (s->conn && !PQisBusy(s->conn)) {
		PGresult *r = PQgetResult(s->conn);
		struct cmd *c = sent_peek(s);
		if (!r) {
			/* NULL ends one command's results. */
			if (c && c->kind != CMD_SYNC && c->got_result) {
				sent_pop(s);
				continue;
			}
			break;
		}
		answered = true;
		if (!c) {
			LOG_WARN("database: unexpected result (%s) ignored",
				 PQresStatus(PQresultStatus(r)));
			PQclear(r);
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			if (c->kind != CMD_SYNC) {
				disconnect(s, "pipeline out of step (a result is missing)");
				return -1;
			}
			struct batch *b = c->batch;
			sent_pop(s);
			batch_done(s, b);
			continue;
		}
		if (c->kind == CMD_SYNC) {
			PQclear(r);
			disconnect(s, "pipeline out of step (an extra result)");
			return -1;
		}
		handle_result(s, c, r);
		PQclear(r);
	}
	if (s->conn && PQstatus(s->conn) == CONNECTION_BAD) {
		lost(s, "connection lost");
		return -1;
	}
	if (answered)
		watch_stall(s, true);
	return s->conn ? 0 : -1;
}

static void flush(struct store *s)
{
	if (!s->conn || s->state == ST_CONNECTING)
		return;
	int r = PQflush(s->conn);
	if (r < 0) {
		lost(s, "cannot send");
		return;
	}
	watch(s, PQsocket(s->conn), r == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct store *s = w->data;
	if (s->state == ST_CONNECTING) {
		connect_step(s);
		return;
	}
	if (revents & EV_READ) {
		if (PQconsumeInput(s->conn) == 0) {
			lost(s, "connection lost");
			return;
		}
		if (read_results(s) != 0)
			return;
	}
	if (s->state == ST_READY)
		dispatch(s);
	flush(s);
}

/* ---- sending batches ----------------------------------------------------- */

#define TIME_US_LEN 28 /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" and its NUL */

/* us as an ISO 8601 UTC timestamp with microseconds; by hand rather than
 * snprintf, since every poll record has two.  Any int64 is safe: one
 * outside years 0..9999 is clamped to them first, so that nothing below
 * overflows (record.c refuses such times from the spool already). */
static void format_time_us(int64_t us, char out[TIME_US_LEN])
{
	const int64_t lo = INT64_C(-62167219200) * 1000000;	/* 0000-01-01 */
	const int64_t hi = INT64_C(253402300800) * 1000000 - 1; /* the end of 9999 */
	us = us < lo ? lo : us > hi ? hi : us;
	int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
	char iso[DATE_ISO_LEN];
	if (date_format_utc(secs, iso) != 0)
		memcpy(iso, "1970-01-01T00:00:00Z", DATE_ISO_LEN);
	memcpy(out, iso, 19); /* without the Z */
	out[19] = '.';
	int64_t frac = us - secs * 1000000;
	for (int i = 25; i >= 20; i--) {
		out[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	out[26] = 'Z';
	out[27] = '\0';
}

/* Appends one element to the array literal being built in out (opened
 * with its '{'): quoted, or NULL for the SQL NULL. */
static void array_add(struct buf *out, const char *v)
{
	if (out->len > 1)
		buf_putc(out, ',');
	if (!v) {
		buf_append(out, "NULL", 4);
		return;
	}
	buf_putc(out, '"');
	for (;;) {
		size_t run = strcspn(v, "\"\\");
		buf_append(out, v, run);
		v += run;
		if (!*v)
			break;
		buf_putc(out, '\\');
		buf_putc(out, *v++);
	}
	buf_putc(out, '"');
}

/* A PostgreSQL text[] literal: {"a","b \" c"}. */
static void tags_literal(char *const *tags, size_t n, struct buf *out)
{
	buf_putc(out, '{');
	for (size_t i = 0; i < n; i++)
		array_add(out, tags[i]);
	buf_putc(out, '}');
}

static bool send_page(PGconn *c, const struct store_page *pg)
{
	struct buf tags, revisit;
	buf_init(&tags);
	buf_init(&revisit);
	tags_literal(pg->tags, pg->n_tags, &tags);
	buf_putc(&revisit, '{');
	for (size_t i = 0; i < pg->n_revisit; i++)
		buf_printf(&revisit, "%s%lld", i ? "," : "", (long long)pg->revisit_s[i]);
	buf_putc(&revisit, '}');
	char pub[DATE_ISO_LEN], mod[DATE_ISO_LEN], seen[TIME_US_LEN], retry[TIME_US_LEN];
	bool has_pub =
		pg->published_at != STORE_TIME_NONE && date_format_utc(pg->published_at, pub) == 0;
	bool has_mod =
		pg->modified_at != STORE_TIME_NONE && date_format_utc(pg->modified_at, mod) == 0;
	format_time_us(pg->seen_at_us, seen);
	bool has_retry = pg->retry_at_us != STORE_TIME_NONE;
	if (has_retry)
		format_time_us(pg->retry_at_us, retry);
	char claimed[DATE_ISO_LEN];
	bool has_claim = pg->published_claimed != STORE_TIME_NONE &&
		date_format_utc(pg->published_claimed, claimed) == 0;
	const char *p[19] = {pg->source,
			     pg->news_id,
			     pg->status,
			     pg->error,
			     pg->title,
			     pg->lead,
			     pg->body,
			     pg->author,
			     tags.data,
			     has_pub ? pub : NULL,
			     has_mod ? mod : NULL,
			     pg->image,
			     pg->caption,
			     pg->language,
			     pg->content_hash[0] ? pg->content_hash : NULL,
			     seen,
			     has_retry ? retry : NULL,
			     revisit.data,
			     claimed};
	bool ok = has_claim
		? PQsendQueryPrepared(c, "feedd_page_claimed", 19, p, NULL, NULL, 0) == 1
		: PQsendQueryPrepared(c, "feedd_page", 18, p, NULL, NULL, 0) == 1;
	buf_free(&tags);
	buf_free(&revisit);
	return ok;
}

#define POLL_PARAMS 13

/* The text of a poll record's parameters, in the order of
 * feedd.record_fetch (and, as arrays, feedd.record_fetches). */
struct poll_text {
	char started[TIME_US_LEN], next[TIME_US_LEN];
	char duration[FMT_I64_LEN], status[FMT_I64_LEN], bytes[FMT_I64_LEN], seen[FMT_I64_LEN],
		fresh[FMT_I64_LEN];
};

static void poll_params(const struct store_poll *pl, struct poll_text *t,
			const char *p[POLL_PARAMS])
{
	format_time_us(pl->started_us, t->started);
	fmt_i64(t->duration, pl->duration_ms);
	fmt_i64(t->status, pl->http_status);
	fmt_i64(t->bytes, pl->bytes);
	fmt_i64(t->seen, pl->items_seen);
	fmt_i64(t->fresh, pl->new_items);
	bool has_next = pl->next_poll_us != STORE_TIME_NONE;
	if (has_next)
		format_time_us(pl->next_poll_us, t->next);
	const char *v[POLL_PARAMS] = {pl->feed,
				      t->started,
				      t->duration,
				      pl->http_status ? t->status : NULL,
				      t->bytes,
				      t->seen,
				      t->fresh,
				      pl->error,
				      pl->etag,
				      pl->last_modified,
				      has_next ? t->next : NULL,
				      pl->permanent_url,
				      pl->disabled_reason};
	memcpy(p, v, sizeof v);
}

/* Sends b->items[first ..] (polls, at least two) as one feedd.record_fetches
 * call. */
static bool send_polls(struct store *s, struct batch *b, size_t first)
{
	struct buf col[POLL_PARAMS];
	for (int k = 0; k < POLL_PARAMS; k++) {
		buf_init(&col[k]);
		buf_putc(&col[k], '{');
	}
	for (size_t i = first; i < b->n; i++) {
		struct poll_text t;
		const char *p[POLL_PARAMS];
		poll_params(b->items[i]->u.poll, &t, p);
		for (int k = 0; k < POLL_PARAMS; k++)
			array_add(&col[k], p[k]);
	}
	const char *params[POLL_PARAMS];
	for (int k = 0; k < POLL_PARAMS; k++) {
		buf_putc(&col[k], '}');
		params[k] = col[k].data;
	}
	bool ok = PQsendQueryPrepared(s->conn, "feedd_polls", POLL_PARAMS, params, NULL, NULL, 0) ==
		1;
	for (int k = 0; k < POLL_PARAMS; k++)
		buf_free(&col[k]);
	if (ok) {
		sent_push(s, CMD_POLLS, b, NULL);
		struct cmd *c = sent_at(s, s->sent_count - 1);
		c->first = first;
		c->count = b->n - first;
	}
	return ok;
}

static bool send_item(struct store *s, struct item *it)
{
	PGconn *c = s->conn;
	char t2[TIME_US_LEN], n1[FMT_I64_LEN], n2[FMT_I64_LEN];
	switch (it->kind) {
	case ITEM_ARTICLE: {
		struct store_article *a = it->u.article;
		struct buf tags;
		buf_init(&tags);
		tags_literal(a->tags, a->n_tags, &tags);
		char iso[DATE_ISO_LEN];
		bool has_pub = a->published_at != STORE_TIME_NONE &&
			date_format_utc(a->published_at, iso) == 0;
		char claimed[DATE_ISO_LEN];
		bool has_claim = a->published_claimed != STORE_TIME_NONE &&
			date_format_utc(a->published_claimed, claimed) == 0;
		format_time_us(a->seen_at_us, t2);
		const char *p[16] = {a->source,
				     a->feed,
				     a->news_id,
				     a->url,
				     a->title,
				     a->lead,
				     a->body,
				     a->author,
				     tags.data,
				     has_pub ? iso : NULL,
				     a->image,
				     a->language,
				     a->content_hash,
				     t2,
				     a->fetch_page ? "t" : "f",
				     claimed};
		bool ok = has_claim
			? PQsendQueryPrepared(c, "feedd_article_claimed", 16, p, NULL, NULL, 0) == 1
			: PQsendQueryPrepared(c, "feedd_article", 15, p, NULL, NULL, 0) == 1;
		buf_free(&tags);
		return ok;
	}
	case ITEM_POLL: {
		struct poll_text t;
		const char *p[POLL_PARAMS];
		poll_params(it->u.poll, &t, p);
		return PQsendQueryPrepared(c, "feedd_poll", POLL_PARAMS, p, NULL, NULL, 0) == 1;
	}
	case ITEM_PAGE:
		return send_page(c, it->u.page);
	case ITEM_CLAIM: {
		struct claim *cl = it->u.claim;
		struct buf names;
		buf_init(&names);
		tags_literal(cl->sources, cl->n_sources, &names);
		snprintf(n1, sizeof n1, "%d", cl->limit);
		snprintf(n2, sizeof n2, "%d", cl->lease_s);
		const char *p[3] = {names.data, n1, n2};
		bool ok = PQsendQueryPrepared(c, "feedd_claim", 3, p, NULL, NULL, 0) == 1;
		buf_free(&names);
		return ok;
	}
	case ITEM_RELEASE: {
		struct claim *cl = it->u.claim;
		struct buf names, ids;
		buf_init(&names);
		buf_init(&ids);
		tags_literal(cl->sources, cl->n_sources, &names);
		tags_literal(cl->news_ids, cl->n_sources, &ids);
		const char *p[2] = {names.data, ids.data};
		bool ok = PQsendQueryPrepared(c, "feedd_release", 2, p, NULL, NULL, 0) == 1;
		buf_free(&names);
		buf_free(&ids);
		return ok;
	}
	case ITEM_SOURCE: {
		const char *p[2] = {it->u.source.name, it->u.source.home};
		return PQsendQueryPrepared(c, "feedd_source", 2, p, NULL, NULL, 0) == 1;
	}
	case ITEM_REJECTED: {
		const struct rejected *r = it->u.rejected;
		const char *p[9] = {
			r->kind,     r->source, r->feed,
			r->news_id,  r->url,	r->title,
			r->sqlstate, r->error,	r->record.len ? buf_str(&r->record) : NULL};
		return PQsendQueryPrepared(c, "feedd_rejected", 9, p, NULL, NULL, 0) == 1;
	}
	case ITEM_FEED: {
		snprintf(n1, sizeof n1, "%d", it->u.feed.interval_s);
		const char *p[5] = {it->u.feed.name, it->u.feed.source, it->u.feed.url,
				    it->u.feed.interval_s > 0 ? n1 : NULL,
				    it->u.feed.enabled ? "true" : "false"};
		return PQsendQueryPrepared(c, "feedd_feed", 5, p, NULL, NULL, 0) == 1;
	}
	}
	return false;
}

/* Sends the polls waiting in b->items[first ..]: one alone as itself,
 * several as one record_fetches.  If that cannot be sent, they go back to
 * the front of the queue (and out of b). */
static bool flush_polls(struct store *s, struct batch *b, size_t first)
{
	size_t n = b->n - first;
	bool ok = n == 1 ? send_item(s, b->items[first]) : send_polls(s, b, first);
	if (ok && n == 1)
		sent_push(s, CMD_ITEM, b, b->items[first]);
	if (!ok) {
		push_front(s, &b->items[first], n);
		b->n = first;
	}
	return ok;
}

static void send_batch(struct store *s)
{
	struct batch *b = batch_new(false);
	b->sent_at = ev_now(s->loop);
	size_t max = s->head->solo ? 1 : (size_t)s->cfg.batch_size;
	b->items = xmalloc(max * sizeof *b->items);
	bool failed = false;
	/* Consecutive polls wait in b->items from polls_at on and go as one
	 * statement when something else comes, or the batch ends. */
	size_t polls_at = SIZE_MAX;
	while (b->n < max && s->head && (b->n == 0 || !s->head->solo)) {
		struct item *it = pop_front(s);
		if (it->kind == ITEM_POLL && max > 1) {
			if (polls_at == SIZE_MAX)
				polls_at = b->n;
			it->solo = false;
			b->items[b->n++] = it;
			continue;
		}
		if (polls_at != SIZE_MAX && !flush_polls(s, b, polls_at)) {
			push_front(s, &it, 1);
			failed = true;
			polls_at = SIZE_MAX;
			break;
		}
		polls_at = SIZE_MAX;
		if (it->unchecked) {
			/* Queued before the warm-up answered: look it up now. */
			struct store_article *a = it->u.article;
			it->unchecked = false;
			if (dedup_lookup(s->dedup, a->source, a->news_id, hash64(a->content_hash),
					 a->feed) == DEDUP_SAME) {
				s->stats.duplicates++;
				if (s->h.on_article)
					s->h.on_article(s->h.ctx, a, STORE_DUPLICATE);
				item_free(it);
				continue;
			}
		}
		if (!send_item(s, it)) {
			push_front(s, &it, 1);
			failed = true;
			break;
		}
		it->solo = false;
		b->items[b->n++] = it;
		sent_push(s, CMD_ITEM, b, it);
	}
	if (polls_at != SIZE_MAX && !flush_polls(s, b, polls_at))
		failed = true;
	if (b->n == 0 && !failed) { /* all were duplicates */
		batch_free(b);
		return;
	}
	if (b->n == 0 || PQpipelineSync(s->conn) != 1) {
		/* Whatever was sent goes back through the sent queue. */
		sent_push(s, CMD_SYNC, b, NULL);
		s->batches_in_flight++;
		s->n_in_flight += b->n;
		lost(s, "cannot send a batch");
		return;
	}
	sent_push(s, CMD_SYNC, b, NULL);
	s->batches_in_flight++;
	s->n_in_flight += b->n;
	s->stats.round_trips++;
}

/* Sends one statement as a batch of its own, outside batches_in_flight. */
static bool send_alone(struct store *s, struct batch *b, enum cmd_kind kind, const char *sql,
		       int n_params, const char *const *params)
{
	bool ok = PQsendQueryParams(s->conn, sql, n_params, NULL, params, NULL, NULL, 0) == 1;
	if (ok)
		sent_push(s, kind, b, NULL);
	ok = ok && PQpipelineSync(s->conn) == 1;
	sent_push(s, CMD_SYNC, b, NULL);
	if (ok)
		s->stats.round_trips++;
	return ok;
}

/* The dedup set's warm-up, sent when the first article needs it. */
static void send_warm(struct store *s)
{
	struct batch *b = batch_new(false);
	b->warm = true;
	char secs[32];
	snprintf(secs, sizeof secs, "%.3f", (double)s->cfg.dedup_window_ms / 1000.0);
	const char *params[] = {secs};
	s->warm_in_flight = true;
	if (!send_alone(s, b, CMD_WARM, sql_warm, 1, params))
		lost(s, "cannot send the dedup warm-up");
}

/* Enough articles inserted in this session for feedd.settle_statistics()
 * to be worth a call: the foreign-key plans it corrects were made at the
 * session's first insert. */
#define SETTLE_AFTER 500

static void send_settle(struct store *s)
{
	struct batch *b = batch_new(false);
	b->settle = true;
	s->settle_in_flight = true;
	if (!send_alone(s, b, CMD_SETTLE, sql_settle, 0, NULL))
		lost(s, "cannot send feedd.settle_statistics()");
}

static void dispatch(struct store *s)
{
	if (s->state == ST_READY && s->warm_wanted && !s->warmed && !s->warm_in_flight)
		send_warm(s);
	/* Articles queued meanwhile are looked up once it is answered. */
	if (s->warm_in_flight)
		return;
	if (s->state == ST_READY && !s->settled && !s->settle_in_flight &&
	    s->session_inserted >= SETTLE_AFTER)
		send_settle(s);
	if (s->state == ST_READY)
		refill(s);
	while (s->state == ST_READY && s->head &&
	       s->batches_in_flight < s->cfg.max_batches_in_flight) {
		bool full = s->n_queued >= (size_t)s->cfg.batch_size || s->head->solo;
		if (!full && s->batches_in_flight > 0) {
			/* A partial batch waits for company while others are
			 * in flight, but never longer than batch_delay. */
			double wait = s->head->queued_at + (double)s->cfg.batch_delay_ms / 1000.0 -
				ev_now(s->loop);
			if (wait > 0) {
				if (!ev_is_active(&s->kick)) {
					ev_timer_set(&s->kick, wait, 0.);
					ev_timer_start(s->loop, &s->kick);
				}
				return;
			}
		}
		send_batch(s);
		refill(s);
	}
}

static void on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct store *s = w->data;
	if (s->state != ST_READY)
		return;
	dispatch(s);
	flush(s);
}

/* Arms an immediate dispatch; submit never sends from the caller's stack. */
static void poke(struct store *s)
{
	if (s->state == ST_READY && !ev_is_active(&s->kick)) {
		ev_timer_set(&s->kick, 0., 0.);
		ev_timer_start(s->loop, &s->kick);
	}
}

/* ---- the public interface ------------------------------------------------ */

struct store *store_new(struct ev_loop *loop, const struct store_config *cfg,
			const struct store_handler *h)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->cfg = *cfg;
	s->conninfo = xstrdup(cfg->conninfo);
	s->cfg.conninfo = s->conninfo;
	if (s->cfg.batch_size < 1)
		s->cfg.batch_size = 1;
	if (s->cfg.max_batches_in_flight < 1)
		s->cfg.max_batches_in_flight = 1;
	if (h)
		s->h = *h;
	s->backoff_ms = s->cfg.reconnect_min_ms > 0 ? s->cfg.reconnect_min_ms : 250;
	s->dedup = dedup_new(s->cfg.dedup_max_entries);
	ev_init(&s->io, on_io);
	s->io.data = s;
	ev_init(&s->retry, on_retry);
	s->retry.data = s;
	ev_init(&s->kick, on_kick);
	s->kick.data = s;
	ev_init(&s->stall, on_stall);
	s->stall.data = s;
	ev_prepare_init(&s->syncer, on_syncer);
	s->syncer.data = s;
	buf_init(&s->rec);
	if (s->cfg.spool_dir) {
		struct buf err;
		buf_init(&err);
		/* FEEDD_SPOOL_SKIP_UNREADABLE=1: start without the segments
		 * that cannot be read (left in place), rather than not at all. */
		const char *skip = getenv("FEEDD_SPOOL_SKIP_UNREADABLE");
		unsigned flags = skip && strcmp(skip, "1") == 0 ? SPOOL_SKIP_UNREADABLE : 0;
		int r = spool_open(&s->spool, s->cfg.spool_dir, s->cfg.spool_max_bytes, flags,
				   &err);
		if (r == -1)
			LOG_ERR("spool: %s; what is accepted while the database is away waits "
				"in memory only (set state_dir to a writable directory)",
				buf_str(&err));
		else if (r != 0)
			LOG_ERR("spool: %s: feedd does not start%s", buf_str(&err),
				r == -2 ? " (set FEEDD_SPOOL_SKIP_UNREADABLE=1 to start without "
					  "what cannot be read, leaving it in place)"
					: "");
		buf_free(&err);
		s->cfg.spool_dir = NULL; /* borrowed; spool_dir() has its copy */
		if (r < -1) {
			store_free(s);
			return NULL;
		}
	}
	s->state = ST_BACKOFF;
	connect_start(s);
	return s;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	ev_io_stop(s->loop, &s->io);
	ev_timer_stop(s->loop, &s->retry);
	ev_timer_stop(s->loop, &s->kick);
	ev_timer_stop(s->loop, &s->stall);
	ev_prepare_stop(s->loop, &s->syncer);
	for (struct item *it = s->sync_head, *nx; it; it = nx) {
		nx = it->next;
		item_free(it);
	}
	spool_close(s->spool);
	buf_free(&s->rec);
	while (s->sent_count) {
		struct cmd *c = sent_peek(s);
		for (size_t i = 0; i < cmd_n_items(c); i++)
			item_free(cmd_item(c, i));
		if (c->kind == CMD_SYNC)
			batch_free(c->batch);
		sent_pop(s);
	}
	free(s->sent);
	struct item *it;
	while ((it = pop_front(s)))
		item_free(it);
	if (s->conn)
		PQfinish(s->conn);
	dedup_free(s->dedup);
	free(s->conninfo);
	free(s);
}

/* Into the queue, or, while the database is away, into the spool. */
static void enqueue(struct store *s, struct item *it)
{
	if (s->spool && s->state != ST_READY && spoolable(it) && spool_item(s, it) != KEEP)
		return;
	push_back(s, it);
	poke(s);
}

/* A claimed publication time more than STORE_FUTURE_S after the item was
 * seen is not taken: it moves to *claimed, logged. */
static void refuse_future(const char *what, const char *name, const char *news_id,
			  int64_t *published, int64_t *claimed, int64_t seen_us)
{
	*claimed = STORE_TIME_NONE;
	if (*published == STORE_TIME_NONE || *published <= seen_us / 1000000 + STORE_FUTURE_S)
		return;
	char iso[DATE_ISO_LEN] = "?";
	date_format_utc(*published, iso);
	LOG_WARN("%s %s: news ID %s: its publication time %s is more than a day after it was "
		 "seen; published_at left empty, the claim kept in published_claimed",
		 what, name, news_id, iso);
	*claimed = *published;
	*published = STORE_TIME_NONE;
}

int store_submit_article(struct store *s, struct store_article *a)
{
	bound_news_id(&a->news_id);
	bound_tags(a->tags, &a->n_tags);
	refuse_future("feed", a->feed, a->news_id, &a->published_at, &a->published_claimed,
		      a->seen_at_us);
	if (!a->content_hash[0])
		store_article_hash(a);
	bool lazy = s->cfg.warm_lazily && !s->warmed && s->cfg.dedup_window_ms > 0;
	if (lazy) {
		s->warm_wanted = true;
	} else if (dedup_lookup(s->dedup, a->source, a->news_id, hash64(a->content_hash),
				a->feed) == DEDUP_SAME) {
		s->stats.duplicates++;
		if (s->h.on_article)
			s->h.on_article(s->h.ctx, a, STORE_DUPLICATE);
		store_article_free(a);
		return STORE_DUPLICATE;
	}
	struct item *it = item_new(s, ITEM_ARTICLE);
	it->u.article = a;
	it->unchecked = lazy;
	enqueue(s, it);
	return 0;
}

void store_submit_poll(struct store *s, struct store_poll *p)
{
	struct item *it = item_new(s, ITEM_POLL);
	it->u.poll = p;
	enqueue(s, it);
}

void store_submit_page(struct store *s, struct store_page *p)
{
	bound_news_id(&p->news_id);
	bound_tags(p->tags, &p->n_tags);
	refuse_future("page of source", p->source, p->news_id, &p->published_at,
		      &p->published_claimed, p->seen_at_us);
	if (strcmp(p->status, "ok") == 0 && !p->content_hash[0])
		store_page_hash(p);
	struct item *it = item_new(s, ITEM_PAGE);
	it->u.page = p;
	enqueue(s, it);
}

void store_claim_visits(struct store *s, const char *const *sources, size_t n_sources, int limit,
			int lease_s)
{
	struct claim *cl = xcalloc(1, sizeof *cl);
	cl->sources = xcalloc(n_sources ? n_sources : 1, sizeof *cl->sources);
	for (size_t i = 0; i < n_sources; i++)
		cl->sources[i] = xstrdup(sources[i]);
	cl->n_sources = n_sources;
	cl->limit = limit;
	cl->lease_s = lease_s;
	struct item *it = item_new(s, ITEM_CLAIM);
	it->u.claim = cl;
	push_back(s, it);
	poke(s);
}

void store_release_visits(struct store *s, const char *const *sources, const char *const *news_ids,
			  size_t n)
{
	struct claim *cl = xcalloc(1, sizeof *cl);
	cl->sources = xcalloc(n ? n : 1, sizeof *cl->sources);
	cl->news_ids = xcalloc(n ? n : 1, sizeof *cl->news_ids);
	for (size_t i = 0; i < n; i++) {
		cl->sources[i] = xstrdup(sources[i]);
		cl->news_ids[i] = xstrdup(news_ids[i]);
	}
	cl->n_sources = n;
	struct item *it = item_new(s, ITEM_RELEASE);
	it->u.claim = cl;
	push_back(s, it);
	poke(s);
}

void store_sync_source(struct store *s, const char *name, const char *home)
{
	struct item *it = item_new(s, ITEM_SOURCE);
	it->u.source.name = xstrdup(name);
	it->u.source.home = home ? xstrdup(home) : NULL;
	push_registration(s, it);
	poke(s);
}

void store_sync_feed(struct store *s, const char *name, const char *source, const char *url,
		     int interval_s, bool enabled)
{
	struct item *it = item_new(s, ITEM_FEED);
	it->u.feed.name = xstrdup(name);
	it->u.feed.source = xstrdup(source);
	it->u.feed.url = xstrdup(url);
	it->u.feed.interval_s = interval_s;
	it->u.feed.enabled = enabled;
	push_registration(s, it);
	poke(s);
}

size_t store_backlog(const struct store *s)
{
	return s->n_queued + s->n_in_flight + s->n_syncing;
}

uint64_t store_spooled(const struct store *s)
{
	return s->spool ? spool_pending(s->spool) : 0;
}

bool store_spool_full(const struct store *s)
{
	return s->spool_full;
}

/* Appends it unless it is in the spool already; true when it is there. */
static bool spool_copy(struct store *s, struct item *it, struct buf *err)
{
	if (!spoolable(it) || it->from_spool) /* nothing to keep, or kept already */
		return true;
	encode(it, &s->rec);
	return spool_append(s->spool, s->rec.data, s->rec.len, err) == 0;
}

size_t store_unspooled(const struct store *s)
{
	if (!s->spool)
		return store_backlog(s);
	size_t n = 0;
	for (const struct item *it = s->head; it; it = it->next)
		n += spoolable(it) && !it->from_spool;
	for (size_t i = 0; i < s->sent_count; i++) {
		const struct cmd *c = sent_at(s, i);
		for (size_t k = 0; k < cmd_n_items(c); k++)
			n += spoolable(cmd_item(c, k)) && !cmd_item(c, k)->from_spool;
	}
	return n;
}

size_t store_spool_all(struct store *s)
{
	size_t total = store_backlog(s);
	if (!s->spool)
		return total;
	size_t missed = 0;
	struct buf err;
	buf_init(&err);
	for (struct item *it = s->head; it; it = it->next)
		missed += !spool_copy(s, it, &err);
	for (size_t i = 0; i < s->sent_count; i++) {
		const struct cmd *c = sent_at(s, i);
		for (size_t k = 0; k < cmd_n_items(c); k++)
			missed += !spool_copy(s, cmd_item(c, k), &err);
	}
	/* Those waiting for their sync are in the spool already. */
	if (spool_sync(s->spool, &err) != 0) {
		LOG_ERR("spool: %s", buf_str(&err));
		missed = total;
	}
	buf_free(&err);
	return missed;
}

const char *store_problem(const struct store *s, bool *unusable)
{
	if (unusable)
		*unusable = s->problem_unusable;
	return s->problem[0] ? s->problem : NULL;
}

bool store_ready(const struct store *s)
{
	return s->state == ST_READY;
}

void store_get_stats(const struct store *s, struct store_stats *out)
{
	*out = s->stats;
}

const struct dedup *store_dedup(const struct store *s)
{
	return s->dedup;
}

void store_set_batching(struct store *s, int batch_size, int64_t batch_delay_ms)
{
	s->cfg.batch_size = batch_size < 1 ? 1 : batch_size;
	s->cfg.batch_delay_ms = batch_delay_ms;
}
