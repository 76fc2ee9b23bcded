/*
 * trigger.h: when may a task run?  Airflow's trigger rules as a pure
 * function of its upstream tasks' states, and a run's outcome.
 *
 * The scheduler keeps, per task instance, a tally of its direct upstream
 * tasks by finished state and re-evaluates a task only when one of its
 * upstream tasks finishes (event-driven readiness: no rescans).  A rule
 * may decide before every upstream task is done:
 *
 *   rule                        RUN when                  otherwise
 *   all_success                 all success               any failed/upstream_failed -> UPSTREAM_FAILED;
 *                                                         any skipped -> SKIP
 *   all_failed                  all failed/upstream_f.    any success/skipped -> SKIP
 *   all_done                    all done                  -
 *   one_success                 any success               all done: all skipped -> SKIP, else UPSTREAM_FAILED
 *   one_failed                  any failed/upstream_f.    all done -> SKIP
 *   one_done                    any success/failed        all done -> SKIP
 *   none_failed                 all done                  any failed/upstream_failed -> UPSTREAM_FAILED
 *   none_skipped                all done                  any skipped -> SKIP
 *   none_failed_min_one_success all done, >= 1 success    any failed/upstream_f. -> UPSTREAM_FAILED;
 *                                                         all done, no success -> SKIP
 *   always                      at once                   -
 *
 * A task without upstream tasks runs at once whatever its rule.  "removed"
 * upstream tasks count as skipped.
 */
#ifndef WEIR_TRIGGER_H
#define WEIR_TRIGGER_H

#include <stdint.h>

#include "engine/dag.h"
#include "engine/state.h"

struct weir_tally {
	uint32_t total; /* direct upstream tasks */
	uint32_t success, failed, upstream_failed, skipped; /* finished, by state */
};

enum weir_trigger_decision {
	WEIR_DECIDE_WAIT,
	WEIR_DECIDE_RUN,
	WEIR_DECIDE_SKIP,
	WEIR_DECIDE_UPSTREAM_FAILED,
};

/* Counts a finished upstream state into t (non-finished states are ignored). */
void weir_tally_add(struct weir_tally *t, enum weir_ti_state s);
enum weir_trigger_decision weir_trigger_decide(enum weir_trigger_rule r, const struct weir_tally *t);
const char *weir_trigger_decision_name(enum weir_trigger_decision d);

/*
 * The final state of a run whose task instances are all finished
 * (states[i] for task i): FAILED when a leaf task (no downstream) failed
 * or is upstream_failed, else SUCCESS (Airflow's rule).  Callback tasks
 * (on_success / on_failure) do not count.
 */
enum weir_run_state weir_run_outcome(const struct weir_dag *dag, const enum weir_ti_state *states);

#endif
