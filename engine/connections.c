/*
 * connections.c: connections from the database and a YAML file, and
 * their resolution into task specs (connections.h).
 *
 * The resolver's cache is process-wide: a scheduler builds a spec per
 * task start, and reading the file or querying the table each time
 * would cost more than the start itself.  Both sources are reloaded
 * after WEIR_CONN_CACHE_US; the file also when its mtime or size
 * changes (cheap stat per call), so editing it takes effect at once.
 */
#include "engine/connections.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/arena.h"
#include "common/error.h"
#include "common/log.h"
#include "common/str.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/config.h"
#include "engine/node.h"
#include "engine/operator.h"
#include "engine/store.h"
#include "common/banned.h"

#define FILE_MAX_BYTES (1u << 20)

static const char *const types[] = {"postgres", "http", "smtp", "amqp", NULL};
static const char *const fields[] = {"type", "host", "port", "login", "password", "schema", "extra", NULL};

bool weir_conn_type_valid(const char *type)
{
	for (size_t i = 0; types[i]; i++)
		if (!strcmp(types[i], type))
			return true;
	return false;
}

const char *weir_conn_type_names(void)
{
	return "postgres, http, smtp, amqp";
}

int weir_conn_check(json_t *conn, struct weir_buf *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(conn)) {
		weir_buf_addf(err, "a connection must be an object with \"type\"");
		return WEIR_EINVALID;
	}
	json_object_foreach(conn, k, v) {
		bool known = false;
		for (size_t i = 0; fields[i] && !known; i++)
			known = !strcmp(fields[i], k);
		if (!known) {
			const char *s = weir_str_suggest(k, fields);
			weir_buf_addf(err, "unknown connection field \"%s\"", k);
			if (s)
				weir_buf_addf(err, " (did you mean \"%s\"?)", s);
			return WEIR_EINVALID;
		}
		if (!strcmp(k, "port")) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535) {
				weir_buf_addf(err, "connection \"port\" must be a number from 1 to 65535");
				return WEIR_EINVALID;
			}
		} else if (!strcmp(k, "extra")) {
			if (!json_is_object(v)) {
				weir_buf_addf(err, "connection \"extra\" must be an object");
				return WEIR_EINVALID;
			}
		} else if (!json_is_string(v)) {
			weir_buf_addf(err, "connection \"%s\" must be a string", k);
			return WEIR_EINVALID;
		}
	}
	v = json_object_get(conn, "type");
	if (!v) {
		weir_buf_addf(err, "a connection needs \"type\" (one of %s)", weir_conn_type_names());
		return WEIR_EINVALID;
	}
	if (!weir_conn_type_valid(json_string_value(v))) {
		weir_buf_addf(err, "unknown connection type \"%s\" (one of %s)", json_string_value(v),
			      weir_conn_type_names());
		return WEIR_EINVALID;
	}
	return 0;
}

json_t *weir_conn_masked(json_t *conn)
{
	json_t *m = json_deep_copy(conn), *extra;
	const char *k;
	json_t *v;

	if (!json_is_object(m))
		return m;
	if (json_is_string(json_object_get(m, "password")))
		json_object_set_new(m, "password", json_string("***"));
	extra = json_object_get(m, "extra");
	json_object_foreach(extra, k, v)
		if (weir_conn_secret_key(k))
			json_object_set_new(extra, k, json_string("***"));
	return m;
}

/* ------------------------------------------------------------------ */
/* the file                                                             */
/* ------------------------------------------------------------------ */

/* One entry of the file; NULL (problems in d) when unusable. */
static json_t *file_entry(const struct weir_node *name, const struct weir_node *n,
			  struct weir_diags *d)
{
	json_t *c;
	size_t before = weir_diags_count(d);

	if (!weir_conn_name_valid(name->str)) {
		weir_diag_at(d, name, "invalid connection name \"%s\" (1 to %d of A-Z a-z 0-9 _ . -)",
			     name->str, WEIR_CONN_NAME_MAX);
		return NULL;
	}
	if (n->kind != WEIR_NODE_MAP) {
		weir_diag_at(d, n, "connection \"%s\" must be a mapping with \"type\", not %s", name->str,
			     weir_node_kind_name(n));
		return NULL;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->str;
		const struct weir_node *v = n->items[i];
		bool known = false;
		for (size_t j = 0; fields[j] && !known; j++)
			known = !strcmp(fields[j], k);
		if (!known) {
			const char *s = weir_str_suggest(k, fields);
			weir_diag_at(d, n->keys[i], "unknown connection field \"%s\"", k);
			if (s)
				weir_diag_hint(d, "did you mean \"%s\"?", s);
		} else if (!strcmp(k, "port")) {
			int64_t port;
			if (weir_node_int(v, &port) < 0 || port < 1 || port > 65535)
				weir_diag_at(d, v, "\"port\" must be a number from 1 to 65535");
		} else if (!strcmp(k, "extra")) {
			if (v->kind != WEIR_NODE_MAP)
				weir_diag_at(d, v, "\"extra\" must be a mapping, not %s", weir_node_kind_name(v));
		} else if (v->kind != WEIR_NODE_SCALAR || weir_node_is_null(v)) {
			weir_diag_at(d, v, "\"%s\" must be a string, not %s", k, weir_node_kind_name(v));
		} else if (!strcmp(k, "type") && !weir_conn_type_valid(v->str)) {
			const char *s = weir_str_suggest(v->str, types);
			weir_diag_at(d, v, "unknown connection type \"%s\" (one of %s)", v->str,
				     weir_conn_type_names());
			if (s)
				weir_diag_hint(d, "did you mean \"%s\"?", s);
		}
	}
	if (!weir_node_get(n, "type"))
		weir_diag_at(d, n, "connection \"%s\" needs \"type\" (one of %s)", name->str,
			     weir_conn_type_names());
	if (weir_diags_count(d) != before)
		return NULL;
	c = json_object();
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->str;
		const struct weir_node *v = n->items[i];
		if (!strcmp(k, "port")) {
			int64_t port = 0;
			weir_node_int(v, &port);
			json_object_set_new(c, k, json_integer(port));
		} else if (!strcmp(k, "extra")) {
			json_object_set_new(c, k, weir_node_to_json(v));
		} else {
			/* A plain number or boolean is still text here
			 * (password: 1234, schema: 2024). */
			json_object_set_new(c, k, json_stringn(v->str, v->len));
		}
	}
	return c;
}

int weir_connections_file_load(const char *path, json_t **out, struct weir_diags *d)
{
	struct weir_yaml_limits lim = WEIR_YAML_LIMITS_DEFAULT;
	struct weir_buf text = WEIR_BUF_INIT(FILE_MAX_BYTES);
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_arena arena;
	struct weir_node *root = NULL;
	json_t *all = json_object();
	int rc, line = 0, col = 0;

	weir_arena_init(&arena, 4096);
	rc = weir_buf_read_file(&text, path);
	if (rc == -ENOENT)
		goto out;
	if (rc < 0) {
		weir_diag_add(d, 0, 0, "could not read connections file \"%s\": %s", path,
			      rc == WEIR_ETOOBIG ? "larger than 1 MiB" : weir_strerror(rc));
		goto out;
	}
	rc = weir_yaml_parse(text.buf, text.len, &lim, &arena, &root, &line, &col, &err);
	if (rc < 0) {
		weir_diag_add(d, line, col, "%s", err.buf);
		rc = WEIR_EINVALID;
		goto out;
	}
	if (!root)
		goto out; /* empty file: no connections */
	if (root->kind != WEIR_NODE_MAP) {
		weir_diag_at(d, root, "a connections file must be a mapping of names to connections, not %s",
			     weir_node_kind_name(root));
		rc = WEIR_EINVALID;
		goto out;
	}
	for (size_t i = 0; i < root->n; i++) {
		json_t *c = file_entry(root->keys[i], root->items[i], d);
		if (c)
			json_object_set_new(all, root->keys[i]->str, c);
	}
	rc = 0;
out:
	weir_arena_release(&arena);
	weir_buf_release(&text);
	weir_buf_release(&err);
	*out = all;
	return rc;
}

char *weir_connections_file_path(const char *home)
{
	struct weir_config cfg;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *v;
	char *path;

	/* Problems of the config file are the CLI's to report; a bad key
	 * elsewhere in it still leaves this one usable. */
	weir_config_load(&cfg, home, &err);
	v = weir_config_get(&cfg, WEIR_CFG_CONNECTIONS_FILE);
	path = v && *v ? weir_xstrdup(v) : weir_xasprintf("%s/connections.yaml", home);
	weir_config_release(&cfg);
	weir_buf_release(&err);
	return path;
}

/* ------------------------------------------------------------------ */
/* the database                                                         */
/* ------------------------------------------------------------------ */

int weir_connections_store_all(struct weir_store *st, bool masked, json_t **out,
			       struct weir_buf *err)
{
	int rc = weir_store_query_json(st, masked ? "connections.list" : "connections.all", 0, NULL,
				       out, err);

	if (rc == WEIR_ENOTFOUND) {
		*out = json_object();
		return 0;
	}
	if (rc == 0 && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		weir_buf_addf(err, "invalid connections listing from the database");
		return WEIR_EDB;
	}
	return rc;
}

static const char *member_str(json_t *c, const char *k)
{
	return json_string_value(json_object_get(c, k));
}

int weir_connections_store_add(struct weir_store *st, const char *name, json_t *conn, bool replace,
			       struct weir_buf *err)
{
	const char *p[8];
	char port[16] = "";
	char *extra = NULL;
	json_t *v;
	int rc;

	if (!weir_conn_name_valid(name)) {
		weir_buf_addf(err, "invalid connection name \"%s\" (1 to %d of A-Z a-z 0-9 _ . -)", name,
			      WEIR_CONN_NAME_MAX);
		return WEIR_EINVALID;
	}
	rc = weir_conn_check(conn, err);
	if (rc < 0)
		return rc;
	v = json_object_get(conn, "port");
	if (v)
		snprintf(port, sizeof(port), "%lld", (long long)json_integer_value(v));
	v = json_object_get(conn, "extra");
	extra = v ? json_dumps(v, JSON_COMPACT) : weir_xstrdup("{}");
	p[0] = name;
	p[1] = member_str(conn, "type");
	p[2] = member_str(conn, "host");
	p[3] = port[0] ? port : NULL;
	p[4] = member_str(conn, "login");
	p[5] = member_str(conn, "password");
	p[6] = member_str(conn, "schema");
	p[7] = extra;
	rc = weir_store_exec(st, replace ? "connections.upsert" : "connections.insert", 8, p, NULL, err);
	if (rc == WEIR_EEXISTS) {
		weir_buf_reset(err);
		weir_buf_addf(err, "connection \"%s\" already exists (use --replace to change it)", name);
	}
	free(extra);
	weir_connections_cache_clear();
	return rc;
}

int weir_connections_store_delete(struct weir_store *st, const char *name, struct weir_buf *err)
{
	const char *p[1] = {name};
	long rows = 0;
	int rc = weir_store_exec(st, "connections.delete", 1, p, &rows, err);

	if (rc == 0 && rows == 0) {
		weir_buf_addf(err, "no connection \"%s\" in the database", name);
		rc = WEIR_ENOTFOUND;
	}
	weir_connections_cache_clear();
	return rc;
}

/* ------------------------------------------------------------------ */
/* resolution                                                           */
/* ------------------------------------------------------------------ */

static void add_name(json_t *names, json_t *v)
{
	size_t i;
	json_t *x;

	if (!json_is_string(v) || !json_string_length(v))
		return;
	json_array_foreach(names, i, x)
		if (json_equal(x, v))
			return;
	json_array_append(names, v);
}

void weir_connections_referenced(const struct weir_operator *op, json_t *config, json_t *names)
{
	if (!json_is_object(config))
		return;
	add_name(names, json_object_get(config, "connection"));
	for (size_t i = 0; op && op->connection_keys && op->connection_keys[i]; i++)
		add_name(names, json_object_get(config, op->connection_keys[i]));
}

static struct {
	char *home;
	char *file;
	struct stat file_st;
	bool file_exists;
	json_t *from_file;
	json_t *from_db;
	struct weir_store *st;
	int64_t file_at, db_at;  /* monotonic us of the last load; 0 = never */
	char *last_warning;      /* so that a lasting problem is logged once */
} cache;

void weir_connections_cache_clear(void)
{
	free(cache.home);
	free(cache.file);
	json_decref(cache.from_file);
	json_decref(cache.from_db);
	free(cache.last_warning);
	memset(&cache, 0, sizeof(cache));
}

static void warn_once(const char *msg)
{
	if (cache.last_warning && !strcmp(cache.last_warning, msg))
		return;
	free(cache.last_warning);
	cache.last_warning = weir_xstrdup(msg);
	weir_warn("%s", msg);
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_size == b->st_size && a->st_ino == b->st_ino;
}

static void refresh(struct weir_store *st, const char *home)
{
	int64_t now = weir_mono_us();
	struct stat sb;
	bool exists;

	if (!cache.home || strcmp(cache.home, home)) {
		weir_connections_cache_clear();
		cache.home = weir_xstrdup(home);
	}
	if (!cache.file || now - cache.file_at >= WEIR_CONN_CACHE_US) {
		free(cache.file);
		cache.file = weir_connections_file_path(home);
		cache.file_at = 0;
	}
	exists = stat(cache.file, &sb) == 0;
	if (!cache.from_file || now - cache.file_at >= WEIR_CONN_CACHE_US || exists != cache.file_exists ||
	    (exists && !same_stat(&sb, &cache.file_st))) {
		struct weir_diags d;
		json_t *conns = NULL;
		weir_diags_init(&d, cache.file);
		weir_connections_file_load(cache.file, &conns, &d);
		if (weir_diags_count(&d)) {
			struct weir_buf m = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
			weir_diags_sort(&d);
			weir_buf_addf(&m, "connections file has problems (those entries are ignored):\n");
			weir_diags_format(&d, &m);
			weir_buf_rtrim(&m);
			warn_once(m.buf);
			weir_buf_release(&m);
		}
		weir_diags_release(&d);
		json_decref(cache.from_file);
		cache.from_file = conns;
		cache.file_exists = exists;
		if (exists)
			cache.file_st = sb;
		cache.file_at = now;
	}
	if (st && (cache.st != st || !cache.from_db || now - cache.db_at >= WEIR_CONN_CACHE_US)) {
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		json_t *conns = NULL;
		if (weir_connections_store_all(st, false, &conns, &err) < 0) {
			struct weir_buf m = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
			weir_buf_addf(&m, "could not load connections from the database: %s", err.buf);
			warn_once(m.buf);
			weir_buf_release(&m);
			/* Keep what we had: a database hiccup must not make
			 * every task lose its connections. */
			if (!cache.from_db || cache.st != st) {
				json_decref(cache.from_db);
				cache.from_db = json_object();
			}
		} else {
			json_decref(cache.from_db);
			cache.from_db = conns;
		}
		cache.st = st;
		cache.db_at = now;
		weir_buf_release(&err);
	}
}

json_t *weir_connections_resolve(struct weir_store *st, const char *home,
				 const struct weir_operator *op, json_t *config)
{
	json_t *names = json_array(), *out = NULL, *v;
	size_t i;

	weir_connections_referenced(op, config, names);
	if (json_array_size(names) == 0)
		goto done;
	refresh(st, home);
	out = json_object();
	json_array_foreach(names, i, v) {
		const char *name = json_string_value(v);
		json_t *c = st ? json_object_get(cache.from_db, name) : NULL;
		if (!c)
			c = json_object_get(cache.from_file, name);
		if (c)
			json_object_set_new(out, name, json_deep_copy(c));
	}
done:
	json_decref(names);
	return out;
}
