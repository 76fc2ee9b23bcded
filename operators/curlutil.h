/*
 * curlutil.h: HTTP and SMTP through libcurl for the operators (private
 * to operators/; full library only).
 *
 * Every transfer is bounded by the try's execution deadline and by an
 * optional per-request timeout, and is aborted as soon as the runner is
 * told to stop (a libcurl progress callback polls weir_task_sleep).  TLS
 * peers are verified unless the caller turns it off.  Only http and
 * https (smtp and smtps for mail) URLs are accepted, so a templated URL
 * cannot read local files (file://) or reach other protocols.
 */
#ifndef WEIR_OPERATORS_CURLUTIL_H
#define WEIR_OPERATORS_CURLUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "engine/operator.h"

/* Largest response body read (a larger one fails the request). */
#define WEIR_HTTP_MAX_RESPONSE (16u << 20)

struct weir__http_req {
	const char *method;       /* GET, POST, ... */
	const char *url;          /* absolute, or a path below the connection's base */
	json_t *headers;          /* object of strings, or NULL */
	const char *body;         /* request body, or NULL */
	const char *content_type; /* for body, unless headers set Content-Type */
	json_t *conn;             /* http connection (base URL, auth, headers), or NULL */
	bool verify_tls;
	bool follow_redirects;
	int64_t timeout_us;       /* 0: only the execution deadline */
};

struct weir__http_resp {
	long status;
	struct weir_buf body;     /* limit WEIR_HTTP_MAX_RESPONSE */
	char content_type[128];
	char url[512];            /* the URL requested (for messages; no credentials) */
};

/* Call once per run() around the helpers below. */
void weir__curl_begin(void);
void weir__curl_end(void);

/*
 * Performs one HTTP request.  Returns 0 when a response arrived (any
 * status; resp filled; release resp->body), or < 0 with ctx->message set
 * (could not connect, TLS failure, timeout, response too large, stopped).
 */
int weir__http_do(struct weir_task_ctx *ctx, const struct weir__http_req *req,
		  struct weir__http_resp *resp);

/*
 * The response as an XCom value: its JSON (any JSON value) or NULL when
 * the body is not JSON.  New reference.
 */
json_t *weir__http_json(const struct weir__http_resp *resp);

struct weir__mail {
	json_t *conn;             /* smtp connection (host, port, login, password, extra) */
	const char *from;         /* sender address (or the connection's extra.from) */
	json_t *to;               /* array of addresses */
	json_t *cc;               /* array or NULL */
	const char *subject;
	const char *body;         /* text/plain, UTF-8 */
	int64_t timeout_us;
};

/* Sends one message.  0, or < 0 with ctx->message set. */
int weir__mail_send(struct weir_task_ctx *ctx, const struct weir__mail *m);

/*
 * The request keys shared by http and http_sensor (validate and run):
 *   url, method, headers, body | json, connection, verify_tls,
 *   follow_redirects, request_timeout
 */
#define WEIR_HTTP_REQ_KEYS \
	"url", "method", "headers", "body", "json", "connection", "verify_tls", "follow_redirects", \
	"request_timeout"
struct weir_node;
struct weir_diags;
void weir__http_validate_req(const struct weir_node *task, struct weir_diags *d);
/*
 * Fills req from the rendered config; *body_owned holds a body built from
 * "json" (free it).  0, or WEIR_EINVALID with ctx->message.  Logs a
 * warning when verify_tls is false.
 */
int weir__http_req_config(struct weir_task_ctx *ctx, struct weir__http_req *req, char **body_owned);
/* One line about a response for the log: "200 (1234 bytes, application/json) in 0.120s". */
void weir__http_log_response(struct weir_task_ctx *ctx, const struct weir__http_req *req,
			     const struct weir__http_resp *resp, int64_t took_us);
/* A short, one-line excerpt of a body for messages (new string). */
char *weir__http_excerpt(const struct weir__http_resp *resp);

#endif
