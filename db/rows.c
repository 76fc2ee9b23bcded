/*
 * rows.c: result rows -> JSON text, for the API's big reads.
 *
 * A row statement (queries.h, struct named_rows) selects one column per
 * field of a JSON object: the column's name is the key, and its type says
 * how the value is written.  Results come in binary format, so PostgreSQL
 * neither formats timestamps nor builds JSON; this file writes exactly
 * what json_build_object() wrote before (with TimeZone = UTC, which every
 * weir session sets), without the whitespace:
 *
 *   text, varchar, name  -> a JSON string, escaped as escape_json() does
 *   bool                 -> true / false
 *   int2, int4, int8     -> a number
 *   uuid                 -> a string (lowercase, with dashes)
 *   timestamptz          -> a string as PostgreSQL's JSON output writes it:
 *                           2026-11-23T10:00:00.5+00:00 (fraction without
 *                           trailing zeros, none when zero; " BC" after BC
 *                           years; "infinity", "-infinity")
 *   json, jsonb          -> the value's text, unchanged (jsonb's own
 *                           canonical text, as json_build_object gives it)
 *   SQL NULL             -> null
 *
 * Any other type is an error that names the column: a statement that
 * needs one (numeric, float) converts it in SQL, e.g. with to_json().
 *
 * Shapes of the answer:
 *
 *   object:  the first row as one object; no row is WEIR_ENOTFOUND.
 *   list:    {"LIST":[obj,...],"total_entries":N}.  Column 1 is the total
 *            (repeated on every row) and not part of the objects.  A page
 *            with no objects is one row whose column 2 is NULL (the
 *            statements produce it with a LEFT JOIN from the total), so
 *            column 2 must be NOT NULL in every real row.
 *
 *            A column whose name starts with '@' ("@states") is not part
 *            of the objects either: it becomes a member of the answer
 *            holding an array of that column's values, one per object, in
 *            the same order: {"LIST":[...],"states":[v1,...],...,
 *            "total_entries":N}.  For data that is per object but wanted
 *            column-wise (the grid: one array of task states per run), in
 *            the same statement, so it cannot disagree with the objects.
 *            Such columns must follow column 2 (a list only).
 *
 * The writer reserves a row's worst case once (6 bytes per text byte for
 * \u00XX escapes), then writes through a plain pointer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "db_int.h"

/* Type OIDs (pg_type.dat; fixed since PostgreSQL 7.x / 9.4 for jsonb). */
#define OID_BOOL 16
#define OID_NAME 19
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_JSON 114
#define OID_VARCHAR 1043
#define OID_TIMESTAMPTZ 1184
#define OID_UUID 2950
#define OID_JSONB 3802

/* Seconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_DAYS 10957

enum col_kind { COL_TEXT, COL_BOOL, COL_INT2, COL_INT4, COL_INT8, COL_UUID, COL_TS, COL_JSON, COL_JSONB };

struct col {
	enum col_kind kind;
	size_t key;     /* offset in the keys buffer of "name": (quoted, with the colon) */
	size_t key_len;
	bool side;      /* "@name": an array member of the answer, not an object field */
};

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* ------------------------------------------------------------------ */
/* values                                                               */
/* ------------------------------------------------------------------ */

/* Bytes that escape_json() writes as an escape sequence. */
static const unsigned char needs_escape[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
};

/* A JSON string, escaped as PostgreSQL's escape_json() does. */
static char *put_string(char *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	*o++ = '"';
	while (i < n) {
		size_t run = i;
		while (run < n && !needs_escape[(unsigned char)s[run]])
			run++;
		memcpy(o, s + i, run - i);
		o += run - i;
		if (run == n)
			break;
		unsigned char c = (unsigned char)s[run];
		*o++ = '\\';
		switch (c) {
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 15];
			o += 5;
		}
		i = run + 1;
	}
	*o++ = '"';
	return o;
}

static char *put_u64(char *o, uint64_t v, int min_digits)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < min_digits)
		tmp[n++] = '0';
	while (n)
		*o++ = tmp[--n];
	return o;
}

static char *put_i64(char *o, int64_t v)
{
	if (v < 0) {
		*o++ = '-';
		return put_u64(o, (uint64_t)0 - (uint64_t)v, 1);
	}
	return put_u64(o, (uint64_t)v, 1);
}

/* Two digits. */
static char *put2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
	return o + 2;
}

/*
 * A timestamptz (microseconds since 2000-01-01 UTC) as PostgreSQL's JSON
 * output writes it with TimeZone = UTC (JsonEncodeDateTime, USE_XSD_DATES).
 * At most 40 bytes.
 */
static char *put_ts(char *o, int64_t t)
{
	int64_t days, rem, year;
	unsigned month, day, secs, usec;

	if (t == INT64_MAX)
		return memcpy(o, "\"infinity\"", 10), o + 10;
	if (t == INT64_MIN)
		return memcpy(o, "\"-infinity\"", 11), o + 11;
	days = t / WEIR_US_PER_DAY;
	rem = t % WEIR_US_PER_DAY;
	if (rem < 0) {
		rem += WEIR_US_PER_DAY;
		days--;
	}
	weir_civil_from_days(days + PG_EPOCH_DAYS, &year, &month, &day);
	secs = (unsigned)(rem / WEIR_US_PER_SEC);
	usec = (unsigned)(rem % WEIR_US_PER_SEC);
	*o++ = '"';
	/* Year 0 is 1 BC (astronomical numbering in, BC years out). */
	o = put_u64(o, year > 0 ? (uint64_t)year : (uint64_t)(1 - year), 4);
	*o++ = '-';
	o = put2(o, month);
	*o++ = '-';
	o = put2(o, day);
	*o++ = 'T';
	o = put2(o, secs / 3600);
	*o++ = ':';
	o = put2(o, secs / 60 % 60);
	*o++ = ':';
	o = put2(o, secs % 60);
	if (usec) {
		int digits = 6;
		while (usec % 10 == 0) {
			usec /= 10;
			digits--;
		}
		*o++ = '.';
		o = put_u64(o, usec, digits);
	}
	memcpy(o, "+00:00", 6);
	o += 6;
	if (year <= 0) {
		memcpy(o, " BC", 3);
		o += 3;
	}
	*o++ = '"';
	return o;
}

static char *put_uuid(char *o, const unsigned char *u)
{
	static const char hex[] = "0123456789abcdef";

	*o++ = '"';
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[u[i] >> 4];
		*o++ = hex[u[i] & 15];
	}
	*o++ = '"';
	return o;
}

/* The most bytes one value of a column can take. */
static size_t value_bound(const struct col *c, size_t len)
{
	switch (c->kind) {
	case COL_TEXT:
		return 6 * len + 2;
	case COL_JSON:
	case COL_JSONB:
		return len + 4;
	default:
		return 48; /* numbers, uuid, timestamps, "null" */
	}
}

/* Writes one value (not NULL); returns the new end, or NULL when the
 * binary value has the wrong size for its type. */
static char *put_value(char *o, const struct col *c, const char *v, size_t len)
{
	const unsigned char *u = (const unsigned char *)v;

	switch (c->kind) {
	case COL_TEXT:
		return put_string(o, v, len);
	case COL_BOOL:
		if (len != 1)
			return NULL;
		if (u[0])
			return memcpy(o, "true", 4), o + 4;
		return memcpy(o, "false", 5), o + 5;
	case COL_INT2:
		return len == 2 ? put_i64(o, (int16_t)be(u, 2)) : NULL;
	case COL_INT4:
		return len == 4 ? put_i64(o, (int32_t)be(u, 4)) : NULL;
	case COL_INT8:
		return len == 8 ? put_i64(o, (int64_t)be(u, 8)) : NULL;
	case COL_UUID:
		return len == 16 ? put_uuid(o, u) : NULL;
	case COL_TS:
		return len == 8 ? put_ts(o, (int64_t)be(u, 8)) : NULL;
	case COL_JSONB:
		/* Version byte 1, then the text. */
		if (len < 1 || u[0] != 1)
			return NULL;
		v++;
		len--;
		/* fall through */
	case COL_JSON:
		memcpy(o, v, len);
		return o + len;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* rows                                                                 */
/* ------------------------------------------------------------------ */

/* Column kinds and their "key": prefixes, from the result's description.
 * list: whether '@' columns are allowed. */
static int describe(const PGresult *res, struct col *cols, struct weir_buf *keys, bool list,
		    const char *what, struct weir_buf *err)
{
	int n = PQnfields(res);

	for (int i = 0; i < n; i++) {
		struct col *c = &cols[i];
		const char *name = PQfname(res, i);
		size_t len = strlen(name);
		char *o;

		c->side = name[0] == '@';
		if (c->side && (!list || i < 2)) {
			weir_buf_addf(err, "query \"%s\": column \"%s\" is an array member, which only a list's"
				      " columns after the second can be", what, name);
			return WEIR_EDB;
		}
		if (c->side) {
			name++;
			len--;
		}

		switch (PQftype(res, i)) {
		case OID_TEXT:
		case OID_VARCHAR:
		case OID_NAME: c->kind = COL_TEXT; break;
		case OID_BOOL: c->kind = COL_BOOL; break;
		case OID_INT2: c->kind = COL_INT2; break;
		case OID_INT4: c->kind = COL_INT4; break;
		case OID_INT8: c->kind = COL_INT8; break;
		case OID_UUID: c->kind = COL_UUID; break;
		case OID_TIMESTAMPTZ: c->kind = COL_TS; break;
		case OID_JSON: c->kind = COL_JSON; break;
		case OID_JSONB: c->kind = COL_JSONB; break;
		default:
			weir_buf_addf(err, "query \"%s\": column \"%s\" has type %u, which db/rows.c does not write",
				      what, name, (unsigned)PQftype(res, i));
			return WEIR_EDB;
		}
		if (PQfformat(res, i) != 1) {
			weir_buf_addf(err, "query \"%s\": column \"%s\" is not in binary format", what, name);
			return WEIR_EDB;
		}
		weir_buf_grow(keys, 6 * len + 4);
		c->key = keys->len;
		o = put_string(keys->buf + keys->len, name, len);
		*o++ = ':';
		c->key_len = (size_t)(o - (keys->buf + keys->len));
		keys->len += c->key_len;
		keys->buf[keys->len] = '\0';
	}
	return 0;
}

/* Writes column i of row r at o (null for SQL NULL): the end, or NULL
 * for a malformed value.  The caller reserved value_bound() bytes. */
static char *put_field(char *o, const PGresult *res, int r, int i, const struct col *c)
{
	if (PQgetisnull(res, r, i)) {
		memcpy(o, "null", 4);
		return o + 4;
	}
	return put_value(o, c, PQgetvalue(res, r, i), (size_t)PQgetlength(res, r, i));
}

/* Drops what a failed row or cell wrote (out keeps its length) and says
 * which column was malformed. */
static int malformed(const PGresult *res, int i, struct weir_buf *out, const char *what,
		     struct weir_buf *err)
{
	out->buf[out->len] = '\0';
	weir_buf_addf(err, "query \"%s\": column \"%s\" has a malformed binary value", what,
		      PQfname(res, i));
	return WEIR_EDB;
}

/* Appends row r's columns [first, n) as one object. */
static int put_row(const PGresult *res, int r, int first, const struct col *cols, const char *keys,
		   struct weir_buf *out, const char *what, struct weir_buf *err)
{
	int n = PQnfields(res);
	size_t need = 2;
	char *o;
	int rc;

	for (int i = first; i < n; i++)
		if (!cols[i].side)
			need += 1 + cols[i].key_len + value_bound(&cols[i], (size_t)PQgetlength(res, r, i));
	rc = weir_buf_grow(out, need);
	if (rc < 0)
		return rc;
	o = out->buf + out->len;
	*o++ = '{';
	for (int i = first, any = 0; i < n; i++) {
		if (cols[i].side)
			continue;
		if (any++)
			*o++ = ',';
		memcpy(o, keys + cols[i].key, cols[i].key_len);
		o += cols[i].key_len;
		o = put_field(o, res, r, i, &cols[i]);
		if (!o)
			return malformed(res, i, out, what, err);
	}
	*o++ = '}';
	*o = '\0';
	out->len = (size_t)(o - out->buf);
	return 0;
}

/* Appends column i of row r as one value (null for SQL NULL). */
static int put_cell(const PGresult *res, int r, int i, const struct col *c, struct weir_buf *out,
		    const char *what, struct weir_buf *err)
{
	size_t len = (size_t)PQgetlength(res, r, i);
	char *o;
	int rc = weir_buf_grow(out, value_bound(c, len) + 1);

	if (rc < 0)
		return rc;
	o = put_field(out->buf + out->len, res, r, i, c);
	if (!o)
		return malformed(res, i, out, what, err);
	*o = '\0';
	out->len = (size_t)(o - out->buf);
	return 0;
}

int pg_rows_json(const PGresult *res, const char *list, const char *what, struct weir_buf *out,
		 struct weir_buf *err)
{
	struct weir_buf keys = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int n = PQnfields(res), rows = PQntuples(res);
	struct col *cols = NULL;
	char total[48], *end;
	int rc;

	if (n < (list ? 2 : 1)) {
		weir_buf_addf(err, "query \"%s\" returned %d columns", what, n);
		return WEIR_EDB;
	}
	if (!list && rows == 0)
		return WEIR_ENOTFOUND;
	if (list && rows == 0) {
		weir_buf_addf(err, "query \"%s\" returned no row (a list has at least its total)", what);
		return WEIR_EDB;
	}
	cols = weir_xcalloc((size_t)n, sizeof(*cols));
	rc = describe(res, cols, &keys, list != NULL, what, err);
	if (rc < 0)
		goto out;
	if (!list) {
		rc = put_row(res, 0, 0, cols, keys.buf, out, what, err);
		goto out;
	}
	/* Column 1: the total, a number. */
	if ((cols[0].kind != COL_INT4 && cols[0].kind != COL_INT8) || PQgetisnull(res, 0, 0)) {
		weir_buf_addf(err, "query \"%s\": column 1 is not an int4/int8 total", what);
		rc = WEIR_EDB;
		goto out;
	}
	end = put_value(total, &cols[0], PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	if (!end) {
		weir_buf_addf(err, "query \"%s\": malformed total", what);
		rc = WEIR_EDB;
		goto out;
	}
	rc = weir_buf_addf(out, "{\"%s\":[", list);
	for (int r = 0, any = 0; r < rows && rc == 0; r++) {
		if (PQgetisnull(res, r, 1))
			continue; /* the empty page's one row */
		if (any++)
			rc = weir_buf_addch(out, ',');
		if (rc == 0)
			rc = put_row(res, r, 1, cols, keys.buf, out, what, err);
	}
	if (rc == 0)
		rc = weir_buf_addch(out, ']');
	/* The '@' columns, each as an array over the same rows. */
	for (int i = 2; i < n && rc == 0; i++) {
		if (!cols[i].side)
			continue;
		rc = weir_buf_addch(out, ',');
		if (rc == 0)
			rc = weir_buf_add(out, keys.buf + cols[i].key, cols[i].key_len);
		if (rc == 0)
			rc = weir_buf_addch(out, '[');
		for (int r = 0, any = 0; r < rows && rc == 0; r++) {
			if (PQgetisnull(res, r, 1))
				continue;
			if (any++)
				rc = weir_buf_addch(out, ',');
			if (rc == 0)
				rc = put_cell(res, r, i, &cols[i], out, what, err);
		}
		if (rc == 0)
			rc = weir_buf_addch(out, ']');
	}
	if (rc == 0)
		rc = weir_buf_addstr(out, ",\"total_entries\":");
	if (rc == 0)
		rc = weir_buf_add(out, total, (size_t)(end - total));
	if (rc == 0)
		rc = weir_buf_addch(out, '}');
out:
	if (rc == WEIR_ETOOBIG)
		weir_buf_addf(err, "query \"%s\": the answer is too large", what);
	free(cols);
	weir_buf_release(&keys);
	return rc;
}
