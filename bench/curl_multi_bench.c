/*
 * curl_multi_bench: the baseline of bench/poll, a bare libcurl-multi client
 * that fetches a list of URLs with the same libcurl settings as feedd's
 * fetcher (daemon/net/fetch.c) and nothing else: no parsing, no database, no
 * logging.  It is driven the plain way, curl_multi_perform +
 * curl_multi_poll, and keeps at most CONNS transfers in the multi handle at
 * once (feedd starts no fetch while max_connections are in flight), each on
 * a new easy handle (as feedd does), over at most CONNS connections in all
 * and PER_HOST to one host.
 *
 *   curl_multi_bench URLS OUT CONNS PER_HOST SECONDS
 *       GET each URL of the file URLS (one per line); write
 *       "URL<TAB>ETag<TAB>Last-Modified" lines to OUT ("-" for none).
 *   curl_multi_bench -c VALIDATORS OUT CONNS PER_HOST SECONDS
 *       a conditional GET of each line of VALIDATORS (as written above):
 *       If-None-Match and If-Modified-Since, as feedd sends them.
 *   -r ROUNDS (after -c, if any) goes through the list ROUNDS times, one
 *       round after the other, over the same connections; the counts are
 *       summed over the rounds.
 *   -p RATE (after -r, if any) starts the requests at RATE a second rather
 *       than as fast as CONNS allows: each when its time comes, as a
 *       client polling on a schedule would (curl_multi_poll waits until
 *       then).
 *
 * Every loop is bounded: SECONDS of wall time in all.  Prints one line to
 * stdout: "requests N status-200 N status-304 N other N errors N
 * wall_s S cpu_us U" (cpu_us: user + system of the fetching only, from
 * getrusage), and exits 1 when any request failed or the time ran out.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

struct req {
	char *url, *etag, *last_modified;
	char *got_etag, *got_last_modified; /* from the response */
	struct curl_slist *headers;
	size_t body_len;
	long status;
	CURLcode rc;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
		(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "curl_multi_bench: out of memory\n");
		exit(2);
	}
	return p;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = must(malloc(n + 1));
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static size_t on_write(char *p, size_t size, size_t n, void *userp)
{
	struct req *r = userp;
	r->body_len += size * n;
	return size * n;
}

/* Keeps ETag and Last-Modified of the response, as feedd's fetcher does. */
static size_t on_header(char *p, size_t size, size_t n, void *userp)
{
	struct req *r = userp;
	size_t len = size * n, end = len;
	while (end > 0 && (p[end - 1] == '\r' || p[end - 1] == '\n' || p[end - 1] == ' '))
		end--;
	char **slot = NULL;
	size_t name = 0;
	if (end > 5 && strncasecmp(p, "ETag:", 5) == 0) {
		slot = &r->got_etag;
		name = 5;
	} else if (end > 14 && strncasecmp(p, "Last-Modified:", 14) == 0) {
		slot = &r->got_last_modified;
		name = 14;
	}
	if (slot) {
		while (name < end && (p[name] == ' ' || p[name] == '\t'))
			name++;
		free(*slot);
		*slot = dup_n(p + name, end - name);
	}
	return len;
}

static CURL *make_easy(struct req *r)
{
	CURL *e = must(curl_easy_init());
	if (r->etag && strcmp(r->etag, "-") != 0) {
		char line[1024];
		snprintf(line, sizeof line, "If-None-Match: %s", r->etag);
		r->headers = must(curl_slist_append(r->headers, line));
	}
	if (r->last_modified && strcmp(r->last_modified, "-") != 0) {
		char line[1024];
		snprintf(line, sizeof line, "If-Modified-Since: %s", r->last_modified);
		r->headers = must(curl_slist_append(r->headers, line));
	}
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "curl_multi_bench/1");
	if (r->headers)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	return e;
}

/* Splits "a\tb\tc" in place; missing fields are NULL. */
static void split3(char *line, char **a, char **b, char **c)
{
	*a = line;
	*b = *c = NULL;
	char *t = strchr(line, '\t');
	if (!t)
		return;
	*t = '\0';
	*b = t + 1;
	t = strchr(*b, '\t');
	if (!t)
		return;
	*t = '\0';
	*c = t + 1;
}

int main(int argc, char **argv)
{
	int conditional = argc > 1 && strcmp(argv[1], "-c") == 0;
	int a = conditional ? 2 : 1;
	long rounds = 1;
	double rate = 0;
	if (argc > a + 1 && strcmp(argv[a], "-r") == 0) {
		rounds = atol(argv[a + 1]);
		a += 2;
	}
	if (argc > a + 1 && strcmp(argv[a], "-p") == 0) {
		rate = atof(argv[a + 1]);
		a += 2;
	}
	if (argc - a != 5 || rounds < 1 || rate < 0) {
		fprintf(stderr,
			"usage: curl_multi_bench [-c] [-r ROUNDS] [-p RATE] FILE OUT CONNS "
			"PER_HOST SECONDS\n");
		return 2;
	}
	const char *in_path = argv[a], *out_path = argv[a + 1];
	long conns = atol(argv[a + 2]), per_host = atol(argv[a + 3]);
	double limit_s = atof(argv[a + 4]);
	if (conns < 1 || per_host < 1 || limit_s <= 0) {
		fprintf(stderr, "curl_multi_bench: bad CONNS, PER_HOST or SECONDS\n");
		return 2;
	}

	FILE *in = fopen(in_path, "r");
	if (!in) {
		perror(in_path);
		return 2;
	}
	size_t n = 0, cap = 1024;
	struct req *reqs = must(calloc(cap, sizeof *reqs));
	char *line = NULL;
	size_t line_cap = 0;
	ssize_t got;
	while ((got = getline(&line, &line_cap, in)) > 0) {
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = '\0';
		if (got == 0)
			continue;
		if (n == cap) {
			cap *= 2;
			reqs = must(realloc(reqs, cap * sizeof *reqs));
			memset(reqs + n, 0, (cap - n) * sizeof *reqs);
		}
		char *u, *e, *lm;
		split3(line, &u, &e, &lm);
		reqs[n].url = strdup(u);
		if (conditional) {
			reqs[n].etag = e ? strdup(e) : NULL;
			reqs[n].last_modified = lm ? strdup(lm) : NULL;
		}
		n++;
	}
	free(line);
	fclose(in);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "curl_multi_bench: curl_global_init failed\n");
		return 2;
	}
	CURLM *m = must(curl_multi_init());
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conns);
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, per_host);

	double cpu0 = cpu_us(), t0 = now_s();
	size_t done = 0, total = 0, ok200 = 0, nm304 = 0, other = 0, errors = 0;
	int timed_out = 0;
	size_t started = 0; /* over all rounds, for -p */
	for (long round = 0; round < rounds && !timed_out; round++) {
		size_t next = 0, in_flight = 0;
		done = 0;
		while (done < n) {
			while (next < n && in_flight < (size_t)conns &&
			       (rate == 0 || now_s() - t0 >= (double)started / rate)) {
				curl_multi_add_handle(m, make_easy(&reqs[next++]));
				in_flight++;
				started++;
			}
			int running = 0;
			CURLMcode mc = curl_multi_perform(m, &running);
			if (mc != CURLM_OK) {
				fprintf(stderr, "curl_multi_bench: %s\n", curl_multi_strerror(mc));
				return 2;
			}
			CURLMsg *msg;
			int left;
			while ((msg = curl_multi_info_read(m, &left))) {
				if (msg->msg != CURLMSG_DONE)
					continue;
				CURL *e = msg->easy_handle;
				char *priv = NULL;
				curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
				struct req *r = (struct req *)(void *)priv;
				r->rc = msg->data.result;
				curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
				curl_multi_remove_handle(m, e);
				curl_easy_cleanup(e);
				curl_slist_free_all(r->headers);
				r->headers = NULL;
				done++;
				in_flight--;
			}
			if (done == n)
				break;
			if (now_s() - t0 > limit_s) {
				timed_out = 1;
				break;
			}
			/* Nothing to do until a socket is ready (or 100 ms pass, or
			 * the next request's time comes). */
			int wait_ms = 100;
			if (rate > 0 && next < n) {
				double due = (double)started / rate - (now_s() - t0);
				wait_ms = due <= 0 ? 0 : due < 0.1 ? (int)(due * 1000) + 1 : 100;
			}
			if ((in_flight > 0 && running > 0) || (rate > 0 && next < n && wait_ms > 0))
				curl_multi_poll(m, NULL, 0, wait_ms, NULL);
		}
		for (size_t i = 0; i < done; i++) {
			if (reqs[i].rc != CURLE_OK)
				errors++;
			else if (reqs[i].status == 200)
				ok200++;
			else if (reqs[i].status == 304)
				nm304++;
			else
				other++;
		}
		total += done;
	}
	double wall = now_s() - t0, cpu = cpu_us() - cpu0;

	FILE *out = strcmp(out_path, "-") == 0 ? NULL : fopen(out_path, "w");
	if (strcmp(out_path, "-") != 0 && !out) {
		perror(out_path);
		return 2;
	}
	for (size_t i = 0; out && i < n; i++) {
		const struct req *r = &reqs[i];
		/* A 304 repeats (or keeps) the validators sent. */
		const char *e = r->got_etag ? r->got_etag : r->etag;
		const char *lm = r->got_last_modified ? r->got_last_modified : r->last_modified;
		fprintf(out, "%s\t%s\t%s\n", r->url, e ? e : "-", lm ? lm : "-");
	}
	if (out)
		fclose(out);
	printf("requests %zu status-200 %zu status-304 %zu other %zu errors %zu wall_s %.6f "
	       "cpu_us %.0f\n",
	       total, ok200, nm304, other, errors, wall, cpu);

	curl_multi_cleanup(m);
	curl_global_cleanup();
	for (size_t i = 0; i < n; i++) {
		free(reqs[i].url);
		free(reqs[i].etag);
		free(reqs[i].last_modified);
		free(reqs[i].got_etag);
		free(reqs[i].got_last_modified);
	}
	free(reqs);
	return timed_out || errors || done < n ? 1 : 0;
}
