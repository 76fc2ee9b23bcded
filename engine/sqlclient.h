/*
 * sqlclient.h: statements against an outside PostgreSQL database (the
 * sql and sql_sensor operators), as the engine sees it.
 *
 * Like store.h, the engine defines this interface and db/ implements it
 * (db/sqlclient.c), so libpq stays in db/: callers see an opaque
 * connection, JSON values and weir error codes, never a PGconn or a
 * PGresult.  Only the full weir binary links db/; the lean runner
 * `weir-task` must not call these functions (its operators never do).
 *
 * A connection is a JSON connection of type postgres (connections.h):
 * host, port, login, password, schema (the database name) and extra (more
 * libpq keywords, e.g. sslmode; the other fields win over it).
 *
 * Statements run asynchronously.  While one runs, the connection polls
 * the caller's `interrupted` callback (at least every 250 ms, and at once
 * when a signal interrupts the wait); when it returns true the query is
 * cancelled on the server (PQcancel) and the statement fails with
 * "LABEL: cancelled".  So a stop signal or the execution deadline never
 * leaves a task process blocked in libpq, nor the query running on.
 *
 * Parameters are bound, never spliced into SQL text.  From a JSON list:
 * strings as they are, numbers and booleans as their JSON text, objects
 * and arrays as compact JSON text, null as SQL NULL.
 *
 * Values come back typed: boolean -> true/false; int2, int4, int8, oid ->
 * integers; float4, float8, numeric -> numbers (NaN, Infinity and numbers
 * beyond a double stay text); json, jsonb -> JSON; SQL NULL -> null;
 * anything else -> its text (bytes that are not UTF-8 become '?').
 *
 * Errors go to `err` (appended; one primary message per failing call):
 *   "could not connect to \"NAME\": REASON"
 *   "LABEL: MESSAGE (DETAIL) [SQLSTATE XXXXX]"     an SQL error
 *   "LABEL: cancelled"                             interrupted
 *   "LABEL: lost the connection: REASON"
 *   "LABEL uses $N but \"parameters\" has K values"
 *
 * Ownership: results own their JSON (release them); values taken from a
 * result are borrowed unless the caller increfs them.  A connection is
 * used by one thread at a time; nothing here is for signal handlers or
 * for a child between fork and exec.
 */
#ifndef WEIR_SQLCLIENT_H
#define WEIR_SQLCLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

struct weir_sqlconn; /* opaque: one session with the database */

/*
 * Polled while a statement runs; true asks for the statement to be
 * cancelled.  Called in the thread that runs the statement.
 */
typedef bool weir_sqlclient_interrupted_fn(void *arg);

struct weir_sqlclient_opts {
	const char *application_name;  /* shown in pg_stat_activity; NULL: libpq's */
	long connect_timeout_s;        /* libpq connect_timeout; > 0 */
	weir_sqlclient_interrupted_fn *interrupted; /* NULL: never interrupted */
	void *arg;                     /* passed to interrupted */
};

/* Which rows of a result to convert to JSON. */
enum weir_sqlclient_rows {
	WEIR_SQLCLIENT_ROWS_NONE,  /* none: counts and the command tag only */
	WEIR_SQLCLIENT_ROWS_FIRST, /* the first row (if any) */
	WEIR_SQLCLIENT_ROWS_ALL,   /* every row */
};

/*
 * The outcome of the last statement that ran.  Fields past has_rows are
 * filled only as described; rows, first_cell and first_text only when
 * has_rows and the mode was not ROWS_NONE.
 */
struct weir_sqlclient_result {
	char command[64];   /* command tag: "INSERT 0 3", "SELECT 2"; "" for an empty query */
	bool has_rows;      /* the statement returns rows (SELECT, ... RETURNING, SHOW), maybe none */
	int64_t nrows;      /* rows returned; 0 unless has_rows */
	int64_t affected;   /* the count in the command tag (rows inserted, updated,
			       deleted, selected, ...), or -1 when the tag has none */
	json_t *rows;       /* list of row objects {column: value}; at most one
			       with ROWS_FIRST; NULL when not converted */
	json_t *first_cell; /* the first column of the first row; JSON null when
			       the result has no columns; NULL when no rows */
	char *first_text;   /* the same cell as PostgreSQL's text; NULL when no
			       rows, no columns or SQL NULL */
};

#define WEIR_SQLCLIENT_RESULT_INIT {{0}, false, 0, -1, NULL, NULL, NULL}

/* Frees the contents; the result is left as WEIR_SQLCLIENT_RESULT_INIT. */
void weir_sqlclient_result_release(struct weir_sqlclient_result *res);

/*
 * Checks a parameter list without a connection: NULL, JSON null or a
 * list of at most 65535 values.  0, or WEIR_EINVALID with
 *   "\"parameters\" must be a list (bound as $1, $2, ...)"
 *   "too many \"parameters\" (at most 65535)"
 * in err.  For reporting bad input before connecting.
 */
int weir_sqlclient_params_check(json_t *params, struct weir_buf *err);

/*
 * Connects with the connection conn_spec (borrowed), named name in
 * messages.  Blocks for at most opts->connect_timeout_s per host.
 * Returns 0 with *out set (close it with weir_sqlclient_close), or
 * WEIR_ECONN with "could not connect to \"NAME\": REASON" in err.
 */
int weir_sqlclient_connect(json_t *conn_spec, const char *name, const struct weir_sqlclient_opts *opts,
			   struct weir_sqlconn **out, struct weir_buf *err);

/* Ends the session; an open transaction is rolled back by the server.  NULL is a no-op. */
void weir_sqlclient_close(struct weir_sqlconn *c);

/* Where the session went, for logs (owned by the connection, valid until close). */
const char *weir_sqlclient_host(const struct weir_sqlconn *c);
const char *weir_sqlclient_port(const struct weir_sqlconn *c);
const char *weir_sqlclient_dbname(const struct weir_sqlconn *c);

/*
 * Runs sql; label names it in messages ("sql[1]").
 *
 * params NULL: the simple protocol; sql may hold several statements
 * separated by ';' and the result is the last one's.  params a JSON list
 * (or JSON null, for none): the extended protocol; sql is one statement,
 * prepared unnamed, and bound to the first k values, where k is the
 * number of parameters it uses (so one list can serve several
 * statements); fewer than k values is WEIR_EINVALID.
 *
 * *out must be empty (WEIR_SQLCLIENT_RESULT_INIT or released): it is
 * overwritten, not released.  Returns 0 with *out filled (rows converted
 * as `rows` says; release it),
 * or, leaving *out unchanged, with one message in err:
 *   WEIR_ECONN     the connection is gone (close it; a new one may work)
 *   WEIR_EINVALID  the parameters do not fit (see params_check)
 *   WEIR_EDB       an SQL error, a cancelled statement, or no result
 */
int weir_sqlclient_run(struct weir_sqlconn *c, const char *label, const char *sql, json_t *params,
		       enum weir_sqlclient_rows rows, struct weir_sqlclient_result *out,
		       struct weir_buf *err);

/*
 * Transactions: BEGIN and COMMIT as statements labelled "BEGIN" and
 * "COMMIT" (same returns as weir_sqlclient_run).  There is no rollback
 * call: on a failure the caller closes the connection, and the server
 * rolls the transaction back.
 */
int weir_sqlclient_begin(struct weir_sqlconn *c, struct weir_buf *err);
int weir_sqlclient_commit(struct weir_sqlconn *c, struct weir_buf *err);

#endif
