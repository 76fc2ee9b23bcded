/* cmd_dags.c: weir dags validate | show | next-runs (no database needed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/str.h"
#include "common/time.h"
#include "common/vec.h"
#include "common/xalloc.h"
#include "engine/cli/cli.h"
#include "engine/dag.h"
#include "engine/duration.h"
#include "engine/operator.h"

struct seen_id {
	char *id;
	char *file;
};

int weir_cmd_dags_validate(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"quiet", no_argument, NULL, 'q'},
		{"format", required_argument, NULL, 'f'},
		{0, 0, 0, 0},
	};
	struct weir_strvec files = WEIR_STRVEC_INIT;
	WEIR_VEC(struct seen_id) ids = WEIR_VEC_INIT;
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *jout = NULL;
	bool quiet = false, json = false;
	size_t invalid = 0, nerr = 0;
	int c, rc = WEIR_EXIT_OK;

	while ((c = weir_cli_getopt(cli, argc, argv, "q", opts)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'f') {
			if (!strcmp(optarg, "json"))
				json = true;
			else if (strcmp(optarg, "text"))
				return weir_cli_usage_error(cli, "--format must be text or json, not \"%s\"", optarg);
		}
	}
	if (optind >= argc)
		return weir_cli_usage_error(cli, "no files or folders given");
	for (int i = optind; i < argc; i++) {
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		if (weir_dag_files(argv[i], &files, &err) < 0) {
			weir_cli_error("%s", err.buf);
			rc = WEIR_EXIT_INVALID;
		}
		weir_buf_release(&err);
	}
	if (json)
		jout = json_array();
	for (size_t i = 0; i < files.n; i++) {
		struct weir_diags d;
		struct weir_dag *dag = NULL;
		int lrc;

		weir_diags_init(&d, files.v[i]);
		lrc = weir_dag_load_file(files.v[i], &dag, &d);
		if (lrc == 0) {
			/* One id, one DAG: a second file with the same id is an error. */
			for (size_t k = 0; k < ids.n; k++) {
				if (!strcmp(ids.v[k].id, dag->id)) {
					weir_diag_add(&d, 0, 0, "DAG id \"%s\" is already defined in \"%s\"",
						      dag->id, ids.v[k].file);
					lrc = WEIR_EINVALID;
					break;
				}
			}
			if (lrc == 0) {
				struct seen_id s = {weir_xstrdup(dag->id), weir_xstrdup(files.v[i])};
				weir_vec_push(&ids, s);
			}
		}
		if (json) {
			json_t *o = json_pack("{s:s, s:b, s:o}", "file", files.v[i], "valid", lrc == 0,
					      "errors", weir_diags_to_json(&d));
			if (dag)
				json_object_set_new(o, "dag_id", json_string(dag->id));
			json_array_append_new(jout, o);
		}
		if (lrc < 0) {
			invalid++;
			nerr += weir_diags_count(&d);
			if (!json) {
				weir_buf_reset(&out);
				weir_diags_format(&d, &out);
				fputs(out.buf, stderr);
			}
		}
		weir_dag_unref(dag);
		weir_diags_release(&d);
	}
	if (json) {
		weir_cli_print_json(jout);
		json_decref(jout);
	} else if (invalid) {
		fprintf(stderr, "%zu of %zu DAG files invalid (%zu error%s)\n", invalid, files.n, nerr,
			nerr == 1 ? "" : "s");
	} else if (!quiet) {
		printf("%zu DAG file%s valid\n", files.n, files.n == 1 ? "" : "s");
	}
	if (invalid)
		rc = WEIR_EXIT_INVALID;
	for (size_t k = 0; k < ids.n; k++) {
		free(ids.v[k].id);
		free(ids.v[k].file);
	}
	weir_vec_release(&ids);
	weir_strvec_clear(&files);
	weir_buf_release(&out);
	return rc;
}

static int parse_after(struct weir_cli *cli, const char *s, int64_t *us)
{
	bool off;

	if (weir_iso_parse(s, us, &off) < 0)
		return weir_cli_usage_error(cli, "--after must be an ISO-8601 instant like 2026-01-31T06:00:00Z, not \"%s\"", s);
	return 0;
}

static void print_dot(const struct weir_dag *dag)
{
	printf("digraph \"%s\" {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", dag->id);
	for (uint32_t k = 0; k < dag->ntasks; k++) {
		const struct weir_task *t = &dag->tasks[dag->topo[k]];
		printf("  \"%s\" [label=\"%s\\n(%s)\"%s];\n", t->id, t->id, t->operator_name,
		       t->branch ? ", shape=diamond" : "");
	}
	for (uint32_t k = 0; k < dag->ntasks; k++) {
		const struct weir_task *t = &dag->tasks[dag->topo[k]];
		for (uint32_t e = 0; e < t->n_downstream; e++) {
			const struct weir_task *d = &dag->tasks[t->downstream[e]];
			if (d->trigger_rule != WEIR_TRIGGER_ALL_SUCCESS)
				printf("  \"%s\" -> \"%s\" [label=\"%s\"];\n", t->id, d->id,
				       weir_trigger_rule_name(d->trigger_rule));
			else
				printf("  \"%s\" -> \"%s\";\n", t->id, d->id);
		}
	}
	printf("}\n");
}

static void print_text(const struct weir_dag *dag)
{
	char a[WEIR_ISO_BUFSZ], b[WEIR_ISO_BUFSZ], dur[WEIR_DURATION_BUFSZ];
	int64_t after = weir_now_us();

	printf("DAG %s  (%s)\n", dag->id, dag->file);
	if (dag->description)
		printf("  description: %s\n", dag->description);
	if (dag->owner)
		printf("  owner:       %s\n", dag->owner);
	if (dag->ntags) {
		printf("  tags:        ");
		for (size_t i = 0; i < dag->ntags; i++)
			printf("%s%s", i ? ", " : "", dag->tags[i]);
		printf("\n");
	}
	if (dag->schedule) {
		printf("  schedule:    %s  (%s)\n", dag->schedule, weir_tz_name(dag->tz));
		if (dag->start_date != WEIR_TIME_NONE)
			printf("  start_date:  %s\n", weir_iso_format(dag->start_date, 0, a));
		if (dag->end_date != WEIR_TIME_NONE)
			printf("  end_date:    %s\n", weir_iso_format(dag->end_date, 0, a));
		printf("  catchup:     %s\n", dag->catchup ? "true" : "false");
		if (dag->cron.flags & WEIR_CRON_ONCE) {
			printf("  next runs:   once, when first scheduled\n");
		} else {
			int64_t s, e;
			printf("  next runs:   ");
			for (int i = 0; i < 3 && weir_dag_next_interval(dag, after, &s, &e) == 0; i++) {
				printf("%s%s (data interval from %s)\n", i ? "               " : "",
				       weir_iso_format(e, 0, a), weir_iso_format(s, 0, b));
				after = e;
			}
		}
	} else {
		printf("  schedule:    none (runs when triggered)\n");
	}
	printf("  limits:      max_active_runs %d, max_active_tasks %d\n", dag->max_active_runs,
	       dag->max_active_tasks);
	for (size_t i = 0; i < dag->nparams; i++) {
		const struct weir_param *p = &dag->params[i];
		char *def = p->default_value ? json_dumps(p->default_value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		printf("  param %s: %s%s%s%s\n", p->name, weir_param_type_name(p->type),
		       p->required ? ", required" : "", def ? ", default " : "", def ? def : "");
		free(def);
	}
	printf("tasks (%u, topological order):\n", dag->ntasks);
	for (uint32_t k = 0; k < dag->ntasks; k++) {
		const struct weir_task *t = &dag->tasks[dag->topo[k]];
		printf("  %-24s %-12s", t->id, t->operator_name);
		if (t->n_upstream) {
			printf(" after ");
			for (uint32_t e = 0; e < t->n_upstream; e++)
				printf("%s%s", e ? "," : "", dag->tasks[t->upstream[e]].id);
		}
		printf("\n    trigger_rule %s, retries %d", weir_trigger_rule_name(t->trigger_rule), t->retries);
		if (t->retries)
			printf(" every %s%s", weir_duration_format(t->retry_delay_us, dur),
			       t->retry_exponential_backoff ? " (exponential)" : "");
		if (t->execution_timeout_us)
			printf(", timeout %s", weir_duration_format(t->execution_timeout_us, dur));
		printf(", pool %s, priority %lld, executor %s%s", t->pool, (long long)t->priority,
		       weir_executor_name(t->executor), t->branch ? ", branch" : "");
		if (t->has_invalid_exit_code)
			printf(", invalid_exit_code %d", t->invalid_exit_code);
		if (t->op && t->op->is_sensor)
			printf(", sensor %s every %s", t->mode == WEIR_MODE_POKE ? "poke" : "reschedule",
			       weir_duration_format(t->poke_interval_us, dur));
		printf("\n");
	}
}

int weir_cmd_dags_show(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0, 0, 0, 0}};
	const char *format = "text";
	struct weir_dag *dag;
	int c;

	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1)
		if (c == 'f')
			format = optarg;
	if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "dot"))
		return weir_cli_usage_error(cli, "--format must be text, json or dot, not \"%s\"", format);
	if (optind != argc - 1)
		return weir_cli_usage_error(cli, "expected one DAG file");
	dag = weir_cli_load_dag(argv[optind]);
	if (!dag)
		return WEIR_EXIT_INVALID;
	if (!strcmp(format, "json")) {
		json_t *j = weir_dag_to_json(dag);
		json_t *next = json_array();
		int64_t after = weir_now_us(), s, e;
		char buf[WEIR_ISO_BUFSZ];
		for (int i = 0; i < 3 && weir_dag_next_interval(dag, after, &s, &e) == 0; i++) {
			json_array_append_new(next, json_pack("{s:s, s:s}", "run_after",
							      weir_iso_format(e, 0, buf), "logical_date",
							      weir_iso_format(s, 0, buf)));
			after = e;
		}
		json_object_set_new(j, "next_runs", next);
		weir_cli_print_json(j);
		json_decref(j);
	} else if (!strcmp(format, "dot")) {
		print_dot(dag);
	} else {
		print_text(dag);
	}
	weir_dag_unref(dag);
	return WEIR_EXIT_OK;
}

int weir_cmd_dags_next_runs(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'n'},
		{"after", required_argument, NULL, 'a'},
		{"logical", no_argument, NULL, 'l'},
		{0, 0, 0, 0},
	};
	long n = 5;
	int64_t after = weir_now_us(), s, e;
	bool logical = false;
	struct weir_dag *dag;
	char buf[WEIR_ISO_BUFSZ];
	int c;

	while ((c = weir_cli_getopt(cli, argc, argv, "n:", opts)) != -1) {
		if (c == 'n')
			n = weir_cli_parse_count(cli, "--count", optarg, 100000);
		else if (c == 'a' && parse_after(cli, optarg, &after))
			return WEIR_EXIT_USAGE;
		else if (c == 'l')
			logical = true;
	}
	if (optind != argc - 1)
		return weir_cli_usage_error(cli, "expected one DAG file");
	dag = weir_cli_load_dag(argv[optind]);
	if (!dag)
		return WEIR_EXIT_INVALID;
	if (!dag->schedule) {
		fprintf(stderr, "weir: DAG \"%s\" has no schedule: it runs only when triggered\n", dag->id);
	} else if (dag->cron.flags & WEIR_CRON_ONCE) {
		if (dag->start_date != WEIR_TIME_NONE && dag->start_date > after)
			printf("%s\n", weir_iso_format(dag->start_date, 0, buf));
		else
			fprintf(stderr, "weir: DAG \"%s\" is @once: it runs once, when first scheduled\n", dag->id);
	} else {
		for (long i = 0; i < n && weir_dag_next_interval(dag, after, &s, &e) == 0; i++) {
			printf("%s\n", weir_iso_format(logical ? s : e, 0, buf));
			after = e;
		}
	}
	weir_dag_unref(dag);
	return WEIR_EXIT_OK;
}
