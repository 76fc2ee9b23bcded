/*
 * time.h: clocks, civil dates and ISO-8601.
 *
 * Instants are int64_t microseconds since 1970-01-01T00:00:00Z ("us"), which
 * covers ±292,000 years.  Civil-date arithmetic uses the proleptic Gregorian
 * calendar (Howard Hinnant's days_from_civil).  Nothing here touches the
 * process time zone (TZ, tzset): zones live in engine/tz.h.
 */
#ifndef WEIR_TIME_H
#define WEIR_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEIR_US_PER_SEC INT64_C(1000000)
#define WEIR_US_PER_MIN (60 * WEIR_US_PER_SEC)
#define WEIR_US_PER_HOUR (3600 * WEIR_US_PER_SEC)
#define WEIR_US_PER_DAY (86400 * WEIR_US_PER_SEC)
#define WEIR_TIME_NONE INT64_MIN /* "no instant" (e.g. no end_date) */

/* Monotonic clock, for timers and durations. */
int64_t weir_mono_us(void);
int64_t weir_mono_ms(void);
/* Wall clock (UTC). */
int64_t weir_now_us(void);

/* Days since 1970-01-01 of a civil date (month 1..12). */
int64_t weir_days_from_civil(int64_t y, unsigned m, unsigned d);
void weir_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* 0 = Sunday .. 6 = Saturday. */
unsigned weir_weekday_from_days(int64_t days);
bool weir_is_leap(int64_t y);
unsigned weir_days_in_month(int64_t y, unsigned m);

/* A broken-down civil time (no zone). */
struct weir_civil {
	int64_t year;
	unsigned month, day, hour, min, sec; /* month 1..12, day 1..31 */
	unsigned usec;
};
void weir_civil_from_us(int64_t us, struct weir_civil *c);
int64_t weir_us_from_civil(const struct weir_civil *c);

enum {
	WEIR_ISO_Z = 0,          /* 2026-11-23T10:00:00Z */
	WEIR_ISO_OFFSET = 1 << 0, /* 2026-11-23T10:00:00+00:00 (Airflow's shape) */
	WEIR_ISO_FRAC = 1 << 1,  /* always print .ffffff */
};
#define WEIR_ISO_BUFSZ 40
/* Formats us as UTC.  Fractional seconds are printed when non-zero or
 * WEIR_ISO_FRAC is given.  Returns buf. */
char *weir_iso_format(int64_t us, int flags, char buf[WEIR_ISO_BUFSZ]);
/* Formats a civil time with a UTC offset (seconds east), e.g. +01:00. */
char *weir_iso_format_local(int64_t local_us, int offset, char buf[WEIR_ISO_BUFSZ]);

/*
 * Parses YYYY-MM-DD, YYYY-MM-DD[T ]HH:MM[:SS[.frac]] and either of those
 * followed by Z, +HH[:MM] or -HH[:MM].  On success *us is the instant when
 * *has_offset is set, else the civil ("naive") time read as UTC, which the
 * caller converts from its own zone.  Returns 0 or WEIR_EINVALID.
 */
int weir_iso_parse(const char *s, int64_t *us, bool *has_offset);

#endif
