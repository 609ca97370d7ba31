/*
 * tz: TZif files and POSIX TZ strings read into offsets (the contract is in
 * include/feedd/tz.h).
 *
 * A zone is flattened into what conversions need: the instants of its
 * transitions with the offset each one starts, the offset before the first
 * (time type 0, as RFC 8536 says), and the footer's rule for later times.
 * Everything is then answered through one question, "which period of
 * constant offset holds instant t", so that converting a local time is a
 * walk over the few periods a wall-clock reading can fall into.  Time-type
 * names, the standard/wall and UT/local indicators and leap seconds are
 * read past: no offset depends on them.
 */
#include "feedd/tz.h"

#include "feedd/date.h"
#include "feedd/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Real TZif files are under 4 KiB; anything this large is not one. */
#define TZ_FILE_MAX ((size_t)256 << 10)
/* Instants and wall times handled: about 1.1 billion years either way,
 * which keeps every sum below far from overflowing. */
#define TZ_LIMIT ((int64_t)1 << 55)
#define SECS_PER_DAY 86400
#define SECS_PER_HOUR 3600
/* The footer's rules are evaluated for the years around t, from year 0 on
 * (the calendar code's range) and up to where TZ_LIMIT ends. */
#define RULE_YEAR_MIN 0
#define RULE_YEAR_MAX 1200000000
#define RULE_YEARS_AROUND 2
#define RULE_EVENTS (2 * (2 * RULE_YEARS_AROUND + 1))

/* The day a POSIX rule changes the clocks on. */
enum rule_kind {
	RULE_JULIAN,	  /* Jn: day n of 1..365, 29 February never counted */
	RULE_DAY_OF_YEAR, /* n: day n of 0..365, 29 February counted */
	RULE_MONTH_WEEK,  /* Mm.w.d: weekday d of week w (5: the last) of month m */
};

struct rule {
	enum rule_kind kind;
	int day, week, month;
	int32_t secs; /* local time of day of the change, -167h..167h */
};

/* A POSIX TZ string: "STD offset [DST [offset] [,start[/time],end[/time]]]". */
struct posix_tz {
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	struct rule start, end; /* into and out of daylight time */
};

struct tz_zone {
	size_t n_trans;
	int64_t *trans;	    /* ascending */
	int32_t *trans_off; /* the offset from trans[i] on */
	int32_t first_off;  /* before trans[0] */
	bool has_footer;
	struct posix_tz footer; /* from the last transition on */
	int32_t min_off, max_off;
};

/* A stretch of constant offset, [start, end); INT64_MIN and INT64_MAX stand
 * for no bound. */
struct period {
	int64_t start, end;
	int32_t off;
};

/* ---- POSIX TZ strings ---- */

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An abbreviation: three or more letters, or "<...>" holding letters,
 * digits, '+' and '-'. */
static bool parse_abbr(const char **s)
{
	const char *p = *s;
	size_t n = 0;
	if (*p == '<') {
		p++;
		while (is_alpha(p[n]) || is_digit(p[n]) || p[n] == '+' || p[n] == '-')
			n++;
		if (n < 3 || p[n] != '>')
			return false;
		*s = p + n + 1;
		return true;
	}
	while (is_alpha(p[n]))
		n++;
	if (n < 3)
		return false;
	*s = p + n;
	return true;
}

/* An unsigned decimal of one to max_digits digits. */
static bool parse_num(const char **s, int max_digits, int *out)
{
	int n = 0, v = 0;
	while (n < max_digits && is_digit((*s)[n])) {
		v = v * 10 + ((*s)[n] - '0');
		n++;
	}
	if (n == 0)
		return false;
	*s += n;
	*out = v;
	return true;
}

/* "[+-]hh[:mm[:ss]]" with hh at most max_hours, into seconds. */
static bool parse_hms(const char **s, int max_hours, int32_t *out)
{
	const char *p = *s;
	int sign = 1, h, m = 0, sec = 0;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!parse_num(&p, 3, &h) || h > max_hours)
		return false;
	if (*p == ':') {
		p++;
		if (!parse_num(&p, 2, &m) || m > 59)
			return false;
		if (*p == ':') {
			p++;
			if (!parse_num(&p, 2, &sec) || sec > 59)
				return false;
		}
	}
	*s = p;
	*out = sign * (h * SECS_PER_HOUR + m * 60 + sec);
	return true;
}

/* ",date[/time]"; the time is 02:00 when not given, and may run from -167
 * to 167 hours (RFC 8536's extension of POSIX). */
static bool parse_rule(const char **s, struct rule *r)
{
	const char *p = *s;
	if (*p++ != ',')
		return false;
	bool ok;
	if (*p == 'J') {
		p++;
		r->kind = RULE_JULIAN;
		ok = parse_num(&p, 3, &r->day) && r->day >= 1 && r->day <= 365;
	} else if (*p == 'M') {
		p++;
		r->kind = RULE_MONTH_WEEK;
		ok = parse_num(&p, 2, &r->month) && r->month >= 1 && r->month <= 12 &&
			*p++ == '.' && parse_num(&p, 1, &r->week) && r->week >= 1 && r->week <= 5 &&
			*p++ == '.' && parse_num(&p, 1, &r->day) && r->day <= 6;
	} else {
		r->kind = RULE_DAY_OF_YEAR;
		ok = parse_num(&p, 3, &r->day) && r->day <= 365;
	}
	if (!ok)
		return false;
	r->secs = 2 * SECS_PER_HOUR;
	if (*p == '/') {
		p++;
		if (!parse_hms(&p, 167, &r->secs))
			return false;
	}
	*s = p;
	return true;
}

/* The whole string s into tz; false unless it is one well-formed rule. */
static bool parse_posix(const char *s, struct posix_tz *tz)
{
	int32_t west;
	memset(tz, 0, sizeof *tz);
	if (!parse_abbr(&s) || !parse_hms(&s, 24, &west))
		return false;
	/* POSIX counts hours west of Greenwich; offsets here are east. */
	tz->std_off = -west;
	tz->dst_off = tz->std_off;
	if (*s == '\0')
		return true;
	if (!parse_abbr(&s))
		return false;
	tz->has_dst = true;
	tz->dst_off = tz->std_off + SECS_PER_HOUR;
	if (*s == '+' || *s == '-' || is_digit(*s)) {
		if (!parse_hms(&s, 24, &west))
			return false;
		tz->dst_off = -west;
	}
	if (*s == '\0') {
		/* No rules: the US rules since 2007, glibc's default. */
		tz->start = (struct rule){RULE_MONTH_WEEK, 0, 2, 3, 2 * SECS_PER_HOUR};
		tz->end = (struct rule){RULE_MONTH_WEEK, 0, 1, 11, 2 * SECS_PER_HOUR};
		return true;
	}
	return parse_rule(&s, &tz->start) && parse_rule(&s, &tz->end) && *s == '\0';
}

/* ---- the footer's periods ---- */

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The day (since the epoch) on which r changes the clocks in year y. */
static int64_t rule_day(const struct rule *r, int64_t y)
{
	int64_t jan1 = date_days_from_civil(y, 1, 1);
	switch (r->kind) {
	case RULE_JULIAN:
		return jan1 + r->day - 1 + (is_leap(y) && r->day >= 60);
	case RULE_DAY_OF_YEAR:
		return jan1 + r->day;
	case RULE_MONTH_WEEK:
		break;
	}
	int64_t first = date_days_from_civil(y, r->month, 1);
	int64_t next = r->month == 12 ? date_days_from_civil(y + 1, 1, 1)
				      : date_days_from_civil(y, r->month + 1, 1);
	/* 1970-01-01, day 0, was a Thursday (4). */
	int64_t first_wday = ((first % 7) + 7 + 4) % 7;
	int64_t day = first + (r->day - first_wday + 7) % 7 + (int64_t)(r->week - 1) * 7;
	while (day >= next)
		day -= 7; /* week 5 of a month with four such weekdays */
	return day;
}

/* A change of the clocks: the instant and the offset from then on. */
struct event {
	int64_t at;
	int32_t off;
};

/* The changes of years y - RULE_YEARS_AROUND .. y + RULE_YEARS_AROUND, in
 * time order.  Each year's rule times are local times of the offset then in
 * force: standard time for the start, daylight time for the end. */
static void rule_events(const struct posix_tz *f, int64_t y, struct event ev[RULE_EVENTS])
{
	size_t n = 0;
	for (int64_t yy = y - RULE_YEARS_AROUND; yy <= y + RULE_YEARS_AROUND; yy++) {
		struct event s = {rule_day(&f->start, yy) * SECS_PER_DAY + f->start.secs -
					  f->std_off,
				  f->dst_off};
		struct event e = {rule_day(&f->end, yy) * SECS_PER_DAY + f->end.secs - f->dst_off,
				  f->std_off};
		/* A year's own order first, so that on a tie with the next
		 * year (daylight time all year: the end falls on the next
		 * start) the later year's change wins. */
		ev[n++] = s.at <= e.at ? s : e;
		ev[n++] = s.at <= e.at ? e : s;
	}
	/* Insertion sort, stable: rule times of +-167 hours can reorder
	 * neighbouring years' changes only in contrived rules. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && ev[j - 1].at > ev[j].at; j--) {
			struct event tmp = ev[j];
			ev[j] = ev[j - 1];
			ev[j - 1] = tmp;
		}
}

/* The period of footer f that holds t, starting no earlier than from. */
static void footer_period(const struct posix_tz *f, int64_t t, int64_t from, struct period *p)
{
	if (!f->has_dst) {
		*p = (struct period){from, INT64_MAX, f->std_off};
		return;
	}
	int64_t y, day = t / SECS_PER_DAY - (t % SECS_PER_DAY < 0);
	int m, d;
	if (day < date_days_from_civil(RULE_YEAR_MIN, 1, 1))
		y = RULE_YEAR_MIN;
	else if (day >= date_days_from_civil(RULE_YEAR_MAX, 1, 1))
		y = RULE_YEAR_MAX;
	else
		date_civil_from_days(day, &y, &m, &d);
	struct event ev[RULE_EVENTS];
	rule_events(f, y, ev);
	/* Before the first change, the clocks read what it changes from. */
	*p = (struct period){INT64_MIN, INT64_MAX,
			     ev[0].off == f->dst_off ? f->std_off : f->dst_off};
	for (size_t i = 0; i < RULE_EVENTS; i++) {
		if (ev[i].at > t) {
			p->end = ev[i].at;
			break;
		}
		p->start = ev[i].at;
		p->off = ev[i].off;
	}
	if (p->start < from)
		p->start = from;
}

/* ---- periods of a zone ---- */

/* The period of z that holds t. */
static void period_at(const struct tz_zone *z, int64_t t, struct period *p)
{
	size_t n = z->n_trans;
	if (n == 0 && z->has_footer) {
		/* RFC 8536: without transitions the footer holds throughout. */
		footer_period(&z->footer, t, INT64_MIN, p);
		return;
	}
	if (n == 0 || t < z->trans[0]) {
		*p = (struct period){INT64_MIN, n ? z->trans[0] : INT64_MAX, z->first_off};
		return;
	}
	/* The last transition at or before t. */
	size_t lo = 0, hi = n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	if (lo + 1 < n)
		*p = (struct period){z->trans[lo], z->trans[lo + 1], z->trans_off[lo]};
	else if (z->has_footer)
		footer_period(&z->footer, t, z->trans[lo], p);
	else
		*p = (struct period){z->trans[lo], INT64_MAX, z->trans_off[lo]};
}

static int64_t clamp(int64_t t)
{
	return t < -TZ_LIMIT ? -TZ_LIMIT : t > TZ_LIMIT ? TZ_LIMIT : t;
}

int32_t tz_offset_at(const struct tz_zone *z, int64_t t)
{
	struct period p;
	period_at(z, clamp(t), &p);
	return p.off;
}

/*
 * The instants that read wall are wall - off for the offset off of the
 * period each falls in, so only the periods within [wall - max_off,
 * wall - min_off] need looking at, in time order: the first whose own
 * reading fits is the earliest instant.  When none fits, wall lies in a
 * gap, and the offset in force before it is that of the last period whose
 * start wall does not precede.
 */
int tz_local_to_utc(const struct tz_zone *z, int64_t wall, int64_t *out)
{
	if (wall < -TZ_LIMIT || wall > TZ_LIMIT)
		return -1;
	int64_t last = wall - z->min_off;
	struct period p;
	period_at(z, wall - z->max_off, &p);
	int32_t before = p.off;
	for (;;) {
		int64_t t = wall - p.off;
		if (t >= p.start && t < p.end) {
			*out = t;
			return 0;
		}
		if (t >= p.start)
			before = p.off;
		if (p.end > last)
			break;
		period_at(z, p.end, &p);
	}
	*out = wall - before;
	return 0;
}

/* ---- TZif files ---- */

struct tzif_header {
	char version; /* 0, '2', '3', ... */
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

#define TZIF_HEADER_LEN 44

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool read_header(const unsigned char *p, size_t len, struct tzif_header *h)
{
	if (len < TZIF_HEADER_LEN || memcmp(p, "TZif", 4) != 0)
		return false;
	h->version = (char)p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return h->typecnt > 0;
}

/* The length of the data block after h, with timesize-byte times. */
static size_t block_len(const struct tzif_header *h, size_t timesize)
{
	return (size_t)h->timecnt * (timesize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
		(size_t)h->leapcnt * (timesize + 4) + h->isstdcnt + h->isutcnt;
}

/* Reads the transitions and offsets of the data block at p into z. */
static bool read_block(const unsigned char *p, const struct tzif_header *h, size_t timesize,
		       struct tz_zone *z)
{
	const unsigned char *times = p, *idx = p + (size_t)h->timecnt * timesize;
	const unsigned char *types = idx + h->timecnt;
	for (uint32_t i = 0; i < h->typecnt; i++)
		if ((int32_t)be32(types + 6 * (size_t)i) == INT32_MIN)
			return false; /* RFC 8536 forbids it: it has no negation */
	z->n_trans = h->timecnt;
	z->trans = xcalloc(h->timecnt + 1, sizeof *z->trans);
	z->trans_off = xcalloc(h->timecnt + 1, sizeof *z->trans_off);
	z->first_off = (int32_t)be32(types);
	for (uint32_t i = 0; i < h->timecnt; i++) {
		const unsigned char *t = times + (size_t)i * timesize;
		z->trans[i] = timesize == 8 ? be64(t) : (int32_t)be32(t);
		if (idx[i] >= h->typecnt || (i > 0 && z->trans[i] < z->trans[i - 1]))
			return false;
		z->trans_off[i] = (int32_t)be32(types + 6 * (size_t)idx[i]);
	}
	return true;
}

/* The footer "\nTZ string\n" at p[0..len); an empty one (no rule for later
 * times) and a missing one leave z without, as does one that is not a
 * POSIX TZ string: glibc then keeps the last transition's offset too. */
static void read_footer(const unsigned char *p, size_t len, struct tz_zone *z)
{
	if (len < 2 || p[0] != '\n')
		return;
	const unsigned char *nl = memchr(p + 1, '\n', len - 1);
	if (!nl || nl == p + 1)
		return;
	char *spec = xstrndup((const char *)p + 1, (size_t)(nl - p - 1));
	z->has_footer = strlen(spec) == (size_t)(nl - p - 1) && parse_posix(spec, &z->footer);
	free(spec);
}

static void widen(struct tz_zone *z, int32_t off)
{
	if (off < z->min_off)
		z->min_off = off;
	if (off > z->max_off)
		z->max_off = off;
}

/* The smallest and largest offsets z ever has, for tz_local_to_utc. */
static void offset_bounds(struct tz_zone *z)
{
	z->min_off = z->max_off = z->first_off;
	for (size_t i = 0; i < z->n_trans; i++)
		widen(z, z->trans_off[i]);
	if (z->has_footer) {
		widen(z, z->footer.std_off);
		widen(z, z->footer.dst_off);
	}
}

static void zone_free(struct tz_zone *z)
{
	if (z) {
		free(z->trans);
		free(z->trans_off);
		free(z);
	}
}

/* A TZif file's bytes into a new zone, or NULL.  Version 1 files are read
 * from their 32-bit block; later ones from the 64-bit block and footer
 * that follow it. */
static struct tz_zone *parse_tzif(const unsigned char *p, size_t len)
{
	struct tzif_header h;
	if (!read_header(p, len, &h))
		return NULL;
	size_t at = TZIF_HEADER_LEN, timesize = 4;
	if (len - at < block_len(&h, 4))
		return NULL;
	if (h.version >= '2') {
		at += block_len(&h, 4);
		if (!read_header(p + at, len - at, &h))
			return NULL;
		at += TZIF_HEADER_LEN;
		timesize = 8;
		if (len - at < block_len(&h, 8))
			return NULL;
	}
	struct tz_zone *z = xcalloc(1, sizeof *z);
	if (!read_block(p + at, &h, timesize, z)) {
		zone_free(z);
		return NULL;
	}
	at += block_len(&h, timesize);
	if (timesize == 8)
		read_footer(p + at, len - at, z);
	offset_bounds(z);
	return z;
}

const char *tz_dir(void)
{
	const char *dir = getenv("TZDIR");
	return dir && *dir ? dir : "/usr/share/zoneinfo";
}

static struct tz_zone *load_zone(const char *name)
{
	if (!*name || name[0] == '/' || strstr(name, ".."))
		return NULL;
	struct buf path, data;
	buf_init(&path);
	buf_init(&data);
	buf_printf(&path, "%s/%s", tz_dir(), name);
	bool truncated;
	struct tz_zone *z = NULL;
	if (read_file_capped(buf_str(&path), TZ_FILE_MAX, &data, &truncated) == 0 && !truncated)
		z = parse_tzif((const unsigned char *)buf_str(&data), data.len);
	buf_free(&path);
	buf_free(&data);
	return z;
}

static struct tz_zone *make_posix(const char *spec)
{
	struct posix_tz f;
	if (!parse_posix(spec, &f))
		return NULL;
	struct tz_zone *z = xcalloc(1, sizeof *z);
	z->first_off = f.std_off;
	z->has_footer = true;
	z->footer = f;
	offset_bounds(z);
	return z;
}

/* ---- the cache ---- */

/* Zones loaded so far, by kind and name; a zone is never changed once
 * here, so only the list itself needs the lock. */
struct cached {
	struct cached *next;
	bool posix;
	char *name;
	struct tz_zone *zone;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached *cache;

static const struct tz_zone *cache_find(bool posix, const char *name)
{
	for (const struct cached *c = cache; c; c = c->next)
		if (c->posix == posix && strcmp(c->name, name) == 0)
			return c->zone;
	return NULL;
}

/* The cached zone of that kind and name, loading it (outside the lock: a
 * file is read) when it is not there yet. */
static const struct tz_zone *cached_zone(bool posix, const char *name)
{
	pthread_mutex_lock(&cache_lock);
	const struct tz_zone *z = cache_find(posix, name);
	pthread_mutex_unlock(&cache_lock);
	if (z)
		return z;
	struct tz_zone *fresh = posix ? make_posix(name) : load_zone(name);
	if (!fresh)
		return NULL;
	pthread_mutex_lock(&cache_lock);
	z = cache_find(posix, name);
	if (!z) {
		struct cached *c = xmalloc(sizeof *c);
		*c = (struct cached){cache, posix, xstrdup(name), fresh};
		cache = c;
		z = fresh;
		fresh = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
	zone_free(fresh); /* another thread loaded it first */
	return z;
}

const struct tz_zone *tz_zone(const char *name)
{
	return cached_zone(false, name);
}

const struct tz_zone *tz_zone_posix(const char *spec)
{
	return cached_zone(true, spec);
}

void tz_finalise(void)
{
	pthread_mutex_lock(&cache_lock);
	while (cache) {
		struct cached *c = cache;
		cache = c->next;
		zone_free(c->zone);
		free(c->name);
		free(c);
	}
	pthread_mutex_unlock(&cache_lock);
}
