-- pg_mlops demo: an analyst prepares a project, an engineer takes over.
\pset footer off
\set QUIET 1
\echo '== set-up (DBA): the extension, one analyst, one engineer, sample data'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_mlops;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_analyst') THEN
    CREATE ROLE demo_analyst LOGIN IN ROLE ml_analyst;
    CREATE ROLE demo_engineer LOGIN IN ROLE ml_engineer;
  END IF;
END $$;
RESET client_min_messages;
\ir sample_data.sql
GRANT SELECT, INSERT, UPDATE, DELETE ON deliveries TO ml_analyst;
GRANT CREATE ON SCHEMA public TO ml_analyst;
SELECT count(*) AS delivery_rows,
       count(*) FILTER (WHERE total_onshift_partners IS NULL) AS missing_onshift,
       count(*) FILTER (WHERE market_id IS NULL) AS missing_market
FROM deliveries;

\echo
\echo '== analyst: create a project on the deliveries table'
SET ROLE demo_analyst;
SELECT ml_create_project('delivery time', 'deliveries', 'duration_s', 'regression',
                         description => 'predict delivery duration in seconds') AS project_id;
SELECT name, owner, relation, target, task FROM ml_projects;

\ir demo_clean.sql

\echo
\echo '== engineer: sees the project, cannot change its definition'
SET ROLE demo_engineer;
SELECT name, owner, deployed_version FROM ml_projects;
\set ON_ERROR_STOP 0
SELECT ml_update_project('delivery time', target => 'market_id');
\set ON_ERROR_STOP 1

\echo
\echo '== engineer: the same recipe on tomorrow''s rows (new stores, new gaps), no refitting'
RESET ROLE;
CREATE TABLE deliveries_tomorrow AS
SELECT id + 100000 AS id, CASE WHEN id % 5 = 0 THEN NULL ELSE market_id END AS market_id,
       store_id + 7 AS store_id, created_at + interval '1 day' AS created_at,
       CASE WHEN id % 3 = 0 THEN 'ramen' ELSE category END AS category,
       CASE WHEN id % 4 = 0 THEN NULL ELSE total_onshift_partners END AS total_onshift_partners,
       total_items, duration_s
FROM deliveries WHERE id <= 200;
GRANT SELECT ON deliveries_tomorrow TO ml_engineer, ml_analyst;
GRANT CREATE ON SCHEMA public TO ml_engineer;
SET ROLE demo_engineer;
SELECT column_name, nulls_before, nulls_after, actions
FROM ml_apply_recipe(:clean_recipe, 'deliveries_tomorrow', into_table => 'tomorrow_clean');
SELECT count(*) AS rows, count(*) FILTER (WHERE total_onshift_partners IS NULL) AS gaps_left
FROM tomorrow_clean;

\echo
\echo '== analyst: train two learners on the raw table, compare them, hand them over'
SET ROLE demo_analyst;
SELECT version, algorithm, round((metrics->>'rmse')::numeric, 1) AS rmse, round((metrics->>'r2')::numeric, 3) AS r2
FROM ml_train('delivery time', 'linear');
SELECT version, algorithm, round((metrics->>'rmse')::numeric, 1) AS rmse, round((metrics->>'r2')::numeric, 3) AS r2
FROM ml_train('delivery time', 'gbdt');
SELECT version, algorithm, metric, round(value::numeric, 1) AS value, rank
FROM ml_leaderboard WHERE project = 'delivery time' ORDER BY rank;
SELECT v AS version, e->>'rows_scored' AS rows, round((e->>'rmse')::numeric, 1) AS rmse_tomorrow
FROM generate_series(1, 2) v, ml_evaluate('delivery time', v, 'deliveries_tomorrow') e;
SELECT ml_mark_ready('delivery time', 1, 'linear baseline');
SELECT ml_mark_ready('delivery time', 2, 'boosted trees');

\echo
\echo '== engineer: deploy the ready version with the best held-out score, predict'
SET ROLE demo_engineer;
SELECT ml_deploy('delivery time', 'best_score', 'best held-out rmse') AS deployed_version;
SELECT id, total_items, duration_s, round(ml_predict('delivery time', d)) AS predicted_s
FROM deliveries_tomorrow d ORDER BY id LIMIT 5;

\echo
\echo '== engineer: a nightly retrain and a batch score every 5 minutes, each run once now'
RESET ROLE;
GRANT ml_analyst TO demo_engineer;    -- a train job runs as its owner, who must be able to train
SET ROLE demo_analyst;
SET client_min_messages = warning;
SELECT ml_add_member('delivery time', 'demo_engineer');
RESET client_min_messages;
SET ROLE demo_engineer;
SELECT ml_schedule('delivery time', 'train', '@daily', '{"algorithm": "gbdt", "retries": 1}') AS retrain_job \gset
SELECT ml_schedule('delivery time', 'score', '5 minutes',
                   '{"relation": "deliveries_tomorrow", "into_table": "tomorrow_scores", "mode": "append"}') AS score_job \gset
SELECT name, kind, schedule, next_run_at FROM ml_jobs ORDER BY id;
SELECT ml_run_now(:retrain_job) AS retrain_run, ml_run_now(:score_job) AS score_run;
\echo '   (waiting for the launcher''s workers)'
DO $$ BEGIN
  FOR i IN 1..1200 LOOP
    EXIT WHEN NOT EXISTS (SELECT 1 FROM ml_job_runs WHERE status IN ('queued', 'running'));
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT job_name, trigger, status, attempt, rows_processed, message FROM ml_job_runs ORDER BY run;
SELECT model_version, count(*) AS rows, round(avg(prediction)) AS mean_prediction
FROM tomorrow_scores GROUP BY model_version;
SELECT version, algorithm, status, created_by FROM ml_models WHERE project = 'delivery time' ORDER BY version;

\echo
\echo '== analyst: forecast daily deliveries per category, 7 days ahead (the sample rate is steady: a flat forecast)'
SET ROLE demo_analyst;
CREATE VIEW daily_deliveries AS
SELECT category, created_at::date AS day, count(*) AS deliveries
FROM deliveries
WHERE created_at < (SELECT date_trunc('day', max(created_at)) FROM deliveries)  -- whole days only
GROUP BY category, day;
SELECT ml_create_project('daily deliveries', 'daily_deliveries', 'deliveries', 'forecast') AS project_id;
SELECT version, series FROM ml_forecast_train('daily deliveries', 'day', ARRAY['category']);
SELECT ml_mark_ready('daily deliveries', 1);
SET ROLE demo_engineer;
SELECT ml_deploy('daily deliveries', 1, 'first forecast') AS deployed_version;
SELECT series->>'category' AS category, ts::date AS day, round(forecast::numeric, 1) AS forecast,
       round(lower::numeric, 1) AS lower, round(upper::numeric, 1) AS upper
FROM ml_forecast('daily deliveries', 7) WHERE series->>'category' IN ('pizza', 'sushi') ORDER BY 1, 2;

\echo
\echo '== engineer: a model report (HTML with SVG charts), published to the consumers'
SET ROLE demo_engineer;
SELECT ml_report('delivery time', 'model') AS report \gset
SELECT kind, version, title, html_bytes FROM ml_reports WHERE id = :report;
SELECT ml_publish_report(:report) \gset
SELECT published, published_by FROM ml_reports WHERE id = :report;
SELECT project, version, action, deployed_by, currently_deployed FROM ml_deployments ORDER BY deployed_at;

\echo
\echo '== engineer: expose the model to an application role with a quota; the application scores over HTTP'
RESET ROLE;
SET client_min_messages = warning;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_shop') THEN
    CREATE ROLE demo_shop LOGIN IN ROLE ml_consumer;
  END IF;
END $$;
RESET client_min_messages;
SET ROLE demo_engineer;
SELECT ml_expose('delivery time', 'demo_shop', '{"rows_per_day": 100000, "calls_per_second": 50}') \gset
SELECT project, consumer, rows_per_day, calls_per_second FROM ml_exposures;
SELECT ml_create_api_key('demo_shop', 'demo web shop') AS key \gset
SELECT current_setting('pg_mlops.http_port') AS http_port \gset
\setenv KEY :key
\setenv HTTP_PORT :http_port
-- two of tomorrow's deliveries, as an application would send them
SELECT jsonb_build_object('rows', jsonb_agg(to_jsonb(d) - 'duration_s' ORDER BY id))::text AS body
FROM (SELECT * FROM deliveries_tomorrow ORDER BY id LIMIT 2) d \gset
\setenv BODY :body
\! curl -s --retry 5 --retry-connrefused -H "Authorization: Bearer $KEY" -d "$BODY" "http://localhost:$HTTP_PORT/v1/projects/delivery%20time/predict"; echo
\echo '   (the same rows in SQL:)'
SELECT id, ml_predict('delivery time', d) AS prediction FROM deliveries_tomorrow d ORDER BY id LIMIT 2;
SET ROLE demo_shop;
SELECT project, kind, version, length(html) AS html_bytes FROM ml_published_reports;
RESET ROLE;
SELECT consumer, project, calls, rows, errors FROM ml_api_usage;

\echo
\echo '== audit trail (as superuser)'
RESET ROLE;
SELECT actor, action, object_name, details FROM ml_audit ORDER BY id;
