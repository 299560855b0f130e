-- pg_mlops install script, generated from extension/src/*.sql by the Makefile.
-- Do not edit the generated file; edit the sources and rebuild.

\echo Use "CREATE EXTENSION pg_mlops" to load this file. \quit

-- The SQL API (ml_* functions and views) lives in the extension schema
-- (@extschema@, normally public) so analysts can call ml_impute('orders')
-- without a prefix; the catalog lives in its own schema "mlops".
CREATE SCHEMA mlops;
COMMENT ON SCHEMA mlops IS 'pg_mlops catalog: projects, recipes, models, deployments, jobs, reports, audit log';
REVOKE ALL ON SCHEMA mlops FROM PUBLIC;
-- Group roles are cluster-wide: they may already exist because the
-- extension was created in another database of the same cluster, so
-- create only the missing ones and never drop them with the extension.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ml_consumer', 'ml_analyst', 'ml_engineer', 'ml_admin']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    -- Engineers expose scoring, so they can score themselves; admins can
    -- act as analysts and engineers.
    IF NOT pg_catalog.pg_has_role('ml_engineer', 'ml_consumer', 'MEMBER') THEN
        GRANT ml_consumer TO ml_engineer;
    END IF;
    IF NOT pg_catalog.pg_has_role('ml_admin', 'ml_analyst', 'MEMBER') THEN
        GRANT ml_analyst TO ml_admin;
    END IF;
    IF NOT pg_catalog.pg_has_role('ml_admin', 'ml_engineer', 'MEMBER') THEN
        GRANT ml_engineer TO ml_admin;
    END IF;
END
$roles$;
-- The catalog. Every table that holds user data is registered with
-- pg_extension_config_dump (in 90_dump.sql) so pg_dump keeps its rows.
-- Relations are stored by schema and name (not regclass) so rows survive
-- dump/restore and pg_upgrade; role names as "name", like pg_cron.

CREATE TABLE mlops.projects (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (name OPERATOR(pg_catalog.<>) ''),
    description     text,
    owner           name NOT NULL,
    relation_schema name NOT NULL,
    relation_name   name NOT NULL,
    target          name NOT NULL,
    task            text NOT NULL CHECK (task IN ('regression', 'classification')),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE mlops.projects IS 'ML projects: a source relation, a target column and a task';

CREATE TABLE mlops.project_members (
    project_id  bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    member      name NOT NULL,
    added_by    name NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (project_id, member)
);
COMMENT ON TABLE mlops.project_members IS 'roles that share a project with its owner';

CREATE TABLE mlops.recipes (
    id              bigserial PRIMARY KEY,
    name            text UNIQUE,
    project_id      bigint REFERENCES mlops.projects (id) ON DELETE SET NULL,
    source_schema   name,
    source_name     name,
    kind            text NOT NULL DEFAULT 'clean' CHECK (kind IN ('clean', 'impute')),
    options         jsonb NOT NULL DEFAULT '{}',
    steps           jsonb NOT NULL DEFAULT '[]',
    report          jsonb,
    format_version  integer NOT NULL DEFAULT 1,
    created_by      name NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- KNN models carry reference rows of the source: such a recipe is shown
    -- only to roles that may read the source (policy recipe_visible)
    holds_rows      boolean GENERATED ALWAYS AS (steps @? '$.**.reference_y') STORED
);
COMMENT ON TABLE mlops.recipes IS 'fitted cleaning steps, reusable on new data and across projects';

CREATE TABLE mlops.models (
    id                bigserial PRIMARY KEY,
    project_id        bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    version           integer NOT NULL CHECK (version > 0),
    algorithm         text NOT NULL,
    hyperparameters   jsonb NOT NULL DEFAULT '{}',
    metrics           jsonb NOT NULL DEFAULT '{}',
    payload           bytea,
    payload_format    integer NOT NULL DEFAULT 1,
    training_relation text,
    row_count         bigint,
    data_fingerprint  text,
    recipe_id         bigint REFERENCES mlops.recipes (id) ON DELETE SET NULL,
    status            text NOT NULL DEFAULT 'trained'
                      CHECK (status IN ('trained', 'ready', 'deployed', 'retired')),
    created_by        name NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (project_id, version)
);
COMMENT ON TABLE mlops.models IS 'trained model versions; payload is a versioned binary (magic + format version)';
-- At most one deployed version per project.
CREATE UNIQUE INDEX models_one_deployed ON mlops.models (project_id) WHERE status = 'deployed';

CREATE TABLE mlops.deployments (
    id           bigserial PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    model_id     bigint REFERENCES mlops.models (id) ON DELETE SET NULL,
    version      integer NOT NULL,
    from_version integer,
    action       text NOT NULL CHECK (action IN ('deploy', 'rollback')),
    deployed_by  name NOT NULL,
    deployed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    reason       text
);
COMMENT ON TABLE mlops.deployments IS 'deployment history: which version went live, who, when and why';

CREATE TABLE mlops.jobs (
    id           bigserial PRIMARY KEY,
    project_id   bigint REFERENCES mlops.projects (id) ON DELETE CASCADE,
    name         text NOT NULL UNIQUE,
    kind         text NOT NULL CHECK (kind IN ('train', 'score', 'report', 'clean', 'sql')),
    schedule     text NOT NULL,
    command      jsonb NOT NULL DEFAULT '{}',
    owner        name NOT NULL,
    active       boolean NOT NULL DEFAULT true,
    max_retries  integer NOT NULL DEFAULT 0 CHECK (max_retries >= 0),
    timeout      interval,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE mlops.jobs IS 'scheduled work (retraining, batch scoring, report publishing); runs as its owner';

CREATE TABLE mlops.job_runs (
    id           bigserial PRIMARY KEY,
    job_id       bigint NOT NULL REFERENCES mlops.jobs (id) ON DELETE CASCADE,
    attempt      integer NOT NULL DEFAULT 1,
    status       text NOT NULL DEFAULT 'scheduled'
                 CHECK (status IN ('scheduled', 'running', 'succeeded', 'failed', 'cancelled')),
    pid          integer,
    started_at   timestamptz,
    finished_at  timestamptz,
    message      text
);
COMMENT ON TABLE mlops.job_runs IS 'one row per job execution';

CREATE TABLE mlops.reports (
    id           bigserial PRIMARY KEY,
    project_id   bigint REFERENCES mlops.projects (id) ON DELETE CASCADE,
    model_id     bigint REFERENCES mlops.models (id) ON DELETE SET NULL,
    recipe_id    bigint REFERENCES mlops.recipes (id) ON DELETE SET NULL,
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('cleaning', 'evaluation', 'drift', 'custom')),
    content      jsonb NOT NULL DEFAULT '{}',
    html         text,
    published    boolean NOT NULL DEFAULT false,
    created_by   name NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE mlops.reports IS 'cleaning and evaluation reports, published to consumers through views';

CREATE TABLE mlops.audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    actor        name NOT NULL,
    action       text NOT NULL,
    object_type  text NOT NULL,
    object_name  text,
    project_id   bigint,
    details      jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE mlops.audit_log IS 'who did what, when, to which object, with which arguments';
CREATE INDEX audit_log_project ON mlops.audit_log (project_id);
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
-- creator and to roles that may read the source relation.
CREATE POLICY recipe_visible ON mlops.recipes FOR SELECT
    USING ((created_by OPERATOR(pg_catalog.=) CURRENT_USER
            OR mlops.project_access(project_id) IS NOT NULL
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

CREATE FUNCTION @extschema@.ml_mark_ready(project text, version integer)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_mark_ready'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_mark_ready(text, integer) IS
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
CREATE VIEW @extschema@.ml_cleaning_report WITH (security_invoker = true) AS
SELECT r.id AS recipe_id, r.kind, r.created_by, r.created_at,
       pg_catalog.format('%I.%I', r.source_schema, r.source_name) AS relation,
       x."column" AS column_name, x.kind AS column_kind, x.nulls_before, x.filled, x.fill_method,
       x.fill_error, x.outliers, x.outlier_action, x.encoding, x."cast", x.new_columns,
       x.dropped, x.nulls_after, x.mean_before, x.mean_after, x.min_before, x.min_after,
       x.max_before, x.max_after
FROM mlops.recipes r,
     pg_catalog.jsonb_to_recordset(r.report) AS x("column" text, kind text, nulls_before bigint,
        filled bigint, fill_method text, fill_error float8, outliers bigint, outlier_action text,
        encoding text, "cast" text, new_columns text, dropped boolean, nulls_after bigint,
        mean_before float8, mean_after float8, min_before float8, min_after float8,
        max_before float8, max_after float8)
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
    @extschema@.ml_mark_ready(text, integer)
    TO ml_analyst;
GRANT EXECUTE ON FUNCTION @extschema@.ml_drop_project(text, boolean) TO ml_analyst, ml_engineer;
GRANT EXECUTE ON FUNCTION
    @extschema@.ml_deploy(text, integer, text),
    @extschema@.ml_rollback(text, text)
    TO ml_engineer;
GRANT SELECT ON @extschema@.ml_projects, @extschema@.ml_audit TO ml_analyst, ml_engineer;
-- pg_dump keeps the rows of every catalog table and the sequences behind them.
SELECT pg_catalog.pg_extension_config_dump('mlops.projects', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.projects_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.project_members', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.recipes', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.recipes_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.models', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.models_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.deployments', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.deployments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.jobs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.job_runs', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.job_runs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.reports', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.reports_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.audit_log_id_seq', '');
