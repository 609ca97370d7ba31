/*
 * test_migrate: the parts of migrate that need no database.  The embedded
 * migrations[] table against the sql/ files it was generated from (byte for
 * byte, which tests cmake/embed_sql.cmake's escaping), the version check's
 * verdicts and messages, and the conninfo shown in error messages, which
 * must never carry a password.  tests/integration/test_migrate.sh runs
 * `feedd migrate` against a real server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedd/migrate.h"
#include "feedd/util.h"

#define SQL_DIR FEEDD_FIXTURES "/../../sql"

static void test_table(void **state)
{
	assert_true(n_migrations >= 1);
	assert_int_equal(migrate_latest_version(), (int)n_migrations);
	assert_int_equal(migrations[0].version, 1);
	assert_string_equal(migrations[0].name, "init");
	for (size_t i = 0; i < n_migrations; i++) {
		const struct migration *m = &migrations[i];
		assert_int_equal(m->version, (int)i + 1);
		assert_true(m->name[0] != '\0');

		char path[512];
		snprintf(path, sizeof path, SQL_DIR "/%03d_%s.sql", m->version, m->name);
		struct buf file;
		bool truncated;
		buf_init(&file);
		if (read_file_capped(path, 16 << 20, &file, &truncated) < 0)
			fail_msg("cannot read %s", path);
		assert_false(truncated);
		assert_int_equal(strlen(m->sql), file.len);
		assert_memory_equal(m->sql, file.data, file.len);
		buf_free(&file);
	}
	/* The first migration makes the schema and its version table. */
	assert_non_null(strstr(migrations[0].sql, "CREATE SCHEMA IF NOT EXISTS feedd;"));
	assert_non_null(strstr(migrations[0].sql, "feedd.schema_migrations"));
}

/* The files of sql/functions, embedded byte for byte in name order, and their
 * hash: 16 hex digits, the same at every call. */
static void test_code(void **state)
{
	assert_true(n_sql_code >= 1);
	for (size_t i = 0; i < n_sql_code; i++) {
		if (i > 0)
			assert_true(strcmp(sql_code[i - 1].name, sql_code[i].name) < 0);
		char path[512];
		snprintf(path, sizeof path, SQL_DIR "/functions/%s", sql_code[i].name);
		struct buf file;
		bool truncated;
		buf_init(&file);
		if (read_file_capped(path, 16 << 20, &file, &truncated) < 0)
			fail_msg("cannot read %s", path);
		assert_int_equal(strlen(sql_code[i].sql), file.len);
		assert_memory_equal(sql_code[i].sql, file.data, file.len);
		assert_non_null(strstr(sql_code[i].sql, "CREATE OR REPLACE"));
		buf_free(&file);
	}
	char a[17], b[17];
	migrate_code_hash(a);
	migrate_code_hash(b);
	assert_int_equal(strlen(a), 16);
	assert_int_equal(strspn(a, "0123456789abcdef"), 16);
	assert_string_equal(a, b);
}

static void check_verdict(int version, int want_rc, const char *want_text)
{
	struct buf err;
	buf_init(&err);
	assert_int_equal(migrate_check_version(version, &err), want_rc);
	if (want_text)
		assert_string_equal(buf_str(&err), want_text);
	else
		assert_int_equal(err.len, 0);
	buf_free(&err);
}

static void test_check_version(void **state)
{
	int latest = migrate_latest_version();
	char text[256];

	check_verdict(latest, 0, NULL);
	check_verdict(0, -1, "the database has no feedd schema; run `feedd migrate`");
	check_verdict(-1, -1, "the database has no feedd schema; run `feedd migrate`");

	snprintf(text, sizeof text,
		 "database schema version 999 is newer than this feedd (%d); upgrade feedd",
		 latest);
	check_verdict(999, -1, text);
	snprintf(text, sizeof text,
		 "database schema version %d is newer than this feedd (%d); upgrade feedd",
		 latest + 1, latest);
	check_verdict(latest + 1, -1, text);
	if (latest > 1) {
		snprintf(text, sizeof text,
			 "database schema version 1 is older than this feedd (%d); "
			 "run `feedd migrate`",
			 latest);
		check_verdict(1, -1, text);
	}
}

static void expect_redacted(const char *conninfo, const char *want)
{
	struct buf out;
	buf_init(&out);
	buf_puts(&out, "<");
	migrate_conninfo_redacted(conninfo, &out);
	buf_puts(&out, ">");
	char w[512];
	snprintf(w, sizeof w, "<%s>", want);
	assert_string_equal(buf_str(&out), w);
	buf_free(&out);
}

static void test_redacted(void **state)
{
	/* Without a password: exactly as written, whatever the form. */
	expect_redacted("postgresql:///feedd", "postgresql:///feedd");
	expect_redacted("host=/run/postgresql  dbname=feedd", "host=/run/postgresql  dbname=feedd");
	expect_redacted("", "");

	/* With one: rebuilt (in libpq's order) without it. */
	expect_redacted("host=db dbname=feedd password=hunter2", "dbname=feedd host=db");
	expect_redacted("host=db password='a b' user=feedd sslpassword=x sslmode=require",
			"user=feedd host=db sslmode=require");
	expect_redacted("postgresql://feedd:hunter2@db.example:5433/news?sslmode=verify-full",
			"user=feedd dbname=news host=db.example port=5433 sslmode=verify-full");
	expect_redacted("postgresql://db/news?password=hunter2", "dbname=news host=db");
	/* Values that need quoting come back quoted. */
	expect_redacted("host=db password=x application_name='my app' options='-c a=\\'b\\''",
			"host=db options='-c a=\\'b\\'' application_name='my app'");
	expect_redacted("password=x dbname=''", "dbname=''");

	/* Text libpq cannot parse may hide a password anywhere. */
	expect_redacted("host=db password='hunter2", "conninfo");
	expect_redacted("nonsense", "conninfo");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_code),
		cmocka_unit_test(test_check_version),
		cmocka_unit_test(test_redacted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
