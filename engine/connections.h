/*
 * connections.h: named, typed connections to outside systems, and their
 * resolution into task specs.
 *
 * A connection is what an operator needs to reach a database, an HTTP
 * service, a mail server or a broker, kept out of DAG files so that
 * secrets never sit next to the pipeline code.  As JSON (the one shape
 * used everywhere: files, the database, specs):
 *
 *   {"type": "postgres" | "http" | "smtp" | "amqp",
 *    "host": "db.example.com", "port": 5432,
 *    "login": "etl", "password": "...", "schema": "analytics",
 *    "extra": {...}}                     every member but type optional
 *
 * Names: [A-Za-z0-9_.-]{1,100}.  Two sources:
 *   - the database (table connections, migration 0003; `weir connections
 *     add|list|delete`);
 *   - a YAML file, the config key connections_file (default
 *     HOME/connections.yaml): a mapping of names to connections.
 * On a name clash the database wins (docs/connections.md).
 *
 * Secrets: the password and every extra member whose name contains
 * "password", "secret", "token" or "key" (any case).  They go into
 * spec.secrets, so the task log and result message show "***"; listings
 * never show them.  They are stored in clear in the database and the
 * file: protect both (NEEDSWORK: encryption at rest).
 *
 * RESOLUTION happens in the starter (the task process has no store): for
 * a task, weir_connections_resolve() collects the names its config
 * references (the key "connection" and the operator's connection_keys),
 * looks them up and returns the spec's "connections" object.  Names that
 * are not found are left out: the operator fails the try with a message
 * naming the connection (a missing connection is a configuration problem
 * of the moment, not of the DAG, so it must not stop other tasks).
 *
 * Thread safety: weir_connections_resolve() keeps a process-wide cache
 * and is for one thread (the scheduler loop, a CLI command); the other
 * functions keep no state.
 */
#ifndef WEIR_CONNECTIONS_H
#define WEIR_CONNECTIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "common/buf.h"
#include "engine/diag.h"

struct weir_store;
struct weir_operator;

#define WEIR_CONN_NAME_MAX 100
/* How long resolved connections are cached (a change shows up this late). */
#define WEIR_CONN_CACHE_US (10 * 1000 * 1000)

/* True for a valid connection name. */
bool weir_conn_name_valid(const char *name);
/* True for a known type name (postgres, http, smtp, amqp). */
bool weir_conn_type_valid(const char *type);
/* "postgres, http, smtp, amqp" (for messages). */
const char *weir_conn_type_names(void);

/*
 * Checks a connection object (shape above; unknown members are errors).
 * Returns 0, or WEIR_EINVALID with one message in err.
 */
int weir_conn_check(json_t *conn, struct weir_buf *err);

/* True when an extra member of this name holds a secret. */
bool weir_conn_secret_key(const char *key);

/*
 * A copy of conn for display (new reference): the password and secret
 * extra members replaced by "***".
 */
json_t *weir_conn_masked(json_t *conn);

/*
 * Appends the secrets of every connection of conns ({name: conn}) to
 * secrets (an array), skipping empty strings and duplicates.
 */
void weir_connections_secrets(json_t *conns, json_t *secrets);

/*
 * The password in a libpq URL or key=value string (new string), or NULL.
 * For masking weir's own database URL.
 */
char *weir_conninfo_password(const char *conninfo);

/*
 * Loads a connections file.  Returns 0 and *out ({name: conn}, new
 * reference; entries with problems are left out and reported in d with
 * their positions), -ENOENT when the file does not exist (*out = {}), or
 * another error (in d).
 */
int weir_connections_file_load(const char *path, json_t **out, struct weir_diags *d);

/*
 * The connections file of a home: the config key connections_file (file
 * or WEIR_CONNECTIONS_FILE), else HOME/connections.yaml.  New string.
 */
char *weir_connections_file_path(const char *home);

/*
 * The database's connections.  list: {name: conn} with secrets (for
 * resolution); masked: without the password (for listings; the query
 * never reads it).  Returns 0 and *out, or an error with err.
 */
int weir_connections_store_all(struct weir_store *st, bool masked, json_t **out,
			       struct weir_buf *err);
/* Adds (replace: or replaces) a connection; WEIR_EEXISTS when it exists. */
int weir_connections_store_add(struct weir_store *st, const char *name, json_t *conn, bool replace,
			       struct weir_buf *err);
/* Deletes one; WEIR_ENOTFOUND when there is none. */
int weir_connections_store_delete(struct weir_store *st, const char *name, struct weir_buf *err);

/*
 * The connection names an operator's config references: the string
 * values of "connection" and of op->connection_keys (appended to names,
 * without duplicates; names is a json array).
 */
void weir_connections_referenced(const struct weir_operator *op, json_t *config, json_t *names);

/*
 * The spec's "connections" for a task: {name: conn} of the names its
 * config references, from the store (st may be NULL) and the connections
 * file of home, the store winning.  Returns a new reference, or NULL when
 * the config references none.  Never fails: problems (unreadable file,
 * database error) leave those connections out and are logged as
 * warnings, once per distinct problem (the callers, a scheduler loop or
 * a CLI command, would otherwise each have to).  Cached for
 * WEIR_CONN_CACHE_US; the file is also reloaded when its mtime changes.
 */
json_t *weir_connections_resolve(struct weir_store *st, const char *home,
				 const struct weir_operator *op, json_t *config);
/* Drops the cache (tests, and after `weir connections add|delete`). */
void weir_connections_cache_clear(void);

#endif
