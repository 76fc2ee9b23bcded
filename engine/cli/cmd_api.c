/* cmd_api.c: weir api | clients | users (being written). */
#include "engine/cli/cli.h"

int weir_cmd_api(struct weir_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return weir_cli_usage_error(cli, "not built yet");
}

int weir_cmd_clients_create(struct weir_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return weir_cli_usage_error(cli, "not built yet");
}

int weir_cmd_clients_list(struct weir_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return weir_cli_usage_error(cli, "not built yet");
}

int weir_cmd_users_create(struct weir_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return weir_cli_usage_error(cli, "not built yet");
}
