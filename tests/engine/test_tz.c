/*
 * test_tz.c: TZif loading, POSIX footer rules, offsets, wall-clock
 * resolution, name checks and the zone cache.
 *
 * Expected offsets come from `zdump -v` (glibc's, reading the same files);
 * rules that Python's zoneinfo gets wrong (a "/0" or negative transition
 * time) were checked against glibc's TZ handling with date(1).  Files with
 * unusual rules are written by the tests themselves into a TZDIR.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/tz.h"
#include "tests/check.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static const struct weir_tz *zone(const char *name)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const struct weir_tz *tz = NULL;

	if (weir_tz_get(name, &tz, &err) != 0)
		check__fail(__FILE__, __LINE__, "zone \"%s\": %s", name, err.buf);
	weir_buf_release(&err);
	return tz;
}

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS" (Z or naive). */
static int64_t secs(const char *s)
{
	int64_t us;

	if (weir_iso_parse(s, &us, NULL) != 0)
		check__fail(__FILE__, __LINE__, "bad time in test table: \"%s\"", s);
	return us / WEIR_US_PER_SEC;
}

static const char *iso(int64_t s, char buf[WEIR_ISO_BUFSZ])
{
	return weir_iso_format(s * WEIR_US_PER_SEC, 0, buf);
}

/* Expects weir_tz_get(name) to fail with exactly msg. */
static void get_fails(const char *name, const char *msg)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const struct weir_tz *tz = NULL;
	int rc = weir_tz_get(name, &tz, &err);

	if (rc != WEIR_EINVALID || strcmp(err.buf, msg) != 0)
		check__fail(__FILE__, __LINE__, "weir_tz_get(\"%s\"): rc %d\n  got:      \"%s\"\n"
			    "  expected: \"%s\"", name, rc, err.buf, msg);
	CHECK(tz == NULL);
	weir_buf_release(&err);
}

/*
 * Writes a TZif file into a private TZDIR.  Version 0 writes a v1 file
 * (32-bit times, no footer); '2'..'4' write a minimal v1 block followed
 * by the 64-bit block and the footer, as zic -b slim does.
 */
struct ttype {
	int32_t off;
	uint8_t dst;
};

static void put32(struct weir_buf *b, uint32_t v)
{
	unsigned char p[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 8), (unsigned char)v};
	CHECK_OK(weir_buf_add(b, p, 4));
}

static void put_header(struct weir_buf *b, char version, uint32_t timecnt, uint32_t typecnt,
		       uint32_t charcnt, uint32_t leapcnt)
{
	CHECK_OK(weir_buf_add(b, "TZif", 4));
	CHECK_OK(weir_buf_addch(b, version));
	for (int i = 0; i < 15; i++)
		CHECK_OK(weir_buf_addch(b, 0));
	put32(b, 0); /* isutcnt */
	put32(b, 0); /* isstdcnt */
	put32(b, leapcnt);
	put32(b, timecnt);
	put32(b, typecnt);
	put32(b, charcnt);
}

static void put_types(struct weir_buf *b, const struct ttype *types, size_t ntypes)
{
	for (size_t i = 0; i < ntypes; i++) {
		put32(b, (uint32_t)types[i].off);
		CHECK_OK(weir_buf_addch(b, types[i].dst));
		CHECK_OK(weir_buf_addch(b, 0));
	}
	CHECK_OK(weir_buf_add(b, "ABC", 4));
}

static const char *tzdir(void)
{
	static char dir[512];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s/zoneinfo", check_tmpdir());
		CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST);
		CHECK(setenv("TZDIR", dir, 1) == 0);
	}
	return dir;
}

static void write_raw(const char *name, const struct weir_buf *b)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tzdir(), name);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	CHECK(fwrite(b->buf, 1, b->len, f) == b->len);
	CHECK(fclose(f) == 0);
}

static void write_tzif(const char *name, char version, const int64_t *times, const uint8_t *idx,
		       size_t n, const struct ttype *types, size_t ntypes, const char *footer)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	if (version == 0) {
		put_header(&b, 0, (uint32_t)n, (uint32_t)ntypes, 4, 0);
		for (size_t i = 0; i < n; i++)
			put32(&b, (uint32_t)(int32_t)times[i]);
	} else {
		static const struct ttype zero = {0, 0};
		put_header(&b, version, 0, 1, 1, 0);
		put32(&b, 0);
		CHECK_OK(weir_buf_add(&b, "\0\0\0", 3)); /* isdst, abbr index, "" */
		(void)zero;
		put_header(&b, version, (uint32_t)n, (uint32_t)ntypes, 4, 0);
		for (size_t i = 0; i < n; i++) {
			put32(&b, (uint32_t)((uint64_t)times[i] >> 32));
			put32(&b, (uint32_t)times[i]);
		}
	}
	CHECK_OK(weir_buf_add(&b, idx, n));
	put_types(&b, types, ntypes);
	if (version != 0)
		CHECK_OK(weir_buf_addf(&b, "\n%s\n", footer));
	write_raw(name, &b);
	weir_buf_release(&b);
}

/* Offset transitions of tz in [a, b), found by scanning and bisecting. */
static int transitions(const struct weir_tz *tz, int64_t a, int64_t b, int64_t *out, int max)
{
	int n = 0, prev = weir_tz_offset(tz, a, NULL);

	for (int64_t t = a; t < b && n < max; t += 1800) {
		int o = weir_tz_offset(tz, t, NULL);
		if (o != prev) {
			int64_t lo = t - 1800, hi = t;
			while (hi - lo > 1) {
				int64_t m = lo + (hi - lo) / 2;
				if (weir_tz_offset(tz, m, NULL) == prev)
					lo = m;
				else
					hi = m;
			}
			out[n++] = hi;
			prev = o;
		}
	}
	return n;
}

/* Checks the transitions of tz in [from, to) against want ("T off, ..."). */
static void check_transitions(const struct weir_tz *tz, const char *from, const char *to,
			      const char *const *want, size_t nwant)
{
	int64_t t[16];
	int n = transitions(tz, secs(from), secs(to), t, 16);
	char buf[WEIR_ISO_BUFSZ], got[64];

	CHECK_INT_EQ(n, nwant);
	for (int i = 0; i < n; i++) {
		bool dst;
		int off = weir_tz_offset(tz, t[i], &dst);
		snprintf(got, sizeof(got), "%s %d%s", iso(t[i], buf), off, dst ? " dst" : "");
		CHECK_STR_EQ(got, want[i]);
	}
}

/* ------------------------------------------------------------------ */
/* System zones                                                        */
/* ------------------------------------------------------------------ */

struct offset_case {
	const char *zone, *utc;
	int offset, dst;
};

/* Each pair is the last second before and the first second after a change. */
static const struct offset_case offset_cases[] = {
	{"America/New_York", "2024-03-10T06:59:59Z", -18000, 0},
	{"America/New_York", "2024-03-10T07:00:00Z", -14400, 1},
	{"America/New_York", "2024-11-03T05:59:59Z", -14400, 1},
	{"America/New_York", "2024-11-03T06:00:00Z", -18000, 0},
	{"Europe/Berlin", "2024-03-31T00:59:59Z", 3600, 0},
	{"Europe/Berlin", "2024-03-31T01:00:00Z", 7200, 1},
	{"Europe/Berlin", "2024-10-27T00:59:59Z", 7200, 1},
	{"Europe/Berlin", "2024-10-27T01:00:00Z", 3600, 0},
	{"Australia/Lord_Howe", "2024-04-06T14:59:59Z", 39600, 1},
	{"Australia/Lord_Howe", "2024-04-06T15:00:00Z", 37800, 0},
	{"Australia/Lord_Howe", "2024-10-05T15:29:59Z", 37800, 0},
	{"Australia/Lord_Howe", "2024-10-05T15:30:00Z", 39600, 1},
	{"Europe/London", "1968-02-18T01:59:59Z", 0, 0},
	{"Europe/London", "1968-02-18T02:00:00Z", 3600, 1},
	{"Europe/London", "1968-10-26T22:59:59Z", 3600, 1},
	{"Europe/London", "1968-10-26T23:00:00Z", 3600, 0},
	{"Pacific/Apia", "2011-04-02T13:59:59Z", -36000, 1},
	{"Pacific/Apia", "2011-04-02T14:00:00Z", -39600, 0},
	{"Pacific/Apia", "2011-09-24T13:59:59Z", -39600, 0},
	{"Pacific/Apia", "2011-09-24T14:00:00Z", -36000, 1},
	{"Pacific/Kiritimati", "1994-12-31T09:59:59Z", -36000, 0},
	{"Pacific/Kiritimati", "1994-12-31T10:00:00Z", 50400, 0},
	{"Africa/Casablanca", "2030-02-10T01:59:59Z", 0, 1},
	{"Africa/Casablanca", "2030-02-10T02:00:00Z", 3600, 0},
	{"Africa/Casablanca", "2030-12-22T01:59:59Z", 3600, 0},
	{"Africa/Casablanca", "2030-12-22T02:00:00Z", 0, 1},
	{"Asia/Kolkata", "1942-05-14T17:29:59Z", 23400, 1},
	{"Asia/Kolkata", "1942-05-14T17:30:00Z", 19800, 0},
	{"Asia/Kolkata", "1942-08-31T18:29:59Z", 19800, 0},
	{"Asia/Kolkata", "1942-08-31T18:30:00Z", 23400, 1},
	{"America/Sao_Paulo", "2018-02-18T01:59:59Z", -7200, 1},
	{"America/Sao_Paulo", "2018-02-18T02:00:00Z", -10800, 0},
	{"America/Sao_Paulo", "2018-11-04T02:59:59Z", -10800, 0},
	{"America/Sao_Paulo", "2018-11-04T03:00:00Z", -7200, 1},
	{"Asia/Tehran", "2022-03-21T20:29:59Z", 12600, 0},
	{"Asia/Tehran", "2022-03-21T20:30:00Z", 16200, 1},
	{"Asia/Tehran", "2022-09-21T19:29:59Z", 16200, 1},
	{"Asia/Tehran", "2022-09-21T19:30:00Z", 12600, 0},
	{"America/Nuuk", "2050-03-27T00:59:59Z", -7200, 0},
	{"America/Nuuk", "2050-03-27T01:00:00Z", -3600, 1},
	{"America/Nuuk", "2050-10-30T00:59:59Z", -3600, 1},
	{"America/Nuuk", "2050-10-30T01:00:00Z", -7200, 0},
	{"Asia/Jerusalem", "2050-03-24T23:59:59Z", 7200, 0},
	{"Asia/Jerusalem", "2050-03-25T00:00:00Z", 10800, 1},
	{"Asia/Jerusalem", "2050-10-29T22:59:59Z", 10800, 1},
	{"Asia/Jerusalem", "2050-10-29T23:00:00Z", 7200, 0},
	{"America/Santiago", "2050-04-03T02:59:59Z", -10800, 1},
	{"America/Santiago", "2050-04-03T03:00:00Z", -14400, 0},
	{"America/Santiago", "2050-09-04T03:59:59Z", -14400, 0},
	{"America/Santiago", "2050-09-04T04:00:00Z", -10800, 1},
	{"Europe/Dublin", "2050-03-27T00:59:59Z", 0, 1},
	{"Europe/Dublin", "2050-03-27T01:00:00Z", 3600, 0},
	{"Europe/Dublin", "2050-10-30T00:59:59Z", 3600, 0},
	{"Europe/Dublin", "2050-10-30T01:00:00Z", 0, 1},
	{"Antarctica/Troll", "2050-03-27T00:59:59Z", 0, 0},
	{"Antarctica/Troll", "2050-03-27T01:00:00Z", 7200, 1},
	{"Antarctica/Troll", "2050-10-30T00:59:59Z", 7200, 1},
	{"Antarctica/Troll", "2050-10-30T01:00:00Z", 0, 0},
	{"Pacific/Chatham", "2050-04-02T13:59:59Z", 49500, 1},
	{"Pacific/Chatham", "2050-04-02T14:00:00Z", 45900, 0},
	{"Pacific/Chatham", "2050-09-24T13:59:59Z", 45900, 0},
	{"Pacific/Chatham", "2050-09-24T14:00:00Z", 49500, 1},
	{"America/New_York", "2050-03-13T06:59:59Z", -18000, 0},
	{"America/New_York", "2050-03-13T07:00:00Z", -14400, 1},
	{"America/New_York", "2050-11-06T05:59:59Z", -14400, 1},
	{"America/New_York", "2050-11-06T06:00:00Z", -18000, 0},
	{"Europe/Berlin", "2050-03-27T00:59:59Z", 3600, 0},
	{"Europe/Berlin", "2050-03-27T01:00:00Z", 7200, 1},
	{"Europe/Berlin", "2050-10-30T00:59:59Z", 7200, 1},
	{"Europe/Berlin", "2050-10-30T01:00:00Z", 3600, 0},
	{"Australia/Lord_Howe", "2050-04-02T14:59:59Z", 39600, 1},
	{"Australia/Lord_Howe", "2050-04-02T15:00:00Z", 37800, 0},
	{"Australia/Lord_Howe", "2050-10-01T15:29:59Z", 37800, 0},
	{"Australia/Lord_Howe", "2050-10-01T15:30:00Z", 39600, 1},
	{"America/New_York", "2100-03-14T06:59:59Z", -18000, 0},
	{"America/New_York", "2100-03-14T07:00:00Z", -14400, 1},
	{"America/New_York", "2100-11-07T05:59:59Z", -14400, 1},
	{"America/New_York", "2100-11-07T06:00:00Z", -18000, 0},
	{"Europe/Berlin", "2300-03-25T00:59:59Z", 3600, 0},
	{"Europe/Berlin", "2300-03-25T01:00:00Z", 7200, 1},
	{"Europe/Berlin", "2300-10-28T00:59:59Z", 7200, 1},
	{"Europe/Berlin", "2300-10-28T01:00:00Z", 3600, 0},
	{"Australia/Lord_Howe", "2200-04-05T14:59:59Z", 39600, 1},
	{"Australia/Lord_Howe", "2200-04-05T15:00:00Z", 37800, 0},
	{"Australia/Lord_Howe", "2200-10-04T15:29:59Z", 37800, 0},
	{"Australia/Lord_Howe", "2200-10-04T15:30:00Z", 39600, 1},
	/* No transitions near these: the table's types and the UTC zone. */
	{"UTC", "2024-06-01T00:00:00Z", 0, 0},
	{"Etc/UTC", "1900-01-01T00:00:00Z", 0, 0},
	{"Asia/Kolkata", "2024-06-01T00:00:00Z", 19800, 0},
	{"America/Sao_Paulo", "2050-01-01T00:00:00Z", -10800, 0},
	{"Asia/Tehran", "2050-07-01T00:00:00Z", 12600, 0},
	{"Europe/Berlin", "1800-01-01T00:00:00Z", 3208, 0}, /* LMT before 1893 */
	{"America/New_York", "1800-01-01T00:00:00Z", -17762, 0},
};

static void test_tz__offsets_match_zdump(void)
{
	char buf[WEIR_ISO_BUFSZ];

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(offset_cases); i++) {
		const struct offset_case *c = &offset_cases[i];
		bool dst = !c->dst;
		int off = weir_tz_offset(zone(c->zone), secs(c->utc), &dst);

		if (off != c->offset || dst != (bool)c->dst)
			check__fail(__FILE__, __LINE__,
				    "offset_cases[%zu] %s at %s: got %d%s, expected %d%s", i, c->zone,
				    iso(secs(c->utc), buf), off, dst ? " dst" : "", c->offset,
				    c->dst ? " dst" : "");
	}
	/* is_dst may be NULL. */
	CHECK_INT_EQ(weir_tz_offset(zone("Europe/Berlin"), secs("2024-07-01T00:00:00Z"), NULL), 7200);
}

struct resolve_case {
	const char *zone, *local;
	int n;
	const char *first, *second;
};

/*
 * 0: the wall time was skipped, and out[0] is the jump;  2: it repeats.
 */
static const struct resolve_case resolve_cases[] = {
	{"America/New_York", "2024-03-10T02:30:00", 0, "2024-03-10T07:00:00Z", NULL},
	{"America/New_York", "2024-03-10T01:59:59", 1, "2024-03-10T06:59:59Z", NULL},
	{"America/New_York", "2024-03-10T03:00:00", 1, "2024-03-10T07:00:00Z", NULL},
	{"America/New_York", "2024-03-10T02:00:00", 0, "2024-03-10T07:00:00Z", NULL},
	{"America/New_York", "2024-11-03T01:30:00", 2, "2024-11-03T05:30:00Z", "2024-11-03T06:30:00Z"},
	{"America/New_York", "2024-11-03T01:00:00", 2, "2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z"},
	{"America/New_York", "2024-11-03T00:59:59", 1, "2024-11-03T04:59:59Z", NULL},
	{"America/New_York", "2024-11-03T01:59:59", 2, "2024-11-03T05:59:59Z", "2024-11-03T06:59:59Z"},
	{"America/New_York", "2024-11-03T02:00:00", 1, "2024-11-03T07:00:00Z", NULL},
	{"Europe/Berlin", "2024-03-31T02:00:00", 0, "2024-03-31T01:00:00Z", NULL},
	{"Europe/Berlin", "2024-03-31T02:59:59", 0, "2024-03-31T01:00:00Z", NULL},
	{"Europe/Berlin", "2024-10-27T02:30:00", 2, "2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z"},
	{"Europe/Berlin", "2024-10-27T03:00:00", 1, "2024-10-27T02:00:00Z", NULL},
	{"Europe/Berlin", "2024-07-01T12:00:00", 1, "2024-07-01T10:00:00Z", NULL},
	{"Australia/Lord_Howe", "2024-10-06T02:15:00", 0, "2024-10-05T15:30:00Z", NULL},
	{"Australia/Lord_Howe", "2024-10-06T02:00:00", 0, "2024-10-05T15:30:00Z", NULL},
	{"Australia/Lord_Howe", "2024-10-06T02:30:00", 1, "2024-10-05T15:30:00Z", NULL},
	{"Australia/Lord_Howe", "2024-04-07T01:45:00", 2, "2024-04-06T14:45:00Z", "2024-04-06T15:15:00Z"},
	{"Australia/Lord_Howe", "2024-04-07T01:30:00", 2, "2024-04-06T14:30:00Z", "2024-04-06T15:00:00Z"},
	{"Australia/Lord_Howe", "2024-04-07T02:00:00", 1, "2024-04-06T15:30:00Z", NULL},
	{"America/New_York", "2050-03-13T02:30:00", 0, "2050-03-13T07:00:00Z", NULL},
	{"America/New_York", "2050-11-06T01:30:00", 2, "2050-11-06T05:30:00Z", "2050-11-06T06:30:00Z"},
	{"Europe/Berlin", "2300-03-25T02:30:00", 0, "2300-03-25T01:00:00Z", NULL},
	{"Europe/Berlin", "2300-10-28T02:30:00", 2, "2300-10-28T00:30:00Z", "2300-10-28T01:30:00Z"},
	{"Australia/Lord_Howe", "2200-10-05T02:10:00", 0, "2200-10-04T15:30:00Z", NULL},
	{"Australia/Lord_Howe", "2200-04-06T01:40:00", 2, "2200-04-05T14:40:00Z", "2200-04-05T15:10:00Z"},
	{"Pacific/Kiritimati", "1994-12-31T12:00:00", 0, "1994-12-31T10:00:00Z", NULL},
	{"Pacific/Apia", "2011-12-30T12:00:00", 0, "2011-12-30T10:00:00Z", NULL},
	{"Antarctica/Troll", "2024-03-31T01:30:00", 0, "2024-03-31T01:00:00Z", NULL},
	{"Antarctica/Troll", "2024-10-27T02:00:00", 2, "2024-10-27T00:00:00Z", "2024-10-27T02:00:00Z"},
	{"UTC", "2024-03-10T02:30:00", 1, "2024-03-10T02:30:00Z", NULL},
	{"America/Havana", "2024-11-03T00:30:00", 2, "2024-11-03T04:30:00Z", "2024-11-03T05:30:00Z"},
	{"America/Havana", "2024-03-10T00:30:00", 0, "2024-03-10T05:00:00Z", NULL},
};

static void test_tz__resolve_reports_gaps_and_overlaps(void)
{
	char a[WEIR_ISO_BUFSZ], b[WEIR_ISO_BUFSZ];

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(resolve_cases); i++) {
		const struct resolve_case *c = &resolve_cases[i];
		int64_t out[2] = {0, 0};
		int n = weir_tz_resolve(zone(c->zone), secs(c->local), out);

		if (n != c->n || strcmp(iso(out[0], a), c->first) != 0 ||
		    (n == 2 && strcmp(iso(out[1], b), c->second) != 0))
			check__fail(__FILE__, __LINE__,
				    "resolve_cases[%zu] %s %s: got %d %s %s, expected %d %s %s", i,
				    c->zone, c->local, n, a, n == 2 ? iso(out[1], b) : "", c->n,
				    c->first, c->second ? c->second : "");
	}
}

/* resolve is the inverse of offset: u is among resolve(u + offset(u)). */
static void test_tz__resolve_inverts_offset(void)
{
	static const char *const zones[] = {
		"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Chatham",
		"America/Santiago", "Asia/Jerusalem", "America/Nuuk",       "Europe/Dublin",
		"Africa/Casablanca", "Antarctica/Troll", "Pacific/Apia",    "UTC",
	};
	uint64_t x = 88172645463325252ull; /* xorshift: reproducible */

	for (size_t z = 0; z < WEIR_ARRAY_SIZE(zones); z++) {
		const struct weir_tz *tz = zone(zones[z]);
		for (int i = 0; i < 20000; i++) {
			int64_t u, out[2];
			int n;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* 1900..2200, biased to whole hours near transitions */
			u = (int64_t)(x % (300ull * 365 * 86400)) - 2208988800;
			if (i % 2)
				u -= u % 900;
			n = weir_tz_resolve(tz, u + weir_tz_offset(tz, u, NULL), out);
			CHECK(n == 1 || n == 2);
			CHECK(out[0] == u || (n == 2 && out[1] == u));
			if (n == 2)
				CHECK_INT_OP(out[0], <, out[1]);
		}
	}
}

/* After the last transition in the file (2037) the footer rule takes over. */
static void test_tz__footer_rule_covers_far_future_years(void)
{
	static const char *const ny2050[] = {
		"2050-03-13T07:00:00Z -14400 dst",
		"2050-11-06T06:00:00Z -18000",
	};
	static const char *const lh2050[] = {
		"2050-04-02T15:00:00Z 37800",
		"2050-10-01T15:30:00Z 39600 dst",
	};
	static const char *const ny2038[] = {
		"2038-03-14T07:00:00Z -14400 dst",
		"2038-11-07T06:00:00Z -18000",
	};
	static const char *const be2500[] = {
		"2500-03-28T01:00:00Z 7200 dst",
		"2500-10-31T01:00:00Z 3600",
	};

	check_transitions(zone("America/New_York"), "2050-01-01T00:00:00Z",
			  "2051-01-01T00:00:00Z", ny2050, 2);
	check_transitions(zone("Australia/Lord_Howe"), "2050-01-01T00:00:00Z",
			  "2051-01-01T00:00:00Z", lh2050, 2);
	check_transitions(zone("America/New_York"), "2038-01-01T00:00:00Z",
			  "2039-01-01T00:00:00Z", ny2038, 2);
	check_transitions(zone("Europe/Berlin"), "2500-01-01T00:00:00Z",
			  "2501-01-01T00:00:00Z", be2500, 2);
}

static void test_tz__extreme_instants_are_clamped_not_overflowed(void)
{
	const struct weir_tz *ny = zone("America/New_York");
	int64_t out[2];

	CHECK_INT_EQ(weir_tz_offset(ny, INT64_MIN, NULL), -17762); /* LMT */
	CHECK(weir_tz_offset(ny, INT64_MAX, NULL) == -18000 ||
	      weir_tz_offset(ny, INT64_MAX, NULL) == -14400);
	CHECK_INT_OP(weir_tz_resolve(ny, INT64_MAX, out), >=, 0);
	CHECK_INT_OP(weir_tz_resolve(ny, INT64_MIN, out), >=, 0);
	CHECK_INT_OP(weir_tz_resolve(zone("UTC"), INT64_MAX, out), >=, 0);
}

/* ------------------------------------------------------------------ */
/* Names and the cache                                                 */
/* ------------------------------------------------------------------ */

static void test_tz__utc_needs_no_files(void)
{
	const struct weir_tz *tz;
	int64_t out[2];

	CHECK(setenv("TZDIR", "/nonexistent/zoneinfo", 1) == 0);
	CHECK(weir_tz_utc() != NULL);
	CHECK_STR_EQ(weir_tz_name(weir_tz_utc()), "UTC");
	CHECK(zone("UTC") == weir_tz_utc());
	CHECK(zone("Etc/UTC") == weir_tz_utc());
	CHECK(zone("Z") == weir_tz_utc());
	tz = weir_tz_utc();
	CHECK_INT_EQ(weir_tz_offset(tz, 1700000000, NULL), 0);
	CHECK_INT_EQ(weir_tz_resolve(tz, 1700000000, out), 1);
	CHECK_INT_EQ(out[0], 1700000000);
	get_fails("Europe/Berlin", "unknown time zone \"Europe/Berlin\"");
}

static void test_tz__unknown_zones_are_named_in_the_error(void)
{
	get_fails("Europe/Berln", "unknown time zone \"Europe/Berln\"");
	get_fails("Mars/Olympus_Mons", "unknown time zone \"Mars/Olympus_Mons\"");
	get_fails("America", "unknown time zone \"America\""); /* a directory */
	get_fails("Europe/Berlin/x", "unknown time zone \"Europe/Berlin/x\"");
}

static void test_tz__rejects_malformed_names(void)
{
	char longname[200];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	get_fails("", "time zone name is empty");
	get_fails("../etc/passwd", "invalid time zone name \"../etc/passwd\": \"..\" is not allowed");
	get_fails("Europe/../../etc/passwd",
		  "invalid time zone name \"Europe/../../etc/passwd\": \"..\" is not allowed");
	get_fails("/etc/localtime",
		  "invalid time zone name \"/etc/localtime\": must not start with '/'");
	get_fails("Europe//Berlin", "invalid time zone name \"Europe//Berlin\": empty path component");
	get_fails("Europe/", "invalid time zone name \"Europe/\": empty path component");
	get_fails("Europe/Berlin ", "invalid time zone name \"Europe/Berlin \": only letters, "
				    "digits and /_+- are allowed");
	get_fails("zone.tab",
		  "invalid time zone name \"zone.tab\": only letters, digits and /_+- are allowed");
	get_fails("Europe/Berlin\n", "invalid time zone name \"Europe/Berlin\\x0A\": only letters, "
				     "digits and /_+- are allowed");
	get_fails("Europe/Berlin\"", "invalid time zone name \"Europe/Berlin\\x22\": only letters, "
				     "digits and /_+- are allowed");
	get_fails(longname, "invalid time zone name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			    "aaaaaaaaaaaaaaa...\": longer than 128 bytes");
	/* Allowed characters that real names use. */
	CHECK_STR_EQ(weir_tz_name(zone("Etc/GMT+5")), "Etc/GMT+5");
	CHECK_STR_EQ(weir_tz_name(zone("Etc/GMT-14")), "Etc/GMT-14");
	CHECK_STR_EQ(weir_tz_name(zone("America/Port-au-Prince")), "America/Port-au-Prince");
	CHECK_INT_EQ(weir_tz_offset(zone("Etc/GMT+5"), 0, NULL), -18000);
}

static void test_tz__zones_are_cached(void)
{
	const struct weir_tz *a = zone("Europe/Berlin"), *b = zone("Europe/Berlin");

	CHECK(a == b);
	CHECK(a != zone("Europe/Paris"));
	CHECK_STR_EQ(weir_tz_name(a), "Europe/Berlin");
	/* Once loaded, a zone survives its file going away (TZDIR changes). */
	CHECK(setenv("TZDIR", "/nonexistent/zoneinfo", 1) == 0);
	CHECK(zone("Europe/Berlin") == a);
}

#define NTHREADS 8

static void *get_in_thread(void *arg)
{
	static const char *const names[] = {"Asia/Tokyo", "America/Chicago", "Europe/Madrid"};
	const struct weir_tz **out = arg;

	for (int i = 0; i < 200; i++)
		for (int k = 0; k < 3; k++) {
			struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
			if (weir_tz_get(names[k], &out[k], &err) != 0)
				return (void *)1;
			weir_buf_release(&err);
		}
	return NULL;
}

static void test_tz__concurrent_gets_share_one_zone(void)
{
	pthread_t th[NTHREADS];
	const struct weir_tz *got[NTHREADS][3];

	for (int i = 0; i < NTHREADS; i++)
		CHECK_INT_EQ(pthread_create(&th[i], NULL, get_in_thread, got[i]), 0);
	for (int i = 0; i < NTHREADS; i++) {
		void *rv;
		CHECK_INT_EQ(pthread_join(th[i], &rv), 0);
		CHECK(rv == NULL);
	}
	for (int i = 1; i < NTHREADS; i++)
		for (int k = 0; k < 3; k++)
			CHECK(got[i][k] == got[0][k]);
	CHECK_STR_EQ(weir_tz_name(got[0][1]), "America/Chicago");
}

/* ------------------------------------------------------------------ */
/* Hand-made TZif files                                                */
/* ------------------------------------------------------------------ */

static const struct ttype std_dst[] = {{3600, 0}, {7200, 1}};

static void test_tz__reads_version_1_files(void)
{
	static const int64_t times[] = {100000, 200000};
	static const uint8_t idx[] = {1, 0};
	const struct weir_tz *tz;
	bool dst;

	write_tzif("V1", 0, times, idx, 2, std_dst, 2, NULL);
	tz = zone("V1");
	CHECK_INT_EQ(weir_tz_offset(tz, -5000000000, &dst), 3600); /* type 0 before */
	CHECK(!dst);
	CHECK_INT_EQ(weir_tz_offset(tz, 99999, NULL), 3600);
	CHECK_INT_EQ(weir_tz_offset(tz, 100000, &dst), 7200);
	CHECK(dst);
	CHECK_INT_EQ(weir_tz_offset(tz, 199999, NULL), 7200);
	CHECK_INT_EQ(weir_tz_offset(tz, 200000, NULL), 3600);
	CHECK_INT_EQ(weir_tz_offset(tz, 5000000000, NULL), 3600); /* last type persists */
}

static void test_tz__version_2_file_without_transitions_uses_footer(void)
{
	static const struct ttype t[] = {{10800, 0}};
	const struct weir_tz *tz;
	int64_t out[2];

	write_tzif("Fixed", '2', NULL, NULL, 0, t, 1, "<+03>-3");
	tz = zone("Fixed");
	CHECK_INT_EQ(weir_tz_offset(tz, 0, NULL), 10800);
	CHECK_INT_EQ(weir_tz_offset(tz, 4102444800, NULL), 10800);
	CHECK_INT_EQ(weir_tz_resolve(tz, 10800, out), 1);
	CHECK_INT_EQ(out[0], 0);
	/* An empty footer is allowed: the last type then persists. */
	write_tzif("NoFooter", '2', NULL, NULL, 0, t, 1, "");
	CHECK_INT_EQ(weir_tz_offset(zone("NoFooter"), 4102444800, NULL), 10800);
}

/*
 * Jn counts 1..365 and never February 29; n counts 0..365 and does.
 * J60 is March 1 in every year; 59 is March 1, or February 29 in leap years.
 */
static void test_tz__footer_julian_and_zero_based_days(void)
{
	static const char *const j2030[] = {"2030-02-28T23:00:00Z 7200 dst",
					    "2030-10-27T23:00:00Z 3600"};
	static const char *const j2032[] = {"2032-02-29T23:00:00Z 7200 dst",
					    "2032-10-27T23:00:00Z 3600"};
	static const char *const n2030[] = {"2030-02-28T23:00:00Z 7200 dst",
					    "2030-10-27T00:00:00Z 3600"};
	static const char *const n2032[] = {"2032-02-28T23:00:00Z 7200 dst",
					    "2032-10-26T00:00:00Z 3600"};

	/* J300/25: 25:00 on October 27 is 01:00 on October 28. */
	write_tzif("Julian", '2', NULL, NULL, 0, std_dst, 1, "XST-1XDT,J60/0,J300/25");
	write_tzif("ZeroBased", '3', NULL, NULL, 0, std_dst, 1, "XST-1XDT,59/0,299");
	check_transitions(zone("Julian"), "2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z", j2030, 2);
	check_transitions(zone("Julian"), "2032-01-01T00:00:00Z", "2033-01-01T00:00:00Z", j2032, 2);
	check_transitions(zone("ZeroBased"), "2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z", n2030,
			  2);
	check_transitions(zone("ZeroBased"), "2032-01-01T00:00:00Z", "2033-01-01T00:00:00Z", n2032,
			  2);
}

/* RFC 8536 lets transition times run from -167 to 167 hours. */
static void test_tz__footer_negative_and_long_transition_times(void)
{
	static const struct ttype nuuk[] = {{-7200, 0}};
	static const struct ttype zero[] = {{0, 0}};
	static const char *const neg[] = {"2030-03-31T01:00:00Z -3600 dst",
					  "2030-10-27T01:00:00Z -7200"};
	/* First Sunday of March 2030 is the 3rd, +167 h; of October the 6th, -167 h. */
	static const char *const week[] = {"2030-03-09T23:00:00Z 3600 dst",
					   "2030-09-29T00:00:00Z 0"};
	/* Jerusalem: M3.4.4/26, 02:00 on the Friday after the 4th Thursday. */
	static const char *const jlm[] = {"2050-03-25T00:00:00Z 10800 dst",
					  "2050-10-29T23:00:00Z 7200"};
	/* Before write_tzif points TZDIR at the test's own directory. */
	const struct weir_tz *jerusalem = zone("Asia/Jerusalem");

	write_tzif("Neg", '4', NULL, NULL, 0, nuuk, 1, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
	write_tzif("Week", '3', NULL, NULL, 0, zero, 1, "AAA0BBB,M3.1.0/167,M10.1.0/-167");
	check_transitions(zone("Neg"), "2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z", neg, 2);
	check_transitions(zone("Week"), "2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z", week, 2);
	check_transitions(jerusalem, "2050-01-01T00:00:00Z", "2051-01-01T00:00:00Z",
			  jlm, 2);
}

/* "EST5EDT4,0/0,J365/25": DST ends and restarts at the same instant. */
static void test_tz__footer_dst_all_year(void)
{
	static const struct ttype t[] = {{-14400, 1}};
	const struct weir_tz *tz;
	int64_t out[2];
	bool dst = false;

	write_tzif("AllYear", '3', NULL, NULL, 0, t, 1, "EST5EDT4,0/0,J365/25");
	tz = zone("AllYear");
	for (int64_t s = secs("2030-12-31T00:00:00Z"); s < secs("2031-01-02T00:00:00Z"); s += 600) {
		CHECK_INT_EQ(weir_tz_offset(tz, s, &dst), -14400);
		CHECK(dst);
		CHECK_INT_EQ(weir_tz_resolve(tz, s, out), 1);
		CHECK_INT_EQ(out[0], s + 14400);
	}
}

/* A footer without rule dates uses the US rules, as tzcode does. */
static void test_tz__footer_without_dates_uses_us_rules(void)
{
	static const char *const want[] = {"2030-03-10T07:00:00Z -14400 dst",
					   "2030-11-03T06:00:00Z -18000"};
	static const struct ttype t[] = {{-18000, 0}};

	write_tzif("NoDates", '2', NULL, NULL, 0, t, 1, "EST5EDT");
	check_transitions(zone("NoDates"), "2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z", want, 2);
}

/* The table applies up to its last transition, the footer after it. */
static void test_tz__table_then_footer(void)
{
	static const int64_t times[] = {1000000000, 2000000000};
	static const uint8_t idx[] = {1, 0};
	const struct weir_tz *tz;

	write_tzif("Mixed", '2', times, idx, 2, std_dst, 2, "XST-1XDT,M3.5.0,M10.5.0/3");
	tz = zone("Mixed");
	CHECK_INT_EQ(weir_tz_offset(tz, 999999999, NULL), 3600);
	CHECK_INT_EQ(weir_tz_offset(tz, 1500000000, NULL), 7200); /* table, mid-July 2017 */
	CHECK_INT_EQ(weir_tz_offset(tz, secs("2017-12-01T00:00:00Z"), NULL), 7200);
	CHECK_INT_EQ(weir_tz_offset(tz, secs("2033-12-01T00:00:00Z"), NULL), 3600); /* rule */
	CHECK_INT_EQ(weir_tz_offset(tz, secs("2034-07-01T00:00:00Z"), NULL), 7200);
}

static void write_bytes(const char *name, const void *p, size_t n)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	CHECK_OK(weir_buf_add(&b, p, n));
	write_raw(name, &b);
	weir_buf_release(&b);
}

static void corrupt_fails(const char *name, const char *why)
{
	struct weir_buf msg = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	CHECK_OK(weir_buf_addf(&msg, "invalid time zone file \"%s/%s\": %s", tzdir(), name, why));
	get_fails(name, msg.buf);
	weir_buf_release(&msg);
}

static void test_tz__rejects_corrupt_files(void)
{
	static const int64_t down[] = {200, 100};
	static const int64_t up[] = {100, 200};
	static const uint8_t idx_ok[] = {0, 1}, idx_bad[] = {0, 2};
	static const struct ttype huge[] = {{100000, 0}};
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	write_bytes("Text", "# not a zone\n", 13);
	corrupt_fails("Text", "not a TZif file (bad magic)");
	write_bytes("Short", "TZif2", 5);
	corrupt_fails("Short", "not a TZif file (bad magic)");
	write_tzif("Descending", '2', down, idx_ok, 2, std_dst, 2, "");
	corrupt_fails("Descending", "transition times are not ascending");
	write_tzif("BadIndex", '2', up, idx_bad, 2, std_dst, 2, "");
	corrupt_fails("BadIndex", "transition refers to an undefined time type");
	write_tzif("HugeOffset", '2', NULL, NULL, 0, huge, 1, "");
	corrupt_fails("HugeOffset", "UT offset out of range");
	write_tzif("BadFooter", '2', NULL, NULL, 0, std_dst, 1, "XST-1XDT,M13.1.0,M10.5.0");
	corrupt_fails("BadFooter", "invalid TZ string footer");
	write_tzif("BadFooter2", '2', NULL, NULL, 0, std_dst, 1, "X-1");
	corrupt_fails("BadFooter2", "invalid TZ string footer");
	write_tzif("BadVersion", '1', NULL, NULL, 0, std_dst, 1, "");
	corrupt_fails("BadVersion", "unsupported TZif version");

	/* Cut a valid v2 file short, and drop its footer. */
	put_header(&b, '2', 0, 1, 1, 0);
	put32(&b, 0);
	CHECK_OK(weir_buf_add(&b, "\0\0\0", 3));
	put_header(&b, '2', 0, 1, 4, 0);
	write_raw("Truncated", &b);
	corrupt_fails("Truncated", "truncated data block");
	put_types(&b, std_dst, 1);
	write_raw("NoNewline", &b);
	corrupt_fails("NoNewline", "missing TZ string footer");
	CHECK_OK(weir_buf_addstr(&b, "\nUTC0"));
	write_raw("Unterminated", &b);
	corrupt_fails("Unterminated", "unterminated TZ string footer");
	weir_buf_release(&b);

	/* Leap-second ("right/") files. */
	weir_buf_init(&b, WEIR_BUF_NOLIMIT);
	put_header(&b, 0, 0, 1, 4, 1);
	put_types(&b, std_dst, 1);
	put32(&b, 78796800);
	put32(&b, 1);
	write_raw("Leaps", &b);
	corrupt_fails("Leaps", "leap-second zones (\"right/\") are not supported");
	weir_buf_release(&b);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_tz__offsets_match_zdump),
	CHECK_TEST(test_tz__resolve_reports_gaps_and_overlaps),
	CHECK_TEST(test_tz__resolve_inverts_offset),
	CHECK_TEST(test_tz__footer_rule_covers_far_future_years),
	CHECK_TEST(test_tz__extreme_instants_are_clamped_not_overflowed),
	CHECK_TEST(test_tz__utc_needs_no_files),
	CHECK_TEST(test_tz__unknown_zones_are_named_in_the_error),
	CHECK_TEST(test_tz__rejects_malformed_names),
	CHECK_TEST(test_tz__zones_are_cached),
	CHECK_TEST(test_tz__concurrent_gets_share_one_zone),
	CHECK_TEST(test_tz__reads_version_1_files),
	CHECK_TEST(test_tz__version_2_file_without_transitions_uses_footer),
	CHECK_TEST(test_tz__footer_julian_and_zero_based_days),
	CHECK_TEST(test_tz__footer_negative_and_long_transition_times),
	CHECK_TEST(test_tz__footer_dst_all_year),
	CHECK_TEST(test_tz__footer_without_dates_uses_us_rules),
	CHECK_TEST(test_tz__table_then_footer),
	CHECK_TEST(test_tz__rejects_corrupt_files),
	{0},
};

int main(int argc, char **argv)
{
	return check_main(argc, argv, tests);
}
