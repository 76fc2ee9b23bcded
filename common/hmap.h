/*
 * hmap.h: a string-keyed hash map (open addressing, linear probing,
 * FNV-1a), for registries such as DAG id -> DAG.
 *
 * The map copies keys and borrows values.  Deletion uses tombstones; the
 * table grows at 70% load (tombstones included) and never shrinks.
 */
#ifndef WEIR_HMAP_H
#define WEIR_HMAP_H

#include <stddef.h>

struct weir_hmap_slot {
	char *key; /* NULL: empty; WEIR_HMAP_TOMB: deleted */
	void *value;
};

struct weir_hmap {
	struct weir_hmap_slot *slots;
	size_t cap;  /* power of two, or 0 */
	size_t n;    /* live entries */
	size_t used; /* live + tombstones */
};

#define WEIR_HMAP_INIT {NULL, 0, 0, 0}

void *weir_hmap_get(const struct weir_hmap *m, const char *key);
/* Inserts or replaces; returns the previous value (or NULL). */
void *weir_hmap_put(struct weir_hmap *m, const char *key, void *value);
/* Removes key; returns its value (or NULL). */
void *weir_hmap_del(struct weir_hmap *m, const char *key);
void weir_hmap_release(struct weir_hmap *m);

/* Iteration: for (size_t i = 0; weir_hmap_next(m, &i, &k, &v);) ... */
int weir_hmap_next(const struct weir_hmap *m, size_t *i, const char **key, void **value);

#endif
