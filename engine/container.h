/*
 * container.h: the container executor (`executor: container`).
 *
 * The task runner stays outside the container; only the operator's
 * process runs inside, through a real OCI runtime (runc by default, crun,
 * podman).  weir_task_spawn() (taskrun.c) asks this module for the
 * runtime's command line and runs it exactly like a local program: same
 * pipes, same log, same `::xcom` parsing, same deadline.  What differs is
 * how it is stopped (through the runtime, never by killing the runtime's
 * own process) and the cleanup afterwards.
 *
 * CALLING PROTOCOL (one try):
 *
 *   struct weir_container c = WEIR_CONTAINER_INIT;
 *   1. weir_container_load(&c, spec, err)    the spec's "container" object
 *   2. weir_container_prepare(&c, ...)       image unpack (cached), bundle,
 *                                             config.json, runtime argv
 *   3. start c.argv with c.env (proc.h); for crun bracket the start with
 *      weir_container_ns_enter()/_leave()
 *   4. to stop it: weir_container_signal(&c, SIGTERM/SIGKILL)
 *   5. after the runtime process exited: weir_container_oom_killed(&c),
 *      weir_container_finish(&c) (deletes what is left, the bundle)
 *   6. weir_container_release(&c)
 *
 * NAMES: the container id is "weir-" + the attempt id (a UUID), so it is
 * unique and can be found again from the database after any crash;
 * the cgroup path given to the runtime is /weir/<id>.
 *
 * BUNDLE: LOG_DIR/TRY.bundle/ (next to TRY.log): config.json and xcom/,
 * the folder that holds $WEIR_XCOM_FILE inside the container.  The root
 * filesystem is not copied: config.json names the rootfs directory (or
 * the unpacked image in the cache) and mounts it read-only.  See
 * docs/internals/container.md for the layout and the crash rules.
 *
 * None of these functions is safe between fork and exec or in a signal
 * handler.  They start short-lived helper processes (the runtime's kill
 * and delete, tar) and wait for them by pid, so a caller that reaps with
 * waitpid(-1) must not do so concurrently (the scheduler is
 * single-threaded: fine).  Links only libc and jansson.
 */
#ifndef WEIR_CONTAINER_H
#define WEIR_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/vec.h"
#include "engine/dag.h"

/* "weir-" + a UUID + NUL, with room to spare. */
#define WEIR_CONTAINER_ID_MAX 64
/* The runtime used when the spec names none (config container_runtime). */
#define WEIR_CONTAINER_DEFAULT_RUNTIME "runc"

enum weir_container_runtime {
	WEIR_RUNTIME_RUNC,
	WEIR_RUNTIME_CRUN,
	WEIR_RUNTIME_PODMAN,
};

struct weir_container_mount {
	char *source;   /* host path (absolute) */
	char *target;   /* path inside the container (absolute) */
	bool readonly;
};

struct weir_container {
	/* from the spec (weir_container_load) */
	enum weir_container_runtime runtime;
	const char *runtime_name;  /* "runc", "crun", "podman" (static) */
	char *rootfs;              /* a directory; NULL when image */
	char *image;               /* OCI image layout "DIR" or "DIR:TAG"; NULL when rootfs */
	char *cache_dir;           /* where images are unpacked (spec) */
	WEIR_VEC(struct weir_container_mount) mounts;
	bool host_network;         /* network: host (default none) */
	bool has_user;
	uid_t uid;
	gid_t gid;
	char *hostname;            /* NULL: "weir" */
	struct weir_limits limits; /* task limits, container.limits override */
	char id[WEIR_CONTAINER_ID_MAX];

	/* set by weir_container_prepare */
	char *bundle;              /* LOG_DIR/TRY.bundle */
	char *root;                /* the root filesystem used */
	char *xcom_file;           /* $WEIR_XCOM_FILE inside (same path outside) */
	struct weir_strvec argv;   /* the runtime's command line */
	struct weir_strvec env;    /* the runtime process's environment */
	bool keep;                 /* runc run --keep: read the OOM counter, then delete */

	/* private */
	bool started;              /* the runtime may have created the container */
};

#define WEIR_CONTAINER_INIT                                                          \
	{                                                                            \
		.mounts = WEIR_VEC_INIT, .argv = WEIR_STRVEC_INIT, .env = WEIR_STRVEC_INIT, \
	}

/*
 * Reads the spec's "container" object (rootfs | image, mounts, network,
 * user, hostname, limits, runtime, cache_dir), the task's "limits"
 * (container.limits override them key by key) and "attempt_id".
 * Returns 0 or WEIR_EINVALID with one message in err.
 */
int weir_container_load(struct weir_container *c, json_t *spec, struct weir_buf *err);

/*
 * Gets everything ready for one run of argv (the operator's program, run
 * inside): unpacks the image into the cache when needed, creates the
 * bundle (removing a stale one of an earlier attempt of the same try),
 * writes config.json with env (the process environment inside, borrowed)
 * and cwd (absolute, inside), and fills c->argv/c->env (the runtime's
 * command line and environment; host_env is the environment the runtime
 * itself runs with).  rw_dirs: host folders (NULL-terminated) bind-mounted
 * read-write at the same path, such as the run's run_dir.
 * Returns 0 or an error with one message in err.
 */
int weir_container_prepare(struct weir_container *c, const char *log_path,
			   const char *const *argv, const char *const *env, const char *cwd,
			   const char *const *rw_dirs, const char *const *host_env,
			   struct weir_buf *err);

/*
 * Signals the container's processes through the runtime (`runc kill
 * --all ID SIG`): SIGTERM reaches every process (not only pid 1, which
 * ignores it unless it installs a handler); SIGKILL ends the whole pid
 * namespace.  Waits for the runtime's command (at most 10 s).  0 or an
 * error with a message in err (may be NULL).
 */
int weir_container_signal(struct weir_container *c, int sig, struct weir_buf *err);

/*
 * True when the kernel's OOM killer killed a process of the container
 * (cgroup v1 memory.oom_control or v2 memory.events, "oom_kill N > 0").
 * Meaningful only after a run with c->keep (runc only, when a memory
 * limit is set: the stopped container and its cgroup still exist).
 */
bool weir_container_oom_killed(const struct weir_container *c);

/*
 * After the runtime's process exited: moves $WEIR_XCOM_FILE (if the
 * task wrote one) to xcom_dest (may be NULL), deletes the container when
 * cleanup is set or the runtime kept it (--keep), then removes the
 * bundle folder.  Pass cleanup when the run did not end normally (the
 * runtime was killed, failed, or the exit code is not 0): the container
 * may still be there.  Returns 0 or an error with a message in err;
 * best effort either way.
 */
int weir_container_finish(struct weir_container *c, bool cleanup, const char *xcom_dest,
			  struct weir_buf *err);

void weir_container_release(struct weir_container *c);

/*
 * Makes sure the container of attempt_id is gone: when the runtime still
 * knows "weir-ATTEMPT", kills it (SIGKILL) and deletes it (`runc delete
 * --force`), then removes any cgroup folder weir-ATTEMPT left under
 * /sys/fs/cgroup/{...}/weir/.  runtime NULL means the default.  For the
 * scheduler's recovery of a lost try and the runner's exit path.
 * Returns 1 when something was removed, 0 when nothing was there, or an
 * error with a message in err (may be NULL).  Blocks for as long as the
 * runtime needs (bounded: 10 s per command).
 */
int weir_container_cleanup(const char *runtime, const char *attempt_id, struct weir_buf *err);

/*
 * crun refuses cgroup "hybrid" hosts (v1 controllers + an empty unified
 * hierarchy).  It runs fine in a private mount namespace where
 * /sys/fs/cgroup/unified is unmounted: _enter moves the calling thread
 * into such a namespace (children started now inherit it), _leave moves
 * it back (and restores its working directory).  No-ops for other
 * runtimes and where /sys/fs/cgroup/unified is not mounted.  _enter
 * returns 0 or -errno with a message in err; *saved is for _leave.
 */
int weir_container_ns_enter(const struct weir_container *c, int saved[2], struct weir_buf *err);
void weir_container_ns_leave(int saved[2]);

/* Memory sizes for messages: "64M", "1G", "1536K", "1000 bytes"; returns buf. */
char *weir_container_fmt_size(int64_t n, char buf[32]);

/* Parses a runtime name; 0 or WEIR_EINVALID. */
int weir_container_runtime_parse(const char *name, enum weir_container_runtime *out);

/*
 * SHA-256 of a file as 64 lowercase hex digits (+ NUL).  Returns 0 or
 * -errno.  (OCI images name blobs by their digest; exposed for tests.)
 */
int weir_sha256_file(const char *path, char hex[65]);

#endif
