/*
 * script.h: what the python and node operators share (private to
 * operators/; script.c).
 *
 * Both run a user script (a file, `script:`, or inline `code:`) with an
 * interpreter, through a small bootstrap program passed on the command
 * line (python -c / node -e).  The bootstrap
 *   - runs the user's code as the main program (argv, sys.path or module
 *     resolution as if it had been started directly),
 *   - tees the script's standard output and remembers its last non-blank
 *     line (what print() / console.log() write; output written to fd 1
 *     by other means, e.g. child processes, is logged but not seen),
 *   - at exit writes a status file: {"last": LINE | null, "big": bool,
 *     "error": "MemoryError" | ... | null}.
 * The operator turns the last line into XCom return_value when it is a
 * JSON object.  The script's input, {params, conf, xcom, context}, is one
 * JSON document on its standard input.
 */
#ifndef WEIR_OPERATORS_SCRIPT_H
#define WEIR_OPERATORS_SCRIPT_H

#include "engine/diag.h"
#include "engine/node.h"
#include "engine/operator.h"

struct weir__script_lang {
	const char *op;             /* operator name: "python" */
	const char *display;        /* "Python" */
	const char *interpreter;    /* default program: "python3" */
	const char *package_hint;   /* where to get it: "python3" */
	const char *ext;            /* inline code file suffix: ".py" */
	const char *boot;           /* the bootstrap program */
	const char *pre_flag;       /* before the bootstrap ("-u": unbuffered output), or NULL */
	const char *boot_flag;      /* "-c" / "-e" */
	bool dashdash;              /* put "--" between the bootstrap and its arguments */
	bool is_node;               /* Node.js specifics (NODE_PATH, messages) */
};

/* The keys of both operators (NULL-terminated). */
extern const char *const weir__script_keys[];

void weir__script_validate(const struct weir_node *task, struct weir_diags *d);
enum weir_op_result weir__script_run(struct weir_task_ctx *ctx, const struct weir__script_lang *lang);

#endif
