/*
 * cmd_run: `feedd run` (the daemon) and `feedd once` (one pass over the
 * feeds); both load the configuration and hand over to daemon_main.
 */
#include "feedd/cmd.h"
#include "feedd/config.h"
#include "feedd/daemon.h"
#include "feedd/log.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int run_or_once(int argc, char **argv, enum daemon_mode mode)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			printf(mode == DAEMON_RUN ? "usage: feedd run [-c FILE]\n"
						  : "usage: feedd once [-c FILE] [FEED...]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (mode == DAEMON_RUN && optind != argc) {
		fputs("usage: feedd run [-c FILE]\n", stderr);
		return 2;
	}
	if (!path)
		path = cfg_default_path();
	struct cfg *cfg;
	int status = cmd_load_config(path, NULL, &cfg, NULL);
	if (status)
		return status;
	log_init(mode == DAEMON_RUN ? LOG_STYLE_DAEMON : LOG_STYLE_COMMAND, cfg->log_level);
	return daemon_main(mode, cfg, path, argv + optind, (size_t)(argc - optind));
}

int cmd_run(int argc, char **argv)
{
	return run_or_once(argc, argv, DAEMON_RUN);
}

int cmd_once(int argc, char **argv)
{
	return run_or_once(argc, argv, DAEMON_ONCE);
}
