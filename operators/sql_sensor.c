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

#include "common/error.h"
#include "common/xalloc.h"
#include "engine/sqlclient.h"
#include "operators/ops_int.h"
#include "operators/operators.h"
#include "operators/sql_int.h"
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
	struct weir_sqlconn *c;
	json_t *params; /* NULL: the simple protocol */
};

/* text: the first cell as PostgreSQL's text (NULL: no rows, no columns or SQL NULL). */
static bool cell_truthy(const char *text)
{
	if (!text)
		return false;
	if (!*text || !strcmp(text, "0") || !strcasecmp(text, "f") || !strcasecmp(text, "false"))
		return false;
	/* numbers that are zero: 0.0, 0.000, -0 */
	{
		char *end;
		double v = strtod(text, &end);
		if (end != text && !*end && v == 0.0)
			return false;
	}
	return true;
}

static int poke(struct weir_task_ctx *ctx, void *arg, struct weir_buf *reason)
{
	struct poke *p = arg;
	const char *sql = weir__op_str(ctx, "sql");
	struct weir_sqlclient_result r = WEIR_SQLCLIENT_RESULT_INIT;
	int rc;

	if (!p->c) {
		if (weir__sql_connect(ctx, p->name, p->conn, &p->c) < 0) {
			weir_buf_addstr(reason, ctx->message.buf);
			weir_buf_reset(&ctx->message);
			return 0;
		}
	}
	rc = weir_sqlclient_run(p->c, "sql", sql, p->params, WEIR_SQLCLIENT_ROWS_FIRST, &r, &ctx->message);
	if (rc < 0) {
		if (weir__op_interrupted(ctx))
			return -1;
		if (rc != WEIR_ECONN)
			return -1; /* an SQL error: message set */
		weir_buf_addstr(reason, ctx->message.buf);
		weir_buf_reset(&ctx->message);
		weir_sqlclient_close(p->c);
		p->c = NULL;
		return 0;
	}
	rc = 0;
	if (!r.has_rows) {
		weir_buf_setf(&ctx->message, "the sensor's query returned no rows (%s): use a SELECT", r.command);
		rc = -1;
	} else if (r.nrows == 0) {
		weir_buf_addstr(reason, "the query returned no rows");
	} else if (!cell_truthy(r.first_text)) {
		char *t = weir__op_json_brief(r.first_cell);
		weir_buf_addf(reason, "the first cell is %s", t);
		free(t);
	} else {
		rc = weir_task_xcom(ctx, "return_value", json_incref(json_array_get(r.rows, 0))) < 0 ? -1 : 1;
	}
	weir_sqlclient_result_release(&r);
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
	p.params = json_object_get(ctx->config, "parameters");
	if (weir_sqlclient_params_check(p.params, &ctx->message) < 0)
		goto out;
	p.conn = weir__op_conn(ctx, "connection", "postgres");
	if (!p.conn)
		goto out;
	p.name = weir__op_str(ctx, "connection");
	what = weir_xasprintf("a truthy first cell from \"%s\"", p.name);
	res = weir__op_sensor_run(ctx, what, poke, &p);
out:
	weir_sqlclient_close(p.c);
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
