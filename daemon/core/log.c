/*
 * log: formats and writes log lines; see log.h for the three styles.
 */
#include "feedd/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum log_level log_threshold = LOG_LVL_INFO;
static enum log_style log_style = LOG_STYLE_COMMAND;
static int log_journal;

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error", [LOG_LVL_WARNING] = "warning", [LOG_LVL_NOTICE] = "notice",
	[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};

void log_init(enum log_style style, enum log_level threshold)
{
	log_style = style;
	log_threshold = threshold;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_threshold(enum log_level threshold)
{
	log_threshold = threshold;
}

const char *log_level_name(enum log_level level)
{
	return level >= LOG_LVL_ERR && level <= LOG_LVL_DEBUG ? level_names[level] : "?";
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (int l = LOG_LVL_ERR; l <= LOG_LVL_DEBUG; l++) {
		if (strcmp(name, level_names[l]) == 0) {
			*out = (enum log_level)l;
			return 0;
		}
	}
	if (strcmp(name, "err") == 0 || strcmp(name, "warn") == 0) {
		*out = name[0] == 'e' ? LOG_LVL_ERR : LOG_LVL_WARNING;
		return 0;
	}
	return -1;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	/* One fprintf of one formatted line, so lines from a crash or two
	 * writers never interleave mid-line. */
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	if (log_style == LOG_STYLE_COMMAND) {
		fprintf(stderr, "feedd: %s\n", msg);
	} else if (log_journal) {
		fprintf(stderr, "<%d>%s\n", (int)level, msg);
	} else {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s %s: %s\n", stamp, level_names[level], msg);
	}
}
