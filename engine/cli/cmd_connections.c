/*
 * cmd_connections.c: weir connections add | list | delete.
 *
 * add and delete change the database (engine/connections.h); list shows
 * the database's connections and the connections file's, marking which
 * source wins.  Secrets are never printed: the listing query does not
 * even read passwords, and secret-looking extra members show as ***.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/error.h"
#include "common/str.h"
#include "common/xalloc.h"
#include "engine/cli/cli.h"
#include "engine/connections.h"
#include "engine/store.h"
#include "common/banned.h"

int weir_cmd_connections_add(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"type", required_argument, NULL, 't'},
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"login", required_argument, NULL, 'l'},
		{"password-stdin", no_argument, NULL, 'P'},
		{"schema", required_argument, NULL, 's'},
		{"extra", required_argument, NULL, 'e'},
		{"replace", no_argument, NULL, 'r'},
		{0, 0, 0, 0},
	};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf pw = WEIR_BUF_INIT(4096);
	struct weir_store *st = NULL;
	json_t *conn = json_object();
	bool replace = false, want_pw = false;
	int c, rc;

	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 't':
			json_object_set_new(conn, "type", json_string(optarg));
			break;
		case 'H':
			json_object_set_new(conn, "host", json_string(optarg));
			break;
		case 'p': {
			int64_t v;
			if (weir_str_to_i64(optarg, &v) < 0 || v < 1 || v > 65535) {
				rc = weir_cli_usage_error(cli, "--port must be a number from 1 to 65535, not \"%s\"", optarg);
				goto out;
			}
			json_object_set_new(conn, "port", json_integer(v));
			break;
		}
		case 'l':
			json_object_set_new(conn, "login", json_string(optarg));
			break;
		case 'P':
			want_pw = true;
			break;
		case 's':
			json_object_set_new(conn, "schema", json_string(optarg));
			break;
		case 'e': {
			json_error_t jerr;
			json_t *x = json_loads(optarg, 0, &jerr);
			if (!json_is_object(x)) {
				json_decref(x);
				rc = weir_cli_usage_error(cli, "--extra must be a JSON object, like '{\"sslmode\": \"require\"}'");
				goto out;
			}
			json_object_set_new(conn, "extra", x);
			break;
		}
		case 'r':
			replace = true;
			break;
		}
	}
	if (optind != argc - 1) {
		rc = weir_cli_usage_error(cli, "expected one connection name");
		goto out;
	}
	if (!json_object_get(conn, "type")) {
		rc = weir_cli_usage_error(cli, "--type is required (one of %s)", weir_conn_type_names());
		goto out;
	}
	if (!weir_conn_name_valid(argv[optind])) {
		weir_cli_error("invalid connection name \"%s\" (1 to %d of A-Z a-z 0-9 _ . -)", argv[optind],
			       WEIR_CONN_NAME_MAX);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	if (weir_conn_check(conn, &err) < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	if (want_pw) {
		if (weir_cli_read_secret(true, &pw) < 0) {
			weir_cli_error("could not read the password from standard input");
			rc = WEIR_EXIT_INVALID;
			goto out;
		}
		if (pw.len)
			json_object_set_new(conn, "password", json_stringn(pw.buf, pw.len));
		if (pw.len && !json_object_get(conn, "password")) {
			weir_cli_error("the password is not valid UTF-8");
			rc = WEIR_EXIT_INVALID;
			goto out;
		}
	}
	rc = weir_cli_store(cli, &st);
	if (rc)
		goto out;
	if (weir_connections_store_add(st, argv[optind], conn, replace, &err) < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	printf("connection \"%s\" (%s) %s\n", argv[optind], json_string_value(json_object_get(conn, "type")),
	       replace ? "saved" : "added");
	rc = WEIR_EXIT_OK;
out:
	if (pw.len)
		memset(pw.buf, 0, pw.len);
	weir_buf_release(&pw);
	weir_store_close(st);
	json_decref(conn);
	weir_buf_release(&err);
	return rc;
}

static const char *field(json_t *c, const char *k, char *buf, size_t n)
{
	json_t *v = json_object_get(c, k);

	if (json_is_integer(v)) {
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return json_is_string(v) ? json_string_value(v) : "-";
}

int weir_cmd_connections_list(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0, 0, 0, 0}};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_store *st = NULL;
	struct weir_diags d;
	json_t *db = NULL, *file = NULL, *all = json_array();
	const char *home, *name;
	char *path = NULL;
	bool json = false;
	json_t *c;
	size_t i;
	int ch, rc;

	while ((ch = weir_cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (ch == 'f') {
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				json_decref(all);
				return weir_cli_usage_error(cli, "--format must be text or json, not \"%s\"", optarg);
			}
			json = !strcmp(optarg, "json");
		}
	}
	if (optind != argc) {
		json_decref(all);
		return weir_cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
	}
	rc = weir_cli_store(cli, &st);
	if (rc) {
		json_decref(all);
		return rc;
	}
	rc = WEIR_EXIT_INVALID;
	if (weir_connections_store_all(st, true, &db, &err) < 0) {
		weir_cli_error("%s", err.buf);
		goto out;
	}
	home = weir_config_get(&cli->cfg, WEIR_CFG_HOME);
	path = weir_connections_file_path(home);
	weir_diags_init(&d, path);
	weir_connections_file_load(path, &file, &d);
	if (weir_diags_count(&d)) {
		struct weir_buf m = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		weir_diags_sort(&d);
		weir_diags_format(&d, &m);
		fprintf(stderr, "weir: the connections file has problems (those entries are ignored):\n%s", m.buf);
		weir_buf_release(&m);
	}
	weir_diags_release(&d);

	json_object_foreach(db, name, c) {
		json_t *m = weir_conn_masked(c);
		json_object_set_new(m, "name", json_string(name));
		json_object_set_new(m, "source", json_string("database"));
		json_array_append_new(all, m);
	}
	json_object_foreach(file, name, c) {
		json_t *m = weir_conn_masked(c);
		bool shadowed = json_object_get(db, name) != NULL;
		json_object_set_new(m, "name", json_string(name));
		json_object_set_new(m, "source", json_string("file"));
		if (shadowed)
			json_object_set_new(m, "shadowed", json_true()); /* the database's wins */
		json_array_append_new(all, m);
	}
	if (json) {
		json_t *o = json_pack("{s:O, s:s}", "connections", all, "file", path);
		weir_cli_print_json(o);
		json_decref(o);
	} else {
		printf("%-24s %-9s %-28s %-6s %-16s %-9s %-16s %s\n", "NAME", "TYPE", "HOST", "PORT", "LOGIN",
		       "PASSWORD", "SCHEMA", "SOURCE");
		json_array_foreach(all, i, c) {
			char pb[16];
			json_t *extra = json_object_get(c, "extra");
			printf("%-24s %-9s %-28s %-6s %-16s %-9s %-16s %s%s", json_string_value(json_object_get(c, "name")),
			       field(c, "type", pb, sizeof(pb)), field(c, "host", pb, sizeof(pb)),
			       field(c, "port", pb, sizeof(pb)), field(c, "login", pb, sizeof(pb)),
			       json_object_get(c, "password") ? "***" : "-", field(c, "schema", pb, sizeof(pb)),
			       json_string_value(json_object_get(c, "source")),
			       json_is_true(json_object_get(c, "shadowed")) ? " (overridden by the database)" : "");
			if (json_object_size(extra)) {
				char *t = json_dumps(extra, JSON_COMPACT);
				printf("  extra %s", t);
				free(t);
			}
			printf("\n");
		}
	}
	rc = WEIR_EXIT_OK;
out:
	weir_store_close(st);
	json_decref(db);
	json_decref(file);
	json_decref(all);
	free(path);
	weir_buf_release(&err);
	return rc;
}

int weir_cmd_connections_delete(struct weir_cli *cli, int argc, char **argv)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_store *st = NULL;
	int rc;

	while (weir_cli_getopt(cli, argc, argv, "", NULL) != -1)
		;
	if (optind != argc - 1)
		return weir_cli_usage_error(cli, "expected one connection name");
	rc = weir_cli_store(cli, &st);
	if (rc)
		return rc;
	rc = weir_connections_store_delete(st, argv[optind], &err);
	if (rc == WEIR_ENOTFOUND) {
		/* Say where it is, if it is in the file. */
		char *path = weir_connections_file_path(weir_config_get(&cli->cfg, WEIR_CFG_HOME));
		struct weir_diags d;
		json_t *file = NULL;
		weir_diags_init(&d, path);
		weir_connections_file_load(path, &file, &d);
		if (json_object_get(file, argv[optind]))
			weir_buf_addf(&err, " (it is defined in \"%s\": edit that file)", path);
		weir_diags_release(&d);
		json_decref(file);
		free(path);
	}
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
	} else {
		printf("connection \"%s\" deleted\n", argv[optind]);
		rc = WEIR_EXIT_OK;
	}
	weir_store_close(st);
	weir_buf_release(&err);
	return rc;
}
