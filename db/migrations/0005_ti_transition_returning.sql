-- 0005_ti_transition_returning.sql: weir_ti_transition with fewer
-- statements per call.
--
-- Every task state change (three per task of a chain: queued, running,
-- the outcome) runs this function inside the scheduler's commit, which is
-- on the critical path from one task to the next.  The version of 0001
-- read the instance back twice after updating it: once for the attempt
-- id of the try row to update (a subquery), once for the try number of
-- the event.  The UPDATE's RETURNING gives both: two statements fewer per
-- call, same results (RETURNING shows the row as updated, which is what
-- the reads saw).  Errors, locking and the rows written are unchanged.
CREATE OR REPLACE FUNCTION weir_ti_transition(
    p_run bigint, p_task text, p_from text, p_to text, p_fence uuid,
    p_try integer, p_attempt uuid, p_event uuid, p_actor text, p_reason text,
    p_at timestamptz, p_pid integer, p_host text, p_pstart bigint,
    p_exit integer, p_next timestamptz, p_log text, p_executor text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    cur text;
    cur_attempt uuid;
    at timestamptz := coalesce(p_at, clock_timestamp());
    tn integer;
    att uuid;
BEGIN
    IF p_to = 'queued' THEN
        UPDATE task_instances
           SET state = p_to, try_number = p_try, attempt_id = p_attempt,
               queued_at = at, started_at = NULL, ended_at = NULL, pid = NULL,
               hostname = NULL, process_start = NULL, exit_code = NULL,
               next_retry_at = NULL, heartbeat_at = at,
               executor = coalesce(p_executor, executor)
         WHERE run_pk = p_run AND task_id = p_task AND state = p_from
           AND (p_fence IS NULL OR attempt_id = p_fence)
        RETURNING try_number, attempt_id INTO tn, att;
    ELSIF p_to = 'running' THEN
        UPDATE task_instances
           SET state = p_to, pid = p_pid, hostname = p_host, process_start = p_pstart,
               started_at = at, heartbeat_at = at
         WHERE run_pk = p_run AND task_id = p_task AND state = p_from
           AND (p_fence IS NULL OR attempt_id = p_fence)
        RETURNING try_number, attempt_id INTO tn, att;
    ELSIF p_to = 'none' THEN
        -- Clearing: the task may run again, with a fresh set of tries.
        UPDATE task_instances
           SET state = p_to, max_tries = try_number + retries + 1, attempt_id = NULL,
               next_retry_at = NULL, exit_code = NULL, pid = NULL, hostname = NULL,
               queued_at = NULL, started_at = NULL, ended_at = NULL
         WHERE run_pk = p_run AND task_id = p_task AND state = p_from
           AND (p_fence IS NULL OR attempt_id = p_fence)
        RETURNING try_number, attempt_id INTO tn, att;
    ELSE
        UPDATE task_instances
           SET state = p_to,
               ended_at = CASE WHEN p_from IN ('queued', 'running') THEN at ELSE ended_at END,
               exit_code = coalesce(p_exit, exit_code),
               next_retry_at = CASE WHEN p_to IN ('up_for_retry', 'up_for_reschedule')
                                    THEN p_next ELSE NULL END
         WHERE run_pk = p_run AND task_id = p_task AND state = p_from
           AND (p_fence IS NULL OR attempt_id = p_fence)
        RETURNING try_number, attempt_id INTO tn, att;
    END IF;
    IF NOT FOUND THEN
        SELECT state, attempt_id INTO cur, cur_attempt
          FROM task_instances WHERE run_pk = p_run AND task_id = p_task;
        IF cur IS NULL THEN
            RAISE EXCEPTION 'task % of run % does not exist', p_task, p_run
                USING ERRCODE = 'WR404';
        ELSIF p_fence IS NOT NULL AND cur_attempt IS DISTINCT FROM p_fence THEN
            RAISE EXCEPTION 'stale attempt % for task % (current attempt %)',
                p_fence, p_task, coalesce(cur_attempt::text, 'none')
                USING ERRCODE = 'WR410';
        END IF;
        RAISE EXCEPTION 'task % of run % is %, not %', p_task, p_run, cur, p_from
            USING ERRCODE = 'WR409';
    END IF;

    -- The try's own row.
    IF p_to = 'queued' THEN
        DELETE FROM xcom WHERE run_pk = p_run AND task_id = p_task;
        INSERT INTO task_tries (run_pk, task_id, try_number, attempt_id, state, executor,
                                queued_at, log_path)
        VALUES (p_run, p_task, p_try, p_attempt, 'queued', p_executor, at, p_log);
    ELSIF p_to = 'running' THEN
        UPDATE task_tries SET state = 'running', pid = p_pid, hostname = p_host,
                              started_at = at
         WHERE attempt_id = att;
    ELSIF p_from IN ('queued', 'running') THEN
        UPDATE task_tries SET state = p_to, ended_at = at, exit_code = p_exit,
                              reason = p_reason
         WHERE attempt_id = att;
    END IF;

    INSERT INTO state_events (id, run_pk, task_id, try_number, from_state, to_state,
                              actor, reason, at)
    VALUES (p_event, p_run, p_task, tn, p_from, p_to, p_actor, p_reason, at);
END $$;
