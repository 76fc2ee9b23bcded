/* cmd_sched.c: weir scheduler and weir standalone. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "engine/container.h"
#include "common/str.h"
#include "common/time.h"
#include "engine/cli/cli.h"
#include "engine/duration.h"
#include "engine/sched.h"
#include "engine/store.h"
#include "api/api.h"

static struct weir_sched *running;

static void on_signal(int sig)
{
	(void)sig;
	if (running)
		weir_sched_stop(running); /* async-signal-safe */
}

static int self_exe(char *buf, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", buf, n - 1);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	return 0;
}

/* Scheduler options from the configuration; 0 or an exit code. */
static char task_exe[PATH_MAX];

static int sched_opts(struct weir_cli *cli, struct weir_sched_opts *o, char exe[PATH_MAX])
{
	struct weir_config *c = &cli->cfg;
	int64_t v, us;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t off;

	memset(o, 0, sizeof(*o));
	o->home = weir_config_get(c, WEIR_CFG_HOME);
	o->dags_folder = weir_config_get(c, WEIR_CFG_DAGS_FOLDER);
	if (self_exe(exe, PATH_MAX) < 0) {
		weir_cli_error("cannot find my own executable: %s", strerror(errno));
		return WEIR_EXIT_INVALID;
	}
	o->weir_exe = exe;
	o->database_url = weir_config_get(c, WEIR_CFG_DATABASE_URL);
	if (!*o->database_url && weir_cli_private_cluster_url(cli, &o->database_url))
		return WEIR_EXIT_INVALID;
	/* The lean runner lives next to us.  WEIR_TASK_RUNNER names another
	 * one: a wrapper around it (strace, perf) when profiling, or a test's. */
	snprintf(task_exe, sizeof(task_exe), "%s", exe);
	if (getenv("WEIR_TASK_RUNNER") && *getenv("WEIR_TASK_RUNNER")) {
		snprintf(task_exe, sizeof(task_exe), "%s", getenv("WEIR_TASK_RUNNER"));
		o->task_exe = task_exe;
	} else if (strrchr(task_exe, '/')) {
		snprintf(strrchr(task_exe, '/') + 1, sizeof(task_exe) - (size_t)(strrchr(task_exe, '/') + 1 - task_exe),
			 "weir-task");
		if (access(task_exe, X_OK) == 0)
			o->task_exe = task_exe;
		else
			weir_warn("%s not found: every task starts the full weir binary (slower)", task_exe);
	}
	if (weir_str_to_i64(weir_config_get(c, WEIR_CFG_PARALLELISM), &v) < 0 || v < 1 || v > 100000) {
		weir_cli_error("parallelism must be a whole number from 1 to 100000, not \"%s\"",
			       weir_config_get(c, WEIR_CFG_PARALLELISM));
		return WEIR_EXIT_INVALID;
	}
	o->parallelism = (int)v;
	if (weir_str_to_i64(weir_config_get(c, WEIR_CFG_RUNNER_MAX_TRIES), &v) < 0 || v < 1 || v > 1000000) {
		weir_cli_error("runner_max_tries must be a whole number from 1 to 1000000, not \"%s\"",
			       weir_config_get(c, WEIR_CFG_RUNNER_MAX_TRIES));
		return WEIR_EXIT_INVALID;
	}
	o->runner_max_tries = (int)v;
	if (weir_duration_parse(weir_config_get(c, WEIR_CFG_HEARTBEAT_TIMEOUT), &us, &off, &err) < 0) {
		weir_cli_error("heartbeat_timeout: %s", err.buf);
		weir_buf_release(&err);
		return WEIR_EXIT_INVALID;
	}
	o->heartbeat_timeout_ms = us / 1000;
	if (weir_str_to_i64(weir_config_get(c, WEIR_CFG_XCOM_MAX_BYTES), &v) < 0 || v < 1 || v > (1 << 20)) {
		weir_cli_error("xcom_max_bytes must be a whole number from 1 to 1048576, not \"%s\"",
			       weir_config_get(c, WEIR_CFG_XCOM_MAX_BYTES));
		return WEIR_EXIT_INVALID;
	}
	o->xcom_max_bytes = (size_t)v;
	{
		const char *rt = weir_config_get(c, WEIR_CFG_CONTAINER_RUNTIME);
		enum weir_container_runtime k;
		if (weir_container_runtime_parse(rt, &k) < 0) {
			weir_cli_error("container_runtime must be runc, crun or podman, not \"%s\"", rt);
			return WEIR_EXIT_INVALID;
		}
		snprintf(o->container_runtime, sizeof(o->container_runtime), "%s", rt);
	}
	weir_buf_release(&err);
	return 0;
}

static int dags_folder_flag(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"dags-folder", required_argument, NULL, 'd'}, {0, 0, 0, 0}};
	int c, rc = weir_cli_config(cli);

	if (rc)
		return rc;
	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (c == 'd') {
			char *abs = realpath(optarg, NULL);
			if (!abs) {
				weir_cli_error("could not open DAG folder \"%s\": %s", optarg, strerror(errno));
				return WEIR_EXIT_INVALID;
			}
			weir_config_set(&cli->cfg, WEIR_CFG_DAGS_FOLDER, abs, WEIR_SRC_FLAG);
			free(abs);
		}
	}
	if (optind != argc)
		return weir_cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
	return 0;
}

/* Runs a scheduler in the foreground until SIGINT/SIGTERM. */
static int run_scheduler(struct weir_cli *cli, struct weir_store *st)
{
	struct weir_sched_opts o;
	struct weir_sched *s = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char exe[PATH_MAX];
	struct sigaction sa;
	int rc;

	rc = sched_opts(cli, &o, exe);
	if (rc) {
		weir_store_close(st);
		return rc;
	}
	if (weir_pg_store_set_app(st, "weir-scheduler", &err) < 0) {
		weir_cli_error("%s", err.buf);
		weir_store_close(st);
		return WEIR_EXIT_INVALID;
	}
	mkdir(o.dags_folder, 0755);
	rc = weir_sched_new(&o, st, &s, &err);
	if (rc == 0)
		rc = weir_sched_start(s, &err);
	if (rc < 0) {
		weir_cli_error("could not start the scheduler: %s", err.buf);
		weir_sched_free(s);
		weir_buf_release(&err);
		return WEIR_EXIT_INVALID;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	running = s;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	weir_info("scheduler running: DAGs from %s, task logs in %s/logs, %d task processes at most",
		  o.dags_folder, o.home, o.parallelism);
	weir_sched_run(s);
	weir_info("scheduler stopped (running task processes continue; a restart adopts them)");
	running = NULL;
	weir_sched_free(s);
	weir_buf_release(&err);
	return 0;
}

int weir_cmd_scheduler(struct weir_cli *cli, int argc, char **argv)
{
	struct weir_store *st = NULL;
	int rc;

	weir_log_component = "scheduler";
	rc = dags_folder_flag(cli, argc, argv);
	if (rc)
		return rc;
	rc = weir_cli_store(cli, &st);
	if (rc)
		return rc;
	return run_scheduler(cli, st);
}

int weir_cmd_standalone(struct weir_cli *cli, int argc, char **argv)
{
	struct weir_store *st = NULL;
	struct weir_api_opts ao;
	struct weir_api *api = NULL;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char id[WEIR_API_CLIENT_ID_BUFSZ], secret[WEIR_API_SECRET_BUFSZ];
	const char *url;
	sigset_t block, saved;
	bool created = false;
	int rc;

	weir_log_component = "standalone";
	rc = dags_folder_flag(cli, argc, argv);
	if (rc)
		return rc;
	rc = weir_cli_store(cli, &st);
	if (rc)
		return rc;
	url = weir_config_get(&cli->cfg, WEIR_CFG_DATABASE_URL);
	if (!*url && weir_cli_private_cluster_url(cli, &url))
		return WEIR_EXIT_INVALID;

	/* The HTTP API, in its own threads; an admin client on first start. */
	if (weir_api_bootstrap_admin(st, id, secret, &created, &err) < 0) {
		weir_cli_error("could not create the admin client: %s", err.buf);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	if (weir_api_opts_from_config(&cli->cfg, &ao, &err) < 0) {
		weir_cli_error("%s", err.buf);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	ao.database_url = url;
	/* The server's threads inherit a mask that blocks the signals the
	 * scheduler handles, so those always land in this thread. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &saved);
	signal(SIGPIPE, SIG_IGN); /* lets libmicrohttpd use sendfile */
	rc = weir_api_start(&ao, &api, &err);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (rc < 0) {
		weir_cli_error("could not start the HTTP API: %s", err.buf);
		rc = WEIR_EXIT_INVALID;
		goto out;
	}
	printf("weir standalone\n"
	       "  database:     %s\n"
	       "  DAG folder:   %s\n"
	       "  task logs:    %s/logs\n"
	       "  API and UI:   http%s://%s (port %d)\n",
	       *weir_config_get(&cli->cfg, WEIR_CFG_DATABASE_URL) ? "database_url (configured)"
								   : "private PostgreSQL under WEIR_HOME/pg",
	       weir_config_get(&cli->cfg, WEIR_CFG_DAGS_FOLDER), weir_config_get(&cli->cfg, WEIR_CFG_HOME),
	       ao.tls_cert && *ao.tls_cert ? "s" : "", ao.listen, weir_api_port(api));
	if (created)
		printf("  admin client (shown once, keep it):\n"
		       "    client_id: %s\n"
		       "    client_secret: %s\n",
		       id, secret);
	printf("  stop with Ctrl-C\n");
	fflush(stdout);
	rc = run_scheduler(cli, st);
	st = NULL; /* run_scheduler owns it */
	weir_api_stop(api, 10000);
	api = NULL;
out:
	weir_store_close(st);
	weir_buf_release(&err);
	/* Stop what we started; a cluster that was already running stays. */
	if (weir_cli_private_cluster_started()) {
		weir_info("stopping the private PostgreSQL");
		if (weir_cli_private_cluster_stop(cli) && !rc)
			rc = WEIR_EXIT_INVALID;
	}
	return rc;
}
