-- Fills kept as the column holds them (src/clean/fills.c: fits_type,
-- numeric_as_stored) at the edges of the types: a fill that the column
-- cannot hold, or that the frame could not read back, is left missing and
-- counted (a notice), never an error from the conversions or from the
-- statement that writes the fills, never a substitute value.
\set VERBOSITY sqlstate
SET client_min_messages = notice;

-- 1. A fill from 1.797693134862315e308 up is 1.79769313486232e308 once held
-- as numeric (15 digits), past the double range: numeric_float8 failed
-- with 22003 quoting all 309 digits. Now the cell stays missing, counted.
CREATE TABLE r10_big (id int, f numeric, k numeric(1000,-10), s numeric(1000,-1000));
INSERT INTO r10_big VALUES
  (1, 1.7976931348623157e308, 1.7976931348623157e308, 1), (2, 1.7976931348623157e308, 1.7976931348623157e308, 2),
  (3, 1.7976931348623157e308, 1.7976931348623157e308, 3), (4, NULL, NULL, NULL);
SELECT regress_try($$SELECT * FROM ml_impute('r10_big', '{f,k,s}', 'constant',
    '{"value": 1.7976931348623157e308, "roles": {"id": "identifier"}}', into_table => 'r10_big_c')$$) AS constant_dbl_max;
SELECT f, k, s FROM r10_big_c WHERE id = 4;
SELECT regress_try($$SELECT * FROM ml_impute('r10_big', '{f,k}', 'mode',
    '{"roles": {"id": "identifier"}}', into_table => 'r10_big_m')$$) AS mode_dbl_max;
SELECT f IS NULL AS f_missing, k IS NULL AS k_missing FROM r10_big_m WHERE id = 4;
-- just below: 1.79769313486231e308 is held and read back
SELECT column_name, filled FROM ml_impute('r10_big', '{f}', 'constant',
    '{"value": 1.79769313486231e308, "roles": {"id": "identifier"}}', into_table => 'r10_big_b') ORDER BY 1;
SELECT f = 1.79769313486231e308 AS held FROM r10_big_b WHERE id = 4;

-- 2. "round": a fill of 4.5e307 in a column whose values use one place was
-- rounded as rint(v * 10) / 10, Infinity, and written so (the cell held
-- Infinity in both float8 and numeric). A value from 2^52 up is whole.
CREATE TABLE r10_round (id int, x float8, n numeric, r real);
INSERT INTO r10_round VALUES (1, 9e307, 9e307, 3e38), (2, 9e307, 9e307, 3e38), (3, 0.5, 0.5, 0.5), (4, NULL, NULL, NULL),
  (5, 0.25, 0.25, 0.25);
SELECT column_name, filled FROM ml_impute('r10_round', NULL, 'median',
    '{"round": true, "roles": {"id": "identifier"}}', into_table => 'r10_round_m') ORDER BY 1;
SELECT x, n::float8 AS n, r FROM r10_round_m WHERE id = 4;

-- 3. A domain over numeric(6,2): the column's typmod is -1, the domain's
-- is numeric(6,2). A fill past 10^4 reached the cast to the domain in the
-- statement that writes the fills (22003 from our SQL), and a fill was kept
-- in the frame and replayed on a scored row with all its digits while the
-- table held two places.
CREATE DOMAIN r10_d62 AS numeric(6,2);
CREATE TABLE r10_dom (id int PRIMARY KEY, x r10_d62, z float8, y float8);
INSERT INTO r10_dom SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 3.3 + (i % 7) / 3.0 END, i + (i % 3) / 7.0,
  (i % 13) * 2 + (i % 7) / 3.0 + i / 50.0 FROM generate_series(1, 300) i;
INSERT INTO r10_dom VALUES (301, NULL, 5000, 1);
SELECT regress_try($$SELECT * FROM ml_impute('r10_dom', '{x}', 'regression',
    '{"roles": {"id": "identifier", "y": "target"}}', into_table => 'r10_dom_r')$$) AS regression_past_1e4;
SELECT count(*) FILTER (WHERE x IS NULL) AS left_missing, bool_and(x = round(x, 2)) AS two_places
FROM r10_dom_r;
DELETE FROM r10_dom WHERE id = 301;
SELECT DISTINCT recipe_id AS dr FROM ml_impute('r10_dom', '{x}', 'regression',
    '{"roles": {"id": "identifier", "y": "target"}}', into_table => 'r10_dom_out') \gset
SELECT ml_create_project('r10_dom', 'r10_dom', 'y') > 0 AS created;
SELECT version FROM ml_train('r10_dom', 'linear', options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :dr));
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:dr, 'r10_dom', 'r10_dom_filled');
SELECT ml_mark_ready('r10_dom', 1);
SELECT ml_deploy('r10_dom', 1);
SELECT count(*) AS rows_with_null, bool_and(ml_predict('r10_dom', r) = ml_predict('r10_dom', f)) AS as_filled,
       bool_and(ml_predict('r10_dom', to_jsonb(r) - 'id' - 'y') = ml_predict('r10_dom', f)) AS jsonb_as_filled
FROM r10_dom r JOIN r10_dom_filled f USING (id) WHERE r.x IS NULL;

-- 4. A recipe's mean, median, mode or constant fill is kept in the model
-- (not replayed): it was the float8 the fit gave, while ml_apply_recipe
-- writes it as the column holds it (numeric(8,3)'s places, real's
-- precision), so ml_predict on a raw row with such a NULL differed from
-- the filled row, unless another input of the row was NULL (the replay
-- then took the held value). A fill the column cannot hold is not applied.
CREATE TABLE r10_simple (id int PRIMARY KEY, a numeric(8,3), b real, c numeric(8,3), s smallint, y float8);
INSERT INTO r10_simple SELECT i,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 13) * 1.1 + i / 7.0 END,
  CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 11) / 3.0 END,
  CASE WHEN i % 6 = 0 THEN NULL ELSE (i % 13) * 2.2 + (i % 11) / 7.0 END,
  CASE WHEN i % 9 = 0 THEN NULL ELSE i % 4 END,
  (i % 13) * 3 + (i % 11) / 3.0 + i / 70.0 + (i % 4)
FROM generate_series(1, 300) i;
SELECT DISTINCT recipe_id AS sr FROM ml_impute('r10_simple', options => '{"roles": {"id": "identifier", "y": "target"},
    "methods": {"a": "mean", "b": "mean", "c": "regression", "s": "mean"}}', into_table => 'r10_simple_out') \gset
SELECT ml_create_project('r10_simple', 'r10_simple', 'y') > 0 AS created;
SELECT version FROM ml_train('r10_simple', 'linear', options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :sr));
SELECT training->'recipe'->'applied' AS applied FROM ml_models WHERE project = 'r10_simple';
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:sr, 'r10_simple', 'r10_simple_filled');
SELECT ml_mark_ready('r10_simple', 1);
SELECT ml_deploy('r10_simple', 1);
SELECT r.a IS NULL AS a_null, r.b IS NULL AS b_null, r.c IS NULL AS c_null, r.s IS NULL AS s_null, count(*) AS rows,
       bool_and(ml_predict('r10_simple', r) = ml_predict('r10_simple', f)) AS as_filled
FROM r10_simple r JOIN r10_simple_filled f USING (id)
WHERE r.a IS NULL OR r.b IS NULL OR r.c IS NULL OR r.s IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
-- a constant fitted on an integer column of another table is checked
-- against the project's column (MlConstantParse); a mean of 100001 is no
-- smallint: the model does not take it, and ml_apply_recipe leaves s missing
CREATE TABLE r10_wide (id int, s integer);
INSERT INTO r10_wide VALUES (1, 100000), (2, 100002), (3, NULL);
SELECT DISTINCT recipe_id AS wc FROM ml_impute('r10_wide', '{s}', 'constant',
    '{"value": 100000, "roles": {"id": "identifier"}}', into_table => 'r10_wide_c') \gset
SELECT regress_try(format($$SELECT ml_train('r10_simple', 'linear', options => '{"exclude": ["id"], "recipe": %s}')$$, :wc)) AS train;
SELECT DISTINCT recipe_id AS wr FROM ml_impute('r10_wide', '{s}', 'mean',
    '{"roles": {"id": "identifier"}}', into_table => 'r10_wide_m') \gset
SELECT version FROM ml_train('r10_simple', 'linear', options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :wr));
SELECT training->'recipe'->'applied' AS applied, training->'recipe'->'not_applied' AS not_applied
FROM ml_models WHERE project = 'r10_simple' AND version = 2;
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:wr, 'r10_simple', 'r10_simple_wide');
SELECT ml_mark_ready('r10_simple', 2);
SELECT ml_deploy('r10_simple', 2);
SELECT count(*) FILTER (WHERE f.s IS NULL) AS s_left_missing,
       bool_and(ml_predict('r10_simple', r) = ml_predict('r10_simple', f)) AS as_filled
FROM r10_simple r JOIN r10_simple_wide f USING (id) WHERE r.s IS NULL;

-- 5. A model scored on a row of another table whose same-named column has
-- another type (numeric(4,1), real, numeric(3,1) for numeric(10,4)): the
-- recipe replayed on the row and its mean fill took the training column's
-- places, while ml_apply_recipe on that table writes its own (and leaves
-- missing what its column cannot hold): predictions differed by up to 0.04.
CREATE TABLE r10_tx (id int PRIMARY KEY, a numeric(10,4), c numeric(10,4), b float8, y float8);
INSERT INTO r10_tx SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 50) * 1.23457 + (i % 7) / 9.0 END,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 9) * 1.11113 END, (i % 50) + (i % 3) / 7.0,
  (i % 11) * 2 + (i % 50) / 10.0 + (i % 9) FROM generate_series(1, 300) i;
CREATE TABLE r10_ty (id int PRIMARY KEY, a numeric(4,1), c numeric(4,1), b float8, y float8);
INSERT INTO r10_ty SELECT id, a, c, b, y FROM r10_tx;
CREATE TABLE r10_tz (id int PRIMARY KEY, a real, c real, b float8, y float8);
INSERT INTO r10_tz SELECT id, a, c, b, y FROM r10_tx;
CREATE TABLE r10_tw (id int PRIMARY KEY, a numeric(3,1), c numeric(2,1), b float8, y float8);
INSERT INTO r10_tw SELECT id, CASE WHEN a < 99 THEN a END, CASE WHEN c < 9 THEN c END, b, y FROM r10_tx;
INSERT INTO r10_tw VALUES (1000, NULL, NULL, 500, 1);
SELECT DISTINCT recipe_id AS xr FROM ml_impute('r10_tx', '{a,c}', options => '{"roles": {"id": "identifier", "y": "target"},
    "methods": {"a": "regression", "c": "mean"}}', into_table => 'r10_tx_out') \gset
SELECT ml_create_project('r10_x', 'r10_tx', 'y') > 0 AS created;
SELECT version FROM ml_train('r10_x', 'linear', options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :xr));
SELECT training->'recipe'->'applied' AS applied FROM ml_models WHERE project = 'r10_x';
SELECT ml_mark_ready('r10_x', 1);
SELECT ml_deploy('r10_x', 1);
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:xr, 'r10_tx', 'r10_tx_f');
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:xr, 'r10_ty', 'r10_ty_f');
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:xr, 'r10_tz', 'r10_tz_f');
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:xr, 'r10_tw', 'r10_tw_f');
SELECT 'numeric(10,4)' AS scored, count(*) AS rows, bool_and(ml_predict('r10_x', r) = ml_predict('r10_x', f)) AS as_filled
FROM r10_tx r JOIN r10_tx_f f USING (id) WHERE r.a IS NULL OR r.c IS NULL
UNION ALL
SELECT 'numeric(4,1)', count(*), bool_and(ml_predict('r10_x', r) = ml_predict('r10_x', f))
FROM r10_ty r JOIN r10_ty_f f USING (id) WHERE r.a IS NULL OR r.c IS NULL
UNION ALL
SELECT 'real', count(*), bool_and(ml_predict('r10_x', r) = ml_predict('r10_x', f))
FROM r10_tz r JOIN r10_tz_f f USING (id) WHERE r.a IS NULL OR r.c IS NULL
UNION ALL
SELECT 'numeric(3,1)', count(*), bool_and(ml_predict('r10_x', r) = ml_predict('r10_x', f))
FROM r10_tw r JOIN r10_tw_f f USING (id) WHERE r.a IS NULL OR r.c IS NULL;
SELECT count(*) FILTER (WHERE a IS NULL) AS a_left_missing, count(*) FILTER (WHERE c IS NULL) AS c_left_missing
FROM r10_tw_f;
-- ml_score reads the rows as ml_predict does
SELECT count(*) > 0 AS scored FROM ml_score('r10_x', 'r10_ty', 'r10_ty_scored');
SELECT bool_and(s.prediction = ml_predict('r10_x', f)) AS score_as_filled
FROM r10_ty_scored s JOIN r10_ty_f f USING (id) JOIN r10_ty r USING (id) WHERE r.a IS NULL OR r.c IS NULL;

-- 6. Winsorizing bounds (ml_clean's outliers step): ml_clean writes a
-- clamped value cast to the column's type (1.0025 held as 1.003 by a
-- numeric(8,3)), the model clamped to the bound as fitted: a raw row with
-- an outlier scored unlike the cleaned row (by 4.4 here). The bounds are
-- held as the column holds them, the scored row's own column for a row of
-- another table, the training column's for a jsonb row.
CREATE TABLE r10_w (id int PRIMARY KEY, a numeric(8,3), r real, y float8);
INSERT INTO r10_w SELECT i, CASE WHEN i % 29 = 0 THEN 5 WHEN i % 31 = 0 THEN -3 ELSE 1 + (i % 2) * 0.001 END,
  CASE WHEN i % 23 = 0 THEN 900 ELSE (i % 11) / 3.0 END,
  (i % 13) * 3 + (i % 11) / 3.0 + i / 70.0 + CASE WHEN i % 29 = 0 THEN 5 WHEN i % 31 = 0 THEN -3 ELSE 1 + (i % 2) * 0.001 END * 10
FROM generate_series(1, 300) i;
CREATE TABLE r10_w2 (id int PRIMARY KEY, a numeric(6,2), r numeric(6,1), y float8);
INSERT INTO r10_w2 SELECT id, a, r, y FROM r10_w;
SELECT count(*) AS columns FROM ml_clean('r10_w', '{"roles": {"id": "identifier", "y": "target"}, "encode": false,
    "polish": false, "duplicates": false}', into_table => 'r10_w_out');
SELECT id AS wr FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT s ->> 'column' AS column_name, s ->> 'hi' AS hi FROM mlops.recipes, jsonb_array_elements(steps) s
WHERE id = :wr AND s ->> 'step' = 'outliers' ORDER BY 1;
SELECT ml_create_project('r10_w', 'r10_w', 'y') > 0 AS created;
SELECT version FROM ml_train('r10_w', 'linear', options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :wr));
SELECT training->'recipe'->'applied' AS applied FROM ml_models WHERE project = 'r10_w';
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:wr, 'r10_w', 'r10_w_f');
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:wr, 'r10_w2', 'r10_w2_f');
SELECT ml_mark_ready('r10_w', 1);
SELECT ml_deploy('r10_w', 1);
SELECT 'numeric(8,3), real' AS scored, count(*) AS outliers, bool_and(ml_predict('r10_w', t) = ml_predict('r10_w', f)) AS as_cleaned,
       bool_and(ml_predict('r10_w', jsonb_build_object('a', t.a, 'r', t.r::float8)) = ml_predict('r10_w', f)) AS jsonb_as_cleaned
FROM r10_w t JOIN r10_w_f f USING (id) WHERE t.a <> f.a OR t.r <> f.r
UNION ALL
SELECT 'numeric(6,2), numeric(6,1)', count(*), bool_and(ml_predict('r10_w', t) = ml_predict('r10_w', f)), NULL
FROM r10_w2 t JOIN r10_w2_f f USING (id) WHERE t.a <> f.a OR t.r <> f.r;

-- 7. Values near the double range: a mean of 9e307, 9e307 and 0.5 summed
-- to Infinity and a median between -1.7e308 and 1.7e308 took b - a =
-- Infinity: the fills were infinite and nothing was filled, with no word.
CREATE TABLE r10_range (id int, x float8, n numeric, m float8);
INSERT INTO r10_range VALUES (1, 9e307, 9e307, -1.7e308), (2, 9e307, 9e307, 1.7e308), (3, 0.5, 0.5, NULL), (4, NULL, NULL, NULL);
SELECT column_name, filled FROM ml_impute('r10_range', '{x,n}', 'mean', '{"roles": {"id": "identifier"}}',
    into_table => 'r10_range_mean') ORDER BY 1;
SELECT x, n::float8 AS n FROM r10_range_mean WHERE id = 4;
SELECT column_name, filled FROM ml_impute('r10_range', '{m}', 'median', '{"roles": {"id": "identifier"}}',
    into_table => 'r10_range_median') ORDER BY 1;
SELECT m FROM r10_range_median WHERE id > 2 ORDER BY id;
