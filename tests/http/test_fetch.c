/*
 * test_fetch: the fetcher against the fixture HTTP server (tests/lib/httpd.py,
 * started by with-httpd.sh, which exports FEEDD_TEST_HTTP): bodies, gzip,
 * validators and 304s, charsets, redirect chains, HTTP error statuses and
 * Retry-After, and the ways a transfer fails (hanging, dripping, oversized,
 * gzip bombs, resets, truncation, refused connections), many at once,
 * cancelled, and freed with transfers in flight or from a done callback.
 * Every wait has a deadline; everything goes to 127.0.0.1 only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <ev.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "feedd/fetch.h"
#include "feedd/util.h"

#define MIB ((size_t)1 << 20)

/* An upper bound on a duration only catches a timeout that did not fire
 * (a hang); it is generous and scaled by FEEDD_TEST_TIME_FACTOR (default
 * 1, 5 in a sanitizer build), never a speed check. */
static long limit_ms(long ms)
{
	const char *f = getenv("FEEDD_TEST_TIME_FACTOR");
	long factor = f && atol(f) > 0 ? atol(f) : 1;
#if defined(__SANITIZE_ADDRESS__)
	if (!f)
		factor = 5;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	if (!f)
		factor = 5;
#endif
#endif
	return ms * factor;
}
static const char *base(void)
{
	const char *b = getenv("FEEDD_TEST_HTTP");
	if (!b)
		fail_msg("FEEDD_TEST_HTTP is not set: run through tests/http/with-httpd.sh");
	if (strncmp(b, "http://127.0.0.1:", 17) != 0)
		fail_msg("FEEDD_TEST_HTTP is %s, not on 127.0.0.1", b);
	return b;
}

static char *url_of(const char *path)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s%s", base(), path);
	return buf_steal(&b);
}

struct run {
	struct ev_loop *loop;
	struct fetcher *f;
	struct fetch_result *results[64];
	size_t n_done, want;
	bool in_start;
	ev_timer deadline, tick;
	bool timed_out;
	/* what the done callback should do besides recording */
	bool free_in_done;
	int chain_left;
	const char *chain_path;
};

static void on_done(void *ctx, struct fetch_result *r)
{
	struct run *run = ctx;
	if (run->in_start)
		fail_msg("done was called from inside fetch_start");
	if (run->n_done >= ARRAY_LEN(run->results))
		fail_msg("too many results");
	run->results[run->n_done++] = r;
	if (run->free_in_done && run->f) {
		fetch_free(run->f);
		run->f = NULL;
	}
	if (run->chain_left > 0 && run->f) {
		run->chain_left--;
		char *u = url_of(run->chain_path);
		struct fetch_request req = {.url = u, .ctx = (void *)(intptr_t)run->chain_left};
		assert_int_equal(fetch_start(run->f, &req), 0);
		free(u);
	}
	if (run->n_done >= run->want)
		ev_break(run->loop, EVBREAK_ALL);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *run = w->data;
	run->timed_out = true;
	ev_break(loop, EVBREAK_ALL);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void test_config(struct fetch_config *c)
{
	fetch_config_default(c);
	c->user_agent = "feedd-test/1";
	c->connect_timeout_ms = 5000;
	c->timeout_ms = 20000;
}

static void run_init(struct run *run, const struct fetch_config *cfg)
{
	memset(run, 0, sizeof *run);
	struct fetch_config def;
	if (!cfg) {
		test_config(&def);
		cfg = &def;
	}
	run->loop = ev_loop_new(EVFLAG_AUTO);
	run->f = fetch_new(run->loop, cfg, on_done, run);
	ev_init(&run->deadline, on_deadline);
	run->deadline.data = run;
	ev_init(&run->tick, on_tick);
}

static void start(struct run *run, const char *path, struct fetch_request req)
{
	char *u = url_of(path);
	req.url = u;
	run->in_start = true;
	int rc = fetch_start(run->f, &req);
	run->in_start = false;
	free(u);
	assert_int_equal(rc, 0);
}

/* Runs the loop until n results in all arrived, failing after limit_s. */
static void wait_for(struct run *run, size_t n, double limit_s)
{
	run->want = n;
	if (run->n_done < n) {
		ev_timer_set(&run->deadline, limit_s, 0.);
		ev_timer_start(run->loop, &run->deadline);
		ev_run(run->loop, 0);
		ev_timer_stop(run->loop, &run->deadline);
	}
	if (run->timed_out || run->n_done < n)
		fail_msg("timed out after %g s with %zu of %zu results", limit_s, run->n_done, n);
}

/* Runs the loop for s seconds. */
static void run_for(struct run *run, double s)
{
	ev_timer_set(&run->tick, s, 0.);
	ev_timer_start(run->loop, &run->tick);
	ev_run(run->loop, 0);
	ev_timer_stop(run->loop, &run->tick);
}

static void run_free(struct run *run)
{
	fetch_free(run->f);
	for (size_t i = 0; i < run->n_done; i++)
		fetch_result_free(run->results[i]);
	ev_timer_stop(run->loop, &run->deadline);
	ev_loop_destroy(run->loop);
}

/* One GET on a fresh fetcher; the result stays owned by run. */
static struct fetch_result *get(struct run *run, const char *path, struct fetch_request req)
{
	size_t n = run->n_done;
	start(run, path, req);
	wait_for(run, n + 1, 30);
	return run->results[n];
}

static void read_fixture(const char *name, struct buf *out)
{
	char path[512];
	bool truncated;
	snprintf(path, sizeof path, "%s/feeds/%s", FEEDD_FIXTURES, name);
	buf_init(out);
	if (read_file_capped(path, 16 * MIB, out, &truncated) != 0)
		fail_msg("cannot read %s", path);
}

static void assert_contains(const char *s, const char *what)
{
	if (!s || !strstr(s, what))
		fail_msg("\"%s\" does not contain \"%s\"", s ? s : "(null)", what);
}

static void test_ok(void **state)
{
	struct run run;
	run_init(&run, NULL);
	int marker;
	struct fetch_result *r =
		get(&run, "/feeds/rss20-namespaces.xml", (struct fetch_request){.ctx = &marker});
	struct buf want;
	read_fixture("rss20-namespaces.xml", &want);
	assert_null(r->error);
	assert_ptr_equal(r->ctx, &marker);
	assert_int_equal(r->http_status, 200);
	assert_int_equal(r->body.len, want.len);
	assert_memory_equal(r->body.data, want.data, want.len);
	/* The server names the gzip body in its ETag: it was gzip on the
	 * wire, and arrived decoded. */
	assert_contains(r->etag, "-gzip\"");
	assert_non_null(r->last_modified);
	assert_contains(r->last_modified, " GMT");
	assert_string_equal(r->content_type, "application/rss+xml");
	assert_null(r->charset);
	char *u = url_of("/feeds/rss20-namespaces.xml");
	assert_string_equal(r->effective_url, u);
	free(u);
	assert_null(r->permanent_url);
	assert_int_equal(r->redirects, 0);
	assert_int_equal(r->retry_after_s, -1);
	assert_true(r->duration_ms >= 0 && r->duration_ms < limit_ms(30000));
	assert_int_equal(fetch_in_flight(run.f), 0);
	buf_free(&want);
	run_free(&run);
}

static void test_conditional(void **state)
{
	struct run run;
	run_init(&run, NULL);
	const char *path = "/feeds/atom10.xml";
	struct fetch_result *first = get(&run, path, (struct fetch_request){0});
	assert_int_equal(first->http_status, 200);
	assert_non_null(first->etag);
	assert_non_null(first->last_modified);

	struct fetch_result *r = get(&run, path, (struct fetch_request){.etag = first->etag});
	assert_null(r->error);
	assert_int_equal(r->http_status, 304);
	assert_int_equal(r->body.len, 0);
	assert_string_equal(r->etag, first->etag);
	assert_string_equal(r->last_modified, first->last_modified);

	r = get(&run, path, (struct fetch_request){.last_modified = first->last_modified});
	assert_null(r->error);
	assert_int_equal(r->http_status, 304);

	r = get(&run, path,
		(struct fetch_request){.etag = "\"something-else\"",
				       .last_modified = first->last_modified});
	assert_null(r->error);
	assert_int_equal(r->http_status, 200);
	assert_int_equal(r->body.len, first->body.len);

	/* A 304 that repeats no validator carries the request's. */
	r = get(&run, "/status/304",
		(struct fetch_request){.etag = "\"abc\"", .last_modified = first->last_modified});
	assert_null(r->error);
	assert_int_equal(r->http_status, 304);
	assert_string_equal(r->etag, "\"abc\"");
	assert_string_equal(r->last_modified, first->last_modified);
	r = get(&run, "/status/304", (struct fetch_request){0});
	assert_null(r->etag);
	assert_null(r->last_modified);

	/* A validator that would end the header line is not sent. */
	r = get(&run, path, (struct fetch_request){.etag = "\"x\"\r\nX-Evil: 1"});
	assert_int_equal(r->http_status, 200);
	run_free(&run);
}

static void test_charset(void **state)
{
	struct run run;
	run_init(&run, NULL);
	struct fetch_result *r = get(&run, "/feeds/windows-1256.xml", (struct fetch_request){0});
	assert_int_equal(r->http_status, 200);
	assert_string_equal(r->content_type, "application/rss+xml; charset=windows-1256");
	assert_string_equal(r->charset, "windows-1256");
	r = get(&run, "/feeds/koi8r-charset-hint.xml", (struct fetch_request){0});
	assert_string_equal(r->charset, "KOI8-R");
	r = get(&run, "/bot-challenge", (struct fetch_request){0});
	assert_int_equal(r->http_status, 200);
	assert_string_equal(r->charset, "utf-8");
	assert_contains(r->content_type, "text/html");
	assert_contains(r->body.data, "Checking your browser");
	run_free(&run);
}

static void test_redirects(void **state)
{
	struct run run;
	run_init(&run, NULL);
	char *target = url_of("/feeds/atom10.xml");

	struct fetch_result *r =
		get(&run, "/redirect/301/3?to=/feeds/atom10.xml", (struct fetch_request){0});
	assert_null(r->error);
	assert_int_equal(r->http_status, 200);
	assert_int_equal(r->redirects, 3);
	assert_string_equal(r->effective_url, target);
	assert_string_equal(r->permanent_url, target);
	assert_non_null(r->etag); /* the final response's */

	r = get(&run, "/redirect/308/2?to=/feeds/atom10.xml", (struct fetch_request){0});
	assert_int_equal(r->redirects, 2);
	assert_string_equal(r->permanent_url, target);

	r = get(&run, "/redirect/302/1?to=/feeds/atom10.xml", (struct fetch_request){0});
	assert_null(r->error);
	assert_int_equal(r->http_status, 200);
	assert_int_equal(r->redirects, 1);
	assert_string_equal(r->effective_url, target);
	assert_null(r->permanent_url);

	/* 301, 301, then a 302: not permanent as a whole. */
	r = get(&run, "/redirect/301/2?to=/redirect/302/1%3Fto%3D/feeds/atom10.xml",
		(struct fetch_request){0});
	assert_null(r->error);
	assert_int_equal(r->redirects, 3);
	assert_string_equal(r->effective_url, target);
	assert_null(r->permanent_url);

	r = get(&run, "/redirect-loop", (struct fetch_request){0});
	assert_contains(r->error, "too many redirects (5)");
	assert_int_equal(r->http_status, 302);
	assert_null(r->permanent_url);

	/* Only http and https, also after a redirect. */
	r = get(&run, "/redirect/302/1?to=file:///etc/passwd", (struct fetch_request){0});
	assert_non_null(r->error);
	assert_true(r->body.len == 0 || !strstr(r->body.data, "root:"));

	free(target);
	run_free(&run);
}

static void test_statuses(void **state)
{
	struct run run;
	run_init(&run, NULL);
	static const int codes[] = {404, 410, 500, 503};
	for (size_t i = 0; i < ARRAY_LEN(codes); i++) {
		char path[64];
		snprintf(path, sizeof path, "/status/%d", codes[i]);
		struct fetch_result *r = get(&run, path, (struct fetch_request){0});
		assert_null(r->error);
		assert_int_equal(r->http_status, codes[i]);
		assert_int_equal(r->retry_after_s, -1);
	}
	struct fetch_result *r = get(&run, "/status/503?retry_after=30", (struct fetch_request){0});
	assert_null(r->error);
	assert_int_equal(r->http_status, 503);
	assert_int_equal(r->retry_after_s, 30);

	r = get(&run, "/429?retry_after=120", (struct fetch_request){0});
	assert_null(r->error);
	assert_int_equal(r->http_status, 429);
	assert_int_equal(r->retry_after_s, 120);

	/* An HTTP-date five minutes ahead. */
	char date[64], path[160];
	time_t when = time(NULL) + 300;
	struct tm tm;
	gmtime_r(&when, &tm);
	strftime(date, sizeof date, "%a,%%20%d%%20%b%%20%Y%%20%H:%M:%S%%20GMT", &tm);
	snprintf(path, sizeof path, "/429?retry_after=%s", date);
	r = get(&run, path, (struct fetch_request){0});
	assert_int_equal(r->http_status, 429);
	assert_true(r->retry_after_s >= 290 && r->retry_after_s <= 300);
	run_free(&run);
}

static void test_hang(void **state)
{
	struct fetch_config cfg;
	test_config(&cfg);
	cfg.timeout_ms = 1500;
	struct run run;
	run_init(&run, &cfg);
	struct fetch_result *r = get(&run, "/hang", (struct fetch_request){0});
	assert_string_equal(r->error, "timed out after 1.5 s");
	assert_int_equal(r->http_status, 0);
	assert_true(r->duration_ms >= 1400 && r->duration_ms < limit_ms(30000));
	run_free(&run);
}

static void test_drip(void **state)
{
	struct fetch_config cfg;
	test_config(&cfg);
	cfg.low_speed_bytes = 100;
	cfg.low_speed_time_s = 2;
	struct run run;
	run_init(&run, &cfg);
	struct fetch_result *r = get(&run, "/drip?bytes=60", (struct fetch_request){0});
	assert_string_equal(r->error, "too slow: less than 100 bytes/s for 2 s");
	assert_int_equal(r->http_status, 200);
	assert_true(r->duration_ms >= 1500 && r->duration_ms < limit_ms(30000));
	run_free(&run);
}

static void test_caps(void **state)
{
	struct run run;
	run_init(&run, NULL);
	struct fetch_request capped = {.max_bytes = MIB, .max_bytes_name = "max_feed_size"};

	struct fetch_result *r = get(&run, "/big?mb=4", capped);
	assert_string_equal(r->error, "body larger than 1048576 bytes (max_feed_size)");
	assert_int_equal(r->http_status, 200);
	assert_int_equal(r->body.len, MIB);

	r = get(&run, "/big?mb=0", capped); /* endless */
	assert_string_equal(r->error, "body larger than 1048576 bytes (max_feed_size)");
	assert_int_equal(r->body.len, MIB);

	r = get(&run, "/big?mb=1", (struct fetch_request){.max_bytes = 2 * MIB});
	assert_null(r->error);
	assert_true(r->body.len >= MIB && r->body.len <= 2 * MIB);
	assert_contains(r->body.data + r->body.len - 20, "</rss>");

	/* The cap counts decoded bytes: 64 MiB from about 64 KiB of gzip. */
	r = get(&run, "/gzip-bomb?mb=64", (struct fetch_request){.max_bytes = MIB});
	assert_string_equal(r->error, "body larger than 1048576 bytes");
	assert_int_equal(r->body.len, MIB);

	r = get(&run, "/gzip-bomb?mb=2", (struct fetch_request){.max_bytes = 4 * MIB});
	assert_null(r->error);
	assert_true(r->body.len > 2 * MIB && r->body.len < 3 * MIB);
	run_free(&run);
}

static void test_broken(void **state)
{
	struct run run;
	run_init(&run, NULL);
	struct fetch_result *r = get(&run, "/reset", (struct fetch_request){0});
	assert_non_null(r->error);
	assert_null(strchr(r->error, '\n'));
	assert_int_equal(r->http_status, 200);
	print_message("reset: %s\n", r->error);

	r = get(&run, "/truncated", (struct fetch_request){0});
	assert_non_null(r->error);
	assert_int_equal(r->http_status, 200);
	print_message("truncated: %s\n", r->error);

	/* A port nobody listens on: bound, then closed. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/feeds/x.xml", ntohs(sa.sin_port));
	size_t n = run.n_done;
	assert_int_equal(fetch_start(run.f, &(struct fetch_request){.url = url}), 0);
	wait_for(&run, n + 1, 30);
	r = run.results[n];
	print_message("refused: %s\n", r->error);
	assert_contains(r->error, "connection refused");
	assert_int_equal(r->http_status, 0);
	run_free(&run);
}

static void test_concurrent(void **state)
{
	struct run run;
	run_init(&run, NULL);
	enum { N = 50 };
	for (intptr_t i = 0; i < N; i++) {
		char path[64];
		snprintf(path, sizeof path, "/feeds/atom10.xml?n=%d", (int)i);
		start(&run, path, (struct fetch_request){.ctx = (void *)i});
	}
	assert_int_equal(fetch_in_flight(run.f), N);
	wait_for(&run, N, 60);
	assert_int_equal(fetch_in_flight(run.f), 0);
	bool seen[N] = {false};
	for (size_t i = 0; i < N; i++) {
		struct fetch_result *r = run.results[i];
		assert_null(r->error);
		assert_int_equal(r->http_status, 200);
		assert_true(r->body.len > 0);
		intptr_t k = (intptr_t)r->ctx;
		assert_true(k >= 0 && k < N && !seen[k]);
		seen[k] = true;
	}
	struct fetch_result *r = get(&run, "/count", (struct fetch_request){0});
	json_object *counts = json_tokener_parse(r->body.data), *c;
	assert_non_null(counts);
	assert_true(json_object_object_get_ex(counts, "/feeds/atom10.xml", &c));
	assert_true(json_object_get_int(c) >= N);
	json_object_put(counts);
	run_free(&run);
}

/* public_only refuses loopback however the URL spells it: libcurl reads
 * "2130706433", "0x7f000001", "0177.0.0.1" and "127.1" as 127.0.0.1, and
 * 0.0.0.0 reaches the local host on Linux.  The server must see none of
 * them. */
static void test_public_only(void **state)
{
	struct run run;
	run_init(&run, NULL);
	const char *port = strrchr(base(), ':') + 1;
	static const char *const hosts[] = {
		"127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1",
		"127.1",     "0.0.0.0",	   "[::1]",	 "localhost",
	};
	for (size_t i = 0; i < ARRAY_LEN(hosts); i++) {
		char url[128];
		snprintf(url, sizeof url, "http://%s:%s/guard-probe", hosts[i], port);
		size_t n = run.n_done;
		assert_int_equal(
			fetch_start(run.f,
				    &(struct fetch_request){.url = url, .public_only = true}),
			0);
		wait_for(&run, n + 1, 30);
		struct fetch_result *r = run.results[n];
		if (!r->refused || !r->error || strncmp(r->error, "refused: the address ", 21) != 0)
			fail_msg("%s: not refused (HTTP %d, %s)", url, r->http_status,
				 r->error ? r->error : "no error");
		assert_int_equal(r->http_status, 0);
	}
	struct fetch_result *r = get(&run, "/count", (struct fetch_request){0});
	assert_null(strstr(r->body.data, "/guard-probe"));
	run_free(&run);
}

/* hosts holds every hop: a redirect to another host is refused before
 * anything is sent to it ("localhost" is this same server under a name
 * that is not in the list, so the request log tells). */
static void test_redirect_hosts(void **state)
{
	struct run run;
	run_init(&run, NULL);
	static const char *const hosts[] = {"example.org", "127.0.0.1"};
	struct fetch_request req = {.hosts = hosts, .n_hosts = ARRAY_LEN(hosts)};
	char path[256];
	const char *port = strrchr(base(), ':') + 1;

	/* Redirects that stay on the listed hosts are followed. */
	struct fetch_result *r = get(&run, "/redirect/302/2?to=/feeds/atom10.xml", req);
	assert_null(r->error);
	assert_int_equal(r->http_status, 200);
	assert_int_equal(r->redirects, 2);

	snprintf(path, sizeof path, "/redirect/302/1?to=http://localhost:%s/feeds/foreign-1.xml",
		 port);
	r = get(&run, path, req);
	assert_true(r->refused);
	assert_string_equal(r->error,
			    "refused: the redirect to localhost is not one of the allowed hosts");
	assert_int_equal(r->body.len, 0);

	/* The second hop of a chain, through a 301. */
	snprintf(path, sizeof path,
		 "/redirect/301/1?to=/redirect/307/1%%3Fto%%3Dhttp://LocalHost:%s/feeds/"
		 "foreign-2.xml",
		 port);
	r = get(&run, path, req);
	assert_true(r->refused);
	assert_contains(r->error, "redirect to localhost ");
	assert_null(r->permanent_url);

	/* The first URL is held to the list too. */
	char url[128];
	snprintf(url, sizeof url, "http://localhost:%s/feeds/foreign-3.xml", port);
	size_t n = run.n_done;
	assert_int_equal(fetch_start(run.f,
				     &(struct fetch_request){.url = url,
							     .hosts = hosts,
							     .n_hosts = ARRAY_LEN(hosts)}),
			 0);
	wait_for(&run, n + 1, 30);
	assert_true(run.results[n]->refused);
	assert_string_equal(run.results[n]->error,
			    "refused: the host localhost is not one of the allowed hosts");

	r = get(&run, "/count", (struct fetch_request){0});
	assert_null(strstr(r->body.data, "foreign-"));
	run_free(&run);
}

/* A budget smaller than the bodies together: every fetch completes in full,
 * and what the bodies hold (buffers whole, and results until they are
 * freed) never exceeds it.  Results are freed as they are checked, never
 * held waiting for another fetch (fetch_budget_new's contract). */
static void test_budget(void **state)
{
	struct fetch_config cfg;
	test_config(&cfg);
	struct fetch_budget *budget = fetch_budget_new(5 * MIB, "max_body_memory");
	cfg.budget = budget;
	/* A paused transfer's time counts against its timeout (a known
	 * limit of the budget): generous, for a loaded machine. */
	cfg.timeout_ms = 240000;
	struct run run;
	run_init(&run, &cfg);
	fetch_budget_free(budget); /* the fetcher and the results keep it */
	enum { N = 8 };
	for (int i = 0; i < N; i++)
		start(&run, "/big?mb=2", (struct fetch_request){.max_bytes = 3 * MIB});
	size_t checked = 0;
	while (checked < N) {
		wait_for(&run, checked + 1, 240);
		assert_true(fetch_budget_held(budget) <= 5 * MIB);
		for (; checked < run.n_done; checked++) {
			struct fetch_result *r = run.results[checked];
			if (r->error)
				fail_msg("fetch %zu: %s", checked, r->error);
			assert_int_equal(r->http_status, 200);
			assert_true(r->body.len >= 2 * MIB);
			assert_contains(r->body.data + r->body.len - 20, "</rss>");
			fetch_result_free(r);
			run.results[checked] = NULL;
		}
	}
	print_message("budget 5 MiB: peak %zu bytes\n", fetch_budget_peak(budget));
	assert_true(fetch_budget_peak(budget) <= 5 * MIB);
	/* More than one body at a time: the budget did not serialise them. */
	assert_true(fetch_budget_peak(budget) > 3 * MIB);
	assert_int_equal(fetch_budget_held(budget), 0);

	/* A body larger than the budget is cut at it, which is named. */
	struct fetch_result *r = get(&run, "/big?mb=8", (struct fetch_request){0});
	assert_string_equal(r->error, "body larger than 5242879 bytes (max_body_memory)");
	assert_true(fetch_budget_held(budget) <= 5 * MIB);
	run_free(&run);
}

/* Done callbacks may start the next request. */
static void test_chain(void **state)
{
	struct run run;
	run_init(&run, NULL);
	run.chain_left = 4;
	run.chain_path = "/status/404";
	start(&run, "/status/404", (struct fetch_request){0});
	wait_for(&run, 5, 30);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(run.results[i]->http_status, 404);
	run_free(&run);
}

static void test_cancel(void **state)
{
	struct run run;
	run_init(&run, NULL);
	/* More than the 4 connections per host: some wait inside libcurl. */
	for (int i = 0; i < 10; i++)
		start(&run, "/hang", (struct fetch_request){0});
	run_for(&run, 0.3);
	assert_int_equal(run.n_done, 0);
	assert_int_equal(fetch_in_flight(run.f), 10);
	fetch_cancel_all(run.f);
	assert_int_equal(run.n_done, 10);
	assert_int_equal(fetch_in_flight(run.f), 0);
	for (size_t i = 0; i < 10; i++)
		assert_string_equal(run.results[i]->error, "cancelled");
	/* The fetcher still works afterwards. */
	struct fetch_result *r = get(&run, "/status/410", (struct fetch_request){0});
	assert_int_equal(r->http_status, 410);
	run_free(&run);
}

static void test_free_in_flight(void **state)
{
	struct run run;
	run_init(&run, NULL);
	for (int i = 0; i < 4; i++) {
		start(&run, "/hang", (struct fetch_request){0});
		start(&run, "/drip?bytes=30", (struct fetch_request){0});
		start(&run, "/big?mb=0", (struct fetch_request){0});
	}
	run_for(&run, 0.5);
	fetch_free(run.f);
	run.f = NULL;
	assert_int_equal(run.n_done, 0);
	run_for(&run, 0.1); /* nothing of the fetcher may fire now */
	run_free(&run);
}

static void test_free_in_done(void **state)
{
	struct run run;
	run_init(&run, NULL);
	run.free_in_done = true;
	start(&run, "/hang", (struct fetch_request){0});
	start(&run, "/status/404", (struct fetch_request){0});
	start(&run, "/hang", (struct fetch_request){0});
	wait_for(&run, 1, 30);
	assert_null(run.f);
	run_for(&run, 0.2);
	assert_int_equal(run.n_done, 1);
	assert_int_equal(run.results[0]->http_status, 404);
	run_free(&run);

	/* The same while fetch_cancel_all calls back. */
	run_init(&run, NULL);
	run.free_in_done = true;
	for (int i = 0; i < 6; i++)
		start(&run, "/hang", (struct fetch_request){0});
	run_for(&run, 0.2);
	fetch_cancel_all(run.f);
	assert_null(run.f);
	assert_int_equal(run.n_done, 1);
	assert_string_equal(run.results[0]->error, "cancelled");
	run_for(&run, 0.2);
	run_free(&run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_conditional),
		cmocka_unit_test(test_charset),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_hang),
		cmocka_unit_test(test_drip),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_public_only),
		cmocka_unit_test(test_redirect_hosts),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_free_in_flight),
		cmocka_unit_test(test_free_in_done),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
