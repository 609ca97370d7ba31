/*
 * test_spool: the spool's records come back in order, across reopening and
 * segment rotation; a torn or corrupt last record is cut off and the ones
 * before it kept; the size cap refuses appends; done records take their
 * segments with them.
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

static size_t files_in(const char *d)
{
	DIR *x = opendir(d);
	if (!x)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(x)))
		n += e->d_name[0] != '.';
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
		if (e->d_name[0] != '.')
			snprintf(out, n, "%s/%s", dir, e->d_name);
	closedir(x);
	assert_true(out[0]);
}

static struct spool *open_ok(uint64_t max)
{
	struct buf err;
	buf_init(&err);
	struct spool *s = spool_open(dir, max, &err);
	if (!s)
		fail_msg("spool_open: %s", buf_str(&err));
	buf_free(&err);
	return s;
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
	struct spool *s = open_ok(100);
	struct buf err;
	buf_init(&err);
	char rec[40];
	memset(rec, 'x', sizeof rec);
	assert_int_equal(spool_append(s, rec, sizeof rec, &err), 0);  /* 48 bytes */
	assert_int_equal(spool_append(s, rec, sizeof rec, &err), 0);  /* 96 */
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
	assert_null(spool_open("/proc/feedd-no-such/spool", 0, &err));
	assert_non_null(strstr(buf_str(&err), "cannot create /proc/feedd-no-such/spool"));
	buf_free(&err);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
