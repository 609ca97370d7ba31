/*
 * store: feedd's writer to PostgreSQL, on the daemon's libev loop.
 *
 * Everything is asynchronous: libpq in non-blocking mode, a watcher on its
 * socket, prepared statements sent in pipeline mode.  Submitted items
 * (articles, poll records, source and feed registrations) wait in a FIFO;
 * up to batch_size of them are sent as one batch, which is one implicit
 * transaction ending in a pipeline sync, and several batches may be in
 * flight.  Results are matched to what was sent through an explicit queue.
 *
 * Nothing accepted is dropped: when the connection breaks, every item of
 * every unfinished batch goes back to the front of the FIFO and is sent
 * again after reconnecting with exponential backoff.  The SQL functions
 * behind the statements are idempotent, so a batch that did commit before
 * the connection broke is harmless to send twice.  A batch the database
 * refuses for its data is split into single items so that one bad article
 * is rejected (and logged) alone.
 *
 * Before any round trip, an article is checked against the dedup set: one
 * already stored with the same content and linked to the same feed costs
 * nothing.
 */
#ifndef FEEDD_STORE_H
#define FEEDD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

#define STORE_TIME_NONE INT64_MIN

/* An article as the store takes it; every string is owned by the article. */
struct store_article {
	char *source, *feed; /* names, as in the configuration */
	char *news_id, *url, *title, *lead, *body, *author, *image, *language;
	char **tags;
	size_t n_tags;
	int64_t published_at;  /* seconds since the epoch, or STORE_TIME_NONE */
	int64_t seen_at_us;    /* when feedd first saw it, microseconds */
	char content_hash[33]; /* set by store_article_hash */
	void *ctx;	       /* the submitter's, handed back in on_article; not owned */
};

void store_article_free(struct store_article *a);
/* Sets a->content_hash (128-bit XXH3, hex) over the fields that make up the
 * article's content: url, title, lead, body, author, tags, image,
 * published_at. */
void store_article_hash(struct store_article *a);

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
};

void store_poll_free(struct store_poll *p);

/* A feed's fetch state as stored, read back when the store connects. */
struct store_feed_state {
	const char *name, *url, *etag, *last_modified, *disabled_reason, *permanent_url;
	int64_t next_poll_us; /* STORE_TIME_NONE: never polled */
	int error_count;
};

enum store_outcome {
	STORE_INSERTED,	 /* a new article */
	STORE_LINKED,	 /* known, same content, newly linked to this feed */
	STORE_UNCHANGED, /* known, same content, already linked: nothing written */
	STORE_REVISED,	 /* known, content changed: old version kept as a revision */
	STORE_DUPLICATE, /* answered by the dedup set: no round trip */
	STORE_REJECTED,	 /* the database refused it; logged */
};

const char *store_outcome_name(enum store_outcome o);

struct store_config {
	const char *conninfo;
	int batch_size;		/* items per batch (transaction) */
	int64_t batch_delay_ms; /* how long a partial batch may wait for more */
	int max_batches_in_flight;
	int64_t dedup_window_ms; /* warm the dedup set with articles first seen this recently */
	size_t dedup_max_entries;
	int64_t reconnect_min_ms, reconnect_max_ms;
};

/* Defaults: 200 items, 50 ms, 4 batches, 30 days, 1,000,000 entries, 0.25 s to 30 s. */
void store_config_default(struct store_config *c);

struct store_handler {
	/* An article's fate, once final (after its transaction committed,
	 * or at once for STORE_DUPLICATE); a is freed after the call. */
	void (*on_article)(void *ctx, const struct store_article *a, enum store_outcome o);
	/* A poll record was committed (ok) or rejected. */
	void (*on_poll)(void *ctx, const struct store_poll *p, bool ok);
	/* The store became ready (connected, schema checked, statements
	 * prepared, dedup warmed) or lost its connection. */
	void (*on_state)(void *ctx, bool ready);
	/* Each feed's stored fetch state, while connecting, before on_state
	 * reports ready (only if set); the strings live during the call. */
	void (*on_feed_state)(void *ctx, const struct store_feed_state *st);
	void *ctx;
};

struct store_stats {
	uint64_t round_trips; /* pipeline syncs sent: one per batch or setup */
	uint64_t batches;     /* item batches committed */
	uint64_t committed;   /* items committed */
	uint64_t duplicates;  /* articles answered by the dedup set */
	uint64_t rejected;    /* items the database refused */
	uint64_t resent;      /* items sent again after a broken connection */
	uint64_t connects;    /* successful connections */
};

struct store;

/* A store on loop; it starts connecting at once. cfg and h are copied. */
struct store *store_new(struct ev_loop *loop, const struct store_config *cfg,
			const struct store_handler *h);
/* Stops the watchers and frees everything, sent or not; call only from
 * outside the store's callbacks. */
void store_free(struct store *s);

/* Takes a (and hashes it if not done). Returns STORE_DUPLICATE when the dedup
 * set already knows it (a is freed at once, after on_article), else 0: queued. */
int store_submit_article(struct store *s, struct store_article *a);
/* Takes p. */
void store_submit_poll(struct store *s, struct store_poll *p);
/* Registers (upserts) a source or feed by name before articles refer to it. */
void store_sync_source(struct store *s, const char *name, const char *home);
void store_sync_feed(struct store *s, const char *name, const char *source, const char *url,
		     int interval_s, bool enabled);

/* Items accepted and not yet committed (queued plus in flight). */
size_t store_backlog(const struct store *s);
bool store_ready(const struct store *s);
void store_get_stats(const struct store *s, struct store_stats *out);
const struct dedup *store_dedup(const struct store *s);

#endif
