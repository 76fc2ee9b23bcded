/* operator.c: the operator registry and validate() helpers. */
#include "engine/operator.h"

#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"

#define MAX_OPERATORS 64

static const struct weir_operator *ops[MAX_OPERATORS];
static const char *names[MAX_OPERATORS + 1];
static size_t nops;

void weir_operator_register(const struct weir_operator *op)
{
	for (size_t i = 0; i < nops; i++)
		if (ops[i] == op)
			return;
	if (nops == MAX_OPERATORS)
		WEIR_BUG("too many operators");
	if (weir_operator_find(op->name))
		WEIR_BUG("operator \"%s\" registered twice", op->name);
	ops[nops] = op;
	names[nops] = op->name;
	nops++;
}

const struct weir_operator *weir_operator_find(const char *name)
{
	for (size_t i = 0; i < nops; i++)
		if (!strcmp(ops[i]->name, name))
			return ops[i];
	return NULL;
}

const char *const *weir_operator_names(void)
{
	return names;
}

static const struct weir_node *want(const struct weir_node *task, const char *key, bool required,
				    struct weir_diags *d)
{
	const struct weir_node *v = weir_node_get(task, key);
	if (!v && required) {
		const struct weir_node *id = weir_node_get(task, "id");
		weir_diag_at(d, task, "task \"%s\" needs \"%s\"",
			     id && id->kind == WEIR_NODE_SCALAR ? id->str : "?", key);
	}
	return v;
}

const struct weir_node *weir_op_want_string(const struct weir_node *task, const char *key,
					    bool required, struct weir_diags *d)
{
	const struct weir_node *v = want(task, key, required, d);
	if (v && (v->kind != WEIR_NODE_SCALAR || weir_node_is_null(v))) {
		weir_diag_at(d, v, "\"%s\" must be a string, not %s", key, weir_node_kind_name(v));
		return NULL;
	}
	return v;
}

const struct weir_node *weir_op_want_string_list(const struct weir_node *task, const char *key,
						 bool required, struct weir_diags *d)
{
	const struct weir_node *v = want(task, key, required, d);
	if (!v)
		return NULL;
	if (v->kind != WEIR_NODE_SEQ) {
		weir_diag_at(d, v, "\"%s\" must be a list of strings, not %s", key, weir_node_kind_name(v));
		return NULL;
	}
	for (size_t i = 0; i < v->n; i++) {
		if (v->items[i]->kind != WEIR_NODE_SCALAR || weir_node_is_null(v->items[i])) {
			weir_diag_at(d, v->items[i], "\"%s\" items must be strings, not %s", key,
				     weir_node_kind_name(v->items[i]));
			return NULL;
		}
	}
	return v;
}

const struct weir_node *weir_op_want_map(const struct weir_node *task, const char *key,
					 bool required, struct weir_diags *d)
{
	const struct weir_node *v = want(task, key, required, d);
	if (v && v->kind != WEIR_NODE_MAP) {
		weir_diag_at(d, v, "\"%s\" must be a mapping, not %s", key, weir_node_kind_name(v));
		return NULL;
	}
	return v;
}
