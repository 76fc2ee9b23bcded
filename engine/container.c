/*
 * container.c: the container executor (container.h).
 *
 * weir writes the OCI bundle itself and runs the operator's program with
 * `RUNTIME run --bundle DIR weir-ATTEMPT` in the foreground, stdio
 * inherited, so the runner reads its output like any local program's.
 * This file knows the runtimes (runc, crun, podman), OCI image layouts
 * (index.json -> manifest -> layers, unpacked once per manifest digest
 * into a cache), config.json, and the cleanup of containers and cgroups
 * by name.
 *
 *   spec.container ----load----> struct weir_container
 *                                  |
 *                  prepare: image? -> CACHE/sha256-HEX/rootfs (tar + merge)
 *                           bundle  -> LOG_DIR/TRY.bundle/{config.json,xcom/}
 *                           argv    -> runc run [--keep] --bundle B weir-ID
 *                                  |
 *     (taskrun.c runs argv, stops it with weir_container_signal)
 *                                  |
 *                  finish: OOM counter (with --keep), delete, rm bundle
 *
 * Invariants (docs/internals/container.md):
 *   - the container id is "weir-" + attempt id; its cgroup is /weir/ID;
 *   - the runtime's own process is never SIGKILLed while the container
 *     may live: stopping goes through `RUNTIME kill`, so the runtime
 *     sees its container exit and deletes it;
 *   - weir_container_cleanup(runtime, attempt) removes whatever is left
 *     (container, cgroup folders) and can run any time, from any process.
 *
 * Only libc and jansson: this code runs inside the lean runner weir-task.
 */
#include "engine/container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/proc.h"
#include "engine/spec.h"
#include "common/banned.h"

/* Helper commands (kill, delete) must not hang the runner or scheduler. */
#define HELPER_TIMEOUT_MS 10000
/* Unpacking one layer may take a while (large images). */
#define TAR_TIMEOUT_MS (10 * 60 * 1000)
/* index.json, manifests, image configs. */
#define IMAGE_JSON_MAX (4u << 20)
#define HELPER_OUTPUT_MAX (64u << 10)
#define CGROUP2_MAGIC 0x63677270
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/*
 * podman's global flags for every call: runc and cgroupfs whatever the
 * machine's containers.conf says (crun refuses hybrid cgroup hosts), so
 * kill and rm (which may run without our CONTAINERS_CONF, from the
 * scheduler's cleanup) see the container the way run made it.
 */
#define PODMAN_GLOBAL "--runtime=runc", "--cgroup-manager=cgroupfs", "--events-backend=file"

static const char *const runtime_names[] = {
	[WEIR_RUNTIME_RUNC] = "runc",
	[WEIR_RUNTIME_CRUN] = "crun",
	[WEIR_RUNTIME_PODMAN] = "podman",
};

int weir_container_runtime_parse(const char *name, enum weir_container_runtime *out)
{
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(runtime_names); i++) {
		if (!strcmp(name, runtime_names[i])) {
			*out = (enum weir_container_runtime)i;
			return 0;
		}
	}
	return WEIR_EINVALID;
}

/* ------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4), for image blob digests                         */
/* ------------------------------------------------------------------ */

struct sha256 {
	uint32_t h[8];
	uint64_t len;     /* bytes so far */
	uint8_t buf[64];
	size_t n;         /* bytes in buf */
};

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_init(struct sha256 *s)
{
	static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, h0, sizeof(h0));
	s->len = 0;
	s->n = 0;
}

static void sha256_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g, g = f, f = e, e = d + t1;
		d = c, c = b, b = a, a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->len += len;
	while (len > 0) {
		size_t take = 64 - s->n < len ? 64 - s->n : len;
		memcpy(s->buf + s->n, p, take);
		s->n += take;
		p += take;
		len -= take;
		if (s->n == 64) {
			sha256_block(s, s->buf);
			s->n = 0;
		}
	}
}

static void sha256_hex(struct sha256 *s, char hex[65])
{
	uint64_t bits = s->len * 8;
	uint8_t pad = 0x80, len8[8];

	sha256_update(s, &pad, 1);
	pad = 0;
	while (s->n != 56)
		sha256_update(s, &pad, 1);
	for (int i = 0; i < 8; i++)
		len8[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, len8, 8);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 8 * i, 9, "%08x", s->h[i]);
}

int weir_sha256_file(const char *path, char hex[65])
{
	struct sha256 s;
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	sha256_init(&s);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		sha256_update(&s, buf, (size_t)n);
	}
	close(fd);
	sha256_hex(&s, hex);
	return 0;
}

/* ------------------------------------------------------------------ */
/* files                                                                */
/* ------------------------------------------------------------------ */

static _Thread_local int rm_errno;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT && !rm_errno)
		rm_errno = errno;
	return 0;
}

/* rm -rf without following symlinks or crossing mount points.  0 or -errno. */
static int rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	rm_errno = 0;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && !rm_errno)
		rm_errno = errno;
	return -rm_errno;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *weir_container_fmt_size(int64_t n, char buf[32])
{
	static const char units[] = "TGMK";
	for (int i = 0; i < 4; i++) {
		int64_t u = INT64_C(1) << (10 * (4 - i));
		if (n >= u && n % u == 0) {
			snprintf(buf, 32, "%lld%c", (long long)(n / u), units[i]);
			return buf;
		}
	}
	snprintf(buf, 32, "%lld bytes", (long long)n);
	return buf;
}

/* A size like the DAG loader's: an integer, or "512M", "2G", "64Ki"... */
static int parse_size(json_t *v, int64_t *out)
{
	const char *s, *end;
	unsigned long long num;
	int64_t mult = 1;

	if (json_is_integer(v)) {
		if (json_integer_value(v) <= 0)
			return WEIR_EINVALID;
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return WEIR_EINVALID;
	s = json_string_value(v);
	if (!(*s >= '0' && *s <= '9'))
		return WEIR_EINVALID;
	errno = 0;
	num = strtoull(s, (char **)&end, 10);
	if (errno)
		return WEIR_EINVALID;
	if (*end == 'K' || *end == 'k')
		mult = INT64_C(1) << 10;
	else if (*end == 'M')
		mult = INT64_C(1) << 20;
	else if (*end == 'G')
		mult = INT64_C(1) << 30;
	else if (*end == 'T')
		mult = INT64_C(1) << 40;
	else if (*end)
		return WEIR_EINVALID;
	if (*end && strcmp(end + 1, "") && strcmp(end + 1, "i") && strcmp(end + 1, "iB"))
		return WEIR_EINVALID;
	if (num == 0 || num > (unsigned long long)(INT64_MAX / mult))
		return WEIR_EINVALID;
	*out = (int64_t)num * mult;
	return 0;
}

/* ------------------------------------------------------------------ */
/* helper processes                                                     */
/* ------------------------------------------------------------------ */

static bool hybrid_cgroups(void)
{
	struct statfs a, b;

	/* An empty cgroup2 hierarchy beside v1 controllers. */
	return statfs("/sys/fs/cgroup/unified", &a) == 0 && a.f_type == CGROUP2_MAGIC &&
	       statfs("/sys/fs/cgroup", &b) == 0 && b.f_type != CGROUP2_MAGIC;
}

static int ns_enter(enum weir_container_runtime rt, int saved[2], struct weir_buf *err)
{
	const char *step;
	bool entered = false;
	int e;

	saved[0] = saved[1] = -1;
	if (rt != WEIR_RUNTIME_CRUN || !hybrid_cgroups())
		return 0;
	step = "open /proc/self/ns/mnt";
	saved[0] = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (saved[0] < 0)
		goto fail;
	step = "open the working directory";
	saved[1] = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (saved[1] < 0)
		goto fail;
	step = "unshare the mount namespace";
	if (unshare(CLONE_NEWNS) < 0)
		goto fail;
	entered = true;
	step = "make mounts private";
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail;
	step = "unmount /sys/fs/cgroup/unified";
	if (umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0 && errno != EINVAL)
		goto fail;
	return 0;
fail:
	e = errno;
	if (entered) {
		weir_container_ns_leave(saved);
	} else {
		for (int i = 0; i < 2; i++)
			if (saved[i] >= 0)
				close(saved[i]);
		saved[0] = saved[1] = -1;
	}
	weir_buf_addf(err, "crun needs a private mount namespace without /sys/fs/cgroup/unified on this cgroup hybrid host, but could not %s: %s (run weir as root, or choose container_runtime runc)",
		      step, strerror(e));
	return -e;
}

int weir_container_ns_enter(const struct weir_container *c, int saved[2], struct weir_buf *err)
{
	return ns_enter(c->runtime, saved, err);
}

void weir_container_ns_leave(int saved[2])
{
	if (saved[0] >= 0) {
		/* setns() to a mount namespace also resets the working
		 * directory: put it back. */
		if (setns(saved[0], CLONE_NEWNS) < 0)
			WEIR_BUG("could not return to the original mount namespace: %s", strerror(errno));
		if (saved[1] >= 0 && fchdir(saved[1]) < 0) {
			/* The folder is gone: nothing better to do. */
		}
	}
	for (int i = 0; i < 2; i++) {
		if (saved[i] >= 0)
			close(saved[i]);
		saved[i] = -1;
	}
}

/*
 * Runs argv (PATH searched) with stdout + stderr into out (bounded),
 * for at most timeout_ms (then SIGKILL).  Returns the exit
 * code (128 + signal when killed), or -errno when it could not start
 * (message in out).
 */
static int run_helper(enum weir_container_runtime rt, const char *const *argv,
		      const char *const *env, int timeout_ms, struct weir_buf *out)
{
	struct weir_child c = WEIR_CHILD_INIT;
	int p[2] = {-1, -1}, saved[2], rc, status = 0;
	int64_t deadline = weir_mono_us() + (int64_t)timeout_ms * 1000;
	bool killed = false;

	if (pipe2(p, O_CLOEXEC) < 0) {
		weir_buf_addf(out, "could not create a pipe: %s", strerror(errno));
		return -errno;
	}
	c.argv = argv;
	c.env = env;
	c.out_fd = c.err_fd = p[1];
	/* In our process group: when the runner is stopped (the scheduler
	 * signals its group), a long tar goes with it. */
	c.new_session = false;
	rc = ns_enter(rt, saved, out);
	if (rc == 0) {
		rc = weir_child_start(&c, out);
		weir_container_ns_leave(saved);
	}
	close(p[1]);
	if (rc < 0) {
		close(p[0]);
		return rc;
	}
	for (;;) {
		char buf[4096];
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		int64_t left = (deadline - weir_mono_us()) / 1000;
		ssize_t n;

		if (left <= 0) {
			kill(c.pid, SIGKILL);
			killed = true;
			break;
		}
		if (poll(&pfd, 1, (int)(left > INT_MAX ? INT_MAX : left)) <= 0)
			continue;
		n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && out->len + (size_t)n < HELPER_OUTPUT_MAX)
			weir_buf_add(out, buf, (size_t)n);
	}
	close(p[0]);
	/* EOF: it has exited or closed its output; wait (bounded). */
	for (;;) {
		pid_t w = waitpid(c.pid, &status, WNOHANG);
		if (w == c.pid)
			break;
		if (w < 0 && errno != EINTR) {
			status = 0;
			break;
		}
		if (!killed && weir_mono_us() >= deadline) {
			kill(c.pid, SIGKILL);
			killed = true;
		}
		poll(NULL, 0, killed ? 10 : 2);
	}
	if (out)
		weir_buf_rtrim(out);
	return weir_proc_exit_code(status);
}

/* ------------------------------------------------------------------ */
/* the spec                                                             */
/* ------------------------------------------------------------------ */

static int add_mount_string(struct weir_container *c, const char *s, struct weir_buf *err)
{
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	struct weir_container_mount m = {0};

	if (!c1 || s[0] != '/' || c1[1] != '/' || (c2 && strcmp(c2, ":rw") && strcmp(c2, ":ro"))) {
		weir_buf_addf(err, "invalid container mount \"%s\": expected \"/host/path:/container/path[:rw]\"", s);
		return WEIR_EINVALID;
	}
	m.source = weir_xstrndup(s, (size_t)(c1 - s));
	m.target = c2 ? weir_xstrndup(c1 + 1, (size_t)(c2 - c1 - 1)) : weir_xstrdup(c1 + 1);
	m.readonly = !(c2 && !strcmp(c2, ":rw"));
	weir_vec_push(&c->mounts, m);
	return 0;
}

static void limits_from_json(json_t *l, struct weir_limits *out, bool raw, struct weir_buf *err)
{
	json_t *v;
	int64_t n;

	if (!json_is_object(l))
		return;
	/* The task's "limits" arrive parsed (memory_bytes ...); the
	 * container's own "limits" as written in the DAG (memory: 64M). */
	v = json_object_get(l, raw ? "memory" : "memory_bytes");
	if (v) {
		if (parse_size(v, &n) == 0)
			out->memory_bytes = n;
		else
			weir_buf_addf(err, "invalid container memory limit");
	}
	if ((v = json_object_get(l, "cpus")) && json_is_number(v) && json_number_value(v) > 0)
		out->cpus = json_number_value(v);
	if ((v = json_object_get(l, "pids")) && json_is_integer(v) && json_integer_value(v) > 0)
		out->pids = json_integer_value(v);
	if ((v = json_object_get(l, "nofile")) && json_is_integer(v) && json_integer_value(v) > 0)
		out->nofile = json_integer_value(v);
	if (!raw && (v = json_object_get(l, "cpu_seconds")) && json_is_integer(v))
		out->cpu_seconds = json_integer_value(v);
}

int weir_container_load(struct weir_container *c, json_t *spec, struct weir_buf *err)
{
	json_t *ct = json_object_get(spec, "container"), *v, *item;
	const char *attempt = json_string_value(json_object_get(spec, "attempt_id"));
	const char *rt;
	size_t i;

	if (!json_is_object(ct)) {
		weir_buf_addf(err, "invalid spec: executor container needs a \"container\" object");
		return WEIR_EINVALID;
	}
	if (!attempt || !*attempt || strlen(attempt) + 6 > sizeof(c->id) ||
	    strspn(attempt, "0123456789abcdefABCDEF-") != strlen(attempt)) {
		weir_buf_addf(err, "invalid spec: \"attempt_id\" must be a UUID for a container name");
		return WEIR_EINVALID;
	}
	snprintf(c->id, sizeof(c->id), "weir-%s", attempt);
	rt = json_string_value(json_object_get(ct, "runtime"));
	if (!rt || !*rt)
		rt = WEIR_CONTAINER_DEFAULT_RUNTIME;
	if (weir_container_runtime_parse(rt, &c->runtime) < 0) {
		weir_buf_addf(err, "unknown container runtime \"%s\" (expected runc, crun or podman; see the container_runtime setting)",
			      rt);
		return WEIR_EINVALID;
	}
	c->runtime_name = runtime_names[c->runtime];
	if ((v = json_object_get(ct, "rootfs")) && json_is_string(v))
		c->rootfs = weir_xstrdup(json_string_value(v));
	if ((v = json_object_get(ct, "image")) && json_is_string(v))
		c->image = weir_xstrdup(json_string_value(v));
	if (!c->rootfs == !c->image) {
		weir_buf_addf(err, "the container needs exactly one of \"rootfs\" (a directory) or \"image\" (an OCI image layout)");
		return WEIR_EINVALID;
	}
	if ((c->rootfs && c->rootfs[0] != '/') || (c->image && c->image[0] != '/')) {
		weir_buf_addf(err, "container %s \"%s\" must be an absolute path", c->rootfs ? "rootfs" : "image",
			      c->rootfs ? c->rootfs : c->image);
		return WEIR_EINVALID;
	}
	if ((v = json_object_get(ct, "cache_dir")) && json_is_string(v))
		c->cache_dir = weir_xstrdup(json_string_value(v));
	json_array_foreach(json_object_get(ct, "mounts"), i, item) {
		if (json_is_string(item)) {
			if (add_mount_string(c, json_string_value(item), err) < 0)
				return WEIR_EINVALID;
		} else if (json_is_object(item)) {
			const char *s = json_string_value(json_object_get(item, "source"));
			const char *t = json_string_value(json_object_get(item, "target"));
			json_t *ro = json_object_get(item, "readonly");
			struct weir_container_mount m;
			if (!s || !t || s[0] != '/' || t[0] != '/') {
				weir_buf_addf(err, "invalid container mount: \"source\" and \"target\" must be absolute paths");
				return WEIR_EINVALID;
			}
			m.source = weir_xstrdup(s);
			m.target = weir_xstrdup(t);
			m.readonly = !json_is_false(ro);
			weir_vec_push(&c->mounts, m);
		} else {
			weir_buf_addf(err, "invalid container mount: expected \"SRC:DST[:rw]\" or {source, target, readonly}");
			return WEIR_EINVALID;
		}
	}
	v = json_object_get(ct, "network");
	if (json_is_string(v) && !strcmp(json_string_value(v), "host"))
		c->host_network = true;
	else if (v && !json_is_null(v) && !(json_is_string(v) && !strcmp(json_string_value(v), "none"))) {
		weir_buf_addf(err, "invalid container network (expected none or host)");
		return WEIR_EINVALID;
	}
	if ((v = json_object_get(ct, "user")) && json_is_string(v)) {
		unsigned a, b;
		char x;
		if (sscanf(json_string_value(v), "%u:%u%c", &a, &b, &x) == 2) {
			c->uid = a;
			c->gid = b;
		} else if (sscanf(json_string_value(v), "%u%c", &a, &x) == 1) {
			c->uid = a;
			c->gid = a;
		} else {
			weir_buf_addf(err, "invalid container user \"%s\" (expected \"UID\" or \"UID:GID\")",
				      json_string_value(v));
			return WEIR_EINVALID;
		}
		c->has_user = true;
	}
	if ((v = json_object_get(ct, "hostname")) && json_is_string(v))
		c->hostname = weir_xstrdup(json_string_value(v));
	limits_from_json(json_object_get(spec, "limits"), &c->limits, false, err);
	limits_from_json(json_object_get(ct, "limits"), &c->limits, true, err);
	return err->len ? WEIR_EINVALID : 0;
}

void weir_container_release(struct weir_container *c)
{
	for (size_t i = 0; i < c->mounts.n; i++) {
		free(c->mounts.v[i].source);
		free(c->mounts.v[i].target);
	}
	weir_vec_release(&c->mounts);
	free(c->rootfs);
	free(c->image);
	free(c->cache_dir);
	free(c->hostname);
	free(c->bundle);
	free(c->root);
	free(c->xcom_file);
	weir_strvec_clear(&c->argv);
	weir_strvec_clear(&c->env);
	c->rootfs = c->image = c->cache_dir = c->hostname = c->bundle = c->root = c->xcom_file = NULL;
}

/* ------------------------------------------------------------------ */
/* OCI image layouts                                                    */
/* ------------------------------------------------------------------ */

/* "sha256:HEX" -> hex (64 lowercase digits), else NULL. */
static const char *digest_hex(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) || strlen(d + 7) != 64 ||
	    strspn(d + 7, "0123456789abcdef") != 64)
		return NULL;
	return d + 7;
}

/* Reads the blob of descriptor desc, checks its digest and size, parses it. */
static int read_blob_json(const char *layout, json_t *desc, json_t **out, struct weir_buf *err)
{
	const char *digest = json_string_value(json_object_get(desc, "digest"));
	const char *hex = digest_hex(digest);
	struct weir_buf b = WEIR_BUF_INIT(IMAGE_JSON_MAX);
	struct sha256 s;
	char got[65], *path;
	json_error_t jerr;
	int rc;

	if (!hex) {
		weir_buf_addf(err, "invalid image: unsupported digest \"%s\" (expected sha256:<64 hex digits>)",
			      digest ? digest : "(none)");
		return WEIR_EINVALID;
	}
	path = weir_xasprintf("%s/blobs/sha256/%s", layout, hex);
	rc = weir_buf_read_file(&b, path);
	if (rc < 0) {
		weir_buf_addf(err, "could not read image blob \"%s\": %s", path,
			      rc == WEIR_ETOOBIG ? "larger than 4 MiB" : weir_strerror(rc));
		goto out;
	}
	sha256_init(&s);
	sha256_update(&s, b.buf, b.len);
	sha256_hex(&s, got);
	if (strcmp(got, hex)) {
		weir_buf_addf(err, "invalid image: blob \"%s\" has digest sha256:%s, not %s", path, got, digest);
		rc = WEIR_EINVALID;
		goto out;
	}
	*out = json_loadb(b.buf, b.len, 0, &jerr);
	if (!*out) {
		weir_buf_addf(err, "invalid image: blob \"%s\" is not JSON: %s", path, jerr.text);
		rc = WEIR_EINVALID;
	}
out:
	free(path);
	weir_buf_release(&b);
	return rc;
}

static bool is_index_type(const char *mt)
{
	return mt && (!strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
		      !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

/*
 * The manifest descriptor to use from an index: the one named tag
 * (annotation org.opencontainers.image.ref.name), else the only one, else
 * "latest"; in a nested index (multi-platform), linux/amd64 first.
 */
static json_t *pick_manifest(json_t *index, const char *tag, bool nested, struct weir_buf *err)
{
	json_t *list = json_object_get(index, "manifests"), *m, *found = NULL;
	size_t i;

	if (!json_is_array(list) || json_array_size(list) == 0) {
		weir_buf_addf(err, "invalid image: index has no \"manifests\"");
		return NULL;
	}
	json_array_foreach(list, i, m) {
		json_t *ann = json_object_get(m, "annotations");
		const char *ref = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
		json_t *pf = json_object_get(m, "platform");
		if (nested) {
			const char *os = json_string_value(json_object_get(pf, "os"));
			const char *arch = json_string_value(json_object_get(pf, "architecture"));
			if (!found || (os && !strcmp(os, "linux") && arch && !strcmp(arch, "amd64")))
				found = m;
			continue;
		}
		if (tag ? (ref && !strcmp(ref, tag)) : (json_array_size(list) == 1 || (ref && !strcmp(ref, "latest")))) {
			found = m;
			break;
		}
	}
	if (!found) {
		if (tag)
			weir_buf_addf(err, "image has no manifest tagged \"%s\"", tag);
		else
			weir_buf_addf(err, "image has %zu manifests and none is tagged \"latest\": name one as \"image: DIR:TAG\"",
				      json_array_size(list));
	}
	return found;
}

/*
 * Moves the extracted layer in stage into root, applying its whiteouts
 * (".wh.NAME" deletes NAME of the lower layers, ".wh..wh..opq" empties
 * the folder) first.  Never follows a symlink: descends only into real
 * folders of both trees (lstat), replaces everything else by rename().
 */
static int merge_layer(const char *stage, const char *root, struct weir_buf *err)
{
	struct weir_strvec names = WEIR_STRVEC_INIT;
	DIR *d = opendir(stage);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		weir_buf_addf(err, "could not open \"%s\": %s", stage, strerror(errno));
		return -errno;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			weir_strvec_push(&names, e->d_name);
	closedir(d);

	/* 1. opaque folder, 2. whiteouts, 3. the rest */
	for (int pass = 0; pass < 3 && rc == 0; pass++) {
		for (size_t i = 0; i < names.n && rc == 0; i++) {
			const char *n = names.v[i];
			bool opq = !strcmp(n, ".wh..wh..opq"), wh = !opq && !strncmp(n, ".wh.", 4);
			char *src = weir_xasprintf("%s/%s", stage, n), *dst = NULL;
			struct stat ss, ds;

			if (pass == 0 && opq) {
				DIR *dd = opendir(root);
				while (dd && (e = readdir(dd))) {
					if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
						continue;
					dst = weir_xasprintf("%s/%s", root, e->d_name);
					rm_rf(dst);
					free(dst);
					dst = NULL;
				}
				if (dd)
					closedir(dd);
				unlink(src);
			} else if (pass == 1 && wh) {
				dst = weir_xasprintf("%s/%s", root, n + 4);
				rm_rf(dst);
				unlink(src);
			} else if (pass == 2 && !opq && !wh) {
				dst = weir_xasprintf("%s/%s", root, n);
				if (lstat(src, &ss) < 0) {
					rc = -errno;
					weir_buf_addf(err, "could not stat \"%s\": %s", src, strerror(errno));
				} else if (S_ISDIR(ss.st_mode) && lstat(dst, &ds) == 0 && S_ISDIR(ds.st_mode)) {
					rc = merge_layer(src, dst, err);
					if (rc == 0) {
						/* The upper layer's folder metadata wins. */
						if (lchown(dst, ss.st_uid, ss.st_gid) < 0 ||
						    chmod(dst, ss.st_mode & 07777) < 0) {
							/* not fatal */
						}
						rmdir(src);
					}
				} else {
					rm_rf(dst);
					if (rename(src, dst) < 0) {
						rc = -errno;
						weir_buf_addf(err, "could not move \"%s\" to \"%s\": %s", src, dst,
							      strerror(errno));
					}
				}
			}
			free(src);
			free(dst);
		}
	}
	weir_strvec_clear(&names);
	return rc;
}

static bool layer_type_ok(const char *mt)
{
	static const char *const ok[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
	};
	if (!mt)
		return true;
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(ok); i++)
		if (!strcmp(mt, ok[i]))
			return true;
	return false;
}

/* Unpacks the layers of manifest into dir/rootfs; saves the config as dir/image.json. */
static int unpack_image(const char *layout, json_t *manifest, json_t *config, const char *dir,
			struct weir_buf *err)
{
	char *rootfs = weir_xasprintf("%s/rootfs", dir), *stage = weir_xasprintf("%s/stage", dir);
	char *cfg = weir_xasprintf("%s/image.json", dir);
	json_t *layers = json_object_get(manifest, "layers"), *l;
	struct weir_buf out = WEIR_BUF_INIT(HELPER_OUTPUT_MAX);
	size_t i;
	int rc;

	rc = weir_spec_mkdirs(rootfs, err);
	if (rc < 0)
		goto out;
	chmod(rootfs, 0755);
	json_array_foreach(layers, i, l) {
		const char *mt = json_string_value(json_object_get(l, "mediaType"));
		const char *hex = digest_hex(json_string_value(json_object_get(l, "digest")));
		char got[65], *blob;
		const char *argv[] = {"tar", "--numeric-owner", "-xpf", NULL, "-C", stage, NULL};

		if (!layer_type_ok(mt)) {
			weir_buf_addf(err, "image layer %zu has unsupported media type \"%s\"", i, mt);
			rc = WEIR_ENOSUPPORT;
			goto out;
		}
		if (!hex) {
			weir_buf_addf(err, "invalid image: layer %zu has no sha256 digest", i);
			rc = WEIR_EINVALID;
			goto out;
		}
		blob = weir_xasprintf("%s/blobs/sha256/%s", layout, hex);
		rc = weir_sha256_file(blob, got);
		if (rc < 0 || strcmp(got, hex)) {
			if (rc < 0)
				weir_buf_addf(err, "could not read image layer \"%s\": %s", blob, strerror(-rc));
			else
				weir_buf_addf(err, "invalid image: layer \"%s\" has digest sha256:%s, not sha256:%s",
					      blob, got, hex);
			free(blob);
			rc = rc < 0 ? rc : WEIR_EINVALID;
			goto out;
		}
		rm_rf(stage);
		rc = weir_spec_mkdirs(stage, err);
		if (rc < 0) {
			free(blob);
			goto out;
		}
		argv[3] = blob;
		weir_buf_reset(&out);
		rc = run_helper(WEIR_RUNTIME_RUNC, argv, NULL, TAR_TIMEOUT_MS, &out);
		free(blob);
		if (rc != 0) {
			weir_buf_addf(err, "could not unpack image layer %zu with tar: %s", i,
				      out.len ? out.buf : rc > 0 ? "failed" : "could not start tar");
			rc = rc > 0 ? WEIR_ECHILD : rc;
			goto out;
		}
		rc = merge_layer(stage, rootfs, err);
		if (rc < 0)
			goto out;
	}
	rm_rf(stage);
	rc = weir_spec_write_json(cfg, config, err);
out:
	weir_buf_release(&out);
	free(rootfs);
	free(stage);
	free(cfg);
	return rc;
}

/*
 * Resolves c->image to an unpacked root filesystem in the cache
 * (CACHE/sha256-MANIFEST/rootfs, unpacked once: into a temporary folder,
 * then renamed, so a half-unpacked image is never used).  *env: the
 * image's Env (new reference).
 */
static int image_rootfs(struct weir_container *c, char **root, json_t **env, struct weir_buf *err)
{
	char *layout = weir_xstrdup(c->image), *tag = NULL, *p, *key = NULL, *tmp = NULL, *cfgp = NULL;
	json_t *index = NULL, *desc, *manifest = NULL, *nested = NULL, *config = NULL;
	struct weir_buf b = WEIR_BUF_INIT(IMAGE_JSON_MAX);
	json_error_t jerr;
	const char *hex;
	int rc;

	/* "DIR:TAG" unless DIR itself exists with that name. */
	p = strrchr(layout, ':');
	if (p && !strchr(p, '/') && !is_dir(layout)) {
		*p = '\0';
		tag = p + 1;
	}
	p = weir_xasprintf("%s/index.json", layout);
	rc = weir_buf_read_file(&b, p);
	if (rc < 0) {
		weir_buf_addf(err, "could not read OCI image layout \"%s\": %s", p,
			      rc == WEIR_ETOOBIG ? "larger than 4 MiB" : weir_strerror(rc));
		free(p);
		goto out;
	}
	free(p);
	index = json_loadb(b.buf, b.len, 0, &jerr);
	if (!json_is_object(index)) {
		weir_buf_addf(err, "invalid OCI image layout \"%s\": index.json: %s", layout,
			      index ? "not an object" : jerr.text);
		rc = WEIR_EINVALID;
		goto out;
	}
	desc = pick_manifest(index, tag, false, err);
	if (!desc) {
		rc = WEIR_ENOTFOUND;
		goto out;
	}
	if (is_index_type(json_string_value(json_object_get(desc, "mediaType")))) {
		rc = read_blob_json(layout, desc, &nested, err);
		if (rc < 0)
			goto out;
		desc = pick_manifest(nested, NULL, true, err);
		if (!desc) {
			rc = WEIR_ENOTFOUND;
			goto out;
		}
	}
	hex = digest_hex(json_string_value(json_object_get(desc, "digest")));
	if (!hex) {
		weir_buf_addf(err, "invalid image: the manifest has no sha256 digest");
		rc = WEIR_EINVALID;
		goto out;
	}
	if (!c->cache_dir) {
		weir_buf_addf(err, "invalid spec: images need \"container.cache_dir\"");
		rc = WEIR_EINVALID;
		goto out;
	}
	key = weir_xasprintf("%s/sha256-%s", c->cache_dir, hex);
	cfgp = weir_xasprintf("%s/image.json", key);
	if (!is_dir(key)) {
		rc = read_blob_json(layout, desc, &manifest, err);
		if (rc < 0)
			goto out;
		rc = read_blob_json(layout, json_object_get(manifest, "config"), &config, err);
		if (rc < 0)
			goto out;
		tmp = weir_xasprintf("%s/.sha256-%s.tmp.%ld", c->cache_dir, hex, (long)getpid());
		rm_rf(tmp);
		rc = unpack_image(layout, manifest, config, tmp, err);
		if (rc == 0 && rename(tmp, key) < 0 && !is_dir(key)) {
			rc = -errno;
			weir_buf_addf(err, "could not rename \"%s\" to \"%s\": %s", tmp, key, strerror(errno));
		}
		rm_rf(tmp); /* after a lost race, or a failure */
		if (rc < 0)
			goto out;
	}
	json_decref(config);
	weir_buf_reset(&b);
	config = NULL;
	rc = weir_buf_read_file(&b, cfgp);
	if (rc == 0)
		config = json_loadb(b.buf, b.len, 0, &jerr);
	if (!config) {
		weir_buf_addf(err, "could not read the unpacked image's config \"%s\" (remove the folder to unpack it again)",
			      cfgp);
		rc = WEIR_EINVALID;
		goto out;
	}
	*root = weir_xasprintf("%s/rootfs", key);
	{
		json_t *cc = json_object_get(config, "config");
		const char *user = json_string_value(json_object_get(cc, "User"));
		unsigned a, g;
		char x;
		*env = json_incref(json_object_get(cc, "Env"));
		if (!c->has_user && user && *user) {
			if (sscanf(user, "%u:%u%c", &a, &g, &x) == 2) {
				c->uid = a, c->gid = g, c->has_user = true;
			} else if (sscanf(user, "%u%c", &a, &x) == 1) {
				c->uid = a, c->gid = a, c->has_user = true;
			}
			/* A user name would need the image's /etc/passwd: not supported, root. */
		}
	}
	rc = 0;
out:
	json_decref(index);
	json_decref(nested);
	json_decref(manifest);
	json_decref(config);
	weir_buf_release(&b);
	free(layout);
	free(key);
	free(tmp);
	free(cfgp);
	return rc;
}

/* ------------------------------------------------------------------ */
/* config.json                                                          */
/* ------------------------------------------------------------------ */

static json_t *strings(const char *const *v)
{
	json_t *a = json_array();
	for (; v && *v; v++)
		json_array_append_new(a, json_string_nocheck(*v));
	return a;
}

static void add_sys_mount(json_t *mounts, const char *dst, const char *type, const char *src,
			  const char *const *opts)
{
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", type,
						"source", src, "options", strings(opts)));
}

struct bind {
	const char *source, *target;
	bool readonly;
	size_t depth;
	size_t seq;     /* order given: ties keep it */
};

static size_t depth(const char *p)
{
	size_t n = 0;
	for (; *p; p++)
		n += *p == '/' && p[1] && p[1] != '/';
	return n;
}

static int bind_cmp(const void *a, const void *b)
{
	const struct bind *x = a, *y = b;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

/*
 * A mount point that does not exist in the root filesystem is created
 * there by the runtime (in the host folder: the root is a bind mount of
 * it).  For targets under folders that do not exist (the run folder
 * HOME/runs/DAG/RUN), that would leave one empty tree per run in the
 * rootfs.  So the first missing folder on the way gets a small tmpfs:
 * only that one folder is ever created in the rootfs, the rest lives in
 * the tmpfs.  Targets under /tmp, /dev, /proc, /sys already are in a
 * filesystem of the container's own.
 */
static void missing_parent(const char *root, const char *target, struct weir_strvec *tmpfs)
{
	static const char *const own[] = {"/tmp", "/dev", "/proc", "/sys"};
	char *p = weir_xstrdup(target);
	struct stat st;

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(own); i++)
		if (under(target, own[i]))
			goto out;
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		char *full;
		int r;
		*s = '\0';
		full = weir_xasprintf("%s%s", root, p);
		r = lstat(full, &st);
		free(full);
		if (r < 0) {
			if (weir_strvec_find(tmpfs, p) < 0)
				weir_strvec_push(tmpfs, p);
			goto out;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
			goto out; /* the runtime reports it */
		*s = '/';
	}
out:
	free(p);
}

static json_t *caps_json(bool root)
{
	static const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};
	static const char *const none[] = {NULL};
	const char *const *eff = root ? caps : none;

	return json_pack("{s:o, s:o, s:o}", "bounding", strings(caps), "effective", strings(eff),
			 "permitted", strings(eff));
}

static json_t *build_config(struct weir_container *c, const char *const *argv,
			    const char *const *env, const char *cwd, const char *const *rw_dirs)
{
	static const char *const masked[] = {
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
		"/proc/scsi", NULL,
	};
	static const char *const ro_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
					       "/proc/sysrq-trigger", NULL};
	json_t *cfg, *mounts = json_array(), *ns = json_array(), *res, *rl = json_array(), *proc;
	WEIR_VEC(struct bind) binds = WEIR_VEC_INIT;
	struct weir_strvec tmpfs = WEIR_STRVEC_INIT;
	char *xdir = weir_xasprintf("%s/xcom", c->bundle);
	bool root_user = !c->has_user || c->uid == 0;

	add_sys_mount(mounts, "/proc", "proc", "proc",
		      (const char *const[]){"nosuid", "noexec", "nodev", NULL});
	add_sys_mount(mounts, "/dev", "tmpfs", "tmpfs",
		      (const char *const[]){"nosuid", "strictatime", "mode=755", "size=65536k", NULL});
	add_sys_mount(mounts, "/dev/pts", "devpts", "devpts",
		      (const char *const[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL});
	add_sys_mount(mounts, "/dev/shm", "tmpfs", "shm",
		      (const char *const[]){"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL});
	add_sys_mount(mounts, "/dev/mqueue", "mqueue", "mqueue",
		      (const char *const[]){"nosuid", "noexec", "nodev", NULL});
	add_sys_mount(mounts, "/sys", "sysfs", "sysfs",
		      (const char *const[]){"nosuid", "noexec", "nodev", "ro", NULL});
	add_sys_mount(mounts, "/tmp", "tmpfs", "tmpfs",
		      (const char *const[]){"nosuid", "nodev", "mode=1777", NULL});

	for (size_t i = 0; i < c->mounts.n; i++) {
		struct bind b = {c->mounts.v[i].source, c->mounts.v[i].target, c->mounts.v[i].readonly, 0, 0};
		weir_vec_push(&binds, b);
	}
	for (size_t i = 0; rw_dirs && rw_dirs[i]; i++) {
		struct bind b = {rw_dirs[i], rw_dirs[i], false, 0, 0};
		weir_vec_push(&binds, b);
	}
	{
		struct bind b = {xdir, xdir, false, 0, 0};
		weir_vec_push(&binds, b);
	}
	for (size_t i = 0; i < binds.n; i++) {
		binds.v[i].depth = depth(binds.v[i].target);
		binds.v[i].seq = i;
		missing_parent(c->root, binds.v[i].target, &tmpfs);
	}
	/* Parents before children (a mount inside another mount). */
	qsort(binds.v, binds.n, sizeof(*binds.v), bind_cmp);
	for (size_t i = 0; i < tmpfs.n; i++)
		add_sys_mount(mounts, tmpfs.v[i], "tmpfs", "tmpfs",
			      (const char *const[]){"nosuid", "nodev", "mode=755", "size=1m", NULL});
	for (size_t i = 0; i < binds.n; i++)
		add_sys_mount(mounts, binds.v[i].target, "bind", binds.v[i].source,
			      (const char *const[]){"rbind", "nosuid", "nodev",
						    binds.v[i].readonly ? "ro" : "rw", NULL});

	json_array_append_new(ns, json_pack("{s:s}", "type", "pid"));
	json_array_append_new(ns, json_pack("{s:s}", "type", "ipc"));
	json_array_append_new(ns, json_pack("{s:s}", "type", "uts"));
	json_array_append_new(ns, json_pack("{s:s}", "type", "mount"));
	if (!c->host_network)
		json_array_append_new(ns, json_pack("{s:s}", "type", "network"));

	res = json_pack("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access", "rwm");
	if (c->limits.memory_bytes > 0) {
		json_t *m = json_pack("{s:I}", "limit", (json_int_t)c->limits.memory_bytes);
		/* No swapping around the limit, where the kernel accounts swap
		 * (v1 needs memsw: swapaccount=1). */
		if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0 ||
		    access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
			json_object_set_new(m, "swap", json_integer((json_int_t)c->limits.memory_bytes));
		json_object_set_new(res, "memory", m);
	}
	if (c->limits.cpus > 0)
		json_object_set_new(res, "cpu", json_pack("{s:I, s:I}", "quota",
							  (json_int_t)(c->limits.cpus * 100000 + 0.5),
							  "period", (json_int_t)100000));
	if (c->limits.pids > 0)
		json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)c->limits.pids));

	{
		json_int_t nofile = c->limits.nofile > 0 ? (json_int_t)c->limits.nofile : 1024;
		json_array_append_new(rl, json_pack("{s:s, s:I, s:I}", "type", "RLIMIT_NOFILE", "hard", nofile,
						    "soft", nofile));
		if (c->limits.cpu_seconds > 0)
			json_array_append_new(rl, json_pack("{s:s, s:I, s:I}", "type", "RLIMIT_CPU", "hard",
							    (json_int_t)c->limits.cpu_seconds + 1, "soft",
							    (json_int_t)c->limits.cpu_seconds));
	}
	proc = json_pack("{s:b, s:{s:I, s:I}, s:o, s:o, s:s, s:o, s:o, s:b}", "terminal", 0, "user", "uid",
			 (json_int_t)c->uid, "gid", (json_int_t)c->gid, "args", strings(argv), "env",
			 strings(env), "cwd", cwd && *cwd ? cwd : "/", "capabilities", caps_json(root_user),
			 "rlimits", rl, "noNewPrivileges", 1);
	cfg = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:{s:o, s:s, s:o, s:o, s:o}}",
			"ociVersion", "1.0.2", "process", proc, "root", "path", c->root, "readonly", 1,
			"hostname", c->hostname ? c->hostname : "weir", "mounts", mounts, "linux",
			"namespaces", ns, "cgroupsPath", "", "resources", res, "maskedPaths", strings(masked),
			"readonlyPaths", strings(ro_paths));
	{
		char *cg = weir_xasprintf("/weir/%s", c->id);
		json_object_set_new(json_object_get(cfg, "linux"), "cgroupsPath", json_string(cg));
		free(cg);
	}
	weir_vec_release(&binds);
	weir_strvec_clear(&tmpfs);
	free(xdir);
	return cfg;
}

/* The environment inside: defaults (PATH, HOME, HOSTNAME), then the
 * image's Env, then the caller's entries; later ones win, name by name. */
static void inside_env(struct weir_container *c, json_t *image_env, const char *const *env,
		       struct weir_strvec *out)
{
	struct weir_strvec all = WEIR_STRVEC_INIT;
	size_t i;
	json_t *v;

	weir_strvec_push(&all, "PATH=" DEFAULT_PATH);
	weir_strvec_pushf(&all, "HOME=%s", !c->has_user || c->uid == 0 ? "/root" : "/");
	weir_strvec_pushf(&all, "HOSTNAME=%s", c->hostname ? c->hostname : "weir");
	json_array_foreach(image_env, i, v)
		if (json_is_string(v) && strchr(json_string_value(v), '='))
			weir_strvec_push(&all, json_string_value(v));
	for (i = 0; env && env[i]; i++)
		weir_strvec_push(&all, env[i]);
	weir_strvec_pushf(&all, "WEIR_XCOM_FILE=%s", c->xcom_file);
	/* Last one wins: keep an entry only when no later entry has its name. */
	for (i = 0; i < all.n; i++) {
		const char *eq = strchr(all.v[i], '=');
		size_t n = eq ? (size_t)(eq - all.v[i]) : strlen(all.v[i]);
		bool later = false;
		for (size_t j = i + 1; j < all.n && !later; j++)
			later = !strncmp(all.v[j], all.v[i], n) && all.v[j][n] == '=';
		if (!later)
			weir_strvec_push(out, all.v[i]);
	}
	weir_strvec_clear(&all);
}

/* podman: the same container through podman's own flags. */
static int podman_argv(struct weir_container *c, const char *const *argv, const char *const *env,
		       const char *cwd, const char *const *rw_dirs, struct weir_buf *err)
{
	struct weir_strvec *a = &c->argv;
	struct weir_buf envfile = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char *p, size[32];
	int rc;

	weir_strvec_push(a, "podman");
	{
		static const char *const global[] = {PODMAN_GLOBAL};
		for (size_t i = 0; i < WEIR_ARRAY_SIZE(global); i++)
			weir_strvec_push(a, global[i]);
	}
	weir_strvec_push(a, "run");
	weir_strvec_push(a, "--rm");
	weir_strvec_pushf(a, "--name=%s", c->id);
	weir_strvec_push(a, "--rootfs"); /* a flag: the root is the "image" below */
	weir_strvec_push(a, "--read-only");
	weir_strvec_push(a, "--read-only-tmpfs=false");
	weir_strvec_push(a, "--tmpfs=/tmp:rw,nosuid,nodev,mode=1777");
	weir_strvec_pushf(a, "--network=%s", c->host_network ? "host" : "none");
	weir_strvec_pushf(a, "--hostname=%s", c->hostname ? c->hostname : "weir");
	weir_strvec_pushf(a, "--user=%u:%u", (unsigned)c->uid, (unsigned)c->gid);
	weir_strvec_pushf(a, "--workdir=%s", cwd && *cwd ? cwd : "/");
	weir_strvec_push(a, "--security-opt=no-new-privileges");
	weir_strvec_push(a, "--cap-drop=all");
	weir_strvec_pushf(a, "--cgroup-parent=/weir");
	weir_strvec_push(a, "--log-driver=none");
	weir_strvec_push(a, "--interactive");
	if (c->limits.memory_bytes > 0) {
		weir_strvec_pushf(a, "--memory=%lld", (long long)c->limits.memory_bytes);
		weir_strvec_pushf(a, "--memory-swap=%lld", (long long)c->limits.memory_bytes);
	}
	if (c->limits.cpus > 0)
		weir_strvec_pushf(a, "--cpus=%g", c->limits.cpus);
	if (c->limits.pids > 0)
		weir_strvec_pushf(a, "--pids-limit=%lld", (long long)c->limits.pids);
	{
		long long nf = c->limits.nofile > 0 ? (long long)c->limits.nofile : 1024;
		struct rlimit rl;
		long long np = 32768;
		weir_strvec_pushf(a, "--ulimit=nofile=%lld:%lld", nf, nf);
		/* podman asks for more processes than root may have here
		 * (EPERM from setrlimit): not above our own hard limit. */
		if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
		    (long long)rl.rlim_max < np)
			np = (long long)rl.rlim_max;
		weir_strvec_pushf(a, "--ulimit=nproc=%lld:%lld", np, np);
	}
	for (size_t i = 0; i < c->mounts.n; i++)
		weir_strvec_pushf(a, "--volume=%s:%s:%s", c->mounts.v[i].source, c->mounts.v[i].target,
				  c->mounts.v[i].readonly ? "ro" : "rw");
	for (size_t i = 0; rw_dirs && rw_dirs[i]; i++)
		weir_strvec_pushf(a, "--volume=%s:%s:rw", rw_dirs[i], rw_dirs[i]);
	p = weir_xasprintf("%s/xcom", c->bundle);
	weir_strvec_pushf(a, "--volume=%s:%s:rw", p, p);
	free(p);
	/* The environment in a file, not on the command line (ps shows that). */
	for (size_t i = 0; env && env[i]; i++)
		if (!strchr(env[i], '\n'))
			weir_buf_addf(&envfile, "%s\n", env[i]);
	p = weir_xasprintf("%s/env", c->bundle);
	rc = weir_spec_write_atomic(p, envfile.buf, envfile.len, err);
	weir_strvec_pushf(a, "--env-file=%s", p);
	free(p);
	/* Options end at the image (podman does not intersperse). */
	weir_strvec_push(a, c->root);
	for (size_t i = 0; argv[i]; i++)
		weir_strvec_push(a, argv[i]);
	weir_buf_release(&envfile);
	(void)size;
	return rc;
}

/* podman's settings for this machine (../shared ENVIRONMENT: runc, and
 * ulimits it may raise as root here). */
static int podman_conf(struct weir_container *c, struct weir_buf *err)
{
	static const char conf[] =
		"# written by weir for one container (docs/containers.md)\n"
		"[containers]\n"
		"default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n"
		"[engine]\n"
		"runtime = \"runc\"\n"
		"cgroup_manager = \"cgroupfs\"\n"
		"events_logger = \"file\"\n";
	char *p = weir_xasprintf("%s/containers.conf", c->bundle);
	int rc = weir_spec_write_atomic(p, conf, sizeof(conf) - 1, err);

	weir_strvec_pushf(&c->env, "CONTAINERS_CONF=%s", p);
	free(p);
	return rc;
}

int weir_container_prepare(struct weir_container *c, const char *log_path,
			   const char *const *argv, const char *const *env, const char *cwd,
			   const char *const *rw_dirs, const char *const *host_env,
			   struct weir_buf *err)
{
	json_t *image_env = NULL, *cfg = NULL;
	struct weir_strvec inside = WEIR_STRVEC_INIT;
	char *p = NULL, *xdir = NULL;
	size_t n = strlen(log_path);
	int rc;

	/* the root filesystem */
	if (c->image) {
		rc = image_rootfs(c, &p, &image_env, err);
		if (rc < 0)
			goto out;
	} else {
		p = weir_xstrdup(c->rootfs);
	}
	c->root = realpath(p, NULL);
	if (!c->root || !is_dir(c->root)) {
		rc = c->root ? -ENOTDIR : -errno;
		weir_buf_addf(err, "container rootfs \"%s\" is not usable: %s", p, strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < c->mounts.n; i++) {
		struct stat st;
		if (stat(c->mounts.v[i].source, &st) < 0) {
			rc = -errno;
			weir_buf_addf(err, "container mount source \"%s\" is not usable: %s", c->mounts.v[i].source,
				      strerror(errno));
			goto out;
		}
	}

	/* the bundle, next to the log: TRY.log -> TRY.bundle */
	if (n > 4 && !strcmp(log_path + n - 4, ".log"))
		n -= 4;
	c->bundle = weir_xasprintf("%.*s.bundle", (int)n, log_path);
	rc = rm_rf(c->bundle); /* of an earlier attempt of this try */
	if (rc < 0) {
		weir_buf_addf(err, "could not remove the old bundle \"%s\": %s", c->bundle, strerror(-rc));
		goto out;
	}
	xdir = weir_xasprintf("%s/xcom", c->bundle);
	rc = weir_spec_mkdirs(xdir, err);
	if (rc < 0)
		goto out;
	if (c->has_user && c->uid != 0) {
		/* The task's user writes $WEIR_XCOM_FILE there. */
		if (chown(xdir, c->uid, c->gid) < 0)
			weir_buf_reset(err); /* not fatal: it only loses the XCom file */
	}
	c->xcom_file = weir_xasprintf("%s/xcom.json", xdir);
	inside_env(c, image_env, env, &inside);
	/* Only runc can keep a stopped container (--keep) so that its OOM
	 * counter can be read; crun has no such flag, and podman deletes
	 * the cgroup anyway (its State.OOMKilled stays false on this kind
	 * of host). */
	c->keep = c->limits.memory_bytes > 0 && c->runtime == WEIR_RUNTIME_RUNC;

	for (size_t i = 0; host_env && host_env[i]; i++)
		weir_strvec_push(&c->env, host_env[i]);
	if (c->runtime == WEIR_RUNTIME_PODMAN) {
		rc = podman_conf(c, err);
		if (rc == 0)
			rc = podman_argv(c, argv, (const char *const *)inside.v, cwd, rw_dirs, err);
		goto out;
	}
	cfg = build_config(c, argv, (const char *const *)inside.v, cwd, rw_dirs);
	free(p);
	p = weir_xasprintf("%s/config.json", c->bundle);
	rc = weir_spec_write_json(p, cfg, err);
	if (rc < 0)
		goto out;
	weir_strvec_push(&c->argv, c->runtime_name);
	weir_strvec_push(&c->argv, "run");
	if (c->keep)
		weir_strvec_push(&c->argv, "--keep");
	weir_strvec_push(&c->argv, "--bundle");
	weir_strvec_push(&c->argv, c->bundle);
	weir_strvec_push(&c->argv, c->id);
out:
	if (rc == 0)
		c->started = true; /* from now on the runtime may create it */
	json_decref(image_env);
	json_decref(cfg);
	weir_strvec_clear(&inside);
	free(p);
	free(xdir);
	return rc;
}

/* ------------------------------------------------------------------ */
/* stopping, OOM, cleanup                                               */
/* ------------------------------------------------------------------ */

int weir_container_signal(struct weir_container *c, int sig, struct weir_buf *err)
{
	struct weir_buf out = WEIR_BUF_INIT(HELPER_OUTPUT_MAX);
	char signum[16];
	int rc;

	snprintf(signum, sizeof(signum), "%d", sig);
	if (c->runtime == WEIR_RUNTIME_PODMAN) {
		const char *argv[] = {"podman", PODMAN_GLOBAL, "kill", "--signal", signum, c->id, NULL};
		rc = run_helper(c->runtime, argv, (const char *const *)c->env.v, HELPER_TIMEOUT_MS, &out);
	} else {
		const char *argv[] = {c->runtime_name, "kill", "--all", c->id, signum, NULL};
		rc = run_helper(c->runtime, argv, NULL, HELPER_TIMEOUT_MS, &out);
	}
	if (rc != 0 && err)
		weir_buf_addf(err, "%s kill %s: %s", c->runtime_name, c->id,
			      out.len ? out.buf : "failed");
	weir_buf_release(&out);
	return rc == 0 ? 0 : rc > 0 ? WEIR_ECHILD : rc;
}

/* "KEY N" from a cgroup file: N, or -1. */
static long long cgroup_counter(const char *path, const char *key)
{
	struct weir_buf b = WEIR_BUF_INIT(1u << 16);
	long long v = -1;
	size_t kn = strlen(key);

	if (weir_buf_read_file(&b, path) == 0) {
		for (char *line = b.buf; line && *line;) {
			char *nl = strchr(line, '\n');
			if (!strncmp(line, key, kn) && line[kn] == ' ')
				v = atoll(line + kn + 1);
			line = nl ? nl + 1 : NULL;
		}
	}
	weir_buf_release(&b);
	return v;
}

bool weir_container_oom_killed(const struct weir_container *c)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/weir/%s/memory.oom_control", c->id);
	if (cgroup_counter(path, "oom_kill") > 0)
		return true;
	snprintf(path, sizeof(path), "/sys/fs/cgroup/weir/%s/memory.events", c->id);
	return cgroup_counter(path, "oom_kill") > 0;
}

/* Removes the cgroup folders weir-ID under every hierarchy. */
static int rm_cgroups(const char *id)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *e;
	char path[PATH_MAX];
	int removed = 0;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/weir/%s", id);
	removed += rmdir(path) == 0;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/weir/%s", e->d_name, id);
		removed += rmdir(path) == 0;
	}
	if (d)
		closedir(d);
	return removed;
}

int weir_container_cleanup(const char *runtime, const char *attempt_id, struct weir_buf *err)
{
	enum weir_container_runtime rt = WEIR_RUNTIME_RUNC;
	struct weir_buf out = WEIR_BUF_INIT(HELPER_OUTPUT_MAX);
	char id[WEIR_CONTAINER_ID_MAX], state[PATH_MAX];
	bool existed;
	int rc = 0;

	if (runtime && *runtime && weir_container_runtime_parse(runtime, &rt) < 0) {
		if (err)
			weir_buf_addf(err, "unknown container runtime \"%s\"", runtime);
		return WEIR_EINVALID;
	}
	if (!attempt_id || strlen(attempt_id) + 6 > sizeof(id) || strchr(attempt_id, '/'))
		return WEIR_EINVALID;
	snprintf(id, sizeof(id), "weir-%s", attempt_id);
	if (rt == WEIR_RUNTIME_PODMAN) {
		const char *argv[] = {"podman", PODMAN_GLOBAL, "rm", "--force", "--ignore", "--time=0", id, NULL};
		rc = run_helper(rt, argv, NULL, HELPER_TIMEOUT_MS, &out);
		existed = rc == 0 && out.len > 0;
	} else {
		/* The runtime's state folder (root: /run/runc, /run/crun) says
		 * whether there is anything; `delete --force` of an unknown id
		 * succeeds silently, so ask it only when there is. */
		snprintf(state, sizeof(state), "/run/%s/%s", runtime_names[rt], id);
		existed = access(state, F_OK) == 0 || geteuid() != 0;
		if (existed) {
			const char *argv[] = {runtime_names[rt], "delete", "--force", id, NULL};
			rc = run_helper(rt, argv, NULL, HELPER_TIMEOUT_MS, &out);
			if (geteuid() != 0)
				existed = false; /* unknown: do not claim */
		}
	}
	if (rc != 0 && err)
		weir_buf_addf(err, "could not delete container %s with %s: %s", id, runtime_names[rt],
			      out.len ? out.buf : "failed");
	if (rm_cgroups(id) > 0)
		existed = true;
	weir_buf_release(&out);
	if (rc != 0)
		return rc > 0 ? WEIR_ECHILD : rc;
	return existed ? 1 : 0;
}

int weir_container_finish(struct weir_container *c, bool cleanup, const char *xcom_dest,
			  struct weir_buf *err)
{
	int rc = 0;

	if (c->xcom_file && xcom_dest && access(c->xcom_file, F_OK) == 0 &&
	    rename(c->xcom_file, xcom_dest) < 0) {
		rc = -errno;
		weir_buf_addf(err, "could not move the XCom file \"%s\" to \"%s\": %s", c->xcom_file, xcom_dest,
			      strerror(errno));
	}
	if (c->started && (cleanup || c->keep)) {
		const char *attempt = c->id + 5;
		int r = weir_container_cleanup(c->runtime_name, attempt, rc == 0 ? err : NULL);
		if (r < 0 && rc == 0)
			rc = r;
	}
	c->started = false;
	if (c->bundle) {
		int r = rm_rf(c->bundle);
		if (r < 0 && rc == 0) {
			rc = r;
			weir_buf_addf(err, "could not remove the bundle \"%s\": %s", c->bundle, strerror(-r));
		}
	}
	return rc;
}
