/*
 * test_proc.c: starting, reaping and killing child processes.
 *
 * The children are /bin/sh, coreutils, and this binary itself: run as
 * `test_proc --helper MODE ...` it reports what a child sees (its open
 * fds, its session), as libuv's spawn_helper does.  Timings are printed
 * with check_note, never asserted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/loop.h"
#include "engine/proc.h"
#include "tests/check.h"

extern char **environ;

#define SLACK_US (10 * WEIR_US_PER_SEC)

static const char *const minimal_env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", NULL};

/* ------------------------------------------------------------------ */
/* The helper: this binary as a child                                  */
/* ------------------------------------------------------------------ */

/* Prints the open fds (except the one reading /proc/self/fd), then
 * writes "kept" into every fd above 2. */
static int helper_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int fds[256], n = 0;

	if (!d)
		return 2;
	while ((de = readdir(d)) != NULL && n < 256) {
		if (de->d_name[0] == '.')
			continue;
		if (atoi(de->d_name) != dirfd(d))
			fds[n++] = atoi(de->d_name);
	}
	closedir(d);
	/* readdir order is the kernel's: sort for a stable line. */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];
			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? " " : "", fds[i]);
	printf("\n");
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		if (fds[i] > 2 && write(fds[i], "kept", 4) != 4)
			return 3;
	}
	return 0;
}

static int helper_main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[2], "fds"))
		return helper_fds();
	if (argc >= 3 && !strcmp(argv[2], "session")) {
		printf("%d %d %d\n", (int)getpid(), (int)getsid(0), (int)getpgid(0));
		return 0;
	}
	return 99;
}

static const char *self_exe(void)
{
	static char path[PATH_MAX];
	ssize_t n;

	if (!path[0]) {
		n = readlink("/proc/self/exe", path, sizeof(path) - 1);
		CHECK(n > 0);
		path[n] = '\0';
	}
	return path;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void start_ok(struct weir_child *c)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc = weir_child_start(c, &err);

	if (rc != 0)
		check__fail(__FILE__, __LINE__, "weir_child_start: %d: %s", rc, err.buf);
	CHECK(c->pid > 0);
	weir_buf_release(&err);
}

static int wait_code(pid_t pid)
{
	int status;
	pid_t r;

	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	CHECK_INT_EQ(r, pid);
	return weir_proc_exit_code(status);
}

static void make_pipe(int p[2])
{
	CHECK_INT_EQ(pipe2(p, O_CLOEXEC), 0);
}

/* Reads fd to EOF and closes it; returns malloc'd text. */
static char *slurp(int fd)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	CHECK_OK(weir_buf_read_fd(&b, fd));
	close(fd);
	return weir_buf_detach(&b, NULL);
}

/* Runs argv with stdout to a pipe; returns the output, sets *code. */
static char *run_capture(struct weir_child *c, int *code)
{
	int p[2];
	char *out;

	make_pipe(p);
	c->out_fd = p[1];
	start_ok(c);
	close(p[1]);
	out = slurp(p[0]);
	*code = wait_code(c->pid);
	return out;
}

static char *run_sh(const char *script, int *code)
{
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	struct weir_child c = WEIR_CHILD_INIT;

	c.argv = argv;
	c.env = minimal_env;
	return run_capture(&c, code);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void no_children_left(void)
{
	int status;

	CHECK_INT_EQ(waitpid(-1, &status, WNOHANG), -1);
	CHECK_INT_EQ(errno, ECHILD);
}

/* Number of processes in process group pgid (zombies included). */
static int group_size(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL) {
		char path[300], buf[512], *p;
		int fd, pgrp;
		ssize_t len;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		p = strrchr(buf, ')');
		if (p && sscanf(p + 1, " %*c %*d %d", &pgrp) == 1 && pgrp == pgid)
			n++;
	}
	closedir(d);
	return n;
}

/* check_read_file sizes files with ftell, which is 0 for /proc files. */
static char *read_proc(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		check__fail(__FILE__, __LINE__, "cannot open \"%s\": %s", path, strerror(errno));
	return slurp(fd);
}

/* "SigBlk:\t0000000000000000" -> the hex value of the field in text. */
static unsigned long long status_field(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	CHECK(p != NULL);
	return strtoull(p + strlen(name) + 1, NULL, 16);
}

/* ------------------------------------------------------------------ */
/* Exit codes and exec failures                                        */
/* ------------------------------------------------------------------ */

static void test_proc__reports_exit_codes_and_signals_as_128_plus_signal(void)
{
	int code;

	free(run_sh("exit 0", &code));
	CHECK_INT_EQ(code, 0);
	free(run_sh("exit 3", &code));
	CHECK_INT_EQ(code, 3);
	free(run_sh("kill -9 $$", &code));
	CHECK_INT_EQ(code, 128 + 9);

	/* The mapping itself, on raw wait statuses. */
	CHECK_INT_EQ(weir_proc_exit_code(0), 0);
	CHECK_INT_EQ(weir_proc_exit_code(3 << 8), 3);
	CHECK_INT_EQ(weir_proc_exit_code(255 << 8), 255);
	CHECK_INT_EQ(weir_proc_exit_code(SIGTERM), 128 + SIGTERM);
	no_children_left();
}

static void check_start_fails(struct weir_child *c, int want_rc, const char *want_msg)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	CHECK_INT_EQ(weir_child_start(c, &err), want_rc);
	CHECK_STR_EQ(err.buf, want_msg);
	CHECK_INT_EQ(c->pid, -1);
	/* Nothing is left running, and nothing is left for reap to find. */
	no_children_left();
	weir_buf_release(&err);
}

static void test_proc__names_the_program_when_exec_fails(void)
{
	const char *argv[] = {"/nonexistent", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	char path[512], msg[600];
	const char *argv2[] = {path, NULL};

	c.argv = argv;
	check_start_fails(&c, -ENOENT,
			  "could not execute \"/nonexistent\": No such file or directory");

	/* Not executable: EACCES (even for root, which needs one x bit). */
	snprintf(path, sizeof(path), "%s/not-a-program", check_tmpdir());
	check_write_file(path, "#!/bin/sh\nexit 0\n");
	CHECK_INT_EQ(chmod(path, 0644), 0);
	c.argv = argv2;
	snprintf(msg, sizeof(msg), "could not execute \"%s\": Permission denied", path);
	check_start_fails(&c, -EACCES, msg);
}

static void test_proc__names_the_directory_when_chdir_fails(void)
{
	const char *argv[] = {"/bin/true", NULL};
	struct weir_child c = WEIR_CHILD_INIT;

	c.argv = argv;
	c.cwd = "/nonexistent-dir";
	check_start_fails(&c, -ENOENT,
			  "could not change directory to \"/nonexistent-dir\": "
			  "No such file or directory");
}

static void test_proc__runs_in_the_given_directory(void)
{
	const char *argv[] = {"/bin/sh", "-c", "pwd", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	char real[PATH_MAX], want[PATH_MAX + 2], *out;
	int code;

	CHECK(realpath(check_tmpdir(), real) != NULL);
	snprintf(want, sizeof(want), "%s\n", real);
	c.argv = argv;
	c.env = minimal_env;
	c.cwd = check_tmpdir();
	out = run_capture(&c, &code);
	CHECK_INT_EQ(code, 0);
	CHECK_STR_EQ(out, want);
	free(out);
}

static void test_proc__searches_the_childs_path_for_a_bare_name(void)
{
	const char *argv[] = {"sh", "-c", "exit 7", NULL};
	const char *env_ok[] = {"PATH=/nonexistent-dir::/bin", NULL};
	const char *env_bad[] = {"PATH=/nonexistent-dir", NULL};
	const char *argv_missing[] = {"weir-no-such-program", NULL};
	struct weir_child c = WEIR_CHILD_INIT;

	c.argv = argv;
	c.env = env_ok;
	start_ok(&c);
	CHECK_INT_EQ(wait_code(c.pid), 7);

	/* The child's PATH is searched, not ours. */
	c.env = env_bad;
	check_start_fails(&c, -ENOENT,
			  "could not find program \"sh\" in PATH: No such file or directory");

	c.env = NULL; /* inherit: our PATH */
	c.argv = argv_missing;
	check_start_fails(&c, -ENOENT,
			  "could not find program \"weir-no-such-program\" in PATH: "
			  "No such file or directory");
}

static void test_proc__replaces_the_environment_when_env_is_given(void)
{
	const char *argv[] = {"/bin/sh", "-c", "echo \"$FOO:${HOME-unset}\"", NULL};
	const char *env[] = {"FOO=bar", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	char *out;
	int code;

	c.argv = argv;
	c.env = env;
	out = run_capture(&c, &code);
	CHECK_INT_EQ(code, 0);
	CHECK_STR_EQ(out, "bar:unset\n");
	free(out);
}

/* ------------------------------------------------------------------ */
/* File descriptors                                                    */
/* ------------------------------------------------------------------ */

static void test_proc__redirects_stdout_and_stderr_to_pipes(void)
{
	const char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 4", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	int po[2], pe[2];
	char *out, *errtext;

	make_pipe(po);
	make_pipe(pe);
	c.argv = argv;
	c.out_fd = po[1];
	c.err_fd = pe[1];
	start_ok(&c);
	/* The caller may close its copies at once. */
	close(po[1]);
	close(pe[1]);
	out = slurp(po[0]);
	errtext = slurp(pe[0]);
	CHECK_INT_EQ(wait_code(c.pid), 4);
	CHECK_STR_EQ(out, "out\n");
	CHECK_STR_EQ(errtext, "err\n");
	free(out);
	free(errtext);
}

static void test_proc__feeds_stdin_from_a_pipe(void)
{
	const char *argv[] = {"cat", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	int pi[2], po[2];
	char *out;

	make_pipe(pi);
	make_pipe(po);
	c.argv = argv;
	c.in_fd = pi[0];
	c.out_fd = po[1];
	start_ok(&c);
	close(pi[0]);
	close(po[1]);
	CHECK_INT_EQ(write(pi[1], "hello\n", 6), 6);
	close(pi[1]);
	out = slurp(po[0]);
	CHECK_INT_EQ(wait_code(c.pid), 0);
	CHECK_STR_EQ(out, "hello\n");
	free(out);
}

static void test_proc__connects_unset_stdio_to_dev_null(void)
{
	char *out;
	int code;

	out = run_sh("readlink /proc/self/fd/0 /proc/self/fd/2", &code);
	CHECK_INT_EQ(code, 0);
	CHECK_STR_EQ(out, "/dev/null\n/dev/null\n");
	free(out);
}

static void test_proc__swaps_stdout_and_stderr_without_clobbering(void)
{
	const char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int p1[2], p2[2], saved1, saved2, rc;
	char *got1, *got2;

	/*
	 * Point our own fds 1 and 2 at pipes and ask for the child's stdout
	 * on our 2 and its stderr on our 1: each source is the other's
	 * target.  A naive dup2 sequence sends both streams to one pipe.
	 */
	make_pipe(p1);
	make_pipe(p2);
	fflush(stdout);
	fflush(stderr);
	saved1 = fcntl(1, F_DUPFD_CLOEXEC, 3);
	saved2 = fcntl(2, F_DUPFD_CLOEXEC, 3);
	CHECK(saved1 >= 0 && saved2 >= 0);
	dup2(p1[1], 1);
	dup2(p2[1], 2);
	c.argv = argv;
	c.out_fd = 2;
	c.err_fd = 1;
	rc = weir_child_start(&c, &err);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	close(p1[1]);
	close(p2[1]);
	CHECK_OK(rc);
	got1 = slurp(p1[0]);
	got2 = slurp(p2[0]);
	CHECK_INT_EQ(wait_code(c.pid), 0);
	CHECK_STR_EQ(got1, "err\n");
	CHECK_STR_EQ(got2, "out\n");
	free(got1);
	free(got2);
	weir_buf_release(&err);
}

/* Starts c with our fds 0, 1 and 2 closed; returns start's result. */
static int start_with_stdio_closed(struct weir_child *c, struct weir_buf *err)
{
	int saved1, saved2, rc;

	fflush(stdout);
	fflush(stderr);
	saved1 = fcntl(1, F_DUPFD_CLOEXEC, 3);
	saved2 = fcntl(2, F_DUPFD_CLOEXEC, 3);
	CHECK(saved1 >= 0 && saved2 >= 0);
	close(0);
	close(1);
	close(2);
	/* Now /dev/null opens as fd 0 and the error pipe as fds 1 and 2:
	 * sources and the report channel sit on the targets. */
	rc = weir_child_start(c, err);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	return rc;
}

static void test_proc__starts_even_when_the_parent_closed_its_stdio(void)
{
	const char *argv[] = {"/bin/sh", "-c", "readlink /proc/self/fd/0 /proc/self/fd/2; echo ok",
			      NULL};
	const char *bad[] = {"/nonexistent", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int p[2], rc;
	char *out;

	make_pipe(p);
	c.argv = argv;
	c.out_fd = p[1];
	rc = start_with_stdio_closed(&c, &err);
	CHECK_STR_EQ(err.buf, "");
	CHECK_OK(rc);
	close(p[1]);
	out = slurp(p[0]);
	CHECK_INT_EQ(wait_code(c.pid), 0);
	CHECK_STR_EQ(out, "/dev/null\n/dev/null\nok\n");
	free(out);

	/* And an exec failure still reaches us through the moved pipe. */
	c = (struct weir_child)WEIR_CHILD_INIT;
	c.argv = bad;
	rc = start_with_stdio_closed(&c, &err);
	CHECK_INT_EQ(rc, -ENOENT);
	CHECK_STR_EQ(err.buf, "could not execute \"/nonexistent\": No such file or directory");
	no_children_left();
	weir_buf_release(&err);
}

static void test_proc__passes_keep_fds_at_their_number_and_nothing_else(void)
{
	const char *argv[] = {self_exe(), "--helper", "fds", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	int kp[2], leaky;
	char want[64], *out, *kept;
	int code;

	make_pipe(kp);
	/* A careless fd without O_CLOEXEC must not reach the child either. */
	leaky = open("/dev/null", O_RDONLY);
	CHECK(leaky >= 0);
	c.argv = argv;
	c.keep_fds[0] = kp[1];
	out = run_capture(&c, &code);
	close(kp[1]);
	kept = slurp(kp[0]);
	CHECK_INT_EQ(code, 0);
	snprintf(want, sizeof(want), "0 1 2 %d\n", kp[1]);
	CHECK_STR_EQ(out, want);
	CHECK_STR_EQ(kept, "kept");
	free(out);
	free(kept);
	close(leaky);

	/* No keep fds: exactly stdio. */
	c = (struct weir_child)WEIR_CHILD_INIT;
	c.argv = argv;
	out = run_capture(&c, &code);
	CHECK_INT_EQ(code, 0);
	CHECK_STR_EQ(out, "0 1 2\n");
	free(out);
}

static void test_proc__rejects_stdio_numbers_and_closed_fds_as_keep_fds(void)
{
	const char *argv[] = {"/bin/true", NULL};
	struct weir_child c = WEIR_CHILD_INIT;

	c.argv = argv;
	c.keep_fds[0] = 1;
	check_start_fails(&c, -EINVAL,
			  "could not pass fd 1 to \"/bin/true\": fds 0-2 are stdio, "
			  "use in_fd/out_fd/err_fd");
	c.keep_fds[0] = 999;
	check_start_fails(&c, -EBADF,
			  "could not pass fd 999 to \"/bin/true\": Bad file descriptor");
	c.keep_fds[0] = -1;
	c.out_fd = 998;
	check_start_fails(&c, -EBADF, "could not set up fd 1 for \"/bin/true\": Bad file descriptor");
}

/* ------------------------------------------------------------------ */
/* Session, limits, identity, signals                                  */
/* ------------------------------------------------------------------ */

static void test_proc__starts_the_child_in_a_new_session(void)
{
	const char *argv[] = {self_exe(), "--helper", "session", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	int pid, sid, pgid, code;
	char *out;

	c.argv = argv;
	out = run_capture(&c, &code);
	CHECK_INT_EQ(code, 0);
	CHECK_INT_EQ(sscanf(out, "%d %d %d", &pid, &sid, &pgid), 3);
	CHECK_INT_EQ(pid, c.pid);
	CHECK_INT_EQ(sid, pid);
	CHECK_INT_EQ(pgid, pid);
	free(out);

	/* new_session = false: our session and group. */
	c = (struct weir_child)WEIR_CHILD_INIT;
	c.argv = argv;
	c.new_session = false;
	out = run_capture(&c, &code);
	CHECK_INT_EQ(sscanf(out, "%d %d %d", &pid, &sid, &pgid), 3);
	CHECK_INT_EQ(sid, getsid(0));
	CHECK_INT_EQ(pgid, getpgid(0));
	free(out);
}

/* "Max open files            16         16         files" -> 16, 16 */
static void limits_line(const char *text, const char *name, char soft[32], char hard[32])
{
	const char *p = strstr(text, name);

	CHECK(p != NULL);
	CHECK_INT_EQ(sscanf(p + strlen(name), " %31s %31s", soft, hard), 2);
}

static void test_proc__applies_rlimits(void)
{
	const char *argv[] = {"cat", "/proc/self/limits", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	char soft[32], hard[32], *out;
	int code;

	c.argv = argv;
	c.limits.nofile = 16;
	c.limits.pids = 64;
	c.limits.cpu_seconds = 7;
	c.limits.memory_bytes = INT64_C(256) << 20;
	out = run_capture(&c, &code);
	CHECK_INT_EQ(code, 0);
	limits_line(out, "Max open files", soft, hard);
	CHECK_STR_EQ(soft, "16");
	CHECK_STR_EQ(hard, "16");
	limits_line(out, "Max processes", soft, hard);
	CHECK_STR_EQ(soft, "64");
	CHECK_STR_EQ(hard, "64");
	/* CPU: SIGXCPU at the soft limit, SIGKILL a second later. */
	limits_line(out, "Max cpu time", soft, hard);
	CHECK_STR_EQ(soft, "7");
	CHECK_STR_EQ(hard, "8");
	limits_line(out, "Max address space", soft, hard);
	CHECK_STR_EQ(soft, "268435456");
	CHECK_STR_EQ(hard, "268435456");
	free(out);

	/* As a shell sees it. */
	c = (struct weir_child)WEIR_CHILD_INIT;
	{
		const char *sh[] = {"/bin/sh", "-c", "ulimit -n", NULL};
		c.argv = sh;
		c.limits.nofile = 16;
		out = run_capture(&c, &code);
		CHECK_STR_EQ(out, "16\n");
		free(out);
	}
}

static void test_proc__clamps_a_limit_to_our_own_hard_limit(void)
{
	const char *argv[] = {"/bin/sh", "-c", "ulimit -Hn", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	struct rlimit rl;
	char want[32], *out;
	int code;

	/* Lower our own hard limit (irreversible, but this is a throwaway
	 * test process), then ask for more. */
	CHECK_INT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_max = 512;
	if (rl.rlim_cur > 512)
		rl.rlim_cur = 512;
	CHECK_INT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	c.argv = argv;
	c.limits.nofile = 100000;
	out = run_capture(&c, &code);
	CHECK_INT_EQ(code, 0);
	snprintf(want, sizeof(want), "%d\n", 512);
	CHECK_STR_EQ(out, want);
	free(out);
}

static void test_proc__memory_limit_makes_a_large_allocation_fail(void)
{
	/* dd mallocs its whole 64 MiB block at once: fine without a limit,
	 * "memory exhausted" under a 32 MiB address-space limit. */
	const char *argv[] = {"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	char *out, *errtext;
	int pe[2], code;

	c.argv = argv;
	out = run_capture(&c, &code);
	CHECK_INT_EQ(code, 0);
	free(out);

	c = (struct weir_child)WEIR_CHILD_INIT;
	c.argv = argv;
	c.limits.memory_bytes = INT64_C(32) << 20;
	make_pipe(pe);
	c.err_fd = pe[1];
	out = run_capture(&c, &code);
	close(pe[1]);
	errtext = slurp(pe[0]);
	CHECK_INT_EQ(code, 1);
	CHECK_STR_CONTAINS(errtext, "memory exhausted");
	free(out);
	free(errtext);
}

static void test_proc__switches_user_and_drops_groups_when_root(void)
{
	const char *argv[] = {"/bin/sh", "-c", "id -u; id -g; id -G", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	char *out;
	int code;

	if (geteuid() != 0)
		check__fail(__FILE__, __LINE__, "needs root: run the suite as root (scripts/test.sh)");
	c.argv = argv;
	c.env = minimal_env;
	c.cwd = "/";
	c.uid = 65534;
	c.gid = 65534;
	out = run_capture(&c, &code);
	CHECK_INT_EQ(code, 0);
	CHECK_STR_EQ(out, "65534\n65534\n65534\n");
	free(out);
}

static void ignore_handler(int sig)
{
	(void)sig;
}

static void test_proc__resets_signal_mask_and_dispositions_in_the_child(void)
{
	const char *argv[] = {"cat", "/proc/self/status", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	struct sigaction sa;
	sigset_t set;
	char *ours, *out;
	int code;

	/* Make ourselves unusual: SIGTERM blocked, SIGINT ignored, SIGUSR2
	 * caught, SIGCHLD caught (the reaper's handler). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	CHECK_INT_EQ(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	signal(SIGINT, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ignore_handler;
	sigemptyset(&sa.sa_mask);
	CHECK_INT_EQ(sigaction(SIGUSR2, &sa, NULL), 0);
	CHECK_INT_OP(weir_proc_sigchld_fd(), >=, 0);

	ours = read_proc("/proc/thread-self/status");
	CHECK(status_field(ours, "SigBlk:") & (1ULL << (SIGTERM - 1)));
	CHECK(status_field(ours, "SigIgn:") & (1ULL << (SIGINT - 1)));
	free(ours);

	c.argv = argv;
	out = run_capture(&c, &code);
	CHECK_INT_EQ(code, 0);
	CHECK_INT_EQ(status_field(out, "SigBlk:"), 0);
	CHECK_INT_EQ(status_field(out, "SigIgn:"), 0);
	CHECK_INT_EQ(status_field(out, "SigCgt:"), 0);
	free(out);
	weir_proc_reap(NULL, NULL);
}

/*
 * The child runs in our memory until it execs (clone(CLONE_VM |
 * CLONE_VFORK), proc.c), but with its own fd table, handler table and
 * credentials.  What it does there must not leak into the parent: its
 * close_range(CLOEXEC) must not mark our fds, its SIG_DFL resets must not
 * touch our handlers, and its uid switch (raw system calls; glibc's
 * setuid() would signal our threads) must leave our threads root.  A
 * failed start must leave our state alone too.
 */
static void *thread_uid(void *arg)
{
	int *fds = arg;
	char b;
	uid_t uid;

	/* Wait until the parent has started the child, then report our uid. */
	CHECK_INT_EQ(read(fds[0], &b, 1), 1);
	uid = (uid_t)syscall(SYS_getuid);
	CHECK_INT_EQ(write(fds[1], &uid, sizeof(uid)), (long long)sizeof(uid));
	return NULL;
}

static void test_proc__starting_a_child_leaves_the_parents_fds_signals_and_threads_alone(void)
{
	const char *argv[] = {"/bin/sh", "-c", "id -u", NULL};
	const char *missing[] = {"/nonexistent/x", NULL};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_child c = WEIR_CHILD_INIT, bad = WEIR_CHILD_INIT;
	struct sigaction sa, got;
	int plain = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	int go[2], back[2], sentinel = 0x5eed;
	pthread_t th;
	uid_t tuid = 0;
	char *out;
	int code;

	CHECK_INT_OP(plain, >=, 3);
	CHECK_INT_EQ(fcntl(plain, F_GETFD), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ignore_handler;
	sigemptyset(&sa.sa_mask);
	CHECK_INT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	CHECK(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
	CHECK_INT_EQ(pipe(go), 0);
	CHECK_INT_EQ(pipe(back), 0);
	{
		int fds[2] = {go[0], back[1]};
		CHECK_INT_EQ(pthread_create(&th, NULL, thread_uid, fds), 0);

		c.argv = argv;
		c.env = minimal_env;
		c.cwd = "/";
		if (geteuid() == 0) {
			c.uid = 65534;
			c.gid = 65534;
		}
		out = run_capture(&c, &code);
		CHECK_INT_EQ(code, 0);
		if (geteuid() == 0)
			CHECK_STR_EQ(out, "65534\n");
		free(out);
		bad.argv = missing;
		CHECK_INT_EQ(weir_child_start(&bad, &err), -ENOENT);
		CHECK_STR_CONTAINS(err.buf, "/nonexistent/x");

		CHECK_INT_EQ(write(go[1], "x", 1), 1);
		CHECK_INT_EQ(read(back[0], &tuid, sizeof(tuid)), (long long)sizeof(tuid));
		CHECK_INT_EQ(pthread_join(th, NULL), 0);
	}
	CHECK_INT_EQ(tuid, geteuid());
	CHECK_INT_EQ(getuid(), geteuid());
	CHECK_INT_EQ(fcntl(plain, F_GETFD), 0);
	CHECK_INT_EQ(sigaction(SIGUSR1, NULL, &got), 0);
	CHECK(got.sa_handler == ignore_handler);
	CHECK_INT_EQ(sigaction(SIGUSR2, NULL, &got), 0);
	CHECK(got.sa_handler == SIG_IGN);
	CHECK_INT_EQ(sentinel, 0x5eed);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	close(plain);
	close(go[0]);
	close(go[1]);
	close(back[0]);
	close(back[1]);
	weir_buf_release(&err);
}

static void test_proc__records_start_time_from_proc_even_with_parens_in_comm(void)
{
	char link[512], statpath[64], *stat, *p;
	const char *argv[] = {link, "100", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	unsigned long long ticks = 0, uptime_ticks;
	double uptime;
	char *text;
	int64_t before = weir_mono_us();

	/* comm becomes "x) (y z" + ...: a ')' and spaces inside the parens. */
	snprintf(link, sizeof(link), "%s/x) (y z", check_tmpdir());
	CHECK_INT_EQ(symlink("/bin/sleep", link), 0);
	c.argv = argv;
	c.want_start_ticks = true;
	start_ok(&c);
	CHECK_INT_OP(c.start_mono_us, >=, before);
	CHECK_INT_OP(c.start_mono_us, <=, weir_mono_us());

	/* start() returns once the exec is past its point of no return (our
	 * memory released); the new name shows a moment later. */
	snprintf(statpath, sizeof(statpath), "/proc/%d/comm", (int)c.pid);
	for (int i = 0; i < 500; i++) {
		text = read_proc(statpath);
		if (!strcmp(text, "x) (y z\n"))
			break;
		free(text);
		text = NULL;
		usleep(10000);
	}
	CHECK_STR_EQ(text, "x) (y z\n");
	free(text);

	/* Independently: field 22, counted from the last ')'. */
	snprintf(statpath, sizeof(statpath), "/proc/%d/stat", (int)c.pid);
	stat = read_proc(statpath);
	p = strrchr(stat, ')');
	CHECK(p != NULL);
	CHECK_INT_EQ(sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d "
				   "%*d %*d %*d %*d %*d %llu",
			    &ticks),
		     1);
	free(stat);
	CHECK(ticks > 0);
	CHECK_INT_EQ(c.start_ticks, ticks);
	CHECK_INT_EQ(weir_proc_start_ticks(c.pid), ticks);

	/* And it is "now" in ticks since boot. */
	text = read_proc("/proc/uptime");
	CHECK_INT_EQ(sscanf(text, "%lf", &uptime), 1);
	free(text);
	uptime_ticks = (unsigned long long)(uptime * (double)sysconf(_SC_CLK_TCK));
	CHECK_INT_OP(ticks, <=, uptime_ticks + 1);
	CHECK_INT_OP(ticks + 10 * (unsigned long long)sysconf(_SC_CLK_TCK), >=, uptime_ticks);

	CHECK_OK(weir_child_kill(c.pid, true));
	CHECK_INT_EQ(wait_code(c.pid), 128 + SIGKILL);
	/* Gone: 0. */
	CHECK_INT_EQ(weir_proc_start_ticks(c.pid), 0);
	CHECK_INT_OP(weir_proc_start_ticks(getpid()), >, 0);
}

/* ------------------------------------------------------------------ */
/* Reaping and killing                                                 */
/* ------------------------------------------------------------------ */

struct reaped {
	pid_t pids[64];
	int codes[64];
	int seen[64];
	int n, total;
	/* For the "callback starts a child" test. */
	bool spawn_in_callback;
	pid_t spawned;
	int spawned_code;
};

static void on_exit_cb(void *arg, pid_t pid, int status)
{
	struct reaped *r = arg;

	r->total++;
	if (pid == r->spawned) {
		r->spawned_code = weir_proc_exit_code(status);
		return;
	}
	for (int i = 0; i < r->n; i++) {
		if (r->pids[i] == pid) {
			r->seen[i]++;
			r->codes[i] = weir_proc_exit_code(status);
			if (r->spawn_in_callback && !r->spawned) {
				const char *argv[] = {"/bin/sh", "-c", "exit 5", NULL};
				struct weir_child c = WEIR_CHILD_INIT;
				c.argv = argv;
				start_ok(&c);
				r->spawned = c.pid;
			}
			return;
		}
	}
	CHECK(!"reaped an unknown pid");
}

static void reap_fd_cb(struct weir_loop *loop, int fd, int mask, void *arg)
{
	(void)loop;
	(void)fd;
	(void)mask;
	weir_proc_reap(on_exit_cb, arg);
}

static void test_proc__reaps_50_children_exiting_at_once_exactly_once(void)
{
	const char *argv[] = {"cat", NULL};
	struct weir_loop *loop = NULL;
	struct reaped r = {0};
	int pi[2], fd;
	int64_t deadline;

	CHECK_OK(weir_loop_new(&loop));
	fd = weir_proc_sigchld_fd();
	CHECK_INT_OP(fd, >=, 0);
	CHECK_INT_EQ(weir_proc_sigchld_fd(), fd); /* installed once */
	CHECK_OK(weir_loop_add_fd(loop, fd, WEIR_LOOP_READ, reap_fd_cb, &r));

	/* 50 cats on one pipe: closing its write end ends them all at once. */
	make_pipe(pi);
	r.n = 50;
	for (int i = 0; i < r.n; i++) {
		struct weir_child c = WEIR_CHILD_INIT;
		c.argv = argv;
		c.in_fd = pi[0];
		start_ok(&c);
		r.pids[i] = c.pid;
	}
	close(pi[0]);
	close(pi[1]);

	deadline = weir_mono_us() + SLACK_US;
	while (r.total < r.n) {
		CHECK_INT_OP(weir_loop_run_once(loop, 0), >=, 0);
		CHECK_INT_OP(weir_mono_us(), <, deadline);
	}
	/* A little longer: no duplicate reports arrive. */
	sleep_ms(50);
	weir_loop_run_once(loop, WEIR_LOOP_DONT_WAIT);
	weir_proc_reap(on_exit_cb, &r);
	CHECK_INT_EQ(r.total, r.n);
	for (int i = 0; i < r.n; i++) {
		CHECK_INT_EQ(r.seen[i], 1);
		CHECK_INT_EQ(r.codes[i], 0);
	}
	no_children_left();
	weir_loop_free(loop);
}

static void test_proc__lets_an_exit_callback_start_a_new_child(void)
{
	const char *argv[] = {"/bin/true", NULL};
	struct reaped r = {.spawn_in_callback = true};
	struct weir_child c = WEIR_CHILD_INIT;
	struct pollfd pfd;
	int64_t deadline = weir_mono_us() + SLACK_US;

	pfd.fd = weir_proc_sigchld_fd();
	pfd.events = POLLIN;
	c.argv = argv;
	start_ok(&c);
	r.pids[0] = c.pid;
	r.n = 1;
	/* The first reap reports /bin/true; its callback starts sh, which is
	 * reported by a later reap, not lost and not reported twice. */
	while (r.total < 2) {
		/* SIGCHLD interrupts poll (SA_RESTART does not apply to it). */
		CHECK(poll(&pfd, 1, 100) >= 0 || errno == EINTR);
		weir_proc_reap(on_exit_cb, &r);
		CHECK_INT_OP(weir_mono_us(), <, deadline);
	}
	CHECK_INT_EQ(r.seen[0], 1);
	CHECK(r.spawned > 0);
	CHECK_INT_EQ(r.spawned_code, 5);
	CHECK_INT_EQ(r.total, 2);
	no_children_left();
}

static void test_proc__kill_terminates_then_reports_esrch(void)
{
	const char *argv[] = {"sleep", "100", NULL};
	struct weir_child c = WEIR_CHILD_INIT;

	c.argv = argv;
	start_ok(&c);
	CHECK_OK(weir_child_kill(c.pid, false));
	CHECK_INT_EQ(wait_code(c.pid), 128 + SIGTERM);
	CHECK_INT_EQ(weir_child_kill(c.pid, false), -ESRCH);
	CHECK_INT_EQ(weir_child_kill(c.pid, true), -ESRCH);
}

static void test_proc__kill_of_the_group_also_kills_grandchildren(void)
{
	const char *argv[] = {"/bin/sh", "-c", "sleep 100 & sleep 100", NULL};
	struct weir_child c = WEIR_CHILD_INIT;
	int64_t deadline;

	/* Orphaned grandchildren are reparented to us, not to init (which
	 * may not reap in a container), so our reaper collects them and
	 * "no process of the group remains" becomes observable. */
	CHECK_INT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	c.argv = argv;
	c.env = minimal_env;
	start_ok(&c);
	deadline = weir_mono_us() + SLACK_US;
	while (group_size(c.pid) < 3) {
		CHECK_INT_OP(weir_mono_us(), <, deadline);
		sleep_ms(5);
	}

	CHECK_OK(weir_child_kill(c.pid, true));
	deadline = weir_mono_us() + SLACK_US;
	for (;;) {
		weir_proc_reap(NULL, NULL);
		if (kill(-c.pid, 0) == -1 && errno == ESRCH)
			break;
		CHECK_INT_OP(weir_mono_us(), <, deadline);
		sleep_ms(5);
	}
	CHECK_INT_EQ(group_size(c.pid), 0);
	CHECK_INT_EQ(weir_child_kill(c.pid, true), -ESRCH);
	no_children_left();
}

/* ------------------------------------------------------------------ */
/* Measurement                                                         */
/* ------------------------------------------------------------------ */

struct wait_one {
	pid_t pid;
	bool done;
};

static void wait_one_cb(void *arg, pid_t pid, int status)
{
	struct wait_one *w = arg;

	CHECK_INT_EQ(pid, w->pid);
	CHECK_INT_EQ(weir_proc_exit_code(status), 0);
	w->done = true;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t median(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	return v[n / 2];
}

static void test_proc__measures_start_and_reap_against_plain_fork_exec(void)
{
	enum { N = 1000 };
	const char *argv[] = {"/bin/true", NULL};
	int64_t *ours = weir_xcalloc(N, sizeof(*ours)), *plain = weir_xcalloc(N, sizeof(*plain));
	int64_t ours_total = 0, plain_total = 0;
	/* Stay well inside the per-test timeout on a loaded machine. */
	int64_t budget_end = weir_mono_us() + 60 * WEIR_US_PER_SEC;
	struct pollfd pfd;
	int runs = 0;

	pfd.fd = weir_proc_sigchld_fd();
	pfd.events = POLLIN;
	CHECK_INT_OP(pfd.fd, >=, 0);

	/*
	 * The two are interleaved, one of each per round, so that a burst of
	 * load on a shared machine hits both alike; medians resist the
	 * outliers that means do not.
	 */
	for (int i = 0; i < N && weir_mono_us() < budget_end; i++) {
		struct weir_child c = WEIR_CHILD_INIT;
		struct wait_one w = {0};
		int64_t t0 = weir_mono_us();
		pid_t pid;
		int status;

		/* Ours: start, then poll the SIGCHLD fd and reap, as the loop would. */
		c.argv = argv;
		start_ok(&c);
		w.pid = c.pid;
		while (!w.done) {
			CHECK(poll(&pfd, 1, 10000) > 0 || errno == EINTR);
			weir_proc_reap(wait_one_cb, &w);
		}
		ours[i] = weir_mono_us() - t0;

		/* Plain: fork + execve + waitpid, nothing else. */
		t0 = weir_mono_us();
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			execve(argv[0], (char *const *)argv, environ);
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0)
			CHECK_INT_EQ(errno, EINTR);
		CHECK_INT_EQ(status, 0);
		plain[i] = weir_mono_us() - t0;
		ours_total += ours[i];
		plain_total += plain[i];
		runs++;
	}
	CHECK_INT_OP(runs, >, 0);
	check_note("start+reap of /bin/true, %d interleaved runs%s: ours mean %.1f us, median %lld us; "
		   "plain fork+execve+waitpid mean %.1f us, median %lld us",
		   runs, runs < N ? " (stopped by the 60 s budget)" : "",
		   (double)ours_total / runs, (long long)median(ours, runs),
		   (double)plain_total / runs, (long long)median(plain, runs));
	free(ours);
	free(plain);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_proc__reports_exit_codes_and_signals_as_128_plus_signal),
	CHECK_TEST(test_proc__names_the_program_when_exec_fails),
	CHECK_TEST(test_proc__names_the_directory_when_chdir_fails),
	CHECK_TEST(test_proc__runs_in_the_given_directory),
	CHECK_TEST(test_proc__searches_the_childs_path_for_a_bare_name),
	CHECK_TEST(test_proc__replaces_the_environment_when_env_is_given),
	CHECK_TEST(test_proc__redirects_stdout_and_stderr_to_pipes),
	CHECK_TEST(test_proc__feeds_stdin_from_a_pipe),
	CHECK_TEST(test_proc__connects_unset_stdio_to_dev_null),
	CHECK_TEST(test_proc__swaps_stdout_and_stderr_without_clobbering),
	CHECK_TEST(test_proc__starts_even_when_the_parent_closed_its_stdio),
	CHECK_TEST(test_proc__passes_keep_fds_at_their_number_and_nothing_else),
	CHECK_TEST(test_proc__rejects_stdio_numbers_and_closed_fds_as_keep_fds),
	CHECK_TEST(test_proc__starts_the_child_in_a_new_session),
	CHECK_TEST(test_proc__applies_rlimits),
	CHECK_TEST(test_proc__clamps_a_limit_to_our_own_hard_limit),
	CHECK_TEST(test_proc__memory_limit_makes_a_large_allocation_fail),
	CHECK_TEST(test_proc__switches_user_and_drops_groups_when_root),
	CHECK_TEST(test_proc__resets_signal_mask_and_dispositions_in_the_child),
	CHECK_TEST(test_proc__starting_a_child_leaves_the_parents_fds_signals_and_threads_alone),
	CHECK_TEST(test_proc__records_start_time_from_proc_even_with_parens_in_comm),
	CHECK_TEST(test_proc__reaps_50_children_exiting_at_once_exactly_once),
	CHECK_TEST(test_proc__lets_an_exit_callback_start_a_new_child),
	CHECK_TEST(test_proc__kill_terminates_then_reports_esrch),
	CHECK_TEST(test_proc__kill_of_the_group_also_kills_grandchildren),
	CHECK_TEST(test_proc__measures_start_and_reap_against_plain_fork_exec),
	{0},
};

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--helper"))
		return helper_main(argc, argv);
	return check_main(argc, argv, tests);
}
