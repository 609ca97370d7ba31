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
#include <arpa/inet.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/fetch.h"

#include <sys/socket.h>

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
	assert_null(c.budget);
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

/* Through typed structs copied into place, as the fetcher reads them: no
 * punned sockaddr_storage, which -O3 miscompiles. */
static bool public_address(const char *text)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	if (inet_pton(AF_INET, text, &in.sin_addr) == 1) {
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof ss);
		memcpy(&ss, &in, sizeof in);
		return fetch_address_public((const struct sockaddr *)&ss);
	}
	if (inet_pton(AF_INET6, text, &in6.sin6_addr) != 1)
		fail_msg("%s: not an address", text);
	return fetch_address_public((const struct sockaddr *)&in6);
}

static void test_address_public(void **state)
{
	static const char *const public[] = {
		"1.1.1.1",	  "8.8.8.8",	      "93.184.216.34",	 "172.15.255.255",
		"172.32.0.1",	  "100.63.0.1",	      "100.128.0.1",	 "192.169.0.1",
		"169.253.1.1",	  "223.255.255.254",  "2001:4860::8888", "2a00:1450::1",
		"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	};
	static const char *const private[] = {
		"127.0.0.1",
		"127.255.0.9",
		"10.1.2.3",
		"172.16.0.1",
		"172.31.255.255",
		"192.168.1.1",
		"169.254.169.254",
		"100.64.0.1",
		"100.127.255.255",
		"0.0.0.0",
		"0.1.2.3",
		"224.0.0.1",
		"255.255.255.255",
		"240.0.0.1",
		"192.0.2.1",
		"198.18.0.1",
		"198.51.100.7",
		"203.0.113.9",
		"192.0.0.8",
		"::1",
		"::",
		"fe80::1",
		"fc00::1",
		"fd12:3456::1",
		"fec0::1",
		"ff02::1",
		"2001:db8::1",
		"::ffff:127.0.0.1",
		"::ffff:10.0.0.1",
		"::127.0.0.1",
		"64:ff9b::a00:1",
		"2002:7f00:1::1",
		"2001:0:4136:e378::1",
		"100::1",
	};
	for (size_t i = 0; i < sizeof public / sizeof *public; i++)
		if (!public_address(public[i]))
			fail_msg("%s: refused, but it is public", public[i]);
	for (size_t i = 0; i < sizeof private / sizeof *private; i++)
		if (public_address(private[i]))
			fail_msg("%s: taken for public", private[i]);
}

static void test_host_private(void **state)
{
	static const char *const yes[] = {
		"localhost", "LocalHost", "localhost.", "a.localhost", "127.0.0.1", "10.0.0.7",
		"[::1]", "::1", "[fe80::1]", "192.168.0.1",
		/* What requests reached when the guard was off (issue 12). */
		"169.254.169.254", "0.0.0.0", "10.0.0.1", "[fd00::2]", "fd00::2",
		/* 127.0.0.1 as libcurl and getaddrinfo (inet_aton) also read it:
		 * decimal, hex, octal, short forms and mixtures. */
		"2130706433", "0x7f000001", "0X7F000001", "0177.0.0.1", "0177.0000.0000.0001",
		"0x7f.0.0.1", "0x7f.1", "127.1", "127.0.1", "017700000001", "127.0.0.1.",
		"0x7f.0x0.0x0.0x1",
		/* 169.254.169.254 and 10.0.0.1 spelled as numbers. */
		"2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518", "167772161",
		"0xa.1", "0", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::]"};
	static const char *const no[] = {
		"example.org", "localhost.example.org", "notlocalhost", "8.8.8.8",
		"[2001:4860::8888]", "", "127.0.0.1.nip.io",
		/* 8.8.8.8 and 93.184.216.34 spelled as numbers: public too. */
		"134744072", "0x08080808", "0x8080808", "010.010.010.010", "8.8.2056", "8.526344",
		"1572395042",
		/* Not numbers: names that go to DNS. */
		"0x7g000001", "0x", "0x.1", "08.0.0.1", "127.0.0.1.2", "1..2", "4294967296",
		"256.0.0.1", "127.0.0.256", "1.2.65536", "0x100000000", "[8.8.8.8]"};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		if (!fetch_host_private(yes[i]))
			fail_msg("%s: not taken for private", yes[i]);
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		if (fetch_host_private(no[i]))
			fail_msg("%s: taken for private", no[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_charset),	       cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_defaults),       cmocka_unit_test(test_unusable_urls),
		cmocka_unit_test(test_address_public), cmocka_unit_test(test_host_private),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
