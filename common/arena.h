/*
 * arena.h: struct weir_arena, a region allocator with cleanup callbacks.
 *
 * Allocations are carved from blocks and all freed at once by
 * weir_arena_release().  Resources that are not memory (a PGresult, a
 * json_t reference, an fd) register a cleanup with weir_arena_on_release();
 * cleanups run in reverse order of registration, before the blocks are
 * freed, so a cleanup may still read arena memory.
 *
 * One arena per DAG load, per HTTP request, per scheduler tick.  An arena is
 * not thread-safe.  Allocation never fails (it aborts on OOM): limit input
 * sizes before allocating for them.
 */
#ifndef WEIR_ARENA_H
#define WEIR_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef void weir_cleanup_fn(void *data);

struct weir_arena_block;
struct weir_arena_cleanup;

struct weir_arena {
	struct weir_arena_block *blocks;     /* newest first */
	struct weir_arena_cleanup *cleanups; /* newest first */
	size_t block_size;                   /* default size of a new block */
	size_t total;                        /* bytes handed out, for limits/stats */
};

#define WEIR_ARENA_INIT {NULL, NULL, 4096, 0}

void weir_arena_init(struct weir_arena *a, size_t block_size);
/* Runs the cleanups and frees every block; the arena is reusable after. */
void weir_arena_release(struct weir_arena *a);

/* Returns n bytes aligned for any type.  Never NULL. */
void *weir_arena_alloc(struct weir_arena *a, size_t n);
void *weir_arena_calloc(struct weir_arena *a, size_t nmemb, size_t size);
char *weir_arena_strdup(struct weir_arena *a, const char *s);
char *weir_arena_strndup(struct weir_arena *a, const char *s, size_t n);
char *weir_arena_printf(struct weir_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Registers fn(data) to run at release. */
void weir_arena_on_release(struct weir_arena *a, weir_cleanup_fn *fn, void *data);

#endif
