/*
 * check_api.h: helpers for the API tests.
 *
 *   - a fake store (no database) and a context around it, to drive
 *     api_dispatch() directly (unit tests);
 *   - an HTTP client over libcurl (status, headers, body, parsed JSON);
 *   - a gateway in the test process against a fresh database, OAuth2
 *     clients and tokens, and a real scheduler as a child process.
 */
#ifndef WEIR_CHECK_API_H
#define WEIR_CHECK_API_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "api/api.h"
#include "api/api_int.h"
#include "engine/store.h"
#include "tests/api/fake_store.h"

/* ------------------------------------------------------------------ */
/* without a database                                                   */
/* ------------------------------------------------------------------ */

/* fake_store_new, fake_store_set, fake_store_clear: tests/api/fake_store.h */

/* A context whose pool hands out fake stores.  home/ui may be NULL. */
struct api_ctx *fake_ctx_new(const char *home, const char *ui_dir);
void fake_ctx_free(struct api_ctx *ctx);

/* Runs one request through api_dispatch.  Returns the response (body
 * NUL-terminated, owned by the caller: resp_free). */
struct fake_resp {
	int status;
	char *body;
	size_t len;
	char *content_type;
	json_t *json;          /* parsed body when it is JSON, else NULL */
	char headers[2048];    /* "Name: value\n" lines */
	bool has_fd;
};
struct fake_resp *fake_request(struct api_ctx *ctx, const char *method, const char *target,
			       const char *auth, const char *ctype, const char *body,
			       const char *if_none_match);
void fake_resp_free(struct fake_resp *r);
/* The value of a response header, or NULL (static buffer). */
const char *fake_header(struct fake_resp *r, const char *name);

/* Checks the error shape: status equal everywhere, title and detail set;
 * field (may be NULL) as given when not NULL. */
void check_error_shape(json_t *body, int status, const char *field);

/* ------------------------------------------------------------------ */
/* HTTP                                                                 */
/* ------------------------------------------------------------------ */

struct http_res {
	long status;
	char *body;
	size_t len;
	json_t *json;          /* NULL when the body is not JSON */
	char *headers;         /* raw header block */
};

/* Base URL for the helpers ("http://127.0.0.1:PORT"). */
void http_base(const char *base);
/*
 * One request.  token: "Bearer TOKEN" is sent when set; ctype with body;
 * extra: NULL-terminated "Name: value" strings.  Never fails the test on
 * HTTP errors (it returns them); fails it on transport errors.
 */
struct http_res *http(const char *method, const char *path, const char *token, const char *ctype,
		      const char *body, size_t len, const char *const *extra);
void http_free(struct http_res *r);
/* Shorthands. */
struct http_res *http_get(const char *path, const char *token);
struct http_res *http_json(const char *method, const char *path, const char *token, const char *json);
/* The value of a header (case-insensitive) or NULL; static buffer. */
const char *http_header(struct http_res *r, const char *name);

/* ------------------------------------------------------------------ */
/* a gateway against PostgreSQL                                         */
/* ------------------------------------------------------------------ */

struct api_env {
	char db[512];           /* conninfo of the test's database */
	char home[512];         /* WEIR_HOME */
	char dags[512];         /* the DAG folder */
	char ui[512];           /* a UI folder with a few files */
	struct weir_store *st;  /* the test's own store handle */
	struct weir_api *api;
	int port;
	pid_t sched;            /* a scheduler child, or 0 */
	char sched_log[600];
};

/* Fresh database, folders and a gateway (opts tweakable through o, may be NULL). */
void api_env_init(struct api_env *e, const struct weir_api_opts *o);
void api_env_release(struct api_env *e);
/* Writes DAGS/name. */
void api_env_dag(struct api_env *e, const char *name, const char *yaml);
/* Loads DAGS/name and records it in the database as a scheduler would. */
void api_env_sync(struct api_env *e, const char *name);
/* Starts / stops `$WEIR_BINARY scheduler --dags-folder DAGS`. */
void api_env_scheduler(struct api_env *e);
void api_env_scheduler_stop(struct api_env *e);
/* Waits until SQL returns "t". */
void api_env_wait_sql(struct api_env *e, int timeout_s, const char *sql);
/* Runs SQL, first value or NULL (malloc'd). */
char *api_env_sql(struct api_env *e, const char *sql);

/* Creates a client and returns its id/secret (static per slot 0..7). */
void api_client(struct api_env *e, int slot, const char *scopes, const char **id, const char **secret);
/* A fresh access token for a new client with these scopes (malloc'd). */
char *api_token(struct api_env *e, const char *scopes);
/* Polls GET path until JSON member key equals one of want ("|"-separated); returns it. */
const char *api_wait_field(const char *path, const char *token, const char *key, const char *want,
			   int timeout_s);

#endif
