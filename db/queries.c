/*
 * queries.c: named read queries (JSON built by PostgreSQL) and named
 * writes for the CLI and the API.
 *
 * Each read returns one row with one json/jsonb column: PostgreSQL builds
 * the response document itself (json_build_object, json_agg), so a
 * listing costs no per-row work in C.  Parameters are text, always bound,
 * never spliced into SQL.
 */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "db_int.h"

struct named_sql {
	const char *name;
	int nparams;
	const char *sql;
};

static const struct named_sql reads[] = {
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
	{NULL, 0, NULL},
};

static const struct named_sql writes[] = {
	{"dag.pause", 2, "UPDATE dags SET is_paused = $2::boolean, updated_at = now() WHERE dag_id = $1"},
	{"batches.prune", 0, "DELETE FROM applied_batches WHERE at < now() - interval '1 day'"},
	{NULL, 0, NULL},
};

static const struct named_sql *find(const struct named_sql *t, const char *name)
{
	for (; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

int pg_query_json(struct weir_store *s, const char *name, int nparams, const char *const *params,
		  json_t **out, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	const struct named_sql *q = find(reads, name);
	PGresult *res;
	int rc;

	if (!q) {
		weir_buf_addf(err, "unknown query \"%s\"", name);
		return WEIR_EINVALID;
	}
	if (q->nparams != nparams) {
		weir_buf_addf(err, "query \"%s\" takes %d parameters, not %d", name, q->nparams, nparams);
		return WEIR_EINVALID;
	}
	for (int attempt = 0;; attempt++) {
		rc = pg_ensure(st, err);
		if (rc < 0)
			return rc;
		res = PQexecParams(st->conn, q->sql, nparams, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			break;
		if (pg_conn_lost(st, res) && attempt < 3) {
			PQclear(res);
			pg_drop(st);
			continue;
		}
		{
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			rc = state && !strncmp(state, "22", 2) ? WEIR_EINVALID : WEIR_EDB;
		}
		pg_result_error(res, st->conn, err);
		PQclear(res);
		return rc;
	}
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
		*out = NULL;
		PQclear(res);
		return WEIR_ENOTFOUND;
	}
	*out = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, NULL);
	PQclear(res);
	if (!*out) {
		weir_buf_addf(err, "query \"%s\" returned invalid JSON", name);
		return WEIR_EDB;
	}
	return 0;
}

int pg_exec(struct weir_store *s, const char *name, int nparams, const char *const *params,
	    long *rows, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	const struct named_sql *q = find(writes, name);

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
