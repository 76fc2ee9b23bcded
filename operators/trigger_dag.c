/*
 * trigger_dag.c: start a run of another DAG, optionally wait for it.
 *
 *   dag_id: publish                  the DAG to run (templated)
 *   conf: {day: "{{ ds }}"}          the run's conf (templated values)
 *   run_id: "pub__{{ ds }}"          optional (templated); default
 *                                    "triggered__DAG.TASK__RUN" of this
 *                                    task and run (see retries below)
 *   wait: true                       wait until the run ends: success
 *                                    only when it ends SUCCESS (default
 *                                    false: success once it is created)
 *   poll_interval: 10s               how often to look while waiting
 *                                    (default 5s)
 *
 * Needs weir's database (needs_store).  The run is created as a user
 * trigger would create it (engine/runs.h weir_run_trigger: params from
 * conf, the DAG's recorded definition), with actor "task:DAG.TASK"; the
 * owning scheduler starts it within milliseconds.
 *
 * Retries: the default run id is the same for every try of this task in
 * this run, so a retry after a crash finds the run an earlier try
 * created and reuses it instead of starting a second one.  An explicit
 * run_id that already exists fails the try.
 *
 * Waiting respects the execution deadline (execution_timeout): the try
 * then fails as timed out; the triggered run goes on.
 *
 * XCom: run_id, order_id, and state (the final state, when waiting).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/runs.h"
#include "operators/ops_int.h"
#include "operators/operators.h"
#include "operators/storeutil.h"
#include "common/banned.h"

static const char *const keys[] = {"dag_id", "conf", "run_id", "wait", "poll_interval", NULL};

static void validate(const struct weir_node *task, struct weir_diags *d)
{
	const struct weir_node *rid = weir__op_want_text(task, "run_id", false, d);

	weir__op_want_id(task, "dag_id", true, "DAG id", d);
	weir_op_want_map(task, "conf", false, d);
	weir__op_want_bool(task, "wait", d);
	weir__op_want_duration(task, "poll_interval", true, d);
	if (rid && !weir__op_templated(rid) && !weir_run_id_valid(rid->str))
		weir_diag_at(d, rid, "invalid run id \"%s\" (1 to 250 of A-Z a-z 0-9 _ . : + @ , = ~ -)", rid->str);
	if (weir_node_get(task, "poll_interval") && !weir_node_get(task, "wait"))
		weir_diag_at(d, weir_node_key(task, "poll_interval"), "\"poll_interval\" applies with \"wait: true\" only");
}

/* 64-bit FNV-1a, to shorten long default run ids without collisions. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static char *default_run_id(struct weir_task_ctx *ctx)
{
	json_t *spec = ctx->spec;
	char *id = weir_xasprintf("triggered__%s.%s__%s", json_string_value(json_object_get(spec, "dag_id")),
				  json_string_value(json_object_get(spec, "task_id")),
				  json_string_value(json_object_get(spec, "run_id")));

	if (!weir_run_id_valid(id)) {
		/* Too long (or odd characters in the parent's run id). */
		char *shorter = weir_xasprintf("triggered__%.200s~%016llx", id + 11, (unsigned long long)fnv1a(id));
		for (char *p = shorter; *p; p++)
			if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:+@,=~-", *p))
				*p = '_';
		free(id);
		id = shorter;
	}
	return id;
}

static bool terminal(const char *state)
{
	return !strcmp(state, "SUCCESS") || !strcmp(state, "FAILED") || !strcmp(state, "INVALID") ||
	       !strcmp(state, "ABORTED");
}

static enum weir_op_result run(struct weir_task_ctx *ctx)
{
	struct weir_trigger_req req = {0};
	struct weir_trigger_res tres = {0};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_store *st = NULL;
	enum weir_op_result res = WEIR_OP_FAILED;
	json_t *conf = json_object_get(ctx->config, "conf"), *row = NULL;
	const char *dag_id = weir__op_str(ctx, "dag_id"), *field = NULL;
	char *run_id = NULL, *actor = NULL, state[32] = "";
	char order[WEIR_UUID_STRLEN] = "";
	bool wait = false, given = weir__op_str(ctx, "run_id") != NULL;
	int64_t interval = 5 * WEIR_US_PER_SEC;
	int rc;

	if (!dag_id || !*dag_id) {
		weir_buf_setf(&ctx->message, "trigger_dag needs \"dag_id\"");
		goto out;
	}
	if (conf && !json_is_object(conf)) {
		weir_buf_setf(&ctx->message, "\"conf\" must be a mapping");
		goto out;
	}
	if (weir__op_bool(ctx, "wait", false, &wait) < 0 ||
	    weir__op_duration(ctx, "poll_interval", interval, &interval) < 0)
		goto out;
	if (interval < WEIR_US_PER_SEC / 10)
		interval = WEIR_US_PER_SEC / 10;
	run_id = given ? weir_xstrdup(weir__op_str(ctx, "run_id")) : default_run_id(ctx);
	actor = weir_xasprintf("task:%s.%s", json_string_value(json_object_get(ctx->spec, "dag_id")),
			       json_string_value(json_object_get(ctx->spec, "task_id")));
	st = weir__op_store_open(ctx);
	if (!st)
		goto out;

	req.dag_id = dag_id;
	req.run_id = run_id;
	req.run_type = "manual";
	req.conf = conf;
	req.logical_date = WEIR_TIME_NONE;
	req.interval_start = req.interval_end = WEIR_TIME_NONE;
	req.note = actor;
	req.actor = actor;
	rc = weir_run_trigger(st, &req, &tres, &field, &err);
	if (rc == WEIR_EEXISTS && !given) {
		const char *p[2] = {dag_id, run_id};
		weir_buf_reset(&err);
		if (weir_store_query_json(st, "ops.run_by_id", 2, p, &row, &err) < 0) {
			weir_buf_setf(&ctx->message, "could not look up run \"%s\" of DAG \"%s\": %s", run_id, dag_id,
				      err.buf);
			goto out;
		}
		snprintf(order, sizeof(order), "%s", json_string_value(json_object_get(row, "order_id")));
		tres.run_pk = json_integer_value(json_object_get(row, "run_pk"));
		weir_task_log(ctx, "run \"%s\" of DAG \"%s\" exists already (an earlier try created it): using it",
			      run_id, dag_id);
	} else if (rc < 0) {
		weir_buf_setf(&ctx->message, "could not trigger DAG \"%s\": %s", dag_id, err.buf);
		goto out;
	} else {
		weir_uuid_format(&tres.order_id, order);
		weir_task_log(ctx, "triggered run \"%s\" of DAG \"%s\" (order %s)%s", tres.run_id, dag_id, order,
			      tres.paused ? "; the DAG is paused: the run waits until it is unpaused" : "");
	}
	if (weir_task_xcom(ctx, "run_id", json_string(run_id)) < 0 ||
	    weir_task_xcom(ctx, "order_id", json_string(order)) < 0)
		goto out;
	if (!wait) {
		res = WEIR_OP_SUCCESS;
		goto out;
	}

	for (;;) {
		char pk[32];
		const char *p[1] = {pk};
		const char *s;
		snprintf(pk, sizeof(pk), "%lld", (long long)tres.run_pk);
		json_decref(row);
		row = NULL;
		weir_buf_reset(&err);
		rc = weir_store_query_json(st, "run.by_pk", 1, p, &row, &err);
		if (rc < 0 && rc != WEIR_ECONN) {
			weir_buf_setf(&ctx->message, "could not read the state of run \"%s\": %s", run_id, err.buf);
			goto out;
		}
		s = rc == 0 ? json_string_value(json_object_get(row, "state")) : NULL;
		if (s && strcmp(s, state)) {
			weir_task_log(ctx, "run \"%s\" of DAG \"%s\" is %s", run_id, dag_id, s);
			snprintf(state, sizeof(state), "%s", s);
		}
		if (s && terminal(s))
			break;
		if (weir_task_sleep(ctx, weir_now_us() + interval) < 0)
			goto out; /* deadline or stop: the runner words it */
	}
	if (weir_task_xcom(ctx, "state", json_string(state)) < 0)
		goto out;
	if (strcmp(state, "SUCCESS")) {
		weir_buf_setf(&ctx->message, "run \"%s\" of DAG \"%s\" ended %s", run_id, dag_id, state);
		goto out;
	}
	res = WEIR_OP_SUCCESS;
out:
	if (res != WEIR_OP_SUCCESS && ctx->message.len)
		weir_task_log(ctx, "%s", ctx->message.buf);
	if (st)
		weir_store_close(st);
	json_decref(row);
	json_decref(tres.params);
	weir_buf_release(&err);
	free(run_id);
	free(actor);
	return res;
}

const struct weir_operator weir_op_trigger_dag = {
	.name = "trigger_dag",
	.keys = keys,
	.full_runner = true,
	.needs_store = true,
	.validate = validate,
	.run = run,
};
