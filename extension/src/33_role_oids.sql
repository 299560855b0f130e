-- Projects' owners and members by role OID (0.3.0). Access follows the
-- role a project was created by or shared with, not its name: a role
-- dropped and re-created under the same name is another role and reaches
-- none of the old one's projects (src/core/catalog.c, access_query). The
-- names stay, for display. A project whose owner role no longer existed
-- when 0.3.0 was installed over 0.2.0 has no owner_oid: nobody owns it,
-- admins and engineers still see it and an admin may drop it.
ALTER TABLE mlops.projects ADD COLUMN owner_oid oid;
ALTER TABLE mlops.project_members ADD COLUMN member_oid oid NOT NULL;
COMMENT ON COLUMN mlops.projects.owner_oid IS 'the OID of the owner role (NULL: it no longer existed at the upgrade to 0.3.0)';
COMMENT ON COLUMN mlops.project_members.member_oid IS 'the OID of the member role';
