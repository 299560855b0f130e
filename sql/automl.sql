-- ml_train(project, 'auto'): the search (random configurations per
-- learner, successive halving, cross-validated on the training rows), its
-- trials in mlops.trials / ml_trials, the leaderboard, who sees what.
-- Timings are never shown: only what the seed decides.
SET client_min_messages = warning;   -- solvers' convergence notices
CREATE TABLE am_reg (
    id  integer PRIMARY KEY,
    a   float8,
    b   float8,
    z   text,
    y   float8
);
INSERT INTO am_reg
SELECT g, (g * 7 % 11)::float8, (g * 5 % 13) / 4.0, (ARRAY['n', 's'])[g % 2 + 1],
       sin(g * 7 % 11) * 10 + (g * 5 % 13) + (g % 3)
FROM generate_series(1, 1000) g;
GRANT SELECT ON am_reg TO ml_analyst, ml_engineer;

SET ROLE regress_alice;
SELECT ml_create_project('am reg', 'am_reg', 'y') > 0 AS created;
-- 9 configurations: 9 on a ninth of the training rows, the best 3 on a
-- third, the best one on all of them; 3 folds each.
SELECT version, algorithm, metrics ? 'rmse' AS scored_on_test,
       metrics->'search'->'winner'->>'algorithm' = algorithm AS winner_stored,
       (metrics->'search') - '{winner, seconds}'::text[] AS search
FROM ml_train('am reg', 'auto', '{}', '{"seed": 7, "max_trials": 9}');
-- (the version's row and trials are visible from the next statement on)
SELECT metrics->'search'->'winner'->'hyperparameters' = hyperparameters AS winner_params,
       metrics->'search'->'winner'->>'trial' AS trial, metrics->'search'->'winner'->>'rung' AS rung
FROM ml_models WHERE project = 'am reg' AND version = 1;
SELECT trial, rung, algorithm, train_rows, round(fraction::numeric, 3) AS fraction,
       cardinality(fold_scores) AS folds, round(score::numeric, 4) AS cv_rmse, metric, status, chosen
FROM ml_trials WHERE project = 'am reg' AND version = 1 ORDER BY trial, rung;
-- the random draws are the learners' own hyperparameters, checked by them
SELECT trial, algorithm, hyperparameters - '{max_bins, n_threads, early_stopping, n_iter_no_change, validation_fraction, min_gain_to_split}'::text[] AS hyperparameters
FROM ml_trials WHERE project = 'am reg' AND version = 1 AND rung = 1 ORDER BY trial;
-- The same seed: the same trials and the same winner (timings aside).
SELECT version, algorithm FROM ml_train('am reg', 'auto', '{}', '{"seed": 7, "max_trials": 9}');
SELECT count(*) AS differing_trials FROM (
    (SELECT trial, rung, algorithm, hyperparameters, train_rows, fold_scores, score, status, chosen
     FROM ml_trials WHERE project = 'am reg' AND version = 1
     EXCEPT SELECT trial, rung, algorithm, hyperparameters, train_rows, fold_scores, score, status, chosen
     FROM ml_trials WHERE project = 'am reg' AND version = 2)
    UNION ALL
    (SELECT trial, rung, algorithm, hyperparameters, train_rows, fold_scores, score, status, chosen
     FROM ml_trials WHERE project = 'am reg' AND version = 2
     EXCEPT SELECT trial, rung, algorithm, hyperparameters, train_rows, fold_scores, score, status, chosen
     FROM ml_trials WHERE project = 'am reg' AND version = 1)) d;
SELECT a.metrics->'rmse' = b.metrics->'rmse' AS same_test_rmse
FROM ml_models a, ml_models b
WHERE a.project = 'am reg' AND b.project = 'am reg' AND a.version = 1 AND b.version = 2;
-- Another seed draws other configurations.
SELECT version FROM ml_train('am reg', 'auto', '{}', '{"seed": 8, "max_trials": 9}');
SELECT count(*) > 0 AS other_draws FROM (
    SELECT hyperparameters FROM ml_trials WHERE project = 'am reg' AND version = 1 AND trial > 6
    EXCEPT SELECT hyperparameters FROM ml_trials WHERE project = 'am reg' AND version = 3) d;
-- A tiny budget still yields a model: the first trial always runs.
SELECT version, algorithm IS NOT NULL AS has_model,
       (metrics->'search'->>'trials')::int >= 1 AS trials_ran
FROM ml_train('am reg', 'auto', '{}', '{"seed": 7, "budget_s": 0.1}') v;
SELECT count(*) FILTER (WHERE chosen) AS chosen, count(*) >= 1 AS recorded
FROM ml_trials WHERE project = 'am reg' AND version = 4;
-- One holdout of the latest training rows when the split is by time;
-- folds cannot be combined with it.
SELECT metrics->'search'->>'validation' AS validation
FROM ml_train('am reg', 'auto', '{}', '{"time_column": "id", "max_trials": 3}') v;
SELECT DISTINCT cardinality(fold_scores) AS folds FROM ml_trials WHERE project = 'am reg' AND version = 5;
SELECT metrics->'search'->>'validation' AS validation
FROM ml_train('am reg', 'auto', '{}', '{"folds": 2, "max_trials": 3}') v;

-- Errors: nothing written.
SELECT regress_catalog_digest() AS digest \gset
SELECT regress_try($$SELECT ml_train('am reg', 'auto', '{}', '{"budget_s": 0}')$$);
SELECT regress_try($$SELECT ml_train('am reg', 'auto', '{}', '{"budget_s": 100000}')$$);
SELECT regress_try($$SELECT ml_train('am reg', 'auto', '{}', '{"budget_s": "soon"}')$$);
SELECT regress_try($$SELECT ml_train('am reg', 'auto', '{}', '{"max_trials": 0}')$$);
SELECT regress_try($$SELECT ml_train('am reg', 'gbdt', '{}', '{"budget_s": 10}')$$);
SELECT regress_try($$SELECT ml_train('am reg', 'ridge', '{}', '{"max_trials": 10}')$$);
SELECT regress_try($$SELECT ml_train('am reg', 'auto', '{}', '{"folds": 3, "time_column": "id"}')$$);
SELECT regress_catalog_digest() = :'digest' AS unchanged;

-- A failed trial is recorded with its error and the search goes on: the
-- squares of targets near 1e153 overflow the linear learners' sums, the
-- trees fit them.
CREATE TABLE am_huge AS
SELECT g AS id, (g % 7)::float8 AS x, (g % 7) * 1e153::float8 AS y FROM generate_series(1, 300) g;
GRANT SELECT ON am_huge TO ml_analyst;
SELECT ml_create_project('am huge', 'am_huge', 'y') > 0 AS created;
SELECT algorithm, metrics->'search'->'failed' AS failed, metrics->'search'->'completed' AS completed
FROM ml_train('am huge', 'auto', '{}', '{"max_trials": 6}');
SELECT trial, rung, algorithm, status, score IS NULL AS no_score, fold_scores IS NULL AS no_folds, error
FROM ml_trials WHERE project = 'am huge' ORDER BY trial, rung;

-- Classification: accuracy is the primary metric (highest wins).
CREATE TABLE am_cls AS
SELECT g AS id, (g % 13)::float8 AS x, (g % 5)::float8 AS w,
       CASE WHEN g % 13 < 6 THEN 'lo' ELSE 'hi' END AS c
FROM generate_series(1, 400) g;
GRANT SELECT ON am_cls TO ml_analyst;
SELECT ml_create_project('am cls', 'am_cls', 'c', 'classification') > 0 AS created;
SELECT metrics ? 'accuracy' AS scored, metrics->'search'->>'configurations' AS configurations
FROM ml_train('am cls', 'auto', '{}', '{"max_trials": 5, "seed": 3}');
SELECT DISTINCT metric FROM ml_trials WHERE project = 'am cls';
SELECT array_agg(DISTINCT algorithm ORDER BY algorithm) AS learners FROM ml_trials WHERE project = 'am cls';

-- The leaderboard: versions ranked by the primary metric, the deployed one flagged.
SELECT version FROM ml_train('am reg', 'ridge', '{"alpha": 1000}');
SELECT ml_mark_ready('am reg', 1);
SET ROLE regress_eve;
SELECT ml_deploy('am reg', 1);
SET ROLE regress_alice;
-- (ranks among these three: the tiny-budget version 4 may land anywhere)
SELECT version, algorithm, metric, dense_rank() OVER (ORDER BY rank) AS rank, status, is_deployed
FROM ml_leaderboard WHERE project = 'am reg' AND version IN (1, 2, 7) ORDER BY version;
SELECT count(*) = count(DISTINCT version) AS one_row_per_version,
       (SELECT rank FROM ml_leaderboard WHERE project = 'am reg' AND version = 7)
         = count(*) AS ridge_last
FROM ml_leaderboard WHERE project = 'am reg';
SELECT project, metric, rank FROM ml_leaderboard WHERE project = 'am cls';

-- Visibility: trials and the leaderboard follow the project.
SET ROLE regress_bob;
SELECT count(*) AS trials_seen FROM ml_trials WHERE project LIKE 'am %';
SELECT count(*) AS raw_rows_seen FROM mlops.trials;
SELECT count(*) AS versions_seen FROM ml_leaderboard WHERE project LIKE 'am %';
SET ROLE regress_alice;
SELECT ml_add_member('am cls', 'regress_bob');
SET ROLE regress_bob;
SELECT DISTINCT project FROM ml_trials WHERE project LIKE 'am %';
SELECT DISTINCT project FROM ml_leaderboard WHERE project LIKE 'am %';
SET ROLE regress_eve;
SELECT count(DISTINCT project) AS engineer_sees FROM ml_trials WHERE project LIKE 'am %';
SET ROLE regress_carl;
SELECT regress_try($$SELECT count(*) FROM ml_trials$$);
SELECT regress_try($$SELECT count(*) FROM ml_leaderboard$$);
SELECT regress_try($$SELECT count(*) FROM mlops.trials$$);
SET ROLE regress_nobody;
SELECT regress_try($$SELECT count(*) FROM ml_trials$$);
RESET ROLE;

-- Dropping the project drops its trials.
SET ROLE regress_alice;
SELECT ml_drop_project('am huge', true);
RESET ROLE;
SELECT count(*) AS orphans FROM mlops.trials t
WHERE NOT EXISTS (SELECT 1 FROM mlops.projects p WHERE p.id = t.project_id);
RESET client_min_messages;
