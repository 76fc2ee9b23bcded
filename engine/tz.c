/*
 * tz.c: IANA zones read from TZif files (RFC 8536), POSIX TZ footer rules,
 * and the process-wide zone cache.
 *
 * A zone is a list of "spans": half-open UTC intervals [begin, end) during
 * which the offset is constant.  Up to its last transition a zone's spans
 * come from the file's transition table; from the last transition on they
 * come from the footer rule (e.g. "CET-1CEST,M3.5.0,M10.5.0/3"), evaluated
 * per year.  Everything else (offset lookup, wall-clock resolution) is built
 * on tz_span(), so the table and the rule can never disagree about where a
 * span ends.
 *
 *   TZif v2+ file:  header1 | v1 data (32-bit, skipped) | header2 |
 *                   v2 data (64-bit) | "\n" footer "\n"
 *   TZif v1 file:   header1 | v1 data              (no footer)
 *
 * Invariants of a loaded struct weir_tz:
 *   - trans[] is strictly ascending; trans_type[i] < ntypes; ntypes >= 1;
 *   - every offset (table and rule) lies in (-TZ_OFF_MAX, TZ_OFF_MAX), so a
 *     wall time L can only come from an instant in [L - TZ_OFF_MAX,
 *     L + TZ_OFF_MAX] (weir_tz_resolve relies on this window);
 *   - the struct is never modified or freed after it enters the cache.
 *
 * Instants are clamped to +-TZ_T_LIMIT seconds (about a billion years) so
 * that the rule arithmetic cannot overflow; nothing real lives out there.
 */
#include "engine/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"

#include "common/banned.h"

#define TZ_NAME_MAX 128               /* longest IANA name today: 32 bytes */
#define TZ_FILE_MAX (1024 * 1024)     /* real TZif files are under 4 KiB */
#define TZ_OFF_MAX 93600              /* |utoff| < 26 h (RFC 8536, 3.2) */
#define TZ_T_LIMIT (INT64_C(1) << 55) /* seconds; keeps rule math in range */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

/* ------------------------------------------------------------------ */
/* Representation                                                      */
/* ------------------------------------------------------------------ */

struct tz_type {
	int32_t utoff; /* seconds east of UTC */
	bool isdst;
};

/* One end of a POSIX rule: a day of the year and a local time. */
struct tz_date {
	char kind;    /* 'J': Jn (1..365, no Feb 29); 'D': n (0..365); 'M': Mm.w.d */
	int n;        /* J and D forms */
	int m, w, d;  /* M form: month 1..12, week 1..5 (5 = last), weekday 0..6 */
	int32_t time; /* seconds after local midnight, -167h..167h (RFC 8536) */
};

struct tz_rule {
	int32_t std_off; /* seconds east, standard time */
	int32_t dst_off; /* seconds east, daylight time (if has_dst) */
	bool has_dst;
	struct tz_date start; /* DST starts: time is standard local time */
	struct tz_date end;   /* DST ends: time is daylight local time */
};

struct weir_tz {
	const char *name;
	size_t ntrans;
	const int64_t *trans;      /* UTC seconds, strictly ascending */
	const uint8_t *trans_type; /* index into types, per transition */
	size_t ntypes;             /* >= 1; types[0] applies before trans[0] */
	const struct tz_type *types;
	bool has_rule;       /* footer rule applies from the last transition on */
	struct tz_rule rule; /* (or always, when ntrans == 0) */
	struct weir_tz *next; /* cache list; the only field written after load */
};

/* A maximal interval [begin, end) of constant offset. */
struct span {
	int64_t begin, end; /* INT64_MIN / INT64_MAX when unbounded */
	int32_t off;
	bool dst;
};

static const struct tz_type utc_type = {0, false};
static struct weir_tz utc_zone = {
	.name = "UTC",
	.ntypes = 1,
	.types = &utc_type,
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b) != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t clamp_t(int64_t t)
{
	if (t > TZ_T_LIMIT)
		return TZ_T_LIMIT;
	if (t < -TZ_T_LIMIT)
		return -TZ_T_LIMIT;
	return t;
}

/* ------------------------------------------------------------------ */
/* POSIX TZ rules                                                      */
/* ------------------------------------------------------------------ */

/* Days since the epoch of the local date a rule names in year y. */
static int64_t rule_day(const struct tz_date *dt, int64_t y)
{
	int64_t jan1 = weir_days_from_civil(y, 1, 1);
	int64_t first;
	unsigned wd, dim;
	int d;

	switch (dt->kind) {
	case 'J':
		/* Jn never counts February 29, so day 60 is always March 1. */
		return jan1 + dt->n - 1 + (weir_is_leap(y) && dt->n >= 60);
	case 'D':
		return jan1 + dt->n;
	default:
		first = weir_days_from_civil(y, (unsigned)dt->m, 1);
		wd = weir_weekday_from_days(first);
		dim = weir_days_in_month(y, (unsigned)dt->m);
		d = 1 + (dt->d - (int)wd + 7) % 7 + (dt->w - 1) * 7;
		while (d > (int)dim)
			d -= 7;
		return first + d - 1;
	}
}

/*
 * The span of a rule containing t.  Builds the transitions of the years
 * around t (a transition time may push an event into the neighbouring
 * year, up to 167 hours) and picks the last one at or before t.  Events at
 * the same instant keep their generation order, so a zone on DST all year
 * ("0/0,J365/25": DST ends and restarts at the same instant) stays on DST.
 */
static void rule_span(const struct tz_rule *r, int64_t t, struct span *s)
{
	struct {
		int64_t at;
		bool dst;
	} ev[6], tmp;
	int64_t tc = clamp_t(t), y, yr;
	unsigned m, d;
	int n = 0, i, j;

	if (!r->has_dst) {
		s->begin = INT64_MIN;
		s->end = INT64_MAX;
		s->off = r->std_off;
		s->dst = false;
		return;
	}
	weir_civil_from_days(floor_div(tc + r->std_off, 86400), &yr, &m, &d);
	for (y = yr - 1; y <= yr + 1; y++) {
		int64_t a = rule_day(&r->start, y) * 86400 + r->start.time - r->std_off;
		int64_t b = rule_day(&r->end, y) * 86400 + r->end.time - r->dst_off;
		if (a <= b) {
			ev[n].at = a, ev[n++].dst = true;
			ev[n].at = b, ev[n++].dst = false;
		} else {
			ev[n].at = b, ev[n++].dst = false;
			ev[n].at = a, ev[n++].dst = true;
		}
	}
	for (i = 1; i < n; i++) { /* stable insertion sort */
		tmp = ev[i];
		for (j = i; j > 0 && ev[j - 1].at > tmp.at; j--)
			ev[j] = ev[j - 1];
		ev[j] = tmp;
	}
	for (i = n - 1; i >= 0 && ev[i].at > tc; i--)
		;
	if (i < 0) { /* cannot happen: last year's events precede t */
		s->dst = !ev[0].dst;
		s->begin = INT64_MIN;
		s->end = ev[0].at;
	} else {
		s->dst = ev[i].dst;
		s->begin = ev[i].at;
		s->end = i + 1 < n ? ev[i + 1].at : INT64_MAX;
	}
	s->off = s->dst ? r->dst_off : r->std_off;
	if (t >= TZ_T_LIMIT)
		s->end = INT64_MAX;
	if (t <= -TZ_T_LIMIT)
		s->begin = INT64_MIN;
}

/* Parses a zone abbreviation: 3+ letters, or <...> with [A-Za-z0-9+-]. */
static bool parse_abbr(const char **sp)
{
	const char *s = *sp;
	size_t n = 0;

	if (*s == '<') {
		s++;
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		       (*s >= '0' && *s <= '9') || *s == '+' || *s == '-')
			s++, n++;
		if (*s != '>' || n < 3)
			return false;
		*sp = s + 1;
		return true;
	}
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++, n++;
	if (n < 3)
		return false;
	*sp = s;
	return true;
}

/* Parses [+-]hh[:mm[:ss]] with hh <= max_h into seconds. */
static bool parse_hms(const char **sp, int max_h, int32_t *out)
{
	const char *s = *sp;
	int sign = 1, part[3] = {0, 0, 0}, i, digits;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	for (i = 0; i < 3; i++) {
		if (i > 0) {
			if (*s != ':')
				break;
			s++;
		}
		for (digits = 0; *s >= '0' && *s <= '9'; s++, digits++) {
			if (digits >= 3)
				return false;
			part[i] = part[i] * 10 + (*s - '0');
		}
		if (digits == 0 || (i > 0 && (digits > 2 || part[i] > 59)))
			return false;
	}
	if (part[0] > max_h)
		return false;
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	*sp = s;
	return true;
}

static bool parse_num(const char **sp, int lo, int hi, int *out)
{
	const char *s = *sp;
	int v = 0, digits = 0;

	for (; *s >= '0' && *s <= '9'; s++) {
		if (++digits > 3)
			return false;
		v = v * 10 + (*s - '0');
	}
	if (digits == 0 || v < lo || v > hi)
		return false;
	*out = v;
	*sp = s;
	return true;
}

/* date[/time]: Jn, n or Mm.w.d; the time defaults to 02:00. */
static bool parse_date(const char **sp, struct tz_date *dt)
{
	const char *s = *sp;

	if (*s == 'J') {
		s++;
		dt->kind = 'J';
		if (!parse_num(&s, 1, 365, &dt->n))
			return false;
	} else if (*s == 'M') {
		s++;
		dt->kind = 'M';
		if (!parse_num(&s, 1, 12, &dt->m) || *s++ != '.' || !parse_num(&s, 1, 5, &dt->w) ||
		    *s++ != '.' || !parse_num(&s, 0, 6, &dt->d))
			return false;
	} else {
		dt->kind = 'D';
		if (!parse_num(&s, 0, 365, &dt->n))
			return false;
	}
	dt->time = 7200;
	if (*s == '/') {
		s++;
		if (!parse_hms(&s, 167, &dt->time))
			return false;
	}
	*sp = s;
	return true;
}

/*
 * Parses a POSIX TZ string as extended by RFC 8536 section 3.3.1:
 *   std offset [dst [offset] [,start[/time],end[/time]]]
 * POSIX offsets count west of UTC ("EST5"); we store seconds east.
 */
static bool parse_rule(const char *s, struct tz_rule *r)
{
	int32_t v;

	memset(r, 0, sizeof(*r));
	if (!parse_abbr(&s) || !parse_hms(&s, 24, &v))
		return false;
	r->std_off = -v;
	if (!*s)
		return true;
	if (!parse_abbr(&s))
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*s && *s != ',') {
		if (!parse_hms(&s, 24, &v))
			return false;
		r->dst_off = -v;
	}
	if (!*s) {
		/* No rule: the US rules, as tzcode assumes. */
		r->start = (struct tz_date){.kind = 'M', .m = 3, .w = 2, .d = 0, .time = 7200};
		r->end = (struct tz_date){.kind = 'M', .m = 11, .w = 1, .d = 0, .time = 7200};
		return true;
	}
	if (*s++ != ',' || !parse_date(&s, &r->start) || *s++ != ',' || !parse_date(&s, &r->end))
		return false;
	return *s == '\0';
}

/* ------------------------------------------------------------------ */
/* Spans, offsets, resolution                                          */
/* ------------------------------------------------------------------ */

static void tz_span(const struct weir_tz *tz, int64_t t, struct span *s)
{
	size_t lo, hi, mid;
	const struct tz_type *ty;

	if (tz->ntrans == 0 || t < tz->trans[0]) {
		if (tz->ntrans == 0 && tz->has_rule) {
			rule_span(&tz->rule, t, s);
			return;
		}
		/* RFC 8536: type 0 applies before the first transition. */
		s->begin = INT64_MIN;
		s->end = tz->ntrans ? tz->trans[0] : INT64_MAX;
		s->off = tz->types[0].utoff;
		s->dst = tz->types[0].isdst;
		return;
	}
	lo = 0; /* trans[lo] <= t < trans[hi] (hi == ntrans: +infinity) */
	hi = tz->ntrans;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	if (lo == tz->ntrans - 1 && tz->has_rule) {
		rule_span(&tz->rule, t, s);
		if (s->begin < tz->trans[lo])
			s->begin = tz->trans[lo];
		return;
	}
	ty = &tz->types[tz->trans_type[lo]];
	s->begin = tz->trans[lo];
	s->end = lo + 1 < tz->ntrans ? tz->trans[lo + 1] : INT64_MAX;
	s->off = ty->utoff;
	s->dst = ty->isdst;
}

int weir_tz_offset(const struct weir_tz *tz, int64_t utc, bool *is_dst)
{
	struct span s;

	tz_span(tz, clamp_t(utc), &s);
	if (is_dst)
		*is_dst = s.dst;
	return s.off;
}

/*
 * Walks the spans that can contain an instant with wall time L (see the
 * file comment for the window).  A span [b, e) with offset o holds L iff
 * b <= L - o < e.  Between two adjacent spans p, q with boundary T, L lies
 * in a gap iff T + p.off <= L < T + q.off.
 */
int weir_tz_resolve(const struct weir_tz *tz, int64_t local, int64_t out[2])
{
	int64_t l = clamp_t(local), t = l - TZ_OFF_MAX, gap = INT64_MIN, u;
	struct span s, prev = {0, 0, 0, false};
	bool have_prev = false, have_gap = false;
	int n = 0;

	for (;;) {
		tz_span(tz, t, &s);
		u = l - s.off;
		if (u >= s.begin && u < s.end && n < 2)
			out[n++] = u;
		if (have_prev && !have_gap && prev.end == s.begin && s.begin + prev.off <= l &&
		    l < s.begin + s.off) {
			gap = s.begin;
			have_gap = true;
		}
		if (s.end > l + TZ_OFF_MAX)
			break;
		prev = s;
		have_prev = true;
		t = s.end;
	}
	if (n > 0)
		return n;
	if (have_gap) {
		out[0] = gap;
		return 0;
	}
	/* Unreachable with a valid zone; answer something sane anyway. */
	out[0] = l - weir_tz_offset(tz, l, NULL);
	return 1;
}

/* ------------------------------------------------------------------ */
/* TZif parsing                                                        */
/* ------------------------------------------------------------------ */

struct tzif_hdr {
	char version; /* 0, '2', '3', '4', ... */
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

struct reader {
	const unsigned char *p;
	size_t left;
};

static const unsigned char *take(struct reader *r, uint64_t n)
{
	const unsigned char *p = r->p;
	if (n > r->left)
		return NULL;
	r->p += n;
	r->left -= (size_t)n;
	return p;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static const char *read_hdr(struct reader *r, struct tzif_hdr *h)
{
	const unsigned char *p = take(r, 44);

	if (!p || memcmp(p, "TZif", 4) != 0)
		return "not a TZif file (bad magic)";
	h->version = (char)p[4];
	if (h->version != 0 && h->version < '2')
		return "unsupported TZif version";
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
		return "inconsistent header counts";
	return NULL;
}

static uint64_t block_size(const struct tzif_hdr *h, unsigned tsize)
{
	return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
	       (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* Reads one data block (tsize 4: v1, 8: v2+) into z. */
static const char *read_block(struct reader *r, const struct tzif_hdr *h, unsigned tsize,
			      struct weir_tz *z)
{
	const unsigned char *p = take(r, block_size(h, tsize)), *idx, *ty;
	int64_t *trans;
	uint8_t *tt;
	struct tz_type *types;

	if (!p)
		return "truncated data block";
	if (h->leapcnt != 0)
		return "leap-second zones (\"right/\") are not supported";
	idx = p + (size_t)h->timecnt * tsize;
	ty = idx + h->timecnt;
	trans = weir_xcalloc(h->timecnt ? h->timecnt : 1, sizeof(*trans));
	tt = weir_xcalloc(h->timecnt ? h->timecnt : 1, 1);
	types = weir_xcalloc(h->typecnt, sizeof(*types));
	z->trans = trans;
	z->trans_type = tt;
	z->types = types;
	z->ntrans = h->timecnt;
	z->ntypes = h->typecnt;
	for (uint32_t i = 0; i < h->timecnt; i++) {
		trans[i] = tsize == 8 ? (int64_t)be64(p + (size_t)i * 8)
				      : (int64_t)(int32_t)be32(p + (size_t)i * 4);
		if (i > 0 && trans[i] <= trans[i - 1])
			return "transition times are not ascending";
		tt[i] = idx[i];
		if (idx[i] >= h->typecnt)
			return "transition refers to an undefined time type";
	}
	for (uint32_t i = 0; i < h->typecnt; i++) {
		int32_t off = (int32_t)be32(ty + (size_t)i * 6);
		if (off <= -TZ_OFF_MAX || off >= TZ_OFF_MAX)
			return "UT offset out of range";
		if (ty[i * 6 + 4] > 1 || ty[i * 6 + 5] >= h->charcnt)
			return "invalid time type";
		types[i].utoff = off;
		types[i].isdst = ty[i * 6 + 4];
	}
	return NULL;
}

static void zone_free(struct weir_tz *z)
{
	free((void *)z->name);
	free((void *)z->trans);
	free((void *)z->trans_type);
	free((void *)z->types);
	free(z);
}

static bool rule_in_range(const struct tz_rule *r)
{
	return r->std_off > -TZ_OFF_MAX && r->std_off < TZ_OFF_MAX &&
	       (!r->has_dst || (r->dst_off > -TZ_OFF_MAX && r->dst_off < TZ_OFF_MAX));
}

/* Parses a whole TZif file into z.  Returns NULL or a reason. */
static const char *parse_tzif(const unsigned char *data, size_t len, struct weir_tz *z)
{
	struct reader r = {data, len};
	struct tzif_hdr h;
	const char *why = read_hdr(&r, &h);
	const unsigned char *nl;
	size_t flen;
	char footer[256];

	if (why)
		return why;
	if (h.version == 0)
		return read_block(&r, &h, 4, z);
	/* v2+: skip the 32-bit block; everything we use follows it. */
	if (!take(&r, block_size(&h, 4)))
		return "truncated data block";
	why = read_hdr(&r, &h);
	if (why)
		return why;
	why = read_block(&r, &h, 8, z);
	if (why)
		return why;
	if (r.left == 0 || r.p[0] != '\n')
		return "missing TZ string footer";
	nl = memchr(r.p + 1, '\n', r.left - 1);
	if (!nl)
		return "unterminated TZ string footer";
	flen = (size_t)(nl - (r.p + 1));
	if (flen >= sizeof(footer))
		return "TZ string footer too long";
	if (flen == 0)
		return NULL; /* allowed: no rule, the last type persists */
	memcpy(footer, r.p + 1, flen);
	footer[flen] = '\0';
	if (memchr(footer, '\0', flen) || !parse_rule(footer, &z->rule) || !rule_in_range(&z->rule))
		return "invalid TZ string footer";
	z->has_rule = true;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Names, loading, cache                                               */
/* ------------------------------------------------------------------ */

/* Appends s quoted, escaping what a terminal or log should not see. */
static void add_quoted(struct weir_buf *err, const char *s)
{
	size_t i;

	weir_buf_addch(err, '"');
	for (i = 0; s[i] && i < 64; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			weir_buf_addf(err, "\\x%02X", ch);
		else
			weir_buf_addch(err, ch);
	}
	if (s[i])
		weir_buf_addstr(err, "...");
	weir_buf_addch(err, '"');
}

static int name_error(const char *name, const char *why, struct weir_buf *err)
{
	weir_buf_addstr(err, "invalid time zone name ");
	add_quoted(err, name);
	weir_buf_addf(err, ": %s", why);
	return WEIR_EINVALID;
}

/* Only names that cannot leave TZDIR or hit odd files get near open(). */
static int check_name(const char *name, struct weir_buf *err)
{
	size_t len = strlen(name);

	if (len == 0) {
		weir_buf_addstr(err, "time zone name is empty");
		return WEIR_EINVALID;
	}
	if (len > TZ_NAME_MAX)
		return name_error(name, "longer than 128 bytes", err);
	if (strstr(name, ".."))
		return name_error(name, "\"..\" is not allowed", err);
	if (name[0] == '/')
		return name_error(name, "must not start with '/'", err);
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '/' || ch == '_' || ch == '+' || ch == '-'))
			return name_error(name, "only letters, digits and /_+- are allowed", err);
		if (ch == '/' && (i + 1 == len || name[i + 1] == '/'))
			return name_error(name, "empty path component", err);
	}
	return 0;
}

static int load_zone(const char *name, struct weir_tz **out, struct weir_buf *err)
{
	struct weir_buf path = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf data = WEIR_BUF_INIT(TZ_FILE_MAX);
	struct weir_tz *z = weir_xcalloc(1, sizeof(*z));
	const char *dir = getenv("TZDIR"), *why;
	struct stat st;
	int fd = -1, rc;

	if (!dir || !*dir)
		dir = TZ_DEFAULT_DIR;
	weir_buf_addf(&path, "%s/%s", dir, name);
	/* O_NONBLOCK: never hang on a FIFO someone left in TZDIR. */
	fd = open(path.buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
	} else if (fstat(fd, &st) < 0) {
		rc = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		rc = -ENOENT; /* a directory such as "America" is not a zone */
	} else {
		rc = weir_buf_read_fd(&data, fd);
	}
	if (rc == -ENOENT || rc == -ENOTDIR) {
		weir_buf_addstr(err, "unknown time zone ");
		add_quoted(err, name);
		rc = WEIR_EINVALID;
		goto out;
	}
	if (rc == WEIR_ETOOBIG) {
		weir_buf_addf(err, "time zone file \"%s\" is too large", path.buf);
		rc = WEIR_EINVALID;
		goto out;
	}
	if (rc < 0) {
		weir_buf_addf(err, "could not read time zone file \"%s\": %s", path.buf,
			      strerror(-rc));
		rc = WEIR_EINVALID;
		goto out;
	}
	why = parse_tzif((const unsigned char *)data.buf, data.len, z);
	if (why) {
		weir_buf_addf(err, "invalid time zone file \"%s\": %s", path.buf, why);
		rc = WEIR_EINVALID;
		goto out;
	}
	z->name = weir_xstrdup(name);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	weir_buf_release(&path);
	weir_buf_release(&data);
	if (rc < 0) {
		zone_free(z);
		z = NULL;
	}
	*out = z;
	return rc;
}

/*
 * The cache is a list, newest first, guarded by cache_lock.  Zones are
 * loaded under the lock too: loads are rare (a few zones per process) and
 * this keeps two threads from loading the same zone twice.  Failures are
 * not cached, so a zone installed later can still be found.  Nothing is
 * ever removed, which is what lets weir_tz_get hand out borrowed pointers.
 */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct weir_tz *cache;

int weir_tz_get(const char *name, const struct weir_tz **out, struct weir_buf *err)
{
	struct weir_tz *z;
	int rc;

	/* UTC needs no file, so it works in minimal containers. */
	if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC") || !strcmp(name, "Z")) {
		*out = &utc_zone;
		return 0;
	}
	rc = check_name(name, err);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&cache_lock);
	for (z = cache; z; z = z->next)
		if (!strcmp(z->name, name))
			break;
	if (!z) {
		rc = load_zone(name, &z, err);
		if (rc == 0) {
			z->next = cache;
			cache = z;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	if (rc == 0)
		*out = z;
	return rc;
}

const struct weir_tz *weir_tz_utc(void)
{
	return &utc_zone;
}

const char *weir_tz_name(const struct weir_tz *tz)
{
	return tz->name;
}
