-- Access rules, shared by the row-level security policies and the C code.
--
-- mlops.project_access(project, role) says how a role reaches a project:
-- 'owner' or 'member' (it may change it), 'admin' or 'engineer' (it may see
-- it), or NULL (it may not see it). SECURITY DEFINER so the policies below
-- can read the catalog without recursing into their own policies.
CREATE FUNCTION mlops.project_access(project_id bigint, who name)
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                     WHERE r.rolname OPERATOR(pg_catalog.=) p.owner
                       AND pg_catalog.pg_has_role(who, r.oid, 'USAGE'))
            THEN 'owner'
        WHEN EXISTS (SELECT 1 FROM mlops.project_members m
                     JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) m.member
                     WHERE m.project_id OPERATOR(pg_catalog.=) p.id
                       AND pg_catalog.pg_has_role(who, r.oid, 'USAGE'))
            THEN 'member'
        WHEN pg_catalog.pg_has_role(who, 'ml_admin', 'USAGE') THEN 'admin'
        WHEN pg_catalog.pg_has_role(who, 'ml_engineer', 'USAGE') THEN 'engineer'
    END
    FROM mlops.projects p
    WHERE p.id OPERATOR(pg_catalog.=) project_access.project_id
$$;
COMMENT ON FUNCTION mlops.project_access(bigint, name) IS
    'how a role reaches a project: owner, member, admin, engineer or NULL';

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
    USING (mlops.project_access(id, CURRENT_USER) IS NOT NULL);
CREATE POLICY project_visible ON mlops.project_members FOR SELECT
    USING (mlops.project_access(project_id, CURRENT_USER) IS NOT NULL);
CREATE POLICY project_visible ON mlops.models FOR SELECT
    USING (mlops.project_access(project_id, CURRENT_USER) IS NOT NULL);
CREATE POLICY project_visible ON mlops.deployments FOR SELECT
    USING (mlops.project_access(project_id, CURRENT_USER) IS NOT NULL);
CREATE POLICY project_visible ON mlops.reports FOR SELECT
    USING (mlops.project_access(project_id, CURRENT_USER) IS NOT NULL
           OR created_by OPERATOR(pg_catalog.=) CURRENT_USER);
-- Recipes are reusable across projects: visible to their creator, to
-- anyone who can see their project, and to admins.
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
CREATE POLICY job_visible ON mlops.jobs FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) CURRENT_USER
           OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE'));
CREATE POLICY job_visible ON mlops.job_runs FOR SELECT
    USING (EXISTS (SELECT 1 FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) job_id));
-- The audit trail: admins see everything, everyone else their own acts.
CREATE POLICY audit_visible ON mlops.audit_log FOR SELECT
    USING (actor OPERATOR(pg_catalog.=) CURRENT_USER
           OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE'));
