-- Run by test/upgrade_models.sh on the 0.3.0 library and catalog: a table
-- with gaps, a category and a timestamp, one version per learner and task
-- that 0.3.0 has, grouped versions, a cleaning recipe's fills and bounds in
-- a payload, a forecast; every version marked ready.
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops;
CREATE ROLE um_ana LOGIN IN ROLE ml_analyst;
CREATE ROLE um_eng LOGIN IN ROLE ml_engineer;
GRANT CREATE ON SCHEMA public TO ml_analyst, ml_engineer;
-- 400 rows: two numbers with gaps, a category with gaps, a timestamp, and
-- three targets (a number, two labels, three integer classes), some NULL.
CREATE TABLE obs AS
SELECT g AS id,
       CASE WHEN g % 11 = 0 THEN NULL ELSE (g * 13 % 29)::float8 + sin(g) END AS x1,
       (g * 7 % 17)::float8 / 3 AS x2,
       CASE WHEN g % 13 = 0 THEN NULL ELSE (ARRAY['red', 'green', 'blue', 'grey'])[g % 4 + 1] END AS cat,
       timestamp '2024-01-01' + g * interval '7 hours' AS at,
       CASE WHEN g % 19 = 0 THEN NULL
            ELSE 3 * coalesce(g * 13 % 29, 14) - 2 * (g * 7 % 17) / 3.0 + (g % 4) * 5 + cos(g * 1.7) END AS y,
       CASE WHEN g % 23 = 0 THEN NULL
            WHEN coalesce(g * 13 % 29, 14) + sin(g * 3) * 4 > 15 THEN 'yes' ELSE 'no' END AS yb,
       CASE WHEN g % 29 = 0 THEN NULL ELSE ((g * 13 % 29) / 10 + (g % 4 = 0)::int) % 3 END AS ym
FROM generate_series(1, 400) g;
-- a raw copy with outliers, trained through a cleaning recipe (fills, bounds)
CREATE TABLE obs_raw AS
SELECT id, x1, CASE WHEN id % 50 = 0 THEN 900 + id ELSE x2 END AS x2, cat, at, y FROM obs;
-- daily sales of two stores for the forecast
CREATE TABLE sales AS
SELECT s AS store, date '2024-01-01' + i AS day,
       CASE s WHEN 'a' THEN 100 + 0.5 * i + 10 * sin(2 * pi() * i / 7) + cos(i)
              ELSE 50 - 0.25 * i + 5 * cos(2 * pi() * i / 7) + sin(i * 1.3) END AS amount
FROM generate_series(0, 119) i, unnest(ARRAY['a', 'b']) s;
GRANT SELECT ON obs, obs_raw, sales TO ml_analyst, ml_engineer;

SET ROLE um_ana;
SELECT ml_create_project('reg', 'obs', 'y');
SELECT ml_create_project('bin', 'obs', 'yb', 'classification');
SELECT ml_create_project('multi', 'obs', 'ym', 'classification');
SELECT ml_create_project('clean', 'obs_raw', 'y');
SELECT ml_create_project('fc', 'sales', 'amount', 'forecast');
\set ex '{"exclude": ["id", "yb", "ym", "at"]}'
\set exb '{"exclude": ["id", "y", "ym", "at"]}'
\set exm '{"exclude": ["id", "y", "yb", "at"]}'
-- regression: every learner, one with the timestamp's parts, a grouped version
SELECT version, algorithm FROM ml_train('reg', 'linear', options => :'ex');
SELECT version, algorithm FROM ml_train('reg', 'ridge', '{"alpha": 2.5}', :'ex');
SELECT version, algorithm FROM ml_train('reg', 'lasso', '{"alpha": 0.1}', :'ex');
SELECT version, algorithm FROM ml_train('reg', 'elastic_net', '{"alpha": 0.1, "l1_ratio": 0.3}', :'ex');
SELECT version, algorithm FROM ml_train('reg', 'gbdt', '{"n_estimators": 30}', :'ex');
SELECT version, algorithm FROM ml_train('reg', 'random_forest', '{"n_estimators": 15}', :'ex');
SELECT version, algorithm FROM ml_train('reg', 'gbdt', '{"n_estimators": 20}', '{"exclude": ["id", "yb", "ym"]}');
SELECT version, algorithm FROM ml_train('reg', 'kmeans', '{"n_clusters": 4}', :'ex');
SELECT version, groups FROM ml_train_groups('reg', ARRAY['cat'], 'linear', options => '{"exclude": ["id", "yb", "ym", "at"], "workers": 0}');
-- (min_rows 60: the NULL group of about 30 rows goes to the fallback; two workers)
SELECT version, groups FROM ml_train_groups('reg', ARRAY['cat'], 'gbdt', '{"n_estimators": 10}', '{"exclude": ["id", "yb", "ym", "at"], "workers": 2, "min_rows": 60}');
-- two classes (text labels)
SELECT version, algorithm FROM ml_train('bin', 'logistic', options => :'exb');
SELECT version, algorithm FROM ml_train('bin', 'gbdt', '{"n_estimators": 25}', :'exb');
SELECT version, algorithm FROM ml_train('bin', 'random_forest', '{"n_estimators": 15}', :'exb');
SELECT version, algorithm FROM ml_train('bin', 'naive_bayes', options => '{"exclude": ["id", "y", "ym"]}');
-- three classes (integer labels)
SELECT version, algorithm FROM ml_train('multi', 'logistic', '{"C": 0.5}', :'exm');
SELECT version, algorithm FROM ml_train('multi', 'gbdt', '{"n_estimators": 15}', :'exm');
SELECT version, algorithm FROM ml_train('multi', 'random_forest', '{"n_estimators": 10}', :'exm');
SELECT version, algorithm FROM ml_train('multi', 'naive_bayes', options => :'exm');
SELECT version, groups FROM ml_train_groups('multi', ARRAY['cat'], 'logistic', options => '{"exclude": ["id", "y", "yb", "at"], "workers": 0}');
-- a cleaning recipe's median fills and winsorizing bounds in the payload
SELECT count(*) FROM ml_clean('obs_raw',
    '{"duplicates": false, "missing": {"method": "median"}, "outliers": {"k": 0.5},
      "encode": false, "polish": false, "datetime": {"elapsed": false}}', 'obs_cleaned');
SELECT version, algorithm FROM ml_train('clean', 'linear', options => '{"exclude": ["id"]}');
SELECT version, algorithm FROM ml_train('clean', 'gbdt', '{"n_estimators": 10}', '{"exclude": ["id"]}');
-- forecast: one model per store
SELECT version, series FROM ml_forecast_train('fc', 'day', ARRAY['store'], '{"workers": 1}');
-- and one series of both stores' rows, with a holiday and a wider interval
SELECT version, series FROM ml_forecast_train('fc', 'day', NULL,
    '{"workers": 1, "interval_width": 0.95, "n_changepoints": 5, "holidays": {"easter": ["2024-03-31"]}}');
SELECT ml_mark_ready(project, version, 'before the upgrade') FROM ml_models ORDER BY project, version;
RESET ROLE;

-- The rows every version is asked about: training rows with and without
-- gaps, a row of NULLs, an unseen level, values far outside the training range.
CREATE TABLE um_probe AS
SELECT * FROM obs WHERE id % 23 = 1 OR id IN (11, 13, 19, 22, 26, 143, 286, 400);
INSERT INTO um_probe (id) VALUES (1001);
INSERT INTO um_probe VALUES (1002, 5, 1, 'purple', '2030-06-01 12:00', NULL, NULL, NULL),
                            (1003, -1e6, 1e6, 'red', '1990-01-01', NULL, NULL, NULL);
GRANT SELECT ON um_probe TO ml_analyst, ml_engineer;
