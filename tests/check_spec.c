/* check_spec.c: hand-built task specs (check_spec.h). */
#include "tests/check_spec.h"

#include <stdlib.h>

#include "common/xalloc.h"

json_t *check_spec_new(const char *op, json_t *config, json_t *ctx, const char *attempt_id,
		       const char *run_dir, const char *log_dir)
{
	json_t *spec = json_object();
	char *p;

	json_object_set_new(spec, "version", json_integer(1));
	json_object_set_new(spec, "dag_id", json_string("d"));
	json_object_set_new(spec, "run_id", json_string("r"));
	json_object_set_new(spec, "task_id", json_string("t"));
	json_object_set_new(spec, "try_number", json_integer(1));
	json_object_set_new(spec, "max_tries", json_integer(1));
	json_object_set_new(spec, "attempt_id", json_string(attempt_id));
	json_object_set_new(spec, "operator", json_string(op));
	json_object_set_new(spec, "config", config);
	json_object_set_new(ctx, "run_dir", json_string(run_dir));
	json_object_set_new(spec, "context", ctx);
	p = weir_xasprintf("%s/1.log", log_dir);
	json_object_set_new(spec, "log_path", json_string(p));
	free(p);
	p = weir_xasprintf("%s/1.result.json", log_dir);
	json_object_set_new(spec, "result_path", json_string(p));
	free(p);
	p = weir_xasprintf("%s/1.xcom.json", log_dir);
	json_object_set_new(spec, "xcom_path", json_string(p));
	free(p);
	json_object_set_new(spec, "invalid_exit_code", json_null());
	json_object_set_new(spec, "branch", json_false());
	json_object_set_new(spec, "downstream", json_array());
	json_object_set_new(spec, "sensor", json_null());
	json_object_set_new(spec, "deadline_us", json_null());
	json_object_set_new(spec, "limits", json_null());
	json_object_set_new(spec, "xcom_max_bytes", json_integer(65536));
	json_object_set_new(spec, "secrets", json_array());
	return spec;
}
