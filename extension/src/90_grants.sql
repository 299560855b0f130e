-- Privileges. PUBLIC gets nothing; each role gets exactly the intended
-- matrix, which test/privileges.sql checks object by object.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mlops FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA mlops FROM PUBLIC;

GRANT USAGE ON SCHEMA mlops TO ml_analyst, ml_engineer, ml_admin, ml_consumer;
-- The access function is evaluated by the policies as the reader.
GRANT EXECUTE ON FUNCTION mlops.project_access(bigint) TO ml_analyst, ml_engineer, ml_admin;

-- Catalog: read-only through row-level security; writes only via ml_*.
GRANT SELECT ON mlops.projects, mlops.project_members, mlops.recipes, mlops.models,
                mlops.deployments, mlops.reports, mlops.audit_log
    TO ml_analyst, ml_engineer;
GRANT SELECT ON mlops.jobs, mlops.job_runs TO ml_engineer;

-- Analysts: projects, membership, hand-over.
DO $grants$
DECLARE
    f text;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure::text
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_depend d ON d.objid OPERATOR(pg_catalog.=) p.oid
        WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
          AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
          AND d.deptype OPERATOR(pg_catalog.=) 'e'
          AND d.refobjid OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_extension
                                                 WHERE extname OPERATOR(pg_catalog.=) 'pg_mlops')
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$grants$;

GRANT EXECUTE ON FUNCTION
    @extschema@.ml_create_project(text, regclass, text, text, text),
    @extschema@.ml_update_project(text, text, regclass, text, text, text),
    @extschema@.ml_add_member(text, regrole),
    @extschema@.ml_remove_member(text, regrole),
    @extschema@.ml_mark_ready(text, integer, text)
    TO ml_analyst;
GRANT EXECUTE ON FUNCTION @extschema@.ml_drop_project(text, boolean) TO ml_analyst, ml_engineer;
GRANT EXECUTE ON FUNCTION
    @extschema@.ml_deploy(text, integer, text),
    @extschema@.ml_rollback(text, text)
    TO ml_engineer;
GRANT SELECT ON @extschema@.ml_projects, @extschema@.ml_audit TO ml_analyst, ml_engineer;
