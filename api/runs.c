/*
 * runs.c: Airflow's DAG runs, task instances, task logs and XCom.
 *
 * Writes go through the store's batches, so every change is a
 * conditional state transition recorded in state_events and announced to
 * the owning scheduler by the database (weir_notify_change).  Runs are
 * created by weir_run_trigger (engine/runs.h), which validates the conf
 * keys that name params against the DAG.
 *
 * Airflow's run states are coarser than weir's; the mapping is
 *   RECEIVED, QUEUED -> queued; RUNNING -> running; SUCCESS -> success;
 *   FAILED, INVALID, ABORTED -> failed
 * and every DAGRun carries weir's exact state as "order_status".
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "common/error.h"
#include "common/log.h"
#include "common/str.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/runs.h"
#include "engine/spec.h"
#include "engine/state.h"

/* "~" stands for every DAG / run / task in Airflow's paths. */
static const char *tilde_null(const char *s)
{
	return strcmp(s, "~") ? s : NULL;
}

/* Airflow or weir state names -> a JSON array of weir run states. */
static int run_states(struct api_req *rq, struct api_resp *rs, json_t *in, const char *field,
		      const char **out)
{
	json_t *st = api_keep(rq, json_array());
	size_t i;
	json_t *v;

	*out = NULL;
	if (!in)
		return 0;
	json_array_foreach(in, i, v) {
		const char *s = json_string_value(v);
		enum weir_run_state w;
		if (!s) {
			api_error(rq, rs, 400, field, "%s must hold state names", field);
			return -1;
		}
		if (!strcmp(s, "queued")) {
			json_array_append_new(st, json_string("RECEIVED"));
			json_array_append_new(st, json_string("QUEUED"));
		} else if (!strcmp(s, "running")) {
			json_array_append_new(st, json_string("RUNNING"));
		} else if (!strcmp(s, "success")) {
			json_array_append_new(st, json_string("SUCCESS"));
		} else if (!strcmp(s, "failed")) {
			json_array_append_new(st, json_string("FAILED"));
			json_array_append_new(st, json_string("INVALID"));
			json_array_append_new(st, json_string("ABORTED"));
		} else if (weir_run_state_parse(s, &w) == 0) {
			json_array_append_new(st, json_string(weir_run_state_name(w)));
		} else {
			api_error(rq, rs, 400, field,
				  "unknown run state \"%s\" (queued, running, success, failed, or weir's RECEIVED ... ABORTED)",
				  s);
			return -1;
		}
	}
	*out = api_json_text(&rq->arena, st);
	return 0;
}

/* order_by -> the name of the listing statement. */
static const char *runs_statement(struct api_req *rq, const char *order)
{
	static const char *const keys[][2] = {
		{"id", "id"}, {"dag_run_id", "dag_run_id"}, {"run_id", "dag_run_id"},
		{"logical_date", "logical_date"}, {"execution_date", "logical_date"},
		{"start_date", "start_date"}, {"end_date", "end_date"}, {"state", "state"},
		{"dag_id", "dag_id"}, {"updated_at", "updated_at"},
		{"data_interval_start", "data_interval_start"}, {"data_interval_end", "data_interval_end"},
		{"run_type", "run_type"},
	};
	bool desc = order[0] == '-';
	const char *k = desc ? order + 1 : order;

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(keys); i++)
		if (!strcmp(k, keys[i][0]))
			return weir_arena_printf(&rq->arena, "api.runs.list:%s%s", desc ? "-" : "", keys[i][1]);
	return NULL;
}

/*
 * p: the 13 parameters of api.runs.list.  Without filters (the common
 * case: a DAG's runs page by page) the lighter api.runs.page statement
 * answers, with the total from the per-DAG counter.
 */
static void runs_list(struct api_req *rq, struct api_resp *rs, const char *p[13], const char *order)
{
	const char *stmt = runs_statement(rq, order ? order : "id");
	bool filtered = p[12] != NULL;

	if (!stmt) {
		api_error(rq, rs, 400, "order_by",
			  "order_by must be one of id, dag_run_id, logical_date, execution_date, start_date, end_date, state, dag_id, updated_at, data_interval_start, data_interval_end, run_type (with - to reverse)");
		return;
	}
	for (int i = 1; i < 10; i++)
		filtered |= p[i] != NULL;
	if (!filtered) {
		const char *q[3] = {p[0], p[10], p[11]};
		/* "api.runs.list:KEY" -> "api.runs.page:KEY" */
		const char *page = weir_arena_printf(&rq->arena, "api.runs.page:%s", stmt + strlen("api.runs.list:"));
		api_pass(rq, rs, 200, page, 3, q, "");
		return;
	}
	api_pass(rq, rs, 200, stmt, 13, p, "");
}

void api_h_runs_list(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {
		"limit", "offset", "execution_date_gte", "execution_date_lte", "start_date_gte",
		"start_date_lte", "end_date_gte", "end_date_lte", "updated_at_gte", "updated_at_lte",
		"state", "order_by", "fields", NULL,
	};
	static const char *const times[] = {
		"execution_date_gte", "execution_date_lte", "start_date_gte", "start_date_lte",
		"end_date_gte", "end_date_lte", "updated_at_gte", "updated_at_lte",
	};
	const char *p[13] = {0};

	if (api_args_known(rq, rs, known) < 0)
		return;
	p[0] = tilde_null(rq->param[0]);
	if (run_states(rq, rs, api_keep(rq, api_arg_list(rq, "state")), "state", &p[1]) < 0)
		return;
	for (int i = 0; i < 8; i++)
		if (api_arg_time(rq, rs, times[i], &p[2 + i]) < 0)
			return;
	if (api_paging(rq, rs, 100, 10000, &p[10], &p[11]) < 0)
		return;
	runs_list(rq, rs, p, api_arg(rq, "order_by"));
}

void api_h_runs_batch(struct api_req *rq, struct api_resp *rs)
{
	static const struct api_field fields[] = {
		{"order_by", API_F_STRING, true},      {"page_offset", API_F_INT, true},
		{"page_limit", API_F_INT, true},       {"dag_ids", API_F_STRINGS, true},
		{"states", API_F_STRINGS, true},       {"execution_date_gte", API_F_TIME, true},
		{"execution_date_lte", API_F_TIME, true}, {"start_date_gte", API_F_TIME, true},
		{"start_date_lte", API_F_TIME, true},  {"end_date_gte", API_F_TIME, true},
		{"end_date_lte", API_F_TIME, true},    {NULL, 0, false},
	};
	static const char *const times[] = {"execution_date_gte", "execution_date_lte", "start_date_gte",
					    "start_date_lte", "end_date_gte", "end_date_lte"};
	json_t *b = rq->json, *v;
	const char *p[13] = {0};
	int64_t limit = 100, offset = 0;

	if (api_body_check(rq, rs, b, fields) < 0)
		return;
	if (run_states(rq, rs, json_is_array(json_object_get(b, "states")) ? json_object_get(b, "states") : NULL,
		       "states", &p[1]) < 0)
		return;
	for (int i = 0; i < 6; i++) {
		v = json_object_get(b, times[i]);
		if (json_is_string(v))
			p[2 + i] = api_time_norm(&rq->arena, json_string_value(v), NULL);
	}
	v = json_object_get(b, "page_limit");
	if (json_is_integer(v)) {
		limit = json_integer_value(v);
		if (limit < 1 || limit > 10000) {
			api_error(rq, rs, 400, "page_limit", "page_limit must be 1 to 10000");
			return;
		}
	}
	v = json_object_get(b, "page_offset");
	if (json_is_integer(v)) {
		offset = json_integer_value(v);
		if (offset < 0 || offset > INT32_MAX) {
			api_error(rq, rs, 400, "page_offset", "page_offset must be 0 or more");
			return;
		}
	}
	p[10] = api_i64(&rq->arena, limit);
	p[11] = api_i64(&rq->arena, offset);
	v = json_object_get(b, "dag_ids");
	p[12] = json_is_array(v) ? api_json_text(&rq->arena, v) : NULL;
	runs_list(rq, rs, p,
		  json_is_string(json_object_get(b, "order_by")) ? json_string_value(json_object_get(b, "order_by"))
								 : NULL);
}

/* ------------------------------------------------------------------ */
/* one run                                                              */
/* ------------------------------------------------------------------ */

static void run_answer(struct api_req *rq, struct api_resp *rs, int status)
{
	const char *p[2] = {rq->param[0], rq->param[1]};

	api_pass(rq, rs, status, "api.run.get", 2, p, "no such DAG run");
}

void api_h_run_get(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"fields", NULL};

	if (api_args_known(rq, rs, known) == 0)
		run_answer(rq, rs, 200);
}

void api_h_run_post(struct api_req *rq, struct api_resp *rs)
{
	static const struct api_field fields[] = {
		{"dag_run_id", API_F_STRING, true},
		{"logical_date", API_F_TIME, true},
		{"execution_date", API_F_TIME, true},
		{"data_interval_start", API_F_TIME, true},
		{"data_interval_end", API_F_TIME, true},
		{"conf", API_F_OBJECT, true},
		{"note", API_F_STRING, true},
		{"dag_id", API_F_READONLY, false},
		{"start_date", API_F_READONLY, false},
		{"end_date", API_F_READONLY, false},
		{"last_scheduling_decision", API_F_READONLY, false},
		{"run_type", API_F_READONLY, false},
		{"state", API_F_READONLY, false},
		{"external_trigger", API_F_READONLY, false},
		{NULL, 0, false},
	};
	struct weir_trigger_req req = {0};
	struct weir_trigger_res res;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *b = rq->json, *v;
	const char *field = NULL, *p[1];
	char actor[160];
	int64_t ld = WEIR_TIME_NONE, ed = WEIR_TIME_NONE, t;
	int rc;

	if (api_body_check(rq, rs, b, fields) < 0)
		return;
	req.logical_date = req.interval_start = req.interval_end = WEIR_TIME_NONE;
	if (json_is_string(v = json_object_get(b, "logical_date")))
		api_time_norm(&rq->arena, json_string_value(v), &ld);
	if (json_is_string(v = json_object_get(b, "execution_date")))
		api_time_norm(&rq->arena, json_string_value(v), &ed);
	if (ld != WEIR_TIME_NONE && ed != WEIR_TIME_NONE && ld != ed) {
		api_error(rq, rs, 400, "execution_date", "execution_date and logical_date differ");
		return;
	}
	req.logical_date = ld != WEIR_TIME_NONE ? ld : ed;
	if (json_is_string(v = json_object_get(b, "data_interval_start")) &&
	    api_time_norm(&rq->arena, json_string_value(v), &t))
		req.interval_start = t;
	if (json_is_string(v = json_object_get(b, "data_interval_end")) &&
	    api_time_norm(&rq->arena, json_string_value(v), &t))
		req.interval_end = t;
	if ((req.interval_start == WEIR_TIME_NONE) != (req.interval_end == WEIR_TIME_NONE)) {
		api_error(rq, rs, 400, "data_interval_end", "give both data_interval_start and data_interval_end, or neither");
		return;
	}
	if (req.interval_start != WEIR_TIME_NONE && req.interval_start > req.interval_end) {
		api_error(rq, rs, 422, "data_interval_end", "the data interval ends before it starts");
		return;
	}
	if (req.interval_start != WEIR_TIME_NONE && req.logical_date == WEIR_TIME_NONE)
		req.logical_date = req.interval_start;
	req.dag_id = rq->param[0];
	req.run_id = json_string_value(json_object_get(b, "dag_run_id"));
	req.run_type = "api";
	req.conf = json_is_object(json_object_get(b, "conf")) ? json_object_get(b, "conf") : NULL;
	req.note = json_string_value(json_object_get(b, "note"));
	req.client_id = rq->who.client_id;
	snprintf(actor, sizeof(actor), "api:%s", rq->who.client_id ? rq->who.client_id : "?");
	req.actor = actor;
	if (!api_store(rq, rs))
		return;
	rc = weir_run_trigger(rq->st, &req, &res, &field, &err);
	if (rc == WEIR_ENOTFOUND) {
		api_error(rq, rs, 404, NULL, "no such DAG");
	} else if (rc == WEIR_EEXISTS) {
		api_error(rq, rs, 409, "dag_run_id", "%s", err.buf);
	} else if (rc == WEIR_EINVALID) {
		if (field && strcmp(field, "dag_run_id") && strcmp(field, "conf")) {
			const char *f = weir_arena_printf(&rq->arena, "conf.%s", field);
			api_error(rq, rs, 400, f, "%s", err.buf);
		} else {
			api_error(rq, rs, 400, field, "%s", err.buf);
		}
	} else if (rc < 0) {
		api_store_error(rq, rs, rc, "could not create the run", &err);
	} else {
		json_decref(res.params);
		p[0] = api_i64(&rq->arena, res.run_pk);
		api_pass(rq, rs, 200, "api.run.by_pk", 1, p, "the new run vanished");
	}
	weir_buf_release(&err);
}

/* The facts of the route's run ({run_pk, state, ...}); answers 404. */
static json_t *run_key(struct api_req *rq, struct api_resp *rs)
{
	const char *p[2] = {rq->param[0], rq->param[1]};
	json_t *k = NULL;
	int rc = api_query(rq, rs, "api.run.key", 2, p, &k);

	if (rc == WEIR_ENOTFOUND)
		api_error(rq, rs, 404, NULL, "no such DAG run");
	return rc == 0 ? k : NULL;
}

static int apply(struct api_req *rq, struct api_resp *rs, struct weir_batch *b, const char *what)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc = weir_store_apply(rq->st, b, &err);

	if (rc == WEIR_ECONFLICT || rc == WEIR_EILLEGAL || rc == WEIR_ESTALE)
		api_error(rq, rs, 409, NULL, "%s: the state changed meanwhile (%s); read it again and retry",
			  what, err.buf);
	else if (rc == WEIR_ENOTFOUND)
		api_error(rq, rs, 404, NULL, "%s: %s", what, err.buf);
	else if (rc < 0)
		api_store_error(rq, rs, rc, what, &err);
	weir_buf_release(&err);
	return rc;
}

static void actor_of(struct api_req *rq, char buf[160])
{
	snprintf(buf, 160, "api:%s", rq->who.client_id ? rq->who.client_id : "?");
}

void api_h_run_patch(struct api_req *rq, struct api_resp *rs)
{
	static const struct api_field fields[] = {{"state", API_F_STRING, false}, {NULL, 0, false}};
	const char *want;
	enum weir_run_state cur;
	struct weir_batch b;
	char actor[160];
	json_t *k;

	if (api_body_check(rq, rs, rq->json, fields) < 0)
		return;
	want = json_string_value(json_object_get(rq->json, "state"));
	if (!want) {
		api_error(rq, rs, 400, "state", "state is required (success, failed or queued)");
		return;
	}
	if (strcmp(want, "success") && strcmp(want, "failed") && strcmp(want, "queued")) {
		api_error(rq, rs, 400, "state", "state must be success, failed or queued");
		return;
	}
	if (!strcmp(want, "queued")) {
		api_error(rq, rs, 422, "state",
			  "weir does not re-run a run in place: trigger a new run, or clear task instances");
		return;
	}
	k = run_key(rq, rs);
	if (!k)
		return;
	if (weir_run_state_parse(api_jstr(k, "state"), &cur) < 0) {
		api_error(rq, rs, 500, NULL, "unknown run state in the database");
		return;
	}
	actor_of(rq, actor);
	if (!strcmp(want, "failed")) {
		if (cur == WEIR_RUN_FAILED || cur == WEIR_RUN_INVALID || cur == WEIR_RUN_ABORTED) {
			run_answer(rq, rs, 200);
			return;
		}
		if (cur == WEIR_RUN_SUCCESS) {
			api_error(rq, rs, 409, "state", "the run succeeded; a finished run's outcome never changes");
			return;
		}
		weir_batch_init(&b, actor);
		weir_batch_run_state(&b, json_integer_value(json_object_get(k, "run_pk")), cur, WEIR_RUN_ABORTED,
				     "marked failed through the API", NULL, WEIR_TIME_NONE);
		if (apply(rq, rs, &b, "could not abort the run") == 0)
			run_answer(rq, rs, 200);
		weir_batch_release(&b);
		return;
	}
	/* success: finish every unfinished task as success; the scheduler
	 * then completes the run. */
	if (cur == WEIR_RUN_SUCCESS) {
		run_answer(rq, rs, 200);
		return;
	}
	if (weir_run_state_terminal(cur)) {
		api_error(rq, rs, 409, "state", "the run is %s; a finished run's outcome never changes",
			  weir_run_state_name(cur));
		return;
	}
	if (cur == WEIR_RUN_RECEIVED) {
		api_error(rq, rs, 409, "state", "the run has not started yet; abort it instead");
		return;
	}
	{
		const char *p[1] = {api_i64(&rq->arena, json_integer_value(json_object_get(k, "run_pk")))};
		json_t *tis = NULL, *t;
		size_t i;
		if (api_query(rq, rs, "api.run.tis", 1, p, &tis) < 0)
			return;
		weir_batch_init(&b, actor);
		json_array_foreach(tis, i, t) {
			enum weir_ti_state s;
			if (weir_ti_state_parse(api_jstr(t, "state"), &s) < 0 || weir_ti_state_finished(s) ||
			    !weir_ti_legal(s, WEIR_TI_SUCCESS))
				continue;
			weir_batch_ti_state(&b, json_integer_value(json_object_get(k, "run_pk")), api_jstr(t, "task_id"),
					    s, WEIR_TI_SUCCESS, "marked success through the API", weir_now_us());
		}
		if (weir_batch_empty(&b) || apply(rq, rs, &b, "could not mark the run's tasks") == 0)
			run_answer(rq, rs, 200);
		weir_batch_release(&b);
	}
}

void api_h_run_delete(struct api_req *rq, struct api_resp *rs)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	enum weir_run_state cur;
	const char *p[1];
	json_t *k = run_key(rq, rs);
	long rows = 0;
	int rc;

	if (!k)
		return;
	if (weir_run_state_parse(api_jstr(k, "state"), &cur) < 0 || !weir_run_state_terminal(cur)) {
		api_error(rq, rs, 409, NULL, "the run is %s: abort it (PATCH state=failed) before deleting it",
			  api_jstr(k, "state"));
		return;
	}
	p[0] = api_i64(&rq->arena, json_integer_value(json_object_get(k, "run_pk")));
	rc = weir_store_exec(rq->st, "api.run.delete", 1, p, &rows, &err);
	if (rc < 0)
		api_store_error(rq, rs, rc, "could not delete the run", &err);
	else if (rows == 0)
		api_error(rq, rs, 409, NULL, "the run changed meanwhile");
	else
		api_empty(rs, 204);
	weir_buf_release(&err);
}

/* ------------------------------------------------------------------ */
/* task instances                                                       */
/* ------------------------------------------------------------------ */

static int ti_states(struct api_req *rq, struct api_resp *rs, const char **out)
{
	json_t *in = api_keep(rq, api_arg_list(rq, "state"));
	size_t i;
	json_t *v;

	*out = NULL;
	if (!in)
		return 0;
	json_array_foreach(in, i, v) {
		enum weir_ti_state s;
		const char *n = json_string_value(v);
		if (!strcmp(n, "null"))
			n = "none";
		if (weir_ti_state_parse(n, &s) < 0) {
			api_error(rq, rs, 400, "state", "unknown task state \"%s\"", json_string_value(v));
			return -1;
		}
		json_array_set_new(in, i, json_string(n));
	}
	*out = api_json_text(&rq->arena, in);
	return 0;
}

static int arg_number(struct api_req *rq, struct api_resp *rs, const char *key, const char **out)
{
	const char *v = api_arg(rq, key);
	char *end;
	double d;

	if (!v)
		return 0;
	d = strtod(v, &end);
	if (!*v || *end || d != d || d < -1e12 || d > 1e12) {
		api_error(rq, rs, 400, key, "%s must be a number", key);
		return -1;
	}
	*out = weir_arena_printf(&rq->arena, "%.6f", d);
	return 0;
}

void api_h_tis_list(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {
		"limit", "offset", "state", "pool", "queue", "executor", "start_date_gte",
		"start_date_lte", "end_date_gte", "end_date_lte", "duration_gte", "duration_lte", NULL,
	};
	const char *p[14] = {0};

	if (api_args_known(rq, rs, known) < 0 || ti_states(rq, rs, &p[0]) < 0)
		return;
	p[1] = api_json_text(&rq->arena, api_keep(rq, api_arg_list(rq, "pool")));
	p[2] = api_json_text(&rq->arena, api_keep(rq, api_arg_list(rq, "queue")));
	p[3] = api_json_text(&rq->arena, api_keep(rq, api_arg_list(rq, "executor")));
	if (api_arg_time(rq, rs, "start_date_gte", &p[4]) < 0 ||
	    api_arg_time(rq, rs, "start_date_lte", &p[5]) < 0 ||
	    api_arg_time(rq, rs, "end_date_gte", &p[6]) < 0 ||
	    api_arg_time(rq, rs, "end_date_lte", &p[7]) < 0 ||
	    arg_number(rq, rs, "duration_gte", &p[8]) < 0 || arg_number(rq, rs, "duration_lte", &p[9]) < 0 ||
	    api_paging(rq, rs, 100, 10000, &p[10], &p[11]) < 0)
		return;
	p[12] = tilde_null(rq->param[0]);
	p[13] = tilde_null(rq->param[1]);
	api_pass(rq, rs, 200, "api.tis.list", 14, p, "");
}

void api_h_ti_get(struct api_req *rq, struct api_resp *rs)
{
	const char *p[3] = {rq->param[0], rq->param[1], rq->param[2]};

	api_pass(rq, rs, 200, "api.ti.get", 3, p, "no such task instance");
}

static json_t *ti_key(struct api_req *rq, struct api_resp *rs)
{
	const char *p[3] = {rq->param[0], rq->param[1], rq->param[2]};
	json_t *k = NULL;
	int rc = api_query(rq, rs, "api.ti.key", 3, p, &k);

	if (rc == WEIR_ENOTFOUND)
		api_error(rq, rs, 404, NULL, "no such task instance");
	return rc == 0 ? k : NULL;
}

void api_h_ti_patch(struct api_req *rq, struct api_resp *rs)
{
	static const struct api_field fields[] = {
		{"dry_run", API_F_BOOL, false},
		{"new_state", API_F_STRING, false},
		{NULL, 0, false},
	};
	const char *want;
	enum weir_ti_state from, to;
	bool dry;
	json_t *k, *ref;
	char actor[160];

	if (api_body_check(rq, rs, rq->json, fields) < 0)
		return;
	want = json_string_value(json_object_get(rq->json, "new_state"));
	if (!want) {
		api_error(rq, rs, 400, "new_state", "new_state is required (success, failed or skipped)");
		return;
	}
	if (strcmp(want, "success") && strcmp(want, "failed") && strcmp(want, "skipped")) {
		api_error(rq, rs, 400, "new_state", "new_state must be success, failed or skipped");
		return;
	}
	/* Airflow's default: a dry run, unless told otherwise. */
	dry = !json_is_false(json_object_get(rq->json, "dry_run"));
	k = ti_key(rq, rs);
	if (!k)
		return;
	weir_ti_state_parse(want, &to);
	if (weir_ti_state_parse(api_jstr(k, "state"), &from) < 0) {
		api_error(rq, rs, 500, NULL, "unknown task state in the database");
		return;
	}
	if (from != to && !weir_ti_legal(from, to)) {
		api_error(rq, rs, 409, "new_state", "a task instance cannot go from %s to %s",
			  weir_ti_state_name(from), want);
		return;
	}
	if (!dry && from != to) {
		struct weir_batch b;
		actor_of(rq, actor);
		weir_batch_init(&b, actor);
		weir_batch_ti_state(&b, json_integer_value(json_object_get(k, "run_pk")), rq->param[2], from, to,
				    weir_arena_printf(&rq->arena, "set to %s through the API", want),
				    weir_now_us());
		if (apply(rq, rs, &b, "could not change the task instance") < 0) {
			weir_batch_release(&b);
			return;
		}
		weir_batch_release(&b);
	}
	ref = json_pack("{s:s, s:s, s:O, s:s}", "task_id", rq->param[2], "dag_id", rq->param[0],
			"execution_date", json_object_get(k, "logical_date"), "dag_run_id", rq->param[1]);
	api_json(rs, 200, ref ? ref : json_object());
}

/* ------------------------------------------------------------------ */
/* logs                                                                 */
/* ------------------------------------------------------------------ */

#define LOG_CHUNK (4u << 20)   /* JSON answer without full_content */
#define LOG_MAX (64u << 20)    /* never more than this in one answer */

/* The continuation token: base64url of {"log_pos": N, "end_of_log": b}. */
static const char *make_token(struct api_req *rq, uint64_t pos, bool end)
{
	char json[96], out[160];
	int n = snprintf(json, sizeof(json), "{\"log_pos\":%llu,\"end_of_log\":%s}",
			 (unsigned long long)pos, end ? "true" : "false");

	api_b64url(out, (const unsigned char *)json, (size_t)n);
	return weir_arena_strdup(&rq->arena, out);
}

static int read_token(struct api_req *rq, struct api_resp *rs, const char *tok, uint64_t *pos)
{
	unsigned char raw[128];
	size_t n = 0;
	json_t *j, *v;

	*pos = 0;
	if (!tok || !*tok)
		return 0;
	if (strlen(tok) > 160 ||
	    sodium_base642bin(raw, sizeof(raw) - 1, tok, strlen(tok), NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		goto bad;
	j = json_loadb((const char *)raw, n, 0, NULL);
	v = json_object_get(j, "log_pos");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		json_decref(j);
		goto bad;
	}
	*pos = (uint64_t)json_integer_value(v);
	json_decref(j);
	return 0;
bad:
	api_error(rq, rs, 400, "token", "invalid continuation token");
	return -1;
}

/* Copies text, replacing invalid UTF-8 with U+FFFD (JSON needs valid text). */
static char *utf8_clean(const char *s, size_t n, size_t *out_len)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t i = 0;

	weir_buf_grow(&b, n + 16);
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		bool ok = len > 0 && i + len <= n;
		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] >> 6) == 2;
		if (ok && len > 1) {
			/* Overlong forms, surrogates and values past U+10FFFF. */
			uint32_t cp = c & (0x7f >> len);
			for (size_t k = 1; k < len; k++)
				cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3f);
			ok = !((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
			       (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff);
		}
		if (ok && c != 0) {
			weir_buf_add(&b, s + i, len);
			i += len;
		} else {
			weir_buf_addstr(&b, c == 0 ? " " : "\xef\xbf\xbd");
			i++;
		}
	}
	return weir_buf_detach(&b, out_len);
}

void api_h_ti_logs(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"full_content", "token", "map_index", NULL};
	int64_t try_number, map_index = -1;
	int full = 0;
	uint64_t pos = 0, size;
	json_t *k, *tr = NULL;
	const char *p[3];
	char *path;
	struct stat sb;
	bool finished;
	int fd;

	if (api_args_known(rq, rs, known) < 0 || api_arg_bool(rq, rs, "full_content", &full) < 0 ||
	    api_arg_int(rq, rs, "map_index", -1, -1, &map_index) < 0)
		return;
	if (weir_str_to_i64(rq->param[3], &try_number) < 0 || try_number < 1 || try_number > 100000) {
		api_error(rq, rs, 400, "task_try_number", "the try number must be a whole number from 1");
		return;
	}
	if (!full && read_token(rq, rs, api_arg(rq, "token"), &pos) < 0)
		return;
	k = ti_key(rq, rs);
	if (!k)
		return;
	p[0] = api_i64(&rq->arena, json_integer_value(json_object_get(k, "run_pk")));
	p[1] = rq->param[2];
	p[2] = api_i64(&rq->arena, try_number);
	if (api_query(rq, rs, "api.try.get", 3, p, &tr) == WEIR_ENOTFOUND) {
		api_error(rq, rs, 404, NULL, "task %s has no try %lld", rq->param[2], (long long)try_number);
		return;
	}
	if (!tr)
		return; /* answered */
	finished = json_is_true(json_object_get(tr, "finished"));
	/* The path comes from the ids (escaped component by component, see
	 * engine/spec.h), never from the request's text directly. */
	path = weir_spec_try_path(rq->ctx->home, rq->param[0], rq->param[1], rq->param[2], (int)try_number,
				  WEIR_SPEC_LOG);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd >= 0 && (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))) {
		close(fd);
		fd = -1;
	}
	size = fd >= 0 ? (uint64_t)sb.st_size : 0;
	if (pos > size)
		pos = size;
	if (api_accepts_text(rq->accept)) {
		uint64_t n = size - pos > LOG_MAX ? LOG_MAX : size - pos;
		if (fd < 0 || n == 0) {
			if (fd >= 0)
				close(fd);
			api_text(rs, 200, "text/plain; charset=utf-8", "", 0);
		} else {
			api_empty(rs, 200);
			rs->content_type = "text/plain; charset=utf-8";
			rs->fd = fd;
			rs->fd_off = pos;
			rs->len = (size_t)n;
		}
		api_header(rq, rs, "X-Continuation-Token", make_token(rq, pos + n, finished && pos + n >= size));
		return;
	}
	{
		uint64_t want = full ? LOG_MAX : LOG_CHUNK;
		uint64_t n = size - pos > want ? want : size - pos;
		char *raw = weir_xmalloc((size_t)n + 1), *clean;
		size_t got = 0, clen;
		while (fd >= 0 && got < n) {
			ssize_t r = pread(fd, raw + got, (size_t)(n - got), (off_t)(pos + got));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (fd >= 0)
			close(fd);
		/* Do not split a UTF-8 sequence at the end of a chunk. */
		if (pos + got < size) {
			size_t back = 0;
			while (back < 3 && back < got && (((unsigned char)raw[got - 1 - back]) >> 6) == 2)
				back++;
			if (back < got && ((unsigned char)raw[got - 1 - back]) >= 0xc0)
				got -= back + 1;
		}
		clean = utf8_clean(raw, got, &clen);
		free(raw);
		api_json(rs, 200,
			 json_pack("{s:s%, s:s}", "content", clean, clen, "continuation_token",
				   make_token(rq, pos + got, finished && pos + got >= size)));
		free(clean);
	}
}

/* ------------------------------------------------------------------ */
/* XCom                                                                 */
/* ------------------------------------------------------------------ */

void api_h_xcom_list(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"limit", "offset", "xcom_key", "map_index", NULL};
	const char *p[6];
	int64_t mi = -1;

	if (api_args_known(rq, rs, known) < 0 || api_arg_int(rq, rs, "map_index", -1, -1, &mi) < 0 ||
	    api_paging(rq, rs, 100, 10000, &p[4], &p[5]) < 0)
		return;
	p[0] = tilde_null(rq->param[0]);
	p[1] = tilde_null(rq->param[1]);
	p[2] = tilde_null(rq->param[2]);
	p[3] = api_arg(rq, "xcom_key");
	api_pass(rq, rs, 200, "api.xcom.list", 6, p, "");
}

void api_h_xcom_get(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"map_index", "deserialize", "stringify", NULL};
	const char *p[4] = {rq->param[0], rq->param[1], rq->param[2], rq->param[3]};
	int stringify = 1, deserialize = 0;
	int64_t mi = -1;
	json_t *j = NULL, *v;

	if (api_args_known(rq, rs, known) < 0 || api_arg_int(rq, rs, "map_index", -1, -1, &mi) < 0 ||
	    api_arg_bool(rq, rs, "stringify", &stringify) < 0 ||
	    api_arg_bool(rq, rs, "deserialize", &deserialize) < 0)
		return;
	if (api_query_or_answer(rq, rs, "api.xcom.get", 4, p, &j, "no such XCom entry") < 0)
		return;
	v = json_object_get(j, "value");
	/* Airflow's default (stringify=true) gives the value as text. */
	if (stringify && !json_is_string(v)) {
		char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		json_object_set_new(j, "value", json_string(t ? t : ""));
		free(t);
	}
	api_json(rs, 200, j);
}
