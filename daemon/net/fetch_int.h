/*
 * fetch_int: what the files of the fetcher share; nothing outside them
 * includes it.  The fetcher (see fetch.h) is one module in three files:
 *
 *   fetch.c          libcurl's multi interface on the libev loop: transfers
 *                    set up, started, completed and cancelled, the body
 *                    budget, what a failed transfer's error says
 *   fetch_headers.c  what a response's headers say: the validators,
 *                    Content-Type and its charset, Retry-After, and which
 *                    responses were redirects
 *   fetch_guard.c    the address guard of public_only and hosts: which
 *                    addresses and host names are public, the connections
 *                    and the requests (redirects too) that are refused
 *
 * Functions shared among these files carry the fetch_ prefix, as the public
 * ones do, and are declared here; everything else is static to its file.
 * Only these files include curl.h.
 */
#ifndef FEEDD_FETCH_INT_H
#define FEEDD_FETCH_INT_H

#include "feedd/fetch.h"
#include "feedd/list.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fetcher;

/* One request, from fetch_start until its result goes to the done
 * callback. */
struct transfer {
	CURL *easy;
	struct curl_slist *headers;
	struct fetch_result *r; /* being filled in */
	char *req_etag, *req_last_modified;
	char *retry_after; /* as sent in the last final response */
	size_t max_bytes;
	char *max_bytes_name;
	bool over_cap;
	/* Headers: each response's status line starts a new set. */
	bool interim;	    /* reading a 1xx response's headers: ignore them */
	int status;	    /* of the response being read; 0 before the first */
	int hops;	    /* responses followed as redirects */
	bool all_permanent; /* ... and every one of them was a 301 or 308 */
	uint64_t seq;	    /* order of fetch_start */
	int64_t started_ms;
	char errbuf[CURL_ERROR_SIZE];
	bool public_only, insecure;
	char refused_addr[INET6_ADDRSTRLEN]; /* the first address fetch_on_open_socket refused */
	char **hosts;			     /* the hosts every request must go to, or NULL: any */
	size_t n_hosts;
	/* Under a budget: the bytes of it this body holds (its buffer's whole
	 * capacity), the most it may ever hold, and whether libcurl holds it
	 * paused until the budget has room. */
	size_t reserved, reserve_cap;
	bool paused;
	struct fetcher *budget_of; /* the fetcher, when it has a budget */
	char *refused_host;	   /* the host fetch_on_prereq refused ... */
	bool refused_redirect;	   /* ... as a redirect's */
	struct list_link link;	   /* in the fetcher's transfers */
};

/* ---- fetch_headers.c ------------------------------------------------------ */

/* CURLOPT_HEADERFUNCTION, its data the transfer: keeps what the final
 * response's headers say in t->r and t->retry_after. */
size_t fetch_on_header(char *p, size_t size, size_t n, void *userp);
/* Whether v[0..len) is printable ASCII, as text kept from a response must
 * be. */
bool fetch_printable_ascii(const char *v, size_t len);

/* ---- fetch_guard.c -------------------------------------------------------- */

/* Whether text is an IP literal, and if so *public says whether
 * fetch_address_public would let it through. */
bool fetch_classify_ip(const char *text, bool *public);
/* CURLOPT_OPENSOCKETFUNCTION for a public_only transfer, its data the
 * transfer: refuses a non-public address. */
curl_socket_t fetch_on_open_socket(void *userp, curlsocktype purpose, struct curl_sockaddr *a);
/* CURLOPT_PREREQFUNCTION for a transfer with hosts, its data the transfer:
 * refuses a request to any other host. */
int fetch_on_prereq(void *userp, char *primary_ip, char *local_ip, int primary_port,
		    int local_port);

#endif
