/*
 * runs.h: creating and steering runs on behalf of users (CLI, API).
 *
 * These functions talk to the store only; the scheduler that owns the DAG
 * learns about the change from the database's notification (see
 * db/migrations: weir_notify_change) and reacts within milliseconds.
 */
#ifndef WEIR_RUNS_H
#define WEIR_RUNS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "engine/dag.h"
#include "engine/store.h"
#include "engine/uuid.h"

struct weir_trigger_req {
	const char *dag_id;
	const char *run_id;       /* NULL: "manual__<logical date>" (or the order id for services) */
	const char *run_type;     /* manual, api, service, backfill */
	json_t *conf;             /* borrowed; NULL = {} */
	json_t *params;           /* borrowed: the params, strictly (services); NULL: the
				     conf keys that name declared params (Airflow's rule) */
	int64_t logical_date;     /* WEIR_TIME_NONE: now */
	int64_t interval_start, interval_end; /* WEIR_TIME_NONE: the logical date */
	const char *client_id, *service, *note;
	const char *aoi_geojson;  /* normalised AOI, or NULL */
	const char *actor;        /* for the audit trail */
};

struct weir_trigger_res {
	int64_t run_pk;
	struct weir_uuid order_id;
	char run_id[256];
	bool paused;              /* the DAG is paused: the run waits */
	json_t *params;           /* effective params (new reference) */
};

/*
 * Validates and creates a run.  Returns 0; WEIR_ENOTFOUND (no such DAG);
 * WEIR_EINVALID with err and *field (the offending param or "dag_run_id");
 * WEIR_EEXISTS (duplicate run id); or a store error.
 */
int weir_run_trigger(struct weir_store *st, const struct weir_trigger_req *req,
		     struct weir_trigger_res *res, const char **field, struct weir_buf *err);

/*
 * Loads the current definition of a DAG from the store (the source last
 * recorded by a scheduler).  Returns 0 and *out, WEIR_ENOTFOUND, or an
 * error.  *paused / *active may be NULL.
 */
int weir_run_load_dag(struct weir_store *st, const char *dag_id, struct weir_dag **out,
		      bool *paused, bool *active, struct weir_buf *err);

/* True when s is a valid run id: 1-250 of [A-Za-z0-9_.:+@,=~-], not "." or "..". */
bool weir_run_id_valid(const char *s);

#endif
