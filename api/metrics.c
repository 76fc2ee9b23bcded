/*
 * metrics.c: HTTP request counters and latency histograms.
 *
 * Counted per route (the pattern from the route table, so labels never
 * hold ids; plus "unmatched" and "static") and status code.  Each counter
 * is a relaxed atomic: the worker threads count without a lock, and a
 * scrape reads values that may be a few requests apart from each other,
 * which Prometheus tolerates.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/xalloc.h"

static const int statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404,
			       405, 409, 413, 415, 422, 500, 503, 0 /* other */};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

/* Upper bounds in microseconds; the last bucket is +Inf. */
static const int64_t bounds_us[] = {500, 1000, 2500, 5000, 10000, 25000, 50000,
				    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
static const char *const bounds_s[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
				       "0.1", "0.25", "0.5", "1", "2.5", "5", "10"};
#define NBUCKET (sizeof(bounds_us) / sizeof(bounds_us[0]))

struct route_stats {
	atomic_uint_fast64_t count[NSTATUS];
	atomic_uint_fast64_t bucket[NBUCKET + 1];
	atomic_uint_fast64_t sum_us;
};

struct api_metrics {
	size_t nroutes; /* routes + unmatched + static */
	struct route_stats *r;
};

struct api_metrics *api_metrics_new(size_t nroutes)
{
	struct api_metrics *m = weir_xcalloc(1, sizeof(*m));

	m->nroutes = nroutes + 2;
	m->r = weir_xcalloc(m->nroutes, sizeof(*m->r));
	return m;
}

void api_metrics_free(struct api_metrics *m)
{
	if (!m)
		return;
	free(m->r);
	free(m);
}

void api_metrics_count(struct api_metrics *m, size_t route, enum api_method method, int status,
		       int64_t duration_us)
{
	struct route_stats *s;
	size_t si = NSTATUS - 1, b = NBUCKET;

	(void)method;
	if (route >= m->nroutes)
		route = m->nroutes - 2;
	s = &m->r[route];
	for (size_t i = 0; i + 1 < NSTATUS; i++)
		if (statuses[i] == status)
			si = i;
	for (size_t i = 0; i < NBUCKET; i++) {
		if (duration_us <= bounds_us[i]) {
			b = i;
			break;
		}
	}
	atomic_fetch_add_explicit(&s->count[si], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_us, (uint_fast64_t)(duration_us > 0 ? duration_us : 0),
				  memory_order_relaxed);
}

static void route_labels(size_t i, size_t nroutes, const char **route, const char **method)
{
	if (i < nroutes) {
		*route = api_routes[i].pattern;
		*method = api_method_name(api_routes[i].method);
	} else {
		*route = i == nroutes ? "unmatched" : "static";
		*method = "GET";
	}
}

void api_metrics_format(struct api_metrics *m, struct weir_buf *out)
{
	size_t nr = m->nroutes - 2;

	weir_buf_addstr(out, "# HELP weir_http_requests_total HTTP requests by route template and status.\n"
			     "# TYPE weir_http_requests_total counter\n");
	for (size_t i = 0; i < m->nroutes; i++) {
		const char *route, *method;
		route_labels(i, nr, &route, &method);
		for (size_t k = 0; k < NSTATUS; k++) {
			uint64_t v = atomic_load_explicit(&m->r[i].count[k], memory_order_relaxed);
			if (!v)
				continue;
			if (statuses[k])
				weir_buf_addf(out, "weir_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
					      route, method, statuses[k], (unsigned long long)v);
			else
				weir_buf_addf(out, "weir_http_requests_total{route=\"%s\",method=\"%s\",status=\"other\"} %llu\n",
					      route, method, (unsigned long long)v);
		}
	}
	weir_buf_addstr(out, "# HELP weir_http_request_duration_seconds Time from request to response, by route template.\n"
			     "# TYPE weir_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->nroutes; i++) {
		const char *route, *method;
		uint64_t cum = 0, total = 0;
		for (size_t b = 0; b <= NBUCKET; b++)
			total += atomic_load_explicit(&m->r[i].bucket[b], memory_order_relaxed);
		if (!total)
			continue;
		route_labels(i, nr, &route, &method);
		for (size_t b = 0; b <= NBUCKET; b++) {
			cum += atomic_load_explicit(&m->r[i].bucket[b], memory_order_relaxed);
			weir_buf_addf(out,
				      "weir_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%s\"} %llu\n",
				      route, method, b < NBUCKET ? bounds_s[b] : "+Inf", (unsigned long long)cum);
		}
		weir_buf_addf(out, "weir_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n",
			      route, method,
			      (double)atomic_load_explicit(&m->r[i].sum_us, memory_order_relaxed) / 1e6);
		weir_buf_addf(out, "weir_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n",
			      route, method, (unsigned long long)cum);
	}
}
