/*
 * notify.c: the `notify` operator: a webhook POST or an e-mail.
 *
 * Webhook (no "to"):
 *   url: https://hooks.example.com/T000/B000    or a path below
 *   connection: alerts                          an http connection
 *   json: {text: "{{ dag.id }} done"}           the JSON body (templated;
 *                                               default: dag_id, run_id,
 *                                               task_id, logical_date and
 *                                               callback when present)
 *   body: "..."                                 or a text body instead
 *   headers, verify_tls, request_timeout        as for http
 * Any 2xx is success; anything else, or no answer, fails the try.
 * XCom: status_code.
 *
 * E-mail (with "to"), through an smtp connection:
 *   connection: mail        host, port, login, password; extra.from (the
 *                           sender), extra.starttls: true (require
 *                           STARTTLS), extra.tls: true (SMTPS, port 465),
 *                           extra.verify_tls: false
 *   to: [ops@example.com]   a list, or one address
 *   cc: [...]               optional
 *   from: weir@example.com  overrides extra.from
 *   subject: "..."          templated; default "weir: DAG D, run R"
 *   body: "..."             templated text; default names the DAG, run
 *                           and task (and the callback's state)
 *
 * DAG callbacks: a DAG's on_success / on_failure may use this operator;
 * it then runs as the task "on_success" / "on_failure".  validate()
 * accepts a bare mapping (no "id") and never names a task in its
 * messages.  When the template context has "callback" (an object, e.g.
 * {"event", "state", "reason"}), the default payload, subject and body
 * include it.
 */
#include <stdlib.h>
#include <string.h>

#include "common/time.h"
#include "common/xalloc.h"
#include "operators/curlutil.h"
#include "operators/ops_int.h"
#include "operators/operators.h"
#include "common/banned.h"

static const char *const keys[] = {"url",  "connection", "headers", "json",       "body",
				   "to",   "cc",         "from",    "subject",    "verify_tls",
				   "request_timeout", NULL};

static const char *const webhook_only[] = {"url", "headers", "json", "verify_tls", NULL};
static const char *const mail_only[] = {"cc", "from", "subject", NULL};

static void want_addresses(const struct weir_node *map, const char *key, struct weir_diags *d)
{
	const struct weir_node *v = weir_node_get(map, key);

	if (!v)
		return;
	if (v->kind == WEIR_NODE_SCALAR && !weir_node_is_null(v)) {
		if (!v->len || !strchr(v->str, '@'))
			if (!weir__op_templated(v))
				weir_diag_at(d, v, "\"%s\" must be an e-mail address, not \"%s\"", key, v->str);
		return;
	}
	if (v->kind != WEIR_NODE_SEQ || v->n == 0) {
		weir_diag_at(d, v, "\"%s\" must be an address or a non-empty list of addresses", key);
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct weir_node *x = v->items[i];
		if (x->kind != WEIR_NODE_SCALAR || weir_node_is_null(x) ||
		    (!strchr(x->str, '@') && !weir__op_templated(x)))
			weir_diag_at(d, x, "\"%s\" items must be e-mail addresses", key);
	}
}

static void validate(const struct weir_node *map, struct weir_diags *d)
{
	bool mail = weir_node_get(map, "to") != NULL;
	const struct weir_node *conn;

	if (mail) {
		if (weir_node_get(map, "connection"))
			weir__op_want_conn(map, "connection", false, "an smtp connection", d);
		else
			weir_diag_at(d, map, "notify by e-mail (\"to\") needs \"connection\": an smtp connection");
		for (size_t i = 0; webhook_only[i]; i++)
			if (weir_node_get(map, webhook_only[i]))
				weir_diag_at(d, weir_node_key(map, webhook_only[i]),
					     "\"%s\" applies to webhooks; this notify sends e-mail (it has \"to\")",
					     webhook_only[i]);
		want_addresses(map, "to", d);
		want_addresses(map, "cc", d);
		weir__op_want_text(map, "from", false, d);
		weir__op_want_str(map, "subject", d);
		weir__op_want_str(map, "body", d);
	} else {
		conn = weir__op_want_conn(map, "connection", false, "an http connection", d);
		if (!weir_node_get(map, "url") && !weir_node_get(map, "connection"))
			weir_diag_at(d, map, "notify needs \"url\" (a webhook) or \"to\" (e-mail recipients)");
		for (size_t i = 0; mail_only[i]; i++)
			if (weir_node_get(map, mail_only[i]))
				weir_diag_at(d, weir_node_key(map, mail_only[i]),
					     "\"%s\" applies to e-mail; add \"to\" to send one, or remove it",
					     mail_only[i]);
		if (weir_node_get(map, "url")) {
			const struct weir_node *u = weir__op_want_text(map, "url", false, d);
			if (u && !weir__op_templated(u) && !strstr(u->str, "://") && !conn)
				weir_diag_at(d, u, "\"url\" must be absolute (http:// or https://) unless a \"connection\" gives the host");
			if (u && !weir__op_templated(u) && strstr(u->str, "://") &&
			    strncmp(u->str, "http://", 7) && strncmp(u->str, "https://", 8))
				weir_diag_at(d, u, "\"url\" must use http or https");
		}
		weir__op_want_string_map(map, "headers", d);
		weir__op_want_str(map, "body", d);
		if (weir_node_get(map, "json") && weir_node_get(map, "body"))
			weir_diag_at(d, weir_node_key(map, "json"),
				     "use either \"body\" (text) or \"json\" (a value sent as JSON), not both");
		weir__op_want_bool(map, "verify_tls", d);
	}
	weir__op_want_duration(map, "request_timeout", true, d);
}

static const char *cstr(json_t *ctx, const char *path)
{
	return json_string_value(weir__op_json_path(ctx, path));
}

/* {dag_id, run_id, task_id, logical_date, callback}: the default webhook body. */
static json_t *default_payload(struct weir_task_ctx *ctx)
{
	json_t *o = json_object(), *cb = json_object_get(ctx->context, "callback");
	const char *s;

	if ((s = cstr(ctx->context, "dag.id")))
		json_object_set_new(o, "dag_id", json_string(s));
	if ((s = cstr(ctx->context, "run_id")))
		json_object_set_new(o, "run_id", json_string(s));
	if ((s = cstr(ctx->context, "task.id")))
		json_object_set_new(o, "task_id", json_string(s));
	if ((s = cstr(ctx->context, "logical_date")))
		json_object_set_new(o, "logical_date", json_string(s));
	if (cb)
		json_object_set(o, "callback", cb);
	return o;
}

static enum weir_op_result webhook(struct weir_task_ctx *ctx)
{
	struct weir__http_req req;
	struct weir__http_resp resp = {0};
	enum weir_op_result res = WEIR_OP_FAILED;
	char *body = NULL, *ex = NULL;

	weir_buf_init(&resp.body, 0);
	if (weir__http_req_config(ctx, &req, &body) < 0)
		goto out;
	if (!req.body) {
		json_t *p = default_payload(ctx);
		body = json_dumps(p, JSON_COMPACT);
		json_decref(p);
		req.body = body;
		req.content_type = "application/json";
	}
	if (!weir__op_str(ctx, "method"))
		req.method = "POST";
	if (weir__http_do(ctx, &req, &resp) < 0) {
		weir_task_log(ctx, "%s", ctx->message.buf);
		goto out;
	}
	weir__http_log_response(ctx, &req, &resp, 0);
	if (weir_task_xcom(ctx, "status_code", json_integer(resp.status)) < 0)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		ex = weir__http_excerpt(&resp);
		weir_buf_setf(&ctx->message, "webhook %s returned %ld%s%s", resp.url, resp.status, *ex ? ": " : "", ex);
		goto out;
	}
	res = WEIR_OP_SUCCESS;
out:
	weir_buf_release(&resp.body);
	free(body);
	free(ex);
	return res;
}

static json_t *address_list(json_t *v)
{
	if (json_is_string(v))
		return json_pack("[O]", v);
	if (json_is_array(v))
		return json_incref(v);
	return NULL;
}

static enum weir_op_result email(struct weir_task_ctx *ctx)
{
	struct weir__mail m = {0};
	struct weir_buf subject = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf body = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *cb = json_object_get(ctx->context, "callback");
	enum weir_op_result res = WEIR_OP_FAILED;
	const char *dag = cstr(ctx->context, "dag.id"), *run = cstr(ctx->context, "run_id");
	const char *task = cstr(ctx->context, "task.id");
	size_t i;
	json_t *v;

	m.conn = weir__op_conn(ctx, "connection", "smtp");
	if (!m.conn)
		goto out;
	m.to = address_list(json_object_get(ctx->config, "to"));
	m.cc = address_list(json_object_get(ctx->config, "cc"));
	if (!m.to || !json_array_size(m.to)) {
		weir_buf_setf(&ctx->message, "\"to\" must be an address or a list of addresses");
		goto out;
	}
	json_array_foreach(m.to, i, v)
		if (!json_is_string(v)) {
			weir_buf_setf(&ctx->message, "\"to\" must be a list of addresses");
			goto out;
		}
	json_array_foreach(m.cc, i, v)
		if (!json_is_string(v)) {
			weir_buf_setf(&ctx->message, "\"cc\" must be a list of addresses");
			goto out;
		}
	m.from = weir__op_str(ctx, "from");
	if (weir__op_str(ctx, "subject")) {
		weir_buf_addstr(&subject, weir__op_str(ctx, "subject"));
	} else {
		weir_buf_addf(&subject, "weir: DAG %s, run %s", dag ? dag : "?", run ? run : "?");
		if (json_is_string(json_object_get(cb, "state")))
			weir_buf_addf(&subject, ": %s", json_string_value(json_object_get(cb, "state")));
	}
	if (weir__op_str(ctx, "body")) {
		weir_buf_addstr(&body, weir__op_str(ctx, "body"));
	} else {
		weir_buf_addf(&body, "DAG: %s\nRun: %s\n", dag ? dag : "?", run ? run : "?");
		if (task)
			weir_buf_addf(&body, "Task: %s\n", task);
		if (json_is_string(json_object_get(cb, "state")))
			weir_buf_addf(&body, "State: %s\n", json_string_value(json_object_get(cb, "state")));
		if (json_is_string(json_object_get(cb, "reason")))
			weir_buf_addf(&body, "Reason: %s\n", json_string_value(json_object_get(cb, "reason")));
	}
	m.subject = subject.buf;
	m.body = body.buf;
	if (weir__op_duration(ctx, "request_timeout", 0, &m.timeout_us) < 0)
		goto out;
	if (weir__mail_send(ctx, &m) < 0) {
		weir_task_log(ctx, "%s", ctx->message.buf);
		goto out;
	}
	weir_task_log(ctx, "mail \"%s\" sent to %zu recipient%s through \"%s\"", subject.buf,
		      json_array_size(m.to) + json_array_size(m.cc),
		      json_array_size(m.to) + json_array_size(m.cc) == 1 ? "" : "s", weir__op_str(ctx, "connection"));
	res = WEIR_OP_SUCCESS;
out:
	json_decref(m.to);
	json_decref(m.cc);
	weir_buf_release(&subject);
	weir_buf_release(&body);
	return res;
}

static enum weir_op_result run(struct weir_task_ctx *ctx)
{
	enum weir_op_result res;

	weir__curl_begin();
	res = json_object_get(ctx->config, "to") ? email(ctx) : webhook(ctx);
	weir__curl_end();
	return res;
}

const struct weir_operator weir_op_notify = {
	.name = "notify",
	.keys = keys,
	.full_runner = true,
	.validate = validate,
	.run = run,
};
