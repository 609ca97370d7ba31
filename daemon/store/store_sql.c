/*
 * store_sql: the store's statements (see store_int.h).  Their SQL is named
 * here, each a constant: prepared once per connection (the statements[]
 * table) or sent as it is.  An item goes with its parameters as text:
 * times as ISO 8601 UTC, arrays as PostgreSQL array literals.  Nothing here
 * knows the connection's state or the sent queue: a function sends one
 * command and says whether libpq took it.
 *
 * The answers are read in store_result.c, by the columns these select.
 */
#include "store_int.h"

#include "feedd/date.h"

#include <stdio.h>
#include <string.h>

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
/* A batch of articles in one statement (sql/functions/articles.sql): the
 * columns as arrays; one row per article, by its 1-based position. */
static const char *const sql_articles =
	"SELECT item, outcome, revision FROM feedd.store_articles($1::text[], $2::text[], "
	"$3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], "
	"$10::timestamptz[], $11::text[], $12::text[], $13::text[], $14::timestamptz[], "
	"$15::bool[], $16::timestamptz[])";
static const char *const sql_release = "SELECT feedd.release_visits($1::text[], $2::text[])";
static const char *const sql_claim = "SELECT source, news_id, url, visits, attempts "
				     "FROM feedd.claim_visits($1::text[], $2::int, $3::int)";
static const char *const sql_poll =
	"SELECT feedd.record_fetch($1, $2::timestamptz, $3::int, $4::int, $5::bigint, $6::int, "
	"$7::int, $8, $9, $10, $11::timestamptz, $12, $13, $14)";
/* The consecutive polls of a batch, in one statement (sql/007). */
static const char *const sql_polls =
	"SELECT feedd.record_fetches($1::text[], $2::timestamptz[], $3::int[], $4::int[], "
	"$5::bigint[], $6::int[], $7::int[], $8::text[], $9::text[], $10::text[], "
	"$11::timestamptz[], $12::text[], $13::text[], $14::text[])";
static const char *const sql_feed_state =
	"SELECT name, url, etag, last_modified, "
	"(extract(epoch FROM next_poll_at) * 1000000)::bigint, error_count, disabled_reason, "
	"permanent_url, enabled, source, interval_s, group_name, "
	"(extract(epoch FROM config_at) * 1000000)::bigint FROM feedd.feed_state";
static const char *const sql_settle = "SELECT feedd.settle_statistics()";
/* An item the database refused for its data, kept for inspection (sql/009). */
static const char *const sql_rejected =
	"INSERT INTO feedd.rejected (kind, source, feed, news_id, url, title, sqlstate, error, "
	"record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::bytea)";
static const char *const sql_source = "SELECT feedd.sync_source($1, $2)";
static const char *const sql_feed = "SELECT feedd.sync_feed($1, $2, $3, $4::int, $5::bool, $6, "
				    "to_timestamp($7::float8 / 1000000))";
/* The beat renews the instance's leases too (gives them back when it is
 * the last), if it takes part in them ($10 > 0). */
static const char *const sql_instance =
	"SELECT feedd.instance_beat($1, $2, $3, $4::int, $5, "
	"to_timestamp($6::float8 / 1000000), $7::int, to_timestamp($8::float8 / 1000000), "
	"$9::bool), CASE WHEN $10::int > 0 THEN feedd.renew_feed_leases($1, $10::int, $9::bool) "
	"END";
static const char *const sql_feed_claim =
	"SELECT name, url, etag, last_modified, next_poll_us, error_count, permanent_url "
	"FROM feedd.claim_feeds($1, $2, $3::int, $4::int, $5::int, $6::int, $7::text[], $8::bool)";
/* Newest last, so that the dedup set's eviction keeps the newest.  $2: the
 * sources to load (a text[]), NULL for all; in the join's condition, so
 * that sources with no articles cost nothing (an empty inner side).  The
 * links are those of the window too (an article's links are never older
 * than the article): the hash join then holds the window's links, not all
 * of them (1.27 -> 0.66 s for 232,000 articles of 1,150,000 links). */
static const char *const sql_warm =
	"SELECT s.name, a.news_id, a.content_hash, f.name FROM feedd.articles a "
	"JOIN feedd.sources s ON s.id = a.source_id "
	"AND ($2::text[] IS NULL OR s.name = ANY ($2::text[])) "
	"LEFT JOIN feedd.article_feeds af ON af.source_id = a.source_id AND af.article_id = a.id "
	"AND af.first_seen_at >= now() - make_interval(secs => $1::double precision) "
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
	{"feedd_instance", &sql_instance},
	{"feedd_feed_claim", &sql_feed_claim},
	{"feedd_page", &sql_page},
	{"feedd_claim", &sql_claim},
	{"feedd_release", &sql_release},
	{"feedd_polls", &sql_polls},
	{"feedd_articles", &sql_articles},
	{"feedd_rejected", &sql_rejected},
	{"feedd_article_claimed", &sql_article_claimed},
	{"feedd_page_claimed", &sql_page_claimed},
};

/* ---- parameters as text -------------------------------------------------- */

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

void store_sql_text_array(char *const *v, size_t n, struct buf *out)
{
	buf_putc(out, '{');
	for (size_t i = 0; i < n; i++)
		array_add(out, v[i]);
	buf_putc(out, '}');
}

/* ---- items --------------------------------------------------------------- */

static bool send_page(PGconn *c, const struct store_page *pg)
{
	struct buf tags, revisit;
	buf_init(&tags);
	buf_init(&revisit);
	store_sql_text_array(pg->tags, pg->n_tags, &tags);
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

#define POLL_PARAMS 14

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
				      pl->disabled_reason,
				      pl->instance};
	memcpy(p, v, sizeof v);
}

#define ARTICLE_PARAMS 16

/* The text of an article's parameters, in the order of feedd.store_article
 * (then the claim, as store_article_claimed's last; as arrays, the order
 * of feedd.store_articles).  The strings are a's or t's. */
struct article_text {
	struct buf tags;
	char published[DATE_ISO_LEN], seen[TIME_US_LEN], claimed[DATE_ISO_LEN];
	bool has_claim;
};

static void article_params(const struct store_article *a, struct article_text *t,
			   const char *p[ARTICLE_PARAMS])
{
	buf_init(&t->tags);
	store_sql_text_array(a->tags, a->n_tags, &t->tags);
	bool has_pub = a->published_at != STORE_TIME_NONE &&
		date_format_utc(a->published_at, t->published) == 0;
	t->has_claim = a->published_claimed != STORE_TIME_NONE &&
		date_format_utc(a->published_claimed, t->claimed) == 0;
	format_time_us(a->seen_at_us, t->seen);
	const char *v[ARTICLE_PARAMS] = {a->source,
					 a->feed,
					 a->news_id,
					 a->url,
					 a->title,
					 a->lead,
					 a->body,
					 a->author,
					 t->tags.data,
					 has_pub ? t->published : NULL,
					 a->image,
					 a->language,
					 a->content_hash,
					 t->seen,
					 a->fetch_page ? "t" : "f",
					 t->has_claim ? t->claimed : NULL};
	memcpy(p, v, sizeof v);
}

static bool send_article(PGconn *c, const struct store_article *a)
{
	struct article_text t;
	const char *p[ARTICLE_PARAMS];
	article_params(a, &t, p);
	bool ok = t.has_claim
		? PQsendQueryPrepared(c, "feedd_article_claimed", 16, p, NULL, NULL, 0) == 1
		: PQsendQueryPrepared(c, "feedd_article", 15, p, NULL, NULL, 0) == 1;
	buf_free(&t.tags);
	return ok;
}

/* The text of one item's parameters, either kind; zeroed before each. */
struct param_text {
	struct poll_text poll;
	struct article_text art;
};

static void poll_item_params(const struct item *it, struct param_text *t, const char **p)
{
	poll_params(it->u.poll, &t->poll, p);
}

static void article_item_params(const struct item *it, struct param_text *t, const char **p)
{
	article_params(it->u.article, &t->art, p);
}

/* Sends the prepared statement stmt with each of its n_params parameters
 * an array literal: one element per item of items[0..n), as fill gives
 * them (the batch functions feedd.store_articles and record_fetches). */
static bool send_columns(PGconn *c, const char *stmt, int n_params, struct item *const *items,
			 size_t n,
			 void (*fill)(const struct item *, struct param_text *, const char **))
{
	_Static_assert(ARTICLE_PARAMS >= POLL_PARAMS, "col[] holds every statement's columns");
	struct buf col[ARTICLE_PARAMS];
	const char *params[ARTICLE_PARAMS];
	for (int k = 0; k < n_params; k++) {
		buf_init(&col[k]);
		buf_putc(&col[k], '{');
	}
	for (size_t i = 0; i < n; i++) {
		struct param_text t = {0};
		fill(items[i], &t, params);
		for (int k = 0; k < n_params; k++)
			array_add(&col[k], params[k]);
		buf_free(&t.art.tags);
	}
	for (int k = 0; k < n_params; k++) {
		buf_putc(&col[k], '}');
		params[k] = col[k].data;
	}
	bool ok = PQsendQueryPrepared(c, stmt, n_params, params, NULL, NULL, 0) == 1;
	for (int k = 0; k < n_params; k++)
		buf_free(&col[k]);
	return ok;
}

bool store_sql_send_articles(PGconn *c, struct item *const *items, size_t n)
{
	return send_columns(c, "feedd_articles", ARTICLE_PARAMS, items, n, article_item_params);
}

bool store_sql_send_polls(PGconn *c, struct item *const *items, size_t n)
{
	return send_columns(c, "feedd_polls", POLL_PARAMS, items, n, poll_item_params);
}

bool store_sql_send_item(PGconn *c, const struct item *it)
{
	char n1[FMT_I64_LEN], n2[FMT_I64_LEN];
	switch (it->kind) {
	case ITEM_ARTICLE:
		return send_article(c, it->u.article);
	case ITEM_POLL: {
		struct poll_text t;
		const char *p[POLL_PARAMS];
		poll_params(it->u.poll, &t, p);
		return PQsendQueryPrepared(c, "feedd_poll", POLL_PARAMS, p, NULL, NULL, 0) == 1;
	}
	case ITEM_PAGE:
		return send_page(c, it->u.page);
	case ITEM_CLAIM: {
		const struct claim *cl = it->u.claim;
		struct buf names;
		buf_init(&names);
		store_sql_text_array(cl->sources, cl->n_sources, &names);
		snprintf(n1, sizeof n1, "%d", cl->limit);
		snprintf(n2, sizeof n2, "%d", cl->lease_s);
		const char *p[3] = {names.data, n1, n2};
		bool ok = PQsendQueryPrepared(c, "feedd_claim", 3, p, NULL, NULL, 0) == 1;
		buf_free(&names);
		return ok;
	}
	case ITEM_RELEASE: {
		const struct claim *cl = it->u.claim;
		struct buf names, ids;
		buf_init(&names);
		buf_init(&ids);
		store_sql_text_array(cl->sources, cl->n_sources, &names);
		store_sql_text_array(cl->news_ids, cl->n_sources, &ids);
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
		snprintf(n2, sizeof n2, "%lld", (long long)it->u.feed.written_us);
		const char *p[7] = {it->u.feed.name,
				    it->u.feed.source,
				    it->u.feed.url,
				    it->u.feed.interval_s > 0 ? n1 : NULL,
				    it->u.feed.enabled ? "true" : "false",
				    it->u.feed.group,
				    it->u.feed.written_us > 0 ? n2 : NULL};
		return PQsendQueryPrepared(c, "feedd_feed", 7, p, NULL, NULL, 0) == 1;
	}
	case ITEM_INSTANCE: {
		char pid[16], feeds[16], started[FMT_I64_LEN], config[FMT_I64_LEN], lease[16];
		snprintf(pid, sizeof pid, "%d", it->u.instance.pid);
		snprintf(feeds, sizeof feeds, "%d", it->u.instance.feeds);
		snprintf(started, sizeof started, "%lld", (long long)it->u.instance.started_us);
		snprintf(config, sizeof config, "%lld", (long long)it->u.instance.config_at_us);
		snprintf(lease, sizeof lease, "%d", it->u.instance.lease_s);
		const char *p[10] = {it->u.instance.id,
				     it->u.instance.group,
				     it->u.instance.host,
				     pid,
				     it->u.instance.version,
				     started,
				     feeds,
				     it->u.instance.config_at_us > 0 ? config : NULL,
				     it->u.instance.stopping ? "true" : "false",
				     lease};
		return PQsendQueryPrepared(c, "feedd_instance", 10, p, NULL, NULL, 0) == 1;
	}
	case ITEM_FEED_CLAIM: {
		const struct feed_claim *fc = it->u.feed_claim;
		char limit[16], lease_s[16], horizon[16], max_s[16];
		snprintf(limit, sizeof limit, "%d", fc->limit);
		snprintf(lease_s, sizeof lease_s, "%d", fc->lease_s);
		snprintf(horizon, sizeof horizon, "%d", fc->horizon_ms);
		snprintf(max_s, sizeof max_s, "%d", fc->max_interval_s);
		struct buf skip;
		buf_init(&skip);
		store_sql_text_array(fc->skip, fc->n_skip, &skip);
		const char *p[8] = {
			fc->instance, fc->group, limit,	    lease_s,
			horizon,      max_s,	 skip.data, fc->mine ? "true" : "false"};
		bool ok = PQsendQueryPrepared(c, "feedd_feed_claim", 8, p, NULL, NULL, 0) == 1;
		buf_free(&skip);
		return ok;
	}
	}
	return false;
}

/* ---- the setup and the statements sent alone ----------------------------- */

bool store_sql_send_version(PGconn *c)
{
	return PQsendQueryParams(c, sql_version, 0, NULL, NULL, NULL, NULL, 0) == 1;
}

size_t store_sql_n_statements(void)
{
	return ARRAY_LEN(statements);
}

bool store_sql_send_prepare(PGconn *c, size_t i)
{
	return PQsendPrepare(c, statements[i].name, *statements[i].sql, 0, NULL) == 1;
}

bool store_sql_send_warm(PGconn *c, int64_t dedup_window_ms, const char *sources)
{
	char secs[32];
	snprintf(secs, sizeof secs, "%.3f", (double)dedup_window_ms / 1000.0);
	const char *params[] = {secs, sources};
	return PQsendQueryParams(c, sql_warm, 2, NULL, params, NULL, NULL, 0) == 1;
}

bool store_sql_send_feed_state(PGconn *c)
{
	return PQsendQueryParams(c, sql_feed_state, 0, NULL, NULL, NULL, NULL, 0) == 1;
}

bool store_sql_send_settle(PGconn *c)
{
	return PQsendQueryParams(c, sql_settle, 0, NULL, NULL, NULL, NULL, 0) == 1;
}
