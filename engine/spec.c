/*
 * spec.c: task specs (what a try is) and the layout of a try's files.
 *
 * The spec is the whole contract between a starter and the task process
 * (taskrun.h), so everything that shapes it lives here: the template
 * context, the deadlines, the file paths.  See spec.h for the layout.
 */
#include "engine/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/connections.h"
#include "engine/dag.h"
#include "engine/taskrun.h"
#include "common/banned.h"

#define RESULT_MAX_BYTES (64u << 20)

/* ------------------------------------------------------------------ */
/* paths                                                                */
/* ------------------------------------------------------------------ */

static bool plain_byte(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr("_.:+=@,-", c) != NULL;
}

/* Appends "/" and s as one escaped path component. */
static void add_component(struct weir_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	weir_buf_addch(b, '/');
	if (!*s) {
		weir_buf_addstr(b, "%"); /* an empty id still gets a folder of its own */
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p && plain_byte(*p) && !(p == (const unsigned char *)s && *p == '.')) {
			weir_buf_addch(b, *p);
		} else {
			weir_buf_addch(b, '%');
			weir_buf_addch(b, hex[*p >> 4]);
			weir_buf_addch(b, hex[*p & 15]);
		}
	}
}

static void add_home(struct weir_buf *b, const char *home)
{
	size_t n = strlen(home);

	while (n > 1 && home[n - 1] == '/')
		n--;
	weir_buf_add(b, home, n);
}

char *weir_spec_try_path(const char *home, const char *dag_id, const char *run_id,
			 const char *task_id, int try_number, const char *suffix)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	add_home(&b, home);
	weir_buf_addstr(&b, "/logs");
	add_component(&b, dag_id);
	add_component(&b, run_id);
	add_component(&b, task_id);
	if (suffix)
		weir_buf_addf(&b, "/%d.%s", try_number, suffix);
	return weir_buf_detach(&b, NULL);
}

char *weir_spec_run_dir(const char *home, const char *dag_id, const char *run_id)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	add_home(&b, home);
	weir_buf_addstr(&b, "/runs");
	add_component(&b, dag_id);
	add_component(&b, run_id);
	return weir_buf_detach(&b, NULL);
}

int weir_spec_try_of(const char *name, const char *suffix)
{
	long v = 0;
	const char *p = name;

	if (*p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > 1000000)
			return 0;
	}
	if (*p != '.' || strcmp(p + 1, suffix))
		return 0;
	return (int)v;
}

int weir_spec_mkdirs(const char *dir, struct weir_buf *err)
{
	char *tmp;
	size_t n;
	int rc = 0;
	struct stat st0;

	/* Fast paths, one or two system calls (every task start comes here,
	 * in the scheduler and in the runner): the folder exists, or only
	 * its last component is missing. */
	if (stat(dir, &st0) == 0 && S_ISDIR(st0.st_mode))
		return 0;
	if (mkdir(dir, 0750) == 0)
		return 0;
	tmp = weir_xstrdup(dir);
	n = strlen(tmp);
	/* Walk down from the root, creating what is missing.  EEXIST is fine
	 * (another try of the same run may create the same folder now). */
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		if (tmp[i - 1] == '/')
			continue;
		char save = tmp[i];
		tmp[i] = '\0';
		if (mkdir(tmp, 0750) < 0 && errno != EEXIST) {
			rc = -errno;
			if (err)
				weir_buf_addf(err, "could not create folder \"%s\": %s", tmp, strerror(-rc));
			break;
		}
		tmp[i] = save;
	}
	if (rc == 0) {
		struct stat st;
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			rc = -ENOTDIR;
			if (err)
				weir_buf_addf(err, "could not create folder \"%s\": %s", dir, strerror(ENOTDIR));
		}
	}
	free(tmp);
	return rc;
}

static int parent_mkdirs(const char *path, struct weir_buf *err)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int rc;

	if (!slash || slash == path)
		return 0;
	dir = weir_xstrndup(path, (size_t)(slash - path));
	rc = weir_spec_mkdirs(dir, err);
	free(dir);
	return rc;
}

int weir_spec_write_atomic(const char *path, const char *data, size_t len, struct weir_buf *err)
{
	char *tmp = weir_xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = -1, rc;
	size_t off = 0;

	rc = parent_mkdirs(path, err);
	if (rc < 0)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		if (err)
			weir_buf_addf(err, "could not create \"%s\": %s", tmp, strerror(-rc));
		goto out;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			if (err)
				weir_buf_addf(err, "could not write \"%s\": %s", tmp, strerror(-rc));
			goto out;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		if (err)
			weir_buf_addf(err, "could not write \"%s\": %s", tmp, strerror(-rc));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		if (err)
			weir_buf_addf(err, "could not rename \"%s\" to \"%s\": %s", tmp, path, strerror(-rc));
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int weir_spec_write_json(const char *path, json_t *value, struct weir_buf *err)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc;

	if (!text)
		WEIR_BUG("json_dumps failed");
	weir_buf_addstr(&b, text);
	weir_buf_addch(&b, '\n');
	free(text);
	rc = weir_spec_write_atomic(path, b.buf, b.len, err);
	weir_buf_release(&b);
	return rc;
}

/* ------------------------------------------------------------------ */
/* the spec                                                             */
/* ------------------------------------------------------------------ */

static json_t *iso_json(int64_t us)
{
	char buf[WEIR_ISO_BUFSZ];
	return json_string(weir_iso_format(us, WEIR_ISO_OFFSET, buf));
}

static json_t *id_object(const char *id)
{
	return json_pack("{s:s}", "id", id);
}

static json_t *copy_or_empty(json_t *v)
{
	return v ? json_deep_copy(v) : json_object();
}

static char *run_dir_of(const struct weir_dag *dag, const struct weir_spec_run *run)
{
	return run->run_dir ? weir_xstrdup(run->run_dir) : weir_spec_run_dir(run->home, dag->id, run->run_id);
}

json_t *weir_spec_context(const struct weir_dag *dag, uint32_t task,
			  const struct weir_spec_run *run)
{
	struct weir_civil c;
	char buf[64];
	json_t *ctx = json_object();
	int64_t ld = run->logical_date;
	int64_t start = run->interval_start != WEIR_TIME_NONE ? run->interval_start : ld;
	int64_t end = run->interval_end != WEIR_TIME_NONE ? run->interval_end : ld;
	char *run_dir = run_dir_of(dag, run);

	WEIR_ASSERT(task < dag->ntasks);
	WEIR_ASSERT(run->run_id && ld != WEIR_TIME_NONE);
	weir_civil_from_us(ld, &c);
	snprintf(buf, sizeof(buf), "%04lld-%02u-%02u", (long long)c.year, c.month, c.day);
	json_object_set_new(ctx, "ds", json_string(buf));
	snprintf(buf, sizeof(buf), "%04lld%02u%02u", (long long)c.year, c.month, c.day);
	json_object_set_new(ctx, "ds_nodash", json_string(buf));
	json_object_set_new(ctx, "ts", iso_json(ld));
	snprintf(buf, sizeof(buf), "%04lld%02u%02uT%02u%02u%02u", (long long)c.year, c.month, c.day,
		 c.hour, c.min, c.sec);
	json_object_set_new(ctx, "ts_nodash", json_string(buf));
	json_object_set_new(ctx, "logical_date", iso_json(ld));
	json_object_set_new(ctx, "data_interval_start", iso_json(start));
	json_object_set_new(ctx, "data_interval_end", iso_json(end));
	json_object_set_new(ctx, "run_id", json_string(run->run_id));
	json_object_set_new(ctx, "dag", id_object(dag->id));
	json_object_set_new(ctx, "task", id_object(dag->tasks[task].id));
	json_object_set_new(ctx, "try_number", json_integer(run->try_number));
	json_object_set_new(ctx, "params", copy_or_empty(run->params));
	json_object_set_new(ctx, "conf", copy_or_empty(run->conf));
	json_object_set_new(ctx, "xcom", copy_or_empty(run->xcom));
	json_object_set_new(ctx, "run_dir", json_string(run_dir));
	free(run_dir);
	return ctx;
}

static json_t *limits_json(const struct weir_limits *l)
{
	json_t *o = json_object();

	if (l->memory_bytes)
		json_object_set_new(o, "memory_bytes", json_integer(l->memory_bytes));
	if (l->cpus > 0)
		json_object_set_new(o, "cpus", json_real(l->cpus));
	if (l->pids)
		json_object_set_new(o, "pids", json_integer(l->pids));
	if (l->nofile)
		json_object_set_new(o, "nofile", json_integer(l->nofile));
	if (l->cpu_seconds)
		json_object_set_new(o, "cpu_seconds", json_integer(l->cpu_seconds));
	if (json_object_size(o) == 0) {
		json_decref(o);
		return json_null();
	}
	return o;
}

json_t *weir_spec_build(const struct weir_dag *dag, uint32_t task, const struct weir_spec_run *run)
{
	const struct weir_task *t;
	json_t *spec, *down;
	int64_t start;
	char *path;

	WEIR_ASSERT(task < dag->ntasks);
	WEIR_ASSERT(run->run_id && run->attempt_id && run->home);
	WEIR_ASSERT(run->try_number >= 1);
	t = &dag->tasks[task];
	start = run->start_us != WEIR_TIME_NONE ? run->start_us : weir_now_us();

	spec = json_object();
	json_object_set_new(spec, "version", json_integer(WEIR_SPEC_VERSION));
	json_object_set_new(spec, "dag_id", json_string(dag->id));
	json_object_set_new(spec, "run_id", json_string(run->run_id));
	json_object_set_new(spec, "task_id", json_string(t->id));
	json_object_set_new(spec, "try_number", json_integer(run->try_number));
	json_object_set_new(spec, "max_tries", json_integer(t->retries + 1));
	json_object_set_new(spec, "attempt_id", json_string(run->attempt_id));
	json_object_set_new(spec, "operator", json_string(t->operator_name));
	json_object_set_new(spec, "config", t->config ? json_deep_copy(t->config) : json_object());
	if (t->env)
		json_object_set_new(spec, "env", json_deep_copy(t->env));
	json_object_set_new(spec, "context", weir_spec_context(dag, task, run));

	path = weir_spec_try_path(run->home, dag->id, run->run_id, t->id, run->try_number, WEIR_SPEC_LOG);
	json_object_set_new(spec, "log_path", json_string(path));
	free(path);
	path = weir_spec_try_path(run->home, dag->id, run->run_id, t->id, run->try_number,
				  WEIR_SPEC_RESULT);
	json_object_set_new(spec, "result_path", json_string(path));
	free(path);
	path = weir_spec_try_path(run->home, dag->id, run->run_id, t->id, run->try_number, WEIR_SPEC_XCOM);
	json_object_set_new(spec, "xcom_path", json_string(path));
	free(path);

	json_object_set_new(spec, "invalid_exit_code",
			    t->has_invalid_exit_code ? json_integer(t->invalid_exit_code) : json_null());
	json_object_set_new(spec, "branch", json_boolean(t->branch));
	down = json_array();
	for (uint32_t i = 0; i < t->n_downstream; i++)
		json_array_append_new(down, json_string(dag->tasks[t->downstream[i]].id));
	json_object_set_new(spec, "downstream", down);

	if (t->op && t->op->is_sensor) {
		int64_t s0 = run->sensor_start_us != WEIR_TIME_NONE ? run->sensor_start_us : start;
		json_object_set_new(spec, "sensor",
				    json_pack("{s:s, s:I, s:I, s:I}", "mode",
					      t->mode == WEIR_MODE_RESCHEDULE ? "reschedule" : "poke",
					      "poke_interval_ms", (json_int_t)(t->poke_interval_us / 1000),
					      "timeout_us", (json_int_t)t->sensor_timeout_us,
					      "deadline_us", (json_int_t)(s0 + t->sensor_timeout_us)));
	} else {
		json_object_set_new(spec, "sensor", json_null());
	}
	if (t->execution_timeout_us > 0) {
		json_object_set_new(spec, "deadline_us", json_integer(start + t->execution_timeout_us));
		json_object_set_new(spec, "execution_timeout_us", json_integer(t->execution_timeout_us));
	} else {
		json_object_set_new(spec, "deadline_us", json_null());
	}
	json_object_set_new(spec, "limits", limits_json(&t->limits));
	json_object_set_new(spec, "executor", json_string(weir_executor_name(t->executor)));
	if (t->executor == WEIR_EXECUTOR_CONTAINER && t->container) {
		/* The DAG's container section + what the starter knows. */
		json_t *ct = json_deep_copy(t->container);
		json_object_set_new(ct, "runtime", json_string(run->container_runtime ? run->container_runtime
											: "runc"));
		path = weir_xasprintf("%s/cache/images", run->home);
		json_object_set_new(ct, "cache_dir", json_string(path));
		free(path);
		json_object_set_new(spec, "container", ct);
	}
	json_object_set_new(spec, "xcom_max_bytes",
			    json_integer((json_int_t)(run->xcom_max_bytes ? run->xcom_max_bytes
									  : WEIR_SPEC_XCOM_MAX_DEFAULT)));
	{
		json_t *secrets = run->secrets ? json_deep_copy(run->secrets) : json_array();
		if (run->connections && json_is_object(run->connections)) {
			json_object_set_new(spec, "connections", json_deep_copy(run->connections));
			weir_connections_secrets(run->connections, secrets);
		} else {
			json_object_set_new(spec, "connections", json_object());
		}
		if (t->op && t->op->needs_store && run->database_url && *run->database_url) {
			char *pw = weir_conninfo_password(run->database_url);
			json_object_set_new(spec, "weir_database_url", json_string(run->database_url));
			json_array_append_new(secrets, json_string(run->database_url));
			if (pw && *pw)
				json_array_append_new(secrets, json_string(pw));
			free(pw);
		}
		json_object_set_new(spec, "secrets", secrets);
	}
	if (dag->file)
		json_object_set_new(spec, "dag_file", json_string(dag->file));
	return spec;
}

/* ------------------------------------------------------------------ */
/* results                                                              */
/* ------------------------------------------------------------------ */

static const char *const outcome_names[] = {
	[WEIR_OP_SUCCESS] = "success",   [WEIR_OP_FAILED] = "failed",
	[WEIR_OP_SKIPPED] = "skipped",   [WEIR_OP_INVALID] = "invalid",
	[WEIR_OP_RESCHEDULE] = "reschedule",
};

const char *weir_spec_outcome_name(enum weir_op_result r)
{
	return (unsigned)r < WEIR_ARRAY_SIZE(outcome_names) ? outcome_names[r] : "?";
}

int weir_spec_outcome_parse(const char *name, enum weir_op_result *out)
{
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(outcome_names); i++) {
		if (!strcmp(outcome_names[i], name)) {
			*out = (enum weir_op_result)i;
			return 0;
		}
	}
	return WEIR_EINVALID;
}

static bool int_or_null(json_t *v)
{
	return !v || json_is_integer(v) || json_is_null(v);
}

int weir_spec_result_parse(const char *text, size_t len, json_t **out, struct weir_buf *err)
{
	json_error_t jerr;
	json_t *r, *v;
	enum weir_op_result oc;

	r = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!r) {
		weir_buf_addf(err, "invalid result: %s", jerr.text);
		return WEIR_EINVALID;
	}
	if (!json_is_object(r)) {
		weir_buf_addf(err, "invalid result: not a JSON object");
		goto bad;
	}
	if (!json_is_string(json_object_get(r, "attempt_id"))) {
		weir_buf_addf(err, "invalid result: \"attempt_id\" must be a string");
		goto bad;
	}
	v = json_object_get(r, "outcome");
	if (!json_is_string(v) || weir_spec_outcome_parse(json_string_value(v), &oc) < 0) {
		weir_buf_addf(err, "invalid result: \"outcome\" must be one of success, failed, skipped, invalid, reschedule");
		goto bad;
	}
	if (!json_is_integer(json_object_get(r, "started_us")) ||
	    !json_is_integer(json_object_get(r, "ended_us"))) {
		weir_buf_addf(err, "invalid result: \"started_us\" and \"ended_us\" must be integers");
		goto bad;
	}
	if (!int_or_null(json_object_get(r, "exit_code"))) {
		weir_buf_addf(err, "invalid result: \"exit_code\" must be an integer or null");
		goto bad;
	}
	v = json_object_get(r, "message");
	if (v && !json_is_string(v) && !json_is_null(v)) {
		weir_buf_addf(err, "invalid result: \"message\" must be a string or null");
		goto bad;
	}
	v = json_object_get(r, "xcom");
	if (v && !json_is_object(v)) {
		weir_buf_addf(err, "invalid result: \"xcom\" must be an object");
		goto bad;
	}
	v = json_object_get(r, "branch");
	if (v && !json_is_null(v)) {
		size_t i;
		json_t *item;
		if (!json_is_array(v)) {
			weir_buf_addf(err, "invalid result: \"branch\" must be a list of task ids or null");
			goto bad;
		}
		json_array_foreach(v, i, item) {
			if (!json_is_string(item)) {
				weir_buf_addf(err, "invalid result: \"branch\" must be a list of task ids or null");
				goto bad;
			}
		}
	}
	v = json_object_get(r, "next_poke_us");
	if (!int_or_null(v) || (oc == WEIR_OP_RESCHEDULE && !json_is_integer(v))) {
		weir_buf_addf(err, "invalid result: \"next_poke_us\" must be an integer%s",
			      oc == WEIR_OP_RESCHEDULE ? " when the outcome is reschedule" : " or null");
		goto bad;
	}
	*out = r;
	return 0;
bad:
	json_decref(r);
	return WEIR_EINVALID;
}

int weir_spec_result_read(const char *path, json_t **out, struct weir_buf *err)
{
	struct weir_buf b = WEIR_BUF_INIT(RESULT_MAX_BYTES);
	int rc = weir_buf_read_file(&b, path);

	if (rc == -ENOENT)
		goto out;
	if (rc < 0) {
		weir_buf_addf(err, "could not read result \"%s\": %s", path, weir_strerror(rc));
		goto out;
	}
	rc = weir_spec_result_parse(b.buf, b.len, out, err);
out:
	weir_buf_release(&b);
	return rc;
}
