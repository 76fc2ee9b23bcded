/*
 * driver.c: task-instance transitions per second through the real store
 * (bench/store/run.sh builds and runs it).
 *
 *   driver CONNINFO DAG_ID PER_APPLY SECONDS START_AT [PREALLOC]
 *
 * Creates runs with task instances (untimed), waits until the wall clock
 * reaches START_AT (Unix seconds, so several drivers start together), then
 * for SECONDS moves task instances through
 *   none -> scheduled -> queued -> running -> success
 * (queued: try 1 with a new attempt id; running and success fenced by it),
 * PER_APPLY transitions per weir_store_apply() (one transaction each).  The
 * connection uses application_name weir-scheduler, like the scheduler, so
 * the notification triggers stay quiet as they do for the scheduler.
 *
 * Prints one line:
 *   transitions=N applies=N seconds=S tps=T commits_per_s=C p50_us=.. p99_us=.. refills=N late_ms=L
 * (tps = transitions per second; p50/p99: latency of one apply; refills: runs
 * created during the timed part, whose time is excluded; late_ms > 0: the
 * set-up ended after START_AT, so this driver started late).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/time.h"
#include "engine/store.h"

#define TIS_PER_RUN 1000

static const enum weir_ti_state steps[][2] = {
	{WEIR_TI_NONE, WEIR_TI_SCHEDULED},
	{WEIR_TI_SCHEDULED, WEIR_TI_QUEUED},
	{WEIR_TI_QUEUED, WEIR_TI_RUNNING},
	{WEIR_TI_RUNNING, WEIR_TI_SUCCESS},
};

struct ti {
	int64_t run_pk;
	char task_id[16];
	struct weir_uuid attempt;
};

static struct weir_store *st;
static const char *dag_id;
static struct ti *tis;
static size_t ntis, cap;
static char hostname[256];

static void die(const char *what, struct weir_buf *err)
{
	fprintf(stderr, "driver: %s: %s\n", what, err->buf ? err->buf : "");
	exit(1);
}

/* A run in RECEIVED with TIS_PER_RUN task instances in state none. */
static void add_run(void)
{
	static int seq;
	struct weir_batch b;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_run_new r;
	struct weir_ti_new t[TIS_PER_RUN];
	char ids[TIS_PER_RUN][16], run_id[96];
	int64_t pk;

	memset(&r, 0, sizeof(r));
	snprintf(run_id, sizeof(run_id), "bench_%d_%d_%lld", (int)getpid(), seq++,
		 (long long)weir_now_us());
	r.dag_id = dag_id;
	r.run_id = run_id;
	r.run_type = "manual";
	r.logical_date = weir_now_us();
	r.interval_start = r.interval_end = WEIR_TIME_NONE;
	memset(t, 0, sizeof(t));
	for (int i = 0; i < TIS_PER_RUN; i++) {
		snprintf(ids[i], sizeof(ids[i]), "task_%04d", i);
		t[i].task_id = ids[i];
		t[i].pool_slots = 1;
		t[i].priority = 1;
	}
	weir_batch_init(&b, "bench");
	weir_batch_run_create(&b, &r);
	weir_batch_tis_create(&b, 0, 0, dag_id, t, TIS_PER_RUN);
	if (weir_store_apply(st, &b, &err) < 0)
		die("creating a run", &err);
	pk = b.ops.v[0].u.run_create.run_pk;
	weir_batch_release(&b);
	weir_buf_release(&err);
	if (ntis + TIS_PER_RUN > cap) {
		cap = (ntis + TIS_PER_RUN) * 2;
		tis = realloc(tis, cap * sizeof(*tis));
	}
	for (int i = 0; i < TIS_PER_RUN; i++) {
		tis[ntis].run_pk = pk;
		memcpy(tis[ntis].task_id, ids[i], sizeof(ids[i]));
		ntis++;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_batch b;
	int per_apply;
	double seconds, start_at;
	size_t prealloc, next = 0, step_of_next = 0;
	int64_t t0, t_end, excluded = 0, transitions = 0, applies = 0, refills = 0;
	int64_t *lat = NULL;
	double late_ms;
	size_t nlat = 0, latcap = 0;

	if (argc < 6) {
		fprintf(stderr, "usage: driver CONNINFO DAG_ID PER_APPLY SECONDS START_AT [PREALLOC]\n");
		return 2;
	}
	dag_id = argv[2];
	per_apply = atoi(argv[3]);
	seconds = atof(argv[4]);
	start_at = atof(argv[5]);
	prealloc = argc > 6 ? (size_t)atol(argv[6]) : 10000;
	if (per_apply < 1 || seconds <= 0)
		return 2;
	gethostname(hostname, sizeof(hostname) - 1);
	if (weir_pg_store_open(argv[1], &st, &err) < 0)
		die("connecting", &err);
	if (weir_pg_store_set_app(st, "weir-scheduler", &err) < 0)
		die("application_name", &err);
	while (ntis < prealloc)
		add_run();
	/* Start together with the other drivers. */
	late_ms = ((double)weir_now_us() / 1e6 - start_at) * 1000;
	for (;;) {
		double now = (double)weir_now_us() / 1e6;
		if (now >= start_at)
			break;
		usleep((useconds_t)((start_at - now) * 1e6 > 100000 ? 100000 : (start_at - now) * 1e6));
	}
	weir_batch_init(&b, "bench");
	t0 = weir_mono_us();
	t_end = t0 + (int64_t)(seconds * 1e6);
	while (weir_mono_us() - excluded < t_end) {
		int64_t a0;
		int rc;
		for (int k = 0; k < per_apply; k++) {
			struct ti *ti;
			struct weir_sop *op;
			if (next >= ntis) {
				int64_t r0 = weir_mono_us();
				add_run();
				refills++;
				excluded += weir_mono_us() - r0;
			}
			ti = &tis[next];
			op = weir_batch_ti_state(&b, ti->run_pk, ti->task_id, steps[step_of_next][0],
						 steps[step_of_next][1], NULL, weir_now_us());
			switch (step_of_next) {
			case 1:
				weir_uuid_v7(&ti->attempt);
				op->u.ti_state.try_number = 1;
				op->u.ti_state.attempt = ti->attempt;
				op->u.ti_state.executor = "local";
				op->u.ti_state.log_path = "/dev/null";
				break;
			case 2:
				op->u.ti_state.fenced = true;
				op->u.ti_state.fence = ti->attempt;
				op->u.ti_state.pid = (int)getpid();
				op->u.ti_state.hostname = hostname;
				op->u.ti_state.process_start = 12345;
				break;
			case 3:
				op->u.ti_state.fenced = true;
				op->u.ti_state.fence = ti->attempt;
				op->u.ti_state.has_exit_code = true;
				op->u.ti_state.exit_code = 0;
				break;
			}
			if (++step_of_next == 4) {
				step_of_next = 0;
				next++;
			}
		}
		a0 = weir_mono_us();
		rc = weir_store_apply(st, &b, &err);
		if (rc < 0)
			die("apply", &err);
		if (nlat == latcap) {
			latcap = latcap ? latcap * 2 : 4096;
			lat = realloc(lat, latcap * sizeof(*lat));
		}
		lat[nlat++] = weir_mono_us() - a0;
		transitions += b.ops.n;
		applies++;
		weir_batch_reset(&b);
	}
	{
		double secs = (double)(weir_mono_us() - t0 - excluded) / 1e6;
		qsort(lat, nlat, sizeof(*lat), cmp_i64);
		printf("transitions=%lld applies=%lld seconds=%.3f tps=%.1f commits_per_s=%.1f "
		       "p50_us=%lld p99_us=%lld refills=%lld late_ms=%.0f\n",
		       (long long)transitions, (long long)applies, secs, (double)transitions / secs,
		       (double)applies / secs, (long long)lat[nlat / 2],
		       (long long)lat[nlat * 99 / 100], (long long)refills, late_ms);
	}
	weir_batch_release(&b);
	weir_buf_release(&err);
	free(lat);
	free(tis);
	weir_store_close(st);
	return 0;
}
