/*
 * fetch: libcurl's multi interface on the libev loop (see fetch.h).
 *
 * The glue has the shape of curl's docs/examples/evhiperfifo.c.  libcurl
 * says through the socket callback which sockets to watch for what (one
 * ev_io each, kept with the socket by curl_multi_assign) and through the
 * timer callback when it wants to be called back (one ev_timer); those
 * watchers call curl_multi_socket_action and then collect the transfers that
 * finished.  libcurl's callbacks only record: none calls back into libcurl,
 * and a timeout of 0 becomes a timer due at once rather than a recursive
 * call.
 *
 * A transfer belongs to the fetcher from fetch_start until its result is
 * handed to the done callback.  Its easy handle is removed and freed from
 * the loop, after libcurl returned, never from one of its own callbacks.
 * Done callbacks may start requests, cancel them or free the fetcher: a
 * fetcher freed from inside one is torn down at once, and its memory goes
 * when the outermost of our functions that called back returns.
 *
 * What the response headers say is read in fetch_headers.c, and the address
 * guard behind public_only and hosts lives in fetch_guard.c (fetch_int.h
 * says what the three files share).
 */
#include "fetch_int.h"

#include "feedd/charset.h"
#include "feedd/list.h"
#include "feedd/log.h"
#include "feedd/util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <ev.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* One ev_io per socket libcurl wants watched. */
struct sock {
	ev_io io;
	struct list_link link; /* in the fetcher's socks */
};

struct fetcher {
	struct ev_loop *loop;
	struct fetch_config cfg;
	char *user_agent;
	fetch_done_fn done;
	void *ctx;
	CURLM *multi;
	ev_timer timer;
	struct list socks;
	struct list transfers; /* in flight, oldest first */
	size_t n;
	uint64_t next_seq;
	int depth;		     /* done callbacks running */
	bool dead;		     /* torn down by fetch_free from inside a done callback */
	struct fetch_budget *budget; /* or NULL */
	struct fetcher *budget_next; /* the budget's other fetchers */
	size_t n_paused;
	ev_timer resume; /* due at once when the budget gained room */
};

/* Bytes for bodies, shared by fetchers and the results they handed out.
 * held never exceeds limit.  References: its creator's, each fetcher's and
 * each result that still holds part of it. */
struct fetch_budget {
	size_t limit, held, peak;
	char *name;
	int refs;
	struct fetcher *fetchers;
};

void fetch_config_default(struct fetch_config *c)
{
	c->user_agent = "feedd/" FEEDD_VERSION;
	c->max_connections = 64;
	c->per_host_connections = 4;
	c->connect_timeout_ms = 15000;
	c->timeout_ms = 60000;
	c->low_speed_bytes = 1;
	c->low_speed_time_s = 30;
	c->max_redirects = 5;
	c->verify_tls = true;
	c->budget = NULL;
}

/* ---- the body budget ------------------------------------------------------ */

struct fetch_budget *fetch_budget_new(size_t bytes, const char *name)
{
	struct fetch_budget *b = xcalloc(1, sizeof *b);
	b->limit = bytes < 4096 ? 4096 : bytes;
	b->name = name ? xstrdup(name) : NULL;
	b->refs = 1;
	return b;
}

static void budget_unref(struct fetch_budget *b)
{
	if (b && --b->refs == 0) {
		free(b->name);
		free(b);
	}
}

void fetch_budget_free(struct fetch_budget *b)
{
	budget_unref(b);
}

size_t fetch_budget_held(const struct fetch_budget *b)
{
	return b->held;
}

size_t fetch_budget_peak(const struct fetch_budget *b)
{
	return b->peak;
}

/* Gives n bytes back and wakes every fetcher with a paused transfer (from
 * the loop, by a timer due at once: this may run inside a done callback). */
static void budget_release(struct fetch_budget *b, size_t n)
{
	if (!n)
		return;
	b->held -= n;
	for (struct fetcher *f = b->fetchers; f; f = f->budget_next)
		if (f->n_paused && !ev_is_active(&f->resume))
			ev_timer_start(f->loop, &f->resume);
}

struct need {
	size_t need, held;
};

static int by_need(const void *a, const void *b)
{
	const struct need *x = a, *y = b;
	return x->need < y->need ? -1 : x->need > y->need;
}

/* Whether t may hold want bytes instead of t->reserved.  Never beyond the
 * limit; and only if afterwards every running transfer can still reach its
 * cap in some order, each finishing and giving back what it holds (the
 * banker's algorithm with one resource: smallest remaining need first).
 * Results handed out count as given back: their owners free them whatever
 * the fetches do.  So no set of paused transfers can wait on each other. */
static bool budget_allows(struct fetch_budget *b, const struct transfer *t, size_t want)
{
	size_t delta = want - t->reserved;
	if (delta > b->limit - b->held)
		return false;
	size_t n = 0, running = 0;
	for (struct fetcher *f = b->fetchers; f; f = f->budget_next)
		n += f->n;
	struct need *v = xcalloc(n ? n : 1, sizeof *v);
	n = 0;
	for (struct fetcher *f = b->fetchers; f; f = f->budget_next) {
		LIST_FOREACH (u, &f->transfers, struct transfer, link) {
			size_t held = u == t ? want : u->reserved;
			v[n].held = held;
			v[n].need = u->reserve_cap - held;
			running += held;
			n++;
		}
	}
	qsort(v, n, sizeof *v, by_need);
	size_t free_now = b->limit - running;
	bool safe = true;
	for (size_t i = 0; i < n && safe; i++) {
		safe = v[i].need <= free_now;
		free_now += v[i].held;
	}
	free(v);
	return safe;
}

/* Makes room in t's body for len more bytes, within the budget: 0, or -1
 * when the budget has no room now (the caller pauses t).  Grows by
 * doubling where it can, by what is needed where it cannot; the buffer is
 * sized to exactly what is reserved. */
static int budget_reserve(struct fetcher *f, struct transfer *t, size_t len)
{
	struct fetch_budget *b = f->budget;
	struct buf *body = &t->r->body;
	size_t need = body->len + len + 1; /* and the NUL */
	if (need <= t->reserved)
		return 0;
	size_t want = t->reserved * 2 > 65536 ? t->reserved * 2 : 65536;
	if (want > t->reserve_cap)
		want = t->reserve_cap;
	if (want < need || !budget_allows(b, t, want))
		want = need;
	if (want > t->reserve_cap || !budget_allows(b, t, want))
		return -1;
	b->held += want - t->reserved;
	if (b->held > b->peak)
		b->peak = b->held;
	t->reserved = want;
	body->data = xrealloc(body->data, want);
	body->cap = want;
	return 0;
}

void fetch_result_free(struct fetch_result *r)
{
	if (!r)
		return;
	if (r->budget) {
		budget_release(r->budget, r->budget_bytes);
		budget_unref(r->budget);
	}
	free(r->error);
	free(r->etag);
	free(r->last_modified);
	free(r->content_type);
	free(r->charset);
	free(r->effective_url);
	free(r->permanent_url);
	buf_free(&r->body);
	free(r);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libcurl returns NULL from its constructors only when out of memory. */
static void *need(void *p)
{
	if (!p)
		xmalloc(SIZE_MAX); /* let the allocator say so */
	return p;
}

/* ---- the body ------------------------------------------------------------ */

/* Receives decoded bytes; a short count makes libcurl abort the transfer
 * (CURLE_WRITE_ERROR), which is how the cap is enforced. */
static size_t on_write(char *p, size_t size, size_t n, void *userp)
{
	struct transfer *t = userp;
	struct buf *body = &t->r->body;
	size_t len = size * n;
	if (t->budget_of) {
		size_t take = t->max_bytes && len > t->max_bytes - body->len
			? t->max_bytes - body->len
			: len;
		if (budget_reserve(t->budget_of, t, take) != 0) {
			if (!t->paused) {
				t->paused = true;
				t->budget_of->n_paused++;
			}
			return CURL_WRITEFUNC_PAUSE;
		}
	}
	if (t->max_bytes && len > t->max_bytes - body->len) {
		buf_append(body, p, t->max_bytes - body->len);
		t->over_cap = true;
		return 0;
	}
	buf_append(body, p, len);
	return len;
}

/* ---- the result --------------------------------------------------------- */

/* libcurl's name for the error, then its detail when that adds something;
 * one line. */
static char *curl_message(CURLcode rc, const char *detail, const char *prefix)
{
	const char *what = curl_easy_strerror(rc);
	size_t dlen = strlen(detail);
	while (dlen > 0 && isspace((unsigned char)detail[dlen - 1]))
		dlen--;
	struct buf b;
	buf_init(&b);
	if (prefix)
		buf_printf(&b, "%s%.*s", prefix, (int)dlen, dlen ? detail : what);
	else if (dlen == 0 || strncmp(detail, what, dlen) == 0)
		buf_puts(&b, what);
	else
		buf_printf(&b, "%s: %.*s", what, (int)dlen, detail);
	for (char *c = b.data; *c; c++)
		if (*c == '\r' || *c == '\n')
			*c = ' ';
	return buf_steal(&b);
}

static bool tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return true;
	default:
		return false;
	}
}

/* Why the transfer did not complete, or NULL when it did. */
static char *describe(const struct fetcher *f, const struct transfer *t, CURLcode rc,
		      int64_t elapsed_ms)
{
	const struct fetch_config *c = &f->cfg;
	struct buf b;
	buf_init(&b);
	if (rc != CURLE_OK && t->refused_addr[0]) {
		buf_printf(&b, "refused: the address %s is not public", t->refused_addr);
		return buf_steal(&b);
	}
	if (rc != CURLE_OK && t->refused_host) {
		buf_printf(&b, "refused: %s %s is not one of the allowed hosts",
			   t->refused_redirect ? "the redirect to" : "the host", t->refused_host);
		return buf_steal(&b);
	}
	switch (rc) {
	case CURLE_OK:
		return NULL;
	case CURLE_WRITE_ERROR:
		if (!t->over_cap)
			break;
		buf_printf(&b, "body larger than %zu bytes", t->max_bytes);
		if (t->max_bytes_name)
			buf_printf(&b, " (%s)", t->max_bytes_name);
		return buf_steal(&b);
	case CURLE_OPERATION_TIMEDOUT:
		/* One code for three limits.  Our clock started before
		 * libcurl's, so the total timeout is told by the time; low
		 * speed by libcurl's wording, which has not changed since
		 * 7.x; what is left timed out connecting. */
		if (c->timeout_ms > 0 && elapsed_ms >= c->timeout_ms)
			buf_printf(&b, "timed out after %g s", (double)c->timeout_ms / 1000.0);
		else if (strstr(t->errbuf, "too slow"))
			buf_printf(&b, "too slow: less than %ld bytes/s for %ld s",
				   c->low_speed_bytes, c->low_speed_time_s);
		else
			buf_printf(&b, "connect timed out after %g s",
				   (double)c->connect_timeout_ms / 1000.0);
		return buf_steal(&b);
	case CURLE_TOO_MANY_REDIRECTS:
		buf_printf(&b, "too many redirects (%d)", c->max_redirects);
		return buf_steal(&b);
	case CURLE_COULDNT_CONNECT: {
		/* libcurl's words hide the reason ("Couldn't connect to
		 * server", twice); the errno tells it: "connection refused",
		 * "no route to host". */
		long os_errno = 0;
		curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno);
		if (os_errno == 0)
			break;
		char what[128];
		snprintf(what, sizeof what, "%s", strerror((int)os_errno));
		if (what[0])
			what[0] = (char)tolower((unsigned char)what[0]);
		buf_puts(&b, what);
		return buf_steal(&b);
	}
	default:
		break;
	}
	buf_free(&b);
	return curl_message(rc, t->errbuf, tls_error(rc) ? "TLS: " : NULL);
}

static void link_transfer(struct fetcher *f, struct transfer *t)
{
	list_push_back(&f->transfers, &t->link);
	f->n++;
}

static void unlink_transfer(struct fetcher *f, struct transfer *t)
{
	list_remove(&f->transfers, &t->link);
	f->n--;
}

/* Only for a handle libcurl no longer holds (removed, or never added). */
static void transfer_free(struct transfer *t)
{
	if (t->budget_of)
		budget_release(t->budget_of->budget, t->reserved);
	if (t->easy)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	fetch_result_free(t->r);
	free(t->req_etag);
	free(t->req_last_modified);
	free(t->retry_after);
	free(t->max_bytes_name);
	free(t->refused_host);
	for (size_t i = 0; i < t->n_hosts; i++)
		free(t->hosts[i]);
	free(t->hosts);
	free(t);
}

/* The result r of t takes the body's part of the budget, shrunk to what
 * the body is. */
static void result_takes_budget(struct fetcher *f, struct transfer *t, struct fetch_result *r)
{
	size_t keep = r->body.data ? r->body.len + 1 : 0;
	if (keep < t->reserved) {
		if (keep) {
			r->body.data = xrealloc(r->body.data, keep);
			r->body.cap = keep;
		}
		budget_release(f->budget, t->reserved - keep);
		t->reserved = keep;
	}
	if (t->reserved) {
		r->budget = f->budget;
		r->budget->refs++;
		r->budget_bytes = t->reserved;
		t->reserved = 0;
	}
}

/* Hands t's result to the done callback and frees t. */
static void complete(struct fetcher *f, struct transfer *t, CURLcode rc, bool cancelled)
{
	struct fetch_result *r = t->r;
	long code = 0, redirects = 0;
	char *url = NULL;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_COUNT, &redirects);
	curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
	r->http_status = (int)code;
	r->redirects = (int)redirects;
	r->effective_url = url ? xstrdup(url) : NULL;
	r->duration_ms = now_ms() - t->started_ms;
	r->error = cancelled ? xstrdup("cancelled") : describe(f, t, rc, r->duration_ms);
	if (r->error && !fetch_printable_ascii(r->error, strlen(r->error))) {
		/* libcurl's words can quote the server's: stored as text. */
		struct buf clean;
		buf_init(&clean);
		charset_utf8_clean(r->error, strlen(r->error), &clean);
		free(r->error);
		r->error = buf_steal(&clean);
	}
	r->refused = !cancelled && rc != CURLE_OK && (t->refused_addr[0] || t->refused_host);
	if (!r->error && t->public_only) {
		/* A connection reused from another request was never shown
		 * to fetch_on_open_socket. */
		char *ip = NULL;
		bool public;
		curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &ip);
		if (ip && fetch_classify_ip(ip, &public) && !public) {
			struct buf b;
			buf_init(&b);
			buf_printf(&b, "refused: the address %s is not public", ip);
			r->error = buf_steal(&b);
			r->refused = true;
			buf_free(&r->body);
			buf_init(&r->body);
		}
	}
	if (!r->error && url && redirects > 0 && t->hops == redirects && t->all_permanent &&
	    fetch_printable_ascii(url, strlen(url)))
		r->permanent_url = xstrdup(url);
	if (r->http_status == 304 && !r->error) {
		if (!r->etag && t->req_etag)
			r->etag = xstrdup(t->req_etag);
		if (!r->last_modified && t->req_last_modified)
			r->last_modified = xstrdup(t->req_last_modified);
	}
	r->charset = fetch_parse_charset(r->content_type);
	r->retry_after_s = fetch_parse_retry_after(t->retry_after, (int64_t)time(NULL));

	if (t->paused) {
		t->paused = false;
		f->n_paused--;
	}
	if (t->budget_of)
		result_takes_budget(f, t, r);
	t->r = NULL;
	unlink_transfer(f, t);
	curl_multi_remove_handle(f->multi, t->easy);
	transfer_free(t);

	LOG_DEBUG("fetch: GET %s: HTTP %d, %zu bytes, %d redirects, %lld ms%s%s",
		  r->effective_url ? r->effective_url : "?", r->http_status, r->body.len,
		  r->redirects, (long long)r->duration_ms, r->error ? ": " : "",
		  r->error ? r->error : "");
	f->depth++;
	f->done(f->ctx, r);
	f->depth--;
}

/* ---- libcurl on libev ----------------------------------------------------- */

static void sock_free(struct fetcher *f, struct sock *s)
{
	ev_io_stop(f->loop, &s->io);
	list_remove(&f->socks, &s->link);
	free(s);
}

/* After libcurl acted: report what finished, and release a fetcher freed
 * by a done callback once no callback of ours is running. */
static void check_multi_info(struct fetcher *f)
{
	CURLMsg *msg;
	int left;
	while (!f->dead && (msg = curl_multi_info_read(f->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		char *priv = NULL;
		CURLcode rc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		complete(f, (struct transfer *)(void *)priv, rc, false);
	}
	if (f->dead && f->depth == 0)
		free(f);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fetcher *f = w->data;
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		(revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;
	/* w may be freed inside: libcurl removes sockets it closes. */
	CURLMcode mc = curl_multi_socket_action(f->multi, w->fd, action, &running);
	if (mc != CURLM_OK)
		LOG_WARN("fetch: curl_multi_socket_action: %s", curl_multi_strerror(mc));
	check_multi_info(f);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fetcher *f = w->data;
	int running;
	CURLMcode mc = curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	if (mc != CURLM_OK)
		LOG_WARN("fetch: curl_multi_socket_action: %s", curl_multi_strerror(mc));
	check_multi_info(f);
}

/* The budget gained room: every paused transfer tries again, oldest first
 * (libcurl hands the held bytes to on_write, which may pause it again). */
static void on_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fetcher *f = w->data;
	LIST_FOREACH (t, &f->transfers, struct transfer, link) {
		if (!f->n_paused)
			break;
		if (!t->paused)
			continue;
		t->paused = false;
		f->n_paused--;
		curl_easy_pause(t->easy, CURLPAUSE_CONT);
	}
	check_multi_info(f);
}

/* CURLMOPT_SOCKETFUNCTION: what to watch on fd, kept as its socketp. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct fetcher *f = userp;
	struct sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_free(f, s);
		return 0;
	}
	int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (!s) {
		s = xcalloc(1, sizeof *s);
		ev_init(&s->io, on_io);
		s->io.data = f;
		list_push_front(&f->socks, &s->link);
		curl_multi_assign(f->multi, fd, s);
	}
	if (ev_is_active(&s->io) && s->io.fd == fd &&
	    (s->io.events & (EV_READ | EV_WRITE)) == events)
		return 0;
	ev_io_stop(f->loop, &s->io);
	if (events) {
		ev_io_set(&s->io, fd, events);
		ev_io_start(f->loop, &s->io);
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 means "as soon as
 * possible", which the loop does next rather than a call from in here. */
static int on_multi_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct fetcher *f = userp;
	ev_timer_stop(f->loop, &f->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&f->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(f->loop, &f->timer);
	}
	return 0;
}

/* ---- the fetcher ------------------------------------------------------------ */

struct fetcher *fetch_new(struct ev_loop *loop, const struct fetch_config *cfg, fetch_done_fn done,
			  void *ctx)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		xmalloc(SIZE_MAX); /* it fails only when out of memory */
	struct fetcher *f = xcalloc(1, sizeof *f);
	f->loop = loop;
	f->cfg = *cfg;
	f->user_agent = cfg->user_agent ? xstrdup(cfg->user_agent) : NULL;
	f->cfg.user_agent = f->user_agent;
	f->done = done;
	f->ctx = ctx;
	ev_timer_init(&f->timer, on_timer, 0., 0.);
	f->timer.data = f;
	ev_timer_init(&f->resume, on_resume, 0., 0.);
	f->resume.data = f;
	f->budget = cfg->budget;
	f->cfg.budget = NULL; /* reached through f->budget only */
	if (f->budget) {
		f->budget->refs++;
		f->budget_next = f->budget->fetchers;
		f->budget->fetchers = f;
	}
	f->multi = need(curl_multi_init());
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_multi_timer);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	if (cfg->max_connections > 0) {
		curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, cfg->max_connections);
		/* The idle connections kept for reuse. */
		curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, cfg->max_connections);
	}
	if (cfg->per_host_connections > 0)
		curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
				  cfg->per_host_connections);
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	LOG_DEBUG("fetch: libcurl %s, %s%s%s", v->version,
		  v->ssl_version ? v->ssl_version : "no TLS",
		  v->features & CURL_VERSION_HTTP2 ? ", HTTP/2" : "",
		  v->features & CURL_VERSION_BROTLI ? ", brotli" : "");
	return f;
}

/* Everything but the struct itself, which a running callback may still
 * look at. */
static void teardown(struct fetcher *f)
{
	struct transfer *t;
	while ((t = LIST_FIRST(&f->transfers, struct transfer, link))) {
		unlink_transfer(f, t);
		curl_multi_remove_handle(f->multi, t->easy);
		transfer_free(t);
	}
	curl_multi_cleanup(f->multi);
	f->multi = NULL;
	while (!list_empty(&f->socks))
		sock_free(f, LIST_FIRST(&f->socks, struct sock, link));
	ev_timer_stop(f->loop, &f->timer);
	ev_timer_stop(f->loop, &f->resume);
	if (f->budget) {
		struct fetcher **p = &f->budget->fetchers;
		while (*p != f)
			p = &(*p)->budget_next;
		*p = f->budget_next;
		budget_unref(f->budget);
		f->budget = NULL;
	}
	free(f->user_agent);
	f->user_agent = NULL;
	f->dead = true;
	curl_global_cleanup();
}

void fetch_free(struct fetcher *f)
{
	if (!f || f->dead)
		return;
	teardown(f);
	if (f->depth == 0)
		free(f);
}

size_t fetch_in_flight(const struct fetcher *f)
{
	return f->n;
}

void fetch_cancel_all(struct fetcher *f)
{
	if (f->dead)
		return;
	/* Only what is in flight now: done callbacks may start more. */
	uint64_t limit = f->next_seq;
	struct transfer *t;
	while (!f->dead && (t = LIST_FIRST(&f->transfers, struct transfer, link)) && t->seq < limit)
		complete(f, t, CURLE_OK, true);
	if (f->dead && f->depth == 0)
		free(f);
}

/* An http or https URL with something where the host goes, and no space
 * or control character: what fetch_start turns away at once.  libcurl's own
 * parser judges the rest when the transfer starts (a malformed URL ends in
 * a CURLE_URL_MALFORMAT result like any other failure).  A CURLU parse
 * here cost about 7,000 instructions a poll, 5% of a whole 304 poll. */
static bool url_usable(const char *url)
{
	if (!url)
		return false;
	size_t scheme = strncasecmp(url, "http://", 7) == 0 ? 7
		: strncasecmp(url, "https://", 8) == 0	    ? 8
							    : 0;
	if (!scheme || !url[scheme] || strchr("/?#", url[scheme]))
		return false;
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* A validator from a server goes back to it in a header line: nothing that
 * could end the line. */
static bool usable_validator(const char *v)
{
	return v && v[0] && !strpbrk(v, "\r\n");
}

static void add_header(struct transfer *t, const char *name, const char *value)
{
	/* By hand, not buf_printf: two of these go with every conditional GET. */
	size_t n = strlen(name), v = strlen(value);
	char *line = xmalloc(n + 2 + v + 1);
	memcpy(line, name, n);
	memcpy(line + n, ": ", 2);
	memcpy(line + n + 2, value, v + 1);
	t->headers = need(curl_slist_append(t->headers, line));
	free(line);
}

static long clamp_long(int64_t v)
{
	return v < 0 ? 0 : v > LONG_MAX ? LONG_MAX : (long)v;
}

static int setup(const struct fetcher *f, struct transfer *t, const char *url)
{
	const struct fetch_config *c = &f->cfg;
	CURL *e = t->easy;
	CURLcode rc = CURLE_OK;
	/* The first failure sticks. */
#define SET(opt, val) (rc = rc != CURLE_OK ? rc : curl_easy_setopt(e, opt, val))
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PRIVATE, t);
	SET(CURLOPT_ERRORBUFFER, t->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, t);
	SET(CURLOPT_HEADERFUNCTION, fetch_on_header);
	SET(CURLOPT_HEADERDATA, t);
	/* "" offers every encoding this libcurl decodes. */
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	if (t->hosts) {
#if CURL_AT_LEAST_VERSION(7, 80, 0)
		SET(CURLOPT_PREREQFUNCTION, fetch_on_prereq);
		SET(CURLOPT_PREREQDATA, t);
		SET(CURLOPT_FOLLOWLOCATION, 1L);
#else
		/* No hook to check a redirect's host: follow none. */
		SET(CURLOPT_FOLLOWLOCATION, 0L);
#endif
	} else {
		SET(CURLOPT_FOLLOWLOCATION, 1L);
	}
	SET(CURLOPT_MAXREDIRS, (long)(c->max_redirects > 0 ? c->max_redirects : 0));
#if CURL_AT_LEAST_VERSION(7, 85, 0)
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	bool verify = c->verify_tls && !t->insecure;
	SET(CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	SET(CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, clamp_long(c->connect_timeout_ms));
	SET(CURLOPT_TIMEOUT_MS, clamp_long(c->timeout_ms));
	SET(CURLOPT_LOW_SPEED_LIMIT, clamp_long(c->low_speed_bytes));
	SET(CURLOPT_LOW_SPEED_TIME, clamp_long(c->low_speed_time_s));
	/* A proxy's CONNECT response is not the server's. */
	SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	if (t->public_only) {
		SET(CURLOPT_OPENSOCKETFUNCTION, fetch_on_open_socket);
		SET(CURLOPT_OPENSOCKETDATA, t);
	}
	if (c->user_agent)
		SET(CURLOPT_USERAGENT, c->user_agent);
	if (t->headers)
		SET(CURLOPT_HTTPHEADER, t->headers);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

int fetch_start(struct fetcher *f, const struct fetch_request *req)
{
	if (f->dead || !url_usable(req->url))
		return -1;
	struct transfer *t = xcalloc(1, sizeof *t);
	t->easy = need(curl_easy_init());
	t->r = xcalloc(1, sizeof *t->r);
	buf_init(&t->r->body);
	t->r->ctx = req->ctx;
	t->r->retry_after_s = -1;
	t->max_bytes = req->max_bytes;
	t->max_bytes_name = req->max_bytes_name ? xstrdup(req->max_bytes_name) : NULL;
	if (f->budget) {
		/* No body may outgrow the budget, whatever its own cap. */
		size_t limit = f->budget->limit;
		t->budget_of = f;
		t->reserve_cap = t->max_bytes && t->max_bytes < limit ? t->max_bytes + 1 : limit;
		if (!t->max_bytes || t->max_bytes > limit - 1) {
			t->max_bytes = limit - 1;
			free(t->max_bytes_name);
			t->max_bytes_name = f->budget->name ? xstrdup(f->budget->name) : NULL;
		}
	}
	t->all_permanent = true;
	t->public_only = req->public_only;
	t->insecure = req->insecure;
	if (req->hosts) {
		t->hosts = xcalloc(req->n_hosts ? req->n_hosts : 1, sizeof *t->hosts);
		for (size_t i = 0; i < req->n_hosts; i++)
			t->hosts[i] = xstrdup(req->hosts[i]);
		t->n_hosts = req->n_hosts;
	}
	if (usable_validator(req->etag)) {
		t->req_etag = xstrdup(req->etag);
		add_header(t, "If-None-Match", req->etag);
	}
	if (usable_validator(req->last_modified)) {
		t->req_last_modified = xstrdup(req->last_modified);
		add_header(t, "If-Modified-Since", req->last_modified);
	}
	/* Before libcurl's clock starts: see describe(). */
	t->started_ms = now_ms();
	if (setup(f, t, req->url) != 0) {
		LOG_WARN("fetch: GET %s: cannot set up the transfer", req->url);
		transfer_free(t);
		return -1;
	}
	CURLMcode mc = curl_multi_add_handle(f->multi, t->easy);
	if (mc != CURLM_OK) {
		LOG_WARN("fetch: GET %s: %s", req->url, curl_multi_strerror(mc));
		transfer_free(t);
		return -1;
	}
	t->seq = f->next_seq++;
	link_transfer(f, t);
	return 0;
}

/* Takes a new configuration (a reload): the connection limits at once for
 * the multi handle, the rest (user agent, timeouts, ...) for every request
 * started from now on; requests in flight keep what they started with. */
void fetch_set_config(struct fetcher *f, const struct fetch_config *cfg)
{
	char *ua = cfg->user_agent ? xstrdup(cfg->user_agent) : NULL;
	free(f->user_agent);
	f->cfg = *cfg;
	f->user_agent = ua;
	f->cfg.user_agent = ua;
	long max = cfg->max_connections > 0 ? cfg->max_connections : 0;
	curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max);
	curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, max);
	curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  cfg->per_host_connections > 0 ? cfg->per_host_connections : 0L);
}
