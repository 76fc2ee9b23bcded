/* opsutil.c: helpers shared by the operators (ops_int.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/connections.h"
#include "engine/duration.h"
#include "engine/template.h"
#include "operators/ops_int.h"
#include "common/banned.h"

/* ------------------------------------------------------------------ */
/* validate()                                                           */
/* ------------------------------------------------------------------ */

static const char *task_name(const struct weir_node *task)
{
	const struct weir_node *op = weir_node_get(task, "operator");
	return op && op->kind == WEIR_NODE_SCALAR ? op->str : "this";
}

bool weir__op_templated(const struct weir_node *n)
{
	return n && n->kind == WEIR_NODE_SCALAR && weir_template_has_expr(n->str);
}

const struct weir_node *weir__op_want_conn(const struct weir_node *task, const char *key,
					   bool required, const char *what, struct weir_diags *d)
{
	const struct weir_node *v = weir_node_get(task, key);

	if (!v) {
		if (required)
			weir_diag_at(d, task, "%s task needs \"%s\" (%s)", task_name(task), key, what);
		return NULL;
	}
	if (v->kind != WEIR_NODE_SCALAR || weir_node_is_null(v)) {
		weir_diag_at(d, v, "\"%s\" must be the name of a connection, not %s", key,
			     weir_node_kind_name(v));
		return NULL;
	}
	if (weir_template_has_expr(v->str)) {
		weir_diag_at(d, v, "\"%s\" cannot be a template: connections are looked up before the task starts",
			     key);
		return NULL;
	}
	if (!weir_conn_name_valid(v->str)) {
		weir_diag_at(d, v, "invalid connection name \"%s\" (1 to %d of A-Z a-z 0-9 _ . -)", v->str,
			     WEIR_CONN_NAME_MAX);
		return NULL;
	}
	return v;
}

bool weir__op_want_bool(const struct weir_node *task, const char *key, struct weir_diags *d)
{
	const struct weir_node *v = weir_node_get(task, key);
	bool b;

	if (v && weir_node_bool(v, &b) < 0) {
		weir_diag_at(d, v, "\"%s\" must be true or false, not %s", key, weir_node_kind_name(v));
		return false;
	}
	return v != NULL;
}

void weir__op_want_duration(const struct weir_node *task, const char *key, bool positive,
			    struct weir_diags *d)
{
	const struct weir_node *v = weir_node_get(task, key);
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int64_t us = 0, secs;

	if (!v)
		return;
	if (weir_node_int(v, &secs) == 0) {
		if (secs < 0 || secs > INT64_C(100) * 366 * 86400)
			weir_diag_at(d, v, "\"%s\" must be a duration between 0 and 100 years", key);
		else if (positive && secs == 0)
			weir_diag_at(d, v, "\"%s\" must be longer than 0s", key);
		return;
	}
	if (v->kind != WEIR_NODE_SCALAR || weir_node_scalar_type(v) != WEIR_SCALAR_STRING) {
		weir_diag_at(d, v, "\"%s\" must be a duration like \"30s\" or \"5m\", not %s", key,
			     weir_node_kind_name(v));
	} else if (!weir_template_has_expr(v->str) && weir_duration_parse(v->str, &us, NULL, &err) < 0) {
		weir_diag_at(d, v, "invalid duration for \"%s\": %s", key, err.buf);
	} else if (positive && us == 0 && !weir_template_has_expr(v->str)) {
		weir_diag_at(d, v, "\"%s\" must be longer than 0s", key);
	}
	weir_buf_release(&err);
}

const struct weir_node *weir__op_want_text(const struct weir_node *task, const char *key,
					   bool required, struct weir_diags *d)
{
	const struct weir_node *v = weir_node_get(task, key);

	if (!v) {
		if (required)
			weir_diag_at(d, task, "%s task needs \"%s\"", task_name(task), key);
		return NULL;
	}
	if (v->kind != WEIR_NODE_SCALAR || weir_node_scalar_type(v) != WEIR_SCALAR_STRING) {
		weir_diag_at(d, v, "\"%s\" must be a string, not %s", key, weir_node_kind_name(v));
		return NULL;
	}
	if (v->len == 0) {
		weir_diag_at(d, v, "\"%s\" is empty", key);
		return NULL;
	}
	return v;
}

const struct weir_node *weir__op_want_str(const struct weir_node *task, const char *key,
					  struct weir_diags *d)
{
	const struct weir_node *v = weir_node_get(task, key);

	if (v && (v->kind != WEIR_NODE_SCALAR || weir_node_scalar_type(v) != WEIR_SCALAR_STRING)) {
		weir_diag_at(d, v, "\"%s\" must be a string, not %s", key, weir_node_kind_name(v));
		return NULL;
	}
	return v;
}

void weir__op_want_string_map(const struct weir_node *task, const char *key, struct weir_diags *d)
{
	const struct weir_node *v = weir_node_get(task, key);

	if (!v)
		return;
	if (v->kind != WEIR_NODE_MAP) {
		weir_diag_at(d, v, "\"%s\" must be a mapping of names to strings, not %s", key,
			     weir_node_kind_name(v));
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct weir_node *x = v->items[i];
		if (x->kind != WEIR_NODE_SCALAR || weir_node_scalar_type(x) != WEIR_SCALAR_STRING) {
			weir_diag_at(d, x, "\"%s\" values must be strings, not %s", key, weir_node_kind_name(x));
			if (x->kind == WEIR_NODE_SCALAR && !weir_node_is_null(x))
				weir_diag_hint(d, "write \"%s\" in quotes", x->str);
		}
		if (v->keys[i]->len == 0 || strpbrk(v->keys[i]->str, ": \t\r\n"))
			weir_diag_at(d, v->keys[i], "invalid name \"%s\" in \"%s\"", v->keys[i]->str, key);
	}
}

/* 100..599, or "Nxx". */
static bool status_item_ok(const struct weir_node *n)
{
	int64_t v;

	if (weir_node_int(n, &v) == 0)
		return v >= 100 && v <= 599;
	if (n->kind != WEIR_NODE_SCALAR)
		return false;
	if (n->len == 3 && n->str[0] >= '1' && n->str[0] <= '5' && (n->str[1] == 'x' || n->str[1] == 'X') &&
	    (n->str[2] == 'x' || n->str[2] == 'X'))
		return true;
	if (n->len == 3 && isdigit((unsigned char)n->str[0]) && isdigit((unsigned char)n->str[1]) &&
	    isdigit((unsigned char)n->str[2]))
		return atoi(n->str) >= 100 && atoi(n->str) <= 599;
	return false;
}

void weir__op_want_status(const struct weir_node *task, const char *key, struct weir_diags *d)
{
	const struct weir_node *v = weir_node_get(task, key);

	if (!v)
		return;
	if (v->kind == WEIR_NODE_SEQ) {
		if (v->n == 0)
			weir_diag_at(d, v, "\"%s\" is empty", key);
		for (size_t i = 0; i < v->n; i++)
			if (!status_item_ok(v->items[i]))
				weir_diag_at(d, v->items[i],
					     "\"%s\" items must be HTTP status codes (100 to 599) or classes like \"2xx\"",
					     key);
	} else if (!status_item_ok(v)) {
		weir_diag_at(d, v, "\"%s\" must be an HTTP status code (100 to 599), a class like \"2xx\", or a list of them",
			     key);
	}
}

void weir__op_want_enum(const struct weir_node *task, const char *key, const char *const *names,
			struct weir_diags *d)
{
	const struct weir_node *v = weir_node_get(task, key);
	struct weir_buf list = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	if (!v)
		return;
	if (v->kind == WEIR_NODE_SCALAR && !weir_node_is_null(v))
		for (size_t i = 0; names[i]; i++)
			if (!strcmp(names[i], v->str))
				return;
	for (size_t i = 0; names[i]; i++)
		weir_buf_addf(&list, "%s%s", i ? ", " : "", names[i]);
	if (v->kind == WEIR_NODE_SCALAR)
		weir_diag_at(d, v, "invalid %s \"%s\" (expected one of: %s)", key, v->str, list.buf);
	else
		weir_diag_at(d, v, "\"%s\" must be one of: %s, not %s", key, list.buf, weir_node_kind_name(v));
	weir_buf_release(&list);
}

static bool id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 100)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

void weir__op_want_id(const struct weir_node *task, const char *key, bool required, const char *what,
		      struct weir_diags *d)
{
	const struct weir_node *v = weir__op_want_text(task, key, required, d);

	if (v && !weir_template_has_expr(v->str) && !id_valid(v->str))
		weir_diag_at(d, v, "invalid %s \"%s\" (1 to 100 of A-Z a-z 0-9 _ . -)", what, v->str);
}

/* ------------------------------------------------------------------ */
/* run()                                                                */
/* ------------------------------------------------------------------ */

const char *weir__op_str(struct weir_task_ctx *ctx, const char *key)
{
	return json_string_value(json_object_get(ctx->config, key));
}

int weir__op_bool(struct weir_task_ctx *ctx, const char *key, bool def, bool *out)
{
	json_t *v = json_object_get(ctx->config, key);

	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v)) {
		weir_buf_setf(&ctx->message, "\"%s\" must be true or false", key);
		return WEIR_EINVALID;
	}
	*out = json_is_true(v);
	return 0;
}

int weir__op_duration(struct weir_task_ctx *ctx, const char *key, int64_t def, int64_t *out)
{
	json_t *v = json_object_get(ctx->config, key);
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc = 0;

	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) < INT64_MAX / WEIR_US_PER_SEC) {
		*out = json_integer_value(v) * WEIR_US_PER_SEC;
		return 0;
	}
	if (!json_is_string(v) || weir_duration_parse(json_string_value(v), out, NULL, &err) < 0) {
		weir_buf_setf(&ctx->message, "invalid duration for \"%s\"%s%s", key, err.len ? ": " : "",
			      err.buf);
		rc = WEIR_EINVALID;
	}
	weir_buf_release(&err);
	return rc;
}

json_t *weir__op_conn(struct weir_task_ctx *ctx, const char *key, const char *type)
{
	const char *name = weir__op_str(ctx, key);
	json_t *c, *t;

	if (!name) {
		weir_buf_setf(&ctx->message, "\"%s\" must name a connection", key);
		return NULL;
	}
	c = json_object_get(json_object_get(ctx->spec, "connections"), name);
	if (!json_is_object(c)) {
		weir_buf_setf(&ctx->message,
			      "connection \"%s\" is not defined (add it with `weir connections add %s --type %s ...` or to the connections file)",
			      name, name, type ? type : "TYPE");
		return NULL;
	}
	t = json_object_get(c, "type");
	if (type && (!json_is_string(t) || strcmp(json_string_value(t), type))) {
		weir_buf_setf(&ctx->message, "connection \"%s\" is of type %s; \"%s\" needs a %s connection", name,
			      json_is_string(t) ? json_string_value(t) : "(none)", key, type);
		return NULL;
	}
	return c;
}

const char *weir__conn_str(json_t *conn, const char *field)
{
	const char *s = json_string_value(json_object_get(conn, field));
	return s && *s ? s : NULL;
}

int weir__conn_port(json_t *conn, int def)
{
	json_t *v = json_object_get(conn, "port");
	return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

bool weir__op_interrupted(struct weir_task_ctx *ctx)
{
	/* until_us 0 is already past: returns at once, 0 unless stopped or late. */
	return weir_task_sleep(ctx, 0) < 0;
}

long weir__op_deadline_ms(struct weir_task_ctx *ctx)
{
	int64_t left;

	if (ctx->deadline_us == WEIR_TIME_NONE)
		return -1;
	left = (ctx->deadline_us - weir_now_us()) / 1000;
	return left < 1 ? 1 : (long)left;
}

static bool status_match(json_t *e, long status)
{
	if (json_is_integer(e))
		return json_integer_value(e) == status;
	if (json_is_string(e)) {
		const char *s = json_string_value(e);
		if (strlen(s) == 3 && (s[1] == 'x' || s[1] == 'X'))
			return status / 100 == s[0] - '0';
		return atol(s) == status;
	}
	return false;
}

bool weir__op_status_ok(json_t *expected, long status)
{
	size_t i;
	json_t *e;

	if (!expected || json_is_null(expected))
		return status >= 200 && status <= 299;
	if (!json_is_array(expected))
		return status_match(expected, status);
	json_array_foreach(expected, i, e)
		if (status_match(e, status))
			return true;
	return false;
}

json_t *weir__op_json_path(json_t *root, const char *path)
{
	json_t *cur = root;
	const char *p = path;

	if (!*p)
		return root;
	while (cur && *p) {
		size_t n = strcspn(p, ".");
		char *seg = weir_xstrndup(p, n);
		if (json_is_object(cur)) {
			cur = json_object_get(cur, seg);
		} else if (json_is_array(cur)) {
			char *end;
			long idx = strtol(seg, &end, 10);
			cur = *seg && !*end && idx >= 0 ? json_array_get(cur, (size_t)idx) : NULL;
		} else {
			cur = NULL;
		}
		free(seg);
		p += n;
		if (*p == '.')
			p++;
	}
	return cur;
}

bool weir__op_truthy(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_TRUE:
		return true;
	default:
		return false;
	}
}

char *weir__op_json_brief(json_t *v)
{
	char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	char *out;

	if (!t)
		return weir_xstrdup("(nothing)");
	if (strlen(t) <= 200)
		return t;
	out = weir_xasprintf("%.197s...", t);
	free(t);
	return out;
}

/* ------------------------------------------------------------------ */
/* sensors                                                              */
/* ------------------------------------------------------------------ */

void weir__op_sensor_settings(struct weir_task_ctx *ctx, int64_t started, struct weir__sensor *out)
{
	json_t *sensor = json_object_get(ctx->spec, "sensor");
	const char *mode = json_string_value(json_object_get(sensor, "mode"));
	json_t *v;

	out->reschedule = mode && !strcmp(mode, "reschedule");
	out->interval = 60 * WEIR_US_PER_SEC;
	out->deadline = WEIR_TIME_NONE;
	out->timeout = 0;
	v = json_object_get(sensor, "poke_interval_ms");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		out->interval = json_integer_value(v) * 1000;
	v = json_object_get(sensor, "deadline_us");
	if (json_is_integer(v))
		out->deadline = json_integer_value(v);
	v = json_object_get(sensor, "timeout_us");
	if (json_is_integer(v))
		out->timeout = json_integer_value(v);
	if (out->timeout <= 0 && out->deadline != WEIR_TIME_NONE)
		out->timeout = out->deadline - started > 0 ? out->deadline - started : 0;
}

void weir__op_sensor_not_yet(struct weir_task_ctx *ctx, const struct weir_buf *reason,
			     struct weir_buf *last, int64_t *last_logged, int64_t now)
{
	if (strcmp(reason->buf, last->buf) || now - *last_logged >= 60 * WEIR_US_PER_SEC) {
		weir_task_log(ctx, "not yet: %s", reason->buf);
		weir_buf_setf(last, "%s", reason->buf);
		*last_logged = now;
	}
}

enum weir_op_result weir__op_sensor_run(struct weir_task_ctx *ctx, const char *what,
					weir__poke_fn *poke, void *arg)
{
	int64_t started = weir_now_us(), last_logged = 0;
	struct weir_buf reason = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf last = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	enum weir_op_result res = WEIR_OP_FAILED;
	struct weir__sensor so;
	char d[WEIR_DURATION_BUFSZ];

	weir__op_sensor_settings(ctx, started, &so);
	weir_task_log(ctx, "waiting for %s (%s mode, poke every %s)", what,
		      so.reschedule ? "reschedule" : "poke", weir_duration_format(so.interval, d));
	for (;;) {
		int64_t now, next;
		int rc;

		weir_buf_reset(&reason);
		rc = poke(ctx, arg, &reason);
		if (rc < 0)
			break; /* message set */
		if (rc > 0) {
			weir_task_log(ctx, "condition met: %s", what);
			res = WEIR_OP_SUCCESS;
			break;
		}
		now = weir_now_us();
		weir__op_sensor_not_yet(ctx, &reason, &last, &last_logged, now);
		if (so.deadline != WEIR_TIME_NONE && now >= so.deadline) {
			weir_buf_setf(&ctx->message, "sensor timed out after %s (%s)",
				      weir_duration_format(so.timeout, d), reason.buf);
			break;
		}
		next = now + so.interval;
		if (so.deadline != WEIR_TIME_NONE && next > so.deadline)
			next = so.deadline;
		if (so.reschedule) {
			ctx->next_poke_us = next;
			res = WEIR_OP_RESCHEDULE;
			break;
		}
		if (weir_task_sleep(ctx, next) < 0)
			break; /* deadline or stop: the runner says which */
	}
	weir_buf_release(&reason);
	weir_buf_release(&last);
	return res;
}
