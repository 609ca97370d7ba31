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
};

/* Defaults: "feedd/VERSION", 64 connections, 4 per host, 15 s to connect,
 * 60 s in all, 1 byte/s for 30 s, 5 redirects, TLS verified. */
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
	bool refused;	 /* public_only refused the address; error says which */
	struct buf body; /* the decoded body (gzip/deflate/br as libcurl supports) */
};

void fetch_result_free(struct fetch_result *r);

typedef void (*fetch_done_fn)(void *ctx_of_fetcher, struct fetch_result *r); /* the callee owns r */

struct fetcher;

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
 * "*.localhost", or an IP literal (IPv6 with or without brackets) that
 * fetch_address_public refuses.  Other names are not resolved. */
bool fetch_host_private(const char *host);

/* The charset parameter of a Content-Type value, unquoted, or NULL; the
 * caller frees it. */
char *fetch_parse_charset(const char *content_type);
/* Seconds to wait according to a Retry-After value (delta-seconds, or an
 * HTTP-date taken relative to now), 0 for a date in the past, or -1 when the
 * value is neither; at most INT32_MAX. */
int64_t fetch_parse_retry_after(const char *value, int64_t now);

#endif
