/*
 * cmd_runs.c: weir dags list | trigger | pause | unpause | backfill and
 * weir runs list | show | abort.  They talk to the store; the scheduler
 * hears about every change through the database's notifications.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/time.h"
#include "engine/cli/cli.h"
#include "engine/runs.h"
#include "engine/store.h"

static const char *js(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "-";
}

/* "2026-11-23T10:00:00.123+00:00" -> "2026-11-23 10:00:00" */
static const char *short_ts(json_t *o, const char *k, char buf[32])
{
	const char *v = json_string_value(json_object_get(o, k));
	if (!v)
		return "-";
	snprintf(buf, 32, "%.19s", v);
	if (strlen(buf) > 10)
		buf[10] = ' ';
	return buf;
}

static int store_or_exit(struct weir_cli *cli, struct weir_store **st)
{
	return weir_cli_store(cli, st);
}

/* ------------------------------------------------------------------ */

int weir_cmd_dags_list(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0, 0, 0, 0}};
	struct weir_store *st = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *list = NULL, *errs = NULL, *d;
	bool json = false;
	size_t i;
	int c, rc;

	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1)
		if (c == 'f')
			json = !strcmp(optarg, "json");
	rc = store_or_exit(cli, &st);
	if (rc)
		return rc;
	rc = weir_store_query_json(st, "dags.list", 0, NULL, &list, &err);
	if (rc == 0)
		rc = weir_store_query_json(st, "import_errors.all", 0, NULL, &errs, &err);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	if (json) {
		json_t *o = json_pack("{s:O, s:O}", "dags", list, "import_errors", errs);
		weir_cli_print_json(o);
		json_decref(o);
		goto out;
	}
	printf("%-28s %-7s %-18s %-9s %-20s %s\n", "DAG", "PAUSED", "SCHEDULE", "LAST RUN", "NEXT RUN", "FILE");
	json_array_foreach(list, i, d) {
		char nb[32];
		json_t *last = json_object_get(d, "last_run");
		printf("%-28s %-7s %-18s %-9s %-20s %s%s\n", js(d, "dag_id"),
		       json_is_true(json_object_get(d, "is_paused")) ? "yes" : "no",
		       json_is_string(json_object_get(d, "schedule")) ? js(d, "schedule") : "(triggered)",
		       json_is_object(last) ? js(last, "state") : "-", short_ts(d, "next_run_after", nb),
		       js(d, "file_path"), json_is_true(json_object_get(d, "is_active")) ? "" : "  (inactive)");
	}
	json_array_foreach(errs, i, d)
		fprintf(stderr, "%s", js(d, "message"));
	rc = json_array_size(errs) ? WEIR_EXIT_INVALID : 0;
out:
	json_decref(list);
	json_decref(errs);
	weir_store_close(st);
	weir_buf_release(&err);
	return rc;
}

int weir_cmd_dags_trigger(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"conf", required_argument, NULL, 'c'},
		{"run-id", required_argument, NULL, 'r'},
		{"note", required_argument, NULL, 'n'},
		{0, 0, 0, 0},
	};
	struct weir_trigger_req req = {0};
	struct weir_trigger_res res;
	struct weir_store *st = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *conf = NULL;
	const char *field;
	char oid[WEIR_UUID_STRLEN];
	int c, rc;

	req.logical_date = req.interval_start = req.interval_end = WEIR_TIME_NONE;
	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (c == 'c') {
			json_error_t je;
			json_decref(conf);
			conf = json_loads(optarg, 0, &je);
			if (!json_is_object(conf)) {
				json_decref(conf);
				return weir_cli_usage_error(cli, "--conf must be a JSON object: %s",
							    conf ? "not an object" : je.text);
			}
		} else if (c == 'r') {
			req.run_id = optarg;
		} else if (c == 'n') {
			req.note = optarg;
		}
	}
	if (optind != argc - 1) {
		json_decref(conf);
		return weir_cli_usage_error(cli, "expected one DAG id");
	}
	rc = store_or_exit(cli, &st);
	if (rc) {
		json_decref(conf);
		return rc;
	}
	req.dag_id = argv[optind];
	req.run_type = "manual";
	req.conf = conf;
	req.actor = "cli";
	rc = weir_run_trigger(st, &req, &res, &field, &err);
	if (rc < 0) {
		weir_cli_error("%s%s%s%s", field ? "param " : "", field ? field : "", field ? ": " : "", err.buf);
		rc = WEIR_EXIT_INVALID;
	} else {
		printf("created run %s of %s (order %s): RECEIVED\n", res.run_id, req.dag_id,
		       weir_uuid_format(&res.order_id, oid));
		if (res.paused)
			fprintf(stderr, "note: DAG %s is paused: the run starts when it is unpaused (weir dags unpause %s)\n",
				req.dag_id, req.dag_id);
		json_decref(res.params);
	}
	json_decref(conf);
	weir_store_close(st);
	weir_buf_release(&err);
	return rc;
}

static int set_paused(struct weir_cli *cli, int argc, char **argv, bool paused)
{
	struct weir_store *st = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *p[2];
	long rows = 0;
	int rc;

	while (weir_cli_getopt(cli, argc, argv, "", NULL) != -1)
		;
	if (optind != argc - 1)
		return weir_cli_usage_error(cli, "expected one DAG id");
	rc = store_or_exit(cli, &st);
	if (rc)
		return rc;
	p[0] = argv[optind];
	p[1] = paused ? "true" : "false";
	rc = weir_store_exec(st, "dag.pause", 2, p, &rows, &err);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
	} else if (rows == 0) {
		weir_cli_error("DAG \"%s\" does not exist", argv[optind]);
		rc = WEIR_EXIT_INVALID;
	} else {
		printf("DAG %s %s\n", argv[optind], paused ? "paused" : "unpaused");
	}
	weir_store_close(st);
	weir_buf_release(&err);
	return rc;
}

int weir_cmd_dags_pause(struct weir_cli *cli, int argc, char **argv)
{
	return set_paused(cli, argc, argv, true);
}

int weir_cmd_dags_unpause(struct weir_cli *cli, int argc, char **argv)
{
	return set_paused(cli, argc, argv, false);
}

/* ------------------------------------------------------------------ */

static void progress(int done, int total, int ok, bool tty)
{
	int width = 40, fill = total ? done * width / total : width;

	if (!tty)
		return;
	fprintf(stderr, "\r[");
	for (int i = 0; i < width; i++)
		fputc(i < fill ? '#' : '.', stderr);
	fprintf(stderr, "] %d/%d runs done, %d succeeded ", done, total, ok);
	fflush(stderr);
}

int weir_cmd_dags_backfill(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"no-wait", no_argument, NULL, 'W'},
		{0, 0, 0, 0},
	};
	struct weir_store *st = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), pks = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_dag *dag = NULL;
	struct weir_batch b;
	int64_t from = WEIR_TIME_NONE, to = WEIR_TIME_NONE, s, e, after;
	json_t *existing = NULL;
	bool wait = true, off;
	const char *field;
	int c, rc, n = 0, total = 0;

	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if ((c == 'f' || c == 't') && weir_iso_parse(optarg, c == 'f' ? &from : &to, &off) < 0)
			return weir_cli_usage_error(cli, "--%s must be an ISO-8601 date or instant, not \"%s\"",
						    c == 'f' ? "from" : "to", optarg);
		if (c == 'W')
			wait = false;
	}
	if (optind != argc - 1 || from == WEIR_TIME_NONE || to == WEIR_TIME_NONE)
		return weir_cli_usage_error(cli, "expected a DAG id, --from and --to");
	if (to < from)
		return weir_cli_usage_error(cli, "--to is before --from");
	rc = store_or_exit(cli, &st);
	if (rc)
		return rc;
	rc = weir_run_load_dag(st, argv[optind], &dag, NULL, NULL, &err);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		weir_store_close(st);
		weir_buf_release(&err);
		return WEIR_EXIT_INVALID;
	}
	if (!dag->schedule || (dag->cron.flags & WEIR_CRON_ONCE)) {
		weir_cli_error("DAG %s has no cron schedule to backfill", dag->id);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	{
		const char *p[1] = {dag->id};
		rc = weir_store_query_json(st, "runs.logical_dates", 1, p, &existing, &err);
		if (rc < 0) {
			weir_cli_error("%s", err.buf);
			rc = WEIR_EXIT_INVALID;
			goto out;
		}
	}
	/* Every interval whose logical date (start) is in [from, to], minus
	 * the ones that already have a run. */
	weir_batch_init(&b, "cli:backfill");
	after = from - 1;
	for (int guard = 0; guard < 100000; guard++) {
		char iso[WEIR_ISO_BUFSZ], id[80];
		struct weir_run_new r = {0};
		bool have = false;
		size_t i;
		json_t *x;
		if (weir_cron_next(&dag->cron, dag->tz, after, &s) < 0 || s > to)
			break;
		if (weir_cron_next(&dag->cron, dag->tz, s, &e) < 0)
			break;
		after = s;
		json_array_foreach(existing, i, x)
			have |= json_integer_value(x) == s;
		if (have)
			continue;
		snprintf(id, sizeof(id), "backfill__%s", weir_iso_format(s, WEIR_ISO_OFFSET, iso));
		r.dag_id = dag->id;
		r.run_id = id;
		r.run_type = "backfill";
		r.logical_date = s;
		r.interval_start = s;
		r.interval_end = e;
		r.dag_hash = dag->hash;
		if (weir_dag_resolve_params(dag, NULL, &r.params, &field, &err) < 0) {
			weir_cli_error("cannot backfill %s: %s", dag->id, err.buf);
			weir_batch_release(&b);
			rc = WEIR_EXIT_INVALID;
			goto out;
		}
		weir_batch_run_create(&b, &r);
		json_decref(r.params);
		n++;
	}
	rc = weir_store_apply(st, &b, &err);
	if (rc < 0) {
		weir_cli_error("could not create the backfill runs: %s", err.buf);
		weir_batch_release(&b);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	weir_buf_addch(&pks, '{');
	for (size_t i = 0; i < b.ops.n; i++)
		weir_buf_addf(&pks, "%s%lld", i ? "," : "", (long long)b.ops.v[i].u.run_create.run_pk);
	weir_buf_addch(&pks, '}');
	weir_batch_release(&b);
	total = n;
	printf("backfill of %s: %d runs created (intervals already run are skipped)\n", dag->id, n);
	if (!wait || n == 0)
		goto out;
	{
		bool tty = isatty(2);
		const char *p[1] = {pks.buf};
		for (;;) {
			json_t *pr = NULL;
			int done, ok;
			weir_buf_reset(&err);
			if (weir_store_query_json(st, "runs.progress", 1, p, &pr, &err) < 0) {
				weir_cli_error("%s", err.buf);
				rc = WEIR_EXIT_INVALID;
				break;
			}
			done = (int)json_integer_value(json_object_get(pr, "done"));
			ok = (int)json_integer_value(json_object_get(pr, "success"));
			json_decref(pr);
			progress(done, total, ok, tty);
			if (done >= total) {
				if (tty)
					fputc('\n', stderr);
				printf("backfill of %s finished: %d of %d runs succeeded\n", dag->id, ok, total);
				rc = ok == total ? 0 : WEIR_EXIT_INVALID;
				break;
			}
			usleep(300000);
		}
	}
out:
	json_decref(existing);
	weir_dag_unref(dag);
	weir_store_close(st);
	weir_buf_release(&err);
	weir_buf_release(&pks);
	return rc;
}

/* ------------------------------------------------------------------ */

int weir_cmd_runs_list(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"limit", required_argument, NULL, 'l'},
		{0, 0, 0, 0},
	};
	struct weir_store *st = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *list = NULL, *r;
	bool json = false;
	long limit = 25;
	char lim[24], a[32], b[32];
	size_t i;
	int c, rc;

	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (c == 'f')
			json = !strcmp(optarg, "json");
		else if (c == 'l')
			limit = weir_cli_parse_count(cli, "--limit", optarg, 100000);
	}
	if (optind != argc - 1)
		return weir_cli_usage_error(cli, "expected one DAG id");
	rc = store_or_exit(cli, &st);
	if (rc)
		return rc;
	snprintf(lim, sizeof(lim), "%ld", limit);
	{
		const char *p[2] = {argv[optind], lim};
		rc = weir_store_query_json(st, "runs.by_dag", 2, p, &list, &err);
	}
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
	} else if (json) {
		weir_cli_print_json(list);
	} else {
		printf("%-44s %-9s %-10s %-20s %s\n", "RUN", "STATE", "TYPE", "LOGICAL DATE", "ENDED");
		json_array_foreach(list, i, r)
			printf("%-44s %-9s %-10s %-20s %s\n", js(r, "run_id"), js(r, "state"), js(r, "run_type"),
			       short_ts(r, "logical_date", a), short_ts(r, "ended_at", b));
	}
	json_decref(list);
	weir_store_close(st);
	weir_buf_release(&err);
	return rc;
}

/* Resolves RUN (order id or run id) to one run; prints why not. */
static int find_run(struct weir_store *st, const char *id, const char *dag, json_t **out)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *p[2] = {id, dag};
	json_t *list = NULL;
	int rc = weir_store_query_json(st, "run.find", 2, p, &list, &err);

	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
	} else if (json_array_size(list) == 0) {
		weir_cli_error("no run \"%s\"%s%s", id, dag ? " in DAG " : "", dag ? dag : "");
		rc = WEIR_EXIT_INVALID;
	} else if (json_array_size(list) > 1) {
		weir_cli_error("run id \"%s\" exists in several DAGs: add --dag DAG", id);
		rc = WEIR_EXIT_INVALID;
	} else {
		*out = json_incref(json_array_get(list, 0));
	}
	json_decref(list);
	weir_buf_release(&err);
	return rc;
}

int weir_cmd_runs_show(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"dag", required_argument, NULL, 'd'},
		{0, 0, 0, 0},
	};
	struct weir_store *st = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *found = NULL, *run = NULL, *t;
	struct weir_dag *dag = NULL;
	const char *dag_id = NULL;
	bool json = false;
	char pk[32];
	size_t i;
	int c, rc;

	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (c == 'f')
			json = !strcmp(optarg, "json");
		else if (c == 'd')
			dag_id = optarg;
	}
	if (optind != argc - 1)
		return weir_cli_usage_error(cli, "expected one run id or order id");
	rc = store_or_exit(cli, &st);
	if (rc)
		return rc;
	rc = find_run(st, argv[optind], dag_id, &found);
	if (rc)
		goto out;
	snprintf(pk, sizeof(pk), "%lld", (long long)json_integer_value(json_object_get(found, "run_pk")));
	{
		const char *p[1] = {pk};
		rc = weir_store_query_json(st, "run.show", 1, p, &run, &err);
	}
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	if (json) {
		weir_cli_print_json(run);
		goto out;
	}
	printf("%s  run %s of %s (order %s)\n", js(run, "state"), js(run, "run_id"), js(run, "dag_id"),
	       js(run, "order_id"));
	/* Tasks in the DAG's topological order when we can. */
	weir_buf_reset(&err);
	weir_run_load_dag(st, js(run, "dag_id"), &dag, NULL, NULL, &err);
	{
		json_t *tasks = json_object_get(run, "tasks");
		size_t n = json_array_size(tasks);
		for (size_t k = 0; k < n; k++) {
			char a[32], db[24];
			double dur;
			size_t idx = k;
			const struct weir_task *dt = NULL;
			if (dag && k < dag->ntasks) {
				dt = &dag->tasks[dag->topo[k]];
				idx = SIZE_MAX;
				json_array_foreach(tasks, i, t)
					if (!strcmp(js(t, "task_id"), dt->id))
						idx = i;
				if (idx == SIZE_MAX)
					continue;
			}
			t = json_array_get(tasks, idx);
			dur = json_number_value(json_object_get(t, "duration"));
			if (json_is_number(json_object_get(t, "duration")))
				snprintf(db, sizeof(db), "%.2fs", dur);
			else
				snprintf(db, sizeof(db), "-");
			printf("  %-28s %-17s try %lld/%lld  %-19s %8s", js(t, "task_id"), js(t, "state"),
			       json_integer_value(json_object_get(t, "try_number")),
			       json_integer_value(json_object_get(t, "max_tries")), short_ts(t, "started_at", a),
			       db);
			if (dt && dt->n_upstream) {
				printf("  after ");
				for (uint32_t e = 0; e < dt->n_upstream; e++)
					printf("%s%s", e ? "," : "", dag->tasks[dt->upstream[e]].id);
			}
			printf("\n");
		}
	}
	if (json_object_get(run, "result") && !json_is_null(json_object_get(run, "result"))) {
		char *res = json_dumps(json_object_get(run, "result"), JSON_COMPACT | JSON_ENCODE_ANY);
		printf("result: %s\n", res);
		free(res);
	}
out:
	weir_dag_unref(dag);
	json_decref(found);
	json_decref(run);
	weir_store_close(st);
	weir_buf_release(&err);
	return rc;
}

int weir_cmd_runs_abort(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"dag", required_argument, NULL, 'd'}, {0, 0, 0, 0}};
	struct weir_store *st = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *found = NULL;
	const char *dag_id = NULL;
	enum weir_run_state from;
	struct weir_batch b;
	int c, rc;

	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1)
		if (c == 'd')
			dag_id = optarg;
	if (optind != argc - 1)
		return weir_cli_usage_error(cli, "expected one run id or order id");
	rc = store_or_exit(cli, &st);
	if (rc)
		return rc;
	rc = find_run(st, argv[optind], dag_id, &found);
	if (rc)
		goto out;
	if (weir_run_state_parse(js(found, "state"), &from) < 0 || weir_run_state_terminal(from)) {
		weir_cli_error("run %s is already %s", js(found, "run_id"), js(found, "state"));
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	weir_batch_init(&b, "cli");
	weir_batch_run_state(&b, json_integer_value(json_object_get(found, "run_pk")), from,
			     WEIR_RUN_ABORTED, "aborted with weir runs abort", NULL, WEIR_TIME_NONE);
	rc = weir_store_apply(st, &b, &err);
	weir_batch_release(&b);
	if (rc == WEIR_ECONFLICT) {
		weir_cli_error("run %s changed meanwhile; it is no longer %s (try again)", js(found, "run_id"),
			       js(found, "state"));
		rc = WEIR_EXIT_INVALID;
	} else if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
	} else {
		printf("run %s of %s: ABORTED (running tasks are being stopped)\n", js(found, "run_id"),
		       js(found, "dag_id"));
	}
out:
	json_decref(found);
	weir_store_close(st);
	weir_buf_release(&err);
	return rc;
}
