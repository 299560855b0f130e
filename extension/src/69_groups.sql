-- Many-models: one model per group of key columns, stored as one version
-- (src/model/groups.c, src/model/grouped.c). ml_predict and ml_score route
-- every row to its group's model.
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
