/* time.c: clocks, civil-date arithmetic and ISO-8601 (no libc zones). */
#include "common/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/error.h"

int64_t weir_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * WEIR_US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t weir_mono_ms(void)
{
	return weir_mono_us() / 1000;
}

int64_t weir_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * WEIR_US_PER_SEC + ts.tv_nsec / 1000;
}

/* floor division for negative instants */
static int64_t fdiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b) != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int64_t weir_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = fdiv(y, 400);
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void weir_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = fdiv(z, 146097);
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

unsigned weir_weekday_from_days(int64_t z)
{
	/* 1970-01-01 was a Thursday (4). */
	int64_t w = (z + 4) % 7;
	return (unsigned)(w < 0 ? w + 7 : w);
}

bool weir_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned weir_days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && weir_is_leap(y))
		return 29;
	return dim[m - 1];
}

void weir_civil_from_us(int64_t us, struct weir_civil *c)
{
	int64_t days = fdiv(us, WEIR_US_PER_DAY);
	int64_t rem = us - days * WEIR_US_PER_DAY;
	int64_t secs = rem / WEIR_US_PER_SEC;

	weir_civil_from_days(days, &c->year, &c->month, &c->day);
	c->hour = (unsigned)(secs / 3600);
	c->min = (unsigned)(secs / 60 % 60);
	c->sec = (unsigned)(secs % 60);
	c->usec = (unsigned)(rem % WEIR_US_PER_SEC);
}

int64_t weir_us_from_civil(const struct weir_civil *c)
{
	int64_t days = weir_days_from_civil(c->year, c->month, c->day);
	return days * WEIR_US_PER_DAY + (int64_t)c->hour * WEIR_US_PER_HOUR +
	       (int64_t)c->min * WEIR_US_PER_MIN + (int64_t)c->sec * WEIR_US_PER_SEC + c->usec;
}

static int fmt_civil(const struct weir_civil *c, bool frac, char *buf, size_t n)
{
	if (frac)
		return snprintf(buf, n, "%04lld-%02u-%02uT%02u:%02u:%02u.%06u", (long long)c->year,
				c->month, c->day, c->hour, c->min, c->sec, c->usec);
	return snprintf(buf, n, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)c->year, c->month,
			c->day, c->hour, c->min, c->sec);
}

char *weir_iso_format(int64_t us, int flags, char buf[WEIR_ISO_BUFSZ])
{
	struct weir_civil c;
	int n;

	weir_civil_from_us(us, &c);
	n = fmt_civil(&c, c.usec || (flags & WEIR_ISO_FRAC), buf, WEIR_ISO_BUFSZ);
	if (n < 0 || n > WEIR_ISO_BUFSZ - 7)
		n = WEIR_ISO_BUFSZ - 7;
	memcpy(buf + n, (flags & WEIR_ISO_OFFSET) ? "+00:00" : "Z", (flags & WEIR_ISO_OFFSET) ? 7 : 2);
	return buf;
}

char *weir_iso_format_local(int64_t local_us, int offset, char buf[WEIR_ISO_BUFSZ])
{
	struct weir_civil c;
	int n;
	int a = offset < 0 ? -offset : offset;

	weir_civil_from_us(local_us, &c);
	n = fmt_civil(&c, c.usec != 0, buf, WEIR_ISO_BUFSZ);
	if (n < 0 || n > WEIR_ISO_BUFSZ - 10)
		n = WEIR_ISO_BUFSZ - 10;
	snprintf(buf + n, (size_t)(WEIR_ISO_BUFSZ - n), "%c%02d:%02d", offset < 0 ? '-' : '+',
		 a / 3600 % 100, a / 60 % 60);
	return buf;
}

static int digits(const char **p, int n, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int weir_iso_parse(const char *s, int64_t *us, bool *has_offset)
{
	struct weir_civil c = {0};
	const char *p = s;
	unsigned y, v;
	int64_t off = 0;
	bool has_off = false;

	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &c.month) < 0 ||
	    *p++ != '-' || digits(&p, 2, &c.day) < 0)
		return WEIR_EINVALID;
	c.year = y;
	if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > weir_days_in_month(c.year, c.month))
		return WEIR_EINVALID;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &c.hour) < 0 || *p++ != ':' || digits(&p, 2, &c.min) < 0)
			return WEIR_EINVALID;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &c.sec) < 0)
				return WEIR_EINVALID;
			if (*p == '.' || *p == ',') {
				unsigned scale = 100000;
				p++;
				if (*p < '0' || *p > '9')
					return WEIR_EINVALID;
				while (*p >= '0' && *p <= '9') {
					c.usec += (unsigned)(*p - '0') * scale;
					scale /= 10;
					p++;
				}
			}
		}
		if (c.hour > 23 || c.min > 59 || c.sec > 59)
			return WEIR_EINVALID;
		if (*p == 'Z' || *p == 'z') {
			has_off = true;
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1;
			unsigned hh, mm = 0;
			p++;
			if (digits(&p, 2, &hh) < 0)
				return WEIR_EINVALID;
			if (*p == ':')
				p++;
			if (*p && digits(&p, 2, &mm) < 0)
				return WEIR_EINVALID;
			if (hh > 23 || mm > 59)
				return WEIR_EINVALID;
			off = sign * ((int64_t)hh * 3600 + mm * 60);
			has_off = true;
		}
	}
	if (*p)
		return WEIR_EINVALID;
	(void)v;
	*us = weir_us_from_civil(&c) - off * WEIR_US_PER_SEC;
	if (has_offset)
		*has_offset = has_off;
	return 0;
}
