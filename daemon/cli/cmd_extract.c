/*
 * cmd_extract: `feedd extract`, an article page in, one JSON object out (the
 * contract is in docs/DESIGN.md, "feedd extract output").  It runs the same
 * extractor the daemon will run on fetched pages, so a source's rules can be
 * tried on a saved page before they go into the configuration.
 */
#include "feedd/cmd.h"
#include "feedd/config.h"
#include "feedd/extract.h"
#include "feedd/log.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* Pages above this are refused without -c; with it, max_article_size. */
#define DEFAULT_MAX_PAGE (8u << 20)

static void print_page(const struct store_page *a)
{
	/* json-c keeps keys in insertion order: the order DESIGN.md gives. */
	json_object *o = json_object_new_object();
	json_object_object_add(o, "url", cmd_json_string(a->url));
	json_object_object_add(o, "news_id", cmd_json_string(a->news_id));
	json_object_object_add(o, "title", cmd_json_string(a->title));
	json_object_object_add(o, "lead", cmd_json_string(a->lead));
	json_object_object_add(o, "body", cmd_json_string(a->body));
	json_object_object_add(o, "author", cmd_json_string(a->author));
	json_object_object_add(o, "published", cmd_json_time(a->published_at));
	json_object_object_add(o, "updated", cmd_json_time(a->modified_at));
	json_object_object_add(o, "tags", cmd_json_strings(a->tags, a->n_tags));
	json_object_object_add(o, "image", cmd_json_string(a->image));
	json_object_object_add(o, "caption", cmd_json_string(a->caption));
	json_object_object_add(o, "language", cmd_json_string(a->language));
	cmd_json_print(o, stdout);
}

static int extract_usage(FILE *to)
{
	fputs("usage: feedd extract [-c FILE --source NAME | --generic] [--url URL]\n"
	      "                     [--charset NAME] FILE|- [FILE...]\n"
	      "Without -c and --source, the built-in rules `nastooh` (alias `irna`) are used,\n"
	      "with dates that carry no zone read in Asia/Tehran time.\n"
	      "--generic reads a page of any site: no preset and no rules, only the page's\n"
	      "JSON-LD and meta tags and a generic search for its text, dates without a zone\n"
	      "read as UTC.\n"
	      "Several FILEs give one line each, in order (--url applies to every one).\n"
	      "--charset gives the page's encoding as an HTTP Content-Type would; a byte-order\n"
	      "mark still wins over it, and it wins over the page's <meta charset>.\n",
	      to);
	return 2;
}

/* Extracts each page in paths[0..n) ("-": stdin) of at most max bytes and
 * prints it as one line of JSON, in order; a page that fails is one line on
 * stderr and makes the result 1, the others still go. */
static int extract_files(char **paths, size_t n, size_t max, const char *url, const char *charset,
			 const struct extract_rules *rules)
{
	struct buf page, err;
	buf_init(&page);
	buf_init(&err);
	int status = 0;
	for (size_t i = 0; i < n; i++) {
		const char *path = paths[i];
		const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
		bool truncated = false;
		buf_reset(&page);
		buf_reset(&err);
		if (read_file_capped(path, max, &page, &truncated) != 0) {
			LOG_ERR("%s: %s", name, strerror(errno));
			status = 1;
		} else if (truncated) {
			LOG_ERR("%s: larger than %zu bytes", name, max);
			status = 1;
		} else {
			struct store_page *a;
			if (extract_page(page.data ? page.data : "", page.len, url, charset, rules,
					 &a, &err) != 0) {
				LOG_ERR("%s: %s", name, buf_str(&err));
				status = 1;
			} else {
				print_page(a);
				store_page_free(a);
			}
		}
	}
	buf_free(&page);
	buf_free(&err);
	return status;
}

/* A little over 80 lines: half of them are the option table and getopt's
 * switch, one case per option, which read best in one place. */
int cmd_extract(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"source", required_argument, NULL, 's'},
		{"url", required_argument, NULL, 'u'},
		{"generic", no_argument, NULL, 'g'},
		{"charset", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *source_name = NULL, *url = NULL, *charset = NULL;
	bool generic = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:u:e:gh", opts, NULL)) != -1) {
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
		case 'e':
			charset = optarg;
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
	if (optind >= argc)
		return extract_usage(stderr);
	if (generic && (config_path || source_name)) {
		LOG_ERR("extract: --generic and -c/--source exclude each other");
		return 2;
	}
	if (!config_path != !source_name) {
		LOG_ERR("extract: -c FILE and --source NAME go together");
		return 2;
	}

	struct cfg *cfg = NULL;
	/* --generic: no preset, no rules; the fallbacks and the generic body,
	 * with dates that carry no zone read as UTC. */
	struct extract_rules rules = {0};
	if (generic) {
		rules.preset = "none";
		rules.timezone = "UTC";
	}
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

	int status =
		extract_files(argv + optind, (size_t)(argc - optind), max, url, charset, &rules);
	buf_free(&err);
	cfg_free(cfg);
	return cmd_flush_output(status);
}
