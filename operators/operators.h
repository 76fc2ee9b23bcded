/*
 * operators.h: the operators shipped with weir (one file each; the keys
 * and outcomes of each are in docs/operators.md).
 *
 * Light (libc + jansson; carried by the lean runner `weir-task`,
 * registry_light.c): command, file_sensor, python, node.
 * Full (libpq / libcurl; `weir task run`, registry.c): http, sql,
 * sql_sensor, http_sensor, run_sensor, trigger_dag, notify.
 */
#ifndef WEIR_OPERATORS_H
#define WEIR_OPERATORS_H

#include "engine/operator.h"

extern const struct weir_operator weir_op_command;
extern const struct weir_operator weir_op_file_sensor;
extern const struct weir_operator weir_op_python;
extern const struct weir_operator weir_op_node;

extern const struct weir_operator weir_op_http;
extern const struct weir_operator weir_op_sql;
extern const struct weir_operator weir_op_sql_sensor;
extern const struct weir_operator weir_op_http_sensor;
extern const struct weir_operator weir_op_run_sensor;
extern const struct weir_operator weir_op_trigger_dag;
extern const struct weir_operator weir_op_notify;

/*
 * DAG-level callbacks (on_success / on_failure) may use notify like any
 * operator: weir_operator_find("notify") gives its keys and validate(),
 * which accepts a bare mapping (no "id") and words its messages without
 * a task.  See docs/operators.md, "notify as a DAG callback".
 */

#endif
