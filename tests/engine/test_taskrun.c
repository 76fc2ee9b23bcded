/*
 * test_taskrun.c: the task process (engine/taskrun.c), the command and
 * file_sensor operators, spec building, and `weir tasks test|logs` /
 * `weir task run` through the binary (WEIR_BINARY).
 *
 * Most tests build a spec by hand (spec_new) and run weir_taskrun() in
 * the test's own process, like `weir tasks test` does.  Commands use
 * unusual numbers (sleep 3517 ...) so "no process is left" can be checked
 * by scanning /proc for that exact command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/dag.h"
#include "engine/operator.h"
#include "engine/spec.h"
#include "engine/taskrun.h"
#include "tests/check.h"
#include "tests/check_spec.h"

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

static char *tmp_path(const char *name)
{
	return weir_xasprintf("%s/%s", check_tmpdir(), name);
}

/* A spec for a task "t" of DAG "d", run "r", try 1; config is stolen. */
static json_t *spec_new(const char *op, json_t *config)
{
	const char *tmp = check_tmpdir();
	json_t *ctx = json_object(), *spec;
	char *run_dir = weir_xasprintf("%s/run", tmp), *log_dir = weir_xasprintf("%s/logs/t", tmp);

	json_object_set_new(ctx, "ds", json_string("2026-11-23"));
	json_object_set_new(ctx, "ds_nodash", json_string("20261123"));
	json_object_set_new(ctx, "run_id", json_string("r"));
	json_object_set_new(ctx, "params", json_object());
	json_object_set_new(ctx, "conf", json_object());
	json_object_set_new(ctx, "xcom", json_object());
	spec = check_spec_new(op, config, ctx, "01900000-0000-7000-8000-000000000001", run_dir, log_dir);
	free(run_dir);
	free(log_dir);
	return spec;
}

static json_t *shell_spec(const char *script)
{
	return spec_new("command", json_pack("{s:s}", "shell", script));
}

static const char *rstr(json_t *result, const char *key)
{
	return json_string_value(json_object_get(result, key));
}

static long long rint_(json_t *result, const char *key)
{
	json_t *v = json_object_get(result, key);
	if (!json_is_integer(v))
		check__fail(__FILE__, __LINE__, "result \"%s\" is not an integer", key);
	return (long long)json_integer_value(v);
}

static char *read_log(json_t *spec)
{
	return check_read_file(json_string_value(json_object_get(spec, "log_path")));
}

static size_t count(const char *hay, const char *needle)
{
	/* Not strstr in a loop: under ASan each call is O(strlen(hay)). */
	size_t n = 0, len = strlen(needle);
	for (const char *p = hay; *p; p++)
		if (*p == needle[0] && !strncmp(p, needle, len))
			n++;
	return n;
}

/* Runs argv with cwd, stdout and stderr to files; returns the exit status. */
static int run_cmd(const char *const *argv, const char *cwd, const char *out, const char *err)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0 || chdir(cwd) < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static const char *binary(void)
{
	const char *b = getenv("WEIR_BINARY");
	if (!b)
		check__fail(__FILE__, __LINE__, "WEIR_BINARY is not set (run through ctest)");
	return b;
}

static const char *srcdir(void)
{
	const char *s = getenv("WEIR_SOURCE_DIR");
	return s ? s : ".";
}

/* ------------------------------------------------------------------ */
/* command: outcomes and the log                                        */
/* ------------------------------------------------------------------ */

static void test_taskrun__success_logs_timestamped_output(void)
{
	json_t *spec = shell_spec("echo hello; echo oops >&2; printf 'no newline'");
	json_t *res = weir_taskrun(spec, -1);
	char *log = read_log(spec);
	regex_t re;
	size_t lines = 0;

	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	CHECK_INT_EQ(rint_(res, "exit_code"), 0);
	CHECK(json_is_null(json_object_get(res, "message")));
	CHECK_STR_EQ(rstr(res, "attempt_id"), "01900000-0000-7000-8000-000000000001");
	CHECK_STR_CONTAINS(log, "Z OUT hello\n");
	CHECK_STR_CONTAINS(log, "Z ERR oops\n");
	CHECK_STR_CONTAINS(log, "Z OUT no newline\n");
	CHECK_STR_CONTAINS(log, "WEIR task \"t\" of DAG \"d\", run \"r\", try 1 of 1");
	CHECK_STR_CONTAINS(log, "WEIR outcome success (exit code 0)");
	CHECK_OK(regcomp(&re,
			 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z (OUT|ERR|WEIR) ",
			 REG_EXTENDED | REG_NOSUB));
	for (char *line = log, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		if (regexec(&re, line, 0, NULL, 0) != 0)
			check__fail(__FILE__, __LINE__, "bad log line: \"%s\"", line);
		lines++;
	}
	CHECK_INT_OP(lines, >=, 6);
	CHECK(rint_(res, "ended_us") >= rint_(res, "started_us"));
	regfree(&re);
	free(log);
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__exit_code_fails_the_try(void)
{
	json_t *spec = shell_spec("echo before; exit 7");
	json_t *res = weir_taskrun(spec, -1);

	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_INT_EQ(rint_(res, "exit_code"), 7);
	CHECK_STR_EQ(rstr(res, "message"), "command exited with code 7");
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__invalid_exit_code_is_invalid(void)
{
	json_t *spec = shell_spec("exit 3");
	json_t *res;

	json_object_set_new(spec, "invalid_exit_code", json_integer(3));
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "invalid");
	CHECK_INT_EQ(rint_(res, "exit_code"), 3);
	CHECK_STR_CONTAINS(rstr(res, "message"), "command exited with code 3");
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__unknown_program_fails_with_reason(void)
{
	json_t *spec = spec_new("command", json_pack("{s:[s]}", "exec", "/nonexistent/prog"));
	json_t *res = weir_taskrun(spec, -1);

	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK(json_is_null(json_object_get(res, "exit_code")));
	CHECK_STR_CONTAINS(rstr(res, "message"), "/nonexistent/prog");
	json_decref(res);
	json_decref(spec);
}

/* ------------------------------------------------------------------ */
/* templates                                                            */
/* ------------------------------------------------------------------ */

static void test_taskrun__renders_params_conf_xcom_ds_env(void)
{
	json_t *spec = shell_spec("echo \"{{ params.a }}/{{ conf.b }}/{{ xcom.up.k }}/{{ ds }}/{{ env.TASKRUN_TEST_VAR }}/$GREETING\"");
	json_t *ctx = json_object_get(spec, "context"), *res;
	char *log;

	setenv("TASKRUN_TEST_VAR", "v", 1);
	json_object_set_new(ctx, "params", json_pack("{s:i}", "a", 1));
	json_object_set_new(ctx, "conf", json_pack("{s:s}", "b", "two"));
	json_object_set_new(ctx, "xcom", json_pack("{s:{s:i}}", "up", "k", 3));
	json_object_set_new(spec, "env", json_pack("{s:s}", "GREETING", "hi {{ params.a }}"));
	res = weir_taskrun(spec, -1);
	log = read_log(spec);
	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	CHECK_STR_CONTAINS(log, "OUT 1/two/3/2026-11-23/v/hi 1\n");
	free(log);
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__strict_template_error_names_the_key(void)
{
	json_t *spec = shell_spec("echo {{ conf.region }}");
	json_t *res = weir_taskrun(spec, -1);
	char *log = read_log(spec);

	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_STR_EQ(rstr(res, "message"), "config.shell: unknown variable \"conf.region\"");
	CHECK_STR_CONTAINS(log, "config.shell: unknown variable \"conf.region\"");
	CHECK(json_is_null(json_object_get(res, "exit_code")));
	free(log);
	json_decref(res);
	json_decref(spec);

	spec = spec_new("command", json_pack("{s:[s,s]}", "exec", "echo", "{{ params.nope }}"));
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "message"), "config.exec[1]: unknown variable \"params.nope\"");
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__sh_filter_quotes_a_hostile_param(void)
{
	const char *hostile = "x'; touch pwned; echo '$(touch pwned2)`touch pwned3`";
	json_t *spec = shell_spec("echo {{ params.p | sh }}");
	json_t *res;
	char *log, *want, *f;
	struct stat st;

	json_object_set_new(json_object_get(spec, "context"), "params", json_pack("{s:s}", "p", hostile));
	res = weir_taskrun(spec, -1);
	log = read_log(spec);
	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	want = weir_xasprintf("OUT %s\n", hostile);
	CHECK_STR_CONTAINS(log, want);
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = {"run/pwned", "run/pwned2", "run/pwned3"};
		f = tmp_path(names[i]);
		CHECK(stat(f, &st) < 0);
		free(f);
	}
	free(want);
	free(log);
	json_decref(res);
	json_decref(spec);
}

/* ------------------------------------------------------------------ */
/* XCom and branches                                                    */
/* ------------------------------------------------------------------ */

static void test_taskrun__collects_xcom_lines_and_file(void)
{
	json_t *spec = shell_spec("echo '::xcom a=1'; echo '::xcom s=\"x y\"';"
				  " printf '{\"b\": [1, 2]}' > \"$WEIR_XCOM_FILE\"");
	json_t *res = weir_taskrun(spec, -1);
	json_t *want = json_pack("{s:i, s:s, s:[i,i]}", "a", 1, "s", "x y", "b", 1, 2);

	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	CHECK(json_equal(json_object_get(res, "xcom"), want));
	json_decref(want);
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__bad_or_oversize_xcom_fails(void)
{
	json_t *spec = shell_spec("echo '::xcom big=\"0123456789abcdef\"'");
	json_t *res;

	json_object_set_new(spec, "xcom_max_bytes", json_integer(10));
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_INT_EQ(rint_(res, "exit_code"), 0);
	CHECK_STR_EQ(rstr(res, "message"), "XCom value \"big\" is 18 bytes, more than xcom_max_bytes (10)");
	json_decref(res);
	json_decref(spec);

	spec = shell_spec("echo '::xcom a=not json'");
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(rstr(res, "message"), "invalid ::xcom line for \"a\": the value is not JSON");
	json_decref(res);
	json_decref(spec);

	spec = shell_spec("printf '[1]' > \"$WEIR_XCOM_FILE\"");
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(rstr(res, "message"), "invalid XCom file");
	json_decref(res);
	json_decref(spec);

	spec = shell_spec("printf '{\"k\": \"0123456789abcdef\"}' > \"$WEIR_XCOM_FILE\"");
	json_object_set_new(spec, "xcom_max_bytes", json_integer(10));
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(rstr(res, "message"), "XCom value \"k\" is 18 bytes");
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__stale_xcom_file_is_ignored(void)
{
	json_t *spec = shell_spec("true");
	json_t *res;
	char *dir = tmp_path("logs/t");

	CHECK_OK(weir_spec_mkdirs(dir, NULL));
	free(dir);
	check_write_file(json_string_value(json_object_get(spec, "xcom_path")), "{\"old\": 1}");
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	CHECK_INT_EQ(json_object_size(json_object_get(res, "xcom")), 0);
	json_decref(res);
	json_decref(spec);
}

static json_t *branch_spec(const char *script)
{
	json_t *spec = shell_spec(script);
	json_object_set_new(spec, "branch", json_true());
	json_object_set_new(spec, "downstream", json_pack("[s,s]", "a", "b"));
	return spec;
}

static void test_taskrun__branch_must_name_downstream_tasks(void)
{
	json_t *spec = branch_spec("echo '::xcom branch=\"a\"'");
	json_t *res = weir_taskrun(spec, -1), *want = json_pack("[s]", "a");

	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	CHECK(json_equal(json_object_get(res, "branch"), want));
	json_decref(want);
	json_decref(res);
	json_decref(spec);

	spec = branch_spec("echo '::xcom branch=[\"a\", \"b\"]'");
	res = weir_taskrun(spec, -1);
	want = json_pack("[s,s]", "a", "b");
	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	CHECK(json_equal(json_object_get(res, "branch"), want));
	json_decref(want);
	json_decref(res);
	json_decref(spec);

	spec = branch_spec("echo '::xcom branch=\"c\"'");
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_STR_EQ(rstr(res, "message"), "branch \"c\" is not a downstream task of \"t\" (choose from: a, b)");
	CHECK(json_is_null(json_object_get(res, "branch")));
	json_decref(res);
	json_decref(spec);

	spec = branch_spec("true");
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(rstr(res, "message"), "branch task chose no branch");
	json_decref(res);
	json_decref(spec);
}

/* ------------------------------------------------------------------ */
/* masking, stdin, exec, long lines                                     */
/* ------------------------------------------------------------------ */

static void test_taskrun__secrets_are_masked(void)
{
	/* The secret also straddles the 64 KiB split of a long line. */
	json_t *spec = shell_spec("echo pw={{ params.pw }}; echo hunter2 >&2;"
				  " head -c 65534 /dev/zero | tr '\\000' a; echo hunter2; exit 9");
	json_t *res;
	char *log;

	json_object_set_new(json_object_get(spec, "context"), "params", json_pack("{s:s}", "pw", "hunter2"));
	json_object_set_new(spec, "secrets", json_pack("[s,s]", "hunter2", ""));
	res = weir_taskrun(spec, -1);
	log = read_log(spec);
	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK(strstr(log, "hunter2") == NULL);
	CHECK(strstr(log, "hunt") == NULL);
	CHECK_STR_CONTAINS(log, "OUT pw=***\n");
	CHECK_STR_CONTAINS(log, "ERR ***\n");
	CHECK_STR_CONTAINS(log, "WEIR > echo pw=***;");
	/* The 64 KiB cut moved before the secret's start: "aaa...a" and "***". */
	CHECK_INT_EQ(count(log, " OUT ***\n"), 1);
	{
		const char *a = strstr(log, " OUT aaa");
		CHECK(a);
		CHECK_INT_EQ(strchr(a, '\n') - (a + 5), 65534);
	}
	free(log);
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__long_lines_are_split_at_64k(void)
{
	json_t *spec = shell_spec("head -c 100000 /dev/zero | tr '\\000' b; echo; echo after");
	json_t *res = weir_taskrun(spec, -1);
	char *log = read_log(spec), *p, *q;

	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	p = strstr(log, " OUT bbb");
	CHECK(p);
	q = strchr(p, '\n');
	CHECK_INT_EQ(q - (p + 5), 65536);
	p = strstr(q, " OUT bbb");
	CHECK(p);
	CHECK_INT_EQ(strchr(p, '\n') - (p + 5), 100000 - 65536);
	CHECK_STR_CONTAINS(log, "OUT after\n");
	free(log);
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__stdin_is_fed_without_deadlock(void)
{
	/* 1 MiB in, echoed back by cat as it arrives: both pipes fill up. */
	size_t nlines = 16384;
	struct weir_buf in = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *spec, *res;
	char *log;

	for (size_t i = 0; i < nlines; i++)
		weir_buf_addf(&in, "line %06zu %s\n", i, "................................................");
	spec = spec_new("command", json_pack("{s:[s], s:s}", "exec", "cat", "stdin", in.buf));
	res = weir_taskrun(spec, -1);
	log = read_log(spec);
	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	CHECK_INT_EQ(count(log, " OUT line "), nlines);
	CHECK_STR_CONTAINS(log, "OUT line 016383 ");
	free(log);
	json_decref(res);
	json_decref(spec);
	weir_buf_release(&in);
}

static void test_taskrun__exec_passes_arguments_intact(void)
{
	json_t *spec = spec_new("command", json_pack("{s:[s,s,s,s,s,i]}", "exec", "printf", "[%s]\\n",
						      "a b", "it's \"q\"", "$HOME;`x`", 60));
	json_t *res = weir_taskrun(spec, -1);
	char *log = read_log(spec);

	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	CHECK_STR_CONTAINS(log, "OUT [a b]\n");
	CHECK_STR_CONTAINS(log, "OUT [it's \"q\"]\n");
	CHECK_STR_CONTAINS(log, "OUT [$HOME;`x`]\n");
	CHECK_STR_CONTAINS(log, "OUT [60]\n");
	CHECK_STR_CONTAINS(log, "WEIR exec: printf '[%s]\\n' 'a b' 'it'\\''s \"q\"'");
	free(log);
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__cwd_defaults_to_run_dir_and_env_is_set(void)
{
	json_t *spec = shell_spec("pwd; echo \"$WEIR_DAG_ID $WEIR_RUN_ID $WEIR_TASK_ID $WEIR_TRY_NUMBER $WEIR_ATTEMPT_ID\";"
				  " echo \"db=${WEIR_DATABASE_URL-unset}\"");
	json_t *res;
	char *log, *want;

	setenv("WEIR_DATABASE_URL", "postgresql://u:secret@h/db", 1);
	res = weir_taskrun(spec, -1);
	log = read_log(spec);
	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	want = weir_xasprintf("OUT %s/run\n", check_tmpdir());
	CHECK_STR_CONTAINS(log, want);
	CHECK_STR_CONTAINS(log, "OUT d r t 1 01900000-0000-7000-8000-000000000001\n");
	CHECK_STR_CONTAINS(log, "OUT db=unset\n");
	free(want);
	free(log);
	json_decref(res);
	json_decref(spec);
}

/* ------------------------------------------------------------------ */
/* deadlines, signals, leftovers                                        */
/* ------------------------------------------------------------------ */

static void test_taskrun__deadline_kills_group_and_setsid_grandchild(void)
{
	json_t *spec = shell_spec("setsid sleep 3517 & sleep 3518; echo never");
	json_t *res;
	int64_t t0 = weir_mono_us();
	char *log;

	json_object_set_new(spec, "deadline_us", json_integer(weir_now_us() + WEIR_US_PER_SEC));
	json_object_set_new(spec, "execution_timeout_us", json_integer(WEIR_US_PER_SEC));
	res = weir_taskrun(spec, -1);
	log = read_log(spec);
	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_STR_EQ(rstr(res, "message"), "timed out after 1s (execution_timeout)");
	CHECK_INT_EQ(rint_(res, "exit_code"), 128 + SIGTERM);
	CHECK_INT_OP(weir_mono_us() - t0, <, 4 * WEIR_US_PER_SEC);
	CHECK(strstr(log, "OUT never") == NULL);
	CHECK_STR_CONTAINS(log, "execution_timeout reached: sending SIGTERM");
	CHECK(!check_process_exists("sleep 3517"));
	CHECK(!check_process_exists("sleep 3518"));
	free(log);
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__sigterm_ignored_gets_sigkill_after_grace(void)
{
	json_t *spec = shell_spec("trap '' TERM; sleep 3519");
	json_t *res;
	int64_t t0 = weir_mono_us();

	json_object_set_new(spec, "deadline_us", json_integer(weir_now_us() + WEIR_US_PER_SEC / 2));
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(rstr(res, "message"), "(execution_timeout)");
	CHECK_INT_EQ(rint_(res, "exit_code"), 128 + SIGKILL);
	CHECK_INT_OP(weir_mono_us() - t0, >=, 5 * WEIR_US_PER_SEC);
	CHECK(!check_process_exists("sleep 3519"));
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__leftovers_are_killed_when_the_command_ends(void)
{
	json_t *spec = shell_spec("sleep 3520 & setsid sleep 3522 & echo done");
	json_t *res;
	int64_t t0 = weir_mono_us();

	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	CHECK_INT_OP(weir_mono_us() - t0, <, 3 * WEIR_US_PER_SEC);
	CHECK(!check_process_exists("sleep 3520"));
	CHECK(!check_process_exists("sleep 3522"));
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__sigterm_to_the_runner_records_an_outcome(void)
{
	json_t *spec = shell_spec("setsid sleep 3521 & sleep 3523");
	const char *result_path = json_string_value(json_object_get(spec, "result_path"));
	pid_t pid;
	int status;
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *res = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		json_decref(weir_taskrun(spec, -1));
		_exit(0);
	}
	/* Wait until the command runs. */
	for (int i = 0; i < 100 && !check_process_exists("sleep 3523"); i++)
		poll(NULL, 0, 50);
	CHECK(check_process_exists("sleep 3523"));
	kill(pid, SIGTERM);
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_OK(weir_buf_read_file(&b, result_path));
	CHECK_OK(weir_spec_result_parse(b.buf, b.len, &res, &err));
	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_STR_EQ(rstr(res, "message"), "stopped by SIGTERM");
	CHECK(!check_process_exists("sleep 3521"));
	CHECK(!check_process_exists("sleep 3523"));
	weir_buf_release(&b);
	weir_buf_release(&err);
	json_decref(res);
	json_decref(spec);
}

/* ------------------------------------------------------------------ */
/* result, report, lock                                                 */
/* ------------------------------------------------------------------ */

static void test_taskrun__result_file_matches_report_line(void)
{
	json_t *spec = shell_spec("echo '::xcom k=[1]'");
	int p[2];
	char buf[8192];
	ssize_t n;
	char *file, *dir;
	json_t *res;
	DIR *d;
	struct dirent *e;

	CHECK(pipe(p) == 0);
	res = weir_taskrun(spec, p[1]);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	CHECK(n > 0);
	buf[n] = '\0';
	file = check_read_file(json_string_value(json_object_get(spec, "result_path")));
	CHECK_STR_EQ(buf, file);
	CHECK(buf[n - 1] == '\n' && !strchr(buf, '\n')[1]);
	{
		char *dumped = json_dumps(res, JSON_COMPACT);
		buf[n - 1] = '\0';
		CHECK_STR_EQ(buf, dumped);
		free(dumped);
	}
	/* No temporary file is left next to it. */
	dir = tmp_path("logs/t");
	d = opendir(dir);
	CHECK(d);
	while ((e = readdir(d)))
		CHECK(!strstr(e->d_name, ".tmp"));
	closedir(d);
	free(dir);
	free(file);
	json_decref(res);
	json_decref(spec);
}

static void test_taskrun__main_writes_pid_to_lock_fd(void)
{
	json_t *spec = shell_spec("echo via main");
	char *spec_path = tmp_path("spec.json"), *lock_path = tmp_path("1.lock");
	char lock_s[16], report_s[16], pid[32];
	int lock = open(lock_path, O_RDWR | O_CREAT, 0640), p[2];
	char *argv[] = {"run", "d", "r", "t", "--try", "1", "--attempt",
			"01900000-0000-7000-8000-000000000001", "--spec", spec_path,
			"--lock-fd", lock_s, "--report-fd", report_s, NULL};
	char buf[4096];
	ssize_t n;

	CHECK(lock >= 0);
	CHECK(write(lock, "stale content that is longer", 28) == 28);
	CHECK(pipe(p) == 0);
	snprintf(lock_s, sizeof(lock_s), "%d", lock);
	snprintf(report_s, sizeof(report_s), "%d", p[1]);
	CHECK_OK(weir_spec_write_json(spec_path, spec, NULL));
	CHECK_INT_EQ(weir_taskrun_main(14, argv), 0);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	CHECK(n > 0);
	buf[n] = '\0';
	CHECK_STR_CONTAINS(buf, "\"outcome\":\"success\"");
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	{
		char *got = check_read_file(lock_path);
		CHECK_STR_EQ(got, pid);
		free(got);
	}
	/* The lock fd stays open (the lock is held until exit). */
	CHECK(fcntl(lock, F_GETFD) >= 0);

	/* A spec for another attempt is refused and writes nothing. */
	{
		/* (getopt permuted argv: build it again.) */
		char *argv2[] = {"run", "d", "r", "t", "--try", "1", "--attempt",
				 "01900000-0000-7000-8000-000000000002", "--spec", spec_path, NULL};
		unlink(json_string_value(json_object_get(spec, "result_path")));
		CHECK_INT_EQ(weir_taskrun_main(10, argv2), 1);
	}
	CHECK(access(json_string_value(json_object_get(spec, "result_path")), F_OK) < 0);
	close(p[0]);
	close(lock);
	free(spec_path);
	free(lock_path);
	json_decref(spec);
}

/* ------------------------------------------------------------------ */
/* file_sensor                                                          */
/* ------------------------------------------------------------------ */

static json_t *sensor_spec(const char *pattern, const char *mode, int64_t interval_ms,
			   int64_t timeout_us)
{
	json_t *spec = spec_new("file_sensor", json_pack("{s:s, s:s}", "path", pattern, "min_size", "1"));
	json_object_set_new(spec, "sensor",
			    json_pack("{s:s, s:I, s:I, s:I}", "mode", mode, "poke_interval_ms",
				      (json_int_t)interval_ms, "timeout_us", (json_int_t)timeout_us,
				      "deadline_us", (json_int_t)(weir_now_us() + timeout_us)));
	return spec;
}

static void test_file_sensor__poke_succeeds_when_the_file_appears(void)
{
	char *dir = tmp_path("in"), *pattern = tmp_path("in/*.csv"), *file = tmp_path("in/a.csv");
	json_t *spec, *res, *want;
	int64_t t0;
	pid_t helper;
	int status;

	CHECK(mkdir(dir, 0755) == 0);
	spec = sensor_spec(pattern, "poke", 100, 10 * WEIR_US_PER_SEC);
	t0 = weir_mono_us();
	helper = fork();
	CHECK(helper >= 0);
	if (helper == 0) {
		poll(NULL, 0, 300);
		int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		_exit(fd >= 0 && write(fd, "x,1\n", 4) == 4 ? 0 : 1);
	}
	res = weir_taskrun(spec, -1);
	CHECK_INT_EQ(waitpid(helper, &status, 0), helper);
	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	CHECK_INT_OP(weir_mono_us() - t0, >=, 300000);
	want = json_pack("{s:[s]}", "files", file);
	CHECK(json_equal(json_object_get(res, "xcom"), want));
	json_decref(want);
	json_decref(res);
	json_decref(spec);
	free(dir);
	free(pattern);
	free(file);
}

static void test_file_sensor__reschedule_returns_next_poke(void)
{
	char *pattern = tmp_path("none/*.csv");
	json_t *spec = sensor_spec(pattern, "reschedule", 5000, 3600 * WEIR_US_PER_SEC);
	int64_t now = weir_now_us();
	json_t *res = weir_taskrun(spec, -1);

	CHECK_STR_EQ(rstr(res, "outcome"), "reschedule");
	CHECK_INT_OP(rint_(res, "next_poke_us"), >=, now + 4 * WEIR_US_PER_SEC);
	CHECK_INT_OP(rint_(res, "next_poke_us"), <=, now + 6 * WEIR_US_PER_SEC);
	json_decref(res);
	json_decref(spec);
	free(pattern);
}

static void test_file_sensor__times_out(void)
{
	char *pattern = tmp_path("none/*.csv");
	json_t *spec = sensor_spec(pattern, "poke", 100, WEIR_US_PER_SEC / 2);
	json_t *res = weir_taskrun(spec, -1);

	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(rstr(res, "message"), "sensor timed out after 500ms (no file matches");
	json_decref(res);
	json_decref(spec);
	free(pattern);

	/* Reschedule mode past its deadline fails too. */
	pattern = tmp_path("none/*.csv");
	spec = sensor_spec(pattern, "reschedule", 100, -1);
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(rstr(res, "message"), "sensor timed out");
	json_decref(res);
	json_decref(spec);
	free(pattern);
}

static void test_file_sensor__min_size_and_stable_for(void)
{
	char *dir = tmp_path("in2"), *pattern = tmp_path("in2/*"), *file = tmp_path("in2/f");
	json_t *spec, *res;
	int64_t t0;

	CHECK(mkdir(dir, 0755) == 0);
	check_write_file(file, "0123456789");
	spec = sensor_spec(pattern, "reschedule", 1000, 3600 * WEIR_US_PER_SEC);
	json_object_set_new(json_object_get(spec, "config"), "min_size", json_string("1K"));
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "reschedule");
	{
		char *log = read_log(spec);
		CHECK_STR_CONTAINS(log, "has 10 bytes, less than min_size (1024)");
		free(log);
	}
	json_decref(res);
	json_decref(spec);

	spec = sensor_spec(pattern, "reschedule", 1000, 3600 * WEIR_US_PER_SEC);
	json_object_set_new(json_object_get(spec, "config"), "stable_for", json_string("300ms"));
	t0 = weir_mono_us();
	res = weir_taskrun(spec, -1);
	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	CHECK_INT_OP(weir_mono_us() - t0, >=, 300000);
	json_decref(res);
	json_decref(spec);
	free(dir);
	free(pattern);
	free(file);
}

/* ------------------------------------------------------------------ */
/* spec building and paths                                              */
/* ------------------------------------------------------------------ */

static const char spec_dag[] =
	"version: 1\n"
	"dag: sd\n"
	"schedule: \"0 6 * * *\"\n"
	"start_date: 2026-01-01\n"
	"tasks:\n"
	"  - id: up\n"
	"    operator: command\n"
	"    exec: [\"true\"]\n"
	"  - id: work\n"
	"    operator: command\n"
	"    depends_on: [up]\n"
	"    branch: true\n"
	"    retries: 2\n"
	"    execution_timeout: 10m\n"
	"    invalid_exit_code: 3\n"
	"    shell: echo {{ ds }}\n"
	"  - id: after\n"
	"    operator: command\n"
	"    depends_on: [work]\n"
	"    exec: [\"true\"]\n"
	"  - id: wait\n"
	"    operator: file_sensor\n"
	"    path: /x/*\n"
	"    poke_interval: 10s\n"
	"    timeout: 1h\n"
	"    mode: reschedule\n";

static void test_spec__build_fills_context_paths_and_deadlines(void)
{
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	struct weir_spec_run run = WEIR_SPEC_RUN_INIT;
	json_t *spec, *ctx;
	int64_t ld;
	bool off;

	weir_diags_init(&d, "t.yaml");
	CHECK_OK(weir_dag_load_text("t.yaml", spec_dag, strlen(spec_dag), &dag, &d));
	weir_diags_release(&d);
	CHECK_OK(weir_iso_parse("2026-11-23T06:00:00Z", &ld, &off));
	run.run_id = "scheduled__2026-11-23T06:00:00+00:00";
	run.logical_date = ld;
	run.interval_end = ld + WEIR_US_PER_DAY;
	run.attempt_id = "01900000-0000-7000-8000-000000000009";
	run.try_number = 2;
	run.start_us = 1000 * WEIR_US_PER_SEC;
	run.home = "/h/";
	run.params = json_pack("{s:i}", "p", 1);
	spec = weir_spec_build(dag, (uint32_t)weir_dag_task_index(dag, "work"), &run);
	ctx = json_object_get(spec, "context");
	CHECK_STR_EQ(json_string_value(json_object_get(ctx, "ds")), "2026-11-23");
	CHECK_STR_EQ(json_string_value(json_object_get(ctx, "ds_nodash")), "20261123");
	CHECK_STR_EQ(json_string_value(json_object_get(ctx, "ts")), "2026-11-23T06:00:00+00:00");
	CHECK_STR_EQ(json_string_value(json_object_get(ctx, "ts_nodash")), "20261123T060000");
	CHECK_STR_EQ(json_string_value(json_object_get(ctx, "data_interval_start")), "2026-11-23T06:00:00+00:00");
	CHECK_STR_EQ(json_string_value(json_object_get(ctx, "data_interval_end")), "2026-11-24T06:00:00+00:00");
	CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(ctx, "task"), "id")), "work");
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(ctx, "params"), "p")), 1);
	CHECK_STR_EQ(json_string_value(json_object_get(ctx, "run_dir")),
		     "/h/runs/sd/scheduled__2026-11-23T06:00:00+00:00");
	CHECK_STR_EQ(json_string_value(json_object_get(spec, "log_path")),
		     "/h/logs/sd/scheduled__2026-11-23T06:00:00+00:00/work/2.log");
	CHECK_STR_EQ(json_string_value(json_object_get(spec, "result_path")),
		     "/h/logs/sd/scheduled__2026-11-23T06:00:00+00:00/work/2.result.json");
	CHECK_INT_EQ(json_integer_value(json_object_get(spec, "max_tries")), 3);
	CHECK_INT_EQ(json_integer_value(json_object_get(spec, "invalid_exit_code")), 3);
	CHECK(json_is_true(json_object_get(spec, "branch")));
	CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(spec, "downstream"), 0)), "after");
	CHECK_INT_EQ(json_integer_value(json_object_get(spec, "deadline_us")),
		     1000 * WEIR_US_PER_SEC + 600 * WEIR_US_PER_SEC);
	CHECK(json_is_null(json_object_get(spec, "sensor")));
	CHECK_INT_EQ(json_integer_value(json_object_get(spec, "xcom_max_bytes")), WEIR_SPEC_XCOM_MAX_DEFAULT);
	json_decref(spec);

	run.sensor_start_us = 500 * WEIR_US_PER_SEC;
	spec = weir_spec_build(dag, (uint32_t)weir_dag_task_index(dag, "wait"), &run);
	CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(spec, "sensor"), "mode")), "reschedule");
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(spec, "sensor"), "poke_interval_ms")), 10000);
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(spec, "sensor"), "deadline_us")),
		     500 * WEIR_US_PER_SEC + 3600 * WEIR_US_PER_SEC);
	CHECK(json_is_null(json_object_get(spec, "deadline_us")));
	json_decref(spec);
	json_decref(run.params);
	weir_dag_unref(dag);
}

static void test_spec__try_path_escapes_components(void)
{
	char *p = weir_spec_try_path("/h", "d", "a/../b", "t", 2, WEIR_SPEC_LOG);
	CHECK_STR_EQ(p, "/h/logs/d/a%2F..%2Fb/t/2.log");
	free(p);
	p = weir_spec_try_path("/h", "d", "..", "t 1", 1, WEIR_SPEC_RESULT);
	CHECK_STR_EQ(p, "/h/logs/d/%2E./t%201/1.result.json");
	free(p);
	p = weir_spec_try_path("/h", "d", "r", "t", 0, NULL);
	CHECK_STR_EQ(p, "/h/logs/d/r/t");
	free(p);
	CHECK_INT_EQ(weir_spec_try_of("12.log", WEIR_SPEC_LOG), 12);
	CHECK_INT_EQ(weir_spec_try_of("12.result.json", WEIR_SPEC_LOG), 0);
	CHECK_INT_EQ(weir_spec_try_of("01.log", WEIR_SPEC_LOG), 0);
}

/* ------------------------------------------------------------------ */
/* the binary                                                           */
/* ------------------------------------------------------------------ */

static void test_cli__tasks_test_runs_etl_extract(void)
{
	char *dag = weir_xasprintf("%s/dags/etl_daily.yaml", srcdir());
	char *out = tmp_path("out.txt"), *err = tmp_path("err.txt"), *o, *e;
	const char *argv[] = {binary(), "--home", check_tmpdir(), "tasks", "test", dag,
			      "extract", "--date", "2026-11-23", NULL};

	setenv("TMPDIR", check_tmpdir(), 1);
	CHECK_INT_EQ(run_cmd(argv, check_tmpdir(), out, err), 0);
	o = check_read_file(out);
	e = check_read_file(err);
	CHECK_STR_CONTAINS(o, " OUT extracted readings for 2026-11-23\n");
	CHECK_STR_CONTAINS(e, "\"outcome\":\"success\"");
	CHECK_STR_CONTAINS(e, "\"xcom\":{\"rows\":3}");
	free(o);
	free(e);
	free(out);
	free(err);
	free(dag);
}

static void test_cli__tasks_test_reports_invalid_aoi(void)
{
	char *dag = weir_xasprintf("%s/dags/product_clip.yaml", srcdir());
	char *out = tmp_path("out.txt"), *err = tmp_path("err.txt"), *o, *e;
	const char *argv[] = {binary(), "--home", check_tmpdir(), "tasks", "test", dag,
			      "check_aoi", "--param", "aoi=POINT(1 2)", NULL};

	setenv("TMPDIR", check_tmpdir(), 1);
	CHECK_INT_EQ(run_cmd(argv, check_tmpdir(), out, err), 1);
	o = check_read_file(out);
	e = check_read_file(err);
	CHECK_STR_CONTAINS(o, " ERR AOI is not a polygon: POINT(1 2)\n");
	CHECK_STR_CONTAINS(e, "\"outcome\":\"invalid\"");
	CHECK_STR_CONTAINS(e, "\"exit_code\":3");
	free(o);
	free(e);
	free(out);
	free(err);
	free(dag);
}

static void test_cli__tasks_logs_prints_and_lists_tries(void)
{
	char *out = tmp_path("out.txt"), *err = tmp_path("err.txt"), *o, *e;
	char *dir = weir_spec_try_path(check_tmpdir(), "d", "r", "t", 0, NULL);
	char *l1 = weir_spec_try_path(check_tmpdir(), "d", "r", "t", 1, WEIR_SPEC_LOG);
	char *l2 = weir_spec_try_path(check_tmpdir(), "d", "r", "t", 2, WEIR_SPEC_LOG);
	char *r2 = weir_spec_try_path(check_tmpdir(), "d", "r", "t", 2, WEIR_SPEC_RESULT);
	const char *argv[] = {binary(), "--home", check_tmpdir(), "tasks", "logs", "d", "r", "t", NULL, NULL, NULL};

	CHECK_INT_EQ(run_cmd(argv, check_tmpdir(), out, err), 1);
	e = check_read_file(err);
	CHECK_STR_CONTAINS(e, "no logs for task \"t\" in run \"r\" of DAG \"d\"");
	free(e);

	CHECK_OK(weir_spec_mkdirs(dir, NULL));
	check_write_file(l1, "first try\n");
	check_write_file(l2, "second try\n");
	CHECK_INT_EQ(run_cmd(argv, check_tmpdir(), out, err), 0);
	o = check_read_file(out);
	CHECK_STR_EQ(o, "second try\n");
	free(o);

	argv[8] = "--try";
	argv[9] = "3";
	CHECK_INT_EQ(run_cmd(argv, check_tmpdir(), out, err), 1);
	e = check_read_file(err);
	CHECK_STR_CONTAINS(e, "no log for try 3 of task \"t\" in run \"r\" of DAG \"d\" (tries with logs: 1, 2)");
	free(e);

	/* --follow ends once the result exists. */
	check_write_file(r2, "{}\n");
	argv[8] = "--follow";
	argv[9] = NULL;
	CHECK_INT_EQ(run_cmd(argv, check_tmpdir(), out, err), 0);
	o = check_read_file(out);
	CHECK_STR_EQ(o, "second try\n");
	free(o);
	free(out);
	free(err);
	free(dir);
	free(l1);
	free(l2);
	free(r2);
}

static void test_cli__task_run_through_the_binary(void)
{
	json_t *spec = spec_new("command", json_pack("{s:[s]}", "exec", "true"));
	char *spec_path = tmp_path("spec.json"), *out = tmp_path("out.txt"), *err = tmp_path("err.txt");
	const char *argv[] = {binary(), "task", "run", "d", "r", "t", "--try", "1", "--attempt",
			      "01900000-0000-7000-8000-000000000001", "--spec", spec_path, NULL};
	json_t *res = NULL;
	struct weir_buf e = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	CHECK_OK(weir_spec_write_json(spec_path, spec, NULL));
	CHECK_INT_EQ(run_cmd(argv, check_tmpdir(), out, err), 0);
	CHECK_OK(weir_spec_result_read(json_string_value(json_object_get(spec, "result_path")), &res, &e));
	CHECK_STR_EQ(rstr(res, "outcome"), "success");
	json_decref(res);

	argv[7] = "x";
	CHECK_INT_EQ(run_cmd(argv, check_tmpdir(), out, err), 2);
	weir_buf_release(&e);
	free(spec_path);
	free(out);
	free(err);
	json_decref(spec);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_taskrun__success_logs_timestamped_output),
	CHECK_TEST(test_taskrun__exit_code_fails_the_try),
	CHECK_TEST(test_taskrun__invalid_exit_code_is_invalid),
	CHECK_TEST(test_taskrun__unknown_program_fails_with_reason),
	CHECK_TEST(test_taskrun__renders_params_conf_xcom_ds_env),
	CHECK_TEST(test_taskrun__strict_template_error_names_the_key),
	CHECK_TEST(test_taskrun__sh_filter_quotes_a_hostile_param),
	CHECK_TEST(test_taskrun__collects_xcom_lines_and_file),
	CHECK_TEST(test_taskrun__bad_or_oversize_xcom_fails),
	CHECK_TEST(test_taskrun__stale_xcom_file_is_ignored),
	CHECK_TEST(test_taskrun__branch_must_name_downstream_tasks),
	CHECK_TEST(test_taskrun__secrets_are_masked),
	CHECK_TEST(test_taskrun__long_lines_are_split_at_64k),
	CHECK_TEST(test_taskrun__stdin_is_fed_without_deadlock),
	CHECK_TEST(test_taskrun__exec_passes_arguments_intact),
	CHECK_TEST(test_taskrun__cwd_defaults_to_run_dir_and_env_is_set),
	CHECK_TEST(test_taskrun__deadline_kills_group_and_setsid_grandchild),
	CHECK_TEST(test_taskrun__sigterm_ignored_gets_sigkill_after_grace),
	CHECK_TEST(test_taskrun__leftovers_are_killed_when_the_command_ends),
	CHECK_TEST(test_taskrun__sigterm_to_the_runner_records_an_outcome),
	CHECK_TEST(test_taskrun__result_file_matches_report_line),
	CHECK_TEST(test_taskrun__main_writes_pid_to_lock_fd),
	CHECK_TEST(test_file_sensor__poke_succeeds_when_the_file_appears),
	CHECK_TEST(test_file_sensor__reschedule_returns_next_poke),
	CHECK_TEST(test_file_sensor__times_out),
	CHECK_TEST(test_file_sensor__min_size_and_stable_for),
	CHECK_TEST(test_spec__build_fills_context_paths_and_deadlines),
	CHECK_TEST(test_spec__try_path_escapes_components),
	CHECK_TEST(test_cli__tasks_test_runs_etl_extract),
	CHECK_TEST(test_cli__tasks_test_reports_invalid_aoi),
	CHECK_TEST(test_cli__tasks_logs_prints_and_lists_tries),
	CHECK_TEST(test_cli__task_run_through_the_binary),
	{0},
};

int main(int argc, char **argv)
{
	weir_operators_register_all();
	return check_main(argc, argv, tests);
}
