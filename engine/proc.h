/*
 * proc.h: starting, watching and stopping child processes.
 *
 * The calling protocol (cf. git's run-command.h):
 *
 *   1. struct weir_child c = WEIR_CHILD_INIT; fill argv, env, fds, limits.
 *   2. weir_child_start(&c, err): builds everything before the child
 *      exists (clone(CLONE_VM | CLONE_VFORK): no copy of our memory); in
 *      the child only async-signal-safe calls run (no malloc, no locks,
 *      no logging) until execve.  The child gets a new session and process
 *      group (setsid), default signal dispositions, an empty signal mask,
 *      the rlimits asked for, stdin from `in_fd` or /dev/null, stdout and
 *      stderr to `out_fd`/`err_fd` or /dev/null, and exactly the extra
 *      fds listed in keep_fds (at the same numbers); every other fd is
 *      closed by O_CLOEXEC.  A failure is recorded by the child as {step,
 *      errno}: start() returns -errno with a message naming the failed
 *      step ("could not execute \"/bin/x\": No such file or directory").
 *   3. The process is reaped by weir_proc_reap() (call it when the SIGCHLD
 *      fd becomes readable): it calls waitpid(-1, WNOHANG) until nothing is
 *      left and reports each exit through the registered callback.
 *   4. weir_child_kill(): SIGTERM to the whole process group, then SIGKILL
 *      after a grace period if it is still there (escalation is driven by
 *      the caller's timer calling weir_child_kill again with force).
 *
 * Fd ownership: the caller owns in_fd/out_fd/err_fd/keep_fds and may close
 * them after start() returns (the child has its copies).  keep_fds must
 * be >= 3 and open.  Flags such as O_NONBLOCK live in the open file, which
 * the child shares: give the child blocking ends of its pipes.  Every fd
 * above 2 other than keep_fds is closed at exec, even one opened without
 * O_CLOEXEC (close_range(CLOSE_RANGE_CLOEXEC), Linux >= 5.11).
 *
 * Program lookup: argv[0] without '/' is searched before the start in the
 * child's PATH: the one in `env`, or ours when env is NULL, or
 * /usr/local/bin:/usr/bin:/bin when there is none.  A miss fails with
 * "could not find program \"x\" in PATH: No such file or directory".
 * Unlike execvp there is no /bin/sh fallback for files without #!.
 *
 * start() blocks until the child has exec'd or failed (for as long as the
 * child's setup takes: a chdir into a dead network mount blocks it); the
 * calling thread is suspended meanwhile, other threads run on.  "Exec'd"
 * means past execve's point of no return: the new program may still be
 * loading (its /proc/PID/comm may show our name for a moment).
 *
 * Reaping owns every child: weir_proc_reap() calls waitpid(-1), so a
 * process using it must not reap children any other way (no system(),
 * no other waitpid(-1)), and must call it from one thread.
 */
#ifndef WEIR_PROC_H
#define WEIR_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/vec.h"
#include "engine/dag.h"

#define WEIR_CHILD_MAX_KEEP 4

struct weir_child {
	/* set by the caller */
	const char *const *argv;       /* argv[0] is the program (PATH searched when no '/') */
	const char *const *env;        /* full environment; NULL = inherit */
	const char *cwd;               /* NULL = inherit */
	int in_fd, out_fd, err_fd;     /* -1 = /dev/null */
	int keep_fds[WEIR_CHILD_MAX_KEEP]; /* passed at the same number; -1 = unused */
	struct weir_limits limits;     /* rlimits, 0 = unset: memory_bytes -> RLIMIT_AS,
	                                  pids -> RLIMIT_NPROC (per user; root ignores it),
	                                  nofile -> RLIMIT_NOFILE, cpu_seconds -> RLIMIT_CPU
	                                  (hard = soft + 1 s: SIGXCPU, then SIGKILL); soft =
	                                  hard = value, clamped to our own hard limit */
	bool new_session;              /* setsid() (default true in INIT) */
	uid_t uid;                     /* switch user (setuid); 0 = keep.  As root, the
	                                  supplementary groups become just gid */
	gid_t gid;                     /* with uid: setgid; 0 = keep */
	bool want_start_ticks;         /* fill start_ticks: the child reads /proc/self/stat
	                                  before its exec (reading /proc/PID/stat after
	                                  start() would wait for the exec to finish) */

	/* set by start */
	pid_t pid;
	int64_t start_mono_us;         /* when it was started (monotonic) */
	unsigned long long start_ticks; /* want_start_ticks: /proc/PID/stat start time
	                                   (pid reuse check), else 0 */
};

#define WEIR_CHILD_INIT                                                         \
	{                                                                       \
		.in_fd = -1, .out_fd = -1, .err_fd = -1, .keep_fds = {-1, -1, -1, -1}, \
		.new_session = true, .pid = -1,                                 \
	}

/*
 * 0 and c->pid, start_mono_us, start_ticks; or -errno with one message
 * appended to err (may be NULL), c->pid = -1, and nothing left running or
 * waiting to be reaped.  -EINVAL/-EBADF for bad argv or fds, -ENOENT/
 * -EACCES for a missing program, else the errno of the step that failed.
 */
int weir_child_start(struct weir_child *c, struct weir_buf *err);

/*
 * Signals the child's process group: SIGTERM, or SIGKILL when force.
 * Returns 0, or -ESRCH when it is already gone (the group outlives its
 * leader while any member lives).  Only children started with new_session
 * lead a group.  Do not call it after reaping the pid and all its group:
 * the number may be reused.
 */
int weir_child_kill(pid_t pid, bool force);

/* Maps a wait status to an exit code: the code, or 128 + signal. */
int weir_proc_exit_code(int status);

/*
 * SIGCHLD handling: weir_proc_sigchld_fd() installs a handler (once) that
 * writes a byte to a non-blocking self-pipe and returns the pipe's read
 * end, to be watched by the loop.  weir_proc_reap() drains the pipe, then
 * reaps every exited child and calls fn(arg, pid, status) for each, after
 * the whole waitpid walk (so a callback may start new children).
 * weir_proc_sigchld_fd() returns the same fd on every call (or -errno if
 * installing failed); the handler is async-signal-safe and keeps errno.
 * weir_proc_reap() works without the handler too (it just polls).
 */
typedef void weir_proc_exit_fn(void *arg, pid_t pid, int status);
int weir_proc_sigchld_fd(void);
void weir_proc_reap(weir_proc_exit_fn *fn, void *arg);

/* Start time of pid in clock ticks since boot (field 22 of /proc/PID/stat),
 * or 0 when the process does not exist. */
unsigned long long weir_proc_start_ticks(pid_t pid);

#endif
