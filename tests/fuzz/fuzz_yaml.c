/*
 * fuzz_yaml.c: the DAG file loader on arbitrary bytes.
 *
 * Exercises the YAML event parser with its limits (depth, expanded nodes,
 * aliases, merge keys), every validator, cron/duration/timezone parsing
 * and template checks.  Invariants: no crash, no leak, and a result that
 * is either a model (with no diagnostics) or diagnostics (with no model).
 */
#include <stdint.h>
#include <stdlib.h>

#include "engine/dag.h"
#include "engine/operator.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	weir_operators_register_all();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	int rc;

	weir_diags_init(&d, "fuzz.yaml");
	rc = weir_dag_load_text("fuzz.yaml", (const char *)data, size, &dag, &d);
	if ((rc == 0) != (dag != NULL) || (rc == 0) != (weir_diags_count(&d) == 0))
		abort();
	if (dag) {
		json_t *j = weir_dag_to_json(dag);
		json_decref(j);
		for (uint32_t i = 0; i < dag->ntasks; i++)
			if (weir_dag_task_index(dag, dag->tasks[i].id) != (long)i)
				abort();
	}
	weir_dag_unref(dag);
	weir_diags_release(&d);
	return 0;
}
