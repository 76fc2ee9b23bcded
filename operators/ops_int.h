/*
 * ops_int.h: helpers shared by the operators in operators/ (private).
 *
 * Three groups:
 *   validate   typed checks of a task's keys with positioned diagnostics
 *              (the DAG loader calls validate(); no I/O)
 *   run        reading rendered config, connections from the spec, the
 *              deadline; status and JSON-path matching
 *   sensors    the poke / reschedule loop shared by the sensors
 *
 * Everything here is in the light library (libc + jansson only), so the
 * lean runner may use it too.  Same threading rule as operator.h: one task
 * per process.
 */
#ifndef WEIR_OPS_INT_H
#define WEIR_OPS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "engine/diag.h"
#include "engine/node.h"
#include "engine/operator.h"

/* ------------------------------------------------------------------ */
/* validate()                                                           */
/* ------------------------------------------------------------------ */

/*
 * A connection name: a plain string (connections are resolved before the
 * task starts, so a template cannot choose one) that is a valid name.
 * `required`: a missing key is reported as "OP task needs \"KEY\" (WHAT)".
 * Returns the node, or NULL (reported).
 */
const struct weir_node *weir__op_want_conn(const struct weir_node *task, const char *key,
					   bool required, const char *what, struct weir_diags *d);
/* A boolean (true/false); false and reported otherwise. */
bool weir__op_want_bool(const struct weir_node *task, const char *key, struct weir_diags *d);
/* A duration ("30s") or whole seconds, > 0 when positive is set. */
void weir__op_want_duration(const struct weir_node *task, const char *key, bool positive,
			    struct weir_diags *d);
/* A string (not a number or boolean) that is not empty. */
const struct weir_node *weir__op_want_text(const struct weir_node *task, const char *key,
					   bool required, struct weir_diags *d);
/* A string (possibly empty); numbers and booleans are not strings here. */
const struct weir_node *weir__op_want_str(const struct weir_node *task, const char *key,
					  struct weir_diags *d);
/* A mapping whose values are strings (headers). */
void weir__op_want_string_map(const struct weir_node *task, const char *key, struct weir_diags *d);
/* HTTP status codes: one (200), a class ("2xx"), or a list of them. */
void weir__op_want_status(const struct weir_node *task, const char *key, struct weir_diags *d);
/* One of names (a string); reported with the choices. */
void weir__op_want_enum(const struct weir_node *task, const char *key, const char *const *names,
			struct weir_diags *d);
/* A task id or DAG id: [A-Za-z0-9_.-]{1,100}, unless templated. */
void weir__op_want_id(const struct weir_node *task, const char *key, bool required, const char *what,
		      struct weir_diags *d);
/* True when the scalar contains "{{" (rendered at run time). */
bool weir__op_templated(const struct weir_node *n);

/* ------------------------------------------------------------------ */
/* run()                                                                */
/* ------------------------------------------------------------------ */

/* A string member of the rendered config, or NULL (absent or not a string). */
const char *weir__op_str(struct weir_task_ctx *ctx, const char *key);
/*
 * A boolean member: def when absent.  WEIR_EINVALID with ctx->message
 * when it is not a boolean.
 */
int weir__op_bool(struct weir_task_ctx *ctx, const char *key, bool def, bool *out);
/* A duration member ("30s" or seconds): def when absent; WEIR_EINVALID + message. */
int weir__op_duration(struct weir_task_ctx *ctx, const char *key, int64_t def, int64_t *out);

/*
 * The connection named by config[key] from spec.connections, checked to
 * be of type `type` (NULL: any).  Returns it (borrowed), or NULL with the
 * reason in ctx->message ("connection \"db\" is not defined ...").
 */
json_t *weir__op_conn(struct weir_task_ctx *ctx, const char *key, const char *type);
/* A string field of a connection, or NULL. */
const char *weir__conn_str(json_t *conn, const char *field);
/* The port of a connection, or def. */
int weir__conn_port(json_t *conn, int def);

/*
 * True when the try must stop now: the runner got a stop signal or the
 * execution deadline passed (the runner then writes the message).  For
 * operators that block in a library (libcurl, libpq) and poll this.
 */
bool weir__op_interrupted(struct weir_task_ctx *ctx);
/* Milliseconds left until the execution deadline (at least 1), or -1. */
long weir__op_deadline_ms(struct weir_task_ctx *ctx);

/* True when status matches expected (NULL: any 2xx).  expected as validated above. */
bool weir__op_status_ok(json_t *expected, long status);
/* The value at a dotted path ("data.0.state") in root (borrowed), or NULL. */
json_t *weir__op_json_path(json_t *root, const char *path);
/* Python's truth: null, false, 0, 0.0, "", [], {} are false. */
bool weir__op_truthy(json_t *v);
/* A short text of a JSON value for messages (new string, at most ~200 bytes). */
char *weir__op_json_brief(json_t *v);

/* ------------------------------------------------------------------ */
/* sensors                                                              */
/* ------------------------------------------------------------------ */

/*
 * One poke: returns 1 when the condition holds (the poke may add XComs),
 * 0 when not yet (why in reason, one line), or < 0 when the try must
 * fail at once (message in ctx->message).
 */
typedef int weir__poke_fn(struct weir_task_ctx *ctx, void *arg, struct weir_buf *reason);

/* The spec's "sensor" settings (engine/spec.c), read once per try. */
struct weir__sensor {
	bool reschedule;  /* mode "reschedule"; else poke mode */
	int64_t interval; /* poke_interval_ms in microseconds; default 60 s */
	int64_t deadline; /* absolute (us), WEIR_TIME_NONE: none */
	int64_t timeout;  /* for messages: timeout_us, else deadline - started (>= 0) */
};

/* Reads ctx's "sensor" settings; started: when the try began (us). */
void weir__op_sensor_settings(struct weir_task_ctx *ctx, int64_t started, struct weir__sensor *out);

/*
 * Logs "not yet: REASON" when reason differs from last or a minute has
 * passed since *last_logged (a fast poke loop must not flood the log);
 * then copies reason to last and sets *last_logged = now.
 */
void weir__op_sensor_not_yet(struct weir_task_ctx *ctx, const struct weir_buf *reason,
			     struct weir_buf *last, int64_t *last_logged, int64_t now);

/*
 * Runs a sensor with the spec's "sensor" settings:
 *   poke mode:        poke, weir_task_sleep(poke_interval), ... until the
 *                     condition holds or the sensor deadline passes:
 *                     FAILED "sensor timed out after 1h (last reason)"
 *   reschedule mode:  one poke; not yet: RESCHEDULE with next_poke_us =
 *                     now + poke_interval (at most the deadline), or
 *                     FAILED once the deadline has passed
 * `what` describes the condition for the log ("rows from \"db\"").
 */
enum weir_op_result weir__op_sensor_run(struct weir_task_ctx *ctx, const char *what,
					weir__poke_fn *poke, void *arg);

#endif
