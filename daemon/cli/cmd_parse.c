/*
 * cmd_parse: `feedd parse`, a feed document in, JSON Lines out (the contract
 * is in README.md, "feedd parse").  The file is read in chunks and pushed
 * through the same parser the daemon uses, so memory stays bounded by the
 * parser's limits however large the input.
 */
#include "feedd/cmd.h"
#include "feedd/config.h"
#include "feedd/feed.h"
#include "feedd/log.h"
#include "feedd/newsid.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct parse_run {
	const char *name;		    /* the input, for messages */
	const struct pcre2_real_code_8 *re; /* the source's news_id, or NULL */
	FILE *out;
	size_t unmatched; /* entries the pattern missed */
};

static void on_feed(void *ctx, const struct feed_info *f)
{
	struct parse_run *r = ctx;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string("feed"));
	json_object_object_add(o, "format", json_object_new_string(feed_format_name(f->format)));
	json_object_object_add(o, "title", cmd_json_string(f->title));
	json_object_object_add(o, "link", cmd_json_string(f->link));
	json_object_object_add(o, "subtitle", cmd_json_string(f->subtitle));
	json_object_object_add(o, "language", cmd_json_string(f->language));
	json_object_object_add(o, "updated", cmd_json_time(f->updated));
	cmd_json_print(o, r->out);
}

static void on_entry(void *ctx, struct feed_entry *e)
{
	struct parse_run *r = ctx;
	bool matched;
	char *id = newsid_compute(r->re, e->link, e->guid, feed_entry_key_text(e), e->published_raw,
				  &matched);
	if (r->re && !matched)
		r->unmatched++;

	json_object *o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string("entry"));
	json_object_object_add(o, "guid", cmd_json_string(e->guid));
	json_object_object_add(o, "news_id", cmd_json_string(id));
	json_object_object_add(o, "link", cmd_json_string(e->link));
	json_object_object_add(o, "title", cmd_json_string(e->title));
	json_object_object_add(o, "summary", cmd_json_string(e->summary));
	json_object_object_add(o, "content", cmd_json_string(e->content));
	json_object_object_add(o, "author", cmd_json_string(e->author));
	json_object_object_add(o, "published", cmd_json_time(e->published));
	json_object_object_add(o, "updated", cmd_json_time(e->updated));
	json_object_object_add(o, "categories", cmd_json_strings(e->categories, e->n_categories));
	json_object *encs = json_object_new_array();
	for (size_t i = 0; i < e->n_enclosures; i++) {
		const struct feed_enclosure *en = &e->enclosures[i];
		json_object *x = json_object_new_object();
		json_object_object_add(x, "url", cmd_json_string(en->url));
		json_object_object_add(x, "type", cmd_json_string(en->type));
		json_object_object_add(x, "length",
				       en->length >= 0 ? json_object_new_int64(en->length) : NULL);
		json_object_array_add(encs, x);
	}
	json_object_object_add(o, "enclosures", encs);
	cmd_json_print(o, r->out);
	free(id);
	feed_entry_free(e);
}

static void on_warning(void *ctx, const char *msg)
{
	struct parse_run *r = ctx;
	LOG_WARN("%s: %s", r->name, msg);
}

static int parse_usage(void)
{
	fputs("usage: feedd parse [-c FILE --source NAME] [--base URL] [--charset NAME] FILE|-\n",
	      stderr);
	return 2;
}

/* Feeds p what fd holds, in 64 KB reads, until the end or until the parser
 * has had enough; 0, or 1 when fd cannot be read (logged as name's). */
static int push_all(struct feed_parser *p, int fd, const char *name)
{
	char *chunk = xmalloc(1 << 16);
	int status = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			LOG_ERR("%s: %s", name, strerror(errno));
			status = 1;
			break;
		}
		if (n == 0 || feed_parser_push(p, chunk, (size_t)n) != 0)
			break;
	}
	free(chunk);
	return status;
}

/* A little over 80 lines: half of them are the option table and getopt's
 * switch, one case per option, which read best in one place. */
int cmd_parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"source", required_argument, NULL, 's'},
		{"base", required_argument, NULL, 'b'},	  {"charset", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *source_name = NULL, *base = NULL, *charset = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:b:e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			source_name = optarg;
			break;
		case 'b':
			base = optarg;
			break;
		case 'e':
			charset = optarg;
			break;
		case 'h':
			parse_usage();
			return 0;
		default:
			return parse_usage();
		}
	}
	if (optind != argc - 1)
		return parse_usage();
	if (source_name && !config_path) {
		LOG_ERR("parse: --source needs -c FILE, the configuration that defines it");
		return 2;
	}

	struct feed_limits limits;
	feed_limits_default(&limits);
	struct cfg *cfg = NULL;
	struct parse_run run = {.name = argv[optind], .out = stdout};
	if (strcmp(run.name, "-") == 0)
		run.name = "stdin";
	if (config_path) {
		const struct cfg_source *src;
		int status = cmd_load_config(config_path, source_name, &cfg, &src);
		if (status)
			return status;
		limits.max_document = cfg->max_feed_size;
		limits.max_entries = (size_t)cfg->max_entries;
		limits.max_field = cfg->max_field_size;
		run.re = src ? src->news_id.code : NULL;
	}

	const char *path = argv[optind];
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		LOG_ERR("%s: %s", path, strerror(errno));
		cfg_free(cfg);
		return 1;
	}

	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
	struct feed_handler h = {on_feed, on_entry, on_warning, &run};
	struct feed_parser *p = feed_parser_new(&limits, charset, base, &h);
	int status = push_all(p, fd, run.name);
	if (fd != STDIN_FILENO)
		close(fd);

	struct buf err;
	buf_init(&err);
	if (feed_parser_finish(p, &err) != 0) {
		LOG_ERR("%s: not a feed: %s", run.name, buf_str(&err));
		status = 1;
	}
	if (run.unmatched)
		LOG_WARN("%s: news_id pattern of source %s matched neither link nor guid of %zu "
			 "entries; their guid or link is the ID",
			 run.name, source_name, run.unmatched);
	buf_free(&err);
	feed_parser_free(p);
	cfg_free(cfg);
	return cmd_flush_output(status);
}
