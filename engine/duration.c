/*
 * duration.c: "1h30m"-style durations <-> microseconds.
 *
 * Grammar:  duration = component+ ;  component = digits unit
 *           unit     = "w" | "d" | "h" | "m" | "s" | "ms"
 * A unit is the longest run of letters after the digits, so "5ms" is five
 * milliseconds and "5m3s" is five minutes and three seconds.  Units must
 * strictly descend, which also makes each appear at most once.  No signs,
 * spaces or fractions: a duration written in a DAG file has one spelling
 * per value, and weir_duration_format produces it.
 *
 * The 100-year limit (36525 days) keeps every sum far from int64 overflow
 * and catches typos such as "5000000000s" in a retry delay.
 */
#include "engine/duration.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/time.h"

#include "common/banned.h"

#define DURATION_MAX_US (36525 * WEIR_US_PER_DAY)

struct unit {
	const char *name;
	int64_t us;
};

/* Largest first: the parser's order check and the formatter rely on it. */
static const struct unit units[] = {
	{"w", 7 * WEIR_US_PER_DAY}, {"d", WEIR_US_PER_DAY}, {"h", WEIR_US_PER_HOUR},
	{"m", WEIR_US_PER_MIN},     {"s", WEIR_US_PER_SEC}, {"ms", 1000},
};
#define NUNITS ((int)(sizeof(units) / sizeof(units[0])))

static int fail(const char *s, const char *at, size_t *err_off, struct weir_buf *err,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Appends one message to err and points *err_off at `at`. */
static int fail(const char *s, const char *at, size_t *err_off, struct weir_buf *err,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	weir_buf_vaddf(err, fmt, ap);
	va_end(ap);
	if (err_off)
		*err_off = (size_t)(at - s);
	return WEIR_EINVALID;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Renders s for a message: at most 64 bytes, with control and non-ASCII
 * bytes as \xNN, so hostile input can neither flood nor forge a log line.
 */
#define QUOTE_MAX 64
#define QUOTE_BUFSZ (QUOTE_MAX * 4 + 4)

static const char *quote(const char *s, char q[QUOTE_BUFSZ])
{
	size_t n = 0, i;

	for (i = 0; s[i] && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			n += (size_t)snprintf(q + n, QUOTE_BUFSZ - n, "\\x%02X", c);
		else
			q[n++] = (char)c;
	}
	if (s[i]) {
		memcpy(q + n, "...", 3);
		n += 3;
	}
	q[n] = '\0';
	return q;
}

static int bad_char(const char *s, const char *p, size_t *err_off, struct weir_buf *err)
{
	char q[QUOTE_BUFSZ];

	if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
		return fail(s, p, err_off, err, "unexpected byte 0x%02X in duration \"%s\"",
			    (unsigned char)*p, quote(s, q));
	return fail(s, p, err_off, err, "unexpected character '%c' in duration \"%s\"", *p,
		    quote(s, q));
}

int weir_duration_parse(const char *s, int64_t *us, size_t *err_off, struct weir_buf *err)
{
	const char *p = s;
	char q[QUOTE_BUFSZ];
	int64_t total = 0;
	int last = -1; /* index in units[] of the previous component */

	if (!*s)
		return fail(s, s, err_off, err, "duration \"\" is empty");
	while (*p) {
		const char *num = p, *u;
		int64_t n = 0;
		bool big = false;
		int i;

		if (is_alpha(*p))
			return fail(s, p, err_off, err, "expected a number before \"%c\" in duration \"%s\"",
				    *p, quote(s, q));
		if (!is_digit(*p))
			return bad_char(s, p, err_off, err);
		for (; is_digit(*p); p++) {
			n = n * 10 + (*p - '0');
			if (n > DURATION_MAX_US) { /* saturate; reported below */
				big = true;
				n = DURATION_MAX_US;
			}
		}
		u = p;
		while (is_alpha(*p))
			p++;
		if (u == p && (*p == '.' || *p == ','))
			return fail(s, p, err_off, err,
				    "fractions are not allowed in duration \"%s\"; use a smaller unit",
				    quote(s, q));
		if (u == p && *p)
			return bad_char(s, p, err_off, err);
		if (u == p)
			return fail(s, u, err_off, err, "missing unit after \"%.*s\" in duration \"%s\"",
				    (int)(u - num > 20 ? 20 : u - num), num, quote(s, q));
		for (i = 0; i < NUNITS; i++)
			if (strlen(units[i].name) == (size_t)(p - u) &&
			    !memcmp(units[i].name, u, (size_t)(p - u)))
				break;
		if (i == NUNITS)
			return fail(s, u, err_off, err, "unknown unit \"%.*s\" in duration \"%s\"",
				    (int)(p - u > 20 ? 20 : p - u), u, quote(s, q));
		if (i == last)
			return fail(s, u, err_off, err, "unit \"%s\" appears twice in \"%s\"",
				    units[i].name, quote(s, q));
		if (i < last)
			return fail(s, num, err_off, err,
				    "units must go from largest to smallest in \"%s\"", quote(s, q));
		last = i;
		/* n <= 100 years of us and units[i].us <= a week: no overflow. */
		if (big || n > DURATION_MAX_US / units[i].us ||
		    total + n * units[i].us > DURATION_MAX_US)
			return fail(s, num, err_off, err, "duration \"%s\" is longer than 100 years",
				    quote(s, q));
		total += n * units[i].us;
	}
	*us = total;
	return 0;
}

char *weir_duration_format(int64_t us, char buf[WEIR_DURATION_BUFSZ])
{
	/* Work in magnitude as uint64 so INT64_MIN has a positive twin. */
	uint64_t v = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
	size_t n = 0;

	v /= 1000; /* to milliseconds: the parser's smallest unit */
	if (us < 0 && v)
		buf[n++] = '-';
	if (v == 0) {
		memcpy(buf, "0s", 3);
		return buf;
	}
	for (int i = 0; i < NUNITS; i++) {
		uint64_t ms = (uint64_t)units[i].us / 1000, k = v / ms;
		if (k == 0)
			continue;
		v -= k * ms;
		n += (size_t)snprintf(buf + n, WEIR_DURATION_BUFSZ - n, "%llu%s",
				      (unsigned long long)k, units[i].name);
	}
	return buf;
}
