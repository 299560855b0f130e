
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
