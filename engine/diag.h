/*
 * diag.h: collected diagnostics for one input file.
 *
 * Validators report every problem they find, not just the first; each has
 * a position and optionally a hint.  Printed as
 *
 *   dags/etl.yaml:12:5: error: unknown key "retires" (did you mean "retries"?)
 *
 * sorted by position, so the output reads top to bottom like the file.
 */
#ifndef WEIR_DIAG_H
#define WEIR_DIAG_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/vec.h"

struct weir_node;

struct weir_diag {
	int line, col; /* 1-based; 0 when the problem has no position */
	char *msg;     /* owned */
	char *hint;    /* owned, may be NULL; printed as " (hint)" */
};

struct weir_diags {
	char *file; /* owned; the name used in output */
	WEIR_VEC(struct weir_diag) list;
	size_t max; /* stop recording after this many (a counter still counts) */
	size_t dropped;
};

void weir_diags_init(struct weir_diags *d, const char *file);
void weir_diags_release(struct weir_diags *d);
/* Records a problem at (line, col). */
void weir_diag_add(struct weir_diags *d, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Records a problem at a node's position. */
void weir_diag_at(struct weir_diags *d, const struct weir_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sets the hint of the last recorded problem. */
void weir_diag_hint(struct weir_diags *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t weir_diags_count(const struct weir_diags *d);
/* Sorts by position (stable). */
void weir_diags_sort(struct weir_diags *d);
/* Appends "file:line:col: error: msg (hint)\n" lines. */
void weir_diags_format(const struct weir_diags *d, struct weir_buf *out);
/* [{"file","line","col","message","hint"}] (new reference). */
json_t *weir_diags_to_json(const struct weir_diags *d);

#endif
