-- Batch scoring of tree ensembles (src/model/tree_predict.c): ml_score
-- walks blocks of rows through packed trees, ml_predict one row at a time
-- through the same packs on another path (a row alone); both must give the
-- same bits for gbdt (regression, binary, multiclass) and random_forest
-- (regression, classification, deep trees), with NULLs, categories,
-- unseen levels and blocks of every size (1, 5, 1000 rows).
-- bench/score_identity.sh checks the bits against the previous scorer.
CREATE TABLE ts_rows AS
SELECT g AS id, CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 13 % 101) / 3.0 END AS x,
       (g * 31 % 97)::float8 AS b,
       CASE WHEN g % 11 = 0 THEN NULL ELSE (ARRAY['n', 's', 'e', 'w', 'ne', 'sw'])[g % 6 + 1] END AS zone,
       timestamp '2024-01-01' + g * interval '7 minutes' AS at,
       g % 3 = 0 AS flag,
       (g * 13 % 101) / 3.0 - 2 * (g % 50) + (g % 4) * 5 + (g * 7919 % 100) / 10.0 AS y,
       (ARRAY['lo', 'mid', 'hi'])[(g * 13 % 101) % 3 + 1] AS label3,
       (g * 7 % 10 < 4) AS label2
FROM generate_series(1, 3000) g;
CREATE TABLE ts_fresh AS
SELECT id + 5000 AS id, CASE WHEN id % 5 = 0 THEN NULL ELSE x + 0.5 END AS x, b,
       CASE WHEN id % 13 = 0 THEN 'unseen' ELSE zone END AS zone,
       CASE WHEN id % 17 = 0 THEN NULL ELSE at END AS at, flag, y, label3, label2
FROM ts_rows;
SET client_min_messages = warning;
SET pg_mlops.progress_interval = 0;
SELECT ml_create_project('ts_gr', 'ts_rows', 'y') > 0 AS created;
SELECT ml_create_project('ts_gb', 'ts_rows', 'label2', 'classification') > 0 AS created;
SELECT ml_create_project('ts_gm', 'ts_rows', 'label3', 'classification') > 0 AS created;
SELECT ml_create_project('ts_fr', 'ts_rows', 'y') > 0 AS created;
SELECT ml_create_project('ts_fc', 'ts_rows', 'label3', 'classification') > 0 AS created;
SELECT version FROM ml_train('ts_gr', 'gbdt', '{"n_estimators": 40, "max_depth": 6}',
                             '{"exclude": ["id", "label3", "label2"]}');
SELECT version FROM ml_train('ts_gb', 'gbdt', '{"n_estimators": 20, "max_depth": 5}',
                             '{"exclude": ["id", "label3", "y"]}');
SELECT version FROM ml_train('ts_gm', 'gbdt', '{"n_estimators": 10, "max_leaf_nodes": 20}',
                             '{"exclude": ["id", "label2", "y"]}');
SELECT version FROM ml_train('ts_fr', 'random_forest', '{"n_estimators": 10}',
                             '{"exclude": ["id", "label3", "label2"]}');
SELECT version FROM ml_train('ts_fc', 'random_forest', '{"n_estimators": 8, "max_depth": 12}',
                             '{"exclude": ["id", "label2", "y"]}');
SELECT count(*) FILTER (WHERE ml_mark_ready(p, 1) IS NOT NULL) AS ready
FROM unnest(ARRAY['ts_gr', 'ts_gb', 'ts_gm', 'ts_fr', 'ts_fc']) p;
SELECT count(*) FILTER (WHERE ml_deploy(p, 1) IS NOT NULL) AS deployed
FROM unnest(ARRAY['ts_gr', 'ts_gb', 'ts_gm', 'ts_fr', 'ts_fc']) p;
CREATE VIEW ts_all AS SELECT * FROM ts_rows UNION ALL SELECT * FROM ts_fresh;
SET pg_mlops.score_block_rows = 1000;
SELECT ml_score(p, 'ts_all', 'ts_out_' || p) IS NOT NULL AS scored
FROM unnest(ARRAY['ts_gr', 'ts_gb', 'ts_gm', 'ts_fr', 'ts_fc']) p;
SET pg_mlops.score_block_rows = 5;          -- blocks shorter than a lockstep block
SELECT ml_score('ts_gr', 'ts_all', 'ts_small_gr') IS NOT NULL AS scored;
SELECT ml_score('ts_fc', 'ts_all', 'ts_small_fc') IS NOT NULL AS scored;
SET pg_mlops.score_block_rows = 1;
SELECT ml_score('ts_gm', 'ts_all', 'ts_one_gm') IS NOT NULL AS scored;
RESET pg_mlops.score_block_rows;
-- every batch prediction equals the per-row one, bit for bit
SELECT 'gr' AS model, count(*) AS rows,
       count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict('ts_gr', a)) AS differ
FROM ts_all a JOIN ts_out_ts_gr o USING (id)
UNION ALL
SELECT 'gr small', count(*), count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict('ts_gr', a))
FROM ts_all a JOIN ts_small_gr o USING (id)
UNION ALL
SELECT 'fr', count(*), count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict('ts_fr', a))
FROM ts_all a JOIN ts_out_ts_fr o USING (id);
SELECT m.model, count(*) AS rows,
       count(*) FILTER (WHERE m.prediction IS DISTINCT FROM ml_predict_label(m.project, a)
                           OR m.probabilities IS DISTINCT FROM ml_predict_proba(m.project, a)) AS differ,
       count(DISTINCT m.prediction) AS labels
FROM (SELECT 'gb' AS model, 'ts_gb' AS project, id, prediction::text, probabilities FROM ts_out_ts_gb
      UNION ALL SELECT 'gm', 'ts_gm', id, prediction, probabilities FROM ts_out_ts_gm
      UNION ALL SELECT 'gm one', 'ts_gm', id, prediction, probabilities FROM ts_one_gm
      UNION ALL SELECT 'fc', 'ts_fc', id, prediction, probabilities FROM ts_out_ts_fc
      UNION ALL SELECT 'fc small', 'ts_fc', id, prediction, probabilities FROM ts_small_fc) m
JOIN ts_all a USING (id)
GROUP BY m.model ORDER BY m.model;
-- the stored held-out metrics were computed by the same scorer: a second
-- training of the same seed stores the same numbers
SELECT version, (metrics - 'importance') = (SELECT metrics - 'importance' FROM mlops.models m
                                            JOIN mlops.projects p ON p.id = m.project_id
                                            WHERE p.name = 'ts_gr' AND m.version = 1) AS same_metrics
FROM ml_train('ts_gr', 'gbdt', '{"n_estimators": 40, "max_depth": 6}',
              '{"exclude": ["id", "label3", "label2"]}');
RESET client_min_messages;
