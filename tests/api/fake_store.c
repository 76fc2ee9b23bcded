/* fake_store.c: a store without a database (fake_store.h). */
#include "tests/api/fake_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/xalloc.h"

#define FAKE_MAX 64
static struct {
	char *name;
	char *json;
} fake_rows[FAKE_MAX];
static size_t fake_n;
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;

void fake_store_set(const char *name, const char *json)
{
	pthread_mutex_lock(&fake_lock);
	for (size_t i = 0; i < fake_n; i++) {
		if (!strcmp(fake_rows[i].name, name)) {
			free(fake_rows[i].json);
			fake_rows[i].json = json ? strdup(json) : NULL;
			pthread_mutex_unlock(&fake_lock);
			return;
		}
	}
	if (fake_n >= FAKE_MAX) {
		fprintf(stderr, "fake_store_set: more than %d names\n", FAKE_MAX);
		abort();
	}
	fake_rows[fake_n].name = strdup(name);
	fake_rows[fake_n].json = json ? strdup(json) : NULL;
	fake_n++;
	pthread_mutex_unlock(&fake_lock);
}

void fake_store_clear(void)
{
	pthread_mutex_lock(&fake_lock);
	for (size_t i = 0; i < fake_n; i++) {
		free(fake_rows[i].name);
		free(fake_rows[i].json);
	}
	fake_n = 0;
	pthread_mutex_unlock(&fake_lock);
}

static void f_close(struct weir_store *st)
{
	free(st);
}

static int f_query(struct weir_store *st, const char *name, int n, const char *const *p, json_t **out,
		   struct weir_buf *err)
{
	int rc = WEIR_ENOTFOUND;

	(void)st;
	(void)n;
	(void)p;
	(void)err;
	*out = NULL;
	pthread_mutex_lock(&fake_lock);
	for (size_t i = 0; i < fake_n; i++) {
		if (!strcmp(fake_rows[i].name, name) && fake_rows[i].json) {
			*out = json_loads(fake_rows[i].json, JSON_DECODE_ANY, NULL);
			rc = *out ? 0 : WEIR_EDB;
		}
	}
	pthread_mutex_unlock(&fake_lock);
	return rc;
}

static int f_exec(struct weir_store *st, const char *name, int n, const char *const *p, long *rows,
		  struct weir_buf *err)
{
	(void)st;
	(void)name;
	(void)n;
	(void)p;
	(void)err;
	*rows = 1;
	return 0;
}

static int f_apply(struct weir_store *st, struct weir_batch *b, struct weir_buf *err)
{
	(void)st;
	(void)b;
	(void)err;
	return 0;
}

static const struct weir_store_ops fake_ops = {
	.close = f_close,
	.query_json = f_query,
	.exec = f_exec,
	.apply = f_apply,
};

struct weir_store *fake_store_new(void)
{
	struct weir_store *st = weir_xcalloc(1, sizeof(*st));
	st->ops = &fake_ops;
	return st;
}

int fake_store_open(void *arg, struct weir_store **out, struct weir_buf *err)
{
	(void)arg;
	(void)err;
	*out = fake_store_new();
	return 0;
}
