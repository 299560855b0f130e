-- The chain's categorical members: a categorical column with gaps (at most
-- 20 levels) that the chained regressions read is a member through its
-- levels' indicators, iterated on its gaps from the level shares, as
-- IterativeImputer iterates one-hot columns. Its own fill stays its own
-- (here the mode); the numeric columns' fills read the indicators. A
-- column without gaps (kind) stays a plain one-hot input.
CREATE FUNCTION regress_try_cc(cmd text) RETURNS text
LANGUAGE sql AS $$
    SELECT regexp_replace(regress_try(cmd), 'recipe \d+', 'recipe N', 'g')
$$;
CREATE TABLE cc_src AS
SELECT i AS id,
       (ARRAY['lo', 'mid', 'hi'])[i % 3 + 1] AS grp,
       (ARRAY['p', 'q'])[i % 2 + 1] AS kind,
       (i % 3) * 3.0 + ((i * 37) % 17) / 10.0 AS x,
       (i % 3) * 2.0 + 0.5 * ((i * 37) % 17) / 10.0 + ((i * 13) % 7) / 5.0 + (i % 2) AS y
FROM generate_series(1, 30) i;
UPDATE cc_src SET grp = NULL WHERE id % 9 = 2;
UPDATE cc_src SET x = NULL WHERE id % 5 = 1;
UPDATE cc_src SET y = NULL WHERE id % 6 = 4;
GRANT SELECT ON cc_src TO ml_analyst;
SET ROLE regress_alice;
SELECT column_name, filled, method, metric
FROM ml_impute('cc_src', method => 'chain', options => '{"roles": {"id": "identifier"}}',
               into_table => 'cc_out')
ORDER BY 1;
-- the fills, to six places (the data are not whole numbers)
SELECT o.id, s.grp IS NULL AS grp_gap, o.grp,
       CASE WHEN s.x IS NULL THEN round(o.x::numeric, 6) END AS x,
       CASE WHEN s.y IS NULL THEN round(o.y::numeric, 6) END AS y
FROM cc_out o JOIN cc_src s USING (id)
WHERE s.grp IS NULL OR s.x IS NULL OR s.y IS NULL
ORDER BY o.id;
RESET ROLE;
SELECT id AS cc_recipe FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
-- the chain step's members in the order they run: grp's three indicators
-- (fewest gaps first), then y and x; an indicator starts at its level's share
SELECT ord, m ->> 'column' AS member, m ->> 'level' AS level, m -> 'levels' AS levels,
       round((m ->> 'fill')::numeric, 6) AS start,
       jsonb_array_length(m -> 'round_coefficients') AS round_coefficients
FROM mlops.recipes, jsonb_array_elements(steps) s,
     jsonb_array_elements(s -> 'chain') WITH ORDINALITY c(m, ord)
WHERE id = :cc_recipe AND s ->> 'column' = 'x'
ORDER BY ord;
-- replayed on a copy: the same fills
CREATE TABLE cc_copy AS SELECT * FROM cc_src;
SELECT column_name, actions FROM ml_apply_recipe(:cc_recipe, 'cc_copy') WHERE actions <> 'kept'
ORDER BY 1;
SELECT count(*) AS differences FROM (SELECT * FROM cc_out EXCEPT ALL SELECT * FROM cc_copy) d;
-- on another table (some of the rows, in another order): each row's own fills
CREATE TABLE cc_other AS SELECT * FROM cc_src WHERE id % 2 = 0 ORDER BY id DESC;
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:cc_recipe, 'cc_other');
SELECT count(*) AS rows, count(*) FILTER (WHERE o.x = c.x AND o.y = c.y AND o.grp = c.grp) AS same_fills
FROM cc_other c JOIN cc_out o USING (id);
-- an older recipe (numeric members only, the category read as filled) still applies
CREATE TABLE cc_steps AS SELECT steps FROM mlops.recipes WHERE id = :cc_recipe;
UPDATE mlops.recipes SET steps = (
    SELECT jsonb_agg(CASE WHEN s ? 'chain' THEN jsonb_set(s, '{chain}',
        (SELECT jsonb_agg(m ORDER BY ord) FROM jsonb_array_elements(s -> 'chain') WITH ORDINALITY c(m, ord)
         WHERE NOT m ? 'level')) ELSE s END ORDER BY o)
    FROM jsonb_array_elements(steps) WITH ORDINALITY e(s, o)) WHERE id = :cc_recipe;
CREATE TABLE cc_old AS SELECT * FROM cc_src;
SELECT column_name, actions FROM ml_apply_recipe(:cc_recipe, 'cc_old') WHERE actions <> 'kept'
ORDER BY 1;
SELECT count(*) AS rows_filled_otherwise FROM cc_old d JOIN cc_out o USING (id)
WHERE d.x <> o.x OR d.y <> o.y;
-- A damaged categorical member: a clear XX001 naming what is wrong, never a
-- crash. Each damage is made to every chain step's member (first the first,
-- an indicator of grp, then others), on the recipe as it was fitted.
CREATE TABLE cc_damaged AS SELECT * FROM cc_src;
CREATE FUNCTION cc_damage(r bigint, path text[], val jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mlops.recipes SET steps = (SELECT steps FROM cc_steps) WHERE id = r;
    UPDATE mlops.recipes SET steps = (
        SELECT jsonb_agg(CASE WHEN s ? 'chain' THEN
                   CASE WHEN val IS NULL THEN s #- path ELSE jsonb_set(s, path, val) END
                 ELSE s END ORDER BY o)
        FROM jsonb_array_elements(steps) WITH ORDINALITY e(s, o)) WHERE id = r;
    DROP TABLE IF EXISTS cc_damaged;
    CREATE TABLE cc_damaged AS SELECT * FROM cc_src;
    RETURN regress_try_cc(format('SELECT count(*) FROM ml_apply_recipe(%s, %L)', r, 'cc_damaged'));
END
$$;
SELECT d.path, d.val, cc_damage(:cc_recipe, d.path::text[], d.val::jsonb) AS result
FROM (VALUES ('{chain,0,level}', '3'), ('{chain,0,level}', '-1'), ('{chain,0,level}', '0.5'),
             ('{chain,0,level}', '"lo"'), ('{chain,0,levels}', '["hi"]'),
             ('{chain,0,levels}', '{"a": 1}'), ('{chain,0,levels,1}', 'null'),
             ('{chain,0,levels,1}', '"lo"'), ('{chain,0,levels,2}', '"zz"'),
             ('{chain,0,levels,2}', '"NaN"'), ('{chain,1,level}', '0'),
             ('{chain,2}', NULL), ('{chain,0,fill}', '1.5'), ('{chain,0,fill}', '"NaN"'),
             ('{chain,0,round_coefficients}', NULL), ('{chain,0,round_coefficients}', '[1]'),
             ('{chain,0,coefficients,0}', '"Infinity"'),
             ('{chain,3,onehot,0,levels,0}', '"zz"'), ('{chain,3,onehot,0,levels}', '["lo", "mid"]'),
             ('{chain,0,onehot}', '[{"column": "grp", "levels": ["lo", "mid", "hi"]}]'),
             ('{chain,3,level}', '0'), ('{chain,0,column}', '"kind"'),
             ('{chain,0,column}', '"nosuch"')) d(path, val)
ORDER BY d.path, d.val;
-- the recipe as fitted still applies
UPDATE mlops.recipes SET steps = (SELECT steps FROM cc_steps) WHERE id = :cc_recipe;
CREATE TABLE cc_again AS SELECT * FROM cc_src;
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:cc_recipe, 'cc_again');
SELECT count(*) AS differences FROM (SELECT * FROM cc_out EXCEPT ALL SELECT * FROM cc_again) d;
-- At most 24 indicator members in all (ML_CHAIN_MAX_INDICATORS): each member
-- regresses on the others, so six categories of 10 levels would make a chain
-- of 63 members; the two with the fewest gaps join (20 indicators, a third
-- would pass 24), the others stay inputs as filled before the chain, and
-- the recipe's chain step holds exactly the members the description names.
SELECT setseed(0.4);
CREATE TABLE cc_wide AS
SELECT i AS id,
       CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 10) * 1.5 + (i % 3) END AS x1,
       CASE WHEN i % 9 = 0 THEN NULL ELSE (i % 10) * 0.5 - (i % 4) END AS x2,
       CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 5) + 0.25 END AS x3
FROM generate_series(1, 300) i;
DO $$
BEGIN
  FOR c IN 1..6 LOOP
    EXECUTE format('ALTER TABLE cc_wide ADD COLUMN c%s text', c);
    -- column c has 4 + 2c gaps: c1 and c2 have the fewest
    EXECUTE format($q$UPDATE cc_wide SET c%s = CASE WHEN id <= 4 + 2 * %s THEN NULL
                   ELSE 'L' || ((id + %s) %% 10) END$q$, c, c, c);
  END LOOP;
END $$;
SELECT column_name, method FROM ml_impute('cc_wide', method => 'chain',
    options => '{"roles": {"id": "identifier"}}', into_table => 'cc_wide_out')
WHERE column_name LIKE 'x%' ORDER BY 1;
SELECT m->>'column' AS indicator_of, count(DISTINCT m->>'level') AS members,
       count(DISTINCT s->>'column') AS in_steps
FROM mlops.recipes r, jsonb_array_elements(r.steps) s, jsonb_array_elements(s->'chain') m
WHERE r.id = (SELECT max(id) FROM mlops.recipes) AND m ? 'level'
GROUP BY 1 ORDER BY 1;
