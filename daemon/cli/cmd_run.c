/*
 * cmd_run: `feedd run` (the daemon) and `feedd once` (one pass over the
 * feeds); both load the configuration and hand over to daemon_main.
 */
#include "feedd/cmd.h"
#include "feedd/config.h"
#include "feedd/daemon.h"
#include "feedd/log.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run_or_once(int argc, char **argv, enum daemon_mode mode)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"allow-root", no_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	const char *env = getenv("FEEDD_ALLOW_ROOT");
	bool allow_root = env && strcmp(env, "1") == 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'R':
			allow_root = true;
			break;
		case 'h':
			printf(mode == DAEMON_RUN
				       ? "usage: feedd run [-c FILE] [--allow-root]\n"
				       : "usage: feedd once [-c FILE] [--allow-root] [FEED...]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (mode == DAEMON_RUN && optind != argc) {
		fputs("usage: feedd run [-c FILE] [--allow-root]\n", stderr);
		return 2;
	}
	/* A daemon that reads what strangers publish does not need root;
	 * the unit runs it as its own user. */
	if (geteuid() == 0 && !allow_root) {
		LOG_ERR("refusing to run as root: run feedd as its own user (the systemd unit "
			"does), or pass --allow-root (or set FEEDD_ALLOW_ROOT=1) if you must");
		return 2;
	}
	struct cfg *cfg;
	int status = cmd_load_main_config(&path, &cfg);
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
