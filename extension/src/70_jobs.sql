-- Jobs (0.3.0): schedules run unattended by the launcher background worker
-- (src/jobs/), each run in its own worker, as the role that owns the job.
-- The tables exist since 0.1.0 (20_catalog.sql); 0.3.0 adds what runs need.

ALTER TABLE mlops.jobs
    ADD COLUMN options jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN backoff interval NOT NULL DEFAULT '30 seconds',
    ADD COLUMN statement_timeout interval,
    ADD COLUMN next_run_at timestamptz;
COMMENT ON COLUMN mlops.jobs.options IS 'the options given to ml_schedule / ml_alter_job, merged';
COMMENT ON COLUMN mlops.jobs.command IS 'the step''s arguments (kind-specific: relation, into_table, mode, recipe, ...)';
COMMENT ON COLUMN mlops.jobs.backoff IS 'wait before the first retry; doubled at each further attempt';
COMMENT ON COLUMN mlops.jobs.next_run_at IS 'when the launcher next queues a run (NULL: paused)';

ALTER TABLE mlops.job_runs DROP CONSTRAINT job_runs_status_check;
UPDATE mlops.job_runs SET status = 'queued' WHERE status OPERATOR(pg_catalog.=) 'scheduled';
ALTER TABLE mlops.job_runs
    ALTER COLUMN status SET DEFAULT 'queued',
    ADD CONSTRAINT job_runs_status_check
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
    ADD COLUMN trigger text NOT NULL DEFAULT 'schedule'
        CHECK (trigger IN ('schedule', 'manual', 'retry')),
    ADD COLUMN requested_by name,
    ADD COLUMN due_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    ADD COLUMN rows_processed bigint,
    ADD COLUMN progress double precision,
    ADD COLUMN log jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN sqlstate text,
    ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN mlops.job_runs.due_at IS 'a queued run starts once this time has passed (retries wait here)';
COMMENT ON COLUMN mlops.job_runs.log IS 'one object per step: step, status, started_at, finished_at, rows, detail';
COMMENT ON COLUMN mlops.job_runs.sqlstate IS 'the SQLSTATE of the error that ended the run';
COMMENT ON COLUMN mlops.job_runs.message IS 'the error message, or a note on how the run ended';
CREATE INDEX job_runs_job ON mlops.job_runs (job_id, id);
CREATE INDEX job_runs_active ON mlops.job_runs (job_id) WHERE status IN ('queued', 'running');

CREATE FUNCTION @extschema@.ml_schedule(project text, kind text, schedule text, options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_schedule'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_schedule(text, text, text, jsonb) IS
    'schedule a train, score or clean job of a project (cron or interval); returns the job id';

CREATE FUNCTION @extschema@.ml_run_now(job bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_run_now'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_run_now(bigint) IS
    'queue a run of a job now; returns the run id';

CREATE FUNCTION @extschema@.ml_cancel(run bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_cancel'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_cancel(bigint) IS
    'cancel a queued or running run; false if it had already ended';

CREATE FUNCTION @extschema@.ml_unschedule(job bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_unschedule'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_unschedule(bigint) IS
    'remove a job and its run history; a running run is cancelled';

CREATE FUNCTION @extschema@.ml_alter_job(job bigint, options jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_alter_job'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_alter_job(bigint, jsonb) IS
    'change a job''s schedule, options or step arguments, or pause it (active false)';

CREATE FUNCTION mlops.schedule_next(schedule text, after timestamptz)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'ml_schedule_next'
LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION mlops.schedule_next(text, timestamptz) IS
    'the first time after "after" that a schedule is due (cron in UTC; an interval counts from "after")';

-- A running run's live progress (shared memory: its step's transaction is
-- still open); NULLs when no worker runs it now or the caller cannot see it.
CREATE FUNCTION mlops.job_run_live(run bigint, OUT progress double precision, OUT rows_processed bigint)
AS 'MODULE_PATHNAME', 'ml_job_run_live'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION mlops.job_run_live(bigint) IS
    'the live progress (0..1) and rows processed of a running job run, as its worker reports them';

CREATE VIEW @extschema@.ml_jobs WITH (security_invoker = true) AS
SELECT j.id, j.name, p.name AS project, j.kind, j.schedule, j.owner, j.active,
       j.command OPERATOR(pg_catalog.-) 'owner_oid' AS command, j.options, j.max_retries AS retries, j.backoff, j.timeout, j.statement_timeout,
       j.next_run_at, j.created_at
FROM mlops.jobs j
LEFT JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) j.project_id;
COMMENT ON VIEW @extschema@.ml_jobs IS 'jobs the current role owns (admins: all jobs)';

CREATE VIEW @extschema@.ml_job_runs WITH (security_invoker = true) AS
SELECT r.id AS run, r.job_id AS job, j.name AS job_name, p.name AS project, j.kind,
       r.attempt, r.status, r.trigger, r.requested_by, r.due_at, r.started_at, r.finished_at,
       -- an infinite time (an altered row) has no duration: subtracting it
       -- would fail the view for every reader; nor has a span past what an
       -- interval holds (2^63 microseconds, about 292,000 years), which
       -- PostgreSQL 15 would wrap into a wrong one
       CASE WHEN pg_catalog.isfinite(r.started_at) AND pg_catalog.isfinite(r.finished_at)
                 AND pg_catalog.abs(EXTRACT(epoch FROM r.finished_at) OPERATOR(pg_catalog.-)
                                    EXTRACT(epoch FROM r.started_at))
                     OPERATOR(pg_catalog.<) 9223372036854::pg_catalog.numeric
            THEN r.finished_at OPERATOR(pg_catalog.-) r.started_at END AS duration,
       COALESCE(l.rows_processed, r.rows_processed) AS rows_processed,
       COALESCE(l.progress, r.progress) AS progress, r.sqlstate, r.message, r.log, r.pid
FROM mlops.job_runs r
JOIN mlops.jobs j ON j.id OPERATOR(pg_catalog.=) r.job_id
LEFT JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) j.project_id
LEFT JOIN LATERAL mlops.job_run_live(CASE WHEN r.status OPERATOR(pg_catalog.=) 'running' THEN r.id END) l ON true;
COMMENT ON VIEW @extschema@.ml_job_runs IS 'runs of the jobs the current role owns: status, attempt, rows, error';

REVOKE ALL ON FUNCTION @extschema@.ml_schedule(text, text, text, jsonb),
    @extschema@.ml_run_now(bigint), @extschema@.ml_cancel(bigint),
    @extschema@.ml_unschedule(bigint), @extschema@.ml_alter_job(bigint, jsonb),
    mlops.schedule_next(text, timestamptz), mlops.job_run_live(bigint) FROM PUBLIC;
REVOKE ALL ON @extschema@.ml_jobs, @extschema@.ml_job_runs FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_schedule(text, text, text, jsonb),
    @extschema@.ml_cancel(bigint), @extschema@.ml_unschedule(bigint),
    @extschema@.ml_alter_job(bigint, jsonb), mlops.schedule_next(text, timestamptz)
    TO ml_engineer;
-- Analysts run their own projects' train and clean jobs on demand (the C
-- code checks the project and the kind).
GRANT EXECUTE ON FUNCTION @extschema@.ml_run_now(bigint) TO ml_analyst, ml_engineer;
-- Analysts cancel the runs they asked for (checked in C, as above).
GRANT EXECUTE ON FUNCTION @extschema@.ml_cancel(bigint) TO ml_analyst;
GRANT EXECUTE ON FUNCTION mlops.job_run_live(bigint) TO ml_engineer;
-- Engineers retrain: a train job runs ml_train as its owner, reading the rows
-- with the owner's privileges (ml_train checks the project).
GRANT EXECUTE ON FUNCTION @extschema@.ml_train(text, text, jsonb, jsonb) TO ml_engineer;
GRANT SELECT ON @extschema@.ml_jobs, @extschema@.ml_job_runs TO ml_engineer;
