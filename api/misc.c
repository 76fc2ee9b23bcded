/*
 * misc.c: the request's store handle, reads, and the monitoring routes:
 * /health, /api/v1/version, /api/v1/openapi.json, /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/error.h"
#include "common/log.h"
#include "common/time.h"
#include "common/xalloc.h"

/* ------------------------------------------------------------------ */
/* context                                                              */
/* ------------------------------------------------------------------ */

void api_ctx_init(struct api_ctx *ctx)
{
	pthread_mutex_init(&ctx->health_lock, NULL);
	pthread_mutex_init(&ctx->metrics_lock, NULL);
	ctx->tokens = api_token_cache_new();
	atomic_init(&ctx->draining, false);
	atomic_init(&ctx->tokens_pruned_at, 0);
	atomic_init(&ctx->request_seq, 0);
}

void api_ctx_release(struct api_ctx *ctx)
{
	api_token_cache_free(ctx->tokens);
	ctx->tokens = NULL;
	pthread_mutex_destroy(&ctx->health_lock);
	pthread_mutex_destroy(&ctx->metrics_lock);
	free(ctx->health_body);
	free(ctx->metrics_db);
	free(ctx->home);
	free(ctx->dags_folder);
	free(ctx->ui_dir);
	ctx->health_body = ctx->metrics_db = NULL;
}

/* ------------------------------------------------------------------ */
/* the request's store                                                  */
/* ------------------------------------------------------------------ */

struct checkout {
	struct api_pool *pool;
	struct api_req *rq;
	bool broken;
};

static void checkin(void *data)
{
	struct checkout *c = data;

	api_pool_put(c->pool, c->rq->st, c->broken);
	c->rq->st = NULL;
}

struct weir_store *api_store(struct api_req *rq, struct api_resp *rs)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct checkout *c;
	int rc;

	if (rq->st)
		return rq->st;
	rc = api_pool_get(rq->ctx->pool, 10000, &rq->st, &err);
	if (rc < 0) {
		weir_warn("request %s: no database connection: %s", rq->request_id, err.buf);
		if (rs)
			api_error(rq, rs, 503, NULL, "the database is not reachable; try again");
		weir_buf_release(&err);
		rq->st = NULL;
		return NULL;
	}
	weir_buf_release(&err);
	c = weir_arena_alloc(&rq->arena, sizeof(*c));
	c->pool = rq->ctx->pool;
	c->rq = rq;
	c->broken = false;
	rq->checkout = c;
	weir_arena_on_release(&rq->arena, checkin, c);
	return rq->st;
}

int api_query(struct api_req *rq, struct api_resp *rs, const char *name, int n,
	      const char *const *params, json_t **out)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc;

	*out = NULL;
	if (!api_store(rq, rs))
		return WEIR_ECONN;
	rc = weir_store_query_json(rq->st, name, n, params, out, &err);
	if (rc == 0) {
		api_keep(rq, *out);
	} else if (rc != WEIR_ENOTFOUND) {
		struct checkout *c = rq->checkout;
		if (rc == WEIR_ECONN && c)
			c->broken = true;
		/* Parameters are checked before they reach SQL, so an
		 * "invalid input" from the database is our bug, not the
		 * client's: report it as such. */
		api_store_error(rq, rs, rc == WEIR_EINVALID ? WEIR_EDB : rc, name, &err);
	}
	weir_buf_release(&err);
	return rc;
}

int api_query_or_answer(struct api_req *rq, struct api_resp *rs, const char *name, int n,
			const char *const *params, json_t **out, const char *not_found)
{
	int rc = api_query(rq, rs, name, n, params, out);

	if (rc == WEIR_ENOTFOUND)
		api_error(rq, rs, 404, NULL, "%s", not_found && *not_found ? not_found : "not found");
	if (rc < 0)
		return -1;
	json_incref(*out);
	return 0;
}

int api_query_text(struct api_req *rq, struct api_resp *rs, const char *name, int n,
		   const char *const *params, char **text, size_t *len, const char *not_found)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int rc;

	*text = NULL;
	*len = 0;
	if (!api_store(rq, rs))
		return -1;
	rc = weir_store_query_text(rq->st, name, n, params, text, len, &err);
	if (rc == WEIR_ENOTFOUND) {
		api_error(rq, rs, 404, NULL, "%s", not_found && *not_found ? not_found : "not found");
	} else if (rc < 0) {
		struct checkout *c = rq->checkout;
		if (rc == WEIR_ECONN && c)
			c->broken = true;
		api_store_error(rq, rs, rc == WEIR_EINVALID ? WEIR_EDB : rc, name, &err);
	}
	weir_buf_release(&err);
	return rc == 0 ? 0 : -1;
}

int api_pass(struct api_req *rq, struct api_resp *rs, int status, const char *name, int n,
	     const char *const *params, const char *not_found)
{
	char *text = NULL;
	size_t len = 0;

	if (api_query_text(rq, rs, name, n, params, &text, &len, not_found) < 0)
		return -1;
	api_empty(rs, status);
	rs->content_type = "application/json";
	rs->body = text;
	rs->len = len;
	return 0;
}

const char *api_jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* ------------------------------------------------------------------ */
/* /health                                                              */
/* ------------------------------------------------------------------ */

/*
 * Airflow's HealthInfo: the metadatabase and the scheduler with its latest
 * heartbeat.  Load balancers poll this hard, so the answer is computed at
 * most once a second (by whichever request finds it stale) and shared.
 */
void api_h_health(struct api_req *rq, struct api_resp *rs)
{
	struct api_ctx *ctx = rq->ctx;
	int64_t now = weir_mono_us();
	char *body = NULL;

	pthread_mutex_lock(&ctx->health_lock);
	if (ctx->health_body && now - ctx->health_at_us < WEIR_US_PER_SEC)
		body = weir_xstrdup(ctx->health_body);
	pthread_mutex_unlock(&ctx->health_lock);
	if (!body) {
		struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		struct weir_store *st = NULL;
		json_t *row = NULL, *j;
		bool db_ok = false, sched_ok = false;

		if (api_pool_get(ctx->pool, 2000, &st, &err) == 0) {
			int rc = weir_store_query_json(st, "api.health", 0, NULL, &row, &err);
			db_ok = rc == 0;
			api_pool_put(ctx->pool, st, rc == WEIR_ECONN);
		}
		if (db_ok && json_is_integer(json_object_get(row, "age_ms")))
			sched_ok = json_integer_value(json_object_get(row, "age_ms")) <= ctx->heartbeat_timeout_ms;
		j = json_pack("{s:{s:s}, s:{s:s, s:O}}", "metadatabase", "status", db_ok ? "healthy" : "unhealthy",
			      "scheduler", "status", sched_ok ? "healthy" : "unhealthy",
			      "latest_scheduler_heartbeat",
			      db_ok && json_object_get(row, "latest") ? json_object_get(row, "latest") : json_null());
		body = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		json_decref(row);
		weir_buf_release(&err);
		pthread_mutex_lock(&ctx->health_lock);
		free(ctx->health_body);
		ctx->health_body = weir_xstrdup(body);
		ctx->health_at_us = now;
		pthread_mutex_unlock(&ctx->health_lock);
	}
	api_empty(rs, 200);
	rs->content_type = "application/json";
	rs->body = body;
	rs->len = strlen(body);
	api_header(rq, rs, "Cache-Control", "no-store");
}

void api_h_version(struct api_req *rq, struct api_resp *rs)
{
	(void)rq;
	api_json(rs, 200, json_pack("{s:s, s:n}", "version", WEIR_VERSION, "git_version"));
}

void api_h_openapi(struct api_req *rq, struct api_resp *rs)
{
	api_text(rs, 200, "application/json", weir_api_openapi_json, weir_api_openapi_json_len);
	api_header(rq, rs, "Cache-Control", "public, max-age=300");
}

/* ------------------------------------------------------------------ */
/* /metrics                                                             */
/* ------------------------------------------------------------------ */

static void prom_label(struct weir_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			weir_buf_addch(b, '\\');
		if (*v == '\n') {
			weir_buf_addstr(b, "\\n");
			continue;
		}
		weir_buf_addch(b, *v);
	}
}

static void counts(struct weir_buf *b, json_t *obj, const char *metric, const char *help,
		   const char *const *states)
{
	weir_buf_addf(b, "# HELP %s %s\n# TYPE %s gauge\n", metric, help, metric);
	for (size_t i = 0; states[i]; i++) {
		json_t *v = json_object_get(obj, states[i]);
		weir_buf_addf(b, "%s{state=\"%s\"} %lld\n", metric, states[i],
			      (long long)(json_is_integer(v) ? json_integer_value(v) : 0));
	}
}

static double stat_num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : 0;
}

/* The database part: runs, task instances and tries by state, schedulers,
 * pools.  Cached for 5 seconds: the counts scan tables. */
static int db_metrics(struct api_req *rq, struct weir_buf *out)
{
	static const char *const run_states[] = {"RECEIVED", "QUEUED", "RUNNING", "SUCCESS",
						 "FAILED", "INVALID", "ABORTED", NULL};
	static const char *const ti_states[] = {"none", "scheduled", "queued", "running", "success",
						"failed", "up_for_retry", "up_for_reschedule",
						"upstream_failed", "skipped", "removed", NULL};
	struct api_ctx *ctx = rq->ctx;
	int64_t now = weir_mono_us();
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *m = NULL, *v;
	size_t i;
	int rc;

	pthread_mutex_lock(&ctx->metrics_lock);
	if (ctx->metrics_db && now - ctx->metrics_at_us < 5 * WEIR_US_PER_SEC) {
		weir_buf_addstr(out, ctx->metrics_db);
		pthread_mutex_unlock(&ctx->metrics_lock);
		return 0;
	}
	pthread_mutex_unlock(&ctx->metrics_lock);
	if (!api_store(rq, NULL))
		return WEIR_ECONN;
	rc = weir_store_query_json(rq->st, "api.metrics", 0, NULL, &m, &err);
	if (rc < 0) {
		weir_warn("request %s: metrics query failed: %s", rq->request_id, err.buf);
		weir_buf_release(&err);
		return rc;
	}
	counts(&b, json_object_get(m, "runs"), "weir_runs", "Runs (orders) by state.", run_states);
	counts(&b, json_object_get(m, "task_instances"), "weir_task_instances",
	       "Task instances by state.", ti_states);
	counts(&b, json_object_get(m, "task_tries"), "weir_task_tries", "Task tries by state.", ti_states);
	weir_buf_addstr(&b, "# HELP weir_scheduler_heartbeat_age_seconds Time since a scheduler's last heartbeat.\n"
			    "# TYPE weir_scheduler_heartbeat_age_seconds gauge\n"
			    "# HELP weir_scheduler_loop_seconds_max Longest scheduler loop iteration in the last heartbeat period.\n"
			    "# TYPE weir_scheduler_loop_seconds_max gauge\n"
			    "# HELP weir_scheduler_loop_seconds_avg Mean scheduler loop iteration in the last heartbeat period.\n"
			    "# TYPE weir_scheduler_loop_seconds_avg gauge\n"
			    "# HELP weir_scheduler_live_tries Task tries a scheduler supervises.\n"
			    "# TYPE weir_scheduler_live_tries gauge\n"
			    "# HELP weir_scheduler_ready_tasks Tasks ready to start, waiting for a slot.\n"
			    "# TYPE weir_scheduler_ready_tasks gauge\n");
	json_array_foreach(json_object_get(m, "schedulers"), i, v) {
		struct weir_buf lab = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		json_t *st = json_object_get(v, "stats");
		weir_buf_addstr(&lab, "{scheduler=\"");
		prom_label(&lab, api_jstr(v, "id"));
		weir_buf_addstr(&lab, "\",hostname=\"");
		prom_label(&lab, api_jstr(v, "hostname"));
		weir_buf_addstr(&lab, "\"}");
		weir_buf_addf(&b, "weir_scheduler_heartbeat_age_seconds%s %.3f\n", lab.buf,
			      stat_num(v, "heartbeat_age_s"));
		weir_buf_addf(&b, "weir_scheduler_loop_seconds_max%s %.6f\n", lab.buf,
			      stat_num(st, "loop_us_max") / 1e6);
		weir_buf_addf(&b, "weir_scheduler_loop_seconds_avg%s %.6f\n", lab.buf,
			      stat_num(st, "loop_us_avg") / 1e6);
		weir_buf_addf(&b, "weir_scheduler_live_tries%s %.0f\n", lab.buf, stat_num(st, "live_tries"));
		weir_buf_addf(&b, "weir_scheduler_ready_tasks%s %.0f\n", lab.buf, stat_num(st, "ready"));
		weir_buf_release(&lab);
	}
	weir_buf_addstr(&b, "# HELP weir_pool_slots Slots of a pool (-1: unlimited).\n"
			    "# TYPE weir_pool_slots gauge\n"
			    "# HELP weir_pool_slots_used Pool slots taken by queued and running tasks.\n"
			    "# TYPE weir_pool_slots_used gauge\n"
			    "# HELP weir_pool_slots_free Pool slots free.\n"
			    "# TYPE weir_pool_slots_free gauge\n");
	json_array_foreach(json_object_get(m, "pools"), i, v) {
		struct weir_buf lab = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
		double slots = stat_num(v, "slots"), used = stat_num(v, "used");
		weir_buf_addstr(&lab, "{pool=\"");
		prom_label(&lab, api_jstr(v, "name"));
		weir_buf_addstr(&lab, "\"}");
		weir_buf_addf(&b, "weir_pool_slots%s %.0f\n", lab.buf, slots);
		weir_buf_addf(&b, "weir_pool_slots_used%s %.0f\n", lab.buf, used);
		weir_buf_addf(&b, "weir_pool_slots_free%s %.0f\n", lab.buf,
			      slots < 0 ? 2147483647.0 : (slots - used > 0 ? slots - used : 0));
		weir_buf_release(&lab);
	}
	json_decref(m);
	weir_buf_release(&err);
	pthread_mutex_lock(&ctx->metrics_lock);
	free(ctx->metrics_db);
	ctx->metrics_db = weir_xstrdup(b.buf);
	ctx->metrics_at_us = now;
	pthread_mutex_unlock(&ctx->metrics_lock);
	weir_buf_addstr(out, b.buf);
	weir_buf_release(&b);
	return 0;
}

void api_h_metrics(struct api_req *rq, struct api_resp *rs)
{
	struct weir_buf b = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int open = 0, busy = 0;
	bool up;

	api_metrics_format(rq->ctx->metrics, &b);
	up = db_metrics(rq, &b) == 0;
	api_pool_stats(rq->ctx->pool, &open, &busy);
	weir_buf_addf(&b, "# HELP weir_api_db_connections Database connections of this gateway.\n"
			  "# TYPE weir_api_db_connections gauge\n"
			  "weir_api_db_connections{state=\"open\"} %d\n"
			  "weir_api_db_connections{state=\"busy\"} %d\n"
			  "# HELP weir_api_database_up Whether the last metrics query succeeded.\n"
			  "# TYPE weir_api_database_up gauge\nweir_api_database_up %d\n"
			  "# HELP weir_http_requests_in_progress Requests received and not yet answered.\n"
			  "# TYPE weir_http_requests_in_progress gauge\nweir_http_requests_in_progress %d\n",
		      open, busy, up ? 1 : 0, atomic_load(&rq->ctx->in_progress));
	api_empty(rs, 200);
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
	rs->body = weir_buf_detach(&b, &rs->len);
}
