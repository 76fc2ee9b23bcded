/*
 * template.c: the {{ expression | filter }} renderer for task configuration.
 *
 * The language and its guarantees are described in template.h and in
 * docs/internals/template.md.  This file has three parts:
 *
 *   parser     parse_next() finds the next "{{" after a position and parses
 *              one expression up to its "}}" into a struct expr (offsets
 *              into the template, nothing allocated).  It validates
 *              everything that does not need a context: syntax and filter
 *              names.
 *   values     a sink (the current output buffer plus a sticky error) and
 *              writers for scalars, JSON strings and whole JSON trees.
 *   passes     weir_template_render() and weir_template_check() both run
 *              the parser over the whole template first (pass 1), so every
 *              syntax or filter error is reported before any variable is
 *              looked up, then walk it again (pass 2) to look up variables
 *              and render, or to report paths.  Both functions therefore
 *              report the same first error for the same template.
 *
 * Invariants:
 *   - No recursion: JSON trees are encoded with an explicit stack capped at
 *     WEIR_TEMPLATE_MAX_DEPTH levels, which also bounds cyclic values.
 *   - Every byte written goes through a struct weir_buf whose limit is the
 *     room left in the caller's output, so no intermediate value can grow
 *     past what the caller allowed (`| json` doubles backslashes, so a
 *     chain of them would otherwise grow exponentially).  This is exact
 *     because every filter's output is at least as long as its input.
 *   - Time is linear in the template length plus the size of what is
 *     written; each filter in a chain rereads the previous result once.
 */
#include "engine/template.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/str.h"
#include "common/xalloc.h"

#include "common/banned.h"

/*
 * Deepest array/object nesting a rendered value may have.  The same as
 * jansson's parser limit (JSON_PARSER_MAX_DEPTH), so any context that came
 * from json_loads() renders; only hand-built (or cyclic) values hit it.
 */
#define WEIR_TEMPLATE_MAX_DEPTH 2048

/* ------------------------------------------------------------------------ */
/* Parser                                                                   */
/* ------------------------------------------------------------------------ */

enum filter {
	FILTER_JSON,
	FILTER_SH,
	FILTER_URL,
	FILTER_UPPER,
	FILTER_LOWER,
};

/* Indexed by enum filter; NULL-terminated for weir_str_suggest(). */
static const char *const filter_names[] = {"json", "sh", "url", "upper", "lower", NULL};

/*
 * One parsed "{{ ... }}".  Offsets are into the template:
 *
 *   {{  params.area  | json | sh }}
 *   ^   ^            ^            ^
 *   |   arg          filters      end (just past "}}")
 *   start
 */
struct expr {
	size_t start;   /* offset of "{{" */
	size_t end;     /* offset just past "}}" */
	size_t arg;     /* offset of the path, or of a literal's first content byte */
	size_t arg_len; /* length of the path or of the literal's contents */
	bool literal;   /* arg is a quoted string's contents, not a path */
	size_t filters; /* offset after the expression: the first '|' or the "}}" */
};

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(int c)
{
	return is_ident_start(c) || is_digit(c) || c == '-';
}

static size_t skip_space(const char *tpl, size_t i)
{
	while (is_space((unsigned char)tpl[i]))
		i++;
	return i;
}

/* Length of the identifier [A-Za-z_][A-Za-z0-9_-]* at s, or 0. */
static size_t ident_len(const char *s)
{
	size_t n = 0;

	if (!is_ident_start((unsigned char)s[0]))
		return 0;
	while (is_ident_char((unsigned char)s[n]))
		n++;
	return n;
}

/* Returns the filter named by s[0..n), or -1. */
static int filter_lookup(const char *s, size_t n)
{
	for (int i = 0; filter_names[i]; i++)
		if (strlen(filter_names[i]) == n && memcmp(filter_names[i], s, n) == 0)
			return i;
	return -1;
}

/* Sets *err_off and appends a message to err (both may be NULL); returns rc. */
__attribute__((format(printf, 5, 6))) static int fail(int rc, size_t off, size_t *err_off,
						      struct weir_buf *err, const char *fmt, ...)
{
	va_list ap;

	if (err_off)
		*err_off = off;
	if (err) {
		va_start(ap, fmt);
		(void)weir_buf_vaddf(err, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int fail_char(const char *tpl, size_t off, size_t *err_off, struct weir_buf *err)
{
	unsigned char c = (unsigned char)tpl[off];

	if (c >= 0x20 && c < 0x7f)
		return fail(WEIR_ESYNTAX, off, err_off, err, "unexpected character '%c' in expression",
			    c);
	return fail(WEIR_ESYNTAX, off, err_off, err, "unexpected character '\\x%02x' in expression",
		    c);
}

/*
 * True at the end of the template, or one "}" before it: "{{ a }" is a
 * missing brace, not a stray one.
 */
static bool at_end(const char *tpl, size_t i)
{
	return tpl[i] == '\0' || (tpl[i] == '}' && tpl[i + 1] == '\0');
}

static int fail_unterminated(size_t start, size_t *err_off, struct weir_buf *err)
{
	return fail(WEIR_ESYNTAX, start, err_off, err, "unterminated \"{{\" (expected \"}}\")");
}

/*
 * Scans a variable path starting at i (which holds an identifier or a
 * digit) and returns the offset just past it, or an error.
 */
static int scan_path(const char *tpl, size_t start, size_t i, size_t *end, size_t *err_off,
		     struct weir_buf *err)
{
	for (;;) {
		unsigned char c = (unsigned char)tpl[i];

		if (is_digit(c)) {
			while (is_digit((unsigned char)tpl[i]))
				i++;
		} else if (is_ident_start(c)) {
			i += ident_len(tpl + i);
		} else if (at_end(tpl, i)) {
			return fail_unterminated(start, err_off, err);
		} else {
			/* Only reachable after a '.': the caller saw a segment start. */
			return fail(WEIR_ESYNTAX, i, err_off, err,
				    "expected a name or index after \".\"");
		}
		if (tpl[i] != '.')
			break;
		i++;
	}
	*end = i;
	return 0;
}

/*
 * Finds the next "{{" at or after pos and parses it into *e.  Returns 1
 * with *e filled, 0 when there is no more "{{" (e->start is then the offset
 * of the template's terminating NUL), or an error.
 */
static int parse_next(const char *tpl, size_t pos, struct expr *e, size_t *err_off,
		      struct weir_buf *err)
{
	const char *open = strstr(tpl + pos, "{{");
	size_t i;
	int rc;

	if (!open) {
		e->start = pos + strlen(tpl + pos);
		return 0;
	}
	e->start = (size_t)(open - tpl);
	i = skip_space(tpl, e->start + 2);

	/* The expression: a quoted literal or a path. */
	if (tpl[i] == '\'' || tpl[i] == '"') {
		const char *close = strchr(tpl + i + 1, tpl[i]);

		if (!close)
			return fail(WEIR_ESYNTAX, i, err_off, err, "unterminated string literal");
		e->literal = true;
		e->arg = i + 1;
		e->arg_len = (size_t)(close - (tpl + i + 1));
		i = (size_t)(close - tpl) + 1;
	} else if (is_ident_start((unsigned char)tpl[i]) || is_digit((unsigned char)tpl[i])) {
		size_t end = i;

		rc = scan_path(tpl, e->start, i, &end, err_off, err);
		if (rc < 0)
			return rc;
		e->literal = false;
		e->arg = i;
		e->arg_len = end - i;
		i = end;
	} else if ((tpl[i] == '}' && tpl[i + 1] == '}') || tpl[i] == '|') {
		return fail(WEIR_ESYNTAX, e->start, err_off, err, "empty expression in \"{{ }}\"");
	} else if (at_end(tpl, i)) {
		return fail_unterminated(e->start, err_off, err);
	} else {
		return fail_char(tpl, i, err_off, err);
	}

	/* Filters, then "}}". */
	e->filters = i;
	for (;;) {
		size_t n;

		i = skip_space(tpl, i);
		if (tpl[i] == '}' && tpl[i + 1] == '}')
			break;
		if (at_end(tpl, i))
			return fail_unterminated(e->start, err_off, err);
		if (tpl[i] != '|')
			return fail_char(tpl, i, err_off, err);
		i = skip_space(tpl, i + 1);
		n = ident_len(tpl + i);
		if (n == 0) {
			if (at_end(tpl, i))
				return fail_unterminated(e->start, err_off, err);
			return fail(WEIR_ESYNTAX, i, err_off, err,
				    "expected a filter name after \"|\"");
		}
		if (filter_lookup(tpl + i, n) < 0) {
			const char *hint = NULL;
			char name[65];

			/*
			 * Filter names are lowercase, so compare in lowercase
			 * ("SH" suggests "sh").  weir_str_distance() gives up
			 * beyond 64 bytes anyway.
			 */
			if (n < sizeof(name)) {
				for (size_t j = 0; j < n; j++) {
					char c = tpl[i + j];
					name[j] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
				}
				name[n] = '\0';
				hint = weir_str_suggest(name, filter_names);
			}
			if (hint)
				return fail(WEIR_EINVALID, i, err_off, err,
					    "unknown filter \"%.*s\" (did you mean \"%s\"?)", (int)n,
					    tpl + i, hint);
			return fail(WEIR_EINVALID, i, err_off, err, "unknown filter \"%.*s\"", (int)n,
				    tpl + i);
		}
		i += n;
	}
	e->end = i + 2;
	return 1;
}

/*
 * Reads the next filter of an expression that parse_next() accepted,
 * starting at *pos (e->filters initially).  Returns false at the "}}".
 */
static bool next_filter(const char *tpl, size_t *pos, enum filter *f, size_t *off)
{
	size_t i = skip_space(tpl, *pos), n;

	if (tpl[i] != '|')
		return false;
	i = skip_space(tpl, i + 1);
	n = ident_len(tpl + i);
	*f = (enum filter)filter_lookup(tpl + i, n);
	*off = i;
	*pos = i + n;
	return true;
}

/* Pass 1: syntax and filters of the whole template. */
static int check_syntax(const char *tpl, size_t *err_off, struct weir_buf *err)
{
	struct expr e;
	size_t pos = 0;
	int rc;

	for (;;) {
		rc = parse_next(tpl, pos, &e, err_off, err);
		if (rc <= 0)
			return rc;
		pos = e.end;
	}
}

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

/* One level of a JSON tree being encoded. */
struct frame {
	json_t *v;  /* the array or object */
	void *iter; /* objects: the current member */
	size_t i;   /* arrays: the current index */
};

/*
 * Where values are written.  rc is sticky: once an append fails, nothing
 * more is written, so a failed append can never be followed by a smaller
 * one that fits and leaves a hole in the output.
 */
struct sink {
	struct weir_buf *b;
	int rc;		     /* 0, or the first error */
	bool too_deep;	     /* rc is WEIR_ETOOBIG because of nesting, not size */
	struct frame *stack; /* the JSON encoder's stack, kept between values */
	size_t stack_alloc;  /* entries allocated in stack */
};

static void put(struct sink *s, const void *p, size_t n)
{
	if (s->rc == 0)
		s->rc = weir_buf_add(s->b, p, n);
}

static void put_str(struct sink *s, const char *z)
{
	put(s, z, strlen(z));
}

static void put_int(struct sink *s, json_int_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, v);

	put(s, tmp, (size_t)n);
}

/*
 * Writes d with the fewest significant digits (15, 16 or 17) that read
 * back as the same double, in JSON notation, with ".0" added when printf
 * wrote neither a '.' nor an exponent so the text still reads as a real
 * (as jansson does).  With 15 digits printf's correctly rounded output is
 * exact for every decimal of up to 15 digits (DBL_DIG), so 0.1 is "0.1",
 * not jansson's "0.10000000000000001".
 */
static void put_real(struct sink *s, double d)
{
	char tmp[40];
	bool point = false;
	int n = 0;

	if (!isfinite(d)) {
		/* jansson refuses to store these; JSON cannot spell them. */
		put_str(s, "null");
		return;
	}
	/* Subnormals carry fewer digits than DBL_DIG: search them from 1. */
	for (int prec = fabs(d) < DBL_MIN && d != 0 ? 1 : 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	/* printf uses the locale's decimal point; JSON wants '.'. */
	for (int i = 0; i < n; i++) {
		char c = tmp[i];
		if (c == 'e') {
			point = true;
		} else if (!is_digit((unsigned char)c) && c != '-' && c != '+') {
			tmp[i] = '.';
			point = true;
		}
	}
	put(s, tmp, (size_t)n);
	if (!point)
		put(s, ".0", 2);
}

/* Writes p[0..n) as a JSON string, escaped exactly as jansson does by default. */
static void put_json_string(struct sink *s, const char *p, size_t n)
{
	size_t i = 0;

	put(s, "\"", 1);
	while (i < n && s->rc == 0) {
		size_t run = i;
		unsigned char c;
		char esc[8];

		while (run < n && (unsigned char)p[run] >= 0x20 && p[run] != '"' && p[run] != '\\')
			run++;
		put(s, p + i, run - i);
		if (run == n)
			break;
		c = (unsigned char)p[run];
		switch (c) {
		case '"':
			put(s, "\\\"", 2);
			break;
		case '\\':
			put(s, "\\\\", 2);
			break;
		case '\b':
			put(s, "\\b", 2);
			break;
		case '\f':
			put(s, "\\f", 2);
			break;
		case '\n':
			put(s, "\\n", 2);
			break;
		case '\r':
			put(s, "\\r", 2);
			break;
		case '\t':
			put(s, "\\t", 2);
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04X", c);
			put(s, esc, 6);
			break;
		}
		i = run + 1;
	}
	put(s, "\"", 1);
}

static void put_scalar(struct sink *s, json_t *v, bool quote_strings)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (quote_strings)
			put_json_string(s, json_string_value(v), json_string_length(v));
		else
			put(s, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		put_int(s, json_integer_value(v));
		break;
	case JSON_REAL:
		put_real(s, json_real_value(v));
		break;
	case JSON_TRUE:
		put(s, "true", 4);
		break;
	case JSON_FALSE:
		put(s, "false", 5);
		break;
	case JSON_NULL:
		put(s, "null", 4);
		break;
	default:
		WEIR_BUG("put_scalar called on a container");
	}
}

static void put_key(struct sink *s, void *iter)
{
	put_json_string(s, json_object_iter_key(iter), json_object_iter_key_len(iter));
	put(s, ":", 1);
}

/*
 * Opens the container v: writes its opening bracket and, when it has
 * members, pushes a frame and returns its first member; otherwise writes
 * the closing bracket too and returns NULL.
 */
static json_t *open_container(struct sink *s, size_t *depth, json_t *v)
{
	bool obj = json_is_object(v);
	struct frame *f;

	if (obj ? json_object_size(v) == 0 : json_array_size(v) == 0) {
		put(s, obj ? "{}" : "[]", 2);
		return NULL;
	}
	if (*depth == WEIR_TEMPLATE_MAX_DEPTH) {
		if (s->rc == 0) {
			s->rc = WEIR_ETOOBIG;
			s->too_deep = true;
		}
		return NULL;
	}
	if (*depth == s->stack_alloc) {
		s->stack_alloc = s->stack_alloc ? 2 * s->stack_alloc : 16;
		s->stack = weir_xreallocarray(s->stack, s->stack_alloc, sizeof(*s->stack));
	}
	f = &s->stack[(*depth)++];
	f->v = v;
	if (obj) {
		put(s, "{", 1);
		f->iter = json_object_iter(v);
		put_key(s, f->iter);
		return json_object_iter_value(f->iter);
	}
	put(s, "[", 1);
	f->i = 0;
	return json_array_get(v, 0);
}

/*
 * Writes v as compact JSON (members in insertion order), iteratively: the
 * frames on s->stack are the containers still open.  Stops at the first
 * error, so a huge or cyclic value costs no more than the limit allows.
 */
static void put_json(struct sink *s, json_t *v)
{
	size_t depth = 0;
	json_t *cur = v;

	while (s->rc == 0) {
		if (cur) {
			if (json_is_object(cur) || json_is_array(cur)) {
				cur = open_container(s, &depth, cur);
				continue;
			}
			put_scalar(s, cur, true);
		}
		/* cur is done: move to the next member of the innermost container. */
		cur = NULL;
		while (depth > 0 && !cur && s->rc == 0) {
			struct frame *f = &s->stack[depth - 1];

			if (json_is_object(f->v)) {
				f->iter = json_object_iter_next(f->v, f->iter);
				if (f->iter) {
					put(s, ",", 1);
					put_key(s, f->iter);
					cur = json_object_iter_value(f->iter);
				} else {
					put(s, "}", 1);
					depth--;
				}
			} else if (++f->i < json_array_size(f->v)) {
				put(s, ",", 1);
				cur = json_array_get(f->v, f->i);
			} else {
				put(s, "]", 1);
				depth--;
			}
		}
		if (!cur)
			break;
	}
}

/* Writes v rendered: strings raw (quote_strings false) or as JSON text. */
static void put_value(struct sink *s, json_t *v, bool quote_strings)
{
	if (json_is_object(v) || json_is_array(v))
		put_json(s, v);
	else
		put_scalar(s, v, quote_strings);
}

/* ------------------------------------------------------------------------ */
/* Filters                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * `| sh`: one single-quoted POSIX shell word.  Inside '...' every byte is
 * literal except ' itself, which is written as '\'' (close the quote, an
 * escaped quote, reopen).  NUL bytes are rejected by the caller: a shell
 * command is a C string and would be cut at the NUL.
 */
static void filter_sh(struct sink *s, const char *p, size_t n)
{
	size_t i = 0;

	put(s, "'", 1);
	while (i < n) {
		const char *q = memchr(p + i, '\'', n - i);
		size_t run = q ? (size_t)(q - p) - i : n - i;

		put(s, p + i, run);
		i += run;
		if (q) {
			put(s, "'\\''", 4);
			i++;
		}
	}
	put(s, "'", 1);
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

/* `| url`: RFC 3986 percent-encoding of everything but unreserved bytes. */
static void filter_url(struct sink *s, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0;

	while (i < n && s->rc == 0) {
		size_t run = i;
		char esc[3];

		while (run < n && is_unreserved((unsigned char)p[run]))
			run++;
		put(s, p + i, run - i);
		if (run == n)
			break;
		esc[0] = '%';
		esc[1] = hex[(unsigned char)p[run] >> 4];
		esc[2] = hex[(unsigned char)p[run] & 15];
		put(s, esc, 3);
		i = run + 1;
	}
}

/* `| upper`, `| lower`: ASCII only; other bytes (UTF-8 included) unchanged. */
static void filter_case(struct sink *s, const char *p, size_t n, bool upper)
{
	char *d;

	if (s->rc == 0)
		s->rc = weir_buf_grow(s->b, n);
	if (s->rc < 0)
		return;
	d = s->b->buf + s->b->len;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (upper && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!upper && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		d[i] = c;
	}
	s->b->len += n;
	s->b->buf[s->b->len] = '\0';
}

/* Applies f to the string p[0..n). */
static void filter_apply(struct sink *s, enum filter f, const char *p, size_t n)
{
	switch (f) {
	case FILTER_JSON:
		put_json_string(s, p, n);
		break;
	case FILTER_SH:
		filter_sh(s, p, n);
		break;
	case FILTER_URL:
		filter_url(s, p, n);
		break;
	case FILTER_UPPER:
		filter_case(s, p, n, true);
		break;
	case FILTER_LOWER:
		filter_case(s, p, n, false);
		break;
	}
}

/* ------------------------------------------------------------------------ */
/* Rendering                                                                */
/* ------------------------------------------------------------------------ */

struct render {
	const char *tpl;
	json_t *ctx;		    /* borrowed */
	struct weir_buf *out;	    /* the caller's buffer */
	struct weir_buf scratch[2]; /* intermediate results of filter chains */
	struct sink sink;	    /* its b is switched between out and scratch */
};

/*
 * Looks up the dotted path p[0..n) in ctx: each segment is an object key,
 * or in an array a decimal index without leading zeros.  Returns a
 * borrowed reference, or NULL.  A ctx that is not an object (NULL
 * included) has no variables.
 */
static json_t *lookup(json_t *ctx, const char *p, size_t n)
{
	json_t *cur = ctx;
	const char *end = p + n;

	if (!json_is_object(ctx))
		return NULL;
	while (cur) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);

		if (json_is_object(cur)) {
			cur = json_object_getn(cur, p, len);
		} else if (json_is_array(cur)) {
			uint64_t idx = 0;

			/* At most 19 digits: no overflow, and far beyond any array. */
			if (len == 0 || len > 19 || (len > 1 && p[0] == '0'))
				return NULL;
			for (size_t i = 0; i < len; i++) {
				if (!is_digit((unsigned char)p[i]))
					return NULL;
				idx = idx * 10 + (uint64_t)(p[i] - '0');
			}
			if (idx >= json_array_size(cur))
				return NULL;
			cur = json_array_get(cur, (size_t)idx);
		} else {
			return NULL;
		}
		if (!dot)
			break;
		p = dot + 1;
	}
	return cur;
}

/* Points the sink at b with a limit of the room left in the output. */
static void sink_to(struct render *r, struct weir_buf *b)
{
	if (b != r->out) {
		weir_buf_reset(b);
		b->max = r->out->max - r->out->len;
	}
	r->sink.b = b;
	r->sink.rc = 0;
	r->sink.too_deep = false;
}

static int render_expr(struct render *r, const struct expr *e, size_t *err_off,
		       struct weir_buf *err)
{
	const char *tpl = r->tpl;
	struct sink *s = &r->sink;
	json_t *v = NULL;	 /* the value while it is still JSON */
	const char *sp = NULL;	 /* or the value as a string */
	size_t sl = 0, pos = e->filters, off = 0, next_off = 0;
	enum filter f = FILTER_JSON, next = FILTER_JSON;
	bool have, have_next;
	int k = 0; /* the scratch buffer to write next */

	if (e->literal) {
		sp = tpl + e->arg;
		sl = e->arg_len;
	} else {
		v = lookup(r->ctx, tpl + e->arg, e->arg_len);
		if (!v)
			return fail(WEIR_EINVALID, e->arg, err_off, err, "unknown variable \"%.*s\"",
				    (int)e->arg_len, tpl + e->arg);
		if (json_is_string(v)) {
			sp = json_string_value(v);
			sl = json_string_length(v);
			v = NULL;
		}
	}

	have = next_filter(tpl, &pos, &f, &off);
	if (!have) {
		sink_to(r, r->out);
		if (v)
			put_value(s, v, false);
		else
			put(s, sp, sl);
		goto out;
	}
	/*
	 * Only `json` looks at the JSON value; every other filter works on
	 * the rendered text.  (For anything but a string the two are the
	 * same text, so `json` first just renders.)
	 */
	if (v) {
		sink_to(r, &r->scratch[k]);
		put_value(s, v, false);
		if (s->rc < 0)
			goto out;
		sp = r->scratch[k].buf;
		sl = r->scratch[k].len;
		k ^= 1;
		if (f == FILTER_JSON) {
			have = next_filter(tpl, &pos, &f, &off);
			if (!have) {
				sink_to(r, r->out);
				put(s, sp, sl);
				goto out;
			}
		}
	}
	/* Each filter reads the previous result and writes the other scratch
	 * buffer, the last one writes out directly. */
	while (have) {
		have_next = next_filter(tpl, &pos, &next, &next_off);
		if (f == FILTER_SH && memchr(sp, '\0', sl))
			return fail(WEIR_EINVALID, off, err_off, err,
				    "filter \"sh\" cannot quote a value containing a NUL byte");
		sink_to(r, have_next ? &r->scratch[k] : r->out);
		filter_apply(s, f, sp, sl);
		if (s->rc < 0)
			goto out;
		if (have_next) {
			sp = r->scratch[k].buf;
			sl = r->scratch[k].len;
			k ^= 1;
		}
		have = have_next;
		f = next;
		off = next_off;
	}
out:
	if (s->rc < 0 && s->too_deep)
		return fail(s->rc, e->start, err_off, err,
			    "value of \"%.*s\" is nested deeper than %d levels", (int)e->arg_len,
			    tpl + e->arg, WEIR_TEMPLATE_MAX_DEPTH);
	if (s->rc < 0)
		return fail(s->rc, e->start, err_off, err,
			    "rendered template exceeds the output limit of %zu bytes", r->out->max);
	return 0;
}

int weir_template_render(const char *tpl, json_t *ctx, struct weir_buf *out, size_t *err_off,
			 struct weir_buf *err)
{
	struct render r = {
		.tpl = tpl,
		.ctx = ctx,
		.out = out,
		.scratch = {WEIR_BUF_INIT(0), WEIR_BUF_INIT(0)},
	};
	struct expr e;
	size_t pos = 0;
	int rc;

	rc = check_syntax(tpl, err_off, err);
	if (rc < 0)
		goto out;
	for (;;) {
		int more = parse_next(tpl, pos, &e, err_off, err);

		if (more < 0)
			WEIR_BUG("template parsed once but not twice");
		rc = weir_buf_add(out, tpl + pos, e.start - pos);
		if (rc < 0) {
			rc = fail(rc, pos, err_off, err,
				  "rendered template exceeds the output limit of %zu bytes", out->max);
			goto out;
		}
		if (!more)
			break;
		rc = render_expr(&r, &e, err_off, err);
		if (rc < 0)
			goto out;
		pos = e.end;
	}
out:
	weir_buf_release(&r.scratch[0]);
	weir_buf_release(&r.scratch[1]);
	free(r.sink.stack);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Checking                                                                 */
/* ------------------------------------------------------------------------ */

int weir_template_check(const char *tpl, weir_template_var_fn *var_fn, void *arg, size_t *err_off,
			struct weir_buf *err)
{
	struct weir_buf path = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct expr e;
	size_t pos = 0;
	int rc;

	rc = check_syntax(tpl, err_off, err);
	if (rc < 0 || !var_fn)
		goto out;
	for (;;) {
		size_t before = err ? err->len : 0;

		rc = parse_next(tpl, pos, &e, err_off, err);
		if (rc < 0)
			WEIR_BUG("template parsed once but not twice");
		if (rc == 0)
			break;
		pos = e.end;
		if (e.literal)
			continue;
		weir_buf_reset(&path);
		(void)weir_buf_add(&path, tpl + e.arg, e.arg_len);
		rc = var_fn(arg, path.buf, e.arg, err);
		if (rc < 0) {
			if (err_off)
				*err_off = e.arg;
			/* The callback owes us a message; don't leave err empty. */
			if (err && err->len == before)
				(void)weir_buf_addf(err, "unknown variable \"%s\"", path.buf);
			goto out;
		}
	}
	rc = 0;
out:
	weir_buf_release(&path);
	return rc;
}

bool weir_template_has_expr(const char *s)
{
	return s && strstr(s, "{{") != NULL;
}
