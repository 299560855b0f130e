-- The full privilege matrix: every function, table, view, sequence and
-- schema of the extension x each group role x PUBLIC, compared with the
-- intended matrix. A grant that is missing or extra fails the test.
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(4);

CREATE TEMP TABLE members AS
SELECT d.classid, d.objid FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_mlops'
WHERE d.deptype = 'e';

CREATE TEMP TABLE grantees (grantee text);
INSERT INTO grantees VALUES ('ml_analyst'), ('ml_engineer'), ('ml_admin'), ('ml_consumer');

-- What is granted, as (object, grantee, privilege). Grants through role
-- inheritance count: an admin can do what an analyst can.
CREATE TEMP VIEW actual AS
SELECT p.oid::regprocedure::text AS object, g.grantee, 'EXECUTE' AS privilege
FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
CROSS JOIN grantees g
WHERE has_function_privilege(g.grantee, p.oid, 'EXECUTE')
UNION ALL
SELECT c.oid::regclass::text, g.grantee, priv
FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
CROSS JOIN grantees g
CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) priv
WHERE c.relkind IN ('r', 'v') AND has_table_privilege(g.grantee, c.oid, priv)
UNION ALL
SELECT c.oid::regclass::text, g.grantee, priv
FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
CROSS JOIN grantees g
CROSS JOIN unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) priv
WHERE c.relkind = 'S' AND has_sequence_privilege(g.grantee, c.oid, priv)
UNION ALL
SELECT n.nspname::text, g.grantee, priv
FROM members m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
CROSS JOIN grantees g
CROSS JOIN unnest(ARRAY['USAGE', 'CREATE']) priv
WHERE has_schema_privilege(g.grantee, n.oid, priv);

CREATE TEMP TABLE intended (object text, grantee text, privilege text);
INSERT INTO intended
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['ml_create_project(text,regclass,text,text,text)',
                 'ml_update_project(text,text,regclass,text,text,text)',
                 'ml_add_member(text,regrole)', 'ml_remove_member(text,regrole)',
                 'ml_mark_ready(text,integer,text)']) f,
    unnest(ARRAY['ml_analyst', 'ml_admin']) r
UNION ALL
SELECT 'ml_drop_project(text,boolean)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['ml_deploy(text,integer,text)', 'ml_deploy(text,text,text)', 'ml_rollback(text,text)']) f,
    unnest(ARRAY['ml_engineer', 'ml_admin']) r
UNION ALL
SELECT f, 'ml_analyst', 'EXECUTE' FROM
    unnest(ARRAY['ml_impute(regclass,text[],text,jsonb,text)', 'ml_clean(regclass,jsonb,text)',
                 'ml_import_csv(text,text,text,jsonb)']) f
UNION ALL
SELECT f, 'ml_admin', 'EXECUTE' FROM
    unnest(ARRAY['ml_impute(regclass,text[],text,jsonb,text)', 'ml_clean(regclass,jsonb,text)',
                 'ml_import_csv(text,text,text,jsonb)']) f
UNION ALL
SELECT 'ml_apply_recipe(bigint,regclass,text)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['mlops.try_cast_numeric(text)', 'mlops.try_cast_bool(text)',
                 'mlops.try_cast_timestamp(text)', 'mlops.try_cast_timestamptz(text)', 'mlops.try_cast_bigint(text)',
                 'mlops.try_round_int8(numeric)', 'mlops.try_round_int4(numeric)']) f,
    unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['mlops.ml_gram_agg(double precision,double precision[])',
                 'mlops.ml_linear_solve(bytea,double precision,boolean)']) f,
    unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
-- consumers too: ml_published_reports asks it for its reader
SELECT 'mlops.project_access(bigint)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin', 'ml_consumer']) r
UNION ALL
-- the policies of profiles and reports ask it for their reader
SELECT 'mlops.rows_unrestricted(oid)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
-- the policies of deployments, trials, drift alerts and reports ask it
-- for their reader (who reads those tables: not consumers, not PUBLIC)
SELECT 'mlops.model_visible(bigint)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
-- reports (85_reports.sql): analysts and engineers build them and list
-- them; engineers publish; consumers read the published ones
SELECT 'ml_report(text,text,jsonb)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
-- BI views and ml_cleaning_report: their columns call these as the reader
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['mlops.metric_value(jsonb,text)', 'mlops.headline_metrics(jsonb)',
                 'mlops.report_count(jsonb,text)', 'mlops.report_number(jsonb,text)']) f,
    unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT 'ml_publish_report(bigint,boolean)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_engineer', 'ml_admin']) r
UNION ALL
SELECT 'ml_reports', r, 'SELECT'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT 'ml_published_reports', r, 'SELECT'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin', 'ml_consumer']) r
UNION ALL
SELECT t, r, 'SELECT' FROM
    unnest(ARRAY['mlops.projects', 'mlops.project_members', 'mlops.recipes', 'mlops.models',
                 'mlops.deployments', 'mlops.reports', 'mlops.audit_log', 'mlops.trials',
                 'mlops.column_profiles',
                 'ml_projects', 'ml_audit', 'ml_cleaning_report', 'ml_trials', 'ml_leaderboard',
                 'ml_data_quality', 'ml_deployments']) t,
    unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT t, r, 'SELECT' FROM
    unnest(ARRAY['mlops.jobs', 'mlops.job_runs']) t,
    unnest(ARRAY['ml_engineer', 'ml_admin']) r
UNION ALL
-- engineers retrain (their train jobs call ml_train as them)
SELECT 'ml_train(text,text,jsonb,jsonb)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT 'ml_train_groups(text,text[],text,jsonb,jsonb)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_analyst', 'ml_admin']) r
UNION ALL
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['ml_predict(text,anyelement)', 'ml_predict(text,jsonb)',
                 'ml_predict_label(text,anyelement)', 'ml_predict_label(text,jsonb)',
                 'ml_predict_proba(text,anyelement)', 'ml_predict_proba(text,jsonb)',
                 'mlops.score_value(text,bigint,anyelement)', 'mlops.score_label(text,bigint,anyelement)',
                 'mlops.score_proba(text,bigint,anyelement)', 'ml_score(text,regclass,text)',
                 'ml_evaluate(text,integer,regclass,jsonb)']) f,
    unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT 'ml_export_pmml(text,integer)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT 'ml_forecast_train(text,text,text[],jsonb)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_analyst', 'ml_admin']) r
UNION ALL
SELECT 'ml_forecast(text,integer,integer)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT 'ml_models', r, 'SELECT'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
-- jobs: engineers own schedules; analysts run their projects' jobs on demand
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['ml_schedule(text,text,text,jsonb)', 'ml_unschedule(bigint)',
                 'ml_alter_job(bigint,jsonb)', 'mlops.schedule_next(text,timestamp with time zone)',
                 'mlops.job_run_live(bigint)']) f,
    unnest(ARRAY['ml_engineer', 'ml_admin']) r
UNION ALL
-- (analysts cancel only the runs they asked for: checked in C)
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['ml_run_now(bigint)', 'ml_cancel(bigint)']) f,
    unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
-- workflows: defined by whoever sees the project, auto-deploy allowed by engineers
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['ml_create_workflow(text,text,jsonb)', 'ml_drop_workflow(text,text)',
                 'ml_run_now(bigint,boolean)']) f,
    unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT 'ml_allow_auto_deploy(text,text,boolean)', r, 'EXECUTE'
FROM unnest(ARRAY['ml_engineer', 'ml_admin']) r
UNION ALL
SELECT t, r, 'SELECT' FROM
    unnest(ARRAY['mlops.workflows', 'ml_workflows']) t,
    unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT t, r, 'SELECT' FROM
    unnest(ARRAY['mlops.job_run_steps', 'ml_job_run_steps']) t,
    unnest(ARRAY['ml_engineer', 'ml_admin']) r
UNION ALL
SELECT t, r, 'SELECT' FROM
    unnest(ARRAY['ml_jobs', 'ml_job_runs', 'ml_job_history']) t,
    unnest(ARRAY['ml_engineer', 'ml_admin']) r
UNION ALL
-- drift (75_drift.sql): whoever sees a project sees and checks its drift
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['mlops.drift_rows()', 'ml_check_drift(text)', 'ml_set_drift_policy(text,jsonb)']) f,
    unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT t, r, 'SELECT' FROM
    unnest(ARRAY['mlops.scoring_log', 'mlops.drift_policies', 'mlops.drift_alerts',
                 'ml_drift', 'ml_drift_alerts']) t,
    unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
-- API management: engineers expose; consumers score exposed projects' deployed versions
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['ml_expose(text,regrole,jsonb)', 'ml_revoke_exposure(text,regrole)']) f,
    unnest(ARRAY['ml_engineer', 'ml_admin']) r
UNION ALL
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['mlops.project_exposed(bigint)', 'mlops.exposure_visible(bigint,oid)',
                 'mlops.api_usage_live()']) f,
    unnest(ARRAY['ml_consumer', 'ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT f, 'ml_consumer', 'EXECUTE' FROM
    unnest(ARRAY['ml_predict(text,anyelement)', 'ml_predict(text,jsonb)',
                 'ml_predict_label(text,anyelement)', 'ml_predict_label(text,jsonb)',
                 'ml_predict_proba(text,anyelement)', 'ml_predict_proba(text,jsonb)',
                 'ml_score(text,regclass,text)']) f
UNION ALL
SELECT t, r, 'SELECT' FROM
    unnest(ARRAY['mlops.exposures', 'mlops.api_usage']) t,
    unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
SELECT t, r, 'SELECT' FROM
    unnest(ARRAY['ml_exposures', 'ml_api_usage']) t,
    unnest(ARRAY['ml_consumer', 'ml_analyst', 'ml_engineer', 'ml_admin']) r
UNION ALL
-- API keys: engineers manage them (the table itself: column grants without the hash only)
SELECT f, r, 'EXECUTE' FROM
    unnest(ARRAY['ml_create_api_key(regrole,text,interval)', 'ml_revoke_api_key(bigint)',
                 'ml_revoke_api_key(text)']) f,
    unnest(ARRAY['ml_engineer', 'ml_admin']) r
UNION ALL
SELECT 'ml_api_keys', r, 'SELECT'
FROM unnest(ARRAY['ml_engineer', 'ml_admin']) r
UNION ALL
SELECT 'mlops', r, 'USAGE'
FROM unnest(ARRAY['ml_analyst', 'ml_engineer', 'ml_admin', 'ml_consumer']) r;

SELECT set_eq('SELECT * FROM actual', 'SELECT * FROM intended',
              'the privilege matrix of the four roles is exactly the intended one');

-- PUBLIC: nothing at all. A NULL proacl means the default, which for a
-- function is EXECUTE to PUBLIC.
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM members m JOIN pg_proc p ON p.oid = m.objid
    WHERE m.classid = 'pg_proc'::regclass
      AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0))
$$, 'PUBLIC can execute no function of the extension');
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM members m JOIN pg_class c ON c.oid = m.objid
    WHERE m.classid = 'pg_class'::regclass
      AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0)
$$, 'PUBLIC has no privilege on any table, view or sequence of the extension');
SELECT is_empty($$
    SELECT n.nspname FROM members m JOIN pg_namespace n ON n.oid = m.objid
    WHERE m.classid = 'pg_namespace'::regclass
      AND EXISTS (SELECT 1 FROM aclexplode(n.nspacl) a WHERE a.grantee = 0)
$$, 'PUBLIC has no privilege on the catalog schema');

SELECT * FROM finish();
ROLLBACK;
