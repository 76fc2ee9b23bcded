/* str.c: string helpers (edit distance for hints, strict number parsing). */
#include "common/str.h"

#include <errno.h>
#include <stdlib.h>

#include "common/error.h"

bool weir_str_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool weir_str_endswith(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

unsigned weir_str_distance(const char *a, const char *b, unsigned cap)
{
	/* Optimal string alignment distance over three rolling rows. */
	size_t n = strlen(a), m = strlen(b);
	unsigned rows[3][65];
	unsigned *pp, *p, *c;

	if (n > 64 || m > 64)
		return cap + 1;
	if ((n > m ? n - m : m - n) > cap)
		return cap + 1;
	pp = rows[0];
	p = rows[1];
	c = rows[2];
	for (size_t j = 0; j <= m; j++)
		p[j] = (unsigned)j;
	for (size_t i = 1; i <= n; i++) {
		unsigned rowmin;
		c[0] = (unsigned)i;
		rowmin = c[0];
		for (size_t j = 1; j <= m; j++) {
			unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
			unsigned v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (p[j - 1] + cost < v)
				v = p[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
			if (v < rowmin)
				rowmin = v;
		}
		if (rowmin > cap)
			return cap + 1;
		{
			unsigned *t = pp;
			pp = p;
			p = c;
			c = t;
		}
	}
	return p[m];
}

const char *weir_str_suggest(const char *word, const char *const *candidates)
{
	size_t len = strlen(word);
	/* Short words: one edit; longer ones: a third of their length, at
	 * least two ("retry" -> "retries"). */
	unsigned cap = len <= 3 ? 1 : (len / 3 > 2 ? (unsigned)(len / 3) : 2);
	const char *best = NULL;
	unsigned best_d = cap + 1;

	for (size_t i = 0; candidates[i]; i++) {
		unsigned d = weir_str_distance(word, candidates[i], cap);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best;
}

int weir_str_to_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || (*s != '-' && *s != '+' && (*s < '0' || *s > '9')))
		return WEIR_EINVALID;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end)
		return WEIR_EINVALID;
	if (errno == ERANGE)
		return WEIR_ETOOBIG;
	*out = v;
	return 0;
}
