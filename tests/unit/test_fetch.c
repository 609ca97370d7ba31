/*
 * test_fetch: the parts of the fetcher that need no server: Content-Type
 * charset and Retry-After parsing, the defaults, and URLs that fetch_start
 * refuses without calling done.  The transfers themselves are tested
 * against the fixture server in tests/http/test_fetch.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/fetch.h"

static void check_charset(const char *content_type, const char *want)
{
	char *got = fetch_parse_charset(content_type);
	const char *ct = content_type ? content_type : "(null)";
	if (!want) {
		if (got)
			fail_msg("%s: charset %s, expected none", ct, got);
		return;
	}
	if (!got || strcmp(got, want) != 0)
		fail_msg("%s: charset %s, expected %s", ct, got ? got : "(none)", want);
	free(got);
}

static void test_charset(void **state)
{
	check_charset(NULL, NULL);
	check_charset("", NULL);
	check_charset("application/rss+xml", NULL);
	check_charset("application/rss+xml; charset=UTF-8", "UTF-8");
	check_charset("text/xml;charset=windows-1256", "windows-1256");
	check_charset("text/xml; Charset=\"KOI8-R\"", "KOI8-R");
	check_charset("text/xml; CHARSET = utf-8 ", "utf-8");
	check_charset("text/html; charset=utf-8; boundary=x", "utf-8");
	check_charset("text/html; format=flowed; charset=iso-8859-1", "iso-8859-1");
	check_charset("text/html; q=\"a;charset=bad\"; charset=good", "good");
	check_charset("text/html; x=\"\\\"\"; charset=\"a\\\"b\"", "a\"b");
	check_charset("text/html; charset=", NULL);
	check_charset("text/html; charset=\"\"", NULL);
	check_charset("text/html; charset", NULL);
	check_charset("text/html; mycharset=utf-8", NULL);
	check_charset("text/html; charset=\"unterminated", "unterminated");
	check_charset("text/html;;; charset=utf-8", "utf-8");
}

static void test_retry_after(void **state)
{
	const int64_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
	assert_int_equal(fetch_parse_retry_after(NULL, now), -1);
	assert_int_equal(fetch_parse_retry_after("", now), -1);
	assert_int_equal(fetch_parse_retry_after("120", now), 120);
	assert_int_equal(fetch_parse_retry_after(" 0 ", now), 0);
	assert_int_equal(fetch_parse_retry_after("99999999999999999999999", now), INT32_MAX);
	assert_int_equal(fetch_parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now), 120);
	assert_int_equal(fetch_parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), 0);
	assert_int_equal(fetch_parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now), 60);
	assert_int_equal(fetch_parse_retry_after("soon", now), -1);
	assert_int_equal(fetch_parse_retry_after("-5", now), -1);
}

static void test_defaults(void **state)
{
	struct fetch_config c;
	memset(&c, 0xff, sizeof c);
	fetch_config_default(&c);
	assert_non_null(c.user_agent);
	assert_int_equal(strncmp(c.user_agent, "feedd/", 6), 0);
	assert_int_equal(c.max_connections, 64);
	assert_int_equal(c.per_host_connections, 4);
	assert_int_equal(c.connect_timeout_ms, 15000);
	assert_int_equal(c.timeout_ms, 60000);
	assert_int_equal(c.low_speed_bytes, 1);
	assert_int_equal(c.low_speed_time_s, 30);
	assert_int_equal(c.max_redirects, 5);
	assert_true(c.verify_tls);
}

static void never_done(void *ctx, struct fetch_result *r)
{
	fail_msg("done called");
}

static void test_unusable_urls(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct fetch_config c;
	fetch_config_default(&c);
	struct fetcher *f = fetch_new(loop, &c, never_done, NULL);
	static const char *const urls[] = {
		"",
		"not a url",
		"example.org/feed",
		"ftp://127.0.0.1/feed.xml",
		"file:///etc/passwd",
		"gopher://127.0.0.1/",
		"http://",
		"http://127.0.0.1/a b",
		"http://127.0.0.1/\r\nX: y",
	};
	assert_int_equal(fetch_start(f, &(struct fetch_request){.url = NULL}), -1);
	for (size_t i = 0; i < ARRAY_LEN(urls); i++)
		if (fetch_start(f, &(struct fetch_request){.url = urls[i]}) != -1)
			fail_msg("fetch_start accepted \"%s\"", urls[i]);
	assert_int_equal(fetch_in_flight(f), 0);
	ev_run(loop, EVRUN_NOWAIT);
	fetch_free(f);
	fetch_result_free(NULL);
	fetch_free(NULL);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_charset),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_unusable_urls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
