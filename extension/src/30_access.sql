-- Access rules, shared by the row-level security policies and the C code.
--
-- mlops.project_access(project) says how the calling role (CURRENT_USER)
-- reaches a project: 'owner' or 'member' (it may change it), 'admin' or
-- 'engineer' (it may see it), or NULL (it may not see it, or there is no
-- such project). It answers for the caller only, so nobody can ask it about
-- a hidden project or about another role. Written in C (src/core/catalog.c,
-- which asks the same question for the ml_* functions): SECURITY INVOKER,
-- it reads the catalog as the extension owner with a pinned search_path, so
-- the policies below do not recurse into their own policies.
CREATE FUNCTION mlops.project_access(project_id bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'ml_project_access'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION mlops.project_access(bigint) IS
    'how the calling role reaches a project: owner, member, admin, engineer or NULL';

ALTER TABLE mlops.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.project_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.recipes ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.models ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.deployments ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.job_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.audit_log ENABLE ROW LEVEL SECURITY;

-- Roles only ever read the catalog directly; every write goes through the
-- ml_* functions, which check the caller and then write as the extension
-- owner. So the policies are SELECT policies.
CREATE POLICY project_visible ON mlops.projects FOR SELECT
    USING (mlops.project_access(id) IS NOT NULL);
CREATE POLICY project_visible ON mlops.project_members FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);
CREATE POLICY project_visible ON mlops.models FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);
CREATE POLICY project_visible ON mlops.deployments FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);
CREATE POLICY project_visible ON mlops.reports FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL
           OR created_by OPERATOR(pg_catalog.=) CURRENT_USER);
-- Recipes are reusable across projects: visible to their creator, to
-- anyone who can see their project, and to admins.
-- A recipe holding source rows (KNN reference rows) is shown only to its
-- creator and to roles that may read the source relation: the relation it
-- was fitted on, by OID, still under its name (a table dropped and
-- re-created under the name is another relation; no OID, or an OID that
-- no longer has the name, as after a restore: denied).
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
CREATE POLICY job_visible ON mlops.jobs FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) CURRENT_USER
           OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE'));
CREATE POLICY job_visible ON mlops.job_runs FOR SELECT
    USING (EXISTS (SELECT 1 FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) job_id));
-- The audit trail: admins see everything, everyone else their own acts.
CREATE POLICY audit_visible ON mlops.audit_log FOR SELECT
    USING (actor OPERATOR(pg_catalog.=) CURRENT_USER
           OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE'));
