/*
 * command.c: the `command` operator: run a program.
 *
 *   exec: [prog, arg...]   run without a shell (preferred)
 *   shell: "..."           run with /bin/sh -c
 *   cwd, stdin             working directory, text fed to standard input
 *
 * The exit code decides the outcome: 0 success, the task's
 * invalid_exit_code INVALID, anything else failure.
 *
 * The working directory defaults to the run's run_dir (a relative cwd is
 * taken from there), so tasks of one run share files without absolute
 * paths.  exec items that YAML read as numbers or booleans ([sleep, 60])
 * are passed as their JSON text ("60"); a real like 1.50 arrives as 1.5.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/vec.h"
#include "common/xalloc.h"
#include "engine/operator.h"
#include "common/banned.h"

static const char *const keys[] = {"exec", "shell", "cwd", "stdin", NULL};

static void validate(const struct weir_node *task, struct weir_diags *d)
{
	const struct weir_node *e = weir_op_want_string_list(task, "exec", false, d);
	const struct weir_node *s = weir_op_want_string(task, "shell", false, d);
	const struct weir_node *cwd = weir_op_want_string(task, "cwd", false, d);
	bool has_e = weir_node_get(task, "exec") != NULL, has_s = weir_node_get(task, "shell") != NULL;

	weir_op_want_string(task, "stdin", false, d);
	if (has_e && has_s)
		weir_diag_at(d, weir_node_key(task, "shell"),
			     "use either \"exec\" (no shell) or \"shell\", not both");
	else if (!has_e && !has_s)
		weir_diag_at(d, task, "command task needs \"exec\" (a list: program and arguments) or \"shell\" (a string)");
	if (e && e->n == 0)
		weir_diag_at(d, e, "\"exec\" must name a program: it is empty");
	if (s && s->len == 0)
		weir_diag_at(d, s, "\"shell\" is empty");
	if (cwd && cwd->len == 0)
		weir_diag_at(d, cwd, "\"cwd\" is empty");
}

/* The text of a scalar config value (NULL for objects, arrays, null). */
static char *scalar_text(json_t *v)
{
	if (json_is_string(v))
		return weir_xstrndup(json_string_value(v), json_string_length(v));
	if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v))
		return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	return NULL;
}

/* Appends s as a shell word, quoted only when it needs to be. */
static void add_word(struct weir_buf *b, const char *s)
{
	bool plain = *s != '\0';

	for (const char *p = s; *p && plain; p++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+%@", *p) != NULL;
	if (b->len)
		weir_buf_addch(b, ' ');
	if (plain) {
		weir_buf_addstr(b, s);
		return;
	}
	weir_buf_addch(b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			weir_buf_addstr(b, "'\\''");
		else
			weir_buf_addch(b, *p);
	}
	weir_buf_addch(b, '\'');
}

static enum weir_op_result run(struct weir_task_ctx *ctx)
{
	json_t *exec = json_object_get(ctx->config, "exec");
	json_t *shell = json_object_get(ctx->config, "shell");
	json_t *jcwd = json_object_get(ctx->config, "cwd");
	json_t *jin = json_object_get(ctx->config, "stdin");
	struct weir_strvec argv = WEIR_STRVEC_INIT;
	struct weir_buf shown = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char *cwd = NULL, *in = NULL, *script = scalar_text(shell);
	enum weir_op_result res = WEIR_OP_FAILED;
	size_t i;
	json_t *item;

	if (json_is_array(exec) && json_array_size(exec) > 0) {
		json_array_foreach(exec, i, item) {
			char *t = scalar_text(item);
			if (!t) {
				weir_buf_setf(&ctx->message, "\"exec\" item %zu is not a string", i);
				goto out;
			}
			weir_strvec_push_nodup(&argv, t);
		}
		for (i = 0; i < argv.n; i++)
			add_word(&shown, argv.v[i]);
		weir_task_log(ctx, "exec: %s", shown.buf);
	} else if (script) {
		weir_strvec_push(&argv, "/bin/sh");
		weir_strvec_push(&argv, "-c");
		weir_strvec_push(&argv, script);
		/* One WEIR line per script line, so a multi-line script reads
		 * as it was written. */
		weir_task_log(ctx, "shell (/bin/sh -c):");
		{
			const char *p = argv.v[2], *nl;
			size_t n = strlen(p);
			while (n > 0 && p[n - 1] == '\n')
				n--;
			for (; (nl = memchr(p, '\n', n)); n -= (size_t)(nl - p) + 1, p = nl + 1)
				weir_task_log(ctx, "> %.*s", (int)(nl - p), p);
			weir_task_log(ctx, "> %.*s", (int)n, p);
		}
	} else {
		weir_buf_setf(&ctx->message, "command task needs \"exec\" (a list) or \"shell\" (a string)");
		goto out;
	}

	if (jcwd && !json_is_null(jcwd)) {
		char *c = scalar_text(jcwd);
		if (!c) {
			weir_buf_setf(&ctx->message, "\"cwd\" must be a string");
			goto out;
		}
		cwd = c[0] == '/' ? c : weir_xasprintf("%s/%s", ctx->run_dir, c);
		if (cwd != c)
			free(c);
	} else {
		cwd = weir_xstrdup(ctx->run_dir);
	}
	if (jin && !json_is_null(jin)) {
		in = scalar_text(jin);
		if (!in) {
			weir_buf_setf(&ctx->message, "\"stdin\" must be a string");
			goto out;
		}
	}

	if (weir_task_spawn(ctx, (const char *const *)argv.v, ctx->env, cwd, in) < 0)
		goto out; /* message set */
	if (ctx->exit_code == 0) {
		res = WEIR_OP_SUCCESS;
	} else if (ctx->has_invalid_exit_code && ctx->exit_code == ctx->invalid_exit_code) {
		res = WEIR_OP_INVALID;
		weir_buf_setf(&ctx->message, "command exited with code %d (invalid_exit_code: the input is unusable)",
			      ctx->exit_code);
	} else {
		weir_buf_setf(&ctx->message, "command exited with code %d", ctx->exit_code);
	}
out:
	weir_strvec_clear(&argv);
	weir_buf_release(&shown);
	free(cwd);
	free(in);
	free(script);
	return res;
}

const struct weir_operator weir_op_command = {
	.name = "command",
	.keys = keys,
	.validate = validate,
	.run = run,
};
