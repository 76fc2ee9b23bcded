/* arena.c: region allocator with cleanups (cf. ngx_palloc.c). */
#include "common/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct weir_arena_block {
	struct weir_arena_block *next;
	size_t size; /* usable bytes in data[] */
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct weir_arena_cleanup {
	struct weir_arena_cleanup *next;
	weir_cleanup_fn *fn;
	void *data;
};

void weir_arena_init(struct weir_arena *a, size_t block_size)
{
	a->blocks = NULL;
	a->cleanups = NULL;
	a->block_size = block_size ? block_size : 4096;
	a->total = 0;
}

void weir_arena_release(struct weir_arena *a)
{
	/* Cleanups live in arena memory: take each before running it. */
	while (a->cleanups) {
		struct weir_arena_cleanup *c = a->cleanups;
		a->cleanups = c->next;
		c->fn(c->data);
	}
	while (a->blocks) {
		struct weir_arena_block *b = a->blocks;
		a->blocks = b->next;
		free(b);
	}
	a->total = 0;
}

void *weir_arena_alloc(struct weir_arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	struct weir_arena_block *b = a->blocks;
	size_t off;

	if (n > SIZE_MAX / 2)
		weir_xmalloc(SIZE_MAX); /* dies with a message */
	if (b) {
		off = (b->used + align - 1) & ~(align - 1);
		if (off <= b->size && n <= b->size - off) {
			b->used = off + n;
			a->total += n;
			return b->data + off;
		}
	}
	/* Large requests get a block of their own, placed after the current one
	 * so the current block's free tail stays usable. */
	if (n > a->block_size / 4 && b) {
		struct weir_arena_block *big = weir_xmalloc(sizeof(*big) + n);
		big->size = n;
		big->used = n;
		big->next = b->next;
		b->next = big;
		a->total += n;
		return big->data;
	}
	{
		size_t size = n > a->block_size ? n : a->block_size;
		struct weir_arena_block *nb = weir_xmalloc(sizeof(*nb) + size);
		nb->size = size;
		nb->used = n;
		nb->next = a->blocks;
		a->blocks = nb;
		a->total += n;
		return nb->data;
	}
}

void *weir_arena_calloc(struct weir_arena *a, size_t nmemb, size_t size)
{
	void *p;

	if (size && nmemb > SIZE_MAX / size)
		weir_xmalloc(SIZE_MAX);
	p = weir_arena_alloc(a, nmemb * size);
	memset(p, 0, nmemb * size);
	return p;
}

char *weir_arena_strndup(struct weir_arena *a, const char *s, size_t n)
{
	char *p = weir_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *weir_arena_strdup(struct weir_arena *a, const char *s)
{
	return weir_arena_strndup(a, s, strlen(s));
}

char *weir_arena_printf(struct weir_arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return weir_arena_strdup(a, "");
	p = weir_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void weir_arena_on_release(struct weir_arena *a, weir_cleanup_fn *fn, void *data)
{
	struct weir_arena_cleanup *c = weir_arena_alloc(a, sizeof(*c));
	c->fn = fn;
	c->data = data;
	c->next = a->cleanups;
	a->cleanups = c;
}
