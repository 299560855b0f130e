-- pg_mlops 0.2.0 -> 0.3.0 upgrade script (ALTER EXTENSION pg_mlops UPDATE).
\echo Use "ALTER EXTENSION pg_mlops UPDATE TO '0.3.0'" to load this file. \quit

-- Each change of 0.3.0 appends its own section below, in the order of the
-- install sources (extension/src/*.sql) it mirrors.

-- ---------------------------------------------------------------------------
-- Recipes remember their source relation by OID (20_catalog.sql), and the
-- policy recipe_visible (30_access.sql) matches it: a KNN recipe's reference
-- rows are not unlocked by a table dropped and re-created under the name.
-- Recipes stored before 0.3.0 are bound to the relation that has their
-- source's name now (the rule they were shown under until this upgrade).
ALTER TABLE mlops.recipes ADD COLUMN source_relid oid;
UPDATE mlops.recipes
   SET source_relid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', source_schema, source_name))::pg_catalog.oid
 WHERE source_schema IS NOT NULL AND source_name IS NOT NULL;
DROP POLICY recipe_visible ON mlops.recipes;
CREATE POLICY recipe_visible ON mlops.recipes FOR SELECT
    USING ((created_by OPERATOR(pg_catalog.=) CURRENT_USER
            OR mlops.project_access(project_id) IS NOT NULL
            OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE'))
           AND (NOT holds_rows
                OR created_by OPERATOR(pg_catalog.=) CURRENT_USER
                OR (source_relid IS NOT NULL
                    AND pg_catalog.to_regclass(pg_catalog.format('%I.%I', source_schema, source_name))::pg_catalog.oid
                        OPERATOR(pg_catalog.=) source_relid
                    AND COALESCE(pg_catalog.has_table_privilege(source_relid, 'SELECT'), false))));
