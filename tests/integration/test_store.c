/*
 * test_store: the store module against a real PostgreSQL (started by
 * with-pg.sh, which exports FEEDD_TEST_CONNINFO): insert, duplicate from the
 * same and from a second feed, revision on changed content, a bad article
 * rejected alone, poll records, a refused unmigrated database, and a server
 * restarted with `pg_ctl restart -m immediate` in the middle of pipelined
 * batches, after which every article is present exactly once; and a fresh
 * database's article tables analysed after the first inserts
 * (feedd.settle_statistics).  Then the defects of issue 12: an over-long
 * news ID or tag, or a value the database refuses for good (54000), is
 * rejected alone into feedd.rejected and blocks nothing; a read-only
 * database rejects nothing (everything waits, spooled, and is stored once
 * writes are allowed again) and is retried with a growing backoff; poll
 * records in flight at exit are spooled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feedd/dedup.h"
#include "feedd/log.h"
#include "feedd/migrate.h"
#include "feedd/record.h"
#include "feedd/spool.h"
#include "feedd/store.h"
#include "feedd/util.h"

static const char *conninfo(void)
{
	const char *c = getenv("FEEDD_TEST_CONNINFO");
	if (!c)
		fail_msg(
			"FEEDD_TEST_CONNINFO is not set: run through tests/integration/with-pg.sh");
	return c;
}

/* A blocking connection for checking what the store wrote. */
static PGconn *db(void)
{
	PGconn *c = PQconnectdb(conninfo());
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	return c;
}

static long long scalar(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	long long v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static void exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

struct run {
	struct ev_loop *loop;
	struct store *store;
	size_t counts[STORE_FULL + 1];
	size_t reported, polls_ok, polls_failed;
	size_t stop_at;	   /* break the loop when this many articles are reported */
	size_t stop_polls; /* or this many polls, when set */
	size_t restart_at; /* restart PostgreSQL once this many are reported */
	bool restarted;
	int ready_events;
	size_t pages[STORE_PAGE_SPOOLED + 1]; /* page outcomes, from store_submit_page's callback */
	ev_timer deadline;
	bool timed_out;
};

/* A page's callback: its own, not the store_handler's. */
static void on_page(void *ctx, const struct store_page *pg, enum store_page_outcome o, int revision)
{
	struct run *r = ctx;
	r->pages[o]++;
}

static void on_article(void *ctx, const struct store_article *a, enum store_outcome o)
{
	struct run *r = ctx;
	r->counts[o]++;
	r->reported++;
	if (r->restart_at && !r->restarted && r->reported >= r->restart_at) {
		r->restarted = true;
		/* Blocks the loop on purpose: the batches in flight are lost
		 * with the server. */
		if (system("bash -c 'source " FEEDD_FIXTURES "/../lib/pg.sh && "
			   "pg_restart_immediate' >/dev/null") != 0)
			fail_msg("pg restart failed");
	}
	if (r->reported >= r->stop_at)
		ev_break(r->loop, EVBREAK_ALL);
}

static void on_poll(void *ctx, const struct store_poll *p, bool ok)
{
	struct run *r = ctx;
	if (ok)
		r->polls_ok++;
	else
		r->polls_failed++;
	if (r->stop_polls && r->polls_ok + r->polls_failed >= r->stop_polls)
		ev_break(r->loop, EVBREAK_ALL);
}

static void on_state(void *ctx, bool ready)
{
	struct run *r = ctx;
	r->ready_events++;
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;
	r->timed_out = true;
	ev_break(loop, EVBREAK_ALL);
}

/* run_init with the dedup warm-up limited to n sources (names). */
static void run_init_warm(struct run *r, const char *conn, char *const *names, size_t n)
{
	memset(r, 0, sizeof *r);
	r->loop = ev_loop_new(EVFLAG_AUTO);
	struct store_config cfg;
	store_config_default(&cfg);
	cfg.conninfo = conn;
	cfg.warm_sources = names;
	cfg.n_warm_sources = n;
	cfg.batch_size = 100;
	cfg.reconnect_min_ms = 100;
	cfg.reconnect_max_ms = 1000;
	struct store_handler h = {
		.on_article = on_article, .on_poll = on_poll, .on_state = on_state, .ctx = r};
	r->store = store_new(r->loop, &cfg, &h);
	ev_timer_init(&r->deadline, on_deadline, 120., 0.);
	r->deadline.data = r;
	ev_timer_start(r->loop, &r->deadline);
}

static void run_init(struct run *r, const char *conn)
{
	run_init_warm(r, conn, NULL, 0);
}

/* Runs the loop until stop_at articles were reported (or 120 s passed). */
static void run_until(struct run *r, size_t stop_at)
{
	r->stop_at = stop_at;
	if (r->reported < stop_at)
		ev_run(r->loop, 0);
	if (r->timed_out)
		fail_msg("timed out with %zu of %zu articles reported, backlog %zu", r->reported,
			 stop_at, store_backlog(r->store));
}

static void run_free(struct run *r)
{
	store_free(r->store);
	ev_timer_stop(r->loop, &r->deadline);
	ev_loop_destroy(r->loop);
}

static struct store_article *article(const char *source, const char *feed, int n, const char *title)
{
	struct store_article *a = xcalloc(1, sizeof *a);
	char buf[128];
	a->source = xstrdup(source);
	a->feed = xstrdup(feed);
	snprintf(buf, sizeof buf, "%d", n);
	a->news_id = xstrdup(buf);
	snprintf(buf, sizeof buf, "https://en.irna.ir/news/%d/slug", n);
	a->url = xstrdup(buf);
	a->title = xstrdup(title);
	a->lead = xstrdup("A lead with \"quotes\", commas, and {braces}.");
	a->body = xstrdup("First paragraph.\nSecond paragraph with ünïcode and فارسی.");
	a->tags = xcalloc(2, sizeof *a->tags);
	a->tags[0] = xstrdup("Rail \"freight\"");
	a->tags[1] = xstrdup("Trade, {economy}");
	a->n_tags = 2;
	a->published_at = 1749656760; /* 2025-06-11T15:46:00Z */
	a->seen_at_us = (int64_t)time(NULL) * 1000000 + 123456;
	return a;
}

static int setup_db(void **state)
{
	struct buf log, err;
	buf_init(&log);
	buf_init(&err);
	if (migrate_run(conninfo(), &log, &err) != 0)
		fail_msg("migrate: %s", buf_str(&err));
	buf_free(&log);
	buf_free(&err);
	return 0;
}

static void test_semantics(void **state)
{
	struct run r;
	run_init(&r, conninfo());
	store_sync_source(r.store, "irna", "https://en.irna.ir/");
	store_sync_feed(r.store, "irna-all", "irna", "https://en.irna.ir/rss", 120, true, "default",
			0);
	store_sync_feed(r.store, "irna-politics", "irna", "https://en.irna.ir/rss/politics", 0,
			true, "default", 0);
	for (int i = 0; i < 500; i++)
		store_submit_article(r.store, article("irna", "irna-all", i, "Title"));
	run_until(&r, 500);
	assert_int_equal(r.counts[STORE_INSERTED], 500);
	assert_int_equal(r.ready_events, 1);

	/* The same articles again: answered without a single round trip. */
	struct store_stats before, after;
	store_get_stats(r.store, &before);
	for (int i = 0; i < 500; i++)
		assert_int_equal(
			store_submit_article(r.store, article("irna", "irna-all", i, "Title")),
			STORE_DUPLICATE);
	store_get_stats(r.store, &after);
	assert_int_equal(after.round_trips, before.round_trips);
	assert_int_equal(r.counts[STORE_DUPLICATE], 500);

	/* From a second feed: linked; with a new title: revised. */
	for (int i = 0; i < 10; i++)
		store_submit_article(r.store, article("irna", "irna-politics", i, "Title"));
	for (int i = 100; i < 105; i++)
		store_submit_article(r.store, article("irna", "irna-all", i, "Title, edited"));
	run_until(&r, 1015);
	assert_int_equal(r.counts[STORE_LINKED], 10);
	assert_int_equal(r.counts[STORE_REVISED], 5);

	/* A poll record, and the same one again (a re-send): one row. */
	for (int k = 0; k < 2; k++) {
		struct store_poll *p = xcalloc(1, sizeof *p);
		p->feed = xstrdup("irna-all");
		p->started_us = 1749657000000000LL;
		p->duration_ms = 42;
		p->http_status = 200;
		p->bytes = 1234;
		p->items_seen = 500;
		p->new_items = 500;
		p->next_poll_us = STORE_TIME_NONE;
		store_submit_poll(r.store, p);
	}
	/* One more article to run the loop until the polls are through. */
	store_submit_article(r.store, article("irna", "irna-all", 9999, "Last"));
	run_until(&r, 1016);
	assert_int_equal(r.polls_ok, 2);
	run_free(&r);

	/* A new store (a restarted daemon) warms its dedup set from the
	 * database: what is stored is answered without a round trip. */
	struct run w;
	run_init(&w, conninfo());
	w.stop_at = 0;
	while (w.ready_events == 0 && !w.timed_out)
		ev_run(w.loop, EVRUN_ONCE);
	assert_int_equal(w.ready_events, 1);
	assert_true(dedup_size(store_dedup(w.store)) >= 501);
	struct store_stats ws;
	store_get_stats(w.store, &ws);
	assert_int_equal(
		store_submit_article(w.store, article("irna", "irna-politics", 3, "Title")),
		STORE_DUPLICATE);
	assert_int_equal(store_submit_article(w.store, article("irna", "irna-all", 7, "Title")),
			 STORE_DUPLICATE);
	run_free(&w);

	/* The warm-up loads the configured sources' articles only: none for
	 * sources without any (names with a quote and a backslash travel
	 * whole), all of irna's when irna is named. */
	char *others[] = {"mehr", "we\"ird\\"}, *irna[] = {"mehr", "irna"};
	for (int k = 0; k < 2; k++) {
		run_init_warm(&w, conninfo(), k ? irna : others, 2);
		w.stop_at = 0;
		while (w.ready_events == 0 && !w.timed_out)
			ev_run(w.loop, EVRUN_ONCE);
		assert_int_equal(w.ready_events, 1);
		if (k)
			assert_true(dedup_size(store_dedup(w.store)) >= 501);
		else
			assert_int_equal(dedup_size(store_dedup(w.store)), 0);
		run_free(&w);
	}

	PGconn *c = db();
	assert_int_equal(scalar(c, "SELECT count(*) FROM feedd.articles"), 501);
	assert_int_equal(scalar(c, "SELECT count(*) FROM feedd.article_feeds"), 511);
	assert_int_equal(scalar(c, "SELECT count(*) FROM feedd.article_revisions"), 5);
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM feedd.articles WHERE revision = 2 AND "
				"title = 'Title, edited'"),
			 5);
	assert_int_equal(scalar(c, "SELECT count(*) FROM feedd.polls"), 1);
	/* Text survives the trip intact: quotes, commas and braces in tags. */
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM feedd.articles WHERE tags = "
				"ARRAY['Rail \"freight\"', 'Trade, {economy}'] AND body LIKE "
				"'%فارسی.' AND published_at = '2025-06-11T15:46:00Z'"),
			 501);
	PQfinish(c);
}

static void test_bad_article_rejected_alone(void **state)
{
	struct run r;
	run_init(&r, conninfo());
	store_sync_source(r.store, "mehr", "https://en.mehrnews.com/");
	store_sync_feed(r.store, "mehr-all", "mehr", "https://en.mehrnews.com/rss", 0, true,
			"default", 0);
	for (int i = 0; i < 30; i++)
		store_submit_article(
			r.store, article("mehr", i == 17 ? "no-such-feed" : "mehr-all", i, "T"));
	run_until(&r, 30);
	assert_int_equal(r.counts[STORE_INSERTED], 29);
	assert_int_equal(r.counts[STORE_REJECTED], 1);
	run_free(&r);
	PGconn *c = db();
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM feedd.articles a JOIN feedd.sources s ON "
				"s.id = a.source_id WHERE s.name = 'mehr'"),
			 29);
	PQfinish(c);
}

/* The store's partition of an article among n connections (declared in
 * daemon/store/store_int.h, which tests do not include). */
unsigned store_partition(const struct store_article *a, size_t n);

/* Each connection looks only a few batches into the queue for articles of
 * its own partition.  800 articles of the second connection's partition
 * queued ahead of 800 of the first's: the first finds none of its own in
 * reach, and must be woken when the second has taken them (the store stood
 * still with 1,600 queued when it was not). */
static void test_lanes_uncover_each_others_articles(void **state)
{
	struct run r;
	run_init(&r, conninfo());
	store_sync_source(r.store, "lanes", "https://lanes.example/");
	store_sync_feed(r.store, "lanes-all", "lanes", "https://lanes.example/rss", 0, true,
			"default", 0);
	/* A backlog first, until the second connection has carried some (it
	 * opens at the first backlog). */
	struct store_stats st = {0};
	int next = 0;
	for (int round = 0; round < 10 && st.committed_elsewhere == 0; round++) {
		for (int i = 0; i < 500; i++)
			store_submit_article(r.store,
					     article("lanes", "lanes-all", next++, "Warm"));
		run_until(&r, (size_t)next);
		store_get_stats(r.store, &st);
	}
	assert_true(st.committed_elsewhere > 0);
	size_t warm = (size_t)next;

	struct store_article *mine[800];
	int ones = 0, zeros = 0;
	while (ones < 800 || zeros < 800) {
		struct store_article *a = article("lanes", "lanes-all", next++, "Late");
		if (store_partition(a, 2) == 1 && ones < 800) {
			store_submit_article(r.store, a);
			ones++;
		} else if (store_partition(a, 2) == 0 && zeros < 800) {
			mine[zeros++] = a;
		} else {
			store_article_free(a);
		}
	}
	for (int i = 0; i < 800; i++)
		store_submit_article(r.store, mine[i]);
	run_until(&r, warm + 1600);
	assert_int_equal(r.counts[STORE_INSERTED], warm + 1600);
	run_free(&r);

	PGconn *c = db();
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM feedd.articles a JOIN feedd.sources s ON "
				"s.id = a.source_id WHERE s.name = 'lanes' AND a.title = 'Late'"),
			 1600);
	PQfinish(c);
}

static void test_restart_mid_batch(void **state)
{
	const int n = 20000;
	struct run r;
	run_init(&r, conninfo());
	r.restart_at = 1000;
	store_sync_source(r.store, "wire", "https://wire.example/");
	store_sync_feed(r.store, "wire-all", "wire", "https://wire.example/rss", 0, true, "default",
			0);
	for (int i = 0; i < n; i++)
		store_submit_article(r.store, article("wire", "wire-all", i, "Wire story"));
	run_until(&r, (size_t)n);
	assert_true(r.restarted);
	struct store_stats st;
	store_get_stats(r.store, &st);
	assert_true(st.connects >= 2);
	/* Both connections (store_connections' default, 2) carried articles. */
	assert_in_range(st.committed_elsewhere, 1, st.committed - 1);
	assert_int_equal(r.counts[STORE_REJECTED], 0);
	/* Re-sent batches that had committed come back as "unchanged". */
	assert_int_equal(r.counts[STORE_INSERTED] + r.counts[STORE_UNCHANGED], (size_t)n);
	run_free(&r);

	PGconn *c = db();
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM feedd.articles a JOIN feedd.sources s ON "
				"s.id = a.source_id WHERE s.name = 'wire'"),
			 n);
	assert_int_equal(scalar(c,
				"SELECT count(DISTINCT news_id) FROM feedd.articles a JOIN "
				"feedd.sources s ON s.id = a.source_id WHERE s.name = 'wire'"),
			 n);
	PQfinish(c);
}

static struct store_poll *poll_record(const char *feed, int i)
{
	struct store_poll *p = xcalloc(1, sizeof *p);
	char buf[128];
	p->feed = xstrdup(feed);
	p->started_us = 1714557600LL * 1000000 + (int64_t)i * 1000001; /* 2024-05-01 10:00 */
	p->duration_ms = 10 + i;
	p->bytes = 1000 + i;
	p->items_seen = 20;
	p->next_poll_us = p->started_us + 60 * 1000000LL;
	if (i % 3 == 2) {
		/* Everything an array literal must quote. */
		snprintf(buf, sizeof buf, "boom %d: \"quoted\", back\\slash, {braces}, NULL", i);
		p->error = xstrdup(buf);
	} else {
		p->http_status = i % 3 ? 304 : 200;
		snprintf(buf, sizeof buf, "W/\"etag-%d\\\"", i);
		p->etag = xstrdup(buf);
	}
	return p;
}

static long long function_calls(PGconn *c, const char *name)
{
	char sql[256];
	snprintf(sql, sizeof sql,
		 "SELECT coalesce((SELECT calls FROM pg_stat_user_functions WHERE schemaname = "
		 "'feedd' AND funcname = '%s'), 0)",
		 name);
	return scalar(c, sql);
}

/* Polls queued together go as one feedd.record_fetches call, in order, with
 * every odd character of their text intact; a batch with a poll of an
 * unknown feed is retried poll by poll, and only that one is rejected. */
static void test_polls_in_one_statement(void **state)
{
	PGconn *c = db();
	/* Counting calls needs function statistics in the store's sessions. */
	exec_ok(c, "ALTER DATABASE feedd_test SET track_functions = 'pl'");
	long long batched0 = function_calls(c, "record_fetches");
	struct run r;
	run_init(&r, conninfo());
	store_sync_source(r.store, "tasnim", "https://www.tasnimnews.com/");
	store_sync_feed(r.store, "tasnim-a", "tasnim", "https://www.tasnimnews.com/a", 0, true,
			"default", 0);
	store_sync_feed(r.store, "tasnim-b", "tasnim", "https://www.tasnimnews.com/b", 0, true,
			"default", 0);
	for (int i = 0; i < 40; i++)
		store_submit_poll(r.store, poll_record(i % 2 ? "tasnim-b" : "tasnim-a", i));
	r.stop_polls = 40;
	ev_run(r.loop, 0);
	assert_false(r.timed_out);
	assert_int_equal(r.polls_ok, 40);
	/* A second round with a poll of a feed that does not exist. */
	for (int i = 40; i < 70; i++)
		store_submit_poll(r.store, poll_record(i == 55 ? "no-such-feed" : "tasnim-a", i));
	r.stop_polls = 70;
	ev_run(r.loop, 0);
	assert_false(r.timed_out);
	assert_int_equal(r.polls_ok, 69);
	assert_int_equal(r.polls_failed, 1);
	run_free(&r);

	assert_int_equal(scalar(c,
				"SELECT count(*) FROM feedd.polls p JOIN feedd.feeds f ON "
				"f.id = p.feed_id WHERE f.name LIKE 'tasnim-%'"),
			 69);
	/* The text came through the array literals unchanged. */
	assert_int_equal(
		scalar(c,
		       "SELECT count(*) FROM feedd.polls p JOIN feedd.feeds f ON f.id = p.feed_id "
		       "WHERE f.name = 'tasnim-b' AND p.error = 'boom 5: \"quoted\", "
		       "back\\slash, {braces}, NULL' AND p.http_status IS NULL "
		       "AND p.duration_ms = 15 AND p.bytes = 1005"),
		1);
	/* In order: the last poll of each feed set its state.  tasnim-b: its
	 * last poll (39) succeeded after the failure of 35... */
	assert_int_equal(
		scalar(c,
		       "SELECT count(*) FROM feedd.feeds WHERE name = 'tasnim-b' AND "
		       "etag = 'W/\"etag-39\\\"' AND error_count = 0 AND last_status = 200 "
		       "AND next_poll_at = '2024-05-01 10:01:39.000039+00'"),
		1);
	/* ... tasnim-a: 69 succeeded, 68 (a failure) before it. */
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM feedd.feeds WHERE name = 'tasnim-a' AND "
				"etag = 'W/\"etag-69\\\"' AND error_count = 0 AND "
				"last_success_at = '2024-05-01 10:01:09.000069+00'"),
			 1);
	/* Grouped: a handful of calls for 69 polls (the statistics arrive when
	 * the store's backend has gone). */
	long long batched = 0;
	for (int i = 0; i < 50; i++) {
		batched = function_calls(c, "record_fetches") - batched0;
		if (batched > 0)
			break;
		struct timespec ts = {0, 100 * 1000000};
		nanosleep(&ts, NULL);
	}
	assert_in_range(batched, 1, 20);
	exec_ok(c, "ALTER DATABASE feedd_test RESET track_functions");
	PQfinish(c);
}

/* A first import into a new database: the store calls
 * feedd.settle_statistics() once it has inserted SETTLE_AFTER (500)
 * articles in its session, so the foreign-key lookups on feedd.articles are
 * planned with statistics (by the primary key) rather than on an empty,
 * never analysed table. */
static void test_fresh_tables_get_statistics(void **state)
{
	PGconn *c = db();
	exec_ok(c, "DROP DATABASE IF EXISTS feedd_settle");
	exec_ok(c, "CREATE DATABASE feedd_settle");
	PQfinish(c);
	struct buf conn, log, err;
	buf_init(&conn);
	buf_init(&log);
	buf_init(&err);
	buf_printf(&conn, "%s dbname=feedd_settle", conninfo());
	if (migrate_run(conn.data, &log, &err) != 0)
		fail_msg("migrate: %s", buf_str(&err));

	c = PQconnectdb(conn.data);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	/* Nothing analysed it yet (autovacuum's analyses are counted apart). */
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM pg_stat_user_tables WHERE "
				"relid = 'feedd.articles'::regclass AND last_analyze IS NOT NULL"),
			 0);
	/* Below the threshold: no call. */
	struct run r;
	run_init(&r, conn.data);
	store_sync_source(r.store, "wire", "https://wire.example/");
	store_sync_feed(r.store, "wire-all", "wire", "https://wire.example/rss", 0, true, "default",
			0);
	for (int i = 0; i < 400; i++)
		store_submit_article(r.store, article("wire", "wire-all", i, "Wire story"));
	run_until(&r, 400);
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM pg_stat_user_tables WHERE "
				"relid = 'feedd.articles'::regclass AND last_analyze IS NOT NULL"),
			 0);
	/* Past it: analysed once, with the session's inserts in it. */
	for (int i = 400; i < 1500; i++)
		store_submit_article(r.store, article("wire", "wire-all", i, "Wire story"));
	run_until(&r, 1500);
	/* Each connection makes the call when its session is past the
	 * threshold, before its next batch: so with one more batch each, the
	 * calls are answered. */
	for (int i = 1500; i < 1900; i++)
		store_submit_article(r.store, article("wire", "wire-all", i, "Wire story"));
	run_until(&r, 1900);
	assert_int_equal(r.counts[STORE_INSERTED], 1900);
	run_free(&r);
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM pg_stat_user_tables WHERE "
				"relid = 'feedd.articles'::regclass AND last_analyze IS NOT NULL"),
			 1);
	long long tuples = scalar(c,
				  "SELECT reltuples::bigint FROM pg_class WHERE "
				  "oid = 'feedd.articles'::regclass");
	assert_in_range(tuples, 500, 1900);

	/* The lookup the foreign key makes, planned as a session would now. */
	exec_ok(c, "SET plan_cache_mode = force_generic_plan");
	exec_ok(c,
		"PREPARE ri(bigint, bigint) AS SELECT 1 FROM ONLY feedd.articles x "
		"WHERE source_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2 "
		"FOR KEY SHARE OF x");
	PGresult *res = PQexec(c, "EXPLAIN EXECUTE ri(1, 5)");
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	struct buf plan;
	buf_init(&plan);
	for (int i = 0; i < PQntuples(res); i++)
		buf_printf(&plan, "%s\n", PQgetvalue(res, i, 0));
	PQclear(res);
	if (!strstr(buf_str(&plan), "articles_pkey"))
		fail_msg("the foreign-key lookup is not planned by the primary key:\n%s",
			 buf_str(&plan));
	buf_free(&plan);

	/* The function itself: analyses while the statistics say < 1,000
	 * rows, then no more. */
	if (tuples < 1000)
		assert_int_equal(scalar(c, "SELECT feedd.settle_statistics()::int"), 1);
	assert_int_equal(scalar(c, "SELECT feedd.settle_statistics()::int"), 0);
	PQfinish(c);
	buf_free(&conn);
	buf_free(&log);
	buf_free(&err);
}

static void test_unmigrated_database_refused(void **state)
{
	PGconn *c = db();
	exec_ok(c, "DROP DATABASE IF EXISTS feedd_empty");
	exec_ok(c, "CREATE DATABASE feedd_empty");
	PQfinish(c);
	struct buf conn;
	buf_init(&conn);
	buf_printf(&conn, "%s dbname=feedd_empty", conninfo());
	struct run r;
	run_init(&r, conn.data);
	ev_timer_stop(r.loop, &r.deadline);
	ev_timer_set(&r.deadline, 1.5, 0.);
	ev_timer_start(r.loop, &r.deadline);
	store_submit_article(r.store, article("irna", "irna-all", 1, "T"));
	ev_run(r.loop, 0);
	assert_true(r.timed_out);
	assert_int_equal(r.ready_events, 0);
	/* Not lost: still waiting for a migrated database. */
	assert_int_equal(store_backlog(r.store), 1);
	run_free(&r);
	buf_free(&conn);
}

/* Runs r's loop until the query answers want (or 120 s passed). */
static void run_until_sql(struct run *r, PGconn *c, const char *sql, long long want)
{
	r->stop_at = SIZE_MAX;
	long long got = -1;
	for (int i = 0; i < 1200 && !r->timed_out; i++) {
		got = scalar(c, sql);
		if (got == want)
			return;
		/* About 0.1 s of the store's loop between two looks. */
		ev_timer t;
		ev_timer_init(&t, on_deadline, 0.1, 0.);
		struct run dummy = {0};
		t.data = &dummy;
		ev_timer_start(r->loop, &t);
		ev_run(r->loop, EVRUN_ONCE);
		while (ev_is_active(&t) && !r->timed_out)
			ev_run(r->loop, EVRUN_ONCE);
		ev_timer_stop(r->loop, &t);
	}
	fail_msg("%s: %lld, not %lld", sql, got, want);
}

static char *repeat(char ch, size_t n)
{
	char *v = xmalloc(n + 1);
	memset(v, ch, n);
	v[n] = '\0';
	return v;
}

/* A database of its own, new and migrated: conn gets its conninfo. */
static void fresh_db(const char *name, struct buf *conn)
{
	char sql[160];
	PGconn *c = db();
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
	exec_ok(c, sql);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
	exec_ok(c, sql);
	PQfinish(c);
	struct buf log, err;
	buf_init(conn);
	buf_init(&log);
	buf_init(&err);
	buf_printf(conn, "%s dbname=%s", conninfo(), name);
	if (migrate_run(conn->data, &log, &err) != 0)
		fail_msg("migrate: %s", buf_str(&err));
	buf_free(&log);
	buf_free(&err);
}

/* A news ID and a tag longer than an index entry may be are bounded before
 * the database sees them; a value it still refuses for good (here a title
 * over the limit of an index an admin added: SQLSTATE 54000) is rejected
 * alone, kept in feedd.rejected, and the articles after it are stored. */
static void test_oversized_values_block_nothing(void **state)
{
	struct buf conn;
	fresh_db("feedd_big", &conn);
	PGconn *c = PQconnectdb(conn.data);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	exec_ok(c, "CREATE INDEX articles_title_idx ON feedd.articles (title)");
	struct run r;
	run_init(&r, conn.data);
	store_sync_source(r.store, "big", "https://big.example/");
	store_sync_feed(r.store, "big-all", "big", "https://big.example/rss", 0, true, "default",
			0);
	for (int i = 0; i < 20; i++) {
		struct store_article *a = article("big", "big-all", i, "T");
		if (i == 3) { /* a 3,000-byte guid, twice with different ends */
			free(a->news_id);
			a->news_id = repeat('g', 3000);
		}
		if (i == 4) {
			free(a->news_id);
			a->news_id = repeat('g', 3000);
			a->news_id[2999] = 'h';
		}
		if (i == 5) { /* a 3,000-byte category */
			free(a->tags[0]);
			a->tags[0] = repeat('c', 3000);
		}
		if (i == 6) { /* 20,000 characters that do not compress well */
			struct buf t;
			buf_init(&t);
			uint64_t x = 88172645463325252ULL;
			for (int k = 0; k < 20000; k++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				buf_putc(&t, "0123456789abcdef"[x & 15]);
			}
			free(a->title);
			a->title = buf_steal(&t);
		}
		store_submit_article(r.store, a);
	}
	run_until(&r, 20);
	assert_int_equal(r.counts[STORE_INSERTED], 19);
	assert_int_equal(r.counts[STORE_REJECTED], 1);
	/* The store goes on after it. */
	store_submit_article(r.store, article("big", "big-all", 100, "After"));
	run_until(&r, 21);
	assert_int_equal(r.counts[STORE_INSERTED], 20);
	run_until_sql(&r, c, "SELECT count(*) FROM feedd.rejected WHERE kind = 'article'", 1);
	run_free(&r);
	assert_int_equal(scalar(c, "SELECT count(*) FROM feedd.articles"), 20);
	/* Two long IDs stay two, bounded, their start kept. */
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM feedd.articles WHERE news_id LIKE 'ggg%' "
				"AND length(news_id) <= 512"),
			 2);
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM feedd.articles WHERE tags[1] LIKE 'ccc%' "
				"AND length(tags[1]) = 256"),
			 1);
	assert_int_equal(scalar(c,
				"SELECT count(*) FROM feedd.rejected WHERE kind = 'article' AND "
				"source = 'big' AND feed = 'big-all' AND news_id = '6' AND "
				"sqlstate = '54000' AND length(title) = 20000 AND "
				"length(record) > 20000"),
			 1);
	PQfinish(c);
	buf_free(&conn);
}

/* A read-only database (default_transaction_read_only, as on a hot standby
 * or after an admin's ALTER) rejects nothing: what is submitted goes to the
 * spool, is retried with a growing backoff, and is stored once writes are
 * allowed again; store_problem says why meanwhile. */
static void test_read_only_database_loses_nothing(void **state)
{
	char dir[] = "/tmp/feedd-test-ro-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct buf conn;
	fresh_db("feedd_ro", &conn);
	PGconn *c = PQconnectdb(conn.data);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	exec_ok(c, "SELECT feedd.sync_source('ro', 'https://ro.example/')");
	exec_ok(c, "SELECT feedd.sync_feed('ro-all', 'ro', 'https://ro.example/rss', NULL, true)");
	exec_ok(c, "ALTER DATABASE feedd_ro SET default_transaction_read_only = on");
	struct run r;
	memset(&r, 0, sizeof r);
	r.loop = ev_loop_new(EVFLAG_AUTO);
	struct store_config cfg;
	store_config_default(&cfg);
	cfg.conninfo = conn.data;
	cfg.batch_size = 10;
	cfg.reconnect_min_ms = 100;
	cfg.reconnect_max_ms = 1000;
	cfg.spool_dir = dir;
	struct store_handler h = {
		.on_article = on_article, .on_poll = on_poll, .on_state = on_state, .ctx = &r};
	r.store = store_new(r.loop, &cfg, &h);
	ev_timer_init(&r.deadline, on_deadline, 120., 0.);
	r.deadline.data = &r;
	ev_timer_start(r.loop, &r.deadline);

	for (int i = 0; i < 50; i++)
		store_submit_article(r.store, article("ro", "ro-all", i, "T"));
	/* All accepted into the spool, none rejected; tried, and refused. */
	run_until(&r, 50);
	assert_int_equal(r.counts[STORE_SPOOLED], 50);
	while (!store_problem(r.store, NULL) && !r.timed_out)
		ev_run(r.loop, EVRUN_ONCE);
	assert_int_equal(r.counts[STORE_REJECTED], 0);
	bool unusable = false;
	const char *why = store_problem(r.store, &unusable);
	assert_non_null(why);
	assert_true(unusable);
	assert_non_null(strstr(why, "25006"));
	/* Three seconds of a read-only database: the backoff doubles from
	 * 0.1 s to 1 s, so a handful of attempts, not one every 0.1 s (a
	 * slower machine only makes fewer). */
	struct store_stats st0, st1;
	store_get_stats(r.store, &st0);
	ev_timer t;
	ev_timer_init(&t, on_deadline, 3., 0.);
	struct run dummy = {0};
	t.data = &dummy;
	ev_timer_start(r.loop, &t);
	while (ev_is_active(&t))
		ev_run(r.loop, EVRUN_ONCE);
	store_get_stats(r.store, &st1);
	assert_in_range(st1.connects - st0.connects, 1, 12);
	assert_int_equal(r.counts[STORE_REJECTED], 0);
	assert_true(store_spooled(r.store) >= 50);

	PGconn *admin = db();
	exec_ok(admin, "ALTER DATABASE feedd_ro RESET default_transaction_read_only");
	PQfinish(admin);
	/* The spooled articles go through now. */
	run_until_sql(&r, c,
		      "SELECT count(*) FROM feedd.articles a JOIN feedd.sources s ON "
		      "s.id = a.source_id WHERE s.name = 'ro'",
		      50);
	assert_int_equal(r.counts[STORE_REJECTED], 0);
	while (store_spooled(r.store) > 0 && !r.timed_out)
		ev_run(r.loop, EVRUN_ONCE);
	assert_int_equal(store_spooled(r.store), 0);
	assert_null(store_problem(r.store, NULL));
	run_free(&r);
	assert_int_equal(scalar(c, "SELECT count(*) FROM feedd.rejected"), 0);
	PQfinish(c);
	buf_free(&conn);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Poll records sent as one feedd.record_fetches and still in flight at exit
 * (here: waiting for a lock another session holds) are counted as not yet
 * in the spool and are spooled by store_spool_all. */
static void test_polls_in_flight_spooled_at_exit(void **state)
{
	char dir[] = "/tmp/feedd-test-exit-XXXXXX";
	assert_non_null(mkdtemp(dir));
	PGconn *c = db();
	struct run r;
	run_init(&r, conninfo());
	store_sync_source(r.store, "lk", "https://lk.example/");
	store_sync_feed(r.store, "lk-all", "lk", "https://lk.example/rss", 0, true, "default", 0);
	store_submit_article(r.store, article("lk", "lk-all", 1, "T"));
	run_until(&r, 1);
	run_free(&r);

	memset(&r, 0, sizeof r);
	r.loop = ev_loop_new(EVFLAG_AUTO);
	struct store_config cfg;
	store_config_default(&cfg);
	cfg.conninfo = conninfo();
	cfg.dedup_window_ms = 0;
	cfg.spool_dir = dir;
	struct store_handler h = {
		.on_article = on_article, .on_poll = on_poll, .on_state = on_state, .ctx = &r};
	r.store = store_new(r.loop, &cfg, &h);
	ev_timer_init(&r.deadline, on_deadline, 120., 0.);
	r.deadline.data = &r;
	ev_timer_start(r.loop, &r.deadline);
	while (r.ready_events == 0 && !r.timed_out)
		ev_run(r.loop, EVRUN_ONCE);
	assert_int_equal(r.ready_events, 1);

	exec_ok(c, "BEGIN");
	exec_ok(c, "LOCK TABLE feedd.polls IN ACCESS EXCLUSIVE MODE");
	for (int i = 0; i < 3; i++)
		store_submit_poll(r.store, poll_record("lk-all", i));
	/* Until the store's record_fetches waits for the lock. */
	PGconn *c2 = db();
	for (int i = 0; i < 1200 && !r.timed_out; i++) {
		ev_run(r.loop, EVRUN_NOWAIT);
		if (scalar(c2, "SELECT count(*) FROM pg_locks WHERE NOT granted") > 0)
			break;
		struct timespec ts = {0, 50 * 1000000};
		nanosleep(&ts, NULL);
	}
	assert_int_equal(scalar(c2, "SELECT count(*) FROM pg_locks WHERE NOT granted"), 1);
	PQfinish(c2);
	assert_int_equal(store_backlog(r.store), 3);
	assert_int_equal(store_unspooled(r.store), 3);
	assert_int_equal(store_spool_all(r.store), 0);
	run_free(&r);
	exec_ok(c, "ROLLBACK");
	PQfinish(c);

	struct buf err, rec;
	buf_init(&err);
	buf_init(&rec);
	struct spool *sp = NULL;
	assert_int_equal(spool_open(&sp, dir, 0, 0, &err), 0);
	int polls = 0;
	struct spool_pos pos;
	while (spool_read(sp, &rec, &pos) == 1)
		polls += record_kind_of(rec.data, rec.len) == RECORD_POLL;
	assert_int_equal(polls, 3);
	spool_close(sp);
	buf_free(&err);
	buf_free(&rec);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* A connection that dies after the first results of a batch were read and
 * before its end: the batch's items are all sent again.  (They were lost:
 * the walk that queues them again looked only at the commands still
 * awaiting results, and the items answered already were on none.)  Here
 * the second article of a batch waits for a lock the test holds on its
 * news ID while the first is answered; then the store's backend is
 * terminated. */
static void test_connection_lost_mid_batch(void **state)
{
	PGconn *c = db(), *c2 = db();
	struct run r;
	run_init(&r, conninfo());
	store_sync_source(r.store, "mid", "https://mid.example/");
	store_sync_feed(r.store, "mid-all", "mid", "https://mid.example/rss", 0, true, "default",
			0);
	store_submit_article(r.store, article("mid", "mid-all", 1, "T"));
	run_until(&r, 1);
	exec_ok(c, "BEGIN");
	exec_ok(c,
		"INSERT INTO feedd.articles (source_id, news_id, content_hash) "
		"SELECT id, '3', 'x' FROM feedd.sources WHERE name = 'mid'");
	store_submit_article(r.store, article("mid", "mid-all", 2, "T"));
	store_submit_article(r.store, article("mid", "mid-all", 3, "T"));
	run_until_sql(&r, c2,
		      "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
		      "AND datname = current_database()",
		      1);
	/* Article 2's answer has been read by now (it came before 3 waited). */
	for (int i = 0; i < 5; i++)
		ev_run(r.loop, EVRUN_NOWAIT);
	assert_int_equal(r.reported, 1);
	assert_int_equal(store_backlog(r.store), 2);
	exec_ok(c2,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
		"WHERE wait_event_type = 'Lock' AND datname = current_database()");
	exec_ok(c, "ROLLBACK");
	run_until(&r, 3);
	assert_int_equal(r.counts[STORE_INSERTED], 3);
	run_free(&r);
	assert_int_equal(scalar(c2,
				"SELECT count(*) FROM feedd.articles a JOIN feedd.sources s ON "
				"s.id = a.source_id WHERE s.name = 'mid' AND content_hash <> 'x'"),
			 3);
	PQfinish(c);
	PQfinish(c2);
}

/* A publication time more than a day after the article was seen (a pubDate
 * of 2999) is not taken: published_at stays empty and the claim is kept in
 * published_claimed, for articles from feeds and for pages; a time less
 * than a day ahead (a clock a little off) is taken as it is. */
static void test_future_publication_time(void **state)
{
	struct run r;
	run_init(&r, conninfo());
	store_sync_source(r.store, "future", "https://future.example/");
	store_sync_feed(r.store, "future-all", "future", "https://future.example/rss", 0, true,
			"default", 0);
	int64_t now = (int64_t)time(NULL);
	const int64_t y2999 = INT64_C(32472144000); /* 2999-01-01T00:00:00Z */
	for (int i = 0; i < 4; i++) {
		struct store_article *a = article("future", "future-all", i, "T");
		a->seen_at_us = now * 1000000;
		a->published_at = i == 0 ? y2999
			: i == 1	 ? now + 2 * 86400
			: i == 2	 ? now + 3600
					 : now;
		store_submit_article(r.store, a);
	}
	run_until(&r, 4);
	assert_int_equal(r.counts[STORE_INSERTED], 4);
	/* A page of article 3 that claims 2999: the article's published_at
	 * (from its feed) stays, the claim is kept. */
	struct store_page *pg = xcalloc(1, sizeof *pg);
	pg->source = xstrdup("future");
	pg->news_id = xstrdup("3");
	pg->status = xstrdup("ok");
	pg->title = xstrdup("From the page");
	pg->published_at = y2999;
	pg->modified_at = STORE_TIME_NONE;
	pg->seen_at_us = now * 1000000;
	pg->retry_at_us = STORE_TIME_NONE;
	store_submit_page(r.store, pg, on_page, &r);
	PGconn *c = db();
	run_until_sql(&r, c,
		      "SELECT count(*) FROM feedd.articles a JOIN feedd.sources s ON "
		      "s.id = a.source_id WHERE s.name = 'future' AND a.news_id = '3' AND "
		      "a.title = 'From the page'",
		      1);
	/* The page's fate comes to the callback it was submitted with. */
	while (!r.pages[STORE_PAGE_EXTRACTED] && !r.timed_out)
		ev_run(r.loop, EVRUN_ONCE);
	assert_int_equal(r.pages[STORE_PAGE_EXTRACTED], 1);
	run_free(&r);
	char sql[512];
	snprintf(sql, sizeof sql,
		 "SELECT string_agg(a.news_id || ':' || coalesce(extract(epoch FROM "
		 "a.published_at)::bigint - %lld, -1)::text || ':' || coalesce(extract(epoch "
		 "FROM a.published_claimed)::bigint, -1)::text, ' ' ORDER BY a.news_id) "
		 "FROM feedd.articles a JOIN feedd.sources s ON s.id = a.source_id "
		 "WHERE s.name = 'future'",
		 (long long)now);
	PGresult *res = PQexec(c, sql);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	char want[256];
	snprintf(want, sizeof want, "0:-1:%lld 1:-1:%lld 2:3600:-1 3:0:%lld", (long long)y2999,
		 (long long)(now + 2 * 86400), (long long)y2999);
	assert_string_equal(PQgetvalue(res, 0, 0), want);
	PQclear(res);
	/* latest_articles orders them by when they were seen, not by 2999:
	 * the newest is the one published an hour from now. */
	assert_int_equal(scalar(c,
				"SELECT news_id::int FROM feedd.latest_articles WHERE source = "
				"'future' ORDER BY newest_at DESC LIMIT 1"),
			 2);
	PQfinish(c);
}

int main(void)
{
	log_init(LOG_STYLE_DAEMON, LOG_LVL_WARNING);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_semantics),
		cmocka_unit_test(test_bad_article_rejected_alone),
		cmocka_unit_test(test_polls_in_one_statement),
		cmocka_unit_test(test_lanes_uncover_each_others_articles),
		cmocka_unit_test(test_restart_mid_batch),
		cmocka_unit_test(test_fresh_tables_get_statistics),
		cmocka_unit_test(test_unmigrated_database_refused),
		cmocka_unit_test(test_oversized_values_block_nothing),
		cmocka_unit_test(test_read_only_database_loses_nothing),
		cmocka_unit_test(test_polls_in_flight_spooled_at_exit),
		cmocka_unit_test(test_future_publication_time),
		cmocka_unit_test(test_connection_lost_mid_batch),
	};
	return cmocka_run_group_tests(tests, setup_db, NULL);
}
