-- Cleaning and imputation (src/impute*.c, src/frame.c).

CREATE FUNCTION @extschema@.ml_impute(
    relation regclass,
    columns text[] DEFAULT NULL,
    method text DEFAULT 'auto',
    options jsonb DEFAULT '{}',
    into_table text DEFAULT NULL)
RETURNS TABLE (column_name text, filled bigint, method text, metric text,
               estimated_error double precision, recipe_id bigint)
AS 'MODULE_PATHNAME', 'ml_impute'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_impute(regclass, text[], text, jsonb, text) IS
    'fill missing cells in place (atomically) or into a new table; reports per column what was filled, how, and the error measured on held-out cells';

GRANT EXECUTE ON FUNCTION @extschema@.ml_impute(regclass, text[], text, jsonb, text) TO ml_analyst;
