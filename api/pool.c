/*
 * pool.c: database connections for the worker threads.
 *
 * A store handle is used by one thread at a time (engine/store.h), so a
 * request checks one out for its duration and gives it back when its
 * arena is released.  The pool opens handles on demand up to max (the
 * number of worker threads, so a request never waits in practice) and
 * keeps them: a PostgreSQL connection costs milliseconds to open.  A
 * handle whose request saw a connection error is closed instead of being
 * kept (the store reconnects by itself, but a fresh one is cheaper to
 * reason about).
 *
 * Invariants (under lock): nfree <= nopen <= max; free[0..nfree) are idle
 * handles; nopen - nfree handles are checked out or being opened.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "api/api_int.h"
#include "common/error.h"
#include "common/time.h"
#include "common/xalloc.h"

struct api_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int max;
	int nopen;
	int nfree;
	struct weir_store **free;
	api_store_open_fn *open;
	void *arg;
};

struct api_pool *api_pool_new(int max, api_store_open_fn *open, void *arg)
{
	struct api_pool *p = weir_xcalloc(1, sizeof(*p));
	pthread_condattr_t ca;

	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	p->max = max < 1 ? 1 : max;
	p->free = weir_xcalloc((size_t)p->max, sizeof(*p->free));
	p->open = open;
	p->arg = arg;
	return p;
}

void api_pool_free(struct api_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nfree; i++)
		weir_store_close(p->free[i]);
	free(p->free);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int api_pool_get(struct api_pool *p, int64_t wait_ms, struct weir_store **out,
		 struct weir_buf *err)
{
	struct timespec deadline;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (p->nfree > 0) {
			*out = p->free[--p->nfree];
			pthread_mutex_unlock(&p->lock);
			return 0;
		}
		if (p->nopen < p->max)
			break;
		if (pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&p->lock);
			weir_buf_addf(err, "all %d database connections are busy", p->max);
			return WEIR_ETIMEDOUT;
		}
	}
	/* Open outside the lock: it takes milliseconds. */
	p->nopen++;
	pthread_mutex_unlock(&p->lock);
	rc = p->open(p->arg, out, err);
	if (rc < 0) {
		pthread_mutex_lock(&p->lock);
		p->nopen--;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	return rc;
}

void api_pool_put(struct api_pool *p, struct weir_store *st, bool broken)
{
	pthread_mutex_lock(&p->lock);
	if (broken || p->nfree >= p->max) {
		p->nopen--;
		pthread_mutex_unlock(&p->lock);
		weir_store_close(st);
		pthread_mutex_lock(&p->lock);
	} else {
		p->free[p->nfree++] = st;
	}
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void api_pool_stats(struct api_pool *p, int *open, int *busy)
{
	pthread_mutex_lock(&p->lock);
	*open = p->nopen;
	*busy = p->nopen - p->nfree;
	pthread_mutex_unlock(&p->lock);
}
