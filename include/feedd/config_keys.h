/*
 * config_keys: the configuration's key table and what is done to a value
 * through it, shared by the two files of the config module: config_keys.c
 * holds the table, the validators and the value code (parse, free,
 * compare, print, exchange); config.c reads files, sections and conf.d
 * into a struct cfg with it, checks across keys and serves reloads.
 *
 * Private to that module: only daemon/core/config*.c include this header, which
 * is why its enum constants and struct tags carry no prefix.  Everyone
 * else reads a struct cfg through config.h.
 */
#ifndef FEEDD_CONFIG_KEYS_H
#define FEEDD_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feedd/config.h"
#include "feedd/util.h"

enum sect { SEC_NONE, SEC_FEEDD, SEC_DATABASE, SEC_SOURCE, SEC_FEED };

/* "feedd", "database", "source", "feed" by enum sect; "" for SEC_NONE. */
extern const char *const cfg_sect_names[];

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

/* Ids for the rows that code refers to by name. */
enum key_id {
	K_LOG_LEVEL,
	K_STATE_DIR,
	K_USER_AGENT,
	K_GROUP,
	K_LEASE,
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
	K_STORE_CONNECTIONS,
	K_DEDUP_WINDOW,
	K_STALL_TIMEOUT,
	K_POLLS_RETENTION,
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
	K_SOURCE_ARTICLE_RETENTION,
	K_SOURCE_XPATH, /* CFG_XPATH_COUNT rows, one per field */
	K_FEED_SOURCE = K_SOURCE_XPATH + CFG_XPATH_COUNT,
	K_FEED_URL,
	K_FEED_INTERVAL,
	K_FEED_ENABLED,
	K_FEED_VERIFY_TLS,
	K_COUNT
};

/* The table: every key, by enum key_id. */
extern const struct key cfg_keys[K_COUNT];

/* Where k's value lives in obj (a struct cfg, cfg_source or cfg_feed, by
 * k's section). */
static inline void *cfg_field(void *obj, const struct key *k)
{
	return (char *)obj + k->off;
}

static inline const void *cfg_cfield(const void *obj, const struct key *k)
{
	return (const char *)obj + k->off;
}

/* Parses text as k's type into f, replacing what was there; 0, or -1 with
 * the reason in why. */
int cfg_value_set(const struct key *k, void *f, const char *text, struct buf *why);
/* Frees what the value f of k owns and empties it. */
void cfg_value_free(const struct key *k, void *f);
/* Whether a key holds a value; optional keys without a default hold none. */
bool cfg_value_present(const struct key *k, const void *f);
bool cfg_value_equal(const struct key *k, const void *a, const void *b);
/* Appends the value as it would be written in the file. */
void cfg_value_format(const struct key *k, const void *f, struct buf *out);
/* Exchanges k's values of a and b, with what each owns (strings, lists,
 * compiled patterns), so that each struct still frees what it holds. */
void cfg_value_swap(const struct key *k, void *a, void *b);

/* A section's name: at most CFG_MAX_NAME letters, digits, '.', '_', '-';
 * 0, or -1 with what was expected in why. */
int cfg_check_name(const char *s, struct buf *why);
/* Appends s in double quotes, shortened and with control bytes escaped, so
 * that an error message stays one readable line. */
void cfg_put_quoted(struct buf *b, const char *s);

void cfg_strlist_push(struct cfg_strlist *l, char *s);
void cfg_strlist_free(struct cfg_strlist *l);

#endif
