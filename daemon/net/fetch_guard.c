/*
 * fetch_guard: the address guard behind a request's public_only and hosts
 * (see fetch.h and fetch_int.h).
 *
 * public_only is checked where libcurl opens each socket, after name
 * resolution and for redirects too (fetch_on_open_socket): an address that
 * is loopback, private, link-local or otherwise not global is refused, and
 * the first one refused is kept for the error.  hosts is checked before each
 * request is sent, the first and every redirect (fetch_on_prereq).  The
 * classification itself does no I/O, so the unit tests ask it about
 * addresses and host names directly: IPv4 in every spelling libcurl and
 * getaddrinfo accept, IPv6, and IPv4 hidden in IPv6.  Addresses are copied
 * into the typed struct of their family before they are read, never read
 * through a cast pointer, which breaks strict aliasing (and -O3 exploits it).
 */
#include "fetch_int.h"

#include "feedd/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* a is in host order. */
static bool v4_public(uint32_t a)
{
	unsigned b0 = a >> 24, b1 = (a >> 16) & 0xff, b2 = (a >> 8) & 0xff;
	if (b0 == 0 || b0 == 10 || b0 == 127 || b0 >= 224) /* this network, private, loopback,
							      multicast, reserved */
		return false;
	if ((b0 == 100 && (b1 & 0xc0) == 64) ||		      /* 100.64/10, carrier-grade NAT */
	    (b0 == 169 && b1 == 254) ||			      /* link-local */
	    (b0 == 172 && (b1 & 0xf0) == 16) ||		      /* private */
	    (b0 == 192 && b1 == 168) ||			      /* private */
	    (b0 == 192 && b1 == 0 && (b2 == 0 || b2 == 2)) || /* IETF, TEST-NET-1 */
	    (b0 == 198 && (b1 & 0xfe) == 18) ||		      /* benchmarking */
	    (b0 == 198 && b1 == 51 && b2 == 100) ||	      /* TEST-NET-2 */
	    (b0 == 203 && b1 == 0 && b2 == 113))	      /* TEST-NET-3 */
		return false;
	return true;
}

static uint32_t v4_at(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool v6_public(const uint8_t b[16])
{
	static const uint8_t zero[16];
	if (memcmp(b, zero, 15) == 0 && b[15] <= 1) /* :: and ::1 */
		return false;
	/* IPv4 inside IPv6: mapped (::ffff:0:0/96), compatible (::/96),
	 * NAT64 (64:ff9b::/96) and 6to4 (2002::/16) answer for the IPv4
	 * address they carry. */
	if (memcmp(b, zero, 10) == 0 && ((b[10] == 0xff && b[11] == 0xff) || (b[10] | b[11]) == 0))
		return v4_public(v4_at(b + 12));
	if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
	    memcmp(b + 4, zero, 8) == 0)
		return v4_public(v4_at(b + 12));
	if (b[0] == 0x20 && b[1] == 0x02)
		return v4_public(v4_at(b + 2));
	if ((b[0] & 0xfe) == 0xfc ||		       /* fc00::/7, unique local */
	    (b[0] == 0xfe && (b[1] & 0x80) == 0x80) || /* fe80::/10, fec0::/10 */
	    b[0] == 0xff ||			       /* multicast */
	    (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) || /* documentation */
	    (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) ||	      /* Teredo */
	    (b[0] == 0x01 && memcmp(b + 1, zero, 7) == 0)) /* 100::/64, discard */
		return false;
	return true;
}

/* The address in sa, read through memcpy into the typed struct of its
 * family: sa may point into any buffer (libcurl's struct curl_sockaddr, a
 * sockaddr_storage), and reading it through a cast pointer breaks strict
 * aliasing, which -O3 exploits. */
bool fetch_address_public(const struct sockaddr *sa)
{
	sa_family_t family;
	memcpy(&family, (const char *)sa + offsetof(struct sockaddr, sa_family), sizeof family);
	if (family == AF_INET) {
		struct sockaddr_in in;
		memcpy(&in, sa, sizeof in);
		return v4_public(ntohl(in.sin_addr.s_addr));
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 in6;
		memcpy(&in6, sa, sizeof in6);
		return v6_public(in6.sin6_addr.s6_addr);
	}
	return false; /* AF_UNIX and the like */
}

/* One part of an IPv4 number as inet_aton reads it: decimal, octal after a
 * leading 0, hex after 0x; false when text[0..n) is none of them or its
 * value exceeds max. */
static bool v4_part(const char *text, size_t n, uint32_t max, uint32_t *out)
{
	unsigned base = 10;
	size_t i = 0;
	if (n >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		i = 2;
	} else if (n >= 2 && text[0] == '0') {
		base = 8;
		i = 1;
	}
	if (n == 0 || i == n)
		return false; /* "", or "0x" with no digit: glibc's inet_aton refuses it */
	uint64_t v = 0;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		unsigned d = isdigit(c) ? (unsigned)(c - '0')
			: isxdigit(c)	? (unsigned)(tolower(c) - 'a' + 10)
					: 16;
		if (d >= base)
			return false;
		v = v * base + d;
		if (v > max)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* An IPv4 address in any spelling that inet_aton, getaddrinfo and
 * libcurl's URL parser take for one: one to four parts separated by dots,
 * each decimal, octal or hex, the last filling the bytes that are left
 * ("2130706433", "0x7f000001", "0177.0.0.1", "127.1" are all 127.0.0.1).
 * *out is in host order; false when text is not such a number. */
static bool parse_v4_number(const char *text, uint32_t *out)
{
	uint32_t parts[4];
	size_t n = 0;
	const char *p = text;
	for (;;) {
		if (n == 4)
			return false;
		size_t len = strcspn(p, ".");
		bool last = p[len] == '\0';
		/* The last part fills 4 - n bytes; the others one each. */
		uint32_t max =
			last ? (n == 0 ? UINT32_MAX : (UINT32_C(1) << (8 * (4 - n))) - 1) : 255;
		if (!v4_part(p, len, max, &parts[n]))
			return false;
		n++;
		if (last)
			break;
		p += len + 1;
	}
	uint32_t a = 0;
	for (size_t i = 0; i + 1 < n; i++)
		a |= parts[i] << (8 * (3 - i));
	*out = a | parts[n - 1];
	return true;
}

/* Whether text is an IP literal (IPv6 without brackets, or IPv4 in any
 * numeric spelling), and if so *public says whether fetch_address_public
 * would let it through.  The addresses are parsed into typed structs; no
 * sockaddr is punned. */
bool fetch_classify_ip(const char *text, bool *public)
{
	uint32_t v4;
	if (parse_v4_number(text, &v4)) {
		*public = v4_public(v4);
		return true;
	}
	struct in6_addr in6;
	if (strchr(text, ':') && inet_pton(AF_INET6, text, &in6) == 1) {
		*public = v6_public(in6.s6_addr);
		return true;
	}
	return false;
}

bool fetch_host_private(const char *host)
{
	char name[256];
	size_t n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof name)
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	if (name[n - 1] == '.') /* "localhost.", "127.0.0.1." */
		name[--n] = '\0';
	if (n == 0)
		return false;
	static const char lh[] = "localhost";
	size_t l = sizeof lh - 1;
	if (strcasecmp(name, lh) == 0 ||
	    (n > l && name[n - l - 1] == '.' && strcasecmp(name + n - l, lh) == 0))
		return true;
	bool public;
	return fetch_classify_ip(name, &public) && !public;
}

static void format_address(const struct sockaddr *sa, char *out, size_t n)
{
	sa_family_t family;
	memcpy(&family, (const char *)sa + offsetof(struct sockaddr, sa_family), sizeof family);
	const char *ok = NULL;
	if (family == AF_INET6) {
		struct sockaddr_in6 in6;
		memcpy(&in6, sa, sizeof in6);
		ok = inet_ntop(AF_INET6, &in6.sin6_addr, out, (socklen_t)n);
	} else if (family == AF_INET) {
		struct sockaddr_in in;
		memcpy(&in, sa, sizeof in);
		ok = inet_ntop(AF_INET, &in.sin_addr, out, (socklen_t)n);
	}
	if (!ok)
		snprintf(out, n, "?");
}

/* libcurl asks us for every socket it connects: the place to refuse a
 * non-public address, after name resolution, for redirects too. */
curl_socket_t fetch_on_open_socket(void *userp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct transfer *t = userp;
	if (t->public_only && purpose == CURLSOCKTYPE_IPCXN && !fetch_address_public(&a->addr)) {
		if (!t->refused_addr[0])
			format_address(&a->addr, t->refused_addr, sizeof t->refused_addr);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

/* libcurl calls this before it sends each request, the first and every
 * redirect, once the connection is made: the place to refuse a host the
 * request may not go to.  Nothing has been sent to it yet. */
int fetch_on_prereq(void *userp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	struct transfer *t = userp;
	char *url = NULL;
	curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
	char *host = url ? url_host(url) : NULL;
	for (size_t i = 0; host && i < t->n_hosts; i++) {
		if (strcmp(t->hosts[i], host) == 0) {
			free(host);
			return CURL_PREREQFUNC_OK;
		}
	}
	if (!t->refused_host) {
		t->refused_host = host ? host : xstrdup(url ? url : "?");
		t->refused_redirect = t->status != 0; /* a response came before */
	} else {
		free(host);
	}
	return CURL_PREREQFUNC_ABORT;
}
