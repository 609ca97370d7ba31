/*
 * store_result: what the database's answers mean for what was sent (see
 * store_int.h).  store_conn.c reads each result and hands it here with the
 * command it answers; a batch's items are final only at its sync: committed
 * (remembered in the dedup set and reported), or, when it failed, the
 * SQLSTATE says what next.  A data error sends the batch again item by
 * item, so that the one bad item is rejected alone and kept in
 * feedd.rejected; anything else leaves the connection with every item kept.
 */
#include "store_int.h"

#include "feedd/dedup.h"
#include "feedd/log.h"
#include "feedd/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The schema's version, the first answer of every setup. */
static void result_version(struct batch *b, PGresult *r, bool ok)
{
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
}

/* The dedup set's warm-up: the rows of sql_warm, oldest first. */
static void result_warm(struct store *s, struct batch *b, PGresult *r, bool ok)
{
	if (!ok) {
		batch_fail(b, NULL, r, "reading recent articles failed");
		return;
	}
	for (int i = 0; i < PQntuples(r); i++)
		dedup_remember(s->dedup, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
			       hash64(PQgetvalue(r, i, 2)),
			       PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3));
	s->warmed = true;
	LOG_INFO("database: dedup set warmed with %zu recent articles", dedup_size(s->dedup));
}

/* Each feed's fetch state (the columns of sql_feed_state), to on_feed_state. */
static void result_feed_state(struct store *s, struct batch *b, PGresult *r, bool ok)
{
	if (!ok) {
		batch_fail(b, NULL, r, "reading the feeds' fetch state failed");
		return;
	}
	for (int i = 0; i < PQntuples(r); i++) {
#define COL(k) (PQgetisnull(r, i, k) ? NULL : PQgetvalue(r, i, k))
		struct store_feed_state fs = {
			.name = COL(0),
			.url = COL(1),
			.etag = COL(2),
			.last_modified = COL(3),
			.next_poll_us =
				PQgetisnull(r, i, 4) ? STORE_TIME_NONE : atoll(PQgetvalue(r, i, 4)),
			.error_count = atoi(PQgetvalue(r, i, 5)),
			.disabled_reason = COL(6),
			.permanent_url = COL(7),
			.enabled = PQgetvalue(r, i, 8)[0] == 't',
			.source = COL(9),
			.interval_s = PQgetisnull(r, i, 10) ? 0 : atoi(PQgetvalue(r, i, 10)),
			.group = COL(11),
			.config_at_us = PQgetisnull(r, i, 12) ? STORE_TIME_NONE
							      : atoll(PQgetvalue(r, i, 12)),
		};
#undef COL
		s->h.on_feed_state(s->h.ctx, &fs);
	}
}

/* The due page visits a claim got (the columns of sql_claim).  A batch
 * sent again answers again: the last answer is kept. */
static void claim_rows(struct claim *cl, PGresult *r)
{
	store_claim_rows_free(cl);
	cl->n_rows = (size_t)PQntuples(r);
	cl->rows = xcalloc(cl->n_rows ? cl->n_rows : 1, sizeof *cl->rows);
	for (size_t i = 0; i < cl->n_rows; i++) {
		int row = (int)i;
		cl->rows[i] = (struct store_visit){
			.source = xstrdup(PQgetvalue(r, row, 0)),
			.news_id = xstrdup(PQgetvalue(r, row, 1)),
			.url = PQgetisnull(r, row, 2) ? NULL : xstrdup(PQgetvalue(r, row, 2)),
			.visits = atoi(PQgetvalue(r, row, 3)),
			.attempts = atoi(PQgetvalue(r, row, 4)),
		};
	}
}

/* The feeds a lease claim got (the columns of sql_feed_claim).  A batch
 * sent again answers again: the last answer is kept. */
static void feed_claim_rows(struct feed_claim *fc, PGresult *r)
{
	store_feed_claim_rows_free(fc);
	fc->n_rows = (size_t)PQntuples(r);
	fc->rows = xcalloc(fc->n_rows ? fc->n_rows : 1, sizeof *fc->rows);
	for (size_t i = 0; i < fc->n_rows; i++) {
		int row = (int)i;
		const char *v[7];
		for (int k = 0; k < 7; k++)
			v[k] = PQgetisnull(r, row, k) ? NULL : PQgetvalue(r, row, k);
		fc->rows[i] = (struct store_feed_state){
			.name = xstrdup(v[0] ? v[0] : ""),
			.url = v[1] ? xstrdup(v[1]) : NULL,
			.etag = v[2] ? xstrdup(v[2]) : NULL,
			.last_modified = v[3] ? xstrdup(v[3]) : NULL,
			.next_poll_us = v[4] ? strtoll(v[4], NULL, 10) : STORE_TIME_NONE,
			.error_count = v[5] ? atoi(v[5]) : 0,
			.permanent_url = v[6] ? xstrdup(v[6]) : NULL,
			.enabled = true,
			.config_at_us = STORE_TIME_NONE,
		};
	}
}

static enum store_outcome article_outcome(const char *o)
{
	return strcmp(o, "inserted") == 0   ? STORE_INSERTED
		: strcmp(o, "linked") == 0  ? STORE_LINKED
		: strcmp(o, "revised") == 0 ? STORE_REVISED
					    : STORE_UNCHANGED;
}

/* One item's answer: failed, or its outcome (an article's, a page's) or
 * its rows (a claim's), final once its batch commits. */
static void result_item(struct cmd *c, PGresult *r, ExecStatusType st, bool ok)
{
	struct item *it = c->item;
	it->failed = !ok;
	if (!ok) {
		if (st != PGRES_PIPELINE_ABORTED)
			batch_fail(c->batch, it, r, "statement failed");
		return;
	}
	if (it->kind == ITEM_PAGE && PQntuples(r) == 1) {
		const char *o = PQgetvalue(r, 0, 1);
		it->page_outcome = strcmp(o, "extracted") == 0 ? STORE_PAGE_EXTRACTED
			: strcmp(o, "unchanged") == 0	       ? STORE_PAGE_UNCHANGED
			: strcmp(o, "revised") == 0	       ? STORE_PAGE_REVISED
			: strcmp(o, "failed") == 0	       ? STORE_PAGE_FAILED
							       : STORE_PAGE_MISSING;
		it->revision = PQgetisnull(r, 0, 2) ? 0 : atoi(PQgetvalue(r, 0, 2));
	}
	if (it->kind == ITEM_CLAIM)
		claim_rows(it->u.claim, r);
	if (it->kind == ITEM_FEED_CLAIM)
		feed_claim_rows(it->u.feed_claim, r);
	if (it->kind == ITEM_ARTICLE && PQntuples(r) == 1)
		it->outcome = article_outcome(PQgetvalue(r, 0, 1));
}

/* A run's statement (CMD_POLLS, CMD_ARTICLES): its items failed with it,
 * or not; which one was at fault is for the item-by-item retry to find. */
static bool result_run(struct cmd *c, PGresult *r, ExecStatusType st, bool ok)
{
	for (size_t i = 0; i < cmd_n_items(c); i++)
		cmd_item(c, i)->failed = !ok;
	if (!ok && st != PGRES_PIPELINE_ABORTED)
		batch_fail(c->batch, NULL, r, "statement failed");
	return ok;
}

/* A run of articles' answer (feedd.store_articles): one row per article,
 * by its 1-based position in the run. */
static void result_articles(struct cmd *c, PGresult *r)
{
	size_t answered = 0;
	for (int row = 0; row < PQntuples(r); row++) {
		long k = atol(PQgetvalue(r, row, 0));
		if (k < 1 || (size_t)k > cmd_n_items(c))
			continue;
		cmd_item(c, (size_t)k - 1)->outcome = article_outcome(PQgetvalue(r, row, 1));
		answered++;
	}
	if (answered != cmd_n_items(c))
		LOG_WARN("database: feedd.store_articles answered %zu of %zu articles", answered,
			 cmd_n_items(c));
}

void store_handle_result(struct store *s, struct cmd *c, PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
	struct batch *b = c->batch;
	c->got_result = true;
	switch (c->kind) {
	case CMD_VERSION:
		result_version(b, r, ok);
		break;
	case CMD_PREPARE:
		if (!ok)
			batch_fail(b, NULL, r, "PREPARE failed");
		break;
	case CMD_WARM:
		result_warm(s, b, r, ok);
		break;
	case CMD_FEED_STATE:
		result_feed_state(s, b, r, ok);
		break;
	case CMD_ITEM:
		result_item(c, r, st, ok);
		break;
	case CMD_SETTLE:
		if (!ok)
			batch_fail(b, NULL, r, "feedd.settle_statistics() failed");
		else if (PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't')
			LOG_INFO("database: feedd.articles had no planner statistics yet; analysed "
				 "it, so that its foreign-key checks use the primary key");
		break;
	case CMD_POLLS:
		result_run(c, r, st, ok);
		break;
	case CMD_ARTICLES:
		if (result_run(c, r, st, ok))
			result_articles(c, r);
		break;
	case CMD_SYNC:
		break;
	}
}

/* An item final: committed (ok) or rejected for good; l is the lane that
 * committed it, NULL for a rejection. */
static void item_done(struct store *s, struct lane *l, struct item *it, bool ok)
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
		if (ok && l && it->outcome == STORE_INSERTED)
			l->session_inserted++;
		store_tell_article(s, a, ok ? it->outcome : STORE_REJECTED);
		break;
	}
	case ITEM_POLL:
		store_tell_poll(s, it->u.poll, ok);
		break;
	case ITEM_PAGE:
		store_tell_page(it, ok ? it->page_outcome : STORE_PAGE_REJECTED, it->revision);
		break;
	case ITEM_CLAIM:
		if (it->done.visits)
			it->done.visits(it->done_ctx, it->u.claim->rows,
					ok ? it->u.claim->n_rows : 0, ok);
		break;
	case ITEM_FEED_CLAIM:
		if (it->done.feeds)
			it->done.feeds(it->done_ctx, it->u.feed_claim->rows,
				       ok ? it->u.feed_claim->n_rows : 0, ok);
		break;
	case ITEM_RELEASE:
	case ITEM_SOURCE:
	case ITEM_FEED:
	case ITEM_REJECTED:
	case ITEM_INSTANCE:
		break;
	}
	store_item_free(it);
}

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
	if (strncmp(state, "40", 2) == 0)
		return FAIL_CONFLICT;
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
	if (it->kind == ITEM_REJECTED || it->kind == ITEM_INSTANCE || it->kind == ITEM_FEED_CLAIM) {
		item_done(s, NULL, it, false);
		return;
	}
	struct rejected *r = xcalloc(1, sizeof *r);
	static const char *const kinds[] = {
		[ITEM_ARTICLE] = "article",   [ITEM_POLL] = "poll",
		[ITEM_SOURCE] = "source",     [ITEM_FEED] = "feed",
		[ITEM_PAGE] = "page",	      [ITEM_CLAIM] = "claim",
		[ITEM_RELEASE] = "release",   [ITEM_REJECTED] = "rejected",
		[ITEM_INSTANCE] = "instance", [ITEM_FEED_CLAIM] = "feed claim",
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
	if (spoolable(it))
		store_record_hex(s, it, &r->record);
	item_done(s, NULL, it, false);
	struct item *row = store_item_new(s, ITEM_REJECTED);
	row->u.rejected = r;
	store_push_back(s, row);
}

void store_set_problem(struct store *s, enum failure f, const char *error, const char *sqlstate,
		       bool in_setup)
{
	snprintf(s->problem, sizeof s->problem, "%.300s%s%s%s", error,
		 sqlstate[0] ? " (SQLSTATE " : "", sqlstate, sqlstate[0] ? ")" : "");
	s->problem_unusable = f == FAIL_UNUSABLE;
	s->problem_in_setup = in_setup;
}

/* A batch of items that failed: left with everything kept (the database
 * cannot take it now: true, with *drop filled), sent again item by item
 * (its data), or, when it was one item, that item rejected. */
static bool batch_failed(struct store *s, struct batch *b, struct drop_request *drop)
{
	char what[300];
	if (b->failed_item)
		store_item_describe(b->failed_item, what, sizeof what);
	else
		snprintf(what, sizeof what, "a batch of %zu items", b->n);
	enum failure f = classify(b->sqlstate);
	if (f == FAIL_CONFLICT) {
		LOG_INFO("database: %s was rolled back (%s, SQLSTATE %s); sent again", what,
			 b->error, b->sqlstate);
		for (size_t i = 0; i < b->n; i++)
			b->items[i]->failed = false;
		store_push_front(s, b->items, b->n);
		store_batch_free(b);
		store_poke(s);
		return false;
	}
	if (f != FAIL_DATA) {
		snprintf(drop->why, sizeof drop->why, "%s failed: %s (SQLSTATE %s)", what, b->error,
			 b->sqlstate[0] ? b->sqlstate : "none");
		store_set_problem(s, f, b->error, b->sqlstate, false);
		if (f == FAIL_UNUSABLE)
			LOG_ERR("database: cannot store: %s; everything is kept%s and sent again "
				"after a backoff, none of it is dropped",
				drop->why, s->spool ? " in the spool" : " in memory");
		drop->items = b->items;
		drop->n = b->n;
		b->items = NULL;
		store_batch_free(b);
		return true;
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
		store_push_front(s, b->items, b->n);
	} else {
		LOG_ERR("database: %s rejected: %s (SQLSTATE %s); kept in feedd.rejected", what,
			b->error, b->sqlstate);
		s->stats.rejected++;
		reject(s, b->items[0], b->error, b->sqlstate);
	}
	store_batch_free(b);
	return false;
}

bool store_batch_done(struct lane *l, struct batch *b, struct drop_request *drop)
{
	struct store *s = l->s;
	if (b->warm) {
		s->warm_in_flight = false;
		if (b->error) {
			/* Only round trips are at stake: go on without it. */
			LOG_WARN("database: %s (%s); going on without the dedup set's warm-up",
				 b->error, b->sqlstate);
			s->warmed = true;
		}
		store_batch_free(b);
		store_poke(s); /* the helper lanes waited for it */
		return false;
	}
	if (b->settle) {
		/* Once per session, whatever the answer: autovacuum does the
		 * same job a little later. */
		l->settle_in_flight = false;
		l->settled = true;
		if (b->error)
			LOG_WARN("%s: %s (%s); autovacuum will analyse feedd.articles later",
				 l->name, b->error, b->sqlstate);
		store_batch_free(b);
		return false;
	}
	l->batches_in_flight--;
	l->n_in_flight -= b->n;
	for (size_t i = 0; l->index == 0 && i < b->n; i++) {
		if (b->items[i]->kind == ITEM_ARTICLE)
			l->part_in_flight[b->items[i]->part]--;
		l->regs_in_flight -= store_is_registration(b->items[i]);
	}
	/* Registrations or a partition's articles answered on the main lane
	 * may free a helper lane; a helper lane's batch answered may uncover
	 * items for the main lane, which looks only SCAN_LIMIT items into the
	 * queue and, finding none of its own there, waits to be poked (the
	 * store stood still after a restart when this was missing). */
	if (s->n_lanes > 1)
		store_poke(s);
	LOG_DEBUG("%s: batch of %zu items %s after %.3f s", l->name, b->n,
		  b->error ? "failed" : "committed", ev_now(s->loop) - b->sent_at);
	if (!b->error) {
		/* Progress: the next trouble starts its backoff afresh. */
		l->backoff_ms = s->cfg.reconnect_min_ms;
		s->problem[0] = '\0';
		s->stats.batches++;
		s->stats.committed += b->n;
		if (l->index != 0)
			s->stats.committed_elsewhere += b->n;
		for (size_t i = 0; i < b->n; i++)
			item_done(s, l, b->items[i], true);
		store_batch_free(b);
		return false;
	}
	return batch_failed(s, b, drop);
}
