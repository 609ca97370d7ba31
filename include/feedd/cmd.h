/*
 * cmd: the subcommands of the feedd binary.  Each takes argv with argv[0]
 * being the subcommand's name and returns the process exit status: 0 success,
 * 1 runtime failure, 2 usage or configuration error.
 */
#ifndef FEEDD_CMD_H
#define FEEDD_CMD_H

#include <stdio.h>

void cmd_usage(FILE *to);
int cmd_parse(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_once(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_migrate(int argc, char **argv);

#endif
