/*
 * dags.c: /api/v1/dags (Airflow's DAG, DAGDetail, Task shapes), the DAG
 * source, DAG uploads and /api/v1/importErrors.
 *
 * UPLOADS.  POST /api/v1/dags and PUT /api/v1/dags/{dag_id} take a YAML
 * DAG file, validate it with the loader the CLI and the scheduler use
 * (errors with line and column), and write it into the DAG folder
 * atomically: to a hidden temporary file in the same folder (DAG scans
 * skip hidden files), then rename(2).  The scheduler's inotify watch sees
 * the new file and loads it; the API writes no DAG rows itself, so there
 * is exactly one path from a file to the database.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "engine/dag.h"
#include "engine/diag.h"
#include "engine/operator.h"
#include "engine/runs.h"
#include "engine/spec.h"
#include "engine/tz.h"

/* ------------------------------------------------------------------ */
/* GET /api/v1/dags                                                     */
/* ------------------------------------------------------------------ */

static bool order_ok(const char *v, const char *const *keys)
{
	const char *k = v[0] == '-' ? v + 1 : v;

	for (size_t i = 0; keys[i]; i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

void api_h_dags_list(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"limit", "offset", "order_by", "tags", "only_active",
					    "paused", "dag_id_pattern", "fields", NULL};
	static const char *const orders[] = {"dag_id", "is_paused", "last_parsed_time",
					     "next_dagrun", "fileloc", NULL};
	const char *p[7];
	int only_active = 1, paused = -1;
	json_t *tags;

	if (api_args_known(rq, rs, known) < 0 || api_paging(rq, rs, 100, 10000, &p[0], &p[1]) < 0 ||
	    api_arg_bool(rq, rs, "only_active", &only_active) < 0 ||
	    api_arg_bool(rq, rs, "paused", &paused) < 0)
		return;
	p[2] = api_arg(rq, "order_by") ? api_arg(rq, "order_by") : "dag_id";
	if (!order_ok(p[2], orders)) {
		api_error(rq, rs, 400, "order_by",
			  "order_by must be one of dag_id, is_paused, last_parsed_time, next_dagrun, fileloc (with - to reverse)");
		return;
	}
	tags = api_keep(rq, api_arg_list(rq, "tags"));
	p[3] = api_json_text(&rq->arena, tags);
	p[4] = only_active ? "true" : "false";
	p[5] = paused < 0 ? NULL : paused ? "true" : "false";
	p[6] = api_arg(rq, "dag_id_pattern");
	api_pass(rq, rs, 200, "api.dags.list", 7, p, "");
}

void api_h_dag_get(struct api_req *rq, struct api_resp *rs)
{
	const char *p[1] = {rq->param[0]};

	api_pass(rq, rs, 200, "api.dag.get", 1, p, "no such DAG");
}

/* ------------------------------------------------------------------ */
/* PATCH /api/v1/dags/{dag_id}                                          */
/* ------------------------------------------------------------------ */

static const char *const dag_fields[] = {
	"dag_id", "dag_display_name", "is_paused", "is_active", "last_parsed_time", "last_pickled",
	"last_expired", "scheduler_lock", "pickle_id", "default_view", "fileloc", "file_token",
	"owners", "description", "schedule_interval", "timetable_description", "tags",
	"max_active_tasks", "max_active_runs", "has_task_concurrency_limits", "has_import_errors",
	"next_dagrun", "next_dagrun_data_interval_start", "next_dagrun_data_interval_end",
	"next_dagrun_create_after", "max_consecutive_failed_dag_runs", "is_service", "timezone", NULL,
};

void api_h_dag_patch(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"update_mask", NULL};
	json_t *b = rq->json, *mask, *v, *paused;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *k, *p[2];
	size_t i;
	long rows = 0;
	int rc;

	if (api_args_known(rq, rs, known) < 0)
		return;
	mask = api_keep(rq, api_arg_list(rq, "update_mask"));
	json_array_foreach(mask, i, v) {
		if (strcmp(json_string_value(v), "is_paused")) {
			api_error(rq, rs, 400, "update_mask", "only is_paused can be updated, not \"%s\"",
				  json_string_value(v));
			return;
		}
	}
	/* Every member must be a DAG field; without an update mask, the
	 * read-only ones may not appear (with one, they are ignored, so a
	 * client can send back what it read). */
	json_object_foreach(b, k, v) {
		bool known_field = false;
		for (size_t f = 0; dag_fields[f] && !known_field; f++)
			known_field = !strcmp(dag_fields[f], k);
		if (!known_field) {
			api_error(rq, rs, 400, k, "unknown field \"%s\"", k);
			return;
		}
		if (!mask && strcmp(k, "is_paused")) {
			api_error(rq, rs, 400, k, "field \"%s\" is read-only", k);
			return;
		}
	}
	paused = json_object_get(b, "is_paused");
	if (!json_is_boolean(paused)) {
		api_error(rq, rs, 400, "is_paused", "is_paused must be true or false");
		return;
	}
	if (!api_store(rq, rs))
		return;
	p[0] = rq->param[0];
	p[1] = json_is_true(paused) ? "true" : "false";
	rc = weir_store_exec(rq->st, "api.dag.pause", 2, p, &rows, &err);
	if (rc < 0)
		api_store_error(rq, rs, rc, "could not pause the DAG", &err);
	else if (rows == 0)
		api_error(rq, rs, 404, NULL, "no such DAG");
	else
		api_h_dag_get(rq, rs);
	weir_buf_release(&err);
}

/* ------------------------------------------------------------------ */
/* details and tasks (from the DAG model)                               */
/* ------------------------------------------------------------------ */

static json_t *timedelta(int64_t us)
{
	int64_t days = us / WEIR_US_PER_DAY, rest = us % WEIR_US_PER_DAY;

	return json_pack("{s:s, s:I, s:I, s:I}", "__type", "TimeDelta", "days", (json_int_t)days, "seconds",
			 (json_int_t)(rest / WEIR_US_PER_SEC), "microseconds",
			 (json_int_t)(rest % WEIR_US_PER_SEC));
}

static json_t *iso_or_null(int64_t us)
{
	char b[WEIR_ISO_BUFSZ];
	return us == WEIR_TIME_NONE ? json_null() : json_string(weir_iso_format(us, WEIR_ISO_OFFSET, b));
}

static const char *weight_rule_name(enum weir_weight_rule w)
{
	return w == WEIR_WEIGHT_UPSTREAM ? "upstream" : w == WEIR_WEIGHT_ABSOLUTE ? "absolute" : "downstream";
}

static json_t *task_json(const struct weir_dag *dag, const struct weir_task *t)
{
	json_t *down = json_array(), *j;

	for (uint32_t e = 0; e < t->n_downstream; e++)
		json_array_append_new(down, json_string(dag->tasks[t->downstream[e]].id));
	j = json_pack("{s:{s:s, s:s}, s:s, s:s, s:s, s:o, s:o, s:s, s:[], s:b, s:b, s:b, s:i, s:s, s:s,"
		      " s:s, s:i, s:o, s:o, s:b, s:i, s:s, s:s, s:s, s:[], s:n, s:o, s:o}",
		      "class_ref", "module_path", "weir.operators", "class_name", t->operator_name,
		      "task_id", t->id, "task_display_name", t->id, "owner", dag->owner ? dag->owner : "",
		      "start_date", iso_or_null(dag->start_date), "end_date", iso_or_null(dag->end_date),
		      "trigger_rule", weir_trigger_rule_name(t->trigger_rule), "extra_links",
		      "depends_on_past", 0, "is_mapped", 0, "wait_for_downstream", 0,
		      "retries", t->retries, "queue", t->queue ? t->queue : "default",
		      "executor", weir_executor_name(t->executor), "pool", t->pool ? t->pool : "default_pool",
		      "pool_slots", t->pool_slots,
		      "execution_timeout", t->execution_timeout_us ? timedelta(t->execution_timeout_us) : json_null(),
		      "retry_delay", timedelta(t->retry_delay_us),
		      "retry_exponential_backoff", t->retry_exponential_backoff,
		      "priority_weight", t->priority_weight, "weight_rule", weight_rule_name(t->weight_rule),
		      "ui_color", "#ffffff", "ui_fgcolor", "#000000", "template_fields", "sub_dag",
		      "downstream_task_ids", down,
		      "doc_md", t->description ? json_string(t->description) : json_null());
	if (!j) {
		/* json_pack fails only on invalid UTF-8, which the loader rejects. */
		json_decref(down);
		j = json_pack("{s:s}", "task_id", t->id);
	}
	json_object_set_new(j, "upstream_task_ids", json_array());
	for (uint32_t e = 0; e < t->n_upstream; e++)
		json_array_append_new(json_object_get(j, "upstream_task_ids"),
				      json_string(dag->tasks[t->upstream[e]].id));
	json_object_set_new(j, "branch", json_boolean(t->branch));
	return j;
}

/* Loads the recorded definition of the route's DAG; answers 404. */
static struct weir_dag *load_dag(struct api_req *rq, struct api_resp *rs)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_dag *dag = NULL;
	int rc;

	if (!api_store(rq, rs))
		return NULL;
	rc = weir_run_load_dag(rq->st, rq->param[0], &dag, NULL, NULL, &err);
	if (rc == WEIR_ENOTFOUND) {
		api_error(rq, rs, 404, NULL, "no such DAG");
		dag = NULL;
	} else if (rc < 0) {
		api_store_error(rq, rs, rc, "could not load the DAG", &err);
		dag = NULL;
	}
	weir_buf_release(&err);
	return dag;
}

static json_t *param_schema(const struct weir_param *p)
{
	static const char *const types[] = {
		[WEIR_PARAM_STRING] = "string", [WEIR_PARAM_INTEGER] = "integer",
		[WEIR_PARAM_NUMBER] = "number", [WEIR_PARAM_BOOLEAN] = "boolean",
		[WEIR_PARAM_OBJECT] = "object", [WEIR_PARAM_ARRAY] = "array",
		[WEIR_PARAM_WKT] = "string",    [WEIR_PARAM_GEOJSON] = "object",
	};
	json_t *s = json_pack("{s:s}", "type", p->type < WEIR_PARAM__COUNT ? types[p->type] : "string");

	if (p->type == WEIR_PARAM_WKT || p->type == WEIR_PARAM_GEOJSON)
		json_object_set_new(s, "format", json_string(weir_param_type_name(p->type)));
	if (p->enum_values)
		json_object_set(s, "enum", p->enum_values);
	if (p->has_minimum)
		json_object_set_new(s, "minimum", json_real(p->minimum));
	if (p->has_maximum)
		json_object_set_new(s, "maximum", json_real(p->maximum));
	if (p->pattern)
		json_object_set_new(s, "pattern", json_string(p->pattern));
	return s;
}

void api_h_dag_details(struct api_req *rq, struct api_resp *rs)
{
	const char *p[1] = {rq->param[0]};
	struct weir_dag *dag;
	json_t *j = NULL, *params;

	if (api_query_or_answer(rq, rs, "api.dag.get", 1, p, &j, "no such DAG") < 0)
		return;
	dag = load_dag(rq, rs);
	if (!dag) {
		json_decref(j);
		return;
	}
	params = json_object();
	for (size_t i = 0; i < dag->nparams; i++) {
		const struct weir_param *pm = &dag->params[i];
		json_t *o = json_pack("{s:s, s:O, s:o, s:b}", "__class", "airflow.models.param.Param",
				      "value", pm->default_value ? pm->default_value : json_null(),
				      "schema", param_schema(pm), "required", pm->required);
		if (pm->description)
			json_object_set_new(o, "description", json_string(pm->description));
		json_object_set_new(params, pm->name, o);
	}
	json_object_set_new(j, "timezone", json_string(weir_tz_name(dag->tz)));
	json_object_set_new(j, "catchup", json_boolean(dag->catchup));
	json_object_set_new(j, "orientation", json_string("LR"));
	json_object_set_new(j, "concurrency", json_integer(dag->max_active_tasks));
	json_object_set_new(j, "start_date", iso_or_null(dag->start_date));
	json_object_set_new(j, "end_date", iso_or_null(dag->end_date));
	json_object_set_new(j, "dag_run_timeout", json_null());
	json_object_set_new(j, "dataset_expression", json_null());
	json_object_set_new(j, "doc_md", dag->description ? json_string(dag->description) : json_null());
	json_object_set_new(j, "params", params);
	json_object_set_new(j, "is_paused_upon_creation", json_boolean(dag->is_paused_upon_creation));
	json_object_set(j, "last_parsed", json_object_get(j, "last_parsed_time"));
	json_object_set_new(j, "template_search_path", json_null());
	json_object_set_new(j, "render_template_as_native_obj", json_false());
	json_object_set_new(j, "file_hash", json_string(dag->hash));
	if (dag->service)
		json_object_set_new(j, "max_area_km2", dag->max_area_km2 > 0 ? json_real(dag->max_area_km2)
									  : json_null());
	weir_dag_unref(dag);
	api_json(rs, 200, j);
}

void api_h_dag_tasks(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"order_by", NULL};
	const char *order = api_arg(rq, "order_by");
	struct weir_dag *dag;
	json_t *tasks;

	if (api_args_known(rq, rs, known) < 0)
		return;
	if (order && strcmp(order, "task_id") && strcmp(order, "-task_id")) {
		api_error(rq, rs, 400, "order_by", "order_by must be task_id or -task_id");
		return;
	}
	dag = load_dag(rq, rs);
	if (!dag)
		return;
	tasks = json_array();
	for (uint32_t i = 0; i < dag->ntasks; i++) {
		uint32_t k = order && order[0] == '-' ? dag->by_id[dag->ntasks - 1 - i] : dag->by_id[i];
		json_array_append_new(tasks, task_json(dag, &dag->tasks[k]));
	}
	api_json(rs, 200, json_pack("{s:o, s:i}", "tasks", tasks, "total_entries", (int)dag->ntasks));
	weir_dag_unref(dag);
}

void api_h_dag_task(struct api_req *rq, struct api_resp *rs)
{
	struct weir_dag *dag = load_dag(rq, rs);
	long k;

	if (!dag)
		return;
	k = weir_dag_task_index(dag, rq->param[1]);
	if (k < 0)
		api_error(rq, rs, 404, NULL, "DAG %s has no task %s", dag->id, rq->param[1]);
	else
		api_json(rs, 200, task_json(dag, &dag->tasks[k]));
	weir_dag_unref(dag);
}

/* ------------------------------------------------------------------ */
/* source                                                               */
/* ------------------------------------------------------------------ */

void api_h_dag_source(struct api_req *rq, struct api_resp *rs)
{
	const char *p[1] = {rq->param[0]};
	json_t *row = NULL;
	const char *src;
	int rc = api_query(rq, rs, "api.dag.source", 1, p, &row);

	if (rc == WEIR_ENOTFOUND)
		api_error(rq, rs, 404, NULL, "no such DAG");
	if (rc < 0)
		return;
	src = api_jstr(row, "source");
	if (rq->accept && strstr(rq->accept, "application/json") && !api_accepts_text(rq->accept))
		api_json(rs, 200, json_pack("{s:s, s:s}", "content", src, "fileloc", api_jstr(row, "file_path")));
	else
		api_text(rs, 200, "text/plain; charset=utf-8", src, strlen(src));
}

/* ------------------------------------------------------------------ */
/* uploads                                                              */
/* ------------------------------------------------------------------ */

static bool under(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(p, dir, n) && p[n] == '/';
}

/* Is path (a file, which may not exist yet) inside folder? */
static bool inside(const char *path, const char *folder)
{
	char rp[PATH_MAX], rf[PATH_MAX];
	char *dir, *slash;
	bool ok;

	if (!realpath(folder, rf))
		return false;
	if (realpath(path, rp))
		return under(rp, rf);
	dir = weir_xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	ok = slash && realpath(dir, rp) && (!strcmp(rp, rf) || under(rp, rf));
	free(dir);
	return ok;
}

/*
 * Writes data to path atomically: a hidden temporary in the same folder,
 * then rename().  Concurrent writers each have their own temporary (the
 * gateway's threads share a pid).  0 or -errno.
 */
static int write_atomic(const char *path, const char *data, size_t len)
{
	const char *slash = strrchr(path, '/');
	char *tmp = weir_xasprintf("%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
	int fd = mkstemp(tmp), rc = 0;
	size_t off = 0;

	if (fd < 0) {
		rc = -errno;
		free(tmp);
		return rc;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (rc == 0 && fchmod(fd, 0644) < 0)
		rc = -errno;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static void upload(struct api_req *rq, struct api_resp *rs, const char *want_id)
{
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *p[1];
	json_t *row = NULL;
	char *target = NULL;
	bool exists;
	int rc;

	if (rq->body_len > WEIR_DAG_MAX_FILE_BYTES) {
		api_error(rq, rs, 413, NULL, "a DAG file may have at most %u bytes", WEIR_DAG_MAX_FILE_BYTES);
		return;
	}
	weir_diags_init(&d, want_id ? want_id : "upload.yaml");
	rc = weir_dag_load_text(d.file, rq->body, rq->body_len, &dag, &d);
	if (rc < 0) {
		struct weir_buf msg = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		json_t *errors;
		weir_diags_sort(&d);
		weir_diags_format(&d, &msg);
		weir_buf_rtrim(&msg);
		errors = weir_diags_to_json(&d);
		api_error(rq, rs, 422, "source", "the DAG file is not valid:\n%s", msg.buf);
		/* The errors with their positions, for programs. */
		{
			json_t *top = json_loadb(rs->body, rs->len, 0, NULL);
			json_object_set(json_object_get(top, "error"), "errors", errors);
			api_json(rs, 422, top);
		}
		json_decref(errors);
		weir_buf_release(&msg);
		goto out;
	}
	if (dag->id[0] == '.') {
		api_error(rq, rs, 422, "dag", "a DAG id must not start with '.' (hidden files are not loaded)");
		goto out;
	}
	if (want_id && strcmp(want_id, dag->id)) {
		api_error(rq, rs, 400, "dag", "the file defines DAG \"%s\", not \"%s\"", dag->id, want_id);
		goto out;
	}
	p[0] = dag->id;
	rc = api_query(rq, rs, "api.dag.source", 1, p, &row);
	if (rc < 0 && rc != WEIR_ENOTFOUND)
		goto out;
	exists = rc == 0;
	if (exists && !want_id) {
		api_error(rq, rs, 409, "dag", "DAG \"%s\" exists; replace it with PUT /api/v1/dags/%s", dag->id,
			  dag->id);
		goto out;
	}
	if (exists) {
		const char *fp = api_jstr(row, "file_path");
		if (!*fp || !inside(fp, rq->ctx->dags_folder)) {
			api_error(rq, rs, 409, "dag", "DAG \"%s\" is defined in %s, outside the DAG folder", dag->id,
				  *fp ? fp : "(unknown)");
			goto out;
		}
		target = weir_xstrdup(fp);
	} else {
		struct stat sb;
		target = weir_xasprintf("%s/%s.yaml", rq->ctx->dags_folder, dag->id);
		if (!want_id && stat(target, &sb) == 0) {
			api_error(rq, rs, 409, "dag", "the DAG folder already has a file %s.yaml", dag->id);
			goto out;
		}
	}
	if (weir_spec_mkdirs(rq->ctx->dags_folder, &err) < 0) {
		weir_error("request %s: %s", rq->request_id, err.buf);
		api_error(rq, rs, 500, NULL, "could not write the DAG file (request %s)", rq->request_id);
		goto out;
	}
	rc = write_atomic(target, rq->body, rq->body_len);
	if (rc < 0) {
		weir_error("request %s: could not write DAG file \"%s\": %s", rq->request_id, target,
			   strerror(-rc));
		api_error(rq, rs, 500, NULL, "could not write the DAG file (request %s)", rq->request_id);
		goto out;
	}
	weir_info("DAG %s written to %s by client %s", dag->id, target, rq->who.client_id);
	api_json(rs, exists ? 200 : 201,
		 json_pack("{s:s, s:s, s:s, s:i, s:b, s:s}", "dag_id", dag->id, "fileloc", target,
			   "file_hash", dag->hash, "tasks", (int)dag->ntasks, "is_service", dag->service,
			   "detail", "written; the scheduler loads it within seconds"));
	{
		char loc[512];
		snprintf(loc, sizeof(loc), "/api/v1/dags/%s", dag->id);
		api_header(rq, rs, "Location", loc);
	}
out:
	free(target);
	weir_dag_unref(dag);
	weir_diags_release(&d);
	weir_buf_release(&err);
}

void api_h_dag_upload(struct api_req *rq, struct api_resp *rs)
{
	upload(rq, rs, NULL);
}

void api_h_dag_put(struct api_req *rq, struct api_resp *rs)
{
	if (!api_id_valid(rq->param[0])) {
		api_error(rq, rs, 400, "dag_id", "invalid DAG id (1 to 100 of A-Z a-z 0-9 _ . -)");
		return;
	}
	upload(rq, rs, rq->param[0]);
}

/* ------------------------------------------------------------------ */
/* import errors                                                        */
/* ------------------------------------------------------------------ */

void api_h_import_errors(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"limit", "offset", "order_by", NULL};
	static const char *const orders[] = {"import_error_id", "timestamp", "filename", NULL};
	const char *p[3];

	if (api_args_known(rq, rs, known) < 0 || api_paging(rq, rs, 100, 10000, &p[0], &p[1]) < 0)
		return;
	p[2] = api_arg(rq, "order_by") ? api_arg(rq, "order_by") : "import_error_id";
	if (!order_ok(p[2], orders)) {
		api_error(rq, rs, 400, "order_by", "order_by must be import_error_id, timestamp or filename");
		return;
	}
	api_pass(rq, rs, 200, "api.import_errors.list", 3, p, "");
}

void api_h_import_error(struct api_req *rq, struct api_resp *rs)
{
	const char *p[1] = {rq->param[0]};
	int64_t id;

	if (weir_str_to_i64(p[0], &id) < 0 || id < 1) {
		api_error(rq, rs, 404, NULL, "no such import error");
		return;
	}
	api_pass(rq, rs, 200, "api.import_error.get", 1, p, "no such import error");
}
