/*
 * storeutil.h: weir's own database, for operators with needs_store
 * (trigger_dag, run_sensor; full library only).
 *
 * The starter puts the URL into the spec as "weir_database_url" (masked
 * in the log) only for such operators; the task process otherwise never
 * talks to weir's database (taskrun.h).
 */
#ifndef WEIR_OPERATORS_STOREUTIL_H
#define WEIR_OPERATORS_STOREUTIL_H

#include "engine/operator.h"
#include "engine/store.h"

/* Opens the store; NULL with ctx->message set. */
struct weir_store *weir__op_store_open(struct weir_task_ctx *ctx);

#endif
