/*
 * check_spec.h: task specs built by hand for tests that run
 * weir_taskrun() in the test's own process (as `weir tasks test` does).
 */
#ifndef WEIR_CHECK_SPEC_H
#define WEIR_CHECK_SPEC_H

#include <jansson.h>

/*
 * A spec for task "t" of DAG "d", run "r", try 1 of 1, with the members
 * every operator reads (no deadline, limits or sensor; 64 KiB of xcom;
 * no secrets).  Steals config and ctx; ctx gets "run_dir" = run_dir.
 * The log, result and xcom files are log_dir/1.log, 1.result.json and
 * 1.xcom.json.  Returns a new reference.
 */
json_t *check_spec_new(const char *op, json_t *config, json_t *ctx, const char *attempt_id,
		       const char *run_dir, const char *log_dir);

#endif
