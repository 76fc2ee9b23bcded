/*
 * yaml.c: YAML text -> struct weir_node tree, with positions and limits.
 *
 * The only file in weir that includes <yaml.h>.  It uses libyaml's event
 * API rather than its document loader because the loader expands nothing
 * but also bounds nothing: we need (a) the position of every node, (b) a
 * bound on the *expanded* size so an alias bomb ("billion laughs") is
 * rejected after max_nodes, not after exhausting memory, and (c) a depth
 * bound.  Anchors are registered when their node is complete, so an alias
 * can never refer to one of its own ancestors: the result is always a
 * finite DAG of nodes.
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/error.h"
#include "common/vec.h"
#include "common/xalloc.h"
#include "engine/node.h"

struct frame {
	struct weir_node *node;
	WEIR_VEC(struct weir_node *) items; /* seq items, or map key,value,key,value... */
	char *anchor;
};

struct anchor {
	char *name;
	struct weir_node *node;
};

struct loader {
	const struct weir_yaml_limits *lim;
	struct weir_arena *arena;
	WEIR_VEC(struct frame) stack;
	WEIR_VEC(struct anchor) anchors;
	size_t total; /* expanded nodes so far */
	struct weir_node *root;
	struct weir_buf *err;
	int err_line, err_col;
};

static int fail(struct loader *l, const yaml_mark_t *m, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct loader *l, const yaml_mark_t *m, int rc, const char *fmt, ...)
{
	va_list ap;

	l->err_line = m ? (int)m->line + 1 : 0;
	l->err_col = m ? (int)m->column + 1 : 0;
	va_start(ap, fmt);
	weir_buf_vaddf(l->err, fmt, ap);
	va_end(ap);
	return rc;
}

static struct weir_node *new_node(struct loader *l, enum weir_node_kind kind, const yaml_mark_t *m)
{
	struct weir_node *n = weir_arena_calloc(l->arena, 1, sizeof(*n));
	n->kind = kind;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->size = 1;
	return n;
}

/* Accepts the core schema's tags and rejects anything else. */
static int check_tag(struct loader *l, const yaml_mark_t *m, const yaml_char_t *tag,
		     enum weir_node_kind kind, bool *force_str)
{
	static const char pfx[] = "tag:yaml.org,2002:";
	const char *t = (const char *)tag;

	*force_str = false;
	if (!t || !strcmp(t, "!"))
		return 0;
	if (!strncmp(t, pfx, sizeof(pfx) - 1)) {
		const char *s = t + sizeof(pfx) - 1;
		if (kind == WEIR_NODE_MAP && !strcmp(s, "map"))
			return 0;
		if (kind == WEIR_NODE_SEQ && !strcmp(s, "seq"))
			return 0;
		if (kind == WEIR_NODE_SCALAR) {
			if (!strcmp(s, "str")) {
				*force_str = true;
				return 0;
			}
			if (!strcmp(s, "int") || !strcmp(s, "float") || !strcmp(s, "bool") ||
			    !strcmp(s, "null"))
				return 0;
		}
	}
	return fail(l, m, WEIR_ESYNTAX, "unsupported YAML tag \"%s\"", t);
}

static void register_anchor(struct loader *l, char *name, struct weir_node *n)
{
	struct anchor a = {name, n};
	weir_vec_push(&l->anchors, a);
}

static struct weir_node *find_anchor(struct loader *l, const char *name)
{
	/* Later definitions of a name shadow earlier ones. */
	for (size_t i = l->anchors.n; i-- > 0;)
		if (!strcmp(l->anchors.v[i].name, name))
			return l->anchors.v[i].node;
	return NULL;
}

/* Attaches a finished node to the open collection (or makes it the root). */
static int attach(struct loader *l, struct weir_node *n, const yaml_mark_t *m)
{
	if (n->size > l->lim->max_nodes || l->total > l->lim->max_nodes - n->size)
		return fail(l, m, WEIR_ETOOBIG,
			    "YAML document too large: more than %zu nodes (aliases count again)",
			    l->lim->max_nodes);
	l->total += n->size;
	if (!l->stack.n) {
		l->root = n;
		return 0;
	}
	{
		struct frame *f = &l->stack.v[l->stack.n - 1];
		if (f->node->kind == WEIR_NODE_MAP && f->items.n % 2 == 0 &&
		    n->kind != WEIR_NODE_SCALAR)
			return fail(l, m, WEIR_ESYNTAX, "mapping keys must be scalars");
		weir_vec_push(&f->items, n);
		f->node->size += n->size;
	}
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct weir_node *x = *(struct weir_node *const *)a, *y = *(struct weir_node *const *)b;
	int c = strcmp(x->str, y->str);
	if (c)
		return c;
	return x->line != y->line ? x->line - y->line : x->col - y->col;
}

static bool is_merge_key(const struct weir_node *k)
{
	return k->plain && !strcmp(k->str, "<<");
}

static bool map_has(struct weir_node **keys, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(keys[i]->str, key))
			return true;
	return false;
}

/* Finishes a mapping: merge keys, duplicate check, arrays into the arena. */
static int finish_map(struct loader *l, struct frame *f, const yaml_mark_t *m)
{
	struct weir_node *map = f->node;
	size_t pairs = f->items.n / 2, n = 0, cap = pairs;
	struct weir_node **keys, **vals, **sorted;
	struct weir_node *merges[64];
	size_t nmerges = 0;

	/* Count candidate merged entries to size the arrays. */
	for (size_t i = 0; i < pairs; i++) {
		struct weir_node *k = f->items.v[2 * i], *v = f->items.v[2 * i + 1];
		if (!is_merge_key(k))
			continue;
		if (v->kind == WEIR_NODE_MAP) {
			if (nmerges == WEIR_ARRAY_SIZE(merges))
				return fail(l, m, WEIR_ETOOBIG, "too many merge keys");
			merges[nmerges++] = v;
			cap += v->n;
		} else if (v->kind == WEIR_NODE_SEQ) {
			for (size_t j = 0; j < v->n; j++) {
				if (v->items[j]->kind != WEIR_NODE_MAP) {
					l->err_line = v->items[j]->line;
					l->err_col = v->items[j]->col;
					weir_buf_addf(l->err, "merge key \"<<\" expects a mapping or a sequence of mappings");
					return WEIR_ESYNTAX;
				}
				if (nmerges == WEIR_ARRAY_SIZE(merges))
					return fail(l, m, WEIR_ETOOBIG, "too many merge keys");
				merges[nmerges++] = v->items[j];
				cap += v->items[j]->n;
			}
		} else {
			l->err_line = v->line;
			l->err_col = v->col;
			weir_buf_addf(l->err, "merge key \"<<\" expects a mapping or a sequence of mappings");
			return WEIR_ESYNTAX;
		}
	}
	keys = weir_arena_alloc(l->arena, (cap ? cap : 1) * sizeof(*keys));
	vals = weir_arena_alloc(l->arena, (cap ? cap : 1) * sizeof(*vals));
	for (size_t i = 0; i < pairs; i++) {
		if (is_merge_key(f->items.v[2 * i]))
			continue;
		keys[n] = f->items.v[2 * i];
		vals[n++] = f->items.v[2 * i + 1];
	}
	/* Duplicate explicit keys are an error (YAML says keys are unique). */
	if (n > 1) {
		sorted = weir_xmalloc(n * sizeof(*sorted));
		memcpy(sorted, keys, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_key);
		for (size_t i = 1; i < n; i++) {
			if (!strcmp(sorted[i - 1]->str, sorted[i]->str)) {
				l->err_line = sorted[i]->line;
				l->err_col = sorted[i]->col;
				weir_buf_addf(l->err, "duplicate key \"%s\" (first defined at line %d)",
					      sorted[i]->str, sorted[i - 1]->line);
				free(sorted);
				return WEIR_ESYNTAX;
			}
		}
		free(sorted);
	}
	/* Merged entries: explicit keys win, earlier merge sources win. */
	{
		size_t explicit_n = n;
		for (size_t s = 0; s < nmerges; s++) {
			const struct weir_node *src = merges[s];
			for (size_t j = 0; j < src->n; j++) {
				if (map_has(keys, n, src->keys[j]->str))
					continue;
				keys[n] = src->keys[j];
				vals[n++] = src->items[j];
			}
		}
		(void)explicit_n;
	}
	map->keys = keys;
	map->items = vals;
	map->n = n;
	return 0;
}

static int close_frame(struct loader *l, const yaml_mark_t *m)
{
	struct frame f = l->stack.v[--l->stack.n];
	int rc = 0;

	if (f.node->kind == WEIR_NODE_MAP) {
		rc = finish_map(l, &f, m);
	} else {
		f.node->n = f.items.n;
		f.node->items = weir_arena_alloc(l->arena, (f.items.n ? f.items.n : 1) * sizeof(void *));
		if (f.items.n)
			memcpy(f.node->items, f.items.v, f.items.n * sizeof(void *));
	}
	weir_vec_release(&f.items);
	if (rc < 0) {
		free(f.anchor);
		return rc;
	}
	if (f.anchor)
		register_anchor(l, f.anchor, f.node);
	/* The collection and its children were counted into total as they
	 * were opened and attached; attach() adds the whole subtree again, so
	 * take it back first. */
	l->total -= f.node->size;
	return attach(l, f.node, m);
}

static int handle(struct loader *l, yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	bool force_str;
	int rc;

	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		struct weir_node *n = new_node(l, WEIR_NODE_SCALAR, m);
		rc = check_tag(l, m, ev->data.scalar.tag, WEIR_NODE_SCALAR, &force_str);
		if (rc < 0)
			return rc;
		n->str = weir_arena_strndup(l->arena, (const char *)ev->data.scalar.value,
					    ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		if (strlen(n->str) != n->len)
			return fail(l, m, WEIR_ESYNTAX, "NUL character in scalar");
		n->plain = !force_str && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (ev->data.scalar.anchor)
			register_anchor(l, weir_xstrdup((const char *)ev->data.scalar.anchor), n);
		return attach(l, n, m);
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		enum weir_node_kind k = ev->type == YAML_MAPPING_START_EVENT ? WEIR_NODE_MAP : WEIR_NODE_SEQ;
		const yaml_char_t *tag = k == WEIR_NODE_MAP ? ev->data.mapping_start.tag
							    : ev->data.sequence_start.tag;
		const yaml_char_t *anchor = k == WEIR_NODE_MAP ? ev->data.mapping_start.anchor
							       : ev->data.sequence_start.anchor;
		struct frame f = {0};
		rc = check_tag(l, m, tag, k, &force_str);
		if (rc < 0)
			return rc;
		if ((int)l->stack.n >= l->lim->max_depth)
			return fail(l, m, WEIR_ETOOBIG, "YAML nesting deeper than %d levels",
				    l->lim->max_depth);
		f.node = new_node(l, k, m);
		f.anchor = anchor ? weir_xstrdup((const char *)anchor) : NULL;
		weir_vec_push(&l->stack, f);
		l->total++;
		if (l->total > l->lim->max_nodes)
			return fail(l, m, WEIR_ETOOBIG,
				    "YAML document too large: more than %zu nodes (aliases count again)",
				    l->lim->max_nodes);
		return 0;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_frame(l, m);
	case YAML_ALIAS_EVENT: {
		struct weir_node *n = find_anchor(l, (const char *)ev->data.alias.anchor);
		if (!n)
			return fail(l, m, WEIR_ESYNTAX, "unknown or recursive alias \"*%s\"",
				    (const char *)ev->data.alias.anchor);
		return attach(l, n, m);
	}
	default:
		return 0;
	}
}

int weir_yaml_parse(const char *text, size_t len, const struct weir_yaml_limits *lim,
		    struct weir_arena *arena, struct weir_node **root, int *err_line, int *err_col,
		    struct weir_buf *err)
{
	struct loader l = {0};
	yaml_parser_t parser;
	yaml_event_t ev;
	int docs = 0;
	int rc = 0;
	bool done = false;

	l.lim = lim;
	l.arena = arena;
	l.err = err;
	if (len > lim->max_bytes) {
		weir_buf_addf(err, "file too large: %zu bytes (the limit is %zu)", len, lim->max_bytes);
		*err_line = *err_col = 0;
		return WEIR_ETOOBIG;
	}
	if (!yaml_parser_initialize(&parser))
		weir_xmalloc(SIZE_MAX);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			l.err_line = (int)parser.problem_mark.line + 1;
			l.err_col = (int)parser.problem_mark.column + 1;
			if (parser.context)
				weir_buf_addf(err, "invalid YAML: %s %s", parser.problem ? parser.problem : "error",
					      parser.context);
			else
				weir_buf_addf(err, "invalid YAML: %s", parser.problem ? parser.problem : "error");
			rc = WEIR_ESYNTAX;
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
			rc = fail(&l, &ev.start_mark, WEIR_ESYNTAX,
				  "more than one YAML document in the file (one file = one DAG)");
		} else if (ev.type == YAML_STREAM_END_EVENT) {
			done = true;
		} else {
			rc = handle(&l, &ev);
		}
		yaml_event_delete(&ev);
		if (rc < 0)
			break;
	}
	yaml_parser_delete(&parser);
	for (size_t i = 0; i < l.stack.n; i++) {
		weir_vec_release(&l.stack.v[i].items);
		free(l.stack.v[i].anchor);
	}
	weir_vec_release(&l.stack);
	for (size_t i = 0; i < l.anchors.n; i++)
		free(l.anchors.v[i].name);
	weir_vec_release(&l.anchors);
	if (rc < 0) {
		*err_line = l.err_line;
		*err_col = l.err_col;
		return rc;
	}
	*root = l.root;
	return 0;
}
