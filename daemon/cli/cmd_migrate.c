/*
 * cmd_migrate: `feedd migrate [-c FILE] [--dry-run]`.  Reads the database
 * to use from the configuration's [database] conninfo and brings its schema
 * to the version compiled into this binary (see migrate.h).  A database
 * newer than the binary is refused, never downgraded.
 */
#include "feedd/cmd.h"
#include "feedd/config.h"
#include "feedd/log.h"
#include "feedd/migrate.h"
#include "feedd/util.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] = "usage: feedd migrate [-c FILE] [--dry-run]\n";

static int usage_error(const char *what, const char *arg)
{
	LOG_ERR("migrate: %s '%s'", what, arg);
	fputs(usage_text, stderr);
	return 2;
}

int cmd_migrate(int argc, char **argv)
{
	const char *path = NULL;
	bool dry_run = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int opt;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (strcmp(a, "-n") == 0 || strcmp(a, "--dry-run") == 0) {
			dry_run = true;
		} else if ((opt = cmd_config_option(argc, argv, &i, &path)) != 0) {
			if (opt < 0)
				return usage_error("a file name must follow", a);
		} else {
			return usage_error(a[0] == '-' ? "unknown option" : "unexpected argument",
					   a);
		}
	}

	struct cfg *cfg;
	int status = cmd_load_main_config(&path, &cfg);
	if (status)
		return status;
	struct buf out, err;
	buf_init(&out);
	buf_init(&err);
	const char *conninfo = cfg->db.conninfo;
	int failed =
		dry_run ? migrate_dry_run(conninfo, &out, &err) : migrate_run(conninfo, &out, &err);
	int rc = failed ? 1 : 0;
	/* What was applied before a failure was applied: say so first. */
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	if (fflush(stdout) != 0)
		rc = 1;
	if (err.len)
		LOG_ERR("%s", buf_str(&err));
	buf_free(&out);
	buf_free(&err);
	cfg_free(cfg);
	return rc;
}
