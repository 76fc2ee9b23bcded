/*
 * http.c: the `http` operator: one HTTP request with libcurl.
 *
 *   url: https://api.example.com/v1/items?day={{ ds }}
 *   method: POST                   default GET (POST with a body)
 *   headers: {X-Trace: "{{ run_id }}"}
 *   body: "text"  |  json: {any: value}     (templated)
 *   connection: api                an http connection: base URL (url may
 *                                  then be a path), auth (basic, bearer),
 *                                  extra.headers
 *   expected_status: [200, 201]    default any 2xx; also "2xx", "404"
 *   verify_tls: false              default true (a warning is logged)
 *   follow_redirects, request_timeout, xcom (default true)
 *
 * Outcome: success when the status is expected.  Otherwise, and on a
 * connection error or timeout, the try fails and the task's retries
 * apply (a 5xx is as much a failure as a refused connection).
 *
 * XCom: status_code; return_value = the response's JSON when it parses
 * and is at most xcom_max_bytes (compact), else body = the text when it
 * is UTF-8 and small enough; a larger response is not stored (logged).
 */
#include <stdlib.h>
#include <string.h>

#include "common/time.h"
#include "operators/curlutil.h"
#include "operators/ops_int.h"
#include "operators/operators.h"
#include "common/banned.h"

static const char *const keys[] = {WEIR_HTTP_REQ_KEYS, "expected_status", "xcom", NULL};

static void validate(const struct weir_node *task, struct weir_diags *d)
{
	weir__http_validate_req(task, d);
	weir__op_want_status(task, "expected_status", d);
	weir__op_want_bool(task, "xcom", d);
}

/* Stores the response: JSON as return_value, else small text as body. */
static int store_response(struct weir_task_ctx *ctx, struct weir__http_resp *resp)
{
	json_t *j = weir__http_json(resp);
	char *text;
	size_t n;

	if (j) {
		text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		n = text ? strlen(text) : 0;
		free(text);
		if (n > ctx->xcom_max_bytes) {
			weir_task_log(ctx, "the JSON response (%zu bytes) is larger than xcom_max_bytes (%zu): not stored as XCom",
				      n, ctx->xcom_max_bytes);
			json_decref(j);
			return 0;
		}
		return weir_task_xcom(ctx, "return_value", j);
	}
	if (resp->body.len == 0)
		return 0;
	j = json_stringn(resp->body.buf, resp->body.len); /* NULL when not UTF-8 */
	if (!j || resp->body.len + 2 > ctx->xcom_max_bytes) {
		weir_task_log(ctx, "the response (%zu bytes, %s) is %s: not stored as XCom", resp->body.len,
			      resp->content_type[0] ? resp->content_type : "no content type",
			      j ? "larger than xcom_max_bytes" : "not UTF-8 text");
		json_decref(j);
		return 0;
	}
	return weir_task_xcom(ctx, "body", j);
}

static enum weir_op_result run(struct weir_task_ctx *ctx)
{
	struct weir__http_req req;
	struct weir__http_resp resp = {0};
	enum weir_op_result res = WEIR_OP_FAILED;
	char *body = NULL, *ex = NULL;
	bool keep;
	int64_t t0;

	weir_buf_init(&resp.body, 0);
	weir__curl_begin();
	if (weir__http_req_config(ctx, &req, &body) < 0 || weir__op_bool(ctx, "xcom", true, &keep) < 0)
		goto out;
	t0 = weir_mono_us();
	if (weir__http_do(ctx, &req, &resp) < 0) {
		weir_task_log(ctx, "%s", ctx->message.buf);
		goto out;
	}
	weir__http_log_response(ctx, &req, &resp, weir_mono_us() - t0);
	if (weir_task_xcom(ctx, "status_code", json_integer(resp.status)) < 0)
		goto out;
	if (!weir__op_status_ok(json_object_get(ctx->config, "expected_status"), resp.status)) {
		char *want = weir__op_json_brief(json_object_get(ctx->config, "expected_status"));
		ex = weir__http_excerpt(&resp);
		weir_buf_setf(&ctx->message, "%s %s returned %ld (expected %s)%s%s", req.method, resp.url,
			      resp.status, json_object_get(ctx->config, "expected_status") ? want : "2xx",
			      *ex ? ": " : "", ex);
		free(want);
		goto out;
	}
	if (keep && store_response(ctx, &resp) < 0)
		goto out;
	res = WEIR_OP_SUCCESS;
out:
	weir_buf_release(&resp.body);
	free(body);
	free(ex);
	weir__curl_end();
	return res;
}

const struct weir_operator weir_op_http = {
	.name = "http",
	.keys = keys,
	.full_runner = true,
	.validate = validate,
	.run = run,
};
