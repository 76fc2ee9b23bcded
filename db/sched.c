/* sched.c: scheduler leases, DAG ownership and folder bookkeeping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/time.h"
#include "db_int.h"

int pg_scheduler_beat(struct weir_store *s, const struct weir_uuid *id, const char *hostname,
		      int pid, int64_t timeout_ms, json_t *stats, int *live, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	char ids[WEIR_UUID_STRLEN], pids[16], tmo[32];
	char *js = stats ? json_dumps(stats, JSON_COMPACT) : NULL;
	const char *v[5] = {weir_uuid_format(id, ids), hostname, pids, tmo, js};
	PGresult *res;
	int rc;

	snprintf(pids, sizeof(pids), "%d", pid);
	snprintf(tmo, sizeof(tmo), "%lld", (long long)timeout_ms);
	res = pg_query(st,
		    "WITH up AS ("
		    " INSERT INTO schedulers (id, hostname, pid, stats) VALUES ($1, $2, $3, coalesce($5::jsonb, '{}'))"
		    " ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(),"
		    "  stats = coalesce($5::jsonb, schedulers.stats) RETURNING 1)"
		    " SELECT 1 + count(*) FROM schedulers WHERE id <> $1"
		    "  AND heartbeat_at > now() - make_interval(secs => $4::bigint / 1000.0)",
		    5, v, &rc, err);
	free(js);
	if (!res)
		return rc;
	if (live)
		*live = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int pg_claim_dags(struct weir_store *s, const struct weir_uuid *id, int max, int64_t timeout_ms,
		  weir_store_claim_fn *fn, void *arg, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	char ids[WEIR_UUID_STRLEN], maxs[16], tmo[32];
	const char *v[3] = {weir_uuid_format(id, ids), maxs, tmo};
	PGresult *res;
	int rc = 0;

	snprintf(maxs, sizeof(maxs), "%d", max);
	snprintf(tmo, sizeof(tmo), "%lld", (long long)timeout_ms);
	/* Unowned DAGs, or DAGs whose owner stopped heartbeating.  SKIP
	 * LOCKED: concurrent schedulers each take different rows instead of
	 * waiting on each other. */
	res = pg_query(st,
		    "WITH free AS ("
		    " SELECT d.dag_id FROM dags d"
		    " WHERE d.is_active AND d.scheduler_id IS DISTINCT FROM $1 AND NOT EXISTS ("
		    "  SELECT 1 FROM schedulers s WHERE s.id = d.scheduler_id"
		    "  AND s.heartbeat_at > now() - make_interval(secs => $3::bigint / 1000.0))"
		    " ORDER BY d.dag_id LIMIT $2::int FOR UPDATE SKIP LOCKED),"
		    " claimed AS (UPDATE dags d SET scheduler_id = $1 FROM free"
		    "  WHERE d.dag_id = free.dag_id RETURNING d.dag_id)"
		    " SELECT d.dag_id, d.is_paused, (extract(epoch FROM d.last_interval_end) * 1000000)::bigint"
		    " FROM dags d WHERE d.scheduler_id = $1 OR d.dag_id IN (SELECT dag_id FROM claimed)",
		    3, v, &rc, err);
	if (!res)
		return rc;
	for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
		struct weir_dag_claim c;
		c.dag_id = PQgetvalue(res, r, 0);
		c.is_paused = PQgetvalue(res, r, 1)[0] == 't';
		c.last_interval_end = PQgetisnull(res, r, 2) ? WEIR_TIME_NONE
							     : strtoll(PQgetvalue(res, r, 2), NULL, 10);
		rc = fn(arg, &c);
	}
	PQclear(res);
	return rc;
}

int pg_scheduler_release(struct weir_store *s, const struct weir_uuid *id, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	char ids[WEIR_UUID_STRLEN];
	const char *v[1] = {weir_uuid_format(id, ids)};
	int rc;
	PGresult *res = pg_query(st,
			      "WITH r AS (UPDATE dags SET scheduler_id = NULL WHERE scheduler_id = $1)"
			      " DELETE FROM schedulers WHERE id = $1",
			      1, v, &rc, err);
	if (!res)
		return rc;
	PQclear(res);
	return 0;
}

int pg_deactivate_missing(struct weir_store *s, const char *folder, const char *const *files,
			  size_t n, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	struct weir_buf arr = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), prefix = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *v[2];
	PGresult *res;
	int rc;

	weir_buf_addch(&arr, '{');
	for (size_t i = 0; i < n; i++) {
		weir_buf_addstr(&arr, i ? ",\"" : "\"");
		for (const char *c = files[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				weir_buf_addch(&arr, '\\');
			weir_buf_addch(&arr, *c);
		}
		weir_buf_addch(&arr, '"');
	}
	weir_buf_addch(&arr, '}');
	/* LIKE prefix with its metacharacters escaped. */
	for (const char *c = folder; *c; c++) {
		if (*c == '%' || *c == '_' || *c == '\\')
			weir_buf_addch(&prefix, '\\');
		weir_buf_addch(&prefix, *c);
	}
	weir_buf_addstr(&prefix, "/%");
	v[0] = prefix.buf;
	v[1] = arr.buf;
	res = pg_query(st,
		    "WITH gone AS (UPDATE dags SET is_active = false, updated_at = now()"
		    " WHERE is_active AND file_path LIKE $1 AND NOT (file_path = ANY ($2::text[])) RETURNING 1)"
		    " DELETE FROM import_errors WHERE file_path LIKE $1 AND NOT (file_path = ANY ($2::text[]))",
		    2, v, &rc, err);
	weir_buf_release(&arr);
	weir_buf_release(&prefix);
	if (!res)
		return rc;
	PQclear(res);
	return 0;
}
