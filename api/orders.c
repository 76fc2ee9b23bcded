/*
 * orders.c: services and orders, weir's own client-facing resources.
 *
 * A service is a DAG with `service: true`.  Ordering one validates the
 * params in three steps, each with its own status:
 *   400  the body is not an object, names an unknown param, or a value
 *        has the wrong JSON type;
 *   422  a value is well-typed but not acceptable: enum, range, pattern,
 *        a geometry PostGIS cannot make valid, an area over the DAG's
 *        max_area_km2;
 * then creates the run (an order) with weir_run_trigger.  Geometry params
 * (wkt, geojson) are replaced by their normalised form (a valid
 * MultiPolygon in EPSG:4326) and the first one becomes the run's AOI.
 *
 * Orders belong to the OAuth2 client that placed them (dag_runs.client_id).
 * A client without the admin scope sees and aborts only its own; another
 * client's order is a 404 for it, not a 403, so ids do not leak.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "common/error.h"
#include "common/log.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/dag.h"
#include "engine/runs.h"
#include "engine/state.h"

void api_h_services_list(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {NULL};

	if (api_args_known(rq, rs, known) == 0)
		api_pass(rq, rs, 200, "api.services.list", 0, NULL, "");
}

/* NULL for admins (every order), else the caller's client id. */
static const char *owner_filter(struct api_req *rq)
{
	return rq->who.admin ? NULL : (rq->who.client_id ? rq->who.client_id : "");
}

static bool type_ok(const struct weir_param *p, json_t *v)
{
	switch (p->type) {
	case WEIR_PARAM_STRING:
	case WEIR_PARAM_WKT:
		return json_is_string(v);
	case WEIR_PARAM_INTEGER:
		return json_is_integer(v) ||
		       (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v));
	case WEIR_PARAM_NUMBER:
		return json_is_number(v);
	case WEIR_PARAM_BOOLEAN:
		return json_is_boolean(v);
	case WEIR_PARAM_OBJECT:
	case WEIR_PARAM_GEOJSON:
		return json_is_object(v);
	case WEIR_PARAM_ARRAY:
		return json_is_array(v);
	default:
		return false;
	}
}

static const char *type_word(enum weir_param_type t)
{
	switch (t) {
	case WEIR_PARAM_WKT: return "a WKT string";
	case WEIR_PARAM_GEOJSON: return "a GeoJSON object";
	case WEIR_PARAM_STRING: return "a string";
	case WEIR_PARAM_INTEGER: return "an integer";
	case WEIR_PARAM_NUMBER: return "a number";
	case WEIR_PARAM_BOOLEAN: return "true or false";
	case WEIR_PARAM_OBJECT: return "an object";
	default: return "an array";
	}
}

/*
 * Normalises the geometry params of params in place; the first one's
 * GeoJSON goes to *aoi (arena).  Answers 422 and returns -1 on a bad one.
 */
static int normalise_geometries(struct api_req *rq, struct api_resp *rs, const struct weir_dag *dag,
				json_t *params, const char **aoi)
{
	*aoi = NULL;
	for (size_t i = 0; i < dag->nparams; i++) {
		const struct weir_param *pm = &dag->params[i];
		json_t *v = json_object_get(params, pm->name), *row = NULL;
		const char *p[2];
		double area;
		int rc;

		if (!v || json_is_null(v) || (pm->type != WEIR_PARAM_WKT && pm->type != WEIR_PARAM_GEOJSON))
			continue;
		p[0] = pm->type == WEIR_PARAM_WKT ? "wkt" : "geojson";
		p[1] = pm->type == WEIR_PARAM_WKT ? json_string_value(v) : api_json_text(&rq->arena, v);
		rc = api_query(rq, rs, "api.aoi.normalize", 2, p, &row);
		if (rc < 0) {
			if (rc == WEIR_ENOTFOUND)
				api_error(rq, rs, 500, NULL, "the geometry check returned nothing");
			return -1;
		}
		if (!json_is_true(json_object_get(row, "ok"))) {
			api_error(rq, rs, 422, pm->name, "param \"%s\" is not a usable area: %s", pm->name,
				  api_jstr(row, "reason"));
			return -1;
		}
		area = json_number_value(json_object_get(row, "area_km2"));
		if (dag->max_area_km2 > 0 && area > dag->max_area_km2) {
			api_error(rq, rs, 422, pm->name, "param \"%s\" covers %.1f km², more than the %.1f km² this service allows",
				  pm->name, area, dag->max_area_km2);
			return -1;
		}
		if (pm->type == WEIR_PARAM_WKT)
			json_object_set(params, pm->name, json_object_get(row, "wkt"));
		else
			json_object_set(params, pm->name, json_object_get(row, "geojson"));
		if (!*aoi)
			*aoi = api_json_text(&rq->arena, json_object_get(row, "geojson"));
	}
	return 0;
}

void api_h_order_post(struct api_req *rq, struct api_resp *rs)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_dag *dag = NULL;
	struct weir_trigger_req req = {0};
	struct weir_trigger_res res;
	json_t *params = NULL, *v;
	const char *k, *field = NULL, *aoi = NULL;
	char actor[160], oid[WEIR_UUID_STRLEN], self[96];
	bool paused = false, active = true;
	int rc;

	if (!api_store(rq, rs))
		return;
	rc = weir_run_load_dag(rq->st, rq->param[0], &dag, &paused, &active, &err);
	if (rc == WEIR_ENOTFOUND || (rc == 0 && !dag->service)) {
		api_error(rq, rs, 404, NULL, "no such service: %s", rq->param[0]);
		goto out;
	}
	if (rc < 0) {
		api_store_error(rq, rs, rc, "could not load the service", &err);
		goto out;
	}
	if (!active) {
		api_error(rq, rs, 409, NULL, "service %s is not available (its DAG file is invalid or was removed)",
			  dag->id);
		goto out;
	}
	/* 400: shape and types. */
	json_object_foreach(rq->json, k, v) {
		const struct weir_param *pm = NULL;
		for (size_t i = 0; i < dag->nparams && !pm; i++)
			if (!strcmp(dag->params[i].name, k))
				pm = &dag->params[i];
		if (!pm) {
			api_error(rq, rs, 400, k, "unknown param \"%s\" for service %s", k, dag->id);
			goto out;
		}
		if (!json_is_null(v) && !type_ok(pm, v)) {
			api_error(rq, rs, 400, k, "param \"%s\" must be %s", k, type_word(pm->type));
			goto out;
		}
	}
	params = json_deep_copy(rq->json);
	/* 422: values. */
	{
		json_t *resolved = NULL;
		weir_buf_reset(&err);
		if (weir_dag_resolve_params(dag, params, &resolved, &field, &err) < 0) {
			api_error(rq, rs, 422, field, "%s", err.buf);
			goto out;
		}
		json_decref(resolved);
	}
	if (normalise_geometries(rq, rs, dag, params, &aoi) < 0)
		goto out;
	snprintf(actor, sizeof(actor), "api:%s", rq->who.client_id ? rq->who.client_id : "?");
	req.dag_id = dag->id;
	req.run_type = "service";
	req.params = params;
	req.logical_date = req.interval_start = req.interval_end = WEIR_TIME_NONE;
	req.client_id = rq->who.client_id;
	req.service = dag->id;
	req.aoi_geojson = aoi;
	req.actor = actor;
	weir_buf_reset(&err);
	rc = weir_run_trigger(rq->st, &req, &res, &field, &err);
	if (rc == WEIR_EINVALID) {
		api_error(rq, rs, 422, field, "%s", err.buf);
		goto out;
	}
	if (rc == WEIR_ENOTFOUND) {
		api_error(rq, rs, 404, NULL, "no such service: %s", rq->param[0]);
		goto out;
	}
	if (rc < 0) {
		api_store_error(rq, rs, rc, "could not place the order", &err);
		goto out;
	}
	json_decref(res.params);
	weir_uuid_format(&res.order_id, oid);
	snprintf(self, sizeof(self), "/api/v1/orders/%s", oid);
	api_json(rs, 202, json_pack("{s:s, s:s, s:s, s:{s:s}}", "order_id", oid, "status", "RECEIVED",
				    "service", dag->id, "links", "self", self));
	api_header(rq, rs, "Location", self);
	if (paused)
		api_header(rq, rs, "Warning", "199 weir \"the service is paused: the order waits\"");
out:
	json_decref(params);
	weir_dag_unref(dag);
	weir_buf_release(&err);
}

void api_h_orders_list(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"status", "service", "client", "received_gte",
					    "received_lte", "limit", "offset", NULL};
	json_t *status, *v;
	const char *p[7];
	size_t i;

	if (api_args_known(rq, rs, known) < 0)
		return;
	status = api_keep(rq, api_arg_list(rq, "status"));
	json_array_foreach(status, i, v) {
		enum weir_run_state s;
		if (weir_run_state_parse(json_string_value(v), &s) < 0) {
			api_error(rq, rs, 400, "status",
				  "unknown status \"%s\" (RECEIVED, QUEUED, RUNNING, SUCCESS, FAILED, INVALID, ABORTED)",
				  json_string_value(v));
			return;
		}
	}
	p[0] = api_json_text(&rq->arena, status);
	p[1] = api_arg(rq, "service");
	p[2] = api_arg(rq, "client");
	if (!rq->who.admin) {
		if (p[2] && strcmp(p[2], rq->who.client_id ? rq->who.client_id : "")) {
			api_error(rq, rs, 403, "client", "only admin clients can list other clients' orders");
			return;
		}
		p[2] = owner_filter(rq);
	}
	p[3] = p[4] = NULL;
	if (api_arg_time(rq, rs, "received_gte", &p[3]) < 0 || api_arg_time(rq, rs, "received_lte", &p[4]) < 0 ||
	    api_paging(rq, rs, 100, 10000, &p[5], &p[6]) < 0)
		return;
	api_pass(rq, rs, 200, "api.orders.list", 7, p, "");
}

static void order_answer(struct api_req *rq, struct api_resp *rs, const char *id)
{
	const char *p[2] = {id, owner_filter(rq)};

	if (!api_uuid_valid(id)) {
		api_error(rq, rs, 404, NULL, "no such order");
		return;
	}
	api_pass(rq, rs, 200, "api.order.get", 2, p, "no such order");
}

void api_h_order_get(struct api_req *rq, struct api_resp *rs)
{
	order_answer(rq, rs, rq->param[0]);
}

/* The order's state events (grid.c has the shape); same visibility as
 * GET /orders/{order_id}: another client's order is a 404. */
void api_h_order_events(struct api_req *rq, struct api_resp *rs)
{
	const char *p[5] = {rq->param[0], owner_filter(rq)};

	if (api_events_args(rq, rs, &p[2], &p[3], &p[4]) < 0)
		return;
	if (!api_uuid_valid(p[0])) {
		api_error(rq, rs, 404, NULL, "no such order");
		return;
	}
	api_pass(rq, rs, 200, "api.order.events", 5, p, "no such order");
}

void api_h_order_abort(struct api_req *rq, struct api_resp *rs)
{
	const char *p[2] = {rq->param[0], owner_filter(rq)};
	char actor[160];

	if (!api_uuid_valid(p[0])) {
		api_error(rq, rs, 404, NULL, "no such order");
		return;
	}
	snprintf(actor, sizeof(actor), "api:%s", rq->who.client_id ? rq->who.client_id : "?");
	/* Retry once when the scheduler moves the run between our read and
	 * our write (QUEUED -> RUNNING, say). */
	for (int attempt = 0; attempt < 3; attempt++) {
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		struct weir_batch b;
		enum weir_run_state cur;
		json_t *k = NULL;
		int rc = api_query(rq, rs, "api.order.key", 2, p, &k);

		if (rc == WEIR_ENOTFOUND)
			api_error(rq, rs, 404, NULL, "no such order");
		if (rc < 0)
			return;
		if (weir_run_state_parse(api_jstr(k, "state"), &cur) < 0) {
			api_error(rq, rs, 500, NULL, "unknown order state in the database");
			return;
		}
		if (weir_run_state_terminal(cur)) {
			api_error(rq, rs, 409, NULL, "the order is already %s", weir_run_state_name(cur));
			return;
		}
		weir_batch_init(&b, actor);
		weir_batch_run_state(&b, json_integer_value(json_object_get(k, "run_pk")), cur, WEIR_RUN_ABORTED,
				     "aborted through the API", NULL, WEIR_TIME_NONE);
		rc = weir_store_apply(rq->st, &b, &err);
		weir_batch_release(&b);
		if (rc == 0) {
			weir_buf_release(&err);
			order_answer(rq, rs, p[0]);
			return;
		}
		if (rc != WEIR_ECONFLICT) {
			api_store_error(rq, rs, rc, "could not abort the order", &err);
			weir_buf_release(&err);
			return;
		}
		weir_buf_release(&err);
	}
	api_error(rq, rs, 409, NULL, "the order keeps changing; try again");
}
