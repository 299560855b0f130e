-- KNN with nan-Euclidean distances (option "distance"): an input either row
-- lacks is skipped and the rest scaled up, as scikit-learn's KNNImputer
-- measures it, instead of taken for the column's mean. 'auto' tries both.
\set VERBOSITY sqlstate
SET client_min_messages = warning;
-- Row 7 has a = 1.00 and no b. By a alone its nearest donor is row 5
-- (a = 1.05, c = 10); with b taken for its mean (3.82) row 5's b = 9.8 is
-- far, and row 6 (a = 1.52, b = 3.1, c = 20) is nearest. Row 8 has no
-- input: nan-Euclidean, no donor shares one and it gets the mean of c;
-- as the means, it is nearest to row 9 (no a, b = 4.0, c = 30). Rows 10-12
-- have b, so b is an input (a column missing in most of the rows to fill
-- is not one).
CREATE TABLE kn (id int, a float8, b float8, c float8);
INSERT INTO kn VALUES (1, 0.11, 1.7, 5.3), (2, 2.23, 3.9, 7.1), (3, 4.37, 2.2, 8.9), (4, 6.41, 4.6, 11.3),
    (5, 1.05, 9.8, 10.0), (6, 1.52, 3.1, 20.0), (7, 1.0, NULL, NULL), (8, NULL, NULL, NULL), (9, NULL, 4.0, 30.0),
    (10, 3.0, 2.5, NULL), (11, 5.5, 4.4, NULL), (12, 0.5, 2.0, NULL);
SELECT DISTINCT recipe_id AS nan_recipe, method FROM ml_impute('kn', '{c}', 'knn',
    '{"k": 1, "distance": "nan_euclidean", "roles": {"id": "identifier"}}', into_table => 'kn_nan') \gset
SELECT :'method' AS method;
SELECT id, c FROM kn_nan WHERE id IN (7, 8) ORDER BY id;
SELECT filled FROM ml_impute('kn', '{c}', 'knn', '{"k": 1, "roles": {"id": "identifier"}}', into_table => 'kn_mean');
SELECT id, c FROM kn_mean WHERE id IN (7, 8) ORDER BY id;
SELECT filled FROM ml_impute('kn', '{c}', 'knn', '{"k": 1, "distance": "euclidean", "roles": {"id": "identifier"}}',
    into_table => 'kn_eu');
SELECT count(*) AS differ FROM kn_mean JOIN kn_eu USING (id) WHERE kn_mean.c IS DISTINCT FROM kn_eu.c;
-- k = 2: the mean of rows 5 and 6
SELECT filled FROM ml_impute('kn', '{c}', 'knn', '{"k": 2, "distance": "nan_euclidean", "roles": {"id": "identifier"}}',
    into_table => 'kn_nan2');
SELECT c FROM kn_nan2 WHERE id = 7;

-- the recipe says so, keeps the donors' missing inputs as "NaN", and
-- gives the run's own fills again
SELECT s ->> 'nan_distance' AS nan_distance, s -> 'reference' ? 'NaN' AS keeps_missing
FROM mlops.recipes, jsonb_array_elements(steps) s WHERE id = :nan_recipe AND s ->> 'method' = 'knn';
SELECT count(*) FROM ml_apply_recipe(:nan_recipe, 'kn', 'kn_again');
SELECT count(*) AS differ FROM kn_nan n JOIN kn_again g USING (id) WHERE n.c IS DISTINCT FROM g.c;

-- 'auto' on a table with gaps in every column tries both distances
CREATE TABLE kn_auto AS
SELECT i AS id, CASE WHEN i % 7 = 1 THEN NULL ELSE sin(i * 0.37) * 3 + i * 0.01 END AS x,
       CASE WHEN i % 5 = 2 THEN NULL ELSE cos(i * 0.37) * 3 END AS y,
       CASE WHEN i % 6 = 3 THEN NULL ELSE sin(i * 0.37) * cos(i * 0.37) END AS z
FROM generate_series(1, 120) i;
SELECT count(*) AS columns, sum(filled) AS filled
FROM ml_impute('kn_auto', options => '{"roles": {"id": "identifier"}}', into_table => 'kn_auto_out');
SELECT count(*) AS gaps_left FROM kn_auto_out WHERE x IS NULL OR y IS NULL OR z IS NULL;

-- bad options
SELECT regress_try($$SELECT count(*) FROM ml_impute('kn', '{c}', 'knn', '{"distance": "manhattan"}')$$);
SELECT regress_try($$SELECT count(*) FROM ml_impute('kn', '{c}', 'knn', '{"distance": 1}')$$);
SELECT regress_try($$SELECT count(*) FROM ml_clean('kn', '{"missing": {"method": "knn", "distance": "cosine"}}', 'kn_c')$$);
SELECT count(*) > 0 AS cleaned FROM ml_clean('kn', '{"missing": {"method": "knn", "distance": "nan_euclidean"}}', 'kn_c');

-- damaged recipes: a missing input where distances do not skip them, an
-- infinite input, a donor without a value, a flag that is not a boolean
CREATE TABLE kn_saved AS SELECT steps FROM mlops.recipes WHERE id = :nan_recipe;
CREATE FUNCTION kn_damage(r bigint, path text[], val jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    res text;
BEGIN
    UPDATE mlops.recipes SET steps = (
        SELECT jsonb_agg(CASE WHEN s ->> 'method' = 'knn' THEN
                   CASE WHEN val IS NULL THEN s #- path ELSE jsonb_set(s, path, val) END
                 ELSE s END ORDER BY o)
        FROM jsonb_array_elements((SELECT steps FROM kn_saved)) WITH ORDINALITY e(s, o))
    WHERE id = r;
    res := regress_try(format('SELECT count(*) FROM ml_apply_recipe(%s, %L, %L)', r, 'kn', 'kn_damaged'));
    UPDATE mlops.recipes SET steps = (SELECT steps FROM kn_saved) WHERE id = r;
    DROP TABLE IF EXISTS kn_damaged;
    RETURN res;
END
$$;
SELECT d.path, d.val, regexp_replace(kn_damage(:nan_recipe, d.path::text[], d.val::jsonb), 'recipe \d+', 'recipe N') AS outcome
FROM (VALUES ('{nan_distance}', NULL), ('{nan_distance}', '"yes"'), ('{nan_distance}', '1'),
             ('{nan_distance}', 'false'), ('{reference,1}', '"Infinity"'), ('{reference,1}', '"-Infinity"'),
             ('{reference,1}', '"NaN"'), ('{reference,1}', 'null'), ('{reference_y,0}', '"NaN"'),
             ('{reference_y,0}', '"Infinity"')) d(path, val);
-- undamaged again
SELECT count(*) FROM ml_apply_recipe(:nan_recipe, 'kn', 'kn_again2');

DROP FUNCTION kn_damage(bigint, text[], jsonb);
DROP TABLE kn, kn_nan, kn_mean, kn_eu, kn_nan2, kn_again, kn_again2, kn_auto, kn_auto_out, kn_c, kn_saved;
RESET client_min_messages;
