/*
 * config: reads the configuration file into a struct cfg (the contract is
 * in include/feedd/config.h).
 *
 * This file reads: the main file and then conf.d's *.conf in name order,
 * section headers, key = value lines handed to the key table
 * (config_keys.c, which parses and checks each value), the checks across
 * keys, sections and files once everything is read, the helpers a reload
 * needs (which keys may not change, keeping their running values) and the
 * summary `feedd check-config` prints.
 *
 * inih splits lines into sections and key = value pairs.  The line reader
 * we hand it counts lines and recognises section headers itself, because
 * the installed inih neither passes line numbers to the handler nor
 * reports a section that has no keys, and cuts section names at 50 bytes.
 */
#include "feedd/config.h"
#include "feedd/config_keys.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <strings.h>

#define CFG_DEFAULT_PATH "/etc/feedd/feedd.conf"
#define CFG_MAX_FILE ((size_t)64 << 20)
#define CFG_MAX_LINE 8192

struct parser {
	struct cfg *cfg;
	struct buf *err;
	bool failed;
	const char *file; /* one of cfg->files */
	const char *data;
	size_t len;
	size_t pos;
	int lineno;
	bool mid_line; /* inih took only part of the current line so far */
	enum sect sect;
	size_t cur; /* index of the open source or feed */
	size_t sources_cap;
	size_t feeds_cap;
	struct cfg_loc seen[K_COUNT]; /* where each key was set, in the open section */
};

static void vfail_at(struct parser *p, const struct cfg_loc *loc, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void fail_at(struct parser *p, const struct cfg_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records the first error only: later ones are usually its echoes. */
static void vfail_at(struct parser *p, const struct cfg_loc *loc, const char *fmt, va_list ap)
{
	if (p->failed)
		return;
	p->failed = true;
	buf_reset(p->err);
	if (loc && loc->file)
		buf_printf(p->err, "%s:%d: ", loc->file, loc->line);
	buf_vprintf(p->err, fmt, ap);
}

static void fail_at(struct parser *p, const struct cfg_loc *loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail_at(p, loc, fmt, ap);
	va_end(ap);
}

/* An error at the line being read. */
static void fail(struct parser *p, const char *fmt, ...)
{
	struct cfg_loc here = {p->file, p->lineno};
	va_list ap;
	va_start(ap, fmt);
	vfail_at(p, &here, fmt, ap);
	va_end(ap);
}

/* ---- sections ---- */

static void *section_object(struct parser *p, enum sect s)
{
	switch (s) {
	case SEC_FEEDD:
	case SEC_DATABASE:
		return p->cfg;
	case SEC_SOURCE:
		return &p->cfg->sources[p->cur];
	case SEC_FEED:
		return &p->cfg->feeds[p->cur];
	default:
		return NULL;
	}
}

static void apply_defaults(struct parser *p, enum sect s, void *obj)
{
	struct buf why;
	buf_init(&why);
	for (size_t i = 0; i < K_COUNT; i++) {
		const struct key *k = &cfg_keys[i];
		if (k->sect != s || !k->dflt)
			continue;
		/* A default that does not parse is a bug in the key table,
		 * and test_config loads every default to catch it. */
		if (cfg_value_set(k, cfg_field(obj, k), k->dflt, &why) < 0)
			fail_at(p, NULL, "internal error: default of %s: %s", k->name,
				buf_str(&why));
	}
	buf_free(&why);
}

/* Checks the section just finished: required keys, derived values. */
static void section_close(struct parser *p)
{
	enum sect s = p->sect;
	if (s != SEC_SOURCE && s != SEC_FEED)
		return;
	void *obj = section_object(p, s);
	const struct cfg_loc *loc =
		s == SEC_SOURCE ? &p->cfg->sources[p->cur].loc : &p->cfg->feeds[p->cur].loc;
	const char *name =
		s == SEC_SOURCE ? p->cfg->sources[p->cur].name : p->cfg->feeds[p->cur].name;
	for (size_t i = 0; i < K_COUNT; i++) {
		const struct key *k = &cfg_keys[i];
		if (k->sect == s && k->required && !cfg_value_present(k, cfg_cfield(obj, k))) {
			fail_at(p, loc, "[%s %s]: missing %s = ...", cfg_sect_names[s], name,
				k->name);
			return;
		}
	}
	if (s == SEC_FEED) {
		struct cfg_feed *f = obj;
		f->source_loc = p->seen[K_FEED_SOURCE];
		return;
	}
	/* The home page's host is always one of the source's own hosts. */
	struct cfg_source *src = obj;
	struct cfg_strlist hosts = {0};
	cfg_strlist_push(&hosts, url_host(src->home));
	for (size_t i = 0; i < src->hosts.n; i++) {
		char *h = src->hosts.v[i];
		for (char *c = h; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		bool dup = false;
		for (size_t j = 0; j < hosts.n && !dup; j++)
			dup = strcmp(hosts.v[j], h) == 0;
		if (dup)
			free(h);
		else
			cfg_strlist_push(&hosts, h);
	}
	free(src->hosts.v);
	src->hosts = hosts;
}

static void section_open(struct parser *p, enum sect s, const char *name)
{
	struct cfg *c = p->cfg;
	struct cfg_loc here = {p->file, p->lineno};
	p->sect = s;
	if (s == SEC_SOURCE) {
		if (c->n_sources == p->sources_cap) {
			p->sources_cap = p->sources_cap ? 2 * p->sources_cap : 16;
			c->sources = xrealloc(c->sources, p->sources_cap * sizeof *c->sources);
		}
		p->cur = c->n_sources++;
		struct cfg_source *src = &c->sources[p->cur];
		memset(src, 0, sizeof *src);
		src->name = xstrdup(name);
		src->loc = here;
		apply_defaults(p, s, src);
	} else if (s == SEC_FEED) {
		if (c->n_feeds == p->feeds_cap) {
			p->feeds_cap = p->feeds_cap ? 2 * p->feeds_cap : 64;
			c->feeds = xrealloc(c->feeds, p->feeds_cap * sizeof *c->feeds);
		}
		p->cur = c->n_feeds++;
		struct cfg_feed *f = &c->feeds[p->cur];
		memset(f, 0, sizeof *f);
		f->name = xstrdup(name);
		f->loc = here;
		apply_defaults(p, s, f);
	}
	/* [feedd] and [database] may appear again, and a later file may
	 * override their keys, so their seen[] entries are kept. */
	if (s == SEC_SOURCE || s == SEC_FEED)
		for (size_t i = 0; i < K_COUNT; i++)
			if (cfg_keys[i].sect == s)
				p->seen[i] = (struct cfg_loc){NULL, 0};
}

/* Handles a line whose first non-blank byte is '['; 0 or -1. */
static int section_line(struct parser *p, const char *line, size_t n)
{
	const char *end = line + n;
	const char *close = memchr(line, ']', n);
	if (!close) {
		fail(p, "expected ']' at the end of the section header");
		return -1;
	}
	for (const char *c = close + 1; c < end; c++) {
		if (!isspace((unsigned char)*c)) {
			fail(p, "unexpected text after the section header's ']'");
			return -1;
		}
	}
	const char *a = line + 1, *b = close;
	while (a < b && isspace((unsigned char)*a))
		a++;
	while (b > a && isspace((unsigned char)b[-1]))
		b--;
	size_t kind_len = 0;
	while (a + kind_len < b && !isspace((unsigned char)a[kind_len]))
		kind_len++;
	const char *name = a + kind_len;
	while (name < b && isspace((unsigned char)*name))
		name++;
	char *kind = xstrndup(a, kind_len);
	char *nm = xstrndup(name, (size_t)(b - name));
	enum sect s = SEC_NONE;
	for (int i = SEC_FEEDD; i <= SEC_FEED; i++)
		if (strcmp(kind, cfg_sect_names[i]) == 0)
			s = (enum sect)i;

	struct buf why;
	buf_init(&why);
	bool named = s == SEC_SOURCE || s == SEC_FEED;
	if (s == SEC_NONE) {
		fail(p,
		     "unknown section [%s]; expected [feedd], [database], [source NAME] or "
		     "[feed NAME]",
		     kind);
	} else if (!named && *nm) {
		fail(p, "[%s] takes no name, got [%s %s]", kind, kind, nm);
	} else if (named && !*nm) {
		fail(p, "[%s] needs a name, like [%s %s]", kind, kind,
		     s == SEC_SOURCE ? "irna-en" : "irna-en-all");
	} else if (named && cfg_check_name(nm, &why) < 0) {
		fail(p, "[%s NAME]: %s", kind, buf_str(&why));
	} else {
		section_close(p);
		if (!p->failed)
			section_open(p, s, nm);
	}
	buf_free(&why);
	free(kind);
	free(nm);
	return p->failed ? -1 : 0;
}

/* inih's line source, fgets-like.  It counts lines and acts on section
 * headers before inih sees them, which is when every key of the previous
 * section has been handled. */
static char *line_reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	if (p->failed || p->pos >= p->len || num < 2)
		return NULL;
	const char *line = p->data + p->pos;
	const char *nl = memchr(line, '\n', p->len - p->pos);
	size_t rest = nl ? (size_t)(nl + 1 - line) : p->len - p->pos;
	if (!p->mid_line) {
		p->lineno++;
		size_t n = nl ? (size_t)(nl - line) : rest;
		if (n > CFG_MAX_LINE) {
			fail(p, "line longer than %d bytes", CFG_MAX_LINE);
			return NULL;
		}
		/* Names, URLs and text go to the database as text. */
		if (!utf8_valid(line, n)) {
			fail(p, "not valid UTF-8 (the file must be UTF-8)");
			return NULL;
		}
		const char *s = line;
		if (p->pos == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3; /* a UTF-8 byte order mark, which inih skips too */
		while (s < line + n && isspace((unsigned char)*s))
			s++;
		if (s < line + n && *s == '[' && section_line(p, s, (size_t)(line + n - s)) < 0)
			return NULL;
	}
	size_t take = rest < (size_t)num - 1 ? rest : (size_t)num - 1;
	memcpy(str, line, take);
	str[take] = '\0';
	p->pos += take;
	p->mid_line = take < rest;
	return str;
}

static const struct key *key_find(enum sect s, const char *name)
{
	for (size_t i = 0; i < K_COUNT; i++)
		if (cfg_keys[i].sect == s && strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	return NULL;
}

static void section_title(struct parser *p, struct buf *out)
{
	if (p->sect == SEC_SOURCE)
		buf_printf(out, "[source %s]", p->cfg->sources[p->cur].name);
	else if (p->sect == SEC_FEED)
		buf_printf(out, "[feed %s]", p->cfg->feeds[p->cur].name);
	else
		buf_printf(out, "[%s]", cfg_sect_names[p->sect]);
}

static void unknown_key(struct parser *p, const char *name)
{
	struct buf msg;
	buf_init(&msg);
	buf_puts(&msg, "unknown key ");
	cfg_put_quoted(&msg, name);
	buf_puts(&msg, " in ");
	section_title(p, &msg);
	if (p->sect == SEC_SOURCE && strncmp(name, "xpath.", 6) == 0) {
		buf_puts(&msg, "; xpath fields are");
		for (int i = 0; i < CFG_XPATH_COUNT; i++)
			buf_printf(&msg, "%s %s", i ? "," : "",
				   cfg_xpath_field_name((enum cfg_xpath_field)i));
	} else if (p->sect != SEC_FEEDD && key_find(SEC_FEEDD, name)) {
		buf_puts(&msg, "; it belongs in [feedd]");
	}
	fail(p, "%s", buf_str(&msg));
	buf_free(&msg);
}

static int key_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	if (p->failed)
		return 0;
	if (p->sect == SEC_NONE) {
		fail(p,
		     "%s: a key before any section; put it under [feedd], [database], "
		     "[source NAME] or [feed NAME]",
		     name);
		return 0;
	}
	const struct key *k = key_find(p->sect, name);
	if (!k) {
		unknown_key(p, name);
		return 0;
	}
	size_t id = (size_t)(k - cfg_keys);
	struct cfg_loc *seen = &p->seen[id];
	/* Within one file a second setting is a mistake; a later file (a
	 * conf.d drop-in) overriding [feedd] or [database] is the point. */
	if (seen->file == p->file) {
		fail(p, "%s: already set at line %d", name, seen->line);
		return 0;
	}
	struct buf why;
	buf_init(&why);
	int rc = cfg_value_set(k, cfg_field(section_object(p, p->sect), k), value, &why);
	if (rc < 0)
		fail(p, "%s: %s", name, buf_str(&why));
	buf_free(&why);
	*seen = (struct cfg_loc){p->file, p->lineno};
	return rc == 0;
}

/* Debian's libinih turns inih's compile-time switches into variables.
 * Their defaults would cut lines longer than 200 bytes in two, cut values
 * at " ;", join an indented line to the key above it and keep going after
 * a syntax error; DESIGN.md wants whole-line comments only. */
static void inih_setup(void)
{
	ini_allow_inline_comments = false;
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	ini_allow_no_value = false;
	ini_allow_bom = true;
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = CFG_MAX_LINE + 3; /* room for "\r\n" and NUL */
}

static const char *add_file(struct cfg *c, const char *path)
{
	cfg_strlist_push(&c->files, xstrdup(path));
	return c->files.v[c->files.n - 1];
}

static int parse_file(struct parser *p, const char *path)
{
	struct buf data;
	buf_init(&data);
	bool truncated;
	if (read_file_capped(path, CFG_MAX_FILE, &data, &truncated) < 0) {
		fail_at(p, NULL, "cannot read %s: %s", path, strerror(errno));
		buf_free(&data);
		return -1;
	}
	p->file = add_file(p->cfg, path);
	p->data = buf_str(&data);
	p->len = data.len;
	p->pos = 0;
	p->lineno = 0;
	p->mid_line = false;
	p->sect = SEC_NONE;
	const char *nul = memchr(p->data, '\0', p->len);
	if (truncated) {
		fail_at(p, NULL, "%s: larger than the limit of %zu bytes", path, CFG_MAX_FILE);
	} else if (nul) {
		for (const char *c = p->data; c <= nul; c++)
			p->lineno += c == p->data || c[-1] == '\n';
		fail(p, "a NUL byte; this is not a text file");
	} else {
		int rc = ini_parse_stream(line_reader, p, key_handler, p);
		if (!p->failed && rc == -2) {
			fail_at(p, NULL, "%s: out of memory", path);
		} else if (!p->failed && rc != 0) {
			p->lineno = rc;
			fail(p, "expected key = value, a [section] header or a comment");
		}
		if (!p->failed)
			section_close(p);
	}
	p->sect = SEC_NONE;
	p->data = NULL;
	buf_free(&data);
	return p->failed ? -1 : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf files in the conf.d beside path, sorted by name with strcmp so that the order
 * does not depend on the locale; a missing conf.d is no error. */
static void confd_path(const char *path, struct buf *dir)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		buf_puts(dir, ".");
	else
		buf_append(dir, path, slash == path ? 1 : (size_t)(slash - path));
	buf_puts(dir, dir->data[dir->len - 1] == '/' ? "conf.d" : "/conf.d");
}

static int list_confd(struct parser *p, const char *path, struct cfg_strlist *out)
{
	struct buf dir;
	buf_init(&dir);
	confd_path(path, &dir);
	DIR *d = opendir(buf_str(&dir));
	if (!d) {
		int rc = 0;
		if (errno != ENOENT && errno != ENOTDIR) {
			fail_at(p, NULL, "cannot read %s: %s", buf_str(&dir), strerror(errno));
			rc = -1;
		}
		buf_free(&dir);
		return rc;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		/* dot files are editors' and package managers' leftovers */
		if (e->d_name[0] == '.' || n <= 5 || strcmp(e->d_name + n - 5, ".conf") != 0)
			continue;
		struct buf full;
		buf_init(&full);
		buf_printf(&full, "%s/%s", buf_str(&dir), e->d_name);
		cfg_strlist_push(out, buf_steal(&full));
	}
	closedir(d);
	buf_free(&dir);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, cmp_str);
	return 0;
}

/* The newest modification time of the files read and of conf.d: a file
 * edited, added or removed makes the configuration newer.  Standard input
 * is as new as now. */
static int64_t written_at(const struct cfg *c)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t newest = 0;
	struct buf dir;
	buf_init(&dir);
	confd_path(c->path, &dir);
	for (size_t i = 0; i <= c->files.n; i++) {
		const char *f = i < c->files.n ? c->files.v[i] : buf_str(&dir);
		struct stat st;
		int64_t t;
		if (strcmp(f, "-") == 0)
			t = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
		else if (stat(f, &st) == 0)
			t = (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
		else
			continue;
		if (t > newest)
			newest = t;
	}
	buf_free(&dir);
	return newest;
}

/* ---- checks across keys, sections and files ---- */

static int cmp_source(const void *a, const void *b)
{
	const struct cfg_source *x = *(const struct cfg_source *const *)a;
	const struct cfg_source *y = *(const struct cfg_source *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x > y) - (x < y);
}

static int cmp_feed(const void *a, const void *b)
{
	const struct cfg_feed *x = *(const struct cfg_feed *const *)a;
	const struct cfg_feed *y = *(const struct cfg_feed *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x > y) - (x < y);
}

static void build_indexes(struct parser *p)
{
	struct cfg *c = p->cfg;
	c->source_index = xcalloc(c->n_sources, sizeof *c->source_index);
	for (size_t i = 0; i < c->n_sources; i++)
		c->source_index[i] = &c->sources[i];
	if (c->n_sources)
		qsort(c->source_index, c->n_sources, sizeof *c->source_index, cmp_source);
	c->feed_index = xcalloc(c->n_feeds, sizeof *c->feed_index);
	for (size_t i = 0; i < c->n_feeds; i++)
		c->feed_index[i] = &c->feeds[i];
	if (c->n_feeds)
		qsort(c->feed_index, c->n_feeds, sizeof *c->feed_index, cmp_feed);

	/* Equal names sort by position, so the second of a pair is the
	 * redefinition; report the earliest one in the files. */
	const struct cfg_source *dup_s = NULL, *first_s = NULL;
	for (size_t i = 1; i < c->n_sources; i++) {
		const struct cfg_source *a = c->source_index[i - 1], *b = c->source_index[i];
		if (strcmp(a->name, b->name) == 0 && (!dup_s || b < dup_s)) {
			dup_s = b;
			first_s = a;
		}
	}
	if (dup_s) {
		fail_at(p, &dup_s->loc, "[source %s] is defined twice; first at %s:%d", dup_s->name,
			first_s->loc.file, first_s->loc.line);
		return;
	}
	const struct cfg_feed *dup_f = NULL, *first_f = NULL;
	for (size_t i = 1; i < c->n_feeds; i++) {
		const struct cfg_feed *a = c->feed_index[i - 1], *b = c->feed_index[i];
		if (strcmp(a->name, b->name) == 0 && (!dup_f || b < dup_f)) {
			dup_f = b;
			first_f = a;
		}
	}
	if (dup_f)
		fail_at(p, &dup_f->loc, "[feed %s] is defined twice; first at %s:%d", dup_f->name,
			first_f->loc.file, first_f->loc.line);
}

/* The later of two keys' settings, to blame for a conflict between them. */
static const struct cfg_loc *blame(const struct parser *p, enum key_id a, enum key_id b)
{
	const struct cfg_loc *x = &p->seen[a], *y = &p->seen[b];
	size_t fx = 0, fy = 0;
	for (size_t i = 0; i < p->cfg->files.n; i++) {
		fx = p->cfg->files.v[i] == x->file ? i + 1 : fx;
		fy = p->cfg->files.v[i] == y->file ? i + 1 : fy;
	}
	return fx > fy || (fx == fy && x->line > y->line) ? x : y;
}

static void check_intervals(struct parser *p)
{
	struct cfg *c = p->cfg;
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	cfg_format_duration(c->min_interval_ms, &a);
	cfg_format_duration(c->max_interval_ms, &b);
	if (c->min_interval_ms > c->max_interval_ms) {
		fail_at(p, blame(p, K_MIN_INTERVAL, K_MAX_INTERVAL),
			"min_interval (%s) is longer than max_interval (%s)", buf_str(&a),
			buf_str(&b));
	} else if (c->default_interval_ms < c->min_interval_ms ||
		   c->default_interval_ms > c->max_interval_ms) {
		bool low = c->default_interval_ms < c->min_interval_ms;
		struct buf d;
		buf_init(&d);
		cfg_format_duration(c->default_interval_ms, &d);
		fail_at(p, blame(p, K_DEFAULT_INTERVAL, low ? K_MIN_INTERVAL : K_MAX_INTERVAL),
			"default_interval (%s) is outside min_interval (%s) to max_interval (%s)",
			buf_str(&d), buf_str(&a), buf_str(&b));
		buf_free(&d);
	}
	if (!p->failed &&
	    (c->max_feed_size > c->max_body_memory || c->max_article_size > c->max_body_memory)) {
		bool feed = c->max_feed_size > c->max_body_memory;
		fail_at(p, blame(p, K_MAX_BODY_MEMORY, feed ? K_MAX_FEED_SIZE : K_MAX_ARTICLE_SIZE),
			"max_body_memory (%zu bytes) is less than %s (%zu bytes)",
			c->max_body_memory, feed ? "max_feed_size" : "max_article_size",
			feed ? c->max_feed_size : c->max_article_size);
	}
	for (size_t i = 0; i < c->n_sources && !p->failed; i++) {
		const struct cfg_source *s = &c->sources[i];
		if (s->interval_ms &&
		    (s->interval_ms < c->min_interval_ms || s->interval_ms > c->max_interval_ms)) {
			struct buf d;
			buf_init(&d);
			cfg_format_duration(s->interval_ms, &d);
			fail_at(p, &s->loc,
				"[source %s]: interval (%s) is outside min_interval (%s) to "
				"max_interval (%s)",
				s->name, buf_str(&d), buf_str(&a), buf_str(&b));
			buf_free(&d);
		}
	}
	for (size_t i = 0; i < c->n_feeds && !p->failed; i++) {
		struct cfg_feed *f = &c->feeds[i];
		if (f->interval_ms) {
			f->interval_from = CFG_INTERVAL_FEED;
		} else if (f->source->interval_ms) {
			f->interval_ms = f->source->interval_ms;
			f->interval_from = CFG_INTERVAL_SOURCE;
		} else {
			f->interval_ms = c->default_interval_ms;
			f->interval_from = CFG_INTERVAL_DEFAULT;
		}
		if (f->interval_ms < c->min_interval_ms || f->interval_ms > c->max_interval_ms) {
			struct buf d;
			buf_init(&d);
			cfg_format_duration(f->interval_ms, &d);
			fail_at(p, &f->loc,
				"[feed %s]: interval (%s) is outside min_interval (%s) to "
				"max_interval (%s)",
				f->name, buf_str(&d), buf_str(&a), buf_str(&b));
			buf_free(&d);
		}
	}
	buf_free(&a);
	buf_free(&b);
}

static void resolve_feeds(struct parser *p)
{
	struct cfg *c = p->cfg;
	for (size_t i = 0; i < c->n_feeds && !p->failed; i++) {
		struct cfg_feed *f = &c->feeds[i];
		f->source = cfg_source_find(c, f->source_name);
		if (!f->source)
			fail_at(p, &f->source_loc,
				"[feed %s]: source \"%s\" is not defined; define it with "
				"[source %s] and its home = URL",
				f->name, f->source_name, f->source_name);
	}
}

/* ---- the public interface ---- */

const char *cfg_default_path(void)
{
	const char *env = getenv("FEEDD_CONFIG");
	return env && *env ? env : CFG_DEFAULT_PATH;
}

int cfg_load(const char *path, struct cfg **out, struct buf *err)
{
	struct cfg *c = xcalloc(1, sizeof *c);
	struct parser parser = {.cfg = c, .err = err};
	struct parser *p = &parser;
	c->path = xstrdup(path);
	inih_setup();
	apply_defaults(p, SEC_FEEDD, c);
	apply_defaults(p, SEC_DATABASE, c);

	struct cfg_strlist confd = {0};
	if (!p->failed && parse_file(p, path) == 0 && strcmp(path, "-") != 0)
		list_confd(p, path, &confd);
	for (size_t i = 0; i < confd.n && !p->failed; i++)
		parse_file(p, confd.v[i]);
	cfg_strlist_free(&confd);

	if (!p->failed)
		build_indexes(p);
	if (!p->failed)
		resolve_feeds(p);
	if (!p->failed)
		check_intervals(p);

	if (p->failed) {
		cfg_free(c);
		return -1;
	}
	c->written_us = written_at(c);
	*out = c;
	return 0;
}

void cfg_free(struct cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_sources; i++) {
		for (size_t k = 0; k < K_COUNT; k++)
			if (cfg_keys[k].sect == SEC_SOURCE)
				cfg_value_free(&cfg_keys[k],
					       cfg_field(&c->sources[i], &cfg_keys[k]));
		free(c->sources[i].name);
	}
	for (size_t i = 0; i < c->n_feeds; i++) {
		for (size_t k = 0; k < K_COUNT; k++)
			if (cfg_keys[k].sect == SEC_FEED)
				cfg_value_free(&cfg_keys[k], cfg_field(&c->feeds[i], &cfg_keys[k]));
		free(c->feeds[i].name);
	}
	for (size_t k = 0; k < K_COUNT; k++)
		if (cfg_keys[k].sect == SEC_FEEDD || cfg_keys[k].sect == SEC_DATABASE)
			cfg_value_free(&cfg_keys[k], cfg_field(c, &cfg_keys[k]));
	free(c->sources);
	free(c->feeds);
	free(c->source_index);
	free(c->feed_index);
	cfg_strlist_free(&c->files);
	free(c->path);
	free(c);
}

static int find_source(const void *name, const void *elem)
{
	return strcmp(name, (*(const struct cfg_source *const *)elem)->name);
}

static int find_feed(const void *name, const void *elem)
{
	return strcmp(name, (*(const struct cfg_feed *const *)elem)->name);
}

const struct cfg_source *cfg_source_find(const struct cfg *c, const char *name)
{
	if (!c->n_sources)
		return NULL;
	const struct cfg_source *const *hit =
		bsearch(name, c->source_index, c->n_sources, sizeof *c->source_index, find_source);
	return hit ? *hit : NULL;
}

const struct cfg_feed *cfg_feed_find(const struct cfg *c, const char *name)
{
	if (!c->n_feeds)
		return NULL;
	const struct cfg_feed *const *hit =
		bsearch(name, c->feed_index, c->n_feeds, sizeof *c->feed_index, find_feed);
	return hit ? *hit : NULL;
}

int cfg_reload_check(const struct cfg *cur, const struct cfg *next, struct buf *why)
{
	size_t before = why->len;
	for (size_t i = 0; i < K_COUNT; i++) {
		const struct key *k = &cfg_keys[i];
		if (k->reload)
			continue;
		if (k->sect == SEC_FEEDD || k->sect == SEC_DATABASE) {
			if (!cfg_value_equal(k, cfg_cfield(cur, k), cfg_cfield(next, k)))
				buf_printf(why, "%s[%s] %s", why->len > before ? "; " : "",
					   cfg_sect_names[k->sect], k->name);
			continue;
		}
		if (k->sect != SEC_SOURCE)
			continue;
		for (size_t j = 0; j < next->n_sources; j++) {
			const struct cfg_source *n = &next->sources[j];
			const struct cfg_source *o = cfg_source_find(cur, n->name);
			if (o && !cfg_value_equal(k, cfg_cfield(o, k), cfg_cfield(n, k)))
				buf_printf(why, "%s[source %s] %s", why->len > before ? "; " : "",
					   n->name, k->name);
		}
	}
	if (why->len == before)
		return 0;
	buf_puts(why, ": cannot change on reload; restart feedd to apply");
	return -1;
}

static void restart_key(const struct key *k, void *cur, void *next, const char *where,
			struct cfg_strlist *changed)
{
	if (cfg_value_equal(k, cur, next))
		return;
	cfg_value_swap(k, cur, next);
	struct buf name;
	buf_init(&name);
	buf_printf(&name, "%s %s", where, k->name);
	cfg_strlist_push(changed, buf_steal(&name));
}

size_t cfg_keep_restart_keys(struct cfg *cur, struct cfg *next, struct cfg_strlist *changed)
{
	size_t before = changed->n;
	for (size_t i = 0; i < K_COUNT; i++) {
		const struct key *k = &cfg_keys[i];
		if (k->reload)
			continue;
		if (k->sect == SEC_FEEDD || k->sect == SEC_DATABASE) {
			struct buf where;
			buf_init(&where);
			buf_printf(&where, "[%s]", cfg_sect_names[k->sect]);
			restart_key(k, cfg_field(cur, k), cfg_field(next, k), buf_str(&where),
				    changed);
			buf_free(&where);
			continue;
		}
		if (k->sect != SEC_SOURCE)
			continue;
		for (size_t j = 0; j < next->n_sources; j++) {
			struct cfg_source *n = &next->sources[j];
			struct cfg_source *o = (struct cfg_source *)cfg_source_find(cur, n->name);
			if (!o)
				continue;
			struct buf where;
			buf_init(&where);
			buf_printf(&where, "[source %s]", n->name);
			restart_key(k, cfg_field(o, k), cfg_field(n, k), buf_str(&where), changed);
			buf_free(&where);
		}
	}
	return changed->n - before;
}

static void summary_keys(const void *obj, enum sect s, struct buf *out)
{
	for (size_t i = 0; i < K_COUNT; i++) {
		const struct key *k = &cfg_keys[i];
		if (k->sect != s)
			continue;
		const void *f = cfg_cfield(obj, k);
		if (!cfg_value_present(k, f)) {
			if (i < K_SOURCE_XPATH || i >= K_SOURCE_XPATH + CFG_XPATH_COUNT)
				buf_printf(out, "# %s is not set\n", k->name);
			continue;
		}
		buf_printf(out, "%s = ", k->name);
		cfg_value_format(k, f, out);
		buf_putc(out, '\n');
	}
}

void cfg_summary(const struct cfg *c, struct buf *out)
{
	size_t enabled = 0;
	for (size_t i = 0; i < c->n_feeds; i++)
		enabled += c->feeds[i].enabled;
	buf_printf(out, "# configuration: %s\n# files read:\n", c->path);
	for (size_t i = 0; i < c->files.n; i++)
		buf_printf(out, "#   %s\n", c->files.v[i]);
	buf_printf(out, "# %zu source%s, %zu feed%s (%zu enabled)\n", c->n_sources,
		   c->n_sources == 1 ? "" : "s", c->n_feeds, c->n_feeds == 1 ? "" : "s", enabled);

	buf_puts(out, "\n[feedd]\n");
	summary_keys(c, SEC_FEEDD, out);
	buf_puts(out, "\n[database]\n");
	summary_keys(c, SEC_DATABASE, out);
	for (size_t i = 0; i < c->n_sources; i++) {
		const struct cfg_source *s = &c->sources[i];
		buf_printf(out, "\n# %s:%d\n[source %s]\n", s->loc.file, s->loc.line, s->name);
		summary_keys(s, SEC_SOURCE, out);
	}
	for (size_t i = 0; i < c->n_feeds; i++) {
		const struct cfg_feed *f = &c->feeds[i];
		buf_printf(out, "\n# %s:%d; interval from %s\n[feed %s]\n", f->loc.file,
			   f->loc.line,
			   f->interval_from == CFG_INTERVAL_FEED	     ? "the feed"
				   : f->interval_from == CFG_INTERVAL_SOURCE ? "its source"
									     : "default_interval",
			   f->name);
		summary_keys(f, SEC_FEED, out);
	}
}
