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
-- (A chain fitted now takes at most 24 indicators, ML_CHAIN_MAX_INDICATORS:
-- 3 of these 6 categories; a stored recipe may hold more, and is read the same.)
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
-- ... and the steps' JSON was parsed in the cached model's own context:
-- jsonb_in's tree of every value (16 times the payload here) stayed with it
SELECT c.total_bytes < 8 * (SELECT octet_length(payload) FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
                            WHERE p.name = 'r9_w') AS cached_model_small
FROM pg_backend_memory_contexts c WHERE c.name = 'pg_mlops scored model';

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

-- A blend with a categorical member (g has gaps and is no target): auto's
-- blends on a small table, its own model's fills and the chain's weighted.
CREATE TABLE r9_small AS
SELECT i AS id, (ARRAY['u', 'v'])[i % 2 + 1] AS g, (((i * 37) % 41) / 7.0)::float8 AS a,
       (0.5 * ((i * 37) % 41) / 7.0 + ((i * 13) % 11) / 10.0 + (i % 2))::float8 AS b,
       ((((i * 37) % 41) / 7.0) ^ 2 / 10 - ((i * 7) % 5) / 4.0)::float8 AS c,
       (((i * 17) % 23) / 9.0)::float8 AS d,
       (((i * 37) % 41) / 7.0 + ((i * 17) % 23) / 9.0 + (i % 3) / 4.0)::float8 AS y
FROM generate_series(1, 36) i;
UPDATE r9_small SET a = NULL WHERE id % 6 = 1;
UPDATE r9_small SET b = NULL WHERE id % 7 = 3;
UPDATE r9_small SET c = NULL WHERE id % 5 = 2;
UPDATE r9_small SET d = NULL WHERE id % 8 = 5;
UPDATE r9_small SET g = NULL WHERE id % 9 = 4;
SELECT DISTINCT recipe_id AS blend_recipe FROM ml_impute('r9_small', ARRAY['a', 'b', 'c', 'd'],
    options => '{"roles": {"id": "identifier", "y": "target"}}', into_table => 'r9_small_out') \gset
SELECT s ->> 'column' AS column_name, s ->> 'method' AS method, s #>> '{member,method}' AS own_method,
       round((s ->> 'weight')::numeric, 6) AS weight,
       (SELECT string_agg(m ->> 'column' || coalesce(':' || (m ->> 'level'), ''), ', ' ORDER BY o)
        FROM jsonb_array_elements(s -> 'chain') WITH ORDINALITY c(m, o)) AS members
FROM mlops.recipes, jsonb_array_elements(steps) s WHERE id = :blend_recipe ORDER BY 1;
SELECT ml_create_project('r9_b', 'r9_small', 'y') > 0 AS created;
SELECT version FROM ml_train('r9_b', 'linear',
    options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :blend_recipe));
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:blend_recipe, 'r9_small', 'r9_small_filled');
SELECT ml_mark_ready('r9_b', 1);
SELECT ml_deploy('r9_b', 1);
SELECT count(*) AS rows_with_null, bool_and(ml_predict('r9_b', r) = ml_predict('r9_b', f)) AS as_filled
FROM r9_small r JOIN r9_small_filled f USING (id)
WHERE r.a IS NULL OR r.b IS NULL OR r.c IS NULL OR r.d IS NULL;

-- 4. Damage to the chain and blend fields of a stored recipe (every chain
-- or blend step of it): ml_apply_recipe and ml_train replaying it give
-- XX001, or the error of a recipe that names a column the relation lacks
-- (42703) or holds as another type (42804), or of one a scored row cannot
-- replay (0A000); never a crash, never XX000. What succeeds is rolled back.
CREATE FUNCTION r9_undo(cmd text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE cmd;
    RAISE SQLSTATE 'R9OK0';
EXCEPTION
    WHEN SQLSTATE 'R9OK0' THEN RETURN 'ok';
    WHEN OTHERS THEN RETURN SQLSTATE;
END
$$;
CREATE TABLE r9_saved AS SELECT id, steps FROM mlops.recipes WHERE id IN (:chain_recipe, :blend_recipe);
CREATE FUNCTION r9_recipe_damage(r bigint, src text, proj text, path text[], val jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    a text;
    t text;
BEGIN
    UPDATE mlops.recipes SET steps = (
        SELECT jsonb_agg(CASE WHEN s ? 'chain' THEN
                   CASE WHEN val IS NULL THEN s #- path ELSE jsonb_set(s, path, val) END
                 ELSE s END ORDER BY o)
        FROM jsonb_array_elements((SELECT steps FROM r9_saved WHERE id = r)) WITH ORDINALITY e(s, o))
    WHERE id = r;
    a := r9_undo(format('SELECT count(*) FROM ml_apply_recipe(%s, %L, %L)', r, src, 'r9_damaged'));
    t := r9_undo(format('SELECT ml_train(%L, %L, options => %L)', proj, 'linear',
                        jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', r)));
    UPDATE mlops.recipes SET steps = (SELECT steps FROM r9_saved WHERE id = r) WHERE id = r;
    RETURN 'apply ' || a || ', train ' || t;
END
$$;
-- the chain (x's and z's steps: members 0-2 grp's indicators, 3 and 4 numeric)
SELECT d.path, d.val, r9_recipe_damage(:chain_recipe, 'r9_src', 'r9_p', d.path::text[], d.val::jsonb) AS outcome
FROM (VALUES
    ('{chain}', '[]'), ('{chain}', '{}'), ('{chain}', '"x"'), ('{chain}', NULL),
    ('{chain,0}', '"x"'), ('{chain,0}', '[1]'), ('{chain,0}', 'null'), ('{chain,0}', NULL), ('{chain,5}', '{}'),
    ('{chain,0,column}', '1'), ('{chain,0,column}', 'null'), ('{chain,0,column}', '"z"'),
    ('{chain,0,column}', '"id"'), ('{chain,0,column}', '"nosuch"'), ('{chain,0,column}', NULL),
    ('{chain,3,column}', '"grp"'),
    ('{chain,0,level}', '"0"'), ('{chain,0,level}', '3'), ('{chain,0,level}', '-1'), ('{chain,0,level}', '0.5'),
    ('{chain,0,level}', '1e300'), ('{chain,0,level}', 'true'), ('{chain,0,level}', '[0]'), ('{chain,0,level}', NULL),
    ('{chain,1,level}', '0'), ('{chain,3,level}', '0'),
    ('{chain,0,levels}', NULL), ('{chain,0,levels}', '"lo"'), ('{chain,0,levels}', '[]'), ('{chain,0,levels}', '["lo"]'),
    ('{chain,0,levels}', '{"lo": 1}'), ('{chain,0,levels}', '["lo", "hi", "mid", "zz"]'),
    ('{chain,0,levels,0}', '1'), ('{chain,0,levels,0}', 'null'), ('{chain,0,levels,0}', '[1]'),
    ('{chain,0,levels,0}', '1e400'), ('{chain,0,levels,1}', '"lo"'), ('{chain,3,levels}', '["lo", "hi", "mid"]'),
    ('{chain,0,fill}', '-0.5'), ('{chain,0,fill}', '1.5'), ('{chain,0,fill}', '1e400'), ('{chain,0,fill}', '"0.5"'),
    ('{chain,0,fill}', NULL),
    ('{chain,0,coefficients}', '[1, 2]'), ('{chain,0,coefficients,0}', '"x"'), ('{chain,0,coefficients,0}', '1e400'),
    ('{chain,0,round_coefficients}', '"x"'), ('{chain,0,round_coefficients}', '[1]'),
    ('{chain,0,round_coefficients}', NULL), ('{chain,0,round_coefficients,0}', '1e400'),
    ('{chain,0,numeric}', '[]'), ('{chain,0,onehot}', '[{"column": "grp", "levels": ["lo", "hi", "mid"]}]'),
    ('{chain,3,onehot}', '[]'), ('{chain,3,onehot,0}', '"grp"'),
    ('{chain,3,onehot,0,levels}', '["lo", "mid", "hi"]'), ('{chain,3,onehot,0,part}', '"hour"'),
    ('{chain,0,method}', '"mean"'), ('{chain,0,method}', '"chain"'), ('{chain,0,discrete}', 'true'),
    ('{rounds}', '0'), ('{rounds}', '101'), ('{rounds}', '1e300'), ('{rounds}', '"2"'), ('{rounds}', '5'),
    ('{method}', '"blend"')) d(path, val)
ORDER BY d.path, d.val;
-- the blend (a's to d's steps: members 1 and 2 g's indicators)
SELECT d.path, d.val, r9_recipe_damage(:blend_recipe, 'r9_small', 'r9_b', d.path::text[], d.val::jsonb) AS outcome
FROM (VALUES
    ('{weight}', '"0.5"'), ('{weight}', '-0.1'), ('{weight}', '1.5'), ('{weight}', '"NaN"'), ('{weight}', '"Infinity"'),
    ('{weight}', '1e400'), ('{weight}', '-1e400'), ('{weight}', 'true'), ('{weight}', '[0.5]'), ('{weight}', '{}'),
    ('{weight}', '0'), ('{weight}', '1'), ('{weight}', '1e-400'), ('{weight}', NULL),
    ('{member}', NULL), ('{member}', '"x"'), ('{member,method}', '"chain"'), ('{member,method}', '"knn"'),
    ('{member,column}', '"g"'), ('{member,fill}', '"NaN"'),
    ('{chain,1,level}', '1'), ('{chain,1,levels}', '["u", "v", "w"]'), ('{chain,1}', NULL),
    ('{chain,1,column}', '"a"')) d(path, val)
ORDER BY d.path, d.val;
-- A chain as 0.2.0 stored it (numeric members, their last coefficients
-- only): its "rounds" was cast to int before the check, so 2.5 ran 2
-- rounds and 1e300 was an undefined cast; now a whole number from 1 to 100.
CREATE FUNCTION r9_old_chain(r bigint, rounds jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    outcome text;
BEGIN
    UPDATE mlops.recipes SET steps = (
        SELECT jsonb_agg(CASE WHEN s ? 'chain' THEN jsonb_set(jsonb_set(s, '{rounds}', rounds), '{chain}',
                   (SELECT jsonb_agg(m - 'round_coefficients' ORDER BY o2)
                    FROM jsonb_array_elements(s -> 'chain') WITH ORDINALITY c(m, o2) WHERE NOT m ? 'level'))
                 ELSE s END ORDER BY o)
        FROM jsonb_array_elements((SELECT steps FROM r9_saved WHERE id = r)) WITH ORDINALITY e(s, o))
    WHERE id = r;
    outcome := r9_undo(format('SELECT count(*) FROM ml_apply_recipe(%s, %L, %L)', r, 'r9_src', 'r9_damaged'));
    UPDATE mlops.recipes SET steps = (SELECT steps FROM r9_saved WHERE id = r) WHERE id = r;
    RETURN outcome;
END
$$;
SELECT v AS rounds, r9_old_chain(:chain_recipe, v::jsonb) AS outcome FROM (VALUES ('2'), ('2.5'), ('1e300'), ('-1e300')) d(v);
-- grp's indicators moved to a datetime part (hour of ts, on a copy of the
-- table with a timestamp): the part's codes were read as grp's levels,
-- and x and z were filled from them; an indicator is of a column's levels
CREATE TABLE r9_ts AS
SELECT *, timestamptz '2024-01-01 00:00+00' + id * interval '5 hours' AS ts FROM r9_src;
UPDATE mlops.recipes SET steps = (
    SELECT jsonb_agg(CASE WHEN s ? 'chain' THEN
               (SELECT jsonb_set(s, '{chain}', jsonb_agg(CASE WHEN m ->> 'column' = 'grp'
                           THEN (m - 'kind' - 'type') || '{"column": "ts", "part": "hour"}' ELSE m END ORDER BY o2))
                FROM jsonb_array_elements(s -> 'chain') WITH ORDINALITY c(m, o2))
             ELSE s END ORDER BY o)
    FROM jsonb_array_elements((SELECT steps FROM r9_saved WHERE id = :chain_recipe)) WITH ORDINALITY e(s, o))
WHERE id = :chain_recipe;
SELECT r9_try(format('SELECT count(*) FROM ml_apply_recipe(%s, %L, %L)', :chain_recipe, 'r9_ts', 'r9_ts_out'))
    AS datetime_part_member;
UPDATE mlops.recipes SET steps = (SELECT steps FROM r9_saved WHERE id = :chain_recipe) WHERE id = :chain_recipe;
-- the recipes as fitted still apply
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:chain_recipe, 'r9_src', 'r9_again');
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:blend_recipe, 'r9_small', 'r9_small_again');

-- 5. The same damage to the copy of the steps in a deployed model's payload
-- (the step's JSON text, with its length word): XX001 from ml_predict and
-- ml_score, never a crash; damage that leaves a valid chain scores. A
-- superuser's UPDATE of mlops.models sends no invalidation: a change of role
-- membership empties this backend's scoring cache before each scoring.
CREATE ROLE regress_r9_flush;
CREATE ROLE regress_r9_flush2;
CREATE TABLE r9_payloads AS
SELECT m.id, p.name AS project, m.payload, (m.training -> 'recipe' ->> 'id')::bigint AS recipe
FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
WHERE p.name IN ('r9_p', 'r9_b') AND m.version = 1;
CREATE FUNCTION r9_payload_damage(proj text, src text, step_column text, path text[], val jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    pl r9_payloads;
    old text;
    new text;
    at int;
    p text;
    s text;
BEGIN
    SELECT * INTO pl FROM r9_payloads WHERE project = proj;
    SELECT st::text, CASE WHEN val IS NULL THEN (st #- path)::text ELSE jsonb_set(st, path, val)::text END
    INTO old, new
    FROM r9_saved r, jsonb_array_elements(r.steps) st WHERE r.id = pl.recipe AND st ->> 'column' = step_column;
    at := position(convert_to(old, 'UTF8') IN pl.payload);
    IF at < 5 OR substring(pl.payload FROM at - 4 FOR 4) <> int4send(octet_length(old)) THEN
        RETURN 'step not found';
    END IF;
    UPDATE mlops.models SET payload = substring(pl.payload FROM 1 FOR at - 5) || int4send(octet_length(new))
                                      || convert_to(new, 'UTF8') || substring(pl.payload FROM at + octet_length(old))
    WHERE id = pl.id;
    GRANT regress_r9_flush TO regress_r9_flush2;
    REVOKE regress_r9_flush FROM regress_r9_flush2;
    p := r9_undo(format('SELECT count(ml_predict(%L, r)) FROM %I r', proj, src));
    s := r9_undo(format('SELECT ml_score(%L, %L, %L)', proj, src, 'r9_damaged_scores'));
    UPDATE mlops.models SET payload = pl.payload WHERE id = pl.id;
    GRANT regress_r9_flush TO regress_r9_flush2;
    REVOKE regress_r9_flush FROM regress_r9_flush2;
    RETURN 'predict ' || p || ', score ' || s;
END
$$;
-- x's chain step (one statement each: the cache is emptied at a command)
SELECT format('SELECT %L AS path, %L AS val, r9_payload_damage(%L, %L, %L, %L, %L) AS outcome',
              d.path, d.val, 'r9_p', 'r9_src', 'x', d.path, d.val)
FROM (VALUES
    ('{chain}', '[]'), ('{chain}', '"x"'), ('{chain}', NULL), ('{chain,0}', NULL), ('{chain,0}', 'null'),
    ('{chain,4}', NULL), ('{chain,5}', '{}'),
    ('{chain,0,column}', '1'), ('{chain,0,column}', '"z"'), ('{chain,0,column}', '"t"'),
    ('{chain,0,column}', '"nosuch"'), ('{chain,0,column}', NULL), ('{chain,3,column}', '"grp"'),
    ('{chain,0,level}', '"0"'), ('{chain,0,level}', '3'), ('{chain,0,level}', '-1'), ('{chain,0,level}', '0.5'),
    ('{chain,0,level}', '1e300'), ('{chain,0,level}', NULL), ('{chain,1,level}', '0'), ('{chain,3,level}', '0'),
    ('{chain,0,levels}', NULL), ('{chain,0,levels}', '"lo"'), ('{chain,0,levels}', '["lo"]'),
    ('{chain,0,levels}', '["lo", "hi", "mid", "zz"]'), ('{chain,0,levels,0}', '1'), ('{chain,0,levels,0}', '{}'),
    ('{chain,0,levels,0}', 'null'), ('{chain,0,levels,1}', '"lo"'),
    ('{chain,0,fill}', '1.5'), ('{chain,0,fill}', '"NaN"'), ('{chain,0,fill}', NULL),
    ('{chain,0,coefficients}', '[1]'), ('{chain,0,coefficients,0}', '1e400'),
    ('{chain,0,round_coefficients}', '[1]'), ('{chain,0,round_coefficients}', NULL),
    ('{chain,3,onehot}', '[]'), ('{chain,3,onehot,0,levels}', '["lo", "mid", "hi"]'),
    ('{chain,0,method}', '"knn"'), ('{chain,0,method}', '"forest"'), ('{chain,0,discrete}', 'true'),
    ('{rounds}', '1e300'), ('{rounds}', '"3"'), ('{rounds}', '5')) d(path, val)
ORDER BY d.path, d.val
\set ECHO none
\gexec
\set ECHO all
-- a's blend step
SELECT format('SELECT %L AS path, %L AS val, r9_payload_damage(%L, %L, %L, %L, %L) AS outcome',
              d.path, d.val, 'r9_b', 'r9_small', 'a', d.path, d.val)
FROM (VALUES
    ('{weight}', '"0.5"'), ('{weight}', '-0.1'), ('{weight}', '1.5'), ('{weight}', '"NaN"'), ('{weight}', '1e400'),
    ('{weight}', '[0.5]'), ('{weight}', 'true'), ('{weight}', '0'), ('{weight}', '1'), ('{weight}', NULL),
    ('{member}', NULL), ('{member,method}', '"knn"'), ('{member,method}', '"blend"'), ('{member,column}', '"b"'),
    ('{chain,1,level}', '1'), ('{chain,1,levels}', '["u", "v", "w"]'), ('{chain,1}', NULL),
    ('{chain,1,column}', '"a"')) d(path, val)
ORDER BY d.path, d.val
\set ECHO none
\gexec
\set ECHO all
-- the payloads as trained score as before
SELECT count(*) AS rows_with_null, bool_and(ml_predict('r9_p', r) = ml_predict('r9_p', f)) AS as_filled
FROM r9_src r JOIN r9_filled f USING (id) WHERE r.x IS NULL OR r.z IS NULL;
SELECT count(*) AS rows_with_null, bool_and(ml_predict('r9_b', r) = ml_predict('r9_b', f)) AS as_filled
FROM r9_small r JOIN r9_small_filled f USING (id)
WHERE r.a IS NULL OR r.b IS NULL OR r.c IS NULL OR r.d IS NULL;
DROP ROLE regress_r9_flush, regress_r9_flush2;

-- 6. A domain over numeric(p,s): its column has no typmod of its own (the
-- domain has), so its fills were kept with numeric's 15 digits where the
-- column holds s places, and a raw row did not score as the filled row; a
-- fill past its precision was not seen as out of range, and the write
-- failed with numeric field overflow (22003) from the SQL it built.
CREATE DOMAIN r9_n83 AS numeric(8, 3);
CREATE TABLE r9_dom AS
SELECT id, a::r9_n83 AS a, b::r9_n83 AS b, c::r9_n83 AS c, d::r9_n83 AS d, y FROM r9_small;
SELECT DISTINCT recipe_id AS dom_recipe FROM ml_impute('r9_dom', ARRAY['a', 'b', 'c', 'd'],
    options => '{"roles": {"id": "identifier", "y": "target"}}', into_table => 'r9_dom_out') \gset
SELECT bool_and(o.a = round(o.a, 3) AND o.b = round(o.b, 3) AND o.c = round(o.c, 3) AND o.d = round(o.d, 3))
       AS three_places
FROM r9_dom_out o;
SELECT ml_create_project('r9_d', 'r9_dom', 'y') > 0 AS created;
SELECT version FROM ml_train('r9_d', 'linear',
    options => jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :dom_recipe));
SELECT count(*) > 0 AS applied FROM ml_apply_recipe(:dom_recipe, 'r9_dom', 'r9_dom_filled');
SELECT ml_mark_ready('r9_d', 1);
SELECT ml_deploy('r9_d', 1);
SELECT count(*) AS rows_with_null, bool_and(ml_predict('r9_d', r) = ml_predict('r9_d', f)) AS as_filled
FROM r9_dom r JOIN r9_dom_filled f USING (id)
WHERE r.a IS NULL OR r.b IS NULL OR r.c IS NULL OR r.d IS NULL;
CREATE DOMAIN r9_n42 AS numeric(4, 2);
CREATE TABLE r9_over AS
SELECT i AS id, (i + CASE WHEN i > 90 THEN 60 ELSE 0 END)::float8 AS x,
       CASE WHEN i > 90 THEN NULL ELSE i END::r9_n42 AS v
FROM generate_series(1, 99) i;
SELECT column_name, method, filled FROM ml_impute('r9_over', ARRAY['v'], 'regression', into_table => 'r9_over_out');
SELECT count(*) FILTER (WHERE v IS NULL) AS left_missing FROM r9_over_out;
