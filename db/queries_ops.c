/*
 * queries_ops.c: named statements for operators and connections (see
 * queries.h).
 *
 *   connections.*   `weir connections add|list|delete` and the
 *                   scheduler's resolution (engine/connections.c).  The
 *                   listing never reads the password column.
 *   ops.*           what task processes of trigger_dag and run_sensor
 *                   ask weir's own database.
 */
#include "queries.h"

#include <stddef.h>

/* A connection row c as the JSON of engine/connections.h (nulls left out). */
#define CONN_JSON(password)                                                                  \
	"json_strip_nulls(json_build_object('type', c.conn_type, 'host', c.host,"              \
	" 'port', c.port, 'login', c.login, 'password', " password ", 'schema', c.schema,"     \
	" 'extra', CASE WHEN c.extra = '{}'::jsonb THEN NULL ELSE c.extra END))"

const struct named_sql weir_ops_reads[] = {
	{"connections.all", 0,
	 "SELECT coalesce(json_object_agg(c.name, " CONN_JSON("c.password") " ORDER BY c.name), '{}')"
	 " FROM connections c"},
	{"connections.list", 0,
	 "SELECT coalesce(json_object_agg(c.name, " CONN_JSON("CASE WHEN c.password IS NULL THEN NULL ELSE '***' END")
	 " ORDER BY c.name), '{}') FROM connections c"},
	/* A run of a DAG (by run id, or the latest by logical date when $2 is
	 * NULL) and, when $3 is set, one of its task instances. */
	{"ops.run_state", 3,
	 "SELECT json_build_object('run_id', r.run_id, 'state', r.state,"
	 " 'task_state', (SELECT t.state FROM task_instances t WHERE t.run_pk = r.id AND t.task_id = $3))"
	 " FROM dag_runs r WHERE r.dag_id = $1 AND ($2::text IS NULL OR r.run_id = $2)"
	 " ORDER BY r.logical_date DESC, r.id DESC LIMIT 1"},
	{"ops.run_by_id", 2,
	 "SELECT json_build_object('run_pk', r.id, 'run_id', r.run_id, 'state', r.state,"
	 " 'order_id', r.order_id) FROM dag_runs r WHERE r.dag_id = $1 AND r.run_id = $2"},
	{NULL, 0, NULL},
};

#define CONN_INSERT                                                                          \
	"INSERT INTO connections (name, conn_type, host, port, login, password, schema, extra)" \
	" VALUES ($1, $2, $3, $4::integer, $5, $6, $7, $8::jsonb)"

const struct named_sql weir_ops_writes[] = {
	{"connections.insert", 8, CONN_INSERT},
	{"connections.upsert", 8,
	 CONN_INSERT " ON CONFLICT (name) DO UPDATE SET conn_type = EXCLUDED.conn_type,"
	 " host = EXCLUDED.host, port = EXCLUDED.port, login = EXCLUDED.login,"
	 " password = EXCLUDED.password, schema = EXCLUDED.schema, extra = EXCLUDED.extra,"
	 " updated_at = now()"},
	{"connections.delete", 1, "DELETE FROM connections WHERE name = $1"},
	{NULL, 0, NULL},
};
