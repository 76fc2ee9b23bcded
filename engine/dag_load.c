/*
 * dag_load.c: DAG file -> validated struct weir_dag.
 *
 * The loader never stops at the first problem: each section is checked on
 * its own and every finding goes to the caller's diagnostics with its
 * position.  Only when the file has no problems is a model returned.
 *
 * Order of work:
 *   1. read (size limit), hash, parse YAML (depth/node/alias limits)
 *   2. top-level keys, scalars, schedule/timezone/dates, params
 *   3. default_args, then each task's keys with default_args applied
 *   4. edges: unknown dependencies, duplicates, cycles (printed as a path)
 *   5. templates in operator config and env: syntax, filters, and that
 *      every variable can exist (declared params, upstream xcom tasks)
 *   6. topological order, effective priorities, lookup index
 */
#include <errno.h>
#include <regex.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/log.h"
#include "common/str.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/dag.h"
#include "engine/duration.h"
#include "engine/node.h"
#include "engine/operator.h"
#include "engine/template.h"

static const char *const top_keys[] = {
	"version", "dag", "description", "tags", "owner", "schedule", "timezone",
	"start_date", "end_date", "catchup", "max_active_runs", "max_active_tasks",
	"is_paused_upon_creation", "service", "max_area_km2", "params", "default_args",
	"tasks", "on_success", "on_failure", NULL,
};

/* DAG-level callbacks: hidden tasks after every leaf (see load_callbacks). */
static const char *const callback_keys[] = {"on_success", "on_failure", NULL};

/* Keys every task accepts, whatever its operator. */
static const char *const task_keys[] = {
	"id", "operator", "description", "depends_on", "trigger_rule", "retries",
	"retry_delay", "retry_exponential_backoff", "max_retry_delay", "execution_timeout",
	"pool", "pool_slots", "queue", "priority_weight", "weight_rule", "executor",
	"container", "limits", "env", "branch", "invalid_exit_code", "poke_interval",
	"timeout", "mode", NULL,
};

static const char *const param_keys[] = {
	"type", "default", "enum", "minimum", "maximum", "pattern", "required", "description", NULL,
};

#include "engine/dag_int.h"

struct ld {
	struct weir_dag *dag;
	struct weir_diags *d;
	const struct weir_node *root;
	const struct weir_node *defaults; /* default_args mapping, or NULL */
	const struct weir_node **task_nodes;
};

/* ------------------------------------------------------------------ */
/* small typed readers that report problems                            */
/* ------------------------------------------------------------------ */

static void hint_names(struct weir_diags *d, const char *word, const char *const *names)
{
	const char *s = weir_str_suggest(word, names);
	if (s)
		weir_diag_hint(d, "did you mean \"%s\"?", s);
}

static void expected(struct ld *l, const struct weir_node *n, const char *key, const char *what)
{
	weir_diag_at(l->d, n, "\"%s\" must be %s, not %s", key, what, weir_node_kind_name(n));
	if (n->kind == WEIR_NODE_SCALAR && n->plain && !strcmp(what, "a boolean") &&
	    (!strcasecmp(n->str, "yes") || !strcasecmp(n->str, "no") || !strcasecmp(n->str, "on") ||
	     !strcasecmp(n->str, "off")))
		weir_diag_hint(l->d, "YAML 1.2 reads \"%s\" as a string; write true or false", n->str);
}

static bool is_string(const struct weir_node *n)
{
	return n->kind == WEIR_NODE_SCALAR && weir_node_scalar_type(n) == WEIR_SCALAR_STRING;
}

static const char *get_string(struct ld *l, const struct weir_node *n, const char *key)
{
	if (!is_string(n)) {
		/* A plain number or boolean where text is wanted is still usable
		 * text, but almost always a mistake (e.g. version: 1.0). */
		expected(l, n, key, "a string");
		return NULL;
	}
	return n->str;
}

static bool get_bool(struct ld *l, const struct weir_node *n, const char *key, bool *out)
{
	if (weir_node_bool(n, out) < 0) {
		expected(l, n, key, "a boolean");
		return false;
	}
	return true;
}

static bool get_int(struct ld *l, const struct weir_node *n, const char *key, int64_t min,
		    int64_t max, int64_t *out)
{
	int64_t v;

	if (weir_node_int(n, &v) < 0) {
		expected(l, n, key, "an integer");
		return false;
	}
	if (v < min || v > max) {
		if (max == INT32_MAX)
			weir_diag_at(l->d, n, "\"%s\" must be at least %lld, not %lld", key,
				     (long long)min, (long long)v);
		else
			weir_diag_at(l->d, n, "\"%s\" must be between %lld and %lld, not %lld", key,
				     (long long)min, (long long)max, (long long)v);
		return false;
	}
	*out = v;
	return true;
}

/* Column of byte `off` inside a scalar, when the scalar is one line. */
static void scalar_pos(const struct weir_node *n, size_t off, int *line, int *col)
{
	*line = n->line;
	*col = n->col;
	if (n->kind != WEIR_NODE_SCALAR || memchr(n->str, '\n', n->len))
		return;
	if (n->plain)
		*col = n->col + (int)off;
	else if (n->col > 0)
		*col = n->col + 1 + (int)off; /* the opening quote */
}

static bool get_duration(struct ld *l, const struct weir_node *n, const char *key, int64_t *us)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t off = 0;
	int64_t secs;
	bool ok = true;

	if (weir_node_int(n, &secs) == 0) {
		if (secs < 0 || secs > INT64_C(100) * 366 * 86400) {
			weir_diag_at(l->d, n, "\"%s\" must be a duration between 0 and 100 years", key);
			return false;
		}
		*us = secs * WEIR_US_PER_SEC;
		return true;
	}
	if (!is_string(n)) {
		expected(l, n, key, "a duration like \"30s\", \"5m\" or \"1h30m\"");
		return false;
	}
	if (weir_duration_parse(n->str, us, &off, &err) < 0) {
		int line, col;
		scalar_pos(n, off, &line, &col);
		weir_diag_add(l->d, line, col, "invalid duration for \"%s\": %s", key, err.buf);
		ok = false;
	}
	weir_buf_release(&err);
	return ok;
}

static bool get_enum(struct ld *l, const struct weir_node *n, const char *key,
		     const char *const *names, int *out)
{
	if (!is_string(n)) {
		expected(l, n, key, "a string");
		return false;
	}
	for (int i = 0; names[i]; i++) {
		if (!strcmp(n->str, names[i])) {
			*out = i;
			return true;
		}
	}
	{
		struct weir_buf list = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		for (int i = 0; names[i]; i++)
			weir_buf_addf(&list, "%s%s", i ? ", " : "", names[i]);
		weir_diag_at(l->d, n, "invalid %s \"%s\" (expected one of: %s)", key, n->str, list.buf);
		hint_names(l->d, n->str, names);
		weir_buf_release(&list);
	}
	return false;
}

static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > WEIR_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static bool valid_ident(const char *s)
{
	if (!*s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static void check_keys(struct ld *l, const struct weir_node *map, const char *const *a,
		       const char *const *b, const char *where)
{
	for (size_t i = 0; i < map->n; i++) {
		const char *k = map->keys[i]->str;
		bool known = map == l->root && !strncmp(k, "x-", 2); /* extension keys */
		for (size_t j = 0; a[j] && !known; j++)
			known = !strcmp(k, a[j]);
		for (size_t j = 0; b && b[j] && !known; j++)
			known = !strcmp(k, b[j]);
		if (known)
			continue;
		if (where)
			weir_diag_at(l->d, map->keys[i], "unknown key \"%s\" in %s", k, where);
		else
			weir_diag_at(l->d, map->keys[i], "unknown key \"%s\"", k);
		{
			const char *s = weir_str_suggest(k, a);
			if (!s && b)
				s = weir_str_suggest(k, b);
			if (s)
				weir_diag_hint(l->d, "did you mean \"%s\"?", s);
		}
	}
}

static void decref_cb(void *j)
{
	json_decref(j);
}

/* Ties a JSON value's lifetime to the DAG's arena (steals the reference). */
static json_t *keep_json(struct ld *l, json_t *j)
{
	if (j)
		weir_arena_on_release(&l->dag->arena, decref_cb, j);
	return j;
}

static const char *adup(struct ld *l, const char *s)
{
	return s ? weir_arena_strdup(&l->dag->arena, s) : NULL;
}

/* ------------------------------------------------------------------ */
/* sizes for limits: "512M", "1G", "1024"                               */
/* ------------------------------------------------------------------ */

static bool get_size(struct ld *l, const struct weir_node *n, const char *key, int64_t *out)
{
	int64_t v;
	char *end;
	unsigned long long num;
	int64_t mult = 1;

	if (weir_node_int(n, &v) == 0) {
		if (v <= 0) {
			weir_diag_at(l->d, n, "\"%s\" must be positive", key);
			return false;
		}
		*out = v;
		return true;
	}
	if (!is_string(n) || !(n->str[0] >= '0' && n->str[0] <= '9'))
		goto bad;
	errno = 0;
	num = strtoull(n->str, &end, 10);
	if (errno)
		goto bad;
	if (!strcmp(end, "K") || !strcmp(end, "Ki") || !strcmp(end, "KiB") || !strcmp(end, "k"))
		mult = INT64_C(1) << 10;
	else if (!strcmp(end, "M") || !strcmp(end, "Mi") || !strcmp(end, "MiB"))
		mult = INT64_C(1) << 20;
	else if (!strcmp(end, "G") || !strcmp(end, "Gi") || !strcmp(end, "GiB"))
		mult = INT64_C(1) << 30;
	else if (!strcmp(end, "T") || !strcmp(end, "Ti") || !strcmp(end, "TiB"))
		mult = INT64_C(1) << 40;
	else if (*end)
		goto bad;
	if (num == 0 || num > (unsigned long long)(INT64_MAX / mult))
		goto bad;
	*out = (int64_t)num * mult;
	return true;
bad:
	weir_diag_at(l->d, n, "\"%s\" must be a size like 512M or 2G", key);
	return false;
}

static void load_limits(struct ld *l, const struct weir_node *n, struct weir_limits *lim)
{
	static const char *const keys[] = {"memory", "cpus", "pids", "nofile", "cpu_time", NULL};
	const struct weir_node *v;
	int64_t i;

	if (n->kind != WEIR_NODE_MAP) {
		expected(l, n, "limits", "a mapping");
		return;
	}
	check_keys(l, n, keys, NULL, "limits");
	if ((v = weir_node_get(n, "memory")))
		get_size(l, v, "memory", &lim->memory_bytes);
	if ((v = weir_node_get(n, "cpus"))) {
		double c;
		if (weir_node_real(v, &c) < 0 || !(c > 0 && c <= 1024))
			weir_diag_at(l->d, v, "\"cpus\" must be a number of cores above 0, like 0.5 or 2");
		else
			lim->cpus = c;
	}
	if ((v = weir_node_get(n, "pids")) && get_int(l, v, "pids", 1, 1 << 22, &i))
		lim->pids = i;
	if ((v = weir_node_get(n, "nofile")) && get_int(l, v, "nofile", 3, 1 << 20, &i))
		lim->nofile = i;
	if ((v = weir_node_get(n, "cpu_time"))) {
		int64_t us;
		if (get_duration(l, v, "cpu_time", &us))
			lim->cpu_seconds = (us + WEIR_US_PER_SEC - 1) / WEIR_US_PER_SEC;
	}
}

/* container: {rootfs | image, mounts, network, user, hostname} (the runtime is the container_runtime setting) */
static void check_container(struct ld *l, const struct weir_node *n)
{
	static const char *const keys[] = {"rootfs", "image", "mounts", "network", "user",
					   "hostname", "limits", NULL};
	static const char *const nets[] = {"none", "host", NULL};
	const struct weir_node *v;
	int e;

	if (n->kind != WEIR_NODE_MAP) {
		expected(l, n, "container", "a mapping");
		return;
	}
	check_keys(l, n, keys, NULL, "container");
	if (!!weir_node_get(n, "rootfs") == !!weir_node_get(n, "image"))
		weir_diag_at(l->d, n, "container needs exactly one of \"rootfs\" (a directory) or \"image\" (an OCI image layout)");
	if ((v = weir_node_get(n, "rootfs")) && get_string(l, v, "rootfs") && v->str[0] != '/')
		weir_diag_at(l->d, v, "\"rootfs\" must be an absolute path");
	if ((v = weir_node_get(n, "image")) && get_string(l, v, "image") && v->str[0] != '/')
		weir_diag_at(l->d, v, "\"image\" must be an absolute path (an OCI image layout folder, optionally with :TAG)");
	if ((v = weir_node_get(n, "network")))
		get_enum(l, v, "network", nets, &e);
	if ((v = weir_node_get(n, "hostname")))
		get_string(l, v, "hostname");
	if ((v = weir_node_get(n, "user")) && get_string(l, v, "user")) {
		unsigned a, b;
		char c;
		if (sscanf(v->str, "%u:%u%c", &a, &b, &c) != 2 && sscanf(v->str, "%u%c", &a, &c) != 1)
			weir_diag_at(l->d, v, "\"user\" must be numeric \"UID\" or \"UID:GID\"");
	}
	if ((v = weir_node_get(n, "mounts"))) {
		if (v->kind != WEIR_NODE_SEQ) {
			expected(l, v, "mounts", "a list");
		} else {
			static const char *const mkeys[] = {"source", "target", "readonly", NULL};
			for (size_t i = 0; i < v->n; i++) {
				const struct weir_node *m = v->items[i], *s, *t, *ro;
				bool b;
				if (is_string(m)) {
					/* "SRC:DST" or "SRC:DST:rw" / ":ro" */
					const char *c1 = strchr(m->str, ':');
					const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
					if (!c1 || m->str[0] != '/' || c1[1] != '/' ||
					    (c2 && strcmp(c2, ":rw") && strcmp(c2, ":ro")))
						weir_diag_at(l->d, m, "mount \"%s\" must look like \"/host/path:/container/path[:rw]\"", m->str);
					continue;
				}
				if (m->kind != WEIR_NODE_MAP) {
					expected(l, m, "mounts item", "a mapping or \"SRC:DST[:rw]\"");
					continue;
				}
				check_keys(l, m, mkeys, NULL, "mount");
				s = weir_node_get(m, "source");
				t = weir_node_get(m, "target");
				if (!s || !t)
					weir_diag_at(l->d, m, "mount needs \"source\" and \"target\"");
				if (s && get_string(l, s, "source") && s->str[0] != '/')
					weir_diag_at(l->d, s, "mount \"source\" must be an absolute path");
				if (t && get_string(l, t, "target") && t->str[0] != '/')
					weir_diag_at(l->d, t, "mount \"target\" must be an absolute path");
				if ((ro = weir_node_get(m, "readonly")))
					get_bool(l, ro, "readonly", &b);
			}
		}
	}
	if ((v = weir_node_get(n, "limits"))) {
		struct weir_limits lim = {0};
		load_limits(l, v, &lim);
	}
}

/* ------------------------------------------------------------------ */
/* params                                                               */
/* ------------------------------------------------------------------ */

static bool wkt_shape_ok(const char *s)
{
	static const char *const kinds[] = {
		"POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING",
		"MULTIPOLYGON", "GEOMETRYCOLLECTION", NULL,
	};
	int depth = 0;
	bool kind = false;

	while (*s == ' ')
		s++;
	if (!strncasecmp(s, "SRID=", 5)) {
		s += 5;
		while (*s >= '0' && *s <= '9')
			s++;
		if (*s++ != ';')
			return false;
	}
	for (int i = 0; kinds[i]; i++) {
		size_t n = strlen(kinds[i]);
		if (!strncasecmp(s, kinds[i], n) &&
		    (s[n] == ' ' || s[n] == '(' || s[n] == 'Z' || s[n] == 'M' || s[n] == 'z')) {
			kind = true;
			/* Prefer the longest match (MULTIPOLYGON over POLYGON is
			 * automatic: they differ in the first letters). */
			s += n;
			break;
		}
	}
	if (!kind)
		return false;
	for (; *s; s++) {
		if (*s == '(')
			depth++;
		else if (*s == ')' && --depth < 0)
			return false;
	}
	return depth == 0;
}

static bool geojson_shape_ok(json_t *v)
{
	static const char *const types[] = {
		"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
		"GeometryCollection", "Feature", "FeatureCollection", NULL,
	};
	const char *t;

	if (!json_is_object(v))
		return false;
	t = json_string_value(json_object_get(v, "type"));
	if (!t)
		return false;
	for (int i = 0; types[i]; i++)
		if (!strcmp(t, types[i]))
			return true;
	return false;
}

static bool full_match(const char *pattern, const char *s, bool *bad_pattern)
{
	regex_t re;
	char *anchored = weir_xasprintf("^(%s)$", pattern);
	bool ok;

	*bad_pattern = false;
	if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0) {
		*bad_pattern = true;
		free(anchored);
		return false;
	}
	ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	free(anchored);
	return ok;
}

int weir_param_check(const struct weir_param *p, json_t *v, struct weir_buf *err)
{
	double num = 0;
	bool bad;

	switch (p->type) {
	case WEIR_PARAM_STRING:
		if (!json_is_string(v))
			goto type;
		if (p->pattern && !full_match(p->pattern, json_string_value(v), &bad)) {
			weir_buf_addf(err, "param \"%s\" does not match the pattern \"%s\"", p->name,
				      p->pattern);
			return WEIR_EINVALID;
		}
		break;
	case WEIR_PARAM_INTEGER:
		if (json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v))
			num = json_real_value(v);
		else if (json_is_integer(v))
			num = (double)json_integer_value(v);
		else
			goto type;
		break;
	case WEIR_PARAM_NUMBER:
		if (!json_is_number(v))
			goto type;
		num = json_number_value(v);
		break;
	case WEIR_PARAM_BOOLEAN:
		if (!json_is_boolean(v))
			goto type;
		break;
	case WEIR_PARAM_OBJECT:
		if (!json_is_object(v))
			goto type;
		break;
	case WEIR_PARAM_ARRAY:
		if (!json_is_array(v))
			goto type;
		break;
	case WEIR_PARAM_WKT:
		if (!json_is_string(v) || !wkt_shape_ok(json_string_value(v))) {
			weir_buf_addf(err, "param \"%s\" must be a WKT geometry such as \"POLYGON((...))\"",
				      p->name);
			return WEIR_EINVALID;
		}
		break;
	case WEIR_PARAM_GEOJSON:
		if (!geojson_shape_ok(v)) {
			weir_buf_addf(err, "param \"%s\" must be a GeoJSON object with a geometry \"type\"",
				      p->name);
			return WEIR_EINVALID;
		}
		break;
	case WEIR_PARAM__COUNT:
		WEIR_BUG("bad param type");
	}
	if (p->type == WEIR_PARAM_INTEGER || p->type == WEIR_PARAM_NUMBER) {
		if (p->has_minimum && num < p->minimum) {
			weir_buf_addf(err, "param \"%s\" must be at least %g, not %g", p->name, p->minimum, num);
			return WEIR_EINVALID;
		}
		if (p->has_maximum && num > p->maximum) {
			weir_buf_addf(err, "param \"%s\" must be at most %g, not %g", p->name, p->maximum, num);
			return WEIR_EINVALID;
		}
	}
	if (p->enum_values) {
		size_t i;
		json_t *e;
		json_array_foreach(p->enum_values, i, e) {
			if (json_equal(e, v))
				return 0;
		}
		{
			char *js = json_dumps(p->enum_values, JSON_COMPACT | JSON_ENCODE_ANY);
			weir_buf_addf(err, "param \"%s\" must be one of %s", p->name, js ? js : "[]");
			free(js);
		}
		return WEIR_EINVALID;
	}
	return 0;
type:
	weir_buf_addf(err, "param \"%s\" must be of type %s", p->name, weir_param_type_name(p->type));
	return WEIR_EINVALID;
}

static enum weir_param_type infer_type(json_t *v)
{
	if (json_is_integer(v))
		return WEIR_PARAM_INTEGER;
	if (json_is_real(v))
		return WEIR_PARAM_NUMBER;
	if (json_is_boolean(v))
		return WEIR_PARAM_BOOLEAN;
	if (json_is_object(v))
		return WEIR_PARAM_OBJECT;
	if (json_is_array(v))
		return WEIR_PARAM_ARRAY;
	return WEIR_PARAM_STRING;
}

static void load_params(struct ld *l, const struct weir_node *n)
{
	struct weir_dag *dag = l->dag;

	if (n->kind != WEIR_NODE_MAP) {
		expected(l, n, "params", "a mapping of param names to declarations");
		return;
	}
	dag->params = weir_arena_calloc(&dag->arena, n->n ? n->n : 1, sizeof(*dag->params));
	for (size_t i = 0; i < n->n; i++) {
		const struct weir_node *k = n->keys[i], *decl = n->items[i], *v;
		struct weir_param *p = &dag->params[dag->nparams++];
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		int t;
		bool has_type = false;

		p->name = adup(l, k->str);
		p->line = k->line;
		p->col = k->col;
		if (!valid_ident(k->str))
			weir_diag_at(l->d, k, "invalid param name \"%s\" (use letters, digits and _, not starting with a digit)", k->str);
		if (decl->kind != WEIR_NODE_MAP) {
			/* Shorthand: `name: default`. */
			if (decl->kind == WEIR_NODE_SCALAR && !weir_node_is_null(decl)) {
				p->default_value = keep_json(l, weir_node_to_json(decl));
				p->type = infer_type(p->default_value);
				continue;
			}
			expected(l, decl, p->name, "a mapping (type, default, ...) or a default value");
			continue;
		}
		check_keys(l, decl, param_keys, NULL, "param declaration");
		if ((v = weir_node_get(decl, "type")) && get_enum(l, v, "param type", weir__param_type_names, &t)) {
			p->type = (enum weir_param_type)t;
			has_type = true;
		}
		if ((v = weir_node_get(decl, "description")))
			p->description = adup(l, get_string(l, v, "description"));
		if ((v = weir_node_get(decl, "required")))
			get_bool(l, v, "required", &p->required);
		if ((v = weir_node_get(decl, "minimum"))) {
			if (weir_node_real(v, &p->minimum) < 0)
				expected(l, v, "minimum", "a number");
			else
				p->has_minimum = true;
		}
		if ((v = weir_node_get(decl, "maximum"))) {
			if (weir_node_real(v, &p->maximum) < 0)
				expected(l, v, "maximum", "a number");
			else
				p->has_maximum = true;
		}
		if (p->has_minimum && p->has_maximum && p->minimum > p->maximum)
			weir_diag_at(l->d, weir_node_get(decl, "maximum"),
				     "param \"%s\": maximum %g is below minimum %g", p->name, p->maximum,
				     p->minimum);
		if ((v = weir_node_get(decl, "pattern")) && get_string(l, v, "pattern")) {
			bool bad;
			full_match(v->str, "", &bad);
			if (bad)
				weir_diag_at(l->d, v, "param \"%s\": invalid regular expression \"%s\"",
					     p->name, v->str);
			else
				p->pattern = adup(l, v->str);
		}
		if ((v = weir_node_get(decl, "default")) && !weir_node_is_null(v)) {
			p->default_value = keep_json(l, weir_node_to_json(v));
			if (!has_type && !weir_node_get(decl, "type"))
				p->type = infer_type(p->default_value);
		}
		if ((v = weir_node_get(decl, "enum"))) {
			if (v->kind != WEIR_NODE_SEQ || v->n == 0) {
				expected(l, v, "enum", "a non-empty list");
			} else {
				p->enum_values = keep_json(l, weir_node_to_json(v));
				/* Every allowed value must itself be valid. */
				json_t *save = p->enum_values;
				p->enum_values = NULL;
				for (size_t j = 0; j < v->n; j++) {
					weir_buf_reset(&err);
					if (weir_param_check(p, json_array_get(save, j), &err) < 0)
						weir_diag_at(l->d, v->items[j], "enum value: %s", err.buf);
				}
				p->enum_values = save;
			}
		}
		if (p->default_value) {
			weir_buf_reset(&err);
			if (weir_param_check(p, p->default_value, &err) < 0)
				weir_diag_at(l->d, weir_node_get(decl, "default"), "invalid default: %s", err.buf);
		}
		if (!weir_node_get(decl, "type") && !p->default_value)
			p->type = WEIR_PARAM_STRING;
		weir_buf_release(&err);
	}
}

int weir_dag_resolve_params(const struct weir_dag *dag, json_t *given, json_t **out,
			    const char **field, struct weir_buf *err)
{
	json_t *res = json_object();
	const char *k;
	json_t *v;

	*field = NULL;
	if (given && !json_is_object(given)) {
		weir_buf_addf(err, "params must be a JSON object");
		*field = "params";
		goto fail;
	}
	if (given) {
		json_object_foreach(given, k, v) {
			bool known = false;
			for (size_t i = 0; i < dag->nparams && !known; i++)
				known = !strcmp(dag->params[i].name, k);
			if (!known) {
				weir_buf_addf(err, "unknown param \"%s\" for DAG \"%s\"", k, dag->id);
				*field = k;
				goto fail;
			}
		}
	}
	for (size_t i = 0; i < dag->nparams; i++) {
		const struct weir_param *p = &dag->params[i];
		v = given ? json_object_get(given, p->name) : NULL;
		if (v && json_is_null(v) && !p->required)
			v = NULL;
		if (!v) {
			if (p->required && !p->default_value) {
				weir_buf_addf(err, "param \"%s\" is required", p->name);
				*field = p->name;
				goto fail;
			}
			if (p->default_value)
				json_object_set(res, p->name, p->default_value);
			continue;
		}
		if (weir_param_check(p, v, err) < 0) {
			*field = p->name;
			goto fail;
		}
		json_object_set(res, p->name, v);
	}
	*out = res;
	return 0;
fail:
	json_decref(res);
	return WEIR_EINVALID;
}

/* ------------------------------------------------------------------ */
/* tasks                                                                */
/* ------------------------------------------------------------------ */

/* A task key's value: the task's own, else default_args'. */
static const struct weir_node *tget(struct ld *l, const struct weir_node *t, const char *key)
{
	const struct weir_node *v = weir_node_get(t, key);
	if (!v && l->defaults)
		v = weir_node_get(l->defaults, key);
	return v;
}

static json_t *merged_env(struct ld *l, const struct weir_node *t)
{
	const struct weir_node *dv = l->defaults ? weir_node_get(l->defaults, "env") : NULL;
	const struct weir_node *tv = weir_node_get(t, "env");
	json_t *env = NULL;
	const struct weir_node *srcs[2] = {dv, tv};

	for (int s = 0; s < 2; s++) {
		const struct weir_node *e = srcs[s];
		if (!e)
			continue;
		if (e->kind != WEIR_NODE_MAP) {
			if (s == 1 || !tv)
				expected(l, e, "env", "a mapping of variable names to strings");
			continue;
		}
		if (!env)
			env = json_object();
		for (size_t i = 0; i < e->n; i++) {
			const struct weir_node *k = e->keys[i], *v = e->items[i];
			const char *name = k->str;
			bool ok = *name && !(*name >= '0' && *name <= '9');
			for (const char *c = name; *c && ok; c++)
				ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
				     (*c >= '0' && *c <= '9') || *c == '_';
			if (!ok) {
				weir_diag_at(l->d, k, "invalid environment variable name \"%s\"", name);
				continue;
			}
			if (!strncmp(name, "WEIR_", 5)) {
				weir_diag_at(l->d, k, "environment variable \"%s\" is reserved (WEIR_ prefix)", name);
				continue;
			}
			if (v->kind != WEIR_NODE_SCALAR || weir_node_is_null(v)) {
				weir_diag_at(l->d, v, "env \"%s\" must be a string, not %s", name,
					     weir_node_kind_name(v));
				continue;
			}
			json_object_set_new(env, name, json_stringn(v->str, v->len));
		}
	}
	return env;
}

static void load_task_common(struct ld *l, struct weir_task *task, const struct weir_node *t)
{
	const struct weir_node *v;
	int64_t i;
	int e;

	task->trigger_rule = WEIR_TRIGGER_ALL_SUCCESS;
	task->retry_delay_us = 300 * WEIR_US_PER_SEC;
	task->pool = "default_pool";
	task->pool_slots = 1;
	task->queue = "default";
	task->priority_weight = 1;
	task->poke_interval_us = 60 * WEIR_US_PER_SEC;
	task->sensor_timeout_us = 7 * WEIR_US_PER_DAY;

	if ((v = weir_node_get(t, "description")))
		task->description = adup(l, get_string(l, v, "description"));
	if ((v = tget(l, t, "trigger_rule")) && get_enum(l, v, "trigger_rule", weir__trigger_names, &e))
		task->trigger_rule = (enum weir_trigger_rule)e;
	if ((v = tget(l, t, "retries")) && get_int(l, v, "retries", 0, 1000, &i))
		task->retries = (int)i;
	if ((v = tget(l, t, "retry_delay")))
		get_duration(l, v, "retry_delay", &task->retry_delay_us);
	if ((v = tget(l, t, "retry_exponential_backoff")))
		get_bool(l, v, "retry_exponential_backoff", &task->retry_exponential_backoff);
	if ((v = tget(l, t, "max_retry_delay")))
		get_duration(l, v, "max_retry_delay", &task->max_retry_delay_us);
	if ((v = tget(l, t, "execution_timeout")) && get_duration(l, v, "execution_timeout", &task->execution_timeout_us) &&
	    task->execution_timeout_us == 0)
		weir_diag_at(l->d, v, "\"execution_timeout\" must be longer than 0s (omit it for no timeout)");
	if ((v = tget(l, t, "pool")) && get_string(l, v, "pool")) {
		if (!valid_id(v->str))
			weir_diag_at(l->d, v, "invalid pool name \"%s\" (use letters, digits, _ . -)", v->str);
		task->pool = adup(l, v->str);
	}
	if ((v = tget(l, t, "pool_slots")) && get_int(l, v, "pool_slots", 1, INT32_MAX, &i))
		task->pool_slots = (int)i;
	if ((v = tget(l, t, "queue")) && get_string(l, v, "queue")) {
		if (!valid_id(v->str))
			weir_diag_at(l->d, v, "invalid queue name \"%s\" (use letters, digits, _ . -)", v->str);
		task->queue = adup(l, v->str);
	}
	if ((v = tget(l, t, "priority_weight")) &&
	    get_int(l, v, "priority_weight", -1000000, 1000000, &i))
		task->priority_weight = (int)i;
	if ((v = tget(l, t, "weight_rule")) && get_enum(l, v, "weight_rule", weir__weight_rule_names, &e))
		task->weight_rule = (enum weir_weight_rule)e;
	if ((v = tget(l, t, "executor")) && get_enum(l, v, "executor", weir__executor_names, &e)) {
		task->executor = (enum weir_executor_kind)e;
		/* Part of the format, not of this version: say so at load time
		 * rather than run the task somewhere else. */
		if (task->executor == WEIR_EXECUTOR_AMQP)
			weir_diag_at(l->d, v, "executor \"amqp\" needs RabbitMQ workers (weir worker), which this version of weir does not have yet; use local or container");
	}
	if ((v = tget(l, t, "container"))) {
		check_container(l, v);
		task->container = keep_json(l, weir_node_to_json(v));
	}
	if (task->executor == WEIR_EXECUTOR_CONTAINER && !task->container)
		weir_diag_at(l->d, t, "task \"%s\" uses executor container but has no \"container\" section",
			     task->id);
	if ((v = tget(l, t, "limits")))
		load_limits(l, v, &task->limits);
	task->env = keep_json(l, merged_env(l, t));
	if ((v = weir_node_get(t, "branch")))
		get_bool(l, v, "branch", &task->branch);
	if ((v = tget(l, t, "invalid_exit_code")) && get_int(l, v, "invalid_exit_code", 1, 255, &i)) {
		task->has_invalid_exit_code = true;
		task->invalid_exit_code = (int)i;
	}
	/* Sensor keys: only for sensors; default_args values are ignored for
	 * non-sensors so one default_args can serve a mixed DAG. */
	{
		static const char *const skeys[] = {"poke_interval", "timeout", "mode"};
		bool sensor = task->op && task->op->is_sensor;
		for (size_t k = 0; k < WEIR_ARRAY_SIZE(skeys); k++) {
			v = weir_node_get(t, skeys[k]);
			if (v && task->op && !sensor)
				weir_diag_at(l->d, weir_node_key(t, skeys[k]),
					     "\"%s\" applies to sensors only; operator \"%s\" is not a sensor",
					     skeys[k], task->op->name);
		}
		if (sensor) {
			if ((v = tget(l, t, "poke_interval")) &&
			    get_duration(l, v, "poke_interval", &task->poke_interval_us) &&
			    task->poke_interval_us < WEIR_US_PER_SEC / 10)
				weir_diag_at(l->d, v, "\"poke_interval\" must be at least 100ms");
			if ((v = tget(l, t, "timeout")))
				get_duration(l, v, "timeout", &task->sensor_timeout_us);
			if ((v = tget(l, t, "mode")) && get_enum(l, v, "mode", weir__mode_names, &e))
				task->mode = (enum weir_sensor_mode)e;
		}
	}
}

/* Sets the task's operator from its "operator" node v (a string). */
static void load_operator(struct ld *l, struct weir_task *task, const struct weir_node *v)
{
	if (!get_string(l, v, "operator"))
		return;
	task->operator_name = adup(l, v->str);
	task->op = weir_operator_find(v->str);
	if (!task->op) {
		weir_diag_at(l->d, v, "unknown operator \"%s\"", v->str);
		hint_names(l->d, v->str, weir_operator_names());
	}
}

/* The operator's own keys of task node t as its config, then the
 * operator's checks (task->op is set). */
static void load_op_config(struct ld *l, struct weir_task *task, const struct weir_node *t)
{
	json_t *cfg = json_object();

	for (size_t k = 0; k < t->n; k++) {
		const char *key = t->keys[k]->str;
		for (size_t j = 0; task->op->keys && task->op->keys[j]; j++)
			if (!strcmp(key, task->op->keys[j]))
				json_object_set_new(cfg, key, weir_node_to_json(t->items[k]));
	}
	task->config = keep_json(l, cfg);
	if (task->op->validate)
		task->op->validate(t, l->d);
}

/*
 * on_success / on_failure: a mapping like a task (operator, its keys,
 * env, retries, timeouts...) without id, depends_on, trigger_rule or
 * branch.  Each becomes a hidden task with that id, downstream of every
 * leaf (build_graph), with trigger rule none_failed (the run succeeded) or
 * one_failed (it failed); it never counts in the run's outcome.
 */
static void load_callbacks(struct ld *l)
{
	static const char *const banned[] = {"id", "depends_on", "trigger_rule", "branch", NULL};
	struct weir_dag *dag = l->dag;

	for (size_t c = 0; callback_keys[c]; c++) {
		const struct weir_node *t = weir_node_get(l->root, callback_keys[c]), *v;
		struct weir_task *task;
		if (!t || weir_node_is_null(t))
			continue;
		if (t->kind != WEIR_NODE_MAP) {
			expected(l, t, callback_keys[c], "a mapping with an \"operator\" and its keys");
			continue;
		}
		task = &dag->tasks[dag->ntasks];
		l->task_nodes[dag->ntasks] = t;
		dag->ntasks++;
		task->id = callback_keys[c];
		task->callback = true;
		task->line = t->line;
		task->col = t->col;
		for (size_t b = 0; banned[b]; b++)
			if (weir_node_key(t, banned[b]))
				weir_diag_at(l->d, weir_node_key(t, banned[b]),
					     "\"%s\" cannot be set on %s: it runs after every other task", banned[b],
					     callback_keys[c]);
		v = weir_node_get(t, "operator");
		if (!v)
			weir_diag_at(l->d, t, "%s needs an \"operator\" (e.g. notify)", callback_keys[c]);
		else
			load_operator(l, task, v);
		if (task->op) {
			check_keys(l, t, task_keys, task->op->keys, callback_keys[c]);
			load_op_config(l, task, t);
		}
		load_task_common(l, task, t);
		task->trigger_rule = c == 0 ? WEIR_TRIGGER_NONE_FAILED : WEIR_TRIGGER_ONE_FAILED;
	}
}

static void load_tasks(struct ld *l, const struct weir_node *list)
{
	struct weir_dag *dag = l->dag;

	if (list->kind != WEIR_NODE_SEQ) {
		expected(l, list, "tasks", "a list of tasks");
		return;
	}
	if (list->n == 0) {
		weir_diag_at(l->d, list, "\"tasks\" is empty: a DAG needs at least one task");
		return;
	}
	if (list->n > WEIR_DAG_MAX_TASKS) {
		weir_diag_at(l->d, list, "too many tasks: %zu (the limit is %d)", list->n,
			     WEIR_DAG_MAX_TASKS);
		return;
	}
	/* Room for the callbacks, appended after the tasks. */
	dag->tasks = weir_arena_calloc(&dag->arena, list->n + 2, sizeof(*dag->tasks));
	l->task_nodes = weir_arena_calloc(&dag->arena, list->n + 2, sizeof(*l->task_nodes));
	for (size_t i = 0; i < list->n; i++) {
		const struct weir_node *t = list->items[i], *v;
		struct weir_task *task = &dag->tasks[dag->ntasks];

		if (t->kind != WEIR_NODE_MAP) {
			weir_diag_at(l->d, t, "each task must be a mapping with \"id\" and \"operator\", not %s",
				     weir_node_kind_name(t));
			continue;
		}
		dag->ntasks++;
		l->task_nodes[dag->ntasks - 1] = t;
		task->line = t->line;
		task->col = t->col;
		v = weir_node_get(t, "id");
		if (!v) {
			weir_diag_at(l->d, t, "task has no \"id\"");
			task->id = weir_arena_printf(&dag->arena, "#%zu", i + 1);
		} else if (get_string(l, v, "id")) {
			if (!valid_id(v->str))
				weir_diag_at(l->d, v, "invalid task id \"%s\" (1 to %d of A-Z a-z 0-9 _ . -)",
					     v->str, WEIR_ID_MAX);
			for (size_t c = 0; callback_keys[c]; c++)
				if (!strcmp(v->str, callback_keys[c]))
					weir_diag_at(l->d, v, "task id \"%s\" is reserved for the DAG's callback", v->str);
			task->id = adup(l, v->str);
		} else {
			task->id = weir_arena_printf(&dag->arena, "#%zu", i + 1);
		}
		v = weir_node_get(t, "operator");
		if (!v && l->defaults)
			v = weir_node_get(l->defaults, "operator");
		if (!v)
			weir_diag_at(l->d, t, "task \"%s\" has no \"operator\"", task->id);
		else
			load_operator(l, task, v);
		/* Keys: common ones plus the operator's own (unknowable when the
		 * operator itself is unknown: that error is enough). */
		if (task->op || !task->operator_name)
			check_keys(l, t, task_keys, task->op ? task->op->keys : NULL, NULL);
		if (task->op)
			load_op_config(l, task, t);
		load_task_common(l, task, t);
	}
	load_callbacks(l);
	/* Duplicate ids: report the later one, pointing at the first. */
	for (uint32_t i = 0; i < dag->ntasks; i++)
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(dag->tasks[i].id, dag->tasks[j].id) && dag->tasks[i].id[0] != '#') {
				weir_diag_at(l->d, weir_node_get(l->task_nodes[i], "id"),
					     "duplicate task id \"%s\" (first defined at line %d)",
					     dag->tasks[i].id, dag->tasks[j].line);
				break;
			}
}

/* ------------------------------------------------------------------ */
/* the graph                                                            */
/* ------------------------------------------------------------------ */

static int cmp_by_id(const void *a, const void *b, void *arg)
{
	const struct weir_dag *dag = arg;
	return strcmp(dag->tasks[*(const uint32_t *)a].id, dag->tasks[*(const uint32_t *)b].id);
}

long weir_dag_task_index(const struct weir_dag *dag, const char *id)
{
	size_t lo = 0, hi = dag->ntasks;

	if (!dag->by_id) {
		for (uint32_t i = 0; i < dag->ntasks; i++)
			if (!strcmp(dag->tasks[i].id, id))
				return i;
		return -1;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(dag->tasks[dag->by_id[mid]].id, id);
		if (c == 0)
			return dag->by_id[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Finds a cycle among tasks not placed in topological order; prints it. */
static void report_cycle(struct ld *l, const bool *placed)
{
	struct weir_dag *dag = l->dag;
	uint32_t n = dag->ntasks;
	int *color = weir_xcalloc(n, sizeof(int)); /* 0 new, 1 on stack, 2 done */
	uint32_t *stack = weir_xcalloc(n + 1, sizeof(uint32_t));
	uint32_t *edge = weir_xcalloc(n + 1, sizeof(uint32_t));

	for (uint32_t s = 0; s < n; s++) {
		size_t sp = 0;
		if (placed[s] || color[s])
			continue;
		stack[sp] = s;
		edge[sp] = 0;
		color[s] = 1;
		sp++;
		while (sp) {
			uint32_t u = stack[sp - 1];
			const struct weir_task *t = &dag->tasks[u];
			if (edge[sp - 1] < t->n_downstream) {
				uint32_t v = t->downstream[edge[sp - 1]++];
				if (placed[v] || color[v] == 2)
					continue;
				if (color[v] == 1) {
					/* Cycle: v ... u -> v */
					struct weir_buf path = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
					size_t from = 0;
					while (stack[from] != v)
						from++;
					for (size_t k = from; k < sp; k++)
						weir_buf_addf(&path, "%s -> ", dag->tasks[stack[k]].id);
					weir_buf_addstr(&path, dag->tasks[v].id);
					{
						const struct weir_node *dn =
							weir_node_get(l->task_nodes[v], "depends_on");
						weir_diag_at(l->d, dn ? dn : l->task_nodes[v],
							     "dependency cycle: %s", path.buf);
					}
					weir_buf_release(&path);
					goto out;
				}
				stack[sp] = v;
				edge[sp] = 0;
				color[v] = 1;
				sp++;
			} else {
				color[u] = 2;
				sp--;
			}
		}
	}
out:
	free(color);
	free(stack);
	free(edge);
}

static void build_graph(struct ld *l)
{
	struct weir_dag *dag = l->dag;
	uint32_t n = dag->ntasks;
	uint32_t *nup = weir_xcalloc(n, sizeof(uint32_t)), *ndown = weir_xcalloc(n, sizeof(uint32_t));
	WEIR_VEC(uint32_t) from = WEIR_VEC_INIT, to = WEIR_VEC_INIT;
	uint32_t *by_id, *topo, *indeg, *queue;
	bool *placed;
	size_t qh = 0, qt = 0, nplaced = 0;
	bool ok = true;

	by_id = weir_arena_alloc(&dag->arena, n * sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++)
		by_id[i] = i;
	qsort_r(by_id, n, sizeof(uint32_t), cmp_by_id, dag);
	dag->by_id = by_id;

	for (uint32_t i = 0; i < n; i++) {
		const struct weir_node *dn = weir_node_get(l->task_nodes[i], "depends_on");
		const struct weir_node *one = NULL;
		size_t cnt, first_edge = from.n; /* this task's edges start here */
		if (dag->tasks[i].callback || !dn || weir_node_is_null(dn))
			continue;
		if (is_string(dn)) {
			one = dn; /* a single id is accepted as a one-element list */
			cnt = 1;
		} else if (dn->kind == WEIR_NODE_SEQ) {
			cnt = dn->n;
		} else {
			expected(l, dn, "depends_on", "a list of task ids");
			continue;
		}
		for (size_t k = 0; k < cnt; k++) {
			const struct weir_node *item = one ? one : dn->items[k];
			long j;
			bool dup = false;
			if (!is_string(item)) {
				expected(l, item, "depends_on item", "a task id");
				ok = false;
				continue;
			}
			j = weir_dag_task_index(dag, item->str);
			if (j < 0) {
				const char **names = weir_xcalloc(n + 1, sizeof(char *));
				for (uint32_t m = 0; m < n; m++)
					names[m] = dag->tasks[m].id;
				weir_diag_at(l->d, item, "task \"%s\" depends on unknown task \"%s\"",
					     dag->tasks[i].id, item->str);
				hint_names(l->d, item->str, names);
				free(names);
				ok = false;
				continue;
			}
			if ((uint32_t)j == i) {
				weir_diag_at(l->d, item, "dependency cycle: %s -> %s", item->str, item->str);
				ok = false;
				continue;
			}
			for (size_t e = first_edge; e < from.n && !dup; e++)
				dup = from.v[e] == (uint32_t)j;
			if (dup) {
				weir_diag_at(l->d, item, "task \"%s\" lists \"%s\" twice in depends_on",
					     dag->tasks[i].id, item->str);
				continue;
			}
			weir_vec_push(&from, (uint32_t)j);
			weir_vec_push(&to, i);
			nup[i]++;
			ndown[j]++;
		}
	}
	/* Callbacks come after every leaf of the user's tasks. */
	{
		uint32_t nleaf = 0;
		bool *leaf = weir_xcalloc(n, sizeof(bool));
		for (uint32_t i = 0; i < n; i++) {
			leaf[i] = !dag->tasks[i].callback && ndown[i] == 0;
			dag->tasks[i].leaf = leaf[i];
		}
		for (uint32_t i = 0; i < n; i++)
			nleaf += leaf[i];
		for (uint32_t c = 0; c < n && nleaf; c++) {
			if (!dag->tasks[c].callback)
				continue;
			for (uint32_t i = 0; i < n; i++) {
				if (!leaf[i])
					continue;
				weir_vec_push(&from, i);
				weir_vec_push(&to, c);
				nup[c]++;
				ndown[i]++;
			}
		}
		free(leaf);
	}
	/* CSR arrays: one block for all upstream lists, one for downstream. */
	{
		uint32_t *up = weir_arena_alloc(&dag->arena, (from.n ? from.n : 1) * sizeof(uint32_t));
		uint32_t *down = weir_arena_alloc(&dag->arena, (from.n ? from.n : 1) * sizeof(uint32_t));
		size_t uo = 0, dno = 0;
		for (uint32_t i = 0; i < n; i++) {
			dag->tasks[i].upstream = up + uo;
			dag->tasks[i].downstream = down + dno;
			uo += nup[i];
			dno += ndown[i];
		}
		for (size_t e = 0; e < from.n; e++) {
			struct weir_task *a = &dag->tasks[from.v[e]], *b = &dag->tasks[to.v[e]];
			((uint32_t *)b->upstream)[b->n_upstream++] = from.v[e];
			((uint32_t *)a->downstream)[a->n_downstream++] = to.v[e];
		}
	}
	weir_vec_release(&from);
	weir_vec_release(&to);
	free(nup);
	free(ndown);

	/* Kahn's algorithm; ties broken in file order. */
	topo = weir_arena_alloc(&dag->arena, n * sizeof(uint32_t));
	indeg = weir_xcalloc(n, sizeof(uint32_t));
	queue = weir_xcalloc(n, sizeof(uint32_t));
	placed = weir_xcalloc(n, sizeof(bool));
	for (uint32_t i = 0; i < n; i++) {
		indeg[i] = dag->tasks[i].n_upstream;
		if (!indeg[i])
			queue[qt++] = i;
	}
	while (qh < qt) {
		uint32_t u = queue[qh++];
		topo[nplaced++] = u;
		placed[u] = true;
		for (uint32_t k = 0; k < dag->tasks[u].n_downstream; k++) {
			uint32_t v = dag->tasks[u].downstream[k];
			if (--indeg[v] == 0)
				queue[qt++] = v;
		}
	}
	if (nplaced < n && ok)
		report_cycle(l, placed);
	dag->topo = topo;
	free(indeg);
	free(queue);
	free(placed);
}

bool weir_dag_is_ancestor(const struct weir_dag *dag, uint32_t a, uint32_t b)
{
	uint32_t *stack = weir_xmalloc(dag->ntasks * sizeof(uint32_t) + 1);
	bool *seen = weir_xcalloc(dag->ntasks, sizeof(bool));
	size_t sp = 0;
	bool found = false;

	stack[sp++] = b;
	while (sp && !found) {
		const struct weir_task *t = &dag->tasks[stack[--sp]];
		for (uint32_t k = 0; k < t->n_upstream; k++) {
			uint32_t u = t->upstream[k];
			if (u == a) {
				found = true;
				break;
			}
			if (!seen[u]) {
				seen[u] = true;
				stack[sp++] = u;
			}
		}
	}
	free(stack);
	free(seen);
	return found;
}

/* Effective priorities (Airflow's weight rules) from descendant sets. */
static void compute_priorities(struct weir_dag *dag)
{
	uint32_t n = dag->ntasks;
	size_t words = (n + 63) / 64;
	uint64_t *set = weir_xcalloc((size_t)n * words, sizeof(uint64_t));
	bool need_down = false, need_up = false;

	for (uint32_t i = 0; i < n; i++) {
		need_down |= dag->tasks[i].weight_rule == WEIR_WEIGHT_DOWNSTREAM && dag->tasks[i].n_downstream;
		need_up |= dag->tasks[i].weight_rule == WEIR_WEIGHT_UPSTREAM && dag->tasks[i].n_upstream;
		dag->tasks[i].priority = dag->tasks[i].priority_weight;
	}
	for (int pass = 0; pass < 2; pass++) {
		bool down = pass == 0;
		if ((down && !need_down) || (!down && !need_up))
			continue;
		memset(set, 0, (size_t)n * words * sizeof(uint64_t));
		/* Descendants: reverse topological order; ancestors: forward. */
		for (uint32_t k = 0; k < n; k++) {
			uint32_t u = down ? dag->topo[n - 1 - k] : dag->topo[k];
			const struct weir_task *t = &dag->tasks[u];
			uint64_t *su = set + (size_t)u * words;
			uint32_t deg = down ? t->n_downstream : t->n_upstream;
			const uint32_t *adj = down ? t->downstream : t->upstream;
			for (uint32_t e = 0; e < deg; e++) {
				uint64_t *sv = set + (size_t)adj[e] * words;
				for (size_t w = 0; w < words; w++)
					su[w] |= sv[w];
				su[adj[e] / 64] |= UINT64_C(1) << (adj[e] % 64);
			}
		}
		for (uint32_t u = 0; u < n; u++) {
			struct weir_task *t = &dag->tasks[u];
			uint64_t *su = set + (size_t)u * words;
			if (t->weight_rule != (down ? WEIR_WEIGHT_DOWNSTREAM : WEIR_WEIGHT_UPSTREAM))
				continue;
			for (size_t w = 0; w < words; w++) {
				uint64_t bits = su[w];
				while (bits) {
					int b = __builtin_ctzll(bits);
					t->priority += dag->tasks[w * 64 + (size_t)b].priority_weight;
					bits &= bits - 1;
				}
			}
		}
	}
	free(set);
}

/* ------------------------------------------------------------------ */
/* templates                                                            */
/* ------------------------------------------------------------------ */

struct tpl_check {
	struct ld *l;
	uint32_t task;
};

static const char *const tpl_roots[] = {
	"ds", "ds_nodash", "ts", "ts_nodash", "logical_date", "data_interval_start",
	"data_interval_end", "run_id", "dag", "task", "try_number", "params", "conf", "xcom",
	"env", "run_dir", NULL,
};

static int check_var(void *arg, const char *path, size_t off, struct weir_buf *err)
{
	struct tpl_check *c = arg;
	struct weir_dag *dag = c->l->dag;
	const char *dot = strchr(path, '.');
	size_t rlen = dot ? (size_t)(dot - path) : strlen(path);
	char root[32];
	const char *rest = dot ? dot + 1 : NULL;
	bool known = false;

	(void)off;
	if (rlen >= sizeof(root)) {
		weir_buf_addf(err, "unknown template variable \"%s\"", path);
		return WEIR_EINVALID;
	}
	memcpy(root, path, rlen);
	root[rlen] = '\0';
	for (size_t i = 0; tpl_roots[i] && !known; i++)
		known = !strcmp(root, tpl_roots[i]);
	if (!known) {
		const char *s = weir_str_suggest(root, tpl_roots);
		weir_buf_addf(err, "unknown template variable \"%s\"", path);
		if (s)
			weir_buf_addf(err, " (did you mean \"%s\"?)", s);
		return WEIR_EINVALID;
	}
	if (!strcmp(root, "dag") || !strcmp(root, "task")) {
		if (!rest || strcmp(rest, "id")) {
			weir_buf_addf(err, "unknown template variable \"%s\" (only %s.id exists)", path, root);
			return WEIR_EINVALID;
		}
	} else if (!strcmp(root, "params")) {
		char name[128];
		size_t n;
		bool found = false;
		if (!rest) {
			return 0; /* the whole params object */
		}
		n = strcspn(rest, ".");
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, rest, n);
		name[n] = '\0';
		for (size_t i = 0; i < dag->nparams && !found; i++)
			found = !strcmp(dag->params[i].name, name);
		if (!found) {
			weir_buf_addf(err, "unknown template variable \"%s\": the DAG declares no param \"%s\"",
				      path, name);
			return WEIR_EINVALID;
		}
	} else if (!strcmp(root, "xcom")) {
		char name[WEIR_ID_MAX + 1];
		size_t n;
		long j;
		if (!rest) {
			weir_buf_addf(err, "template variable \"xcom\" needs a task: xcom.TASK.KEY");
			return WEIR_EINVALID;
		}
		n = strcspn(rest, ".");
		if (n > WEIR_ID_MAX)
			n = WEIR_ID_MAX;
		memcpy(name, rest, n);
		name[n] = '\0';
		j = weir_dag_task_index(dag, name);
		if (j < 0) {
			weir_buf_addf(err, "unknown template variable \"%s\": no task \"%s\"", path, name);
			return WEIR_EINVALID;
		}
		if (!weir_dag_is_ancestor(dag, (uint32_t)j, c->task)) {
			weir_buf_addf(err, "template variable \"%s\": task \"%s\" is not upstream of \"%s\", so its XCom may not exist yet",
				      path, name, dag->tasks[c->task].id);
			return WEIR_EINVALID;
		}
	} else if (!strcmp(root, "env") && !rest) {
		weir_buf_addf(err, "template variable \"env\" needs a name: env.NAME");
		return WEIR_EINVALID;
	} else if (rest && strcmp(root, "conf") && strcmp(root, "env")) {
		weir_buf_addf(err, "unknown template variable \"%s\" (\"%s\" has no fields)", path, root);
		return WEIR_EINVALID;
	}
	return 0;
}

static void check_templates_in(struct ld *l, uint32_t task, const struct weir_node *n)
{
	if (n->kind == WEIR_NODE_MAP || n->kind == WEIR_NODE_SEQ) {
		for (size_t i = 0; i < n->n; i++)
			check_templates_in(l, task, n->items[i]);
		return;
	}
	if (weir_template_has_expr(n->str)) {
		struct tpl_check c = {l, task};
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		size_t off = 0;
		if (weir_template_check(n->str, check_var, &c, &off, &err) < 0) {
			int line, col;
			scalar_pos(n, off, &line, &col);
			weir_diag_add(l->d, line, col, "template error: %s", err.buf);
		}
		weir_buf_release(&err);
	}
}

static void check_templates(struct ld *l)
{
	struct weir_dag *dag = l->dag;

	for (uint32_t i = 0; i < dag->ntasks; i++) {
		const struct weir_node *t = l->task_nodes[i];
		const struct weir_task *task = &dag->tasks[i];
		for (size_t k = 0; k < t->n; k++) {
			const char *key = t->keys[k]->str;
			bool op_key = false;
			for (size_t j = 0; task->op && task->op->keys && task->op->keys[j] && !op_key; j++)
				op_key = !strcmp(key, task->op->keys[j]);
			if (op_key || !strcmp(key, "env"))
				check_templates_in(l, i, t->items[k]);
		}
		if (l->defaults && weir_node_get(l->defaults, "env"))
			check_templates_in(l, i, weir_node_get(l->defaults, "env"));
	}
}

/* ------------------------------------------------------------------ */
/* the document                                                         */
/* ------------------------------------------------------------------ */

static bool get_date(struct ld *l, const struct weir_node *n, const char *key, int64_t *us)
{
	bool has_off = false;
	int offs;
	int64_t cand[2];

	if (!is_string(n) || weir_iso_parse(n->str, us, &has_off) < 0) {
		weir_diag_at(l->d, n, "\"%s\" must be an ISO-8601 date or date-time like 2024-01-31 or 2024-01-31T06:00:00Z",
			     key);
		return false;
	}
	if (!has_off) {
		/* A naive time is wall-clock time in the DAG's zone. */
		offs = weir_tz_resolve(l->dag->tz, *us / WEIR_US_PER_SEC, cand);
		*us = cand[0] * WEIR_US_PER_SEC + *us % WEIR_US_PER_SEC;
		(void)offs;
	}
	return true;
}

static void load_doc(struct ld *l)
{
	struct weir_dag *dag = l->dag;
	const struct weir_node *r = l->root, *v;
	int64_t i;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	check_keys(l, r, top_keys, NULL, NULL);

	v = weir_node_get(r, "version");
	if (!v) {
		weir_diag_add(l->d, r->line, r->col, "missing \"version: 1\"");
	} else if (weir_node_int(v, &i) < 0 || i != WEIR_DAG_FORMAT_VERSION) {
		weir_diag_at(l->d, v, "unsupported format version %s (this weir reads version 1)", v->kind == WEIR_NODE_SCALAR ? v->str : "?");
	}

	v = weir_node_get(r, "dag");
	if (!v) {
		weir_diag_add(l->d, r->line, r->col, "missing \"dag\" (the DAG's id)");
	} else if (get_string(l, v, "dag")) {
		if (!valid_id(v->str))
			weir_diag_at(l->d, v, "invalid DAG id \"%s\" (1 to %d of A-Z a-z 0-9 _ . -)", v->str,
				     WEIR_ID_MAX);
		dag->id = adup(l, v->str);
	}
	if (!dag->id)
		dag->id = "?";
	if ((v = weir_node_get(r, "description")))
		dag->description = adup(l, get_string(l, v, "description"));
	if ((v = weir_node_get(r, "owner")))
		dag->owner = adup(l, get_string(l, v, "owner"));
	if ((v = weir_node_get(r, "tags"))) {
		if (v->kind != WEIR_NODE_SEQ) {
			expected(l, v, "tags", "a list of strings");
		} else {
			dag->tags = weir_arena_calloc(&dag->arena, v->n + 1, sizeof(char *));
			for (size_t k = 0; k < v->n; k++)
				if (get_string(l, v->items[k], "tags item"))
					dag->tags[dag->ntags++] = adup(l, v->items[k]->str);
		}
	}

	dag->tz = weir_tz_utc();
	if ((v = weir_node_get(r, "timezone")) && get_string(l, v, "timezone")) {
		weir_buf_reset(&err);
		if (weir_tz_get(v->str, &dag->tz, &err) < 0) {
			weir_diag_at(l->d, v, "invalid timezone: %s", err.buf);
			dag->tz = weir_tz_utc();
		}
	}
	if ((v = weir_node_get(r, "schedule")) && !weir_node_is_null(v) && get_string(l, v, "schedule")) {
		size_t off = 0;
		weir_buf_reset(&err);
		if (weir_cron_parse(v->str, &dag->cron, &off, &err) < 0) {
			int line, col;
			scalar_pos(v, off, &line, &col);
			weir_diag_add(l->d, line, col, "invalid schedule \"%s\": %s", v->str, err.buf);
		} else {
			dag->schedule = adup(l, v->str);
		}
	}
	dag->start_date = dag->end_date = WEIR_TIME_NONE;
	if ((v = weir_node_get(r, "start_date")))
		get_date(l, v, "start_date", &dag->start_date);
	if ((v = weir_node_get(r, "end_date")) && get_date(l, v, "end_date", &dag->end_date) &&
	    dag->start_date != WEIR_TIME_NONE && dag->end_date < dag->start_date)
		weir_diag_at(l->d, v, "\"end_date\" is before \"start_date\"");
	if ((v = weir_node_get(r, "catchup")))
		get_bool(l, v, "catchup", &dag->catchup);
	dag->max_active_runs = 16;
	dag->max_active_tasks = 16;
	if ((v = weir_node_get(r, "max_active_runs")) && get_int(l, v, "max_active_runs", 1, INT32_MAX, &i))
		dag->max_active_runs = (int)i;
	if ((v = weir_node_get(r, "max_active_tasks")) && get_int(l, v, "max_active_tasks", 1, INT32_MAX, &i))
		dag->max_active_tasks = (int)i;
	if ((v = weir_node_get(r, "is_paused_upon_creation")))
		get_bool(l, v, "is_paused_upon_creation", &dag->is_paused_upon_creation);
	if ((v = weir_node_get(r, "service")))
		get_bool(l, v, "service", &dag->service);
	if ((v = weir_node_get(r, "max_area_km2"))) {
		if (weir_node_real(v, &dag->max_area_km2) < 0 || !(dag->max_area_km2 > 0))
			weir_diag_at(l->d, v, "\"max_area_km2\" must be a positive number");
	}
	if ((v = weir_node_get(r, "params")))
		load_params(l, v);
	if ((v = weir_node_get(r, "default_args"))) {
		if (v->kind != WEIR_NODE_MAP) {
			expected(l, v, "default_args", "a mapping of task keys");
		} else {
			static const char *const not_default[] = {"id", "depends_on", "branch", "description", NULL};
			l->defaults = v;
			for (size_t k = 0; k < v->n; k++) {
				const char *key = v->keys[k]->str;
				bool bad = false;
				for (size_t j = 0; not_default[j] && !bad; j++)
					bad = !strcmp(key, not_default[j]);
				if (bad)
					weir_diag_at(l->d, v->keys[k], "\"%s\" cannot be a default_args key: it belongs to one task", key);
			}
			check_keys(l, v, task_keys, NULL, "default_args");
		}
	}
	v = weir_node_get(r, "tasks");
	if (!v)
		weir_diag_add(l->d, r->line, r->col, "missing \"tasks\"");
	else
		load_tasks(l, v);
	weir_buf_release(&err);
}

int weir_dag_load_text(const char *name, const char *text, size_t len, struct weir_dag **out,
		       struct weir_diags *d)
{
	static const struct weir_yaml_limits lim = WEIR_YAML_LIMITS_DEFAULT;
	struct weir_arena parse_arena = WEIR_ARENA_INIT;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_dag *dag = weir_xcalloc(1, sizeof(*dag));
	struct weir_node *root = NULL;
	struct ld l = {dag, d, NULL, NULL, NULL};
	unsigned char h[crypto_hash_sha256_BYTES];
	int line = 0, col = 0;
	int rc;

	weir_arena_init(&dag->arena, 16384);
	dag->refs = 1;
	dag->file = weir_arena_strdup(&dag->arena, name);
	dag->id = "?";
	crypto_hash_sha256(h, (const unsigned char *)text, len);
	for (size_t k = 0; k < sizeof(h); k++)
		snprintf(dag->hash + 2 * k, 3, "%02x", h[k]);

	if (len > WEIR_DAG_MAX_FILE_BYTES) {
		weir_diag_add(d, 0, 0, "file too large: %zu bytes (the limit is %u)", len,
			      WEIR_DAG_MAX_FILE_BYTES);
		rc = WEIR_EINVALID;
		goto out;
	}
	if (memchr(text, '\0', len)) {
		weir_diag_add(d, 0, 0, "file contains NUL bytes (not a YAML text file)");
		rc = WEIR_EINVALID;
		goto out;
	}
	rc = weir_yaml_parse(text, len, &lim, &parse_arena, &root, &line, &col, &err);
	if (rc < 0) {
		weir_diag_add(d, line, col, "%s", err.buf);
		rc = WEIR_EINVALID;
		goto out;
	}
	if (!root || root->kind != WEIR_NODE_MAP) {
		weir_diag_add(d, root ? root->line : 1, root ? root->col : 1,
			      "a DAG file must be a mapping with \"version\", \"dag\" and \"tasks\"");
		rc = WEIR_EINVALID;
		goto out;
	}
	l.root = root;
	load_doc(&l);
	if (dag->ntasks && weir_diags_count(d) == 0) {
		build_graph(&l);
		check_templates(&l);
		if (weir_diags_count(d) == 0)
			compute_priorities(dag);
	}
	if (weir_diags_count(d) > 0) {
		rc = WEIR_EINVALID;
		goto out;
	}
	dag->source = weir_arena_strndup(&dag->arena, text, len);
	dag->source_len = len;
	dag->definition = keep_json(&l, weir_node_to_json(root));
	rc = 0;
out:
	weir_diags_sort(d);
	weir_arena_release(&parse_arena);
	weir_buf_release(&err);
	if (rc < 0) {
		weir_dag_unref(dag);
		return rc;
	}
	*out = dag;
	return 0;
}

int weir_dag_load_file(const char *path, struct weir_dag **out, struct weir_diags *d)
{
	struct weir_buf text = WEIR_BUF_INIT(WEIR_DAG_MAX_FILE_BYTES);
	int rc = weir_buf_read_file(&text, path);

	if (rc == WEIR_ETOOBIG) {
		weir_diag_add(d, 0, 0, "file too large (the limit is %u bytes)", WEIR_DAG_MAX_FILE_BYTES);
		rc = WEIR_EINVALID;
	} else if (rc < 0) {
		weir_diag_add(d, 0, 0, "could not read DAG file: %s", weir_strerror(rc));
	} else {
		rc = weir_dag_load_text(path, text.buf, text.len, out, d);
	}
	weir_buf_release(&text);
	return rc;
}

struct weir_dag *weir_dag_ref(struct weir_dag *dag)
{
	__atomic_add_fetch(&dag->refs, 1, __ATOMIC_RELAXED);
	return dag;
}

void weir_dag_unref(struct weir_dag *dag)
{
	if (!dag || __atomic_sub_fetch(&dag->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	weir_arena_release(&dag->arena);
	free(dag);
}
