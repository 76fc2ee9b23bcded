/*
 * dag_names.c: names of the DAG model's enums (trigger rules, executors,
 * param types...).  Apart from dag_load.c so that code which only needs
 * the names (the lean task runner) does not link the YAML loader.
 */
#include "engine/dag.h"
#include "engine/dag_int.h"

const char *const weir__trigger_names[WEIR_TRIGGER__COUNT + 1] = {
	"all_success", "all_failed", "all_done", "one_success", "one_failed", "one_done",
	"none_failed", "none_skipped", "none_failed_min_one_success", "always", NULL,
};
const char *const weir__executor_names[WEIR_EXECUTOR__COUNT + 1] = {
	"local", "container", "amqp", NULL,
};
const char *const weir__param_type_names[WEIR_PARAM__COUNT + 1] = {
	"string", "integer", "number", "boolean", "object", "array", "wkt", "geojson", NULL,
};
const char *const weir__weight_rule_names[] = {"downstream", "upstream", "absolute", NULL};
const char *const weir__mode_names[] = {"poke", "reschedule", NULL};

const char *weir_trigger_rule_name(enum weir_trigger_rule r)
{
	return (unsigned)r < WEIR_TRIGGER__COUNT ? weir__trigger_names[r] : "?";
}

const char *weir_executor_name(enum weir_executor_kind e)
{
	return (unsigned)e < WEIR_EXECUTOR__COUNT ? weir__executor_names[e] : "?";
}

const char *weir_param_type_name(enum weir_param_type t)
{
	return (unsigned)t < WEIR_PARAM__COUNT ? weir__param_type_names[t] : "?";
}

