/*
 * sqlclient.c: engine/sqlclient.h over libpq, for the sql operators.
 *
 * This is not the store (pg.c): the database is somebody else's, named by
 * a connection; there is no reconnecting, no prepared-statement cache and
 * no retry here.  A failure is reported once and the caller decides (the
 * sql operator fails the try, sql_sensor reconnects at the next poke).
 *
 * Every statement is sent with the asynchronous API and collected by
 * collect(), which polls the socket and the caller's interrupted()
 * callback, so a statement can be cancelled on the server (PQcancel)
 * while it runs.  Invariant: between calls the connection is idle (every
 * result of what was sent has been read), or CONNECTION_BAD.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/vec.h"
#include "common/xalloc.h"
#include "engine/sqlclient.h"
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

/* How long one wait for the server lasts before interrupted() is asked again. */
#define POLL_MS 250

#define MAX_PARAMS 65535 /* the protocol's limit (a 16-bit count) */

struct weir_sqlconn {
	PGconn *pg;
	weir_sqlclient_interrupted_fn *interrupted; /* may be NULL */
	void *arg;
};

/* ------------------------------------------------------------------ */
/* connections                                                          */
/* ------------------------------------------------------------------ */

/* A non-empty string field of a connection, or NULL. */
static const char *conn_str(json_t *conn, const char *field)
{
	const char *s = json_string_value(json_object_get(conn, field));
	return s && *s ? s : NULL;
}

int weir_sqlclient_connect(json_t *conn_spec, const char *name, const struct weir_sqlclient_opts *opts,
			   struct weir_sqlconn **out, struct weir_buf *err)
{
	struct weir_strvec keys = WEIR_STRVEC_INIT, vals = WEIR_STRVEC_INIT;
	json_t *extra = json_object_get(conn_spec, "extra"), *v;
	struct weir_sqlconn *c = NULL;
	const char *k, *s;
	PGconn *pg = NULL;
	int rc = 0;

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
	s = conn_str(conn_spec, "host");
	if (s)
		KV("host", s);
	v = json_object_get(conn_spec, "port");
	if (json_is_integer(v)) {
		weir_strvec_push(&keys, "port");
		weir_strvec_pushf(&vals, "%d", (int)json_integer_value(v));
	}
	s = conn_str(conn_spec, "login");
	if (s)
		KV("user", s);
	s = conn_str(conn_spec, "password");
	if (s)
		KV("password", s);
	s = conn_str(conn_spec, "schema");
	if (s)
		KV("dbname", s);
	KV("client_encoding", "UTF8");
	weir_strvec_push(&keys, "connect_timeout");
	weir_strvec_pushf(&vals, "%ld", opts->connect_timeout_s);
	if (opts->application_name)
		KV("application_name", opts->application_name);
#undef KV
	pg = PQconnectdbParams((const char *const *)keys.v, (const char *const *)vals.v, 0);
	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		weir_buf_addf(err, "could not connect to \"%s\": %s", name, pg ? PQerrorMessage(pg) : "out of memory");
		weir_buf_rtrim(err);
		rc = WEIR_ECONN;
		goto out;
	}
	c = weir_xcalloc(1, sizeof(*c));
	c->pg = pg;
	c->interrupted = opts->interrupted;
	c->arg = opts->arg;
	pg = NULL;
out:
	if (pg)
		PQfinish(pg);
	weir_strvec_clear(&keys);
	weir_strvec_clear(&vals);
	if (!rc)
		*out = c;
	return rc;
}

void weir_sqlclient_close(struct weir_sqlconn *c)
{
	if (!c)
		return;
	PQfinish(c->pg);
	free(c);
}

const char *weir_sqlclient_host(const struct weir_sqlconn *c)
{
	const char *s = PQhost(c->pg);
	return s ? s : "";
}

const char *weir_sqlclient_port(const struct weir_sqlconn *c)
{
	const char *s = PQport(c->pg);
	return s ? s : "";
}

const char *weir_sqlclient_dbname(const struct weir_sqlconn *c)
{
	const char *s = PQdb(c->pg);
	return s ? s : "";
}

/* ------------------------------------------------------------------ */
/* parameters                                                           */
/* ------------------------------------------------------------------ */

struct params {
	int n;
	char **v; /* n values; NULL for SQL NULL */
};

int weir_sqlclient_params_check(json_t *params, struct weir_buf *err)
{
	if (!params || json_is_null(params))
		return 0;
	if (!json_is_array(params)) {
		weir_buf_addstr(err, "\"parameters\" must be a list (bound as $1, $2, ...)");
		return WEIR_EINVALID;
	}
	if (json_array_size(params) > MAX_PARAMS) {
		weir_buf_addf(err, "too many \"parameters\" (at most %d)", MAX_PARAMS);
		return WEIR_EINVALID;
	}
	return 0;
}

/* The values of a checked list as text (see the header for the rules). */
static void params_from(json_t *list, struct params *p)
{
	size_t i;
	json_t *v;

	memset(p, 0, sizeof(*p));
	if (!list || json_is_null(list))
		return;
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
}

static void params_release(struct params *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* ------------------------------------------------------------------ */
/* values                                                               */
/* ------------------------------------------------------------------ */

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

/* One cell as JSON (new reference). */
static json_t *value_json(PGresult *r, int row, int col)
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

/* A row as a JSON object {column: value} (new reference). */
static json_t *row_json(PGresult *r, int row)
{
	json_t *o = json_object();
	int nf = PQnfields(r);

	for (int col = 0; col < nf; col++)
		json_object_set_new(o, PQfname(r, col), value_json(r, row, col));
	return o;
}

/* Fills res from the last result of a statement. */
static void result_fill(PGresult *r, enum weir_sqlclient_rows mode, struct weir_sqlclient_result *res)
{
	const char *tuples = PQcmdTuples(r);
	int n;

	*res = (struct weir_sqlclient_result)WEIR_SQLCLIENT_RESULT_INIT;
	snprintf(res->command, sizeof(res->command), "%s", PQcmdStatus(r) ? PQcmdStatus(r) : "");
	res->has_rows = PQresultStatus(r) == PGRES_TUPLES_OK;
	res->affected = tuples && *tuples ? strtoll(tuples, NULL, 10) : -1;
	if (!res->has_rows)
		return;
	res->nrows = PQntuples(r);
	if (mode == WEIR_SQLCLIENT_ROWS_NONE)
		return;
	n = mode == WEIR_SQLCLIENT_ROWS_FIRST && PQntuples(r) > 1 ? 1 : PQntuples(r);
	res->rows = json_array();
	for (int row = 0; row < n; row++)
		json_array_append_new(res->rows, row_json(r, row));
	if (n == 0)
		return;
	/* Without columns there is no first cell: null, and no text. */
	if (PQnfields(r) == 0) {
		res->first_cell = json_null();
		return;
	}
	res->first_cell = value_json(r, 0, 0);
	if (!PQgetisnull(r, 0, 0))
		res->first_text = weir_xstrdup(PQgetvalue(r, 0, 0));
}

void weir_sqlclient_result_release(struct weir_sqlclient_result *res)
{
	json_decref(res->rows);
	json_decref(res->first_cell);
	free(res->first_text);
	*res = (struct weir_sqlclient_result)WEIR_SQLCLIENT_RESULT_INIT;
}

/* ------------------------------------------------------------------ */
/* statements                                                           */
/* ------------------------------------------------------------------ */

static void result_error(struct weir_buf *m, const char *label, PGresult *r, PGconn *c)
{
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (msg) {
		weir_buf_addf(m, "%s: %s", label, msg);
		if (detail)
			weir_buf_addf(m, " (%s)", detail);
		if (state)
			weir_buf_addf(m, " [SQLSTATE %s]", state);
	} else {
		weir_buf_addf(m, "%s: %s", label, PQerrorMessage(c));
	}
	weir_buf_rtrim(m);
}

static bool interrupted(struct weir_sqlconn *c)
{
	return c->interrupted && c->interrupted(c->arg);
}

/*
 * Collects the results of what was sent: the last one, or NULL with *rc
 * and one message (the first error).  Polls so that an interruption
 * cancels the query; the server's error result follows the cancel, so
 * the loop still reads every result and leaves the connection idle.
 */
static PGresult *collect(struct weir_sqlconn *c, const char *label, int *rc, struct weir_buf *err)
{
	PGconn *pg = c->pg;
	PGresult *last = NULL, *r;
	bool failed = false, cancelled = false;

	*rc = 0;
	for (;;) {
		while (PQisBusy(pg)) {
			struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
			if (!cancelled && interrupted(c)) {
				/* Ask the server to stop; the error result follows. */
				PGcancel *cn = PQgetCancel(pg);
				char eb[256];
				if (cn) {
					PQcancel(cn, eb, sizeof(eb));
					PQfreeCancel(cn);
				}
				cancelled = true;
			}
			if (poll(&p, 1, POLL_MS) < 0 && errno != EINTR)
				break;
			if (!PQconsumeInput(pg))
				break;
		}
		r = PQgetResult(pg);
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
					weir_buf_addf(err, "%s: cancelled", label);
				else
					result_error(err, label, r, pg);
			}
			failed = true;
			break;
		}
		PQclear(r);
		if (PQstatus(pg) == CONNECTION_BAD)
			break;
	}
	if (PQstatus(pg) == CONNECTION_BAD) {
		if (!failed)
			weir_buf_addf(err, "%s: lost the connection: %s", label, PQerrorMessage(pg));
		weir_buf_rtrim(err);
		PQclear(last);
		*rc = WEIR_ECONN;
		return NULL;
	}
	if (failed) {
		PQclear(last);
		*rc = WEIR_EDB;
		return NULL;
	}
	if (!last) {
		weir_buf_addf(err, "%s: no result", label);
		*rc = WEIR_EDB;
	}
	return last;
}

/* Runs sql and returns its last result (PQclear it), or NULL with *rc and err. */
static PGresult *run(struct weir_sqlconn *c, const char *label, const char *sql, json_t *params, int *rc,
		     struct weir_buf *err)
{
	struct params p = {0};
	PGresult *r = NULL;
	int n;

	if (!params) {
		if (!PQsendQuery(c->pg, sql))
			goto send_failed;
		return collect(c, label, rc, err);
	}
	*rc = weir_sqlclient_params_check(params, err);
	if (*rc < 0)
		return NULL;
	/* Prepare (unnamed) and describe: how many parameters does it use? */
	if (!PQsendPrepare(c->pg, "", sql, 0, NULL))
		goto send_failed;
	r = collect(c, label, rc, err);
	if (!r)
		return NULL;
	PQclear(r);
	if (!PQsendDescribePrepared(c->pg, ""))
		goto send_failed;
	r = collect(c, label, rc, err);
	if (!r)
		return NULL;
	n = PQnparams(r);
	PQclear(r);
	params_from(params, &p);
	if (n > p.n) {
		weir_buf_addf(err, "%s uses $%d but \"parameters\" has %d value%s", label, n, p.n,
			      p.n == 1 ? "" : "s");
		*rc = WEIR_EINVALID;
		r = NULL;
	} else if (!PQsendQueryPrepared(c->pg, "", n, (const char *const *)p.v, NULL, NULL, 0)) {
		params_release(&p);
		goto send_failed;
	} else {
		r = collect(c, label, rc, err);
	}
	params_release(&p);
	return r;
send_failed:
	weir_buf_addf(err, "%s: %s", label, PQerrorMessage(c->pg));
	weir_buf_rtrim(err);
	*rc = PQstatus(c->pg) == CONNECTION_BAD ? WEIR_ECONN : WEIR_EDB;
	return NULL;
}

int weir_sqlclient_run(struct weir_sqlconn *c, const char *label, const char *sql, json_t *params,
		       enum weir_sqlclient_rows rows, struct weir_sqlclient_result *out,
		       struct weir_buf *err)
{
	int rc = 0;
	PGresult *r = run(c, label, sql, params, &rc, err);

	if (!r)
		return rc < 0 ? rc : WEIR_EDB;
	result_fill(r, rows, out);
	PQclear(r);
	return 0;
}

static int simple(struct weir_sqlconn *c, const char *sql, struct weir_buf *err)
{
	struct weir_sqlclient_result res = WEIR_SQLCLIENT_RESULT_INIT;
	int rc = weir_sqlclient_run(c, sql, sql, NULL, WEIR_SQLCLIENT_ROWS_NONE, &res, err);

	weir_sqlclient_result_release(&res);
	return rc;
}

int weir_sqlclient_begin(struct weir_sqlconn *c, struct weir_buf *err)
{
	return simple(c, "BEGIN", err);
}

int weir_sqlclient_commit(struct weir_sqlconn *c, struct weir_buf *err)
{
	return simple(c, "COMMIT", err);
}
