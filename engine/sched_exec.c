/*
 * sched_exec.c: the local executor: ready heap, slots, task processes.
 *
 * A ready task instance waits in a binary heap ordered by priority (then
 * FIFO).  dispatch() pops while the scheduler has free process slots
 * (parallelism); an instance whose pool or DAG is full waits in that pool's
 * or DAG's blocked list and goes back into the heap when a slot frees.
 *
 * Starting a try is two-phase: dispatch() records queued + a new attempt
 * id in the batch; only after that batch commits does spawn_pending()
 * start the runner.  So a crash can never leave a task process the
 * database does not know about.  The runner is usually the standby: a
 * `weir-task --standby` started ahead of time, idle, that takes the try's
 * arguments and fds over a socket (taskrun.h); its exec is then off the
 * task's critical path.  A standby runs nothing until that message, which
 * is sent after the commit, like a fork would be.  Each try has a lock file the scheduler
 * flock()s before the fork and the child inherits: after a crash, a held
 * lock means the try is alive (we adopt it), a free lock means it is gone
 * (its result file tells how it ended, if it got that far).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/connections.h"
#include "engine/container.h"
#include "engine/duration.h"
#include "engine/proc.h"
#include "engine/sched_int.h"
#include "engine/spec.h"

#define REPORT_MAX (64u << 20)

/* ------------------------------------------------------------------ */
/* the ready heap                                                       */
/* ------------------------------------------------------------------ */

static bool before(const struct ready *a, const struct ready *b)
{
	if (a->priority != b->priority)
		return a->priority > b->priority;
	return a->seq < b->seq;
}

static void heap_push(struct weir_sched *s, struct ready it)
{
	size_t i;

	weir_vec_push(&s->heap, it);
	i = s->heap.n - 1;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(&s->heap.v[i], &s->heap.v[p]))
			break;
		struct ready t = s->heap.v[i];
		s->heap.v[i] = s->heap.v[p];
		s->heap.v[p] = t;
		i = p;
	}
}

static struct ready heap_pop(struct weir_sched *s)
{
	struct ready top = s->heap.v[0];
	size_t i = 0, n = --s->heap.n;

	s->heap.v[0] = s->heap.v[n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && before(&s->heap.v[l], &s->heap.v[m]))
			m = l;
		if (r < n && before(&s->heap.v[r], &s->heap.v[m]))
			m = r;
		if (m == i)
			break;
		struct ready t = s->heap.v[i];
		s->heap.v[i] = s->heap.v[m];
		s->heap.v[m] = t;
		i = m;
	}
	return top;
}

void sched_ready_push(struct weir_sched *s, struct sched_run *r, uint32_t task)
{
	struct sched_ti *ti = &r->ti[task];
	struct ready it;

	if (ti->in_heap)
		return;
	ti->in_heap = true;
	ti->ready_seq = ++s->ready_seq;
	it.priority = r->dag->tasks[task].priority;
	it.seq = ti->ready_seq;
	it.run = r;
	it.task = task;
	heap_push(s, it);
}

/* Drops every waiting entry of run r (it is being freed). */
void sched_ready_forget(struct weir_sched *s, struct sched_run *r)
{
	size_t i = 0, k = 0;
	bool changed = false;

	for (i = 0; i < s->heap.n; i++) {
		if (s->heap.v[i].run == r) {
			changed = true;
			continue;
		}
		s->heap.v[k++] = s->heap.v[i];
	}
	s->heap.n = k;
	if (changed) {
		/* Re-heapify. */
		WEIR_VEC(struct ready) old = {s->heap.v, s->heap.n, s->heap.alloc};
		s->heap.v = NULL;
		s->heap.n = s->heap.alloc = 0;
		for (i = 0; i < old.n; i++)
			heap_push(s, old.v[i]);
		free(old.v);
	}
	{
		size_t it = 0;
		const char *key;
		void *v;
		while (weir_hmap_next(&s->pools, &it, &key, &v)) {
			struct pool *p = v;
			k = 0;
			for (i = 0; i < p->blocked.n; i++)
				if (p->blocked.v[i].run != r)
					p->blocked.v[k++] = p->blocked.v[i];
			p->blocked.n = k;
		}
	}
	k = 0;
	for (i = 0; i < r->sd->blocked.n; i++)
		if (r->sd->blocked.v[i].run != r)
			r->sd->blocked.v[k++] = r->sd->blocked.v[i];
	r->sd->blocked.n = k;
}

/* ------------------------------------------------------------------ */
/* pools                                                                */
/* ------------------------------------------------------------------ */

static struct pool *pool_get(struct weir_sched *s, const char *name)
{
	struct pool *p = weir_hmap_get(&s->pools, name);

	if (!p) {
		p = weir_xcalloc(1, sizeof(*p));
		p->name = weir_xstrdup(name);
		p->slots = 0; /* unknown pool: nothing runs until it is created */
		weir_hmap_put(&s->pools, name, p);
	}
	return p;
}

void sched_pools_load(struct weir_sched *s)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *pools = NULL, *v;
	const char *k;

	if (weir_store_query_json(s->st, "pools.slots", 0, NULL, &pools, &err) < 0) {
		weir_error("could not load pools: %s", err.buf);
	} else {
		json_object_foreach(pools, k, v) {
			struct pool *p = pool_get(s, k);
			int before_slots = p->slots;
			p->slots = (int)json_integer_value(v);
			p->warned = false;
			if (p->slots != before_slots) {
				/* More room: let the waiting ones try again. */
				for (size_t i = 0; i < p->blocked.n; i++)
					heap_push(s, p->blocked.v[i]);
				p->blocked.n = 0;
			}
		}
	}
	json_decref(pools);
	weir_buf_release(&err);
}

void sched_release_slot(struct weir_sched *s, struct sched_run *r, uint32_t task)
{
	const struct weir_task *t = &r->dag->tasks[task];
	struct pool *p = pool_get(s, t->pool);

	p->used -= t->pool_slots;
	r->sd->active_tasks--;
	s->live--;
	for (size_t i = 0; i < p->blocked.n; i++)
		heap_push(s, p->blocked.v[i]);
	p->blocked.n = 0;
	for (size_t i = 0; i < r->sd->blocked.n; i++)
		heap_push(s, r->sd->blocked.v[i]);
	r->sd->blocked.n = 0;
}

static void take_slot(struct weir_sched *s, struct sched_run *r, uint32_t task)
{
	const struct weir_task *t = &r->dag->tasks[task];

	pool_get(s, t->pool)->used += t->pool_slots;
	r->sd->active_tasks++;
	s->live++;
}

/* ------------------------------------------------------------------ */
/* tries                                                                */
/* ------------------------------------------------------------------ */

static struct sched_try *try_new(struct weir_sched *s, struct sched_run *r, uint32_t task)
{
	struct sched_try *t = weir_xcalloc(1, sizeof(*t));
	struct sched_ti *ti = &r->ti[task];

	t->run = r;
	t->run_pk = r->pk;
	t->task_id = weir_xstrdup(r->dag->tasks[task].id);
	t->task = task;
	t->try_number = ti->try_number;
	t->attempt = ti->attempt;
	t->pid = -1;
	t->report_fd = t->lock_fd = t->report_w = -1;
	t->runner.fd = -1;
	weir_buf_init(&t->report, REPORT_MAX);
	weir_list_insert_tail(&s->tries, &t->link);
	ti->try = t;
	r->live++;
	return t;
}

void sched_try_free(struct weir_sched *s, struct sched_try *t)
{
	if (t->report_fd >= 0) {
		weir_loop_del_fd(s->loop, t->report_fd, WEIR_LOOP_READ);
		close(t->report_fd);
	}
	if (t->runner.fd >= 0)
		close(t->runner.fd); /* its runner reads EOF after the try */
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	if (t->report_w >= 0)
		close(t->report_w);
	json_decref(t->spec);
	free(t->exec_error);
	free(t->lost_reason);
	if (t->timeout_timer)
		weir_timer_del(s->loop, t->timeout_timer);
	if (t->kill_timer)
		weir_timer_del(s->loop, t->kill_timer);
	if (t->poll_timer)
		weir_timer_del(s->loop, t->poll_timer);
	weir_list_remove(&t->link);
	weir_buf_release(&t->report);
	json_decref(t->result);
	free(t->message);
	free(t->task_id);
	free(t);
}

/* Dispatches one ready instance: queued + new attempt, in the batch. */
static void queue_try(struct weir_sched *s, struct sched_run *r, uint32_t task)
{
	struct sched_ti *ti = &r->ti[task];
	const struct weir_task *t = &r->dag->tasks[task];
	struct weir_sop *op;
	struct sched_try *tr;
	char *log;
	bool reschedule = ti->db_state == WEIR_TI_UP_FOR_RESCHEDULE;

	if (r->state == WEIR_RUN_QUEUED) {
		weir_batch_run_state(&s->batch, r->pk, WEIR_RUN_QUEUED, WEIR_RUN_RUNNING, NULL, NULL,
				     weir_now_us());
		r->state = WEIR_RUN_RUNNING;
	}
	/* A sensor's reschedule keeps its try number (each poke has its own
	 * attempt id); anything else is a new try. */
	if (!reschedule || ti->try_number == 0)
		ti->try_number++;
	weir_uuid_v7(&ti->attempt);
	if (!reschedule || ti->sensor_started == WEIR_TIME_NONE || ti->sensor_started == 0)
		ti->sensor_started = weir_now_us();
	sched_ti_set(s, r, task, WEIR_TI_QUEUED, NULL, &op);
	log = sched_try_path(s, r, task, ti->try_number, WEIR_SPEC_LOG);
	op->u.ti_state.try_number = ti->try_number;
	op->u.ti_state.attempt = ti->attempt;
	op->u.ti_state.log_path = weir_batch_strdup(&s->batch, log);
	op->u.ti_state.executor = weir_executor_name(t->executor);
	free(log);
	take_slot(s, r, task);
	tr = try_new(s, r, task);
	weir_vec_push(&s->spawn, tr);
	s->urgent = true;
}

void sched_dispatch(struct weir_sched *s)
{
	while (s->heap.n && s->live < s->o.parallelism && !s->stopping && !s->have_retry) {
		struct ready it = heap_pop(s);
		struct sched_run *r = it.run;
		struct sched_ti *ti = &r->ti[it.task];
		const struct weir_task *t = &r->dag->tasks[it.task];
		struct pool *p;

		ti->in_heap = false;
		if (ti->state != WEIR_TI_SCHEDULED || r->stopping || ti->ready_seq != it.seq)
			continue;
		p = pool_get(s, t->pool);
		if (p->slots >= 0 && p->used + t->pool_slots > p->slots) {
			if (p->slots < t->pool_slots && !p->warned) {
				weir_warn("pool %s has %d slots; task %s of %s needs %d: it waits until the pool is created or grown",
					  p->name, p->slots, t->id, r->dag->id, t->pool_slots);
				p->warned = true;
			}
			ti->in_heap = true;
			weir_vec_push(&p->blocked, it);
			continue;
		}
		if (r->sd->active_tasks >= r->dag->max_active_tasks) {
			ti->in_heap = true;
			weir_vec_push(&r->sd->blocked, it);
			continue;
		}
		queue_try(s, r, it.task);
	}
}

/* ------------------------------------------------------------------ */
/* spawning                                                             */
/* ------------------------------------------------------------------ */

static void on_report(struct weir_loop *loop, int fd, int mask, void *arg);
static int64_t on_timeout(struct weir_loop *loop, uint64_t id, void *arg);
static void finish_try(struct weir_sched *s, struct sched_try *t);
static void finish_try_with(struct weir_sched *s, struct sched_try *t, json_t *res);
static json_t *report_result(struct sched_try *t);

void sched_try_record_running(struct weir_sched *s, struct sched_try *t)
{
	struct sched_run *r = t->run;
	struct sched_ti *ti = &r->ti[t->task];
	struct weir_sop *op;

	if (t->running_recorded || ti->state != WEIR_TI_QUEUED || ti->try != t)
		return;
	op = weir_batch_ti_state(&s->batch, r->pk, r->dag->tasks[t->task].id, ti->db_state,
				 WEIR_TI_RUNNING, NULL, t->started_us);
	op->u.ti_state.fenced = true;
	op->u.ti_state.fence = t->attempt;
	op->u.ti_state.pid = t->pid;
	op->u.ti_state.hostname = weir_batch_strdup(&s->batch, s->hostname);
	op->u.ti_state.process_start = (int64_t)t->start_ticks;
	ti->state = ti->db_state = WEIR_TI_RUNNING;
	t->running_recorded = true;
	sched_run_mark_dirty(s, r);
}

/* The spec for a try (the run's XComs are the upstream outputs). */
static json_t *build_spec(struct weir_sched *s, struct sched_try *t)
{
	struct sched_run *r = t->run;
	struct weir_spec_run sr = WEIR_SPEC_RUN_INIT;
	char att[WEIR_UUID_STRLEN];
	json_t *spec;

	sr.run_id = r->run_id;
	sr.logical_date = r->logical_date;
	sr.interval_start = r->interval_start;
	sr.interval_end = r->interval_end;
	sr.params = r->params;
	sr.conf = r->conf;
	sr.xcom = sched_run_xcom(s, r);
	sr.try_number = t->try_number;
	sr.attempt_id = weir_uuid_format(&t->attempt, att);
	sr.start_us = weir_now_us();
	sr.sensor_start_us = r->ti[t->task].sensor_started;
	sr.xcom_max_bytes = s->o.xcom_max_bytes;
	sr.home = s->o.home;
	sr.database_url = s->o.database_url;
	sr.run_dir = r->run_dir;
	sr.container_runtime = s->o.container_runtime[0] ? s->o.container_runtime : NULL;
	/* Connections the task's config names (cached; never fails). */
	sr.connections = weir_connections_resolve(s->st, s->o.home, r->dag->tasks[t->task].op,
						  r->dag->tasks[t->task].config);
	spec = weir_spec_build(r->dag, t->task, &sr);
	json_decref(sr.connections);
	return spec;
}

/*
 * The runner pool.  Task runners (`weir-task --standby=FD`, taskrun.h) are
 * our children in their own sessions, like any runner: reaped by
 * weir_proc_reap, killed through their process group.  An idle one waits
 * on its socket in s->idle; spawn() hands it a try after the commit that
 * queued the try (one message), and the try keeps the runner in t->runner.
 * When the try's report line says "runner_stays", the runner goes back to
 * s->idle; otherwise (it stopped, died, or reached runner_max_tries) its
 * socket is closed and it exits.  One idle runner is kept started ahead;
 * more idle ones than that are closed after RUNNER_IDLE_MS.  On shutdown,
 * or if we die, idle runners read EOF and exit without doing anything.
 */
#define RUNNER_IDLE_MS 10000

static void runner_close(struct sched_runner *rn)
{
	if (rn->fd >= 0)
		close(rn->fd);
	rn->fd = -1;
}

/* Starts one idle runner ahead, unless one is idle already. */
void sched_standby_start(struct weir_sched *s)
{
	struct weir_child c = WEIR_CHILD_INIT;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char arg[32];
	const char *argv[3];
	int sv[2] = {-1, -1};

	if (s->idle.n || !s->o.task_exe || s->stopping)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		weir_debug("no standby runner: socketpair: %s", strerror(errno));
		return;
	}
	snprintf(arg, sizeof(arg), "--standby=%d", sv[1]);
	argv[0] = s->o.task_exe;
	argv[1] = arg;
	argv[2] = NULL;
	c.argv = argv;
	c.keep_fds[0] = sv[1];
	c.want_start_ticks = true;
	if (weir_child_start(&c, &err) < 0) {
		weir_debug("no standby runner: %s", err.buf);
		close(sv[0]);
	} else {
		struct sched_runner rn = {.fd = sv[0], .pid = c.pid, .ticks = c.start_ticks,
					  .idle_since = weir_mono_us()};
		weir_vec_push(&s->idle, rn);
	}
	close(sv[1]);
	weir_buf_release(&err);
}

/* Closes every idle runner's socket: they read EOF and exit (reaped as
 * usual). */
void sched_runners_close(struct weir_sched *s)
{
	for (size_t i = 0; i < s->idle.n; i++)
		runner_close(&s->idle.v[i]);
	s->idle.n = 0;
}

/* Idle runners beyond the first that waited RUNNER_IDLE_MS go away. */
void sched_runners_trim(struct weir_sched *s)
{
	int64_t old = weir_mono_us() - RUNNER_IDLE_MS * 1000;
	size_t n = 0;

	for (size_t i = 0; i < s->idle.n; i++) {
		if (i + 1 < s->idle.n && s->idle.v[i].idle_since < old)
			runner_close(&s->idle.v[i]);
		else
			s->idle.v[n++] = s->idle.v[i];
	}
	s->idle.n = n;
}

/* A runner exited: if it was idle, forget it. */
static void runner_exited(struct weir_sched *s, pid_t pid)
{
	for (size_t i = 0; i < s->idle.n; i++) {
		if (s->idle.v[i].pid == pid) {
			runner_close(&s->idle.v[i]);
			memmove(&s->idle.v[i], &s->idle.v[i + 1], (s->idle.n - i - 1) * sizeof(s->idle.v[0]));
			s->idle.n--;
			return;
		}
	}
}

/* The try is over: its runner goes back to the pool, or away. */
static void runner_release(struct weir_sched *s, struct sched_try *t, json_t *res)
{
	struct sched_runner rn = t->runner;

	t->runner.fd = -1;
	if (rn.fd < 0)
		return;
	if (res && json_is_true(json_object_get(res, "runner_stays")) && !t->kill_reason && !s->stopping &&
	    rn.tries < s->o.runner_max_tries) {
		rn.idle_since = weir_mono_us();
		weir_vec_push(&s->idle, rn);
	} else {
		runner_close(&rn);
	}
}

/*
 * Hands a try to the newest idle runner: args (NULL-terminated, without
 * the fds) and the try's report pipe write end + lock, in one message.
 * 0 on success (t->runner is then the try's runner); else no runner was
 * able to take it and the caller starts one itself.
 */
static int hand_over(struct weir_sched *s, struct sched_try *t, const char *const *args)
{
	struct weir_buf data = WEIR_BUF_INIT(64 * 1024);
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *cm;
	int fds[2] = {t->report_w, t->lock_fd}, rc = 0;

	for (size_t i = 0; args[i] && rc == 0; i++)
		rc = weir_buf_add(&data, args[i], strlen(args[i]) + 1);
	if (rc < 0)
		goto out;
	memset(&u, 0, sizeof(u));
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = data.buf;
	iov.iov_len = data.len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	rc = -ENOENT;
	while (s->idle.n && rc < 0) {
		struct sched_runner rn = s->idle.v[--s->idle.n];
		ssize_t n;

		do
			n = sendmsg(rn.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		rc = n == (ssize_t)data.len ? 0 : n < 0 ? -errno : -EIO;
		if (rc == 0) {
			rn.tries++;
			t->runner = rn;
		} else {
			weir_debug("the idle runner (pid %d) is gone: %s", (int)rn.pid, strerror(-rc));
			runner_close(&rn);
		}
	}
out:
	weir_buf_release(&data);
	return rc;
}

static bool limits_set(const struct weir_limits *l)
{
	return l->memory_bytes || l->pids || l->nofile || l->cpu_seconds;
}

/*
 * Everything a try's start needs that does not depend on its commit: the
 * spec file, the lock (created and flock()ed: a try is never "started"
 * by these files alone, see sched_recover_try), the report pipe.  Runs
 * while the commit is on the server (the batch's while_committing hook),
 * else right before the start.  Not done for a try whose commit is then
 * refused: its files stay, unlocked and empty, and are rewritten by the
 * next attempt.
 */
static int prepare(struct weir_sched *s, struct sched_try *t, struct weir_buf *err)
{
	struct sched_run *r = t->run;
	char *spec_path = NULL, *lock_path = NULL, *res;
	int pipefd[2] = {-1, -1}, lock = -1, rc;
	json_t *spec;

	if (t->prepared)
		return 0;
	spec = t->spec ? t->spec : build_spec(s, t);
	t->spec = NULL;
	spec_path = sched_try_path(s, r, t->task, t->try_number, WEIR_SPEC_SPEC);
	lock_path = sched_try_path(s, r, t->task, t->try_number, WEIR_SPEC_LOCK);
	rc = weir_spec_write_json(spec_path, spec, err);
	if (rc < 0)
		goto out;
	/* A leftover result of an earlier poke/attempt must not be mistaken
	 * for this one's (results carry the attempt id, but keep it clean). */
	res = sched_try_path(s, r, t->task, t->try_number, WEIR_SPEC_RESULT);
	unlink(res);
	free(res);
	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
		rc = -errno;
		weir_buf_addf(err, "could not lock \"%s\": %s", lock_path, strerror(errno));
		goto out;
	}
	if (ftruncate(lock, 0) < 0) {
		/* Harmless: the child rewrites it. */
	}
	{
		/* The log too: creating a file costs ~0.1 ms here, the runner's
		 * open of an existing one much less, and the runner's is on
		 * the path to the task.  Not an error: the runner reports. */
		char *log = sched_try_path(s, r, t->task, t->try_number, WEIR_SPEC_LOG);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (fd >= 0)
			close(fd);
		free(log);
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		rc = -errno;
		weir_buf_addf(err, "could not create a pipe: %s", strerror(errno));
		goto out;
	}
	t->report_fd = pipefd[0];
	t->report_w = pipefd[1];
	t->lock_fd = lock;
	lock = -1;
	t->prepared = true;
out:
	if (lock >= 0)
		close(lock);
	json_decref(spec);
	free(spec_path);
	free(lock_path);
	return rc;
}

/* The specs of the tries to start: before the commit, because building
 * one may read the store (the run's XComs, connections). */
void sched_spawn_specs(struct weir_sched *s)
{
	for (size_t i = 0; i < s->spawn.n; i++) {
		struct sched_try *t = s->spawn.v[i];
		if (!t->prepared && !t->spec && !t->kill_reason)
			t->spec = build_spec(s, t);
	}
}

/* While the commit is on the server: no store access here. */
void sched_spawn_prepare(void *arg)
{
	struct weir_sched *s = arg;

	for (size_t i = 0; i < s->spawn.n; i++) {
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		struct sched_try *t = s->spawn.v[i];
		/* A failure is met again, and reported, by spawn(). */
		if (!t->kill_reason)
			prepare(s, t, &err);
		weir_buf_release(&err);
	}
}

static int spawn(struct weir_sched *s, struct sched_try *t, struct weir_buf *err)
{
	struct sched_run *r = t->run;
	const struct weir_task *task = &r->dag->tasks[t->task];
	struct weir_child c = WEIR_CHILD_INIT;
	char *spec_path = NULL;
	char trys[16], att[WEIR_UUID_STRLEN], rfd[32], lfd[32];
	int rc, nfd = 0;
	const char *argv[16];

	rc = prepare(s, t, err);
	if (rc < 0)
		goto out;
	spec_path = sched_try_path(s, r, t->task, t->try_number, WEIR_SPEC_SPEC);
	snprintf(trys, sizeof(trys), "%d", t->try_number);
	/* keep_fds keep their numbers in the child. */
	snprintf(rfd, sizeof(rfd), "--report-fd=%d", t->report_w);
	snprintf(lfd, sizeof(lfd), "--lock-fd=%d", t->lock_fd);
	{
		/* The lean runner unless the operator needs the full binary. */
		int n = 0;
		if (s->o.task_exe && task->op && !task->op->full_runner) {
			argv[n++] = s->o.task_exe;
		} else {
			argv[n++] = s->o.weir_exe;
			argv[n++] = "task";
			argv[n++] = "run";
		}
		argv[n++] = r->dag->id;
		argv[n++] = r->run_id;
		argv[n++] = task->id;
		argv[n++] = "--try";
		argv[n++] = trys;
		argv[n++] = "--attempt";
		argv[n++] = weir_uuid_format(&t->attempt, att);
		argv[n++] = "--spec";
		argv[n++] = spec_path;
		nfd = n; /* a pooled runner gets the fds themselves, not these */
		argv[n++] = rfd;
		argv[n++] = lfd;
		argv[n] = NULL;
	}
	c.argv = argv;
	c.keep_fds[0] = t->report_w;
	c.keep_fds[1] = t->lock_fd;
	/* A container's limits are its cgroup's (RLIMIT_AS would break the
	 * OCI runtime, a Go program, started by the runner). */
	if (task->executor != WEIR_EXECUTOR_CONTAINER)
		c.limits = task->limits;
	if (s->idle.n && argv[0] == s->o.task_exe && !limits_set(&c.limits)) {
		/* The lean runner, no rlimits to set: an idle one can take it. */
		argv[nfd] = NULL;
		rc = hand_over(s, t, argv + 1);
		argv[nfd] = rfd;
	} else {
		rc = -1;
	}
	if (rc == 0) {
		/* The runner has the fds (in flight until it reads them). */
		t->pid = t->runner.pid;
		t->start_ticks = t->runner.ticks;
	} else {
		/* Cheap (no copy of our memory, proc.h) and synchronous: when
		 * it returns, the runner has exec'd or we know why it could not. */
		c.want_start_ticks = true;
		rc = weir_child_start(&c, err);
		if (rc < 0)
			goto out;
		t->pid = c.pid;
		t->start_ticks = c.start_ticks;
	}
	t->started_us = weir_now_us();
	t->spawned = true;
	fcntl(t->report_fd, F_SETFL, O_NONBLOCK);
	weir_loop_add_fd(s->loop, t->report_fd, WEIR_LOOP_READ, on_report, t);
	if (task->execution_timeout_us) {
		/* The task process enforces its deadline itself; this is the
		 * backstop for a runner that does not. */
		int64_t ms = task->execution_timeout_us / 1000 + 2 * s->o.kill_grace_ms + 1000;
		t->timeout_timer = weir_timer_add(s->loop, ms, on_timeout, t);
	}
out:
	/* The runner holds them now (or nobody will). */
	if (t->report_w >= 0)
		close(t->report_w);
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	t->report_w = t->lock_fd = -1;
	if (rc < 0 && t->report_fd >= 0) {
		close(t->report_fd);
		t->report_fd = -1;
	}
	free(spec_path);
	return rc;
}

void sched_spawn_pending(struct weir_sched *s)
{
	for (size_t i = 0; i < s->spawn.n; i++) {
		struct sched_try *t = s->spawn.v[i];
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

		if (t->kill_reason) {
			/* Cancelled before it started (aborted run). */
			t->exited = true;
			finish_try(s, t);
		} else if (spawn(s, t, &err) < 0) {
			sched_log_try(s, t, "could not start the task process: %s", err.buf);
			weir_error("could not start task %s of run %s: %s", t->run->dag->tasks[t->task].id,
				   t->run->run_id, err.buf);
			free(t->exec_error);
			t->exec_error = weir_xstrdup(err.buf);
			t->exited = true;
			t->status = 127 << 8;
			finish_try(s, t);
		} else {
			sched_try_record_running(s, t);
		}
		weir_buf_release(&err);
	}
	/* The next try's runner, if none is idle: started now, while these
	 * run. */
	if (s->spawn.n)
		sched_standby_start(s);
	s->spawn.n = 0;
}

/* ------------------------------------------------------------------ */
/* watching                                                             */
/* ------------------------------------------------------------------ */

static void drain_report(struct weir_sched *s, struct sched_try *t)
{
	char buf[65536];

	while (t->report_fd >= 0) {
		ssize_t n = read(t->report_fd, buf, sizeof(buf));
		if (n > 0) {
			if (weir_buf_add(&t->report, buf, (size_t)n) < 0)
				weir_buf_reset(&t->report); /* absurdly long: ignore */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		weir_loop_del_fd(s->loop, t->report_fd, WEIR_LOOP_READ);
		close(t->report_fd);
		t->report_fd = -1;
	}
}

/*
 * The runner writes its result file, then the result as one line on the
 * report pipe, and then only releases memory and exits.  So a complete,
 * valid line for this attempt means the try is over: its outcome is
 * decided now, without waiting for the runner's exit (that costs the
 * runner's exit and one more wake-up of the loop per task).  The runner's
 * exit is then reaped and ignored (on_exit_cb finds no live try); its
 * slot is free meanwhile, so for a moment one more runner than
 * `parallelism` may exist, exiting.  A line without an integer exit_code
 * (the program never ran) waits for the exit status as before.
 */
static void on_report(struct weir_loop *loop, int fd, int mask, void *arg)
{
	struct sched_try *t = arg;
	struct weir_sched *s = t->run->sd->s;
	json_t *res;

	(void)loop;
	(void)fd;
	(void)mask;
	drain_report(s, t);
	if (t->exited || t->adopted || !t->report.len || t->report.buf[t->report.len - 1] != '\n')
		return;
	res = report_result(t);
	if (!res || !json_is_integer(json_object_get(res, "exit_code"))) {
		json_decref(res);
		return;
	}
	t->status = 0; /* not used: the result has the exit code */
	finish_try_with(s, t, res);
}

static int64_t on_kill(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct sched_try *t = arg;

	(void)loop;
	(void)id;
	t->kill_timer = 0;
	if (t->pid > 0 && !t->exited)
		weir_child_kill(t->pid, true);
	return WEIR_LOOP_NOMORE;
}

void sched_try_kill(struct weir_sched *s, struct sched_try *t, const char *reason)
{
	if (!t->kill_reason)
		t->kill_reason = reason;
	if (!t->spawned || t->exited || t->kill_timer)
		return;
	sched_log_try(s, t, "stopping the task process (%s): SIGTERM to its process group", reason);
	if (weir_child_kill(t->pid, false) == 0)
		t->kill_timer = weir_timer_add(s->loop, s->o.kill_grace_ms, on_kill, t);
}

static int64_t on_timeout(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct sched_try *t = arg;
	struct weir_sched *s = t->run->sd->s;

	(void)loop;
	(void)id;
	t->timeout_timer = 0;
	sched_try_kill(s, t, "timeout");
	return WEIR_LOOP_NOMORE;
}

/* Hands a decided outcome to the run (again, when replaying). */
void sched_try_apply_outcome(struct weir_sched *s, struct sched_try *t)
{
	struct sched_run *r = t->run;
	json_t *res = t->result;

	if (!r || r->ti[t->task].try != t)
		return;
	r->ti[t->task].try = NULL;
	sched_ti_outcome(s, t, t->outcome, t->message,
			 res ? json_object_get(res, "xcom") : NULL,
			 res ? json_object_get(res, "branch") : NULL,
			 res && json_is_integer(json_object_get(res, "next_poke_us"))
				 ? json_integer_value(json_object_get(res, "next_poke_us")) : 0,
			 t->exit_code, t->has_exit_code);
}

/*
 * The result on the report pipe: its last complete line, if it parses and
 * names this try's attempt.  Returns a new reference, or NULL.
 */
static json_t *report_result(struct sched_try *t)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char *end = t->report.buf + t->report.len, *line;
	json_t *res = NULL;
	struct weir_uuid a;

	while (end > t->report.buf && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	line = end;
	while (line > t->report.buf && line[-1] != '\n')
		line--;
	if (line < end && weir_spec_result_parse(line, (size_t)(end - line), &res, &err) < 0)
		res = NULL;
	if (res && (weir_uuid_parse(json_string_value(json_object_get(res, "attempt_id")), &a) < 0 ||
		    !weir_uuid_eq(&a, &t->attempt))) {
		json_decref(res);
		res = NULL;
	}
	weir_buf_release(&err);
	return res;
}

/*
 * The try ended: decide its outcome from its result and exit status.
 * res: the result when the caller has it (stolen), else NULL: read from
 * the report pipe, else from the result file.
 */
static void finish_try_with(struct weir_sched *s, struct sched_try *t, json_t *res)
{
	struct sched_run *r = t->run;
	const struct weir_task *task = &r->dag->tasks[t->task];
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), msg = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *outcome = "failed";
	int exit_code = weir_proc_exit_code(t->status);
	bool has_exit = t->spawned && !t->adopted;

	/* The result: the last line on the report pipe, else the file. */
	if (!res && t->report.len)
		res = report_result(t);
	if (!res && t->spawned && !t->lost_reason) {
		char *path = sched_try_path(s, r, t->task, t->try_number, WEIR_SPEC_RESULT);
		weir_buf_reset(&err);
		if (weir_spec_result_read(path, &res, &err) < 0)
			res = NULL;
		free(path);
	}
	if (res) {
		struct weir_uuid a;
		if (weir_uuid_parse(json_string_value(json_object_get(res, "attempt_id")), &a) < 0 ||
		    !weir_uuid_eq(&a, &t->attempt)) {
			json_decref(res);
			res = NULL;
		}
	}
	if (res) {
		json_t *ec = json_object_get(res, "exit_code");
		outcome = json_string_value(json_object_get(res, "outcome"));
		if (json_is_integer(ec)) {
			exit_code = (int)json_integer_value(ec);
			has_exit = true;
		}
		if (json_string_value(json_object_get(res, "message")))
			weir_buf_addstr(&msg, json_string_value(json_object_get(res, "message")));
	}
	if (task->executor == WEIR_EXECUTOR_CONTAINER && t->spawned && (!res || t->kill_reason)) {
		/* The runner died before it could clean up (killed, crashed,
		 * or gone while we were down): its container may still run. */
		char att[WEIR_UUID_STRLEN];
		int crc;
		weir_buf_reset(&err);
		crc = weir_container_cleanup(s->o.container_runtime, weir_uuid_format(&t->attempt, att), &err);
		if (crc > 0)
			sched_log_try(s, t, "removed the leftover container weir-%s", att);
		else if (crc < 0)
			sched_log_try(s, t, "could not remove the container weir-%s: %s", att, err.buf);
	}
	if (t->kill_reason) {
		char d[WEIR_DURATION_BUFSZ];
		weir_buf_reset(&msg);
		if (!strcmp(t->kill_reason, "timeout"))
			weir_buf_addf(&msg, "timed out after %s (execution_timeout)",
				      weir_duration_format(task->execution_timeout_us, d));
		else if (!strcmp(t->kill_reason, "abort"))
			weir_buf_addstr(&msg, "killed: the run was aborted");
		else
			weir_buf_addf(&msg, "killed: %s", t->kill_reason);
		if (!res || strcmp(outcome, "success"))
			outcome = "failed";
	} else if (!res) {
		if (t->lost_reason)
			weir_buf_addstr(&msg, t->lost_reason);
		else if (t->exec_error)
			weir_buf_addf(&msg, "the task process could not be started: %s", t->exec_error);
		else if (!t->spawned)
			weir_buf_addstr(&msg, "the task process could not be started");
		else if (t->adopted)
			weir_buf_addstr(&msg, "the task process ended without recording a result");
		else if (exit_code > 128)
			weir_buf_addf(&msg, "the task process was killed by signal %d", exit_code - 128);
		else
			weir_buf_addf(&msg, "the task process exited with code %d without a result", exit_code);
		sched_log_try(s, t, "%s", msg.buf);
	}
	/* Outcome names are static strings (spec.c), not the JSON's. */
	{
		enum weir_op_result o;
		outcome = weir_spec_outcome_parse(outcome, &o) == 0 ? weir_spec_outcome_name(o) : "failed";
	}
	json_decref(t->result);
	t->result = res;
	t->outcome = outcome;
	free(t->message);
	t->message = msg.len ? weir_buf_detach(&msg, NULL) : NULL;
	t->exit_code = exit_code;
	t->has_exit_code = has_exit;
	t->exited = true;
	t->done = true;
	if (t->report_fd >= 0) {
		weir_loop_del_fd(s->loop, t->report_fd, WEIR_LOOP_READ);
		close(t->report_fd);
		t->report_fd = -1;
	}
	runner_release(s, t, res);
	sched_release_slot(s, r, t->task);
	r->live--;
	sched_try_apply_outcome(s, t);
	sched_run_maybe_finish(s, r); /* may retire r: it stays valid until reaped */
	weir_buf_release(&err);
	weir_buf_release(&msg);
}

static void finish_try(struct weir_sched *s, struct sched_try *t)
{
	finish_try_with(s, t, NULL);
}

static void on_exit_cb(void *arg, pid_t pid, int status)
{
	struct weir_sched *s = arg;
	struct weir_list *pos;

	weir_list_foreach(pos, &s->tries) {
		struct sched_try *t = weir_list_entry(pos, struct sched_try, link);
		if (t->pid == pid && t->spawned && !t->exited && !t->adopted && t->run) {
			t->status = status;
			drain_report(s, t);
			finish_try(s, t);
			break;
		}
	}
	/* An idle runner died (or the try's, put back just now). */
	runner_exited(s, pid);
}

void sched_sigchld(struct weir_loop *loop, int fd, int mask, void *arg)
{
	(void)loop;
	(void)fd;
	(void)mask;
	weir_proc_reap(on_exit_cb, arg);
}

/* ------------------------------------------------------------------ */
/* recovery after a restart                                             */
/* ------------------------------------------------------------------ */

/*
 * What a try's lock file says:
 *   1  locked: the task process is alive (*pid from the file)
 *   0  free, with a pid: the task process started and has ended
 *  -ENOENT  no file, or free and empty: the process never got to start
 *           (the scheduler died between creating the lock and the child's
 *           first step), so no operator code ran
 */
static int probe_lock(const char *path, pid_t *pid)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	int rc;
	char buf[32] = {0};
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	*pid = n > 0 ? (pid_t)atoi(buf) : 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		rc = *pid > 0 ? 0 : -ENOENT;
	else
		rc = errno == EWOULDBLOCK ? 1 : -errno;
	close(fd);
	return rc;
}

static int64_t poll_adopted(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct sched_try *t = arg;
	struct weir_sched *s = t->run->sd->s;
	char *lock = sched_try_path(s, t->run, t->task, t->try_number, WEIR_SPEC_LOCK);
	pid_t pid = 0;
	int rc = probe_lock(lock, &pid);

	(void)loop;
	(void)id;
	free(lock);
	if (rc == 1)
		return 100;
	/* Released: the process is gone.  spawned = the result file counts. */
	t->poll_timer = 0;
	t->exited = true;
	finish_try(s, t);
	return WEIR_LOOP_NOMORE;
}

int sched_recover_try(struct weir_sched *s, struct sched_run *r, uint32_t task,
		      const struct weir_ti_row *row)
{
	struct sched_ti *ti = &r->ti[task];
	struct sched_try *t;
	char *lock;
	pid_t pid = 0;
	int rc;

	if (row->hostname && strcmp(row->hostname, s->hostname)) {
		/* Another host ran it: only its heartbeat tells. */
		int64_t age = row->heartbeat_at == WEIR_TIME_NONE ? INT64_MAX / 2
								   : weir_now_us() - row->heartbeat_at;
		if (age < s->o.heartbeat_timeout_ms * 1000) {
			/* Alive over there: look again when it would be stale. */
			sched_run_recheck_at(s, r, s->o.heartbeat_timeout_ms - age / 1000 + 100);
			return 0;
		}
	}
	take_slot(s, r, task);
	t = try_new(s, r, task);
	t->running_recorded = ti->state == WEIR_TI_RUNNING;
	if (row->hostname && strcmp(row->hostname, s->hostname)) {
		/* Its host went silent: the try is lost (its files are there). */
		char d[WEIR_DURATION_BUFSZ];
		t->spawned = t->adopted = true;
		t->lost_reason = weir_xasprintf("host %s stopped sending heartbeats for %s: the try is lost",
						 row->hostname,
						 weir_duration_format(s->o.heartbeat_timeout_ms * 1000, d));
		sched_log_try(s, t, "%s", t->lost_reason);
		finish_try(s, t);
		return 0;
	}
	lock = sched_try_path(s, r, task, ti->try_number, WEIR_SPEC_LOCK);
	rc = probe_lock(lock, &pid);
	free(lock);
	if (rc == 1) {
		t->spawned = t->adopted = true;
		t->pid = pid > 0 ? pid : -1;
		t->started_us = row->started_at != WEIR_TIME_NONE ? row->started_at : weir_now_us();
		sched_log_try(s, t, "scheduler restarted: adopting the running task process (pid %d)", (int)pid);
		weir_info("adopted task %s of run %s (pid %d)", r->dag->tasks[task].id, r->run_id, (int)pid);
		t->poll_timer = weir_timer_add(s->loop, 100, poll_adopted, t);
		return 0;
	}
	if (rc == -ENOENT && ti->state == WEIR_TI_QUEUED) {
		/* Queued but never started: the crash came between the commit
		 * and the child's first step.  Put it back; no try was used. */
		r->live--;
		ti->try = NULL;
		sched_release_slot(s, r, task);
		sched_try_free(s, t);
		sched_ti_set(s, r, task, WEIR_TI_SCHEDULED, "requeued: its process never started", NULL);
		ti->state = WEIR_TI_SCHEDULED;
		sched_ready_push(s, r, task);
		return 0;
	}
	/* The process is gone; its result file may tell how it ended. */
	t->spawned = true;
	t->adopted = true;
	sched_log_try(s, t, "scheduler restarted: the task process is gone; reading its result");
	t->exited = true;
	finish_try(s, t);
	return 0;
}
