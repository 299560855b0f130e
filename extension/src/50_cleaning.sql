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

CREATE FUNCTION @extschema@.ml_clean(
    relation regclass,
    options jsonb DEFAULT '{}',
    into_table text DEFAULT NULL)
RETURNS TABLE (column_name text, kind text, nulls_before bigint, nulls_after bigint,
               actions text, new_columns text, recipe_id bigint)
AS 'MODULE_PATHNAME', 'ml_clean'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_clean(regclass, jsonb, text) IS
    'the whole cleaning pipeline (duplicates, missing values, outliers, encoding, datetime parts, polish); returns a per-column report';
GRANT EXECUTE ON FUNCTION @extschema@.ml_clean(regclass, jsonb, text) TO ml_analyst;

-- Casts that give NULL instead of failing, used by the polish step so a
-- recipe never stops halfway through new data on one odd value.
CREATE FUNCTION mlops.try_cast_numeric(text) RETURNS numeric
AS 'MODULE_PATHNAME', 'ml_try_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mlops.try_cast_bool(text) RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_try_bool' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mlops.try_cast_timestamp(text) RETURNS timestamp
AS 'MODULE_PATHNAME', 'ml_try_timestamp' LANGUAGE C STABLE STRICT PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION mlops.try_cast_numeric(text), mlops.try_cast_bool(text),
    mlops.try_cast_timestamp(text) TO ml_analyst, ml_engineer;
-- The instant a timestamp text names, or NULL (0.4.0): a text column of
-- zoned times declared datetime is cast to it.
CREATE FUNCTION mlops.try_cast_timestamptz(text) RETURNS timestamptz
AS 'MODULE_PATHNAME', 'ml_try_timestamptz' LANGUAGE C STABLE STRICT PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION mlops.try_cast_timestamptz(text) TO ml_analyst, ml_engineer;
-- Integer casts that give NULL out of range (0.2.0).
CREATE FUNCTION mlops.try_cast_bigint(text) RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_try_bigint' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mlops.try_round_int8(numeric) RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_try_round_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mlops.try_round_int4(numeric) RETURNS integer
AS 'MODULE_PATHNAME', 'ml_try_round_int4' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION mlops.try_cast_bigint(text), mlops.try_round_int8(numeric),
    mlops.try_round_int4(numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.try_cast_bigint(text), mlops.try_round_int8(numeric),
    mlops.try_round_int4(numeric) TO ml_analyst, ml_engineer;

-- The cleaning reports, one row per column per run, for people and BI tools.
-- A metric of a metrics object as a number (also the BI views'): NULL when absent or not a
-- number (a JSON null, as non-finite metrics are stored), and NULL for a
-- number double precision cannot hold (a damaged row: 1e400 would be an
-- out-of-range error in every view and report that reads it).
CREATE FUNCTION mlops.metric_value(metrics jsonb, key text)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN pg_catalog.jsonb_typeof(metrics OPERATOR(pg_catalog.->) key) OPERATOR(pg_catalog.=) 'number'
            THEN CASE WHEN pg_catalog.abs((metrics OPERATOR(pg_catalog.->) key)::pg_catalog.numeric)
                           OPERATOR(pg_catalog.<=) 1.7976931348623157e308
                           AND (pg_catalog.abs((metrics OPERATOR(pg_catalog.->) key)::pg_catalog.numeric)
                                OPERATOR(pg_catalog.>=) 4.9406564584124654e-324
                                OR (metrics OPERATOR(pg_catalog.->) key)::pg_catalog.numeric OPERATOR(pg_catalog.=) 0)
                      THEN (metrics OPERATOR(pg_catalog.->>) key)::pg_catalog.float8 END END;
COMMENT ON FUNCTION mlops.metric_value(jsonb, text) IS
    'a metric of a metrics object as double precision; NULL when absent or not a number';

-- A count of a cleaning report's element as bigint: NULL when absent or not
-- a whole number (a damaged row: the view reads every recipe, and one such
-- element must not make it fail for every reader).
CREATE FUNCTION mlops.report_count(element jsonb, key text)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN (element OPERATOR(pg_catalog.->>) key) OPERATOR(pg_catalog.~) '^-?[0-9]{1,18}$'
            THEN (element OPERATOR(pg_catalog.->>) key)::pg_catalog.int8 END;
COMMENT ON FUNCTION mlops.report_count(jsonb, text) IS
    'a count of a cleaning report element as bigint; NULL when absent or not a whole number';
REVOKE ALL ON FUNCTION mlops.report_count(jsonb, text) FROM PUBLIC;
-- the view calls it as its reader
GRANT EXECUTE ON FUNCTION mlops.report_count(jsonb, text) TO ml_analyst, ml_engineer;

-- A statistic of a cleaning report's element as double precision: a JSON
-- number (NULL beyond double precision, as mlops.metric_value), or one of
-- the strings NaN, Infinity and -Infinity the report writes for those
-- values; NULL for anything else.
CREATE FUNCTION mlops.report_number(element jsonb, key text)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN (element OPERATOR(pg_catalog.->>) key) OPERATOR(pg_catalog.=) ANY ('{NaN,Infinity,-Infinity}'::pg_catalog.text[])
                 AND pg_catalog.jsonb_typeof(element OPERATOR(pg_catalog.->) key) OPERATOR(pg_catalog.=) 'string'
            THEN (element OPERATOR(pg_catalog.->>) key)::pg_catalog.float8
            ELSE mlops.metric_value(element, key) END;
COMMENT ON FUNCTION mlops.report_number(jsonb, text) IS
    'a statistic of a cleaning report element as double precision (NaN and infinities as the report writes them); NULL when unreadable';
REVOKE ALL ON FUNCTION mlops.report_number(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.report_number(jsonb, text) TO ml_analyst, ml_engineer;

CREATE VIEW @extschema@.ml_cleaning_report WITH (security_invoker = true) AS
SELECT r.id AS recipe_id, r.kind, r.created_by, r.created_at,
       pg_catalog.format('%I.%I', r.source_schema, r.source_name) AS relation,
       x."column" AS column_name, x.kind AS column_kind, x.nulls_before, x.filled, x.fill_method,
       x.fill_error, x.outliers, x.outlier_action, x.encoding, x."cast", x.new_columns,
       x.dropped, x.nulls_after, x.mean_before, x.mean_after, x.min_before, x.min_after,
       x.max_before, x.max_after
FROM mlops.recipes r
CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(
    CASE WHEN pg_catalog.jsonb_typeof(r.report) OPERATOR(pg_catalog.=) 'array' THEN r.report ELSE '[]' END) e
CROSS JOIN LATERAL (SELECT
    e OPERATOR(pg_catalog.->>) 'column' AS "column", e OPERATOR(pg_catalog.->>) 'kind' AS kind,
    mlops.report_count(e, 'nulls_before') AS nulls_before, mlops.report_count(e, 'filled') AS filled,
    e OPERATOR(pg_catalog.->>) 'fill_method' AS fill_method, mlops.report_number(e, 'fill_error') AS fill_error,
    mlops.report_count(e, 'outliers') AS outliers, e OPERATOR(pg_catalog.->>) 'outlier_action' AS outlier_action,
    e OPERATOR(pg_catalog.->>) 'encoding' AS encoding, e OPERATOR(pg_catalog.->>) 'cast' AS "cast",
    e OPERATOR(pg_catalog.->>) 'new_columns' AS new_columns,
    CASE WHEN pg_catalog.jsonb_typeof(e OPERATOR(pg_catalog.->) 'dropped') OPERATOR(pg_catalog.=) 'boolean'
         THEN (e OPERATOR(pg_catalog.->>) 'dropped')::pg_catalog.bool END AS dropped,
    mlops.report_count(e, 'nulls_after') AS nulls_after,
    mlops.report_number(e, 'mean_before') AS mean_before, mlops.report_number(e, 'mean_after') AS mean_after,
    mlops.report_number(e, 'min_before') AS min_before, mlops.report_number(e, 'min_after') AS min_after,
    mlops.report_number(e, 'max_before') AS max_before, mlops.report_number(e, 'max_after') AS max_after
    WHERE pg_catalog.jsonb_typeof(e) OPERATOR(pg_catalog.=) 'object') x
WHERE r.kind OPERATOR(pg_catalog.=) 'clean';
GRANT SELECT ON @extschema@.ml_cleaning_report TO ml_analyst, ml_engineer;

CREATE FUNCTION @extschema@.ml_apply_recipe(
    recipe bigint,
    relation regclass,
    into_table text DEFAULT NULL)
RETURNS TABLE (column_name text, kind text, nulls_before bigint, nulls_after bigint,
               actions text, new_columns text, recipe_id bigint)
AS 'MODULE_PATHNAME', 'ml_apply_recipe'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_apply_recipe(bigint, regclass, text) IS
    're-apply a stored cleaning or imputation recipe to new rows, without refitting';
GRANT EXECUTE ON FUNCTION @extschema@.ml_apply_recipe(bigint, regclass, text) TO ml_analyst, ml_engineer;

CREATE FUNCTION @extschema@.ml_import_csv(
    into_table text,
    path text DEFAULT NULL,
    data text DEFAULT NULL,
    options jsonb DEFAULT '{}')
RETURNS TABLE (line bigint, reason text, content text)
AS 'MODULE_PATHNAME', 'ml_import_csv'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_import_csv(text, text, text, jsonb) IS
    'CSV (a server file, or text) into a new table with inferred types; returns the rejected lines';
GRANT EXECUTE ON FUNCTION @extschema@.ml_import_csv(text, text, text, jsonb) TO ml_analyst;
