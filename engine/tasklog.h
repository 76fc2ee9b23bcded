/*
 * tasklog.h: the task log writer and line splitter (private to the task
 * process: engine/taskrun.c).
 *
 * Format (taskrun.h: THE LOG), one line per output line:
 *
 *   2026-11-23T10:00:00.123456Z OUT text
 *   |-------- UTC, us --------| |S| |-- bytes as written, secrets masked --|
 *
 * Invariants:
 *   - every line ends in '\n' and the log only ever receives whole lines:
 *     lines are queued in `out` and written with one write(2) per batch on
 *     an O_APPEND fd, so a reader (`weir tasks logs --follow`) and a
 *     second writer (the scheduler appending WEIR lines) see whole lines;
 *   - no line holds more than WEIR_TASKLOG_LINE_MAX bytes of text: longer
 *     output lines are split (each part is its own log line);
 *   - every secret is replaced by "***" before a byte reaches the file,
 *     also when the secret straddles a split (the splitter holds back a
 *     tail that could be the start of a secret).
 */
#ifndef WEIR_TASKLOG_H
#define WEIR_TASKLOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define WEIR_TASKLOG_LINE_MAX (64 * 1024)
/* Secrets longer than this are masked as far as their first 4 KiB. */
#define WEIR_TASKLOG_SECRET_MAX 4096

struct weir_tasklog {
	int fd;               /* O_APPEND | O_CLOEXEC, or -1 */
	struct weir_buf out;  /* formatted lines not yet written */
	char **secrets;       /* longest first; owned */
	size_t *secret_len;
	size_t nsecrets;
	size_t max_secret;    /* longest secret (bytes) */
	int write_errno;      /* first write error, 0 when none */
};

#define WEIR_TASKLOG_INIT {.fd = -1, .out = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT)}

/*
 * Opens (creates, mode 0640) path for appending and creates its parent
 * folders.  0, or -errno with a message in err.
 */
int weir_tasklog_open(struct weir_tasklog *log, const char *path, struct weir_buf *err);
/* Sets the strings to mask (array of strings; others and "" are ignored). */
void weir_tasklog_set_secrets(struct weir_tasklog *log, json_t *secrets);
/* Flushes and closes; frees everything.  The struct is left as INIT. */
void weir_tasklog_close(struct weir_tasklog *log);

/*
 * Queues one line: stream is "OUT", "ERR" or "WEIR"; text is len bytes
 * without the newline (longer than WEIR_TASKLOG_LINE_MAX is split here
 * too).  Writes when enough is queued.
 */
void weir_tasklog_line(struct weir_tasklog *log, const char *stream, const char *text, size_t len);
/* Writes everything queued.  Errors are remembered in write_errno. */
void weir_tasklog_flush(struct weir_tasklog *log);

/* Appends text with every secret replaced by "***". */
void weir_tasklog_mask(const struct weir_tasklog *log, const char *text, size_t len,
		       struct weir_buf *out);
/*
 * How many bytes at the end of text (len bytes) could be the beginning
 * of a secret (0 when none): a splitter must not cut there.
 */
size_t weir_tasklog_holdback(const struct weir_tasklog *log, const char *text, size_t len);

/*
 * Splits a byte stream into lines.  fn gets each line without its '\n';
 * a line longer than WEIR_TASKLOG_LINE_MAX comes in parts, the first
 * with WEIR_LINE_SPLIT, the following with WEIR_LINE_CONT (the last part
 * has CONT without SPLIT).  At the end, a final partial line without a
 * newline is delivered by weir_linebuf_finish.
 */
enum {
	WEIR_LINE_SPLIT = 1 << 0, /* more of this line follows */
	WEIR_LINE_CONT = 1 << 1,  /* continues the previous part */
};
typedef void weir_line_fn(void *arg, const char *line, size_t len, int flags);

struct weir_linebuf {
	char *buf;  /* WEIR_TASKLOG_LINE_MAX bytes, allocated on first use */
	size_t len;
	bool cont;  /* the next delivered part continues a split line */
};
#define WEIR_LINEBUF_INIT {NULL, 0, false}

/* log (may be NULL) provides the secrets that must not be split. */
void weir_linebuf_feed(struct weir_linebuf *lb, const char *data, size_t n,
		       const struct weir_tasklog *log, weir_line_fn *fn, void *arg);
void weir_linebuf_finish(struct weir_linebuf *lb, weir_line_fn *fn, void *arg);
void weir_linebuf_release(struct weir_linebuf *lb);

#endif
