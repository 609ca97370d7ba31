/*
 * test_spool: the spool's records come back in order, across reopening and
 * segment rotation; a torn or corrupt last record is cut off and the ones
 * before it kept; a damaged record in the middle costs that record only;
 * segments of the format before the segment header still read; a segment
 * that cannot be read fails the open and is left alone; a second open of
 * the same directory is refused, naming the holder; the size cap refuses
 * appends; done records take their segments with them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "feedd/spool.h"

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "%s/feedd-spool-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	strcat(dir, "/spool"); /* spool_open creates it */
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strlen(dir) - 6), dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The segment files in d (the lock file is not one). */
static size_t files_in(const char *d)
{
	DIR *x = opendir(d);
	if (!x)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(x)))
		n += strncmp(e->d_name, "seg-", 4) == 0;
	closedir(x);
	return n;
}

/* The only segment file's path. */
static void only_segment(char *out, size_t n)
{
	DIR *x = opendir(dir);
	assert_non_null(x);
	struct dirent *e;
	out[0] = '\0';
	while ((e = readdir(x)))
		if (strncmp(e->d_name, "seg-", 4) == 0)
			snprintf(out, n, "%s/%s", dir, e->d_name);
	closedir(x);
	assert_true(out[0]);
}

static void seg_name(char *out, size_t n, uint64_t id)
{
	snprintf(out, n, "%s/seg-%016llu.spool", dir, (unsigned long long)id);
}

static struct spool *open_flags(uint64_t max, unsigned flags)
{
	struct buf err;
	buf_init(&err);
	struct spool *s;
	int r = spool_open(&s, dir, max, flags, &err);
	if (r != 0)
		fail_msg("spool_open: %d: %s", r, buf_str(&err));
	buf_free(&err);
	return s;
}

static struct spool *open_ok(uint64_t max)
{
	return open_flags(max, 0);
}

static off_t size_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static void append_ok(struct spool *s, const char *text)
{
	struct buf err;
	buf_init(&err);
	if (spool_append(s, text, strlen(text), &err) != 0)
		fail_msg("spool_append: %s", buf_str(&err));
	buf_free(&err);
}

static void sync_ok(struct spool *s)
{
	struct buf err;
	buf_init(&err);
	if (spool_sync(s, &err) != 0)
		fail_msg("spool_sync: %s", buf_str(&err));
	buf_free(&err);
}

static void expect_read(struct spool *s, const char *want, struct spool_pos *pos)
{
	struct buf b;
	buf_init(&b);
	int r = spool_read(s, &b, pos);
	if (r != 1)
		fail_msg("spool_read: %d, expected the record \"%s\"", r, want);
	if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0)
		fail_msg("read \"%.*s\", expected \"%s\"", (int)b.len, b.data, want);
	buf_free(&b);
}

static void expect_empty(struct spool *s)
{
	struct buf b;
	buf_init(&b);
	struct spool_pos pos;
	assert_int_equal(spool_read(s, &b, &pos), 0);
	buf_free(&b);
}

static void test_order_and_removal(void **state)
{
	struct spool *s = open_ok(0);
	assert_false(spool_readable(s));
	append_ok(s, "one");
	append_ok(s, "two");
	sync_ok(s);
	struct spool_pos p1, p2, p3;
	expect_read(s, "one", &p1);
	append_ok(s, "three"); /* appended while reading the same segment */
	expect_read(s, "two", &p2);
	expect_read(s, "three", &p3);
	expect_empty(s);
	assert_int_equal(spool_pending(s), 3);
	spool_done(s, &p1);
	spool_done(s, &p2);
	assert_int_equal(files_in(dir), 1);
	spool_done(s, &p3);
	assert_int_equal(spool_pending(s), 0);
	assert_int_equal(files_in(dir), 0); /* drained: nothing left behind */
	assert_int_equal(spool_bytes(s), 0);
	append_ok(s, "four"); /* a new segment */
	expect_read(s, "four", &p1);
	spool_close(s);
}

static void test_reopen(void **state)
{
	struct spool *s = open_ok(0);
	append_ok(s, "alpha");
	append_ok(s, "beta");
	sync_ok(s);
	struct spool_pos p;
	expect_read(s, "alpha", &p); /* read, never done: comes back */
	spool_close(s);
	s = open_ok(0);
	assert_int_equal(spool_pending(s), 2);
	assert_true(spool_readable(s));
	append_ok(s, "gamma"); /* after the old ones */
	expect_read(s, "alpha", &p);
	expect_read(s, "beta", &p);
	expect_read(s, "gamma", &p);
	expect_empty(s);
	spool_close(s);
}

static void test_torn_tail(void **state)
{
	struct spool *s = open_ok(0);
	append_ok(s, "kept one");
	append_ok(s, "kept two");
	append_ok(s, "torn three");
	sync_ok(s);
	spool_close(s);
	char path[512];
	only_segment(path, sizeof path);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	/* Power lost 4 bytes before the end of the last record. */
	assert_int_equal(truncate(path, st.st_size - 4), 0);
	s = open_ok(0);
	assert_int_equal(spool_pending(s), 2);
	struct spool_pos p;
	expect_read(s, "kept one", &p);
	expect_read(s, "kept two", &p);
	expect_empty(s);
	/* The tail was cut off, so what comes next is readable. */
	append_ok(s, "after");
	expect_read(s, "after", &p);
	spool_close(s);
}

static void test_corrupt_last_record(void **state)
{
	struct spool *s = open_ok(0);
	append_ok(s, "good");
	append_ok(s, "flipped");
	sync_ok(s);
	spool_close(s);
	char path[512];
	only_segment(path, sizeof path);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	char c;
	assert_int_equal(pread(fd, &c, 1, st.st_size - 2), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, st.st_size - 2), 1);
	close(fd);
	s = open_ok(0);
	assert_int_equal(spool_pending(s), 1);
	struct spool_pos p;
	expect_read(s, "good", &p);
	expect_empty(s);
	spool_close(s);
	/* Garbage after the last good record: a header promising more than
	 * there is. */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\xff\xff\x00\x00junk", 8), 8);
	close(fd);
	s = open_ok(0);
	assert_int_equal(spool_pending(s), 1);
	spool_close(s);
}

static void test_cap(void **state)
{
	struct spool *s = open_ok(130);
	struct buf err;
	buf_init(&err);
	char rec[40];
	memset(rec, 'x', sizeof rec);
	/* 16 bytes of segment header, 16 of frame per record */
	assert_int_equal(spool_append(s, rec, sizeof rec, &err), 0);  /* 72 bytes */
	assert_int_equal(spool_append(s, rec, sizeof rec, &err), 0);  /* 128 */
	assert_int_equal(spool_append(s, rec, sizeof rec, &err), -1); /* full */
	struct spool_pos p;
	struct buf b;
	buf_init(&b);
	assert_int_equal(spool_read(s, &b, &p), 1);
	spool_done(s, &p);
	assert_int_equal(spool_read(s, &b, &p), 1);
	spool_done(s, &p);
	/* Drained: room again. */
	assert_int_equal(spool_append(s, rec, sizeof rec, &err), 0);
	assert_int_equal(spool_append(s, "", 0, &err), -2); /* empty records are refused */
	buf_free(&b);
	buf_free(&err);
	spool_close(s);
}

static void test_rotation(void **state)
{
	struct spool *s = open_ok(0);
	size_t len = 1u << 20;
	char *rec = malloc(len);
	assert_non_null(rec);
	struct buf err;
	buf_init(&err);
	for (int i = 0; i < 40; i++) { /* 40 MiB: three segments */
		memset(rec, 'a' + i % 26, len);
		snprintf(rec, 16, "%d", i);
		assert_int_equal(spool_append(s, rec, len, &err), 0);
	}
	sync_ok(s);
	assert_true(files_in(dir) >= 3);
	spool_close(s);
	s = open_ok(0);
	assert_int_equal(spool_pending(s), 40);
	struct buf b;
	buf_init(&b);
	struct spool_pos p;
	for (int i = 0; i < 40; i++) {
		assert_int_equal(spool_read(s, &b, &p), 1);
		assert_int_equal(b.len, len);
		assert_int_equal(atoi(b.data), i);
		assert_int_equal(b.data[len - 1], 'a' + i % 26);
		spool_done(s, &p);
	}
	assert_int_equal(spool_read(s, &b, &p), 0);
	assert_int_equal(files_in(dir), 0);
	buf_free(&b);
	buf_free(&err);
	free(rec);
	spool_close(s);
}

static void test_unusable_dir(void **state)
{
	struct buf err;
	buf_init(&err);
	struct spool *s = (struct spool *)&err;
	assert_int_equal(spool_open(&s, "/proc/feedd-no-such/spool", 0, 0, &err), -1);
	assert_null(s);
	assert_non_null(strstr(buf_str(&err), "cannot create /proc/feedd-no-such/spool"));
	buf_free(&err);
}

/* n records "record NNNNN ..." (of varying lengths) in a new spool. */
static void fill(int n)
{
	struct spool *s = open_ok(0);
	char rec[128];
	for (int i = 0; i < n; i++) {
		snprintf(rec, sizeof rec, "record %05d %.*s", i, i % 50,
			 "padding padding padding "
			 "padding padding padding "
			 "padding padding");
		append_ok(s, rec);
	}
	sync_ok(s);
	spool_close(s);
}

/* Reads everything, each record "record NNNNN ..." marked done; how many
 * came back, failing unless they come in increasing order and every number
 * from 0 to n - 1 but those in missing[0..n_missing) (in order) is there. */
static int read_all(struct spool *s, int n, const int *missing, size_t n_missing)
{
	struct buf b;
	buf_init(&b);
	struct spool_pos p;
	int got = 0, want = 0;
	size_t m = 0;
	int r;
	while ((r = spool_read(s, &b, &p)) != 0) {
		if (r < 0)
			fail_msg("spool_read failed after %d records", got);
		while (m < n_missing && want == missing[m]) {
			want++;
			m++;
		}
		int i = -1;
		if (sscanf(b.data, "record %d", &i) != 1 || i != want)
			fail_msg("record %d: read \"%.20s\", expected record %05d", got, b.data,
				 want);
		spool_done(s, &p);
		got++;
		want++;
	}
	while (m < n_missing && want == missing[m]) {
		want++;
		m++;
	}
	if (want != n)
		fail_msg("read up to record %d of %d", want, n);
	buf_free(&b);
	return got;
}

/* One flipped byte in the middle of a segment costs the one record it is
 * in: reading resynchronises at the next one, and the file is not cut. */
static void test_mid_file_corruption(void **state)
{
	fill(5000);
	char path[512];
	only_segment(path, sizeof path);
	off_t size = size_of(path);
	flip_byte(path, 1000);
	struct spool *s = open_ok(0);
	assert_int_equal(size_of(path), size);
	assert_int_equal(spool_pending(s), 4999);
	/* Byte 1000: after the 16-byte header, records 0..9 take 16 + 23..32
	 * bytes each, ... the record it falls in is found by reading. */
	int got = 0;
	struct buf b;
	buf_init(&b);
	struct spool_pos p;
	int want = 0, missing = -1;
	while (spool_read(s, &b, &p) == 1) {
		int i;
		assert_int_equal(sscanf(b.data, "record %d", &i), 1);
		if (i != want) {
			assert_int_equal(missing, -1); /* one gap only */
			assert_int_equal(i, want + 1);
			missing = want;
		}
		want = i + 1;
		got++;
		spool_done(s, &p);
	}
	assert_int_equal(got, 4999);
	assert_int_equal(want, 5000);
	assert_true(missing > 0 && missing < 100);
	assert_int_equal(files_in(dir), 0);
	buf_free(&b);
	spool_close(s);

	/* A flipped byte in a length: the frame's own checksum catches it. */
	fill(3000);
	only_segment(path, sizeof path);
	flip_byte(path, 16 + 4); /* record 0's length */
	s = open_ok(0);
	int none[] = {0};
	assert_int_equal(read_all(s, 3000, none, 1), 2999);
	spool_close(s);
}

/* Damage that runs to the end of a segment that is not the last is
 * skipped, not cut: the next segment's records follow. */
static void test_damaged_end_of_middle_segment(void **state)
{
	fill(100); /* segment 1 */
	struct spool *s = open_ok(0);
	append_ok(s, "record 00100 in the second segment");
	sync_ok(s);
	spool_close(s);
	char first[512];
	seg_name(first, sizeof first, 1);
	off_t size = size_of(first);
	int fd = open(first, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\x55\x55\x55\x55\x55", 5, size - 5), 5);
	close(fd);
	s = open_ok(0);
	assert_int_equal(size_of(first), size);
	int last[] = {99};
	assert_int_equal(read_all(s, 101, last, 1), 100);
	spool_close(s);
}

/* Appends a record framed as feedd before the segment header did it. */
static void put_v1(FILE *f, const char *text)
{
	uint32_t len = (uint32_t)strlen(text), sum = XXH32(text, len, 0);
	unsigned char h[8];
	for (int i = 0; i < 4; i++) {
		h[i] = (unsigned char)(len >> (8 * i));
		h[4 + i] = (unsigned char)(sum >> (8 * i));
	}
	assert_int_equal(fwrite(h, 1, 8, f), 8);
	assert_int_equal(fwrite(text, 1, len, f), len);
}

/* A spool written by feedd before the segment header (version 1) is read:
 * its records in order, a damaged one skipped, its torn tail cut off; what
 * is appended goes to a new segment in the new format after them. */
static void test_old_format(void **state)
{
	struct spool *s = open_ok(0); /* creates the directory */
	spool_close(s);
	char path[512];
	seg_name(path, sizeof path, 7);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	char rec[64];
	for (int i = 0; i < 2000; i++) {
		snprintf(rec, sizeof rec, "record %05d of the old format%.*s", i, i % 7, "xxxxxxx");
		put_v1(f, rec);
	}
	fclose(f);
	s = open_ok(0);
	assert_int_equal(spool_pending(s), 2000);
	assert_int_equal(read_all(s, 2000, NULL, 0), 2000);
	assert_int_equal(files_in(dir), 0);
	spool_close(s);

	/* A flipped byte in record 50, and a torn record at the end. */
	f = fopen(path, "wb");
	assert_non_null(f);
	long at = 0;
	for (int i = 0; i < 2000; i++) {
		if (i == 50)
			at = ftell(f) + 8 + 3;
		snprintf(rec, sizeof rec, "record %05d of the old format%.*s", i, i % 7, "xxxxxxx");
		put_v1(f, rec);
	}
	assert_int_equal(fwrite("\x40\x00\x00\x00\x11\x22\x33\x44torn", 1, 12, f), 12);
	fclose(f);
	flip_byte(path, at);
	off_t size = size_of(path);
	s = open_ok(0);
	assert_int_equal(size_of(path), size - 12); /* the torn tail is cut */
	assert_int_equal(spool_pending(s), 1999);
	append_ok(s, "record 02000, new");
	sync_ok(s);
	int fifty[] = {50};
	assert_int_equal(read_all(s, 2001, fifty, 1), 2000);
	assert_int_equal(files_in(dir), 0);
	spool_close(s);
}

/* A segment that cannot be opened or read (here a directory and a
 * symbolic link to itself, which even root cannot read) fails the open,
 * and nothing in the spool is touched: not it, not another segment's torn
 * tail.  Asked to skip it, the open goes on without it and leaves it. */
static void test_unreadable_segment(void **state)
{
	struct spool *s = open_ok(0);
	append_ok(s, "record 00000");
	append_ok(s, "record 00001");
	sync_ok(s);
	spool_close(s);
	char good[512], as_dir[512], loop[512];
	only_segment(as_dir, sizeof as_dir); /* segment 1, renamed the last */
	seg_name(good, sizeof good, 9);
	assert_int_equal(rename(as_dir, good), 0);
	int fd = open(good, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "torn", 4), 4);
	close(fd);
	off_t size = size_of(good);
	seg_name(as_dir, sizeof as_dir, 0);
	assert_int_equal(mkdir(as_dir, 0700), 0);
	seg_name(loop, sizeof loop, 5);
	assert_int_equal(symlink(loop, loop), 0);

	struct buf err;
	buf_init(&err);
	s = (struct spool *)&err;
	assert_int_equal(spool_open(&s, dir, 0, 0, &err), -2);
	assert_null(s);
	if (!strstr(buf_str(&err), as_dir) || !strstr(buf_str(&err), "not a regular file") ||
	    !strstr(buf_str(&err), "1 more"))
		fail_msg("the reason does not name the segment: %s", buf_str(&err));
	struct stat st;
	assert_int_equal(stat(as_dir, &st), 0);
	assert_int_equal(lstat(loop, &st), 0);
	assert_int_equal(size_of(good), size); /* not even the torn tail cut */

	s = open_flags(0, SPOOL_SKIP_UNREADABLE);
	assert_int_equal(spool_pending(s), 2);
	assert_int_equal(size_of(good), size - 4); /* now the torn tail is cut */
	append_ok(s, "record 00002");
	char next[512];
	seg_name(next, sizeof next, 10); /* after the last id, whatever it holds */
	assert_int_equal(stat(next, &st), 0);
	assert_int_equal(read_all(s, 3, NULL, 0), 3);
	spool_close(s);
	assert_int_equal(stat(as_dir, &st), 0); /* left in place */
	assert_int_equal(lstat(loop, &st), 0);
	assert_int_equal(files_in(dir), 2);
	buf_free(&err);
}

/* A second open of a locked spool is refused, naming the holder; closing
 * the first releases it. */
static void test_lock(void **state)
{
	struct spool *s1 = open_ok(0);
	append_ok(s1, "record 00000");
	sync_ok(s1);
	struct buf err;
	buf_init(&err);
	struct spool *s2 = (struct spool *)&err;
	assert_int_equal(spool_open(&s2, dir, 0, 0, &err), -3);
	assert_null(s2);
	char want[64];
	snprintf(want, sizeof want, "PID %ld", (long)getpid());
	if (!strstr(buf_str(&err), want) || !strstr(buf_str(&err), "in use by another feedd"))
		fail_msg("the refusal does not name the holder (%s): %s", want, buf_str(&err));
	assert_int_equal(files_in(dir), 1); /* the holder's segment is untouched */
	spool_close(s1);
	buf_free(&err);
	s2 = open_ok(0);
	assert_int_equal(read_all(s2, 1, NULL, 0), 1);
	spool_close(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_last_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test(test_unusable_dir),
		cmocka_unit_test_setup_teardown(test_mid_file_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_end_of_middle_segment, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_old_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
