/*
 * operator.h: what a task does.
 *
 * Each operator is one file in operators/ exporting a const struct
 * weir_operator.  The engine knows operators only through this table:
 * operators/ registers them at start-up (weir_operators_register_all), and
 * the DAG loader looks them up by name.
 *
 *   keys      the operator-specific task keys it accepts (the loader rejects
 *             other keys with a "did you mean" hint drawn from these and
 *             the common task keys)
 *   validate  called at DAG load with the task's mapping node; reports
 *             problems in its own keys with positions; must not do I/O.
 *             (Templates in every string value are checked by the loader.)
 *   run       called in the task process (later issues add the context)
 */
#ifndef WEIR_OPERATOR_H
#define WEIR_OPERATOR_H

#include <stdbool.h>

#include "engine/diag.h"
#include "engine/node.h"

#include <jansson.h>
#include <stdint.h>

#include "common/buf.h"

struct weir_tasklog;

/*
 * What run() gets (in the task process; see taskrun.h for the spec).
 * Operators read config/env, write the log, add outputs with
 * weir_task_xcom(), and return an outcome; on failure they put a one-line
 * reason in message.
 */
struct weir_task_ctx {
	json_t *spec;             /* the whole spec (borrowed) */
	json_t *config;           /* operator keys, rendered */
	json_t *env;              /* task env, rendered (object of strings; may be empty) */
	json_t *context;          /* template context */
	const char *run_dir;      /* the run's scratch directory (exists) */
	const char *xcom_file;    /* WEIR_XCOM_FILE for the operator's process */
	int64_t deadline_us;      /* wall clock; WEIR_TIME_NONE when no timeout */
	struct weir_tasklog *log;
	json_t *xcom;             /* outputs so far (object) */
	size_t xcom_max_bytes;
	int exit_code;            /* of the operator's process; -1 when none */
	bool has_invalid_exit_code;
	int invalid_exit_code;
	int64_t next_poke_us;     /* sensors returning WEIR_OP_RESCHEDULE */
	struct weir_buf message;  /* failure reason */
};

/* Outcomes of run(). */
enum weir_op_result {
	WEIR_OP_SUCCESS,
	WEIR_OP_FAILED,
	WEIR_OP_SKIPPED,
	WEIR_OP_INVALID,    /* the input is unusable: the run becomes INVALID */
	WEIR_OP_RESCHEDULE, /* sensors: not yet, poke again later */
};

struct weir_operator {
	const char *name;
	const char *const *keys; /* NULL-terminated */
	bool is_sensor;          /* accepts poke_interval, timeout, mode */
	bool full_runner;        /* needs libraries only the full weir binary
				    links (libpq, libcurl): run by `weir task
				    run`, not by the lean `weir-task` */
	bool needs_store;        /* needs weir's own database (trigger_dag,
				    run_sensor): the spec carries its URL as
				    "weir_database_url", masked in the log */
	const char *const *connection_keys; /* config keys whose string values
				    name connections, besides "connection"
				    (NULL-terminated; may be NULL).  Starters
				    resolve them into spec.connections
				    (engine/connections.h) */
	void (*validate)(const struct weir_node *task, struct weir_diags *d);
	enum weir_op_result (*run)(struct weir_task_ctx *ctx);
};

/* Registration happens once at start-up, before any thread starts. */
void weir_operator_register(const struct weir_operator *op);
const struct weir_operator *weir_operator_find(const char *name);
/* NULL-terminated list of registered names (for hints); static storage. */
const char *const *weir_operator_names(void);

/*
 * Helpers for run() (engine/taskrun.c):
 *
 * weir_task_log: appends a timestamped WEIR line to the task log.
 * weir_task_xcom: adds an output (value stolen); WEIR_ETOOBIG when it is
 *   larger than xcom_max_bytes (message set).
 *   Keys are [A-Za-z_][A-Za-z0-9_-]* (at most 100 bytes, so templates
 *   can name them: xcom.TASK.KEY); a bad key is WEIR_EINVALID.  Any
 *   XCom error also fails the try once run() returns, whatever it returns
 *   (except INVALID, which stands).
 * weir_task_spawn: runs argv with env (object of strings added to the
 *   runner's environment plus WEIR_* variables), cwd and stdin text;
 *   streams stdout/stderr lines into the log (OUT/ERR), parses
 *   `::xcom KEY=JSON` lines from stdout into outputs, kills the process
 *   group at the deadline, and returns 0 with the exit code (128+signal
 *   when killed) in ctx->exit_code, or -errno when it could not start
 *   (message set).  When the process ends, whatever it left running is
 *   killed with SIGKILL: its process group, and every other child of the
 *   runner (as a subreaper the runner inherits descendants that called
 *   setsid()), so an operator must not keep processes of its own across
 *   this call.  At the deadline, or when the runner is told to stop
 *   (SIGTERM), the group gets SIGTERM, then SIGKILL 5 s later; the
 *   message says why and the runner fails the try with it.
 *   With `executor: container` the program runs inside the task's
 *   container (docs/containers.md): it sees the run_dir, $WEIR_XCOM_FILE
 *   and the DAG's mounts, not the runner's other files, and argv[0] is
 *   looked up in the container's PATH.
 * weir_task_share: makes host folder dir (absolute) visible, read-write at
 *   the same path, to the programs weir_task_spawn starts afterwards in
 *   this try when they run in a container (a no-op for local ones).  For
 *   operators that hand the program files of their own (a script in a
 *   temporary folder).
 * weir_task_sleep: waits until until_us (wall clock) for operators that
 *   poll (sensors).  Returns 0, WEIR_ETIMEDOUT when the execution
 *   deadline came first, or WEIR_ESHUTDOWN when the runner was told to
 *   stop; on either error run() should return WEIR_OP_FAILED (the runner
 *   supplies the message).
 *
 * One task runs per process at a time: these helpers use the runner's
 * process-wide signal handling.  Not for signal handlers or threads.
 */
void weir_task_log(struct weir_task_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int weir_task_xcom(struct weir_task_ctx *ctx, const char *key, json_t *value);
int weir_task_spawn(struct weir_task_ctx *ctx, const char *const *argv, json_t *env,
		    const char *cwd, const char *stdin_text);
void weir_task_share(struct weir_task_ctx *ctx, const char *dir);
int weir_task_sleep(struct weir_task_ctx *ctx, int64_t until_us);

/* Implemented in operators/: registers every shipped operator, or only
 * those the lean runner `weir-task` carries (full_runner false). */
void weir_operators_register_all(void);
void weir_operators_register_light(void);

/*
 * Helpers for validate(): each reports a positioned error when the key is
 * present with the wrong type (and, when required, when it is missing) and
 * returns the node, or NULL.
 */
const struct weir_node *weir_op_want_string(const struct weir_node *task, const char *key,
					    bool required, struct weir_diags *d);
const struct weir_node *weir_op_want_string_list(const struct weir_node *task, const char *key,
						 bool required, struct weir_diags *d);
const struct weir_node *weir_op_want_map(const struct weir_node *task, const char *key,
					 bool required, struct weir_diags *d);

#endif
