/*
 * store.h: the state store, as the engine sees it.
 *
 * PostgreSQL is weir's single source of truth; db/ implements this
 * interface (and is the only code that speaks libpq).  The engine, the CLI
 * and the API hold a struct weir_store and call the wrappers below.  Tests
 * may provide their own ops table (a fake store).
 *
 * Writes go in batches.  A batch is a list of operations applied in one
 * transaction, all or nothing:
 *
 *   - every state change is conditional: a run/task must be in the state
 *     the writer expects and, for tries, still have the expected attempt
 *     id.  If not, nothing of the batch is applied and apply() returns
 *     WEIR_ECONFLICT (someone else changed it) or WEIR_ESTALE (a newer try
 *     owns the task), with batch->failed naming the operation.  A lost race
 *     is never silent.
 *   - every state change appends a row to state_events (actor, reason).
 *   - a batch has an id.  If the connection drops while committing, the
 *     store reconnects (with backoff, re-preparing statements) and checks
 *     whether the batch committed; if not, it applies it again.  A change
 *     is therefore applied exactly once, or not at all with an error.
 *
 * A store handle is used by one thread at a time.
 */
#ifndef WEIR_STORE_H
#define WEIR_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/vec.h"
#include "engine/state.h"
#include "engine/uuid.h"

struct weir_store;
struct weir_dag;
struct weir_diags;

/* ------------------------------------------------------------------ */
/* batches                                                              */
/* ------------------------------------------------------------------ */

enum weir_sop_kind {
	WEIR_SOP_RUN_CREATE, /* a new run (order) in RECEIVED */
	WEIR_SOP_RUN_STATE,  /* run transition */
	WEIR_SOP_TIS_CREATE, /* all task instances of a run, state none */
	WEIR_SOP_TI_STATE,   /* task-instance transition (and its try row) */
	WEIR_SOP_XCOM_PUT,   /* XCom value of the current try */
	WEIR_SOP_HEARTBEAT,  /* a running try is alive */
	WEIR_SOP_DAG_SCHEDULE, /* a DAG's scheduling bookkeeping */
};

struct weir_run_new {
	const char *dag_id;
	const char *run_id;       /* NULL: the order id */
	const char *run_type;     /* manual, scheduled, backfill, api, service */
	json_t *conf;             /* borrowed; NULL = {} */
	json_t *params;           /* borrowed; NULL = {} */
	int64_t logical_date;     /* us */
	int64_t interval_start;   /* us or WEIR_TIME_NONE */
	int64_t interval_end;
	const char *dag_hash;
	const char *client_id;
	const char *service;
	const char *note;
	const char *aoi_geojson;  /* normalised MultiPolygon 4326, or NULL */
	struct weir_uuid order_id; /* set by weir_batch_run_create */
	int64_t run_pk;           /* out: after apply */
};

struct weir_ti_new {
	const char *task_id;
	const char *pool;
	int pool_slots;
	const char *queue;
	int64_t priority;
	int retries;
	const char *executor;
};

struct weir_sop {
	enum weir_sop_kind kind;
	struct weir_uuid event_id;
	union {
		struct weir_run_new run_create;
		struct {
			int64_t run_pk;
			enum weir_run_state from, to;
			const char *reason;
			json_t *result; /* owned by the batch; SUCCESS only */
			int64_t at;     /* us, or WEIR_TIME_NONE for now() */
		} run_state;
		struct {
			int64_t run_pk;
			size_t create_op; /* a RUN_CREATE op of this batch, or SIZE_MAX */
			const char *dag_id;
			size_t n;
			struct weir_ti_new *tis;
		} tis_create;
		struct {
			int64_t run_pk;
			const char *task_id;
			enum weir_ti_state from, to;
			bool fenced;               /* require attempt_id == fence */
			struct weir_uuid fence;
			int try_number;            /* -> queued */
			struct weir_uuid attempt;  /* -> queued */
			int64_t at;                /* when it happened (us) */
			int pid;                   /* -> running */
			const char *hostname;
			int64_t process_start;
			bool has_exit_code;
			int exit_code;
			int64_t next_at;           /* up_for_retry/reschedule: due time */
			const char *log_path;      /* -> queued */
			const char *executor;      /* -> queued */
			const char *reason;
		} ti_state;
		struct {
			int64_t run_pk;
			const char *task_id;
			struct weir_uuid fence;
			const char *key;
			json_t *value; /* owned by the batch */
		} xcom;
		struct {
			int64_t run_pk;
			const char *task_id;
			struct weir_uuid fence;
			int64_t at;
		} heartbeat;
		struct {
			const char *dag_id;
			int64_t last_interval_end; /* us or WEIR_TIME_NONE */
			int64_t next_run_after;
			int64_t next_logical_date;
		} dag_schedule;
	} u;
};

struct weir_batch {
	struct weir_arena arena;   /* copies of strings, op arrays */
	WEIR_VEC(struct weir_sop) ops;
	struct weir_uuid id;
	const char *actor;         /* "scheduler", "api:CLIENT", "cli:USER" */
	size_t failed;             /* out: index of the failing op */
	bool maybe_committed;      /* set by apply after an ambiguous failure:
				      retry this batch unchanged (same id) */
	/* Optional: called at most once, when the whole batch was sent and
	 * the server works on it (before apply reads the answers), for work
	 * that may overlap the commit but must not depend on it.  A store
	 * need not call it (then the caller does that work afterwards). */
	void (*while_committing)(void *arg);
	void *while_committing_arg;
};

void weir_batch_init(struct weir_batch *b, const char *actor);
void weir_batch_release(struct weir_batch *b);
/* Empties the batch for reuse (new id). */
void weir_batch_reset(struct weir_batch *b);
bool weir_batch_empty(const struct weir_batch *b);

/*
 * The weir_batch_* adders copy strings into the batch and return the new
 * op, whose pointer stays valid until the next op is added.
 */
/* Adds a run; returns the op (its order_id is set). */
struct weir_sop *weir_batch_run_create(struct weir_batch *b, const struct weir_run_new *r);
/* Adds a run transition; result is stolen. */
struct weir_sop *weir_batch_run_state(struct weir_batch *b, int64_t run_pk,
				      enum weir_run_state from, enum weir_run_state to,
				      const char *reason, json_t *result, int64_t at);
/*
 * Adds task instances for a run.  run_pk may be 0 when the run is created
 * by op create_op of this same batch (then its pk is used).
 */
struct weir_sop *weir_batch_tis_create(struct weir_batch *b, int64_t run_pk, size_t create_op,
				       const char *dag_id, const struct weir_ti_new *tis, size_t n);
/* Adds a task transition; set the u.ti_state fields you need afterwards. */
struct weir_sop *weir_batch_ti_state(struct weir_batch *b, int64_t run_pk, const char *task_id,
				     enum weir_ti_state from, enum weir_ti_state to,
				     const char *reason, int64_t at);
/* value is stolen. */
struct weir_sop *weir_batch_xcom(struct weir_batch *b, int64_t run_pk, const char *task_id,
				 const struct weir_uuid *fence, const char *key, json_t *value);
struct weir_sop *weir_batch_heartbeat(struct weir_batch *b, int64_t run_pk, const char *task_id,
				      const struct weir_uuid *fence, int64_t at);
struct weir_sop *weir_batch_dag_schedule(struct weir_batch *b, const char *dag_id,
					 int64_t last_interval_end, int64_t next_run_after,
					 int64_t next_logical_date);
/*
 * Checks every transition of the batch against the state machines
 * (state.h).  Returns 0, or WEIR_EILLEGAL with batch->failed and a message.
 * Store implementations call it before touching the database.
 */
int weir_batch_check(struct weir_batch *b, struct weir_buf *err);
/* Copies s into the batch arena (NULL stays NULL). */
const char *weir_batch_strdup(struct weir_batch *b, const char *s);

/* ------------------------------------------------------------------ */
/* the interface                                                        */
/* ------------------------------------------------------------------ */

/* A row of the task-instance table, as the scheduler restores it. */
struct weir_ti_row {
	const char *task_id;
	enum weir_ti_state state;
	int try_number;
	int max_tries;
	struct weir_uuid attempt;
	const char *hostname;
	int pid;
	int64_t process_start;
	int64_t heartbeat_at;   /* us, or WEIR_TIME_NONE */
	int64_t next_retry_at;  /* us, or WEIR_TIME_NONE */
	int64_t queued_at;
	int64_t started_at;
	int64_t sensor_started_at; /* first poke of the current try, or NONE */
};

struct weir_run_row {
	int64_t run_pk;
	struct weir_uuid order_id;
	const char *dag_id;
	const char *run_id;
	const char *run_type;
	enum weir_run_state state;
	const char *dag_hash;
	json_t *conf;    /* borrowed for the callback's duration */
	json_t *params;
	int64_t logical_date, interval_start, interval_end;
	bool abort_requested;
	size_t nti;
	struct weir_ti_row *tis;
};

/* Called once per run; the row is valid during the call only. */
typedef int weir_store_run_fn(void *arg, const struct weir_run_row *run);

/* A DAG a scheduler owns (claim_dags). */
struct weir_dag_claim {
	const char *dag_id;
	bool is_paused;
	int64_t last_interval_end; /* us or WEIR_TIME_NONE */
};
typedef int weir_store_claim_fn(void *arg, const struct weir_dag_claim *c);

/* A notification received on a LISTENed channel. */
typedef void weir_store_notify_fn(void *arg, const char *channel, const char *payload);

struct weir_store_ops {
	void (*close)(struct weir_store *st);
	int (*migrate)(struct weir_store *st, struct weir_buf *out, struct weir_buf *err);
	int (*status)(struct weir_store *st, json_t **out, struct weir_buf *err);
	int (*apply)(struct weir_store *st, struct weir_batch *b, struct weir_buf *err);
	/* DAG files: record a valid DAG (upsert) or a file's import errors. */
	int (*sync_dag)(struct weir_store *st, const struct weir_dag *dag, struct weir_buf *err);
	int (*set_import_errors)(struct weir_store *st, const char *file,
				 const struct weir_diags *d, struct weir_buf *err);
	/*
	 * Unfinished runs with their task instances: of one run (run_pk > 0),
	 * or of the DAGs owned by scheduler `owner` (NULL: all).
	 */
	int (*load_runs)(struct weir_store *st, int64_t run_pk, const struct weir_uuid *owner,
			 weir_store_run_fn *fn, void *arg, struct weir_buf *err);
	/*
	 * Scheduler leases.  beat() refreshes our heartbeat (registering us
	 * the first time) and returns how many schedulers are alive
	 * (heartbeat within timeout_ms).  claim_dags() takes ownership of up
	 * to max active DAGs that have no live owner (FOR UPDATE SKIP LOCKED)
	 * and reports every DAG we own, claimed now or before.  release()
	 * gives our DAGs back and removes us (clean shutdown).
	 */
	int (*scheduler_beat)(struct weir_store *st, const struct weir_uuid *id,
			      const char *hostname, int pid, int64_t timeout_ms, json_t *stats,
			      int *live, struct weir_buf *err);
	int (*claim_dags)(struct weir_store *st, const struct weir_uuid *id, int max,
			  int64_t timeout_ms, weir_store_claim_fn *fn, void *arg, struct weir_buf *err);
	int (*scheduler_release)(struct weir_store *st, const struct weir_uuid *id,
				 struct weir_buf *err);
	/* Marks DAGs whose file under folder is not in files[] as inactive. */
	int (*deactivate_missing)(struct weir_store *st, const char *folder,
				  const char *const *files, size_t n, struct weir_buf *err);
	/*
	 * Named read-only queries that return JSON built by the database
	 * (db/queries.c lists them).  params are text (NULL = SQL NULL).
	 */
	int (*query_json)(struct weir_store *st, const char *name, int nparams,
			  const char *const *params, json_t **out, struct weir_buf *err);
	/* Runs a named write statement outside batches (admin actions). */
	int (*exec)(struct weir_store *st, const char *name, int nparams,
		    const char *const *params, long *rows, struct weir_buf *err);
	int (*listen)(struct weir_store *st, const char *channel, struct weir_buf *err);
	int (*notify)(struct weir_store *st, const char *channel, const char *payload,
		      struct weir_buf *err);
	/* The socket to poll for notifications (-1 when disconnected). */
	int (*fd)(struct weir_store *st);
	/* Reads pending input and calls fn per notification; reconnects. */
	int (*consume)(struct weir_store *st, weir_store_notify_fn *fn, void *arg,
		       struct weir_buf *err);
	/*
	 * query_json's result as the database's JSON text, not parsed: the
	 * API passes it through as a response body.  *out is malloc'd (caller
	 * frees).  Optional (NULL: weir_store_query_text falls back to
	 * query_json).
	 */
	int (*query_text)(struct weir_store *st, const char *name, int nparams,
			  const char *const *params, char **out, size_t *len, struct weir_buf *err);
};

struct weir_store {
	const struct weir_store_ops *ops;
};

static inline void weir_store_close(struct weir_store *st)
{
	if (st)
		st->ops->close(st);
}
static inline int weir_store_migrate(struct weir_store *st, struct weir_buf *out,
				     struct weir_buf *err)
{
	return st->ops->migrate(st, out, err);
}
static inline int weir_store_status(struct weir_store *st, json_t **out, struct weir_buf *err)
{
	return st->ops->status(st, out, err);
}
static inline int weir_store_apply(struct weir_store *st, struct weir_batch *b,
				   struct weir_buf *err)
{
	return st->ops->apply(st, b, err);
}
static inline int weir_store_sync_dag(struct weir_store *st, const struct weir_dag *dag,
				      struct weir_buf *err)
{
	return st->ops->sync_dag(st, dag, err);
}
static inline int weir_store_set_import_errors(struct weir_store *st, const char *file,
					       const struct weir_diags *d, struct weir_buf *err)
{
	return st->ops->set_import_errors(st, file, d, err);
}
static inline int weir_store_load_runs(struct weir_store *st, int64_t run_pk,
				       const struct weir_uuid *owner, weir_store_run_fn *fn,
				       void *arg, struct weir_buf *err)
{
	return st->ops->load_runs(st, run_pk, owner, fn, arg, err);
}
static inline int weir_store_scheduler_beat(struct weir_store *st, const struct weir_uuid *id,
					    const char *hostname, int pid, int64_t timeout_ms,
					    json_t *stats, int *live, struct weir_buf *err)
{
	return st->ops->scheduler_beat(st, id, hostname, pid, timeout_ms, stats, live, err);
}
static inline int weir_store_claim_dags(struct weir_store *st, const struct weir_uuid *id, int max,
					int64_t timeout_ms, weir_store_claim_fn *fn, void *arg,
					struct weir_buf *err)
{
	return st->ops->claim_dags(st, id, max, timeout_ms, fn, arg, err);
}
static inline int weir_store_scheduler_release(struct weir_store *st, const struct weir_uuid *id,
					       struct weir_buf *err)
{
	return st->ops->scheduler_release(st, id, err);
}
static inline int weir_store_deactivate_missing(struct weir_store *st, const char *folder,
						const char *const *files, size_t n,
						struct weir_buf *err)
{
	return st->ops->deactivate_missing(st, folder, files, n, err);
}
static inline int weir_store_query_json(struct weir_store *st, const char *name, int nparams,
					const char *const *params, json_t **out,
					struct weir_buf *err)
{
	return st->ops->query_json(st, name, nparams, params, out, err);
}
static inline int weir_store_query_text(struct weir_store *st, const char *name, int nparams,
					const char *const *params, char **out, size_t *len,
					struct weir_buf *err)
{
	json_t *j = NULL;
	int rc;

	if (st->ops->query_text)
		return st->ops->query_text(st, name, nparams, params, out, len, err);
	rc = st->ops->query_json(st, name, nparams, params, &j, err);
	*out = rc == 0 ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	*len = *out ? strlen(*out) : 0;
	json_decref(j);
	return rc;
}
static inline int weir_store_exec(struct weir_store *st, const char *name, int nparams,
				  const char *const *params, long *rows, struct weir_buf *err)
{
	return st->ops->exec(st, name, nparams, params, rows, err);
}
static inline int weir_store_listen(struct weir_store *st, const char *channel,
				    struct weir_buf *err)
{
	return st->ops->listen(st, channel, err);
}
static inline int weir_store_notify(struct weir_store *st, const char *channel,
				    const char *payload, struct weir_buf *err)
{
	return st->ops->notify(st, channel, payload, err);
}
static inline int weir_store_fd(struct weir_store *st)
{
	return st->ops->fd(st);
}
static inline int weir_store_consume(struct weir_store *st, weir_store_notify_fn *fn, void *arg,
				     struct weir_buf *err)
{
	return st->ops->consume(st, fn, arg, err);
}

/*
 * Opens the PostgreSQL store (implemented in db/).  conninfo is a libpq
 * URI or key=value string.  Fails with one clear message when the server
 * cannot be reached.  Returns 0 and *out, or WEIR_ECONN / WEIR_EDB.
 */
int weir_pg_store_open(const char *conninfo, struct weir_store **out, struct weir_buf *err);

/*
 * Sets the session's application_name (now and after every reconnect).
 * Schedulers use "weir-scheduler": the database does not notify them of
 * their own changes (see the notification triggers).
 */
int weir_pg_store_set_app(struct weir_store *st, const char *name, struct weir_buf *err);

/* Tuning of the reconnect loop (tests shorten it).  Defaults: 30 s total. */
extern int64_t weir_store_reconnect_budget_ms;
/*
 * Fault injection for tests: when positive, the next apply() that commits
 * drops its connection before reading COMMIT's reply (as a network failure
 * would), and the counter decrements.
 */
extern int weir_store_fault_lose_reply;

#endif
