/*
 * log: leveled log lines on stderr.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with a "<N>" priority
 * prefix that journald understands; elsewhere with a UTC timestamp and level
 * name; in command mode (feedd parse, extract, ...) with "feedd: ".  The
 * LOG_* macros test the level before evaluating their arguments, so a debug
 * line costs one comparison when debug logging is off.
 */
#ifndef FEEDD_LOG_H
#define FEEDD_LOG_H

enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

enum log_style {
	LOG_STYLE_COMMAND, /* "feedd: message" */
	LOG_STYLE_DAEMON,  /* timestamp and level, or "<N>" under systemd */
};

extern enum log_level log_threshold;

void log_init(enum log_style style, enum log_level threshold);
/* The lowest priority logged from now on (a reload's log_level). */
void log_set_threshold(enum log_level threshold);
/* "error", "warning", "notice", "info" or "debug". */
const char *log_level_name(enum log_level level);
/* Parses "error", "warning", "notice", "info", "debug"; 0 or -1. */
int log_level_parse(const char *name, enum log_level *out);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_AT(lvl, ...)                                                                           \
	do {                                                                                       \
		if ((lvl) <= log_threshold)                                                        \
			log_write((lvl), __VA_ARGS__);                                             \
	} while (0)
#define LOG_ERR(...) LOG_AT(LOG_LVL_ERR, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT(LOG_LVL_WARNING, __VA_ARGS__)
#define LOG_NOTICE(...) LOG_AT(LOG_LVL_NOTICE, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT(LOG_LVL_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) LOG_AT(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
