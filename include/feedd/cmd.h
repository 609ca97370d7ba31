/*
 * cmd: the subcommands of the feedd binary.  Each takes argv with argv[0]
 * being the subcommand's name and returns the process exit status: 0 success,
 * 1 runtime failure, 2 usage or configuration error.
 */
#ifndef FEEDD_CMD_H
#define FEEDD_CMD_H

#include <stddef.h>
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
/* The same for the configuration of the whole daemon: the one at *path, or
 * when *path is NULL at cfg_default_path(), which *path is then set to. */
int cmd_load_main_config(const char **path, struct cfg **cfg);
/* For commands that parse argv by hand: if argv[*i] is -c FILE, -cFILE,
 * --config FILE or --config=FILE, sets *path (advancing *i past FILE) and
 * returns 1; 0 if it is something else; -1 if FILE is missing. */
int cmd_config_option(int argc, char **argv, int *i, const char **path);
/* JSON output of parse and extract (json-c): a string, or JSON null for
 * NULL; a time as "YYYY-MM-DDTHH:MM:SSZ", or null for INT64_MIN (the
 * modules' *_TIME_NONE); an array of the n strings in v; and one object as
 * one line on to, freed after. */
struct json_object *cmd_json_string(const char *s);
struct json_object *cmd_json_time(int64_t t);
struct json_object *cmd_json_strings(char *const *v, size_t n);
void cmd_json_print(struct json_object *o, FILE *to);
/* Flushes stdout at a command's end: status, or 1 after logging why the
 * output could not be written. */
int cmd_flush_output(int status);
int cmd_parse(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_once(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_migrate(int argc, char **argv);

#endif
