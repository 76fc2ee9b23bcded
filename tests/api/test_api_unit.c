/*
 * test_api_unit.c: the gateway's routing, parsing, validation, error
 * shape, OpenAPI document and static files, without a database (a fake
 * store answers the reads) and without sockets (api_dispatch directly).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "common/error.h"
#include "engine/operator.h"
#include "tests/api/check_api.h"
#include "tests/check.h"

#define ADMIN_TOKEN_ROW                                                                            \
	"{\"kind\":\"access\",\"client_id\":\"c1\",\"username\":null,\"scopes\":[\"admin\"],"      \
	"\"expired\":false,\"revoked\":false,\"exp\":1,\"iat\":0,\"family\":\"f\"}"
#define GOOD_TOKEN "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

/* ------------------------------------------------------------------ */
/* routing                                                              */
/* ------------------------------------------------------------------ */

static enum api_match find(const char *method, const char *path, struct api_req *rq, const char **allow)
{
	memset(rq, 0, sizeof(*rq));
	weir_arena_init(&rq->arena, 1024);
	rq->method = api_method_parse(method);
	return api_route_find(rq, path, allow);
}

static void test_router__every_pattern_matches_a_concrete_path(void)
{
	api_routes_init();
	for (size_t i = 0; i < api_nroutes; i++) {
		const struct api_route *r = &api_routes[i];
		char path[512];
		size_t o = 0;
		struct api_req rq;
		const char *allow = NULL;

		/* {x} -> "v1", "v2", ... */
		for (const char *p = r->pattern; *p;) {
			if (*p == '{') {
				o += (size_t)snprintf(path + o, sizeof(path) - o, "val%zu", o);
				p = strchr(p, '}') + 1;
			} else {
				path[o++] = *p++;
			}
		}
		path[o] = '\0';
		if (find(api_method_name(r->method), path, &rq, &allow) != API_MATCH_OK)
			check__fail(__FILE__, __LINE__, "%s %s did not match", api_method_name(r->method), path);
		if (rq.route != r && strcmp(rq.route->pattern, r->pattern))
			check__fail(__FILE__, __LINE__, "%s matched %s", path, rq.route->pattern);
		weir_arena_release(&rq.arena);
	}
}

static void test_router__literal_segments_win_over_parameters(void)
{
	struct api_req rq;
	const char *allow = NULL;

	CHECK_INT_EQ(find("POST", "/api/v1/dags/~/dagRuns/list", &rq, &allow), API_MATCH_OK);
	CHECK_STR_EQ(rq.route->pattern, "/api/v1/dags/~/dagRuns/list");
	weir_arena_release(&rq.arena);
	/* The same path as a GET is a run called "list" of DAG "~". */
	CHECK_INT_EQ(find("GET", "/api/v1/dags/~/dagRuns/list", &rq, &allow), API_MATCH_OK);
	CHECK_STR_EQ(rq.route->pattern, "/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}");
	CHECK_STR_EQ(rq.param[0], "~");
	CHECK_STR_EQ(rq.param[1], "list");
	weir_arena_release(&rq.arena);
}

static void test_router__parameters_are_decoded_per_segment(void)
{
	struct api_req rq;
	const char *allow = NULL;

	CHECK_INT_EQ(find("GET", "/api/v1/dags/etl/dagRuns/manual__2026-01-01T00%3A00%3A00%2B00%3A00", &rq, &allow),
		     API_MATCH_OK);
	CHECK_STR_EQ(rq.param[1], "manual__2026-01-01T00:00:00+00:00");
	weir_arena_release(&rq.arena);
	/* An encoded slash stays inside its segment. */
	CHECK_INT_EQ(find("GET", "/api/v1/dags/a%2F..%2Fb/source", &rq, &allow), API_MATCH_OK);
	CHECK_STR_EQ(rq.param[0], "a/../b");
	weir_arena_release(&rq.arena);
	CHECK_INT_EQ(find("GET", "/api/v1/dags/a%zz/source", &rq, &allow), API_MATCH_BAD);
	weir_arena_release(&rq.arena);
	CHECK_INT_EQ(find("GET", "/api/v1/dags/a%00b/source", &rq, &allow), API_MATCH_BAD);
	weir_arena_release(&rq.arena);
	CHECK_INT_EQ(find("GET", "/api/v1/dags/", &rq, &allow), API_MATCH_NONE);
	weir_arena_release(&rq.arena);
	CHECK_INT_EQ(find("GET", "/api/v1/dags//source", &rq, &allow), API_MATCH_NONE);
	weir_arena_release(&rq.arena);
}

static void test_router__wrong_method_lists_allowed_ones(void)
{
	struct api_req rq;
	const char *allow = NULL;

	CHECK_INT_EQ(find("DELETE", "/api/v1/dags/x", &rq, &allow), API_MATCH_METHOD);
	CHECK_STR_EQ(allow, "GET, HEAD, PUT, PATCH, OPTIONS");
	weir_arena_release(&rq.arena);
	CHECK_INT_EQ(find("HEAD", "/api/v1/pools", &rq, &allow), API_MATCH_OK);
	CHECK_STR_EQ(rq.route->pattern, "/api/v1/pools");
	weir_arena_release(&rq.arena);
}

/* ------------------------------------------------------------------ */
/* parsing                                                              */
/* ------------------------------------------------------------------ */

static void test_http__query_strings_decode_and_repeat(void)
{
	struct weir_arena a = WEIR_ARENA_INIT;
	struct api_kv kv[8];
	const char *q = "state=queued&state=failed,running&x=a+b%2Bc&flag&empty=";
	int n = api_parse_form(&a, q, strlen(q), kv, 8);
	struct api_req rq;
	json_t *l;

	CHECK_INT_EQ(n, 5);
	CHECK_STR_EQ(kv[2].value, "a b+c");
	CHECK_STR_EQ(kv[3].key, "flag");
	CHECK_STR_EQ(kv[3].value, "");
	memset(&rq, 0, sizeof(rq));
	rq.args = kv;
	rq.nargs = (size_t)n;
	l = api_arg_list(&rq, "state");
	CHECK_INT_EQ(json_array_size(l), 3);
	CHECK_STR_EQ(json_string_value(json_array_get(l, 2)), "running");
	json_decref(l);
	CHECK_INT_EQ(api_parse_form(&a, "a=%4", 4, kv, 8), -1);
	CHECK_INT_EQ(api_parse_form(&a, "a=1&b=2&c=3", 11, kv, 2), -1);
	weir_arena_release(&a);
}

static void test_http__instants_ids_and_media_types(void)
{
	struct weir_arena a = WEIR_ARENA_INIT;

	CHECK_STR_EQ(api_time_norm(&a, "2026-01-31T12:00:00+01:00", NULL), "2026-01-31T11:00:00.000000Z");
	CHECK_STR_EQ(api_time_norm(&a, "2026-01-31", NULL), "2026-01-31T00:00:00.000000Z");
	CHECK(api_time_norm(&a, "2026-13-01", NULL) == NULL);
	CHECK(api_time_norm(&a, "'; DROP TABLE dags; --", NULL) == NULL);
	CHECK(api_id_valid("etl_daily.v2-x"));
	CHECK(!api_id_valid("a/b"));
	CHECK(!api_id_valid(""));
	CHECK(api_uuid_valid("01a206b0-02aa-70fa-a288-03907174be54"));
	CHECK(!api_uuid_valid("01a206b0-02aa-70fa-a288-03907174be5z"));
	CHECK(api_media_is("application/json; charset=utf-8", "application/json"));
	CHECK(api_media_is("Application/JSON", "application/json"));
	CHECK(!api_media_is("application/jsonx", "application/json"));
	CHECK(api_accepts_text("text/plain"));
	CHECK(!api_accepts_text("application/json, text/plain"));
	CHECK(!api_accepts_text(NULL));
	weir_arena_release(&a);
}

static void test_http__scopes_parse_and_admin_implies_all(void)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	unsigned b = 0;

	CHECK_OK(api_scopes_parse("dags:read, runs:trigger orders:read", &b, &err));
	CHECK(b == (API_SCOPE_DAGS_READ | API_SCOPE_RUNS_TRIGGER | API_SCOPE_ORDERS_READ));
	CHECK(api_scopes_allow(b, API_SCOPE_DAGS_READ));
	CHECK(!api_scopes_allow(b, API_SCOPE_POOLS_READ));
	CHECK(api_scopes_allow(API_SCOPE_ADMIN, API_SCOPE_POOLS_WRITE));
	CHECK_INT_EQ(api_scopes_parse("dags:reed", &b, &err), WEIR_EINVALID);
	CHECK_STR_CONTAINS(err.buf, "unknown scope \"dags:reed\"");
	weir_buf_release(&err);
}

/* ------------------------------------------------------------------ */
/* dispatch: status codes and the error shape                           */
/* ------------------------------------------------------------------ */

static void test_dispatch__errors_have_one_shape(void)
{
	struct api_ctx *ctx = fake_ctx_new(NULL, NULL);
	struct fake_resp *r;

	fake_store_set("api.token.lookup", ADMIN_TOKEN_ROW);
	r = fake_request(ctx, "GET", "/api/v1/nothing", NULL, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 404);
	check_error_shape(r->json, 404, NULL);
	fake_resp_free(r);

	r = fake_request(ctx, "DELETE", "/api/v1/dags", NULL, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 405);
	check_error_shape(r->json, 405, NULL);
	CHECK_STR_EQ(fake_header(r, "Allow"), "GET, HEAD, POST, OPTIONS");
	fake_resp_free(r);

	r = fake_request(ctx, "GET", "/api/v1/dags", NULL, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 401);
	check_error_shape(r->json, 401, NULL);
	CHECK_STR_CONTAINS(fake_header(r, "WWW-Authenticate"), "Bearer");
	fake_resp_free(r);

	r = fake_request(ctx, "GET", "/api/v1/dags", "Bearer short", NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 401);
	CHECK_STR_CONTAINS(fake_header(r, "WWW-Authenticate"), "invalid_token");
	fake_resp_free(r);

	/* Bodies: missing, wrong type, malformed, not an object, unknown field. */
	r = fake_request(ctx, "POST", "/api/v1/pools", GOOD_TOKEN, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 400);
	check_error_shape(r->json, 400, NULL);
	fake_resp_free(r);
	r = fake_request(ctx, "POST", "/api/v1/pools", GOOD_TOKEN, "text/plain", "{}", NULL);
	CHECK_INT_EQ(r->status, 415);
	check_error_shape(r->json, 415, NULL);
	fake_resp_free(r);
	r = fake_request(ctx, "POST", "/api/v1/pools", GOOD_TOKEN, "application/json", "{\"name\": ", NULL);
	CHECK_INT_EQ(r->status, 400);
	CHECK_STR_CONTAINS(json_string_value(json_object_get(r->json, "detail")), "line 1");
	fake_resp_free(r);
	r = fake_request(ctx, "POST", "/api/v1/pools", GOOD_TOKEN, "application/json", "[1]", NULL);
	CHECK_INT_EQ(r->status, 400);
	fake_resp_free(r);
	r = fake_request(ctx, "POST", "/api/v1/pools", GOOD_TOKEN, "application/json",
			 "{\"name\":\"p\",\"slots\":1,\"colour\":\"red\"}", NULL);
	CHECK_INT_EQ(r->status, 400);
	check_error_shape(r->json, 400, "colour");
	fake_resp_free(r);
	r = fake_request(ctx, "POST", "/api/v1/pools", GOOD_TOKEN, "application/json",
			 "{\"name\":\"p\",\"slots\":\"many\"}", NULL);
	CHECK_INT_EQ(r->status, 400);
	check_error_shape(r->json, 400, "slots");
	fake_resp_free(r);
	r = fake_request(ctx, "POST", "/api/v1/pools", GOOD_TOKEN, "application/json",
			 "{\"name\":\"p\",\"slots\":1,\"name\":\"q\"}", NULL);
	CHECK_INT_EQ(r->status, 400);
	fake_resp_free(r);
	/* Query arguments. */
	r = fake_request(ctx, "GET", "/api/v1/dags?limit=abc", GOOD_TOKEN, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 400);
	check_error_shape(r->json, 400, "limit");
	fake_resp_free(r);
	r = fake_request(ctx, "GET", "/api/v1/dags?colour=red", GOOD_TOKEN, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 400);
	check_error_shape(r->json, 400, "colour");
	fake_resp_free(r);
	r = fake_request(ctx, "GET", "/api/v1/dags/x/dagRuns?execution_date_gte=yesterday", GOOD_TOKEN, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 400);
	check_error_shape(r->json, 400, "execution_date_gte");
	fake_resp_free(r);
	r = fake_request(ctx, "GET", "/api/v1/dags?order_by=dag_id;DROP%20TABLE%20dags", GOOD_TOKEN, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 400);
	check_error_shape(r->json, 400, "order_by");
	fake_resp_free(r);
	r = fake_request(ctx, "GET", "/api/v1/dags?limit=%zz", GOOD_TOKEN, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 400);
	fake_resp_free(r);
	fake_store_clear();
	fake_ctx_free(ctx);
}

static void test_dispatch__scopes_are_enforced_per_route(void)
{
	struct api_ctx *ctx = fake_ctx_new(NULL, NULL);
	struct fake_resp *r;

	fake_store_set("api.token.lookup",
		       "{\"kind\":\"access\",\"client_id\":\"c2\",\"scopes\":[\"dags:read\"],"
		       "\"expired\":false,\"revoked\":false}");
	fake_store_set("api.dags.list", "{\"dags\":[],\"total_entries\":0}");
	r = fake_request(ctx, "GET", "/api/v1/dags", GOOD_TOKEN, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 200);
	fake_resp_free(r);
	r = fake_request(ctx, "GET", "/api/v1/pools", GOOD_TOKEN, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 403);
	check_error_shape(r->json, 403, NULL);
	CHECK_STR_CONTAINS(fake_header(r, "WWW-Authenticate"), "insufficient_scope");
	fake_resp_free(r);
	/* Verified tokens are cached for a second: forget them. */
	api_token_cache_clear(ctx->tokens);
	fake_store_set("api.token.lookup",
		       "{\"kind\":\"access\",\"client_id\":\"c2\",\"scopes\":[\"dags:read\"],"
		       "\"expired\":true,\"revoked\":false}");
	r = fake_request(ctx, "GET", "/api/v1/dags", GOOD_TOKEN, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 401);
	CHECK_STR_CONTAINS(json_string_value(json_object_get(r->json, "detail")), "expired");
	fake_resp_free(r);
	api_token_cache_clear(ctx->tokens);
	fake_store_set("api.token.lookup",
		       "{\"kind\":\"refresh\",\"client_id\":\"c2\",\"scopes\":[\"admin\"],"
		       "\"expired\":false,\"revoked\":false}");
	r = fake_request(ctx, "GET", "/api/v1/dags", GOOD_TOKEN, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 401);
	fake_resp_free(r);
	fake_store_clear();
	fake_ctx_free(ctx);
}

static void test_dispatch__service_orders_check_types_then_values(void)
{
	struct api_ctx *ctx = fake_ctx_new(NULL, NULL);
	struct fake_resp *r;
	const char *dag =
		"{\"source\":\"version: 1\\ndag: svc\\nservice: true\\nmax_area_km2: 100\\n"
		"params:\\n  aoi: {type: wkt, required: true}\\n  level: {type: integer, minimum: 1, maximum: 5, default: 1}\\n"
		"tasks:\\n  - id: a\\n    operator: command\\n    shell: 'true'\\n\","
		"\"file_path\":\"svc.yaml\",\"is_paused\":false,\"is_active\":true}";

	weir_operators_register_light();
	fake_store_set("api.token.lookup", ADMIN_TOKEN_ROW);
	fake_store_set("dag.for_trigger", dag);
	r = fake_request(ctx, "POST", "/api/v1/services/svc/orders", GOOD_TOKEN, "application/json",
			 "{\"aoi\": 42}", NULL);
	CHECK_INT_EQ(r->status, 400);
	check_error_shape(r->json, 400, "aoi");
	fake_resp_free(r);
	r = fake_request(ctx, "POST", "/api/v1/services/svc/orders", GOOD_TOKEN, "application/json",
			 "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\", \"colour\": 1}", NULL);
	CHECK_INT_EQ(r->status, 400);
	check_error_shape(r->json, 400, "colour");
	fake_resp_free(r);
	r = fake_request(ctx, "POST", "/api/v1/services/svc/orders", GOOD_TOKEN, "application/json",
			 "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\", \"level\": 9}", NULL);
	CHECK_INT_EQ(r->status, 422);
	check_error_shape(r->json, 422, "level");
	fake_resp_free(r);
	r = fake_request(ctx, "POST", "/api/v1/services/svc/orders", GOOD_TOKEN, "application/json",
			 "{\"level\": 2}", NULL);
	CHECK_INT_EQ(r->status, 422);
	check_error_shape(r->json, 422, "aoi");
	fake_resp_free(r);
	fake_store_set("api.aoi.normalize", "{\"ok\":false,\"reason\":\"parse error\"}");
	r = fake_request(ctx, "POST", "/api/v1/services/svc/orders", GOOD_TOKEN, "application/json",
			 "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\"}", NULL);
	CHECK_INT_EQ(r->status, 422);
	check_error_shape(r->json, 422, "aoi");
	fake_resp_free(r);
	fake_store_set("api.aoi.normalize",
		       "{\"ok\":true,\"wkt\":\"MULTIPOLYGON(((0 0,1 0,1 1,0 0)))\",\"geojson\":{},\"area_km2\":1000}");
	r = fake_request(ctx, "POST", "/api/v1/services/svc/orders", GOOD_TOKEN, "application/json",
			 "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\"}", NULL);
	CHECK_INT_EQ(r->status, 422);
	CHECK_STR_CONTAINS(json_string_value(json_object_get(r->json, "detail")), "more than the 100.0 km");
	fake_resp_free(r);
	fake_store_set("api.aoi.normalize",
		       "{\"ok\":true,\"wkt\":\"MULTIPOLYGON(((0 0,1 0,1 1,0 0)))\",\"geojson\":{\"type\":\"MultiPolygon\"},\"area_km2\":10}");
	r = fake_request(ctx, "POST", "/api/v1/services/svc/orders", GOOD_TOKEN, "application/json",
			 "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\"}", NULL);
	CHECK_INT_EQ(r->status, 202);
	CHECK_STR_EQ(json_string_value(json_object_get(r->json, "status")), "RECEIVED");
	CHECK_STR_CONTAINS(json_string_value(json_object_get(json_object_get(r->json, "links"), "self")),
			   "/api/v1/orders/");
	fake_resp_free(r);
	fake_store_clear();
	fake_ctx_free(ctx);
}

/* ------------------------------------------------------------------ */
/* the OpenAPI document                                                 */
/* ------------------------------------------------------------------ */

static void test_openapi__every_route_is_documented_and_vice_versa(void)
{
	json_error_t je;
	json_t *doc = json_loadb(weir_api_openapi_json, weir_api_openapi_json_len, 0, &je);
	json_t *paths, *ops;
	const char *path, *m;
	size_t documented = 0;

	if (!doc)
		check__fail(__FILE__, __LINE__, "docs/openapi.json: %s at line %d", je.text, je.line);
	CHECK_STR_EQ(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
	paths = json_object_get(doc, "paths");
	api_routes_init();
	for (size_t i = 0; i < api_nroutes; i++) {
		char lower[16];
		const char *name = api_method_name(api_routes[i].method);
		json_t *o;
		size_t k;
		for (k = 0; name[k] && k < sizeof(lower) - 1; k++)
			lower[k] = (char)(name[k] | 0x20);
		lower[k] = '\0';
		o = json_object_get(json_object_get(paths, api_routes[i].pattern), lower);
		if (!o)
			check__fail(__FILE__, __LINE__, "route %s %s is not in docs/openapi.json", name,
				    api_routes[i].pattern);
		/* The scope the spec names is the one the router checks. */
		if (api_routes[i].scope) {
			const char *s = json_string_value(json_object_get(o, "x-weir-scope"));
			unsigned b = 0;
			struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
			CHECK(s != NULL);
			CHECK_OK(api_scopes_parse(s, &b, &err));
			CHECK_INT_EQ(b, api_routes[i].scope);
			weir_buf_release(&err);
		} else {
			CHECK(json_object_get(o, "x-weir-scope") == NULL);
		}
	}
	json_object_foreach(paths, path, ops) {
		json_t *o;
		json_object_foreach(ops, m, o) {
			bool found = false;
			for (size_t i = 0; i < api_nroutes && !found; i++)
				found = !strcmp(api_routes[i].pattern, path) &&
					!strcasecmp(api_method_name(api_routes[i].method), m);
			if (!found)
				check__fail(__FILE__, __LINE__, "docs/openapi.json has %s %s, the router does not", m, path);
			documented++;
		}
	}
	CHECK_INT_EQ(documented, api_nroutes);
	json_decref(doc);
}

/* ------------------------------------------------------------------ */
/* static files                                                         */
/* ------------------------------------------------------------------ */

static void test_static__types_etags_csp_and_no_traversal(void)
{
	char ui[600], path[700], outside[700];
	struct api_ctx *ctx;
	struct fake_resp *r;
	char etag[128];

	snprintf(ui, sizeof(ui), "%s/ui", check_tmpdir());
	mkdir(ui, 0755);
	snprintf(path, sizeof(path), "%s/index.html", ui);
	check_write_file(path, "<!doctype html><p>weir</p>\n");
	snprintf(path, sizeof(path), "%s/app.js", ui);
	check_write_file(path, "console.log(1);\n");
	snprintf(path, sizeof(path), "%s/.secret", ui);
	check_write_file(path, "hidden\n");
	snprintf(outside, sizeof(outside), "%s/outside.txt", check_tmpdir());
	check_write_file(outside, "outside\n");
	snprintf(path, sizeof(path), "%s/link.txt", ui);
	CHECK(symlink(outside, path) == 0);
	ctx = fake_ctx_new(NULL, ui);

	r = fake_request(ctx, "GET", "/", NULL, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 200);
	CHECK_STR_EQ(r->content_type, "text/html; charset=utf-8");
	CHECK_STR_CONTAINS(r->body, "<p>weir</p>");
	CHECK_STR_CONTAINS(fake_header(r, "Content-Security-Policy"), "default-src 'self'");
	CHECK_STR_EQ(fake_header(r, "Cache-Control"), "no-cache");
	fake_resp_free(r);

	r = fake_request(ctx, "GET", "/app.js", NULL, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 200);
	CHECK_STR_EQ(r->content_type, "text/javascript; charset=utf-8");
	snprintf(etag, sizeof(etag), "%s", fake_header(r, "ETag"));
	CHECK(etag[0] == '"');
	fake_resp_free(r);
	r = fake_request(ctx, "GET", "/app.js", NULL, NULL, NULL, etag);
	CHECK_INT_EQ(r->status, 304);
	CHECK_INT_EQ(r->len, 0);
	fake_resp_free(r);

	/* Client-side routes get the app. */
	r = fake_request(ctx, "GET", "/runs/etl", NULL, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 200);
	CHECK_STR_CONTAINS(r->body, "<p>weir</p>");
	fake_resp_free(r);

	{
		static const char *const bad[] = {
			"/../outside.txt", "/%2e%2e/outside.txt", "/%2E%2E%2Foutside.txt", "/.secret",
			"/a/../../outside.txt", "/link.txt", "/app.js%00.html", "//etc/passwd", "/missing.css",
			"/..%5coutside.txt", NULL,
		};
		for (size_t i = 0; bad[i]; i++) {
			r = fake_request(ctx, "GET", bad[i], NULL, NULL, NULL, NULL);
			if (r->status != 404 && r->status != 400)
				check__fail(__FILE__, __LINE__, "GET %s gave %d: %s", bad[i], r->status, r->body);
			CHECK(strstr(r->body, "outside") == NULL);
			CHECK(strstr(r->body, "hidden") == NULL);
			fake_resp_free(r);
		}
	}
	/* The API's own paths never fall back to files. */
	r = fake_request(ctx, "GET", "/api/v1/nothing", NULL, NULL, NULL, NULL);
	CHECK_INT_EQ(r->status, 404);
	CHECK_STR_EQ(r->content_type, "application/json");
	fake_resp_free(r);
	fake_ctx_free(ctx);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_router__every_pattern_matches_a_concrete_path),
	CHECK_TEST(test_router__literal_segments_win_over_parameters),
	CHECK_TEST(test_router__parameters_are_decoded_per_segment),
	CHECK_TEST(test_router__wrong_method_lists_allowed_ones),
	CHECK_TEST(test_http__query_strings_decode_and_repeat),
	CHECK_TEST(test_http__instants_ids_and_media_types),
	CHECK_TEST(test_http__scopes_parse_and_admin_implies_all),
	CHECK_TEST(test_dispatch__errors_have_one_shape),
	CHECK_TEST(test_dispatch__scopes_are_enforced_per_route),
	CHECK_TEST(test_dispatch__service_orders_check_types_then_values),
	CHECK_TEST(test_openapi__every_route_is_documented_and_vice_versa),
	CHECK_TEST(test_static__types_etags_csp_and_no_traversal),
	{0},
};

int main(int argc, char **argv)
{
	return check_main(argc, argv, tests);
}
