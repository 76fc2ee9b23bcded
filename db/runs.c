/* runs.c: loading unfinished runs and their task instances (scheduler start-up). */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "db_int.h"

#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

static const char load_sql[] =
	"SELECT r.id, r.order_id, r.dag_id, r.run_id, r.run_type, r.state, r.dag_hash,"
	" r.conf::text, r.params::text, " US("r.logical_date") ", " US("r.data_interval_start") ","
	" " US("r.data_interval_end") ", r.abort_requested,"
	" coalesce((SELECT json_agg(json_build_array(t.task_id, t.state, t.try_number,"
	"   t.max_tries, t.attempt_id, t.hostname, t.pid, t.process_start,"
	"   " US("t.heartbeat_at") ", " US("t.next_retry_at") ", " US("t.queued_at") ","
	"   " US("t.started_at") ", (SELECT " US("min(x.queued_at)") " FROM task_tries x"
	"   WHERE x.run_pk = t.run_pk AND x.task_id = t.task_id AND x.try_number = t.try_number))"
	"   ORDER BY t.task_id)"
	"   FROM task_instances t WHERE t.run_pk = r.id), '[]')"
	" FROM dag_runs r"
	" WHERE r.state IN ('RECEIVED', 'QUEUED', 'RUNNING') AND ($1::bigint IS NULL OR r.id = $1)"
	" AND ($2::uuid IS NULL OR r.dag_id IN (SELECT dag_id FROM dags WHERE scheduler_id = $2))"
	" ORDER BY r.id";

static int64_t us_or_none(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return WEIR_TIME_NONE;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int64_t jus(json_t *v)
{
	return json_is_integer(v) ? json_integer_value(v) : WEIR_TIME_NONE;
}

static int fill_tis(json_t *arr, struct weir_run_row *r)
{
	size_t i;
	json_t *t;

	r->nti = json_array_size(arr);
	r->tis = weir_xcalloc(r->nti ? r->nti : 1, sizeof(*r->tis));
	json_array_foreach(arr, i, t) {
		struct weir_ti_row *ti = &r->tis[i];
		const char *attempt = json_string_value(json_array_get(t, 4));
		ti->task_id = json_string_value(json_array_get(t, 0));
		if (!ti->task_id || weir_ti_state_parse(json_string_value(json_array_get(t, 1)) ? json_string_value(json_array_get(t, 1)) : "", &ti->state) < 0)
			return WEIR_EDB;
		ti->try_number = (int)json_integer_value(json_array_get(t, 2));
		ti->max_tries = (int)json_integer_value(json_array_get(t, 3));
		if (attempt)
			weir_uuid_parse(attempt, &ti->attempt);
		ti->hostname = json_string_value(json_array_get(t, 5));
		ti->pid = (int)json_integer_value(json_array_get(t, 6));
		ti->process_start = json_integer_value(json_array_get(t, 7));
		ti->heartbeat_at = jus(json_array_get(t, 8));
		ti->next_retry_at = jus(json_array_get(t, 9));
		ti->queued_at = jus(json_array_get(t, 10));
		ti->started_at = jus(json_array_get(t, 11));
		ti->sensor_started_at = jus(json_array_get(t, 12));
	}
	return 0;
}

int pg_load_runs(struct weir_store *s, int64_t run_pk, const struct weir_uuid *owner,
		 weir_store_run_fn *fn, void *arg, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	char pk[32], own[WEIR_UUID_STRLEN];
	const char *v[2] = {NULL, owner ? weir_uuid_format(owner, own) : NULL};
	PGresult *res = NULL;
	int rc;

	if (run_pk > 0) {
		snprintf(pk, sizeof(pk), "%lld", (long long)run_pk);
		v[0] = pk;
	}
	res = pg_query(st, load_sql, 2, v, &rc, err);
	if (!res)
		return rc;
	rc = 0;
	for (int row = 0; row < PQntuples(res) && rc == 0; row++) {
		struct weir_run_row r;
		json_t *tis;

		memset(&r, 0, sizeof(r));
		r.run_pk = strtoll(PQgetvalue(res, row, 0), NULL, 10);
		weir_uuid_parse(PQgetvalue(res, row, 1), &r.order_id);
		r.dag_id = PQgetvalue(res, row, 2);
		r.run_id = PQgetvalue(res, row, 3);
		r.run_type = PQgetvalue(res, row, 4);
		if (weir_run_state_parse(PQgetvalue(res, row, 5), &r.state) < 0) {
			rc = WEIR_EDB;
			break;
		}
		r.dag_hash = PQgetisnull(res, row, 6) ? NULL : PQgetvalue(res, row, 6);
		r.conf = json_loads(PQgetvalue(res, row, 7), 0, NULL);
		r.params = json_loads(PQgetvalue(res, row, 8), 0, NULL);
		r.logical_date = us_or_none(res, row, 9);
		r.interval_start = us_or_none(res, row, 10);
		r.interval_end = us_or_none(res, row, 11);
		r.abort_requested = PQgetvalue(res, row, 12)[0] == 't';
		tis = json_loads(PQgetvalue(res, row, 13), 0, NULL);
		if (!tis || fill_tis(tis, &r) < 0) {
			weir_buf_addf(err, "cannot read the task instances of run %lld", (long long)r.run_pk);
			rc = WEIR_EDB;
		} else {
			rc = fn(arg, &r);
		}
		free(r.tis);
		json_decref(tis);
		json_decref(r.conf);
		json_decref(r.params);
	}
	PQclear(res);
	return rc;
}
