/*
 * indexer: the search vector filled off the critical path, on a PostgreSQL
 * connection of its own (see indexer.h).  One command at a time, never
 * pipelined: SELECT ... FROM feedd.index_search(BATCH).  A full batch is
 * followed by the next at once; a poke (articles committed) by a call
 * POKE_DELAY_S later, so that a burst of commits is indexed together; and
 * a call every PERIOD_S catches up on what an earlier run left.  The
 * connection is made like the store's (store_conn_start) and, when lost,
 * made again after a backoff that doubles up to BACKOFF_MAX_S.
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

static const char *const sql_index =
	"SELECT indexed, extract(epoch FROM now() - oldest_waiting)::float8 "
	"FROM feedd.index_search($1::int)";

enum ix_state { IX_DOWN, IX_CONNECTING, IX_READY };

struct indexer {
	struct ev_loop *loop;
	char *conninfo;
	void (*on_idle)(void *ctx);
	void *ctx;
	PGconn *conn;
	enum ix_state state;
	bool busy;	     /* a call is in flight */
	bool poked;	     /* articles committed since the last call started */
	bool full;	     /* the last call indexed a full batch */
	bool logged_failure; /* since the last success */
	double backoff_s;
	double lag_s;
	ev_io io;
	ev_timer soon;	   /* the next call, or the next connection attempt */
	ev_timer period;   /* the catch-up call */
	ev_idle continue_; /* the next call after a full batch */
	ev_timer stall;	   /* a call in flight for STALL_S */
};

static void connect_start(struct indexer *ix);
static void send_call(struct indexer *ix);

static void watch(struct indexer *ix, int events)
{
	ev_io_stop(ix->loop, &ix->io);
	ev_io_set(&ix->io, PQsocket(ix->conn), events);
	ev_io_start(ix->loop, &ix->io);
}

/* The next call (or connection attempt) in delay_s, replacing any. */
static void arm_soon(struct indexer *ix, double delay_s)
{
	ev_timer_stop(ix->loop, &ix->soon);
	ev_timer_set(&ix->soon, delay_s, 0);
	ev_timer_start(ix->loop, &ix->soon);
}

/* Something failed: try again after the backoff, which doubles. */
static void back_off(struct indexer *ix)
{
	arm_soon(ix, ix->backoff_s);
	ix->backoff_s = ix->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : ix->backoff_s * 2;
}

static void tell_if_idle(struct indexer *ix)
{
	if (indexer_idle(ix) && ix->on_idle)
		ix->on_idle(ix->ctx);
}

/* The connection is gone (or never came): try again after the backoff. */
static void drop(struct indexer *ix, const char *what)
{
	if (!ix->logged_failure) {
		const char *msg = ix->conn ? PQerrorMessage(ix->conn) : "";
		size_t n = strcspn(msg, "\n");
		LOG_WARN("search indexer: %s%s%.*s; articles wait unsearchable, nothing is lost; "
			 "trying again in %.0f s",
			 what, n ? ": " : "", (int)n, msg, ix->backoff_s);
		ix->logged_failure = true;
	}
	ev_io_stop(ix->loop, &ix->io);
	ev_idle_stop(ix->loop, &ix->continue_);
	ev_timer_stop(ix->loop, &ix->stall);
	if (ix->conn)
		PQfinish(ix->conn);
	ix->conn = NULL;
	ix->state = IX_DOWN;
	ix->busy = false;
	ix->lag_s = -1;
	back_off(ix);
	tell_if_idle(ix);
}

/* One call's answer: how many were indexed, how long the oldest left has
 * waited. */
static void answered(struct indexer *ix, PGresult *r)
{
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		if (!ix->logged_failure)
			LOG_WARN("search indexer: feedd.index_search failed: %s; trying again in "
				 "%.0f s",
				 m ? m : PQresStatus(PQresultStatus(r)), ix->backoff_s);
		ix->logged_failure = true;
		ix->full = false;
		back_off(ix);
		return;
	}
	int n = atoi(PQgetvalue(r, 0, 0));
	ix->lag_s = PQgetisnull(r, 0, 1) ? 0 : atof(PQgetvalue(r, 0, 1));
	ix->full = n >= BATCH;
	ix->backoff_s = BACKOFF_MIN_S;
	ix->logged_failure = false;
	LOG_DEBUG("search indexer: %d articles indexed, oldest waiting %.1f s", n, ix->lag_s);
}

static void read_answers(struct indexer *ix)
{
	if (PQconsumeInput(ix->conn) == 0) {
		drop(ix, "connection lost");
		return;
	}
	while (ix->busy && !PQisBusy(ix->conn)) {
		PGresult *r = PQgetResult(ix->conn);
		if (!r) {
			ix->busy = false;
			ev_timer_stop(ix->loop, &ix->stall);
			break;
		}
		answered(ix, r);
		PQclear(r);
	}
	if (ix->busy)
		return;
	if (ix->full)
		ev_idle_start(ix->loop, &ix->continue_);
	else if (ix->poked && !ev_is_active(&ix->soon))
		arm_soon(ix, POKE_DELAY_S);
	tell_if_idle(ix);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct indexer *ix = w->data;
	(void)loop;
	if (ix->state == IX_CONNECTING) {
		switch (PQconnectPoll(ix->conn)) {
		case PGRES_POLLING_READING:
			watch(ix, EV_READ);
			return;
		case PGRES_POLLING_WRITING:
			watch(ix, EV_WRITE);
			return;
		case PGRES_POLLING_OK:
			ix->state = IX_READY;
			watch(ix, EV_READ);
			LOG_DEBUG("search indexer: connected");
			send_call(ix); /* catch up on what is left at once */
			return;
		default:
			drop(ix, "cannot connect");
			return;
		}
	}
	if (revents & EV_WRITE) {
		int f = PQflush(ix->conn);
		if (f < 0) {
			drop(ix, "cannot send");
			return;
		}
		if (f == 0)
			watch(ix, EV_READ);
	}
	if (revents & EV_READ)
		read_answers(ix);
}

static void send_call(struct indexer *ix)
{
	if (ix->state != IX_READY || ix->busy)
		return;
	char limit[16];
	snprintf(limit, sizeof limit, "%d", BATCH);
	const char *params[] = {limit};
	if (PQsendQueryParams(ix->conn, sql_index, 1, NULL, params, NULL, NULL, 0) != 1) {
		drop(ix, "cannot send");
		return;
	}
	ix->busy = true;
	ix->poked = false;
	ev_timer_stop(ix->loop, &ix->soon);
	ev_timer_set(&ix->stall, STALL_S, 0);
	ev_timer_start(ix->loop, &ix->stall);
	int f = PQflush(ix->conn);
	if (f < 0)
		drop(ix, "cannot send");
	else if (f == 1)
		watch(ix, EV_READ | EV_WRITE);
}

static void connect_start(struct indexer *ix)
{
	ix->conn = store_conn_start(ix->conninfo, "feedd indexer");
	if (!ix->conn || PQstatus(ix->conn) == CONNECTION_BAD) {
		drop(ix, "cannot connect");
		return;
	}
	ix->state = IX_CONNECTING;
	watch(ix, EV_WRITE);
}

static void on_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct indexer *ix = w->data;
	(void)loop;
	(void)revents;
	if (ix->state == IX_DOWN)
		connect_start(ix);
	else
		send_call(ix);
}

static void on_stall(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	drop(w->data, "no answer for 600 s");
}

static void on_period(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	send_call(w->data);
}

static void on_continue(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	ev_idle_stop(loop, w);
	send_call(w->data);
}

struct indexer *indexer_new(struct ev_loop *loop, const char *conninfo, void (*on_idle)(void *ctx),
			    void *ctx)
{
	struct indexer *ix = xcalloc(1, sizeof *ix);
	ix->loop = loop;
	ix->conninfo = xstrdup(conninfo);
	ix->on_idle = on_idle;
	ix->ctx = ctx;
	ix->backoff_s = BACKOFF_MIN_S;
	ix->lag_s = -1;
	/* The start is a poke: the call made once connected catches up on what
	 * an earlier run left, and until it answers the indexer is not idle. */
	ix->poked = true;
	ev_io_init(&ix->io, on_io, 0, EV_READ);
	ix->io.data = ix;
	ev_timer_init(&ix->soon, on_soon, POKE_DELAY_S, 0);
	ix->soon.data = ix;
	ev_timer_init(&ix->period, on_period, PERIOD_S, PERIOD_S);
	ix->period.data = ix;
	ev_timer_start(loop, &ix->period);
	ev_idle_init(&ix->continue_, on_continue);
	ix->continue_.data = ix;
	ev_timer_init(&ix->stall, on_stall, STALL_S, 0);
	ix->stall.data = ix;
	connect_start(ix);
	return ix;
}

void indexer_free(struct indexer *ix)
{
	if (!ix)
		return;
	ev_io_stop(ix->loop, &ix->io);
	ev_timer_stop(ix->loop, &ix->soon);
	ev_timer_stop(ix->loop, &ix->period);
	ev_idle_stop(ix->loop, &ix->continue_);
	ev_timer_stop(ix->loop, &ix->stall);
	if (ix->conn)
		PQfinish(ix->conn);
	free(ix->conninfo);
	free(ix);
}

void indexer_poke(struct indexer *ix)
{
	if (!ix)
		return;
	ix->poked = true;
	if (ix->state == IX_READY && !ix->busy && !ev_is_active(&ix->soon))
		arm_soon(ix, POKE_DELAY_S);
}

bool indexer_idle(const struct indexer *ix)
{
	if (!ix || ix->state == IX_DOWN)
		return true;
	return !ix->busy && !ix->poked && !ix->full;
}

double indexer_lag(const struct indexer *ix)
{
	return ix ? ix->lag_s : 0;
}
