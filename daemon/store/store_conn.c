/*
 * store_conn: the store's connection and its pipeline (see store_int.h).
 *
 * Each lane's connection (see store_int.h) is a small state machine
 * (backoff -> connecting -> setup -> ready).  Every command sent is recorded in the sent queue in the order
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

static void dispatch(struct lane *l);
static void flush(struct lane *l);

/* ---- stalls -------------------------------------------------------------- */

/* Whether the store waits for the server: connecting, or commands sent
 * and not all answered. */
static bool waiting(const struct lane *l)
{
	return l->conn && (l->state == ST_CONNECTING || l->sent_count > 0);
}

/* Called whenever what the store waits for may have changed; answered:
 * the server has just said something.  The stall timer runs while the
 * store waits, stall_timeout from the last answer (or from when the wait
 * began); on_stall leaves the connection when it expires. */
static void watch_stall(struct lane *l, bool answered)
{
	struct store *s = l->s;
	if (answered)
		l->stalls = 0;
	if (!waiting(l)) {
		ev_timer_stop(s->loop, &l->stall);
		return;
	}
	if (answered || !ev_is_active(&l->stall)) {
		l->stall.repeat = (double)s->cfg.stall_timeout_ms / 1000.0;
		ev_timer_again(s->loop, &l->stall);
	}
}

static void on_stall(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lane *l = w->data;
	struct store *s = l->s;
	ev_timer_stop(loop, w);
	l->stalls++;
	char why[200];
	if (l->state == ST_CONNECTING)
		snprintf(why, sizeof why, "no answer from the server for %.0f s while connecting",
			 (double)s->cfg.stall_timeout_ms / 1000.0);
	else
		snprintf(why, sizeof why, "no answer from the server for %.0f s to %zu commands",
			 (double)s->cfg.stall_timeout_ms / 1000.0, l->sent_count);
	LOG_ERR("%s: %s (stall %d in a row); leaving the connection, everything is kept", l->name,
		why, l->stalls);
	snprintf(s->problem, sizeof s->problem, "%s", why);
	s->problem_unusable = false;
	store_drop_connection(l, NULL, 0, why);
}

int store_stalls(const struct store *s)
{
	int most = 0;
	for (size_t i = 0; i < s->n_lanes; i++)
		most = s->lanes[i]->stalls > most ? s->lanes[i]->stalls : most;
	return most;
}

void store_set_stall_timeout(struct store *s, int64_t ms)
{
	s->cfg.stall_timeout_ms = ms < 1 ? 1 : ms;
}

/* ---- the queue of commands sent ------------------------------------------ */

static void sent_push(struct lane *l, enum cmd_kind kind, struct batch *b, struct item *it)
{
	if (l->sent_count == l->sent_cap) {
		size_t cap = l->sent_cap ? l->sent_cap * 2 : 64;
		struct cmd *ring = xcalloc(cap, sizeof *ring);
		for (size_t i = 0; i < l->sent_count; i++)
			ring[i] = l->sent[(l->sent_head + i) % l->sent_cap];
		free(l->sent);
		l->sent = ring;
		l->sent_cap = cap;
		l->sent_head = 0;
	}
	l->sent[(l->sent_head + l->sent_count) % l->sent_cap] =
		(struct cmd){.kind = kind, .batch = b, .item = it};
	l->sent_count++;
	watch_stall(l, false);
}

static struct batch *batch_new(bool setup)
{
	struct batch *b = xcalloc(1, sizeof *b);
	b->setup = setup;
	return b;
}

/* ---- the connection ------------------------------------------------------ */

static void watch(struct lane *l, int fd, int events)
{
	struct ev_loop *loop = l->s->loop;
	if (ev_is_active(&l->io) && l->io.fd == fd && l->io.events == events)
		return;
	ev_io_stop(loop, &l->io);
	if (fd < 0)
		return;
	ev_io_set(&l->io, fd, events);
	ev_io_start(loop, &l->io);
}

static void schedule_reconnect(struct lane *l)
{
	struct store *s = l->s;
	int64_t ms = l->backoff_ms;
	/* +-20% so that many instances do not reconnect in step. */
	ms += (int64_t)((double)ms * 0.4 * (jitter_unit(s->jitter) - 0.5));
	l->backoff_ms = l->backoff_ms * 2 > s->cfg.reconnect_max_ms ? s->cfg.reconnect_max_ms
								    : l->backoff_ms * 2;
	ev_timer_stop(s->loop, &l->retry);
	ev_timer_set(&l->retry, (double)ms / 1000.0, 0.);
	ev_timer_start(s->loop, &l->retry);
	LOG_INFO("%s: reconnecting in %.1f s", l->name, (double)ms / 1000.0);
}

/* Everything sent and not committed is queued again, in its original order,
 * in front of what was never sent: first[0..n_first) (the items of a batch
 * already taken off the sent queue, which were sent before everything still
 * on it), then the sent queue's. */
void store_drop_connection(struct lane *l, struct item **first, size_t n_first, const char *why)
{
	struct store *s = l->s;
	bool was_ready = l->state == ST_READY;
	size_t n = n_first, cap = n_first;
	struct item **items = n_first ? xmalloc(n_first * sizeof *items) : NULL;
	for (size_t i = 0; i < n_first; i++) {
		first[i]->failed = false;
		items[i] = first[i];
	}
	while (l->sent_count) {
		struct cmd *c = sent_peek(l);
		for (size_t i = 0; i < batch_n_items(c); i++) {
			struct item *it = batch_item(c, i);
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				items = xrealloc(items, cap * sizeof *items);
			}
			it->failed = false;
			/* Its answer is lost, not perhaps its commit. */
			if (it->kind == ITEM_FEED_CLAIM)
				it->u.feed_claim->mine = true;
			items[n++] = it;
		}
		if (c->kind == CMD_SYNC)
			store_batch_free(c->batch);
		sent_pop(l);
	}
	store_push_front(s, items, n);
	free(items);
	s->stats.resent += n;
	l->batches_in_flight = 0;
	l->n_in_flight = 0;
	l->regs_in_flight = 0;
	memset(l->part_in_flight, 0, s->n_lanes * sizeof *l->part_in_flight);
	l->settle_in_flight = false;
	if (l->index == 0)
		s->warm_in_flight = false;

	ev_io_stop(s->loop, &l->io);
	ev_timer_stop(s->loop, &l->kick);
	ev_timer_stop(s->loop, &l->stall);
	if (l->conn)
		PQfinish(l->conn);
	l->conn = NULL;
	l->state = ST_BACKOFF;
	if (was_ready || n)
		LOG_WARN("%s: %s; %zu items will be sent again, %zu queued", l->name, why, n,
			 s->n_queued);
	else
		LOG_WARN("%s: %s", l->name, why);
	/* What waits goes to the spool while the main lane is away; while
	 * only this lane is, the main lane takes its partition. */
	if (s->spool && main_lane(s)->state != ST_READY)
		store_spool_queued(s);
	else if (n)
		store_poke(s);
	if (l->index == 0 && was_ready && s->h.on_state)
		s->h.on_state(s->h.ctx, false);
	schedule_reconnect(l);
}

static void disconnect(struct lane *l, const char *why)
{
	store_drop_connection(l, NULL, 0, why);
}

/* libpq's messages end in newlines and may span lines; keep the first. */
static const char *first_line(PGconn *conn, char *buf, size_t n)
{
	snprintf(buf, n, "%s", conn ? PQerrorMessage(conn) : "out of memory");
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static void lost(struct lane *l, const char *what)
{
	char msg[512], line[400];
	snprintf(msg, sizeof msg, "%s: %s", what, first_line(l->conn, line, sizeof line));
	disconnect(l, msg);
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

/* A lane has a connection (being made, set up or ready) or a reconnect
 * pending, never both: a second connection would leak the first.  The
 * retry is stopped here, not only tested for by the callers: a timer that
 * has expired is no longer active but still pending, so wake_helpers could
 * connect a helper lane in the same loop iteration as, and just before,
 * its retry callback connected it again (a leaked PGconn, found by looping
 * test_dbfaults under ASan).  Stopping the timer also clears its pending
 * call. */
static void lane_connect(struct lane *l)
{
	ev_timer_stop(l->s->loop, &l->retry);
	if (l->conn)
		return;
	l->conn = store_conn_start(l->s->conninfo, l->app);
	if (!l->conn || PQstatus(l->conn) == CONNECTION_BAD) {
		lost(l, "cannot connect");
		return;
	}
	l->state = ST_CONNECTING;
	watch_stall(l, false);
	/* libpq: poll as if PQconnectPoll had answered PGRES_POLLING_WRITING. */
	watch(l, PQsocket(l->conn), EV_WRITE);
}

/* The main lane connects at once; the helper lanes when the queue first
 * holds more than a batch (wake_helpers), so that a daemon whose articles
 * come a few at a time, and a once with nothing new, never open them. */
void store_connect(struct store *s)
{
	lane_connect(main_lane(s));
}

static void wake_helpers(struct store *s)
{
	for (size_t i = 1; i < s->n_lanes; i++) {
		struct lane *h = s->lanes[i];
		if (h->state == ST_BACKOFF && !h->conn && !ev_is_active(&h->retry))
			lane_connect(h);
	}
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	lane_connect(w->data);
}

/* The schema check and the statements on every lane; the dedup warm-up and
 * the feeds' states on the main lane only. */
static void send_setup(struct lane *l)
{
	struct store *s = l->s;
	struct batch *b = batch_new(true);
	PGconn *c = l->conn;
	if (PQsetnonblocking(c, 1) != 0 || PQenterPipelineMode(c) != 1) {
		store_batch_free(b);
		lost(l, "cannot enter pipeline mode");
		return;
	}
	l->state = ST_SETUP;
	bool ok = store_sql_send_version(c);
	if (ok)
		sent_push(l, CMD_VERSION, b, NULL);
	for (size_t i = 0; ok && i < store_sql_n_statements(); i++) {
		ok = store_sql_send_prepare(c, i);
		if (ok)
			sent_push(l, CMD_PREPARE, b, NULL);
	}
	bool main = l->index == 0;
	if (ok && main && !s->warmed && s->cfg.dedup_window_ms > 0 && !s->cfg.warm_lazily) {
		ok = store_sql_send_warm(c, s->cfg.dedup_window_ms, s->warm_sources);
		if (ok)
			sent_push(l, CMD_WARM, b, NULL);
	}
	if (ok && main && s->h.on_feed_state) {
		ok = store_sql_send_feed_state(c);
		if (ok)
			sent_push(l, CMD_FEED_STATE, b, NULL);
	}
	if (ok)
		ok = PQpipelineSync(c) == 1;
	if (!ok) {
		/* The commands pushed so far point at b; disconnect frees it
		 * through a sync entry, so add one. */
		sent_push(l, CMD_SYNC, b, NULL);
		lost(l, "cannot send the setup commands");
		return;
	}
	sent_push(l, CMD_SYNC, b, NULL);
	s->stats.round_trips++;
	watch(l, PQsocket(c), EV_READ);
	flush(l);
}

static void connect_step(struct lane *l)
{
	switch (PQconnectPoll(l->conn)) {
	case PGRES_POLLING_READING:
		watch(l, PQsocket(l->conn), EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		watch(l, PQsocket(l->conn), EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		watch_stall(l, true);
		send_setup(l);
		break;
	case PGRES_POLLING_FAILED:
	default:
		lost(l, "cannot connect");
		break;
	}
}

static void setup_done(struct lane *l, struct batch *b)
{
	struct store *s = l->s;
	if (b->error || !b->schema_ok) {
		char msg[600];
		snprintf(msg, sizeof msg, "%s",
			 b->error ? b->error : "schema check gave no answer");
		store_set_problem(s, FAIL_UNUSABLE, msg, b->sqlstate, true);
		store_batch_free(b);
		LOG_ERR("%s: %s", l->name, msg);
		disconnect(l, "setup failed");
		return;
	}
	store_batch_free(b);
	l->state = ST_READY;
	l->session_inserted = 0;
	l->settled = false;
	if (l->index != 0) {
		/* A helper lane: its partition leaves the main lane as soon as
		 * what the main lane has of it in flight is answered. */
		LOG_INFO("%s: connected", l->name);
		dispatch(l);
		return;
	}
	if (s->problem_in_setup)
		s->problem[0] = '\0';
	s->spool_announced = false;
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
	dispatch(l);
	/* The helper lanes waited for the main lane. */
	store_poke(s);
}

/* ---- reading results ----------------------------------------------------- */

/* Reads every result that has arrived. Returns -1 if the connection was
 * dropped meanwhile. */
static int read_results(struct lane *l)
{
	bool answered = false;
	while (l->conn && !PQisBusy(l->conn)) {
		PGresult *r = PQgetResult(l->conn);
		struct cmd *c = sent_peek(l);
		if (!r) {
			/* NULL ends one command's results. */
			if (c && c->kind != CMD_SYNC && c->got_result) {
				sent_pop(l);
				continue;
			}
			break;
		}
		answered = true;
		if (!c) {
			LOG_WARN("%s: unexpected result (%s) ignored", l->name,
				 PQresStatus(PQresultStatus(r)));
			PQclear(r);
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			if (c->kind != CMD_SYNC) {
				disconnect(l, "pipeline out of step (a result is missing)");
				return -1;
			}
			struct batch *b = c->batch;
			sent_pop(l);
			struct drop_request drop;
			if (b->setup) {
				setup_done(l, b);
			} else if (store_batch_done(l, b, &drop)) {
				store_drop_connection(l, drop.items, drop.n, drop.why);
				free(drop.items);
				return -1;
			}
			continue;
		}
		if (c->kind == CMD_SYNC) {
			PQclear(r);
			disconnect(l, "pipeline out of step (an extra result)");
			return -1;
		}
		store_handle_result(l->s, c, r);
		PQclear(r);
	}
	if (l->conn && PQstatus(l->conn) == CONNECTION_BAD) {
		lost(l, "connection lost");
		return -1;
	}
	if (answered)
		watch_stall(l, true);
	return l->conn ? 0 : -1;
}

static void flush(struct lane *l)
{
	if (!l->conn || l->state == ST_CONNECTING)
		return;
	int r = PQflush(l->conn);
	if (r < 0) {
		lost(l, "cannot send");
		return;
	}
	watch(l, PQsocket(l->conn), r == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lane *l = w->data;
	if (l->state == ST_CONNECTING) {
		connect_step(l);
		return;
	}
	if (revents & EV_READ) {
		if (PQconsumeInput(l->conn) == 0) {
			lost(l, "connection lost");
			return;
		}
		if (read_results(l) != 0)
			return;
	}
	if (l->state == ST_READY)
		dispatch(l);
	flush(l);
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
static bool send_run(struct lane *l, struct batch *b, struct item **items, size_t n,
		     enum cmd_kind kind)
{
	if (n == 0)
		return true;
	bool ok = n == 1	    ? store_sql_send_item(l->conn, items[0])
		: kind == CMD_POLLS ? store_sql_send_polls(l->conn, items, n)
				    : store_sql_send_articles(l->conn, items, n);
	if (!ok)
		return false;
	size_t first = b->n;
	for (size_t i = 0; i < n; i++) {
		items[i]->solo = false;
		b->items[first + i] = items[i];
	}
	b->n += n;
	if (n == 1) {
		sent_push(l, CMD_ITEM, b, items[0]);
	} else {
		sent_push(l, kind, b, NULL);
		struct cmd *c = sent_at(l, l->sent_count - 1);
		c->first = first;
		c->count = n;
	}
	return true;
}

/* Sends what g gathered: the articles, then the polls (a poll record only
 * has to follow its own feed's articles, which were queued before it).  On
 * failure what was not sent goes back to the queue's front in that order,
 * followed by after (if not NULL), and false. */
static bool flush_gathered(struct lane *l, struct batch *b, struct gather *g, struct item *after)
{
	struct store *s = l->s;
	bool arts_ok = send_run(l, b, g->arts, g->n_arts, CMD_ARTICLES);
	bool ok = arts_ok && send_run(l, b, g->polls, g->n_polls, CMD_POLLS);
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

/* Whether lane l carries it (see the head of store_int.h): the main lane
 * everything but the articles of helper lanes that are ready; a helper
 * lane the articles of its partition, once the main lane has none of them
 * in flight. */
static bool lane_takes(const struct lane *l, const struct item *it)
{
	const struct store *s = l->s;
	if (l->index == 0)
		return it->kind != ITEM_ARTICLE || it->part == 0 ||
			s->lanes[it->part]->state != ST_READY;
	return it->kind == ITEM_ARTICLE && it->part == l->index &&
		main_lane(s)->part_in_flight[l->index] == 0;
}

/* A lane looks this far into the queue for items it carries. */
#define SCAN_LIMIT(batch) (4 * (batch) + 64)

/* One batch: up to batch_size items that the lane carries, taken from the
 * queue in order (one alone when it is to go alone), in one transaction
 * ended by a sync.  Articles and poll records gather into one statement
 * each (see flush_gathered); every other item is its own statement, in
 * queue order.  false when the lane found nothing to carry. */
static bool send_batch(struct lane *l)
{
	struct store *s = l->s;
	struct batch *b = batch_new(false);
	b->sent_at = ev_now(s->loop);
	size_t max = (size_t)s->cfg.batch_size;
	b->items = xmalloc(max * sizeof *b->items);
	struct gather g = {.arts = xmalloc(max * sizeof *g.arts),
			   .polls = xmalloc(max * sizeof *g.polls)};
	bool failed = false, consumed = false;
	size_t taken = 0, scanned = 0;
	struct item *next = store_first(s);
	while (next && taken < max && scanned++ < SCAN_LIMIT(max)) {
		struct item *it = next;
		next = LIST_NEXT(it, struct item, link);
		if (!lane_takes(l, it))
			continue;
		if (it->solo && taken > 0)
			break;
		store_take(s, it);
		if (it->kind == ITEM_ARTICLE && known_now(s, it)) {
			consumed = true;
			continue;
		}
		taken++;
		if (it->solo)
			max = taken;
		if (it->kind == ITEM_ARTICLE) {
			g.arts[g.n_arts++] = it;
			continue;
		}
		if (it->kind == ITEM_POLL) {
			g.polls[g.n_polls++] = it;
			continue;
		}
		if (!flush_gathered(l, b, &g, it)) {
			failed = true;
			break;
		}
		if (!store_sql_send_item(l->conn, it)) {
			store_push_front(s, &it, 1);
			failed = true;
			break;
		}
		it->solo = false;
		b->items[b->n++] = it;
		sent_push(l, CMD_ITEM, b, it);
	}
	if (!failed && !flush_gathered(l, b, &g, NULL))
		failed = true;
	free(g.arts);
	free(g.polls);
	/* Counted until store_batch_done (a failure drops the connection,
	 * which clears them). */
	for (size_t i = 0; l->index == 0 && i < b->n; i++) {
		if (b->items[i]->kind == ITEM_ARTICLE)
			l->part_in_flight[b->items[i]->part]++;
		l->regs_in_flight += store_is_registration(b->items[i]);
	}
	if (b->n == 0 && !failed) { /* nothing, or all were duplicates */
		store_batch_free(b);
		return consumed;
	}
	if (b->n == 0 || PQpipelineSync(l->conn) != 1) {
		/* Whatever was sent goes back through the sent queue. */
		sent_push(l, CMD_SYNC, b, NULL);
		l->batches_in_flight++;
		l->n_in_flight += b->n;
		lost(l, "cannot send a batch");
		return false;
	}
	sent_push(l, CMD_SYNC, b, NULL);
	l->batches_in_flight++;
	l->n_in_flight += b->n;
	s->stats.round_trips++;
	return true;
}

/* Ends one statement, just sent if sent, as a batch of its own, outside
 * batches_in_flight. */
static bool send_alone(struct lane *l, struct batch *b, enum cmd_kind kind, bool sent)
{
	if (sent)
		sent_push(l, kind, b, NULL);
	bool ok = sent && PQpipelineSync(l->conn) == 1;
	sent_push(l, CMD_SYNC, b, NULL);
	if (ok)
		l->s->stats.round_trips++;
	return ok;
}

/* The dedup set's warm-up, sent on the main lane when the first article
 * needs it. */
static void send_warm(struct lane *l)
{
	struct store *s = l->s;
	struct batch *b = batch_new(false);
	b->warm = true;
	s->warm_in_flight = true;
	if (!send_alone(l, b, CMD_WARM,
			store_sql_send_warm(l->conn, s->cfg.dedup_window_ms, s->warm_sources)))
		lost(l, "cannot send the dedup warm-up");
}

/* Enough articles inserted in this session for feedd.settle_statistics()
 * to be worth a call: the foreign-key plans it corrects were made at the
 * session's first insert. */
#define SETTLE_AFTER 500

static void send_settle(struct lane *l)
{
	struct batch *b = batch_new(false);
	b->settle = true;
	l->settle_in_flight = true;
	if (!send_alone(l, b, CMD_SETTLE, store_sql_send_settle(l->conn)))
		lost(l, "cannot send feedd.settle_statistics()");
}

/* Registrations queued (at the head) or in flight on the main lane: the
 * helper lanes wait for them. */
static bool registering(const struct store *s)
{
	const struct item *first = store_first(s);
	return main_lane(s)->regs_in_flight > 0 || (first && store_is_registration(first));
}

static void dispatch(struct lane *l)
{
	struct store *s = l->s;
	bool main = l->index == 0;
	if (l->state != ST_READY)
		return;
	if (main && s->warm_wanted && !s->warmed && !s->warm_in_flight)
		send_warm(l);
	/* Articles queued meanwhile are looked up once it is answered. */
	if (s->warm_in_flight)
		return;
	if (!main && (main_lane(s)->state != ST_READY || registering(s)))
		return;
	if (!l->settled && !l->settle_in_flight && l->session_inserted >= SETTLE_AFTER)
		send_settle(l);
	size_t before = s->n_queued;
	if (main)
		store_spool_refill(s);
	while (l->state == ST_READY && store_first(s) &&
	       l->batches_in_flight < s->cfg.max_batches_in_flight) {
		bool full = s->n_queued >= (size_t)s->cfg.batch_size || store_first(s)->solo;
		if (!full && l->batches_in_flight > 0) {
			/* A partial batch waits for company while others are
			 * in flight, but never longer than batch_delay. */
			double wait = store_first(s)->queued_at +
				(double)s->cfg.batch_delay_ms / 1000.0 - ev_now(s->loop);
			if (wait > 0) {
				if (!ev_is_active(&l->kick)) {
					ev_timer_set(&l->kick, wait, 0.);
					ev_timer_start(s->loop, &l->kick);
				}
				return;
			}
		}
		if (!send_batch(l))
			break;
		if (main)
			store_spool_refill(s);
	}
	/* A backlog is for the helper lanes, and so is what the spool gave. */
	if (main && s->n_lanes > 1) {
		if (s->n_queued > (size_t)s->cfg.batch_size)
			wake_helpers(s);
		if (s->n_queued > before)
			store_poke(s);
	}
}

static void on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lane *l = w->data;
	if (l->state != ST_READY)
		return;
	dispatch(l);
	flush(l);
}

void store_poke(struct store *s)
{
	for (size_t i = 0; i < s->n_lanes; i++) {
		struct lane *l = s->lanes[i];
		if (l->state == ST_READY && !ev_is_active(&l->kick)) {
			ev_timer_set(&l->kick, 0., 0.);
			ev_timer_start(s->loop, &l->kick);
		}
	}
}

/* ---- setting up and tearing down ----------------------------------------- */

void store_conn_init(struct store *s)
{
	/* The daemon's generator when it hands one over; else one of the
	 * store's own, seeded from its address and the time, so that two
	 * stores started together draw apart. */
	if (s->cfg.jitter) {
		s->jitter = s->cfg.jitter;
	} else {
		jitter_seed(&s->own_jitter, (uint64_t)(uintptr_t)s ^ (uint64_t)(ev_time() * 1e6));
		s->jitter = &s->own_jitter;
	}
	s->n_lanes = s->cfg.connections < 1 ? 1 : (size_t)s->cfg.connections;
	s->lanes = xcalloc(s->n_lanes, sizeof *s->lanes);
	for (size_t i = 0; i < s->n_lanes; i++) {
		struct lane *l = xcalloc(1, sizeof *l);
		l->s = s;
		l->index = (unsigned)i;
		if (i == 0) {
			snprintf(l->name, sizeof l->name, "database");
			snprintf(l->app, sizeof l->app, "feedd");
		} else {
			snprintf(l->name, sizeof l->name, "database connection %u",
				 (unsigned)i + 1);
			snprintf(l->app, sizeof l->app, "feedd %u", (unsigned)i + 1);
		}
		l->state = ST_BACKOFF;
		l->backoff_ms = s->cfg.reconnect_min_ms > 0 ? s->cfg.reconnect_min_ms : 250;
		l->part_in_flight = xcalloc(s->n_lanes, sizeof *l->part_in_flight);
		ev_init(&l->io, on_io);
		ev_init(&l->retry, on_retry);
		ev_init(&l->kick, on_kick);
		ev_init(&l->stall, on_stall);
		l->io.data = l->retry.data = l->kick.data = l->stall.data = l;
		s->lanes[i] = l;
	}
}

void store_conn_close(struct store *s)
{
	for (size_t k = 0; k < s->n_lanes; k++) {
		struct lane *l = s->lanes[k];
		ev_io_stop(s->loop, &l->io);
		ev_timer_stop(s->loop, &l->retry);
		ev_timer_stop(s->loop, &l->kick);
		ev_timer_stop(s->loop, &l->stall);
		while (l->sent_count) {
			struct cmd *c = sent_peek(l);
			for (size_t i = 0; i < batch_n_items(c); i++)
				store_item_free(batch_item(c, i));
			if (c->kind == CMD_SYNC)
				store_batch_free(c->batch);
			sent_pop(l);
		}
		free(l->sent);
		if (l->conn)
			PQfinish(l->conn);
		free(l->part_in_flight);
		free(l);
	}
	free(s->lanes);
	s->lanes = NULL;
	s->n_lanes = 0;
}
