/*
 * store_bench: 100,000 articles (~3 KB each) through the store module, then
 * the same rows COPYed into an empty copy of feedd.articles in the same run,
 * with both rates and their ratio; then the same 100,000 submitted again,
 * counting the database round trips they cause.
 *
 * usage: store_bench CONNINFO [N]   (the database must be migrated)
 */
#include <ev.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feedd/date.h"
#include "feedd/log.h"
#include "feedd/store.h"
#include "feedd/util.h"

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A vocabulary of 8,000 made-up words of 2 to 11 letters, drawn with a
 * Zipf-like skew (word k about as often as 1/k), so the full-text index
 * sees text shaped like prose rather than a handful of repeated words. */
#define VOCAB 8000
static char vocab[VOCAB][12];
static double zipf_cdf[VOCAB];

static void make_vocab(void)
{
	double sum = 0;
	for (int k = 0; k < VOCAB; k++) {
		int len = 2 + (int)(next_rand() % 10);
		for (int i = 0; i < len; i++)
			vocab[k][i] = (char)('a' + next_rand() % 26);
		vocab[k][len] = '\0';
		sum += 1.0 / (k + 1);
		zipf_cdf[k] = sum;
	}
	for (int k = 0; k < VOCAB; k++)
		zipf_cdf[k] /= sum;
}

static const char *word(void)
{
	double u = (double)(next_rand() >> 11) / (double)(1ULL << 53);
	int lo = 0, hi = VOCAB - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return vocab[lo];
}

static char *text(size_t bytes)
{
	struct buf b;
	buf_init(&b);
	while (b.len < bytes) {
		if (b.len && next_rand() % 90 == 0)
			buf_puts(&b, ".\n");
		else if (b.len)
			buf_putc(&b, ' ');
		buf_puts(&b, word());
	}
	return buf_steal(&b);
}

static struct store_article **make_articles(int n)
{
	struct store_article **v = xcalloc((size_t)n, sizeof *v);
	for (int i = 0; i < n; i++) {
		struct store_article *a = xcalloc(1, sizeof *a);
		char buf[96];
		a->source = xstrdup("bench");
		a->feed = xstrdup("bench-all");
		snprintf(buf, sizeof buf, "%d", 85000000 + i);
		a->news_id = xstrdup(buf);
		snprintf(buf, sizeof buf, "https://en.irna.ir/news/%d/story", 85000000 + i);
		a->url = xstrdup(buf);
		a->title = text(70);
		a->lead = text(220);
		a->body = text(2700);
		a->author = xstrdup("IRNA");
		a->n_tags = 2;
		a->tags = xcalloc(2, sizeof *a->tags);
		a->tags[0] = xstrdup(word());
		a->tags[1] = xstrdup("Politics");
		a->published_at = 1749600000 + i;
		a->seen_at_us = (1749600000LL + i) * 1000000;
		store_article_hash(a);
		v[i] = a;
	}
	return v;
}

static struct store_article *copy_article(const struct store_article *a)
{
	struct store_article *c = xcalloc(1, sizeof *c);
	*c = *a;
	c->source = xstrdup(a->source);
	c->feed = xstrdup(a->feed);
	c->news_id = xstrdup(a->news_id);
	c->url = xstrdup(a->url);
	c->title = xstrdup(a->title);
	c->lead = xstrdup(a->lead);
	c->body = xstrdup(a->body);
	c->author = xstrdup(a->author);
	c->image = NULL;
	c->language = NULL;
	c->tags = xcalloc(a->n_tags, sizeof *c->tags);
	for (size_t i = 0; i < a->n_tags; i++)
		c->tags[i] = xstrdup(a->tags[i]);
	return c;
}

struct run {
	struct ev_loop *loop;
	size_t reported, target, failed;
	bool ready;
};

static void on_article(void *ctx, const struct store_article *a, enum store_outcome o)
{
	struct run *r = ctx;
	r->reported++;
	if (o == STORE_REJECTED)
		r->failed++;
	if (r->reported >= r->target)
		ev_break(r->loop, EVBREAK_ALL);
}

static void on_state(void *ctx, bool ready)
{
	struct run *r = ctx;
	r->ready = ready;
	if (ready && r->target == 0)
		ev_break(r->loop, EVBREAK_ALL);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void must(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "store_bench: %s: %s", sql, PQerrorMessage(c));
		exit(1);
	}
	PQclear(r);
}

/* A COPY text-format field: backslash, tab, newline and CR escaped. */
static void copy_field(struct buf *b, const char *s)
{
	if (!s) {
		buf_puts(b, "\\N");
		return;
	}
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		default:
			buf_putc(b, *s);
		}
	}
}

static double copy_rows(PGconn *c, struct store_article **v, int n, long long source_id)
{
	must(c, "DROP TABLE IF EXISTS feedd.articles_copy_bench");
	must(c, "CREATE TABLE feedd.articles_copy_bench (LIKE feedd.articles INCLUDING ALL)");
	must(c, "CHECKPOINT");
	double t0 = now();
	PGresult *r = PQexec(c,
			     "COPY feedd.articles_copy_bench (source_id, news_id, url, title, "
			     "lead, body, author, tags, published_at, first_seen_at, "
			     "content_hash) FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		fprintf(stderr, "store_bench: COPY: %s", PQerrorMessage(c));
		exit(1);
	}
	PQclear(r);
	struct buf row;
	buf_init(&row);
	for (int i = 0; i < n; i++) {
		const struct store_article *a = v[i];
		buf_reset(&row);
		buf_printf(&row, "%lld\t", source_id);
		copy_field(&row, a->news_id);
		buf_putc(&row, '\t');
		copy_field(&row, a->url);
		buf_putc(&row, '\t');
		copy_field(&row, a->title);
		buf_putc(&row, '\t');
		copy_field(&row, a->lead);
		buf_putc(&row, '\t');
		copy_field(&row, a->body);
		buf_putc(&row, '\t');
		copy_field(&row, a->author);
		buf_printf(&row, "\t{\"%s\",\"%s\"}\t", a->tags[0], a->tags[1]);
		char pub[DATE_ISO_LEN], seen[DATE_ISO_LEN];
		date_format_utc(a->published_at, pub);
		date_format_utc(a->seen_at_us / 1000000, seen);
		buf_printf(&row, "%s\t%s\t", pub, seen);
		copy_field(&row, a->content_hash);
		buf_putc(&row, '\n');
		if (PQputCopyData(c, row.data, (int)row.len) != 1) {
			fprintf(stderr, "store_bench: COPY data: %s", PQerrorMessage(c));
			exit(1);
		}
	}
	buf_free(&row);
	PQputCopyEnd(c, NULL);
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "store_bench: COPY end: %s", PQerrorMessage(c));
		exit(1);
	}
	PQclear(r);
	while ((r = PQgetResult(c)))
		PQclear(r);
	double t = now() - t0;
	must(c, "DROP TABLE feedd.articles_copy_bench");
	return t;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: store_bench CONNINFO [N]\n");
		return 2;
	}
	const char *conninfo = argv[1];
	int n = argc > 2 ? atoi(argv[2]) : 100000;
	log_init(LOG_STYLE_DAEMON, getenv("FEEDD_BENCH_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARNING);

	printf("generating %d articles of ~3 KB...\n", n);
	make_vocab();
	struct store_article **v = make_articles(n);
	double mb = 0;
	for (int i = 0; i < n; i++)
		mb += (double)(strlen(v[i]->title) + strlen(v[i]->lead) + strlen(v[i]->body)) / 1e6;

	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "store_bench: %s", PQerrorMessage(c));
		return 1;
	}
	must(c, "TRUNCATE feedd.articles, feedd.article_feeds, feedd.article_revisions");
	must(c, "SELECT feedd.sync_source('bench', 'https://en.irna.ir/')");
	must(c, "SELECT feedd.sync_feed('bench-all', 'bench', 'https://en.irna.ir/rss', 60, true)");
	PGresult *idr = PQexec(c, "SELECT id FROM feedd.sources WHERE name = 'bench'");
	long long source_id = atoll(PQgetvalue(idr, 0, 0));
	PQclear(idr);

	/* 1: the store, pipelined prepared statements. */
	struct run r = {.loop = ev_loop_new(EVFLAG_AUTO)};
	struct store_config cfg;
	store_config_default(&cfg);
	cfg.conninfo = conninfo;
	if (getenv("FEEDD_BENCH_BATCH"))
		cfg.batch_size = atoi(getenv("FEEDD_BENCH_BATCH"));
	struct store_handler h = {.on_article = on_article, .on_state = on_state, .ctx = &r};
	struct store *s = store_new(r.loop, &cfg, &h);
	ev_run(r.loop, 0); /* until ready */
	if (!r.ready) {
		fprintf(stderr, "store_bench: the store did not become ready\n");
		return 1;
	}
	must(c, "CHECKPOINT");
	r.target = (size_t)n;
	double t0 = now();
	for (int i = 0; i < n; i++)
		store_submit_article(s, copy_article(v[i]));
	ev_run(r.loop, 0);
	double t_store = now() - t0;
	struct store_stats st1;
	store_get_stats(s, &st1);

	/* 2: the same articles again: the dedup set answers. */
	r.reported = 0;
	for (int i = 0; i < n; i++)
		store_submit_article(s, copy_article(v[i]));
	struct store_stats st2;
	store_get_stats(s, &st2);

	/* 3: COPY of the same rows into an empty copy of the table. */
	double t_copy = copy_rows(c, v, n, source_id);

	printf("\n%-34s %10s %10s %10s\n", "method", "seconds", "rows/s", "MB/s");
	printf("%-34s %10.2f %10.0f %10.1f\n", "store (pipelined, prepared)", t_store, n / t_store,
	       mb / t_store);
	printf("%-34s %10.2f %10.0f %10.1f\n", "COPY into an empty copy (baseline)", t_copy,
	       n / t_copy, mb / t_copy);
	double ratio = (n / t_store) / (n / t_copy);
	printf("\nstore rate / COPY rate = %.2f   (goal >= 0.90: %s)\n", ratio,
	       ratio >= 0.9 ? "MET" : "MISSED");
	printf("store: %llu batches, %llu round trips, %zu rejected\n",
	       (unsigned long long)st1.batches, (unsigned long long)st1.round_trips, r.failed);
	printf("re-submitting the same %d articles: %llu round trips, %llu answered by the "
	       "dedup set (goal 0 round trips: %s)\n",
	       n, (unsigned long long)(st2.round_trips - st1.round_trips),
	       (unsigned long long)(st2.duplicates - st1.duplicates),
	       st2.round_trips == st1.round_trips ? "MET" : "MISSED");

	store_free(s);
	ev_loop_destroy(r.loop);
	PQfinish(c);
	for (int i = 0; i < n; i++)
		store_article_free(v[i]);
	free(v);
	return 0;
}
