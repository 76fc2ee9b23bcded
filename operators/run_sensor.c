/*
 * run_sensor.c: wait until another DAG's run (or one of its tasks)
 * reaches a state.
 *
 *   dag_id: ingest                 the DAG (templated)
 *   run_id: "{{ run_id }}"         a run of it (templated), or "latest"
 *                                  (default): its run with the latest
 *                                  logical date, looked up at every poke
 *   task_id: load                  optional: watch this task instance
 *   states: [success]              the states that satisfy the sensor
 *                                  (default [success]): run states
 *                                  (success, failed, invalid, aborted,
 *                                  running, queued, received) or, with
 *                                  task_id, task states (success,
 *                                  skipped, failed, upstream_failed, ...)
 *   failed_states: [failed]        states that fail the sensor at once
 *                                  (default none)
 *
 * A sensor: poke_interval, timeout and mode (poke | reschedule) apply.
 * Needs weir's database (needs_store): one query per poke.  Not yet: no
 * such run (yet), no such task instance, or another state.
 *
 * On success: XCom return_value = {"dag_id", "run_id", "state"}.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/xalloc.h"
#include "operators/ops_int.h"
#include "operators/operators.h"
#include "operators/storeutil.h"
#include "common/banned.h"

static const char *const keys[] = {"dag_id", "run_id", "task_id", "states", "failed_states", NULL};
static const char *const run_states[] = {"received", "queued", "running", "success", "failed",
					 "invalid", "aborted", NULL};
static const char *const ti_states[] = {"none", "scheduled", "queued", "running", "success", "failed",
					"up_for_retry", "up_for_reschedule", "upstream_failed", "skipped",
					"removed", NULL};

static bool in_names(const char *s, const char *const *names)
{
	for (size_t i = 0; names[i]; i++)
		if (!strcasecmp(names[i], s))
			return true;
	return false;
}

static void validate_states(const struct weir_node *task, const char *key, bool of_task,
			    struct weir_diags *d)
{
	const struct weir_node *v = weir_op_want_string_list(task, key, false, d);
	const char *const *names = of_task ? ti_states : run_states;

	if (!v)
		return;
	if (v->n == 0 && !strcmp(key, "states"))
		weir_diag_at(d, v, "\"states\" is empty: the sensor could never succeed");
	for (size_t i = 0; i < v->n; i++) {
		struct weir_buf list = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		if (in_names(v->items[i]->str, names))
			continue;
		for (size_t k = 0; names[k]; k++)
			weir_buf_addf(&list, "%s%s", k ? ", " : "", names[k]);
		weir_diag_at(d, v->items[i], "invalid %s state \"%s\" (expected one of: %s)",
			     of_task ? "task" : "run", v->items[i]->str, list.buf);
		weir_buf_release(&list);
	}
}

static void validate(const struct weir_node *task, struct weir_diags *d)
{
	bool of_task = weir_node_get(task, "task_id") != NULL;

	weir__op_want_id(task, "dag_id", true, "DAG id", d);
	weir__op_want_text(task, "run_id", false, d);
	weir__op_want_id(task, "task_id", false, "task id", d);
	validate_states(task, "states", of_task, d);
	validate_states(task, "failed_states", of_task, d);
}

struct poke {
	struct weir_store *st;
	const char *dag_id, *run_id, *task_id; /* run_id NULL: latest */
	json_t *states, *failed;
};

/* States are compared without case: runs are stored as SUCCESS, tasks as success. */
static bool state_in(const char *state, json_t *list)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && !strcasecmp(json_string_value(v), state))
			return true;
	return false;
}

static int poke(struct weir_task_ctx *ctx, void *arg, struct weir_buf *reason)
{
	struct poke *p = arg;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *params[3] = {p->dag_id, p->run_id, p->task_id};
	const char *state, *run_id;
	json_t *row = NULL;
	int rc;

	rc = weir_store_query_json(p->st, "ops.run_state", 3, params, &row, &err);
	if (rc == WEIR_ENOTFOUND) {
		if (p->run_id)
			weir_buf_addf(reason, "DAG \"%s\" has no run \"%s\"", p->dag_id, p->run_id);
		else
			weir_buf_addf(reason, "DAG \"%s\" has no runs", p->dag_id);
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		/* The store reconnects by itself; a lasting error is "not yet"
		 * until the sensor times out. */
		weir_buf_addf(reason, "could not query weir's database: %s", err.buf);
		rc = 0;
		goto out;
	}
	run_id = json_string_value(json_object_get(row, "run_id"));
	state = json_string_value(json_object_get(row, p->task_id ? "task_state" : "state"));
	if (!state) {
		weir_buf_addf(reason, "run \"%s\" of DAG \"%s\" has no task \"%s\"", run_id, p->dag_id, p->task_id);
		rc = 0;
		goto out;
	}
	if (state_in(state, p->failed)) {
		if (p->task_id)
			weir_buf_setf(&ctx->message, "task \"%s\" of run \"%s\" of DAG \"%s\" is %s (one of failed_states)",
				      p->task_id, run_id, p->dag_id, state);
		else
			weir_buf_setf(&ctx->message, "run \"%s\" of DAG \"%s\" is %s (one of failed_states)", run_id,
				      p->dag_id, state);
		rc = -1;
		goto out;
	}
	if (!state_in(state, p->states)) {
		if (p->task_id)
			weir_buf_addf(reason, "task \"%s\" of run \"%s\" is %s", p->task_id, run_id, state);
		else
			weir_buf_addf(reason, "run \"%s\" is %s", run_id, state);
		rc = 0;
		goto out;
	}
	rc = weir_task_xcom(ctx, "return_value",
			    json_pack("{s:s, s:s, s:s}", "dag_id", p->dag_id, "run_id", run_id, "state", state)) < 0
		     ? -1
		     : 1;
out:
	json_decref(row);
	weir_buf_release(&err);
	return rc;
}

static enum weir_op_result run(struct weir_task_ctx *ctx)
{
	struct poke p = {0};
	struct weir_buf what = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	enum weir_op_result res = WEIR_OP_FAILED;
	json_t *states = json_object_get(ctx->config, "states");
	json_t *failed = json_object_get(ctx->config, "failed_states");

	p.dag_id = weir__op_str(ctx, "dag_id");
	p.run_id = weir__op_str(ctx, "run_id");
	p.task_id = weir__op_str(ctx, "task_id");
	if (!p.dag_id || !*p.dag_id) {
		weir_buf_setf(&ctx->message, "run_sensor needs \"dag_id\"");
		goto out;
	}
	if (p.run_id && (!*p.run_id || !strcmp(p.run_id, "latest")))
		p.run_id = NULL;
	if ((states && !json_is_array(states)) || (failed && !json_is_array(failed))) {
		weir_buf_setf(&ctx->message, "\"states\" and \"failed_states\" must be lists of state names");
		goto out;
	}
	p.states = states ? json_incref(states) : json_pack("[s]", "success");
	p.failed = failed ? json_incref(failed) : json_array();
	p.st = weir__op_store_open(ctx);
	if (!p.st)
		goto out;
	if (p.task_id)
		weir_buf_addf(&what, "task \"%s\" of ", p.task_id);
	if (p.run_id)
		weir_buf_addf(&what, "run \"%s\"", p.run_id);
	else
		weir_buf_addstr(&what, "the latest run");
	weir_buf_addf(&what, " of DAG \"%s\" to be ", p.dag_id);
	{
		size_t i;
		json_t *v;
		json_array_foreach(p.states, i, v)
			weir_buf_addf(&what, "%s%s", i ? " or " : "", json_string_value(v));
	}
	res = weir__op_sensor_run(ctx, what.buf, poke, &p);
out:
	if (p.st)
		weir_store_close(p.st);
	json_decref(p.states);
	json_decref(p.failed);
	weir_buf_release(&what);
	return res;
}

const struct weir_operator weir_op_run_sensor = {
	.name = "run_sensor",
	.keys = keys,
	.is_sensor = true,
	.full_runner = true,
	.needs_store = true,
	.validate = validate,
	.run = run,
};
