/*
 * api_int.h: private to api/.
 *
 * The gateway is two layers:
 *
 *   server.c     libmicrohttpd: sockets, threads, TLS, body collection,
 *                the access log.  It turns a connection's request into a
 *                struct api_req and sends the struct api_resp back.
 *   everything   plain C over struct api_req/api_resp: routing, auth,
 *   else         validation, handlers.  api_dispatch() is the entry point
 *                and needs no socket, so the fuzz target and unit tests
 *                drive it directly (with a fake store).
 *
 * REQUEST LIFETIME.  Everything a request allocates lives in its arena
 * (req->arena), released after the response is queued: strings, decoded
 * query arguments, the parsed JSON body (a cleanup decrefs it), the store
 * handle (a cleanup gives it back to the pool).  A response body is one
 * malloc'd buffer that the server hands to MHD (which frees it).
 *
 * ERRORS.  Handlers report every failure through api_error() and friends,
 * which build the one error shape:
 *
 *   {"type": "about:blank", "title": "Not Found", "status": 404,
 *    "detail": "...", "error": {"status": 404, "title": "Not Found",
 *    "detail": "...", "field": "dag_id"}}
 *
 * (the top-level members are RFC 7807, as Airflow's clients read them;
 * "error" is weir's).  Bad input is always a 4xx; 500 means a bug or a
 * database failure and is logged with the request id.
 */
#ifndef WEIR_API_INT_H
#define WEIR_API_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "common/arena.h"
#include "common/buf.h"
#include "engine/store.h"

/* ------------------------------------------------------------------ */
/* methods and scopes                                                   */
/* ------------------------------------------------------------------ */

enum api_method {
	API_GET,
	API_HEAD,
	API_POST,
	API_PUT,
	API_PATCH,
	API_DELETE,
	API_OPTIONS,
	API_OTHER,
	API__METHODS,
};

enum api_method api_method_parse(const char *s);
const char *api_method_name(enum api_method m);

/*
 * Scopes.  A token carries a set; a route needs one.  "admin" implies
 * every other scope (api_scopes_allow).
 */
#define API_SCOPE_MAP(XX)                      \
	XX(DAGS_READ, "dags:read")             \
	XX(DAGS_WRITE, "dags:write")           \
	XX(RUNS_READ, "runs:read")             \
	XX(RUNS_TRIGGER, "runs:trigger")       \
	XX(RUNS_WRITE, "runs:write")           \
	XX(ORDERS_READ, "orders:read")         \
	XX(ORDERS_WRITE, "orders:write")       \
	XX(POOLS_READ, "pools:read")           \
	XX(POOLS_WRITE, "pools:write")         \
	XX(METRICS_READ, "metrics:read")       \
	XX(ADMIN, "admin")

enum api_scope_bit {
#define XX(id, name) API_SCOPE_BIT_##id,
	API_SCOPE_MAP(XX)
#undef XX
	API_SCOPE__COUNT,
};
enum {
#define XX(id, name) API_SCOPE_##id = 1u << API_SCOPE_BIT_##id,
	API_SCOPE_MAP(XX)
#undef XX
};
#define API_SCOPE_ALL ((1u << API_SCOPE__COUNT) - 1)

const char *api_scope_name(unsigned bit_index);
/* Parses a list separated by spaces and/or commas into *bits.  0, or
 * WEIR_EINVALID naming the first unknown scope in err. */
int api_scopes_parse(const char *list, unsigned *bits, struct weir_buf *err);
/* Bits from a JSON array of names; unknown names are ignored (stored data). */
unsigned api_scopes_from_json(json_t *arr);
/* A new JSON array of the names in bits. */
json_t *api_scopes_to_json(unsigned bits);
/* "a b c" (space-separated, RFC 6749), into the arena. */
const char *api_scopes_string(struct weir_arena *a, unsigned bits);
/* True when a token with `have` may use a route that needs `need`. */
static inline bool api_scopes_allow(unsigned have, unsigned need)
{
	return (have & API_SCOPE_ADMIN) || (have & need) == need;
}

/* ------------------------------------------------------------------ */
/* requests and responses                                               */
/* ------------------------------------------------------------------ */

#define API_MAX_PARAMS 6
#define API_MAX_SEGMENTS 16
#define API_MAX_ARGS 64

struct api_kv {
	const char *key;
	const char *value; /* "" for a key without '=' */
};

/* Who is calling (after authentication). */
struct api_principal {
	const char *client_id; /* NULL: anonymous */
	const char *username;  /* password-grant tokens only */
	unsigned scopes;
	bool admin;
};

struct api_ctx;
struct api_route;

struct api_req {
	/* set by the server before api_dispatch */
	struct api_ctx *ctx;
	struct weir_arena arena;
	enum api_method method;
	const char *method_name;
	const char *target;        /* raw request-target: path?query */
	const char *authorization; /* headers, or NULL */
	const char *content_type;
	const char *accept;
	const char *if_none_match;
	const char *body;          /* NULL when there is none */
	size_t body_len;
	char request_id[48];

	/* set by api_dispatch */
	const char *path;          /* raw path, before '?' */
	struct api_kv *args;       /* decoded query arguments, in order */
	size_t nargs;
	const struct api_route *route;
	const char *param[API_MAX_PARAMS]; /* decoded path parameters */
	struct api_principal who;
	json_t *json;              /* the parsed body (JSON routes), borrowed */
	struct weir_store *st;     /* checked out on first use (api_store) */
	void *checkout;            /* private to api_store */
	bool is_static;            /* answered by the static file server */
};

struct api_header {
	const char *name;
	const char *value;
};

#define API_MAX_HEADERS 10

struct api_resp {
	int status;                /* 0 until a handler answers */
	const char *content_type;
	char *body;                /* malloc'd; the server frees it */
	size_t len;
	int fd;                    /* >= 0: send len bytes of this file from fd_off */
	uint64_t fd_off;
	struct api_header headers[API_MAX_HEADERS];
	size_t nheaders;
	const char *error_field;   /* for the access log */
};

void api_resp_init(struct api_resp *rs);
/* Frees what a response owns (when the server could not send it). */
void api_resp_release(struct api_resp *rs);

/* Adds a header (name and value are copied into the request's arena). */
void api_header(struct api_req *rq, struct api_resp *rs, const char *name, const char *value);

/* A JSON body; steals j.  status 200, 201, ... */
void api_json(struct api_resp *rs, int status, json_t *j);
/* A body of the given type (copied). */
void api_text(struct api_resp *rs, int status, const char *content_type, const char *text,
	      size_t len);
void api_empty(struct api_resp *rs, int status);

/* The one error shape.  field may be NULL. */
void api_error(struct api_req *rq, struct api_resp *rs, int status, const char *field,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Maps a store error: ENOTFOUND 404, EINVALID 400, EEXISTS/ECONFLICT 409,
 * ECONN 503, anything else 500 (logged). */
void api_store_error(struct api_req *rq, struct api_resp *rs, int rc, const char *what,
		     struct weir_buf *err);
/* 401 with WWW-Authenticate: Bearer (RFC 6750 error code and message). */
void api_unauthorized(struct api_req *rq, struct api_resp *rs, const char *code,
		      const char *detail);
const char *api_status_title(int status);

/* ------------------------------------------------------------------ */
/* parsing helpers (pure; http.c)                                       */
/* ------------------------------------------------------------------ */

/*
 * Percent-decodes s[0..n) into the arena.  plus: '+' means ' ' (forms).
 * Returns NULL for a bad escape or an encoded NUL.
 */
char *api_unescape(struct weir_arena *a, const char *s, size_t n, bool plus);
/* Splits "k=v&k2=v2" into decoded pairs (appended to out, at most max).
 * Returns the count, or -1 on a bad escape or too many pairs. */
int api_parse_form(struct weir_arena *a, const char *s, size_t n, struct api_kv *out, size_t max);

/* The first value of query argument key, or NULL. */
const char *api_arg(const struct api_req *rq, const char *key);
/*
 * Query arguments that may repeat (?state=a&state=b, also "a,b"): a new
 * JSON array of the values, or NULL when absent.
 */
json_t *api_arg_list(const struct api_req *rq, const char *key);

/*
 * Typed query arguments.  Each returns 0 (value set, or left alone when
 * absent) or answers 400 naming the argument and returns -1.
 */
int api_arg_int(struct api_req *rq, struct api_resp *rs, const char *key, int64_t min,
		int64_t max, int64_t *out);
int api_arg_bool(struct api_req *rq, struct api_resp *rs, const char *key, int *out /* -1 unset */);
/* An ISO-8601 instant, normalised to "YYYY-MM-DDTHH:MM:SS.ffffffZ" in the arena. */
int api_arg_time(struct api_req *rq, struct api_resp *rs, const char *key, const char **out);
/* Checks that every query argument is one of allowed (NULL-terminated). */
int api_args_known(struct api_req *rq, struct api_resp *rs, const char *const *allowed);
/* limit (1..max, default def) and offset (>= 0) as decimal strings. */
int api_paging(struct api_req *rq, struct api_resp *rs, int64_t def, int64_t max,
	       const char **limit, const char **offset);

/* Parses an ISO-8601 instant into the normalised form; NULL when invalid. */
const char *api_time_norm(struct weir_arena *a, const char *s, int64_t *us);

/*
 * Body fields.  A field spec lists the members a JSON object may have and
 * their types; api_body_check() answers 400 for a member that is unknown
 * or of the wrong type (naming it) and returns -1.
 */
enum api_ftype {
	API_F_STRING,
	API_F_INT,
	API_F_NUMBER,
	API_F_BOOL,
	API_F_OBJECT,
	API_F_ARRAY,
	API_F_STRINGS, /* array of strings */
	API_F_TIME,    /* ISO-8601 string */
	API_F_ANY,
	API_F_READONLY, /* known but may not be written: 400 when present */
};
struct api_field {
	const char *name;
	enum api_ftype type;
	bool nullable;
};
int api_body_check(struct api_req *rq, struct api_resp *rs, json_t *obj,
		   const struct api_field *fields);
/* The request body as a JSON object (400 when missing or not an object). */
json_t *api_body_object(struct api_req *rq, struct api_resp *rs);

/* Valid identifiers: DAG and task ids ([A-Za-z0-9_.-]{1,100}). */
bool api_id_valid(const char *s);
bool api_uuid_valid(const char *s);
/* Media type of a Content-Type/Accept value is t (case-insensitive, params ignored). */
bool api_media_is(const char *value, const char *type);
/* Accept prefers text/plain over JSON. */
bool api_accepts_text(const char *accept);

/* Base64url without padding of n bytes (dst has 4*n/3+3 room). */
void api_b64url(char *dst, const unsigned char *src, size_t n);
/* Hex SHA-256 of s (65 bytes with the NUL). */
void api_sha256_hex(const char *s, size_t n, char out[65]);

/* ------------------------------------------------------------------ */
/* routes                                                               */
/* ------------------------------------------------------------------ */

typedef void api_handler_fn(struct api_req *rq, struct api_resp *rs);

enum {
	API_R_PUBLIC = 1 << 0,   /* no token needed */
	API_R_METRICS = 1 << 1,  /* public when metrics_public */
	API_R_JSON = 1 << 2,     /* needs a JSON object body (415/400 otherwise) */
	API_R_FORM = 1 << 3,     /* OAuth2: form or JSON body, checked by the handler */
	API_R_YAML = 1 << 4,     /* a YAML document (DAG upload) */
	API_R_NOBODY = 1 << 5,   /* a body, if any, is ignored */
};

struct api_route {
	enum api_method method;
	const char *pattern;     /* "/api/v1/dags/{dag_id}": also the metrics label */
	unsigned scope;          /* API_SCOPE_*, 0 with API_R_PUBLIC */
	unsigned flags;
	api_handler_fn *fn;
	/* derived at start-up (api_routes_init) */
	const char *seg[API_MAX_SEGMENTS];
	size_t seg_len[API_MAX_SEGMENTS];
	int nseg;
	int nliteral;
};

extern struct api_route api_routes[];
extern const size_t api_nroutes;
/* Splits the patterns (idempotent, thread-safe). */
void api_routes_init(void);

enum api_match {
	API_MATCH_OK,
	API_MATCH_NONE,        /* 404 */
	API_MATCH_METHOD,      /* 405: *allow lists the methods */
	API_MATCH_BAD,         /* 400: a bad escape in the path */
};
/*
 * Finds the route for method and raw path: the one with the most literal
 * segments among those that match.  HEAD matches GET routes.  Decoded
 * parameters go to rq->param.  On API_MATCH_METHOD, allow gets "GET, POST"
 * (arena).
 */
enum api_match api_route_find(struct api_req *rq, const char *path, const char **allow);

/*
 * Handles one request completely: routing, authentication, body checks,
 * the handler.  Always leaves a response in rs.
 */
void api_dispatch(struct api_req *rq, struct api_resp *rs);

/* Route index for metrics: the route's position, or api_nroutes for
 * "unmatched" and api_nroutes + 1 for static files. */
size_t api_route_index(const struct api_route *r);

/* ------------------------------------------------------------------ */
/* store pool (pool.c)                                                  */
/* ------------------------------------------------------------------ */

typedef int api_store_open_fn(void *arg, struct weir_store **out, struct weir_buf *err);

struct api_pool;
/* A pool of at most max handles opened on demand with open(arg). */
struct api_pool *api_pool_new(int max, api_store_open_fn *open, void *arg);
void api_pool_free(struct api_pool *p);
/* Waits up to wait_ms for a handle.  0, WEIR_ETIMEDOUT, or an open error. */
int api_pool_get(struct api_pool *p, int64_t wait_ms, struct weir_store **out,
		 struct weir_buf *err);
/* Gives a handle back (broken: close it instead of keeping it). */
void api_pool_put(struct api_pool *p, struct weir_store *st, bool broken);
void api_pool_stats(struct api_pool *p, int *open, int *busy);

/*
 * The request's store handle, checked out once and returned when the
 * request ends.  NULL after answering 503 (no connection).
 */
struct weir_store *api_store(struct api_req *rq, struct api_resp *rs);

/* ------------------------------------------------------------------ */
/* metrics (metrics.c)                                                  */
/* ------------------------------------------------------------------ */

struct api_metrics;
struct api_metrics *api_metrics_new(size_t nroutes);
void api_metrics_free(struct api_metrics *m);
void api_metrics_count(struct api_metrics *m, size_t route, enum api_method method, int status,
		       int64_t duration_us);
/* Appends the HTTP series in Prometheus text format. */
void api_metrics_format(struct api_metrics *m, struct weir_buf *out);

/* ------------------------------------------------------------------ */
/* the shared context                                                   */
/* ------------------------------------------------------------------ */

struct api_ctx {
	/* configuration (owned copies) */
	char *home;
	char *dags_folder;
	char *ui_dir;            /* NULL: no static UI */
	size_t body_limit;
	int64_t token_ttl_s;
	int64_t refresh_ttl_s;
	int64_t heartbeat_timeout_ms;
	bool metrics_public;

	struct api_pool *pool;
	struct api_metrics *metrics;

	/* /health is cached for a second (it is polled hard) */
	pthread_mutex_t health_lock;
	int64_t health_at_us;    /* monotonic; 0: never */
	char *health_body;       /* malloc'd JSON */

	/* the database part of /metrics, cached likewise */
	pthread_mutex_t metrics_lock;
	int64_t metrics_at_us;
	char *metrics_db;        /* malloc'd text */

	struct api_token_cache *tokens; /* auth.c: recently verified tokens */
	atomic_int_fast64_t tokens_pruned_at; /* monotonic us of the last prune */
	atomic_uint_fast64_t request_seq;
	uint64_t request_prefix; /* random per process */
	atomic_bool draining;    /* stopping: add Connection: close */
	atomic_int in_progress;  /* requests between uri_log and completed */
};

/* Initialises/releases the parts of a context that are not options. */
void api_ctx_init(struct api_ctx *ctx);
void api_ctx_release(struct api_ctx *ctx);

/* ------------------------------------------------------------------ */
/* auth (auth.c)                                                        */
/* ------------------------------------------------------------------ */

/* A cache of verified access tokens (auth.c); see api_token_cache_clear. */
struct api_token_cache;
struct api_token_cache *api_token_cache_new(void);
void api_token_cache_free(struct api_token_cache *c);
/* Forgets every cached token: after a revocation, or a client or user
 * changed or deleted through this gateway. */
void api_token_cache_clear(struct api_token_cache *c);

/*
 * Authenticates rq from its Authorization header and checks need.
 * Returns 0 with rq->who set, or answers 401/403 and returns -1.
 */
int api_authenticate(struct api_req *rq, struct api_resp *rs, unsigned need);

/* ------------------------------------------------------------------ */
/* handlers                                                             */
/* ------------------------------------------------------------------ */

/* misc.c */
api_handler_fn api_h_health, api_h_version, api_h_openapi, api_h_metrics;
/* auth.c */
api_handler_fn api_h_token, api_h_revoke, api_h_introspect;
api_handler_fn api_h_clients_list, api_h_client_post, api_h_client_get, api_h_client_patch,
	api_h_client_delete;
api_handler_fn api_h_users_list, api_h_user_post, api_h_user_get, api_h_user_patch,
	api_h_user_delete;
/* dags.c */
api_handler_fn api_h_dags_list, api_h_dag_get, api_h_dag_patch, api_h_dag_details,
	api_h_dag_tasks, api_h_dag_task, api_h_dag_source, api_h_dag_upload, api_h_dag_put,
	api_h_import_errors, api_h_import_error;
/* runs.c */
api_handler_fn api_h_runs_list, api_h_runs_batch, api_h_run_post, api_h_run_get,
	api_h_run_patch, api_h_run_delete, api_h_tis_list, api_h_ti_get, api_h_ti_patch,
	api_h_ti_logs, api_h_xcom_list, api_h_xcom_get;
/* pools.c */
api_handler_fn api_h_pools_list, api_h_pool_post, api_h_pool_get, api_h_pool_patch,
	api_h_pool_delete;
/* orders.c */
api_handler_fn api_h_services_list, api_h_order_post, api_h_orders_list, api_h_order_get,
	api_h_order_abort, api_h_order_events;
/* grid.c (weir's extensions for the web UI) */
api_handler_fn api_h_dag_grid, api_h_run_events;
/* The query arguments of an events listing (kind, limit, offset), checked:
 * 0, or -1 after answering 400. */
int api_events_args(struct api_req *rq, struct api_resp *rs, const char **kind, const char **limit,
		    const char **offset);

/* static.c: GET/HEAD of paths outside the API.  Returns false when path
 * is not a static-file path (then it is an API 404). */
bool api_static(struct api_req *rq, struct api_resp *rs);

/* The embedded OpenAPI document (generated from docs/openapi.json). */
extern const char weir_api_openapi_json[];
extern const size_t weir_api_openapi_json_len;

/*
 * Runs an API read.  Returns 0 with *out (kept alive until the request
 * ends: do not decref), WEIR_ENOTFOUND without answering, or another
 * error after answering it (503/500).
 */
int api_query(struct api_req *rq, struct api_resp *rs, const char *name, int n,
	      const char *const *params, json_t **out);
/* Same, but also answers WEIR_ENOTFOUND (404 with not_found as detail); 0 or -1.
 * *out is a new reference the caller owns (api_json steals it). */
int api_query_or_answer(struct api_req *rq, struct api_resp *rs, const char *name, int n,
			const char *const *params, json_t **out, const char *not_found);

/* The string member k of o, or "" (never NULL). */
const char *api_jstr(json_t *o, const char *k);

/*
 * Answers status with the read's JSON text as it came from the database
 * (no parsing in C), or the error (404 with not_found).  For reads whose
 * result is the whole response body.  0 or -1.
 */
int api_pass(struct api_req *rq, struct api_resp *rs, int status, const char *name, int n,
	     const char *const *params, const char *not_found);

/*
 * The read's JSON text as it came from the database, in *text (malloc'd:
 * the caller frees it or hands it to the response), or the error answered
 * (404 with not_found).  0 or -1.
 */
int api_query_text(struct api_req *rq, struct api_resp *rs, const char *name, int n,
		   const char *const *params, char **text, size_t *len, const char *not_found);

/* An arena cleanup that decrefs a json_t. */
void api_decref_cb(void *json);
/* Keeps j alive until the request ends (decref at release); returns j. */
json_t *api_keep(struct api_req *rq, json_t *j);

/* Decimal string of v in the arena. */
const char *api_i64(struct weir_arena *a, int64_t v);
/* A compact JSON text of j in the arena (NULL stays NULL). */
const char *api_json_text(struct weir_arena *a, json_t *j);

#endif
