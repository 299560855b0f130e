-- Many-models: ml_train_groups fits one model per group and stores them as
-- one version; ml_predict and ml_score route every row to its group's model.
CREATE TABLE shops (
    id      integer PRIMARY KEY,
    "mar""ket" text,
    tier    integer,
    x1      float8,
    x2      float8,
    y       float8
);
-- three markets with different slopes, a NULL market, a tiny market
INSERT INTO shops
SELECT g, (ARRAY['north', 'south', 'east'])[g % 3 + 1], g % 2,
       (g * 7 % 23)::float8, (g * 11 % 17)::float8,
       CASE g % 3 WHEN 0 THEN 2 * (g * 7 % 23) + (g * 11 % 17)
                  WHEN 1 THEN -3 * (g * 7 % 23) + 5
                  ELSE 0.5 * (g * 11 % 17) + 10 END
FROM generate_series(1, 300) g;
INSERT INTO shops
SELECT 1000 + g, NULL, g % 2, g::float8, (g % 5)::float8, 100 + g
FROM generate_series(1, 40) g;
INSERT INTO shops VALUES (2000, 'tiny', 0, 1, 1, 1), (2001, 'tiny', 1, 2, 2, 2);
GRANT SELECT ON shops TO ml_analyst, ml_engineer;
GRANT CREATE ON SCHEMA public TO ml_engineer;
CREATE VIEW shops_north AS SELECT x1, x2, y FROM shops WHERE "mar""ket" = 'north' ORDER BY id;
GRANT SELECT ON shops_north TO ml_analyst, ml_engineer;

SET ROLE regress_alice;
SELECT ml_create_project('shops', 'shops', 'y') > 0 AS created;
SELECT version, groups, metrics->'groups' AS all_groups, metrics->'small_groups' AS small,
       metrics->>'fallback' AS fallback,
       (SELECT array_agg(g->'key' ORDER BY g->>'key') FROM jsonb_array_elements(metrics->'per_group') g) AS keys
FROM ml_train_groups('shops', ARRAY['mar"ket'], 'linear', options => '{"exclude": ["id", "tier"]}');
-- per-group and overall metrics are JSON numbers
SELECT jsonb_typeof(metrics->'rmse') AS overall, jsonb_typeof(metrics->'global'->'rmse') AS global,
       (SELECT bool_and(jsonb_typeof(g->'rmse') = 'number' AND (g->>'rmse')::float8 < 1e-6)
        FROM jsonb_array_elements(metrics->'per_group') g WHERE g->'key'->>'mar"ket' <> 'null') AS exact
FROM ml_models WHERE project = 'shops' AND version = 1;
SELECT version, algorithm, training->'group_by' AS group_by, status FROM ml_models WHERE project = 'shops';
-- routing: the north rows scored by the grouped version equal a model of the north rows alone
SELECT ml_create_project('north', 'shops_north', 'y') > 0 AS created;
SELECT version FROM ml_train('north', 'gbdt', '{"n_estimators": 20}');
SELECT version, groups FROM ml_train_groups('shops', ARRAY['mar"ket'], 'gbdt', '{"n_estimators": 20}',
                                            '{"exclude": ["id", "tier"]}');
SELECT ml_mark_ready('shops', 1), ml_mark_ready('shops', 2), ml_mark_ready('north', 1);
SET ROLE regress_eve;
SELECT ml_deploy('shops', 2), ml_deploy('north', 1);
SELECT count(*) AS north_rows,
       bool_and(abs(ml_predict('shops', s) - ml_predict('north', jsonb_build_object('x1', x1, 'x2', x2))) < 1e-9) AS same
FROM shops s WHERE "mar""ket" = 'north';
-- the linear version: exact on every fitted group, the global model for the rest
SELECT ml_deploy('shops', 1);
SELECT "mar""ket" AS market, round(ml_predict('shops', s)::numeric, 2) AS predicted, y
FROM shops s WHERE id IN (3, 4, 5, 1001, 2000) ORDER BY id;
-- an unseen market: the global model
SELECT round(ml_predict('shops', '{"mar\"ket": "west", "x1": 1, "x2": 2}'::jsonb)::numeric, 3) =
       round(ml_predict('shops', '{"mar\"ket": "tiny", "x1": 1, "x2": 2}'::jsonb)::numeric, 3) AS global;
-- batch scoring routes as ml_predict does
SELECT ml_score('shops', 'shops', 'shops_scored');
SELECT count(*) AS rows,
       bool_and(abs(prediction - ml_predict('shops', s)) < 1e-9) AS same_as_predict
FROM shops_scored JOIN shops s USING (id);
SET ROLE regress_carl;
-- a consumer sees nothing of a project not exposed to it, scores the
-- deployed grouped version once it is, and never trains
SELECT regress_try($$SELECT ml_predict('shops', '{"mar\"ket": "south", "x1": 2, "x2": 0}'::jsonb)$$);
SET ROLE regress_eve;
SELECT ml_expose('shops', 'regress_carl') IS NOT NULL AS exposed;
SET ROLE regress_carl;
SELECT round(ml_predict('shops', '{"mar\"ket": "south", "x1": 2, "x2": 0}'::jsonb)::numeric, 2) AS consumer_south;
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['mar"ket'])$$);
RESET ROLE;

-- fallback 'error': an unseen group is refused
SET ROLE regress_alice;
SELECT version, groups, metrics ? 'global' AS has_global
FROM ml_train_groups('shops', ARRAY['mar"ket'], 'linear', options => '{"exclude": ["id", "tier"], "fallback": "error", "min_rows": 3}');
SELECT ml_mark_ready('shops', 3);
SET ROLE regress_eve;
SELECT ml_deploy('shops', 3);
SELECT regress_try($$SELECT ml_predict('shops', '{"mar\"ket": "west", "x1": 1, "x2": 2}'::jsonb)$$);
SELECT regress_try($$SELECT ml_score('shops', 'shops', 'shops_scored3')$$);
-- the tiny market has 2 rows, below min_rows 3: refused too
SELECT regress_try($$SELECT ml_predict('shops', s) FROM shops s WHERE id = 2000$$);
SELECT round(ml_predict('shops', s)::numeric, 6) AS null_group, y FROM shops s WHERE id = 1001;

-- two key columns, one integer
SET ROLE regress_alice;
SELECT groups, jsonb_array_length(metrics->'per_group') AS fitted,
       metrics->'per_group'->0->'key' AS first_key
FROM ml_train_groups('shops', ARRAY['mar"ket', 'tier'], 'ridge', options => '{"exclude": ["id"], "min_rows": 10}');

-- 0 (the backend alone), 1 and 2 background workers fit the same models
SELECT w, groups, (metrics->>'workers')::int <= w AS workers
FROM unnest(ARRAY[0, 1, 2]) w,
     ml_train_groups('shops', ARRAY['mar"ket'], 'gbdt', '{"n_estimators": 10}',
                     jsonb_build_object('exclude', ARRAY['id'], 'workers', w));
RESET ROLE;
SELECT count(*) AS versions, count(DISTINCT payload) AS payloads
FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
WHERE p.name = 'shops' AND version > 4;
-- classification, a group of a single class, designs of any byte length through the workers
CREATE TABLE labels (g text, b boolean, xyz float8, lab text);
INSERT INTO labels SELECT (ARRAY['a', 'b'])[i % 2 + 1], i % 3 = 0, i,
       CASE WHEN i % 2 = 0 THEN 'only' WHEN i > 50 THEN 'hi' ELSE 'lo' END
FROM generate_series(1, 200) i;
GRANT SELECT ON labels TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('labels', 'labels', 'lab', 'classification') > 0 AS created;
SELECT w, groups, round((metrics->>'accuracy')::numeric, 2) AS accuracy
FROM unnest(ARRAY[0, 2]) w,
     ml_train_groups('labels', ARRAY['g', 'b'], 'gbdt', '{"n_estimators": 5}', jsonb_build_object('workers', w));
RESET ROLE;
SELECT count(DISTINCT payload) AS payloads FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
WHERE p.name = 'labels';
SET ROLE regress_alice;
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], options => '{"workers": 9}')$$);

-- option and argument errors (nothing stored)
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['nope'])$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['y'])$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['mar"ket"; DROP TABLE shops; --'])$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['MAR"KET'])$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY[['tier']])$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['x1'])$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY[]::text[])$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier', 'tier'])$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier', NULL])$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', NULL)$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], 'kmeans')$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], 'nope')$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], 'linear', '{"alpha": 1}')$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], options => '{"fallback": "nearest"}')$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], options => '{"min_rows": 1}')$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], options => '{"folds": 3}')$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], options => '{"min_rows": 100000, "fallback": "error"}')$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], options => '{"features": ["tier"]}')$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('nope', ARRAY['tier'])$$);
SELECT count(*) AS versions FROM ml_models WHERE project = 'shops';
-- auto: ml_train's search per group on the group's rows alone, each group
-- (and the global fallback) with its share of budget_s by its rows; the
-- choices are in metrics.per_group, every row scores with its group's winner
SELECT version, groups, metrics->'workers' AS workers,
       (SELECT bool_and(g ? 'algorithm' AND g ? 'hyperparameters' AND (g->'search'->>'trials')::int >= 1)
        FROM jsonb_array_elements(metrics->'per_group') g) AS searched,
       (SELECT round(sum((g->'search'->>'budget_s')::numeric) + (metrics->'global'->'search'->>'budget_s')::numeric, 6)
        FROM jsonb_array_elements(metrics->'per_group') g) AS budget_shared,
       metrics->'global' ? 'algorithm' AS global_searched
FROM ml_train_groups('shops', ARRAY['mar"ket'], 'auto',
                     options => '{"exclude": ["id", "tier"], "budget_s": 2, "max_trials": 3}');
SELECT algorithm, hyperparameters FROM ml_models WHERE project = 'shops' ORDER BY version DESC LIMIT 1;
SELECT jsonb_typeof(ml_evaluate('shops', (SELECT max(version) FROM ml_models WHERE project = 'shops'), 'shops')->'rmse')
       AS auto_evaluate_rmse;
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], 'auto', '{"alpha": 1}')$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], 'linear', options => '{"budget_s": 5}')$$);
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'], options => '{"budget_s": 0}')$$);
-- ml_evaluate routes as scoring does: version 1 is exact on the fitted markets
SELECT jsonb_typeof(ml_evaluate('shops', 1, 'shops')->'rmse') AS evaluate_rmse;
-- a grouped version is not exported to PMML
SELECT regress_try($$SELECT ml_export_pmml('shops', 1)$$);
RESET ROLE;
SET ROLE regress_bob;
SELECT regress_try($$SELECT * FROM ml_train_groups('shops', ARRAY['tier'])$$);
RESET ROLE;
