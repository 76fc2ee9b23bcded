/*
 * cron.h: 5-field cron expressions and their fire times in a time zone.
 *
 *   minute hour day-of-month month day-of-week
 *
 * Each field takes `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n` and
 * `a/n` (from a to the field's end), and lists `a,b-c`.  Months accept
 * JAN..DEC, weekdays SUN..SAT (case-insensitive); weekday 7 is Sunday.
 * In day-of-week, `*` and `a/n` end at 6.  A range must not go backwards
 * ("22-2" is rejected); a step runs from 1 to the field's largest value.
 * Fields are separated by spaces or tabs.
 * When both day-of-month and day-of-week are restricted (neither starts
 * with `*`), a day matches if either matches (the classic Vixie rule).
 * Presets: @yearly @annually @monthly @weekly @daily @midnight @hourly and
 * @once (WEIR_CRON_ONCE: the DAG runs once; cron_next/prev do not apply).
 *
 * Fire times are wall-clock times in the given zone.  Across DST changes:
 *   - a wall time skipped by a forward jump fires once, at the instant of
 *     the jump (02:30 on a New York spring day fires at 03:00 EDT); several
 *     skipped times fire once together;
 *   - a wall time that occurs twice fires once, at its first occurrence.
 * A run's data interval is [previous fire, this fire), as in Airflow.
 *
 * next and prev enumerate the same set of instants: for every fire time f,
 * next(f - 1us) == f and prev(f + 1us) == f.  Fire times are whole seconds.
 * All functions here are thread-safe (docs/internals/cron.md).
 */
#ifndef WEIR_CRON_H
#define WEIR_CRON_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "engine/tz.h"

enum {
	WEIR_CRON_DOM_STAR = 1 << 0, /* day-of-month field started with '*' */
	WEIR_CRON_DOW_STAR = 1 << 1, /* day-of-week field started with '*' */
	WEIR_CRON_ONCE = 1 << 2,     /* @once */
};

struct weir_cron {
	uint64_t minute; /* bit m: minute m matches, 0..59 */
	uint32_t hour;   /* bit h: 0..23 */
	uint32_t dom;    /* bit d: 1..31 */
	uint16_t month;  /* bit m: 1..12 */
	uint8_t dow;     /* bit d: 0..6, 0 = Sunday */
	uint8_t flags;
};

/*
 * Parses expr.  Returns 0, or WEIR_EINVALID with a message in err that
 * names the field and the problem, and *err_off (may be NULL) set to the
 * byte offset in expr where the problem starts:
 *   "* 25 * * *"  -> 2, `hour field: 25 is out of range 0-23`
 *   "* * * *"     -> 7, `expected 5 fields, found 4`
 * An expression that can never fire is invalid too: "0 0 30 2 *" -> 4,
 * `never fires: day-of-month 30 does not occur in month FEB`.
 */
int weir_cron_parse(const char *expr, struct weir_cron *out, size_t *err_off, struct weir_buf *err);

/*
 * The first fire time strictly after after_us (microseconds, UTC), in *next_us.
 * Returns 0, or WEIR_ENOTFOUND when there is none within 30 years (of wall
 * time), the result does not fit in int64_t microseconds, or the expression
 * is @once.  *next_us is set only on success.
 */
int weir_cron_next(const struct weir_cron *c, const struct weir_tz *tz, int64_t after_us,
		   int64_t *next_us);
/* The last fire time strictly before before_us.  Same returns. */
int weir_cron_prev(const struct weir_cron *c, const struct weir_tz *tz, int64_t before_us,
		   int64_t *prev_us);

#endif
