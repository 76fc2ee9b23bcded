/*
 * operator.h: what a task does.
 *
 * Each operator is one file in operators/ exporting a const struct
 * weir_operator.  The engine knows operators only through this table:
 * operators/ registers them at start-up (weir_operators_register_all), and
 * the DAG loader looks them up by name.
 *
 *   keys      the operator-specific task keys it accepts (the loader rejects
 *             other keys with a "did you mean" hint drawn from these and
 *             the common task keys)
 *   validate  called at DAG load with the task's mapping node; reports
 *             problems in its own keys with positions; must not do I/O.
 *             (Templates in every string value are checked by the loader.)
 *   run       called in the task process (later issues add the context)
 */
#ifndef WEIR_OPERATOR_H
#define WEIR_OPERATOR_H

#include <stdbool.h>

#include "engine/diag.h"
#include "engine/node.h"

struct weir_task_ctx;

/* Outcomes of run(). */
enum weir_op_result {
	WEIR_OP_SUCCESS,
	WEIR_OP_FAILED,
	WEIR_OP_SKIPPED,
	WEIR_OP_INVALID,    /* the input is unusable: the run becomes INVALID */
	WEIR_OP_RESCHEDULE, /* sensors: not yet, poke again later */
};

struct weir_operator {
	const char *name;
	const char *const *keys; /* NULL-terminated */
	bool is_sensor;          /* accepts poke_interval, timeout, mode */
	void (*validate)(const struct weir_node *task, struct weir_diags *d);
	enum weir_op_result (*run)(struct weir_task_ctx *ctx);
};

/* Registration happens once at start-up, before any thread starts. */
void weir_operator_register(const struct weir_operator *op);
const struct weir_operator *weir_operator_find(const char *name);
/* NULL-terminated list of registered names (for hints); static storage. */
const char *const *weir_operator_names(void);

/* Implemented in operators/: registers every shipped operator. */
void weir_operators_register_all(void);

/*
 * Helpers for validate(): each reports a positioned error when the key is
 * present with the wrong type (and, when required, when it is missing) and
 * returns the node, or NULL.
 */
const struct weir_node *weir_op_want_string(const struct weir_node *task, const char *key,
					    bool required, struct weir_diags *d);
const struct weir_node *weir_op_want_string_list(const struct weir_node *task, const char *key,
						 bool required, struct weir_diags *d);
const struct weir_node *weir_op_want_map(const struct weir_node *task, const char *key,
					 bool required, struct weir_diags *d);

#endif
