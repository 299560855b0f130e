-- The scoring benchmarks' table and models (bench/score.sh, bench/drift.sh):
-- :rows rows x 8 columns (numbers with NULLs, a text category, a timestamp,
-- a boolean), a linear model and a gbdt (100 trees, depth 6), deployed.
CREATE TABLE s AS
SELECT i AS id, (i * 7 % 101) / 3.0 AS a, (i * 13 % 97)::float8 AS b,
       (ARRAY['n', 's', 'e', 'w'])[i % 4 + 1] AS region,
       CASE WHEN i % 9 = 0 THEN NULL ELSE (i % 50)::float8 END AS c,
       timestamp '2024-01-01' + i * interval '7 minutes' AS at,
       (i % 3 = 0) AS flag,
       3 * ((i * 7 % 101) / 3.0) - 2 * (i * 13 % 97) + (i % 50) + (i * 7919 % 100) / 10.0 AS y
FROM generate_series(1, :rows) i;
ANALYZE s;
SELECT ml_create_project('lin', 's', 'y');
SELECT ml_create_project('gb', 's', 'y');
SELECT version FROM ml_train('lin', 'linear');
SELECT version FROM ml_train('gb', 'gbdt', '{"n_estimators": 100, "max_depth": 6}');
SELECT ml_mark_ready('lin', 1); SELECT ml_deploy('lin', 1);
SELECT ml_mark_ready('gb', 1); SELECT ml_deploy('gb', 1);
