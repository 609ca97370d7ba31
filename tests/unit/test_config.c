/*
 * test_config: cfg_load on the fixtures in fixtures/config (a file setting
 * every key, conf.d drop-ins, a minimal file that leaves the rest to the
 * defaults) and on small files written to a temporary directory for each
 * class of error, asserting that the message names file:line and the key;
 * the duration and size parsers against tables; lookups, the reload check,
 * the summary read back as a configuration, and $FEEDD_CONFIG.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "feedd/config.h"
#include "feedd/util.h"

#define GOOD FEEDD_FIXTURES "/config/good/feedd.conf"
#define MINIMAL FEEDD_FIXTURES "/config/minimal/feedd.conf"

/* ---- temporary directories ---- */

struct tmp {
	char dir[64];
	char main[128]; /* dir/feedd.conf */
};

static void tmp_make(struct tmp *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/feedd-test-config-XXXXXX");
	if (!mkdtemp(t->dir))
		fail_msg("mkdtemp: %s", strerror(errno));
	snprintf(t->main, sizeof t->main, "%s/feedd.conf", t->dir);
}

/* Writes dir/rel (creating conf.d when rel is in it) with len bytes. */
static void tmp_write_n(const struct tmp *t, const char *rel, const char *text, size_t len)
{
	char path[256];
	if (strncmp(rel, "conf.d/", 7) == 0) {
		snprintf(path, sizeof path, "%s/conf.d", t->dir);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
	}
	snprintf(path, sizeof path, "%s/%s", t->dir, rel);
	FILE *f = fopen(path, "wb");
	if (!f)
		fail_msg("fopen %s: %s", path, strerror(errno));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void tmp_write(const struct tmp *t, const char *rel, const char *text)
{
	tmp_write_n(t, rel, text, strlen(text));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void tmp_remove(struct tmp *t)
{
	nftw(t->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Loads text as dir/feedd.conf and returns the error, or "" on success. */
static char *load_text_error(const char *text)
{
	struct tmp t;
	tmp_make(&t);
	tmp_write(&t, "feedd.conf", text);
	struct cfg *c = NULL;
	struct buf err;
	buf_init(&err);
	int rc = cfg_load(t.main, &c, &err);
	cfg_free(c);
	tmp_remove(&t);
	if (rc == 0) {
		buf_free(&err);
		return xstrdup("");
	}
	/* Strip the temporary directory so that callers can compare. */
	const char *msg = buf_str(&err);
	char *out = strncmp(msg, t.dir, strlen(t.dir)) == 0 ? xstrdup(msg + strlen(t.dir) + 1)
							    : xstrdup(msg);
	buf_free(&err);
	return out;
}

static struct cfg *load_ok(const char *path)
{
	struct cfg *c = NULL;
	struct buf err;
	buf_init(&err);
	if (cfg_load(path, &c, &err) != 0)
		fail_msg("cfg_load %s: %s", path, buf_str(&err));
	buf_free(&err);
	assert_non_null(c);
	return c;
}

static const char *path_tail(const char *path)
{
	const char *fx = strstr(path, "/config/");
	return fx ? fx + 1 : path;
}

/* ---- the good fixture ---- */

static void test_good_everything(void **state)
{
	struct cfg *c = load_ok(GOOD);
	assert_string_equal(c->path, GOOD);

	/* log_level is overridden by both drop-ins; see test_confd_order */
	assert_string_equal(c->state_dir, "/tmp/feedd-test-state");
	assert_string_equal(c->user_agent, "feedd-test/1.0 (+https://example.org/feedd)");
	assert_int_equal(c->max_connections, 32);
	assert_int_equal(c->per_host_connections, 2);
	assert_int_equal(c->default_interval_ms, 10 * 60000);
	assert_int_equal(c->min_interval_ms, 30000);
	assert_int_equal(c->max_interval_ms, 12 * 3600000);
	assert_int_equal(c->max_feed_size, 32 << 20);
	assert_int_equal(c->max_entries, 1000);
	assert_int_equal(c->max_field_size, 512 << 10);
	assert_int_equal(c->max_article_size, 4 << 20);
	assert_int_equal(c->fetch_timeout_ms, 45000);
	assert_int_equal(c->connect_timeout_ms, 10000);
	assert_int_equal(c->shutdown_timeout_ms, 90000);
	assert_string_equal(c->db.conninfo, "host=/tmp dbname=feedd_test");
	assert_int_equal(c->db.batch_size, 100);
	assert_int_equal(c->db.batch_delay_ms, 250);
	assert_int_equal(c->db.dedup_window_ms, 14LL * 86400000);
	assert_true(c->db.polls_retention_ms == 90LL * 86400000);

	assert_int_equal(c->n_sources, 3);
	const struct cfg_source *irna = &c->sources[0];
	assert_string_equal(irna->name, "irna-en");
	assert_string_equal(path_tail(irna->loc.file), "config/good/feedd.conf");
	assert_int_equal(irna->loc.line, 28);
	assert_string_equal(irna->home, "https://en.irna.ir/");
	/* the home's host first, then the list lower-cased without repeats */
	assert_int_equal(irna->hosts.n, 3);
	assert_string_equal(irna->hosts.v[0], "en.irna.ir");
	assert_string_equal(irna->hosts.v[1], "www.irna.ir");
	assert_string_equal(irna->hosts.v[2], "img.irna.ir");
	assert_string_equal(irna->news_id.pattern, "/news/([0-9]+)/");
	assert_non_null(irna->news_id.code);
	assert_int_equal(irna->articles, CFG_ARTICLES_FETCH);
	assert_string_equal(irna->timezone, "Asia/Tehran");
	assert_string_equal(irna->rules, "nastooh");
	assert_string_equal(irna->date_format, "%d %B %Y %H:%M");
	assert_int_equal(irna->revisit.n, 3);
	assert_int_equal(irna->revisit.ms[0], 3600000);
	assert_int_equal(irna->revisit.ms[1], 24 * 3600000);
	assert_int_equal(irna->revisit.ms[2], 7LL * 86400000);
	assert_int_equal(irna->interval_ms, 5 * 60000);
	assert_true(irna->article_retention_ms == 730LL * 86400000);
	assert_string_equal(irna->xpath[CFG_XPATH_TITLE], "//h1[@class='title']");
	assert_string_equal(irna->xpath[CFG_XPATH_BODY],
			    "//div[@class='item-text']/p ; //div[@class='body']/p");
	assert_string_equal(irna->xpath[CFG_XPATH_EXCLUDE], "//div[@class='related']");
	for (int i = 0; i < CFG_XPATH_COUNT; i++)
		assert_non_null(irna->xpath[i]);

	const struct cfg_source *mehr = &c->sources[1];
	assert_string_equal(mehr->name, "mehr");
	assert_string_equal(mehr->news_id.pattern, "^https?://[^/]+/news/(\\d+)");
	assert_int_equal(mehr->articles, CFG_ARTICLES_FEED_ONLY);
	assert_string_equal(mehr->timezone, "UTC");
	assert_null(mehr->rules);
	assert_null(mehr->date_format);
	assert_int_equal(mehr->revisit.n, 0);
	assert_int_equal(mehr->interval_ms, 0);
	assert_true(mehr->article_retention_ms == 0); /* kept for ever */
	assert_null(mehr->xpath[CFG_XPATH_BODY]);

	assert_int_equal(c->n_feeds, 5);
	const struct cfg_feed *all = &c->feeds[0];
	assert_string_equal(all->name, "irna-en-all");
	assert_int_equal(all->loc.line, 56);
	assert_string_equal(all->source_name, "irna-en");
	assert_int_equal(all->source_loc.line, 57);
	assert_ptr_equal(all->source, irna);
	assert_string_equal(all->url, "https://en.irna.ir/rss");
	assert_int_equal(all->interval_ms, 2 * 60000);
	assert_int_equal(all->interval_from, CFG_INTERVAL_FEED);
	assert_true(all->enabled);

	const struct cfg_feed *pol = &c->feeds[1];
	assert_false(pol->enabled);
	assert_int_equal(pol->interval_ms, 5 * 60000);
	assert_int_equal(pol->interval_from, CFG_INTERVAL_SOURCE);

	const struct cfg_feed *m = &c->feeds[2];
	assert_string_equal(m->url, "http://www.mehrnews.com/rss");
	assert_ptr_equal(m->source, mehr);
	assert_int_equal(m->interval_ms, 10 * 60000);
	assert_int_equal(m->interval_from, CFG_INTERVAL_DEFAULT);
	cfg_free(c);
}

static void test_confd_order(void **state)
{
	struct cfg *c = load_ok(GOOD);
	/* README, .hidden.conf and 30-off.conf.disabled are not read */
	assert_int_equal(c->files.n, 3);
	assert_string_equal(path_tail(c->files.v[0]), "config/good/feedd.conf");
	assert_string_equal(path_tail(c->files.v[1]), "config/good/conf.d/10-world.conf");
	assert_string_equal(path_tail(c->files.v[2]), "config/good/conf.d/20-logging.conf");
	/* notice in the main file, debug in 10-, warning in 20- */
	assert_int_equal(c->log_level, LOG_LVL_WARNING);
	/* sections of later files come after those of earlier ones */
	assert_string_equal(c->feeds[3].name, "mehr-world");
	assert_ptr_equal(c->feeds[3].loc.file, c->files.v[1]);
	assert_int_equal(c->feeds[3].loc.line, 5);
	assert_string_equal(c->feeds[4].name, "tehran-times-all");
	assert_ptr_equal(c->feeds[4].source, &c->sources[2]);
	assert_int_equal(c->feeds[4].interval_ms, 20 * 60000);
	cfg_free(c);

	/* Names decide the order, not the order of creation. */
	struct tmp t;
	tmp_make(&t);
	tmp_write(&t, "feedd.conf", "[feedd]\nmax_entries = 1\n");
	tmp_write(&t, "conf.d/b.conf", "[feedd]\nmax_entries = 3\n");
	tmp_write(&t, "conf.d/a.conf", "[feedd]\nmax_entries = 2\n");
	tmp_write(&t, "conf.d/B.conf", "[feedd]\nmax_entries = 4\n");
	c = load_ok(t.main);
	assert_int_equal(c->files.n, 4);
	assert_non_null(strstr(c->files.v[1], "/conf.d/B.conf"));
	assert_non_null(strstr(c->files.v[2], "/conf.d/a.conf"));
	assert_non_null(strstr(c->files.v[3], "/conf.d/b.conf"));
	assert_int_equal(c->max_entries, 3);
	cfg_free(c);
	tmp_remove(&t);
}

static void test_defaults(void **state)
{
	struct cfg *c = load_ok(MINIMAL);
	assert_int_equal(c->files.n, 1);
	assert_int_equal(c->log_level, LOG_LVL_INFO);
	assert_string_equal(c->state_dir, "/var/lib/feedd");
	assert_string_equal(c->user_agent,
			    "feedd/" FEEDD_VERSION " (+https://github.com/feedd/feedd)");
	assert_int_equal(c->max_connections, 64);
	assert_int_equal(c->per_host_connections, 4);
	assert_int_equal(c->default_interval_ms, 15 * 60000);
	assert_int_equal(c->min_interval_ms, 60000);
	assert_int_equal(c->max_interval_ms, 6 * 3600000);
	assert_int_equal(c->max_feed_size, 64 << 20);
	assert_int_equal(c->max_entries, 50000);
	assert_int_equal(c->max_field_size, 1 << 20);
	assert_int_equal(c->max_article_size, 8 << 20);
	assert_int_equal(c->fetch_timeout_ms, 60000);
	assert_int_equal(c->connect_timeout_ms, 15000);
	assert_int_equal(c->shutdown_timeout_ms, 30000);
	assert_string_equal(c->db.conninfo, "postgresql:///feedd");
	assert_int_equal(c->db.batch_size, 200);
	assert_int_equal(c->db.store_connections, 2);
	assert_string_equal(c->group, "default");
	assert_int_equal(c->lease_ms, 120000); /* leases on: 2m */
	assert_int_equal(c->db.batch_delay_ms, 50);
	assert_int_equal(c->db.dedup_window_ms, 30LL * 86400000);
	assert_true(c->db.polls_retention_ms == 30LL * 86400000); /* polls kept 30 days */

	assert_int_equal(c->n_sources, 1);
	const struct cfg_source *s = &c->sources[0];
	assert_int_equal(s->hosts.n, 1);
	assert_string_equal(s->hosts.v[0], "example.org");
	assert_null(s->news_id.pattern);
	assert_null(s->news_id.code);
	assert_int_equal(s->articles, CFG_ARTICLES_FEED_ONLY);
	assert_string_equal(s->timezone, "UTC");
	assert_int_equal(s->interval_ms, 0);
	assert_int_equal(s->revisit.n, 0);
	assert_int_equal(c->n_feeds, 1);
	assert_true(c->feeds[0].enabled);
	assert_int_equal(c->feeds[0].interval_ms, 15 * 60000);
	assert_int_equal(c->feeds[0].interval_from, CFG_INTERVAL_DEFAULT);
	cfg_free(c);

	/* An empty file is a valid configuration with nothing to poll. */
	char *err = load_text_error("");
	assert_string_equal(err, "");
	free(err);
	err = load_text_error("# nothing but comments\n; and blank lines\n\n");
	assert_string_equal(err, "");
	free(err);
}

/* ---- errors ---- */

static const char src_ok[] = "[source s]\nhome = https://example.org/\n";

struct error_case {
	const char *text;
	const char *expect; /* the whole message after the temporary directory */
};

static const struct error_case error_cases[] = {
	/* values that do not parse, one per type */
	{"[feedd]\ndefault_interval = soon\n",
	 "feedd.conf:2: default_interval: expected a duration like 30s, 5m, 2h, 1d, got \"soon\""},
	{"[feedd]\n\n# c\nmin_interval = 0s\n",
	 "feedd.conf:4: min_interval: expected a duration from 1s to 30d, got \"0s\""},
	{"[feedd]\nmax_connections = 0\n",
	 "feedd.conf:2: max_connections: expected an integer from 1 to 10000, got \"0\""},
	{"[feedd]\nlease = 2h\n",
	 "feedd.conf:2: lease: expected a duration from 0s to 1h, got \"2h\""},
	{"[feedd]\ngroup = news room\n",
	 "feedd.conf:2: group: expected a name of at most 128 letters, digits, '.', '_' or '-', "
	 "got \"news room\""},
	{"[database]\npolls_retention = 101y\n",
	 "feedd.conf:2: polls_retention: expected a duration like 30s, 5m, 2h, 1d, got \"101y\""},
	{"[database]\npolls_retention = 36501d\n",
	 "feedd.conf:2: polls_retention: expected a duration from 0s to 36500d, got \"36501d\""},
	{"[database]\nstore_connections = 17\n",
	 "feedd.conf:2: store_connections: expected an integer from 1 to 16, got \"17\""},
	{"[feedd]\nper_host_connections = four\n",
	 "feedd.conf:2: per_host_connections: expected an integer from 1 to 100, got \"four\""},
	{"[feedd]\nmax_feed_size = 12X\n",
	 "feedd.conf:2: max_feed_size: expected a size like 512k, 64M, 1G, got \"12X\""},
	{"[feedd]\nmax_feed_size = 2G\n",
	 "feedd.conf:2: max_feed_size: expected a size from 1k to 1G, got \"2G\""},
	{"[feedd]\nlog_level = loud\n",
	 "feedd.conf:2: log_level: expected one of error, warning, notice, info, debug, got "
	 "\"loud\""},
	{"[feedd]\nstate_dir = var/lib/feedd\n",
	 "feedd.conf:2: state_dir: expected an absolute path, got \"var/lib/feedd\""},
	{"[database]\nconninfo =\n", "feedd.conf:2: conninfo: expected a value, got nothing"},
	{"[database]\nbatch_delay = 50 ms\n",
	 "feedd.conf:2: batch_delay: expected a duration like 30s, 5m, 2h, 1d, got \"50 ms\""},
	{"[feed f]\nenabled = maybe\n",
	 "feedd.conf:2: enabled: expected true or false, got \"maybe\""},
	{"[source s]\nhome = https://example.org/\xff/\n",
	 "feedd.conf:2: not valid UTF-8 (the file must be UTF-8)"},
	{"[source s]\nhome = ftp://example.org/\n",
	 "feedd.conf:2: home: expected an http:// or https:// URL, got \"ftp://example.org/\""},
	{"[source s]\nhome = https:///path\n",
	 "feedd.conf:2: home: expected an http:// or https:// URL, got \"https:///path\""},
	{"[source s]\nhome = https://example.org/\narticles = all\n",
	 "feedd.conf:3: articles: expected one of feed-only, fetch, got \"all\""},
	{"[source s]\nhome = https://example.org/\narticle_retention = forever\n",
	 "feedd.conf:3: article_retention: expected a duration like 30s, 5m, 2h, 1d, got "
	 "\"forever\""},
	{"[source s]\nhome = https://example.org/\narticle_retention = 36501d\n",
	 "feedd.conf:3: article_retention: expected a duration from 0s to 36500d, got \"36501d\""},
	{"[source s]\nhome = https://example.org/\nrevisit = 24h, 1h\n",
	 "feedd.conf:3: revisit: expected increasing durations from 1m to 365d, separated by "
	 "commas, like 1h, 24h, got \"24h, 1h\""},
	{"[source s]\nhome = https://example.org/\nrevisit = 1h,,24h\n",
	 "feedd.conf:3: revisit: expected increasing durations from 1m to 365d, separated by "
	 "commas, like 1h, 24h, got \"1h,,24h\""},
	{"[source s]\nhosts = a.example, b_c.example\n",
	 "feedd.conf:2: hosts: expected host names separated by commas, like en.irna.ir, irna.ir, "
	 "got \"b_c.example\""},
	{"[feed a/b]\n",
	 "feedd.conf:1: [feed NAME]: expected a name of at most 128 letters, digits, '.', '_' or "
	 "'-', got \"a/b\""},
	{"[source s]\nhosts = a.example, b example\n",
	 "feedd.conf:2: hosts: expected host names separated by commas, like en.irna.ir, irna.ir, "
	 "got \"b example\""},
	{"[source s]\ntimezone = ../../etc/passwd\n",
	 "feedd.conf:2: timezone: expected a time zone name like UTC or Asia/Tehran, got "
	 "\"../../etc/passwd\""},
	{"[source s]\nrules = two words\n",
	 "feedd.conf:2: rules: expected a name of at most 128 letters, digits, '.', '_' or '-', "
	 "got \"two words\""},
	/* regular expressions: PCRE2's message and offset, or no capture group */
	{"[source s]\nhome = https://example.org/\nnews_id = /news/([0-9]+/\n",
	 "feedd.conf:3: news_id: bad regular expression: missing closing parenthesis at offset 14, "
	 "got \"/news/([0-9]+/\""},
	{"[source s]\nnews_id = /news/[0-9]+/\n",
	 "feedd.conf:2: news_id: bad regular expression: the pattern needs a capture group, e.g. "
	 "/news/([0-9]+)/, got \"/news/[0-9]+/\""},
	{"[source s]\nnews_id = /news/(?:[0-9]+)/\n",
	 "feedd.conf:2: news_id: bad regular expression: the pattern needs a capture group"},
	{"[source s]\nnews_id = \\\n",
	 "feedd.conf:2: news_id: bad regular expression: \\ at end of "
	 "pattern at offset 1"},
	/* keys */
	{"[feedd]\ninterval = 5m\n", "feedd.conf:2: unknown key \"interval\" in [feedd]"},
	{"[feed f]\nsource = s\nintervall = 5m\n",
	 "feedd.conf:3: unknown key \"intervall\" in [feed f]"},
	{"[source s]\nxpath.headline = //h1\n",
	 "feedd.conf:2: unknown key \"xpath.headline\" in [source s]; xpath fields are title, "
	 "lead, body, published, updated, author, tags, image, caption, exclude"},
	{"[source s]\nmax_entries = 10\n",
	 "feedd.conf:2: unknown key \"max_entries\" in [source s]; it belongs in [feedd]"},
	{"log_level = info\n",
	 "feedd.conf:1: log_level: a key before any section; put it under [feedd], [database], "
	 "[source NAME] or [feed NAME]"},
	{"[feedd]\nlog_level = info\nmax_entries = 5\n\n[feedd]\nlog_level = debug\n",
	 "feedd.conf:6: log_level: already set at line 2"},
	{"[source s]\nhome = https://a.example/\nhome = https://b.example/\n",
	 "feedd.conf:3: home: already set at line 2"},
	/* sections */
	{"[feedd]\n[fed x]\n",
	 "feedd.conf:2: unknown section [fed]; expected [feedd], [database], [source NAME] or "
	 "[feed NAME]"},
	{"[Feedd]\n",
	 "feedd.conf:1: unknown section [Feedd]; expected [feedd], [database], [source NAME] or "
	 "[feed NAME]"},
	{"[source]\nhome = https://example.org/\n",
	 "feedd.conf:1: [source] needs a name, like [source irna-en]"},
	{"[feedd main]\n", "feedd.conf:1: [feedd] takes no name, got [feedd main]"},
	{"[feed a/b]\n",
	 "feedd.conf:1: [feed NAME]: expected a name of at most 128 letters, digits, '.', '_' or "
	 "'-', got \"a/b\""},
	{"[feedd]\n[source s\n", "feedd.conf:2: expected ']' at the end of the section header"},
	{"[feedd] ; comment\n", "feedd.conf:1: unexpected text after the section header's ']'"},
	{"[feedd]\njust some words\n",
	 "feedd.conf:2: expected key = value, a [section] header or a comment"},
	/* required keys, reported at the section header */
	{"[feedd]\n\n[source s]\narticles = fetch\n\n[feedd]\n",
	 "feedd.conf:3: [source s]: missing home = ..."},
	{"[source s]\nhome = https://example.org/\n[feed f]\nsource = s\n",
	 "feedd.conf:3: [feed f]: missing url = ..."},
	{"[feed f]\nurl = https://example.org/rss\n",
	 "feedd.conf:1: [feed f]: missing source = ..."},
	/* across sections */
	{"[source s]\nhome = https://example.org/\n\n[feed f]\nurl = https://example.org/rss\n"
	 "source = nope\n",
	 "feedd.conf:6: [feed f]: source \"nope\" is not defined; define it with [source nope] and "
	 "its home = URL"},
	{"[source s]\nhome = https://example.org/\n[source t]\nhome = https://t.example/\n"
	 "[source s]\nhome = https://example.org/\n",
	 "feedd.conf:5: [source s] is defined twice; first at "},
	{"[feedd]\nmin_interval = 1h\nmax_interval = 30m\n",
	 "feedd.conf:3: min_interval (1h) is longer than max_interval (30m)"},
	{"[feedd]\nmax_interval = 10m\n",
	 "feedd.conf:2: default_interval (15m) is outside min_interval (1m) to max_interval (10m)"},
	{"[source s]\nhome = https://example.org/\ninterval = 10s\n",
	 "feedd.conf:1: [source s]: interval (10s) is outside min_interval (1m) to max_interval "
	 "(6h)"},
	{"[source s]\nhome = https://example.org/\n[feed f]\nsource = s\n"
	 "url = https://example.org/rss\ninterval = 7h\n",
	 "feedd.conf:3: [feed f]: interval (7h) is outside min_interval (1m) to max_interval (6h)"},
	/* whole lines */
	{"\xEF\xBB\xBF[feedd]\r\nlog_level = info\r\nlog_level = info\r\n",
	 "feedd.conf:3: log_level: already set at line 2"},
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(error_cases); i++) {
		const struct error_case *e = &error_cases[i];
		char *err = load_text_error(e->text);
		if (strncmp(err, e->expect, strlen(e->expect)) != 0)
			fail_msg("case %zu:\n  text: %s\n  want: %s\n  got:  %s", i, e->text,
				 e->expect, err);
		free(err);
	}
}

static void test_duplicates(void **state)
{
	/* A duplicate across files names both places. */
	struct tmp t;
	tmp_make(&t);
	tmp_write(&t, "feedd.conf",
		  "[source s]\nhome = https://example.org/\n\n"
		  "[feed f]\nsource = s\nurl = https://example.org/rss\n");
	tmp_write(&t, "conf.d/50-more.conf",
		  "# again\n[feed f]\nsource = s\nurl = https://example.org/rss2\n");
	struct cfg *c = NULL;
	struct buf err;
	buf_init(&err);
	assert_int_equal(cfg_load(t.main, &c, &err), -1);
	assert_null(c);
	struct buf want;
	buf_init(&want);
	buf_printf(&want, "%s/conf.d/50-more.conf:2: [feed f] is defined twice; first at %s:4",
		   t.dir, t.main);
	assert_string_equal(buf_str(&err), buf_str(&want));
	buf_free(&want);
	buf_free(&err);
	tmp_remove(&t);

	/* A source and a feed may share a name: they are different things. */
	char *msg = load_text_error("[source x]\nhome = https://example.org/\n"
				    "[feed x]\nsource = x\nurl = https://example.org/rss\n");
	assert_string_equal(msg, "");
	free(msg);
}

static void test_missing_file(void **state)
{
	struct cfg *c = NULL;
	struct buf err;
	buf_init(&err);
	assert_int_equal(cfg_load("/nonexistent/feedd/feedd.conf", &c, &err), -1);
	assert_null(c);
	assert_string_equal(buf_str(&err),
			    "cannot read /nonexistent/feedd/feedd.conf: No such file or directory");
	/* A broken drop-in names itself. */
	struct tmp t;
	tmp_make(&t);
	tmp_write(&t, "feedd.conf", "[feedd]\n");
	tmp_write(&t, "conf.d/10-x.conf", "[feedd]\nmax_entries = lots\n");
	buf_reset(&err);
	assert_int_equal(cfg_load(t.main, &c, &err), -1);
	assert_non_null(strstr(buf_str(&err), "/conf.d/10-x.conf:2: max_entries: expected"));
	tmp_remove(&t);
	buf_free(&err);
}

static void test_timezone(void **state)
{
	char *err = load_text_error("[source s]\nhome = https://example.org/\n"
				    "timezone = America/Argentina/Buenos_Aires\n");
	struct stat st;
	bool have_zoneinfo = stat("/usr/share/zoneinfo/UTC", &st) == 0 && !getenv("TZDIR");
	assert_string_equal(err, have_zoneinfo ? "" : err);
	free(err);
	if (!have_zoneinfo)
		return;
	err = load_text_error("[source s]\nhome = https://example.org/\ntimezone = Mars/Olympus\n");
	assert_string_equal(err,
			    "feedd.conf:3: timezone: no time zone \"Mars/Olympus\" in "
			    "/usr/share/zoneinfo; expected a name like UTC or Asia/Tehran");
	free(err);
	/* a directory of zones is not a zone */
	err = load_text_error("[source s]\nhome = https://example.org/\ntimezone = Asia\n");
	assert_non_null(strstr(err, "feedd.conf:3: timezone: no time zone \"Asia\""));
	free(err);
}

/* Lines as inih would mangle them by default: long, with " ;", indented. */
static void test_lines(void **state)
{
	struct tmp t;
	tmp_make(&t);
	struct buf text;
	buf_init(&text);
	buf_puts(&text, "[source s]\nhome = https://example.org/\nxpath.body = //p");
	for (int i = 0; i < 1000; i++)
		buf_puts(&text, " | //p");
	buf_puts(&text, "\n  xpath.lead = //p[1] ; //p[2]\n\trules = r\n");
	/* a section name longer than inih's 50-byte limit */
	buf_puts(&text,
		 "[feed a-feed-with-a-rather-long-name-that-goes-on-and-on-and-on]\n"
		 "source = s\nurl = https://example.org/rss\n");
	tmp_write(&t, "feedd.conf", buf_str(&text));
	struct cfg *c = load_ok(t.main);
	assert_int_equal(strlen(c->sources[0].xpath[CFG_XPATH_BODY]), 3 + 1000 * 6);
	assert_string_equal(c->sources[0].xpath[CFG_XPATH_LEAD], "//p[1] ; //p[2]");
	assert_string_equal(c->sources[0].rules, "r");
	assert_string_equal(c->feeds[0].name,
			    "a-feed-with-a-rather-long-name-that-goes-on-and-on-and-on");
	assert_int_equal(c->feeds[0].source_loc.line, 7);
	cfg_free(c);
	tmp_remove(&t);

	/* Too long a line is an error, not two lines. */
	buf_reset(&text);
	buf_puts(&text, "[source s]\nhome = https://example.org/\nxpath.body = ");
	for (int i = 0; i < 9000; i++)
		buf_putc(&text, 'x');
	buf_puts(&text, "\n");
	char *err = load_text_error(buf_str(&text));
	assert_string_equal(err, "feedd.conf:3: line longer than 8192 bytes");
	free(err);
	buf_free(&text);

	/* A NUL byte means this is not the file the user meant. */
	tmp_make(&t);
	static const char nul[] = "[feedd]\n\nlog\0_level = info\n";
	tmp_write_n(&t, "feedd.conf", nul, sizeof nul - 1);
	struct buf e;
	buf_init(&e);
	c = NULL;
	assert_int_equal(cfg_load(t.main, &c, &e), -1);
	assert_non_null(strstr(buf_str(&e), "feedd.conf:3: a NUL byte"));
	buf_free(&e);
	tmp_remove(&t);
}

/* ---- values ---- */

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		int64_t ms;
	} good[] = {
		{"0", 0},
		{"30", 30000},
		{"30s", 30000},
		{"5m", 300000},
		{"2h", 7200000},
		{"1d", 86400000},
		{"50ms", 50},
		{"0ms", 0},
		{"1h30m", 5400000},
		{"1d2h3m4s5ms", 93784005},
		{"90m", 5400000},
		{"0030s", 30000},
		{"106751991167d", 106751991167LL * 86400000},
	};
	static const char *const bad[] = {
		"",
		"soon",
		"s",
		"-5s",
		"+5s",
		"5 s",
		" 5s",
		"5s ",
		"5x",
		"5sec",
		"5M",
		"1.5h",
		"5m1h",
		"1h1h",
		"1h30",
		"30ms5s",
		"5msm",
		"1,5h",
		"9223372036854775808",
		"106751991168d",
		"99999999999999999999s",
	};
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		int64_t ms = -1;
		if (cfg_parse_duration(good[i].text, &ms) != 0)
			fail_msg("\"%s\" should parse", good[i].text);
		if (ms != good[i].ms)
			fail_msg("\"%s\": want %lld, got %lld", good[i].text, (long long)good[i].ms,
				 (long long)ms);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		int64_t ms = 12345;
		if (cfg_parse_duration(bad[i], &ms) == 0)
			fail_msg("\"%s\" should not parse, got %lld", bad[i], (long long)ms);
		assert_int_equal(ms, 12345);
	}

	static const struct {
		int64_t ms;
		const char *text;
	} fmt[] = {
		{0, "0s"},
		{50, "50ms"},
		{1000, "1s"},
		{90000, "1m30s"},
		{3600000, "1h"},
		{86400000, "1d"},
		{93784005, "1d2h3m4s5ms"},
	};
	for (size_t i = 0; i < ARRAY_LEN(fmt); i++) {
		struct buf b;
		buf_init(&b);
		cfg_format_duration(fmt[i].ms, &b);
		assert_string_equal(buf_str(&b), fmt[i].text);
		int64_t back;
		assert_int_equal(cfg_parse_duration(buf_str(&b), &back), 0);
		assert_int_equal(back, fmt[i].ms);
		buf_free(&b);
	}
}

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
		{"0", 0},
		{"512", 512},
		{"1k", 1024},
		{"1K", 1024},
		{"64M", 64ULL << 20},
		{"1G", 1ULL << 30},
		{"3G", 3ULL << 30},
		{"17179869183G", 17179869183ULL << 30},
		{"18446744073709551615", UINT64_MAX},
	};
	static const char *const bad[] = {
		"",	"k",	"M",   "-1",  "+1k",  "1m",  "1g",	     "1T",
		"1KB",	"1MiB", "1 M", " 1M", "1.5M", "1kk", "17179869184G", "18446744073709551616",
		"lots",
	};
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		uint64_t n = 1;
		if (cfg_parse_size(good[i].text, &n) != 0)
			fail_msg("\"%s\" should parse", good[i].text);
		if (n != good[i].bytes)
			fail_msg("\"%s\": want %llu, got %llu", good[i].text,
				 (unsigned long long)good[i].bytes, (unsigned long long)n);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		uint64_t n = 12345;
		if (cfg_parse_size(bad[i], &n) == 0)
			fail_msg("\"%s\" should not parse, got %llu", bad[i],
				 (unsigned long long)n);
		assert_int_equal(n, 12345);
	}
}

static void test_bools_and_lists(void **state)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
		for (int v = 0; v < 2; v++) {
			struct tmp t;
			tmp_make(&t);
			struct buf text;
			buf_init(&text);
			buf_printf(&text,
				   "%s[feed f]\nsource = s\nurl = https://example.org/\n"
				   "enabled = %s\n",
				   src_ok, v ? yes[i] : no[i]);
			tmp_write(&t, "feedd.conf", buf_str(&text));
			struct cfg *c = load_ok(t.main);
			assert_int_equal(c->feeds[0].enabled, v);
			cfg_free(c);
			buf_free(&text);
			tmp_remove(&t);
		}
	}
	char *err = load_text_error("[feed f]\nenabled = True\n");
	assert_string_equal(err, "feedd.conf:2: enabled: expected true or false, got \"True\"");
	free(err);
}

/* ---- lookups, reload, summary, environment ---- */

static void test_find(void **state)
{
	struct cfg *c = load_ok(GOOD);
	assert_ptr_equal(cfg_source_find(c, "mehr"), &c->sources[1]);
	assert_ptr_equal(cfg_source_find(c, "tehran-times"), &c->sources[2]);
	assert_null(cfg_source_find(c, "irna"));
	assert_null(cfg_source_find(c, ""));
	for (size_t i = 0; i < c->n_feeds; i++)
		assert_ptr_equal(cfg_feed_find(c, c->feeds[i].name), &c->feeds[i]);
	assert_null(cfg_feed_find(c, "irna-en"));
	cfg_free(c);

	c = load_ok(MINIMAL);
	assert_non_null(cfg_source_find(c, "example"));
	assert_non_null(cfg_feed_find(c, "example"));
	cfg_free(c);
}

static void test_reload_check(void **state)
{
	static const char base[] = "[feedd]\nstate_dir = /var/lib/feedd\n"
				   "[source s]\nhome = https://example.org/\nnews_id = /n/(\\d+)\n";
	struct tmp t;
	tmp_make(&t);
	tmp_write(&t, "feedd.conf", base);
	struct cfg *cur = load_ok(t.main);

	struct buf why;
	buf_init(&why);
	/* same file: nothing changes */
	struct cfg *next = load_ok(t.main);
	assert_int_equal(cfg_reload_check(cur, next, &why), 0);
	assert_string_equal(buf_str(&why), "");
	cfg_free(next);

	/* reloadable keys, added sources and feeds: fine */
	tmp_write(&t, "feedd.conf",
		  "[feedd]\nstate_dir = /var/lib/feedd\nlog_level = debug\nmax_connections = 8\n"
		  "[source s]\nhome = https://example.org/\nnews_id = /n/(\\d+)\ninterval = 5m\n"
		  "[source u]\nhome = https://u.example/\nnews_id = (\\d+)\n"
		  "[feed f]\nsource = u\nurl = https://u.example/rss\n");
	next = load_ok(t.main);
	assert_int_equal(cfg_reload_check(cur, next, &why), 0);
	cfg_free(next);

	/* state_dir, conninfo and a kept source's news_id need a restart */
	tmp_write(&t, "feedd.conf",
		  "[feedd]\nstate_dir = /srv/feedd\n[database]\nconninfo = dbname=other\n"
		  "[source s]\nhome = https://example.org/\nnews_id = /news/(\\d+)\n");
	next = load_ok(t.main);
	assert_int_equal(cfg_reload_check(cur, next, &why), -1);
	assert_string_equal(buf_str(&why),
			    "[feedd] state_dir; [database] conninfo; [source s] news_id: cannot "
			    "change on reload; restart feedd to apply");
	cfg_free(next);
	buf_free(&why);
	cfg_free(cur);
	tmp_remove(&t);
}

static void set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = {{.tv_sec = t}, {.tv_sec = t}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* How new a configuration is: the newest modification time of its files
 * and of conf.d, so that a drop-in edited, added or removed counts. */
static void test_written_at(void **state)
{
	(void)state;
	struct tmp t;
	tmp_make(&t);
	tmp_write(&t, "feedd.conf", "[feedd]\ngroup = newsroom\nlease = 2m\n");
	set_mtime(t.main, 1000000000);
	struct cfg *c = load_ok(t.main);
	assert_string_equal(c->group, "newsroom");
	assert_int_equal(c->lease_ms, 120000);
	assert_true(c->written_us == INT64_C(1000000000) * 1000000);
	cfg_free(c);

	char confd[160], dropin[192];
	snprintf(confd, sizeof confd, "%s/conf.d", t.dir);
	snprintf(dropin, sizeof dropin, "%s/conf.d/a.conf", t.dir);
	tmp_write(&t, "conf.d/a.conf", "[feedd]\nlog_level = info\n");
	set_mtime(dropin, 1000000500);
	set_mtime(confd, 1000000100);
	c = load_ok(t.main);
	assert_true(c->written_us == INT64_C(1000000500) * 1000000);
	cfg_free(c);

	/* The drop-in removed: conf.d's own time says when. */
	assert_int_equal(unlink(dropin), 0);
	set_mtime(confd, 1000000900);
	c = load_ok(t.main);
	assert_true(c->written_us == INT64_C(1000000900) * 1000000);
	cfg_free(c);
	tmp_remove(&t);
}

/* A reload keeps the running value of each key that cannot change at run
 * time, names it, and takes the rest of the new file. */
static void test_keep_restart_keys(void **state)
{
	struct tmp t;
	tmp_make(&t);
	tmp_write(&t, "feedd.conf",
		  "[feedd]\nstate_dir = /var/lib/feedd\nlog_level = notice\n"
		  "[database]\ndedup_window = 30d\n"
		  "[source s]\nhome = https://example.org/\nnews_id = /n/(\\d+)\n");
	struct cfg *cur = load_ok(t.main);
	tmp_write(&t, "feedd.conf",
		  "[feedd]\nstate_dir = /srv/feedd\nlog_level = info\ngroup = newsroom\n"
		  "[database]\ndedup_window = 2h\nbatch_size = 7\nstore_connections = 3\n"
		  "[source s]\nhome = https://example.org/\nnews_id = /news/(\\d+)\n"
		  "[source u]\nhome = https://u.example/\nnews_id = (\\d+)\n");
	struct cfg *next = load_ok(t.main);
	struct cfg_strlist changed = {0};
	assert_int_equal(cfg_keep_restart_keys(cur, next, &changed), 5);
	assert_int_equal(changed.n, 5);
	assert_string_equal(changed.v[0], "[feedd] state_dir");
	assert_string_equal(changed.v[1], "[feedd] group");
	assert_string_equal(changed.v[2], "[database] store_connections");
	assert_string_equal(changed.v[3], "[database] dedup_window");
	assert_string_equal(changed.v[4], "[source s] news_id");
	/* next runs on the old values of those, the new ones of the rest */
	assert_string_equal(next->state_dir, "/var/lib/feedd");
	assert_string_equal(next->group, "default");
	assert_true(next->db.dedup_window_ms == (int64_t)30 * 86400 * 1000);
	assert_int_equal(next->db.store_connections, 2);
	assert_string_equal(cfg_source_find(next, "s")->news_id.pattern, "/n/(\\d+)");
	assert_non_null(cfg_source_find(next, "s")->news_id.code);
	assert_int_equal(next->log_level, LOG_LVL_INFO);
	assert_int_equal(next->db.batch_size, 7);
	assert_string_equal(cfg_source_find(next, "u")->news_id.pattern, "(\\d+)");
	for (size_t i = 0; i < changed.n; i++)
		free(changed.v[i]);
	free(changed.v);
	cfg_free(cur); /* holds the new values now: freed without a leak */
	cfg_free(next);
	tmp_remove(&t);
}

/* The summary is a configuration itself: read back, it summarises the same. */
static void test_summary_round_trip(void **state)
{
	struct cfg *c = load_ok(GOOD);
	struct buf first;
	buf_init(&first);
	cfg_summary(c, &first);
	assert_non_null(strstr(buf_str(&first), "conf.d/20-logging.conf\n"));
	assert_non_null(strstr(buf_str(&first), "# 3 sources, 5 feeds (4 enabled)\n"));
	assert_non_null(strstr(buf_str(&first),
			       "\n[source irna-en]\nhome = https://en.irna.ir/\n"
			       "hosts = en.irna.ir, www.irna.ir, img.irna.ir\n"
			       "news_id = /news/([0-9]+)/\narticles = fetch\n"
			       "timezone = Asia/Tehran\nrules = nastooh\n"));
	assert_non_null(strstr(buf_str(&first),
			       "[feed mehr-all]\nsource = mehr\n"
			       "url = http://www.mehrnews.com/rss\n"
			       "interval = 10m\nenabled = true\n"));
	assert_non_null(strstr(buf_str(&first), "shutdown_timeout = 1m30s\n"));
	assert_non_null(strstr(buf_str(&first), "# rules is not set\n"));

	struct tmp t;
	tmp_make(&t);
	tmp_write(&t, "feedd.conf", buf_str(&first));
	struct cfg *again = load_ok(t.main);
	struct buf second;
	buf_init(&second);
	cfg_summary(again, &second);

	/* Compare everything but the comments, which name files and lines. */
	const char *a = buf_str(&first), *b = buf_str(&second);
	for (;;) {
		while (*a == '#')
			a = strchr(a, '\n') + 1;
		while (*b == '#')
			b = strchr(b, '\n') + 1;
		if (!*a || !*b)
			break;
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		if (la != lb || memcmp(a, b, la) != 0)
			fail_msg("summary changed on reading it back:\n  %.*s\n  %.*s", (int)la, a,
				 (int)lb, b);
		a += la + (a[la] != '\0');
		b += lb + (b[lb] != '\0');
	}
	assert_true(!*a && !*b);
	buf_free(&first);
	buf_free(&second);
	cfg_free(again);
	cfg_free(c);
	tmp_remove(&t);
}

static void test_default_path(void **state)
{
	const char *saved = getenv("FEEDD_CONFIG");
	char *keep = saved ? xstrdup(saved) : NULL;

	unsetenv("FEEDD_CONFIG");
	assert_string_equal(cfg_default_path(), "/etc/feedd/feedd.conf");
	setenv("FEEDD_CONFIG", "", 1);
	assert_string_equal(cfg_default_path(), "/etc/feedd/feedd.conf");
	setenv("FEEDD_CONFIG", GOOD, 1);
	assert_string_equal(cfg_default_path(), GOOD);
	struct cfg *c = load_ok(cfg_default_path());
	assert_int_equal(c->n_feeds, 5);
	cfg_free(c);

	if (keep)
		setenv("FEEDD_CONFIG", keep, 1);
	else
		unsetenv("FEEDD_CONFIG");
	free(keep);
}

static void test_names(void **state)
{
	assert_string_equal(cfg_xpath_field_name(CFG_XPATH_TITLE), "title");
	assert_string_equal(cfg_xpath_field_name(CFG_XPATH_EXCLUDE), "exclude");
	assert_string_equal(cfg_articles_name(CFG_ARTICLES_FETCH), "fetch");
	assert_string_equal(cfg_articles_name(CFG_ARTICLES_FEED_ONLY), "feed-only");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_everything),	   cmocka_unit_test(test_confd_order),
		cmocka_unit_test(test_defaults),	   cmocka_unit_test(test_errors),
		cmocka_unit_test(test_duplicates),	   cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_timezone),	   cmocka_unit_test(test_lines),
		cmocka_unit_test(test_durations),	   cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_bools_and_lists),	   cmocka_unit_test(test_find),
		cmocka_unit_test(test_reload_check),	   cmocka_unit_test(test_keep_restart_keys),
		cmocka_unit_test(test_summary_round_trip), cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_written_at),	   cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
