-- pg_mlops 0.1.0 -> 0.2.0 upgrade script (ALTER EXTENSION pg_mlops UPDATE).
\echo Use "ALTER EXTENSION pg_mlops UPDATE TO '0.2.0'" to load this file. \quit

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

-- Recipes holding source rows (KNN reference rows) are visible only to their
-- creator and to roles that may read the source relation (policy below).
ALTER TABLE mlops.recipes
    ADD COLUMN holds_rows boolean GENERATED ALWAYS AS (steps @? '$.**.reference_y') STORED;

-- Access (issue 6): mlops.project_access answers for the calling role only.
-- 0.1.0's project_access(bigint, name) was SECURITY DEFINER and answered for
-- any role, so an analyst could probe hidden projects and other roles'
-- access. Its replacement takes no role; the policies move to it, then the
-- old one goes.
CREATE FUNCTION mlops.project_access(project_id bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'ml_project_access'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION mlops.project_access(bigint) IS
    'how the calling role reaches a project: owner, member, admin, engineer or NULL';
REVOKE ALL ON FUNCTION mlops.project_access(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.project_access(bigint) TO ml_analyst, ml_engineer, ml_admin;

ALTER POLICY project_visible ON mlops.projects
    USING (mlops.project_access(id) IS NOT NULL);
ALTER POLICY project_visible ON mlops.project_members
    USING (mlops.project_access(project_id) IS NOT NULL);
ALTER POLICY project_visible ON mlops.models
    USING (mlops.project_access(project_id) IS NOT NULL);
ALTER POLICY project_visible ON mlops.deployments
    USING (mlops.project_access(project_id) IS NOT NULL);
ALTER POLICY project_visible ON mlops.reports
    USING (mlops.project_access(project_id) IS NOT NULL
           OR created_by OPERATOR(pg_catalog.=) CURRENT_USER);
ALTER POLICY recipe_visible ON mlops.recipes
    USING ((created_by OPERATOR(pg_catalog.=) CURRENT_USER
            OR mlops.project_access(project_id) IS NOT NULL
            OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE'))
           AND (NOT holds_rows
                OR created_by OPERATOR(pg_catalog.=) CURRENT_USER
                OR COALESCE(pg_catalog.has_table_privilege(
                       pg_catalog.to_regclass(pg_catalog.format('%I.%I', source_schema, source_name)),
                       'SELECT'), false)));

DROP FUNCTION mlops.project_access(bigint, name);
