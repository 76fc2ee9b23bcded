/* log.c: leveled log lines, one write(2) each. */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int weir_log_min_level = WEIR_LOG_INFO;
const char *weir_log_component;
int weir_log_fd = 2;

static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};

const char *weir_log_level_name(int level)
{
	if (level < 0 || level > WEIR_LOG_OFF)
		return "?";
	return names[level];
}

int weir_log_level_parse(const char *s)
{
	for (int i = 0; i <= WEIR_LOG_OFF; i++)
		if (!strcasecmp(s, names[i]))
			return i;
	if (!strcasecmp(s, "warning"))
		return WEIR_LOG_WARN;
	return -1;
}

static void vlog(int level, const char *file, int line, const char *fmt, va_list ap)
{
	char msg[4096];
	struct timespec ts;
	struct tm tm;
	int n, m;
	int saved = errno;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(msg, sizeof(msg), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000, weir_log_level_name(level));
	if (weir_log_component)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "[%s] ", weir_log_component);
	m = vsnprintf(msg + n, sizeof(msg) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(msg) - 2)
		n = sizeof(msg) - 2;
	if (level == WEIR_LOG_DEBUG) {
		int k = snprintf(msg + n, sizeof(msg) - (size_t)n - 1, " (%s:%d)", file, line);
		if (k > 0 && (size_t)(n + k) < sizeof(msg) - 1)
			n += k;
	}
	msg[n++] = '\n';
	if (write(weir_log_fd, msg, (size_t)n) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}

void weir__log(int level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, file, line, fmt, ap);
	va_end(ap);
}

void weir__bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "weir: BUG at %s:%d: %s\n", file, line, msg);
	abort();
}
