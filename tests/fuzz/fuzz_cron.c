/*
 * fuzz_cron.c: libFuzzer target for weir_cron_parse, weir_cron_next and
 * weir_cron_prev.
 *
 * The input is a cron expression.  If it parses, fire times are computed
 * from a few fixed instants (around New York's 2024 transitions and in
 * 2050, where the footer rule applies) plus one derived from the input, in
 * UTC and America/New_York, and the invariants of engine/cron.h are
 * checked; a violation aborts:
 *
 *   next(t) > t,  prev(t) < t,
 *   next(t) is a fire: next(next(t) - 1us) == next(t), prev(next(t) + 1us) == next(t);
 *   prev(t) is a fire: next(prev(t) - 1us) == prev(t);
 *   nothing fires in between: next(prev(t)) >= t, prev(next(t)) <= t.
 *
 * A rejected expression must come with a message and an offset inside it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/time.h"
#include "engine/cron.h"
#include "engine/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void violated(const char *what, const char *expr, const struct weir_tz *tz, int64_t t,
		     int64_t a, int64_t b)
{
	fprintf(stderr, "cron invariant violated: %s\n  expr \"%s\" zone %s t %lld: %lld vs %lld\n",
		what, expr, weir_tz_name(tz), (long long)t, (long long)a, (long long)b);
	abort();
}

static void check_around(const struct weir_cron *c, const char *expr, const struct weir_tz *tz,
			 int64_t t0)
{
	int64_t t = t0, n, p, x;

	for (int i = 0; i < 4; i++) {
		if (weir_cron_next(c, tz, t, &n) != 0)
			break;
		if (n <= t)
			violated("next(t) > t", expr, tz, t, n, t);
		if (weir_cron_next(c, tz, n - 1, &x) != 0 || x != n)
			violated("next(next(t) - 1) == next(t)", expr, tz, t, x, n);
		if (weir_cron_prev(c, tz, n + 1, &x) != 0 || x != n)
			violated("prev(next(t) + 1) == next(t)", expr, tz, t, x, n);
		if (weir_cron_prev(c, tz, n, &x) == 0 && x > t)
			violated("prev(next(t)) <= t", expr, tz, t, x, t);
		t = n;
	}
	t = t0;
	for (int i = 0; i < 4; i++) {
		if (weir_cron_prev(c, tz, t, &p) != 0)
			break;
		if (p >= t)
			violated("prev(t) < t", expr, tz, t, p, t);
		if (weir_cron_next(c, tz, p - 1, &x) != 0 || x != p)
			violated("next(prev(t) - 1) == prev(t)", expr, tz, t, x, p);
		if (weir_cron_next(c, tz, p, &x) != 0 || x < t)
			violated("next(prev(t)) >= t", expr, tz, t, x, t);
		t = p;
	}
}

/*
 * One more start derived from the input (FNV-1a), anywhere in 2020..2060 to
 * the microsecond, so that mutations also explore instants.
 */
static int64_t hashed_instant(const uint8_t *data, size_t size)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ull;
	return INT64_C(1577836800000000) + (int64_t)(h % (UINT64_C(40) * 365 * 86400 * 1000000));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct weir_tz *zones[2];
	static const int64_t starts[] = {
		1710052200000000, /* 2024-03-10T06:30:00Z, before New York's gap */
		1730613300000001, /* 2024-11-03T05:55:00.000001Z, first 01:55 EDT */
		1730617800000000, /* 2024-11-03T07:10:00Z, after the repeat */
		2531260800000000, /* 2050-03-19T00:00:00Z, footer rule */
	};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_cron c;
	char expr[512];
	size_t off = (size_t)-1;

	if (!zones[0]) {
		zones[0] = weir_tz_utc();
		if (weir_tz_get("America/New_York", &zones[1], &err) != 0)
			zones[1] = weir_tz_utc();
		weir_buf_release(&err);
	}
	if (size >= sizeof(expr))
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';
	if (weir_cron_parse(expr, &c, &off, &err) != 0) {
		if (err.len == 0 || off > strlen(expr))
			abort();
		weir_buf_release(&err);
		return 0;
	}
	for (size_t z = 0; z < 2; z++) {
		for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++)
			check_around(&c, expr, zones[z], starts[s]);
		check_around(&c, expr, zones[z], hashed_instant(data, size));
	}
	return 0;
}
