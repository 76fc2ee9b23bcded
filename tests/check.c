/* check.c: the test runner behind check.h (one process per test, TAP out). */
#include "tests/check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

static char tmpdir[256];

const char *check__errname(int rc)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s: %s", weir_errname(rc), weir_strerror(rc));
	return buf;
}

void check__fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "# FAIL at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

void check_note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

const char *check_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof(tmpdir), "%s/weir-test-XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(tmpdir))
			check__fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
	}
	return tmpdir;
}

char *check_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		check__fail(__FILE__, __LINE__, "cannot open \"%s\": %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		check__fail(__FILE__, __LINE__, "cannot read \"%s\"", path);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

void check_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		check__fail(__FILE__, __LINE__, "cannot write \"%s\": %s", path, strerror(errno));
}

bool check_have_program(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

bool check_process_exists(const char *cmdline)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		char path[64], buf[512];
		int fd;
		ssize_t n;
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/cmdline", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* The arguments end in NULs; all but the last become spaces. */
		for (ssize_t i = 0; i < n - 1; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		found = !strcmp(buf, cmdline);
	}
	if (d)
		closedir(d);
	return found;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int run_one(const struct check_test *t, int timeout)
{
	pid_t pid;
	int status;

	if (getenv("CHECK_NOFORK")) {
		t->fn();
		return 0;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		alarm((unsigned)timeout);
		t->fn();
		fflush(stdout);
		if (tmpdir[0])
			nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Leave nothing behind: a test's stray grandchildren die with it. */
	kill(-pid, SIGKILL);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "# %s: killed by signal %d%s\n", t->name, WTERMSIG(status),
			WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
		return 1;
	}
	return WEXITSTATUS(status) != 0;
}

int check_main(int argc, char **argv, const struct check_test *tests)
{
	int failed = 0, run = 0, n = 0;
	int timeout = 120;
	const char *t_env = getenv("CHECK_TIMEOUT");

	if (t_env)
		timeout = atoi(t_env);
	for (const struct check_test *t = tests; t->name; t++)
		n++;
	if (argc > 1 && !strcmp(argv[1], "--list")) {
		for (const struct check_test *t = tests; t->name; t++)
			printf("%s\n", t->name);
		return 0;
	}
	printf("1..%d\n", argc > 1 ? argc - 1 : n);
	for (const struct check_test *t = tests; t->name; t++) {
		bool selected = argc <= 1;
		struct timespec a, b;
		for (int i = 1; i < argc; i++)
			if (!strcmp(argv[i], t->name))
				selected = true;
		if (!selected)
			continue;
		run++;
		clock_gettime(CLOCK_MONOTONIC, &a);
		int rc = run_one(t, timeout);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		printf("%s %d - %s (%.0f ms)\n", rc ? "not ok" : "ok", run, t->name, ms);
		fflush(stdout);
		failed += rc != 0;
	}
	if (argc > 1 && run != argc - 1) {
		fprintf(stderr, "# some named tests do not exist (use --list)\n");
		return 2;
	}
	if (failed)
		fprintf(stderr, "# %d of %d tests failed\n", failed, run);
	return failed ? 1 : 0;
}
