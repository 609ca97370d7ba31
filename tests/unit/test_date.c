/*
 * test_date: date_parse against a table of dates as real feeds write them,
 * a table of strings it must refuse, date_format_utc at the edges of its
 * range, a format/parse round trip, and a crash hunt over prefixes and random
 * bytes (run it under ASan to catch reads past the NUL).
 *
 * Expected values are written by hand as "YYYY-MM-DDTHH:MM:SSZ" and turned
 * into seconds by ref_epoch below, a deliberately naive year-by-year count
 * that shares nothing with the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/date.h"
#include "feedd/util.h"

static bool ref_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int ref_month_days(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && ref_leap(y) ? 29 : days[m - 1];
}

/* Seconds since the epoch of a UTC calendar time, counting whole years. */
static int64_t ref_epoch(int y, int mo, int d, int h, int mi, int s)
{
	int64_t days = 0;
	for (int i = 1970; i < y; i++)
		days += ref_leap(i) ? 366 : 365;
	for (int i = y; i < 1970; i++)
		days -= ref_leap(i) ? 366 : 365;
	for (int i = 1; i < mo; i++)
		days += ref_month_days(y, i);
	days += d - 1;
	return days * 86400 + h * 3600 + mi * 60 + s;
}

/* ref_epoch of an "YYYY-MM-DDTHH:MM:SSZ" string written in this file. */
static int64_t ref_iso(const char *iso)
{
	int y, mo, d, h, mi, s;
	char z;
	if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 || z != 'Z')
		fail_msg("bad expected value in the table: %s", iso);
	return ref_epoch(y, mo, d, h, mi, s);
}

/* The inverse of ref_epoch, by the same naive counting. out is roomier than
 * DATE_ISO_LEN because gcc cannot see that every field fits. */
#define REF_LEN 48
static void ref_format(int64_t t, char out[REF_LEN])
{
	int64_t days = t / 86400, secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	int y = 1970, m = 1;
	while (days < 0)
		days += ref_leap(--y) ? 366 : 365;
	while (days >= (ref_leap(y) ? 366 : 365))
		days -= ref_leap(y++) ? 366 : 365;
	while (days >= ref_month_days(y, m))
		days -= ref_month_days(y, m++);
	snprintf(out, REF_LEN, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, (int)days + 1,
		 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

/* Prints s with control characters escaped, for failure messages. */
static const char *shown(const char *s)
{
	static char out[512];
	size_t o = 0;
	for (; *s && o + 5 < sizeof(out); s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\t')
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\t");
		else if (c == '\n')
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\n");
		else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

struct good {
	const char *in;
	const char *utc;
};

static const struct good goods[] = {
	/* RSS 2.0 specification and RFC 2822 examples */
	{"Sat, 07 Sep 2002 00:00:01 GMT", "2002-09-07T00:00:01Z"},
	{"Wed, 02 Oct 2002 08:00:00 EST", "2002-10-02T13:00:00Z"},
	{"Wed, 02 Oct 2002 13:00:00 GMT", "2002-10-02T13:00:00Z"},
	{"Sun, 19 May 2002 15:21:36 GMT", "2002-05-19T15:21:36Z"},
	{"Fri, 21 Nov 1997 09:55:06 -0600", "1997-11-21T15:55:06Z"},
	{"Tue, 1 Jul 2003 10:52:37 +0200", "2003-07-01T08:52:37Z"},
	{"Thu, 13 Feb 1969 23:32:54 -0330", "1969-02-14T03:02:54Z"},
	{"21 Nov 97 09:55:06 GMT", "1997-11-21T09:55:06Z"},
	{"Sun, 06 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37Z"},
	{"Sunday, 06-Nov-94 08:49:37 GMT", "1994-11-06T08:49:37Z"},
	{"Sun Nov  6 08:49:37 1994", "1994-11-06T08:49:37Z"},
	/* the basic shape and the spellings of UTC */
	{"Tue, 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 +0000", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 -0000", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 UT", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 UTC", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 Z", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 +00:00", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00GMT", "2003-06-10T04:00:00Z"},
	/* parts left out or written long */
	{"10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 4:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tuesday, 10 June 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tues, 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Thurs, 12 Jun 2003 04:00:00 GMT", "2003-06-12T04:00:00Z"},
	{"Thur, 12 Jun 2003 04:00:00 GMT", "2003-06-12T04:00:00Z"},
	{"Wednesday, 11 June 2003 04:00:00 GMT", "2003-06-11T04:00:00Z"},
	{"Thu, 11 Sept 2003 10:15:00 GMT", "2003-09-11T10:15:00Z"},
	{"Mon, 15 September 2003 10:15:00 GMT", "2003-09-15T10:15:00Z"},
	{"Sat, 01 March 2003 10:15:00 GMT", "2003-03-01T10:15:00Z"},
	{"Mon, 1 Jan 2001 00:00:00 +0100", "2000-12-31T23:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00.123 GMT", "2003-06-10T04:00:00Z"},
	/* two- and three-digit years */
	{"Tue, 10 Jun 03 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 103 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Thu, 10 Jun 99 04:00:00 GMT", "1999-06-10T04:00:00Z"},
	{"Sun, 01 Jan 50 00:00:00 GMT", "1950-01-01T00:00:00Z"},
	{"Fri, 31 Dec 49 23:59:59 GMT", "2049-12-31T23:59:59Z"},
	{"Sat, 01 Jan 00 00:00:00 GMT", "2000-01-01T00:00:00Z"},
	/* wrong weekdays are ignored */
	{"Mon, 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Sun, 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Friday, 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	/* case and spacing */
	{"TUE, 10 JUN 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"tue, 10 jun 2003 04:00:00 gmt", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 est", "2003-06-10T09:00:00Z"},
	{"Tue,  10  Jun  2003  04:00:00  GMT", "2003-06-10T04:00:00Z"},
	{"Tue,\t10 Jun 2003\t04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue,10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue ,10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"  Tue, 10 Jun 2003 04:00:00 GMT  \n", "2003-06-10T04:00:00Z"},
	{"\r\n\tTue, 10 Jun 2003 04:00:00 GMT\r\n", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun, 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue, 10, Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003, 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue. 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue., 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	/* comments and labels after the zone */
	{"Tue, 10 Jun 2003 04:00:00 +0000 (UTC)", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 -0700 (PDT)", "2003-06-10T11:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 GMT (Greenwich (Mean) Time)", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 +0000 (a\\) b) (c)", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 +0000 UTC", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 +0530 IST", "2003-06-09T22:30:00Z"},
	/* RFC 822 zones */
	{"Tue, 10 Jun 2003 04:00:00 EST", "2003-06-10T09:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 EDT", "2003-06-10T08:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 CST", "2003-06-10T10:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 CDT", "2003-06-10T09:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 MST", "2003-06-10T11:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 MDT", "2003-06-10T10:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 PST", "2003-06-10T12:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 PDT", "2003-06-10T11:00:00Z"},
	/* numeric offsets */
	{"Tue, 10 Jun 2003 04:00:00 -0500", "2003-06-10T09:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 +0330", "2003-06-10T00:30:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 +03:30", "2003-06-10T00:30:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 +03", "2003-06-10T01:00:00Z"},
	{"Tue, 10 Jun 2003 02:00:00 +0530", "2003-06-09T20:30:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 +0545", "2003-06-09T22:15:00Z"},
	{"Tue, 10 Jun 2003 23:00:00 -1400", "2003-06-11T13:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 +1400", "2003-06-09T14:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 -09:30", "2003-06-10T13:30:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 GMT+0330", "2003-06-10T00:30:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 GMT+03:30", "2003-06-10T00:30:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 UTC+3", "2003-06-10T01:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 GMT-5", "2003-06-10T09:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 UTC-03:30", "2003-06-10T07:30:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 UT+0100", "2003-06-10T03:00:00Z"},
	/* RFC 822 military letters */
	{"Tue, 10 Jun 2003 04:00:00 A", "2003-06-10T05:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 I", "2003-06-10T13:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 K", "2003-06-10T14:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 M", "2003-06-10T16:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 N", "2003-06-10T03:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 Y", "2003-06-09T16:00:00Z"},
	/* unambiguous abbreviations outside RFC 822 */
	{"Tue, 10 Jun 2003 04:00:00 CET", "2003-06-10T03:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 CEST", "2003-06-10T02:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 EET", "2003-06-10T02:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 EEST", "2003-06-10T01:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 WET", "2003-06-10T04:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 WEST", "2003-06-10T03:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 MSK", "2003-06-10T01:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 JST", "2003-06-09T19:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 KST", "2003-06-09T19:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 HKT", "2003-06-09T20:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 SGT", "2003-06-09T20:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 AEST", "2003-06-09T18:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 AEDT", "2003-06-09T17:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 ACST", "2003-06-09T18:30:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 ACDT", "2003-06-09T17:30:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 AWST", "2003-06-09T20:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 NZST", "2003-06-09T16:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 NZDT", "2003-06-09T15:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 IRST", "2003-06-10T00:30:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 IRDT", "2003-06-09T23:30:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 HST", "2003-06-10T14:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 AKST", "2003-06-10T13:00:00Z"},
	{"Tue, 10 Jun 2003 04:00:00 AKDT", "2003-06-10T12:00:00Z"},
	/* other orders: RFC 850, month first, asctime, date(1), Twitter */
	{"10-Jun-03 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tuesday, 10-Jun-2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Jun 10, 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Tue, Jun 10 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"},
	{"Sept. 10, 2003 10:00 GMT", "2003-09-10T10:00:00Z"},
	{"Tue Jun 10 04:00:00 2003", "2003-06-10T04:00:00Z"},
	{"Tue Jun  3 04:00:00 2003", "2003-06-03T04:00:00Z"},
	{"Tue Jun 10 04:00:00 +0000 2003", "2003-06-10T04:00:00Z"},
	{"Wed Aug 27 13:08:45 +0000 2008", "2008-08-27T13:08:45Z"},
	{"Tue Jun 10 04:00:00 EDT 2003", "2003-06-10T08:00:00Z"},
	/* twelve-hour clocks and dates without a time */
	{"Tue, 10 Jun 2003 4:00 PM GMT", "2003-06-10T16:00:00Z"},
	{"Tue, 10 Jun 2003 12:30 AM GMT", "2003-06-10T00:30:00Z"},
	{"Tue, 10 Jun 2003 12:30 PM EST", "2003-06-10T17:30:00Z"},
	{"Tue, 10 Jun 2003 11:59:59pm", "2003-06-10T23:59:59Z"},
	{"Tue, 10 Jun 2003", "2003-06-10T00:00:00Z"},
	{"Tuesday, June 10, 2003", "2003-06-10T00:00:00Z"},
	{"10 Jun 2003 (no time)", "2003-06-10T00:00:00Z"},
	/* leap years, leap seconds, the epoch and 2038 */
	{"Tue, 29 Feb 2000 12:00:00 GMT", "2000-02-29T12:00:00Z"},
	{"Thu, 29 Feb 2024 00:00:00 +0000", "2024-02-29T00:00:00Z"},
	{"Wed, 28 Feb 1900 23:59:59 -0000", "1900-02-28T23:59:59Z"},
	{"Mon, 01 Mar 2004 00:30:00 +0100", "2004-02-29T23:30:00Z"},
	{"Sun, 28 Feb 2021 23:59:59 -0800", "2021-03-01T07:59:59Z"},
	{"Sat, 31 Dec 2016 23:59:60 GMT", "2017-01-01T00:00:00Z"},
	{"Thu, 01 Jan 1970 00:00:00 GMT", "1970-01-01T00:00:00Z"},
	{"Wed, 31 Dec 1969 23:59:59 GMT", "1969-12-31T23:59:59Z"},
	{"Thu, 01 Jan 1970 00:00:00 +0100", "1969-12-31T23:00:00Z"},
	{"Fri, 31 Dec 1999 23:30:00 -0100", "2000-01-01T00:30:00Z"},
	{"Tue, 19 Jan 2038 03:14:08 GMT", "2038-01-19T03:14:08Z"},
	{"Fri, 13 Feb 2009 23:31:30 GMT", "2009-02-13T23:31:30Z"},
	/* Atom and RFC 3339 examples */
	{"2003-12-13T18:30:02Z", "2003-12-13T18:30:02Z"},
	{"2003-12-13T18:30:02.25Z", "2003-12-13T18:30:02Z"},
	{"2003-12-13T18:30:02+01:00", "2003-12-13T17:30:02Z"},
	{"2003-12-13T18:30:02.25+01:00", "2003-12-13T17:30:02Z"},
	{"1985-04-12T23:20:50.52Z", "1985-04-12T23:20:50Z"},
	{"1996-12-19T16:39:57-08:00", "1996-12-20T00:39:57Z"},
	{"1990-12-31T23:59:60Z", "1991-01-01T00:00:00Z"},
	{"1990-12-31T15:59:60-08:00", "1991-01-01T00:00:00Z"},
	{"1937-01-01T12:00:27.87+00:20", "1937-01-01T11:40:27Z"},
	/* ISO 8601 variants */
	{"2003-06-10T04:00:00Z", "2003-06-10T04:00:00Z"},
	{"2003-06-10T04:00:00+00:00", "2003-06-10T04:00:00Z"},
	{"2003-06-10T04:00:00-00:00", "2003-06-10T04:00:00Z"},
	{"2003-06-10T04:00:00.123456789Z", "2003-06-10T04:00:00Z"},
	{"2003-06-10T04:00:59.999999Z", "2003-06-10T04:00:59Z"},
	{"2003-06-10T23:59:59.99999999999999999999999999+00:00", "2003-06-10T23:59:59Z"},
	{"2003-06-10T04:00:00,5Z", "2003-06-10T04:00:00Z"},
	{"2003-06-10T04:00:00+03:30", "2003-06-10T00:30:00Z"},
	{"2003-06-10T04:00:00+0330", "2003-06-10T00:30:00Z"},
	{"2003-06-10T04:00:00+03", "2003-06-10T01:00:00Z"},
	{"2003-06-10T04:00:00-05:00", "2003-06-10T09:00:00Z"},
	{"2003-06-10t04:00:00z", "2003-06-10T04:00:00Z"},
	{"2003-06-10 04:00:00", "2003-06-10T04:00:00Z"},
	{"2003-06-10 04:00:00Z", "2003-06-10T04:00:00Z"},
	{"2003-06-10 04:00:00 UTC", "2003-06-10T04:00:00Z"},
	{"2003-06-10 04:00:00 -0500", "2003-06-10T09:00:00Z"},
	{"2003-06-10T04:00:00", "2003-06-10T04:00:00Z"},
	{"2003-06-10T04:00Z", "2003-06-10T04:00:00Z"},
	{"2003-06-10T04:00-07:00", "2003-06-10T11:00:00Z"},
	{"2003-06-10", "2003-06-10T00:00:00Z"},
	{"2003-6-1T04:00:00Z", "2003-06-01T04:00:00Z"},
	{"20030610T040000Z", "2003-06-10T04:00:00Z"},
	{"20030610T0400Z", "2003-06-10T04:00:00Z"},
	{"20030610T040000.5+0200", "2003-06-10T02:00:00Z"},
	{"20030610", "2003-06-10T00:00:00Z"},
	{"  2003-06-10T04:00:00Z  ", "2003-06-10T04:00:00Z"},
	{"2003-06-10T04:00:00Z (comment)", "2003-06-10T04:00:00Z"},
	/* Go's time.String(), as some generators print it */
	{"2003-06-10 04:00:00 +0000 UTC", "2003-06-10T04:00:00Z"},
	{"2003-06-10 04:00:00.123456 +0800 CST", "2003-06-09T20:00:00Z"},
	{"2003-06-10 04:00:00 +0300 +03", "2003-06-10T01:00:00Z"},
	/* ISO edges: end of day, leap days, the ends of the year range */
	{"2003-06-10T24:00:00Z", "2003-06-11T00:00:00Z"},
	{"2003-06-10T24:00Z", "2003-06-11T00:00:00Z"},
	{"2003-12-31T24:00:00.000+00:00", "2004-01-01T00:00:00Z"},
	{"2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z"},
	{"2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z"},
	{"1900-03-01T00:00:00Z", "1900-03-01T00:00:00Z"},
	{"1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"},
	{"1601-01-01T00:00:00Z", "1601-01-01T00:00:00Z"},
	{"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"},
	{"0001-01-01T00:00:00+01:00", "0000-12-31T23:00:00Z"},
	{"9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"},
};

static const char *const bads[] = {
	/* nothing, or not a date */
	"",
	"   ",
	"\t\n",
	"garbage",
	"now",
	"1055217600",
	"Tue",
	"Tue,",
	"Foo, 10 Jun 2003 04:00:00 GMT",
	/* cut short */
	"Tue, 10",
	"Tue, 10 Jun",
	"Tue, 10 Jun 2003 04",
	"Tue, 10 Jun 2003 04:",
	"Tue, 10 Jun 2003 04:0",
	"Tue, 10 Jun 2003 04:00:",
	"Tue, 10 Jun 2003 04:00:0",
	"Tue, 10 Jun 2003 04:00:00 +",
	"Tue, 10 Jun 2003 04:00:00 +03:",
	"2003",
	"2003-06",
	"2003-06-",
	"2003-06-10T",
	"2003-06-10T04",
	"2003-06-10T04:",
	"2003-06-10T04:00:00+",
	"2003-06-10T04:00:00+03:3",
	"20030610T04",
	/* impossible fields */
	"Sun, 30 Feb 2003 04:00:00 GMT",
	"Wed, 29 Feb 2023 04:00:00 GMT",
	"Thu, 29 Feb 1900 04:00:00 GMT",
	"Thu, 31 Apr 2003 04:00:00 GMT",
	"Tue, 00 Jun 2003 04:00:00 GMT",
	"Tue, 10 Foo 2003 04:00:00 GMT",
	"Tue, 10 Jun 2003 25:00:00 GMT",
	"Tue, 10 Jun 2003 24:00:00 GMT",
	"Tue, 10 Jun 2003 04:60:00 GMT",
	"Tue, 10 Jun 2003 04:00:61 GMT",
	"Tue, 10 Jun 2003 13:00 PM GMT",
	"Tue, 10 Jun 2003 0:30 AM GMT",
	"2003-13-10T04:00:00Z",
	"2003-00-10T04:00:00Z",
	"2003-06-00T04:00:00Z",
	"2003-06-31T04:00:00Z",
	"2003-02-29",
	"2000-02-30",
	"2003-06-10T24:00:01Z",
	"2003-06-10T24:30Z",
	"2003-06-10T24:00:00.5Z",
	"2003-06-10T25:00:00Z",
	"0000-01-01T00:00:00Z",
	"Tue, 10 Jun 2003 04:00:00,5 GMT",
	/* zones that are ambiguous, unknown or out of range */
	"Tue, 10 Jun 2003 04:00:00 IST",
	"Tue, 10 Jun 2003 04:00:00 BST",
	"Tue, 10 Jun 2003 04:00:00 AST",
	"Tue, 10 Jun 2003 04:00:00 XYZ",
	"Tue, 10 Jun 2003 04:00:00 J",
	"Tue, 10 Jun 2003 04:00:00 +1401",
	"Tue, 10 Jun 2003 04:00:00 -1500",
	"Tue, 10 Jun 2003 04:00:00 +0360",
	"Tue, 10 Jun 2003 04:00:00 +330",
	"Tue, 10 Jun 2003 04:00:00 +03300",
	"Tue, 10 Jun 2003 04:00:00 GMT+15",
	"Tue, 10 Jun 2003 04:00:00 EST+0100",
	"Tue, 10 Jun 2003 04:00:00 +0000 -0100",
	"2003-06-10T04:00:00+25:00",
	"2003-06-10T04:00:00+14:30",
	"2003-06-10T04:00:00 A",
	"2003-06-10T04:00:00 IST",
	/* something after a complete date */
	"Tue, 10 Jun 2003 04:00:00 GMT garbage",
	"Tue, 10 Jun 2003 04:00:00 GMT GMT",
	"Tue, 10 Jun 2003 04:00:00 +0000 garbage",
	"Tue, 10 Jun 2003 04:00:00 GMT (unclosed",
	"Tue, 10 Jun 2003 04:00:00 GMT )",
	"Tue, 10 Jun 2003 04:00:00 GMT (a\\",
	"Tue, 10 Jun 2003 GMT",
	"Tue, 10 Jun 2003,",
	"2003-06-10T04:00:00Zjunk",
	"2003-06-10T04:00:00Z Z",
	"2003-06-10 GMT",
	"2003-06-10 garbage",
	"2003-06-10-05:00",
	"2003-06-10T04:00:00.Z",
	"2003-06-10T04:00.5Z",
	/* shapes that are not read */
	"10/06/2003",
	"06/10/2003 04:00:00",
	"10-06-2003",
	"2003-W24-2",
	"2003-161",
	"2003/06/10 04:00:00",
	"Tue, 10 Jun 20003 04:00:00 GMT",
	"Tue, 10 Jun 3 04:00:00 GMT",
	"Tue, 100 Jun 2003 04:00:00 GMT",
	"Tue, 10 Jun 2003 004:00:00 GMT",
	"Tue10 Jun 2003 04:00:00 GMT",
	"10Jun 2003 04:00:00 GMT",
	"2003-06-10T4:00:00Z",
	"20030610T04:00:00Z",
	"2003-06-10T040000Z",
	"20030610 040000",
	"200306101",
};

static void test_parse_table(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < ARRAY_LEN(goods); i++) {
		int64_t want = ref_iso(goods[i].utc), got = INT64_MIN;
		int rc = date_parse(goods[i].in, &got);
		if (rc == 0 && got == want)
			continue;
		char buf[DATE_ISO_LEN] = "?";
		if (rc == 0)
			date_format_utc(got, buf);
		print_error("date_parse(\"%s\"): returned %d, %lld (%s); want %lld (%s)\n",
			    shown(goods[i].in), rc, (long long)got, buf, (long long)want,
			    goods[i].utc);
		failures++;
	}
	assert_int_equal(failures, 0);
}

static void test_reject_table(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < ARRAY_LEN(bads); i++) {
		const int64_t sentinel = 0x5EED;
		int64_t got = sentinel;
		int rc = date_parse(bads[i], &got);
		if (rc == -1 && got == sentinel)
			continue;
		char buf[DATE_ISO_LEN] = "?";
		date_format_utc(got, buf);
		print_error("date_parse(\"%s\"): returned %d, %lld (%s); want -1, *out untouched\n",
			    shown(bads[i]), rc, (long long)got, buf);
		failures++;
	}
	assert_int_equal(failures, 0);
}

static void expect_format(int64_t t, const char *want)
{
	char buf[DATE_ISO_LEN];
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(date_format_utc(t, buf), 0);
	assert_string_equal(buf, want);
}

static void expect_no_format(int64_t t)
{
	char buf[DATE_ISO_LEN];
	assert_int_equal(date_format_utc(t, buf), -1);
}

static void test_format(void **state)
{
	(void)state;
	expect_format(0, "1970-01-01T00:00:00Z");
	expect_format(-1, "1969-12-31T23:59:59Z");
	expect_format(-86400, "1969-12-31T00:00:00Z");
	expect_format(-86401, "1969-12-30T23:59:59Z");
	expect_format(951782400, "2000-02-29T00:00:00Z");
	expect_format(1000000000, "2001-09-09T01:46:40Z");
	expect_format(1234567890, "2009-02-13T23:31:30Z");
	expect_format(2147483648, "2038-01-19T03:14:08Z");
	expect_format(-2208988800, "1900-01-01T00:00:00Z");
	expect_format(-62135596800, "0001-01-01T00:00:00Z");
	expect_format(-62167219200, "0000-01-01T00:00:00Z");
	expect_format(-62162035201, "0000-02-29T23:59:59Z");
	expect_format(253402300799, "9999-12-31T23:59:59Z");
	expect_no_format(253402300800);
	expect_no_format(-62167219201);
	expect_no_format(INT64_MAX);
	expect_no_format(INT64_MIN);

	/* the same answers as the naive reference, across the whole range */
	int failures = 0;
	const int64_t lo = ref_epoch(0, 1, 1, 0, 0, 0), hi = ref_epoch(9999, 12, 31, 23, 59, 59);
	for (int64_t t = lo; t <= hi; t += 104729LL * 977 + 13) {
		char got[DATE_ISO_LEN], want[REF_LEN];
		if (date_format_utc(t, got) != 0 || (ref_format(t, want), strcmp(got, want) != 0)) {
			print_error("date_format_utc(%lld) gave \"%s\"\n", (long long)t, got);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void round_trip(int64_t t, int *failures)
{
	char buf[DATE_ISO_LEN];
	int64_t back = INT64_MIN;
	if (date_format_utc(t, buf) != 0 || date_parse(buf, &back) != 0 || back != t) {
		print_error("round trip of %lld through \"%s\" gave %lld\n", (long long)t, buf,
			    (long long)back);
		(*failures)++;
	}
}

static void test_round_trip(void **state)
{
	(void)state;
	int failures = 0;
	const int64_t lo = ref_epoch(1, 1, 1, 0, 0, 0), hi = ref_epoch(9999, 12, 31, 23, 59, 59);
	for (int64_t t = lo; t <= hi; t += 7919LL * 7907 + 1)
		round_trip(t, &failures);
	round_trip(lo, &failures);
	round_trip(hi, &failures);
	/* every hour, give or take, around the epoch and two leap days */
	const int64_t centres[] = {0, ref_epoch(2000, 2, 29, 0, 0, 0),
				   ref_epoch(1900, 2, 28, 0, 0, 0)};
	for (size_t c = 0; c < ARRAY_LEN(centres); c++)
		for (int64_t t = centres[c] - 400 * 86400LL; t <= centres[c] + 400 * 86400LL;
		     t += 3599)
			round_trip(t, &failures);
	assert_int_equal(failures, 0);
}

/* xorshift64*: a fixed sequence, so a crash found once is found again. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Parses the n bytes at s from a heap copy of exactly n + 1 bytes, so ASan
 * sees any read past the NUL. */
static void survive(const char *s, size_t n)
{
	char *copy = xmalloc(n + 1);
	memcpy(copy, s, n);
	copy[n] = '\0';
	int64_t t;
	int rc = date_parse(copy, &t);
	if (rc != 0 && rc != -1)
		fail_msg("date_parse(\"%s\") returned %d", shown(copy), rc);
	free(copy);
}

static void test_hostile(void **state)
{
	(void)state;
	static const char *const seeds[] = {
		"Tue, 10 Jun 2003 04:00:00 +0000 (UTC (nested) \\) x)",
		"Tuesday, 10-Jun-03 4:00:00.5 PM GMT+03:30",
		"Tue Jun 10 04:00:00 +0000 2003",
		"2003-06-10T24:00:00.000000000+14:00",
		"20030610T040000,25-0330",
		"2003-06-10 04:00:00.123456 +0800 CST",
		"Sept. 10, 2003",
	};
	for (size_t i = 0; i < ARRAY_LEN(seeds); i++)
		for (size_t n = 0; n <= strlen(seeds[i]); n++)
			survive(seeds[i], n);
	for (size_t i = 0; i < ARRAY_LEN(goods); i++)
		for (size_t n = 0; n <= strlen(goods[i].in); n++)
			survive(goods[i].in, n);

	/* bytes weighted towards what dates are made of, then anything */
	static const char alphabet[] = "0123456789:-+.,() \tTZzGMTUESDPJanFebSepWd\\";
	char buf[64];
	for (int round = 0; round < 3000; round++) {
		size_t n = rng() % sizeof(buf);
		for (size_t j = 0; j < n; j++) {
			uint64_t r = rng();
			buf[j] = r & 1 ? alphabet[(r >> 1) % (sizeof(alphabet) - 1)]
				       : (char)(r >> 8);
		}
		survive(buf, n);
	}
	/* valid dates with a few bytes changed */
	for (int round = 0; round < 3000; round++) {
		const char *seed = goods[rng() % ARRAY_LEN(goods)].in;
		size_t n = strlen(seed);
		if (n == 0 || n >= sizeof(buf))
			continue;
		memcpy(buf, seed, n);
		for (int k = 0; k < 3; k++)
			buf[rng() % n] = alphabet[rng() % (sizeof(alphabet) - 1)];
		survive(buf, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table), cmocka_unit_test(test_reject_table),
		cmocka_unit_test(test_format),	    cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
