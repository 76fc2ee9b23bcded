/*
 * forkloop.c: the cost of starting programs, measured the plain way.
 *
 *   forkloop N PROG [ARG...] [:: PROG2 [ARG...]] ...
 *
 * Runs each program N times: fork(), execvp() in the child, wait4() in
 * the parent, each run timed with the monotonic clock (wall) and by the
 * CPU time wait4() reports (user + system, of the program and of the
 * descendants it waited for: less sensitive to a loaded machine).  With several
 * programs (separated by "::") the runs alternate, A B A B ..., so that a
 * shared, noisy machine slows all of them alike: compare them with each
 * other, in the same invocation.  Prints one line per program:
 *
 *   PROG: runs=N median_us=M mean_us=A min_us=L cpu_median_us=C failures=F
 *
 * (failures: runs that did not exit 0).  bench/exec/run.sh uses it for
 * every contender (`true`, the task runner, runc), so all pay the same
 * fork/exec/wait around them.  Only libc.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROGS 8

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	char **prog[MAX_PROGS];
	long long *t[MAX_PROGS], *cpu[MAX_PROGS], sum[MAX_PROGS] = {0};
	long n, failures[MAX_PROGS] = {0};
	int np = 0;

	if (argc < 3 || (n = atol(argv[1])) < 1) {
		fprintf(stderr, "usage: forkloop N PROG [ARG...] [:: PROG [ARG...]]...\n");
		return 2;
	}
	prog[np++] = argv + 2;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "::"))
			continue;
		argv[i] = NULL; /* ends the previous argv */
		if (i + 1 >= argc || np == MAX_PROGS) {
			fprintf(stderr, "forkloop: a program must follow \"::\" (at most %d)\n", MAX_PROGS);
			return 2;
		}
		prog[np++] = argv + i + 1;
	}
	for (int p = 0; p < np; p++) {
		t[p] = calloc((size_t)n, sizeof(long long));
		cpu[p] = calloc((size_t)n, sizeof(long long));
		if (!t[p] || !cpu[p])
			return 1;
	}
	for (long i = 0; i < n; i++) {
		for (int p = 0; p < np; p++) {
			long long t0 = now_ns();
			int status;
			struct rusage ru;
			pid_t pid = fork();
			if (pid < 0) {
				perror("fork");
				return 1;
			}
			if (pid == 0) {
				execvp(prog[p][0], prog[p]);
				_exit(127);
			}
			if (wait4(pid, &status, 0, &ru) != pid) {
				perror("wait4");
				return 1;
			}
			t[p][i] = now_ns() - t0;
			cpu[p][i] = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
				    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
			sum[p] += t[p][i];
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				failures[p]++;
		}
	}
	for (int p = 0; p < np; p++) {
		long long *v = t[p], *c = cpu[p];
		qsort(v, (size_t)n, sizeof(*v), cmp);
		qsort(c, (size_t)n, sizeof(*c), cmp);
		printf("%s: runs=%ld median_us=%.1f mean_us=%.1f min_us=%.1f cpu_median_us=%.1f failures=%ld\n",
		       prog[p][0], n, (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) / 1000.0,
		       sum[p] / 1000.0 / n, v[0] / 1000.0,
		       (n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2) / 1000.0, failures[p]);
		free(v);
		free(c);
	}
	for (int p = 0; p < np; p++)
		if (failures[p])
			return 1;
	return 0;
}
