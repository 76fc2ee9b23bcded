/*
 * test_api.c: the HTTP gateway against a real PostgreSQL (a fresh
 * migrated database per test), over real sockets with libcurl, with a real
 * scheduler (`$WEIR_BINARY scheduler`) as a child process where runs must
 * actually run.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_int.h"
#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "tests/api/check_api.h"
#include "tests/check.h"
#include "tests/check_pg.h"

#define JSON "application/json"
#define FORM "application/x-www-form-urlencoded"

static const char quick_yaml[] =
	"version: 1\n"
	"dag: quick\n"
	"description: two quick tasks\n"
	"owner: tests\n"
	"tags: [test, quick]\n"
	"params:\n"
	"  who: {type: string, default: world}\n"
	"tasks:\n"
	"  - id: hello\n"
	"    operator: command\n"
	"    shell: |\n"
	"      echo \"hello {{ params.who }}\"\n"
	"      echo '::xcom greeting=\"hi\"'\n"
	"      echo '::xcom data={\"n\": 3}'\n"
	"  - id: bye\n"
	"    operator: command\n"
	"    depends_on: [hello]\n"
	"    shell: echo bye\n";

static const char sleepy_yaml[] =
	"version: 1\n"
	"dag: sleepy\n"
	"service: true\n"
	"params:\n"
	"  n: {type: integer, default: 1}\n"
	"tasks:\n"
	"  - id: nap\n"
	"    operator: command\n"
	"    shell: sleep 120\n";

static const char svc_yaml[] =
	"version: 1\n"
	"dag: svc\n"
	"service: true\n"
	"max_area_km2: 50000\n"
	"params:\n"
	"  aoi: {type: wkt, required: true}\n"
	"  mode: {type: string, enum: [good, bad], default: good}\n"
	"tasks:\n"
	"  - id: check\n"
	"    operator: command\n"
	"    invalid_exit_code: 3\n"
	"    env:\n"
	"      MODE: \"{{ params.mode }}\"\n"
	"    shell: '[ \"$MODE\" = good ] || exit 3'\n";

static const char geo_yaml[] =
	"version: 1\n"
	"dag: geo\n"
	"service: true\n"
	"params:\n"
	"  area: {type: geojson, required: true}\n"
	"tasks:\n"
	"  - id: a\n"
	"    operator: command\n"
	"    shell: 'true'\n";

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void expect(struct http_res *r, long status)
{
	if (r->status != status)
		check__fail(__FILE__, __LINE__, "expected HTTP %ld, got %ld: %s", status, r->status, r->body);
}

/* A token for `scopes` via the client_credentials grant. */
static char *token_for(struct api_env *e, const char *scopes)
{
	return api_token(e, scopes);
}

static char *form_token(const char *body)
{
	struct http_res *r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	char *t;

	expect(r, 200);
	t = strdup(jstr(r->json, "access_token"));
	http_free(r);
	return t;
}

/* ------------------------------------------------------------------ */
/* monitoring                                                           */
/* ------------------------------------------------------------------ */

static void test_api__health_version_and_openapi_are_public(void)
{
	struct api_env e;
	struct http_res *r;

	api_env_init(&e, NULL);
	r = http_get("/health", NULL);
	expect(r, 200);
	CHECK_STR_EQ(jstr(json_object_get(r->json, "metadatabase"), "status"), "healthy");
	CHECK_STR_EQ(jstr(json_object_get(r->json, "scheduler"), "status"), "unhealthy");
	CHECK(json_is_null(json_object_get(json_object_get(r->json, "scheduler"), "latest_scheduler_heartbeat")));
	CHECK(http_header(r, "X-Request-Id") != NULL);
	http_free(r);
	r = http_get("/api/v1/version", NULL);
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "version"), WEIR_VERSION);
	http_free(r);
	r = http_get("/api/v1/openapi.json", NULL);
	expect(r, 200);
	CHECK(json_is_object(json_object_get(r->json, "paths")));
	http_free(r);
	/* A request id given by the client is echoed. */
	{
		const char *const h[] = {"X-Request-Id: trace-42", NULL};
		r = http("GET", "/api/v1/version", NULL, NULL, NULL, 0, h);
		CHECK_STR_EQ(http_header(r, "X-Request-Id"), "trace-42");
		http_free(r);
	}
	api_env_release(&e);
}

static void test_api__health_reports_the_scheduler_heartbeat(void)
{
	struct api_env e;
	struct http_res *r;

	api_env_init(&e, NULL);
	api_env_scheduler(&e);
	api_env_wait_sql(&e, 30, "SELECT count(*) > 0 FROM schedulers");
	usleep(1100000); /* past the one-second cache */
	r = http_get("/api/v1/health", NULL);
	expect(r, 200);
	CHECK_STR_EQ(jstr(json_object_get(r->json, "scheduler"), "status"), "healthy");
	CHECK(jstr(json_object_get(r->json, "scheduler"), "latest_scheduler_heartbeat") != NULL);
	http_free(r);
	api_env_release(&e);
}

static void test_api__metrics_and_access_log(void)
{
	struct api_env e;
	struct http_res *r;
	char *tok, path[700], *log;

	api_env_init(&e, NULL);
	tok = token_for(&e, "dags:read");
	http_free(http_get("/api/v1/dags", tok));
	http_free(http_get("/api/v1/dags/none", tok));
	r = http_get("/metrics", NULL);
	expect(r, 200);
	CHECK_STR_CONTAINS(http_header(r, "Content-Type"), "text/plain");
	/* This request is the one in progress. */
	CHECK_STR_CONTAINS(r->body, "\nweir_http_requests_in_progress 1\n");
	CHECK_STR_CONTAINS(r->body, "weir_http_requests_total{route=\"/api/v1/dags\",method=\"GET\",status=\"200\"} 1");
	CHECK_STR_CONTAINS(r->body, "weir_http_requests_total{route=\"/api/v1/dags/{dag_id}\",method=\"GET\",status=\"404\"} 1");
	CHECK_STR_CONTAINS(r->body, "weir_http_request_duration_seconds_bucket{route=\"/api/v1/dags\",method=\"GET\",le=\"+Inf\"} 1");
	CHECK_STR_CONTAINS(r->body, "weir_runs{state=\"RUNNING\"} 0");
	CHECK_STR_CONTAINS(r->body, "weir_task_tries{state=\"success\"} 0");
	CHECK_STR_CONTAINS(r->body, "weir_pool_slots{pool=\"default_pool\"} 128");
	CHECK_STR_CONTAINS(r->body, "weir_pool_slots_free{pool=\"default_pool\"} 128");
	CHECK_STR_CONTAINS(r->body, "weir_api_database_up 1");
	http_free(r);
	/* The access log: one JSON line per request, with route templates. */
	snprintf(path, sizeof(path), "%s/access.log", check_tmpdir());
	log = check_read_file(path);
	CHECK_STR_CONTAINS(log, "\"route\":\"/api/v1/dags/{dag_id}\",\"status\":404");
	CHECK_STR_CONTAINS(log, "\"msg\":\"request\",\"request_id\":\"");
	CHECK(strstr(log, "/api/v1/dags/none") == NULL);
	{
		char *line = strtok(log, "\n");
		int n = 0;
		while (line) {
			json_t *j = json_loads(line, 0, NULL);
			CHECK(j != NULL);
			CHECK(json_is_integer(json_object_get(j, "status")));
			json_decref(j);
			n++;
			line = strtok(NULL, "\n");
		}
		CHECK_INT_OP(n, >=, 4);
	}
	free(log);
	free(tok);
	api_env_release(&e);
}

static void test_api__metrics_can_require_a_token(void)
{
	struct weir_api_opts o = {0};
	struct api_env e;
	struct http_res *r;
	char *tok;

	o.metrics_public = false;
	api_env_init(&e, &o);
	r = http_get("/metrics", NULL);
	expect(r, 401);
	http_free(r);
	tok = token_for(&e, "dags:read");
	r = http_get("/metrics", tok);
	expect(r, 403);
	http_free(r);
	free(tok);
	tok = token_for(&e, "metrics:read");
	r = http_get("/metrics", tok);
	expect(r, 200);
	http_free(r);
	free(tok);
	api_env_release(&e);
}

/* ------------------------------------------------------------------ */
/* OAuth2                                                               */
/* ------------------------------------------------------------------ */

static void test_oauth__client_credentials_with_basic_and_with_form(void)
{
	struct api_env e;
	const char *id, *secret;
	char body[512], basic[512], *tok;
	struct http_res *r;

	api_env_init(&e, NULL);
	api_client(&e, 0, "dags:read runs:read", &id, &secret);
	/* HTTP Basic. */
	{
		CURL *c = curl_easy_init();
		char raw[256], *enc;
		size_t n;
		unsigned char *u;
		snprintf(raw, sizeof(raw), "%s:%s", id, secret);
		n = strlen(raw);
		u = (unsigned char *)raw;
		enc = malloc(4 * n / 3 + 8);
		{
			static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			size_t o = 0, i;
			for (i = 0; i + 2 < n; i += 3) {
				enc[o++] = b64[u[i] >> 2];
				enc[o++] = b64[((u[i] & 3) << 4) | (u[i + 1] >> 4)];
				enc[o++] = b64[((u[i + 1] & 15) << 2) | (u[i + 2] >> 6)];
				enc[o++] = b64[u[i + 2] & 63];
			}
			if (i < n) {
				enc[o++] = b64[u[i] >> 2];
				if (i + 1 < n) {
					enc[o++] = b64[((u[i] & 3) << 4) | (u[i + 1] >> 4)];
					enc[o++] = b64[(u[i + 1] & 15) << 2];
				} else {
					enc[o++] = b64[(u[i] & 3) << 4];
					enc[o++] = '=';
				}
				enc[o++] = '=';
			}
			enc[o] = '\0';
		}
		snprintf(basic, sizeof(basic), "Authorization: Basic %s", enc);
		free(enc);
		curl_easy_cleanup(c);
	}
	{
		const char *const h[] = {basic, NULL};
		r = http("POST", "/oauth/token", NULL, FORM, "grant_type=client_credentials", 29, h);
	}
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "token_type"), "Bearer");
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "expires_in")), 3600);
	CHECK_STR_EQ(jstr(r->json, "scope"), "dags:read runs:read");
	CHECK(json_object_get(r->json, "refresh_token") == NULL);
	CHECK_STR_EQ(http_header(r, "Cache-Control"), "no-store");
	tok = strdup(jstr(r->json, "access_token"));
	http_free(r);
	r = http_get("/api/v1/dags", tok);
	expect(r, 200);
	http_free(r);
	free(tok);
	/* Form body, with a narrower scope. */
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=dags:read",
		 id, secret);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "scope"), "dags:read");
	tok = strdup(jstr(r->json, "access_token"));
	http_free(r);
	r = http_get("/api/v1/dags/x/dagRuns", tok);
	expect(r, 403);
	http_free(r);
	free(tok);
	/* The secret is stored hashed only. */
	{
		char sql[256], *v;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM oauth_clients WHERE secret_hash = '%s'", secret);
		v = api_env_sql(&e, sql);
		CHECK_STR_EQ(v, "0");
		free(v);
		snprintf(sql, sizeof(sql),
			 "SELECT secret_hash = encode(sha256(convert_to('%s', 'UTF8')), 'hex') FROM oauth_clients"
			 " WHERE client_id = '%s'", secret, id);
		v = api_env_sql(&e, sql);
		CHECK_STR_EQ(v, "t");
		free(v);
	}
	api_env_release(&e);
}

static void test_oauth__errors_follow_rfc6749(void)
{
	struct api_env e;
	const char *id, *secret;
	char body[512];
	struct http_res *r;

	api_env_init(&e, NULL);
	api_client(&e, 0, "dags:read", &id, &secret);
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=wrong", id);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 401);
	CHECK_STR_EQ(jstr(r->json, "error"), "invalid_client");
	http_free(r);
	r = http("POST", "/oauth/token", NULL, FORM, "grant_type=client_credentials&client_id=nobody&client_secret=x",
		 60, NULL);
	expect(r, 401);
	CHECK_STR_EQ(jstr(r->json, "error"), "invalid_client");
	http_free(r);
	snprintf(body, sizeof(body), "grant_type=authorization_code&client_id=%s&client_secret=%s", id, secret);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 400);
	CHECK_STR_EQ(jstr(r->json, "error"), "unsupported_grant_type");
	http_free(r);
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=admin", id, secret);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 400);
	CHECK_STR_EQ(jstr(r->json, "error"), "invalid_scope");
	http_free(r);
	snprintf(body, sizeof(body), "grant_type=refresh_token&client_id=%s&client_secret=%s&refresh_token=nonsense",
		 id, secret);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 400);
	CHECK_STR_EQ(jstr(r->json, "error"), "invalid_grant");
	http_free(r);
	snprintf(body, sizeof(body), "grant_type=client_credentials&grant_type=password&client_id=%s&client_secret=%s",
		 id, secret);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 400);
	CHECK_STR_EQ(jstr(r->json, "error"), "invalid_request");
	http_free(r);
	r = http("POST", "/oauth/token", NULL, "text/plain", "grant_type=client_credentials", 29, NULL);
	expect(r, 415);
	CHECK_STR_EQ(jstr(r->json, "error"), "invalid_request");
	http_free(r);
	/* JSON bodies work too. */
	snprintf(body, sizeof(body), "{\"grant_type\":\"client_credentials\",\"client_id\":\"%s\",\"client_secret\":\"%s\"}",
		 id, secret);
	r = http("POST", "/oauth/token", NULL, JSON, body, strlen(body), NULL);
	expect(r, 200);
	http_free(r);
	api_env_release(&e);
}

static void test_oauth__password_grant_and_refresh_rotation(void)
{
	struct api_env e;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *id, *secret;
	char body[700], *refresh1, *refresh2, *access;
	struct http_res *r;

	api_env_init(&e, NULL);
	api_client(&e, 0, "admin", &id, &secret);
	CHECK_OK(weir_api_user_create(e.st, "alice", "correct horse", "dags:read,runs:read", &err));
	CHECK_INT_EQ(weir_api_user_create(e.st, "alice", "another one", "dags:read", &err), WEIR_EEXISTS);
	{
		char *v = api_env_sql(&e, "SELECT password_hash LIKE '$argon2id$%' FROM users WHERE username = 'alice'");
		CHECK_STR_EQ(v, "t");
		free(v);
	}
	snprintf(body, sizeof(body), "grant_type=password&username=alice&password=wrong+one&client_id=%s&client_secret=%s",
		 id, secret);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 400);
	CHECK_STR_EQ(jstr(r->json, "error"), "invalid_grant");
	http_free(r);
	snprintf(body, sizeof(body), "grant_type=password&username=nobody&password=x&client_id=%s&client_secret=%s", id,
		 secret);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 400);
	CHECK_STR_EQ(jstr(r->json, "error"), "invalid_grant");
	http_free(r);
	snprintf(body, sizeof(body),
		 "grant_type=password&username=alice&password=correct+horse&client_id=%s&client_secret=%s", id, secret);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 200);
	/* admin client x user scopes: the user's. */
	CHECK_STR_EQ(jstr(r->json, "scope"), "dags:read runs:read");
	refresh1 = strdup(jstr(r->json, "refresh_token"));
	access = strdup(jstr(r->json, "access_token"));
	http_free(r);
	r = http_get("/api/v1/dags", access);
	expect(r, 200);
	http_free(r);
	r = http_get("/api/v1/pools", access);
	expect(r, 403);
	http_free(r);
	free(access);

	/* Rotation: the new refresh token works, the old one is dead. */
	snprintf(body, sizeof(body), "grant_type=refresh_token&refresh_token=%s&client_id=%s&client_secret=%s",
		 refresh1, id, secret);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 200);
	refresh2 = strdup(jstr(r->json, "refresh_token"));
	access = strdup(jstr(r->json, "access_token"));
	CHECK(strcmp(refresh1, refresh2) != 0);
	http_free(r);
	r = http_get("/api/v1/dags", access);
	expect(r, 200);
	http_free(r);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL); /* refresh1 again */
	expect(r, 400);
	CHECK_STR_EQ(jstr(r->json, "error"), "invalid_grant");
	http_free(r);
	/* ...and reusing it revoked the whole grant. */
	r = http_get("/api/v1/dags", access);
	expect(r, 401);
	http_free(r);
	snprintf(body, sizeof(body), "grant_type=refresh_token&refresh_token=%s&client_id=%s&client_secret=%s",
		 refresh2, id, secret);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 400);
	http_free(r);
	/* Another client cannot use someone else's refresh token. */
	{
		const char *id2, *secret2;
		char *refresh3;
		api_client(&e, 1, "dags:read", &id2, &secret2);
		snprintf(body, sizeof(body),
			 "grant_type=password&username=alice&password=correct+horse&client_id=%s&client_secret=%s", id,
			 secret);
		r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
		expect(r, 200);
		refresh3 = strdup(jstr(r->json, "refresh_token"));
		http_free(r);
		snprintf(body, sizeof(body), "grant_type=refresh_token&refresh_token=%s&client_id=%s&client_secret=%s",
			 refresh3, id2, secret2);
		r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
		expect(r, 400);
		CHECK_STR_EQ(jstr(r->json, "error"), "invalid_grant");
		http_free(r);
		free(refresh3);
	}
	free(access);
	free(refresh1);
	free(refresh2);
	weir_buf_release(&err);
	api_env_release(&e);
}

static void test_oauth__revocation_introspection_and_expiry(void)
{
	struct api_env e;
	const char *id, *secret, *id2, *secret2;
	char body[700], *tok, sql[400];
	struct http_res *r;

	api_env_init(&e, NULL);
	api_client(&e, 0, "dags:read", &id, &secret);
	api_client(&e, 1, "dags:read", &id2, &secret2);
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s", id, secret);
	tok = form_token(body);

	/* Introspection: own token active; another client sees nothing. */
	snprintf(body, sizeof(body), "token=%s&client_id=%s&client_secret=%s", tok, id, secret);
	r = http("POST", "/oauth/introspect", NULL, FORM, body, strlen(body), NULL);
	expect(r, 200);
	CHECK(json_is_true(json_object_get(r->json, "active")));
	CHECK_STR_EQ(jstr(r->json, "client_id"), id);
	CHECK_STR_EQ(jstr(r->json, "scope"), "dags:read");
	CHECK(json_integer_value(json_object_get(r->json, "exp")) > json_integer_value(json_object_get(r->json, "iat")));
	http_free(r);
	snprintf(body, sizeof(body), "token=%s&client_id=%s&client_secret=%s", tok, id2, secret2);
	r = http("POST", "/oauth/introspect", NULL, FORM, body, strlen(body), NULL);
	expect(r, 200);
	CHECK(json_is_false(json_object_get(r->json, "active")));
	http_free(r);
	r = http("POST", "/oauth/introspect", NULL, FORM, "token=x", 7, NULL);
	expect(r, 401);
	http_free(r);

	/* Another client cannot revoke it; its owner can. */
	snprintf(body, sizeof(body), "token=%s&client_id=%s&client_secret=%s", tok, id2, secret2);
	r = http("POST", "/oauth/revoke", NULL, FORM, body, strlen(body), NULL);
	expect(r, 200);
	http_free(r);
	r = http_get("/api/v1/dags", tok);
	expect(r, 200);
	http_free(r);
	snprintf(body, sizeof(body), "token=%s&client_id=%s&client_secret=%s", tok, id, secret);
	r = http("POST", "/oauth/revoke", NULL, FORM, body, strlen(body), NULL);
	expect(r, 200);
	http_free(r);
	r = http_get("/api/v1/dags", tok);
	expect(r, 401);
	CHECK_STR_CONTAINS(jstr(r->json, "detail"), "revoked");
	CHECK_STR_CONTAINS(http_header(r, "WWW-Authenticate"), "invalid_token");
	http_free(r);
	snprintf(body, sizeof(body), "token=%s&client_id=%s&client_secret=%s", tok, id, secret);
	r = http("POST", "/oauth/introspect", NULL, FORM, body, strlen(body), NULL);
	CHECK(json_is_false(json_object_get(r->json, "active")));
	http_free(r);
	/* Unknown tokens are fine to revoke (RFC 7009). */
	snprintf(body, sizeof(body), "token=nonsense&client_id=%s&client_secret=%s", id, secret);
	r = http("POST", "/oauth/revoke", NULL, FORM, body, strlen(body), NULL);
	expect(r, 200);
	http_free(r);
	free(tok);

	/* Expiry. */
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s", id, secret);
	tok = form_token(body);
	snprintf(sql, sizeof(sql),
		 "UPDATE oauth_tokens SET expires_at = now() - interval '1 second'"
		 " WHERE token_hash = encode(sha256(convert_to('%s', 'UTF8')), 'hex')", tok);
	free(api_env_sql(&e, sql));
	r = http_get("/api/v1/dags", tok);
	expect(r, 401);
	CHECK_STR_CONTAINS(jstr(r->json, "detail"), "expired");
	http_free(r);
	free(tok);

	/* Deleting a client kills its tokens. */
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s", id2, secret2);
	tok = form_token(body);
	{
		char *admin = token_for(&e, "admin");
		char path[128];
		snprintf(path, sizeof(path), "/api/v1/clients/%s", id2);
		r = http("DELETE", path, admin, NULL, NULL, 0, NULL);
		expect(r, 204);
		http_free(r);
		free(admin);
	}
	r = http_get("/api/v1/dags", tok);
	expect(r, 401);
	http_free(r);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 401);
	http_free(r);
	free(tok);
	api_env_release(&e);
}

/* ------------------------------------------------------------------ */
/* the auth matrix                                                      */
/* ------------------------------------------------------------------ */

static void test_auth__every_route_times_every_kind_of_token(void)
{
	enum { NONE, MALFORMED, EXPIRED, REVOKED, WRONG_SCOPE, APP, ADMIN, KINDS };
	char *wrong_for_metrics;
	static const char *const kind_names[] = {"no token", "malformed", "expired", "revoked",
						 "wrong scope", "app client", "admin"};
	struct weir_api_opts o = {0};
	struct api_env e;
	char *tok[KINDS], sql[400], body[700];
	const char *id, *secret;
	int checked = 0;

	o.metrics_public = false;
	api_env_init(&e, &o);
	tok[NONE] = NULL;
	tok[MALFORMED] = strdup("not-a-token!");
	tok[EXPIRED] = token_for(&e, "admin");
	snprintf(sql, sizeof(sql),
		 "UPDATE oauth_tokens SET expires_at = now() - interval '1 minute'"
		 " WHERE token_hash = encode(sha256(convert_to('%s', 'UTF8')), 'hex')", tok[EXPIRED]);
	free(api_env_sql(&e, sql));
	api_client(&e, 0, "admin", &id, &secret);
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s", id, secret);
	tok[REVOKED] = form_token(body);
	snprintf(body, sizeof(body), "token=%s&client_id=%s&client_secret=%s", tok[REVOKED], id, secret);
	http_free(http("POST", "/oauth/revoke", NULL, FORM, body, strlen(body), NULL));
	/* A scope no route but /metrics needs, and one for /metrics. */
	tok[WRONG_SCOPE] = token_for(&e, "metrics:read");
	wrong_for_metrics = token_for(&e, "orders:read");
	tok[APP] = token_for(&e, "dags:read dags:write runs:read runs:trigger runs:write orders:read orders:write "
				 "pools:read pools:write metrics:read");
	tok[ADMIN] = token_for(&e, "admin");

	for (size_t i = 0; i < api_nroutes; i++) {
		const struct api_route *rt = &api_routes[i];
		char path[512];
		size_t n = 0;
		const char *ctype = NULL, *b = NULL;

		if (!strncmp(rt->pattern, "/oauth/", 7))
			continue; /* client authentication, tested above */
		for (const char *p = rt->pattern; *p;) {
			if (*p == '{') {
				const char *val = !strncmp(p, "{order_id}", 10) ? "01a206b0-02aa-70fa-a288-03907174be54"
						  : !strncmp(p, "{task_try_number}", 17) || !strncmp(p, "{import_error_id}", 17)
							  ? "1"
							  : "nope";
				n += (size_t)snprintf(path + n, sizeof(path) - n, "%s", val);
				p = strchr(p, '}') + 1;
			} else {
				path[n++] = *p++;
			}
		}
		path[n] = '\0';
		if (rt->flags & API_R_JSON) {
			ctype = JSON;
			b = "{}";
		} else if (rt->flags & API_R_YAML) {
			ctype = "application/yaml";
			b = "version: 1\n";
		}
		for (int k = 0; k < KINDS; k++) {
			const char *t = k == WRONG_SCOPE && rt->scope == API_SCOPE_METRICS_READ ? wrong_for_metrics : tok[k];
			struct http_res *r = http(api_method_name(rt->method), path, t, ctype, b, b ? strlen(b) : 0, NULL);
			bool is_public = rt->flags & API_R_PUBLIC;
			long want = 0; /* 0: anything but 401, 403 and 5xx */

			if (!is_public) {
				if (k <= REVOKED)
					want = 401;
				else if (k == WRONG_SCOPE)
					want = 403;
				else if (k == APP && rt->scope == API_SCOPE_ADMIN)
					want = 403;
			}
			if (r->status >= 500 || (want && r->status != want) ||
			    (!want && (r->status == 401 || r->status == 403)))
				check__fail(__FILE__, __LINE__, "%s %s with %s: HTTP %ld (wanted %s%ld): %s",
					    api_method_name(rt->method), path, kind_names[k], r->status,
					    want ? "" : "not 401/403/5xx, ", want, r->body);
			if (r->status == 401)
				CHECK_STR_CONTAINS(http_header(r, "WWW-Authenticate"), "Bearer");
			if (r->status >= 400 && r->json)
				check_error_shape(r->json, (int)r->status, NULL);
			http_free(r);
			checked++;
		}
	}
	check_note("%d route x token combinations", checked);
	for (int k = 0; k < KINDS; k++)
		free(tok[k]);
	free(wrong_for_metrics);
	api_env_release(&e);
}

/* ------------------------------------------------------------------ */
/* error shapes                                                         */
/* ------------------------------------------------------------------ */

static void test_errors__bad_input_is_4xx_with_one_shape(void)
{
	struct weir_api_opts o = {0};
	struct api_env e;
	struct http_res *r;
	char *tok;

	o.body_limit = 64 * 1024;
	o.metrics_public = true;
	api_env_init(&e, &o);
	tok = token_for(&e, "admin");
	api_env_dag(&e, "quick.yaml", quick_yaml);
	api_env_sync(&e, "quick.yaml");

	/* malformed JSON */
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok, "{\"conf\": {");
	expect(r, 400);
	check_error_shape(r->json, 400, NULL);
	CHECK_STR_CONTAINS(jstr(r->json, "detail"), "malformed JSON");
	http_free(r);
	/* wrong types */
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok, "{\"conf\": [1, 2]}");
	expect(r, 400);
	check_error_shape(r->json, 400, "conf");
	http_free(r);
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok, "{\"logical_date\": \"last tuesday\"}");
	expect(r, 400);
	check_error_shape(r->json, 400, "logical_date");
	http_free(r);
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok, "{\"conf\": {\"who\": 5}}");
	expect(r, 400);
	check_error_shape(r->json, 400, "conf.who");
	http_free(r);
	/* unknown and read-only fields */
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok, "{\"colour\": \"red\"}");
	expect(r, 400);
	check_error_shape(r->json, 400, "colour");
	http_free(r);
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok, "{\"state\": \"success\"}");
	expect(r, 400);
	check_error_shape(r->json, 400, "state");
	http_free(r);
	/* oversized bodies: declared, and chunked */
	{
		size_t n = 100 * 1024;
		char *big = malloc(n + 1);
		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		big[n] = '\0';
		r = http("POST", "/api/v1/dags/quick/dagRuns", tok, JSON, big, n, NULL);
		expect(r, 413);
		check_error_shape(r->json, 413, NULL);
		http_free(r);
		{
			const char *const h[] = {"Transfer-Encoding: chunked", NULL};
			r = http("POST", "/api/v1/dags/quick/dagRuns", tok, JSON, big, n, h);
			expect(r, 413);
			http_free(r);
		}
		free(big);
	}
	/* wrong content type */
	r = http("POST", "/api/v1/dags/quick/dagRuns", tok, "text/csv", "a,b", 3, NULL);
	expect(r, 415);
	check_error_shape(r->json, 415, NULL);
	http_free(r);
	r = http("POST", "/api/v1/dags", tok, JSON, "{}", 2, NULL);
	expect(r, 415);
	http_free(r);
	/* path traversal in the source and log routes */
	{
		static const char *const paths[] = {
			"/api/v1/dags/..%2F..%2F..%2Fetc%2Fpasswd/source",
			"/api/v1/dags/%2Fetc%2Fpasswd/source",
			"/api/v1/dags/../../etc/passwd/source",
			"/api/v1/dags/quick/dagRuns/..%2F..%2F..%2Fetc/taskInstances/passwd/logs/1",
			"/api/v1/dags/..%2F..%2F/dagRuns/x/taskInstances/..%2F..%2Fetc%2Fpasswd/logs/1",
			"/api/v1/dags/quick/dagRuns/r/taskInstances/hello/logs/..%2F..%2F1",
			"/api/v1/dags/quick/dagRuns/r/taskInstances/hello/logs/-1",
			NULL,
		};
		for (size_t i = 0; paths[i]; i++) {
			r = http_get(paths[i], tok);
			if (r->status != 404 && r->status != 400)
				check__fail(__FILE__, __LINE__, "GET %s: HTTP %ld: %s", paths[i], r->status, r->body);
			CHECK(strstr(r->body, "root:") == NULL);
			http_free(r);
		}
	}
	/* SQL metacharacters in filters are plain values */
	{
		static const char *const paths[] = {
			"/api/v1/dags?dag_id_pattern=%27%3B%20DROP%20TABLE%20dags%3B%20--",
			"/api/v1/dags?tags=%27)%20OR%201%3D1%20--",
			"/api/v1/dags/%27%20OR%20%271%27%3D%271/dagRuns",
			"/api/v1/orders?service=x%27%20OR%20%271%27%3D%271",
			"/api/v1/dags/quick/dagRuns/%27%3B%20DELETE%20FROM%20dag_runs%3B--",
			"/api/v1/pools/%27%3B%20DROP%20TABLE%20pools%3B--",
			NULL,
		};
		for (size_t i = 0; paths[i]; i++) {
			r = http_get(paths[i], tok);
			if (r->status != 200 && r->status != 404)
				check__fail(__FILE__, __LINE__, "GET %s: HTTP %ld: %s", paths[i], r->status, r->body);
			if (r->status == 200 && json_object_get(r->json, "total_entries"))
				CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 0);
			http_free(r);
		}
		r = http_get("/api/v1/dags", tok);
		CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
		http_free(r);
		r = http_get("/api/v1/dags/quick/dagRuns?state=queued%27%20OR%20%271", tok);
		expect(r, 400);
		check_error_shape(r->json, 400, "state");
		http_free(r);
	}
	/* no partial writes: a rejected trigger created nothing */
	{
		char *v = api_env_sql(&e, "SELECT count(*) FROM dag_runs");
		CHECK_STR_EQ(v, "0");
		free(v);
	}
	free(tok);
	api_env_release(&e);
}

/* ------------------------------------------------------------------ */
/* Airflow-compatible resources                                         */
/* ------------------------------------------------------------------ */

static void test_airflow__dags_shapes_filters_pause_and_source(void)
{
	struct api_env e;
	struct http_res *r;
	json_t *d;
	char *tok;

	api_env_init(&e, NULL);
	tok = token_for(&e, "admin");
	api_env_dag(&e, "quick.yaml", quick_yaml);
	api_env_dag(&e, "svc.yaml", svc_yaml);
	api_env_sync(&e, "quick.yaml");
	api_env_sync(&e, "svc.yaml");

	r = http_get("/api/v1/dags", tok);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 2);
	d = json_array_get(json_object_get(r->json, "dags"), 0);
	CHECK_STR_EQ(jstr(d, "dag_id"), "quick");
	{
		static const char *const fields[] = {
			"dag_id", "dag_display_name", "is_paused", "is_active", "last_parsed_time", "last_pickled",
			"last_expired", "scheduler_lock", "pickle_id", "default_view", "fileloc", "file_token",
			"owners", "description", "schedule_interval", "timetable_description", "tags",
			"max_active_tasks", "max_active_runs", "has_task_concurrency_limits", "has_import_errors",
			"next_dagrun", "next_dagrun_data_interval_start", "next_dagrun_data_interval_end",
			"next_dagrun_create_after", NULL,
		};
		for (size_t i = 0; fields[i]; i++)
			if (!json_object_get(d, fields[i]))
				check__fail(__FILE__, __LINE__, "DAG lacks Airflow's field %s", fields[i]);
	}
	CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(d, "owners"), 0)), "tests");
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(d, "tags"), 0), "name"), "quick");
	http_free(r);
	r = http_get("/api/v1/dags?tags=quick", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	http_free(r);
	r = http_get("/api/v1/dags?dag_id_pattern=SV&order_by=-dag_id&limit=1", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(r->json, "dags"), 0), "dag_id"), "svc");
	http_free(r);
	r = http_get("/api/v1/dags?order_by=-dag_id&limit=1&offset=1", tok);
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(r->json, "dags"), 0), "dag_id"), "quick");
	http_free(r);

	/* pause with an update mask, then filter on it */
	r = http_json("PATCH", "/api/v1/dags/quick?update_mask=is_paused", tok, "{\"is_paused\": true}");
	expect(r, 200);
	CHECK(json_is_true(json_object_get(r->json, "is_paused")));
	http_free(r);
	r = http_get("/api/v1/dags?paused=true", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	http_free(r);
	r = http_json("PATCH", "/api/v1/dags/quick", tok, "{\"is_paused\": false, \"dag_id\": \"x\"}");
	expect(r, 400);
	check_error_shape(r->json, 400, "dag_id");
	http_free(r);
	r = http_json("PATCH", "/api/v1/dags/quick?update_mask=is_paused", tok,
		      "{\"is_paused\": false, \"dag_id\": \"quick\"}");
	expect(r, 200);
	CHECK(json_is_false(json_object_get(r->json, "is_paused")));
	http_free(r);
	r = http_json("PATCH", "/api/v1/dags/quick?update_mask=description", tok, "{\"description\": \"x\"}");
	expect(r, 400);
	check_error_shape(r->json, 400, "update_mask");
	http_free(r);
	r = http_json("PATCH", "/api/v1/dags/none", tok, "{\"is_paused\": true}");
	expect(r, 404);
	http_free(r);

	/* details, tasks, source */
	r = http_get("/api/v1/dags/quick/details", tok);
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "timezone"), "UTC");
	CHECK_STR_EQ(jstr(json_object_get(json_object_get(r->json, "params"), "who"), "__class"),
		     "airflow.models.param.Param");
	CHECK_STR_EQ(jstr(json_object_get(json_object_get(r->json, "params"), "who"), "value"), "world");
	http_free(r);
	r = http_get("/api/v1/dags/quick/tasks", tok);
	expect(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r->json, "tasks")), 2);
	d = json_array_get(json_object_get(r->json, "tasks"), 1);
	CHECK_STR_EQ(jstr(d, "task_id"), "hello");
	CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(d, "downstream_task_ids"), 0)), "bye");
	CHECK_STR_EQ(jstr(json_object_get(d, "class_ref"), "class_name"), "command");
	CHECK_STR_EQ(jstr(json_object_get(d, "retry_delay"), "__type"), "TimeDelta");
	http_free(r);
	r = http_get("/api/v1/dags/quick/tasks/bye", tok);
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "trigger_rule"), "all_success");
	http_free(r);
	r = http_get("/api/v1/dags/quick/tasks/nope", tok);
	expect(r, 404);
	http_free(r);
	r = http_get("/api/v1/dags/quick/source", tok);
	expect(r, 200);
	CHECK_STR_CONTAINS(http_header(r, "Content-Type"), "text/plain");
	CHECK_STR_EQ(r->body, quick_yaml);
	http_free(r);
	{
		const char *const h[] = {"Accept: application/json", NULL};
		r = http("GET", "/api/v1/dags/quick/source", tok, NULL, NULL, 0, h);
		expect(r, 200);
		CHECK_STR_EQ(jstr(r->json, "content"), quick_yaml);
		http_free(r);
	}
	free(tok);
	api_env_release(&e);
}

static void test_airflow__import_errors(void)
{
	struct api_env e;
	struct http_res *r;
	char *tok, path[700];

	api_env_init(&e, NULL);
	tok = token_for(&e, "dags:read");
	api_env_dag(&e, "broken.yaml", "version: 1\ndag: broken\ntasks: 3\n");
	api_env_scheduler(&e);
	api_env_wait_sql(&e, 30, "SELECT count(*) = 1 FROM import_errors");
	r = http_get("/api/v1/importErrors", tok);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	{
		json_t *ie = json_array_get(json_object_get(r->json, "import_errors"), 0);
		snprintf(path, sizeof(path), "/api/v1/importErrors/%lld",
			 (long long)json_integer_value(json_object_get(ie, "import_error_id")));
		CHECK_STR_CONTAINS(jstr(ie, "filename"), "broken.yaml");
		CHECK_STR_CONTAINS(jstr(ie, "stack_trace"), "broken.yaml:3:");
	}
	http_free(r);
	r = http_get(path, tok);
	expect(r, 200);
	http_free(r);
	r = http_get("/api/v1/importErrors/999999", tok);
	expect(r, 404);
	http_free(r);
	r = http_get("/api/v1/importErrors/x", tok);
	expect(r, 404);
	http_free(r);
	free(tok);
	api_env_release(&e);
}

static void test_airflow__trigger_poll_success_logs_and_xcom(void)
{
	struct api_env e;
	struct http_res *r;
	char *tok;
	const char *base = "/api/v1/dags/quick/dagRuns/run1";

	api_env_init(&e, NULL);
	tok = token_for(&e, "dags:read runs:read runs:trigger");
	api_env_dag(&e, "quick.yaml", quick_yaml);
	api_env_scheduler(&e);
	api_env_wait_sql(&e, 30, "SELECT count(*) = 1 FROM dags WHERE dag_id = 'quick'");

	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok,
		      "{\"dag_run_id\": \"run1\", \"conf\": {\"who\": \"weir\"}, \"note\": \"from a test\"}");
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "dag_run_id"), "run1");
	/* The answer is the run as read right after it was created: the
	 * scheduler (woken by NOTIFY) may already have started it. */
	{
		const char *st = jstr(r->json, "state"), *os = jstr(r->json, "order_status");
		CHECK(st && os);
		if (!strcmp(st, "queued")) {
			CHECK(!strcmp(os, "RECEIVED") || !strcmp(os, "QUEUED"));
		} else if (!strcmp(st, "running")) {
			CHECK_STR_EQ(os, "RUNNING");
		} else {
			CHECK_STR_EQ(st, "success");
			CHECK_STR_EQ(os, "SUCCESS");
		}
	}
	CHECK_STR_EQ(jstr(r->json, "run_type"), "manual");
	CHECK_STR_EQ(jstr(r->json, "note"), "from a test");
	CHECK(json_is_true(json_object_get(r->json, "external_trigger")));
	http_free(r);
	/* poll until the run is done */
	CHECK_STR_EQ(api_wait_field(base, tok, "state", "success|failed", 60), "success");
	r = http_get(base, tok);
	CHECK_STR_EQ(jstr(r->json, "order_status"), "SUCCESS");
	CHECK(jstr(r->json, "end_date") != NULL);
	http_free(r);

	/* task instances */
	r = http_get("/api/v1/dags/quick/dagRuns/run1/taskInstances", tok);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 2);
	{
		json_t *t = json_array_get(json_object_get(r->json, "task_instances"), 1);
		CHECK_STR_EQ(jstr(t, "task_id"), "hello");
		CHECK_STR_EQ(jstr(t, "state"), "success");
		CHECK_STR_EQ(jstr(t, "operator"), "command");
		CHECK_INT_EQ(json_integer_value(json_object_get(t, "try_number")), 1);
		CHECK_INT_EQ(json_integer_value(json_object_get(t, "map_index")), -1);
		CHECK(json_is_number(json_object_get(t, "duration")));
	}
	http_free(r);
	r = http_get("/api/v1/dags/quick/dagRuns/run1/taskInstances?state=failed", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 0);
	http_free(r);
	r = http_get("/api/v1/dags/~/dagRuns/~/taskInstances?state=success", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 2);
	http_free(r);
	r = http_get("/api/v1/dags/quick/dagRuns/run1/taskInstances/bye", tok);
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "dag_run_id"), "run1");
	http_free(r);

	/* logs: JSON with continuation, text/plain */
	r = http_get("/api/v1/dags/quick/dagRuns/run1/taskInstances/hello/logs/1", tok);
	expect(r, 200);
	CHECK_STR_CONTAINS(jstr(r->json, "content"), "OUT hello weir");
	{
		char path[512];
		const char *t = jstr(r->json, "continuation_token");
		struct http_res *r2;
		CHECK(t != NULL);
		snprintf(path, sizeof(path), "/api/v1/dags/quick/dagRuns/run1/taskInstances/hello/logs/1?token=%s", t);
		r2 = http_get(path, tok);
		expect(r2, 200);
		CHECK_STR_EQ(jstr(r2->json, "content"), "");
		http_free(r2);
	}
	http_free(r);
	{
		const char *const h[] = {"Accept: text/plain", NULL};
		r = http("GET", "/api/v1/dags/quick/dagRuns/run1/taskInstances/hello/logs/1?full_content=true", tok,
			 NULL, NULL, 0, h);
		expect(r, 200);
		CHECK_STR_CONTAINS(http_header(r, "Content-Type"), "text/plain");
		CHECK_STR_CONTAINS(r->body, "OUT hello weir");
		http_free(r);
	}
	r = http_get("/api/v1/dags/quick/dagRuns/run1/taskInstances/hello/logs/2", tok);
	expect(r, 404);
	http_free(r);
	r = http_get("/api/v1/dags/quick/dagRuns/run1/taskInstances/hello/logs/1?token=%21%21", tok);
	expect(r, 400);
	check_error_shape(r->json, 400, "token");
	http_free(r);

	/* XCom */
	r = http_get("/api/v1/dags/quick/dagRuns/run1/taskInstances/hello/xcomEntries", tok);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 2);
	CHECK(json_object_get(json_array_get(json_object_get(r->json, "xcom_entries"), 0), "value") == NULL);
	http_free(r);
	r = http_get("/api/v1/dags/quick/dagRuns/run1/taskInstances/hello/xcomEntries/greeting", tok);
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "value"), "hi");
	http_free(r);
	r = http_get("/api/v1/dags/quick/dagRuns/run1/taskInstances/hello/xcomEntries/data", tok);
	CHECK_STR_EQ(jstr(r->json, "value"), "{\"n\":3}");
	http_free(r);
	r = http_get("/api/v1/dags/quick/dagRuns/run1/taskInstances/hello/xcomEntries/data?stringify=false", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(r->json, "value"), "n")), 3);
	http_free(r);
	r = http_get("/api/v1/dags/~/dagRuns/~/taskInstances/~/xcomEntries?xcom_key=greeting", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	http_free(r);
	r = http_get("/api/v1/dags/quick/dagRuns/run1/taskInstances/hello/xcomEntries/none", tok);
	expect(r, 404);
	http_free(r);
	free(tok);
	api_env_release(&e);
}

static void test_airflow__duplicate_run_id_is_409_and_runs_list_filters(void)
{
	struct api_env e;
	struct http_res *r;
	char *tok;

	api_env_init(&e, NULL);
	tok = token_for(&e, "admin");
	api_env_dag(&e, "quick.yaml", quick_yaml);
	api_env_dag(&e, "svc.yaml", svc_yaml);
	api_env_sync(&e, "quick.yaml");
	api_env_sync(&e, "svc.yaml");
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok, "{\"dag_run_id\": \"same\", \"logical_date\": \"2026-01-01T00:00:00Z\"}");
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "logical_date"), "2026-01-01T00:00:00+00:00");
	http_free(r);
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok, "{\"dag_run_id\": \"same\"}");
	expect(r, 409);
	check_error_shape(r->json, 409, "dag_run_id");
	http_free(r);
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok, "{\"dag_run_id\": \"bad/id\"}");
	expect(r, 400);
	check_error_shape(r->json, 400, "dag_run_id");
	http_free(r);
	r = http_json("POST", "/api/v1/dags/nope/dagRuns", tok, "{}");
	expect(r, 404);
	http_free(r);
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok,
		      "{\"dag_run_id\": \"second\", \"execution_date\": \"2026-02-01T00:00:00Z\"}");
	expect(r, 200);
	http_free(r);
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok,
		      "{\"logical_date\": \"2026-03-01T00:00:00Z\", \"execution_date\": \"2026-03-02T00:00:00Z\"}");
	expect(r, 400);
	http_free(r);
	r = http_json("POST", "/api/v1/dags/svc/dagRuns", tok, "{\"dag_run_id\": \"s1\", \"conf\": {\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\"}}");
	expect(r, 200);
	http_free(r);
	free(api_env_sql(&e, "UPDATE dag_runs SET state = 'QUEUED' WHERE run_id = 'second'"));

	r = http_get("/api/v1/dags/quick/dagRuns", tok);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 2);
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(r->json, "dag_runs"), 0), "dag_run_id"), "same");
	http_free(r);
	r = http_get("/api/v1/dags/quick/dagRuns?order_by=-execution_date&limit=1", tok);
	CHECK_INT_EQ(json_array_size(json_object_get(r->json, "dag_runs")), 1);
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(r->json, "dag_runs"), 0), "dag_run_id"), "second");
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 2);
	http_free(r);
	r = http_get("/api/v1/dags/quick/dagRuns?execution_date_gte=2026-01-15&execution_date_lte=2026-12-31T00:00:00Z", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	http_free(r);
	r = http_get("/api/v1/dags/~/dagRuns?state=queued", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 3);
	http_free(r);
	r = http_get("/api/v1/dags/~/dagRuns?state=QUEUED", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	http_free(r);
	r = http_get("/api/v1/dags/~/dagRuns?order_by=nonsense", tok);
	expect(r, 400);
	check_error_shape(r->json, 400, "order_by");
	http_free(r);
	r = http_json("POST", "/api/v1/dags/~/dagRuns/list", tok, "{\"dag_ids\": [\"svc\"], \"page_limit\": 10}");
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	http_free(r);
	r = http_json("POST", "/api/v1/dags/~/dagRuns/list", tok, "{\"states\": [\"running\"], \"order_by\": \"-id\"}");
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 0);
	http_free(r);
	r = http_json("POST", "/api/v1/dags/~/dagRuns/list", tok, "{\"dag_ids\": \"svc\"}");
	expect(r, 400);
	check_error_shape(r->json, 400, "dag_ids");
	http_free(r);

	/* PATCH state, DELETE */
	r = http_json("PATCH", "/api/v1/dags/quick/dagRuns/same", tok, "{\"state\": \"failed\"}");
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "order_status"), "ABORTED");
	CHECK_STR_EQ(jstr(r->json, "state"), "failed");
	http_free(r);
	r = http_json("PATCH", "/api/v1/dags/quick/dagRuns/same", tok, "{\"state\": \"success\"}");
	expect(r, 409);
	http_free(r);
	r = http_json("PATCH", "/api/v1/dags/quick/dagRuns/same", tok, "{\"state\": \"queued\"}");
	expect(r, 422);
	http_free(r);
	r = http_json("PATCH", "/api/v1/dags/quick/dagRuns/same", tok, "{\"state\": \"paused\"}");
	expect(r, 400);
	http_free(r);
	r = http("DELETE", "/api/v1/dags/quick/dagRuns/second", tok, NULL, NULL, 0, NULL);
	expect(r, 409);
	http_free(r);
	r = http("DELETE", "/api/v1/dags/quick/dagRuns/same", tok, NULL, NULL, 0, NULL);
	expect(r, 204);
	http_free(r);
	r = http_get("/api/v1/dags/quick/dagRuns/same", tok);
	expect(r, 404);
	http_free(r);
	/* The unfiltered totals come from the per-DAG counter: still exact. */
	r = http_get("/api/v1/dags/quick/dagRuns", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	CHECK_INT_EQ(json_array_size(json_object_get(r->json, "dag_runs")), 1);
	http_free(r);
	r = http_get("/api/v1/dags/~/dagRuns?limit=1&order_by=-id", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 2);
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(r->json, "dag_runs"), 0), "dag_run_id"), "s1");
	http_free(r);
	{
		char *v = api_env_sql(&e, "SELECT bool_and(c.runs = (SELECT count(*) FROM dag_runs r WHERE r.dag_id = c.dag_id))"
					  " FROM dag_run_counts c");
		CHECK_STR_EQ(v, "t");
		free(v);
	}
	free(tok);
	api_env_release(&e);
}

/* ------------------------------------------------------------------ */
/* listings: rows written in C == the former JSON built by PostgreSQL  */
/* ------------------------------------------------------------------ */

/*
 * The DAG, DAGRun and TaskInstance shapes as PostgreSQL built them with
 * json_build_object before they became row statements written by
 * db/rows.c.  They are the oracle: every field, value and JSON type of
 * the API's answers must equal theirs (whitespace aside).
 */
#define OLD_DAG_JSON                                                                            \
	"json_build_object('dag_id', d.dag_id, 'dag_display_name', d.dag_id,"                   \
	" 'is_paused', d.is_paused, 'is_active', d.is_active,"                                  \
	" 'last_parsed_time', d.last_parsed_at, 'last_pickled', NULL, 'last_expired', NULL,"    \
	" 'scheduler_lock', NULL, 'pickle_id', NULL, 'default_view', 'grid',"                   \
	" 'fileloc', d.file_path, 'file_token', d.dag_id,"                                      \
	" 'owners', CASE WHEN d.owner IS NULL THEN '[]'::json ELSE json_build_array(d.owner) END," \
	" 'description', d.description,"                                                        \
	" 'schedule_interval', CASE WHEN d.schedule IS NULL THEN NULL"                          \
	"   ELSE json_build_object('__type', 'CronExpression', 'value', d.schedule) END,"       \
	" 'timetable_description', d.schedule,"                                                 \
	" 'tags', (SELECT coalesce(json_agg(json_build_object('name', tg) ORDER BY tg), '[]')"  \
	"   FROM unnest(d.tags) tg),"                                                           \
	" 'max_active_tasks', CASE WHEN jsonb_typeof(d.definition->'max_active_tasks') = 'number'" \
	"   THEN (d.definition->>'max_active_tasks')::numeric::int ELSE 16 END,"                \
	" 'max_active_runs', d.max_active_runs, 'has_task_concurrency_limits', false,"          \
	" 'has_import_errors', EXISTS (SELECT 1 FROM import_errors ie"                          \
	"   WHERE ie.file_path = d.file_path),"                                                 \
	" 'next_dagrun', d.next_logical_date,"                                                  \
	" 'next_dagrun_data_interval_start', d.next_logical_date,"                              \
	" 'next_dagrun_data_interval_end', d.next_run_after,"                                   \
	" 'next_dagrun_create_after', d.next_run_after,"                                        \
	" 'max_consecutive_failed_dag_runs', 0, 'is_service', d.is_service,"                    \
	" 'timezone', d.timezone)"

#define OLD_DAGRUN_JSON                                                                        \
	"json_build_object('dag_run_id', r.run_id, 'dag_id', r.dag_id,"                         \
	" 'logical_date', r.logical_date, 'execution_date', r.logical_date,"                    \
	" 'start_date', r.started_at, 'end_date', r.ended_at,"                                  \
	" 'data_interval_start', r.data_interval_start, 'data_interval_end', r.data_interval_end," \
	" 'last_scheduling_decision', NULL,"                                                    \
	" 'run_type', CASE r.run_type WHEN 'scheduled' THEN 'scheduled'"                        \
	"   WHEN 'backfill' THEN 'backfill' ELSE 'manual' END,"                                 \
	" 'state', CASE WHEN r.state IN ('RECEIVED', 'QUEUED') THEN 'queued'"                   \
	"   WHEN r.state = 'RUNNING' THEN 'running' WHEN r.state = 'SUCCESS' THEN 'success'"    \
	"   ELSE 'failed' END,"                                                                 \
	" 'external_trigger', r.run_type <> 'scheduled', 'conf', r.conf, 'note', r.note,"       \
	" 'order_id', r.order_id, 'order_status', r.state, 'weir_run_type', r.run_type)"

#define OLD_TI_JSON                                                                            \
	"json_build_object('task_id', t.task_id, 'task_display_name', t.task_id,"               \
	" 'dag_id', t.dag_id, 'dag_run_id', r.run_id, 'execution_date', r.logical_date,"        \
	" 'start_date', t.started_at, 'end_date', t.ended_at,"                                  \
	" 'duration', extract(epoch FROM t.ended_at - t.started_at),"                           \
	" 'state', NULLIF(t.state, 'none'), 'try_number', t.try_number, 'map_index', -1,"       \
	" 'max_tries', greatest(t.max_tries - 1, 0), 'hostname', coalesce(t.hostname, ''),"     \
	" 'unixname', '', 'pool', t.pool, 'pool_slots', t.pool_slots, 'queue', t.queue,"        \
	" 'priority_weight', t.priority,"                                                       \
	" 'operator', (SELECT e->>'operator' FROM jsonb_array_elements("                        \
	"   CASE WHEN jsonb_typeof(d.definition->'tasks') = 'array' THEN d.definition->'tasks'" \
	"   ELSE '[]'::jsonb END) e WHERE e->>'id' = t.task_id LIMIT 1),"                       \
	" 'queued_when', t.queued_at, 'pid', t.pid, 'executor', t.executor,"                    \
	" 'executor_config', '{}', 'sla_miss', NULL, 'rendered_map_index', NULL,"               \
	" 'rendered_fields', '{}'::json, 'trigger', NULL, 'triggerer_job', NULL, 'note', NULL," \
	" 'exit_code', t.exit_code)"

/* The JSON value of a query (its first column), with the API's time zone. */
static json_t *db_json(struct api_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *db_json(struct api_env *e, const char *fmt, ...)
{
	char sql[16384], *text;
	va_list ap;
	json_error_t jerr;
	json_t *j;
	int n = snprintf(sql, sizeof(sql), "SET TimeZone = 'UTC'; ");

	va_start(ap, fmt);
	vsnprintf(sql + n, sizeof(sql) - (size_t)n, fmt, ap);
	va_end(ap);
	text = api_env_sql(e, sql);
	if (!text)
		check__fail(__FILE__, __LINE__, "no JSON from: %s", sql);
	j = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (!j)
		check__fail(__FILE__, __LINE__, "invalid JSON (%s) from: %s", jerr.text, sql);
	free(text);
	return j;
}

/* Where a and b first differ: a path ("dag_runs[3].end_date") and the
 * two values there (borrowed; NULL where a key is missing). */
static bool json_diff(json_t *a, json_t *b, char *path, size_t n, json_t **da, json_t **db)
{
	size_t len = strlen(path), i;
	const char *k;
	json_t *v;

	if (json_equal(a, b))
		return false;
	if (json_is_object(a) && json_is_object(b)) {
		json_object_foreach(a, k, v) {
			snprintf(path + len, n - len, ".%s", k);
			if (json_diff(v, json_object_get(b, k), path, n, da, db))
				return true;
		}
		json_object_foreach(b, k, v) {
			snprintf(path + len, n - len, ".%s", k);
			if (json_diff(json_object_get(a, k), v, path, n, da, db))
				return true;
		}
	} else if (json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
		json_array_foreach(a, i, v) {
			snprintf(path + len, n - len, "[%zu]", i);
			if (json_diff(v, json_array_get(b, i), path, n, da, db))
				return true;
		}
	}
	path[len] = '\0';
	*da = a;
	*db = b;
	return true;
}

static void same_json(json_t *got, json_t *want, const char *what)
{
	char path[512] = "";
	json_t *g = NULL, *w = NULL;

	if (!got)
		check__fail(__FILE__, __LINE__, "%s: the answer is not JSON", what);
	if (json_diff(got, want, path, sizeof(path), &g, &w)) {
		char *a = g ? json_dumps(g, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
		char *b = w ? json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
		check__fail(__FILE__, __LINE__,
			    "%s: differs from the former statement at \"%s\"\n  got:      %.2000s\n  expected: %.2000s",
			    what, path[0] ? path : "(top)", a ? a : "(missing)", b ? b : "(missing)");
	}
}

/* GET path (or POST body to it) == the oracle's JSON (stolen). */
static void answer_is(const char *tok, const char *path, const char *post, json_t *want)
{
	struct http_res *r = post ? http_json("POST", path, tok, post) : http_get(path, tok);

	if (r->status != 200)
		check__fail(__FILE__, __LINE__, "%s: HTTP %ld: %s", path, r->status, r->body);
	same_json(r->json, want, path);
	json_decref(want);
	http_free(r);
}

static json_t *old_runs(struct api_env *e, const char *where, const char *order, int limit, int offset)
{
	return db_json(e,
		       "SELECT json_build_object('dag_runs', coalesce((SELECT json_agg(" OLD_DAGRUN_JSON
		       " ORDER BY %s) FROM (SELECT * FROM dag_runs r WHERE %s ORDER BY %s LIMIT %d OFFSET %d) r),"
		       " '[]'), 'total_entries', (SELECT count(*) FROM dag_runs r WHERE %s))",
		       order, where, order, limit, offset, where);
}

static json_t *old_tis(struct api_env *e, const char *where, int limit, int offset)
{
	return db_json(e,
		       "SELECT json_build_object('task_instances', coalesce((SELECT json_agg(" OLD_TI_JSON
		       " ORDER BY t.run_pk, t.task_id) FROM (SELECT t.* FROM task_instances t"
		       " JOIN dag_runs r ON r.id = t.run_pk WHERE %s ORDER BY t.run_pk, t.task_id"
		       " LIMIT %d OFFSET %d) t JOIN dag_runs r ON r.id = t.run_pk"
		       " LEFT JOIN dags d ON d.dag_id = t.dag_id), '[]'),"
		       " 'total_entries', (SELECT count(*) FROM task_instances t"
		       " JOIN dag_runs r ON r.id = t.run_pk WHERE %s))",
		       where, limit, offset, where);
}

static json_t *old_dags(struct api_env *e, const char *where, const char *order, int limit, int offset)
{
	return db_json(e,
		       "WITH f AS (SELECT * FROM dags d WHERE %s)"
		       " SELECT json_build_object('dags', coalesce((SELECT json_agg(" OLD_DAG_JSON
		       " ORDER BY d.ord) FROM (SELECT f.*, row_number() OVER (ORDER BY %s, f.dag_id) AS ord"
		       " FROM f ORDER BY ord LIMIT %d OFFSET %d) d), '[]'), 'total_entries', (SELECT count(*) FROM f))",
		       where, order, limit, offset);
}

/* Space-separated values of a one-column query. */
static char *ids_of(struct api_env *e, const char *sql)
{
	char *v = api_env_sql(e, sql);

	CHECK(v != NULL);
	return v;
}

/*
 * A varied data set: every run state and type, NULL and present dates,
 * dates before 2000 and 1970, BC, past 9999, infinite, with and without
 * fractions; conf {}, JSON null, nested with unicode, and ~200 KB; notes
 * with quotes, backslashes, control characters and unicode; task
 * instances in every state, with and without hosts, pids and durations;
 * DAGs with and without owner, schedule, tags, import errors, numeric and
 * odd max_active_tasks, task lists that are not arrays.
 */
static const char listings_data_sql[] =
	"INSERT INTO dags (dag_id, file_path, file_hash, source, definition, description, owner, tags,"
	" schedule, timezone, is_service, is_paused, is_active, max_active_runs, next_run_after,"
	" next_logical_date, last_parsed_at) VALUES"
	" ('plain', '/dags/plain.yaml', 'h1', '', '{\"tasks\": \"not a list\", \"max_active_tasks\": \"8\"}',"
	"  NULL, NULL, '{}', NULL, 'UTC', false, false, true, 16, NULL, NULL, '2026-03-04 05:06:07+00'),"
	" ('fancy', '/dags/fäncy \"1\".yaml', 'h2', '', '{\"max_active_tasks\": 7.6, \"tasks\":"
	"  [{\"id\": \"x\", \"operator\": \"http\"}, \"junk\", {\"id\": \"y\"}, {\"id\": \"x\", \"operator\": \"sql\"}]}',"
	"  E'line 1\\nline \"2\" \\\\ \\u00e9 \\u6771\\u4eac \\U0001F600', E'J\\u00fcrgen \"J\" \\\\ \\t',"
	"  '{b,a,\\u00fc,\"with space\"}', '*/5 * * * *', 'Europe/Zurich', true, true, true, 3,"
	"  '2026-05-06 07:08:09.5+00', '2026-05-06 07:03:09.000001+00', '2026-03-04 05:06:07.123456+00'),"
	" ('gone', '/dags/gone.yaml', 'h3', '', '{}', 'inactive', 'ops', '{a}', '@daily', 'UTC',"
	"  false, false, false, 1, NULL, NULL, '1999-12-31 23:59:59.999999+00');"
	"INSERT INTO import_errors (file_path, dag_id, errors, message)"
	" VALUES ('/dags/fäncy \"1\".yaml', 'fancy', '[]', 'broken');"
	"INSERT INTO dag_runs (order_id, dag_id, run_id, run_type, state, conf, logical_date,"
	" data_interval_start, data_interval_end, started_at, ended_at, note, updated_at)"
	" SELECT gen_random_uuid(), 'quick', 'r' || lpad(i::text, 3, '0'),"
	"  (ARRAY['manual', 'scheduled', 'backfill', 'api', 'service'])[1 + i % 5],"
	"  (ARRAY['RECEIVED', 'QUEUED', 'RUNNING', 'SUCCESS', 'FAILED', 'INVALID', 'ABORTED'])[1 + i % 7],"
	"  CASE i % 4 WHEN 0 THEN '{}'::jsonb WHEN 1 THEN"
	"   '{\"a\": 1, \"b\": [true, null, 2.5e10, -0.125], \"\\u00fc\": \"\\u2713 \\\\\\\" \\n\", \"c\": {}}'::jsonb"
	"   WHEN 2 THEN 'null'::jsonb ELSE jsonb_build_object('n', i, 's', repeat('\\u00e9', i)) END,"
	"  timestamptz '2026-01-01 00:00:00+00' + i * interval '1 hour 0.000123 s',"
	"  CASE WHEN i % 3 = 0 THEN NULL ELSE timestamptz '2025-12-31 00:00:00+00' + i * interval '1 minute' END,"
	"  CASE WHEN i % 3 = 0 THEN NULL ELSE timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute 0.5 s' END,"
	"  CASE WHEN i % 5 = 0 THEN NULL ELSE timestamptz '2026-01-02 00:00:00+00' + i * interval '0.1 s' END,"
	"  CASE WHEN i % 4 = 0 THEN NULL ELSE timestamptz '2026-01-02 00:00:00+00' + i * interval '7.000001 s' END,"
	"  CASE i % 6 WHEN 0 THEN NULL WHEN 1 THEN E'quote \" backslash \\\\ slash / tab \\t nl \\n cr \\r'"
	"   WHEN 2 THEN E'ctl \\x01 \\x1f \\x7f bs \\b ff \\f' WHEN 3 THEN E'Z\\u00fcrich \\u6771\\u4eac \\U0001F600 \\u2028'"
	"   ELSE '' END,"
	"  timestamptz '2026-02-01 00:00:00+00' - i * interval '1 second'"
	" FROM generate_series(1, 48) i;"
	"INSERT INTO dag_runs (order_id, dag_id, run_id, run_type, state, conf, logical_date,"
	" data_interval_start, data_interval_end, started_at, ended_at, note) VALUES"
	" (gen_random_uuid(), 'quick', 'bc', 'manual', 'SUCCESS', '{}', '0044-03-15 12:00:00.5 BC',"
	"  '4713-11-24 00:00:00 BC', '0001-01-01 00:00:00+00', '0001-12-31 23:59:59.999999 BC', NULL, NULL),"
	" (gen_random_uuid(), 'quick', 'far', 'backfill', 'FAILED', '{}', '12345-06-07 08:09:10.11+00',"
	"  '9999-12-31 23:59:59.999999+00', '10000-01-01 00:00:00+00', 'infinity', '-infinity', 'x'),"
	" (gen_random_uuid(), 'quick', 'old', 'scheduled', 'RUNNING', '{\"k\": [1, 2, 3]}',"
	"  '1969-07-20 20:17:40+00', '1999-12-31 23:59:59.123+00', '2000-01-01 00:00:00+00',"
	"  '1970-01-01 00:00:00+00', '1970-01-01 00:00:00.000001+00', NULL),"
	" (gen_random_uuid(), 'quick', E'\\u00fcn\\u00ef-\\u2713 \"q\"', 'api', 'QUEUED', '{}',"
	"  '2026-07-01 00:00:00+00', NULL, NULL, NULL, NULL, NULL),"
	" (gen_random_uuid(), 'plain', 'p1', 'manual', 'SUCCESS',"
	"  jsonb_build_object('big', (SELECT jsonb_agg(jsonb_build_object('i', g, 's', repeat('\\u00fc\\\\\"x', 30)))"
	"   FROM generate_series(1, 1500) g)), '2026-08-01 00:00:00+00', NULL, NULL,"
	"  '2026-08-01 00:00:01+00', '2026-08-01 00:01:00+00', 'big conf'),"
	" (gen_random_uuid(), 'plain', 'p2', 'service', 'ABORTED', '[1, \"two\", {\"3\": null}]',"
	"  '2026-08-02 00:00:00+00', NULL, NULL, NULL, NULL, NULL);"
	"INSERT INTO task_instances (run_pk, task_id, dag_id, state, try_number, retries, max_tries,"
	" pool, pool_slots, queue, priority, executor, hostname, pid, exit_code, queued_at, started_at,"
	" ended_at)"
	" SELECT r.id, t.task_id, r.dag_id,"
	"  (ARRAY['none', 'scheduled', 'queued', 'running', 'success', 'failed', 'up_for_retry',"
	"   'up_for_reschedule', 'upstream_failed', 'skipped', 'removed'])[1 + (r.id::int * 3 + t.n) % 11],"
	"  t.n % 3, 2, t.n % 4, CASE WHEN t.n = 2 THEN 'p\\u00f6\\u00f6l' ELSE 'default_pool' END, 1 + t.n,"
	"  'default', (r.id * 1000 + t.n) * CASE WHEN t.n = 3 THEN -1 ELSE 1 END, 'local',"
	"  CASE WHEN t.n = 1 THEN NULL ELSE 'host-' || t.n END, CASE WHEN t.n = 1 THEN NULL ELSE 1000 + t.n END,"
	"  CASE WHEN t.n = 2 THEN NULL ELSE t.n - 2 END,"
	"  CASE WHEN t.n = 1 THEN NULL ELSE timestamptz '2026-01-03 00:00:00.25+00' END,"
	"  CASE WHEN t.n = 1 THEN NULL ELSE timestamptz '2026-01-03 00:00:01+00' + r.id * interval '0.001 s' END,"
	"  CASE WHEN t.n <= 2 THEN NULL ELSE timestamptz '2026-01-03 00:00:06.5+00' + t.n * interval '1 s' END"
	" FROM dag_runs r, (VALUES ('hello', 1), ('bye', 2), ('gone', 3), ('x', 4)) t (task_id, n)"
	" WHERE r.run_id IN ('r001', 'r002', 'r003', 'r010', 'old', 'p1', 'p2');";

static void test_airflow__listings_equal_the_former_json_statements(void)
{
	static const char *const run_keys[][2] = {
		{"id", "r.id"}, {"dag_run_id", "r.run_id"}, {"run_id", "r.run_id"},
		{"logical_date", "r.logical_date"}, {"execution_date", "r.logical_date"},
		{"start_date", "r.started_at"}, {"end_date", "r.ended_at"}, {"state", "r.state"},
		{"dag_id", "r.dag_id"}, {"updated_at", "r.updated_at"},
		{"data_interval_start", "r.data_interval_start"}, {"data_interval_end", "r.data_interval_end"},
		{"run_type", "r.run_type"},
	};
	static const char *const dag_keys[][2] = {
		{"dag_id", "f.dag_id"}, {"is_paused", "f.is_paused"}, {"last_parsed_time", "f.last_parsed_at"},
		{"next_dagrun", "f.next_logical_date"}, {"fileloc", "f.file_path"},
	};
	const char *all_states = "r.state IN ('RECEIVED', 'QUEUED', 'RUNNING', 'SUCCESS', 'FAILED', 'INVALID', 'ABORTED')";
	char path[512], where[512], order[256], *ids, *save = NULL, *id;
	struct api_env e;
	char *tok;

	api_env_init(&e, NULL);
	tok = token_for(&e, "admin");
	api_env_dag(&e, "quick.yaml", quick_yaml);
	api_env_sync(&e, "quick.yaml");
	free(api_env_sql(&e, listings_data_sql));

	/* Runs: every sort order both ways, unfiltered (api.runs.page:*)
	 * and filtered (api.runs.list:*), one DAG and every DAG. */
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(run_keys); i++) {
		for (int desc = 0; desc < 2; desc++) {
			snprintf(order, sizeof(order), desc ? "%s DESC, r.id DESC" : "%s, r.id", run_keys[i][1]);
			snprintf(path, sizeof(path), "/api/v1/dags/quick/dagRuns?order_by=%s%s&limit=17&offset=3",
				 desc ? "-" : "", run_keys[i][0]);
			answer_is(tok, path, NULL, old_runs(&e, "r.dag_id = 'quick'", order, 17, 3));
			snprintf(path, sizeof(path), "/api/v1/dags/~/dagRuns?order_by=%s%s&limit=100",
				 desc ? "-" : "", run_keys[i][0]);
			answer_is(tok, path, NULL, old_runs(&e, "true", order, 100, 0));
			snprintf(path, sizeof(path),
				 "/api/v1/dags/quick/dagRuns?order_by=%s%s&limit=9&offset=1"
				 "&state=queued&state=running&state=success&state=failed",
				 desc ? "-" : "", run_keys[i][0]);
			snprintf(where, sizeof(where), "r.dag_id = 'quick' AND %s", all_states);
			answer_is(tok, path, NULL, old_runs(&e, where, order, 9, 1));
		}
	}
	answer_is(tok, "/api/v1/dags/quick/dagRuns", NULL, old_runs(&e, "r.dag_id = 'quick'", "r.id", 100, 0));
	answer_is(tok, "/api/v1/dags/~/dagRuns?limit=10000", NULL, old_runs(&e, "true", "r.id", 10000, 0));
	/* Past the end: no runs, still the total. */
	answer_is(tok, "/api/v1/dags/quick/dagRuns?offset=1000", NULL,
		  old_runs(&e, "r.dag_id = 'quick'", "r.id", 100, 1000));
	answer_is(tok, "/api/v1/dags/quick/dagRuns?offset=1000&state=failed", NULL,
		  old_runs(&e, "r.dag_id = 'quick' AND r.state IN ('FAILED', 'INVALID', 'ABORTED')", "r.id", 100, 1000));
	answer_is(tok, "/api/v1/dags/nope/dagRuns", NULL, old_runs(&e, "r.dag_id = 'nope'", "r.id", 100, 0));
	answer_is(tok, "/api/v1/dags/~/dagRuns?execution_date_gte=1970-01-01T00:00:00Z&end_date_lte=2026-01-02T00:03:00Z"
		       "&order_by=-end_date",
		  NULL,
		  old_runs(&e, "r.logical_date >= '1970-01-01 00:00:00+00' AND r.ended_at <= '2026-01-02 00:03:00+00'",
			   "r.ended_at DESC, r.id DESC", 100, 0));
	answer_is(tok, "/api/v1/dags/~/dagRuns/list",
		  "{\"dag_ids\": [\"plain\", \"quick\"], \"states\": [\"failed\", \"RUNNING\"], \"page_limit\": 20,"
		  " \"order_by\": \"-logical_date\"}",
		  old_runs(&e, "r.dag_id IN ('plain', 'quick') AND r.state IN ('FAILED', 'INVALID', 'ABORTED', 'RUNNING')",
			   "r.logical_date DESC, r.id DESC", 20, 0));

	/* One run (api.run.get) for every run with a plain id. */
	ids = ids_of(&e, "SELECT string_agg(dag_id || '/' || run_id, ' ' ORDER BY id) FROM dag_runs"
			 " WHERE run_id ~ '^[a-z0-9]+$'");
	for (id = strtok_r(ids, " ", &save); id; id = strtok_r(NULL, " ", &save)) {
		char *slash = strchr(id, '/');
		*slash = '\0';
		snprintf(path, sizeof(path), "/api/v1/dags/%s/dagRuns/%s", id, slash + 1);
		answer_is(tok, path, NULL,
			  db_json(&e, "SELECT " OLD_DAGRUN_JSON " FROM dag_runs r WHERE r.dag_id = '%s' AND r.run_id = '%s'",
				  id, slash + 1));
	}
	free(ids);

	/* Task instances: a run's, everyone's page by page, filtered, one. */
	answer_is(tok, "/api/v1/dags/quick/dagRuns/r001/taskInstances", NULL,
		  old_tis(&e, "r.dag_id = 'quick' AND r.run_id = 'r001'", 100, 0));
	for (int off = 0; off < 30; off += 7)
		for (int lim = 1; lim <= 13; lim += 6) {
			snprintf(path, sizeof(path), "/api/v1/dags/~/dagRuns/~/taskInstances?limit=%d&offset=%d", lim, off);
			answer_is(tok, path, NULL, old_tis(&e, "true", lim, off));
		}
	answer_is(tok, "/api/v1/dags/~/dagRuns/~/taskInstances?state=success&state=null&state=failed&duration_gte=1",
		  NULL,
		  old_tis(&e, "t.state IN ('success', 'none', 'failed') AND extract(epoch FROM t.ended_at - t.started_at) >= 1",
			  100, 0));
	answer_is(tok, "/api/v1/dags/plain/dagRuns/p1/taskInstances?offset=50", NULL,
		  old_tis(&e, "r.dag_id = 'plain' AND r.run_id = 'p1'", 100, 50));
	ids = ids_of(&e, "SELECT string_agg(r.dag_id || '/' || r.run_id || '/' || t.task_id, ' ' ORDER BY r.id, t.task_id)"
			 " FROM task_instances t JOIN dag_runs r ON r.id = t.run_pk");
	save = NULL;
	for (id = strtok_r(ids, " ", &save); id; id = strtok_r(NULL, " ", &save)) {
		char *run = strchr(id, '/'), *task;
		*run++ = '\0';
		task = strchr(run, '/');
		*task++ = '\0';
		snprintf(path, sizeof(path), "/api/v1/dags/%s/dagRuns/%s/taskInstances/%s", id, run, task);
		answer_is(tok, path, NULL,
			  db_json(&e, "SELECT " OLD_TI_JSON " FROM task_instances t JOIN dag_runs r ON r.id = t.run_pk"
				  " LEFT JOIN dags d ON d.dag_id = t.dag_id"
				  " WHERE r.dag_id = '%s' AND r.run_id = '%s' AND t.task_id = '%s'",
				  id, run, task));
	}
	free(ids);

	/* DAGs: every order both ways, filters, past the end, one. */
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(dag_keys); i++)
		for (int desc = 0; desc < 2; desc++) {
			snprintf(order, sizeof(order), "%s%s", dag_keys[i][1], desc ? " DESC" : "");
			snprintf(path, sizeof(path), "/api/v1/dags?only_active=false&order_by=%s%s", desc ? "-" : "",
				 dag_keys[i][0]);
			answer_is(tok, path, NULL, old_dags(&e, "true", order, 100, 0));
		}
	answer_is(tok, "/api/v1/dags", NULL, old_dags(&e, "d.is_active", "f.dag_id", 100, 0));
	answer_is(tok, "/api/v1/dags?limit=1&offset=1", NULL, old_dags(&e, "d.is_active", "f.dag_id", 1, 1));
	answer_is(tok, "/api/v1/dags?offset=10", NULL, old_dags(&e, "d.is_active", "f.dag_id", 100, 10));
	answer_is(tok, "/api/v1/dags?tags=a&tags=quick&only_active=false", NULL,
		  old_dags(&e, "d.tags && ARRAY['a', 'quick']", "f.dag_id", 100, 0));
	answer_is(tok, "/api/v1/dags?paused=true&dag_id_pattern=AN", NULL,
		  old_dags(&e, "d.is_active AND d.is_paused AND d.dag_id ILIKE '%AN%'", "f.dag_id", 100, 0));
	ids = ids_of(&e, "SELECT string_agg(dag_id, ' ') FROM dags");
	save = NULL;
	for (id = strtok_r(ids, " ", &save); id; id = strtok_r(NULL, " ", &save)) {
		snprintf(path, sizeof(path), "/api/v1/dags/%s", id);
		answer_is(tok, path, NULL, db_json(&e, "SELECT " OLD_DAG_JSON " FROM dags d WHERE d.dag_id = '%s'", id));
	}
	free(ids);
	free(tok);
	api_env_release(&e);
}

static void test_airflow__task_instance_patch(void)
{
	struct api_env e;
	struct http_res *r;
	char *tok, *v;

	api_env_init(&e, NULL);
	tok = token_for(&e, "admin");
	api_env_dag(&e, "quick.yaml", quick_yaml);
	api_env_sync(&e, "quick.yaml");
	r = http_json("POST", "/api/v1/dags/quick/dagRuns", tok, "{\"dag_run_id\": \"t1\"}");
	expect(r, 200);
	http_free(r);
	/* Task instances exist once the run is queued; create them as the
	 * scheduler would. */
	free(api_env_sql(&e, "UPDATE dag_runs SET state = 'QUEUED' WHERE run_id = 't1'"));
	free(api_env_sql(&e, "INSERT INTO task_instances (run_pk, task_id, dag_id, max_tries, pool)"
			     " SELECT id, t, 'quick', 1, 'default_pool' FROM dag_runs, unnest('{hello,bye}'::text[]) t"
			     " WHERE run_id = 't1'"));
	r = http_json("PATCH", "/api/v1/dags/quick/dagRuns/t1/taskInstances/hello", tok, "{\"new_state\": \"skipped\"}");
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "dag_run_id"), "t1");
	http_free(r);
	v = api_env_sql(&e, "SELECT state FROM task_instances WHERE task_id = 'hello'");
	CHECK_STR_EQ(v, "none"); /* dry_run defaults to true */
	free(v);
	r = http_json("PATCH", "/api/v1/dags/quick/dagRuns/t1/taskInstances/hello", tok,
		      "{\"new_state\": \"skipped\", \"dry_run\": false}");
	expect(r, 200);
	http_free(r);
	v = api_env_sql(&e, "SELECT state FROM task_instances WHERE task_id = 'hello'");
	CHECK_STR_EQ(v, "skipped");
	free(v);
	v = api_env_sql(&e, "SELECT actor LIKE 'api:%' FROM state_events WHERE task_id = 'hello'");
	CHECK_STR_EQ(v, "t");
	free(v);
	r = http_json("PATCH", "/api/v1/dags/quick/dagRuns/t1/taskInstances/hello", tok,
		      "{\"new_state\": \"running\", \"dry_run\": false}");
	expect(r, 400);
	check_error_shape(r->json, 400, "new_state");
	http_free(r);
	r = http_json("PATCH", "/api/v1/dags/quick/dagRuns/t1/taskInstances/nope", tok, "{\"new_state\": \"failed\"}");
	expect(r, 404);
	http_free(r);
	/* success marks unfinished tasks (the run is QUEUED) */
	r = http_json("PATCH", "/api/v1/dags/quick/dagRuns/t1", tok, "{\"state\": \"success\"}");
	expect(r, 200);
	http_free(r);
	v = api_env_sql(&e, "SELECT string_agg(task_id || '=' || state, ',' ORDER BY task_id) FROM task_instances");
	CHECK_STR_EQ(v, "bye=success,hello=skipped");
	free(v);
	free(tok);
	api_env_release(&e);
}

static void test_airflow__pools_crud(void)
{
	struct api_env e;
	struct http_res *r;
	char *tok;

	api_env_init(&e, NULL);
	tok = token_for(&e, "pools:read pools:write");
	r = http_json("POST", "/api/v1/pools", tok, "{\"name\": \"gpu\", \"slots\": 2, \"description\": \"GPUs\"}");
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "open_slots")), 2);
	http_free(r);
	r = http_json("POST", "/api/v1/pools", tok, "{\"name\": \"gpu\", \"slots\": 3}");
	expect(r, 409);
	check_error_shape(r->json, 409, "name");
	http_free(r);
	r = http_json("POST", "/api/v1/pools", tok, "{\"name\": \"x\", \"slots\": -5}");
	expect(r, 422);
	http_free(r);
	r = http_json("POST", "/api/v1/pools", tok, "{\"name\": \"x\", \"slots\": 1, \"open_slots\": 4}");
	expect(r, 400);
	check_error_shape(r->json, 400, "open_slots");
	http_free(r);
	r = http_json("PATCH", "/api/v1/pools/gpu?update_mask=slots", tok, "{\"slots\": 4, \"description\": \"ignored\"}");
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "slots")), 4);
	CHECK_STR_EQ(jstr(r->json, "description"), "GPUs");
	http_free(r);
	r = http_json("PATCH", "/api/v1/pools/gpu", tok, "{\"name\": \"cpu\", \"slots\": 1}");
	expect(r, 400);
	http_free(r);
	r = http_get("/api/v1/pools?order_by=-slots", tok);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 2);
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(r->json, "pools"), 0), "name"), "default_pool");
	http_free(r);
	r = http("DELETE", "/api/v1/pools/default_pool", tok, NULL, NULL, 0, NULL);
	expect(r, 400);
	http_free(r);
	r = http("DELETE", "/api/v1/pools/gpu", tok, NULL, NULL, 0, NULL);
	expect(r, 204);
	http_free(r);
	r = http_get("/api/v1/pools/gpu", tok);
	expect(r, 404);
	http_free(r);
	free(tok);
	api_env_release(&e);
}

/* ------------------------------------------------------------------ */
/* services and orders                                                  */
/* ------------------------------------------------------------------ */

static char *order(const char *service, const char *tok, const char *body, long status)
{
	char path[256];
	struct http_res *r;
	char *id = NULL;

	snprintf(path, sizeof(path), "/api/v1/services/%s/orders", service);
	r = http_json("POST", path, tok, body);
	expect(r, status);
	if (status == 202) {
		char self[128];
		id = strdup(jstr(r->json, "order_id"));
		CHECK_STR_EQ(jstr(r->json, "status"), "RECEIVED");
		snprintf(self, sizeof(self), "/api/v1/orders/%s", id);
		CHECK_STR_EQ(jstr(json_object_get(r->json, "links"), "self"), self);
		CHECK_STR_EQ(http_header(r, "Location"), self);
	}
	http_free(r);
	return id;
}

static void test_orders__validation_and_geometry_normalisation(void)
{
	struct api_env e;
	struct http_res *r;
	char *tok, *id, path[128], *v;

	api_env_init(&e, NULL);
	tok = token_for(&e, "orders:read orders:write");
	api_env_dag(&e, "svc.yaml", svc_yaml);
	api_env_dag(&e, "geo.yaml", geo_yaml);
	api_env_dag(&e, "quick.yaml", quick_yaml);
	api_env_sync(&e, "svc.yaml");
	api_env_sync(&e, "geo.yaml");
	api_env_sync(&e, "quick.yaml");

	r = http_get("/api/v1/services", tok);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 2);
	http_free(r);
	/* not a service, no such DAG */
	free(order("quick", tok, "{}", 404));
	free(order("nope", tok, "{}", 404));
	/* 400: types, unknown params */
	free(order("svc", tok, "{\"aoi\": 5}", 400));
	free(order("svc", tok, "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\", \"extra\": 1}", 400));
	free(order("svc", tok, "[]", 400));
	/* 422: values */
	free(order("svc", tok, "{}", 422));
	free(order("svc", tok, "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\", \"mode\": \"ugly\"}", 422));
	free(order("svc", tok, "{\"aoi\": \"POINT(1 2)\"}", 422));
	free(order("svc", tok, "{\"aoi\": \"POLYGON((0 0, 1 0\"}", 422));
	free(order("svc", tok, "{\"aoi\": \"POLYGON((0 0,500 0,500 1,0 1,0 0))\"}", 422));
	r = http_json("POST", "/api/v1/services/svc/orders", tok, "{\"aoi\": \"POLYGON((0 0,10 0,10 10,0 10,0 0))\"}");
	expect(r, 422);
	check_error_shape(r->json, 422, "aoi");
	CHECK_STR_CONTAINS(jstr(r->json, "detail"), "km²");
	http_free(r);
	v = api_env_sql(&e, "SELECT count(*) FROM dag_runs");
	CHECK_STR_EQ(v, "0");
	free(v);

	/* A self-intersecting bow tie becomes a valid MultiPolygon. */
	id = order("svc", tok, "{\"aoi\": \"POLYGON((0 0,1 1,1 0,0 1,0 0))\"}", 202);
	snprintf(path, sizeof(path), "/api/v1/orders/%s", id);
	r = http_get(path, tok);
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "service"), "svc");
	CHECK_STR_EQ(jstr(r->json, "status"), "RECEIVED");
	CHECK_STR_CONTAINS(jstr(json_object_get(r->json, "params"), "aoi"), "MULTIPOLYGON");
	CHECK_STR_EQ(jstr(json_object_get(r->json, "aoi"), "type"), "MultiPolygon");
	CHECK_STR_EQ(jstr(json_object_get(r->json, "params"), "mode"), "good");
	http_free(r);
	v = api_env_sql(&e, "SELECT ST_SRID(aoi) = 4326 AND ST_IsValid(aoi) AND GeometryType(aoi) = 'MULTIPOLYGON'"
			    " AND run_type = 'service' FROM dag_runs");
	CHECK_STR_EQ(v, "t");
	free(v);
	free(id);
	/* GeoJSON: a Feature is accepted and normalised. */
	id = order("geo", tok,
		   "{\"area\": {\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Polygon\","
		   " \"coordinates\": [[[8,47],[8.1,47],[8.1,47.1],[8,47]]]}}}",
		   202);
	snprintf(path, sizeof(path), "/api/v1/orders/%s", id);
	r = http_get(path, tok);
	CHECK_STR_EQ(jstr(json_object_get(json_object_get(r->json, "params"), "area"), "type"), "MultiPolygon");
	http_free(r);
	free(id);
	free(order("geo", tok, "{\"area\": {\"type\": \"Polygon\", \"coordinates\": \"nope\"}}", 422));
	/* bad order ids */
	r = http_get("/api/v1/orders/not-a-uuid", tok);
	expect(r, 404);
	http_free(r);
	r = http_get("/api/v1/orders/01a206b0-02aa-70fa-a288-03907174be54", tok);
	expect(r, 404);
	http_free(r);
	r = http_get("/api/v1/orders?status=LOST", tok);
	expect(r, 400);
	check_error_shape(r->json, 400, "status");
	http_free(r);
	free(tok);
	api_env_release(&e);
}

static void test_orders__clients_see_only_their_own(void)
{
	struct api_env e;
	struct http_res *r;
	char *a, *b, *admin, *id, path[160];

	api_env_init(&e, NULL);
	a = token_for(&e, "orders:read orders:write");
	b = token_for(&e, "orders:read orders:write");
	admin = token_for(&e, "admin");
	api_env_dag(&e, "svc.yaml", svc_yaml);
	api_env_sync(&e, "svc.yaml");
	id = order("svc", a, "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\"}", 202);
	free(order("svc", b, "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\"}", 202));
	snprintf(path, sizeof(path), "/api/v1/orders/%s", id);
	r = http_get(path, a);
	expect(r, 200);
	http_free(r);
	r = http_get(path, b);
	expect(r, 404);
	http_free(r);
	r = http_get(path, admin);
	expect(r, 200);
	http_free(r);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/abort", id);
	r = http("PUT", path, b, NULL, NULL, 0, NULL);
	expect(r, 404);
	http_free(r);
	r = http_get("/api/v1/orders", a);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	http_free(r);
	r = http_get("/api/v1/orders", admin);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 2);
	http_free(r);
	r = http_get("/api/v1/orders?client=someone-else", a);
	expect(r, 403);
	http_free(r);
	r = http_get("/api/v1/orders?service=svc&status=RECEIVED&received_gte=2000-01-01&limit=1", admin);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 2);
	CHECK_INT_EQ(json_array_size(json_object_get(r->json, "orders")), 1);
	http_free(r);
	/* aborting: 200 then 409 */
	r = http("PUT", path, a, NULL, NULL, 0, NULL);
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "status"), "ABORTED");
	http_free(r);
	r = http("PUT", path, a, NULL, NULL, 0, NULL);
	expect(r, 409);
	check_error_shape(r->json, 409, NULL);
	http_free(r);
	free(id);
	free(a);
	free(b);
	free(admin);
	api_env_release(&e);
}

static void test_orders__abort_of_a_running_order_kills_its_tasks(void)
{
	struct api_env e;
	struct http_res *r;
	char *tok, *id, path[160], *pid_s;
	pid_t pid;

	api_env_init(&e, NULL);
	tok = token_for(&e, "orders:read orders:write");
	api_env_dag(&e, "sleepy.yaml", sleepy_yaml);
	api_env_scheduler(&e);
	api_env_wait_sql(&e, 30, "SELECT count(*) = 1 FROM dags WHERE dag_id = 'sleepy'");
	id = order("sleepy", tok, "{}", 202);
	snprintf(path, sizeof(path), "/api/v1/orders/%s", id);
	CHECK_STR_EQ(api_wait_field(path, tok, "status", "RUNNING", 60), "RUNNING");
	api_env_wait_sql(&e, 30, "SELECT state = 'running' AND pid IS NOT NULL FROM task_instances WHERE task_id = 'nap'");
	pid_s = api_env_sql(&e, "SELECT pid FROM task_instances WHERE task_id = 'nap'");
	pid = (pid_t)atoi(pid_s);
	free(pid_s);
	CHECK(pid > 0 && kill(pid, 0) == 0);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/abort", id);
	r = http("PUT", path, tok, NULL, NULL, 0, NULL);
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "status"), "ABORTED");
	http_free(r);
	/* The scheduler stops the task: its process goes away and the task
	 * instance leaves "running". */
	api_env_wait_sql(&e, 60, "SELECT state <> 'running' FROM task_instances WHERE task_id = 'nap'");
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		usleep(50000);
	CHECK(kill(pid, 0) < 0 && errno == ESRCH);
	snprintf(path, sizeof(path), "/api/v1/orders/%s", id);
	r = http_get(path, tok);
	CHECK_STR_EQ(jstr(r->json, "status"), "ABORTED");
	http_free(r);
	free(id);
	free(tok);
	api_env_release(&e);
}

static void test_orders__success_and_invalid_paths_show_as_status(void)
{
	struct api_env e;
	char *tok, *good, *bad, path[160];

	api_env_init(&e, NULL);
	tok = token_for(&e, "orders:read orders:write");
	api_env_dag(&e, "svc.yaml", svc_yaml);
	api_env_scheduler(&e);
	api_env_wait_sql(&e, 30, "SELECT count(*) = 1 FROM dags WHERE dag_id = 'svc'");
	good = order("svc", tok, "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\"}", 202);
	bad = order("svc", tok, "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\", \"mode\": \"bad\"}", 202);
	snprintf(path, sizeof(path), "/api/v1/orders/%s", good);
	CHECK_STR_EQ(api_wait_field(path, tok, "status", "SUCCESS|FAILED|INVALID|ABORTED", 60), "SUCCESS");
	snprintf(path, sizeof(path), "/api/v1/orders/%s", bad);
	CHECK_STR_EQ(api_wait_field(path, tok, "status", "SUCCESS|FAILED|INVALID|ABORTED", 60), "INVALID");
	{
		struct http_res *r = http_get(path, tok);
		CHECK(jstr(r->json, "ended_at") != NULL);
		CHECK(jstr(r->json, "started_at") != NULL);
		http_free(r);
		/* Airflow's view of the same run: failed, with weir's exact state. */
		snprintf(path, sizeof(path), "/api/v1/dags/svc/dagRuns/%s", bad);
		r = http_get(path, tok);
		expect(r, 403); /* orders scopes do not read runs */
		http_free(r);
	}
	{
		char *admin = token_for(&e, "runs:read");
		struct http_res *r = http_get(path, admin);
		expect(r, 200);
		CHECK_STR_EQ(jstr(r->json, "state"), "failed");
		CHECK_STR_EQ(jstr(r->json, "order_status"), "INVALID");
		http_free(r);
		free(admin);
	}
	free(good);
	free(bad);
	free(tok);
	api_env_release(&e);
}

/* ------------------------------------------------------------------ */
/* weir's grid and state events                                         */
/* ------------------------------------------------------------------ */

/* Tasks whose topological order is not their id order: z and m are
 * roots, a needs z, b needs a and m. */
static const char grid_yaml[] =
	"version: 1\n"
	"dag: grid\n"
	"tasks:\n"
	"  - id: z\n"
	"    operator: command\n"
	"    shell: 'true'\n"
	"  - id: a\n"
	"    operator: command\n"
	"    depends_on: [z]\n"
	"    shell: 'true'\n"
	"  - id: m\n"
	"    operator: python\n"
	"    code: pass\n"
	"  - id: b\n"
	"    operator: command\n"
	"    depends_on: [a, m]\n"
	"    shell: 'true'\n";

/* s percent-encoded as one path segment, into out. */
static const char *seg(const char *s, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 < n; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* ms since 1970 of an ISO instant, rounded (the grid's start_ms/end_ms). */
static json_t *iso_ms(const char *iso)
{
	struct weir_arena a;
	int64_t us = 0;
	json_t *v;

	if (!iso)
		return json_null();
	weir_arena_init(&a, 0);
	CHECK(api_time_norm(&a, iso, &us) != NULL);
	v = json_integer(us >= 0 ? (us + 500) / 1000 : -((-us + 499) / 1000));
	weir_arena_release(&a);
	return v;
}

/*
 * One page of the grid == the same runs from GET .../dagRuns?order_by=-id
 * and, per run and task, the fields of GET .../taskInstances (the
 * Airflow-shaped listings are the oracle).
 */
static void grid_is_consistent(const char *tok, const char *dag, int limit, int offset, int want_runs)
{
	char path[512];
	struct http_res *g, *runs;
	json_t *ids, *gr, *run;
	size_t i, j;

	snprintf(path, sizeof(path), "/api/v1/dags/%s/grid?limit=%d&offset=%d", dag, limit, offset);
	g = http_get(path, tok);
	expect(g, 200);
	CHECK_STR_EQ(jstr(g->json, "dag_id"), dag);
	snprintf(path, sizeof(path), "/api/v1/dags/%s/dagRuns?order_by=-id&limit=%d&offset=%d", dag, limit, offset);
	runs = http_get(path, tok);
	expect(runs, 200);
	same_json(json_object_get(g->json, "dag_runs"), json_object_get(runs->json, "dag_runs"), "grid dag_runs");
	CHECK_INT_EQ(json_integer_value(json_object_get(g->json, "total_entries")),
		     json_integer_value(json_object_get(runs->json, "total_entries")));
	gr = json_object_get(g->json, "dag_runs");
	CHECK_INT_EQ(json_array_size(gr), want_runs);
	ids = json_object_get(g->json, "task_ids");
	for (const char *const *k = (const char *const[]){"states", "try_numbers", "max_tries", "start_ms", "end_ms", NULL};
	     *k; k++) {
		json_t *arr = json_object_get(g->json, *k);
		CHECK(json_is_array(arr));
		CHECK_INT_EQ(json_array_size(arr), json_array_size(gr));
		json_array_foreach(arr, i, run)
			CHECK_INT_EQ(json_array_size(run), json_array_size(ids));
	}
	json_array_foreach(gr, i, run) {
		struct http_res *tis;
		json_t *by_task = json_object(), *ti, *tid;

		char esc[256];

		snprintf(path, sizeof(path), "/api/v1/dags/%s/dagRuns/%s/taskInstances?limit=10000", dag,
			 seg(jstr(run, "dag_run_id"), esc, sizeof(esc)));
		tis = http_get(path, tok);
		expect(tis, 200);
		json_array_foreach(json_object_get(tis->json, "task_instances"), j, ti)
			json_object_set(by_task, jstr(ti, "task_id"), ti);
		json_array_foreach(ids, j, tid) {
			json_t *want = json_object_get(by_task, json_string_value(tid));
			json_t *w[5], *got;
			const char *const keys[5] = {"states", "try_numbers", "max_tries", "start_ms", "end_ms"};

			w[0] = want ? json_incref(json_object_get(want, "state")) : json_null();
			w[1] = want ? json_incref(json_object_get(want, "try_number")) : json_null();
			w[2] = want ? json_incref(json_object_get(want, "max_tries")) : json_null();
			w[3] = want ? iso_ms(jstr(want, "start_date")) : json_null();
			w[4] = want ? iso_ms(jstr(want, "end_date")) : json_null();
			for (int k = 0; k < 5; k++) {
				char what[256];
				got = json_array_get(json_array_get(json_object_get(g->json, keys[k]), i), j);
				snprintf(what, sizeof(what), "grid %s of run %s task %s", keys[k], jstr(run, "dag_run_id"),
					 json_string_value(tid));
				same_json(got, w[k], what);
				json_decref(w[k]);
			}
		}
		json_decref(by_task);
		http_free(tis);
	}
	http_free(runs);
	http_free(g);
}

static void test_grid__runs_and_cells_equal_the_airflow_listings(void)
{
	struct api_env e;
	struct http_res *r;
	char *tok, *dags_only, *runs_only, *both;

	api_env_init(&e, NULL);
	tok = token_for(&e, "admin");
	api_env_dag(&e, "quick.yaml", quick_yaml);
	api_env_sync(&e, "quick.yaml");
	api_env_dag(&e, "grid.yaml", grid_yaml);
	api_env_sync(&e, "grid.yaml");

	/* No runs yet: the tasks, empty arrays. */
	answer_is(tok, "/api/v1/dags/grid/grid", NULL,
		  json_pack("{s:s, s:[s,s,s,s], s:[], s:[], s:[], s:[], s:[], s:[], s:i}", "dag_id", "grid",
			    "task_ids", "m", "z", "a", "b", "dag_runs", "states", "try_numbers", "max_tries",
			    "start_ms", "end_ms", "total_entries", 0));

	/* The varied listings data (quick: tasks hello, bye; instances of
	 * tasks no longer in the DAG, gone and x, are left out), plus runs
	 * of grid with missing and extra instances. */
	free(api_env_sql(&e, listings_data_sql));
	free(api_env_sql(&e,
			 "INSERT INTO dag_runs (order_id, dag_id, run_id, run_type, state, logical_date)"
			 " SELECT gen_random_uuid(), 'grid', 'g' || i, 'manual', 'RUNNING', now() FROM generate_series(1, 5) i;"
			 "INSERT INTO task_instances (run_pk, task_id, dag_id, state, try_number, max_tries, pool,"
			 " started_at, ended_at)"
			 " SELECT r.id, t, 'grid', (ARRAY['success', 'failed', 'running', 'none'])[1 + (r.id::int + length(t)) % 4],"
			 "  r.id % 3, 3, 'default_pool',"
			 "  CASE WHEN t <> 'a' THEN date_trunc('second', now()) - interval '1.234 s' END,"
			 "  CASE WHEN t = 'b' THEN date_trunc('second', now()) END"
			 " FROM dag_runs r, unnest(ARRAY['z', 'a', 'b', 'old']) t WHERE r.dag_id = 'grid' AND r.run_id <> 'g3'"));
	grid_is_consistent(tok, "quick", 1000, 0, 52);
	grid_is_consistent(tok, "quick", 7, 3, 7);
	grid_is_consistent(tok, "quick", 25, 50, 2);
	grid_is_consistent(tok, "quick", 10, 1000, 0);
	grid_is_consistent(tok, "grid", 25, 0, 5);
	r = http_get("/api/v1/dags/grid/grid", tok);
	CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(r->json, "task_ids"), 0)), "m");
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(r->json, "dag_runs"), 0), "dag_run_id"), "g5");
	/* g3 has no instances: null everywhere (m has none in any run). */
	CHECK(json_is_null(json_array_get(json_array_get(json_object_get(r->json, "states"), 2), 1)));
	CHECK(json_is_null(json_array_get(json_array_get(json_object_get(r->json, "states"), 0), 0)));
	http_free(r);
	/* Default page: 25 runs. */
	r = http_get("/api/v1/dags/quick/grid", tok);
	CHECK_INT_EQ(json_array_size(json_object_get(r->json, "dag_runs")), 25);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 52);
	http_free(r);

	/* Bad input: 400 naming the field; unknown DAG: 404. */
	{
		static const char *const bad[][2] = {
			{"/api/v1/dags/quick/grid?limit=0", "limit"},
			{"/api/v1/dags/quick/grid?limit=1001", "limit"},
			{"/api/v1/dags/quick/grid?limit=ten", "limit"},
			{"/api/v1/dags/quick/grid?offset=-1", "offset"},
			{"/api/v1/dags/quick/grid?offset=99999999999999999999", "offset"},
			{"/api/v1/dags/quick/grid?order_by=id", "order_by"},
		};
		for (size_t i = 0; i < WEIR_ARRAY_SIZE(bad); i++) {
			r = http_get(bad[i][0], tok);
			expect(r, 400);
			check_error_shape(r->json, 400, bad[i][1]);
			http_free(r);
		}
	}
	r = http_get("/api/v1/dags/nope/grid", tok);
	expect(r, 404);
	check_error_shape(r->json, 404, NULL);
	http_free(r);
	r = http_get("/api/v1/dags/~/grid", tok);
	expect(r, 404);
	http_free(r);
	r = http_get("/api/v1/dags/%C3%BC%00x/grid", tok);
	CHECK(r->status == 400 || r->status == 404);
	http_free(r);

	/* Scopes: the DAG's tasks and its runs, so both reads. */
	dags_only = token_for(&e, "dags:read");
	runs_only = token_for(&e, "runs:read");
	both = token_for(&e, "dags:read runs:read");
	r = http_get("/api/v1/dags/quick/grid", dags_only);
	expect(r, 403);
	http_free(r);
	r = http_get("/api/v1/dags/quick/grid", runs_only);
	expect(r, 403);
	http_free(r);
	r = http_get("/api/v1/dags/quick/grid", both);
	expect(r, 200);
	http_free(r);
	free(dags_only);
	free(runs_only);
	free(both);
	free(tok);
	api_env_release(&e);
}

/* TaskInstance.operator comes from dag_tasks, which follows the DAG's
 * definition (migration 0004). */
static void test_airflow__task_operator_follows_the_dag_definition(void)
{
	struct api_env e;
	struct http_res *r;
	char *tok, *v;

	api_env_init(&e, NULL);
	tok = token_for(&e, "admin");
	api_env_dag(&e, "grid.yaml", grid_yaml);
	api_env_sync(&e, "grid.yaml");
	free(api_env_sql(&e,
			 "INSERT INTO dag_runs (order_id, dag_id, run_id, run_type, state, logical_date)"
			 " VALUES (gen_random_uuid(), 'grid', 'one', 'manual', 'RUNNING', now());"
			 "INSERT INTO task_instances (run_pk, task_id, dag_id, max_tries, pool)"
			 " SELECT id, t, 'grid', 1, 'default_pool' FROM dag_runs, unnest(ARRAY['m', 'z', 'gone']) t"));
	r = http_get("/api/v1/dags/grid/dagRuns/one/taskInstances/m", tok);
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "operator"), "python");
	http_free(r);
	/* A new definition (the scheduler's sync writes it the same way). */
	free(api_env_sql(&e, "UPDATE dags SET definition = jsonb_set(definition, '{tasks,2,operator}', '\"sql\"')"
			     " WHERE dag_id = 'grid'"));
	r = http_get("/api/v1/dags/grid/dagRuns/one/taskInstances/m", tok);
	CHECK_STR_EQ(jstr(r->json, "operator"), "sql");
	http_free(r);
	r = http_get("/api/v1/dags/grid/dagRuns/one/taskInstances", tok);
	expect(r, 200);
	CHECK(json_is_null(json_object_get(json_array_get(json_object_get(r->json, "task_instances"), 0), "operator")));
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(r->json, "task_instances"), 2), "operator"), "command");
	http_free(r);
	/* Other updates leave the rows alone; the rows equal the definition. */
	free(api_env_sql(&e, "UPDATE dags SET is_paused = true WHERE dag_id = 'grid'"));
	v = api_env_sql(&e, "SELECT string_agg(task_id || '=' || coalesce(operator, '-'), ' ' ORDER BY task_id)"
			    " FROM dag_tasks WHERE dag_id = 'grid'");
	CHECK_STR_EQ(v, "a=command b=command m=sql z=command");
	free(v);
	free(tok);
	api_env_release(&e);
}

static void test_events__order_and_run_state_events(void)
{
	struct api_env e;
	struct http_res *r;
	char *a, *b, *admin, *runs, *id, *run_id, path[128], path2[512];
	json_t *ev;

	api_env_init(&e, NULL);
	a = token_for(&e, "orders:read orders:write");
	b = token_for(&e, "orders:read orders:write");
	admin = token_for(&e, "admin");
	runs = token_for(&e, "runs:read");
	api_env_dag(&e, "svc.yaml", svc_yaml);
	api_env_sync(&e, "svc.yaml");
	id = order("svc", a, "{\"aoi\": \"POLYGON((0 0,1 0,1 1,0 0))\"}", 202);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/abort", id);
	r = http("PUT", path, a, NULL, NULL, 0, NULL);
	expect(r, 200);
	run_id = strdup(jstr(r->json, "run_id"));
	http_free(r);

	/* The abort is an event with its actor and reason. */
	snprintf(path, sizeof(path), "/api/v1/orders/%s/events", id);
	r = http_get(path, a);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	ev = json_array_get(json_object_get(r->json, "events"), 0);
	CHECK_STR_EQ(jstr(ev, "from"), "RECEIVED");
	CHECK_STR_EQ(jstr(ev, "to"), "ABORTED");
	CHECK_STR_CONTAINS(jstr(ev, "actor"), "api:");
	CHECK_STR_EQ(jstr(ev, "reason"), "aborted through the API");
	CHECK(json_is_null(json_object_get(ev, "task_id")));
	CHECK(json_is_null(json_object_get(ev, "try_number")));
	CHECK(jstr(ev, "at") != NULL);
	CHECK_INT_EQ(json_object_size(ev), 7);
	http_free(r);

	/* More events (task ones, and times out of insertion order) to page
	 * through: oldest first, kind filters. */
	snprintf(path2, sizeof(path2),
		 "INSERT INTO state_events (id, run_pk, task_id, try_number, from_state, to_state, actor, reason, at)"
		 " SELECT gen_random_uuid(), r.id, 'check', i / 3, 'none', 'scheduled', 'scheduler', NULL,"
		 "  r.received_at - (10 - i) * interval '1 s' FROM dag_runs r, generate_series(1, 9) i"
		 " WHERE r.order_id = '%s'", id);
	free(api_env_sql(&e, path2));
	r = http_get(path, admin);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 10);
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(r->json, "events"), 0), "task_id"), "check");
	CHECK_INT_EQ(json_integer_value(json_object_get(json_array_get(json_object_get(r->json, "events"), 0),
							"try_number")), 0);
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(r->json, "events"), 9), "to"), "ABORTED");
	http_free(r);
	snprintf(path2, sizeof(path2), "%s?kind=task&limit=4&offset=8", path);
	r = http_get(path2, a);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 9);
	CHECK_INT_EQ(json_array_size(json_object_get(r->json, "events")), 1);
	CHECK_INT_EQ(json_integer_value(json_object_get(json_array_get(json_object_get(r->json, "events"), 0),
							"try_number")), 3);
	http_free(r);
	snprintf(path2, sizeof(path2), "%s?kind=run", path);
	r = http_get(path2, a);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	http_free(r);
	snprintf(path2, sizeof(path2), "%s?offset=100", path);
	r = http_get(path2, a);
	expect(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r->json, "events")), 0);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 10);
	http_free(r);

	/* Visibility as GET /orders/{id}: another client gets a 404. */
	r = http_get(path, b);
	expect(r, 404);
	check_error_shape(r->json, 404, NULL);
	http_free(r);
	r = http_get(path, runs);
	expect(r, 403);
	http_free(r);
	r = http_get("/api/v1/orders/01a206b0-02aa-70fa-a288-03907174be54/events", admin);
	expect(r, 404);
	http_free(r);
	r = http_get("/api/v1/orders/not-a-uuid/events", admin);
	expect(r, 404);
	http_free(r);
	{
		static const char *const bad[][2] = {
			{"?kind=all", "kind"}, {"?limit=0", "limit"}, {"?limit=10001", "limit"},
			{"?offset=x", "offset"}, {"?task_id=check", "task_id"},
		};
		for (size_t i = 0; i < WEIR_ARRAY_SIZE(bad); i++) {
			snprintf(path2, sizeof(path2), "%s%s", path, bad[i][0]);
			r = http_get(path2, a);
			expect(r, 400);
			check_error_shape(r->json, 400, bad[i][1]);
			http_free(r);
		}
	}

	/* The same events through the run (runs:read). */
	snprintf(path2, sizeof(path2), "/api/v1/dags/svc/dagRuns/%s/events?kind=run", run_id);
	r = http_get(path2, runs);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "total_entries")), 1);
	CHECK_STR_EQ(jstr(json_array_get(json_object_get(r->json, "events"), 0), "to"), "ABORTED");
	http_free(r);
	snprintf(path2, sizeof(path2), "/api/v1/dags/svc/dagRuns/%s/events", run_id);
	r = http_get(path2, a);
	expect(r, 403);
	http_free(r);
	r = http_get("/api/v1/dags/svc/dagRuns/nope/events", runs);
	expect(r, 404);
	check_error_shape(r->json, 404, NULL);
	http_free(r);
	r = http_get("/api/v1/dags/nope/dagRuns/nope/events?kind=task", runs);
	expect(r, 404);
	http_free(r);
	snprintf(path2, sizeof(path2), "/api/v1/dags/svc/dagRuns/%s/events?kind=runs", run_id);
	r = http_get(path2, runs);
	expect(r, 400);
	check_error_shape(r->json, 400, "kind");
	http_free(r);
	free(run_id);
	free(id);
	free(a);
	free(b);
	free(admin);
	free(runs);
	api_env_release(&e);
}

/* ------------------------------------------------------------------ */
/* DAG uploads                                                          */
/* ------------------------------------------------------------------ */

static void test_dags__upload_validates_and_the_scheduler_loads_it(void)
{
	struct api_env e;
	struct http_res *r;
	char *admin, *app, path[700], *text;
	const char *bad = "version: 1\ndag: up\ntasks:\n  - id: a\n    operatr: command\n";
	const char *good = "version: 1\ndag: up\ntasks:\n  - id: a\n    operator: command\n    shell: echo up\n";
	const char *good2 = "version: 1\ndag: up\ndescription: second\ntasks:\n  - id: a\n    operator: command\n    shell: echo 2\n";

	api_env_init(&e, NULL);
	admin = token_for(&e, "admin");
	app = token_for(&e, "dags:read dags:write");
	api_env_scheduler(&e);
	/* Upload once the scheduler watches the folder (it registers after
	 * its first scan). */
	api_env_wait_sql(&e, 30, "SELECT count(*) > 0 FROM schedulers");
	usleep(500000);
	r = http("POST", "/api/v1/dags", app, "application/yaml", good, strlen(good), NULL);
	expect(r, 403);
	http_free(r);
	r = http("POST", "/api/v1/dags", admin, "application/yaml", bad, strlen(bad), NULL);
	expect(r, 422);
	check_error_shape(r->json, 422, "source");
	{
		json_t *errs = json_object_get(json_object_get(r->json, "error"), "errors");
		json_t *e0 = json_array_get(errs, 1);
		CHECK_INT_EQ(json_array_size(errs), 2);
		CHECK_INT_EQ(json_integer_value(json_object_get(e0, "line")), 5);
		CHECK_INT_EQ(json_integer_value(json_object_get(e0, "col")), 5);
		CHECK_STR_EQ(jstr(e0, "hint"), "did you mean \"operator\"?");
		CHECK_STR_CONTAINS(jstr(r->json, "detail"), ":5:5: error: unknown key \"operatr\"");
	}
	http_free(r);
	snprintf(path, sizeof(path), "%s/up.yaml", e.dags);
	CHECK(access(path, F_OK) != 0);
	r = http("POST", "/api/v1/dags", admin, "application/yaml", good, strlen(good), NULL);
	expect(r, 201);
	CHECK_STR_EQ(jstr(r->json, "dag_id"), "up");
	CHECK_STR_EQ(http_header(r, "Location"), "/api/v1/dags/up");
	http_free(r);
	text = check_read_file(path);
	CHECK_STR_EQ(text, good);
	free(text);
	api_env_wait_sql(&e, 30, "SELECT count(*) = 1 FROM dags WHERE dag_id = 'up'");
	r = http("POST", "/api/v1/dags", admin, "application/yaml", good, strlen(good), NULL);
	expect(r, 409);
	http_free(r);
	r = http("PUT", "/api/v1/dags/other", admin, "application/yaml", good2, strlen(good2), NULL);
	expect(r, 400);
	check_error_shape(r->json, 400, "dag");
	http_free(r);
	r = http("PUT", "/api/v1/dags/up", admin, "application/yaml", good2, strlen(good2), NULL);
	expect(r, 200);
	http_free(r);
	api_env_wait_sql(&e, 30, "SELECT description = 'second' FROM dags WHERE dag_id = 'up'");
	r = http_get("/api/v1/dags/up/source", admin);
	CHECK_STR_EQ(r->body, good2);
	http_free(r);
	/* No temporary files are left behind. */
	{
		char cmd[800], *v;
		FILE *p;
		char line[256];
		int n = 0;
		snprintf(cmd, sizeof(cmd), "ls -A %s", e.dags);
		p = popen(cmd, "r");
		while (fgets(line, sizeof(line), p))
			n++;
		pclose(p);
		CHECK_INT_EQ(n, 1);
		v = NULL;
		free(v);
	}
	/* too big, wrong type */
	{
		size_t n = (1u << 20) + 10;
		char *big = malloc(n);
		memset(big, '#', n);
		r = http("PUT", "/api/v1/dags/up", admin, "application/yaml", big, n, NULL);
		expect(r, 413);
		http_free(r);
		free(big);
	}
	r = http("PUT", "/api/v1/dags/up", admin, "image/png", "x", 1, NULL);
	expect(r, 415);
	http_free(r);
	free(admin);
	free(app);
	api_env_release(&e);
}

/* ------------------------------------------------------------------ */
/* admin resources and the CLI                                          */
/* ------------------------------------------------------------------ */

static void test_admin__clients_and_users_endpoints(void)
{
	struct api_env e;
	struct http_res *r;
	char *admin, path[160], body[400], *tok;
	const char *cid, *secret;

	api_env_init(&e, NULL);
	admin = token_for(&e, "admin");
	r = http_json("POST", "/api/v1/clients", admin, "{\"name\": \"app\", \"scopes\": [\"dags:read\"], \"token_lifetime\": 120}");
	expect(r, 201);
	cid = jstr(r->json, "client_id");
	secret = jstr(r->json, "client_secret");
	CHECK(cid && secret);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "token_lifetime")), 120);
	snprintf(path, sizeof(path), "/api/v1/clients/%s", cid);
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s", cid, secret);
	http_free(r);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "expires_in")), 120);
	http_free(r);
	r = http_get(path, admin);
	expect(r, 200);
	CHECK(json_object_get(r->json, "client_secret") == NULL);
	http_free(r);
	r = http_json("POST", "/api/v1/clients", admin, "{\"name\": \"app\", \"scopes\": \"dags:read\"}");
	expect(r, 409);
	http_free(r);
	r = http_json("POST", "/api/v1/clients", admin, "{\"name\": \"app2\", \"scopes\": [\"root\"]}");
	expect(r, 422);
	check_error_shape(r->json, 422, "scopes");
	http_free(r);
	r = http_json("PATCH", path, admin, "{\"scopes\": \"dags:read pools:read\"}");
	expect(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r->json, "scopes")), 2);
	http_free(r);
	r = http_get("/api/v1/clients", admin);
	CHECK_INT_OP(json_integer_value(json_object_get(r->json, "total_entries")), >=, 2);
	http_free(r);
	r = http("DELETE", path, admin, NULL, NULL, 0, NULL);
	expect(r, 204);
	http_free(r);
	r = http("DELETE", path, admin, NULL, NULL, 0, NULL);
	expect(r, 404);
	http_free(r);
	r = http_get(path, admin);
	expect(r, 404);
	http_free(r);

	r = http_json("POST", "/api/v1/users", admin, "{\"username\": \"bob\", \"password\": \"short\", \"scopes\": []}");
	expect(r, 422);
	check_error_shape(r->json, 422, "password");
	http_free(r);
	r = http_json("POST", "/api/v1/users", admin,
		      "{\"username\": \"bob\", \"password\": \"long enough\", \"scopes\": [\"dags:read\"]}");
	expect(r, 201);
	CHECK(json_object_get(r->json, "password") == NULL);
	http_free(r);
	r = http_json("PATCH", "/api/v1/users/bob", admin, "{\"password\": \"a new secret\"}");
	expect(r, 200);
	http_free(r);
	{
		const char *id2, *sec2;
		api_client(&e, 2, "admin", &id2, &sec2);
		snprintf(body, sizeof(body),
			 "grant_type=password&username=bob&password=a+new+secret&client_id=%s&client_secret=%s", id2, sec2);
		tok = form_token(body);
	}
	r = http("DELETE", "/api/v1/users/bob", admin, NULL, NULL, 0, NULL);
	expect(r, 204);
	http_free(r);
	r = http_get("/api/v1/dags", tok);
	expect(r, 401);
	http_free(r);
	free(tok);
	/* a deleted user's name can be used again */
	r = http_json("POST", "/api/v1/users", admin, "{\"username\": \"bob\", \"password\": \"long enough\"}");
	expect(r, 201);
	http_free(r);
	free(admin);
	api_env_release(&e);
}

static int run_weir(struct api_env *e, const char *input, char **out, const char *const *args)
{
	const char *bin = getenv("WEIR_BINARY");
	int in[2], outp[2], status;
	pid_t pid;
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	CHECK(pipe(in) == 0 && pipe(outp) == 0);
	pid = fork();
	if (pid == 0) {
		const char *argv[16];
		int n = 0;
		dup2(in[0], 0);
		dup2(outp[1], 1);
		close(in[1]);
		close(outp[0]);
		setenv("WEIR_DATABASE_URL", e->db, 1);
		setenv("WEIR_HOME", e->home, 1);
		argv[n++] = bin;
		for (size_t i = 0; args[i] && n < 15; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	if (input && write(in[1], input, strlen(input)) < 0)
		check__fail(__FILE__, __LINE__, "write: %s", strerror(errno));
	close(in[1]);
	weir_buf_read_fd(&b, outp[0]);
	close(outp[0]);
	waitpid(pid, &status, 0);
	*out = weir_buf_detach(&b, NULL);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_cli__clients_create_prints_credentials_once(void)
{
	struct api_env e;
	char *out = NULL, id[64], secret[96], body[400], *tok;
	struct http_res *r;

	api_env_init(&e, NULL);
	{
		const char *const a[] = {"clients", "create", "robot", "--scopes", "dags:read,runs:trigger", "--token-ttl", "10m", NULL};
		CHECK_INT_EQ(run_weir(&e, NULL, &out, a), 0);
	}
	CHECK(sscanf(out, "client_id: %63s\nclient_secret: %95s", id, secret) == 2);
	free(out);
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s", id, secret);
	r = http("POST", "/oauth/token", NULL, FORM, body, strlen(body), NULL);
	expect(r, 200);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "expires_in")), 600);
	CHECK_STR_EQ(jstr(r->json, "scope"), "dags:read runs:trigger");
	http_free(r);
	{
		const char *const a[] = {"clients", "list", NULL};
		CHECK_INT_EQ(run_weir(&e, NULL, &out, a), 0);
		CHECK_STR_CONTAINS(out, id);
		CHECK_STR_CONTAINS(out, "robot");
		CHECK(strstr(out, secret) == NULL);
		free(out);
	}
	{
		const char *const a[] = {"clients", "create", "x", "--scopes", "root", NULL};
		CHECK_INT_EQ(run_weir(&e, NULL, &out, a), 1);
		free(out);
	}
	{
		const char *const a[] = {"users", "create", "carol", "--scopes", "dags:read", "--password-stdin", NULL};
		CHECK_INT_EQ(run_weir(&e, "pass word 123\n", &out, a), 0);
		free(out);
	}
	snprintf(body, sizeof(body),
		 "grant_type=password&username=carol&password=pass+word+123&client_id=%s&client_secret=%s", id, secret);
	tok = form_token(body);
	r = http_get("/api/v1/dags", tok);
	expect(r, 200);
	http_free(r);
	free(tok);
	api_env_release(&e);
}

static void test_bootstrap__admin_client_is_created_once(void)
{
	struct api_env e;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char id[WEIR_API_CLIENT_ID_BUFSZ], secret[WEIR_API_SECRET_BUFSZ], body[300], *tok;
	bool created;

	api_env_init(&e, NULL);
	CHECK_OK(weir_api_bootstrap_admin(e.st, id, secret, &created, &err));
	CHECK(created);
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s", id, secret);
	tok = form_token(body);
	{
		struct http_res *r = http_get("/api/v1/clients", tok);
		expect(r, 200);
		http_free(r);
	}
	free(tok);
	CHECK_OK(weir_api_bootstrap_admin(e.st, id, secret, &created, &err));
	CHECK(!created);
	CHECK_STR_EQ(id, "");
	weir_buf_release(&err);
	api_env_release(&e);
}

/* ------------------------------------------------------------------ */
/* the server                                                           */
/* ------------------------------------------------------------------ */

static void test_server__static_ui_over_http(void)
{
	struct api_env e;
	struct http_res *r;
	char etag[128];

	api_env_init(&e, NULL);
	r = http_get("/", NULL);
	expect(r, 200);
	CHECK_STR_CONTAINS(http_header(r, "Content-Type"), "text/html");
	CHECK_STR_CONTAINS(http_header(r, "Content-Security-Policy"), "default-src 'self'");
	http_free(r);
	r = http_get("/app.js", NULL);
	expect(r, 200);
	CHECK_STR_CONTAINS(http_header(r, "Content-Type"), "text/javascript");
	CHECK_STR_EQ(r->body, "console.log('weir');\n");
	snprintf(etag, sizeof(etag), "If-None-Match: %s", http_header(r, "ETag"));
	http_free(r);
	{
		const char *const h[] = {etag, NULL};
		r = http("GET", "/app.js", NULL, NULL, NULL, 0, h);
		expect(r, 304);
		http_free(r);
	}
	r = http("HEAD", "/app.js", NULL, NULL, NULL, 0, NULL);
	expect(r, 200);
	CHECK_INT_EQ(r->len, 0);
	http_free(r);
	r = http_get("/../../../../etc/passwd", NULL);
	CHECK(r->status == 404 || r->status == 400);
	CHECK(strstr(r->body, "root:") == NULL);
	http_free(r);
	r = http_get("/%2e%2e/%2e%2e/etc/passwd", NULL);
	CHECK(r->status == 404 || r->status == 400);
	http_free(r);
	api_env_release(&e);
}

static void test_server__tls(void)
{
	struct weir_api_opts o = {0};
	struct api_env e;
	struct http_res *r;
	char cert[700], key[700], cmd[2000];

	snprintf(cert, sizeof(cert), "%s/cert.pem", check_tmpdir());
	snprintf(key, sizeof(key), "%s/key.pem", check_tmpdir());
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 -keyout %s -out %s 2>/dev/null",
		 key, cert);
	if (system(cmd) != 0) {
		check_note("openssl is not available; skipping");
		return;
	}
	o.tls_cert = cert;
	o.tls_key = key;
	o.metrics_public = true;
	api_env_init(&e, &o);
	r = http_get("/api/v1/version", NULL);
	expect(r, 200);
	CHECK_STR_EQ(jstr(r->json, "version"), WEIR_VERSION);
	http_free(r);
	api_env_release(&e);
}

/* A request in progress when `weir api` gets SIGTERM still gets its answer. */
struct slow_body {
	size_t sent;
	size_t total;
	int paused_fd; /* written to when half is sent */
	int go_fd;     /* then read: the rest is sent once the parent says so */
};

static size_t slow_read(char *buf, size_t size, size_t n, void *arg)
{
	struct slow_body *s = arg;
	size_t want = size * n, left = s->total - s->sent;

	if (left == 0)
		return 0;
	if (want > 16)
		want = 16;
	if (want > left)
		want = left;
	memset(buf, ' ', want);
	if (s->sent == 0)
		buf[0] = '{';
	if (s->sent + want == s->total)
		buf[want - 1] = '}';
	s->sent += want;
	if (s->paused_fd >= 0 && s->sent >= s->total / 2) {
		if (write(s->paused_fd, "x", 1) < 0) {
		}
		close(s->paused_fd);
		s->paused_fd = -1;
		/* The SIGTERM lands while the body is half sent. */
		char go;
		if (read(s->go_fd, &go, 1) < 0) {
		}
	}
	return want;
}

static void test_server__sigterm_lets_requests_in_progress_finish(void)
{
	struct api_env e;
	const char *bin = getenv("WEIR_BINARY");
	char listen[64], url[128], line[256], *tok;
	int port, sync[2], go[2], status;
	pid_t pid, client;

	api_env_init(&e, NULL); /* for the database and a token */
	tok = token_for(&e, "pools:read pools:write");
	{
		/* A free port: bind to 0, read it back, let it go. */
		struct sockaddr_in sa = {0};
		socklen_t len = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
		CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
		port = ntohs(sa.sin_port);
		close(fd);
	}
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	pid = fork();
	if (pid == 0) {
		char log[700];
		snprintf(log, sizeof(log), "%s/weir-api.log", e.home);
		if (!freopen(log, "w", stderr)) {
		}
		setenv("WEIR_DATABASE_URL", e.db, 1);
		setenv("WEIR_HOME", e.home, 1);
		execl(bin, bin, "api", "--listen", listen, (char *)NULL);
		_exit(127);
	}
	snprintf(url, sizeof(url), "http://%s", listen);
	http_base(url);
	for (int i = 0; i < 100; i++) {
		CURL *c = curl_easy_init();
		snprintf(line, sizeof(line), "%s/health", url);
		curl_easy_setopt(c, CURLOPT_URL, line);
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		if (curl_easy_perform(c) == CURLE_OK) {
			curl_easy_cleanup(c);
			break;
		}
		curl_easy_cleanup(c);
		usleep(100000);
	}
	CHECK(pipe(sync) == 0);
	CHECK(pipe(go) == 0);
	client = fork();
	if (client == 0) {
		/* A POST whose body trickles in. */
		struct slow_body sb = {0, 4096, sync[1], go[0]};
		struct curl_slist *h = NULL;
		char auth[256];
		long code = 0;
		CURL *c = curl_easy_init();
		close(sync[0]);
		snprintf(line, sizeof(line), "%s/api/v1/pools", url);
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
		h = curl_slist_append(h, auth);
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(c, CURLOPT_URL, line);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, slow_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &sb);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)sb.total);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, NULL);
		if (curl_easy_perform(c) != CURLE_OK)
			_exit(2);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		/* "{ ... }" with no fields is a valid JSON object lacking name: 400. */
		_exit(code == 400 ? 0 : 3);
	}
	close(sync[1]);
	close(go[0]);
	CHECK(read(sync[0], line, 1) == 1);
	close(sync[0]);
	/* Half the body is in the socket; wait until the gateway has the
	 * request (its headers parsed), so the SIGTERM finds it in progress
	 * (the metrics request itself is the other one). */
	for (int i = 0;; i++) {
		struct http_res *m = http_get("/metrics", NULL);
		bool seen = m->status == 200 && strstr(m->body, "\nweir_http_requests_in_progress 2\n");
		http_free(m);
		if (seen)
			break;
		CHECK(i < 300);
		usleep(20000);
	}
	kill(pid, SIGTERM);
	usleep(200000); /* the gateway is draining now; then send the rest */
	CHECK(write(go[1], "x", 1) == 1);
	close(go[1]);
	CHECK(waitpid(client, &status, 0) == client);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		check__fail(__FILE__, __LINE__, "the request in progress failed (client exit %d)", WEXITSTATUS(status));
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(tok);
	api_env_release(&e);
}


/* A client that sends half a request and stalls is disconnected. */
static void test_server__slow_clients_time_out(void)
{
	struct weir_api_opts o = {0};
	struct api_env e;
	struct sockaddr_in sa = {0};
	char buf[64];
	int fd;
	ssize_t n;
	int64_t t0;

	o.timeout_s = 1;
	o.metrics_public = true;
	api_env_init(&e, &o);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)e.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	{
		const char *half = "GET /health HTTP/1.1\r\nHost: x\r\n";
		CHECK(write(fd, half, strlen(half)) == (ssize_t)strlen(half));
	}
	t0 = weir_mono_ms();
	n = read(fd, buf, sizeof(buf)); /* blocks until the server gives up */
	CHECK(n <= 0);
	CHECK_INT_OP(weir_mono_ms() - t0, <, 10000);
	close(fd);
	api_env_release(&e);
}

static const struct check_test tests[] = {
	CHECK_TEST(test_api__health_version_and_openapi_are_public),
	CHECK_TEST(test_api__health_reports_the_scheduler_heartbeat),
	CHECK_TEST(test_api__metrics_and_access_log),
	CHECK_TEST(test_api__metrics_can_require_a_token),
	CHECK_TEST(test_oauth__client_credentials_with_basic_and_with_form),
	CHECK_TEST(test_oauth__errors_follow_rfc6749),
	CHECK_TEST(test_oauth__password_grant_and_refresh_rotation),
	CHECK_TEST(test_oauth__revocation_introspection_and_expiry),
	CHECK_TEST(test_auth__every_route_times_every_kind_of_token),
	CHECK_TEST(test_errors__bad_input_is_4xx_with_one_shape),
	CHECK_TEST(test_airflow__dags_shapes_filters_pause_and_source),
	CHECK_TEST(test_airflow__import_errors),
	CHECK_TEST(test_airflow__trigger_poll_success_logs_and_xcom),
	CHECK_TEST(test_airflow__duplicate_run_id_is_409_and_runs_list_filters),
	CHECK_TEST(test_airflow__listings_equal_the_former_json_statements),
	CHECK_TEST(test_airflow__task_instance_patch),
	CHECK_TEST(test_airflow__pools_crud),
	CHECK_TEST(test_orders__validation_and_geometry_normalisation),
	CHECK_TEST(test_orders__clients_see_only_their_own),
	CHECK_TEST(test_orders__abort_of_a_running_order_kills_its_tasks),
	CHECK_TEST(test_orders__success_and_invalid_paths_show_as_status),
	CHECK_TEST(test_grid__runs_and_cells_equal_the_airflow_listings),
	CHECK_TEST(test_airflow__task_operator_follows_the_dag_definition),
	CHECK_TEST(test_events__order_and_run_state_events),
	CHECK_TEST(test_dags__upload_validates_and_the_scheduler_loads_it),
	CHECK_TEST(test_admin__clients_and_users_endpoints),
	CHECK_TEST(test_cli__clients_create_prints_credentials_once),
	CHECK_TEST(test_bootstrap__admin_client_is_created_once),
	CHECK_TEST(test_server__static_ui_over_http),
	CHECK_TEST(test_server__tls),
	CHECK_TEST(test_server__sigterm_lets_requests_in_progress_finish),
	CHECK_TEST(test_server__slow_clients_time_out),
	{0},
};

int main(int argc, char **argv)
{
	return check_main(argc, argv, tests);
}
