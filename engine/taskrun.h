/*
 * taskrun.h: the task process (`weir task run`) and its contract with
 * whoever starts it (the scheduler's local executor, the container
 * executor, an AMQP worker, or `weir tasks test`).
 *
 *   weir task run DAG RUN TASK --try N --attempt UUID --spec FILE
 *                [--report-fd FD] [--lock-fd FD]
 *
 * The task process never opens a database connection: everything it needs
 * is in the spec, and everything it learns goes back in the result.
 *
 * THE SPEC (JSON file, written by the starter before starting it)
 *   {
 *     "version": 1,
 *     "dag_id", "run_id", "task_id": strings,
 *     "try_number": int, "max_tries": int, "attempt_id": "uuid",
 *     "operator": "command",
 *     "config": {...},            operator keys, NOT yet rendered
 *     "env": {"NAME": "..."},     task env, NOT yet rendered (may be absent)
 *     "context": {                template variables (see template.h)
 *        "ds", "ds_nodash", "ts", "ts_nodash", "logical_date",
 *        "data_interval_start", "data_interval_end", "run_id",
 *        "dag": {"id"}, "task": {"id"}, "try_number",
 *        "params": {...}, "conf": {...},
 *        "xcom": {"TASK": {"KEY": value}},   upstream outputs
 *        "run_dir": "..."                    shared scratch dir of the run
 *     },                          ("env" is added from the process environment)
 *     "log_path": "...",          append timestamped lines here
 *     "result_path": "...",       write the result here (atomically)
 *     "xcom_path": "...",         exported as WEIR_XCOM_FILE
 *     "invalid_exit_code": int | null,
 *     "branch": bool, "downstream": ["task", ...]   (branch tasks)
 *     "sensor": null | {"mode": "poke"|"reschedule",
 *                       "poke_interval_ms": int, "deadline_us": int},
 *     "deadline_us": int | null,  execution_timeout as an absolute
 *                                 wall-clock instant (us since epoch)
 *     "limits": {...} | null,
 *     "xcom_max_bytes": int,
 *     "secrets": ["..."]          values to mask as *** in the log
 *   }
 *
 * THE RESULT (one JSON object; written to result_path via a temporary
 * file + rename, then as one line on the report fd)
 *   {
 *     "attempt_id": "uuid",
 *     "outcome": "success" | "failed" | "skipped" | "invalid" | "reschedule",
 *     "exit_code": int | null,   the operator's process exit code, if any
 *     "message": "..." | null,   why it failed, in one line
 *     "xcom": {"KEY": value},    outputs (each at most xcom_max_bytes)
 *     "branch": ["task", ...] | null,   chosen downstream tasks
 *     "next_poke_us": int | null,       reschedule: when to poke again
 *     "started_us": int, "ended_us": int
 *   }
 *
 * FILE DESCRIPTORS
 *   --report-fd: write end of a pipe to the starter; the result line is
 *       written there last.  EPIPE is ignored (the starter may be gone: the
 *       result file is what a restarted scheduler reads).
 *   --lock-fd: a file the starter flock()ed before starting us; we inherit
 *       the lock and hold it until exit, and write our pid into it at
 *       start.  A starter that restarts after a crash learns "the try is
 *       still running" from the lock being held, with no race window.
 *
 * THE LOG
 *   One line per output line:  2026-11-23T10:00:00.123456Z OUT text
 *   streams: OUT (stdout), ERR (stderr), WEIR (the runner and scheduler).
 *
 * EXIT STATUS: 0 when a result was written (whatever the outcome);
 * non-zero only when the runner itself failed before it could write one.
 *
 * XCOM: a task publishes outputs by printing lines `::xcom KEY=JSON` on
 * stdout, or by writing a JSON object to $WEIR_XCOM_FILE.  A branch task
 * names the downstream tasks to follow with XCom key "branch" (a task id
 * or a list of them).  XCom key "result" of a run becomes its order result.
 */
#ifndef WEIR_TASKRUN_H
#define WEIR_TASKRUN_H

#include <jansson.h>

#include "common/buf.h"

#define WEIR_SPEC_VERSION 1

/*
 * Runs one task as described by spec (borrowed): renders templates, runs
 * the operator, writes the log and the result.  report_fd may be -1.
 * Returns the result (new reference); never NULL.
 */
json_t *weir_taskrun(json_t *spec, int report_fd);

/* `weir task run ...` */
int weir_taskrun_main(int argc, char **argv);

#endif
