-- ml_train replays a recipe's model-based fills (groupwise, regression,
-- chain) on training rows and on every scored row with a NULL there: the
-- prediction of a raw row is the prediction of the same row after
-- ml_apply_recipe filled it, whether scored by ml_predict, ml_score or
-- ml_evaluate. KNN stays refused: its reference rows are source rows.
-- Recipe ids depend on the files before this one: errors show them as N.
CREATE FUNCTION regress_try_n2(cmd text) RETURNS text
LANGUAGE sql AS $$
    SELECT regexp_replace(regress_try(cmd), 'recipe \d+', 'recipe N', 'g')
$$;
CREATE TABLE t2_raw (
    id  integer PRIMARY KEY,
    g   text,
    x   float8,
    z   float8,
    n   integer,
    y   float8
);
INSERT INTO t2_raw
SELECT i,
       CASE WHEN i % 13 = 0 THEN NULL ELSE (ARRAY['a', 'b', 'c'])[i % 3 + 1] END,
       CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 3) * 4 + (i * 17 % 11) / 5.0 END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 2 * ((i % 3) * 4 + (i * 17 % 11) / 5.0) + (i * 7 % 5) / 3.0 END,
       CASE WHEN i % 11 = 0 THEN NULL ELSE i % 4 END,
       3 * ((i % 3) * 4 + (i * 17 % 11) / 5.0) - (i % 4) + (i * 29 % 13) / 6.0
FROM generate_series(1, 240) i;
-- the analyst cleans and trains; the engineer deploys and scores (as train_recipe.sql)
GRANT SELECT ON t2_raw TO ml_analyst, ml_engineer;
GRANT CREATE ON SCHEMA public TO ml_engineer;
CREATE TABLE t2_tiny AS SELECT * FROM t2_raw WHERE id IN (7, 14, 21, 26, 30);
GRANT SELECT ON t2_tiny TO ml_analyst, ml_engineer;

SET ROLE regress_alice;
SELECT ml_create_project('t2_p', 't2_raw', 'y') > 0 AS created;

-- 1. groupwise: x's fill is its group's (by g), a lookup of the row's own key
SELECT count(*) > 0 AS imputed FROM ml_impute('t2_raw', ARRAY['x'], 'groupwise', '{"by": ["g"]}',
                                              into_table => 't2_gw_out');
SELECT id AS gw FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
SELECT version FROM ml_train('t2_p', 'linear',
    options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :gw));
SELECT training->'recipe'->'applied' AS applied, training->'recipe'->'not_applied' AS not_applied
FROM ml_models WHERE project = 't2_p' AND version = 1;
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:gw, 't2_raw', 't2_gw');
-- the filled rows in t2_raw's order (sums over rows then add up alike)
CREATE TABLE t2_gw_ord AS SELECT * FROM t2_gw ORDER BY id;
GRANT SELECT ON t2_gw, t2_gw_ord TO ml_engineer;
-- the training rows took the recipe's fills: the same fit as on the filled
-- table (a project of its own), whose x has no NULL left
SELECT ml_create_project('t2_f', 't2_gw_ord', 'y') > 0 AS created;
SELECT version FROM ml_train('t2_f', 'linear', options => '{"exclude": ["id"], "recipe": "none"}');
SELECT a.metrics->>'rmse' = b.metrics->>'rmse' AS same_fit_as_on_filled_rows
FROM ml_models a, ml_models b
WHERE a.project = 't2_p' AND a.version = 1 AND b.project = 't2_f' AND b.version = 1;
SELECT ml_mark_ready('t2_p', 1);
RESET ROLE;
SET ROLE regress_eve;
SELECT ml_deploy('t2_p', 1);
SELECT count(*) AS rows_with_null, bool_and(ml_predict('t2_p', r) = ml_predict('t2_p', f)) AS as_filled
FROM t2_raw r JOIN t2_gw f USING (id) WHERE r.x IS NULL;
-- a NULL key: the recipe's own back-off (the global fill), as ml_apply_recipe wrote it
SELECT count(*) AS null_key, bool_and(ml_predict('t2_p', r) = ml_predict('t2_p', f)) AS as_filled
FROM t2_raw r JOIN t2_gw f USING (id) WHERE r.x IS NULL AND r.g IS NULL;
-- jsonb rows too
SELECT bool_and(ml_predict('t2_p', to_jsonb(r)) = ml_predict('t2_p', to_jsonb(f))) AS json_as_filled
FROM t2_raw r JOIN t2_gw f USING (id) WHERE r.x IS NULL;
-- ml_score equals ml_predict, on every row
SELECT ml_score('t2_p', 't2_raw', 't2_gw_scored') AS scored;
SELECT bool_and(s.prediction = ml_predict('t2_p', t)) AS identical
FROM t2_raw t JOIN t2_gw_scored s USING (id);
-- ml_evaluate: the raw relation and the filled one measure the same
SELECT (a->>'rmse') = (b->>'rmse') AS evaluate_as_filled
FROM ml_evaluate('t2_p', 1, 't2_raw') a, ml_evaluate('t2_p', 1, 't2_gw_ord') b;
-- PMML has no form for the recipe's fills
SELECT regress_try_n2($$SELECT ml_export_pmml('t2_p', 1)$$) LIKE '0A000: % takes a cleaning recipe''s fill%' AS refused;
RESET ROLE;

-- 2. regression: x's fill from the row's z, n and g (coefficients over its own cells).
SET ROLE regress_alice;
SELECT count(*) > 0 AS imputed FROM ml_impute('t2_raw', ARRAY['x'], 'regression',
    '{"exclude_features": ["id", "y"]}', into_table => 't2_rg_out');
SELECT id AS rg FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
SELECT version FROM ml_train('t2_p', 'ridge',
    options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :rg));
SELECT training->'recipe'->'applied' AS applied FROM ml_models WHERE project = 't2_p' AND version = 2;
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:rg, 't2_raw', 't2_rg');
GRANT SELECT ON t2_rg TO ml_engineer;
SELECT ml_mark_ready('t2_p', 2);
RESET ROLE;
SET ROLE regress_eve;
SELECT ml_deploy('t2_p', 2);
SELECT count(*) AS rows_with_null, bool_and(ml_predict('t2_p', r) = ml_predict('t2_p', f)) AS as_filled
FROM t2_raw r JOIN t2_rg f USING (id) WHERE r.x IS NULL;
-- a row whose inputs are NULL too: the regression reads them as the recipe does
SELECT count(*) AS emptier_rows, bool_and(ml_predict('t2_p', r) = ml_predict('t2_p', f)) AS as_filled
FROM t2_raw r JOIN t2_rg f USING (id) WHERE r.x IS NULL AND (r.z IS NULL OR r.n IS NULL OR r.g IS NULL);
SELECT ml_score('t2_p', 't2_raw', 't2_rg_scored') AS scored;
SELECT bool_and(s.prediction = ml_predict('t2_p', t)) AS identical
FROM t2_raw t JOIN t2_rg_scored s USING (id);
RESET ROLE;

-- 3. chain: x and z filled from each other, round by round, over the row's
-- own cells; a tree model this time, as the project's latest recipe.
SET ROLE regress_alice;
SELECT count(*) > 0 AS imputed FROM ml_impute('t2_raw', ARRAY['x', 'z'], 'chain',
    '{"exclude_features": ["id", "y"]}', into_table => 't2_ch_out');
SELECT id AS ch FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
-- g has gaps: its three levels' indicators are members too, replayed per row as well
SELECT count(*) FILTER (WHERE m ? 'level') AS indicator_members, count(*) AS members
FROM mlops.recipes, jsonb_array_elements(steps -> 0 -> 'chain') m WHERE id = :ch;
SELECT version FROM ml_train('t2_p', 'gbdt', '{"n_estimators": 20}', '{"exclude": ["id"]}');
SELECT recipe_id = :ch AS the_projects_recipe, training->'recipe'->>'source' AS source,
       training->'recipe'->'applied' AS applied
FROM mlops.models WHERE version = 3 AND project_id = (SELECT id FROM mlops.projects WHERE name = 't2_p');
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:ch, 't2_raw', 't2_ch');
CREATE TABLE t2_ch_ord AS SELECT * FROM t2_ch ORDER BY id;
GRANT SELECT ON t2_ch, t2_ch_ord TO ml_engineer;
SELECT ml_mark_ready('t2_p', 3);
RESET ROLE;
SET ROLE regress_eve;
SELECT ml_deploy('t2_p', 3);
SELECT count(*) AS rows_with_null, bool_and(ml_predict('t2_p', r) = ml_predict('t2_p', f)) AS as_filled
FROM t2_raw r JOIN t2_ch f USING (id) WHERE r.x IS NULL OR r.z IS NULL;
SELECT count(*) AS both_null, bool_and(ml_predict('t2_p', r) = ml_predict('t2_p', f)) AS as_filled
FROM t2_raw r JOIN t2_ch f USING (id) WHERE r.x IS NULL AND r.z IS NULL;
SELECT ml_score('t2_p', 't2_raw', 't2_ch_scored') AS scored;
SELECT bool_and(s.prediction = ml_predict('t2_p', t)) AS identical
FROM t2_raw t JOIN t2_ch_scored s USING (id);
SELECT (a->>'rmse') = (b->>'rmse') AS evaluate_as_filled
FROM ml_evaluate('t2_p', 3, 't2_raw') a, ml_evaluate('t2_p', 3, 't2_ch_ord') b;
RESET ROLE;

-- 4. Refused: a fill that reads a column the model does not take.
SET ROLE regress_alice;
SELECT regress_try_n2(format($$SELECT ml_train('t2_p', 'linear', options => '{"exclude": ["id", "z"], "recipe": %s}')$$, :rg));
RESET ROLE;

-- 5. A tampered recipe: clear errors when named, ml_train's own preparation
-- (and why) when it is the project's latest.
CREATE TABLE t2_steps AS SELECT steps FROM mlops.recipes WHERE id = :gw;
UPDATE mlops.recipes SET steps = jsonb_set(steps, '{0,parent}', '[1]') WHERE id = :gw;
SET ROLE regress_alice;
SELECT regress_try_n2(format($$SELECT ml_train('t2_p', 'linear', options => '{"exclude": ["id"], "recipe": %s}')$$, :gw));
RESET ROLE;
UPDATE mlops.recipes SET steps = (SELECT steps FROM t2_steps) WHERE id = :gw;
UPDATE mlops.recipes SET steps = jsonb_set(steps, '{0,chain,-1,onehot,0,column}', '"nope"') WHERE id = :ch;
SET ROLE regress_alice;
SET client_min_messages = warning;	-- its notice names the recipe's id
SELECT version FROM ml_train('t2_p', 'linear', options => '{"exclude": ["id"]}');
RESET client_min_messages;
SELECT training->'recipe'->>'source' AS source,
       regexp_replace(regexp_replace(training->'recipe'->>'not_applied_recipe', '^\d+', 'N'),
                      'recipe \d+', 'recipe N') AS why
FROM mlops.models WHERE version = 4 AND project_id = (SELECT id FROM mlops.projects WHERE name = 't2_p');
-- KNN stays refused: its reference rows would travel in the payload
SELECT count(*) > 0 AS imputed FROM ml_impute('t2_raw', ARRAY['x'], 'knn',
    '{"exclude_features": ["id", "y"]}', into_table => 't2_knn');
SELECT id AS knn FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
SELECT regress_try_n2(format($$SELECT ml_train('t2_p', 'linear', options => '{"exclude": ["id"], "recipe": %s}')$$, :knn));
RESET ROLE;

-- 6. A tampered payload: every damage to its recipe steps is a clear
-- XX001, never another error or a crash; the steps' method and columns are
-- checked (a fill that reads other rows, a column that is no input).
CREATE TABLE t2_payload AS
SELECT m.id, m.payload FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
WHERE p.name = 't2_p' AND version = 1;
CREATE FUNCTION t2_outcome() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_evaluate('t2_p', 1, 't2_tiny');
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
CREATE FUNCTION t2_swap(old text, new text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    orig bytea := (SELECT payload FROM t2_payload);
    at int := position(convert_to(old, 'UTF8') IN orig);
    st text;
    det text;
BEGIN
    IF at = 0 OR length(old) <> length(new) THEN
        RETURN 'not found';
    END IF;
    UPDATE mlops.models SET payload = overlay(orig PLACING convert_to(new, 'UTF8') FROM at)
    WHERE id = (SELECT id FROM t2_payload);
    BEGIN
        PERFORM ml_evaluate('t2_p', 1, 't2_tiny');
        st := 'ok';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
        st := SQLSTATE || ': ' || st || ' ' || det;
    END;
    UPDATE mlops.models SET payload = orig WHERE id = (SELECT id FROM t2_payload);
    RETURN regexp_replace(st, 'at byte \d+ of \d+', 'at byte B');
END
$$;
SELECT t2_swap('"groupwise"', '"knn"      ') AS other_rows;
SELECT t2_swap('"column": "g"', '"column": "q"') AS not_an_input;
SELECT t2_swap('{"fill": ', '["fill": ') AS not_json;
SELECT t2_swap('"groupwise"', '"chain"    ') AS bad_model;
CREATE TABLE t2_outcomes (what text, sqlstate text);
CREATE FUNCTION t2_tamper() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    orig bytea := (SELECT payload FROM t2_payload);
    mid bigint := (SELECT id FROM t2_payload);
    first int := position('{"fill": '::bytea IN orig);
BEGIN
    -- the step's length word, then every byte of its JSON
    FOR i IN first - 5 .. first + 120 LOOP
        FOR k IN 0 .. 1 LOOP
            IF k = 0 THEN
                UPDATE mlops.models SET payload = substring(orig FROM 1 FOR i) WHERE id = mid;
            ELSE
                UPDATE mlops.models SET payload = set_byte(orig, i, get_byte(orig, i) # 255) WHERE id = mid;
            END IF;
            INSERT INTO t2_outcomes VALUES (CASE k WHEN 0 THEN 'truncated' ELSE 'flipped' END, t2_outcome());
        END LOOP;
    END LOOP;
    UPDATE mlops.models SET payload = orig WHERE id = mid;
END
$$;
SELECT t2_tamper();
SELECT what, sqlstate IN ('ok', 'XX001') AS clean, count(*) > 0 AS seen
FROM t2_outcomes GROUP BY 1, 2 ORDER BY 1, 2;
SELECT DISTINCT what, sqlstate FROM t2_outcomes WHERE sqlstate NOT IN ('ok', 'XX001') ORDER BY 1, 2;
SELECT t2_outcome() AS restored;
-- a number the JSON grammar takes but jsonb cannot hold: an XX001 too, not
-- numeric's own error from reading the payload
SELECT t2_swap('"fill": 5.0009708737864065', '"fill": 1e9999999999999999') AS number_out_of_range;
