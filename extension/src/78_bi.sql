-- Views for BI tools (0.3.0): stable, documented column names (docs/bi.md),
-- plain SQL types (bigint, double precision, text, boolean, timestamptz,
-- jsonb), row-level security applied to the reader (security_invoker: each
-- view shows what the reader's own policies show). Numbers inside jsonb are
-- JSON numbers.

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
