/* pgutil.c: PostgreSQL helpers for the sql operators (pgutil.h). */
#include "operators/pgutil.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "operators/ops_int.h"
#include "common/banned.h"

/* Type OIDs (pg_type.h; stable across PostgreSQL versions). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700
#define OID_JSONB 3802

#define CONNECT_TIMEOUT_S 30

PGconn *weir__pg_connect(struct weir_task_ctx *ctx, const char *name, json_t *conn)
{
	struct weir_strvec keys = WEIR_STRVEC_INIT, vals = WEIR_STRVEC_INIT;
	json_t *extra = json_object_get(conn, "extra"), *v;
	const char *k, *s;
	long ms = weir__op_deadline_ms(ctx);
	long tmo = ms < 0 || ms / 1000 > CONNECT_TIMEOUT_S ? CONNECT_TIMEOUT_S : ms / 1000 + 1;
	json_t *spec = ctx->spec;
	PGconn *c;

	/* extra first: the fields of the connection win over it. */
	json_object_foreach(extra, k, v) {
		char *t = json_is_string(v) ? weir_xstrdup(json_string_value(v))
					    : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		weir_strvec_push(&keys, k);
		weir_strvec_push_nodup(&vals, t);
	}
#define KV(key, value)                                 \
	do {                                           \
		weir_strvec_push(&keys, (key));        \
		weir_strvec_push(&vals, (value));      \
	} while (0)
	if ((s = weir__conn_str(conn, "host")))
		KV("host", s);
	if (json_is_integer(json_object_get(conn, "port"))) {
		weir_strvec_push(&keys, "port");
		weir_strvec_pushf(&vals, "%d", weir__conn_port(conn, 5432));
	}
	if ((s = weir__conn_str(conn, "login")))
		KV("user", s);
	if ((s = weir__conn_str(conn, "password")))
		KV("password", s);
	if ((s = weir__conn_str(conn, "schema")))
		KV("dbname", s);
	KV("client_encoding", "UTF8");
	weir_strvec_push(&keys, "connect_timeout");
	weir_strvec_pushf(&vals, "%ld", tmo);
	weir_strvec_push(&keys, "application_name");
	weir_strvec_pushf(&vals, "weir:%.30s.%.30s", json_string_value(json_object_get(spec, "dag_id")),
			  json_string_value(json_object_get(spec, "task_id")));
#undef KV
	c = PQconnectdbParams((const char *const *)keys.v, (const char *const *)vals.v, 0);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		weir_buf_setf(&ctx->message, "could not connect to \"%s\": %s", name,
			      c ? PQerrorMessage(c) : "out of memory");
		weir_buf_rtrim(&ctx->message);
		if (c)
			PQfinish(c);
		c = NULL;
	}
	weir_strvec_clear(&keys);
	weir_strvec_clear(&vals);
	return c;
}

int weir__pg_params_from(struct weir_task_ctx *ctx, json_t *list, struct weir__pg_params *p)
{
	size_t i;
	json_t *v;

	memset(p, 0, sizeof(*p));
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list)) {
		weir_buf_setf(&ctx->message, "\"parameters\" must be a list (bound as $1, $2, ...)");
		return WEIR_EINVALID;
	}
	if (json_array_size(list) > 65535) {
		weir_buf_setf(&ctx->message, "too many \"parameters\" (at most 65535)");
		return WEIR_EINVALID;
	}
	p->n = (int)json_array_size(list);
	p->v = weir_xcalloc((size_t)p->n + 1, sizeof(char *));
	json_array_foreach(list, i, v) {
		if (json_is_null(v))
			p->v[i] = NULL;
		else if (json_is_string(v))
			p->v[i] = weir_xstrdup(json_string_value(v));
		else
			p->v[i] = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	}
	return 0;
}

void weir__pg_params_release(struct weir__pg_params *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static void result_error(struct weir_buf *m, const char *label, PGresult *r, PGconn *c)
{
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (msg) {
		weir_buf_setf(m, "%s: %s", label, msg);
		if (detail)
			weir_buf_addf(m, " (%s)", detail);
		if (state)
			weir_buf_addf(m, " [SQLSTATE %s]", state);
	} else {
		weir_buf_setf(m, "%s: %s", label, PQerrorMessage(c));
	}
	weir_buf_rtrim(m);
}

/*
 * Collects the results of what was sent: the last one, or NULL with the
 * message (the first error).  Polls so that a stop or the deadline
 * cancels the query.
 */
static PGresult *collect(struct weir_task_ctx *ctx, PGconn *c, const char *label, bool *lost)
{
	PGresult *last = NULL, *r;
	bool failed = false, cancelled = false;

	for (;;) {
		while (PQisBusy(c)) {
			struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
			if (!cancelled && weir__op_interrupted(ctx)) {
				/* Ask the server to stop; the error result follows. */
				PGcancel *cn = PQgetCancel(c);
				char eb[256];
				if (cn) {
					PQcancel(cn, eb, sizeof(eb));
					PQfreeCancel(cn);
				}
				cancelled = true;
			}
			if (poll(&p, 1, 250) < 0 && errno != EINTR)
				break;
			if (!PQconsumeInput(c))
				break;
		}
		r = PQgetResult(c);
		if (!r)
			break;
		switch (PQresultStatus(r)) {
		case PGRES_TUPLES_OK:
		case PGRES_COMMAND_OK:
		case PGRES_EMPTY_QUERY:
			if (!failed) {
				PQclear(last);
				last = r;
				r = NULL;
			}
			break;
		default:
			if (!failed) {
				if (cancelled)
					weir_buf_setf(&ctx->message, "%s: cancelled", label);
				else
					result_error(&ctx->message, label, r, c);
			}
			failed = true;
			break;
		}
		PQclear(r);
		if (PQstatus(c) == CONNECTION_BAD)
			break;
	}
	if (PQstatus(c) == CONNECTION_BAD) {
		if (!failed)
			weir_buf_setf(&ctx->message, "%s: lost the connection: %s", label, PQerrorMessage(c));
		weir_buf_rtrim(&ctx->message);
		failed = true;
		*lost = true;
	}
	if (failed) {
		PQclear(last);
		return NULL;
	}
	if (!last)
		weir_buf_setf(&ctx->message, "%s: no result", label);
	return last;
}

PGresult *weir__pg_run(struct weir_task_ctx *ctx, PGconn *c, const char *label, const char *sql,
		       const struct weir__pg_params *params, bool *conn_lost)
{
	PGresult *r;
	int n;

	*conn_lost = false;
	if (!params) {
		if (!PQsendQuery(c, sql))
			goto send_failed;
		return collect(ctx, c, label, conn_lost);
	}
	/* Prepare (unnamed) and describe: how many parameters does it use? */
	if (!PQsendPrepare(c, "", sql, 0, NULL))
		goto send_failed;
	r = collect(ctx, c, label, conn_lost);
	if (!r)
		return NULL;
	PQclear(r);
	if (!PQsendDescribePrepared(c, ""))
		goto send_failed;
	r = collect(ctx, c, label, conn_lost);
	if (!r)
		return NULL;
	n = PQnparams(r);
	PQclear(r);
	if (n > params->n) {
		weir_buf_setf(&ctx->message, "%s uses $%d but \"parameters\" has %d value%s", label, n, params->n,
			      params->n == 1 ? "" : "s");
		return NULL;
	}
	if (!PQsendQueryPrepared(c, "", n, (const char *const *)params->v, NULL, NULL, 0))
		goto send_failed;
	return collect(ctx, c, label, conn_lost);
send_failed:
	weir_buf_setf(&ctx->message, "%s: %s", label, PQerrorMessage(c));
	weir_buf_rtrim(&ctx->message);
	*conn_lost = PQstatus(c) == CONNECTION_BAD;
	return NULL;
}

/* Text as a JSON string, with bytes that are not UTF-8 replaced. */
static json_t *text_json(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *copy;

	if (j)
		return j;
	copy = weir_xstrndup(s, n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_stringn(copy, n);
	free(copy);
	return j ? j : json_string("");
}

json_t *weir__pg_value(PGresult *r, int row, int col)
{
	const char *s;
	int len;
	json_t *j;

	if (PQgetisnull(r, row, col))
		return json_null();
	s = PQgetvalue(r, row, col);
	len = PQgetlength(r, row, col);
	switch (PQftype(r, col)) {
	case OID_BOOL:
		return json_boolean(s[0] == 't');
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
	case OID_OID: {
		char *end;
		long long v;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (!errno && !*end)
			return json_integer((json_int_t)v);
		return text_json(s, (size_t)len);
	}
	case OID_FLOAT4:
	case OID_FLOAT8:
	case OID_NUMERIC:
		/* NaN, Infinity and numbers beyond a double stay text. */
		j = json_loadb(s, (size_t)len, JSON_DECODE_ANY, NULL);
		if (json_is_number(j))
			return j;
		json_decref(j);
		return text_json(s, (size_t)len);
	case OID_JSON:
	case OID_JSONB:
		j = json_loadb(s, (size_t)len, JSON_DECODE_ANY, NULL);
		return j ? j : text_json(s, (size_t)len);
	default:
		return text_json(s, (size_t)len);
	}
}

json_t *weir__pg_row(PGresult *r, int row)
{
	json_t *o = json_object();
	int nf = PQnfields(r);

	for (int col = 0; col < nf; col++)
		json_object_set_new(o, PQfname(r, col), weir__pg_value(r, row, col));
	return o;
}
