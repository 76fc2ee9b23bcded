/*
 * sql.c: the `sql` operator: statements against a PostgreSQL connection,
 * in one transaction.
 *
 *   connection: warehouse        a postgres connection (required)
 *   sql: "DELETE FROM t WHERE day = $1"      one statement, or a list
 *   sql:                                     run in order, all in one
 *     - "DELETE FROM t WHERE day = $1"       transaction (BEGIN ...
 *     - "INSERT INTO t SELECT ..."           COMMIT; any error rolls
 *                                            back everything)
 *   parameters: ["{{ ds }}"]     bound as $1, $2, ... (never spliced into
 *                                the SQL text); each statement gets as
 *                                many as it uses
 *   fetch: none | one | all      what the last statement returns ->
 *                                XCom return_value (default none)
 *   autocommit: true             no transaction (for VACUUM, CREATE
 *                                INDEX CONCURRENTLY); each statement
 *                                commits on its own
 *
 * With parameters each list item must be one statement (the extended
 * protocol); without, an item may hold several separated by ';'.
 *
 * XCom: rowcount (rows returned or affected by the last statement), and
 * with fetch: one -> the first row as an object (null when none); all ->
 * a list of row objects.  Values are typed: booleans, integers, numbers,
 * json/jsonb as JSON, NULL as null, everything else as text.  A result
 * larger than xcom_max_bytes fails the try (say fetch: none, or select
 * less).
 *
 * Errors (connection, SQL) fail the try; the task's retries apply.  The
 * execution deadline and a stop cancel a running statement on the server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/time.h"
#include "common/xalloc.h"
#include "engine/sqlclient.h"
#include "operators/ops_int.h"
#include "operators/operators.h"
#include "operators/sql_int.h"
#include "common/banned.h"

#define CONNECT_TIMEOUT_S 30

static const char *const keys[] = {"connection", "sql", "parameters", "fetch", "autocommit", NULL};
static const char *const fetch_names[] = {"none", "one", "all", NULL};

/* sql: a non-empty string or list of them. */
static void validate_sql(const struct weir_node *task, struct weir_diags *d)
{
	const struct weir_node *s = weir_node_get(task, "sql");
	const struct weir_node *op = weir_node_get(task, "operator");

	if (!s) {
		weir_diag_at(d, task, "%s task needs \"sql\" (a statement or a list of them)",
			     op && op->kind == WEIR_NODE_SCALAR ? op->str : "sql");
		return;
	}
	if (s->kind == WEIR_NODE_SEQ) {
		if (s->n == 0)
			weir_diag_at(d, s, "\"sql\" is an empty list");
		for (size_t i = 0; i < s->n; i++) {
			const struct weir_node *x = s->items[i];
			if (x->kind != WEIR_NODE_SCALAR || weir_node_scalar_type(x) != WEIR_SCALAR_STRING)
				weir_diag_at(d, x, "\"sql\" items must be strings (statements), not %s",
					     weir_node_kind_name(x));
			else if (x->len == 0)
				weir_diag_at(d, x, "empty statement in \"sql\"");
		}
	} else if (s->kind != WEIR_NODE_SCALAR || weir_node_scalar_type(s) != WEIR_SCALAR_STRING) {
		weir_diag_at(d, s, "\"sql\" must be a statement (a string) or a list of them, not %s",
			     weir_node_kind_name(s));
	} else if (s->len == 0) {
		weir_diag_at(d, s, "\"sql\" is empty");
	}
}

/* parameters: a list of scalars (or lists/mappings, sent as JSON). */
static void validate_params(const struct weir_node *task, struct weir_diags *d)
{
	const struct weir_node *p = weir_node_get(task, "parameters");

	if (p && p->kind != WEIR_NODE_SEQ)
		weir_diag_at(d, p, "\"parameters\" must be a list (bound as $1, $2, ...), not %s",
			     weir_node_kind_name(p));
}

void weir__sql_validate_common(const struct weir_node *task, struct weir_diags *d)
{
	weir__op_want_conn(task, "connection", true, "a postgres connection", d);
	validate_sql(task, d);
	validate_params(task, d);
}

static void validate(const struct weir_node *task, struct weir_diags *d)
{
	weir__sql_validate_common(task, d);
	weir__op_want_enum(task, "fetch", fetch_names, d);
	weir__op_want_bool(task, "autocommit", d);
}

/* For weir_sqlclient: a stop or the deadline cancels the statement. */
static bool task_interrupted(void *arg)
{
	return weir__op_interrupted(arg);
}

int weir__sql_connect(struct weir_task_ctx *ctx, const char *name, json_t *conn, struct weir_sqlconn **out)
{
	long ms = weir__op_deadline_ms(ctx);
	char app[80];
	struct weir_sqlclient_opts opts = {
		.application_name = app,
		.connect_timeout_s = ms < 0 || ms / 1000 > CONNECT_TIMEOUT_S ? CONNECT_TIMEOUT_S : ms / 1000 + 1,
		.interrupted = task_interrupted,
		.arg = ctx,
	};

	snprintf(app, sizeof(app), "weir:%.30s.%.30s", json_string_value(json_object_get(ctx->spec, "dag_id")),
		 json_string_value(json_object_get(ctx->spec, "task_id")));
	weir_buf_reset(&ctx->message);
	return weir_sqlclient_connect(conn, name, &opts, out, &ctx->message);
}

static enum weir_op_result run(struct weir_task_ctx *ctx)
{
	json_t *conn, *sql = json_object_get(ctx->config, "sql"), *list = NULL, *item;
	json_t *params = json_object_get(ctx->config, "parameters"); /* NULL: the simple protocol */
	const char *fetch = weir__op_str(ctx, "fetch");
	bool autocommit = false;
	enum weir_op_result res = WEIR_OP_FAILED;
	enum weir_sqlclient_rows want = WEIR_SQLCLIENT_ROWS_NONE;
	struct weir_sqlclient_result last = WEIR_SQLCLIENT_RESULT_INIT;
	struct weir_sqlconn *c = NULL;
	int64_t t0 = weir_mono_us();
	size_t i;

	if (!fetch)
		fetch = "none";
	if (strcmp(fetch, "none") && strcmp(fetch, "one") && strcmp(fetch, "all")) {
		weir_buf_setf(&ctx->message, "\"fetch\" must be none, one or all");
		goto out;
	}
	if (!strcmp(fetch, "one"))
		want = WEIR_SQLCLIENT_ROWS_FIRST;
	else if (!strcmp(fetch, "all"))
		want = WEIR_SQLCLIENT_ROWS_ALL;
	if (json_is_string(sql)) {
		list = json_pack("[O]", sql);
	} else if (json_is_array(sql) && json_array_size(sql) > 0) {
		list = json_incref(sql);
	} else {
		weir_buf_setf(&ctx->message, "\"sql\" must be a statement or a list of them");
		goto out;
	}
	if (weir__op_bool(ctx, "autocommit", false, &autocommit) < 0 ||
	    weir_sqlclient_params_check(params, &ctx->message) < 0)
		goto out;
	conn = weir__op_conn(ctx, "connection", "postgres");
	if (!conn)
		goto out;
	if (weir__sql_connect(ctx, weir__op_str(ctx, "connection"), conn, &c) < 0)
		goto out;
	weir_task_log(ctx, "connected to \"%s\" (%s:%s, database %s)%s", weir__op_str(ctx, "connection"),
		      weir_sqlclient_host(c), weir_sqlclient_port(c), weir_sqlclient_dbname(c),
		      autocommit ? "; autocommit" : "");
	if (!autocommit && weir_sqlclient_begin(c, &ctx->message) < 0)
		goto out;
	json_array_foreach(list, i, item) {
		char label[32], rows[24] = "";
		bool is_last = i + 1 == json_array_size(list);
		if (!json_is_string(item)) {
			weir_buf_setf(&ctx->message, "\"sql\" item %zu is not a string", i);
			goto out;
		}
		if (json_array_size(list) > 1)
			snprintf(label, sizeof(label), "sql[%zu]", i);
		else
			snprintf(label, sizeof(label), "sql");
		weir_sqlclient_result_release(&last);
		/* Only the last statement's rows can be fetched: convert no others. */
		if (weir_sqlclient_run(c, label, json_string_value(item), params,
				       is_last ? want : WEIR_SQLCLIENT_ROWS_NONE, &last, &ctx->message) < 0)
			goto out; /* the transaction dies with the connection */
		if (last.has_rows && last.affected >= 0)
			snprintf(rows, sizeof(rows), "%lld", (long long)last.affected);
		weir_task_log(ctx, "%s: %s%s%s", label, last.command[0] ? last.command : "done",
			      last.has_rows ? ", rows: " : "", rows);
	}
	if (!autocommit && weir_sqlclient_commit(c, &ctx->message) < 0)
		goto out;
	weir_task_log(ctx, "%s in %.3fs", autocommit ? "done" : "committed", (double)(weir_mono_us() - t0) / 1e6);
	{
		int64_t n = last.has_rows ? last.nrows : (last.affected >= 0 ? last.affected : 0);
		if (weir_task_xcom(ctx, "rowcount", json_integer((json_int_t)n)) < 0)
			goto out;
	}
	if (want != WEIR_SQLCLIENT_ROWS_NONE) {
		json_t *v;
		if (!last.has_rows) {
			weir_buf_setf(&ctx->message, "fetch: %s, but the last statement returned no rows (%s)", fetch,
				      last.command);
			goto out;
		}
		if (want == WEIR_SQLCLIENT_ROWS_FIRST)
			v = json_array_size(last.rows) > 0 ? json_incref(json_array_get(last.rows, 0)) : json_null();
		else
			v = json_incref(last.rows);
		if (weir_task_xcom(ctx, "return_value", v) < 0) {
			weir_buf_addstr(&ctx->message, " (fetch fewer rows, or fetch: none)");
			goto out;
		}
	}
	res = WEIR_OP_SUCCESS;
out:
	if (res != WEIR_OP_SUCCESS && ctx->message.len)
		weir_task_log(ctx, "%s", ctx->message.buf);
	weir_sqlclient_result_release(&last);
	weir_sqlclient_close(c);
	json_decref(list);
	return res;
}

const struct weir_operator weir_op_sql = {
	.name = "sql",
	.keys = keys,
	.full_runner = true,
	.validate = validate,
	.run = run,
};
