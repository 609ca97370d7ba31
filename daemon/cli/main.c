/*
 * main: feedd's command line; dispatches to the subcommands.
 */
#include "feedd/cmd.h"
#include "feedd/daemon.h"
#include "feedd/feed.h"
#include "feedd/log.h"
#include "feedd/tz.h"
#include "feedd/util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
	"usage:\n"
	"  feedd run      [-c FILE]                          the daemon (systemd Type=notify)\n"
	"  feedd once     [-c FILE] [FEED...]                poll each (or the named) feed once\n"
	"  feedd parse    [-c FILE --source NAME] [--base URL] [--charset NAME] FILE|-\n"
	"                                                    feed document -> JSON Lines\n"
	"  feedd extract  [-c FILE --source NAME | --generic] [--url URL] FILE|-\n"
	"                                                    article page -> JSON\n"
	"  feedd migrate  [-c FILE] [--dry-run]              create or upgrade the schema\n"
	"  feedd check-config [-c FILE]                      validate and summarise the "
	"configuration\n"
	"  feedd --version | --help\n";

void cmd_usage(FILE *to)
{
	fputs(usage_text, to);
}

/* run and once: SIGHUP, SIGTERM and SIGINT wait (blocked, pending) until
 * daemon_main has armed its ev_signal watchers and unblocks them, so that
 * a `systemctl reload` or stop in the first milliseconds, while the
 * configuration is still being read, is not fatal (SIGHUP's default
 * action ends the process). */
static void block_early_signals(void)
{
	daemon_mask_signals(SIG_BLOCK);
}

/* The subcommands, by the name argv[1] gives. */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{"parse", cmd_parse},	  {"check-config", cmd_check_config},
	{"migrate", cmd_migrate}, {"run", cmd_run},
	{"once", cmd_once},	  {"extract", cmd_extract},
};

/* The subcommand named by argv[1]; its exit status. */
static int dispatch(int argc, char **argv)
{
	if (argc < 2) {
		cmd_usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		cmd_usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("feedd %s\n", FEEDD_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	LOG_ERR("unknown command '%s'", cmd);
	cmd_usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "once") == 0))
		block_early_signals();
	log_init(LOG_STYLE_COMMAND, LOG_LVL_INFO);
	/* Process-wide library settings, once, before anything parses. */
	feed_xml_init();
	int rc = dispatch(argc, argv);
	tz_finalise();
	return rc;
}
