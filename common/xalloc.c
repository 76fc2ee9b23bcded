/* xalloc.c: allocation that dies with file:line on out-of-memory. */
#include "common/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noreturn)) static void oom(size_t n, const char *file, int line)
{
	fprintf(stderr, "weir: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
	abort();
}

void *weir__xmalloc(size_t n, const char *file, int line)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n, file, line);
	return p;
}

void *weir__xcalloc(size_t nmemb, size_t size, const char *file, int line)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom(nmemb * size, file, line);
	return p;
}

void *weir__xrealloc(void *p, size_t n, const char *file, int line)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n, file, line);
	return q;
}

void *weir__xreallocarray(void *p, size_t nmemb, size_t size, const char *file, int line)
{
	void *q = reallocarray(p, nmemb ? nmemb : 1, size ? size : 1);
	if (!q)
		oom(nmemb * size, file, line);
	return q;
}

char *weir__xstrdup(const char *s, const char *file, int line)
{
	return weir__xstrndup(s, strlen(s), file, line);
}

char *weir__xstrndup(const char *s, size_t n, const char *file, int line)
{
	size_t len = strnlen(s, n);
	char *p = weir__xmalloc(len + 1, file, line);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *weir__xasprintf(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0, file, line);
	return p;
}
