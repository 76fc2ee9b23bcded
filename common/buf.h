/*
 * buf.h: struct weir_buf, a growable byte buffer with a size limit.
 *
 * Invariants (after WEIR_BUF_INIT or weir_buf_init, at every return):
 *   - buf->buf is never NULL and buf->buf[buf->len] == '\0', so the
 *     contents can always be used as a C string (they may also contain NULs);
 *   - buf->alloc == 0 means buf->buf points at a static empty string and
 *     nothing has been allocated;
 *   - buf->len <= buf->max.  An append that would exceed max appends nothing
 *     and returns WEIR_ETOOBIG; the buffer is unchanged.
 *
 * Use a limit for anything whose size comes from input (files, requests,
 * task output); use WEIR_BUF_NOLIMIT for strings the program builds itself.
 * Memory exhaustion aborts (see xalloc.h); only the limit is an error.
 */
#ifndef WEIR_BUF_H
#define WEIR_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

extern char weir_buf_empty[1];

struct weir_buf {
	char *buf;    /* contents, NUL-terminated */
	size_t len;   /* bytes used, excluding the NUL */
	size_t alloc; /* bytes allocated; 0 while buf == weir_buf_empty */
	size_t max;   /* the largest len allowed */
};

#define WEIR_BUF_NOLIMIT SIZE_MAX
#define WEIR_BUF_INIT(limit) {weir_buf_empty, 0, 0, (limit)}

void weir_buf_init(struct weir_buf *b, size_t max);
/* Frees the contents; the buffer is left initialised and empty. */
void weir_buf_release(struct weir_buf *b);
/* Empties the buffer, keeping its memory. */
void weir_buf_reset(struct weir_buf *b);
/* Returns the contents (caller frees) and leaves the buffer empty. */
char *weir_buf_detach(struct weir_buf *b, size_t *len);

/* Makes room for n more bytes.  0, or WEIR_ETOOBIG if len + n > max. */
int weir_buf_grow(struct weir_buf *b, size_t n);
int weir_buf_add(struct weir_buf *b, const void *data, size_t n);
int weir_buf_addstr(struct weir_buf *b, const char *s);
int weir_buf_addch(struct weir_buf *b, int c);
int weir_buf_addf(struct weir_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int weir_buf_vaddf(struct weir_buf *b, const char *fmt, va_list ap);
/* Shrinks the contents to n bytes (n <= len). */
void weir_buf_truncate(struct weir_buf *b, size_t n);
/* Removes trailing whitespace. */
void weir_buf_rtrim(struct weir_buf *b);

/*
 * Reads a whole file into b (appending).  Returns 0, -errno, or
 * WEIR_ETOOBIG when the file is larger than the buffer's limit allows.
 */
int weir_buf_read_file(struct weir_buf *b, const char *path);
/* Reads from fd until EOF (appending).  Same returns as above. */
int weir_buf_read_fd(struct weir_buf *b, int fd);

/* Helpers for messages: appending never fails on an unlimited buffer. */
#define weir_buf_setf(b, ...) (weir_buf_reset(b), weir_buf_addf((b), __VA_ARGS__))

#endif
