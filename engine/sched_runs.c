/*
 * sched_runs.c: runs and task instances in the scheduler.
 *
 * Readiness is event-driven.  Each task instance keeps a tally of its
 * finished direct upstream tasks; when a task finishes, only its
 * downstream tasks are looked at (weir_trigger_decide on their tally).
 * A decision to run puts the task in the ready heap (sched_exec.c); skip
 * and upstream_failed decisions finish the task at once and propagate
 * further, through a worklist (no recursion, so long chains cannot
 * overflow the stack).
 *
 * Every change goes into s->batch with its expected "from" state; the
 * commit in before_sleep makes them durable together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/sched_int.h"

/* ------------------------------------------------------------------ */
/* task instance state changes                                          */
/* ------------------------------------------------------------------ */

void sched_run_mark_dirty(struct weir_sched *s, struct sched_run *r)
{
	if (r->dirty)
		return;
	r->dirty = true;
	weir_vec_push(&s->dirty, r->pk);
}

/*
 * Moves a task instance to `to`, recording the change in the batch.  The
 * "from" of the recorded change is the state the database holds, which
 * differs from the in-memory state only for "scheduled" kept in memory.
 */
void sched_ti_set(struct weir_sched *s, struct sched_run *r, uint32_t task, enum weir_ti_state to,
		  const char *reason, struct weir_sop **op_out)
{
	struct sched_ti *ti = &r->ti[task];
	enum weir_ti_state from = ti->state;
	struct weir_sop *op;

	if (!ti->state_recorded && from == WEIR_TI_SCHEDULED)
		from = ti->db_state;
	op = weir_batch_ti_state(&s->batch, r->pk, r->dag->tasks[task].id, from, to, reason,
				 weir_now_us());
	if (from == WEIR_TI_QUEUED || from == WEIR_TI_RUNNING) {
		op->u.ti_state.fenced = true;
		op->u.ti_state.fence = ti->attempt;
	}
	ti->state = to;
	ti->db_state = to;
	ti->state_recorded = true;
	sched_run_mark_dirty(s, r);
	if (to != WEIR_TI_RUNNING && to != WEIR_TI_SCHEDULED)
		s->urgent = true;
	if (op_out)
		*op_out = op;
}

static bool finished(enum weir_ti_state st)
{
	return weir_ti_state_finished(st);
}

/* Applies a trigger decision to a task still waiting for its upstream. */
static void decide(struct weir_sched *s, struct sched_run *r, uint32_t task, uint32_t *work,
		   size_t *nwork)
{
	struct sched_ti *ti = &r->ti[task];
	enum weir_trigger_decision d;

	if (ti->state != WEIR_TI_NONE || r->stopping)
		return;
	d = weir_trigger_decide(r->dag->tasks[task].trigger_rule, &ti->tally);
	/* A callback that does not apply (on_success of a failed run) is
	 * skipped, not upstream_failed: nothing went wrong with it. */
	if (d == WEIR_DECIDE_UPSTREAM_FAILED && r->dag->tasks[task].callback)
		d = WEIR_DECIDE_SKIP;
	switch (d) {
	case WEIR_DECIDE_WAIT:
		return;
	case WEIR_DECIDE_RUN:
		ti->state = WEIR_TI_SCHEDULED; /* recorded lazily (sched_commit) */
		ti->state_recorded = false;
		sched_ready_push(s, r, task);
		return;
	case WEIR_DECIDE_SKIP:
		sched_ti_set(s, r, task, WEIR_TI_SKIPPED, "trigger rule", NULL);
		break;
	case WEIR_DECIDE_UPSTREAM_FAILED:
		sched_ti_set(s, r, task, WEIR_TI_UPSTREAM_FAILED, "an upstream task failed", NULL);
		break;
	}
	work[(*nwork)++] = task;
}

/*
 * A task instance reached a finished state: count it, tell its downstream
 * tasks, and propagate skips/upstream failures.  Branch tasks skip the
 * downstream tasks they did not choose.
 */
static void propagate(struct weir_sched *s, struct sched_run *r, uint32_t first, json_t *branch)
{
	const struct weir_dag *dag = r->dag;
	uint32_t *work = weir_xmalloc(((size_t)dag->ntasks + 1) * sizeof(uint32_t));
	size_t nwork = 0;

	work[nwork++] = first;
	while (nwork) {
		uint32_t u = work[--nwork];
		const struct weir_task *t = &dag->tasks[u];
		enum weir_ti_state st = r->ti[u].state;

		r->unfinished--;
		for (uint32_t e = 0; e < t->n_downstream; e++) {
			uint32_t v = t->downstream[e];
			struct sched_ti *vt = &r->ti[v];
			if (u == first && branch && st == WEIR_TI_SUCCESS) {
				bool chosen = false;
				size_t i;
				json_t *x;
				json_array_foreach(branch, i, x) {
					if (json_is_string(x) && !strcmp(json_string_value(x), dag->tasks[v].id))
						chosen = true;
				}
				if (!chosen) {
					if (vt->state == WEIR_TI_NONE) {
						sched_ti_set(s, r, v, WEIR_TI_SKIPPED, "not chosen by the branch", NULL);
						work[nwork++] = v;
					}
					continue;
				}
			}
			weir_tally_add(&vt->tally, st);
			decide(s, r, v, work, &nwork);
		}
	}
	free(work);
	sched_run_maybe_finish(s, r);
}

void sched_ti_finished(struct weir_sched *s, struct sched_run *r, uint32_t task)
{
	propagate(s, r, task, NULL);
}

/* ------------------------------------------------------------------ */
/* outcomes of tries                                                    */
/* ------------------------------------------------------------------ */

json_t *sched_run_xcom(struct weir_sched *s, struct sched_run *r)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char pk[32];
	const char *p[1] = {pk};

	if (r->xcom)
		return r->xcom;
	snprintf(pk, sizeof(pk), "%lld", (long long)r->pk);
	if (weir_store_query_json(s->st, "xcom.run_object", 1, p, &r->xcom, &err) < 0) {
		weir_warn("run %s: could not load XComs: %s", r->run_id, err.buf);
		r->xcom = NULL;
	}
	if (!json_is_object(r->xcom)) {
		json_decref(r->xcom);
		r->xcom = json_object();
	}
	weir_buf_release(&err);
	return r->xcom;
}

int64_t sched_retry_delay_us(const struct sched_run *r, uint32_t task, int try_number)
{
	const struct weir_task *t = &r->dag->tasks[task];
	int64_t delay = t->retry_delay_us, cap = t->max_retry_delay_us ? t->max_retry_delay_us : WEIR_US_PER_DAY;

	if (t->retry_exponential_backoff && try_number > 1) {
		/* delay * 2^(try-1), plus a deterministic jitter of up to a
		 * quarter of it (hash of dag, task, run, try), capped. */
		uint64_t h = 1469598103934665603ULL;
		const char *parts[3] = {r->dag->id, t->id, r->run_id};
		for (int i = 0; i < try_number - 1 && delay < cap; i++)
			delay *= 2;
		for (int p = 0; p < 3; p++)
			for (const char *c = parts[p]; *c; c++)
				h = (h ^ (unsigned char)*c) * 1099511628211ULL;
		h = (h ^ (uint64_t)try_number) * 1099511628211ULL;
		if (delay > 0)
			delay += (int64_t)(h % (uint64_t)(delay / 4 + 1));
	}
	return delay > cap ? cap : delay;
}

static int64_t retry_due(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct sched_ti *ti = arg;
	struct sched_run *r = ti->run;
	struct weir_sched *s = r->sd->s;

	(void)loop;
	if (ti->timer != id)
		return WEIR_LOOP_NOMORE;
	ti->timer = 0;
	if ((ti->state == WEIR_TI_UP_FOR_RETRY || ti->state == WEIR_TI_UP_FOR_RESCHEDULE) && !r->stopping) {
		ti->db_state = ti->state;
		ti->state = WEIR_TI_SCHEDULED;
		ti->state_recorded = false;
		sched_ready_push(s, r, ti->idx);
	}
	return WEIR_LOOP_NOMORE;
}

/* Arms the timer of an up_for_retry / up_for_reschedule instance. */
static void arm_wait(struct weir_sched *s, struct sched_run *r, uint32_t task)
{
	struct sched_ti *ti = &r->ti[task];
	int64_t ms = (ti->next_at - weir_now_us()) / 1000;

	if (ti->timer)
		weir_timer_del(s->loop, ti->timer);
	ti->timer = weir_timer_add(s->loop, ms > 0 ? ms : 0, retry_due, ti);
}

void sched_ti_outcome(struct weir_sched *s, struct sched_try *t, const char *outcome,
		      const char *message, json_t *xcom, json_t *branch, int64_t next_poke_us,
		      int exit_code, bool has_exit_code)
{
	struct sched_run *r = t->run;
	struct sched_ti *ti = &r->ti[t->task];
	const struct weir_task *task = &r->dag->tasks[t->task];
	struct weir_sop *op;
	enum weir_ti_state to;
	const char *k;
	json_t *v;
	bool done = false;

	if (!weir_uuid_eq(&ti->attempt, &t->attempt) ||
	    (ti->state != WEIR_TI_QUEUED && ti->state != WEIR_TI_RUNNING)) {
		sched_log_try(s, t, "result of a superseded try ignored (task is now %s)",
			      weir_ti_state_name(ti->state));
		return;
	}
	sched_try_record_running(s, t);
	/* Outputs first: they are fenced by the attempt like the state.  A
	 * task without outputs gets no entry (as after a reload): the specs
	 * of a long chain must not grow with every task. */
	if (json_is_object(xcom) && json_object_size(xcom)) {
		json_t *mine = json_object_get(sched_run_xcom(s, r), task->id);
		if (!mine) {
			mine = json_object();
			json_object_set_new(sched_run_xcom(s, r), task->id, mine);
		}
		json_object_foreach(xcom, k, v) {
			weir_batch_xcom(&s->batch, r->pk, task->id, &t->attempt, k, json_incref(v));
			json_object_set(mine, k, v);
		}
	}
	if (!strcmp(outcome, "success")) {
		to = WEIR_TI_SUCCESS;
	} else if (!strcmp(outcome, "skipped")) {
		to = WEIR_TI_SKIPPED;
	} else if (!strcmp(outcome, "reschedule") && !r->stopping) {
		to = WEIR_TI_UP_FOR_RESCHEDULE;
	} else if (!strcmp(outcome, "invalid")) {
		to = WEIR_TI_FAILED;
		if (!r->invalid)
			weir_info("run %s of %s: task %s declared the input invalid", r->run_id, r->dag->id, task->id);
		r->invalid = true;
	} else if (ti->try_number < ti->max_tries && !r->stopping) {
		to = WEIR_TI_UP_FOR_RETRY;
	} else {
		to = WEIR_TI_FAILED;
	}
	sched_ti_set(s, r, t->task, to, message, &op);
	if (has_exit_code) {
		op->u.ti_state.has_exit_code = true;
		op->u.ti_state.exit_code = exit_code;
	}
	if (to == WEIR_TI_UP_FOR_RETRY) {
		ti->next_at = weir_now_us() + sched_retry_delay_us(r, t->task, ti->try_number);
		op->u.ti_state.next_at = ti->next_at;
		arm_wait(s, r, t->task);
	} else if (to == WEIR_TI_UP_FOR_RESCHEDULE) {
		ti->next_at = next_poke_us > 0 ? next_poke_us : weir_now_us() + task->poke_interval_us;
		op->u.ti_state.next_at = ti->next_at;
		arm_wait(s, r, t->task);
	} else {
		done = true;
	}
	if (r->invalid && !r->stopping)
		sched_run_abort(s, r, "the run's input is invalid");
	if (done)
		propagate(s, r, t->task, task->branch ? branch : NULL);
}

/* ------------------------------------------------------------------ */
/* runs                                                                 */
/* ------------------------------------------------------------------ */

/* A run by pk among the live (not retired) ones. */
struct sched_run *sched_run_find(struct weir_sched *s, int64_t pk)
{
	size_t i = 0;
	const char *k;
	void *v;

	while (weir_hmap_next(&s->dags, &i, &k, &v)) {
		struct sched_dag *sd = v;
		struct weir_list *pos;
		weir_list_foreach(pos, &sd->runs) {
			struct sched_run *r = weir_list_entry(pos, struct sched_run, link);
			if (r->pk == pk)
				return r;
		}
	}
	return NULL;
}

static int64_t recheck(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct sched_run *r = arg;
	struct weir_sched *s = r->sd->s;

	(void)loop;
	(void)id;
	r->recheck_timer = 0;
	if (r->dirty) {
		s->urgent = true;
		sched_commit(s); /* the reload must not lose pending changes */
	}
	if (!r->retired)
		sched_run_reload(s, r);
	return WEIR_LOOP_NOMORE;
}

/* Reloads the run after ms (a try runs on another host: look again when
 * its heartbeat would be stale). */
void sched_run_recheck_at(struct weir_sched *s, struct sched_run *r, int64_t ms)
{
	if (r->recheck_timer)
		return;
	r->recheck_timer = weir_timer_add(s->loop, ms > 0 ? ms : 0, recheck, r);
}

void sched_run_retire(struct weir_sched *s, struct sched_run *r)
{
	struct weir_list *pos;

	if (r->retired)
		return;
	r->retired = true;
	if (r->recheck_timer) {
		weir_timer_del(s->loop, r->recheck_timer);
		r->recheck_timer = 0;
	}
	for (uint32_t i = 0; r->ti && i < r->dag->ntasks; i++) {
		if (r->ti[i].timer) {
			weir_timer_del(s->loop, r->ti[i].timer);
			r->ti[i].timer = 0;
		}
	}
	sched_ready_forget(s, r);
	weir_list_foreach(pos, &s->tries) {
		struct sched_try *t = weir_list_entry(pos, struct sched_try, link);
		if (t->run == r)
			t->run = NULL; /* a done try waiting for the commit */
	}
	weir_list_remove(&r->link);
	weir_vec_push(&s->retired, r);
}

void sched_runs_reap(struct weir_sched *s)
{
	for (size_t i = 0; i < s->retired.n; i++) {
		struct sched_run *r = s->retired.v[i];
		weir_dag_unref(r->dag);
		json_decref(r->conf);
		json_decref(r->params);
		json_decref(r->xcom);
		free(r->ti);
		free(r->run_id);
		free(r->run_type);
		free(r->run_dir);
		free(r);
	}
	s->retired.n = 0;
}

/* Task instance rows for every task of the run's DAG. */
static void create_tis(struct weir_sched *s, struct sched_run *r, bool only_missing,
		       const bool *present)
{
	const struct weir_dag *dag = r->dag;
	struct weir_ti_new *tis = weir_xcalloc(dag->ntasks ? dag->ntasks : 1, sizeof(*tis));
	size_t n = 0;

	for (uint32_t i = 0; i < dag->ntasks; i++) {
		const struct weir_task *t = &dag->tasks[i];
		if (only_missing && present[i])
			continue;
		tis[n].task_id = t->id;
		tis[n].pool = t->pool;
		tis[n].pool_slots = t->pool_slots;
		tis[n].queue = t->queue;
		tis[n].priority = t->priority;
		tis[n].retries = t->retries;
		tis[n].executor = weir_executor_name(t->executor);
		n++;
	}
	if (n)
		weir_batch_tis_create(&s->batch, r->pk, SIZE_MAX, dag->id, tis, n);
	free(tis);
	s->urgent = true;
}

void sched_run_start(struct weir_sched *s, struct sched_run *r)
{
	struct sched_dag *sd = r->sd;

	if (r->state != WEIR_RUN_RECEIVED || !sd->owned || sd->paused || s->stopping)
		return;
	if (sd->nruns >= r->dag->max_active_runs)
		return; /* waits for a slot */
	weir_batch_run_state(&s->batch, r->pk, WEIR_RUN_RECEIVED, WEIR_RUN_QUEUED, NULL, NULL,
			     weir_now_us());
	r->state = WEIR_RUN_QUEUED;
	r->has_tis = true;
	sd->nruns++;
	create_tis(s, r, false, NULL);
	sched_run_mark_dirty(s, r);
	s->urgent = true;
	{
		uint32_t *work = weir_xmalloc(((size_t)r->dag->ntasks + 1) * sizeof(uint32_t));
		size_t nwork = 0;
		for (uint32_t i = 0; i < r->dag->ntasks; i++)
			decide(s, r, i, work, &nwork);
		/* Tasks finished by those decisions propagate like any. */
		while (nwork)
			propagate(s, r, work[--nwork], NULL);
		free(work);
	}
	sched_run_maybe_finish(s, r);
}

void sched_dag_start_waiting(struct weir_sched *s, struct sched_dag *sd)
{
	struct weir_list *pos, *tmp;

	weir_list_foreach_safe(pos, tmp, &sd->runs) {
		struct sched_run *r = weir_list_entry(pos, struct sched_run, link);
		if (r->state == WEIR_RUN_RECEIVED)
			sched_run_start(s, r);
	}
}

static json_t *run_result(struct weir_sched *s, struct sched_run *r)
{
	json_t *x = sched_run_xcom(s, r), *res = NULL;

	/* XCom "result": the topologically last task that wrote one wins. */
	for (uint32_t k = 0; k < r->dag->ntasks; k++) {
		const struct weir_task *t = &r->dag->tasks[r->dag->topo[k]];
		json_t *v = json_object_get(json_object_get(x, t->id), "result");
		if (v)
			res = v;
	}
	return res ? json_incref(res) : NULL;
}

void sched_run_maybe_finish(struct weir_sched *s, struct sched_run *r)
{
	struct sched_dag *sd = r->sd;
	enum weir_run_state to;

	if (r->retired || r->unfinished || r->live)
		return;
	if (!weir_run_state_terminal(r->state) && r->state != WEIR_RUN_RECEIVED) {
		enum weir_ti_state *st = weir_xmalloc(((size_t)r->dag->ntasks + 1) * sizeof(*st));
		for (uint32_t i = 0; i < r->dag->ntasks; i++)
			st[i] = r->ti[i].state;
		to = r->invalid ? WEIR_RUN_INVALID : weir_run_outcome(r->dag, st);
		free(st);
		if (r->state == WEIR_RUN_QUEUED)
			weir_batch_run_state(&s->batch, r->pk, WEIR_RUN_QUEUED, WEIR_RUN_RUNNING, NULL, NULL,
					     weir_now_us());
		weir_batch_run_state(&s->batch, r->pk, WEIR_RUN_RUNNING, to, NULL,
				     to == WEIR_RUN_SUCCESS ? run_result(s, r) : NULL, weir_now_us());
		weir_info("run %s of %s: %s", r->run_id, r->dag->id, weir_run_state_name(to));
		sched_run_mark_dirty(s, r);
		r->state = to;
		s->urgent = true;
		sd->nruns--;
	} else if (r->state == WEIR_RUN_RECEIVED) {
		return;
	}
	sched_run_retire(s, r);
	sched_dag_start_waiting(s, sd);
	sched_dag_schedule(s, sd);
}

/*
 * Stops a run: nothing more starts, waiting task instances are skipped,
 * running tries are killed (their instances fail when they exit).
 */
void sched_run_abort(struct weir_sched *s, struct sched_run *r, const char *reason)
{
	uint32_t *work;
	size_t nwork = 0;

	if (r->stopping)
		return;
	r->stopping = true;
	if (!r->has_tis) {
		/* Never started (RECEIVED): no task instance rows to touch. */
		r->unfinished = 0;
		sched_run_maybe_finish(s, r);
		return;
	}
	work = weir_xmalloc(((size_t)r->dag->ntasks + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < r->dag->ntasks; i++) {
		struct sched_ti *ti = &r->ti[i];
		if (ti->try) {
			sched_try_kill(s, ti->try, weir_run_state_terminal(r->state)
							   ? "abort"
							   : "another task declared the run's input invalid");
			continue;
		}
		if (ti->timer) {
			weir_timer_del(s->loop, ti->timer);
			ti->timer = 0;
		}
		if (ti->state == WEIR_TI_NONE || ti->state == WEIR_TI_SCHEDULED ||
		    ti->state == WEIR_TI_UP_FOR_RETRY || ti->state == WEIR_TI_UP_FOR_RESCHEDULE) {
			sched_ti_set(s, r, i, WEIR_TI_SKIPPED, reason, NULL);
			work[nwork++] = i;
		}
	}
	for (size_t k = 0; k < nwork; k++)
		r->unfinished--;
	free(work);
	sched_run_maybe_finish(s, r);
}

/* ------------------------------------------------------------------ */
/* loading                                                              */
/* ------------------------------------------------------------------ */

struct load_ctx {
	struct weir_sched *s;
	int64_t want_pk;
	bool found;
};

static struct sched_run *build_run(struct weir_sched *s, struct sched_dag *sd,
				   const struct weir_run_row *row)
{
	struct sched_run *r = weir_xcalloc(1, sizeof(*r));
	char *dir;

	r->sd = sd;
	r->dag = weir_dag_ref(sd->dag);
	r->pk = row->run_pk;
	r->order_id = row->order_id;
	r->run_id = weir_xstrdup(row->run_id);
	r->run_type = weir_xstrdup(row->run_type);
	r->state = row->state;
	r->conf = row->conf ? json_incref(row->conf) : json_object();
	r->params = row->params ? json_incref(row->params) : json_object();
	r->logical_date = row->logical_date;
	r->interval_start = row->interval_start;
	r->interval_end = row->interval_end;
	r->ti = weir_xcalloc(r->dag->ntasks ? r->dag->ntasks : 1, sizeof(*r->ti));
	r->unfinished = r->dag->ntasks;
	for (uint32_t i = 0; i < r->dag->ntasks; i++) {
		r->ti[i].run = r;
		r->ti[i].idx = i;
		r->ti[i].tally.total = r->dag->tasks[i].n_upstream;
		r->ti[i].state_recorded = true;
		r->ti[i].max_tries = r->dag->tasks[i].retries + 1;
	}
	dir = sched_try_path(s, r, UINT32_MAX, 0, NULL);
	r->run_dir = dir;
	return r;
}

static int on_run(void *arg, const struct weir_run_row *row)
{
	struct load_ctx *c = arg;
	struct weir_sched *s = c->s;
	struct sched_dag *sd = sched_dag_get(s, row->dag_id, false);
	struct sched_run *old = sched_run_find(s, row->run_pk), *r;
	bool *present;

	if (row->run_pk == c->want_pk)
		c->found = true;
	if (!sd || !sd->owned)
		return 0;
	if (!sd->dag) {
		weir_warn("run %s of DAG %s waits: the DAG has no valid definition", row->run_id, row->dag_id);
		return 0;
	}
	/* A full load never replaces a cached run: the cache may hold
	 * changes not yet committed.  Only an explicit reload of one run does
	 * (after its batch was discarded, or after the caller committed). */
	if (old && c->want_pk == 0)
		return 0;
	r = build_run(s, sd, row);
	weir_list_insert_tail(&sd->runs, &r->link);
	present = weir_xcalloc(r->dag->ntasks + 1, sizeof(bool));

	/* Task instances: states, tries, tallies. */
	for (size_t k = 0; k < row->nti; k++) {
		const struct weir_ti_row *tr = &row->tis[k];
		long i = weir_dag_task_index(r->dag, tr->task_id);
		struct sched_ti *ti;
		if (i < 0) {
			/* The DAG no longer has this task. */
			if (!weir_ti_state_finished(tr->state)) {
				weir_batch_ti_state(&s->batch, r->pk, tr->task_id, tr->state, WEIR_TI_REMOVED,
						    "task no longer in the DAG", weir_now_us());
				s->urgent = true;
			}
			continue;
		}
		present[i] = true;
		ti = &r->ti[i];
		ti->state = ti->db_state = tr->state;
		ti->try_number = tr->try_number;
		ti->max_tries = tr->max_tries;
		ti->attempt = tr->attempt;
		ti->next_at = tr->next_retry_at;
		ti->sensor_started = tr->sensor_started_at;
	}
	if (r->state != WEIR_RUN_RECEIVED) {
		bool missing = false;
		r->has_tis = true;
		for (uint32_t i = 0; i < r->dag->ntasks; i++)
			missing |= !present[i];
		if (missing)
			create_tis(s, r, true, present);
		if (r->state == WEIR_RUN_QUEUED || r->state == WEIR_RUN_RUNNING)
			sd->nruns++;
	}
	for (uint32_t i = 0; i < r->dag->ntasks; i++) {
		const struct weir_task *t = &r->dag->tasks[i];
		if (!finished(r->ti[i].state))
			continue;
		r->unfinished--;
		for (uint32_t e = 0; e < t->n_downstream; e++)
			weir_tally_add(&r->ti[t->downstream[e]].tally, r->ti[i].state);
	}
	/* Move live tries from the old copy of this run, if any. */
	if (old) {
		struct weir_list *pos, *tmp;
		weir_list_foreach_safe(pos, tmp, &s->tries) {
			struct sched_try *t = weir_list_entry(pos, struct sched_try, link);
			if (t->run != old)
				continue;
			t->run = r;
			if (t->done)
				continue; /* replayed by the caller (sched_commit) */
			r->live++;
			if (weir_uuid_eq(&r->ti[t->task].attempt, &t->attempt) &&
			    (r->ti[t->task].state == WEIR_TI_QUEUED || r->ti[t->task].state == WEIR_TI_RUNNING)) {
				r->ti[t->task].try = t;
				t->running_recorded = r->ti[t->task].state == WEIR_TI_RUNNING;
				if (t->spawned)
					sched_try_record_running(s, t);
			} else {
				/* Someone else decided this task meanwhile. */
				sched_try_kill(s, t, "superseded");
			}
		}
		if (old->sd == sd && !weir_run_state_terminal(old->state) && old->state != WEIR_RUN_RECEIVED)
			sd->nruns--;
		old->live = 0;
		sched_run_retire(s, old);
	}
	/* Now decide what every unfinished instance needs. */
	for (uint32_t i = 0; i < r->dag->ntasks; i++) {
		struct sched_ti *ti = &r->ti[i];
		switch (ti->state) {
		case WEIR_TI_SCHEDULED:
			sched_ready_push(s, r, i);
			break;
		case WEIR_TI_UP_FOR_RETRY:
		case WEIR_TI_UP_FOR_RESCHEDULE:
			arm_wait(s, r, i);
			break;
		case WEIR_TI_QUEUED:
		case WEIR_TI_RUNNING:
			if (!ti->try) {
				for (size_t k = 0; k < row->nti; k++)
					if (!strcmp(row->tis[k].task_id, r->dag->tasks[i].id))
						sched_recover_try(s, r, i, &row->tis[k]);
			}
			break;
		default:
			break;
		}
	}
	free(present);
	if (r->state == WEIR_RUN_RECEIVED) {
		sched_run_start(s, r);
	} else if (r->state == WEIR_RUN_QUEUED || r->state == WEIR_RUN_RUNNING) {
		uint32_t *work = weir_xmalloc(((size_t)r->dag->ntasks + 1) * sizeof(uint32_t));
		size_t nwork = 0;
		for (uint32_t i = 0; i < r->dag->ntasks; i++)
			decide(s, r, i, work, &nwork);
		while (nwork)
			propagate(s, r, work[--nwork], NULL);
		free(work);
		if (row->abort_requested)
			sched_run_abort(s, r, "abort requested");
		sched_run_maybe_finish(s, r);
	}
	return 0;
}

/*
 * Loads unfinished runs of owned DAGs from the database: all of them
 * (run_pk 0) or one.  A loaded run replaces its cached copy; when a
 * cached run is not found any more it has finished elsewhere (aborted,
 * or marked): its processes are stopped and it is dropped.
 */
int sched_runs_load(struct weir_sched *s, int64_t run_pk, struct weir_buf *err)
{
	struct load_ctx c = {s, run_pk, false};
	int rc;

	rc = weir_store_load_runs(s->st, run_pk, run_pk > 0 ? NULL : &s->id, on_run, &c, err);
	if (rc < 0)
		return rc;
	if (run_pk > 0 && !c.found) {
		struct sched_run *r = sched_run_find(s, run_pk);
		if (r) {
			bool was_active = !weir_run_state_terminal(r->state) && r->state != WEIR_RUN_RECEIVED;
			weir_info("run %s of %s finished outside this scheduler; stopping it", r->run_id,
				  r->dag->id);
			if (was_active)
				r->sd->nruns--;
			r->state = WEIR_RUN_ABORTED;
			sched_run_abort(s, r, "run aborted");
		}
	}
	return 0;
}

void sched_run_reload(struct weir_sched *s, struct sched_run *r)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	r->dirty = true;
	if (sched_runs_load(s, r->pk, &err) < 0)
		weir_error("could not reload run %lld: %s", (long long)r->pk, err.buf);
	weir_buf_release(&err);
}
