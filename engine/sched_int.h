/*
 * sched_int.h: the scheduler's private structures (engine/sched*.c).
 *
 * Memory model: the database is the truth; these structures are a cache
 * of the rows this scheduler drives, plus the changes of the current loop
 * iteration that are not yet committed (s->batch).  Invariant: for every
 * cached object, "database row + uncommitted ops of s->batch" equals the
 * cached state.  When a commit fails with a lost race, the runs it touched
 * are dropped from the cache and reloaded (sched_run_reload), and the
 * facts the database does not know yet (tries that exited, processes that
 * started) are replayed onto the fresh state.
 *
 *   struct sched_dag   one per DAG id seen in the folder or owned;
 *                      owns the list of its unfinished runs
 *   struct sched_run   an unfinished run (or a finished one whose task
 *                      processes are still being stopped)
 *   struct sched_ti    a task instance of a run: state, try, upstream tally
 *   struct sched_try   a task process (live, or exited but not recorded)
 *
 * Nothing forks before the commit that records its "queued" state and new
 * attempt id: s->spawn lists the tries to start after the next commit.
 */
#ifndef WEIR_SCHED_INT_H
#define WEIR_SCHED_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/hmap.h"
#include "common/list.h"
#include "common/vec.h"
#include "engine/dag.h"
#include "engine/loop.h"
#include "engine/sched.h"
#include "engine/state.h"
#include "engine/store.h"
#include "engine/trigger.h"
#include "engine/uuid.h"

struct sched_run;
struct sched_try;

/* An entry of the ready heap: a task instance waiting for a slot. */
struct ready {
	int64_t priority;
	uint64_t seq;
	struct sched_run *run;
	uint32_t task;
};


struct sched_dag {
	struct weir_sched *s;
	char *id;
	struct weir_dag *dag;     /* last valid version (ref), or NULL */
	char *file;               /* where it was loaded from */
	bool owned;               /* we drive it */
	bool paused;
	bool active;              /* file present and valid */
	int64_t last_interval_end; /* last scheduled interval created (us) */
	uint64_t cron_timer;
	struct weir_list runs;    /* struct sched_run.link */
	int nruns;                /* runs in RECEIVED/QUEUED/RUNNING */
	int active_tasks;         /* tries queued or running */
	WEIR_VEC(struct ready) blocked; /* ready work held back by max_active_tasks */
};

struct sched_ti {
	struct sched_run *run;    /* back-pointers: a task instance is its own */
	uint32_t idx;             /* timer argument */
	enum weir_ti_state state;
	enum weir_ti_state db_state; /* what the database holds (with the batch) */
	int try_number;
	int max_tries;
	struct weir_uuid attempt;
	struct weir_tally tally;  /* finished direct upstream tasks */
	bool state_recorded;      /* state is in the database or the batch
				     (false: "scheduled" kept in memory only) */
	bool in_heap;             /* in the ready heap or a blocked list */
	struct sched_try *try;    /* the live/unrecorded process, or NULL */
	uint64_t timer;           /* retry / reschedule timer */
	int64_t next_at;          /* when up_for_retry/reschedule is due (us) */
	int64_t sensor_started;   /* first poke of the current try (us) */
	uint64_t ready_seq;       /* FIFO order among equal priorities */
};

struct sched_run {
	struct weir_list link;    /* in sd->runs */
	struct sched_dag *sd;
	struct weir_dag *dag;     /* the version this run uses (ref) */
	int64_t pk;
	struct weir_uuid order_id;
	char *run_id;
	char *run_type;
	enum weir_run_state state;
	json_t *conf, *params;
	int64_t logical_date, interval_start, interval_end;
	struct sched_ti *ti;      /* dag->ntasks */
	uint32_t unfinished;      /* task instances not finished */
	uint32_t live;            /* task processes alive or unrecorded */
	json_t *xcom;             /* {task: {key: value}}, or NULL until loaded */
	bool invalid;             /* a task reported INVALID */
	bool has_tis;             /* its task instance rows exist (QUEUED or later) */
	bool stopping;            /* aborted/invalid: start nothing more */
	bool dirty;               /* touched by the pending batch */
	bool retired;             /* detached from everything; freed at the end
				     of before_sleep (never inside a callback) */
	uint64_t recheck_timer;   /* reload when a remote try's heartbeat goes stale */
	char *run_dir;
};

/* A pooled task runner, `weir-task --standby=FD` (taskrun.h). */
struct sched_runner {
	int fd;                   /* our end of its socket; -1 = none */
	pid_t pid;
	unsigned long long ticks; /* its start time (for task_tries) */
	int tries;                /* handed to it so far */
	int64_t idle_since;       /* monotonic us, while in s->idle */
};

struct sched_try {
	struct weir_list link;    /* in s->tries */
	struct sched_run *run;    /* NULL once the run was freed (done tries) */
	int64_t run_pk;
	char *task_id;
	uint32_t task;
	int try_number;
	struct weir_uuid attempt;
	pid_t pid;
	int report_fd;            /* -1 when closed */
	char *exec_error;         /* why the start failed, if it did */
	char *lost_reason;        /* why a try of another host is declared lost */
	struct weir_buf report;   /* bytes read from the report pipe */
	int64_t started_us;       /* wall clock */
	unsigned long long start_ticks;
	struct sched_runner runner; /* the pooled runner it was handed to (fd -1: none) */
	/* made ready before its commit (sched_spawn_prepare), used after */
	bool prepared;
	json_t *spec;             /* built before the commit (it may query the
				     store, which is busy during it) */
	int lock_fd, report_w;    /* the flock()ed lock, the report pipe's write end */
	uint64_t timeout_timer, kill_timer, poll_timer;
	bool spawned, exited, adopted, running_recorded;
	bool done;                /* outcome decided; freed after the next commit,
				     replayed if that commit fails */
	int status;               /* wait status when exited */
	const char *kill_reason;  /* why we killed it (timeout, abort, ...) */
	/* the outcome, kept for replay */
	json_t *result;           /* parsed result, or NULL */
	const char *outcome;
	char *message;
	int exit_code;
	bool has_exit_code;
};

struct pool {
	char *name;
	int slots;                /* -1: unlimited */
	int used;
	WEIR_VEC(struct ready) blocked;
	bool warned;
};

struct sched_watch {
	int wd;
	char *dir;
};

struct weir_sched {
	struct weir_sched_opts o;
	struct weir_loop *loop;
	struct weir_store *st;
	struct weir_uuid id;
	char hostname[256];
	char *logs_dir;

	struct weir_hmap dags;    /* id -> struct sched_dag */
	struct weir_hmap files;   /* file path -> dag id (char *, owned) */
	struct weir_hmap pools;   /* name -> struct pool */
	int live_schedulers;

	struct weir_batch batch;  /* this iteration's changes */
	bool urgent;              /* batch must be committed before sleeping */
	struct weir_batch retry;  /* a batch that failed to commit (ECONN) */
	bool have_retry;
	uint64_t flush_timer;

	WEIR_VEC(struct ready) heap;
	uint64_t ready_seq;
	WEIR_VEC(struct sched_try *) spawn; /* start after the next commit */
	WEIR_VEC(int64_t) dirty;  /* runs touched by the batch (pks) */
	WEIR_VEC(struct sched_run *) retired; /* detached; freed after the commit */
	struct weir_list tries;   /* every struct sched_try */
	int live;                 /* task processes counted against parallelism */

	int sigchld_fd, inotify_fd, store_fd;
	/* idle task runners (sched_exec.c): started ahead or back from a
	 * try, waiting on their socket; the newest last */
	WEIR_VEC(struct sched_runner) idle;
	WEIR_VEC(char *) changed; /* DAG files changed (inotify), debounced */
	WEIR_VEC(struct sched_watch) watches;
	uint64_t rescan_timer;
	bool stopping;
	bool need_resync;         /* database connection was lost: reload */
	uint64_t notifications;   /* database notifications taken so far */
	volatile int stop_requested;

	/* stats for /metrics */
	int64_t loop_us_max, loop_us_sum, loops;
	int64_t lag_us_max;
};

/* sched.c */
void sched_commit(struct weir_sched *s);
void sched_log_try(struct weir_sched *s, struct sched_try *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
char *sched_try_path(struct weir_sched *s, struct sched_run *r, uint32_t task, int try_number,
		     const char *suffix);

/* sched_dags.c */
int sched_dags_scan(struct weir_sched *s, struct weir_buf *err);
int sched_dags_claim(struct weir_sched *s, struct weir_buf *err);
void sched_dags_changed(struct weir_sched *s);
void sched_dag_schedule(struct weir_sched *s, struct sched_dag *sd);
struct sched_dag *sched_dag_get(struct weir_sched *s, const char *id, bool create);
void sched_dag_set_paused(struct weir_sched *s, struct sched_dag *sd, bool paused);
int sched_inotify_setup(struct weir_sched *s);
void sched_inotify_read(struct weir_loop *loop, int fd, int mask, void *arg);

/* sched_runs.c */
int sched_runs_load(struct weir_sched *s, int64_t run_pk, struct weir_buf *err);
void sched_run_start(struct weir_sched *s, struct sched_run *r);
void sched_run_reload(struct weir_sched *s, struct sched_run *r);
void sched_run_abort(struct weir_sched *s, struct sched_run *r, const char *reason);
void sched_run_maybe_finish(struct weir_sched *s, struct sched_run *r);
/* Detaches r (from its DAG, the heap, timers, tries); freed later. */
void sched_run_retire(struct weir_sched *s, struct sched_run *r);
/* Frees retired runs: only from sched_commit's end and shutdown. */
void sched_runs_reap(struct weir_sched *s);
struct sched_run *sched_run_find(struct weir_sched *s, int64_t pk);
void sched_dag_start_waiting(struct weir_sched *s, struct sched_dag *sd);
void sched_ti_set(struct weir_sched *s, struct sched_run *r, uint32_t task,
		  enum weir_ti_state to, const char *reason, struct weir_sop **op_out);
void sched_ti_finished(struct weir_sched *s, struct sched_run *r, uint32_t task);
void sched_ti_outcome(struct weir_sched *s, struct sched_try *t, const char *outcome,
		      const char *message, json_t *xcom, json_t *branch, int64_t next_poke_us,
		      int exit_code, bool has_exit_code);
json_t *sched_run_xcom(struct weir_sched *s, struct sched_run *r);
void sched_run_mark_dirty(struct weir_sched *s, struct sched_run *r);

/* sched_exec.c */
void sched_ready_push(struct weir_sched *s, struct sched_run *r, uint32_t task);
void sched_dispatch(struct weir_sched *s);
void sched_spawn_pending(struct weir_sched *s);
void sched_standby_start(struct weir_sched *s);
void sched_runners_close(struct weir_sched *s);
void sched_runners_trim(struct weir_sched *s);
void sched_spawn_specs(struct weir_sched *s);
void sched_spawn_prepare(void *s);
void sched_try_kill(struct weir_sched *s, struct sched_try *t, const char *reason);
void sched_sigchld(struct weir_loop *loop, int fd, int mask, void *arg);
int sched_recover_try(struct weir_sched *s, struct sched_run *r, uint32_t task,
		      const struct weir_ti_row *row);
void sched_pools_load(struct weir_sched *s);
void sched_release_slot(struct weir_sched *s, struct sched_run *r, uint32_t task);
int64_t sched_retry_delay_us(const struct sched_run *r, uint32_t task, int try_number);
void sched_try_free(struct weir_sched *s, struct sched_try *t);
void sched_try_record_running(struct weir_sched *s, struct sched_try *t);
void sched_run_recheck_at(struct weir_sched *s, struct sched_run *r, int64_t ms);
void sched_try_apply_outcome(struct weir_sched *s, struct sched_try *t);
void sched_ready_forget(struct weir_sched *s, struct sched_run *r);

#endif
