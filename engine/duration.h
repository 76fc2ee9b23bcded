/*
 * duration.h: durations written as "30s", "5m", "1h30m", "2d", "250ms".
 *
 * Units, largest first: w (week), d, h, m, s, ms.  Components appear at
 * most once each and in that order; at least one is required; numbers are
 * non-negative integers.  The total is limited to 100 years.
 */
#ifndef WEIR_DURATION_H
#define WEIR_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/*
 * Parses s into microseconds.  Returns 0, or WEIR_EINVALID with a message
 * in err and *err_off (may be NULL) at the offending byte, e.g.
 * `unknown unit "x" in duration "5x"` (offset 1) or
 * `units must go from largest to smallest in "30s5m"` (offset 3).
 * *us is set only on success.
 */
int weir_duration_parse(const char *s, int64_t *us, size_t *err_off, struct weir_buf *err);

#define WEIR_DURATION_BUFSZ 48
/*
 * Formats us in the shortest form the parser accepts ("1h30m", "0s",
 * "250ms") and returns buf.  Sub-millisecond remainders are truncated.
 * Negative values get a leading '-' (for messages; the parser rejects it).
 */
char *weir_duration_format(int64_t us, char buf[WEIR_DURATION_BUFSZ]);

#endif
