/*
 * fetch: HTTP GETs on the daemon's libev loop, through libcurl's multi
 * interface.
 *
 * A fetcher runs any number of requests at once over shared connections
 * (keep-alive, HTTP/2 where the server offers it over TLS), within the
 * configured total and per-host connection limits: requests beyond them wait
 * inside libcurl.  Each request ends in exactly one call of the done
 * callback, made from the loop, with a result that says what was received
 * and, when the transfer did not complete, why in one line.  An HTTP error
 * status is not a failure of the fetch: the caller reads http_status.
 *
 * Only http and https are fetched, also after redirects.  Bodies arrive
 * decoded (gzip, deflate, br as libcurl supports) and are capped in decoded
 * bytes, so a small compressed body cannot inflate past the cap.  A 304
 * carries the request's validators when the response repeats neither, so
 * the caller may store a result's etag and last_modified as they are.
 * permanent_url is only set for a complete response (error NULL).  A done
 * callback may start requests, cancel them, or free the fetcher.
 */
#ifndef FEEDD_FETCH_H
#define FEEDD_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feedd/util.h"

struct ev_loop;

/* Zero (or negative) timeouts and limits mean libcurl's default: none. */
struct fetch_config {
	const char *user_agent;
	long max_connections;	   /* total (CURLMOPT_MAX_TOTAL_CONNECTIONS) */
	long per_host_connections; /* CURLMOPT_MAX_HOST_CONNECTIONS */
	int64_t connect_timeout_ms, timeout_ms;
	long low_speed_bytes;  /* abort if slower than this ... */
	long low_speed_time_s; /* ... for this long (default 1 byte/s for 30 s) */
	int max_redirects;     /* 5 */
	bool verify_tls;       /* true */
	/* Bytes of response bodies held in memory, shared with other fetchers
	 * and with the results not yet freed; NULL: no budget (the default).
	 * The fetcher keeps a reference. */
	struct fetch_budget *budget;
};

/* Defaults: "feedd/VERSION", 64 connections, 4 per host, 15 s to connect,
 * 60 s in all, 1 byte/s for 30 s, 5 redirects, TLS verified, no budget. */
void fetch_config_default(struct fetch_config *c);

struct fetch_request {
	const char *url;
	const char *etag, *last_modified; /* validators for a conditional GET, or NULL */
	size_t max_bytes; /* body cap (decoded bytes); beyond it the transfer is aborted and reported truncated */
	void *ctx; /* handed back in the result */
	/* The setting behind max_bytes, named in the error ("max_feed_size"),
	 * or NULL.  max_bytes 0 means no cap. */
	const char *max_bytes_name;
	/* Connect only to public addresses: a name that resolves to a
	 * loopback, private, link-local or otherwise non-global address is
	 * refused at connect time (every connection, redirects included),
	 * and a reused connection is checked after the transfer. */
	bool public_only;
	/* Skip the TLS certificate and name checks for this request (a feed's
	 * verify_tls = false); the fetcher's verify_tls still rules the rest. */
	bool insecure;
	/* When not NULL: the hosts (as url_host spells them: lower case, no
	 * port, IPv6 in brackets) that every request of this fetch may go to,
	 * the first and each redirect.  A request to another host is refused
	 * after its connection is made and before anything is sent (refused
	 * set, error "refused: the redirect to HOST is not one of the allowed
	 * hosts").  The fetcher copies them. */
	const char *const *hosts;
	size_t n_hosts;
};

struct fetch_result {
	void *ctx;
	int http_status; /* 0 when no HTTP response was received */
	char *error; /* NULL when a response was received completely; else a one-line reason naming what failed, e.g. "timed out after 60 s", "body larger than 67108864 bytes (max_feed_size)", "connection refused", "TLS: ...", "too many redirects (5)" */
	char *etag, *last_modified; /* from the final response, or NULL */
	char *content_type;	    /* as sent, or NULL */
	char *charset;		    /* the charset parameter of Content-Type, or NULL */
	char *effective_url;	    /* after redirects */
	char *permanent_url; /* set when the request was redirected and every redirect on the way was permanent (301/308): the new address to record for the feed */
	int64_t retry_after_s; /* from Retry-After (delta-seconds or HTTP-date), -1 when absent */
	int64_t duration_ms;
	int redirects;
	bool refused;	 /* public_only refused the address, or hosts the host; error says which */
	struct buf body; /* the decoded body (gzip/deflate/br as libcurl supports) */
	/* The fetcher's: the part of its budget the body holds, given back by
	 * fetch_result_free.  Do not take the body out of a result. */
	struct fetch_budget *budget;
	size_t budget_bytes;
};

void fetch_result_free(struct fetch_result *r);

typedef void (*fetch_done_fn)(void *ctx_of_fetcher, struct fetch_result *r); /* the callee owns r */

struct fetcher;

/* A budget for the bytes of response bodies held in memory at once, by
 * every fetcher given it and the results they handed out, until those are
 * freed; for it the budget counts a body's whole buffer.  A transfer whose
 * body needs more than the budget has room for now is paused (libcurl stops
 * reading it) until bodies are freed, and goes on from where it stopped;
 * nothing fails for lack of room.  Room is only granted where every
 * transfer still running can then finish in some order (the banker's
 * algorithm), so paused transfers never wait on each other; a single body
 * is capped at the budget (name, e.g. "max_body_memory", is then named in
 * the error).  The time a transfer spends paused counts against its
 * timeout.  Results must be freed without waiting for other fetches under
 * the same budget (the daemon frees a poll's once the store has it), or
 * those may wait for ever.  bytes is at least 4096. */
struct fetch_budget *fetch_budget_new(size_t bytes, const char *name);
/* Drops the creator's reference: the budget goes when no fetcher or result
 * uses it any more. */
void fetch_budget_free(struct fetch_budget *b);
/* Bytes held now, and the most ever held: never above the budget. */
size_t fetch_budget_held(const struct fetch_budget *b);
size_t fetch_budget_peak(const struct fetch_budget *b);

/* A fetcher on loop; done is called once per request, from the loop (never from inside fetch_start). */
struct fetcher *fetch_new(struct ev_loop *loop, const struct fetch_config *cfg, fetch_done_fn done,
			  void *ctx);
/* Takes cfg's values for requests started from now on, and its connection
 * limits at once (a reload); cfg's strings are copied. */
void fetch_set_config(struct fetcher *f, const struct fetch_config *cfg);
/* Starts a GET; 0, or -1 (the URL is unusable: done is NOT called). */
int fetch_start(struct fetcher *f, const struct fetch_request *req);
size_t fetch_in_flight(const struct fetcher *f);
/* Aborts everything in flight; done is called for each with error "cancelled". */
void fetch_cancel_all(struct fetcher *f);
void fetch_free(struct fetcher *f); /* cancels silently (done not called) */

struct sockaddr;
/* Whether an address is one a public_only request may connect to: not
 * loopback, private (RFC 1918, fc00::/7), link-local, carrier-grade NAT,
 * unspecified, multicast, reserved or documentation ranges, nor an IPv4
 * address hidden in IPv6 (mapped, compatible, NAT64, 6to4) that is. */
bool fetch_address_public(const struct sockaddr *sa);
/* Whether a URL host names a non-public place by itself: "localhost",
 * "*.localhost", or an IP literal (IPv6 with or without brackets; IPv4 in
 * every spelling libcurl and getaddrinfo accept: "2130706433", "0x7f000001",
 * "0177.0.0.1", "127.1") that fetch_address_public refuses.  Other names are
 * not resolved. */
bool fetch_host_private(const char *host);

/* The charset parameter of a Content-Type value, unquoted, or NULL; the
 * caller frees it. */
char *fetch_parse_charset(const char *content_type);
/* Seconds to wait according to a Retry-After value (delta-seconds, or an
 * HTTP-date taken relative to now), 0 for a date in the past, or -1 when the
 * value is neither; at most INT32_MAX. */
int64_t fetch_parse_retry_after(const char *value, int64_t now);

#endif
