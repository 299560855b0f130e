-- Forecasting: forecast projects, ml_forecast_train (one model per series,
-- fitted on worker threads) and ml_forecast. Noiseless series are
-- forecast exactly; gaps and short series are reported; bad arguments are
-- errors with their SQLSTATE.
SET client_min_messages = warning;
-- Three stores: a linear trend plus a weekly sine (noiseless), the same
-- with every fifth day missing, and a store with 5 points.
CREATE TABLE fc_sales (store text, day date, sales double precision, note text, ts_text text);
INSERT INTO fc_sales
SELECT 'a', '2024-01-01'::date + i, 100 + 0.5 * i + 10 * sin(2 * pi() * i / 7), 'x', i::text
FROM generate_series(0, 119) i;
INSERT INTO fc_sales
SELECT 'b', '2024-01-01'::date + i, 50 - 0.25 * i + 5 * cos(2 * pi() * i / 7), 'x', i::text
FROM generate_series(0, 119) i WHERE i % 5 <> 3;
INSERT INTO fc_sales
SELECT 'c', '2024-01-01'::date + i, 7, 'x', i::text FROM generate_series(0, 4) i;
-- rows without a value or a time are counted, never used
INSERT INTO fc_sales VALUES ('a', NULL, 1, 'x', NULL), ('b', '2024-06-01', NULL, 'x', NULL);
GRANT SELECT ON fc_sales TO ml_analyst, ml_engineer;
SET ROLE regress_alice;
SELECT ml_create_project('fc_sales', 'fc_sales', 'sales', 'forecast') > 0 AS created;
SELECT regress_try($$SELECT ml_create_project('fc_bad', 'fc_sales', 'note', 'forecast')$$);
SELECT regress_try($$SELECT ml_train('fc_sales')$$);

-- one model per store, on two threads
SELECT version, series, metrics->'fitted' AS fitted, metrics->'skipped' AS skipped,
       metrics->'missing_points' AS missing, metrics->'series_with_gaps' AS gaps,
       metrics->'rows_without_value' AS no_value, metrics->'rows_without_time' AS no_time,
       metrics->'skipped_series' AS skipped_series, metrics->'workers' AS workers,
       (metrics->>'rmse')::float8 < 1e-4 AS exact_fit
FROM ml_forecast_train('fc_sales', 'day', ARRAY['store'], '{"workers": 2}');
SELECT version, algorithm, training->'series' AS series, training->'time_range' AS time_range,
       training->'skipped' AS skipped, features
FROM ml_models WHERE project = 'fc_sales';

-- the forecast continues the trend and the weekly cycle exactly
SELECT series, ts::date AS day, round(forecast::numeric, 3) AS forecast,
       round((upper - lower)::numeric, 3) AS width
FROM ml_forecast('fc_sales', 7, 1) ORDER BY series::text, ts;
SELECT series->>'store' AS store,
       max(abs(forecast - CASE series->>'store'
           WHEN 'a' THEN 100 + 0.5 * i + 10 * sin(2 * pi() * i / 7)
           ELSE 50 - 0.25 * i + 5 * cos(2 * pi() * i / 7) END)) < 1e-3 AS exact
FROM (SELECT *, (ts::date - '2024-01-01'::date) AS i FROM ml_forecast('fc_sales', 60, 1)) f
GROUP BY 1 ORDER BY 1;

-- one series (series_by NULL), with a wider interval, holidays and options
SELECT series, metrics->'fitted' AS fitted, metrics->'with_weekly' AS weekly,
       metrics->'missing_points' AS missing
FROM ml_forecast_train('fc_sales', 'day', NULL,
     '{"interval_width": 0.95, "holidays": {"xmas": ["2024-12-25"]}, "n_changepoints": 5, "workers": 1}');
SELECT count(*), min(series::text) AS key FROM ml_forecast('fc_sales', 3, 2);
-- min_points lowered: the short store is fitted, with a simpler model
SELECT series, metrics->'fitted' AS fitted, metrics->'simpler_models' AS simpler
FROM ml_forecast_train('fc_sales', 'day', '{store}', '{"min_points": 5, "workers": 3}');
SELECT ts::date, round(forecast::numeric, 3) FROM ml_forecast('fc_sales', 2, 3)
WHERE series->>'store' = 'c' ORDER BY ts;

-- deployment: analysts forecast any version, ml_forecast without a version needs a deployed one
SELECT regress_try($$SELECT * FROM ml_forecast('fc_sales', 3)$$);
SELECT ml_mark_ready('fc_sales', 1);
RESET ROLE;
SET ROLE regress_eve;
SELECT ml_deploy('fc_sales', 1);
SELECT count(*) FROM ml_forecast('fc_sales', 3);
SELECT count(*) FROM ml_forecast('fc_sales', 3, 2);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day')$$);
RESET ROLE;
SET ROLE regress_carl;
SELECT regress_try($$SELECT * FROM ml_forecast('fc_sales', 3)$$);
RESET ROLE;
SET ROLE regress_bob;
SELECT regress_try($$SELECT * FROM ml_forecast('fc_sales', 3)$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day')$$);
RESET ROLE;
SET ROLE regress_alice;
-- a forecast version is not scored row by row
SELECT regress_try($$SELECT ml_predict('fc_sales', '{"day": "2024-05-01"}'::jsonb)$$);
SELECT regress_try($$SELECT ml_report('fc_sales', 'model')$$);

-- bad arguments
SELECT regress_try($$SELECT ml_forecast_train('fc_nosuch', 'day')$$);
SELECT regress_try($$SELECT * FROM ml_forecast('fc_nosuch', 3)$$);
SELECT regress_try($$SELECT ml_forecast_train(NULL, 'day')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', NULL)$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'nosuch')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'note')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'ts_text')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'sales')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', '{nosuch}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', '{store,store}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', '{day}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', ARRAY[NULL]::text[])$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', '{{store},{note}}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"nosuch": 1}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"regressors": ["note"]}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"workers": 0}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"workers": 9}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"n_changepoints": -1}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"interval_width": 1}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"weekly": "sometimes"}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"seasonality_mode": "multiplicative"}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"holidays": []}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"holidays": ["not a date"]}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"holidays": [1]}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"holidays": {}}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '{"holidays": ["infinity"]}')$$);
SELECT regress_try($$SELECT ml_forecast_train('fc_sales', 'day', NULL, '[1]')$$);
SELECT regress_try($$SELECT * FROM ml_forecast('fc_sales', 0, 1)$$);
SELECT regress_try($$SELECT * FROM ml_forecast('fc_sales', -5, 1)$$);
SELECT regress_try($$SELECT * FROM ml_forecast('fc_sales', 10001, 1)$$);
SELECT regress_try($$SELECT * FROM ml_forecast('fc_sales', NULL, 1)$$);
SELECT regress_try($$SELECT * FROM ml_forecast('fc_sales', 3, 99)$$);
SELECT regress_try($$SELECT * FROM ml_forecast(NULL, 3)$$);
RESET ROLE;

-- a regression project is not forecast
CREATE TABLE fc_reg AS SELECT i AS x, 2.0 * i AS y, '2024-01-01'::date + i AS day FROM generate_series(1, 30) i;
GRANT SELECT ON fc_reg TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('fc_reg', 'fc_reg', 'y', 'regression') > 0 AS created;
SELECT regress_try($$SELECT ml_forecast_train('fc_reg', 'day')$$);
SELECT regress_try($$SELECT * FROM ml_forecast('fc_reg', 3)$$);
RESET ROLE;

-- timestamptz times, hourly, an empty relation, and a relation the caller may not read
CREATE TABLE fc_hourly AS
SELECT '2024-03-01 00:00+00'::timestamptz + i * interval '1 hour' AS at, 3.0 + 0.1 * i AS v
FROM generate_series(0, 47) i;
CREATE TABLE fc_empty (at timestamp, v float8);
GRANT SELECT ON fc_hourly, fc_empty TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('fc_hourly', 'fc_hourly', 'v', 'forecast') > 0 AS created;
SELECT ml_create_project('fc_empty', 'fc_empty', 'v', 'forecast') > 0 AS created;
SELECT series, metrics->'with_weekly' AS weekly FROM ml_forecast_train('fc_hourly', 'at', NULL, '{"n_changepoints": 0}');
SET TIME ZONE 'UTC';
SELECT ts, round(forecast::numeric, 3) FROM ml_forecast('fc_hourly', 2, 1);
RESET TIME ZONE;
SELECT regress_try($$SELECT ml_forecast_train('fc_empty', 'at')$$);
RESET ROLE;
REVOKE SELECT ON fc_hourly FROM ml_analyst;
SET ROLE regress_alice;
SELECT regress_try($$SELECT ml_forecast_train('fc_hourly', 'at')$$);
RESET ROLE;

-- row-level security applies to the rows a forecast learns from
CREATE TABLE fc_rls AS SELECT * FROM fc_sales;
ALTER TABLE fc_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY fc_rls_a ON fc_rls FOR SELECT TO regress_alice USING (store = 'a');
GRANT SELECT ON fc_rls TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('fc_rls', 'fc_rls', 'sales', 'forecast') > 0 AS created;
SELECT series, metrics->'points' AS points FROM ml_forecast_train('fc_rls', 'day', '{store}');
SELECT DISTINCT series FROM ml_forecast('fc_rls', 2, 1);
RESET ROLE;

-- the rows' order changes nothing: series stored one after the other are fitted
-- while the rest is read, series whose rows come in several runs (here: every
-- row of 'b' interleaved with 'a', and 'c' split in two) are fitted on all their
-- points once read; the same coefficients, forecasts and fingerprint with 1 or 2 workers
CREATE TABLE fc_mixed AS
SELECT store, day, sales FROM fc_sales
ORDER BY CASE WHEN store = 'c' THEN (day - '2024-01-01'::date) % 2 * 1000 ELSE 500 END,
         day, store;
GRANT SELECT ON fc_mixed TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('fc_mixed', 'fc_mixed', 'sales', 'forecast') > 0 AS created;
SELECT version, metrics->'fitted' AS fitted, metrics->'workers' AS workers
FROM ml_forecast_train('fc_mixed', 'day', '{store}', '{"min_points": 3, "workers": 1}');
SELECT version, metrics->'fitted' AS fitted, metrics->'workers' AS workers
FROM ml_forecast_train('fc_mixed', 'day', '{store}', '{"min_points": 3, "workers": 2}');
SELECT count(DISTINCT data_fingerprint) AS fingerprints, count(DISTINCT round((metrics->>'rmse')::numeric, 9)) AS rmse
FROM ml_models WHERE project = 'fc_mixed';
SELECT count(*) AS rows, bool_and(abs(a.forecast - b.forecast) <= 1e-9 * abs(a.forecast)) AS same
FROM ml_forecast('fc_mixed', 5, 1) a JOIN ml_forecast('fc_mixed', 5, 2) b USING (series, ts);
RESET ROLE;
-- the same points in one run per series: the same fingerprint and forecasts
CREATE TABLE fc_sorted AS SELECT store, day, sales FROM fc_mixed ORDER BY store, day;
GRANT SELECT ON fc_sorted TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('fc_sorted', 'fc_sorted', 'sales', 'forecast') > 0 AS created;
SELECT metrics->'fitted' AS fitted
FROM ml_forecast_train('fc_sorted', 'day', '{store}', '{"min_points": 3, "workers": 2}');
SELECT (SELECT data_fingerprint FROM ml_models WHERE project = 'fc_sorted') =
       (SELECT data_fingerprint FROM ml_models WHERE project = 'fc_mixed' AND version = 1) AS same_fingerprint;
SELECT count(*) AS rows, bool_and(abs(a.forecast - b.forecast) <= 1e-9 * abs(a.forecast)) AS same
FROM ml_forecast('fc_mixed', 5, 1) a JOIN ml_forecast('fc_sorted', 5, 1) b USING (series, ts);
RESET ROLE;

-- a stored payload is validated when read back
UPDATE mlops.models SET payload = substr(payload, 1, 60)
WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'fc_sales') AND version = 3;
SET ROLE regress_alice;
SELECT regress_try($$SELECT * FROM ml_forecast('fc_sales', 3, 3)$$);
RESET ROLE;
RESET client_min_messages;
