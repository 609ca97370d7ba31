/*
 * article: the items that the store takes, the spool keeps and the feed and
 * page code submit: an article seen in a feed, one visit of an article's
 * page (also what the extractor gives), and one poll of a feed.  Their
 * names keep the store_ prefix of the module that first had them, so that
 * no user had to change.
 *
 * Each struct owns its strings and is freed with its own function; the
 * content hash says whether an article or a page changed, and is what the
 * dedup set and the database compare.
 */
#ifndef FEEDD_ARTICLE_H
#define FEEDD_ARTICLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_TIME_NONE INT64_MIN
/* How far after it was seen an article's claimed publication time may be. */
#define STORE_FUTURE_S 86400

/* An article as the store takes it; every string is owned by the article. */
struct store_article {
	char *source, *feed; /* names, as in the configuration */
	char *news_id, *url, *title, *lead, *body, *author, *image, *language;
	char **tags;
	size_t n_tags;
	int64_t published_at; /* seconds since the epoch, or STORE_TIME_NONE */
	/* Set by the store: a published_at more than STORE_FUTURE_S after
	 * seen_at_us is not taken; it moves here (kept in the column
	 * articles.published_claimed) and published_at becomes NONE. */
	int64_t published_claimed;
	int64_t seen_at_us;    /* when feedd first saw it, microseconds */
	char content_hash[33]; /* set by store_article_hash */
	void *ctx;	       /* the submitter's, handed back in on_article; not owned */
	/* The source fetches article pages: a new article is queued for its
	 * page, and a known one whose page was extracted is only linked. */
	bool fetch_page;
};

void store_article_free(struct store_article *a);
/* Sets a->content_hash (128-bit XXH3, hex) over the fields that make up the
 * article's content: url, title, lead, body, author, tags, image,
 * published_at. */
void store_article_hash(struct store_article *a);

/* One visit of an article's page, for feedd.record_page: the extracted
 * fields when status is "ok" (NULL where the page had nothing: the stored
 * value stays), else why it failed.  Every string is owned.  extract_page
 * (extract.h) fills the page's fields; pages.c says what the visit was. */
struct store_page {
	char *source, *news_id;
	/* The page's own URL as extract read it (where it was fetched, else its
	 * canonical link, else og:url); not stored. */
	char *url;
	char *status; /* "ok", "http_error", "fetch_error", "not_html", "not_article", "refused" */
	char *error;  /* one line; NULL for "ok" */
	char *title, *lead, *body, *author, *image, *caption, *language;
	char **tags;
	size_t n_tags;
	int64_t published_at, modified_at; /* seconds, or STORE_TIME_NONE */
	int64_t published_claimed;	   /* as in struct store_article */
	int64_t seen_at_us;
	int64_t retry_at_us; /* a failure: when to try again; STORE_TIME_NONE: give up */
	int64_t *revisit_s;  /* the source's revisit ages, seconds, increasing */
	size_t n_revisit;
	char content_hash[33]; /* set by store_page_hash for "ok" */
};

void store_page_free(struct store_page *p);
/* Sets p->content_hash over title, lead, body, author, tags, image, caption
 * and published_at: what a revisit compares. */
void store_page_hash(struct store_page *p);

/* One fetch of one feed, for the polls table. */
struct store_poll {
	char *feed;
	int64_t started_us;
	int duration_ms;
	int http_status; /* 0: no HTTP response */
	int64_t bytes;
	int items_seen, new_items;
	char *error; /* NULL on success */
	/* The feed's fetch state after this poll (NULL: keep the stored). */
	char *etag, *last_modified, *permanent_url, *disabled_reason;
	int64_t next_poll_us; /* STORE_TIME_NONE: none */
	/* The instance that polled (feedd.instances.id), whose lease on the
	 * feed the record gives back; NULL: none (feedd once). */
	char *instance;
};

void store_poll_free(struct store_poll *p);

#endif
