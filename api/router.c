/*
 * router.c: the route table and api_dispatch().
 *
 * Every route of the gateway is one row below: method, path pattern,
 * the scope a token needs, body kind, handler.  docs/openapi.json
 * documents exactly these rows (tests/api checks both directions), and
 * the pattern is the "route" label of the HTTP metrics, so a label never
 * contains ids.
 *
 * Matching works on raw path segments, decoded one by one, so an id may
 * contain an encoded '/' ("a%2Fb") without changing the route.  Among the
 * patterns that match, the one with the most literal segments wins
 * ("/dags/~/dagRuns/list" beats "/dags/{dag_id}/dagRuns/{dag_run_id}").
 *
 * Order of checks in api_dispatch, each answering on failure:
 *   path and query syntax (400) -> route (404, 405 with Allow) ->
 *   token and scope (401, 403) -> body type and syntax (415, 400) ->
 *   handler.  The body size (413) is checked earlier, while it arrives.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "common/log.h"
#include "common/xalloc.h"

#define R_(m, p, s, f, h) {API_##m, p, s, f, h, {0}, {0}, 0, 0}

struct api_route api_routes[] = {
	/* monitoring and documents */
	R_(GET, "/health", 0, API_R_PUBLIC, api_h_health),
	R_(GET, "/api/v1/health", 0, API_R_PUBLIC, api_h_health),
	R_(GET, "/api/v1/version", 0, API_R_PUBLIC, api_h_version),
	R_(GET, "/api/v1/openapi.json", 0, API_R_PUBLIC, api_h_openapi),
	R_(GET, "/metrics", API_SCOPE_METRICS_READ, API_R_METRICS, api_h_metrics),

	/* OAuth2 (the handlers authenticate the client themselves) */
	R_(POST, "/oauth/token", 0, API_R_PUBLIC | API_R_FORM, api_h_token),
	R_(POST, "/oauth/revoke", 0, API_R_PUBLIC | API_R_FORM, api_h_revoke),
	R_(POST, "/oauth/introspect", 0, API_R_PUBLIC | API_R_FORM, api_h_introspect),

	/* DAGs */
	R_(GET, "/api/v1/dags", API_SCOPE_DAGS_READ, 0, api_h_dags_list),
	R_(POST, "/api/v1/dags", API_SCOPE_ADMIN, API_R_YAML, api_h_dag_upload),
	R_(GET, "/api/v1/dags/{dag_id}", API_SCOPE_DAGS_READ, 0, api_h_dag_get),
	R_(PATCH, "/api/v1/dags/{dag_id}", API_SCOPE_DAGS_WRITE, API_R_JSON, api_h_dag_patch),
	R_(PUT, "/api/v1/dags/{dag_id}", API_SCOPE_ADMIN, API_R_YAML, api_h_dag_put),
	R_(GET, "/api/v1/dags/{dag_id}/details", API_SCOPE_DAGS_READ, 0, api_h_dag_details),
	R_(GET, "/api/v1/dags/{dag_id}/tasks", API_SCOPE_DAGS_READ, 0, api_h_dag_tasks),
	R_(GET, "/api/v1/dags/{dag_id}/tasks/{task_id}", API_SCOPE_DAGS_READ, 0, api_h_dag_task),
	R_(GET, "/api/v1/dags/{dag_id}/source", API_SCOPE_DAGS_READ, 0, api_h_dag_source),
	R_(GET, "/api/v1/importErrors", API_SCOPE_DAGS_READ, 0, api_h_import_errors),
	R_(GET, "/api/v1/importErrors/{import_error_id}", API_SCOPE_DAGS_READ, 0, api_h_import_error),

	/* DAG runs, task instances, logs, XCom */
	/* weir's grid: the DAG's tasks (dags:read) with its runs' states (runs:read) */
	R_(GET, "/api/v1/dags/{dag_id}/grid", API_SCOPE_DAGS_READ | API_SCOPE_RUNS_READ, 0,
	   api_h_dag_grid),
	R_(GET, "/api/v1/dags/{dag_id}/dagRuns", API_SCOPE_RUNS_READ, 0, api_h_runs_list),
	R_(POST, "/api/v1/dags/{dag_id}/dagRuns", API_SCOPE_RUNS_TRIGGER, API_R_JSON, api_h_run_post),
	R_(POST, "/api/v1/dags/~/dagRuns/list", API_SCOPE_RUNS_READ, API_R_JSON, api_h_runs_batch),
	R_(GET, "/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}", API_SCOPE_RUNS_READ, 0, api_h_run_get),
	R_(PATCH, "/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}", API_SCOPE_RUNS_WRITE, API_R_JSON,
	   api_h_run_patch),
	R_(DELETE, "/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}", API_SCOPE_RUNS_WRITE, 0,
	   api_h_run_delete),
	R_(GET, "/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/events", API_SCOPE_RUNS_READ, 0,
	   api_h_run_events),
	R_(GET, "/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", API_SCOPE_RUNS_READ, 0,
	   api_h_tis_list),
	R_(GET, "/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
	   API_SCOPE_RUNS_READ, 0, api_h_ti_get),
	R_(PATCH, "/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
	   API_SCOPE_RUNS_WRITE, API_R_JSON, api_h_ti_patch),
	R_(GET, "/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{task_try_number}",
	   API_SCOPE_RUNS_READ, 0, api_h_ti_logs),
	R_(GET, "/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries",
	   API_SCOPE_RUNS_READ, 0, api_h_xcom_list),
	R_(GET, "/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}",
	   API_SCOPE_RUNS_READ, 0, api_h_xcom_get),

	/* pools */
	R_(GET, "/api/v1/pools", API_SCOPE_POOLS_READ, 0, api_h_pools_list),
	R_(POST, "/api/v1/pools", API_SCOPE_POOLS_WRITE, API_R_JSON, api_h_pool_post),
	R_(GET, "/api/v1/pools/{pool_name}", API_SCOPE_POOLS_READ, 0, api_h_pool_get),
	R_(PATCH, "/api/v1/pools/{pool_name}", API_SCOPE_POOLS_WRITE, API_R_JSON, api_h_pool_patch),
	R_(DELETE, "/api/v1/pools/{pool_name}", API_SCOPE_POOLS_WRITE, 0, api_h_pool_delete),

	/* services and orders */
	R_(GET, "/api/v1/services", API_SCOPE_ORDERS_READ, 0, api_h_services_list),
	R_(POST, "/api/v1/services/{dag_id}/orders", API_SCOPE_ORDERS_WRITE, API_R_JSON,
	   api_h_order_post),
	R_(GET, "/api/v1/orders", API_SCOPE_ORDERS_READ, 0, api_h_orders_list),
	R_(GET, "/api/v1/orders/{order_id}", API_SCOPE_ORDERS_READ, 0, api_h_order_get),
	R_(GET, "/api/v1/orders/{order_id}/events", API_SCOPE_ORDERS_READ, 0, api_h_order_events),
	R_(PUT, "/api/v1/orders/{order_id}/abort", API_SCOPE_ORDERS_WRITE, API_R_NOBODY,
	   api_h_order_abort),

	/* OAuth2 clients and users (admin) */
	R_(GET, "/api/v1/clients", API_SCOPE_ADMIN, 0, api_h_clients_list),
	R_(POST, "/api/v1/clients", API_SCOPE_ADMIN, API_R_JSON, api_h_client_post),
	R_(GET, "/api/v1/clients/{client_id}", API_SCOPE_ADMIN, 0, api_h_client_get),
	R_(PATCH, "/api/v1/clients/{client_id}", API_SCOPE_ADMIN, API_R_JSON, api_h_client_patch),
	R_(DELETE, "/api/v1/clients/{client_id}", API_SCOPE_ADMIN, 0, api_h_client_delete),
	R_(GET, "/api/v1/users", API_SCOPE_ADMIN, 0, api_h_users_list),
	R_(POST, "/api/v1/users", API_SCOPE_ADMIN, API_R_JSON, api_h_user_post),
	R_(GET, "/api/v1/users/{username}", API_SCOPE_ADMIN, 0, api_h_user_get),
	R_(PATCH, "/api/v1/users/{username}", API_SCOPE_ADMIN, API_R_JSON, api_h_user_patch),
	R_(DELETE, "/api/v1/users/{username}", API_SCOPE_ADMIN, 0, api_h_user_delete),
};

const size_t api_nroutes = WEIR_ARRAY_SIZE(api_routes);

static pthread_once_t routes_once = PTHREAD_ONCE_INIT;

static void routes_split(void)
{
	for (size_t i = 0; i < api_nroutes; i++) {
		struct api_route *r = &api_routes[i];
		const char *p = r->pattern;

		WEIR_ASSERT(*p == '/');
		r->nseg = 0;
		r->nliteral = 0;
		while (*p == '/') {
			size_t n;
			p++;
			n = strcspn(p, "/");
			WEIR_ASSERT(r->nseg < API_MAX_SEGMENTS);
			r->seg[r->nseg] = p;
			r->seg_len[r->nseg] = n;
			if (!(n && p[0] == '{'))
				r->nliteral++;
			r->nseg++;
			p += n;
		}
	}
}

void api_routes_init(void)
{
	pthread_once(&routes_once, routes_split);
}

size_t api_route_index(const struct api_route *r)
{
	return r ? (size_t)(r - api_routes) : api_nroutes;
}

static bool method_matches(enum api_method route, enum api_method req)
{
	return route == req || (route == API_GET && req == API_HEAD);
}

enum api_match api_route_find(struct api_req *rq, const char *path, const char **allow)
{
	const char *seg[API_MAX_SEGMENTS];
	int nseg = 0;
	const char *p = path;
	const struct api_route *best = NULL;
	bool path_known = false;
	unsigned allowed = 0;

	api_routes_init();
	rq->route = NULL;
	if (*p != '/')
		return API_MATCH_NONE;
	while (*p == '/') {
		size_t n;
		p++;
		n = strcspn(p, "/");
		if (nseg == API_MAX_SEGMENTS)
			return API_MATCH_NONE;
		seg[nseg] = api_unescape(&rq->arena, p, n, false);
		if (!seg[nseg])
			return API_MATCH_BAD;
		nseg++;
		p += n;
	}
	for (size_t i = 0; i < api_nroutes; i++) {
		const struct api_route *r = &api_routes[i];
		bool ok = r->nseg == nseg;

		for (int k = 0; ok && k < nseg; k++) {
			if (r->seg_len[k] && r->seg[k][0] == '{')
				ok = seg[k][0] != '\0';
			else
				ok = strlen(seg[k]) == r->seg_len[k] && !memcmp(seg[k], r->seg[k], r->seg_len[k]);
		}
		if (!ok)
			continue;
		path_known = true;
		allowed |= 1u << r->method;
		if (r->method == API_GET)
			allowed |= 1u << API_HEAD;
		if (method_matches(r->method, rq->method) && (!best || r->nliteral > best->nliteral))
			best = r;
	}
	if (best) {
		int np = 0;
		for (int k = 0; k < nseg; k++)
			if (best->seg_len[k] && best->seg[k][0] == '{' && np < API_MAX_PARAMS)
				rq->param[np++] = seg[k];
		rq->route = best;
		return API_MATCH_OK;
	}
	if (!path_known)
		return API_MATCH_NONE;
	{
		struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		allowed |= 1u << API_OPTIONS;
		for (int m = 0; m < API_OTHER; m++)
			if (allowed & (1u << m))
				weir_buf_addf(&b, "%s%s", b.len ? ", " : "", api_method_name((enum api_method)m));
		*allow = weir_arena_strdup(&rq->arena, b.buf);
		weir_buf_release(&b);
	}
	return API_MATCH_METHOD;
}

/* ------------------------------------------------------------------ */
/* dispatch                                                             */
/* ------------------------------------------------------------------ */

static bool yaml_type(const char *ct)
{
	return api_media_is(ct, "application/yaml") || api_media_is(ct, "application/x-yaml") ||
	       api_media_is(ct, "text/yaml") || api_media_is(ct, "text/x-yaml") ||
	       api_media_is(ct, "text/plain");
}

static int parse_json_body(struct api_req *rq, struct api_resp *rs)
{
	json_error_t je;
	json_t *j;

	if (!rq->body || rq->body_len == 0) {
		api_error(rq, rs, 400, NULL, "a JSON request body is required");
		return -1;
	}
	if (!api_media_is(rq->content_type, "application/json")) {
		api_error(rq, rs, 415, NULL, "the request body must be application/json, not \"%s\"",
			  rq->content_type ? rq->content_type : "(no Content-Type)");
		return -1;
	}
	j = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		api_error(rq, rs, 400, NULL, "malformed JSON at line %d, column %d: %s", je.line,
			  je.column, je.text);
		return -1;
	}
	weir_arena_on_release(&rq->arena, api_decref_cb, j);
	rq->json = j;
	if (!json_is_object(j)) {
		api_error(rq, rs, 400, NULL, "the request body must be a JSON object");
		return -1;
	}
	return 0;
}

void api_dispatch(struct api_req *rq, struct api_resp *rs)
{
	const char *q = strchr(rq->target, '?');
	const char *allow = NULL;
	const struct api_route *r;
	int n;

	rq->path = q ? weir_arena_strndup(&rq->arena, rq->target, (size_t)(q - rq->target))
		     : rq->target;
	rq->args = weir_arena_calloc(&rq->arena, API_MAX_ARGS, sizeof(*rq->args));
	rq->nargs = 0;
	if (q) {
		const char *qs = q + 1;
		size_t qn = strcspn(qs, "#");
		n = api_parse_form(&rq->arena, qs, qn, rq->args, API_MAX_ARGS);
		if (n < 0) {
			api_error(rq, rs, 400, NULL, "malformed query string (bad %%-escape or more than %d parameters)",
				  API_MAX_ARGS);
			return;
		}
		rq->nargs = (size_t)n;
	}
	switch (api_route_find(rq, rq->path, &allow)) {
	case API_MATCH_OK:
		break;
	case API_MATCH_BAD:
		api_error(rq, rs, 400, NULL, "malformed path (bad %%-escape)");
		return;
	case API_MATCH_METHOD:
		if (rq->method == API_OPTIONS) {
			api_empty(rs, 204);
			api_header(rq, rs, "Allow", allow);
			return;
		}
		api_error(rq, rs, 405, NULL, "method %s is not allowed here (allowed: %s)",
			  rq->method_name, allow);
		api_header(rq, rs, "Allow", allow);
		return;
	case API_MATCH_NONE:
		if ((rq->method == API_GET || rq->method == API_HEAD) && api_static(rq, rs))
			return;
		api_error(rq, rs, 404, NULL, "no such resource: %s", rq->path);
		return;
	}
	r = rq->route;
	if (!(r->flags & API_R_PUBLIC) && !((r->flags & API_R_METRICS) && rq->ctx->metrics_public)) {
		if (api_authenticate(rq, rs, r->scope) < 0)
			return;
	}
	if ((r->flags & API_R_JSON) && parse_json_body(rq, rs) < 0)
		return;
	if (r->flags & API_R_YAML) {
		if (!rq->body || rq->body_len == 0) {
			api_error(rq, rs, 400, NULL, "a YAML DAG file is required as the request body");
			return;
		}
		if (!yaml_type(rq->content_type)) {
			api_error(rq, rs, 415, NULL,
				  "the request body must be a YAML DAG file (application/yaml), not \"%s\"",
				  rq->content_type ? rq->content_type : "(no Content-Type)");
			return;
		}
	}
	r->fn(rq, rs);
	if (rs->status == 0) {
		weir_error("request %s: handler for %s %s gave no answer", rq->request_id,
			   api_method_name(r->method), r->pattern);
		api_error(rq, rs, 500, NULL, "internal error (request %s)", rq->request_id);
	}
}
