-- ml_impute: every method on small tables with known answers, in place
-- and into a new table, with the recipe it leaves behind.
SET ROLE regress_alice;
CREATE TABLE imp (id int, g text, x float8, y float8, n int, t timestamp);
INSERT INTO imp VALUES
 (1, 'a', 1, 3, 10, '2024-01-01 00:00'), (2, 'a', 2, 5, NULL, '2024-01-01 01:00'),
 (3, 'a', 3, NULL, 30, '2024-01-01 02:00'), (4, 'b', 4, 9, 40, '2024-01-01 03:00'),
 (5, 'b', 5, 11, 50, '2024-01-01 04:00'), (6, 'b', 6, NULL, 60, '2024-01-01 05:00'),
 (7, NULL, 7, 15, 70, '2024-01-01 06:00'), (8, 'b', 8, 17, 80, '2024-01-01 07:00');
CREATE FUNCTION imp_reset() RETURNS void LANGUAGE sql AS $$
  UPDATE imp SET y = NULL WHERE id IN (3, 6);
  UPDATE imp SET n = NULL WHERE id = 2;
  UPDATE imp SET g = NULL WHERE id = 7;
$$;

-- mean, median, mode, constant (numbers), written in place
SELECT column_name, filled, method FROM ml_impute('imp', '{y}', 'mean');
SELECT id, y FROM imp WHERE id IN (3, 6) ORDER BY id;
SELECT imp_reset();
SELECT column_name, filled, method FROM ml_impute('imp', '{y}', 'median');
SELECT id, y FROM imp WHERE id IN (3, 6) ORDER BY id;
SELECT imp_reset();
SELECT column_name, filled, method FROM ml_impute('imp', '{y}', 'constant', '{"value": -1}');
SELECT id, y FROM imp WHERE id IN (3, 6) ORDER BY id;
SELECT imp_reset();
-- integers stay integers: the mean of n (48.57...) is written as 49
SELECT column_name, filled, method FROM ml_impute('imp', '{n}', 'mean');
SELECT n FROM imp WHERE id = 2;
SELECT imp_reset();
-- categorical: mode, constant level
SELECT column_name, filled, method FROM ml_impute('imp', '{g}', 'mode');
SELECT g FROM imp WHERE id = 7;
SELECT imp_reset();
SELECT column_name, filled, method FROM ml_impute('imp', '{g}', 'constant', '{"value": "unknown"}');
SELECT g FROM imp WHERE id = 7;
SELECT imp_reset();

-- regression: y = 2x + 1 exactly, so the fills are exact
SELECT column_name, filled, method FROM ml_impute('imp', '{y}', 'regression',
    '{"exclude_features": ["id", "n", "t", "g"]}');
SELECT id, round(y::numeric, 6) AS y FROM imp WHERE id IN (3, 6) ORDER BY id;
SELECT imp_reset();
-- KNN with k = 1: the nearest row by x
SELECT column_name, filled, method FROM ml_impute('imp', '{y}', 'knn',
    '{"k": 1, "exclude_features": ["id", "n", "t", "g"]}');
SELECT id, y FROM imp WHERE id IN (3, 6) ORDER BY id;
SELECT imp_reset();
-- group-wise: the group mean, shrunk towards the overall mean by two pseudo-rows:
-- group a (3, 5) gives (3 + 5 + 2 * 10) / 4 = 7
SELECT column_name, filled, method FROM ml_impute('imp', '{y}', 'groupwise', '{"by": ["g"]}');
SELECT id, y FROM imp WHERE id IN (3, 6) ORDER BY id;
SELECT imp_reset();
-- time-ordered: carry forward, and linear interpolation along t
SELECT column_name, filled, method FROM ml_impute('imp', '{y}', 'locf', '{"time_column": "t"}');
SELECT id, y FROM imp WHERE id IN (3, 6) ORDER BY id;
SELECT imp_reset();
SELECT column_name, filled, method FROM ml_impute('imp', '{y}', 'interpolate', '{"time_column": "t"}');
SELECT id, y FROM imp WHERE id IN (3, 6) ORDER BY id;
SELECT imp_reset();
-- MICE: chained regressions over every numeric column with gaps
SELECT column_name, filled, method FROM ml_impute('imp', '{y,n}', 'mice',
    '{"exclude_features": ["id", "t", "g"]}');
SELECT imp_reset();
-- delete: rows missing the column go
SELECT column_name, filled, method FROM ml_impute('imp', '{y}', 'delete');
SELECT count(*) AS rows_left FROM imp;
INSERT INTO imp VALUES (3, 'a', 3, NULL, 30, '2024-01-01 02:00'), (6, 'b', 6, NULL, 60, '2024-01-01 05:00');

-- into a new table: the source keeps its gaps
SELECT column_name, filled FROM ml_impute('imp', NULL, 'mean', into_table => 'imp_filled') ORDER BY 1;
SELECT count(*) FILTER (WHERE y IS NULL) AS source_gaps FROM imp;
SELECT count(*) FILTER (WHERE y IS NULL OR n IS NULL) AS copy_gaps, count(*) AS copy_rows FROM imp_filled;
DROP TABLE imp_filled;

-- auto: y is a function of the group, so group-wise wins with zero error
CREATE TABLE grp AS
SELECT i AS id, (ARRAY['x', 'y', 'z'])[i % 3 + 1] AS k, (i % 3) * 10.0 AS v,
       (i % 7)::float8 AS noise
FROM generate_series(1, 300) i;
UPDATE grp SET v = NULL WHERE id % 10 = 0;
SELECT column_name, filled, method, metric, round(estimated_error::numeric, 4) AS error
FROM ml_impute('grp', '{v}');
SELECT count(*) AS wrong FROM grp WHERE v <> (id % 3) * 10.0;
-- auto on a categorical: k is implied by v
UPDATE grp SET k = NULL WHERE id % 9 = 0;
SELECT column_name, filled, method, metric, round(estimated_error::numeric, 4) AS error
FROM ml_impute('grp', '{k}');
SELECT count(*) AS wrong FROM grp WHERE k <> (ARRAY['x', 'y', 'z'])[id % 3 + 1];

-- learned (a small neural network; free text enters as hashed trigrams)
-- and the multinomial classifier
CREATE TABLE nn AS
SELECT i, (ARRAY['north', 'south', 'east', 'west'])[i % 4 + 1] AS region,
       (i % 7)::float8 AS x, (i % 4) * 10 + (i % 7) + (i % 3) * 0.1 AS y,
       (ARRAY['red apple', 'green pear', 'blue plum'])[i % 3 + 1] || ' no ' || (i % 97) AS descr
FROM generate_series(1, 2000) i;
UPDATE nn SET y = NULL WHERE i % 10 = 0;
UPDATE nn SET region = NULL WHERE i % 13 = 0;
SELECT column_name, filled, method, estimated_error < 0.5 AS learned_beats_mean
FROM ml_impute('nn', '{y}', 'learned', '{"epochs": 30}');
SELECT column_name, filled, method, estimated_error < 0.5 AS better_than_chance
FROM ml_impute('nn', '{region}', 'classifier', '{"epochs": 30}');
SELECT regress_try($$SELECT * FROM ml_impute('nn', '{y}', 'classifier')$$);
SELECT regress_try($$SELECT * FROM ml_impute('nn', '{x}', 'learned', '{"hidden": 0}')$$);

-- the recipes: one per run, with the fitted models
SELECT kind, source_name, jsonb_array_length(steps) AS steps, steps->0->>'method' AS method
FROM mlops.recipes WHERE source_name = 'grp' ORDER BY id DESC LIMIT 2;
RESET ROLE;
