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

-- 2. Scoring ran a domain's CHECK on the recipe's fill and bounds
-- (MlBindRow), where nothing is written: a row of such a column could no
-- longer be scored in a read-only transaction (a hot standby) when the
-- CHECK's function writes (25006), nor by a role without EXECUTE on it
-- that reads the table (42501). There the fill is the type's, as the
-- model was trained.
CREATE TABLE r12_audit (v int);
GRANT INSERT ON r12_audit TO PUBLIC;
CREATE FUNCTION r12_chk(v int) RETURNS bool LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO public.r12_audit VALUES (v); RETURN v BETWEEN 0 AND 100; END $$;
CREATE DOMAIN r12_logged AS int CHECK (r12_chk(VALUE));
CREATE TABLE r12_l (id int PRIMARY KEY, p r12_logged, y float8);
INSERT INTO r12_l SELECT i, CASE WHEN i % 10 = 0 THEN NULL ELSE i % 101 END, i % 7 + (i % 101) / 10.0
FROM generate_series(1, 300) i;
SELECT DISTINCT recipe_id AS lr FROM ml_impute('r12_l', '{p}', 'mean', '{"roles": {"id": "identifier", "y": "target"}}',
    into_table => 'r12_l_m') \gset
SELECT ml_create_project('r12_l', 'r12_l', 'y') > 0 AS created;
SELECT version FROM ml_train('r12_l', 'linear', options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :lr));
SELECT ml_mark_ready('r12_l', 1);
SELECT ml_deploy('r12_l', 1);
CREATE TABLE r12_l_scored AS SELECT id, ml_predict('r12_l', r) AS score FROM r12_l r;
SELECT count(DISTINCT score) FILTER (WHERE p IS NULL) AS filled_scores FROM r12_l_scored JOIN r12_l USING (id);
BEGIN READ ONLY;
SELECT bool_and(ml_predict('r12_l', r) = s.score) AS read_only_same FROM r12_l r JOIN r12_l_scored s USING (id);
ROLLBACK;
REVOKE EXECUTE ON FUNCTION r12_chk(int) FROM PUBLIC;
GRANT SELECT ON r12_l, r12_l_scored TO regress_eve;
SELECT ml_add_member('r12_l', 'regress_eve');
SET ROLE regress_eve;
SELECT bool_and(ml_predict('r12_l', r) = s.score) AS no_execute_same FROM r12_l r JOIN r12_l_scored s USING (id);
RESET ROLE;
-- any other error of the CHECK is the domain's own, as a write raises it
CREATE OR REPLACE FUNCTION r12_chk(v int) RETURNS bool LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION USING ERRCODE = '22012', MESSAGE = 'r12_chk refuses'; END $$;
SELECT regress_try($$SELECT count(ml_predict('r12_l', r)) FROM r12_l r$$) AS raising_check;

-- 3. Bounds with no value the domain takes between them (132.7 .. 133.2,
-- even values): stepped inward, each passed the other (134 .. 132), and
-- the write set every value to 132 while the model clamped them to 134.
-- A bound is never moved past the other: both clamp nothing.
CREATE TABLE r12_nw AS SELECT * FROM r12_w;
SELECT ml_create_project('r12_nw', 'r12_nw', 'y') > 0 AS created;
UPDATE mlops.recipes SET steps = (SELECT jsonb_agg(CASE WHEN s ->> 'step' = 'outliers'
    THEN s || '{"lo": 132.7, "hi": 133.2}' ELSE s END) FROM jsonb_array_elements(steps) s) WHERE id = :wr;
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:wr, 'r12_nw', 'r12_nw_f');
SELECT count(*) FILTER (WHERE r.a <> f.a) AS changed FROM r12_nw r JOIN r12_nw_f f USING (id);
SELECT version FROM ml_train('r12_nw', 'linear', options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :wr));
SELECT ml_mark_ready('r12_nw', 1);
SELECT ml_deploy('r12_nw', 1);
SELECT bool_and(ml_predict('r12_nw', r) = ml_predict('r12_nw', f)) AS as_applied,
       count(DISTINCT ml_predict('r12_nw', r)) > 2 AS not_one_value
FROM r12_nw r JOIN r12_nw_f f USING (id);
