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
