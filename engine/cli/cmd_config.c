/* cmd_config.c: weir config show. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/cli/cli.h"

int weir_cmd_config_show(struct weir_cli *cli, int argc, char **argv)
{
	int rc;

	while (weir_cli_getopt(cli, argc, argv, "", NULL) != -1)
		;
	if (optind != argc)
		return weir_cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
	rc = weir_cli_config(cli);
	printf("# config file: %s%s\n", cli->cfg.file, cli->cfg.file_exists ? "" : " (not present)");
	for (int k = 0; k < WEIR_CFG__COUNT; k++) {
		char *v = weir_config_masked(&cli->cfg, (enum weir_config_key)k);
		printf("%-18s = %-40s # %s\n", weir_config_key_name((enum weir_config_key)k), v,
		       weir_config_source_name(cli->cfg.source[k]));
		free(v);
	}
	return rc;
}
