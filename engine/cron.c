/*
 * cron.c: parsing 5-field cron expressions and enumerating their fire times.
 *
 * The model.  An expression matches a set W of wall-clock minutes (civil
 * times, no zone).  Each w in W becomes one instant
 *
 *   f(w) = weir_tz_resolve(tz, w)[0]
 *
 * i.e. the instant of w, its first occurrence when the clocks went back, or
 * the instant of the jump when the clocks skipped over it.  The fire times
 * are the set F = { f(w) : w in W }; several w may give the same instant (a
 * skipped hour) and then fire once.  For real zones f is non-decreasing in
 * w: f(w) is the first instant at which the wall clock reaches w.  So:
 *
 *   next(t) = f(w) for the first w in W with f(w) > t.  Every w <= wall(t)
 *             has f(w) <= t, so the walk starts just above wall(t) and only
 *             skips w whose first occurrence already passed (the repeated
 *             hour after clocks went back: at most an hour of minutes).
 *   prev(t) = f(w) for the last w in W with f(w) < t.  The walk starts at
 *             wall(t - 1).  If t - 1 is the second pass of a repeated hour,
 *             wall times above wall(t - 1) may have fired during the first
 *             pass; those are found by stepping next() forward from the
 *             candidate while it stays below t.
 *
 * Both directions enumerate the same F, which gives next(prev(t)) >= t and
 * prev(next(t)) <= t with equality on F, e.g. next(f - 1us) == f.
 *
 * The walk over W never steps minute by minute across empty stretches: it
 * jumps to the next matching month, day, hour and minute using the bitmasks
 * (find-first-set), so a call costs a handful of civil-date conversions plus
 * one or two span lookups in the zone.  The search ends after 30 years of
 * wall time (WEIR_ENOTFOUND); the parser rejects expressions that can never
 * match, and no valid one goes more than 12 years without firing ("0 0 *\/30
 * 2 6": February 1 on a Saturday, across 2100).
 */
#include "engine/cron.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"

#include "common/banned.h"

#define CRON_SEARCH_YEARS 30

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct field {
	const char *name;
	unsigned lo, hi;  /* values accepted */
	unsigned star_hi; /* where `*` and `a/n` end (6 for day-of-week) */
	const char *const *names; /* names[i] is value i + name_base */
	unsigned nnames, name_base;
};

static const struct field fields[5] = {
	{"minute", 0, 59, 59, NULL, 0, 0},
	{"hour", 0, 23, 23, NULL, 0, 0},
	{"day-of-month", 1, 31, 31, NULL, 0, 0},
	{"month", 1, 12, 12, month_names, 12, 1},
	{"day-of-week", 0, 7, 6, dow_names, 7, 0},
};

struct parser {
	const char *expr;
	size_t *err_off;
	struct weir_buf *err;
};

static int fail(struct parser *p, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, const char *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	weir_buf_vaddf(p->err, fmt, ap);
	va_end(ap);
	if (p->err_off)
		*p->err_off = (size_t)(at - p->expr);
	return WEIR_EINVALID;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Describes c for a message: 'x', or \xNN when unprintable. */
static const char *char_desc(char c, char buf[8])
{
	unsigned char u = (unsigned char)c;
	if (u >= 0x20 && u < 0x7f && u != '\'')
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "\\x%02X", u);
	return buf;
}

/*
 * Reads a number or a name at *sp into *v.  Numbers saturate at 1e9 so an
 * absurd literal is reported as out of range, not silently wrapped.
 */
static int parse_value(struct parser *p, const struct field *f, const char **sp, const char *end,
		       unsigned *v)
{
	const char *s = *sp, *start = s;
	char cbuf[8];

	if (s < end && is_digit(*s)) {
		unsigned long long n = 0;
		for (; s < end && is_digit(*s); s++)
			if (n < 1000000000ULL)
				n = n * 10 + (unsigned)(*s - '0');
		if (n < f->lo || n > f->hi)
			return fail(p, start, "%s field: %.*s%s is out of range %u-%u", f->name,
				    (int)(s - start > 20 ? 20 : s - start), start,
				    s - start > 20 ? "..." : "", f->lo, f->hi);
		*v = (unsigned)n;
		*sp = s;
		return 0;
	}
	if (s < end && is_alpha(*s)) {
		for (; s < end && is_alpha(*s); s++)
			;
		for (unsigned i = 0; i < f->nnames && s - start == 3; i++) {
			if (upper(start[0]) == f->names[i][0] && upper(start[1]) == f->names[i][1] &&
			    upper(start[2]) == f->names[i][2]) {
				*v = i + f->name_base;
				*sp = s;
				return 0;
			}
		}
		if (s - start > 32)
			s = start + 32;
		if (!f->names)
			return fail(p, start, "%s field: \"%.*s\" is not a number", f->name,
				    (int)(s - start), start);
		return fail(p, start, "%s field: unknown name \"%.*s\"", f->name, (int)(s - start),
			    start);
	}
	if (s >= end)
		return fail(p, s, "%s field: expected a value at the end of the field", f->name);
	return fail(p, s, "%s field: expected a number, a name or '*', found %s", f->name,
		    char_desc(*s, cbuf));
}

/* Writes value v as the user did: a name if they used names, else a number. */
static void add_value(struct weir_buf *b, const struct field *f, bool name, unsigned v)
{
	if (name && f->names)
		weir_buf_addstr(b, f->names[(v - f->name_base) % f->nnames]);
	else
		weir_buf_addf(b, "%u", v);
}

/*
 * "22-2" is a common attempt at a wrap-around range.  Reject it, and
 * spell out the list that says what the user probably meant.
 */
static int backwards(struct parser *p, const struct field *f, const char *item, const char *bs,
		     const char *s, unsigned a, unsigned b)
{
	bool names = is_alpha(*item);
	unsigned top = f->star_hi, bottom = f->lo;

	fail(p, item, "%s field: range %.*s-%.*s goes backwards; use a list such as ", f->name,
	     (int)(bs - 1 - item), item, (int)(s - bs), bs);
	if (a > top) /* only day-of-week 7 */
		top = a;
	add_value(p->err, f, names, a);
	if (a < top) {
		weir_buf_addch(p->err, '-');
		add_value(p->err, f, names, top);
	}
	weir_buf_addch(p->err, ',');
	add_value(p->err, f, names, bottom);
	if (bottom < b) {
		weir_buf_addch(p->err, '-');
		add_value(p->err, f, names, b);
	}
	return WEIR_EINVALID;
}

/* One field [s, end) into a bitmask (bit v: value v matches). */
static int parse_field(struct parser *p, const struct field *f, const char *s, const char *end,
		       uint64_t *mask)
{
	char cbuf[8];
	uint64_t m = 0;
	int rc;

	for (;;) {
		const char *item = s, *step_at;
		unsigned a, b, step = 1;
		bool single = false;

		if (s == end || *s == ',')
			return fail(p, s, "%s field: empty list item", f->name);
		if (*s == '*') {
			a = f->lo;
			b = f->star_hi;
			s++;
		} else {
			rc = parse_value(p, f, &s, end, &a);
			if (rc < 0)
				return rc;
			b = a;
			single = true;
			if (s < end && *s == '-') {
				const char *bs = ++s;
				if (s == end || !(is_digit(*s) || is_alpha(*s)))
					return fail(p, s, "%s field: expected a value after '-'",
						    f->name);
				rc = parse_value(p, f, &s, end, &b);
				if (rc < 0)
					return rc;
				if (a > b)
					return backwards(p, f, item, bs, s, a, b);
				single = false;
			}
		}
		if (s < end && *s == '/') {
			unsigned long long n = 0;
			step_at = ++s;
			if (s == end || !is_digit(*s))
				return fail(p, s, "%s field: expected a number after '/'", f->name);
			for (; s < end && is_digit(*s); s++)
				if (n < 1000000000ULL)
					n = n * 10 + (unsigned)(*s - '0');
			if (n < 1)
				return fail(p, step_at, "%s field: step must be at least 1", f->name);
			if (n > f->hi)
				return fail(p, step_at, "%s field: step %.*s%s is out of range 1-%u",
					    f->name, (int)(s - step_at > 20 ? 20 : s - step_at),
					    step_at, s - step_at > 20 ? "..." : "", f->hi);
			step = (unsigned)n;
			if (single) /* "a/n": from a to the end of the field */
				b = f->star_hi < a ? a : f->star_hi;
		}
		for (unsigned v = a; v <= b; v += step)
			m |= UINT64_C(1) << v;
		if (s == end)
			break;
		if (*s != ',')
			return fail(p, s, "%s field: unexpected %s", f->name, char_desc(*s, cbuf));
		s++;
	}
	*mask = m;
	return 0;
}

struct preset {
	const char *name;
	const char *expr; /* NULL: @once */
};

static const struct preset presets[] = {
	{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"},  {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},  {"@once", NULL},
};

static int parse_fields(struct parser *p, const char *expr, struct weir_cron *out);

static int parse_preset(struct parser *p, const char *s, struct weir_cron *out)
{
	const char *start = s, *rest;
	size_t n;

	while (*s && !is_space(*s))
		s++;
	n = (size_t)(s - start);
	for (rest = s; is_space(*rest); rest++)
		;
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(presets); i++) {
		if (strlen(presets[i].name) != n || strncasecmp(presets[i].name, start, n) != 0)
			continue;
		if (*rest)
			return fail(p, rest, "unexpected text after \"%s\"", presets[i].name);
		if (!presets[i].expr) {
			memset(out, 0, sizeof(*out));
			out->flags = WEIR_CRON_ONCE;
			return 0;
		}
		/* A preset is its expansion; the expansion is known to be valid. */
		return parse_fields(&(struct parser){presets[i].expr, NULL, p->err}, presets[i].expr,
				    out);
	}
	fail(p, start, "unknown preset \"");
	for (size_t i = 0; i < n && i < 32; i++) {
		unsigned char u = (unsigned char)start[i];
		if (u < 0x20 || u >= 0x7f || u == '"' || u == '\\')
			weir_buf_addf(p->err, "\\x%02X", u);
		else
			weir_buf_addch(p->err, u);
	}
	weir_buf_addstr(p->err, n > 32 ? "...\"" : "\"");
	return WEIR_EINVALID;
}

/*
 * "0 0 30 2 *" is syntactically fine but never fires.  Only the AND rule
 * with an unrestricted weekday can be empty: when day-of-month starts with
 * '*' it contains day 1, and with the OR rule every month has weekdays.
 */
static int check_fires(struct parser *p, const char *dom_at, const struct weir_cron *c)
{
	static const unsigned max_dim[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned first_dom = (unsigned)__builtin_ctz(c->dom), m, nbad = 0;
	struct weir_buf months = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc;

	if (!(c->flags & WEIR_CRON_DOW_STAR) || (c->flags & WEIR_CRON_DOM_STAR))
		return 0;
	for (m = 1; m <= 12; m++) {
		if (!(c->month >> m & 1))
			continue;
		if (first_dom <= max_dim[m]) {
			weir_buf_release(&months);
			return 0;
		}
		weir_buf_addf(&months, "%s%s", nbad++ ? ", " : "", month_names[m - 1]);
	}
	rc = fail(p, dom_at, "never fires: day-of-month %u does not occur in month%s %s", first_dom,
		  nbad > 1 ? "s" : "", months.buf);
	weir_buf_release(&months);
	return rc;
}

static int parse_fields(struct parser *p, const char *expr, struct weir_cron *out)
{
	const char *start[5], *end[5], *s = expr, *extra = NULL;
	uint64_t masks[5];
	struct weir_cron c = {0};
	int n = 0, rc;

	for (;;) {
		while (is_space(*s))
			s++;
		if (!*s)
			break;
		if (n < 5) {
			start[n] = s;
		} else if (!extra) {
			extra = s;
		}
		while (*s && !is_space(*s))
			s++;
		if (n < 5)
			end[n] = s;
		n++;
	}
	if (n == 0)
		return fail(p, s, "cron expression is empty");
	if (n > 5)
		return fail(p, extra, "expected 5 fields, found %d", n);
	if (n < 5)
		return fail(p, s, "expected 5 fields, found %d", n);
	for (int i = 0; i < 5; i++) {
		rc = parse_field(p, &fields[i], start[i], end[i], &masks[i]);
		if (rc < 0)
			return rc;
	}
	c.minute = masks[0];
	c.hour = (uint32_t)masks[1];
	c.dom = (uint32_t)masks[2];
	c.month = (uint16_t)masks[3];
	/* Weekday 7 is Sunday. */
	c.dow = (uint8_t)((masks[4] | masks[4] >> 7) & 0x7f);
	if (*start[2] == '*')
		c.flags |= WEIR_CRON_DOM_STAR;
	if (*start[4] == '*')
		c.flags |= WEIR_CRON_DOW_STAR;
	rc = check_fires(p, start[2], &c);
	if (rc < 0)
		return rc;
	*out = c;
	return 0;
}

int weir_cron_parse(const char *expr, struct weir_cron *out, size_t *err_off, struct weir_buf *err)
{
	struct parser p = {expr, err_off, err};
	const char *s = expr;

	while (is_space(*s))
		s++;
	if (*s == '@')
		return parse_preset(&p, s, out);
	return parse_fields(&p, expr, out);
}

/* ------------------------------------------------------------------ */
/* Walking the matching wall-clock minutes                             */
/* ------------------------------------------------------------------ */

/* Masks restricted to valid bits, so a hand-built struct cannot misbehave. */
struct sched {
	uint64_t minute; /* bits 0..59 */
	uint32_t hour;   /* bits 0..23 */
	uint32_t dom;    /* bits 1..31 */
	uint32_t month;  /* bits 1..12 */
	uint32_t dow;    /* bits 0..6, repeated in 7..13 for cyclic search */
	bool either;     /* Vixie OR rule: both day fields restricted */
};

/* Lowest set bit >= k, or -1. */
static int bit_at_or_after(uint64_t m, int k)
{
	if (k > 63)
		return -1;
	if (k > 0)
		m &= ~UINT64_C(0) << k;
	return m ? __builtin_ctzll(m) : -1;
}

/* Highest set bit <= k, or -1. */
static int bit_at_or_before(uint64_t m, int k)
{
	if (k < 0)
		return -1;
	if (k < 63)
		m &= (UINT64_C(2) << k) - 1;
	return m ? 63 - __builtin_clzll(m) : -1;
}

static bool day_ok(const struct sched *s, int d, unsigned wd)
{
	bool dom = s->dom >> d & 1, dow = s->dow >> wd & 1;
	return s->either ? (dom || dow) : (dom && dow);
}

/*
 * The first matching day >= d in a month of dim days whose day 1 falls on
 * weekday wd1, or 0.  Jumps between candidate days: the next day-of-month
 * bit and the next weekday bit; with the OR rule the nearer one, with the
 * AND rule the farther one (then re-checked).
 */
static int day_at_or_after(const struct sched *s, int d, int dim, unsigned wd1)
{
	while (d <= dim) {
		unsigned wd = (wd1 + (unsigned)d - 1) % 7;
		int nd, nw, k;

		if (day_ok(s, d, wd))
			return d;
		nd = bit_at_or_after(s->dom, d + 1);
		k = bit_at_or_after(s->dow, (int)wd + 1);
		nw = k < 0 ? -1 : d + k - (int)wd;
		if (s->either)
			d = nd < 0 ? nw : nw < 0 ? nd : nd < nw ? nd : nw;
		else
			d = nd < 0 || nw < 0 ? -1 : nd > nw ? nd : nw;
		if (d < 0)
			return 0;
	}
	return 0;
}

/* The last matching day <= d (d >= 1), or 0. */
static int day_at_or_before(const struct sched *s, int d, unsigned wd1)
{
	while (d >= 1) {
		unsigned wd = (wd1 + (unsigned)d - 1) % 7;
		int nd, nw, k;

		if (day_ok(s, d, wd))
			return d;
		nd = bit_at_or_before(s->dom, d - 1);
		/* weekday bits mirrored in 7..13: search below wd + 7 */
		k = bit_at_or_before(s->dow, (int)wd + 6);
		nw = k < 0 ? -1 : d - ((int)wd + 7 - k);
		if (nd == 0)
			nd = -1; /* bit 0 of dom is never set, but be explicit */
		if (s->either)
			d = nd < 0 ? nw : nw < 0 ? nd : nd > nw ? nd : nw;
		else
			d = nd < 0 || nw < 0 ? -1 : nd < nw ? nd : nw;
		if (d < 1)
			return 0;
	}
	return 0;
}

static unsigned weekday_of(int64_t y, unsigned m, unsigned d)
{
	return weir_weekday_from_days(weir_days_from_civil(y, m, d));
}

static int64_t wall_of(int64_t y, int mo, int d, int h, int mi)
{
	return weir_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60;
}

static void civil_of(int64_t w, int64_t *y, int *mo, int *d, int *h, int *mi)
{
	int64_t days = w / 86400, rem;
	unsigned um, ud;

	if (w % 86400 < 0)
		days--;
	rem = w - days * 86400;
	weir_civil_from_days(days, y, &um, &ud);
	*mo = (int)um;
	*d = (int)ud;
	*h = (int)(rem / 3600);
	*mi = (int)(rem / 60 % 60);
}

/* The first matching wall minute >= w (w on a minute), or false past year y_max. */
static bool match_at_or_after(const struct sched *s, int64_t w, int64_t y_max, int64_t *out)
{
	int64_t y;
	int mo, d, h, mi, k;

	civil_of(w, &y, &mo, &d, &h, &mi);
	for (;;) {
		if (y > y_max)
			return false;
		k = bit_at_or_after(s->month, mo);
		if (k < 0) {
			y++, mo = 1, d = 1, h = 0, mi = 0;
			continue;
		}
		if (k != mo)
			mo = k, d = 1, h = 0, mi = 0;
		k = day_at_or_after(s, d, (int)weir_days_in_month(y, (unsigned)mo),
				    weekday_of(y, (unsigned)mo, 1));
		if (k == 0) {
			if (++mo > 12)
				y++, mo = 1;
			d = 1, h = 0, mi = 0;
			continue;
		}
		if (k != d)
			d = k, h = 0, mi = 0;
		k = bit_at_or_after(s->hour, h);
		if (k < 0) {
			d++, h = 0, mi = 0;
			continue;
		}
		if (k != h)
			h = k, mi = 0;
		k = bit_at_or_after(s->minute, mi);
		if (k < 0) {
			h++, mi = 0;
			continue;
		}
		*out = wall_of(y, mo, d, h, k);
		return true;
	}
}

/* The last matching wall minute <= w (w on a minute), or false before year y_min. */
static bool match_at_or_before(const struct sched *s, int64_t w, int64_t y_min, int64_t *out)
{
	int64_t y;
	int mo, d, h, mi, k, dim;

	civil_of(w, &y, &mo, &d, &h, &mi);
	for (;;) {
		if (y < y_min)
			return false;
		k = bit_at_or_before(s->month, mo);
		if (k < 1) {
			y--, mo = 12, d = 31, h = 23, mi = 59;
			continue;
		}
		if (k != mo)
			mo = k, d = 31, h = 23, mi = 59;
		dim = (int)weir_days_in_month(y, (unsigned)mo);
		if (d > dim)
			d = dim, h = 23, mi = 59;
		k = d < 1 ? 0 : day_at_or_before(s, d, weekday_of(y, (unsigned)mo, 1));
		if (k == 0) {
			if (--mo < 1)
				y--, mo = 12;
			d = 31, h = 23, mi = 59;
			continue;
		}
		if (k != d)
			d = k, h = 23, mi = 59;
		k = bit_at_or_before(s->hour, h);
		if (k < 0) {
			d--, h = 23, mi = 59;
			continue;
		}
		if (k != h)
			h = k, mi = 59;
		k = bit_at_or_before(s->minute, mi);
		if (k < 0) {
			h--, mi = 59;
			continue;
		}
		*out = wall_of(y, mo, d, h, k);
		return true;
	}
}

static bool sched_init(const struct weir_cron *c, struct sched *s)
{
	uint32_t dow = c->dow & 0x7f;

	if (c->flags & WEIR_CRON_ONCE)
		return false;
	s->minute = c->minute & ((UINT64_C(1) << 60) - 1);
	s->hour = c->hour & 0xffffff;
	s->dom = c->dom & 0xfffffffe;
	s->month = c->month & 0x1ffe;
	s->dow = dow | dow << 7;
	s->either = !(c->flags & (WEIR_CRON_DOM_STAR | WEIR_CRON_DOW_STAR));
	return s->minute && s->hour && s->month && (s->dom || s->dow);
}

/* ------------------------------------------------------------------ */
/* Fire times                                                          */
/* ------------------------------------------------------------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b) != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t year_of(int64_t w)
{
	int64_t y;
	unsigned m, d;
	weir_civil_from_days(floor_div(w, 86400), &y, &m, &d);
	return y;
}

/* The instant a matching wall time fires at (see the file comment). */
static int64_t fire_at(const struct weir_tz *tz, int64_t w)
{
	int64_t out[2];
	weir_tz_resolve(tz, w, out);
	return out[0];
}

/* next() in seconds: the first fire time > t. */
static int next_sec(const struct sched *s, const struct weir_tz *tz, int64_t t, int64_t *out)
{
	int64_t w = floor_div(t + weir_tz_offset(tz, t, NULL), 60) * 60 + 60;
	int64_t y_max = year_of(w) + CRON_SEARCH_YEARS, f;

	for (;;) {
		if (!match_at_or_after(s, w, y_max, &w))
			return WEIR_ENOTFOUND;
		f = fire_at(tz, w);
		if (f > t)
			break;
		w += 60; /* first occurrence already passed: a repeated hour */
	}
	*out = f;
	return 0;
}

/* The instant range in which fire times convert to microseconds. */
#define SEC_MAX (INT64_MAX / WEIR_US_PER_SEC - 1)
#define SEC_MIN (INT64_MIN / WEIR_US_PER_SEC + 1)

int weir_cron_next(const struct weir_cron *c, const struct weir_tz *tz, int64_t after_us,
		   int64_t *next_us)
{
	struct sched s;
	int64_t f;
	int rc;

	if (!sched_init(c, &s))
		return WEIR_ENOTFOUND;
	rc = next_sec(&s, tz, floor_div(after_us, WEIR_US_PER_SEC), &f);
	if (rc < 0 || f > SEC_MAX)
		return WEIR_ENOTFOUND;
	*next_us = f * WEIR_US_PER_SEC;
	return 0;
}

int weir_cron_prev(const struct weir_cron *c, const struct weir_tz *tz, int64_t before_us,
		   int64_t *prev_us)
{
	struct sched s;
	int64_t t, last, l, w, y_min, f, g, out[2];

	if (!sched_init(c, &s))
		return WEIR_ENOTFOUND;
	/* f * 1e6 < before_us  <=>  f < ceil(before_us / 1e6) = t */
	t = -floor_div(-(before_us == INT64_MIN ? before_us + 1 : before_us), WEIR_US_PER_SEC);
	last = t - 1;
	l = last + weir_tz_offset(tz, last, NULL);
	w = floor_div(l, 60) * 60;
	y_min = year_of(w) - CRON_SEARCH_YEARS;
	for (;;) {
		if (!match_at_or_before(&s, w, y_min, &w))
			return WEIR_ENOTFOUND;
		f = fire_at(tz, w);
		if (f < t)
			break;
		w -= 60; /* only in zones with odd histories */
	}
	/*
	 * If `last` is the second pass of a repeated hour, wall times between
	 * l and the end of the first pass fired before t as well.
	 */
	if (weir_tz_resolve(tz, l, out) == 2 && out[0] != last) {
		while (next_sec(&s, tz, f, &g) == 0 && g < t)
			f = g;
	}
	if (f < SEC_MIN)
		return WEIR_ENOTFOUND;
	*prev_us = f * WEIR_US_PER_SEC;
	return 0;
}
