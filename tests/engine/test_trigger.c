/*
 * test_trigger.c: every trigger rule against every combination of
 * upstream outcomes for 0..3 upstream tasks, checked against an
 * independent reading of Airflow's rules, plus run outcomes.
 */
#include <string.h>

#include "engine/operator.h"
#include "engine/trigger.h"
#include "tests/check.h"

enum { S, F, U, K, P }; /* success, failed, upstream_failed, skipped, pending */

/* The rules restated over the full list of upstream states (slow, obvious). */
static enum weir_trigger_decision oracle(enum weir_trigger_rule r, const int *st, int n)
{
	int s = 0, f = 0, u = 0, k = 0, p = 0;
	for (int i = 0; i < n; i++) {
		s += st[i] == S;
		f += st[i] == F;
		u += st[i] == U;
		k += st[i] == K;
		p += st[i] == P;
	}
	if (n == 0 || r == WEIR_TRIGGER_ALWAYS)
		return WEIR_DECIDE_RUN;
	switch (r) {
	case WEIR_TRIGGER_ALL_SUCCESS:
		return f + u ? WEIR_DECIDE_UPSTREAM_FAILED : k ? WEIR_DECIDE_SKIP : s == n ? WEIR_DECIDE_RUN : WEIR_DECIDE_WAIT;
	case WEIR_TRIGGER_ALL_FAILED:
		return s + k ? WEIR_DECIDE_SKIP : f + u == n ? WEIR_DECIDE_RUN : WEIR_DECIDE_WAIT;
	case WEIR_TRIGGER_ALL_DONE:
		return p ? WEIR_DECIDE_WAIT : WEIR_DECIDE_RUN;
	case WEIR_TRIGGER_ONE_SUCCESS:
		return s ? WEIR_DECIDE_RUN : p ? WEIR_DECIDE_WAIT : k == n ? WEIR_DECIDE_SKIP : WEIR_DECIDE_UPSTREAM_FAILED;
	case WEIR_TRIGGER_ONE_FAILED:
		return f + u ? WEIR_DECIDE_RUN : p ? WEIR_DECIDE_WAIT : WEIR_DECIDE_SKIP;
	case WEIR_TRIGGER_ONE_DONE:
		return s + f ? WEIR_DECIDE_RUN : p ? WEIR_DECIDE_WAIT : WEIR_DECIDE_SKIP;
	case WEIR_TRIGGER_NONE_FAILED:
		return f + u ? WEIR_DECIDE_UPSTREAM_FAILED : p ? WEIR_DECIDE_WAIT : WEIR_DECIDE_RUN;
	case WEIR_TRIGGER_NONE_SKIPPED:
		return k ? WEIR_DECIDE_SKIP : p ? WEIR_DECIDE_WAIT : WEIR_DECIDE_RUN;
	case WEIR_TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS:
		return f + u ? WEIR_DECIDE_UPSTREAM_FAILED : p ? WEIR_DECIDE_WAIT : s ? WEIR_DECIDE_RUN : WEIR_DECIDE_SKIP;
	default:
		return WEIR_DECIDE_RUN;
	}
}

static void test_trigger__every_rule_matches_the_oracle_for_all_combinations(void)
{
	static const enum weir_ti_state map[] = {WEIR_TI_SUCCESS, WEIR_TI_FAILED, WEIR_TI_UPSTREAM_FAILED,
						 WEIR_TI_SKIPPED, WEIR_TI_RUNNING};
	int cases = 0;

	for (int r = 0; r < WEIR_TRIGGER__COUNT; r++) {
		for (int n = 0; n <= 3; n++) {
			int combos = 1;
			for (int i = 0; i < n; i++)
				combos *= 5;
			for (int c = 0; c < combos; c++) {
				int st[3], x = c;
				struct weir_tally t = {0};
				t.total = (uint32_t)n;
				for (int i = 0; i < n; i++) {
					st[i] = x % 5;
					x /= 5;
					weir_tally_add(&t, map[st[i]]);
				}
				enum weir_trigger_decision got = weir_trigger_decide(r, &t), want = oracle(r, st, n);
				if (got != want)
					check__fail(__FILE__, __LINE__, "%s with %d upstream (combo %d): got %s, want %s",
						    weir_trigger_rule_name(r), n, c, weir_trigger_decision_name(got),
						    weir_trigger_decision_name(want));
				cases++;
			}
		}
	}
	check_note("%d rule/upstream combinations checked", cases);
	CHECK_INT_EQ(cases, 10 * (1 + 5 + 25 + 125));
}

static void test_trigger__decides_early_like_airflow(void)
{
	struct weir_tally t = {.total = 3};
	weir_tally_add(&t, WEIR_TI_FAILED);
	/* One failure is enough to decide all_success before the others end. */
	CHECK_INT_EQ(weir_trigger_decide(WEIR_TRIGGER_ALL_SUCCESS, &t), WEIR_DECIDE_UPSTREAM_FAILED);
	CHECK_INT_EQ(weir_trigger_decide(WEIR_TRIGGER_ONE_FAILED, &t), WEIR_DECIDE_RUN);
	CHECK_INT_EQ(weir_trigger_decide(WEIR_TRIGGER_ALL_DONE, &t), WEIR_DECIDE_WAIT);
	weir_tally_add(&t, WEIR_TI_REMOVED); /* removed counts as skipped */
	CHECK_INT_EQ(t.skipped, 1);
}

static struct weir_dag *load(const char *text)
{
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	weir_diags_init(&d, "t.yaml");
	CHECK_OK(weir_dag_load_text("t.yaml", text, strlen(text), &dag, &d));
	weir_diags_release(&d);
	return dag;
}

static void test_trigger__run_outcome_comes_from_the_leaves(void)
{
	struct weir_dag *dag = load("version: 1\ndag: o\ntasks:\n"
				    "  - {id: a, operator: command, shell: x}\n"
				    "  - {id: b, operator: command, shell: x, depends_on: [a]}\n"
				    "  - {id: cleanup, operator: command, shell: x, depends_on: [a], trigger_rule: all_done}\n");
	enum weir_ti_state st[3];

	/* a failed, b upstream_failed (leaf) -> FAILED */
	st[0] = WEIR_TI_FAILED, st[1] = WEIR_TI_UPSTREAM_FAILED, st[2] = WEIR_TI_SUCCESS;
	CHECK_INT_EQ(weir_run_outcome(dag, st), WEIR_RUN_FAILED);
	/* all leaves succeeded or skipped -> SUCCESS even with a failed inner task */
	st[0] = WEIR_TI_FAILED, st[1] = WEIR_TI_SKIPPED, st[2] = WEIR_TI_SUCCESS;
	CHECK_INT_EQ(weir_run_outcome(dag, st), WEIR_RUN_SUCCESS);
	st[0] = WEIR_TI_SUCCESS, st[1] = WEIR_TI_SUCCESS, st[2] = WEIR_TI_FAILED;
	CHECK_INT_EQ(weir_run_outcome(dag, st), WEIR_RUN_FAILED);
	weir_dag_unref(dag);
}

static void test_trigger__callbacks_run_after_the_leaves_and_do_not_count(void)
{
	struct weir_dag *dag = load("version: 1\ndag: cb\n"
				    "on_success: {operator: command, shell: \"echo ok {{ xcom.b.n }}\"}\n"
				    "on_failure: {operator: command, shell: \"echo failed\", retries: 2}\n"
				    "tasks:\n"
				    "  - {id: a, operator: command, shell: x}\n"
				    "  - {id: b, operator: command, shell: x, depends_on: [a]}\n"
				    "  - {id: c, operator: command, shell: x, depends_on: [a]}\n");
	long ok = weir_dag_task_index(dag, "on_success"), bad = weir_dag_task_index(dag, "on_failure");
	enum weir_ti_state st[5];

	CHECK_INT_EQ(dag->ntasks, 5);
	CHECK(ok >= 0 && bad >= 0);
	CHECK(dag->tasks[ok].callback && dag->tasks[bad].callback);
	/* After both leaves (b, c), not after a. */
	CHECK_INT_EQ(dag->tasks[ok].n_upstream, 2);
	CHECK_INT_EQ(dag->tasks[ok].trigger_rule, WEIR_TRIGGER_NONE_FAILED);
	CHECK_INT_EQ(dag->tasks[bad].trigger_rule, WEIR_TRIGGER_ONE_FAILED);
	CHECK_INT_EQ(dag->tasks[bad].retries, 2);
	CHECK(dag->tasks[weir_dag_task_index(dag, "b")].leaf);
	CHECK(!dag->tasks[weir_dag_task_index(dag, "a")].leaf);
	/* A failed callback does not turn a successful run into a failure. */
	for (int i = 0; i < 5; i++)
		st[i] = WEIR_TI_SUCCESS;
	st[bad] = WEIR_TI_SKIPPED;
	st[ok] = WEIR_TI_FAILED;
	CHECK_INT_EQ(weir_run_outcome(dag, st), WEIR_RUN_SUCCESS);
	st[weir_dag_task_index(dag, "c")] = WEIR_TI_FAILED;
	CHECK_INT_EQ(weir_run_outcome(dag, st), WEIR_RUN_FAILED);
	weir_dag_unref(dag);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_trigger__callbacks_run_after_the_leaves_and_do_not_count),
	CHECK_TEST(test_trigger__every_rule_matches_the_oracle_for_all_combinations),
	CHECK_TEST(test_trigger__decides_early_like_airflow),
	CHECK_TEST(test_trigger__run_outcome_comes_from_the_leaves),
	{0},
};

int main(int argc, char **argv)
{
	weir_operators_register_all();
	return check_main(argc, argv, tests);
}
