/*
 * log.h: leveled logging and always-on assertions.
 *
 * The level is checked before the arguments are formatted (cf. redis
 * serverLog), so a disabled debug line costs one comparison.  Each line is
 * written with a single write(2), so lines from threads and processes
 * sharing stderr do not interleave:
 *
 *   2026-11-23T10:00:00.123Z INFO  [sched] loaded 12 DAGs
 *
 * Lower layers (common, engine model, db) do not log: they return errors
 * with messages; the scheduler, API handlers and CLI log or reply once.
 */
#ifndef WEIR_LOG_H
#define WEIR_LOG_H

#include <stdarg.h>

enum weir_log_level {
	WEIR_LOG_DEBUG,
	WEIR_LOG_INFO,
	WEIR_LOG_WARN,
	WEIR_LOG_ERROR,
	WEIR_LOG_OFF,
};

extern int weir_log_min_level;
/* Prefix shown in brackets, e.g. "sched"; NULL for none.  Per process. */
extern const char *weir_log_component;
/* File descriptor lines go to (default 2). */
extern int weir_log_fd;

void weir__log(int level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Parses "debug", "info", "warn", "error", "off"; -1 when unknown. */
int weir_log_level_parse(const char *s);
const char *weir_log_level_name(int level);

#define weir_log(level, ...)                                              \
	do {                                                              \
		if ((level) >= weir_log_min_level)                        \
			weir__log((level), __FILE__, __LINE__, __VA_ARGS__); \
	} while (0)
#define weir_debug(...) weir_log(WEIR_LOG_DEBUG, __VA_ARGS__)
#define weir_info(...) weir_log(WEIR_LOG_INFO, __VA_ARGS__)
#define weir_warn(...) weir_log(WEIR_LOG_WARN, __VA_ARGS__)
#define weir_error(...) weir_log(WEIR_LOG_ERROR, __VA_ARGS__)

/*
 * WEIR_ASSERT is for invariants of weir's own code and stays on in release
 * builds.  Never assert on input or database contents: return an error.
 * WEIR_BUG marks a state that cannot happen.
 */
__attribute__((noreturn)) void weir__bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define WEIR_ASSERT(cond)                                                  \
	do {                                                               \
		if (!(cond))                                               \
			weir__bug(__FILE__, __LINE__, "assertion failed: %s", #cond); \
	} while (0)
#define WEIR_BUG(...) weir__bug(__FILE__, __LINE__, __VA_ARGS__)

#endif
