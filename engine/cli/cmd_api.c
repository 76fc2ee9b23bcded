/*
 * cmd_api.c: weir api | clients create | clients list | users create.
 *
 * `weir api` runs the HTTP gateway (api/api.h) in the foreground.  Signals
 * are blocked in every thread before the gateway starts its workers, and
 * the main thread takes SIGINT/SIGTERM with sigwait(), then stops the
 * gateway gracefully: requests in progress finish (up to 30 s).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "common/error.h"
#include "common/log.h"
#include "engine/cli/cli.h"
#include "engine/duration.h"
#include "engine/store.h"

#include <jansson.h>

/* The gateway's database URL: database_url, or the private cluster. */
static int api_url(struct weir_cli *cli, const char **url)
{
	*url = weir_config_get(&cli->cfg, WEIR_CFG_DATABASE_URL);
	if (**url)
		return 0;
	return weir_cli_private_cluster_url(cli, url);
}

int weir_cmd_api(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'}, {0, 0, 0, 0}};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_api_opts o;
	struct weir_api *api = NULL;
	const char *listen = NULL, *url;
	sigset_t set;
	int c, rc, sig = 0;

	weir_log_component = "api";
	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1)
		if (c == 'l')
			listen = optarg;
	if (optind != argc)
		return weir_cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
	rc = weir_cli_config(cli);
	if (rc)
		return rc;
	if (weir_api_opts_from_config(&cli->cfg, &o, &err) < 0) {
		weir_cli_error("%s", err.buf);
		weir_buf_release(&err);
		return WEIR_EXIT_INVALID;
	}
	if (listen)
		o.listen = listen;
	rc = api_url(cli, &url);
	if (rc)
		return rc;
	o.database_url = url;

	/* Before any thread exists: workers inherit the mask, so only
	 * sigwait() below sees these signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = weir_api_start(&o, &api, &err);
	if (rc < 0) {
		weir_cli_error("could not start the API: %s", err.buf);
		weir_buf_release(&err);
		return WEIR_EXIT_INVALID;
	}
	printf("weir api listening on %s://%s (port %d)\n", o.tls_cert && *o.tls_cert ? "https" : "http",
	       o.listen, weir_api_port(api));
	fflush(stdout);
	weir_info("API listening on %s (port %d)", o.listen, weir_api_port(api));
	while (sigwait(&set, &sig) != 0)
		;
	weir_info("%s: stopping the API (requests in progress finish)", sig == SIGINT ? "SIGINT" : "SIGTERM");
	weir_api_stop(api, 30000);
	weir_info("API stopped");
	weir_buf_release(&err);
	return 0;
}

int weir_cmd_clients_create(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"scopes", required_argument, NULL, 's'},
		{"token-ttl", required_argument, NULL, 't'},
		{0, 0, 0, 0},
	};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_store *st = NULL;
	char id[WEIR_API_CLIENT_ID_BUFSZ], secret[WEIR_API_SECRET_BUFSZ];
	const char *scopes = NULL;
	int64_t ttl_us = 0;
	int c, rc;

	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (c == 's') {
			scopes = optarg;
		} else if (c == 't') {
			if (weir_duration_parse(optarg, &ttl_us, NULL, &err) < 0 || ttl_us < 1000000) {
				rc = weir_cli_usage_error(cli, "--token-ttl: %s", err.len ? err.buf : "at least 1s");
				weir_buf_release(&err);
				return rc;
			}
		}
	}
	if (optind != argc - 1)
		return weir_cli_usage_error(cli, "expected one client name");
	if (!scopes)
		return weir_cli_usage_error(cli, "--scopes is required (e.g. --scopes admin, or dags:read,runs:trigger)");
	rc = weir_cli_store(cli, &st);
	if (rc)
		return rc;
	rc = weir_api_client_create(st, argv[optind], scopes, ttl_us / 1000000, id, secret, &err);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
	} else {
		printf("client_id: %s\nclient_secret: %s\n", id, secret);
		fflush(stdout);
		fprintf(stderr, "note: keep the secret now; weir stores only its hash and cannot show it again\n");
		memset(secret, 0, sizeof(secret));
	}
	weir_store_close(st);
	weir_buf_release(&err);
	return rc;
}

int weir_cmd_clients_list(struct weir_cli *cli, int argc, char **argv)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_store *st = NULL;
	void *out = NULL;
	json_t *list, *cl;
	bool json;
	size_t i;
	int rc;

	rc = weir_cli_format_only(cli, argc, argv, &json);
	if (rc == 0)
		rc = weir_cli_store(cli, &st);
	if (rc)
		return rc;
	rc = weir_api_clients_list(st, &out, &err);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		weir_store_close(st);
		weir_buf_release(&err);
		return WEIR_EXIT_INVALID;
	}
	list = out;
	if (json) {
		weir_cli_print_json(list);
	} else {
		printf("%-34s %-24s %-8s %s\n", "CLIENT_ID", "NAME", "TOKEN", "SCOPES");
		json_array_foreach(json_object_get(list, "clients"), i, cl) {
			json_t *s;
			size_t k;
			printf("%-34s %-24s %-8lld ", json_string_value(json_object_get(cl, "client_id")),
			       json_string_value(json_object_get(cl, "name")),
			       (long long)json_integer_value(json_object_get(cl, "token_lifetime")));
			json_array_foreach(json_object_get(cl, "scopes"), k, s)
				printf("%s%s", k ? "," : "", json_string_value(s));
			printf("\n");
		}
	}
	json_decref(list);
	weir_store_close(st);
	weir_buf_release(&err);
	return 0;
}

int weir_cmd_users_create(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"scopes", required_argument, NULL, 's'},
		{"password-stdin", no_argument, NULL, 'p'},
		{0, 0, 0, 0},
	};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_store *st = NULL;
	const char *scopes = NULL;
	/* Room for one more than a password's 1024 characters (then the
	 * server says too long); allocated once, so no copy is left behind. */
	struct weir_buf pw = WEIR_BUF_INIT(1099);
	bool from_stdin = false;
	int c, rc;

	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (c == 's')
			scopes = optarg;
		else if (c == 'p')
			from_stdin = true;
	}
	if (optind != argc - 1)
		return weir_cli_usage_error(cli, "expected one user name");
	if (!scopes)
		return weir_cli_usage_error(cli, "--scopes is required (e.g. --scopes dags:read,runs:read)");
	if (!from_stdin && !isatty(0))
		return weir_cli_usage_error(cli, "no terminal to ask for the password: use --password-stdin");
	weir_buf_grow(&pw, pw.max);
	if (weir_cli_read_secret(!from_stdin, &pw) < 0)
		weir_buf_truncate(&pw, 0);
	while (pw.len && pw.buf[pw.len - 1] == '\r')
		weir_buf_truncate(&pw, pw.len - 1);
	rc = weir_cli_store(cli, &st);
	if (rc)
		goto out;
	rc = weir_api_user_create(st, argv[optind], pw.buf, scopes, &err);
	if (rc < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
	} else {
		printf("user %s created\n", argv[optind]);
	}
out:
	memset(pw.buf, 0, pw.len);
	weir_buf_release(&pw);
	weir_store_close(st);
	weir_buf_release(&err);
	return rc;
}
