/*
 * script.c: the runner behind the python and node operators (script.h).
 *
 *   script: etl/clean.py      a file (relative: to the DAG file's folder)
 *   code: |                   ... or the program itself (templated like
 *     print(...)              every string: write {{ '{{' }} for "{{")
 *   interpreter: python3.11   default python3 / node (PATH searched)
 *   args: [--fast]            more arguments for the script
 *   cwd: sub                  working directory (default: the run_dir)
 *
 * Input on stdin: {"params", "conf", "xcom" (upstream outputs),
 * "context" (ds, run_id, dag, task, ...)}.  Output: the last non-blank
 * stdout line, when it is a JSON object, becomes XCom return_value;
 * `::xcom KEY=JSON` lines and $WEIR_XCOM_FILE work as for command.
 *
 * Outcome: exit code 0 success, invalid_exit_code INVALID, else failure
 * with the exception's name when the bootstrap saw one.  Memory: the
 * task's limits.memory (spec: limits.memory_bytes) is an address-space
 * limit (RLIMIT_AS) for the interpreter (set by weir_task_spawn); Python
 * then raises
 * MemoryError, which fails the try with "ran out of memory".
 *
 * Inline code and the status file live in a private temporary folder
 * that is removed when the operator returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "common/vec.h"
#include "common/xalloc.h"
#include "operators/ops_int.h"
#include "operators/script.h"
#include "common/banned.h"

const char *const weir__script_keys[] = {"script", "code", "interpreter", "args", "cwd", NULL};

void weir__script_validate(const struct weir_node *task, struct weir_diags *d)
{
	const struct weir_node *s = weir_node_get(task, "script"), *c = weir_node_get(task, "code");
	const struct weir_node *op = weir_node_get(task, "operator");
	const char *name = op && op->kind == WEIR_NODE_SCALAR ? op->str : "script";

	if (s && c)
		weir_diag_at(d, weir_node_key(task, "code"),
			     "use either \"script\" (a file) or \"code\" (the program), not both");
	else if (!s && !c)
		weir_diag_at(d, task, "%s task needs \"script\" (a file) or \"code\" (the program itself)", name);
	weir__op_want_text(task, "script", false, d);
	weir__op_want_text(task, "code", false, d);
	weir__op_want_text(task, "interpreter", false, d);
	weir__op_want_text(task, "cwd", false, d);
	weir_op_want_string_list(task, "args", false, d);
}

/* ------------------------------------------------------------------ */

/* name searched in path (colon-separated); a new string, or NULL. */
static char *find_program(const char *name, const char *path)
{
	const char *p = path;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? weir_xstrdup(name) : NULL;
	while (p && *p) {
		size_t n = strcspn(p, ":");
		char *full = weir_xasprintf("%.*s/%s", (int)(n ? n : 1), n ? p : ".", name);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
			return full;
		free(full);
		p += n;
		if (*p == ':')
			p++;
	}
	return NULL;
}

static char *fmt_bytes(int64_t b)
{
	if (b >= (INT64_C(1) << 30) && b % (INT64_C(1) << 30) == 0)
		return weir_xasprintf("%lld GiB", (long long)(b >> 30));
	if (b >= (1 << 20))
		return weir_xasprintf("%lld MiB", (long long)(b >> 20));
	return weir_xasprintf("%lld bytes", (long long)b);
}

static int64_t memory_limit(struct weir_task_ctx *ctx)
{
	json_t *v = json_object_get(json_object_get(ctx->spec, "limits"), "memory_bytes");
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* {"params", "conf", "xcom", "context"}: the script's standard input. */
static char *input_text(struct weir_task_ctx *ctx)
{
	json_t *in = json_object(), *rest = json_object();
	const char *k;
	json_t *v;
	char *text;

	json_object_foreach(ctx->context, k, v) {
		if (!strcmp(k, "params") || !strcmp(k, "conf") || !strcmp(k, "xcom"))
			json_object_set(in, k, v);
		else if (strcmp(k, "env"))
			json_object_set(rest, k, v);
	}
	if (!json_object_get(in, "params"))
		json_object_set_new(in, "params", json_object());
	if (!json_object_get(in, "conf"))
		json_object_set_new(in, "conf", json_object());
	if (!json_object_get(in, "xcom"))
		json_object_set_new(in, "xcom", json_object());
	json_object_set_new(in, "context", rest);
	text = json_dumps(in, JSON_COMPACT);
	json_decref(in);
	if (!text)
		WEIR_BUG("json_dumps failed");
	return text;
}

static int write_file(const char *path, const char *text, struct weir_buf *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0, len = strlen(text);

	if (fd < 0) {
		weir_buf_setf(err, "could not create \"%s\": %s", path, strerror(errno));
		return -errno;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			weir_buf_setf(err, "could not write \"%s\": %s", path, strerror(e));
			close(fd);
			return -e;
		}
		off += (size_t)w;
	}
	close(fd);
	return 0;
}

static size_t count_lines(const char *s)
{
	size_t n = 0, len = strlen(s);

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return len && s[len - 1] != '\n' ? n + 1 : n;
}

/*
 * Copies script *file into folder tmp (shared with the container) and
 * points *file at the copy.  Files next to the script are not copied: a
 * program that needs them mounts their folder (docs/containers.md).
 */
static int copy_script(struct weir_task_ctx *ctx, const struct weir__script_lang *lang, const char *tmp,
		       char **file)
{
	struct weir_buf text = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *base = strrchr(*file, '/');
	char *copy = weir_xasprintf("%s/%s", tmp, base ? base + 1 : *file);
	int rc = weir_buf_read_file(&text, *file);

	if (rc < 0)
		weir_buf_setf(&ctx->message, "could not read %s script \"%s\": %s", lang->op, *file, strerror(-rc));
	else if ((rc = write_file(copy, text.buf, &err)) < 0)
		weir_buf_setf(&ctx->message, "%s", err.buf);
	if (rc < 0) {
		weir_task_log(ctx, "%s", ctx->message.buf);
		free(copy);
	} else {
		free(*file);
		*file = copy;
	}
	weir_buf_release(&text);
	weir_buf_release(&err);
	return rc < 0 ? rc : 0;
}

/* What the status file says, after the interpreter exited. */
struct status {
	json_t *doc;
	const char *last;   /* the last non-blank stdout line, or NULL */
	bool big;           /* it was longer than the bootstrap keeps */
	const char *error;  /* exception name, or NULL */
};

static void read_status(const char *path, size_t cap, struct status *s)
{
	struct weir_buf b = WEIR_BUF_INIT(cap * 4 + 65536);

	memset(s, 0, sizeof(*s));
	if (weir_buf_read_file(&b, path) == 0)
		s->doc = json_loadb(b.buf, b.len, 0, NULL);
	weir_buf_release(&b);
	s->last = json_string_value(json_object_get(s->doc, "last"));
	s->big = json_is_true(json_object_get(s->doc, "big"));
	s->error = json_string_value(json_object_get(s->doc, "error"));
}

/* Success path: the last line -> return_value. */
static enum weir_op_result take_result(struct weir_task_ctx *ctx, const struct weir__script_lang *lang,
				       struct status *s, bool have_status)
{
	json_error_t jerr;
	json_t *v;

	if (!have_status) {
		weir_task_log(ctx, "the %s bootstrap left no status (the script ended the interpreter abruptly): no return_value",
			      lang->display);
		return WEIR_OP_SUCCESS;
	}
	if (s->big) {
		weir_buf_setf(&ctx->message,
			      "the last line of output is larger than xcom_max_bytes (%zu): print a smaller JSON object, or write large results to a file",
			      ctx->xcom_max_bytes);
		return WEIR_OP_FAILED;
	}
	if (!s->last || !strncmp(s->last, "::xcom ", 7))
		return WEIR_OP_SUCCESS;
	v = json_loads(s->last, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(v)) {
		json_decref(v);
		weir_task_log(ctx, "the last line of output is not a JSON object: no return_value");
		return WEIR_OP_SUCCESS;
	}
	if (weir_task_xcom(ctx, "return_value", v) < 0)
		return WEIR_OP_FAILED; /* message set */
	return WEIR_OP_SUCCESS;
}

static void failure_message(struct weir_task_ctx *ctx, const struct weir__script_lang *lang,
			    const struct status *s)
{
	int64_t mem = memory_limit(ctx);
	char *m = mem ? fmt_bytes(mem) : NULL;

	if (s->error && !strcmp(s->error, "MemoryError")) {
		if (m)
			weir_buf_setf(&ctx->message, "%s script ran out of memory (MemoryError): limits.memory is %s",
				      lang->op, m);
		else
			weir_buf_setf(&ctx->message, "%s script ran out of memory (MemoryError)", lang->op);
	} else if (ctx->exit_code > 128) {
		weir_buf_setf(&ctx->message, "%s script was killed by signal %d", lang->op, ctx->exit_code - 128);
		if (m)
			weir_buf_addf(&ctx->message, " (limits.memory is %s: it may have run out of memory%s)", m,
				      lang->is_node ? "; Node.js needs about 1 GiB of address space to start" : "");
	} else {
		weir_buf_setf(&ctx->message, "%s script exited with code %d", lang->op, ctx->exit_code);
		if (s->error)
			weir_buf_addf(&ctx->message, " (%s; see the log)", s->error);
	}
	free(m);
}

enum weir_op_result weir__script_run(struct weir_task_ctx *ctx, const struct weir__script_lang *lang)
{
	const char *script = weir__op_str(ctx, "script"), *code = weir__op_str(ctx, "code");
	const char *interp = weir__op_str(ctx, "interpreter"), *jcwd = weir__op_str(ctx, "cwd");
	const char *path_env, *tmpbase = getenv("TMPDIR"), *executor;
	json_t *args = json_object_get(ctx->config, "args"), *env = NULL, *item;
	struct weir_strvec argv = WEIR_STRVEC_INIT;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf shown = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct status st = {0};
	enum weir_op_result res = WEIR_OP_FAILED;
	char *tmp = NULL, *prog = NULL, *file = NULL, *status_path = NULL, *cwd = NULL, *input = NULL;
	char cap[32];
	size_t capn = ctx->xcom_max_bytes * 2 + 1024, i;
	bool have_status, in_container, copied = false;

	if (!interp)
		interp = lang->interpreter;
	if ((!script && !code) || (script && code)) {
		weir_buf_setf(&ctx->message, "%s task needs \"script\" (a file) or \"code\" (the program itself)", lang->op);
		goto out;
	}
	if (args && !json_is_array(args)) {
		weir_buf_setf(&ctx->message, "\"args\" must be a list of strings");
		goto out;
	}

	/* In a container the runtime finds the interpreter in the image's
	 * PATH, and the program sees only what is mounted: the temporary
	 * folder is shared, the script copied into it. */
	executor = json_string_value(json_object_get(ctx->spec, "executor"));
	in_container = executor && !strcmp(executor, "container");
	if (in_container) {
		prog = weir_xstrdup(interp);
		goto found;
	}
	/* The interpreter, found the way the child will find it. */
	path_env = json_string_value(json_object_get(ctx->env, "PATH"));
	if (!path_env)
		path_env = getenv("PATH");
	if (!path_env)
		path_env = "/usr/local/bin:/usr/bin:/bin";
	prog = find_program(interp, path_env);
	if (!prog) {
		if (strchr(interp, '/'))
			weir_buf_setf(&ctx->message, "%s interpreter \"%s\" does not exist or is not executable", lang->display,
				      interp);
		else
			weir_buf_setf(&ctx->message,
				      "%s interpreter \"%s\" not found in PATH (%s): install it (Debian package %s) or set \"interpreter\" to its path",
				      lang->display, interp, path_env, lang->package_hint);
		weir_task_log(ctx, "%s", ctx->message.buf);
		goto out;
	}
found:
	if (jcwd)
		cwd = jcwd[0] == '/' ? weir_xstrdup(jcwd) : weir_xasprintf("%s/%s", ctx->run_dir, jcwd);
	else
		cwd = weir_xstrdup(ctx->run_dir);

	tmp = weir_xasprintf("%s/weir-%s-XXXXXX", tmpbase && *tmpbase ? tmpbase : "/tmp", lang->op);
	if (!mkdtemp(tmp)) {
		weir_buf_setf(&ctx->message, "could not create a temporary folder \"%s\": %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (in_container)
		weir_task_share(ctx, tmp);
	status_path = weir_xasprintf("%s/status.json", tmp);
	if (code) {
		file = weir_xasprintf("%s/inline%s", tmp, lang->ext);
		if (write_file(file, code, &err) < 0) {
			weir_buf_setf(&ctx->message, "%s", err.buf);
			goto out;
		}
	} else {
		const char *dag_file = json_string_value(json_object_get(ctx->spec, "dag_file"));
		const char *slash = dag_file ? strrchr(dag_file, '/') : NULL;
		if (script[0] == '/')
			file = weir_xstrdup(script);
		else if (slash)
			file = weir_xasprintf("%.*s/%s", (int)(slash - dag_file), dag_file, script);
		else if (dag_file)
			file = weir_xstrdup(script); /* the DAG file was given relative to our cwd */
		else
			file = weir_xasprintf("%s/%s", cwd, script);
		if (access(file, R_OK) < 0) {
			weir_buf_setf(&ctx->message, "could not open %s script \"%s\": %s", lang->op, file, strerror(errno));
			weir_task_log(ctx, "%s", ctx->message.buf);
			goto out;
		}
		if (in_container) {
			if (copy_script(ctx, lang, tmp, &file) < 0)
				goto out; /* message set */
			copied = true;
		}
	}

	snprintf(cap, sizeof(cap), "%zu", capn);
	weir_strvec_push(&argv, prog);
	if (lang->pre_flag)
		weir_strvec_push(&argv, lang->pre_flag);
	weir_strvec_push(&argv, lang->boot_flag);
	weir_strvec_push(&argv, lang->boot);
	if (lang->dashdash)
		weir_strvec_push(&argv, "--");
	weir_strvec_push(&argv, status_path);
	weir_strvec_push(&argv, file);
	weir_strvec_push(&argv, cap);
	weir_strvec_push(&argv, code ? "1" : "0");
	json_array_foreach(args, i, item) {
		char *t = json_is_string(item) ? weir_xstrdup(json_string_value(item))
					       : json_dumps(item, JSON_ENCODE_ANY | JSON_COMPACT);
		if (!t || json_is_object(item) || json_is_array(item) || json_is_null(item)) {
			free(t);
			weir_buf_setf(&ctx->message, "\"args\" item %zu is not a string", i);
			goto out;
		}
		weir_strvec_push_nodup(&argv, t);
		weir_buf_addf(&shown, " %s", t);
	}
	if (code)
		weir_task_log(ctx, "%s: inline code (%zu line%s) with %s%s", lang->op, count_lines(code),
			      count_lines(code) == 1 ? "" : "s", prog, shown.buf);
	else
		weir_task_log(ctx, "%s: %s %s%s", lang->op, prog, file, shown.buf);

	env = json_deep_copy(ctx->env ? ctx->env : json_object());
	if (code && lang->is_node) {
		/* Inline node code lives in a temporary folder: let require()
		 * find the modules of the working directory, as `node -e` would. */
		const char *old = json_string_value(json_object_get(env, "NODE_PATH"));
		char *np;
		if (!old)
			old = getenv("NODE_PATH");
		np = old && *old ? weir_xasprintf("%s/node_modules:%s", cwd, old)
				 : weir_xasprintf("%s/node_modules", cwd);
		json_object_set_new(env, "NODE_PATH", json_string_nocheck(np));
		free(np);
	}
	input = input_text(ctx);
	if (weir_task_spawn(ctx, (const char *const *)argv.v, env, cwd, input) < 0)
		goto out; /* message set */

	read_status(status_path, capn, &st);
	have_status = st.doc != NULL;
	if (ctx->exit_code == 0) {
		res = take_result(ctx, lang, &st, have_status);
	} else if (ctx->has_invalid_exit_code && ctx->exit_code == ctx->invalid_exit_code) {
		res = WEIR_OP_INVALID;
		weir_buf_setf(&ctx->message, "%s script exited with code %d (invalid_exit_code: the input is unusable)",
			      lang->op, ctx->exit_code);
	} else {
		failure_message(ctx, lang, &st);
	}
out:
	if (tmp) {
		if (status_path)
			unlink(status_path);
		if ((code || copied) && file)
			unlink(file);
		rmdir(tmp);
	}
	json_decref(st.doc);
	json_decref(env);
	weir_strvec_clear(&argv);
	weir_buf_release(&err);
	weir_buf_release(&shown);
	free(tmp);
	free(prog);
	free(file);
	free(status_path);
	free(cwd);
	free(input);
	return res;
}
