-- Projects' owners and members by role OID (0.3.0). Access follows the
-- role a project was created by or shared with, not its name: a role
-- dropped and re-created under the same name is another role and reaches
-- none of the old one's projects (src/core/catalog.c, access_query). The
-- names stay, for display. A project whose owner role no longer existed
-- when 0.3.0 was installed over 0.2.0 has no owner_oid: nobody owns it,
-- admins and engineers still see it and an admin may drop it.
ALTER TABLE mlops.projects ADD COLUMN owner_oid oid;
ALTER TABLE mlops.project_members ADD COLUMN member_oid oid NOT NULL;
-- Recipes' creators too (NULL: the creator no longer existed at the upgrade).
ALTER TABLE mlops.recipes ADD COLUMN created_by_oid oid;
COMMENT ON COLUMN mlops.projects.owner_oid IS 'the OID of the owner role (NULL: it no longer existed at the upgrade to 0.3.0)';
COMMENT ON COLUMN mlops.project_members.member_oid IS 'the OID of the member role';
COMMENT ON COLUMN mlops.recipes.created_by_oid IS 'the OID of the role that made the recipe';
-- Recipes: their creator by OID (a role re-created under the name of a
-- dropped one is not their creator; created_by stays for display).
DROP POLICY recipe_visible ON mlops.recipes;
CREATE POLICY recipe_visible ON mlops.recipes FOR SELECT
    USING ((created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
            OR mlops.project_access(project_id) IS NOT NULL
            OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE'))
           AND (NOT holds_rows
                OR created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
                OR (source_relid IS NOT NULL
                    AND (SELECT pc.oid FROM pg_catalog.pg_class pc JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) pc.relnamespace WHERE pn.nspname OPERATOR(pg_catalog.=) source_schema AND pc.relname OPERATOR(pg_catalog.=) source_name)::pg_catalog.oid
                        OPERATOR(pg_catalog.=) source_relid
                    AND COALESCE(pg_catalog.has_table_privilege(source_relid, 'SELECT'), false))));
-- Jobs: their owner by the OID it scheduled them with (command.owner_oid,
-- since 0.3.0), by name for older jobs.
DROP POLICY job_visible ON mlops.jobs;
CREATE POLICY job_visible ON mlops.jobs FOR SELECT
    USING (COALESCE(command OPERATOR(pg_catalog.->>) 'owner_oid' OPERATOR(pg_catalog.=)
                        (SELECT u.oid::pg_catalog.text FROM pg_catalog.pg_roles u
                         WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER),
                    owner OPERATOR(pg_catalog.=) CURRENT_USER)
           OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE'));

-- The audit trail: its actor by OID too (0.3.0). A role sees the entries
-- it made, not those of a dropped role whose name it now has (actor stays,
-- for display; NULL: the actor no longer existed at the upgrade).
ALTER TABLE mlops.audit_log ADD COLUMN actor_oid oid;
COMMENT ON COLUMN mlops.audit_log.actor_oid IS 'the OID of the acting role (NULL: it no longer existed at the upgrade to 0.3.0)';
DROP POLICY audit_visible ON mlops.audit_log;
CREATE POLICY audit_visible ON mlops.audit_log FOR SELECT
    USING (actor_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
           OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE'));
