/* dag.c: questions about a loaded DAG (schedule intervals, JSON view). */
#include "engine/dag.h"

#include "common/error.h"
#include "common/time.h"
#include "engine/duration.h"
#include "engine/operator.h"

int weir_dag_next_interval(const struct weir_dag *dag, int64_t after, int64_t *start, int64_t *end)
{
	int64_t base = after, e, s;
	int rc;

	if (!dag->schedule || (dag->cron.flags & WEIR_CRON_ONCE))
		return WEIR_ENOTFOUND;
	/* The first interval starts at the first fire time at or after
	 * start_date (Airflow aligns start_date to the schedule). */
	if (dag->start_date != WEIR_TIME_NONE) {
		int64_t first;
		rc = weir_cron_next(&dag->cron, dag->tz, dag->start_date - 1, &first);
		if (rc < 0)
			return rc;
		if (base < first)
			base = first;
	}
	rc = weir_cron_next(&dag->cron, dag->tz, base, &e);
	if (rc < 0)
		return rc;
	rc = weir_cron_prev(&dag->cron, dag->tz, e, &s);
	if (rc < 0)
		return rc;
	if (dag->end_date != WEIR_TIME_NONE && s > dag->end_date)
		return WEIR_ENOTFOUND;
	*start = s;
	*end = e;
	return 0;
}

static json_t *dur(int64_t us)
{
	char buf[WEIR_DURATION_BUFSZ];
	return json_string(weir_duration_format(us, buf));
}

static json_t *iso_or_null(int64_t us)
{
	char buf[WEIR_ISO_BUFSZ];
	if (us == WEIR_TIME_NONE)
		return json_null();
	return json_string(weir_iso_format(us, 0, buf));
}

json_t *weir_dag_to_json(const struct weir_dag *dag)
{
	json_t *o = json_object(), *tasks = json_array(), *tags = json_array(), *params = json_object();

	json_object_set_new(o, "dag_id", json_string(dag->id));
	json_object_set_new(o, "file", json_string(dag->file));
	json_object_set_new(o, "description", dag->description ? json_string(dag->description) : json_null());
	json_object_set_new(o, "owner", dag->owner ? json_string(dag->owner) : json_null());
	for (size_t i = 0; i < dag->ntags; i++)
		json_array_append_new(tags, json_string(dag->tags[i]));
	json_object_set_new(o, "tags", tags);
	json_object_set_new(o, "schedule", dag->schedule ? json_string(dag->schedule) : json_null());
	json_object_set_new(o, "timezone", json_string(weir_tz_name(dag->tz)));
	json_object_set_new(o, "start_date", iso_or_null(dag->start_date));
	json_object_set_new(o, "end_date", iso_or_null(dag->end_date));
	json_object_set_new(o, "catchup", json_boolean(dag->catchup));
	json_object_set_new(o, "max_active_runs", json_integer(dag->max_active_runs));
	json_object_set_new(o, "max_active_tasks", json_integer(dag->max_active_tasks));
	json_object_set_new(o, "service", json_boolean(dag->service));
	json_object_set_new(o, "file_hash", json_string(dag->hash));
	for (size_t i = 0; i < dag->nparams; i++) {
		const struct weir_param *p = &dag->params[i];
		json_t *j = json_object();
		json_object_set_new(j, "type", json_string(weir_param_type_name(p->type)));
		if (p->default_value)
			json_object_set(j, "default", p->default_value);
		if (p->enum_values)
			json_object_set(j, "enum", p->enum_values);
		if (p->has_minimum)
			json_object_set_new(j, "minimum", json_real(p->minimum));
		if (p->has_maximum)
			json_object_set_new(j, "maximum", json_real(p->maximum));
		if (p->pattern)
			json_object_set_new(j, "pattern", json_string(p->pattern));
		json_object_set_new(j, "required", json_boolean(p->required));
		if (p->description)
			json_object_set_new(j, "description", json_string(p->description));
		json_object_set_new(params, p->name, j);
	}
	json_object_set_new(o, "params", params);
	for (uint32_t k = 0; k < dag->ntasks; k++) {
		const struct weir_task *t = &dag->tasks[dag->topo[k]];
		json_t *j = json_object(), *up = json_array(), *down = json_array();
		for (uint32_t e = 0; e < t->n_upstream; e++)
			json_array_append_new(up, json_string(dag->tasks[t->upstream[e]].id));
		for (uint32_t e = 0; e < t->n_downstream; e++)
			json_array_append_new(down, json_string(dag->tasks[t->downstream[e]].id));
		json_object_set_new(j, "task_id", json_string(t->id));
		json_object_set_new(j, "operator", json_string(t->operator_name));
		json_object_set_new(j, "upstream_task_ids", up);
		json_object_set_new(j, "downstream_task_ids", down);
		json_object_set_new(j, "trigger_rule", json_string(weir_trigger_rule_name(t->trigger_rule)));
		json_object_set_new(j, "retries", json_integer(t->retries));
		json_object_set_new(j, "retry_delay", dur(t->retry_delay_us));
		json_object_set_new(j, "retry_exponential_backoff", json_boolean(t->retry_exponential_backoff));
		json_object_set_new(j, "execution_timeout",
				    t->execution_timeout_us ? dur(t->execution_timeout_us) : json_null());
		json_object_set_new(j, "pool", json_string(t->pool));
		json_object_set_new(j, "pool_slots", json_integer(t->pool_slots));
		json_object_set_new(j, "queue", json_string(t->queue));
		json_object_set_new(j, "priority_weight", json_integer(t->priority_weight));
		json_object_set_new(j, "priority", json_integer(t->priority));
		json_object_set_new(j, "executor", json_string(weir_executor_name(t->executor)));
		json_object_set_new(j, "branch", json_boolean(t->branch));
		if (t->has_invalid_exit_code)
			json_object_set_new(j, "invalid_exit_code", json_integer(t->invalid_exit_code));
		if (t->op && t->op->is_sensor) {
			json_object_set_new(j, "mode", json_string(t->mode == WEIR_MODE_POKE ? "poke" : "reschedule"));
			json_object_set_new(j, "poke_interval", dur(t->poke_interval_us));
			json_object_set_new(j, "timeout", dur(t->sensor_timeout_us));
		}
		json_object_set(j, "config", t->config ? t->config : json_object());
		json_array_append_new(tasks, j);
	}
	json_object_set_new(o, "tasks", tasks);
	return o;
}
