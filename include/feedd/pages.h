/*
 * pages: fetching and extracting the pages of articles, for the sources with
 * `articles = fetch`.
 *
 * The database is the queue.  An article of such a source is stored from
 * its feed at once with its page due (feedd.store_article); pages claims due
 * pages in bulk (feedd.claim_visits, with a lease), fetches each through its
 * own libcurl-multi fetcher and extracts it, and records the outcome
 * (feedd.record_page): the extracted fields, or the failure with a retry
 * time, and the next revisit.  A crash loses nothing: leased pages come due
 * again when the lease ends.
 *
 * Politeness and fairness: at most per_host_connections pages of one host
 * at once and the source's page_delay between two of them; claimed pages
 * wait in one queue per source, served round-robin, so that a busy source
 * does not starve the others.  Article URLs come from feeds, which are not
 * trusted: a page is fetched only from the source's hosts (home's and
 * `hosts =`), and only from public addresses unless home itself is a private
 * one (localhost, 127.0.0.1, 10.x.x.x, ...).
 */
#ifndef FEEDD_PAGES_H
#define FEEDD_PAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "feedd/config.h"
#include "feedd/fetch.h"
#include "feedd/store.h"

struct ev_loop;
struct jitter;
struct pages;

/* Called after each of the store's answers to the pages (a claim's rows, a
 * page's fate) is handled, so that the owner can look whether its run is
 * over (pages_idle). */
typedef void (*pages_answered_fn)(void *ctx);

/* Pages on loop, writing through store, fetching with their own fetcher
 * configured as fc, drawing retry delays from jitter; cfg and jitter must
 * outlive it (see pages_set_config).  once: claim until nothing is due,
 * then be idle.  answered(ctx) may be NULL. */
struct pages *pages_new(struct ev_loop *loop, struct store *store, const struct cfg *cfg,
			const struct fetch_config *fc, struct jitter *jitter, bool once,
			pages_answered_fn answered, void *ctx);
/* Stops the watchers, cancels fetches and frees everything. */
void pages_free(struct pages *p);

/* The configuration changed (SIGHUP); the old one is freed after this. */
void pages_set_config(struct pages *p, const struct cfg *cfg);
/* Hands fc to the pages' fetcher (fetch_set_config): a reload's user agent,
 * timeouts and connection limits. */
void pages_set_fetch_config(struct pages *p, const struct fetch_config *fc);
/* Only these sources' pages (feedd once FEED...: the sources of the
 * named feeds); until the next pages_set_config. */
void pages_limit_sources(struct pages *p, const char *const *names, size_t n);
/* The store is ready: start claiming. */
void pages_start(struct pages *p);
/* A new article of a fetch source was committed: claim soon. */
void pages_article_stored(struct pages *p);
/* Shutting down: no new claims or fetches; those in flight finish. */
void pages_stop(struct pages *p);

/* Nothing in flight, queued or awaiting the store; once: nothing due. */
bool pages_idle(const struct pages *p);
size_t pages_in_flight(const struct pages *p);

#endif
