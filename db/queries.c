/*
 * queries.c: named read queries (JSON built by PostgreSQL) and named
 * writes for the CLI and the API.
 *
 * Each read returns one row with one json/jsonb column: PostgreSQL builds
 * the response document itself (json_build_object, json_agg).  The API's
 * big reads (runs, task instances, DAGs) are row statements instead
 * (queries.h, struct named_rows): plain rows in binary format, written as
 * JSON by db/rows.c, which costs a fraction of building the JSON in the
 * database.  Parameters are text, always bound, never spliced into SQL.
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/xalloc.h"
#include "db_int.h"

#include "queries.h"

static const struct named_sql core_reads[] = {
	{"run.by_pk", 1,
	 "SELECT json_build_object('run_pk', id, 'order_id', order_id, 'dag_id', dag_id,"
	 " 'run_id', run_id, 'state', state, 'result', result, 'conf', conf,"
	 " 'received_at', received_at, 'queued_at', queued_at, 'started_at', started_at,"
	 " 'ended_at', ended_at)"
	 " FROM dag_runs WHERE id = $1::bigint"},
	{"run.events", 1,
	 "SELECT coalesce(json_agg(json_build_object('task_id', task_id, 'try_number', try_number,"
	 " 'from', from_state, 'to', to_state, 'actor', actor, 'reason', reason, 'at', at)"
	 " ORDER BY at, id), '[]') FROM state_events WHERE run_pk = $1::bigint"},
	{"ti.by_run", 1,
	 "SELECT coalesce(json_agg(json_build_object('task_id', task_id, 'state', state,"
	 " 'try_number', try_number, 'max_tries', max_tries, 'attempt_id', attempt_id,"
	 " 'pid', pid, 'exit_code', exit_code) ORDER BY task_id), '[]')"
	 " FROM task_instances WHERE run_pk = $1::bigint"},
	{"tries.by_run", 1,
	 "SELECT coalesce(json_agg(json_build_object('task_id', task_id, 'try_number', try_number,"
	 " 'attempt_id', attempt_id, 'state', state, 'started_at', started_at,"
	 " 'ended_at', ended_at, 'exit_code', exit_code) ORDER BY task_id, try_number), '[]')"
	 " FROM task_tries WHERE run_pk = $1::bigint"},
	{"xcom.by_run", 1,
	 "SELECT coalesce(json_object_agg(task_id || '.' || key, value), '{}')"
	 " FROM xcom WHERE run_pk = $1::bigint"},
	{"xcom.run_object", 1,
	 "SELECT coalesce(json_object_agg(task_id, kv), '{}') FROM ("
	 " SELECT task_id, json_object_agg(key, value) AS kv FROM xcom"
	 " WHERE run_pk = $1::bigint GROUP BY task_id) x"},
	{"pools.slots", 0,
	 "SELECT coalesce(json_object_agg(name, slots), '{}') FROM pools"},
	{"dags.source_by_file", 1,
	 "SELECT json_build_object('dag_id', dag_id, 'source', source) FROM dags"
	 " WHERE file_path = $1 ORDER BY updated_at DESC LIMIT 1"},
	{"dag.for_trigger", 1,
	 "SELECT json_build_object('source', source, 'file_path', file_path,"
	 " 'is_paused', is_paused, 'is_active', is_active) FROM dags WHERE dag_id = $1"},
	/* weir dags list */
	{"dags.list", 0,
	 "SELECT coalesce(json_agg(json_build_object('dag_id', d.dag_id, 'is_paused', d.is_paused,"
	 " 'is_active', d.is_active, 'schedule', d.schedule, 'timezone', d.timezone,"
	 " 'next_run_after', d.next_run_after, 'file_path', d.file_path,"
	 " 'last_run', (SELECT json_build_object('run_id', r.run_id, 'state', r.state,"
	 "   'logical_date', r.logical_date) FROM dag_runs r WHERE r.dag_id = d.dag_id"
	 "   ORDER BY r.logical_date DESC, r.id DESC LIMIT 1))"
	 " ORDER BY d.dag_id), '[]') FROM dags d"},
	{"import_errors.all", 0,
	 "SELECT coalesce(json_agg(json_build_object('file_path', file_path, 'message', message)"
	 " ORDER BY file_path), '[]') FROM import_errors"},
	/* weir runs list DAG LIMIT */
	{"runs.by_dag", 2,
	 "SELECT coalesce(json_agg(x ORDER BY x.logical_date DESC, x.run_pk DESC), '[]') FROM ("
	 " SELECT id AS run_pk, run_id, order_id, run_type, state, logical_date, received_at,"
	 " started_at, ended_at FROM dag_runs WHERE dag_id = $1"
	 " ORDER BY logical_date DESC, id DESC LIMIT $2::int) x"},
	/* a run by order id, or by run id (possibly in several DAGs) */
	{"run.find", 2,
	 "SELECT coalesce(json_agg(json_build_object('run_pk', id, 'dag_id', dag_id, 'run_id', run_id,"
	 " 'order_id', order_id, 'state', state)), '[]') FROM dag_runs"
	 " WHERE (order_id::text = $1 OR run_id = $1) AND ($2::text IS NULL OR dag_id = $2)"},
	{"run.show", 1,
	 "SELECT json_build_object('run_pk', r.id, 'dag_id', r.dag_id, 'run_id', r.run_id,"
	 " 'order_id', r.order_id, 'run_type', r.run_type, 'state', r.state, 'conf', r.conf,"
	 " 'params', r.params, 'result', r.result, 'logical_date', r.logical_date,"
	 " 'data_interval_start', r.data_interval_start, 'data_interval_end', r.data_interval_end,"
	 " 'received_at', r.received_at, 'queued_at', r.queued_at, 'started_at', r.started_at,"
	 " 'ended_at', r.ended_at,"
	 " 'tasks', coalesce((SELECT json_agg(json_build_object('task_id', t.task_id,"
	 "   'state', t.state, 'try_number', t.try_number, 'max_tries', t.max_tries,"
	 "   'started_at', t.started_at, 'ended_at', t.ended_at, 'exit_code', t.exit_code,"
	 "   'duration', extract(epoch FROM t.ended_at - t.started_at))"
	 "   ORDER BY t.task_id) FROM task_instances t WHERE t.run_pk = r.id), '[]'))"
	 " FROM dag_runs r WHERE r.id = $1::bigint"},
	/* backfill progress over a set of runs */
	{"runs.progress", 1,
	 "SELECT json_build_object('total', count(*),"
	 " 'done', count(*) FILTER (WHERE state IN ('SUCCESS', 'FAILED', 'INVALID', 'ABORTED')),"
	 " 'success', count(*) FILTER (WHERE state = 'SUCCESS'),"
	 " 'running', count(*) FILTER (WHERE state IN ('QUEUED', 'RUNNING')))"
	 " FROM dag_runs WHERE id = ANY ($1::bigint[])"},
	{"runs.logical_dates", 1,
	 "SELECT coalesce(json_agg((extract(epoch FROM logical_date) * 1000000)::bigint), '[]')"
	 " FROM dag_runs WHERE dag_id = $1"},
	{"schedulers.on_host", 1,
	 "SELECT coalesce(json_agg(json_build_object('id', id, 'pid', pid)), '[]')"
	 " FROM schedulers WHERE hostname = $1"},
	{NULL, 0, NULL},
};

static const struct named_sql core_writes[] = {
	/* A scheduler known to be dead (same host, pid gone): its DAGs are
	 * free at once instead of after the heartbeat timeout. */
	{"schedulers.expire", 1,
	 "WITH d AS (UPDATE dags SET scheduler_id = NULL WHERE scheduler_id = $1::uuid)"
	 " DELETE FROM schedulers WHERE id = $1::uuid"},
	/* Our live tries are alive: one statement for all of them. */
	{"tries.heartbeat", 2,
	 "UPDATE task_instances t SET heartbeat_at = now() FROM dags d"
	 " WHERE d.scheduler_id = $1::uuid AND t.dag_id = d.dag_id"
	 " AND t.state IN ('queued', 'running') AND (t.hostname = $2 OR t.hostname IS NULL)"},
	{"dag.pause", 2, "UPDATE dags SET is_paused = $2::boolean, updated_at = now() WHERE dag_id = $1"},
	{"dags.release", 2, "UPDATE dags SET scheduler_id = NULL WHERE dag_id = $1 AND scheduler_id = $2::uuid"},
	{"batches.prune", 0, "DELETE FROM applied_batches WHERE at < now() - interval '1 day'"},
	{NULL, 0, NULL},
};

/* Every table of named statements; each area of weir keeps its own. */
static const struct named_sql *const read_tables[] = {core_reads, weir_api_reads, weir_ops_reads};
static const struct named_sql *const write_tables[] = {core_writes, weir_api_writes, weir_ops_writes};

static const struct named_sql *find(const struct named_sql *const *tables, size_t n,
				    const char *name)
{
	for (size_t i = 0; i < n; i++)
		for (const struct named_sql *t = tables[i]; t->name; t++)
			if (!strcmp(t->name, name))
				return t;
	return NULL;
}

static const struct named_rows *find_rows(const char *name)
{
	for (const struct named_rows *t = weir_api_rows; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

/* A row statement's answer as JSON text (db/rows.c). */
static int rows_text(struct pg_store *st, const struct named_rows *q, int nparams,
		     const char *const *params, char **out, size_t *len, struct weir_buf *err)
{
	struct weir_buf body = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	PGresult *res;
	int rc;

	if (q->nparams != nparams) {
		weir_buf_addf(err, "query \"%s\" takes %d parameters, not %d", q->name, q->nparams, nparams);
		return WEIR_EINVALID;
	}
	/* Each row statement is prepared once per connection, in the slot of
	 * its place in the table. */
	res = pg_query_fmt(st, q->sql, nparams, params, (int)(q - weir_api_rows), true, &rc, err);
	if (!res)
		return rc;
	rc = pg_rows_json(res, q->list, q->name, &body, err);
	PQclear(res);
	if (rc < 0) {
		weir_buf_release(&body);
		return rc;
	}
	*out = weir_buf_detach(&body, len);
	return 0;
}

int pg_query_json(struct weir_store *s, const char *name, int nparams, const char *const *params,
		  json_t **out, struct weir_buf *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc = pg_query_text(s, name, nparams, params, &text, &len, err);

	*out = NULL;
	if (rc < 0)
		return rc;
	*out = json_loadb(text, len, JSON_DECODE_ANY, NULL);
	free(text);
	if (!*out) {
		weir_buf_addf(err, "query \"%s\" returned invalid JSON", name);
		return WEIR_EDB;
	}
	return 0;
}

int pg_query_text(struct weir_store *s, const char *name, int nparams, const char *const *params,
		  char **out, size_t *len, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	const struct named_sql *q = find(read_tables, WEIR_ARRAY_SIZE(read_tables), name);
	PGresult *res;
	int rc;

	*out = NULL;
	*len = 0;
	if (!q) {
		const struct named_rows *rows = find_rows(name);
		if (rows)
			return rows_text(st, rows, nparams, params, out, len, err);
		weir_buf_addf(err, "unknown query \"%s\"", name);
		return WEIR_EINVALID;
	}
	if (q->nparams != nparams) {
		weir_buf_addf(err, "query \"%s\" takes %d parameters, not %d", name, q->nparams, nparams);
		return WEIR_EINVALID;
	}
	res = pg_query(st, q->sql, nparams, params, &rc, err);
	if (!res)
		return rc;
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return WEIR_ENOTFOUND;
	}
	*len = (size_t)PQgetlength(res, 0, 0);
	*out = weir_xmalloc(*len + 1);
	memcpy(*out, PQgetvalue(res, 0, 0), *len + 1);
	PQclear(res);
	return 0;
}

int pg_exec(struct weir_store *s, const char *name, int nparams, const char *const *params,
	    long *rows, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	const struct named_sql *q = find(write_tables, WEIR_ARRAY_SIZE(write_tables), name);

	if (!q) {
		weir_buf_addf(err, "unknown statement \"%s\"", name);
		return WEIR_EINVALID;
	}
	if (q->nparams != nparams) {
		weir_buf_addf(err, "statement \"%s\" takes %d parameters, not %d", name, q->nparams, nparams);
		return WEIR_EINVALID;
	}
	return pg_exec_sql(st, q->sql, nparams, params, rows, err);
}
