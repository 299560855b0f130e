-- Training and scoring end to end: ml_train on raw tables (NULLs, text
-- categories, timestamps), versions with lineage, the hand-over, scoring
-- by row, by jsonb and in batch, and the errors of bad input (nothing
-- written when a call fails).
CREATE TABLE house (
    id      integer PRIMARY KEY,
    rooms   float8,
    area    float8,
    zone    text,
    built   date,
    price   float8
);
-- price = 1 + 2 rooms - 3 area exactly: OLS recovers it.
INSERT INTO house
SELECT g, (g * 7 % 11)::float8, (g * 5 % 13) / 4.0, (ARRAY['n', 's'])[g % 2 + 1],
       date '2020-01-01' + g, 1 + 2 * (g * 7 % 11) - 3 * ((g * 5 % 13) / 4.0)
FROM generate_series(1, 80) g;
GRANT SELECT ON house TO ml_analyst, ml_engineer;
GRANT CREATE ON SCHEMA public TO ml_engineer;

SET ROLE regress_alice;
SELECT ml_create_project('price', 'house', 'price') > 0 AS created;
SELECT version, algorithm, round((metrics->>'rmse')::numeric, 6) AS rmse,
       round((metrics->>'r2')::numeric, 6) AS r2
FROM ml_train('price', 'linear', options => '{"exclude": ["zone", "built"]}');
SELECT version, features, training->'split' AS split, training->'skipped' AS skipped,
       training->>'rows' AS rows, row_count, training_relation, created_by
FROM ml_models WHERE project = 'price';
-- Every column as a feature (category one-hot, date parts), ridge, 4 folds.
SELECT version, algorithm, metrics ? 'cv_rmse' AS cross_validated,
       metrics->'fold_4' IS NOT NULL AS four_folds
FROM ml_train('price', 'ridge', '{"alpha": 0.5}', '{"folds": 4, "seed": 7}');
SELECT hyperparameters, jsonb_array_length(features) AS nfeatures FROM ml_models
WHERE project = 'price' AND version = 2;
-- auto: a search, every trial recorded (ml_trials).
SELECT version, (metrics->'search'->>'trials')::int >= 2 AS trials
FROM ml_train('price');

-- Hand-over, then scoring.
SELECT ml_mark_ready('price', 1);
SET ROLE regress_eve;
SELECT ml_deploy('price', 1, 'exact fit');
SELECT round(ml_predict('price', h)::numeric, 9) AS predicted, price FROM house h ORDER BY id LIMIT 3;
SELECT round(ml_predict('price', '{"rooms": 10, "area": 1, "id": 0}'::jsonb)::numeric, 9) AS eighteen;
-- unused columns may be absent from jsonb; a feature may not
SELECT regress_try($$SELECT ml_predict('price', '{"rooms": 10}'::jsonb)$$);
SELECT regress_try($$SELECT ml_predict('price', '{"rooms": "x", "area": 1}'::jsonb)$$);
SELECT regress_try($$SELECT ml_predict('price', ROW(1, 2))$$);
SELECT regress_try($$SELECT ml_predict('price', 42)$$);
SELECT regress_try($$SELECT ml_predict_label('price', '{"rooms": 1, "area": 1}'::jsonb)$$);
-- a row type whose column has another kind of type
CREATE TEMP TABLE wrong (rooms text, area float8);
INSERT INTO wrong VALUES ('3', 1);
SELECT regress_try($$SELECT ml_predict('price', w) FROM wrong w$$);
-- batch scoring: input columns plus prediction and model_version
SELECT ml_score('price', 'house', 'house_scored');
SELECT count(*) AS rows, bool_and(abs(prediction - price) < 1e-9) AS exact,
       min(model_version) AS version FROM house_scored;
SELECT regress_try($$SELECT ml_score('price', 'house', 'house_scored')$$);
SELECT regress_try($$SELECT ml_score('price', 'house_scored', 'again')$$);

-- Deploying another version changes what ml_predict returns at once.
SET ROLE regress_alice;
SELECT ml_mark_ready('price', 2);
SET ROLE regress_eve;
SELECT ml_deploy('price', 2);
SELECT round(ml_predict('price', h)::numeric, 9) <> round(price::numeric, 9) AS ridge_not_exact
FROM house h WHERE id = 1;
SELECT ml_rollback('price');
-- strategies: the best held-out score among ready versions, or the newest
SET ROLE regress_alice;
SELECT version FROM ml_train('price', 'ridge', '{"alpha": 1000}');   -- version 4, a poor fit
SELECT ml_mark_ready('price', 3, 'auto: every learner tried');
SELECT ml_mark_ready('price', 4);
SELECT version, status, ready_comment FROM ml_models WHERE project = 'price' AND version IN (3, 4) ORDER BY version;
SELECT details FROM ml_audit WHERE action = 'mark_ready' ORDER BY id DESC LIMIT 2;
SET ROLE regress_eve;
SELECT ml_deploy('price', 'best_score', 'lowest rmse');
SELECT ml_deploy('price', 'most_recent');
SELECT regress_try($$SELECT ml_deploy('price', 'best')$$);
SELECT version, action, reason, (metrics->>'rmse')::numeric < 1e-6 AS exact_rmse_recorded
FROM mlops.deployments WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'price')
ORDER BY id;
SELECT ml_deploy('price', 1);
SELECT round(ml_predict('price', h)::numeric, 9) = round(price::numeric, 9) AS exact_again
FROM house h WHERE id = 1;

-- Bad input: clear errors, and no version row written.
SET ROLE regress_alice;
CREATE TABLE bad (id integer, x float8, c text, y float8, label text);
GRANT SELECT ON bad TO ml_analyst;
SELECT ml_create_project('bad', 'bad', 'y') > 0 AS created;
SELECT ml_create_project('badclass', 'bad', 'label', 'classification') > 0 AS created;
SELECT count(*) AS versions_before FROM ml_models;
SELECT regress_try($$SELECT ml_train('bad', 'linear')$$);              -- empty relation
INSERT INTO bad SELECT g, g, 'k', g * 2, 'only' FROM generate_series(1, 30) g;
UPDATE bad SET y = 'NaN' WHERE id = 3;
SELECT regress_try($$SELECT ml_train('bad', 'linear')$$);              -- NaN target
UPDATE bad SET y = 'Infinity' WHERE id = 3;
SELECT regress_try($$SELECT ml_train('bad', 'linear')$$);              -- infinite target
UPDATE bad SET y = 6 WHERE id = 3;
SELECT regress_try($$SELECT ml_train('badclass', 'ridge')$$);          -- a single class
SELECT regress_try($$SELECT ml_train('nosuch')$$);
SELECT regress_try($$SELECT ml_train('price', 'nosuch')$$);
SELECT regress_try($$SELECT ml_train('price', 'ridge', '{"alpha": -1}')$$);
SELECT regress_try($$SELECT ml_train('price', 'ridge', '{"alpah": 1}')$$);
SELECT regress_try($$SELECT ml_train('price', 'auto', '{"alpha": 1}')$$);
SELECT regress_try($$SELECT ml_train('price', 'linear', options => '{"folds": 1.5}')$$);
SELECT regress_try($$SELECT ml_train('price', 'linear', options => '{"test_size": "NaN"}')$$);
SELECT regress_try($$SELECT ml_train('price', 'linear', options => '{"tset_size": 0.3}')$$);
SELECT regress_try($$SELECT ml_train('price', 'linear', options => '{"exclude": ["price"]}')$$);
SELECT regress_try($$SELECT ml_train('price', 'linear', options => '{"exclude": ["nosuch"]}')$$);
SELECT regress_try($$SELECT ml_train('price', 'linear', options => '{"time_column": "zone"}')$$);
SELECT regress_try($$SELECT ml_train('price', 'linear', options => '{"holdout_column": "rooms"}')$$);
SELECT regress_try($$SELECT ml_train('price', 'linear', options => '{"features": ["zone", "nosuch"]}')$$);
SELECT regress_try($$SELECT ml_train('price', 'linear', options => '{"features": []}')$$);
SELECT count(*) AS versions_after FROM ml_models;
-- x is y / 2: derived from the target, never a feature
SELECT version FROM ml_train('bad', 'linear');
SELECT training->'skipped' AS skipped, features FROM ml_models WHERE project = 'bad' AND version = 1;
-- constant and collinear features still give a model (the solver regularizes)
UPDATE bad SET x = 1, c = 'k';
ALTER TABLE bad ADD COLUMN x2 float8;
UPDATE bad SET x2 = 2 * x;
SELECT version, (metrics->>'rmse')::float8 >= 0 AS fitted FROM ml_train('bad', 'linear');

-- Nobody outside the project scores or trains it.
SET ROLE regress_bob;
SELECT regress_try($$SELECT ml_train('price', 'linear')$$);
SELECT regress_try($$SELECT ml_predict('price', '{"rooms": 1, "area": 1}'::jsonb)$$);
SET ROLE regress_carl;
SELECT regress_try($$SELECT ml_predict('price', '{"rooms": 1, "area": 1}'::jsonb)$$);
SELECT regress_try($$SELECT ml_train('price')$$);
SET ROLE regress_eve;
SELECT regress_try($$SELECT ml_train('price')$$);
RESET ROLE;
-- Leave the catalog as the next files expect it.
DELETE FROM mlops.projects WHERE name IN ('price', 'bad', 'badclass');
DROP TABLE house, house_scored, bad;
REVOKE CREATE ON SCHEMA public FROM ml_engineer;
