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

-- ml_leaderboard, the versions ranked per project, is in 78_bi.sql with the
-- other views for BI tools.
REVOKE ALL ON @extschema@.ml_trials FROM PUBLIC;
GRANT SELECT ON @extschema@.ml_trials TO ml_analyst, ml_engineer;
