-- Review 7: ml_train_groups 'auto' on groups too small to search; the
-- cleaning fast paths at their boundaries (try_round_int4, the polish
-- step's float8 to integer casts, after-statistics of float8 columns,
-- timestamp parts through date_part); forecast workers and series split
-- across runs of rows.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_r7_a;
CREATE ROLE regress_r7_a LOGIN IN ROLE ml_analyst;
RESET client_min_messages;

-- 1. auto per group: min_rows may be 2, and a 2-row group keeps one row to
-- train on, too few for the search's validation. It gets the first
-- candidate with its defaults instead of failing the whole call.
CREATE TABLE r7_groups (g text, x float8, y float8, c text);
INSERT INTO r7_groups
SELECT 'g' || (i % 3), i, 2 * i + (i % 3), CASE WHEN i % 4 < 2 THEN 'yes' ELSE 'no' END
FROM generate_series(1, 60) i;
INSERT INTO r7_groups VALUES ('tiny', 1, 1, 'no'), ('tiny', 2, 2, 'yes');
GRANT SELECT ON r7_groups TO ml_analyst;
SET ROLE regress_r7_a;
SELECT ml_create_project('r7_reg', 'r7_groups', 'y') > 0 AS created;
SELECT ml_create_project('r7_cls', 'r7_groups', 'c', 'classification') > 0 AS created;
SELECT version, groups FROM ml_train_groups('r7_reg', ARRAY['g'], 'auto', '{}',
       '{"min_rows": 2, "budget_s": 0.5, "max_trials": 2, "exclude": ["c"]}');
-- (a searched group's winner depends on the budget's timing: only its presence is shown)
SELECT g->'key'->>'g' AS grp, g->>'train_rows' AS train_rows,
       CASE WHEN g ? 'search_skipped' THEN g->>'algorithm' ELSE (g ? 'algorithm')::text END AS algorithm,
       g->'search' IS NOT NULL AND g->'search' <> 'null' AS searched, g->>'search_skipped' AS skipped
FROM ml_models, jsonb_array_elements(metrics->'per_group') g
WHERE project = 'r7_reg' ORDER BY 1;
SELECT version, groups FROM ml_train_groups('r7_cls', ARRAY['g'], 'auto', '{}',
       '{"min_rows": 2, "budget_s": 0.5, "max_trials": 2, "exclude": ["y"]}');
SELECT g->'key'->>'g' AS grp,
       CASE WHEN g ? 'search_skipped' THEN g->>'algorithm' ELSE (g ? 'algorithm')::text END AS algorithm,
       g->>'search_skipped' AS skipped
FROM ml_models, jsonb_array_elements(metrics->'per_group') g
WHERE project = 'r7_cls' ORDER BY 1;
RESET ROLE;

-- 2. try_round_int4: half away from zero, NULL beyond int4 and for NaN/infinities.
SELECT v, mlops.try_round_int4(v) AS rounded
FROM unnest(ARRAY['NaN', 'Infinity', '-Infinity', '2147483647.5', '2147483647.4999',
                  '2147483646.5', '-2147483648.5', '-2147483648.4999', '-2147483647.5',
                  '-0.5', '0.5', '2.5', '-2.5', '1e40', '-1e-40']::numeric[]) v;

-- 3. The polish step's casts of whole float8 columns at int4/int8 and 1e15 boundaries.
CREATE TABLE r7_whole (a float8, b float8, c float8, d float8);
INSERT INTO r7_whole VALUES (2147483647, 2147483648, 999999999999999, '-0'),
    (-2147483648, -2147483649, -999999999999999, 0), (NULL, 1e15, 1e15, 5);
GRANT SELECT ON r7_whole TO ml_analyst;
SET ROLE regress_r7_a;
SELECT column_name, actions FROM ml_clean('r7_whole', '{"missing": false, "outliers": false}', 'r7_whole_out');
SELECT * FROM r7_whole_out;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'r7_whole_out'::regclass AND attnum > 0 ORDER BY attnum;
RESET ROLE;

-- 4. After-statistics of float8 columns: huge, infinite, NaN, -0, 2^63, all NULL;
-- the same as avg/min/max over numeric (the report prints 6 significant
-- digits, and leaves the statistics out when the minimum is -Infinity).
CREATE FUNCTION regress_r7_near(a float8, b float8) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT a IS NOT DISTINCT FROM b OR abs(a - b) <= 1e-5 * abs(b) $$;
CREATE TABLE r7_stats (big float8, mix float8, allnull float8, nan float8, pinf float8,
                       ninf float8, infs float8, negz float8, b63 float8);
INSERT INTO r7_stats VALUES
    (1e300, 0.5, NULL, 'NaN', 'Infinity', 1, 'Infinity', '-0', 9223372036854775807),
    (1e300, 1e15, NULL, 1, 1, '-Infinity', '-Infinity', '-0', -9223372036854775808),
    (-1e300, 999999999999999, NULL, 2, 2, 2, 1, 0, 9.2233720368547e18),
    (1e308, -999999999999999.5, NULL, 3, 3, 3, 1, '-0', 4611686018427387904);
GRANT SELECT ON r7_stats TO ml_analyst;
SET ROLE regress_r7_a;
SELECT count(*) AS columns FROM ml_clean('r7_stats', '{"missing": false, "outliers": false, "polish": false}', 'r7_stats_out');
SELECT r.column_name, r.mean_after, r.min_after, r.max_after,
       CASE WHEN r.min_after IS NULL THEN s.lo IS NULL OR s.lo = '-Infinity'
            ELSE regress_r7_near(r.mean_after, s.mean) AND regress_r7_near(r.min_after, s.lo)
                 AND regress_r7_near(r.max_after, s.hi) END AS as_numeric
FROM ml_cleaning_report r
JOIN (SELECT key, avg(v::numeric)::float8 AS mean, min(v::numeric)::float8 AS lo, max(v::numeric)::float8 AS hi
      FROM r7_stats_out o, LATERAL (VALUES ('big', o.big), ('mix', o.mix), ('allnull', o.allnull),
          ('nan', o.nan), ('pinf', o.pinf), ('ninf', o.ninf), ('infs', o.infs), ('negz', o.negz),
          ('b63', o.b63)) u(key, v)
      GROUP BY key) s ON s.key = r.column_name
WHERE r.relation LIKE '%r7_stats' ORDER BY 1;
RESET ROLE;

-- 5. Timestamp parts through date_part: infinite, BC, time zones, the last timestamp.
CREATE TABLE r7_times (t timestamp, tz timestamptz);
INSERT INTO r7_times VALUES ('infinity', '-infinity'), ('0044-03-15 12:30:00 BC', '2024-03-31 01:30:00+00'),
    ('294276-12-31 23:59:59', '2024-10-27 00:30:00+00'), ('2024-02-29 23:59:59.999999', NULL);
GRANT SELECT ON r7_times TO ml_analyst;
SET ROLE regress_r7_a;
SET timezone = 'Europe/Berlin';
SELECT count(*) AS columns FROM ml_clean('r7_times', '{"missing": false, "outliers": false,
    "datetime": {"parts": ["year", "month", "day", "hour", "minute", "dow", "doy", "week", "weekend"]}}', 'r7_times_out');
SELECT o.t, o.t_year = EXTRACT(year FROM i.t) AND o.t_week = EXTRACT(week FROM i.t)
       AND o.t_dow = EXTRACT(dow FROM i.t) AND o.t_doy = EXTRACT(doy FROM i.t) AS t_same,
       o.tz_hour = EXTRACT(hour FROM i.tz) AND o.tz_day = EXTRACT(day FROM i.tz) AS tz_same,
       o.t_year, o.t_weekend, o.tz_hour, o.tz_weekend
FROM r7_times_out o JOIN r7_times i ON i.t = o.t ORDER BY o.t;
RESET timezone;
RESET ROLE;

-- 6. Forecast: a series split across runs of rows, out of order, with
-- duplicate times, a one-point and a valueless series: every workers
-- count fits the same models; bad workers values are errors.
CREATE TABLE r7_fc (s text, d date, y float8);
INSERT INTO r7_fc SELECT 'a', '2024-01-01'::date + i, i + 10 * sin(i) FROM generate_series(0, 59) i;
INSERT INTO r7_fc SELECT 'b', '2024-01-01'::date + (59 - i), 2 * i FROM generate_series(0, 59) i;
INSERT INTO r7_fc SELECT 'a', '2024-03-01'::date + i, i FROM generate_series(0, 29) i;
INSERT INTO r7_fc SELECT 'c', '2024-01-01'::date + i % 10, i FROM generate_series(0, 39) i;
INSERT INTO r7_fc VALUES ('one', '2024-01-01', 1), ('nul', '2024-01-01', NULL), ('nul', NULL, 3);
INSERT INTO r7_fc SELECT 'b', '2024-05-01'::date + i, i FROM generate_series(0, 9) i;
GRANT SELECT ON r7_fc TO ml_analyst;
SET ROLE regress_r7_a;
SELECT ml_create_project('r7_fc', 'r7_fc', 'y', 'forecast') > 0 AS created;
SELECT w, series, metrics->'fitted' AS fitted, metrics->'skipped' AS skipped,
       metrics->'duplicate_times' AS dups, metrics->'workers' AS workers
FROM unnest(ARRAY[1, 2, 8]) w,
     LATERAL ml_forecast_train('r7_fc', 'd', ARRAY['s'], jsonb_build_object('workers', w, 'min_points', 3));
SELECT count(DISTINCT metrics - 'workers' - 'load_seconds' - 'fit_seconds') AS same_metrics
FROM ml_models WHERE project = 'r7_fc';
SELECT w, regress_try(format($$SELECT ml_forecast_train('r7_fc', 'd', ARRAY['s'], '{"workers": %s}')$$, w))
FROM unnest(ARRAY['0', '-1', '1.5', '"2"', '9', '1e10']) w;
RESET ROLE;
