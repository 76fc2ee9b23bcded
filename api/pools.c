/*
 * pools.c: /api/v1/pools, in Airflow's Pool shape.  The database
 * announces pool changes to the schedulers (trigger pools_notify).
 *
 * A pool's name is its identity (task instances refer to it by name), so
 * PATCH cannot rename one; default_pool cannot be deleted.
 */
#include <string.h>

#include "api/api_int.h"
#include "common/error.h"

static bool pool_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 256)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static const struct api_field pool_fields[] = {
	{"name", API_F_STRING, false},
	{"slots", API_F_INT, false},
	{"description", API_F_STRING, true},
	{"include_deferred", API_F_BOOL, false},
	{"occupied_slots", API_F_READONLY, false},
	{"running_slots", API_F_READONLY, false},
	{"queued_slots", API_F_READONLY, false},
	{"open_slots", API_F_READONLY, false},
	{"scheduled_slots", API_F_READONLY, false},
	{"deferred_slots", API_F_READONLY, false},
	{NULL, 0, false},
};

void api_h_pools_list(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"limit", "offset", "order_by", NULL};
	const char *p[3];

	if (api_args_known(rq, rs, known) < 0 || api_paging(rq, rs, 100, 10000, &p[0], &p[1]) < 0)
		return;
	p[2] = api_arg(rq, "order_by") ? api_arg(rq, "order_by") : "name";
	if (strcmp(p[2], "name") && strcmp(p[2], "-name") && strcmp(p[2], "slots") && strcmp(p[2], "-slots")) {
		api_error(rq, rs, 400, "order_by", "order_by must be name or slots (with - to reverse)");
		return;
	}
	api_pass(rq, rs, 200, "api.pools.list", 3, p, "");
}

static void pool_answer(struct api_req *rq, struct api_resp *rs, const char *name, int status)
{
	const char *p[1] = {name};

	api_pass(rq, rs, status, "api.pool.get", 1, p, "no such pool");
}

void api_h_pool_get(struct api_req *rq, struct api_resp *rs)
{
	pool_answer(rq, rs, rq->param[0], 200);
}

static int slots_ok(struct api_req *rq, struct api_resp *rs, json_t *v)
{
	if (json_integer_value(v) < -1 || json_integer_value(v) > 1000000000) {
		api_error(rq, rs, 422, "slots", "slots must be -1 (unlimited) or 0 to 1000000000");
		return -1;
	}
	return 0;
}

void api_h_pool_post(struct api_req *rq, struct api_resp *rs)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *b = rq->json, *v;
	const char *p[4];
	long rows = 0;
	int rc;

	if (api_body_check(rq, rs, b, pool_fields) < 0)
		return;
	p[0] = json_string_value(json_object_get(b, "name"));
	if (!p[0] || !pool_name_ok(p[0])) {
		api_error(rq, rs, 400, "name", "name is required (1 to 256 printable characters)");
		return;
	}
	v = json_object_get(b, "slots");
	if (!json_is_integer(v)) {
		api_error(rq, rs, 400, "slots", "slots is required (an integer)");
		return;
	}
	if (slots_ok(rq, rs, v) < 0)
		return;
	p[1] = api_i64(&rq->arena, json_integer_value(v));
	p[2] = json_string_value(json_object_get(b, "description"));
	v = json_object_get(b, "include_deferred");
	p[3] = v ? (json_is_true(v) ? "true" : "false") : NULL;
	if (!api_store(rq, rs))
		return;
	rc = weir_store_exec(rq->st, "api.pool.insert", 4, p, &rows, &err);
	if (rc == WEIR_EEXISTS)
		api_error(rq, rs, 409, "name", "pool \"%s\" already exists", p[0]);
	else if (rc < 0)
		api_store_error(rq, rs, rc, "could not create the pool", &err);
	else
		pool_answer(rq, rs, p[0], 200);
	weir_buf_release(&err);
}

void api_h_pool_patch(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"update_mask", NULL};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *b = rq->json, *mask, *v;
	const char *p[4] = {rq->param[0], NULL, NULL, NULL};
	bool want[3] = {false, false, false}; /* slots, description, include_deferred */
	size_t i;
	long rows = 0;
	int rc;

	if (api_args_known(rq, rs, known) < 0 || api_body_check(rq, rs, b, pool_fields) < 0)
		return;
	v = json_object_get(b, "name");
	if (v && strcmp(json_string_value(v), rq->param[0])) {
		api_error(rq, rs, 400, "name", "a pool cannot be renamed");
		return;
	}
	mask = api_keep(rq, api_arg_list(rq, "update_mask"));
	if (mask) {
		json_array_foreach(mask, i, v) {
			const char *f = json_string_value(v);
			if (!strcmp(f, "slots"))
				want[0] = true;
			else if (!strcmp(f, "description"))
				want[1] = true;
			else if (!strcmp(f, "include_deferred"))
				want[2] = true;
			else if (strcmp(f, "name")) {
				api_error(rq, rs, 400, "update_mask", "\"%s\" cannot be updated", f);
				return;
			}
		}
	} else {
		if (!json_object_get(b, "slots")) {
			api_error(rq, rs, 400, "slots", "slots is required (or name the fields in update_mask)");
			return;
		}
		want[0] = true;
		want[1] = json_object_get(b, "description") != NULL;
		want[2] = json_object_get(b, "include_deferred") != NULL;
	}
	if (want[0]) {
		v = json_object_get(b, "slots");
		if (!json_is_integer(v)) {
			api_error(rq, rs, 400, "slots", "slots must be an integer");
			return;
		}
		if (slots_ok(rq, rs, v) < 0)
			return;
		p[1] = api_i64(&rq->arena, json_integer_value(v));
	}
	if (want[1])
		p[2] = json_is_string(json_object_get(b, "description"))
			       ? json_string_value(json_object_get(b, "description"))
			       : "";
	if (want[2]) {
		v = json_object_get(b, "include_deferred");
		if (!json_is_boolean(v)) {
			api_error(rq, rs, 400, "include_deferred", "include_deferred must be true or false");
			return;
		}
		p[3] = json_is_true(v) ? "true" : "false";
	}
	if (!api_store(rq, rs))
		return;
	rc = weir_store_exec(rq->st, "api.pool.update", 4, p, &rows, &err);
	if (rc < 0)
		api_store_error(rq, rs, rc, "could not update the pool", &err);
	else if (rows == 0)
		api_error(rq, rs, 404, NULL, "no such pool");
	else
		pool_answer(rq, rs, rq->param[0], 200);
	weir_buf_release(&err);
}

void api_h_pool_delete(struct api_req *rq, struct api_resp *rs)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *p[1] = {rq->param[0]};
	long rows = 0;
	int rc;

	if (!strcmp(p[0], "default_pool")) {
		api_error(rq, rs, 400, "pool_name", "default_pool cannot be deleted");
		return;
	}
	if (!api_store(rq, rs))
		return;
	rc = weir_store_exec(rq->st, "api.pool.delete", 1, p, &rows, &err);
	if (rc < 0)
		api_store_error(rq, rs, rc, "could not delete the pool", &err);
	else if (rows == 0)
		api_error(rq, rs, 404, NULL, "no such pool");
	else
		api_empty(rs, 204);
	weir_buf_release(&err);
}
