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
