/*
 * xalloc.h: allocation that dies on out-of-memory.
 *
 * weir_x* functions never return NULL: on failure they print file:line and
 * abort.  Use them for sizes the program controls.  Sizes that come from
 * input (files, requests) go through struct weir_buf limits instead, so a
 * hostile input gets an error, not an abort.
 */
#ifndef WEIR_XALLOC_H
#define WEIR_XALLOC_H

#include <stddef.h>

void *weir__xmalloc(size_t n, const char *file, int line);
void *weir__xcalloc(size_t nmemb, size_t size, const char *file, int line);
void *weir__xrealloc(void *p, size_t n, const char *file, int line);
void *weir__xreallocarray(void *p, size_t nmemb, size_t size, const char *file, int line);
char *weir__xstrdup(const char *s, const char *file, int line);
char *weir__xstrndup(const char *s, size_t n, const char *file, int line);
char *weir__xasprintf(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define weir_xmalloc(n) weir__xmalloc((n), __FILE__, __LINE__)
#define weir_xcalloc(m, n) weir__xcalloc((m), (n), __FILE__, __LINE__)
#define weir_xrealloc(p, n) weir__xrealloc((p), (n), __FILE__, __LINE__)
#define weir_xreallocarray(p, m, n) weir__xreallocarray((p), (m), (n), __FILE__, __LINE__)
#define weir_xstrdup(s) weir__xstrdup((s), __FILE__, __LINE__)
#define weir_xstrndup(s, n) weir__xstrndup((s), (n), __FILE__, __LINE__)
#define weir_xasprintf(...) weir__xasprintf(__FILE__, __LINE__, __VA_ARGS__)

/* Number of elements of a true array (not a pointer). */
#define WEIR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
