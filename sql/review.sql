-- Review findings of the training and scoring code: each statement here
-- failed (bad JSON we built, a crash, a silent change) before its fix.
SET client_min_messages = warning;
CREATE TABLE rv_blobs AS
SELECT i AS id, (ARRAY[0, 20, -20])[i % 3 + 1] + sin(i * 1.7) AS a,
       (ARRAY[0, 20, 20])[i % 3 + 1] + cos(i * 2.3) AS b, i % 3 AS blob
FROM generate_series(1, 30) i;
GRANT SELECT ON rv_blobs TO ml_analyst, ml_engineer;
SET ROLE regress_alice;
SELECT ml_create_project('rv_blobs', 'rv_blobs', 'blob', 'regression') > 0 AS created;
-- k-means with folds: the metrics object must be valid JSON
SELECT regress_try($$SELECT ml_train('rv_blobs', 'kmeans', '{"n_clusters": 3}', '{"folds": 3, "exclude": ["id"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', '{}', '{"folds": 20, "exclude": ["id"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'gbdt', '{"n_estimators": 1000000000}', '{"exclude": ["id"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'random_forest', '{"n_estimators": 1000000000}', '{"exclude": ["id"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'gbdt', '{"max_depth": 1000000}', '{"exclude": ["id"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'kmeans', '{"n_clusters": 2147483647}', '{"exclude": ["id"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'gbdt', '{"learning_rate": "NaN"}', '{"exclude": ["id"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'gbdt', '{"learning_rate": 1e308}', '{"exclude": ["id"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'ridge', '{"alpha": 1e308}', '{"exclude": ["id"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'ridge', '{"alpha": [1]}', '{"exclude": ["id"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', '{}', '{"seed": 1e300}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', '{}', '{"features": ["nosuch"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', '{}', '{"features": []}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', '{}', '{"features": [1]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', '{}', '{"time_column": "blob"}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', '{}', '{"time_column": "id", "test_size": 0.01}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'naive_bayes', '{}', '{}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', '[1,2]', '[]')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', '"x"', '3')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', NULL, NULL)$$);
SELECT regress_try($$SELECT ml_train(NULL)$$);
SELECT regress_try($$SELECT ml_score('rv_blobs', 0::oid::regclass, 'x')$$);
SELECT regress_try($$SELECT ml_score('rv_blobs', 'rv_blobs', 'a.b.c.d')$$);
SELECT regress_try($$SELECT ml_score('rv_blobs', 'rv_blobs', '')$$);
SELECT regress_try($$SELECT ml_score('rv_blobs', 'rv_blobs', NULL)$$);
SELECT regress_try($$SELECT mlops.score_value('rv_blobs', 9223372036854775807, r) FROM rv_blobs r$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', '[1,2]')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'linear', '{}', '{"exclude": ["id", "a", "b"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'gbdt', '{}', '{"exclude": ["id", "a", "b"]}')$$);
SELECT regress_try($$SELECT ml_train('rv_blobs', 'kmeans', '{}', '{"exclude": ["id", "a", "b"]}')$$);
RESET ROLE;
