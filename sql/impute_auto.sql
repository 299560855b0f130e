-- What 'auto' picks on small tables, and the values it writes.
SET ROLE regress_alice;

-- Four columns that are one quantity t seen four ways (a = t, b = 2t + 1,
-- c = 0.5 - t, d = 3t), each with gaps, sometimes several in a row but
-- never all four. The chain iterates the four regressions from mean
-- starts (Bayesian ridge: on exact data the evidence allows almost no
-- penalty, where a fixed one would pull every fill towards the mean) and
-- moves the gaps towards the line in ten rounds (the largest error of a
-- fill is printed: a fixed penalty, or a replay from the last round's
-- regressions only, shows as a larger one).
CREATE TABLE ia_truth AS
SELECT i AS id, ((i * 37) % 29) / 7.0 + 0.1 AS t FROM generate_series(1, 60) i;
CREATE TABLE ia_chain AS SELECT id, t AS a, 2 * t + 1 AS b, 0.5 - t AS c, 3 * t AS d FROM ia_truth;
UPDATE ia_chain SET a = NULL WHERE id % 5 = 1;
UPDATE ia_chain SET b = NULL WHERE id % 7 = 2;
UPDATE ia_chain SET c = NULL WHERE id % 4 = 3;
UPDATE ia_chain SET d = NULL WHERE id % 6 = 0;
SELECT column_name, filled, split_part(method, ' ', 1) AS method, metric
FROM ml_impute('ia_chain', method => 'chain', options => '{"roles": {"id": "identifier"}}',
               into_table => 'ia_out')
ORDER BY 1;
SELECT count(*) AS rows,
       round(max(greatest(abs(a - t), abs(b - (2 * t + 1)), abs(c - (0.5 - t)), abs(d - 3 * t)))::numeric, 3)
           AS largest_error,
       round(avg(abs(a - t) + abs(b - (2 * t + 1)) + abs(c - (0.5 - t)) + abs(d - 3 * t))::numeric, 4)
           AS mean_row_error
FROM ia_out JOIN ia_truth USING (id);
-- the recipe replays the chain round by round: on the same rows, the same fills
SELECT DISTINCT recipe_id AS chain_recipe FROM ml_impute('ia_chain', method => 'chain',
    options => '{"roles": {"id": "identifier"}}', into_table => 'ia_out2') \gset
SELECT count(*) FROM ml_apply_recipe(:chain_recipe, 'ia_chain', into_table => 'ia_replay');
SELECT max(abs(o.a - r.a) + abs(o.b - r.b) + abs(o.c - r.c) + abs(o.d - r.d)) < 1e-9 AS same_fills
FROM ia_out o JOIN ia_replay r USING (id);
SELECT bool_and(jsonb_array_length(s #> '{chain,0,round_coefficients}') =
                (s ->> 'rounds')::int * jsonb_array_length(s #> '{chain,0,coefficients}'))
       AS every_round_kept
FROM mlops.recipes, jsonb_array_elements(steps) s WHERE id = :chain_recipe AND s ->> 'method' = 'chain';
-- a recipe whose rounds of coefficients do not fit is refused
RESET ROLE;
UPDATE mlops.recipes SET steps = (SELECT jsonb_agg(CASE WHEN s ->> 'method' = 'chain'
        THEN jsonb_set(s, '{chain,0,round_coefficients}', '[1, 2]') ELSE s END)
    FROM jsonb_array_elements(steps) s)
WHERE id = :chain_recipe;
SET ROLE regress_alice;
SELECT regexp_replace(regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L)', :chain_recipe,
                                         'ia_chain')), 'recipe \d+', 'recipe N');

-- A float column of whole numbers with few levels (a survey scale) is
-- coded, but its fills are scored as numbers: s holds 0..4 (observed mean
-- 30 / 19 = 1.578947) and nothing predicts it, so the mean (squared error
-- smaller than the mode's) is the fill, measured by nRMSE, and written
-- unrounded.
CREATE TABLE ia_scale (id int, x float8, s float8);
INSERT INTO ia_scale
SELECT i, ((i * 13) % 17) / 3.0, (ARRAY[0, 0, 1, 1, 2, 2, 3, 3, 4, 2])[i % 10 + 1]
FROM generate_series(1, 100) i;
UPDATE ia_scale SET s = 0 WHERE id % 10 = 9;
UPDATE ia_scale SET s = NULL WHERE id % 20 = 4;
SELECT avg(s) AS observed_mean FROM ia_scale;
SELECT column_name, filled, method, metric
FROM ml_impute('ia_scale', '{s}', options => '{"roles": {"id": "identifier"}}', into_table => 'ia_out3');
SELECT DISTINCT round(o.s::numeric, 6) AS fill FROM ia_out3 o JOIN ia_scale t USING (id) WHERE t.s IS NULL;

-- ... and where its levels follow a category exactly, the level
-- prediction wins (error 0): fills stay whole numbers, every one right.
CREATE TABLE ia_levels (id int, g text, s float8);
INSERT INTO ia_levels
SELECT i, (ARRAY['lo', 'mid', 'hi'])[i % 3 + 1], (ARRAY[1, 3, 4])[i % 3 + 1]
FROM generate_series(1, 90) i;
UPDATE ia_levels SET s = NULL WHERE id % 9 = 2;
SELECT column_name, filled, method, metric, round(estimated_error::numeric, 4) AS error
FROM ml_impute('ia_levels', '{s}', options => '{"roles": {"id": "identifier"}}', into_table => 'ia_out4');
SELECT count(*) AS filled, count(*) FILTER (WHERE o.s <> (ARRAY[1, 3, 4])[o.id % 3 + 1]) AS wrong
FROM ia_out4 o JOIN ia_levels t USING (id) WHERE t.s IS NULL;
RESET ROLE;
