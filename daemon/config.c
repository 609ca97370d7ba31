/*
 * config: reads the configuration file into a struct cfg.
 *
 * Every key is one row of keys[] below: its section, type, where it is
 * stored, its default (written as a user would write it and parsed by the
 * same code), its limits, its validator and whether it may change on
 * reload.  Setting, freeing, comparing and printing values all go through
 * that table, so a new key is one new row and one new struct field.
 *
 * inih splits lines into sections and key = value pairs.  The line reader
 * we hand it counts lines and recognises section headers itself, because
 * the installed inih neither passes line numbers to the handler nor
 * reports a section that has no keys, and cuts section names at 50 bytes.
 */
#include "feedd/config.h"
#include "feedd/newsid.h"
#include "feedd/tz.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define CFG_DEFAULT_PATH "/etc/feedd/feedd.conf"
#define CFG_MAX_FILE ((size_t)64 << 20)
#define CFG_MAX_LINE 8192
#define CFG_MAX_NAME 128
#define CFG_MAX_LIST 64

#define SECS(n) ((int64_t)(n)*1000)
#define MINS(n) (SECS(n) * 60)
#define HOURS(n) (MINS(n) * 60)
#define DAYS(n) (HOURS(n) * 24)
#define KIB(n) ((int64_t)(n) << 10)
#define GIB(n) ((int64_t)(n) << 30)

enum sect { SEC_NONE, SEC_FEEDD, SEC_DATABASE, SEC_SOURCE, SEC_FEED };

static const char *const sect_names[] = {
	[SEC_NONE] = "",	 [SEC_FEEDD] = "feedd", [SEC_DATABASE] = "database",
	[SEC_SOURCE] = "source", [SEC_FEED] = "feed",
};

enum vtype {
	V_STR,	   /* char *; check() sees the text */
	V_INT,	   /* int within [min, max] */
	V_SIZE,	   /* size_t bytes within [min, max] */
	V_DUR,	   /* int64_t ms within [min, max] */
	V_BOOL,	   /* bool */
	V_ENUM,	   /* an enum (int-sized) from choices */
	V_DURLIST, /* struct cfg_durations, each within [min, max] */
	V_LIST,	   /* struct cfg_strlist, comma separated; check() sees each item */
	V_REGEX,   /* struct cfg_regex, compiled by newsid_compile as the matcher wants it */
};

struct choice {
	const char *name;
	int value;
};

struct key {
	enum sect sect;
	const char *name;
	enum vtype type;
	size_t off; /* in struct cfg, cfg_source or cfg_feed, by sect */
	const char *dflt;
	int64_t min, max;
	const struct choice *choices; /* ends with a NULL name */
	int (*check)(const char *text, struct buf *why);
	bool required;
	bool reload; /* may change on SIGHUP without a restart */
};

/* Ids for the rows that code below refers to by name. */
enum key_id {
	K_LOG_LEVEL,
	K_STATE_DIR,
	K_USER_AGENT,
	K_MAX_CONNECTIONS,
	K_PER_HOST_CONNECTIONS,
	K_DEFAULT_INTERVAL,
	K_MIN_INTERVAL,
	K_MAX_INTERVAL,
	K_MAX_FEED_SIZE,
	K_MAX_ENTRIES,
	K_MAX_FIELD_SIZE,
	K_MAX_ARTICLE_SIZE,
	K_MAX_BODY_MEMORY,
	K_FETCH_TIMEOUT,
	K_CONNECT_TIMEOUT,
	K_SHUTDOWN_TIMEOUT,
	K_PAGE_RETRIES,
	K_SPOOL_MAX_SIZE,
	K_CONNINFO,
	K_BATCH_SIZE,
	K_BATCH_DELAY,
	K_DEDUP_WINDOW,
	K_STALL_TIMEOUT,
	K_SOURCE_HOME,
	K_SOURCE_HOSTS,
	K_SOURCE_NEWS_ID,
	K_SOURCE_ARTICLES,
	K_SOURCE_TIMEZONE,
	K_SOURCE_RULES,
	K_SOURCE_DATE_FORMAT,
	K_SOURCE_REVISIT,
	K_SOURCE_INTERVAL,
	K_SOURCE_PAGE_DELAY,
	K_SOURCE_XPATH, /* CFG_XPATH_COUNT rows, one per field */
	K_FEED_SOURCE = K_SOURCE_XPATH + CFG_XPATH_COUNT,
	K_FEED_URL,
	K_FEED_INTERVAL,
	K_FEED_ENABLED,
	K_FEED_VERIFY_TLS,
	K_COUNT
};

static int check_text(const char *s, struct buf *why);
static int check_path(const char *s, struct buf *why);
static int check_url(const char *s, struct buf *why);
static int check_host(const char *s, struct buf *why);
static int check_name(const char *s, struct buf *why);
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

static const struct key keys[K_COUNT] = {
	/* [feedd] */
	[K_LOG_LEVEL] = {SEC_FEEDD, "log_level", V_ENUM, G(log_level), "info",
			 .choices = log_levels, .reload = true},
	/* the spool is open there; systemd's StateDirectory= owns it */
	[K_STATE_DIR] = {SEC_FEEDD, "state_dir", V_STR, G(state_dir), "/var/lib/feedd",
			 .check = check_path},
	[K_USER_AGENT] = {SEC_FEEDD, "user_agent", V_STR, G(user_agent),
			  "feedd/" FEEDD_VERSION " (+https://github.com/feedd/feedd)",
			  .check = check_text, .reload = true},
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
	/* the dedup set is warmed with it once, when the store first connects */
	[K_DEDUP_WINDOW] = {SEC_DATABASE, "dedup_window", V_DUR, G(db.dedup_window_ms), "30d",
			    HOURS(1), DAYS(3650), .reload = false},

	/* longer than the statement_timeout feedd sets (300 s) */
	[K_STALL_TIMEOUT] = {SEC_DATABASE, "stall_timeout", V_DUR, G(db.stall_timeout_ms), "10m",
			     SECS(1), DAYS(1), .reload = true},

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
	[K_SOURCE_RULES] = {SEC_SOURCE, "rules", V_STR, S(rules), .check = check_name,
			    .reload = true},
	[K_SOURCE_DATE_FORMAT] = {SEC_SOURCE, "date_format", V_STR, S(date_format),
				  .check = check_text, .reload = true},
	[K_SOURCE_REVISIT] = {SEC_SOURCE, "revisit", V_DURLIST, S(revisit), NULL, MINS(1),
			      DAYS(365), .reload = true},
	[K_SOURCE_INTERVAL] = {SEC_SOURCE, "interval", V_DUR, S(interval_ms), NULL, SECS(1),
			       DAYS(30), .reload = true},
	[K_SOURCE_PAGE_DELAY] = {SEC_SOURCE, "page_delay", V_DUR, S(page_delay_ms), "0", 0,
				 HOURS(1), .reload = true},
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
	[K_FEED_SOURCE] = {SEC_FEED, "source", V_STR, F(source_name), .check = check_name,
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

struct parser {
	struct cfg *cfg;
	struct buf *err;
	bool failed;
	const char *file; /* one of cfg->files */
	const char *data;
	size_t len;
	size_t pos;
	int lineno;
	bool mid_line; /* inih took only part of the current line so far */
	enum sect sect;
	size_t cur; /* index of the open source or feed */
	size_t sources_cap;
	size_t feeds_cap;
	struct cfg_loc seen[K_COUNT]; /* where each key was set, in the open section */
};

static void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void vfail_at(struct parser *p, const struct cfg_loc *loc, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void fail_at(struct parser *p, const struct cfg_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

/* Records the first error only: later ones are usually its echoes. */
static void vfail_at(struct parser *p, const struct cfg_loc *loc, const char *fmt, va_list ap)
{
	if (p->failed)
		return;
	p->failed = true;
	buf_reset(p->err);
	if (loc && loc->file)
		buf_printf(p->err, "%s:%d: ", loc->file, loc->line);
	buf_vprintf(p->err, fmt, ap);
}

static void fail_at(struct parser *p, const struct cfg_loc *loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail_at(p, loc, fmt, ap);
	va_end(ap);
}

/* An error at the line being read. */
static void fail(struct parser *p, const char *fmt, ...)
{
	struct cfg_loc here = {p->file, p->lineno};
	va_list ap;
	va_start(ap, fmt);
	vfail_at(p, &here, fmt, ap);
	va_end(ap);
}

/* Appends s in double quotes, shortened and with control bytes escaped, so
 * that an error message stays one readable line. */
static void put_quoted(struct buf *b, const char *s)
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
	put_quoted(why, text);
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

static int check_name(const char *s, struct buf *why)
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
		put_quoted(why, s);
		buf_printf(why, " in %s; expected a name like UTC or Asia/Tehran", dir);
	}
	return rc;
}

/* ---- values through the table ---- */

static void *field(void *obj, const struct key *k)
{
	return (char *)obj + k->off;
}

static const void *cfield(const void *obj, const struct key *k)
{
	return (const char *)obj + k->off;
}

static void strlist_free(struct cfg_strlist *l)
{
	strv_free(l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

static void strlist_push(struct cfg_strlist *l, char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = s;
}

static void value_free(const struct key *k, void *f)
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
		strlist_free(f);
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
			strlist_free(out);
			return -1;
		}
		strlist_push(out, xstrndup(a, (size_t)(b - a)));
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

/* Parses text as k's type into f, replacing what was there; 0, or -1 with
 * the reason in why. */
static int value_set(const struct key *k, void *f, const char *text, struct buf *why)
{
	switch (k->type) {
	case V_STR:
		if (k->check(text, why) < 0)
			return -1;
		value_free(k, f);
		*(char **)f = xstrdup(text);
		return 0;
	case V_INT: {
		int64_t n;
		if (parse_int(text, &n) < 0 || n < k->min || n > k->max) {
			buf_puts(why, "expected an integer from ");
			describe_range(k, why);
			put_got(why, text);
			return -1;
		}
		*(int *)f = (int)n;
		return 0;
	}
	case V_SIZE: {
		uint64_t n;
		if (cfg_parse_size(text, &n) < 0) {
			buf_puts(why, "expected a size like 512k, 64M, 1G");
			put_got(why, text);
			return -1;
		}
		if (n < (uint64_t)k->min || n > (uint64_t)k->max) {
			buf_puts(why, "expected a size from ");
			describe_range(k, why);
			put_got(why, text);
			return -1;
		}
		*(size_t *)f = (size_t)n;
		return 0;
	}
	case V_DUR: {
		int64_t ms;
		if (cfg_parse_duration(text, &ms) < 0) {
			buf_puts(why, "expected a duration like 30s, 5m, 2h, 1d");
			put_got(why, text);
			return -1;
		}
		if (ms < k->min || ms > k->max) {
			buf_puts(why, "expected a duration from ");
			describe_range(k, why);
			put_got(why, text);
			return -1;
		}
		*(int64_t *)f = ms;
		return 0;
	}
	case V_BOOL:
		if (parse_bool(text, f) < 0) {
			buf_puts(why, "expected true or false");
			put_got(why, text);
			return -1;
		}
		return 0;
	case V_ENUM:
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
	case V_DURLIST: {
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
		strlist_free(&items);
		if (!ok) {
			free(d.ms);
			buf_puts(why, "expected increasing durations from ");
			describe_range(k, why);
			buf_puts(why, ", separated by commas, like 1h, 24h");
			put_got(why, text);
			return -1;
		}
		value_free(k, f);
		*(struct cfg_durations *)f = d;
		return 0;
	}
	case V_LIST: {
		struct cfg_strlist items = {0};
		if (split_list(text, &items) < 0) {
			buf_printf(why, "expected at most %d items separated by commas",
				   CFG_MAX_LIST);
			put_got(why, text);
			return -1;
		}
		for (size_t i = 0; i < items.n; i++) {
			if (k->check(items.v[i], why) < 0) {
				strlist_free(&items);
				return -1;
			}
		}
		value_free(k, f);
		*(struct cfg_strlist *)f = items;
		return 0;
	}
	case V_REGEX: {
		char msg[256];
		struct pcre2_real_code_8 *re = newsid_compile(text, msg, sizeof msg);
		if (!re) {
			buf_printf(why, "bad regular expression: %s", msg);
			put_got(why, text);
			return -1;
		}
		value_free(k, f);
		struct cfg_regex *r = f;
		r->pattern = xstrdup(text);
		r->code = re;
		return 0;
	}
	}
	return -1;
}

/* Whether a key holds a value; optional keys without a default hold none. */
static bool value_present(const struct key *k, const void *f)
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

static bool value_equal(const struct key *k, const void *a, const void *b)
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

/* Appends the value as it would be written in the file. */
static void value_format(const struct key *k, const void *f, struct buf *out)
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

/* ---- sections ---- */

static void *section_object(struct parser *p, enum sect s)
{
	switch (s) {
	case SEC_FEEDD:
	case SEC_DATABASE:
		return p->cfg;
	case SEC_SOURCE:
		return &p->cfg->sources[p->cur];
	case SEC_FEED:
		return &p->cfg->feeds[p->cur];
	default:
		return NULL;
	}
}

static void apply_defaults(struct parser *p, enum sect s, void *obj)
{
	struct buf why;
	buf_init(&why);
	for (size_t i = 0; i < K_COUNT; i++) {
		const struct key *k = &keys[i];
		if (k->sect != s || !k->dflt)
			continue;
		/* A default that does not parse is a bug in the table above,
		 * and test_config loads every default to catch it. */
		if (value_set(k, field(obj, k), k->dflt, &why) < 0)
			fail_at(p, NULL, "internal error: default of %s: %s", k->name,
				buf_str(&why));
	}
	buf_free(&why);
}

/* Checks the section just finished: required keys, derived values. */
static void section_close(struct parser *p)
{
	enum sect s = p->sect;
	if (s != SEC_SOURCE && s != SEC_FEED)
		return;
	void *obj = section_object(p, s);
	const struct cfg_loc *loc =
		s == SEC_SOURCE ? &p->cfg->sources[p->cur].loc : &p->cfg->feeds[p->cur].loc;
	const char *name =
		s == SEC_SOURCE ? p->cfg->sources[p->cur].name : p->cfg->feeds[p->cur].name;
	for (size_t i = 0; i < K_COUNT; i++) {
		const struct key *k = &keys[i];
		if (k->sect == s && k->required && !value_present(k, cfield(obj, k))) {
			fail_at(p, loc, "[%s %s]: missing %s = ...", sect_names[s], name, k->name);
			return;
		}
	}
	if (s == SEC_FEED) {
		struct cfg_feed *f = obj;
		f->source_loc = p->seen[K_FEED_SOURCE];
		return;
	}
	/* The home page's host is always one of the source's own hosts. */
	struct cfg_source *src = obj;
	struct cfg_strlist hosts = {0};
	strlist_push(&hosts, url_host(src->home));
	for (size_t i = 0; i < src->hosts.n; i++) {
		char *h = src->hosts.v[i];
		for (char *c = h; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		bool dup = false;
		for (size_t j = 0; j < hosts.n && !dup; j++)
			dup = strcmp(hosts.v[j], h) == 0;
		if (dup)
			free(h);
		else
			strlist_push(&hosts, h);
	}
	free(src->hosts.v);
	src->hosts = hosts;
}

static void section_open(struct parser *p, enum sect s, const char *name)
{
	struct cfg *c = p->cfg;
	struct cfg_loc here = {p->file, p->lineno};
	p->sect = s;
	if (s == SEC_SOURCE) {
		if (c->n_sources == p->sources_cap) {
			p->sources_cap = p->sources_cap ? 2 * p->sources_cap : 16;
			c->sources = xrealloc(c->sources, p->sources_cap * sizeof *c->sources);
		}
		p->cur = c->n_sources++;
		struct cfg_source *src = &c->sources[p->cur];
		memset(src, 0, sizeof *src);
		src->name = xstrdup(name);
		src->loc = here;
		apply_defaults(p, s, src);
	} else if (s == SEC_FEED) {
		if (c->n_feeds == p->feeds_cap) {
			p->feeds_cap = p->feeds_cap ? 2 * p->feeds_cap : 64;
			c->feeds = xrealloc(c->feeds, p->feeds_cap * sizeof *c->feeds);
		}
		p->cur = c->n_feeds++;
		struct cfg_feed *f = &c->feeds[p->cur];
		memset(f, 0, sizeof *f);
		f->name = xstrdup(name);
		f->loc = here;
		apply_defaults(p, s, f);
	}
	/* [feedd] and [database] may appear again, and a later file may
	 * override their keys, so their seen[] entries are kept. */
	if (s == SEC_SOURCE || s == SEC_FEED)
		for (size_t i = 0; i < K_COUNT; i++)
			if (keys[i].sect == s)
				p->seen[i] = (struct cfg_loc){NULL, 0};
}

/* Handles a line whose first non-blank byte is '['; 0 or -1. */
static int section_line(struct parser *p, const char *line, size_t n)
{
	const char *end = line + n;
	const char *close = memchr(line, ']', n);
	if (!close) {
		fail(p, "expected ']' at the end of the section header");
		return -1;
	}
	for (const char *c = close + 1; c < end; c++) {
		if (!isspace((unsigned char)*c)) {
			fail(p, "unexpected text after the section header's ']'");
			return -1;
		}
	}
	const char *a = line + 1, *b = close;
	while (a < b && isspace((unsigned char)*a))
		a++;
	while (b > a && isspace((unsigned char)b[-1]))
		b--;
	size_t kind_len = 0;
	while (a + kind_len < b && !isspace((unsigned char)a[kind_len]))
		kind_len++;
	const char *name = a + kind_len;
	while (name < b && isspace((unsigned char)*name))
		name++;
	char *kind = xstrndup(a, kind_len);
	char *nm = xstrndup(name, (size_t)(b - name));
	enum sect s = SEC_NONE;
	for (int i = SEC_FEEDD; i <= SEC_FEED; i++)
		if (strcmp(kind, sect_names[i]) == 0)
			s = (enum sect)i;

	struct buf why;
	buf_init(&why);
	bool named = s == SEC_SOURCE || s == SEC_FEED;
	if (s == SEC_NONE) {
		fail(p,
		     "unknown section [%s]; expected [feedd], [database], [source NAME] or "
		     "[feed NAME]",
		     kind);
	} else if (!named && *nm) {
		fail(p, "[%s] takes no name, got [%s %s]", kind, kind, nm);
	} else if (named && !*nm) {
		fail(p, "[%s] needs a name, like [%s %s]", kind, kind,
		     s == SEC_SOURCE ? "irna-en" : "irna-en-all");
	} else if (named && check_name(nm, &why) < 0) {
		fail(p, "[%s NAME]: %s", kind, buf_str(&why));
	} else {
		section_close(p);
		if (!p->failed)
			section_open(p, s, nm);
	}
	buf_free(&why);
	free(kind);
	free(nm);
	return p->failed ? -1 : 0;
}

/* inih's line source, fgets-like.  It counts lines and acts on section
 * headers before inih sees them, which is when every key of the previous
 * section has been handled. */
static char *line_reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	if (p->failed || p->pos >= p->len || num < 2)
		return NULL;
	const char *line = p->data + p->pos;
	const char *nl = memchr(line, '\n', p->len - p->pos);
	size_t rest = nl ? (size_t)(nl + 1 - line) : p->len - p->pos;
	if (!p->mid_line) {
		p->lineno++;
		size_t n = nl ? (size_t)(nl - line) : rest;
		if (n > CFG_MAX_LINE) {
			fail(p, "line longer than %d bytes", CFG_MAX_LINE);
			return NULL;
		}
		/* Names, URLs and text go to the database as text. */
		if (!utf8_valid(line, n)) {
			fail(p, "not valid UTF-8 (the file must be UTF-8)");
			return NULL;
		}
		const char *s = line;
		if (p->pos == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3; /* a UTF-8 byte order mark, which inih skips too */
		while (s < line + n && isspace((unsigned char)*s))
			s++;
		if (s < line + n && *s == '[' && section_line(p, s, (size_t)(line + n - s)) < 0)
			return NULL;
	}
	size_t take = rest < (size_t)num - 1 ? rest : (size_t)num - 1;
	memcpy(str, line, take);
	str[take] = '\0';
	p->pos += take;
	p->mid_line = take < rest;
	return str;
}

static const struct key *key_find(enum sect s, const char *name)
{
	for (size_t i = 0; i < K_COUNT; i++)
		if (keys[i].sect == s && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static void section_title(struct parser *p, struct buf *out)
{
	if (p->sect == SEC_SOURCE)
		buf_printf(out, "[source %s]", p->cfg->sources[p->cur].name);
	else if (p->sect == SEC_FEED)
		buf_printf(out, "[feed %s]", p->cfg->feeds[p->cur].name);
	else
		buf_printf(out, "[%s]", sect_names[p->sect]);
}

static void unknown_key(struct parser *p, const char *name)
{
	struct buf msg;
	buf_init(&msg);
	buf_puts(&msg, "unknown key ");
	put_quoted(&msg, name);
	buf_puts(&msg, " in ");
	section_title(p, &msg);
	if (p->sect == SEC_SOURCE && strncmp(name, "xpath.", 6) == 0) {
		buf_puts(&msg, "; xpath fields are");
		for (int i = 0; i < CFG_XPATH_COUNT; i++)
			buf_printf(&msg, "%s %s", i ? "," : "", xpath_names[i]);
	} else if (p->sect != SEC_FEEDD && key_find(SEC_FEEDD, name)) {
		buf_puts(&msg, "; it belongs in [feedd]");
	}
	fail(p, "%s", buf_str(&msg));
	buf_free(&msg);
}

static int key_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	if (p->failed)
		return 0;
	if (p->sect == SEC_NONE) {
		fail(p,
		     "%s: a key before any section; put it under [feedd], [database], "
		     "[source NAME] or [feed NAME]",
		     name);
		return 0;
	}
	const struct key *k = key_find(p->sect, name);
	if (!k) {
		unknown_key(p, name);
		return 0;
	}
	size_t id = (size_t)(k - keys);
	struct cfg_loc *seen = &p->seen[id];
	/* Within one file a second setting is a mistake; a later file (a
	 * conf.d drop-in) overriding [feedd] or [database] is the point. */
	if (seen->file == p->file) {
		fail(p, "%s: already set at line %d", name, seen->line);
		return 0;
	}
	struct buf why;
	buf_init(&why);
	int rc = value_set(k, field(section_object(p, p->sect), k), value, &why);
	if (rc < 0)
		fail(p, "%s: %s", name, buf_str(&why));
	buf_free(&why);
	*seen = (struct cfg_loc){p->file, p->lineno};
	return rc == 0;
}

/* Debian's libinih turns inih's compile-time switches into variables.
 * Their defaults would cut lines longer than 200 bytes in two, cut values
 * at " ;", join an indented line to the key above it and keep going after
 * a syntax error; DESIGN.md wants whole-line comments only. */
static void inih_setup(void)
{
	ini_allow_inline_comments = false;
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	ini_allow_no_value = false;
	ini_allow_bom = true;
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = CFG_MAX_LINE + 3; /* room for "\r\n" and NUL */
}

static const char *add_file(struct cfg *c, const char *path)
{
	strlist_push(&c->files, xstrdup(path));
	return c->files.v[c->files.n - 1];
}

static int parse_file(struct parser *p, const char *path)
{
	struct buf data;
	buf_init(&data);
	bool truncated;
	if (read_file_capped(path, CFG_MAX_FILE, &data, &truncated) < 0) {
		fail_at(p, NULL, "cannot read %s: %s", path, strerror(errno));
		buf_free(&data);
		return -1;
	}
	p->file = add_file(p->cfg, path);
	p->data = buf_str(&data);
	p->len = data.len;
	p->pos = 0;
	p->lineno = 0;
	p->mid_line = false;
	p->sect = SEC_NONE;
	const char *nul = memchr(p->data, '\0', p->len);
	if (truncated) {
		fail_at(p, NULL, "%s: larger than the limit of %zu bytes", path, CFG_MAX_FILE);
	} else if (nul) {
		for (const char *c = p->data; c <= nul; c++)
			p->lineno += c == p->data || c[-1] == '\n';
		fail(p, "a NUL byte; this is not a text file");
	} else {
		int rc = ini_parse_stream(line_reader, p, key_handler, p);
		if (!p->failed && rc == -2) {
			fail_at(p, NULL, "%s: out of memory", path);
		} else if (!p->failed && rc != 0) {
			p->lineno = rc;
			fail(p, "expected key = value, a [section] header or a comment");
		}
		if (!p->failed)
			section_close(p);
	}
	p->sect = SEC_NONE;
	p->data = NULL;
	buf_free(&data);
	return p->failed ? -1 : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf files in the conf.d beside path, sorted by name with strcmp so that the order
 * does not depend on the locale; a missing conf.d is no error. */
static int list_confd(struct parser *p, const char *path, struct cfg_strlist *out)
{
	const char *slash = strrchr(path, '/');
	struct buf dir;
	buf_init(&dir);
	if (!slash)
		buf_puts(&dir, ".");
	else
		buf_append(&dir, path, slash == path ? 1 : (size_t)(slash - path));
	buf_puts(&dir, dir.data[dir.len - 1] == '/' ? "conf.d" : "/conf.d");
	DIR *d = opendir(buf_str(&dir));
	if (!d) {
		int rc = 0;
		if (errno != ENOENT && errno != ENOTDIR) {
			fail_at(p, NULL, "cannot read %s: %s", buf_str(&dir), strerror(errno));
			rc = -1;
		}
		buf_free(&dir);
		return rc;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		/* dot files are editors' and package managers' leftovers */
		if (e->d_name[0] == '.' || n <= 5 || strcmp(e->d_name + n - 5, ".conf") != 0)
			continue;
		struct buf full;
		buf_init(&full);
		buf_printf(&full, "%s/%s", buf_str(&dir), e->d_name);
		strlist_push(out, buf_steal(&full));
	}
	closedir(d);
	buf_free(&dir);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, cmp_str);
	return 0;
}

/* ---- checks across keys, sections and files ---- */

static int cmp_source(const void *a, const void *b)
{
	const struct cfg_source *x = *(const struct cfg_source *const *)a;
	const struct cfg_source *y = *(const struct cfg_source *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x > y) - (x < y);
}

static int cmp_feed(const void *a, const void *b)
{
	const struct cfg_feed *x = *(const struct cfg_feed *const *)a;
	const struct cfg_feed *y = *(const struct cfg_feed *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x > y) - (x < y);
}

static void build_indexes(struct parser *p)
{
	struct cfg *c = p->cfg;
	c->source_index = xcalloc(c->n_sources, sizeof *c->source_index);
	for (size_t i = 0; i < c->n_sources; i++)
		c->source_index[i] = &c->sources[i];
	if (c->n_sources)
		qsort(c->source_index, c->n_sources, sizeof *c->source_index, cmp_source);
	c->feed_index = xcalloc(c->n_feeds, sizeof *c->feed_index);
	for (size_t i = 0; i < c->n_feeds; i++)
		c->feed_index[i] = &c->feeds[i];
	if (c->n_feeds)
		qsort(c->feed_index, c->n_feeds, sizeof *c->feed_index, cmp_feed);

	/* Equal names sort by position, so the second of a pair is the
	 * redefinition; report the earliest one in the files. */
	const struct cfg_source *dup_s = NULL, *first_s = NULL;
	for (size_t i = 1; i < c->n_sources; i++) {
		const struct cfg_source *a = c->source_index[i - 1], *b = c->source_index[i];
		if (strcmp(a->name, b->name) == 0 && (!dup_s || b < dup_s)) {
			dup_s = b;
			first_s = a;
		}
	}
	if (dup_s) {
		fail_at(p, &dup_s->loc, "[source %s] is defined twice; first at %s:%d", dup_s->name,
			first_s->loc.file, first_s->loc.line);
		return;
	}
	const struct cfg_feed *dup_f = NULL, *first_f = NULL;
	for (size_t i = 1; i < c->n_feeds; i++) {
		const struct cfg_feed *a = c->feed_index[i - 1], *b = c->feed_index[i];
		if (strcmp(a->name, b->name) == 0 && (!dup_f || b < dup_f)) {
			dup_f = b;
			first_f = a;
		}
	}
	if (dup_f)
		fail_at(p, &dup_f->loc, "[feed %s] is defined twice; first at %s:%d", dup_f->name,
			first_f->loc.file, first_f->loc.line);
}

/* The later of two keys' settings, to blame for a conflict between them. */
static const struct cfg_loc *blame(const struct parser *p, enum key_id a, enum key_id b)
{
	const struct cfg_loc *x = &p->seen[a], *y = &p->seen[b];
	size_t fx = 0, fy = 0;
	for (size_t i = 0; i < p->cfg->files.n; i++) {
		fx = p->cfg->files.v[i] == x->file ? i + 1 : fx;
		fy = p->cfg->files.v[i] == y->file ? i + 1 : fy;
	}
	return fx > fy || (fx == fy && x->line > y->line) ? x : y;
}

static void check_intervals(struct parser *p)
{
	struct cfg *c = p->cfg;
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	cfg_format_duration(c->min_interval_ms, &a);
	cfg_format_duration(c->max_interval_ms, &b);
	if (c->min_interval_ms > c->max_interval_ms) {
		fail_at(p, blame(p, K_MIN_INTERVAL, K_MAX_INTERVAL),
			"min_interval (%s) is longer than max_interval (%s)", buf_str(&a),
			buf_str(&b));
	} else if (c->default_interval_ms < c->min_interval_ms ||
		   c->default_interval_ms > c->max_interval_ms) {
		bool low = c->default_interval_ms < c->min_interval_ms;
		struct buf d;
		buf_init(&d);
		cfg_format_duration(c->default_interval_ms, &d);
		fail_at(p, blame(p, K_DEFAULT_INTERVAL, low ? K_MIN_INTERVAL : K_MAX_INTERVAL),
			"default_interval (%s) is outside min_interval (%s) to max_interval (%s)",
			buf_str(&d), buf_str(&a), buf_str(&b));
		buf_free(&d);
	}
	if (!p->failed &&
	    (c->max_feed_size > c->max_body_memory || c->max_article_size > c->max_body_memory)) {
		bool feed = c->max_feed_size > c->max_body_memory;
		fail_at(p, blame(p, K_MAX_BODY_MEMORY, feed ? K_MAX_FEED_SIZE : K_MAX_ARTICLE_SIZE),
			"max_body_memory (%zu bytes) is less than %s (%zu bytes)",
			c->max_body_memory, feed ? "max_feed_size" : "max_article_size",
			feed ? c->max_feed_size : c->max_article_size);
	}
	for (size_t i = 0; i < c->n_sources && !p->failed; i++) {
		const struct cfg_source *s = &c->sources[i];
		if (s->interval_ms &&
		    (s->interval_ms < c->min_interval_ms || s->interval_ms > c->max_interval_ms)) {
			struct buf d;
			buf_init(&d);
			cfg_format_duration(s->interval_ms, &d);
			fail_at(p, &s->loc,
				"[source %s]: interval (%s) is outside min_interval (%s) to "
				"max_interval (%s)",
				s->name, buf_str(&d), buf_str(&a), buf_str(&b));
			buf_free(&d);
		}
	}
	for (size_t i = 0; i < c->n_feeds && !p->failed; i++) {
		struct cfg_feed *f = &c->feeds[i];
		if (f->interval_ms) {
			f->interval_from = CFG_INTERVAL_FEED;
		} else if (f->source->interval_ms) {
			f->interval_ms = f->source->interval_ms;
			f->interval_from = CFG_INTERVAL_SOURCE;
		} else {
			f->interval_ms = c->default_interval_ms;
			f->interval_from = CFG_INTERVAL_DEFAULT;
		}
		if (f->interval_ms < c->min_interval_ms || f->interval_ms > c->max_interval_ms) {
			struct buf d;
			buf_init(&d);
			cfg_format_duration(f->interval_ms, &d);
			fail_at(p, &f->loc,
				"[feed %s]: interval (%s) is outside min_interval (%s) to "
				"max_interval (%s)",
				f->name, buf_str(&d), buf_str(&a), buf_str(&b));
			buf_free(&d);
		}
	}
	buf_free(&a);
	buf_free(&b);
}

static void resolve_feeds(struct parser *p)
{
	struct cfg *c = p->cfg;
	for (size_t i = 0; i < c->n_feeds && !p->failed; i++) {
		struct cfg_feed *f = &c->feeds[i];
		f->source = cfg_source_find(c, f->source_name);
		if (!f->source)
			fail_at(p, &f->source_loc,
				"[feed %s]: source \"%s\" is not defined; define it with "
				"[source %s] and its home = URL",
				f->name, f->source_name, f->source_name);
	}
}

/* ---- the public interface ---- */

const char *cfg_default_path(void)
{
	const char *env = getenv("FEEDD_CONFIG");
	return env && *env ? env : CFG_DEFAULT_PATH;
}

int cfg_load(const char *path, struct cfg **out, struct buf *err)
{
	struct cfg *c = xcalloc(1, sizeof *c);
	struct parser parser = {.cfg = c, .err = err};
	struct parser *p = &parser;
	c->path = xstrdup(path);
	inih_setup();
	apply_defaults(p, SEC_FEEDD, c);
	apply_defaults(p, SEC_DATABASE, c);

	struct cfg_strlist confd = {0};
	if (!p->failed && parse_file(p, path) == 0 && strcmp(path, "-") != 0)
		list_confd(p, path, &confd);
	for (size_t i = 0; i < confd.n && !p->failed; i++)
		parse_file(p, confd.v[i]);
	strlist_free(&confd);

	if (!p->failed)
		build_indexes(p);
	if (!p->failed)
		resolve_feeds(p);
	if (!p->failed)
		check_intervals(p);

	if (p->failed) {
		cfg_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void cfg_free(struct cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_sources; i++) {
		for (size_t k = 0; k < K_COUNT; k++)
			if (keys[k].sect == SEC_SOURCE)
				value_free(&keys[k], field(&c->sources[i], &keys[k]));
		free(c->sources[i].name);
	}
	for (size_t i = 0; i < c->n_feeds; i++) {
		for (size_t k = 0; k < K_COUNT; k++)
			if (keys[k].sect == SEC_FEED)
				value_free(&keys[k], field(&c->feeds[i], &keys[k]));
		free(c->feeds[i].name);
	}
	for (size_t k = 0; k < K_COUNT; k++)
		if (keys[k].sect == SEC_FEEDD || keys[k].sect == SEC_DATABASE)
			value_free(&keys[k], field(c, &keys[k]));
	free(c->sources);
	free(c->feeds);
	free(c->source_index);
	free(c->feed_index);
	strlist_free(&c->files);
	free(c->path);
	free(c);
}

static int find_source(const void *name, const void *elem)
{
	return strcmp(name, (*(const struct cfg_source *const *)elem)->name);
}

static int find_feed(const void *name, const void *elem)
{
	return strcmp(name, (*(const struct cfg_feed *const *)elem)->name);
}

const struct cfg_source *cfg_source_find(const struct cfg *c, const char *name)
{
	if (!c->n_sources)
		return NULL;
	const struct cfg_source *const *hit =
		bsearch(name, c->source_index, c->n_sources, sizeof *c->source_index, find_source);
	return hit ? *hit : NULL;
}

const struct cfg_feed *cfg_feed_find(const struct cfg *c, const char *name)
{
	if (!c->n_feeds)
		return NULL;
	const struct cfg_feed *const *hit =
		bsearch(name, c->feed_index, c->n_feeds, sizeof *c->feed_index, find_feed);
	return hit ? *hit : NULL;
}

int cfg_reload_check(const struct cfg *cur, const struct cfg *next, struct buf *why)
{
	size_t before = why->len;
	for (size_t i = 0; i < K_COUNT; i++) {
		const struct key *k = &keys[i];
		if (k->reload)
			continue;
		if (k->sect == SEC_FEEDD || k->sect == SEC_DATABASE) {
			if (!value_equal(k, cfield(cur, k), cfield(next, k)))
				buf_printf(why, "%s[%s] %s", why->len > before ? "; " : "",
					   sect_names[k->sect], k->name);
			continue;
		}
		if (k->sect != SEC_SOURCE)
			continue;
		for (size_t j = 0; j < next->n_sources; j++) {
			const struct cfg_source *n = &next->sources[j];
			const struct cfg_source *o = cfg_source_find(cur, n->name);
			if (o && !value_equal(k, cfield(o, k), cfield(n, k)))
				buf_printf(why, "%s[source %s] %s", why->len > before ? "; " : "",
					   n->name, k->name);
		}
	}
	if (why->len == before)
		return 0;
	buf_puts(why, ": cannot change on reload; restart feedd to apply");
	return -1;
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

/* Exchanges k's values of a and b, with what each owns (strings, lists,
 * compiled patterns), so that each struct still frees what it holds. */
static void value_swap(const struct key *k, void *a, void *b)
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

static void restart_key(const struct key *k, void *cur, void *next, const char *where,
			struct cfg_strlist *changed)
{
	if (value_equal(k, cur, next))
		return;
	value_swap(k, cur, next);
	struct buf name;
	buf_init(&name);
	buf_printf(&name, "%s %s", where, k->name);
	strlist_push(changed, buf_steal(&name));
}

size_t cfg_keep_restart_keys(struct cfg *cur, struct cfg *next, struct cfg_strlist *changed)
{
	size_t before = changed->n;
	for (size_t i = 0; i < K_COUNT; i++) {
		const struct key *k = &keys[i];
		if (k->reload)
			continue;
		if (k->sect == SEC_FEEDD || k->sect == SEC_DATABASE) {
			struct buf where;
			buf_init(&where);
			buf_printf(&where, "[%s]", sect_names[k->sect]);
			restart_key(k, field(cur, k), field(next, k), buf_str(&where), changed);
			buf_free(&where);
			continue;
		}
		if (k->sect != SEC_SOURCE)
			continue;
		for (size_t j = 0; j < next->n_sources; j++) {
			struct cfg_source *n = &next->sources[j];
			struct cfg_source *o = (struct cfg_source *)cfg_source_find(cur, n->name);
			if (!o)
				continue;
			struct buf where;
			buf_init(&where);
			buf_printf(&where, "[source %s]", n->name);
			restart_key(k, field(o, k), field(n, k), buf_str(&where), changed);
			buf_free(&where);
		}
	}
	return changed->n - before;
}

static void summary_keys(const void *obj, enum sect s, struct buf *out)
{
	for (size_t i = 0; i < K_COUNT; i++) {
		const struct key *k = &keys[i];
		if (k->sect != s)
			continue;
		const void *f = cfield(obj, k);
		if (!value_present(k, f)) {
			if (i < K_SOURCE_XPATH || i >= K_SOURCE_XPATH + CFG_XPATH_COUNT)
				buf_printf(out, "# %s is not set\n", k->name);
			continue;
		}
		buf_printf(out, "%s = ", k->name);
		value_format(k, f, out);
		buf_putc(out, '\n');
	}
}

void cfg_summary(const struct cfg *c, struct buf *out)
{
	size_t enabled = 0;
	for (size_t i = 0; i < c->n_feeds; i++)
		enabled += c->feeds[i].enabled;
	buf_printf(out, "# configuration: %s\n# files read:\n", c->path);
	for (size_t i = 0; i < c->files.n; i++)
		buf_printf(out, "#   %s\n", c->files.v[i]);
	buf_printf(out, "# %zu source%s, %zu feed%s (%zu enabled)\n", c->n_sources,
		   c->n_sources == 1 ? "" : "s", c->n_feeds, c->n_feeds == 1 ? "" : "s", enabled);

	buf_puts(out, "\n[feedd]\n");
	summary_keys(c, SEC_FEEDD, out);
	buf_puts(out, "\n[database]\n");
	summary_keys(c, SEC_DATABASE, out);
	for (size_t i = 0; i < c->n_sources; i++) {
		const struct cfg_source *s = &c->sources[i];
		buf_printf(out, "\n# %s:%d\n[source %s]\n", s->loc.file, s->loc.line, s->name);
		summary_keys(s, SEC_SOURCE, out);
	}
	for (size_t i = 0; i < c->n_feeds; i++) {
		const struct cfg_feed *f = &c->feeds[i];
		buf_printf(out, "\n# %s:%d; interval from %s\n[feed %s]\n", f->loc.file,
			   f->loc.line,
			   f->interval_from == CFG_INTERVAL_FEED	     ? "the feed"
				   : f->interval_from == CFG_INTERVAL_SOURCE ? "its source"
									     : "default_interval",
			   f->name);
		summary_keys(f, SEC_FEED, out);
	}
}

const char *cfg_xpath_field_name(enum cfg_xpath_field f)
{
	return f < CFG_XPATH_COUNT ? xpath_names[f] : "?";
}

const char *cfg_articles_name(enum cfg_articles a)
{
	return choice_name(articles_modes, (int)a);
}
