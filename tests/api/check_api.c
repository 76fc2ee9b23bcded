/* check_api.c: helpers for the API tests (see check_api.h). */
#include "tests/api/check_api.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/xalloc.h"
#include "engine/dag.h"
#include "engine/diag.h"
#include "engine/operator.h"
#include "tests/check.h"
#include "tests/check_pg.h"

/* ------------------------------------------------------------------ */
/* a context around the fake store (tests/api/fake_store.c)            */
/* ------------------------------------------------------------------ */

struct api_ctx *fake_ctx_new(const char *home, const char *ui_dir)
{
	struct api_ctx *ctx = weir_xcalloc(1, sizeof(*ctx));

	api_routes_init();
	api_ctx_init(ctx);
	ctx->home = weir_xstrdup(home ? home : "/nonexistent");
	ctx->dags_folder = weir_xstrdup(check_tmpdir());
	ctx->ui_dir = ui_dir ? realpath(ui_dir, NULL) : NULL;
	ctx->body_limit = 1 << 20;
	ctx->token_ttl_s = 3600;
	ctx->refresh_ttl_s = 86400;
	ctx->heartbeat_timeout_ms = 30000;
	ctx->metrics_public = true;
	ctx->pool = api_pool_new(4, fake_store_open, NULL);
	ctx->metrics = api_metrics_new(api_nroutes);
	return ctx;
}

void fake_ctx_free(struct api_ctx *ctx)
{
	api_pool_free(ctx->pool);
	api_metrics_free(ctx->metrics);
	api_ctx_release(ctx);
	free(ctx);
}

struct fake_resp *fake_request(struct api_ctx *ctx, const char *method, const char *target,
			       const char *auth, const char *ctype, const char *body,
			       const char *if_none_match)
{
	struct fake_resp *r = weir_xcalloc(1, sizeof(*r));
	struct api_req rq;
	struct api_resp rs;
	size_t off = 0;

	memset(&rq, 0, sizeof(rq));
	weir_arena_init(&rq.arena, 4096);
	rq.ctx = ctx;
	rq.method = api_method_parse(method);
	rq.method_name = method;
	rq.target = target;
	rq.authorization = auth;
	rq.content_type = ctype;
	rq.if_none_match = if_none_match;
	rq.body = body;
	rq.body_len = body ? strlen(body) : 0;
	snprintf(rq.request_id, sizeof(rq.request_id), "test");
	api_resp_init(&rs);
	api_dispatch(&rq, &rs);
	r->status = rs.status;
	r->has_fd = rs.fd >= 0;
	if (rs.fd >= 0) {
		r->body = weir_xmalloc(rs.len + 1);
		r->len = (size_t)pread(rs.fd, r->body, rs.len, (off_t)rs.fd_off);
		r->body[r->len] = '\0';
	} else {
		r->body = weir_xstrdup(rs.body ? rs.body : "");
		r->len = rs.len;
	}
	r->content_type = rs.content_type ? weir_xstrdup(rs.content_type) : NULL;
	for (size_t i = 0; i < rs.nheaders; i++)
		off += (size_t)snprintf(r->headers + off, sizeof(r->headers) - off, "%s: %s\n",
					rs.headers[i].name, rs.headers[i].value);
	if (r->content_type && strstr(r->content_type, "json"))
		r->json = json_loadb(r->body, r->len, 0, NULL);
	api_resp_release(&rs);
	weir_arena_release(&rq.arena);
	return r;
}

void fake_resp_free(struct fake_resp *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->content_type);
	json_decref(r->json);
	free(r);
}

static const char *find_header(const char *block, const char *name)
{
	static char val[1024];
	size_t n = strlen(name);
	const char *p = block;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > n && !strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;
			size_t vl = len - n - 1;
			while (vl && *v == ' ') {
				v++;
				vl--;
			}
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			snprintf(val, sizeof(val), "%.*s", (int)vl, v);
			return val;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

const char *fake_header(struct fake_resp *r, const char *name)
{
	return find_header(r->headers, name);
}

void check_error_shape(json_t *body, int status, const char *field)
{
	json_t *e = json_object_get(body, "error");

	if (!json_is_object(e))
		check__fail(__FILE__, __LINE__, "not the error shape: %s",
			    body ? json_dumps(body, JSON_COMPACT) : "(no JSON)");
	CHECK_INT_EQ(json_integer_value(json_object_get(e, "status")), status);
	CHECK_INT_EQ(json_integer_value(json_object_get(body, "status")), status);
	CHECK(json_string_value(json_object_get(e, "title")) != NULL);
	CHECK(json_string_value(json_object_get(e, "detail")) != NULL);
	CHECK_STR_EQ(json_string_value(json_object_get(body, "type")), "about:blank");
	if (field)
		CHECK_STR_EQ(json_string_value(json_object_get(e, "field")), field);
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                 */
/* ------------------------------------------------------------------ */

static char base_url[256];

void http_base(const char *base)
{
	snprintf(base_url, sizeof(base_url), "%s", base);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct weir_buf *b = arg;
	weir_buf_add(b, p, size * n);
	return size * n;
}

struct http_res *http(const char *method, const char *path, const char *token, const char *ctype,
		      const char *body, size_t len, const char *const *extra)
{
	struct http_res *r = weir_xcalloc(1, sizeof(*r));
	struct weir_buf data = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), hdr = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct curl_slist *h = NULL;
	char url[4096], line[4096];
	CURL *c = curl_easy_init();
	CURLcode rc;

	CHECK(c != NULL);
	snprintf(url, sizeof(url), "%s%s", base_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &data);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	if (ctype) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Expect:");
	for (size_t i = 0; extra && extra[i]; i++)
		h = curl_slist_append(h, extra[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		check__fail(__FILE__, __LINE__, "%s %s: %s", method, url, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = weir_buf_detach(&data, &r->len);
	r->headers = weir_buf_detach(&hdr, NULL);
	r->json = json_loadb(r->body, r->len, 0, NULL);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r;
}

void http_free(struct http_res *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->headers);
	json_decref(r->json);
	free(r);
}

struct http_res *http_get(const char *path, const char *token)
{
	return http("GET", path, token, NULL, NULL, 0, NULL);
}

struct http_res *http_json(const char *method, const char *path, const char *token, const char *json)
{
	return http(method, path, token, "application/json", json, json ? strlen(json) : 0, NULL);
}

const char *http_header(struct http_res *r, const char *name)
{
	return find_header(r->headers, name);
}

/* ------------------------------------------------------------------ */
/* a gateway against PostgreSQL                                         */
/* ------------------------------------------------------------------ */

void api_env_init(struct api_env *e, const struct weir_api_opts *o)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_api_opts opts;
	const char *tmp = check_tmpdir();
	char base[64], path[700];

	memset(e, 0, sizeof(*e));
	weir_operators_register_light();
	curl_global_init(CURL_GLOBAL_ALL);
	snprintf(e->db, sizeof(e->db), "%s", check_pg_new_db(true));
	snprintf(e->home, sizeof(e->home), "%s/home", tmp);
	snprintf(e->dags, sizeof(e->dags), "%s/dags", tmp);
	snprintf(e->ui, sizeof(e->ui), "%s/ui", tmp);
	mkdir(e->home, 0755);
	mkdir(e->dags, 0755);
	mkdir(e->ui, 0755);
	snprintf(path, sizeof(path), "%s/index.html", e->ui);
	check_write_file(path, "<!doctype html><title>weir</title>\n");
	snprintf(path, sizeof(path), "%s/app.js", e->ui);
	check_write_file(path, "console.log('weir');\n");
	CHECK_OK(weir_pg_store_open(e->db, &e->st, &err));
	if (o)
		opts = *o;
	else
		memset(&opts, 0, sizeof(opts));
	opts.listen = opts.listen ? opts.listen : "127.0.0.1:0";
	opts.database_url = e->db;
	opts.home = e->home;
	opts.dags_folder = e->dags;
	opts.ui_dir = opts.ui_dir ? opts.ui_dir : e->ui;
	if (!o) {
		opts.metrics_public = true;
		opts.access_log = true;
	}
	opts.threads = opts.threads ? opts.threads : 4;
	snprintf(path, sizeof(path), "%s/access.log", tmp);
	if (!opts.log_fd) {
		FILE *f = fopen(path, "a");
		opts.log_fd = dup(fileno(f));
		fclose(f);
	}
	if (weir_api_start(&opts, &e->api, &err) < 0)
		check__fail(__FILE__, __LINE__, "weir_api_start: %s", err.buf);
	e->port = weir_api_port(e->api);
	snprintf(base, sizeof(base), "%s://127.0.0.1:%d", opts.tls_cert ? "https" : "http", e->port);
	http_base(base);
	weir_buf_release(&err);
}

void api_env_release(struct api_env *e)
{
	api_env_scheduler_stop(e);
	weir_api_stop(e->api, 5000);
	e->api = NULL;
	weir_store_close(e->st);
	e->st = NULL;
}

void api_env_dag(struct api_env *e, const char *name, const char *yaml)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/%s", e->dags, name);
	check_write_file(path, yaml);
}

void api_env_sync(struct api_env *e, const char *name)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	char path[700];

	snprintf(path, sizeof(path), "%s/%s", e->dags, name);
	weir_diags_init(&d, path);
	if (weir_dag_load_file(path, &dag, &d) < 0) {
		weir_diags_format(&d, &err);
		check__fail(__FILE__, __LINE__, "DAG %s does not load: %s", path, err.buf);
	}
	CHECK_OK(weir_store_sync_dag(e->st, dag, &err));
	weir_dag_unref(dag);
	weir_diags_release(&d);
	weir_buf_release(&err);
}

void api_env_scheduler(struct api_env *e)
{
	const char *bin = getenv("WEIR_BINARY");
	pid_t pid;

	CHECK(bin != NULL);
	snprintf(e->sched_log, sizeof(e->sched_log), "%s/scheduler.log", e->home);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		FILE *f = freopen(e->sched_log, "a", stdout);
		(void)f;
		dup2(1, 2);
		setenv("WEIR_DATABASE_URL", e->db, 1);
		setenv("WEIR_HOME", e->home, 1);
		setenv("WEIR_HEARTBEAT_TIMEOUT", "30s", 1);
		execl(bin, bin, "scheduler", "--dags-folder", e->dags, (char *)NULL);
		_exit(127);
	}
	e->sched = pid;
}

void api_env_scheduler_stop(struct api_env *e)
{
	int status;

	if (!e->sched)
		return;
	kill(e->sched, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(e->sched, &status, WNOHANG) == e->sched) {
			e->sched = 0;
			return;
		}
		usleep(50000);
	}
	kill(e->sched, SIGKILL);
	waitpid(e->sched, &status, 0);
	e->sched = 0;
}

char *api_env_sql(struct api_env *e, const char *sql)
{
	return check_pg_sql(e->db, sql);
}

void api_env_wait_sql(struct api_env *e, int timeout_s, const char *sql)
{
	for (int i = 0; i < timeout_s * 20; i++) {
		char *v = check_pg_sql(e->db, sql);
		bool ok = v && !strcmp(v, "t");
		free(v);
		if (ok)
			return;
		usleep(50000);
	}
	if (e->sched_log[0]) {
		char *log = check_read_file(e->sched_log);
		check_note("scheduler log:\n%s", log ? log : "(none)");
		free(log);
	}
	check__fail(__FILE__, __LINE__, "timed out after %d s waiting for: %s", timeout_s, sql);
}

static char client_ids[8][WEIR_API_CLIENT_ID_BUFSZ], client_secrets[8][WEIR_API_SECRET_BUFSZ];

void api_client(struct api_env *e, int slot, const char *scopes, const char **id, const char **secret)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char name[64];
	static int seq;

	CHECK(slot >= 0 && slot < 8);
	snprintf(name, sizeof(name), "client-%d-%d", slot, seq++);
	if (weir_api_client_create(e->st, name, scopes, 3600, client_ids[slot], client_secrets[slot], &err) < 0)
		check__fail(__FILE__, __LINE__, "client_create: %s", err.buf);
	*id = client_ids[slot];
	*secret = client_secrets[slot];
	weir_buf_release(&err);
}

char *api_token(struct api_env *e, const char *scopes)
{
	const char *id, *secret;
	char body[512];
	struct http_res *r;
	char *tok;

	api_client(e, 7, scopes, &id, &secret);
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s", id, secret);
	r = http("POST", "/oauth/token", NULL, "application/x-www-form-urlencoded", body, strlen(body), NULL);
	if (r->status != 200)
		check__fail(__FILE__, __LINE__, "token: %ld %s", r->status, r->body);
	tok = strdup(json_string_value(json_object_get(r->json, "access_token")));
	http_free(r);
	return tok;
}

const char *api_wait_field(const char *path, const char *token, const char *key, const char *want,
			   int timeout_s)
{
	static char last[128];

	for (int i = 0; i < timeout_s * 20; i++) {
		struct http_res *r = http_get(path, token);
		const char *v = json_string_value(json_object_get(r->json, key));
		snprintf(last, sizeof(last), "%s", v ? v : "(none)");
		http_free(r);
		if (v) {
			const char *p = want;
			while (*p) {
				size_t n = strcspn(p, "|");
				if (strlen(last) == n && !strncmp(last, p, n))
					return last;
				p += n;
				p += *p == '|';
			}
		}
		usleep(50000);
	}
	check__fail(__FILE__, __LINE__, "%s: %s stayed %s, wanted %s", path, key, last, want);
}
