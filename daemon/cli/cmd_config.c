/*
 * cmd_config: `feedd check-config [-c FILE]`.  Loads the configuration the
 * way the daemon would and prints every effective setting, so that a file
 * can be checked before `systemctl reload feedd` and a user can see what
 * the defaults and conf.d drop-ins add up to.
 */
#include "feedd/cmd.h"
#include "feedd/config.h"
#include "feedd/log.h"
#include "feedd/util.h"

#include <stdio.h>
#include <string.h>

static int usage_error(const char *what, const char *arg)
{
	LOG_ERR("check-config: %s '%s'", what, arg);
	fputs("usage: feedd check-config [-c FILE]\n", stderr);
	return 2;
}

int cmd_check_config(int argc, char **argv)
{
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs("usage: feedd check-config [-c FILE]\n", stdout);
			return 0;
		}
		int opt = cmd_config_option(argc, argv, &i, &path);
		if (opt < 0)
			return usage_error("a file name must follow", a);
		if (opt > 0)
			continue;
		return usage_error(a[0] == '-' ? "unknown option" : "unexpected argument", a);
	}

	struct cfg *cfg;
	int status = cmd_load_main_config(&path, &cfg);
	if (status)
		return status;
	struct buf msg;
	buf_init(&msg);
	cfg_summary(cfg, &msg);
	fwrite(msg.data, 1, msg.len, stdout);
	int rc = fflush(stdout) == 0 ? 0 : 1;
	buf_free(&msg);
	cfg_free(cfg);
	return rc;
}
