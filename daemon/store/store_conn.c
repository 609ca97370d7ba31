/*
 * store_conn: the store's connection and its pipeline (see store_int.h).
 *
 * The connection is a small state machine (backoff -> connecting -> setup ->
 * ready).  Every command sent is recorded in the sent queue in the order
 * libpq will return its results, so each result finds what it belongs to:
 * the schema check, a PREPARE, the dedup warm-up, one item of a batch, a
 * run of a batch's polls, or the sync that ends a batch; store_result.c
 * says what each answer means.  Batches are formed from the queue's head
 * while results are read, never more than max_batches_in_flight.  A server
 * that does not answer for stall_timeout is left; every failure drops the
 * connection, queues again what was sent, and reconnects after a backoff
 * with jitter.
 */
#include "store_int.h"

#include "feedd/dedup.h"
#include "feedd/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void dispatch(struct store *s);
static void flush(struct store *s);

/* ---- stalls -------------------------------------------------------------- */

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
	store_drop_connection(s, NULL, 0, why);
}

int store_stalls(const struct store *s)
{
	return s->stalls;
}

void store_set_stall_timeout(struct store *s, int64_t ms)
{
	s->cfg.stall_timeout_ms = ms < 1 ? 1 : ms;
}

/* ---- the queue of commands sent ------------------------------------------ */

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

static struct batch *batch_new(bool setup)
{
	struct batch *b = xcalloc(1, sizeof *b);
	b->setup = setup;
	return b;
}

/* ---- the connection ------------------------------------------------------ */

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
	ms += (int64_t)((double)ms * 0.4 * (jitter_unit(s->jitter) - 0.5));
	s->backoff_ms = s->backoff_ms * 2 > s->cfg.reconnect_max_ms ? s->cfg.reconnect_max_ms
								    : s->backoff_ms * 2;
	ev_timer_stop(s->loop, &s->retry);
	ev_timer_set(&s->retry, (double)ms / 1000.0, 0.);
	ev_timer_start(s->loop, &s->retry);
	LOG_INFO("database: reconnecting in %.1f s", (double)ms / 1000.0);
}

/* Everything sent and not committed is queued again, in its original order,
 * in front of what was never sent: first[0..n_first) (the items of a batch
 * already taken off the sent queue, which were sent before everything still
 * on it), then the sent queue's. */
void store_drop_connection(struct store *s, struct item **first, size_t n_first, const char *why)
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
		for (size_t i = 0; i < batch_n_items(c); i++) {
			struct item *it = batch_item(c, i);
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				items = xrealloc(items, cap * sizeof *items);
			}
			it->failed = false;
			items[n++] = it;
		}
		if (c->kind == CMD_SYNC)
			store_batch_free(c->batch);
		sent_pop(s);
	}
	store_push_front(s, items, n);
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
		store_spool_queued(s);
	if (was_ready && s->h.on_state)
		s->h.on_state(s->h.ctx, false);
	schedule_reconnect(s);
}

static void disconnect(struct store *s, const char *why)
{
	store_drop_connection(s, NULL, 0, why);
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
					"fallback_application_name",
					"dbname",
					NULL};

static const char *const conn_defaults[] = {
	"1", "30", "10", "3", "60000", "-c statement_timeout=300s -c lock_timeout=60s"};

PGconn *store_conn_start(const char *conninfo, const char *name)
{
	const char *values[ARRAY_LEN(conn_keys)];
	memcpy(values, conn_defaults, sizeof conn_defaults);
	values[ARRAY_LEN(conn_keys) - 3] = name;
	values[ARRAY_LEN(conn_keys) - 2] = conninfo;
	values[ARRAY_LEN(conn_keys) - 1] = NULL;
	return PQconnectStartParams(conn_keys, values, 1);
}

void store_connect(struct store *s)
{
	s->conn = store_conn_start(s->conninfo, "feedd");
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
	store_connect(w->data);
}

static void send_setup(struct store *s)
{
	struct batch *b = batch_new(true);
	PGconn *c = s->conn;
	if (PQsetnonblocking(c, 1) != 0 || PQenterPipelineMode(c) != 1) {
		store_batch_free(b);
		lost(s, "cannot enter pipeline mode");
		return;
	}
	s->state = ST_SETUP;
	bool ok = store_sql_send_version(c);
	if (ok)
		sent_push(s, CMD_VERSION, b, NULL);
	for (size_t i = 0; ok && i < store_sql_n_statements(); i++) {
		ok = store_sql_send_prepare(c, i);
		if (ok)
			sent_push(s, CMD_PREPARE, b, NULL);
	}
	if (ok && !s->warmed && s->cfg.dedup_window_ms > 0 && !s->cfg.warm_lazily) {
		ok = store_sql_send_warm(c, s->cfg.dedup_window_ms);
		if (ok)
			sent_push(s, CMD_WARM, b, NULL);
	}
	if (ok && s->h.on_feed_state) {
		ok = store_sql_send_feed_state(c);
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

static void setup_done(struct store *s, struct batch *b)
{
	if (b->error || !b->schema_ok) {
		char msg[600];
		snprintf(msg, sizeof msg, "%s",
			 b->error ? b->error : "schema check gave no answer");
		store_set_problem(s, FAIL_UNUSABLE, msg, b->sqlstate, true);
		store_batch_free(b);
		LOG_ERR("database: %s", msg);
		disconnect(s, "setup failed");
		return;
	}
	store_batch_free(b);
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

/* ---- reading results ----------------------------------------------------- */

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
			struct drop_request drop;
			if (b->setup) {
				setup_done(s, b);
			} else if (store_batch_done(s, b, &drop)) {
				store_drop_connection(s, drop.items, drop.n, drop.why);
				free(drop.items);
				return -1;
			}
			continue;
		}
		if (c->kind == CMD_SYNC) {
			PQclear(r);
			disconnect(s, "pipeline out of step (an extra result)");
			return -1;
		}
		store_handle_result(s, c, r);
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

/* A run of a batch's articles or polls, gathered to go as one statement:
 * feedd.store_articles and feedd.record_fetches take arrays (issue 14). */
struct gather {
	struct item **arts, **polls;
	size_t n_arts, n_polls;
};

/* Sends items[0..n) as one statement of kind (CMD_ARTICLES, CMD_POLLS), or
 * as a lone item when n is 1; they join b->items.  false when libpq did not
 * take it (nothing joined). */
static bool send_run(struct store *s, struct batch *b, struct item **items, size_t n,
		     enum cmd_kind kind)
{
	if (n == 0)
		return true;
	bool ok = n == 1	    ? store_sql_send_item(s->conn, items[0])
		: kind == CMD_POLLS ? store_sql_send_polls(s->conn, items, n)
				    : store_sql_send_articles(s->conn, items, n);
	if (!ok)
		return false;
	size_t first = b->n;
	for (size_t i = 0; i < n; i++) {
		items[i]->solo = false;
		b->items[first + i] = items[i];
	}
	b->n += n;
	if (n == 1) {
		sent_push(s, CMD_ITEM, b, items[0]);
	} else {
		sent_push(s, kind, b, NULL);
		struct cmd *c = sent_at(s, s->sent_count - 1);
		c->first = first;
		c->count = n;
	}
	return true;
}

/* Sends what g gathered: the articles, then the polls (a poll record only
 * has to follow its own feed's articles, which were queued before it).  On
 * failure what was not sent goes back to the queue's front in that order,
 * followed by after (if not NULL), and false. */
static bool flush_gathered(struct store *s, struct batch *b, struct gather *g, struct item *after)
{
	bool arts_ok = send_run(s, b, g->arts, g->n_arts, CMD_ARTICLES);
	bool ok = arts_ok && send_run(s, b, g->polls, g->n_polls, CMD_POLLS);
	if (!ok) {
		if (after)
			store_push_front(s, &after, 1);
		store_push_front(s, g->polls, g->n_polls);
		if (!arts_ok)
			store_push_front(s, g->arts, g->n_arts);
	}
	g->n_arts = g->n_polls = 0;
	return ok;
}

/* An article queued before the warm-up answered is looked up now: true
 * when the dedup set knows it as it is (answered and freed). */
static bool known_now(struct store *s, struct item *it)
{
	if (!it->unchecked)
		return false;
	struct store_article *a = it->u.article;
	it->unchecked = false;
	if (dedup_lookup(s->dedup, a->source, a->news_id, hash64(a->content_hash), a->feed) !=
	    DEDUP_SAME)
		return false;
	s->stats.duplicates++;
	store_tell_article(s, a, STORE_DUPLICATE);
	store_item_free(it);
	return true;
}

/* One batch: up to batch_size items (one when the first is to go alone)
 * in one transaction, ended by a sync.  Articles and poll records gather
 * into one statement each (see flush_gathered); every other item is its
 * own statement, in queue order. */
static void send_batch(struct store *s)
{
	struct batch *b = batch_new(false);
	b->sent_at = ev_now(s->loop);
	size_t max = store_first(s)->solo ? 1 : (size_t)s->cfg.batch_size;
	b->items = xmalloc(max * sizeof *b->items);
	struct gather g = {.arts = xmalloc(max * sizeof *g.arts),
			   .polls = xmalloc(max * sizeof *g.polls)};
	bool failed = false;
	size_t taken = 0;
	while (taken < max && store_first(s) && (taken == 0 || !store_first(s)->solo)) {
		struct item *it = store_pop_front(s);
		if (it->kind == ITEM_ARTICLE && known_now(s, it))
			continue;
		taken++;
		if (it->kind == ITEM_ARTICLE) {
			g.arts[g.n_arts++] = it;
			continue;
		}
		if (it->kind == ITEM_POLL) {
			g.polls[g.n_polls++] = it;
			continue;
		}
		if (!flush_gathered(s, b, &g, it)) {
			failed = true;
			break;
		}
		if (!store_sql_send_item(s->conn, it)) {
			store_push_front(s, &it, 1);
			failed = true;
			break;
		}
		it->solo = false;
		b->items[b->n++] = it;
		sent_push(s, CMD_ITEM, b, it);
	}
	if (!failed && !flush_gathered(s, b, &g, NULL))
		failed = true;
	free(g.arts);
	free(g.polls);
	if (b->n == 0 && !failed) { /* all were duplicates */
		store_batch_free(b);
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

/* Ends one statement, just sent if sent, as a batch of its own, outside
 * batches_in_flight. */
static bool send_alone(struct store *s, struct batch *b, enum cmd_kind kind, bool sent)
{
	if (sent)
		sent_push(s, kind, b, NULL);
	bool ok = sent && PQpipelineSync(s->conn) == 1;
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
	s->warm_in_flight = true;
	if (!send_alone(s, b, CMD_WARM, store_sql_send_warm(s->conn, s->cfg.dedup_window_ms)))
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
	if (!send_alone(s, b, CMD_SETTLE, store_sql_send_settle(s->conn)))
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
		store_spool_refill(s);
	while (s->state == ST_READY && store_first(s) &&
	       s->batches_in_flight < s->cfg.max_batches_in_flight) {
		bool full = s->n_queued >= (size_t)s->cfg.batch_size || store_first(s)->solo;
		if (!full && s->batches_in_flight > 0) {
			/* A partial batch waits for company while others are
			 * in flight, but never longer than batch_delay. */
			double wait = store_first(s)->queued_at +
				(double)s->cfg.batch_delay_ms / 1000.0 - ev_now(s->loop);
			if (wait > 0) {
				if (!ev_is_active(&s->kick)) {
					ev_timer_set(&s->kick, wait, 0.);
					ev_timer_start(s->loop, &s->kick);
				}
				return;
			}
		}
		send_batch(s);
		store_spool_refill(s);
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

void store_poke(struct store *s)
{
	if (s->state == ST_READY && !ev_is_active(&s->kick)) {
		ev_timer_set(&s->kick, 0., 0.);
		ev_timer_start(s->loop, &s->kick);
	}
}

/* ---- setting up and tearing down ----------------------------------------- */

void store_conn_init(struct store *s)
{
	ev_init(&s->io, on_io);
	s->io.data = s;
	ev_init(&s->retry, on_retry);
	s->retry.data = s;
	ev_init(&s->kick, on_kick);
	s->kick.data = s;
	ev_init(&s->stall, on_stall);
	s->stall.data = s;
	/* The daemon's generator when it hands one over; else one of the
	 * store's own, seeded from its address and the time, so that two
	 * stores started together draw apart. */
	if (s->cfg.jitter) {
		s->jitter = s->cfg.jitter;
	} else {
		jitter_seed(&s->own_jitter, (uint64_t)(uintptr_t)s ^ (uint64_t)(ev_time() * 1e6));
		s->jitter = &s->own_jitter;
	}
}

void store_conn_close(struct store *s)
{
	ev_io_stop(s->loop, &s->io);
	ev_timer_stop(s->loop, &s->retry);
	ev_timer_stop(s->loop, &s->kick);
	ev_timer_stop(s->loop, &s->stall);
	while (s->sent_count) {
		struct cmd *c = sent_peek(s);
		for (size_t i = 0; i < batch_n_items(c); i++)
			store_item_free(batch_item(c, i));
		if (c->kind == CMD_SYNC)
			store_batch_free(c->batch);
		sent_pop(s);
	}
	free(s->sent);
	if (s->conn)
		PQfinish(s->conn);
}
