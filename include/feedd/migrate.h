/*
 * migrate: feedd's schema, compiled in, and `feedd migrate`, which creates
 * or upgrades it.
 *
 * The schema is the numbered files sql/NNN_name.sql; at build time
 * cmake/embed_sql.cmake turns them into the migrations[] table below, so
 * the binary never reads sql/ at run time and always knows exactly which
 * schema it was built for.  A database's version is the highest version in
 * feedd.schema_migrations (0 when that table is missing or empty).
 *
 * migrate_run connects with blocking libpq (a one-shot command, never the
 * daemon), holds the session advisory lock MIGRATE_LOCK_KEY so that two
 * migrations never interleave, and applies each pending migration in its own
 * transaction together with its schema_migrations row: a migration is
 * applied whole or not at all.  So a migration file holds no BEGIN or
 * COMMIT and nothing that cannot run inside a transaction (CREATE INDEX
 * CONCURRENTLY, ALTER SYSTEM).
 */
#ifndef FEEDD_MIGRATE_H
#define FEEDD_MIGRATE_H

#include <stddef.h>

#include "feedd/util.h"

/* The pg_advisory_lock key `feedd migrate` holds while it works: "feedd" in
 * ASCII, 0x6665656464.  Anything else that must not run during a migration
 * can take it too (pg_advisory_lock_shared would wait for one to finish). */
#define MIGRATE_LOCK_KEY 439804732516LL

/* One sql/NNN_name.sql file: version NNN, name, and its text. */
struct migration {
	int version;
	const char *name;
	const char *sql;
};

/* Every migration, in version order 1, 2, ... n_migrations (generated). */
extern const struct migration migrations[];
extern const size_t n_migrations;

/* One sql/functions/NAME.sql file: CREATE OR REPLACE definitions of
 * functions and views.  They are code, not history: a change to a function
 * is a change to its file, and `feedd migrate` applies all of them (in name
 * order, one transaction) after the migrations whenever the database's
 * feedd.code_version differs from migrate_code_hash(). */
struct sql_code {
	const char *name;
	const char *sql;
};

extern const struct sql_code sql_code[];
extern const size_t n_sql_code;

/* The hash of every sql_code file's name and text (16 hex digits). */
void migrate_code_hash(char out[17]);

/* The schema version this binary was built for: the last migration's. */
int migrate_latest_version(void);

/* Checks that a database at db_version (0: no feedd schema) is the version
 * this binary needs; 0, or -1 with a message ending in what to do ("run
 * `feedd migrate`" or "upgrade feedd") in err. */
int migrate_check_version(int db_version, struct buf *err);

/* Brings the database at conninfo to migrate_latest_version() and this
 * binary's functions and views: one line per migration applied ("applied
 * migration 1 (init)"), one when the functions and views were applied
 * ("applied functions and views (6 files in sql/functions)"), and a summary
 * ("schema at version 1", or "schema already at version 1, nothing to do")
 * go to out.  Returns 0, or -1 with the reason in err (whatever was applied
 * before a failure stays applied and is listed in out); a database newer
 * than this binary is refused untouched. */
int migrate_run(const char *conninfo, struct buf *out, struct buf *err);

/* Like migrate_run, but changes nothing: connects, takes the lock, reads
 * the version and lists what migrate_run would apply ("would apply
 * migration 1 (init)"). */
int migrate_dry_run(const char *conninfo, struct buf *out, struct buf *err);

/* Appends conninfo (key=value or URI) fit for a log line: as given when it
 * holds no password, else rebuilt as key=value without password and
 * sslpassword; "conninfo" when libpq cannot parse it. */
void migrate_conninfo_redacted(const char *conninfo, struct buf *out);

#endif
