-- ml_train applies the project's cleaning recipe (options.recipe): a raw
-- table with NULLs, text categories and timestamps trains as it is; the
-- recipe is replayed in memory and by every scored row; a project without
-- one gets ml_train's own preparation stored as a recipe of kind 'train'.
-- Recipe ids depend on the files before this one: errors show them as N.
CREATE FUNCTION regress_try_n(cmd text) RETURNS text
LANGUAGE sql AS $$
    SELECT regexp_replace(regexp_replace(regress_try(cmd), 'recipe \d+', 'recipe N', 'g'),
                          '"recipe": \d+', '"recipe": N', 'g')
$$;
CREATE TABLE tr_raw (
    id    integer PRIMARY KEY,
    x     float8,
    n     integer,
    cat   text,
    at    timestamp,
    w     float8,
    y     float8
);
INSERT INTO tr_raw
SELECT g,
       CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 13 % 29)::float8 END,
       CASE WHEN g % 11 = 0 THEN NULL ELSE g % 5 END,
       CASE WHEN g % 9 = 0 THEN NULL ELSE (ARRAY['red', 'green', 'blue'])[g % 3 + 1] END,
       CASE WHEN g % 13 = 0 THEN NULL ELSE timestamp '2024-01-01' + g * interval '7 hours' END,
       CASE WHEN g % 50 = 0 THEN 900 + g ELSE (g * 37 % 101) / 7.0 END,
       CASE WHEN g % 17 = 0 THEN NULL
            ELSE 3 * coalesce(g * 13 % 29, 14) + 2 * coalesce(g % 5, 2) + (g % 3) * 4 END
FROM generate_series(1, 240) g;
GRANT SELECT ON tr_raw TO ml_analyst, ml_engineer;
GRANT CREATE ON SCHEMA public TO ml_engineer;

SET ROLE regress_alice;
SELECT ml_create_project('tr_p', 'tr_raw', 'y') > 0 AS created;

-- No cleaning recipe: a linear model gets imputation, one-hot and scaling,
-- stored as a recipe of kind 'train' and linked from the version.
SELECT version, algorithm, (metrics->>'r2')::float8 > 0.5 AS learned
FROM ml_train('tr_p', 'linear', options => '{"exclude": ["id"]}');
SELECT training->'recipe'->>'source' AS source, training->'recipe'->>'kind' AS kind,
       (training->'recipe'->>'id')::bigint = recipe_id AS linked
FROM mlops.models WHERE version = 1 AND project_id = (SELECT id FROM mlops.projects WHERE name = 'tr_p');
SELECT r.kind, r.options, r.created_by, r.report,
       jsonb_path_query_array(r.steps, '$[*].step') AS steps,
       jsonb_path_query_array(r.steps, '$[*] ? (@.step == "encode").levels') AS levels
FROM mlops.recipes r JOIN mlops.models m ON m.recipe_id = r.id
WHERE m.version = 1 AND m.project_id = (SELECT id FROM mlops.projects WHERE name = 'tr_p');
-- gbdt: NULLs routed by the trees, only date parts and category codes.
SELECT version, algorithm FROM ml_train('tr_p', 'gbdt', '{"n_estimators": 20}', '{"exclude": ["id"]}');
SELECT r.options, jsonb_path_query_array(r.steps, '$[*].step') AS steps
FROM mlops.recipes r JOIN mlops.models m ON m.recipe_id = r.id
WHERE m.version = 2 AND m.project_id = (SELECT id FROM mlops.projects WHERE name = 'tr_p');
SELECT action, details->>'kind' AS kind FROM mlops.audit_log
WHERE action = 'train_recipe' ORDER BY id DESC LIMIT 1;
-- 'none': today's implicit encoding, no recipe row, no link.
SELECT version FROM ml_train('tr_p', 'linear', options => '{"exclude": ["id"], "recipe": "none"}');
SELECT version, recipe_id IS NULL AS no_recipe, training->'recipe' AS recipe
FROM mlops.models WHERE version = 3 AND project_id = (SELECT id FROM mlops.projects WHERE name = 'tr_p');

-- A project with an ml_clean recipe trains with it (written elsewhere, so
-- the relation stays raw): median fills and winsorizing bounds.
SELECT count(*) AS cleaned FROM ml_clean('tr_raw',
    '{"duplicates": false, "missing": {"method": "median"}, "outliers": {"k": 0.5},
      "encode": false, "polish": false, "datetime": {"elapsed": false}}', 'tr_cleaned');
SELECT id AS clean_recipe FROM mlops.recipes WHERE kind = 'clean' ORDER BY id DESC LIMIT 1 \gset
SELECT version FROM ml_train('tr_p', 'linear', options => '{"exclude": ["id"]}');
SELECT recipe_id = :clean_recipe AS the_projects_recipe, (training->'recipe') - 'id'::text AS recipe
FROM mlops.models WHERE version = 4 AND project_id = (SELECT id FROM mlops.projects WHERE name = 'tr_p');
-- the fill values are the recipe's: a NULL scores as the recipe's median
SELECT jsonb_path_query_array(steps, '$[*].step') AS steps FROM mlops.recipes WHERE id = :clean_recipe;
SELECT jsonb_path_query_first(steps, '$[*].models[*] ? (@.column == "x").fill')::text::float8 AS x_fill,
       jsonb_path_query_first(steps, '$[*] ? (@.step == "outliers" && @.column == "w").hi')::text::float8 AS w_hi
FROM mlops.recipes WHERE id = :clean_recipe \gset
SELECT :x_fill AS x_fill, :w_hi AS w_hi;
SELECT ml_mark_ready('tr_p', 4);
RESET ROLE;
CREATE TABLE tr_new AS SELECT * FROM tr_raw WHERE id % 7 = 0 OR id % 9 = 0 OR id % 13 = 0;
GRANT SELECT ON tr_new TO ml_engineer;
SET ROLE regress_eve;
SELECT ml_deploy('tr_p', 4);
SELECT ml_predict('tr_p', jsonb_build_object('x', null, 'n', 1, 'cat', 'red', 'at', '2024-02-01 10:00', 'w', 3))
     = ml_predict('tr_p', jsonb_build_object('x', :x_fill, 'n', 1, 'cat', 'red', 'at', '2024-02-01 10:00', 'w', 3))
       AS null_is_the_recipes_fill;
-- an observed value beyond the recipe's bounds is clamped to them
SELECT ml_predict('tr_p', jsonb_build_object('x', 5, 'n', 1, 'cat', 'red', 'at', '2024-02-01 10:00', 'w', 1e6))
     = ml_predict('tr_p', jsonb_build_object('x', 5, 'n', 1, 'cat', 'red', 'at', '2024-02-01 10:00', 'w', :w_hi))
       AS clamped;
-- ml_predict on a raw row equals ml_score on the same row
SELECT ml_score('tr_p', 'tr_new', 'tr_new_scored') > 0 AS scored;
SELECT count(*) AS rows, bool_and(s.prediction = ml_predict('tr_p', t)) AS identical
FROM tr_new t JOIN tr_new_scored s USING (id);
-- ml_evaluate reads the raw rows the same way: the rows without a target aside, all scored
SELECT (e->>'rows_scored')::int AS scored, (e->>'rows_without_target')::int AS without_target,
       (e->>'rmse')::float8 < 10 AS close
FROM ml_evaluate('tr_p', 4, 'tr_raw') e;
-- PMML has no form for the recipe's fills
SELECT regress_try_n($$SELECT ml_export_pmml('tr_p', 4)$$);
RESET ROLE;
-- a model trained with 'none' scores the NULL as its training mean instead
SET ROLE regress_alice;
SELECT ml_mark_ready('tr_p', 3);
RESET ROLE;
SET ROLE regress_eve;
SELECT ml_deploy('tr_p', 3);
SELECT ml_predict('tr_p', jsonb_build_object('x', null, 'n', 1, 'cat', 'red', 'at', '2024-02-01 10:00', 'w', 3))
    <> ml_predict('tr_p', jsonb_build_object('x', :x_fill, 'n', 1, 'cat', 'red', 'at', '2024-02-01 10:00', 'w', 3))
       AS none_ignores_the_recipe;
RESET ROLE;

SET ROLE regress_alice;
-- The target is never filled into the features: rows without it stay out.
SELECT count(*) > 0 AS imputed FROM ml_impute('tr_raw', ARRAY['y', 'x'], 'mean', into_table => 'tr_mean');
SELECT id AS impute_recipe FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
SELECT version FROM ml_train('tr_p', 'gbdt', '{"n_estimators": 10}', '{"exclude": ["id"]}');
SELECT recipe_id = :impute_recipe AS latest, training->>'rows_without_target' AS without_target,
       training->'recipe'->'applied' AS applied, training->'recipe'->'not_applied' AS not_applied
FROM mlops.models WHERE version = 5 AND project_id = (SELECT id FROM mlops.projects WHERE name = 'tr_p');
-- the trees' batch scoring reads the same fills as one row
SELECT ml_mark_ready('tr_p', 5);
RESET ROLE;
SET ROLE regress_eve;
SELECT ml_deploy('tr_p', 5);
SELECT ml_score('tr_p', 'tr_new', 'tr_new_gbdt') > 0 AS scored;
SELECT count(*) AS rows, bool_and(s.prediction = ml_predict('tr_p', t)) AS identical
FROM tr_new t JOIN tr_new_gbdt s USING (id);
SELECT ml_predict('tr_p', jsonb_build_object('x', null, 'n', 1, 'cat', 'red', 'at', '2024-02-01 10:00', 'w', 3))
     = ml_predict('tr_p', jsonb_build_object('x', (SELECT avg(x) FROM tr_raw), 'n', 1, 'cat', 'red',
                                             'at', '2024-02-01 10:00', 'w', 3)) AS null_is_the_mean;
RESET ROLE;
SET ROLE regress_alice;
-- A 'train' recipe is reusable by id: its fills apply to another learner.
SELECT recipe_id AS train_recipe FROM mlops.models
WHERE version = 1 AND project_id = (SELECT id FROM mlops.projects WHERE name = 'tr_p') \gset
SELECT version FROM ml_train('tr_p', 'gbdt', '{"n_estimators": 10}',
    jsonb_build_object('exclude', '["id"]'::jsonb, 'recipe', :train_recipe));
SELECT recipe_id = :train_recipe AS reused, training->'recipe'->'applied' AS applied,
       training->'recipe'->'by_learner' AS by_learner
FROM mlops.models WHERE version = 6 AND project_id = (SELECT id FROM mlops.projects WHERE name = 'tr_p');
-- but it is no cleaning recipe
SELECT regress_try_n(format($$SELECT * FROM ml_apply_recipe(%s, 'tr_raw', 'tr_x')$$, :train_recipe));

-- A recipe whose fills depend on other cells (KNN) cannot be replayed on a
-- scored row: named, it is an error; as the project's latest, ml_train
-- says so and prepares the features itself.
SELECT count(*) > 0 AS imputed FROM ml_impute('tr_raw', ARRAY['x'], 'knn', into_table => 'tr_knn');
SELECT id AS knn_recipe FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
SELECT regress_try_n(format($$SELECT ml_train('tr_p', 'linear', options => '{"exclude": ["id"], "recipe": %s}')$$, :knn_recipe));
SET client_min_messages = warning;	-- its notice names the recipe's id
SELECT version FROM ml_train('tr_p', 'linear', options => '{"exclude": ["id"]}');
RESET client_min_messages;
SELECT training->'recipe'->>'source' AS source, training->'recipe'->>'kind' AS kind,
       training->'recipe'->>'not_applied_recipe' LIKE :'knn_recipe' || ': %' AS says_why
FROM mlops.models WHERE version = 7 AND project_id = (SELECT id FROM mlops.projects WHERE name = 'tr_p');

-- A recipe fitted on the relation before the project existed is the project's too.
RESET ROLE;
CREATE TABLE tr_late AS SELECT id, x, n, y FROM tr_raw;
GRANT SELECT ON tr_late TO ml_analyst;
SET ROLE regress_alice;
SELECT count(*) > 0 AS imputed FROM ml_impute('tr_late', ARRAY['x'], 'median', into_table => 'tr_late_m');
SELECT id AS late_recipe, project_id IS NULL AS no_project FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT :'no_project' AS recipe_without_project;
SELECT ml_create_project('tr_late', 'tr_late', 'y') > 0 AS created;
SELECT version FROM ml_train('tr_late', 'ridge', options => '{"exclude": ["id"]}');
SELECT recipe_id = :late_recipe AS its_relations_recipe, training->'recipe'->'applied' AS applied
FROM mlops.models WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'tr_late');

-- Bad recipes and options: clear errors, nothing stored.
SELECT regress_try_n($$SELECT ml_train('tr_p', 'linear', options => '{"recipe": 999999}')$$);
SELECT regress_try_n($$SELECT ml_train('tr_p', 'linear', options => '{"recipe": "all"}')$$);
SELECT regress_try_n($$SELECT ml_train('tr_p', 'linear', options => '{"recipe": 1.5}')$$);
SELECT regress_try_n($$SELECT ml_train('tr_p', 'linear', options => '{"recipe": -3}')$$);
SET client_min_messages = warning;
SELECT regress_try_n($$SELECT ml_train('tr_p', 'linear', options => '{"recipe": null}')$$);
RESET client_min_messages;
-- a recipe fitted on another relation whose x is text
CREATE TABLE tr_other (x text, z float8);
INSERT INTO tr_other VALUES ('a', 1), (NULL, 2), ('b', NULL), ('a', 4);
SELECT count(*) > 0 AS imputed FROM ml_impute('tr_other', ARRAY['x'], 'mode', into_table => 'tr_other_m');
SELECT id AS other_recipe FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
SELECT regress_try_n(format($$SELECT ml_train('tr_p', 'linear', options => '{"recipe": %s}')$$, :other_recipe));
-- and one that needs a column the relation lacks
SELECT count(*) > 0 AS imputed FROM ml_impute('tr_other', ARRAY['z'], 'mean', into_table => 'tr_other_z');
SELECT id AS z_recipe FROM mlops.recipes WHERE kind = 'impute' ORDER BY id DESC LIMIT 1 \gset
SELECT regress_try_n(format($$SELECT ml_train('tr_p', 'linear', options => '{"recipe": %s}')$$, :z_recipe));
SELECT max(version) AS versions FROM ml_models WHERE project = 'tr_p';
RESET ROLE;
