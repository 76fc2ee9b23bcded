/*
 * task_main.c: `weir-task`, the lean task runner.
 *
 *   weir-task DAG RUN TASK --try N --attempt UUID --spec FILE [...]
 *   weir-task --standby=FD      (started ahead by the scheduler, taskrun.h)
 *
 * The same runner as `weir task run` (taskrun.h), in a binary that links
 * only what ordinary tasks need (libc, jansson, libuuid): no libpq,
 * libcurl, libmicrohttpd or GnuTLS, whose loading alone costs 10-25 ms per
 * process.  Operators that need those libraries (weir_operator.full_runner)
 * are run by the full `weir task run` instead; the scheduler picks.
 */
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "engine/operator.h"
#include "engine/taskrun.h"

int main(int argc, char **argv)
{
	weir_operators_register_light();
	if (argc == 2 && !strncmp(argv[1], "--standby=", 10)) {
		int64_t fd;
		if (weir_str_to_i64(argv[1] + 10, &fd) < 0 || fd < 3 || fd > 1 << 20)
			return 2;
		return weir_taskrun_standby((int)fd);
	}
	return weir_taskrun_main(argc, argv);
}
