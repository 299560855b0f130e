-- Recipes: a run's fitted steps, applied again to the same rows (the
-- round trip reproduces the run) and to new rows (stated rules, no error).
SET ROLE regress_alice;
CREATE TABLE rc_train (id int, shop text, kind text, amount float8, qty float8, sold timestamp);
INSERT INTO rc_train
SELECT i, 'shop ' || (i % 4), (ARRAY['a', 'b', 'c'])[i % 3 + 1],
       CASE WHEN i = 5 THEN 900 ELSE (i % 4) * 10 + i % 3 + 0.5 END,
       CASE WHEN i % 7 = 0 THEN NULL ELSE i % 4 END,
       '2024-01-01'::timestamp + i * interval '5 hours'
FROM generate_series(1, 80) i;
UPDATE rc_train SET shop = NULL WHERE id % 11 = 0;
UPDATE rc_train SET amount = NULL WHERE id % 13 = 0;

-- ml_clean, then the same recipe on the same rows: identical tables
SELECT DISTINCT recipe_id AS clean_recipe FROM ml_clean('rc_train', '{"indicators": true,
    "outliers": {"action": "winsorize"}, "datetime": {"cyclical": true}}', into_table => 'rc_clean') \gset
SELECT count(*) FROM ml_apply_recipe(:clean_recipe, 'rc_train', into_table => 'rc_again');
SELECT (SELECT count(*) FROM (SELECT * FROM rc_clean EXCEPT ALL SELECT * FROM rc_again) a) AS only_in_run,
       (SELECT count(*) FROM (SELECT * FROM rc_again EXCEPT ALL SELECT * FROM rc_clean) b) AS only_in_replay,
       (SELECT count(*) FROM rc_again) AS rows;

-- the same for an imputation recipe, in place on a fresh copy
SELECT DISTINCT recipe_id AS impute_recipe FROM ml_impute('rc_train', into_table => 'rc_imputed') \gset
CREATE TABLE rc_copy AS SELECT * FROM rc_train;
SELECT column_name, actions FROM ml_apply_recipe(:impute_recipe, 'rc_copy') WHERE actions <> 'kept';
SELECT count(*) AS differences FROM (SELECT * FROM rc_imputed EXCEPT ALL SELECT * FROM rc_copy) d;

-- new rows: unseen shop and kind, new gaps, an amount far out of range
CREATE TABLE rc_new (id int, shop text, kind text, amount float8, qty float8, sold timestamp);
INSERT INTO rc_new VALUES
  (1001, 'shop 1', 'a', 11.5, NULL, '2024-06-01 10:00'),
  (1002, 'brand new shop', 'zzz', NULL, 2, '2024-06-01 11:00'),
  (1003, NULL, 'b', 1e9, 3, '2024-06-01 12:00'),
  (1004, 'shop 2', NULL, -5, NULL, NULL);
SELECT column_name, nulls_before, nulls_after, actions
FROM ml_apply_recipe(:clean_recipe, 'rc_new', into_table => 'rc_new_clean');
SELECT id, shop_was_missing, round(amount::numeric, 4) AS amount, qty, "kind_a", "kind_b", "kind_c" FROM rc_new_clean ORDER BY id;
SELECT count(*) AS rows FROM rc_new_clean;

-- another analyst does not see alice's recipes; a missing column is an error
SET ROLE regress_bob;
SELECT regexp_replace(regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L)', :clean_recipe, 'rc_new')),
                      'recipe \d+', 'recipe N') AS regress_try;
SET ROLE regress_alice;
CREATE TABLE rc_partial (id int, shop text);
SELECT regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L, into_table => %L)',
                          :clean_recipe, 'rc_partial', 'rc_partial2'));
-- a model's numeric input that is text in the relation: an error naming
-- it (its text read as gaps, every row filled as if the input were missing)
CREATE TABLE rc_reg AS SELECT i AS id, i * 1.5 + (i % 3) AS x, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 3.0 + 1 END AS y
FROM generate_series(1, 40) i;
SELECT DISTINCT recipe_id AS reg_recipe FROM ml_impute('rc_reg', '{y}', 'regression',
    '{"roles": {"id": "identifier"}}', into_table => 'rc_reg_out') \gset
CREATE TABLE rc_reg_text AS SELECT id, x::text AS x, y FROM rc_reg;
SELECT regexp_replace(regress_try(format('SELECT count(*) FROM ml_apply_recipe(%s, %L, %L)', :reg_recipe,
                                         'rc_reg_text', 'rc_reg_text_out')), 'recipe \d+', 'recipe N') AS regress_try;
SELECT regress_try($$SELECT * FROM ml_apply_recipe(999999, 'rc_new')$$);
SELECT regress_try($$SELECT * FROM ml_apply_recipe(NULL, 'rc_new')$$);
RESET ROLE;
