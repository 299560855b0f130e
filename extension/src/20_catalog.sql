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
