/* test_duration.c: parsing and formatting "1h30m"-style durations. */
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/duration.h"
#include "tests/check.h"

#define MS INT64_C(1000)
#define S WEIR_US_PER_SEC
#define MIN WEIR_US_PER_MIN
#define H WEIR_US_PER_HOUR
#define D WEIR_US_PER_DAY
#define W (7 * WEIR_US_PER_DAY)

struct good_case {
	const char *s;
	int64_t us;
	const char *canonical; /* what format prints back */
};

static const struct good_case good_cases[] = {
	{"30s", 30 * S, "30s"},
	{"5m", 5 * MIN, "5m"},
	{"1h30m", H + 30 * MIN, "1h30m"},
	{"2d", 2 * D, "2d"},
	{"250ms", 250 * MS, "250ms"},
	{"1w2d", W + 2 * D, "1w2d"},
	{"0s", 0, "0s"},
	{"0ms", 0, "0s"},
	{"0w", 0, "0s"},
	{"1w1d1h1m1s1ms", W + D + H + MIN + S + MS, "1w1d1h1m1s1ms"},
	{"90m", 90 * MIN, "1h30m"},
	{"1500ms", 1500 * MS, "1s500ms"},
	{"7d", 7 * D, "1w"},
	{"24h", D, "1d"},
	{"3600s", H, "1h"},
	{"007s", 7 * S, "7s"},
	{"1d0h", D, "1d"},
	{"1h1ms", H + MS, "1h1ms"},
	{"2m3s", 2 * MIN + 3 * S, "2m3s"},
	{"36525d", 36525 * D, "5217w6d"},
	{"5217w6d", 36525 * D, "5217w6d"},
	{"5217w5d23h59m59s999ms", 36525 * D - MS, "5217w5d23h59m59s999ms"},
};

static void test_duration__parses_valid_durations(void)
{
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(good_cases); i++) {
		const struct good_case *c = &good_cases[i];
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		int64_t us = -1;
		size_t off = 99;
		int rc = weir_duration_parse(c->s, &us, &off, &err);

		if (rc != 0 || us != c->us)
			check__fail(__FILE__, __LINE__, "good_cases[%zu] \"%s\": rc %d (%s), %lld us, "
				    "expected %lld", i, c->s, rc, err.buf, (long long)us,
				    (long long)c->us);
		CHECK_INT_EQ(off, 99); /* untouched on success */
		CHECK_INT_EQ(err.len, 0);
	}
}

static void test_duration__formats_in_shortest_form(void)
{
	char buf[WEIR_DURATION_BUFSZ];

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(good_cases); i++)
		CHECK_STR_EQ(weir_duration_format(good_cases[i].us, buf), good_cases[i].canonical);
	/* Below a millisecond is truncated: the parser has no smaller unit. */
	CHECK_STR_EQ(weir_duration_format(999, buf), "0s");
	CHECK_STR_EQ(weir_duration_format(1999, buf), "1ms");
	CHECK_STR_EQ(weir_duration_format(S + 1, buf), "1s");
	/* Negative values are for messages only; the parser rejects them. */
	CHECK_STR_EQ(weir_duration_format(-5 * S, buf), "-5s");
	CHECK_STR_EQ(weir_duration_format(-(H + 30 * MIN), buf), "-1h30m");
	CHECK_STR_EQ(weir_duration_format(-999, buf), "0s");
	CHECK_STR_EQ(weir_duration_format(INT64_MAX, buf), "15250284w3d4h54s775ms");
	CHECK_STR_EQ(weir_duration_format(INT64_MIN, buf), "-15250284w3d4h54s775ms");
	CHECK(weir_duration_format(0, buf) == buf);
}

struct bad_case {
	const char *s;
	size_t off;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{"", 0, "duration \"\" is empty"},
	{"5x", 1, "unknown unit \"x\" in duration \"5x\""},
	{"5S", 1, "unknown unit \"S\" in duration \"5S\""},
	{"5sec", 1, "unknown unit \"sec\" in duration \"5sec\""},
	{"1h5mss", 3, "unknown unit \"mss\" in duration \"1h5mss\""},
	{"30s5m", 3, "units must go from largest to smallest in \"30s5m\""},
	{"5ms5s", 3, "units must go from largest to smallest in \"5ms5s\""},
	{"1d1w", 2, "units must go from largest to smallest in \"1d1w\""},
	{"5m3m", 3, "unit \"m\" appears twice in \"5m3m\""},
	{"1w2w", 3, "unit \"w\" appears twice in \"1w2w\""},
	{"5", 1, "missing unit after \"5\" in duration \"5\""},
	{"1h30", 4, "missing unit after \"30\" in duration \"1h30\""},
	{"h", 0, "expected a number before \"h\" in duration \"h\""},
	{"1hm", 1, "unknown unit \"hm\" in duration \"1hm\""},
	{"1h 30m", 2, "unexpected character ' ' in duration \"1h 30m\""},
	{" 1h", 0, "unexpected character ' ' in duration \" 1h\""},
	{"-5s", 0, "unexpected character '-' in duration \"-5s\""},
	{"+5s", 0, "unexpected character '+' in duration \"+5s\""},
	{"1.5h", 1, "fractions are not allowed in duration \"1.5h\"; use a smaller unit"},
	{"5m-", 2, "unexpected character '-' in duration \"5m-\""},
	{"5-m", 1, "unexpected character '-' in duration \"5-m\""},
	{"5s\n", 2, "unexpected byte 0x0A in duration \"5s\\x0A\""},
	{"\"5s\"", 0, "unexpected character '\"' in duration \"\\x225s\\x22\""},
	{"36526d", 0, "duration \"36526d\" is longer than 100 years"},
	{"5218w", 0, "duration \"5218w\" is longer than 100 years"},
	{"36525d1ms", 6, "duration \"36525d1ms\" is longer than 100 years"},
	{"99999999999999999999999s", 0,
	 "duration \"99999999999999999999999s\" is longer than 100 years"},
};

static void test_duration__rejects_bad_input_with_message_and_offset(void)
{
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		int64_t us = 12345;
		size_t off = 999;
		int rc = weir_duration_parse(c->s, &us, &off, &err);

		if (rc != WEIR_EINVALID || off != c->off || strcmp(err.buf, c->msg) != 0)
			check__fail(__FILE__, __LINE__,
				    "bad_cases[%zu]: rc %d, offset %zu (expected %zu)\n"
				    "  got:      \"%s\"\n  expected: \"%s\"",
				    i, rc, off, c->off, err.buf, c->msg);
		CHECK_INT_EQ(us, 12345); /* untouched on failure */
		weir_buf_release(&err);
	}
}

static void test_duration__error_offset_may_be_null(void)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int64_t us;

	CHECK_INT_EQ(weir_duration_parse("5x", &us, NULL, &err), WEIR_EINVALID);
	CHECK_STR_EQ(err.buf, "unknown unit \"x\" in duration \"5x\"");
	weir_buf_release(&err);
}

static void test_duration__long_input_is_quoted_briefly(void)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char s[2001];
	int64_t us;

	memset(s, '1', 2000);
	s[1999] = 'x';
	s[2000] = '\0';
	CHECK_INT_EQ(weir_duration_parse(s, &us, NULL, &err), WEIR_EINVALID);
	CHECK_INT_OP(err.len, <, 200);
	CHECK_STR_CONTAINS(err.buf, "...\"");
	weir_buf_release(&err);
}

/* parse(format(x)) == x for every millisecond value in range. */
static void test_duration__format_round_trips_through_parse(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char buf[WEIR_DURATION_BUFSZ];

	for (int i = 0; i < 100000; i++) {
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		int64_t v, back = -1;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* Mix of small and large magnitudes, in whole milliseconds. */
		v = (int64_t)(x % (uint64_t)(36525 * D / MS >> (x >> 58) % 40)) * MS;
		weir_duration_format(v, buf);
		if (weir_duration_parse(buf, &back, NULL, &err) != 0 || back != v)
			check__fail(__FILE__, __LINE__, "%lld formats as \"%s\", parses as %lld (%s)",
				    (long long)v, buf, (long long)back, err.buf);
		weir_buf_release(&err);
	}
}

static const struct check_test tests[] = {
	CHECK_TEST(test_duration__parses_valid_durations),
	CHECK_TEST(test_duration__formats_in_shortest_form),
	CHECK_TEST(test_duration__rejects_bad_input_with_message_and_offset),
	CHECK_TEST(test_duration__error_offset_may_be_null),
	CHECK_TEST(test_duration__long_input_is_quoted_briefly),
	CHECK_TEST(test_duration__format_round_trips_through_parse),
	{0},
};

int main(int argc, char **argv)
{
	return check_main(argc, argv, tests);
}
