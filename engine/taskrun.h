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
 *                       "poke_interval_ms": int, "deadline_us": int,
 *                       "timeout_us": int (optional, for messages)},
 *     "deadline_us": int | null,  execution_timeout as an absolute
 *                                 wall-clock instant (us since epoch)
 *     "execution_timeout_us": int (optional, for messages),
 *     "limits": {...} | null,
 *     "executor": "local" | "container" | "amqp"  (absent: local),
 *     "container": {              executor container (container.h):
 *        "rootfs" | "image", "mounts", "network", "user", "hostname",
 *        "limits" (as in the DAG), "runtime", "cache_dir"
 *     },
 *     "xcom_max_bytes": int,
 *     "secrets": ["..."],         values to mask as *** in the log
 *     "connections": {"NAME": {...}},  the connections the config names
 *                                 (engine/connections.h; may be absent)
 *     "weir_database_url": "...", weir's own database, for operators
 *                                 with needs_store only (optional)
 *     "dag_file": "..."           the DAG's file (optional)
 *   }
 * weir_spec_build() (engine/spec.h) builds it from the DAG model and
 * defines where the files of a try live.
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
 *   Lines longer than 64 KiB are split; a last line without a newline is
 *   logged too; every string of "secrets" is written as ***.
 *
 * THE ENVIRONMENT of the task's processes: the runner's, minus WEIR_*
 *   (the starter's settings, e.g. a database URL, are none of the task's
 *   business), plus the task's env, plus WEIR_XCOM_FILE, WEIR_RUN_DIR,
 *   WEIR_DAG_ID, WEIR_RUN_ID, WEIR_TASK_ID, WEIR_TRY_NUMBER,
 *   WEIR_ATTEMPT_ID.  Templates see the same variables as {{ env.NAME }}.
 *
 * STOPPING: SIGTERM (or SIGINT, SIGHUP) to the runner makes it SIGTERM
 *   the task's process group, SIGKILL it 5 s later, and write a "failed"
 *   result with message "stopped by SIGTERM".  A starter that wants a
 *   recorded outcome signals the runner and waits more than 5 s before it
 *   sends SIGKILL.  When the try ends, no process it started is left
 *   (process group + PR_SET_CHILD_SUBREAPER; docs/internals/taskrun.md).
 *
 * EXIT STATUS: 0 when a result was written (whatever the outcome; an
 * unusable spec with a result_path still gets a "failed" result saying
 * why); 1 when the runner could not write one (unreadable spec, a spec
 * for another try than the command line names, result file not
 * writable); 2 for usage errors.  Diagnostics go to stderr.
 *
 * XCOM: a task publishes outputs by printing lines `::xcom KEY=JSON` on
 * stdout, or by writing a JSON object to $WEIR_XCOM_FILE (read after the
 * operator returns; its keys win over lines; a file left by an earlier
 * attempt is deleted before the operator runs).  Keys match
 * [A-Za-z_][A-Za-z0-9_-]{0,99}; each value is at most xcom_max_bytes of
 * compact JSON; at most 1000 keys; the file at most 16 MiB.  A bad line,
 * key, value or file fails the try (unless it is already INVALID).  A
 * branch task names the downstream tasks to follow with XCom key "branch"
 * (a task id or a list of them, each in "downstream"; [] skips them all).
 * XCom key "result" of a run becomes its order result.
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
 *
 * In-process callers (`weir tasks test`, tests): for the duration of the
 * call it replaces the SIGTERM/SIGINT/SIGHUP/SIGPIPE dispositions and
 * sets PR_SET_CHILD_SUBREAPER, restoring both before it returns; the
 * caller's existing children are left alone.  One call at a time per
 * process; not thread-safe.
 */
json_t *weir_taskrun(json_t *spec, int report_fd);

/* `weir task run ...` */
int weir_taskrun_main(int argc, char **argv);

/*
 * `weir-task --standby=FD`: a pooled runner, started ahead of time so that
 * the exec of the runner is not on a task's critical path.  It waits on FD
 * (a SOCK_SEQPACKET unix socket from the scheduler) for a message and runs
 * that try exactly as `weir-task` with those arguments would:
 *
 *   data:    the arguments, each NUL-terminated:
 *            DAG RUN TASK --try N --attempt UUID --spec FILE   (at most 64 KiB)
 *   control: SCM_RIGHTS with exactly two fds: the report pipe's write end
 *            and the try's lock file (flock()ed by the sender; the lock is
 *            held by the message in flight, then by us)
 *
 * The runner adds --report-fd and --lock-fd for the received fds.  Its
 * result carries "runner_stays": true (no stop signal arrived): after the
 * report line it closes both fds and waits for the next message.  EOF
 * (the scheduler closed its end, or died): returns 0.  A try that ended
 * without that offer: returns its exit code.  A malformed message: closes
 * what it received and returns 1.  Between tries it runs no task code and
 * holds no try's files, so an idle runner is not a task process.
 */
int weir_taskrun_standby(int fd);

#endif
