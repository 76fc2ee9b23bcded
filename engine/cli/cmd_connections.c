/* cmd_connections.c: weir connections add | list | delete (being written). */
#include "engine/cli/cli.h"

int weir_cmd_connections_add(struct weir_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return weir_cli_usage_error(cli, "not built yet");
}

int weir_cmd_connections_list(struct weir_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return weir_cli_usage_error(cli, "not built yet");
}

int weir_cmd_connections_delete(struct weir_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return weir_cli_usage_error(cli, "not built yet");
}
