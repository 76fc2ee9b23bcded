/*
 * config.h: weir's settings, from one table, in three layers.
 *
 * Every setting has a key (e.g. "database_url") and is resolved, last one
 * winning, from:
 *   1. its built-in default,
 *   2. the config file $WEIR_HOME/weir.conf (or $WEIR_CONFIG), lines of
 *      `key = value`, `#` comments, values optionally in double quotes,
 *   3. the environment variable WEIR_<KEY> (WEIR_DATABASE_URL, ...),
 *   4. command-line flags (weir_config_set with WEIR_SRC_FLAG).
 * `weir config show` prints every key with its value and source.  Unknown
 * keys in the file are errors with a "did you mean" hint.  The home
 * directory itself comes from WEIR_HOME or --home only (it locates the file);
 * its default is ~/.local/share/weir, or /var/lib/weir for root.
 */
#ifndef WEIR_CONFIG_H
#define WEIR_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

enum weir_config_source {
	WEIR_SRC_DEFAULT,
	WEIR_SRC_FILE,
	WEIR_SRC_ENV,
	WEIR_SRC_FLAG,
};

#define WEIR_CONFIG_KEYS(XX)                                                                   \
	XX(HOME, "home", NULL, "state directory (private PostgreSQL, logs, DAGs)")              \
	XX(DATABASE_URL, "database_url", "", "PostgreSQL URI or DSN; empty: a private cluster under home") \
	XX(DAGS_FOLDER, "dags_folder", NULL, "folder of DAG files (default: ./dags if present, else HOME/dags)") \
	XX(LOG_LEVEL, "log_level", "info", "debug, info, warn or error")                          \
	XX(API_LISTEN, "api_listen", "127.0.0.1:8080", "address:port of the HTTP API")            \
	XX(PARALLELISM, "parallelism", "32", "task processes one scheduler runs at once")         \
	XX(RUNNER_MAX_TRIES, "runner_max_tries", "1000", "tries one task runner process runs before it is replaced (1: a fresh process per try)") \
	XX(HEARTBEAT_TIMEOUT, "heartbeat_timeout", "30s", "a running try silent this long is declared dead") \
	XX(XCOM_MAX_BYTES, "xcom_max_bytes", "65536", "largest XCom value a task may write")       \
	XX(CONTAINER_RUNTIME, "container_runtime", "runc", "OCI runtime for executor: container (runc, crun, podman)") \
	XX(API_THREADS, "api_threads", "0", "HTTP worker threads (0: two per core, at least 4)")  \
	XX(API_BODY_LIMIT, "api_body_limit", "16777216", "largest HTTP request body in bytes (larger: 413)") \
	XX(API_TIMEOUT, "api_timeout", "30s", "close HTTP connections idle this long")             \
	XX(API_TLS_CERT, "api_tls_cert", "", "PEM certificate file: serve HTTPS (with api_tls_key)") \
	XX(API_TLS_KEY, "api_tls_key", "", "PEM private key file of api_tls_cert")                 \
	XX(API_TOKEN_TTL, "api_token_ttl", "1h", "access token lifetime of new OAuth2 clients")    \
	XX(API_REFRESH_TTL, "api_refresh_ttl", "30d", "refresh token lifetime (password grant)")   \
	XX(API_ACCESS_LOG, "api_access_log", "true", "log one JSON line per HTTP request to stderr") \
	XX(METRICS_PUBLIC, "metrics_public", "true", "serve /metrics without a token (false: needs metrics:read)") \
	XX(CONNECTIONS_FILE, "connections_file", "", "YAML file of named connections (default: HOME/connections.yaml; the database wins on name clashes)") \
	XX(UI_DIR, "ui_dir", "", "web UI folder (default: HOME/ui, else the ui-static folder of the install or source tree)")

enum weir_config_key {
#define XX(id, name, def, help) WEIR_CFG_##id,
	WEIR_CONFIG_KEYS(XX)
#undef XX
	WEIR_CFG__COUNT,
};

struct weir_config {
	char *value[WEIR_CFG__COUNT];             /* owned; never NULL after load */
	enum weir_config_source source[WEIR_CFG__COUNT];
	char *file;                               /* the config file consulted */
	bool file_exists;
};

/*
 * Resolves every key from defaults, the file and the environment.
 * home_flag (may be NULL) is --home.  Returns 0, or WEIR_EINVALID with
 * "FILE:LINE: message" lines in err (the config is still usable with
 * defaults for the bad keys).
 */
int weir_config_load(struct weir_config *c, const char *home_flag, struct weir_buf *err);
void weir_config_release(struct weir_config *c);
const char *weir_config_get(const struct weir_config *c, enum weir_config_key k);
void weir_config_set(struct weir_config *c, enum weir_config_key k, const char *value,
		     enum weir_config_source src);
const char *weir_config_key_name(enum weir_config_key k);
const char *weir_config_key_help(enum weir_config_key k);
const char *weir_config_source_name(enum weir_config_source s);
/* The value with any password in a URL/DSN replaced by "****". */
char *weir_config_masked(const struct weir_config *c, enum weir_config_key k);

#endif
