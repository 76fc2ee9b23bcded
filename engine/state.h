/*
 * state.h: the run (order) and task-instance state machines.
 *
 * This module is the single owner of which transitions are legal.  The
 * database enforces the same tables with triggers (db/migrations), and a
 * test checks the two agree, so neither weir nor a buggy client can move
 * state illegally.
 *
 * Run / order:
 *
 *   RECEIVED --> QUEUED --> RUNNING --> SUCCESS
 *       |          |           |------> FAILED
 *       |          |           '------> INVALID   (input declared unusable)
 *       '----------+-----------+------> ABORTED   (on request)
 *
 *   Terminal states (SUCCESS, FAILED, INVALID, ABORTED) never change.
 *
 * Task instance (Airflow's states; "none" is Airflow's null):
 *
 *   none -> scheduled -> queued -> running -> success
 *                                   |  |  '-> failed
 *                                   |  '----> up_for_retry ----> scheduled
 *                                   '-------> up_for_reschedule -> scheduled
 *   none/scheduled -> skipped | upstream_failed | removed
 *
 * plus: manual marks (any state -> success | failed | skipped), clearing a
 * finished task (-> none) to run it again, and requeueing (queued ->
 * scheduled) when an executor could not start it.  See weir_ti_legal().
 */
#ifndef WEIR_STATE_H
#define WEIR_STATE_H

#include <stdbool.h>

enum weir_run_state {
	WEIR_RUN_RECEIVED,
	WEIR_RUN_QUEUED,
	WEIR_RUN_RUNNING,
	WEIR_RUN_SUCCESS,
	WEIR_RUN_FAILED,
	WEIR_RUN_INVALID,
	WEIR_RUN_ABORTED,
	WEIR_RUN__COUNT,
};

enum weir_ti_state {
	WEIR_TI_NONE,
	WEIR_TI_SCHEDULED,
	WEIR_TI_QUEUED,
	WEIR_TI_RUNNING,
	WEIR_TI_SUCCESS,
	WEIR_TI_FAILED,
	WEIR_TI_UP_FOR_RETRY,
	WEIR_TI_UP_FOR_RESCHEDULE,
	WEIR_TI_UPSTREAM_FAILED,
	WEIR_TI_SKIPPED,
	WEIR_TI_REMOVED,
	WEIR_TI__COUNT,
};

/* "RECEIVED" ...; "none", "scheduled" ... (the database spelling). */
const char *weir_run_state_name(enum weir_run_state s);
const char *weir_ti_state_name(enum weir_ti_state s);
/* 0, or WEIR_EINVALID for an unknown name. */
int weir_run_state_parse(const char *name, enum weir_run_state *out);
int weir_ti_state_parse(const char *name, enum weir_ti_state *out);

bool weir_run_state_terminal(enum weir_run_state s);
/* Airflow's DagRunState for a weir run state: queued, running, success, failed. */
const char *weir_run_state_airflow(enum weir_run_state s);
/* Finished: success, failed, upstream_failed, skipped, removed. */
bool weir_ti_state_finished(enum weir_ti_state s);

bool weir_run_legal(enum weir_run_state from, enum weir_run_state to);
bool weir_ti_legal(enum weir_ti_state from, enum weir_ti_state to);

#endif
