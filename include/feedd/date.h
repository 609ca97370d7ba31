/*
 * date: reads the dates found in RSS and Atom feeds and writes them back.
 *
 * Feeds carry RFC 822/2822 dates (RSS pubDate) with every variant that
 * hand-written templates produce, and RFC 3339 / ISO 8601 dates (Atom, Dublin
 * Core). Both are turned into seconds since the Unix epoch, UTC. A string that
 * could only be read by guessing (an ambiguous zone abbreviation, a missing
 * day) is refused rather than stored with a wrong time. No libc time-zone code
 * is used, so the functions are thread-safe and independent of TZ.
 */
#ifndef FEEDD_DATE_H
#define FEEDD_DATE_H

#include <stdint.h>

/* Parses a feed date (RFC 822/2822 and its real-world variants, or RFC 3339 / ISO 8601) into seconds since the Unix epoch, UTC. Returns 0, or -1 when s is not a date that can be read without guessing. */
int date_parse(const char *s, int64_t *out);

#define DATE_ISO_LEN 21 /* "YYYY-MM-DDTHH:MM:SSZ" and its NUL */

/* Writes t as "YYYY-MM-DDTHH:MM:SSZ". Returns 0, or -1 when t's year is outside 0..9999. */
int date_format_utc(int64_t t, char out[DATE_ISO_LEN]);

/* Days from 1970-01-01 to y-m-d (m 1..12, d 1..31), proleptic Gregorian, for
 * years from -400 on; and back, for days no earlier than year -400.  Pure
 * arithmetic, shared with the time-zone code. */
int64_t date_days_from_civil(int64_t y, int m, int d);
void date_civil_from_days(int64_t z, int64_t *y, int *m, int *d);

#endif
