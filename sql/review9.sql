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
