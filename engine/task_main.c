/*
 * task_main.c: `weir-task`, the lean task runner.
 *
 *   weir-task DAG RUN TASK --try N --attempt UUID --spec FILE [...]
 *
 * The same runner as `weir task run` (taskrun.h), in a binary that links
 * only what ordinary tasks need (libc, jansson, libuuid): no libpq,
 * libcurl, libmicrohttpd or GnuTLS, whose loading alone costs 10-25 ms per
 * process.  Operators that need those libraries (weir_operator.full_runner)
 * are run by the full `weir task run` instead; the scheduler picks.
 */
#include "engine/operator.h"
#include "engine/taskrun.h"

int main(int argc, char **argv)
{
	weir_operators_register_light();
	return weir_taskrun_main(argc, argv);
}
