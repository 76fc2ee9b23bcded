/*
 * spec.h: building task specs, and the files of a try on disk.
 *
 * Whoever starts a try (the scheduler's executors, `weir tasks test`, a
 * worker) describes it to the task process with a spec (taskrun.h): the
 * task's unrendered config, the template context of its run, the paths of
 * its log and result, its deadlines.  weir_spec_build() is the one place
 * that turns the DAG model + facts about the run and the try into that
 * JSON, so every starter fills the context the same way.
 *
 * FILES OF A TRY, all under the home directory (WEIR_HOME):
 *
 *   HOME/logs/DAG/RUN/TASK/TRY.log           the log (taskrun.h: THE LOG)
 *   HOME/logs/DAG/RUN/TASK/TRY.result.json   the result (written last)
 *   HOME/logs/DAG/RUN/TASK/TRY.xcom.json     $WEIR_XCOM_FILE of the try
 *   HOME/logs/DAG/RUN/TASK/TRY.spec.json     the spec (written by the starter)
 *   HOME/logs/DAG/RUN/TASK/TRY.lock          the starter's flock()ed file
 *   HOME/runs/DAG/RUN/                       run_dir: scratch shared by the run
 *
 * TRY is the try number in decimal.  Each of DAG, RUN and TASK is one path
 * component: bytes other than [A-Za-z0-9_.:+=@,-] and a leading '.' are
 * written as %XX, so a run id like "a/../b" cannot leave its folder and
 * distinct ids never share a folder.  weir_spec_try_path() is the only
 * code that knows this layout; everything else asks it.
 *
 * The functions here allocate; none is safe between fork and exec or in
 * a signal handler.  They keep no state (thread-safe).
 */
#ifndef WEIR_SPEC_H
#define WEIR_SPEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/time.h"
#include "engine/operator.h"

struct weir_dag;

/* Default of xcom_max_bytes (the setting of the same name). */
#define WEIR_SPEC_XCOM_MAX_DEFAULT 65536

/* Suffixes for weir_spec_try_path(). */
#define WEIR_SPEC_LOG "log"
#define WEIR_SPEC_RESULT "result.json"
#define WEIR_SPEC_XCOM "xcom.json"
#define WEIR_SPEC_SPEC "spec.json"
#define WEIR_SPEC_LOCK "lock"

/*
 * What the DAG model does not know about a try: facts of the run (from
 * the dag_runs row) and of this try (from the scheduler).  Everything is
 * borrowed for the duration of weir_spec_build().  Start from
 * WEIR_SPEC_RUN_INIT: the instants default to "not set".
 */
struct weir_spec_run {
	/* the run */
	const char *run_id;       /* required */
	int64_t logical_date;     /* us; required */
	int64_t interval_start;   /* us; WEIR_TIME_NONE: logical_date */
	int64_t interval_end;     /* us; WEIR_TIME_NONE: logical_date */
	json_t *params;           /* effective params (weir_dag_resolve_params); NULL = {} */
	json_t *conf;             /* the run's conf object; NULL = {} */
	json_t *xcom;             /* upstream outputs {"TASK": {"KEY": value}}; NULL = {}.
				     Copied as given: pass the upstream tasks' only. */

	/* the try */
	int try_number;           /* >= 1 */
	const char *attempt_id;   /* required: the try's UUID (its fence) */
	int64_t start_us;         /* wall clock when the try starts; the execution
				     deadline is start_us + execution_timeout.
				     WEIR_TIME_NONE: now */
	int64_t sensor_start_us;  /* sensors: when the first try of this task
				     instance started (its sensor timeout counts
				     from there across reschedules).
				     WEIR_TIME_NONE: start_us */
	json_t *secrets;          /* array of strings masked as *** in the log; NULL = none */
	json_t *connections;      /* {name: connection} the task's config references
				     (weir_connections_resolve); NULL = none.  Their
				     secrets are added to the spec's secrets */
	const char *database_url; /* weir's own database (libpq URL or key=value):
				     given to operators with needs_store only, as
				     "weir_database_url", itself and its password
				     masked; NULL = none */
	size_t xcom_max_bytes;    /* 0: WEIR_SPEC_XCOM_MAX_DEFAULT */

	/* executor: container */
	const char *container_runtime; /* runc, crun, podman (setting container_runtime);
					  NULL: runc */

	/* where files go */
	const char *home;         /* required: log, result, xcom paths derive from it */
	const char *run_dir;      /* NULL: weir_spec_run_dir(home, dag, run_id) */
};

#define WEIR_SPEC_RUN_INIT                                                           \
	{                                                                            \
		.logical_date = WEIR_TIME_NONE, .interval_start = WEIR_TIME_NONE,    \
		.interval_end = WEIR_TIME_NONE, .try_number = 1,                     \
		.start_us = WEIR_TIME_NONE, .sensor_start_us = WEIR_TIME_NONE,       \
	}

/*
 * Builds the spec of one try of dag->tasks[task] (taskrun.h: THE SPEC).
 * Returns a new reference; never NULL.  Asserts that the required fields
 * of run are set (they come from weir's own code, not from input).
 *
 * Filled in:
 *   - context: ds, ds_nodash (logical date in UTC), ts and logical_date
 *     ("2026-11-23T10:00:00+00:00"), ts_nodash ("20261123T100000"),
 *     data_interval_start/end, run_id, dag.id, task.id, try_number,
 *     params, conf, xcom, run_dir;
 *   - paths: log_path, result_path, xcom_path (weir_spec_try_path);
 *   - max_tries = retries + 1, invalid_exit_code, branch + downstream ids,
 *     limits (only the keys that are set), xcom_max_bytes, secrets;
 *   - connections (run->connections, or {}), weir_database_url (only for
 *     operators with needs_store, when run->database_url is set), with
 *     their secrets appended to secrets; dag_file (where the DAG was
 *     loaded from: operators resolve relative script paths against it);
 *   - executor (its name); for executor container, "container": the
 *     task's container section plus "runtime" (run->container_runtime)
 *     and "cache_dir" (HOME/cache/images, where images are unpacked);
 *   - deadline_us and execution_timeout_us when the task has an
 *     execution_timeout; for sensors, "sensor": {mode, poke_interval_ms,
 *     timeout_us, deadline_us = sensor_start_us + timeout}.
 * The starter still has to write it (weir_spec_write_atomic) and create
 * nothing else: the task process creates the folders it needs.
 */
json_t *weir_spec_build(const struct weir_dag *dag, uint32_t task, const struct weir_spec_run *run);

/*
 * The template context alone (the "context" member of the spec, without
 * the "env" the task process adds).  New reference.
 */
json_t *weir_spec_context(const struct weir_dag *dag, uint32_t task,
			  const struct weir_spec_run *run);

/*
 * Path of one file of a try: HOME/logs/DAG/RUN/TASK/TRY.SUFFIX, with the
 * components escaped as described above.  suffix NULL gives the task's
 * folder (HOME/logs/DAG/RUN/TASK), where all tries live; try_number is
 * then ignored.  Returns a new string (caller frees).
 */
char *weir_spec_try_path(const char *home, const char *dag_id, const char *run_id,
			 const char *task_id, int try_number, const char *suffix);

/* HOME/runs/DAG/RUN (escaped likewise).  Returns a new string. */
char *weir_spec_run_dir(const char *home, const char *dag_id, const char *run_id);

/*
 * Parses the name of a try file in the task's folder ("3.log" with
 * suffix "log").  Returns the try number, or 0 when name is not such a
 * file.
 */
int weir_spec_try_of(const char *name, const char *suffix);

/*
 * Creates dir and its missing parents (mode 0750; existing folders are
 * left alone).  Returns 0, or -errno with `could not create folder "X":
 * reason` in err (may be NULL).
 */
int weir_spec_mkdirs(const char *dir, struct weir_buf *err);

/*
 * Writes data to path atomically: to "PATH.tmp.PID" first, then rename(),
 * so a reader sees the old file or the whole new one, never a part.  No
 * fsync: the files of a try only need to survive a crash of weir, not of
 * the machine.  Creates the parent folders.  Returns 0 or -errno with a
 * message in err (may be NULL); nothing is left behind on error.
 */
int weir_spec_write_atomic(const char *path, const char *data, size_t len, struct weir_buf *err);

/* weir_spec_write_atomic() of a JSON value as one compact line ending in '\n'. */
int weir_spec_write_json(const char *path, json_t *value, struct weir_buf *err);

/* Outcome names of the result ("success", ... "reschedule"). */
const char *weir_spec_outcome_name(enum weir_op_result r);
/* 0 and *out, or WEIR_EINVALID for an unknown name. */
int weir_spec_outcome_parse(const char *name, enum weir_op_result *out);

/*
 * Parses and checks a result (the report line or the result file): an
 * object with attempt_id (string), outcome (a known name), started_us and
 * ended_us (integers), exit_code (integer or null), message (string or
 * null), xcom (object), branch (array of strings or null), next_poke_us
 * (integer or null; an integer when outcome is "reschedule").  Returns 0
 * and *out (new reference), or WEIR_EINVALID with a message in err.
 * Input up to len bytes; trailing whitespace is allowed.
 */
int weir_spec_result_parse(const char *text, size_t len, json_t **out, struct weir_buf *err);

/*
 * Reads and parses a result file (at most 64 MiB).  Returns 0 and *out,
 * -ENOENT when there is none (the try has not finished, or died before
 * writing it), or another error with a message in err.
 */
int weir_spec_result_read(const char *path, json_t **out, struct weir_buf *err);

#endif
