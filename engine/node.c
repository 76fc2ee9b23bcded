/* node.c: reading the position-keeping YAML tree (see node.h). */
#include "engine/node.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

static bool is_null_text(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static bool is_bool_text(const char *s, bool *v)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		*v = true;
		return true;
	}
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
		*v = false;
		return true;
	}
	return false;
}

static bool parse_int_text(const char *s, int64_t *out)
{
	const char *p = s;
	int base = 10;
	char *end;
	long long v;
	bool neg = false;

	if (*p == '-' || *p == '+') {
		neg = *p == '-';
		p++;
	}
	if (p[0] == '0' && p[1] == 'x' && s == p) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1] == 'o' && s == p) {
		base = 8;
		p += 2;
	}
	if (!*p)
		return false;
	for (const char *q = p; *q; q++) {
		bool ok = base == 16 ? ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
					(*q >= 'A' && *q <= 'F'))
				     : (*q >= '0' && *q <= (base == 8 ? '7' : '9'));
		if (!ok)
			return false;
	}
	errno = 0;
	v = strtoll(p, &end, base);
	if (errno == ERANGE || *end)
		return false;
	*out = neg ? -v : v;
	return true;
}

static bool parse_real_text(const char *s, double *out)
{
	const char *p = s;
	char *end;
	bool digits = false;

	if (*p == '-' || *p == '+')
		p++;
	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
		*out = s[0] == '-' ? -INFINITY : INFINITY;
		return true;
	}
	if (s == p && (!strcmp(p, ".nan") || !strcmp(p, ".NaN") || !strcmp(p, ".NAN"))) {
		*out = NAN;
		return true;
	}
	/* [0-9]* ( . [0-9]* )? ( [eE] [-+]? [0-9]+ )?  with at least one digit */
	for (; *p >= '0' && *p <= '9'; p++)
		digits = true;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits = true;
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return false;
	*out = strtod(s, &end);
	return *end == '\0';
}

enum weir_scalar_type weir_node_scalar_type(const struct weir_node *n)
{
	bool b;
	int64_t i;
	double d;

	if (n->kind != WEIR_NODE_SCALAR || !n->plain)
		return WEIR_SCALAR_STRING;
	if (is_null_text(n->str))
		return WEIR_SCALAR_NULL;
	if (is_bool_text(n->str, &b))
		return WEIR_SCALAR_BOOL;
	if (parse_int_text(n->str, &i))
		return WEIR_SCALAR_INT;
	if (parse_real_text(n->str, &d))
		return WEIR_SCALAR_REAL;
	return WEIR_SCALAR_STRING;
}

const char *weir_node_kind_name(const struct weir_node *n)
{
	if (!n)
		return "nothing";
	switch (n->kind) {
	case WEIR_NODE_MAP:
		return "a mapping";
	case WEIR_NODE_SEQ:
		return "a list";
	case WEIR_NODE_SCALAR:
		break;
	}
	switch (weir_node_scalar_type(n)) {
	case WEIR_SCALAR_NULL:
		return "null";
	case WEIR_SCALAR_BOOL:
		return "a boolean";
	case WEIR_SCALAR_INT:
		return "an integer";
	case WEIR_SCALAR_REAL:
		return "a number";
	case WEIR_SCALAR_STRING:
		break;
	}
	return "a string";
}

bool weir_node_is_null(const struct weir_node *n)
{
	return !n || (n->kind == WEIR_NODE_SCALAR && weir_node_scalar_type(n) == WEIR_SCALAR_NULL);
}

const struct weir_node *weir_node_get(const struct weir_node *map, const char *key)
{
	if (!map || map->kind != WEIR_NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (!strcmp(map->keys[i]->str, key))
			return map->items[i];
	return NULL;
}

const struct weir_node *weir_node_key(const struct weir_node *map, const char *key)
{
	if (!map || map->kind != WEIR_NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (!strcmp(map->keys[i]->str, key))
			return map->keys[i];
	return NULL;
}

int weir_node_bool(const struct weir_node *n, bool *out)
{
	if (!n || n->kind != WEIR_NODE_SCALAR || !n->plain || !is_bool_text(n->str, out))
		return WEIR_EINVALID;
	return 0;
}

int weir_node_int(const struct weir_node *n, int64_t *out)
{
	if (!n || n->kind != WEIR_NODE_SCALAR || !n->plain || !parse_int_text(n->str, out))
		return WEIR_EINVALID;
	return 0;
}

int weir_node_real(const struct weir_node *n, double *out)
{
	int64_t i;

	if (!n || n->kind != WEIR_NODE_SCALAR || !n->plain)
		return WEIR_EINVALID;
	if (parse_int_text(n->str, &i)) {
		*out = (double)i;
		return 0;
	}
	if (!parse_real_text(n->str, out))
		return WEIR_EINVALID;
	return 0;
}

json_t *weir_node_to_json(const struct weir_node *n)
{
	json_t *j;

	if (!n)
		return json_null();
	switch (n->kind) {
	case WEIR_NODE_MAP:
		j = json_object();
		for (size_t i = 0; i < n->n; i++) {
			json_t *v = weir_node_to_json(n->items[i]);
			if (!v) {
				json_decref(j);
				return NULL;
			}
			json_object_set_new(j, n->keys[i]->str, v);
		}
		return j;
	case WEIR_NODE_SEQ:
		j = json_array();
		for (size_t i = 0; i < n->n; i++) {
			json_t *v = weir_node_to_json(n->items[i]);
			if (!v) {
				json_decref(j);
				return NULL;
			}
			json_array_append_new(j, v);
		}
		return j;
	case WEIR_NODE_SCALAR:
		break;
	}
	switch (weir_node_scalar_type(n)) {
	case WEIR_SCALAR_NULL:
		return json_null();
	case WEIR_SCALAR_BOOL: {
		bool b = false;
		weir_node_bool(n, &b);
		return json_boolean(b);
	}
	case WEIR_SCALAR_INT: {
		int64_t i = 0;
		weir_node_int(n, &i);
		return json_integer(i);
	}
	case WEIR_SCALAR_REAL: {
		double d = 0;
		weir_node_real(n, &d);
		/* JSON has no inf/nan: keep the text. */
		if (!isfinite(d))
			return json_stringn(n->str, n->len);
		return json_real(d);
	}
	case WEIR_SCALAR_STRING:
		break;
	}
	return json_stringn(n->str, n->len);
}
