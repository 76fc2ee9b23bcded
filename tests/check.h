/*
 * check.h: weir's test framework, wrapped once here.
 *
 * A suite is one binary with a NULL-terminated table of tests:
 *
 *   static void test_buf__grows(void) { CHECK_INT_EQ(1 + 1, 2); }
 *   static const struct check_test tests[] = {
 *           CHECK_TEST(test_buf__grows),
 *           {0},
 *   };
 *   int main(int argc, char **argv) { return check_main(argc, argv, tests); }
 *
 * Each test runs in its own forked process with a timeout (CHECK_TIMEOUT
 * seconds, default 120), so a crash or hang fails that test only.  Output
 * is TAP.  `suite NAME...` runs only the named tests; CHECK_NOFORK=1 runs
 * in-process (for gdb).  Assertions stay on in every build type and print
 * both operands.  A failing CHECK ends the test.
 */
#ifndef WEIR_CHECK_H
#define WEIR_CHECK_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct check_test {
	const char *name;
	void (*fn)(void);
};
#define CHECK_TEST(fn) {#fn, fn}

int check_main(int argc, char **argv, const struct check_test *tests);

__attribute__((noreturn)) void check__fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prints a diagnostic line ("# ...") without failing. */
void check_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond)                                                               \
	do {                                                                      \
		if (!(cond))                                                      \
			check__fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond); \
	} while (0)

#define CHECK_INT_EQ(a, b)                                                              \
	do {                                                                            \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);         \
		if (check_a_ != check_b_)                                               \
			check__fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, \
				    check_a_, check_b_);                                \
	} while (0)

#define CHECK_INT_OP(a, op, b)                                                          \
	do {                                                                            \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);         \
		if (!(check_a_ op check_b_))                                            \
			check__fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, \
				    #b, check_a_, check_b_);                            \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                          \
	do {                                                                        \
		const char *check_a_ = (a), *check_b_ = (b);                        \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0)      \
			check__fail(__FILE__, __LINE__, "%s == %s:\n  got:      \"%s\"\n  expected: \"%s\"", \
				    #a, #b, check_a_ ? check_a_ : "(null)",         \
				    check_b_ ? check_b_ : "(null)");                \
	} while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                             \
	do {                                                                        \
		const char *check_h_ = (hay), *check_n_ = (needle);                 \
		if (!check_h_ || !strstr(check_h_, check_n_))                       \
			check__fail(__FILE__, __LINE__, "%s contains %s:\n  in: \"%s\"\n  missing: \"%s\"", \
				    #hay, #needle, check_h_ ? check_h_ : "(null)", check_n_); \
	} while (0)

/* rc must be 0; prints weir's error name and message otherwise. */
#define CHECK_OK(rc)                                                                 \
	do {                                                                         \
		int check_rc_ = (rc);                                                \
		if (check_rc_ != 0)                                                  \
			check__fail(__FILE__, __LINE__, "%s returned %d (%s)", #rc,   \
				    check_rc_, check__errname(check_rc_));           \
	} while (0)

const char *check__errname(int rc);

/* A fresh temporary directory for this test, removed when it passes. */
const char *check_tmpdir(void);
/* Reads a whole file (test helper); returns malloc'd NUL-terminated text. */
char *check_read_file(const char *path);
void check_write_file(const char *path, const char *text);

/* True when `command -v name` finds the program. */
bool check_have_program(const char *name);
/* True when a live process has exactly this command line (its arguments
 * joined by ' '), read from /proc/PID/cmdline. */
bool check_process_exists(const char *cmdline);

#endif
