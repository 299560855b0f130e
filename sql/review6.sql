-- Review 6: ml_train's recipes from hostile catalog rows, tampered payloads
-- of models with a recipe's fills, and PMML of versions row-level security
-- hides. Recipe ids depend on the files before this one: shown as N.
CREATE FUNCTION regress_try_r6(cmd text) RETURNS text
LANGUAGE sql AS $$
    SELECT regexp_replace(regress_try(cmd), 'recipe \d+', 'recipe N', 'g')
$$;
CREATE ROLE regress_r6_a LOGIN IN ROLE ml_analyst;
CREATE ROLE regress_r6_b LOGIN IN ROLE ml_analyst;
CREATE ROLE regress_r6_c LOGIN BYPASSRLS IN ROLE ml_analyst;
CREATE ROLE regress_r6_e LOGIN IN ROLE ml_engineer;
CREATE TABLE r6_t AS
SELECT i AS id, (i % 7)::float8 AS x, CASE WHEN i % 5 = 0 THEN NULL ELSE (ARRAY['a', 'b', 'c'])[i % 3 + 1] END AS c,
       CASE WHEN i % 4 = 0 THEN NULL ELSE i % 3 END AS n,
       CASE WHEN i % 9 = 0 THEN 'infinity'::timestamp WHEN i % 10 = 0 THEN '-infinity'::timestamp
            WHEN i % 11 = 0 THEN NULL ELSE timestamp '2024-01-01' + i * interval '5 hours' END AS at,
       2 * (i % 7) + (i % 3) + (i % 2) AS y
FROM generate_series(1, 120) i;
GRANT SELECT ON r6_t TO ml_analyst;
SET ROLE regress_r6_a;
SELECT ml_create_project('r6_p', 'r6_t', 'y') > 0 AS created;
RESET ROLE;

-- 1. Hostile recipe rows (a tampered dump restored): each a clear error
-- naming the recipe, never a crash. A text column's fill must be one of
-- its categories: a bare number was taken for a level code (an index past
-- the column's levels in the dense encoder: out-of-bounds write).
CREATE FUNCTION r6_recipe(steps text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    INSERT INTO mlops.recipes (kind, steps, created_by, created_by_oid, source_schema, source_name, source_relid)
    VALUES ('impute', steps::jsonb, 'regress_r6_a', 'regress_r6_a'::regrole, 'public', 'r6_t', 'r6_t'::regclass)
    RETURNING id
$$;
CREATE TABLE r6_hostile (label text, steps text);
INSERT INTO r6_hostile VALUES
  ('text fill 1e9', '[{"step": "model", "column": "c", "method": "mean", "discrete": false, "fill": 1e9}]'),
  ('text fill -1', '[{"step": "model", "column": "c", "method": "mode", "discrete": false, "fill": -1}]'),
  ('text fill 0.5', '[{"step": "model", "column": "c", "method": "mean", "fill": 0.5}]'),
  ('number fill as text', '[{"step": "model", "column": "n", "method": "mode", "discrete": true, "levels": ["x1"], "fill": "x1"}]'),
  ('number fill empty text', '[{"step": "model", "column": "x", "method": "mode", "discrete": true, "levels": [""], "fill": ""}]'),
  ('huge fill', '[{"step": "model", "column": "x", "method": "mean", "fill": 1e308}]'),
  ('overflowing fill', '[{"step": "model", "column": "x", "method": "mean", "fill": 1e400}]'),
  ('timestamp fill 1e300', '[{"step": "model", "column": "at", "method": "mean", "fill": 1e300}]'),
  ('fill of wrong type', '[{"step": "model", "column": "x", "method": "mean", "fill": "many"}]'),
  ('bounds reversed', '[{"step": "outliers", "column": "x", "lo": 5, "hi": -5}]'),
  ('bounds of text', '[{"step": "outliers", "column": "c", "lo": 0, "hi": 1}]'),
  ('bounds as text', '[{"step": "outliers", "column": "x", "lo": "a", "hi": "b"}]'),
  ('unknown part', '[{"step": "datetime", "column": "at", "parts": ["year", "century"]}]'),
  ('too many parts', '[{"step": "datetime", "column": "at", "parts": ["year","month","day","hour","minute","second","dow","doy","week","weekend","year"]}]'),
  ('parts not a list', '[{"step": "datetime", "column": "at", "parts": 3}]'),
  ('no column', '[{"step": "model", "method": "mean", "fill": 1}]'),
  ('missing column', '[{"step": "model", "column": "nope", "method": "mean", "fill": 1}]'),
  ('column not a string', '[{"step": "model", "column": 7, "method": "mean", "fill": 1}]'),
  ('steps an object', '{"step": "model"}'),
  ('steps a scalar', '3'),
  ('element a number', '[1, "x", null]'),
  ('impute models not a list', '[{"step": "impute", "models": 5}]'),
  ('unknown method', '[{"step": "model", "column": "x", "method": "magic", "fill": 1}]'),
  ('type mismatch', '[{"step": "model", "column": "x", "kind": "text", "type": "text", "method": "mode", "fill": 1}]');
GRANT SELECT ON r6_hostile TO regress_r6_a;
SET ROLE regress_r6_a;
SELECT h.label, regress_try_r6(format($$SELECT ml_train('r6_p', 'linear', options => '{"exclude": ["id"], "recipe": %s}')$$,
                                      (SELECT r6_recipe(h.steps)))) AS outcome
FROM r6_hostile h ORDER BY h.label;
RESET ROLE;
-- the same fills as the project's latest recipe: ml_train says why and prepares the features itself
SET ROLE regress_r6_a;
SELECT r6_recipe('[{"step": "model", "column": "c", "method": "mean", "discrete": false, "fill": 1e9}]') > 0 AS stored;
SET client_min_messages = warning;
SELECT version AS fallback FROM ml_train('r6_p', 'gbdt', '{"n_estimators": 5}', '{"exclude": ["id"]}') \gset
RESET client_min_messages;
SELECT training->'recipe'->>'source' AS source,
       regexp_replace(training->'recipe'->>'not_applied_recipe', '\d+', 'N', 'g') AS why
FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id WHERE p.name = 'r6_p' AND version = :fallback;
RESET ROLE;
-- a real text fill (a level) trains, scores a NULL as that level, and
-- timestamps at +-infinity score like NULL date parts
SET ROLE regress_r6_a;
SELECT r6_recipe('[{"step": "model", "column": "c", "method": "mode", "discrete": true, "levels": ["a", "b", "c"], "fill": "b"},
                   {"step": "model", "column": "x", "method": "mean", "fill": 3},
                   {"step": "outliers", "column": "x", "lo": 1, "hi": 5},
                   {"step": "datetime", "column": "at", "parts": ["year", "month", "doy", "week", "weekend", "second"]}]') AS good \gset
SELECT version AS v FROM ml_train('r6_p', 'linear', options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :good)) \gset
SELECT training->'recipe'->'applied' AS applied
FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id WHERE p.name = 'r6_p' AND version = :v;
SELECT ml_mark_ready('r6_p', :v);
SET ROLE regress_r6_e;
SELECT ml_deploy('r6_p', :v);
SET ROLE regress_r6_a;
SELECT ml_predict('r6_p', '{"x": 1, "n": 1, "c": null, "at": "2024-03-01"}'::jsonb)
     = ml_predict('r6_p', '{"x": 1, "n": 1, "c": "b", "at": "2024-03-01"}'::jsonb) AS null_is_b,
       ml_predict('r6_p', '{"x": -50, "n": 1, "c": "a", "at": "2024-03-01"}'::jsonb)
     = ml_predict('r6_p', '{"x": 1, "n": 1, "c": "a", "at": "2024-03-01"}'::jsonb) AS clamped,
       ml_predict('r6_p', '{"x": null, "n": null, "c": null, "at": "infinity"}'::jsonb) IS NOT NULL AS infinite_scores,
       ml_predict('r6_p', '{"x": null, "n": null, "c": null, "at": null}'::jsonb) IS NOT NULL AS null_scores;
SELECT (e->>'rows_scored')::int AS scored FROM ml_evaluate('r6_p', :v, 'r6_t') e;
SELECT regress_try_r6(format($$SELECT ml_export_pmml('r6_p', %s)$$, :v));
RESET ROLE;

-- 2. A tampered payload of a version with fills, bounds and date parts:
-- every truncation and every flipped byte is either still a model or a
-- data-corruption error (XX001), never an internal error or a crash.
CREATE TABLE r6_payload AS
SELECT m.id, m.payload FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
WHERE p.name = 'r6_p' AND version = :v;
CREATE TABLE r6_outcomes (what text, sqlstate text);
CREATE FUNCTION r6_tamper(v int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    orig bytea := (SELECT payload FROM r6_payload);
    mid bigint := (SELECT id FROM r6_payload);
    n int := length(orig);
    st text;
BEGIN
    FOR i IN 0 .. n - 1 LOOP
        FOR k IN 0 .. 1 LOOP
            IF k = 0 THEN
                UPDATE mlops.models SET payload = substring(orig FROM 1 FOR i) WHERE id = mid;
            ELSE
                UPDATE mlops.models SET payload = set_byte(orig, i, get_byte(orig, i) # 255) WHERE id = mid;
            END IF;
            BEGIN
                PERFORM ml_evaluate('r6_p', v, 'r6_t');
                st := 'ok';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
            END;
            INSERT INTO r6_outcomes VALUES (CASE k WHEN 0 THEN 'truncated' ELSE 'flipped' END, st);
        END LOOP;
    END LOOP;
    UPDATE mlops.models SET payload = orig WHERE id = mid;
END
$$;
SELECT r6_tamper(:v);
SELECT what, sqlstate IN ('ok', 'XX001') AS clean, count(*) > 0 AS seen
FROM r6_outcomes GROUP BY 1, 2 ORDER BY 1, 2;
SELECT DISTINCT what, sqlstate FROM r6_outcomes WHERE sqlstate NOT IN ('ok', 'XX001') ORDER BY 1, 2;
SET ROLE regress_r6_a;
SELECT (e->>'rows_scored')::int AS scored_again FROM ml_evaluate('r6_p', :v, 'r6_t') e;
RESET ROLE;

-- 3. Another role's recipe on a relation it alone reads: the same 42704
-- as an id that does not exist.
CREATE TABLE r6_private (x float8, c text, y float8);
INSERT INTO r6_private VALUES (1, 'a', 2), (NULL, 'b', 3), (3, NULL, 4), (4, 'a', NULL);
GRANT SELECT ON r6_private TO regress_r6_b;
SET ROLE regress_r6_b;
SELECT count(*) > 0 AS imputed FROM ml_impute('r6_private', ARRAY['x', 'c'], 'mode', into_table => 'r6_private_m');
SELECT id AS hidden_recipe FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SET ROLE regress_r6_a;
SELECT regress_try_r6(format($$SELECT ml_train('r6_p', 'linear', options => '{"recipe": %s}')$$, :hidden_recipe))
     = regress_try_r6($$SELECT ml_train('r6_p', 'linear', options => '{"recipe": 987654321}')$$) AS same_as_missing,
       regress_try_r6($$SELECT ml_train('r6_p', 'linear', options => '{"recipe": 987654321}')$$) AS outcome;
RESET ROLE;

-- 4. PMML is the version's payload written out: a member row-level
-- security filters may not export a version hidden from it (it could read
-- the coefficients of rows it cannot see); the trainer and an unfiltered
-- member can. A missing version is still 42704.
CREATE TABLE r6_secret AS
SELECT i AS id, CASE WHEN i % 2 = 0 THEN 'regress_r6_a' ELSE 'regress_r6_b' END AS seen_by,
       (i % 3)::float8 AS x, (i % 11)::float8 AS z, 2 * (i % 3) + (i % 11) AS y
FROM generate_series(1, 80) i;
ALTER TABLE r6_secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY r6_own ON r6_secret FOR SELECT USING (seen_by = current_user);
GRANT SELECT ON r6_secret TO ml_analyst;
SET ROLE regress_r6_a;
SELECT ml_create_project('r6_secret', 'r6_secret', 'y') > 0 AS created;
SELECT ml_add_member('r6_secret', 'regress_r6_b');
SELECT ml_add_member('r6_secret', 'regress_r6_c');
SELECT version FROM ml_train('r6_secret', 'linear', options => '{"exclude": ["id", "seen_by"], "recipe": "none"}');
SELECT xpath_exists('//*[local-name() = "RegressionTable"]', ml_export_pmml('r6_secret', 1)) AS a_exports;
SET ROLE regress_r6_b;
SELECT count(*) AS b_models FROM ml_models WHERE project = 'r6_secret';
SELECT regress_try_r6($$SELECT ml_export_pmml('r6_secret', 1)$$);
SELECT regress_try_r6($$SELECT ml_export_pmml('r6_secret', 9)$$);
SET ROLE regress_r6_c;
SELECT xpath_exists('//*[local-name() = "RegressionTable"]', ml_export_pmml('r6_secret', 1)) AS c_exports;
RESET ROLE;

SET ROLE regress_r6_a;
RESET ROLE;
SET ROLE regress_r6_e;
SELECT ml_drop_project('r6_p', force => true);
SELECT ml_drop_project('r6_secret', force => true);
RESET ROLE;
DROP TABLE r6_t, r6_private, r6_private_m, r6_secret, r6_hostile, r6_payload, r6_outcomes;
DROP FUNCTION r6_recipe(text), r6_tamper(int), regress_try_r6(text);
DELETE FROM mlops.recipes WHERE created_by LIKE 'regress_r6_%';
DROP ROLE regress_r6_a, regress_r6_b, regress_r6_c;

-- 5. A member without USAGE on the training relation's schema still reads
-- the project's versions (mlops.models' policy resolved the relation with
-- to_regclass, which raises "permission denied for schema").
CREATE ROLE regress_r6_o LOGIN IN ROLE ml_analyst;
CREATE ROLE regress_r6_m LOGIN IN ROLE ml_analyst;
CREATE SCHEMA r6_hr;
GRANT USAGE ON SCHEMA r6_hr TO regress_r6_o;
CREATE TABLE r6_hr.t AS SELECT i AS id, (i % 3)::float8 AS x, (i % 5)::float8 AS y FROM generate_series(1, 60) i;
GRANT SELECT ON r6_hr.t TO regress_r6_o;
SET ROLE regress_r6_o;
SELECT ml_create_project('r6_hr', 'r6_hr.t', 'y') > 0 AS created;
SELECT ml_add_member('r6_hr', 'regress_r6_m');
SELECT version FROM ml_train('r6_hr', 'linear', options => '{"exclude": ["id"]}');
-- (reports and recipes resolved the relation with to_regclass too)
SELECT ml_report('r6_hr') > 0 AS report_built;
SET ROLE regress_r6_m;
SELECT name, models FROM ml_projects WHERE name = 'r6_hr';
SELECT project, version FROM ml_models WHERE project = 'r6_hr';
SELECT count(*) AS reports_seen FROM ml_reports WHERE project = 'r6_hr';
SELECT count(*) >= 0 AS cleaning_report_readable FROM ml_cleaning_report;
SELECT count(*) >= 0 AS data_quality_readable FROM ml_data_quality;
RESET ROLE;
SET ROLE regress_r6_e;
SELECT ml_drop_project('r6_hr', force => true);
RESET ROLE;
DROP TABLE r6_hr.t;
DROP SCHEMA r6_hr;
DELETE FROM mlops.recipes WHERE created_by LIKE 'regress_r6_%';
DROP ROLE regress_r6_o, regress_r6_m, regress_r6_e;
