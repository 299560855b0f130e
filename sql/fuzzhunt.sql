-- Failures the randomized tests found (test/fuzz_*.py; test/fuzz_catalog.py
-- damages stored rows on purpose), each reduced to its smallest case. A
-- damaged catalog row must give a clear error (XX001), never a crash, and
-- no statement may reach SQL or JSON the extension built with a value it
-- did not check.
SET client_min_messages = warning;
CREATE TABLE fh_t AS
SELECT i AS id, (i % 7)::float8 AS x, 2.0 * (i % 7) + (i % 3) AS y,
       DATE '2024-01-01' + i AS d FROM generate_series(1, 40) i;
SELECT ml_create_project('fh_p', 'fh_t', 'y') > 0 AS created;
SELECT version FROM ml_train('fh_p', 'linear');
SELECT ml_mark_ready('fh_p', 1);
SELECT ml_deploy('fh_p', 1);

-- 1. A version whose payload is NULL: scoring it read the NULL before it
-- checked it (a crash): for a row, a jsonb row, a label and ml_score.
BEGIN;
UPDATE mlops.models SET payload = NULL WHERE version = 1
  AND project_id = (SELECT id FROM mlops.projects WHERE name = 'fh_p');
SELECT regress_try($$SELECT ml_predict('fh_p', '{"x": 1}'::jsonb)$$) AS predict_jsonb;
SELECT regress_try($$SELECT ml_predict('fh_p', t) FROM fh_t t$$) AS predict_row;
SELECT regress_try($$SELECT ml_predict_label('fh_p', '{"x": 1}'::jsonb)$$) AS predict_label;
SELECT regress_try($$SELECT ml_score('fh_p', 'fh_t', 'fh_scored')$$) AS score;
ROLLBACK;

-- ... and a forecast version's.
CREATE TABLE fh_series AS
SELECT DATE '2024-01-01' + i AS day, 10 + (i % 7) + i / 10.0 AS sales FROM generate_series(0, 59) i;
SELECT ml_create_project('fh_fc', 'fh_series', 'sales', 'forecast') > 0 AS created;
SELECT count(*) AS series FROM ml_forecast_train('fh_fc', 'day');
BEGIN;
UPDATE mlops.models SET payload = NULL
  WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'fh_fc');
SELECT regress_try($$SELECT count(*) FROM ml_forecast('fh_fc', 7, 1)$$) AS forecast;
ROLLBACK;

-- 2. Damaged metrics: the model report read them with jsonb functions and
-- float8 casts of SQL it built (an error from that SQL, or an out-of-range
-- error); now XX001 for a metrics value that is not an object (or an
-- importance that is not one), and a number beyond double precision is
-- not a number to show, as in the BI views.
BEGIN;
UPDATE mlops.models SET metrics = '[1, 2]' WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'fh_p');
SELECT regress_try($$SELECT ml_report('fh_p', 'model')$$) AS metrics_array;
ROLLBACK;
BEGIN;
UPDATE mlops.models SET metrics = jsonb_set(metrics, '{importance}', '-1')
  WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'fh_p');
SELECT regress_try($$SELECT ml_report('fh_p', 'model')$$) AS importance_number;
ROLLBACK;
BEGIN;
UPDATE mlops.models SET metrics = jsonb_set(jsonb_set(metrics, '{rmse}', '1e400'), '{importance,x}', '-1e400')
  WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'fh_p');
SELECT regress_try($$SELECT ml_report('fh_p', 'model')$$) AS huge_numbers;
SELECT project, version, rmse FROM ml_leaderboard WHERE project = 'fh_p';
SELECT mlops.metric_value('{"a": 1e-400}', 'a') AS tiny, mlops.metric_value('{"a": -1e309}', 'a') AS huge,
       mlops.metric_value('{"a": 1.7976931348623157e308}', 'a') AS largest,
       mlops.metric_value('{"a": 5e-324}', 'a') AS smallest, mlops.metric_value('{"a": -0}', 'a') AS zero;
ROLLBACK;

-- 3. Two date columns with dates beyond the timestamp range (5874897 AD),
-- each a group key of the other's fill: a filled date's parts were NaN cast
-- to int (undefined behaviour, UBSan stopped the server); the fill now has
-- no parts (-1, as a key's part of such a date).
CREATE TABLE fh_far AS
SELECT CASE WHEN i % 5 = 0 THEN NULL WHEN i % 2 = 0 THEN DATE '4713-01-01 BC' ELSE DATE '5874897-12-31' END AS x,
       CASE WHEN i % 7 = 0 THEN NULL WHEN i % 2 = 1 THEN DATE '4713-01-01 BC' ELSE DATE '5874897-12-31' END AS z
FROM generate_series(1, 60) i;
SELECT column_name, method, filled FROM ml_impute('fh_far') ORDER BY 1;

-- 4. A recipe fitted on a timestamptz column declared a datetime, applied
-- to a table where the column is text: the role made the text a datetime,
-- and the recipe's datetime parts were taken of the text (an error from the
-- SQL it built, "extract(unknown, text) does not exist"); now refused as a
-- type mismatch, as for the other kinds.
CREATE TABLE fh_ts AS SELECT i AS id, TIMESTAMPTZ '2024-01-01 00:00+00' + i * interval '5 hours' AS t,
                             (i % 4)::float8 AS v FROM generate_series(1, 30) i;
CREATE TABLE fh_ts_text AS SELECT id, NULL::text AS t, v FROM fh_ts;
SELECT count(*) > 0 AS cleaned
FROM ml_clean('fh_ts', '{"datetime": {"parts": ["year", "dow"]}, "roles": {"t": "datetime"}}', 'fh_ts_clean');
SELECT regress_try(format('SELECT count(*) FROM ml_apply_recipe(%s, %L)',
                          (SELECT max(id) FROM mlops.recipes), 'fh_ts_text')) AS text_dates;

-- 5. Target encoding without smoothing, of a level whose rows have no
-- target value: its mean was 0 / 0 (a float division by zero under UBSan,
-- NaN in the output); such a level is encoded with the prior, as a level
-- never seen.
CREATE TABLE fh_te AS
SELECT i AS id, (ARRAY['a', 'b', 'c'])[i % 3 + 1] AS g,
       CASE WHEN i % 3 = 2 THEN NULL ELSE (i % 3) * 10.0 END::float8 AS y FROM generate_series(1, 30) i;
SELECT count(*) AS cleaned FROM ml_clean('fh_te',
    '{"missing": false, "outliers": false, "encode": {"method": "target", "smoothing": 0}, "target": "y"}', 'fh_te_out');
SELECT (ARRAY['a', 'b', 'c'])[id % 3 + 1] AS g, count(*), min(g_target), max(g_target)
FROM fh_te_out GROUP BY 1 ORDER BY 1;
SELECT steps -> 1 -> 'encodings' AS encodings, steps -> 1 -> 'prior' AS prior
FROM mlops.recipes WHERE id = (SELECT max(id) FROM mlops.recipes);
-- a negative smoothing (pseudo-rows) was taken, its means moved away from
-- the prior (or replaced by it where the count went to 0 or below)
SELECT regress_try($$SELECT count(*) FROM ml_clean('fh_te',
    '{"missing": false, "outliers": false, "encode": {"method": "target", "smoothing": -1}, "target": "y"}')$$)
    AS negative_smoothing;
-- a huge smoothing with a large prior: smoothing * prior overflowed and
-- every level was encoded Infinity; the weighted mean now gives the prior
CREATE TABLE fh_te_big AS
SELECT i AS id, (ARRAY['a', 'b', 'c'])[i % 3 + 1] AS g, (1e10 + i % 3)::float8 AS y FROM generate_series(1, 30) i;
SELECT count(*) AS cleaned FROM ml_clean('fh_te_big',
    '{"missing": false, "outliers": false, "encode": {"method": "target", "smoothing": 1e300}, "target": "y"}', 'fh_te_big_out');
SELECT count(*) AS encoded, count(*) FILTER (WHERE g_target = 'NaN' OR g_target IN ('Infinity', '-Infinity')) AS not_finite,
       min(g_target) = max(g_target) AS one_value, round(min(g_target)) AS prior
FROM fh_te_big_out;
DROP TABLE fh_te_big, fh_te_big_out;

-- 6. A damaged cleaning report (mlops.recipes.report): the cleaning report
-- read its counts as bigint in SQL it built ("invalid input syntax for
-- type bigint"); now XX001 before that read.
BEGIN;
SELECT count(*) AS cleaned FROM ml_clean('fh_t', '{}', 'fh_t_clean');
SELECT ml_report('fh_p', 'cleaning') > 0 AS reported;
UPDATE mlops.recipes SET report = jsonb_set(report, '{0,filled}', '"x"') WHERE id = (SELECT max(id) FROM mlops.recipes);
SELECT regexp_replace(regress_try($$SELECT ml_report('fh_p', 'cleaning')$$), 'recipe \d+', 'recipe N') AS filled_text;
UPDATE mlops.recipes SET report = jsonb_set(report, '{0,filled}', '2.5') WHERE id = (SELECT max(id) FROM mlops.recipes);
SELECT regexp_replace(regress_try($$SELECT ml_report('fh_p', 'cleaning')$$), 'recipe \d+', 'recipe N') AS filled_fraction;
UPDATE mlops.recipes SET report = '[1, 2]' WHERE id = (SELECT max(id) FROM mlops.recipes);
SELECT regexp_replace(regress_try($$SELECT ml_report('fh_p', 'cleaning')$$), 'recipe \d+', 'recipe N') AS not_objects;
ROLLBACK;

-- ... and in the ml_cleaning_report view, which reads every recipe: one
-- damaged row made the view fail for every reader (jsonb_to_recordset on
-- a non-array, a count that is text, a mean beyond double precision); its
-- unreadable values are now NULL, its elements that are not objects left out.
BEGIN;
SELECT count(*) AS cleaned FROM ml_clean('fh_t', '{}', 'fh_t_clean');
SELECT column_name, column_kind, nulls_before, filled, dropped, nulls_after
FROM ml_cleaning_report WHERE recipe_id = (SELECT max(id) FROM mlops.recipes) ORDER BY column_name;
UPDATE mlops.recipes SET report = jsonb_set(jsonb_set(jsonb_set(report, '{0,filled}', '"x"'), '{1,mean_after}', '1e400'),
                                             '{2,dropped}', '"no"') || '[1, "x"]'
WHERE id = (SELECT max(id) FROM mlops.recipes);
SELECT column_name, filled, mean_after IS NULL AS no_mean, dropped
FROM ml_cleaning_report WHERE recipe_id = (SELECT max(id) FROM mlops.recipes) ORDER BY column_name;
UPDATE mlops.recipes SET report = '{"column": "x"}' WHERE id = (SELECT max(id) FROM mlops.recipes);
SELECT count(*) AS not_an_array FROM ml_cleaning_report WHERE recipe_id = (SELECT max(id) FROM mlops.recipes);
ROLLBACK;

-- 7. mlops.schedule_next from an infinite time or one near the end of the
-- range: "timestamp out of range" (22008), from the arithmetic itself for
-- an interval; now one clear error for both kinds.
SELECT regress_try($$SELECT mlops.schedule_next('@daily', '-infinity')$$) AS cron_infinite;
SELECT regress_try($$SELECT mlops.schedule_next('30 seconds', 'infinity')$$) AS interval_infinite;
SELECT regress_try($$SELECT mlops.schedule_next('100 years', '294270-01-01 00:00+00')$$) AS interval_near_end;
SELECT mlops.schedule_next('@daily', '2024-02-28 23:59:59.999999+00') AS next_day;

-- 8. The last version number (an altered row): the next one overflowed in
-- SQL we built ("integer out of range"); now a clear error, for model
-- versions and report numbers.
BEGIN;
UPDATE mlops.models SET version = 2147483647 WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'fh_p');
SELECT regress_try($$SELECT version FROM ml_train('fh_p', 'linear')$$) AS next_version;
ROLLBACK;
BEGIN;
SELECT ml_report('fh_p', 'model') > 0 AS reported;
UPDATE mlops.reports SET version = 2147483647 WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'fh_p');
SELECT regress_try($$SELECT ml_report('fh_p', 'model')$$) AS next_report;
ROLLBACK;

-- 9. A job run with infinite times (an altered row): the jobs report
-- subtracted them in SQL it built ("cannot subtract infinite timestamps");
-- such a run now has no duration and no place on the timeline.
CREATE ROLE regress_fh_eng IN ROLE ml_engineer;
GRANT SELECT ON fh_t TO regress_fh_eng;
SET ROLE regress_fh_eng;
SELECT ml_schedule('fh_p', 'train', '@daily', '{}') > 0 AS scheduled;
SELECT ml_run_now((SELECT max(id) FROM mlops.jobs)) > 0 AS queued;
RESET ROLE;
BEGIN;
UPDATE mlops.job_runs SET status = 'succeeded', started_at = 'infinity', finished_at = '-infinity'
WHERE job_id = (SELECT max(id) FROM mlops.jobs);
SET LOCAL ROLE regress_fh_eng;
SELECT regress_try($$SELECT ml_report('fh_p', 'jobs')$$) AS infinite_times;
RESET ROLE;
-- the views of job runs subtracted them too, failing for every reader of the
-- job's runs; such a run has no duration there either
SELECT regress_try($$SELECT count(*) FILTER (WHERE duration IS NOT NULL) FROM ml_job_runs$$) AS job_runs,
       regress_try($$SELECT count(*) FILTER (WHERE duration_s IS NOT NULL) FROM ml_job_history$$) AS job_history;
SELECT content -> 'runs' AS runs, content -> 'jobs' -> (SELECT name FROM mlops.jobs ORDER BY id DESC LIMIT 1) AS job
FROM mlops.reports WHERE kind = 'jobs' ORDER BY id DESC LIMIT 1;
UPDATE mlops.job_runs SET started_at = now() - interval '90 seconds', finished_at = now()
WHERE job_id = (SELECT max(id) FROM mlops.jobs);
SET LOCAL ROLE regress_fh_eng;
SELECT ml_report('fh_p', 'jobs') > 0 AS finite_times;
RESET ROLE;
SELECT content -> 'runs' AS runs, content -> 'jobs' -> (SELECT name FROM mlops.jobs ORDER BY id DESC LIMIT 1) AS job
FROM mlops.reports WHERE kind = 'jobs' ORDER BY id DESC LIMIT 1;
ROLLBACK;
-- 10. Finished runs whose times are far apart, inverted or infinite (altered
-- rows): the span from 4713 BC to 294276 AD is past what an interval holds,
-- and PostgreSQL 15 wrapped it into a negative duration; it is NULL now. An
-- inverted pair gives a negative duration (the row's own times), an
-- infinite or missing time none; the jobs report takes them all.
BEGIN;
INSERT INTO mlops.job_runs (job_id, status, started_at, finished_at)
SELECT (SELECT max(id) FROM mlops.jobs), 'succeeded', s::timestamptz, f::timestamptz
FROM (VALUES (1, '4713-01-01 00:00+00 BC', '294276-12-31 23:59:59+00'),
             (2, '294276-12-31 23:59:59+00', '4713-01-01 00:00+00 BC'),
             (3, '1000-01-01 00:00+00', '200000-01-01 00:00+00'),
             (4, '2024-01-02 00:00+00', '2024-01-01 00:00+00'),
             (5, 'infinity', '-infinity'),
             (6, '-infinity', '2024-01-01 00:00+00'),
             (7, '2024-01-01 00:00+00', NULL),
             (8, '2024-01-01 00:00+00', '2024-01-01 00:01:30+00')) t(k, s, f)
ORDER BY k;
SELECT started_at, finished_at, duration FROM ml_job_runs WHERE started_at IS DISTINCT FROM finished_at
  AND status = 'succeeded' ORDER BY run;
SELECT duration_s FROM ml_job_history WHERE status = 'succeeded' ORDER BY run_id;
SET LOCAL ROLE regress_fh_eng;
SELECT regress_try($$SELECT ml_report('fh_p', 'jobs') > 0$$) AS far_apart_times;
RESET ROLE;
ROLLBACK;
SET ROLE regress_fh_eng;
SELECT ml_unschedule((SELECT max(id) FROM mlops.jobs));
RESET ROLE;

SELECT ml_drop_project('fh_p', force => true);
SELECT ml_drop_project('fh_fc', force => true);
DROP TABLE fh_t, fh_series, fh_far, fh_ts, fh_ts_text, fh_ts_clean, fh_te, fh_te_out;
DROP ROLE regress_fh_eng;
RESET client_min_messages;
