/*
 * str.h: string views and small string helpers.
 *
 * struct weir_str is a pointer + length that borrows its bytes (cf.
 * ngx_str_t); it is not NUL-terminated in general.
 */
#ifndef WEIR_STR_H
#define WEIR_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct weir_str {
	const char *p;
	size_t len;
};

#define WEIR_STR_LIT(s) ((struct weir_str){(s), sizeof(s) - 1})
#define WEIR_STR_NULL ((struct weir_str){NULL, 0})

static inline struct weir_str weir_str_from(const char *s)
{
	return (struct weir_str){s, s ? strlen(s) : 0};
}

static inline bool weir_str_eq(struct weir_str a, struct weir_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool weir_str_eqz(struct weir_str a, const char *z)
{
	return weir_str_eq(a, weir_str_from(z));
}

bool weir_str_startswith(const char *s, const char *prefix);
bool weir_str_endswith(const char *s, const char *suffix);

/*
 * Edit distance (Damerau: insert, delete, substitute, swap neighbours)
 * between a and b, capped: returns a value > cap as soon as it is known to
 * exceed cap.  Used for "did you mean" hints.
 */
unsigned weir_str_distance(const char *a, const char *b, unsigned cap);

/*
 * Returns the candidate closest to word, or NULL when none is close enough
 * to be a plausible typo (one edit for words of up to 3 characters, else
 * max(2, len/3)).  candidates is NULL-terminated.
 */
const char *weir_str_suggest(const char *word, const char *const *candidates);

/* Strict integer parsing of the whole string; 0 or WEIR_EINVALID / WEIR_ETOOBIG. */
int weir_str_to_i64(const char *s, int64_t *out);

#endif
