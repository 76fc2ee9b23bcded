/*
 * taskrun.c: the task process: one try of one task (taskrun.h).
 *
 * Lifecycle of weir_taskrun() (docs/internals/taskrun.md):
 *
 *   1. check the spec; open the log; write the WEIR header lines
 *   2. catch SIGTERM/SIGINT/SIGHUP (flag + self-pipe), ignore SIGPIPE
 *   3. build the template context (spec.context + "env") and render every
 *      string of config and env, strictly; mkdir -p run_dir
 *   4. become a child subreaper, note the children we already have (an
 *      in-process caller's), call op->run(ctx)
 *   5. sweep: SIGKILL and reap every descendant still alive
 *   6. collect $WEIR_XCOM_FILE, check the branch, map the outcome
 *   7. write the result file (tmp + rename), then the report line
 *   8. restore signal dispositions and the subreaper flag
 *
 * Processes: weir_task_spawn() starts the operator's program in its own
 * session (proc.h), so it has its own process group; we watch it with a
 * pidfd and its pipes with poll().  Anything that escapes the group with
 * setsid() is reparented to us (PR_SET_CHILD_SUBREAPER), so "every child
 * of this process that we did not have before" is exactly "what the task
 * left behind".
 *
 * Invariant: when weir_taskrun() returns, no process started by the task
 * is alive (bounded: a process stuck in uninterruptible sleep for more than
 * 5 s is left; the log says so).
 */
#include "engine/taskrun.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/str.h"
#include "common/time.h"
#include "common/vec.h"
#include "common/xalloc.h"
#include "engine/container.h"
#include "engine/dag.h"
#include "engine/duration.h"
#include "engine/operator.h"
#include "engine/proc.h"
#include "engine/spec.h"
#include "engine/tasklog.h"
#include "engine/template.h"
#include "common/banned.h"

#define TASKRUN_MAGIC 0x7461736bu
/* One rendered string (a whole shell script fits). */
#define RENDER_MAX (1u << 20)
#define SPEC_MAX_BYTES (64u << 20)
#define XCOM_FILE_MAX_BYTES (16u << 20)
#define XCOM_MAX_KEYS 1000
#define MESSAGE_MAX 4096
/* SIGTERM -> SIGKILL escalation for the operator's process group. */
#define KILL_GRACE_US (5 * WEIR_US_PER_SEC)
/* After the process exits, how long its pipes may stay open. */
#define DRAIN_US (2 * WEIR_US_PER_SEC)
/* How long the final sweep keeps killing and reaping. */
#define SWEEP_US (5 * WEIR_US_PER_SEC)

typedef WEIR_VEC(pid_t) pid_vec;

struct taskrun {
	struct weir_task_ctx ctx;     /* first: the helpers find us from ctx */
	uint32_t magic;
	struct weir_tasklog log;
	struct weir_limits limits;    /* for the operator's processes */
	int64_t started_us;
	int64_t execution_timeout_us; /* for messages; 0 when unknown */
	bool timed_out;               /* the execution deadline passed */
	struct weir_buf kill_note;    /* container: why the kernel killed it (OOM) */
	struct weir_strvec shared;    /* container: more folders to mount rw (weir_task_share) */
	struct weir_buf xcom_err;     /* the first XCom problem (fails the try) */
	pid_vec pre;                  /* our children before the try started */
};

/* ------------------------------------------------------------------ */
/* signals                                                              */
/* ------------------------------------------------------------------ */

/*
 * SIGTERM/SIGINT/SIGHUP set stop_signal and write a byte to a self-pipe
 * that the spawn loop and weir_task_sleep() poll.  The handler is
 * installed without SA_RESTART so blocking calls return EINTR.
 */
static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_signal;

static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP};

struct saved_signals {
	struct sigaction old[WEIR_ARRAY_SIZE(stop_signals)];
	struct sigaction old_pipe;
	int old_subreaper;
	bool subreaper_set;
};

static void on_stop(int sig)
{
	int saved = errno;

	if (!stop_signal)
		stop_signal = sig;
	if (sig_pipe[1] >= 0) {
		ssize_t w = write(sig_pipe[1], "s", 1);
		(void)w;
	}
	errno = saved;
}

static void signals_install(struct saved_signals *s)
{
	struct sigaction sa;

	stop_signal = 0;
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		sig_pipe[0] = sig_pipe[1] = -1; /* then only EINTR and the flag */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(stop_signals); i++)
		sigaction(stop_signals[i], &sa, &s->old[i]);
	/* The starter may be gone: a write to the report pipe must fail with
	 * EPIPE, not kill us before the result file is written. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &s->old_pipe);
}

static void signals_restore(struct saved_signals *s)
{
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(stop_signals); i++)
		sigaction(stop_signals[i], &s->old[i], NULL);
	sigaction(SIGPIPE, &s->old_pipe, NULL);
	for (int i = 0; i < 2; i++) {
		if (sig_pipe[i] >= 0)
			close(sig_pipe[i]);
		sig_pipe[i] = -1;
	}
	if (s->subreaper_set)
		prctl(PR_SET_CHILD_SUBREAPER, (unsigned long)s->old_subreaper, 0, 0, 0);
}

static void drain_sig_pipe(void)
{
	char buf[64];

	while (sig_pipe[0] >= 0 && read(sig_pipe[0], buf, sizeof(buf)) > 0)
		;
}

static const char *signame(int sig)
{
	static char buf[32];
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	else
		snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

/* ------------------------------------------------------------------ */
/* descendants                                                          */
/* ------------------------------------------------------------------ */

static void push_pids(pid_vec *out, const char *text)
{
	const char *p = text;

	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p) {
			p++;
			continue;
		}
		if (v > 0 && v <= INT_MAX)
			weir_vec_push(out, (pid_t)v);
		p = end;
	}
}

/*
 * Our children: from /proc/self/task/TID/children (one small read per
 * thread), or when the kernel lacks it, by scanning /proc/PID/stat for
 * PPid == getpid().
 */
static void list_children(pid_vec *out)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	bool have = false;
	char path[64];

	while (d && (e = readdir(d))) {
		struct weir_buf b = WEIR_BUF_INIT(1u << 20);
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.20s/children", e->d_name);
		if (weir_buf_read_file(&b, path) == 0) {
			have = true;
			push_pids(out, b.buf);
		}
		weir_buf_release(&b);
	}
	if (d)
		closedir(d);
	if (have)
		return;
	d = opendir("/proc");
	while (d && (e = readdir(d))) {
		char buf[512];
		const char *rp;
		int fd;
		ssize_t n;
		long ppid;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/stat", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* "pid (comm) S ppid ...": comm may hold spaces and parens. */
		rp = strrchr(buf, ')');
		if (!rp || sscanf(rp + 1, " %*c %ld", &ppid) != 1)
			continue;
		if (ppid == (long)getpid())
			weir_vec_push(out, (pid_t)atol(e->d_name));
	}
	if (d)
		closedir(d);
}

static bool is_pre(const struct taskrun *r, pid_t p)
{
	for (size_t i = 0; i < r->pre.n; i++)
		if (r->pre.v[i] == p)
			return true;
	return false;
}

/*
 * Sends sig (0: none) to every child of ours except `except` and those we
 * had before the try, and to its process group (the ones that called
 * setsid() lead one), then reaps those that have exited.  Returns how many
 * are still there.
 */
static size_t signal_children(struct taskrun *r, pid_t except, int sig)
{
	pid_vec kids = WEIR_VEC_INIT;
	size_t left = 0;

	list_children(&kids);
	for (size_t i = 0; i < kids.n; i++) {
		pid_t p = kids.v[i];
		if (p == except || is_pre(r, p))
			continue;
		if (sig) {
			kill(-p, sig);
			kill(p, sig);
		}
		if (waitpid(p, NULL, WNOHANG) == p)
			continue;
		left++;
	}
	weir_vec_release(&kids);
	return left;
}

/* Kills and reaps every new descendant, until none is left or SWEEP_US. */
static void sweep(struct taskrun *r, pid_t except)
{
	int64_t until = weir_mono_us() + SWEEP_US;
	size_t left;

	while ((left = signal_children(r, except, SIGKILL)) > 0) {
		if (weir_mono_us() >= until) {
			weir_task_log(&r->ctx, "%zu leftover process%s did not die within 5s of SIGKILL",
				      left, left == 1 ? "" : "es");
			break;
		}
		poll(NULL, 0, 2);
	}
}

/* ------------------------------------------------------------------ */
/* helpers for operators                                                */
/* ------------------------------------------------------------------ */

static struct taskrun *runner_of(struct weir_task_ctx *ctx)
{
	struct taskrun *r = (struct taskrun *)ctx;
	WEIR_ASSERT(r->magic == TASKRUN_MAGIC);
	return r;
}

void weir_task_log(struct weir_task_ctx *ctx, const char *fmt, ...)
{
	struct taskrun *r = runner_of(ctx);
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *p, *nl;
	va_list ap;

	va_start(ap, fmt);
	weir_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	for (p = b.buf; (nl = strchr(p, '\n')); p = nl + 1)
		weir_tasklog_line(&r->log, "WEIR", p, (size_t)(nl - p));
	weir_tasklog_line(&r->log, "WEIR", p, strlen(p));
	weir_tasklog_flush(&r->log);
	weir_buf_release(&b);
}

/* Records an XCom problem: the first one becomes the try's failure. */
static void xcom_fail(struct taskrun *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xcom_fail(struct taskrun *r, const char *fmt, ...)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	va_list ap;

	va_start(ap, fmt);
	weir_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (r->xcom_err.len == 0)
		weir_buf_addstr(&r->xcom_err, b.buf);
	weir_buf_setf(&r->ctx.message, "%s", b.buf);
	weir_task_log(&r->ctx, "%s", b.buf);
	weir_buf_release(&b);
}

static bool valid_xcom_key(const char *k, size_t n)
{
	if (n == 0 || n > WEIR_ID_MAX || (k[0] >= '0' && k[0] <= '9') || k[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int weir_task_xcom(struct weir_task_ctx *ctx, const char *key, json_t *value)
{
	struct taskrun *r = runner_of(ctx);
	char *text;
	size_t n;

	if (!value)
		WEIR_BUG("weir_task_xcom: NULL value");
	if (!valid_xcom_key(key, strlen(key))) {
		xcom_fail(r, "invalid XCom key \"%.100s\" (use letters, digits, _ and -, at most %d, not starting with a digit)",
			  key, WEIR_ID_MAX);
		json_decref(value);
		return WEIR_EINVALID;
	}
	text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	n = text ? strlen(text) : 0;
	free(text);
	if (n > ctx->xcom_max_bytes) {
		xcom_fail(r, "XCom value \"%s\" is %zu bytes, more than xcom_max_bytes (%zu)", key, n,
			  ctx->xcom_max_bytes);
		json_decref(value);
		return WEIR_ETOOBIG;
	}
	if (!json_object_get(ctx->xcom, key) && json_object_size(ctx->xcom) >= XCOM_MAX_KEYS) {
		xcom_fail(r, "too many XCom keys (the limit is %d)", XCOM_MAX_KEYS);
		json_decref(value);
		return WEIR_ETOOBIG;
	}
	json_object_set_new(ctx->xcom, key, value);
	weir_task_log(ctx, "XCom \"%s\" set (%zu byte%s)", key, n, n == 1 ? "" : "s");
	return 0;
}

/* A `::xcom KEY=JSON` line from stdout (text after "::xcom "). */
static void xcom_line(struct taskrun *r, const char *text, size_t len)
{
	const char *eq = memchr(text, '=', len);
	char key[WEIR_ID_MAX + 1];
	json_error_t jerr;
	json_t *v;
	size_t klen;

	if (!eq) {
		xcom_fail(r, "invalid ::xcom line: expected ::xcom KEY=JSON");
		return;
	}
	klen = (size_t)(eq - text);
	if (!valid_xcom_key(text, klen)) {
		xcom_fail(r, "invalid ::xcom line: bad key \"%.*s\" (use letters, digits, _ and -, not starting with a digit)",
			  (int)(klen > 100 ? 100 : klen), text);
		return;
	}
	memcpy(key, text, klen);
	key[klen] = '\0';
	v = json_loadb(eq + 1, len - klen - 1, JSON_DECODE_ANY, &jerr);
	if (!v) {
		xcom_fail(r, "invalid ::xcom line for \"%s\": the value is not JSON (%s); strings need quotes: ::xcom %s=\"text\"",
			  key, jerr.text, key);
		return;
	}
	weir_task_xcom(&r->ctx, key, v);
}

void weir_task_share(struct weir_task_ctx *ctx, const char *dir)
{
	struct taskrun *r = runner_of(ctx);

	if (dir && dir[0] == '/' && weir_strvec_find(&r->shared, dir) < 0)
		weir_strvec_push(&r->shared, dir);
}

int weir_task_sleep(struct weir_task_ctx *ctx, int64_t until_us)
{
	struct taskrun *r = runner_of(ctx);

	for (;;) {
		int64_t now = weir_now_us(), wake = until_us, ms;
		struct pollfd p = {.fd = sig_pipe[0], .events = POLLIN};

		if (stop_signal)
			return WEIR_ESHUTDOWN;
		if (ctx->deadline_us != WEIR_TIME_NONE && now >= ctx->deadline_us) {
			r->timed_out = true;
			return WEIR_ETIMEDOUT;
		}
		if (now >= until_us)
			return 0;
		if (ctx->deadline_us != WEIR_TIME_NONE && ctx->deadline_us < wake)
			wake = ctx->deadline_us;
		/* At most 1 s at a time: the wall clock may jump. */
		ms = (wake - now + 999) / 1000;
		if (ms > 1000)
			ms = 1000;
		poll(&p, p.fd >= 0 ? 1 : 0, (int)ms);
		drain_sig_pipe();
	}
}

/* ------------------------------------------------------------------ */
/* weir_task_spawn                                                      */
/* ------------------------------------------------------------------ */

struct stream {
	struct taskrun *r;
	const char *name;  /* OUT or ERR */
	bool is_stdout;    /* parse ::xcom lines */
	int fd;            /* read end, -1 at EOF */
	struct weir_linebuf lb;
};

static void on_line(void *arg, const char *line, size_t len, int flags)
{
	struct stream *s = arg;

	weir_tasklog_line(&s->r->log, s->name, line, len);
	if (s->is_stdout && !(flags & WEIR_LINE_CONT) && len >= 7 && !memcmp(line, "::xcom ", 7)) {
		if (flags & WEIR_LINE_SPLIT)
			xcom_fail(s->r, "::xcom line longer than %d KiB (write large values to $WEIR_XCOM_FILE)",
				  WEIR_TASKLOG_LINE_MAX / 1024);
		else
			xcom_line(s->r, line + 7, len - 7);
	}
}

/* Reads what is available (bounded, to stay fair to the other pipe). */
static void stream_read(struct stream *s)
{
	char buf[64 * 1024];

	for (int i = 0; i < 16 && s->fd >= 0; i++) {
		ssize_t n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			weir_linebuf_finish(&s->lb, on_line, s);
			close(s->fd);
			s->fd = -1;
			return;
		}
		weir_linebuf_feed(&s->lb, buf, (size_t)n, &s->r->log, on_line, s);
	}
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static bool env_name_in(json_t *env, const char *entry, const char *eq)
{
	char name[256];
	size_t n = (size_t)(eq - entry);

	if (!env || n >= sizeof(name))
		return false;
	memcpy(name, entry, n);
	name[n] = '\0';
	return json_object_get(env, name) != NULL;
}

/* environ minus WEIR_* (the starter's settings, e.g. a database URL, are
 * not the task's business) + the task's env + the WEIR_* of the try.
 * Without inherit (containers), environ is left out: the host's
 * environment is none of a sandboxed program's business either. */
static void build_env(struct taskrun *r, json_t *env, struct weir_strvec *out, bool inherit)
{
	extern char **environ;
	json_t *spec = r->ctx.spec;
	const char *k;
	json_t *v;

	for (char **e = environ; inherit && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || !strncmp(*e, "WEIR_", 5) || env_name_in(env, *e, eq))
			continue;
		weir_strvec_push(out, *e);
	}
	json_object_foreach(env, k, v) {
		if (json_is_string(v))
			weir_strvec_pushf(out, "%s=%s", k, json_string_value(v));
	}
	weir_strvec_pushf(out, "WEIR_XCOM_FILE=%s", r->ctx.xcom_file ? r->ctx.xcom_file : "/dev/null");
	weir_strvec_pushf(out, "WEIR_RUN_DIR=%s", r->ctx.run_dir);
	weir_strvec_pushf(out, "WEIR_DAG_ID=%s", json_string_value(json_object_get(spec, "dag_id")));
	weir_strvec_pushf(out, "WEIR_RUN_ID=%s", json_string_value(json_object_get(spec, "run_id")));
	weir_strvec_pushf(out, "WEIR_TASK_ID=%s", json_string_value(json_object_get(spec, "task_id")));
	weir_strvec_pushf(out, "WEIR_TRY_NUMBER=%lld",
			  (long long)json_integer_value(json_object_get(spec, "try_number")));
	weir_strvec_pushf(out, "WEIR_ATTEMPT_ID=%s", json_string_value(json_object_get(spec, "attempt_id")));
}

static int poll_ms(int64_t now, int64_t wake)
{
	int64_t ms;

	if (wake == INT64_MAX)
		return -1;
	if (wake <= now)
		return 0;
	ms = (wake - now + 999) / 1000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static char *fmt_secs(int64_t us, char buf[32])
{
	snprintf(buf, 32, "%.3fs", (double)us / 1e6);
	return buf;
}

static void timeout_message(struct taskrun *r)
{
	char d[WEIR_DURATION_BUFSZ];
	int64_t t = r->execution_timeout_us;

	if (t <= 0) {
		/* Not in the spec: what was left of it when we started, to the second. */
		t = r->ctx.deadline_us - r->started_us;
		t = (t + WEIR_US_PER_SEC / 2) / WEIR_US_PER_SEC * WEIR_US_PER_SEC;
		if (t < 0)
			t = 0;
	}
	weir_buf_setf(&r->ctx.message, "timed out after %s (execution_timeout)", weir_duration_format(t, d));
}

static bool is_container(json_t *spec)
{
	const char *e = json_string_value(json_object_get(spec, "executor"));
	return e && !strcmp(e, "container");
}

/* One WEIR line that says how the container is set up. */
static void log_container(struct weir_task_ctx *ctx, const struct weir_container *ct)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char sz[32];

	weir_buf_addf(&b, "container %s (%s): root %s (read-only), network %s, user %u:%u", ct->id,
		      ct->runtime_name, ct->root, ct->host_network ? "host" : "none", (unsigned)ct->uid,
		      (unsigned)ct->gid);
	if (ct->limits.memory_bytes)
		weir_buf_addf(&b, ", memory %s", weir_container_fmt_size(ct->limits.memory_bytes, sz));
	if (ct->limits.cpus > 0)
		weir_buf_addf(&b, ", cpus %g", ct->limits.cpus);
	if (ct->limits.pids)
		weir_buf_addf(&b, ", pids %lld", (long long)ct->limits.pids);
	for (size_t i = 0; i < ct->mounts.n; i++)
		weir_buf_addf(&b, "%s%s:%s%s", i ? ", " : ", mounts ", ct->mounts.v[i].source,
			      ct->mounts.v[i].target, ct->mounts.v[i].readonly ? "" : ":rw");
	weir_task_log(ctx, "%s", b.buf);
	weir_buf_release(&b);
}

/*
 * Stops what runs: SIGTERM (force: SIGKILL) to the program's process
 * group, or for a container, through the runtime.  The runtime's own
 * process is never the one killed while its container may live (that
 * would leave the container running): SIGTERM goes to the runtime (it
 * forwards it to pid 1) and through `RUNTIME kill --all` to every
 * process; SIGKILL only through the runtime, unless the runtime cannot
 * do it (no container yet, runtime stuck), then to the runtime's group:
 * the cleanup after it deletes whatever is left.
 */
static void stop_program(struct taskrun *r, struct weir_container *ct, pid_t pid, bool force)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	if (!ct) {
		weir_child_kill(pid, force);
		return;
	}
	if (!force)
		kill(pid, SIGTERM);
	if (weir_container_signal(ct, force ? SIGKILL : SIGTERM, &err) < 0) {
		weir_task_log(&r->ctx, "could not signal the container: %s", err.buf);
		if (force)
			weir_child_kill(pid, true);
	}
	weir_buf_release(&err);
}

int weir_task_spawn(struct weir_task_ctx *ctx, const char *const *argv, json_t *env,
		    const char *cwd, const char *stdin_text)
{
	extern char **environ;
	enum { RUNNING, TERMINATING, KILLED } phase = RUNNING;
	struct taskrun *r = runner_of(ctx);
	struct weir_child c = WEIR_CHILD_INIT;
	struct weir_strvec envv = WEIR_STRVEC_INIT;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct stream out = {r, "OUT", true, -1, WEIR_LINEBUF_INIT};
	struct stream errs = {r, "ERR", false, -1, WEIR_LINEBUF_INIT};
	struct weir_container ctr = WEIR_CONTAINER_INIT, *ct = NULL;
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1};
	int pidfd = -1, status = 0, rc = 0, stopped_by = 0, ns[2] = {-1, -1};
	size_t in_off = 0, in_len = stdin_text ? strlen(stdin_text) : 0;
	bool exited = false, started = false;
	int64_t t0, mono_deadline = INT64_MAX, kill_at = INT64_MAX, drain_until = INT64_MAX;
	char secs[32];

	ctx->exit_code = -1;
	if (is_container(ctx->spec))
		ct = &ctr;
	build_env(r, env, &envv, !ct);
	if (ct) {
		/* The runner stays outside; the program runs inside, through
		 * the runtime, with the run folder at the same path. */
		struct weir_strvec rw = WEIR_STRVEC_INIT;
		weir_strvec_push(&rw, ctx->run_dir);
		for (size_t i = 0; i < r->shared.n; i++)
			weir_strvec_push(&rw, r->shared.v[i]);
		rc = weir_container_load(ct, ctx->spec, &err);
		if (rc == 0)
			rc = weir_container_prepare(ct, json_string_value(json_object_get(ctx->spec, "log_path")),
						    argv, (const char *const *)envv.v, cwd,
						    (const char *const *)rw.v, (const char *const *)environ, &err);
		weir_strvec_clear(&rw);
		if (rc < 0) {
			weir_buf_setf(&ctx->message, "could not set up the container: %s", err.buf);
			weir_task_log(ctx, "%s", ctx->message.buf);
			goto out;
		}
		log_container(ctx, ct);
	}
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    (stdin_text && pipe2(inp, O_CLOEXEC) < 0)) {
		rc = -errno;
		weir_buf_setf(&ctx->message, "could not create pipes: %s", strerror(errno));
		weir_task_log(ctx, "%s", ctx->message.buf);
		goto out;
	}
	set_nonblock(outp[0]);
	set_nonblock(errp[0]);
	if (inp[1] >= 0)
		set_nonblock(inp[1]);
	c.argv = ct ? (const char *const *)ct->argv.v : argv;
	c.env = ct ? (const char *const *)ct->env.v : (const char *const *)envv.v;
	c.cwd = ct ? NULL : cwd;
	c.in_fd = inp[0];
	c.out_fd = outp[1];
	c.err_fd = errp[1];
	/* Containers get their limits from the cgroup: rlimits on the runtime
	 * itself (RLIMIT_AS) would break it. */
	if (!ct)
		c.limits = r->limits;
	rc = ct ? weir_container_ns_enter(ct, ns, &err) : 0;
	if (rc == 0) {
		rc = weir_child_start(&c, &err);
		if (ct)
			weir_container_ns_leave(ns);
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (inp[0] >= 0)
		close(inp[0]);
	inp[0] = -1;
	out.fd = outp[0];
	errs.fd = errp[0];
	outp[0] = errp[0] = -1;
	if (rc < 0) {
		weir_buf_setf(&ctx->message, "%s%s", ct ? "could not start the container runtime: " : "",
			      err.len ? err.buf : weir_strerror(rc));
		weir_task_log(ctx, "%s", ctx->message.buf);
		goto out;
	}
	started = true;
	t0 = weir_mono_us();
	if (ct)
		weir_task_log(ctx, "container %s started: %s pid %ld", ct->id, ct->runtime_name, (long)c.pid);
	else
		weir_task_log(ctx, "process %ld started", (long)c.pid);
	/* A pidfd tells poll() when the process exits, without a SIGCHLD
	 * handler (which an in-process caller may own).  Without one (old
	 * kernels) we poll waitpid every 20 ms. */
	pidfd = (int)syscall(SYS_pidfd_open, c.pid, 0);
	if (ctx->deadline_us != WEIR_TIME_NONE)
		mono_deadline = t0 + (ctx->deadline_us - weir_now_us());

	for (;;) {
		struct pollfd pfd[5];
		int np = 0, i_out = -1, i_err = -1, i_in = -1, i_pid = -1, i_sig = -1;
		int64_t now = weir_mono_us(), wake = INT64_MAX;

		if (!exited && phase == RUNNING && (stop_signal || now >= mono_deadline)) {
			const char *what = ct ? "the container" : "process group";
			if (stop_signal) {
				stopped_by = stop_signal;
				weir_task_log(ctx, "received %s: sending SIGTERM to %s %ld", signame(stopped_by),
					      what, (long)c.pid);
			} else {
				r->timed_out = true;
				weir_task_log(ctx, "execution_timeout reached: sending SIGTERM to %s %ld", what,
					      (long)c.pid);
			}
			stop_program(r, ct, c.pid, false);
			signal_children(r, c.pid, SIGTERM);
			phase = TERMINATING;
			kill_at = weir_mono_us() + KILL_GRACE_US;
		}
		if (!exited && phase == TERMINATING && now >= kill_at) {
			weir_task_log(ctx, "still running %ds after SIGTERM: sending SIGKILL",
				      (int)(KILL_GRACE_US / WEIR_US_PER_SEC));
			stop_program(r, ct, c.pid, true);
			signal_children(r, c.pid, SIGKILL);
			phase = KILLED;
		}
		if (exited && out.fd < 0 && errs.fd < 0)
			break;
		if (exited && now >= drain_until) {
			weir_task_log(ctx, "output still open %ds after the process ended (a process outside the task holds it): closing",
				      (int)(DRAIN_US / WEIR_US_PER_SEC));
			break;
		}

		if (out.fd >= 0) {
			i_out = np;
			pfd[np++] = (struct pollfd){.fd = out.fd, .events = POLLIN};
		}
		if (errs.fd >= 0) {
			i_err = np;
			pfd[np++] = (struct pollfd){.fd = errs.fd, .events = POLLIN};
		}
		if (inp[1] >= 0) {
			i_in = np;
			pfd[np++] = (struct pollfd){.fd = inp[1], .events = POLLOUT};
		}
		if (!exited && pidfd >= 0) {
			i_pid = np;
			pfd[np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		}
		if (!exited && phase == RUNNING && sig_pipe[0] >= 0) {
			i_sig = np;
			pfd[np++] = (struct pollfd){.fd = sig_pipe[0], .events = POLLIN};
		}
		if (!exited && phase == RUNNING && mono_deadline < wake)
			wake = mono_deadline;
		if (!exited && phase == TERMINATING)
			wake = kill_at;
		if (exited)
			wake = drain_until;
		if (!exited && pidfd < 0 && now + 20000 < wake)
			wake = now + 20000;

		if (poll(pfd, (nfds_t)np, poll_ms(now, wake)) < 0 && errno != EINTR) {
			weir_task_log(ctx, "poll failed: %s", strerror(errno));
			break;
		}
		if (i_out >= 0 && pfd[i_out].revents)
			stream_read(&out);
		if (i_err >= 0 && pfd[i_err].revents)
			stream_read(&errs);
		if (i_in >= 0 && pfd[i_in].revents) {
			while (in_off < in_len) {
				ssize_t w = write(inp[1], stdin_text + in_off, in_len - in_off);
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0)
					break;
				in_off += (size_t)w;
			}
			/* Done, or the reader went away (EPIPE): either way, EOF. */
			if (in_off == in_len || (errno != EAGAIN && errno != EINTR)) {
				close(inp[1]);
				inp[1] = -1;
			}
		}
		if (i_sig >= 0 && pfd[i_sig].revents)
			drain_sig_pipe();
		if (!exited && (pidfd < 0 || (i_pid >= 0 && pfd[i_pid].revents))) {
			siginfo_t si = {0};
			/* Look without reaping: while the zombie exists its pid,
			 * and so its process group id, cannot be reused, so the
			 * kill below cannot hit a stranger. */
			if (waitid(P_PID, (id_t)c.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid == c.pid) {
				exited = true;
				/* What it left behind dies now: its group, and
				 * anything that setsid()'d away (ours, as subreaper).
				 * Then the pipes reach EOF. */
				if (inp[1] >= 0) {
					close(inp[1]);
					inp[1] = -1;
				}
				weir_child_kill(c.pid, true);
				while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR)
					;
				sweep(r, -1);
				drain_until = weir_mono_us() + DRAIN_US;
			}
		}
		weir_tasklog_flush(&r->log);
	}
	if (!exited) {
		if (ct)
			stop_program(r, ct, c.pid, true);
		weir_child_kill(c.pid, true);
		while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	ctx->exit_code = weir_proc_exit_code(status);
	if (ct)
		weir_task_log(ctx, "container %s exited with code %d after %s", ct->id, ctx->exit_code,
			      fmt_secs(weir_mono_us() - t0, secs));
	else if (WIFSIGNALED(status))
		weir_task_log(ctx, "process %ld was killed by %s after %s", (long)c.pid,
			      signame(WTERMSIG(status)), fmt_secs(weir_mono_us() - t0, secs));
	else
		weir_task_log(ctx, "process %ld exited with code %d after %s", (long)c.pid,
			      ctx->exit_code, fmt_secs(weir_mono_us() - t0, secs));
	if (ct && ctx->exit_code == 128 + SIGKILL && !stopped_by && !r->timed_out &&
	    ct->limits.memory_bytes > 0) {
		char sz[32];
		weir_container_fmt_size(ct->limits.memory_bytes, sz);
		if (ct->keep && weir_container_oom_killed(ct))
			weir_buf_setf(&r->kill_note, "killed: memory limit %s exceeded (out of memory)", sz);
		else if (!ct->keep)
			weir_buf_setf(&r->kill_note, "killed by SIGKILL: probably the memory limit %s (%s cannot tell)",
				      sz, ct->runtime_name);
		if (r->kill_note.len)
			weir_task_log(ctx, "%s", r->kill_note.buf);
	}
	if (stopped_by)
		weir_buf_setf(&ctx->message, "stopped by %s", signame(stopped_by));
	else if (r->timed_out)
		timeout_message(r);
	rc = 0;
out:
	if (out.fd >= 0) {
		weir_linebuf_finish(&out.lb, on_line, &out);
		close(out.fd);
	}
	if (errs.fd >= 0) {
		weir_linebuf_finish(&errs.lb, on_line, &errs);
		close(errs.fd);
	}
	weir_linebuf_release(&out.lb);
	weir_linebuf_release(&errs.lb);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (inp[i] >= 0)
			close(inp[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	if (ct) {
		/* Nothing of the container outlives the try: delete it unless
		 * it ended normally (then the runtime already did). */
		bool unclean = !started || phase != RUNNING || ctx->exit_code != 0;
		weir_buf_reset(&err);
		if (weir_container_finish(ct, unclean, ctx->xcom_file, &err) < 0)
			weir_task_log(ctx, "container cleanup: %s", err.buf);
		weir_container_release(ct);
	}
	weir_tasklog_flush(&r->log);
	weir_strvec_clear(&envv);
	weir_buf_release(&err);
	return rc;
}

/* ------------------------------------------------------------------ */
/* rendering                                                            */
/* ------------------------------------------------------------------ */

/*
 * Renders every string in v (recursively) into *out (new reference).
 * path names v in messages: "config.shell", "config.exec[2]".
 */
static int render_tree(json_t *tctx, json_t *v, struct weir_buf *path, json_t **out,
		       struct weir_buf *err)
{
	const char *k;
	json_t *item, *x, *res;
	size_t i, save = path->len;
	int rc = 0;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		res = json_object();
		json_object_foreach(v, k, item) {
			weir_buf_addf(path, ".%s", k);
			rc = render_tree(tctx, item, path, &x, err);
			weir_buf_truncate(path, save);
			if (rc < 0)
				break;
			json_object_set_new(res, k, x);
		}
		break;
	case JSON_ARRAY:
		res = json_array();
		json_array_foreach(v, i, item) {
			weir_buf_addf(path, "[%zu]", i);
			rc = render_tree(tctx, item, path, &x, err);
			weir_buf_truncate(path, save);
			if (rc < 0)
				break;
			json_array_append_new(res, x);
		}
		break;
	case JSON_STRING: {
		struct weir_buf b = WEIR_BUF_INIT(RENDER_MAX);
		struct weir_buf e = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		const char *s = json_string_value(v);

		res = NULL;
		if (!weir_template_has_expr(s)) {
			*out = json_incref(v);
			return 0;
		}
		rc = weir_template_render(s, tctx, &b, NULL, &e);
		if (rc < 0) {
			weir_buf_addf(err, "%s: %s", path->buf, e.buf);
		} else if (memchr(b.buf, '\0', b.len)) {
			weir_buf_addf(err, "%s: the rendered value contains a NUL byte", path->buf);
			rc = WEIR_EINVALID;
		} else {
			/* Values from the environment need not be UTF-8. */
			res = json_stringn_nocheck(b.buf, b.len);
		}
		weir_buf_release(&b);
		weir_buf_release(&e);
		break;
	}
	default:
		res = json_incref(v);
		break;
	}
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

/* The process environment as an object (WEIR_* left out, as in build_env). */
static json_t *environ_json(void)
{
	extern char **environ;
	json_t *o = json_object();

	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		char *name;
		if (!eq || !strncmp(*e, "WEIR_", 5))
			continue;
		name = weir_xstrndup(*e, (size_t)(eq - *e));
		json_object_set_new_nocheck(o, name, json_string_nocheck(eq + 1));
		free(name);
	}
	return o;
}

/* ------------------------------------------------------------------ */
/* the try                                                              */
/* ------------------------------------------------------------------ */

static const char *spec_str(json_t *spec, const char *key)
{
	return json_string_value(json_object_get(spec, key));
}

/* Checks the members the runner relies on; 0 or WEIR_EINVALID + message. */
static int check_spec(json_t *spec, struct weir_buf *err)
{
	static const char *const strs[] = {"dag_id", "run_id", "task_id", "attempt_id", "operator",
					   "log_path", "result_path", "xcom_path"};
	json_t *v;

	if (!json_is_object(spec)) {
		weir_buf_addf(err, "invalid spec: not a JSON object");
		return WEIR_EINVALID;
	}
	v = json_object_get(spec, "version");
	if (!json_is_integer(v) || json_integer_value(v) != WEIR_SPEC_VERSION) {
		weir_buf_addf(err, "invalid spec: \"version\" must be %d", WEIR_SPEC_VERSION);
		return WEIR_EINVALID;
	}
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(strs); i++) {
		if (!json_is_string(json_object_get(spec, strs[i])) || !*spec_str(spec, strs[i])) {
			weir_buf_addf(err, "invalid spec: \"%s\" must be a non-empty string", strs[i]);
			return WEIR_EINVALID;
		}
	}
	if (!json_is_integer(json_object_get(spec, "try_number"))) {
		weir_buf_addf(err, "invalid spec: \"try_number\" must be an integer");
		return WEIR_EINVALID;
	}
	v = json_object_get(spec, "config");
	if (v && !json_is_object(v)) {
		weir_buf_addf(err, "invalid spec: \"config\" must be an object");
		return WEIR_EINVALID;
	}
	v = json_object_get(spec, "env");
	if (v && !json_is_object(v) && !json_is_null(v)) {
		weir_buf_addf(err, "invalid spec: \"env\" must be an object");
		return WEIR_EINVALID;
	}
	v = json_object_get(spec, "context");
	if (!json_is_object(v) || !json_is_string(json_object_get(v, "run_dir"))) {
		weir_buf_addf(err, "invalid spec: \"context\" must be an object with \"run_dir\"");
		return WEIR_EINVALID;
	}
	v = json_object_get(spec, "deadline_us");
	if (v && !json_is_integer(v) && !json_is_null(v)) {
		weir_buf_addf(err, "invalid spec: \"deadline_us\" must be an integer or null");
		return WEIR_EINVALID;
	}
	v = json_object_get(spec, "downstream");
	if (v && !json_is_array(v)) {
		weir_buf_addf(err, "invalid spec: \"downstream\" must be a list");
		return WEIR_EINVALID;
	}
	return 0;
}

static void load_limits(json_t *l, struct weir_limits *out)
{
	json_t *v;

	if (!json_is_object(l))
		return;
	if ((v = json_object_get(l, "memory_bytes")) && json_is_integer(v))
		out->memory_bytes = json_integer_value(v);
	if ((v = json_object_get(l, "cpus")) && json_is_number(v))
		out->cpus = json_number_value(v);
	if ((v = json_object_get(l, "pids")) && json_is_integer(v))
		out->pids = json_integer_value(v);
	if ((v = json_object_get(l, "nofile")) && json_is_integer(v))
		out->nofile = json_integer_value(v);
	if ((v = json_object_get(l, "cpu_seconds")) && json_is_integer(v))
		out->cpu_seconds = json_integer_value(v);
}

static void header(struct taskrun *r, json_t *spec)
{
	char host[256] = "?", iso[WEIR_ISO_BUFSZ], d[WEIR_DURATION_BUFSZ], of[32] = "";
	json_t *mt = json_object_get(spec, "max_tries");

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	if (json_is_integer(mt))
		snprintf(of, sizeof(of), " of %lld", (long long)json_integer_value(mt));
	weir_task_log(&r->ctx, "task \"%s\" of DAG \"%s\", run \"%s\", try %lld%s, attempt %s",
		      spec_str(spec, "task_id"), spec_str(spec, "dag_id"), spec_str(spec, "run_id"),
		      (long long)json_integer_value(json_object_get(spec, "try_number")), of,
		      spec_str(spec, "attempt_id"));
	weir_task_log(&r->ctx, "runner pid %ld on %s (weir %s), operator \"%s\"", (long)getpid(), host,
		      WEIR_VERSION, spec_str(spec, "operator"));
	if (r->ctx.deadline_us != WEIR_TIME_NONE)
		weir_task_log(&r->ctx, "execution_timeout %s: deadline %s",
			      r->execution_timeout_us > 0 ? weir_duration_format(r->execution_timeout_us, d) : "set",
			      weir_iso_format(r->ctx.deadline_us, WEIR_ISO_Z, iso));
}

/* Reads $WEIR_XCOM_FILE if the task wrote one. */
static void collect_xcom_file(struct taskrun *r)
{
	struct weir_buf b = WEIR_BUF_INIT(XCOM_FILE_MAX_BYTES);
	json_error_t jerr;
	json_t *o, *v;
	const char *k;
	int rc;

	if (!r->ctx.xcom_file)
		return;
	rc = weir_buf_read_file(&b, r->ctx.xcom_file);
	if (rc == -ENOENT)
		goto out;
	if (rc < 0) {
		xcom_fail(r, "could not read the XCom file \"%s\": %s", r->ctx.xcom_file,
			  rc == WEIR_ETOOBIG ? "larger than 16 MiB" : weir_strerror(rc));
		goto out;
	}
	o = json_loadb(b.buf, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o || !json_is_object(o)) {
		xcom_fail(r, "invalid XCom file $WEIR_XCOM_FILE: %s",
			  o ? "it must hold one JSON object {\"KEY\": value, ...}" : jerr.text);
		json_decref(o);
		goto out;
	}
	json_object_foreach(o, k, v)
		weir_task_xcom(&r->ctx, k, json_incref(v));
	json_decref(o);
out:
	weir_buf_release(&b);
}

/* Checks XCom "branch" against the downstream tasks; sets *out. */
static int check_branch(struct taskrun *r, json_t *spec, json_t **out)
{
	json_t *b = json_object_get(r->ctx.xcom, "branch");
	json_t *down = json_object_get(spec, "downstream");
	json_t *list, *item, *d;
	struct weir_buf hint = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t i, j;
	int rc = 0;

	json_array_foreach(down, j, d)
		weir_buf_addf(&hint, "%s%s", j ? ", " : "", json_string_value(d));
	if (!b) {
		weir_buf_setf(&r->ctx.message,
			      "branch task chose no branch: print ::xcom branch=\"TASK\" (one of: %s)",
			      hint.len ? hint.buf : "no downstream tasks");
		rc = WEIR_EINVALID;
		goto out;
	}
	if (json_is_string(b)) {
		list = json_pack("[O]", b);
	} else if (json_is_array(b)) {
		list = json_incref(b);
	} else {
		weir_buf_setf(&r->ctx.message, "XCom \"branch\" must be a task id or a list of task ids");
		rc = WEIR_EINVALID;
		goto out;
	}
	json_array_foreach(list, i, item) {
		bool found = false;
		if (!json_is_string(item)) {
			weir_buf_setf(&r->ctx.message, "XCom \"branch\" must be a task id or a list of task ids");
			rc = WEIR_EINVALID;
			break;
		}
		json_array_foreach(down, j, d)
			found |= json_equal(d, item);
		if (!found) {
			weir_buf_setf(&r->ctx.message,
				      "branch \"%s\" is not a downstream task of \"%s\" (choose from: %s)",
				      json_string_value(item), spec_str(spec, "task_id"),
				      hint.len ? hint.buf : "no downstream tasks");
			rc = WEIR_EINVALID;
			break;
		}
	}
	if (rc < 0)
		json_decref(list);
	else
		*out = list;
out:
	weir_buf_release(&hint);
	return rc;
}

/* A string for the result: masked, one line, at most MESSAGE_MAX bytes, UTF-8. */
static json_t *message_json(struct taskrun *r)
{
	struct weir_buf m = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *j;

	weir_buf_rtrim(&r->ctx.message);
	if (r->ctx.message.len == 0)
		return json_null();
	weir_tasklog_mask(&r->log, r->ctx.message.buf, r->ctx.message.len, &m);
	if (m.len > MESSAGE_MAX) {
		size_t n = MESSAGE_MAX;
		while (n > 0 && ((unsigned char)m.buf[n] & 0xC0) == 0x80)
			n--; /* not inside a UTF-8 sequence */
		weir_buf_truncate(&m, n);
		weir_buf_addstr(&m, "...");
	}
	for (size_t i = 0; i < m.len; i++)
		if (m.buf[i] == '\n' || m.buf[i] == '\r' || m.buf[i] == '\0')
			m.buf[i] = ' ';
	j = json_stringn(m.buf, m.len);
	if (!j) {
		for (size_t i = 0; i < m.len; i++)
			if ((unsigned char)m.buf[i] >= 0x80)
				m.buf[i] = '?';
		j = json_stringn(m.buf, m.len);
	}
	weir_buf_release(&m);
	return j;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			poll(&pfd, 1, 1000);
			continue;
		}
		if (w <= 0)
			return; /* EPIPE: the starter is gone; the file has it */
		p += w;
		n -= (size_t)w;
	}
}

static json_t *taskrun(json_t *spec, int report_fd, bool offer_stay, bool *written)
{
	struct taskrun r = {
		.ctx = {.spec = spec, .exit_code = -1, .deadline_us = WEIR_TIME_NONE,
			.message = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT)},
		.magic = TASKRUN_MAGIC,
		.log = WEIR_TASKLOG_INIT,
		.xcom_err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT),
		.kill_note = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT),
		.shared = WEIR_STRVEC_INIT,
	};
	struct saved_signals sigs = {0};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf path = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	enum weir_op_result outcome = WEIR_OP_FAILED;
	const struct weir_operator *op = NULL;
	const char *result_path = NULL;
	json_t *result, *branch = NULL, *v, *tctx = NULL;
	bool ran = false;
	char secs[32];
	char *text;
	int rc;

	*written = false;
	r.started_us = weir_now_us();
	r.ctx.xcom = json_object();
	signals_install(&sigs);
	if (json_is_object(spec) && json_is_string(json_object_get(spec, "result_path")))
		result_path = spec_str(spec, "result_path");

	/* 1. the spec and the log */
	if (check_spec(spec, &err) < 0) {
		weir_buf_setf(&r.ctx.message, "%s", err.buf);
		if (json_is_object(spec) && json_is_string(json_object_get(spec, "log_path")) &&
		    weir_tasklog_open(&r.log, spec_str(spec, "log_path"), &err) == 0)
			weir_task_log(&r.ctx, "%s", r.ctx.message.buf);
		goto finish;
	}
	weir_buf_reset(&err);
	weir_tasklog_set_secrets(&r.log, json_object_get(spec, "secrets"));
	if (weir_tasklog_open(&r.log, spec_str(spec, "log_path"), &err) < 0) {
		weir_buf_setf(&r.ctx.message, "%s", err.buf);
		goto finish;
	}
	v = json_object_get(spec, "deadline_us");
	if (json_is_integer(v))
		r.ctx.deadline_us = json_integer_value(v);
	v = json_object_get(spec, "execution_timeout_us");
	if (json_is_integer(v))
		r.execution_timeout_us = json_integer_value(v);
	header(&r, spec);

	/* 2. the operator, the context, rendering */
	op = weir_operator_find(spec_str(spec, "operator"));
	if (!op || !op->run) {
		weir_buf_setf(&r.ctx.message, "%s operator \"%s\"", op ? "cannot run tasks of" : "unknown",
			      spec_str(spec, "operator"));
		weir_task_log(&r.ctx, "%s", r.ctx.message.buf);
		goto finish;
	}
	tctx = json_deep_copy(json_object_get(spec, "context"));
	json_object_set_new(tctx, "env", environ_json());
	r.ctx.context = tctx;
	r.ctx.run_dir = json_string_value(json_object_get(tctx, "run_dir"));
	r.ctx.xcom_file = spec_str(spec, "xcom_path");
	v = json_object_get(spec, "xcom_max_bytes");
	r.ctx.xcom_max_bytes = json_is_integer(v) && json_integer_value(v) > 0
				       ? (size_t)json_integer_value(v)
				       : WEIR_SPEC_XCOM_MAX_DEFAULT;
	v = json_object_get(spec, "invalid_exit_code");
	if (json_is_integer(v)) {
		r.ctx.has_invalid_exit_code = true;
		r.ctx.invalid_exit_code = (int)json_integer_value(v);
	}
	load_limits(json_object_get(spec, "limits"), &r.limits);
	weir_buf_reset(&err);
	weir_buf_addstr(&path, "config");
	v = json_object_get(spec, "config");
	if (v) {
		rc = render_tree(tctx, v, &path, &r.ctx.config, &err);
	} else {
		r.ctx.config = json_object();
		rc = 0;
	}
	if (rc == 0) {
		weir_buf_setf(&path, "env");
		v = json_object_get(spec, "env");
		if (json_is_object(v))
			rc = render_tree(tctx, v, &path, &r.ctx.env, &err);
		else
			r.ctx.env = json_object();
	}
	if (rc < 0) {
		weir_buf_setf(&r.ctx.message, "%s", err.buf);
		weir_task_log(&r.ctx, "template error in %s", r.ctx.message.buf);
		goto finish;
	}
	weir_buf_reset(&err);
	if (weir_spec_mkdirs(r.ctx.run_dir, &err) < 0) {
		weir_buf_setf(&r.ctx.message, "%s", err.buf);
		weir_task_log(&r.ctx, "%s", err.buf);
		goto finish;
	}
	/* A file left by an earlier attempt must not pass for this one's. */
	if (unlink(r.ctx.xcom_file) < 0 && errno != ENOENT)
		weir_task_log(&r.ctx, "could not remove the old XCom file \"%s\": %s", r.ctx.xcom_file,
			      strerror(errno));

	/* 3. run */
	if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&sigs.old_subreaper, 0, 0, 0) == 0 &&
	    prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0, 0, 0) == 0)
		sigs.subreaper_set = true;
	list_children(&r.pre);
	if (stop_signal) {
		outcome = WEIR_OP_FAILED;
	} else {
		outcome = op->run(&r.ctx);
		ran = true;
	}
	sweep(&r, -1);

	/* 4. outputs and outcome */
	if (ran)
		collect_xcom_file(&r);
	if (stop_signal) {
		outcome = WEIR_OP_FAILED;
		weir_buf_setf(&r.ctx.message, "stopped by %s", signame(stop_signal));
	} else if (r.timed_out) {
		outcome = WEIR_OP_FAILED;
		timeout_message(&r);
	} else if (r.kill_note.len && outcome == WEIR_OP_FAILED) {
		/* The operator's "exited with code 137" says less. */
		weir_buf_setf(&r.ctx.message, "%s", r.kill_note.buf);
	} else if (r.xcom_err.len && outcome != WEIR_OP_INVALID && outcome != WEIR_OP_FAILED) {
		outcome = WEIR_OP_FAILED;
		weir_buf_setf(&r.ctx.message, "%s", r.xcom_err.buf);
	}
	if (outcome == WEIR_OP_SUCCESS && json_is_true(json_object_get(spec, "branch"))) {
		if (check_branch(&r, spec, &branch) < 0) {
			outcome = WEIR_OP_FAILED;
			weir_task_log(&r.ctx, "%s", r.ctx.message.buf);
		}
	}
	if (outcome == WEIR_OP_SUCCESS)
		weir_buf_reset(&r.ctx.message); /* leftovers of retried steps */

finish:
	result = json_object();
	json_object_set_new(result, "attempt_id",
			    json_string(json_is_object(spec) && spec_str(spec, "attempt_id")
						? spec_str(spec, "attempt_id")
						: ""));
	json_object_set_new(result, "outcome", json_string(weir_spec_outcome_name(outcome)));
	json_object_set_new(result, "exit_code", r.ctx.exit_code >= 0 ? json_integer(r.ctx.exit_code)
								      : json_null());
	json_object_set_new(result, "message", message_json(&r));
	json_object_set_new(result, "xcom", json_incref(r.ctx.xcom));
	json_object_set_new(result, "branch", branch ? branch : json_null());
	if (outcome == WEIR_OP_RESCHEDULE) {
		int64_t next = r.ctx.next_poke_us;
		if (next <= 0)
			next = weir_now_us() + 60 * WEIR_US_PER_SEC;
		json_object_set_new(result, "next_poke_us", json_integer(next));
	} else {
		json_object_set_new(result, "next_poke_us", json_null());
	}
	json_object_set_new(result, "started_us", json_integer(r.started_us));
	json_object_set_new(result, "ended_us", json_integer(weir_now_us()));
	/* A runner from the pool offers to take the next try (taskrun.h);
	 * not after a stop signal: then it exits. */
	if (offer_stay && !stop_signal)
		json_object_set_new(result, "runner_stays", json_true());

	if (r.log.fd >= 0) {
		json_t *m = json_object_get(result, "message");
		if (r.ctx.exit_code >= 0)
			weir_task_log(&r.ctx, "outcome %s (exit code %d) after %s%s%s",
				      weir_spec_outcome_name(outcome), r.ctx.exit_code,
				      fmt_secs(weir_now_us() - r.started_us, secs), json_is_string(m) ? ": " : "",
				      json_is_string(m) ? json_string_value(m) : "");
		else
			weir_task_log(&r.ctx, "outcome %s after %s%s%s", weir_spec_outcome_name(outcome),
				      fmt_secs(weir_now_us() - r.started_us, secs), json_is_string(m) ? ": " : "",
				      json_is_string(m) ? json_string_value(m) : "");
	}

	/* 5. the result: file first (what a restarted starter reads), then
	 * the report line. */
	text = json_dumps(result, JSON_COMPACT);
	if (!text)
		WEIR_BUG("json_dumps failed");
	{
		size_t n = strlen(text);
		char *line = weir_xmalloc(n + 2);
		memcpy(line, text, n);
		line[n] = '\n';
		line[n + 1] = '\0';
		weir_buf_reset(&err);
		/* Even for a spec we could not use: the starter then learns why
		 * from the result instead of from a missing file. */
		if (result_path && *result_path) {
			if (weir_spec_write_atomic(result_path, line, n + 1, &err) == 0) {
				*written = true;
			} else {
				if (r.log.fd >= 0)
					weir_task_log(&r.ctx, "%s", err.buf);
				fprintf(stderr, "weir task run: %s\n", err.buf);
			}
		} else {
			fprintf(stderr, "weir task run: %s\n", r.ctx.message.buf);
		}
		/* The report line is our last act: starters end the try when it
		 * arrives, without waiting for our exit (taskrun.md).  So nothing
		 * of the log may still be buffered. */
		weir_tasklog_flush(&r.log);
		if (report_fd >= 0)
			write_all(report_fd, line, n + 1);
		free(line);
	}
	free(text);
	if (r.log.write_errno)
		fprintf(stderr, "weir task run: could not write the task log: %s\n",
			strerror(r.log.write_errno));

	weir_tasklog_close(&r.log);
	signals_restore(&sigs);
	json_decref(r.ctx.config);
	json_decref(r.ctx.env);
	json_decref(r.ctx.xcom);
	json_decref(tctx);
	weir_buf_release(&r.ctx.message);
	weir_buf_release(&r.xcom_err);
	weir_buf_release(&r.kill_note);
	weir_strvec_clear(&r.shared);
	weir_buf_release(&err);
	weir_buf_release(&path);
	weir_vec_release(&r.pre);
	return result;
}

json_t *weir_taskrun(json_t *spec, int report_fd)
{
	bool written;
	return taskrun(spec, report_fd, false, &written);
}

/* ------------------------------------------------------------------ */
/* weir task run                                                        */
/* ------------------------------------------------------------------ */

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
	va_list ap;

	fputs("weir task run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nusage: weir task run DAG RUN TASK --try N --attempt UUID --spec FILE "
	      "[--report-fd FD] [--lock-fd FD]\n",
	      stderr);
	return 2;
}

static int parse_fd(const char *opt, const char *s, int *out)
{
	int64_t v;

	if (weir_str_to_i64(s, &v) < 0 || v < 0 || v > INT_MAX)
		return usage("%s must be a file descriptor number, not \"%s\"", opt, s);
	if (fcntl((int)v, F_GETFD) < 0)
		return usage("%s %s is not an open file descriptor", opt, s);
	/* Not for the task's processes: a leftover holding the report pipe
	 * would delay the starter's EOF, one holding the lock would keep
	 * the try "alive". */
	fcntl((int)v, F_SETFD, FD_CLOEXEC);
	*out = (int)v;
	return 0;
}

/*
 * `weir task run` with its arguments.  offer_stay: we are a pooled runner
 * (weir_taskrun_standby); *stays tells whether the try ran to its report
 * line with the offer to take another (then the caller goes on).
 */
static int run_main(int argc, char **argv, bool offer_stay, bool *stays)
{
	static const struct option opts[] = {
		{"try", required_argument, NULL, 't'},
		{"attempt", required_argument, NULL, 'a'},
		{"spec", required_argument, NULL, 's'},
		{"report-fd", required_argument, NULL, 'r'},
		{"lock-fd", required_argument, NULL, 'l'},
		{0, 0, 0, 0},
	};
	const char *attempt = NULL, *spec_file = NULL;
	int64_t try_number = 0;
	int report_fd = -1, lock_fd = -1, c, rc;
	struct weir_buf b = WEIR_BUF_INIT(SPEC_MAX_BYTES);
	json_error_t jerr;
	json_t *spec, *result;
	bool written = false;
	char pid[32];

	*stays = false;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (weir_str_to_i64(optarg, &try_number) < 0 || try_number < 1 || try_number > INT_MAX)
				return usage("--try must be a whole number from 1, not \"%s\"", optarg);
			break;
		case 'a':
			attempt = optarg;
			break;
		case 's':
			spec_file = optarg;
			break;
		case 'r':
			if ((rc = parse_fd("--report-fd", optarg, &report_fd)) != 0)
				return rc;
			break;
		case 'l':
			if ((rc = parse_fd("--lock-fd", optarg, &lock_fd)) != 0)
				return rc;
			break;
		case ':':
			return usage("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 3)
		return usage("expected DAG RUN TASK, got %d argument%s", argc - optind,
			     argc - optind == 1 ? "" : "s");
	if (!try_number || !attempt || !spec_file)
		return usage("--try, --attempt and --spec are required");

	/* The starter learns our pid from the lock file at once. */
	if (lock_fd >= 0) {
		int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, pid, (size_t)n, 0) != n) {
			fprintf(stderr, "weir task run: could not write our pid to --lock-fd %d: %s\n",
				lock_fd, strerror(errno));
			return 1;
		}
	}
	rc = weir_buf_read_file(&b, spec_file);
	if (rc < 0) {
		fprintf(stderr, "weir task run: could not read spec \"%s\": %s\n", spec_file,
			rc == WEIR_ETOOBIG ? "larger than 64 MiB" : weir_strerror(rc));
		weir_buf_release(&b);
		return 1;
	}
	spec = json_loadb(b.buf, b.len, 0, &jerr);
	weir_buf_release(&b);
	if (!spec) {
		fprintf(stderr, "weir task run: invalid spec \"%s\": line %d: %s\n", spec_file, jerr.line,
			jerr.text);
		return 1;
	}
	/* The command line names the try; a spec for another one (a stale
	 * file, a mix-up) must not run, nor write that try's result. */
	{
		const char *want[] = {argv[optind], argv[optind + 1], argv[optind + 2], attempt};
		const char *keys[] = {"dag_id", "run_id", "task_id", "attempt_id"};
		for (size_t i = 0; i < 4; i++) {
			const char *got = json_string_value(json_object_get(spec, keys[i]));
			if (!got || strcmp(got, want[i])) {
				fprintf(stderr, "weir task run: spec \"%s\" has %s \"%s\", not \"%s\"\n", spec_file,
					keys[i], got ? got : "(none)", want[i]);
				json_decref(spec);
				return 1;
			}
		}
		if (json_integer_value(json_object_get(spec, "try_number")) != try_number) {
			fprintf(stderr, "weir task run: spec \"%s\" is not for try %lld\n", spec_file,
				(long long)try_number);
			json_decref(spec);
			return 1;
		}
	}
	result = taskrun(spec, report_fd, offer_stay, &written);
	*stays = json_is_true(json_object_get(result, "runner_stays"));
	json_decref(result);
	json_decref(spec);
	return written ? 0 : 1;
}

int weir_taskrun_main(int argc, char **argv)
{
	bool stays;
	return run_main(argc, argv, false, &stays);
}

/* ------------------------------------------------------------------ */
/* weir-task --standby                                                  */
/* ------------------------------------------------------------------ */

#define STANDBY_MAX_ARGS 32
#define STANDBY_MAX_BYTES (64 * 1024)

/*
 * One message: the try's arguments and its two fds.  Returns argc (> 0)
 * with argv (pointing into data) and fds filled, 0 on EOF, -1 on a bad
 * message or error (what it received is closed).
 */
static int standby_receive(int fd, char *data, char **argv, char rfd[32], char lfd[32], int fds[2])
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {data, STANDBY_MAX_BYTES};
	struct msghdr msg;
	struct cmsghdr *cm;
	int argc = 0, nfds = 0;
	ssize_t n;

	fds[0] = fds[1] = -1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0; /* no job: the scheduler closed our socket, or went away */
	for (cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int x;
				memcpy(&x, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (nfds < 2)
					fds[nfds] = x;
				else
					close(x);
				nfds++;
			}
		}
	}
	if (n < 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds != 2 || data[n - 1] != '\0') {
		fprintf(stderr, "weir-task --standby: %s\n",
			n < 0 ? strerror(errno) : "malformed job message");
		goto fail;
	}
	argv[argc++] = (char *)"weir-task";
	for (char *p = data; p < data + n; p += strlen(p) + 1) {
		if (argc >= STANDBY_MAX_ARGS) {
			fprintf(stderr, "weir-task --standby: too many arguments\n");
			goto fail;
		}
		argv[argc++] = p;
	}
	snprintf(rfd, 32, "--report-fd=%d", fds[0]);
	snprintf(lfd, 32, "--lock-fd=%d", fds[1]);
	argv[argc++] = rfd;
	argv[argc++] = lfd;
	argv[argc] = NULL;
	return argc;
fail:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fds[0] = fds[1] = -1;
	return -1;
}

int weir_taskrun_standby(int fd)
{
	static char data[STANDBY_MAX_BYTES + 1];
	char *argv[STANDBY_MAX_ARGS + 4], rfd[32], lfd[32];
	int fds[2], rc = 0;

	/* Ours alone: the programs we start must not inherit it. */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	for (;;) {
		bool stays = false;
		int argc = standby_receive(fd, data, argv, rfd, lfd, fds);

		if (argc <= 0) {
			rc = argc < 0;
			break;
		}
		rc = run_main(argc, argv, true, &stays);
		/* The try is over: its lock is released with our last fd of
		 * it, after the result file and the report line. */
		close(fds[0]);
		close(fds[1]);
		if (!stays || stop_signal)
			break;
	}
	close(fd);
	return rc;
}
