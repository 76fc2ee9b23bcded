/*
 * sql_sensor.c: wait until a query returns a truthy first cell.
 *
 *   connection: warehouse       a postgres connection (required)
 *   sql: "SELECT count(*) > 0 FROM loads WHERE day = $1"
 *   parameters: ["{{ ds }}"]    bound as $1, $2, ...
 *
 * A sensor: poke_interval, timeout and mode (poke | reschedule) apply.
 * One poke runs the query (outside any transaction).  Truthy: the first
 * column of the first row is not NULL, false, 0, "", "0", "f" or
 * "false".  No rows is not yet.  A connection failure is "not yet" too
 * (the reason is logged; the next poke reconnects); an SQL error fails
 * the try at once (a typo should not wait for the timeout).
 *
 * On success: XCom return_value = the first row as an object.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"
#include "operators/ops_int.h"
#include "operators/operators.h"
#include "operators/pgutil.h"
#include "common/banned.h"

static const char *const keys[] = {"connection", "sql", "parameters", NULL};

static void validate(const struct weir_node *task, struct weir_diags *d)
{
	const struct weir_node *s = weir_node_get(task, "sql");

	weir__sql_validate_common(task, d);
	if (s && s->kind == WEIR_NODE_SEQ)
		weir_diag_at(d, s, "sql_sensor takes one query in \"sql\", not a list");
}

struct poke {
	json_t *conn;
	const char *name;
	PGconn *c;
	struct weir__pg_params params;
	bool has_params;
};

static bool cell_truthy(PGresult *r)
{
	const char *s;

	if (PQntuples(r) == 0 || PQnfields(r) == 0 || PQgetisnull(r, 0, 0))
		return false;
	s = PQgetvalue(r, 0, 0);
	if (!*s || !strcmp(s, "0") || !strcasecmp(s, "f") || !strcasecmp(s, "false"))
		return false;
	/* numbers that are zero: 0.0, 0.000, -0 */
	{
		char *end;
		double v = strtod(s, &end);
		if (end != s && !*end && v == 0.0)
			return false;
	}
	return true;
}

static int poke(struct weir_task_ctx *ctx, void *arg, struct weir_buf *reason)
{
	struct poke *p = arg;
	const char *sql = weir__op_str(ctx, "sql");
	PGresult *r;
	bool lost;
	int rc = 0;

	if (!p->c) {
		p->c = weir__pg_connect(ctx, p->name, p->conn);
		if (!p->c) {
			weir_buf_addstr(reason, ctx->message.buf);
			weir_buf_reset(&ctx->message);
			return 0;
		}
	}
	r = weir__pg_run(ctx, p->c, "sql", sql, p->has_params ? &p->params : NULL, &lost);
	if (!r) {
		if (weir__op_interrupted(ctx))
			return -1;
		if (!lost)
			return -1; /* an SQL error: message set */
		weir_buf_addstr(reason, ctx->message.buf);
		weir_buf_reset(&ctx->message);
		PQfinish(p->c);
		p->c = NULL;
		return 0;
	}
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		weir_buf_setf(&ctx->message, "the sensor's query returned no rows (%s): use a SELECT", PQcmdStatus(r));
		rc = -1;
	} else if (PQntuples(r) == 0) {
		weir_buf_addstr(reason, "the query returned no rows");
	} else if (!cell_truthy(r)) {
		json_t *v = weir__pg_value(r, 0, 0);
		char *t = weir__op_json_brief(v);
		weir_buf_addf(reason, "the first cell is %s", t);
		free(t);
		json_decref(v);
	} else {
		rc = weir_task_xcom(ctx, "return_value", weir__pg_row(r, 0)) < 0 ? -1 : 1;
	}
	PQclear(r);
	return rc;
}

static enum weir_op_result run(struct weir_task_ctx *ctx)
{
	struct poke p = {0};
	enum weir_op_result res = WEIR_OP_FAILED;
	char *what = NULL;

	if (!weir__op_str(ctx, "sql")) {
		weir_buf_setf(&ctx->message, "\"sql\" must be one query (a string)");
		return WEIR_OP_FAILED;
	}
	p.has_params = json_object_get(ctx->config, "parameters") != NULL;
	if (weir__pg_params_from(ctx, json_object_get(ctx->config, "parameters"), &p.params) < 0)
		goto out;
	p.conn = weir__op_conn(ctx, "connection", "postgres");
	if (!p.conn)
		goto out;
	p.name = weir__op_str(ctx, "connection");
	what = weir_xasprintf("a truthy first cell from \"%s\"", p.name);
	res = weir__op_sensor_run(ctx, what, poke, &p);
out:
	if (p.c)
		PQfinish(p.c);
	weir__pg_params_release(&p.params);
	free(what);
	return res;
}

const struct weir_operator weir_op_sql_sensor = {
	.name = "sql_sensor",
	.keys = keys,
	.is_sensor = true,
	.full_runner = true,
	.validate = validate,
	.run = run,
};
