/* cli.c: command table, dispatch, help and shared option handling. */
#include "engine/cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"
#include "common/xalloc.h"
#include "engine/dag.h"
#include "engine/operator.h"

static const struct weir_cli_cmd commands[] = {
	{"standalone", "", "run weir on this machine: private PostgreSQL, scheduler and API",
	 "      --dags-folder DIR  DAG files (default: dags_folder)\n"
	 "Starts the private PostgreSQL cluster under WEIR_HOME when no database_url is\n"
	 "set, then the scheduler, in the foreground.  Ctrl-C stops it; task processes\n"
	 "that are running continue and are adopted at the next start.\n",
	 weir_cmd_standalone},
	{"scheduler", "", "run a scheduler against the configured database",
	 "      --dags-folder DIR  DAG files (default: dags_folder)\n"
	 "Several schedulers may share one database: each DAG is driven by one of them.\n",
	 weir_cmd_scheduler},
	{"api", "", "serve the HTTP API (Airflow-compatible /api/v1, orders, OAuth2) and the web UI",
	 "      --listen ADDR:PORT  where to listen (default: api_listen)\n", weir_cmd_api},
	{"clients create", "NAME --scopes S1,S2", "create an OAuth2 client; prints its id and secret once",
	 "      --scopes LIST      comma-separated scopes (admin, dags:read, ...)\n"
	 "      --token-ttl DUR    access token lifetime (default 1h)\n", weir_cmd_clients_create},
	{"clients list", "", "list OAuth2 clients (never their secrets)", NULL, weir_cmd_clients_list},
	{"users create", "NAME --scopes S1,S2", "create a user for the password grant (asks for the password)",
	 "      --scopes LIST      comma-separated scopes\n"
	 "      --password-stdin   read the password from standard input\n", weir_cmd_users_create},
	{"connections add", "NAME --type TYPE [--host H] [--port P] [--login L] [--password-stdin] [--schema S] [--extra JSON] [--replace]",
	 "define a named connection (postgres, http, smtp, amqp) in the database",
	 "      --replace      change an existing connection\n"
	 "Secrets are stored in the database and masked in task logs.\n", weir_cmd_connections_add},
	{"connections list", "", "list connections of the database and the connections file (never their secrets)",
	 "      --format F     text (default) or json\n", weir_cmd_connections_list},
	{"connections delete", "NAME", "delete a connection from the database", NULL,
	 weir_cmd_connections_delete},
	{"dags list", "", "list the DAGs the database knows: paused, schedule, last run, next run",
	 "      --format F     text (default) or json\n", weir_cmd_dags_list},
	{"dags trigger", "DAG", "create a run of a DAG now",
	 "      --conf JSON    the run's conf (keys named like params set them)\n"
	 "      --run-id ID    the run's id (default: manual__<now>)\n"
	 "      --note TEXT    a note on the run\n",
	 weir_cmd_dags_trigger},
	{"dags pause", "DAG", "stop creating scheduled runs (running tasks are not touched)", NULL,
	 weir_cmd_dags_pause},
	{"dags unpause", "DAG", "resume creating scheduled runs", NULL, weir_cmd_dags_unpause},
	{"dags backfill", "DAG --from ISO --to ISO", "run a DAG for past intervals",
	 "      --from ISO     first logical date (interval start)\n"
	 "      --to ISO       last logical date\n"
	 "      --no-wait      create the runs and return\n"
	 "Creates one run per schedule interval in the range (skipping intervals that\n"
	 "already have a run) and shows progress until they finish.\n",
	 weir_cmd_dags_backfill},
	{"runs list", "DAG", "list a DAG's runs, newest first",
	 "      --limit N      how many (default 25)\n"
	 "      --format F     text (default) or json\n", weir_cmd_runs_list},
	{"runs show", "RUN", "show a run (by run id or order id): its state, then its tasks",
	 "      --dag DAG      when the run id exists in several DAGs\n"
	 "      --format F     text (default) or json\n"
	 "The first line starts with the run's order state (RECEIVED, QUEUED, RUNNING,\n"
	 "SUCCESS, FAILED, INVALID or ABORTED).\n",
	 weir_cmd_runs_show},
	{"runs abort", "RUN", "abort a run: stop its running tasks and start nothing more",
	 "      --dag DAG      when the run id exists in several DAGs\n", weir_cmd_runs_abort},
	{"dags validate", "PATH...", "validate DAG files and folders (errors as file:line:col)",
	 "  -q, --quiet        print nothing when every file is valid\n"
	 "      --format F     text (default) or json\n"
	 "Folders are searched recursively for *.yaml and *.yml files.  Every problem\n"
	 "of every file is reported; the exit code is 1 when any file is invalid.\n",
	 weir_cmd_dags_validate},
	{"dags show", "FILE", "show a DAG: schedule, next runs, tasks in topological order",
	 "      --format F     text (default), json or dot (Graphviz)\n",
	 weir_cmd_dags_show},
	{"dags next-runs", "FILE", "print the instants at which the next scheduled runs are due",
	 "  -n, --count N      how many (default 5)\n"
	 "      --after ISO    start after this instant (default: now)\n"
	 "      --logical      print each run's logical date (data interval start) instead\n"
	 "Prints one ISO-8601 UTC instant per line.\n",
	 weir_cmd_dags_next_runs},
	{"cron next", "EXPR", "print the next fire times of a cron expression",
	 "      --tz TZ        IANA time zone (default UTC)\n"
	 "      --after ISO    start after this instant (default: now)\n"
	 "  -n, --count N      how many (default 5; 1 in bulk mode)\n"
	 "With EXPR \"-\", reads lines EXPR<TAB>TZ<TAB>AFTER from standard input (TZ and\n"
	 "AFTER optional) and prints N instants per line, or ERROR<TAB>message.\n",
	 weir_cmd_cron_next},
	{"config show", "", "print every setting, its value and where it came from", NULL,
	 weir_cmd_config_show},
	{"db migrate", "", "create or upgrade the database schema (safe to run concurrently)",
	 "Applies the migrations compiled into this weir, each in its own transaction.\n"
	 "Uses database_url, or the private cluster under WEIR_HOME when it is empty.\n",
	 weir_cmd_db_migrate},
	{"db status", "", "show the database, its versions and which migrations are applied",
	 "      --format F     text (default) or json\n"
	 "Exits 1 when a migration is pending or was modified.\n",
	 weir_cmd_db_status},
	{"db start", "", "start the private PostgreSQL cluster under WEIR_HOME (create it if needed)",
	 NULL, weir_cmd_db_start},
	{"db stop", "", "stop the private PostgreSQL cluster", NULL, weir_cmd_db_stop},
	{"db url", "", "print the connection string of the private cluster", NULL, weir_cmd_db_url},
	{"task run", "DAG RUN TASK --try N --attempt UUID --spec FILE",
	 "run one try of a task (started by executors; see docs/internals/taskrun.md)",
	 "      --try N          the try number\n"
	 "      --attempt UUID   the try's attempt id (its fence)\n"
	 "      --spec FILE      the task spec (JSON)\n"
	 "      --report-fd FD   pipe to write the result line to\n"
	 "      --lock-fd FD     inherited flock()ed file that marks this try alive\n",
	 weir_cmd_task_run},
	{"tasks test", "DAG_FILE TASK", "run one task in the foreground without touching any state",
	 "      --param K=V      set a param (V is JSON, or a string when not valid JSON)\n"
	 "      --conf JSON      the run's conf object\n"
	 "      --date ISO       logical date (default: now)\n"
	 "      --xcom T.K=JSON  an upstream XCom value for templates\n"
	 "The task's log goes to standard output; the exit code is 0 on success.\n",
	 weir_cmd_tasks_test},
	{"tasks logs", "DAG RUN TASK", "print a task's log",
	 "      --try N          which try (default: the latest)\n"
	 "  -f, --follow         keep printing as the log grows until the try ends\n",
	 weir_cmd_tasks_logs},
	{NULL, NULL, NULL, NULL, NULL},
};

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void weir_cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("weir", fmt, ap);
	va_end(ap);
}

int weir_cli_usage_error(struct weir_cli *cli, const char *fmt, ...)
{
	va_list ap;
	char prefix[128];

	snprintf(prefix, sizeof(prefix), "weir %s", cli->cmd ? cli->cmd->name : "");
	va_start(ap, fmt);
	vmsg(prefix, fmt, ap);
	va_end(ap);
	if (cli->cmd)
		fprintf(stderr, "usage: weir %s %s\n(see: weir help %s)\n", cli->cmd->name,
			cli->cmd->args, cli->cmd->name);
	return WEIR_EXIT_USAGE;
}

static void print_cmd_help(const struct weir_cli_cmd *c, FILE *out)
{
	fprintf(out, "usage: weir %s %s\n\n%s\n", c->name, c->args, c->summary);
	if (c->help)
		fprintf(out, "\n%s", c->help);
}

static void print_overview(FILE *out)
{
	fprintf(out, "usage: weir [--home DIR] [--log-level LEVEL] COMMAND [ARGS]\n\n"
		     "weir runs DAGs of tasks described in YAML files.\n\ncommands:\n");
	for (const struct weir_cli_cmd *c = commands; c->name; c++)
		fprintf(out, "  %-20s %s\n", c->name, c->summary);
	fprintf(out, "\n'weir help COMMAND' or 'weir COMMAND --help' shows a command's options.\n");
}

int weir_cli_getopt(struct weir_cli *cli, int argc, char **argv, const char *shortopts,
		    const struct option *longopts)
{
	static const struct option none[] = {{0, 0, 0, 0}};
	struct option all[32];
	size_t n = 0;
	char so[64];
	int c;

	if (!longopts)
		longopts = none;
	for (; longopts[n].name && n < WEIR_ARRAY_SIZE(all) - 2; n++)
		all[n] = longopts[n];
	all[n++] = (struct option){"help", no_argument, NULL, 'h'};
	all[n] = (struct option){0, 0, 0, 0};
	snprintf(so, sizeof(so), ":%sh", shortopts ? shortopts : "");
	c = getopt_long(argc, argv, so, all, NULL);
	if (c == 'h') {
		print_cmd_help(cli->cmd, stdout);
		exit(WEIR_EXIT_OK);
	}
	if (c == '?') {
		if (optopt)
			exit(weir_cli_usage_error(cli, "unknown option '-%c'", optopt));
		exit(weir_cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]));
	}
	if (c == ':')
		exit(weir_cli_usage_error(cli, "option '%s' needs a value", argv[optind - 1]));
	return c;
}

long weir_cli_parse_count(struct weir_cli *cli, const char *opt, const char *value, long max)
{
	int64_t v;

	if (weir_str_to_i64(value, &v) < 0 || v < 1 || v > max)
		exit(weir_cli_usage_error(cli, "%s must be a whole number from 1 to %ld, not \"%s\"", opt,
					  max, value));
	return (long)v;
}

int weir_cli_format_only(struct weir_cli *cli, int argc, char **argv, bool *json)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0, 0, 0, 0}};
	int c;

	*json = false;
	while ((c = weir_cli_getopt(cli, argc, argv, "", opts)) != -1)
		if (c == 'f')
			*json = !strcmp(optarg, "json");
	if (optind != argc)
		return weir_cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
	return 0;
}

void weir_cli_print_json(const json_t *j)
{
	/* jansson keeps insertion order (JSON_PRESERVE_ORDER is implied since 2.8). */
	char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(t);
	free(t);
}

int weir_cli_read_secret(bool ask, struct weir_buf *out)
{
	struct termios old, quiet;
	bool tty = ask && isatty(0);
	int c;

	if (tty) {
		fprintf(stderr, "password: ");
		fflush(stderr);
		tcgetattr(0, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	while ((c = getchar()) != EOF && c != '\n')
		weir_buf_addch(out, c);
	if (out->len && out->buf[out->len - 1] == '\r')
		weir_buf_truncate(out, out->len - 1);
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	return ferror(stdin) ? -1 : 0;
}

struct weir_dag *weir_cli_load_dag(const char *path)
{
	struct weir_diags d;
	struct weir_dag *dag = NULL;
	struct weir_buf out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	weir_diags_init(&d, path);
	if (weir_dag_load_file(path, &dag, &d) < 0) {
		weir_diags_format(&d, &out);
		fputs(out.buf, stderr);
		dag = NULL;
	}
	weir_diags_release(&d);
	weir_buf_release(&out);
	return dag;
}

int weir_cli_config(struct weir_cli *cli)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc;

	if (cli->cfg_loaded)
		return 0;
	rc = weir_config_load(&cli->cfg, cli->home_flag, &err);
	cli->cfg_loaded = true;
	if (rc < 0) {
		fputs(err.buf, stderr);
		weir_buf_release(&err);
		return WEIR_EXIT_INVALID;
	}
	weir_buf_release(&err);
	{
		int lvl = weir_log_level_parse(weir_config_get(&cli->cfg, WEIR_CFG_LOG_LEVEL));
		if (lvl < 0) {
			weir_cli_error("invalid log_level \"%s\" (use debug, info, warn or error)",
				       weir_config_get(&cli->cfg, WEIR_CFG_LOG_LEVEL));
			return WEIR_EXIT_INVALID;
		}
		weir_log_min_level = lvl;
	}
	return 0;
}

/* Finds the command whose words start argv; *nwords gets their count. */
static const struct weir_cli_cmd *find_cmd(int argc, char **argv, int *nwords)
{
	const struct weir_cli_cmd *best = NULL;
	int best_n = 0;

	for (const struct weir_cli_cmd *c = commands; c->name; c++) {
		const char *p = c->name;
		int i = 0;
		bool ok = true;
		while (*p && ok) {
			size_t len = strcspn(p, " ");
			ok = i < argc && strlen(argv[i]) == len && !strncmp(argv[i], p, len);
			p += len;
			p += *p == ' ';
			i++;
		}
		if (ok && i > best_n) {
			best = c;
			best_n = i;
		}
	}
	*nwords = best_n;
	return best;
}

static int unknown_command(int argc, char **argv)
{
	/* A group name alone ("weir dags"): list its commands. */
	size_t len = strlen(argv[0]);
	bool group = false;
	const char *names[64];
	size_t nn = 0;

	for (const struct weir_cli_cmd *c = commands; c->name; c++) {
		if (!strncmp(c->name, argv[0], len) && c->name[len] == ' ')
			group = true;
	}
	if (group) {
		if (argc > 1)
			fprintf(stderr, "weir: unknown command 'weir %s %s'\n", argv[0], argv[1]);
		fprintf(stderr, "usage: weir %s SUBCOMMAND\n\n", argv[0]);
		for (const struct weir_cli_cmd *c = commands; c->name; c++)
			if (!strncmp(c->name, argv[0], len) && c->name[len] == ' ')
				fprintf(stderr, "  %-20s %s\n", c->name, c->summary);
		return WEIR_EXIT_USAGE;
	}
	for (const struct weir_cli_cmd *c = commands; c->name && nn < 63; c++) {
		size_t w = strcspn(c->name, " ");
		bool dup = false;
		for (size_t i = 0; i < nn; i++)
			dup |= strlen(names[i]) == w && !strncmp(names[i], c->name, w);
		if (!dup)
			names[nn++] = weir_xstrndup(c->name, w);
	}
	names[nn] = NULL;
	fprintf(stderr, "weir: unknown command '%s'", argv[0]);
	{
		const char *s = weir_str_suggest(argv[0], names);
		if (s)
			fprintf(stderr, " (did you mean '%s'?)", s);
	}
	fprintf(stderr, "\nsee 'weir help'\n");
	for (size_t i = 0; i < nn; i++)
		free((char *)names[i]);
	return WEIR_EXIT_USAGE;
}

int weir_cli_main(int argc, char **argv)
{
	struct weir_cli cli = {0};
	const struct weir_cli_cmd *cmd;
	int i = 1, nwords, rc;

	cli.prog = argv[0];
	weir_operators_register_all();

	/* Global options come before the command. */
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("weir %s\n", WEIR_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			print_overview(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--home") && i + 1 < argc) {
			cli.home_flag = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--home=", 7)) {
			cli.home_flag = argv[i] + 7;
			i++;
		} else if (!strcmp(argv[i], "--log-level") && i + 1 < argc) {
			setenv("WEIR_LOG_LEVEL", argv[i + 1], 1);
			i += 2;
		} else {
			fprintf(stderr, "weir: unknown option '%s'\nsee 'weir help'\n", argv[i]);
			return WEIR_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		print_overview(stderr);
		return WEIR_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 >= argc) {
			print_overview(stdout);
			return 0;
		}
		cmd = find_cmd(argc - i - 1, argv + i + 1, &nwords);
		if (!cmd || i + 1 + nwords != argc)
			return unknown_command(argc - i - 1, argv + i + 1);
		print_cmd_help(cmd, stdout);
		return 0;
	}
	if (!strcmp(argv[i], "version")) {
		printf("weir %s\n", WEIR_VERSION);
		return 0;
	}
	cmd = find_cmd(argc - i, argv + i, &nwords);
	if (!cmd)
		return unknown_command(argc - i, argv + i);
	cli.cmd = cmd;
	/* The handler sees argv[0] = the last command word. */
	optind = 0;
	opterr = 0;
	rc = cmd->run(&cli, argc - i - nwords + 1, argv + i + nwords - 1);
	if (cli.cfg_loaded)
		weir_config_release(&cli.cfg);
	return rc;
}
