/*
 * vec.h: typed growable arrays and string vectors.
 *
 *   WEIR_VEC(int) v = WEIR_VEC_INIT;
 *   weir_vec_push(&v, 42);
 *   for (size_t i = 0; i < v.n; i++) use(v.v[i]);
 *   weir_vec_release(&v);
 *
 * A vector owns its array, not what the elements point to.  Growth doubles;
 * memory exhaustion aborts.
 *
 * struct weir_strvec is a NULL-terminated vector of owned strings, usable as
 * argv/envp directly (cf. git's strvec.h): v[n] is always NULL and v is
 * never NULL after init.
 */
#ifndef WEIR_VEC_H
#define WEIR_VEC_H

#include <stddef.h>
#include <stdlib.h>

#define WEIR_VEC(type)        \
	struct {              \
		type *v;      \
		size_t n;     \
		size_t alloc; \
	}
#define WEIR_VEC_INIT {NULL, 0, 0}

void weir__vec_grow(void **v, size_t *alloc, size_t elsize, size_t need);

#define weir_vec_reserve(vec, need)                                                 \
	do {                                                                        \
		if ((need) > (vec)->alloc)                                          \
			weir__vec_grow((void **)&(vec)->v, &(vec)->alloc,           \
				       sizeof(*(vec)->v), (need));                  \
	} while (0)
#define weir_vec_push(vec, val)                             \
	do {                                                \
		weir_vec_reserve((vec), (vec)->n + 1);      \
		(vec)->v[(vec)->n++] = (val);               \
	} while (0)
#define weir_vec_release(vec)                               \
	do {                                                \
		free((vec)->v);                             \
		(vec)->v = NULL;                            \
		(vec)->n = (vec)->alloc = 0;                \
	} while (0)

extern const char *weir_strvec_empty[1];

struct weir_strvec {
	char **v;   /* NULL-terminated */
	size_t n;
	size_t alloc;
};
#define WEIR_STRVEC_INIT {(char **)weir_strvec_empty, 0, 0}

void weir_strvec_init(struct weir_strvec *sv);
/* Pushes a copy of s; returns the copy. */
const char *weir_strvec_push(struct weir_strvec *sv, const char *s);
const char *weir_strvec_pushf(struct weir_strvec *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Pushes s without copying: the vector takes ownership ("steals"). */
void weir_strvec_push_nodup(struct weir_strvec *sv, char *s);
void weir_strvec_clear(struct weir_strvec *sv);
/* Detaches the array (caller frees strings and array); leaves sv empty. */
char **weir_strvec_detach(struct weir_strvec *sv);
/* Returns the index of s, or -1. */
long weir_strvec_find(const struct weir_strvec *sv, const char *s);

#endif
