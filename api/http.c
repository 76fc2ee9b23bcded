/*
 * http.c: the pure parts of HTTP handling: responses and the error shape,
 * percent-decoding, query strings and forms, typed arguments, JSON body
 * checks, scopes.  Nothing here does I/O; everything is driven by the
 * fuzz target.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/api_int.h"
#include "common/error.h"
#include "common/log.h"
#include "common/str.h"
#include "common/time.h"
#include "common/xalloc.h"

/* ------------------------------------------------------------------ */
/* methods and scopes                                                   */
/* ------------------------------------------------------------------ */

static const char *const method_names[API__METHODS] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
};

enum api_method api_method_parse(const char *s)
{
	for (int i = 0; i < API_OTHER; i++)
		if (!strcmp(s, method_names[i]))
			return (enum api_method)i;
	return API_OTHER;
}

const char *api_method_name(enum api_method m)
{
	return m < API__METHODS ? method_names[m] : "OTHER";
}

static const char *const scope_names[API_SCOPE__COUNT] = {
#define XX(id, name) name,
	API_SCOPE_MAP(XX)
#undef XX
};

const char *api_scope_name(unsigned bit)
{
	return bit < API_SCOPE__COUNT ? scope_names[bit] : NULL;
}

int api_scopes_parse(const char *list, unsigned *bits, struct weir_buf *err)
{
	unsigned b = 0;
	const char *p = list ? list : "";

	while (*p) {
		size_t n;
		int found = -1;

		p += strspn(p, " ,\t");
		n = strcspn(p, " ,\t");
		if (!n)
			break;
		for (unsigned i = 0; i < API_SCOPE__COUNT; i++)
			if (strlen(scope_names[i]) == n && !memcmp(scope_names[i], p, n))
				found = (int)i;
		if (found < 0) {
			weir_buf_addf(err, "unknown scope \"%.*s\" (known: ", (int)(n > 64 ? 64 : n), p);
			for (unsigned i = 0; i < API_SCOPE__COUNT; i++)
				weir_buf_addf(err, "%s%s", i ? ", " : "", scope_names[i]);
			weir_buf_addch(err, ')');
			return WEIR_EINVALID;
		}
		b |= 1u << found;
		p += n;
	}
	*bits = b;
	return 0;
}

unsigned api_scopes_from_json(json_t *arr)
{
	unsigned b = 0;
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		for (unsigned k = 0; s && k < API_SCOPE__COUNT; k++)
			if (!strcmp(s, scope_names[k]))
				b |= 1u << k;
	}
	return b;
}

json_t *api_scopes_to_json(unsigned bits)
{
	json_t *a = json_array();

	for (unsigned k = 0; k < API_SCOPE__COUNT; k++)
		if (bits & (1u << k))
			json_array_append_new(a, json_string(scope_names[k]));
	return a;
}

const char *api_scopes_string(struct weir_arena *a, unsigned bits)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *s;

	for (unsigned k = 0; k < API_SCOPE__COUNT; k++)
		if (bits & (1u << k))
			weir_buf_addf(&b, "%s%s", b.len ? " " : "", scope_names[k]);
	s = weir_arena_strdup(a, b.buf);
	weir_buf_release(&b);
	return s;
}

/* ------------------------------------------------------------------ */
/* responses                                                            */
/* ------------------------------------------------------------------ */

void api_resp_init(struct api_resp *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->fd = -1;
}

void api_resp_release(struct api_resp *rs)
{
	free(rs->body);
	rs->body = NULL;
	if (rs->fd >= 0)
		close(rs->fd);
	rs->fd = -1;
}

/* Drops a previous answer (a handler may replace a provisional one). */
static void reset_body(struct api_resp *rs)
{
	free(rs->body);
	rs->body = NULL;
	rs->len = 0;
}

void api_header(struct api_req *rq, struct api_resp *rs, const char *name, const char *value)
{
	for (size_t i = 0; i < rs->nheaders; i++) {
		if (!strcasecmp(rs->headers[i].name, name)) {
			rs->headers[i].value = weir_arena_strdup(&rq->arena, value);
			return;
		}
	}
	WEIR_ASSERT(rs->nheaders < API_MAX_HEADERS);
	rs->headers[rs->nheaders].name = weir_arena_strdup(&rq->arena, name);
	rs->headers[rs->nheaders].value = weir_arena_strdup(&rq->arena, value);
	rs->nheaders++;
}

void api_json(struct api_resp *rs, int status, json_t *j)
{
	reset_body(rs);
	rs->status = status;
	rs->content_type = "application/json";
	rs->body = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	rs->len = rs->body ? strlen(rs->body) : 0;
	json_decref(j);
	if (!rs->body) {
		rs->body = weir_xstrdup("{}");
		rs->len = 2;
	}
}

void api_text(struct api_resp *rs, int status, const char *content_type, const char *text,
	      size_t len)
{
	reset_body(rs);
	rs->status = status;
	rs->content_type = content_type;
	rs->body = weir_xmalloc(len + 1);
	memcpy(rs->body, text, len);
	rs->body[len] = '\0';
	rs->len = len;
}

void api_empty(struct api_resp *rs, int status)
{
	reset_body(rs);
	rs->status = status;
	rs->content_type = NULL;
}

const char *api_status_title(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

void api_error(struct api_req *rq, struct api_resp *rs, int status, const char *field,
	       const char *fmt, ...)
{
	struct weir_buf detail = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *title = api_status_title(status);
	json_t *e, *top;
	va_list ap;

	va_start(ap, fmt);
	weir_buf_vaddf(&detail, fmt, ap);
	va_end(ap);
	e = json_pack("{s:i, s:s, s:s}", "status", status, "title", title, "detail", detail.buf);
	if (field && *field)
		json_object_set_new(e, "field", json_string(field));
	top = json_pack("{s:s, s:s, s:i, s:s, s:o}", "type", "about:blank", "title", title,
			"status", status, "detail", detail.buf, "error", e);
	/* json_string() refuses invalid UTF-8 (a field name from input):
	 * fall back to a message without it rather than failing. */
	if (!top) {
		json_decref(e);
		top = json_pack("{s:s, s:s, s:i, s:s, s:{s:i, s:s, s:s}}", "type", "about:blank",
				"title", title, "status", status, "detail", "invalid request", "error",
				"status", status, "title", title, "detail", "invalid request");
	}
	api_json(rs, status, top);
	rs->error_field = field ? weir_arena_strdup(&rq->arena, field) : NULL;
	weir_buf_release(&detail);
}

void api_unauthorized(struct api_req *rq, struct api_resp *rs, const char *code,
		      const char *detail)
{
	char h[256];

	api_error(rq, rs, 401, NULL, "%s", detail);
	if (code)
		snprintf(h, sizeof(h), "Bearer realm=\"weir\", error=\"%s\"", code);
	else
		snprintf(h, sizeof(h), "Bearer realm=\"weir\"");
	api_header(rq, rs, "WWW-Authenticate", h);
}

void api_store_error(struct api_req *rq, struct api_resp *rs, int rc, const char *what,
		     struct weir_buf *err)
{
	switch (rc) {
	case WEIR_ENOTFOUND:
		api_error(rq, rs, 404, NULL, "%s", err && err->len ? err->buf : what);
		return;
	case WEIR_EINVALID:
		api_error(rq, rs, 400, NULL, "%s", err && err->len ? err->buf : what);
		return;
	case WEIR_EEXISTS:
	case WEIR_ECONFLICT:
		api_error(rq, rs, 409, NULL, "%s", err && err->len ? err->buf : what);
		return;
	case WEIR_ECONN:
	case WEIR_ETIMEDOUT:
		weir_warn("request %s: %s: %s", rq->request_id, what, err ? err->buf : "");
		api_error(rq, rs, 503, NULL, "the database is not reachable; try again");
		return;
	default:
		weir_error("request %s: %s: %s (%s)", rq->request_id, what, err ? err->buf : "",
			   weir_strerror(rc));
		api_error(rq, rs, 500, NULL, "internal error (request %s)", rq->request_id);
	}
}

/* ------------------------------------------------------------------ */
/* decoding                                                             */
/* ------------------------------------------------------------------ */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *api_unescape(struct weir_arena *a, const char *s, size_t n, bool plus)
{
	char *out = weir_arena_alloc(a, n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return NULL;
			h = hexval((unsigned char)s[i + 1]);
			l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return NULL;
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else if (c == '+' && plus) {
			out[o++] = ' ';
		} else if (c == '\0') {
			return NULL;
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
	return out;
}

int api_parse_form(struct weir_arena *a, const char *s, size_t n, struct api_kv *out, size_t max)
{
	size_t i = 0;
	int count = 0;

	while (i < n) {
		size_t end = i, eq;
		while (end < n && s[end] != '&')
			end++;
		if (end > i) {
			char *k, *v;
			eq = i;
			while (eq < end && s[eq] != '=')
				eq++;
			if ((size_t)count >= max)
				return -1;
			k = api_unescape(a, s + i, eq - i, true);
			v = eq < end ? api_unescape(a, s + eq + 1, end - eq - 1, true)
				     : weir_arena_strdup(a, "");
			if (!k || !v)
				return -1;
			out[count].key = k;
			out[count].value = v;
			count++;
		}
		i = end + 1;
	}
	return count;
}

/* ------------------------------------------------------------------ */
/* query arguments                                                      */
/* ------------------------------------------------------------------ */

const char *api_arg(const struct api_req *rq, const char *key)
{
	for (size_t i = 0; i < rq->nargs; i++)
		if (!strcmp(rq->args[i].key, key))
			return rq->args[i].value;
	return NULL;
}

json_t *api_arg_list(const struct api_req *rq, const char *key)
{
	json_t *a = NULL;

	for (size_t i = 0; i < rq->nargs; i++) {
		const char *v = rq->args[i].value;
		if (strcmp(rq->args[i].key, key))
			continue;
		if (!a)
			a = json_array();
		while (*v) {
			size_t n = strcspn(v, ",");
			if (n) {
				json_t *s = json_stringn(v, n);
				if (s)
					json_array_append_new(a, s);
			}
			v += n;
			v += *v == ',';
		}
	}
	return a;
}

int api_args_known(struct api_req *rq, struct api_resp *rs, const char *const *allowed)
{
	for (size_t i = 0; i < rq->nargs; i++) {
		bool ok = false;
		for (size_t k = 0; allowed[k] && !ok; k++)
			ok = !strcmp(rq->args[i].key, allowed[k]);
		if (!ok) {
			api_error(rq, rs, 400, rq->args[i].key, "unknown query parameter \"%s\"",
				  rq->args[i].key);
			return -1;
		}
	}
	return 0;
}

int api_arg_int(struct api_req *rq, struct api_resp *rs, const char *key, int64_t min,
		int64_t max, int64_t *out)
{
	const char *v = api_arg(rq, key);
	int64_t x;

	if (!v)
		return 0;
	if (weir_str_to_i64(v, &x) < 0 || x < min || x > max) {
		api_error(rq, rs, 400, key, "%s must be a whole number from %lld to %lld", key,
			  (long long)min, (long long)max);
		return -1;
	}
	*out = x;
	return 0;
}

int api_arg_bool(struct api_req *rq, struct api_resp *rs, const char *key, int *out)
{
	const char *v = api_arg(rq, key);

	if (!v)
		return 0;
	if (!strcasecmp(v, "true") || !strcmp(v, "1")) {
		*out = 1;
	} else if (!strcasecmp(v, "false") || !strcmp(v, "0")) {
		*out = 0;
	} else {
		api_error(rq, rs, 400, key, "%s must be true or false", key);
		return -1;
	}
	return 0;
}

const char *api_time_norm(struct weir_arena *a, const char *s, int64_t *us)
{
	char iso[WEIR_ISO_BUFSZ];
	int64_t t;
	bool off;

	if (!s || strlen(s) > 64 || weir_iso_parse(s, &t, &off) < 0)
		return NULL;
	/* PostgreSQL's timestamptz covers 4713 BC .. 294276 AD; keep to
	 * years 1..9999 so a valid instant is always accepted there. */
	if (t < INT64_C(-62135596800000000) || t > INT64_C(253402300799999999))
		return NULL;
	if (us)
		*us = t;
	return weir_arena_strdup(a, weir_iso_format(t, WEIR_ISO_Z | WEIR_ISO_FRAC, iso));
}

int api_arg_time(struct api_req *rq, struct api_resp *rs, const char *key, const char **out)
{
	const char *v = api_arg(rq, key);
	const char *n;

	if (!v)
		return 0;
	n = api_time_norm(&rq->arena, v, NULL);
	if (!n) {
		api_error(rq, rs, 400, key, "%s must be an ISO-8601 date-time such as 2026-01-31T12:00:00Z",
			  key);
		return -1;
	}
	*out = n;
	return 0;
}

int api_paging(struct api_req *rq, struct api_resp *rs, int64_t def, int64_t max,
	       const char **limit, const char **offset)
{
	int64_t l = def, o = 0;

	if (api_arg_int(rq, rs, "limit", 1, max, &l) < 0 ||
	    api_arg_int(rq, rs, "offset", 0, INT32_MAX, &o) < 0)
		return -1;
	*limit = api_i64(&rq->arena, l);
	*offset = api_i64(&rq->arena, o);
	return 0;
}

void api_decref_cb(void *json)
{
	json_decref(json);
}

json_t *api_keep(struct api_req *rq, json_t *j)
{
	if (j)
		weir_arena_on_release(&rq->arena, api_decref_cb, j);
	return j;
}

const char *api_i64(struct weir_arena *a, int64_t v)
{
	return weir_arena_printf(a, "%lld", (long long)v);
}

const char *api_json_text(struct weir_arena *a, json_t *j)
{
	char *t;
	const char *r;

	if (!j)
		return NULL;
	t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!t)
		return NULL;
	r = weir_arena_strdup(a, t);
	free(t);
	return r;
}

/* ------------------------------------------------------------------ */
/* bodies                                                               */
/* ------------------------------------------------------------------ */

static const char *ftype_name(enum api_ftype t)
{
	switch (t) {
	case API_F_STRING: return "a string";
	case API_F_INT: return "an integer";
	case API_F_NUMBER: return "a number";
	case API_F_BOOL: return "a boolean";
	case API_F_OBJECT: return "an object";
	case API_F_ARRAY: return "an array";
	case API_F_STRINGS: return "an array of strings";
	case API_F_TIME: return "an ISO-8601 date-time string";
	default: return "a value";
	}
}

static bool ftype_ok(struct weir_arena *a, enum api_ftype t, json_t *v)
{
	size_t i;
	json_t *e;

	switch (t) {
	case API_F_STRING: return json_is_string(v);
	case API_F_INT: return json_is_integer(v);
	case API_F_NUMBER: return json_is_number(v);
	case API_F_BOOL: return json_is_boolean(v);
	case API_F_OBJECT: return json_is_object(v);
	case API_F_ARRAY: return json_is_array(v);
	case API_F_STRINGS:
		if (!json_is_array(v))
			return false;
		json_array_foreach(v, i, e)
			if (!json_is_string(e))
				return false;
		return true;
	case API_F_TIME:
		return json_is_string(v) && api_time_norm(a, json_string_value(v), NULL);
	default: return true;
	}
}

int api_body_check(struct api_req *rq, struct api_resp *rs, json_t *obj,
		   const struct api_field *fields)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		const struct api_field *f = NULL;
		for (size_t i = 0; fields[i].name && !f; i++)
			if (!strcmp(fields[i].name, k))
				f = &fields[i];
		if (!f) {
			api_error(rq, rs, 400, k, "unknown field \"%s\"", k);
			return -1;
		}
		if (f->type == API_F_READONLY) {
			api_error(rq, rs, 400, k, "field \"%s\" is read-only", k);
			return -1;
		}
		if (json_is_null(v) && f->nullable)
			continue;
		if (!ftype_ok(&rq->arena, f->type, v)) {
			api_error(rq, rs, 400, k, "field \"%s\" must be %s", k, ftype_name(f->type));
			return -1;
		}
	}
	return 0;
}

json_t *api_body_object(struct api_req *rq, struct api_resp *rs)
{
	if (!json_is_object(rq->json)) {
		api_error(rq, rs, 400, NULL, "the request body must be a JSON object");
		return NULL;
	}
	return rq->json;
}

/* ------------------------------------------------------------------ */
/* small checks                                                         */
/* ------------------------------------------------------------------ */

bool api_id_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];
		if (!(isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return n >= 1 && n <= 100;
}

bool api_uuid_valid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (hexval((unsigned char)s[i]) < 0) {
			return false;
		}
	}
	return true;
}

bool api_media_is(const char *value, const char *type)
{
	size_t n = strlen(type);

	if (!value)
		return false;
	while (*value == ' ')
		value++;
	if (strncasecmp(value, type, n))
		return false;
	value += n;
	while (*value == ' ')
		value++;
	return *value == '\0' || *value == ';';
}

bool api_accepts_text(const char *accept)
{
	const char *t, *j;

	if (!accept)
		return false;
	t = strstr(accept, "text/plain");
	j = strstr(accept, "application/json");
	return t && (!j || t < j);
}

void api_b64url(char *dst, const unsigned char *src, size_t n)
{
	sodium_bin2base64(dst, sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
			  src, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void api_sha256_hex(const char *s, size_t n, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, n);
	sodium_bin2hex(out, 65, h, sizeof(h));
}
