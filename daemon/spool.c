/*
 * spool: segment files of checksummed records (see spool.h).
 *
 * Each segment is a struct seg, oldest first; the newest is also the one
 * appended to, until it reaches SEGMENT_BYTES.  Reading keeps an offset per
 * segment, so reading and appending may share one.  A segment goes when
 * every record in it was read and done, the one being appended to included
 * (the next append starts a new one), so a drained spool leaves an empty
 * directory.
 */
#include "feedd/spool.h"

#include "feedd/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#define SEGMENT_BYTES (16u << 20)
#define RECORD_MAX (256u << 20)
#define HEADER 8

struct seg {
	uint64_t id;
	int wfd, rfd; /* -1 when closed */
	uint64_t size, read_off;
	uint64_t records, read, done;
	struct seg *next;
};

struct spool {
	char *dir;
	uint64_t max_bytes, bytes;
	struct seg *head, *tail; /* oldest first; tail is appended to if tail->wfd >= 0 */
	uint64_t next_id;
	bool sync_dir; /* a segment was created since the last sync */
};

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static char *seg_path(const struct spool *s, uint64_t id)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s/seg-%016" PRIu64 ".spool", s->dir, id);
	return buf_steal(&b);
}

static void seg_close(struct seg *g)
{
	if (g->wfd >= 0)
		close(g->wfd);
	if (g->rfd >= 0)
		close(g->rfd);
	g->wfd = g->rfd = -1;
}

/* Reads exactly n bytes at off: 0, or -1 (short or failed). */
static int read_at(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Counts the good records of a segment found at start and cuts off a torn
 * or corrupt tail.  0, or -1 when the file cannot be read at all. */
static int seg_scan(struct spool *s, struct seg *g, const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		LOG_ERR("spool: %s: %s; its records are skipped", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		LOG_ERR("spool: %s: %s; its records are skipped", path, strerror(errno));
		close(fd);
		return -1;
	}
	uint64_t end = (uint64_t)st.st_size, off = 0;
	struct buf payload;
	buf_init(&payload);
	const char *why = NULL;
	while (off < end) {
		unsigned char h[HEADER];
		if (end - off < HEADER || read_at(fd, h, HEADER, off) != 0) {
			why = "an incomplete record header";
			break;
		}
		uint32_t len = get_le32(h), sum = get_le32(h + 4);
		if (len == 0 || len > RECORD_MAX || end - off - HEADER < len) {
			why = "a record longer than what was written";
			break;
		}
		buf_reset(&payload);
		buf_reserve(&payload, len);
		if (read_at(fd, payload.data, len, off + HEADER) != 0) {
			why = "a record that cannot be read";
			break;
		}
		if (XXH32(payload.data, len, 0) != sum) {
			why = "a record whose checksum does not match";
			break;
		}
		off += HEADER + len;
		g->records++;
	}
	buf_free(&payload);
	if (why) {
		LOG_WARN("spool: %s: %s at byte %" PRIu64 " of %" PRIu64
			 " (a write cut short, e.g. by a power loss); the %" PRIu64
			 " records before it are kept, the rest is cut off",
			 path, why, off, end, g->records);
		if (ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0)
			LOG_WARN("spool: %s: cutting it off failed: %s", path, strerror(errno));
	}
	close(fd);
	g->size = off;
	s->bytes += off;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void seg_append_list(struct spool *s, struct seg *g)
{
	if (s->tail)
		s->tail->next = g;
	else
		s->head = g;
	s->tail = g;
}

static struct seg *seg_new(uint64_t id)
{
	struct seg *g = xcalloc(1, sizeof *g);
	g->id = id;
	g->wfd = g->rfd = -1;
	return g;
}

/* mkdir -p, each new directory 0700. */
static int make_dirs(const char *dir)
{
	char *path = xstrdup(dir);
	int rc = 0;
	for (char *p = path + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			rc = -1;
		*p = c;
		if (c == '\0')
			break;
	}
	free(path);
	return rc;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, struct buf *err)
{
	if (make_dirs(dir) != 0) {
		buf_printf(err, "cannot create %s: %s", dir, strerror(errno));
		return NULL;
	}
	DIR *d = opendir(dir);
	if (!d) {
		buf_printf(err, "cannot open %s: %s", dir, strerror(errno));
		return NULL;
	}
	struct spool *s = xcalloc(1, sizeof *s);
	s->dir = xstrdup(dir);
	s->max_bytes = max_bytes;
	s->next_id = 1;
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		uint64_t id;
		char tail[16];
		if (sscanf(e->d_name, "seg-%" SCNu64 ".%15s", &id, tail) != 2 ||
		    strcmp(tail, "spool") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			ids = xrealloc(ids, cap * sizeof *ids);
		}
		ids[n++] = id;
	}
	closedir(d);
	if (n)
		qsort(ids, n, sizeof *ids, cmp_u64);
	for (size_t i = 0; i < n; i++) {
		char *path = seg_path(s, ids[i]);
		struct seg *g = seg_new(ids[i]);
		if (seg_scan(s, g, path) != 0 || g->records == 0) {
			if (g->records == 0 && unlink(path) != 0 && errno != ENOENT)
				LOG_WARN("spool: %s: cannot remove it: %s", path, strerror(errno));
			s->bytes -= g->size;
			free(g);
		} else {
			seg_append_list(s, g);
		}
		free(path);
		if (ids[i] >= s->next_id)
			s->next_id = ids[i] + 1;
	}
	free(ids);
	if (s->head)
		LOG_NOTICE("spool: %s holds %" PRIu64 " records (%" PRIu64
			   " bytes) from before; they are stored first",
			   dir, spool_pending(s), s->bytes);
	return s;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	for (struct seg *g = s->head, *nx; g; g = nx) {
		nx = g->next;
		seg_close(g);
		free(g);
	}
	free(s->dir);
	free(s);
}

/* A new segment to append to. */
static int rotate(struct spool *s, struct buf *err)
{
	if (s->tail && s->tail->wfd >= 0) {
		close(s->tail->wfd);
		s->tail->wfd = -1;
	}
	struct seg *g = seg_new(s->next_id++);
	char *path = seg_path(s, g->id);
	g->wfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (g->wfd < 0) {
		buf_printf(err, "cannot create %s: %s", path, strerror(errno));
		free(path);
		free(g);
		return -1;
	}
	free(path);
	seg_append_list(s, g);
	s->sync_dir = true;
	return 0;
}

int spool_append(struct spool *s, const void *data, size_t len, struct buf *err)
{
	if (len == 0 || len > RECORD_MAX) {
		buf_printf(err, "a record of %zu bytes cannot be spooled", len);
		return -2;
	}
	if (s->max_bytes && s->bytes + HEADER + len > s->max_bytes)
		return -1;
	struct seg *g = s->tail;
	if (!g || g->wfd < 0 || g->size >= SEGMENT_BYTES) {
		if (rotate(s, err) != 0)
			return -2;
		g = s->tail;
	}
	unsigned char h[HEADER];
	put_le32(h, (uint32_t)len);
	put_le32(h + 4, XXH32(data, len, 0));
	struct iovec iov[2] = {{h, HEADER}, {(void *)(uintptr_t)data, len}};
	size_t want = HEADER + len, done = 0;
	while (done < want) {
		ssize_t w;
		if (done < HEADER) {
			struct iovec part[2] = {{h + done, HEADER - done}, iov[1]};
			w = writev(g->wfd, part, 2);
		} else {
			w = write(g->wfd, (const char *)data + (done - HEADER), want - done);
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			/* Leave no half record behind: cut back to the last whole one. */
			if (ftruncate(g->wfd, (off_t)g->size) != 0)
				LOG_WARN("spool: cutting off a failed write: %s", strerror(errno));
			if (e == ENOSPC || e == EDQUOT)
				return -1;
			buf_printf(err, "writing to %s/seg-%016" PRIu64 ".spool: %s", s->dir, g->id,
				   strerror(e));
			return -2;
		}
		done += (size_t)w;
	}
	g->size += want;
	g->records++;
	s->bytes += want;
	return 0;
}

int spool_sync(struct spool *s, struct buf *err)
{
	if (s->tail && s->tail->wfd >= 0 && fdatasync(s->tail->wfd) != 0) {
		buf_printf(err, "fdatasync in %s: %s", s->dir, strerror(errno));
		return -1;
	}
	if (s->sync_dir) {
		/* A new segment's name must be as durable as its records. */
		int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) != 0) {
			buf_printf(err, "fsync of %s: %s", s->dir, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		s->sync_dir = false;
	}
	return 0;
}

static void seg_remove(struct spool *s, struct seg *g)
{
	struct seg **pp = &s->head, *prev = NULL;
	while (*pp != g) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	*pp = g->next;
	if (s->tail == g)
		s->tail = prev;
	seg_close(g);
	char *path = seg_path(s, g->id);
	if (unlink(path) != 0 && errno != ENOENT)
		LOG_WARN("spool: %s: cannot remove it: %s", path, strerror(errno));
	free(path);
	s->bytes -= g->size;
	free(g);
}

static void seg_maybe_remove(struct spool *s, struct seg *g)
{
	if (g->read_off == g->size && g->done == g->read && g->read == g->records)
		seg_remove(s, g);
}

int spool_read(struct spool *s, struct buf *out, struct spool_pos *pos)
{
	struct seg *g = s->head;
	while (g && g->read_off >= g->size)
		g = g->next;
	if (!g)
		return 0;
	char *path = NULL;
	if (g->rfd < 0) {
		path = seg_path(s, g->id);
		g->rfd = open(path, O_RDONLY | O_CLOEXEC);
	}
	unsigned char h[HEADER];
	uint32_t len = 0;
	bool good = g->rfd >= 0 && g->size - g->read_off >= HEADER &&
		read_at(g->rfd, h, HEADER, g->read_off) == 0;
	if (good) {
		len = get_le32(h);
		good = len > 0 && len <= g->size - g->read_off - HEADER;
	}
	if (good) {
		buf_reset(out);
		buf_reserve(out, len);
		good = read_at(g->rfd, out->data, len, g->read_off + HEADER) == 0 &&
			XXH32(out->data, len, 0) == get_le32(h + 4);
	}
	if (!good) {
		if (!path)
			path = seg_path(s, g->id);
		LOG_ERR("spool: %s: cannot read the record at byte %" PRIu64
			": %s; the rest of the segment (%" PRIu64 " records) is skipped",
			path, g->read_off, g->rfd < 0 ? strerror(errno) : "bad length or checksum",
			g->records - g->read);
		free(path);
		g->records = g->read;
		g->read_off = g->size;
		seg_maybe_remove(s, g);
		return -1;
	}
	free(path);
	out->len = len;
	out->data[len] = '\0';
	g->read_off += HEADER + len;
	g->read++;
	pos->segment = g->id;
	return 1;
}

void spool_done(struct spool *s, const struct spool_pos *pos)
{
	for (struct seg *g = s->head; g; g = g->next) {
		if (g->id == pos->segment) {
			g->done++;
			seg_maybe_remove(s, g);
			return;
		}
	}
}

uint64_t spool_pending(const struct spool *s)
{
	uint64_t n = 0;
	for (const struct seg *g = s->head; g; g = g->next)
		n += g->records - g->done;
	return n;
}

uint64_t spool_bytes(const struct spool *s)
{
	return s->bytes;
}

bool spool_readable(const struct spool *s)
{
	for (const struct seg *g = s->head; g; g = g->next)
		if (g->read_off < g->size)
			return true;
	return false;
}

const char *spool_dir(const struct spool *s)
{
	return s->dir;
}
