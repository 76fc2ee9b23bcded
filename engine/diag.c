/* diag.c: collecting and printing positioned diagnostics. */
#include "engine/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "engine/node.h"

void weir_diags_init(struct weir_diags *d, const char *file)
{
	d->file = weir_xstrdup(file ? file : "<input>");
	d->list.v = NULL;
	d->list.n = d->list.alloc = 0;
	d->max = 200;
	d->dropped = 0;
}

void weir_diags_release(struct weir_diags *d)
{
	for (size_t i = 0; i < d->list.n; i++) {
		free(d->list.v[i].msg);
		free(d->list.v[i].hint);
	}
	weir_vec_release(&d->list);
	free(d->file);
	d->file = NULL;
}

static void vadd(struct weir_diags *d, int line, int col, const char *fmt, va_list ap)
{
	struct weir_diag g = {line, col, NULL, NULL};

	if (d->list.n >= d->max) {
		d->dropped++;
		return;
	}
	if (vasprintf(&g.msg, fmt, ap) < 0)
		g.msg = weir_xstrdup("(message lost)");
	weir_vec_push(&d->list, g);
}

void weir_diag_add(struct weir_diags *d, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vadd(d, line, col, fmt, ap);
	va_end(ap);
}

void weir_diag_at(struct weir_diags *d, const struct weir_node *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vadd(d, n ? n->line : 0, n ? n->col : 0, fmt, ap);
	va_end(ap);
}

void weir_diag_hint(struct weir_diags *d, const char *fmt, ...)
{
	va_list ap;
	struct weir_diag *g;

	if (!d->list.n || d->dropped)
		return;
	g = &d->list.v[d->list.n - 1];
	free(g->hint);
	va_start(ap, fmt);
	if (vasprintf(&g->hint, fmt, ap) < 0)
		g->hint = NULL;
	va_end(ap);
}

size_t weir_diags_count(const struct weir_diags *d)
{
	return d->list.n + d->dropped;
}

void weir_diags_sort(struct weir_diags *d)
{
	/* Insertion sort: stable, and lists are short and mostly ordered. */
	for (size_t i = 1; i < d->list.n; i++) {
		struct weir_diag g = d->list.v[i];
		size_t j = i;
		while (j > 0 && (d->list.v[j - 1].line > g.line ||
				 (d->list.v[j - 1].line == g.line && d->list.v[j - 1].col > g.col))) {
			d->list.v[j] = d->list.v[j - 1];
			j--;
		}
		d->list.v[j] = g;
	}
}

void weir_diags_format(const struct weir_diags *d, struct weir_buf *out)
{
	for (size_t i = 0; i < d->list.n; i++) {
		const struct weir_diag *g = &d->list.v[i];
		if (g->line)
			weir_buf_addf(out, "%s:%d:%d: error: %s", d->file, g->line, g->col, g->msg);
		else
			weir_buf_addf(out, "%s: error: %s", d->file, g->msg);
		if (g->hint)
			weir_buf_addf(out, " (%s)", g->hint);
		weir_buf_addch(out, '\n');
	}
	if (d->dropped)
		weir_buf_addf(out, "%s: error: %zu more errors not shown\n", d->file, d->dropped);
}

json_t *weir_diags_to_json(const struct weir_diags *d)
{
	json_t *a = json_array();

	for (size_t i = 0; i < d->list.n; i++) {
		const struct weir_diag *g = &d->list.v[i];
		json_t *o = json_pack("{s:s, s:i, s:i, s:s}", "file", d->file, "line", g->line, "col",
				      g->col, "message", g->msg);
		if (g->hint)
			json_object_set_new(o, "hint", json_string(g->hint));
		json_array_append_new(a, o);
	}
	return a;
}
