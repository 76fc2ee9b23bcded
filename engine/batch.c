/* batch.c: building store batches (see store.h). */
#include <stdint.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/time.h"
#include "engine/store.h"

void weir_batch_init(struct weir_batch *b, const char *actor)
{
	memset(b, 0, sizeof(*b));
	weir_arena_init(&b->arena, 8192);
	weir_uuid_v7(&b->id);
	b->actor = actor;
}

static void release_ops(struct weir_batch *b)
{
	for (size_t i = 0; i < b->ops.n; i++) {
		struct weir_sop *op = &b->ops.v[i];
		if (op->kind == WEIR_SOP_RUN_STATE)
			json_decref(op->u.run_state.result);
		else if (op->kind == WEIR_SOP_XCOM_PUT)
			json_decref(op->u.xcom.value);
		else if (op->kind == WEIR_SOP_RUN_CREATE) {
			json_decref(op->u.run_create.conf);
			json_decref(op->u.run_create.params);
		}
	}
}

void weir_batch_release(struct weir_batch *b)
{
	release_ops(b);
	weir_vec_release(&b->ops);
	weir_arena_release(&b->arena);
}

void weir_batch_reset(struct weir_batch *b)
{
	release_ops(b);
	b->ops.n = 0;
	weir_arena_release(&b->arena);
	weir_uuid_v7(&b->id);
	b->failed = 0;
	b->maybe_committed = false;
	b->while_committing = NULL;
	b->while_committing_arg = NULL;
}

bool weir_batch_empty(const struct weir_batch *b)
{
	return b->ops.n == 0;
}

const char *weir_batch_strdup(struct weir_batch *b, const char *s)
{
	return s ? weir_arena_strdup(&b->arena, s) : NULL;
}

static struct weir_sop *add(struct weir_batch *b, enum weir_sop_kind kind)
{
	struct weir_sop op;

	memset(&op, 0, sizeof(op));
	op.kind = kind;
	weir_uuid_v7(&op.event_id);
	weir_vec_push(&b->ops, op);
	return &b->ops.v[b->ops.n - 1];
}

struct weir_sop *weir_batch_run_create(struct weir_batch *b, const struct weir_run_new *r)
{
	struct weir_sop *op = add(b, WEIR_SOP_RUN_CREATE);
	struct weir_run_new *n = &op->u.run_create;

	*n = *r;
	n->dag_id = weir_batch_strdup(b, r->dag_id);
	n->run_id = weir_batch_strdup(b, r->run_id);
	n->run_type = weir_batch_strdup(b, r->run_type);
	n->dag_hash = weir_batch_strdup(b, r->dag_hash);
	n->client_id = weir_batch_strdup(b, r->client_id);
	n->service = weir_batch_strdup(b, r->service);
	n->note = weir_batch_strdup(b, r->note);
	n->aoi_geojson = weir_batch_strdup(b, r->aoi_geojson);
	n->conf = r->conf ? json_incref(r->conf) : NULL;
	n->params = r->params ? json_incref(r->params) : NULL;
	if (weir_uuid_is_nil(&n->order_id))
		weir_uuid_v7(&n->order_id);
	n->run_pk = 0;
	return op;
}

struct weir_sop *weir_batch_run_state(struct weir_batch *b, int64_t run_pk,
				      enum weir_run_state from, enum weir_run_state to,
				      const char *reason, json_t *result, int64_t at)
{
	struct weir_sop *op = add(b, WEIR_SOP_RUN_STATE);

	op->u.run_state.run_pk = run_pk;
	op->u.run_state.from = from;
	op->u.run_state.to = to;
	op->u.run_state.reason = weir_batch_strdup(b, reason);
	op->u.run_state.result = result;
	op->u.run_state.at = at;
	return op;
}

struct weir_sop *weir_batch_tis_create(struct weir_batch *b, int64_t run_pk, size_t create_op,
				       const char *dag_id, const struct weir_ti_new *tis, size_t n)
{
	struct weir_ti_new *copy = weir_arena_calloc(&b->arena, n ? n : 1, sizeof(*copy));
	struct weir_sop *op;

	if (create_op != SIZE_MAX && (create_op >= b->ops.n || b->ops.v[create_op].kind != WEIR_SOP_RUN_CREATE))
		WEIR_BUG("tis_create refers to op %zu, which does not create a run", create_op);
	for (size_t i = 0; i < n; i++) {
		copy[i] = tis[i];
		copy[i].task_id = weir_batch_strdup(b, tis[i].task_id);
		copy[i].pool = weir_batch_strdup(b, tis[i].pool);
		copy[i].queue = weir_batch_strdup(b, tis[i].queue);
		copy[i].executor = weir_batch_strdup(b, tis[i].executor);
	}
	op = add(b, WEIR_SOP_TIS_CREATE);
	op->u.tis_create.run_pk = run_pk;
	op->u.tis_create.create_op = create_op;
	op->u.tis_create.dag_id = weir_batch_strdup(b, dag_id);
	op->u.tis_create.n = n;
	op->u.tis_create.tis = copy;
	return op;
}

struct weir_sop *weir_batch_ti_state(struct weir_batch *b, int64_t run_pk, const char *task_id,
				     enum weir_ti_state from, enum weir_ti_state to,
				     const char *reason, int64_t at)
{
	struct weir_sop *op = add(b, WEIR_SOP_TI_STATE);

	op->u.ti_state.run_pk = run_pk;
	op->u.ti_state.task_id = weir_batch_strdup(b, task_id);
	op->u.ti_state.from = from;
	op->u.ti_state.to = to;
	op->u.ti_state.reason = weir_batch_strdup(b, reason);
	op->u.ti_state.at = at;
	op->u.ti_state.next_at = WEIR_TIME_NONE;
	return op;
}

struct weir_sop *weir_batch_xcom(struct weir_batch *b, int64_t run_pk, const char *task_id,
				 const struct weir_uuid *fence, const char *key, json_t *value)
{
	struct weir_sop *op = add(b, WEIR_SOP_XCOM_PUT);

	op->u.xcom.run_pk = run_pk;
	op->u.xcom.task_id = weir_batch_strdup(b, task_id);
	if (fence)
		op->u.xcom.fence = *fence;
	op->u.xcom.key = weir_batch_strdup(b, key);
	op->u.xcom.value = value;
	return op;
}

struct weir_sop *weir_batch_heartbeat(struct weir_batch *b, int64_t run_pk, const char *task_id,
				      const struct weir_uuid *fence, int64_t at)
{
	struct weir_sop *op = add(b, WEIR_SOP_HEARTBEAT);

	op->u.heartbeat.run_pk = run_pk;
	op->u.heartbeat.task_id = weir_batch_strdup(b, task_id);
	op->u.heartbeat.fence = *fence;
	op->u.heartbeat.at = at;
	return op;
}

struct weir_sop *weir_batch_dag_schedule(struct weir_batch *b, const char *dag_id,
					 int64_t last_interval_end, int64_t next_run_after,
					 int64_t next_logical_date)
{
	struct weir_sop *op = add(b, WEIR_SOP_DAG_SCHEDULE);

	op->u.dag_schedule.dag_id = weir_batch_strdup(b, dag_id);
	op->u.dag_schedule.last_interval_end = last_interval_end;
	op->u.dag_schedule.next_run_after = next_run_after;
	op->u.dag_schedule.next_logical_date = next_logical_date;
	return op;
}

int weir_batch_check(struct weir_batch *b, struct weir_buf *err)
{
	for (size_t i = 0; i < b->ops.n; i++) {
		const struct weir_sop *op = &b->ops.v[i];
		if (op->kind == WEIR_SOP_RUN_STATE &&
		    !weir_run_legal(op->u.run_state.from, op->u.run_state.to)) {
			b->failed = i;
			weir_buf_addf(err, "illegal run state transition %s -> %s (run %lld)",
				      weir_run_state_name(op->u.run_state.from),
				      weir_run_state_name(op->u.run_state.to),
				      (long long)op->u.run_state.run_pk);
			return WEIR_EILLEGAL;
		}
		if (op->kind == WEIR_SOP_TI_STATE &&
		    !weir_ti_legal(op->u.ti_state.from, op->u.ti_state.to)) {
			b->failed = i;
			weir_buf_addf(err, "illegal task state transition %s -> %s (task %s)",
				      weir_ti_state_name(op->u.ti_state.from),
				      weir_ti_state_name(op->u.ti_state.to), op->u.ti_state.task_id);
			return WEIR_EILLEGAL;
		}
	}
	return 0;
}
