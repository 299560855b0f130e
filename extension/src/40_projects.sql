-- Project management API. Implemented in C (src/project.c): each function
-- checks the caller against mlops.project_access, then writes the catalog
-- as the extension owner with a pinned search_path, and audits the change.

CREATE FUNCTION @extschema@.ml_create_project(
    name text, relation regclass, target text,
    task text DEFAULT 'regression', description text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_create_project'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_create_project(text, regclass, text, text, text) IS
    'create a project on a relation, a target column and a task; returns its id';

CREATE FUNCTION @extschema@.ml_update_project(
    name text, new_name text DEFAULT NULL, relation regclass DEFAULT NULL,
    target text DEFAULT NULL, task text DEFAULT NULL, description text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_update_project'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_update_project(text, text, regclass, text, text, text) IS
    'rename a project or change its relation, target, task or description';

CREATE FUNCTION @extschema@.ml_drop_project(name text, force boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_drop_project'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_drop_project(text, boolean) IS
    'drop a project and its models; refused while a model is deployed unless an engineer or admin forces it';

CREATE FUNCTION @extschema@.ml_add_member(project text, member regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_add_member'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_add_member(text, regrole) IS
    'share a project with a role (owner or admin only)';

CREATE FUNCTION @extschema@.ml_remove_member(project text, member regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_remove_member'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_remove_member(text, regrole) IS
    'stop sharing a project with a role (owner or admin only)';

CREATE FUNCTION @extschema@.ml_mark_ready(project text, version integer, comment text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_mark_ready'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_mark_ready(text, integer, text) IS
    'analyst hand-over: mark a trained model version ready for deployment';

CREATE FUNCTION @extschema@.ml_deploy(project text, version integer DEFAULT NULL, reason text DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'ml_deploy'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_deploy(text, integer, text) IS
    'deploy a ready model version (default: the latest ready one); returns the deployed version';

CREATE FUNCTION @extschema@.ml_rollback(project text, reason text DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'ml_rollback'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_rollback(text, text) IS
    'redeploy the version that was live before the current one; returns it';

-- Views run with the caller's rights (security_invoker) so row-level
-- security applies to whoever reads them.
CREATE VIEW @extschema@.ml_projects WITH (security_invoker = true) AS
SELECT p.id,
       p.name,
       p.description,
       p.owner,
       pg_catalog.format('%I.%I', p.relation_schema, p.relation_name) AS relation,
       p.target,
       p.task,
       ARRAY(SELECT m.member FROM mlops.project_members m
             WHERE m.project_id OPERATOR(pg_catalog.=) p.id ORDER BY m.member) AS members,
       (SELECT pg_catalog.count(*) FROM mlops.models mo
        WHERE mo.project_id OPERATOR(pg_catalog.=) p.id) AS models,
       (SELECT mo.version FROM mlops.models mo
        WHERE mo.project_id OPERATOR(pg_catalog.=) p.id
          AND mo.status OPERATOR(pg_catalog.=) 'deployed') AS deployed_version,
       p.created_at,
       p.updated_at
FROM mlops.projects p;
COMMENT ON VIEW @extschema@.ml_projects IS 'projects the current role can see';

CREATE VIEW @extschema@.ml_audit WITH (security_invoker = true) AS
SELECT a.id, a.at, a.actor, a.action, a.object_type, a.object_name, a.project_id, a.details
FROM mlops.audit_log a;
COMMENT ON VIEW @extschema@.ml_audit IS 'audit trail: admins see all rows, others their own';
