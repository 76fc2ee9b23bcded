/*
 * cli.h: the `weir` command line.
 *
 * Commands are rows of one table (name words, arguments, summary, help,
 * handler); `weir help CMD` and `CMD --help` print the row's help.  Each
 * handler returns the process exit code:
 *   0 ok, 1 invalid input (a bad DAG, a failed run), 2 usage error.
 * Handlers write results to stdout and diagnostics to stderr.
 */
#ifndef WEIR_CLI_H
#define WEIR_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include "engine/config.h"

enum {
	WEIR_EXIT_OK = 0,
	WEIR_EXIT_INVALID = 1,
	WEIR_EXIT_USAGE = 2,
};

struct weir_cli;

typedef int weir_cli_fn(struct weir_cli *cli, int argc, char **argv);

struct weir_cli_cmd {
	const char *name;    /* words, e.g. "dags validate" */
	const char *args;    /* synopsis after the name */
	const char *summary; /* one line */
	const char *help;    /* options and details, may be NULL */
	weir_cli_fn *run;
};

struct weir_cli {
	const char *prog;
	const struct weir_cli_cmd *cmd; /* the command being run */
	const char *home_flag;          /* --home, or NULL */
	struct weir_config cfg;
	bool cfg_loaded;
};

int weir_cli_main(int argc, char **argv);

/* Loads the configuration once (prints problems); 0 or an exit code. */
int weir_cli_config(struct weir_cli *cli);
/* Prints "weir CMD: message" and the usage line to stderr; returns 2. */
int weir_cli_usage_error(struct weir_cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints "weir: message" to stderr. */
void weir_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * getopt_long wrapper: resets getopt, handles --help (prints help, exits
 * 0) and unknown options (usage error, exits 2).  Returns the option
 * character, or -1 at the end of options.
 */
int weir_cli_getopt(struct weir_cli *cli, int argc, char **argv, const char *shortopts,
		    const struct option *longopts);
/* Loads a DAG file, printing its problems to stderr; NULL when invalid. */
struct weir_dag;
struct weir_dag *weir_cli_load_dag(const char *path);
/* Parses a positive integer option value; exits 2 on error. */
long weir_cli_parse_count(struct weir_cli *cli, const char *opt, const char *value, long max);
/*
 * Parses the options of a command whose only option is --format FORMAT
 * (*json: FORMAT is "json"; anything else means text) and which takes no
 * operand.  0, or an exit code (a usage error).
 */
int weir_cli_format_only(struct weir_cli *cli, int argc, char **argv, bool *json);
/* Prints j to stdout as indented JSON (members in insertion order) and a newline. */
void weir_cli_print_json(const json_t *j);
/*
 * Reads one line from stdin into out, without the newline and without one
 * "\r" at its end; stops at end of file.  With ask, when stdin is a
 * terminal, prompts "password: " on stderr and turns echo off while
 * reading.  Bytes past out's limit are dropped.  Returns 0, or -1 on a
 * read error.
 */
struct weir_buf;
int weir_cli_read_secret(bool ask, struct weir_buf *out);

struct weir_store;
/* Opens the configured store (the private cluster when no URL is set,
 * started on demand); prints the error; 0 or an exit code. */
int weir_cli_store(struct weir_cli *cli, struct weir_store **out);
/* The private cluster's conninfo, starting it when needed; 0 or an exit code. */
int weir_cli_private_cluster_url(struct weir_cli *cli, const char **url);
/* Did this process start the private cluster?  Stop it (0 or exit code). */
bool weir_cli_private_cluster_started(void);
int weir_cli_private_cluster_stop(struct weir_cli *cli);

/* Command handlers (engine/cli/cmd_*.c). */
weir_cli_fn weir_cmd_dags_validate, weir_cmd_dags_show, weir_cmd_dags_next_runs;
weir_cli_fn weir_cmd_cron_next, weir_cmd_config_show;
weir_cli_fn weir_cmd_db_migrate, weir_cmd_db_status, weir_cmd_db_start, weir_cmd_db_stop;
weir_cli_fn weir_cmd_db_url;
weir_cli_fn weir_cmd_task_run, weir_cmd_tasks_test, weir_cmd_tasks_logs;
weir_cli_fn weir_cmd_scheduler, weir_cmd_standalone;
weir_cli_fn weir_cmd_api, weir_cmd_clients_create, weir_cmd_clients_list, weir_cmd_users_create;
weir_cli_fn weir_cmd_connections_add, weir_cmd_connections_list, weir_cmd_connections_delete;
weir_cli_fn weir_cmd_dags_list, weir_cmd_dags_trigger, weir_cmd_dags_pause, weir_cmd_dags_unpause;
weir_cli_fn weir_cmd_dags_backfill, weir_cmd_runs_list, weir_cmd_runs_show, weir_cmd_runs_abort;

#endif
