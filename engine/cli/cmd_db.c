/* cmd_db.c: weir db migrate | status, and the private cluster: start, stop, url. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/xalloc.h"
#include "db/cluster.h"
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
	struct weir_store *st = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *s = NULL, *m;
	bool json;
	size_t i;
	int rc, pending = 0;

	rc = weir_cli_format_only(cli, argc, argv, &json);
	if (rc == 0)
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
		weir_cli_print_json(s);
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

/* ------------------------------------------------------------------ */
/* the private cluster (db/cluster.h)                                   */
/* ------------------------------------------------------------------ */

/* The private cluster's conninfo once started: kept for the process's life. */
static char *private_url;

static int cluster_open(struct weir_cli *cli, struct weir_cluster *c)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc;

	rc = weir_cli_config(cli);
	if (rc)
		return rc;
	rc = weir_cluster_init(c, weir_config_get(&cli->cfg, WEIR_CFG_HOME), &err);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		weir_cluster_release(c);
		rc = WEIR_EXIT_INVALID;
	}
	weir_buf_release(&err);
	return rc;
}

/* Prints each line of text to stderr as "weir: LINE". */
static void print_lines(const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n");
		fprintf(stderr, "weir: %.*s\n", (int)n, text);
		text += n + (text[n] == '\n');
	}
}

static bool we_started;

bool weir_cli_private_cluster_started(void)
{
	return we_started;
}

int weir_cli_private_cluster_stop(struct weir_cli *cli)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_cluster c;
	int rc = cluster_open(cli, &c);

	if (rc)
		return rc;
	if (weir_cluster_stop(&c, &err) < 0) {
		weir_cli_error("could not stop the private PostgreSQL: %s", err.buf);
		rc = WEIR_EXIT_INVALID;
	}
	weir_cluster_release(&c);
	weir_buf_release(&err);
	return rc;
}

int weir_cli_private_cluster_url(struct weir_cli *cli, const char **url)
{
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_cluster c;
	int rc;

	if (private_url) {
		*url = private_url;
		return 0;
	}
	rc = cluster_open(cli, &c);
	if (rc)
		return rc;
	rc = weir_cluster_start(&c, &out, &err);
	if (rc < 0) {
		weir_cli_error("%s\n(no database_url is set, so weir uses its private PostgreSQL cluster under \"%s\")",
			       err.buf, c.home);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	/* Say so when this command had to create or start the server. */
	if (c.did & (WEIR_CLUSTER_DID_CREATE | WEIR_CLUSTER_DID_START))
		print_lines(out.buf);
	we_started = (c.did & WEIR_CLUSTER_DID_START) != 0;
	private_url = weir_xstrdup(weir_cluster_conninfo(&c));
	*url = private_url;
out:
	weir_cluster_release(&c);
	weir_buf_release(&out);
	weir_buf_release(&err);
	return rc;
}

static int no_arguments(struct weir_cli *cli, int argc, char **argv)
{
	while (weir_cli_getopt(cli, argc, argv, "", NULL) != -1)
		;
	if (optind != argc)
		return weir_cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
	return 0;
}

int weir_cmd_db_start(struct weir_cli *cli, int argc, char **argv)
{
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT), err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_cluster c;
	int rc;

	rc = no_arguments(cli, argc, argv);
	if (rc == 0)
		rc = cluster_open(cli, &c);
	if (rc)
		return rc;
	if (*weir_config_get(&cli->cfg, WEIR_CFG_DATABASE_URL))
		fprintf(stderr, "weir: note: database_url is set, so weir uses that database, not this cluster\n");
	rc = weir_cluster_start(&c, &out, &err);
	fputs(out.buf, stdout);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	printf("pid:      %ld\n"
	       "data:     %s\n"
	       "log:      %s\n"
	       "url:      %s\n"
	       "ready in %ld ms\n",
	       c.pid, c.data, c.log, weir_cluster_conninfo(&c), c.start_ms);
out:
	weir_cluster_release(&c);
	weir_buf_release(&out);
	weir_buf_release(&err);
	return rc;
}

int weir_cmd_db_stop(struct weir_cli *cli, int argc, char **argv)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_cluster c;
	int rc;

	rc = no_arguments(cli, argc, argv);
	if (rc == 0)
		rc = cluster_open(cli, &c);
	if (rc)
		return rc;
	rc = weir_cluster_stop(&c, &err);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
	} else if (c.did & WEIR_CLUSTER_DID_STOP) {
		printf("stopped PostgreSQL (pid %ld)%s\n", c.pid,
		       c.did & WEIR_CLUSTER_DID_FORCE ? " with an immediate shutdown" : "");
	} else {
		printf("not running (cluster \"%s\")\n", c.dir);
	}
	weir_cluster_release(&c);
	weir_buf_release(&err);
	return rc;
}

int weir_cmd_db_url(struct weir_cli *cli, int argc, char **argv)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	enum weir_cluster_state state;
	struct weir_cluster c;
	long pid;
	int rc;

	rc = no_arguments(cli, argc, argv);
	if (rc == 0)
		rc = cluster_open(cli, &c);
	if (rc)
		return rc;
	rc = weir_cluster_status(&c, &state, &pid, &err);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
	} else if (state == WEIR_CLUSTER_ABSENT) {
		weir_cli_error("there is no private cluster under \"%s\": create it with `weir db start`",
			       c.home);
		rc = WEIR_EXIT_INVALID;
	} else {
		puts(weir_cluster_conninfo(&c));
		if (state != WEIR_CLUSTER_RUNNING)
			fprintf(stderr, "weir: note: the cluster is not running: start it with `weir db start`\n");
	}
	weir_cluster_release(&c);
	weir_buf_release(&err);
	return rc;
}
