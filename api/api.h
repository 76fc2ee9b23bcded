/*
 * api.h: weir's HTTP gateway (libmicrohttpd + jansson), as other code
 * sees it.
 *
 * The gateway serves the Airflow-compatible REST API (/api/v1), weir's
 * own resources (services and orders, DAG source and upload, OAuth2
 * clients and users), the OAuth2 endpoints (/oauth/token, /revoke,
 * /introspect), /health, /metrics and the static web UI.  It never
 * touches scheduler memory: it writes rows, and the database notifies the
 * schedulers (see db/migrations/0001_core.sql, weir_notify_change).
 *
 * Embedding (weir api, weir standalone):
 *
 *   struct weir_api_opts o;
 *   struct weir_api *api;
 *   weir_api_opts_from_config(&cfg, &o, &err);   // or fill o by hand
 *   o.database_url = url;                         // required
 *   weir_api_start(&o, &api, &err);               // threads are running
 *   ... until SIGTERM ...
 *   weir_api_stop(api, 10000);                    // in-flight requests finish
 *
 * weir_api_start() returns once the socket listens; requests are served
 * by the gateway's own threads, so the caller's thread is free (standalone
 * runs the scheduler loop in it).  The strings of the options are copied.
 * Nothing here installs signal handlers or touches SIGPIPE: the caller
 * owns the process's signals (MHD is told so).  See docs/internals/api.md.
 */
#ifndef WEIR_API_H
#define WEIR_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct weir_api;
struct weir_config;
struct weir_store;

struct weir_api_opts {
	const char *listen;           /* "ADDR:PORT" (IPv4, [IPv6] or host name); port 0
					 picks a free port (see weir_api_port) */
	const char *database_url;     /* libpq conninfo; required */
	const char *home;             /* WEIR_HOME: task logs are read below it */
	const char *dags_folder;      /* DAG uploads are written here */
	const char *ui_dir;           /* static files; NULL or "": the default search
					 (weir_api_default_ui_dir) */
	const char *tls_cert;         /* PEM files: both or neither */
	const char *tls_key;
	int threads;                  /* worker threads; 0: two per core, at least 4 */
	size_t body_limit;            /* largest request body; 0: 16 MiB */
	int64_t token_ttl_s;          /* access token lifetime of new clients; 0: 1 h */
	int64_t refresh_ttl_s;        /* refresh token lifetime; 0: 30 days */
	int64_t heartbeat_timeout_ms; /* a scheduler silent this long is unhealthy; 0: 30 s */
	int timeout_s;                /* idle connection timeout; 0: 30 s */
	bool metrics_public;          /* /metrics without a token */
	bool access_log;              /* one JSON line per request */
	int log_fd;                   /* where access log lines go; 0 means stderr */
};

/*
 * Fills o from the settings (api_listen, api_threads, api_body_limit,
 * api_tls_cert/key, api_token_ttl, api_refresh_ttl, api_timeout,
 * api_access_log, metrics_public, ui_dir, home, dags_folder,
 * heartbeat_timeout).  Strings are borrowed from c.  database_url is left
 * NULL: an empty setting means the private cluster, which only the CLI
 * knows how to start.  Returns 0 or WEIR_EINVALID with a message.
 */
int weir_api_opts_from_config(const struct weir_config *c, struct weir_api_opts *o,
			      struct weir_buf *err);

/*
 * Starts the gateway: opens one database connection to check the schema,
 * binds the socket and starts the worker threads.  Returns 0 and *out, or
 * an error with a message (cannot bind, bad TLS files, database
 * unreachable or not migrated).
 */
int weir_api_start(const struct weir_api_opts *o, struct weir_api **out, struct weir_buf *err);

/* The TCP port the gateway listens on (useful with port 0). */
int weir_api_port(const struct weir_api *api);

/*
 * Stops accepting connections, lets requests in progress finish (at most
 * grace_ms), closes every connection and frees the gateway.  NULL is
 * allowed.  Safe to call from the thread that started it only (not from a
 * signal handler: set a flag there and call this from your loop).
 */
void weir_api_stop(struct weir_api *api, int64_t grace_ms);

/* Sizes of the credential buffers below (with the NUL). */
#define WEIR_API_CLIENT_ID_BUFSZ 40
#define WEIR_API_SECRET_BUFSZ 64

/*
 * Creates an OAuth2 client.  scopes is a comma- or space-separated list of
 * known scopes (see docs/api.md); ttl_s <= 0 uses 3600.  Writes the new
 * id and the secret (shown this once; only its hash is stored).  Returns
 * 0, WEIR_EINVALID (bad name or scope, message in err) or a store error.
 */
int weir_api_client_create(struct weir_store *st, const char *name, const char *scopes,
			   int64_t ttl_s, char id[WEIR_API_CLIENT_ID_BUFSZ],
			   char secret[WEIR_API_SECRET_BUFSZ], struct weir_buf *err);

/*
 * For `weir standalone`: makes sure an admin client exists.  When no live
 * client has the admin scope, creates one named "admin" and returns its
 * credentials with *created = true (print them: they cannot be shown
 * again).  Otherwise *created = false and id/secret are empty.  Safe when
 * several processes start at once (one of them creates it).
 */
int weir_api_bootstrap_admin(struct weir_store *st, char id[WEIR_API_CLIENT_ID_BUFSZ],
			     char secret[WEIR_API_SECRET_BUFSZ], bool *created,
			     struct weir_buf *err);

/*
 * Creates a user for the password grant, hashing the password with
 * libsodium's crypto_pwhash_str (Argon2id).  Returns 0, WEIR_EINVALID,
 * WEIR_EEXISTS (a live user has that name) or a store error.
 */
int weir_api_user_create(struct weir_store *st, const char *username, const char *password,
			 const char *scopes, struct weir_buf *err);

/*
 * Lists live clients as JSON text lines for `weir clients list`:
 * returns a new reference to {"clients": [...], "total_entries": n}
 * through *out (a json_t *, typed void * to keep jansson out of this
 * header).  0 or a store error.
 */
int weir_api_clients_list(struct weir_store *st, void **out, struct weir_buf *err);

/*
 * The static UI folder used when ui_dir is not set: $WEIR_HOME/ui when it
 * exists, else <prefix>/share/weir/ui next to the installed binary, else
 * the source tree's ui-static/ found by walking up from the binary's
 * folder.  Returns a new string, or NULL when there is none.
 */
char *weir_api_default_ui_dir(const char *home);

#endif
