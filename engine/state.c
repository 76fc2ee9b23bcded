/* state.c: names and legal transitions of runs and task instances. */
#include "engine/state.h"

#include <string.h>

#include "common/error.h"

static const char *const run_names[WEIR_RUN__COUNT] = {
	"RECEIVED", "QUEUED", "RUNNING", "SUCCESS", "FAILED", "INVALID", "ABORTED",
};

static const char *const ti_names[WEIR_TI__COUNT] = {
	"none", "scheduled", "queued", "running", "success", "failed", "up_for_retry",
	"up_for_reschedule", "upstream_failed", "skipped", "removed",
};

#define R(s) (1u << WEIR_RUN_##s)
static const unsigned run_next[WEIR_RUN__COUNT] = {
	[WEIR_RUN_RECEIVED] = R(QUEUED) | R(ABORTED),
	[WEIR_RUN_QUEUED] = R(RUNNING) | R(ABORTED),
	[WEIR_RUN_RUNNING] = R(SUCCESS) | R(FAILED) | R(INVALID) | R(ABORTED),
};
#undef R

#define T(s) (1u << WEIR_TI_##s)
/* Manual marks are legal from every state except the same one. */
#define MARKS (T(SUCCESS) | T(FAILED) | T(SKIPPED))
static const unsigned ti_next[WEIR_TI__COUNT] = {
	[WEIR_TI_NONE] = T(SCHEDULED) | T(QUEUED) | T(UPSTREAM_FAILED) | T(REMOVED) | MARKS,
	[WEIR_TI_SCHEDULED] = T(QUEUED) | T(NONE) | T(UPSTREAM_FAILED) | T(REMOVED) | MARKS,
	[WEIR_TI_QUEUED] = T(RUNNING) | T(SCHEDULED) | T(UP_FOR_RETRY) | T(REMOVED) | MARKS,
	[WEIR_TI_RUNNING] = T(UP_FOR_RETRY) | T(UP_FOR_RESCHEDULE) | MARKS,
	[WEIR_TI_UP_FOR_RETRY] = T(SCHEDULED) | T(QUEUED) | T(NONE) | T(REMOVED) | MARKS,
	[WEIR_TI_UP_FOR_RESCHEDULE] = T(SCHEDULED) | T(QUEUED) | T(NONE) | T(REMOVED) | MARKS,
	/* Finished states: clear (-> none) or re-mark. */
	[WEIR_TI_SUCCESS] = T(NONE) | MARKS,
	[WEIR_TI_FAILED] = T(NONE) | MARKS,
	[WEIR_TI_UPSTREAM_FAILED] = T(NONE) | MARKS,
	[WEIR_TI_SKIPPED] = T(NONE) | MARKS,
	[WEIR_TI_REMOVED] = T(NONE),
};
#undef MARKS
#undef T

const char *weir_run_state_name(enum weir_run_state s)
{
	return (unsigned)s < WEIR_RUN__COUNT ? run_names[s] : "?";
}

const char *weir_ti_state_name(enum weir_ti_state s)
{
	return (unsigned)s < WEIR_TI__COUNT ? ti_names[s] : "?";
}

int weir_run_state_parse(const char *name, enum weir_run_state *out)
{
	for (int i = 0; i < WEIR_RUN__COUNT; i++) {
		if (!strcmp(run_names[i], name)) {
			*out = (enum weir_run_state)i;
			return 0;
		}
	}
	return WEIR_EINVALID;
}

int weir_ti_state_parse(const char *name, enum weir_ti_state *out)
{
	for (int i = 0; i < WEIR_TI__COUNT; i++) {
		if (!strcmp(ti_names[i], name)) {
			*out = (enum weir_ti_state)i;
			return 0;
		}
	}
	return WEIR_EINVALID;
}

bool weir_run_state_terminal(enum weir_run_state s)
{
	return s >= WEIR_RUN_SUCCESS;
}

const char *weir_run_state_airflow(enum weir_run_state s)
{
	switch (s) {
	case WEIR_RUN_RECEIVED:
	case WEIR_RUN_QUEUED:
		return "queued";
	case WEIR_RUN_RUNNING:
		return "running";
	case WEIR_RUN_SUCCESS:
		return "success";
	default:
		return "failed";
	}
}

bool weir_ti_state_finished(enum weir_ti_state s)
{
	return s == WEIR_TI_SUCCESS || s == WEIR_TI_FAILED || s == WEIR_TI_UPSTREAM_FAILED ||
	       s == WEIR_TI_SKIPPED || s == WEIR_TI_REMOVED;
}

bool weir_run_legal(enum weir_run_state from, enum weir_run_state to)
{
	if ((unsigned)from >= WEIR_RUN__COUNT || (unsigned)to >= WEIR_RUN__COUNT)
		return false;
	return (run_next[from] >> to) & 1u;
}

bool weir_ti_legal(enum weir_ti_state from, enum weir_ti_state to)
{
	if ((unsigned)from >= WEIR_TI__COUNT || (unsigned)to >= WEIR_TI__COUNT || from == to)
		return false;
	return (ti_next[from] >> to) & 1u;
}
