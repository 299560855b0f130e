-- Training and scoring (0.3.0).

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
