/*
 * cmd_extract: `feedd extract`, an article page in, one JSON object out (the
 * contract is in docs/DESIGN.md, "feedd extract output").  It runs the same
 * extractor the daemon will run on fetched pages, so a source's rules can be
 * tried on a saved page before they go into the configuration.
 */
#include "feedd/cmd.h"
#include "feedd/config.h"
#include "feedd/date.h"
#include "feedd/extract.h"
#include "feedd/log.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* Pages above this are refused without -c; with it, max_article_size. */
#define DEFAULT_MAX_PAGE (8u << 20)

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string_len(s, (int)strlen(s)) : NULL; /* NULL: JSON null */
}

static void print_page(const struct article_page *a)
{
	char iso[DATE_ISO_LEN];
	bool have_time =
		a->published != EXTRACT_TIME_NONE && date_format_utc(a->published, iso) == 0;
	/* json-c keeps keys in insertion order: the order DESIGN.md gives. */
	json_object *o = json_object_new_object();
	json_object_object_add(o, "url", str_or_null(a->url));
	json_object_object_add(o, "news_id", str_or_null(a->news_id));
	json_object_object_add(o, "title", str_or_null(a->title));
	json_object_object_add(o, "lead", str_or_null(a->lead));
	json_object_object_add(o, "body", str_or_null(a->body));
	json_object_object_add(o, "author", str_or_null(a->author));
	json_object_object_add(o, "published", have_time ? json_object_new_string(iso) : NULL);
	json_object *tags = json_object_new_array();
	for (size_t i = 0; i < a->n_tags; i++)
		json_object_array_add(tags, str_or_null(a->tags[i]));
	json_object_object_add(o, "tags", tags);
	json_object_object_add(o, "image", str_or_null(a->image));
	json_object_object_add(o, "language", str_or_null(a->language));
	size_t n;
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	fwrite(s, 1, n, stdout);
	fputc('\n', stdout);
	json_object_put(o);
}

static int extract_usage(FILE *to)
{
	fputs("usage: feedd extract [-c FILE --source NAME | --generic] [--url URL] FILE|-\n"
	      "Without -c and --source, the built-in rules `nastooh` (alias `irna`) are used,\n"
	      "with visible dates read in Asia/Tehran time.\n",
	      to);
	return 2;
}

int cmd_extract(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"source", required_argument, NULL, 's'},
		{"url", required_argument, NULL, 'u'},	  {"generic", no_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *source_name = NULL, *url = NULL;
	bool generic = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:u:gh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			source_name = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'g':
			generic = true;
			break;
		case 'h':
			extract_usage(stdout);
			return 0;
		default:
			return extract_usage(stderr);
		}
	}
	if (optind != argc - 1)
		return extract_usage(stderr);
	if (generic && (config_path || source_name)) {
		LOG_ERR("extract: --generic and -c/--source exclude each other");
		return 2;
	}
	if (generic) {
		LOG_ERR("extract --generic is not implemented yet");
		return 1;
	}
	if (!config_path != !source_name) {
		LOG_ERR("extract: -c FILE and --source NAME go together");
		return 2;
	}

	struct cfg *cfg = NULL;
	struct extract_rules rules = {0};
	size_t max = DEFAULT_MAX_PAGE;
	struct buf err;
	buf_init(&err);
	if (config_path) {
		const struct cfg_source *src;
		int status = cmd_load_config(config_path, source_name, &cfg, &src);
		if (status) {
			buf_free(&err);
			return status;
		}
		if (extract_rules_from_source(src, &rules, &err) != 0) {
			LOG_ERR("%s: %s", cfg->path, buf_str(&err));
			cfg_free(cfg);
			buf_free(&err);
			return 2;
		}
		max = cfg->max_article_size;
	}

	const char *path = argv[optind];
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	struct buf page;
	buf_init(&page);
	bool truncated = false;
	int status = 0;
	if (read_file_capped(path, max, &page, &truncated) != 0) {
		LOG_ERR("%s: %s", name, strerror(errno));
		status = 1;
	} else if (truncated) {
		LOG_ERR("%s: larger than %zu bytes", name, max);
		status = 1;
	} else {
		struct article_page a;
		if (extract_page(page.data ? page.data : "", page.len, url, &rules, &a, &err) !=
		    0) {
			LOG_ERR("%s: %s", name, buf_str(&err));
			status = 1;
		} else {
			print_page(&a);
			article_page_free(&a);
		}
	}
	buf_free(&page);
	buf_free(&err);
	cfg_free(cfg);
	if (fflush(stdout) != 0) {
		LOG_ERR("writing the output: %s", strerror(errno));
		status = 1;
	}
	return status;
}
