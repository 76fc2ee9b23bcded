/*
 * test_container.c: the container executor (engine/container.c and the
 * container path of weir_task_spawn), with a real OCI runtime.
 *
 * Each test builds a minimal root filesystem from busybox-static (the
 * binary plus one symlink per applet) in its temporary folder, and runs
 * weir_taskrun() on a hand-made spec with "executor": "container", in the
 * test's own process, like `weir tasks test`.  The scheduler tests at the
 * end run a DAG through `weir scheduler` (tests/check_weir.h).
 *
 * "Nothing left behind" means: the runtime does not know the container
 * (`runc list`, its state folder), no cgroup folder weir/weir-ATTEMPT
 * under any hierarchy, no process with the test's unusual command line,
 * and no bundle folder.
 *
 * Needs root and runc (tests skip, with a note, without them); crun and
 * podman tests skip when those are not installed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/container.h"
#include "engine/dag.h"
#include "engine/diag.h"
#include "engine/operator.h"
#include "engine/spec.h"
#include "engine/taskrun.h"
#include "engine/uuid.h"
#include "tests/check.h"
#include "tests/check_spec.h"
#include "tests/check_weir.h"

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

#define CHECK_SQL(e, want, ...)                                  \
	do {                                                     \
		char *got_ = env_sql((e), __VA_ARGS__);          \
		CHECK_STR_EQ(got_ ? got_ : "(null)", (want));    \
		free(got_);                                      \
	} while (0)

/*
 * Root, the runtime and busybox, or the test fails: scripts/test.sh runs
 * the suite as root and scripts/install-deps.sh installs every runtime,
 * so a missing one is a broken set-up, never a pass.  (Returns true.)
 */
static bool can_run(const char *runtime)
{
	if (geteuid() != 0)
		check__fail(__FILE__, __LINE__, "containers need root: run the suite as root (scripts/test.sh)");
	if (!check_have_program(runtime))
		check__fail(__FILE__, __LINE__, "%s is not installed: run scripts/install-deps.sh", runtime);
	if (access("/bin/busybox", X_OK) != 0)
		check__fail(__FILE__, __LINE__, "/bin/busybox is not installed (busybox-static): run scripts/install-deps.sh");
	return true;
}

/* Runs a shell command line; fails the test unless it exits 0. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		check__fail(__FILE__, __LINE__, "command failed (%d): %s", rc, cmd);
}

/* stdout of a shell command line (malloc'd). */
static char *sh_out(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char *buf = weir_xmalloc(1 << 20);
	size_t n = 0;

	CHECK(f != NULL);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	pclose(f);
	return buf;
}

/*
 * A busybox root filesystem in the test's folder: bin/busybox, one
 * symlink per applet, and lib, lib64 -> usr/lib* (for the host /usr
 * test).  Built once per test process.
 */
static const char *rootfs(void)
{
	static char path[512];
	char *applets, *a, *next, *link;

	if (path[0])
		return path;
	snprintf(path, sizeof(path), "%s/rootfs", check_tmpdir());
	sh("mkdir -p %s/bin %s/usr %s/etc && cp /bin/busybox %s/bin/busybox && "
	   "ln -s usr/lib %s/lib && ln -s usr/lib64 %s/lib64",
	   path, path, path, path, path, path);
	/* symlink(2), not one ln process per applet (hundreds) */
	applets = sh_out("/bin/busybox --list");
	for (a = applets; *a; a = next) {
		next = a + strcspn(a, "\n");
		if (*next)
			*next++ = '\0';
		if (!*a || !strcmp(a, "busybox"))
			continue;
		link = weir_xasprintf("%s/bin/%s", path, a);
		CHECK(symlink("busybox", link) == 0);
		free(link);
	}
	free(applets);
	return path;
}

static char *tmp_path(const char *name)
{
	return weir_xasprintf("%s/%s", check_tmpdir(), name);
}

/*
 * A spec for task "t" of DAG "d", run "r", try 1, running shell (sh -c)
 * or exec in a container (stolen; "rootfs" added when it has no rootfs or
 * image).  base: where logs, run_dir and the image cache go (NULL: the
 * test's folder).  A fresh attempt id each time.
 */
static json_t *ctr_spec(const char *shell, json_t *exec, json_t *container, const char *base)
{
	const char *b = base ? base : check_tmpdir();
	json_t *spec, *config, *ctx = json_object();
	struct weir_uuid u;
	char att[WEIR_UUID_STRLEN];
	char *p, *run_dir, *log_dir;

	weir_uuid_v7(&u);
	if (exec)
		config = json_pack("{s:o}", "exec", exec);
	else
		config = json_pack("{s:s}", "shell", shell);
	json_object_set_new(ctx, "run_id", json_string("r"));
	json_object_set_new(ctx, "params", json_object());
	json_object_set_new(ctx, "conf", json_object());
	json_object_set_new(ctx, "xcom", json_object());
	run_dir = weir_xasprintf("%s/runs/d/r", b);
	log_dir = weir_xasprintf("%s/logs/d/r/t", b);
	spec = check_spec_new("command", config, ctx, weir_uuid_format(&u, att), run_dir, log_dir);
	free(run_dir);
	free(log_dir);
	unlink(json_string_value(json_object_get(spec, "log_path"))); /* each spec reads its own log */
	json_object_set_new(spec, "executor", json_string("container"));
	if (!container)
		container = json_object();
	if (!json_object_get(container, "rootfs") && !json_object_get(container, "image"))
		json_object_set_new(container, "rootfs", json_string(rootfs()));
	p = weir_xasprintf("%s/cache", b);
	json_object_set_new(container, "cache_dir", json_string(p));
	free(p);
	json_object_set_new(spec, "container", container);
	return spec;
}

static const char *sget(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *attempt_of(json_t *spec)
{
	return sget(spec, "attempt_id");
}

static char *read_log(json_t *spec)
{
	return check_read_file(sget(spec, "log_path"));
}

/* The OUT lines of the log, without timestamps, joined by '\n'. */
static char *out_lines(json_t *spec)
{
	char *log = read_log(spec), *res = weir_xmalloc(strlen(log) + 1), *w = res;

	for (char *line = log; line && *line;) {
		char *nl = strchr(line, '\n'), *sp = strchr(line, ' ');
		if (nl)
			*nl = '\0';
		if (sp && !strncmp(sp + 1, "OUT ", 4)) {
			size_t n = strlen(sp + 5);
			memcpy(w, sp + 5, n);
			w += n;
			*w++ = '\n';
		}
		line = nl ? nl + 1 : NULL;
	}
	*w = '\0';
	free(log);
	return res;
}

static json_t *run(json_t *spec)
{
	json_t *res = weir_taskrun(spec, -1);
	if (!res)
		check__fail(__FILE__, __LINE__, "no result");
	return res;
}

static void dump_log_on_failure(json_t *spec, json_t *res, const char *want)
{
	if (strcmp(sget(res, "outcome"), want)) {
		char *log = read_log(spec);
		check_note("log:\n%s", log);
		free(log);
	}
}

/*
 * Runs spec (weir_taskrun) in a forked child, waits until a process with
 * command line cmdline runs (at most tries x 50 ms), then sends sig to
 * the child and reaps it: the runner dies or stops, the container stays
 * for the test to look at.
 */
static void start_then_kill(json_t *spec, const char *cmdline, int tries, int sig)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		json_t *r = weir_taskrun(spec, -1);
		_exit(r ? 0 : 1);
	}
	for (int i = 0; i < tries && !check_process_exists(cmdline); i++)
		usleep(50000);
	CHECK(check_process_exists(cmdline));
	kill(pid, sig);
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
}

static bool container_known(const char *runtime, const char *attempt)
{
	char cmd[256], *out;
	bool known;

	if (!strcmp(runtime, "podman"))
		snprintf(cmd, sizeof(cmd), "podman --runtime=runc --cgroup-manager=cgroupfs ps -a --format '{{.Names}}' 2>&1");
	else
		snprintf(cmd, sizeof(cmd), "%s list 2>&1", runtime);
	out = sh_out(cmd);
	known = strstr(out, attempt) != NULL;
	free(out);
	return known;
}

static size_t cgroup_dirs(const char *attempt)
{
	char pat[256];
	glob_t g;
	size_t n;

	snprintf(pat, sizeof(pat), "/sys/fs/cgroup/*/weir/weir-%s", attempt);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	n = g.gl_pathc;
	globfree(&g);
	return n;
}

static void check_nothing_left(const char *runtime, json_t *spec, const char *cmdline)
{
	const char *attempt = attempt_of(spec);

	CHECK(!container_known(runtime, attempt));
	CHECK_INT_EQ(cgroup_dirs(attempt), 0);
	if (cmdline)
		CHECK(!check_process_exists(cmdline));
}

/* The bundle folder of a spec's try. */
static bool bundle_exists(json_t *spec)
{
	const char *log = sget(spec, "log_path");
	char *b = weir_xasprintf("%.*s.bundle", (int)(strlen(log) - 4), log);
	bool e = access(b, F_OK) == 0;
	free(b);
	return e;
}

/* ------------------------------------------------------------------ */
/* the spec                                                             */
/* ------------------------------------------------------------------ */

static void test_container__spec_carries_executor_container_and_runtime(void)
{
	static const char dag_text[] =
		"version: 1\ndag: sd\ntasks:\n"
		"  - id: c\n    operator: command\n    shell: \"true\"\n    executor: container\n"
		"    container: {image: /img/x, mounts: [\"/a:/b:rw\"], network: host, user: \"7\"}\n"
		"    limits: {memory: 64M, pids: 9}\n"
		"  - {id: l, operator: command, shell: \"true\"}\n";
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	struct weir_spec_run run = WEIR_SPEC_RUN_INIT;
	json_t *spec, *ct;

	weir_diags_init(&d, "t.yaml");
	CHECK_OK(weir_dag_load_text("t.yaml", dag_text, strlen(dag_text), &dag, &d));
	weir_diags_release(&d);
	run.run_id = "r";
	run.logical_date = 0;
	run.attempt_id = "01900000-0000-7000-8000-000000000009";
	run.home = "/h";
	run.container_runtime = "crun";
	spec = weir_spec_build(dag, (uint32_t)weir_dag_task_index(dag, "c"), &run);
	CHECK_STR_EQ(sget(spec, "executor"), "container");
	ct = json_object_get(spec, "container");
	CHECK_STR_EQ(sget(ct, "image"), "/img/x");
	CHECK_STR_EQ(sget(ct, "runtime"), "crun");
	CHECK_STR_EQ(sget(ct, "cache_dir"), "/h/cache/images");
	CHECK_STR_EQ(sget(ct, "network"), "host");
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(spec, "limits"), "memory_bytes")),
		     64 << 20);
	{
		/* and the runner reads it back */
		struct weir_container c = WEIR_CONTAINER_INIT;
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		CHECK_OK(weir_container_load(&c, spec, &err));
		CHECK_STR_EQ(c.id, "weir-01900000-0000-7000-8000-000000000009");
		CHECK_STR_EQ(c.runtime_name, "crun");
		CHECK(c.host_network && c.has_user && c.uid == 7 && c.gid == 7);
		CHECK_INT_EQ(c.mounts.n, 1);
		CHECK(!c.mounts.v[0].readonly);
		CHECK_INT_EQ(c.limits.memory_bytes, 64 << 20);
		CHECK_INT_EQ(c.limits.pids, 9);
		weir_container_release(&c);
		weir_buf_release(&err);
	}
	json_decref(spec);
	run.container_runtime = NULL;
	spec = weir_spec_build(dag, (uint32_t)weir_dag_task_index(dag, "l"), &run);
	CHECK_STR_EQ(sget(spec, "executor"), "local");
	CHECK(!json_object_get(spec, "container"));
	json_decref(spec);
	weir_dag_unref(dag);
}

/* ------------------------------------------------------------------ */
/* isolation                                                            */
/* ------------------------------------------------------------------ */

static void test_container__runs_in_its_own_pid_namespace(void)
{
	json_t *spec, *res;
	char *out, *log;

	if (!can_run("runc"))
		return;
	spec = ctr_spec("echo pid=$$; echo host=$(hostname); cat /proc/1/comm", NULL, NULL, NULL);
	res = run(spec);
	dump_log_on_failure(spec, res, "success");
	CHECK_STR_EQ(sget(res, "outcome"), "success");
	out = out_lines(spec);
	CHECK_STR_CONTAINS(out, "pid=1\n");
	CHECK_STR_CONTAINS(out, "host=weir\n");
	log = read_log(spec);
	CHECK_STR_CONTAINS(log, "WEIR container weir-");
	CHECK_STR_CONTAINS(log, "(runc): root ");
	CHECK_STR_CONTAINS(log, "network none");
	check_nothing_left("runc", spec, NULL);
	CHECK(!bundle_exists(spec));
	free(out);
	free(log);
	json_decref(res);
	json_decref(spec);
}

static void test_container__sees_only_what_is_mounted(void)
{
	char *secret = tmp_path("host/secret.txt"), *ro = tmp_path("ro"), *rw = tmp_path("rw");
	char *script, *out, *rwfile;
	json_t *spec, *res, *ct;

	if (!can_run("runc"))
		return;
	sh("mkdir -p %s/host %s %s && echo top-secret > %s && echo visible > %s/file", check_tmpdir(), ro,
	   rw, secret, ro);
	ct = json_pack("{s:[s, {s:s, s:s, s:b}]}", "mounts", "", "source", rw, "target", "/data/rw",
		       "readonly", 0);
	json_array_set_new(json_object_get(ct, "mounts"), 0, json_string_nocheck(
		weir_xasprintf("%s:/data/ro", ro)));
	script = weir_xasprintf(
		"cat %s || echo no-secret; cat /data/ro/file; "
		"echo x > /data/ro/new 2>/dev/null && echo ro-writable || echo ro-refused; "
		"echo written > /data/rw/new && echo rw-ok; "
		"touch /etc/x 2>/dev/null && echo root-writable || echo root-refused; "
		"echo t > /tmp/t && echo tmp-ok",
		secret);
	spec = ctr_spec(script, NULL, ct, NULL);
	res = run(spec);
	dump_log_on_failure(spec, res, "success");
	CHECK_STR_EQ(sget(res, "outcome"), "success");
	out = out_lines(spec);
	CHECK_STR_CONTAINS(out, "no-secret\n");
	CHECK(!strstr(out, "top-secret"));
	CHECK_STR_CONTAINS(out, "visible\n");
	CHECK_STR_CONTAINS(out, "ro-refused\n");
	CHECK_STR_CONTAINS(out, "rw-ok\n");
	CHECK_STR_CONTAINS(out, "root-refused\n");
	CHECK_STR_CONTAINS(out, "tmp-ok\n");
	rwfile = weir_xasprintf("%s/new", rw);
	free(check_read_file(rwfile)); /* it is on the host */
	CHECK(access(weir_xasprintf("%s/new", ro), F_OK) != 0);
	free(rwfile);
	free(out);
	free(script);
	free(secret);
	free(ro);
	free(rw);
	json_decref(res);
	json_decref(spec);
}

/* Interface names from /proc/net/dev text. */
static size_t count_ifaces(const char *text, bool *has_lo)
{
	size_t n = 0;
	*has_lo = false;
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n'), *colon = strchr(line, ':');
		if (colon && (!nl || colon < nl)) {
			const char *p = line;
			while (*p == ' ')
				p++;
			if (colon - p == 2 && !strncmp(p, "lo", 2))
				*has_lo = true;
			n++;
		}
		line = nl ? nl + 1 : NULL;
	}
	return n;
}

static void test_container__has_no_network_by_default(void)
{
	json_t *spec, *res;
	char *out, *host;
	bool lo;

	if (!can_run("runc"))
		return;
	spec = ctr_spec("cat /proc/net/dev; ip route | grep -q . && echo has-route || echo no-route", NULL,
			NULL, NULL);
	res = run(spec);
	dump_log_on_failure(spec, res, "success");
	CHECK_STR_EQ(sget(res, "outcome"), "success");
	out = out_lines(spec);
	CHECK_INT_EQ(count_ifaces(out, &lo), 1);
	CHECK(lo);
	CHECK_STR_CONTAINS(out, "no-route\n");
	json_decref(res);
	json_decref(spec);
	free(out);

	/* network: host sees the host's interfaces */
	host = sh_out("cat /proc/net/dev");
	spec = ctr_spec("cat /proc/net/dev", NULL, json_pack("{s:s}", "network", "host"), NULL);
	res = run(spec);
	dump_log_on_failure(spec, res, "success");
	CHECK_STR_EQ(sget(res, "outcome"), "success");
	out = out_lines(spec);
	CHECK_INT_EQ(count_ifaces(out, &lo), count_ifaces(host, &lo));
	free(out);
	free(host);
	json_decref(res);
	json_decref(spec);
}

static void test_container__runs_as_the_given_user(void)
{
	json_t *spec, *res;
	char *out;

	if (!can_run("runc"))
		return;
	spec = ctr_spec("echo uid=$(id -u) gid=$(id -g); echo '{\"who\": \"me\"}' > $WEIR_XCOM_FILE; "
			"echo t > /tmp/x && echo tmp-ok",
			NULL, json_pack("{s:s}", "user", "1234:5678"), NULL);
	res = run(spec);
	dump_log_on_failure(spec, res, "success");
	CHECK_STR_EQ(sget(res, "outcome"), "success");
	out = out_lines(spec);
	CHECK_STR_CONTAINS(out, "uid=1234 gid=5678\n");
	CHECK_STR_CONTAINS(out, "tmp-ok\n");
	CHECK_STR_EQ(sget(json_object_get(res, "xcom"), "who"), "me");
	free(out);
	json_decref(res);
	json_decref(spec);
}

/*
 * XCom lines and $WEIR_XCOM_FILE work, the run folder is shared at the
 * same path, the host's environment stays outside, the task's env gets
 * in.  With the files outside /tmp (as in a real home), mount points
 * leave at most one new folder in the rootfs.
 */
static void test_container__xcom_run_dir_and_env_work(void)
{
	char base[] = "/var/tmp/weir-ctr-XXXXXX";
	json_t *spec, *res;
	char *out, *shared, *ls_before, *ls_after, cmd[600];

	if (!can_run("runc"))
		return;
	CHECK(mkdtemp(base) != NULL);
	setenv("WEIR_TEST_HOST_ONLY", "leaked", 1);
	snprintf(cmd, sizeof(cmd), "ls -A %s", rootfs());
	ls_before = sh_out(cmd);
	spec = ctr_spec("echo '::xcom a=1'; echo '{\"b\": 2}' > $WEIR_XCOM_FILE; "
			"echo shared > $WEIR_RUN_DIR/f.txt; echo cwd=$(pwd); "
			"echo host=${WEIR_TEST_HOST_ONLY:-none} task=$TASKVAR",
			NULL, NULL, base);
	json_object_set_new(spec, "env", json_pack("{s:s}", "TASKVAR", "tv"));
	res = run(spec);
	dump_log_on_failure(spec, res, "success");
	CHECK_STR_EQ(sget(res, "outcome"), "success");
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(res, "xcom"), "a")), 1);
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(res, "xcom"), "b")), 2);
	out = out_lines(spec);
	CHECK_STR_CONTAINS(out, "host=none task=tv\n");
	snprintf(cmd, sizeof(cmd), "cwd=%s/runs/d/r\n", base);
	CHECK_STR_CONTAINS(out, cmd);
	snprintf(cmd, sizeof(cmd), "%s/runs/d/r/f.txt", base);
	shared = check_read_file(cmd);
	CHECK_STR_EQ(shared, "shared\n");
	snprintf(cmd, sizeof(cmd), "ls -A %s", rootfs());
	ls_after = sh_out(cmd);
	/* Of the home's path only "var" is created in the rootfs (the first
	 * missing folder: a tmpfs goes on it inside), whatever its depth;
	 * the runtime also creates the usual mount points. */
	CHECK_STR_EQ(ls_after, "bin\ndev\netc\nlib\nlib64\nproc\nsys\ntmp\nusr\nvar\n");
	snprintf(cmd, sizeof(cmd), "ls -A %s/var", rootfs());
	free(ls_before);
	ls_before = sh_out(cmd);
	CHECK_STR_EQ(ls_before, "");
	check_nothing_left("runc", spec, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	sh("%s", cmd);
	free(out);
	free(shared);
	free(ls_before);
	free(ls_after);
	json_decref(res);
	json_decref(spec);
}

/* ------------------------------------------------------------------ */
/* limits and stopping                                                  */
/* ------------------------------------------------------------------ */

static void test_container__memory_hog_is_killed_with_a_clear_message(void)
{
	json_t *spec, *res;
	char *log;

	if (!can_run("runc"))
		return;
	spec = ctr_spec("echo start; x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived", NULL,
			json_pack("{s:{s:s}}", "limits", "memory", "64M"), NULL);
	res = run(spec);
	CHECK_STR_EQ(sget(res, "outcome"), "failed");
	CHECK_INT_EQ(json_integer_value(json_object_get(res, "exit_code")), 137);
	CHECK_STR_EQ(sget(res, "message"), "killed: memory limit 64M exceeded (out of memory)");
	log = read_log(spec);
	CHECK_STR_CONTAINS(log, "OUT start");
	CHECK(!strstr(log, "OUT survived"));
	CHECK_STR_CONTAINS(log, "WEIR killed: memory limit 64M exceeded (out of memory)");
	check_nothing_left("runc", spec, NULL);
	CHECK(!bundle_exists(spec));
	free(log);
	json_decref(res);
	json_decref(spec);
}

static void test_container__pids_limit_stops_a_fork_bomb(void)
{
	json_t *spec, *res;
	char *log;

	if (!can_run("runc"))
		return;
	/* The task's limits (parsed, as weir_spec_build writes them). */
	spec = ctr_spec("i=0; while [ $i -lt 30 ]; do sleep 1 & i=$((i+1)); done; echo looped", NULL, NULL,
			NULL);
	json_object_set_new(spec, "limits", json_pack("{s:i}", "pids", 8));
	res = run(spec);
	log = read_log(spec);
	CHECK_STR_CONTAINS(log, "can't fork");
	CHECK_STR_CONTAINS(log, "pids 8");
	check_nothing_left("runc", spec, NULL);
	free(log);
	json_decref(res);
	json_decref(spec);
}

static void test_container__timeout_leaves_nothing_behind(void)
{
	json_t *spec, *res;
	int64_t t0 = weir_mono_us();

	if (!can_run("runc"))
		return;
	spec = ctr_spec(NULL, json_pack("[s, s]", "sleep", "3517"), json_pack("{s:{s:f, s:s}}", "limits", "cpus", 0.5, "memory", "256M"), NULL);
	json_object_set_new(spec, "deadline_us", json_integer(weir_now_us() + WEIR_US_PER_SEC));
	json_object_set_new(spec, "execution_timeout_us", json_integer(WEIR_US_PER_SEC));
	res = run(spec);
	dump_log_on_failure(spec, res, "failed");
	CHECK_STR_EQ(sget(res, "outcome"), "failed");
	CHECK_STR_EQ(sget(res, "message"), "timed out after 1s (execution_timeout)");
	/* sleep is pid 1: it ignores SIGTERM; SIGKILL after the 5 s grace. */
	CHECK_INT_OP(weir_mono_us() - t0, <, 20 * WEIR_US_PER_SEC);
	check_nothing_left("runc", spec, "sleep 3517");
	CHECK(!bundle_exists(spec));
	json_decref(res);
	json_decref(spec);
}

/* A stop signal to the runner (the scheduler's abort) stops the container. */
static void test_container__sigterm_to_the_runner_stops_the_container(void)
{
	json_t *spec;
	char *res_text;

	if (!can_run("runc"))
		return;
	/* A shell with a TERM trap as pid 1: it gets the forwarded SIGTERM. */
	spec = ctr_spec("trap 'echo got-term; exit 3' TERM; sleep 3518 & wait", NULL, NULL, NULL);
	start_then_kill(spec, "sleep 3518", 200, SIGTERM);
	res_text = check_read_file(sget(spec, "result_path"));
	CHECK_STR_CONTAINS(res_text, "\"stopped by SIGTERM\"");
	{
		char *log = read_log(spec);
		CHECK_STR_CONTAINS(log, "OUT got-term");
		free(log);
	}
	check_nothing_left("runc", spec, "sleep 3518");
	free(res_text);
	json_decref(spec);
}

/* The runner dies (SIGKILL): the container lives on; cleanup by name removes it. */
static void test_container__cleanup_removes_what_a_dead_runner_left(void)
{
	json_t *spec;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	if (!can_run("runc"))
		return;
	spec = ctr_spec(NULL, json_pack("[s, s]", "sleep", "3519"), json_pack("{s:{s:i}}", "limits", "pids", 50), NULL);
	start_then_kill(spec, "sleep 3519", 200, SIGKILL);
	CHECK(container_known("runc", attempt_of(spec)));
	CHECK(check_process_exists("sleep 3519"));
	CHECK_INT_OP(cgroup_dirs(attempt_of(spec)), >, 0);
	CHECK_INT_EQ(weir_container_cleanup("runc", attempt_of(spec), &err), 1);
	check_nothing_left("runc", spec, "sleep 3519");
	/* Again: nothing there. */
	CHECK_INT_EQ(weir_container_cleanup("runc", attempt_of(spec), &err), 0);
	CHECK_INT_EQ(weir_container_cleanup(NULL, "not-a-uuid/..", &err), WEIR_EINVALID);
	weir_buf_release(&err);
	json_decref(spec);
}

/*
 * An operator that hands its program a file of its own (like the script
 * operators' temporary folder): weir_task_share makes it visible.
 */
static enum weir_op_result share_probe_run(struct weir_task_ctx *ctx)
{
	char *dir = tmp_path("private"), *file = tmp_path("private/step.sh");
	const char *argv[] = {"/bin/sh", file, NULL};
	enum weir_op_result res = WEIR_OP_FAILED;

	sh("mkdir -p %s", dir);
	check_write_file(file, "echo from-shared-file\n");
	if (json_is_true(json_object_get(ctx->config, "share")))
		weir_task_share(ctx, dir);
	if (weir_task_spawn(ctx, argv, ctx->env, ctx->run_dir, NULL) == 0 && ctx->exit_code == 0)
		res = WEIR_OP_SUCCESS;
	free(dir);
	free(file);
	return res;
}

static const char *const share_probe_keys[] = {"share", NULL};
static const struct weir_operator share_probe = {
	.name = "share_probe",
	.keys = share_probe_keys,
	.run = share_probe_run,
};

static void test_container__operators_can_share_their_own_folders(void)
{
	json_t *spec, *res;
	char *out;

	if (!can_run("runc"))
		return;
	for (int share = 0; share < 2; share++) {
		spec = ctr_spec("unused", NULL, NULL, NULL);
		json_object_set_new(spec, "operator", json_string("share_probe"));
		json_object_set_new(spec, "config", json_pack("{s:b}", "share", share));
		res = run(spec);
		out = out_lines(spec);
		if (share) {
			dump_log_on_failure(spec, res, "success");
			CHECK_STR_EQ(sget(res, "outcome"), "success");
			CHECK_STR_EQ(out, "from-shared-file\n");
		} else {
			/* Not shared: the runner's files stay outside. */
			CHECK_STR_EQ(sget(res, "outcome"), "failed");
			CHECK_STR_EQ(out, "");
		}
		free(out);
		json_decref(res);
		json_decref(spec);
	}
}

/* ------------------------------------------------------------------ */
/* root filesystems                                                     */
/* ------------------------------------------------------------------ */

/* Puts file into LAYOUT/blobs/sha256/<digest>; returns "sha256:HEX" (static). */
static const char *add_blob(const char *layout, const char *file, long long *size)
{
	static char digest[80];
	char hex[65];
	struct stat st;

	CHECK_OK(weir_sha256_file(file, hex));
	CHECK_INT_EQ(stat(file, &st), 0);
	*size = (long long)st.st_size;
	sh("mkdir -p %s/blobs/sha256 && mv %s %s/blobs/sha256/%s", layout, file, layout, hex);
	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	return digest;
}

static const char *add_json_blob(const char *layout, json_t *j, long long *size)
{
	char *p = tmp_path("blob.json");
	char *text = json_dumps(j, JSON_COMPACT);
	const char *d;

	check_write_file(p, text);
	d = add_blob(layout, p, size);
	free(text);
	free(p);
	return d;
}

/*
 * An OCI image layout: layer 1 = the busybox rootfs + /hello + /old/x,
 * layer 2 (gzip) deletes /hello (whiteout), makes /old opaque (keeps only
 * its own /old/new) and adds /etc/added.  Config Env sets IMG=yes.
 */
static char *build_layout(void)
{
	char *layout = tmp_path("image"), *l1 = tmp_path("layer1.tar"), *l2 = tmp_path("layer2.tar.gz");
	char *stage = tmp_path("l2"), *diff1, *diff2;
	long long s1, s2, sc, sm;
	json_t *config, *manifest, *index;
	char hex[65], *t;

	sh("mkdir -p %s && echo hi > %s/hello && mkdir -p %s/old && echo x > %s/old/x", layout, rootfs(),
	   rootfs(), rootfs());
	sh("tar -C %s -cf %s .", rootfs(), l1);
	sh("rm -rf %s/hello %s/old", rootfs(), rootfs());
	sh("mkdir -p %s/old %s/etc && touch %s/.wh.hello %s/old/.wh..wh..opq && echo n > %s/old/new && "
	   "echo added > %s/etc/added && tar -C %s -cf %s/l2.tar . && gzip -n -c %s/l2.tar > %s",
	   stage, stage, stage, stage, stage, stage, stage, check_tmpdir(), check_tmpdir(), l2);
	CHECK_OK(weir_sha256_file(l1, hex));
	/* Our SHA-256 agrees with coreutils'. */
	{
		char cmd[600], *o;
		snprintf(cmd, sizeof(cmd), "sha256sum %s", l1);
		o = sh_out(cmd);
		CHECK(!strncmp(o, hex, 64));
		free(o);
	}
	diff1 = weir_xasprintf("sha256:%s", hex);
	t = tmp_path("l2.tar");
	CHECK_OK(weir_sha256_file(t, hex));
	free(t);
	diff2 = weir_xasprintf("sha256:%s", hex);
	manifest = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
			     "application/vnd.oci.image.manifest.v1+json", "layers");
	{
		const char *d = add_blob(layout, l1, &s1);
		json_array_append_new(json_object_get(manifest, "layers"),
				      json_pack("{s:s, s:s, s:I}", "mediaType", "application/vnd.oci.image.layer.v1.tar",
						"digest", d, "size", (json_int_t)s1));
		d = add_blob(layout, l2, &s2);
		json_array_append_new(json_object_get(manifest, "layers"),
				      json_pack("{s:s, s:s, s:I}", "mediaType",
						"application/vnd.oci.image.layer.v1.tar+gzip", "digest", d, "size",
						(json_int_t)s2));
	}
	config = json_pack("{s:s, s:s, s:{s:[s, s]}, s:{s:s, s:[s, s]}}", "architecture", "amd64", "os",
			   "linux", "config", "Env", "PATH=/bin:/usr/bin", "IMG=yes", "rootfs", "type", "layers",
			   "diff_ids", diff1, diff2);
	{
		const char *d = add_json_blob(layout, config, &sc);
		json_object_set_new(manifest, "config",
				    json_pack("{s:s, s:s, s:I}", "mediaType", "application/vnd.oci.image.config.v1+json",
					      "digest", d, "size", (json_int_t)sc));
	}
	{
		const char *d = add_json_blob(layout, manifest, &sm);
		index = json_pack("{s:i, s:[{s:s, s:s, s:I, s:{s:s}}]}", "schemaVersion", 2, "manifests",
				  "mediaType", "application/vnd.oci.image.manifest.v1+json", "digest", d, "size",
				  (json_int_t)sm, "annotations", "org.opencontainers.image.ref.name", "latest");
	}
	t = weir_xasprintf("%s/index.json", layout);
	{
		char *text = json_dumps(index, JSON_COMPACT);
		check_write_file(t, text);
		free(text);
	}
	free(t);
	t = weir_xasprintf("%s/oci-layout", layout);
	check_write_file(t, "{\"imageLayoutVersion\":\"1.0.0\"}");
	free(t);
	json_decref(config);
	json_decref(manifest);
	json_decref(index);
	free(l1);
	free(l2);
	free(stage);
	free(diff1);
	free(diff2);
	return layout;
}

static void test_container__runs_an_oci_image_layout(void)
{
	const char *script = "echo IMG=$IMG PATH=$PATH; test -e /hello && echo hello-present || echo hello-gone; "
			     "ls /old; cat /etc/added";
	char *layout, *out, *log;
	json_t *spec, *res;

	if (!can_run("runc"))
		return;
	layout = build_layout();
	for (int round = 0; round < 2; round++) {
		/* The second run finds the image unpacked in the cache. */
		char *img = weir_xasprintf("%s%s", layout, round ? ":latest" : "");
		spec = ctr_spec(script, NULL, json_pack("{s:s}", "image", img), NULL);
		free(img);
		res = run(spec);
		dump_log_on_failure(spec, res, "success");
		CHECK_STR_EQ(sget(res, "outcome"), "success");
		out = out_lines(spec);
		CHECK_STR_EQ(out, "IMG=yes PATH=/bin:/usr/bin\nhello-gone\nnew\nadded\n");
		free(out);
		json_decref(res);
		json_decref(spec);
	}
	{
		char cmd[600], *n;
		snprintf(cmd, sizeof(cmd), "ls -A %s/cache | wc -l", check_tmpdir());
		n = sh_out(cmd);
		CHECK_STR_EQ(n, "1\n"); /* one unpacked image, no temporary folder */
		free(n);
	}

	/* A tag that does not exist, then a tampered blob. */
	{
		char *img = weir_xasprintf("%s:nope", layout);
		spec = ctr_spec("true", NULL, json_pack("{s:s}", "image", img), NULL);
		free(img);
		res = run(spec);
		CHECK_STR_EQ(sget(res, "outcome"), "failed");
		CHECK_STR_CONTAINS(sget(res, "message"), "image has no manifest tagged \"nope\"");
		json_decref(res);
		json_decref(spec);
	}
	sh("rm -rf %s/cache && for f in %s/blobs/sha256/*; do [ $(stat -c %%s $f) -lt 2000 ] && echo ' ' >> $f; done; true",
	   check_tmpdir(), layout);
	spec = ctr_spec("true", NULL, json_pack("{s:s}", "image", layout), NULL);
	res = run(spec);
	CHECK_STR_EQ(sget(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(sget(res, "message"), "could not set up the container: invalid image: blob");
	log = read_log(spec);
	CHECK_STR_CONTAINS(log, "has digest sha256:");
	free(log);
	json_decref(res);
	json_decref(spec);
	free(layout);
}

static void test_container__missing_rootfs_and_mount_sources_are_clear_errors(void)
{
	json_t *spec, *res;

	if (!can_run("runc"))
		return;
	spec = ctr_spec("true", NULL, json_pack("{s:s}", "rootfs", "/nonexistent/rootfs"), NULL);
	res = run(spec);
	CHECK_STR_EQ(sget(res, "outcome"), "failed");
	CHECK_STR_EQ(sget(res, "message"),
		     "could not set up the container: container rootfs \"/nonexistent/rootfs\" is not usable: No such file or directory");
	json_decref(res);
	json_decref(spec);
	spec = ctr_spec("true", NULL, json_pack("{s:[s]}", "mounts", "/nonexistent/src:/src"), NULL);
	res = run(spec);
	CHECK_STR_EQ(sget(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(sget(res, "message"), "container mount source \"/nonexistent/src\" is not usable");
	json_decref(res);
	json_decref(spec);
	spec = ctr_spec("true", NULL, json_pack("{s:s}", "runtime", "docker"), NULL);
	res = run(spec);
	CHECK_STR_EQ(sget(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(sget(res, "message"), "unknown container runtime \"docker\"");
	json_decref(res);
	json_decref(spec);
}

static void test_container__python_runs_inside_with_the_host_usr(void)
{
	json_t *spec, *res;
	char *out;

	if (!can_run("runc"))
		return;
	CHECK(access("/usr/bin/python3", X_OK) == 0);
	spec = ctr_spec(NULL,
			json_pack("[s, s, s]", "/usr/bin/python3", "-c",
				  "import os, json; print(json.dumps({'pid': os.getpid()})); "
				  "open('/usr/x', 'w')"),
			json_pack("{s:[s]}", "mounts", "/usr:/usr"), NULL);
	res = run(spec);
	out = out_lines(spec);
	CHECK_STR_CONTAINS(out, "{\"pid\": 1}\n");
	/* /usr is read-only inside */
	CHECK_STR_EQ(sget(res, "outcome"), "failed");
	{
		char *log = read_log(spec);
		CHECK_STR_CONTAINS(log, "Read-only file system");
		free(log);
	}
	free(out);
	json_decref(res);
	json_decref(spec);
}

/*
 * The python operator in a container: the interpreter comes from the
 * container's PATH (the host's /usr, mounted), its bootstrap files and a
 * copy of the script from the shared temporary folder; the last stdout
 * line becomes return_value as it does locally.
 */
static void test_container__python_operator_runs_inline_code_and_scripts(void)
{
	json_t *spec, *res, *rv;
	char *script = tmp_path("step.py");

	if (!can_run("runc"))
		return;
	check_write_file(script, "import json, os, sys\n"
				 "print(json.dumps({'pid': os.getpid(), 'argv': sys.argv[1:]}))\n");
	for (int inline_code = 0; inline_code < 2; inline_code++) {
		spec = ctr_spec("unused", NULL, json_pack("{s:[s]}", "mounts", "/usr:/usr"), NULL);
		json_object_set_new(spec, "operator", json_string("python"));
		if (inline_code)
			json_object_set_new(spec, "config",
					    json_pack("{s:s}", "code",
						      "import json, os\nprint(json.dumps({'pid': os.getpid(), 'argv': []}))\n"));
		else
			json_object_set_new(spec, "config", json_pack("{s:s, s:[s]}", "script", script, "args", "a1"));
		res = run(spec);
		dump_log_on_failure(spec, res, "success");
		CHECK_STR_EQ(sget(res, "outcome"), "success");
		rv = json_object_get(json_object_get(res, "xcom"), "return_value");
		CHECK_INT_EQ(json_integer_value(json_object_get(rv, "pid")), 1);
		CHECK_INT_EQ(json_array_size(json_object_get(rv, "argv")), inline_code ? 0 : 1);
		json_decref(res);
		json_decref(spec);
	}
	free(script);
}

/* ------------------------------------------------------------------ */
/* other runtimes                                                       */
/* ------------------------------------------------------------------ */

static void test_container__crun_runs_it_too(void)
{
	json_t *spec, *res;
	char *out;

	if (!can_run("crun"))
		return;
	spec = ctr_spec("echo pid=$$; cat /proc/net/dev | grep -c :", NULL,
			json_pack("{s:s, s:{s:i}}", "runtime", "crun", "limits", "pids", 20), NULL);
	res = run(spec);
	dump_log_on_failure(spec, res, "success");
	CHECK_STR_EQ(sget(res, "outcome"), "success");
	out = out_lines(spec);
	CHECK_STR_CONTAINS(out, "pid=1\n1\n");
	check_nothing_left("crun", spec, NULL);
	free(out);
	json_decref(res);
	json_decref(spec);

	/* crun cannot keep the container to read its OOM counter */
	spec = ctr_spec("x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived", NULL,
			json_pack("{s:s, s:{s:s}}", "runtime", "crun", "limits", "memory", "64M"), NULL);
	res = run(spec);
	CHECK_STR_EQ(sget(res, "outcome"), "failed");
	CHECK_INT_EQ(json_integer_value(json_object_get(res, "exit_code")), 137);
	CHECK_STR_EQ(sget(res, "message"), "killed by SIGKILL: probably the memory limit 64M (crun cannot tell)");
	check_nothing_left("crun", spec, NULL);
	json_decref(res);
	json_decref(spec);

	/* timeout through crun kill */
	spec = ctr_spec(NULL, json_pack("[s, s]", "sleep", "3520"), json_pack("{s:s}", "runtime", "crun"), NULL);
	json_object_set_new(spec, "deadline_us", json_integer(weir_now_us() + WEIR_US_PER_SEC));
	res = run(spec);
	CHECK_STR_EQ(sget(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(sget(res, "message"), "timed out");
	check_nothing_left("crun", spec, "sleep 3520");
	json_decref(res);
	json_decref(spec);
}

static void test_container__podman_runs_it_too(void)
{
	json_t *spec, *res;
	char *out;

	if (!can_run("podman"))
		return;
	spec = ctr_spec("echo pid=$$; echo '::xcom p=1'; echo '{\"q\": 2}' > $WEIR_XCOM_FILE; cat /proc/net/dev | grep -c :",
			NULL, json_pack("{s:s}", "runtime", "podman"), NULL);
	res = run(spec);
	dump_log_on_failure(spec, res, "success");
	CHECK_STR_EQ(sget(res, "outcome"), "success");
	out = out_lines(spec);
	CHECK_STR_CONTAINS(out, "pid=1\n");
	CHECK_STR_CONTAINS(out, "\n1\n");
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(res, "xcom"), "q")), 2);
	CHECK(!container_known("podman", attempt_of(spec)));
	free(out);
	json_decref(res);
	json_decref(spec);

	spec = ctr_spec("x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived", NULL,
			json_pack("{s:s, s:{s:s}}", "runtime", "podman", "limits", "memory", "64M"), NULL);
	res = run(spec);
	dump_log_on_failure(spec, res, "failed");
	CHECK_STR_EQ(sget(res, "outcome"), "failed");
	CHECK_STR_EQ(sget(res, "message"), "killed by SIGKILL: probably the memory limit 64M (podman cannot tell)");
	CHECK(!container_known("podman", attempt_of(spec)));
	json_decref(res);
	json_decref(spec);

	/* timeout through podman kill */
	spec = ctr_spec(NULL, json_pack("[s, s]", "sleep", "3522"), json_pack("{s:s}", "runtime", "podman"), NULL);
	json_object_set_new(spec, "deadline_us", json_integer(weir_now_us() + 2 * WEIR_US_PER_SEC));
	res = run(spec);
	CHECK_STR_EQ(sget(res, "outcome"), "failed");
	CHECK_STR_CONTAINS(sget(res, "message"), "timed out");
	CHECK(!container_known("podman", attempt_of(spec)));
	CHECK(!check_process_exists("sleep 3522"));
	json_decref(res);
	json_decref(spec);

	/* a dead runner's container, removed by name */
	{
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		spec = ctr_spec(NULL, json_pack("[s, s]", "sleep", "3523"), json_pack("{s:s}", "runtime", "podman"), NULL);
		start_then_kill(spec, "sleep 3523", 300, SIGKILL);
		CHECK(container_known("podman", attempt_of(spec)));
		CHECK_INT_EQ(weir_container_cleanup("podman", attempt_of(spec), &err), 1);
		CHECK(!container_known("podman", attempt_of(spec)));
		CHECK(!check_process_exists("sleep 3523"));
		weir_buf_release(&err);
		json_decref(spec);
	}
}

/* ------------------------------------------------------------------ */
/* DAG validation                                                       */
/* ------------------------------------------------------------------ */

static void test_container__bad_configs_fail_validation_clearly(void)
{
	const char *bin = getenv("WEIR_BINARY");
	char *dag = tmp_path("bad.yaml"), cmd[2048], *out;

	if (!bin)
		check__fail(__FILE__, __LINE__, "WEIR_BINARY is not set: run this test through ctest");
	check_write_file(dag,
			 "version: 1\ndag: bad\ntasks:\n"
			 "  - id: a\n    operator: command\n    shell: \"true\"\n    executor: container\n"
			 "    container:\n      rootfs: /r\n      image: /i\n      user: root\n"
			 "      mounts: [{source: /a}, \"rel:/x\"]\n      runtime: crun\n"
			 "  - id: b\n    operator: command\n    shell: \"true\"\n    executor: container\n"
			 "    container: {image: images/py}\n");
	snprintf(cmd, sizeof(cmd), "%s dags validate %s 2>&1; echo exit=$?", bin, dag);
	out = sh_out(cmd);
	check_note("%s", out);
	CHECK_STR_CONTAINS(out, "bad.yaml:9:7: error: container needs exactly one of \"rootfs\" (a directory) or \"image\" (an OCI image layout)");
	CHECK_STR_CONTAINS(out, "bad.yaml:11:13: error: \"user\" must be numeric \"UID\" or \"UID:GID\"");
	CHECK_STR_CONTAINS(out, "error: mount needs \"source\" and \"target\"");
	CHECK_STR_CONTAINS(out, "error: mount \"rel:/x\" must look like \"/host/path:/container/path[:rw]\"");
	CHECK_STR_CONTAINS(out, "unknown key \"runtime\"");
	CHECK_STR_CONTAINS(out, "bad.yaml:18:24: error: \"image\" must be an absolute path (an OCI image layout folder, optionally with :TAG)");
	CHECK(!strstr(out, "exit=0"));
	free(out);
	free(dag);
}

/* ------------------------------------------------------------------ */
/* through a real scheduler                                             */
/* ------------------------------------------------------------------ */

static void test_container__scheduler_runs_a_container_task(void)
{
	struct weir_env e;
	char yaml[2048], path[1200];
	char *log;

	if (!can_run("runc"))
		return;
	env_init(&e);
	snprintf(yaml, sizeof(yaml),
		 "version: 1\ndag: ctr\ntasks:\n"
		 "  - id: hello\n    operator: command\n    executor: container\n"
		 "    container: {rootfs: %s, limits: {memory: 128M, pids: 50}}\n"
		 "    shell: \"echo hello from pid $$; echo '::xcom n=42'\"\n"
		 "  - {id: after, operator: command, exec: [\"true\"], depends_on: [hello]}\n",
		 rootfs());
	env_dag(&e, "ctr.yaml", yaml);
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags WHERE dag_id = 'ctr'");
	env_trigger(&e, "ctr", "r1", NULL);
	CHECK_STR_EQ(env_wait_run(&e, "ctr", "r1", 60), "SUCCESS");
	CHECK_SQL(&e, "42", "SELECT value::text FROM xcom WHERE task_id = 'hello' AND key = 'n'");
	CHECK_SQL(&e, "container", "SELECT executor FROM task_tries WHERE task_id = 'hello'");
	snprintf(path, sizeof(path), "%s/logs/ctr/r1/hello/1.log", e.home);
	log = check_read_file(path);
	CHECK_STR_CONTAINS(log, "OUT hello from pid 1");
	CHECK_STR_CONTAINS(log, "(runc): root ");
	{
		char *att = env_sql(&e, "SELECT attempt_id FROM task_tries WHERE task_id = 'hello'");
		CHECK(!container_known("runc", att));
		CHECK_INT_EQ(cgroup_dirs(att), 0);
		free(att);
	}
	free(log);
	env_stop_all(&e);
}

static void test_container__scheduler_kill_9_adopts_or_cleans_the_container(void)
{
	struct weir_env e;
	char yaml[2048], path[1200], *att, *log, *pid;

	if (!can_run("runc"))
		return;
	env_init(&e);
	snprintf(yaml, sizeof(yaml),
		 "version: 1\ndag: k9\ntasks:\n"
		 "  - id: t\n    operator: command\n    executor: container\n"
		 "    container: {rootfs: %s}\n    exec: [sleep, \"3\"]\n"
		 "  - id: u\n    operator: command\n    executor: container\n"
		 "    container: {rootfs: %s}\n    exec: [sleep, \"3521\"]\n",
		 rootfs(), rootfs());
	env_dag(&e, "k9.yaml", yaml);
	env_start(&e, 0, NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 1 FROM dags");
	env_trigger(&e, "k9", "r1", NULL);
	env_wait_sql(&e, 20, "SELECT count(*) = 2 FROM task_instances WHERE state = 'running'");
	for (int i = 0; i < 100 && !check_process_exists("sleep 3521"); i++)
		usleep(50000);
	CHECK(check_process_exists("sleep 3521"));
	env_stop(&e, 0, true); /* kill -9 the scheduler */

	/* t: its runner lives on and is adopted.  u: its runner dies too
	 * (kill -9), leaving the container to the restarted scheduler. */
	snprintf(path, sizeof(path), "%s/logs/k9/r1/u/1.lock", e.home);
	pid = check_read_file(path);
	CHECK_INT_OP(atoi(pid), >, 1);
	CHECK_INT_EQ(kill(atoi(pid), SIGKILL), 0);
	free(pid);
	att = env_sql(&e, "SELECT attempt_id FROM task_tries WHERE task_id = 'u'");
	usleep(200000);
	CHECK(container_known("runc", att));

	env_start(&e, 0, NULL);
	CHECK_STR_EQ(env_wait_run(&e, "k9", "r1", 60), "FAILED");
	CHECK_SQL(&e, "success", "SELECT state FROM task_instances WHERE task_id = 't'");
	CHECK_SQL(&e, "failed", "SELECT state FROM task_instances WHERE task_id = 'u'");
	snprintf(path, sizeof(path), "%s/logs/k9/r1/t/1.log", e.home);
	log = check_read_file(path);
	CHECK_STR_CONTAINS(log, "adopting the running task process");
	free(log);
	snprintf(path, sizeof(path), "%s/logs/k9/r1/u/1.log", e.home);
	log = check_read_file(path);
	CHECK_STR_CONTAINS(log, "removed the leftover container weir-");
	free(log);
	CHECK(!container_known("runc", att));
	CHECK_INT_EQ(cgroup_dirs(att), 0);
	CHECK(!check_process_exists("sleep 3521"));
	free(att);
	att = env_sql(&e, "SELECT attempt_id FROM task_tries WHERE task_id = 't'");
	CHECK(!container_known("runc", att));
	CHECK_INT_EQ(cgroup_dirs(att), 0);
	free(att);
	env_stop_all(&e);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_container__spec_carries_executor_container_and_runtime),
	CHECK_TEST(test_container__runs_in_its_own_pid_namespace),
	CHECK_TEST(test_container__sees_only_what_is_mounted),
	CHECK_TEST(test_container__has_no_network_by_default),
	CHECK_TEST(test_container__runs_as_the_given_user),
	CHECK_TEST(test_container__xcom_run_dir_and_env_work),
	CHECK_TEST(test_container__memory_hog_is_killed_with_a_clear_message),
	CHECK_TEST(test_container__pids_limit_stops_a_fork_bomb),
	CHECK_TEST(test_container__timeout_leaves_nothing_behind),
	CHECK_TEST(test_container__sigterm_to_the_runner_stops_the_container),
	CHECK_TEST(test_container__cleanup_removes_what_a_dead_runner_left),
	CHECK_TEST(test_container__operators_can_share_their_own_folders),
	CHECK_TEST(test_container__runs_an_oci_image_layout),
	CHECK_TEST(test_container__missing_rootfs_and_mount_sources_are_clear_errors),
	CHECK_TEST(test_container__python_runs_inside_with_the_host_usr),
	CHECK_TEST(test_container__python_operator_runs_inline_code_and_scripts),
	CHECK_TEST(test_container__crun_runs_it_too),
	CHECK_TEST(test_container__podman_runs_it_too),
	CHECK_TEST(test_container__bad_configs_fail_validation_clearly),
	CHECK_TEST(test_container__scheduler_runs_a_container_task),
	CHECK_TEST(test_container__scheduler_kill_9_adopts_or_cleans_the_container),
	{0},
};

int main(int argc, char **argv)
{
	weir_operators_register_light();
	weir_operator_register(&share_probe);
	return check_main(argc, argv, tests);
}
