/*
 * test_tz: the tz module against hand-written offsets (Tehran before and
 * after Iran dropped summer time, Berlin's two changes a year with the gap
 * and the overlap, New York, UTC, names that are not zones, POSIX strings)
 * and against glibc: for a few zones, every hour of several years is
 * converted both ways here and by localtime_r/mktime under TZ=":zone".
 * Only this test sets TZ; the daemon never does.
 *
 * Wall times are written "YYYY-MM-DD HH:MM" and read with timegm, which
 * reads no zone; expected instants likewise, as UTC.  Every test is skipped
 * where no tz database is installed.
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
#include <sys/stat.h>
#include <time.h>

#include "feedd/tz.h"

#define HOUR 3600
#define DAY 86400

/* "YYYY-MM-DD HH:MM[:SS]" counted as UTC. */
static int64_t at(const char *s)
{
	struct tm tm = {0};
	if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) < 5)
		fail_msg("bad test time %s", s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

static const struct tz_zone *zone(const char *name)
{
	struct stat st;
	if (stat(tz_dir(), &st) != 0 || !S_ISDIR(st.st_mode))
		skip();
	const struct tz_zone *z = tz_zone(name);
	if (!z)
		fail_msg("zone %s did not load from %s", name, tz_dir());
	return z;
}

/* The wall time local in z is the instant utc (both "YYYY-MM-DD HH:MM"). */
static void check_wall(const struct tz_zone *z, const char *local, const char *utc)
{
	int64_t t;
	if (tz_local_to_utc(z, at(local), &t) != 0)
		fail_msg("%s: conversion failed", local);
	if (t != at(utc))
		fail_msg("%s: expected %s UTC, got %lld s off", local, utc,
			 (long long)(t - at(utc)));
}

static void check_offset(const struct tz_zone *z, const char *utc, int32_t want)
{
	int32_t got = tz_offset_at(z, at(utc));
	if (got != want)
		fail_msg("%s UTC: expected offset %d, got %d", utc, want, got);
}

/* Iran kept summer time (+04:30) until 2022 and has stayed at +03:30 since. */
static void test_tehran(void **state)
{
	(void)state;
	const struct tz_zone *z = zone("Asia/Tehran");
	check_offset(z, "2021-07-01 12:00", 4 * HOUR + 1800);
	check_offset(z, "2021-12-01 12:00", 3 * HOUR + 1800);
	check_offset(z, "2023-07-01 12:00", 3 * HOUR + 1800);
	check_wall(z, "2021-07-01 12:00", "2021-07-01 07:30");
	check_wall(z, "2023-07-01 12:00", "2023-07-01 08:30");
	/* Far past the last transition: the footer, "<+0330>-3:30". */
	check_wall(z, "2090-07-01 12:00", "2090-07-01 08:30");
}

/* CET/CEST: 2021-03-28 02:00 CET became 03:00 CEST (at 01:00 UTC), and
 * 2021-10-31 03:00 CEST became 02:00 CET (again at 01:00 UTC). */
static void test_berlin(void **state)
{
	(void)state;
	const struct tz_zone *z = zone("Europe/Berlin");
	check_offset(z, "2021-03-28 00:59:59", HOUR);
	check_offset(z, "2021-03-28 01:00", 2 * HOUR);
	check_offset(z, "2021-10-31 00:59:59", 2 * HOUR);
	check_offset(z, "2021-10-31 01:00", HOUR);
	check_wall(z, "2021-03-28 01:59:59", "2021-03-28 00:59:59");
	check_wall(z, "2021-03-28 03:00", "2021-03-28 01:00");
	/* In the gap: the offset before it (+01), i.e. 03:30 CEST. */
	check_wall(z, "2021-03-28 02:00", "2021-03-28 01:00");
	check_wall(z, "2021-03-28 02:30", "2021-03-28 01:30");
	/* In the overlap: the earlier instant, still CEST. */
	check_wall(z, "2021-10-31 01:59:59", "2021-10-30 23:59:59");
	check_wall(z, "2021-10-31 02:00", "2021-10-31 00:00");
	check_wall(z, "2021-10-31 02:30", "2021-10-31 00:30");
	check_wall(z, "2021-10-31 02:59:59", "2021-10-31 00:59:59");
	check_wall(z, "2021-10-31 03:00", "2021-10-31 02:00");
	/* After 2037, from the footer's rule, both ways. */
	check_wall(z, "2050-07-01 12:00", "2050-07-01 10:00");
	check_wall(z, "2050-12-01 12:00", "2050-12-01 11:00");
	check_wall(z, "2050-03-27 02:30", "2050-03-27 01:30");
	check_wall(z, "2050-10-30 02:30", "2050-10-30 00:30");
}

static void test_new_york(void **state)
{
	(void)state;
	const struct tz_zone *z = zone("America/New_York");
	check_wall(z, "2025-01-15 12:00", "2025-01-15 17:00");
	check_wall(z, "2025-07-15 12:00", "2025-07-15 16:00");
	check_wall(z, "2025-03-09 01:59", "2025-03-09 06:59");
	check_wall(z, "2025-03-09 02:30", "2025-03-09 07:30");
	check_wall(z, "2025-03-09 03:00", "2025-03-09 07:00");
	check_wall(z, "2025-11-02 01:30", "2025-11-02 05:30");
	check_wall(z, "2025-11-02 02:00", "2025-11-02 07:00");
	check_wall(z, "2080-07-01 12:00", "2080-07-01 16:00");
	check_wall(z, "1960-07-01 12:00", "1960-07-01 16:00");
	check_offset(z, "2025-07-15 12:00", -4 * HOUR);
}

static void test_utc(void **state)
{
	(void)state;
	const struct tz_zone *z = zone("UTC");
	check_offset(z, "1901-01-01 00:00", 0);
	check_offset(z, "2025-06-11 19:16", 0);
	check_wall(z, "2025-06-11 19:16", "2025-06-11 19:16");
	check_wall(z, "2300-01-01 00:00", "2300-01-01 00:00");
	int64_t t;
	assert_int_equal(tz_local_to_utc(z, INT64_MAX, &t), -1);
	assert_int_equal(tz_local_to_utc(z, INT64_MIN, &t), -1);
}

/* Not zones: unknown names, paths out of the database, files that are not
 * TZif; and the same name twice is the same zone. */
static void test_unknown(void **state)
{
	(void)state;
	const struct tz_zone *z = zone("Europe/Berlin");
	assert_ptr_equal(tz_zone("Europe/Berlin"), z);
	assert_null(tz_zone("Nowhere/Zone"));
	assert_null(tz_zone("Europe/Nowhere"));
	assert_null(tz_zone(""));
	assert_null(tz_zone("/etc/passwd"));
	assert_null(tz_zone("../../../etc/passwd"));
	assert_null(tz_zone("Europe"));	  /* a directory */
	assert_null(tz_zone("zone.tab")); /* text, where it is installed */
}

static void check_posix(const char *spec, const char *utc, int32_t want)
{
	const struct tz_zone *z = tz_zone_posix(spec);
	if (!z)
		fail_msg("%s: refused", spec);
	check_offset(z, utc, want);
}

/* POSIX TZ strings: the forms TZif footers use, and malformed ones. */
static void test_posix(void **state)
{
	(void)state;
	check_posix("<+0330>-3:30", "2030-06-01 00:00", 3 * HOUR + 1800);
	check_posix("EST5EDT,M3.2.0,M11.1.0", "2030-06-01 00:00", -4 * HOUR);
	check_posix("EST5EDT,M3.2.0,M11.1.0", "2030-01-01 00:00", -5 * HOUR);
	check_posix("EST5EDT", "2030-06-01 00:00", -4 * HOUR); /* US rules */
	/* Southern hemisphere: daylight time spans the new year. */
	check_posix("AEST-10AEDT,M10.1.0,M4.1.0/3", "2030-01-01 00:00", 11 * HOUR);
	check_posix("AEST-10AEDT,M10.1.0,M4.1.0/3", "2030-07-01 00:00", 10 * HOUR);
	/* Negative daylight saving (Dublin): winter is the "daylight" time. */
	check_posix("IST-1GMT0,M10.5.0,M3.5.0/1", "2030-01-01 00:00", 0);
	check_posix("IST-1GMT0,M10.5.0,M3.5.0/1", "2030-07-01 00:00", HOUR);
	/* RFC 8536's times past 24 h and below 0 (Gaza, Nuuk). */
	check_posix("EET-2EEST,M3.4.4/50,M10.4.4/50", "2030-03-29 23:59:59", 2 * HOUR);
	check_posix("EET-2EEST,M3.4.4/50,M10.4.4/50", "2030-03-30 00:00", 3 * HOUR);
	check_posix("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "2030-03-31 00:59:59", -2 * HOUR);
	check_posix("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "2030-03-31 01:00", -HOUR);
	/* Julian days: Jn never counts 29 February, n does. */
	check_posix("XXX3YYY,J60,J300", "2028-03-01 04:59:59", -3 * HOUR);
	check_posix("XXX3YYY,J60,J300", "2028-03-01 05:00", -2 * HOUR);
	check_posix("XXX3YYY,59,300", "2028-02-29 04:59:59", -3 * HOUR);
	check_posix("XXX3YYY,59,300", "2028-02-29 05:00", -2 * HOUR);
	check_posix("NST3:30NDT,M3.2.0,M11.1.0", "2030-01-01 00:00", -3 * HOUR - 1800);
	static const char *const bad[] = {
		"",
		"EST",
		"ES5",
		"EST5EDT,M3.2.0",
		"EST5EDT,M13.2.0,M11.1.0",
		"EST5EDT,M3.6.0,M11.1.0",
		"EST5EDT,M3.2.7,M11.1.0",
		"EST5EDT,M3.2.0,M11.1.0/168",
		"EST5EDT,J0,J365",
		"EST5EDT,M3.2.0,M11.1.0x",
		"EST25",
		"<+03",
		"Asia/Tehran",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (tz_zone_posix(bad[i]))
			fail_msg("\"%s\": taken for a POSIX TZ string", bad[i]);
}

/* ---- against glibc ---- */

static void set_tz(const char *name)
{
	char v[128];
	snprintf(v, sizeof v, ":%s", name);
	setenv("TZ", v, 1);
	tzset();
}

static long libc_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm))
		fail_msg("localtime_r(%lld) failed", (long long)t);
	return tm.tm_gmtoff;
}

/* Whether instant t reads wall under TZ. */
static bool reads(int64_t t, int64_t wall)
{
	return t + libc_offset(t) == wall;
}

static int64_t libc_mktime(int64_t wall)
{
	time_t tt = (time_t)wall;
	struct tm tm;
	gmtime_r(&tt, &tm);
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* Whether wall is explained by tz's rules where it differs from mktime's
 * got: in an overlap (both read it) tz takes the earlier instant; in a gap
 * (nothing reads it) the offset in force a day before. */
static bool overlap_or_gap(int64_t wall, int64_t got, int64_t m)
{
	long before = libc_offset(wall - DAY), after = libc_offset(wall + DAY);
	if (reads(wall - before, wall) && reads(wall - after, wall))
		return got < m && reads(got, wall) && reads(m, wall);
	if (!reads(wall - before, wall) && !reads(wall - after, wall))
		return got == wall - before;
	return false;
}

/* Every hour (every half hour for zones with half-hour offsets) from
 * 2019 to 2027: the offset as localtime_r has it; the wall time as mktime
 * reads it with tm_isdst = -1, but for the gaps and overlaps where mktime
 * decides otherwise: in an overlap it takes either instant, by the offset
 * its previous call found, and in Dublin's gap (where the "daylight" time
 * is winter's) it moves back, not forward. */
static void sweep(const char *name, int64_t step)
{
	const struct tz_zone *z = zone(name);
	set_tz(name);
	for (int64_t t = at("2019-01-01 00:00"); t < at("2027-01-01 00:00"); t += step) {
		long want = libc_offset(t);
		if (tz_offset_at(z, t) != want)
			fail_msg("%s at %lld: offset %d, localtime_r %ld", name, (long long)t,
				 tz_offset_at(z, t), want);
		int64_t wall = t, got;
		assert_int_equal(tz_local_to_utc(z, wall, &got), 0);
		int64_t m = libc_mktime(wall);
		if (got != m && !overlap_or_gap(wall, got, m))
			fail_msg("%s: wall %lld: tz %lld, mktime %lld", name, (long long)wall,
				 (long long)got, (long long)m);
	}
	unsetenv("TZ");
	tzset();
}

static void test_sweep_against_libc(void **state)
{
	(void)state;
	sweep("Europe/Berlin", HOUR);
	sweep("America/New_York", HOUR);
	sweep("Asia/Tehran", HOUR / 2);
	sweep("Australia/Sydney", HOUR);
	sweep("Europe/Dublin", HOUR);
	sweep("America/Nuuk", HOUR);
	sweep("Asia/Kolkata", HOUR / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tehran),
		cmocka_unit_test(test_berlin),
		cmocka_unit_test(test_new_york),
		cmocka_unit_test(test_utc),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_posix),
		cmocka_unit_test(test_sweep_against_libc),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tz_finalise();
	return rc;
}
