/*
 * migrate: applies the compiled-in migrations (see migrate.h) to a database
 * for `feedd migrate`, and the version check the daemon makes before it
 * writes anything.
 *
 * STYLE.md rule 2 keeps libpq inside the store module and names store.c;
 * the store's files (store*.c, through store_int.h) and this one are the
 * only ones that include libpq-fe.h.  Unlike them it uses blocking libpq
 * (PQconnectdb, PQexec): a migration is a one-shot command with nothing
 * else to do while it waits, and the daemon never calls migrate_run.
 */
#include "feedd/migrate.h"
#include "feedd/log.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

/* The same definitions open sql/001_init.sql.  They are made here first so
 * that the version of any database can be read the same way, even one that
 * feedd never touched. */
static const char *const sql_bootstrap = "CREATE SCHEMA IF NOT EXISTS feedd;\n"
					 "CREATE TABLE IF NOT EXISTS feedd.schema_migrations (\n"
					 "  version int PRIMARY KEY,\n"
					 "  name text NOT NULL,\n"
					 "  applied_at timestamptz NOT NULL DEFAULT now()\n"
					 ");";
/* Schema changes can take long and wait for locks; the role's or database's
 * timeouts are for the daemon's statements, not for these.  Notices such as
 * "schema feedd already exists, skipping" are noise here. */
static const char *const sql_session = "SET client_min_messages = warning; "
				       "SET statement_timeout = 0; SET lock_timeout = 0; "
				       "SET idle_in_transaction_session_timeout = 0";
static const char *const sql_have_table =
	"SELECT to_regclass('feedd.schema_migrations') IS NOT NULL";
static const char *const sql_version =
	"SELECT coalesce(max(version), 0) FROM feedd.schema_migrations";
static const char *const sql_record =
	"INSERT INTO feedd.schema_migrations (version, name) VALUES ($1::int, $2)";
/* feedd.code_version (sql/012): the hash of the functions and views the
 * database holds; missing before migration 12. */
static const char *const sql_have_code = "SELECT to_regclass('feedd.code_version') IS NOT NULL";
static const char *const sql_code_hash = "SELECT coalesce(max(hash), '') FROM feedd.code_version";
static const char *const sql_record_code =
	"INSERT INTO feedd.code_version (hash) VALUES ($1) "
	"ON CONFLICT (only_row) DO UPDATE SET hash = excluded.hash, applied_at = now()";

void migrate_code_hash(char out[17])
{
	XXH3_state_t *st = XXH3_createState();
	XXH3_64bits_reset(st);
	for (size_t i = 0; i < n_sql_code; i++) {
		/* name and text, each with its terminating NUL: no two lists of
		 * files hash alike by moving text from one to the next */
		XXH3_64bits_update(st, sql_code[i].name, strlen(sql_code[i].name) + 1);
		XXH3_64bits_update(st, sql_code[i].sql, strlen(sql_code[i].sql) + 1);
	}
	snprintf(out, 17, "%016llx", (unsigned long long)XXH3_64bits_digest(st));
	XXH3_freeState(st);
}

int migrate_latest_version(void)
{
	return n_migrations ? migrations[n_migrations - 1].version : 0;
}

int migrate_check_version(int db_version, struct buf *err)
{
	int latest = migrate_latest_version();
	if (db_version == latest)
		return 0;
	if (db_version <= 0)
		buf_printf(err, "the database has no feedd schema; run `feedd migrate`");
	else if (db_version < latest)
		buf_printf(err,
			   "database schema version %d is older than this feedd (%d); "
			   "run `feedd migrate`",
			   db_version, latest);
	else
		buf_printf(err,
			   "database schema version %d is newer than this feedd (%d); "
			   "upgrade feedd",
			   db_version, latest);
	return -1;
}

/* ---- messages ----------------------------------------------------------- */

static bool is_secret(const char *keyword)
{
	return strcmp(keyword, "password") == 0 || strcmp(keyword, "sslpassword") == 0;
}

/* A conninfo value, quoted the way libpq reads it back when it has to be. */
static void put_conn_value(struct buf *out, const char *v)
{
	if (*v && !strpbrk(v, " \t\n\r\f\v'\\")) {
		buf_puts(out, v);
		return;
	}
	buf_putc(out, '\'');
	for (; *v; v++) {
		if (*v == '\'' || *v == '\\')
			buf_putc(out, '\\');
		buf_putc(out, *v);
	}
	buf_putc(out, '\'');
}

void migrate_conninfo_redacted(const char *conninfo, struct buf *out)
{
	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
	PQfreemem(why);
	if (!opts) {
		/* Unparsable text may still hold a password: show none of it. */
		buf_puts(out, "conninfo");
		return;
	}
	bool secret = false;
	for (const PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && is_secret(o->keyword))
			secret = true;
	if (!secret) {
		buf_puts(out, conninfo);
	} else {
		const char *sep = "";
		for (const PQconninfoOption *o = opts; o->keyword; o++) {
			if (!o->val || is_secret(o->keyword))
				continue;
			buf_printf(out, "%s%s=", sep, o->keyword);
			put_conn_value(out, o->val);
			sep = " ";
		}
	}
	PQconninfoFree(opts);
}

/* Appends s with its line breaks (and the indentation after them) folded
 * into single spaces and without trailing white space: libpq's messages end
 * in "\n" and some continue on a tab-indented second line. */
static void put_folded(struct buf *out, const char *s)
{
	size_t start = out->len;
	while (*s) {
		if (*s == '\n' || *s == '\r') {
			while (*s == '\n' || *s == '\r' || *s == '\t' || *s == ' ')
				s++;
			if (*s)
				buf_putc(out, ' ');
			continue;
		}
		buf_putc(out, *s++);
	}
	while (out->len > start &&
	       (out->data[out->len - 1] == ' ' || out->data[out->len - 1] == '\t'))
		out->data[--out->len] = '\0';
}

/* The server's message for a failed result r: the primary message and its
 * detail and hint, else libpq's own message (a broken connection). */
static void put_pg_error(struct buf *out, PGconn *conn, const PGresult *r)
{
	const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!primary) {
		put_folded(out, PQerrorMessage(conn));
		return;
	}
	put_folded(out, primary);
	const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
	if (detail) {
		buf_puts(out, " (");
		put_folded(out, detail);
		buf_putc(out, ')');
	}
	if (hint) {
		buf_puts(out, "; hint: ");
		put_folded(out, hint);
	}
}

/* The line of sql that the 1-based character position pos (as the server
 * counts, in characters, not bytes) falls on. */
static int line_of(const char *sql, long pos)
{
	int line = 1;
	long chars = 0;
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
		if ((*p & 0xC0) == 0x80)
			continue; /* a UTF-8 continuation byte */
		if (++chars >= pos)
			break;
		if (*p == '\n')
			line++;
	}
	return line;
}

static void notice_to_log(void *arg, const char *message)
{
	struct buf b;
	buf_init(&b);
	put_folded(&b, message);
	LOG_WARN("%s", buf_str(&b));
	buf_free(&b);
}

/* ---- running SQL -------------------------------------------------------- */

/* Runs sql, expecting status want; the result, or NULL with "what: why" in
 * err. */
static PGresult *exec_want(PGconn *conn, const char *sql, ExecStatusType want, const char *what,
			   struct buf *err)
{
	PGresult *r = PQexec(conn, sql);
	if (PQresultStatus(r) == want)
		return r;
	buf_printf(err, "%s: ", what);
	put_pg_error(err, conn, r);
	PQclear(r);
	return NULL;
}

/* Runs a statement that returns nothing; 0, or -1 with "what: why" in err. */
static int exec_command(PGconn *conn, const char *sql, const char *what, struct buf *err)
{
	PGresult *r = exec_want(conn, sql, PGRES_COMMAND_OK, what, err);
	PQclear(r);
	return r ? 0 : -1;
}

/* Runs a query of one row and one column; 0 with the value in *out, or -1
 * with "what: why" in err. */
static int query_value(PGconn *conn, const char *sql, const char *what, struct buf *err, char **out)
{
	PGresult *r = exec_want(conn, sql, PGRES_TUPLES_OK, what, err);
	if (!r)
		return -1;
	if (PQntuples(r) != 1 || PQnfields(r) != 1 || PQgetisnull(r, 0, 0)) {
		buf_printf(err, "%s: unexpected result", what);
		PQclear(r);
		return -1;
	}
	*out = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/* Takes the migration lock, waiting (and saying so) while another session
 * holds it; 0 or -1.  The wait is a try every 200 ms, never a blocking
 * pg_advisory_lock: a session blocked in a statement is a transaction
 * that CREATE INDEX CONCURRENTLY in the holder's migration would wait for
 * (it waits out every older transaction), a deadlock. */
static int take_lock(PGconn *conn, struct buf *err)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%lld)", MIGRATE_LOCK_KEY);
	for (bool said = false;; said = true) {
		char *got = NULL;
		if (query_value(conn, sql, "taking the migration lock", err, &got) < 0)
			return -1;
		bool taken = strcmp(got, "t") == 0;
		free(got);
		if (taken)
			return 0;
		if (!said)
			LOG_NOTICE("another session holds the migration lock "
				   "(pg_advisory_lock(%lld)); waiting",
				   MIGRATE_LOCK_KEY);
		struct timespec pause = {0, 200 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

/* The database's schema version, 0 when schema_migrations is missing. */
static int read_version(PGconn *conn, struct buf *err, int *version)
{
	char *v = NULL;
	if (query_value(conn, sql_have_table, "reading the schema version", err, &v) < 0)
		return -1;
	bool have = strcmp(v, "t") == 0;
	free(v);
	*version = 0;
	if (!have)
		return 0;
	if (query_value(conn, sql_version, "reading the schema version", err, &v) < 0)
		return -1;
	*version = atoi(v);
	free(v);
	return 0;
}

/* Runs the text of file inside the open transaction; 0, or -1 with the
 * reason (naming the file and, when the server says where, the line) and
 * then what (" (migration 3 not applied)") in err, rolled back. */
static int exec_file(PGconn *conn, const char *file, const char *sql, const char *what,
		     struct buf *err)
{
	PGresult *r = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(r);
		return 0;
	}
	const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
	if (pos)
		buf_printf(err, "%s:%d: ", file, line_of(sql, atol(pos)));
	else
		buf_printf(err, "%s: ", file);
	put_pg_error(err, conn, r);
	buf_puts(err, what);
	PQclear(r);
	PQclear(PQexec(conn, "ROLLBACK"));
	return -1;
}

/* Records m in feedd.schema_migrations; 0, or -1 with the reason, then
 * what, in err. */
static int record_applied(PGconn *conn, const struct migration *m, const char *file,
			  const char *what, struct buf *err)
{
	char version[16];
	snprintf(version, sizeof version, "%d", m->version);
	const char *params[2] = {version, m->name};
	PGresult *r = PQexecParams(conn, sql_record, 2, NULL, params, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		buf_printf(err, "%s: recording it in feedd.schema_migrations: ", file);
		put_pg_error(err, conn, r);
		buf_puts(err, what);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/* A migration whose text holds this line runs outside a transaction
 * (apply_outside): what it does must not take long locks on big tables,
 * as CREATE INDEX CONCURRENTLY does not and cannot in a transaction. */
#define OUTSIDE_TX_MARK "\n-- feedd: outside a transaction\n"

/* An index build that CONCURRENTLY could not finish (the migration
 * stopped, or the server did) leaves an invalid index behind, which
 * CREATE INDEX IF NOT EXISTS would take for done: in schema feedd it can
 * only be that, and it is dropped before such a migration runs again. */
static const char *const sql_invalid_indexes =
	"SELECT quote_ident(c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
	"WHERE c.relnamespace = 'feedd'::regnamespace AND NOT i.indisvalid ORDER BY 1";

static int drop_invalid_indexes(PGconn *conn, const char *file, struct buf *err)
{
	PGresult *r = exec_want(conn, sql_invalid_indexes, PGRES_TUPLES_OK, file, err);
	if (!r)
		return -1;
	int rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		char sql[256];
		snprintf(sql, sizeof sql, "DROP INDEX CONCURRENTLY IF EXISTS feedd.%s",
			 PQgetvalue(r, i, 0));
		LOG_NOTICE("%s: dropping feedd.%s, left invalid by an index build that did not "
			   "finish",
			   file, PQgetvalue(r, i, 0));
		rc = exec_command(conn, sql, file, err);
	}
	PQclear(r);
	return rc;
}

/* Runs m statement by statement, each in its own transaction, then records
 * it.  Its statements end with ';' at the end of a line, hold no ';' that
 * ends a line inside them (no function bodies), and may each be run again
 * (IF NOT EXISTS, IF EXISTS): when one fails, those before it stay done
 * and the next `feedd migrate` runs the migration again from its start. */
static int apply_outside(PGconn *conn, const struct migration *m, const char *file, struct buf *err)
{
	char what[96];
	snprintf(what, sizeof what,
		 " (migration %d not applied; what ran before stays, and is run again next time)",
		 m->version);
	if (drop_invalid_indexes(conn, file, err) < 0)
		return -1;
	struct buf stmt;
	buf_init(&stmt);
	int line = 0, first = 0, rc = 0;
	for (const char *p = m->sql; *p && rc == 0;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		line++;
		const char *t = p;
		while (t < p + n && (*t == ' ' || *t == '\t'))
			t++;
		bool comment = (size_t)(p + n - t) >= 2 && t[0] == '-' && t[1] == '-';
		if (!comment && t < p + n) {
			if (!stmt.len)
				first = line;
			buf_append(&stmt, p, n);
			buf_puts(&stmt, "\n");
			const char *end = p + n;
			while (end > t && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
				end--;
			if (end[-1] == ';') {
				PGresult *r = PQexec(conn, buf_str(&stmt));
				if (PQresultStatus(r) != PGRES_COMMAND_OK) {
					buf_printf(err, "%s:%d: ", file, first);
					put_pg_error(err, conn, r);
					buf_puts(err, what);
					rc = -1;
				}
				PQclear(r);
				stmt.len = 0;
			}
		}
		p = eol ? eol + 1 : p + n;
	}
	buf_free(&stmt);
	return rc < 0 ? -1 : record_applied(conn, m, file, what, err);
}

/* Applies m and records it, in one transaction (or, for a migration marked
 * OUTSIDE_TX_MARK, statement by statement); 0, or -1 with the reason in
 * err. */
static int apply(PGconn *conn, const struct migration *m, struct buf *err)
{
	char file[96], what[64];
	snprintf(file, sizeof file, "sql/%03d_%s.sql", m->version, m->name);
	snprintf(what, sizeof what, " (migration %d not applied)", m->version);
	if (strstr(m->sql, OUTSIDE_TX_MARK))
		return apply_outside(conn, m, file, err);
	if (exec_command(conn, "BEGIN", file, err) < 0 ||
	    exec_file(conn, file, m->sql, what, err) < 0)
		return -1;
	if (record_applied(conn, m, file, "", err) < 0) {
		PQclear(PQexec(conn, "ROLLBACK"));
		return -1;
	}
	/* A failed COMMIT (a deferred constraint, a lost connection) means not
	 * applied: the server rolled it back. */
	return exec_command(conn, "COMMIT", file, err);
}

/* The hash of the functions and views the database holds: "" when none were
 * applied yet (or before migration 12), in *out (owned). */
static int read_code_hash(PGconn *conn, struct buf *err, char **out)
{
	char *v = NULL;
	*out = NULL;
	if (query_value(conn, sql_have_code, "reading the code version", err, &v) < 0)
		return -1;
	bool have = strcmp(v, "t") == 0;
	free(v);
	if (!have) {
		*out = xstrdup("");
		return 0;
	}
	return query_value(conn, sql_code_hash, "reading the code version", err, out);
}

/* Applies every sql/functions file and records their hash, in one
 * transaction; 0, or -1 with the reason in err. */
static int apply_code(PGconn *conn, const char *hash, struct buf *err)
{
	const char *what = " (functions and views not applied)";
	if (exec_command(conn, "BEGIN", "sql/functions", err) < 0)
		return -1;
	for (size_t i = 0; i < n_sql_code; i++) {
		char file[160];
		snprintf(file, sizeof file, "sql/functions/%s", sql_code[i].name);
		if (exec_file(conn, file, sql_code[i].sql, what, err) < 0)
			return -1;
	}
	const char *params[1] = {hash};
	PGresult *r = PQexecParams(conn, sql_record_code, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		buf_puts(err, "sql/functions: recording them in feedd.code_version: ");
		put_pg_error(err, conn, r);
		PQclear(r);
		PQclear(PQexec(conn, "ROLLBACK"));
		return -1;
	}
	PQclear(r);
	return exec_command(conn, "COMMIT", "sql/functions", err);
}

/* Connects to conninfo; the connection, or NULL with "conninfo: why" in
 * err (the conninfo without its password). */
static PGconn *connect_db(const char *conninfo, struct buf *err)
{
	const char *const keys[] = {"dbname", "fallback_application_name", NULL};
	const char *const values[] = {conninfo, "feedd migrate", NULL};
	PGconn *conn = PQconnectdbParams(keys, values, 1);
	if (!conn) {
		migrate_conninfo_redacted(conninfo, err);
		buf_puts(err, ": cannot allocate a connection");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		migrate_conninfo_redacted(conninfo, err);
		buf_puts(err, ": ");
		put_folded(err, PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	int server = PQserverVersion(conn);
	if (server < 140000) {
		migrate_conninfo_redacted(conninfo, err);
		buf_printf(err, ": the server is PostgreSQL %d.%d; feedd needs 14 or later",
			   server / 10000, server % 10000);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, notice_to_log, NULL);
	return conn;
}

/* migrate_run's work on an open connection. */
static int migrate_conn(PGconn *conn, bool dry_run, struct buf *out, struct buf *err)
{
	if (exec_command(conn, sql_session, "setting up the session", err) < 0 ||
	    take_lock(conn, err) < 0)
		return -1;
	int have;
	if (read_version(conn, err, &have) < 0)
		return -1;
	int latest = migrate_latest_version();
	if (have > latest) {
		migrate_check_version(have, err);
		return -1;
	}
	char want[17], *held = NULL;
	migrate_code_hash(want);
	if (read_code_hash(conn, err, &held) < 0)
		return -1;
	bool code_current = strcmp(held, want) == 0;
	free(held);
	if (have == latest && code_current) {
		buf_printf(out, "schema already at version %d, nothing to do\n", have);
		return 0;
	}
	if (dry_run) {
		for (size_t i = 0; i < n_migrations; i++)
			if (migrations[i].version > have)
				buf_printf(out, "would apply migration %d (%s)\n",
					   migrations[i].version, migrations[i].name);
		buf_printf(out, "would apply functions and views (%zu files in sql/functions)\n",
			   n_sql_code);
		buf_printf(out, "schema at version %d; dry run, nothing applied\n", have);
		return 0;
	}
	if (exec_command(conn, sql_bootstrap, "creating schema feedd", err) < 0)
		return -1;
	for (size_t i = 0; i < n_migrations; i++) {
		const struct migration *m = &migrations[i];
		if (m->version <= have)
			continue;
		if (apply(conn, m, err) < 0)
			return -1;
		buf_printf(out, "applied migration %d (%s)\n", m->version, m->name);
		have = m->version;
	}
	if (apply_code(conn, want, err) < 0)
		return -1;
	buf_printf(out, "applied functions and views (%zu files in sql/functions)\n", n_sql_code);
	buf_printf(out, "schema at version %d\n", have);
	return 0;
}

static int run(const char *conninfo, bool dry_run, struct buf *out, struct buf *err)
{
	PGconn *conn = connect_db(conninfo, err);
	if (!conn)
		return -1;
	int rc = migrate_conn(conn, dry_run, out, err);
	/* Closing the session releases the advisory lock. */
	PQfinish(conn);
	return rc;
}

int migrate_run(const char *conninfo, struct buf *out, struct buf *err)
{
	return run(conninfo, false, out, err);
}

int migrate_dry_run(const char *conninfo, struct buf *out, struct buf *err)
{
	return run(conninfo, true, out, err);
}
