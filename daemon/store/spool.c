/*
 * spool: segment files of checksummed records (see spool.h).
 *
 * Each segment is a struct seg, oldest first; the newest is also the one
 * appended to (always in the current format), until it reaches
 * SEGMENT_BYTES.  Reading keeps an offset per segment, so reading and
 * appending may share one; the damaged ranges that the scan at open found
 * are gaps the offset jumps over.  A segment goes when every record in it
 * was read and done, the one being appended to included (the next append
 * starts a new one), so a drained spool leaves only its lock file.
 *
 * Opening scans every segment read-only first and changes nothing (no torn
 * tail cut, no empty segment removed) until it knows the open succeeds: a
 * start that is refused leaves the directory as it found it.
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#define SEGMENT_BYTES (16u << 20)
#define RECORD_MAX (256u << 20)
#define FILE_HEADER 16 /* "feedd-spool\n" and the version */
#define MAGIC "feedd-spool\n"
#define MAGIC_LEN 12
#define VERSION 2
#define FRAME 16   /* sync mark, length, payload XXH32, header XXH32 */
#define FRAME_V1 8 /* length, payload XXH32 */
#define CHUNK (1u << 20)

static const unsigned char sync_mark[4] = {0xfe, 0xed, 0x00, 0x5c};

/* Bytes [from, to) of a segment that hold no good record. */
struct gap {
	uint64_t from, to;
};

struct seg {
	uint64_t id;
	int version;  /* 1: before the segment header; 2 */
	int wfd, rfd; /* -1 when closed */
	uint64_t size, read_off;
	uint64_t records, read, done;
	struct gap *gaps; /* in order; read_off jumps each */
	size_t n_gaps;
	uint64_t cut; /* found at open: a torn tail from here (0: none) */
	bool keep;    /* reading it failed: its file is never deleted */
	struct seg *next;
};

struct spool {
	char *dir;
	int lock_fd;
	uint64_t max_bytes, bytes;
	struct seg *head, *tail; /* oldest first; tail is appended to if tail->wfd >= 0 */
	uint64_t next_id;
	bool sync_dir;	/* a segment was created since the last sync */
	int sync_errno; /* syncing a segment rotated away failed; spool_sync says so */
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

static void seg_free(struct seg *g)
{
	seg_close(g);
	free(g->gaps);
	free(g);
}

/* Reads exactly n bytes at off: 0, or -1 with errno set (ENODATA when the
 * file ends first). */
static int read_at(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			errno = ENODATA;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Writes all of iov[0..n) (n <= 2), through short writes: 0, or -1 with
 * errno set. */
static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		size_t left = (size_t)w;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

static size_t frame_size(int version)
{
	return version == 1 ? FRAME_V1 : FRAME;
}

/* Reads the frame of a version-v segment at off (the segment's good bytes
 * ending at end), its payload into out.  The frame's size, header and
 * payload, when it is whole and its checksums match; 0 when it is not a
 * good frame; -1 when reading failed (errno set). */
static int64_t frame_read(int fd, int v, uint64_t off, uint64_t end, struct buf *out)
{
	size_t hsize = frame_size(v);
	unsigned char h[FRAME];
	if (off > end || end - off < hsize)
		return 0;
	if (read_at(fd, h, hsize, off) != 0)
		return -1;
	uint32_t len, sum;
	if (v == 1) {
		len = get_le32(h);
		sum = get_le32(h + 4);
	} else {
		if (memcmp(h, sync_mark, sizeof sync_mark) != 0 ||
		    XXH32(h, 12, 0) != get_le32(h + 12))
			return 0;
		len = get_le32(h + 4);
		sum = get_le32(h + 8);
	}
	if (len == 0 || len > RECORD_MAX || end - off - hsize < len)
		return 0;
	buf_reset(out);
	buf_reserve(out, len);
	if (read_at(fd, out->data, len, off + hsize) != 0)
		return -1;
	if (XXH32(out->data, len, 0) != sum)
		return 0;
	out->len = len;
	out->data[len] = '\0';
	return (int64_t)(hsize + len);
}

/* Whether a version-1 frame header h at off could start a record: a length
 * that fits, followed by the end or by another header whose length fits.
 * A cheap filter before the checksum, since version 1 has no sync mark and
 * every offset is a candidate. 1, 0, or -1 when reading failed. */
static int v1_plausible(int fd, const unsigned char *h, uint64_t off, uint64_t end)
{
	uint32_t len = get_le32(h);
	if (len == 0 || len > RECORD_MAX || end - off - FRAME_V1 < len)
		return 0;
	uint64_t after = off + FRAME_V1 + len;
	if (after == end)
		return 1;
	if (end - after < FRAME_V1)
		return 0;
	unsigned char n[FRAME_V1];
	if (read_at(fd, n, FRAME_V1, after) != 0)
		return -1;
	uint32_t next = get_le32(n);
	return next > 0 && next <= RECORD_MAX && end - after - FRAME_V1 >= next;
}

/* Finds the first good frame after off (before end) of a version-v
 * segment: 1 with its offset in *next, 0 when there is none, -1 when
 * reading failed (errno set).  *marks counts the sync marks passed over
 * that start no good frame (version 2), the damaged records' at least. */
static int resync(int fd, int v, uint64_t off, uint64_t end, struct buf *tmp, uint64_t *next,
		  uint64_t *marks)
{
	size_t hsize = frame_size(v);
	unsigned char *chunk = xmalloc(CHUNK);
	int rc = 0;
	uint64_t pos = off + 1;
	while (rc == 0 && pos < end && end - pos >= hsize) {
		size_t n = end - pos < CHUNK ? (size_t)(end - pos) : CHUNK;
		if (read_at(fd, chunk, n, pos) != 0) {
			rc = -1;
			break;
		}
		size_t last = n - hsize; /* candidates whose header is in the chunk */
		for (size_t i = 0; i <= last && rc == 0; i++) {
			if (v == 1) {
				int p = v1_plausible(fd, chunk + i, pos + i, end);
				if (p <= 0) {
					rc = p;
					continue;
				}
			} else if (chunk[i] != sync_mark[0] ||
				   memcmp(chunk + i, sync_mark, sizeof sync_mark) != 0) {
				continue;
			}
			int64_t r = frame_read(fd, v, pos + i, end, tmp);
			if (r > 0) {
				*next = pos + i;
				rc = 1;
			} else if (r < 0) {
				rc = -1;
			} else {
				*marks += v != 1;
			}
		}
		pos += last + 1;
	}
	free(chunk);
	return rc;
}

static void add_gap(struct seg *g, uint64_t from, uint64_t to)
{
	g->gaps = xrealloc(g->gaps, (g->n_gaps + 1) * sizeof *g->gaps);
	g->gaps[g->n_gaps].from = from;
	g->gaps[g->n_gaps].to = to;
	g->n_gaps++;
}

/* Where reading a segment goes on: read_off past the gaps it is at. */
static uint64_t next_off(const struct seg *g)
{
	uint64_t off = g->read_off;
	for (size_t i = 0; i < g->n_gaps; i++)
		if (g->gaps[i].from <= off && off < g->gaps[i].to)
			off = g->gaps[i].to;
	return off;
}

/* The format of a segment (end bytes, the first hn of them in h): its
 * version and where its records start.  0; 1 when its header is damaged
 * (a byte or two of the magic wrong, or a version other than 2 before a
 * good version 2 record) and it is read as version 2; -2 when it has
 * another version; -1 when reading failed (errno set). */
static int seg_format(int fd, const unsigned char *h, size_t hn, uint64_t end, struct buf *tmp,
		      int *version, uint64_t *start)
{
	unsigned char want[FILE_HEADER];
	memcpy(want, MAGIC, MAGIC_LEN);
	put_le32(want + MAGIC_LEN, VERSION);
	size_t wrong = 0;
	for (size_t i = 0; i < hn; i++)
		wrong += h[i] != want[i];
	*version = VERSION;
	*start = hn;
	if (wrong == 0)
		return 0; /* shorter than a header: created, the header cut short */
	if (hn == FILE_HEADER && memcmp(h, MAGIC, MAGIC_LEN) == 0) {
		int64_t r = frame_read(fd, VERSION, FILE_HEADER, end, tmp);
		return r < 0 ? -1 : r > 0 ? 1 : -2;
	}
	if (hn == FILE_HEADER && wrong <= 2)
		return 1;
	/* Version 1 starts with a record's length, at most RECORD_MAX: never
	 * "feed", so never close to the magic. */
	*version = 1;
	*start = 0;
	return 0;
}

/* Counts the good records of a segment and finds its damage, changing
 * nothing: a damaged range becomes a gap, logged with its offsets; damage
 * that runs to the end of the last segment is a torn tail (g->cut), to be
 * cut off once the open succeeds.  0, or -1 when the file cannot be opened
 * or read, with the reason in why.  Its ~85 lines are one pass over the
 * file: good record, damage starting, resync after it, and the end, which
 * share the offsets of the range being judged. */
static int seg_scan(struct spool *s, struct seg *g, const char *path, bool last, struct buf *why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		buf_puts(why, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		buf_puts(why, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		buf_puts(why, "not a regular file");
		close(fd);
		return -1;
	}
	uint64_t end = (uint64_t)st.st_size, off;
	unsigned char h[FILE_HEADER];
	size_t hn = end < FILE_HEADER ? (size_t)end : FILE_HEADER;
	if (hn && read_at(fd, h, hn, 0) != 0) {
		buf_puts(why, strerror(errno));
		close(fd);
		return -1;
	}
	struct buf payload;
	buf_init(&payload);
	int fmt = seg_format(fd, h, hn, end, &payload, &g->version, &off);
	if (fmt < 0) {
		if (fmt == -2)
			buf_printf(why, "format version %" PRIu32 ", which this feedd cannot read",
				   get_le32(h + MAGIC_LEN));
		else
			buf_printf(why, "reading its header: %s", strerror(errno));
		buf_free(&payload);
		close(fd);
		return -1;
	}
	if (fmt == 1)
		LOG_ERR("spool: %s: its header is damaged; read as version %d", path, VERSION);
	g->read_off = off;
	int rc = 0;
	while (off < end) {
		int64_t r = frame_read(fd, g->version, off, end, &payload);
		if (r > 0) {
			g->records++;
			off += (uint64_t)r;
			continue;
		}
		uint64_t next = end, marks = 0;
		int f = r < 0 ? -1 : resync(fd, g->version, off, end, &payload, &next, &marks);
		if (f < 0) {
			buf_printf(why, "reading it at byte %" PRIu64 ": %s", off, strerror(errno));
			rc = -1;
			break;
		}
		if (f == 0 && last) {
			LOG_WARN("spool: %s: the record at byte %" PRIu64 " of %" PRIu64
				 " is incomplete or fails its checksum, and nothing good follows "
				 "it in this last segment: a write cut short (e.g. by a power "
				 "loss); the %" PRIu64 " records before it are kept, the %" PRIu64
				 " bytes from there are cut off",
				 path, off, end, g->records, end - off);
			g->cut = off;
			end = off;
			break;
		}
		char about[64] = "";
		if (g->version != 1)
			snprintf(about, sizeof about, ", at least %" PRIu64 " record(s)",
				 marks + 1);
		LOG_ERR("spool: %s: bytes %" PRIu64 "..%" PRIu64 " (%" PRIu64 " bytes%s) are "
			"damaged (a record fails its frame or checksum) and are skipped; %s",
			path, off, next, next - off, about,
			f ? "reading goes on with the next good record there"
			  : "nothing good follows in this segment, which is not the last one "
			    "(so not a write cut short)");
		add_gap(g, off, next);
		off = next;
	}
	buf_free(&payload);
	close(fd);
	g->size = end;
	s->bytes += end;
	return rc;
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
	g->version = VERSION;
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

/* Takes the lock of dir for good and writes this process's PID into it:
 * the lock file's descriptor; -1 when it cannot be created, -3 when it is
 * held (or cannot be taken), the reason in err either way. */
static int lock_dir(const char *dir, struct buf *err)
{
	struct buf path;
	buf_init(&path);
	buf_printf(&path, "%s/lock", dir);
	int fd = open(buf_str(&path), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		buf_printf(err, "cannot create %s: %s", buf_str(&path), strerror(errno));
		buf_free(&path);
		return -1;
	}
	int rc;
	while ((rc = flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
		;
	if (rc != 0) {
		int e = errno;
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (e == EWOULDBLOCK)
			buf_printf(err,
				   "%s is in use by another feedd (PID %s, as %s says); two feedd "
				   "processes must not share a state_dir",
				   dir, pid[0] ? pid : "unknown", buf_str(&path));
		else
			buf_printf(err, "cannot lock %s: %s", buf_str(&path), strerror(e));
		close(fd);
		buf_free(&path);
		return -3;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		LOG_WARN("spool: cannot write the PID into %s: %s", buf_str(&path),
			 strerror(errno));
	buf_free(&path);
	return fd;
}

/* The segment ids in dir, sorted, into *ids: their count, or -1 (errno). */
static ssize_t list_segments(const char *dir, uint64_t **ids)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	size_t n = 0, cap = 0;
	*ids = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		uint64_t id;
		char tail[16];
		if (sscanf(e->d_name, "seg-%" SCNu64 ".%15s", &id, tail) != 2 ||
		    strcmp(tail, "spool") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			*ids = xrealloc(*ids, cap * sizeof **ids);
		}
		(*ids)[n++] = id;
	}
	closedir(d);
	if (n)
		qsort(*ids, n, sizeof **ids, cmp_u64);
	return (ssize_t)n;
}

/* What the scan at open decided, done now that the open succeeds: torn
 * tails cut off and segments without a record removed. */
static void settle(struct spool *s)
{
	s->tail = NULL;
	for (struct seg **pp = &s->head, *g; (g = *pp);) {
		char *path = seg_path(s, g->id);
		if (g->cut) {
			int fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || ftruncate(fd, (off_t)g->cut) != 0 || fdatasync(fd) != 0)
				LOG_WARN("spool: %s: cutting off its torn tail failed: %s; it is "
					 "read up to there",
					 path, strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		if (g->records == 0) {
			if (unlink(path) != 0 && errno != ENOENT)
				LOG_WARN("spool: %s: cannot remove it: %s", path, strerror(errno));
			s->bytes -= g->size;
			*pp = g->next;
			seg_free(g);
		} else {
			s->tail = g;
			pp = &g->next;
		}
		free(path);
	}
}

int spool_open(struct spool **out, const char *dir, uint64_t max_bytes, unsigned flags,
	       struct buf *err)
{
	*out = NULL;
	if (make_dirs(dir) != 0) {
		buf_printf(err, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	int lock_fd = lock_dir(dir, err);
	if (lock_fd < 0)
		return lock_fd;
	uint64_t *ids;
	ssize_t n = list_segments(dir, &ids);
	if (n < 0) {
		buf_printf(err, "cannot open %s: %s", dir, strerror(errno));
		close(lock_fd);
		return -1;
	}
	struct spool *s = xcalloc(1, sizeof *s);
	s->dir = xstrdup(dir);
	s->lock_fd = lock_fd;
	s->max_bytes = max_bytes;
	s->next_id = 1;
	size_t unreadable = 0;
	struct buf why;
	buf_init(&why);
	for (size_t i = 0; i < (size_t)n; i++) {
		char *path = seg_path(s, ids[i]);
		struct seg *g = seg_new(ids[i]);
		buf_reset(&why);
		if (seg_scan(s, g, path, i + 1 == (size_t)n, &why) != 0) {
			/* Never removed, never overwritten (next_id passes it):
			 * what cannot be read now may be read later. */
			LOG_ERR("spool: %s cannot be read: %s; it is left in place%s", path,
				buf_str(&why),
				flags & SPOOL_SKIP_UNREADABLE
					? " and skipped as asked: its records are not stored "
					  "until it can be read and feedd is started again"
					: "");
			if (!unreadable++)
				buf_printf(err, "%s cannot be read: %s", path, buf_str(&why));
			s->bytes -= g->size;
			seg_free(g);
		} else {
			seg_append_list(s, g);
		}
		free(path);
		if (ids[i] >= s->next_id)
			s->next_id = ids[i] + 1;
	}
	buf_free(&why);
	free(ids);
	if (unreadable && !(flags & SPOOL_SKIP_UNREADABLE)) {
		if (unreadable > 1)
			buf_printf(err, " (and %zu more segments)", unreadable - 1);
		buf_puts(err, "; it is left in place, and its records are not given up on");
		spool_close(s);
		return -2;
	}
	buf_reset(err);
	settle(s);
	if (s->head)
		LOG_NOTICE("spool: %s holds %" PRIu64 " records (%" PRIu64
			   " bytes) from before; they are stored first",
			   dir, spool_pending(s), s->bytes);
	*out = s;
	return 0;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	for (struct seg *g = s->head, *nx; g; g = nx) {
		nx = g->next;
		seg_free(g);
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* releases the lock */
	free(s->dir);
	free(s);
}

/* A new segment to append to, its header written. */
static int rotate(struct spool *s, struct buf *err)
{
	if (s->tail && s->tail->wfd >= 0) {
		/* What went to it since the last spool_sync is durable only
		 * once it is synced, and spool_sync syncs the new one. */
		if (fdatasync(s->tail->wfd) != 0 && !s->sync_errno)
			s->sync_errno = errno;
		close(s->tail->wfd);
		s->tail->wfd = -1;
	}
	struct seg *g = seg_new(s->next_id++);
	char *path = seg_path(s, g->id);
	g->wfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	unsigned char h[FILE_HEADER];
	memcpy(h, MAGIC, MAGIC_LEN);
	put_le32(h + MAGIC_LEN, VERSION);
	struct iovec iov[1] = {{h, sizeof h}};
	if (g->wfd < 0 || write_all(g->wfd, iov, 1) != 0) {
		int e = errno;
		buf_printf(err, "cannot create %s: %s", path, strerror(e));
		if (g->wfd >= 0)
			unlink(path);
		free(path);
		seg_free(g);
		errno = e;
		return -1;
	}
	free(path);
	g->size = g->read_off = FILE_HEADER;
	s->bytes += FILE_HEADER;
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
	struct seg *g = s->tail;
	bool new_seg = !g || g->wfd < 0 || g->size >= SEGMENT_BYTES;
	if (s->max_bytes && s->bytes + FRAME + len + (new_seg ? FILE_HEADER : 0) > s->max_bytes)
		return -1;
	if (new_seg) {
		if (rotate(s, err) != 0)
			return errno == ENOSPC || errno == EDQUOT ? -1 : -2;
		g = s->tail;
	}
	unsigned char h[FRAME];
	memcpy(h, sync_mark, sizeof sync_mark);
	put_le32(h + 4, (uint32_t)len);
	put_le32(h + 8, XXH32(data, len, 0));
	put_le32(h + 12, XXH32(h, 12, 0));
	struct iovec iov[2] = {{h, FRAME}, {(void *)(uintptr_t)data, len}};
	if (write_all(g->wfd, iov, 2) != 0) {
		int e = errno;
		/* Leave no half record behind: cut back to the last whole one. */
		if (ftruncate(g->wfd, (off_t)g->size) != 0)
			LOG_WARN("spool: cutting off a failed write: %s", strerror(errno));
		if (e == ENOSPC || e == EDQUOT)
			return -1;
		buf_printf(err, "writing to %s/seg-%016" PRIu64 ".spool: %s", s->dir, g->id,
			   strerror(e));
		return -2;
	}
	g->size += FRAME + len;
	g->records++;
	s->bytes += FRAME + len;
	return 0;
}

int spool_sync(struct spool *s, struct buf *err)
{
	if (s->sync_errno) {
		buf_printf(err, "fdatasync in %s: %s", s->dir, strerror(s->sync_errno));
		s->sync_errno = 0;
		return -1;
	}
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
	if (g->keep)
		LOG_WARN("spool: %s is left in place: part of it could not be read", path);
	else if (unlink(path) != 0 && errno != ENOENT)
		LOG_WARN("spool: %s: cannot remove it: %s", path, strerror(errno));
	free(path);
	s->bytes -= g->size;
	seg_free(g);
}

static void seg_maybe_remove(struct spool *s, struct seg *g)
{
	if (next_off(g) >= g->size && g->done == g->read && g->read == g->records)
		seg_remove(s, g);
}

int spool_read(struct spool *s, struct buf *out, struct spool_pos *pos)
{
	struct seg *g = s->head;
	while (g && next_off(g) >= g->size)
		g = g->next;
	if (!g)
		return 0;
	g->read_off = next_off(g);
	char *path = NULL;
	if (g->rfd < 0) {
		path = seg_path(s, g->id);
		g->rfd = open(path, O_RDONLY | O_CLOEXEC);
	}
	int64_t r = g->rfd < 0 ? -1 : frame_read(g->rfd, g->version, g->read_off, g->size, out);
	if (r <= 0) {
		/* The scan at open, or the append, found a good record here:
		 * the file changed or the disk failed. */
		if (!path)
			path = seg_path(s, g->id);
		LOG_ERR("spool: %s: cannot read the record at byte %" PRIu64
			": %s; the rest of the segment (%" PRIu64
			" records) is skipped, and the file is left in place",
			path, g->read_off, r < 0 ? strerror(errno) : "bad frame or checksum",
			g->records - g->read);
		free(path);
		g->keep = true;
		g->records = g->read;
		g->read_off = g->size;
		seg_maybe_remove(s, g);
		return -1;
	}
	free(path);
	g->read_off += (uint64_t)r;
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
		if (next_off(g) < g->size)
			return true;
	return false;
}

const char *spool_dir(const struct spool *s)
{
	return s->dir;
}
