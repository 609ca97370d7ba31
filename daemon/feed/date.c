/*
 * date: a hand-written parser for feed dates, and the ISO 8601 formatter.
 *
 * RSS dates are RFC 822/2822 in theory and anything a template can produce in
 * practice; Atom and Dublin Core dates are RFC 3339 / ISO 8601. The parser
 * reads both with a cursor and no allocation, and says no (-1) whenever the
 * moment is not written down unambiguously, because a wrong date stored in
 * PostgreSQL is worse than a missing one. Decisions worth knowing:
 *
 *  - the weekday is skipped, never checked: feeds get it wrong often enough,
 *    and the day of the month is what the writer meant;
 *  - no zone at all means UTC; a zone abbreviation outside the table below
 *    (IST, BST, AST, ...) is refused, as is a military letter in an ISO date;
 *  - a numeric offset wins over a zone label written after it ("+0800 CST",
 *    as Go prints it): the label is skipped, a numeric label must agree;
 *  - "24:00[:00]" is the end of the day, i.e. the next day's 00:00, in ISO
 *    dates only (ISO 8601 defines it; RFC 2822 hours stop at 23);
 *  - second 60 is taken as the next second, wherever it appears;
 *  - a date without a time is midnight UTC; a year or year-month alone, and
 *    week or ordinal dates, are refused (the day would be a guess);
 *  - numeric day-month-year orders ("10/06/2003") are refused: which is the
 *    day and which the month cannot be told.
 *
 * Days are counted with int64 arithmetic from the proleptic Gregorian
 * calendar, not with mktime/timegm, so the code is thread-safe, ignores TZ and
 * works for every year 0..9999.
 */
#include "feedd/date.h"

#include "feedd/util.h"

#include <stdbool.h>
#include <stddef.h>

#define MAX_OFFSET_MIN (14 * 60)
#define SECS_PER_DAY 86400

/* Days from 0000-03-01 to 1970-01-01, and in one 400-year Gregorian cycle. */
#define DAYS_0000_03_01_TO_EPOCH 719468
#define DAYS_PER_400Y 146097

/* A date as written, before the zone offset is applied. */
struct when {
	int64_t year;
	int mon, day, hour, min, sec;
	int off; /* minutes east of UTC */
};

struct name_val {
	const char *name; /* lower case */
	int val;
};

static const struct name_val months[] = {
	{"jan", 1},   {"january", 1},	{"feb", 2},	  {"february", 2},  {"mar", 3},
	{"march", 3}, {"apr", 4},	{"april", 4},	  {"may", 5},	    {"jun", 6},
	{"june", 6},  {"jul", 7},	{"july", 7},	  {"aug", 8},	    {"august", 8},
	{"sep", 9},   {"sept", 9},	{"september", 9}, {"oct", 10},	    {"october", 10},
	{"nov", 11},  {"november", 11}, {"dec", 12},	  {"december", 12},
};

static const char *const weekdays[] = {
	"mon",	"monday", "tue",      "tues", "tuesday", "wed", "weds",	    "wednesday", "thu",
	"thur", "thurs",  "thursday", "fri",  "friday",	 "sat", "saturday", "sun",	 "sunday",
};

/*
 * Zone names in minutes east of UTC: RFC 822's own, then abbreviations real
 * feeds use that mean one thing only. CST is RFC 822's US Central. MSK is
 * +03:00 (it was +04:00 only in 2011-2014).
 */
static const struct name_val zones[] = {
	{"gmt", 0},    {"ut", 0},     {"utc", 0},     {"est", -300},  {"edt", -240}, {"cst", -360},
	{"cdt", -300}, {"mst", -420}, {"mdt", -360},  {"pst", -480},  {"pdt", -420}, {"cet", 60},
	{"cest", 120}, {"eet", 120},  {"eest", 180},  {"wet", 0},     {"west", 60},  {"msk", 180},
	{"jst", 540},  {"kst", 540},  {"hkt", 480},   {"sgt", 480},   {"aest", 600}, {"aedt", 660},
	{"acst", 570}, {"acdt", 630}, {"awst", 480},  {"nzst", 720},  {"nzdt", 780}, {"irst", 210},
	{"irdt", 270}, {"hst", -600}, {"akst", -540}, {"akdt", -480},
};

/* ASCII only: the C library's ctype follows the locale. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static const char *skip_space(const char *p)
{
	while (is_space(*p))
		p++;
	return p;
}

/* Skips whitespace with at most one comma in it ("Tue,10", "10 Jun, 2003"). */
static const char *skip_sep(const char *p)
{
	p = skip_space(p);
	if (*p == ',')
		p = skip_space(p + 1);
	return p;
}

static size_t digit_run(const char *p)
{
	size_t n = 0;
	while (is_digit(p[n]))
		n++;
	return n;
}

static size_t alpha_run(const char *p)
{
	size_t n = 0;
	while (is_alpha(p[n]))
		n++;
	return n;
}

/* The value of the n (at most 4) digits at p. */
static int digits_value(const char *p, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (p[i] - '0');
	return v;
}

/* Reads a run of min..max digits; a longer run is refused rather than split. */
static const char *read_num(const char *p, size_t min, size_t max, int *val)
{
	size_t n = digit_run(p);
	if (n < min || n > max)
		return NULL;
	*val = digits_value(p, n);
	return p + n;
}

/* Whether the n letters at p are name (lower case), ignoring case. */
static bool word_is(const char *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (name[i] == '\0' || to_lower(p[i]) != name[i])
			return false;
	return name[n] == '\0';
}

/* Looks up the n letters at p in a table; 0, or -1 when absent. */
static int lookup(const struct name_val *t, size_t len, const char *p, size_t n, int *val)
{
	for (size_t i = 0; i < len; i++) {
		if (word_is(p, n, t[i].name)) {
			*val = t[i].val;
			return 0;
		}
	}
	return -1;
}

static bool is_weekday(const char *p, size_t n)
{
	for (size_t i = 0; i < ARRAY_LEN(weekdays); i++)
		if (word_is(p, n, weekdays[i]))
			return true;
	return false;
}

/* Reads a 2-, 3- or 4-digit year; RFC 2822 4.3: 00-49 is 20xx, 50-99 and
 * three digits are 1900 plus the number. */
static const char *read_year(const char *p, int64_t *year)
{
	size_t n = digit_run(p);
	if (n < 2 || n > 4)
		return NULL;
	int y = digits_value(p, n);
	if (n == 2)
		y += y < 50 ? 2000 : 1900;
	else if (n == 3)
		y += 1900;
	*year = y;
	return p + n;
}

/* Skips a fraction of a second: truncated, because rounding could move the
 * date to the next day. ',' is ISO 8601's other decimal sign, not RFC 822's. */
static const char *skip_fraction(const char *p, bool comma, bool *zero)
{
	*zero = true;
	if (!(*p == '.' || (comma && *p == ',')) || !is_digit(p[1]))
		return p;
	for (p++; is_digit(*p); p++)
		if (*p != '0')
			*zero = false;
	return p;
}

/* Reads "h:mm[:ss[.fff]]" with at least hmin hour digits; RFC 822 dates in
 * the wild write "4:00", ISO ones never do. */
static const char *read_clock(const char *p, size_t hmin, bool iso, struct when *w, bool *frac_zero)
{
	*frac_zero = true;
	p = read_num(p, hmin, 2, &w->hour);
	if (!p || *p != ':')
		return NULL;
	p = read_num(p + 1, 2, 2, &w->min);
	if (!p)
		return NULL;
	w->sec = 0;
	if (*p == ':') {
		p = read_num(p + 1, 2, 2, &w->sec);
		if (!p)
			return NULL;
		p = skip_fraction(p, iso, frac_zero);
	}
	return p;
}

/* Reads an optional "AM"/"PM" after the clock; 12 AM is midnight. */
static const char *read_meridiem(const char *p, int *hour)
{
	const char *q = skip_space(p);
	size_t n = alpha_run(q);
	bool pm = word_is(q, n, "pm");
	if (!pm && !word_is(q, n, "am"))
		return p;
	if (*hour < 1 || *hour > 12)
		return NULL;
	*hour = *hour % 12 + (pm ? 12 : 0);
	return q + n;
}

/* Reads "+hhmm", "+hh:mm", "+hh" or "+h" (either sign) within +-14:00. */
static const char *read_offset(const char *p, int *off)
{
	int sign = *p == '-' ? -1 : 1;
	int h, m = 0;
	size_t n = digit_run(++p);
	if (n == 4) {
		h = digits_value(p, 2);
		m = digits_value(p + 2, 2);
		p += 4;
	} else if (n == 1 || n == 2) {
		h = digits_value(p, n);
		p += n;
		if (*p == ':') {
			p = read_num(p + 1, 2, 2, &m);
			if (!p)
				return NULL;
		}
	} else {
		return NULL;
	}
	if (m > 59 || h * 60 + m > MAX_OFFSET_MIN)
		return NULL;
	*off = sign * (h * 60 + m);
	return p;
}

/* Reads a zone: a numeric offset (*numeric set), a name from the table,
 * "GMT+hh[mm]" and its UT/UTC kin, or, where military is set, one of RFC
 * 822's letters (A = -1h .. M = -12h, N = +1h .. Y = +12h, no J). */
static const char *read_zone(const char *p, bool military, int *off, bool *numeric)
{
	*numeric = *p == '+' || *p == '-';
	if (*numeric)
		return read_offset(p, off);
	size_t n = alpha_run(p);
	if (n == 1) {
		char c = to_lower(*p);
		if (c == 'z')
			*off = 0;
		else if (!military || c == 'j')
			return NULL;
		else if (c <= 'i')
			*off = -60 * (c - 'a' + 1);
		else if (c <= 'm')
			*off = -60 * (c - 'a');
		else
			*off = 60 * (c - 'n' + 1);
		return p + 1;
	}
	if (n == 0 || lookup(zones, ARRAY_LEN(zones), p, n, off) < 0)
		return NULL;
	const char *q = p + n;
	if ((*q == '+' || *q == '-') &&
	    (word_is(p, n, "gmt") || word_is(p, n, "ut") || word_is(p, n, "utc")))
		return read_offset(q, off);
	return q;
}

/*
 * Skips what some generators write after a numeric offset: Go's "+0000 UTC",
 * "+0800 CST" or "+0300 +03". The number is explicit, so an upper-case
 * abbreviation is skipped whatever it would mean; a numeric one must agree.
 * Anything else is left for the trailer check to refuse.
 */
static const char *skip_zone_label(const char *p, int off)
{
	const char *q = skip_space(p);
	if (q == p)
		return p;
	if (*q == '+' || *q == '-') {
		int again;
		const char *r = read_offset(q, &again);
		return r && again == off ? r : NULL;
	}
	size_t n = alpha_run(q);
	if (n < 2 || n > 5)
		return p;
	for (size_t i = 0; i < n; i++)
		if (q[i] < 'A' || q[i] > 'Z')
			return p;
	return q + n;
}

/* Reads the zone after the clock, if any; none means UTC. */
static const char *read_zone_opt(const char *p, bool military, int *off)
{
	const char *q = skip_space(p);
	bool numeric;
	*off = 0;
	if (*q == '\0' || *q == '(' || is_digit(*q))
		return p;
	p = read_zone(q, military, off, &numeric);
	if (p && numeric)
		p = skip_zone_label(p, *off);
	return p;
}

/* Whether only whitespace and RFC 2822 comments (nested, with quoted pairs)
 * are left: "+0000 (UTC)" is common, anything else after a date is not. */
static bool only_trailer(const char *p)
{
	for (;;) {
		p = skip_space(p);
		if (*p == '\0')
			return true;
		if (*p != '(')
			return false;
		size_t depth = 0;
		do {
			if (*p == '\0')
				return false;
			if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			else if (*p == '\\' && *++p == '\0')
				return false;
			p++;
		} while (depth > 0);
	}
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* The year is counted from March so that the leap day ends it, and moved
 * 400 years (a whole number of days) forward so that no division meets a
 * negative number. */
int64_t date_days_from_civil(int64_t y, int m, int d)
{
	y += 400;
	if (m <= 2) {
		y--;
		m += 12;
	}
	int64_t era = y / 400;
	int64_t yoe = y % 400;
	int64_t doy = (153 * (m - 3) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * DAYS_PER_400Y + doe - DAYS_0000_03_01_TO_EPOCH - DAYS_PER_400Y;
}

/* The inverse of date_days_from_civil, for z no earlier than year -400. */
void date_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += DAYS_0000_03_01_TO_EPOCH + DAYS_PER_400Y;
	int64_t era = z / DAYS_PER_400Y;
	int64_t doe = z - era * DAYS_PER_400Y;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + (era - 1) * 400 + (*m <= 2);
}

/* Checks every field and turns w into seconds since the epoch; 0 or -1.
 * allow_24 admits ISO 8601's "24:00:00", the next day's midnight. */
static int finish(const struct when *w, bool allow_24, int64_t *out)
{
	if (w->year < 1 || w->year > 9999 || w->mon < 1 || w->mon > 12)
		return -1;
	if (w->day < 1 || w->day > days_in_month(w->year, w->mon))
		return -1;
	if (w->min > 59 || w->sec > 60)
		return -1;
	if (w->hour > 23 && !(allow_24 && w->hour == 24 && w->min == 0 && w->sec == 0))
		return -1;
	*out = date_days_from_civil(w->year, w->mon, w->day) * SECS_PER_DAY + w->hour * 3600 +
		w->min * 60 + w->sec - (int64_t)w->off * 60;
	return 0;
}

/* RFC 3339 / ISO 8601: "2003-06-10[(T| )04:00[:00[.5]]][zone]", or the basic
 * "20030610[T0400[00[.5]]][zone]". p is at the year, which date_parse has seen
 * is four digits and a '-', or eight digits. */
static int parse_iso(const char *p, int64_t *out)
{
	struct when w = {0};
	bool basic = digit_run(p) == 8;
	bool frac_zero = true;

	if (basic) {
		w.year = digits_value(p, 4);
		w.mon = digits_value(p + 4, 2);
		w.day = digits_value(p + 6, 2);
		p += 8;
	} else {
		w.year = digits_value(p, 4);
		p = read_num(p + 5, 1, 2, &w.mon);
		if (!p || *p != '-')
			return -1;
		p = read_num(p + 1, 1, 2, &w.day);
		if (!p)
			return -1;
	}

	const char *q = p;
	if (*p == 'T' || *p == 't')
		q = p + 1;
	else if (!basic && is_space(*p) && is_digit(*skip_space(p)))
		q = skip_space(p);
	if (q == p)
		return only_trailer(p) ? finish(&w, false, out) : -1;

	if (basic) {
		size_t n = digit_run(q);
		if (n != 4 && n != 6)
			return -1;
		w.hour = digits_value(q, 2);
		w.min = digits_value(q + 2, 2);
		p = q + 4;
		if (n == 6) {
			w.sec = digits_value(q + 4, 2);
			p = skip_fraction(q + 6, true, &frac_zero);
		}
	} else {
		p = read_clock(q, 2, true, &w, &frac_zero);
		if (!p)
			return -1;
	}

	p = read_zone_opt(p, false, &w.off);
	if (!p || !only_trailer(p))
		return -1;
	return finish(&w, frac_zero, out);
}

/*
 * RFC 822/2822 and what feeds make of it: "[Tue[.][,]] 10 Jun[,] 2003[,]
 * [4:00[:00] [PM]] [zone]", "10-Jun-03 ..." (RFC 850), "Jun 10, 2003 ..."
 * and asctime's "Tue Jun 10 04:00:00 [zone] 2003".
 * One function of ~90 lines on purpose: the forms share a single left to
 * right scan whose optional parts decide what may follow; cut into pieces,
 * that state would be threaded through every piece.
 */
static int parse_rfc(const char *p, int64_t *out)
{
	struct when w = {0};
	bool frac_zero;
	const char *q;
	size_t n = alpha_run(p);

	if (n > 0 && is_weekday(p, n)) {
		p += n;
		bool dot = *p == '.';
		p += dot;
		q = skip_sep(p);
		if (q == p && !dot)
			return -1;
		p = q;
		n = alpha_run(p);
	}

	if (n > 0) {
		/* month first: "Jun 10, 2003 ..." or asctime */
		if (lookup(months, ARRAY_LEN(months), p, n, &w.mon) < 0)
			return -1;
		p += n;
		p += *p == '.';
		q = skip_space(p);
		if (q == p)
			return -1;
		p = read_num(q, 1, 2, &w.day);
		if (!p)
			return -1;
		q = skip_sep(p);
		if (q == p)
			return -1;
		n = digit_run(q);
		if (q[n] == ':') {
			/* asctime: the clock, maybe a zone, then the year */
			p = read_clock(q, 1, false, &w, &frac_zero);
			if (p)
				p = read_meridiem(p, &w.hour);
			if (p)
				p = read_zone_opt(p, true, &w.off);
			if (!p)
				return -1;
			q = skip_space(p);
			if (q == p)
				return -1;
			p = read_year(q, &w.year);
			if (!p || !only_trailer(p))
				return -1;
			return finish(&w, false, out);
		}
		p = read_year(q, &w.year);
	} else {
		p = read_num(p, 1, 2, &w.day);
		if (!p)
			return -1;
		if (*p == '-') {
			/* RFC 850: "10-Jun-03" */
			n = alpha_run(++p);
			if (lookup(months, ARRAY_LEN(months), p, n, &w.mon) < 0 || p[n] != '-')
				return -1;
			p += n + 1;
		} else {
			q = skip_sep(p);
			if (q == p)
				return -1;
			n = alpha_run(q);
			if (lookup(months, ARRAY_LEN(months), q, n, &w.mon) < 0)
				return -1;
			p = q + n;
			p += *p == '.';
			q = skip_sep(p);
			if (q == p)
				return -1;
			p = q;
		}
		p = read_year(p, &w.year);
	}
	if (!p)
		return -1;

	q = skip_sep(p);
	if (!is_digit(*q))
		return only_trailer(p) ? finish(&w, false, out) : -1;
	p = read_clock(q, 1, false, &w, &frac_zero);
	if (p)
		p = read_meridiem(p, &w.hour);
	if (p)
		p = read_zone_opt(p, true, &w.off);
	if (!p || !only_trailer(p))
		return -1;
	return finish(&w, false, out);
}

int date_parse(const char *s, int64_t *out)
{
	const char *p = skip_space(s);
	size_t n = digit_run(p);
	int64_t t;
	int r;

	if ((n == 4 && p[4] == '-') || n == 8)
		r = parse_iso(p, &t);
	else
		r = parse_rfc(p, &t);
	if (r == 0)
		*out = t;
	return r;
}

/* Writes v as exactly width decimal digits. */
static char *put_digits(char *o, int64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		o[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return o + width;
}

int date_format_utc(int64_t t, char out[DATE_ISO_LEN])
{
	/* The range check comes first so no arithmetic below can overflow. */
	const int64_t lo = date_days_from_civil(0, 1, 1) * SECS_PER_DAY;
	const int64_t hi = date_days_from_civil(10000, 1, 1) * SECS_PER_DAY;
	if (t < lo || t >= hi)
		return -1;

	int64_t days = t / SECS_PER_DAY;
	int64_t secs = t % SECS_PER_DAY;
	if (secs < 0) {
		secs += SECS_PER_DAY;
		days--;
	}
	int64_t y;
	int m, d;
	date_civil_from_days(days, &y, &m, &d);

	char *o = put_digits(out, y, 4);
	*o++ = '-';
	o = put_digits(o, m, 2);
	*o++ = '-';
	o = put_digits(o, d, 2);
	*o++ = 'T';
	o = put_digits(o, secs / 3600, 2);
	*o++ = ':';
	o = put_digits(o, secs / 60 % 60, 2);
	*o++ = ':';
	o = put_digits(o, secs % 60, 2);
	*o++ = 'Z';
	*o = '\0';
	return 0;
}
