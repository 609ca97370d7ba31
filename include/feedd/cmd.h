/*
 * cmd: the subcommands of the feedd binary.  Each takes argv with argv[0]
 * being the subcommand's name and returns the process exit status: 0 success,
 * 1 runtime failure, 2 usage or configuration error.
 */
#ifndef FEEDD_CMD_H
#define FEEDD_CMD_H

#include <stdint.h>
#include <stdio.h>

struct cfg;
struct cfg_source;
struct json_object;

void cmd_usage(FILE *to);
/* Loads the configuration at path and, if source_name is given, finds that
 * source; 0, or 2 (the exit status) after logging what was wrong. */
int cmd_load_config(const char *path, const char *source_name, struct cfg **cfg,
		    const struct cfg_source **src);
/* For commands that parse argv by hand: if argv[*i] is -c FILE, -cFILE,
 * --config FILE or --config=FILE, sets *path (advancing *i past FILE) and
 * returns 1; 0 if it is something else; -1 if FILE is missing. */
int cmd_config_option(int argc, char **argv, int *i, const char **path);
/* JSON output of parse and extract (json-c): a string, or JSON null for
 * NULL; a time as "YYYY-MM-DDTHH:MM:SSZ", or null for INT64_MIN (the
 * modules' *_TIME_NONE); and one object as one line on to, freed after. */
struct json_object *cmd_json_string(const char *s);
struct json_object *cmd_json_time(int64_t t);
void cmd_json_print(struct json_object *o, FILE *to);
int cmd_parse(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_once(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_migrate(int argc, char **argv);

#endif
