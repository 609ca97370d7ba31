/*
 * indexer: the search vector filled off the critical path, by workers on
 * PostgreSQL connections of their own (see indexer.h).  Each worker sends
 * one command at a time, never pipelined: SELECT ... FROM
 * feedd.index_search(BATCH), which skips the rows another worker holds.
 * Worker 0 does the steady work: a poke (articles committed) is followed
 * by its call POKE_DELAY_S later, so that a burst of commits is indexed
 * together, and a call every PERIOD_S catches up on what an earlier run
 * left.  A call that finds a full batch is a backlog: its worker calls
 * again at once, and every other worker that is free joins in, so that a
 * first ingestion is indexed on every CPU the store has left.  Each
 * connection is made like the store's (store_conn_start) and, when lost,
 * made again after a backoff that doubles up to BACKOFF_MAX_S.
 *
 * Worker 0 also keeps polls' partitions for `feedd run` (the polls upkeep,
 * indexer_set_polls_upkeep): feedd.maintain_polls once connected and every
 * UPKEEP_PERIOD_S after, between two of its calls, so that the store's
 * connections never wait for it.  After each, the article retention
 * (indexer_set_article_retention): feedd.prune_articles, PRUNE_BATCH
 * articles a call, called again while a call deletes a full batch, taking
 * turns with the index calls and, like them, waiting while the store has
 * articles to write.
 */
#include "store_int.h"

#include "feedd/indexer.h"
#include "feedd/log.h"

#include <stdlib.h>
#include <string.h>

/* Articles per call: about a hundred milliseconds of work on a small
 * machine, so that the lag moves in small steps and so that a claim of due
 * pages, which waits for the rows a call holds (feedd.claim_visits), and
 * the store's pipeline behind it, wait only that long. */
#define BATCH 500
#define POKE_DELAY_S 1.0
#define PERIOD_S 5.0
#define BACKOFF_MIN_S 1.0
#define BACKOFF_MAX_S 60.0
/* A call unanswered this long (a server that stopped without closing the
 * connection: statement_timeout cannot end it) leaves the connection, as
 * the store's stall_timeout does by default. */
#define STALL_S 600.0
/* While the store has articles to write, a call waits (looking again every
 * YIELD_CHECK_S), so that a first ingestion's writes get the CPUs first;
 * but never once the oldest article without a vector has waited
 * YIELD_MAX_S: the lag stays bounded under a store that is never idle. */
#define YIELD_CHECK_S 0.25
#define YIELD_MAX_S 5.0

/* The polls upkeep: how often, and how soon again after a failure. */
#define UPKEEP_PERIOD_S 3600.0
#define UPKEEP_RETRY_S 300.0
/* Articles deleted a call: a few tens of milliseconds and as many row locks. */
#define PRUNE_BATCH 1000

static const char *const sql_upkeep = "SELECT feedd.maintain_polls($1::bigint)";
static const char *const sql_prune =
	"SELECT feedd.prune_articles($1::text[], $2::bigint[], $3::int)";
static const char *const sql_index =
	"SELECT indexed, extract(epoch FROM now() - oldest_waiting)::float8 "
	"FROM feedd.index_search($1::int)";

enum ix_state { IX_DOWN, IX_CONNECTING, IX_READY };
/* What the call in flight is. */
enum ix_call { CALL_INDEX, CALL_POLLS, CALL_PRUNE };

/* One connection and its call. */
struct worker {
	struct indexer *ix;
	int no;	       /* 0: the steady worker; 1..: helpers in a backlog */
	char name[32]; /* for log lines: "search indexer", "search indexer 2" */
	char app[32];  /* application_name: "feedd indexer", "feedd indexer 2" */
	PGconn *conn;
	enum ix_state state;
	bool busy;	     /* a call is in flight */
	bool poked;	     /* work to look for since the last call started */
	bool full;	     /* the last call indexed a full batch */
	bool logged_failure; /* since the last success */
	enum ix_call call;   /* the call in flight (while busy) */
	double backoff_s;
	ev_io io;
	ev_timer soon;	   /* the next call, or the next connection attempt */
	ev_idle continue_; /* the next call after a full batch */
	ev_timer stall;	   /* a call in flight for STALL_S */
};

struct indexer {
	struct ev_loop *loop;
	char *conninfo;
	void (*on_idle)(void *ctx);
	bool (*store_busy)(void *ctx);
	void *ctx;
	double lag_s;		  /* as of the last answer; -1 while worker 0 is down */
	double connect_timeout_s; /* see indexer_set_connect_timeout */
	ev_tstamp waiting_since;  /* of the oldest article known to wait; 0: none */
	ev_timer period;	  /* worker 0's catch-up call */
	bool upkeep;		  /* keep polls' partitions (indexer_set_polls_upkeep) */
	bool upkeep_failed;	  /* the last upkeep failed (and said so) */
	long long retention_s;	  /* polls_retention; 0: keep every poll */
	ev_tstamp upkeep_at;	  /* the next upkeep, from then on */
	/* The article retention (indexer_set_article_retention): the sources'
	 * names as a text[] literal, their retentions as a bigint[] one. */
	char *prune_sources, *prune_keep;
	bool prune_due;	   /* a round of prune calls is under way or due */
	bool pruned_last;  /* worker 0's last call was a prune call */
	bool prune_failed; /* the last round failed (and said so) */
	long long pruned;  /* articles deleted in this round */
	size_t n;
	struct worker w[];
};

static void connect_start(struct worker *w);
static void send_call(struct worker *w);

static void watch(struct worker *w, int events)
{
	ev_io_stop(w->ix->loop, &w->io);
	ev_io_set(&w->io, PQsocket(w->conn), events);
	ev_io_start(w->ix->loop, &w->io);
}

/* The next call (or connection attempt) in delay_s, replacing any. */
static void arm_soon(struct worker *w, double delay_s)
{
	ev_timer_stop(w->ix->loop, &w->soon);
	ev_timer_set(&w->soon, delay_s, 0);
	ev_timer_start(w->ix->loop, &w->soon);
}

/* Something failed: try again after the backoff, which doubles. */
static void back_off(struct worker *w)
{
	arm_soon(w, w->backoff_s);
	w->backoff_s = w->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : w->backoff_s * 2;
}

static void tell_if_idle(struct indexer *ix)
{
	if (indexer_idle(ix) && ix->on_idle)
		ix->on_idle(ix->ctx);
}

/* The connection is gone (or never came): try again after the backoff. */
static void drop(struct worker *w, const char *what)
{
	struct indexer *ix = w->ix;
	if (!w->logged_failure) {
		const char *msg = w->conn ? PQerrorMessage(w->conn) : "";
		size_t n = strcspn(msg, "\n");
		LOG_WARN("%s: %s%s%.*s; articles wait unsearchable, nothing is lost; "
			 "trying again in %.0f s",
			 w->name, what, n ? ": " : "", (int)n, msg, w->backoff_s);
		w->logged_failure = true;
	}
	ev_io_stop(ix->loop, &w->io);
	ev_idle_stop(ix->loop, &w->continue_);
	ev_timer_stop(ix->loop, &w->stall);
	if (w->conn)
		PQfinish(w->conn);
	w->conn = NULL;
	w->state = IX_DOWN;
	w->busy = false;
	w->call = CALL_INDEX; /* an upkeep call is made again once connected */
	w->full = false;
	if (w->no == 0)
		ix->lag_s = -1;
	back_off(w);
	tell_if_idle(ix);
}

/* A backlog: every other worker that is free calls too.  One that is
 * still connecting calls once connected (it always does); one that never
 * connected connects now; one that lost its connection joins in when its
 * backoff ends. */
static void call_in_helpers(struct indexer *ix, const struct worker *from)
{
	for (size_t i = 0; i < ix->n; i++) {
		struct worker *h = &ix->w[i];
		if (h == from || h->busy)
			continue;
		h->poked = true;
		if (h->state == IX_READY)
			ev_idle_start(ix->loop, &h->continue_);
		else if (h->state == IX_DOWN && !ev_is_active(&h->soon))
			connect_start(h); /* its first backlog: it calls once connected */
	}
}

/* The polls upkeep's answer: what feedd.maintain_polls did, in one line
 * (NULL: another instance was at it). */
static void upkeep_answered(struct indexer *ix, PGresult *r)
{
	ev_tstamp now = ev_now(ix->loop);
	/* Whatever its outcome, the article retention's turn comes. */
	ix->prune_due = ix->prune_sources != NULL;
	ix->pruned = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		if (!ix->upkeep_failed)
			LOG_WARN("polls upkeep: feedd.maintain_polls failed: %s; polls go to "
				 "feedd.polls_default meanwhile, nothing is lost; trying again in "
				 "%.0f s",
				 m ? m : PQresStatus(PQresultStatus(r)), UPKEEP_RETRY_S);
		ix->upkeep_failed = true;
		ix->upkeep_at = now + UPKEEP_RETRY_S;
		return;
	}
	if (ix->upkeep_failed)
		LOG_NOTICE("polls upkeep: working again");
	ix->upkeep_failed = false;
	ix->upkeep_at = now + UPKEEP_PERIOD_S;
	if (PQgetisnull(r, 0, 0)) {
		LOG_DEBUG("polls upkeep: another instance is at it");
		return;
	}
	const char *done = PQgetvalue(r, 0, 0);
	int made = 0, rolled = 0, dropped = 0;
	long long moved = 0, late = 0;
	bool news = sscanf(done,
			   "%d partitions made (%lld rows moved in), %d days rolled up, %d "
			   "partitions dropped, %lld",
			   &made, &moved, &rolled, &dropped, &late) != 5 ||
		made || dropped || late;
	if (news)
		LOG_INFO("polls upkeep: %s", done);
	else
		LOG_DEBUG("polls upkeep: %s", done);
}

/* A prune call's answer: how many articles it deleted.  A full batch means
 * more may be left: the round goes on; a short one ends it. */
static void prune_answered(struct indexer *ix, PGresult *r)
{
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		if (!ix->prune_failed)
			LOG_WARN("article retention: feedd.prune_articles failed: %s; old articles "
				 "stay until the next upkeep, in %.0f s",
				 m ? m : PQresStatus(PQresultStatus(r)), UPKEEP_RETRY_S);
		ix->prune_failed = true;
		ix->prune_due = false;
		if (ix->upkeep_at > ev_now(ix->loop) + UPKEEP_RETRY_S)
			ix->upkeep_at = ev_now(ix->loop) + UPKEEP_RETRY_S;
		return;
	}
	if (ix->prune_failed)
		LOG_NOTICE("article retention: working again");
	ix->prune_failed = false;
	long long n = atoll(PQgetvalue(r, 0, 0));
	ix->pruned += n;
	if (n >= PRUNE_BATCH)
		return;
	ix->prune_due = false;
	if (ix->pruned > 0)
		LOG_INFO("article retention: %lld articles deleted (older than their source's "
			 "article_retention)",
			 ix->pruned);
	else
		LOG_DEBUG("article retention: nothing to delete");
}

/* One call's answer: how many were indexed, how long the oldest left has
 * waited. */
static void answered(struct worker *w, PGresult *r)
{
	if (w->call == CALL_POLLS) {
		upkeep_answered(w->ix, r);
		return;
	}
	if (w->call == CALL_PRUNE) {
		prune_answered(w->ix, r);
		return;
	}
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		if (!w->logged_failure)
			LOG_WARN("%s: feedd.index_search failed: %s; trying again in %.0f s",
				 w->name, m ? m : PQresStatus(PQresultStatus(r)), w->backoff_s);
		w->logged_failure = true;
		w->full = false;
		back_off(w);
		return;
	}
	int n = atoi(PQgetvalue(r, 0, 0));
	w->ix->lag_s = PQgetisnull(r, 0, 1) ? 0 : atof(PQgetvalue(r, 0, 1));
	w->ix->waiting_since = PQgetisnull(r, 0, 1) ? 0 : ev_now(w->ix->loop) - w->ix->lag_s;
	w->full = n >= BATCH;
	w->backoff_s = BACKOFF_MIN_S;
	if (w->logged_failure)
		LOG_NOTICE("%s: working again (%d articles indexed)", w->name, n);
	w->logged_failure = false;
	LOG_DEBUG("%s: %d articles indexed, oldest waiting %.1f s", w->name, n, w->ix->lag_s);
}

static void read_answers(struct worker *w)
{
	struct indexer *ix = w->ix;
	if (PQconsumeInput(w->conn) == 0) {
		drop(w, "connection lost");
		return;
	}
	while (w->busy && !PQisBusy(w->conn)) {
		PGresult *r = PQgetResult(w->conn);
		if (!r) {
			w->busy = false;
			w->call = CALL_INDEX;
			ev_timer_stop(ix->loop, &w->stall);
			break;
		}
		answered(w, r);
		PQclear(r);
	}
	if (w->busy)
		return;
	if (w->full) {
		ev_idle_start(ix->loop, &w->continue_);
		call_in_helpers(ix, w);
	} else if (w->no == 0 && ix->upkeep && ix->prune_due) {
		ev_idle_start(ix->loop, &w->continue_);
	} else if (w->poked && !ev_is_active(&w->soon)) {
		arm_soon(w, POKE_DELAY_S);
	}
	tell_if_idle(ix);
}

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker *w = io->data;
	(void)loop;
	if (w->state == IX_CONNECTING) {
		switch (PQconnectPoll(w->conn)) {
		case PGRES_POLLING_READING:
			watch(w, EV_READ);
			return;
		case PGRES_POLLING_WRITING:
			watch(w, EV_WRITE);
			return;
		case PGRES_POLLING_OK:
			ev_timer_stop(w->ix->loop, &w->stall); /* the connect's */
			w->state = IX_READY;
			watch(w, EV_READ);
			if (w->logged_failure)
				LOG_NOTICE("%s: connected again", w->name);
			else
				LOG_DEBUG("%s: connected", w->name);
			send_call(w); /* catch up on what is left at once */
			return;
		default:
			drop(w, "cannot connect");
			return;
		}
	}
	if (revents & EV_WRITE) {
		int f = PQflush(w->conn);
		if (f < 0) {
			drop(w, "cannot send");
			return;
		}
		if (f == 0)
			watch(w, EV_READ);
	}
	if (revents & EV_READ)
		read_answers(w);
}

/* Sends sql with its n parameters on w's connection, as w's call in
 * flight; false (and the connection left) if it could not be sent. */
static bool send_one(struct worker *w, const char *sql, int n, const char *const *params)
{
	struct indexer *ix = w->ix;
	if (PQsendQueryParams(w->conn, sql, n, NULL, params, NULL, NULL, 0) != 1) {
		drop(w, "cannot send");
		return false;
	}
	w->busy = true;
	ev_timer_stop(ix->loop, &w->soon);
	ev_idle_stop(ix->loop, &w->continue_);
	ev_timer_set(&w->stall, STALL_S, 0);
	ev_timer_start(ix->loop, &w->stall);
	int f = PQflush(w->conn);
	if (f < 0) {
		drop(w, "cannot send");
		return false;
	}
	if (f == 1)
		watch(w, EV_READ | EV_WRITE);
	return true;
}

/* Sends what w's connection is for: the polls upkeep when it is due (worker
 * 0), else (once the store has written what it has) a prune call of the
 * article retention's round, taking turns with index calls while both have
 * work (worker 0), else a call of feedd.index_search. */
static void send_call(struct worker *w)
{
	struct indexer *ix = w->ix;
	if (w->state != IX_READY || w->busy)
		return;
	if (w->no == 0 && ix->upkeep && ev_now(ix->loop) >= ix->upkeep_at) {
		char retention[24];
		snprintf(retention, sizeof retention, "%lld", ix->retention_s);
		const char *params[] = {retention};
		/* poked stays: the index call comes after it */
		if (send_one(w, sql_upkeep, 1, params))
			w->call = CALL_POLLS;
		return;
	}
	if (ix->store_busy && ix->waiting_since > 0 &&
	    ev_now(ix->loop) - ix->waiting_since < YIELD_MAX_S && ix->store_busy(ix->ctx)) {
		w->poked = true; /* not idle: the call is only put off */
		arm_soon(w, YIELD_CHECK_S);
		return;
	}
	if (w->no == 0 && ix->upkeep && ix->prune_due && !(ix->pruned_last && w->poked)) {
		char limit[16];
		snprintf(limit, sizeof limit, "%d", PRUNE_BATCH);
		const char *params[] = {ix->prune_sources, ix->prune_keep, limit};
		if (send_one(w, sql_prune, 3, params)) {
			w->call = CALL_PRUNE;
			ix->pruned_last = true;
		}
		return;
	}
	char limit[16];
	snprintf(limit, sizeof limit, "%d", BATCH);
	const char *params[] = {limit};
	if (send_one(w, sql_index, 1, params)) {
		w->poked = false;
		if (w->no == 0)
			ix->pruned_last = false;
	}
}

static void connect_start(struct worker *w)
{
	if (w->conn) /* connecting or connected already */
		return;
	w->conn = store_conn_start(w->ix->conninfo, w->app);
	if (!w->conn || PQstatus(w->conn) == CONNECTION_BAD) {
		drop(w, "cannot connect");
		return;
	}
	w->state = IX_CONNECTING;
	watch(w, EV_WRITE);
	ev_timer_stop(w->ix->loop, &w->stall);
	ev_timer_set(&w->stall, w->ix->connect_timeout_s, 0);
	ev_timer_start(w->ix->loop, &w->stall);
}

static void on_soon(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;
	(void)loop;
	(void)revents;
	if (w->state == IX_DOWN)
		connect_start(w);
	else
		send_call(w);
}

static void on_stall(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct worker *w = t->data;
	char what[96];
	if (w->state == IX_CONNECTING)
		snprintf(what, sizeof what, "no answer from the server for %.0f s while connecting",
			 w->ix->connect_timeout_s);
	else
		snprintf(what, sizeof what, "no answer from the server for %.0f s", STALL_S);
	drop(w, what);
}

static void on_period(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct indexer *ix = t->data;
	(void)loop;
	(void)revents;
	send_call(&ix->w[0]);
}

static void on_continue(struct ev_loop *loop, ev_idle *i, int revents)
{
	(void)revents;
	ev_idle_stop(loop, i);
	send_call(i->data);
}

struct indexer *indexer_new(struct ev_loop *loop, const char *conninfo, size_t workers,
			    void (*on_idle)(void *ctx), bool (*store_busy)(void *ctx), void *ctx)
{
	if (workers < 1)
		workers = 1;
	struct indexer *ix = xcalloc(1, sizeof *ix + workers * sizeof ix->w[0]);
	ix->loop = loop;
	ix->conninfo = xstrdup(conninfo);
	ix->on_idle = on_idle;
	ix->store_busy = store_busy;
	ix->ctx = ctx;
	ix->lag_s = -1;
	ix->connect_timeout_s = STALL_S;
	ix->n = workers;
	ev_timer_init(&ix->period, on_period, PERIOD_S, PERIOD_S);
	ix->period.data = ix;
	ev_timer_start(loop, &ix->period);
	for (size_t i = 0; i < workers; i++) {
		struct worker *w = &ix->w[i];
		w->ix = ix;
		w->no = (int)i;
		if (i == 0) {
			snprintf(w->name, sizeof w->name, "search indexer");
			snprintf(w->app, sizeof w->app, "feedd indexer");
		} else {
			snprintf(w->name, sizeof w->name, "search indexer %d", w->no + 1);
			snprintf(w->app, sizeof w->app, "feedd indexer %d", w->no + 1);
		}
		w->backoff_s = BACKOFF_MIN_S;
		/* The start is a poke: the call made once connected catches up
		 * on what an earlier run left, and until it answers the indexer
		 * is not idle. */
		w->poked = i == 0;
		ev_io_init(&w->io, on_io, 0, EV_READ);
		w->io.data = w;
		ev_timer_init(&w->soon, on_soon, POKE_DELAY_S, 0);
		w->soon.data = w;
		ev_idle_init(&w->continue_, on_continue);
		w->continue_.data = w;
		ev_timer_init(&w->stall, on_stall, STALL_S, 0);
		w->stall.data = w;
	}
	/* The helpers connect at the first backlog: a daemon whose articles
	 * come a few at a time never opens their connections. */
	connect_start(&ix->w[0]);
	return ix;
}

void indexer_free(struct indexer *ix)
{
	if (!ix)
		return;
	ev_timer_stop(ix->loop, &ix->period);
	for (size_t i = 0; i < ix->n; i++) {
		struct worker *w = &ix->w[i];
		ev_io_stop(ix->loop, &w->io);
		ev_timer_stop(ix->loop, &w->soon);
		ev_idle_stop(ix->loop, &w->continue_);
		ev_timer_stop(ix->loop, &w->stall);
		if (w->conn)
			PQfinish(w->conn);
	}
	free(ix->prune_sources);
	free(ix->prune_keep);
	free(ix->conninfo);
	free(ix);
}

void indexer_set_connect_timeout(struct indexer *ix, double seconds)
{
	if (!ix || seconds <= 0)
		return;
	ix->connect_timeout_s = seconds;
	/* An attempt under way (the first is made by indexer_new) gets the
	 * new limit from now. */
	for (size_t i = 0; i < ix->n; i++) {
		struct worker *w = &ix->w[i];
		if (w->state == IX_CONNECTING) {
			ev_timer_stop(ix->loop, &w->stall);
			ev_timer_set(&w->stall, seconds, 0);
			ev_timer_start(ix->loop, &w->stall);
		}
	}
}

void indexer_set_polls_upkeep(struct indexer *ix, bool on, long long retention_s)
{
	if (!ix)
		return;
	if (on != ix->upkeep || retention_s != ix->retention_s)
		ix->upkeep_at = 0; /* at the next call */
	ix->upkeep = on;
	ix->retention_s = retention_s;
	struct worker *w = &ix->w[0];
	if (on && w->state == IX_READY && !w->busy)
		send_call(w);
}

void indexer_set_article_retention(struct indexer *ix, char *const *sources,
				   const long long *keep_s, size_t n)
{
	if (!ix)
		return;
	free(ix->prune_sources);
	free(ix->prune_keep);
	ix->prune_sources = ix->prune_keep = NULL;
	ix->prune_due = false;
	if (n == 0)
		return;
	struct buf names, keep;
	buf_init(&names);
	buf_init(&keep);
	store_sql_text_array(sources, n, &names);
	buf_putc(&keep, '{');
	for (size_t i = 0; i < n; i++)
		buf_printf(&keep, "%s%lld", i ? "," : "", keep_s[i]);
	buf_putc(&keep, '}');
	ix->prune_sources = buf_steal(&names);
	ix->prune_keep = buf_steal(&keep);
	/* A new or changed retention applies now, not at the next upkeep. */
	ix->prune_due = true;
	ix->pruned = 0;
	struct worker *w = &ix->w[0];
	if (ix->upkeep && w->state == IX_READY && !w->busy)
		send_call(w);
}

void indexer_poke(struct indexer *ix)
{
	if (!ix)
		return;
	struct worker *w = &ix->w[0];
	w->poked = true;
	if (ix->waiting_since == 0)
		ix->waiting_since = ev_now(ix->loop);
	if (w->state == IX_READY && !w->busy && !ev_is_active(&w->soon))
		arm_soon(w, POKE_DELAY_S);
}

bool indexer_idle(const struct indexer *ix)
{
	if (!ix)
		return true;
	for (size_t i = 0; i < ix->n; i++) {
		const struct worker *w = &ix->w[i];
		if (w->state != IX_DOWN && (w->busy || w->poked || w->full))
			return false;
	}
	return true;
}

double indexer_lag(const struct indexer *ix)
{
	return ix ? ix->lag_s : 0;
}
