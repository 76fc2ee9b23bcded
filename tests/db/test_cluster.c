/*
 * test_cluster.c: weir's private PostgreSQL cluster (db/cluster.c), with
 * real processes.
 *
 * Most tests drive the real `weir` binary ($WEIR_BINARY) with WEIR_HOME
 * set to a fresh directory under the test's temporary directory and no
 * database URL; a few call the C API.  Every test that starts a server
 * stops it through `weir db stop` and checks that no PostgreSQL process
 * is left.  For the failure paths (a failed CHECK _exits at once), each
 * test first forks a guard: a process in its own session that waits for
 * the test process to end and then kills any PostgreSQL process working
 * under the test's directory.
 *
 * As root the server runs as the `weir` system user (created on first
 * use), which must be able to enter the temporary directory: the tests
 * make it 0711.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "db/cluster.h"
#include "tests/check.h"

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

static char tmp_real[PATH_MAX]; /* the test's directory, resolved */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Pids of PostgreSQL processes whose working directory is under dir. */
static size_t postgres_under(const char *dir, long *pids, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0, len = strlen(dir);

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[300], buf[PATH_MAX];
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		ssize_t k;
		int fd;

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		k = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (k <= 0)
			continue;
		buf[k] = '\0';
		if (strcmp(buf, "postgres\n"))
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cwd", pid);
		k = readlink(path, buf, sizeof(buf) - 1);
		if (k < 0)
			continue;
		buf[k] = '\0';
		if (strncmp(buf, dir, len) || (buf[len] != '/' && buf[len] != '\0'))
			continue;
		if (n < max)
			pids[n] = pid;
		n++;
	}
	closedir(d);
	return n;
}

/* Kills every PostgreSQL process under dir (SIGQUIT, then SIGKILL). */
static void kill_postgres_under(const char *dir)
{
	long pids[256];
	size_t n;

	for (int round = 0; round < 100; round++) {
		n = postgres_under(dir, pids, 256);
		if (!n)
			return;
		n = n > 256 ? 256 : n;
		for (size_t i = 0; i < n; i++)
			kill((pid_t)pids[i], round < 50 ? SIGQUIT : SIGKILL);
		sleep_ms(100);
	}
}

/*
 * The guard: when this test process ends, however it ends, no server of
 * it survives.  It runs in its own session because the runner kills the
 * test's process group as soon as the test exits.
 */
static void start_guard(void)
{
	int p[2];
	pid_t pid;

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char c;
		int null = open("/dev/null", O_RDWR);
		setsid();
		close(p[1]);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		kill_postgres_under(tmp_real);
		_exit(0);
	}
	close(p[0]); /* the write end stays open (CLOEXEC) until we exit */
}

/* A fresh WEIR_HOME under the test's directory; starts the guard. */
static const char *setup(void)
{
	static char home[PATH_MAX];
	const char *tmp = check_tmpdir();

	if (geteuid() == 0)
		CHECK(chmod(tmp, 0711) == 0); /* the weir user must get through */
	CHECK(realpath(tmp, tmp_real) != NULL);
	snprintf(home, sizeof(home), "%s/home", tmp);
	setenv("WEIR_HOME", home, 1);
	unsetenv("WEIR_DATABASE_URL");
	unsetenv("WEIR_CONFIG");
	start_guard();
	return home;
}

struct result {
	int code;
	char *out;
	char *err;
};

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* Runs argv to completion; stdout and stderr are captured through files. */
static struct result run_argv(const char *const *argv)
{
	struct result r = {0};
	char out_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
	int status;
	pid_t pid;

	snprintf(out_path, sizeof(out_path), "%s/.out", tmp_real);
	snprintf(err_path, sizeof(err_path), "%s/.err", tmp_real);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int null = open("/dev/null", O_RDONLY);
		if (o < 0 || e < 0 || null < 0)
			_exit(126);
		dup2(null, 0);
		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		CHECK(errno == EINTR);
	r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r.out = check_read_file(out_path);
	r.err = check_read_file(err_path);
	if (r.code == 127)
		check__fail(__FILE__, __LINE__, "could not execute \"%s\"", argv[0]);
	return r;
}

/* Runs `weir ARGS...` (NULL-terminated). */
static struct result weir(const char *arg, ...)
{
	const char *argv[16];
	const char *bin = getenv("WEIR_BINARY");
	size_t n = 0;
	va_list ap;

	if (!bin)
		check__fail(__FILE__, __LINE__, "WEIR_BINARY is not set (run through ctest)");
	argv[n++] = bin;
	va_start(ap, arg);
	for (const char *a = arg; a && n < 15; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return run_argv(argv);
}

/* Runs SQL through psql on conninfo; returns its trimmed output (malloc'd). */
static char *psql(const char *conninfo, const char *sql)
{
	const char *argv[] = {WEIR_CLUSTER_BINDIR "/psql", "-X", "-q", "-A", "-t", "-v",
			      "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql, NULL};
	struct result r = run_argv(argv);
	size_t n;

	if (r.code != 0)
		check__fail(__FILE__, __LINE__, "psql \"%s\" failed (%d): %s", sql, r.code, r.err);
	n = strlen(r.out);
	while (n && (r.out[n - 1] == '\n' || r.out[n - 1] == ' '))
		r.out[--n] = '\0';
	free(r.err);
	return r.out;
}

/* `weir db url`, trimmed (malloc'd). */
static char *db_url(void)
{
	struct result r = weir("db", "url", NULL);
	char *url;

	CHECK_INT_EQ(r.code, 0);
	url = weir_xstrdup(r.out);
	url[strcspn(url, "\n")] = '\0';
	result_free(&r);
	return url;
}

static char *data_path(const char *home, const char *name)
{
	return weir_xasprintf("%s/pg/data/%s", home, name);
}

static long postmaster_pid(const char *home)
{
	char *path = data_path(home, "postmaster.pid");
	char *text = check_read_file(path);
	long pid = strtol(text, NULL, 10);

	free(text);
	free(path);
	return pid;
}

/* Waits until pid has left the cluster (dead, or a zombie). */
static void wait_dead(long pid)
{
	for (int i = 0; i < 200; i++) {
		char path[64], buf[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/%ld/cwd", pid);
		if (readlink(path, buf, sizeof(buf)) < 0)
			return;
		sleep_ms(50);
	}
	check__fail(__FILE__, __LINE__, "pid %ld did not exit", pid);
}

static void start_ok(struct result *r)
{
	*r = weir("db", "start", NULL);
	if (r->code != 0)
		check__fail(__FILE__, __LINE__, "weir db start exited %d:\n%s%s", r->code, r->out,
			    r->err);
}

/* Stops the cluster through weir and checks that nothing is left. */
static void stop_and_check_clean(void)
{
	struct result r = weir("db", "stop", NULL);
	long pids[16];
	size_t n = 0;

	CHECK_INT_EQ(r.code, 0);
	CHECK_STR_CONTAINS(r.out, "stopped PostgreSQL (pid ");
	result_free(&r);
	for (int i = 0; i < 50; i++) {
		n = postgres_under(tmp_real, pids, 16);
		if (!n)
			break;
		sleep_ms(100);
	}
	CHECK_INT_EQ(n, 0);
}

/* Reads a /proc file (whose size stat() reports as 0); malloc'd. */
static char *read_proc(const char *path)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc = weir_buf_read_file(&b, path);

	if (rc < 0)
		check__fail(__FILE__, __LINE__, "cannot read \"%s\": %s", path, weir_strerror(rc));
	return weir_buf_detach(&b, NULL);
}

/* The real uid of pid, from /proc/PID/status. */
static long proc_uid(long pid)
{
	char path[64];
	char *text, *p;
	long uid;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	text = read_proc(path);
	p = strstr(text, "\nUid:");
	CHECK(p != NULL);
	uid = strtol(p + 5, NULL, 10);
	free(text);
	return uid;
}

/* Replaces the pid (first line) of a saved postmaster.pid and writes it back. */
static void write_pidfile(const char *home, const char *saved, long pid)
{
	char *path = data_path(home, "postmaster.pid");
	char *text = weir_xasprintf("%ld%s", pid, strchr(saved, '\n'));

	check_write_file(path, text);
	free(text);
	free(path);
}

/* ------------------------------------------------------------------ */
/* tests                                                                */
/* ------------------------------------------------------------------ */

static void test_cluster__start_from_nothing_creates_a_migrated_postgis_database(void)
{
	const char *home = setup();
	char *url, *v, *pidfile, *line;
	struct result r;
	struct stat st;
	int64_t t0;
	long pid;

	t0 = weir_mono_ms();
	start_ok(&r);
	check_note("cold start (weir db start from nothing): %lld ms", (long long)(weir_mono_ms() - t0));
	CHECK_STR_CONTAINS(r.out, "created a PostgreSQL 15 cluster in");
	CHECK_STR_CONTAINS(r.out, "started PostgreSQL (pid ");
	CHECK_STR_CONTAINS(r.out, "created database \"weir\"");
	CHECK_STR_CONTAINS(r.out, "applied 0001_core");
	CHECK_STR_CONTAINS(r.out, "url:      host=");
	result_free(&r);

	r = weir("db", "status", NULL);
	CHECK_INT_EQ(r.code, 0);
	CHECK_STR_CONTAINS(r.out, "PostgreSQL 15");
	CHECK_STR_CONTAINS(r.out, "PostGIS 3");
	CHECK_STR_CONTAINS(r.out, "0001_core");
	CHECK_STR_CONTAINS(r.out, " applied at ");
	result_free(&r);

	url = db_url();
	v = weir_xasprintf("host=%s/pg/run port=5432 dbname=weir user=weir", home);
	CHECK_STR_EQ(url, v);
	free(v);
	/* No TCP listener; the socket directory is private; writes are durable. */
	v = psql(url, "SELECT current_setting('listen_addresses') || '|' || current_setting('fsync')"
		      " || '|' || current_setting('synchronous_commit') || '|' || current_user"
		      " || '|' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'weir'");
	CHECK_STR_EQ(v, "|on|on|weir|UTF8");
	free(v);
	pidfile = data_path(home, "postmaster.pid");
	v = check_read_file(pidfile);
	line = v;
	for (int i = 1; i < 6; i++)
		line = strchr(line, '\n') + 1;
	CHECK(line[0] == '\n'); /* line 6: the first listen address */
	free(v);
	free(pidfile);
	v = weir_xasprintf("%s/pg/run", home);
	CHECK(stat(v, &st) == 0);
	CHECK_INT_EQ(st.st_mode & 0777, 0700);
	free(v);
	free(url);

	/* Nothing listens on TCP: the postmaster has no inet socket at all. */
	pid = postmaster_pid(home);
	{
		char *tcp = read_proc("/proc/net/tcp");
		char *tcp6 = read_proc("/proc/net/tcp6");
		char fdpath[64], link[128];
		DIR *d;
		struct dirent *e;
		size_t sockets = 0;

		snprintf(fdpath, sizeof(fdpath), "/proc/%ld/fd", pid);
		d = opendir(fdpath);
		CHECK(d != NULL);
		while ((e = readdir(d))) {
			char p[600], inode_pat[64];
			ssize_t k;
			snprintf(p, sizeof(p), "%s/%s", fdpath, e->d_name);
			k = readlink(p, link, sizeof(link) - 1);
			if (k <= 0)
				continue;
			link[k] = '\0';
			if (strncmp(link, "socket:[", 8))
				continue;
			sockets++;
			snprintf(inode_pat, sizeof(inode_pat), " %.*s ", (int)(strlen(link) - 9), link + 8);
			CHECK(!strstr(tcp, inode_pat));
			CHECK(!strstr(tcp6, inode_pat));
		}
		closedir(d);
		CHECK_INT_OP(sockets, >, 0);
		free(tcp);
		free(tcp6);
	}
	stop_and_check_clean();
}

static void test_cluster__start_when_running_changes_nothing(void)
{
	struct result r;
	long pid;
	char *v;

	(void)setup();
	start_ok(&r);
	result_free(&r);
	pid = postmaster_pid(getenv("WEIR_HOME"));
	start_ok(&r);
	v = weir_xasprintf("PostgreSQL is already running (pid %ld)", pid);
	CHECK_STR_CONTAINS(r.out, v);
	CHECK(!strstr(r.out, "created"));
	CHECK(!strstr(r.out, "started"));
	free(v);
	result_free(&r);
	CHECK_INT_EQ(postmaster_pid(getenv("WEIR_HOME")), pid);
	stop_and_check_clean();
}

static void test_cluster__data_survives_stop_and_start(void)
{
	struct result r;
	char *url, *v;
	int64_t t0;

	(void)setup();
	start_ok(&r);
	result_free(&r);
	url = db_url();
	free(psql(url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('across restarts')"));

	t0 = weir_mono_ms();
	r = weir("db", "stop", NULL);
	check_note("stop: %lld ms", (long long)(weir_mono_ms() - t0));
	CHECK_INT_EQ(r.code, 0);
	CHECK_STR_CONTAINS(r.out, "stopped PostgreSQL (pid ");
	result_free(&r);
	CHECK_INT_EQ(postgres_under(tmp_real, NULL, 0), 0);

	r = weir("db", "stop", NULL);
	CHECK_INT_EQ(r.code, 0);
	CHECK_STR_CONTAINS(r.out, "not running");
	result_free(&r);
	r = weir("db", "url", NULL);
	CHECK_INT_EQ(r.code, 0);
	CHECK_STR_CONTAINS(r.err, "not running");
	result_free(&r);

	t0 = weir_mono_ms();
	start_ok(&r);
	check_note("warm start (stopped cluster): %lld ms", (long long)(weir_mono_ms() - t0));
	CHECK_STR_CONTAINS(r.out, "started PostgreSQL (pid ");
	CHECK(!strstr(r.out, "created"));
	CHECK(!strstr(r.out, "stale"));
	result_free(&r);
	v = psql(url, "SELECT v FROM kept");
	CHECK_STR_EQ(v, "across restarts");
	free(v);
	free(url);
	stop_and_check_clean();
}

static void test_cluster__start_recovers_after_the_postmaster_is_killed(void)
{
	const char *home = setup();
	struct result r;
	char *url, *v;
	long pid;
	int64_t t0;

	start_ok(&r);
	result_free(&r);
	url = db_url();
	free(psql(url, "CREATE TABLE t (v int); INSERT INTO t VALUES (42)"));
	pid = postmaster_pid(home);
	CHECK(kill((pid_t)pid, SIGKILL) == 0);
	wait_dead(pid);

	r = weir("db", "url", NULL); /* status sees through the stale pid file */
	CHECK_INT_EQ(r.code, 0);
	CHECK_STR_CONTAINS(r.err, "not running");
	result_free(&r);

	t0 = weir_mono_ms();
	start_ok(&r);
	check_note("start after kill -9 of the postmaster: %lld ms", (long long)(weir_mono_ms() - t0));
	v = weir_xasprintf("removed a stale postmaster.pid (pid %ld is not running)", pid);
	CHECK_STR_CONTAINS(r.out, v);
	free(v);
	CHECK_STR_CONTAINS(r.out, "started PostgreSQL (pid ");
	result_free(&r);
	CHECK(postmaster_pid(home) != pid);
	v = psql(url, "SELECT v FROM t");
	CHECK_STR_EQ(v, "42"); /* committed before the crash: recovered from WAL */
	free(v);
	free(url);
	stop_and_check_clean();
}

static void test_cluster__start_ends_a_busy_backend_the_killed_postmaster_left_behind(void)
{
	const char *home = setup();
	struct result r;
	char *url, *v;
	long pid, busy[4];
	pid_t client;
	int64_t t0;

	start_ok(&r);
	result_free(&r);
	url = db_url();
	/* A query that never waits on a latch, so it does not notice its
	 * postmaster's death (nested loop over 10^12 rows). */
	fflush(stdout);
	client = fork();
	CHECK(client >= 0);
	if (client == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execl(WEIR_CLUSTER_BINDIR "/psql", "psql", "-X", "-q", "-d", url, "-c",
		      "SELECT count(*) FROM generate_series(1, 1000000) a, generate_series(1, 1000000) b",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0;; i++) {
		v = psql(url, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
			      " AND query LIKE 'SELECT count(*) FROM generate_series%'");
		if (!strcmp(v, "1")) {
			free(v);
			break;
		}
		free(v);
		CHECK_INT_OP(i, <, 100);
		sleep_ms(50);
	}
	pid = postmaster_pid(home);
	CHECK(kill((pid_t)pid, SIGKILL) == 0);
	wait_dead(pid);
	/* The idle processes notice and exit (within a second or so, more on
	 * a loaded machine); the busy one does not. */
	for (int i = 0; postgres_under(tmp_real, busy, 4) > 1; i++) {
		CHECK_INT_OP(i, <, 300);
		sleep_ms(50);
	}
	CHECK_INT_EQ(postgres_under(tmp_real, busy, 4), 1);

	t0 = weir_mono_ms();
	start_ok(&r);
	check_note("start with a lingering busy backend: %lld ms", (long long)(weir_mono_ms() - t0));
	CHECK_STR_CONTAINS(r.out, "ended 1 lingering process of the previous server (SIGQUIT)");
	CHECK_STR_CONTAINS(r.out, "removed a stale postmaster.pid");
	CHECK_STR_CONTAINS(r.out, "started PostgreSQL (pid ");
	result_free(&r);
	{
		int status;
		CHECK_INT_EQ(waitpid(client, &status, 0), client);
		CHECK(!WIFEXITED(status) || WEXITSTATUS(status) != 0); /* its session died */
	}
	v = psql(url, "SELECT 1");
	CHECK_STR_EQ(v, "1");
	free(v);
	free(url);
	stop_and_check_clean();
}

/*
 * PostgreSQL refuses to start while anything is attached to the old
 * server's System V segment.  A helper that is not a postgres process
 * (so the orphan scan cannot see it) stays attached for 2 s: start must
 * retry with backoff until it succeeds.
 */
static void test_cluster__start_retries_while_the_old_shared_memory_is_in_use(void)
{
	const char *home = setup();
	char *path, *text, *line, *v;
	unsigned long key, shmid;
	struct result r;
	pid_t helper;
	int p[2], status;
	int64_t t0;
	long pid;
	char c;

	start_ok(&r);
	result_free(&r);
	path = data_path(home, "postmaster.pid");
	text = check_read_file(path);
	line = text;
	for (int i = 1; i < 7; i++)
		line = strchr(line, '\n') + 1;
	CHECK_INT_EQ(sscanf(line, "%lu %lu", &key, &shmid), 2);
	pid = strtol(text, NULL, 10);
	free(text);
	free(path);

	CHECK(pipe(p) == 0);
	fflush(stdout);
	helper = fork();
	CHECK(helper >= 0);
	if (helper == 0) {
		void *a = shmat((int)shmid, NULL, SHM_RDONLY);
		c = a == (void *)-1 ? 'n' : 'y';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		sleep_ms(2000);
		if (a != (void *)-1)
			shmdt(a);
		_exit(0);
	}
	close(p[1]);
	CHECK_INT_EQ(read(p[0], &c, 1), 1);
	close(p[0]);
	CHECK_INT_EQ(c, 'y');

	CHECK(kill((pid_t)pid, SIGKILL) == 0);
	wait_dead(pid);
	t0 = weir_mono_ms();
	start_ok(&r);
	check_note("start while the old segment stays attached for 2 s: %lld ms",
		   (long long)(weir_mono_ms() - t0));
	CHECK_STR_CONTAINS(r.out, "started PostgreSQL (pid ");
	CHECK_STR_CONTAINS(r.out, " at attempt ");
	result_free(&r);
	CHECK_INT_EQ(waitpid(helper, &status, 0), helper);
	v = weir_xasprintf("pre-existing shared memory block (key %lu, ID %lu) is still in use", key,
			   shmid);
	path = weir_xasprintf("%s/pg/postgres.log", home);
	text = check_read_file(path);
	CHECK_STR_CONTAINS(text, v);
	free(text);
	free(path);
	free(v);
	stop_and_check_clean();
}

static void test_cluster__a_failed_start_shows_the_end_of_the_server_log(void)
{
	const char *home = setup();
	struct result r;
	char *conf, *text;

	start_ok(&r);
	result_free(&r);
	stop_and_check_clean();
	conf = data_path(home, "postgresql.conf");
	text = check_read_file(conf);
	free(text);
	{
		FILE *f = fopen(conf, "a");
		CHECK(f != NULL);
		fputs("shared_buffers = 'lots'\n", f);
		fclose(f);
	}
	r = weir("db", "start", NULL);
	CHECK_INT_EQ(r.code, 1);
	CHECK_STR_CONTAINS(r.err, "could not start PostgreSQL in \"");
	CHECK_STR_CONTAINS(r.err, "pg_ctl exited with status 1");
	CHECK_STR_CONTAINS(r.err, "/pg/postgres.log\":");
	CHECK_STR_CONTAINS(r.err, "shared_buffers");
	result_free(&r);
	free(conf);
	CHECK_INT_EQ(postgres_under(tmp_real, NULL, 0), 0);
}

static void test_cluster__start_removes_a_stale_pid_file_of_a_dead_process(void)
{
	const char *home = setup();
	char *saved, *path, *v;
	struct result r;
	pid_t dead;
	int status;

	start_ok(&r);
	result_free(&r);
	path = data_path(home, "postmaster.pid");
	saved = check_read_file(path);
	stop_and_check_clean();
	dead = fork();
	CHECK(dead >= 0);
	if (dead == 0)
		_exit(0);
	CHECK_INT_EQ(waitpid(dead, &status, 0), dead);
	write_pidfile(home, saved, dead);

	start_ok(&r);
	v = weir_xasprintf("removed a stale postmaster.pid (pid %ld is not running)", (long)dead);
	CHECK_STR_CONTAINS(r.out, v);
	CHECK_STR_CONTAINS(r.out, "started PostgreSQL (pid ");
	free(v);
	result_free(&r);
	free(saved);
	free(path);
	stop_and_check_clean();
}

static void test_cluster__a_stale_pid_file_naming_another_program_is_never_signalled(void)
{
	const char *home = setup();
	struct result r;
	char *saved, *path, *v;

	start_ok(&r);
	result_free(&r);
	path = data_path(home, "postmaster.pid");
	saved = check_read_file(path);
	stop_and_check_clean();
	/* The pid of this test process: alive, but not PostgreSQL.  pg_ctl
	 * stop would SIGINT it; PostgreSQL itself would refuse to start. */
	write_pidfile(home, saved, (long)getpid());

	r = weir("db", "stop", NULL);
	CHECK_INT_EQ(r.code, 0);
	CHECK_STR_CONTAINS(r.out, "not running");
	result_free(&r);

	start_ok(&r);
	v = weir_xasprintf("removed a stale postmaster.pid (pid %ld belongs to another program)",
			   (long)getpid());
	CHECK_STR_CONTAINS(r.out, v);
	CHECK_STR_CONTAINS(r.out, "started PostgreSQL (pid ");
	free(v);
	result_free(&r);
	CHECK(postmaster_pid(home) != (long)getpid());
	free(saved);
	free(path);
	stop_and_check_clean();
}

static void test_cluster__stop_and_url_without_a_cluster_create_nothing(void)
{
	const char *home = setup();
	struct result r;
	struct stat st;
	char *pg;

	r = weir("db", "stop", NULL);
	CHECK_INT_EQ(r.code, 0);
	CHECK_STR_CONTAINS(r.out, "not running");
	result_free(&r);
	r = weir("db", "url", NULL);
	CHECK_INT_EQ(r.code, 1);
	CHECK_STR_CONTAINS(r.err, "there is no private cluster under");
	CHECK_STR_CONTAINS(r.err, "weir db start");
	CHECK_STR_EQ(r.out, "");
	result_free(&r);
	pg = weir_xasprintf("%s/pg", home);
	CHECK(stat(pg, &st) < 0 && errno == ENOENT);
	free(pg);
}

static void test_cluster__commands_start_the_cluster_on_demand(void)
{
	struct result r;

	(void)setup();
	r = weir("db", "status", NULL);
	if (r.code != 0)
		check__fail(__FILE__, __LINE__, "weir db status exited %d:\n%s%s", r.code, r.out, r.err);
	CHECK_STR_CONTAINS(r.err, "weir: created a PostgreSQL 15 cluster");
	CHECK_STR_CONTAINS(r.err, "weir: started PostgreSQL (pid ");
	CHECK_STR_CONTAINS(r.out, " applied at ");
	result_free(&r);
	/* Running already: a second command says nothing about the cluster. */
	r = weir("db", "migrate", NULL);
	CHECK_INT_EQ(r.code, 0);
	CHECK_STR_EQ(r.err, "");
	CHECK_STR_CONTAINS(r.out, "database schema is up to date");
	result_free(&r);
	stop_and_check_clean();
}

static void test_cluster__server_runs_as_the_weir_user_when_started_by_root(void)
{
	const char *home = setup();
	struct passwd *pw;
	struct result r;
	struct stat st;
	long pids[32];
	size_t n;
	char *p;

	if (geteuid() != 0)
		check__fail(__FILE__, __LINE__, "needs root: run the suite as root (scripts/test.sh)");
	start_ok(&r);
	result_free(&r);
	pw = getpwnam(WEIR_CLUSTER_OS_USER);
	CHECK(pw != NULL);
	n = postgres_under(tmp_real, pids, 32);
	CHECK_INT_OP(n, >=, 3); /* postmaster, checkpointer, writers... */
	for (size_t i = 0; i < n; i++)
		CHECK_INT_EQ(proc_uid(pids[i]), pw->pw_uid);
	p = weir_xasprintf("%s/pg", home);
	CHECK(stat(p, &st) == 0);
	CHECK_INT_EQ(st.st_uid, pw->pw_uid);
	CHECK_INT_EQ(st.st_mode & 0777, 0700);
	free(p);
	p = data_path(home, "PG_VERSION");
	CHECK(stat(p, &st) == 0);
	CHECK_INT_EQ(st.st_uid, pw->pw_uid);
	free(p);
	stop_and_check_clean();
}

static void test_cluster__start_refuses_a_socket_path_longer_than_107_bytes(void)
{
	char home[PATH_MAX], *pg;
	struct result r;
	struct stat st;
	size_t n;

	(void)setup();
	n = (size_t)snprintf(home, sizeof(home), "%s/", tmp_real);
	while (n < 100)
		home[n++] = 'h';
	home[n] = '\0';
	setenv("WEIR_HOME", home, 1);
	r = weir("db", "start", NULL);
	CHECK_INT_EQ(r.code, 1);
	CHECK_STR_CONTAINS(r.err, "/pg/run/.s.PGSQL.5432\" is ");
	CHECK_STR_CONTAINS(r.err, "longer than the 107 a unix socket allows");
	CHECK_STR_CONTAINS(r.err, "choose a WEIR_HOME of at most 86 bytes");
	result_free(&r);
	pg = weir_xasprintf("%s/pg", home);
	CHECK(stat(pg, &st) < 0);
	free(pg);
}

static void test_cluster__start_names_a_directory_the_weir_user_cannot_enter(void)
{
	char *hint;
	struct result r;

	(void)setup();
	if (geteuid() != 0)
		check__fail(__FILE__, __LINE__, "needs root: run the suite as root (scripts/test.sh)");
	CHECK(chmod(tmp_real, 0700) == 0);
	r = weir("db", "start", NULL);
	CHECK_INT_EQ(r.code, 1);
	hint = weir_xasprintf("cannot enter \"%s\" (mode 0700, owner root)", tmp_real);
	CHECK_STR_CONTAINS(r.err, hint);
	free(hint);
	hint = weir_xasprintf("chmod o+x \"%s\"", tmp_real);
	CHECK_STR_CONTAINS(r.err, hint);
	free(hint);
	result_free(&r);
	CHECK_INT_EQ(postgres_under(tmp_real, NULL, 0), 0);
}

static void test_cluster__start_reports_missing_and_unrunnable_programs(void)
{
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *home = setup();
	struct weir_cluster c;
	char *bin, *want;

	bin = weir_xasprintf("%s/bin", tmp_real);
	CHECK(mkdir(bin, 0755) == 0);
	CHECK_OK(weir_cluster_init(&c, home, &err));
	c.bindir = bin;
	CHECK_INT_EQ(weir_cluster_start(&c, &out, &err), WEIR_ENOTFOUND);
	want = weir_xasprintf("PostgreSQL 15 is not installed (\"%s/initdb\": No such file or directory)", bin);
	CHECK_STR_CONTAINS(err.buf, want);
	CHECK_STR_CONTAINS(err.buf, "postgresql-15-postgis-3");
	free(want);

	/* Present and executable, but not a program: exec fails in the child. */
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = {"initdb", "pg_ctl", "postgres"};
		char *p = weir_xasprintf("%s/%s", bin, names[i]);
		check_write_file(p, "");
		CHECK(chmod(p, 0755) == 0);
		free(p);
	}
	weir_buf_reset(&err);
	CHECK_INT_EQ(weir_cluster_start(&c, &out, &err), -ENOEXEC);
	want = weir_xasprintf("could not execute \"%s/initdb\": Exec format error", bin);
	CHECK_STR_CONTAINS(err.buf, want);
	free(want);
	CHECK_INT_EQ(postgres_under(tmp_real, NULL, 0), 0);
	weir_cluster_release(&c);
	weir_buf_release(&out);
	weir_buf_release(&err);
	free(bin);
}

static void test_cluster__api_reports_absent_stopped_and_running(void)
{
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *home = setup();
	enum weir_cluster_state state;
	struct weir_cluster c;
	long pid;
	char *want;

	CHECK_OK(weir_cluster_init(&c, home, &err));
	want = weir_xasprintf("host=%s/pg/run port=5432 dbname=weir user=weir", home);
	CHECK_STR_EQ(weir_cluster_conninfo(&c), want);
	free(want);
	CHECK_OK(weir_cluster_status(&c, &state, &pid, &err));
	CHECK_INT_EQ(state, WEIR_CLUSTER_ABSENT);

	if (weir_cluster_start(&c, &out, &err) < 0)
		check__fail(__FILE__, __LINE__, "start: %s", err.buf);
	CHECK(c.did & WEIR_CLUSTER_DID_CREATE);
	CHECK(c.did & WEIR_CLUSTER_DID_START);
	CHECK(c.did & WEIR_CLUSTER_DID_DATABASE);
	CHECK_INT_OP(c.pid, >, 0);
	CHECK_STR_CONTAINS(out.buf, "applied 0001_core");
	CHECK_OK(weir_cluster_status(&c, &state, &pid, &err));
	CHECK_INT_EQ(state, WEIR_CLUSTER_RUNNING);
	CHECK_INT_EQ(pid, c.pid);

	weir_buf_reset(&out);
	CHECK_OK(weir_cluster_start(&c, &out, &err));
	CHECK_INT_EQ(c.did, 0);
	CHECK_INT_EQ(c.pid, pid);

	CHECK_OK(weir_cluster_stop(&c, &err));
	CHECK_INT_EQ(c.did, WEIR_CLUSTER_DID_STOP);
	CHECK_INT_EQ(c.pid, pid);
	CHECK_OK(weir_cluster_status(&c, &state, &pid, &err));
	CHECK_INT_EQ(state, WEIR_CLUSTER_STOPPED);
	CHECK_INT_EQ(pid, 0);
	CHECK_OK(weir_cluster_stop(&c, &err));
	CHECK_INT_EQ(c.did, 0);
	CHECK_INT_EQ(postgres_under(tmp_real, NULL, 0), 0);
	weir_cluster_release(&c);
	weir_buf_release(&out);
	weir_buf_release(&err);
}

static void test_cluster__init_rejects_a_home_pg_ctl_cannot_quote(void)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_cluster c;
	char cwd[PATH_MAX], *want;

	CHECK_INT_EQ(weir_cluster_init(&c, "/tmp/a$b", &err), WEIR_EINVALID);
	CHECK_STR_CONTAINS(err.buf, "contains the character '$'");
	weir_cluster_release(&c);
	weir_buf_reset(&err);
	CHECK_INT_EQ(weir_cluster_init(&c, "", &err), WEIR_EINVALID);
	weir_cluster_release(&c);
	weir_buf_reset(&err);

	/* A relative home is taken from the current directory; quotes in a
	 * path are escaped in the conninfo. */
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_OK(weir_cluster_init(&c, "rel/home/", &err));
	want = weir_xasprintf("%s/rel/home", strcmp(cwd, "/") ? cwd : "");
	CHECK_STR_EQ(c.home, want);
	free(want);
	weir_cluster_release(&c);
	CHECK_OK(weir_cluster_init(&c, "/tmp/o'neil home", &err));
	CHECK_STR_EQ(weir_cluster_conninfo(&c),
		     "host='/tmp/o\\'neil home/pg/run' port=5432 dbname=weir user=weir");
	weir_cluster_release(&c);
	weir_buf_release(&err);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_cluster__init_rejects_a_home_pg_ctl_cannot_quote),
	CHECK_TEST(test_cluster__start_from_nothing_creates_a_migrated_postgis_database),
	CHECK_TEST(test_cluster__start_when_running_changes_nothing),
	CHECK_TEST(test_cluster__data_survives_stop_and_start),
	CHECK_TEST(test_cluster__start_recovers_after_the_postmaster_is_killed),
	CHECK_TEST(test_cluster__start_ends_a_busy_backend_the_killed_postmaster_left_behind),
	CHECK_TEST(test_cluster__start_retries_while_the_old_shared_memory_is_in_use),
	CHECK_TEST(test_cluster__start_removes_a_stale_pid_file_of_a_dead_process),
	CHECK_TEST(test_cluster__a_stale_pid_file_naming_another_program_is_never_signalled),
	CHECK_TEST(test_cluster__a_failed_start_shows_the_end_of_the_server_log),
	CHECK_TEST(test_cluster__stop_and_url_without_a_cluster_create_nothing),
	CHECK_TEST(test_cluster__commands_start_the_cluster_on_demand),
	CHECK_TEST(test_cluster__server_runs_as_the_weir_user_when_started_by_root),
	CHECK_TEST(test_cluster__start_refuses_a_socket_path_longer_than_107_bytes),
	CHECK_TEST(test_cluster__start_names_a_directory_the_weir_user_cannot_enter),
	CHECK_TEST(test_cluster__start_reports_missing_and_unrunnable_programs),
	CHECK_TEST(test_cluster__api_reports_absent_stopped_and_running),
	{0},
};

int main(int argc, char **argv)
{
	return check_main(argc, argv, tests);
}
