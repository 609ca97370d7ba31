/*
 * hostgate: politeness towards the hosts feedd reads, one gate for the feed
 * polls and one for the article pages.
 *
 * A gate knows, per host name, how many requests are in flight and when the
 * last one started.  A request may start while fewer than the gate's limit
 * are in flight and, when its caller asks for a delay between requests (a
 * source's page_delay), once that delay has passed since the last start
 * (hostgate_open).  A caller whose request may not start can put it in the
 * host's line (hostgate_wait): first come, first served, and each request
 * that ends (hostgate_leave) wakes the first in line if the host is below
 * its limit again.  The woken one has left the line and tries again; one
 * that cannot go yet for a reason of its own (the daemon's backpressure)
 * does not hold up the others for long: the next end of a request wakes
 * the next.
 *
 * The line is for the limit only; a delay is answered with the time at
 * which it ends (hostgate_open's ready_at), for callers that keep their own
 * timer.  The feed polls wait in line (waiting inside libcurl would run
 * their connect timeout); the pages keep their claimed pages in per-source
 * queues served in turn, and only ask the gate whether a host is open.
 *
 * No I/O and no loop: times are passed in, so that a test can drive it.
 */
#ifndef FEEDD_HOSTGATE_H
#define FEEDD_HOSTGATE_H

#include "feedd/list.h"

#include <stdbool.h>
#include <stddef.h>

struct hostgate;
struct hostgate_host;

/* One request's place at a gate, embedded in the caller's object: waiting
 * in a host's line, holding one of its connections, or neither. */
struct hostgate_ticket {
	struct hostgate_host *host; /* NULL: neither waiting nor holding */
	struct list_link link;	    /* in the host's line */
	void *owner;		    /* handed to wake */
	bool waiting;
};

/* wake(ctx, owner): owner's ticket was first in line and a connection to
 * its host came free; the ticket has left the line (neither waiting nor
 * holding).  Called from hostgate_leave. */
typedef void (*hostgate_wake_fn)(void *ctx, void *owner);

/* A gate allowing limit requests in flight per host (at least 1). wake
 * may be NULL for a caller that never waits. */
struct hostgate *hostgate_new(int limit, hostgate_wake_fn wake, void *ctx);
/* Frees the hosts; tickets still pointing at them are the caller's to drop. */
void hostgate_free(struct hostgate *g);
/* A new limit (a reload): requests in flight stay; the lines move as
 * requests end, or at once with hostgate_wake_open. */
void hostgate_set_limit(struct hostgate *g, int limit);
/* Wakes, host by host, the first waiters of every line while the host has
 * room under the limit (after a raised limit, which alone wakes nobody):
 * each leaves its line before its wake call, as in hostgate_leave.  Returns
 * how many were woken. */
size_t hostgate_wake_open(struct hostgate *g);

void hostgate_ticket_init(struct hostgate_ticket *t, void *owner);
bool hostgate_waiting(const struct hostgate_ticket *t);

/* The host called name (lower-case, as url_host gives it), created at its
 * first use and kept as long as the gate. */
struct hostgate_host *hostgate_host(struct hostgate *g, const char *name);
/* Whether a request to h may start at time now (seconds): fewer than the
 * limit in flight and, with delay_s > 0, delay_s or more since h's last
 * start.  When only the delay holds it back, *ready_at (if not NULL) is
 * when it ends; else 0. */
bool hostgate_open(const struct hostgate *g, const struct hostgate_host *h, double delay_s,
		   double now, double *ready_at);
/* t holds a connection to h from now on (started at now), open or not. */
void hostgate_take(struct hostgate *g, struct hostgate_ticket *t, struct hostgate_host *h,
		   double now);
/* t waits at the end of h's line until woken. */
void hostgate_wait(struct hostgate *g, struct hostgate_ticket *t, struct hostgate_host *h);
/* t leaves: its place in line, or its connection (which wakes the first in
 * line if h is below the limit again); nothing if it has neither. */
void hostgate_leave(struct hostgate *g, struct hostgate_ticket *t);
/* Empties every line without waking anyone (shutdown: no new requests). */
void hostgate_drop_waiting(struct hostgate *g);

/* Requests in flight to h, and how many wait in its line. */
int hostgate_in_flight(const struct hostgate_host *h);
size_t hostgate_n_waiting(const struct hostgate_host *h);

#endif
