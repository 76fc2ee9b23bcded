/* buf.c: growable, size-limited, always NUL-terminated buffers. */
#include "common/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/xalloc.h"

char weir_buf_empty[1];

void weir_buf_init(struct weir_buf *b, size_t max)
{
	b->buf = weir_buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void weir_buf_release(struct weir_buf *b)
{
	if (b->alloc)
		free(b->buf);
	weir_buf_init(b, b->max);
}

void weir_buf_reset(struct weir_buf *b)
{
	b->len = 0;
	b->buf[0] = '\0';
}

char *weir_buf_detach(struct weir_buf *b, size_t *len)
{
	char *p;

	if (len)
		*len = b->len;
	if (!b->alloc) {
		p = weir_xstrdup("");
	} else {
		p = b->buf;
	}
	weir_buf_init(b, b->max);
	return p;
}

int weir_buf_grow(struct weir_buf *b, size_t n)
{
	size_t need, cap;

	if (n > b->max || b->len > b->max - n)
		return WEIR_ETOOBIG;
	if (n >= SIZE_MAX - b->len)
		return WEIR_ETOOBIG;
	need = b->len + n + 1;
	if (need <= b->alloc)
		return 0;
	cap = b->alloc ? b->alloc : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->alloc) {
		b->buf = weir_xrealloc(b->buf, cap);
	} else {
		b->buf = weir_xmalloc(cap);
		b->buf[0] = '\0';
	}
	b->alloc = cap;
	return 0;
}

int weir_buf_add(struct weir_buf *b, const void *data, size_t n)
{
	int rc = weir_buf_grow(b, n);
	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

int weir_buf_addstr(struct weir_buf *b, const char *s)
{
	return weir_buf_add(b, s, strlen(s));
}

int weir_buf_addch(struct weir_buf *b, int c)
{
	char ch = (char)c;
	return weir_buf_add(b, &ch, 1);
}

int weir_buf_vaddf(struct weir_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	int rc;

	va_copy(cp, ap);
	n = vsnprintf(b->buf + b->len, b->alloc ? b->alloc - b->len : 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	if (b->alloc && (size_t)n < b->alloc - b->len) {
		if ((size_t)n > b->max - b->len) {
			b->buf[b->len] = '\0';
			return WEIR_ETOOBIG;
		}
		b->len += (size_t)n;
		return 0;
	}
	rc = weir_buf_grow(b, (size_t)n);
	if (rc < 0) {
		b->buf[b->len] = '\0';
		return rc;
	}
	va_copy(cp, ap);
	vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	b->len += (size_t)n;
	return 0;
}

int weir_buf_addf(struct weir_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = weir_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void weir_buf_truncate(struct weir_buf *b, size_t n)
{
	if (n < b->len) {
		b->len = n;
		b->buf[n] = '\0';
	}
}

void weir_buf_rtrim(struct weir_buf *b)
{
	while (b->len && (b->buf[b->len - 1] == ' ' || b->buf[b->len - 1] == '\n' ||
			  b->buf[b->len - 1] == '\t' || b->buf[b->len - 1] == '\r'))
		b->len--;
	b->buf[b->len] = '\0';
}

int weir_buf_read_fd(struct weir_buf *b, int fd)
{
	for (;;) {
		ssize_t n;
		int rc = weir_buf_grow(b, 8192);
		size_t room;

		if (rc < 0) {
			/* Allow a final partial read up to the limit. */
			if (b->len >= b->max)
				goto probe;
			rc = weir_buf_grow(b, b->max - b->len);
			if (rc < 0)
				return rc;
		}
		room = b->alloc - b->len - 1;
		if (room > b->max - b->len)
			room = b->max - b->len;
		if (room == 0)
			goto probe;
		n = read(fd, b->buf + b->len, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		b->buf[b->len] = '\0';
		continue;
probe:
		/* At the limit: one more byte means too big. */
		{
			char c;
			ssize_t m;
			do {
				m = read(fd, &c, 1);
			} while (m < 0 && errno == EINTR);
			if (m < 0)
				return -errno;
			return m == 0 ? 0 : WEIR_ETOOBIG;
		}
	}
}

int weir_buf_read_file(struct weir_buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = weir_buf_read_fd(b, fd);
	close(fd);
	return rc;
}
