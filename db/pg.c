/*
 * pg.c: the PostgreSQL store: connecting, reconnecting, prepared statements.
 *
 * One PGconn per store handle.  After a connection loss the next call
 * reconnects with exponential backoff, sets the session up again (time
 * zone, statements, LISTENs) and carries on; the batch layer (apply.c)
 * decides whether an interrupted write must be re-sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/log.h"
#include "common/str.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "db_int.h"
#include "engine/config.h"

int64_t weir_store_reconnect_budget_ms = 30000;

/* ------------------------------------------------------------------ */
/* statements                                                           */
/* ------------------------------------------------------------------ */

const char *const pg_stmt_name[PG__STMT_COUNT] = {
	"run_create", "run_state", "tis_create", "ti_state", "xcom_put", "heartbeat",
	"dag_schedule", "batch_mark", "batch_seen",
};

const char *const pg_stmt_sql[PG__STMT_COUNT] = {
	[PG_RUN_CREATE] =
		"INSERT INTO dag_runs (order_id, dag_id, run_id, run_type, conf, params,"
		" logical_date, data_interval_start, data_interval_end, dag_hash, client_id,"
		" service, note, aoi)"
		" VALUES ($1::uuid, $2, coalesce($3, $1::uuid::text), $4, coalesce($5::jsonb, '{}'),"
		" coalesce($6::jsonb, '{}'), $7, $8, $9, $10, $11, $12, $13,"
		" CASE WHEN $14::text IS NULL THEN NULL"
		"  ELSE ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($14::text), 4326)) END)"
		" RETURNING id",
	[PG_RUN_STATE] = "SELECT weir_run_transition($1, $2, $3, $4, $5, $6, $7, $8)",
	/* Task instances of one run, from parallel arrays; the run is named
	 * by pk, or by order id when it is created in the same batch. */
	[PG_TIS_CREATE] =
		"INSERT INTO task_instances (run_pk, dag_id, task_id, pool, pool_slots, queue,"
		" priority, retries, max_tries, executor)"
		" SELECT coalesce($1, (SELECT id FROM dag_runs WHERE order_id = $2)), $3,"
		" t, p, s, q, pr, r, r + 1, e"
		" FROM unnest($4::text[], $5::text[], $6::int[], $7::text[], $8::bigint[],"
		"  $9::int[], $10::text[]) AS u (t, p, s, q, pr, r, e)",
	[PG_TI_STATE] = "SELECT weir_ti_transition($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
			" $11, $12, $13, $14, $15, $16, $17, $18)",
	[PG_XCOM_PUT] = "SELECT weir_xcom_put($1, $2, $3, $4, $5)",
	[PG_HEARTBEAT] = "UPDATE task_instances SET heartbeat_at = $4"
			 " WHERE run_pk = $1 AND task_id = $2 AND attempt_id = $3"
			 " AND state IN ('queued', 'running')",
	[PG_DAG_SCHEDULE] = "UPDATE dags SET last_interval_end = coalesce($2, last_interval_end),"
			    " next_run_after = $3, next_logical_date = $4 WHERE dag_id = $1",
	[PG_BATCH_MARK] = "INSERT INTO applied_batches (id) VALUES ($1)",
	[PG_BATCH_SEEN] = "SELECT 1 FROM applied_batches WHERE id = $1",
};

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

const char *pg_ts(int64_t us, char buf[48])
{
	char iso[WEIR_ISO_BUFSZ];

	if (us == WEIR_TIME_NONE)
		return NULL;
	snprintf(buf, 48, "%s", weir_iso_format(us, WEIR_ISO_FRAC, iso));
	return buf;
}

int64_t pg_parse_ts(const char *s)
{
	int64_t us;
	bool off;

	if (!s || !*s || weir_iso_parse(s, &us, &off) < 0)
		return WEIR_TIME_NONE;
	return us;
}

void pg_result_error(const PGresult *res, PGconn *conn, struct weir_buf *err)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;

	if (!msg) {
		const char *m = conn ? PQerrorMessage(conn) : "no connection";
		size_t n = strlen(m);
		while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
			n--;
		weir_buf_add(err, m, n);
		return;
	}
	weir_buf_addstr(err, msg);
	if (detail)
		weir_buf_addf(err, " (%s)", detail);
}

bool pg_conn_lost(struct pg_store *st, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (!st->conn || PQstatus(st->conn) == CONNECTION_BAD)
		return true;
	/* 08: connection exception; 57P01-03: shutdown, crash, starting up. */
	if (state && (!strncmp(state, "08", 2) || !strcmp(state, "57P01") ||
		      !strcmp(state, "57P02") || !strcmp(state, "57P03")))
		return true;
	return false;
}

void pg_drop(struct pg_store *st)
{
	if (st->conn)
		PQfinish(st->conn);
	st->conn = NULL;
	/* Prepared statements and settings die with the session. */
	memset(st->slot_ready, 0, sizeof(st->slot_ready));
	st->custom_plans = false;
}

int pg_command(struct pg_store *st, const char *sql, struct weir_buf *err)
{
	PGresult *res;
	int rc = 0;

	res = PQexec(st->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pg_conn_lost(st, res) ? WEIR_ECONN : WEIR_EDB;
		pg_result_error(res, st->conn, err);
	}
	PQclear(res);
	return rc;
}

PGresult *pg_query(struct pg_store *st, const char *sql, int n, const char *const *v, int *rc,
		   struct weir_buf *err)
{
	return pg_query_fmt(st, sql, n, v, -1, false, rc, err);
}

/*
 * Prepares slot's statement on the current connection.  The first one
 * also sets plan_cache_mode = force_custom_plan for the session: the
 * prepared statements then skip parsing and analysis but are still
 * planned with each execution's values (see pg_query_fmt in db_int.h).
 * false with the failing result in *fail.
 */
static bool prepare_slot(struct pg_store *st, int slot, const char *sql, int n, PGresult **fail)
{
	char name[32];
	PGresult *res;

	if (!st->custom_plans) {
		res = PQexec(st->conn, "SET plan_cache_mode = force_custom_plan");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			*fail = res;
			return false;
		}
		PQclear(res);
		st->custom_plans = true;
	}
	snprintf(name, sizeof(name), "weir_slot_%d", slot);
	res = PQprepare(st->conn, name, sql, n, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*fail = res;
		return false;
	}
	PQclear(res);
	st->slot_ready[slot] = 1;
	return true;
}

PGresult *pg_query_fmt(struct pg_store *st, const char *sql, int n, const char *const *v, int slot,
		       bool binary, int *rc, struct weir_buf *err)
{
	size_t mark = err->len;

	WEIR_ASSERT(slot < PG_MAX_SLOTS);
	for (int attempt = 0;; attempt++) {
		PGresult *res = NULL;
		const char *state;

		weir_buf_truncate(err, mark);
		*rc = pg_ensure(st, err);
		if (*rc < 0)
			return NULL;
		if (slot < 0) {
			res = PQexecParams(st->conn, sql, n, NULL, v, NULL, NULL, binary ? 1 : 0);
		} else if (st->slot_ready[slot] || prepare_slot(st, slot, sql, n, &res)) {
			char name[32];
			snprintf(name, sizeof(name), "weir_slot_%d", slot);
			res = PQexecPrepared(st->conn, name, n, v, NULL, NULL, binary ? 1 : 0);
		}
		if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK) {
			*rc = 0;
			return res;
		}
		if (pg_conn_lost(st, res) && attempt < 3) {
			PQclear(res);
			pg_drop(st);
			continue;
		}
		*rc = pg_conn_lost(st, res) ? WEIR_ECONN : WEIR_EDB;
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state && !strcmp(state, "23505"))
			*rc = WEIR_EEXISTS;
		else if (state && (!strncmp(state, "23", 2) || !strncmp(state, "22", 2)))
			*rc = WEIR_EINVALID;
		pg_result_error(res, st->conn, err);
		PQclear(res);
		return NULL;
	}
}

int pg_prepare_all(struct pg_store *st, struct weir_buf *err)
{
	for (int i = 0; i < PG__STMT_COUNT; i++) {
		PGresult *res = PQprepare(st->conn, pg_stmt_name[i], pg_stmt_sql[i], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			int rc = pg_conn_lost(st, res) ? WEIR_ECONN : WEIR_EDB;
			weir_buf_addf(err, "could not prepare statement \"%s\": ", pg_stmt_name[i]);
			pg_result_error(res, st->conn, err);
			PQclear(res);
			return rc;
		}
		PQclear(res);
	}
	st->schema_ready = true;
	return 0;
}

/* Is the schema there (so statements can be prepared)? */
static int schema_present(struct pg_store *st, bool *yes, struct weir_buf *err)
{
	PGresult *res = PQexec(st->conn, "SELECT to_regclass('weir_migrations') IS NOT NULL"
					 " AND to_regprocedure('weir_xcom_put(bigint,text,uuid,text,jsonb)')"
					 " IS NOT NULL");
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pg_conn_lost(st, res) ? WEIR_ECONN : WEIR_EDB;
		pg_result_error(res, st->conn, err);
	} else {
		*yes = PQgetvalue(res, 0, 0)[0] == 't';
	}
	PQclear(res);
	return rc;
}

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* One connection attempt, with session set-up. */
static int connect_once(struct pg_store *st, struct weir_buf *err)
{
	bool ready = false;
	int rc;

	st->conn = PQconnectdb(st->conninfo);
	if (PQstatus(st->conn) != CONNECTION_OK) {
		weir_buf_addf(err, "could not connect to the database (%s): ", st->display);
		pg_result_error(NULL, st->conn, err);
		pg_drop(st);
		return WEIR_ECONN;
	}
	PQsetNoticeProcessor(st->conn, quiet_notices, NULL);
	{
		char *id = PQescapeLiteral(st->conn, st->app, strlen(st->app));
		char *sql = weir_xasprintf("SET TimeZone = 'UTC'; SET DateStyle = 'ISO';"
					   " SET application_name = %s; SET client_min_messages = warning",
					   id);
		rc = pg_command(st, sql, err);
		free(sql);
		PQfreemem(id);
	}
	if (rc == 0)
		rc = schema_present(st, &ready, err);
	st->schema_ready = false;
	if (rc == 0 && ready)
		rc = pg_prepare_all(st, err);
	for (size_t i = 0; rc == 0 && i < st->listening.n; i++) {
		char *ident = PQescapeIdentifier(st->conn, st->listening.v[i], strlen(st->listening.v[i]));
		char *sql = weir_xasprintf("LISTEN %s", ident);
		rc = pg_command(st, sql, err);
		free(sql);
		PQfreemem(ident);
	}
	if (rc < 0)
		pg_drop(st);
	return rc;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int pg_ensure(struct pg_store *st, struct weir_buf *err)
{
	int64_t start, delay = 50;
	int rc;
	size_t mark = err->len;

	if (st->conn && PQstatus(st->conn) == CONNECTION_OK)
		return 0;
	pg_drop(st);
	start = weir_mono_ms();
	for (;;) {
		weir_buf_truncate(err, mark);
		rc = connect_once(st, err);
		if (rc != WEIR_ECONN)
			return rc;
		if (weir_mono_ms() - start + delay > weir_store_reconnect_budget_ms)
			return rc;
		weir_warn("database connection failed, retrying in %lld ms: %s", (long long)delay,
			  err->buf + mark);
		sleep_ms(delay);
		delay = delay * 2 > 2000 ? 2000 : delay * 2;
	}
}

/* ------------------------------------------------------------------ */
/* notifications                                                        */
/* ------------------------------------------------------------------ */

static int pg_listen(struct weir_store *s, const char *channel, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	int rc;

	if (weir_strvec_find(&st->listening, channel) < 0)
		weir_strvec_push(&st->listening, channel);
	rc = pg_ensure(st, err);
	if (rc < 0)
		return rc;
	{
		char *ident = PQescapeIdentifier(st->conn, channel, strlen(channel));
		char *sql = weir_xasprintf("LISTEN %s", ident);
		rc = pg_command(st, sql, err);
		free(sql);
		PQfreemem(ident);
	}
	return rc;
}

static int pg_notify(struct weir_store *s, const char *channel, const char *payload,
		     struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	const char *params[2] = {channel, payload ? payload : ""};
	int rc;
	PGresult *res = pg_query(st, "SELECT pg_notify($1, $2)", 2, params, &rc, err);

	PQclear(res);
	return rc;
}

static int pg_fd(struct weir_store *s)
{
	struct pg_store *st = (struct pg_store *)s;
	return st->conn ? PQsocket(st->conn) : -1;
}

static int pg_consume(struct weir_store *s, weir_store_notify_fn *fn, void *arg,
		      struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	PGnotify *n;
	int rc;

	if (!st->conn || !PQconsumeInput(st->conn)) {
		/* Lost: reconnect (which re-LISTENs).  Notifications sent while
		 * we were away are gone; callers re-read state after a reconnect,
		 * signalled by a NULL channel. */
		pg_drop(st);
		rc = pg_ensure(st, err);
		if (rc < 0)
			return rc;
		fn(arg, NULL, NULL);
		return 0;
	}
	while ((n = PQnotifies(st->conn))) {
		fn(arg, n->relname, n->extra);
		PQfreemem(n);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* open / close                                                         */
/* ------------------------------------------------------------------ */

static void pg_close(struct weir_store *s)
{
	struct pg_store *st = (struct pg_store *)s;

	pg_drop(st);
	weir_strvec_clear(&st->listening);
	free(st->conninfo);
	free(st->display);
	free(st->app);
	free(st);
}

int weir_pg_store_set_app(struct weir_store *s, const char *name, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	char *lit, *sql;
	int rc;

	free(st->app);
	st->app = weir_xstrdup(name);
	if (!st->conn)
		return 0;
	lit = PQescapeLiteral(st->conn, name, strlen(name));
	sql = weir_xasprintf("SET application_name = %s", lit);
	rc = pg_command(st, sql, err);
	free(sql);
	PQfreemem(lit);
	return rc;
}

static const struct weir_store_ops pg_ops = {
	.close = pg_close,
	.migrate = pg_migrate,
	.status = pg_status,
	.apply = pg_apply,
	.sync_dag = pg_sync_dag,
	.set_import_errors = pg_set_import_errors,
	.load_runs = pg_load_runs,
	.scheduler_beat = pg_scheduler_beat,
	.claim_dags = pg_claim_dags,
	.scheduler_release = pg_scheduler_release,
	.deactivate_missing = pg_deactivate_missing,
	.query_json = pg_query_json,
	.query_text = pg_query_text,
	.exec = pg_exec,
	.listen = pg_listen,
	.notify = pg_notify,
	.fd = pg_fd,
	.consume = pg_consume,
};

static char *mask_conninfo(const char *conninfo)
{
	struct weir_config c;
	char *m;

	memset(&c, 0, sizeof(c));
	c.value[WEIR_CFG_DATABASE_URL] = (char *)conninfo;
	m = weir_config_masked(&c, WEIR_CFG_DATABASE_URL);
	return m;
}

int weir_pg_store_open(const char *conninfo, struct weir_store **out, struct weir_buf *err)
{
	struct pg_store *st = weir_xcalloc(1, sizeof(*st));
	char *perr = NULL;
	PQconninfoOption *opts;
	int rc;

	/* Reject a malformed conninfo at once: retrying cannot fix it. */
	opts = PQconninfoParse(conninfo, &perr);
	if (!opts) {
		weir_buf_addf(err, "invalid database URL: %s", perr ? perr : "cannot parse");
		if (perr) {
			size_t n = err->len;
			while (n && err->buf[n - 1] == '\n')
				n--;
			weir_buf_truncate(err, n);
			PQfreemem(perr);
		}
		free(st);
		return WEIR_EINVALID;
	}
	PQconninfoFree(opts);
	st->base.ops = &pg_ops;
	st->app = weir_xstrdup("weir");
	st->conninfo = weir_xstrdup(conninfo);
	st->display = mask_conninfo(conninfo);
	weir_strvec_init(&st->listening);
	rc = connect_once(st, err);
	if (rc < 0) {
		if (rc == WEIR_ECONN)
			weir_buf_addstr(err, " (is PostgreSQL running? check WEIR_DATABASE_URL, or unset it to use the private cluster started by `weir db start`)");
		pg_close(&st->base);
		return rc;
	}
	*out = &st->base;
	return 0;
}
