/*
 * fuzz_api.c: libFuzzer target for the gateway's request handling:
 * routing, percent-decoding, query and form parsing, authentication,
 * JSON/YAML body checks and the handlers' validation, through
 * api_dispatch() with a fake store (no database, no sockets).
 *
 * Input: an HTTP request in a simplified form
 *
 *   METHOD SP TARGET LF
 *   (Authorization|Content-Type|Accept|If-None-Match): VALUE LF ...
 *   LF
 *   BODY
 *
 * The fake store accepts every well-formed bearer token as an admin
 * token and answers a few reads (a service DAG, run and task facts, a
 * normalised geometry) so handlers get past their lookups; other reads
 * are "not found", writes succeed.  Invariants checked (abort on
 * violation):
 *   - every request gets a status from 100 to 599;
 *   - a JSON answer parses, and an error answer outside /oauth has the
 *     error shape with the same status inside;
 *   - 405 answers carry Allow, 401 answers WWW-Authenticate.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/api_int.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "engine/operator.h"
#include "tests/api/fake_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *const canned[][2] = {
	{"api.token.lookup",
	 "{\"kind\":\"access\",\"client_id\":\"fuzz\",\"username\":null,\"scopes\":[\"admin\"],"
	 "\"expired\":false,\"revoked\":false,\"exp\":2,\"iat\":1,\"family\":\"01a206b0-02aa-70fa-a288-03907174be54\"}"},
	{"dag.for_trigger",
	 "{\"source\":\"version: 1\\ndag: svc\\nservice: true\\nmax_area_km2: 100\\n"
	 "params:\\n  aoi: {type: wkt, required: true}\\n  area: {type: geojson}\\n"
	 "  level: {type: integer, minimum: 1, maximum: 5, default: 1}\\n"
	 "  mode: {type: string, enum: [a, b], default: a}\\n"
	 "tasks:\\n  - id: a\\n    operator: command\\n    shell: 'true'\\n\","
	 "\"file_path\":\"svc.yaml\",\"is_paused\":false,\"is_active\":true}"},
	{"api.run.key", "{\"run_pk\":1,\"state\":\"RUNNING\",\"dag_id\":\"svc\",\"run_id\":\"r\",\"client_id\":\"fuzz\"}"},
	{"api.ti.key", "{\"run_pk\":1,\"run_state\":\"RUNNING\",\"state\":\"running\",\"try_number\":1,"
		       "\"logical_date\":\"2026-01-01T00:00:00+00:00\"}"},
	{"api.order.key", "{\"run_pk\":1,\"state\":\"QUEUED\",\"dag_id\":\"svc\",\"run_id\":\"r\"}"},
	{"api.try.get", "{\"try_number\":1,\"state\":\"success\",\"log_path\":null,\"finished\":true}"},
	{"api.run.tis", "[{\"task_id\":\"a\",\"state\":\"running\"},{\"task_id\":\"b\",\"state\":\"success\"}]"},
	{"api.aoi.normalize", "{\"ok\":true,\"wkt\":\"MULTIPOLYGON(((0 0,1 0,1 1,0 0)))\","
			      "\"geojson\":{\"type\":\"MultiPolygon\",\"coordinates\":[]},\"area_km2\":10}"},
	{"api.dag.source", "{\"dag_id\":\"svc\",\"source\":\"version: 1\\n\",\"file_path\":\"/nonexistent/svc.yaml\","
			   "\"is_active\":true}"},
};

static struct api_ctx ctx;
static char dags_dir[64] = "/tmp/weir-fuzz-api.XXXXXX";

static void cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dags_dir);
	if (system(cmd) != 0) {
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	weir_operators_register_light();
	api_routes_init();
	api_ctx_init(&ctx);
	if (!mkdtemp(dags_dir))
		abort();
	atexit(cleanup);
	ctx.home = weir_xstrdup("/nonexistent");
	ctx.dags_folder = weir_xstrdup(dags_dir);
	ctx.body_limit = 1 << 20;
	ctx.token_ttl_s = 3600;
	ctx.refresh_ttl_s = 86400;
	ctx.heartbeat_timeout_ms = 30000;
	ctx.metrics_public = true;
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(canned); i++)
		fake_store_set(canned[i][0], canned[i][1]);
	ctx.pool = api_pool_new(2, fake_store_open, NULL);
	ctx.metrics = api_metrics_new(api_nroutes);
	return 0;
}

/* Copies s[0..n) into the arena as a C string; NULs end it. */
static const char *take(struct weir_arena *a, const char *s, size_t n)
{
	return weir_arena_strndup(a, s, n);
}

/* The OAuth2 endpoints answer RFC 6749 errors, not the gateway's shape. */
static bool is_oauth(const struct api_req *rq)
{
	return rq->route && !strncmp(rq->route->pattern, "/oauth/", 7);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *eol, *sp;
	struct api_req rq;
	struct api_resp rs;

	memset(&rq, 0, sizeof(rq));
	weir_arena_init(&rq.arena, 4096);
	rq.ctx = &ctx;
	snprintf(rq.request_id, sizeof(rq.request_id), "fuzz");
	eol = memchr(p, '\n', size);
	if (!eol)
		eol = end;
	sp = memchr(p, ' ', (size_t)(eol - p));
	if (!sp) {
		weir_arena_release(&rq.arena);
		return 0;
	}
	rq.method_name = take(&rq.arena, p, (size_t)(sp - p));
	rq.method = api_method_parse(rq.method_name);
	rq.target = take(&rq.arena, sp + 1, (size_t)(eol - sp - 1));
	p = eol < end ? eol + 1 : end;
	while (p < end && *p != '\n') {
		const char *colon, *v;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon) {
			v = colon + 1;
			while (v < eol && *v == ' ')
				v++;
#define HDR(name, field)                                                              \
	if ((size_t)(colon - p) == strlen(name) && !strncasecmp(p, name, strlen(name))) \
		rq.field = take(&rq.arena, v, (size_t)(eol - v));
			HDR("Authorization", authorization)
			HDR("Content-Type", content_type)
			HDR("Accept", accept)
			HDR("If-None-Match", if_none_match)
#undef HDR
		}
		p = eol < end ? eol + 1 : end;
	}
	if (p < end) {
		p++;
		if (p < end) {
			rq.body = p;
			rq.body_len = (size_t)(end - p);
		}
	}
	api_resp_init(&rs);
	api_dispatch(&rq, &rs);

	if (rs.status < 100 || rs.status > 599)
		abort();
	if (rs.content_type && !strcmp(rs.content_type, "application/json")) {
		json_t *j = json_loadb(rs.body ? rs.body : "", rs.len, JSON_DECODE_ANY, NULL);
		if (!j)
			abort();
		if (rs.status >= 400 && !is_oauth(&rq)) {
			json_t *e = json_object_get(j, "error");
			if (!json_is_object(e) || json_integer_value(json_object_get(e, "status")) != rs.status)
				abort();
		}
		json_decref(j);
	}
	if (rs.status == 405) {
		bool allow = false;
		for (size_t i = 0; i < rs.nheaders; i++)
			allow |= !strcasecmp(rs.headers[i].name, "Allow");
		if (!allow)
			abort();
	}
	if (rs.status == 401 && !is_oauth(&rq)) {
		bool www = false;
		for (size_t i = 0; i < rs.nheaders; i++)
			www |= !strcasecmp(rs.headers[i].name, "WWW-Authenticate");
		if (!www)
			abort();
	}
	api_resp_release(&rs);
	weir_arena_release(&rq.arena);
	return 0;
}
