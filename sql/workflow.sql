-- Workflows: their definition, the checks on every step, who may do what,
-- and the workflow job kind. Nothing runs here (the launcher does not serve
-- this database); test/jobs_workflow.sh runs workflows.
SET client_min_messages = warning;
SET ROLE regress_alice;
SELECT ml_create_project('wf_orders', 'orders', 'amount') > 0 AS created;
RESET ROLE;
GRANT SELECT ON orders TO ml_engineer;
CREATE TABLE wf_labelled AS SELECT * FROM orders;
GRANT SELECT ON wf_labelled TO ml_analyst, ml_engineer;
CREATE TEMP TABLE wf_temp AS SELECT * FROM orders;
SET client_min_messages = notice;

SET ROLE regress_alice;
-- every kind of step, normalised: names schema-qualified, defaults filled
SELECT ml_create_workflow('wf_orders', 'full', '[
    {"kind": "import", "relation": "orders", "into_table": "wf_staging", "mode": "replace"},
    {"kind": "clean", "relation": "wf_staging", "options": {"outliers": false}},
    {"kind": "train", "algorithm": "linear", "hyperparams": {}, "options": {"test_fraction": 0.25}},
    {"kind": "evaluate", "relation": "wf_labelled"},
    {"kind": "gate"},
    {"kind": "deploy"},
    {"kind": "score", "relation": "wf_staging", "into_table": "wf_scored"},
    {"kind": "report", "report": "model", "publish": true}]') > 0 AS created;
SELECT project, name, step_count, auto_deploy, auto_deploy_allowed_by, created_by
FROM ml_workflows WHERE name = 'full';
SELECT jsonb_pretty(steps) FROM ml_workflows WHERE name = 'full';
-- the gate's options: a metric of the task, an absolute or relative margin
SELECT ml_create_workflow('wf_orders', 'gates', '[{"kind": "train"},
    {"kind": "gate", "metric": "r2", "margin": 0.01}, {"kind": "gate", "metric": "mae", "margin": "2.5%"}]') > 0 AS created;
SELECT s->>'metric' AS metric, s->>'margin' AS margin, s->>'direction' AS direction
FROM ml_workflows, jsonb_array_elements(steps) s WHERE name = 'gates' AND s->>'kind' = 'gate';

-- what is refused, with the step it concerns (the context says which)
SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate", "metric": "accuracy"}]');
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'full', '[{"kind": "train"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '{"kind": "train"}')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '"train"')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x',
    (SELECT jsonb_agg('{"kind": "train"}'::jsonb) FROM generate_series(1, 51)))$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[1]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"algorithm": "linear"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": 7}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "predict"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train", "relation": "orders"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train", "algorithm": "magic"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train", "hyperparams": [1]}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train", "algorithm": ["linear"]}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "evaluate", "relation": "wf_labelled"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "gate"}, {"kind": "train"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "deploy"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate"}, {"kind": "train"}, {"kind": "deploy"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "evaluate"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate", "metric": "accuracy"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate", "metric": "speed"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate", "margin": -1}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate", "margin": "abc"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate", "margin": "150%"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate", "margin": "-5%"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate", "margin": "%"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate", "margin": true}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate", "margin": 1e400}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "train"}, {"kind": "gate", "metric": "rmse", "direction": "higher is better"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "deploy", "version": 3}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "score", "relation": "orders"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "score", "relation": "no_such", "into_table": "o"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "score", "relation": "", "into_table": "o"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "score", "relation": "a.b.c.d", "into_table": "o"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "score", "relation": "orders", "into_table": "pg_temp.o"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "score", "relation": "orders", "into_table": "no_schema.o"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "score", "relation": "orders", "into_table": "o", "mode": "merge"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "clean", "relation": "orders", "mode": "replace"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "clean"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "clean", "relation": "orders", "recipe": 1, "options": {}}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "clean", "relation": "orders", "recipe": "no such recipe"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "clean", "relation": "orders", "recipe": [1]}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "import", "into_table": "o"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "import", "path": "/tmp/x.csv", "relation": "orders", "into_table": "o"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "import", "relation": "orders", "into_table": "o", "options": {}}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "import", "path": "/tmp/x.csv"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "report", "publish": "yes"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "report", "options": 1}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', '', '[{"kind": "train"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', repeat('w', 201), '[{"kind": "train"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', NULL)$$);
SELECT regress_try($$SELECT ml_create_workflow(NULL, 'x', '[{"kind": "train"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('no_such_project', 'x', '[{"kind": "train"}]')$$);
RESET ROLE;
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[{"kind": "score", "relation": "wf_temp", "into_table": "o"}]')$$);
SET ROLE regress_alice;
-- a relation an earlier step writes need not exist yet; a later one must
SELECT ml_create_workflow('wf_orders', 'staged', '[
    {"kind": "import", "relation": "orders", "into_table": "wf_new_rows"},
    {"kind": "score", "relation": "wf_new_rows", "into_table": "public.wf_new_scores"}]') > 0 AS created;
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'x', '[
    {"kind": "score", "relation": "wf_later", "into_table": "o"},
    {"kind": "import", "relation": "orders", "into_table": "wf_later"}]')$$);
SELECT count(*) AS workflows FROM ml_workflows WHERE project = 'wf_orders';
-- the task decides the gate's metrics; forecast projects do not train here
SET client_min_messages = warning;
SELECT ml_create_project('wf_late', 'orders', 'late', 'classification') > 0 AS created;
SELECT ml_create_project('wf_fc', 'orders', 'amount', 'forecast') > 0 AS created;
SET client_min_messages = notice;
SELECT ml_create_workflow('wf_late', 'cls', '[{"kind": "train"}, {"kind": "gate"}, {"kind": "gate", "metric": "log_loss"}]') > 0 AS created;
SELECT s->>'metric' AS metric, s->>'direction' AS direction
FROM ml_workflows, jsonb_array_elements(steps) s WHERE name = 'cls' AND s->>'kind' = 'gate';
SELECT regress_try($$SELECT ml_create_workflow('wf_late', 'x', '[{"kind": "train"}, {"kind": "gate", "metric": "rmse"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_fc', 'x', '[{"kind": "train"}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('wf_fc', 'x', '[{"kind": "import", "relation": "orders", "into_table": "o", "when": "now"}]')$$);
SELECT ml_drop_project('wf_late');
SELECT ml_drop_project('wf_fc');

-- who may: the project's owner and members, engineers; not other analysts or consumers
SET ROLE regress_bob;
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'bob', '[{"kind": "train"}]')$$);
SELECT regress_try($$SELECT ml_drop_workflow('wf_orders', 'full')$$);
SELECT count(*) AS seen_by_bob FROM ml_workflows;
SET ROLE regress_carl;
SELECT regress_try($$SELECT ml_create_workflow('wf_orders', 'carl', '[{"kind": "train"}]')$$);
SELECT regress_try($$SELECT count(*) FROM ml_workflows$$);
SELECT regress_try($$SELECT count(*) FROM ml_job_run_steps$$);
-- only engineers allow automatic deployment
SET ROLE regress_alice;
SELECT regress_try($$SELECT ml_allow_auto_deploy('wf_orders', 'full', true)$$);
SET ROLE regress_eve;
SELECT ml_create_workflow('wf_orders', 'eve', '[{"kind": "train"}, {"kind": "gate"}, {"kind": "deploy"}]') > 0 AS created;
SELECT ml_allow_auto_deploy('wf_orders', 'eve');
SELECT name, auto_deploy, auto_deploy_allowed_by, auto_deploy_allowed_at IS NOT NULL AS allowed_at
FROM ml_workflows WHERE name = 'eve';
SELECT ml_allow_auto_deploy('wf_orders', 'eve', false);
SELECT name, auto_deploy, auto_deploy_allowed_by FROM ml_workflows WHERE name = 'eve';
SELECT regress_try($$SELECT ml_allow_auto_deploy('wf_orders', 'no such workflow', true)$$);
SELECT regress_try($$SELECT ml_allow_auto_deploy('wf_orders', 'eve', NULL)$$);

-- the workflow job kind: by name in the job's project, its id kept
SET client_min_messages = warning;
SELECT ml_schedule('wf_orders', 'workflow', '@daily', '{"name": "wf nightly", "workflow": "eve", "retries": 1}') > 0 AS scheduled;
SET client_min_messages = notice;
SELECT kind, command ? 'workflow' AS has_workflow,
       (command->>'workflow')::bigint = (SELECT id FROM ml_workflows WHERE name = 'eve') AS its_id
FROM ml_jobs WHERE name = 'wf nightly';
SELECT regress_try($$SELECT ml_schedule('wf_orders', 'workflow', '@daily')$$);
SELECT regress_try($$SELECT ml_schedule('wf_orders', 'workflow', '@daily', '{"workflow": "nope"}')$$);
SELECT regress_try($$SELECT ml_schedule('wf_orders', 'workflow', '@daily', '{"workflow": 1}')$$);
SELECT regress_try($$SELECT ml_schedule('wf_orders', 'workflow', '@daily', '{"workflow": "eve", "relation": "orders"}')$$);
SELECT regress_try($$SELECT ml_schedule('wf_orders', 'train', '@daily', '{"workflow": "eve"}')$$);
-- a job runs only a workflow its owner created: alice's steps would run
-- with eve's rights (into eve's tables, reading what only eve may read)
SELECT regress_try($$SELECT ml_schedule('wf_orders', 'workflow', '@daily', '{"workflow": "full"}')$$);
SELECT regress_try($$SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'wf nightly'), '{"workflow": "full"}')$$);
SELECT ml_create_workflow('wf_orders', 'eve 2', '[{"kind": "train"}]') > 0 AS created;
SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'wf nightly'), '{"workflow": "eve 2"}');
SELECT (command->>'workflow')::bigint = (SELECT id FROM ml_workflows WHERE name = 'eve 2') AS rebound
FROM ml_jobs WHERE name = 'wf nightly';
SELECT regress_try($$SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'wf nightly'), '{"workflow": "nope"}')$$);
SELECT regress_try($$SELECT ml_drop_workflow('wf_orders', 'eve 2')$$);
-- runs on demand: resume (default) or restart; analysts may not run workflow jobs
SET client_min_messages = warning;
SELECT ml_run_now((SELECT id FROM ml_jobs WHERE name = 'wf nightly'), true) > 0 AS queued;
SET client_min_messages = notice;
SELECT r.status, r.trigger, r.from_start FROM mlops.job_runs r JOIN ml_jobs j ON j.id = r.job_id WHERE j.name = 'wf nightly';
SELECT ml_cancel((SELECT max(run) FROM ml_job_runs WHERE job_name = 'wf nightly'));
SELECT id AS wf_job FROM ml_jobs WHERE name = 'wf nightly' \gset
SET ROLE regress_alice;
SELECT regexp_replace(regress_try('SELECT ml_run_now(' || :wf_job || ')'), 'job \d+', 'job N') AS regress_try;
SELECT regexp_replace(regress_try('SELECT ml_run_now(' || :wf_job || ', true)'), 'job \d+', 'job N') AS regress_try;
SET ROLE regress_eve;
SELECT ml_unschedule(:wf_job);
SELECT ml_drop_workflow('wf_orders', 'eve 2');
SELECT ml_drop_workflow('wf_orders', 'full');
SELECT regress_try($$SELECT ml_drop_workflow('wf_orders', 'full')$$);
SELECT name FROM ml_workflows WHERE project = 'wf_orders' ORDER BY name;

-- hostile identifiers: stored quoted, never spliced
RESET ROLE;
CREATE SCHEMA "Wf; DROP TABLE orders; --";
CREATE TABLE "Wf; DROP TABLE orders; --"."Rows ""In""" AS SELECT * FROM orders;
GRANT USAGE ON SCHEMA "Wf; DROP TABLE orders; --" TO ml_analyst, ml_engineer;
GRANT SELECT ON "Wf; DROP TABLE orders; --"."Rows ""In""" TO ml_analyst, ml_engineer;
SET ROLE regress_alice;
SELECT ml_create_workflow('wf_orders', $$w'); DROP TABLE orders; --$$, '[
    {"kind": "score", "relation": "\"Wf; DROP TABLE orders; --\".\"Rows \"\"In\"\"\"",
     "into_table": "\"Wf; DROP TABLE orders; --\".\"Out \"\"put\"\"\""}]') > 0 AS created;
SELECT name, steps->0->>'relation' AS relation, steps->0->>'into_table' AS into_table
FROM ml_workflows WHERE name LIKE 'w''%';
SELECT ml_drop_workflow('wf_orders', $$w'); DROP TABLE orders; --$$);
RESET ROLE;
DROP SCHEMA "Wf; DROP TABLE orders; --" CASCADE;
SELECT count(*) AS orders_rows FROM orders;

-- a project's workflows go with it
SET ROLE regress_alice;
SELECT ml_drop_project('wf_orders');
RESET ROLE;
SELECT count(*) AS workflows_left FROM mlops.workflows;
DROP TABLE wf_labelled;
