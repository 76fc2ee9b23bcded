/*
 * error.h: weir's error codes.
 *
 * Functions return int: 0 on success, a negative WEIR_E* code or -errno on
 * failure.  Two outcomes are not failures and are positive, so `rc < 0`
 * always means "failed":
 *
 *   WEIR_AGAIN     not ready yet; call again later (cf. NGX_AGAIN)
 *   WEIR_DECLINED  not mine; let somebody else handle it (cf. NGX_DECLINED)
 *
 * The codes, their names and messages come from one table.  Codes are never
 * renumbered: they appear in logs, in the database and in exit statuses.
 * Own codes live below -1000 so they never collide with -errno.
 */
#ifndef WEIR_ERROR_H
#define WEIR_ERROR_H

#define WEIR_ERRNO_MAP(XX)                                                  \
	XX(EINVALID, -1001, "invalid input")                                \
	XX(ESYNTAX, -1002, "syntax error")                                  \
	XX(ETOOBIG, -1003, "value too large")                               \
	XX(ENOTFOUND, -1004, "not found")                                   \
	XX(ECONFLICT, -1005, "conflict: lost a race to another writer")     \
	XX(EILLEGAL, -1006, "illegal state transition")                     \
	XX(ESTALE, -1007, "stale attempt: a newer try owns this task")      \
	XX(EDB, -1008, "database error")                                    \
	XX(ECONN, -1009, "connection lost")                                 \
	XX(EUSAGE, -1010, "usage error")                                    \
	XX(ENOSUPPORT, -1011, "not supported")                              \
	XX(ETIMEDOUT, -1012, "timed out")                                   \
	XX(EEXISTS, -1013, "already exists")                                \
	XX(ECHILD, -1014, "child process failed")                           \
	XX(ESHUTDOWN, -1015, "shutting down")

enum weir_errno {
#define XX(name, code, msg) WEIR_##name = (code),
	WEIR_ERRNO_MAP(XX)
#undef XX
	WEIR_OK = 0,
	WEIR_AGAIN = 1,
	WEIR_DECLINED = 2,
};

/* Returns a static message for a weir code, -errno, or an outcome. */
const char *weir_strerror(int code);
/* Returns the symbolic name ("WEIR_ESTALE", "ENOENT") of a code. */
const char *weir_errname(int code);

#endif
