-- Review 9: the cached replay of a recipe's fill steps (features_replay.c),
-- the chain's categorical members, the blend's weight and the fills kept
-- as the column holds them. Errors are shown by SQLSTATE (and our own
-- message where it names the damage), so the expected output is stable.
SET client_min_messages = warning;
CREATE FUNCTION r9_try(cmd text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    msg text;
BEGIN
    EXECUTE cmd;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
    RETURN SQLSTATE || ': ' || regexp_replace(msg, 'recipe \d+', 'recipe N', 'g');
END
$$;

-- 1. A numeric fill at the edge of double precision: kept as the column
-- holds it, float8 to numeric's 15 digits rounds 1.7976931348623157e308
-- past the largest double; reading that back with numeric_float8 failed the
-- whole ml_impute ("... is out of range for type double precision", with
-- all 309 digits). Fixed on main by 1701350 (found by this review too):
-- such a fill is left missing and counted out of range.
CREATE TABLE r9_big (id int, x numeric, y numeric(400, 0));
INSERT INTO r9_big VALUES (1, 1.7976931348623157e308, 1.7976931348623157e308),
                          (2, 1.7976931348623157e308, 1.7976931348623157e308), (3, NULL, NULL);
SELECT column_name, method, filled
FROM ml_impute('r9_big', ARRAY['x', 'y'], 'median', into_table => 'r9_big_out') ORDER BY 1;
SELECT id, x > 1.79e308 AS x_big, y > 1.79e308 AS y_big FROM r9_big_out ORDER BY id;

-- 2. A chain read back checked each categorical member against every other
-- member and its one-hot inputs, keeping every level list it read: time and
-- memory in the square of the members (a member per level of each
-- category), and a deployed model keeps what its steps' reading allocated
-- for as long as it is cached. 5 categories of 10 levels: 7 MB where the
-- payload is 0.3 MB; 30 such categories on 400 rows took 1.5 GB to apply.
DO $$
BEGIN
    EXECUTE format('CREATE TABLE r9_wide AS SELECT i AS id, %s, %s, %s FROM generate_series(1, 150) i',
        (SELECT string_agg(format('CASE WHEN (i * %s) %% 11 = 3 THEN NULL ELSE ''L'' || ((i * %s + %s) %% 10) END AS c%s',
                                  k, k + 7, k, k), ', ') FROM generate_series(1, 6) k),
        (SELECT string_agg(format('CASE WHEN (i * %s) %% 7 = 2 THEN NULL ELSE ((i * %s) %% 23)::float8 + (i %% 10) END AS x%s',
                                  k, k + 3, k), ', ') FROM generate_series(1, 2) k),
        '((i * 7) % 23)::float8 + (i % 10) * 2 AS t');
END
$$;
SELECT column_name, method FROM ml_impute('r9_wide', ARRAY['x1', 'x2'], 'chain',
    '{"exclude_features": ["id", "t"]}', into_table => 'r9_wide_out') ORDER BY 1;
SELECT id AS wide_recipe FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT ml_create_project('r9_w', 'r9_wide', 't') > 0 AS created;
SELECT version FROM ml_train('r9_w', 'linear',
    options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :wide_recipe));
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:wide_recipe, 'r9_wide', 'r9_wide_filled');
SELECT ml_mark_ready('r9_w', 1);
SELECT ml_deploy('r9_w', 1);
SELECT count(*) AS rows_with_null, bool_and(ml_predict('r9_w', r) = ml_predict('r9_w', f)) AS as_filled
FROM r9_wide r JOIN r9_wide_filled f USING (id) WHERE r.x1 IS NULL OR r.x2 IS NULL;
SELECT c.total_bytes < 10 * (SELECT octet_length(payload) FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
                             WHERE p.name = 'r9_w') AS cached_steps_small
FROM pg_backend_memory_contexts c WHERE c.name = 'pg_mlops recipe replay models';

-- 3. A deployed model replays its recipe's chain on a scored row through
-- steps read once and kept (features_replay.c); each row only codes its
-- keys again (MlModelRebind), the categorical members' indicator keys
-- among them. Rows with a gap in x and each of grp's levels, scored in one
-- statement, interleaved and repeated, get the fills the filled rows hold:
-- the same predictions, by ml_predict on a row and on jsonb, and by ml_score.
-- Without the indicators' keys coded again, every row read the first row's
-- category (a row of NULLs: no level) and none of them scored as filled.
CREATE TABLE r9_src AS
SELECT i AS id,
       (ARRAY['lo', 'mid', 'hi'])[i % 3 + 1] AS grp,
       (i % 3) * 3.0 + ((i * 37) % 17) / 10.0 AS x,
       (i % 3) * 2.0 + 0.5 * ((i * 37) % 17) / 10.0 + ((i * 13) % 7) / 5.0 AS z,
       (i % 3) * 4.0 + ((i * 37) % 17) / 5.0 + ((i * 11) % 5) / 3.0 AS t
FROM generate_series(1, 60) i;
UPDATE r9_src SET grp = NULL WHERE id % 9 = 2;
UPDATE r9_src SET x = NULL WHERE id % 5 = 1;
UPDATE r9_src SET z = NULL WHERE id % 6 = 4;
SELECT column_name, filled, method FROM ml_impute('r9_src', ARRAY['x', 'z'], 'chain',
    '{"exclude_features": ["id", "t"]}', into_table => 'r9_out') ORDER BY 1;
SELECT id AS chain_recipe FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
-- x's chain: grp's three indicators, then the numeric members
SELECT ord, m ->> 'column' AS member, m ->> 'level' AS level
FROM mlops.recipes, jsonb_array_elements(steps) s, jsonb_array_elements(s -> 'chain') WITH ORDINALITY c(m, ord)
WHERE id = :chain_recipe AND s ->> 'column' = 'x' ORDER BY ord;
SELECT ml_create_project('r9_p', 'r9_src', 't') > 0 AS created;
SELECT version FROM ml_train('r9_p', 'linear',
    options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :chain_recipe));
SELECT training -> 'recipe' -> 'applied' AS applied FROM ml_models WHERE project = 'r9_p';
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:chain_recipe, 'r9_src', 'r9_filled');
SELECT ml_mark_ready('r9_p', 1);
SELECT ml_deploy('r9_p', 1);
-- the rows with a gap in x only, one statement, categories alternating
SELECT r.id, r.grp, round(f.x::numeric, 6) AS filled_x,
       ml_predict('r9_p', r) = ml_predict('r9_p', f) AS as_filled,
       ml_predict('r9_p', to_jsonb(r)) = ml_predict('r9_p', f) AS as_filled_jsonb
FROM r9_src r JOIN r9_filled f USING (id)
WHERE r.x IS NULL AND r.z IS NOT NULL
ORDER BY r.id;
-- each row five times in one statement, and every row with a gap
SELECT count(*) AS scored, count(DISTINCT (r.id, ml_predict('r9_p', r))) = count(DISTINCT r.id) AS one_value_per_row
FROM generate_series(1, 5) k, r9_src r WHERE r.x IS NULL OR r.z IS NULL;
SELECT count(*) AS rows_with_null, bool_and(ml_predict('r9_p', r) = ml_predict('r9_p', f)) AS as_filled
FROM r9_src r JOIN r9_filled f USING (id) WHERE r.x IS NULL OR r.z IS NULL;
SELECT ml_score('r9_p', 'r9_src', 'r9_scored') AS scored;
SELECT bool_and(s.prediction = ml_predict('r9_p', f)) AS same_by_ml_score
FROM r9_scored s JOIN r9_filled f USING (id);
