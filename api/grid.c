/*
 * grid.c: weir's read extensions for the web UI: a DAG's grid in one
 * compact answer, and a run's state events.
 *
 * GRID.  GET /api/v1/dags/{dag_id}/grid answers
 *
 *   {"dag_id": "etl", "task_ids": ["extract", "load", ...],
 *    "dag_runs": [DAGRun, ...],                      newest (highest id) first
 *    "states": [[state|null, ...], ...],             one array per run, one
 *    "try_numbers": [[n|null, ...], ...],            value per task id, in
 *    "max_tries": [[n|null, ...], ...],              task_ids' order
 *    "start_ms": [[ms|null, ...], ...],
 *    "end_ms": [[ms|null, ...], ...],
 *    "total_entries": 123}                           the DAG's runs
 *
 * Airflow's shapes give the same data as one TaskInstance listing per run:
 * for 100 runs of a 200-task DAG, 100 requests and 15 MB of JSON (~760
 * bytes per task instance, of which the grid shows ~50), which the
 * browser's main thread alone needed ~1.9 s to take in.  This is ~1 MB in
 * one request, one statement (db/queries_api.c "api.grid"; the per-run
 * arrays are '@' columns, db/rows.c), so the runs and their cells are one
 * snapshot.
 *
 * task_ids is the DAG's current task list in a topological order; among
 * tasks ready at the same point, the smallest id first (as the UI's graph
 * orders them: ui-static/js/dagdata.js structure()).  Task instances of
 * tasks no longer in the DAG are not shown; a task without an instance in
 * a run (added later, or a run not queued yet) is null in every array.
 *
 * EVENTS.  GET .../dagRuns/{dag_run_id}/events and
 * GET /api/v1/orders/{order_id}/events (orders.c) list state_events,
 * oldest first: {"events": [{"at", "task_id", "try_number", "from", "to",
 * "actor", "reason"}], "total_entries"}; kind=run keeps the run's own
 * transitions (task_id null), kind=task its tasks'.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "engine/dag.h"
#include "engine/runs.h"

/* ------------------------------------------------------------------ */
/* the grid                                                             */
/* ------------------------------------------------------------------ */

/* A binary min-heap of task ranks (positions in the id order). */
static void heap_push(uint32_t *h, uint32_t *n, uint32_t v)
{
	uint32_t i = (*n)++;

	while (i > 0 && h[(i - 1) / 2] > v) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = v;
}

static uint32_t heap_pop(uint32_t *h, uint32_t *n)
{
	uint32_t top = h[0], v = h[--(*n)], i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] < h[c])
			c++;
		if (h[c] >= v)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = v;
	return top;
}

/*
 * The task ids of dag in topological order, ties by smallest id (Kahn's
 * algorithm with a heap of ready tasks): a new JSON array.  O(n log n + e).
 * The loader rejects cycles; tasks a cycle would leave out are appended
 * in id order anyway, so every task has a row.
 */
static json_t *grid_order(const struct weir_dag *dag)
{
	uint32_t n = dag->ntasks, nheap = 0, done = 0;
	uint32_t *rank = weir_xcalloc(n ? n : 1, sizeof(*rank));
	uint32_t *indeg = weir_xcalloc(n ? n : 1, sizeof(*indeg));
	uint32_t *heap = weir_xcalloc(n ? n : 1, sizeof(*heap));
	bool *placed = weir_xcalloc(n ? n : 1, sizeof(*placed));
	json_t *ids = json_array();

	for (uint32_t k = 0; k < n; k++)
		rank[dag->by_id[k]] = k;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t e = 0; e < dag->tasks[i].n_downstream; e++)
			indeg[dag->tasks[i].downstream[e]]++;
	for (uint32_t k = 0; k < n; k++)
		if (indeg[dag->by_id[k]] == 0)
			heap_push(heap, &nheap, k);
	while (nheap) {
		uint32_t i = dag->by_id[heap_pop(heap, &nheap)];
		const struct weir_task *t = &dag->tasks[i];

		json_array_append_new(ids, json_string(t->id));
		placed[i] = true;
		done++;
		for (uint32_t e = 0; e < t->n_downstream; e++)
			if (--indeg[t->downstream[e]] == 0)
				heap_push(heap, &nheap, rank[t->downstream[e]]);
	}
	for (uint32_t k = 0; done < n && k < n; k++)
		if (!placed[dag->by_id[k]])
			json_array_append_new(ids, json_string(dag->tasks[dag->by_id[k]].id));
	free(rank);
	free(indeg);
	free(heap);
	free(placed);
	return ids;
}

void api_h_dag_grid(struct api_req *rq, struct api_resp *rs)
{
	static const char *const known[] = {"limit", "offset", NULL};
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf body = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_dag *dag = NULL;
	const char *p[4] = {rq->param[0], NULL, NULL, NULL};
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (api_args_known(rq, rs, known) < 0 || api_paging(rq, rs, 25, 1000, &p[1], &p[2]) < 0)
		return;
	if (!api_store(rq, rs))
		return;
	rc = weir_run_load_dag(rq->st, rq->param[0], &dag, NULL, NULL, &err);
	if (rc == WEIR_ENOTFOUND) {
		api_error(rq, rs, 404, NULL, "no such DAG");
		goto out;
	}
	if (rc < 0) {
		api_store_error(rq, rs, rc, "could not load the DAG", &err);
		goto out;
	}
	p[3] = api_json_text(&rq->arena, api_keep(rq, grid_order(dag)));
	if (api_query_text(rq, rs, "api.grid", 4, p, &text, &len, "no such DAG") < 0)
		goto out;
	/* The statement's answer is an object ({"dag_runs": ...}): the DAG id
	 * and the task ids go in front of its members. */
	if (len < 2 || text[0] != '{') {
		api_error(rq, rs, 500, NULL, "the grid query returned no object");
		goto out;
	}
	weir_buf_addstr(&body, "{\"dag_id\":");
	weir_buf_addstr(&body, api_json_text(&rq->arena, api_keep(rq, json_string(dag->id))));
	weir_buf_addstr(&body, ",\"task_ids\":");
	weir_buf_addstr(&body, p[3]);
	weir_buf_addch(&body, ',');
	weir_buf_add(&body, text + 1, len - 1);
	api_empty(rs, 200);
	rs->content_type = "application/json";
	rs->body = weir_buf_detach(&body, &rs->len);
out:
	free(text);
	weir_dag_unref(dag);
	weir_buf_release(&body);
	weir_buf_release(&err);
}

/* ------------------------------------------------------------------ */
/* state events                                                         */
/* ------------------------------------------------------------------ */

int api_events_args(struct api_req *rq, struct api_resp *rs, const char **kind, const char **limit,
		    const char **offset)
{
	static const char *const known[] = {"kind", "limit", "offset", NULL};

	if (api_args_known(rq, rs, known) < 0)
		return -1;
	*kind = api_arg(rq, "kind");
	if (*kind && strcmp(*kind, "run") && strcmp(*kind, "task")) {
		api_error(rq, rs, 400, "kind", "kind must be run (the run's own state changes) or task (its tasks')");
		return -1;
	}
	return api_paging(rq, rs, 100, 10000, limit, offset);
}

void api_h_run_events(struct api_req *rq, struct api_resp *rs)
{
	const char *p[5] = {rq->param[0], rq->param[1]};

	if (api_events_args(rq, rs, &p[2], &p[3], &p[4]) < 0)
		return;
	api_pass(rq, rs, 200, "api.run.events", 5, p, "no such DAG run");
}
