/*
 * cluster.c: the private PostgreSQL cluster under $WEIR_HOME (cluster.h).
 *
 * Role: turn "no database URL configured" into a working database without
 * the user doing anything.  We drive the stock PostgreSQL 15 programs
 * (initdb, pg_ctl) and never link the server; libpq is used only to
 * create the database and its PostGIS extension, and the store (store.h)
 * to migrate.
 *
 * Invariants:
 *   - pg/data exists only once initdb succeeded: initdb writes
 *     pg/data.tmp, which is renamed into place when complete, so a
 *     half-created cluster is never mistaken for a real one (a leftover
 *     data.tmp is deleted and created again).
 *   - start and stop hold flock(pg/.lock) for their whole duration, so two
 *     weir processes never initdb, start or stop the same cluster at once.
 *     status takes no lock: it only reads.
 *   - We signal a process only after proving it belongs to this cluster:
 *     /proc/PID/comm is "postgres" and /proc/PID/cwd is our data directory
 *     (the postmaster and every backend chdir there).  A pid file whose
 *     pid fails the test is stale, whatever kill(pid, 0) says.
 *   - Children run with a clean environment, default signal dispositions,
 *     an empty mask, stdin from /dev/null, stdout+stderr into a pipe we
 *     read, and every other descriptor closed at exec; as root they switch
 *     to the server user first.  Between fork and exec only
 *     async-signal-safe calls are made (everything is built before fork).
 *
 * The start state machine (all under the lock):
 *
 *   resolve the server user (create `weir` as root) -> check that it can
 *   reach WEIR_HOME -> mkdir home, pg, pg/run -> probe:
 *     ABSENT   -> initdb into data.tmp, rename -> (STOPPED)
 *     STOPPED  -> wait for processes of a dead server to exit (SIGQUIT
 *                 them after 10 s, fail after 20 s) -> remove a stale
 *                 postmaster.pid -> write weir.conf -> pg_ctl start -w;
 *                 "shared memory block still in use": back off, retry
 *                 until 20 s have passed
 *     RUNNING  -> "stopping": wait for it to exit, then as STOPPED;
 *                 "starting": wait until ready; "ready": nothing to do
 *   -> CREATE DATABASE weir (if missing) -> CREATE EXTENSION postgis ->
 *   migrations.
 *
 * NEEDSWORK: spawning duplicates a little of what engine/proc.h will offer
 * (weir_child_start); switch to it once it exists, keeping the synchronous
 * waitpid(pid) this module needs.
 */
#include "db/cluster.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/store.h"

#define SOCKET_NAME ".s.PGSQL.5432"
#define SOCKET_PATH_MAX 107           /* sizeof(sun_path) - 1 on Linux */
#define LOCK_WAIT_MS 180000           /* another weir may be running initdb + a slow start */
#define ORPHAN_SIGQUIT_MS 10000       /* then end a dead server's processes ourselves */
#define START_BUDGET_MS 20000         /* orphans + "shared memory still in use" retries */
#define PG_CTL_WAIT_S "120"           /* pg_ctl -t: crash recovery may take a while */
#define READY_WAIT_MS 300000          /* beyond pg_ctl's wait, for a long recovery */
#define STOP_FAST_MS 60000            /* fast shutdown: a checkpoint may take time */
#define STOP_IMMEDIATE_MS 15000
#define LOG_ROTATE_BYTES (16L << 20)  /* postgres.log is moved to .1 beyond this */
#define OUTPUT_MAX (64 << 10)         /* output kept from a child (the tail) */
#define TAIL_LINES 15
#define MAX_ORPHANS 64

/* ------------------------------------------------------------------ */
/* small helpers                                                        */
/* ------------------------------------------------------------------ */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static char *path_join(const char *a, const char *b)
{
	return weir_xasprintf("%s/%s", a, b);
}

/* Appends a libpq conninfo value, quoted only when it has to be. */
static void add_conn_value(struct weir_buf *b, const char *s)
{
	bool plain = *s != '\0';

	for (const char *p = s; *p; p++)
		if (*p == ' ' || *p == '\'' || *p == '\\' || *p == '\t' || *p == '\n' || *p == '=')
			plain = false;
	if (plain) {
		weir_buf_addstr(b, s);
		return;
	}
	weir_buf_addch(b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'' || *p == '\\')
			weir_buf_addch(b, '\\');
		weir_buf_addch(b, *p);
	}
	weir_buf_addch(b, '\'');
}

static char *make_conninfo(const struct weir_cluster *c, const char *dbname)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	weir_buf_addstr(&b, "host=");
	add_conn_value(&b, c->run);
	weir_buf_addf(&b, " port=%d dbname=%s user=%s", WEIR_CLUSTER_PORT, dbname,
		      WEIR_CLUSTER_ROLE);
	return weir_buf_detach(&b, NULL);
}

/* "weir" or "uid 1234", for messages; returns buf. */
static const char *user_name(uid_t uid, char buf[64])
{
	struct passwd pwd, *res = NULL;
	char tmp[4096];

	if (getpwuid_r(uid, &pwd, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, 64, "%s", pwd.pw_name);
	else
		snprintf(buf, 64, "uid %u", (unsigned)uid);
	return buf;
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Appends the last TAIL_LINES lines of text, indented, under a title. */
static void add_tail(struct weir_buf *err, const char *title, const char *text, size_t len)
{
	size_t start = len, lines = 0;

	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	if (!len)
		return;
	start = len;
	while (start > 0) {
		if (text[start - 1] == '\n' && ++lines == TAIL_LINES)
			break;
		start--;
	}
	weir_buf_addf(err, "\n%s:", title);
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t n = nl ? (size_t)(nl - (text + start)) : len - start;
		weir_buf_addf(err, "\n  %.*s", (int)n, text + start);
		start += n + 1;
	}
}

/* Appends the last lines the server logged since offset from. */
static void add_log_tail(struct weir_buf *err, const struct weir_cluster *c, off_t from)
{
	struct weir_buf text = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	off_t size = file_size(c->log);
	char *title;
	int fd;

	if (size - from > OUTPUT_MAX)
		from = size - OUTPUT_MAX;
	fd = open(c->log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (lseek(fd, from, SEEK_SET) == from && weir_buf_read_fd(&text, fd) == 0) {
		title = weir_xasprintf("last lines of \"%s\"", c->log);
		add_tail(err, title, text.buf, text.len);
		free(title);
	}
	close(fd);
	weir_buf_release(&text);
}

/* Reads the log since from (at most OUTPUT_MAX bytes) into out. */
static void read_log_since(const struct weir_cluster *c, off_t from, struct weir_buf *out)
{
	off_t size = file_size(c->log);
	int fd;

	if (size - from > OUTPUT_MAX)
		from = size - OUTPUT_MAX;
	fd = open(c->log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (lseek(fd, from, SEEK_SET) == from)
		(void)weir_buf_read_fd(out, fd);
	close(fd);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* init / release                                                       */
/* ------------------------------------------------------------------ */

int weir_cluster_init(struct weir_cluster *c, const char *home, struct weir_buf *err)
{
	char *sock = NULL;
	size_t n, fixed;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->lock_fd = -1;
	c->bindir = WEIR_CLUSTER_BINDIR;
	if (!home || !*home) {
		weir_buf_addstr(err, "WEIR_HOME is empty: set it to the directory where weir keeps its state");
		return WEIR_EINVALID;
	}
	if (home[0] == '/') {
		c->home = weir_xstrdup(home);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd))) {
			rc = -errno;
			weir_buf_addf(err, "could not resolve WEIR_HOME \"%s\": cannot get the current directory: %s",
				      home, strerror(-rc));
			return rc;
		}
		c->home = path_join(strcmp(cwd, "/") ? cwd : "", home);
	}
	n = strlen(c->home);
	while (n > 1 && c->home[n - 1] == '/')
		c->home[--n] = '\0';
	c->dir = path_join(c->home, "pg");
	c->data = path_join(c->dir, "data");
	c->run = path_join(c->dir, "run");
	c->log = path_join(c->dir, "postgres.log");
	c->conninfo = make_conninfo(c, WEIR_CLUSTER_DATABASE);

	/* pg_ctl starts the server through `sh -c "exec postgres -D \"DIR\" ..."`. */
	for (const char *p = c->home; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch == 0x7f) {
			weir_buf_addf(err, "WEIR_HOME \"%s\" contains a control character, which pg_ctl cannot pass to the server: choose another WEIR_HOME",
				      c->home);
			return WEIR_EINVALID;
		}
		if (strchr("\"$`\\", ch)) {
			weir_buf_addf(err, "WEIR_HOME \"%s\" contains the character '%c', which pg_ctl cannot pass to the server: choose another WEIR_HOME",
				      c->home, ch);
			return WEIR_EINVALID;
		}
	}
	sock = path_join(c->run, SOCKET_NAME);
	n = strlen(sock);
	if (n > SOCKET_PATH_MAX) {
		fixed = n - strlen(c->home);
		weir_buf_addf(err, "the PostgreSQL socket path \"%s\" is %zu bytes, longer than the %d a unix socket allows: choose a WEIR_HOME of at most %zu bytes (this one has %zu)",
			      sock, n, SOCKET_PATH_MAX, SOCKET_PATH_MAX - fixed, strlen(c->home));
		rc = WEIR_EINVALID;
	}
	free(sock);
	return rc;
}

void weir_cluster_release(struct weir_cluster *c)
{
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c->home);
	free(c->dir);
	free(c->data);
	free(c->run);
	free(c->log);
	free(c->conninfo);
	free(c->os_user);
	free(c->groups);
	memset(c, 0, sizeof(*c));
	c->lock_fd = -1;
}

const char *weir_cluster_conninfo(const struct weir_cluster *c)
{
	return c->conninfo;
}

/* ------------------------------------------------------------------ */
/* running programs                                                     */
/* ------------------------------------------------------------------ */

/* What failed in the child before or at exec, sent over a CLOEXEC pipe. */
enum child_step { STEP_SETGROUPS, STEP_SETGID, STEP_SETUID, STEP_CHDIR, STEP_DUP2, STEP_EXEC };
struct child_err {
	int step;
	int err;
};

static __attribute__((noreturn)) void child_fail(int fd, enum child_step step)
{
	struct child_err ce = {(int)step, errno};
	ssize_t w = write(fd, &ce, sizeof(ce));

	(void)w;
	_exit(127);
}

/* Reads fd to EOF keeping the last OUTPUT_MAX bytes (a child blocked on a
 * full pipe would never exit, so we always drain). */
static void drain(int fd, struct weir_buf *out)
{
	char chunk[4096];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (out->len + (size_t)n > OUTPUT_MAX) {
			size_t keep = OUTPUT_MAX / 2;
			if (out->len > keep) {
				memmove(out->buf, out->buf + out->len - keep, keep);
				weir_buf_truncate(out, keep);
			}
		}
		weir_buf_add(out, chunk, (size_t)n);
	}
}

/*
 * Runs argv (argv[0] an absolute path) to completion, as the server user
 * when as_server (and we are root), in c->dir (as_server) or "/".  Its
 * stdout and stderr are appended to output.  Returns 0 with *code set to
 * the exit status (or 128 + signal), or -errno with a message when the
 * program could not be run at all.
 */
static int run_program(struct weir_cluster *c, const char *const *argv, bool as_server,
		       struct weir_buf *output, int *code, struct weir_buf *err)
{
	const char *tz = getenv("TZ");
	char *tzvar = tz ? weir_xasprintf("TZ=%s", tz) : NULL;
	char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", tzvar, NULL};
	const char *cwd = as_server ? c->dir : "/";
	bool drop = as_server && c->drop;
	int in_fd = -1, outp[2] = {-1, -1}, errp[2] = {-1, -1}, maxfd = 1024, status, rc = 0;
	struct child_err ce;
	struct rlimit rl;
	char name[64];
	sigset_t all, old;
	ssize_t n;
	pid_t pid;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		maxfd = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
	in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in_fd < 0 || pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		rc = -errno;
		weir_buf_addf(err, "could not run \"%s\": %s", argv[0], strerror(-rc));
		goto out;
	}
	/* Block signals so no handler of ours runs in the child before the
	 * dispositions are reset (uv__spawn_and_init_child does the same). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		/* The child: async-signal-safe calls only from here to execve. */
		struct sigaction sa;
		sigset_t none;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (int s = 1; s < NSIG; s++)
			sigaction(s, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (drop) {
			if (setgroups((size_t)c->ngroups, c->groups) < 0)
				child_fail(errp[1], STEP_SETGROUPS);
			if (setgid(c->gid) < 0)
				child_fail(errp[1], STEP_SETGID);
			if (setuid(c->uid) < 0)
				child_fail(errp[1], STEP_SETUID);
		}
		if (chdir(cwd) < 0)
			child_fail(errp[1], STEP_CHDIR);
		if (dup2(in_fd, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(outp[1], 2) < 0)
			child_fail(errp[1], STEP_DUP2);
		/* Nothing of ours may leak into the server (above all not the
		 * lock fd: the postmaster would hold the lock forever). */
		if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
			for (int fd = 3; fd < maxfd; fd++)
				fcntl(fd, F_SETFD, FD_CLOEXEC);
		execve(argv[0], (char *const *)argv, envp);
		child_fail(errp[1], STEP_EXEC);
	}
	rc = pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		weir_buf_addf(err, "could not start \"%s\": fork failed: %s", argv[0], strerror(-rc));
		goto out;
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	drain(outp[0], output);
	do
		n = read(errp[0], &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno == EINTR)
			continue;
		rc = -errno;
		weir_buf_addf(err, "could not wait for \"%s\" (pid %ld): %s", argv[0], (long)pid,
			      strerror(-rc));
		goto out;
	}
	if (n == (ssize_t)sizeof(ce)) {
		rc = ce.err ? -ce.err : WEIR_ECHILD;
		switch (ce.step) {
		case STEP_SETGROUPS:
		case STEP_SETGID:
		case STEP_SETUID:
			weir_buf_addf(err, "could not switch to user %s", user_name(c->uid, name));
			break;
		case STEP_CHDIR:
			weir_buf_addf(err, "could not enter \"%s\" as user %s", cwd,
				      user_name(drop ? c->uid : geteuid(), name));
			break;
		case STEP_DUP2:
			weir_buf_addstr(err, "could not redirect output");
			break;
		default:
			weir_buf_addf(err, "could not execute \"%s\": %s", argv[0], strerror(ce.err));
			goto out;
		}
		weir_buf_addf(err, " to run \"%s\": %s", argv[0], strerror(ce.err));
		goto out;
	}
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	if (in_fd >= 0)
		close(in_fd);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	free(tzvar);
	return rc;
}

/* ------------------------------------------------------------------ */
/* the server user                                                      */
/* ------------------------------------------------------------------ */

/* Looks a user up by name (name != NULL) or uid; *found says whether it exists. */
static int find_user(const char *name, uid_t uid, bool *found, uid_t *puid, gid_t *pgid,
		     char **pname)
{
	struct passwd pwd, *res = NULL;
	char buf[16384];
	int e;

	e = name ? getpwnam_r(name, &pwd, buf, sizeof(buf), &res)
		 : getpwuid_r(uid, &pwd, buf, sizeof(buf), &res);
	if (e)
		return -e;
	*found = res != NULL;
	if (res) {
		*puid = pwd.pw_uid;
		*pgid = pwd.pw_gid;
		*pname = weir_xstrdup(pwd.pw_name);
	}
	return 0;
}

static int create_os_user(struct weir_cluster *c, struct weir_buf *out, struct weir_buf *err)
{
	static const char *const argv[] = {
		"/usr/sbin/useradd", "--system", "--user-group", "--home-dir", "/nonexistent",
		"--no-create-home", "--shell", "/usr/sbin/nologin", "--comment",
		"weir workflow engine (private PostgreSQL)", WEIR_CLUSTER_OS_USER, NULL,
	};
	struct weir_buf output = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int code = 0, rc;

	/* Concurrent weirs race here: 9 means the name is taken (another one
	 * created it meanwhile); 1 and 10 mean /etc/passwd or /etc/group was
	 * locked by another useradd, so try again a few times. */
	for (int attempt = 0; attempt < 5; attempt++) {
		if (attempt)
			sleep_ms(200L << attempt);
		weir_buf_reset(&output);
		rc = run_program(c, argv, false, &output, &code, err);
		if (rc < 0 || (code != 1 && code != 10))
			break;
	}
	if (rc < 0) {
		weir_buf_addf(err, " (create the system user \"%s\" yourself, e.g. useradd --system %s)",
			      WEIR_CLUSTER_OS_USER, WEIR_CLUSTER_OS_USER);
		goto out;
	}
	if (code != 0 && code != 9) {
		weir_buf_addf(err, "could not create the system user \"%s\": useradd exited with status %d",
			      WEIR_CLUSTER_OS_USER, code);
		add_tail(err, "its output", output.buf, output.len);
		rc = WEIR_ECHILD;
		goto out;
	}
	if (code == 0) {
		c->did |= WEIR_CLUSTER_DID_USER;
		weir_buf_addf(out, "created the system user \"%s\"\n", WEIR_CLUSTER_OS_USER);
	}
out:
	weir_buf_release(&output);
	return rc;
}

/*
 * Decides who runs PostgreSQL.  Not root: ourselves.  Root: the owner of
 * an existing data directory (a cluster someone else created keeps its
 * owner), else the `weir` system user, created when missing.
 */
static int resolve_user(struct weir_cluster *c, struct weir_buf *out, struct weir_buf *err)
{
	struct stat st;
	bool found = false;
	char *name = NULL;
	int rc, n;

	free(c->os_user);
	free(c->groups);
	c->os_user = NULL;
	c->groups = NULL;
	c->ngroups = 0;
	if (geteuid() != 0) {
		c->drop = false;
		c->uid = geteuid();
		c->gid = getegid();
		char buf[64];
		c->os_user = weir_xstrdup(user_name(c->uid, buf));
		return 0;
	}
	c->drop = true;
	if (stat(c->data, &st) == 0) {
		if (st.st_uid == 0) {
			weir_buf_addf(err, "the data directory \"%s\" belongs to root, and PostgreSQL refuses to run as root: give it to the \"%s\" user (chown -R %s: \"%s\") or move it away",
				      c->data, WEIR_CLUSTER_OS_USER, WEIR_CLUSTER_OS_USER, c->dir);
			return WEIR_EINVALID;
		}
		rc = find_user(NULL, st.st_uid, &found, &c->uid, &c->gid, &name);
		if (rc < 0 || !found) {
			c->uid = st.st_uid;
			c->gid = st.st_gid;
		}
	} else {
		rc = find_user(WEIR_CLUSTER_OS_USER, 0, &found, &c->uid, &c->gid, &name);
		if (rc == 0 && !found) {
			rc = create_os_user(c, out, err);
			if (rc < 0)
				return rc;
			rc = find_user(WEIR_CLUSTER_OS_USER, 0, &found, &c->uid, &c->gid, &name);
		}
		if (rc < 0 || !found) {
			weir_buf_addf(err, "could not look up the system user \"%s\"%s%s",
				      WEIR_CLUSTER_OS_USER, rc < 0 ? ": " : " after creating it",
				      rc < 0 ? strerror(-rc) : "");
			return rc < 0 ? rc : WEIR_ENOTFOUND;
		}
	}
	if (name) {
		n = 0;
		getgrouplist(name, c->gid, NULL, &n);
		if (n < 1)
			n = 1;
		c->groups = weir_xcalloc((size_t)n, sizeof(gid_t));
		if (getgrouplist(name, c->gid, c->groups, &n) < 0) {
			n = 1;
			c->groups[0] = c->gid;
		}
		c->ngroups = n;
		c->os_user = name;
	} else {
		c->groups = weir_xcalloc(1, sizeof(gid_t));
		c->groups[0] = c->gid;
		c->ngroups = 1;
		c->os_user = weir_xasprintf("uid %u", (unsigned)c->uid);
	}
	return 0;
}

/* Mode bits only: ACLs are not consulted (see docs/internals/cluster.md). */
static bool can_search(const struct weir_cluster *c, const struct stat *st)
{
	if (st->st_uid == c->uid)
		return st->st_mode & S_IXUSR;
	if (st->st_gid == c->gid)
		return st->st_mode & S_IXGRP;
	for (int i = 0; i < c->ngroups; i++)
		if (st->st_gid == c->groups[i])
			return st->st_mode & S_IXGRP;
	return st->st_mode & S_IXOTH;
}

/*
 * As root, the server user must be able to walk down to WEIR_HOME: check
 * every directory from / to the deepest existing part of it (directories
 * we create ourselves are made traversable).
 */
static int check_reachable(struct weir_cluster *c, struct weir_buf *err)
{
	char *p = weir_xstrdup(c->home), real[PATH_MAX], owner[64];
	struct stat st;
	int rc = 0;

	while (stat(p, &st) < 0) {
		char *slash = strrchr(p, '/');
		if (!slash || slash == p) {
			p[1] = '\0';
			break;
		}
		*slash = '\0';
	}
	if (!realpath(p, real)) {
		rc = -errno;
		weir_buf_addf(err, "could not resolve \"%s\": %s", p, strerror(-rc));
		goto out;
	}
	for (size_t i = 1, len = strlen(real);; i++) {
		if (i < len && real[i] != '/')
			continue;
		char save = real[i];
		real[i] = '\0';
		if (stat(i == 0 ? "/" : real, &st) == 0 && S_ISDIR(st.st_mode) && !can_search(c, &st)) {
			char *shown = weir_xstrdup(real);
			real[i] = save;
			weir_buf_addf(err, "the \"%s\" user, which runs PostgreSQL, cannot enter \"%s\" (mode %04o, owner %s) on the way to WEIR_HOME \"%s\": make it traversable (chmod o+x \"%s\") or choose another WEIR_HOME",
				      c->os_user, shown, (unsigned)(st.st_mode & 07777),
				      user_name(st.st_uid, owner), c->home, shown);
			free(shown);
			rc = WEIR_EINVALID;
			goto out;
		}
		real[i] = save;
		if (i >= len)
			break;
	}
out:
	free(p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* directories, lock, files                                             */
/* ------------------------------------------------------------------ */

/* mkdir -p path; directories it creates get exactly mode. */
static int make_home(struct weir_cluster *c, struct weir_buf *err)
{
	char *p = weir_xstrdup(c->home);
	mode_t mode = c->drop ? 0755 : 0700;
	int rc = 0;

	for (char *s = p + 1;; s++) {
		if (*s && *s != '/')
			continue;
		char save = *s;
		*s = '\0';
		if (mkdir(p, mode) == 0) {
			chmod(p, mode); /* whatever the umask */
		} else if (errno != EEXIST) {
			rc = -errno;
			weir_buf_addf(err, "could not create directory \"%s\" for WEIR_HOME: %s", p,
				      strerror(-rc));
			break;
		}
		*s = save;
		if (!save)
			break;
	}
	free(p);
	return rc;
}

/* A directory of the server user with exactly mode 0700 (fixed if not). */
static int make_server_dir(struct weir_cluster *c, const char *path, struct weir_buf *err)
{
	struct stat st;
	int rc = 0;

	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		weir_buf_addf(err, "could not create directory \"%s\": %s", path, strerror(-rc));
		return rc;
	}
	if (stat(path, &st) < 0) {
		rc = -errno;
	} else if (!S_ISDIR(st.st_mode)) {
		rc = -ENOTDIR;
	} else if (c->drop && (st.st_uid != c->uid || st.st_gid != c->gid) &&
		   chown(path, c->uid, c->gid) < 0) {
		rc = -errno;
	} else if ((st.st_mode & 07777) != 0700 && chmod(path, 0700) < 0) {
		rc = -errno;
	}
	if (rc < 0)
		weir_buf_addf(err, "could not prepare directory \"%s\" for user %s: %s", path,
			      c->os_user, strerror(-rc));
	return rc;
}

static int lock_cluster(struct weir_cluster *c, struct weir_buf *err)
{
	char *path = path_join(c->dir, ".lock");
	int64_t t0 = weir_mono_ms();
	int fd, rc = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		weir_buf_addf(err, "could not open lock file \"%s\": %s", path, strerror(-rc));
		goto out;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = -errno;
			weir_buf_addf(err, "could not lock \"%s\": %s", path, strerror(-rc));
			goto out;
		}
		if (weir_mono_ms() - t0 > LOCK_WAIT_MS) {
			weir_buf_addf(err, "another weir process has held \"%s\" for %d s while starting or stopping the cluster: wait for it, or stop it",
				      path, LOCK_WAIT_MS / 1000);
			rc = WEIR_ETIMEDOUT;
			goto out;
		}
		sleep_ms(50);
	}
	c->lock_fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static void unlock_cluster(struct weir_cluster *c)
{
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	c->lock_fd = -1;
}

/* Writes path atomically (temporary file + rename), owned by the server user. */
static int write_server_file(struct weir_cluster *c, const char *path, const char *text,
			     struct weir_buf *err)
{
	char *tmp = weir_xasprintf("%s.tmp", path);
	size_t len = strlen(text), off = 0;
	int fd, rc = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	if ((c->drop && fchown(fd, c->uid, c->gid) < 0) || fsync(fd) < 0) {
		rc = -errno;
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		rc = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		unlink(tmp);
		weir_buf_addf(err, "could not write \"%s\": %s", path, strerror(-rc));
	}
	free(tmp);
	return rc;
}

/* weir.conf: the settings weir owns, rewritten at every start (WEIR_HOME may have moved). */
static int write_settings(struct weir_cluster *c, struct weir_buf *err)
{
	struct weir_buf t = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char *path = path_join(c->data, "weir.conf");
	int rc;

	weir_buf_addstr(&t, "# weir.conf: written by weir at every start of its private cluster;\n"
			    "# edits here are lost.  postgresql.conf includes it at its end, and\n"
			    "# postgresql.auto.conf (ALTER SYSTEM) still wins.  listen_addresses\n"
			    "# and port are also given on the command line, so they cannot change.\n"
			    "unix_socket_directories = '");
	for (const char *p = c->run; *p; p++) {
		if (*p == '\'')
			weir_buf_addch(&t, '\'');
		weir_buf_addch(&t, *p);
	}
	weir_buf_addstr(&t, "'\n"
			    "unix_socket_permissions = 0700\n"
			    "listen_addresses = ''\n"
			    "fsync = on\n"
			    "synchronous_commit = on\n"
			    "full_page_writes = on\n"
			    "logging_collector = off\n"
			    "log_line_prefix = '%m [%p] '\n");
	rc = write_server_file(c, path, t.buf, err);
	weir_buf_release(&t);
	free(path);
	return rc;
}

/* ------------------------------------------------------------------ */
/* processes of the cluster                                             */
/* ------------------------------------------------------------------ */

struct pm_info {
	bool present;    /* postmaster.pid exists */
	long pid;        /* its first line (0 when unreadable) */
	char status[16]; /* its eighth line: starting, stopping, ready, standby */
};

/*
 * Is pid a PostgreSQL process of the data directory data_real?  Every
 * server process chdir()s into its data directory, so its cwd names it.
 * A zombie has no cwd and a reused pid has another comm or cwd.
 */
static bool is_cluster_process(long pid, const char *data_real)
{
	char path[64], buf[PATH_MAX];
	ssize_t n;
	int fd;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (strcmp(buf, "postgres\n") != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/cwd", pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, data_real) == 0;
}

/* Processes of this cluster, other than the running postmaster except. */
static size_t find_cluster_processes(const char *data_real, long except, long *pids, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == except || pid == (long)getpid())
			continue;
		if (!is_cluster_process(pid, data_real))
			continue;
		if (n < max)
			pids[n] = pid;
		n++;
	}
	closedir(d);
	return n < max ? n : max;
}

static int read_pidfile(const struct weir_cluster *c, struct pm_info *pm, struct weir_buf *err)
{
	struct weir_buf b = WEIR_BUF_INIT(8192);
	char *path = path_join(c->data, "postmaster.pid");
	const char *line = NULL;
	int rc;

	memset(pm, 0, sizeof(*pm));
	rc = weir_buf_read_file(&b, path);
	if (rc == -ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		weir_buf_addf(err, "could not read \"%s\": %s", path, weir_strerror(rc));
		goto out;
	}
	pm->present = true;
	pm->pid = strtol(b.buf, NULL, 10);
	line = b.buf;
	for (int i = 1; i < 8 && line; i++) {
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (line) {
		size_t n = strcspn(line, " \n");
		snprintf(pm->status, sizeof(pm->status), "%.*s", (int)n, line);
	}
out:
	weir_buf_release(&b);
	free(path);
	return rc;
}

static int not_ours(const struct weir_cluster *c, struct weir_buf *err)
{
	struct stat st;
	char buf[64];
	const char *owner = stat(c->dir, &st) == 0 ? user_name(st.st_uid, buf) : "another user";

	weir_buf_addf(err, "the cluster in \"%s\" belongs to %s: run weir as that user or as root",
		      c->dir, owner);
	return WEIR_EINVALID;
}

/*
 * Works out the state; fills pm and, when the data directory exists, real
 * (its resolved path).  Changes nothing.
 */
static int probe(const struct weir_cluster *c, enum weir_cluster_state *state,
		 struct pm_info *pm, char real[PATH_MAX], struct weir_buf *err)
{
	struct weir_buf ver = WEIR_BUF_INIT(64);
	char *path = NULL;
	struct stat st;
	int rc = 0;

	memset(pm, 0, sizeof(*pm));
	real[0] = '\0';
	if (stat(c->data, &st) < 0) {
		rc = -errno;
		if (rc == -ENOENT) {
			*state = WEIR_CLUSTER_ABSENT;
			return 0;
		}
		if (rc == -EACCES)
			return not_ours(c, err);
		weir_buf_addf(err, "could not examine the data directory \"%s\": %s", c->data,
			      strerror(-rc));
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		weir_buf_addf(err, "\"%s\" is not a directory: move it away to let weir create its cluster there",
			      c->data);
		return WEIR_EINVALID;
	}
	if (geteuid() != 0 && st.st_uid != geteuid())
		return not_ours(c, err);
	path = path_join(c->data, "PG_VERSION");
	rc = weir_buf_read_file(&ver, path);
	weir_buf_rtrim(&ver);
	if (rc == -ENOENT) {
		weir_buf_addf(err, "the directory \"%s\" is not a PostgreSQL data directory (it has no PG_VERSION): move it away to let weir create a new cluster",
			      c->data);
		rc = WEIR_EINVALID;
		goto out;
	}
	if (rc < 0) {
		weir_buf_addf(err, "could not read \"%s\": %s", path, weir_strerror(rc));
		goto out;
	}
	if (strcmp(ver.buf, WEIR_CLUSTER_PG_MAJOR) != 0) {
		weir_buf_addf(err, "the cluster in \"%s\" was created by PostgreSQL %s, but weir runs PostgreSQL %s: upgrade it with pg_upgrade, or move it away",
			      c->data, ver.buf, WEIR_CLUSTER_PG_MAJOR);
		rc = WEIR_EINVALID;
		goto out;
	}
	if (!realpath(c->data, real)) {
		rc = -errno;
		weir_buf_addf(err, "could not resolve \"%s\": %s", c->data, strerror(-rc));
		goto out;
	}
	rc = read_pidfile(c, pm, err);
	if (rc < 0)
		goto out;
	*state = pm->present && is_cluster_process(pm->pid, real) ? WEIR_CLUSTER_RUNNING
								  : WEIR_CLUSTER_STOPPED;
out:
	weir_buf_release(&ver);
	free(path);
	return rc;
}

/* Waits until pid is no longer a process of the cluster; false on timeout. */
static bool wait_gone(long pid, const char *real, long timeout_ms)
{
	int64_t t0 = weir_mono_ms();
	long delay = 10;

	while (is_cluster_process(pid, real)) {
		if (weir_mono_ms() - t0 > timeout_ms)
			return false;
		sleep_ms(delay);
		delay = delay * 2 > 100 ? 100 : delay * 2;
	}
	return true;
}

/* Waits until the postmaster says "ready" in its pid file. */
static int wait_ready(struct weir_cluster *c, const char *real, long timeout_ms, off_t log_from,
		      struct weir_buf *err)
{
	int64_t t0 = weir_mono_ms();
	struct pm_info pm;
	int rc;

	for (;;) {
		rc = read_pidfile(c, &pm, err);
		if (rc < 0)
			return rc;
		if (!pm.present || !is_cluster_process(pm.pid, real)) {
			weir_buf_addf(err, "PostgreSQL (data directory \"%s\") stopped while starting",
				      c->data);
			add_log_tail(err, c, log_from);
			return WEIR_ECHILD;
		}
		if (!strcmp(pm.status, "ready") || !strcmp(pm.status, "standby")) {
			c->pid = pm.pid;
			return 0;
		}
		if (weir_mono_ms() - t0 > timeout_ms) {
			weir_buf_addf(err, "PostgreSQL (pid %ld) is still starting after %ld s (state \"%s\")",
				      pm.pid, timeout_ms / 1000, pm.status);
			add_log_tail(err, c, log_from);
			return WEIR_ETIMEDOUT;
		}
		sleep_ms(100);
	}
}

/* ------------------------------------------------------------------ */
/* start                                                                */
/* ------------------------------------------------------------------ */

static int check_programs(const struct weir_cluster *c, struct weir_buf *err)
{
	static const char *const progs[] = {"initdb", "pg_ctl", "postgres"};

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(progs); i++) {
		char *p = path_join(c->bindir, progs[i]);
		bool ok = access(p, X_OK) == 0;
		if (!ok)
			weir_buf_addf(err, "PostgreSQL %s is not installed (\"%s\": %s): install the packages postgresql-%s and postgresql-%s-postgis-3 (scripts/install-deps.sh), or set database_url",
				      WEIR_CLUSTER_PG_MAJOR, p, strerror(errno), WEIR_CLUSTER_PG_MAJOR,
				      WEIR_CLUSTER_PG_MAJOR);
		free(p);
		if (!ok)
			return WEIR_ENOTFOUND;
	}
	return 0;
}

static int create_cluster(struct weir_cluster *c, struct weir_buf *out, struct weir_buf *err)
{
	struct weir_buf output = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char *tmp = weir_xasprintf("%s.tmp", c->data);
	char *initdb = path_join(c->bindir, "initdb");
	char *conf = path_join(tmp, "postgresql.conf");
	const char *argv[] = {
		initdb, "-D", tmp, "-U", WEIR_CLUSTER_ROLE, "-E", "UTF8", "--locale=C.UTF-8",
		"--auth-local=trust", "--auth-host=reject", "--no-instructions", NULL,
	};
	static const char include[] = "\n# weir: the settings weir manages (rewritten at every start)\n"
				      "include 'weir.conf'\n";
	struct stat st;
	int code = 0, rc, fd = -1;
	char *title;

	/* A data.tmp is what an interrupted initdb left: start over. */
	if (lstat(tmp, &st) == 0 && nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		rc = -errno;
		weir_buf_addf(err, "could not remove the unfinished cluster \"%s\": %s", tmp,
			      strerror(-rc));
		goto out;
	}
	rc = run_program(c, argv, true, &output, &code, err);
	if (rc < 0)
		goto out;
	if (code != 0) {
		weir_buf_addf(err, "could not create a PostgreSQL cluster in \"%s\": initdb exited with status %d",
			      tmp, code);
		title = weir_xstrdup("its output");
		add_tail(err, title, output.buf, output.len);
		free(title);
		rc = WEIR_ECHILD;
		goto out;
	}
	fd = open(conf, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || write(fd, include, sizeof(include) - 1) != (ssize_t)(sizeof(include) - 1) ||
	    fsync(fd) < 0) {
		rc = -errno;
		weir_buf_addf(err, "could not write \"%s\": %s", conf, strerror(-rc));
		goto out;
	}
	if (rename(tmp, c->data) < 0) {
		rc = -errno;
		weir_buf_addf(err, "could not rename \"%s\" to \"%s\": %s", tmp, c->data,
			      strerror(-rc));
		goto out;
	}
	{
		int dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	c->did |= WEIR_CLUSTER_DID_CREATE;
	weir_buf_addf(out, "created a PostgreSQL %s cluster in \"%s\" (server user %s)\n",
		      WEIR_CLUSTER_PG_MAJOR, c->data, c->os_user);
out:
	if (fd >= 0)
		close(fd);
	weir_buf_release(&output);
	free(conf);
	free(initdb);
	free(tmp);
	return rc;
}

/*
 * Waits for processes a dead postmaster left behind (killed with -9, its
 * backends notice at their next wait; a busy one may run on).  While any
 * exists PostgreSQL refuses to start, rightly: they still use the old
 * shared memory.  After ORPHAN_SIGQUIT_MS we end them with SIGQUIT, which
 * is what PostgreSQL's own hint asks the administrator to do.
 */
static int wait_orphans(struct weir_cluster *c, const char *real, int64_t t0, bool *signalled,
			struct weir_buf *out, struct weir_buf *err)
{
	long pids[MAX_ORPHANS], delay = 20;
	int64_t w0 = weir_mono_ms();
	size_t n, most = 0;

	for (;;) {
		int64_t now = weir_mono_ms();
		n = find_cluster_processes(real, 0, pids, MAX_ORPHANS);
		if (!n)
			break;
		most = n > most ? n : most;
		c->did |= WEIR_CLUSTER_DID_ORPHANS;
		if (!*signalled && now - t0 >= ORPHAN_SIGQUIT_MS) {
			for (size_t i = 0; i < n; i++)
				kill((pid_t)pids[i], SIGQUIT);
			*signalled = true;
			weir_buf_addf(out, "ended %zu lingering process%s of the previous server (SIGQUIT)\n",
				      n, n == 1 ? "" : "es");
		}
		if (now - t0 >= START_BUDGET_MS) {
			weir_buf_addf(err, "processes of a previous PostgreSQL server still use \"%s\" after %d s (pid",
				      c->data, START_BUDGET_MS / 1000);
			for (size_t i = 0; i < n; i++)
				weir_buf_addf(err, "%s %ld", i ? "," : "", pids[i]);
			weir_buf_addstr(err, "): stop them (kill -QUIT PID) and start again");
			return WEIR_ETIMEDOUT;
		}
		sleep_ms(delay);
		delay = delay * 2 > 500 ? 500 : delay * 2;
	}
	if (most)
		weir_buf_addf(out, "waited %ld ms for %zu process%s of the previous server to exit\n",
			      (long)(weir_mono_ms() - w0), most, most == 1 ? "" : "es");
	return 0;
}

/* Is pid a live process (not a zombie nobody has reaped yet)? */
static bool pid_alive(long pid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* "pid (comm) S ...": comm may hold anything */
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/*
 * Removes the lock files a dead postmaster left: postmaster.pid and the
 * socket's lock file (both name its pid; PostgreSQL refuses to start
 * while that pid lives, and a killed postmaster can stay a zombie for a
 * while when nobody reaps it).  The caller proved that no process of the
 * cluster is alive, so whatever pid they name is not ours.
 */
static int remove_stale_locks(struct weir_cluster *c, struct weir_buf *out, struct weir_buf *err)
{
	char *paths[2] = {path_join(c->data, "postmaster.pid"), path_join(c->run, SOCKET_NAME ".lock")};
	struct weir_buf text = WEIR_BUF_INIT(8192);
	int rc = 0;

	for (int i = 0; i < 2 && rc == 0; i++) {
		long pid;
		weir_buf_reset(&text);
		rc = weir_buf_read_file(&text, paths[i]);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc < 0) {
			weir_buf_addf(err, "could not read \"%s\": %s", paths[i], weir_strerror(rc));
			break;
		}
		if (unlink(paths[i]) < 0 && errno != ENOENT) {
			rc = -errno;
			weir_buf_addf(err, "could not remove the stale \"%s\": %s", paths[i],
				      strerror(-rc));
			break;
		}
		if (i == 0) {
			pid = strtol(text.buf, NULL, 10);
			c->did |= WEIR_CLUSTER_DID_STALE;
			weir_buf_addf(out, "removed a stale postmaster.pid (pid %ld %s)\n", pid,
				      pid_alive(pid) ? "belongs to another program" : "is not running");
		}
	}
	weir_buf_release(&text);
	free(paths[0]);
	free(paths[1]);
	return rc;
}

static void rotate_log(const struct weir_cluster *c)
{
	if (file_size(c->log) > LOG_ROTATE_BYTES) {
		char *old = weir_xasprintf("%s.1", c->log);
		rename(c->log, old);
		free(old);
	}
}

static int start_server(struct weir_cluster *c, const char *real, struct weir_buf *out,
			struct weir_buf *err)
{
	struct weir_buf output = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), logtext = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char *pg_ctl = path_join(c->bindir, "pg_ctl");
	char opts[64];
	const char *argv[] = {
		pg_ctl, "start", "-D", c->data, "-l", c->log, "-w", "-t", PG_CTL_WAIT_S, "-s",
		"-o", opts, NULL,
	};
	int64_t t0 = weir_mono_ms();
	bool signalled = false;
	long delay = 100;
	int rc, code = 0, attempt;
	off_t from = 0;

	/* The security-relevant settings go on the command line, which beats
	 * postgresql.auto.conf: never a TCP listener, always our socket name. */
	snprintf(opts, sizeof(opts), "-c listen_addresses= -p %d", WEIR_CLUSTER_PORT);
	rc = write_settings(c, err);
	if (rc < 0)
		goto out;
	rotate_log(c);
	for (attempt = 1;; attempt++) {
		enum weir_cluster_state state;
		struct pm_info pm;
		char real2[PATH_MAX];

		rc = wait_orphans(c, real, t0, &signalled, out, err);
		if (rc < 0)
			goto out;
		rc = remove_stale_locks(c, out, err);
		if (rc < 0)
			goto out;
		from = file_size(c->log);
		weir_buf_reset(&output);
		rc = run_program(c, argv, true, &output, &code, err);
		if (rc < 0)
			goto out;
		if (code == 0)
			break;
		/* pg_ctl may give up waiting while a long recovery goes on. */
		rc = probe(c, &state, &pm, real2, err);
		if (rc < 0)
			goto out;
		if (state == WEIR_CLUSTER_RUNNING) {
			rc = wait_ready(c, real, READY_WAIT_MS, from, err);
			if (rc < 0)
				goto out;
			break;
		}
		/* A dead server's processes may still hold the old shared
		 * memory for a moment after they stopped being visible to us. */
		weir_buf_reset(&logtext);
		read_log_since(c, from, &logtext);
		if (strstr(logtext.buf, "pre-existing shared memory block") &&
		    weir_mono_ms() - t0 + delay < START_BUDGET_MS) {
			sleep_ms(delay);
			delay = delay * 2 > 2000 ? 2000 : delay * 2;
			continue;
		}
		weir_buf_addf(err, "could not start PostgreSQL in \"%s\": pg_ctl exited with status %d",
			      c->data, code);
		if (attempt > 1)
			weir_buf_addf(err, " (attempt %d, after %ld ms)", attempt,
				      (long)(weir_mono_ms() - t0));
		add_tail(err, "pg_ctl said", output.buf, output.len);
		add_log_tail(err, c, from);
		rc = WEIR_ECHILD;
		goto out;
	}
	rc = wait_ready(c, real, READY_WAIT_MS, from, err);
	if (rc < 0)
		goto out;
	c->did |= WEIR_CLUSTER_DID_START;
	weir_buf_addf(out, "started PostgreSQL (pid %ld)", c->pid);
	if (attempt > 1)
		weir_buf_addf(out, " at attempt %d", attempt);
	weir_buf_addch(out, '\n');
out:
	weir_buf_release(&output);
	weir_buf_release(&logtext);
	free(pg_ctl);
	return rc;
}

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/*
 * Runs one statement: 0 (WEIR_ENOTFOUND for a query without rows), or
 * WEIR_EDB with "could not WHAT: server message" in err and the SQLSTATE
 * in state.
 */
static int exec_sql(PGconn *conn, const char *sql, const char *what, char state[6],
		    struct weir_buf *err)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType s = PQresultStatus(res);
	int rc = 0;

	state[0] = '\0';
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		snprintf(state, 6, "%s", st ? st : "");
		weir_buf_addf(err, "could not %s: %s", what, msg ? msg : PQerrorMessage(conn));
		weir_buf_rtrim(err);
		rc = WEIR_EDB;
	} else if (s == PGRES_TUPLES_OK && PQntuples(res) == 0) {
		rc = WEIR_ENOTFOUND;
	}
	PQclear(res);
	return rc;
}

static PGconn *connect_db(const struct weir_cluster *c, const char *conninfo, struct weir_buf *err)
{
	PGconn *conn = PQconnectdb(conninfo);

	if (PQstatus(conn) != CONNECTION_OK) {
		weir_buf_addf(err, "could not connect to the private cluster (%s): %s", conninfo,
			      PQerrorMessage(conn));
		weir_buf_rtrim(err);
		add_log_tail(err, c, file_size(c->log) > 4096 ? file_size(c->log) - 4096 : 0);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, quiet_notices, NULL);
	return conn;
}

/* Creates database weir and PostGIS in it, when missing. */
static int ensure_database(struct weir_cluster *c, struct weir_buf *out, struct weir_buf *err)
{
	char *admin = make_conninfo(c, "postgres");
	size_t mark = err->len;
	char state[6];
	PGconn *conn;
	int rc;

	conn = connect_db(c, admin, err);
	if (!conn) {
		rc = WEIR_ECONN;
		goto out;
	}
	rc = exec_sql(conn, "SELECT 1 FROM pg_database WHERE datname = '" WEIR_CLUSTER_DATABASE "'",
		      "look for database " WEIR_CLUSTER_DATABASE, state, err);
	if (rc == WEIR_ENOTFOUND) {
		rc = exec_sql(conn, "CREATE DATABASE " WEIR_CLUSTER_DATABASE,
			      "create database " WEIR_CLUSTER_DATABASE, state, err);
		if (rc == 0) {
			c->did |= WEIR_CLUSTER_DID_DATABASE;
			weir_buf_addstr(out, "created database \"" WEIR_CLUSTER_DATABASE "\"\n");
		} else if (!strcmp(state, "42P04")) {
			/* duplicate_database: someone created it meanwhile. */
			weir_buf_truncate(err, mark);
			rc = 0;
		}
	}
	PQfinish(conn);
	if (rc < 0)
		goto out;
	conn = connect_db(c, c->conninfo, err);
	if (!conn) {
		rc = WEIR_ECONN;
		goto out;
	}
	rc = exec_sql(conn, "CREATE EXTENSION IF NOT EXISTS postgis", "create the PostGIS extension",
		      state, err);
	if (rc < 0 && strstr(err->buf + mark, "not available"))
		weir_buf_addf(err, " (install the package postgresql-%s-postgis-3)",
			      WEIR_CLUSTER_PG_MAJOR);
	PQfinish(conn);
out:
	free(admin);
	return rc;
}

static int migrate(struct weir_cluster *c, struct weir_buf *out, struct weir_buf *err)
{
	struct weir_store *st = NULL;
	int rc;

	rc = weir_pg_store_open(c->conninfo, &st, err);
	if (rc < 0)
		return rc;
	rc = weir_store_migrate(st, out, err);
	weir_store_close(st);
	return rc;
}

int weir_cluster_start(struct weir_cluster *c, struct weir_buf *out, struct weir_buf *err)
{
	int64_t t0 = weir_mono_ms();
	enum weir_cluster_state state;
	struct pm_info pm;
	char real[PATH_MAX];
	int rc;

	c->did = 0;
	c->pid = 0;
	rc = check_programs(c, err);
	if (rc < 0)
		goto out;
	rc = resolve_user(c, out, err);
	if (rc < 0)
		goto out;
	if (c->drop) {
		rc = check_reachable(c, err);
		if (rc < 0)
			goto out;
	}
	rc = make_home(c, err);
	if (rc == 0)
		rc = make_server_dir(c, c->dir, err);
	if (rc == 0)
		rc = make_server_dir(c, c->run, err);
	if (rc == 0)
		rc = lock_cluster(c, err);
	if (rc < 0)
		goto out;
	rc = probe(c, &state, &pm, real, err);
	if (rc < 0)
		goto out;
	if (state == WEIR_CLUSTER_RUNNING && !strcmp(pm.status, "stopping")) {
		/* Someone else (pg_ctl by hand) is stopping it: let it finish. */
		if (!wait_gone(pm.pid, real, STOP_FAST_MS)) {
			weir_buf_addf(err, "PostgreSQL (pid %ld) has been shutting down for %d s: wait for it, or stop it",
				      pm.pid, STOP_FAST_MS / 1000);
			rc = WEIR_ETIMEDOUT;
			goto out;
		}
		state = WEIR_CLUSTER_STOPPED;
	}
	if (state == WEIR_CLUSTER_RUNNING) {
		rc = wait_ready(c, real, READY_WAIT_MS, file_size(c->log), err);
		if (rc < 0)
			goto out;
		weir_buf_addf(out, "PostgreSQL is already running (pid %ld)\n", c->pid);
	} else {
		if (state == WEIR_CLUSTER_ABSENT) {
			rc = create_cluster(c, out, err);
			if (rc == 0 && !realpath(c->data, real))
				rc = -errno;
			if (rc < 0)
				goto out;
		}
		rc = start_server(c, real, out, err);
		if (rc < 0)
			goto out;
	}
	rc = ensure_database(c, out, err);
	if (rc == 0)
		rc = migrate(c, out, err);
out:
	unlock_cluster(c);
	c->start_ms = (long)(weir_mono_ms() - t0);
	return rc;
}

/* ------------------------------------------------------------------ */
/* stop and status                                                      */
/* ------------------------------------------------------------------ */

int weir_cluster_stop(struct weir_cluster *c, struct weir_buf *err)
{
	enum weir_cluster_state state;
	struct pm_info pm;
	char real[PATH_MAX];
	int rc;

	c->did = 0;
	c->pid = 0;
	rc = probe(c, &state, &pm, real, err);
	if (rc < 0 || state == WEIR_CLUSTER_ABSENT)
		return rc;
	rc = lock_cluster(c, err);
	if (rc < 0)
		return rc;
	rc = probe(c, &state, &pm, real, err);
	if (rc < 0 || state != WEIR_CLUSTER_RUNNING)
		goto out;
	/* SIGINT is PostgreSQL's fast shutdown: end sessions, checkpoint, exit.
	 * We signal the pid ourselves rather than run `pg_ctl stop`, which
	 * would signal whatever pid the file names. */
	if (kill((pid_t)pm.pid, SIGINT) < 0 && errno != ESRCH) {
		rc = -errno;
		weir_buf_addf(err, "could not signal PostgreSQL (pid %ld): %s", pm.pid, strerror(-rc));
		goto out;
	}
	if (!wait_gone(pm.pid, real, STOP_FAST_MS)) {
		/* SIGQUIT: immediate shutdown; the next start recovers from WAL. */
		kill((pid_t)pm.pid, SIGQUIT);
		c->did |= WEIR_CLUSTER_DID_FORCE;
		if (!wait_gone(pm.pid, real, STOP_IMMEDIATE_MS)) {
			weir_buf_addf(err, "PostgreSQL (pid %ld) did not stop within %d s; see \"%s\"",
				      pm.pid, (STOP_FAST_MS + STOP_IMMEDIATE_MS) / 1000, c->log);
			rc = WEIR_ETIMEDOUT;
			goto out;
		}
	}
	c->did |= WEIR_CLUSTER_DID_STOP;
	c->pid = pm.pid;
out:
	unlock_cluster(c);
	return rc;
}

int weir_cluster_status(struct weir_cluster *c, enum weir_cluster_state *state, long *pid,
			struct weir_buf *err)
{
	struct pm_info pm;
	char real[PATH_MAX];
	int rc;

	rc = probe(c, state, &pm, real, err);
	if (rc < 0)
		return rc;
	*pid = *state == WEIR_CLUSTER_RUNNING ? pm.pid : 0;
	c->pid = *pid;
	return 0;
}
