-- The views for BI tools (docs/bi.md): ml_data_quality on a cleaned table,
-- ml_deployments and ml_leaderboard on a trained and deployed project,
-- ml_job_history on a queued run; row-level security applied to the reader;
-- column names and types pinned through information_schema.columns.
SET client_min_messages = warning;
CREATE TABLE bi_sales (
    id      integer PRIMARY KEY,
    amount  double precision,
    region  text,
    sold_on date,
    price   numeric
);
-- gaps in amount and region, one outlier (amount 500), one NaN
INSERT INTO bi_sales
SELECT g,
       CASE WHEN g % 10 = 0 THEN NULL WHEN g = 7 THEN 500 WHEN g = 13 THEN 'NaN'::float8
            ELSE 10 + (g % 9) END,
       CASE WHEN g % 8 = 0 THEN NULL ELSE (ARRAY['north', 'south', 'east'])[g % 3 + 1] END,
       DATE '2024-01-01' + g,
       20 + 2 * (g % 9) + (g % 4)
FROM generate_series(1, 60) g;
-- alice may read the table; bob (another analyst) may not; eve (engineer) not yet
GRANT SELECT ON bi_sales TO regress_alice;
SET ROLE regress_alice;
SELECT ml_create_project('bi price', 'bi_sales', 'price') > 0 AS created;
RESET client_min_messages;

-- Cleaning writes a 'before' and an 'after' profile per column.
SELECT column_name, kind, nulls_before, nulls_after
FROM ml_clean('bi_sales', '{"encode": false, "datetime": false}', 'bi_sales_clean') ORDER BY column_name;
SELECT relation, column_name, kind, type, rows, missing, round(missing_share::numeric, 4) AS missing_share,
       distinct_values, outliers, non_finite, round(min::numeric, 2) AS min, round(max::numeric, 2) AS max,
       round(mean::numeric, 3) AS mean, cleaned_by, recipe = recipe_id::text AS recipe_by_id, project, output_relation, in_output,
       rows_after, missing_after, outliers_after, sample_rows
FROM ml_data_quality WHERE relation = 'public.bi_sales' ORDER BY column_name;
-- histograms: numbers are JSON numbers; bins + below + above + non_finite = present cells
SELECT column_name, jsonb_typeof(histogram) AS h, jsonb_array_length(histogram -> 'counts') AS bins,
       (SELECT bool_and(jsonb_typeof(e) = 'number') FROM jsonb_array_elements(histogram -> 'edges') e) AS edges_numbers,
       (SELECT sum(c::text::bigint) FROM jsonb_array_elements(histogram -> 'counts') c)
         + (histogram ->> 'below')::bigint + (histogram ->> 'above')::bigint
         + (histogram ->> 'non_finite')::bigint = rows - missing AS counts_add_up,
       (SELECT sum(c::text::bigint) FROM jsonb_array_elements(histogram_after -> 'counts') c)
         + (histogram_after ->> 'below')::bigint + (histogram_after ->> 'above')::bigint
         + (histogram_after ->> 'non_finite')::bigint = rows_after - missing_after AS after_add_up
FROM ml_data_quality WHERE relation = 'public.bi_sales' AND kind IN ('numeric', 'datetime') ORDER BY column_name;
SELECT column_name, histogram, histogram_after FROM ml_data_quality
WHERE relation = 'public.bi_sales' AND kind = 'categorical';
-- winsorized: the outlier is clamped to the step's fence, the same bins before and after
SELECT histogram -> 'edges' = histogram_after -> 'edges' AS same_bins,
       (histogram ->> 'above')::int AS above_before, (histogram_after ->> 'above')::int AS above_after
FROM ml_data_quality WHERE relation = 'public.bi_sales' AND column_name = 'amount';

-- A later run is the latest profile; ml_impute writes profiles too.
SELECT count(*) AS imputed FROM ml_impute('bi_sales', ARRAY['amount'], 'mean', into_table => 'bi_sales_mean');
SELECT column_name, cleaned_by, missing, missing_after, output_relation
FROM ml_data_quality WHERE relation = 'public.bi_sales' ORDER BY column_name;
SELECT phase, count(*) FROM mlops.column_profiles p JOIN mlops.recipes r ON r.id = p.recipe_id
WHERE r.source_name = 'bi_sales' GROUP BY phase ORDER BY phase;

-- Hostile names: the relation comes quoted, names as they are; in place.
CREATE TABLE "bi ""odd"" t" ("my col" float8, "Lvl" text);
INSERT INTO "bi ""odd"" t" SELECT CASE WHEN g % 4 = 0 THEN NULL ELSE g END, CASE WHEN g % 2 = 0 THEN 'a''b' ELSE 'c "d"' END
FROM generate_series(1, 30) g;
SELECT count(*) FROM ml_clean('"bi ""odd"" t"', '{"outliers": false}');
SELECT relation, column_name, missing, missing_after, output_relation, in_output, histogram -> 'levels' AS levels
FROM ml_data_quality WHERE relation LIKE '%odd%' ORDER BY column_name;

-- A table too large for memory: distribution figures on a sample, counts exact.
RESET ROLE;
CREATE TABLE bi_large AS
SELECT i AS id, ((i % 7) * 3 + (i % 5))::float8 AS v, (ARRAY['x', 'y', 'z'])[i % 3 + 1] AS k
FROM generate_series(1, 30000) i;
UPDATE bi_large SET v = NULL WHERE id % 10 = 0;
INSERT INTO bi_large SELECT * FROM bi_large WHERE id <= 50;          -- 50 duplicates
VACUUM ANALYZE bi_large;
GRANT SELECT ON bi_large TO regress_alice;
SET ROLE regress_alice;
SET maintenance_work_mem = '1MB';
SELECT count(*) FROM ml_clean('bi_large', '{"outliers": false, "encode": false}', into_table => 'bi_large_clean');
RESET maintenance_work_mem;
SELECT column_name, rows, missing, rows_after, missing_after, sample_rows > 0 AND sample_rows < rows AS sampled,
       (SELECT sum(c::text::bigint) FROM jsonb_array_elements(histogram -> 'counts') c) <= sample_rows AS histogram_on_sample
FROM ml_data_quality WHERE relation = 'public.bi_large' ORDER BY column_name;

-- Trained, deployed, retrained, deployed, rolled back.
SELECT version FROM ml_train('bi price', 'linear', options => '{"seed": 1}');
SELECT version FROM ml_train('bi price', 'ridge', '{"alpha": 1}', '{"seed": 1}');
SELECT ml_mark_ready('bi price', 1);
SELECT ml_mark_ready('bi price', 2);
SET ROLE regress_eve;
SELECT ml_deploy('bi price', 1, 'first');
SELECT ml_deploy('bi price', 2);
SELECT ml_rollback('bi price', 'ridge worse');
SELECT project, version, from_version, action, deployed_by, reason, algorithm, task,
       jsonb_typeof(metrics) AS metrics, rmse >= 0 AS rmse, r2 <= 1 AS r2, mae >= 0 AS mae,
       accuracy, f1, roc_auc, currently_deployed
FROM ml_deployments WHERE project = 'bi price' ORDER BY deployment_id;
SELECT project, version, algorithm, metric, value > 0 AS value, status, is_deployed,
       jsonb_typeof(metrics) AS metrics, rmse = value AS rmse_is_value, r2 <= 1 AS r2,
       accuracy, training_rows, created_by
FROM ml_leaderboard WHERE project = 'bi price' ORDER BY version;
-- every metric of every view is a JSON number (or null), never a string
SELECT count(*) AS string_metrics FROM (
    SELECT (jsonb_each(metrics)).value AS v FROM ml_deployments
    UNION ALL SELECT (jsonb_each(metrics)).value FROM ml_leaderboard) m
WHERE jsonb_typeof(v) = 'string' AND mlops.try_cast_numeric(v #>> '{}') IS NOT NULL;

-- Jobs: the engineer's queued run (the launcher does not serve this database).
SET client_min_messages = error;
SELECT ml_schedule('bi price', 'train', '@daily') > 0 AS scheduled;
SELECT ml_run_now(id) > 0 AS queued FROM mlops.jobs WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'bi price');
RESET client_min_messages;
SELECT job LIKE 'bi price%' AS job, project, kind, owner, status, trigger, attempt, started_at, finished_at,
       duration, duration_s, message
FROM ml_job_history WHERE project = 'bi price' ORDER BY run_id;

-- Row-level security applies to the reader.
-- eve, an engineer, sees the project's deployments but not the profiles:
-- she may not read bi_sales (min, max and levels reveal its data) ...
SELECT count(*) AS eve_profiles FROM ml_data_quality WHERE relation = 'public.bi_sales';
SELECT count(*) AS eve_deployments FROM ml_deployments WHERE project = 'bi price';
-- ... until she may read a column: then that column's profile only
RESET ROLE;
GRANT SELECT (amount) ON bi_sales TO regress_eve;
SET ROLE regress_eve;
SELECT column_name FROM ml_data_quality WHERE relation = 'public.bi_sales';
-- bob, an analyst outside the project, sees nothing of it
SET ROLE regress_bob;
SELECT count(*) AS bob_profiles FROM ml_data_quality WHERE relation = 'public.bi_sales';
SELECT count(*) AS bob_deployments FROM ml_deployments WHERE project = 'bi price';
SELECT count(*) AS bob_versions FROM ml_leaderboard WHERE project = 'bi price';
SELECT count(*) AS bob_profile_rows FROM mlops.column_profiles;
SELECT regress_try($$SELECT count(*) FROM ml_job_history$$);
-- a role without pg_mlops rights reads none of the views
SET ROLE regress_nobody;
SELECT regress_try($$SELECT count(*) FROM ml_data_quality$$);
SELECT regress_try($$SELECT count(*) FROM ml_deployments$$);
SELECT regress_try($$SELECT count(*) FROM ml_leaderboard$$);
SELECT regress_try($$SELECT count(*) FROM ml_job_history$$);
-- a table dropped and re-created under the name is another relation: its
-- old profiles are shown to their creator only
RESET ROLE;
ALTER TABLE bi_sales RENAME TO bi_sales_old;
CREATE TABLE bi_sales (id integer, amount double precision);
GRANT SELECT ON bi_sales TO regress_eve;
SET ROLE regress_eve;
SELECT count(*) AS eve_after_recreate FROM ml_data_quality WHERE relation = 'public.bi_sales';
SET ROLE regress_alice;
SELECT count(*) AS alice_after_recreate FROM ml_data_quality WHERE relation = 'public.bi_sales';
RESET ROLE;
DROP TABLE bi_sales;
ALTER TABLE bi_sales_old RENAME TO bi_sales;

-- Column names and types, pinned: BI tools and their saved reports rely on them.
SELECT table_name, ordinal_position AS n, column_name, data_type
FROM information_schema.columns
WHERE (table_schema = 'public'
       AND table_name IN ('ml_data_quality', 'ml_deployments', 'ml_job_history', 'ml_leaderboard'))
   OR (table_schema = 'mlops' AND table_name = 'column_profiles')
ORDER BY table_name, ordinal_position;
