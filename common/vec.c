/* vec.c: growth for WEIR_VEC and the string vector. */
#include "common/vec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/xalloc.h"

const char *weir_strvec_empty[1];

void weir__vec_grow(void **v, size_t *alloc, size_t elsize, size_t need)
{
	size_t cap = *alloc ? *alloc : 8;

	while (cap < need)
		cap *= 2;
	*v = weir_xreallocarray(*v, cap, elsize);
	*alloc = cap;
}

void weir_strvec_init(struct weir_strvec *sv)
{
	sv->v = (char **)weir_strvec_empty;
	sv->n = 0;
	sv->alloc = 0;
}

void weir_strvec_push_nodup(struct weir_strvec *sv, char *s)
{
	if (sv->n + 2 > sv->alloc) {
		char **old = sv->alloc ? sv->v : NULL;
		size_t cap = sv->alloc ? sv->alloc * 2 : 8;
		while (cap < sv->n + 2)
			cap *= 2;
		sv->v = weir_xreallocarray(old, cap, sizeof(char *));
		sv->alloc = cap;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

const char *weir_strvec_push(struct weir_strvec *sv, const char *s)
{
	char *d = weir_xstrdup(s);
	weir_strvec_push_nodup(sv, d);
	return d;
}

const char *weir_strvec_pushf(struct weir_strvec *sv, const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = weir_xstrdup("");
	va_end(ap);
	weir_strvec_push_nodup(sv, p);
	return p;
}

void weir_strvec_clear(struct weir_strvec *sv)
{
	if (sv->alloc) {
		for (size_t i = 0; i < sv->n; i++)
			free(sv->v[i]);
		free(sv->v);
	}
	weir_strvec_init(sv);
}

char **weir_strvec_detach(struct weir_strvec *sv)
{
	char **v = sv->alloc ? sv->v : weir_xcalloc(1, sizeof(char *));
	weir_strvec_init(sv);
	return v;
}

long weir_strvec_find(const struct weir_strvec *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return (long)i;
	return -1;
}
