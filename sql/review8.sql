-- Review 8: access decisions by role and relation OID, not by name. A run's
-- requester and a job's owner are roles by OID (a role dropped and
-- re-created under the same name is another role), and so is a workflow's
-- creator; a hidden model version
-- follows its training relation by OID through renames; its deployments,
-- trials, drift alerts and model and drift reports are hidden with it
-- (mlops.model_visible). Nothing here runs a job: the launcher does not
-- serve this database.
SET client_min_messages = warning;
CREATE ROLE regress_r8_a LOGIN IN ROLE ml_analyst;
CREATE ROLE regress_r8_b LOGIN IN ROLE ml_analyst;
CREATE ROLE regress_r8_x LOGIN IN ROLE ml_analyst;
CREATE ROLE regress_r8_e LOGIN IN ROLE ml_engineer;
CREATE TABLE r8_t AS
SELECT i AS id, (i % 7)::float8 AS x, 2 * (i % 7) + (i % 3) AS y FROM generate_series(1, 60) i;
GRANT SELECT ON r8_t TO ml_analyst, ml_engineer;
SET ROLE regress_r8_a;
SELECT ml_create_project('r8_p', 'r8_t', 'y') > 0 AS created;
SELECT ml_add_member('r8_p', 'regress_r8_x');
SET ROLE regress_r8_e;
SELECT ml_schedule('r8_p', 'train', '@daily') AS job \gset
SELECT name AS job_name FROM mlops.jobs WHERE id = :job \gset

-- 1. ml_cancel: an analyst cancels the runs it asked for, by OID. A role
-- re-created under the name of the analyst who asked, and made a member
-- again, cancels none of the old role's runs (it did, by name).
SET ROLE regress_r8_x;
SELECT ml_run_now(:job) AS run \gset
RESET ROLE;
SELECT requested_by, requested_by_oid = 'regress_r8_x'::regrole AS requested_by_this_role
FROM mlops.job_runs WHERE id = :run;
DROP ROLE regress_r8_x;
CREATE ROLE regress_r8_x LOGIN IN ROLE ml_analyst;
SET ROLE regress_r8_a;
SELECT ml_add_member('r8_p', 'regress_r8_x');
SET ROLE regress_r8_x;
SELECT regexp_replace(regress_try('SELECT ml_cancel(' || :run || ')'), 'run \d+', 'run N') AS new_role_cancels;
-- the runs it asks for itself it cancels
SELECT ml_run_now(:job) AS run2 \gset
SELECT ml_cancel(:run2) AS own_run_cancelled;
RESET ROLE;
SELECT status FROM mlops.job_runs WHERE id = :run;
-- the job's owner still cancels the old role's run
SET ROLE regress_r8_e;
SELECT ml_cancel(:run) AS owner_cancels;
RESET ROLE;

-- 2. A drift policy's retrain job is one the caller could run: a role
-- re-created under the name of the job's owner does not own it (it did,
-- by name), so the job does not exist for it.
DROP ROLE regress_r8_e;
CREATE ROLE regress_r8_e LOGIN IN ROLE ml_engineer;
SET ROLE regress_r8_e;
SELECT regexp_replace(regress_try(format($$SELECT ml_set_drift_policy('r8_p', '{"retrain_job": %s}')$$,
                                         to_jsonb(:'job_name'::text))),
                      'job "[^"]*"', 'job "J"') AS new_owner_names_old_job;
-- its own job it names
SELECT ml_schedule('r8_p', 'train', '@daily') AS job2 \gset
SELECT ml_set_drift_policy('r8_p', jsonb_build_object('retrain_job', (SELECT name FROM mlops.jobs WHERE id = :job2)))
       ->> 'retrain_job' IS NOT NULL AS own_job_named;
RESET ROLE;

-- 3. A workflow job runs a workflow only when its creator has the job
-- owner's privileges, by OID: the workflow of a dropped analyst does not
-- become the engineer's to run when a role of that name is re-created as a
-- member of the engineer (it did, by name).
CREATE ROLE regress_r8_w LOGIN IN ROLE ml_analyst;
SET ROLE regress_r8_a;
SELECT ml_add_member('r8_p', 'regress_r8_w');
SET ROLE regress_r8_w;
SELECT ml_create_workflow('r8_p', 'r8 flow', '[{"kind": "train"}]') > 0 AS created;
SET ROLE regress_r8_e;
SELECT regress_try($$SELECT ml_schedule('r8_p', 'workflow', '@daily', '{"workflow": "r8 flow"}')$$) AS analysts_workflow;
RESET ROLE;
SELECT created_by, created_by_oid = 'regress_r8_w'::regrole AS created_by_this_role
FROM mlops.workflows WHERE name = 'r8 flow';
DROP ROLE regress_r8_w;
CREATE ROLE regress_r8_w LOGIN IN ROLE regress_r8_e;
SET ROLE regress_r8_e;
SELECT regress_try($$SELECT ml_schedule('r8_p', 'workflow', '@daily', '{"workflow": "r8 flow"}')$$) AS recreated_creator;
-- a workflow the new role (a member of the engineer) creates, the job runs
SET ROLE regress_r8_w;
SELECT ml_create_workflow('r8_p', 'r8 trusted', '[{"kind": "train"}]') > 0 AS created;
SET ROLE regress_r8_e;
SELECT ml_schedule('r8_p', 'workflow', '@daily', '{"workflow": "r8 trusted"}') AS job3 \gset
SELECT ml_unschedule(:job3);
RESET ROLE;

-- 4. A version hidden by row-level security (its training relation is
-- narrower for the member b than for its trainer a) and what hangs off it:
-- its deployments, trials, drift alerts and drift report (model_id now
-- recorded) are hidden with it, through one rule, mlops.model_visible.
CREATE TABLE r8_secret AS
SELECT i AS id, CASE WHEN i % 2 = 0 THEN 'regress_r8_a' ELSE 'regress_r8_b' END AS seen_by,
       (i % 3)::float8 AS x, (i % 11)::float8 AS z, 2 * (i % 3) + (i % 11) AS y
FROM generate_series(1, 80) i;
ALTER TABLE r8_secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY r8_own ON r8_secret FOR SELECT
    USING (seen_by = current_user OR pg_has_role(current_user, 'ml_engineer', 'USAGE'));
GRANT SELECT ON r8_secret TO ml_analyst, ml_engineer;
CREATE TABLE r8_open AS SELECT * FROM r8_secret;
GRANT SELECT ON r8_open TO ml_analyst, ml_engineer;
SET ROLE regress_r8_a;
SELECT ml_create_project('r8_secret', 'r8_secret', 'y') AS pid \gset
SELECT ml_add_member('r8_secret', 'regress_r8_b');
SELECT version FROM ml_train('r8_secret', 'linear', options => '{"exclude": ["id", "seen_by"], "recipe": "none"}');
SELECT ml_mark_ready('r8_secret', 1);
SET ROLE regress_r8_e;
SELECT ml_deploy('r8_secret', 1);
SET ROLE regress_r8_a;
SELECT ml_score('r8_secret', 'r8_secret', 'r8_scored') AS scored;
SELECT ml_report('r8_secret', 'drift') AS drift_report \gset
RESET ROLE;
SELECT id AS mid FROM mlops.models WHERE project_id = :pid AND version = 1 \gset
SELECT training_relation, training_relid = 'r8_secret'::regclass AS training_relid_recorded
FROM mlops.models WHERE id = :mid;
SELECT model_id = :mid AS drift_report_records_its_version FROM mlops.reports WHERE id = :drift_report;
INSERT INTO mlops.trials (project_id, version, model_id, trial, rung, algorithm, train_rows, fraction, metric,
                          score, fit_seconds, status, chosen)
VALUES (:pid, 1, :mid, 1, 1, 'linear', 40, 1, 'rmse', 0.5, 0.01, 'completed', true);
INSERT INTO mlops.drift_alerts (project_id, model_id, version, feature, psi, rows, window_start, window_end,
                                psi_threshold, missing_threshold, raised_by)
VALUES (:pid, :mid, 1, 'x', 0.5, 40, now() - interval '1 hour', now(), 0.2, 0.1, 'regress_r8_a');
CREATE FUNCTION r8_seen(pid bigint) RETURNS TABLE (models bigint, deployments bigint, trials bigint,
                                                  alerts bigint, drift_reports bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM mlops.models WHERE project_id = pid),
           (SELECT count(*) FROM mlops.deployments WHERE project_id = pid),
           (SELECT count(*) FROM mlops.trials WHERE project_id = pid),
           (SELECT count(*) FROM mlops.drift_alerts WHERE project_id = pid),
           (SELECT count(*) FROM mlops.reports WHERE project_id = pid AND kind = 'drift')
$$;
GRANT EXECUTE ON FUNCTION r8_seen(bigint) TO ml_analyst;
SET ROLE regress_r8_a;
SELECT 'trainer' AS who, * FROM r8_seen(:pid);
SELECT mlops.model_visible(:mid) AS trainer_sees, mlops.model_visible(NULL) AS no_version;
SET ROLE regress_r8_b;
SELECT 'member' AS who, * FROM r8_seen(:pid);
SELECT mlops.model_visible(:mid) AS member_sees, mlops.model_visible(NULL) AS no_version;
RESET ROLE;
-- the rule is one SECURITY INVOKER function, used by every policy that
-- shows a version's rows (and PUBLIC may not run it)
SELECT prosecdef AS definer, has_function_privilege('public', oid, 'EXECUTE') AS public_runs
FROM pg_proc WHERE oid = 'mlops.model_visible(bigint)'::regprocedure;
SELECT tablename, qual LIKE '%model_visible(model_id)%' AS uses_model_visible
FROM pg_policies WHERE schemaname = 'mlops' AND policyname = 'project_visible'
  AND tablename IN ('deployments', 'trials', 'drift_alerts', 'reports') ORDER BY tablename;
-- The project repointed to an unrestricted relation: the drift report
-- still describes the hidden version, so it stays hidden from b (it was
-- shown: the report carried no model_id, only the project's relation
-- counted).
SET ROLE regress_r8_a;
SELECT ml_update_project('r8_secret', relation => 'r8_open');
SET ROLE regress_r8_b;
SELECT 'member, project repointed' AS who, * FROM r8_seen(:pid);
RESET ROLE;

-- 5. The training relation renamed, or moved to another schema, with an
-- unrestricted relation put under the old name: the version stays hidden
-- from b (the rule followed the name: renamed, the version was shown).
ALTER TABLE r8_secret RENAME TO r8_secret_moved;
SET ROLE regress_r8_b;
SELECT 'member, relation renamed' AS who, * FROM r8_seen(:pid);
RESET ROLE;
CREATE TABLE r8_secret AS SELECT * FROM r8_open;
GRANT SELECT ON r8_secret TO ml_analyst;
CREATE SCHEMA r8_elsewhere;
ALTER TABLE r8_secret_moved SET SCHEMA r8_elsewhere;
SET ROLE regress_r8_b;
SELECT 'member, decoy under the old name' AS who, * FROM r8_seen(:pid);
RESET ROLE;
-- Dropped, the training relation filters nothing (its rows and policies
-- are gone): the relation now under its name decides, an unrestricted one
-- shows the version, one that filters rows for b hides it, none shows it.
DROP TABLE r8_elsewhere.r8_secret_moved;
SET ROLE regress_r8_b;
SELECT 'member, relation dropped' AS who, models, deployments FROM r8_seen(:pid);
RESET ROLE;
ALTER TABLE r8_secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY r8_a_only ON r8_secret FOR SELECT USING (seen_by = current_user);
SET ROLE regress_r8_b;
SELECT 'member, filtered under the name' AS who, models, deployments FROM r8_seen(:pid);
RESET ROLE;
DROP TABLE r8_secret;
SET ROLE regress_r8_b;
SELECT 'member, nothing under the name' AS who, models, deployments FROM r8_seen(:pid);
RESET ROLE;

SET ROLE regress_r8_e;
SELECT ml_unschedule(:job2);
SELECT ml_drop_project('r8_p', force => true);
SELECT ml_drop_project('r8_secret', force => true);
RESET ROLE;
DELETE FROM mlops.jobs WHERE id = :job;
DROP FUNCTION r8_seen(bigint);
DROP TABLE r8_t, r8_open, r8_scored;
DROP SCHEMA r8_elsewhere;
DROP ROLE regress_r8_a, regress_r8_b, regress_r8_x, regress_r8_w, regress_r8_e;
RESET client_min_messages;
