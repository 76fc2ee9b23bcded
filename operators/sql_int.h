/*
 * sql_int.h: what sql.c shares with sql_sensor.c (private to these two;
 * full library only).  The database itself is reached through
 * engine/sqlclient.h: nothing in operators/ sees libpq.
 */
#ifndef WEIR_OPERATORS_SQL_INT_H
#define WEIR_OPERATORS_SQL_INT_H

#include <jansson.h>

#include "engine/diag.h"
#include "engine/node.h"
#include "engine/operator.h"
#include "engine/sqlclient.h"

/* connection (required, postgres), sql, parameters: shared by sql and sql_sensor. */
void weir__sql_validate_common(const struct weir_node *task, struct weir_diags *d);

/*
 * Connects for the task with the connection conn (borrowed; named name in
 * messages): application_name "weir:DAG.TASK", a connect timeout within
 * the execution deadline (at most 30 s), and statements cancelled when
 * the task must stop (weir__op_interrupted).  0 with *out set, or < 0
 * with the reason in ctx->message.
 */
int weir__sql_connect(struct weir_task_ctx *ctx, const char *name, json_t *conn, struct weir_sqlconn **out);

#endif
