/* runs.c: creating runs for users (see runs.h). */
#include "engine/runs.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/time.h"

bool weir_run_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 250 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      strchr("_.:+@,=~-", c)))
			return false;
	}
	return true;
}

int weir_run_load_dag(struct weir_store *st, const char *dag_id, struct weir_dag **out,
		      bool *paused, bool *active, struct weir_buf *err)
{
	const char *p[1] = {dag_id};
	json_t *row = NULL;
	const char *src, *file;
	struct weir_diags d;
	int rc;

	rc = weir_store_query_json(st, "dag.for_trigger", 1, p, &row, err);
	if (rc == WEIR_ENOTFOUND) {
		weir_buf_addf(err, "DAG \"%s\" does not exist", dag_id);
		return rc;
	}
	if (rc < 0)
		return rc;
	src = json_string_value(json_object_get(row, "source"));
	file = json_string_value(json_object_get(row, "file_path"));
	if (paused)
		*paused = json_is_true(json_object_get(row, "is_paused"));
	if (active)
		*active = json_is_true(json_object_get(row, "is_active"));
	weir_diags_init(&d, file ? file : dag_id);
	rc = weir_dag_load_text(file ? file : dag_id, src ? src : "", src ? strlen(src) : 0, out, &d);
	if (rc < 0) {
		weir_buf_addf(err, "the recorded definition of DAG \"%s\" does not load", dag_id);
		rc = WEIR_EDB;
	}
	weir_diags_release(&d);
	json_decref(row);
	return rc;
}

int weir_run_trigger(struct weir_store *st, const struct weir_trigger_req *req,
		     struct weir_trigger_res *res, const char **field, struct weir_buf *err)
{
	struct weir_dag *dag = NULL;
	struct weir_batch b;
	struct weir_run_new r = {0};
	json_t *given = NULL, *params = NULL;
	char iso[WEIR_ISO_BUFSZ];
	bool paused = false, active = true;
	int rc;

	memset(res, 0, sizeof(*res));
	*field = NULL;
	rc = weir_run_load_dag(st, req->dag_id, &dag, &paused, &active, err);
	if (rc < 0)
		return rc;
	if (!active) {
		weir_buf_addf(err, "DAG \"%s\" is not active (its file was removed or is invalid)", req->dag_id);
		weir_dag_unref(dag);
		return WEIR_EINVALID;
	}
	if (req->run_id && !weir_run_id_valid(req->run_id)) {
		weir_buf_addf(err, "invalid run id \"%s\" (1 to 250 of A-Z a-z 0-9 _ . : + @ , = ~ -)", req->run_id);
		*field = "dag_run_id";
		weir_dag_unref(dag);
		return WEIR_EINVALID;
	}
	if (req->conf && !json_is_object(req->conf)) {
		weir_buf_addf(err, "conf must be a JSON object");
		*field = "conf";
		weir_dag_unref(dag);
		return WEIR_EINVALID;
	}
	if (req->params) {
		given = json_incref(req->params);
	} else if (req->conf) {
		/* Airflow: conf keys override params of the same name. */
		given = json_object();
		for (size_t i = 0; i < dag->nparams; i++) {
			json_t *v = json_object_get(req->conf, dag->params[i].name);
			if (v)
				json_object_set(given, dag->params[i].name, v);
		}
	}
	rc = weir_dag_resolve_params(dag, given, &params, field, err);
	if (rc < 0) {
		/* *field points into dag or given, both freed below: keep a
		 * copy that outlives this call (one per thread). */
		static _Thread_local char field_copy[WEIR_ID_MAX + 64];
		if (*field) {
			snprintf(field_copy, sizeof(field_copy), "%s", *field);
			*field = field_copy;
		}
		json_decref(given);
		weir_dag_unref(dag);
		return rc;
	}
	json_decref(given);
	r.dag_id = dag->id;
	r.run_type = req->run_type ? req->run_type : "manual";
	r.logical_date = req->logical_date != WEIR_TIME_NONE ? req->logical_date : weir_now_us();
	r.interval_start = req->interval_start != WEIR_TIME_NONE ? req->interval_start : r.logical_date;
	r.interval_end = req->interval_end != WEIR_TIME_NONE ? req->interval_end : r.logical_date;
	r.conf = req->conf;
	r.params = params;
	r.dag_hash = dag->hash;
	r.client_id = req->client_id;
	r.service = req->service;
	r.note = req->note;
	r.aoi_geojson = req->aoi_geojson;
	weir_batch_init(&b, req->actor ? req->actor : "user");
	if (req->run_id) {
		snprintf(res->run_id, sizeof(res->run_id), "%s", req->run_id);
	} else if (!strcmp(r.run_type, "service")) {
		res->run_id[0] = '\0'; /* the order id, filled below */
	} else {
		snprintf(res->run_id, sizeof(res->run_id), "%s__%s", r.run_type,
			 weir_iso_format(r.logical_date, WEIR_ISO_OFFSET | WEIR_ISO_FRAC, iso));
	}
	r.run_id = res->run_id[0] ? res->run_id : NULL;
	weir_batch_run_create(&b, &r);
	rc = weir_store_apply(st, &b, err);
	if (rc == WEIR_EEXISTS) {
		weir_buf_reset(err);
		weir_buf_addf(err, "DAG \"%s\" already has a run \"%s\"", dag->id, res->run_id);
		*field = "dag_run_id";
	} else if (rc == 0) {
		res->run_pk = b.ops.v[0].u.run_create.run_pk;
		res->order_id = b.ops.v[0].u.run_create.order_id;
		if (!res->run_id[0])
			weir_uuid_format(&res->order_id, res->run_id);
		res->paused = paused;
		res->params = json_incref(params);
	}
	weir_batch_release(&b);
	json_decref(params);
	weir_dag_unref(dag);
	return rc;
}
