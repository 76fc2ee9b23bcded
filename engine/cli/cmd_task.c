/*
 * cmd_task.c: weir task run | tasks test | tasks logs.
 *
 *   task run     the task process itself (engine/taskrun.c does the work)
 *   tasks test   one try of one task in the foreground, in this process,
 *                with a throwaway home: no database, no scheduler
 *   tasks logs   prints (and follows) a try's log under WEIR_HOME
 *
 * Paths of a try's files come from weir_spec_try_path() only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/str.h"
#include "common/time.h"
#include "common/vec.h"
#include "common/xalloc.h"
#include "engine/cli/cli.h"
#include "engine/connections.h"
#include "engine/dag.h"
#include "engine/spec.h"
#include "engine/store.h"
#include "engine/taskrun.h"
#include "engine/uuid.h"
#include "common/banned.h"

/* How often a follower looks for new log lines. */
#define FOLLOW_POLL_MS 100

/* ------------------------------------------------------------------ */
/* following a log                                                      */
/* ------------------------------------------------------------------ */

/* Copies what fd holds beyond *off to stdout; returns bytes copied. */
static size_t copy_new(int fd, off_t *off)
{
	char buf[64 * 1024];
	size_t total = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), *off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		*off += n;
		total += (size_t)n;
	}
	fflush(stdout);
	return total;
}

typedef bool follow_done_fn(void *arg);

/*
 * Prints path as it grows until done(arg) is true, then what is left.
 * The writer finishes the log before it signals "done" (the result file
 * is written after the last log line), so nothing is missed.  A log that
 * does not exist yet is waited for.
 */
static void follow(const char *path, follow_done_fn *done, void *arg)
{
	int fd = -1;
	off_t off = 0;

	for (;;) {
		bool last = done(arg);
		if (fd < 0)
			fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			copy_new(fd, &off);
		if (last)
			break;
		poll(NULL, 0, FOLLOW_POLL_MS);
	}
	if (fd >= 0)
		close(fd);
}

/* ------------------------------------------------------------------ */
/* weir task run                                                        */
/* ------------------------------------------------------------------ */

int weir_cmd_task_run(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"try", required_argument, NULL, 't'},
		{"attempt", required_argument, NULL, 'a'},
		{"spec", required_argument, NULL, 's'},
		{"report-fd", required_argument, NULL, 'r'},
		{"lock-fd", required_argument, NULL, 'l'},
		{0, 0, 0, 0},
	};

	/* --help and unknown options, the CLI's way; weir_taskrun_main parses
	 * again (it is also the entry point of other starters). */
	while (weir_cli_getopt(cli, argc, argv, "", opts) != -1)
		;
	return weir_taskrun_main(argc, argv);
}

/* ------------------------------------------------------------------ */
/* weir tasks test                                                      */
/* ------------------------------------------------------------------ */

struct test_follow {
	const char *log_path;
	atomic_bool done;
};

static bool test_done(void *arg)
{
	struct test_follow *f = arg;
	return atomic_load(&f->done);
}

static void *test_follower(void *arg)
{
	struct test_follow *f = arg;
	follow(f->log_path, test_done, f);
	return NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* A value given on the command line: JSON, or else the text as a string. */
static json_t *json_or_string(const char *s)
{
	json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);
	return v ? v : json_string(s);
}

/*
 * The data interval that contains date: [last fire <= date, next fire),
 * as the scheduler would give the run; [date, date] when unscheduled.
 */
static void interval_around(const struct weir_dag *dag, int64_t date, int64_t *start, int64_t *end)
{
	const struct weir_tz *tz = dag->tz ? dag->tz : weir_tz_utc();
	int64_t prev, next;

	*start = *end = date;
	if (!dag->schedule || (dag->cron.flags & WEIR_CRON_ONCE))
		return;
	if (weir_cron_prev(&dag->cron, tz, date + 1, &prev) == 0 &&
	    weir_cron_next(&dag->cron, tz, prev, &next) == 0) {
		*start = prev;
		*end = next;
	}
}

int weir_cmd_tasks_test(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"param", required_argument, NULL, 'p'},
		{"conf", required_argument, NULL, 'c'},
		{"date", required_argument, NULL, 'd'},
		{"xcom", required_argument, NULL, 'x'},
		{0, 0, 0, 0},
	};
	struct weir_spec_run run = WEIR_SPEC_RUN_INIT;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct test_follow tf = {0};
	struct weir_dag *dag = NULL;
	struct weir_store *st = NULL;
	struct weir_uuid uuid;
	json_t *given = json_object(), *params = NULL, *conf = NULL, *xcom = json_object();
	json_t *spec = NULL, *result = NULL;
	char attempt[WEIR_UUID_STRLEN], iso[WEIR_ISO_BUFSZ], home[256];
	const char *field, *tmpbase = getenv("TMPDIR");
	char *run_id = NULL, *text;
	int64_t date = weir_now_us() / WEIR_US_PER_SEC * WEIR_US_PER_SEC, xmax = 0;
	long task;
	bool have_home = false;
	pthread_t th;
	int c, rc = WEIR_EXIT_INVALID;

	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (c == 'p') {
			const char *eq = strchr(optarg, '=');
			char *name;
			if (!eq || eq == optarg) {
				rc = weir_cli_usage_error(cli, "--param needs NAME=VALUE, not \"%s\"", optarg);
				goto out;
			}
			name = weir_xstrndup(optarg, (size_t)(eq - optarg));
			json_object_set_new(given, name, json_or_string(eq + 1));
			free(name);
		} else if (c == 'c') {
			json_decref(conf);
			conf = json_loads(optarg, 0, NULL);
			if (!json_is_object(conf)) {
				rc = weir_cli_usage_error(cli, "--conf must be a JSON object, not \"%s\"", optarg);
				goto out;
			}
		} else if (c == 'd') {
			bool has_off;
			if (weir_iso_parse(optarg, &date, &has_off) < 0) {
				rc = weir_cli_usage_error(cli, "--date must be an ISO-8601 date or instant like 2026-11-23 or 2026-11-23T06:00:00Z, not \"%s\"",
							  optarg);
				goto out;
			}
		} else if (c == 'x') {
			/* T.K=JSON: keys have no dots, task ids may. */
			const char *eq = strchr(optarg, '=');
			const char *dot = NULL;
			char *t, *k;
			json_t *per;
			for (const char *p = optarg; eq && p < eq; p++)
				if (*p == '.')
					dot = p;
			if (!eq || !dot || dot == optarg || dot + 1 == eq) {
				rc = weir_cli_usage_error(cli, "--xcom needs TASK.KEY=JSON, not \"%s\"", optarg);
				goto out;
			}
			t = weir_xstrndup(optarg, (size_t)(dot - optarg));
			k = weir_xstrndup(dot + 1, (size_t)(eq - dot - 1));
			per = json_object_get(xcom, t);
			if (!per) {
				per = json_object();
				json_object_set_new(xcom, t, per);
			}
			json_object_set_new(per, k, json_or_string(eq + 1));
			free(t);
			free(k);
		}
	}
	if (argc - optind != 2) {
		rc = weir_cli_usage_error(cli, "expected DAG_FILE TASK");
		goto out;
	}
	rc = weir_cli_config(cli);
	if (rc != 0)
		goto out;
	rc = WEIR_EXIT_INVALID;
	if (weir_str_to_i64(weir_config_get(&cli->cfg, WEIR_CFG_XCOM_MAX_BYTES), &xmax) < 0 || xmax < 1)
		xmax = WEIR_SPEC_XCOM_MAX_DEFAULT;

	dag = weir_cli_load_dag(argv[optind]);
	if (!dag)
		goto out;
	task = weir_dag_task_index(dag, argv[optind + 1]);
	if (task < 0) {
		const char **ids = weir_xcalloc(dag->ntasks + 1, sizeof(char *));
		const char *s;
		for (uint32_t i = 0; i < dag->ntasks; i++)
			ids[i] = dag->tasks[i].id;
		s = weir_str_suggest(argv[optind + 1], ids);
		weir_cli_error("DAG \"%s\" has no task \"%s\"%s%s%s", dag->id, argv[optind + 1],
			       s ? " (did you mean \"" : "", s ? s : "", s ? "\"?)" : "");
		free(ids);
		goto out;
	}
	if (weir_dag_resolve_params(dag, given, &params, &field, &err) < 0) {
		weir_cli_error("invalid params: %s", err.buf);
		goto out;
	}

	snprintf(home, sizeof(home), "%s/weir-tasks-test-XXXXXX", tmpbase && *tmpbase ? tmpbase : "/tmp");
	if (!mkdtemp(home)) {
		weir_cli_error("could not create a temporary folder in \"%s\": %s",
			       tmpbase && *tmpbase ? tmpbase : "/tmp", strerror(errno));
		goto out;
	}
	have_home = true;
	weir_uuid_v7(&uuid);
	weir_uuid_format(&uuid, attempt);
	run_id = weir_xasprintf("test__%s", weir_iso_format(date, WEIR_ISO_OFFSET, iso));
	run.run_id = run_id;
	run.logical_date = date;
	interval_around(dag, date, &run.interval_start, &run.interval_end);
	run.params = params;
	run.conf = conf;
	run.xcom = xcom;
	run.try_number = 1;
	run.attempt_id = attempt;
	run.xcom_max_bytes = (size_t)xmax;
	run.home = home;
	run.container_runtime = weir_config_get(&cli->cfg, WEIR_CFG_CONTAINER_RUNTIME);
	/* Connections (and weir's database for trigger_dag / run_sensor), as
	 * a scheduler would give them: the database is optional here. */
	{
		const struct weir_task *t = &dag->tasks[task];
		json_t *names = json_array();
		weir_connections_referenced(t->op, t->config, names);
		if ((json_array_size(names) || (t->op && t->op->needs_store)) && weir_cli_store(cli, &st) != 0) {
			fprintf(stderr, "weir: continuing without the database: connections come from the connections file only\n");
			st = NULL;
		}
		json_decref(names);
		if (st && t->op && t->op->needs_store) {
			run.database_url = weir_config_get(&cli->cfg, WEIR_CFG_DATABASE_URL);
			if (!*run.database_url && weir_cli_private_cluster_url(cli, &run.database_url) != 0)
				run.database_url = NULL;
		}
		run.connections = weir_connections_resolve(st, weir_config_get(&cli->cfg, WEIR_CFG_HOME), t->op,
							   t->config);
	}
	spec = weir_spec_build(dag, (uint32_t)task, &run);

	/* The log goes to stdout as it is written, from a second thread
	 * (the task runs in this one). */
	tf.log_path = json_string_value(json_object_get(spec, "log_path"));
	atomic_init(&tf.done, false);
	if (pthread_create(&th, NULL, test_follower, &tf) != 0) {
		result = weir_taskrun(spec, -1);
		follow(tf.log_path, test_done, &tf);
	} else {
		result = weir_taskrun(spec, -1);
		atomic_store(&tf.done, true);
		pthread_join(th, NULL);
	}
	text = json_dumps(result, JSON_COMPACT);
	fprintf(stderr, "%s\n", text);
	free(text);
	rc = strcmp(json_string_value(json_object_get(result, "outcome")), "success") ? WEIR_EXIT_INVALID
										    : WEIR_EXIT_OK;
out:
	if (have_home)
		nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	json_decref(result);
	json_decref(spec);
	json_decref(given);
	json_decref(params);
	json_decref(conf);
	json_decref(xcom);
	free(run_id);
	if (dag)
		weir_dag_unref(dag);
	json_decref(run.connections);
	weir_store_close(st);
	weir_buf_release(&err);
	return rc;
}

/* ------------------------------------------------------------------ */
/* weir tasks logs                                                      */
/* ------------------------------------------------------------------ */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return x < y ? -1 : x > y;
}

static bool result_exists(void *arg)
{
	struct stat st;
	return stat((const char *)arg, &st) == 0;
}

int weir_cmd_tasks_logs(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"try", required_argument, NULL, 't'},
		{"follow", no_argument, NULL, 'f'},
		{0, 0, 0, 0},
	};
	WEIR_VEC(int) tries = WEIR_VEC_INIT;
	struct weir_buf list = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *home, *dag_id, *run_id, *task_id;
	char *dir = NULL, *log = NULL, *res = NULL;
	bool follow_it = false, found = false;
	long try_number = 0;
	int c, rc;
	DIR *d;
	struct dirent *e;

	while ((c = weir_cli_getopt(cli, argc, argv, "f", opts)) != -1) {
		if (c == 't')
			try_number = weir_cli_parse_count(cli, "--try", optarg, 1000000);
		else if (c == 'f')
			follow_it = true;
	}
	if (argc - optind != 3)
		return weir_cli_usage_error(cli, "expected DAG RUN TASK");
	dag_id = argv[optind];
	run_id = argv[optind + 1];
	task_id = argv[optind + 2];
	rc = weir_cli_config(cli);
	if (rc != 0)
		return rc;
	home = weir_config_get(&cli->cfg, WEIR_CFG_HOME);
	rc = WEIR_EXIT_INVALID;

	dir = weir_spec_try_path(home, dag_id, run_id, task_id, 0, NULL);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		int t = weir_spec_try_of(e->d_name, WEIR_SPEC_LOG);
		if (t > 0)
			weir_vec_push(&tries, t);
	}
	if (d)
		closedir(d);
	if (tries.n)
		qsort(tries.v, tries.n, sizeof(int), cmp_int);
	for (size_t i = 0; i < tries.n; i++) {
		weir_buf_addf(&list, "%s%d", i ? ", " : "", tries.v[i]);
		found |= tries.v[i] == try_number;
	}
	if (tries.n == 0) {
		weir_cli_error("no logs for task \"%s\" in run \"%s\" of DAG \"%s\" (nothing in \"%s\")",
			       task_id, run_id, dag_id, dir);
		goto out;
	}
	if (try_number == 0) {
		try_number = tries.v[tries.n - 1];
	} else if (!found) {
		weir_cli_error("no log for try %ld of task \"%s\" in run \"%s\" of DAG \"%s\" (tries with logs: %s)",
			       try_number, task_id, run_id, dag_id, list.buf);
		goto out;
	}
	log = weir_spec_try_path(home, dag_id, run_id, task_id, (int)try_number, WEIR_SPEC_LOG);
	res = weir_spec_try_path(home, dag_id, run_id, task_id, (int)try_number, WEIR_SPEC_RESULT);
	if (follow_it) {
		follow(log, result_exists, res);
	} else {
		int fd = open(log, O_RDONLY | O_CLOEXEC);
		off_t off = 0;
		if (fd < 0) {
			weir_cli_error("could not open log \"%s\": %s", log, strerror(errno));
			goto out;
		}
		copy_new(fd, &off);
		close(fd);
	}
	rc = WEIR_EXIT_OK;
out:
	weir_vec_release(&tries);
	weir_buf_release(&list);
	free(dir);
	free(log);
	free(res);
	return rc;
}
