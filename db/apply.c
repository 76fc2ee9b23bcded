/*
 * apply.c: applying a batch of state changes in one transaction.
 *
 * The batch goes to the server as one pipeline (libpq pipeline mode): every
 * operation as a prepared statement, then the batch's marker row, then one
 * Sync.  Everything before a Sync is one implicit transaction, so a batch
 * costs one round trip and is all or nothing: the first failing statement
 * makes the server skip the rest and roll back.
 *
 * Large batches are split into chunks of CHUNK statements inside an
 * explicit BEGIN/COMMIT: a blocking libpq connection that sends a long
 * pipeline without reading can deadlock with a server whose output
 * buffer is full.
 *
 * If the connection breaks we cannot know whether COMMIT happened.  So
 * every batch inserts its id into applied_batches; after reconnecting we
 * look it up: present means committed (done), absent means rolled back
 * (send it again).  Hence "applied exactly once".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/time.h"
#include "db_int.h"

#define CHUNK 256
#define MAX_PARAMS 18

struct params {
	const char *v[MAX_PARAMS];
	char num[MAX_PARAMS][48];
	int n;
	char *json[3]; /* freed after sending */
	int njson;
};

static void p_str(struct params *p, const char *s)
{
	p->v[p->n++] = s;
}

static void p_i64(struct params *p, int64_t v)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)v);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

static void p_uuid(struct params *p, const struct weir_uuid *u)
{
	weir_uuid_format(u, p->num[p->n]);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

static void p_ts(struct params *p, int64_t us)
{
	p->v[p->n] = pg_ts(us, p->num[p->n]);
	p->n++;
}

static void p_json(struct params *p, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (s)
		p->json[p->njson++] = s;
	p->v[p->n++] = s;
}

/* A Postgres array literal of text values: {"a","b"}. */
static char *text_array(struct weir_arena *a, size_t n, const char *(*get)(const struct weir_ti_new *),
			const struct weir_ti_new *tis)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char *out;

	weir_buf_addch(&b, '{');
	for (size_t i = 0; i < n; i++) {
		const char *s = get(&tis[i]);
		weir_buf_addstr(&b, i ? ",\"" : "\"");
		for (; *s; s++) {
			if (*s == '"' || *s == '\\')
				weir_buf_addch(&b, '\\');
			weir_buf_addch(&b, *s);
		}
		weir_buf_addch(&b, '"');
	}
	weir_buf_addch(&b, '}');
	out = weir_arena_strdup(a, b.buf);
	weir_buf_release(&b);
	return out;
}

static char *int_array(struct weir_arena *a, size_t n, int64_t (*get)(const struct weir_ti_new *),
		       const struct weir_ti_new *tis)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char *out;

	weir_buf_addch(&b, '{');
	for (size_t i = 0; i < n; i++)
		weir_buf_addf(&b, "%s%lld", i ? "," : "", (long long)get(&tis[i]));
	weir_buf_addch(&b, '}');
	out = weir_arena_strdup(a, b.buf);
	weir_buf_release(&b);
	return out;
}

static const char *g_task(const struct weir_ti_new *t) { return t->task_id; }
static const char *g_pool(const struct weir_ti_new *t) { return t->pool ? t->pool : "default_pool"; }
static const char *g_queue(const struct weir_ti_new *t) { return t->queue ? t->queue : "default"; }
static const char *g_exec(const struct weir_ti_new *t) { return t->executor ? t->executor : "local"; }
static int64_t g_slots(const struct weir_ti_new *t) { return t->pool_slots > 0 ? t->pool_slots : 1; }
static int64_t g_prio(const struct weir_ti_new *t) { return t->priority; }
static int64_t g_retries(const struct weir_ti_new *t) { return t->retries; }

/* Fills p for op; returns the statement. */
static enum pg_stmt build(const struct weir_batch *b, const struct weir_sop *op, struct params *p,
			  struct weir_arena *a)
{
	memset(p, 0, sizeof(*p));
	switch (op->kind) {
	case WEIR_SOP_RUN_CREATE: {
		const struct weir_run_new *r = &op->u.run_create;
		p_uuid(p, &r->order_id);
		p_str(p, r->dag_id);
		p_str(p, r->run_id);
		p_str(p, r->run_type);
		p_json(p, r->conf);
		p_json(p, r->params);
		p_ts(p, r->logical_date);
		p_ts(p, r->interval_start);
		p_ts(p, r->interval_end);
		p_str(p, r->dag_hash);
		p_str(p, r->client_id);
		p_str(p, r->service);
		p_str(p, r->note);
		p_str(p, r->aoi_geojson);
		return PG_RUN_CREATE;
	}
	case WEIR_SOP_RUN_STATE:
		p_i64(p, op->u.run_state.run_pk);
		p_str(p, weir_run_state_name(op->u.run_state.from));
		p_str(p, weir_run_state_name(op->u.run_state.to));
		p_uuid(p, &op->event_id);
		p_str(p, b->actor ? b->actor : "weir");
		p_str(p, op->u.run_state.reason);
		p_ts(p, op->u.run_state.at);
		p_json(p, op->u.run_state.result);
		return PG_RUN_STATE;
	case WEIR_SOP_TIS_CREATE: {
		const struct weir_ti_new *t = op->u.tis_create.tis;
		size_t n = op->u.tis_create.n;
		if (op->u.tis_create.create_op != SIZE_MAX) {
			p_str(p, NULL);
			p_uuid(p, &b->ops.v[op->u.tis_create.create_op].u.run_create.order_id);
		} else {
			p_i64(p, op->u.tis_create.run_pk);
			p_str(p, NULL);
		}
		p_str(p, op->u.tis_create.dag_id);
		p_str(p, text_array(a, n, g_task, t));
		p_str(p, text_array(a, n, g_pool, t));
		p_str(p, int_array(a, n, g_slots, t));
		p_str(p, text_array(a, n, g_queue, t));
		p_str(p, int_array(a, n, g_prio, t));
		p_str(p, int_array(a, n, g_retries, t));
		p_str(p, text_array(a, n, g_exec, t));
		return PG_TIS_CREATE;
	}
	case WEIR_SOP_TI_STATE: {
		const __typeof__(op->u.ti_state) *t = &op->u.ti_state;
		p_i64(p, t->run_pk);
		p_str(p, t->task_id);
		p_str(p, weir_ti_state_name(t->from));
		p_str(p, weir_ti_state_name(t->to));
		if (t->fenced)
			p_uuid(p, &t->fence);
		else
			p_str(p, NULL);
		if (t->to == WEIR_TI_QUEUED) {
			p_i64(p, t->try_number);
			p_uuid(p, &t->attempt);
		} else {
			p_str(p, NULL);
			p_str(p, NULL);
		}
		p_uuid(p, &op->event_id);
		p_str(p, b->actor ? b->actor : "weir");
		p_str(p, t->reason);
		p_ts(p, t->at ? t->at : WEIR_TIME_NONE);
		if (t->to == WEIR_TI_RUNNING) {
			p_i64(p, t->pid);
			p_str(p, t->hostname);
			p_i64(p, t->process_start);
		} else {
			p_str(p, NULL);
			p_str(p, NULL);
			p_str(p, NULL);
		}
		if (t->has_exit_code)
			p_i64(p, t->exit_code);
		else
			p_str(p, NULL);
		p_ts(p, t->next_at);
		p_str(p, t->log_path);
		p_str(p, t->executor);
		return PG_TI_STATE;
	}
	case WEIR_SOP_XCOM_PUT:
		p_i64(p, op->u.xcom.run_pk);
		p_str(p, op->u.xcom.task_id);
		if (weir_uuid_is_nil(&op->u.xcom.fence))
			p_str(p, NULL);
		else
			p_uuid(p, &op->u.xcom.fence);
		p_str(p, op->u.xcom.key);
		p_json(p, op->u.xcom.value);
		return PG_XCOM_PUT;
	case WEIR_SOP_HEARTBEAT:
		p_i64(p, op->u.heartbeat.run_pk);
		p_str(p, op->u.heartbeat.task_id);
		p_uuid(p, &op->u.heartbeat.fence);
		p_ts(p, op->u.heartbeat.at);
		return PG_HEARTBEAT;
	case WEIR_SOP_DAG_SCHEDULE:
		p_str(p, op->u.dag_schedule.dag_id);
		p_ts(p, op->u.dag_schedule.last_interval_end);
		p_ts(p, op->u.dag_schedule.next_run_after);
		p_ts(p, op->u.dag_schedule.next_logical_date);
		return PG_DAG_SCHEDULE;
	}
	WEIR_BUG("unknown store op %d", (int)op->kind);
}

static void free_params(struct params *p)
{
	for (int i = 0; i < p->njson; i++)
		free(p->json[i]);
}

static int map_sqlstate(const char *state)
{
	if (!state)
		return WEIR_EDB;
	if (!strcmp(state, "WR409"))
		return WEIR_ECONFLICT;
	if (!strcmp(state, "WR410"))
		return WEIR_ESTALE;
	if (!strcmp(state, "WR404"))
		return WEIR_ENOTFOUND;
	if (!strcmp(state, "WR400"))
		return WEIR_EILLEGAL;
	if (!strcmp(state, "23505"))
		return WEIR_EEXISTS;
	if (!strncmp(state, "22", 2) || !strncmp(state, "23", 2))
		return WEIR_EINVALID;
	return WEIR_EDB;
}

static const char *op_name(enum weir_sop_kind k)
{
	static const char *const n[] = {"run create", "run transition", "task instances",
					"task transition", "xcom", "heartbeat", "dag schedule"};
	return n[k];
}

/*
 * Reads the result of one pipelined statement.  Returns 0, the mapped
 * error of the first failure (recording it), or 1 for "skipped after an
 * earlier error".
 */
static int read_one(struct pg_store *st, struct weir_batch *b, size_t i, bool *lost,
		    struct weir_buf *err)
{
	PGresult *res = PQgetResult(st->conn);
	ExecStatusType s;
	int rc = 0;

	if (!res) {
		*lost = true;
		return WEIR_ECONN;
	}
	s = PQresultStatus(res);
	if (s == PGRES_PIPELINE_ABORTED) {
		rc = 1;
	} else if (s == PGRES_FATAL_ERROR) {
		if (pg_conn_lost(st, res)) {
			*lost = true;
			rc = WEIR_ECONN;
		} else {
			rc = map_sqlstate(PQresultErrorField(res, PG_DIAG_SQLSTATE));
		}
		if (i < b->ops.n) {
			b->failed = i;
			weir_buf_addf(err, "%s failed: ", op_name(b->ops.v[i].kind));
		}
		pg_result_error(res, st->conn, err);
	} else if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		weir_buf_addf(err, "unexpected result %s", PQresStatus(s));
		*lost = pg_conn_lost(st, res);
		rc = *lost ? WEIR_ECONN : WEIR_EDB;
	} else if (i < b->ops.n && b->ops.v[i].kind == WEIR_SOP_RUN_CREATE && PQntuples(res) == 1) {
		b->ops.v[i].u.run_create.run_pk = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	}
	PQclear(res);
	/* Each statement's results end with a NULL. */
	if (!*lost) {
		res = PQgetResult(st->conn);
		if (res) {
			PQclear(res);
			if (!rc) {
				weir_buf_addf(err, "protocol error: extra result");
				rc = WEIR_EDB;
			}
		}
	}
	return rc;
}

/* Sends statements [from, to) of the batch (to == n + 1 includes the mark). */
static int send_range(struct pg_store *st, struct weir_batch *b, size_t from, size_t to,
		      struct weir_arena *a, struct weir_buf *err)
{
	for (size_t i = from; i < to; i++) {
		struct params p;
		enum pg_stmt stmt;
		int ok;

		if (i == b->ops.n) {
			memset(&p, 0, sizeof(p));
			p_uuid(&p, &b->id);
			stmt = PG_BATCH_MARK;
		} else {
			stmt = build(b, &b->ops.v[i], &p, a);
		}
		ok = PQsendQueryPrepared(st->conn, pg_stmt_name[stmt], p.n, p.v, NULL, NULL, 0);
		free_params(&p);
		if (!ok) {
			pg_result_error(NULL, st->conn, err);
			return pg_conn_lost(st, NULL) ? WEIR_ECONN : WEIR_EDB;
		}
	}
	return 0;
}

/* Drains a pipeline to its sync point after a failure or mid-way. */
static int drain_to_sync(struct pg_store *st)
{
	for (int guard = 0; guard < 1000000; guard++) {
		PGresult *res = PQgetResult(st->conn);
		if (!res)
			continue;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			return 0;
		}
		if (PQstatus(st->conn) == CONNECTION_BAD) {
			PQclear(res);
			return WEIR_ECONN;
		}
		PQclear(res);
	}
	return WEIR_ECONN;
}

static int expect_sync(struct pg_store *st, bool *lost)
{
	PGresult *res = PQgetResult(st->conn);
	int rc = 0;

	if (!res || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
		*lost = PQstatus(st->conn) == CONNECTION_BAD;
		rc = *lost ? WEIR_ECONN : WEIR_EDB;
	}
	PQclear(res);
	return rc;
}

/* One attempt at applying the batch on the current connection. */
static int apply_once(struct pg_store *st, struct weir_batch *b, bool *lost, struct weir_buf *err)
{
	struct weir_arena a = WEIR_ARENA_INIT;
	size_t total = b->ops.n + 1; /* ops + the batch mark */
	bool chunked = total > CHUNK;
	int rc = 0, first_err = 0;

	*lost = false;
	if (!PQenterPipelineMode(st->conn)) {
		pg_result_error(NULL, st->conn, err);
		return WEIR_EDB;
	}
	if (chunked && !PQsendQueryParams(st->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0)) {
		rc = WEIR_ECONN;
		*lost = true;
		goto out;
	}
	for (size_t from = 0; from < total && !first_err; from += CHUNK) {
		size_t to = from + CHUNK < total ? from + CHUNK : total;
		rc = send_range(st, b, from, to, &a, err);
		if (rc == 0 && chunked && to == total &&
		    !PQsendQueryParams(st->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
			rc = WEIR_ECONN;
		if (rc == 0 && !PQpipelineSync(st->conn))
			rc = WEIR_ECONN;
		if (rc < 0) {
			*lost = rc == WEIR_ECONN;
			goto out;
		}
		if (to == total && b->while_committing) {
			void (*fn)(void *) = b->while_committing;
			b->while_committing = NULL;
			fn(b->while_committing_arg);
		}
		if (chunked && from == 0) {
			rc = read_one(st, b, SIZE_MAX, lost, err); /* BEGIN */
			if (rc < 0)
				goto out;
		}
		for (size_t i = from; i < to; i++) {
			rc = read_one(st, b, i, lost, err);
			if (*lost)
				goto out;
			if (rc < 0 && !first_err)
				first_err = rc;
		}
		if (chunked && to == total) {
			rc = read_one(st, b, SIZE_MAX, lost, err); /* COMMIT */
			if (rc < 0 && !first_err)
				first_err = rc;
			if (*lost)
				goto out;
		}
		rc = expect_sync(st, lost);
		if (rc < 0)
			goto out;
		if (to == total && !first_err && weir_store_fault_lose_reply > 0) {
			/* Test hook: the batch committed, but act as if the reply
			 * never arrived. */
			weir_store_fault_lose_reply--;
			*lost = true;
			goto out;
		}
	}
	if (chunked && first_err) {
		/* An explicit transaction stays open in the aborted state. */
		PQsendQueryParams(st->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);
		PQpipelineSync(st->conn);
		drain_to_sync(st);
	}
	rc = first_err;
out:
	if (*lost) {
		weir_arena_release(&a);
		return WEIR_ECONN;
	}
	if (!PQexitPipelineMode(st->conn)) {
		drain_to_sync(st);
		PQexitPipelineMode(st->conn);
	}
	weir_arena_release(&a);
	return rc;
}

/* After an ambiguous failure: did the batch commit? 1 yes, 0 no, <0 error. */
static int batch_seen(struct pg_store *st, struct weir_batch *b, struct weir_buf *err)
{
	char id[WEIR_UUID_STRLEN];
	const char *v[1] = {weir_uuid_format(&b->id, id)};
	PGresult *res = PQexecPrepared(st->conn, pg_stmt_name[PG_BATCH_SEEN], 1, v, NULL, NULL, 0);
	int rc;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pg_conn_lost(st, res) ? WEIR_ECONN : WEIR_EDB;
		pg_result_error(res, st->conn, err);
	} else {
		rc = PQntuples(res) > 0;
	}
	PQclear(res);
	if (rc != 1)
		return rc;
	/* Recover the outputs the lost replies carried. */
	for (size_t i = 0; i < b->ops.n; i++) {
		struct weir_sop *op = &b->ops.v[i];
		char oid[WEIR_UUID_STRLEN];
		const char *p[1];
		if (op->kind != WEIR_SOP_RUN_CREATE)
			continue;
		p[0] = weir_uuid_format(&op->u.run_create.order_id, oid);
		res = PQexecParams(st->conn, "SELECT id FROM dag_runs WHERE order_id = $1", 1, NULL, p,
				   NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			op->u.run_create.run_pk = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	return 1;
}

int weir_store_fault_lose_reply;

int pg_apply(struct weir_store *s, struct weir_batch *b, struct weir_buf *err)
{
	struct pg_store *st = (struct pg_store *)s;
	size_t mark = err->len;
	bool lost, maybe_committed = b->maybe_committed;
	int rc;

	if (!b->ops.n)
		return 0;
	rc = weir_batch_check(b, err);
	if (rc < 0)
		return rc;
	for (int attempt = 0;; attempt++) {
		weir_buf_truncate(err, mark);
		rc = pg_ensure(st, err);
		if (rc < 0) {
			/* The caller must retry this very batch (same id). */
			b->maybe_committed = maybe_committed;
			return rc;
		}
		if (!st->schema_ready) {
			weir_buf_addstr(err, "the database has no weir schema: run `weir db migrate`");
			return WEIR_EDB;
		}
		if (maybe_committed) {
			rc = batch_seen(st, b, err);
			if (rc == 1) {
				b->maybe_committed = false;
				return 0;
			}
			if (rc < 0) {
				if (rc == WEIR_ECONN && attempt < 5) {
					pg_drop(st);
					continue;
				}
				return rc;
			}
		}
		rc = apply_once(st, b, &lost, err);
		if (!lost) {
			b->maybe_committed = false;
			return rc;
		}
		/* The connection died somewhere between sending and the reply:
		 * the commit may or may not have happened. */
		weir_warn("database connection lost while applying a batch of %zu changes; reconnecting",
			  b->ops.n);
		pg_drop(st);
		maybe_committed = true;
		if (attempt >= 5) {
			b->maybe_committed = true;
			return WEIR_ECONN;
		}
	}
}
