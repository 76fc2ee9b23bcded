/*
 * test_dag.c: the DAG loader and validator.
 *
 * Data-driven part: every tests/dags/invalid/NNN-name.yaml must produce
 * exactly the diagnostics in NNN-name.err (the file name in messages is the
 * base name).  WEIR_UPDATE_EXPECTED=1 rewrites the .err files; review the
 * diff before committing.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/time.h"
#include "engine/dag.h"
#include "engine/operator.h"
#include "tests/check.h"

static const char *srcdir(void)
{
	const char *s = getenv("WEIR_SOURCE_DIR");
	return s ? s : ".";
}

static struct weir_dag *load_ok(const char *text)
{
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	weir_diags_init(&d, "t.yaml");
	if (weir_dag_load_text("t.yaml", text, strlen(text), &dag, &d) < 0) {
		weir_diags_format(&d, &out);
		check__fail(__FILE__, __LINE__, "load failed:\n%s", out.buf);
	}
	weir_diags_release(&d);
	weir_buf_release(&out);
	return dag;
}

/* Loads text that must fail; returns the formatted diagnostics (free). */
static char *load_err(const char *text)
{
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	weir_diags_init(&d, "t.yaml");
	CHECK_INT_EQ(weir_dag_load_text("t.yaml", text, strlen(text), &dag, &d), WEIR_EINVALID);
	CHECK(dag == NULL);
	weir_diags_format(&d, &out);
	weir_diags_release(&d);
	return weir_buf_detach(&out, NULL);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_dag__invalid_files_give_expected_errors(void)
{
	char dir[1024], path[2048];
	DIR *dp;
	struct dirent *e;
	char *names[256];
	size_t n = 0, failed = 0;
	bool update = getenv("WEIR_UPDATE_EXPECTED") != NULL;

	snprintf(dir, sizeof(dir), "%s/tests/dags/invalid", srcdir());
	dp = opendir(dir);
	CHECK(dp != NULL);
	while ((e = readdir(dp)) && n < 256) {
		size_t len = strlen(e->d_name);
		if (len > 5 && !strcmp(e->d_name + len - 5, ".yaml"))
			names[n++] = strdup(e->d_name);
	}
	closedir(dp);
	qsort(names, n, sizeof(char *), cmp);
	CHECK_INT_OP(n, >=, 25);
	for (size_t i = 0; i < n; i++) {
		struct weir_diags d;
		struct weir_dag *dag = NULL;
		struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		char *text, *want;
		int rc;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		text = check_read_file(path);
		weir_diags_init(&d, names[i]);
		rc = weir_dag_load_text(names[i], text, strlen(text), &dag, &d);
		weir_diags_format(&d, &out);
		snprintf(path + strlen(path) - 5, 6, ".err");
		if (update) {
			check_write_file(path, out.buf);
		} else {
			want = check_read_file(path);
			if (rc != WEIR_EINVALID || strcmp(want, out.buf)) {
				fprintf(stderr, "# %s: rc %d\n# got:\n%s# expected:\n%s", names[i], rc, out.buf, want);
				failed++;
			}
			free(want);
		}
		CHECK(out.len > 0);
		weir_dag_unref(dag);
		weir_diags_release(&d);
		weir_buf_release(&out);
		free(text);
		free(names[i]);
	}
	CHECK_INT_EQ(failed, 0);
}

static void test_dag__shipped_examples_are_valid(void)
{
	char dir[1024], path[2048];
	DIR *dp;
	struct dirent *e;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/dags", srcdir());
	dp = opendir(dir);
	CHECK(dp != NULL);
	while ((e = readdir(dp))) {
		struct weir_diags d;
		struct weir_dag *dag = NULL;
		struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		weir_diags_init(&d, path);
		if (weir_dag_load_file(path, &dag, &d) < 0) {
			weir_diags_format(&d, &out);
			check__fail(__FILE__, __LINE__, "%s", out.buf);
		}
		n++;
		weir_dag_unref(dag);
		weir_diags_release(&d);
	}
	closedir(dp);
	CHECK_INT_OP(n, >=, 3);
}

static const char diamond[] =
	"version: 1\n"
	"dag: diamond\n"
	"default_args:\n"
	"  retries: 3\n"
	"  pool: io\n"
	"  env: {A: \"1\", B: \"2\"}\n"
	"tasks:\n"
	"  - {id: d, operator: command, shell: x, depends_on: [b, c], priority_weight: 5}\n"
	"  - {id: c, operator: command, shell: x, depends_on: [a], retries: 0}\n"
	"  - {id: b, operator: command, shell: x, depends_on: a, env: {B: \"3\", C: \"4\"}}\n"
	"  - {id: a, operator: command, shell: x, weight_rule: absolute, priority_weight: 7}\n"
	"  - {id: e, operator: command, shell: x, depends_on: [a], weight_rule: upstream}\n";

static void test_dag__topological_order_respects_every_edge(void)
{
	struct weir_dag *dag = load_ok(diamond);
	uint32_t pos[5];

	CHECK_INT_EQ(dag->ntasks, 5);
	for (uint32_t k = 0; k < dag->ntasks; k++)
		pos[dag->topo[k]] = k;
	for (uint32_t i = 0; i < dag->ntasks; i++)
		for (uint32_t e = 0; e < dag->tasks[i].n_upstream; e++)
			CHECK_INT_OP(pos[dag->tasks[i].upstream[e]], <, pos[i]);
	CHECK_STR_EQ(dag->tasks[dag->topo[0]].id, "a");
	CHECK_INT_EQ(dag->tasks[weir_dag_task_index(dag, "a")].n_downstream, 3);
	CHECK(weir_dag_is_ancestor(dag, (uint32_t)weir_dag_task_index(dag, "a"),
				   (uint32_t)weir_dag_task_index(dag, "d")));
	CHECK(!weir_dag_is_ancestor(dag, (uint32_t)weir_dag_task_index(dag, "e"),
				    (uint32_t)weir_dag_task_index(dag, "d")));
	weir_dag_unref(dag);
}

static void test_dag__priority_follows_weight_rules(void)
{
	struct weir_dag *dag = load_ok(diamond);
	/* d: 5 (no descendants); b: 1 + d(5) = 6; c likewise 6;
	 * a: absolute 7; e: upstream = 1 + a(7) = 8. */
	CHECK_INT_EQ(dag->tasks[weir_dag_task_index(dag, "d")].priority, 5);
	CHECK_INT_EQ(dag->tasks[weir_dag_task_index(dag, "b")].priority, 6);
	CHECK_INT_EQ(dag->tasks[weir_dag_task_index(dag, "c")].priority, 6);
	CHECK_INT_EQ(dag->tasks[weir_dag_task_index(dag, "a")].priority, 7);
	CHECK_INT_EQ(dag->tasks[weir_dag_task_index(dag, "e")].priority, 8);
	weir_dag_unref(dag);
}

static void test_dag__default_args_apply_and_tasks_override(void)
{
	struct weir_dag *dag = load_ok(diamond);
	const struct weir_task *b = &dag->tasks[weir_dag_task_index(dag, "b")];
	const struct weir_task *c = &dag->tasks[weir_dag_task_index(dag, "c")];

	CHECK_INT_EQ(b->retries, 3);
	CHECK_INT_EQ(c->retries, 0);
	CHECK_STR_EQ(c->pool, "io");
	/* env merges: task keys win, default keys stay. */
	CHECK_STR_EQ(json_string_value(json_object_get(b->env, "A")), "1");
	CHECK_STR_EQ(json_string_value(json_object_get(b->env, "B")), "3");
	CHECK_STR_EQ(json_string_value(json_object_get(b->env, "C")), "4");
	CHECK_STR_EQ(json_string_value(json_object_get(c->env, "B")), "2");
	CHECK_STR_EQ(json_string_value(json_object_get(b->config, "shell")), "x");
	CHECK_INT_EQ(b->n_upstream, 1); /* depends_on: a (a single id) */
	weir_dag_unref(dag);
}

static void test_dag__task_lookup_scales_to_thousands(void)
{
	struct weir_buf text = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_dag *dag;

	weir_buf_addstr(&text, "version: 1\ndag: big\ntasks:\n");
	for (int i = 0; i < 3000; i++)
		weir_buf_addf(&text, "  - {id: t%04d, operator: command, exec: [\"true\"]%s}\n", i,
			      i ? ", depends_on: [t0000]" : "");
	dag = load_ok(text.buf);
	CHECK_INT_EQ(dag->ntasks, 3000);
	for (int i = 0; i < 3000; i += 7) {
		char id[16];
		snprintf(id, sizeof(id), "t%04d", i);
		CHECK_INT_EQ(weir_dag_task_index(dag, id), i);
	}
	CHECK_INT_EQ(weir_dag_task_index(dag, "t9999"), -1);
	CHECK_INT_EQ(dag->tasks[0].priority, 3000);
	weir_dag_unref(dag);
	weir_buf_release(&text);
}

static void test_dag__params_resolve_with_defaults_and_errors(void)
{
	struct weir_dag *dag = load_ok(
		"version: 1\ndag: p\n"
		"params:\n"
		"  aoi: {type: wkt, required: true}\n"
		"  fmt: {type: string, enum: [GTiff, GPKG], default: GTiff}\n"
		"  n: {type: integer, minimum: 1, maximum: 10, default: 2}\n"
		"  code: {type: string, pattern: '[A-Z]{3}'}\n"
		"  flag: true\n"
		"tasks:\n  - {id: a, operator: command, shell: \"echo {{ params.aoi }}\"}\n");
	json_t *out = NULL, *given;
	const char *field;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	given = json_pack("{s:s}", "aoi", "POLYGON((0 0, 1 0, 1 1, 0 0))");
	CHECK_OK(weir_dag_resolve_params(dag, given, &out, &field, &err));
	CHECK_STR_EQ(json_string_value(json_object_get(out, "fmt")), "GTiff");
	CHECK_INT_EQ(json_integer_value(json_object_get(out, "n")), 2);
	CHECK(json_is_true(json_object_get(out, "flag")));
	json_decref(out);
	json_decref(given);

	CHECK_INT_EQ(weir_dag_resolve_params(dag, NULL, &out, &field, &err), WEIR_EINVALID);
	CHECK_STR_EQ(field, "aoi");
	CHECK_STR_EQ(err.buf, "param \"aoi\" is required");

	struct {
		const char *json, *field, *msg;
	} bad[] = {
		{"{\"aoi\": \"CIRCLE(1)\"}", "aoi", "param \"aoi\" must be a WKT geometry such as \"POLYGON((...))\""},
		{"{\"aoi\": \"POINT(1 2)\", \"fmt\": \"PNG\"}", "fmt", "param \"fmt\" must be one of [\"GTiff\",\"GPKG\"]"},
		{"{\"aoi\": \"POINT(1 2)\", \"n\": 11}", "n", "param \"n\" must be at most 10, not 11"},
		{"{\"aoi\": \"POINT(1 2)\", \"n\": \"3\"}", "n", "param \"n\" must be of type integer"},
		{"{\"aoi\": \"POINT(1 2)\", \"code\": \"ABCD\"}", "code", "param \"code\" does not match the pattern \"[A-Z]{3}\""},
		{"{\"aoi\": \"POINT(1 2)\", \"nope\": 1}", "nope", "unknown param \"nope\" for DAG \"p\""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		weir_buf_reset(&err);
		given = json_loads(bad[i].json, 0, NULL);
		CHECK(given != NULL);
		CHECK_INT_EQ(weir_dag_resolve_params(dag, given, &out, &field, &err), WEIR_EINVALID);
		CHECK_STR_EQ(field, bad[i].field);
		CHECK_STR_EQ(err.buf, bad[i].msg);
		json_decref(given);
	}
	weir_buf_release(&err);
	weir_dag_unref(dag);
}

static void test_dag__next_interval_aligns_to_start_date_and_stops_at_end(void)
{
	struct weir_dag *dag = load_ok(
		"version: 1\ndag: s\nschedule: \"0 6 * * *\"\ntimezone: Europe/Berlin\n"
		"start_date: 2026-03-28T10:00\nend_date: 2026-03-31T12:00\n"
		"tasks:\n  - {id: a, operator: command, shell: x}\n");
	char a[WEIR_ISO_BUFSZ], b[WEIR_ISO_BUFSZ];
	int64_t s, e, after = 0;

	/* Naive start_date is Berlin time: 2026-03-28T10:00+01:00. */
	CHECK_STR_EQ(weir_iso_format(dag->start_date, 0, a), "2026-03-28T09:00:00Z");
	/* First interval starts at the first fire at/after start_date. */
	CHECK_OK(weir_dag_next_interval(dag, after, &s, &e));
	CHECK_STR_EQ(weir_iso_format(s, 0, a), "2026-03-29T04:00:00Z"); /* 06:00 CEST (DST began) */
	CHECK_STR_EQ(weir_iso_format(e, 0, b), "2026-03-30T04:00:00Z");
	CHECK_OK(weir_dag_next_interval(dag, e, &s, &e));
	CHECK_STR_EQ(weir_iso_format(s, 0, a), "2026-03-30T04:00:00Z");
	CHECK_OK(weir_dag_next_interval(dag, e, &s, &e));
	CHECK_STR_EQ(weir_iso_format(s, 0, a), "2026-03-31T04:00:00Z");
	CHECK_INT_EQ(weir_dag_next_interval(dag, e, &s, &e), WEIR_ENOTFOUND);
	weir_dag_unref(dag);
}

static void test_dag__oversized_and_binary_files_are_rejected(void)
{
	size_t n = WEIR_DAG_MAX_FILE_BYTES + 1;
	char *big = malloc(n + 1);
	char *msg;
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	memset(big, '#', n);
	big[n] = '\0';
	msg = load_err(big);
	CHECK_STR_EQ(msg, "t.yaml: error: file too large: 1048577 bytes (the limit is 1048576)\n");
	free(msg);
	free(big);
	weir_diags_init(&d, "bin.yaml");
	CHECK_INT_EQ(weir_dag_load_text("bin.yaml", "a\0b", 3, &dag, &d), WEIR_EINVALID);
	weir_diags_format(&d, &out);
	CHECK_STR_EQ(out.buf, "bin.yaml: error: file contains NUL bytes (not a YAML text file)\n");
	weir_diags_release(&d);
	weir_buf_release(&out);
}

static void test_dag__merge_keys_and_small_aliases_work(void)
{
	struct weir_dag *dag = load_ok(
		"version: 1\ndag: m\n"
		"x-common: &common {operator: command, retries: 2, shell: \"true\"}\n"
		"tasks:\n"
		"  - {<<: *common, id: a}\n"
		"  - {<<: *common, id: b, retries: 5, depends_on: [a]}\n");
	CHECK_INT_EQ(dag->tasks[0].retries, 2);
	CHECK_INT_EQ(dag->tasks[1].retries, 5);
	weir_dag_unref(dag);
}

static void test_dag__every_error_of_a_file_is_reported_in_order(void)
{
	char *msg = load_err("version: 1\ndag: x\nbogus: 1\ntasks:\n"
			     "  - {id: a, operator: command, shell: x, retries: -1}\n"
			     "  - {id: b, operator: command, shell: x, trigger_rule: nope}\n");
	CHECK_STR_EQ(msg,
		     "t.yaml:3:1: error: unknown key \"bogus\"\n"
		     "t.yaml:5:51: error: \"retries\" must be between 0 and 1000, not -1\n"
		     "t.yaml:6:56: error: invalid trigger_rule \"nope\" (expected one of: all_success, all_failed, all_done, one_success, one_failed, one_done, none_failed, none_skipped, none_failed_min_one_success, always)\n");
	free(msg);
}

static void test_dag__template_positions_point_into_the_string(void)
{
	char *msg = load_err("version: 1\ndag: x\ntasks:\n"
			     "  - id: a\n    operator: command\n    shell: echo {{ params.nope }}\n");
	CHECK_STR_EQ(msg, "t.yaml:6:20: error: template error: unknown template variable \"params.nope\": the DAG declares no param \"nope\"\n");
	free(msg);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_dag__invalid_files_give_expected_errors),
	CHECK_TEST(test_dag__shipped_examples_are_valid),
	CHECK_TEST(test_dag__topological_order_respects_every_edge),
	CHECK_TEST(test_dag__priority_follows_weight_rules),
	CHECK_TEST(test_dag__default_args_apply_and_tasks_override),
	CHECK_TEST(test_dag__task_lookup_scales_to_thousands),
	CHECK_TEST(test_dag__params_resolve_with_defaults_and_errors),
	CHECK_TEST(test_dag__next_interval_aligns_to_start_date_and_stops_at_end),
	CHECK_TEST(test_dag__oversized_and_binary_files_are_rejected),
	CHECK_TEST(test_dag__merge_keys_and_small_aliases_work),
	CHECK_TEST(test_dag__every_error_of_a_file_is_reported_in_order),
	CHECK_TEST(test_dag__template_positions_point_into_the_string),
	{0},
};

int main(int argc, char **argv)
{
	weir_operators_register_all();
	return check_main(argc, argv, tests);
}
