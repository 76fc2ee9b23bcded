/*
 * command.c: the `command` operator: run a program.
 *
 *   exec: [prog, arg...]   run without a shell (preferred)
 *   shell: "..."           run with /bin/sh -c
 *   cwd, stdin             working directory, text fed to standard input
 *
 * The exit code decides the outcome: 0 success, the task's
 * invalid_exit_code INVALID, anything else failure.
 */
#include "engine/operator.h"

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

const struct weir_operator weir_op_command = {
	.name = "command",
	.keys = keys,
	.validate = validate,
};
