/*
 * pgutil.h: PostgreSQL for the sql operators (private to operators/;
 * full library only).
 *
 * Connections come from spec.connections (type postgres): host, port,
 * login, password, schema (the database name) and extra (more libpq
 * keywords, e.g. sslmode).  Parameters are always bound, never spliced
 * into SQL.  Statements run asynchronously, so a stop signal or the
 * execution deadline cancels a long query on the server (PQcancel)
 * instead of leaving the runner blocked in libpq.
 */
#ifndef WEIR_OPERATORS_PGUTIL_H
#define WEIR_OPERATORS_PGUTIL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "common/vec.h"
#include "engine/operator.h"

/*
 * Connects with the connection `conn` (named name, for messages).
 * Returns the connection, or NULL with ctx->message set.
 */
PGconn *weir__pg_connect(struct weir_task_ctx *ctx, const char *name, json_t *conn);

/*
 * Parameters from a JSON list: strings as they are, numbers and booleans
 * as their JSON text, objects and arrays as JSON text, null as SQL NULL
 * (a NULL pointer).  0, or WEIR_EINVALID with ctx->message.
 */
struct weir__pg_params {
	int n;
	char **v;   /* n values; NULL for SQL NULL */
};
int weir__pg_params_from(struct weir_task_ctx *ctx, json_t *list, struct weir__pg_params *p);
void weir__pg_params_release(struct weir__pg_params *p);

/*
 * Runs sql.  With params (not NULL): one statement, given the first k
 * parameters, where k is the number the statement uses (so one list can
 * serve several statements).  Without: the simple protocol (several
 * statements in one string are allowed).  Returns the last result
 * (PGRES_TUPLES_OK or PGRES_COMMAND_OK; PQclear it), or NULL with
 * ctx->message set ("sql[1]: ERROR:  ..."); *conn_lost tells a broken
 * connection from an SQL error.  label names the statement in messages.
 */
PGresult *weir__pg_run(struct weir_task_ctx *ctx, PGconn *c, const char *label, const char *sql,
		       const struct weir__pg_params *params, bool *conn_lost);

/* connection (required, postgres), sql, parameters: shared by sql and sql_sensor (sql.c). */
struct weir_node;
struct weir_diags;
void weir__sql_validate_common(const struct weir_node *task, struct weir_diags *d);

/* A row as a JSON object {column: value} (types mapped; new reference). */
json_t *weir__pg_row(PGresult *r, int row);
/* One cell as JSON (new reference). */
json_t *weir__pg_value(PGresult *r, int row, int col);

#endif
