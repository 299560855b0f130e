-- Review of the merge 8f8785c: domains with CHECK constraints in the
-- fills and the winsorizing bounds, group-wise sums in units of 2^64.
\set VERBOSITY sqlstate
SET client_min_messages = notice;

-- 1. A winsorizing bound a domain's CHECK refuses, the domain taking
-- values beyond it: CHECK (VALUE % 2 = 0) and an upper bound of 133.2,
-- held as 133. 8f8785c dropped such a bound: the outliers (1000) were
-- kept as they were, with no word, on the very table it was fitted on
-- (before it, their write failed with 23514). The bound is held as the
-- nearest even value inside, 132, in ml_clean, ml_apply_recipe, the
-- recipe's replay in training and scoring alike.
CREATE DOMAIN r12_even AS int CHECK (VALUE % 2 = 0);
CREATE TABLE r12_w (id int PRIMARY KEY, a r12_even, y float8);
INSERT INTO r12_w SELECT i, CASE WHEN i % 37 = 0 THEN 1000 ELSE (i % 50) * 2 END, i FROM generate_series(1, 400) i;
SELECT count(*) AS columns FROM ml_clean('r12_w', '{"roles": {"id": "identifier", "y": "target"}, "encode": false,
    "polish": false, "duplicates": false, "outliers": {"action": "winsorize", "k": 1.1}}', into_table => 'r12_w_out');
SELECT id AS wr FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT s ->> 'lo' AS lo, s ->> 'hi' AS hi FROM mlops.recipes, jsonb_array_elements(steps) s
WHERE id = :wr AND s ->> 'step' = 'outliers';
SELECT max(a), min(a), count(*) FILTER (WHERE a = 132) AS clamped FROM r12_w_out;
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:wr, 'r12_w', 'r12_w_f');
SELECT max(a), count(*) FILTER (WHERE a = 132) AS clamped FROM r12_w_f;
SELECT ml_create_project('r12_w', 'r12_w', 'y') > 0 AS created;
SELECT version FROM ml_train('r12_w', 'linear', options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :wr));
SELECT training->'recipe'->'applied' AS applied FROM ml_models WHERE project = 'r12_w';
SELECT ml_mark_ready('r12_w', 1);
SELECT ml_deploy('r12_w', 1);
SELECT bool_and(ml_predict('r12_w', r) = ml_predict('r12_w', f)) AS as_applied,
       bool_and(ml_predict('r12_w', jsonb_build_object('a', r.a)) = ml_predict('r12_w', f)) AS jsonb_as_applied,
       bool_and(ml_predict('r12_w', r) = ml_predict('r12_w', jsonb_build_object('a', 132))) FILTER (WHERE r.a = 1000) AS as_132
FROM r12_w r JOIN r12_w_f f USING (id);
-- a domain's interval: a bound beyond it clamps none of the values (a
-- recipe of a float8 column, bounds -53 .. 155, on a column 0 .. 100)
CREATE DOMAIN r12_pct AS int CHECK (VALUE BETWEEN 0 AND 100);
CREATE TABLE r12_f (id int PRIMARY KEY, a float8, y float8);
INSERT INTO r12_f SELECT i, CASE WHEN i % 37 = 0 THEN 1000 ELSE i % 101 END, i FROM generate_series(1, 400) i;
SELECT count(*) AS columns FROM ml_clean('r12_f', '{"roles": {"id": "identifier", "y": "target"}, "encode": false,
    "polish": false, "duplicates": false, "outliers": {"action": "winsorize"}}', into_table => 'r12_f_out');
SELECT id AS pr FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT s ->> 'lo' AS lo, s ->> 'hi' AS hi FROM mlops.recipes, jsonb_array_elements(steps) s
WHERE id = :pr AND s ->> 'step' = 'outliers';
CREATE TABLE r12_p (id int PRIMARY KEY, a r12_pct, y float8);
INSERT INTO r12_p SELECT i, i % 101, i FROM generate_series(1, 400) i;
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:pr, 'r12_p', 'r12_p_f');
SELECT max(f.a), min(f.a), count(*) FILTER (WHERE f.a <> r.a) AS changed FROM r12_p_f f JOIN r12_p r USING (id);
