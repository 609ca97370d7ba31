/*
 * config_keys: the key table of the configuration and the values it
 * describes (the module's contract is in include/feedd/config.h; the table's
 * types in include/feedd/config_keys.h).
 *
 * Every key is one row of cfg_keys[] below: its section, type, where it is
 * stored, its default (written as a user would write it and parsed by the
 * same code), its limits, its validator and whether it may change on
 * reload.  Setting, freeing, comparing, printing and exchanging values all
 * go through that table, so a new key is one new row and one new struct
 * field.  Reading files into the table is config.c's part.
 */
#include "feedd/config_keys.h"
#include "feedd/newsid.h"
#include "feedd/tz.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CFG_MAX_NAME 128
#define CFG_MAX_LIST 64

#define SECS(n) ((int64_t)(n)*1000)
#define MINS(n) (SECS(n) * 60)
#define HOURS(n) (MINS(n) * 60)
#define DAYS(n) (HOURS(n) * 24)
#define KIB(n) ((int64_t)(n) << 10)
#define GIB(n) ((int64_t)(n) << 30)

const char *const cfg_sect_names[] = {
	[SEC_NONE] = "",	 [SEC_FEEDD] = "feedd", [SEC_DATABASE] = "database",
	[SEC_SOURCE] = "source", [SEC_FEED] = "feed",
};

static int check_text(const char *s, struct buf *why);
static int check_path(const char *s, struct buf *why);
static int check_url(const char *s, struct buf *why);
static int check_host(const char *s, struct buf *why);
static int check_timezone(const char *s, struct buf *why);

static const struct choice log_levels[] = {
	{"error", LOG_LVL_ERR}, {"warning", LOG_LVL_WARNING}, {"notice", LOG_LVL_NOTICE},
	{"info", LOG_LVL_INFO}, {"debug", LOG_LVL_DEBUG},     {NULL, 0},
};

static const struct choice articles_modes[] = {
	{"feed-only", CFG_ARTICLES_FEED_ONLY},
	{"fetch", CFG_ARTICLES_FETCH},
	{NULL, 0},
};

static const char *const xpath_names[CFG_XPATH_COUNT] = {
	[CFG_XPATH_TITLE] = "title",	 [CFG_XPATH_LEAD] = "lead",
	[CFG_XPATH_BODY] = "body",	 [CFG_XPATH_PUBLISHED] = "published",
	[CFG_XPATH_UPDATED] = "updated", [CFG_XPATH_AUTHOR] = "author",
	[CFG_XPATH_TAGS] = "tags",	 [CFG_XPATH_IMAGE] = "image",
	[CFG_XPATH_CAPTION] = "caption", [CFG_XPATH_EXCLUDE] = "exclude",
};

#define G(f) offsetof(struct cfg, f)
#define S(f) offsetof(struct cfg_source, f)
#define F(f) offsetof(struct cfg_feed, f)
#define XPATH_KEY(field, fname)                                                                    \
	[K_SOURCE_XPATH + (field)] = {                                                             \
		SEC_SOURCE,	 "xpath." fname,      V_STR,                                       \
		S(xpath[field]), .check = check_text, .reload = true,                              \
	}

const struct key cfg_keys[K_COUNT] = {
	/* [feedd] */
	[K_LOG_LEVEL] = {SEC_FEEDD, "log_level", V_ENUM, G(log_level), "info",
			 .choices = log_levels, .reload = true},
	/* the spool is open there; systemd's StateDirectory= owns it */
	[K_STATE_DIR] = {SEC_FEEDD, "state_dir", V_STR, G(state_dir), "/var/lib/feedd",
			 .check = check_path},
	[K_USER_AGENT] = {SEC_FEEDD, "user_agent", V_STR, G(user_agent),
			  "feedd/" FEEDD_VERSION " (+https://github.com/feedd/feedd)",
			  .check = check_text, .reload = true},
	/* instances of one group share a configuration; feeds.c */
	[K_GROUP] = {SEC_FEEDD, "group", V_STR, G(group), "default", .check = cfg_check_name},
	/* the instance's leases are taken and renewed under it; leases.c */
	[K_LEASE] = {SEC_FEEDD, "lease", V_DUR, G(lease_ms), "2m", 0, HOURS(1), .reload = false},
	[K_MAX_CONNECTIONS] = {SEC_FEEDD, "max_connections", V_INT, G(max_connections), "64", 1,
			       10000, .reload = true},
	[K_PER_HOST_CONNECTIONS] = {SEC_FEEDD, "per_host_connections", V_INT,
				    G(per_host_connections), "4", 1, 100, .reload = true},
	[K_DEFAULT_INTERVAL] = {SEC_FEEDD, "default_interval", V_DUR, G(default_interval_ms), "15m",
				SECS(1), DAYS(30), .reload = true},
	[K_MIN_INTERVAL] = {SEC_FEEDD, "min_interval", V_DUR, G(min_interval_ms), "1m", SECS(1),
			    DAYS(30), .reload = true},
	[K_MAX_INTERVAL] = {SEC_FEEDD, "max_interval", V_DUR, G(max_interval_ms), "6h", SECS(1),
			    DAYS(30), .reload = true},
	[K_MAX_FEED_SIZE] = {SEC_FEEDD, "max_feed_size", V_SIZE, G(max_feed_size), "64M", KIB(1),
			     GIB(1), .reload = true},
	[K_MAX_ENTRIES] = {SEC_FEEDD, "max_entries", V_INT, G(max_entries), "50000", 1, 10000000,
			   .reload = true},
	[K_MAX_FIELD_SIZE] = {SEC_FEEDD, "max_field_size", V_SIZE, G(max_field_size), "1M", KIB(1),
			      GIB(1), .reload = true},
	[K_MAX_ARTICLE_SIZE] = {SEC_FEEDD, "max_article_size", V_SIZE, G(max_article_size), "8M",
				KIB(1), GIB(1), .reload = true},
	/* All response bodies in memory at once; fetches wait for room. */
	[K_MAX_BODY_MEMORY] = {SEC_FEEDD, "max_body_memory", V_SIZE, G(max_body_memory), "256M",
			       KIB(1024), GIB(64), .reload = false},
	[K_FETCH_TIMEOUT] = {SEC_FEEDD, "fetch_timeout", V_DUR, G(fetch_timeout_ms), "60s", SECS(1),
			     HOURS(1), .reload = true},
	[K_CONNECT_TIMEOUT] = {SEC_FEEDD, "connect_timeout", V_DUR, G(connect_timeout_ms), "15s",
			       SECS(1), MINS(10), .reload = true},
	/* 0: spool whatever is in flight and exit at once */
	[K_SHUTDOWN_TIMEOUT] = {SEC_FEEDD, "shutdown_timeout", V_DUR, G(shutdown_timeout_ms), "30s",
				0, HOURS(1), .reload = true},
	[K_PAGE_RETRIES] = {SEC_FEEDD, "page_retries", V_INT, G(page_retries), "5", 0, 100,
			    .reload = true},
	/* the store opens the spool once, at start */
	[K_SPOOL_MAX_SIZE] = {SEC_FEEDD, "spool_max_size", V_SIZE, G(spool_max_size), "1G", KIB(64),
			      GIB(1024), .reload = false},

	/* [database]; moving to another database under a running spool and
	 * dedup set is a restart, not a reload */
	[K_CONNINFO] = {SEC_DATABASE, "conninfo", V_STR, G(db.conninfo), "postgresql:///feedd",
			.check = check_text},
	[K_BATCH_SIZE] = {SEC_DATABASE, "batch_size", V_INT, G(db.batch_size), "200", 1, 10000,
			  .reload = true},
	[K_BATCH_DELAY] = {SEC_DATABASE, "batch_delay", V_DUR, G(db.batch_delay_ms), "50ms", 0,
			   SECS(60), .reload = true},
	/* the store's connections are made once, at start */
	[K_STORE_CONNECTIONS] = {SEC_DATABASE, "store_connections", V_INT, G(db.store_connections),
				 "2", 1, 16, .reload = false},
	/* the dedup set is warmed with it once, when the store first connects */
	[K_DEDUP_WINDOW] = {SEC_DATABASE, "dedup_window", V_DUR, G(db.dedup_window_ms), "30d",
			    HOURS(1), DAYS(3650), .reload = false},

	/* longer than the statement_timeout feedd sets (300 s) */
	[K_STALL_TIMEOUT] = {SEC_DATABASE, "stall_timeout", V_DUR, G(db.stall_timeout_ms), "10m",
			     SECS(1), DAYS(1), .reload = true},
	/* 0: polls are kept for ever (feedd.maintain_polls, sql/019) */
	[K_POLLS_RETENTION] = {SEC_DATABASE, "polls_retention", V_DUR, G(db.polls_retention_ms),
			       "30d", 0, DAYS(36500), .reload = true},

	/* [source NAME] */
	[K_SOURCE_HOME] = {SEC_SOURCE, "home", V_STR, S(home), .check = check_url, .required = true,
			   .reload = true},
	[K_SOURCE_HOSTS] = {SEC_SOURCE, "hosts", V_LIST, S(hosts), .check = check_host,
			    .reload = true},
	/* the in-memory set of seen IDs holds IDs cut by the old pattern */
	[K_SOURCE_NEWS_ID] = {SEC_SOURCE, "news_id", V_REGEX, S(news_id), .reload = false},
	[K_SOURCE_ARTICLES] = {SEC_SOURCE, "articles", V_ENUM, S(articles), "feed-only",
			       .choices = articles_modes, .reload = true},
	[K_SOURCE_TIMEZONE] = {SEC_SOURCE, "timezone", V_STR, S(timezone), "UTC",
			       .check = check_timezone, .reload = true},
	[K_SOURCE_RULES] = {SEC_SOURCE, "rules", V_STR, S(rules), .check = cfg_check_name,
			    .reload = true},
	[K_SOURCE_DATE_FORMAT] = {SEC_SOURCE, "date_format", V_STR, S(date_format),
				  .check = check_text, .reload = true},
	[K_SOURCE_REVISIT] = {SEC_SOURCE, "revisit", V_DURLIST, S(revisit), NULL, MINS(1),
			      DAYS(365), .reload = true},
	[K_SOURCE_INTERVAL] = {SEC_SOURCE, "interval", V_DUR, S(interval_ms), NULL, SECS(1),
			       DAYS(30), .reload = true},
	[K_SOURCE_PAGE_DELAY] = {SEC_SOURCE, "page_delay", V_DUR, S(page_delay_ms), "0", 0,
				 HOURS(1), .reload = true},
	/* 0: kept for ever (feedd.prune_articles, the indexer's upkeep) */
	[K_SOURCE_ARTICLE_RETENTION] = {SEC_SOURCE, "article_retention", V_DUR,
					S(article_retention_ms), "0", 0, DAYS(36500),
					.reload = true},
	XPATH_KEY(CFG_XPATH_TITLE, "title"),
	XPATH_KEY(CFG_XPATH_LEAD, "lead"),
	XPATH_KEY(CFG_XPATH_BODY, "body"),
	XPATH_KEY(CFG_XPATH_PUBLISHED, "published"),
	XPATH_KEY(CFG_XPATH_UPDATED, "updated"),
	XPATH_KEY(CFG_XPATH_AUTHOR, "author"),
	XPATH_KEY(CFG_XPATH_TAGS, "tags"),
	XPATH_KEY(CFG_XPATH_IMAGE, "image"),
	XPATH_KEY(CFG_XPATH_CAPTION, "caption"),
	XPATH_KEY(CFG_XPATH_EXCLUDE, "exclude"),

	/* [feed NAME] */
	[K_FEED_SOURCE] = {SEC_FEED, "source", V_STR, F(source_name), .check = cfg_check_name,
			   .required = true, .reload = true},
	[K_FEED_URL] = {SEC_FEED, "url", V_STR, F(url), .check = check_url, .required = true,
			.reload = true},
	[K_FEED_INTERVAL] = {SEC_FEED, "interval", V_DUR, F(interval_ms), NULL, SECS(1), DAYS(30),
			     .reload = true},
	[K_FEED_ENABLED] = {SEC_FEED, "enabled", V_BOOL, F(enabled), "true", .reload = true},
	/* off only for one feed, and logged at every start */
	[K_FEED_VERIFY_TLS] = {SEC_FEED, "verify_tls", V_BOOL, F(verify_tls), "true",
			       .reload = true},
};

/* Enums are stored through an int; these keep that honest. */
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum log_level is not int-sized");
_Static_assert(sizeof(enum cfg_articles) == sizeof(int), "enum cfg_articles is not int-sized");

void cfg_put_quoted(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	size_t n = strlen(s);
	size_t shown = n > 80 ? 77 : n;
	for (size_t i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			buf_printf(b, c == '"' || c == '\\' ? "\\%c" : "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
	if (shown < n)
		buf_puts(b, "...");
	buf_putc(b, '"');
}

static void put_got(struct buf *why, const char *text)
{
	buf_puts(why, ", got ");
	cfg_put_quoted(why, text);
}

/* ---- parsing and printing single values ---- */

int cfg_parse_duration(const char *text, int64_t *ms)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = {
		/* "ms" before "m" so that the longer suffix wins */
		{"ms", 1}, {"s", SECS(1)}, {"m", MINS(1)}, {"h", HOURS(1)}, {"d", DAYS(1)},
	};
	const char *s = text;
	int64_t total = 0;
	int64_t last_unit = INT64_MAX;
	if (!*s)
		return -1;
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return -1;
		int64_t n = 0;
		while (isdigit((unsigned char)*s)) {
			if (__builtin_mul_overflow(n, 10, &n) ||
			    __builtin_add_overflow(n, *s - '0', &n))
				return -1;
			s++;
		}
		int64_t unit = 0;
		if (!*s && s == text + strspn(text, "0123456789")) {
			unit = SECS(1); /* a bare number alone means seconds */
		} else {
			for (size_t i = 0; i < ARRAY_LEN(units); i++) {
				size_t len = strlen(units[i].suffix);
				if (strncmp(s, units[i].suffix, len) == 0) {
					unit = units[i].ms;
					s += len;
					break;
				}
			}
		}
		/* "1h30m" yes; "30m1h", "1h1h" and "1h30" no */
		if (!unit || unit >= last_unit)
			return -1;
		last_unit = unit;
		int64_t part;
		if (__builtin_mul_overflow(n, unit, &part) ||
		    __builtin_add_overflow(total, part, &total))
			return -1;
	}
	*ms = total;
	return 0;
}

void cfg_format_duration(int64_t ms, struct buf *out)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = {
		{"d", DAYS(1)}, {"h", HOURS(1)}, {"m", MINS(1)}, {"s", SECS(1)}, {"ms", 1},
	};
	if (ms <= 0) {
		buf_puts(out, ms == 0 ? "0s" : "-");
		return;
	}
	for (size_t i = 0; i < ARRAY_LEN(units); i++) {
		if (ms >= units[i].ms) {
			buf_printf(out, "%lld%s", (long long)(ms / units[i].ms), units[i].suffix);
			ms %= units[i].ms;
		}
	}
}

int cfg_parse_size(const char *text, uint64_t *bytes)
{
	const char *s = text;
	uint64_t n = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s)) {
		if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, *s - '0', &n))
			return -1;
		s++;
	}
	unsigned shift = 0;
	switch (*s) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	default:
		return -1;
	}
	if (*s && s[1])
		return -1;
	if (n > (UINT64_MAX >> shift))
		return -1;
	*bytes = n << shift;
	return 0;
}

static void format_size(int64_t bytes, struct buf *out)
{
	static const char suffix[] = {'G', 'M', 'k'};
	for (size_t i = 0; i < ARRAY_LEN(suffix); i++) {
		int64_t unit = (int64_t)1 << (30 - 10 * i);
		if (bytes > 0 && bytes % unit == 0) {
			buf_printf(out, "%lld%c", (long long)(bytes / unit), suffix[i]);
			return;
		}
	}
	buf_printf(out, "%lld", (long long)bytes);
}

static int parse_int(const char *text, int64_t *out)
{
	const char *s = text;
	bool neg = *s == '-';
	if (neg || *s == '+')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	int64_t n = 0;
	while (isdigit((unsigned char)*s)) {
		if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, *s - '0', &n))
			return -1;
		s++;
	}
	if (*s)
		return -1;
	*out = neg ? -n : n;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
		if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
			*out = strcmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return -1;
}

/* ---- validators: 0, or -1 with what was expected in why ---- */

static int check_text(const char *s, struct buf *why)
{
	if (!*s) {
		buf_puts(why, "expected a value, got nothing");
		return -1;
	}
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c == 0x7f) {
			buf_puts(why, "expected text without control characters");
			put_got(why, s);
			return -1;
		}
	}
	return 0;
}

static int check_path(const char *s, struct buf *why)
{
	if (s[0] != '/') {
		buf_puts(why, "expected an absolute path");
		put_got(why, s);
		return -1;
	}
	return check_text(s, why);
}

/* How far s consists of letters, digits and the characters of extra:
 * strspn for the sets below, without its per-call table (names and hosts
 * are checked once or twice per feed, and a file may have 100,000). */
static size_t span_alnum(const char *s, const char *extra)
{
	size_t n = 0;
	for (;; n++) {
		unsigned char c = (unsigned char)s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr(extra, c))))
			return n;
	}
}

static int check_url(const char *s, struct buf *why)
{
	bool ok = true;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		ok = ok && *c > 0x20 && *c != 0x7f;
	char *host = ok ? url_host(s) : NULL;
	ok = host && check_host(host, why) == 0;
	free(host);
	if (!ok) {
		buf_reset(why);
		buf_puts(why, "expected an http:// or https:// URL");
		put_got(why, s);
		return -1;
	}
	return 0;
}

static int check_host(const char *s, struct buf *why)
{
	size_t n = strlen(s);
	bool ok = n > 0 && n <= 255 && s[0] != '.' && s[0] != '-';
	if (ok && s[0] == '[')
		ok = s[n - 1] == ']' && strspn(s + 1, "0123456789abcdefABCDEF:.") == n - 2;
	else if (ok)
		ok = span_alnum(s, ".-") == n;
	if (!ok) {
		buf_puts(why, "expected host names separated by commas, like en.irna.ir, irna.ir");
		put_got(why, s);
		return -1;
	}
	return 0;
}

int cfg_check_name(const char *s, struct buf *why)
{
	size_t n = strlen(s);
	if (n == 0 || n > CFG_MAX_NAME || span_alnum(s, "._-") != n) {
		buf_printf(why, "expected a name of at most %d letters, digits, '.', '_' or '-'",
			   CFG_MAX_NAME);
		put_got(why, s);
		return -1;
	}
	return 0;
}

/* A name from the tz database.  Names are checked against the installed
 * zoneinfo files when there are any, so a typo fails here rather than as
 * wrong times in stored articles; ".." would leave that directory. */
static int check_timezone(const char *s, struct buf *why)
{
	size_t n = strlen(s);
	if (n == 0 || s[0] == '/' || strstr(s, "..") ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+-") != n) {
		buf_puts(why, "expected a time zone name like UTC or Asia/Tehran");
		put_got(why, s);
		return -1;
	}
	const char *dir = tz_dir();
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	struct buf path;
	buf_init(&path);
	buf_printf(&path, "%s/%s", dir, s);
	int rc = stat(buf_str(&path), &st) == 0 && S_ISREG(st.st_mode) ? 0 : -1;
	buf_free(&path);
	if (rc < 0) {
		buf_puts(why, "no time zone ");
		cfg_put_quoted(why, s);
		buf_printf(why, " in %s; expected a name like UTC or Asia/Tehran", dir);
	}
	return rc;
}

/* ---- values through the table ---- */

void cfg_strlist_free(struct cfg_strlist *l)
{
	strv_free(l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

void cfg_strlist_push(struct cfg_strlist *l, char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = s;
}

void cfg_value_free(const struct key *k, void *f)
{
	switch (k->type) {
	case V_STR:
		free(*(char **)f);
		*(char **)f = NULL;
		break;
	case V_DURLIST: {
		struct cfg_durations *d = f;
		free(d->ms);
		d->ms = NULL;
		d->n = 0;
		break;
	}
	case V_LIST:
		cfg_strlist_free(f);
		break;
	case V_REGEX: {
		struct cfg_regex *r = f;
		free(r->pattern);
		newsid_free(r->code);
		r->pattern = NULL;
		r->code = NULL;
		break;
	}
	default:
		break;
	}
}

/* Splits a comma-separated value into trimmed items; -1 on an empty item
 * or more than CFG_MAX_LIST of them. */
static int split_list(const char *text, struct cfg_strlist *out)
{
	const char *s = text;
	for (;;) {
		size_t n = strcspn(s, ",");
		const char *a = s, *b = s + n;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (a == b || out->n == CFG_MAX_LIST) {
			cfg_strlist_free(out);
			return -1;
		}
		cfg_strlist_push(out, xstrndup(a, (size_t)(b - a)));
		if (!s[n])
			return 0;
		s += n + 1;
	}
}

static void describe_range(const struct key *k, struct buf *why)
{
	void (*fmt)(int64_t, struct buf *) = k->type == V_SIZE ? format_size : cfg_format_duration;
	if (k->type == V_INT) {
		buf_printf(why, "%lld to %lld", (long long)k->min, (long long)k->max);
		return;
	}
	fmt(k->min, why);
	buf_puts(why, " to ");
	fmt(k->max, why);
}

static const char *choice_name(const struct choice *c, int value)
{
	for (; c->name; c++)
		if (c->value == value)
			return c->name;
	return "?";
}

/* One setter per type: text parsed and checked into f, replacing what was
 * there; 0, or -1 with the reason in why and f untouched. */

/* Refuses text: what was expected, with k's range after it if asked, and
 * what came instead; -1. */
static int refuse(const struct key *k, const char *expected, bool range, const char *text,
		  struct buf *why)
{
	buf_puts(why, expected);
	if (range)
		describe_range(k, why);
	put_got(why, text);
	return -1;
}

static int set_str(const struct key *k, void *f, const char *text, struct buf *why)
{
	if (k->check(text, why) < 0)
		return -1;
	cfg_value_free(k, f);
	*(char **)f = xstrdup(text);
	return 0;
}

static int set_int(const struct key *k, void *f, const char *text, struct buf *why)
{
	int64_t n;
	if (parse_int(text, &n) < 0 || n < k->min || n > k->max)
		return refuse(k, "expected an integer from ", true, text, why);
	*(int *)f = (int)n;
	return 0;
}

static int set_size(const struct key *k, void *f, const char *text, struct buf *why)
{
	uint64_t n;
	if (cfg_parse_size(text, &n) < 0)
		return refuse(k, "expected a size like 512k, 64M, 1G", false, text, why);
	if (n < (uint64_t)k->min || n > (uint64_t)k->max)
		return refuse(k, "expected a size from ", true, text, why);
	*(size_t *)f = (size_t)n;
	return 0;
}

static int set_dur(const struct key *k, void *f, const char *text, struct buf *why)
{
	int64_t ms;
	if (cfg_parse_duration(text, &ms) < 0)
		return refuse(k, "expected a duration like 30s, 5m, 2h, 1d", false, text, why);
	if (ms < k->min || ms > k->max)
		return refuse(k, "expected a duration from ", true, text, why);
	*(int64_t *)f = ms;
	return 0;
}

static int set_bool(const struct key *k, void *f, const char *text, struct buf *why)
{
	if (parse_bool(text, f) < 0)
		return refuse(k, "expected true or false", false, text, why);
	return 0;
}

static int set_enum(const struct key *k, void *f, const char *text, struct buf *why)
{
	for (const struct choice *c = k->choices; c->name; c++) {
		if (strcmp(text, c->name) == 0) {
			memcpy(f, &c->value, sizeof c->value);
			return 0;
		}
	}
	buf_puts(why, "expected one of ");
	for (const struct choice *c = k->choices; c->name; c++)
		buf_printf(why, "%s%s", c == k->choices ? "" : ", ", c->name);
	put_got(why, text);
	return -1;
}

static int set_durlist(const struct key *k, void *f, const char *text, struct buf *why)
{
	struct cfg_strlist items = {0};
	struct cfg_durations d = {0};
	bool ok = split_list(text, &items) == 0;
	if (ok)
		d.ms = xcalloc(items.n, sizeof *d.ms);
	for (size_t i = 0; ok && i < items.n; i++) {
		ok = cfg_parse_duration(items.v[i], &d.ms[i]) == 0 && d.ms[i] >= k->min &&
			d.ms[i] <= k->max && (i == 0 || d.ms[i] > d.ms[i - 1]);
		d.n = i + 1;
	}
	cfg_strlist_free(&items);
	if (!ok) {
		free(d.ms);
		buf_puts(why, "expected increasing durations from ");
		describe_range(k, why);
		buf_puts(why, ", separated by commas, like 1h, 24h");
		put_got(why, text);
		return -1;
	}
	cfg_value_free(k, f);
	*(struct cfg_durations *)f = d;
	return 0;
}

static int set_list(const struct key *k, void *f, const char *text, struct buf *why)
{
	struct cfg_strlist items = {0};
	if (split_list(text, &items) < 0) {
		buf_printf(why, "expected at most %d items separated by commas", CFG_MAX_LIST);
		put_got(why, text);
		return -1;
	}
	for (size_t i = 0; i < items.n; i++) {
		if (k->check(items.v[i], why) < 0) {
			cfg_strlist_free(&items);
			return -1;
		}
	}
	cfg_value_free(k, f);
	*(struct cfg_strlist *)f = items;
	return 0;
}

static int set_regex(const struct key *k, void *f, const char *text, struct buf *why)
{
	char msg[256];
	struct pcre2_real_code_8 *re = newsid_compile(text, msg, sizeof msg);
	if (!re) {
		buf_printf(why, "bad regular expression: %s", msg);
		put_got(why, text);
		return -1;
	}
	cfg_value_free(k, f);
	struct cfg_regex *r = f;
	r->pattern = xstrdup(text);
	r->code = re;
	return 0;
}

int cfg_value_set(const struct key *k, void *f, const char *text, struct buf *why)
{
	static int (*const setters[])(const struct key *, void *, const char *, struct buf *) = {
		[V_STR] = set_str,	   [V_INT] = set_int,	[V_SIZE] = set_size,
		[V_DUR] = set_dur,	   [V_BOOL] = set_bool, [V_ENUM] = set_enum,
		[V_DURLIST] = set_durlist, [V_LIST] = set_list, [V_REGEX] = set_regex,
	};
	return setters[k->type](k, f, text, why);
}

bool cfg_value_present(const struct key *k, const void *f)
{
	switch (k->type) {
	case V_STR:
		return *(char *const *)f != NULL;
	case V_DUR:
		return k->dflt || *(const int64_t *)f != 0;
	case V_DURLIST:
		return ((const struct cfg_durations *)f)->n > 0;
	case V_LIST:
		return ((const struct cfg_strlist *)f)->n > 0;
	case V_REGEX:
		return ((const struct cfg_regex *)f)->pattern != NULL;
	default:
		return true;
	}
}

bool cfg_value_equal(const struct key *k, const void *a, const void *b)
{
	switch (k->type) {
	case V_STR: {
		const char *x = *(char *const *)a, *y = *(char *const *)b;
		return x == y || (x && y && strcmp(x, y) == 0);
	}
	case V_INT:
	case V_ENUM:
		return memcmp(a, b, sizeof(int)) == 0;
	case V_SIZE:
		return *(const size_t *)a == *(const size_t *)b;
	case V_DUR:
		return *(const int64_t *)a == *(const int64_t *)b;
	case V_BOOL:
		return *(const bool *)a == *(const bool *)b;
	case V_DURLIST: {
		const struct cfg_durations *x = a, *y = b;
		return x->n == y->n &&
			(x->n == 0 || memcmp(x->ms, y->ms, x->n * sizeof *x->ms) == 0);
	}
	case V_LIST: {
		const struct cfg_strlist *x = a, *y = b;
		if (x->n != y->n)
			return false;
		for (size_t i = 0; i < x->n; i++)
			if (strcmp(x->v[i], y->v[i]) != 0)
				return false;
		return true;
	}
	case V_REGEX: {
		const struct cfg_regex *x = a, *y = b;
		return x->pattern == y->pattern ||
			(x->pattern && y->pattern && strcmp(x->pattern, y->pattern) == 0);
	}
	}
	return false;
}

void cfg_value_format(const struct key *k, const void *f, struct buf *out)
{
	switch (k->type) {
	case V_STR:
		buf_puts(out, *(char *const *)f);
		break;
	case V_INT:
		buf_printf(out, "%d", *(const int *)f);
		break;
	case V_SIZE:
		format_size((int64_t) * (const size_t *)f, out);
		break;
	case V_DUR:
		cfg_format_duration(*(const int64_t *)f, out);
		break;
	case V_BOOL:
		buf_puts(out, *(const bool *)f ? "true" : "false");
		break;
	case V_ENUM: {
		int v;
		memcpy(&v, f, sizeof v);
		buf_puts(out, choice_name(k->choices, v));
		break;
	}
	case V_DURLIST: {
		const struct cfg_durations *d = f;
		for (size_t i = 0; i < d->n; i++) {
			if (i)
				buf_puts(out, ", ");
			cfg_format_duration(d->ms[i], out);
		}
		break;
	}
	case V_LIST: {
		const struct cfg_strlist *l = f;
		for (size_t i = 0; i < l->n; i++)
			buf_printf(out, "%s%s", i ? ", " : "", l->v[i]);
		break;
	}
	case V_REGEX:
		buf_puts(out, ((const struct cfg_regex *)f)->pattern);
		break;
	}
}

/* Bytes of a value of k's type in its struct. */
static size_t value_size(const struct key *k)
{
	switch (k->type) {
	case V_STR:
		return sizeof(char *);
	case V_INT:
	case V_ENUM:
		return sizeof(int);
	case V_SIZE:
		return sizeof(size_t);
	case V_DUR:
		return sizeof(int64_t);
	case V_BOOL:
		return sizeof(bool);
	case V_DURLIST:
		return sizeof(struct cfg_durations);
	case V_LIST:
		return sizeof(struct cfg_strlist);
	case V_REGEX:
		return sizeof(struct cfg_regex);
	}
	return 0;
}

void cfg_value_swap(const struct key *k, void *a, void *b)
{
	union {
		char *s;
		int i;
		size_t z;
		int64_t d;
		bool b;
		struct cfg_durations dl;
		struct cfg_strlist l;
		struct cfg_regex r;
	} tmp;
	size_t n = value_size(k);
	memcpy(&tmp, a, n);
	memcpy(a, b, n);
	memcpy(b, &tmp, n);
}

const char *cfg_xpath_field_name(enum cfg_xpath_field f)
{
	return f < CFG_XPATH_COUNT ? xpath_names[f] : "?";
}

const char *cfg_articles_name(enum cfg_articles a)
{
	return choice_name(articles_modes, (int)a);
}
