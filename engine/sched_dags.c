/*
 * sched_dags.c: the scheduler's DAGs: the folder, its changes, ownership
 * and cron.
 *
 * Every scheduler parses the same DAG folder and records what it finds
 * (valid DAGs and import errors; both idempotent upserts).  Each DAG is
 * then driven by exactly one scheduler, its owner, which alone creates its
 * scheduled runs and starts its tasks.  An invalid edit of a file keeps the
 * last good version (in memory, or the source recorded in the database)
 * and records the errors.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/str.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/sched_int.h"

struct sched_dag *sched_dag_get(struct weir_sched *s, const char *id, bool create)
{
	struct sched_dag *sd = weir_hmap_get(&s->dags, id);

	if (sd || !create)
		return sd;
	sd = weir_xcalloc(1, sizeof(*sd));
	sd->s = s;
	sd->id = weir_xstrdup(id);
	sd->last_interval_end = WEIR_TIME_NONE;
	weir_list_init(&sd->runs);
	weir_hmap_put(&s->dags, id, sd);
	return sd;
}

/* The last good version of a file's DAG, from the database. */
static struct weir_dag *load_from_store(struct weir_sched *s, const char *file)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *p[1] = {file};
	json_t *row = NULL;
	struct weir_dag *dag = NULL;

	if (weir_store_query_json(s->st, "dags.source_by_file", 1, p, &row, &err) == 0) {
		const char *src = json_string_value(json_object_get(row, "source"));
		struct weir_diags d;
		weir_diags_init(&d, file);
		if (src && weir_dag_load_text(file, src, strlen(src), &dag, &d) < 0)
			dag = NULL;
		weir_diags_release(&d);
	}
	json_decref(row);
	weir_buf_release(&err);
	return dag;
}

/* Loads one file and records the outcome.  Returns the DAG id, or NULL. */
static const char *load_file(struct weir_sched *s, const char *file, bool startup)
{
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct sched_dag *sd;
	const char *id = NULL;
	int rc;

	weir_diags_init(&d, file);
	rc = weir_dag_load_file(file, &dag, &d);
	if (rc == 0) {
		sd = sched_dag_get(s, dag->id, true);
		if (sd->dag && sd->file && strcmp(sd->file, file) && sd->active &&
		    weir_hmap_get(&s->files, sd->file)) {
			/* Two files, one id: the first one keeps it. */
			weir_diag_add(&d, 0, 0, "DAG id \"%s\" is already defined in \"%s\"", dag->id, sd->file);
			weir_dag_unref(dag);
			dag = NULL;
			rc = WEIR_EINVALID;
		}
	}
	if (rc == 0) {
		rc = weir_store_sync_dag(s->st, dag, &err);
		if (rc < 0) {
			weir_error("could not record DAG \"%s\" from %s: %s", dag->id, file, err.buf);
		}
		if (!sd->dag || strcmp(sd->dag->hash, dag->hash))
			weir_info("loaded DAG %s from %s (%u tasks)", dag->id, file, dag->ntasks);
		weir_dag_unref(sd->dag);
		sd->dag = dag;
		free(sd->file);
		sd->file = weir_xstrdup(file);
		sd->active = true;
		free(weir_hmap_put(&s->files, file, weir_xstrdup(sd->id)));
		id = sd->id;
	} else {
		struct weir_buf msg = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		const char *old = weir_hmap_get(&s->files, file);
		weir_diags_format(&d, &msg);
		weir_warn("invalid DAG file %s:\n%s", file, msg.buf);
		weir_buf_release(&msg);
		if (weir_store_set_import_errors(s->st, file, &d, &err) < 0)
			weir_error("could not record import errors of %s: %s", file, err.buf);
		if (old) {
			id = old; /* the last good version stays */
		} else if (startup) {
			struct weir_dag *good = load_from_store(s, file);
			if (good) {
				sd = sched_dag_get(s, good->id, true);
				weir_dag_unref(sd->dag);
				sd->dag = good;
				free(sd->file);
				sd->file = weir_xstrdup(file);
				sd->active = true;
				free(weir_hmap_put(&s->files, file, weir_xstrdup(sd->id)));
				weir_info("DAG %s: using its last valid version until %s is fixed", sd->id, file);
				id = sd->id;
			}
		}
	}
	weir_diags_release(&d);
	weir_buf_release(&err);
	return id;
}

/* A file disappeared: its DAG stops (runs in flight finish). */
static void file_gone(struct weir_sched *s, const char *file)
{
	char *id = weir_hmap_del(&s->files, file);
	struct sched_dag *sd = id ? sched_dag_get(s, id, false) : NULL;

	if (sd && sd->file && !strcmp(sd->file, file)) {
		weir_info("DAG %s: file %s removed; no new runs", sd->id, file);
		sd->active = false;
		if (sd->cron_timer) {
			weir_timer_del(s->loop, sd->cron_timer);
			sd->cron_timer = 0;
		}
	}
	free(id);
}

static void record_missing(struct weir_sched *s)
{
	struct weir_strvec files = WEIR_STRVEC_INIT;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	weir_dag_files(s->o.dags_folder, &files, &err);
	weir_buf_reset(&err);
	if (weir_store_deactivate_missing(s->st, s->o.dags_folder, (const char *const *)files.v,
					  files.n, &err) < 0)
		weir_error("could not record removed DAG files: %s", err.buf);
	weir_strvec_clear(&files);
	weir_buf_release(&err);
}

int sched_dags_scan(struct weir_sched *s, struct weir_buf *err)
{
	struct weir_strvec files = WEIR_STRVEC_INIT;
	int rc = weir_dag_files(s->o.dags_folder, &files, err);
	size_t valid = 0;

	if (rc < 0) {
		weir_strvec_clear(&files);
		return rc;
	}
	for (size_t i = 0; i < files.n; i++)
		valid += load_file(s, files.v[i], true) != NULL;
	weir_info("DAG folder %s: %zu files, %zu DAGs", s->o.dags_folder, files.n, valid);
	weir_strvec_clear(&files);
	record_missing(s);
	return 0;
}

static int on_claim(void *arg, const struct weir_dag_claim *c)
{
	struct weir_sched *s = arg;
	struct sched_dag *sd = sched_dag_get(s, c->dag_id, true);

	if (sd->owned) {
		/* A lease renewal may see a (un)pause before its notification
		 * arrives: act on it as the notification would (an unpause
		 * starts the runs it held), or that one finds nothing to do. */
		sched_dag_set_paused(s, sd, c->is_paused);
		return 0;
	}
	sd->owned = true;
	sd->paused = c->is_paused;
	sd->last_interval_end = c->last_interval_end;
	weir_info("driving DAG %s%s", sd->id, sd->paused ? " (paused)" : "");
	return 0;
}

int sched_dags_claim(struct weir_sched *s, struct weir_buf *err)
{
	size_t i = 0, known = 0, owned_before = 0;
	const char *k;
	void *v;
	int rc, max;

	while (weir_hmap_next(&s->dags, &i, &k, &v)) {
		struct sched_dag *sd = v;
		known += sd->active;
		owned_before += sd->owned;
	}
	/* A fair share: with N live schedulers each takes about 1/N. */
	max = (int)((known + (size_t)s->live_schedulers - 1) / (size_t)(s->live_schedulers > 0 ? s->live_schedulers : 1));
	max -= (int)owned_before;
	if (max < 0)
		max = 0;
	if (max == 0 && owned_before == 0 && known == 0)
		max = 1000; /* DAGs we have not parsed (another folder): take some */
	rc = weir_store_claim_dags(s->st, &s->id, max, s->o.heartbeat_timeout_ms, on_claim, s, err);
	if (rc < 0)
		return rc;
	/* More than a fair share while others are alive: give back idle DAGs
	 * (no runs here) so the other schedulers can claim them. */
	if (s->live_schedulers > 1) {
		size_t share = (known + (size_t)s->live_schedulers - 1) / (size_t)s->live_schedulers;
		size_t owned = 0;
		char ids[WEIR_UUID_STRLEN];
		i = 0;
		while (weir_hmap_next(&s->dags, &i, &k, &v))
			owned += ((struct sched_dag *)v)->owned;
		i = 0;
		while (owned > share && weir_hmap_next(&s->dags, &i, &k, &v)) {
			struct sched_dag *sd = v;
			const char *p[2] = {sd->id, weir_uuid_format(&s->id, ids)};
			long rows = 0;
			if (!sd->owned || !weir_list_empty(&sd->runs))
				continue;
			if (weir_store_exec(s->st, "dags.release", 2, p, &rows, err) < 0)
				return WEIR_EDB;
			sd->owned = false;
			if (sd->cron_timer) {
				weir_timer_del(s->loop, sd->cron_timer);
				sd->cron_timer = 0;
			}
			weir_info("released DAG %s to balance %d schedulers", sd->id, s->live_schedulers);
			owned--;
		}
	}
	i = 0;
	while (weir_hmap_next(&s->dags, &i, &k, &v)) {
		struct sched_dag *sd = v;
		if (sd->owned)
			sched_dag_schedule(s, sd);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* cron                                                                 */
/* ------------------------------------------------------------------ */

static int unfinished_runs(struct sched_dag *sd)
{
	struct weir_list *pos;
	int n = 0;

	weir_list_foreach(pos, &sd->runs) {
		struct sched_run *r = weir_list_entry(pos, struct sched_run, link);
		n += !weir_run_state_terminal(r->state);
	}
	return n;
}

/* Creates a scheduled run in its own transaction; 0 or an error. */
static int create_run(struct weir_sched *s, struct sched_dag *sd, int64_t logical, int64_t istart,
		      int64_t iend, int64_t next_after, int64_t next_logical)
{
	struct weir_batch b;
	struct weir_run_new r = {0};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char iso[WEIR_ISO_BUFSZ], id[64];
	int rc;

	snprintf(id, sizeof(id), "scheduled__%s", weir_iso_format(logical, WEIR_ISO_OFFSET, iso));
	r.dag_id = sd->id;
	r.run_id = id;
	r.run_type = "scheduled";
	r.logical_date = logical;
	r.interval_start = istart;
	r.interval_end = iend;
	r.dag_hash = sd->dag->hash;
	{
		/* Scheduled runs get the params' defaults (a DAG that requires
		 * a param without default cannot be scheduled: say so). */
		const char *field;
		if (weir_dag_resolve_params(sd->dag, NULL, &r.params, &field, &err) < 0) {
			weir_error("DAG %s: cannot create scheduled run %s: %s", sd->id, id, err.buf);
			weir_buf_release(&err);
			return WEIR_EINVALID;
		}
	}
	weir_batch_init(&b, "scheduler");
	weir_batch_run_create(&b, &r);
	json_decref(r.params);
	weir_batch_dag_schedule(&b, sd->id, iend == WEIR_TIME_NONE ? logical : iend, next_after,
				next_logical);
	rc = weir_store_apply(s->st, &b, &err);
	if (rc == WEIR_EEXISTS) {
		/* Already there (a previous life of ours committed it): fine. */
		rc = 0;
	} else if (rc < 0) {
		weir_error("DAG %s: could not create run %s: %s", sd->id, id, err.buf);
	} else {
		weir_info("DAG %s: created run %s", sd->id, id);
		rc = sched_runs_load(s, b.ops.v[0].u.run_create.run_pk, &err);
	}
	weir_batch_release(&b);
	weir_buf_release(&err);
	return rc;
}

static int64_t cron_tick(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct sched_dag *sd = arg;

	(void)loop;
	(void)id;
	sd->cron_timer = 0;
	sched_dag_schedule(sd->s, sd);
	return WEIR_LOOP_NOMORE;
}

/*
 * Creates the scheduled runs that are due and arms a timer for the next.
 * With catchup, every missed interval gets a run (no more unfinished runs
 * than max_active_runs at a time; the rest follow as runs finish); without,
 * only the latest complete interval.
 */
void sched_dag_schedule(struct weir_sched *s, struct sched_dag *sd)
{
	const struct weir_dag *dag = sd->dag;
	int64_t now = weir_now_us();

	if (sd->cron_timer) {
		weir_timer_del(s->loop, sd->cron_timer);
		sd->cron_timer = 0;
	}
	if (!sd->owned || sd->paused || !sd->active || !dag || !dag->schedule || s->stopping)
		return;
	if (dag->cron.flags & WEIR_CRON_ONCE) {
		int64_t at = dag->start_date != WEIR_TIME_NONE ? dag->start_date : now;
		if (sd->last_interval_end != WEIR_TIME_NONE)
			return;
		if (at > now) {
			sd->cron_timer = weir_timer_add(s->loop, (at - now) / 1000 + 1, cron_tick, sd);
			return;
		}
		if (create_run(s, sd, at, WEIR_TIME_NONE, WEIR_TIME_NONE, WEIR_TIME_NONE, WEIR_TIME_NONE) == 0)
			sd->last_interval_end = at;
		return;
	}
	for (int guard = 0; guard < 10000; guard++) {
		int64_t start, end, nstart, nend;
		int64_t after = sd->last_interval_end;

		if (after == WEIR_TIME_NONE)
			after = dag->start_date != WEIR_TIME_NONE ? dag->start_date - 1 : INT64_MIN / 2;
		if (weir_dag_next_interval(dag, after, &start, &end) < 0)
			return; /* past end_date */
		if (end > now) {
			/* Not due: wake up at its end (at most a minute away, so a
			 * wall-clock jump is noticed). */
			int64_t ms = (end - now) / 1000 + 1;
			sd->cron_timer = weir_timer_add(s->loop, ms > 60000 ? 60000 : ms, cron_tick, sd);
			return;
		}
		if (!dag->catchup) {
			/* Only the latest complete interval. */
			int64_t e2, s2;
			if (weir_cron_prev(&dag->cron, dag->tz, now + 1, &e2) == 0 &&
			    weir_cron_prev(&dag->cron, dag->tz, e2, &s2) == 0 && e2 > end &&
			    (dag->end_date == WEIR_TIME_NONE || s2 <= dag->end_date)) {
				start = s2;
				end = e2;
			}
		} else if (unfinished_runs(sd) >= dag->max_active_runs) {
			return; /* resumes when a run finishes */
		}
		if (weir_dag_next_interval(dag, end, &nstart, &nend) < 0)
			nstart = nend = WEIR_TIME_NONE;
		if (create_run(s, sd, start, start, end, nend, nstart) < 0)
			return;
		sd->last_interval_end = end;
	}
}

void sched_dag_set_paused(struct weir_sched *s, struct sched_dag *sd, bool paused)
{
	if (sd->paused == paused)
		return;
	sd->paused = paused;
	weir_info("DAG %s %s", sd->id, paused ? "paused" : "unpaused");
	if (!paused) {
		sched_dag_start_waiting(s, sd);
		sched_dag_schedule(s, sd);
	} else if (sd->cron_timer) {
		weir_timer_del(s->loop, sd->cron_timer);
		sd->cron_timer = 0;
	}
}

/* ------------------------------------------------------------------ */
/* inotify                                                              */
/* ------------------------------------------------------------------ */

/* Watches dir and, recursively, its subfolders. */
static void watch_dir(struct weir_sched *s, const char *dir)
{
	struct sched_watch w;
	DIR *d;
	struct dirent *e;
	int wd = inotify_add_watch(s->inotify_fd, dir,
				   IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
					   IN_ONLYDIR);

	if (wd < 0) {
		weir_warn("cannot watch %s for changes: %s", dir, strerror(errno));
		return;
	}
	for (size_t i = 0; i < s->watches.n; i++)
		if (s->watches.v[i].wd == wd)
			return; /* already watched */
	w.wd = wd;
	w.dir = weir_xstrdup(dir);
	weir_vec_push(&s->watches, w);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] != '.' && e->d_type == DT_DIR) {
			char *sub = weir_xasprintf("%s/%s", dir, e->d_name);
			watch_dir(s, sub);
			free(sub);
		}
	}
	closedir(d);
}

int sched_inotify_setup(struct weir_sched *s)
{
	s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->inotify_fd < 0)
		return -errno;
	watch_dir(s, s->o.dags_folder);
	return weir_loop_add_fd(s->loop, s->inotify_fd, WEIR_LOOP_READ, sched_inotify_read, s);
}

static int64_t rescan(struct weir_loop *loop, uint64_t id, void *arg)
{
	struct weir_sched *s = arg;
	(void)loop;
	(void)id;
	s->rescan_timer = 0;
	sched_dags_changed(s);
	return WEIR_LOOP_NOMORE;
}

void sched_inotify_read(struct weir_loop *loop, int fd, int mask, void *arg)
{
	struct weir_sched *s = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)mask;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			const char *dir = NULL;
			for (size_t i = 0; i < s->watches.n; i++)
				if (s->watches.v[i].wd == ev->wd)
					dir = s->watches.v[i].dir;
			if (dir && ev->len) {
				char *path = weir_xasprintf("%s/%s", dir, ev->name);
				if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
					watch_dir(s, path);
					weir_vec_push(&s->changed, weir_xstrdup(path));
				} else if (weir_dag_file_name(ev->name) || (ev->mask & IN_ISDIR)) {
					weir_vec_push(&s->changed, weir_xstrdup(path));
				}
				free(path);
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	/* Editors write files in several steps: wait for quiet. */
	if (s->changed.n && !s->rescan_timer)
		s->rescan_timer = weir_timer_add(loop, 100, rescan, s);
}

void sched_dags_changed(struct weir_sched *s)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	bool any = false;

	for (size_t i = 0; i < s->changed.n; i++) {
		char *path = s->changed.v[i];
		struct weir_strvec files = WEIR_STRVEC_INIT;
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = !strcmp(s->changed.v[j], path);
		if (!dup) {
			if (access(path, F_OK) == 0) {
				weir_buf_reset(&err);
				weir_dag_files(path, &files, &err);
				for (size_t k = 0; k < files.n; k++)
					load_file(s, files.v[k], false);
			} else {
				/* A removed file, or everything under a removed folder. */
				size_t it = 0;
				const char *k;
				void *v;
				struct weir_strvec gone = WEIR_STRVEC_INIT;
				size_t plen = strlen(path);
				while (weir_hmap_next(&s->files, &it, &k, &v))
					if (!strcmp(k, path) || (!strncmp(k, path, plen) && k[plen] == '/'))
						weir_strvec_push(&gone, k);
				for (size_t g = 0; g < gone.n; g++)
					file_gone(s, gone.v[g]);
				weir_strvec_clear(&gone);
			}
			any = true;
		}
		weir_strvec_clear(&files);
	}
	for (size_t i = 0; i < s->changed.n; i++)
		free(s->changed.v[i]);
	s->changed.n = 0;
	if (any) {
		record_missing(s);
		weir_buf_reset(&err);
		if (sched_dags_claim(s, &err) < 0)
			weir_error("could not claim DAGs: %s", err.buf);
		else
			sched_runs_load(s, 0, &err);
	}
	weir_buf_release(&err);
}
