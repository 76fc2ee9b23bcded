/*
 * file_sensor.c: wait until files matching a glob exist.
 *
 *   path: "/data/in/NAME-*.csv"   a glob (templated)
 *   min_size: 1K             every match must be at least this big
 *   stable_for: 10s          ... and unchanged in size for this long
 *
 * A sensor: poke_interval, timeout and mode (poke | reschedule) apply.
 */
#include <string.h>

#include "engine/operator.h"
#include "operators/operators.h"

static const char *const keys[] = {"path", "min_size", "stable_for", NULL};

static void validate(const struct weir_node *task, struct weir_diags *d)
{
	const struct weir_node *p = weir_op_want_string(task, "path", true, d);
	const struct weir_node *m = weir_node_get(task, "min_size");
	const struct weir_node *s = weir_node_get(task, "stable_for");

	if (p && p->len == 0)
		weir_diag_at(d, p, "\"path\" is empty");
	if (m && (m->kind != WEIR_NODE_SCALAR || weir_node_is_null(m)))
		weir_diag_at(d, m, "\"min_size\" must be a size like 1024 or 10M");
	if (s && (s->kind != WEIR_NODE_SCALAR || weir_node_is_null(s)))
		weir_diag_at(d, s, "\"stable_for\" must be a duration like \"10s\"");
}

const struct weir_operator weir_op_file_sensor = {
	.name = "file_sensor",
	.keys = keys,
	.is_sensor = true,
	.validate = validate,
};
