/* check_weir.c: scheduler processes and runs for tests (see check_weir.h). */
#include "tests/check_weir.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/check.h"
#include "tests/check_pg.h"

static const char *weir_bin(void)
{
	const char *b = getenv("WEIR_BINARY");
	if (!b)
		check__fail(__FILE__, __LINE__, "WEIR_BINARY is not set: run through ctest");
	return b;
}

void env_init(struct weir_env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->db, sizeof(e->db), "%s", check_pg_new_db(true));
	snprintf(e->home, sizeof(e->home), "%s/home", check_tmpdir());
	snprintf(e->dags, sizeof(e->dags), "%s/dags", check_tmpdir());
	mkdir(e->home, 0755);
	mkdir(e->dags, 0755);
}

void env_dag(struct weir_env *e, const char *name, const char *yaml)
{
	char path[1024], tmp[1100];
	snprintf(path, sizeof(path), "%s/%s", e->dags, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", e->dags, name);
	check_write_file(tmp, yaml);
	if (rename(tmp, path) < 0)
		check__fail(__FILE__, __LINE__, "rename: %s", strerror(errno));
}

static void set_env(struct weir_env *e)
{
	setenv("WEIR_DATABASE_URL", e->db, 1);
	setenv("WEIR_HOME", e->home, 1);
	setenv("WEIR_DAGS_FOLDER", e->dags, 1);
	unsetenv("WEIR_CONFIG");
}

void env_start(struct weir_env *e, int i, const char *const *extra)
{
	char log[1100];
	pid_t pid;

	snprintf(log, sizeof(log), "%s/scheduler-%d.log", e->home, e->nstarted++);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		set_env(e);
		for (size_t k = 0; extra && extra[k]; k++)
			putenv((char *)extra[k]);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(weir_bin(), weir_bin(), "scheduler", "--dags-folder", e->dags, (char *)NULL);
		_exit(127);
	}
	e->sched[i] = pid;
}

void env_stop(struct weir_env *e, int i, bool kill9)
{
	int status;

	if (e->sched[i] <= 0)
		return;
	kill(e->sched[i], kill9 ? SIGKILL : SIGTERM);
	waitpid(e->sched[i], &status, 0);
	e->sched[i] = 0;
}

void env_stop_all(struct weir_env *e)
{
	for (int i = 0; i < 4; i++)
		env_stop(e, i, false);
}

int env_weir(struct weir_env *e, char **out, const char *const *args)
{
	int pipefd[2], status;
	pid_t pid;
	char buf[4096];
	size_t len = 0, cap = 0;
	char *o = NULL;

	CHECK(pipe(pipefd) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		const char *argv[32];
		int n = 0;
		set_env(e);
		argv[n++] = weir_bin();
		for (; args[n - 1] && n < 31; n++)
			argv[n] = args[n - 1];
		argv[n] = NULL;
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execv(weir_bin(), (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n = read(pipefd[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		if (len + (size_t)n + 1 > cap) {
			cap = (len + (size_t)n + 1) * 2;
			o = realloc(o, cap);
		}
		memcpy(o + len, buf, (size_t)n);
		len += (size_t)n;
		o[len] = '\0';
	}
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (out)
		*out = o;
	else
		free(o);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void env_trigger(struct weir_env *e, const char *dag, const char *run_id, const char *conf)
{
	const char *args[8] = {"dags", "trigger", dag, "--run-id", run_id, NULL, NULL, NULL};
	char *out = NULL;
	int rc;

	if (conf) {
		args[5] = "--conf";
		args[6] = conf;
	}
	rc = env_weir(e, &out, args);
	if (rc != 0)
		check__fail(__FILE__, __LINE__, "weir dags trigger %s failed (%d): %s", dag, rc, out ? out : "");
	free(out);
}

char *env_sql(struct weir_env *e, const char *fmt, ...)
{
	char sql[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return check_pg_sql(e->db, sql);
}

void env_wait_sql(struct weir_env *e, int timeout_s, const char *fmt, ...)
{
	char sql[8192];
	va_list ap;
	struct timespec t0, t;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char *v = check_pg_sql(e->db, sql);
		bool ok = v && !strcmp(v, "t");
		free(v);
		if (ok)
			return;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > timeout_s)
			check__fail(__FILE__, __LINE__, "timed out after %d s waiting for: %s", timeout_s, sql);
		usleep(50000);
	}
}

const char *env_wait_run(struct weir_env *e, const char *dag, const char *run_id, int timeout_s)
{
	static char state[32];
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char *v = env_sql(e, "SELECT state FROM dag_runs WHERE dag_id = '%s' AND run_id = '%s'", dag, run_id);
		if (v && (!strcmp(v, "SUCCESS") || !strcmp(v, "FAILED") || !strcmp(v, "INVALID") ||
			  !strcmp(v, "ABORTED"))) {
			snprintf(state, sizeof(state), "%s", v);
			free(v);
			return state;
		}
		free(v);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > timeout_s) {
			char cmd[1200];
			snprintf(cmd, sizeof(cmd), "tail -30 %s/scheduler-*.log >&2", e->home);
			if (system(cmd) != 0) {
				/* only diagnostics */
			}
			check__fail(__FILE__, __LINE__, "run %s of %s did not finish within %d s", run_id, dag,
				    timeout_s);
		}
		usleep(50000);
	}
}
