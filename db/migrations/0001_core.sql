-- 0001_core.sql: weir's core schema: DAGs, runs (= orders), task
-- instances and their tries, XCom, pools, the state-event log and logs.
--
-- State machines are enforced here as well as in engine/state.c: the
-- transition tables below must equal the C tables (tests/db checks it).
-- Every state change made by weir goes through weir_run_transition() or
-- weir_ti_transition(), which update conditionally (expected state, and
-- for tries the current attempt id), record the event, and raise
-- SQLSTATE WR409 (lost race) or WR410 (stale attempt) when nothing matched.

CREATE EXTENSION IF NOT EXISTS postgis;

-- ------------------------------------------------------------------
-- Schedulers (leases) and DAGs
-- ------------------------------------------------------------------
-- A scheduler is alive while its heartbeat is fresh.  Each DAG is driven
-- by one live scheduler (dags.scheduler_id), claimed with FOR UPDATE SKIP
-- LOCKED; when a scheduler dies its DAGs are claimed by another.
CREATE TABLE schedulers (
    id           uuid PRIMARY KEY,
    hostname     text NOT NULL,
    pid          integer NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stats        jsonb NOT NULL DEFAULT '{}'     -- loop duration, lag, ...
);

CREATE TABLE dags (
    dag_id          text PRIMARY KEY,
    file_path       text NOT NULL,
    file_hash       text NOT NULL,
    source          text NOT NULL,
    definition      jsonb NOT NULL,
    description     text,
    owner           text,
    tags            text[] NOT NULL DEFAULT '{}',
    schedule        text,
    timezone        text NOT NULL DEFAULT 'UTC',
    is_service      boolean NOT NULL DEFAULT false,
    is_paused       boolean NOT NULL DEFAULT false,
    is_active       boolean NOT NULL DEFAULT true,     -- its file exists and is valid
    max_active_runs integer NOT NULL DEFAULT 16,
    scheduler_id    uuid,                              -- the scheduler driving it
    -- scheduling bookkeeping: the last scheduled interval created
    last_interval_end timestamptz,
    next_run_after    timestamptz,                     -- next fire (interval end)
    next_logical_date timestamptz,                     -- its interval start
    last_parsed_at  timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE import_errors (
    file_path  text PRIMARY KEY,
    dag_id     text,
    errors     jsonb NOT NULL,      -- [{file, line, col, message, hint}]
    message    text NOT NULL,       -- the same, as printed by the CLI
    created_at timestamptz NOT NULL DEFAULT now()
);

-- ------------------------------------------------------------------
-- Pools
-- ------------------------------------------------------------------
CREATE TABLE pools (
    name        text PRIMARY KEY,
    slots       integer NOT NULL CHECK (slots >= -1),  -- -1: unlimited
    description text NOT NULL DEFAULT '',
    include_deferred boolean NOT NULL DEFAULT false
);
INSERT INTO pools (name, slots, description)
VALUES ('default_pool', 128, 'Default pool');

-- ------------------------------------------------------------------
-- Runs (every run is also an order)
-- ------------------------------------------------------------------
CREATE TABLE run_transitions (
    from_state text NOT NULL,
    to_state   text NOT NULL,
    PRIMARY KEY (from_state, to_state)
);
INSERT INTO run_transitions VALUES
    ('RECEIVED', 'QUEUED'), ('RECEIVED', 'ABORTED'),
    ('QUEUED', 'RUNNING'), ('QUEUED', 'ABORTED'),
    ('RUNNING', 'SUCCESS'), ('RUNNING', 'FAILED'), ('RUNNING', 'INVALID'),
    ('RUNNING', 'ABORTED');

CREATE TABLE dag_runs (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id            uuid NOT NULL UNIQUE,
    dag_id              text NOT NULL REFERENCES dags (dag_id),
    run_id              text NOT NULL,
    run_type            text NOT NULL
        CHECK (run_type IN ('manual', 'scheduled', 'backfill', 'api', 'service')),
    state               text NOT NULL DEFAULT 'RECEIVED'
        CHECK (state IN ('RECEIVED', 'QUEUED', 'RUNNING', 'SUCCESS', 'FAILED',
                         'INVALID', 'ABORTED')),
    conf                jsonb NOT NULL DEFAULT '{}',
    params              jsonb NOT NULL DEFAULT '{}',   -- effective params
    logical_date        timestamptz NOT NULL,
    data_interval_start timestamptz,
    data_interval_end   timestamptz,
    dag_hash            text,                          -- DAG file version used
    client_id           text,
    service             text,
    aoi                 geometry(MultiPolygon, 4326),
    result              jsonb,
    note                text,
    abort_requested     boolean NOT NULL DEFAULT false,
    received_at         timestamptz NOT NULL DEFAULT now(),
    queued_at           timestamptz,
    started_at          timestamptz,
    ended_at            timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dag_id, run_id),
    CHECK (result IS NULL OR state = 'SUCCESS')
);
-- Scheduled intervals exist once, whichever scheduler creates them.
CREATE UNIQUE INDEX dag_runs_scheduled_once ON dag_runs (dag_id, logical_date)
    WHERE run_type = 'scheduled';
-- Listing a DAG's runs newest first (API, UI grid).
CREATE INDEX dag_runs_by_dag ON dag_runs (dag_id, logical_date DESC, id DESC);
-- The scheduler's start-up and adoption query: unfinished runs only.
CREATE INDEX dag_runs_active ON dag_runs (id)
    WHERE state IN ('RECEIVED', 'QUEUED', 'RUNNING');
-- Orders by client and time (API filters).
CREATE INDEX dag_runs_by_client ON dag_runs (client_id, received_at DESC);

CREATE FUNCTION weir_run_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state THEN
        IF NOT EXISTS (SELECT 1 FROM run_transitions
                       WHERE from_state = OLD.state AND to_state = NEW.state) THEN
            RAISE EXCEPTION 'illegal run state transition % -> % (run %)',
                OLD.state, NEW.state, OLD.run_id
                USING ERRCODE = 'WR400';
        END IF;
        IF NEW.state = 'QUEUED' THEN
            NEW.queued_at := coalesce(NEW.queued_at, now());
        ELSIF NEW.state = 'RUNNING' THEN
            NEW.started_at := coalesce(NEW.started_at, now());
        ELSIF NEW.state IN ('SUCCESS', 'FAILED', 'INVALID', 'ABORTED') THEN
            NEW.ended_at := coalesce(NEW.ended_at, now());
        END IF;
    ELSIF OLD.state IN ('SUCCESS', 'FAILED', 'INVALID', 'ABORTED')
          AND (NEW.result IS DISTINCT FROM OLD.result
               OR NEW.ended_at IS DISTINCT FROM OLD.ended_at) THEN
        RAISE EXCEPTION 'run % is finished (%): its outcome cannot change',
            OLD.run_id, OLD.state USING ERRCODE = 'WR400';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER dag_runs_guard BEFORE UPDATE ON dag_runs
    FOR EACH ROW EXECUTE FUNCTION weir_run_guard();

-- ------------------------------------------------------------------
-- Task instances and tries
-- ------------------------------------------------------------------
CREATE TABLE ti_transitions (
    from_state text NOT NULL,
    to_state   text NOT NULL,
    PRIMARY KEY (from_state, to_state)
);
-- Generated from engine/state.c (tests/db checks they are equal).
INSERT INTO ti_transitions
SELECT f, t FROM (VALUES
    ('none', '{scheduled,queued,upstream_failed,removed,success,failed,skipped}'),
    ('scheduled', '{queued,none,upstream_failed,removed,success,failed,skipped}'),
    ('queued', '{running,scheduled,up_for_retry,removed,success,failed,skipped}'),
    ('running', '{up_for_retry,up_for_reschedule,success,failed,skipped}'),
    ('up_for_retry', '{scheduled,queued,none,removed,success,failed,skipped}'),
    ('up_for_reschedule', '{scheduled,queued,none,removed,success,failed,skipped}'),
    ('success', '{none,failed,skipped}'),
    ('failed', '{none,success,skipped}'),
    ('upstream_failed', '{none,success,failed,skipped}'),
    ('skipped', '{none,success,failed}'),
    ('removed', '{none}')
) AS v (f, ts), unnest(ts::text[]) AS t;

CREATE TABLE task_instances (
    run_pk         bigint NOT NULL REFERENCES dag_runs (id) ON DELETE CASCADE,
    task_id        text NOT NULL,
    dag_id         text NOT NULL,
    state          text NOT NULL DEFAULT 'none'
        CHECK (state IN ('none', 'scheduled', 'queued', 'running', 'success', 'failed',
                         'up_for_retry', 'up_for_reschedule', 'upstream_failed',
                         'skipped', 'removed')),
    try_number     integer NOT NULL DEFAULT 0,
    retries        integer NOT NULL DEFAULT 0,
    max_tries      integer NOT NULL,       -- the last try number allowed
    attempt_id     uuid,                   -- the current try's fence
    pool           text NOT NULL,
    pool_slots     integer NOT NULL DEFAULT 1,
    queue          text NOT NULL DEFAULT 'default',
    priority       bigint NOT NULL DEFAULT 1,
    executor       text NOT NULL DEFAULT 'local',
    hostname       text,
    pid            integer,
    process_start  bigint,                 -- /proc start time: pid reuse check
    heartbeat_at   timestamptz,
    next_retry_at  timestamptz,            -- up_for_retry / up_for_reschedule
    exit_code      integer,
    queued_at      timestamptz,
    started_at     timestamptz,
    ended_at       timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_pk, task_id)
);
-- Retries and reschedules that come due (scheduler timer).
CREATE INDEX ti_waiting ON task_instances (next_retry_at)
    WHERE state IN ('up_for_retry', 'up_for_reschedule');
-- Liveness: running or queued tries by heartbeat (zombie detection).
CREATE INDEX ti_live ON task_instances (heartbeat_at)
    WHERE state IN ('queued', 'running');
-- Pool occupancy (slots in use per pool).
CREATE INDEX ti_pool_use ON task_instances (pool)
    WHERE state IN ('queued', 'running');
-- Ready work for claims across schedulers.
CREATE INDEX ti_scheduled ON task_instances (priority DESC)
    WHERE state = 'scheduled';

CREATE FUNCTION weir_ti_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state THEN
        IF NOT EXISTS (SELECT 1 FROM ti_transitions
                       WHERE from_state = OLD.state AND to_state = NEW.state) THEN
            RAISE EXCEPTION 'illegal task state transition % -> % (task %)',
                OLD.state, NEW.state, OLD.task_id
                USING ERRCODE = 'WR400';
        END IF;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER task_instances_guard BEFORE UPDATE ON task_instances
    FOR EACH ROW EXECUTE FUNCTION weir_ti_guard();

-- One row per attempt: a try that failed and was retried has one row per
-- try; a sensor in reschedule mode has one row per poke (same try_number).
CREATE TABLE task_tries (
    attempt_id  uuid PRIMARY KEY,
    run_pk      bigint NOT NULL REFERENCES dag_runs (id) ON DELETE CASCADE,
    task_id     text NOT NULL,
    try_number  integer NOT NULL,
    state       text NOT NULL,           -- queued, running, then the outcome
    executor    text,
    hostname    text,
    pid         integer,
    queued_at   timestamptz,
    started_at  timestamptz,
    ended_at    timestamptz,
    exit_code   integer,
    log_path    text,
    reason      text                     -- why it ended, when not obvious
);
CREATE INDEX task_tries_by_task ON task_tries (run_pk, task_id, try_number);

-- ------------------------------------------------------------------
-- XCom
-- ------------------------------------------------------------------
CREATE TABLE xcom (
    run_pk     bigint NOT NULL REFERENCES dag_runs (id) ON DELETE CASCADE,
    task_id    text NOT NULL,
    key        text NOT NULL,
    value      jsonb NOT NULL,
    try_number integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_pk, task_id, key),
    CHECK (octet_length(value::text) <= 1048576)
);

-- ------------------------------------------------------------------
-- Events (append-only audit of every state change) and logs
-- ------------------------------------------------------------------
CREATE TABLE state_events (
    id         uuid PRIMARY KEY,            -- time-ordered (v7), made by the writer
    run_pk     bigint NOT NULL,
    task_id    text,                        -- NULL for run events
    try_number integer,
    from_state text NOT NULL,
    to_state   text NOT NULL,
    actor      text NOT NULL,
    reason     text,
    at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX state_events_by_run ON state_events (run_pk, at);

CREATE FUNCTION weir_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'WR400';
END $$;
-- Statement level, so it fires even when no row matches, and for TRUNCATE.
CREATE TRIGGER state_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON state_events
    FOR EACH STATEMENT EXECUTE FUNCTION weir_forbid_change();

CREATE TABLE logs (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service  text NOT NULL,
    order_id uuid,
    level    text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    message  text NOT NULL,
    at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX logs_by_order ON logs (order_id, at) WHERE order_id IS NOT NULL;

-- Batches applied by weir_store_apply: lets a writer that lost its
-- connection during COMMIT learn whether the batch committed.
CREATE TABLE applied_batches (
    id uuid PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now()
);

-- ------------------------------------------------------------------
-- Transitions
-- ------------------------------------------------------------------

-- Moves a run from p_from to p_to; raises WR409 if it is not in p_from.
CREATE FUNCTION weir_run_transition(
    p_run bigint, p_from text, p_to text, p_event uuid, p_actor text,
    p_reason text, p_at timestamptz, p_result jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    cur text;
BEGIN
    UPDATE dag_runs
       SET state = p_to,
           result = CASE WHEN p_to = 'SUCCESS' THEN p_result ELSE NULL END,
           queued_at = CASE WHEN p_to = 'QUEUED' THEN coalesce(p_at, now()) ELSE queued_at END,
           started_at = CASE WHEN p_to = 'RUNNING' THEN coalesce(p_at, now()) ELSE started_at END,
           ended_at = CASE WHEN p_to IN ('SUCCESS', 'FAILED', 'INVALID', 'ABORTED')
                           THEN coalesce(p_at, now()) ELSE ended_at END
     WHERE id = p_run AND state = p_from;
    IF NOT FOUND THEN
        SELECT state INTO cur FROM dag_runs WHERE id = p_run;
        RAISE EXCEPTION 'run % is %, not %', p_run, coalesce(cur, 'missing'), p_from
            USING ERRCODE = 'WR409';
    END IF;
    INSERT INTO state_events (id, run_pk, from_state, to_state, actor, reason, at)
    VALUES (p_event, p_run, p_from, p_to, p_actor, p_reason, coalesce(p_at, clock_timestamp()));
END $$;

-- Moves a task instance from p_from to p_to.
--   p_fence: when not NULL, the instance's attempt_id must equal it (a
--            report from a try that is no longer current is refused: WR410)
--   -> queued: starts try p_try with attempt p_attempt (a task_tries row)
--   -> running: records pid/hostname/process start of the try
--   finished or waiting states: ends the current try with p_exit
CREATE FUNCTION weir_ti_transition(
    p_run bigint, p_task text, p_from text, p_to text, p_fence uuid,
    p_try integer, p_attempt uuid, p_event uuid, p_actor text, p_reason text,
    p_at timestamptz, p_pid integer, p_host text, p_pstart bigint,
    p_exit integer, p_next timestamptz, p_log text, p_executor text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    cur text;
    cur_attempt uuid;
    at timestamptz := coalesce(p_at, clock_timestamp());
    n integer;
    tn integer;
BEGIN
    IF p_to = 'queued' THEN
        UPDATE task_instances
           SET state = p_to, try_number = p_try, attempt_id = p_attempt,
               queued_at = at, started_at = NULL, ended_at = NULL, pid = NULL,
               hostname = NULL, process_start = NULL, exit_code = NULL,
               next_retry_at = NULL, heartbeat_at = at,
               executor = coalesce(p_executor, executor)
         WHERE run_pk = p_run AND task_id = p_task AND state = p_from
           AND (p_fence IS NULL OR attempt_id = p_fence);
    ELSIF p_to = 'running' THEN
        UPDATE task_instances
           SET state = p_to, pid = p_pid, hostname = p_host, process_start = p_pstart,
               started_at = at, heartbeat_at = at
         WHERE run_pk = p_run AND task_id = p_task AND state = p_from
           AND (p_fence IS NULL OR attempt_id = p_fence);
    ELSIF p_to = 'none' THEN
        -- Clearing: the task may run again, with a fresh set of tries.
        UPDATE task_instances
           SET state = p_to, max_tries = try_number + retries + 1, attempt_id = NULL,
               next_retry_at = NULL, exit_code = NULL, pid = NULL, hostname = NULL,
               queued_at = NULL, started_at = NULL, ended_at = NULL
         WHERE run_pk = p_run AND task_id = p_task AND state = p_from
           AND (p_fence IS NULL OR attempt_id = p_fence);
    ELSE
        UPDATE task_instances
           SET state = p_to,
               ended_at = CASE WHEN p_from IN ('queued', 'running') THEN at ELSE ended_at END,
               exit_code = coalesce(p_exit, exit_code),
               next_retry_at = CASE WHEN p_to IN ('up_for_retry', 'up_for_reschedule')
                                    THEN p_next ELSE NULL END
         WHERE run_pk = p_run AND task_id = p_task AND state = p_from
           AND (p_fence IS NULL OR attempt_id = p_fence);
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
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
         WHERE attempt_id = (SELECT attempt_id FROM task_instances
                              WHERE run_pk = p_run AND task_id = p_task);
    ELSIF p_from IN ('queued', 'running') THEN
        UPDATE task_tries SET state = p_to, ended_at = at, exit_code = p_exit,
                              reason = p_reason
         WHERE attempt_id = (SELECT attempt_id FROM task_instances
                              WHERE run_pk = p_run AND task_id = p_task);
    END IF;

    SELECT try_number INTO tn FROM task_instances WHERE run_pk = p_run AND task_id = p_task;
    INSERT INTO state_events (id, run_pk, task_id, try_number, from_state, to_state,
                              actor, reason, at)
    VALUES (p_event, p_run, p_task, tn, p_from, p_to, p_actor, p_reason, at);
END $$;

-- Stores an XCom value from the current try only (fenced by attempt).
CREATE FUNCTION weir_xcom_put(p_run bigint, p_task text, p_fence uuid, p_key text,
                              p_value jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tn integer;
BEGIN
    SELECT try_number INTO tn FROM task_instances
     WHERE run_pk = p_run AND task_id = p_task
       AND (p_fence IS NULL OR attempt_id = p_fence);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'stale attempt % for task %: XCom "%" refused', p_fence, p_task, p_key
            USING ERRCODE = 'WR410';
    END IF;
    INSERT INTO xcom (run_pk, task_id, key, value, try_number)
    VALUES (p_run, p_task, p_key, p_value, tn)
    ON CONFLICT (run_pk, task_id, key)
    DO UPDATE SET value = EXCLUDED.value, try_number = EXCLUDED.try_number,
                  created_at = now();
END $$;

-- ------------------------------------------------------------------
-- Notifications to schedulers
-- ------------------------------------------------------------------
-- Changes made by anyone but a scheduler (the API, the CLI, an admin with
-- psql) are announced on channel "weir", so the owning scheduler reacts
-- in milliseconds.  Schedulers connect with application_name
-- 'weir-scheduler' and are not told about their own writes.  NOTIFY is
-- transactional: it is delivered at commit, and never for a rollback.
--   run PK DAG     a run was created
--   abort PK DAG   a run's state or abort flag changed
--   ti PK DAG      a task instance was changed by hand
--   pause DAG 0|1  a DAG was paused or unpaused
--   pools          pools changed
CREATE FUNCTION weir_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'dag_runs' THEN
        IF TG_OP = 'INSERT' THEN
            PERFORM pg_notify('weir', 'run ' || NEW.id || ' ' || NEW.dag_id);
        ELSIF NEW.state IS DISTINCT FROM OLD.state
              OR NEW.abort_requested IS DISTINCT FROM OLD.abort_requested THEN
            PERFORM pg_notify('weir', 'abort ' || NEW.id || ' ' || NEW.dag_id);
        END IF;
    ELSIF TG_TABLE_NAME = 'task_instances' THEN
        IF NEW.state IS DISTINCT FROM OLD.state THEN
            PERFORM pg_notify('weir', 'ti ' || NEW.run_pk || ' ' || NEW.dag_id);
        END IF;
    ELSIF TG_TABLE_NAME = 'dags' THEN
        IF NEW.is_paused IS DISTINCT FROM OLD.is_paused THEN
            PERFORM pg_notify('weir', 'pause ' || NEW.dag_id || ' '
                              || CASE WHEN NEW.is_paused THEN '1' ELSE '0' END);
        END IF;
    ELSE
        PERFORM pg_notify('weir', 'pools');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER dag_runs_notify AFTER INSERT OR UPDATE ON dag_runs FOR EACH ROW
    WHEN (current_setting('application_name') <> 'weir-scheduler')
    EXECUTE FUNCTION weir_notify_change();
CREATE TRIGGER task_instances_notify AFTER UPDATE ON task_instances FOR EACH ROW
    WHEN (current_setting('application_name') <> 'weir-scheduler')
    EXECUTE FUNCTION weir_notify_change();
CREATE TRIGGER dags_notify AFTER UPDATE ON dags FOR EACH ROW
    WHEN (current_setting('application_name') <> 'weir-scheduler')
    EXECUTE FUNCTION weir_notify_change();
CREATE TRIGGER pools_notify AFTER INSERT OR UPDATE OR DELETE ON pools FOR EACH STATEMENT
    EXECUTE FUNCTION weir_notify_change();
