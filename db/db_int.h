/*
 * db_int.h: private to db/, the PostgreSQL implementation of store.h.
 *
 * Connection invariants:
 *   - st->conn is NULL or a connection on which every statement of
 *     prepared[] has been prepared and every channel of listening has
 *     been LISTENed, in pipeline-off, idle state;
 *   - any libpq failure that leaves CONNECTION_BAD goes through
 *     pg_reconnect(), which retries with exponential backoff (50 ms,
 *     doubling, at most 2 s apart) within weir_store_reconnect_budget_ms;
 *   - nothing but db/ sees a PGconn or PGresult.
 */
#ifndef WEIR_DB_INT_H
#define WEIR_DB_INT_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "common/buf.h"
#include "common/vec.h"
#include "engine/store.h"

struct weir_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct weir_migration weir_migrations[];

/* Prepared statements, by index. */
enum pg_stmt {
	PG_RUN_CREATE,
	PG_RUN_STATE,
	PG_TIS_CREATE,
	PG_TI_STATE,
	PG_XCOM_PUT,
	PG_HEARTBEAT,
	PG_DAG_SCHEDULE,
	PG_BATCH_MARK,
	PG_BATCH_SEEN,
	PG__STMT_COUNT,
};

/* Statements that pg_query_fmt prepares on first use (see db/rows.c). */
#define PG_MAX_SLOTS 128

struct pg_store {
	struct weir_store base;
	PGconn *conn;
	char *conninfo;
	char *display;        /* conninfo with the password masked, for messages */
	char *app;            /* application_name (see weir_pg_store_set_app) */
	struct weir_strvec listening;
	bool schema_ready;    /* statements prepared (needs migrated schema) */
	/* Statements prepared on first use (pg_query_fmt's slots), on conn. */
	unsigned char slot_ready[PG_MAX_SLOTS];
	bool custom_plans;    /* plan_cache_mode = force_custom_plan set on conn */
};

/* Ensures a usable connection (reconnecting if needed). */
int pg_ensure(struct pg_store *st, struct weir_buf *err);
/* Drops the connection after a failure; the next pg_ensure reconnects. */
void pg_drop(struct pg_store *st);
/* True when the last failure means the connection is gone. */
bool pg_conn_lost(struct pg_store *st, const PGresult *res);
/* Appends the server's message (and detail) of res to err. */
void pg_result_error(const PGresult *res, PGconn *conn, struct weir_buf *err);
/* Runs one command (no rows expected); 0 or WEIR_EDB / WEIR_ECONN. */
int pg_command(struct pg_store *st, const char *sql, struct weir_buf *err);
/* Prepares the statements of pg_stmt (after migrations). */
int pg_prepare_all(struct pg_store *st, struct weir_buf *err);

/*
 * Runs one parameterised statement outside batches, reconnecting and
 * retrying (at most 3 times) when the connection is lost, so only for
 * reads and idempotent writes.  Returns the result (tuples or command ok;
 * the caller clears it), or NULL with *rc = WEIR_ECONN, WEIR_EDB,
 * WEIR_EEXISTS (unique violation) or WEIR_EINVALID (other constraint or
 * data errors) and a message in err.
 */
PGresult *pg_query(struct pg_store *st, const char *sql, int n, const char *const *v, int *rc,
		   struct weir_buf *err);
/*
 * pg_query with options.  binary: results in binary format.  slot >= 0
 * (< PG_MAX_SLOTS, one per SQL text): the statement is prepared on first
 * use on each connection and executed by name, which saves PostgreSQL
 * parsing and analysing it every time.  Such sessions run with
 * plan_cache_mode = force_custom_plan, so a prepared statement is still
 * planned with each execution's values, exactly as an unnamed one: a
 * generic plan cannot fold "$n IS NULL OR ..." filters away, and one
 * chosen while a table is small would stay on the connection as it grows.
 * slot -1: an unnamed statement, as pg_query.
 */
PGresult *pg_query_fmt(struct pg_store *st, const char *sql, int n, const char *const *v, int slot,
		       bool binary, int *rc, struct weir_buf *err);
/* pg_query for a write: the number of rows it touched in *rows. */
int pg_exec_sql(struct pg_store *st, const char *sql, int n, const char *const *v, long *rows,
		struct weir_buf *err);

/* The SQL of each prepared statement. */
extern const char *const pg_stmt_sql[PG__STMT_COUNT];
extern const char *const pg_stmt_name[PG__STMT_COUNT];

int pg_migrate(struct weir_store *s, struct weir_buf *out, struct weir_buf *err);
int pg_status(struct weir_store *s, json_t **out, struct weir_buf *err);
int pg_apply(struct weir_store *s, struct weir_batch *b, struct weir_buf *err);
int pg_sync_dag(struct weir_store *s, const struct weir_dag *dag, struct weir_buf *err);
int pg_set_import_errors(struct weir_store *s, const char *file, const struct weir_diags *d,
			 struct weir_buf *err);
int pg_load_runs(struct weir_store *s, int64_t run_pk, const struct weir_uuid *owner,
		 weir_store_run_fn *fn, void *arg, struct weir_buf *err);
int pg_scheduler_beat(struct weir_store *s, const struct weir_uuid *id, const char *hostname,
		      int pid, int64_t timeout_ms, json_t *stats, int *live, struct weir_buf *err);
int pg_claim_dags(struct weir_store *s, const struct weir_uuid *id, int max, int64_t timeout_ms,
		  weir_store_claim_fn *fn, void *arg, struct weir_buf *err);
int pg_scheduler_release(struct weir_store *s, const struct weir_uuid *id, struct weir_buf *err);
int pg_deactivate_missing(struct weir_store *s, const char *folder, const char *const *files,
			  size_t n, struct weir_buf *err);
int pg_query_json(struct weir_store *s, const char *name, int nparams, const char *const *params,
		  json_t **out, struct weir_buf *err);
int pg_query_text(struct weir_store *s, const char *name, int nparams, const char *const *params,
		  char **out, size_t *len, struct weir_buf *err);
int pg_exec(struct weir_store *s, const char *name, int nparams, const char *const *params,
	    long *rows, struct weir_buf *err);

/*
 * db/rows.c: writes a binary-format result as JSON, appending to out
 * (rules in rows.c).  list NULL: the first row as an object, or
 * WEIR_ENOTFOUND; else {"list": [...], "total_entries": column 1}.
 * what names the query in messages.  0, WEIR_ENOTFOUND, WEIR_EDB (a
 * column type or value it cannot write) or WEIR_ETOOBIG (out's limit).
 */
int pg_rows_json(const PGresult *res, const char *list, const char *what, struct weir_buf *out,
		 struct weir_buf *err);

/* Formats an instant for a timestamptz parameter ("" never; NULL for none). */
const char *pg_ts(int64_t us, char buf[48]);
/* Parses a timestamptz text value (ISO, from the server) into us. */
int64_t pg_parse_ts(const char *s);

#endif
