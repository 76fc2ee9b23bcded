/*
 * server.c: the gateway's libmicrohttpd side (the only file of weir that
 * includes <microhttpd.h>).
 *
 * THREADS.  MHD runs a pool of worker threads (MHD_OPTION_THREAD_POOL_SIZE),
 * each with its own epoll loop over its share of the connections; a
 * request is handled start to finish on one thread.  Handlers block on
 * PostgreSQL, so the pool has two threads per core (at least 4): while one
 * waits for the database, another parses or serialises.  Each thread
 * checks a store handle out of the pool for a request (pool.c) - a handle
 * is never shared by two threads at once.
 *
 * A REQUEST, as MHD calls us:
 *   uri_log()      the request line arrived: allocate struct conn_req with
 *                  its arena, keep the raw request-target;
 *   on_request()   1st call: headers are in; a declared Content-Length over
 *                  the limit is answered 413 at once (the body is never
 *                  read); following calls: body chunks, appended to a
 *                  weir_buf capped at the limit (a chunked body that grows
 *                  past it is answered 413 when it ends); last call
 *                  (*upload_data_size == 0): api_dispatch() and queue the
 *                  response;
 *   completed()    count it (metrics), write the access log line, release
 *                  the arena (which returns the store handle), free.
 *
 * SHUTDOWN.  weir_api_stop() quiesces the daemon (no new connections),
 * marks the context draining (answers say Connection: close), waits until
 * no request is between uri_log() and completed(), or the grace period
 * ends, then stops MHD, which closes the idle keep-alive connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api_int.h"
#include "common/error.h"
#include "common/log.h"
#include "common/str.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/config.h"
#include "engine/duration.h"

struct weir_api {
	struct api_ctx ctx;
	struct MHD_Daemon *daemon;
	int port;
	int log_fd;
	bool access_log;
	char *database_url;
	char *tls_cert;             /* PEM text */
	char *tls_key;
};

struct conn_req {
	struct api_req rq;
	struct weir_buf body;
	struct weir_api *api;
	int64_t start_us;
	uint64_t received;          /* body bytes seen, kept or not */
	bool headers_seen;
	bool too_big;
	bool answered;
	bool counted;               /* metrics and access log done */
	int status;
};

/* ------------------------------------------------------------------ */
/* requests                                                             */
/* ------------------------------------------------------------------ */

static bool request_id_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return n >= 1 && n <= 40;
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct weir_api *api = cls;
	struct conn_req *cr = weir_xcalloc(1, sizeof(*cr));

	(void)c;
	cr->api = api;
	cr->start_us = weir_mono_us();
	weir_arena_init(&cr->rq.arena, 4096);
	weir_buf_init(&cr->body, api->ctx.body_limit);
	cr->rq.ctx = &api->ctx;
	cr->rq.target = weir_arena_strdup(&cr->rq.arena, uri ? uri : "/");
	atomic_fetch_add(&api->ctx.in_progress, 1);
	return cr;
}

static const char *header(struct MHD_Connection *c, struct conn_req *cr, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
	return v ? weir_arena_strdup(&cr->rq.arena, v) : NULL;
}

static void access_log(struct weir_api *api, struct conn_req *cr, int64_t us);

/*
 * Counts the request (metrics, access log) once.  Done when the answer is
 * queued, so a client that reads /metrics right after its own request
 * sees it; requests that end without an answer are counted when MHD
 * reports their end.
 */
static void record(struct weir_api *api, struct conn_req *cr)
{
	int64_t us = weir_mono_us() - cr->start_us;
	size_t idx;

	if (cr->counted || !cr->headers_seen)
		return;
	cr->counted = true;
	idx = cr->rq.route ? api_route_index(cr->rq.route) : cr->rq.is_static ? api_nroutes + 1 : api_nroutes;
	api_metrics_count(api->ctx.metrics, idx, cr->rq.method, cr->status, us);
	if (api->access_log)
		access_log(api, cr, us);
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct conn_req *cr, struct api_resp *rs)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (rs->fd >= 0 && rs->len > 0) {
		r = MHD_create_response_from_fd_at_offset64(rs->len, rs->fd, rs->fd_off);
		if (r)
			rs->fd = -1; /* MHD closes it */
	} else if (rs->body && rs->status != 204 && rs->status != 304) {
		r = MHD_create_response_from_buffer(rs->len, rs->body, MHD_RESPMEM_MUST_FREE);
		if (r)
			rs->body = NULL; /* MHD frees it */
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!r) {
		api_resp_release(rs);
		return MHD_NO;
	}
	if (rs->content_type && rs->status != 204 && rs->status != 304)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
	for (size_t i = 0; i < rs->nheaders; i++)
		MHD_add_response_header(r, rs->headers[i].name, rs->headers[i].value);
	MHD_add_response_header(r, "X-Request-Id", cr->rq.request_id);
	if (!cr->rq.is_static)
		MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (atomic_load(&cr->api->ctx.draining))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	cr->status = rs->status;
	record(cr->api, cr);
	ret = MHD_queue_response(c, (unsigned)rs->status, r);
	MHD_destroy_response(r);
	api_resp_release(rs);
	cr->answered = true;
	return ret;
}

static enum MHD_Result answer_413(struct MHD_Connection *c, struct conn_req *cr)
{
	struct api_resp rs;

	api_resp_init(&rs);
	api_error(&cr->rq, &rs, 413, NULL, "the request body is larger than %zu bytes",
		  cr->api->ctx.body_limit);
	api_header(&cr->rq, &rs, MHD_HTTP_HEADER_CONNECTION, "close");
	return send_resp(c, cr, &rs);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct weir_api *api = cls;
	struct conn_req *cr = *con_cls;
	struct api_resp rs;

	(void)url;
	(void)version;
	if (!cr) {
		/* Not seen by uri_log (cannot happen with MHD 0.9.75): start now. */
		cr = *con_cls = uri_log(api, url, c);
	}
	if (cr->answered) {
		/* Answered early (413): swallow whatever arrives. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!cr->headers_seen) {
		const char *rid, *cl;
		cr->headers_seen = true;
		cr->rq.method_name = weir_arena_strdup(&cr->rq.arena, method);
		cr->rq.method = api_method_parse(method);
		cr->rq.authorization = header(c, cr, MHD_HTTP_HEADER_AUTHORIZATION);
		cr->rq.content_type = header(c, cr, MHD_HTTP_HEADER_CONTENT_TYPE);
		cr->rq.accept = header(c, cr, MHD_HTTP_HEADER_ACCEPT);
		cr->rq.if_none_match = header(c, cr, MHD_HTTP_HEADER_IF_NONE_MATCH);
		rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
		if (rid && request_id_ok(rid))
			snprintf(cr->rq.request_id, sizeof(cr->rq.request_id), "%s", rid);
		else
			snprintf(cr->rq.request_id, sizeof(cr->rq.request_id), "%016llx-%llx",
				 (unsigned long long)api->ctx.request_prefix,
				 (unsigned long long)atomic_fetch_add(&api->ctx.request_seq, 1));
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			int64_t n;
			if (weir_str_to_i64(cl, &n) == 0 && n >= 0 && (uint64_t)n > api->ctx.body_limit) {
				cr->too_big = true;
				return answer_413(c, cr);
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		cr->received += *upload_data_size;
		if (!cr->too_big && weir_buf_add(&cr->body, upload_data, *upload_data_size) < 0) {
			cr->too_big = true;
			weir_buf_release(&cr->body);
		}
		*upload_data_size = 0;
		/* Stop reading a chunked body that goes far past the limit. */
		if (cr->too_big && cr->received > 4 * (uint64_t)api->ctx.body_limit)
			return MHD_NO;
		return MHD_YES;
	}
	if (cr->too_big)
		return answer_413(c, cr);
	if (cr->body.len) {
		cr->rq.body = cr->body.buf;
		cr->rq.body_len = cr->body.len;
	}
	api_resp_init(&rs);
	api_dispatch(&cr->rq, &rs);
	return send_resp(c, cr, &rs);
}

static void access_log(struct weir_api *api, struct conn_req *cr, int64_t us)
{
	char line[768], ts[WEIR_ISO_BUFSZ];
	const struct api_route *r = cr->rq.route;
	const char *route = r ? r->pattern : cr->rq.is_static ? "static" : "unmatched";
	int n;

	n = snprintf(line, sizeof(line),
		     "{\"ts\":\"%s\",\"msg\":\"request\",\"request_id\":\"%s\",\"client_id\":%s%s%s,"
		     "\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,\"duration_ms\":%.3f}\n",
		     weir_iso_format(weir_now_us(), WEIR_ISO_Z | WEIR_ISO_FRAC, ts), cr->rq.request_id,
		     cr->rq.who.client_id ? "\"" : "", cr->rq.who.client_id ? cr->rq.who.client_id : "null",
		     cr->rq.who.client_id ? "\"" : "", api_method_name(cr->rq.method), route, cr->status,
		     (double)us / 1000.0);
	if (n > 0 && (size_t)n < sizeof(line) && write(api->log_fd, line, (size_t)n) < 0) {
		/* Nowhere to report it. */
	}
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct weir_api *api = cls;
	struct conn_req *cr = *con_cls;

	(void)c;
	if (!cr)
		return;
	if (!cr->answered)
		cr->status = toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? 408 : 499;
	record(api, cr);
	weir_arena_release(&cr->rq.arena);
	weir_buf_release(&cr->body);
	free(cr);
	*con_cls = NULL;
	atomic_fetch_sub(&api->ctx.in_progress, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	weir_debug("libmicrohttpd: %s", msg);
}

/* ------------------------------------------------------------------ */
/* options                                                              */
/* ------------------------------------------------------------------ */

static int parse_bool(const char *key, const char *v, bool *out, struct weir_buf *err)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") || !strcasecmp(v, "on")) {
		*out = true;
	} else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0") || !strcasecmp(v, "off")) {
		*out = false;
	} else {
		weir_buf_addf(err, "%s must be true or false, not \"%s\"", key, v);
		return WEIR_EINVALID;
	}
	return 0;
}

static int parse_dur_s(const char *key, const char *v, int64_t *out, struct weir_buf *err)
{
	struct weir_buf e = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int64_t us;

	if (weir_duration_parse(v, &us, NULL, &e) < 0 || us < WEIR_US_PER_SEC) {
		weir_buf_addf(err, "%s: %s", key, e.len ? e.buf : "at least one second");
		weir_buf_release(&e);
		return WEIR_EINVALID;
	}
	weir_buf_release(&e);
	*out = us / WEIR_US_PER_SEC;
	return 0;
}

int weir_api_opts_from_config(const struct weir_config *c, struct weir_api_opts *o,
			      struct weir_buf *err)
{
	int64_t v, s;

	memset(o, 0, sizeof(*o));
	o->listen = weir_config_get(c, WEIR_CFG_API_LISTEN);
	o->home = weir_config_get(c, WEIR_CFG_HOME);
	o->dags_folder = weir_config_get(c, WEIR_CFG_DAGS_FOLDER);
	o->ui_dir = weir_config_get(c, WEIR_CFG_UI_DIR);
	o->tls_cert = weir_config_get(c, WEIR_CFG_API_TLS_CERT);
	o->tls_key = weir_config_get(c, WEIR_CFG_API_TLS_KEY);
	if (weir_str_to_i64(weir_config_get(c, WEIR_CFG_API_THREADS), &v) < 0 || v < 0 || v > 1024) {
		weir_buf_addf(err, "api_threads must be a whole number from 0 to 1024, not \"%s\"",
			      weir_config_get(c, WEIR_CFG_API_THREADS));
		return WEIR_EINVALID;
	}
	o->threads = (int)v;
	if (weir_str_to_i64(weir_config_get(c, WEIR_CFG_API_BODY_LIMIT), &v) < 0 || v < 1024 ||
	    v > (INT64_C(1) << 32)) {
		weir_buf_addf(err, "api_body_limit must be a number of bytes from 1024 to 4294967296, not \"%s\"",
			      weir_config_get(c, WEIR_CFG_API_BODY_LIMIT));
		return WEIR_EINVALID;
	}
	o->body_limit = (size_t)v;
	if (parse_dur_s("api_timeout", weir_config_get(c, WEIR_CFG_API_TIMEOUT), &s, err) < 0)
		return WEIR_EINVALID;
	o->timeout_s = s > 86400 ? 86400 : (int)s;
	if (parse_dur_s("api_token_ttl", weir_config_get(c, WEIR_CFG_API_TOKEN_TTL), &o->token_ttl_s, err) < 0 ||
	    parse_dur_s("api_refresh_ttl", weir_config_get(c, WEIR_CFG_API_REFRESH_TTL), &o->refresh_ttl_s, err) < 0)
		return WEIR_EINVALID;
	if (o->token_ttl_s > 31536000) {
		weir_buf_addstr(err, "api_token_ttl is at most a year");
		return WEIR_EINVALID;
	}
	if (parse_dur_s("heartbeat_timeout", weir_config_get(c, WEIR_CFG_HEARTBEAT_TIMEOUT), &s, err) < 0)
		return WEIR_EINVALID;
	o->heartbeat_timeout_ms = s * 1000;
	if (parse_bool("api_access_log", weir_config_get(c, WEIR_CFG_API_ACCESS_LOG), &o->access_log, err) < 0 ||
	    parse_bool("metrics_public", weir_config_get(c, WEIR_CFG_METRICS_PUBLIC), &o->metrics_public, err) < 0)
		return WEIR_EINVALID;
	if (!*o->tls_cert != !*o->tls_key) {
		weir_buf_addstr(err, "set both api_tls_cert and api_tls_key, or neither");
		return WEIR_EINVALID;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* start and stop                                                       */
/* ------------------------------------------------------------------ */

static int open_store(void *arg, struct weir_store **out, struct weir_buf *err)
{
	struct weir_api *api = arg;
	int rc = weir_pg_store_open(api->database_url, out, err);

	if (rc == 0)
		rc = weir_pg_store_set_app(*out, "weir-api", err);
	if (rc < 0 && *out) {
		weir_store_close(*out);
		*out = NULL;
	}
	return rc;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" -> a socket address. */
static int resolve(const char *listen, struct sockaddr_storage *ss, socklen_t *len, bool *v6,
		   struct weir_buf *err)
{
	char host[256], port[16];
	const char *colon;
	struct addrinfo hints, *res = NULL;
	int rc;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(close - listen - 1), listen + 1);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || (size_t)(colon - listen) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	}
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		goto bad;
	snprintf(port, sizeof(port), "%s", colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0 || !res) {
		weir_buf_addf(err, "cannot resolve listen address \"%s\": %s", listen, gai_strerror(rc));
		return WEIR_EINVALID;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
bad:
	weir_buf_addf(err, "invalid listen address \"%s\" (expected HOST:PORT, [IPv6]:PORT or :PORT)", listen);
	return WEIR_EINVALID;
}

static int read_pem(const char *path, char **out, struct weir_buf *err)
{
	struct weir_buf b = WEIR_BUF_INIT(1 << 20);
	int rc = weir_buf_read_file(&b, path);

	if (rc < 0) {
		weir_buf_addf(err, "could not read TLS file \"%s\": %s", path,
			      rc == WEIR_ETOOBIG ? "larger than 1 MiB" : strerror(-rc));
		weir_buf_release(&b);
		return WEIR_EINVALID;
	}
	*out = weir_buf_detach(&b, NULL);
	return 0;
}

static void free_api(struct weir_api *api)
{
	if (!api)
		return;
	api_pool_free(api->ctx.pool);
	api_metrics_free(api->ctx.metrics);
	api_ctx_release(&api->ctx);
	free(api->database_url);
	if (api->tls_key) {
		sodium_memzero(api->tls_key, strlen(api->tls_key));
		free(api->tls_key);
	}
	free(api->tls_cert);
	free(api);
}

static int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	int t = n > 0 ? (int)(2 * n) : 4;
	return t < 4 ? 4 : t > 64 ? 64 : t;
}

/* The database must have the API's schema (migration 0002). */
static int check_schema(struct weir_api *api, struct weir_buf *err)
{
	struct weir_store *st = NULL;
	const char *p[1] = {"-"};
	json_t *j = NULL;
	int rc = api_pool_get(api->ctx.pool, 30000, &st, err);

	if (rc < 0)
		return rc;
	rc = weir_store_query_json(st, "api.client.auth", 1, p, &j, err);
	json_decref(j);
	api_pool_put(api->ctx.pool, st, rc == WEIR_ECONN);
	if (rc == WEIR_ENOTFOUND)
		return 0;
	if (rc == 0)
		return 0;
	weir_buf_addstr(err, " (is the database migrated? run `weir db migrate`)");
	return rc;
}

int weir_api_start(const struct weir_api_opts *o, struct weir_api **out, struct weir_buf *err)
{
	struct weir_api *api = weir_xcalloc(1, sizeof(*api));
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	bool v6 = false, sigpipe_ignored = false;
	unsigned int flags;
	const union MHD_DaemonInfo *info;
	struct sigaction old;
	int threads, rc;

	*out = NULL;
	if (sodium_init() < 0) {
		weir_buf_addstr(err, "libsodium could not start");
		free(api);
		return WEIR_EINVALID;
	}
	api_routes_init();
	api_ctx_init(&api->ctx);
	if (!o->database_url || !*o->database_url) {
		weir_buf_addstr(err, "the API needs a database URL");
		rc = WEIR_EINVALID;
		goto fail;
	}
	api->database_url = weir_xstrdup(o->database_url);
	api->ctx.home = weir_xstrdup(o->home && *o->home ? o->home : ".");
	api->ctx.dags_folder = weir_xstrdup(o->dags_folder && *o->dags_folder ? o->dags_folder : "dags");
	api->ctx.body_limit = o->body_limit ? o->body_limit : 16u << 20;
	api->ctx.token_ttl_s = o->token_ttl_s > 0 ? o->token_ttl_s : 3600;
	api->ctx.refresh_ttl_s = o->refresh_ttl_s > 0 ? o->refresh_ttl_s : 30 * 86400;
	api->ctx.heartbeat_timeout_ms = o->heartbeat_timeout_ms > 0 ? o->heartbeat_timeout_ms : 30000;
	api->ctx.metrics_public = o->metrics_public;
	randombytes_buf(&api->ctx.request_prefix, sizeof(api->ctx.request_prefix));
	api->access_log = o->access_log;
	api->log_fd = o->log_fd > 0 ? o->log_fd : 2;
	{
		char *ui = o->ui_dir && *o->ui_dir ? weir_xstrdup(o->ui_dir) : weir_api_default_ui_dir(o->home);
		char real[PATH_MAX];
		struct stat sb;
		if (ui && realpath(ui, real) && stat(real, &sb) == 0 && S_ISDIR(sb.st_mode))
			api->ctx.ui_dir = weir_xstrdup(real);
		else if (ui)
			weir_warn("web UI folder \"%s\" is not usable; serving no UI", ui);
		free(ui);
	}
	threads = o->threads > 0 ? o->threads : default_threads();
	api->ctx.metrics = api_metrics_new(api_nroutes);
	/* A handle per worker thread, plus the health check's. */
	api->ctx.pool = api_pool_new(threads + 2, open_store, api);
	rc = check_schema(api, err);
	if (rc < 0)
		goto fail;
	if (o->tls_cert && *o->tls_cert) {
		if (!o->tls_key || !*o->tls_key) {
			weir_buf_addstr(err, "TLS needs both a certificate and a key file");
			rc = WEIR_EINVALID;
			goto fail;
		}
		rc = read_pem(o->tls_cert, &api->tls_cert, err);
		if (rc == 0)
			rc = read_pem(o->tls_key, &api->tls_key, err);
		if (rc < 0)
			goto fail;
	}
	rc = resolve(o->listen && *o->listen ? o->listen : "127.0.0.1:8080", &ss, &sslen, &v6, err);
	if (rc < 0)
		goto fail;
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
		sigpipe_ignored = true;
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (api->tls_cert)
		flags |= MHD_USE_TLS;
	{
		struct MHD_OptionItem opts[16];
		int n = 0;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
						    o->timeout_s > 0 ? o->timeout_s : 30, NULL};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, 4096, NULL};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_log, api};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, api};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL};
		if (sigpipe_ignored)
			opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, NULL};
		if (api->tls_cert) {
			opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, api->tls_cert};
			opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, api->tls_key};
		}
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
		errno = 0;
		api->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, api, MHD_OPTION_ARRAY, opts,
					       MHD_OPTION_END);
	}
	if (!api->daemon) {
		weir_buf_addf(err, "could not listen on %s%s%s", o->listen ? o->listen : "127.0.0.1:8080",
			      errno ? ": " : " (address in use, or bad TLS files?)", errno ? strerror(errno) : "");
		rc = WEIR_EINVALID;
		goto fail;
	}
	info = MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_BIND_PORT);
	api->port = info ? info->port : 0;
	*out = api;
	return 0;
fail:
	free_api(api);
	return rc;
}

int weir_api_port(const struct weir_api *api)
{
	return api->port;
}

void weir_api_stop(struct weir_api *api, int64_t grace_ms)
{
	MHD_socket s;
	int64_t deadline;

	if (!api)
		return;
	atomic_store(&api->ctx.draining, true);
	s = MHD_quiesce_daemon(api->daemon);
	deadline = weir_mono_ms() + (grace_ms > 0 ? grace_ms : 0);
	while (atomic_load(&api->ctx.in_progress) > 0 && weir_mono_ms() < deadline) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (atomic_load(&api->ctx.in_progress) > 0)
		weir_warn("stopping the API with %d requests still in progress", atomic_load(&api->ctx.in_progress));
	MHD_stop_daemon(api->daemon);
	if (s != MHD_INVALID_SOCKET)
		close(s);
	free_api(api);
}

/* ------------------------------------------------------------------ */
/* the UI folder                                                        */
/* ------------------------------------------------------------------ */

static bool is_dir(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

char *weir_api_default_ui_dir(const char *home)
{
	char exe[PATH_MAX], *p, *cand;
	ssize_t n;

	if (home && *home) {
		cand = weir_xasprintf("%s/ui", home);
		if (is_dir(cand))
			return cand;
		free(cand);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	p = strrchr(exe, '/');
	if (!p)
		return NULL;
	*p = '\0';
	/* Installed: PREFIX/bin/weir -> PREFIX/share/weir/ui. */
	cand = weir_xasprintf("%s/../share/weir/ui", exe);
	if (is_dir(cand))
		return cand;
	free(cand);
	/* A build tree: walk up to the source tree's ui-static/. */
	for (int up = 0; up < 5; up++) {
		cand = weir_xasprintf("%s/ui-static", exe);
		if (is_dir(cand))
			return cand;
		free(cand);
		p = strrchr(exe, '/');
		if (!p || p == exe)
			break;
		*p = '\0';
	}
	return NULL;
}
