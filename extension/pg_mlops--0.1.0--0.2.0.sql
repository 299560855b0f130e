-- pg_mlops 0.1.0 -> 0.2.0 upgrade script (ALTER EXTENSION pg_mlops UPDATE).
\echo Use "ALTER EXTENSION pg_mlops UPDATE TO '0.2.0'" to load this file. \quit

-- Recipes holding source rows (KNN reference rows) are visible only to roles
-- that may read the source relation.
ALTER TABLE mlops.recipes
    ADD COLUMN holds_rows boolean GENERATED ALWAYS AS (steps @? '$.**.reference_y') STORED;
DROP POLICY recipe_visible ON mlops.recipes;
-- A recipe holding source rows (KNN reference rows) is shown only to its
-- creator and to roles that may read the source relation.
CREATE POLICY recipe_visible ON mlops.recipes FOR SELECT
    USING ((created_by OPERATOR(pg_catalog.=) CURRENT_USER
            OR mlops.project_access(project_id, CURRENT_USER) IS NOT NULL
            OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE'))
           AND (NOT holds_rows
                OR created_by OPERATOR(pg_catalog.=) CURRENT_USER
                OR COALESCE(pg_catalog.has_table_privilege(
                       pg_catalog.to_regclass(pg_catalog.format('%I.%I', source_schema, source_name)),
                       'SELECT'), false)));

-- Casts that never fail, also for whole numbers beyond the integer ranges
-- (the polish step and recipes replayed on new data).
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
