/*
 * test_sched.c: the scheduler end to end, with real processes.
 *
 * Every test runs `weir scheduler` as a child process against a fresh
 * migrated database and a DAG folder of its own, triggers runs with the
 * CLI, and checks the database afterwards.  Timing assertions are bounds
 * that hold on a loaded machine, never exact values.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "common/time.h"
#include "common/xalloc.h"
#include "tests/check.h"
#include "tests/check_weir.h"

static char *q(struct weir_env *e, const char *sql)
{
	return env_sql(e, "%s", sql);
}

#define CHECK_SQL(e, want, ...)                                  \
	do {                                                     \
		char *got_ = env_sql((e), __VA_ARGS__);          \
		CHECK_STR_EQ(got_ ? got_ : "(null)", (want));    \
		free(got_);                                      \
	} while (0)

/* ------------------------------------------------------------------ */

static const char rules_dag[] =
	"version: 1\ndag: rules\n"
	"tasks:\n"
	"  - {id: ok1, operator: command, exec: [\"true\"]}\n"
	"  - {id: ok2, operator: command, exec: [\"true\"]}\n"
	"  - {id: bad, operator: command, exec: [\"false\"]}\n"
	"  - {id: br, operator: command, branch: true, shell: \"echo '::xcom branch=[]'\"}\n"
	"  - {id: skip, operator: command, exec: [\"true\"], depends_on: [br]}\n"
	/* each: a rule and a set of upstream outcomes -> expected state */
	"  - {id: all_success_ok, operator: command, exec: [\"true\"], depends_on: [ok1, ok2]}\n"
	"  - {id: all_success_bad, operator: command, exec: [\"true\"], depends_on: [ok1, bad]}\n"
	"  - {id: all_success_skip, operator: command, exec: [\"true\"], depends_on: [ok1, skip]}\n"
	"  - {id: all_failed_bad, operator: command, exec: [\"true\"], depends_on: [bad], trigger_rule: all_failed}\n"
	"  - {id: all_failed_mixed, operator: command, exec: [\"true\"], depends_on: [ok1, bad], trigger_rule: all_failed}\n"
	"  - {id: all_done_mixed, operator: command, exec: [\"true\"], depends_on: [ok1, bad, skip], trigger_rule: all_done}\n"
	"  - {id: one_success_mixed, operator: command, exec: [\"true\"], depends_on: [ok1, bad], trigger_rule: one_success}\n"
	"  - {id: one_success_bad, operator: command, exec: [\"true\"], depends_on: [bad], trigger_rule: one_success}\n"
	"  - {id: one_success_skip, operator: command, exec: [\"true\"], depends_on: [skip], trigger_rule: one_success}\n"
	"  - {id: one_failed_mixed, operator: command, exec: [\"true\"], depends_on: [ok1, bad], trigger_rule: one_failed}\n"
	"  - {id: one_failed_ok, operator: command, exec: [\"true\"], depends_on: [ok1, ok2], trigger_rule: one_failed}\n"
	"  - {id: one_done_badskip, operator: command, exec: [\"true\"], depends_on: [bad, skip], trigger_rule: one_done}\n"
	"  - {id: one_done_skip, operator: command, exec: [\"true\"], depends_on: [skip], trigger_rule: one_done}\n"
	"  - {id: none_failed_okskip, operator: command, exec: [\"true\"], depends_on: [ok1, skip], trigger_rule: none_failed}\n"
	"  - {id: none_failed_bad, operator: command, exec: [\"true\"], depends_on: [ok1, bad], trigger_rule: none_failed}\n"
	"  - {id: none_skipped_mixed, operator: command, exec: [\"true\"], depends_on: [ok1, bad], trigger_rule: none_skipped}\n"
	"  - {id: none_skipped_skip, operator: command, exec: [\"true\"], depends_on: [ok1, skip], trigger_rule: none_skipped}\n"
	"  - {id: nfmos_okskip, operator: command, exec: [\"true\"], depends_on: [ok1, skip], trigger_rule: none_failed_min_one_success}\n"
	"  - {id: nfmos_skip, operator: command, exec: [\"true\"], depends_on: [skip], trigger_rule: none_failed_min_one_success}\n"
	"  - {id: nfmos_bad, operator: command, exec: [\"true\"], depends_on: [ok1, bad], trigger_rule: none_failed_min_one_success}\n"
	"  - {id: always_bad, operator: command, exec: [\"true\"], depends_on: [bad], trigger_rule: always}\n"
	/* propagation: downstream of an upstream_failed / skipped task */
	"  - {id: after_upfailed, operator: command, exec: [\"true\"], depends_on: [all_success_bad]}\n"
	"  - {id: after_skipped, operator: command, exec: [\"true\"], depends_on: [all_success_skip]}\n";

static void test_sched__every_trigger_rule_decides_like_airflow(void)
{
	static const struct {
		const char *task, *state;
	} want[] = {
		{"ok1", "success"}, {"bad", "failed"}, {"br", "success"}, {"skip", "skipped"},
		{"all_success_ok", "success"}, {"all_success_bad", "upstream_failed"},
		{"all_success_skip", "skipped"}, {"all_failed_bad", "success"},
		{"all_failed_mixed", "skipped"}, {"all_done_mixed", "success"},
		{"one_success_mixed", "success"}, {"one_success_bad", "upstream_failed"},
		{"one_success_skip", "skipped"}, {"one_failed_mixed", "success"},
		{"one_failed_ok", "skipped"}, {"one_done_badskip", "success"},
		{"one_done_skip", "skipped"}, {"none_failed_okskip", "success"},
		{"none_failed_bad", "upstream_failed"}, {"none_skipped_mixed", "success"},
		{"none_skipped_skip", "skipped"}, {"nfmos_okskip", "success"}, {"nfmos_skip", "skipped"},
		{"nfmos_bad", "upstream_failed"}, {"always_bad", "success"},
		{"after_upfailed", "upstream_failed"}, {"after_skipped", "skipped"},
	};
	struct weir_env e;

	env_init(&e);
	env_dag(&e, "rules.yaml", rules_dag);
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags WHERE dag_id = 'rules'");
	env_trigger(&e, "rules", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "rules", "r1", 60), "FAILED");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_SQL(&e, want[i].state, "SELECT state FROM task_instances WHERE task_id = '%s'", want[i].task);
	/* Every task is accounted for, and nothing is left unfinished. */
	CHECK_SQL(&e, "0", "SELECT count(*) FROM task_instances WHERE state NOT IN"
			   " ('success', 'failed', 'upstream_failed', 'skipped')");
	env_stop_all(&e);
}

static void test_sched__branch_skips_the_unchosen_path_and_joins(void)
{
	struct weir_env e;

	env_init(&e);
	env_dag(&e, "br.yaml",
		"version: 1\ndag: br\ntasks:\n"
		"  - {id: pick, operator: command, branch: true, shell: \"echo '::xcom branch=\\\"b\\\"'\"}\n"
		"  - {id: a, operator: command, exec: [\"true\"], depends_on: [pick]}\n"
		"  - {id: a2, operator: command, exec: [\"true\"], depends_on: [a]}\n"
		"  - {id: b, operator: command, exec: [\"true\"], depends_on: [pick]}\n"
		"  - {id: join, operator: command, exec: [\"true\"], depends_on: [a2, b],"
		"     trigger_rule: none_failed_min_one_success}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "br", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "br", "r1", 60), "SUCCESS");
	CHECK_SQL(&e, "a:skipped,a2:skipped,b:success,join:success,pick:success",
		  "SELECT string_agg(task_id || ':' || state, ',' ORDER BY task_id) FROM task_instances");
	env_stop_all(&e);
}

static void test_sched__invalid_exit_code_makes_the_order_invalid(void)
{
	struct weir_env e;

	env_init(&e);
	env_dag(&e, "inv.yaml",
		"version: 1\ndag: inv\ntasks:\n"
		"  - {id: check, operator: command, invalid_exit_code: 3, retries: 2, retry_delay: 1s, exec: [sh, -c, \"exit 3\"]}\n"
		"  - {id: slow, operator: command, exec: [sleep, \"30\"]}\n"
		"  - {id: next, operator: command, exec: [\"true\"], depends_on: [check]}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "inv", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "inv", "r1", 60), "INVALID");
	/* No retry for an invalid input; the rest of the run is stopped. */
	CHECK_SQL(&e, "failed 1", "SELECT state || ' ' || try_number FROM task_instances WHERE task_id = 'check'");
	CHECK_SQL(&e, "skipped", "SELECT state FROM task_instances WHERE task_id = 'next'");
	CHECK_SQL(&e, "failed", "SELECT state FROM task_instances WHERE task_id = 'slow'");
	CHECK_SQL(&e, "t", "SELECT result IS NULL AND ended_at IS NOT NULL FROM dag_runs");
	env_stop_all(&e);
}

static void test_sched__retries_back_off_exponentially_within_bounds(void)
{
	struct weir_env e;
	char *v;
	double g1, g2;

	env_init(&e);
	env_dag(&e, "retry.yaml",
		"version: 1\ndag: retry\ntasks:\n"
		"  - id: flaky\n    operator: command\n    retries: 3\n    retry_delay: 1s\n"
		"    retry_exponential_backoff: true\n"
		"    shell: |\n"
		"      f={{ run_dir | sh }}/count; mkdir -p {{ run_dir | sh }}\n"
		"      c=$(cat \"$f\" 2>/dev/null || echo 0); c=$((c + 1)); echo $c > \"$f\"\n"
		"      echo \"attempt $c\"; [ $c -ge 3 ]\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "retry", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "retry", "r1", 60), "SUCCESS");
	CHECK_SQL(&e, "1:up_for_retry,2:up_for_retry,3:success",
		  "SELECT string_agg(try_number || ':' || state, ',' ORDER BY try_number) FROM task_tries");
	/* Gap between the end of try N and the start of try N+1. */
	v = q(&e, "SELECT extract(epoch FROM (SELECT queued_at FROM task_tries WHERE try_number = 2)"
		  " - (SELECT ended_at FROM task_tries WHERE try_number = 1))");
	g1 = atof(v);
	free(v);
	v = q(&e, "SELECT extract(epoch FROM (SELECT queued_at FROM task_tries WHERE try_number = 3)"
		  " - (SELECT ended_at FROM task_tries WHERE try_number = 2))");
	g2 = atof(v);
	free(v);
	check_note("retry gaps: %.3f s, %.3f s (delays 1 s and 2 s + up to 25%% jitter)", g1, g2);
	CHECK(g1 >= 0.99 && g1 < 1.25 + 1.0);
	CHECK(g2 >= 1.99 && g2 < 2.5 + 1.0);
	env_stop_all(&e);
}

static void test_sched__timeout_kills_the_whole_process_group(void)
{
	struct weir_env e;
	char *pid;

	env_init(&e);
	env_dag(&e, "slow.yaml",
		"version: 1\ndag: slow\ntasks:\n"
		"  - id: hang\n    operator: command\n    execution_timeout: 1s\n"
		"    shell: |\n      mkdir -p {{ run_dir | sh }}\n"
		"      sleep 300 & echo $! > {{ run_dir | sh }}/grandchild.pid\n"
		"      setsid sleep 301 & echo $! > {{ run_dir | sh }}/escaped.pid\n      wait\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "slow", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "slow", "r1", 60), "FAILED");
	CHECK_SQL(&e, "failed", "SELECT state FROM task_instances");
	{
		char cmd[1400], path[1200];
		snprintf(path, sizeof(path), "%s/runs/slow/r1/grandchild.pid", e.home);
		pid = check_read_file(path);
		CHECK(kill(atoi(pid), 0) == -1); /* gone */
		free(pid);
		snprintf(path, sizeof(path), "%s/runs/slow/r1/escaped.pid", e.home);
		pid = check_read_file(path);
		CHECK(kill(atoi(pid), 0) == -1); /* even after setsid */
		free(pid);
		snprintf(cmd, sizeof(cmd), "grep -q 'timed out' %s/logs/slow/r1/hang/1.log", e.home);
		CHECK_INT_EQ(system(cmd), 0);
	}
	env_stop_all(&e);
}

static void test_sched__pool_slots_and_priorities_order_the_starts(void)
{
	struct weir_env e;

	env_init(&e);
	free(q(&e, "INSERT INTO pools (name, slots) VALUES ('one', 1)"));
	env_dag(&e, "pool.yaml",
		"version: 1\ndag: pool\ndefault_args: {pool: one, weight_rule: absolute}\ntasks:\n"
		"  - {id: p1, operator: command, exec: [sleep, \"0.2\"], priority_weight: 1}\n"
		"  - {id: p3, operator: command, exec: [sleep, \"0.2\"], priority_weight: 3}\n"
		"  - {id: p5, operator: command, exec: [sleep, \"0.2\"], priority_weight: 5}\n"
		"  - {id: p2, operator: command, exec: [sleep, \"0.2\"], priority_weight: 2}\n"
		"  - {id: p4, operator: command, exec: [sleep, \"0.2\"], priority_weight: 4}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "pool", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "pool", "r1", 60), "SUCCESS");
	CHECK_SQL(&e, "p5,p4,p3,p2,p1", "SELECT string_agg(task_id, ',' ORDER BY queued_at) FROM task_tries");
	/* One slot: no two tries overlapped. */
	CHECK_SQL(&e, "0", "SELECT count(*) FROM task_tries a JOIN task_tries b ON a.attempt_id < b.attempt_id"
			   " AND a.started_at < b.ended_at AND b.started_at < a.ended_at");
	env_stop_all(&e);
}

static void test_sched__max_active_runs_serialises_runs(void)
{
	struct weir_env e;

	env_init(&e);
	env_dag(&e, "one.yaml",
		"version: 1\ndag: one\nmax_active_runs: 1\ntasks:\n"
		"  - {id: t, operator: command, exec: [sleep, \"0.3\"]}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "one", "r1", NULL);
	env_trigger(&e, "one", "r2", NULL);
	env_trigger(&e, "one", "r3", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "one", "r3", 60), "SUCCESS");
	CHECK_STR_EQ(env_wait_run(&e, "one", "r1", 60), "SUCCESS");
	CHECK_SQL(&e, "0", "SELECT count(*) FROM dag_runs a JOIN dag_runs b ON a.id < b.id"
			   " AND a.started_at < b.ended_at AND b.started_at < a.ended_at");
	env_stop_all(&e);
}

static void write_hourly(struct weir_env *e, const char *name, const char *id, bool catchup)
{
	char yaml[1024], start[WEIR_ISO_BUFSZ];
	int64_t t = weir_now_us() - 5 * WEIR_US_PER_HOUR - 30 * WEIR_US_PER_MIN;

	t -= t % WEIR_US_PER_HOUR; /* an hour boundary 5.5-6.5 h ago */
	snprintf(yaml, sizeof(yaml),
		 "version: 1\ndag: %s\nschedule: \"@hourly\"\nstart_date: %s\ncatchup: %s\n"
		 "tasks:\n  - {id: t, operator: command, exec: [\"true\"]}\n",
		 id, weir_iso_format(t, 0, start), catchup ? "true" : "false");
	env_dag(e, name, yaml);
}

static void test_sched__catchup_creates_missed_intervals_and_no_catchup_only_the_last(void)
{
	struct weir_env e;
	char *n;

	env_init(&e);
	write_hourly(&e, "c.yaml", "with_catchup", true);
	write_hourly(&e, "n.yaml", "without_catchup", false);
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 30, "SELECT count(*) >= 5 AND count(*) FILTER (WHERE state <> 'SUCCESS') = 0"
			     " FROM dag_runs WHERE dag_id = 'with_catchup'");
	env_wait_sql(&e, 30, "SELECT count(*) = 1 FROM dag_runs WHERE dag_id = 'without_catchup' AND state = 'SUCCESS'");
	n = q(&e, "SELECT count(*) FROM dag_runs WHERE dag_id = 'with_catchup'");
	CHECK(atoi(n) == 5 || atoi(n) == 6); /* an hour may tick over during the test */
	free(n);
	/* Consecutive data intervals, each [start, start + 1 h). */
	CHECK_SQL(&e, "t", "SELECT bool_and(data_interval_end - data_interval_start = interval '1 hour'"
			   " AND logical_date = data_interval_start) FROM dag_runs");
	CHECK_SQL(&e, "t", "SELECT max(data_interval_end) <= now() FROM dag_runs");
	/* Nothing more is created while the next interval has not ended. */
	usleep(1500000);
	n = q(&e, "SELECT count(*) FROM dag_runs WHERE dag_id = 'without_catchup'");
	CHECK_STR_EQ(n, "1");
	free(n);
	env_stop_all(&e);
}

/* A scheduler driving DAG "held" (one `true` task), created paused. */
static void start_with_paused_dag(struct weir_env *e)
{
	env_init(e);
	env_dag(e, "p.yaml",
		"version: 1\ndag: held\nis_paused_upon_creation: true\ntasks:\n"
		"  - {id: t, operator: command, exec: [\"true\"]}\n");
	env_start(e, 0, NULL);
	env_wait_sql(e, 20, "SELECT count(*) = 1 FROM dags WHERE is_paused");
}

static void test_sched__paused_dag_holds_triggered_runs_until_unpaused(void)
{
	struct weir_env e;
	const char *args[] = {"dags", "unpause", "held", NULL};

	start_with_paused_dag(&e);
	env_trigger(&e, "held", "r1", NULL);
	env_trigger(&e, "held", "r2", NULL);
	usleep(1500000);
	CHECK_SQL(&e, "RECEIVED,RECEIVED", "SELECT string_agg(state, ',') FROM dag_runs");
	/* A run aborted before it started simply ends. */
	{
		const char *abort_args[] = {"runs", "abort", "r2", NULL};
		CHECK_INT_EQ(env_weir(&e, NULL, abort_args), 0);
	}
	CHECK_INT_EQ(env_weir(&e, NULL, args), 0);
	CHECK_STR_EQ(env_wait_run(&e, "held", "r1", 30), "SUCCESS");
	CHECK_SQL(&e, "ABORTED", "SELECT state FROM dag_runs WHERE run_id = 'r2'");
	CHECK_SQL(&e, "0", "SELECT count(*) FROM task_instances t JOIN dag_runs r ON r.id = t.run_pk"
			   " WHERE r.run_id = 'r2'");
	env_stop_all(&e);
}

/*
 * The scheduler's heartbeat (its lease renewal) reads is_paused too, and
 * may see an unpause before the unpause's notification is processed.
 * Here the heartbeat is held on a lock while the DAG is unpaused, so it
 * reads the new value first; the notification then finds the DAG already
 * unpaused.  The held run must start anyway (it used to wait forever).
 * The NOTIFY also reaches the scheduler inside the heartbeat's queries,
 * where libpq queues it without the socket becoming readable again.
 */
static void test_sched__an_unpause_seen_first_by_the_heartbeat_starts_held_runs(void)
{
	struct weir_env e;
	const char *args[] = {"dags", "unpause", "held", NULL};
	PGconn *lock;
	PGresult *res;

	start_with_paused_dag(&e);
	env_trigger(&e, "held", "r1", NULL);
	usleep(300000);
	CHECK_SQL(&e, "RECEIVED", "SELECT state FROM dag_runs");

	lock = PQconnectdb(e.db);
	CHECK(PQstatus(lock) == CONNECTION_OK);
	res = PQexec(lock, "BEGIN; LOCK TABLE schedulers IN EXCLUSIVE MODE");
	CHECK(PQresultStatus(res) == PGRES_COMMAND_OK);
	PQclear(res);
	/* The heartbeat (every 2 s) now waits for the lock. */
	env_wait_sql(&e, 20,
		     "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'weir-scheduler'"
		     " AND datname = current_database() AND wait_event_type = 'Lock'");
	CHECK_INT_EQ(env_weir(&e, NULL, args), 0);
	usleep(200000);
	res = PQexec(lock, "COMMIT");
	CHECK(PQresultStatus(res) == PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(lock);
	/* Well before the next notification would come (there is none). */
	CHECK_STR_EQ(env_wait_run(&e, "held", "r1", 20), "SUCCESS");
	env_stop_all(&e);
}

static void test_sched__xcom_flows_downstream_and_becomes_the_order_result(void)
{
	struct weir_env e;

	env_init(&e);
	env_dag(&e, "x.yaml",
		"version: 1\ndag: x\nparams: {n: {type: integer, default: 40}}\ntasks:\n"
		"  - {id: a, operator: command, shell: \"echo \\\"::xcom n=$(( {{ params.n }} + 1 ))\\\"\"}\n"
		"  - {id: b, operator: command, depends_on: [a],"
		"     shell: \"test {{ xcom.a.n }} = 41 && echo '::xcom result={\\\"url\\\": \\\"/p/{{ xcom.a.n }}\\\"}'\"}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "x", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "x", "r1", 30), "SUCCESS");
	CHECK_SQL(&e, "41", "SELECT value::text FROM xcom WHERE task_id = 'a' AND key = 'n'");
	CHECK_SQL(&e, "/p/41", "SELECT result->>'url' FROM dag_runs");
	env_stop_all(&e);
}

/*
 * A downstream task started by a restarted scheduler still sees its
 * upstream's XComs: the run's XComs are read from the database then (not
 * cached), outside the commit that queues the task.  b waits in a pool of
 * 0 slots across the restart; growing the pool starts it.
 */
static void test_sched__xcom_reaches_a_task_started_after_a_restart(void)
{
	struct weir_env e;

	env_init(&e);
	env_dag(&e, "xr.yaml",
		"version: 1\ndag: xr\ntasks:\n"
		"  - {id: a, operator: command, shell: \"echo '::xcom n=41'\"}\n"
		"  - {id: b, operator: command, depends_on: [a], pool: hold,"
		"     shell: \"test {{ xcom.a.n }} = 41\"}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	free(q(&e, "INSERT INTO pools (name, slots, description) VALUES ('hold', 0, 'test')"));
	env_trigger(&e, "xr", "r1", NULL);
	env_wait_sql(&e, 30, "SELECT count(*) = 1 FROM task_instances WHERE task_id = 'a' AND state = 'success'");
	env_stop(&e, 0, false);
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags d JOIN schedulers s ON s.id = d.scheduler_id");
	free(q(&e, "UPDATE pools SET slots = 1 WHERE name = 'hold'"));
	CHECK_STR_EQ(env_wait_run(&e, "xr", "r1", 30), "SUCCESS");
	CHECK_SQL(&e, "success", "SELECT state FROM task_instances WHERE task_id = 'b'");
	env_stop_all(&e);
}

static void test_sched__restarted_scheduler_adopts_a_running_task(void)
{
	struct weir_env e;
	char cmd[1200];

	env_init(&e);
	env_dag(&e, "long.yaml",
		"version: 1\ndag: long\ntasks:\n"
		"  - {id: t, operator: command, exec: [sleep, \"3\"]}\n"
		"  - {id: after, operator: command, exec: [\"true\"], depends_on: [t]}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "long", "r1", NULL);
	env_wait_sql(&e, 20, "SELECT state IN ('queued', 'running') FROM task_instances WHERE task_id = 't'");
	usleep(300000);
	env_stop(&e, 0, true); /* kill -9 */
	env_start(&e, 0, NULL);
	CHECK_STR_EQ(env_wait_run(&e, "long", "r1", 30), "SUCCESS");
	CHECK_SQL(&e, "1", "SELECT count(*) FROM task_tries WHERE task_id = 't'");
	snprintf(cmd, sizeof(cmd), "grep -q 'adopting the running task process' %s/logs/long/r1/t/1.log", e.home);
	CHECK_INT_EQ(system(cmd), 0);
	env_stop_all(&e);
}

/* LAYERS layers x 10 tasks, each after 2 tasks of the layer before. */
static void write_layers(struct weir_env *e, const char *file, const char *id, const char *cmd,
			 int layers)
{
	char *yaml = malloc(200000);
	size_t n = 0;

	n += (size_t)snprintf(yaml + n, 200000 - n, "version: 1\ndag: %s\nmax_active_runs: 4\ntasks:\n", id);
	for (int l = 0; l < layers; l++) {
		for (int k = 0; k < 10; k++) {
			n += (size_t)snprintf(yaml + n, 200000 - n, "  - {id: t%02d_%d, operator: command, exec: %s",
					      l, k, cmd);
			if (l)
				n += (size_t)snprintf(yaml + n, 200000 - n, ", depends_on: [t%02d_%d, t%02d_%d]",
						      l - 1, k, l - 1, (k + 3) % 10);
			n += (size_t)snprintf(yaml + n, 200000 - n, "}\n");
		}
	}
	env_dag(e, file, yaml);
	free(yaml);
}

static void write_big(struct weir_env *e, const char *file, const char *id, const char *cmd)
{
	write_layers(e, file, id, cmd, 20);
}

static void check_exactly_once(struct weir_env *e)
{
	/* Every task instance succeeded with exactly one successful try... */
	CHECK_SQL(e, "0", "SELECT count(*) FROM task_instances WHERE state <> 'success'");
	CHECK_SQL(e, "0", "SELECT count(*) FROM (SELECT run_pk, task_id FROM task_instances t"
			  " WHERE (SELECT count(*) FROM task_tries x WHERE x.run_pk = t.run_pk"
			  "  AND x.task_id = t.task_id AND x.state = 'success') <> 1) z");
	/* ...and no two tries of one task overlapped in time. */
	CHECK_SQL(e, "0", "SELECT count(*) FROM task_tries a JOIN task_tries b"
			  " ON a.run_pk = b.run_pk AND a.task_id = b.task_id AND a.attempt_id < b.attempt_id"
			  " AND coalesce(a.started_at, a.queued_at) < coalesce(b.ended_at, 'infinity')"
			  " AND coalesce(b.started_at, b.queued_at) < coalesce(a.ended_at, 'infinity')");
	CHECK_SQL(e, "0", "SELECT count(*) FROM task_tries WHERE ended_at IS NULL");
}

static void test_sched__kill_9_at_random_points_loses_nothing_and_runs_nothing_twice(void)
{
	struct weir_env e;
	unsigned seed = (unsigned)time(NULL);
	int kills = 0;

	alarm(600);
	check_note("random seed %u", seed);
	srand(seed);
	env_init(&e);
	write_big(&e, "big.yaml", "big", "[sh, -c, \"sleep 0.0$((RANDOM % 5))\"]");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "big", "r1", NULL);
	env_trigger(&e, "big", "r2", NULL);
	for (kills = 0; kills < 25; kills++) {
		char *done;
		usleep((useconds_t)(50000 + rand() % 350000));
		env_stop(&e, 0, true);
		done = q(&e, "SELECT count(*) FROM dag_runs WHERE state IN ('SUCCESS', 'FAILED')");
		env_start(&e, 0, NULL);
		if (atoi(done) == 2 && kills >= 20) {
			free(done);
			break;
		}
		free(done);
	}
	check_note("%d kill -9s of the scheduler", kills);
	CHECK_INT_OP(kills, >=, 20);
	CHECK_STR_EQ(env_wait_run(&e, "big", "r1", 300), "SUCCESS");
	CHECK_STR_EQ(env_wait_run(&e, "big", "r2", 300), "SUCCESS");
	CHECK_SQL(&e, "400", "SELECT count(*) FROM task_instances");
	check_exactly_once(&e);
	env_stop_all(&e);
}

static void test_sched__two_schedulers_share_the_work_and_never_start_a_try_twice(void)
{
	struct weir_env e;
	char name[32], id[32];

	alarm(600);
	env_init(&e);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "d%d.yaml", i);
		snprintf(id, sizeof(id), "d%d", i);
		write_layers(&e, name, id, "[\"true\"]", 5);
	}
	env_start(&e, 0, NULL);
	env_start(&e, 1, NULL);
	env_wait_sql(&e, 30, "SELECT count(*) = 6 AND count(DISTINCT scheduler_id) = 2"
			     " AND count(scheduler_id) = 6 FROM dags");
	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		env_trigger(&e, id, "r1", NULL);
	}
	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		CHECK_STR_EQ(env_wait_run(&e, id, "r1", 300), "SUCCESS");
	}
	CHECK_SQL(&e, "300", "SELECT count(*) FROM task_tries");
	check_exactly_once(&e);
	env_stop_all(&e);
}

static void test_sched__dag_file_changes_are_picked_up_and_bad_edits_keep_the_last_good(void)
{
	struct weir_env e;

	env_init(&e);
	env_start(&e, 0, NULL);
	env_dag(&e, "late.yaml", "version: 1\ndag: late\ntasks:\n  - {id: t, operator: command, exec: [\"true\"]}\n");
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags WHERE dag_id = 'late'");
	env_dag(&e, "late.yaml", "version: 1\ndag: late\ntasks:\n  - {id: t, operator: comand}\n");
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM import_errors WHERE message LIKE '%%unknown operator \"comand\"%%'");
	/* The last good version still runs. */
	env_trigger(&e, "late", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "late", "r1", 30), "SUCCESS");
	env_dag(&e, "late.yaml", "version: 1\ndag: late\ntasks:\n  - {id: t2, operator: command, exec: [\"true\"]}\n");
	env_wait_sql(&e, 20, "SELECT count(*) = 0 FROM import_errors");
	env_trigger(&e, "late", "r2", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "late", "r2", 30), "SUCCESS");
	CHECK_SQL(&e, "t2", "SELECT string_agg(task_id, ',') FROM task_instances t JOIN dag_runs r"
			    " ON r.id = t.run_pk WHERE r.run_id = 'r2'");
	env_stop_all(&e);
}

static void test_sched__abort_kills_running_tasks(void)
{
	struct weir_env e;
	const char *args[] = {"runs", "abort", "r1", NULL};

	env_init(&e);
	env_dag(&e, "ab.yaml",
		"version: 1\ndag: ab\ntasks:\n"
		"  - {id: long, operator: command, exec: [sleep, \"60\"]}\n"
		"  - {id: next, operator: command, exec: [\"true\"], depends_on: [long]}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "ab", "r1", NULL);
	env_wait_sql(&e, 20, "SELECT state = 'running' FROM task_instances WHERE task_id = 'long'");
	CHECK_INT_EQ(env_weir(&e, NULL, args), 0);
	CHECK_STR_EQ(env_wait_run(&e, "ab", "r1", 10), "ABORTED");
	env_wait_sql(&e, 15, "SELECT state = 'failed' FROM task_instances WHERE task_id = 'long'");
	CHECK_SQL(&e, "skipped", "SELECT state FROM task_instances WHERE task_id = 'next'");
	CHECK_SQL(&e, "0", "SELECT count(*) FROM task_tries WHERE ended_at IS NULL");
	env_stop_all(&e);
}

static void test_sched__a_try_on_a_silent_host_is_failed_after_the_heartbeat_timeout(void)
{
	struct weir_env e;
	static const char *const fast[] = {"WEIR_HEARTBEAT_TIMEOUT=3s", NULL};

	env_init(&e);
	env_dag(&e, "far.yaml",
		"version: 1\ndag: far\ntasks:\n"
		"  - {id: t, operator: command, retries: 1, retry_delay: 1s, shell: \"sleep 2\"}\n");
	env_start(&e, 0, fast);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "far", "r1", NULL);
	env_wait_sql(&e, 20, "SELECT state = 'running' FROM task_instances");
	env_stop(&e, 0, true);
	/* As if the try ran on another machine whose scheduler died. */
	free(env_sql(&e, "UPDATE task_instances SET hostname = 'ghost', heartbeat_at = now()"));
	free(env_sql(&e, "UPDATE schedulers SET hostname = 'ghost'"));
	env_start(&e, 0, fast);
	CHECK_STR_EQ(env_wait_run(&e, "far", "r1", 60), "SUCCESS");
	CHECK_SQL(&e, "1:up_for_retry,2:success",
		  "SELECT string_agg(try_number || ':' || state, ',' ORDER BY try_number) FROM task_tries");
	CHECK_SQL(&e, "t", "SELECT reason LIKE 'host ghost stopped sending heartbeats%%' FROM task_tries"
			   " WHERE try_number = 1");
	env_stop_all(&e);
}

/*
 * The outcome of a try is decided by its report line, not by the runner's
 * exit: a runner that lingers after reporting (here a wrapper that sleeps
 * 4 s after the real runner returned, keeping the report pipe open) does
 * not hold up the next task.  Three lingering hops would take >= 12 s if
 * the scheduler waited for the exits.
 */
static void test_sched__a_reported_result_starts_downstream_before_the_runner_exits(void)
{
	struct weir_env e;
	char wrapper[700], runner[PATH_MAX], var[PATH_MAX + 32], script[2 * PATH_MAX];
	/* One try per runner: each lingers after its only try. */
	const char *extra[3] = {var, "WEIR_RUNNER_MAX_TRIES=1", NULL};
	const char *bin = getenv("WEIR_BINARY");
	int64_t t0;

	CHECK(bin != NULL);
	snprintf(runner, sizeof(runner), "%s", bin);
	CHECK(strrchr(runner, '/') != NULL);
	snprintf(strrchr(runner, '/') + 1, sizeof(runner) - (size_t)(strrchr(runner, '/') + 1 - runner),
		 "weir-task");
	env_init(&e);
	snprintf(wrapper, sizeof(wrapper), "%s/linger.sh", e.home);
	snprintf(script, sizeof(script), "#!/bin/sh\n\"%s\" \"$@\"\nrc=$?\nsleep 4\nexit $rc\n", runner);
	check_write_file(wrapper, script);
	CHECK_INT_EQ(chmod(wrapper, 0755), 0);
	snprintf(var, sizeof(var), "WEIR_TASK_RUNNER=%s", wrapper);
	env_dag(&e, "linger.yaml",
		"version: 1\ndag: linger\ntasks:\n"
		"  - {id: a, operator: command, exec: [\"true\"]}\n"
		"  - {id: b, operator: command, exec: [\"true\"], depends_on: [a]}\n"
		"  - {id: c, operator: command, exec: [\"true\"], depends_on: [b]}\n");
	env_start(&e, 0, extra);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	t0 = weir_mono_us();
	env_trigger(&e, "linger", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "linger", "r1", 60), "SUCCESS");
	/* In ms: bounded well below the 12 s that waiting for exits costs. */
	CHECK_INT_OP((weir_mono_us() - t0) / 1000, <, 10000);
	CHECK_SQL(&e, "3", "SELECT count(*) FROM task_tries WHERE state = 'success' AND exit_code = 0");
	env_stop_all(&e);
	/* Let the lingering wrappers go before the next test's processes. */
	sleep(4);
}

/* A /proc file's text (they report size 0), or NULL when it is gone. */
static char *read_proc(const char *path)
{
	char *buf = weir_xcalloc(1, 8192);
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, 8191, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Waits up to timeout_s for pid to exit (gone, or a zombie nobody reaped). */
static bool gone_or_zombie(pid_t pid, int timeout_s)
{
	int64_t until = weir_mono_us() + timeout_s * WEIR_US_PER_SEC;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (weir_mono_us() < until) {
		char *st = read_proc(path), *p;
		bool done = !st || ((p = strrchr(st, ')')) && p[1] == ' ' && p[2] == 'Z');
		free(st);
		if (done)
			return true;
		usleep(20000);
	}
	return false;
}

/* The pid of the scheduler's idle standby runner (its child with
 * --standby on the command line), or 0. */
static pid_t standby_of(pid_t sched)
{
	char path[64], cmd[4096], *kids, *p;
	pid_t found = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)sched, (int)sched);
	kids = read_proc(path);
	if (!kids)
		return 0;
	for (p = strtok(kids, " \n"); p && !found; p = strtok(NULL, " \n")) {
		FILE *f;
		size_t n;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", p);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (size_t i = 0; i < n; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		cmd[n] = '\0';
		if (strstr(cmd, "--standby="))
			found = (pid_t)atoi(p);
	}
	free(kids);
	return found;
}

/* The runner started ahead: a standby_of() pid that ran no try yet (a
 * pooled runner keeps that command line for its whole life). */
static pid_t idle_standby(struct weir_env *e, int timeout_s)
{
	int64_t until = weir_mono_us() + timeout_s * WEIR_US_PER_SEC;

	while (weir_mono_us() < until) {
		pid_t sb = standby_of(e->sched[0]);
		if (sb) {
			char *n = env_sql(e, "SELECT count(*) FROM task_tries WHERE pid = %d", (int)sb);
			bool idle = n && !strcmp(n, "0");
			free(n);
			if (idle)
				return sb;
		}
		usleep(20000);
	}
	return 0;
}

/* The pid of the runner of a task's try in a run (as recorded). */
static pid_t try_pid(struct weir_env *e, const char *run, const char *task)
{
	char *v = env_sql(e, "SELECT t.pid FROM task_tries t JOIN dag_runs d ON d.id = t.run_pk "
			     "WHERE d.run_id = '%s' AND t.task_id = '%s'", run, task);
	pid_t pid = v ? (pid_t)atoi(v) : 0;

	free(v);
	return pid;
}

/*
 * The scheduler keeps one runner started ahead (weir-task --standby); a
 * try is handed to it after its commit, and after the try the runner
 * goes back to the pool for the next one.  If the idle runner died
 * meanwhile, the try starts the ordinary way and a new runner is started;
 * on shutdown idle runners go away with us.
 */
static void test_sched__a_dead_standby_runner_is_replaced_and_the_try_still_runs(void)
{
	struct weir_env e;
	pid_t sb, sb2;

	env_init(&e);
	env_dag(&e, "sb.yaml",
		"version: 1\ndag: sb\ntasks:\n"
		"  - {id: a, operator: command, exec: [\"true\"]}\n"
		"  - {id: b, operator: command, exec: [\"true\"], depends_on: [a]}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	sb = idle_standby(&e, 20);
	CHECK_INT_OP(sb, >, 0);
	/* Killed: the hand-over fails and a is started directly. */
	CHECK_INT_EQ(kill(sb, SIGKILL), 0);
	CHECK(gone_or_zombie(sb, 10));
	usleep(200000); /* reaped: the scheduler forgets it */
	env_trigger(&e, "sb", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "sb", "r1", 30), "SUCCESS");
	CHECK_SQL(&e, "2", "SELECT count(*) FROM task_tries WHERE state = 'success'");
	/* b went to the fresh runner started after a's commit. */
	sb2 = try_pid(&e, "r1", "b");
	CHECK_INT_OP(sb2, >, 0);
	CHECK_INT_OP(sb2, !=, sb);
	CHECK_INT_OP(try_pid(&e, "r1", "a"), !=, sb2);
	/* It is back in the pool and runs both tries of r2. */
	env_trigger(&e, "sb", "r2", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "sb", "r2", 30), "SUCCESS");
	CHECK_INT_EQ(try_pid(&e, "r2", "a"), sb2);
	CHECK_INT_EQ(try_pid(&e, "r2", "b"), sb2);
	CHECK_INT_EQ(kill(sb2, 0), 0); /* idle again */
	/* On shutdown the idle runner reads EOF and exits. */
	env_stop(&e, 0, false);
	CHECK(gone_or_zombie(sb2, 10));
	env_stop_all(&e);
}

/* True when the file is not flock()ed by anyone. */
static bool unlocked(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	bool free_ = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;

	if (fd >= 0)
		close(fd);
	return free_;
}

/*
 * A pooled runner runs one try after the other and carries nothing from
 * one to the next: the earlier try's lock is released while the runner
 * lives on, and the program of a later try inherits neither the runner's
 * socket nor an earlier try's files (its open fds are listed).  With
 * runner_max_tries = 1 every try gets a fresh process.
 */
static void test_sched__a_pooled_runner_carries_nothing_from_one_try_to_the_next(void)
{
	struct weir_env e;
	const char *one[] = {"WEIR_RUNNER_MAX_TRIES=1", NULL};
	char lock[PATH_MAX], log[PATH_MAX], *text;
	pid_t r;

	env_init(&e);
	env_dag(&e, "pool.yaml",
		"version: 1\ndag: pool\ntasks:\n"
		"  - {id: a, operator: command, exec: [\"true\"]}\n"
		"  - {id: b, operator: command, depends_on: [a],\n"
		"     shell: \"for f in /proc/$$/fd/*; do echo fd $f $(readlink $f); done\"}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "pool", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "pool", "r1", 30), "SUCCESS");
	r = try_pid(&e, "r1", "a");
	CHECK_INT_OP(r, >, 0);
	CHECK_INT_EQ(try_pid(&e, "r1", "b"), r);
	CHECK_INT_EQ(kill(r, 0), 0); /* alive, idle */
	snprintf(lock, sizeof(lock), "%s/logs/pool/r1/a/1.lock", e.home);
	CHECK(unlocked(lock));
	snprintf(lock, sizeof(lock), "%s/logs/pool/r1/b/1.lock", e.home);
	CHECK(unlocked(lock));
	snprintf(log, sizeof(log), "%s/logs/pool/r1/b/1.log", e.home);
	text = check_read_file(log);
	CHECK(strstr(text, "fd /proc/") != NULL);
	CHECK(strstr(text, "socket:") == NULL);
	CHECK(strstr(text, ".lock") == NULL);
	CHECK(strstr(text, "/a/1.") == NULL);
	free(text);
	env_stop(&e, 0, false);
	CHECK(gone_or_zombie(r, 10));

	/* One try per process. */
	env_start(&e, 0, one);
	env_trigger(&e, "pool", "r2", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "pool", "r2", 30), "SUCCESS");
	r = try_pid(&e, "r2", "a");
	CHECK_INT_OP(r, >, 0);
	CHECK_INT_OP(try_pid(&e, "r2", "b"), !=, r);
	CHECK(gone_or_zombie(r, 10));
	env_stop_all(&e);
}

static void test_sched__callbacks_run_once_the_run_is_decided(void)
{
	struct weir_env e;

	env_init(&e);
	env_dag(&e, "cb.yaml",
		"version: 1\ndag: cb\nparams: {fail: {type: boolean, default: false}}\n"
		"on_success: {operator: command, shell: \"echo '::xcom said=\\\"ok {{ xcom.work.n }}\\\"'\"}\n"
		"on_failure: {operator: command, shell: \"echo '::xcom said=\\\"failed\\\"'\"}\n"
		"tasks:\n"
		"  - {id: work, operator: command, shell: \"echo '::xcom n=7'; test {{ params.fail }} = false\"}\n");
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "cb", "good", NULL);
	env_trigger(&e, "cb", "bad", "{\"fail\": true}");
	CHECK_STR_EQ(env_wait_run(&e, "cb", "good", 30), "SUCCESS");
	CHECK_STR_EQ(env_wait_run(&e, "cb", "bad", 30), "FAILED");
	CHECK_SQL(&e, "on_failure:skipped,on_success:success,work:success",
		  "SELECT string_agg(t.task_id || ':' || t.state, ',' ORDER BY t.task_id) FROM task_instances t"
		  " JOIN dag_runs r ON r.id = t.run_pk WHERE r.run_id = 'good'");
	CHECK_SQL(&e, "\"ok 7\"", "SELECT x.value::text FROM xcom x JOIN dag_runs r ON r.id = x.run_pk"
				   " WHERE r.run_id = 'good' AND x.key = 'said'");
	CHECK_SQL(&e, "on_failure:success,on_success:skipped,work:failed",
		  "SELECT string_agg(t.task_id || ':' || t.state, ',' ORDER BY t.task_id) FROM task_instances t"
		  " JOIN dag_runs r ON r.id = t.run_pk WHERE r.run_id = 'bad'");
	env_stop_all(&e);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_sched__callbacks_run_once_the_run_is_decided),
	CHECK_TEST(test_sched__a_reported_result_starts_downstream_before_the_runner_exits),
	CHECK_TEST(test_sched__a_dead_standby_runner_is_replaced_and_the_try_still_runs),
	CHECK_TEST(test_sched__a_pooled_runner_carries_nothing_from_one_try_to_the_next),
	CHECK_TEST(test_sched__a_try_on_a_silent_host_is_failed_after_the_heartbeat_timeout),
	CHECK_TEST(test_sched__every_trigger_rule_decides_like_airflow),
	CHECK_TEST(test_sched__branch_skips_the_unchosen_path_and_joins),
	CHECK_TEST(test_sched__invalid_exit_code_makes_the_order_invalid),
	CHECK_TEST(test_sched__retries_back_off_exponentially_within_bounds),
	CHECK_TEST(test_sched__timeout_kills_the_whole_process_group),
	CHECK_TEST(test_sched__pool_slots_and_priorities_order_the_starts),
	CHECK_TEST(test_sched__max_active_runs_serialises_runs),
	CHECK_TEST(test_sched__catchup_creates_missed_intervals_and_no_catchup_only_the_last),
	CHECK_TEST(test_sched__paused_dag_holds_triggered_runs_until_unpaused),
	CHECK_TEST(test_sched__an_unpause_seen_first_by_the_heartbeat_starts_held_runs),
	CHECK_TEST(test_sched__xcom_flows_downstream_and_becomes_the_order_result),
	CHECK_TEST(test_sched__xcom_reaches_a_task_started_after_a_restart),
	CHECK_TEST(test_sched__restarted_scheduler_adopts_a_running_task),
	CHECK_TEST(test_sched__dag_file_changes_are_picked_up_and_bad_edits_keep_the_last_good),
	CHECK_TEST(test_sched__abort_kills_running_tasks),
	CHECK_TEST(test_sched__kill_9_at_random_points_loses_nothing_and_runs_nothing_twice),
	CHECK_TEST(test_sched__two_schedulers_share_the_work_and_never_start_a_try_twice),
	{0},
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return check_main(argc, argv, tests);
}
