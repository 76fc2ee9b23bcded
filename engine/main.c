/* main.c: the weir binary. */
#include "engine/cli/cli.h"

int main(int argc, char **argv)
{
	return weir_cli_main(argc, argv);
}
