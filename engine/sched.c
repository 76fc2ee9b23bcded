/*
 * sched.c: the scheduler's loop: commit, notifications, maintenance.
 *
 * One iteration of the loop:
 *   1. callbacks run: child exits, report pipes, timers (retries, cron,
 *      timeouts), database notifications, DAG folder changes.  They
 *      change the cached state and append the matching operations to
 *      s->batch; they never fork.
 *   2. before_sleep (sched_commit): dispatch ready work (queued + new
 *      attempt ids go into the batch), commit the batch in one
 *      transaction, and only then start the processes of the tries it
 *      queued.  A success is therefore durable before its downstream
 *      tasks start.
 *   3. wait for the next event.
 *
 * Changes that need no promptness (a try started running, a task became
 * scheduled) do not force a commit: they ride along with the next one, or
 * a flush timer commits them within FLUSH_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/proc.h"
#include "engine/sched_int.h"
#include "engine/spec.h"

#define FLUSH_MS 200
#define RETRY_COMMIT_MS 1000

char *sched_try_path(struct weir_sched *s, struct sched_run *r, uint32_t task, int try_number,
		     const char *suffix)
{
	if (task == UINT32_MAX)
		return weir_spec_run_dir(s->o.home, r->sd->id, r->run_id);
	return weir_spec_try_path(s->o.home, r->sd->id, r->run_id, r->dag->tasks[task].id,
				  try_number, suffix);
}

void sched_log_try(struct weir_sched *s, struct sched_try *t, const char *fmt, ...)
{
	char iso[WEIR_ISO_BUFSZ];
	struct weir_buf line = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	va_list ap;
	char *path, *dir;
	int fd;

	if (!t->run)
		return;
	path = sched_try_path(s, t->run, t->task, t->try_number, WEIR_SPEC_LOG);
	weir_buf_addf(&line, "%s WEIR ", weir_iso_format(weir_now_us(), WEIR_ISO_FRAC, iso));
	va_start(ap, fmt);
	weir_buf_vaddf(&line, fmt, ap);
	va_end(ap);
	weir_buf_addch(&line, '\n');
	dir = weir_xstrdup(path);
	*strrchr(dir, '/') = '\0';
	weir_spec_mkdirs(dir, NULL);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd >= 0) {
		if (write(fd, line.buf, line.len) < 0) {
			/* The log is best effort here. */
		}
		close(fd);
	}
	free(dir);
	free(path);
	weir_buf_release(&line);
}

/* ------------------------------------------------------------------ */
/* commit                                                               */
/* ------------------------------------------------------------------ */

static int64_t flush_due(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct weir_sched *s = arg;

	(void)loop;
	(void)id;
	s->flush_timer = 0;
	s->urgent = true;
	return WEIR_LOOP_NOMORE;
}

/* "scheduled" kept in memory gets recorded before we sleep on it. */
static void record_scheduled(struct weir_sched *s)
{
	for (size_t i = 0; i < s->heap.n; i++) {
		struct sched_run *r = s->heap.v[i].run;
		struct sched_ti *ti = &r->ti[s->heap.v[i].task];
		if (ti->state == WEIR_TI_SCHEDULED && !ti->state_recorded) {
			bool urgent = s->urgent;
			sched_ti_set(s, r, s->heap.v[i].task, WEIR_TI_SCHEDULED, NULL, NULL);
			s->urgent = urgent;
		}
	}
}

static void free_done_tries(struct weir_sched *s)
{
	struct weir_list *pos, *tmp;

	weir_list_foreach_safe(pos, tmp, &s->tries) {
		struct sched_try *t = weir_list_entry(pos, struct sched_try, link);
		if (t->done)
			sched_try_free(s, t);
	}
}

/*
 * The batch was refused (a lost race, a stale attempt, or a database
 * error): nothing of it was applied.  Forget the tries it would have
 * started, reload every run it touched, and replay the outcomes of tries
 * that really ended, onto the fresh state.
 */
static void recover_from_refusal(struct weir_sched *s)
{
	WEIR_VEC(int64_t) pks = WEIR_VEC_INIT;
	struct weir_list *pos, *tmp;

	for (size_t i = 0; i < s->spawn.n; i++) {
		struct sched_try *t = s->spawn.v[i];
		if (t->run) {
			sched_release_slot(s, t->run, t->task);
			t->run->live--;
			if (t->run->ti[t->task].try == t)
				t->run->ti[t->task].try = NULL;
		}
		sched_try_free(s, t);
	}
	s->spawn.n = 0;
	weir_batch_reset(&s->batch);
	s->urgent = false;
	for (size_t i = 0; i < s->dirty.n; i++) {
		bool dup = false;
		for (size_t j = 0; j < pks.n && !dup; j++)
			dup = pks.v[j] == s->dirty.v[i];
		if (!dup)
			weir_vec_push(&pks, s->dirty.v[i]);
	}
	s->dirty.n = 0;
	/* Runs freed in this iteration are gone from memory: reload by pk. */
	for (size_t i = 0; i < pks.n; i++) {
		struct sched_run *r = sched_run_find(s, pks.v[i]);
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		if (r)
			r->dirty = true;
		if (sched_runs_load(s, pks.v[i], &err) < 0)
			weir_error("could not reload run %lld: %s", (long long)pks.v[i], err.buf);
		weir_buf_release(&err);
	}
	/* Replay: a try that ended still ended. */
	weir_list_foreach_safe(pos, tmp, &s->tries) {
		struct sched_try *t = weir_list_entry(pos, struct sched_try, link);
		struct sched_run *r;
		long task;
		if (!t->done)
			continue;
		r = sched_run_find(s, t->run_pk);
		task = r ? weir_dag_task_index(r->dag, t->task_id) : -1;
		if (task >= 0 && weir_uuid_eq(&r->ti[task].attempt, &t->attempt) &&
		    (r->ti[task].state == WEIR_TI_QUEUED || r->ti[task].state == WEIR_TI_RUNNING) &&
		    !r->ti[task].try) {
			t->run = r;
			t->task = (uint32_t)task;
			r->ti[task].try = t;
			sched_try_apply_outcome(s, t);
			sched_run_maybe_finish(s, r);
		}
	}
	weir_vec_release(&pks);
}

void sched_commit(struct weir_sched *s)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc;

	for (int round = 0; round < 8; round++) {
		sched_dispatch(s);
		record_scheduled(s);
		if (s->have_retry) {
			rc = weir_store_apply(s->st, &s->retry, &err);
			if (rc == WEIR_ECONN)
				break; /* still unreachable; the retry timer comes back */
			if (rc < 0)
				weir_error("a batch that failed to commit earlier was refused now: %s", err.buf);
			weir_batch_reset(&s->retry);
			s->have_retry = false;
			weir_buf_reset(&err);
		}
		if (weir_batch_empty(&s->batch))
			break;
		if (!s->urgent) {
			if (!s->flush_timer)
				s->flush_timer = weir_timer_add(s->loop, FLUSH_MS, flush_due, s);
			break;
		}
		{
			int64_t t0 = weir_mono_us();
			/* The tries' files are made while the server commits
			 * (their specs before: building one may query). */
			sched_spawn_specs(s);
			s->batch.while_committing = sched_spawn_prepare;
			s->batch.while_committing_arg = s;
			rc = weir_store_apply(s->st, &s->batch, &err);
			s->batch.while_committing = NULL;
			weir_debug("commit of %zu changes: %lld us", s->batch.ops.n,
				   (long long)(weir_mono_us() - t0));
		}
		if (rc == 0) {
			for (size_t i = 0; i < s->dirty.n; i++) {
				struct sched_run *r = sched_run_find(s, s->dirty.v[i]);
				if (r)
					r->dirty = false;
			}
			s->dirty.n = 0;
			weir_batch_reset(&s->batch);
			s->urgent = false;
			if (s->flush_timer) {
				weir_timer_del(s->loop, s->flush_timer);
				s->flush_timer = 0;
			}
			free_done_tries(s);
			{
				int64_t t0 = weir_mono_us();
				size_t n = s->spawn.n;
				sched_spawn_pending(s);
				if (n)
					weir_debug("start of %zu tries: %lld us", n,
						   (long long)(weir_mono_us() - t0));
			}
			/* Spawning adds "running" records and failures of tries
			 * that could not start: loop to commit what is urgent. */
			continue;
		}
		if (rc == WEIR_ECONN) {
			/* Keep this exact batch (same id) for later; start a new
			 * one.  Nothing it queued has started. */
			weir_warn("database unreachable; %zu changes wait: %s", s->batch.ops.n, err.buf);
			s->retry = s->batch;
			s->have_retry = true;
			weir_batch_init(&s->batch, "scheduler");
			break;
		}
		weir_warn("the database refused a batch of %zu changes (%s): %s; reloading the runs involved",
			  s->batch.ops.n, weir_errname(rc), err.buf);
		weir_buf_reset(&err);
		recover_from_refusal(s);
	}
	/* The only place runs are freed: no callback is on the stack. */
	sched_runs_reap(s);
	weir_buf_release(&err);
}

static void on_store(struct weir_loop *loop, int fd, int mask, void *arg);

static void before_sleep(struct weir_loop *loop, void *arg)
{
	struct weir_sched *s = arg;

	(void)loop;
	if (s->stop_requested && !s->stopping) {
		s->stopping = true;
		weir_loop_stop(s->loop);
	}
	sched_commit(s);
	/* A notification that arrived while we ran a query (a commit, a
	 * reload, a heartbeat) was read from the socket with that query's
	 * answer and waits in libpq's queue: the socket will not become
	 * readable for it.  So the last thing before sleeping is a look at
	 * that queue that finds nothing. */
	for (int round = 0; round < 16 && s->store_fd >= 0 && !s->stopping; round++) {
		uint64_t seen = s->notifications;
		on_store(s->loop, s->store_fd, WEIR_LOOP_READ, s);
		if (s->notifications == seen)
			break;
		sched_commit(s);
	}
}

/* ------------------------------------------------------------------ */
/* notifications                                                        */
/* ------------------------------------------------------------------ */

/*
 * Channel "weir", payloads (written by the API and the CLI):
 *   run PK DAG      a new run (triggered)
 *   abort PK DAG    a run was aborted
 *   ti PK DAG       a task instance was changed by hand (marked, cleared)
 *   pause DAG 0|1   a DAG was (un)paused
 *   pools           pools changed
 *   dags            a DAG file was uploaded
 */
static void on_notify(void *arg, const char *channel, const char *payload)
{
	struct weir_sched *s = arg;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char word[16] = {0}, dag[256] = {0};
	long long pk = 0;
	int flag = 0;

	s->notifications++;
	if (!channel) {
		/* Reconnected: we may have missed notifications. */
		s->need_resync = true;
		weir_buf_release(&err);
		return;
	}
	if (strcmp(channel, "weir") || !payload)
		goto out;
	if (sscanf(payload, "%15s", word) != 1)
		goto out;
	if (!strcmp(word, "run") || !strcmp(word, "abort") || !strcmp(word, "ti")) {
		struct sched_dag *sd;
		if (sscanf(payload, "%*s %lld %255s", &pk, dag) != 2)
			goto out;
		sd = sched_dag_get(s, dag, false);
		if (!sd || !sd->owned)
			goto out;
		{
			struct sched_run *r = sched_run_find(s, pk);
			if (r && !strcmp(word, "run"))
				goto out; /* already ours */
			if (r && r->dirty) {
				/* Commit our pending changes first: the reload must
				 * not lose them. */
				s->urgent = true;
				sched_commit(s);
			}
		}
		if (sched_runs_load(s, pk, &err) < 0)
			weir_error("could not load run %lld: %s", pk, err.buf);
	} else if (!strcmp(word, "pause")) {
		struct sched_dag *sd;
		if (sscanf(payload, "%*s %255s %d", dag, &flag) != 2)
			goto out;
		sd = sched_dag_get(s, dag, false);
		if (sd && sd->owned)
			sched_dag_set_paused(s, sd, flag != 0);
	} else if (!strcmp(word, "pools")) {
		sched_pools_load(s);
	}
out:
	weir_buf_release(&err);
}

static void on_store(struct weir_loop *loop, int fd, int mask, void *arg)
{
	struct weir_sched *s = arg;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int nfd;

	(void)loop;
	(void)mask;
	if (weir_store_consume(s->st, on_notify, s, &err) < 0)
		weir_warn("database notifications: %s", err.buf);
	nfd = weir_store_fd(s->st);
	if (nfd != fd) {
		/* Reconnected on a new socket. */
		weir_loop_del_fd(s->loop, fd, WEIR_LOOP_READ);
		s->store_fd = nfd;
		if (nfd >= 0)
			weir_loop_add_fd(s->loop, nfd, WEIR_LOOP_READ, on_store, s);
	}
	weir_buf_release(&err);
}

/* ------------------------------------------------------------------ */
/* maintenance                                                          */
/* ------------------------------------------------------------------ */

/* Is pid a live weir process (not a pid reused by something else)? */
static bool weir_alive(pid_t pid)
{
	char path[64], cmd[256] = {0};
	FILE *f;
	size_t n;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(cmd, 1, sizeof(cmd) - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	return strstr(cmd, "weir") != NULL;
}

/*
 * Schedulers of this host whose process is gone lose their leases now:
 * a scheduler restarted after kill -9 takes its DAGs back at once.
 */
static void expire_dead_neighbours(struct weir_sched *s)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *p[1] = {s->hostname};
	json_t *list = NULL, *x;
	char me[WEIR_UUID_STRLEN];
	size_t i;

	weir_uuid_format(&s->id, me);
	if (weir_store_query_json(s->st, "schedulers.on_host", 1, p, &list, &err) < 0) {
		weir_buf_release(&err);
		return;
	}
	json_array_foreach(list, i, x) {
		const char *id = json_string_value(json_object_get(x, "id"));
		pid_t pid = (pid_t)json_integer_value(json_object_get(x, "pid"));
		if (!id || !strcmp(id, me) || weir_alive(pid))
			continue;
		weir_buf_reset(&err);
		if (weir_store_exec(s->st, "schedulers.expire", 1, &id, NULL, &err) == 0)
			weir_info("scheduler %s (pid %d) on this host is gone; its DAGs are free", id, (int)pid);
	}
	json_decref(list);
	weir_buf_release(&err);
}

static int64_t tick(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct weir_sched *s = arg;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *stats = json_pack("{s:I, s:I, s:i, s:i}", "loop_us_max", (json_int_t)s->loop_us_max,
				  "loop_us_avg", (json_int_t)(s->loops ? s->loop_us_sum / s->loops : 0),
				  "live_tries", s->live, "ready", (int)s->heap.n);
	char ids[WEIR_UUID_STRLEN];
	const char *p[2] = {weir_uuid_format(&s->id, ids), s->hostname};

	(void)loop;
	(void)id;
	s->loop_us_max = s->loop_us_sum = s->loops = 0;
	sched_runners_trim(s);
	if (weir_store_scheduler_beat(s->st, &s->id, s->hostname, (int)getpid(),
				      s->o.heartbeat_timeout_ms, stats, &s->live_schedulers, &err) < 0) {
		weir_warn("scheduler heartbeat failed: %s", err.buf);
	} else {
		weir_buf_reset(&err);
		if (weir_store_exec(s->st, "tries.heartbeat", 2, p, NULL, &err) < 0)
			weir_warn("task heartbeats failed: %s", err.buf);
		weir_buf_reset(&err);
		expire_dead_neighbours(s);
		if (sched_dags_claim(s, &err) < 0 || sched_runs_load(s, 0, &err) < 0)
			weir_warn("could not claim DAGs: %s", err.buf);
		if (s->need_resync) {
			s->need_resync = false;
			sched_pools_load(s);
		}
	}
	json_decref(stats);
	weir_buf_release(&err);
	return s->o.tick_ms;
}

/* ------------------------------------------------------------------ */
/* life cycle                                                           */
/* ------------------------------------------------------------------ */

int weir_sched_new(const struct weir_sched_opts *o, struct weir_store *st,
		   struct weir_sched **out, struct weir_buf *err)
{
	struct weir_sched *s = weir_xcalloc(1, sizeof(*s));
	int rc;

	s->o = *o;
	if (s->o.parallelism < 1)
		s->o.parallelism = 32;
	if (!s->o.heartbeat_timeout_ms)
		s->o.heartbeat_timeout_ms = 30000;
	if (!s->o.kill_grace_ms)
		s->o.kill_grace_ms = 5000;
	if (!s->o.tick_ms)
		s->o.tick_ms = 2000;
	if (!s->o.xcom_max_bytes)
		s->o.xcom_max_bytes = WEIR_SPEC_XCOM_MAX_DEFAULT;
	if (s->o.runner_max_tries < 1)
		s->o.runner_max_tries = 1000;
	s->o.home = weir_xstrdup(o->home);
	s->o.dags_folder = weir_xstrdup(o->dags_folder);
	s->o.weir_exe = weir_xstrdup(o->weir_exe);
	s->o.task_exe = o->task_exe ? weir_xstrdup(o->task_exe) : NULL;
	s->o.database_url = o->database_url ? weir_xstrdup(o->database_url) : NULL;
	s->st = st;
	s->inotify_fd = s->store_fd = s->sigchld_fd = -1;
	s->live_schedulers = 1;
	weir_list_init(&s->tries);
	weir_uuid_v7(&s->id);
	if (gethostname(s->hostname, sizeof(s->hostname) - 1) < 0)
		snprintf(s->hostname, sizeof(s->hostname), "localhost");
	s->logs_dir = weir_xasprintf("%s/logs", s->o.home);
	weir_batch_init(&s->batch, "scheduler");
	weir_batch_init(&s->retry, "scheduler");
	rc = weir_loop_new(&s->loop);
	if (rc < 0) {
		weir_buf_addf(err, "could not create the event loop: %s", strerror(-rc));
		weir_sched_free(s);
		return rc;
	}
	weir_loop_set_before_sleep(s->loop, before_sleep, s);
	*out = s;
	return 0;
}

int weir_sched_start(struct weir_sched *s, struct weir_buf *err)
{
	int rc;

	rc = weir_spec_mkdirs(s->logs_dir, err);
	if (rc < 0)
		return rc;
	rc = weir_store_scheduler_beat(s->st, &s->id, s->hostname, (int)getpid(),
				       s->o.heartbeat_timeout_ms, NULL, &s->live_schedulers, err);
	if (rc < 0)
		return rc;
	rc = weir_store_listen(s->st, "weir", err);
	if (rc < 0)
		return rc;
	sched_pools_load(s);
	/* Watch before the first scan: a file written in between is then
	 * seen by both, never by neither (a second look is harmless). */
	if (sched_inotify_setup(s) < 0)
		weir_warn("DAG folder changes will not be noticed (inotify unavailable)");
	rc = sched_dags_scan(s, err);
	if (rc < 0)
		return rc;
	s->sigchld_fd = weir_proc_sigchld_fd();
	if (s->sigchld_fd < 0) {
		weir_buf_addf(err, "could not watch child processes: %s", strerror(-s->sigchld_fd));
		return s->sigchld_fd;
	}
	weir_loop_add_fd(s->loop, s->sigchld_fd, WEIR_LOOP_READ, sched_sigchld, s);
	sched_standby_start(s);
	expire_dead_neighbours(s);
	rc = sched_dags_claim(s, err);
	if (rc < 0)
		return rc;
	rc = sched_runs_load(s, 0, err);
	if (rc < 0)
		return rc;
	s->store_fd = weir_store_fd(s->st);
	if (s->store_fd >= 0)
		weir_loop_add_fd(s->loop, s->store_fd, WEIR_LOOP_READ, on_store, s);
	weir_timer_add(s->loop, s->o.tick_ms, tick, s);
	return 0;
}

int weir_sched_run_once(struct weir_sched *s, bool wait)
{
	int64_t t0 = weir_mono_us();
	int rc = weir_loop_run_once(s->loop, wait ? 0 : WEIR_LOOP_DONT_WAIT);
	/* The iteration's work: its time less the wait for events. */
	int64_t d = weir_mono_us() - t0 - weir_loop_last_wait_us(s->loop);

	s->loops++;
	if (d > s->loop_us_max)
		s->loop_us_max = d;
	s->loop_us_sum += d;
	return rc;
}

void weir_sched_run(struct weir_sched *s)
{
	while (!s->stopping)
		weir_sched_run_once(s, true);
	/* Last words: commit what is pending. */
	s->urgent = true;
	sched_commit(s);
}

void weir_sched_stop(struct weir_sched *s)
{
	s->stop_requested = 1;
	weir_loop_wake(s->loop);
}

void weir_sched_free(struct weir_sched *s)
{
	size_t i = 0;
	const char *k;
	void *v;
	struct weir_list *pos, *tmp;

	if (!s)
		return;
	sched_runners_close(s);
	weir_vec_release(&s->idle);
	/* Task processes keep running: a later scheduler adopts them. */
	weir_list_foreach_safe(pos, tmp, &s->tries) {
		struct sched_try *t = weir_list_entry(pos, struct sched_try, link);
		sched_try_free(s, t);
	}
	while (weir_hmap_next(&s->dags, &i, &k, &v)) {
		struct sched_dag *sd = v;
		while (!weir_list_empty(&sd->runs))
			sched_run_retire(s, weir_list_entry(sd->runs.next, struct sched_run, link));
		weir_dag_unref(sd->dag);
		weir_vec_release(&sd->blocked);
		free(sd->file);
		free(sd->id);
		free(sd);
	}
	weir_hmap_release(&s->dags);
	sched_runs_reap(s);
	weir_vec_release(&s->retired);
	i = 0;
	while (weir_hmap_next(&s->files, &i, &k, &v))
		free(v);
	weir_hmap_release(&s->files);
	i = 0;
	while (weir_hmap_next(&s->pools, &i, &k, &v)) {
		struct pool *p = v;
		weir_vec_release(&p->blocked);
		free(p->name);
		free(p);
	}
	weir_hmap_release(&s->pools);
	for (size_t w = 0; w < s->watches.n; w++)
		free(s->watches.v[w].dir);
	weir_vec_release(&s->watches);
	for (size_t c = 0; c < s->changed.n; c++)
		free(s->changed.v[c]);
	weir_vec_release(&s->changed);
	weir_vec_release(&s->heap);
	weir_vec_release(&s->spawn);
	weir_vec_release(&s->dirty);
	weir_batch_release(&s->batch);
	weir_batch_release(&s->retry);
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	if (s->loop)
		weir_loop_free(s->loop);
	weir_store_close(s->st);
	free((char *)s->o.home);
	free((char *)s->o.dags_folder);
	free((char *)s->o.weir_exe);
	free((char *)s->o.task_exe);
	free((char *)s->o.database_url);
	free(s->logs_dir);
	free(s);
}
