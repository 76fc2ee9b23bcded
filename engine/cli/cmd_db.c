/* cmd_db.c: weir db migrate | status (and the private cluster: start, stop, url). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "engine/cli/cli.h"
#include "engine/store.h"

int weir_cli_store(struct weir_cli *cli, struct weir_store **out)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *url;
	int rc;

	rc = weir_cli_config(cli);
	if (rc)
		return rc;
	url = weir_config_get(&cli->cfg, WEIR_CFG_DATABASE_URL);
	if (!*url) {
		rc = weir_cli_private_cluster_url(cli, &url);
		if (rc)
			return rc;
	}
	rc = weir_pg_store_open(url, out, &err);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		weir_buf_release(&err);
		return WEIR_EXIT_INVALID;
	}
	weir_buf_release(&err);
	return 0;
}

int weir_cmd_db_migrate(struct weir_cli *cli, int argc, char **argv)
{
	struct weir_store *st = NULL;
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc;

	while (weir_cli_getopt(cli, argc, argv, "", NULL) != -1)
		;
	if (optind != argc)
		return weir_cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
	rc = weir_cli_store(cli, &st);
	if (rc)
		return rc;
	rc = weir_store_migrate(st, &out, &err);
	fputs(out.buf, stdout);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
	}
	weir_store_close(st);
	weir_buf_release(&out);
	weir_buf_release(&err);
	return rc;
}

int weir_cmd_db_status(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0, 0, 0, 0}};
	struct weir_store *st = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *s = NULL, *m;
	bool json = false;
	size_t i;
	int c, rc, pending = 0;

	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1)
		if (c == 'f')
			json = !strcmp(optarg, "json");
	if (optind != argc)
		return weir_cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
	rc = weir_cli_store(cli, &st);
	if (rc)
		return rc;
	rc = weir_store_status(st, &s, &err);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		weir_store_close(st);
		weir_buf_release(&err);
		return WEIR_EXIT_INVALID;
	}
	if (json) {
		char *t = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(t);
		free(t);
	} else {
		printf("database:   %s\n", json_string_value(json_object_get(s, "database")));
		printf("server:     PostgreSQL %s, PostGIS %s\n",
		       json_string_value(json_object_get(s, "server_version")),
		       json_string_value(json_object_get(s, "postgis_version"))
			       ? json_string_value(json_object_get(s, "postgis_version")) : "not installed");
		printf("migrations:\n");
		json_array_foreach(json_object_get(s, "migrations"), i, m) {
			const char *state = json_string_value(json_object_get(m, "state"));
			printf("  %-28s %s%s%s\n", json_string_value(json_object_get(m, "name")), state,
			       json_object_get(m, "applied_at") ? " at " : "",
			       json_object_get(m, "applied_at") ? json_string_value(json_object_get(m, "applied_at")) : "");
			pending += strcmp(state, "applied") != 0;
		}
	}
	json_decref(s);
	weir_store_close(st);
	weir_buf_release(&err);
	return pending ? WEIR_EXIT_INVALID : WEIR_EXIT_OK;
}

/* The private cluster (db/cluster.c) is not wired in yet. */
int weir_cli_private_cluster_url(struct weir_cli *cli, const char **url)
{
	(void)cli;
	(void)url;
	weir_cli_error("no database configured: set database_url or WEIR_DATABASE_URL");
	return WEIR_EXIT_INVALID;
}
int weir_cmd_db_start(struct weir_cli *cli, int argc, char **argv) { (void)argc; (void)argv; return weir_cli_private_cluster_url(cli, NULL); }
int weir_cmd_db_stop(struct weir_cli *cli, int argc, char **argv) { (void)argc; (void)argv; return weir_cli_private_cluster_url(cli, NULL); }
int weir_cmd_db_url(struct weir_cli *cli, int argc, char **argv) { (void)argc; (void)argv; return weir_cli_private_cluster_url(cli, NULL); }
