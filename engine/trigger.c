/* trigger.c: trigger rules and run outcomes (see trigger.h for the table). */
#include "engine/trigger.h"

void weir_tally_add(struct weir_tally *t, enum weir_ti_state s)
{
	switch (s) {
	case WEIR_TI_SUCCESS:
		t->success++;
		break;
	case WEIR_TI_FAILED:
		t->failed++;
		break;
	case WEIR_TI_UPSTREAM_FAILED:
		t->upstream_failed++;
		break;
	case WEIR_TI_SKIPPED:
	case WEIR_TI_REMOVED:
		t->skipped++;
		break;
	default:
		break;
	}
}

enum weir_trigger_decision weir_trigger_decide(enum weir_trigger_rule r, const struct weir_tally *t)
{
	uint32_t bad = t->failed + t->upstream_failed;
	uint32_t done = t->success + bad + t->skipped;
	bool all_done = done >= t->total;

	if (t->total == 0 || r == WEIR_TRIGGER_ALWAYS)
		return WEIR_DECIDE_RUN;
	switch (r) {
	case WEIR_TRIGGER_ALL_SUCCESS:
		if (bad)
			return WEIR_DECIDE_UPSTREAM_FAILED;
		if (t->skipped)
			return WEIR_DECIDE_SKIP;
		return t->success == t->total ? WEIR_DECIDE_RUN : WEIR_DECIDE_WAIT;
	case WEIR_TRIGGER_ALL_FAILED:
		if (t->success || t->skipped)
			return WEIR_DECIDE_SKIP;
		return bad == t->total ? WEIR_DECIDE_RUN : WEIR_DECIDE_WAIT;
	case WEIR_TRIGGER_ALL_DONE:
		return all_done ? WEIR_DECIDE_RUN : WEIR_DECIDE_WAIT;
	case WEIR_TRIGGER_ONE_SUCCESS:
		if (t->success)
			return WEIR_DECIDE_RUN;
		if (!all_done)
			return WEIR_DECIDE_WAIT;
		return t->skipped == t->total ? WEIR_DECIDE_SKIP : WEIR_DECIDE_UPSTREAM_FAILED;
	case WEIR_TRIGGER_ONE_FAILED:
		if (bad)
			return WEIR_DECIDE_RUN;
		return all_done ? WEIR_DECIDE_SKIP : WEIR_DECIDE_WAIT;
	case WEIR_TRIGGER_ONE_DONE:
		if (t->success || t->failed)
			return WEIR_DECIDE_RUN;
		return all_done ? WEIR_DECIDE_SKIP : WEIR_DECIDE_WAIT;
	case WEIR_TRIGGER_NONE_FAILED:
		if (bad)
			return WEIR_DECIDE_UPSTREAM_FAILED;
		return all_done ? WEIR_DECIDE_RUN : WEIR_DECIDE_WAIT;
	case WEIR_TRIGGER_NONE_SKIPPED:
		if (t->skipped)
			return WEIR_DECIDE_SKIP;
		return all_done ? WEIR_DECIDE_RUN : WEIR_DECIDE_WAIT;
	case WEIR_TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS:
		if (bad)
			return WEIR_DECIDE_UPSTREAM_FAILED;
		if (!all_done)
			return WEIR_DECIDE_WAIT;
		return t->success ? WEIR_DECIDE_RUN : WEIR_DECIDE_SKIP;
	case WEIR_TRIGGER_ALWAYS:
	case WEIR_TRIGGER__COUNT:
		break;
	}
	return WEIR_DECIDE_RUN;
}

const char *weir_trigger_decision_name(enum weir_trigger_decision d)
{
	static const char *const n[] = {"wait", "run", "skip", "upstream_failed"};
	return n[d];
}

enum weir_run_state weir_run_outcome(const struct weir_dag *dag, const enum weir_ti_state *states)
{
	for (uint32_t i = 0; i < dag->ntasks; i++) {
		if (!dag->tasks[i].leaf)
			continue;
		if (states[i] == WEIR_TI_FAILED || states[i] == WEIR_TI_UPSTREAM_FAILED)
			return WEIR_RUN_FAILED;
	}
	return WEIR_RUN_SUCCESS;
}
