/*
 * cmd_common: what several subcommands share: loading the configuration and
 * finding a source in it, with the error messages and exit status every
 * command gives for them.
 */
#include "feedd/cmd.h"
#include "feedd/config.h"
#include "feedd/log.h"

#include <string.h>

int cmd_load_config(const char *path, const char *source_name, struct cfg **cfg,
		    const struct cfg_source **src)
{
	struct buf err;
	buf_init(&err);
	*cfg = NULL;
	if (src)
		*src = NULL;
	if (cfg_load(path, cfg, &err) != 0) {
		LOG_ERR("%s", buf_str(&err));
		buf_free(&err);
		return 2;
	}
	buf_free(&err);
	if (source_name && src) {
		*src = cfg_source_find(*cfg, source_name);
		if (!*src) {
			LOG_ERR("%s: no [source %s] in this configuration", (*cfg)->path,
				source_name);
			cfg_free(*cfg);
			*cfg = NULL;
			return 2;
		}
	}
	return 0;
}

int cmd_config_option(int argc, char **argv, int *i, const char **path)
{
	const char *a = argv[*i];
	if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
		if (*i + 1 == argc)
			return -1;
		*path = argv[++*i];
	} else if (strncmp(a, "--config=", 9) == 0) {
		*path = a + 9;
	} else if (strncmp(a, "-c", 2) == 0) {
		*path = a + 2;
	} else {
		return 0;
	}
	return 1;
}
