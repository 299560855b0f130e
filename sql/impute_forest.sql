-- method 'forest' (MissForest): a random forest per column with gaps,
-- round-robin from mean / mode starts, categories by classification.
SET ROLE regress_alice;

-- A step: y is 10 above x = 0.5 and 0 below, g says which side ('hi' /
-- 'lo'); x is complete. A regression can only draw a line through the
-- step; the trees split at the step (on x or on the other of y / g, each
-- a perfect split), so every fill of y and g is exact, but next to the
-- step: x = 0.50 goes the wrong way in a tree whose bootstrap sample has
-- no 0.50, where the split falls at 0.49.
CREATE TABLE if_truth AS
SELECT i AS id, ((i * 37) % 101) / 100.0 AS x FROM generate_series(1, 200) i;
CREATE TABLE if_step AS
SELECT id, x, CASE WHEN x > 0.5 THEN 10 ELSE 0 END::float8 AS y,
       CASE WHEN x > 0.5 THEN 'hi' ELSE 'lo' END AS g
FROM if_truth;
UPDATE if_step SET y = NULL WHERE id % 5 = 1;
UPDATE if_step SET g = NULL WHERE id % 7 = 2;
SELECT column_name, filled, method, metric
FROM ml_impute('if_step', method => 'forest', options => '{"roles": {"id": "identifier"}}',
               into_table => 'if_out')
ORDER BY 1;
SELECT count(*) FILTER (WHERE s.y IS NULL) AS y_filled,
       count(*) FILTER (WHERE s.y IS NULL AND abs(t.x - 0.505) > 0.03) AS y_away,
       count(*) FILTER (WHERE s.y IS NULL AND abs(t.x - 0.505) > 0.03 AND
                              o.y = CASE WHEN t.x > 0.5 THEN 10 ELSE 0 END) AS y_away_exact,
       count(*) FILTER (WHERE s.g IS NULL) AS g_filled,
       count(*) FILTER (WHERE s.g IS NULL AND o.g = CASE WHEN t.x > 0.5 THEN 'hi' ELSE 'lo' END) AS g_exact
FROM if_step s JOIN if_out o USING (id) JOIN if_truth t USING (id);
-- the linear chain cannot draw the step (its largest error is over a unit)
SELECT column_name, split_part(method, ' ', 1) AS method
FROM ml_impute('if_step', method => 'chain', columns => ARRAY['y'],
               options => '{"roles": {"id": "identifier"}}', into_table => 'if_chain')
ORDER BY 1;
SELECT max(abs(o.y - CASE WHEN t.x > 0.5 THEN 10 ELSE 0 END)) > 1 AS chain_misses_the_step
FROM if_chain o JOIN if_truth t USING (id) JOIN if_step s USING (id)
WHERE s.y IS NULL;

-- 'missforest' is the same method; the recipe keeps the forests in the
-- first member's step only (the others name it), and replays them: on the
-- same rows, the same fills
SELECT DISTINCT recipe_id AS forest_recipe FROM ml_impute('if_step', method => 'missforest',
    options => '{"roles": {"id": "identifier"}, "trees": 10, "max_rounds": 3}',
    into_table => 'if_out2') \gset
SELECT s ->> 'column' AS column_name, s ->> 'method' AS method, s ->> 'lead' AS lead,
       jsonb_array_length(s -> 'members') AS members, (s ->> 'trees')::int AS trees,
       (s ->> 'rounds')::int BETWEEN 1 AND 3 AS rounds_ok
FROM mlops.recipes, jsonb_array_elements(steps) s WHERE id = :forest_recipe ORDER BY 1;
SELECT count(*) FROM ml_apply_recipe(:forest_recipe, 'if_step', into_table => 'if_replay');
SELECT bool_and(o.x = r.x AND o.y = r.y AND o.g = r.g) AS same_fills, count(*)
FROM if_out2 o JOIN if_replay r USING (id);
-- on new rows: new gaps are filled by the stored forests (levels matched by text)
CREATE TABLE if_new AS SELECT * FROM if_step WHERE id <= 40;
UPDATE if_new SET y = NULL WHERE id % 3 = 0;
SELECT count(*) FROM ml_apply_recipe(:forest_recipe, 'if_new', into_table => 'if_new_out');
SELECT count(*) FILTER (WHERE o.y = CASE WHEN t.x > 0.5 THEN 10 ELSE 0 END) = count(*) AS new_y_exact
FROM if_new n JOIN if_new_out o USING (id) JOIN if_truth t USING (id)
WHERE n.y IS NULL AND abs(t.x - 0.505) > 0.03;

-- options and columns the forest cannot take
CREATE TABLE if_bad (id int, t timestamp, w text, v float8);
INSERT INTO if_bad SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE '2024-01-01'::timestamp + i * interval '1 day' END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'w' || i END, CASE WHEN i % 3 = 0 THEN NULL ELSE i END
FROM generate_series(1, 100) i;
SELECT regress_try($$SELECT * FROM ml_impute('if_step', method => 'forest', options => '{"max_rounds": 0}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('if_step', method => 'forest', options => '{"trees": 1.5}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('if_step', method => 'forest', options => '{"trees": 5000}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('if_step', method => 'forest', options => '{"rounds": 3}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('if_bad', columns => ARRAY['t'], method => 'forest')$$);
SELECT regress_try($$SELECT * FROM ml_impute('if_bad', columns => ARRAY['w'], method => 'forest')$$);
SELECT regress_try($$SELECT * FROM ml_impute('if_bad', method => 'auto', options => '{"methods": {"t": "forest"}}')$$);
-- on the whole table, a column the forest cannot fill falls back to auto, said so
SELECT column_name, filled, split_part(method, ' ', 1) AS method
FROM ml_impute('if_bad', method => 'forest', options => '{"roles": {"id": "identifier"}}',
               into_table => 'if_bad_out') ORDER BY 1;

-- hostile recipes: clear errors, never a crash
RESET ROLE;
CREATE TABLE if_recipe AS SELECT steps FROM mlops.recipes WHERE id = :forest_recipe;
CREATE TABLE if_rid AS SELECT :forest_recipe::bigint AS id;
CREATE FUNCTION if_tamper(f jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    UPDATE mlops.recipes SET steps = (SELECT jsonb_agg(CASE WHEN s ? 'members' THEN s || f ELSE s END)
                                      FROM if_recipe, jsonb_array_elements(if_recipe.steps) s)
    WHERE id = (SELECT id FROM if_rid);
    r := regexp_replace(regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L, into_table => %L)',
                                           (SELECT id FROM if_rid), 'if_step', 'if_tmp')),
                        'recipe \d+', 'recipe N');
    IF to_regclass('if_tmp') IS NOT NULL THEN DROP TABLE if_tmp; END IF;
    RETURN r;
END $$;
CREATE FUNCTION if_member(path text[], v jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('members', jsonb_set(s -> 'members', path, v))
    FROM if_recipe, jsonb_array_elements(if_recipe.steps) s WHERE s ? 'members'
$$;
SELECT if_tamper(if_member('{0,forest}', '"AAAA"'));
SELECT if_tamper(if_member('{0,forest}', '"not base64!"'));
SELECT if_tamper(if_member('{0,forest}', '42'));
SELECT if_tamper(if_member('{0,classes}', '["lo"]'));
SELECT if_tamper(if_member('{0,classes}', '["hi", "lo"]'));
SELECT if_tamper(if_member('{0,classes}', '["lo", "hi", "lo"]'));
SELECT if_tamper(if_member('{0,discrete}', 'false'));
SELECT if_tamper(if_member('{1,discrete}', 'true'));
SELECT if_tamper(if_member('{0,fill}', '"nan"'));
SELECT if_tamper(if_member('{1,fill}', '"nan"'));
SELECT if_tamper(if_member('{0,inputs,0,column}', '"nope"'));
SELECT if_tamper(if_member('{0,inputs}', '[]'));
SELECT if_tamper(if_member('{1,column}', '"x"'));
SELECT if_tamper(if_member('{0,inputs,0}', '{"column": "g"}'));
SELECT if_tamper(if_member('{0,inputs,0}', '{"column": "x", "levels": ["a"]}'));
SELECT if_tamper(if_member('{1,sd}', '0'));
SELECT if_tamper('{"members": []}');
SELECT if_tamper('{"members": 7}');
SELECT if_tamper('{"rounds": 0}');
SELECT if_tamper('{"rounds": 1e9}');
SELECT if_tamper('{"trees": -1}');
-- the forest's bytes cut short or flipped
SELECT if_tamper(if_member('{0,forest}', to_jsonb(left(s #>> '{members,0,forest}', 40))))
FROM if_recipe, jsonb_array_elements(if_recipe.steps) s WHERE s ? 'members';
SELECT if_tamper(if_member('{0,forest}', to_jsonb(
           translate(s #>> '{members,0,forest}', 'ABCDEFGHIJ', 'BCDEFGHIJA'))))
FROM if_recipe, jsonb_array_elements(if_recipe.steps) s WHERE s ? 'members';
-- a member step whose lead does not come first
UPDATE mlops.recipes SET steps = (SELECT jsonb_agg(s) FROM if_recipe, jsonb_array_elements(if_recipe.steps) s
                                  WHERE NOT s ? 'members')
WHERE id = :forest_recipe;
SELECT regexp_replace(regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L, into_table => %L)',
                                         :forest_recipe, 'if_step', 'if_tmp')), 'recipe \d+', 'recipe N');
-- values near +-1.7e308: a tree's leaf would sum them past the double
-- range, so the forest leaves such a column to 'auto' (with a notice)
-- instead of an overflow error; the other columns still take the forest
CREATE TABLE if_huge AS
SELECT g AS id,
       CASE WHEN g % 7 = 0 THEN NULL
            ELSE (CASE WHEN g % 2 = 0 THEN 1.7e308 ELSE -1.7e308 END) * ((g % 10) / 10.0) END::float8 AS a,
       CASE WHEN g % 9 = 0 THEN NULL ELSE (g % 5) + g / 100.0 END::float8 AS z,
       CASE WHEN g % 6 = 0 THEN NULL ELSE (g % 10) * 1.7e307 END::float8 AS b
FROM generate_series(1, 80) g;
SELECT column_name, filled, method FROM ml_impute('if_huge', method => 'forest', into_table => 'if_huge_f')
ORDER BY column_name;
SELECT column_name, filled, method FROM ml_impute('if_huge', method => 'auto', into_table => 'if_huge_a')
ORDER BY column_name;
SELECT count(*) FILTER (WHERE a IS NULL OR b IS NULL OR z IS NULL) AS gaps,
       bool_and(abs(a) <= 1.7e308 AND abs(b) <= 1.7e308) AS in_range
FROM if_huge_f;
SELECT column_name, actions FROM ml_clean('if_huge', into_table => 'if_huge_c') ORDER BY column_name;
