-- Drift (0.3.0): every version records its training profile; every ml_score
-- batch logs its rows on the profile's bins; ml_drift compares the two over
-- a window (pg_mlops.drift_window) with the population stability index and
-- the change of the missing rate; thresholds raise alerts and can start a
-- retrain job. src/model/profile.c, scoring_log.c, drift.c; docs/drift.md.

ALTER TABLE mlops.models ADD COLUMN profile jsonb;
COMMENT ON COLUMN mlops.models.profile IS
    'training profile: per input feature bins and shares, missing rate; the predictions'' distribution (docs/drift.md)';

CREATE TABLE mlops.scoring_log (
    id          bigserial PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    model_id    bigint REFERENCES mlops.models (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    relation    text,
    rows        bigint NOT NULL CHECK (rows >= 0),
    scored_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    role        name NOT NULL,
    source      text NOT NULL DEFAULT 'ml_score' CHECK (source IN ('ml_score', 'ml_predict')),
    features    jsonb,
    prediction  jsonb
);
COMMENT ON TABLE mlops.scoring_log IS
    'one row per scored batch: rows per training bin and missing per feature, prediction bins';
COMMENT ON COLUMN mlops.scoring_log.features IS
    '{"feature": {"counts": [rows per training bin], "missing": n}, ...}; NULL: the version has no profile';
CREATE INDEX scoring_log_window ON mlops.scoring_log (project_id, scored_at);

CREATE TABLE mlops.drift_policies (
    project_id   bigint PRIMARY KEY REFERENCES mlops.projects (id) ON DELETE CASCADE,
    options      jsonb NOT NULL DEFAULT '{}',
    updated_by   name NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE mlops.drift_policies IS
    'per project drift thresholds and retrain job (ml_set_drift_policy): psi, missing_rate, min_rows, retrain_job';

CREATE TABLE mlops.drift_alerts (
    id                  bigserial PRIMARY KEY,
    project_id          bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    model_id            bigint REFERENCES mlops.models (id) ON DELETE CASCADE,
    version             integer NOT NULL,
    feature             text NOT NULL,
    psi                 double precision,
    missing_rate_train  double precision,
    missing_rate_scored double precision,
    missing_change      double precision,
    rows                bigint NOT NULL,
    window_start        timestamptz NOT NULL,
    window_end          timestamptz NOT NULL,
    psi_threshold       double precision NOT NULL,
    missing_threshold   double precision NOT NULL,
    raised_at           timestamptz NOT NULL DEFAULT pg_catalog.now(),
    raised_by           name NOT NULL,
    retrain_job         text,
    retrain_run         bigint,
    retrain_note        text
);
COMMENT ON TABLE mlops.drift_alerts IS
    'a feature of a deployed version over a drift threshold; at most one per feature and version within a window';
CREATE INDEX drift_alerts_model ON mlops.drift_alerts (model_id, feature, raised_at);

ALTER TABLE mlops.scoring_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.drift_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.drift_alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY project_visible ON mlops.scoring_log FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);
CREATE POLICY project_visible ON mlops.drift_policies FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);
CREATE POLICY project_visible ON mlops.drift_alerts FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);

-- The rows of ml_drift, computed in C (src/model/drift.c) for the deployed
-- versions the caller can see.
CREATE FUNCTION mlops.drift_rows()
RETURNS TABLE (project text, version integer, feature text, psi double precision,
               missing_rate_train double precision, missing_rate_scored double precision,
               rows_scored bigint, window_start timestamptz, window_end timestamptz,
               drifted boolean, bin_labels text[], train_share double precision[],
               scored_share double precision[])
AS 'MODULE_PATHNAME', 'ml_drift_rows'
LANGUAGE C STABLE;
COMMENT ON FUNCTION mlops.drift_rows() IS 'the rows of the ml_drift view';

CREATE VIEW @extschema@.ml_drift WITH (security_invoker = true) AS
SELECT project, version, feature, psi, missing_rate_train, missing_rate_scored, rows_scored,
       window_start, window_end, drifted, bin_labels, train_share, scored_share
FROM mlops.drift_rows();
COMMENT ON VIEW @extschema@.ml_drift IS
    'per deployed version and feature (and "(prediction)"): PSI and missing rates of the rows scored in pg_mlops.drift_window against the training profile';

CREATE FUNCTION @extschema@.ml_check_drift(project text)
RETURNS TABLE (project text, version integer, feature text, psi double precision,
               missing_rate_train double precision, missing_rate_scored double precision,
               rows_scored bigint, window_start timestamptz, window_end timestamptz,
               drifted boolean, bin_labels text[], train_share double precision[],
               scored_share double precision[], alert bigint)
AS 'MODULE_PATHNAME', 'ml_check_drift'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_check_drift(text) IS
    'drift of a project''s deployed version now; raises the alerts (and the retrain job) its thresholds call for';

CREATE FUNCTION @extschema@.ml_set_drift_policy(project text, options jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ml_set_drift_policy'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_set_drift_policy(text, jsonb) IS
    'set a project''s drift thresholds and retrain job ({"psi", "missing_rate", "min_rows", "retrain_job"}; null resets one); returns the policy';

CREATE VIEW @extschema@.ml_drift_alerts WITH (security_invoker = true) AS
SELECT a.id AS alert, p.name AS project, a.version, a.feature, a.psi,
       a.missing_rate_train, a.missing_rate_scored, a.missing_change, a.rows,
       a.window_start, a.window_end, a.psi_threshold, a.missing_threshold,
       a.raised_at, a.raised_by, a.retrain_job, a.retrain_run, a.retrain_note
FROM mlops.drift_alerts a
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) a.project_id;
COMMENT ON VIEW @extschema@.ml_drift_alerts IS
    'drift alerts of the projects the current role can see, with the retrain they started or why not';

REVOKE ALL ON FUNCTION mlops.drift_rows(), @extschema@.ml_check_drift(text),
    @extschema@.ml_set_drift_policy(text, jsonb) FROM PUBLIC;
REVOKE ALL ON mlops.scoring_log, mlops.drift_policies, mlops.drift_alerts,
    @extschema@.ml_drift, @extschema@.ml_drift_alerts FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.drift_rows(), @extschema@.ml_check_drift(text),
    @extschema@.ml_set_drift_policy(text, jsonb) TO ml_analyst, ml_engineer;
GRANT SELECT ON mlops.scoring_log, mlops.drift_policies, mlops.drift_alerts,
    @extschema@.ml_drift, @extschema@.ml_drift_alerts TO ml_analyst, ml_engineer;

SELECT pg_catalog.pg_extension_config_dump('mlops.scoring_log', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.scoring_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.drift_policies', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.drift_alerts', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.drift_alerts_id_seq', '');
