/*
 * proc.c: starting, watching and stopping child processes.
 *
 * weir_child_start() follows git's start_command() and libuv's uv_spawn(),
 * with glibc's posix_spawn() for the start itself:
 *
 *   parent, before clone     resolve argv[0] in PATH, open /dev/null,
 *                            compute rlimits, map a stack for the child,
 *                            block every signal
 *   clone(CLONE_VM | CLONE_VFORK)
 *   child                    [on its own stack, in our memory; async-
 *                            signal-safe calls only, see below]
 *                            default dispositions, setsid, stdio, keep_fds,
 *                            chdir, rlimits, groups/gid/uid, empty mask,
 *                            execve; on any failure write {step, errno}
 *                            into the parent's record and _exit(127)
 *   parent                   resumes once the child has exec'd or exited
 *                            (CLONE_VFORK); restore the mask; a record =
 *                            the start failed: waitpid the child and
 *                            return -errno with a message
 *
 * Why clone(CLONE_VM | CLONE_VFORK) and not fork(): fork() copies the page
 * tables of the whole scheduler (dozens of shared libraries, its heap), and
 * afterwards every page the scheduler writes takes a copy-on-write fault
 * until the child has exec'd.  Measured on the 2-core VM (docs/perf.md),
 * fork() alone cost the scheduler ~0.8 ms per task.  Sharing the memory
 * costs nothing, and since the parent is suspended until the exec, the
 * child's failure record can simply be written into the parent's memory
 * (what posix_spawn does); no error pipe is needed, and the exec status is
 * known when start() returns.
 *
 * The price of sharing memory: the child must not write anything of ours
 * but its own stack and the failure record.  In particular it must not call
 * glibc's setuid()/setgid()/setgroups(): in a multi-threaded process they
 * signal every thread of the *parent* (nptl's setxid broadcast); the child
 * uses the raw system calls, which act on the calling thread only (the
 * child has one).  errno is the parent thread's (same thread pointer): the
 * parent reads it only when clone itself failed.  The child functions are
 * not instrumented by ASan (they run on a stack ASan does not know).
 *
 * Why everything is built before clone: the parent is multi-threaded (the
 * API threads, libpq, the allocator), and another thread may hold malloc's
 * or stdio's locks at any moment.  Only async-signal-safe functions may
 * run in the child.  The child uses open, read, close, sigaction, setsid,
 * fcntl, dup2, close_range, chdir, setrlimit, setgroups, setgid, setuid,
 * pthread_sigmask, execve and _exit.  setrlimit, setgroups and close_range
 * are not on POSIX's list but are single system calls, with no lock and no
 * allocation.
 *
 * Why signals are blocked around clone: until the child has reset the
 * dispositions, a signal would run one of the scheduler's handlers in the
 * child (the SIGCHLD handler would write into the scheduler's self-pipe,
 * a SIGTERM handler would start a "graceful shutdown" in our memory).  The
 * child resets every disposition to SIG_DFL (including SIG_IGN, which
 * execve would otherwise keep) and only then unblocks.  Without
 * CLONE_SIGHAND the child has its own copy of the handler table, so this
 * does not touch ours.
 *
 * Reaping: weir_proc_reap() calls waitpid(-1): it reaps every child of the
 * process, so the process must leave all reaping to it (no system(), no
 * other waitpid(-1) loop).  weir_child_start() waits for a child whose exec
 * failed itself, before returning, so such a child is never reported.
 */
#include "engine/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"

#include "common/banned.h"

extern char **environ;

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* The child's stack: its frames, glibc's sigaction and execve wrappers.
 * Mapped per start (lazily backed: only touched pages cost memory). */
#define CHILD_STACK_SIZE (256 * 1024)

static unsigned long long parse_start_ticks(char *buf, ssize_t n);

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ------------------------------------------------------------------ */
/* The plan: everything the child needs, computed before clone         */
/* ------------------------------------------------------------------ */

/* The step that failed in the child, reported to the parent. */
enum child_step {
	STEP_SIGMASK,
	STEP_SETSID,
	STEP_DUP,
	STEP_KEEP_FD,
	STEP_CHDIR,
	STEP_RLIMIT,
	STEP_SETGROUPS,
	STEP_SETGID,
	STEP_SETUID,
	STEP_EXEC,
};

/* What the child writes into the parent's memory when a step fails. */
struct child_err {
	int failed; /* 0 until the child fails */
	int step;  /* enum child_step */
	int err;   /* errno */
	int which; /* STEP_RLIMIT: index in plan.rl; STEP_KEEP_FD: the fd */
};

struct child_rlimit {
	int resource;
	const char *name;
	struct rlimit lim;
};

struct child_plan {
	const char *path;   /* program after PATH search */
	char *const *argv;
	char *const *envp;
	const char *cwd;    /* NULL = inherit */
	int stdio[3];       /* sources for fds 0, 1 and 2 (/dev/null substituted) */
	int keep[WEIR_CHILD_MAX_KEEP];
	int nkeep;
	volatile struct child_err *err; /* in the parent's frame: the child's report */
	char *stat_buf;     /* want_start_ticks: /proc/self/stat goes here (parent's frame) */
	size_t stat_cap;
	volatile ssize_t *stat_len;
	bool setsid;
	struct child_rlimit rl[4];
	int nrl;
	bool set_groups, set_gid, set_uid;
	uid_t uid;
	gid_t gid;
	struct sigaction dfl; /* SIG_DFL, empty mask */
	sigset_t empty;
};

/*
 * Looks file up in PATH (taken from env when it has one, else from our
 * environment) like execvp, but before the start: returns a malloc'd path, or
 * NULL with errno ENOENT, or EACCES when only non-executable files matched.
 */
static char *search_path(const char *file, const char *const *env)
{
	const char *path = NULL, *p;
	bool saw_eacces = false;
	size_t flen = strlen(file);

	if (env) {
		for (const char *const *e = env; *e; e++) {
			if (!strncmp(*e, "PATH=", 5)) {
				path = *e + 5;
				break;
			}
		}
	} else {
		path = getenv("PATH");
	}
	if (!path)
		path = DEFAULT_PATH;

	for (p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		struct stat st;
		char *cand;

		/* An empty entry means the current directory, as in execvp. */
		if (dlen == 0)
			cand = weir_xasprintf("%s", file);
		else
			cand = weir_xasprintf("%.*s/%.*s", (int)dlen, p, (int)flen, file);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(cand, X_OK) == 0)
				return cand;
			saw_eacces = true;
		}
		free(cand);
		if (!end)
			break;
		p = end;
	}
	errno = saw_eacces ? EACCES : ENOENT;
	return NULL;
}

/* Adds a limit: value clamped to the current hard limit, which an
 * unprivileged process cannot raise anyway. */
static void plan_rlimit(struct child_plan *pl, int resource, const char *name, int64_t value)
{
	struct child_rlimit *r;
	struct rlimit cur;
	rlim_t v;

	if (value <= 0)
		return;
	v = (rlim_t)value;
	if (getrlimit(resource, &cur) < 0)
		cur.rlim_max = RLIM_INFINITY;
	if (cur.rlim_max != RLIM_INFINITY && v > cur.rlim_max)
		v = cur.rlim_max;
	r = &pl->rl[pl->nrl++];
	r->resource = resource;
	r->name = name;
	r->lim.rlim_cur = v;
	r->lim.rlim_max = v;
	/* CPU: soft limit first, so the task gets SIGXCPU one second before
	 * the kernel's SIGKILL at the hard limit. */
	if (resource == RLIMIT_CPU && v != cur.rlim_max)
		r->lim.rlim_max = v + 1;
}

/* ------------------------------------------------------------------ */
/* The child (async-signal-safe only from here to the banner below)    */
/* ------------------------------------------------------------------ */

/* Not instrumented: the child runs on a stack that ASan does not know. */
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_FN __attribute__((no_sanitize_address, noinline))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHILD_FN __attribute__((no_sanitize_address, noinline))
#endif
#endif
#ifndef CHILD_FN
#define CHILD_FN __attribute__((noinline))
#endif

/* Records the failure in the parent's memory (it is suspended until we
 * exit, CLONE_VFORK) and exits. */
CHILD_FN __attribute__((noreturn)) static void child_fail(const struct child_plan *pl, int step,
							   int err, int which)
{
	pl->err->step = step;
	pl->err->err = err;
	pl->err->which = which;
	pl->err->failed = 1;
	_exit(127);
}

/* Moves fd to a number >= 3 (CLOEXEC); returns the new fd. */
CHILD_FN static int child_lift(const struct child_plan *pl, int fd)
{
	int nfd;

	if (fd >= 3)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		child_fail(pl, STEP_DUP, errno, fd);
	return nfd;
}

CHILD_FN __attribute__((noreturn)) static void child_exec(const struct child_plan *pl)
{
	int src[3];

	/*
	 * 0. Our start time, for the parent (want_start_ticks).  Read here,
	 * because the parent reading /proc/PID/stat after we exec'd waits
	 * for the exec to finish loading the program (measured: up to 2 ms
	 * per start on the test VM, docs/perf.md).  The fd is closed at
	 * once, before stdio is arranged.
	 */
	if (pl->stat_buf) {
		int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			*pl->stat_len = read(fd, pl->stat_buf, pl->stat_cap - 1);
			close(fd);
		}
	}

	/*
	 * 1. Default dispositions while every signal is still blocked, so no
	 * handler of the parent ever runs here.  Errors are ignored: SIGKILL
	 * and SIGSTOP cannot be changed and glibc refuses its own internal
	 * signals (32, 33), which it resets by itself.
	 */
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &pl->dfl, NULL);
	}

	/* 2. A new session and process group, so the group can be signalled. */
	if (pl->setsid && setsid() < 0)
		child_fail(pl, STEP_SETSID, errno, 0);

	/*
	 * 3. Stdio.  A source may itself be one of 0, 1, 2 (out_fd = 2 and
	 * err_fd = 1 swaps them; and if the parent had closed its stdio,
	 * /dev/null may sit there).  Lift every such fd above 2
	 * first, then dup2: no dup2 can then overwrite a source that a later
	 * one still needs.  F_DUPFD picks the lowest free number >= 3, and
	 * the keep fds are open, so a lifted fd never lands on one of them.
	 */
	for (int i = 0; i < 3; i++)
		src[i] = child_lift(pl, pl->stdio[i]);
	for (int i = 0; i < 3; i++) {
		/* dup2 clears FD_CLOEXEC on the new fd. */
		if (dup2(src[i], i) < 0)
			child_fail(pl, STEP_DUP, errno, i);
	}

	/*
	 * 4. Exactly the keep fds survive exec.  Weir opens everything
	 * O_CLOEXEC, but libraries may not (and the process may have
	 * inherited fds), so mark everything above 2 close-on-exec (cheap:
	 * one system call, Linux 5.11) and then clear the flag on the keep
	 * fds, which stay at their own numbers.  On older kernels we rely on
	 * O_CLOEXEC alone.
	 */
#ifdef SYS_close_range
	/* The raw system call: glibc only wraps it from 2.34 on. */
	(void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
#endif
	for (int i = 0; i < pl->nkeep; i++) {
		if (fcntl(pl->keep[i], F_SETFD, 0) < 0)
			child_fail(pl, STEP_KEEP_FD, errno, pl->keep[i]);
	}

	/* 5. The directory: before exec, so a relative program path (one
	 * with a '/') is resolved from it, as a shell would. */
	if (pl->cwd && chdir(pl->cwd) < 0)
		child_fail(pl, STEP_CHDIR, errno, 0);

	/* 6. Limits: after the dup2s (RLIMIT_NOFILE below a target number
	 * would make dup2 fail) and before setuid (RLIMIT_NPROC is checked
	 * against the new user). */
	for (int i = 0; i < pl->nrl; i++) {
		if (setrlimit(pl->rl[i].resource, &pl->rl[i].lim) < 0)
			child_fail(pl, STEP_RLIMIT, errno, i);
	}

	/* 7. Identity: groups, then gid, then uid (after setuid we could no
	 * longer change the others).  Raw system calls: glibc's wrappers
	 * would broadcast the change to the parent's threads (see the top). */
	if (pl->set_groups && syscall(SYS_setgroups, pl->set_gid ? 1 : 0, &pl->gid) < 0)
		child_fail(pl, STEP_SETGROUPS, errno, 0);
	if (pl->set_gid && syscall(SYS_setgid, pl->gid) < 0)
		child_fail(pl, STEP_SETGID, errno, 0);
	if (pl->set_uid && syscall(SYS_setuid, pl->uid) < 0)
		child_fail(pl, STEP_SETUID, errno, 0);

	/* 8. An empty mask (execve keeps the mask), then exec.  A signal that
	 * arrived since clone is delivered now, with its default action. */
	errno = pthread_sigmask(SIG_SETMASK, &pl->empty, NULL);
	if (errno)
		child_fail(pl, STEP_SIGMASK, errno, 0);
	execve(pl->path, pl->argv, pl->envp);
	child_fail(pl, STEP_EXEC, errno, 0);
}

CHILD_FN static int child_main(void *arg)
{
	child_exec(arg);
}

/* ------------------------------------------------------------------ */
/* The parent                                                          */
/* ------------------------------------------------------------------ */

static void describe_failure(struct weir_buf *err, const struct child_plan *pl,
			     const struct child_err *ce, const char *prog)
{
	const char *reason = strerror(ce->err);

	if (!err)
		return;
	switch (ce->step) {
	case STEP_EXEC:
		weir_buf_addf(err, "could not execute \"%s\": %s", pl->path, reason);
		break;
	case STEP_CHDIR:
		weir_buf_addf(err, "could not change directory to \"%s\": %s", pl->cwd, reason);
		break;
	case STEP_RLIMIT: {
		int i = (ce->which >= 0 && ce->which < pl->nrl) ? ce->which : 0;
		weir_buf_addf(err, "could not set resource limit %s for \"%s\": %s",
			      pl->rl[i].name, prog, reason);
		break;
	}
	case STEP_SETSID:
		weir_buf_addf(err, "could not start a new session for \"%s\": %s", prog, reason);
		break;
	case STEP_DUP:
		weir_buf_addf(err, "could not set up fd %d for \"%s\": %s", ce->which, prog, reason);
		break;
	case STEP_KEEP_FD:
		weir_buf_addf(err, "could not pass fd %d to \"%s\": %s", ce->which, prog, reason);
		break;
	case STEP_SETGROUPS:
		weir_buf_addf(err, "could not set supplementary groups for \"%s\": %s", prog,
			      reason);
		break;
	case STEP_SETGID:
		weir_buf_addf(err, "could not switch to group %u for \"%s\": %s",
			      (unsigned)pl->gid, prog, reason);
		break;
	case STEP_SETUID:
		weir_buf_addf(err, "could not switch to user %u for \"%s\": %s",
			      (unsigned)pl->uid, prog, reason);
		break;
	case STEP_SIGMASK:
	default:
		weir_buf_addf(err, "could not reset the signal mask for \"%s\": %s", prog, reason);
		break;
	}
}

static pid_t waitpid_noeintr(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	return r;
}

int weir_child_start(struct weir_child *c, struct weir_buf *err)
{
	struct child_plan pl;
	volatile struct child_err ce = {0};
	char statbuf[1024];
	volatile ssize_t statlen = -1;
	char *resolved = NULL;
	const char *prog = NULL;
	int devnull = -1;
	void *stack = MAP_FAILED;
	sigset_t all, old;
	int64_t start_us = 0;
	pid_t pid = -1;
	int rc = 0, status;

	memset(&pl, 0, sizeof(pl));
	pl.err = &ce;
	if (c->want_start_ticks) {
		pl.stat_buf = statbuf;
		pl.stat_cap = sizeof(statbuf);
		pl.stat_len = &statlen;
	}
	if (!c->argv || !c->argv[0] || !c->argv[0][0]) {
		if (err)
			weir_buf_addstr(err, "could not start a process: no program given");
		rc = -EINVAL;
		goto out;
	}
	prog = c->argv[0];

	/* Validate the fds here, where we can still say which one is wrong. */
	for (int i = 0; i < WEIR_CHILD_MAX_KEEP; i++) {
		int fd = c->keep_fds[i];
		if (fd == -1)
			continue;
		if (fd < 3) {
			if (err)
				weir_buf_addf(err, "could not pass fd %d to \"%s\": "
					      "fds 0-2 are stdio, use in_fd/out_fd/err_fd", fd, prog);
			rc = -EINVAL;
			goto out;
		}
		if (fcntl(fd, F_GETFD) < 0) {
			rc = -errno;
			if (err)
				weir_buf_addf(err, "could not pass fd %d to \"%s\": %s", fd, prog,
					      strerror(-rc));
			goto out;
		}
		pl.keep[pl.nkeep++] = fd;
	}
	{
		const int std[3] = {c->in_fd, c->out_fd, c->err_fd};
		for (int i = 0; i < 3; i++) {
			if (std[i] < -1 || (std[i] >= 0 && fcntl(std[i], F_GETFD) < 0)) {
				rc = std[i] < -1 ? -EBADF : -errno;
				if (err)
					weir_buf_addf(err, "could not set up fd %d for \"%s\": %s", i,
						      prog, strerror(-rc));
				goto out;
			}
		}
	}

	if (strchr(prog, '/')) {
		pl.path = prog;
	} else {
		resolved = search_path(prog, c->env);
		if (!resolved) {
			rc = -errno;
			if (err)
				weir_buf_addf(err, "could not find program \"%s\" in PATH: %s", prog,
					      strerror(-rc));
			goto out;
		}
		pl.path = resolved;
	}
	/* execve does not modify argv or envp; its prototype predates const. */
	pl.argv = (char *const *)c->argv;
	pl.envp = c->env ? (char *const *)c->env : environ;
	pl.cwd = c->cwd;
	pl.setsid = c->new_session;

	if (c->in_fd < 0 || c->out_fd < 0 || c->err_fd < 0) {
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0) {
			rc = -errno;
			if (err)
				weir_buf_addf(err, "could not open \"/dev/null\": %s", strerror(-rc));
			goto out;
		}
	}
	pl.stdio[0] = c->in_fd >= 0 ? c->in_fd : devnull;
	pl.stdio[1] = c->out_fd >= 0 ? c->out_fd : devnull;
	pl.stdio[2] = c->err_fd >= 0 ? c->err_fd : devnull;

	plan_rlimit(&pl, RLIMIT_AS, "RLIMIT_AS", c->limits.memory_bytes);
	plan_rlimit(&pl, RLIMIT_NPROC, "RLIMIT_NPROC", c->limits.pids);
	plan_rlimit(&pl, RLIMIT_NOFILE, "RLIMIT_NOFILE", c->limits.nofile);
	plan_rlimit(&pl, RLIMIT_CPU, "RLIMIT_CPU", c->limits.cpu_seconds);

	if (c->uid != 0) {
		pl.set_uid = true;
		pl.uid = c->uid;
		pl.set_gid = c->gid != 0;
		pl.gid = c->gid;
		/* Only root may (and must) drop supplementary groups: without
		 * this the task would keep root's groups. */
		pl.set_groups = geteuid() == 0;
	}

	memset(&pl.dfl, 0, sizeof(pl.dfl));
	pl.dfl.sa_handler = SIG_DFL;
	sigemptyset(&pl.dfl.sa_mask);
	sigemptyset(&pl.empty);

	stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		rc = -errno;
		if (err)
			weir_buf_addf(err, "could not map a stack to start \"%s\": %s", prog,
				      strerror(-rc));
		goto out;
	}

	start_us = weir_mono_us();
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* Returns once the child has exec'd (its memory is then its own) or
	 * exited.  The stack grows down on every architecture we build for. */
	pid = clone(child_main, (char *)stack + CHILD_STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD,
		    &pl);
	rc = pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		if (err)
			weir_buf_addf(err, "could not start a process for \"%s\": %s", prog,
				      strerror(-rc));
		goto out;
	}
	if (!ce.failed)
		goto out; /* exec'd */

	{
		struct child_err copy = {.failed = ce.failed, .step = ce.step, .err = ce.err, .which = ce.which};
		rc = copy.err > 0 ? -copy.err : -EIO;
		describe_failure(err, &pl, &copy, prog);
	}
	/* The child has _exit()ed: wait for it here, so that
	 * weir_proc_reap() never reports a process that never started. */
	waitpid_noeintr(pid, &status);
out:
	if (stack != MAP_FAILED)
		munmap(stack, CHILD_STACK_SIZE);
	if (devnull >= 0)
		close(devnull);
	free(resolved);
	if (rc == 0) {
		c->pid = pid;
		c->start_mono_us = start_us;
		c->start_ticks = c->want_start_ticks ? parse_start_ticks(statbuf, statlen) : 0;
	} else {
		c->pid = -1;
	}
	return rc;
}

int weir_child_kill(pid_t pid, bool force)
{
	if (pid <= 0)
		return -EINVAL;
	/* The process group: a task's own children go down with it.  Only
	 * children started with new_session lead a group. */
	if (kill(-pid, force ? SIGKILL : SIGTERM) < 0)
		return -errno;
	return 0;
}

int weir_proc_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* ------------------------------------------------------------------ */
/* SIGCHLD and reaping                                                 */
/* ------------------------------------------------------------------ */

static int sigchld_pipe[2] = {-1, -1};
static int sigchld_install_rc;
static pthread_once_t sigchld_once = PTHREAD_ONCE_INIT;

/* Async-signal-safe: one write(2), errno preserved (the handler may
 * interrupt code that is about to read errno). */
static void sigchld_handler(int sig)
{
	int saved = errno;
	ssize_t n;

	(void)sig;
	/* Non-blocking: a full pipe already means "reap". */
	n = write(sigchld_pipe[1], "", 1);
	(void)n;
	errno = saved;
}

static void sigchld_install(void)
{
	struct sigaction sa;

	if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		sigchld_install_rc = -errno;
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigchld_handler;
	sigemptyset(&sa.sa_mask);
	/* SA_RESTART: the scheduler's blocking calls (libpq) need not
	 * handle EINTR.  SA_NOCLDSTOP: stopped children are not exits. */
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) < 0) {
		sigchld_install_rc = -errno;
		close(sigchld_pipe[0]);
		close(sigchld_pipe[1]);
		sigchld_pipe[0] = sigchld_pipe[1] = -1;
	}
}

int weir_proc_sigchld_fd(void)
{
	pthread_once(&sigchld_once, sigchld_install);
	return sigchld_install_rc < 0 ? sigchld_install_rc : sigchld_pipe[0];
}

struct exited {
	pid_t pid;
	int status;
};

void weir_proc_reap(weir_proc_exit_fn *fn, void *arg)
{
	struct exited stack[64], *list = stack;
	size_t n = 0, alloc = WEIR_ARRAY_SIZE(stack);

	/*
	 * Drain first, then walk.  A child that exits after the drain writes
	 * a new byte, so the fd stays readable and the next call reaps it;
	 * draining after the walk could swallow that byte and leave the
	 * child unreported until some other child exits.
	 */
	if (sigchld_pipe[0] >= 0) {
		char buf[64];
		while (read(sigchld_pipe[0], buf, sizeof(buf)) > 0)
			;
	}
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break; /* 0: children left but none exited; ECHILD: none */
		if (n == alloc) {
			alloc *= 2;
			if (list == stack) {
				list = weir_xmalloc(alloc * sizeof(*list));
				memcpy(list, stack, sizeof(stack));
			} else {
				list = weir_xreallocarray(list, alloc, sizeof(*list));
			}
		}
		list[n].pid = pid;
		list[n].status = status;
		n++;
	}
	/* Callbacks only after the walk, so one may start a new child
	 * without it being reaped (and reported) in the middle of this one. */
	for (size_t i = 0; i < n; i++) {
		if (fn)
			fn(arg, list[i].pid, list[i].status);
	}
	if (list != stack)
		free(list);
}

/* Field 22 of a /proc/PID/stat text of n bytes (buf has room for a NUL). */
static unsigned long long parse_start_ticks(char *buf, ssize_t n)
{
	const char *p, *end;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/*
	 * "pid (comm) state ppid ...": comm may hold spaces and parentheses,
	 * but it is at most 16 bytes and the fields after it never hold a
	 * ')', so the fields start after the last one.  Field 22 of the line
	 * is the 20th after comm.  Everything up to field 22 fits in the
	 * first 1 KiB by a wide margin (20 numbers of at most 20 digits).
	 */
	end = buf + n;
	p = memrchr(buf, ')', (size_t)n);
	if (!p)
		return 0;
	p++;
	for (int field = 3; field <= 22; field++) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			return 0;
		if (field == 22)
			return strtoull(p, NULL, 10);
		while (p < end && *p != ' ')
			p++;
	}
	return 0;
}

unsigned long long weir_proc_start_ticks(pid_t pid)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	return parse_start_ticks(buf, n);
}
