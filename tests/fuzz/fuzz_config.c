/*
 * fuzz_config: libFuzzer target for the configuration parser
 * (include/feedd/config.h).  cfg_load reads files, so each input is written
 * to feedd.conf in a private directory made once per process (mkdtemp under
 * $TMPDIR or /tmp; it has no conf.d, so only the input is read) and removed
 * at exit.
 *
 * A file that loads must describe itself: cfg_summary's text is itself a
 * valid configuration, and loading it gives the same summary again (comment
 * lines aside, which name files and lines).  Every source and feed must be
 * found by name, and a configuration must reload onto itself.
 *
 * scripts/fuzz config SECONDS runs it on tests/fixtures/config.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feedd/config.h"
#include "feedd/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[4096];
static char conf_path[4096 + 16];
static char summary_path[4096 + 16];

static void remove_dir(void)
{
	unlink(conf_path);
	unlink(summary_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/feedd-fuzz-config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("fuzz_config: mkdtemp");
		exit(1);
	}
	snprintf(conf_path, sizeof conf_path, "%s/feedd.conf", dir);
	snprintf(summary_path, sizeof summary_path, "%s/summary.conf", dir);
	atexit(remove_dir);
	return 0;
}

static void write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

/* The summary without its comment lines, which name files and lines. */
static void summary_settings(const struct cfg *c, struct buf *out)
{
	struct buf all;
	buf_init(&all);
	cfg_summary(c, &all);
	const char *line = buf_str(&all);
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
		if (line[0] != '#')
			buf_append(out, line, n);
		line += n;
	}
	buf_free(&all);
}

static void check_loaded(const struct cfg *c)
{
	for (size_t i = 0; i < c->n_sources; i++)
		if (cfg_source_find(c, c->sources[i].name) != &c->sources[i]) {
			fprintf(stderr, "fuzz_config: source %s not found by name\n",
				c->sources[i].name);
			abort();
		}
	for (size_t i = 0; i < c->n_feeds; i++)
		if (cfg_feed_find(c, c->feeds[i].name) != &c->feeds[i] || !c->feeds[i].source) {
			fprintf(stderr, "fuzz_config: feed %s not found by name or sourceless\n",
				c->feeds[i].name);
			abort();
		}
	struct buf why;
	buf_init(&why);
	if (cfg_reload_check(c, c, &why) != 0) {
		fprintf(stderr, "fuzz_config: reloading onto itself: %s\n", buf_str(&why));
		abort();
	}
	buf_free(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	write_file(conf_path, data, size);
	struct cfg *c = NULL;
	struct buf err;
	buf_init(&err);
	if (cfg_load(conf_path, &c, &err) != 0) {
		if (c || err.len == 0) {
			fprintf(stderr, "fuzz_config: a failed load set *out or gave no reason\n");
			abort();
		}
		buf_free(&err);
		return 0;
	}
	check_loaded(c);

	struct buf first, second;
	buf_init(&first);
	buf_init(&second);
	buf_reset(&err);
	summary_settings(c, &first);
	struct buf text;
	buf_init(&text);
	cfg_summary(c, &text);
	write_file(summary_path, buf_str(&text), text.len);
	buf_free(&text);
	struct cfg *again = NULL;
	if (cfg_load(summary_path, &again, &err) != 0) {
		fprintf(stderr, "fuzz_config: the summary does not load: %s\n", buf_str(&err));
		abort();
	}
	summary_settings(again, &second);
	if (strcmp(buf_str(&first), buf_str(&second)) != 0) {
		fprintf(stderr, "fuzz_config: the summary's summary differs:\n%s\n---\n%s\n",
			buf_str(&first), buf_str(&second));
		abort();
	}
	cfg_free(again);
	cfg_free(c);
	buf_free(&first);
	buf_free(&second);
	buf_free(&err);
	return 0;
}
