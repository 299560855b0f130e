-- auto's blend: on a small table (under 40 rows: no forest) whose numeric
-- columns all have gaps (d is unrelated to the others), a
-- column's fills are the average of the chain's and of its own model's
-- (auto's pick among the per-column candidates), where the blend scored
-- no worse out of fold. The data are not whole numbers, so the fills
-- printed to six places are the model's own values.
SET ROLE regress_alice;
CREATE TABLE ib_src AS
SELECT i AS id, ((i * 37) % 41) / 7.0 AS a,
       0.5 * ((i * 37) % 41) / 7.0 + ((i * 13) % 11) / 10.0 AS b,
       (((i * 37) % 41) / 7.0) ^ 2 / 10 - ((i * 7) % 5) / 4.0 AS c,
       ((i * 17) % 23) / 9.0 AS d
FROM generate_series(1, 36) i;
UPDATE ib_src SET a = NULL WHERE id % 6 = 1;
UPDATE ib_src SET b = NULL WHERE id % 7 = 3;
UPDATE ib_src SET c = NULL WHERE id % 5 = 2;
UPDATE ib_src SET d = NULL WHERE id % 8 = 5;
SELECT column_name, filled, regexp_replace(method, ' \(.*', '') AS method, metric
FROM ml_impute('ib_src', options => '{"roles": {"id": "identifier"}}', into_table => 'ib_out')
ORDER BY 1;
SELECT o.id, CASE WHEN s.a IS NULL THEN round(o.a::numeric, 6) END AS a,
       CASE WHEN s.b IS NULL THEN round(o.b::numeric, 6) END AS b,
       CASE WHEN s.c IS NULL THEN round(o.c::numeric, 6) END AS c,
       CASE WHEN s.d IS NULL THEN round(o.d::numeric, 6) END AS d
FROM ib_out o JOIN ib_src s USING (id)
WHERE s.a IS NULL OR s.b IS NULL OR s.c IS NULL OR s.d IS NULL
ORDER BY o.id;
-- the recipe keeps the chain and the own model; the own model's fill of a
-- blended column whose own model is a global statistic makes the blend's
-- arithmetic visible: fill = w * chain's fill + (1 - w) * own fill, the
-- chain being the one method => 'chain' fits over the same columns and w
-- the step's "weight" (two thirds for the chain)
SELECT DISTINCT recipe_id AS blend_recipe FROM ml_impute('ib_src',
    options => '{"roles": {"id": "identifier"}}', into_table => 'ib_out2') \gset
SELECT s ->> 'column' AS column_name, s ->> 'method' AS method, s #>> '{member,method}' AS own_method,
       jsonb_array_length(s -> 'chain') AS chain_members
FROM mlops.recipes, jsonb_array_elements(steps) s WHERE id = :blend_recipe ORDER BY 1;
SELECT count(*) AS same_as_first_fit FROM ib_out o JOIN ib_out2 p USING (id)
WHERE o.a = p.a AND o.b = p.b AND o.c = p.c AND o.d = p.d;
SELECT count(*) FROM ml_impute('ib_src', method => 'chain', options => '{"roles": {"id": "identifier"}}',
                               into_table => 'ib_chain');
SELECT s ->> 'column' AS column_name,
       max(abs(CASE s ->> 'column' WHEN 'a' THEN o.a - ((s ->> 'weight')::float8 * c.a + (1 - (s ->> 'weight')::float8) * (s #>> '{member,fill}')::float8)
                                   WHEN 'b' THEN o.b - ((s ->> 'weight')::float8 * c.b + (1 - (s ->> 'weight')::float8) * (s #>> '{member,fill}')::float8)
                                   WHEN 'c' THEN o.c - ((s ->> 'weight')::float8 * c.c + (1 - (s ->> 'weight')::float8) * (s #>> '{member,fill}')::float8)
                                   ELSE o.d - ((s ->> 'weight')::float8 * c.d + (1 - (s ->> 'weight')::float8) * (s #>> '{member,fill}')::float8) END)) < 1e-9
           AS weighted_chain_and_own,
       min(round((s ->> 'weight')::numeric, 6)) AS chain_weight
FROM mlops.recipes r, jsonb_array_elements(r.steps) s, ib_out o JOIN ib_chain c USING (id) JOIN ib_src t USING (id)
WHERE r.id = :blend_recipe AND s ->> 'method' = 'blend' AND s #>> '{member,method}' IN ('mean', 'median')
  AND CASE s ->> 'column' WHEN 'a' THEN t.a WHEN 'b' THEN t.b WHEN 'c' THEN t.c ELSE t.d END IS NULL
GROUP BY 1 ORDER BY 1;
-- replayed: the same fills on the same rows
SELECT count(*) FROM ml_apply_recipe(:blend_recipe, 'ib_src', into_table => 'ib_replay');
SELECT count(*) AS rows, max(abs(o.a - r.a) + abs(o.b - r.b) + abs(o.c - r.c) + abs(o.d - r.d)) < 1e-9
           AS same_fills
FROM ib_out o JOIN ib_replay r USING (id);
-- a blend is auto's choice, never a method to ask for
SELECT regress_try($$SELECT * FROM ml_impute('ib_src', method => 'blend')$$);
-- a stored blend whose own model is missing, nested, of another kind or
-- for another column is refused (XX001), never replayed as something else
RESET ROLE;
CREATE TABLE ib_steps AS SELECT steps FROM mlops.recipes WHERE id = :blend_recipe;
CREATE FUNCTION ib_try(mut text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE format($u$UPDATE mlops.recipes SET steps = (SELECT jsonb_agg(CASE WHEN s ->> 'method' = 'blend'
      THEN %s ELSE s END) FROM jsonb_array_elements((SELECT steps FROM ib_steps)) s) WHERE id = %s$u$,
      mut, current_setting('ib.recipe'));
  RETURN regexp_replace(regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L)',
                        current_setting('ib.recipe'), 'ib_src')), 'recipe \d+', 'recipe N');
END $f$;
SELECT set_config('ib.recipe', :'blend_recipe', false) IS NOT NULL AS set;
SELECT ib_try($$s - 'member'$$) AS no_member;
SELECT ib_try($$jsonb_set(s, '{member}', s)$$) AS nested;
SELECT ib_try($$jsonb_set(s, '{member,method}', '"constant"')$$) AS constant_member;
SELECT ib_try($$jsonb_set(s, '{member,column}', '"id"')$$) AS other_column;
SELECT ib_try($$jsonb_set(s, '{member,fill}', '"x"')$$) AS no_fill;
SELECT ib_try($$jsonb_set(s, '{weight}', '2')$$) AS weight_over_one;
SELECT ib_try($$jsonb_set(s, '{weight}', '-0.5')$$) AS weight_negative;
SELECT ib_try($$jsonb_set(s, '{weight}', '"x"')$$) AS weight_not_number;
SELECT ib_try($$jsonb_set(s, '{weight}', '1e400')$$) AS weight_huge;
-- a blend stored before the weight (0.3.0) averaged, and replays so (in
-- place: ib_try applies the recipe to ib_src itself)
CREATE TABLE ib_src0 AS SELECT * FROM ib_src;
SELECT ib_try($$s - 'weight'$$) AS no_weight;
SELECT count(*) AS cells, bool_and(abs(CASE s ->> 'column' WHEN 'a' THEN r.a - (c.a + (s #>> '{member,fill}')::float8) / 2
                                   WHEN 'b' THEN r.b - (c.b + (s #>> '{member,fill}')::float8) / 2
                                   WHEN 'c' THEN r.c - (c.c + (s #>> '{member,fill}')::float8) / 2
                                   ELSE r.d - (c.d + (s #>> '{member,fill}')::float8) / 2 END) < 1e-9)
           AS old_blend_averages
FROM mlops.recipes rc, jsonb_array_elements(rc.steps) s, ib_src r JOIN ib_chain c USING (id) JOIN ib_src0 t USING (id)
WHERE rc.id = :blend_recipe AND s ->> 'method' = 'blend' AND s #>> '{member,method}' IN ('mean', 'median')
  AND CASE s ->> 'column' WHEN 'a' THEN t.a WHEN 'b' THEN t.b WHEN 'c' THEN t.c ELSE t.d END IS NULL;
DROP TABLE ib_src0;
UPDATE mlops.recipes SET steps = (SELECT steps FROM ib_steps) WHERE id = :blend_recipe;
DROP FUNCTION ib_try(text);
DROP TABLE ib_steps;
DROP TABLE ib_src, ib_out, ib_out2, ib_chain, ib_replay;
