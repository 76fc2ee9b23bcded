/*
 * dag.h: the in-memory DAG model and the DAG file loader.
 *
 * One YAML file describes one DAG (docs/dag-format.md).  weir_dag_load_*()
 * parse and validate it, reporting every problem with file:line:col, and
 * build a compact model the scheduler walks constantly:
 *
 *   tasks[]      in file order; a task's index is its identity in the
 *                model (the database uses the id string)
 *   upstream /   per task, arrays of task indices (both directions are
 *   downstream   stored so readiness checks and skip propagation are O(deg))
 *   topo[]       task indices in a topological order (ties in file order)
 *   priority     per task, the effective priority after weight_rule
 *                (Airflow's rule: downstream = own + all descendants)
 *
 * A loaded DAG is immutable and owns all its memory in one arena (JSON
 * values are released by arena cleanups).  It is shared by reference count
 * so a scheduler can swap in a new version of a file while runs of the old
 * version finish: weir_dag_ref / weir_dag_unref.
 */
#ifndef WEIR_DAG_H
#define WEIR_DAG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "engine/cron.h"
#include "engine/diag.h"
#include "engine/tz.h"

#define WEIR_DAG_FORMAT_VERSION 1
#define WEIR_DAG_MAX_FILE_BYTES (1u << 20)
#define WEIR_DAG_MAX_TASKS 10000
#define WEIR_ID_MAX 100 /* dag and task ids: ^[A-Za-z0-9_.-]{1,100}$ */

enum weir_trigger_rule {
	WEIR_TRIGGER_ALL_SUCCESS,
	WEIR_TRIGGER_ALL_FAILED,
	WEIR_TRIGGER_ALL_DONE,
	WEIR_TRIGGER_ONE_SUCCESS,
	WEIR_TRIGGER_ONE_FAILED,
	WEIR_TRIGGER_ONE_DONE,
	WEIR_TRIGGER_NONE_FAILED,
	WEIR_TRIGGER_NONE_SKIPPED,
	WEIR_TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS,
	WEIR_TRIGGER_ALWAYS,
	WEIR_TRIGGER__COUNT,
};

enum weir_executor_kind {
	WEIR_EXECUTOR_LOCAL,
	WEIR_EXECUTOR_CONTAINER,
	WEIR_EXECUTOR_AMQP,
	WEIR_EXECUTOR__COUNT,
};

enum weir_sensor_mode {
	WEIR_MODE_POKE,
	WEIR_MODE_RESCHEDULE,
};

enum weir_weight_rule {
	WEIR_WEIGHT_DOWNSTREAM,
	WEIR_WEIGHT_UPSTREAM,
	WEIR_WEIGHT_ABSOLUTE,
};

enum weir_param_type {
	WEIR_PARAM_STRING,
	WEIR_PARAM_INTEGER,
	WEIR_PARAM_NUMBER,
	WEIR_PARAM_BOOLEAN,
	WEIR_PARAM_OBJECT,
	WEIR_PARAM_ARRAY,
	WEIR_PARAM_WKT,
	WEIR_PARAM_GEOJSON,
	WEIR_PARAM__COUNT,
};

const char *weir_trigger_rule_name(enum weir_trigger_rule r);
const char *weir_executor_name(enum weir_executor_kind e);
const char *weir_param_type_name(enum weir_param_type t);

struct weir_param {
	const char *name;
	enum weir_param_type type;
	json_t *default_value; /* NULL when there is no default */
	json_t *enum_values;   /* array, or NULL */
	double minimum, maximum;
	bool has_minimum, has_maximum;
	const char *pattern;   /* POSIX ERE matched against the whole string, or NULL */
	bool required;
	const char *description;
	int line, col;
};

/* Resource limits: 0 means "not set". */
struct weir_limits {
	int64_t memory_bytes; /* local: RLIMIT_AS; container: cgroup memory */
	double cpus;          /* container: CPU quota in cores */
	int64_t pids;         /* local: RLIMIT_NPROC; container: pids.max */
	int64_t nofile;       /* RLIMIT_NOFILE */
	int64_t cpu_seconds;  /* RLIMIT_CPU */
};

struct weir_task {
	const char *id;
	const char *operator_name;
	const struct weir_operator *op;
	json_t *config;     /* operator-specific keys, unrendered (object) */
	const char *description;

	const uint32_t *upstream; /* task indices */
	const uint32_t *downstream;
	uint32_t n_upstream, n_downstream;

	enum weir_trigger_rule trigger_rule;
	enum weir_executor_kind executor;
	enum weir_sensor_mode mode;
	enum weir_weight_rule weight_rule;
	bool branch;
	bool callback;           /* on_success / on_failure: runs after every leaf,
				    never counts in the run's outcome */
	bool leaf;               /* no downstream tasks but callbacks: the run's
				    outcome comes from these */
	bool retry_exponential_backoff;
	bool has_invalid_exit_code;
	int invalid_exit_code;
	int retries;
	int64_t retry_delay_us;
	int64_t max_retry_delay_us;     /* 0 = no cap beyond the engine's 24 h */
	int64_t execution_timeout_us;   /* 0 = none */
	int64_t poke_interval_us;       /* sensors */
	int64_t sensor_timeout_us;      /* sensors: give up after this */
	const char *pool;
	int pool_slots;
	const char *queue;
	int priority_weight;            /* as written */
	int64_t priority;               /* effective, after weight_rule */
	json_t *env;                    /* object of strings (templated), or NULL */
	json_t *container;              /* object, or NULL */
	struct weir_limits limits;
	int line, col;                  /* of the task's mapping */
};

struct weir_dag {
	struct weir_arena arena;
	int refs;

	const char *id;
	const char *file;        /* path as given to the loader */
	const char *description;
	const char *owner;
	const char **tags;
	size_t ntags;

	const char *schedule;    /* as written, or NULL: triggered only */
	struct weir_cron cron;   /* valid when schedule != NULL */
	const struct weir_tz *tz;
	int64_t start_date;      /* us, or WEIR_TIME_NONE */
	int64_t end_date;        /* us, or WEIR_TIME_NONE */
	bool catchup;
	int max_active_runs;
	int max_active_tasks;
	bool is_paused_upon_creation;
	bool service;            /* may be ordered through the API */
	double max_area_km2;     /* service AOI limit; 0 = none */

	struct weir_param *params;
	size_t nparams;

	struct weir_task *tasks;
	uint32_t ntasks;
	const uint32_t *topo;    /* ntasks indices, topological order */
	const uint32_t *by_id;   /* ntasks indices sorted by task id (for lookup) */

	char hash[65];           /* SHA-256 of the file bytes, hex */
	const char *source;      /* the file's text */
	size_t source_len;
	json_t *definition;      /* the document as JSON (for the store and API) */
};

/*
 * Loads and validates a DAG file.  Returns 0 and *out (refs = 1), or
 * WEIR_EINVALID when the file has problems (all of them in d, which the
 * caller initialised), or -errno when it cannot be read (also in d).
 */
int weir_dag_load_file(const char *path, struct weir_dag **out, struct weir_diags *d);
/* Same for text already in memory; name is used in messages and as file. */
int weir_dag_load_text(const char *name, const char *text, size_t len, struct weir_dag **out,
		       struct weir_diags *d);

struct weir_dag *weir_dag_ref(struct weir_dag *dag);
void weir_dag_unref(struct weir_dag *dag);

/* Index of the task with this id, or -1 (binary search). */
long weir_dag_task_index(const struct weir_dag *dag, const char *id);
/* True when task a is an ancestor of b (a transitively upstream of b). */
bool weir_dag_is_ancestor(const struct weir_dag *dag, uint32_t a, uint32_t b);

/*
 * Scheduling: the next scheduled run at or after `after` is the one whose
 * data interval ends at the first cron fire time strictly after `after`,
 * honouring start_date and end_date.  Returns 0 with the interval
 * [*start, *end), or WEIR_ENOTFOUND (no schedule, @once, after end_date).
 * A run's logical date is its interval start, as in Airflow.
 */
int weir_dag_next_interval(const struct weir_dag *dag, int64_t after, int64_t *start,
			   int64_t *end);

/*
 * Checks user-supplied params (object, borrowed, may be NULL) against the
 * DAG's declarations and returns the effective params with defaults
 * applied (*out: new reference).  Unknown names, missing required ones,
 * wrong types, enum/range/pattern violations are WEIR_EINVALID with a
 * message in err and the offending param's name in *field (borrowed from
 * dag or input).  Geometry params (wkt, geojson) are checked for shape
 * only here; the API normalises them with PostGIS.
 */
int weir_dag_resolve_params(const struct weir_dag *dag, json_t *given, json_t **out,
			    const char **field, struct weir_buf *err);

/* Validates one value against one param declaration (used for defaults too). */
int weir_param_check(const struct weir_param *p, json_t *value, struct weir_buf *err);

/* True for names of DAG files: *.yaml or *.yml, not hidden. */
bool weir_dag_file_name(const char *name);
/*
 * Appends path (a file) or the DAG files under path (a folder, searched
 * recursively, hidden entries skipped) to out, sorted.  0, or -errno with
 * a message in err.
 */
struct weir_strvec;
int weir_dag_files(const char *path, struct weir_strvec *out, struct weir_buf *err);

/* The model as JSON (tasks in topological order), for `weir dags show`. */
json_t *weir_dag_to_json(const struct weir_dag *dag);

#endif
