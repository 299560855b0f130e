-- A deployed model's recipe fills (groupwise, regression, chain, blend) are
-- read once per loaded model and kept with it in this backend's scoring
-- cache; every scored row with a NULL only codes its own keys again
-- (features_replay.c). The same rows scored many times, in one statement
-- and in later ones, interleaved with rows of other keys, after a redeploy
-- and a rollback, score exactly as the first time and as the rows
-- ml_apply_recipe filled. Predictions are printed to 9 places: the same
-- figures as before the steps were cached.
CREATE TABLE t3_raw (
    id  integer PRIMARY KEY,
    g   text,
    n   integer,
    x   float8,
    z   float8,
    y   float8
);
INSERT INTO t3_raw
SELECT i,
       CASE WHEN i % 17 = 0 THEN NULL ELSE (ARRAY['a', 'b', 'c', 'd'])[i % 4 + 1] END,
       CASE WHEN i % 19 = 0 THEN NULL ELSE i % 3 END,
       CASE WHEN i % 6 = 0 THEN NULL ELSE (i % 4) * 3 + (i % 3) + (i * 17 % 11) / 5.0 END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 4) * 6 - (i % 3) + (i * 7 % 5) / 3.0 END,
       3 * ((i % 4) * 3 + (i % 3) + (i * 17 % 11) / 5.0) - (i % 3) + (i * 29 % 13) / 6.0
FROM generate_series(1, 300) i;
GRANT SELECT ON t3_raw TO ml_analyst, ml_engineer;
GRANT CREATE ON SCHEMA public TO ml_engineer;

SET ROLE regress_alice;
SELECT ml_create_project('t3_p', 't3_raw', 'y') > 0 AS created;
-- v1: x from its group by g and n (a text key and a numeric one)
SELECT count(*) > 0 AS imputed FROM ml_impute('t3_raw', ARRAY['x'], 'groupwise', '{"by": ["g", "n"]}',
                                              into_table => 't3_gw_out');
SELECT id AS gw FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
SELECT version FROM ml_train('t3_p', 'linear',
    options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :gw));
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:gw, 't3_raw', 't3_gw');
-- v2: x and z chained, each from the other, n and g (one-hot)
SELECT count(*) > 0 AS imputed FROM ml_impute('t3_raw', ARRAY['x', 'z'], 'chain',
    '{"exclude_features": ["id", "y"]}', into_table => 't3_ch_out');
SELECT id AS ch FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
SELECT version FROM ml_train('t3_p', 'linear',
    options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :ch));
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:ch, 't3_raw', 't3_ch');
SELECT version, training->'recipe'->'applied' AS applied
FROM ml_models WHERE project = 't3_p' ORDER BY version;
GRANT SELECT ON t3_gw, t3_ch TO ml_engineer;
SELECT ml_mark_ready('t3_p', 1);
SELECT ml_mark_ready('t3_p', 2);
RESET ROLE;

SET ROLE regress_eve;
SELECT ml_deploy('t3_p', 1);
-- the first scores of the rows with a NULL in x, in this backend
CREATE TABLE t3_first1 AS
SELECT id, ml_predict('t3_p', r) AS p FROM t3_raw r WHERE x IS NULL;
SELECT count(*) AS rows_with_null, bool_and(t.p = ml_predict('t3_p', f)) AS as_filled
FROM t3_first1 t JOIN t3_gw f USING (id);
-- a few of them, and a NULL key (g, n or both): the recipe's back-off
SELECT id, g, n, round(p::numeric, 9) AS predicted
FROM t3_first1 JOIN t3_raw USING (id) WHERE id IN (6, 12, 18, 114, 204) OR g IS NULL OR n IS NULL
ORDER BY id;
-- each row 25 times in one statement, its repeats apart (other keys between)
SELECT count(*) AS scored, count(DISTINCT (r.id, ml_predict('t3_p', r))) = count(DISTINCT r.id) AS one_value_per_row
FROM generate_series(1, 25) k, t3_raw r WHERE r.x IS NULL;
-- and again in later statements, as jsonb too, and by ml_score
SELECT bool_and(t.p = ml_predict('t3_p', r)) AS same_again FROM t3_first1 t JOIN t3_raw r USING (id);
SELECT bool_and(t.p = ml_predict('t3_p', to_jsonb(r))) AS same_as_jsonb FROM t3_first1 t JOIN t3_raw r USING (id);
SELECT ml_score('t3_p', 't3_raw', 't3_scored1') AS scored;
SELECT bool_and(t.p = s.prediction) AS same_by_ml_score FROM t3_first1 t JOIN t3_scored1 s USING (id);

-- a redeploy: the chain's version, read once in its turn
SELECT ml_deploy('t3_p', 2);
CREATE TABLE t3_first2 AS
SELECT id, ml_predict('t3_p', r) AS p FROM t3_raw r WHERE x IS NULL OR z IS NULL;
SELECT count(*) AS rows_with_null, bool_and(t.p = ml_predict('t3_p', f)) AS as_filled
FROM t3_first2 t JOIN t3_ch f USING (id);
SELECT id, g, n, round(p::numeric, 9) AS predicted
FROM t3_first2 JOIN t3_raw USING (id) WHERE id IN (5, 6, 30, 35, 120, 190) ORDER BY id;
SELECT count(*) AS scored, count(DISTINCT (r.id, ml_predict('t3_p', r))) = count(DISTINCT r.id) AS one_value_per_row
FROM generate_series(1, 25) k, t3_raw r WHERE r.x IS NULL OR r.z IS NULL;
SELECT bool_and(t.p = ml_predict('t3_p', r)) AS same_again FROM t3_first2 t JOIN t3_raw r USING (id);
SELECT ml_score('t3_p', 't3_raw', 't3_scored2') AS scored;
SELECT bool_and(t.p = s.prediction) AS same_by_ml_score FROM t3_first2 t JOIN t3_scored2 s USING (id);
-- back to v1 by a rollback, then v2 again: each scores as it first did
SELECT ml_rollback('t3_p');
SELECT bool_and(t.p = ml_predict('t3_p', r)) AS v1_again FROM t3_first1 t JOIN t3_raw r USING (id);
SELECT ml_deploy('t3_p', 2);
SELECT bool_and(t.p = ml_predict('t3_p', r)) AS v2_again FROM t3_first2 t JOIN t3_raw r USING (id);
RESET ROLE;

-- a blend (auto's, on a small table whose numeric columns all have gaps):
-- its own model's fills averaged with the chain's, replayed the same way
CREATE TABLE t3_small AS
SELECT i AS id, (((i * 37) % 41) / 7.0)::float8 AS a,
       (0.5 * ((i * 37) % 41) / 7.0 + ((i * 13) % 11) / 10.0)::float8 AS b,
       ((((i * 37) % 41) / 7.0) ^ 2 / 10 - ((i * 7) % 5) / 4.0)::float8 AS c,
       (((i * 17) % 23) / 9.0)::float8 AS d,
       (((i * 37) % 41) / 7.0 + ((i * 17) % 23) / 9.0 + (i % 3) / 4.0)::float8 AS y
FROM generate_series(1, 36) i;
UPDATE t3_small SET a = NULL WHERE id % 6 = 1;
UPDATE t3_small SET b = NULL WHERE id % 7 = 3;
UPDATE t3_small SET c = NULL WHERE id % 5 = 2;
UPDATE t3_small SET d = NULL WHERE id % 8 = 5;
GRANT SELECT ON t3_small TO ml_analyst, ml_engineer;
SET ROLE regress_alice;
SELECT DISTINCT recipe_id AS bl FROM ml_impute('t3_small',
    options => '{"roles": {"id": "identifier", "y": "target"}}', into_table => 't3_small_out') \gset
SELECT s ->> 'column' AS column_name, s ->> 'method' AS method, s #>> '{member,method}' AS own_method
FROM mlops.recipes, jsonb_array_elements(steps) s WHERE id = :bl ORDER BY 1;
SELECT ml_create_project('t3_b', 't3_small', 'y') > 0 AS created;
SELECT version FROM ml_train('t3_b', 'linear',
    options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :bl));
SELECT training->'recipe'->'applied' AS applied FROM ml_models WHERE project = 't3_b';
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:bl, 't3_small', 't3_small_filled');
GRANT SELECT ON t3_small_filled TO ml_engineer;
SELECT ml_mark_ready('t3_b', 1);
RESET ROLE;
SET ROLE regress_eve;
SELECT ml_deploy('t3_b', 1);
CREATE TABLE t3_first3 AS
SELECT id, ml_predict('t3_b', r) AS p FROM t3_small r WHERE a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL;
SELECT count(*) AS rows_with_null, bool_and(t.p = ml_predict('t3_b', f)) AS as_filled
FROM t3_first3 t JOIN t3_small_filled f USING (id);
SELECT id, round(p::numeric, 9) AS predicted FROM t3_first3 WHERE id < 12 ORDER BY id;
SELECT count(*) AS scored, count(DISTINCT (r.id, ml_predict('t3_b', r))) = count(DISTINCT r.id) AS one_value_per_row
FROM generate_series(1, 25) k, t3_small r WHERE r.a IS NULL OR r.b IS NULL OR r.c IS NULL OR r.d IS NULL;
SELECT bool_and(t.p = ml_predict('t3_b', r)) AS same_again FROM t3_first3 t JOIN t3_small r USING (id);
RESET ROLE;

-- the same blend on numeric(8,3) and real columns: a fill is kept as the
-- column holds it (numeric's three places, real's precision), so a later
-- column's model reads what the table holds, and the raw row replayed
-- scores exactly as the filled row
CREATE TABLE t3_typed AS
SELECT id, a::numeric(8,3) AS a, b::numeric(8,3) AS b, c::real AS c, d::numeric(8,3) AS d, y
FROM t3_small;
GRANT SELECT ON t3_typed TO ml_analyst, ml_engineer;
SET ROLE regress_alice;
SELECT DISTINCT recipe_id AS ty FROM ml_impute('t3_typed',
    options => '{"roles": {"id": "identifier", "y": "target"}}', into_table => 't3_typed_out') \gset
SELECT s ->> 'column' AS column_name, s ->> 'method' AS method
FROM mlops.recipes, jsonb_array_elements(steps) s WHERE id = :ty ORDER BY 1;
SELECT bool_and(o.a = round(o.a, 3) AND o.b = round(o.b, 3) AND o.d = round(o.d, 3)) AS three_places,
       count(*) FILTER (WHERE t.a IS NULL OR t.b IS NULL OR t.c IS NULL OR t.d IS NULL) AS rows_filled
FROM t3_typed_out o JOIN t3_typed t USING (id);
SELECT ml_create_project('t3_ty', 't3_typed', 'y') > 0 AS created;
SELECT version FROM ml_train('t3_ty', 'linear',
    options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :ty));
SELECT training->'recipe'->'applied' AS applied FROM ml_models WHERE project = 't3_ty';
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:ty, 't3_typed', 't3_typed_filled');
GRANT SELECT ON t3_typed_filled TO ml_engineer;
SELECT ml_mark_ready('t3_ty', 1);
RESET ROLE;
SET ROLE regress_eve;
SELECT ml_deploy('t3_ty', 1);
SELECT count(*) AS rows_with_null, bool_and(ml_predict('t3_ty', r) = ml_predict('t3_ty', f)) AS as_filled
FROM t3_typed r JOIN t3_typed_filled f USING (id)
WHERE r.a IS NULL OR r.b IS NULL OR r.c IS NULL OR r.d IS NULL;
RESET ROLE;
SET ROLE regress_alice;
-- the filled table is the table ml_impute wrote
SELECT count(*) AS rows, bool_and(f.a = o.a AND f.b = o.b AND f.c = o.c AND f.d = o.d) AS same_fills
FROM t3_typed_filled f JOIN t3_typed_out o USING (id);
RESET ROLE;
