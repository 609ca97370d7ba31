/*
 * cmd_common: what several subcommands share: loading the configuration and
 * finding a source in it, with the error messages and exit status every
 * command gives for them; and writing JSON lines to stdout.
 *
 * json-c, not jansson: on feedd's output, mostly long escaped HTML strings,
 * json-c's escaper measured three times faster (it copies runs of bytes
 * that need no escape instead of decoding every UTF-8 character).  The
 * parser and the extractor hand over valid UTF-8 only (charset.c).
 */
#include "feedd/cmd.h"
#include "feedd/config.h"
#include "feedd/date.h"
#include "feedd/log.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

struct json_object *cmd_json_string(const char *s)
{
	return s ? json_object_new_string_len(s, (int)strlen(s)) : NULL; /* NULL: JSON null */
}

struct json_object *cmd_json_time(int64_t t)
{
	char iso[DATE_ISO_LEN];
	if (t == INT64_MIN || date_format_utc(t, iso) != 0)
		return NULL;
	return json_object_new_string(iso);
}

struct json_object *cmd_json_strings(char *const *v, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, cmd_json_string(v[i]));
	return a;
}

void cmd_json_print(struct json_object *o, FILE *to)
{
	/* json-c keeps keys in insertion order; plain and with '/' as is,
	 * the output is stable byte for byte. */
	size_t n;
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	fwrite(s, 1, n, to);
	fputc('\n', to);
	json_object_put(o);
}

int cmd_flush_output(int status)
{
	if (fflush(stdout) != 0) {
		LOG_ERR("writing the output: %s", strerror(errno));
		return 1;
	}
	return status;
}

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

int cmd_load_main_config(const char **path, struct cfg **cfg)
{
	if (!*path)
		*path = cfg_default_path();
	return cmd_load_config(*path, NULL, cfg, NULL);
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
