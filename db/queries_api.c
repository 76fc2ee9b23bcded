/*
 * queries_api.c: named statements of the HTTP API (see queries.h).
 *
 * Two kinds of reads.  Small ones (weir_api_reads) return one row with
 * one json column that IS the response body (or the part of it the
 * handler wraps), built by PostgreSQL with json_build_object / json_agg.
 * DAGs, runs and task instances, whose listings are the hot paths, are
 * row statements (weir_api_rows): plain columns, fetched in binary
 * format and written as JSON by db/rows.c.  Building a 100-run page with
 * json_agg cost PostgreSQL ~1 ms of CPU (most of it formatting
 * timestamps and escaping); the rows cost a fraction of that, and the C
 * writer ~0.05 ms (docs/perf.md, "API").  Parameters are text, always bound, and checked by the
 * handler first (integers, ISO instants, UUIDs), so bad input is a 400
 * before it reaches SQL.  Optional filters are "$n IS NULL OR ..." terms:
 * libpq sends these as unnamed statements, which PostgreSQL plans with the
 * actual values, so a NULL filter folds away and indexes still apply.
 *
 * Arrays (states, tags, scopes) are passed as JSON text ('["a","b"]').
 *
 * Shapes follow Airflow 2.x's stable REST API (DAG, DAGRun, TaskInstance,
 * Pool, ImportError, XCom*); weir's extra fields are named in
 * docs/api.md.  The run state mapping here must equal
 * weir_run_state_airflow() (engine/state.c).
 */
#include "queries.h"

#include <stddef.h>

/* ------------------------------------------------------------------ */
/* shapes                                                               */
/* ------------------------------------------------------------------ */

/*
 * Airflow's DAG, DAGRun and TaskInstance are written by db/rows.c from
 * row statements (weir_api_rows below): each *_COLS list selects one
 * column per field, named by its alias and written by its type (text ->
 * string, timestamptz -> ISO string, json/jsonb -> as is, ...).  Nested
 * values are json columns.  A NULL field is "NULL::text AS key".
 */

/* Airflow's DAG object for a row d of dags. */
#define DAG_COLS                                                                                \
	" d.dag_id, d.dag_id AS dag_display_name, d.is_paused, d.is_active,"                   \
	" d.last_parsed_at AS last_parsed_time, NULL::text AS last_pickled,"                    \
	" NULL::text AS last_expired, NULL::text AS scheduler_lock, NULL::text AS pickle_id,"   \
	" 'grid'::text AS default_view, d.file_path AS fileloc, d.dag_id AS file_token,"        \
	" CASE WHEN d.owner IS NULL THEN '[]'::json ELSE json_build_array(d.owner) END AS owners," \
	" d.description,"                                                                       \
	" CASE WHEN d.schedule IS NULL THEN NULL"                                               \
	"   ELSE json_build_object('__type', 'CronExpression', 'value', d.schedule) END"        \
	"   AS schedule_interval,"                                                              \
	" d.schedule AS timetable_description,"                                                 \
	" (SELECT coalesce(json_agg(json_build_object('name', tg) ORDER BY tg), '[]')"          \
	"   FROM unnest(d.tags) tg) AS tags,"                                                   \
	" CASE WHEN jsonb_typeof(d.definition->'max_active_tasks') = 'number'"                  \
	"   THEN (d.definition->>'max_active_tasks')::numeric::int ELSE 16 END"                 \
	"   AS max_active_tasks,"                                                               \
	" d.max_active_runs, false AS has_task_concurrency_limits,"                             \
	" EXISTS (SELECT 1 FROM import_errors ie WHERE ie.file_path = d.file_path)"             \
	"   AS has_import_errors,"                                                              \
	" d.next_logical_date AS next_dagrun,"                                                  \
	" d.next_logical_date AS next_dagrun_data_interval_start,"                              \
	" d.next_run_after AS next_dagrun_data_interval_end,"                                   \
	" d.next_run_after AS next_dagrun_create_after,"                                        \
	" 0 AS max_consecutive_failed_dag_runs, d.is_service, d.timezone"

/* Airflow's DAGRun object for a row r of dag_runs, plus order_id/order_status. */
#define DAGRUN_COLS                                                                            \
	" r.run_id AS dag_run_id, r.dag_id,"                                                    \
	" r.logical_date, r.logical_date AS execution_date,"                                    \
	" r.started_at AS start_date, r.ended_at AS end_date,"                                  \
	" r.data_interval_start, r.data_interval_end,"                                          \
	" NULL::text AS last_scheduling_decision,"                                              \
	" CASE r.run_type WHEN 'scheduled' THEN 'scheduled'"                                    \
	"   WHEN 'backfill' THEN 'backfill' ELSE 'manual' END AS run_type,"                     \
	" CASE WHEN r.state IN ('RECEIVED', 'QUEUED') THEN 'queued'"                            \
	"   WHEN r.state = 'RUNNING' THEN 'running' WHEN r.state = 'SUCCESS' THEN 'success'"    \
	"   ELSE 'failed' END AS state,"                                                        \
	" r.run_type <> 'scheduled' AS external_trigger, r.conf, r.note,"                       \
	" r.order_id, r.state AS order_status, r.run_type AS weir_run_type"

/*
 * Airflow's TaskInstance for t (task_instances) of run r (dag_runs), with
 * o (dag_tasks) for the operator.  duration is numeric (extract), which
 * rows.c does not write: to_json gives its text, as json_build_object
 * wrote it.
 */
#define TI_COLS                                                                                \
	" t.task_id, t.task_id AS task_display_name,"                                           \
	" t.dag_id, r.run_id AS dag_run_id, r.logical_date AS execution_date,"                  \
	" t.started_at AS start_date, t.ended_at AS end_date,"                                  \
	" to_json(extract(epoch FROM t.ended_at - t.started_at)) AS duration,"                  \
	" NULLIF(t.state, 'none') AS state, t.try_number, -1 AS map_index,"                     \
	" greatest(t.max_tries - 1, 0) AS max_tries, coalesce(t.hostname, '') AS hostname,"     \
	" ''::text AS unixname, t.pool, t.pool_slots, t.queue,"                                 \
	" t.priority AS priority_weight, o.operator,"                                           \
	" t.queued_at AS queued_when, t.pid, t.executor,"                                       \
	" '{}'::text AS executor_config, NULL::text AS sla_miss,"                               \
	" NULL::text AS rendered_map_index, '{}'::json AS rendered_fields,"                     \
	" NULL::text AS trigger, NULL::text AS triggerer_job, NULL::text AS note,"              \
	" t.exit_code"

/*
 * The rows of TI_COLS for the task instances in CTE "page", ordered.  The
 * operator comes from dag_tasks (migration 0004: the first element of the
 * DAG definition's task list with that id, kept by triggers on dags), one
 * primary-key lookup per row.  Expanding the definition here instead cost
 * O(tasks) per row at first (1.4-2.2 s for the 100 runs of a 200-task
 * DAG), and ~0.17 s as a join on the array expanded once per query.
 */
#define TI_ROWS                                                                                \
	"SELECT" TI_COLS " FROM page t JOIN dag_runs r ON r.id = t.run_pk"                      \
	" LEFT JOIN dag_tasks o ON o.dag_id = t.dag_id AND o.task_id = t.task_id"               \
	" ORDER BY t.run_pk, t.task_id"

/*
 * The grid's cells of one run (api.grid): for the task ids o (in order
 * n), each field of the run's task instance t as one JSON array: state
 * (Airflow's: null for none), try number, Airflow's max_tries, start and
 * end as milliseconds since 1970, rounded (numbers are a third the size
 * of ISO strings, and the browser computes with them anyway).  Each value
 * is one json_agg step, most of the statement's time: date_part (float8)
 * instead of extract (numeric) saved a third of it.
 */
#define GRID_MS(x) "CASE WHEN isfinite(" x ") THEN round(date_part('epoch', " x ") * 1000)::bigint END"
#define GRID_AGG(x, name) " coalesce(json_agg(" x " ORDER BY o.n), '[]') AS " name
#define GRID_AGGS                                                                              \
	GRID_AGG("NULLIF(t.state, 'none')", "states") ","                                        \
	GRID_AGG("t.try_number", "tries") ","                                                    \
	GRID_AGG("CASE WHEN t.max_tries IS NOT NULL THEN greatest(t.max_tries - 1, 0) END",      \
		 "max_tries") ","                                                                \
	GRID_AGG(GRID_MS("t.started_at"), "starts") ","                                          \
	GRID_AGG(GRID_MS("t.ended_at"), "ends")
#define GRID_COLS                                                                              \
	" g.states AS \"@states\", g.tries AS \"@try_numbers\", g.max_tries AS \"@max_tries\","  \
	" g.starts AS \"@start_ms\", g.ends AS \"@end_ms\""

/*
 * The state events of one run, oldest first, paged, for the run selected
 * by CTE r (one row with its id; none: the answer is NULL, "not found").
 * $3 kind (NULL: all; 'run': the run's own; 'task': its tasks')
 * $4 limit  $5 offset.
 */
#define EVENTS_OF(run)                                                                         \
	"WITH r AS (" run "), f AS (SELECT e.* FROM state_events e"                              \
	" WHERE e.run_pk = (SELECT id FROM r)"                                                  \
	" AND ($3::text IS NULL OR ($3 = 'run') = (e.task_id IS NULL)))"                        \
	" SELECT CASE WHEN EXISTS (SELECT 1 FROM r) THEN json_build_object('events',"           \
	" coalesce((SELECT json_agg(json_build_object('at', f.at, 'task_id', f.task_id,"        \
	"  'try_number', f.try_number, 'from', f.from_state, 'to', f.to_state,"                 \
	"  'actor', f.actor, 'reason', f.reason) ORDER BY f.at, f.id)"                          \
	"  FROM (SELECT * FROM f ORDER BY at, id LIMIT $4::int OFFSET $5::int) f), '[]'),"      \
	" 'total_entries', (SELECT count(*) FROM f)) END"

/* Airflow's Pool, for p (pools) with usage u (POOL_USE). */
#define POOL_JSON                                                                              \
	"json_build_object('name', p.name, 'slots', p.slots,"                                   \
	" 'occupied_slots', coalesce(u.running, 0) + coalesce(u.queued, 0),"                    \
	" 'running_slots', coalesce(u.running, 0), 'queued_slots', coalesce(u.queued, 0),"      \
	" 'open_slots', CASE WHEN p.slots < 0 THEN 2147483647"                                  \
	"   ELSE greatest(p.slots - coalesce(u.running, 0) - coalesce(u.queued, 0), 0) END,"    \
	" 'scheduled_slots', coalesce(u.scheduled, 0), 'deferred_slots', 0,"                    \
	" 'description', p.description, 'include_deferred', p.include_deferred)"
#define POOL_USE                                                                               \
	" LEFT JOIN (SELECT pool, sum(pool_slots) FILTER (WHERE state = 'running') AS running,"  \
	"  sum(pool_slots) FILTER (WHERE state = 'queued') AS queued,"                           \
	"  sum(pool_slots) FILTER (WHERE state = 'scheduled') AS scheduled"                      \
	"  FROM task_instances WHERE state IN ('queued', 'running', 'scheduled')"                \
	"  GROUP BY pool) u ON u.pool = p.name"

/* weir's order, for r (dag_runs). */
#define ORDER_JSON                                                                             \
	"json_build_object('order_id', r.order_id, 'dag_id', r.dag_id,"                         \
	" 'service', coalesce(r.service, r.dag_id), 'status', r.state, 'run_id', r.run_id,"     \
	" 'params', r.params, 'result', r.result, 'client', r.client_id,"                       \
	" 'received_at', r.received_at, 'queued_at', r.queued_at,"                              \
	" 'started_at', r.started_at, 'ended_at', r.ended_at,"                                  \
	" 'aoi', ST_AsGeoJSON(r.aoi)::json,"                                                    \
	" 'links', json_build_object('self', '/api/v1/orders/' || r.order_id))"

#define CLIENT_JSON                                                                            \
	"json_build_object('client_id', c.client_id, 'name', c.name, 'scopes', c.scopes,"       \
	" 'token_lifetime', c.token_ttl_s, 'created_at', c.created_at,"                         \
	" 'updated_at', c.updated_at)"

#define USER_JSON                                                                              \
	"json_build_object('username', u.username, 'scopes', u.scopes,"                         \
	" 'created_at', u.created_at, 'updated_at', u.updated_at)"

/* A JSON array parameter as text[] (NULL stays NULL). */
#define TEXT_ARRAY(p) "ARRAY(SELECT jsonb_array_elements_text(" p "::jsonb))"

/* ------------------------------------------------------------------ */
/* run listings: one statement per sort order (so indexes apply)        */
/* ------------------------------------------------------------------ */

/*
 * $1 dag_id (NULL: every DAG)  $2 states (JSON array of weir states)
 * $3/$4 logical date >= / <=   $5/$6 start  $7/$8 end  $9/$10 updated
 * $11 limit  $12 offset  $13 dag ids (JSON array, NULL: any)
 */
#define RUNS_FILTER                                                                            \
	" ($1::text IS NULL OR r.dag_id = $1)"                                                  \
	" AND ($2::jsonb IS NULL OR r.state = ANY (" TEXT_ARRAY("$2") "))"                       \
	" AND ($3::timestamptz IS NULL OR r.logical_date >= $3::timestamptz)"                   \
	" AND ($4::timestamptz IS NULL OR r.logical_date <= $4::timestamptz)"                   \
	" AND ($5::timestamptz IS NULL OR r.started_at >= $5::timestamptz)"                     \
	" AND ($6::timestamptz IS NULL OR r.started_at <= $6::timestamptz)"                     \
	" AND ($7::timestamptz IS NULL OR r.ended_at >= $7::timestamptz)"                       \
	" AND ($8::timestamptz IS NULL OR r.ended_at <= $8::timestamptz)"                       \
	" AND ($9::timestamptz IS NULL OR r.updated_at >= $9::timestamptz)"                     \
	" AND ($10::timestamptz IS NULL OR r.updated_at <= $10::timestamptz)"                   \
	" AND ($13::jsonb IS NULL OR r.dag_id = ANY (" TEXT_ARRAY("$13") "))"

/*
 * Listings are row statements: column 1 is the total, the other columns
 * the page's objects, and the page is LEFT JOINed to the one-row total,
 * so an empty page still gives the total (one row, objects NULL).  A
 * join without join clauses can only be a nested loop, whose outer side
 * is the single total row, so the rows come out in the page's ORDER BY
 * order (tests/api/test_api.c compares whole pages with the former
 * json_agg(... ORDER BY) statements).
 */
#define RUNS_LIST(order)                                                                       \
	"SELECT c.total_entries, p.* FROM (SELECT count(*) AS total_entries FROM dag_runs r"    \
	" WHERE" RUNS_FILTER ") c LEFT JOIN (SELECT" DAGRUN_COLS " FROM dag_runs r"               \
	" WHERE" RUNS_FILTER " ORDER BY " order " LIMIT $11::int OFFSET $12::int) p ON true"

/*
 * The hot path: one DAG's runs (or every DAG's), no filter.  No optional
 * terms to plan, and the total comes from dag_run_counts instead of a
 * count over every run.  $1 dag_id (NULL: all)  $2 limit  $3 offset.
 */
#define RUNS_PAGE(order)                                                                       \
	"SELECT c.total_entries, p.* FROM (SELECT coalesce(sum(runs), 0)::bigint AS total_entries" \
	" FROM dag_run_counts WHERE $1::text IS NULL OR dag_id = $1) c"                         \
	" LEFT JOIN (SELECT" DAGRUN_COLS " FROM dag_runs r WHERE ($1::text IS NULL OR r.dag_id = $1)" \
	" ORDER BY " order " LIMIT $2::int OFFSET $3::int) p ON true"

#define RUNS_ORDER(key, col)                                                                   \
	{"api.runs.list:" key, 13, "dag_runs", RUNS_LIST(col ", r.id")},                       \
	{"api.runs.list:-" key, 13, "dag_runs", RUNS_LIST(col " DESC, r.id DESC")},            \
	{"api.runs.page:" key, 3, "dag_runs", RUNS_PAGE(col ", r.id")},                        \
	{"api.runs.page:-" key, 3, "dag_runs", RUNS_PAGE(col " DESC, r.id DESC")}

/* $1 statuses (JSON)  $2 service  $3 client  $4/$5 received >= / <=  $6 limit  $7 offset */
#define ORDERS_FILTER                                                                          \
	" ($1::jsonb IS NULL OR r.state = ANY (" TEXT_ARRAY("$1") "))"                           \
	" AND ($2::text IS NULL OR coalesce(r.service, r.dag_id) = $2)"                         \
	" AND ($3::text IS NULL OR r.client_id = $3)"                                           \
	" AND ($4::timestamptz IS NULL OR r.received_at >= $4::timestamptz)"                    \
	" AND ($5::timestamptz IS NULL OR r.received_at <= $5::timestamptz)"

/* $1 state (JSON)  $2 pool (JSON)  $3 queue (JSON)  $4 executor (JSON)
 * $5/$6 start  $7/$8 end  $9/$10 duration  $11 limit  $12 offset  $13 dag  $14 run */
#define TIS_FILTER                                                                             \
	" ($13::text IS NULL OR r.dag_id = $13) AND ($14::text IS NULL OR r.run_id = $14)"      \
	" AND ($1::jsonb IS NULL OR t.state = ANY (" TEXT_ARRAY("$1") "))"                       \
	" AND ($2::jsonb IS NULL OR t.pool = ANY (" TEXT_ARRAY("$2") "))"                        \
	" AND ($3::jsonb IS NULL OR t.queue = ANY (" TEXT_ARRAY("$3") "))"                       \
	" AND ($4::jsonb IS NULL OR t.executor = ANY (" TEXT_ARRAY("$4") "))"                    \
	" AND ($5::timestamptz IS NULL OR t.started_at >= $5::timestamptz)"                     \
	" AND ($6::timestamptz IS NULL OR t.started_at <= $6::timestamptz)"                     \
	" AND ($7::timestamptz IS NULL OR t.ended_at >= $7::timestamptz)"                       \
	" AND ($8::timestamptz IS NULL OR t.ended_at <= $8::timestamptz)"                       \
	" AND ($9::float8 IS NULL OR extract(epoch FROM t.ended_at - t.started_at) >= $9::float8)" \
	" AND ($10::float8 IS NULL OR extract(epoch FROM t.ended_at - t.started_at) <= $10::float8)"

const struct named_sql weir_api_reads[] = {
	/* -------------------------------------------------------------- */
	/* auth                                                             */
	/* -------------------------------------------------------------- */
	{"api.token.lookup", 1,
	 "SELECT json_build_object('kind', t.kind, 'client_id', t.client_id,"
	 " 'username', u.username, 'user_id', t.user_id, 'scopes', t.scopes, 'family', t.family,"
	 " 'exp', floor(extract(epoch FROM t.expires_at))::bigint,"
	 " 'iat', floor(extract(epoch FROM t.created_at))::bigint,"
	 " 'expired', t.expires_at <= now(),"
	 " 'revoked', t.revoked_at IS NOT NULL OR c.deleted_at IS NOT NULL"
	 "   OR u.deleted_at IS NOT NULL)"
	 " FROM oauth_tokens t JOIN oauth_clients c ON c.client_id = t.client_id"
	 " LEFT JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"},
	{"api.client.auth", 1,
	 "SELECT json_build_object('client_id', client_id, 'name', name, 'secret_hash', secret_hash,"
	 " 'scopes', scopes, 'token_ttl_s', token_ttl_s)"
	 " FROM oauth_clients WHERE client_id = $1 AND deleted_at IS NULL"},
	{"api.user.auth", 1,
	 "SELECT json_build_object('id', id, 'username', username, 'password_hash', password_hash,"
	 " 'scopes', scopes) FROM users WHERE username = $1 AND deleted_at IS NULL"},
	{"api.clients.list", 2,
	 "SELECT json_build_object('clients', coalesce((SELECT json_agg(" CLIENT_JSON
	 " ORDER BY c.created_at, c.client_id) FROM (SELECT * FROM oauth_clients"
	 " WHERE deleted_at IS NULL ORDER BY created_at, client_id LIMIT $1::int OFFSET $2::int) c),"
	 " '[]'), 'total_entries', (SELECT count(*) FROM oauth_clients WHERE deleted_at IS NULL))"},
	{"api.client.get", 1,
	 "SELECT " CLIENT_JSON " FROM oauth_clients c WHERE c.client_id = $1 AND c.deleted_at IS NULL"},
	{"api.users.list", 2,
	 "SELECT json_build_object('users', coalesce((SELECT json_agg(" USER_JSON
	 " ORDER BY u.username) FROM (SELECT * FROM users WHERE deleted_at IS NULL"
	 " ORDER BY username LIMIT $1::int OFFSET $2::int) u), '[]'),"
	 " 'total_entries', (SELECT count(*) FROM users WHERE deleted_at IS NULL))"},
	{"api.user.get", 1,
	 "SELECT " USER_JSON " FROM users u WHERE u.username = $1 AND u.deleted_at IS NULL"},

	/* -------------------------------------------------------------- */
	/* DAGs                                                             */
	/* -------------------------------------------------------------- */
	{"api.dag.source", 1,
	 "SELECT json_build_object('dag_id', dag_id, 'source', source, 'file_path', file_path,"
	 " 'is_active', is_active) FROM dags WHERE dag_id = $1"},
	{"api.services.list", 0,
	 "SELECT json_build_object('services', coalesce(json_agg(json_build_object("
	 " 'service', d.dag_id, 'description', d.description, 'is_paused', d.is_paused,"
	 " 'params', coalesce(d.definition->'params', '{}'::jsonb),"
	 " 'max_area_km2', d.definition->'max_area_km2',"
	 " 'links', json_build_object('orders', '/api/v1/services/' || d.dag_id || '/orders'))"
	 " ORDER BY d.dag_id), '[]'), 'total_entries', count(*))"
	 " FROM dags d WHERE d.is_service AND d.is_active"},
	/* $1 limit $2 offset $3 order */
	{"api.import_errors.list", 3,
	 "SELECT json_build_object('import_errors', coalesce((SELECT json_agg(json_build_object("
	 " 'import_error_id', e.id, 'timestamp', e.created_at, 'filename', e.file_path,"
	 " 'stack_trace', e.message) ORDER BY e.ord) FROM (SELECT x.*, row_number() OVER (ORDER BY"
	 "   CASE WHEN $3 = 'import_error_id' THEN x.id END,"
	 "   CASE WHEN $3 = '-import_error_id' THEN x.id END DESC,"
	 "   CASE WHEN $3 = 'timestamp' THEN x.created_at END,"
	 "   CASE WHEN $3 = '-timestamp' THEN x.created_at END DESC,"
	 "   CASE WHEN $3 = 'filename' THEN x.file_path END,"
	 "   CASE WHEN $3 = '-filename' THEN x.file_path END DESC, x.id) AS ord"
	 " FROM import_errors x ORDER BY ord LIMIT $1::int OFFSET $2::int) e), '[]'),"
	 " 'total_entries', (SELECT count(*) FROM import_errors))"},
	{"api.import_error.get", 1,
	 "SELECT json_build_object('import_error_id', e.id, 'timestamp', e.created_at,"
	 " 'filename', e.file_path, 'stack_trace', e.message)"
	 " FROM import_errors e WHERE e.id = $1::bigint"},

	/* -------------------------------------------------------------- */
	/* runs                                                             */
	/* -------------------------------------------------------------- */
	/* Task states of a run (marking a run successful). */
	{"api.run.tis", 1,
	 "SELECT coalesce(json_agg(json_build_object('task_id', task_id, 'state', state)"
	 " ORDER BY task_id), '[]') FROM task_instances WHERE run_pk = $1::bigint"},
	/* The facts a handler needs about a run before acting on it. */
	{"api.run.key", 2,
	 "SELECT json_build_object('run_pk', r.id, 'state', r.state, 'dag_id', r.dag_id,"
	 " 'run_id', r.run_id, 'order_id', r.order_id, 'client_id', r.client_id)"
	 " FROM dag_runs r WHERE r.dag_id = $1 AND r.run_id = $2"},
	/* $1 dag  $2 run  $3 kind  $4 limit  $5 offset */
	{"api.run.events", 5,
	 EVENTS_OF("SELECT id FROM dag_runs WHERE dag_id = $1 AND run_id = $2")},
	{"api.ti.key", 3,
	 "SELECT json_build_object('run_pk', r.id, 'run_state', r.state, 'state', t.state,"
	 " 'try_number', t.try_number, 'logical_date', r.logical_date)"
	 " FROM task_instances t JOIN dag_runs r ON r.id = t.run_pk"
	 " WHERE r.dag_id = $1 AND r.run_id = $2 AND t.task_id = $3"},
	/* One try of a task: the newest row with that number (a sensor in
	 * reschedule mode has several). */
	{"api.try.get", 3,
	 "SELECT json_build_object('try_number', try_number, 'state', state,"
	 " 'log_path', log_path, 'finished', ended_at IS NOT NULL)"
	 " FROM task_tries WHERE run_pk = $1::bigint AND task_id = $2 AND try_number = $3::int"
	 " ORDER BY queued_at DESC NULLS LAST LIMIT 1"},
	/* $1 dag $2 run $3 task (NULL: any, Airflow's "~") $4 key $5 limit $6 offset */
	{"api.xcom.list", 6,
	 "WITH f AS (SELECT x.*, r.dag_id, r.run_id, r.logical_date FROM xcom x"
	 " JOIN dag_runs r ON r.id = x.run_pk"
	 " WHERE ($1::text IS NULL OR r.dag_id = $1) AND ($2::text IS NULL OR r.run_id = $2)"
	 " AND ($3::text IS NULL OR x.task_id = $3) AND ($4::text IS NULL OR x.key = $4))"
	 " SELECT json_build_object('xcom_entries', coalesce((SELECT json_agg(json_build_object("
	 " 'key', f.key, 'timestamp', f.created_at, 'execution_date', f.logical_date,"
	 " 'map_index', -1, 'task_id', f.task_id, 'dag_id', f.dag_id, 'dag_run_id', f.run_id)"
	 " ORDER BY f.dag_id, f.run_id, f.task_id, f.key) FROM (SELECT * FROM f"
	 " ORDER BY dag_id, run_id, task_id, key LIMIT $5::int OFFSET $6::int) f), '[]'),"
	 " 'total_entries', (SELECT count(*) FROM f))"},
	{"api.xcom.get", 4,
	 "SELECT json_build_object('key', x.key, 'timestamp', x.created_at,"
	 " 'execution_date', r.logical_date, 'map_index', -1, 'task_id', x.task_id,"
	 " 'dag_id', r.dag_id, 'dag_run_id', r.run_id, 'value', x.value)"
	 " FROM xcom x JOIN dag_runs r ON r.id = x.run_pk"
	 " WHERE r.dag_id = $1 AND r.run_id = $2 AND x.task_id = $3 AND x.key = $4"},

	/* -------------------------------------------------------------- */
	/* pools                                                            */
	/* -------------------------------------------------------------- */
	{"api.pools.list", 3,
	 "SELECT json_build_object('pools', coalesce((SELECT json_agg(" POOL_JSON " ORDER BY p.ord)"
	 " FROM (SELECT x.*, row_number() OVER (ORDER BY"
	 "   CASE WHEN $3 = 'slots' THEN x.slots END,"
	 "   CASE WHEN $3 = '-slots' THEN x.slots END DESC,"
	 "   CASE WHEN $3 = '-name' THEN x.name END DESC, x.name) AS ord"
	 " FROM pools x ORDER BY ord LIMIT $1::int OFFSET $2::int) p" POOL_USE "), '[]'),"
	 " 'total_entries', (SELECT count(*) FROM pools))"},
	{"api.pool.get", 1, "SELECT " POOL_JSON " FROM pools p" POOL_USE " WHERE p.name = $1"},

	/* -------------------------------------------------------------- */
	/* services and orders                                              */
	/* -------------------------------------------------------------- */
	{"api.aoi.normalize", 2, "SELECT weir_aoi_normalize($1, $2)"},
	/* $1 order id  $2 client (NULL: any, for admins) */
	{"api.order.get", 2,
	 "SELECT " ORDER_JSON " FROM dag_runs r WHERE r.order_id = $1::uuid"
	 " AND ($2::text IS NULL OR r.client_id = $2)"},
	{"api.order.key", 2,
	 "SELECT json_build_object('run_pk', r.id, 'state', r.state, 'dag_id', r.dag_id,"
	 " 'run_id', r.run_id) FROM dag_runs r WHERE r.order_id = $1::uuid"
	 " AND ($2::text IS NULL OR r.client_id = $2)"},
	/* $1 order id  $2 client (NULL: any)  $3 kind  $4 limit  $5 offset */
	{"api.order.events", 5,
	 EVENTS_OF("SELECT id FROM dag_runs WHERE order_id = $1::uuid"
		   " AND ($2::text IS NULL OR client_id = $2)")},
	{"api.orders.list", 7,
	 "SELECT json_build_object('orders', coalesce((SELECT json_agg(" ORDER_JSON
	 " ORDER BY r.received_at DESC, r.id DESC) FROM (SELECT * FROM dag_runs r WHERE" ORDERS_FILTER
	 " ORDER BY r.received_at DESC, r.id DESC LIMIT $6::int OFFSET $7::int) r), '[]'),"
	 " 'total_entries', (SELECT count(*) FROM dag_runs r WHERE" ORDERS_FILTER "))"},

	/* -------------------------------------------------------------- */
	/* observability                                                    */
	/* -------------------------------------------------------------- */
	{"api.health", 0,
	 "SELECT json_build_object('latest', max(heartbeat_at),"
	 " 'age_ms', floor(extract(epoch FROM now() - max(heartbeat_at)) * 1000)::bigint)"
	 " FROM schedulers"},
	{"api.metrics", 0,
	 "SELECT json_build_object("
	 " 'runs', (SELECT coalesce(json_object_agg(state, n), '{}') FROM"
	 "   (SELECT state, count(*) AS n FROM dag_runs GROUP BY state) x),"
	 " 'task_instances', (SELECT coalesce(json_object_agg(state, n), '{}') FROM"
	 "   (SELECT state, count(*) AS n FROM task_instances GROUP BY state) x),"
	 " 'task_tries', (SELECT coalesce(json_object_agg(state, n), '{}') FROM"
	 "   (SELECT state, count(*) AS n FROM task_tries GROUP BY state) x),"
	 " 'schedulers', (SELECT coalesce(json_agg(json_build_object('id', id, 'hostname', hostname,"
	 "   'pid', pid, 'heartbeat_age_s', extract(epoch FROM now() - heartbeat_at),"
	 "   'stats', stats) ORDER BY id), '[]') FROM schedulers),"
	 " 'pools', (SELECT coalesce(json_agg(json_build_object('name', p.name, 'slots', p.slots,"
	 "   'used', coalesce(u.running, 0) + coalesce(u.queued, 0)) ORDER BY p.name), '[]')"
	 "   FROM pools p" POOL_USE "))"},
	{NULL, 0, NULL},
};

const struct named_sql weir_api_writes[] = {
	/* -------------------------------------------------------------- */
	/* clients, users, tokens                                           */
	/* -------------------------------------------------------------- */
	/* $1 id $2 name $3 secret hash $4 scopes (JSON) $5 ttl s */
	{"api.client.insert", 5,
	 "INSERT INTO oauth_clients (client_id, name, secret_hash, scopes, token_ttl_s)"
	 " VALUES ($1, $2, $3, coalesce(" TEXT_ARRAY("$4") ", '{}'), $5::int)"},
	/* The first admin client, unless a live one exists (weir standalone). */
	{"api.client.bootstrap_admin", 4,
	 "INSERT INTO oauth_clients (client_id, name, secret_hash, scopes, token_ttl_s)"
	 " SELECT $1, $2, $3, '{admin}', $4::int WHERE NOT EXISTS (SELECT 1 FROM oauth_clients"
	 " WHERE deleted_at IS NULL AND 'admin' = ANY (scopes))"
	 " ON CONFLICT DO NOTHING"},
	/* $1 id; NULL leaves a field alone: $2 name $3 scopes (JSON) $4 ttl */
	{"api.client.update", 4,
	 "UPDATE oauth_clients SET name = coalesce($2, name),"
	 " scopes = CASE WHEN $3::jsonb IS NULL THEN scopes ELSE " TEXT_ARRAY("$3") " END,"
	 " token_ttl_s = coalesce($4::int, token_ttl_s), updated_at = now()"
	 " WHERE client_id = $1 AND deleted_at IS NULL"},
	{"api.client.delete", 1,
	 "WITH d AS (UPDATE oauth_clients SET deleted_at = now(), updated_at = now()"
	 " WHERE client_id = $1 AND deleted_at IS NULL RETURNING client_id),"
	 " r AS (UPDATE oauth_tokens SET revoked_at = now()"
	 " WHERE client_id IN (SELECT client_id FROM d) AND revoked_at IS NULL)"
	 " SELECT 1 FROM d"},
	/* $1 username $2 password hash $3 scopes (JSON) */
	{"api.user.insert", 3,
	 "INSERT INTO users (username, password_hash, scopes)"
	 " VALUES ($1, $2, coalesce(" TEXT_ARRAY("$3") ", '{}'))"},
	{"api.user.update", 3,
	 "UPDATE users SET password_hash = coalesce($2, password_hash),"
	 " scopes = CASE WHEN $3::jsonb IS NULL THEN scopes ELSE " TEXT_ARRAY("$3") " END,"
	 " updated_at = now() WHERE username = $1 AND deleted_at IS NULL"},
	{"api.user.delete", 1,
	 "WITH d AS (UPDATE users SET deleted_at = now(), updated_at = now()"
	 " WHERE username = $1 AND deleted_at IS NULL RETURNING id),"
	 " r AS (UPDATE oauth_tokens SET revoked_at = now()"
	 " WHERE user_id IN (SELECT id FROM d) AND revoked_at IS NULL)"
	 " SELECT 1 FROM d"},
	/*
	 * Issues tokens of a new grant: $1 access hash, $2 refresh hash (NULL:
	 * none), $3 client, $4 user id, $5 scopes (JSON), $6 family, $7 access
	 * ttl s, $8 refresh ttl s.
	 */
	{"api.token.issue", 8,
	 "INSERT INTO oauth_tokens (token_hash, kind, client_id, user_id, scopes, family, expires_at)"
	 " SELECT v.h, v.k, $3, $4::bigint, coalesce(" TEXT_ARRAY("$5") ", '{}'), $6::uuid,"
	 " now() + make_interval(secs => v.s)"
	 " FROM (VALUES ($1, 'access', $7::float8), ($2, 'refresh', $8::float8)) v (h, k, s)"
	 " WHERE v.h IS NOT NULL"},
	/*
	 * Rotation: revokes refresh token $1 of client $2 and issues a new
	 * pair ($3 access, $4 refresh) in its family, with scopes $5, ttls $6,
	 * $7.  Two rows, or none when the old token is no longer usable.
	 */
	{"api.token.rotate", 7,
	 "WITH old AS (UPDATE oauth_tokens SET revoked_at = now() WHERE token_hash = $1"
	 " AND kind = 'refresh' AND client_id = $2 AND revoked_at IS NULL AND expires_at > now()"
	 " RETURNING client_id, user_id, family)"
	 " INSERT INTO oauth_tokens (token_hash, kind, client_id, user_id, scopes, family, expires_at)"
	 " SELECT v.h, v.k, old.client_id, old.user_id, coalesce(" TEXT_ARRAY("$5") ", '{}'),"
	 " old.family, now() + make_interval(secs => v.s)"
	 " FROM old, (VALUES ($3, 'access', $6::float8), ($4, 'refresh', $7::float8)) v (h, k, s)"},
	{"api.token.revoke_family", 1,
	 "UPDATE oauth_tokens SET revoked_at = now() WHERE family = $1::uuid AND revoked_at IS NULL"},
	/* RFC 7009: a refresh token takes its whole grant with it. */
	{"api.token.revoke", 2,
	 "UPDATE oauth_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND client_id = $2"
	 " AND (token_hash = $1 OR family = (SELECT family FROM oauth_tokens"
	 "  WHERE token_hash = $1 AND kind = 'refresh' AND client_id = $2))"},
	{"api.tokens.prune", 0,
	 "DELETE FROM oauth_tokens WHERE expires_at < now() - interval '1 day'"},

	/* -------------------------------------------------------------- */
	/* pools                                                            */
	/* -------------------------------------------------------------- */
	{"api.pool.insert", 4,
	 "INSERT INTO pools (name, slots, description, include_deferred)"
	 " VALUES ($1, $2::int, coalesce($3, ''), coalesce($4::boolean, false))"},
	/* $1 name; NULL leaves a field alone */
	{"api.pool.update", 4,
	 "UPDATE pools SET slots = coalesce($2::int, slots),"
	 " description = coalesce($3, description),"
	 " include_deferred = coalesce($4::boolean, include_deferred) WHERE name = $1"},
	{"api.pool.delete", 1, "DELETE FROM pools WHERE name = $1 AND name <> 'default_pool'"},

	/* -------------------------------------------------------------- */
	/* runs                                                             */
	/* -------------------------------------------------------------- */
	/* Only finished runs can be deleted (the scheduler owns the others). */
	{"api.run.delete", 1,
	 "DELETE FROM dag_runs WHERE id = $1::bigint"
	 " AND state IN ('SUCCESS', 'FAILED', 'INVALID', 'ABORTED')"},
	{"api.dag.pause", 2,
	 "UPDATE dags SET is_paused = $2::boolean, updated_at = now() WHERE dag_id = $1"},
	{NULL, 0, NULL},
};

/* ------------------------------------------------------------------ */
/* row statements: DAGs, runs, task instances (JSON written by rows.c)  */
/* ------------------------------------------------------------------ */

const struct named_rows weir_api_rows[] = {
	/* $1 limit $2 offset $3 order $4 tags (JSON) $5 only_active $6 paused $7 pattern */
	{"api.dags.list", 7, "dags",
	 "WITH f AS (SELECT * FROM dags d WHERE (NOT $5::boolean OR d.is_active)"
	 " AND ($6::boolean IS NULL OR d.is_paused = $6::boolean)"
	 " AND ($7::text IS NULL OR d.dag_id ILIKE '%' || $7 || '%')"
	 " AND ($4::jsonb IS NULL OR d.tags && " TEXT_ARRAY("$4") "))"
	 " SELECT c.total_entries, p.* FROM (SELECT count(*) AS total_entries FROM f) c"
	 " LEFT JOIN (SELECT" DAG_COLS " FROM (SELECT f.*, row_number() OVER (ORDER BY"
	 "   CASE WHEN $3 = 'dag_id' THEN f.dag_id END,"
	 "   CASE WHEN $3 = '-dag_id' THEN f.dag_id END DESC,"
	 "   CASE WHEN $3 = 'is_paused' THEN f.is_paused END,"
	 "   CASE WHEN $3 = '-is_paused' THEN f.is_paused END DESC,"
	 "   CASE WHEN $3 = 'last_parsed_time' THEN f.last_parsed_at END,"
	 "   CASE WHEN $3 = '-last_parsed_time' THEN f.last_parsed_at END DESC,"
	 "   CASE WHEN $3 = 'next_dagrun' THEN f.next_logical_date END,"
	 "   CASE WHEN $3 = '-next_dagrun' THEN f.next_logical_date END DESC,"
	 "   CASE WHEN $3 = 'fileloc' THEN f.file_path END,"
	 "   CASE WHEN $3 = '-fileloc' THEN f.file_path END DESC,"
	 "   f.dag_id) AS ord FROM f ORDER BY ord LIMIT $1::int OFFSET $2::int) d"
	 " ORDER BY d.ord) p ON true"},
	{"api.dag.get", 1, NULL, "SELECT" DAG_COLS " FROM dags d WHERE d.dag_id = $1"},

	RUNS_ORDER("id", "r.id"),
	RUNS_ORDER("dag_run_id", "r.run_id"),
	RUNS_ORDER("logical_date", "r.logical_date"),
	RUNS_ORDER("start_date", "r.started_at"),
	RUNS_ORDER("end_date", "r.ended_at"),
	RUNS_ORDER("state", "r.state"),
	RUNS_ORDER("dag_id", "r.dag_id"),
	RUNS_ORDER("updated_at", "r.updated_at"),
	RUNS_ORDER("data_interval_start", "r.data_interval_start"),
	RUNS_ORDER("data_interval_end", "r.data_interval_end"),
	RUNS_ORDER("run_type", "r.run_type"),
	{"api.run.by_pk", 1, NULL, "SELECT" DAGRUN_COLS " FROM dag_runs r WHERE r.id = $1::bigint"},
	{"api.run.get", 2, NULL,
	 "SELECT" DAGRUN_COLS " FROM dag_runs r WHERE r.dag_id = $1 AND r.run_id = $2"},

	{"api.tis.list", 14, "task_instances",
	 "SELECT c.total_entries, p.* FROM (SELECT count(*) AS total_entries"
	 " FROM task_instances t JOIN dag_runs r ON r.id = t.run_pk WHERE" TIS_FILTER ") c"
	 " LEFT JOIN (WITH page AS (SELECT t.* FROM task_instances t JOIN dag_runs r ON r.id = t.run_pk"
	 " WHERE" TIS_FILTER " ORDER BY t.run_pk, t.task_id LIMIT $11::int OFFSET $12::int) "
	 TI_ROWS ") p ON true"},
	{"api.ti.get", 3, NULL,
	 "WITH page AS (SELECT t.* FROM task_instances t JOIN dag_runs r ON r.id = t.run_pk"
	 " WHERE r.dag_id = $1 AND r.run_id = $2 AND t.task_id = $3) " TI_ROWS},

	/*
	 * The grid (weir's extension): one DAG's runs, newest (highest id)
	 * first, as DAGRun objects, with per run one array per cell field
	 * ('@' columns, rows.c), in the order of the task ids in $4 (a JSON
	 * array, the handler's topological order).  A task without an
	 * instance in a run is null in every array.
	 * $1 dag_id  $2 limit  $3 offset  $4 task ids (JSON)
	 */
	{"api.grid", 4, "dag_runs",
	 "SELECT c.total_entries, p.* FROM (SELECT coalesce(sum(runs), 0)::bigint AS total_entries"
	 " FROM dag_run_counts WHERE dag_id = $1) c"
	 " LEFT JOIN (SELECT" DAGRUN_COLS "," GRID_COLS
	 " FROM (SELECT * FROM dag_runs r WHERE r.dag_id = $1"
	 "  ORDER BY r.id DESC LIMIT $2::int OFFSET $3::int) r"
	 " LEFT JOIN LATERAL (SELECT" GRID_AGGS " FROM jsonb_array_elements_text($4::jsonb)"
	 "  WITH ORDINALITY o (task_id, n)"
	 "  LEFT JOIN task_instances t ON t.run_pk = r.id AND t.task_id = o.task_id) g ON true"
	 " ORDER BY r.id DESC) p ON true"},
	{NULL, 0, NULL, NULL},
};
