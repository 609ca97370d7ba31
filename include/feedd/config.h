/*
 * config: the configuration file, read into one immutable struct cfg.
 *
 * The file is INI (see DESIGN.md, "Configuration file"): [feedd],
 * [database], [source NAME] and [feed NAME] sections, whole-line `#` and
 * `;` comments; after it every *.conf file in the conf.d directory beside
 * it, in name order, as if appended.  Every key is a row of one table in
 * config_keys.c giving its section, type, default, limits and whether it may
 * change on reload.
 *
 * cfg_load builds a new struct cfg or nothing: on any error it returns -1
 * with a message naming file:line and what was expected, so a reload can
 * keep the old configuration whole.  Afterwards the struct is read-only;
 * hand it around as `const struct cfg *` and free it with cfg_free.
 *
 * Durations are int64_t milliseconds everywhere, sizes are bytes.
 */
#ifndef FEEDD_CONFIG_H
#define FEEDD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feedd/log.h"
#include "feedd/util.h"

/* PCRE2's compiled-pattern type for 8-bit code units, forward-declared so
 * that this header does not impose PCRE2_CODE_UNIT_WIDTH and all of pcre2.h
 * on every file that reads the configuration.  It is the very type that
 * pcre2.h calls pcre2_code (with PCRE2_CODE_UNIT_WIDTH 8), so the news-ID
 * code can hand it to pcre2_match as it is. */
struct pcre2_real_code_8;

/* Where something was defined: file points into cfg->files. */
struct cfg_loc {
	const char *file;
	int line;
};

enum cfg_articles {
	CFG_ARTICLES_FEED_ONLY, /* store what the feed carries */
	CFG_ARTICLES_FETCH,	/* fetch and extract each new article's page */
};

/* The article fields a source may give an XPath rule for (xpath.FIELD). */
enum cfg_xpath_field {
	CFG_XPATH_TITLE,
	CFG_XPATH_LEAD,
	CFG_XPATH_BODY,
	CFG_XPATH_PUBLISHED,
	CFG_XPATH_UPDATED,
	CFG_XPATH_AUTHOR,
	CFG_XPATH_TAGS,
	CFG_XPATH_IMAGE,
	CFG_XPATH_CAPTION,
	CFG_XPATH_EXCLUDE,
	CFG_XPATH_COUNT
};

struct cfg_strlist {
	char **v;
	size_t n;
};

struct cfg_durations {
	int64_t *ms; /* strictly increasing */
	size_t n;
};

/* A regular expression as written and compiled; both NULL when unset. */
struct cfg_regex {
	char *pattern;
	struct pcre2_real_code_8 *code;
};

struct cfg_source {
	char *name;
	struct cfg_loc loc; /* the [source NAME] line */
	char *home;	    /* http:// or https:// URL */
	/* Hosts article pages may come from: the host of home first, then
	 * those listed in `hosts`, lower-cased, without duplicates. */
	struct cfg_strlist hosts;
	struct cfg_regex news_id; /* at least one capture group; group 1 is the ID */
	enum cfg_articles articles;
	char *timezone;	   /* tz database name, "UTC" by default */
	char *rules;	   /* NULL: none */
	char *date_format; /* NULL: none */
	struct cfg_durations revisit;
	int64_t interval_ms;	      /* 0: not set, feeds use default_interval */
	int64_t page_delay_ms;	      /* between two page requests to one host */
	int64_t article_retention_ms; /* articles published before are deleted; 0: kept */
	char *xpath[CFG_XPATH_COUNT]; /* NULL where not set */
};

/* Where a feed's effective interval came from. */
enum cfg_interval_from {
	CFG_INTERVAL_FEED,
	CFG_INTERVAL_SOURCE,
	CFG_INTERVAL_DEFAULT,
};

struct cfg_feed {
	char *name;
	struct cfg_loc loc;		 /* the [feed NAME] line */
	char *source_name;		 /* as written */
	struct cfg_loc source_loc;	 /* the `source =` line */
	const struct cfg_source *source; /* resolved; never NULL after cfg_load */
	char *url;
	/* The effective interval: the feed's own, else its source's, else
	 * default_interval; always within [min_interval, max_interval]. */
	int64_t interval_ms;
	enum cfg_interval_from interval_from;
	bool enabled;
	bool verify_tls; /* false: this feed's TLS certificate is not checked */
};

struct cfg_database {
	char *conninfo;
	int batch_size;
	int64_t batch_delay_ms;
	int store_connections; /* articles spread over them (see store.h) */
	int64_t dedup_window_ms;
	int64_t stall_timeout_ms;   /* no answer for this long: reconnect (see store.h) */
	int64_t polls_retention_ms; /* polls older are dropped by the day; 0: kept */
};

struct cfg {
	char *path;		  /* the main file, as given */
	struct cfg_strlist files; /* every file read: the main file, then conf.d */
	/* How new the configuration is: the newest modification time of its
	 * files and of conf.d (a file removed from it counts), microseconds
	 * since the epoch.  A feed's row remembers it (feedd.sync_feed). */
	int64_t written_us;

	/* [feedd] */
	enum log_level log_level;
	char *state_dir;
	char *user_agent;
	char *group; /* the instances sharing this configuration (feeds.c) */
	/* How long a feed's lease lasts unless renewed (leases.c); 0: no
	 * leases, every instance polls every feed of its file. */
	int64_t lease_ms;
	int max_connections;
	int per_host_connections;
	int64_t default_interval_ms;
	int64_t min_interval_ms;
	int64_t max_interval_ms;
	size_t max_feed_size;
	int max_entries;
	size_t max_field_size;
	size_t max_article_size;
	size_t max_body_memory; /* all response bodies in memory at once */
	int64_t fetch_timeout_ms;
	int64_t connect_timeout_ms;
	int64_t shutdown_timeout_ms;
	int page_retries; /* failed page fetches retried before giving up */
	size_t spool_max_size;

	struct cfg_database db; /* [database] */

	struct cfg_source *sources; /* in file order */
	size_t n_sources;
	struct cfg_feed *feeds; /* in file order */
	size_t n_feeds;

	/* Private to config.c: the same objects sorted by name, for lookups. */
	const struct cfg_source **source_index;
	const struct cfg_feed **feed_index;
};

/* The file to read when no -c is given: $FEEDD_CONFIG if set and not empty,
 * else /etc/feedd/feedd.conf. */
const char *cfg_default_path(void);

/* Reads path and its conf.d into a new *out; 0, or -1 with the reason
 * ("file:line: key: expected ..., got ...") in err and *out untouched. */
int cfg_load(const char *path, struct cfg **out, struct buf *err);

/* Frees c and everything it owns; NULL is fine. */
void cfg_free(struct cfg *c);

/* The source or feed of that name, or NULL. */
const struct cfg_source *cfg_source_find(const struct cfg *c, const char *name);
const struct cfg_feed *cfg_feed_find(const struct cfg *c, const char *name);

/* Checks that going from cur to next changes no key that may not change on
 * reload (state_dir, the database, a kept source's news_id); 0, or -1 with
 * the keys that need a restart in why. */
int cfg_reload_check(const struct cfg *cur, const struct cfg *next, struct buf *why);

/* For a reload from cur to next: every key that may not change at run time
 * (the key table's reload flag: state_dir, spool_max_size, the database's
 * conninfo and dedup_window, a kept source's news_id) and differs gets
 * cur's value back in next (the two values are exchanged, so each struct
 * still frees what it holds).  Appends "[feedd] state_dir",
 * "[source s] news_id", ... to changed (the caller frees the strings) and
 * returns how many. */
size_t cfg_keep_restart_keys(struct cfg *cur, struct cfg *next, struct cfg_strlist *changed);

/* Appends a readable summary of c to out; it is itself a valid
 * configuration file with every setting spelled out. */
void cfg_summary(const struct cfg *c, struct buf *out);

/* "title", "lead", ... as in xpath.FIELD. */
const char *cfg_xpath_field_name(enum cfg_xpath_field f);
const char *cfg_articles_name(enum cfg_articles a);

/* Parses "1500ms", "30s", "5m", "2h", "1d", "1h30m" or a bare number of
 * seconds into milliseconds; 0, or -1 if malformed or out of range. */
int cfg_parse_duration(const char *text, int64_t *ms);
/* Parses "512", "64k", "64M", "1G" (1024-based) into bytes; 0 or -1. */
int cfg_parse_size(const char *text, uint64_t *bytes);
/* Appends ms the way cfg_parse_duration reads it, largest units first. */
void cfg_format_duration(int64_t ms, struct buf *out);

#endif
