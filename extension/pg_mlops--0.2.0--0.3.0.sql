-- pg_mlops 0.2.0 -> 0.3.0 upgrade script (ALTER EXTENSION pg_mlops UPDATE).
\echo Use "ALTER EXTENSION pg_mlops UPDATE TO '0.3.0'" to load this file. \quit

-- Each change of 0.3.0 appends its own section below, in the order of the
-- install sources (extension/src/*.sql) it mirrors.

-- ---------------------------------------------------------------------------
-- Recipes remember their source relation by OID (20_catalog.sql), and the
-- policy recipe_visible (30_access.sql) matches it: a KNN recipe's reference
-- rows are not unlocked by a table dropped and re-created under the name.
-- Recipes stored before 0.3.0 are bound to the relation that has their
-- source's name now (the rule they were shown under until this upgrade).
ALTER TABLE mlops.recipes ADD COLUMN source_relid oid;
UPDATE mlops.recipes
   SET source_relid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', source_schema, source_name))::pg_catalog.oid
 WHERE source_schema IS NOT NULL AND source_name IS NOT NULL;
DROP POLICY recipe_visible ON mlops.recipes;
CREATE POLICY recipe_visible ON mlops.recipes FOR SELECT
    USING ((created_by OPERATOR(pg_catalog.=) CURRENT_USER
            OR mlops.project_access(project_id) IS NOT NULL
            OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE'))
           AND (NOT holds_rows
                OR created_by OPERATOR(pg_catalog.=) CURRENT_USER
                OR (source_relid IS NOT NULL
                    AND pg_catalog.to_regclass(pg_catalog.format('%I.%I', source_schema, source_name))::pg_catalog.oid
                        OPERATOR(pg_catalog.=) source_relid
                    AND COALESCE(pg_catalog.has_table_privilege(source_relid, 'SELECT'), false))));

-- Training and scoring: the same statements as extension/src/60_training.sql.

-- What a version learned from and how (the payload holds the model itself).
ALTER TABLE mlops.models
    ADD COLUMN features jsonb,
    ADD COLUMN training jsonb,
    ADD COLUMN ready_comment text;
COMMENT ON COLUMN mlops.models.features IS 'the features the model reads: name, source column, kind';
COMMENT ON COLUMN mlops.models.training IS 'task, rows, split, skipped columns, classes, fit time';
COMMENT ON COLUMN mlops.models.ready_comment IS 'the analyst''s note when marking the version ready';

CREATE FUNCTION @extschema@.ml_train(
    project text,
    algorithm text DEFAULT 'auto',
    hyperparams jsonb DEFAULT '{}',
    options jsonb DEFAULT '{}')
RETURNS TABLE (version integer, algorithm text, metrics jsonb)
AS 'MODULE_PATHNAME', 'ml_train'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_train(text, text, jsonb, jsonb) IS
    'train, evaluate and store a new model version of a project';

-- Scoring reads the deployment: STABLE, not IMMUTABLE. PARALLEL RESTRICTED:
-- the catalog reads pin search_path, which parallel workers cannot.
CREATE FUNCTION @extschema@.ml_predict(project text, "row" anyelement)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ml_predict_row'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.ml_predict(project text, "row" jsonb)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ml_predict_json'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.ml_predict_label(project text, "row" anyelement)
RETURNS text
AS 'MODULE_PATHNAME', 'ml_predict_label_row'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.ml_predict_label(project text, "row" jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'ml_predict_label_json'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.ml_predict_proba(project text, "row" anyelement)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ml_predict_proba_row'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.ml_predict_proba(project text, "row" jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ml_predict_proba_json'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ml_predict(text, anyelement) IS
    'the deployed model''s prediction for a row (columns bound by name)';
COMMENT ON FUNCTION @extschema@.ml_predict(text, jsonb) IS
    'the deployed model''s prediction for a jsonb object of column values';
COMMENT ON FUNCTION @extschema@.ml_predict_label(text, anyelement) IS
    'the deployed classifier''s label for a row';
COMMENT ON FUNCTION @extschema@.ml_predict_label(text, jsonb) IS
    'the deployed classifier''s label for a jsonb object of column values';
COMMENT ON FUNCTION @extschema@.ml_predict_proba(text, anyelement) IS
    'the deployed classifier''s probability per class for a row';
COMMENT ON FUNCTION @extschema@.ml_predict_proba(text, jsonb) IS
    'the deployed classifier''s probability per class for a jsonb object';

-- ml_score's per-row functions, with the version pinned by model id.
CREATE FUNCTION mlops.score_value(project text, model bigint, "row" anyelement)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ml_score_value'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION mlops.score_label(project text, model bigint, "row" anyelement)
RETURNS text
AS 'MODULE_PATHNAME', 'ml_score_label'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION mlops.score_proba(project text, model bigint, "row" anyelement)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ml_score_proba'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.ml_score(project text, relation regclass, into_table text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_score'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_score(text, regclass, text) IS
    'score every row of a relation with the deployed model into a new table; returns the row count';

-- Model versions without their payload, as the reader may see them.
CREATE VIEW @extschema@.ml_models WITH (security_invoker = true) AS
SELECT p.name AS project, m.version, m.algorithm, m.status, m.ready_comment, m.metrics, m.hyperparameters,
       m.features, m.training, m.training_relation, m.row_count, m.data_fingerprint,
       m.created_by, m.created_at
FROM mlops.models m
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) m.project_id;
COMMENT ON VIEW @extschema@.ml_models IS 'model versions: metrics, features, lineage (no payload)';

REVOKE ALL ON FUNCTION @extschema@.ml_train(text, text, jsonb, jsonb),
    @extschema@.ml_predict(text, anyelement), @extschema@.ml_predict(text, jsonb),
    @extschema@.ml_predict_label(text, anyelement), @extschema@.ml_predict_label(text, jsonb),
    @extschema@.ml_predict_proba(text, anyelement), @extschema@.ml_predict_proba(text, jsonb),
    mlops.score_value(text, bigint, anyelement), mlops.score_label(text, bigint, anyelement),
    mlops.score_proba(text, bigint, anyelement),
    @extschema@.ml_score(text, regclass, text) FROM PUBLIC;
REVOKE ALL ON @extschema@.ml_models FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_train(text, text, jsonb, jsonb) TO ml_analyst;
GRANT EXECUTE ON FUNCTION
    @extschema@.ml_predict(text, anyelement), @extschema@.ml_predict(text, jsonb),
    @extschema@.ml_predict_label(text, anyelement), @extschema@.ml_predict_label(text, jsonb),
    @extschema@.ml_predict_proba(text, anyelement), @extschema@.ml_predict_proba(text, jsonb),
    mlops.score_value(text, bigint, anyelement), mlops.score_label(text, bigint, anyelement),
    mlops.score_proba(text, bigint, anyelement),
    @extschema@.ml_score(text, regclass, text)
    TO ml_analyst, ml_engineer;
GRANT SELECT ON @extschema@.ml_models TO ml_analyst, ml_engineer;

-- Linear fits as a parallel aggregate (extension/src/65_training_aggregates.sql).
CREATE FUNCTION mlops.ml_gram_sfunc(internal, float8, float8[]) RETURNS internal
AS 'MODULE_PATHNAME', 'ml_gram_sfunc' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION mlops.ml_gram_combine(internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'ml_gram_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION mlops.ml_gram_serialize(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'ml_gram_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION mlops.ml_gram_deserialize(bytea, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'ml_gram_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE AGGREGATE mlops.ml_gram_agg(y float8, x float8[]) (
    SFUNC = mlops.ml_gram_sfunc,
    STYPE = internal,
    FINALFUNC = mlops.ml_gram_serialize,
    COMBINEFUNC = mlops.ml_gram_combine,
    SERIALFUNC = mlops.ml_gram_serialize,
    DESERIALFUNC = mlops.ml_gram_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlops.ml_gram_agg(float8, float8[]) IS
    'centred moments of (x, y) for a linear fit (parallel); solve with mlops.ml_linear_solve';
CREATE FUNCTION mlops.ml_linear_solve(state bytea, alpha float8 DEFAULT 0,
                                      fit_intercept boolean DEFAULT true) RETURNS float8[]
AS 'MODULE_PATHNAME', 'ml_linear_solve' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.ml_linear_solve(bytea, float8, boolean) IS
    '{intercept, coef_1, ..., coef_p} of least squares (alpha 0) or ridge on a mlops.ml_gram_agg state';
REVOKE ALL ON FUNCTION mlops.ml_gram_sfunc(internal, float8, float8[]),
    mlops.ml_gram_combine(internal, internal), mlops.ml_gram_serialize(internal),
    mlops.ml_gram_deserialize(bytea, internal), mlops.ml_gram_agg(float8, float8[]),
    mlops.ml_linear_solve(bytea, float8, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.ml_gram_agg(float8, float8[]),
    mlops.ml_linear_solve(bytea, float8, boolean) TO ml_analyst, ml_engineer;

-- Deployment strategies, and the metrics a version had when it went live.
ALTER TABLE mlops.deployments ADD COLUMN metrics jsonb;
COMMENT ON COLUMN mlops.deployments.metrics IS 'the deployed version''s metrics at that moment';
CREATE FUNCTION @extschema@.ml_deploy(project text, strategy text, reason text DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'ml_deploy_strategy'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_deploy(text, text, text) IS
    'deploy the ready version a strategy picks (best_score, most_recent); returns it';
REVOKE ALL ON FUNCTION @extschema@.ml_deploy(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_deploy(text, text, text) TO ml_engineer;

-- ml_mark_ready takes an optional comment (kept in mlops.models.ready_comment).
DROP FUNCTION @extschema@.ml_mark_ready(text, integer);
CREATE FUNCTION @extschema@.ml_mark_ready(project text, version integer, comment text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_mark_ready'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_mark_ready(text, integer, text) IS
    'analyst hand-over: mark a trained model version ready for deployment';
REVOKE ALL ON FUNCTION @extschema@.ml_mark_ready(text, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_mark_ready(text, integer, text) TO ml_analyst;

-- Evaluation (0.3.0): a stored version's metrics on any labelled relation,
-- read as the caller.
CREATE FUNCTION @extschema@.ml_evaluate(project text, version integer, relation regclass,
                                        options jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ml_evaluate'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_evaluate(text, integer, regclass, jsonb) IS
    'score a labelled relation with a stored model version; returns the task''s metrics and row counts';
REVOKE ALL ON FUNCTION @extschema@.ml_evaluate(text, integer, regclass, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_evaluate(text, integer, regclass, jsonb)
    TO ml_analyst, ml_engineer;

-- The search of ml_train(project, 'auto') (0.3.0): every trial it ran, and
-- a leaderboard of the versions.

-- One row per configuration and rung of a search, written in the
-- transaction that stores the version the search chose (a failed ml_train
-- leaves none). status: completed (scored; went on to the next rung or
-- reached the last one), pruned (scored, not among the best third of its
-- rung), failed (the fit raised an error: error holds its message).
CREATE TABLE mlops.trials (
    id              bigserial PRIMARY KEY,
    project_id      bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    model_id        bigint REFERENCES mlops.models (id) ON DELETE CASCADE,
    version         integer NOT NULL,
    trial           integer NOT NULL CHECK (trial > 0),
    rung            integer NOT NULL CHECK (rung > 0),
    algorithm       text NOT NULL,
    hyperparameters jsonb NOT NULL DEFAULT '{}',
    train_rows      bigint NOT NULL,
    fraction        double precision NOT NULL,
    metric          text NOT NULL CHECK (metric IN ('rmse', 'accuracy')),
    fold_scores     double precision[],
    score           double precision,
    fit_seconds     double precision NOT NULL,
    status          text NOT NULL CHECK (status IN ('completed', 'pruned', 'failed')),
    error           text,
    chosen          boolean NOT NULL DEFAULT false,
    UNIQUE (project_id, version, trial, rung)
);
COMMENT ON TABLE mlops.trials IS 'the configurations ml_train''s auto search tried, per rung, with their cross-validated scores';
ALTER TABLE mlops.trials ENABLE ROW LEVEL SECURITY;
CREATE POLICY project_visible ON mlops.trials FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);
REVOKE ALL ON mlops.trials FROM PUBLIC;
REVOKE ALL ON SEQUENCE mlops.trials_id_seq FROM PUBLIC;
GRANT SELECT ON mlops.trials TO ml_analyst, ml_engineer;
SELECT pg_catalog.pg_extension_config_dump('mlops.trials', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.trials_id_seq', '');

-- The trials of each search, as the reader may see them.
CREATE VIEW @extschema@.ml_trials WITH (security_invoker = true) AS
SELECT p.name AS project, t.version, t.trial, t.rung, t.algorithm, t.hyperparameters,
       t.train_rows, t.fraction, t.metric, t.fold_scores, t.score, t.fit_seconds,
       t.status, t.error, t.chosen
FROM mlops.trials t
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) t.project_id;
COMMENT ON VIEW @extschema@.ml_trials IS 'every trial of ml_train''s auto search, per project and version';

-- Versions ranked within their project by the task's primary metric on
-- held-out rows: rmse (lowest first) for regression, accuracy (highest
-- first) for classification; cross-validated figures where the version has
-- no held-out ones. Versions without the metric (clustering, or a value
-- that is not a number) rank last.
CREATE VIEW @extschema@.ml_leaderboard WITH (security_invoker = true) AS
SELECT s.project, s.version, s.algorithm, s.hyperparameters, s.metric, s.value,
       pg_catalog.rank() OVER (PARTITION BY s.project
                               ORDER BY CASE WHEN s.metric OPERATOR(pg_catalog.=) 'rmse'
                                             THEN s.value ELSE OPERATOR(pg_catalog.-) s.value END
                                        ASC NULLS LAST) AS rank,
       s.status, s.status OPERATOR(pg_catalog.=) 'deployed' AS is_deployed
FROM (SELECT p.name AS project, m.version, m.algorithm, m.hyperparameters, m.status,
             CASE WHEN p.task OPERATOR(pg_catalog.=) 'classification' THEN 'accuracy' ELSE 'rmse' END AS metric,
             mlops.try_cast_numeric(CASE WHEN p.task OPERATOR(pg_catalog.=) 'classification'
                                         THEN COALESCE(m.metrics OPERATOR(pg_catalog.->>) 'accuracy',
                                                       m.metrics OPERATOR(pg_catalog.->>) 'cv_accuracy')
                                         ELSE COALESCE(m.metrics OPERATOR(pg_catalog.->>) 'rmse',
                                                       m.metrics OPERATOR(pg_catalog.->>) 'cv_rmse') END)
                 ::double precision AS value
      FROM mlops.models m
      JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) m.project_id) s;
COMMENT ON VIEW @extschema@.ml_leaderboard IS 'model versions ranked within their project by the primary metric';
REVOKE ALL ON @extschema@.ml_trials, @extschema@.ml_leaderboard FROM PUBLIC;
GRANT SELECT ON @extschema@.ml_trials, @extschema@.ml_leaderboard TO ml_analyst, ml_engineer;

-- Export: a stored model version as a PMML 4.4 document.
CREATE FUNCTION @extschema@.ml_export_pmml(project text, version integer)
RETURNS xml
AS 'MODULE_PATHNAME', 'ml_export_pmml'
LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.ml_export_pmml(text, integer) IS
    'a model version as a PMML 4.4 document (linear, ridge, lasso, elastic_net, logistic, gbdt, random_forest)';
REVOKE ALL ON FUNCTION @extschema@.ml_export_pmml(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_export_pmml(text, integer) TO ml_analyst, ml_engineer;

-- Forecasting (0.3.0): projects of task 'forecast', one Prophet-style
-- model per series stored as one version (algorithm 'prophet_ridge').
ALTER TABLE mlops.projects DROP CONSTRAINT projects_task_check;
ALTER TABLE mlops.projects ADD CONSTRAINT projects_task_check
    CHECK (task IN ('regression', 'classification', 'forecast'));

CREATE FUNCTION @extschema@.ml_forecast_train(
    project text,
    time_column text,
    series_by text[] DEFAULT NULL,
    options jsonb DEFAULT '{}')
RETURNS TABLE (version integer, series bigint, metrics jsonb)
AS 'MODULE_PATHNAME', 'ml_forecast_train'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_forecast_train(text, text, text[], jsonb) IS
    'fit one trend + seasonality model per series of a forecast project and store them as a new version';

CREATE FUNCTION @extschema@.ml_forecast(project text, horizon integer, version integer DEFAULT NULL)
RETURNS TABLE (series jsonb, ts timestamptz, forecast double precision,
               lower double precision, upper double precision)
AS 'MODULE_PATHNAME', 'ml_forecast'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000;
COMMENT ON FUNCTION @extschema@.ml_forecast(text, integer, integer) IS
    'the next horizon steps of every series, with an interval, from the deployed (or a given) version';

REVOKE ALL ON FUNCTION @extschema@.ml_forecast_train(text, text, text[], jsonb),
    @extschema@.ml_forecast(text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_forecast_train(text, text, text[], jsonb) TO ml_analyst;
GRANT EXECUTE ON FUNCTION @extschema@.ml_forecast(text, integer, integer) TO ml_analyst, ml_engineer;

-- ---------------------------------------------------------------------------
-- Jobs: the same statements as extension/src/70_jobs.sql.

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
       r.finished_at OPERATOR(pg_catalog.-) r.started_at AS duration,
       r.rows_processed, r.progress, r.sqlstate, r.message, r.log, r.pid
FROM mlops.job_runs r
JOIN mlops.jobs j ON j.id OPERATOR(pg_catalog.=) r.job_id
LEFT JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) j.project_id;
COMMENT ON VIEW @extschema@.ml_job_runs IS 'runs of the jobs the current role owns: status, attempt, rows, error';

REVOKE ALL ON FUNCTION @extschema@.ml_schedule(text, text, text, jsonb),
    @extschema@.ml_run_now(bigint), @extschema@.ml_cancel(bigint),
    @extschema@.ml_unschedule(bigint), @extschema@.ml_alter_job(bigint, jsonb),
    mlops.schedule_next(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON @extschema@.ml_jobs, @extschema@.ml_job_runs FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_schedule(text, text, text, jsonb),
    @extschema@.ml_cancel(bigint), @extschema@.ml_unschedule(bigint),
    @extschema@.ml_alter_job(bigint, jsonb), mlops.schedule_next(text, timestamptz)
    TO ml_engineer;
-- Analysts run their own projects' train and clean jobs on demand (the C
-- code checks the project and the kind).
GRANT EXECUTE ON FUNCTION @extschema@.ml_run_now(bigint) TO ml_analyst, ml_engineer;
GRANT SELECT ON @extschema@.ml_jobs, @extschema@.ml_job_runs TO ml_engineer;

-- Workflows (0.3.0): ordered steps (import, clean, train, evaluate, gate,
-- deploy, score, report) run by a job of kind 'workflow' (src/jobs/workflow*.c).
-- Each step of a run is a row of mlops.job_run_steps, committed when the
-- step ends, so a failed run resumes from its failed step.

CREATE TABLE mlops.workflows (
    id                     bigserial PRIMARY KEY,
    project_id             bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    name                   text NOT NULL,
    steps                  jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(steps) OPERATOR(pg_catalog.=) 'array'),
    auto_deploy            boolean NOT NULL DEFAULT false,
    auto_deploy_allowed_by name,
    auto_deploy_allowed_at timestamptz,
    created_by             name NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (project_id, name)
);
COMMENT ON TABLE mlops.workflows IS 'ordered steps run by workflow jobs; steps are validated and normalised at creation';
COMMENT ON COLUMN mlops.workflows.auto_deploy IS 'an engineer allowed the deploy step to deploy a gated version (ml_allow_auto_deploy)';

CREATE TABLE mlops.job_run_steps (
    run_id      bigint NOT NULL REFERENCES mlops.job_runs (id) ON DELETE CASCADE,
    step_no     integer NOT NULL CHECK (step_no > 0),
    workflow_id bigint REFERENCES mlops.workflows (id) ON DELETE SET NULL,
    kind        text NOT NULL,
    status      text NOT NULL
                CHECK (status IN ('running', 'succeeded', 'failed', 'rejected', 'refused', 'skipped', 'carried')),
    started_at  timestamptz,
    finished_at timestamptz,
    message     text,
    details     jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, step_no)
);
COMMENT ON TABLE mlops.job_run_steps IS 'one row per step of a workflow run; carried rows are results kept from the run it resumed';

ALTER TABLE mlops.jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE mlops.jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('train', 'score', 'report', 'clean', 'sql', 'workflow'));
ALTER TABLE mlops.job_runs
    ADD COLUMN from_start boolean NOT NULL DEFAULT false,
    ADD COLUMN resumed_from bigint;
COMMENT ON COLUMN mlops.job_runs.from_start IS 'ml_run_now(job, restart => true): a workflow run that does not resume';
COMMENT ON COLUMN mlops.job_runs.resumed_from IS 'the failed run whose completed steps this workflow run carried over';

ALTER TABLE mlops.workflows ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.job_run_steps ENABLE ROW LEVEL SECURITY;
CREATE POLICY project_visible ON mlops.workflows FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);
CREATE POLICY job_visible ON mlops.job_run_steps FOR SELECT
    USING (EXISTS (SELECT 1 FROM mlops.job_runs r WHERE r.id OPERATOR(pg_catalog.=) run_id));

CREATE FUNCTION @extschema@.ml_create_workflow(project text, name text, steps jsonb)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_create_workflow'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_create_workflow(text, text, jsonb) IS
    'define a workflow of ordered steps (import, clean, train, evaluate, gate, deploy, score, report); returns its id';

CREATE FUNCTION @extschema@.ml_allow_auto_deploy(project text, workflow text, allowed boolean DEFAULT true)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_allow_auto_deploy'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_allow_auto_deploy(text, text, boolean) IS
    'allow (or forbid) a workflow''s deploy step to deploy the version its gate passed (engineers)';

CREATE FUNCTION @extschema@.ml_drop_workflow(project text, name text)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_drop_workflow'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_drop_workflow(text, text) IS
    'remove a workflow no job uses';

CREATE FUNCTION @extschema@.ml_run_now(job bigint, restart boolean)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_run_now'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_run_now(bigint, boolean) IS
    'queue a run of a job now; restart true: a workflow starts at its first step instead of resuming a failed run';

CREATE VIEW @extschema@.ml_workflows WITH (security_invoker = true) AS
SELECT w.id, p.name AS project, w.name, w.steps,
       pg_catalog.jsonb_array_length(w.steps) AS step_count,
       w.auto_deploy, w.auto_deploy_allowed_by, w.auto_deploy_allowed_at, w.created_by, w.created_at
FROM mlops.workflows w
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) w.project_id;
COMMENT ON VIEW @extschema@.ml_workflows IS 'workflows of the projects the current role can see';

-- A step left 'running' by a run that ended without recording it (its
-- worker was terminated, the server restarted) is shown as failed.
CREATE VIEW @extschema@.ml_job_run_steps WITH (security_invoker = true) AS
SELECT s.run_id AS run, r.job_id AS job, s.step_no AS step, s.kind,
       CASE WHEN s.status OPERATOR(pg_catalog.=) 'running'
                 AND r.status OPERATOR(pg_catalog.<>) ALL (ARRAY['queued', 'running'])
            THEN 'failed' ELSE s.status END AS status,
       s.started_at, s.finished_at, s.message, s.details
FROM mlops.job_run_steps s
JOIN mlops.job_runs r ON r.id OPERATOR(pg_catalog.=) s.run_id;
COMMENT ON VIEW @extschema@.ml_job_run_steps IS 'the steps of workflow runs of the jobs the current role owns';

REVOKE ALL ON FUNCTION @extschema@.ml_create_workflow(text, text, jsonb),
    @extschema@.ml_allow_auto_deploy(text, text, boolean),
    @extschema@.ml_drop_workflow(text, text),
    @extschema@.ml_run_now(bigint, boolean) FROM PUBLIC;
REVOKE ALL ON mlops.workflows, mlops.job_run_steps, @extschema@.ml_workflows,
    @extschema@.ml_job_run_steps FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_create_workflow(text, text, jsonb),
    @extschema@.ml_drop_workflow(text, text),
    @extschema@.ml_run_now(bigint, boolean) TO ml_analyst, ml_engineer;
GRANT EXECUTE ON FUNCTION @extschema@.ml_allow_auto_deploy(text, text, boolean) TO ml_engineer;
GRANT SELECT ON mlops.workflows, @extschema@.ml_workflows TO ml_analyst, ml_engineer;
GRANT SELECT ON mlops.job_run_steps, @extschema@.ml_job_run_steps TO ml_engineer;

SELECT pg_catalog.pg_extension_config_dump('mlops.workflows', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.workflows_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.job_run_steps', '');

-- Many-models (issue 8): ml_train_groups
CREATE FUNCTION @extschema@.ml_train_groups(
    project text,
    group_by text[],
    algorithm text DEFAULT 'auto',
    hyperparams jsonb DEFAULT '{}',
    options jsonb DEFAULT '{}')
RETURNS TABLE (version integer, groups integer, metrics jsonb)
AS 'MODULE_PATHNAME', 'ml_train_groups'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_train_groups(text, text[], text, jsonb, jsonb) IS
    'fit one model per group of the key columns and store them as one new version';

REVOKE ALL ON FUNCTION @extschema@.ml_train_groups(text, text[], text, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_train_groups(text, text[], text, jsonb, jsonb) TO ml_analyst;
