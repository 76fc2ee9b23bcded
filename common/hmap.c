/* hmap.c: open-addressing string map (see hmap.h). */
#include "common/hmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static char tomb_key;
#define TOMB (&tomb_key)

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct weir_hmap_slot *find(const struct weir_hmap *m, const char *key)
{
	size_t mask, i;

	if (!m->cap)
		return NULL;
	mask = m->cap - 1;
	for (i = hash(key) & mask;; i = (i + 1) & mask) {
		struct weir_hmap_slot *s = &m->slots[i];
		if (!s->key)
			return NULL;
		if (s->key != TOMB && !strcmp(s->key, key))
			return s;
	}
}

void *weir_hmap_get(const struct weir_hmap *m, const char *key)
{
	struct weir_hmap_slot *s = find(m, key);
	return s ? s->value : NULL;
}

static void grow(struct weir_hmap *m)
{
	struct weir_hmap_slot *old = m->slots;
	size_t oldcap = m->cap;

	m->cap = m->cap ? m->cap * 2 : 16;
	while (m->n * 10 >= m->cap * 5)
		m->cap *= 2;
	m->slots = weir_xcalloc(m->cap, sizeof(*m->slots));
	m->used = m->n;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].key && old[i].key != TOMB) {
			size_t j = hash(old[i].key) & (m->cap - 1);
			while (m->slots[j].key)
				j = (j + 1) & (m->cap - 1);
			m->slots[j] = old[i];
		}
	}
	free(old);
}

void *weir_hmap_put(struct weir_hmap *m, const char *key, void *value)
{
	struct weir_hmap_slot *s = find(m, key);
	size_t i, mask;

	if (s) {
		void *prev = s->value;
		s->value = value;
		return prev;
	}
	if ((m->used + 1) * 10 > m->cap * 7)
		grow(m);
	mask = m->cap - 1;
	for (i = hash(key) & mask; m->slots[i].key && m->slots[i].key != TOMB; i = (i + 1) & mask)
		;
	if (!m->slots[i].key)
		m->used++;
	m->slots[i].key = weir_xstrdup(key);
	m->slots[i].value = value;
	m->n++;
	return NULL;
}

void *weir_hmap_del(struct weir_hmap *m, const char *key)
{
	struct weir_hmap_slot *s = find(m, key);
	void *v;

	if (!s)
		return NULL;
	v = s->value;
	free(s->key);
	s->key = TOMB;
	s->value = NULL;
	m->n--;
	return v;
}

void weir_hmap_release(struct weir_hmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != TOMB)
			free(m->slots[i].key);
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = m->used = 0;
}

int weir_hmap_next(const struct weir_hmap *m, size_t *i, const char **key, void **value)
{
	for (; *i < m->cap; (*i)++) {
		struct weir_hmap_slot *s = &m->slots[*i];
		if (s->key && s->key != TOMB) {
			*key = s->key;
			*value = s->value;
			(*i)++;
			return 1;
		}
	}
	return 0;
}
