/*
 * template.h: weir's template language for task configuration.
 *
 *   {{ ds }}  {{ params.area | json }}  {{ conf.a.b.c }}  {{ xcom.fetch.url | sh }}
 *
 * Text outside {{ }} is copied unchanged (a lone "{", "}" or "}}" too).
 * Inside: an expression, then zero or more filters separated by '|';
 * spaces, tabs and newlines between these tokens are ignored.  An
 * expression is either a variable path (identifiers [A-Za-z_][A-Za-z0-9_-]*
 * or array indexes [0-9]+, joined by '.' with no spaces) looked up in a
 * JSON context object, or a quoted string literal ('...' or "...", no
 * escapes; for writing a literal "{{": {{ '{{' }}).  The grammar is in
 * docs/internals/template.md.
 *
 * Path lookup: each segment is an object key; in an array it is a decimal
 * index without leading zeros ("list.0.id").
 *
 * Strict: a path that does not resolve is an error naming the path and
 * its position, never an empty string.
 *
 * Values render as: strings verbatim; integers in decimal; reals in the
 * shortest form that reads back as the same double, with ".0" when it
 * would look like an integer; true/false; null as "null"; arrays and
 * objects as compact JSON in insertion order.
 *
 * Filters (the first one sees the value, later ones the previous result,
 * which is a string):
 *   json   the value as JSON text (strings quoted and escaped; anything
 *          else renders as above, which is already JSON)
 *   sh     the rendered value as one POSIX-shell word in single quotes,
 *          so a value can never inject shell syntax ('' for the empty
 *          string; a value containing a NUL byte is an error)
 *   url    percent-encoding of the rendered value (RFC 3986 unreserved kept)
 *   upper, lower   ASCII case mapping
 *
 * The functions below keep no state and may run in several threads at
 * once as long as nobody modifies ctx meanwhile; they allocate, so not in
 * a signal handler or between fork and exec.
 */
#ifndef WEIR_TEMPLATE_H
#define WEIR_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/*
 * Renders tpl with the variables of ctx (a JSON object, borrowed; NULL or
 * a non-object has no variables) and appends the result to out.  Returns
 * 0, or an error with one message appended to err (may be NULL) and
 * *err_off (may be NULL) set to the byte of tpl where the problem starts:
 *   WEIR_ESYNTAX   malformed {{ }}
 *   WEIR_EINVALID  unknown variable, unknown filter, NUL byte under `| sh`
 *   WEIR_ETOOBIG   out's limit reached, or a value nested deeper than 2048
 * Syntax and filter errors anywhere in tpl are reported before any
 * variable is looked up, and then nothing has been appended; on other
 * errors out may hold a partial result.
 *
 * out's limit also bounds every intermediate result of a filter chain, so
 * render untrusted templates into a limited buffer: with WEIR_BUF_NOLIMIT
 * a chain like `| json | json | ...` can grow until memory runs out.
 */
int weir_template_render(const char *tpl, json_t *ctx, struct weir_buf *out, size_t *err_off,
			 struct weir_buf *err);

/*
 * Callback for weir_template_check: called once per variable path in the
 * template (path is the dotted text, e.g. "params.area"; off its byte
 * offset in tpl).  Return 0 to accept, or WEIR_EINVALID after appending a
 * message to err.
 */
typedef int weir_template_var_fn(void *arg, const char *path, size_t off, struct weir_buf *err);

/*
 * Checks tpl's syntax and filters without rendering and reports each
 * variable to var_fn (may be NULL), so a DAG loader can reject unknown
 * variables at load time.  Variables are reported in template order (string
 * literals are not variables), and only once the whole template has
 * parsed.  Returns 0, or an error as in render (the first one found, in
 * the same order render would find it); when var_fn fails, its return
 * value, with *err_off at the path (if var_fn appended no message,
 * `unknown variable "path"` is appended for it).
 */
int weir_template_check(const char *tpl, weir_template_var_fn *var_fn, void *arg, size_t *err_off,
			struct weir_buf *err);

/* True when s (may be NULL) contains "{{" (a cheap test before rendering). */
bool weir_template_has_expr(const char *s);

#endif
