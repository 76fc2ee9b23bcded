/*
 * http_sensor.c: wait until an HTTP endpoint answers as expected.
 *
 *   url, method, headers, body | json, connection, verify_tls,
 *   follow_redirects, request_timeout     as for http
 *   expected_status: 200       default any 2xx
 *   json_path: status          a dotted path into the JSON response
 *                              ("data.0.state"); optional
 *   equals: done               the value it must have; without equals the
 *                              value must be truthy
 *
 * A sensor: poke_interval, timeout and mode (poke | reschedule) apply.
 * A poke is one request.  Not yet: another status, a response without
 * the path or with another value, and also a refused connection or a
 * timeout of the request (the service may not be up yet; the reason is
 * logged and ends up in the timeout message).  Configuration problems
 * (an undefined connection) fail at once.
 *
 * On success: XCom status_code, and return_value = the JSON response when
 * it fits in xcom_max_bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "operators/curlutil.h"
#include "operators/ops_int.h"
#include "operators/operators.h"
#include "common/banned.h"

static const char *const keys[] = {WEIR_HTTP_REQ_KEYS, "expected_status", "json_path", "equals", NULL};

static void validate(const struct weir_node *task, struct weir_diags *d)
{
	const struct weir_node *eq = weir_node_get(task, "equals");

	weir__http_validate_req(task, d);
	weir__op_want_status(task, "expected_status", d);
	weir__op_want_text(task, "json_path", false, d);
	if (eq && !weir_node_get(task, "json_path"))
		weir_diag_at(d, weir_node_key(task, "equals"), "\"equals\" needs \"json_path\" (where to look in the response)");
}

struct poke {
	struct weir__http_req req;
};

static bool values_equal(json_t *a, json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal(a, b);
}

static int poke(struct weir_task_ctx *ctx, void *arg, struct weir_buf *reason)
{
	struct poke *p = arg;
	struct weir__http_resp resp;
	const char *path = weir__op_str(ctx, "json_path");
	json_t *want = json_object_get(ctx->config, "equals"), *doc = NULL, *v;
	char *got = NULL;
	int rc = 0;

	if (weir__http_do(ctx, &p->req, &resp) < 0) {
		if (weir__op_interrupted(ctx))
			return -1;
		weir_buf_addstr(reason, ctx->message.buf);
		weir_buf_reset(&ctx->message);
		return 0;
	}
	if (!weir__op_status_ok(json_object_get(ctx->config, "expected_status"), resp.status)) {
		weir_buf_addf(reason, "%s %s returned %ld", p->req.method, resp.url, resp.status);
		goto out;
	}
	doc = weir__http_json(&resp);
	if (path) {
		if (!doc) {
			weir_buf_addf(reason, "the response of %s is not JSON", resp.url);
			goto out;
		}
		v = weir__op_json_path(doc, path);
		if (!v) {
			weir_buf_addf(reason, "the response has no \"%s\"", path);
			goto out;
		}
		got = weir__op_json_brief(v);
		if (want ? !values_equal(v, want) : !weir__op_truthy(v)) {
			char *w = want ? weir__op_json_brief(want) : NULL;
			weir_buf_addf(reason, "\"%s\" is %s%s%s", path, got, w ? ", not " : " (not truthy)", w ? w : "");
			free(w);
			goto out;
		}
	}
	rc = 1;
	if (weir_task_xcom(ctx, "status_code", json_integer(resp.status)) < 0) {
		rc = -1;
		goto out;
	}
	if (doc) {
		char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
		size_t n = text ? strlen(text) : 0;
		free(text);
		if (n <= ctx->xcom_max_bytes && weir_task_xcom(ctx, "return_value", json_incref(doc)) < 0)
			rc = -1;
	}
out:
	json_decref(doc);
	free(got);
	weir_buf_release(&resp.body);
	return rc;
}

/* "a response of URL with \"status\" = \"done\"" for the log. */
static char *describe(struct weir_task_ctx *ctx, const char *url)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *path = weir__op_str(ctx, "json_path");
	json_t *want = json_object_get(ctx->config, "equals");

	weir_buf_addf(&b, "an expected status from %s", *url ? url : "the connection's base URL");
	if (path && want) {
		char *w = weir__op_json_brief(want);
		weir_buf_addf(&b, " with \"%s\" = %s", path, w);
		free(w);
	} else if (path) {
		weir_buf_addf(&b, " with a truthy \"%s\"", path);
	}
	return weir_buf_detach(&b, NULL);
}

static enum weir_op_result run(struct weir_task_ctx *ctx)
{
	struct poke p;
	char *body = NULL, *what = NULL;
	enum weir_op_result res = WEIR_OP_FAILED;

	weir__curl_begin();
	if (weir__http_req_config(ctx, &p.req, &body) == 0) {
		what = describe(ctx, p.req.url);
		res = weir__op_sensor_run(ctx, what, poke, &p);
	}
	free(what);
	free(body);
	weir__curl_end();
	return res;
}

const struct weir_operator weir_op_http_sensor = {
	.name = "http_sensor",
	.keys = keys,
	.is_sensor = true,
	.full_runner = true,
	.validate = validate,
	.run = run,
};
