/*
 * check_weir.h: driving a real weir scheduler from a test.
 *
 * A weir_env is a fresh migrated database (check_pg_new_db), a home
 * directory and a DAG folder in the test's temp dir.  Schedulers are
 * started as child processes of the test (`$WEIR_BINARY scheduler`) and
 * stopped by pid; their output goes to HOME/scheduler-N.log.
 */
#ifndef WEIR_CHECK_WEIR_H
#define WEIR_CHECK_WEIR_H

#include <stdbool.h>
#include <sys/types.h>

struct weir_env {
	char db[512];     /* conninfo */
	char home[512];
	char dags[512];
	pid_t sched[4];   /* running schedulers, 0 = none */
	int nstarted;
};

void env_init(struct weir_env *e);
/* Writes DAGS/name (a DAG file). */
void env_dag(struct weir_env *e, const char *name, const char *yaml);
/* Starts scheduler slot i (extra: "NAME=VALUE" env entries, NULL-terminated). */
void env_start(struct weir_env *e, int i, const char *const *extra);
/* Stops slot i: SIGTERM and wait (kill9: SIGKILL). */
void env_stop(struct weir_env *e, int i, bool kill9);
void env_stop_all(struct weir_env *e);
/* Runs `weir ARGS...` with the env's settings; returns its exit status and
 * its stdout in *out (malloc'd, may be NULL). */
int env_weir(struct weir_env *e, char **out, const char *const *args);
/* Triggers DAG with conf (JSON or NULL) and run id; fails the test on error. */
void env_trigger(struct weir_env *e, const char *dag, const char *run_id, const char *conf);
/* Waits until the run is in a terminal state (or timeout_s); returns it (static). */
const char *env_wait_run(struct weir_env *e, const char *dag, const char *run_id, int timeout_s);
/* Runs SQL on the env's database; first value of first row (malloc'd) or NULL. */
char *env_sql(struct weir_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Waits until SQL returns "t" (or fails the test after timeout_s). */
void env_wait_sql(struct weir_env *e, int timeout_s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
