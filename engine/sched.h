/*
 * sched.h: the scheduler.
 *
 * Turns DAG files, cron schedules and triggers into runs and runs their
 * tasks as processes, with every state change in PostgreSQL.  It keeps only
 * caches: killing it at any instant loses nothing, and a restart resumes
 * from the database (adopting task processes that are still alive).  See
 * docs/internals/scheduler.md for the design and its invariants.
 */
#ifndef WEIR_SCHED_H
#define WEIR_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

struct weir_sched;
struct weir_store;

struct weir_sched_opts {
	const char *home;          /* WEIR_HOME: logs live under home/logs */
	const char *dags_folder;
	const char *weir_exe;      /* the binary started as `weir task run` */
	const char *task_exe;      /* the lean runner `weir-task`, or NULL */
	const char *database_url;  /* for operators that need the store
				      (trigger_dag, run_sensor); masked in logs */
	int parallelism;           /* task processes at once (>= 1) */
	int64_t heartbeat_timeout_ms;
	int64_t kill_grace_ms;     /* SIGTERM -> SIGKILL (default 5000) */
	int64_t tick_ms;           /* maintenance period (default 2000) */
	size_t xcom_max_bytes;
	int runner_max_tries;      /* tries one pooled runner runs (default 1000) */
	char container_runtime[16]; /* executor container: runc, crun or podman; "" = runc */
};

/* Takes ownership of st (closed by weir_sched_free). 0 or an error (err). */
int weir_sched_new(const struct weir_sched_opts *o, struct weir_store *st,
		   struct weir_sched **out, struct weir_buf *err);
/* Scans DAGs, claims them, recovers runs and tries.  0 or an error. */
int weir_sched_start(struct weir_sched *s, struct weir_buf *err);
/* Runs the loop until weir_sched_stop() (from a signal handler too). */
void weir_sched_run(struct weir_sched *s);
/* One loop iteration (tests). */
int weir_sched_run_once(struct weir_sched *s, bool wait);
/* Async-signal-safe. */
void weir_sched_stop(struct weir_sched *s);
void weir_sched_free(struct weir_sched *s);

#endif
