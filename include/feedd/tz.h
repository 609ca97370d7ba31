/*
 * tz: time zones read from the tz database, without the environment.
 *
 * A zone is loaded from its TZif file (RFC 8536, versions 1 to 3) under
 * $TZDIR, else /usr/share/zoneinfo: its transitions (the 64-bit data of
 * version 2 and later when present), and for times after the last one the
 * POSIX TZ string of its footer ("CET-1CEST,M3.5.0,M10.5.0/3"); a file
 * without a footer keeps the last transition's offset.  Leap-second records
 * are ignored, as glibc's tm_gmtoff ignores them.
 *
 * Unlike mktime and localtime under a swapped TZ, nothing here reads or
 * writes the environment's TZ, and every function may be called from any
 * thread: loaded zones are immutable and kept in a cache behind a mutex,
 * freed by tz_finalise.  Loading a zone reads one file, once per process.
 *
 * Times are int64_t seconds since the epoch; a "wall" time is a local
 * wall-clock reading counted the same way, as if it were UTC.
 */
#ifndef FEEDD_TZ_H
#define FEEDD_TZ_H

#include <stdint.h>

struct tz_zone;

/* The directory zones are read from: $TZDIR when set and not empty (as
 * glibc does), else /usr/share/zoneinfo. */
const char *tz_dir(void);

/* The zone of that tz database name ("Asia/Tehran", "UTC"), loaded on first
 * use; NULL when the name is not a zone there (no file, not TZif, or a name
 * that is absolute or climbs out with ".."). */
const struct tz_zone *tz_zone(const char *name);

/* A zone made of a POSIX TZ string alone ("EST5EDT,M3.2.0,M11.1.0",
 * "<+0330>-3:30"; daylight time without rules follows the US rules, as
 * glibc's default); NULL when spec is not one. */
const struct tz_zone *tz_zone_posix(const char *spec);

/* The UTC offset in seconds (east positive) in force at instant t. */
int32_t tz_offset_at(const struct tz_zone *z, int64_t t);

/* The instant whose local time in z reads wall; 0, or -1 when wall is
 * beyond the years tz computes (about +-2^55 seconds).  A wall time the
 * clocks skipped (spring forward) is read with the offset in force before
 * the change, i.e. moved forward by the gap; one that happened twice (fall
 * back) is the earlier of the two instants.  These are the rules feedd
 * kept when it converted with localtime under a swapped TZ; mktime with
 * tm_isdst = -1 mostly agrees, but in an overlap picks by the offset its
 * previous call found, and in a gap where "daylight" time is the winter
 * one (Europe/Dublin) moves the time back. */
int tz_local_to_utc(const struct tz_zone *z, int64_t wall, int64_t *out);

/* Frees every loaded zone; the pointers handed out are invalid afterwards.
 * Call it once, at exit, when no other thread uses a zone. */
void tz_finalise(void);

#endif
