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
    -- 'train': ml_train's own preparation of a version's features (0.3.0)
    kind            text NOT NULL DEFAULT 'clean' CHECK (kind IN ('clean', 'impute', 'train')),
    options         jsonb NOT NULL DEFAULT '{}',
    steps           jsonb NOT NULL DEFAULT '[]',
    report          jsonb,
    format_version  integer NOT NULL DEFAULT 1,
    created_by      name NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- KNN models carry reference rows of the source: such a recipe is shown
    -- only to roles that may read the source (policy recipe_visible)
    holds_rows      boolean GENERATED ALWAYS AS (steps @? '$.**.reference_y') STORED,
    -- the source relation's OID when the recipe was fitted (0.3.0): a
    -- relation dropped and re-created under the same name is another one
    source_relid    oid
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
-- Payloads are compressed with lz4 where the server was built with it: pglz spent
-- 7 ms of a 120 ms ml_forecast_train on a 0.75 MB payload (1,000 series), lz4 a tenth.
DO $$
BEGIN
    ALTER TABLE mlops.models ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;

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
-- Row-level security of the relations the catalog aggregates (0.3.0).
-- Column profiles and model, cleaning and drift reports hold counts, means,
-- ranges and histograms over every row their builder could read; a reader
-- whose row-level security on that relation is narrower would learn about
-- rows hidden from it. The policies of those rows show them, besides their
-- builder, only to readers for whom row-level security filters nothing on
-- the relation (src/core/row_security.c; docs/bi.md, docs/reports.md).
CREATE FUNCTION mlops.rows_unrestricted(relid oid)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_rows_unrestricted'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION mlops.rows_unrestricted(oid) IS
    'whether row-level security filters no row of a relation (or of those a view reads) for the calling role';
REVOKE ALL ON FUNCTION mlops.rows_unrestricted(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.rows_unrestricted(oid) TO ml_analyst, ml_engineer;
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
-- Column profiles (0.3.0): what every column of a cleaned relation looked
-- like before and after ml_clean / ml_impute, written by the C code
-- (src/clean/profile.c) in the transaction that stores the recipe, from the
-- frame already in memory. ml_data_quality (78_bi.sql) and the cleaning
-- report read them.
--
-- histogram: numeric and datetime columns {"edges": [21 numbers], "counts":
-- [20 numbers], "non_finite": n} (equal-width bins over the finite values of
-- both phases of one run, datetimes in epoch seconds; NaN and +-Infinity are
-- counted in non_finite, in no bin); categorical and text columns
-- {"levels": [up to 20 texts, most frequent first], "counts": [...],
-- "other": n}; NULL for identifiers.
CREATE TABLE mlops.column_profiles (
    id              bigserial PRIMARY KEY,
    recipe_id       bigint NOT NULL REFERENCES mlops.recipes (id) ON DELETE CASCADE,
    project_id      bigint REFERENCES mlops.projects (id) ON DELETE SET NULL,
    relation_schema name NOT NULL,
    relation_name   name NOT NULL,
    -- the profiled relation's OID when profiled: a relation dropped and
    -- re-created under the same name is another one (policy profile_visible)
    relation_oid    oid,
    column_name     name NOT NULL,
    phase           text NOT NULL CHECK (phase IN ('before', 'after')),
    kind            text NOT NULL
                    CHECK (kind IN ('numeric', 'categorical', 'datetime', 'text', 'identifier')),
    type            text,
    rows            bigint NOT NULL,
    missing         bigint NOT NULL,
    distinct_values bigint,
    outliers        bigint,
    non_finite      bigint NOT NULL DEFAULT 0,
    min             double precision,
    max             double precision,
    mean            double precision,
    histogram       jsonb,
    -- rows the distribution figures (distinct_values, outliers, min, max,
    -- mean, histogram) were computed on when a large relation was sampled;
    -- NULL when computed on every row
    sample_rows     bigint,
    -- where the cleaned rows went: into_table, or the relation itself
    output_schema   name,
    output_name     name,
    -- 'after' rows: whether the column is in the output under its name
    -- (false: the encoding replaced it; its 'after' figures are then its
    -- values after fills and outlier treatment, just before encoding)
    in_output       boolean,
    profiled_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (recipe_id, column_name, phase)
);
COMMENT ON TABLE mlops.column_profiles IS
    'per cleaning run and column: rows, missing, distinct, outliers, range and histogram before and after';
CREATE INDEX column_profiles_relation ON mlops.column_profiles (relation_schema, relation_name, column_name);

-- min/max, levels and histograms reveal the data: a profile is shown to
-- roles that may see its recipe (policy recipe_visible) and that may read
-- the column of the relation it describes (by OID, still under its name)
-- with no row-level security filtering that relation for them
-- (mlops.rows_unrestricted: the figures cover every row the cleaning read),
-- or that ran the cleaning.
ALTER TABLE mlops.column_profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY profile_visible ON mlops.column_profiles FOR SELECT
    USING (EXISTS (SELECT 1 FROM mlops.recipes r
                   WHERE r.id OPERATOR(pg_catalog.=) recipe_id
                     AND (r.created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
                          OR (relation_oid IS NOT NULL
                              AND (SELECT pc.oid FROM pg_catalog.pg_class pc JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) pc.relnamespace WHERE pn.nspname OPERATOR(pg_catalog.=) relation_schema AND pc.relname OPERATOR(pg_catalog.=) relation_name)::pg_catalog.oid
                                  OPERATOR(pg_catalog.=) relation_oid
                              AND COALESCE(mlops.rows_unrestricted(relation_oid), false)
                              AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                          WHERE a.attrelid OPERATOR(pg_catalog.=) relation_oid
                                            AND a.attname OPERATOR(pg_catalog.=) column_name
                                            AND NOT a.attisdropped
                                            AND COALESCE(pg_catalog.has_column_privilege(relation_oid, a.attnum, 'SELECT'), false))))));
REVOKE ALL ON mlops.column_profiles FROM PUBLIC;
REVOKE ALL ON SEQUENCE mlops.column_profiles_id_seq FROM PUBLIC;
GRANT SELECT ON mlops.column_profiles TO ml_analyst, ml_engineer;
SELECT pg_catalog.pg_extension_config_dump('mlops.column_profiles', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.column_profiles_id_seq', '');
-- Training and scoring (0.3.0).

-- What a version learned from and how (the payload holds the model itself).
ALTER TABLE mlops.models
    ADD COLUMN features jsonb,
    ADD COLUMN training jsonb,
    ADD COLUMN ready_comment text;
COMMENT ON COLUMN mlops.models.features IS 'the features the model reads: name, source column, kind';
COMMENT ON COLUMN mlops.models.training IS 'task, rows, split, skipped columns, classes, fit time';
COMMENT ON COLUMN mlops.models.ready_comment IS 'the analyst''s note when marking the version ready';

CREATE FUNCTION @extschema@.ml_train(
    project text,
    algorithm text DEFAULT 'auto',
    hyperparams jsonb DEFAULT '{}',
    options jsonb DEFAULT '{}')
RETURNS TABLE (version integer, algorithm text, metrics jsonb)
AS 'MODULE_PATHNAME', 'ml_train'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_train(text, text, jsonb, jsonb) IS
    'train, evaluate and store a new model version of a project';

-- Scoring reads the deployment: STABLE, not IMMUTABLE. PARALLEL RESTRICTED:
-- the catalog reads pin search_path, which parallel workers cannot.
CREATE FUNCTION @extschema@.ml_predict(project text, "row" anyelement)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ml_predict_row'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.ml_predict(project text, "row" jsonb)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ml_predict_json'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.ml_predict_label(project text, "row" anyelement)
RETURNS text
AS 'MODULE_PATHNAME', 'ml_predict_label_row'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.ml_predict_label(project text, "row" jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'ml_predict_label_json'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.ml_predict_proba(project text, "row" anyelement)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ml_predict_proba_row'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION @extschema@.ml_predict_proba(project text, "row" jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ml_predict_proba_json'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ml_predict(text, anyelement) IS
    'the deployed model''s prediction for a row (columns bound by name)';
COMMENT ON FUNCTION @extschema@.ml_predict(text, jsonb) IS
    'the deployed model''s prediction for a jsonb object of column values';
COMMENT ON FUNCTION @extschema@.ml_predict_label(text, anyelement) IS
    'the deployed classifier''s label for a row';
COMMENT ON FUNCTION @extschema@.ml_predict_label(text, jsonb) IS
    'the deployed classifier''s label for a jsonb object of column values';
COMMENT ON FUNCTION @extschema@.ml_predict_proba(text, anyelement) IS
    'the deployed classifier''s probability per class for a row';
COMMENT ON FUNCTION @extschema@.ml_predict_proba(text, jsonb) IS
    'the deployed classifier''s probability per class for a jsonb object';

-- ml_score's per-row functions, with the version pinned by model id.
CREATE FUNCTION mlops.score_value(project text, model bigint, "row" anyelement)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ml_score_value'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION mlops.score_label(project text, model bigint, "row" anyelement)
RETURNS text
AS 'MODULE_PATHNAME', 'ml_score_label'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION mlops.score_proba(project text, model bigint, "row" anyelement)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ml_score_proba'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.ml_score(project text, relation regclass, into_table text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_score'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_score(text, regclass, text) IS
    'score every row of a relation with the deployed model into a new table; returns the row count';

-- Model versions without their payload, as the reader may see them.
CREATE VIEW @extschema@.ml_models WITH (security_invoker = true) AS
SELECT p.name AS project, m.version, m.algorithm, m.status, m.ready_comment, m.metrics, m.hyperparameters,
       m.features, m.training, m.training_relation, m.row_count, m.data_fingerprint,
       m.created_by, m.created_at
FROM mlops.models m
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) m.project_id;
COMMENT ON VIEW @extschema@.ml_models IS 'model versions: metrics, features, lineage (no payload)';

REVOKE ALL ON FUNCTION @extschema@.ml_train(text, text, jsonb, jsonb),
    @extschema@.ml_predict(text, anyelement), @extschema@.ml_predict(text, jsonb),
    @extschema@.ml_predict_label(text, anyelement), @extschema@.ml_predict_label(text, jsonb),
    @extschema@.ml_predict_proba(text, anyelement), @extschema@.ml_predict_proba(text, jsonb),
    mlops.score_value(text, bigint, anyelement), mlops.score_label(text, bigint, anyelement),
    mlops.score_proba(text, bigint, anyelement),
    @extschema@.ml_score(text, regclass, text) FROM PUBLIC;
REVOKE ALL ON @extschema@.ml_models FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_train(text, text, jsonb, jsonb) TO ml_analyst;
GRANT EXECUTE ON FUNCTION
    @extschema@.ml_predict(text, anyelement), @extschema@.ml_predict(text, jsonb),
    @extschema@.ml_predict_label(text, anyelement), @extschema@.ml_predict_label(text, jsonb),
    @extschema@.ml_predict_proba(text, anyelement), @extschema@.ml_predict_proba(text, jsonb),
    mlops.score_value(text, bigint, anyelement), mlops.score_label(text, bigint, anyelement),
    mlops.score_proba(text, bigint, anyelement),
    @extschema@.ml_score(text, regclass, text)
    TO ml_analyst, ml_engineer;
GRANT SELECT ON @extschema@.ml_models TO ml_analyst, ml_engineer;

-- Deployment strategies, and the metrics a version had when it went live.
ALTER TABLE mlops.deployments ADD COLUMN metrics jsonb;
COMMENT ON COLUMN mlops.deployments.metrics IS 'the deployed version''s metrics at that moment';
CREATE FUNCTION @extschema@.ml_deploy(project text, strategy text, reason text DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'ml_deploy_strategy'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_deploy(text, text, text) IS
    'deploy the ready version a strategy picks (best_score, most_recent); returns it';
REVOKE ALL ON FUNCTION @extschema@.ml_deploy(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_deploy(text, text, text) TO ml_engineer;

-- Evaluation (0.3.0): a stored version's metrics on any labelled relation,
-- read as the caller.
CREATE FUNCTION @extschema@.ml_evaluate(project text, version integer, relation regclass,
                                        options jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ml_evaluate'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_evaluate(text, integer, regclass, jsonb) IS
    'score a labelled relation with a stored model version; returns the task''s metrics and row counts';
REVOKE ALL ON FUNCTION @extschema@.ml_evaluate(text, integer, regclass, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_evaluate(text, integer, regclass, jsonb)
    TO ml_analyst, ml_engineer;

-- Export: a stored model version as a PMML 4.4 document.
CREATE FUNCTION @extschema@.ml_export_pmml(project text, version integer)
RETURNS xml
AS 'MODULE_PATHNAME', 'ml_export_pmml'
LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.ml_export_pmml(text, integer) IS
    'a model version as a PMML 4.4 document (linear, ridge, lasso, elastic_net, logistic, gbdt, random_forest)';
REVOKE ALL ON FUNCTION @extschema@.ml_export_pmml(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_export_pmml(text, integer) TO ml_analyst, ml_engineer;
-- Linear fits as a parallel aggregate (0.3.0). mlops.ml_gram_agg(y, x)
-- accumulates the centred moments of (x, y) with combine and serial
-- functions, so parallel workers share the scan; mlops.ml_linear_solve turns
-- the state into {intercept, coef_1, ..., coef_p}: least squares (alpha 0)
-- or ridge, scikit-learn's LinearRegression / Ridge(alpha).
CREATE FUNCTION mlops.ml_gram_sfunc(internal, float8, float8[]) RETURNS internal
AS 'MODULE_PATHNAME', 'ml_gram_sfunc' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION mlops.ml_gram_combine(internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'ml_gram_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION mlops.ml_gram_serialize(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'ml_gram_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION mlops.ml_gram_deserialize(bytea, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'ml_gram_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE AGGREGATE mlops.ml_gram_agg(y float8, x float8[]) (
    SFUNC = mlops.ml_gram_sfunc,
    STYPE = internal,
    FINALFUNC = mlops.ml_gram_serialize,
    COMBINEFUNC = mlops.ml_gram_combine,
    SERIALFUNC = mlops.ml_gram_serialize,
    DESERIALFUNC = mlops.ml_gram_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE mlops.ml_gram_agg(float8, float8[]) IS
    'centred moments of (x, y) for a linear fit (parallel); solve with mlops.ml_linear_solve';
CREATE FUNCTION mlops.ml_linear_solve(state bytea, alpha float8 DEFAULT 0,
                                      fit_intercept boolean DEFAULT true) RETURNS float8[]
AS 'MODULE_PATHNAME', 'ml_linear_solve' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mlops.ml_linear_solve(bytea, float8, boolean) IS
    '{intercept, coef_1, ..., coef_p} of least squares (alpha 0) or ridge on a mlops.ml_gram_agg state';
REVOKE ALL ON FUNCTION mlops.ml_gram_sfunc(internal, float8, float8[]),
    mlops.ml_gram_combine(internal, internal), mlops.ml_gram_serialize(internal),
    mlops.ml_gram_deserialize(bytea, internal), mlops.ml_gram_agg(float8, float8[]),
    mlops.ml_linear_solve(bytea, float8, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.ml_gram_agg(float8, float8[]),
    mlops.ml_linear_solve(bytea, float8, boolean) TO ml_analyst, ml_engineer;
-- The search of ml_train(project, 'auto') (0.3.0): every trial it ran, and
-- a leaderboard of the versions.

-- One row per configuration and rung of a search, written in the
-- transaction that stores the version the search chose (a failed ml_train
-- leaves none). status: completed (scored; went on to the next rung or
-- reached the last one), pruned (scored, not among the best third of its
-- rung), failed (the fit raised an error: error holds its message).
CREATE TABLE mlops.trials (
    id              bigserial PRIMARY KEY,
    project_id      bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    model_id        bigint REFERENCES mlops.models (id) ON DELETE CASCADE,
    version         integer NOT NULL,
    trial           integer NOT NULL CHECK (trial > 0),
    rung            integer NOT NULL CHECK (rung > 0),
    algorithm       text NOT NULL,
    hyperparameters jsonb NOT NULL DEFAULT '{}',
    train_rows      bigint NOT NULL,
    fraction        double precision NOT NULL,
    metric          text NOT NULL CHECK (metric IN ('rmse', 'accuracy')),
    fold_scores     double precision[],
    score           double precision,
    fit_seconds     double precision NOT NULL,
    status          text NOT NULL CHECK (status IN ('completed', 'pruned', 'failed')),
    error           text,
    chosen          boolean NOT NULL DEFAULT false,
    UNIQUE (project_id, version, trial, rung)
);
COMMENT ON TABLE mlops.trials IS 'the configurations ml_train''s auto search tried, per rung, with their cross-validated scores';
ALTER TABLE mlops.trials ENABLE ROW LEVEL SECURITY;
CREATE POLICY project_visible ON mlops.trials FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);
REVOKE ALL ON mlops.trials FROM PUBLIC;
REVOKE ALL ON SEQUENCE mlops.trials_id_seq FROM PUBLIC;
GRANT SELECT ON mlops.trials TO ml_analyst, ml_engineer;
SELECT pg_catalog.pg_extension_config_dump('mlops.trials', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.trials_id_seq', '');

-- The trials of each search, as the reader may see them.
CREATE VIEW @extschema@.ml_trials WITH (security_invoker = true) AS
SELECT p.name AS project, t.version, t.trial, t.rung, t.algorithm, t.hyperparameters,
       t.train_rows, t.fraction, t.metric, t.fold_scores, t.score, t.fit_seconds,
       t.status, t.error, t.chosen
FROM mlops.trials t
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) t.project_id;
COMMENT ON VIEW @extschema@.ml_trials IS 'every trial of ml_train''s auto search, per project and version';

-- ml_leaderboard, the versions ranked per project, is in 78_bi.sql with the
-- other views for BI tools.
REVOKE ALL ON @extschema@.ml_trials FROM PUBLIC;
GRANT SELECT ON @extschema@.ml_trials TO ml_analyst, ml_engineer;

-- Forecasting (0.3.0): projects of task 'forecast', one Prophet-style
-- model per series stored as one version (algorithm 'prophet_ridge').
ALTER TABLE mlops.projects DROP CONSTRAINT projects_task_check;
ALTER TABLE mlops.projects ADD CONSTRAINT projects_task_check
    CHECK (task IN ('regression', 'classification', 'forecast'));

CREATE FUNCTION @extschema@.ml_forecast_train(
    project text,
    time_column text,
    series_by text[] DEFAULT NULL,
    options jsonb DEFAULT '{}')
RETURNS TABLE (version integer, series bigint, metrics jsonb)
AS 'MODULE_PATHNAME', 'ml_forecast_train'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_forecast_train(text, text, text[], jsonb) IS
    'fit one trend + seasonality model per series of a forecast project and store them as a new version';

CREATE FUNCTION @extschema@.ml_forecast(project text, horizon integer, version integer DEFAULT NULL)
RETURNS TABLE (series jsonb, ts timestamptz, forecast double precision,
               lower double precision, upper double precision)
AS 'MODULE_PATHNAME', 'ml_forecast'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000;
COMMENT ON FUNCTION @extschema@.ml_forecast(text, integer, integer) IS
    'the next horizon steps of every series, with an interval, from the deployed (or a given) version';

REVOKE ALL ON FUNCTION @extschema@.ml_forecast_train(text, text, text[], jsonb),
    @extschema@.ml_forecast(text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_forecast_train(text, text, text[], jsonb) TO ml_analyst;
GRANT EXECUTE ON FUNCTION @extschema@.ml_forecast(text, integer, integer) TO ml_analyst, ml_engineer;
-- Many-models: one model per group of key columns, stored as one version
-- (src/model/groups.c, src/model/grouped.c). ml_predict and ml_score route
-- every row to its group's model.
CREATE FUNCTION @extschema@.ml_train_groups(
    project text,
    group_by text[],
    algorithm text DEFAULT 'auto',
    hyperparams jsonb DEFAULT '{}',
    options jsonb DEFAULT '{}')
RETURNS TABLE (version integer, groups integer, metrics jsonb)
AS 'MODULE_PATHNAME', 'ml_train_groups'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_train_groups(text, text[], text, jsonb, jsonb) IS
    'fit one model per group of the key columns and store them as one new version';

REVOKE ALL ON FUNCTION @extschema@.ml_train_groups(text, text[], text, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_train_groups(text, text[], text, jsonb, jsonb) TO ml_analyst;
-- Jobs (0.3.0): schedules run unattended by the launcher background worker
-- (src/jobs/), each run in its own worker, as the role that owns the job.
-- The tables exist since 0.1.0 (20_catalog.sql); 0.3.0 adds what runs need.

ALTER TABLE mlops.jobs
    ADD COLUMN options jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN backoff interval NOT NULL DEFAULT '30 seconds',
    ADD COLUMN statement_timeout interval,
    ADD COLUMN next_run_at timestamptz;
COMMENT ON COLUMN mlops.jobs.options IS 'the options given to ml_schedule / ml_alter_job, merged';
COMMENT ON COLUMN mlops.jobs.command IS 'the step''s arguments (kind-specific: relation, into_table, mode, recipe, ...)';
COMMENT ON COLUMN mlops.jobs.backoff IS 'wait before the first retry; doubled at each further attempt';
COMMENT ON COLUMN mlops.jobs.next_run_at IS 'when the launcher next queues a run (NULL: paused)';

ALTER TABLE mlops.job_runs DROP CONSTRAINT job_runs_status_check;
UPDATE mlops.job_runs SET status = 'queued' WHERE status OPERATOR(pg_catalog.=) 'scheduled';
ALTER TABLE mlops.job_runs
    ALTER COLUMN status SET DEFAULT 'queued',
    ADD CONSTRAINT job_runs_status_check
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
    ADD COLUMN trigger text NOT NULL DEFAULT 'schedule'
        CHECK (trigger IN ('schedule', 'manual', 'retry')),
    ADD COLUMN requested_by name,
    ADD COLUMN due_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    ADD COLUMN rows_processed bigint,
    ADD COLUMN progress double precision,
    ADD COLUMN log jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN sqlstate text,
    ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN mlops.job_runs.due_at IS 'a queued run starts once this time has passed (retries wait here)';
COMMENT ON COLUMN mlops.job_runs.log IS 'one object per step: step, status, started_at, finished_at, rows, detail';
COMMENT ON COLUMN mlops.job_runs.sqlstate IS 'the SQLSTATE of the error that ended the run';
COMMENT ON COLUMN mlops.job_runs.message IS 'the error message, or a note on how the run ended';
CREATE INDEX job_runs_job ON mlops.job_runs (job_id, id);
CREATE INDEX job_runs_active ON mlops.job_runs (job_id) WHERE status IN ('queued', 'running');

CREATE FUNCTION @extschema@.ml_schedule(project text, kind text, schedule text, options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_schedule'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_schedule(text, text, text, jsonb) IS
    'schedule a train, score or clean job of a project (cron or interval); returns the job id';

CREATE FUNCTION @extschema@.ml_run_now(job bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_run_now'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_run_now(bigint) IS
    'queue a run of a job now; returns the run id';

CREATE FUNCTION @extschema@.ml_cancel(run bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_cancel'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_cancel(bigint) IS
    'cancel a queued or running run; false if it had already ended';

CREATE FUNCTION @extschema@.ml_unschedule(job bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_unschedule'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_unschedule(bigint) IS
    'remove a job and its run history; a running run is cancelled';

CREATE FUNCTION @extschema@.ml_alter_job(job bigint, options jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_alter_job'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_alter_job(bigint, jsonb) IS
    'change a job''s schedule, options or step arguments, or pause it (active false)';

CREATE FUNCTION mlops.schedule_next(schedule text, after timestamptz)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'ml_schedule_next'
LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION mlops.schedule_next(text, timestamptz) IS
    'the first time after "after" that a schedule is due (cron in UTC; an interval counts from "after")';

-- A running run's live progress (shared memory: its step's transaction is
-- still open); NULLs when no worker runs it now or the caller cannot see it.
CREATE FUNCTION mlops.job_run_live(run bigint, OUT progress double precision, OUT rows_processed bigint)
AS 'MODULE_PATHNAME', 'ml_job_run_live'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION mlops.job_run_live(bigint) IS
    'the live progress (0..1) and rows processed of a running job run, as its worker reports them';

CREATE VIEW @extschema@.ml_jobs WITH (security_invoker = true) AS
SELECT j.id, j.name, p.name AS project, j.kind, j.schedule, j.owner, j.active,
       j.command OPERATOR(pg_catalog.-) 'owner_oid' AS command, j.options, j.max_retries AS retries, j.backoff, j.timeout, j.statement_timeout,
       j.next_run_at, j.created_at
FROM mlops.jobs j
LEFT JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) j.project_id;
COMMENT ON VIEW @extschema@.ml_jobs IS 'jobs the current role owns (admins: all jobs)';

CREATE VIEW @extschema@.ml_job_runs WITH (security_invoker = true) AS
SELECT r.id AS run, r.job_id AS job, j.name AS job_name, p.name AS project, j.kind,
       r.attempt, r.status, r.trigger, r.requested_by, r.due_at, r.started_at, r.finished_at,
       r.finished_at OPERATOR(pg_catalog.-) r.started_at AS duration,
       COALESCE(l.rows_processed, r.rows_processed) AS rows_processed,
       COALESCE(l.progress, r.progress) AS progress, r.sqlstate, r.message, r.log, r.pid
FROM mlops.job_runs r
JOIN mlops.jobs j ON j.id OPERATOR(pg_catalog.=) r.job_id
LEFT JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) j.project_id
LEFT JOIN LATERAL mlops.job_run_live(CASE WHEN r.status OPERATOR(pg_catalog.=) 'running' THEN r.id END) l ON true;
COMMENT ON VIEW @extschema@.ml_job_runs IS 'runs of the jobs the current role owns: status, attempt, rows, error';

REVOKE ALL ON FUNCTION @extschema@.ml_schedule(text, text, text, jsonb),
    @extschema@.ml_run_now(bigint), @extschema@.ml_cancel(bigint),
    @extschema@.ml_unschedule(bigint), @extschema@.ml_alter_job(bigint, jsonb),
    mlops.schedule_next(text, timestamptz), mlops.job_run_live(bigint) FROM PUBLIC;
REVOKE ALL ON @extschema@.ml_jobs, @extschema@.ml_job_runs FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_schedule(text, text, text, jsonb),
    @extschema@.ml_cancel(bigint), @extschema@.ml_unschedule(bigint),
    @extschema@.ml_alter_job(bigint, jsonb), mlops.schedule_next(text, timestamptz)
    TO ml_engineer;
-- Analysts run their own projects' train and clean jobs on demand (the C
-- code checks the project and the kind).
GRANT EXECUTE ON FUNCTION @extschema@.ml_run_now(bigint) TO ml_analyst, ml_engineer;
-- Analysts cancel the runs they asked for (checked in C, as above).
GRANT EXECUTE ON FUNCTION @extschema@.ml_cancel(bigint) TO ml_analyst;
GRANT EXECUTE ON FUNCTION mlops.job_run_live(bigint) TO ml_engineer;
-- Engineers retrain: a train job runs ml_train as its owner, reading the rows
-- with the owner's privileges (ml_train checks the project).
GRANT EXECUTE ON FUNCTION @extschema@.ml_train(text, text, jsonb, jsonb) TO ml_engineer;
GRANT SELECT ON @extschema@.ml_jobs, @extschema@.ml_job_runs TO ml_engineer;
-- Workflows (0.3.0): ordered steps (import, clean, train, evaluate, gate,
-- deploy, score, report) run by a job of kind 'workflow' (src/jobs/workflow*.c).
-- Each step of a run is a row of mlops.job_run_steps, committed when the
-- step ends, so a failed run resumes from its failed step.

CREATE TABLE mlops.workflows (
    id                     bigserial PRIMARY KEY,
    project_id             bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    name                   text NOT NULL,
    steps                  jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(steps) OPERATOR(pg_catalog.=) 'array'),
    auto_deploy            boolean NOT NULL DEFAULT false,
    auto_deploy_allowed_by name,
    auto_deploy_allowed_at timestamptz,
    created_by             name NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (project_id, name)
);
COMMENT ON TABLE mlops.workflows IS 'ordered steps run by workflow jobs; steps are validated and normalised at creation';
COMMENT ON COLUMN mlops.workflows.auto_deploy IS 'an engineer allowed the deploy step to deploy a gated version (ml_allow_auto_deploy)';

CREATE TABLE mlops.job_run_steps (
    run_id      bigint NOT NULL REFERENCES mlops.job_runs (id) ON DELETE CASCADE,
    step_no     integer NOT NULL CHECK (step_no > 0),
    workflow_id bigint REFERENCES mlops.workflows (id) ON DELETE SET NULL,
    kind        text NOT NULL,
    status      text NOT NULL
                CHECK (status IN ('running', 'succeeded', 'failed', 'rejected', 'refused', 'skipped', 'carried')),
    started_at  timestamptz,
    finished_at timestamptz,
    message     text,
    details     jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, step_no)
);
COMMENT ON TABLE mlops.job_run_steps IS 'one row per step of a workflow run; carried rows are results kept from the run it resumed';

ALTER TABLE mlops.jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE mlops.jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('train', 'score', 'report', 'clean', 'sql', 'workflow'));
ALTER TABLE mlops.job_runs
    ADD COLUMN from_start boolean NOT NULL DEFAULT false,
    ADD COLUMN resumed_from bigint;
COMMENT ON COLUMN mlops.job_runs.from_start IS 'ml_run_now(job, restart => true): a workflow run that does not resume';
COMMENT ON COLUMN mlops.job_runs.resumed_from IS 'the failed run whose completed steps this workflow run carried over';

ALTER TABLE mlops.workflows ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.job_run_steps ENABLE ROW LEVEL SECURITY;
CREATE POLICY project_visible ON mlops.workflows FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);
CREATE POLICY job_visible ON mlops.job_run_steps FOR SELECT
    USING (EXISTS (SELECT 1 FROM mlops.job_runs r WHERE r.id OPERATOR(pg_catalog.=) run_id));

CREATE FUNCTION @extschema@.ml_create_workflow(project text, name text, steps jsonb)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_create_workflow'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_create_workflow(text, text, jsonb) IS
    'define a workflow of ordered steps (import, clean, train, evaluate, gate, deploy, score, report); returns its id';

CREATE FUNCTION @extschema@.ml_allow_auto_deploy(project text, workflow text, allowed boolean DEFAULT true)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_allow_auto_deploy'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_allow_auto_deploy(text, text, boolean) IS
    'allow (or forbid) a workflow''s deploy step to deploy the version its gate passed (engineers)';

CREATE FUNCTION @extschema@.ml_drop_workflow(project text, name text)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_drop_workflow'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_drop_workflow(text, text) IS
    'remove a workflow no job uses';

CREATE FUNCTION @extschema@.ml_run_now(job bigint, restart boolean)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_run_now'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_run_now(bigint, boolean) IS
    'queue a run of a job now; restart true: a workflow starts at its first step instead of resuming a failed run';

CREATE VIEW @extschema@.ml_workflows WITH (security_invoker = true) AS
SELECT w.id, p.name AS project, w.name, w.steps,
       pg_catalog.jsonb_array_length(w.steps) AS step_count,
       w.auto_deploy, w.auto_deploy_allowed_by, w.auto_deploy_allowed_at, w.created_by, w.created_at
FROM mlops.workflows w
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) w.project_id;
COMMENT ON VIEW @extschema@.ml_workflows IS 'workflows of the projects the current role can see';

-- A step left 'running' by a run that ended without recording it (its
-- worker was terminated, the server restarted) is shown as failed.
CREATE VIEW @extschema@.ml_job_run_steps WITH (security_invoker = true) AS
SELECT s.run_id AS run, r.job_id AS job, s.step_no AS step, s.kind,
       CASE WHEN s.status OPERATOR(pg_catalog.=) 'running'
                 AND r.status OPERATOR(pg_catalog.<>) ALL (ARRAY['queued', 'running'])
            THEN 'failed' ELSE s.status END AS status,
       s.started_at, s.finished_at, s.message, s.details
FROM mlops.job_run_steps s
JOIN mlops.job_runs r ON r.id OPERATOR(pg_catalog.=) s.run_id;
COMMENT ON VIEW @extschema@.ml_job_run_steps IS 'the steps of workflow runs of the jobs the current role owns';

REVOKE ALL ON FUNCTION @extschema@.ml_create_workflow(text, text, jsonb),
    @extschema@.ml_allow_auto_deploy(text, text, boolean),
    @extschema@.ml_drop_workflow(text, text),
    @extschema@.ml_run_now(bigint, boolean) FROM PUBLIC;
REVOKE ALL ON mlops.workflows, mlops.job_run_steps, @extschema@.ml_workflows,
    @extschema@.ml_job_run_steps FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_create_workflow(text, text, jsonb),
    @extschema@.ml_drop_workflow(text, text),
    @extschema@.ml_run_now(bigint, boolean) TO ml_analyst, ml_engineer;
GRANT EXECUTE ON FUNCTION @extschema@.ml_allow_auto_deploy(text, text, boolean) TO ml_engineer;
GRANT SELECT ON mlops.workflows, @extschema@.ml_workflows TO ml_analyst, ml_engineer;
GRANT SELECT ON mlops.job_run_steps, @extschema@.ml_job_run_steps TO ml_engineer;

SELECT pg_catalog.pg_extension_config_dump('mlops.workflows', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.workflows_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.job_run_steps', '');
-- Drift (0.3.0): every version records its training profile; every ml_score
-- batch logs its rows on the profile's bins; ml_drift compares the two over
-- a window (pg_mlops.drift_window) with the population stability index and
-- the change of the missing rate; thresholds raise alerts and can start a
-- retrain job. src/model/profile.c, scoring_log.c, drift.c; docs/drift.md.

ALTER TABLE mlops.models ADD COLUMN profile jsonb;
COMMENT ON COLUMN mlops.models.profile IS
    'training profile: per input feature bins and shares, missing rate; the predictions'' distribution (docs/drift.md)';

CREATE TABLE mlops.scoring_log (
    id          bigserial PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    model_id    bigint REFERENCES mlops.models (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    relation    text,
    rows        bigint NOT NULL CHECK (rows >= 0),
    scored_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    role        name NOT NULL,
    source      text NOT NULL DEFAULT 'ml_score' CHECK (source IN ('ml_score', 'ml_predict')),
    features    jsonb,
    prediction  jsonb
);
COMMENT ON TABLE mlops.scoring_log IS
    'one row per scored batch: rows per training bin and missing per feature, prediction bins';
COMMENT ON COLUMN mlops.scoring_log.features IS
    '{"feature": {"counts": [rows per training bin], "missing": n}, ...}; NULL: the version has no profile';
CREATE INDEX scoring_log_window ON mlops.scoring_log (project_id, scored_at);

CREATE TABLE mlops.drift_policies (
    project_id   bigint PRIMARY KEY REFERENCES mlops.projects (id) ON DELETE CASCADE,
    options      jsonb NOT NULL DEFAULT '{}',
    updated_by   name NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE mlops.drift_policies IS
    'per project drift thresholds and retrain job (ml_set_drift_policy): psi, missing_rate, min_rows, retrain_job';

CREATE TABLE mlops.drift_alerts (
    id                  bigserial PRIMARY KEY,
    project_id          bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    model_id            bigint REFERENCES mlops.models (id) ON DELETE CASCADE,
    version             integer NOT NULL,
    feature             text NOT NULL,
    psi                 double precision,
    missing_rate_train  double precision,
    missing_rate_scored double precision,
    missing_change      double precision,
    rows                bigint NOT NULL,
    window_start        timestamptz NOT NULL,
    window_end          timestamptz NOT NULL,
    psi_threshold       double precision NOT NULL,
    missing_threshold   double precision NOT NULL,
    raised_at           timestamptz NOT NULL DEFAULT pg_catalog.now(),
    raised_by           name NOT NULL,
    retrain_job         text,
    retrain_run         bigint,
    retrain_note        text
);
COMMENT ON TABLE mlops.drift_alerts IS
    'a feature of a deployed version over a drift threshold; at most one per feature and version within a window';
CREATE INDEX drift_alerts_model ON mlops.drift_alerts (model_id, feature, raised_at);

ALTER TABLE mlops.scoring_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.drift_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.drift_alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY project_visible ON mlops.scoring_log FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);
CREATE POLICY project_visible ON mlops.drift_policies FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);
CREATE POLICY project_visible ON mlops.drift_alerts FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL);

-- The rows of ml_drift, computed in C (src/model/drift.c) for the deployed
-- versions the caller can see.
CREATE FUNCTION mlops.drift_rows()
RETURNS TABLE (project text, version integer, feature text, psi double precision,
               missing_rate_train double precision, missing_rate_scored double precision,
               rows_scored bigint, window_start timestamptz, window_end timestamptz,
               drifted boolean, bin_labels text[], train_share double precision[],
               scored_share double precision[])
AS 'MODULE_PATHNAME', 'ml_drift_rows'
LANGUAGE C STABLE;
COMMENT ON FUNCTION mlops.drift_rows() IS 'the rows of the ml_drift view';

CREATE VIEW @extschema@.ml_drift WITH (security_invoker = true) AS
SELECT project, version, feature, psi, missing_rate_train, missing_rate_scored, rows_scored,
       window_start, window_end, drifted, bin_labels, train_share, scored_share
FROM mlops.drift_rows();
COMMENT ON VIEW @extschema@.ml_drift IS
    'per deployed version and feature (and "(prediction)"): PSI and missing rates of the rows scored in pg_mlops.drift_window against the training profile';

CREATE FUNCTION @extschema@.ml_check_drift(project text)
RETURNS TABLE (project text, version integer, feature text, psi double precision,
               missing_rate_train double precision, missing_rate_scored double precision,
               rows_scored bigint, window_start timestamptz, window_end timestamptz,
               drifted boolean, bin_labels text[], train_share double precision[],
               scored_share double precision[], alert bigint)
AS 'MODULE_PATHNAME', 'ml_check_drift'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_check_drift(text) IS
    'drift of a project''s deployed version now; raises the alerts (and the retrain job) its thresholds call for';

CREATE FUNCTION @extschema@.ml_set_drift_policy(project text, options jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ml_set_drift_policy'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_set_drift_policy(text, jsonb) IS
    'set a project''s drift thresholds and retrain job ({"psi", "missing_rate", "min_rows", "retrain_job"}; null resets one); returns the policy';

CREATE VIEW @extschema@.ml_drift_alerts WITH (security_invoker = true) AS
SELECT a.id AS alert, p.name AS project, a.version, a.feature, a.psi,
       a.missing_rate_train, a.missing_rate_scored, a.missing_change, a.rows,
       a.window_start, a.window_end, a.psi_threshold, a.missing_threshold,
       a.raised_at, a.raised_by, a.retrain_job, a.retrain_run, a.retrain_note
FROM mlops.drift_alerts a
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) a.project_id;
COMMENT ON VIEW @extschema@.ml_drift_alerts IS
    'drift alerts of the projects the current role can see, with the retrain they started or why not';

REVOKE ALL ON FUNCTION mlops.drift_rows(), @extschema@.ml_check_drift(text),
    @extschema@.ml_set_drift_policy(text, jsonb) FROM PUBLIC;
REVOKE ALL ON mlops.scoring_log, mlops.drift_policies, mlops.drift_alerts,
    @extschema@.ml_drift, @extschema@.ml_drift_alerts FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlops.drift_rows(), @extschema@.ml_check_drift(text),
    @extschema@.ml_set_drift_policy(text, jsonb) TO ml_analyst, ml_engineer;
GRANT SELECT ON mlops.scoring_log, mlops.drift_policies, mlops.drift_alerts,
    @extschema@.ml_drift, @extschema@.ml_drift_alerts TO ml_analyst, ml_engineer;

SELECT pg_catalog.pg_extension_config_dump('mlops.scoring_log', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.scoring_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.drift_policies', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.drift_alerts', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.drift_alerts_id_seq', '');
-- Views for BI tools (0.3.0): stable, documented column names (docs/bi.md),
-- plain SQL types (bigint, double precision, text, boolean, timestamptz,
-- jsonb), row-level security applied to the reader (security_invoker: each
-- view shows what the reader's own policies show). Numbers inside jsonb are
-- JSON numbers.

-- A metric of a metrics object as a number: NULL when absent or not a
-- number (a JSON null, as non-finite metrics are stored).
CREATE FUNCTION mlops.metric_value(metrics jsonb, key text)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN pg_catalog.jsonb_typeof(metrics OPERATOR(pg_catalog.->) key) OPERATOR(pg_catalog.=) 'number'
            THEN (metrics OPERATOR(pg_catalog.->>) key)::pg_catalog.float8 END;
COMMENT ON FUNCTION mlops.metric_value(jsonb, text) IS
    'a metric of a metrics object as double precision; NULL when absent or not a number';

-- The headline metrics the views show as columns (NULL when not applicable:
-- rmse, mae, r2 for regressors; accuracy, macro f1, roc_auc for classifiers).
CREATE FUNCTION mlops.headline_metrics(metrics jsonb,
    OUT rmse double precision, OUT mae double precision, OUT r2 double precision,
    OUT accuracy double precision, OUT f1 double precision, OUT roc_auc double precision)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT mlops.metric_value(metrics, 'rmse'), mlops.metric_value(metrics, 'mae'),
           mlops.metric_value(metrics, 'r2'), mlops.metric_value(metrics, 'accuracy'),
           mlops.metric_value(metrics, 'f1'), mlops.metric_value(metrics, 'roc_auc');
END;
COMMENT ON FUNCTION mlops.headline_metrics(jsonb) IS
    'rmse, mae, r2, accuracy, f1 and roc_auc of a metrics object as double precision columns';

-- Per relation and column, its latest profile the reader may see: the
-- 'before' figures of the latest cleaning run, with the run's 'after' ones.
CREATE VIEW @extschema@.ml_data_quality WITH (security_invoker = true) AS
SELECT DISTINCT ON (b.relation_schema, b.relation_name, b.column_name)
       pg_catalog.format('%I.%I', b.relation_schema, b.relation_name) AS relation,
       b.column_name::pg_catalog.text AS column_name,
       b.kind,
       b.type,
       b.rows,
       b.missing,
       CASE WHEN b.rows OPERATOR(pg_catalog.>) 0
            THEN b.missing::pg_catalog.float8 OPERATOR(pg_catalog./) b.rows::pg_catalog.float8 END AS missing_share,
       b.distinct_values,
       b.outliers,
       b.non_finite,
       b.min,
       b.max,
       b.mean,
       b.histogram,
       b.profiled_at AS last_cleaned,
       r.kind AS cleaned_by,
       b.recipe_id,
       COALESCE(r.name, b.recipe_id::pg_catalog.text) AS recipe,
       p.name AS project,
       pg_catalog.format('%I.%I', a.output_schema, a.output_name) AS output_relation,
       a.in_output,
       a.rows AS rows_after,
       a.missing AS missing_after,
       CASE WHEN a.rows OPERATOR(pg_catalog.>) 0
            THEN a.missing::pg_catalog.float8 OPERATOR(pg_catalog./) a.rows::pg_catalog.float8 END AS missing_share_after,
       a.distinct_values AS distinct_values_after,
       a.outliers AS outliers_after,
       a.min AS min_after,
       a.max AS max_after,
       a.mean AS mean_after,
       a.histogram AS histogram_after,
       b.sample_rows
FROM mlops.column_profiles b
JOIN mlops.recipes r ON r.id OPERATOR(pg_catalog.=) b.recipe_id
LEFT JOIN mlops.column_profiles a
       ON a.recipe_id OPERATOR(pg_catalog.=) b.recipe_id
      AND a.column_name OPERATOR(pg_catalog.=) b.column_name
      AND a.phase OPERATOR(pg_catalog.=) 'after'
LEFT JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) b.project_id
WHERE b.phase OPERATOR(pg_catalog.=) 'before'
ORDER BY b.relation_schema, b.relation_name, b.column_name, b.profiled_at DESC, b.recipe_id DESC;
COMMENT ON VIEW @extschema@.ml_data_quality IS
    'per relation and column, the latest cleaning run''s profile: missing, distinct, outliers, range, before and after';

-- One row per deployment event, with the version's metrics at that moment.
CREATE VIEW @extschema@.ml_deployments WITH (security_invoker = true) AS
SELECT d.id AS deployment_id,
       p.name AS project,
       d.version,
       d.from_version,
       d.action,
       d.deployed_by::pg_catalog.text AS deployed_by,
       d.deployed_at,
       d.reason,
       m.algorithm,
       p.task,
       s.metrics,
       h.*,
       (m.status OPERATOR(pg_catalog.=) 'deployed'
        AND d.id OPERATOR(pg_catalog.=) (SELECT pg_catalog.max(l.id) FROM mlops.deployments l
                                         WHERE l.project_id OPERATOR(pg_catalog.=) d.project_id))
           IS TRUE AS currently_deployed
FROM mlops.deployments d
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) d.project_id
LEFT JOIN mlops.models m ON m.id OPERATOR(pg_catalog.=) d.model_id
CROSS JOIN LATERAL (SELECT COALESCE(d.metrics, m.metrics, '{}'::pg_catalog.jsonb) AS metrics) s
CROSS JOIN LATERAL mlops.headline_metrics(s.metrics) h;
COMMENT ON VIEW @extschema@.ml_deployments IS
    'deployment history: version, previous version, action, who, when, why, and the version''s metrics';

-- One row per job run, on ml_job_runs and ml_jobs (the jobs policies: the
-- reader's own jobs, admins all).
CREATE VIEW @extschema@.ml_job_history WITH (security_invoker = true) AS
SELECT r.run AS run_id,
       r.job AS job_id,
       r.job_name AS job,
       r.project,
       r.kind,
       j.owner::pg_catalog.text AS owner,
       r.status,
       r.trigger,
       r.attempt,
       r.due_at,
       r.started_at,
       r.finished_at,
       r.duration,
       pg_catalog.date_part('epoch', r.duration) AS duration_s,
       r.rows_processed,
       r.sqlstate,
       r.message
FROM @extschema@.ml_job_runs r
LEFT JOIN @extschema@.ml_jobs j ON j.id OPERATOR(pg_catalog.=) r.job;
COMMENT ON VIEW @extschema@.ml_job_history IS
    'runs of the jobs the reader may see: status, attempt, start, end, duration, message';

-- Versions ranked within their project by the task's primary metric on
-- held-out rows: rmse (lowest first) for regression, accuracy (highest
-- first) for classification; cross-validated figures where the version has
-- no held-out ones. Versions without the metric (clustering, or a value
-- that is not a number) rank last. (Defined here since 0.3.0's BI views:
-- the columns after is_deployed were added for BI tools.)
CREATE VIEW @extschema@.ml_leaderboard WITH (security_invoker = true) AS
SELECT s.project, s.version, s.algorithm, s.hyperparameters, s.metric, s.value,
       pg_catalog.rank() OVER (PARTITION BY s.project
                               ORDER BY CASE WHEN s.metric OPERATOR(pg_catalog.=) 'rmse'
                                             THEN s.value ELSE OPERATOR(pg_catalog.-) s.value END
                                        ASC NULLS LAST) AS rank,
       s.status, s.status OPERATOR(pg_catalog.=) 'deployed' AS is_deployed,
       s.metrics,
       h.*,
       s.row_count AS training_rows,
       s.created_by::pg_catalog.text AS created_by,
       s.created_at
FROM (SELECT p.name AS project, m.version, m.algorithm, m.hyperparameters, m.status,
             m.metrics, m.row_count, m.created_by, m.created_at,
             CASE WHEN p.task OPERATOR(pg_catalog.=) 'classification' THEN 'accuracy' ELSE 'rmse' END AS metric,
             CASE WHEN p.task OPERATOR(pg_catalog.=) 'classification'
                  THEN COALESCE(mlops.metric_value(m.metrics, 'accuracy'),
                                mlops.metric_value(m.metrics, 'cv_accuracy'))
                  ELSE COALESCE(mlops.metric_value(m.metrics, 'rmse'),
                                mlops.metric_value(m.metrics, 'cv_rmse')) END AS value
      FROM mlops.models m
      JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) m.project_id) s
CROSS JOIN LATERAL mlops.headline_metrics(s.metrics) h;
COMMENT ON VIEW @extschema@.ml_leaderboard IS 'model versions ranked within their project by the primary metric';

REVOKE ALL ON FUNCTION mlops.metric_value(jsonb, text), mlops.headline_metrics(jsonb) FROM PUBLIC;
REVOKE ALL ON @extschema@.ml_data_quality, @extschema@.ml_deployments,
    @extschema@.ml_job_history, @extschema@.ml_leaderboard FROM PUBLIC;
-- the views call it as their reader
GRANT EXECUTE ON FUNCTION mlops.metric_value(jsonb, text), mlops.headline_metrics(jsonb)
    TO ml_analyst, ml_engineer;
GRANT SELECT ON @extschema@.ml_data_quality, @extschema@.ml_deployments, @extschema@.ml_leaderboard
    TO ml_analyst, ml_engineer;
-- like ml_job_runs, which it reads: jobs are engineers' (admins see all)
GRANT SELECT ON @extschema@.ml_job_history TO ml_engineer;
-- API management (0.3.0): exposures of a project's deployed model to
-- consumer roles, with optional limits, and the usage metered through them
-- (src/api/). Engineers manage exposures; a consumer role scores an exposed
-- project's deployed version with ml_predict*, ml_score and nothing else.

CREATE TABLE mlops.exposures (
    project_id       bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    consumer         name NOT NULL,
    rows_per_day     bigint CHECK (rows_per_day > 0),
    calls_per_second integer CHECK (calls_per_second > 0),
    created_by       name NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- the role by OID: a role dropped and re-created under the name is
    -- another role and gets nothing (consumer stays, for display)
    consumer_oid     oid NOT NULL,
    PRIMARY KEY (project_id, consumer_oid)
);
COMMENT ON TABLE mlops.exposures IS
    'consumer roles that may score a project''s deployed model, with their limits (NULL: none)';

-- One row per project, consumer and UTC day, written by the scheduler's
-- dispatch pass from the shared-memory counters (absolute values: a row is
-- only ever replaced by one of as many calls or more).
CREATE TABLE mlops.api_usage (
    project_id        bigint NOT NULL REFERENCES mlops.projects (id) ON DELETE CASCADE,
    consumer          name NOT NULL,
    day               date NOT NULL,
    calls             bigint NOT NULL DEFAULT 0,
    rows              bigint NOT NULL DEFAULT 0,
    errors            bigint NOT NULL DEFAULT 0,
    latency_histogram bigint[] NOT NULL DEFAULT '{}',
    latency_p50_ms    double precision,
    latency_p95_ms    double precision,
    latency_p99_ms    double precision,
    flushed_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    consumer_oid      oid NOT NULL,
    PRIMARY KEY (project_id, consumer_oid, day)
);
COMMENT ON TABLE mlops.api_usage IS
    'calls, rows, errors and latency of scoring through exposures, per project, consumer and UTC day';
COMMENT ON COLUMN mlops.exposures.consumer_oid IS
    'the OID of the consumer role: the exposure applies to that role only, whatever its name';
COMMENT ON COLUMN mlops.api_usage.consumer_oid IS 'the OID of the consumer role that made the calls';
COMMENT ON COLUMN mlops.api_usage.latency_histogram IS
    'calls per latency bucket: bucket i holds latencies below 0.01 ms * 2^((i+1)/4), the last one the rest';

CREATE FUNCTION mlops.project_exposed(project_id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_project_exposed'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION mlops.project_exposed(bigint) IS
    'whether the calling role has an exposure to a project (through its role memberships)';

CREATE FUNCTION mlops.exposure_visible(project_id bigint, consumer_oid oid)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_exposure_visible'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION mlops.exposure_visible(bigint, oid) IS
    'whether the calling role may see an exposure and its usage: engineers and admins all, '
    'a project''s owner and members their project''s, a consumer its own';

CREATE FUNCTION mlops.api_usage_live(OUT project_id bigint, OUT consumer name, OUT day date,
                                     OUT calls bigint, OUT rows bigint, OUT errors bigint,
                                     OUT latency_p50_ms double precision,
                                     OUT latency_p95_ms double precision,
                                     OUT latency_p99_ms double precision,
                                     OUT consumer_oid oid)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ml_api_usage_live'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION mlops.api_usage_live() IS
    'the shared-memory usage counters of this database that the calling role may see';

ALTER TABLE mlops.exposures ENABLE ROW LEVEL SECURITY;
ALTER TABLE mlops.api_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY exposure_visible ON mlops.exposures FOR SELECT
    USING (mlops.exposure_visible(project_id, consumer_oid));
CREATE POLICY exposure_visible ON mlops.api_usage FOR SELECT
    USING (mlops.exposure_visible(project_id, consumer_oid));

CREATE FUNCTION @extschema@.ml_expose(project text, consumer regrole, options jsonb DEFAULT '{}')
RETURNS void
AS 'MODULE_PATHNAME', 'ml_expose'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_expose(text, regrole, jsonb) IS
    'let a consumer role score a project''s deployed model; options rows_per_day, calls_per_second';

CREATE FUNCTION @extschema@.ml_revoke_exposure(project text, consumer regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_revoke_exposure'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_revoke_exposure(text, regrole) IS
    'stop a consumer role from scoring a project (effective at the next statement everywhere)';

-- The views read the catalog as their owner (the extension's) and show the
-- rows mlops.exposure_visible grants the reader: consumers may not read the
-- project catalog itself. security_barrier: the filter runs before any
-- function of the reader's query sees a row.
CREATE VIEW @extschema@.ml_exposures WITH (security_barrier = true) AS
SELECT p.name AS project, e.consumer, e.rows_per_day, e.calls_per_second,
       e.created_by, e.created_at, e.updated_at
FROM mlops.exposures e
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) e.project_id
WHERE mlops.exposure_visible(e.project_id, e.consumer_oid);
COMMENT ON VIEW @extschema@.ml_exposures IS
    'exposures and their limits: engineers and admins see all, analysts their projects'', consumers their own';

CREATE VIEW @extschema@.ml_api_usage WITH (security_barrier = true) AS
SELECT u.consumer, p.name AS project, u.day, u.calls, u.rows, u.errors,
       u.latency_p50_ms, u.latency_p95_ms, u.latency_p99_ms
FROM (SELECT COALESCE(l.project_id, c.project_id) AS project_id,
             COALESCE(l.consumer, c.consumer) AS consumer,
             COALESCE(l.consumer_oid, c.consumer_oid) AS consumer_oid,
             COALESCE(l.day, c.day) AS day,
             COALESCE(l.calls, c.calls) AS calls,
             COALESCE(l.rows, c.rows) AS rows,
             COALESCE(l.errors, c.errors) AS errors,
             COALESCE(l.latency_p50_ms, c.latency_p50_ms) AS latency_p50_ms,
             COALESCE(l.latency_p95_ms, c.latency_p95_ms) AS latency_p95_ms,
             COALESCE(l.latency_p99_ms, c.latency_p99_ms) AS latency_p99_ms
      FROM mlops.api_usage c
      FULL JOIN mlops.api_usage_live() l
        ON l.project_id OPERATOR(pg_catalog.=) c.project_id
       AND l.consumer_oid OPERATOR(pg_catalog.=) c.consumer_oid
       AND l.day OPERATOR(pg_catalog.=) c.day) u
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) u.project_id
WHERE mlops.exposure_visible(u.project_id, u.consumer_oid);
COMMENT ON VIEW @extschema@.ml_api_usage IS
    'scoring through exposures per consumer, project and UTC day: calls, rows, errors, latency percentiles';

REVOKE ALL ON FUNCTION @extschema@.ml_expose(text, regrole, jsonb),
    @extschema@.ml_revoke_exposure(text, regrole),
    mlops.project_exposed(bigint), mlops.exposure_visible(bigint, oid),
    mlops.api_usage_live() FROM PUBLIC;
REVOKE ALL ON mlops.exposures, mlops.api_usage,
    @extschema@.ml_exposures, @extschema@.ml_api_usage FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_expose(text, regrole, jsonb),
    @extschema@.ml_revoke_exposure(text, regrole) TO ml_engineer;
GRANT EXECUTE ON FUNCTION mlops.project_exposed(bigint), mlops.exposure_visible(bigint, oid),
    mlops.api_usage_live() TO ml_consumer, ml_analyst, ml_engineer;
GRANT SELECT ON mlops.exposures, mlops.api_usage TO ml_analyst, ml_engineer;
GRANT SELECT ON @extschema@.ml_exposures, @extschema@.ml_api_usage
    TO ml_consumer, ml_analyst, ml_engineer;
-- Consumers score exposed projects' deployed versions (never a pinned one:
-- mlops.score_* stay with analysts and engineers).
GRANT EXECUTE ON FUNCTION
    @extschema@.ml_predict(text, anyelement), @extschema@.ml_predict(text, jsonb),
    @extschema@.ml_predict_label(text, anyelement), @extschema@.ml_predict_label(text, jsonb),
    @extschema@.ml_predict_proba(text, anyelement), @extschema@.ml_predict_proba(text, jsonb),
    @extschema@.ml_score(text, regclass, text)
    TO ml_consumer;

SELECT pg_catalog.pg_extension_config_dump('mlops.exposures', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.api_usage', '');
-- API keys and the HTTP endpoint (0.3.0). The endpoint is a background
-- worker (src/api/http_server.c), off unless pg_mlops.http_port is set; it
-- authenticates a request's key against mlops.api_keys and scores as the
-- key's consumer role through ml_predict (docs/http.md).

CREATE TABLE mlops.api_keys (
    id           bigserial PRIMARY KEY,
    prefix       text NOT NULL UNIQUE CHECK (prefix OPERATOR(pg_catalog.~) '^[0-9a-f]{12}$'),
    hash         bytea NOT NULL CHECK (pg_catalog.length(hash) OPERATOR(pg_catalog.=) 32),
    consumer     name NOT NULL,
    label        text,
    created_by   name NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    consumer_oid oid NOT NULL,
    created_by_oid oid
);
COMMENT ON TABLE mlops.api_keys IS 'API keys of the HTTP endpoint: a public prefix and the SHA-256 of the key, never the key';
COMMENT ON COLUMN mlops.api_keys.prefix IS 'the public part of the key (mlk_<prefix>_<secret>), how a request finds its row';
COMMENT ON COLUMN mlops.api_keys.hash IS 'SHA-256 of the whole key';
COMMENT ON COLUMN mlops.api_keys.consumer IS 'the role requests with this key run as';
COMMENT ON COLUMN mlops.api_keys.consumer_oid IS 'the OID of that role: a role dropped and re-created under the name is another role, and the key answers 401';
COMMENT ON COLUMN mlops.api_keys.created_by_oid IS 'the OID of the role that made the key (NULL: it no longer existed at the upgrade)';
COMMENT ON COLUMN mlops.api_keys.last_used_at IS 'the last request that used the key (updated at most once a minute)';

ALTER TABLE mlops.api_keys ENABLE ROW LEVEL SECURITY;
-- Keys are shown to their creator, to roles that act as their consumer,
-- and to admins; the hash column is granted to nobody.
CREATE POLICY api_key_visible ON mlops.api_keys FOR SELECT
    USING (created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
           OR pg_catalog.pg_has_role(CURRENT_USER, 'ml_admin', 'USAGE')
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                      WHERE r.oid OPERATOR(pg_catalog.=) consumer_oid
                        AND pg_catalog.pg_has_role(CURRENT_USER, r.oid, 'USAGE')));

CREATE FUNCTION @extschema@.ml_create_api_key(consumer regrole, label text DEFAULT NULL,
                                             expires_in interval DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'ml_create_api_key'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_create_api_key(regrole, text, interval) IS
    'a new API key for a consumer role, returned once (only its hash is stored)';

CREATE FUNCTION @extschema@.ml_revoke_api_key(key_id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_revoke_api_key'
LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.ml_revoke_api_key(prefix text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ml_revoke_api_key_prefix'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_revoke_api_key(bigint) IS
    'revoke an API key by id; false if it was already revoked';
COMMENT ON FUNCTION @extschema@.ml_revoke_api_key(text) IS
    'revoke an API key by its prefix (or the whole key); false if it was already revoked';

CREATE VIEW @extschema@.ml_api_keys WITH (security_invoker = true) AS
SELECT k.id, k.prefix, k.consumer, k.label, k.created_by, k.created_at, k.expires_at,
       k.revoked_at, k.last_used_at,
       (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at OPERATOR(pg_catalog.>) pg_catalog.now())) AS active
FROM mlops.api_keys k;
COMMENT ON VIEW @extschema@.ml_api_keys IS 'API keys the current role created or acts as (admins: all), without their hashes';

REVOKE ALL ON FUNCTION @extschema@.ml_create_api_key(regrole, text, interval),
    @extschema@.ml_revoke_api_key(bigint), @extschema@.ml_revoke_api_key(text) FROM PUBLIC;
REVOKE ALL ON mlops.api_keys, @extschema@.ml_api_keys FROM PUBLIC;
REVOKE ALL ON SEQUENCE mlops.api_keys_id_seq FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_create_api_key(regrole, text, interval),
    @extschema@.ml_revoke_api_key(bigint), @extschema@.ml_revoke_api_key(text) TO ml_engineer;
GRANT SELECT (id, prefix, consumer, label, created_by, created_at, expires_at, revoked_at, last_used_at, consumer_oid,
               created_by_oid)
    ON mlops.api_keys TO ml_engineer;
GRANT SELECT ON @extschema@.ml_api_keys TO ml_engineer;

SELECT pg_catalog.pg_extension_config_dump('mlops.api_keys', '');
SELECT pg_catalog.pg_extension_config_dump('mlops.api_keys_id_seq', '');

-- Reports (0.3.0): self-contained HTML documents of a project (kinds model,
-- cleaning, drift, jobs), built by ml_report as the caller, stored
-- versioned per project and kind with what they were built from, and
-- published to consumers by engineers (src/report/).
-- The table exists since 0.1.0 (20_catalog.sql); 0.3.0 adds what reports need.
ALTER TABLE mlops.reports DROP CONSTRAINT reports_kind_check;
ALTER TABLE mlops.reports
    ADD CONSTRAINT reports_kind_check
        CHECK (kind IN ('model', 'cleaning', 'drift', 'jobs', 'evaluation', 'custom')),
    ADD COLUMN version integer CHECK (version > 0),
    ADD COLUMN title text,
    ADD COLUMN built_from jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN published_at timestamptz,
    ADD COLUMN published_by name,
    ADD COLUMN created_by_oid oid;
-- Rows written before 0.3.0 get versions in the order they were made.
UPDATE mlops.reports r SET version = n.v, title = r.name
FROM (SELECT id, pg_catalog.row_number() OVER (PARTITION BY project_id, kind ORDER BY id) AS v
      FROM mlops.reports) n
WHERE n.id OPERATOR(pg_catalog.=) r.id;
ALTER TABLE mlops.reports ALTER COLUMN version SET NOT NULL;
CREATE UNIQUE INDEX reports_version ON mlops.reports (project_id, kind, version);
COMMENT ON COLUMN mlops.reports.created_by_oid IS 'the OID of the role that built the report (its builder sees it whatever the relation''s row-level security)';
COMMENT ON COLUMN mlops.reports.version IS 'version of the report, numbered per project and kind from 1';
COMMENT ON COLUMN mlops.reports.built_from IS 'what the report was built from: model id and version, recipe id, row counts, job run ids, window, options';
COMMENT ON COLUMN mlops.reports.content IS 'the numbers the report shows, as JSON';
COMMENT ON COLUMN mlops.reports.html IS 'the report: one self-contained HTML5 document (inline CSS and SVG, no script)';

CREATE FUNCTION @extschema@.ml_report(project text, kind text DEFAULT 'model', options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'ml_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_report(text, text, jsonb) IS
    'build a report of a project (model, cleaning, drift or jobs) as the caller; stores the next version, returns its id';

CREATE FUNCTION @extschema@.ml_publish_report(report bigint, published boolean DEFAULT true)
RETURNS void
AS 'MODULE_PATHNAME', 'ml_publish_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ml_publish_report(bigint, boolean) IS
    'publish a report to the project''s consumers (ml_published_reports), or withdraw it (published false); engineers';

-- Analysts and engineers: every report of the projects they can see
-- (row-level security on mlops.reports), without the document.
CREATE VIEW @extschema@.ml_reports WITH (security_invoker = true) AS
SELECT r.id, p.name AS project, r.kind, r.version, r.title, r.published, r.published_at, r.published_by,
       m.version AS model_version, r.recipe_id, r.built_from, r.content,
       pg_catalog.octet_length(r.html) AS html_bytes, r.created_by, r.created_at
FROM mlops.reports r
LEFT JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) r.project_id
LEFT JOIN mlops.models m ON m.id OPERATOR(pg_catalog.=) r.model_id;
COMMENT ON VIEW @extschema@.ml_reports IS 'reports of the projects the current role can see: kind, version, what they were built from (no html)';

-- Consumers (and everyone who can see the project): published reports,
-- with the document. Not security_invoker: consumers have no right on
-- mlops.reports, so the view reads it as its owner and filters for the
-- reader (CURRENT_USER and project_access() answer for the reader);
-- security_barrier keeps a reader's own functions from seeing rows before
-- the filter has removed them.
-- Consumers a project is exposed to (ml_expose, mlops.project_exposed)
-- read its published reports; so do the roles that can see the project.
CREATE VIEW @extschema@.ml_published_reports WITH (security_barrier = true) AS
SELECT p.name AS project, r.kind, r.version, r.title, r.html, r.published_at, r.published_by,
       r.id AS report, r.created_at
FROM mlops.reports r
JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) r.project_id
WHERE r.published
  AND (mlops.project_access(r.project_id) IS NOT NULL
       OR mlops.project_exposed(r.project_id));
COMMENT ON VIEW @extschema@.ml_published_reports IS 'published reports the current role may read: of the projects it can see or that are exposed to it';

REVOKE ALL ON FUNCTION @extschema@.ml_report(text, text, jsonb),
    @extschema@.ml_publish_report(bigint, boolean) FROM PUBLIC;
REVOKE ALL ON @extschema@.ml_reports, @extschema@.ml_published_reports FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ml_report(text, text, jsonb) TO ml_analyst, ml_engineer;
GRANT EXECUTE ON FUNCTION @extschema@.ml_publish_report(bigint, boolean) TO ml_engineer;
GRANT SELECT ON @extschema@.ml_reports TO ml_analyst, ml_engineer;
GRANT SELECT ON @extschema@.ml_published_reports TO ml_analyst, ml_engineer, ml_consumer;
-- The view asks project_access() for the reader, who needs to run it.
GRANT EXECUTE ON FUNCTION mlops.project_access(bigint) TO ml_consumer;

-- Model, cleaning and drift reports show the data they were built from
-- (sampled rows' residuals and classes, column ranges, levels and
-- histograms, the training rows' shares per bin): besides their builder,
-- only roles that may read that relation see them (the project's relation;
-- a cleaning report's recipe's, by OID still under its name, as
-- recipe_visible), and only when no row-level security filters that
-- relation for them (mlops.rows_unrestricted: the figures cover every row
-- the builder could read). Jobs reports stay visible to whoever can see the
-- project; consumers read published reports through the view.
DROP POLICY project_visible ON mlops.reports;
CREATE POLICY project_visible ON mlops.reports FOR SELECT
    USING (created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
           OR (mlops.project_access(project_id) IS NOT NULL
               AND (kind OPERATOR(pg_catalog.<>) ALL (ARRAY['model', 'cleaning', 'drift'])
                    OR (kind OPERATOR(pg_catalog.=) ANY (ARRAY['model', 'drift'])
                        AND EXISTS (SELECT 1 FROM mlops.projects p
                                    CROSS JOIN LATERAL pg_catalog.to_regclass(pg_catalog.format('%I.%I', p.relation_schema, p.relation_name)) s(rel)
                                    WHERE p.id OPERATOR(pg_catalog.=) project_id
                                      AND COALESCE(pg_catalog.has_table_privilege(s.rel, 'SELECT'), false)
                                      AND COALESCE(mlops.rows_unrestricted(s.rel), false)))
                    OR (kind OPERATOR(pg_catalog.=) 'cleaning'
                        AND EXISTS (SELECT 1 FROM mlops.recipes c
                                    WHERE c.id OPERATOR(pg_catalog.=) recipe_id
                                      AND c.source_relid IS NOT NULL
                                      AND pg_catalog.to_regclass(pg_catalog.format('%I.%I', c.source_schema, c.source_name))::pg_catalog.oid
                                          OPERATOR(pg_catalog.=) c.source_relid
                                      AND COALESCE(pg_catalog.has_table_privilege(c.source_relid, 'SELECT'), false)
                                      AND COALESCE(mlops.rows_unrestricted(c.source_relid), false))))));
-- Model versions under row-level security (0.3.0, review 5). A version's
-- metrics, training profile, row counts and payload are aggregates of the
-- training rows its trainer could read; a reader whose row-level security
-- on the training relation is narrower would learn about rows hidden from
-- it. So, as column profiles and reports, a version is shown to project
-- readers only when row-level security filters nothing of its training
-- relation for them (mlops.rows_unrestricted), or to its trainer (by OID).
-- A training relation that no longer resolves under its name filters
-- nothing. Deployments, trials and drift alerts of a hidden version (its
-- metrics, scores and PSI) are hidden with it; ml_drift leaves it out and
-- ml_check_drift refuses it (src/model/drift.c). Scoring is unaffected
-- (scores are what readers are given).
ALTER TABLE mlops.models ADD COLUMN created_by_oid oid;
COMMENT ON COLUMN mlops.models.created_by_oid IS
    'the OID of the role that trained the version (it sees it whatever the training relation''s row-level security)';
DROP POLICY project_visible ON mlops.models;
CREATE POLICY project_visible ON mlops.models FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL
           AND (created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
                OR COALESCE(mlops.rows_unrestricted(
                       -- by the catalog, not to_regclass, which raises for a schema the reader may not use
                       (SELECT c.oid FROM pg_catalog.pg_class c
                        JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                        CROSS JOIN LATERAL pg_catalog.parse_ident(training_relation) i(part)
                        WHERE n.nspname OPERATOR(pg_catalog.=) i.part[1]
                          AND c.relname OPERATOR(pg_catalog.=) i.part[2])), true)));
DROP POLICY project_visible ON mlops.deployments;
CREATE POLICY project_visible ON mlops.deployments FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL
           AND (model_id IS NULL
                OR EXISTS (SELECT 1 FROM mlops.models m WHERE m.id OPERATOR(pg_catalog.=) model_id)));
DROP POLICY project_visible ON mlops.trials;
CREATE POLICY project_visible ON mlops.trials FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL
           AND (model_id IS NULL
                OR EXISTS (SELECT 1 FROM mlops.models m WHERE m.id OPERATOR(pg_catalog.=) model_id)));
DROP POLICY project_visible ON mlops.drift_alerts;
CREATE POLICY project_visible ON mlops.drift_alerts FOR SELECT
    USING (mlops.project_access(project_id) IS NOT NULL
           AND (model_id IS NULL
                OR EXISTS (SELECT 1 FROM mlops.models m WHERE m.id OPERATOR(pg_catalog.=) model_id)));
-- A model or drift report shows its version's stored metrics and training
-- shares too: it is hidden with the version (the project's relation may
-- have been repointed since the version was trained on another).
DROP POLICY project_visible ON mlops.reports;
CREATE POLICY project_visible ON mlops.reports FOR SELECT
    USING (created_by_oid OPERATOR(pg_catalog.=) (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
           OR (mlops.project_access(project_id) IS NOT NULL
               AND (kind OPERATOR(pg_catalog.<>) ALL (ARRAY['model', 'cleaning', 'drift'])
                    OR (kind OPERATOR(pg_catalog.=) ANY (ARRAY['model', 'drift'])
                        AND (model_id IS NULL
                             OR EXISTS (SELECT 1 FROM mlops.models m WHERE m.id OPERATOR(pg_catalog.=) model_id))
                        AND EXISTS (SELECT 1 FROM mlops.projects p
                                    CROSS JOIN LATERAL (SELECT pc.oid FROM pg_catalog.pg_class pc JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) pc.relnamespace WHERE pn.nspname OPERATOR(pg_catalog.=) p.relation_schema AND pc.relname OPERATOR(pg_catalog.=) p.relation_name) s(rel)
                                    WHERE p.id OPERATOR(pg_catalog.=) project_id
                                      AND COALESCE(pg_catalog.has_table_privilege(s.rel, 'SELECT'), false)
                                      AND COALESCE(mlops.rows_unrestricted(s.rel), false)))
                    OR (kind OPERATOR(pg_catalog.=) 'cleaning'
                        AND EXISTS (SELECT 1 FROM mlops.recipes c
                                    WHERE c.id OPERATOR(pg_catalog.=) recipe_id
                                      AND c.source_relid IS NOT NULL
                                      AND (SELECT pc.oid FROM pg_catalog.pg_class pc JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) pc.relnamespace WHERE pn.nspname OPERATOR(pg_catalog.=) c.source_schema AND pc.relname OPERATOR(pg_catalog.=) c.source_name)::pg_catalog.oid
                                          OPERATOR(pg_catalog.=) c.source_relid
                                      AND COALESCE(pg_catalog.has_table_privilege(c.source_relid, 'SELECT'), false)
                                      AND COALESCE(mlops.rows_unrestricted(c.source_relid), false))))));
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
